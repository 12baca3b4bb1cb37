/* test-hash.c: unit tests for lib/hash (digests, HMAC, HMAC-MD5 states). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "hash.h"
#include "str.h"
#include "mem.h"

struct vector {
	enum hash_algo algo;
	const char *data;	/* NULL: one million 'a' */
	const char *hex;
};

/* RFC 1321 appendix A.5, FIPS 180-2 appendices / RFC 6234 section 8.5. */
static const struct vector digest_vectors[] = {
	{ HASH_MD5, "", "d41d8cd98f00b204e9800998ecf8427e" },
	{ HASH_MD5, "a", "0cc175b9c0f1b6a831c399e269772661" },
	{ HASH_MD5, "abc", "900150983cd24fb0d6963f7d28e17f72" },
	{ HASH_MD5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
	{ HASH_MD5, "abcdefghijklmnopqrstuvwxyz",
	  "c3fcd3d76192e4007dfb496cca67e13b" },
	{ HASH_MD5,
	  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	  "d174ab98d277d9f5a5611c2c9f419d9f" },
	{ HASH_MD5,
	  "1234567890123456789012345678901234567890"
	  "1234567890123456789012345678901234567890",
	  "57edf4a22be3c955ac49da2e2107b67a" },
	{ HASH_MD5, NULL, "7707d6ae4e027c70eea2a935c2296f21" },
	{ HASH_SHA1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
	{ HASH_SHA1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ HASH_SHA1, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
	{ HASH_SHA1, NULL, "34aa973cd4c4daa4f61eeb2bdbad27316534016f" },
	{ HASH_SHA256, "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ HASH_SHA256, "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ HASH_SHA256,
	  "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ HASH_SHA256, NULL,
	  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	{ HASH_SHA512, "",
	  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e" },
	{ HASH_SHA512, "abc",
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
	{ HASH_SHA512,
	  "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
	  "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909" },
	{ HASH_SHA512, NULL,
	  "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
	  "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b" },
};

static void assert_hex(const unsigned char *digest, size_t len,
		       const char *hex)
{
	struct str *s = str_new(16);

	hash_hex_append(s, digest, len);
	assert_string_equal(str_c(s), hex);
	str_destroy(&s);
}

static void test_digest_vectors(void **state)
{
	char *million = xmalloc(1000000);

	memset(million, 'a', 1000000);
	for (size_t i = 0; i < N_ELEMENTS(digest_vectors); i++) {
		const struct vector *v = &digest_vectors[i];
		const char *data = v->data != NULL ? v->data : million;
		size_t len = v->data != NULL ? strlen(v->data) : 1000000;
		size_t dlen = hash_digest_size(v->algo);
		unsigned char d1[HASH_MAX_DIGEST_SIZE], d2[HASH_MAX_DIGEST_SIZE];
		struct hash_ctx *ctx;

		assert_int_equal(strlen(v->hex), dlen * 2);
		hash_digest(v->algo, data, len, d1);
		assert_hex(d1, dlen, v->hex);

		/* Incremental, in uneven pieces, twice (final resets). */
		ctx = hash_create(v->algo);
		for (int round = 0; round < 2; round++) {
			size_t off = 0, step = 1;

			while (off < len) {
				size_t n = len - off < step ? len - off : step;

				hash_update(ctx, data + off, n);
				off += n;
				step = step * 3 + 1;
			}
			memset(d2, 0, sizeof(d2));
			hash_final(ctx, d2);
			assert_memory_equal(d1, d2, dlen);
		}
		hash_destroy(&ctx);
		assert_null(ctx);
	}
	{
		struct hash_ctx *none = NULL;

		hash_destroy(&none);
	}
	free(million);
}

static void test_digest_split_every_byte(void **state)
{
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmn"
			  "lmnomnopnopq0123456789012345678901234567890123";
	size_t len = strlen(msg);

	for (unsigned int a = 0; a < HASH_ALGO_COUNT; a++) {
		unsigned char whole[HASH_MAX_DIGEST_SIZE];
		unsigned char part[HASH_MAX_DIGEST_SIZE];

		hash_digest(a, msg, len, whole);
		for (size_t cut = 0; cut <= len; cut++) {
			struct hash_ctx *ctx = hash_create(a);

			hash_update(ctx, msg, cut);
			hash_update(ctx, msg + cut, len - cut);
			hash_final(ctx, part);
			assert_memory_equal(whole, part, hash_digest_size(a));
			hash_destroy(&ctx);
		}
	}
}

struct hmac_vector {
	enum hash_algo algo;
	unsigned char key_byte;	/* key is key_len times this byte... */
	size_t key_len;
	const char *key;	/* ...unless this is set */
	const char *data;
	unsigned char data_byte;
	size_t data_len;	/* data is data_len times data_byte if !data */
	const char *hex;
};

#define LONGKEY_TEXT "Test Using Larger Than Block-Size Key - Hash Key First"

/* RFC 2202 (MD5, SHA-1) and RFC 4231 (SHA-256, SHA-512). */
static const struct hmac_vector hmac_vectors[] = {
	{ HASH_MD5, 0x0b, 16, NULL, "Hi There", 0, 0,
	  "9294727a3638bb1c13f48ef8158bfc9d" },
	{ HASH_MD5, 0, 0, "Jefe", "what do ya want for nothing?", 0, 0,
	  "750c783e6ab0b503eaa86e310a5db738" },
	{ HASH_MD5, 0xaa, 16, NULL, NULL, 0xdd, 50,
	  "56be34521d144c88dbb8c733f0e8b3f6" },
	{ HASH_MD5, 0xaa, 80, NULL, LONGKEY_TEXT, 0, 0,
	  "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd" },
	{ HASH_SHA1, 0x0b, 20, NULL, "Hi There", 0, 0,
	  "b617318655057264e28bc0b6fb378c8ef146be00" },
	{ HASH_SHA1, 0, 0, "Jefe", "what do ya want for nothing?", 0, 0,
	  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
	{ HASH_SHA1, 0xaa, 20, NULL, NULL, 0xdd, 50,
	  "125d7342b9ac11cd91a39af48aa17b4f63f175d3" },
	{ HASH_SHA1, 0xaa, 80, NULL, LONGKEY_TEXT, 0, 0,
	  "aa4ae5e15272d00e95705637ce8a3b55ed402112" },
	{ HASH_SHA256, 0x0b, 20, NULL, "Hi There", 0, 0,
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ HASH_SHA256, 0, 0, "Jefe", "what do ya want for nothing?", 0, 0,
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ HASH_SHA256, 0xaa, 20, NULL, NULL, 0xdd, 50,
	  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	{ HASH_SHA256, 0xaa, 131, NULL, LONGKEY_TEXT, 0, 0,
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	{ HASH_SHA256, 0xaa, 131, NULL,
	  "This is a test using a larger than block-size key and a larger "
	  "than block-size data. The key needs to be hashed before being "
	  "used by the HMAC algorithm.", 0, 0,
	  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	{ HASH_SHA512, 0x0b, 20, NULL, "Hi There", 0, 0,
	  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
	  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
	{ HASH_SHA512, 0, 0, "Jefe", "what do ya want for nothing?", 0, 0,
	  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
	  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
	{ HASH_SHA512, 0xaa, 20, NULL, NULL, 0xdd, 50,
	  "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
	  "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb" },
	{ HASH_SHA512, 0xaa, 131, NULL, LONGKEY_TEXT, 0, 0,
	  "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
	  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" },
	/* Empty key and message (checked against Python's hmac module). */
	{ HASH_MD5, 0, 0, "", "", 0, 0, "74e6f7298a9c2d168935f58c001bad88" },
	{ HASH_SHA1, 0, 0, "", "", 0, 0,
	  "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d" },
	{ HASH_SHA256, 0, 0, "", "", 0, 0,
	  "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad" },
	{ HASH_SHA512, 0, 0, "", "", 0, 0,
	  "b936cee86c9f87aa5d3c6f2e84cb5a4239a5fe50480a6ec66b70ab5b1f4ac673"
	  "0c6c515421b327ec1d69402e53dfb49ad7381eb067b338fd7b0cb22247225d47" },
};

static void test_hmac_vectors(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(hmac_vectors); i++) {
		const struct hmac_vector *v = &hmac_vectors[i];
		unsigned char key[256], data[256];
		size_t key_len, data_len, dlen = hash_digest_size(v->algo);
		unsigned char d1[HASH_MAX_DIGEST_SIZE], d2[HASH_MAX_DIGEST_SIZE];
		struct hmac_ctx *ctx;

		if (v->key != NULL) {
			key_len = strlen(v->key);
			memcpy(key, v->key, key_len);
		} else {
			key_len = v->key_len;
			memset(key, v->key_byte, key_len);
		}
		if (v->data != NULL) {
			data_len = strlen(v->data);
			memcpy(data, v->data, data_len);
		} else {
			data_len = v->data_len;
			memset(data, v->data_byte, data_len);
		}
		hmac_digest(v->algo, key, key_len, data, data_len, d1);
		assert_hex(d1, dlen, v->hex);

		ctx = hmac_create(v->algo, key, key_len);
		for (int round = 0; round < 2; round++) {
			for (size_t off = 0; off < data_len; off += 7)
				hmac_update(ctx, data + off,
					    data_len - off < 7 ? data_len - off
							       : 7);
			memset(d2, 0, sizeof(d2));
			hmac_final(ctx, d2);
			assert_memory_equal(d1, d2, dlen);
		}
		hmac_destroy(&ctx);
		assert_null(ctx);

		if (v->algo == HASH_MD5) {
			unsigned char st[HMAC_MD5_STATE_SIZE];

			hmac_md5_precompute(key, key_len, st);
			hmac_md5_from_state(st, data, data_len, d2);
			assert_memory_equal(d1, d2, dlen);
		}
	}
}

static void test_names(void **state)
{
	enum hash_algo a;

	assert_int_equal(hash_algo_from_name("MD5", &a), 0);
	assert_int_equal(a, HASH_MD5);
	assert_int_equal(hash_algo_from_name("sha-1", &a), 0);
	assert_int_equal(a, HASH_SHA1);
	assert_int_equal(hash_algo_from_name("SHA256", &a), 0);
	assert_int_equal(a, HASH_SHA256);
	assert_int_equal(hash_algo_from_name("sha-512", &a), 0);
	assert_int_equal(a, HASH_SHA512);
	assert_int_equal(hash_algo_from_name("sha384", &a), -1);
	assert_int_equal(hash_algo_from_name("", &a), -1);
	assert_string_equal(hash_algo_name(HASH_SHA1), "sha1");
	assert_int_equal(hash_digest_size(HASH_SHA256), 32);
	assert_int_equal(hash_block_size(HASH_SHA512), 128);
	assert_int_equal(hash_block_size(HASH_MD5), 64);
}

static void test_hex_base64(void **state)
{
	unsigned char out[4];
	struct str *s = str_new(4);

	assert_int_equal(hash_hex_decode("00ff7Fa0", 8, out, 4), 0);
	assert_memory_equal(out, "\x00\xff\x7f\xa0", 4);
	assert_int_equal(hash_hex_decode("00ff7Fa", 7, out, 4), -1);
	assert_int_equal(hash_hex_decode("00ff7Fa0aa", 10, out, 4), -1);
	assert_int_equal(hash_hex_decode("00ff7Fg0", 8, out, 4), -1);
	assert_int_equal(hash_hex_decode("00 f7Fa0", 8, out, 4), -1);
	assert_int_equal(hash_hex_decode("", 0, out, 0), 0);

	hash_hex_append(s, (const unsigned char *)"\x01\xab", 2);
	assert_string_equal(str_c(s), "01ab");
	str_clear(s);
	/* {MD5} of "password" as authlib stores it: base64 of the digest. */
	unsigned char d[HASH_MD5_DIGEST_SIZE];

	hash_digest(HASH_MD5, "password", 8, d);
	hash_base64_append(s, d, sizeof(d));
	assert_string_equal(str_c(s), "X03MO1qnZdYdgyfeuILPmQ==");
	str_destroy(&s);
}

/* The precomputed-state HMAC must equal the library's HMAC-MD5 for every
 * key length around the block size and every message length around the
 * padding boundaries: this exercises our own MD5 against the backend. */
static void test_hmac_md5_state_matches(void **state)
{
	unsigned char key[140], msg[200];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 13 + 1);
	for (size_t kl = 0; kl <= sizeof(key); kl += (kl < 70 ? 1 : 23)) {
		unsigned char st[HMAC_MD5_STATE_SIZE];

		hmac_md5_precompute(key, kl, st);
		for (size_t ml = 0; ml <= sizeof(msg); ml++) {
			unsigned char a[16], b[16];

			hmac_digest(HASH_MD5, key, kl, msg, ml, a);
			hmac_md5_from_state(st, msg, ml, b);
			assert_memory_equal(a, b, 16);
		}
	}
}

/* Courier's hmac-md5pw text: outer then inner MD5 state, 64 hex digits. */
static void test_hmac_md5_hex_format(void **state)
{
	static const char challenge[] =
		"<1896.697170952@postoffice.reston.mci.net>";
	struct str *s = str_new(64);
	unsigned char st[HMAC_MD5_STATE_SIZE], st2[HMAC_MD5_STATE_SIZE];
	unsigned char d[16];

	hmac_md5_precompute_hex(s, "tanstaaftanstaaf", 16);
	assert_int_equal(str_len(s), HMAC_MD5_STATE_HEX_LEN);
	for (size_t i = 0; i < str_len(s); i++)
		assert_non_null(strchr("0123456789abcdef", str_c(s)[i]));
	assert_int_equal(hmac_md5_state_from_hex(str_c(s), str_len(s), st), 0);
	hmac_md5_precompute("tanstaaftanstaaf", 16, st2);
	assert_memory_equal(st, st2, sizeof(st));
	/* RFC 2195's example digest through the stored states. */
	hmac_md5_from_state(st, challenge, strlen(challenge), d);
	assert_hex(d, 16, "b913a602c7eda7a495b4e6e7334d3890");

	/* Malformed stored values. */
	str_clear(s);
	hmac_md5_precompute_hex(s, "x", 1);
	assert_int_equal(hmac_md5_state_from_hex(str_c(s), 63, st), -1);
	assert_int_equal(hmac_md5_state_from_hex(str_c(s), 65, st), -1);
	s->data[10] = 'z';
	assert_int_equal(hmac_md5_state_from_hex(str_c(s), 64, st), -1);
	str_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_vectors),
		cmocka_unit_test(test_digest_split_every_byte),
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hex_base64),
		cmocka_unit_test(test_hmac_md5_state_matches),
		cmocka_unit_test(test_hmac_md5_hex_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
