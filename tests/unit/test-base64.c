/* test-base64.c: unit tests for lib/base64: RFC 4648 test vectors, the
 * strict decoder, and the streaming decoder's two padding modes on
 * padded, concatenated and malformed input split anywhere. */
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

/* One decoder of the given mode over in split at cut; its output. */
static struct str *decode_split(enum base64_padding padding, const char *in,
				size_t len, size_t cut, bool *error_r)
{
	struct base64_decoder dec;
	struct str *d = str_new(16);

	base64_decoder_init_padding(&dec, padding);
	base64_decoder_feed(&dec, in, cut, d);
	base64_decoder_feed(&dec, in + cut, len - cut, d);
	*error_r = dec.had_error;
	return d;
}

/* The two padding modes on padded, concatenated and malformed input, at
 * every split. */
static void test_padding_modes(void **state)
{
	static const struct {
		const char *in;
		const char *stop, *groups;
		size_t groups_len;
		bool stop_error, groups_error;
	} cases[] = {
		{ "YQ==Yg==\n", "a", "ab", 2, false, false },
		{ "YWI=YWI=", "ab", "abab", 4, false, false },
		{ "YWJj====YWJj", "abc", "abc\x8e"
					  "abc",
		  7, false, true },
		{ "Y=WJj", "", "f5\x89", 3, false, true },
		{ "=YWJj", "", "\x8d\x85\x89", 3, false, true },
		{ "YQ=YWJj", "a", "a\xd8X\x98", 4, false, true },
		{ "YW*Jj", "abc", "abc", 3, true, true },
		{ "YWJ", "ab", "ab", 2, false, false },
		{ "Y", "", "", 0, false, false },
		{ "====", "", "\x8e", 1, false, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);

		for (size_t cut = 0; cut <= len; cut++) {
			bool err;
			struct str *d = decode_split(BASE64_PAD_STOP,
						     cases[i].in, len, cut,
						     &err);

			assert_string_equal(str_c(d), cases[i].stop);
			assert_int_equal(err, cases[i].stop_error);
			str_destroy(&d);
			d = decode_split(BASE64_PAD_GROUPS, cases[i].in, len,
					 cut, &err);
			assert_int_equal(str_len(d), cases[i].groups_len);
			assert_memory_equal(str_c(d), cases[i].groups,
					    cases[i].groups_len);
			assert_int_equal(err, cases[i].groups_error);
			str_destroy(&d);
		}
	}
}

/* Random bytes, mostly of the alphabet, with "=" and garbage: both modes
 * give the same bytes up to the first "=", the stop mode nothing more,
 * and no more than 3 bytes for 4 of input; splits change nothing. */
static void test_modes_agree_before_padding(void **state)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/==\r\n *\x80";
	unsigned int seed = 1;

	(void)state;
	for (int round = 0; round < 500; round++) {
		char in[40];
		size_t len = (size_t)(round % 40), before = len;
		struct str *whole, *stop, *groups;
		bool err;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		for (size_t i = 0; i < len; i++) {
			if (in[i] == '=') {
				before = i;
				break;
			}
		}
		stop = decode_split(BASE64_PAD_STOP, in, len, len, &err);
		whole = decode_split(BASE64_PAD_GROUPS, in, before, before,
				     &err);
		assert_int_equal(str_len(stop), str_len(whole));
		assert_memory_equal(str_c(stop), str_c(whole), str_len(stop));
		groups = decode_split(BASE64_PAD_GROUPS, in, len, len, &err);
		assert_true(str_len(groups) >= str_len(stop));
		assert_memory_equal(str_c(groups), str_c(stop), str_len(stop));
		assert_true(str_len(groups) * 4 <= len * 3 + 3);
		for (size_t cut = 0; cut <= len; cut++) {
			bool err2;
			struct str *d = decode_split(BASE64_PAD_GROUPS, in,
						     len, cut, &err2);

			assert_int_equal(str_len(d), str_len(groups));
			assert_memory_equal(str_c(d), str_c(groups),
					    str_len(d));
			assert_int_equal(err2, err);
			str_destroy(&d);
		}
		str_destroy(&stop);
		str_destroy(&whole);
		str_destroy(&groups);
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
		cmocka_unit_test(test_padding_modes),
		cmocka_unit_test(test_modes_agree_before_padding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
