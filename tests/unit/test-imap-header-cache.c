/* test-imap-header-cache.c: unit tests for the cached header fields of
 * SEARCH, SORT and THREAD (imap-header-cache.h): which fields are kept,
 * the round trip, the overflow mark, malformed cached values, the same
 * list from memory and from a file, and search content built from the
 * cached fields giving the answers of the message itself. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-header-cache.h"
#include "imap-parser.h"
#include "imap-search.h"
#include "mem.h"

static const char msg[] =
	"Received: from x by y\r\n"
	"From: =?utf-8?q?Zo=C3=A9?= <zoe@quint.example>\r\n"
	"To: a@b.example,\r\n c@d.example\r\n"
	"Subject: Re: budget\r\n"
	"X-Other: not kept\r\n"
	"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
	"cc: second@cc.example\r\n"
	"Cc: third@cc.example\r\n"
	"Message-ID: <1@x>\r\n"
	"\r\n"
	"From: body line, not a header\r\n";

struct collected {
	char names[32][64];
	char values[32][256];
	size_t count;
};

static void collect_cb(const char *name, const char *value, size_t len,
		       void *context)
{
	struct collected *c = context;

	assert_true(c->count < 32);
	assert_true(strlen(name) < 64 && len < 256);
	memcpy(c->names[c->count], name, strlen(name) + 1);
	memcpy(c->values[c->count], value, len);
	c->values[c->count][len] = '\0';
	c->count++;
}

static void name_len_cb(const char *name, const char *value, size_t len,
			void *context)
{
	(void)value;
	assert_int_equal(len, 0);
	*(size_t *)context = strlen(name);
}

static void test_wanted(void **state)
{
	(void)state;
	assert_true(imap_header_cache_wanted("From", 4));
	assert_true(imap_header_cache_wanted("SUBJECT", 7));
	assert_true(imap_header_cache_wanted("message-id", 10));
	assert_true(imap_header_cache_wanted("References", 10));
	assert_false(imap_header_cache_wanted("X-Other", 7));
	assert_false(imap_header_cache_wanted("Fro", 3));
	assert_false(imap_header_cache_wanted("From ", 5));
	assert_false(imap_header_cache_wanted("", 0));
}

static void test_roundtrip(void **state)
{
	struct collected c = { 0 };
	size_t len;
	char *blob;

	(void)state;
	blob = imap_header_cache_from_message(msg, sizeof(msg) - 1, &len);
	assert_int_equal(imap_header_cache_parse(blob, len, collect_cb, &c),
			 1);
	assert_int_equal(c.count, 7);
	assert_string_equal(c.names[0], "From");
	assert_string_equal(c.values[0],
			    "=?utf-8?q?Zo=C3=A9?= <zoe@quint.example>");
	assert_string_equal(c.names[1], "To");
	/* unfolded */
	assert_non_null(strstr(c.values[1], "a@b.example,"));
	assert_non_null(strstr(c.values[1], "c@d.example"));
	assert_null(strchr(c.values[1], '\n'));
	assert_string_equal(c.names[2], "Subject");
	assert_string_equal(c.names[3], "Date");
	/* every occurrence, name as written */
	assert_string_equal(c.names[4], "cc");
	assert_string_equal(c.names[5], "Cc");
	assert_string_equal(c.values[5], "third@cc.example");
	assert_string_equal(c.names[6], "Message-ID");
	free(blob);

	/* an empty header, a message without a header end */
	blob = imap_header_cache_from_message("", 0, &len);
	assert_int_equal(len, 0);
	assert_int_equal(imap_header_cache_parse(blob, len, collect_cb, &c),
			 1);
	free(blob);
	memset(&c, 0, sizeof(c));
	blob = imap_header_cache_from_message("Subject: cut", 12, &len);
	assert_int_equal(imap_header_cache_parse(blob, len, collect_cb, &c),
			 1);
	assert_int_equal(c.count, 1);
	assert_string_equal(c.values[0], "cut");
	free(blob);
}

static void test_overflow(void **state)
{
	struct collected c = { 0 };
	struct str big;
	size_t len;
	char *blob;

	(void)state;
	/* kept fields past IMAP_HEADER_CACHE_MAX: the 'X' mark */
	str_init(&big, 1024);
	for (int i = 0; i < 100; i++) {
		str_append(&big, "Subject: ");
		for (int j = 0; j < 300; j++)
			str_append(&big, "0123456789");
		str_append(&big, "\r\n");
	}
	str_append(&big, "\r\nbody");
	blob = imap_header_cache_from_message(str_c(&big), str_len(&big),
					      &len);
	assert_int_equal(len, 1);
	assert_int_equal(blob[0], 'X');
	assert_int_equal(imap_header_cache_parse(blob, len, collect_cb, &c),
			 0);
	assert_int_equal(c.count, 0);
	free(blob);
	str_free(&big);
	/* a header past IMAP_SEARCH_MAX_HEADER: cut short, not cached */
	str_init(&big, IMAP_SEARCH_MAX_HEADER + 1024);
	while (str_len(&big) < IMAP_SEARCH_MAX_HEADER + 100)
		str_append(&big, "X-Long: padding padding padding padding\r\n");
	str_append(&big, "From: late@x.example\r\n\r\n");
	blob = imap_header_cache_from_message(str_c(&big), str_len(&big),
					      &len);
	assert_int_equal(len, 1);
	assert_int_equal(blob[0], 'X');
	free(blob);
	str_free(&big);
}

static void test_malformed(void **state)
{
	struct collected c = { 0 };
	size_t len;
	char *blob;

	(void)state;
	blob = imap_header_cache_from_message(msg, sizeof(msg) - 1, &len);
	/* every truncation of a good value is refused or a clean prefix */
	for (size_t cut = 0; cut < len; cut++) {
		memset(&c, 0, sizeof(c));
		int r = imap_header_cache_parse(blob, cut, collect_cb, &c);
		assert_true(r == -1 || r == 1 || (r == 0 && cut == 1));
	}
	free(blob);
	/* a zero name length, a value length past the end */
	static const unsigned char zero[] = { 0, 1, 0, 0, 0, 'x' };
	assert_int_equal(imap_header_cache_parse(zero, sizeof(zero),
						 collect_cb, &c), -1);
	static const unsigned char longv[] = { 2, 'T', 'o', 0xff, 0xff, 0xff,
					       0xff, 'x' };
	assert_int_equal(imap_header_cache_parse(longv, sizeof(longv),
						 collect_cb, &c), -1);
	static const unsigned char shortn[] = { 9, 'T', 'o' };
	assert_int_equal(imap_header_cache_parse(shortn, sizeof(shortn),
						 collect_cb, &c), -1);
	/* a name of 255 bytes is fine */
	unsigned char maxname[1 + 255 + 4];
	size_t name_len = 0;
	memset(maxname, 'A', sizeof(maxname));
	maxname[0] = 255;
	memset(maxname + 256, 0, 4);
	assert_int_equal(imap_header_cache_parse(maxname, sizeof(maxname),
						 name_len_cb, &name_len), 1);
	assert_int_equal(name_len, 255);
}

/* Parses a SEARCH program from atoms/strings. */
static struct imap_search_program *program(const char *const *words,
					   size_t n)
{
	struct imap_arg args[16];
	struct imap_search_parse_opts opts = { 0 };
	struct imap_search_program *prog;
	const char *error;

	memset(args, 0, sizeof(args));
	for (size_t i = 0; i < n; i++) {
		/* search keys are atoms, their values strings */
		args[i].type = strspn(words[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
					       strlen(words[i]) ?
				       IMAP_ARG_ATOM :
				       IMAP_ARG_STRING;
		args[i].str = (char *)words[i];
		args[i].len = strlen(words[i]);
	}
	assert_int_equal(imap_search_parse(args, n, &opts, &prog, &error),
			 IMAP_SEARCH_PARSE_OK);
	return prog;
}

/* The answer of prog for msg: from the message and from its cache. */
static void check_same(const char *const *words, size_t n, int expected)
{
	struct imap_search_program *prog = program(words, n);
	struct imap_search_env env = { .msg_count = 1, .max_uid = 1 };
	struct imap_search_msg m = { .seq = 1, .uid = 1 };
	struct imap_search_content *c1, *c2;
	size_t len;

	assert_true(imap_search_program_fields_within(
		prog, imap_header_cache_wanted));
	c1 = imap_search_content_from_buffer(prog, msg, sizeof(msg) - 1);
	char *blob = imap_header_cache_from_message(msg, sizeof(msg) - 1,
						    &len);
	struct imap_search_loader *l = imap_search_loader_new(prog);
	assert_int_equal(imap_header_cache_parse(blob, len,
						 imap_search_loader_field, l),
			 1);
	c2 = imap_search_loader_finish(&l);
	assert_null(l);
	assert_int_equal(imap_search_eval(prog, &env, &m, c1), expected);
	assert_int_equal(imap_search_eval(prog, &env, &m, c2), expected);
	imap_search_content_free(&c1);
	imap_search_content_free(&c2);
	free(blob);
	imap_search_program_free(&prog);
}

static void test_search_from_cache(void **state)
{
	(void)state;
	check_same((const char *const[]){ "FROM", "zoé" }, 2, 1);
	check_same((const char *const[]){ "FROM", "QUINT.example" }, 2, 1);
	check_same((const char *const[]){ "FROM", "body line" }, 2, 0);
	check_same((const char *const[]){ "TO", "c@d" }, 2, 1);
	check_same((const char *const[]){ "CC", "third" }, 2, 1);
	check_same((const char *const[]){ "CC", "second" }, 2, 1);
	check_same((const char *const[]){ "BCC", "x" }, 2, 0);
	check_same((const char *const[]){ "SUBJECT", "re: budget" }, 2, 1);
	check_same((const char *const[]){ "SENTON", "7-Feb-1994" }, 2, 1);
	check_same((const char *const[]){ "SENTBEFORE", "7-Feb-1994" }, 2, 0);
	check_same((const char *const[]){ "HEADER", "Message-ID", "<1@" }, 3,
		   1);
	check_same((const char *const[]){ "NOT", "SUBJECT", "budget" }, 3, 0);
	check_same((const char *const[]){ "OR", "FROM", "nobody", "TO", "a@b" },
		   5, 1);

	/* the fields a program reads */
	static const char *const keys[] = { "OR", "FROM", "a", "NOT",
					    "SENTON", "1-Jan-2000" };
	struct imap_search_program *q = program(keys, 6);
	assert_true(imap_search_program_uses_field(q, "from"));
	assert_true(imap_search_program_uses_field(q, "Date"));
	assert_false(imap_search_program_uses_field(q, "To"));
	assert_false(imap_search_program_uses_field(q, "Subject"));
	imap_search_program_free(&q);

	/* programs that need more than the cached fields */
	static const char *const body[] = { "BODY", "x" };
	static const char *const text[] = { "TEXT", "x" };
	static const char *const other[] = { "HEADER", "X-Other", "kept" };
	static const char *const nested[] = { "NOT", "OR", "ALL", "HEADER",
					      "Received", "y" };
	struct imap_search_program *p;
	p = program(body, 2);
	assert_false(imap_search_program_fields_within(
		p, imap_header_cache_wanted));
	imap_search_program_free(&p);
	p = program(text, 2);
	assert_false(imap_search_program_fields_within(
		p, imap_header_cache_wanted));
	imap_search_program_free(&p);
	p = program(other, 3);
	assert_false(imap_search_program_fields_within(
		p, imap_header_cache_wanted));
	imap_search_program_free(&p);
	p = program(nested, 6);
	assert_false(imap_search_program_fields_within(
		p, imap_header_cache_wanted));
	imap_search_program_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_search_from_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
