/* test-base64.c: unit tests for lib/base64 (RFC 4648 test vectors). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "base64.h"

/* RFC 4648 section 10. */
static const char *const vectors[][2] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void test_rfc4648_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct str *e = str_new(16), *d = str_new(16);

		base64_encode(e, vectors[i][0], strlen(vectors[i][0]), 0);
		assert_string_equal(str_c(e), vectors[i][1]);
		assert_int_equal(base64_decode_strict(d, str_c(e), str_len(e)), 0);
		assert_string_equal(str_c(d), vectors[i][0]);
		str_destroy(&e);
		str_destroy(&d);
	}
}

static void test_strict_rejects(void **state)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "Zm9v!", "Zg==Zg==", "=Zg=", "Zh==",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct str *d = str_new(16);

		assert_int_equal(base64_decode_strict(d, bad[i], strlen(bad[i])), -1);
		str_destroy(&d);
	}
}

static void test_strict_respects_limit(void **state)
{
	struct str *d = str_new(16);

	str_set_limit(d, 4);
	assert_int_equal(base64_decode_strict(d, "Zm9vYmFy", 8), -1);
	assert_true(str_len(d) <= 4);
	str_destroy(&d);
}

static void test_line_breaks(void **state)
{
	unsigned char data[100];
	struct str *e = str_new(16);

	memset(data, 0xff, sizeof(data));
	base64_encode(e, data, sizeof(data), 76);
	assert_non_null(strstr(str_c(e), "\r\n"));
	assert_int_equal(strcspn(str_c(e), "\r"), 76);
	str_destroy(&e);
}

static void test_streaming_any_split(void **state)
{
	const char *enc = "Zm9v\r\nYm Fy\n!!Zm9v==ignored";

	/* Feeding the input split at every point gives the same output. */
	for (size_t cut = 0; cut <= strlen(enc); cut++) {
		struct base64_decoder dec;
		struct str *d = str_new(4);

		base64_decoder_init(&dec);
		base64_decoder_feed(&dec, enc, cut, d);
		base64_decoder_feed(&dec, enc + cut, strlen(enc) - cut, d);
		assert_string_equal(str_c(d), "foobarfoo");
		assert_true(dec.had_error);
		str_destroy(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_strict_rejects),
		cmocka_unit_test(test_strict_respects_limit),
		cmocka_unit_test(test_line_breaks),
		cmocka_unit_test(test_streaming_any_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
