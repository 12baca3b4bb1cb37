/* test-mailbot.c: unit tests for mailbot's command-line parser, salutation
 * template (%{fmt}d included), References:, subject cleaning, header
 * view, report parts, draft finder and the original's text (found,
 * decoded, converted, re-flowed), with malformed input. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mem.h"
#include "str.h"
#include "mailbot.h"
#include "mime-parser.h"

static int parse(const char *const *args, struct mailbot_opts *o,
		 const char **err)
{
	char *argv[64];
	int argc = 0;

	argv[argc++] = (char *)"mailbot";
	for (; *args != NULL; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return mailbot_args_parse(argc, argv, o, err);
}

static void test_args_ok(void **state)
{
	struct mailbot_opts o;
	const char *err = NULL;
	const char *a1[] = { "-taway", "-A", "From: me@x", "-AX-A: 1", "-s",
			     "Subj", "-D", "2.5", "-N", "-a", "-n", "-e",
			     "-T", "replyfeedback", "-Rabuse",
			     "--feedback-source-ip", "192.0.2.1",
			     "--feedback-incidents", "4", "prog", "-x", NULL };
	const char *a2[] = { "-M", "dsn@x", "-T", "feedback", "-R", "abuse",
			     "-m", "f.mime", "--", "-prog", NULL };
	const char *a3[] = { "-T", "replydraft", "-l", "Maildir/.V",
			     "-ffrom@x", "-S", "", "-F", "", NULL };

	(void)state;
	assert_int_equal(parse(a1, &o, &err), 0);
	assert_string_equal(o.text_file, "away");
	assert_int_equal(o.nheaders, 2);
	assert_string_equal(o.headers[1], "X-A: 1");
	assert_string_equal(o.subject, "Subj");
	assert_true(o.days > 2.4 && o.days < 2.6);
	assert_true(o.no_quote && o.attach_all && o.print && o.errors_to);
	assert_int_equal(o.mode, MAILBOT_REPLYFEEDBACK);
	assert_string_equal(o.feedback_type, "abuse");
	assert_int_equal(o.nfeedback, 2);
	assert_string_equal(o.feedback[0].name, "source-ip");
	assert_string_equal(o.feedback[1].value, "4");
	assert_int_equal(o.prog_index, 20);
	mailbot_opts_free(&o);

	/* -M wins over -T and -R; "--" ends the options */
	assert_int_equal(parse(a2, &o, &err), 0);
	assert_int_equal(o.mode, MAILBOT_REPLYDSN);
	assert_null(o.feedback_type);
	assert_string_equal(o.dsn_from, "dsn@x");
	assert_int_equal(o.prog_index, 10);
	mailbot_opts_free(&o);

	assert_int_equal(parse(a3, &o, &err), 0);
	assert_int_equal(o.mode, MAILBOT_REPLYDRAFT);
	assert_string_equal(o.from_addr, "from@x");
	/* empty -S/-F keep the defaults, as Debian's */
	assert_string_equal(o.salutation, "%F writes:");
	assert_string_equal(o.marker, "--- Forwarded message ---");
	mailbot_opts_free(&o);

	/* line breaks are fine where they do not go into a header */
	{
		const char *a4[] = { "-S", "On %d\nwrote:", "-F", "--\n--",
				     "-t", "a\nb", NULL };

		assert_int_equal(parse(a4, &o, &err), 0);
		assert_string_equal(o.salutation, "On %d\nwrote:");
		mailbot_opts_free(&o);
	}
}

static void test_args_bad(void **state)
{
	static const char *const bad[][8] = {
		{ NULL },
		{ "-t", NULL },
		{ "-t", "a", "-m", "b", NULL },
		{ "-x", "-t", "a", NULL },
		{ "-", "-t", "a", NULL },
		{ "-T", "bogus", "-t", "a", NULL },
		{ "-T", "feedback", "-t", "a", NULL },
		{ "-R", "abuse", "-t", "a", NULL },
		{ "-T", "feedback", "-R", "spam", "-t", "a", NULL },
		{ "-t", "a", "--feedback-x", NULL },
		{ "-T", "feedback", "-R", "abuse", "--feedback-", "v", "-ta", NULL },
		{ "-T", "feedback", "-R", "abuse", "--feedback-a b", "v", "-ta", NULL },
		{ "-T", "feedback", "-R", "abuse", "--feedback-x", "a\nb", "-ta", NULL },
		{ "-A", "nocolon", "-t", "a", NULL },
		{ "-A", ": empty name", "-t", "a", NULL },
		{ "-s", "x\r\nBcc: y", "-t", "a", NULL },
		{ "-D", "-1", "-t", "a", NULL },
		{ "-D", "1x", "-t", "a", NULL },
		{ "-D", "nan", "-t", "a", NULL },
		{ "-T", "replydraft", NULL },
		{ "-fa\nb", "-t", "a", NULL },
	};
	struct mailbot_opts o;

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		const char *err = NULL;

		assert_int_equal(parse(bad[i], &o, &err), -1);
		assert_non_null(err);
		assert_null(o.headers);
		assert_null(o.feedback);
	}
}

static void test_args_limits(void **state)
{
	char *argv[2 * MAILBOT_MAX_LIST + 8];
	char *big = xmalloc(MAILBOT_MAX_ARG + 2);
	struct mailbot_opts o;
	const char *err;
	int argc = 0;

	(void)state;
	argv[argc++] = (char *)"mailbot";
	argv[argc++] = (char *)"-ta";
	for (int i = 0; i <= MAILBOT_MAX_LIST; i++)
		argv[argc++] = (char *)"-AX: y";
	assert_int_equal(mailbot_args_parse(argc, argv, &o, &err), -1);
	memset(big, 'a', MAILBOT_MAX_ARG + 1);
	big[MAILBOT_MAX_ARG + 1] = '\0';
	argv[2] = (char *)"-s";
	argv[3] = big;
	assert_int_equal(mailbot_args_parse(4, argv, &o, &err), -1);
	big[MAILBOT_MAX_ARG] = '\0';
	assert_int_equal(mailbot_args_parse(4, argv, &o, &err), 0);
	mailbot_opts_free(&o);
	free(big);
}

static void sal_check(const char *tmpl, const struct mailbot_sal_vars *v,
		      const char *expect)
{
	struct str out;

	str_init(&out, 64);
	mailbot_salutation(&out, tmpl, v);
	assert_string_equal(str_c(&out), expect);
	str_free(&out);
}

static void test_salutation(void **state)
{
	struct mailbot_sal_vars v = {
		.newsgroup = "ng", .newsgroups = "a.b,c.d",
		.message_id = "<id@x>", .addr = "ann@x", .name = "Ann",
		.date = "Sat, 21 Nov 2026 10:00:00 +0000", .subject = "hi",
	};
	struct mailbot_sal_vars empty = { 0 };

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	sal_check("%F writes:", &v, "Ann writes:");
	sal_check("%%|%n|%C|%N|%i|%f|%S|%s|%q|%", &v,
		  "%|\n|ng|a.b,c.d|<id@x>|ann@x|hi|hi|q|%");
	sal_check("On %d", &v, "On Sat, 21 Nov 2026 10:00:00 +0000");
	sal_check("%{%Y/%m/%d %H.%M}d!", &v, "2026/11/21 10.00!");
	sal_check("%{}d|", &v, "|");
	sal_check("%{%Y}f", &v, "ann@x");
	/* unterminated: the rest as it is */
	sal_check("a %{%Y", &v, "a %{%Y");
	sal_check("a %{%Y}", &v, "a %{%Y}");
	sal_check("%{", &v, "%{");
	/* no name: the address; nothing known: empty */
	v.name = NULL;
	sal_check("%F", &v, "ann@x");
	sal_check("[%F|%d|%i|%{%Y}d]", &empty, "[|||]");
	v.date = "not a date";
	sal_check("%{%Y}d", &v, "not a date");
	/* a format too long for the limit is not a format */
	{
		char tmpl[MAILBOT_MAX_DATE_FORMAT + 8];

		memset(tmpl, 'Y', sizeof(tmpl));
		memcpy(tmpl, "%{", 2);
		memcpy(tmpl + sizeof(tmpl) - 3, "}d", 3);
		v.date = "Sat, 21 Nov 2026 10:00:00 +0000";
		sal_check(tmpl, &v, tmpl);
	}
	/* strftime output longer than its buffer gives nothing */
	{
		struct str t, out;

		str_init(&t, 256);
		str_append(&t, "%{");
		for (int i = 0; i < 120; i++)
			str_append(&t, "%c");
		str_append(&t, "}d.");
		str_init(&out, 64);
		mailbot_salutation(&out, str_c(&t), &v);
		assert_string_equal(str_c(&out), ".");
		str_free(&out);
		str_free(&t);
	}
}

static void refs_check(const char *refs, const char *msgid,
		       const char *expect)
{
	struct str out;

	str_init(&out, 64);
	mailbot_references(&out, refs, msgid);
	assert_string_equal(str_c(&out), expect);
	str_free(&out);
}

static void test_references(void **state)
{
	struct str many, want;

	(void)state;
	refs_check(NULL, "<m@x>", "<m@x>\n");
	refs_check("<a@x>  <b@x>", "<m@x>",
		   "<a@x>\n            <b@x>\n            <m@x>\n");
	refs_check("a@x,<b@x", NULL, "<a@x>\n            <b@x>\n");
	refs_check("<> ,, ", NULL, "");
	refs_check("<a@x><b@x>", NULL, "<a@x>\n            <b@x>\n");
	/* only the last 20 are kept */
	str_init(&many, 512);
	str_init(&want, 1024);
	for (int i = 0; i < 30; i++)
		str_printfa(&many, "<%d@x> ", i);
	for (int i = 11; i < 30; i++)
		str_printfa(&want, "%s<%d@x>\n", i > 11 ? "            " : "", i);
	str_append(&want, "            <m@x>\n");
	refs_check(str_c(&many), "<m@x>", str_c(&want));
	str_free(&many);
	str_free(&want);
}

static void subj_check(const char *in, const char *expect)
{
	struct str out;

	str_init(&out, 64);
	str_append(&out, "Re: ");
	mailbot_core_subject(&out, in);
	assert_string_equal(str_c(&out) + 4, expect);
	str_free(&out);
}

static void test_core_subject(void **state)
{
	(void)state;
	subj_check("hello", "hello");
	subj_check("Re: hello", "hello");
	subj_check("RE: re:Fwd : FW: hi   there (fwd)", "hi there");
	subj_check("hi (fwd) (FWD)", "hi");
	subj_check("  ", "");
	subj_check("(fwd)", "");
	subj_check("Re:", "");
	subj_check("Reply: x", "Reply: x");
	subj_check("[list] Re: x", "[list] Re: x");
}

static void test_header(void **state)
{
	static const char msg[] =
		"From: Ann <ann@x>\n"
		"Subject: folded\n  subject   line  \n"
		"X-Empty:\n"
		"no colon line\n"
		"X-Tab:\tv\r\n\tw\r\n"
		"\n"
		"body\nSubject: not a header\n";
	struct mailbot_header h;
	struct str out;

	(void)state;
	for (size_t len = 0; len <= sizeof(msg) - 1; len++) {
		/* every prefix parses without harm */
		mailbot_header_parse(&h, msg, len);
		assert_true(h.body_offset <= len);
		mailbot_header_free(&h);
	}
	mailbot_header_parse(&h, msg, sizeof(msg) - 1);
	assert_int_equal(h.count, 4);
	assert_string_equal(mailbot_header_get(&h, "subject"),
			    "folded subject   line");
	assert_string_equal(mailbot_header_get(&h, "X-EMPTY"), "");
	assert_string_equal(mailbot_header_get(&h, "x-tab"), "v w");
	assert_null(mailbot_header_get(&h, "Date"));
	assert_string_equal(msg + h.body_offset, "body\nSubject: not a header\n");
	str_init(&out, 256);
	mailbot_headers_part(&out, &h);
	assert_non_null(strstr(str_c(&out),
			       "Content-Transfer-Encoding: 8bit\n\nFrom: Ann <ann@x>\n"
			       "Subject: folded subject   line\nX-Empty: \n"));
	str_free(&out);
	mailbot_header_free(&h);

	/* NUL bytes and a header without a body */
	{
		static const char nul[] = "A: x\0y\nB: z";

		mailbot_header_parse(&h, nul, sizeof(nul) - 1);
		assert_int_equal(h.count, 2);
		assert_string_equal(mailbot_header_get(&h, "a"), "xy");
		assert_int_equal(h.body_offset, sizeof(nul) - 1);
		mailbot_header_free(&h);
	}
}

static void test_reports(void **state)
{
	struct mailbot_opts o;
	struct mailbot_feedback fb[] = {
		{ "ORIGINAL-mail-from", "<a@x>" }, { "source-ip", "192.0.2.1" },
	};
	struct str out;
	char *b;
	static const char msg[] = "X: =_mailbot-";

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	memset(&o, 0, sizeof(o));
	o.feedback_type = "abuse";
	o.feedback = fb;
	o.nfeedback = 2;
	str_init(&out, 256);
	mailbot_feedback_report(&out, &o, 1795255200);
	assert_string_equal(str_c(&out),
			    "Feedback-Type: abuse\n"
			    "Arrival-Date: Sat, 21 Nov 2026 10:00:00 +0000\n"
			    "User-Agent: " PACKAGE_NAME " mailbot/" PACKAGE_VERSION "\n"
			    "Version: 1\n"
			    "Original-Mail-From: <a@x>\n"
			    "Source-Ip: 192.0.2.1\n");
	str_clear(&out);
	mailbot_dsn_report(&out, "d@x", 1795255200);
	assert_string_equal(str_c(&out),
			    "Arrival-Date: Sat, 21 Nov 2026 10:00:00 +0000\n\n"
			    "Final-Recipient: rfc822; d@x\n"
			    "Action: delivered\nStatus: 2.0.0\n");
	str_free(&out);
	b = mailbot_boundary(msg, sizeof(msg) - 1);
	assert_non_null(strstr(b, "=_mailbot-"));
	assert_null(strstr(msg, b));
	free(b);
}

static void test_find_draft(void **state)
{
	char dir[] = "/tmp/test-mailbot-XXXXXX";
	char *path, *got;
	static const char *const files[] = {
		"cur/200.b:2,S", "cur/200.a:2,S", "new/100.c", "cur/300.d:2,ST",
		"cur/.hidden",
	};
	static const time_t times[] = { 2000, 2000, 1000, 3000, 4000 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_null(mailbot_find_draft(dir));
	path = xasprintf("%s/cur", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
	path = xasprintf("%s/new", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
	assert_null(mailbot_find_draft(dir));
	for (size_t i = 0; i < N_ELEMENTS(files); i++) {
		struct timespec ts[2] = { { times[i], 0 }, { times[i], 0 } };
		FILE *f;

		path = xasprintf("%s/%s", dir, files[i]);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs("Subject: x\n\nx\n", f);
		fclose(f);
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
		free(path);
	}
	/* newest; on a tie the smaller name; not trashed, not hidden */
	got = mailbot_find_draft(dir);
	path = xasprintf("%s/cur/200.a:2,S", dir);
	assert_string_equal(got, path);
	free(got);
	free(path);
	for (size_t i = 0; i < N_ELEMENTS(files); i++) {
		path = xasprintf("%s/%s", dir, files[i]);
		unlink(path);
		free(path);
	}
	path = xasprintf("%s/cur", dir);
	rmdir(path);
	free(path);
	path = xasprintf("%s/new", dir);
	rmdir(path);
	free(path);
	rmdir(dir);
}

static void reflow_check(const char *in, bool flowed, bool delsp,
			 unsigned int adjust, const char *expect)
{
	struct str out;

	str_init(&out, 64);
	mailbot_text_reflow(&out, in, strlen(in), flowed, delsp, adjust);
	assert_string_equal(str_c(&out), expect);
	str_free(&out);
}

static void test_reflow(void **state)
{
	(void)state;
	/* plain text quoted and forwarded */
	reflow_check("a  \n\n  b\n>c\n> d\n   \nlast", false, false, 1,
		     "> a\n>\n>   b\n>>c\n>> d\n> \n> last\n");
	reflow_check("a  \n\n  b\n>c\r\n", false, false, 0,
		     "a\n\n   b\n>c\n");
	/* flowed: depth, stuffing, soft breaks (delsp or not), sig */
	reflow_check("A \nb\n> q \n> r\n>>x \n-- \ns \n\nt \n", true, false, 1,
		     "> A  \n> b\n>> q  \n>> r\n>>> x\n> --\n> s\n>\n> t\n");
	reflow_check("A \nb\n", true, true, 1, "> A \n> b\n");
	reflow_check("A \nb\n  c\n> d\n", true, true, 0, "A \nb\n  c\n> d\n");
	reflow_check("", true, false, 1, "");
	reflow_check("\n\n", false, false, 1, ">\n>\n");
	reflow_check(">>>>", true, false, 0, ">>>>\n");
}

static void test_decode(void **state)
{
	static const char msg[] =
		"Mime-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/html\n\n<p>\n"
		"--b\nContent-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n\n"
		"caf=E9 =\nau lait=\n\n"
		"--b\nContent-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n\nw6k=!!\n--b--\n";
	struct mime_parser_settings ms = { .require_mime_version = true };
	struct mime_part *root = mime_parse_buffer(msg, sizeof(msg) - 1, &ms);
	const struct mime_part *t = mailbot_text_find(root);
	struct str out;

	(void)state;
	assert_non_null(t);
	str_init(&out, 64);
	mailbot_text_decode(&out, msg, sizeof(msg) - 1, t, "UTF-8", 1000);
	assert_string_equal(str_c(&out), "caf\xc3\xa9 au lait");
	str_clear(&out);
	mailbot_text_decode(&out, msg, sizeof(msg) - 1, t, "US-ASCII", 1000);
	assert_string_equal(str_c(&out), "caf au lait");
	str_clear(&out);
	mailbot_text_decode(&out, msg, sizeof(msg) - 1, t, "ISO-8859-1", 1000);
	assert_string_equal(str_c(&out), "caf\xe9 au lait");
	str_clear(&out);
	mailbot_text_decode(&out, msg, sizeof(msg) - 1, t, "UTF-8", 3);
	assert_string_equal(str_c(&out), "caf");
	str_clear(&out);
	/* base64 with junk, cut short */
	mailbot_text_decode(&out, msg, sizeof(msg) - 1, t->next, "UTF-8", 1000);
	assert_string_equal(str_c(&out), "\xc3\xa9");
	str_clear(&out);
	/* invalid UTF-8 into a single-byte charset: dropped */
	mailbot_text_from_utf8(&out, "a\xc3\xa9\xe2\x82\xac\xff\xc3", 8,
			       "ISO-8859-1");
	assert_string_equal(str_c(&out), "a\xe9");
	str_free(&out);
	mime_part_free(&root);
	/* no MIME-Version: the whole body is text/plain */
	root = mime_parse_buffer(msg + 18, sizeof(msg) - 19, &ms);
	assert_ptr_equal(mailbot_text_find(root), root);
	mime_part_free(&root);
}

static void split_check(const char *in, enum mailbot_keep keep,
			const char *hdrs, const char *body)
{
	struct str h, b;

	str_init(&h, 64);
	str_init(&b, 64);
	mailbot_mime_file_split(in, strlen(in), &h, &b, keep);
	assert_string_equal(str_c(&h), hdrs);
	assert_string_equal(str_c(&b), body);
	str_free(&h);
	str_free(&b);
}

static void test_mime_file(void **state)
{
	(void)state;
	split_check("Content-Type: text/plain;\n charset=x\n"
		    "Content-Transfer-Encoding: qp\n more\nX-A: 1\n\nbody\n\nx",
		    MAILBOT_KEEP_NOT_CTE,
		    "Content-Type: text/plain;\n charset=x\nX-A: 1\n",
		    "body\n\nx");
	split_check("Subject: s\nContent-Type: text/plain\nContent-Length: 3\n"
		    "content-id: <x>\r\n\r\nbody",
		    MAILBOT_KEEP_CONTENT,
		    "Content-Type: text/plain\ncontent-id: <x>\r\n", "body");
	split_check("", MAILBOT_KEEP_NOT_CTE, "", "");
	split_check("\nonly body", MAILBOT_KEEP_NOT_CTE, "", "only body");
	split_check("X: no end", MAILBOT_KEEP_NOT_CTE, "X: no end\n", "");
	split_check("X", MAILBOT_KEEP_CONTENT, "", "");
	split_check(" cont first\n\nb", MAILBOT_KEEP_NOT_CTE, "", "b");

	assert_true(mailbot_mime_file_check("A: b\n c\n\njunk line\n", 19));
	assert_true(mailbot_mime_file_check("", 0));
	assert_true(mailbot_mime_file_check("\n", 1));
	assert_false(mailbot_mime_file_check("just text\n", 10));
	assert_false(mailbot_mime_file_check(": no name\n", 10));
	assert_false(mailbot_mime_file_check("A b: c\n", 7));
	assert_false(mailbot_mime_file_check("A: b\nno colon", 14));
	assert_false(mailbot_mime_file_check("A\x80: b\n", 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_ok),
		cmocka_unit_test(test_args_bad),
		cmocka_unit_test(test_args_limits),
		cmocka_unit_test(test_salutation),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_core_subject),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_find_draft),
		cmocka_unit_test(test_reflow),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_mime_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
