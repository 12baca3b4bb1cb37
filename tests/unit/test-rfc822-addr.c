/* test-rfc822-addr.c: unit tests for lib/rfc822-addr (address lists). */
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
#include "rfc822-addr.h"

static struct rfc822_addr_parser *parser;

static int setup(void **state)
{
	parser = rfc822_addr_parser_create(NULL);
	return 0;
}

static int teardown(void **state)
{
	rfc822_addr_parser_destroy(&parser);
	assert_null(parser);
	return 0;
}

static void assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

/* Parses s (as a C string) and checks the return value. */
static struct rfc822_addr_list *parse_n(const char *s, size_t len, int ret)
{
	struct rfc822_addr_list *list;
	const char *error;

	assert_int_equal(rfc822_addr_parse(parser, s, len, &list, &error),
			 ret);
	if (ret == 1)
		assert_null(error);
	else
		assert_non_null(error);
	return list;
}

static struct rfc822_addr_list *parse(const char *s, int ret)
{
	return parse_n(s, strlen(s), ret);
}

static void check_mbox(const struct rfc822_addr *a, const char *name,
		       const char *route, const char *local,
		       const char *domain)
{
	assert_int_equal(a->type, RFC822_ADDR_MAILBOX);
	assert_false(a->invalid);
	assert_null(a->raw);
	assert_str_or_null(a->name, name);
	assert_str_or_null(a->route, route);
	assert_str_or_null(a->local, local);
	assert_str_or_null(a->domain, domain);
}

static void check_invalid(const struct rfc822_addr *a, const char *raw)
{
	assert_int_equal(a->type, RFC822_ADDR_MAILBOX);
	assert_true(a->invalid);
	assert_non_null(a->error);
	assert_string_equal(a->raw, raw);
}

static void test_simple(void **state)
{
	struct rfc822_addr_list *list = parse("user@example.com", 1);

	assert_int_equal(list->count, 1);
	assert_int_equal(list->mailbox_count, 1);
	assert_int_equal(list->invalid_count, 0);
	check_mbox(&list->addrs[0], NULL, NULL, "user", "example.com");
	assert_string_equal(list->addrs[0].local_raw, "user");
	assert_false(list->addrs[0].angle);
	rfc822_addr_list_free(&list);
	assert_null(list);
	rfc822_addr_list_free(&list);

	list = parse("", 1);
	assert_int_equal(list->count, 0);
	rfc822_addr_list_free(&list);
	list = parse("  \r\n\t (just a comment) ", 1);
	assert_int_equal(list->count, 0);
	rfc822_addr_list_free(&list);
}

/* RFC 5322 Appendix A.1.1 and A.1.2 */
static void test_rfc_a1(void **state)
{
	struct rfc822_addr_list *list;

	list = parse("John Doe <jdoe@machine.example>", 1);
	assert_int_equal(list->count, 1);
	check_mbox(&list->addrs[0], "John Doe", NULL, "jdoe",
		   "machine.example");
	assert_true(list->addrs[0].angle);
	rfc822_addr_list_free(&list);

	list = parse("\"Joe Q. Public\" <john.q.public@example.com>", 1);
	check_mbox(&list->addrs[0], "Joe Q. Public", NULL, "john.q.public",
		   "example.com");
	rfc822_addr_list_free(&list);

	list = parse("Mary Smith <mary@x.test>, jdoe@example.org, "
		     "Who? <one@y.test>", 1);
	assert_int_equal(list->count, 3);
	check_mbox(&list->addrs[0], "Mary Smith", NULL, "mary", "x.test");
	check_mbox(&list->addrs[1], NULL, NULL, "jdoe", "example.org");
	check_mbox(&list->addrs[2], "Who?", NULL, "one", "y.test");
	rfc822_addr_list_free(&list);

	list = parse("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" "
		     "<sysservices@example.net>", 1);
	assert_int_equal(list->count, 2);
	check_mbox(&list->addrs[0], NULL, NULL, "boss", "nil.test");
	assert_true(list->addrs[0].angle);
	check_mbox(&list->addrs[1], "Giant; \"Big\" Box", NULL, "sysservices",
		   "example.net");
	rfc822_addr_list_free(&list);
}

/* RFC 5322 Appendix A.1.3: groups */
static void test_groups(void **state)
{
	struct rfc822_addr_list *list;

	list = parse("A Group:Ed Jones <c@a.test>,joe@where.test,"
		     "John <jdoe@one.test>;", 1);
	assert_int_equal(list->count, 5);
	assert_int_equal(list->mailbox_count, 3);
	assert_int_equal(list->addrs[0].type, RFC822_ADDR_GROUP_START);
	assert_string_equal(list->addrs[0].name, "A Group");
	assert_null(list->addrs[0].local);
	assert_null(list->addrs[0].domain);
	check_mbox(&list->addrs[1], "Ed Jones", NULL, "c", "a.test");
	check_mbox(&list->addrs[2], NULL, NULL, "joe", "where.test");
	check_mbox(&list->addrs[3], "John", NULL, "jdoe", "one.test");
	assert_int_equal(list->addrs[4].type, RFC822_ADDR_GROUP_END);
	assert_null(list->addrs[4].name);
	assert_null(list->addrs[4].local);
	rfc822_addr_list_free(&list);

	list = parse("Undisclosed recipients:;", 1);
	assert_int_equal(list->count, 2);
	assert_int_equal(list->mailbox_count, 0);
	assert_string_equal(list->addrs[0].name, "Undisclosed recipients");
	assert_int_equal(list->addrs[1].type, RFC822_ADDR_GROUP_END);
	rfc822_addr_list_free(&list);

	/* unclosed group, common in real mail: closed silently */
	list = parse("undisclosed-recipients:", 1);
	assert_int_equal(list->count, 2);
	assert_int_equal(list->addrs[1].type, RFC822_ADDR_GROUP_END);
	rfc822_addr_list_free(&list);

	/* addresses after a group, and two groups */
	list = parse("team: a@x, b@y; c@z, other:;", 1);
	assert_int_equal(list->count, 7);
	assert_int_equal(list->mailbox_count, 3);
	check_mbox(&list->addrs[1], NULL, NULL, "a", "x");
	check_mbox(&list->addrs[2], NULL, NULL, "b", "y");
	assert_int_equal(list->addrs[3].type, RFC822_ADDR_GROUP_END);
	check_mbox(&list->addrs[4], NULL, NULL, "c", "z");
	assert_int_equal(list->addrs[5].type, RFC822_ADDR_GROUP_START);
	assert_string_equal(list->addrs[5].name, "other");
	assert_int_equal(list->addrs[6].type, RFC822_ADDR_GROUP_END);
	rfc822_addr_list_free(&list);

	/* nested group: the inner one is flagged, the list goes on */
	list = parse("outer: inner: a@b; c@d", 0);
	assert_int_equal(list->addrs[0].type, RFC822_ADDR_GROUP_START);
	check_invalid(&list->addrs[1], "inner: a@b");
	assert_int_equal(list->addrs[2].type, RFC822_ADDR_GROUP_END);
	check_mbox(&list->addrs[3], NULL, NULL, "c", "d");
	rfc822_addr_list_free(&list);

	/* a group without a name */
	list = parse(": a@b;", 0);
	assert_true(list->addrs[0].invalid);
	rfc822_addr_list_free(&list);
}

/* RFC 5322 Appendix A.5: white space, comments */
static void test_comments(void **state)
{
	struct rfc822_addr_list *list;

	list = parse("Pete(A nice \\) chap) <pete(his account)@silly.test"
		     "(his host)>", 1);
	assert_int_equal(list->count, 1);
	check_mbox(&list->addrs[0], "Pete", NULL, "pete", "silly.test");
	assert_false(list->addrs[0].name_from_comment);
	rfc822_addr_list_free(&list);

	list = parse("A Group(Some people)\r\n     :Chris Jones "
		     "<c@(Chris's host.)public.example>,\r\n"
		     "         joe@example.org,\r\n"
		     "  John <jdoe@one.test> (my dear friend); (the end of "
		     "the group)", 1);
	assert_int_equal(list->count, 5);
	assert_string_equal(list->addrs[0].name, "A Group");
	check_mbox(&list->addrs[1], "Chris Jones", NULL, "c",
		   "public.example");
	check_mbox(&list->addrs[2], NULL, NULL, "joe", "example.org");
	check_mbox(&list->addrs[3], "John", NULL, "jdoe", "one.test");
	assert_int_equal(list->addrs[4].type, RFC822_ADDR_GROUP_END);
	rfc822_addr_list_free(&list);

	/* comment as a display name fallback */
	list = parse("a@b (John Smith), (Jane) c@d, e@f ( )", 1);
	check_mbox(&list->addrs[0], "John Smith", NULL, "a", "b");
	assert_true(list->addrs[0].name_from_comment);
	check_mbox(&list->addrs[1], "Jane", NULL, "c", "d");
	assert_true(list->addrs[1].name_from_comment);
	check_mbox(&list->addrs[2], NULL, NULL, "e", "f");
	assert_false(list->addrs[2].name_from_comment);
	rfc822_addr_list_free(&list);

	/* nested comments, escaped parentheses */
	list = parse("a@b (x (y (z)) \\( w)", 1);
	check_mbox(&list->addrs[0], "x (y (z)) ( w", NULL, "a", "b");
	rfc822_addr_list_free(&list);

	/* folding inside comments and quoted strings is removed, even
	 * after a backslash */
	list = parse("a@b (x\\\r\n y), \"p\\\r\n q\" <c@d>", 1);
	check_mbox(&list->addrs[0], "x y", NULL, "a", "b");
	check_mbox(&list->addrs[1], "p q", NULL, "c", "d");
	rfc822_addr_list_free(&list);

	/* a comment between words separates them */
	list = parse("John(middle)Smith <js@x>", 1);
	check_mbox(&list->addrs[0], "John Smith", NULL, "js", "x");
	rfc822_addr_list_free(&list);
}

/* The phrase with its comments kept (what maildrop's patterns see). */
static void test_phrase_comments(void **state)
{
	struct rfc822_addr_list *list;

	list = parse("Eve (evil) <e@x>, Eve(evil)<f@x>, \"Eve\" (evil) <g@x>,"
		     " (c1) Eve <h@x>, Eve (a)(b) Smith <i@x>, Eve <j@x>,"
		     " J. (x\\) y) R. <k@x>, a@b (c), Eve (a (b)\r\n c) <l@x>",
		     1);
	assert_int_equal(list->count, 9);
	check_mbox(&list->addrs[0], "Eve", NULL, "e", "x");
	assert_string_equal(list->addrs[0].phrase, "Eve (evil)");
	assert_string_equal(list->addrs[1].phrase, "Eve (evil)");
	assert_string_equal(list->addrs[2].phrase, "Eve (evil)");
	assert_string_equal(list->addrs[3].phrase, "(c1) Eve");
	check_mbox(&list->addrs[4], "Eve Smith", NULL, "i", "x");
	assert_string_equal(list->addrs[4].phrase, "Eve (a) (b) Smith");
	/* no comment: no phrase, the name is all of it */
	assert_null(list->addrs[5].phrase);
	assert_string_equal(list->addrs[6].phrase, "J. (x\\) y) R.");
	/* a comment after a bare address is the name, not a phrase */
	check_mbox(&list->addrs[7], "c", NULL, "a", "b");
	assert_null(list->addrs[7].phrase);
	/* nested, folding removed */
	assert_string_equal(list->addrs[8].phrase, "Eve (a (b) c)");
	rfc822_addr_list_free(&list);

	/* a group name keeps its comment too; its members are parsed */
	list = parse("A Group(Some people): x (y) <z@w>;", 1);
	assert_int_equal(list->count, 3);
	assert_string_equal(list->addrs[0].name, "A Group");
	assert_string_equal(list->addrs[0].phrase, "A Group (Some people)");
	assert_string_equal(list->addrs[1].phrase, "x (y)");
	rfc822_addr_list_free(&list);

	/* an invalid entry has none */
	list = parse("Eve (evil) <e@x", 0);
	assert_int_equal(list->count, 1);
	assert_true(list->addrs[0].invalid);
	assert_null(list->addrs[0].phrase);
	rfc822_addr_list_free(&list);

	/* malformed comments around a phrase */
	list = parse("Eve (unterminated <e@x>", 0);
	assert_true(list->addrs[0].invalid);
	assert_null(list->addrs[0].phrase);
	rfc822_addr_list_free(&list);
	list = parse("Eve ) <e@x>, (a)(b)(c) <f@y>", 0);
	assert_true(list->addrs[0].invalid);
	assert_string_equal(list->addrs[1].phrase, "(a) (b) (c)");
	/* no words: the first comment is the name, as for a bare address */
	assert_string_equal(list->addrs[1].name, "a");
	rfc822_addr_list_free(&list);
}

/* RFC 5322 Appendix A.6: obsolete syntax */
static void test_obsolete(void **state)
{
	struct rfc822_addr_list *list;

	list = parse("Joe Q. Public <john.q.public@example.com>", 1);
	check_mbox(&list->addrs[0], "Joe Q. Public", NULL, "john.q.public",
		   "example.com");
	rfc822_addr_list_free(&list);

	list = parse("Mary Smith <@node.test:mary@example.net>, , jdoe@test  "
		     ". example", 1);
	assert_int_equal(list->count, 2);
	check_mbox(&list->addrs[0], "Mary Smith", "@node.test", "mary",
		   "example.net");
	check_mbox(&list->addrs[1], NULL, NULL, "jdoe", "test.example");
	rfc822_addr_list_free(&list);

	list = parse("John Doe <jdoe@machine(comment).  example>", 1);
	check_mbox(&list->addrs[0], "John Doe", NULL, "jdoe",
		   "machine.example");
	rfc822_addr_list_free(&list);

	list = parse("Mary Smith\r\n    \r\n <mary@example.net>", 1);
	check_mbox(&list->addrs[0], "Mary Smith", NULL, "mary",
		   "example.net");
	rfc822_addr_list_free(&list);

	/* route with several hops and empty list elements */
	list = parse("<@route1,@route2:user@host>, <@a, ,@b :u@h>", 1);
	check_mbox(&list->addrs[0], NULL, "@route1,@route2", "user", "host");
	check_mbox(&list->addrs[1], NULL, "@a,@b", "u", "h");
	rfc822_addr_list_free(&list);

	/* obsolete local part with CFWS around dots, odd dots */
	list = parse("john . (x) smith@x, a..b@c, d.@e", 1);
	check_mbox(&list->addrs[0], "x", NULL, "john.smith", "x");
	assert_true(list->addrs[0].name_from_comment);
	check_mbox(&list->addrs[1], NULL, NULL, "a..b", "c");
	check_mbox(&list->addrs[2], NULL, NULL, "d.", "e");
	rfc822_addr_list_free(&list);

	/* leading, trailing and repeated commas */
	list = parse(",,a@b,,,c@d,", 1);
	assert_int_equal(list->count, 2);
	rfc822_addr_list_free(&list);
}

static void test_quoted_and_literals(void **state)
{
	struct rfc822_addr_list *list;

	list = parse("\"john q\"@example.com, \"a\\\"b\\\\c\"@x, "
		     "a.\"b c\".d@e", 1);
	check_mbox(&list->addrs[0], NULL, NULL, "john q", "example.com");
	assert_string_equal(list->addrs[0].local_raw, "\"john q\"");
	check_mbox(&list->addrs[1], NULL, NULL, "a\"b\\c", "x");
	assert_string_equal(list->addrs[1].local_raw, "\"a\\\"b\\\\c\"");
	check_mbox(&list->addrs[2], NULL, NULL, "a.b c.d", "e");
	rfc822_addr_list_free(&list);

	list = parse("user@[192.0.2.1], x <y@[IPv6:2001:db8::1]>, "
		     "z@[ 10.0.0.1 ]", 1);
	check_mbox(&list->addrs[0], NULL, NULL, "user", "[192.0.2.1]");
	check_mbox(&list->addrs[1], "x", NULL, "y", "[IPv6:2001:db8::1]");
	check_mbox(&list->addrs[2], NULL, NULL, "z", "[10.0.0.1]");
	rfc822_addr_list_free(&list);

	/* quoted pairs in a literal are kept, an escaped space included;
	 * invalid UTF-8 is refused */
	list = parse("a@[x\\ y \\\\], b@[\xff]", 0);
	check_mbox(&list->addrs[0], NULL, NULL, "a", "[x\\ y\\\\]");
	check_invalid(&list->addrs[1], "b@[\xff]");
	rfc822_addr_list_free(&list);

	/* quoted display names with specials and folding */
	list = parse("\"Doe, John\" <j@x>, \"a\r\n b\" <c@d>, \"\" <e@f>", 1);
	check_mbox(&list->addrs[0], "Doe, John", NULL, "j", "x");
	check_mbox(&list->addrs[1], "a b", NULL, "c", "d");
	check_mbox(&list->addrs[2], NULL, NULL, "e", "f");
	rfc822_addr_list_free(&list);
}

static void test_null_and_no_domain(void **state)
{
	struct rfc822_addr_list *list;

	list = parse("<>", 1);
	assert_int_equal(list->count, 1);
	assert_true(list->addrs[0].null_addr);
	check_mbox(&list->addrs[0], NULL, NULL, "", NULL);
	rfc822_addr_list_free(&list);

	list = parse("Mail Delivery System < >", 1);
	assert_true(list->addrs[0].null_addr);
	assert_string_equal(list->addrs[0].name, "Mail Delivery System");
	rfc822_addr_list_free(&list);

	list = parse("user, Name <postmaster>, \"quoted user\"", 1);
	assert_int_equal(list->mailbox_count, 3);
	check_mbox(&list->addrs[0], NULL, NULL, "user", NULL);
	check_mbox(&list->addrs[1], "Name", NULL, "postmaster", NULL);
	check_mbox(&list->addrs[2], NULL, NULL, "quoted user", NULL);
	rfc822_addr_list_free(&list);
}

static void test_utf8(void **state)
{
	struct rfc822_addr_list *list;

	list = parse("J\xc3\xb6hn D\xc5\x93 <j@x>, "
		     "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
		     "\xe5\xb9\xbf\xe5\x91\x8a, "
		     "\"\xc3\xa9t\xc3\xa9\" <e@x>", 1);
	check_mbox(&list->addrs[0], "J\xc3\xb6hn D\xc5\x93", NULL, "j", "x");
	check_mbox(&list->addrs[1], NULL, NULL, "\xe7\x94\xa8\xe6\x88\xb7",
		   "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a");
	check_mbox(&list->addrs[2], "\xc3\xa9t\xc3\xa9", NULL, "e", "x");
	rfc822_addr_list_free(&list);

	/* encoded words stay raw */
	list = parse("=?utf-8?q?J=C3=B6hn?= =?utf-8?q?_Doe?= <j@x>", 1);
	check_mbox(&list->addrs[0], "=?utf-8?q?J=C3=B6hn?= =?utf-8?q?_Doe?=",
		   NULL, "j", "x");
	rfc822_addr_list_free(&list);

	/* Latin-1 bytes in a display name are kept; in an address they
	 * are refused */
	list = parse("\xe9t\xe9 <a@b>, a@\xff.com, \xe9@x", 0);
	check_mbox(&list->addrs[0], "\xe9t\xe9", NULL, "a", "b");
	check_invalid(&list->addrs[1], "a@\xff.com");
	check_invalid(&list->addrs[2], "\xe9@x");
	assert_int_equal(list->invalid_count, 2);
	assert_int_equal(list->mailbox_count, 1);
	rfc822_addr_list_free(&list);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"\"unbalanced@x", "(unbalanced comment a@b", "<a@b", "<",
		">", "a@@b", "@@", "@x", "a@", "a@b>", "John Smith",
		"a@b.", "a@b..c", "a@.b", "[1.2.3.4]", ")", "]", "a@b)",
		"\\", "a\x01@b", "a@b c@d", "<a@b> x", "<@:a@b>",
		"<@a a@b>", "a@[1.2", "a@[1[2]", "a b@c", "<a b@c>",
		"\x7f", "<a@b@c>", "a@b;", ";", "x <>y", "a@\"b\"",
	};
	struct rfc822_addr_list *list;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		list = parse(bad[i], 0);
		assert_int_not_equal(list->invalid_count, 0);
		assert_int_equal(list->mailbox_count, 0);
		rfc822_addr_list_free(&list);
	}

	/* recovery: bad elements are skipped up to the next comma */
	list = parse("a@b, bad>, c@d, <x@y, e@f", 0);
	assert_int_equal(list->count, 5);
	check_mbox(&list->addrs[0], NULL, NULL, "a", "b");
	check_invalid(&list->addrs[1], "bad>");
	check_mbox(&list->addrs[2], NULL, NULL, "c", "d");
	check_invalid(&list->addrs[3], "<x@y");
	check_mbox(&list->addrs[4], NULL, NULL, "e", "f");
	assert_int_equal(list->mailbox_count, 3);
	assert_int_equal(list->invalid_count, 2);
	rfc822_addr_list_free(&list);

	/* an unterminated quote or comment eats the rest */
	list = parse("a@b, \"x, y@z", 0);
	assert_int_equal(list->count, 2);
	check_invalid(&list->addrs[1], "\"x, y@z");
	rfc822_addr_list_free(&list);

	/* NUL bytes */
	static const char nul_input[] = "a@b\0c, d@e, \"x\0\"@y";

	list = parse_n(nul_input, sizeof(nul_input) - 1, 0);
	assert_int_equal(list->count, 3);
	assert_true(list->addrs[0].invalid);
	check_mbox(&list->addrs[1], NULL, NULL, "d", "e");
	assert_true(list->addrs[2].invalid);
	rfc822_addr_list_free(&list);

	/* comments nested too deeply */
	{
		struct str s;

		str_init(&s, 128);
		str_append(&s, "a@b ");
		for (int i = 0; i < 40; i++)
			str_append_c(&s, '(');
		for (int i = 0; i < 40; i++)
			str_append_c(&s, ')');
		str_append(&s, ", c@d");
		list = parse(str_c(&s), 0);
		assert_true(list->addrs[0].invalid);
		check_mbox(&list->addrs[1], NULL, NULL, "c", "d");
		rfc822_addr_list_free(&list);
		str_free(&s);
	}
}

static void test_limits(void **state)
{
	struct rfc822_addr_limits limits = {
		.max_input_len = 1000, .max_addresses = 3,
		.max_comment_depth = 2,
	};
	struct rfc822_addr_parser *p = rfc822_addr_parser_create(&limits);
	struct rfc822_addr_list *list;
	const char *error;
	char *big;

	big = xmalloc(1001);
	memset(big, 'a', 1001);
	assert_int_equal(rfc822_addr_parse(p, big, 1001, &list, &error), -1);
	assert_null(list);
	assert_non_null(error);
	assert_int_equal(rfc822_addr_parse(p, big, 1000, &list, &error), 1);
	assert_int_equal(strlen(list->addrs[0].local), 1000);
	assert_null(list->addrs[0].domain);
	rfc822_addr_list_free(&list);
	free(big);

	assert_int_equal(rfc822_addr_parse(p, "a@b, c@d, e@f, g@h", 18,
					   &list, &error), 0);
	assert_true(list->truncated);
	assert_int_equal(list->count, 3);
	rfc822_addr_list_free(&list);

	/* the cut inside a group still closes it */
	assert_int_equal(rfc822_addr_parse(p, "g: a@b, c@d, e@f;", 17,
					   &list, &error), 0);
	assert_true(list->truncated);
	assert_int_equal(list->count, 4);
	assert_int_equal(list->addrs[3].type, RFC822_ADDR_GROUP_END);
	rfc822_addr_list_free(&list);

	assert_int_equal(rfc822_addr_parse(p, "a@b ((x))", 9, &list,
					   &error), 1);
	rfc822_addr_list_free(&list);
	assert_int_equal(rfc822_addr_parse(p, "a@b (((x)))", 11, &list,
					   &error), 0);
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&p);

	/* default limits: a long list with a long header */
	{
		struct str s;

		str_init(&s, 200000);
		for (int i = 0; i < 5000; i++)
			str_printfa(&s, "user%d@host%d.example, ", i, i);
		list = parse(str_c(&s), 1);
		assert_int_equal(list->mailbox_count, 5000);
		assert_string_equal(list->addrs[4999].local, "user4999");
		rfc822_addr_list_free(&list);
		str_free(&s);
	}
}

/* Every prefix of a complex list parses without trouble. */
static void test_every_prefix(void **state)
{
	const char *in = "A Group(Some people):Chris Jones <c@(host)public."
		"example>, \"Joe \\\" Q\" <@r1,@r2:\"j q\"@[1.2.3.4]>, "
		"x@y (Comment (nested));, <>, user";
	size_t len = strlen(in);

	for (size_t n = 0; n <= len; n++) {
		struct rfc822_addr_list *list;
		struct str out;
		int ret = rfc822_addr_parse(parser, in, n, &list, NULL);

		assert_true(ret == 0 || ret == 1);
		assert_true(list->mailbox_count + list->invalid_count <=
			    list->count);
		str_init(&out, 64);
		assert_int_equal(rfc822_addr_list_format(&out, list), 0);
		rfc822_addr_list_free(&list);
		str_free(&out);
	}
}

static char *fmt(const char *in)
{
	struct rfc822_addr_list *list;
	struct str out;
	char *ret;

	rfc822_addr_parse(parser, in, strlen(in), &list, NULL);
	str_init(&out, 64);
	assert_int_equal(rfc822_addr_list_format(&out, list), 0);
	rfc822_addr_list_free(&list);
	ret = str_steal(&out);
	str_free(&out);
	return ret;
}

static void check_fmt(const char *in, const char *want)
{
	char *got = fmt(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_format(void **state)
{
	struct str s;

	str_init(&s, 32);
	rfc822_addr_format_local(&s, "a.b");
	str_append_c(&s, '|');
	rfc822_addr_format_local(&s, "a b");
	str_append_c(&s, '|');
	rfc822_addr_format_local(&s, "a..b");
	str_append_c(&s, '|');
	rfc822_addr_format_local(&s, "");
	str_append_c(&s, '|');
	rfc822_addr_format_local(&s, "a\"b\\");
	str_append_c(&s, '|');
	rfc822_addr_format_local(&s, ".a");
	assert_string_equal(str_c(&s),
			    "a.b|\"a b\"|\"a..b\"|\"\"|\"a\\\"b\\\\\"|\".a\"");
	str_clear(&s);
	rfc822_addr_format_name(&s, "John Doe");
	str_append_c(&s, '|');
	rfc822_addr_format_name(&s, "Joe Q. Public");
	str_append_c(&s, '|');
	rfc822_addr_format_name(&s, "a  b");
	str_append_c(&s, '|');
	rfc822_addr_format_name(&s, "J\xc3\xb6hn");
	str_append_c(&s, '|');
	rfc822_addr_format_name(&s, "=?utf-8?q?x?=");
	assert_string_equal(str_c(&s), "John Doe|\"Joe Q. Public\"|\"a  b\"|"
			    "J\xc3\xb6hn|=?utf-8?q?x?=");
	str_free(&s);

	check_fmt("A Group:Ed Jones <c@a.test>,joe@where.test,"
		  "John <jdoe@one.test>;",
		  "A Group: Ed Jones <c@a.test>, joe@where.test, "
		  "John <jdoe@one.test>;");
	check_fmt("undisclosed-recipients:;", "undisclosed-recipients:;");
	check_fmt("undisclosed-recipients:", "undisclosed-recipients:;");
	check_fmt("\"john q\"@example.com", "\"john q\"@example.com");
	check_fmt("\"john\"@example.com", "john@example.com");
	check_fmt("a@b (John)", "John <a@b>");
	check_fmt("\"Giant; \\\"Big\\\" Box\" <s@x>",
		  "\"Giant; \\\"Big\\\" Box\" <s@x>");
	check_fmt("Joe Q. Public <j@x>", "\"Joe Q. Public\" <j@x>");
	check_fmt("<@r1,@r2:u@h>", "<@r1,@r2:u@h>");
	check_fmt("Name <@r1:u@h>", "Name <@r1:u@h>");
	check_fmt("<>, MAILER-DAEMON <>", "<>, MAILER-DAEMON <>");
	check_fmt("<u@h>", "u@h");
	check_fmt("user, Name <user2>", "user, Name <user2>");
	check_fmt("a@b, bad>, c@d", "a@b, c@d");
	check_fmt("u@[IPv6:::1]", "u@[IPv6:::1]");
	check_fmt("g: a@b, c@d; e@f, h:;", "g: a@b, c@d;, e@f, h:;");
	check_fmt("Pete(A nice \\) chap) <pete(his account)@silly.test"
		  "(his host)>", "Pete <pete@silly.test>");
}

/* format(parse(x)) is a fixed point, and keeps every field. */
static void test_round_trip(void **state)
{
	static const char *const inputs[] = {
		"John Doe <jdoe@machine.example>",
		"\"Joe Q. Public\" <john.q.public@example.com>, "
		"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
		"A Group:Ed Jones <c@a.test>,joe@where.test,John "
		"<jdoe@one.test>;",
		"\"a\\\\b\\\"c\" <\"x y\"@[1.2.3.4]>",
		"<@a,@b:c@d>, <>, user, \"\"@x",
		"\"\x01\tctl\" <a@b>, a@b (comment name)",
		"J\xc3\xb6hn <\xe7\x94\xa8@\xe4\xbe\x8b.test>",
		"g1:;, g2: a@b;, \"g.3\": <>;",
		"=?utf-8?b?w7Y=?= <a@b>, \"a..b\"@c",
	};

	for (size_t i = 0; i < N_ELEMENTS(inputs); i++) {
		struct rfc822_addr_list *l1, *l2;
		char *f1 = fmt(inputs[i]), *f2 = fmt(f1);

		assert_string_equal(f1, f2);
		rfc822_addr_parse(parser, inputs[i], strlen(inputs[i]), &l1,
				  NULL);
		assert_int_equal(rfc822_addr_parse(parser, f1, strlen(f1),
						   &l2, NULL), 1);
		assert_int_equal(l1->count, l2->count);
		for (size_t k = 0; k < l1->count; k++) {
			const struct rfc822_addr *a = &l1->addrs[k];
			const struct rfc822_addr *b = &l2->addrs[k];

			assert_int_equal(a->type, b->type);
			assert_str_or_null(b->name, a->name);
			assert_str_or_null(b->route, a->route);
			assert_str_or_null(b->local, a->local);
			assert_str_or_null(b->domain, a->domain);
			assert_int_equal(a->null_addr, b->null_addr);
		}
		rfc822_addr_list_free(&l1);
		rfc822_addr_list_free(&l2);
		free(f1);
		free(f2);
	}
}

static void test_smtp_form(void **state)
{
	struct rfc822_addr_list *list;
	struct str s;

	list = parse("John <@r:a@b>, <>, \"x y\"@z, user", 1);
	str_init(&s, 32);
	for (size_t i = 0; i < list->count; i++) {
		assert_int_equal(rfc822_addr_format_smtp(&s, &list->addrs[i]),
				 0);
		str_append_c(&s, ' ');
	}
	assert_string_equal(str_c(&s), "<a@b> <> <\"x y\"@z> <user> ");
	str_clear(&s);
	assert_int_equal(rfc822_addr_format_spec(&s, &list->addrs[2]), 0);
	assert_string_equal(str_c(&s), "\"x y\"@z");
	rfc822_addr_list_free(&list);

	/* the size limit of the output string is honoured */
	str_clear(&s);
	str_set_limit(&s, 5);
	list = parse("longname@example.com", 1);
	assert_int_equal(rfc822_addr_list_format(&s, list), -1);
	assert_int_equal(rfc822_addr_format_smtp(&s, &list->addrs[0]), -1);
	rfc822_addr_list_free(&list);
	str_free(&s);
}

static void test_helpers(void **state)
{
	char *local, *domain;

	assert_true(rfc822_addr_domain_equal("Example.COM", "example.com"));
	assert_false(rfc822_addr_domain_equal("example.com", "example.co"));
	assert_true(rfc822_addr_domain_equal(NULL, NULL));
	assert_false(rfc822_addr_domain_equal("a", NULL));

	assert_true(rfc822_addr_local_is_dot_atom("a.b+c"));
	assert_false(rfc822_addr_local_is_dot_atom("a b"));
	assert_false(rfc822_addr_local_is_dot_atom("a."));
	assert_false(rfc822_addr_local_is_dot_atom(""));

	assert_int_equal(rfc822_addr_split("user@Example.com", &local,
					   &domain), 0);
	assert_string_equal(local, "user");
	assert_string_equal(domain, "Example.com");
	free(local);
	free(domain);
	assert_int_equal(rfc822_addr_split("\"a@b\\\"c\"@d", &local,
					   &domain), 0);
	assert_string_equal(local, "a@b\"c");
	assert_string_equal(domain, "d");
	free(local);
	free(domain);
	assert_int_equal(rfc822_addr_split("user", &local, &domain), 0);
	assert_string_equal(local, "user");
	assert_null(domain);
	free(local);
	assert_int_equal(rfc822_addr_split("a@b@c", &local, &domain), 0);
	assert_string_equal(local, "a@b");
	assert_string_equal(domain, "c");
	free(local);
	free(domain);
	assert_int_equal(rfc822_addr_split("\"a@b", &local, &domain), -1);
	assert_null(local);
	assert_int_equal(rfc822_addr_split("a@", &local, &domain), -1);
	assert_int_equal(rfc822_addr_split("@b", &local, &domain), -1);
	assert_null(domain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_rfc_a1),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_phrase_comments),
		cmocka_unit_test(test_obsolete),
		cmocka_unit_test(test_quoted_and_literals),
		cmocka_unit_test(test_null_and_no_domain),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_smtp_form),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
