/* pubkey-openssl.c: lib/pubkey.h signatures (RSA PKCS#1 v1.5 SHA-256,
 * Ed25519) over OpenSSL's libcrypto. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "mem.h"
#include "pubkey.h"

struct pubkey {
	enum pubkey_type type;
	EVP_PKEY *pkey;
};

struct pubkey_private {
	enum pubkey_type type;
	EVP_PKEY *pkey;
};

/* The type of an EVP key, or -1 for one we do not use. */
static int evp_type(EVP_PKEY *pkey, enum pubkey_type *type_r)
{
	switch (EVP_PKEY_base_id(pkey)) {
	case EVP_PKEY_RSA:
		*type_r = PUBKEY_RSA;
		return 0;
	case EVP_PKEY_ED25519:
		*type_r = PUBKEY_ED25519;
		return 0;
	default:
		return -1;
	}
}

static bool rsa_size_ok(EVP_PKEY *pkey)
{
	int bits = EVP_PKEY_bits(pkey);

	return bits >= PUBKEY_RSA_MIN_BITS && bits <= PUBKEY_RSA_MAX_BITS;
}

int pubkey_import(enum pubkey_type type, const unsigned char *data,
		  size_t len, struct pubkey **key_r, const char **error_r)
{
	struct str spki;
	const unsigned char *p;
	EVP_PKEY *pkey;
	enum pubkey_type got;

	*key_r = NULL;
	str_init(&spki, len + 32);
	if (pubkey_to_spki(type, data, len, &spki, error_r) < 0) {
		str_free(&spki);
		return -1;
	}
	p = (const unsigned char *)spki.data;
	pkey = d2i_PUBKEY(NULL, &p, (long)spki.len);
	if (pkey != NULL && p != (const unsigned char *)spki.data + spki.len) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	str_free(&spki);
	ERR_clear_error();
	if (pkey == NULL) {
		*error_r = "malformed public key";
		return -1;
	}
	if (evp_type(pkey, &got) < 0 || got != type) {
		EVP_PKEY_free(pkey);
		*error_r = "public key of another type";
		return -1;
	}
	if (type == PUBKEY_RSA && !rsa_size_ok(pkey)) {
		EVP_PKEY_free(pkey);
		*error_r = "RSA key size outside 1024-4096 bits";
		return -1;
	}
	*key_r = xcalloc(1, sizeof(**key_r));
	(*key_r)->type = type;
	(*key_r)->pkey = pkey;
	return 0;
}

enum pubkey_type pubkey_get_type(const struct pubkey *key)
{
	return key->type;
}

unsigned int pubkey_bits(const struct pubkey *key)
{
	return (unsigned int)EVP_PKEY_bits(key->pkey);
}

int pubkey_verify_sha256(const struct pubkey *key,
			 const unsigned char digest[PUBKEY_SHA256_SIZE],
			 const unsigned char *sig, size_t sig_len)
{
	int ok = 0;

	if (sig_len == 0 || sig_len > PUBKEY_MAX_INPUT)
		return 0;
	if (key->type == PUBKEY_RSA) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);

		if (ctx != NULL && EVP_PKEY_verify_init(ctx) > 0 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
		    EVP_PKEY_verify(ctx, sig, sig_len, digest,
				    PUBKEY_SHA256_SIZE) == 1)
			ok = 1;
		EVP_PKEY_CTX_free(ctx);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		if (sig_len == PUBKEY_ED25519_SIG_SIZE && md != NULL &&
		    EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) > 0 &&
		    EVP_DigestVerify(md, sig, sig_len, digest,
				     PUBKEY_SHA256_SIZE) == 1)
			ok = 1;
		EVP_MD_CTX_free(md);
	}
	ERR_clear_error();
	return ok;
}

void pubkey_destroy(struct pubkey **key)
{
	if (*key == NULL)
		return;
	EVP_PKEY_free((*key)->pkey);
	free(*key);
	*key = NULL;
}

static int private_wrap(EVP_PKEY *pkey, struct pubkey_private **key_r,
			const char **error_r)
{
	enum pubkey_type type;

	if (evp_type(pkey, &type) < 0) {
		EVP_PKEY_free(pkey);
		*error_r = "private key is neither RSA nor Ed25519";
		return -1;
	}
	if (type == PUBKEY_RSA && !rsa_size_ok(pkey)) {
		EVP_PKEY_free(pkey);
		*error_r = "RSA key size outside 1024-4096 bits";
		return -1;
	}
	*key_r = xcalloc(1, sizeof(**key_r));
	(*key_r)->type = type;
	(*key_r)->pkey = pkey;
	return 0;
}

/* A password callback that refuses: encrypted keys are not read. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int pubkey_private_load_pem(const char *pem, size_t len,
			    struct pubkey_private **key_r,
			    const char **error_r)
{
	BIO *bio;
	EVP_PKEY *pkey;

	*key_r = NULL;
	if (len > PUBKEY_MAX_PEM) {
		*error_r = "PEM key too large";
		return -1;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL) {
		*error_r = "no readable (unencrypted) PEM private key";
		return -1;
	}
	return private_wrap(pkey, key_r, error_r);
}

int pubkey_private_generate(enum pubkey_type type, unsigned int bits,
			    struct pubkey_private **key_r,
			    const char **error_r)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	int ok;

	*key_r = NULL;
	if (bits == 0)
		bits = 2048;
	if (type == PUBKEY_RSA &&
	    (bits < PUBKEY_RSA_MIN_BITS || bits > PUBKEY_RSA_MAX_BITS)) {
		*error_r = "RSA key size outside 1024-4096 bits";
		return -1;
	}
	ctx = EVP_PKEY_CTX_new_id(type == PUBKEY_RSA ? EVP_PKEY_RSA :
				  EVP_PKEY_ED25519, NULL);
	ok = ctx != NULL && EVP_PKEY_keygen_init(ctx) > 0 &&
	     (type != PUBKEY_RSA ||
	      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) > 0) &&
	     EVP_PKEY_keygen(ctx, &pkey) > 0;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		EVP_PKEY_free(pkey);
		*error_r = "key generation failed";
		return -1;
	}
	return private_wrap(pkey, key_r, error_r);
}

enum pubkey_type pubkey_private_get_type(const struct pubkey_private *key)
{
	return key->type;
}

unsigned int pubkey_private_bits(const struct pubkey_private *key)
{
	return (unsigned int)EVP_PKEY_bits(key->pkey);
}

int pubkey_private_sign_sha256(const struct pubkey_private *key,
			       const unsigned char digest[PUBKEY_SHA256_SIZE],
			       struct str *sig_r, const char **error_r)
{
	unsigned char *sig;
	size_t sig_len = (size_t)EVP_PKEY_size(key->pkey);
	int ok = 0;

	sig = xmalloc(sig_len);
	if (key->type == PUBKEY_RSA) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);

		ok = ctx != NULL && EVP_PKEY_sign_init(ctx) > 0 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
		     EVP_PKEY_sign(ctx, sig, &sig_len, digest,
				   PUBKEY_SHA256_SIZE) > 0;
		EVP_PKEY_CTX_free(ctx);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		ok = md != NULL &&
		     EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) > 0 &&
		     EVP_DigestSign(md, sig, &sig_len, digest,
				    PUBKEY_SHA256_SIZE) > 0;
		EVP_MD_CTX_free(md);
	}
	ERR_clear_error();
	if (ok)
		str_append_n(sig_r, sig, sig_len);
	else
		*error_r = "signing failed";
	free(sig);
	return ok ? 0 : -1;
}

static void bio_append(BIO *bio, struct str *out)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	if (n > 0)
		str_append_n(out, data, (size_t)n);
}

void pubkey_private_pem_append(const struct pubkey_private *key,
			       struct str *out)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (bio == NULL ||
	    PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL,
					  NULL) <= 0) {
		BIO_free(bio);
		ERR_clear_error();
		return;
	}
	bio_append(bio, out);
	BIO_free(bio);
}

void pubkey_private_public_append(const struct pubkey_private *key,
				  struct str *out)
{
	if (key->type == PUBKEY_ED25519) {
		unsigned char raw[PUBKEY_ED25519_KEY_SIZE];
		size_t len = sizeof(raw);

		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &len) > 0 &&
		    len == sizeof(raw))
			str_append_n(out, raw, len);
	} else {
		unsigned char *der = NULL;
		int n = i2d_PUBKEY(key->pkey, &der);

		if (n > 0)
			str_append_n(out, der, (size_t)n);
		OPENSSL_free(der);
	}
	ERR_clear_error();
}

void pubkey_private_destroy(struct pubkey_private **key)
{
	if (*key == NULL)
		return;
	EVP_PKEY_free((*key)->pkey);	/* OpenSSL clears key material */
	free(*key);
	*key = NULL;
}
