/* tls-gnutls.c: tls.h implemented with GnuTLS (>= 3.6). */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "log.h"
#include "mem.h"
#include "str.h"
#include "tls-private.h"

struct tls_ctx {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t priority;
	gnutls_dh_params_t dh;
	bool server;
	bool require_verify;
	bool request_client_cert;
};

struct tls_session {
	struct tls_ctx *ctx;
	gnutls_session_t session;
	char *host;		/* client: checked against the certificate */
	size_t send_pending;	/* bytes of an interrupted record send */
	char *peer_subject;
	char *verify_reason;
	char protocol[16];
	char error[512];
};

static const char *gnutls_version_item(enum tls_version v)
{
	switch (v) {
	case TLS_VERSION_1_0:
		return "+VERS-TLS1.0";
	case TLS_VERSION_1_1:
		return "+VERS-TLS1.1";
	case TLS_VERSION_1_2:
		return "+VERS-TLS1.2";
	case TLS_VERSION_1_3:
	case TLS_VERSION_DEFAULT:
		return "+VERS-TLS1.3";
	}
	return "";
}

static int gnutls_ctx_priority(struct tls_ctx *ctx,
			       const struct tls_settings *set,
			       const char **error_r)
{
	enum tls_version min = set->min_version, max = set->max_version;
	struct str *s = str_new(128);
	const char *err_pos = NULL;
	int ret;

	if (min == TLS_VERSION_DEFAULT)
		min = TLS_VERSION_1_2;
	if (max == TLS_VERSION_DEFAULT)
		max = TLS_VERSION_1_3;
	str_append(s, set->priority != NULL ? set->priority : "NORMAL");
	str_append(s, ":-VERS-ALL");
	for (enum tls_version v = min; v <= max; v++)
		str_printfa(s, ":%s", gnutls_version_item(v));
	ret = gnutls_priority_init(&ctx->priority, str_c(s), &err_pos);
	if (ret < 0) {
		*error_r = tls_error_set(
			"invalid TLS priority string \"%s\": %s%s%s",
			set->priority != NULL ? set->priority : "NORMAL",
			gnutls_strerror(ret),
			err_pos != NULL ? " at " : "",
			err_pos != NULL ? err_pos : "");
		ctx->priority = NULL;
		str_destroy(&s);
		return -1;
	}
	str_destroy(&s);
	return 0;
}

static int gnutls_ctx_cert_key(struct tls_ctx *ctx,
			       const struct tls_settings *set,
			       const char **error_r)
{
	const char *key_path = set->key_file != NULL ? set->key_file :
		set->cert_file;
	char *cert = NULL, *key = NULL;
	size_t cert_size = 0, key_size = 0;
	gnutls_datum_t cert_d, key_d;
	int ret, result = -1;

	if (tls_read_file(set->cert_file, TLS_MAX_FILE_SIZE, &cert,
			  &cert_size, error_r) < 0)
		return -1;
	if (set->key_file != NULL &&
	    tls_read_file(set->key_file, TLS_MAX_FILE_SIZE, &key, &key_size,
			  error_r) < 0)
		goto out;
	cert_d.data = (unsigned char *)cert;
	cert_d.size = (unsigned int)cert_size;
	key_d.data = (unsigned char *)(key != NULL ? key : cert);
	key_d.size = (unsigned int)(key != NULL ? key_size : cert_size);

	if (strstr(cert, "-----BEGIN CERTIFICATE-----") == NULL &&
	    strstr(cert, "-----BEGIN X509 CERTIFICATE-----") == NULL &&
	    strstr(cert, "-----BEGIN TRUSTED CERTIFICATE-----") == NULL) {
		*error_r = tls_error_set("%s: no PEM certificate found",
					 set->cert_file);
		goto out;
	}
	if (strstr((const char *)key_d.data, "PRIVATE KEY-----") == NULL) {
		*error_r = tls_error_set(
			"%s: no usable PEM private key found (keys with a "
			"passphrase are not supported)", key_path);
		goto out;
	}
	ret = gnutls_certificate_set_x509_key_mem2(ctx->cred, &cert_d, &key_d,
						   GNUTLS_X509_FMT_PEM,
						   NULL, 0);
	if (ret == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
		*error_r = tls_error_set(
			"%s: the private key does not match the certificate",
			key_path);
	} else if (ret < 0) {
		*error_r = tls_error_set("%s%s%s: %s", set->cert_file,
			key != NULL ? ", " : "", key != NULL ? key_path : "",
			gnutls_strerror(ret));
	} else {
		result = 0;
	}
out:
	tls_file_free(&cert, cert_size);
	tls_file_free(&key, key_size);
	return result;
}

static int gnutls_ctx_dh(struct tls_ctx *ctx, const char *path,
			 const char **error_r)
{
	gnutls_datum_t d;
	char *data;
	size_t size;
	int ret;

	if (tls_read_file(path, TLS_MAX_FILE_SIZE, &data, &size, error_r) < 0)
		return -1;
	d.data = (unsigned char *)data;
	d.size = (unsigned int)size;
	if (gnutls_dh_params_init(&ctx->dh) < 0)
		log_panic("gnutls_dh_params_init failed");
	ret = gnutls_dh_params_import_pkcs3(ctx->dh, &d, GNUTLS_X509_FMT_PEM);
	tls_file_free(&data, size);
	if (ret < 0) {
		*error_r = tls_error_set("%s: no usable PEM DH parameters (%s)",
					 path, gnutls_strerror(ret));
		return -1;
	}
	gnutls_certificate_set_dh_params(ctx->cred, ctx->dh);
	return 0;
}

static int gnutls_ctx_ca(struct tls_ctx *ctx, const char *path,
			 const char **error_r)
{
	gnutls_datum_t d;
	char *data;
	size_t size;
	int ret;

	if (tls_read_file(path, TLS_MAX_FILE_SIZE, &data, &size, error_r) < 0)
		return -1;
	d.data = (unsigned char *)data;
	d.size = (unsigned int)size;
	ret = gnutls_certificate_set_x509_trust_mem(ctx->cred, &d,
						    GNUTLS_X509_FMT_PEM);
	tls_file_free(&data, size);
	if (ret <= 0) {
		*error_r = tls_error_set("%s: no PEM certificate found%s%s",
					 path, ret < 0 ? ": " : "",
					 ret < 0 ? gnutls_strerror(ret) : "");
		return -1;
	}
	return 0;
}

static struct tls_ctx *gnutls_ctx_create(bool server,
					 const struct tls_settings *set,
					 const char **error_r)
{
	struct tls_ctx *ctx;

	if (tls_settings_check(set, error_r) < 0)
		return NULL;
	if (server && set->cert_file == NULL) {
		*error_r = tls_error_set("no TLS certificate file configured");
		return NULL;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->server = server;
	ctx->require_verify = set->require_verify;
	ctx->request_client_cert = set->request_client_cert;
	if (gnutls_certificate_allocate_credentials(&ctx->cred) < 0)
		log_panic("gnutls_certificate_allocate_credentials failed");
	if (gnutls_ctx_priority(ctx, set, error_r) < 0)
		goto fail;
	if (set->cert_file != NULL && gnutls_ctx_cert_key(ctx, set, error_r) < 0)
		goto fail;
	if (server) {
		if (set->dh_file != NULL) {
			if (gnutls_ctx_dh(ctx, set->dh_file, error_r) < 0)
				goto fail;
		} else {
			(void)gnutls_certificate_set_known_dh_params(
				ctx->cred, GNUTLS_SEC_PARAM_MEDIUM);
		}
	}
	if (set->ca_file != NULL) {
		if (gnutls_ctx_ca(ctx, set->ca_file, error_r) < 0)
			goto fail;
	} else if (!server) {
		/* A system without a CA store only fails verification. */
		(void)gnutls_certificate_set_x509_system_trust(ctx->cred);
	}
	return ctx;
fail:
	tls_ctx_destroy(&ctx);
	return NULL;
}

struct tls_ctx *tls_ctx_server_create(const struct tls_settings *set,
				      const char **error_r)
{
	return gnutls_ctx_create(true, set, error_r);
}

struct tls_ctx *tls_ctx_client_create(const struct tls_settings *set,
				      const char **error_r)
{
	static const struct tls_settings defaults;

	return gnutls_ctx_create(false, set != NULL ? set : &defaults,
				 error_r);
}

void tls_ctx_destroy(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	if (ctx->priority != NULL)
		gnutls_priority_deinit(ctx->priority);
	gnutls_certificate_free_credentials(ctx->cred);
	if (ctx->dh != NULL)
		gnutls_dh_params_deinit(ctx->dh);
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
	unsigned int flags = GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;

	sess->ctx = ctx;
	flags |= ctx->server ? GNUTLS_SERVER : GNUTLS_CLIENT;
	if (gnutls_init(&sess->session, flags) < 0 ||
	    gnutls_priority_set(sess->session, ctx->priority) < 0 ||
	    gnutls_credentials_set(sess->session, GNUTLS_CRD_CERTIFICATE,
				   ctx->cred) < 0)
		log_panic("gnutls session set-up failed");
	gnutls_transport_set_int(sess->session, fd);
	if (ctx->server) {
		if (ctx->request_client_cert)
			gnutls_certificate_server_set_request(
				sess->session, GNUTLS_CERT_REQUEST);
		return sess;
	}
	if (host != NULL && host[0] != '\0') {
		unsigned char addr[16];

		sess->host = xstrdup(host);
		if (inet_pton(AF_INET, host, addr) != 1 &&
		    inet_pton(AF_INET6, host, addr) != 1 &&
		    gnutls_server_name_set(sess->session, GNUTLS_NAME_DNS,
					   host, strlen(host)) < 0)
			log_panic("gnutls_server_name_set failed");
	}
	if (ctx->require_verify)
		gnutls_session_set_verify_cert(sess->session, sess->host, 0);
	return sess;
}

void tls_session_destroy(struct tls_session **sessp)
{
	struct tls_session *sess = *sessp;

	if (sess == NULL)
		return;
	gnutls_deinit(sess->session);
	free(sess->host);
	free(sess->peer_subject);
	free(sess->verify_reason);
	free(sess);
	*sessp = NULL;
}

static enum tls_result gnutls_again(struct tls_session *sess)
{
	return gnutls_record_get_direction(sess->session) == 0 ?
		TLS_WANT_READ : TLS_WANT_WRITE;
}

static enum tls_result gnutls_fail(struct tls_session *sess, const char *op,
				   int ret)
{
	gnutls_datum_t out;
	unsigned int status;

	if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR &&
	    (status = gnutls_session_get_verify_cert_status(sess->session)) !=
	    0 &&
	    gnutls_certificate_verification_status_print(status,
		GNUTLS_CRT_X509, &out, 0) >= 0) {
		snprintf(sess->error, sizeof(sess->error), "%s: %s: %s", op,
			 gnutls_strerror(ret), (const char *)out.data);
		gnutls_free(out.data);
	} else if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED ||
		   ret == GNUTLS_E_WARNING_ALERT_RECEIVED) {
		snprintf(sess->error, sizeof(sess->error), "%s: %s: %s", op,
			 gnutls_strerror(ret),
			 gnutls_alert_get_name(gnutls_alert_get(sess->session)));
	} else {
		snprintf(sess->error, sizeof(sess->error), "%s: %s", op,
			 gnutls_strerror(ret));
	}
	return TLS_ERROR;
}

enum tls_result tls_session_handshake(struct tls_session *sess)
{
	int ret;

	do {
		ret = gnutls_handshake(sess->session);
	} while (ret < 0 && ret != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(ret));
	if (ret == 0)
		return TLS_DONE;
	if (ret == GNUTLS_E_AGAIN)
		return gnutls_again(sess);
	return gnutls_fail(sess, "TLS handshake", ret);
}

enum tls_result tls_session_read(struct tls_session *sess, void *buf,
				 size_t size, size_t *len_r)
{
	ssize_t ret;

	*len_r = 0;
	for (;;) {
		ret = gnutls_record_recv(sess->session, buf, size);
		if (ret > 0) {
			*len_r = (size_t)ret;
			return TLS_DONE;
		}
		if (ret == 0 || ret == GNUTLS_E_PREMATURE_TERMINATION)
			return TLS_CLOSED;
		if (ret == GNUTLS_E_AGAIN)
			return gnutls_again(sess);
		if (ret == GNUTLS_E_REHANDSHAKE) {
			/* Renegotiation is refused: tell the peer, go on. */
			(void)gnutls_alert_send(sess->session,
						GNUTLS_AL_WARNING,
						GNUTLS_A_NO_RENEGOTIATION);
			continue;
		}
		if (!gnutls_error_is_fatal((int)ret))
			continue;
		return gnutls_fail(sess, "TLS read", (int)ret);
	}
}

enum tls_result tls_session_write(struct tls_session *sess, const void *buf,
				  size_t size, size_t *len_r)
{
	ssize_t ret;

	*len_r = 0;
	if (size == 0 && sess->send_pending == 0)
		return TLS_DONE;
	if (sess->send_pending > 0) {
		/* Finish the interrupted record: GnuTLS wants the same
		 * call again, or NULL/0 which it documents for this. */
		ret = gnutls_record_send(sess->session, NULL, 0);
	} else {
		ret = gnutls_record_send(sess->session, buf, size);
	}
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		if (sess->send_pending == 0)
			sess->send_pending = size;
		return gnutls_again(sess);
	}
	sess->send_pending = 0;
	if (ret < 0)
		return gnutls_fail(sess, "TLS write", (int)ret);
	*len_r = (size_t)ret;
	return TLS_DONE;
}

enum tls_result tls_session_shutdown(struct tls_session *sess)
{
	int ret = gnutls_bye(sess->session, GNUTLS_SHUT_WR);

	if (ret == 0)
		return TLS_DONE;
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
		return gnutls_again(sess);
	return gnutls_fail(sess, "TLS shutdown", ret);
}

size_t tls_session_pending(struct tls_session *sess)
{
	return gnutls_record_check_pending(sess->session);
}

const char *tls_session_error(const struct tls_session *sess)
{
	return sess->error;
}

const char *tls_session_protocol(struct tls_session *sess)
{
	switch (gnutls_protocol_get_version(sess->session)) {
	case GNUTLS_TLS1_0:
		return "TLSv1";
	case GNUTLS_TLS1_1:
		return "TLSv1.1";
	case GNUTLS_TLS1_2:
		return "TLSv1.2";
	case GNUTLS_TLS1_3:
		return "TLSv1.3";
	default:
		break;
	}
	snprintf(sess->protocol, sizeof(sess->protocol), "%s",
		 gnutls_protocol_get_name(
			 gnutls_protocol_get_version(sess->session)) ?: "unknown");
	return sess->protocol;
}

const char *tls_session_cipher(struct tls_session *sess)
{
	const char *name = NULL;

#if GNUTLS_VERSION_NUMBER >= 0x030703
	name = gnutls_ciphersuite_get(sess->session);
#endif
	if (name == NULL)
		name = gnutls_cipher_suite_get_name(
			gnutls_kx_get(sess->session),
			gnutls_cipher_get(sess->session),
			gnutls_mac_get(sess->session));
	if (name == NULL)
		name = gnutls_cipher_get_name(gnutls_cipher_get(sess->session));
	return name != NULL ? name : "NONE";
}

int tls_session_cipher_bits(struct tls_session *sess)
{
	return (int)gnutls_cipher_get_key_size(
		gnutls_cipher_get(sess->session)) * 8;
}

static int gnutls_peer_crt(struct tls_session *sess, gnutls_x509_crt_t *crt_r)
{
	const gnutls_datum_t *peers;
	unsigned int count = 0;

	if (gnutls_certificate_type_get(sess->session) != GNUTLS_CRT_X509)
		return -1;
	peers = gnutls_certificate_get_peers(sess->session, &count);
	if (peers == NULL || count == 0)
		return -1;
	if (gnutls_x509_crt_init(crt_r) < 0)
		log_panic("gnutls_x509_crt_init failed");
	if (gnutls_x509_crt_import(*crt_r, &peers[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(*crt_r);
		return 0;
	}
	return 1;
}

const char *tls_session_peer_subject(struct tls_session *sess)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn;
	int ret;

	if (sess->peer_subject != NULL)
		return sess->peer_subject;
	ret = gnutls_peer_crt(sess, &crt);
	if (ret < 0)
		return NULL;
	if (ret == 0) {
		sess->peer_subject = xstrdup("");
		return sess->peer_subject;
	}
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
		sess->peer_subject = xmemdup(dn.data, dn.size);
		gnutls_free(dn.data);
	} else {
		sess->peer_subject = xstrdup("");
	}
	gnutls_x509_crt_deinit(crt);
	return sess->peer_subject;
}

int tls_session_verify_result(struct tls_session *sess,
			      const char **reason_r)
{
	unsigned int status = 0, count = 0;
	gnutls_datum_t out;
	int ret;

	*reason_r = NULL;
	if (gnutls_certificate_get_peers(sess->session, &count) == NULL ||
	    count == 0)
		return -1;
	ret = gnutls_certificate_verify_peers3(
		sess->session, sess->ctx->server ? NULL : sess->host, &status);
	if (ret == 0 && status == 0)
		return 1;
	free(sess->verify_reason);
	if (ret < 0) {
		sess->verify_reason = xstrdup(gnutls_strerror(ret));
	} else if (gnutls_certificate_verification_status_print(status,
			GNUTLS_CRT_X509, &out, 0) >= 0) {
		sess->verify_reason = xmemdup(out.data, out.size);
		gnutls_free(out.data);
	} else {
		sess->verify_reason = xstrdup("certificate not trusted");
	}
	*reason_r = sess->verify_reason;
	return 0;
}
