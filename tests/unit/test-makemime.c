/* test-makemime.c: unit tests for makemime's option files (split at
 * every byte, limits, the "-" line), option list parser, encoding
 * detection and -N parameter writer. */
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
#include "makemime.h"

/* Reads text split at every byte; checks the arguments (joined by '|'),
 * the result and where it stopped. */
static void optfile_check(const char *text, const char *expect, int ret,
			  size_t stop)
{
	size_t len = strlen(text);

	for (size_t split = 0; split <= len; split++) {
		struct makemime_args args = { 0 };
		struct makemime_optfile of;
		struct str joined;
		size_t used, total;
		int r;

		makemime_optfile_init(&of, &args);
		r = makemime_optfile_feed(&of, text, split, &used);
		total = used;
		if (r == 0) {
			r = makemime_optfile_feed(&of, text + split,
						  len - split, &used);
			total += used;
		}
		if (r == 0)
			r = makemime_optfile_finish(&of);
		assert_int_equal(r, ret);
		if (ret == 1)
			assert_int_equal(total, stop);
		str_init(&joined, 64);
		for (size_t i = 0; i < args.count; i++)
			str_printfa(&joined, "%s%s", i > 0 ? "|" : "",
				    args.v[i]);
		assert_string_equal(str_c(&joined), expect);
		str_free(&joined);
		makemime_optfile_deinit(&of);
		makemime_args_free(&args);
	}
}

static void test_optfile(void **state)
{
	(void)state;
	optfile_check("-c\n  text/plain; charset=x  \n\n# c\n\t-a\nt.txt",
		      "-c|text/plain; charset=x  |-a|t.txt", 0, 0);
	/* CR is kept, as Debian's makemime does */
	optfile_check("-c\r\nx\r\n", "-c\r|x\r", 0, 0);
	/* "-" ends the options; the rest is not read */
	optfile_check("-c\ntext/plain\n&0\n-\n-c\nbody\n",
		      "-c|text/plain|&0", 1, 19);
	optfile_check("  -  \n", "-  ", 0, 0);
	optfile_check("", "", 0, 0);
	optfile_check("\n\n   \n#\n", "", 0, 0);
}

static void test_optfile_limits(void **state)
{
	struct makemime_args args = { 0 };
	struct makemime_optfile of;
	char *big = xmalloc(MAKEMIME_MAX_ARG_LEN + 2);
	size_t used;

	(void)state;
	memset(big, 'x', MAKEMIME_MAX_ARG_LEN + 1);
	big[MAKEMIME_MAX_ARG_LEN + 1] = '\n';
	makemime_optfile_init(&of, &args);
	assert_int_equal(makemime_optfile_feed(&of, big,
					       MAKEMIME_MAX_ARG_LEN + 2,
					       &used), -1);
	assert_int_equal(makemime_optfile_finish(&of), -1);
	makemime_optfile_deinit(&of);
	makemime_args_free(&args);
	/* many arguments */
	makemime_optfile_init(&of, &args);
	for (size_t i = 0; i < MAKEMIME_MAX_ARGS; i++)
		assert_int_equal(makemime_optfile_feed(&of, "a\n", 2, &used),
				 0);
	assert_int_equal(makemime_optfile_feed(&of, "a\n", 2, &used), -1);
	makemime_optfile_deinit(&of);
	makemime_args_free(&args);
	free(big);
}

static int parse(struct makemime_spec *spec, bool in_child, ...)
{
	static char *args[64];	/* spec points into it */
	size_t n = 0;
	va_list ap;
	int ret;

	va_start(ap, in_child);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 64;)
		args[n++] = a;
	va_end(ap);
	ret = makemime_spec_parse(args, n, in_child, spec);
	return ret;
}

static void test_spec(void **state)
{
	struct makemime_spec s;

	(void)state;
	assert_int_equal(parse(&s, false, "-c", "text/plain", "-e", "BASE64",
			       "-a", "X: 1", "-a", "Y: 2", "-N", "n", "-C",
			       "c", "-o", "out", "f", NULL), 0);
	assert_int_equal(s.mode, 'c');
	assert_string_equal(s.type, "text/plain");
	assert_string_equal(s.encoding, "base64");
	assert_int_equal(s.header_count, 2);
	assert_string_equal(s.headers[1], "Y: 2");
	assert_string_equal(s.output, "out");
	assert_string_equal(s.in[0].path, "f");
	makemime_spec_free(&s);
	/* attached values, bare -m */
	assert_int_equal(parse(&s, false, "-ctext/html", "-equoted-printable",
			       "-", NULL), 0);
	assert_string_equal(s.type, "text/html");
	assert_string_equal(s.in[0].path, "-");
	makemime_spec_free(&s);
	assert_int_equal(parse(&s, false, "-m", "-e", "7bit", "f", NULL), 0);
	assert_string_equal(s.type, "multipart/mixed");
	makemime_spec_free(&s);
	/* -j with a child for file1 */
	assert_int_equal(parse(&s, false, "-j", "(", "-m", "multipart/x", "(",
			       "-c", "t", "f", ")", ")", "-o", "x", "g",
			       NULL), 0);
	assert_int_equal(s.mode, 'j');
	assert_null(s.in[0].path);
	assert_int_equal(s.in[0].child_count, 7);
	assert_string_equal(s.in[0].child[0], "-m");
	assert_string_equal(s.in[1].path, "g");
	makemime_spec_free(&s);
	/* what Debian's makemime answers with its usage */
	assert_int_equal(parse(&s, false, NULL), -1);
	assert_int_equal(parse(&s, false, "-a", "X: y", "-c", "t", "f", NULL),
			 -1);
	assert_int_equal(parse(&s, false, "-c", "t", "f", "-e", "7bit", NULL),
			 -1);
	assert_int_equal(parse(&s, false, "-c", "t", "f", "g", NULL), -1);
	assert_int_equal(parse(&s, false, "-c", "t", NULL), -1);
	assert_int_equal(parse(&s, false, "-c", "-a", "f", NULL), -1);
	assert_int_equal(parse(&s, false, "-c", "t", "-e", "auto", "f", NULL),
			 -1);
	assert_int_equal(parse(&s, false, "-c", "t", "-e", NULL), -1);
	assert_int_equal(parse(&s, false, "-c", "t", "-c", "u", "f", NULL),
			 -1);
	assert_int_equal(parse(&s, false, "-c", "t", "-z", "f", NULL), -1);
	assert_int_equal(parse(&s, false, "-c", "t", "(", "-c", "u", "f",
			       NULL), -1);
	assert_int_equal(parse(&s, false, "-j", "a", NULL), -1);
	assert_int_equal(parse(&s, true, "-c", "t", "-o", "x", "f", NULL), -1);
	/* a child's options are checked too; "-m (" takes "(" as type */
	assert_int_equal(parse(&s, false, "-c", "t", "(", "-c", "u", "f", "-o",
			       "x", ")", NULL), -1);
	assert_int_equal(parse(&s, false, "-c", "t", "(", ")", NULL), -1);
	assert_int_equal(parse(&s, false, "-m", "(", "-c", "t", "f", ")",
			       NULL), -1);
	/* ")" alone is a file name */
	assert_int_equal(parse(&s, false, "-c", "t", ")", NULL), 0);
	makemime_spec_free(&s);
}

static void test_spec_depth(void **state)
{
	static char c[] = "-c", t[] = "t", lp[] = "(", rp[] = ")";
	char *args[2 * MAKEMIME_MAX_DEPTH + 8];
	struct makemime_spec s;
	size_t n = 0;

	(void)state;
	args[n++] = c;
	args[n++] = t;
	for (size_t i = 0; i < MAKEMIME_MAX_DEPTH + 1; i++)
		args[n++] = lp;
	for (size_t i = 0; i < MAKEMIME_MAX_DEPTH + 1; i++)
		args[n++] = rp;
	assert_int_equal(makemime_spec_parse(args, n, false, &s), -1);
}

static const char *detect(const void *data, size_t len)
{
	struct makemime_detect d;

	memset(&d, 0, sizeof(d));
	for (size_t i = 0; i < len; i++)
		makemime_detect_feed(&d, (const char *)data + i, 1);
	return makemime_detect_result(&d);
}

static void test_detect(void **state)
{
	char buf[4000];

	(void)state;
	assert_string_equal(detect("hello\n", 6), "7bit");
	assert_string_equal(detect("a\tb\r\n\x7f", 6), "7bit");
	assert_string_equal(detect("a\x01" "b\n", 4), "8bit");
	assert_string_equal(detect("caf\xe9\n", 5), "8bit");
	assert_string_equal(detect("a\0b\n", 4), "base64");
	/* 990 columns are fine, 991 are a long line */
	memset(buf, 'x', 990);
	buf[990] = '\n';
	assert_string_equal(detect(buf, 991), "7bit");
	buf[990] = 'x';
	assert_string_equal(detect(buf, 991), "quoted-printable");
	/* an 8-bit byte counts 3 columns */
	memset(buf, '\xe9', 330);
	buf[330] = '\n';
	assert_string_equal(detect(buf, 331), "8bit");
	memset(buf, '\xe9', 331);
	buf[331] = '\n';
	assert_string_equal(detect(buf, 332), "base64");
	/* a long line: base64 when more than a tenth is 8-bit */
	memset(buf, 'x', 1000);
	memset(buf + 1000, '\xe9', 111);
	buf[1111] = '\n';
	assert_string_equal(detect(buf, 1112), "quoted-printable");
	memset(buf + 1000, '\xe9', 112);
	buf[1112] = '\n';
	assert_string_equal(detect(buf, 1113), "base64");
}

static void param_check(const char *value, const char *charset,
			const char *expect)
{
	struct str s;

	str_init(&s, 64);
	makemime_param_append(&s, "name", value, charset);
	assert_string_equal(str_c(&s), expect);
	str_free(&s);
}

/* "name*0*=x''" n1 times 'n', tail1, ";\n  name*1*=", n2 times 'n',
 * tail2 (prefix is the length of "x''"). */
static const char *expect_pieces(size_t prefix, size_t n1, const char *tail1,
				 size_t n2, const char *tail2)
{
	static char buf[512];
	struct str s;

	(void)prefix;
	str_init(&s, 256);
	str_append(&s, "name*0*=x''");
	for (size_t i = 0; i < n1; i++)
		str_append_c(&s, 'n');
	str_printfa(&s, "%s;\n  name*1*=", tail1);
	for (size_t i = 0; i < n2; i++)
		str_append_c(&s, 'n');
	str_append(&s, tail2);
	memcpy(buf, str_c(&s), str_len(&s) + 1);
	str_free(&s);
	return buf;
}

static void test_param(void **state)
{
	char v[256];

	(void)state;
	param_check("plain", "utf-8", "name=\"plain\"");
	param_check("a/b*@,?[<~!#$&+^`{|}_-.]>", "utf-8",
		    "name=\"a/b*@,?[<~!#$&+^`{|}_-.]>\"");
	param_check("a b", "utf-8", "name*0*=utf-8''a%20b");
	param_check("x\"'();:=\\%\t", "x",
		    "name*0*=x''x%22%27%28%29%3B%3A%3D%5C%25%09");
	param_check("\xc3\xa9", "iso-8859-1", "name*0*=iso-8859-1''%C3%A9");
	/* 71 bytes are too long for a quoted value */
	memset(v, 'n', 71);
	v[71] = '\0';
	param_check(v, "x", expect_pieces(3, 60, "", 11, ""));
	v[70] = '\0';
	{
		char q[80];

		memcpy(q, "name=\"", 6);
		memcpy(q + 6, v, 70);
		memcpy(q + 76, "\"", 2);
		param_check(v, "x", q);
	}
	/* a piece ends at 63 columns; an escape may start at column 63 */
	memset(v, 'n', 60);
	memcpy(v + 60, " n", 3);
	param_check(v, "x", expect_pieces(3, 60, "%20", 1, ""));
	memset(v, 'n', 61);
	memcpy(v + 61, " n", 3);
	param_check(v, "x", expect_pieces(3, 60, "", 1, "%20n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_optfile),
		cmocka_unit_test(test_optfile_limits),
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_spec_depth),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_param),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
