/* test-imap-message.c: unit tests for ENVELOPE, BODYSTRUCTURE and
 * BODY[section]/BINARY[section] formatting, with malformed MIME. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-envelope.h"
#include "imap-header-cache.h"
#include "imap-message.h"
#include "mem.h"
#include "str.h"

/* True when s is one well-formed IMAP parenthesised value: balanced
 * parentheses outside quoted strings, literals skipped by their size. */
static bool well_formed(const char *s, size_t len)
{
	int depth = 0;
	size_t i = 0;

	while (i < len) {
		char c = s[i];
		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			if (i >= len)
				return false;
			i++;
			continue;
		}
		if (c == '{') {
			size_t n = 0;
			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				n = n * 10 + (size_t)(s[i] - '0');
			if (i + 3 > len || s[i] != '}' || s[i + 1] != '\r' ||
			    s[i + 2] != '\n')
				return false;
			i += 3 + n;
			continue;
		}
		if (c == '(')
			depth++;
		if (c == ')' && --depth < 0)
			return false;
		if (depth == 0 && i + 1 != len)
			return false;
		i++;
	}
	return depth == 0;
}

/* Parses text after the LF to CRLF conversion, as imapd does. */
static struct imap_message *parse(const char *text, struct str *crlf)
{
	bool cr = false;

	str_init(crlf, strlen(text) * 2 + 1);
	assert_int_equal(imap_crlf_append(crlf, text, strlen(text), &cr), 0);
	return imap_message_parse(str_c(crlf), str_len(crlf));
}

static char *bs(const char *text, bool extended)
{
	struct str crlf;
	struct imap_message *m = parse(text, &crlf);
	struct str out;

	str_init(&out, 256);
	imap_message_bodystructure(m, NULL, extended, &out);
	imap_message_free(&m);
	str_free(&crlf);
	assert_true(well_formed(str_c(&out), str_len(&out)));
	return str_steal(&out);
}

static char *env(const char *text)
{
	struct str crlf;
	struct imap_message *m = parse(text, &crlf);
	struct str out;

	str_init(&out, 256);
	imap_message_envelope(m, NULL, &out);
	imap_message_free(&m);
	str_free(&crlf);
	assert_true(well_formed(str_c(&out), str_len(&out)));
	return str_steal(&out);
}

static void test_crlf(void **state)
{
	static const char in[] = "a\nb\r\nc\rd\n\n";
	static const char want[] = "a\r\nb\r\nc\rd\r\n\r\n";
	(void)state;
	/* split at every byte: a CR at the end of one chunk counts */
	for (size_t split = 0; split <= sizeof(in) - 1; split++) {
		struct str out;
		bool cr = false;
		str_init(&out, 4);
		assert_int_equal(imap_crlf_append(&out, in, split, &cr), 0);
		assert_int_equal(imap_crlf_append(&out, in + split,
						  sizeof(in) - 1 - split, &cr),
				 0);
		assert_string_equal(str_c(&out), want);
		str_free(&out);
	}
	struct str lim;
	bool cr = false;
	str_init(&lim, 4);
	str_set_limit(&lim, 3);
	assert_int_equal(imap_crlf_append(&lim, "ab\n", 3, &cr), -1);
	str_free(&lim);
}

static void test_envelope(void **state)
{
	char *e;
	(void)state;
	e = env("From: Joe <joe@x.org>\r\nTo: a@b, G: c@d;\r\n"
		"Cc: undisclosed:;\r\nSubject: hi\r\nSubject: second\r\n"
		"Reply-To: r@s\r\nMessage-ID: <m@x>\r\n"
		"In-Reply-To: <p@x>\r\nDate: 1 Jan 2000 00:00 +0000\r\n\r\n");
	assert_string_equal(e,
		"(\"1 Jan 2000 00:00 +0000\" \"hi\" "
		"((\"Joe\" NIL \"joe\" \"x.org\")) "
		"((\"Joe\" NIL \"joe\" \"x.org\")) "
		"((NIL NIL \"r\" \"s\")) "
		"((NIL NIL \"a\" \"b\")(NIL NIL \"G\" NIL)"
		"(NIL NIL \"c\" \"d\")(NIL NIL NIL NIL)) "
		"((NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL)) NIL "
		"\"<p@x>\" \"<m@x>\")");
	free(e);
	/* no header at all */
	e = env("");
	assert_string_equal(e, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	free(e);
	/* 8-bit subject goes as a literal; a domain-less address has "";
	 * a quoted name with a quote in it is escaped */
	e = env("Subject: caf\xc3\xa9\nFrom: \"a \\\"b\\\"\" <user>\n"
		"To: ,,,\n\nbody");
	assert_string_equal(e,
		"(NIL {5}\r\ncaf\xc3\xa9 ((\"a \\\"b\\\"\" NIL \"user\" \"\")) "
		"((\"a \\\"b\\\"\" NIL \"user\" \"\")) "
		"((\"a \\\"b\\\"\" NIL \"user\" \"\")) NIL NIL NIL NIL NIL)");
	free(e);
	/* garbage addresses never break the form */
	e = env("From: <<<@@@>>>, \"unterminated\nTo: (((\nCc: @\n\n");
	free(e);
}

static void test_bodystructure_simple(void **state)
{
	char *b;
	(void)state;
	b = bs("Subject: x\n\nline1\nline2\n", true);
	assert_string_equal(b, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
			       "\"us-ascii\") NIL NIL \"7BIT\" 14 2 "
			       "NIL NIL NIL NIL)");
	free(b);
	b = bs("Content-Type: text/html; charset=\"UTF-8\"\r\n"
	       "Content-ID: <id>\r\nContent-Description: d\r\n"
	       "Content-Transfer-Encoding: base64\r\n\r\nPGI+\r\n", false);
	assert_string_equal(b, "(\"TEXT\" \"HTML\" (\"CHARSET\" \"UTF-8\") "
			       "\"<id>\" \"d\" \"BASE64\" 6 1)");
	free(b);
	/* a last line without its line end is a line */
	b = bs("\nabc", false);
	assert_string_equal(b, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
			       "\"us-ascii\") NIL NIL \"7BIT\" 3 1)");
	free(b);
}

static void test_bodystructure_multipart(void **state)
{
	char *b;
	(void)state;
	b = bs("Content-Type: multipart/alternative; boundary=b\r\n\r\n"
	       "--b\r\n\r\nplain\r\n--b\r\n"
	       "Content-Type: text/html\r\nContent-Language: en\r\n"
	       "Content-Disposition: inline\r\n\r\n<p>\r\n--b--\r\n", true);
	assert_string_equal(b,
		"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
		"\"7BIT\" 5 1 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" "
		"(\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 3 1 NIL "
		"(\"INLINE\" NIL) \"en\" NIL) \"ALTERNATIVE\" "
		"(\"BOUNDARY\" \"b\") NIL NIL NIL)");
	free(b);
	/* message/rfc822 inside */
	b = bs("Content-Type: multipart/mixed; boundary=\"q\"\n\n--q\n"
	       "Content-Type: message/rfc822\n\nSubject: in\n\nbody\n--q--\n",
	       false);
	assert_string_equal(b,
		"((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 19 "
		"(NIL \"in\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
		"\"7BIT\" 4 1) 3) \"MIXED\")");
	free(b);
}

static void test_bodystructure_malformed(void **state)
{
	static const char *const inputs[] = {
		/* multipart without boundary: text/plain */
		"Content-Type: multipart/mixed\n\n--x\n\nbody\n",
		/* no closing boundary, no parts at all */
		"Content-Type: multipart/mixed; boundary=z\n\nnothing\n",
		/* garbage type */
		"Content-Type: ;;;/;=\n\nx",
		"Content-Type: text/\n\nx",
		/* parameters with 8-bit bytes and RFC 2231 pieces */
		"Content-Type: text/plain; name*0*=utf-8''%C3; name*1*=%A9\n"
		"Content-Disposition: attachment; filename=\"\xff\"\n\nx",
		/* message/rfc822 with nothing in it */
		"Content-Type: message/rfc822\n\n",
		"Content-Type: message/rfc822\n",
		/* header only, no blank line */
		"From: a@b",
		/* unknown encoding */
		"Content-Transfer-Encoding: x-uuencode\n\nx",
		"\r\n\r\n\r\n",
		"",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		free(bs(inputs[i], true));
		free(bs(inputs[i], false));
		free(env(inputs[i]));
	}
	char *b = bs("Content-Type: multipart/mixed; boundary=z\n\nx\n", false);
	/* a multipart without parts still gets one body part */
	assert_non_null(strstr(b, "(\"TEXT\" \"PLAIN\""));
	assert_non_null(strstr(b, "\"MIXED\")"));
	free(b);
	/* nesting past the parser's depth limit stays well formed */
	struct str deep;
	str_init(&deep, 8192);
	for (int i = 0; i < 150; i++)
		str_printfa(&deep, "Content-Type: multipart/mixed; "
				   "boundary=b%d\n\n--b%d\n", i, i);
	str_append(&deep, "\nend\n");
	free(bs(str_c(&deep), true));
	str_clear(&deep);
	for (int i = 0; i < 150; i++)
		str_append(&deep, "Content-Type: message/rfc822\n\n");
	str_append(&deep, "\nend\n");
	free(bs(str_c(&deep), true));
	free(env(str_c(&deep)));
	str_free(&deep);
}

static void test_section_parse(void **state)
{
	static const struct {
		const char *text;
		bool binary;
		const char *want;	/* NULL: error */
	} cases[] = {
		{ "", false, "" },
		{ "1", false, "1" },
		{ "1.2.3", false, "1.2.3" },
		{ "header", false, "HEADER" },
		{ "TEXT", false, "TEXT" },
		{ "2.MIME", false, "2.MIME" },
		{ "1.HEADER", false, "1.HEADER" },
		{ "HEADER.FIELDS (From to)", false, "HEADER.FIELDS (From to)" },
		{ "1.HEADER.FIELDS.NOT (\"X-A\" b)", false,
		  "1.HEADER.FIELDS.NOT (X-A b)" },
		{ "1.2", true, "1.2" },
		{ "", true, "" },
		{ "MIME", false, NULL },
		{ "0", false, NULL },
		{ "1.", false, NULL },
		{ "1..2", false, NULL },
		{ "HEADER.FIELDS", false, NULL },
		{ "HEADER.FIELDS ()", false, NULL },
		{ "HEADER.FIELDS (a", false, NULL },
		{ "HEADER.FIELDS (a) x", false, NULL },
		{ "HEADER.FIELDS (\"a)", false, NULL },
		{ "HEADERX", false, NULL },
		{ "TEXT ", false, NULL },
		{ "1.TEXT", true, NULL },
		{ "9999999999", false, NULL },
		{ "1x", false, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_section sec;
		const char *error = NULL;
		int ret = imap_section_parse(cases[i].text,
					     strlen(cases[i].text),
					     cases[i].binary, &sec, &error);
		if (cases[i].want == NULL) {
			assert_int_equal(ret, -1);
			assert_non_null(error);
		} else {
			struct str out;
			assert_int_equal(ret, 0);
			str_init(&out, 32);
			imap_section_write(&sec, &out);
			assert_string_equal(str_c(&out), cases[i].want);
			str_free(&out);
		}
		imap_section_free(&sec);
	}
}

static const char multi[] =
	"From: a@b\r\nSubject: s\r\nX-Other: o\r\n"
	"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
	"--B\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	"caf=C3=A9\r\n"
	"--B\r\nContent-Type: message/rfc822\r\n\r\n"
	"Subject: inner\r\nFrom: in@x\r\n\r\ninner text\r\n"
	"--B\r\nContent-Transfer-Encoding: base64\r\n\r\nAA==\r\n"
	"--B\r\nContent-Transfer-Encoding: x-weird\r\n\r\nzz\r\n"
	"--B--\r\n";

static char *section(const char *spec, bool binary, int want_ret)
{
	struct imap_message *m = imap_message_parse(multi, sizeof(multi) - 1);
	struct imap_section sec;
	const char *error;
	struct str out;

	assert_int_equal(imap_section_parse(spec, strlen(spec), binary, &sec,
					    &error), 0);
	str_init(&out, 64);
	if (binary)
		assert_int_equal(imap_message_binary(m, &sec, &out), want_ret);
	else
		assert_int_equal(imap_message_section(m, &sec, &out),
				 want_ret);
	imap_section_free(&sec);
	imap_message_free(&m);
	return str_steal(&out);
}

static void test_sections(void **state)
{
	char *s;
	(void)state;
	s = section("HEADER.FIELDS (subject FROM)", false, 1);
	assert_string_equal(s, "From: a@b\r\nSubject: s\r\n\r\n");
	free(s);
	s = section("HEADER.FIELDS.NOT (subject FROM content-type)", false, 1);
	assert_string_equal(s, "X-Other: o\r\n\r\n");
	free(s);
	s = section("1", false, 1);
	assert_string_equal(s, "caf=C3=A9");
	free(s);
	s = section("1.MIME", false, 1);
	assert_string_equal(s, "Content-Transfer-Encoding: "
			       "quoted-printable\r\n\r\n");
	free(s);
	s = section("2.HEADER", false, 1);
	assert_string_equal(s, "Subject: inner\r\nFrom: in@x\r\n\r\n");
	free(s);
	s = section("2.TEXT", false, 1);
	assert_string_equal(s, "inner text");
	free(s);
	s = section("2.HEADER.FIELDS (From)", false, 1);
	assert_string_equal(s, "From: in@x\r\n\r\n");
	free(s);
	/* HEADER of a part that is not a message: empty */
	s = section("1.HEADER", false, 1);
	assert_string_equal(s, "");
	free(s);
	s = section("7", false, 0);
	free(s);
	s = section("2.1.4", false, 0);
	free(s);
	s = section("1", true, 1);
	assert_string_equal(s, "caf\xc3\xa9");
	free(s);
	s = section("3", true, 1);
	assert_int_equal(s[0], 0);
	free(s);
	s = section("4", true, -1);
	free(s);
	s = section("", true, 1);
	assert_int_equal(strlen(s), sizeof(multi) - 1);
	free(s);
}

/* Every truncation of a message gives well-formed output. */
static void test_truncations(void **state)
{
	(void)state;
	for (size_t len = 0; len <= sizeof(multi) - 1; len++) {
		struct imap_message *m = imap_message_parse(multi, len);
		struct str out;
		str_init(&out, 256);
		imap_message_bodystructure(m, NULL, true, &out);
		assert_true(well_formed(str_c(&out), str_len(&out)));
		str_clear(&out);
		imap_message_envelope(m, NULL, &out);
		assert_true(well_formed(str_c(&out), str_len(&out)));
		for (const char *const *sp = (const char *const[]){
			     "", "1", "2", "2.HEADER", "2.TEXT", "3", "1.MIME",
			     "HEADER.FIELDS (From)", NULL };
		     *sp != NULL; sp++) {
			struct imap_section sec;
			const char *error;
			assert_int_equal(imap_section_parse(*sp, strlen(*sp),
							    false, &sec,
							    &error), 0);
			str_clear(&out);
			(void)imap_message_section(m, &sec, &out);
			/* at most the two CRLFs HEADER.FIELDS adds */
			assert_true(str_len(&out) <= len + 4);
			imap_section_free(&sec);
		}
		str_free(&out);
		imap_message_free(&m);
	}
}

/* The header-only reading gives what a full parse gives: the ENVELOPE
 * and the header cache value, for the message fed at once, split at
 * every byte, and byte by byte; and it says the header is over at the
 * empty line. */
static void check_header_only(const char *raw, size_t rawlen,
			      bool every_split)
{
	struct str msg, full_env, env;
	bool cr = false;
	size_t full_len, len;

	str_init(&msg, rawlen + 16);
	assert_int_equal(imap_crlf_append(&msg, raw, rawlen, &cr), 0);
	struct imap_message *m = imap_message_parse(str_c(&msg),
						    str_len(&msg));
	str_init(&full_env, 256);
	imap_message_envelope(m, NULL, &full_env);
	imap_message_free(&m);
	char *full_hdrs = imap_header_cache_from_message(str_c(&msg),
							 str_len(&msg),
							 &full_len);
	str_free(&msg);

	/* split at every byte (two chunks), and one byte at a time */
	for (size_t split = 0; split <= rawlen + 1; split++) {
		bool one = split == rawlen + 1;

		if (!every_split && split != 0 && split != rawlen / 2)
			continue;
		struct imap_message_header *h = imap_message_header_create();
		size_t pos = 0;
		int ret = 0;

		while (pos < rawlen && ret == 0) {
			size_t n = one ? 1 : pos == 0 ? split : rawlen - pos;
			if (n == 0)
				n = rawlen - pos;
			ret = imap_message_header_feed(h, raw + pos, n);
			pos += n;
		}
		str_init(&env, 256);
		char *hdrs = imap_message_header_finish(h, &env, &len);
		assert_int_equal(str_len(&env), str_len(&full_env));
		assert_memory_equal(str_c(&env), str_c(&full_env),
				    str_len(&env));
		assert_int_equal(len, full_len);
		if (len > 0)
			assert_memory_equal(hdrs, full_hdrs, len);
		free(hdrs);
		str_free(&env);
		imap_message_header_destroy(&h);
		assert_null(h);
	}
	free(full_hdrs);
	str_free(&full_env);
}

/* BODY[HEADER], BODY[HEADER.FIELDS (...)], BODY[HEADER.FIELDS.NOT
 * (...)] and ENVELOPE of imap_message_read_header()'s header are those
 * of the whole message. */
static void check_read_header(const char *raw, size_t rawlen)
{
	static const char *const specs[] = {
		"HEADER", "HEADER.FIELDS (FROM SUBJECT)",
		"HEADER.FIELDS.NOT (FROM To)", "HEADER.FIELDS (X-Nothing)",
	};
	char path[] = "/tmp/test-imap-message.XXXXXX";
	int fd = mkstemp(path);
	struct str whole, hdr, a, b;
	const char *error;
	bool cr = false;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, raw, rawlen), (ssize_t)rawlen);
	str_init(&whole, rawlen + 64);
	assert_int_equal(imap_crlf_append(&whole, raw, rawlen, &cr), 0);
	str_init(&hdr, 64);
	assert_int_equal(imap_message_read_header(fd, &hdr, &error), 1);
	assert_true(str_len(&hdr) <= str_len(&whole));
	assert_memory_equal(str_c(&hdr), str_c(&whole), str_len(&hdr));
	struct imap_message *mw = imap_message_parse(str_c(&whole),
						     str_len(&whole));
	struct imap_message *mh = imap_message_parse(str_c(&hdr),
						     str_len(&hdr));
	for (size_t i = 0; i < N_ELEMENTS(specs); i++) {
		struct imap_section sec;

		assert_int_equal(imap_section_parse(specs[i], strlen(specs[i]),
						    false, &sec, &error),
				 0);
		str_init(&a, 64);
		str_init(&b, 64);
		assert_int_equal(imap_message_section(mw, &sec, &a), 1);
		assert_int_equal(imap_message_section(mh, &sec, &b), 1);
		assert_int_equal(str_len(&a), str_len(&b));
		assert_memory_equal(str_c(&a), str_c(&b), str_len(&a));
		str_free(&a);
		str_free(&b);
		imap_section_free(&sec);
	}
	str_init(&a, 64);
	str_init(&b, 64);
	imap_message_envelope(mw, NULL, &a);
	imap_message_envelope(mh, NULL, &b);
	assert_int_equal(str_len(&a), str_len(&b));
	assert_memory_equal(str_c(&a), str_c(&b), str_len(&a));
	str_free(&a);
	str_free(&b);
	imap_message_free(&mw);
	imap_message_free(&mh);
	/* a limit on out is an error, not a cut header */
	if (str_len(&hdr) > 1) {
		str_init(&a, 64);
		str_set_limit(&a, str_len(&hdr) - 1);
		assert_int_equal(imap_message_read_header(fd, &a, &error),
				 -1);
		str_free(&a);
	}
	str_free(&hdr);
	str_free(&whole);
	close(fd);
	unlink(path);
}

static void test_header_only(void **state)
{
	static const char *const msgs[] = {
		"From: A <a@b.example>\nTo: c@d.example, e@f.example\n"
		"Subject: hello\n world\nDate: Mon, 2 Jan 2006 15:04:05 "
		"+0000\nMessage-ID: <x@y>\n\nbody\nFrom: not@header\n",
		"From: a@b\r\nSubject: crlf\r\n\r\nbody\r\n",
		/* no empty line: the whole message is the header */
		"From: a@b\nSubject: no end",
		"Subject: s\n",
		"",
		"\n\nFrom: in@body\n",
		/* broken lines, bare CR, NUL, 8-bit, leading space */
		" continuation first\nno colon here\nFrom: x@y\rz\n"
		"Subject: caf\xc3\xa9\n\nb",
		"From:\nTo: ;\nCc: group: a@b, c@d;\nReply-To: <>\n\n",
		"Sender : spaced@name\nIn-Reply-To: <a@b>\n"
		"References: <a@b> <c@d>\nBcc: undisclosed\n\n",
		/* a message/rfc822 body: its header is not the envelope */
		"Content-Type: message/rfc822\n\nFrom: inner@x\n"
		"Subject: inner\n\nbody\n",
		"Content-Type: multipart/mixed; boundary=b\n"
		"Subject: mp\n\n--b\nFrom: part@x\n\nx\n--b--\n",
		"From: a@b\n\r\n\r\nSubject: after\n",
		"From: a@b\r\r\n\nx",
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(msgs); i++)
		check_header_only(msgs[i], strlen(msgs[i]), true);
	for (size_t i = 0; i < N_ELEMENTS(msgs); i++)
		check_read_header(msgs[i], strlen(msgs[i]));
	/* it stops at the empty line, in the first block or a later one */
	{
		char path[] = "/tmp/test-imap-message.XXXXXX";
		int fd = mkstemp(path);
		struct str hdr, big;
		const char *error;

		assert_true(fd >= 0);
		str_init(&big, 70000);
		str_append(&big, "From: a@b\nSubject: s\n\nbody\n");
		while (str_len(&big) < 60000)
			str_append(&big, "more body\n");
		assert_int_equal(write(fd, str_c(&big), str_len(&big)),
				 (ssize_t)str_len(&big));
		str_init(&hdr, 64);
		assert_int_equal(imap_message_read_header(fd, &hdr, &error), 1);
		assert_string_equal(str_c(&hdr),
				    "From: a@b\r\nSubject: s\r\n\r\n");
		str_clear(&big);
		str_append(&big, "From: a@b\n");
		while (str_len(&big) < 10000)
			str_append(&big, "X-F: 0123456789\n");
		str_append(&big, "\nbody\n");
		assert_int_equal(pwrite(fd, str_c(&big), str_len(&big), 0),
				 (ssize_t)str_len(&big));
		str_clear(&hdr);
		assert_int_equal(imap_message_read_header(fd, &hdr, &error), 1);
		/* every line got its CR, the body is not there */
		size_t want = str_len(&big) - 5;	/* "body\n" */
		for (size_t i = 0; i < str_len(&big) - 5; i++)
			if (str_c(&big)[i] == '\n')
				want++;
		assert_int_equal(str_len(&hdr), want);
		assert_null(strstr(str_c(&hdr), "body"));
		/* a read error */
		assert_int_equal(imap_message_read_header(-1, &hdr, &error),
				 -1);
		str_free(&hdr);
		str_free(&big);
		close(fd);
		unlink(path);
	}
	/* with NULs */
	static const char nuls[] = "From: a\0b@c\nSubject: \0\n\nx";
	check_header_only(nuls, sizeof(nuls) - 1, true);
}

/* Headers at and past the limits: a field longer than 64 KiB (cut, so
 * no header cache list), a header past 1 MiB (ended there), folded
 * lines across the blocks the folder reads. */
static void test_header_only_limits(void **state)
{
	struct str big;

	(void)state;
	str_init(&big, 2 * 1024 * 1024);
	str_append(&big, "From: a@b\nSubject: ");
	for (size_t i = 0; i < 70000; i++)
		str_append_c(&big, 'x');
	str_append(&big, "\n\nbody\n");
	check_header_only(str_c(&big), str_len(&big), false);
	check_read_header(str_c(&big), str_len(&big));
	{
		/* only once at a few splits: the full byte loop is long */
		struct imap_message_header *h = imap_message_header_create();
		struct str env;
		size_t len;

		assert_int_equal(imap_message_header_feed(h, str_c(&big),
							  str_len(&big)), 1);
		str_init(&env, 256);
		char *hdrs = imap_message_header_finish(h, &env, &len);
		assert_int_equal(len, 1);
		assert_int_equal(hdrs[0], 'X');
		free(hdrs);
		str_free(&env);
		imap_message_header_destroy(&h);
	}
	str_clear(&big);
	str_append(&big, "From: a@b\n");
	while (str_len(&big) < 1100 * 1024)
		str_append(&big, "X-Filler: 0123456789abcdef0123456789\n"
				 " folded 0123456789\n");
	str_append(&big, "Subject: past the limit\n\nbody\n");
	check_read_header(str_c(&big), str_len(&big));
	{
		struct imap_message_header *h = imap_message_header_create();
		struct str env, msg, full;
		bool cr = false;
		size_t len, pos = 0, full_len;
		int ret = 0;

		/* in the folder's block sizes */
		for (size_t block = 16384; ret == 0 && pos < str_len(&big);
		     block *= 4) {
			size_t n = block;
			if (n > str_len(&big) - pos)
				n = str_len(&big) - pos;
			ret = imap_message_header_feed(h, str_c(&big) + pos,
						       n);
			pos += n;
		}
		assert_int_equal(ret, 1);
		str_init(&env, 256);
		char *hdrs = imap_message_header_finish(h, &env, &len);
		assert_int_equal(len, 1);
		str_init(&msg, str_len(&big) + 1024 * 64);
		assert_int_equal(imap_crlf_append(&msg, str_c(&big),
						  str_len(&big), &cr), 0);
		struct imap_message *m = imap_message_parse(str_c(&msg),
							    str_len(&msg));
		str_init(&full, 256);
		imap_message_envelope(m, NULL, &full);
		imap_message_free(&m);
		char *fh = imap_header_cache_from_message(str_c(&msg),
							  str_len(&msg),
							  &full_len);
		assert_int_equal(full_len, len);
		assert_memory_equal(fh, hdrs, len);
		assert_int_equal(str_len(&full), str_len(&env));
		assert_memory_equal(str_c(&full), str_c(&env),
				    str_len(&env));
		/* the Subject past the limit is not in the ENVELOPE */
		assert_null(strstr(str_c(&env), "past the limit"));
		free(fh);
		free(hdrs);
		str_free(&full);
		str_free(&msg);
		str_free(&env);
		imap_message_header_destroy(&h);
	}
	str_free(&big);
	struct imap_message_header *none = NULL;
	imap_message_header_destroy(&none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_bodystructure_simple),
		cmocka_unit_test(test_bodystructure_multipart),
		cmocka_unit_test(test_bodystructure_malformed),
		cmocka_unit_test(test_section_parse),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_header_only),
		cmocka_unit_test(test_header_only_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
