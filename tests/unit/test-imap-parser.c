/* test-imap-parser.c: unit tests for the IMAP command parser, the string
 * writer and sequence sets, with input split at every byte. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "imap-parser.h"
#include "imap-quote.h"
#include "imap-search.h"
#include "imap-seqset.h"
#include "imap-settings.h"
#include "mem.h"
#include "str.h"

/* Renders args back as text, to compare whole parses in one string. */
static void render(struct str *out, const struct imap_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			str_append_c(out, ' ');
		switch (args[i].type) {
		case IMAP_ARG_ATOM:
			str_printfa(out, "A:%s", args[i].str);
			break;
		case IMAP_ARG_STRING:
			str_printfa(out, "Q:%s", args[i].str);
			break;
		case IMAP_ARG_LITERAL:
			str_printfa(out, "L%s%zu:", args[i].literal8 ? "8" : "",
				    args[i].len);
			str_append_n(out, args[i].str, args[i].len);
			break;
		case IMAP_ARG_NIL:
			str_append(out, "NIL");
			break;
		case IMAP_ARG_LIST:
			str_append_c(out, '(');
			render(out, args[i].list, args[i].list_count);
			str_append_c(out, ')');
			break;
		}
	}
}

/* Feeds input in pieces of at most chunk bytes (0 = all at once),
 * answering literals, and records every event as text: "T<tag> <args>;"
 * for a command, "+" for a literal continuation, "E<tag>:<error>;". */
static char *run(const char *input, size_t len, size_t chunk,
		 const struct imap_parser_settings *set)
{
	struct imap_parser *p = imap_parser_create(set);
	struct str out;
	size_t pos = 0;

	str_init(&out, 128);
	while (pos < len) {
		size_t n = chunk == 0 || len - pos < chunk ? len - pos : chunk;
		size_t off = 0;

		while (off < n) {
			size_t used = 0;
			enum imap_parse_result r =
				imap_parser_feed(p, input + pos + off, n - off,
						 &used);
			assert_true(used <= n - off);
			off += used;
			if (r == IMAP_PARSE_DONE) {
				size_t count;
				const struct imap_arg *a =
					imap_parser_args(p, &count);
				str_printfa(&out, "T%s ", imap_parser_tag(p));
				render(&out, a, count);
				str_append(&out, ";");
				imap_parser_reset(p);
			} else if (r == IMAP_PARSE_LITERAL) {
				str_append(&out, "+");
			} else if (r == IMAP_PARSE_ERROR) {
				const char *tag = imap_parser_tag(p);
				str_printfa(&out, "E%s:%s;",
					    tag != NULL ? tag : "*",
					    imap_parser_error(p));
			} else {
				assert_int_equal(off, n);
			}
		}
		pos += n;
	}
	imap_parser_destroy(&p);
	return str_steal(&out);
}

/* Every split gives the same events as feeding everything at once. */
static void check(const char *input, const char *expect,
		  const struct imap_parser_settings *set)
{
	size_t len = strlen(input);

	for (size_t chunk = 0; chunk <= len; chunk++) {
		char *got = run(input, len, chunk, set);
		if (strcmp(got, expect) != 0)
			fail_msg("chunk %zu: got [%s] want [%s]", chunk, got,
				 expect);
		free(got);
	}
}

static void test_simple(void **state)
{
	(void)state;
	check("a1 NOOP\r\n", "Ta1 A:NOOP;", NULL);
	check("a1 noop\n", "Ta1 A:noop;", NULL);
	check("x LOGIN joe \"se cr\\\"et\\\\\"\r\n",
	      "Tx A:LOGIN A:joe Q:se cr\"et\\;", NULL);
	check("t SELECT NIL \"\"\r\n", "Tt A:SELECT NIL Q:;", NULL);
	check("t1 NOOP\r\nt2 CAPABILITY\r\n", "Tt1 A:NOOP;Tt2 A:CAPABILITY;",
	      NULL);
}

static void test_lists_and_brackets(void **state)
{
	(void)state;
	check("f FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n",
	      "Tf A:FETCH A:1:* (A:FLAGS "
	      "A:BODY.PEEK[HEADER.FIELDS (From To)]<0.100>);",
	      NULL);
	check("s STORE 1 +FLAGS (\\Seen \\Deleted)\r\n",
	      "Ts A:STORE A:1 A:+FLAGS (A:\\Seen A:\\Deleted);", NULL);
	check("l LIST \"\" %\r\n", "Tl A:LIST Q: A:%;", NULL);
	check("n X (() (a (b)))\r\n", "Tn A:X (() (A:a (A:b)));", NULL);
	check("b FETCH 1 BODY[]\r\n", "Tb A:FETCH A:1 A:BODY[];", NULL);
}

static void test_literals(void **state)
{
	(void)state;
	check("a LOGIN {3}\r\njoe {4}\r\np\r\nw\r\n",
	      "++Ta A:LOGIN L3:joe L4:p\r\nw;", NULL);
	check("a LOGIN {3+}\r\njoe {2-}\r\npw\r\n",
	      "Ta A:LOGIN L3:joe L2:pw;", NULL);
	check("a APPEND INBOX ~{2}\r\nxy\r\n",
	      "+Ta A:APPEND A:INBOX L82:xy;", NULL);
	check("a X {0}\r\n\r\n", "+Ta A:X L0:;", NULL);
	check("a X {0+}\r\n {1}\r\nz\r\n", "+Ta A:X L0: L1:z;", NULL);
}

static void test_errors(void **state)
{
	struct imap_parser_settings set = { .max_literal = 10,
					    .max_line = 40,
					    .max_depth = 2,
					    .max_args = 5 };
	(void)state;
	check("\r\n", "E*:Empty command line;", NULL);
	check("abc\r\n", "Eabc:Missing command;", NULL);
	check("a+b NOOP\r\nc NOOP\r\n", "Ea+b:Invalid tag;Tc A:NOOP;", NULL);
	check("a X \"unterminated\r\nb NOOP\r\n",
	      "Ea:Unterminated quoted string;Tb A:NOOP;", NULL);
	check("a X (b\r\nc NOOP\r\n", "Ea:Missing );Tc A:NOOP;", NULL);
	check("a X b)\r\n", "Ea:Unexpected );", NULL);
	check("a X \"q\"b\r\n", "Ea:Missing space between arguments;", NULL);
	check("a X {1x}\r\n", "Ea:Invalid literal size;", NULL);
	check("a X {99999999999999999999}\r\n", "Ea:Literal size too large;",
	      NULL);
	check("a X \"\\q\"\r\n", "Ea:Invalid escape in quoted string;", NULL);
	check("a X\rb\n", "Ea:CR without LF;", NULL);
	/* limits */
	check("a X {11}\r\nb NOOP\r\n", "Ea:Literal too large;Tb A:NOOP;",
	      &set);
	check("a X {11+}\r\n0123456789a\r\nb NOOP\r\n",
	      "Ea:Literal too large;Tb A:NOOP;", &set);
	check("a X {5000-}\r\n", "Ea:Non-synchronizing literal larger than "
				 "4096 bytes;", NULL);
	check("a X (((x)))\r\nb Y\r\n", "Ea:Lists nested too deeply;Tb A:Y;",
	      &set);
	check("a 1 2 3 4 5 6\r\nb Y\r\n", "Ea:Too many arguments;Tb A:Y;",
	      &set);
	check("a 0123456789012345678901234567890123456789\r\nb Y\r\n",
	      "Ea:Command line too long;Tb A:Y;", &set);
	/* after an error, a literal announced on the rest is skipped */
	check("a X ( {3+}\r\n)))\r\nb Y\r\n", "Ea:Missing );Tb A:Y;", NULL);
	check("a X ) {3+}\r\n)))\r\nb Y\r\n", "Ea:Unexpected );Tb A:Y;",
	      NULL);
	check("a X [b\r\n", "Ea:Unbalanced [ in atom;", NULL);
	check("a X (b)(c)\r\n", "Ea:Missing space between arguments;",
	      NULL);
}

static void test_tag_valid(void **state)
{
	(void)state;
	assert_true(imap_parser_tag_valid("A001"));
	assert_false(imap_parser_tag_valid(""));
	assert_false(imap_parser_tag_valid("a+"));
	assert_false(imap_parser_tag_valid("a*"));
	assert_false(imap_parser_tag_valid("a(b"));
}

static void test_quote(void **state)
{
	struct str s;

	(void)state;
	str_init(&s, 16);
	imap_quote_cstr(&s, "a \"b\" \\", false);
	assert_string_equal(str_c(&s), "\"a \\\"b\\\" \\\\\"");
	str_clear(&s);
	imap_quote_cstr(&s, "two\r\nlines", false);
	assert_string_equal(str_c(&s), "{10}\r\ntwo\r\nlines");
	str_clear(&s);
	imap_quote_cstr(&s, "caf\xc3\xa9", false);
	assert_string_equal(str_c(&s), "{5}\r\ncaf\xc3\xa9");
	str_clear(&s);
	imap_quote_cstr(&s, "caf\xc3\xa9", true);
	assert_string_equal(str_c(&s), "\"caf\xc3\xa9\"");
	str_clear(&s);
	imap_quote_nstring(&s, NULL, false);
	str_append_c(&s, ' ');
	imap_quote_astring(&s, "INBOX", false);
	str_append_c(&s, ' ');
	imap_quote_astring(&s, "nil", false);
	str_append_c(&s, ' ');
	imap_quote_astring(&s, "a b", false);
	str_append_c(&s, ' ');
	imap_quote_astring(&s, "", false);
	assert_string_equal(str_c(&s), "NIL INBOX \"nil\" \"a b\" \"\"");
	str_clear(&s);
	char big[IMAP_QUOTE_MAX + 1];
	memset(big, 'x', sizeof(big));
	imap_quote_string(&s, big, sizeof(big), true);
	assert_true(str_begins_with(str_c(&s), "{1025}\r\nxxx"));
	/* NUL: never in a literal (CHAR8), 0x80 in its place; a literal8
	 * carries it as it is */
	str_clear(&s);
	imap_quote_literal(&s, "a\0b\0", 4);
	assert_int_equal(str_len(&s), 9);
	assert_memory_equal(str_c(&s), "{4}\r\na\x80" "b\x80", 9);
	str_clear(&s);
	imap_quote_literal8(&s, "a\0b", 3);
	assert_int_equal(str_len(&s), 9);
	assert_memory_equal(str_c(&s), "~{3}\r\na\0b", 9);
	str_free(&s);
}

/* imap_seqset_normalize(): the same answers as the linear test, for
 * overlapping, reversed and "*" ranges. */
static void test_seqset_normalize(void **state)
{
	static const char *const sets[] = {
		"5:3,1,*", "10:*,2:4,3:6,20", "*:4", "1,3,5,7,9,2", "4294967295",
		"1:4294967295,7", "*",
	};
	const char *error;

	(void)state;
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		struct imap_seqset a, b;

		assert_int_equal(imap_seqset_parse(sets[k], &a, &error), 0);
		assert_int_equal(imap_seqset_parse(sets[k], &b, &error), 0);
		imap_seqset_normalize(&b, 12);
		assert_true(b.normalized);
		for (size_t i = 1; i < b.count; i++)
			assert_true(b.ranges[i - 1].hi + 1 < b.ranges[i].lo);
		for (uint32_t n = 0; n <= 30; n++)
			assert_int_equal(imap_seqset_contains(&a, n, 12),
					 imap_seqset_contains(&b, n, 12));
		assert_int_equal(imap_seqset_contains(&a, 4294967295u, 12),
				 imap_seqset_contains(&b, 4294967295u, 12));
		imap_seqset_free(&a);
		imap_seqset_free(&b);
	}
}

static void test_seqset(void **state)
{
	struct imap_seqset set;
	const char *error;

	(void)state;
	assert_int_equal(imap_seqset_parse("1:3,7,10:*", &set, &error), 0);
	assert_true(imap_seqset_contains(&set, 1, 20));
	assert_true(imap_seqset_contains(&set, 3, 20));
	assert_false(imap_seqset_contains(&set, 4, 20));
	assert_true(imap_seqset_contains(&set, 7, 20));
	assert_true(imap_seqset_contains(&set, 15, 20));
	assert_false(imap_seqset_contains(&set, 21, 20));
	imap_seqset_free(&set);
	assert_int_equal(imap_seqset_parse("5:2", &set, &error), 0);
	assert_true(imap_seqset_contains(&set, 3, 9));
	imap_seqset_free(&set);
	/* "*:4" with max 2 covers 2..4 */
	assert_int_equal(imap_seqset_parse("*:4", &set, &error), 0);
	assert_true(imap_seqset_contains(&set, 2, 2));
	assert_true(imap_seqset_contains(&set, 4, 2));
	assert_false(imap_seqset_contains(&set, 1, 2));
	imap_seqset_free(&set);
	const char *bad[] = { "", "0", "1,", ",1", "1:", "a", "1:2:3",
			      "4294967296", "1 2", "-1" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		assert_int_equal(imap_seqset_parse(bad[i], &set, &error), -1);
	assert_int_equal(imap_seqset_parse("4294967295", &set, &error), 0);
	imap_seqset_free(&set);
}

static void test_seqset_append(void **state)
{
	static const uint32_t a[] = { 1, 2, 3, 5, 7, 8, 8, 9, 4294967294u,
				      4294967295u };
	struct str s;

	(void)state;
	str_init(&s, 16);
	imap_seqset_append(&s, a, 0);
	assert_string_equal(str_c(&s), "");
	imap_seqset_append(&s, a, 1);
	assert_string_equal(str_c(&s), "1");
	str_clear(&s);
	imap_seqset_append(&s, a, N_ELEMENTS(a));
	assert_string_equal(str_c(&s), "1:3,5,7:9,4294967294:4294967295");
	str_clear(&s);
	imap_seqset_append(&s, a + 3, 2);
	assert_string_equal(str_c(&s), "5,7");
	/* what it writes parses back to the same numbers */
	struct imap_seqset set;
	const char *error;
	str_clear(&s);
	imap_seqset_append(&s, a, N_ELEMENTS(a));
	assert_int_equal(imap_seqset_parse(str_c(&s), &set, &error), 0);
	for (uint32_t n = 1; n < 12; n++)
		assert_int_equal(imap_seqset_contains(&set, n, 20),
				 n != 4 && n != 6 && n < 10);
	imap_seqset_free(&set);
	str_free(&s);
}

/* IMAP_EMPTYTRASH values: good ones, and malformed ones refused whole. */
static void test_emptytrash(void **state)
{
	(void)state;
	struct imap_emptytrash_rule *r;
	size_t n;
	const char *error;

	assert_int_equal(imap_emptytrash_parse("", 0, &r, &n, &error), 0);
	assert_int_equal(n, 0);
	assert_null(r);
	assert_int_equal(imap_emptytrash_parse(" , ", 3, &r, &n, &error), 0);
	assert_int_equal(n, 0);

	const char *v = "Trash:7, INBOX.Sent:30 ,Sent.Old:1,inbox:365";
	assert_int_equal(imap_emptytrash_parse(v, strlen(v), &r, &n, &error),
			 0);
	assert_int_equal(n, 4);
	assert_string_equal(r[0].folder, "Trash");
	assert_int_equal(r[0].days, 7);
	assert_string_equal(r[1].folder, "Sent");
	assert_int_equal(r[1].days, 30);
	assert_string_equal(r[2].folder, "Sent.Old");
	assert_int_equal(r[2].days, 1);
	assert_string_equal(r[3].folder, "INBOX");
	assert_int_equal(r[3].days, 365);
	imap_emptytrash_free(&r, n);
	assert_null(r);

	/* a folder name with a colon: the days follow the last one */
	v = "Odd:name:3";
	assert_int_equal(imap_emptytrash_parse(v, strlen(v), &r, &n, &error),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].folder, "Odd:name");
	imap_emptytrash_free(&r, n);

	/* the length bounds what is read */
	assert_int_equal(imap_emptytrash_parse("Trash:7,junk", 7, &r, &n,
					       &error), 0);
	assert_int_equal(n, 1);
	imap_emptytrash_free(&r, n);

	static const char *const bad[] = {
		"Trash", "Trash:", ":7", "Trash:0", "Trash:-1", "Trash:7d",
		"Trash:36501", "Trash:99999999999999999999", "Trash: 7",
		"../x:7", ".Trash:7", "Trash.:7", "a..b:7", "a/b:7",
		"INBOX.:7", "Trash:7,Sent", "Tr\001ash:7",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = (void *)1;
		n = 99;
		error = NULL;
		assert_int_equal(imap_emptytrash_parse(bad[i], strlen(bad[i]),
						       &r, &n, &error),
				 -1);
		assert_null(r);
		assert_int_equal(n, 0);
		assert_non_null(error);
	}
	/* a NUL inside the value */
	assert_int_equal(imap_emptytrash_parse("Tr\0sh:7", 7, &r, &n, &error),
			 -1);

	/* at most IMAP_EMPTYTRASH_MAX_RULES items */
	struct str s;
	str_init(&s, 1024);
	for (int i = 0; i < IMAP_EMPTYTRASH_MAX_RULES; i++)
		str_printfa(&s, "%sF%d:1", i > 0 ? "," : "", i);
	assert_int_equal(imap_emptytrash_parse(str_c(&s), str_len(&s), &r, &n,
					       &error), 0);
	assert_int_equal(n, IMAP_EMPTYTRASH_MAX_RULES);
	imap_emptytrash_free(&r, n);
	str_append(&s, ",Last:1");
	assert_int_equal(imap_emptytrash_parse(str_c(&s), str_len(&s), &r, &n,
					       &error), -1);
	str_free(&s);

	/* every prefix of a good value parses or fails cleanly */
	v = "Trash:7,INBOX.Sent:30";
	for (size_t i = 0; i <= strlen(v); i++) {
		if (imap_emptytrash_parse(v, i, &r, &n, &error) == 0)
			imap_emptytrash_free(&r, n);
	}
}

static int partial(const char *text, struct imap_partial_range *r)
{
	struct imap_arg arg = { .type = IMAP_ARG_ATOM, .str = (char *)text,
				.len = strlen(text) };
	return imap_partial_range_parse(&arg, r);
}

/* RFC 9394 section 4: partial-range-first = nz-number ":" nz-number,
 * partial-range-last = MINUS nz-number ":" MINUS nz-number. */
static void test_partial_range(void **state)
{
	struct imap_partial_range r;
	size_t first, n;
	struct str s;

	(void)state;
	assert_int_equal(partial("1:100", &r), 0);
	assert_true(r.lo == 1 && r.hi == 100 && !r.last);
	assert_int_equal(partial("500:400", &r), 0);
	assert_true(r.lo == 400 && r.hi == 500 && !r.last);
	assert_int_equal(partial("-1:-100", &r), 0);
	assert_true(r.lo == 1 && r.hi == 100 && r.last);
	assert_int_equal(partial("-100:-1", &r), 0);
	assert_true(r.lo == 1 && r.hi == 100 && r.last);
	assert_int_equal(partial("4294967295:1", &r), 0);
	assert_true(r.lo == 1 && r.hi == 4294967295u);

	static const char *const bad[] = {
		"", "1", "-1", "1:", ":1", "0:5", "1:0", "-0:-5", "1:*", "*:1",
		"-1:5", "1:-5", "--1:-5", "-1:--5", "01:5", "1:05", "1:5:7",
		"4294967296:1", "1:99999999999999999999", "1 :5", "+1:5",
		"1:5x", "-1-:5", "-",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(partial(bad[i], &r), -1);
	struct imap_arg q = { .type = IMAP_ARG_STRING, .str = (char *)"1:5",
			      .len = 3 };
	assert_int_equal(imap_partial_range_parse(&q, &r), -1);

	str_init(&s, 32);
	/* given back as the client sent it (RFC 9394 3.1, "the original
	 * range") */
	assert_int_equal(partial("-100:-1", &r), 0);
	imap_partial_range_append(&s, &r);
	assert_string_equal(str_c(&s), "-100:-1");
	str_clear(&s);
	assert_int_equal(partial("-1:-100", &r), 0);
	imap_partial_range_append(&s, &r);
	assert_string_equal(str_c(&s), "-1:-100");
	str_clear(&s);
	assert_int_equal(partial("9:3", &r), 0);
	imap_partial_range_append(&s, &r);
	assert_string_equal(str_c(&s), "9:3");
	str_clear(&s);
	assert_int_equal(partial("7:7", &r), 0);
	imap_partial_range_append(&s, &r);
	assert_string_equal(str_c(&s), "7:7");
	str_free(&s);

	/* 10 results: 3:9 are indexes 2..8, -1:-3 the last three, -8:-20
	 * the first three, 11:20 and -11:-20 nothing */
	assert_int_equal(partial("3:9", &r), 0);
	imap_partial_range_select(&r, 10, &first, &n);
	assert_true(first == 2 && n == 7);
	assert_int_equal(partial("-1:-3", &r), 0);
	imap_partial_range_select(&r, 10, &first, &n);
	assert_true(first == 7 && n == 3);
	assert_int_equal(partial("-8:-20", &r), 0);
	imap_partial_range_select(&r, 10, &first, &n);
	assert_true(first == 0 && n == 3);
	assert_int_equal(partial("11:20", &r), 0);
	imap_partial_range_select(&r, 10, &first, &n);
	assert_int_equal(n, 0);
	assert_int_equal(partial("-11:-20", &r), 0);
	imap_partial_range_select(&r, 10, &first, &n);
	assert_int_equal(n, 0);
	assert_int_equal(partial("-1:-4294967295", &r), 0);
	imap_partial_range_select(&r, 0, &first, &n);
	assert_int_equal(n, 0);
	imap_partial_range_select(&r, 5, &first, &n);
	assert_true(first == 0 && n == 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_lists_and_brackets),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_tag_valid),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_seqset_normalize),
		cmocka_unit_test(test_seqset_append),
		cmocka_unit_test(test_emptytrash),
		cmocka_unit_test(test_partial_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
