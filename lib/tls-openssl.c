/* tls-openssl.c: tls.h implemented with OpenSSL (>= 1.1.1). */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "log.h"
#include "mem.h"
#include "tls-private.h"

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	bool server;
	bool require_verify;
};

struct tls_session {
	struct tls_ctx *ctx;
	SSL *ssl;
	char *peer_subject;
	char error[512];
};

/* The text of the first error on OpenSSL's queue (the root cause), and
 * clears the queue. */
static const char *openssl_error_text(char *buf, size_t size)
{
	unsigned long err = ERR_get_error(), next;
	const char *reason;

	if (err == 0) {
		snprintf(buf, size, "unknown error");
		return buf;
	}
	while ((next = ERR_get_error()) != 0)
		(void)next;
	reason = ERR_reason_error_string(err);
	if (reason != NULL)
		snprintf(buf, size, "%s", reason);
	else
		ERR_error_string_n(err, buf, size);
	return buf;
}

/* Only memory exhaustion makes the session set-up calls fail. */
static void __attribute__((noreturn)) openssl_panic(const char *what)
{
	char errbuf[256];

	log_panic("%s: %s", what, openssl_error_text(errbuf, sizeof(errbuf)));
}

static int openssl_no_password(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static int openssl_verify_accept(int preverify_ok, X509_STORE_CTX *x509_ctx)
{
	/* Record the result for tls_session_verify_result(), go on. */
	return 1;
}

static int openssl_version(enum tls_version v)
{
	switch (v) {
	case TLS_VERSION_1_0:
		return TLS1_VERSION;
	case TLS_VERSION_1_1:
		return TLS1_1_VERSION;
	case TLS_VERSION_1_2:
		return TLS1_2_VERSION;
	case TLS_VERSION_1_3:
		return TLS1_3_VERSION;
	case TLS_VERSION_DEFAULT:
		break;
	}
	return 0;
}

/* Loads the chain in data (certificate first) into the context. */
static int openssl_load_chain(SSL_CTX *ssl_ctx, const char *path,
			      const char *data, size_t size,
			      const char **error_r)
{
	char errbuf[256];
	BIO *bio = BIO_new_mem_buf(data, (int)size);
	X509 *cert;

	cert = PEM_read_bio_X509_AUX(bio, NULL, openssl_no_password, NULL);
	if (cert == NULL) {
		ERR_clear_error();
		BIO_free(bio);
		*error_r = tls_error_set("%s: no PEM certificate found", path);
		return -1;
	}
	if (SSL_CTX_use_certificate(ssl_ctx, cert) != 1) {
		X509_free(cert);
		BIO_free(bio);
		*error_r = tls_error_set("%s: %s", path,
			openssl_error_text(errbuf, sizeof(errbuf)));
		return -1;
	}
	X509_free(cert);
	SSL_CTX_clear_chain_certs(ssl_ctx);
	while ((cert = PEM_read_bio_X509(bio, NULL, openssl_no_password,
					 NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ssl_ctx, cert) != 1) {
			X509_free(cert);
			BIO_free(bio);
			*error_r = tls_error_set("%s: %s", path,
				openssl_error_text(errbuf, sizeof(errbuf)));
			return -1;
		}
	}
	/* The loop ends at "no start line": not an error. */
	ERR_clear_error();
	BIO_free(bio);
	return 0;
}

static int openssl_load_key(SSL_CTX *ssl_ctx, const char *path,
			    const char *data, size_t size,
			    const char **error_r)
{
	char errbuf[256];
	BIO *bio = BIO_new_mem_buf(data, (int)size);
	EVP_PKEY *key;

	key = PEM_read_bio_PrivateKey(bio, NULL, openssl_no_password, NULL);
	BIO_free(bio);
	if (key == NULL) {
		ERR_clear_error();
		*error_r = tls_error_set(
			"%s: no usable PEM private key found (keys with a "
			"passphrase are not supported)", path);
		return -1;
	}
	if (X509_check_private_key(SSL_CTX_get0_certificate(ssl_ctx),
				   key) != 1) {
		ERR_clear_error();
		EVP_PKEY_free(key);
		*error_r = tls_error_set(
			"%s: the private key does not match the certificate",
			path);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey(ssl_ctx, key) != 1) {
		EVP_PKEY_free(key);
		*error_r = tls_error_set("%s: %s", path,
			openssl_error_text(errbuf, sizeof(errbuf)));
		return -1;
	}
	EVP_PKEY_free(key);
	if (SSL_CTX_check_private_key(ssl_ctx) != 1) {
		ERR_clear_error();
		*error_r = tls_error_set(
			"%s: the private key does not match the certificate",
			path);
		return -1;
	}
	return 0;
}

static int openssl_load_cert_key(SSL_CTX *ssl_ctx,
				 const struct tls_settings *set,
				 const char **error_r)
{
	const char *key_path = set->key_file != NULL ? set->key_file :
		set->cert_file;
	char *cert = NULL, *key = NULL;
	size_t cert_size = 0, key_size = 0;
	int ret = -1;

	if (tls_read_file(set->cert_file, TLS_MAX_FILE_SIZE, &cert,
			  &cert_size, error_r) < 0)
		return -1;
	if (set->key_file != NULL &&
	    tls_read_file(set->key_file, TLS_MAX_FILE_SIZE, &key, &key_size,
			  error_r) < 0)
		goto out;
	if (openssl_load_chain(ssl_ctx, set->cert_file, cert, cert_size,
			       error_r) < 0)
		goto out;
	if (key != NULL)
		ret = openssl_load_key(ssl_ctx, key_path, key, key_size,
				       error_r);
	else
		ret = openssl_load_key(ssl_ctx, key_path, cert, cert_size,
				       error_r);
out:
	tls_file_free(&cert, cert_size);
	tls_file_free(&key, key_size);
	return ret;
}

static int openssl_load_dh(SSL_CTX *ssl_ctx, const char *path,
			   const char **error_r)
{
	char *data;
	size_t size;
	BIO *bio;
	int ok;

	if (tls_read_file(path, TLS_MAX_FILE_SIZE, &data, &size, error_r) < 0)
		return -1;
	bio = BIO_new_mem_buf(data, (int)size);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_PKEY *dh = PEM_read_bio_Parameters(bio, NULL);

	ok = dh != NULL && EVP_PKEY_is_a(dh, "DH") &&
		SSL_CTX_set0_tmp_dh_pkey(ssl_ctx, dh) == 1;
	if (!ok)
		EVP_PKEY_free(dh);
#else
	DH *dh = PEM_read_bio_DHparams(bio, NULL, NULL, NULL);

	ok = dh != NULL && SSL_CTX_set_tmp_dh(ssl_ctx, dh) == 1;
	DH_free(dh);
#endif
	BIO_free(bio);
	tls_file_free(&data, size);
	if (!ok) {
		ERR_clear_error();
		*error_r = tls_error_set("%s: no usable PEM DH parameters",
					 path);
		return -1;
	}
	return 0;
}

/* Adds every certificate of a PEM file to the context's trust store. */
static int openssl_load_ca(SSL_CTX *ssl_ctx, const char *path,
			   const char **error_r)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);
	char *data;
	size_t size;
	unsigned int count = 0;
	BIO *bio;
	X509 *cert;

	if (tls_read_file(path, TLS_MAX_FILE_SIZE, &data, &size, error_r) < 0)
		return -1;
	bio = BIO_new_mem_buf(data, (int)size);
	while ((cert = PEM_read_bio_X509(bio, NULL, openssl_no_password,
					 NULL)) != NULL) {
		/* A duplicate is harmless; other failures leave it out. */
		(void)X509_STORE_add_cert(store, cert);
		X509_free(cert);
		count++;
	}
	ERR_clear_error();
	BIO_free(bio);
	tls_file_free(&data, size);
	if (count == 0) {
		*error_r = tls_error_set("%s: no PEM certificate found", path);
		return -1;
	}
	return 0;
}

static struct tls_ctx *openssl_ctx_create(bool server,
					  const struct tls_settings *set,
					  const char **error_r)
{
	static const unsigned char sid_ctx[] = "courier-suite";
	struct tls_ctx *ctx;
	char errbuf[256];
	SSL_CTX *ssl_ctx;
	long options;

	if (tls_settings_check(set, error_r) < 0)
		return NULL;
	ERR_clear_error();
	ssl_ctx = SSL_CTX_new(server ? TLS_server_method() :
			      TLS_client_method());
	if (ssl_ctx == NULL) {
		*error_r = tls_error_set("SSL_CTX_new: %s",
			openssl_error_text(errbuf, sizeof(errbuf)));
		return NULL;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->ssl_ctx = ssl_ctx;
	ctx->server = server;
	ctx->require_verify = set->require_verify;

	options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
		SSL_OP_CIPHER_SERVER_PREFERENCE;
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* Mail protocols end themselves (QUIT, LOGOUT): a peer that closes
	 * without close_notify has only ended the connection. */
	options |= SSL_OP_IGNORE_UNEXPECTED_EOF;
#endif
	SSL_CTX_set_options(ssl_ctx, options);
	/* RELEASE_BUFFERS: an idle session gives its record buffers (some
	 * 34 KB) back, which is most of what an idle connection of the TLS
	 * proxy (tls-proxy.h) or a pre-login process costs */
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(ssl_ctx, openssl_no_password);

	if (SSL_CTX_set_min_proto_version(ssl_ctx,
		openssl_version(set->min_version == TLS_VERSION_DEFAULT ?
				TLS_VERSION_1_2 : set->min_version)) != 1 ||
	    SSL_CTX_set_max_proto_version(ssl_ctx,
		openssl_version(set->max_version)) != 1) {
		*error_r = tls_error_set("unsupported TLS protocol range: %s",
			openssl_error_text(errbuf, sizeof(errbuf)));
		goto fail;
	}
	if (set->cipher_list != NULL &&
	    SSL_CTX_set_cipher_list(ssl_ctx, set->cipher_list) != 1) {
		ERR_clear_error();
		*error_r = tls_error_set("invalid TLS cipher list: %s",
					 set->cipher_list);
		goto fail;
	}
	if (server && set->cert_file == NULL) {
		*error_r = tls_error_set("no TLS certificate file configured");
		goto fail;
	}
	if (set->cert_file != NULL &&
	    openssl_load_cert_key(ssl_ctx, set, error_r) < 0)
		goto fail;
	if (server) {
		if (set->dh_file != NULL) {
			if (openssl_load_dh(ssl_ctx, set->dh_file,
					    error_r) < 0)
				goto fail;
		} else {
			SSL_CTX_set_dh_auto(ssl_ctx, 1);
		}
		SSL_CTX_set_session_id_context(ssl_ctx, sid_ctx,
					       sizeof(sid_ctx) - 1);
	}
	if (set->ca_file != NULL) {
		if (openssl_load_ca(ssl_ctx, set->ca_file, error_r) < 0)
			goto fail;
		if (server) {
			STACK_OF(X509_NAME) *names =
				SSL_load_client_CA_file(set->ca_file);

			if (names != NULL)
				SSL_CTX_set_client_CA_list(ssl_ctx, names);
			ERR_clear_error();
		}
	} else if (!server) {
		/* A system without a CA store only fails verification. */
		(void)SSL_CTX_set_default_verify_paths(ssl_ctx);
		ERR_clear_error();
	}
	if (!server && set->require_verify)
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
	else if (!server || set->request_client_cert)
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER,
				   openssl_verify_accept);
	return ctx;
fail:
	SSL_CTX_free(ssl_ctx);
	free(ctx);
	return NULL;
}

struct tls_ctx *tls_ctx_server_create(const struct tls_settings *set,
				      const char **error_r)
{
	return openssl_ctx_create(true, set, error_r);
}

struct tls_ctx *tls_ctx_client_create(const struct tls_settings *set,
				      const char **error_r)
{
	static const struct tls_settings defaults;

	return openssl_ctx_create(false, set != NULL ? set : &defaults,
				  error_r);
}

void tls_ctx_destroy(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
	*ctxp = NULL;
}

bool tls_ctx_is_server(const struct tls_ctx *ctx)
{
	return ctx->server;
}

struct tls_session *tls_session_create(struct tls_ctx *ctx, int fd,
				       const char *host)
{
	struct tls_session *sess = xcalloc(1, sizeof(*sess));

	ERR_clear_error();
	sess->ctx = ctx;
	sess->ssl = SSL_new(ctx->ssl_ctx);
	if (sess->ssl == NULL || SSL_set_fd(sess->ssl, fd) != 1)
		openssl_panic("SSL_new");
	if (ctx->server) {
		SSL_set_accept_state(sess->ssl);
		return sess;
	}
	SSL_set_connect_state(sess->ssl);
	if (host != NULL && host[0] != '\0') {
		unsigned char addr[16];
		bool is_ip = inet_pton(AF_INET, host, addr) == 1 ||
			inet_pton(AF_INET6, host, addr) == 1;

		if (is_ip) {
			X509_VERIFY_PARAM *param = SSL_get0_param(sess->ssl);

			if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1)
				openssl_panic("set1_ip");
		} else {
			if (SSL_set_tlsext_host_name(sess->ssl, host) != 1 ||
			    SSL_set1_host(sess->ssl, host) != 1)
				openssl_panic("set1_host");
		}
	}
	return sess;
}

void tls_session_destroy(struct tls_session **sessp)
{
	struct tls_session *sess = *sessp;

	if (sess == NULL)
		return;
	SSL_free(sess->ssl);
	free(sess->peer_subject);
	free(sess);
	*sessp = NULL;
}

/* Turns the result of an SSL call into ours, filling sess->error. */
static enum tls_result openssl_result(struct tls_session *sess, int ret,
				      const char *op, bool eof_is_close)
{
	int err = SSL_get_error(sess->ssl, ret);
	char errbuf[256];
	long vres;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		if (eof_is_close)
			return TLS_CLOSED;
		snprintf(sess->error, sizeof(sess->error),
			 "%s: connection closed by peer", op);
		return TLS_ERROR;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() != 0) {
			openssl_error_text(errbuf, sizeof(errbuf));
			snprintf(sess->error, sizeof(sess->error), "%s: %s",
				 op, errbuf);
		} else if (errno == 0 || ret == 0) {
			if (eof_is_close)
				return TLS_CLOSED;
			snprintf(sess->error, sizeof(sess->error),
				 "%s: connection closed by peer", op);
		} else {
			snprintf(sess->error, sizeof(sess->error), "%s: %s",
				 op, strerror(errno));
		}
		return TLS_ERROR;
	default:
		openssl_error_text(errbuf, sizeof(errbuf));
		vres = SSL_get_verify_result(sess->ssl);
		if (vres != X509_V_OK && !sess->ctx->server &&
		    sess->ctx->require_verify)
			snprintf(sess->error, sizeof(sess->error),
				 "%s: %s: %s", op, errbuf,
				 X509_verify_cert_error_string(vres));
		else
			snprintf(sess->error, sizeof(sess->error), "%s: %s",
				 op, errbuf);
		return TLS_ERROR;
	}
}

enum tls_result tls_session_handshake(struct tls_session *sess)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(sess->ssl);
	if (ret == 1)
		return TLS_DONE;
	return openssl_result(sess, ret, "TLS handshake", false);
}

enum tls_result tls_session_read(struct tls_session *sess, void *buf,
				 size_t size, size_t *len_r)
{
	int ret;

	*len_r = 0;
	ERR_clear_error();
	errno = 0;
	ret = SSL_read_ex(sess->ssl, buf, size, len_r);
	if (ret == 1)
		return TLS_DONE;
	*len_r = 0;
	return openssl_result(sess, ret, "TLS read", true);
}

enum tls_result tls_session_write(struct tls_session *sess, const void *buf,
				  size_t size, size_t *len_r)
{
	int ret;

	*len_r = 0;
	if (size == 0)
		return TLS_DONE;
	ERR_clear_error();
	errno = 0;
	ret = SSL_write_ex(sess->ssl, buf, size, len_r);
	if (ret == 1)
		return TLS_DONE;
	*len_r = 0;
	return openssl_result(sess, ret, "TLS write", false);
}

enum tls_result tls_session_shutdown(struct tls_session *sess)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_shutdown(sess->ssl);
	if (ret >= 0)
		return TLS_DONE;
	return openssl_result(sess, ret, "TLS shutdown", false);
}

size_t tls_session_pending(struct tls_session *sess)
{
	int n = SSL_pending(sess->ssl);

	return n > 0 ? (size_t)n : 0;
}

const char *tls_session_error(const struct tls_session *sess)
{
	return sess->error;
}

const char *tls_session_protocol(struct tls_session *sess)
{
	return SSL_get_version(sess->ssl);
}

const char *tls_session_cipher(struct tls_session *sess)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(sess->ssl);
	const char *name;

	if (cipher == NULL)
		return "NONE";
	name = SSL_CIPHER_standard_name(cipher);
	return name != NULL ? name : SSL_CIPHER_get_name(cipher);
}

int tls_session_cipher_bits(struct tls_session *sess)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(sess->ssl);

	return cipher == NULL ? 0 : SSL_CIPHER_get_bits(cipher, NULL);
}

static X509 *openssl_peer_cert(struct tls_session *sess)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	return SSL_get1_peer_certificate(sess->ssl);
#else
	return SSL_get_peer_certificate(sess->ssl);
#endif
}

const char *tls_session_peer_subject(struct tls_session *sess)
{
	X509 *cert;
	BIO *bio;
	char *text;
	long len;

	if (sess->peer_subject != NULL)
		return sess->peer_subject;
	cert = openssl_peer_cert(sess);
	if (cert == NULL)
		return NULL;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		openssl_panic("BIO_new");
	X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
			   XN_FLAG_RFC2253);
	len = BIO_get_mem_data(bio, &text);
	sess->peer_subject = xmemdup(text, len > 0 ? (size_t)len : 0);
	BIO_free(bio);
	X509_free(cert);
	return sess->peer_subject;
}

int tls_session_verify_result(struct tls_session *sess,
			      const char **reason_r)
{
	X509 *cert = openssl_peer_cert(sess);
	long res;

	*reason_r = NULL;
	if (cert == NULL)
		return -1;
	X509_free(cert);
	if (sess->ctx->server && SSL_get_verify_mode(sess->ssl) ==
	    SSL_VERIFY_NONE) {
		*reason_r = "client certificates are not verified";
		return 0;
	}
	res = SSL_get_verify_result(sess->ssl);
	if (res == X509_V_OK)
		return 1;
	*reason_r = X509_verify_cert_error_string(res);
	return 0;
}
