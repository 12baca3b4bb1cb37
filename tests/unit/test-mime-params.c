/* test-mime-params.c: unit tests for Content-Type/Disposition parameters and RFC 2231. */
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
#include "mime-params.h"

static void test_content_type(void **state)
{
	const char *v = "Text/Plain (comment); CHARSET=\"us-ascii\" (Plain text);"
		" format=flowed; junk; name=a b.txt";
	struct mime_params params = { 0 };
	char *type, *subtype;

	assert_int_equal(mime_params_parse_content_type(v, strlen(v), 0, &type,
							&subtype, &params), 0);
	assert_string_equal(type, "text");
	assert_string_equal(subtype, "plain");
	assert_string_equal(mime_params_get(&params, "charset"), "us-ascii");
	assert_string_equal(mime_params_get(&params, "format"), "flowed");
	assert_string_equal(mime_params_get(&params, "name"), "a b.txt");
	assert_null(mime_params_get(&params, "junk"));
	free(type);
	free(subtype);
	mime_params_free(&params);

	assert_int_equal(mime_params_parse_content_type("text", 4, 0, &type,
							&subtype, &params), -1);
	assert_null(type);
	assert_int_equal(mime_params_parse_content_type("a/b/c; x=\"unterminated",
		22, 0, &type, &subtype, &params), -1);
	mime_params_free(&params);
	assert_int_equal(mime_params_parse_content_type("a/b; x=\"q\\\"uo\"",
		15, 0, &type, &subtype, &params), 0);
	assert_string_equal(mime_params_get(&params, "x"), "q\"uo");
	free(type);
	free(subtype);
	mime_params_free(&params);
}

/* The examples of RFC 2231 sections 3, 4 and 4.1. */
static void test_rfc2231_examples(void **state)
{
	struct mime_params params = { 0 };
	const struct mime_param *p;
	const char *v1 = "message/external-body; access-type=URL;\r\n"
		" URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"";
	const char *v2 = "application/x-stuff;\r\n"
		" title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A";
	const char *v3 = "application/x-stuff;\r\n"
		" title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n"
		" title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
		" title*2=\"isn't it!\"";
	char *t, *s;

	mime_params_parse_content_type(v1, strlen(v1), 0, &t, &s, &params);
	assert_string_equal(mime_params_get(&params, "url"),
		"ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
	free(t); free(s); mime_params_free(&params);

	mime_params_parse_content_type(v2, strlen(v2), 0, &t, &s, &params);
	p = mime_params_find(&params, "title");
	assert_string_equal(p->value, "This is ***fun***");
	assert_string_equal(p->charset, "us-ascii");
	assert_string_equal(p->language, "en-us");
	free(t); free(s); mime_params_free(&params);

	mime_params_parse_content_type(v3, strlen(v3), 0, &t, &s, &params);
	p = mime_params_find(&params, "title");
	assert_string_equal(p->value, "This is even more ***fun*** isn't it!");
	assert_string_equal(p->language, "en");
	free(t); free(s); mime_params_free(&params);
}

static void test_rfc2231_charset_and_limits(void **state)
{
	struct mime_params params = { 0 };
	struct str big;
	char *d;
	const char *v = "attachment; filename=\"plain.txt\"; "
		"filename*=iso-8859-1''%E9t%E9.txt; bad*=x'y; gap*0=a; gap*2=c";

	assert_int_equal(mime_params_parse_disposition(v, strlen(v), 0, &d,
						       &params), 0);
	assert_string_equal(d, "attachment");
	assert_string_equal(mime_params_get(&params, "filename"),
			    "\xc3\xa9t\xc3\xa9.txt");
	assert_string_equal(mime_params_get(&params, "bad"), "x'y");
	assert_string_equal(mime_params_get(&params, "gap"), "a");
	free(d);
	mime_params_free(&params);

	/* Only max_params parameters are kept. */
	str_init(&big, 1024);
	str_append(&big, "a/b");
	for (int i = 0; i < 500; i++)
		str_printfa(&big, "; p%d=%d", i, i);
	mime_params_parse(str_c(&big) + 3, str_len(&big) - 3, 10, &params);
	assert_int_equal(params.count, 10);
	mime_params_free(&params);
	str_free(&big);
}

static void type_text_check(const char *in, const char *expect)
{
	char *t = mime_params_type_text(in, strlen(in));

	if (expect == NULL) {
		assert_null(t);
		return;
	}
	assert_non_null(t);
	assert_string_equal(t, expect);
	free(t);
}

/* What Debian's reformime -i shows for these Content-Type values. */
static void test_type_text(void **state)
{
	type_text_check("Text/HTML;Charset=\"UTF-8\"", "text/html");
	type_text_check("text", "text");
	type_text_check("text/", "text/");
	type_text_check(" text / plain ", "text/plain");
	type_text_check("te xt/plain", "text/plain");
	type_text_check("text/html x; charset=y", "text/htmlx");
	type_text_check("text/plain, text/html", "text/plain,text/html");
	type_text_check("\"text/pl ain\"", "text/pl ain");
	type_text_check("text/\"pl;ain\"; x=y", "text/pl;ain");
	type_text_check("text/pl(c;)ain (x", "text/plain");
	type_text_check("text/pl\\\\ain", "text/plain");
	type_text_check("\"text/plain", "text/plain");
	type_text_check("text/pl\"ain", "text/plain");
	type_text_check("multipart/x y; boundary=b", "multipart/xy");
	type_text_check("", NULL);
	type_text_check("(c)", NULL);
	type_text_check(";charset=x", NULL);
	type_text_check("\"\"", NULL);
	/* A NUL is not kept; a value with NULs is bounded by its length. */
	char *t = mime_params_type_text("a\0b/c", 5);
	assert_string_equal(t, "ab/c");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_type_text),
		cmocka_unit_test(test_rfc2231_examples),
		cmocka_unit_test(test_rfc2231_charset_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
