/* test-str.c: unit tests for lib/str (growable strings and helpers). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "str.h"
#include "mem.h"

static void test_append_grows(void **state)
{
	struct str *s = str_new(1);

	for (int i = 0; i < 1000; i++)
		assert_int_equal(str_append(s, "abc"), 0);
	assert_int_equal(str_len(s), 3000);
	assert_int_equal(strlen(str_c(s)), 3000);
	assert_memory_equal(str_c(s) + 2997, "abc", 4);
	str_destroy(&s);
	assert_null(s);
	str_destroy(&s); /* destroying NULL is harmless */
}

static void test_binary_safe(void **state)
{
	struct str *s = str_new(4);

	assert_int_equal(str_append_n(s, "a\0b", 3), 0);
	assert_int_equal(str_len(s), 3);
	assert_memory_equal(str_c(s), "a\0b", 4);
	str_destroy(&s);
}

static void test_limit(void **state)
{
	struct str *s = str_new(4);

	str_set_limit(s, 10);
	assert_int_equal(str_append(s, "0123456789"), 0);
	assert_int_equal(str_append_c(s, 'x'), -1);
	assert_int_equal(str_len(s), 10);
	assert_int_equal(str_printfa(s, "%d", 5), -1);
	assert_string_equal(str_c(s), "0123456789");
	str_destroy(&s);
}

/* str_append_c's inline path: byte by byte through growth, the limit
 * with room left in the buffer, and a string stolen from (no buffer). */
static void test_append_c(void **state)
{
	struct str *s = str_new(2);
	struct str e;
	char *d;

	for (int i = 0; i < 100; i++)
		assert_int_equal(str_append_c(s, (char)('a' + i % 26)), 0);
	assert_int_equal(str_len(s), 100);
	assert_int_equal(strlen(str_c(s)), 100);
	assert_int_equal(str_c(s)[99], 'a' + 99 % 26);
	str_truncate(s, 0);
	str_set_limit(s, 3);
	assert_int_equal(str_append_c(s, 'x'), 0);
	assert_int_equal(str_append_c(s, 'y'), 0);
	assert_int_equal(str_append_c(s, 'z'), 0);
	assert_int_equal(str_append_c(s, '!'), -1);
	assert_string_equal(str_c(s), "xyz");
	str_destroy(&s);

	str_init(&e, 8);
	assert_int_equal(str_append_c(&e, 'q'), 0);
	d = str_steal(&e);
	assert_string_equal(d, "q");
	free(d);
	assert_int_equal(str_append_c(&e, 'r'), 0);
	assert_string_equal(str_c(&e), "r");
	d = str_steal(&e);
	free(d);
}

static void test_printfa(void **state)
{
	struct str *s = str_new(2);
	char big[3000];

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(str_printfa(s, "<%s>%d", big, 42), 0);
	assert_int_equal(str_len(s), 2999 + 4);
	assert_string_equal(str_c(s) + 3000, ">42");
	str_destroy(&s);
}

/* str_append_uint() writes what "%llu" writes. */
static void test_append_uint(void **state)
{
	static const uint64_t values[] = {
		0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u,
		18446744073709551615u,
	};
	struct str a, b;

	(void)state;
	str_init(&a, 4);
	str_init(&b, 4);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(str_append_uint(&a, values[i]), 0);
		str_append_c(&a, ' ');
		str_printfa(&b, "%llu ", (unsigned long long)values[i]);
	}
	for (uint64_t v = 1; v < 1000000; v = v * 3 + 1) {
		str_append_uint(&a, v);
		str_printfa(&b, "%llu", (unsigned long long)v);
	}
	assert_string_equal(str_c(&a), str_c(&b));
	str_free(&a);
	str_free(&b);
}

static void test_truncate_delete_steal(void **state)
{
	struct str *s = str_new(0);
	char *d;

	str_append(s, "hello world");
	str_delete_head(s, 6);
	assert_string_equal(str_c(s), "world");
	str_truncate(s, 3);
	assert_string_equal(str_c(s), "wor");
	str_truncate(s, 100);
	assert_string_equal(str_c(s), "wor");
	d = str_steal(s);
	assert_string_equal(d, "wor");
	assert_int_equal(str_len(s), 0);
	free(d);
	assert_string_equal(str_c(s), "");
	str_delete_head(s, 5);
	assert_int_equal(str_len(s), 0);
	/* A stolen-from string grows again, with printf too. */
	assert_int_equal(str_printfa(s, "%d", 12345), 0);
	assert_string_equal(str_c(s), "12345");
	d = str_steal(s);
	assert_string_equal(d, "12345");
	free(d);
	d = str_steal(s);
	assert_string_equal(d, "");
	free(d);
	str_destroy(&s);
}

/* A stack string stolen from owns nothing: no str_free() needed (ASan's
 * leak checker fails this test otherwise). */
static void test_steal_leaves_nothing(void **state)
{
	struct str s;
	char *d;

	str_init(&s, 64);
	str_append(&s, "abc");
	d = str_steal(&s);
	assert_string_equal(d, "abc");
	assert_null(s.data);
	free(d);
}

static void test_helpers(void **state)
{
	char buf[8], t[32];
	char **v;

	assert_true(str_begins_with("EHLO x", "EHLO"));
	assert_false(str_begins_with("EH", "EHLO"));
	assert_true(str_begins_with_icase("ehlo x", "EHLO"));
	assert_true(str_ends_with("a.example.com", ".example.com"));
	assert_false(str_ends_with("com", ".example.com"));
	assert_int_equal(str_copy(buf, "1234567", sizeof(buf)), 0);
	assert_int_equal(str_copy(buf, "12345678", sizeof(buf)), -1);
	assert_string_equal(buf, "1234567");
	strcpy(t, "  \tMiXeD \r\n");
	assert_string_equal(str_trim(t), "MiXeD");
	assert_string_equal(str_lcase(t), "mixed");
	assert_string_equal(str_ucase(t), "MIXED");
	v = str_split(",a,,b c,", ", ");
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "c");
	assert_null(v[3]);
	str_split_free(&v);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_grows),
		cmocka_unit_test(test_binary_safe),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_append_c),
		cmocka_unit_test(test_printfa),
		cmocka_unit_test(test_append_uint),
		cmocka_unit_test(test_truncate_delete_steal),
		cmocka_unit_test(test_steal_leaves_nothing),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
