/* test-charset.c: unit tests for charset conversion to UTF-8. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mem.h"
#include "str.h"
#include "charset.h"

static void test_convert(void **state)
{
	struct str s;

	str_init(&s, 64);
	assert_int_equal(charset_to_utf8("ISO-8859-1", "caf\xe9", 4, &s),
			 CHARSET_RESULT_OK);
	assert_string_equal(str_c(&s), "caf\xc3\xa9");
	str_clear(&s);
	assert_int_equal(charset_to_utf8("utf-8", "ok\xff", 3, &s),
			 CHARSET_RESULT_INVALID);
	assert_string_equal(str_c(&s), "ok\xef\xbf\xbd");
	str_clear(&s);
	assert_int_equal(charset_to_utf8("x-no-such", "a\xe9", 2, &s),
			 CHARSET_RESULT_UNKNOWN);
	assert_string_equal(str_c(&s), "a\xef\xbf\xbd");
	str_clear(&s);
	/* Shift_JIS with an invalid byte in the middle. */
	assert_int_equal(charset_to_utf8("shift_jis", "\x93\xfa\xff\x96\x7b", 5, &s),
			 CHARSET_RESULT_INVALID);
	assert_string_equal(str_c(&s), "\xe6\x97\xa5\xef\xbf\xbd\xe6\x9c\xac");
	str_free(&s);
	assert_true(charset_is_utf8("US-ASCII"));
	assert_false(charset_is_utf8("latin1"));
	assert_false(charset_utf8_is_valid("\xc0\xaf", 2));	/* overlong */
	assert_false(charset_utf8_is_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_true(charset_utf8_is_valid("\xf0\x9f\x98\x80", 4));
}

static void test_streaming_splits(void **state)
{
	const char *in[] = { "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e x", "\x93\xfa\x96\x7b x" };
	const char *cs[] = { "utf-8", "SHIFT_JIS" };

	for (int k = 0; k < 2; k++) {
		size_t len = strlen(in[k]);

		for (size_t split = 0; split <= len; split++) {
			const char *err;
			struct charset_translation *t =
				charset_translation_create(cs[k], &err);
			struct str a, b;

			str_init(&a, 32);
			str_init(&b, 32);
			charset_to_utf8(cs[k], in[k], len, &a);
			for (size_t i = 0; i < split; i++)
				charset_translation_feed(t, in[k] + i, 1, &b);
			charset_translation_feed(t, in[k] + split, len - split, &b);
			assert_true(charset_translation_finish(t, &b));
			assert_string_equal(str_c(&a), str_c(&b));
			charset_translation_destroy(&t);
			assert_null(t);
			str_free(&a);
			str_free(&b);
		}
	}
	/* A truncated sequence at the end is replaced. */
	const char *err;
	struct charset_translation *t = charset_translation_create("utf-8", &err);
	struct str s;
	str_init(&s, 16);
	charset_translation_feed(t, "a\xe6\x97", 3, &s);
	assert_false(charset_translation_finish(t, &s));
	assert_string_equal(str_c(&s), "a\xef\xbf\xbd");
	charset_translation_destroy(&t);
	str_free(&s);
	assert_null(charset_translation_create("x-unknown", &err));
	assert_non_null(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_streaming_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
