/* test-maildrop-parse.c: unit tests for the maildrop filter-file lexer and
 * parser: statements, expressions, file:line errors, malformed input and
 * limits. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mdparse.h"
#include "mem.h"
#include "str.h"

static struct md_node *parse(const char *text, char **error_r)
{
	struct md_parser *p = md_parser_create(NULL);
	struct md_node *n = md_parse(p, "f", text, strlen(text));

	if (error_r != NULL)
		*error_r = n == NULL ? xstrdup(md_parser_error(p)) : NULL;
	md_parser_destroy(&p);
	return n;
}

static void assert_parses(const char *text)
{
	char *err;
	struct md_node *n = parse(text, &err);

	if (n == NULL)
		fail_msg("%s: %s", text, err);
	md_node_free(&n);
	assert_null(n);
}

static void assert_error(const char *text, const char *error)
{
	char *err;
	struct md_node *n = parse(text, &err);

	if (n != NULL)
		fail_msg("parsed: %s", text);
	assert_string_equal(err, error);
	free(err);
}

static void test_statements(void **state)
{
	(void)state;
	assert_parses("");
	assert_parses("\n\n# comment only\n");
	assert_parses("X=1\nY = \"a $X ${X}\"\nZ='lit'\n");
	assert_parses("MAILDIR=/var/mail\nto $HOME/Maildir/\ncc \"mbox\"\n");
	assert_parses("if (/^Subject: x/)\n{\n to Maildir\n}\nelse\n{\n exit\n}\n");
	assert_parses("if (/a/)\n{ echo 1\n}\nelsif (/b/)\n{ echo 2 ; }\nelse\n{\n echo 3\n}\n");
	assert_parses("if (0) ; echo 1 ; else ; echo 2\n{\n}\n{ ; }\n{}\n");
	assert_parses("echo a}b -x 7 -5 a{\n");
	assert_parses("if (1)\n  echo one\necho two\n");
	assert_parses("while ($I < 3)\n{\n I=$I + 1\n}\n");
	assert_parses("foreach /^To: .*/\n{\n echo $MATCH\n}\n");
	assert_parses("foreach (getaddr $MATCH) =~ /.+/\n{\n echo $MATCH\n}\n");
	assert_parses("foreach (/^To: .*/:h)\n{\n echo $MATCH\n}\n");
	assert_parses("foreach ($X =~ /a(b)/)\n{\n echo $MATCH\n}\n");
	assert_parses("exception {\n to /nonexistent/x\n}\n");
	assert_parses("dotlock \"lock\" {\n echo x\n}\nflock \"f\" {\n echo y\n}\n");
	assert_parses("xfilter \"reformail -A 'X-A: b'\"\nsystem \"true\"\n");
	assert_parses("include \"other\"\nimport PATH\nunset X\nlog \"x\"\nlogfile \"l\"\n");
	assert_parses("X=`echo hi`\n");
	assert_parses("to \"| cat\"\nto \"!user@example.com\"\n");
	assert_parses("gdbmopen(\"db\", \"C\")\nX=gdbmfetch(\"k\", \"D\", \"def\")\ngdbmstore(\"k\", \"v\")\ngdbmclose\n");
	assert_parses("X=time\nY=substr($X, 1, 2)\nZ=lookup($X, \"f\", \"D\")\n");
	assert_parses("X=(/a/:hbD,1,0.5 && !/b/:b || \"x\" =~ /y/:D)\n");
	assert_parses("X=1; Y=2; if ($X lt $Y) ; echo \"lt\"\n");
	assert_parses("TEXT=\"long \\\n   text\"\n");
	assert_parses("X=1 + \\\n 2\n");
	assert_parses("\"QUOTED\"=1\n");
}

static void test_tree(void **state)
{
	struct md_node *n = parse("X=1 + 2 * 3\n", NULL);
	struct md_node *e;

	(void)state;
	assert_non_null(n);
	assert_int_equal(n->type, MD_BLOCK);
	assert_int_equal(n->nkids, 1);
	assert_int_equal(n->kids[0]->type, MD_ASSIGN);
	assert_string_equal(n->kids[0]->str, "X");
	e = n->kids[0]->a;
	assert_int_equal(e->type, MD_BINARY);
	assert_int_equal(e->op, MD_OP_ADD);
	assert_int_equal(e->b->type, MD_BINARY);
	assert_int_equal(e->b->op, MD_OP_MUL);
	md_node_free(&n);

	/* a slash after VAR= and after "to" is text, elsewhere a pattern */
	n = parse("X=/abc/\nY=(/abc/:b,2,3)\nto /var/mail/x\n", NULL);
	assert_non_null(n);
	assert_int_equal(n->kids[0]->a->type, MD_TEXT);
	e = n->kids[1]->a;
	assert_int_equal(e->type, MD_PATTERN);
	assert_string_equal(e->str, "abc");
	assert_int_equal(e->flags, MD_PAT_BODY | MD_PAT_WEIGHTED);
	assert_true(e->weight == 2 && e->factor == 3);
	assert_int_equal(n->kids[2]->a->type, MD_TEXT);
	md_node_free(&n);

	/* "5 / 2" divides; "1/3" is one word; adjacent text concatenates */
	n = parse("X=5 / 2\nY=1/3\nZ=a \"b\" 'c'\n", NULL);
	assert_non_null(n);
	assert_int_equal(n->kids[0]->a->op, MD_OP_DIV);
	assert_int_equal(n->kids[1]->a->type, MD_TEXT);
	assert_int_equal(n->kids[2]->a->nkids, 3);
	md_node_free(&n);
}

static void test_errors(void **state)
{
	(void)state;
	assert_error("X=\"abc\n\n", "f:1: unterminated quoted string");
	assert_error("\n\nif (/x/\n", "f:3: syntax error: ')' expected");
	assert_error("if (1)\n{\n echo x\n", "f:2: syntax error: missing '}'");
	assert_error("echo 1\nelse\n", "f:2: syntax error: else without if");
	/* comparisons do not chain: the context reports it */
	assert_error("\nX=1 < 2 < 3\n", "f:2: syntax error");
	assert_error("X=(1 < 2 < 3)\n", "f:1: syntax error: ')' expected");
	assert_error("X=substr(\"a\")\n", "f:1: syntax error: ',' expected");
	assert_error("X=substr(\"a\", 1, 2, 3)\n", "f:1: syntax error: ')' expected");
	assert_error("X=time()\n", "f:1: syntax error");
	assert_error("X=(/abc\n", "f:1: unterminated pattern");
	assert_error("X=length(1, 2)\n", "f:1: syntax error: ')' expected");
	assert_error("\n\n\nfoo(\n", "f:4: syntax error");
	assert_error("\n}\n", "f:2: syntax error");
	assert_error("X=1 +\n", "f:1: syntax error: unexpected end of line");
	assert_error("X=\"d\" length(\"abc\")\n", "f:1: syntax error");
	/* an odd character fails where it stands, as Debian's */
	assert_error("X=\x01\n", "f:1: syntax error");
	assert_error("X=(1 ^ 2)\n", "f:1: syntax error: ')' expected");
	assert_error("foreach \"x\"\n{\n}\n", "f:1: syntax error: pattern expected after foreach");
	assert_error("foreach (\"x\")\n{\n}\n", "f:1: syntax error: '=~' expected");
	assert_error("foreach (1 + 2)\n{\n}\n", "f:1: syntax error: '=~' expected");
	assert_error("X=\"a\" =~ \"b\"\n", "f:1: syntax error: pattern expected after =~");
	assert_error("import 'a b'\n", "f:1: syntax error: variable name expected");
	assert_error("X=(/a/:b,)\n", "f:1: bad pattern weight");
	assert_error("if (1) {\n", "f:1: syntax error after ')'");
	/* what Debian's maildrop refuses: the line must end after if (...),
	 * else, while (...), foreach, '}', and a statement before '}' */
	assert_error("if (1) echo x\n", "f:1: syntax error after ')'");
	assert_error("if (1)\n{\n}\nelse echo x\n", "f:4: syntax error after else");
	assert_error("if (1)\n{\n} else\n{\n}\n", "f:3: syntax error after '}'");
	assert_error("while (0) echo x\n", "f:1: syntax error after else");
	assert_error("foreach /x/ { echo x }\n", "f:1: syntax error");
	assert_error("{\n echo x }\n", "f:2: syntax error");
	assert_error("exception\n{\n}\n", "f:1: syntax error: '{' expected");
	assert_error("X=1 = 2\n", "f:1: syntax error before '='");
	assert_error("echo - 1\n", "f:1: syntax error");
	assert_error("{ echo x ;\n", "f:1: syntax error: missing '}'");
	/* keywords are never text; VAR= needs a value; a line end in
	 * quotes must be escaped; Debian's texts for a missing '(' */
	assert_error("echo to\n", "f:1: syntax error");
	assert_error("X=else\n", "f:1: syntax error");
	assert_error("echo a eq\n", "f:1: syntax error: unexpected end of line");
	assert_error("to=1\n", "f:1: syntax error");
	assert_error("X=\necho x\n", "f:1: syntax error: unexpected end of line");
	assert_error("\nX=\"a\nb\"\n", "f:2: unterminated quoted string");
	assert_error("X='a\nb'\n", "f:1: unterminated quoted string");
	assert_error("if 1\n", "f:1: syntax error after if");
	assert_error("while 1\n", "f:1: syntax error after while");
	assert_error("X=substr \"a\"\n", "f:1: syntax error: '(' expected");
	assert_error("X=gdbmfetch\n", "f:1: syntax error: '(' expected after gdbm function");
	assert_parses("X=\"a \\\n  b\"\nY='a\\\\b'\nZ=\"to\"\nW=gdbmclose\n");
	/* assignments inside expressions, as Debian's */
	assert_parses("if (X = \"b\")\n{\n}\necho N=5\nZ=(W=3) + 1\nA=(B=(C=2))\n"
		      "echo substr(\"abc\", S=1)\n");
	assert_error("echo Z=Y=4\n", "f:1: syntax error before '='");
	assert_error("echo 'K'=v\n", "f:1: syntax error before '='");
	assert_parses("echo length(A=1)\n");
	assert_error("echo length(A=1) $A\n", "f:1: syntax error");
	assert_error("if (X=)\n{\n}\n", "f:1: syntax error");
	assert_error("X=1\n\\\nY=`unterminated\n", "f:3: unterminated quoted string");
}

static void test_limits(void **state)
{
	struct md_parse_limits limits = { .max_input = 100, .max_depth = 8,
					  .max_nodes = 50 };
	struct md_parser *p = md_parser_create(&limits);
	char big[200];
	struct str s;

	(void)state;
	memset(big, '#', sizeof(big));
	assert_null(md_parse(p, "f", big, sizeof(big)));
	assert_string_equal(md_parser_error(p), "f:1: filter file too large");
	assert_null(md_parse(p, "f", "X=((((((((((1))))))))))\n", 24));
	assert_string_equal(md_parser_error_message(p), "nesting too deep");
	str_init(&s, 100);
	for (int i = 0; i < 30; i++)
		str_append(&s, "X=1+1\n");
	limits.max_input = 0;
	md_parser_destroy(&p);
	p = md_parser_create(&limits);
	assert_null(md_parse(p, "f", str_c(&s), str_len(&s)));
	assert_string_equal(md_parser_error_message(p),
			    "filter too large (too many nodes)");
	str_free(&s);
	md_parser_destroy(&p);
	assert_null(p);
}

/* Every truncation and every single-byte corruption of a valid program
 * either parses or fails with a file:line error: never a crash. */
static void test_every_prefix(void **state)
{
	const char *prog =
		"# test\nX=\"a$B\" 'c' `d`\nif (/^S: (.*)/:hD,1,2 && $X lt 3)\n"
		"{\n to \"Maildir/\"\n} else {\n foreach (getaddr $X) =~ /./\n"
		" {\n  Y=${Y}x\n }\n}\nexception {\n xfilter \"cat\"\n}\n";
	size_t len = strlen(prog);
	struct md_parser *p = md_parser_create(NULL);

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		struct md_node *n = md_parse(p, "f", prog, i);

		if (n == NULL)
			assert_true(strncmp(md_parser_error(p), "f:", 2) == 0);
		md_node_free(&n);
	}
	for (size_t i = 0; i < len; i++) {
		static const char subst[] = "\"'`/(){}\\\n;$=!~|&";
		char *copy = xstrdup(prog);

		for (size_t k = 0; k < sizeof(subst) - 1; k++) {
			struct md_node *n;

			copy[i] = subst[k];
			n = md_parse(p, "f", copy, len);
			if (n == NULL)
				assert_true(md_parser_error_line(p) >= 1);
			md_node_free(&n);
		}
		free(copy);
	}
	md_parser_destroy(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statements),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_every_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
