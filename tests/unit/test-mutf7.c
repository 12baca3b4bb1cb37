/* test-mutf7.c: unit tests for lib/mutf7 (IMAP modified UTF-7). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mutf7.h"
#include "str.h"
#include "mem.h"

static const struct {
	const char *utf8;
	const char *mutf7;
} pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "&", "&-" },
	{ "a&b&&", "a&-b&-&-" },
	/* RFC 3501 example */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "\xc3\xa9\xc3\xa9", "&AOkA6Q-" },
	{ "\xc3\xa9&", "&AOk-&-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" }, /* U+1F600, a surrogate pair */
	{ "tab\there", "tab&AAk-here" },
	{ "\x7f", "&AH8-" },
	{ "-", "-" },
};

static void test_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(pairs); i++) {
		char *e = mutf7_encode_dup(pairs[i].utf8);
		char *d = mutf7_decode_dup(pairs[i].mutf7);

		assert_non_null(e);
		assert_non_null(d);
		assert_string_equal(e, pairs[i].mutf7);
		assert_string_equal(d, pairs[i].utf8);
		free(e);
		free(d);
	}
}

static void test_decode_rejects(void **state)
{
	static const char *const bad[] = {
		"&",		/* unterminated */
		"&AOk",		/* unterminated */
		"abc&AOkA6Q",	/* unterminated */
		"&AEE-",	/* 'A' must be written directly */
		"&ACY-",	/* '&' must be written "&-" */
		"&AOk-&AOk-",	/* two shifts back to back */
		"&AOl-",	/* non-zero padding bits */
		"&AOkA-",	/* leftover full base64 digit */
		"&2D0-",	/* lone high surrogate */
		"&3gA-",	/* lone low surrogate */
		"&2D3YPQ-",	/* high followed by high */
		"&AAA-",	/* U+0000 */
		"&A-",		/* too short for a unit */
		"&A=k-",	/* not base64 */
		"&AO/-",	/* '/' is not in the modified alphabet */
		"caf\xc3\xa9",	/* raw 8-bit */
		"a\tb",		/* raw control */
		"&&-",		/* '&' inside a shift */
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		char *d = mutf7_decode_dup(bad[i]);

		if (d != NULL)
			fail_msg("accepted %s", bad[i]);
	}
}

static void test_encode_rejects(void **state)
{
	static const char *const bad[] = {
		"\xc3",		    /* truncated */
		"\xc0\xaf",	    /* overlong '/' */
		"\xe0\x80\xaf",	    /* overlong */
		"\xed\xa0\x80",	    /* surrogate */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"\xff",
		"a\x80",
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		assert_null(mutf7_encode_dup(bad[i]));
	assert_false(mutf7_utf8_valid("a\0b", 3));
	assert_true(mutf7_utf8_valid("\xe2\x82\xac", 3));
}

static void test_limit_and_append(void **state)
{
	struct str *s = str_new(4);

	(void)state;
	str_append(s, "x");
	str_set_limit(s, 5);
	/* All or nothing: a result that does not fit leaves s alone. */
	assert_int_equal(mutf7_encode("\xc3\xa9\xc3\xa9", 4, s), -1);
	assert_string_equal(str_c(s), "x");
	assert_int_equal(mutf7_decode("ab", 2, s), 0);
	assert_string_equal(str_c(s), "xab");
	assert_int_equal(mutf7_decode("&AOk", 4, s), -1);
	assert_string_equal(str_c(s), "xab");
	str_destroy(&s);
}

/* Every prefix of a valid encoding either decodes or fails cleanly, and
 * every single-byte corruption never crashes. */
static void test_prefixes_and_mutations(void **state)
{
	const char *src = "~peter/mail/&U,BTFw-/&ZeVnLIqe-&-x&2D3eAA-";
	size_t len = strlen(src);
	struct str *s = str_new(16);

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		str_clear(s);
		(void)mutf7_decode(src, i, s);
	}
	for (size_t i = 0; i < len; i++) {
		for (int c = 0; c < 256; c++) {
			char buf[64];
			char *e;

			memcpy(buf, src, len);
			buf[i] = (char)c;
			str_clear(s);
			if (mutf7_decode(buf, len, s) < 0)
				continue;
			/* Whatever decodes must re-encode to itself. */
			e = mutf7_encode_dup(str_c(s));
			assert_non_null(e);
			assert_memory_equal(e, buf, len);
			assert_int_equal(strlen(e), len);
			free(e);
		}
	}
	str_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_limit_and_append),
		cmocka_unit_test(test_prefixes_and_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
