/* test-pop3-commands.c: unit tests for the POP3 command parser, the
 * message-number parsers and the dot-stuffing/size math (pop3-commands,
 * pop3-stuff). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "pop3-commands.h"
#include "pop3-stuff.h"
#include "str.h"

static int parse(const char *text, struct pop3_command *cmd, char **buf_r,
		 const char **error_r)
{
	size_t len = strlen(text);

	*buf_r = xmemdup(text, len);
	return pop3_command_parse(*buf_r, len, cmd, error_r);
}

static void test_parse_valid(void **state)
{
	struct pop3_command cmd;
	const char *error;
	char *buf;

	(void)state;
	assert_int_equal(parse("STAT", &cmd, &buf, &error), 0);
	assert_int_equal(cmd.def->id, POP3_CMD_STAT);
	assert_int_equal(cmd.argc, 0);
	free(buf);

	assert_int_equal(parse("retr 12", &cmd, &buf, &error), 0);
	assert_int_equal(cmd.def->id, POP3_CMD_RETR);
	assert_int_equal(cmd.argc, 1);
	assert_string_equal(cmd.args[0], "12");
	free(buf);

	assert_int_equal(parse("Top  3   10", &cmd, &buf, &error), 0);
	assert_int_equal(cmd.def->id, POP3_CMD_TOP);
	assert_int_equal(cmd.argc, 2);
	assert_string_equal(cmd.args[0], "3");
	assert_string_equal(cmd.args[1], "10");
	free(buf);

	/* PASS keeps spaces inside the password. */
	assert_int_equal(parse("PASS my secret pw ", &cmd, &buf, &error), 0);
	assert_int_equal(cmd.def->id, POP3_CMD_PASS);
	assert_int_equal(cmd.argc, 1);
	assert_string_equal(cmd.args[0], "my secret pw ");
	free(buf);

	assert_int_equal(parse("AUTH PLAIN AGRlbW8Ac2VjcmV0", &cmd, &buf,
			       &error), 0);
	assert_int_equal(cmd.argc, 2);
	assert_string_equal(cmd.args[1], "AGRlbW8Ac2VjcmV0");
	free(buf);

	assert_int_equal(parse("AUTH", &cmd, &buf, &error), 0);
	assert_int_equal(cmd.argc, 0);
	free(buf);

	assert_int_equal(parse("UIDL", &cmd, &buf, &error), 0);
	free(buf);
	assert_int_equal(parse("LIST 1", &cmd, &buf, &error), 0);
	free(buf);
}

static void test_parse_malformed(void **state)
{
	struct pop3_command cmd;
	const char *error;
	char *buf;

	(void)state;
	const char *bad[] = {
		"", " ", "   STAT", "XYZZY", "STATS", "RETR", "RETR 1 2",
		"TOP 1", "STAT 1", "DELE", "APOP user", "USER", "PASS",
		"QUIT now", "LIST 1 2", "AUTH PLAIN ir extra", "STAT\t",
		"RE\x01TR 1", "STLS x",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		error = NULL;
		assert_int_equal(parse(bad[i], &cmd, &buf, &error), -1);
		assert_non_null(error);
		free(buf);
	}
	/* An embedded NUL is refused, not cut. */
	char nul[] = "RETR 1\0 2";
	assert_int_equal(pop3_command_parse(nul, sizeof(nul) - 1, &cmd,
					    &error), -1);
	/* Too long. */
	char *big = xmalloc(POP3_MAX_LINE + 10);
	memset(big, 'a', POP3_MAX_LINE + 9);
	memcpy(big, "USER ", 5);
	big[POP3_MAX_LINE + 9] = '\0';
	assert_int_equal(pop3_command_parse(big, POP3_MAX_LINE + 9, &cmd,
					    &error), -1);
	free(big);
}

static void test_table_flags(void **state)
{
	(void)state;
	for (size_t i = 0; i < pop3_command_count; i++) {
		const struct pop3_command_def *d = &pop3_command_table[i];

		assert_true((d->flags & (POP3_CMDF_AUTHORIZATION |
					 POP3_CMDF_TRANSACTION)) != 0);
		assert_true(d->min_args <= d->max_args);
		assert_true(d->max_args <= POP3_MAX_ARGS);
		assert_ptr_equal(pop3_command_find(d->name), d);
	}
	assert_true((pop3_command_find("pass")->flags &
		     POP3_CMDF_CLEAR_PASSWORD) != 0);
	assert_true((pop3_command_find("RETR")->flags &
		     POP3_CMDF_AUTHORIZATION) == 0);
	assert_true((pop3_command_find("STLS")->flags &
		     POP3_CMDF_TRANSACTION) == 0);
	assert_null(pop3_command_find("XTND"));
}

static void test_msgnum(void **state)
{
	uint32_t n;
	uint64_t c;

	(void)state;
	assert_int_equal(pop3_parse_msgnum("1", 5, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pop3_parse_msgnum("5", 5, &n), 0);
	assert_int_equal(pop3_parse_msgnum("6", 5, &n), -1);
	assert_int_equal(pop3_parse_msgnum("0", 5, &n), -1);
	assert_int_equal(pop3_parse_msgnum("", 5, &n), -1);
	assert_int_equal(pop3_parse_msgnum("-1", 5, &n), -1);
	assert_int_equal(pop3_parse_msgnum("+1", 5, &n), -1);
	assert_int_equal(pop3_parse_msgnum("1x", 5, &n), -1);
	assert_int_equal(pop3_parse_msgnum("99999999999999999999", UINT32_MAX,
					   &n), -1);
	assert_int_equal(pop3_parse_msgnum("4294967295", UINT32_MAX, &n), 0);
	assert_int_equal(pop3_parse_msgnum("4294967296", UINT32_MAX, &n), -1);
	assert_int_equal(pop3_parse_count("0", &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(pop3_parse_count("123", &c), 0);
	assert_int_equal(c, 123);
	assert_int_equal(pop3_parse_count("999999999999999999999999", &c), 0);
	assert_true(c == UINT64_MAX);
	assert_int_equal(pop3_parse_count("-1", &c), -1);
	assert_int_equal(pop3_parse_count("", &c), -1);
}

/* Encodes msg in pieces of size piece (0 = whole) and returns the body. */
static char *encode(const char *msg, size_t len, bool top, uint64_t n,
		    size_t piece)
{
	struct pop3_stuffer st;
	struct str *out = str_new(64);
	size_t pos = 0;

	pop3_stuffer_init(&st, top, n);
	while (pos < len) {
		size_t k = piece == 0 || len - pos < piece ? len - pos : piece;
		size_t used = pop3_stuff(&st, msg + pos, k, out);

		assert_true(used <= k);
		if (used < k) {
			assert_true(st.done);
			break;
		}
		pos += k;
	}
	pop3_stuff_finish(&st, out);
	char *r = str_steal(out);
	str_destroy(&out);
	return r;
}

static void check_all_splits(const char *msg, bool top, uint64_t n,
			     const char *expect)
{
	size_t len = strlen(msg);

	for (size_t piece = 0; piece <= len + 1; piece++) {
		char *r = encode(msg, len, top, n, piece);
		assert_string_equal(r, expect);
		free(r);
	}
	/* Split in two at every byte. */
	for (size_t cut = 0; cut <= len; cut++) {
		struct pop3_stuffer st;
		struct str *out = str_new(64);

		pop3_stuffer_init(&st, top, n);
		size_t used = pop3_stuff(&st, msg, cut, out);
		if (used == cut && !st.done)
			pop3_stuff(&st, msg + cut, len - cut, out);
		pop3_stuff_finish(&st, out);
		assert_string_equal(str_c(out), expect);
		str_destroy(&out);
	}
}

static void test_stuff_retr(void **state)
{
	(void)state;
	check_all_splits("Subject: a\n\n.hidden\nbody\n..two\n.\n", false, 0,
			 "Subject: a\r\n\r\n..hidden\r\nbody\r\n...two\r\n"
			 "..\r\n.\r\n");
	check_all_splits("A: b\r\n\r\nx\r\n.\r\n", false, 0,
			 "A: b\r\n\r\nx\r\n..\r\n.\r\n");
	/* No final line end: one is added before the dot. */
	check_all_splits("A: b\n\nlast", false, 0,
			 "A: b\r\n\r\nlast\r\n.\r\n");
	check_all_splits("", false, 0, ".\r\n");
	/* A lone CR stays as it is. */
	check_all_splits("A: b\n\na\rb\n", false, 0,
			 "A: b\r\n\r\na\rb\r\n.\r\n");
	/* A dot not at a line start is not stuffed. */
	check_all_splits("a.b\n x.\n", false, 0, "a.b\r\n x.\r\n.\r\n");
}

static void test_stuff_top(void **state)
{
	const char *msg = "H1: a\nH2: b\n\nl1\n.l2\nl3\n";

	(void)state;
	check_all_splits(msg, true, 0, "H1: a\r\nH2: b\r\n\r\n.\r\n");
	check_all_splits(msg, true, 1, "H1: a\r\nH2: b\r\n\r\nl1\r\n.\r\n");
	check_all_splits(msg, true, 2,
			 "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check_all_splits(msg, true, 100,
			 "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	check_all_splits(msg, true, UINT64_MAX,
			 "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* CRLF message, header only, header without blank line. */
	check_all_splits("H: a\r\n\r\nb1\r\nb2\r\n", true, 1,
			 "H: a\r\n\r\nb1\r\n.\r\n");
	check_all_splits("H: a\nH: b\n", true, 0, "H: a\r\nH: b\r\n.\r\n");
	/* A header line that has only a CR inside is not the blank line. */
	check_all_splits("H: a\n\r\r\nx\n\nb\n", true, 0,
			 "H: a\r\n\r\r\nx\r\n\r\n.\r\n");
}

/* The size the encoder's output has once unstuffed equals crlf_size. */
static void test_size_math(void **state)
{
	const char *msgs[] = {
		"a\nb\n", "a\r\nb\r\n", "x\r\r\n\n", ".\n..\n", "\n\n\n",
		"abc\r\ndef\n.g\n", "H: v\n\nbody\n",
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(msgs); i++) {
		size_t len = strlen(msgs[i]);
		bool cr = false;
		uint64_t whole = pop3_crlf_size(msgs[i], len, &cr);

		/* In pieces at every byte: the same total. */
		for (size_t cut = 0; cut <= len; cut++) {
			bool c2 = false;
			uint64_t s = pop3_crlf_size(msgs[i], cut, &c2) +
				     pop3_crlf_size(msgs[i] + cut, len - cut,
						    &c2);
			assert_true(s == whole);
		}
		/* Unstuff the encoded body as a client would. */
		char *enc = encode(msgs[i], len, false, 0, 0);
		uint64_t got = 0;
		char *line = enc;
		for (;;) {
			char *end = strstr(line, "\r\n");
			assert_non_null(end);
			size_t l = (size_t)(end - line);
			if (l == 1 && line[0] == '.')
				break;
			if (line[0] == '.')
				l--;
			got += l + 2;
			line = end + 2;
		}
		assert_true(got == whole);
		free(enc);
	}
}

static void test_lang_match(void **state)
{
	(void)state;
	assert_string_equal(pop3_lang_match("en"), "en");
	assert_string_equal(pop3_lang_match("EN"), "en");
	assert_string_equal(pop3_lang_match("en-GB"), "en");
	assert_string_equal(pop3_lang_match("en-GB-oxendict"), "en");
	assert_string_equal(pop3_lang_match("*"), "en");
	assert_string_equal(pop3_lang_match("i-default"), "i-default");
	assert_string_equal(pop3_lang_match("i"), "i-default");
	assert_null(pop3_lang_match(NULL));
	assert_null(pop3_lang_match(""));
	assert_null(pop3_lang_match("de"));
	assert_null(pop3_lang_match("e"));
	assert_null(pop3_lang_match("en-"));
	assert_null(pop3_lang_match("-en"));
	assert_null(pop3_lang_match("en--GB"));
	assert_null(pop3_lang_match("en GB"));
	assert_null(pop3_lang_match("**"));
	assert_null(pop3_lang_match("en_GB"));
	assert_null(pop3_lang_match("\xc3\xa9n"));
	char longer[200];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_null(pop3_lang_match(longer));
	memcpy(longer, "en-", 3);
	assert_null(pop3_lang_match(longer));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_table_flags),
		cmocka_unit_test(test_msgnum),
		cmocka_unit_test(test_stuff_retr),
		cmocka_unit_test(test_stuff_top),
		cmocka_unit_test(test_size_math),
		cmocka_unit_test(test_lang_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
