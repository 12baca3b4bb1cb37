/* pubkey-gnutls.c: lib/pubkey.h signatures (RSA PKCS#1 v1.5 SHA-256,
 * Ed25519) over GnuTLS's abstract key API. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "mem.h"
#include "pubkey.h"

struct pubkey {
	enum pubkey_type type;
	unsigned int bits;
	gnutls_pubkey_t key;
};

struct pubkey_private {
	enum pubkey_type type;
	unsigned int bits;
	gnutls_x509_privkey_t x509;	/* for export */
	gnutls_privkey_t key;		/* for signing */
};

static int pk_type(int algo, enum pubkey_type *type_r)
{
	switch (algo) {
	case GNUTLS_PK_RSA:
		*type_r = PUBKEY_RSA;
		return 0;
	case GNUTLS_PK_EDDSA_ED25519:
		*type_r = PUBKEY_ED25519;
		return 0;
	default:
		return -1;
	}
}

static bool rsa_size_ok(unsigned int bits)
{
	return bits >= PUBKEY_RSA_MIN_BITS && bits <= PUBKEY_RSA_MAX_BITS;
}

int pubkey_import(enum pubkey_type type, const unsigned char *data,
		  size_t len, struct pubkey **key_r, const char **error_r)
{
	struct str spki;
	gnutls_pubkey_t key;
	gnutls_datum_t d;
	unsigned int bits = 0;
	enum pubkey_type got;
	int algo, ret;

	*key_r = NULL;
	str_init(&spki, len + 32);
	if (pubkey_to_spki(type, data, len, &spki, error_r) < 0) {
		str_free(&spki);
		return -1;
	}
	if (gnutls_pubkey_init(&key) < 0) {
		str_free(&spki);
		*error_r = "out of memory";
		return -1;
	}
	d.data = (unsigned char *)spki.data;
	d.size = (unsigned int)spki.len;
	ret = gnutls_pubkey_import(key, &d, GNUTLS_X509_FMT_DER);
	str_free(&spki);
	if (ret < 0) {
		gnutls_pubkey_deinit(key);
		*error_r = "malformed public key";
		return -1;
	}
	algo = gnutls_pubkey_get_pk_algorithm(key, &bits);
	if (pk_type(algo, &got) < 0 || got != type) {
		gnutls_pubkey_deinit(key);
		*error_r = "public key of another type";
		return -1;
	}
	if (type == PUBKEY_RSA && !rsa_size_ok(bits)) {
		gnutls_pubkey_deinit(key);
		*error_r = "RSA key size outside 1024-4096 bits";
		return -1;
	}
	*key_r = xcalloc(1, sizeof(**key_r));
	(*key_r)->type = type;
	(*key_r)->bits = type == PUBKEY_ED25519 ? 256 : bits;
	(*key_r)->key = key;
	return 0;
}

enum pubkey_type pubkey_get_type(const struct pubkey *key)
{
	return key->type;
}

unsigned int pubkey_bits(const struct pubkey *key)
{
	return key->bits;
}

int pubkey_verify_sha256(const struct pubkey *key,
			 const unsigned char digest[PUBKEY_SHA256_SIZE],
			 const unsigned char *sig, size_t sig_len)
{
	gnutls_datum_t h, s;

	if (sig_len == 0 || sig_len > PUBKEY_MAX_INPUT)
		return 0;
	h.data = (unsigned char *)digest;
	h.size = PUBKEY_SHA256_SIZE;
	s.data = (unsigned char *)sig;
	s.size = (unsigned int)sig_len;
	if (key->type == PUBKEY_RSA)
		return gnutls_pubkey_verify_hash2(key->key,
						  GNUTLS_SIGN_RSA_SHA256, 0,
						  &h, &s) >= 0 ? 1 : 0;
	if (sig_len != PUBKEY_ED25519_SIG_SIZE)
		return 0;
	return gnutls_pubkey_verify_data2(key->key, GNUTLS_SIGN_EDDSA_ED25519,
					  0, &h, &s) >= 0 ? 1 : 0;
}

void pubkey_destroy(struct pubkey **key)
{
	if (*key == NULL)
		return;
	gnutls_pubkey_deinit((*key)->key);
	free(*key);
	*key = NULL;
}

/* Takes x509 over (freed on error). */
static int private_wrap(gnutls_x509_privkey_t x509,
			struct pubkey_private **key_r, const char **error_r)
{
	gnutls_privkey_t key;
	unsigned int bits = 0;
	enum pubkey_type type;
	int algo = gnutls_x509_privkey_get_pk_algorithm2(x509, &bits);

	if (pk_type(algo, &type) < 0) {
		gnutls_x509_privkey_deinit(x509);
		*error_r = "private key is neither RSA nor Ed25519";
		return -1;
	}
	if (type == PUBKEY_RSA && !rsa_size_ok(bits)) {
		gnutls_x509_privkey_deinit(x509);
		*error_r = "RSA key size outside 1024-4096 bits";
		return -1;
	}
	if (gnutls_privkey_init(&key) < 0) {
		gnutls_x509_privkey_deinit(x509);
		*error_r = "out of memory";
		return -1;
	}
	/* no GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE: we keep x509 for export */
	if (gnutls_privkey_import_x509(key, x509, 0) < 0) {
		gnutls_privkey_deinit(key);
		gnutls_x509_privkey_deinit(x509);
		*error_r = "unusable private key";
		return -1;
	}
	*key_r = xcalloc(1, sizeof(**key_r));
	(*key_r)->type = type;
	(*key_r)->bits = type == PUBKEY_ED25519 ? 256 : bits;
	(*key_r)->x509 = x509;
	(*key_r)->key = key;
	return 0;
}

int pubkey_private_load_pem(const char *pem, size_t len,
			    struct pubkey_private **key_r,
			    const char **error_r)
{
	gnutls_x509_privkey_t x509;
	gnutls_datum_t d;

	*key_r = NULL;
	if (len > PUBKEY_MAX_PEM) {
		*error_r = "PEM key too large";
		return -1;
	}
	if (gnutls_x509_privkey_init(&x509) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	d.data = (unsigned char *)pem;
	d.size = (unsigned int)len;
	/* PKCS#8 unencrypted, or PKCS#1; no password */
	if (gnutls_x509_privkey_import2(x509, &d, GNUTLS_X509_FMT_PEM, NULL,
					GNUTLS_PKCS_PLAIN) < 0) {
		gnutls_x509_privkey_deinit(x509);
		*error_r = "no readable (unencrypted) PEM private key";
		return -1;
	}
	return private_wrap(x509, key_r, error_r);
}

int pubkey_private_generate(enum pubkey_type type, unsigned int bits,
			    struct pubkey_private **key_r,
			    const char **error_r)
{
	gnutls_x509_privkey_t x509;
	int ret;

	*key_r = NULL;
	if (bits == 0)
		bits = 2048;
	if (type == PUBKEY_RSA && !rsa_size_ok(bits)) {
		*error_r = "RSA key size outside 1024-4096 bits";
		return -1;
	}
	if (gnutls_x509_privkey_init(&x509) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	if (type == PUBKEY_RSA)
		ret = gnutls_x509_privkey_generate(x509, GNUTLS_PK_RSA, bits,
						   0);
	else
		ret = gnutls_x509_privkey_generate(x509,
						   GNUTLS_PK_EDDSA_ED25519,
						   256, 0);
	if (ret < 0) {
		gnutls_x509_privkey_deinit(x509);
		*error_r = "key generation failed";
		return -1;
	}
	return private_wrap(x509, key_r, error_r);
}

enum pubkey_type pubkey_private_get_type(const struct pubkey_private *key)
{
	return key->type;
}

unsigned int pubkey_private_bits(const struct pubkey_private *key)
{
	return key->bits;
}

int pubkey_private_sign_sha256(const struct pubkey_private *key,
			       const unsigned char digest[PUBKEY_SHA256_SIZE],
			       struct str *sig_r, const char **error_r)
{
	gnutls_datum_t h, sig = { NULL, 0 };
	int ret;

	h.data = (unsigned char *)digest;
	h.size = PUBKEY_SHA256_SIZE;
	if (key->type == PUBKEY_RSA)
		ret = gnutls_privkey_sign_hash2(key->key,
						GNUTLS_SIGN_RSA_SHA256, 0, &h,
						&sig);
	else
		ret = gnutls_privkey_sign_data2(key->key,
						GNUTLS_SIGN_EDDSA_ED25519, 0,
						&h, &sig);
	if (ret < 0) {
		*error_r = "signing failed";
		return -1;
	}
	str_append_n(sig_r, sig.data, sig.size);
	gnutls_free(sig.data);
	return 0;
}

void pubkey_private_pem_append(const struct pubkey_private *key,
			       struct str *out)
{
	gnutls_datum_t pem = { NULL, 0 };

	if (gnutls_x509_privkey_export2_pkcs8(key->x509, GNUTLS_X509_FMT_PEM,
					      NULL, GNUTLS_PKCS_PLAIN,
					      &pem) < 0)
		return;
	str_append_n(out, pem.data, pem.size);
	gnutls_memset(pem.data, 0, pem.size);
	gnutls_free(pem.data);
}

void pubkey_private_public_append(const struct pubkey_private *key,
				  struct str *out)
{
	gnutls_pubkey_t pub;
	gnutls_datum_t d = { NULL, 0 };
	int ret;

	if (gnutls_pubkey_init(&pub) < 0)
		return;
	if (gnutls_pubkey_import_privkey(pub, key->key, 0, 0) < 0) {
		gnutls_pubkey_deinit(pub);
		return;
	}
	if (key->type == PUBKEY_ED25519) {
		gnutls_ecc_curve_t curve;

		ret = gnutls_pubkey_export_ecc_raw(pub, &curve, &d, NULL);
	} else {
		ret = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &d);
	}
	if (ret >= 0)
		str_append_n(out, d.data, d.size);
	gnutls_free(d.data);
	gnutls_pubkey_deinit(pub);
}

void pubkey_private_destroy(struct pubkey_private **key)
{
	if (*key == NULL)
		return;
	gnutls_privkey_deinit((*key)->key);
	gnutls_x509_privkey_deinit((*key)->x509);	/* wipes the key */
	free(*key);
	*key = NULL;
}
