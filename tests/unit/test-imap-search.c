/* test-imap-search.c: unit tests for the IMAP search program parser
 * (every key, RETURN, CHARSET, limits, malformed programs), the text
 * folding, the three-valued evaluator and the content loader (encoded
 * headers, base64/QP bodies, non-UTF-8 charsets, attached messages). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap-parser.h"
#include "imap-search.h"
#include "mail-index.h"
#include "mem.h"
#include "str.h"

struct parsed {
	struct imap_parser *parser;
	struct imap_search_program *prog;
	enum imap_search_parse_result result;
	const char *error;
};

/* Parses "t SEARCH <keys>" with the command parser, then the keys. */
static void parse(struct parsed *p, const char *keys, bool allow_return,
		  const char *charset)
{
	struct imap_parser_settings set = { .max_line = 0 };
	char *line = xasprintf("t SEARCH %s\r\n", keys);
	size_t used, count;

	memset(p, 0, sizeof(*p));
	p->parser = imap_parser_create(&set);
	size_t off = 0, len = strlen(line);
	enum imap_parse_result r;

	/* literals are accepted as they come */
	do {
		r = imap_parser_feed(p->parser, line + off, len - off, &used);
		off += used;
	} while (r == IMAP_PARSE_LITERAL ||
		 (r == IMAP_PARSE_MORE && off < len));
	free(line);
	if (r != IMAP_PARSE_DONE) {
		/* not even a command line ("(SEEN", a trailing space) */
		p->result = IMAP_SEARCH_PARSE_BAD;
		return;
	}
	const struct imap_arg *args = imap_parser_args(p->parser, &count);
	struct imap_search_parse_opts opts = {
		.allow_return = allow_return,
		.charset = charset,
	};
	p->result = imap_search_parse(args + 1, count - 1, &opts, &p->prog,
				      &p->error);
}

static void parsed_free(struct parsed *p)
{
	imap_search_program_free(&p->prog);
	imap_parser_destroy(&p->parser);
}

static enum imap_search_parse_result parse_result(const char *keys)
{
	struct parsed p;

	parse(&p, keys, true, NULL);
	enum imap_search_parse_result r = p.result;
	if (r != IMAP_SEARCH_PARSE_OK)
		assert_null(p.prog);
	parsed_free(&p);
	return r;
}

static void test_parse_every_key(void **state)
{
	static const char *const ok[] = {
		"ALL", "ANSWERED", "BCC x", "BEFORE 1-Feb-1994",
		"BODY \"hello world\"", "CC x", "DELETED", "DRAFT", "FLAGGED",
		"FROM smith", "HEADER X-Spam yes", "HEADER List-Id \"\"",
		"KEYWORD $Forwarded", "LARGER 1000", "NEW", "NOT SEEN", "OLD",
		"ON 01-Jan-2020", "OR SEEN FLAGGED", "RECENT", "SEEN",
		"SENTBEFORE \"1-Feb-1994\"", "SENTON 1-Feb-1994",
		"SENTSINCE 1-Feb-1994", "SINCE 1-Feb-1994", "SMALLER 5",
		"SUBJECT {3}\r\nabc", "TEXT x", "TO x", "UID 1:*,7",
		"UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED",
		"UNKEYWORD Junk", "UNSEEN", "1,3:5,*", "$", "UID $",
		"(SEEN (FLAGGED DELETED))", "MODSEQ 12345",
		"MODSEQ \"/flags/\\\\draft\" all 620162338", "OLDER 3600",
		"YOUNGER 60", "seen unseen not (or 1 2)",
		"OR OR OR 1 2 3 4",
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(ok); i++) {
		if (parse_result(ok[i]) != IMAP_SEARCH_PARSE_OK)
			fail_msg("refused: %s", ok[i]);
	}
}

static void test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"", "NOSUCHKEY", "BEFORE", "BEFORE 30-Feb-2020",
		"BEFORE yesterday", "LARGER", "LARGER -1", "LARGER 1x",
		"LARGER 99999999999", "OR SEEN", "OR", "NOT", "HEADER X",
		"HEADER \"\" x", "KEYWORD", "KEYWORD (a)", "KEYWORD \\Seen",
		"UID", "UID x", "UID (1)", "0", "1:0x", "()", "(SEEN",
		"\"SEEN\"", "NIL", "FROM (a)", "SUBJECT", "BODY", "MODSEQ",
		"MODSEQ x", "MODSEQ \"/flags/x\" bogus 5",
		"MODSEQ 99999999999999999999", "OLDER 0", "YOUNGER x",
		"RETURN (MIN)", "RETURN (BOGUS) ALL", "RETURN MIN ALL",
		"RETURN (PARTIAL) ALL", "RETURN (PARTIAL 1) ALL",
		"RETURN (PARTIAL 0:5) ALL", "RETURN (PARTIAL 1:*) ALL",
		"RETURN (PARTIAL 1:2:3) ALL", "RETURN (PARTIAL -1:5) ALL",
		"RETURN (PARTIAL 1:99999999999) ALL",
		"RETURN (PARTIAL \"1:5\") ALL", "RETURN (PARTIAL 1:) ALL",
		"RETURN (PARTIAL 1:5 ALL) ALL",
		"RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL",
		"RETURN (UPDATE BOGUS) ALL", "RETURN (CONTEXT 1) ALL",
		"CHARSET", "CHARSET (x) ALL", "SEEN CHARSET UTF-8",
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (parse_result(bad[i]) != IMAP_SEARCH_PARSE_BAD)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_parse_charset_return(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse_result("CHARSET X-NO-SUCH-CHARSET ALL"),
			 IMAP_SEARCH_PARSE_BADCHARSET);
	assert_int_equal(parse_result("CHARSET us-ascii ALL"),
			 IMAP_SEARCH_PARSE_OK);
	assert_int_equal(parse_result("CHARSET \"utf-8\" ALL"),
			 IMAP_SEARCH_PARSE_OK);

	parse(&p, "RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 ALL", true,
	      NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
	assert_true(p.prog->has_return);
	assert_int_equal(p.prog->return_opts,
			 IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX |
				 IMAP_SEARCH_RETURN_COUNT |
				 IMAP_SEARCH_RETURN_SAVE);
	parsed_free(&p);

	parse(&p, "RETURN () ALL", true, NULL);
	assert_int_equal(p.prog->return_opts, IMAP_SEARCH_RETURN_ALL);
	parsed_free(&p);

	/* PARTIAL (RFC 5267): either order, kept as lo <= hi */
	parse(&p, "RETURN (COUNT PARTIAL 500:101) ALL", true, NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
	assert_int_equal(p.prog->return_opts, IMAP_SEARCH_RETURN_COUNT |
						      IMAP_SEARCH_RETURN_PARTIAL);
	assert_int_equal(p.prog->partial_lo, 101);
	assert_int_equal(p.prog->partial_hi, 500);
	parsed_free(&p);
	parse(&p, "RETURN (partial 4294967295:4294967295) ALL", true, NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
	assert_int_equal(p.prog->partial_lo, 4294967295u);
	parsed_free(&p);

	/* CONTEXT=SEARCH (RFC 5267 4.2, 4.3) */
	parse(&p, "RETURN (CONTEXT UPDATE COUNT) ALL", true, NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
	assert_int_equal(p.prog->return_opts, IMAP_SEARCH_RETURN_CONTEXT |
						      IMAP_SEARCH_RETURN_UPDATE |
						      IMAP_SEARCH_RETURN_COUNT);
	parsed_free(&p);

	/* RETURN is not allowed for SORT/THREAD */
	parse(&p, "RETURN () ALL", false, "UTF-8");
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_BAD);
	parsed_free(&p);

	/* SORT's charset: CHARSET is then a key (unknown) */
	parse(&p, "ALL", false, "ISO-8859-1");
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
	parsed_free(&p);
	parse(&p, "ALL", false, "NO-SUCH-CHARSET-X");
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_BADCHARSET);
	parsed_free(&p);

	/* strings are converted from the charset and folded */
	parse(&p, "CHARSET ISO-8859-1 SUBJECT {5}\r\n\xc9T\xc9 ", true, NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
	const struct imap_search_key *k = p.prog->root->child;
	assert_int_equal(k->type, IMAP_SEARCH_HEADER);
	assert_string_equal(k->value, "\xc3\xa9t\xc3\xa9 ");
	parsed_free(&p);
}

static void test_parse_limits(void **state)
{
	struct str s;

	(void)state;
	/* nesting: NOT NOT NOT ... past the depth limit */
	str_init(&s, 1024);
	for (int i = 0; i < 150; i++)
		str_append(&s, "NOT ");
	str_append(&s, "SEEN");
	assert_int_equal(parse_result(str_c(&s)), IMAP_SEARCH_PARSE_BAD);
	str_clear(&s);
	for (int i = 0; i < 50; i++)
		str_append(&s, "NOT ");
	str_append(&s, "SEEN");
	assert_int_equal(parse_result(str_c(&s)), IMAP_SEARCH_PARSE_OK);
	str_free(&s);

	/* key count */
	struct parsed p;
	struct imap_parser_settings set = { .max_line = 0 };
	struct imap_parser *parser = imap_parser_create(&set);
	struct str line;
	size_t used, count;

	str_init(&line, 8192);
	str_append(&line, "t SEARCH");
	for (int i = 0; i < 100; i++)
		str_append(&line, " SEEN");
	str_append(&line, "\r\n");
	assert_int_equal(imap_parser_feed(parser, str_c(&line),
					  str_len(&line), &used),
			 IMAP_PARSE_DONE);
	const struct imap_arg *args = imap_parser_args(parser, &count);
	struct imap_search_parse_opts opts = { .limits = { .max_keys = 50 } };
	assert_int_equal(imap_search_parse(args + 1, count - 1, &opts,
					   &p.prog, &p.error),
			 IMAP_SEARCH_PARSE_BAD);
	assert_null(p.prog);
	opts.limits.max_keys = 200;
	assert_int_equal(imap_search_parse(args + 1, count - 1, &opts,
					   &p.prog, &p.error),
			 IMAP_SEARCH_PARSE_OK);
	imap_search_program_free(&p.prog);
	imap_parser_destroy(&parser);
	str_free(&line);
}

static void test_fold(void **state)
{
	struct str out;
	struct imap_search_fold st = { .space = false };

	(void)state;
	str_init(&out, 64);
	imap_search_fold(NULL, "Hello \t\r\n  WORLD", 16, &out);
	assert_string_equal(str_c(&out), "hello world");
	str_clear(&out);
	/* Latin-1, Latin Extended-A, Greek, Cyrillic */
	imap_search_fold(NULL, "\xc3\x89\xc3\x96 \xc5\x81 \xce\xa3 \xd0\x96",
			 13, &out);
	assert_string_equal(str_c(&out),
			    "\xc3\xa9\xc3\xb6 \xc5\x82 \xcf\x83 \xd0\xb6");
	str_clear(&out);
	/* invalid UTF-8 passes through */
	imap_search_fold(NULL, "A\xff\xc3", 3, &out);
	assert_memory_equal(str_c(&out), "a\xff\xc3", 3);
	str_clear(&out);
	/* whitespace state across calls */
	imap_search_fold(&st, "a ", 2, &out);
	imap_search_fold(&st, "\r\nB", 3, &out);
	assert_string_equal(str_c(&out), "a b");
	str_free(&out);
	assert_int_equal(imap_search_fold_cp(0x178), 0xff);
	assert_int_equal(imap_search_fold_cp(0x130), 'i');
	assert_int_equal(imap_search_fold_cp(0x3c2), 0x3c3);
	assert_int_equal(imap_search_fold_cp(0x401), 0x451);
	assert_int_equal(imap_search_fold_cp(0x4e9), 0x4e9);
}

static int lookup_kw(const char *name, uint32_t *id_r, void *context)
{
	(void)context;
	if (strcasecmp(name, "$Forwarded") == 0) {
		*id_r = 3;
		return 1;
	}
	return 0;
}

static int eval(const char *keys, const struct imap_search_msg *msg,
		const char *message)
{
	struct parsed p;
	struct imap_search_env env = {
		.msg_count = 10, .max_uid = 100, .now = 1000000,
	};
	static const uint32_t saved[] = { 5, 50, 70 };
	int r;

	env.saved = saved;
	env.saved_count = N_ELEMENTS(saved);
	parse(&p, keys, true, NULL);
	if (p.result != IMAP_SEARCH_PARSE_OK)
		fail_msg("parse failed: %s: %s", keys, p.error);
	imap_search_bind_keywords(p.prog, lookup_kw, NULL);
	r = imap_search_eval(p.prog, &env, msg, NULL);
	if (r == IMAP_SEARCH_NEED_CONTENT) {
		assert_non_null(message);
		struct imap_search_content *c = imap_search_content_from_buffer(
			p.prog, message, strlen(message));
		r = imap_search_eval(p.prog, &env, msg, c);
		assert_true(r == 0 || r == 1);
		imap_search_content_free(&c);
		r += 10;	/* content was needed */
	}
	parsed_free(&p);
	return r;
}

static void test_eval_record(void **state)
{
	static const uint32_t kws[] = { 1, 3 };
	struct imap_search_msg m = {
		.seq = 4, .uid = 50, .flags = MAIL_INDEX_SEEN |
					     MAIL_INDEX_FLAGGED,
		.recent = true, .size = 2000, .modseq = 77,
		/* 2020-01-02 03:04:05 UTC */
		.internal_date = 1577934245, .keywords = kws,
		.keyword_count = 2,
	};

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(eval("ALL", &m, NULL), 1);
	assert_int_equal(eval("SEEN", &m, NULL), 1);
	assert_int_equal(eval("UNSEEN", &m, NULL), 0);
	assert_int_equal(eval("FLAGGED SEEN", &m, NULL), 1);
	assert_int_equal(eval("ANSWERED", &m, NULL), 0);
	assert_int_equal(eval("UNANSWERED UNDELETED UNDRAFT", &m, NULL), 1);
	assert_int_equal(eval("NEW", &m, NULL), 0);
	assert_int_equal(eval("OLD", &m, NULL), 0);
	assert_int_equal(eval("RECENT", &m, NULL), 1);
	assert_int_equal(eval("KEYWORD $forwarded", &m, NULL), 1);
	assert_int_equal(eval("KEYWORD $Junk", &m, NULL), 0);
	assert_int_equal(eval("UNKEYWORD $Junk", &m, NULL), 1);
	assert_int_equal(eval("LARGER 1999 SMALLER 2001", &m, NULL), 1);
	assert_int_equal(eval("LARGER 2000", &m, NULL), 0);
	assert_int_equal(eval("ON 2-Jan-2020", &m, NULL), 1);
	assert_int_equal(eval("SINCE 2-Jan-2020 BEFORE 3-Jan-2020", &m, NULL),
			 1);
	assert_int_equal(eval("BEFORE 2-Jan-2020", &m, NULL), 0);
	assert_int_equal(eval("4", &m, NULL), 1);
	assert_int_equal(eval("1:3,5:*", &m, NULL), 0);
	assert_int_equal(eval("*:4", &m, NULL), 1);
	assert_int_equal(eval("UID 50", &m, NULL), 1);
	assert_int_equal(eval("UID 51:*", &m, NULL), 0);
	assert_int_equal(eval("$", &m, NULL), 1);
	assert_int_equal(eval("NOT $", &m, NULL), 0);
	assert_int_equal(eval("MODSEQ 77", &m, NULL), 1);
	assert_int_equal(eval("MODSEQ 78", &m, NULL), 0);
	assert_int_equal(eval("OR ANSWERED 4", &m, NULL), 1);
	assert_int_equal(eval("OR ANSWERED DELETED", &m, NULL), 0);
	assert_int_equal(eval("NOT (SEEN ANSWERED)", &m, NULL), 1);
	m.internal_date = 1000000 - 100;
	assert_int_equal(eval("YOUNGER 100", &m, NULL), 1);
	assert_int_equal(eval("OLDER 101", &m, NULL), 0);
	assert_int_equal(eval("OLDER 50", &m, NULL), 1);
	m.flags = 0;
	assert_int_equal(eval("NEW", &m, NULL), 1);
	/* content keys short-circuit when the record decides */
	assert_int_equal(eval("SEEN FROM x", &m, NULL), 0);
	assert_int_equal(eval("OR UNSEEN BODY x", &m, NULL), 1);
	assert_int_equal(eval("BODY \"\"", &m, NULL), 1);
}

static const char msg_plain[] =
	"From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.org>\r\n"
	"To: Alice <alice@example.com>, bob@example.net\r\n"
	"Cc: carol@example.com\r\n"
	"Subject: =?UTF-8?B?w5xiZXIgZGllIEdyw7zDn2U=?=\r\n"
	"Date: Sun, 01 Mar 2020 23:30:00 -0500\r\n"
	"X-Mailer: Test\r\n"
	"\r\n"
	"Hello   World,\r\nthis is the body.\r\n";

static const char msg_multi[] =
	"From: x@example.com\r\n"
	"Subject: multipart\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Gr=FC=DFe aus K=F6ln, a soft=\r\nbreak\r\n"
	"--b1\r\n"
	"Content-Type: text/html; charset=koi8-r\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"8NLJ18XU\r\n"
	"--b1\r\n"
	"Content-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"c2VjcmV0YmluYXJ5\r\n"
	"--b1\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: =?UTF-8?Q?inner_=C3=A9t=C3=A9?=\r\n"
	"\r\n"
	"inner body text\r\n"
	"--b1--\r\n";

static void test_eval_content(void **state)
{
	struct imap_search_msg m = { .seq = 1, .uid = 1 };

	(void)state;
	/* encoded headers, decoded and folded */
	assert_int_equal(eval("FROM \"j\xc3\xb6rg\"", &m, msg_plain), 11);
	assert_int_equal(eval("FROM \"J\xc3\x96RG M\xc3\x9c\"", &m,
			      msg_plain), 11);
	assert_int_equal(eval("FROM joerg@example", &m, msg_plain), 11);
	assert_int_equal(eval("CHARSET ISO-8859-1 FROM {4}\r\nJ\xf6rg", &m,
			      msg_plain), 11);
	assert_int_equal(eval("SUBJECT \"gr\xc3\xbc\xc3\x9f\"", &m,
			      msg_plain), 11);
	assert_int_equal(eval("TO bob", &m, msg_plain), 11);
	assert_int_equal(eval("CC carol", &m, msg_plain), 11);
	assert_int_equal(eval("BCC carol", &m, msg_plain), 10);
	assert_int_equal(eval("HEADER x-mailer test", &m, msg_plain), 11);
	assert_int_equal(eval("HEADER X-Mailer \"\"", &m, msg_plain), 11);
	assert_int_equal(eval("HEADER X-Other \"\"", &m, msg_plain), 10);
	/* Date in its own zone: 1 Mar 2020, not 2 Mar (UTC) */
	assert_int_equal(eval("SENTON 1-Mar-2020", &m, msg_plain), 11);
	assert_int_equal(eval("SENTBEFORE 1-Mar-2020", &m, msg_plain), 10);
	assert_int_equal(eval("SENTSINCE 1-Mar-2020", &m, msg_plain), 11);
	assert_int_equal(eval("SENTSINCE 2-Mar-2020", &m, msg_plain), 10);
	/* body: whitespace runs and line ends match one space */
	assert_int_equal(eval("BODY \"hello world, this\"", &m, msg_plain),
			 11);
	assert_int_equal(eval("BODY x-mailer", &m, msg_plain), 10);
	assert_int_equal(eval("TEXT x-mailer", &m, msg_plain), 11);
	assert_int_equal(eval("TEXT \"the body\"", &m, msg_plain), 11);
	assert_int_equal(eval("NOT BODY nothere", &m, msg_plain), 11);

	/* multipart: QP latin-1, base64 koi8-r, attachments skipped */
	assert_int_equal(eval("BODY \"gr\xc3\xbc\xc3\x9f" "e aus k\xc3\xb6ln\"",
			      &m, msg_multi), 11);
	assert_int_equal(eval("BODY softbreak", &m, msg_multi), 11);
	/* "привет" in koi8-r, base64 */
	assert_int_equal(eval("BODY \"\xd0\x9f\xd0\xa0\xd0\x98\"", &m,
			      msg_multi), 11);
	assert_int_equal(eval("BODY secretbinary", &m, msg_multi), 10);
	assert_int_equal(eval("BODY preamble", &m, msg_multi), 10);
	/* the attached message's header and body are body text */
	assert_int_equal(eval("BODY \"inner \xc3\xa9t\xc3\xa9\"", &m,
			      msg_multi), 11);
	assert_int_equal(eval("BODY \"inner body\"", &m, msg_multi), 11);
	assert_int_equal(eval("SUBJECT inner", &m, msg_multi), 10);
	assert_int_equal(eval("BODY aaa BODY gr", &m, msg_multi), 10);
	assert_int_equal(eval("OR BODY aaa TEXT multipart", &m, msg_multi),
			 11);
}

static void test_content_malformed(void **state)
{
	static const char *const msgs[] = {
		"", "\r\n", "no header at all", "Subject:", "Subject",
		"Date: garbage\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
		"Content-Type: text/plain; charset=bogus-cs\r\n\r\nabc",
		"Content-Transfer-Encoding: base64\r\n\r\n!!!!====",
		"Subject: =?x?Q?broken\r\n\r\nbody",
	};
	struct parsed p;

	(void)state;
	parse(&p, "OR OR SUBJECT a BODY abc SENTON 1-Jan-2000", true, NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
	for (size_t i = 0; i < N_ELEMENTS(msgs); i++) {
		struct imap_search_content *c =
			imap_search_content_from_buffer(p.prog, msgs[i],
							strlen(msgs[i]));
		struct imap_search_msg m = { .seq = 1, .uid = 1 };
		struct imap_search_env env = { .msg_count = 1 };
		int r = imap_search_eval(p.prog, &env, &m, c);

		assert_true(r == 0 || r == 1);
		imap_search_content_free(&c);
	}
	parsed_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_every_key),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_charset_return),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_eval_record),
		cmocka_unit_test(test_eval_content),
		cmocka_unit_test(test_content_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
