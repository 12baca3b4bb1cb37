/* test-pubkey.c: lib/pubkey.h on fixed keys and vectors made by the
 * openssl command (RSA 1024 and 2048, the Ed25519 key of RFC 8463 A.2):
 * signatures identical to the reference ones, verification, key import in
 * every p= form, malformed keys and signatures, PEM round trips, key
 * generation.  Built and run in both the OpenSSL and the GnuTLS build. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base64.h"
#include "hash.h"
#include "pubkey.h"
#include "unit-keys.h"

/* SHA-256 of "pubkey test vector" */
static const char digest_b64[] =
	"snWtJC99YZPH/FiiOzXrl7vJn7SpfaUfDDOvIuujfL0=";
static const char ed_sig_b64[] =
	"80rXUoRKJ6bn6vz5koeKJN2Nl4+6G5qEFhAsIO3qJTHcOmS8OWoqtiSPmMDUa7nh"
	"uPgic9y5Ruo+TxydPA3TBg==";
static const char rsa1024_sig_b64[] =
	"SB0aSD0U/toqIw2K3jK5+7Q6E6Y6neTthE079z0WgPlZn8BUKAMzd0BCd8P8TV34"
	"Pe/ZFDQAnRnGPnHaBGZq0AWXuyz0eNEVjJ+/BHrE5QYO5z7oH/BNgDhT/omPXugl"
	"pmP9FsRZmP+9rZ9adcjDH25cvLVhukHEUGSmH9WLNMQ=";
static const char rsa2048_sig_b64[] =
	"cVre7G2QhWm9HXxiKqnqkDOJ8snrZVlgMDROICJJsbkytQgU5V6oorFztD14Vtvm"
	"We2kDFwiLTY7KRE21MyDHieem6kF16BRWGuGvQcn8+Ie0KYFLoZc0q5Edcmdjypdlrgs"
	"kcwR7YgbqMNZED7JZVqT0dWK/w+PtToWaCfwctQf7DANW+E+rihwJr8XfVSWVpst"
	"6KjOBngPv8pwfpWUOyPr2/+XBhDZFrK44Exg7ip6txFlhx+tPa7+koZNRVaIKlUs"
	"MOnfZFh6b47n3iqJYeOiEoGcm+1A+5+YUpSMAQr3DcPMOaOno8UnGG9nzEGgU20+"
	"Tn1lXNMNsk8P3bGOfQ==";

static void b64dec(const char *b64, struct str *out)
{
	str_init(out, 512);
	assert_int_equal(base64_decode_strict(out, b64, strlen(b64)), 0);
}

static void digest(unsigned char d[PUBKEY_SHA256_SIZE])
{
	struct str s;

	b64dec(digest_b64, &s);
	assert_int_equal(s.len, PUBKEY_SHA256_SIZE);
	memcpy(d, s.data, PUBKEY_SHA256_SIZE);
	str_free(&s);
	/* and it is what hash.h computes */
	unsigned char d2[HASH_SHA256_DIGEST_SIZE];
	hash_digest(HASH_SHA256, "pubkey test vector", 18, d2);
	assert_memory_equal(d, d2, sizeof(d2));
}

static struct pubkey *import_b64(enum pubkey_type type, const char *b64)
{
	struct str k;
	struct pubkey *key = NULL;
	const char *error = NULL;

	b64dec(b64, &k);
	if (pubkey_import(type, (const unsigned char *)k.data, k.len, &key,
			  &error) < 0) {
		assert_null(key);
		assert_non_null(error);
	}
	str_free(&k);
	return key;
}

static int verify_b64(const struct pubkey *key, const char *sig_b64)
{
	unsigned char d[PUBKEY_SHA256_SIZE];
	struct str sig;
	int ret;

	digest(d);
	b64dec(sig_b64, &sig);
	ret = pubkey_verify_sha256(key, d, (const unsigned char *)sig.data,
				   sig.len);
	str_free(&sig);
	return ret;
}

/* Signs the vector digest with pem: the signature must be sig_b64, and
 * the public half must be pub_b64. */
static void sign_is(const char *pem, enum pubkey_type type,
		    unsigned int bits, const char *sig_b64,
		    const char *pub_b64)
{
	struct pubkey_private *key = NULL;
	const char *error = NULL;
	unsigned char d[PUBKEY_SHA256_SIZE];
	struct str sig, b64;

	digest(d);
	assert_int_equal(pubkey_private_load_pem(pem, strlen(pem), &key,
						 &error), 0);
	assert_int_equal(pubkey_private_get_type(key), type);
	assert_int_equal(pubkey_private_bits(key), bits);
	str_init(&sig, 512);
	assert_int_equal(pubkey_private_sign_sha256(key, d, &sig, &error), 0);
	str_init(&b64, 512);
	base64_encode(&b64, sig.data, sig.len, 0);
	assert_string_equal(str_c(&b64), sig_b64);
	str_clear(&b64);
	str_clear(&sig);
	pubkey_private_public_append(key, &sig);
	base64_encode(&b64, sig.data, sig.len, 0);
	assert_string_equal(str_c(&b64), pub_b64);
	str_free(&b64);
	str_free(&sig);
	pubkey_private_destroy(&key);
	assert_null(key);
}

static void test_sign_vectors(void **state)
{
	(void)state;
	sign_is(unit_key_ed25519_pem, PUBKEY_ED25519, 256, ed_sig_b64, unit_key_ed25519_pub);
	sign_is(unit_key_rsa1024_pem, PUBKEY_RSA, 1024, rsa1024_sig_b64,
		unit_key_rsa1024_spki);
	/* PKCS#1 "RSA PRIVATE KEY" PEM */
	sign_is(unit_key_rsa2048_pem, PUBKEY_RSA, 2048, rsa2048_sig_b64,
		unit_key_rsa2048_spki);
}

static void test_verify_vectors(void **state)
{
	struct pubkey *k;

	(void)state;
	k = import_b64(PUBKEY_ED25519, unit_key_ed25519_pub);
	assert_non_null(k);
	assert_int_equal(pubkey_get_type(k), PUBKEY_ED25519);
	assert_int_equal(pubkey_bits(k), 256);
	assert_int_equal(verify_b64(k, ed_sig_b64), 1);
	assert_int_equal(verify_b64(k, rsa1024_sig_b64), 0);
	pubkey_destroy(&k);
	assert_null(k);

	k = import_b64(PUBKEY_RSA, unit_key_rsa1024_spki);
	assert_non_null(k);
	assert_int_equal(pubkey_bits(k), 1024);
	assert_int_equal(verify_b64(k, rsa1024_sig_b64), 1);
	assert_int_equal(verify_b64(k, rsa2048_sig_b64), 0);
	assert_int_equal(verify_b64(k, ed_sig_b64), 0);
	pubkey_destroy(&k);
	/* the same key as PKCS#1 RSAPublicKey */
	k = import_b64(PUBKEY_RSA, unit_key_rsa1024_pkcs1);
	assert_non_null(k);
	assert_int_equal(verify_b64(k, rsa1024_sig_b64), 1);
	pubkey_destroy(&k);

	k = import_b64(PUBKEY_RSA, unit_key_rsa2048_spki);
	assert_non_null(k);
	assert_int_equal(pubkey_bits(k), 2048);
	assert_int_equal(verify_b64(k, rsa2048_sig_b64), 1);
	assert_int_equal(verify_b64(k, rsa1024_sig_b64), 0);
	pubkey_destroy(&k);
	pubkey_destroy(&k);	/* NULL is harmless */
}

/* Every single-bit change of a signature or digest fails. */
static void test_tampered(void **state)
{
	struct pubkey *rsa = import_b64(PUBKEY_RSA, unit_key_rsa1024_spki);
	struct pubkey *ed = import_b64(PUBKEY_ED25519, unit_key_ed25519_pub);
	unsigned char d[PUBKEY_SHA256_SIZE];
	struct str rs, es;

	(void)state;
	digest(d);
	b64dec(rsa1024_sig_b64, &rs);
	b64dec(ed_sig_b64, &es);
	for (size_t i = 0; i < rs.len; i += 7) {
		rs.data[i] ^= 0x01;
		assert_int_equal(pubkey_verify_sha256(rsa, d,
			(unsigned char *)rs.data, rs.len), 0);
		rs.data[i] ^= 0x01;
	}
	for (size_t i = 0; i < es.len; i++) {
		es.data[i] ^= 0x80;
		assert_int_equal(pubkey_verify_sha256(ed, d,
			(unsigned char *)es.data, es.len), 0);
		es.data[i] ^= 0x80;
	}
	for (size_t i = 0; i < sizeof(d); i++) {
		d[i] ^= 0x10;
		assert_int_equal(pubkey_verify_sha256(rsa, d,
			(unsigned char *)rs.data, rs.len), 0);
		assert_int_equal(pubkey_verify_sha256(ed, d,
			(unsigned char *)es.data, es.len), 0);
		d[i] ^= 0x10;
	}
	/* truncated, extended, empty signatures */
	assert_int_equal(pubkey_verify_sha256(rsa, d, (unsigned char *)rs.data,
					      rs.len - 1), 0);
	assert_int_equal(pubkey_verify_sha256(ed, d, (unsigned char *)es.data,
					      es.len - 1), 0);
	assert_int_equal(pubkey_verify_sha256(ed, d, (unsigned char *)es.data,
					      0), 0);
	str_append_c(&rs, 0);
	assert_int_equal(pubkey_verify_sha256(rsa, d, (unsigned char *)rs.data,
					      rs.len), 0);
	assert_int_equal(pubkey_verify_sha256(rsa, d, (unsigned char *)rs.data,
					      rs.len - 1), 1);
	str_free(&rs);
	str_free(&es);
	pubkey_destroy(&rsa);
	pubkey_destroy(&ed);
}

static void test_bad_keys(void **state)
{
	struct str k;
	struct pubkey *key = NULL;
	const char *error;

	(void)state;
	/* too small */
	assert_null(import_b64(PUBKEY_RSA, unit_key_rsa512_spki));
	/* wrong type for the k= tag */
	assert_null(import_b64(PUBKEY_ED25519, unit_key_rsa1024_spki));
	assert_null(import_b64(PUBKEY_RSA, unit_key_ed25519_pub));
	/* Ed25519 of the wrong length */
	assert_null(import_b64(PUBKEY_ED25519, "AAAA"));
	/* every truncation of a good key fails cleanly */
	b64dec(unit_key_rsa1024_spki, &k);
	for (size_t len = 0; len < k.len; len++) {
		assert_int_equal(pubkey_import(PUBKEY_RSA,
					       (unsigned char *)k.data, len,
					       &key, &error), -1);
		assert_null(key);
	}
	/* trailing garbage */
	str_append_c(&k, 0);
	assert_int_equal(pubkey_import(PUBKEY_RSA, (unsigned char *)k.data,
				       k.len, &key, &error), -1);
	/* bit flips in the structure never crash */
	str_truncate(&k, k.len - 1);
	for (size_t i = 0; i < k.len; i++) {
		for (unsigned int bit = 0; bit < 8; bit++) {
			k.data[i] ^= (char)(1u << bit);
			if (pubkey_import(PUBKEY_RSA, (unsigned char *)k.data,
					  k.len, &key, &error) == 0)
				pubkey_destroy(&key);
			k.data[i] ^= (char)(1u << bit);
		}
	}
	str_free(&k);
	/* non-DER long forms, indefinite lengths, huge lengths */
	static const unsigned char bad1[] = { 0x30, 0x80, 0x02, 0x01, 0x01,
					      0x00, 0x00 };
	static const unsigned char bad2[] = { 0x30, 0x81, 0x03, 0x02, 0x01,
					      0x01 };
	static const unsigned char bad3[] = { 0x30, 0x84, 0xff, 0xff, 0xff,
					      0xff, 0x02 };
	static const unsigned char bad4[] = { 0x1f, 0x01, 0x00 };
	assert_int_equal(pubkey_import(PUBKEY_RSA, bad1, sizeof(bad1), &key,
				       &error), -1);
	assert_int_equal(pubkey_import(PUBKEY_RSA, bad2, sizeof(bad2), &key,
				       &error), -1);
	assert_int_equal(pubkey_import(PUBKEY_RSA, bad3, sizeof(bad3), &key,
				       &error), -1);
	assert_int_equal(pubkey_import(PUBKEY_RSA, bad4, sizeof(bad4), &key,
				       &error), -1);
	assert_int_equal(pubkey_import(PUBKEY_RSA, bad4, 0, &key, &error),
			 -1);
}

static void test_bad_pem(void **state)
{
	struct pubkey_private *key = NULL;
	const char *error = NULL;
	char *pem;
	size_t len = strlen(unit_key_ed25519_pem);

	(void)state;
	assert_int_equal(pubkey_private_load_pem("", 0, &key, &error), -1);
	assert_non_null(error);
	assert_int_equal(pubkey_private_load_pem("garbage\n", 8, &key, &error),
			 -1);
	/* every truncation */
	for (size_t i = 0; i < len; i++) {
		if (pubkey_private_load_pem(unit_key_ed25519_pem, i, &key, &error) == 0)
			pubkey_private_destroy(&key);
	}
	/* a damaged base64 body */
	pem = strdup(unit_key_rsa1024_pem);
	pem[40] = pem[40] == 'A' ? 'B' : 'A';
	if (pubkey_private_load_pem(pem, strlen(pem), &key, &error) == 0)
		pubkey_private_destroy(&key);
	free(pem);
	assert_int_equal(pubkey_private_read_file("/nonexistent/key", &key,
						  &error), -1);
	assert_null(key);
}

/* Generated keys sign, verify through the p= form, and survive a PEM
 * round trip (through a file). */
static void generate_roundtrip(enum pubkey_type type, unsigned int bits)
{
	struct pubkey_private *priv = NULL, *again = NULL;
	struct pubkey *pub = NULL;
	const char *error = NULL;
	unsigned char d[PUBKEY_SHA256_SIZE];
	struct str pem, p, sig, sig2;
	char path[] = "/tmp/test-pubkey.XXXXXX";
	int fd;

	digest(d);
	assert_int_equal(pubkey_private_generate(type, bits, &priv, &error),
			 0);
	assert_int_equal(pubkey_private_get_type(priv), type);
	if (type == PUBKEY_RSA)
		assert_int_equal(pubkey_private_bits(priv), bits);
	str_init(&pem, 4096);
	pubkey_private_pem_append(priv, &pem);
	assert_true(str_begins_with(str_c(&pem),
				    "-----BEGIN PRIVATE KEY-----\n"));
	str_init(&p, 600);
	pubkey_private_public_append(priv, &p);
	if (type == PUBKEY_ED25519)
		assert_int_equal(p.len, PUBKEY_ED25519_KEY_SIZE);
	assert_int_equal(pubkey_import(type, (unsigned char *)p.data, p.len,
				       &pub, &error), 0);
	str_init(&sig, 600);
	assert_int_equal(pubkey_private_sign_sha256(priv, d, &sig, &error), 0);
	assert_int_equal(pubkey_verify_sha256(pub, d,
		(unsigned char *)sig.data, sig.len), 1);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pem.data, pem.len), (ssize_t)pem.len);
	close(fd);
	assert_int_equal(pubkey_private_read_file(path, &again, &error), 0);
	unlink(path);
	str_init(&sig2, 600);
	assert_int_equal(pubkey_private_sign_sha256(again, d, &sig2, &error),
			 0);
	/* both are deterministic: the same key signs the same */
	assert_int_equal(sig.len, sig2.len);
	assert_memory_equal(sig.data, sig2.data, sig.len);

	str_free(&sig);
	str_free(&sig2);
	str_free(&p);
	str_free(&pem);
	pubkey_destroy(&pub);
	pubkey_private_destroy(&priv);
	pubkey_private_destroy(&again);
}

static void test_generate(void **state)
{
	struct pubkey_private *key = NULL;
	const char *error = NULL;

	(void)state;
	generate_roundtrip(PUBKEY_ED25519, 0);
	generate_roundtrip(PUBKEY_RSA, 1024);
	assert_int_equal(pubkey_private_generate(PUBKEY_RSA, 512, &key,
						 &error), -1);
	assert_int_equal(pubkey_private_generate(PUBKEY_RSA, 8192, &key,
						 &error), -1);
	assert_null(key);
	assert_string_equal(pubkey_type_name(PUBKEY_RSA), "rsa");
	assert_string_equal(pubkey_type_name(PUBKEY_ED25519), "ed25519");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_vectors),
		cmocka_unit_test(test_verify_vectors),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_bad_pem),
		cmocka_unit_test(test_generate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
