/* test-auth-passwd.c: unit tests for authlib/passwd (password schemes and
 * CRAM), against hashes made by other tools.
 *
 * The vectors hash "pass word1" and were made with:
 *   openssl passwd -1 -salt abcdefgh 'pass word1'          ($1$)
 *   openssl passwd -5 -salt saltsalt 'pass word1'          ($5$)
 *   openssl passwd -6 -salt saltsalt 'pass word1'          ($6$)
 *   mkpasswd -m bcrypt / bcrypt-a / yescrypt / scrypt / descrypt
 *                                          (whois 5.5.17, Debian 12)
 *   python3 crypt.crypt('pass word1', '$2y$05$abcdefghijklmnopqrstuu')
 *   python3 hashlib + base64 for {MD5} {MD5RAW} {SHA} {SHA256} {SHA512}
 *     and, with salt b"\x01\x02salt\xff", {SSHA} {SSHA256} {SSHA512}
 *   python3 hmac.new(key, challenge, alg).hexdigest() for CRAM.
 * and the slappasswd ones (OpenLDAP 2.5.13, Debian 12) with:
 *   slappasswd -h {SSHA} -s 'pass word1'    (also {SHA} {MD5} {SMD5})
 *   slappasswd -h {CRYPT} -c '$6$%.16s' -s 'pass word1'  (also $5$, $1$)
 *   slappasswd -o module-path=/usr/lib/ldap -o module-load=pw-sha2
 *     -h {SSHA256} -s 'pass word1'          (also {SHA256} {SHA512} {SSHA512})
 * tests/integration/test_authlib_passwd.py makes fresh ones with
 * slappasswd at run time and checks them through authdaemond. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include "hash.h"
#include "passwd.h"
#include "str.h"

#define PW "pass word1"

static const char *const good[] = {
	"$1$abcdefgh$FThRCyXo7H6rTKw0shKkI0",
	"$5$saltsalt$fcF5JdUHaIWONF9xHVHBOkncXQMR1hUIb/vGsKdbIzB",
	"$6$saltsalt$lmCclbWD7xzsQy3S43xpDR1ENAuNqWoHncz0efdFKB9JuOZQW1Tpjjh."
	"sZ4UBjHOszQGRDPvCB8Yl.nRs5Sd20",
	"$2b$05$wccRhlC1ZXqgv6vfvdW4W.4tE3nSGHRndFcGiCEEMVlD4/Z3gFfcS",
	"$2a$05$gVutlXH/ksIEFmRzgaF1VOH1OdwCL42fJ38PdAZALX4Jqaw7EMGtu",
	"$2y$05$abcdefghijklmnopqrstuunIEGbdlvm1Q1QpvWRoJXZt2cJRcKGau",
	"$y$j9T$ufImACGr6/"
	"Ve3X4jqBcj6.$EqHbiTJdNy.f3zMlcm1dy7ApvLbf2jpyoE0UiOAQVA0",
	"$7$CU..../....jhlwlLtG3R2w2FQjpNHSY.$GDNlf0XlGJd5Hn..MCaMbyqLQBKR5Ven/"
	"awG/txej9/",
	"{CRYPT}$6$saltsalt$lmCclbWD7xzsQy3S43xpDR1ENAuNqWoHncz0efdFKB9JuOZQW1"
	"Tpjjh.sZ4UBjHOszQGRDPvCB8Yl.nRs5Sd20",
	"{crypt}$1$abcdefgh$FThRCyXo7H6rTKw0shKkI0",
	"{MD5}3H8jVKeujnkUSGFVqSd3ag==",
	"{MD5RAW}dc7f2354a7ae8e7914486155a927776a",
	"{SHA}nKLZl0rE9i9P+4LqY675c0Wfxis=",
	"{SHA256}ed4mq4Z78ldoArH6jHGWv/wQ5X2N+p8MYhgygaAjduw=",
	"{SHA512}nBJcvlLwgklpHctzLb4ZJcjoEuVtU/hOiLVQWeTdQ6XB0dzGmih0P7wazp9q"
	"GyDZLltG2mlrvi6zfLZlTw0ImA==",
	"{SSHA}8lpDxobI85XdB9Owux+NMWwWQwkBAnNhbHT/",
	"{ssha}8lpDxobI85XdB9Owux+NMWwWQwkBAnNhbHT/",
	"{SSHA256}YrwvpS1SfrsnPHZH7UcEiub80cOhwIPjegUNhJoER2oBAnNhbHT/",
	"{SSHA512}EAXEoJWLVwM4n7dZdOnrYr8xp6Q+L6GcVCR4h871J0zgNkR8BD0WObwroxHH"
	"ptQxgIT2XH7VbMkIj6ggvltb3gECc2FsdP8=",
	"{PLAIN}" PW,
	"{CLEARTEXT}" PW,
	/* slappasswd */
	"{SSHA}GGlcv+NtG7NLSLX3vp4+zkAsqt5YMbKk",
	"{SHA}nKLZl0rE9i9P+4LqY675c0Wfxis=",
	"{MD5}3H8jVKeujnkUSGFVqSd3ag==",
	"{SMD5}gDSO09xxSAyj53FngU3DcipKyQo=",
	"{smd5}gDSO09xxSAyj53FngU3DcipKyQo=",
	"{CRYPT}$6$1Ze5pF/R.G7CQygx$jLIBLG/oElvvQQ2uhXsHfr2yk/dLN1iYSkP5CO68g3"
	"pgS1BZ4x68FvXK6FrIYks6ARbrBoy9PeE9tS3Kx2kZk0",
	"{CRYPT}$5$Do6MNuyCwYCi4sot$0PtzG1WRMNHKBaCsVh2aCuOZnJjucEOvjOV/dzC1gcA",
	"{CRYPT}$1$QimEZmLB$YZXeEARi3Ag9mp2BeX.Q8.",
	"{SHA256}ed4mq4Z78ldoArH6jHGWv/wQ5X2N+p8MYhgygaAjduw=",
	"{SSHA256}jiRt6nr6L3kCcu2MklZAaICYbpaDLluXRfexBAQsaL5cQN3UMj8XBA==",
	"{SHA512}nBJcvlLwgklpHctzLb4ZJcjoEuVtU/hOiLVQWeTdQ6XB0dzGmih0P7wazp9q"
	"GyDZLltG2mlrvi6zfLZlTw0ImA==",
	"{SSHA512}y4ETO7p1flCT2fGCnH5v4fee9QY/I0NOvj7KYv8fs/jRjdWYMGL5PJz9w75x"
	"1cXxMb1y0OLJIr7ZBFAgIKyhR4UJbSV/ANTg",
};

static void test_verify_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		print_message("%s\n", good[i]);
		assert_int_equal(passwd_verify(PW, good[i]), 1);
		assert_int_equal(passwd_verify("pass word2", good[i]), 0);
		assert_int_equal(passwd_verify("", good[i]), 0);
		assert_int_equal(passwd_verify("pass word", good[i]), 0);
	}
}

/* Traditional DES crypt reads 8 characters only, so it gets its own test
 * (mkpasswd -m descrypt). */
static void test_verify_des(void **state)
{
	(void)state;
	assert_int_equal(passwd_verify(PW, "82nGNZCTgaxQA"), 1);
	assert_int_equal(passwd_verify("other", "82nGNZCTgaxQA"), 0);
}

static void test_verify_malformed(void **state)
{
	static const char *const bad[] = {
		"", "{", "{SHA", "{UNKNOWN}abc", "{SHA}", "{SHA}!!!!",
		"{SHA}nKLZl0rE9i9P+4LqY675c0Wfxis",	   /* bad padding */
		"{SHA}3H8jVKeujnkUSGFVqSd3ag==",	   /* MD5 length */
		"{SSHA}nKLZl0rE9i9P+4LqY675c0Wfxis=",	   /* no salt */
		"{SMD5}3H8jVKeujnkUSGFVqSd3ag==",	   /* no salt */
		"{SMD5}gDSO09xxSAyj53FngU3DcipKyQo",	   /* bad padding */
		"{SMD5}", "{SMD5}!!!!",
		"{MD5RAW}dc7f2354a7ae8e7914486155a927776", /* odd length */
		"{MD5RAW}zz7f2354a7ae8e7914486155a927776a", "{CRYPT}", "$6$",
		"$9$nonsense", "*", "!", "*LK*",
		"$1$abcdefgh$FThRCyXo7H6rTKw0shKk", /* truncated */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_not_equal(passwd_verify(PW, bad[i]), 1);
	}
	assert_int_equal(passwd_verify(PW, NULL), -1);
	assert_int_equal(passwd_verify(NULL, "{PLAIN}x"), -1);
}

static void test_hash_roundtrip(void **state)
{
	static const enum passwd_scheme schemes[] = {
		PASSWD_SCHEME_DEFAULT,
		PASSWD_SCHEME_YESCRYPT,
		PASSWD_SCHEME_SHA512_CRYPT,
		PASSWD_SCHEME_SHA256_CRYPT,
		PASSWD_SCHEME_BCRYPT,
		PASSWD_SCHEME_MD5_CRYPT,
		PASSWD_SCHEME_SSHA512,
		PASSWD_SCHEME_SSHA256,
		PASSWD_SCHEME_SSHA,
		PASSWD_SCHEME_SHA512,
		PASSWD_SCHEME_SHA256,
		PASSWD_SCHEME_SHA,
		PASSWD_SCHEME_MD5,
		PASSWD_SCHEME_PLAIN,
	};
	(void)state;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		struct str a, b;
		const char *error;
		str_init(&a, 64);
		str_init(&b, 64);
		assert_int_equal(passwd_hash(PW, schemes[i], &a, &error), 0);
		assert_int_equal(passwd_hash(PW, schemes[i], &b, &error), 0);
		print_message("%s\n", str_c(&a));
		assert_int_equal(passwd_verify(PW, str_c(&a)), 1);
		assert_int_equal(passwd_verify("other", str_c(&a)), 0);
		/* salted schemes get a fresh salt each time */
		if (schemes[i] != PASSWD_SCHEME_SHA512 &&
			schemes[i] != PASSWD_SCHEME_SHA256 &&
			schemes[i] != PASSWD_SCHEME_SHA &&
			schemes[i] != PASSWD_SCHEME_MD5 &&
			schemes[i] != PASSWD_SCHEME_PLAIN)
			assert_string_not_equal(str_c(&a), str_c(&b));
		if (schemes[i] != PASSWD_SCHEME_DEFAULT)
			assert_int_equal(
				passwd_scheme_of(str_c(&a)), schemes[i]);
		str_free(&a);
		str_free(&b);
	}
	/* The default is the strongest: yescrypt with Debian's libxcrypt. */
	assert_int_equal(passwd_default_scheme(), PASSWD_SCHEME_YESCRYPT);
}

static void test_scheme_names(void **state)
{
	enum passwd_scheme s;
	(void)state;
	assert_int_equal(passwd_scheme_from_name("SSHA512", &s), 0);
	assert_int_equal(s, PASSWD_SCHEME_SSHA512);
	assert_int_equal(passwd_scheme_from_name("md5-crypt", &s), 0);
	assert_int_equal(s, PASSWD_SCHEME_MD5_CRYPT);
	assert_int_equal(passwd_scheme_from_name("rot13", &s), -1);
	assert_int_equal(
		passwd_scheme_of("{CRYPT}$6$x$y"), PASSWD_SCHEME_SHA512_CRYPT);
	assert_int_equal(passwd_scheme_of("{SSHA}abc"), PASSWD_SCHEME_SSHA);
	assert_int_equal(
		passwd_scheme_of("{MD5RAW}abc"), PASSWD_SCHEME_DEFAULT);
	/* {SMD5} is verified, never made: a change gets the default. */
	assert_int_equal(passwd_scheme_of("{SMD5}gDSO09xxSAyj53FngU3DcipKyQo="),
		PASSWD_SCHEME_DEFAULT);
}

static void test_cram(void **state)
{
	/* RFC 2195's example. */
	const char *chal = "<1896.697170952@postoffice.reston.mci.net>";
	const char *digest = "b913a602c7eda7a495b4e6e7334d3890";
	const char *chal2 = "<123.456@host>";
	struct str hmac;
	(void)state;

	assert_int_equal(passwd_cram_verify("cram-md5", chal, strlen(chal),
				 digest, "tanstaaftanstaaf", NULL),
		1);
	assert_int_equal(passwd_cram_verify("CRAM-MD5", chal, strlen(chal),
				 "B913A602C7EDA7A495B4E6E7334D3890",
				 "tanstaaftanstaaf", NULL),
		1);
	assert_int_equal(passwd_cram_verify("cram-md5", chal, strlen(chal),
				 digest, "tanstaaftanstaaX", NULL),
		0);
	/* Courier's hmac-md5pw (userdbpw -hmac-md5) instead of the clear
	 * password. */
	str_init(&hmac, 80);
	hmac_md5_precompute_hex(&hmac, "tanstaaftanstaaf", 16);
	assert_int_equal(passwd_cram_verify("cram-md5", chal, strlen(chal),
				 digest, NULL, str_c(&hmac)),
		1);
	assert_int_equal(passwd_cram_verify("cram-md5", chal2, strlen(chal2),
				 digest, NULL, str_c(&hmac)),
		0);
	str_free(&hmac);
	assert_int_equal(passwd_cram_verify("cram-md5", chal, strlen(chal),
				 digest, NULL, "nothex"),
		0);
	assert_int_equal(passwd_cram_verify("cram-md5", chal, strlen(chal),
				 digest, NULL, NULL),
		0);
	assert_int_equal(
		passwd_cram_verify("cram-sha1", chal2, strlen(chal2),
			"9edc6b364a88c2bf2bd51fceaaa8d0bcc6392912", PW, NULL),
		1);
	assert_int_equal(passwd_cram_verify("cram-sha256", chal2, strlen(chal2),
				 "b59322b4f129eeb6e417d8fac04b307c85095f9f743b"
				 "650609f2ef39cb7e721e",
				 PW, NULL),
		1);
	assert_int_equal(passwd_cram_verify("cram-sha256", chal2, strlen(chal2),
				 digest, PW, NULL),
		0);
	assert_int_equal(passwd_cram_verify("cram-md4", chal, strlen(chal),
				 digest, PW, NULL),
		-1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_vectors),
		cmocka_unit_test(test_verify_des),
		cmocka_unit_test(test_verify_malformed),
		cmocka_unit_test(test_hash_roundtrip),
		cmocka_unit_test(test_scheme_names),
		cmocka_unit_test(test_cram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
