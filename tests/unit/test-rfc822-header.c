/* test-rfc822-header.c: unit tests for the streaming header parser,
 * folding and unfolding. */
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
#include "rfc822-header.h"

struct collect {
	struct str out;	/* "name=value|" per field, "!" for broken */
	unsigned int count;
};

static void collect_cb(const struct rfc822_header_field *f, void *context)
{
	struct collect *c = context;

	if (f->broken)
		str_append_c(&c->out, '!');
	str_append_n(&c->out, f->name, f->name_len);
	str_append_c(&c->out, '=');
	str_append_n(&c->out, f->value, f->value_len);
	if (f->truncated)
		str_append(&c->out, "(T)");
	str_append_c(&c->out, '|');
	c->count++;
}

/* Parses input fed in pieces of step bytes; returns the header's size
 * (where the body starts) and the collected text in c. */
static size_t parse_step(const char *input, size_t len, size_t step,
			 const struct rfc822_header_limits *limits,
			 struct collect *c, unsigned int *flags_r)
{
	struct rfc822_header_parser *p = rfc822_header_parser_create(limits);
	size_t pos = 0, consumed;
	bool ended = false;

	str_init(&c->out, 64);
	c->count = 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;

		if (rfc822_header_parser_feed(p, input + pos, n, &consumed,
					      collect_cb, c) > 0) {
			pos += consumed;
			ended = true;
			break;
		}
		assert_int_equal(consumed, n);
		pos += n;
	}
	if (!ended)
		rfc822_header_parser_finish(p, collect_cb, c);
	*flags_r = rfc822_header_parser_get_flags(p);
	rfc822_header_parser_destroy(&p);
	assert_null(p);
	return pos;
}

static void check_all_splits(const char *input, const char *expect,
			     size_t expect_size)
{
	size_t len = strlen(input);

	for (size_t step = 1; step <= len + 1; step++) {
		struct collect c;
		unsigned int flags;
		size_t size = parse_step(input, len, step, NULL, &c, &flags);

		assert_string_equal(str_c(&c.out), expect);
		assert_int_equal(size, expect_size);
		str_free(&c.out);
	}
}

static void test_basic(void **state)
{
	const char *msg = "From: a@b\r\nSubject: hi there\r\n\r\nbody\r\n";

	check_all_splits(msg, "From=a@b|Subject=hi there|", 32);
}

static void test_folding(void **state)
{
	const char *msg = "Subject: one\r\n two\r\n\tthree\nX: y\n\nbody";

	check_all_splits(msg, "Subject=one two\tthree|X=y|", 33);
}

static void test_obsolete_and_broken(void **state)
{
	const char *msg = "Subject  :  spaced \nnot a header\n"
		"From foo Sat Jan 3 01:05:34 1996\n\n";

	check_all_splits(msg, "Subject=spaced|!=not a header|"
			 "!=From foo Sat Jan 3 01:05:34 1996|", strlen(msg));
}

static void test_no_end(void **state)
{
	struct collect c;
	unsigned int flags;
	const char *msg = "A: 1\nB: 2";
	size_t size = parse_step(msg, strlen(msg), 3, NULL, &c, &flags);

	assert_string_equal(str_c(&c.out), "A=1|B=2|");
	assert_int_equal(size, strlen(msg));
	assert_true((flags & RFC822_HEADER_FLAG_NO_END) != 0);
	str_free(&c.out);
}

static void test_bare_cr_nul_8bit(void **state)
{
	struct collect c;
	unsigned int flags;
	const char msg[] = "A: x\ry\nB: \xe9t\xe9\nC: a\0b\n\r\nrest";
	size_t len = sizeof(msg) - 1;
	size_t size = parse_step(msg, len, 1, NULL, &c, &flags);

	assert_int_equal(size, len - 4);
	assert_int_equal(c.count, 3);
	assert_true((flags & RFC822_HEADER_FLAG_BARE_CR) != 0);
	assert_true((flags & RFC822_HEADER_FLAG_8BIT) != 0);
	assert_true((flags & RFC822_HEADER_FLAG_NUL) != 0);
	str_free(&c.out);
}

static void test_limits(void **state)
{
	struct rfc822_header_limits limits = {
		.max_field_size = 16, .max_header_size = 64
	};
	struct collect c;
	unsigned int flags;
	char big[200];
	size_t size;

	/* A long field is truncated, not buffered, and parsing goes on. */
	size = parse_step("Subject: 0123456789abcdefghij\nX: y\n\nB", 37, 5,
			  &limits, &c, &flags);
	assert_string_equal(str_c(&c.out), "Subject=0123456(T)|X=y|");
	assert_int_equal(size, 36);
	assert_true((flags & RFC822_HEADER_FLAG_TRUNCATED) != 0);
	str_free(&c.out);

	/* Past max_header_size the header ends there. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "X: ", 3);
	size = parse_step(big, sizeof(big), 7, &limits, &c, &flags);
	assert_int_equal(size, 64);
	assert_true((flags & RFC822_HEADER_FLAG_TOO_BIG) != 0);
	assert_int_equal(c.count, 1);
	str_free(&c.out);
}

static void test_fold_unfold(void **state)
{
	struct str s, u;
	const char *value = "this is a rather long subject line that will "
		"certainly need folding because it is longer than 78 columns";

	str_init(&s, 64);
	rfc822_header_fold(&s, "Subject", value, 0, "\r\n");
	/* Every line fits in 78 columns, and unfolding gives it back. */
	const char *line = str_c(&s);
	while (*line != '\0') {
		const char *e = strstr(line, "\r\n");

		assert_non_null(e);
		assert_true(e - line <= 78);
		line = e + 2;
	}
	str_init(&u, 64);
	rfc822_header_unfold(&u, str_c(&s), str_len(&s) - 2);
	assert_string_equal(str_c(&u) + strlen("Subject: "), value);
	str_free(&s);
	str_free(&u);

	/* A word longer than a line is never broken. */
	str_init(&s, 64);
	char word[120];
	memset(word, 'w', sizeof(word) - 1);
	word[sizeof(word) - 1] = '\0';
	rfc822_header_fold(&s, "X", word, 78, "\n");
	assert_int_equal(str_len(&s), 3 + 119 + 1);
	str_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_obsolete_and_broken),
		cmocka_unit_test(test_no_end),
		cmocka_unit_test(test_bare_cr_nul_8bit),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_fold_unfold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
