/* test-charset.c: unit tests for charset conversion to UTF-8. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include <iconv.h>
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

/* What iconv itself makes of src in charset (every byte valid). */
static void iconv_ref(const char *charset, const char *src, size_t len,
		      struct str *dest)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	char out[2048], *in = (char *)src, *o = out;
	size_t inleft = len, outleft = sizeof(out);

	assert_true(cd != (iconv_t)-1);
	assert_true(iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1);
	assert_int_equal(inleft, 0);
	str_append_n(dest, out, sizeof(out) - outleft);
	iconv_close(cd);
}

/* ISO-8859-1 is converted here: the same bytes as iconv's, for every
 * byte, under every name, whole and split at every place. */
static void test_latin1_builtin(void **state)
{
	static const char *const names[] = {
		"ISO-8859-1", "iso-8859-1", "latin1", "ISO_8859-1", "l1",
		"iso8859-1", "CP819", "csISOLatin1",
	};
	char all[256];
	struct str a, b;

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	str_init(&b, 600);
	iconv_ref("ISO-8859-1", all, sizeof(all), &b);
	for (size_t n = 0; n < N_ELEMENTS(names); n++) {
		str_init(&a, 600);
		assert_int_equal(charset_to_utf8(names[n], all, sizeof(all), &a),
				 CHARSET_RESULT_OK);
		assert_int_equal(str_len(&a), str_len(&b));
		assert_memory_equal(str_c(&a), str_c(&b), str_len(&b));
		str_free(&a);
	}
	for (size_t cut = 0; cut <= sizeof(all); cut += 17) {
		const char *err = NULL;
		struct charset_translation *t =
			charset_translation_create("latin1", &err);

		str_init(&a, 600);
		assert_non_null(t);
		assert_true(charset_translation_feed(t, all, cut, &a));
		assert_true(charset_translation_feed(t, all + cut,
						     sizeof(all) - cut, &a));
		assert_true(charset_translation_finish(t, &a));
		assert_memory_equal(str_c(&a), str_c(&b), str_len(&b));
		charset_translation_destroy(&t);
		str_free(&a);
	}
	/* windows-1252 is not Latin-1: still iconv's */
	str_init(&a, 16);
	charset_to_utf8("windows-1252", "\x80", 1, &a);
	assert_string_equal(str_c(&a), "\xe2\x82\xac");
	str_free(&a);
	str_free(&b);
}

/* charset_set_drop_invalid(): invalid sequences dropped (as Debian's
 * maildrop sees them), US-ASCII strict; and back to U+FFFD. */
static void test_drop_invalid(void **state)
{
	static const struct {
		const char *cs, *in, *drop, *fffd;
	} cases[] = {
		{ "utf-8", "A\x80" "B", "AB", "A\xef\xbf\xbd" "B" },
		{ "utf-8", "A\xc0\xaf" "B", "AB", NULL },
		{ "utf-8", "A\xed\xa0\x80" "B", "AB", NULL },
		{ "utf-8", "A\xe2\x82\xe2\x82\xac" "B", "A\xe2\x82\xac" "B", NULL },
		{ "utf-8", "A\xef\xbf\xbd" "B", "A\xef\xbf\xbd" "B",
		  "A\xef\xbf\xbd" "B" },
		{ "utf-8", "caf\xe9 x", "caf x", "caf\xef\xbf\xbd x" },
		{ "us-ascii", "A\xc3\xa9" "B", "AB", "A\xc3\xa9" "B" },
		{ "us-ascii", "A\xe9" "B", "AB", "A\xef\xbf\xbd" "B" },
		{ "iso-8859-1", "A\xe9" "B", "A\xc3\xa9" "B", "A\xc3\xa9" "B" },
		{ "x-no-such-charset", "A\xe9" "B", "AB", "A\xef\xbf\xbd" "B" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct str s;

		charset_set_drop_invalid(true);
		str_init(&s, 16);
		charset_to_utf8(cases[i].cs, cases[i].in, strlen(cases[i].in),
				&s);
		assert_string_equal(str_c(&s), cases[i].drop);
		str_free(&s);
		charset_set_drop_invalid(false);
		if (cases[i].fffd == NULL)
			continue;
		str_init(&s, 16);
		charset_to_utf8(cases[i].cs, cases[i].in, strlen(cases[i].in),
				&s);
		assert_string_equal(str_c(&s), cases[i].fffd);
		str_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_streaming_splits),
		cmocka_unit_test(test_latin1_builtin),
		cmocka_unit_test(test_drop_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
