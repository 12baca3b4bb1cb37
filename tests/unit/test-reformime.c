/* test-reformime.c: unit tests for reformime's rewriter (-r, -r7, -r8)
 * and delivery status reader (-d, -D): outputs checked against Debian's
 * reformime, reading back in pieces, and malformed MIME truncated at
 * every byte. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "mem.h"
#include "str.h"
#include "mime-parser.h"
#include "reformime.h"

struct input {
	const char *data;
	size_t size, step;
};

static size_t input_read(void *context, uint64_t off, void *buf, size_t len)
{
	struct input *in = context;

	if (off >= in->size)
		return 0;
	if (len > in->size - off)
		len = (size_t)(in->size - off);
	if (len > in->step)
		len = in->step;
	memcpy(buf, in->data + off, len);
	return len;
}

static struct mime_part *parse(const char *data, size_t size)
{
	struct mime_parser_settings set;

	memset(&set, 0, sizeof(set));
	set.require_mime_version = true;
	return mime_parse_buffer(data, size, &set);
}

/* The rewritten message (caller frees), read back step bytes at a time. */
static char *rewrite(const char *data, size_t size, int mode, size_t step)
{
	struct mime_part *root = parse(data, size);
	struct reformime_rewrite rw;
	struct input in = { data, size, step };
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	memset(&rw, 0, sizeof(rw));
	rw.mode = (enum reformime_rewrite_mode)mode;
	rw.charset = "UTF-8";
	rw.boundary_prefix = "=_h-1-2-0001";
	rw.agent = "reformime (maildrop 2.9.3)";
	rw.read = input_read;
	rw.context = &in;
	rw.size = size;
	rw.out = out;
	reformime_rewrite(root, &rw);
	fclose(out);
	mime_part_free(&root);
	return buf;
}

static char *dsn(const char *data, size_t size, bool original, int *rc_r)
{
	struct mime_part *root = parse(data, size);
	struct input in = { data, size, 3 };
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	*rc_r = reformime_dsn(root, input_read, &in, original, out);
	fclose(out);
	mime_part_free(&root);
	return buf;
}

static const char msg_multi[] =
	"From: a@b\n"
	"Mime-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"xx\"; Foo=(c) \"a b\"\n"
	"\n"
	"pre\n"
	"--xx\n"
	"Content-Type: text/plain\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"h=E9llo=\n"
	" world\n"
	"--xx\n"
	"Content-Type: text/plain; charset=ISO-8859-1\n"
	"\n"
	"b\xe9\n"
	"--xx--\n"
	"epi\n";

#define MULTI_HEAD \
	"From: a@b\n" \
	"Mime-Version: 1.0\n" \
	"Content-Type: multipart/mixed; foo=\"a b\"; " \
	"boundary=\"=_h-1-2-0001-2\"\n" \
	"\n" \
	"This is a MIME-formatted message.  If you see this text it means " \
	"that your\nE-mail software does not support MIME-formatted " \
	"messages.\n" \
	"\n--=_h-1-2-0001-2\n"

/* Debian's reformime 2.9.3 output for msg_multi (boundary normalised). */
static const char expect_r[] = MULTI_HEAD
	"Content-Type: text/plain; charset=UTF-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"h=E9llo=\n"
	" world\n"
	"--=_h-1-2-0001-2\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: 8bit\n"
	"\n"
	"b\xe9\n"
	"--=_h-1-2-0001-2--\n";

static const char expect_r7[] = MULTI_HEAD
	"Content-Type: text/plain; charset=UTF-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"h=E9llo=\n"
	" world\n"
	"--=_h-1-2-0001-2\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"X-Mime-Autoconverted: from 8bit to quoted-printable by reformime "
	"(maildrop 2.9.3)\n"
	"\n"
	"b=E9\n"
	"--=_h-1-2-0001-2--\n";

static const char expect_r8[] = MULTI_HEAD
	"Content-Type: text/plain; charset=UTF-8\n"
	"Content-Transfer-Encoding: 8bit\n"
	"X-Mime-Autoconverted: from quoted-printable to 8bit by reformime "
	"(maildrop 2.9.3)\n"
	"\n"
	"h\xe9llo world\n"
	"--=_h-1-2-0001-2\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: 8bit\n"
	"\n"
	"b\xe9\n"
	"--=_h-1-2-0001-2--\n";

static void test_rewrite(void **state)
{
	static const struct {
		int mode;
		const char *expect;
	} cases[] = {
		{ REFORMIME_RW, expect_r },
		{ REFORMIME_RW_7BIT, expect_r7 },
		{ REFORMIME_RW_8BIT, expect_r8 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t step = 1; step < 20; step += 6) {
			char *out = rewrite(msg_multi, sizeof(msg_multi) - 1,
					    cases[i].mode, step);

			assert_string_equal(out, cases[i].expect);
			free(out);
		}
	}
}

static void test_rewrite_plain(void **state)
{
	static const char msg[] = "Subject:   x  \n\nbody\n";
	char *out;

	(void)state;
	out = rewrite(msg, sizeof(msg) - 1, REFORMIME_RW, 4);
	assert_string_equal(out, "Subject: x\nMime-Version: 1.0\n"
			    "Content-Type: text/plain; charset=UTF-8\n"
			    "Content-Transfer-Encoding: 7bit\n\nbody\n");
	free(out);
}

static void test_params(void **state)
{
	static const char v[] = "Text/Plain ; Charset = \"ISO-8859-1\" (c);"
		" NAME=\"a \\\"b\\\".txt\"; junk; boundary=zz; x=y-1";
	struct str s;
	bool cs;

	(void)state;
	str_init(&s, 64);
	reformime_params(&s, v, sizeof(v) - 1, "boundary", &cs);
	assert_true(cs);
	/* Debian's: backslashes of quoted pairs kept, then escaped */
	assert_string_equal(str_c(&s), "; charset=iso-8859-1; "
			    "name=\"a \\\\\\\"b\\\\\\\".txt\"; x=y-1");
	str_clear(&s);
	/* unterminated quote and comment: bounded, no crash */
	reformime_params(&s, "a/b; x=\"abc", 11, NULL, &cs);
	assert_false(cs);
	assert_string_equal(str_c(&s), "; x=abc");
	str_clear(&s);
	reformime_params(&s, "a/b; x=(abc", 11, NULL, &cs);
	assert_string_equal(str_c(&s), "; x=\"(abc\"");
	str_clear(&s);
	/* Debian's: an open comment takes the rest, ';' included */
	reformime_params(&s, "a/b; x=(ab)c; y=(a(b)c; z=a(b", 29, NULL, &cs);
	assert_string_equal(str_c(&s), "; x=c; y=\"(a(b)c; z=a(b\"");
	str_free(&s);
}

static const char msg_dsn[] =
	"Mime-Version: 1.0\n"
	"Content-Type: multipart/report; report-type=delivery-status; "
	"boundary=b\n"
	"\n"
	"--b\n"
	"Content-Type: text/plain\n"
	"\n"
	"failed\n"
	"--b\n"
	"Content-Type: message/delivery-status\n"
	"\n"
	"Reporting-MTA: dns; x\n"
	"\n"
	"Original-Recipient: rfc822;orig@x\n"
	"Final-Recipient: rfc822; a@b\n"
	"Action: Failed\n"
	"\n"
	"Final-Recipient: rfc822;c@d\n"
	"Action: delivered\n"
	"\n"
	"--b--\n";

static void test_dsn(void **state)
{
	int rc;
	char *out;

	(void)state;
	/* Debian's reformime -d and -D */
	out = dsn(msg_dsn, sizeof(msg_dsn) - 1, false, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "failed a@b\ndelivered c@d\n");
	free(out);
	out = dsn(msg_dsn, sizeof(msg_dsn) - 1, true, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "failed orig@x\ndelivered c@d\n");
	free(out);
	out = dsn(msg_multi, sizeof(msg_multi) - 1, false, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	free(out);
}

/* Every prefix of the messages: the rewriter always writes a message
 * with a Mime-Version and ending in a line end, the DSN reader never
 * prints more recipients than the whole report has. */
static void test_truncated(void **state)
{
	static const char msg_nested[] =
		"Mime-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"o\"\n\n"
		"--o\nContent-Type: message/rfc822\n\n"
		"Subject: in\nMime-Version: 1.0\n"
		"Content-Type: multipart/alternative; boundary=i\n\n"
		"--i\nContent-Type: text/plain; charset=\"us-ascii\n"
		"Content-Transfer-Encoding: base64\n\naGVsbG8K\n"
		"--i\nContent-Type: text/html\n"
		"Content-Transfer-Encoding: quoted-printable\n\n"
		"<p>=E9=\n=4\n--i--\n"
		"--o\r\nContent-Type: text/plain\r\n\r\n\xff\xfe\r\n--o--\r\n";
	const char *msgs[] = { msg_multi, msg_dsn, msg_nested };

	(void)state;
	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		size_t len = strlen(msgs[m]);

		for (size_t cut = 0; cut <= len; cut++) {
			for (int mode = REFORMIME_RW;
			     mode <= REFORMIME_RW_8BIT; mode++) {
				char *out = rewrite(msgs[m], cut, mode,
						    1 + cut % 7);

				assert_non_null(strstr(out, "Mime-Version: "
						       "1.0\n"));
				free(out);
			}
			for (int orig = 0; orig < 2; orig++) {
				int rc;
				char *out = dsn(msgs[m], cut, orig, &rc);
				size_t lines = 0;

				for (const char *p = out; *p != '\0'; p++)
					lines += *p == '\n';
				assert_true(lines <= 2);
				assert_true(rc == 0 || lines == 0);
				free(out);
			}
		}
	}
}

static void test_linescan(void **state)
{
	static const struct {
		const char *text;
		bool found;
	} cases[] = {
		{ "--B_1\n", true }, { "x\n--b_12x", true },
		{ "x--B_1\n", false }, { "--B_\n1\n", false },
		{ "- -B_1", false }, { "", false }, { "\n\n--B", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);

		for (size_t cut = 0; cut <= len; cut++) {
			struct reformime_linescan scan;

			reformime_linescan_init(&scan, "--b_1");
			reformime_linescan_feed(&scan, cases[i].text, cut);
			reformime_linescan_feed(&scan, cases[i].text + cut,
						len - cut);
			assert_int_equal(scan.found, cases[i].found);
		}
	}
}

static void test_boundary_clash(void **state)
{
	static const char msg[] =
		"Mime-Version: 1.0\n"
		"X: --=_h-1\n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain\n"
		"Content-Transfer-Encoding: quoted-printable\n\n"
		"--=3D_q-1\n"
		"--b\nContent-Type: text/plain\n"
		"Content-Transfer-Encoding: base64\n\n"
		"LS09X2ItMQo=\n"
		"--b--\n--=_E-1\n";
	struct mime_part *root = parse(msg, sizeof(msg) - 1);
	struct input in = { msg, sizeof(msg) - 1, 5 };
	struct reformime_rewrite rw;

	(void)state;
	memset(&rw, 0, sizeof(rw));
	rw.read = input_read;
	rw.context = &in;
	rw.size = in.size;
	/* Debian's: the top header is not looked at, quoted-printable is
	 * decoded, base64 is not, the epilogue counts */
	assert_false(reformime_boundary_clash(root, &rw, "=_h-1"));
	assert_true(reformime_boundary_clash(root, &rw, "=_Q-1"));
	assert_false(reformime_boundary_clash(root, &rw, "=_b-1"));
	assert_true(reformime_boundary_clash(root, &rw, "=_e-1"));
	assert_true(reformime_boundary_clash(root, &rw, "b"));
	mime_part_free(&root);
}

/* -o/-O/-H/-u header coding: Debian's outputs, and every prefix of
 * malformed values (no crash, bounded output). */
static char *hdr(enum reformime_addr_mode mode, const char *v, int encode)
{
	struct str out;

	str_init(&out, 64);
	if (encode >= 0)
		reformime_encode_words(&out, v, strlen(v), "utf-8",
				       encode != 0);
	else
		reformime_addr_header(&out, v, strlen(v), mode, "utf-8");
	return str_steal(&out);
}

static void check_hdr(enum reformime_addr_mode mode, const char *v,
		      int encode, const char *want)
{
	char *got = hdr(mode, v, encode);

	assert_string_equal(got, want);
	free(got);
}

static void test_header_coding(void **state)
{
	static const char *const bad[] = {
		"\"unclosed <a@b", "<<<>>>,,,;;;::", "g: (a@b", "=?x?q?",
		"a@b (c (d) e", "\xff\xfe\xc3", "\"\\", "g:;;;,:<@>",
	};

	(void)state;
	check_hdr(0, "J\xc3\xb6hn Smith is here", 0,
		  "=?utf-8?B?SsO2aG4=?= Smith is here");
	check_hdr(0, "plain ascii", 0, "plain ascii");
	check_hdr(0, "a=?b?c", 0, "=?utf-8?B?YT0/Yj9j?=");
	check_hdr(0, "\xc3\xa9" "aaaaa", 0, "=?utf-8?Q?=C3=A9aaaaa?=");
	check_hdr(0, "\xc3\xa9" "aaaaaaaaaaaaaa \xc3\xa9" "aaaaaaaaa", 0,
		  "=?utf-8?Q?=C3=A9aaaaaaaaaaaaaa_=C3=A9aaaaaaa?= "
		  "=?utf-8?Q?aa?=");
	check_hdr(0, "\xc3\xa9!", 1, "=?utf-8?B?w6kh?=");
	check_hdr(REFORMIME_ADDR_DISPLAY,
		  "=?utf-8?q?J=C3=B6hn?= <j@x.com>, \"Bob B\" <b@y.org>, p@z",
		  -1, "J\xc3\xb6hn <j@x.com>, \nBob B <b@y.org>, \np@z");
	check_hdr(REFORMIME_ADDR_DISPLAY, "g: a@b, c@d;", -1,
		  "g: \na@b, \nc@d;");
	check_hdr(REFORMIME_ADDR_ENCODE, "\"J\xc3\xb6hn, X\" <z@z>, a@b", -1,
		  "=?utf-8?B?SsO2aG4s?= X <z@z>,\n  a@b");
	check_hdr(REFORMIME_ADDR_ENCODE, "g:;, c@d", -1, "g:\n  ;\n  c@d");
	check_hdr(REFORMIME_ADDR_INLINE, "a@b (X), \"Smith, J\" <c@d>", -1,
		  "X <a@b>, \"Smith, J\" <c@d>");
	check_hdr(REFORMIME_ADDR_DISPLAY, "plain ascii", -1,
		  "plain, \nascii");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		for (size_t k = 0; k <= len; k++) {
			char *v = xstrndup(bad[i], k);

			for (int m = 0; m < 3; m++) {
				char *got = hdr((enum reformime_addr_mode)m,
						v, -1);

				assert_true(strlen(got) < 16 * len + 64);
				free(got);
			}
			free(hdr(0, v, 0));
			free(hdr(0, v, 1));
			free(v);
		}
	}
	assert_true(reformime_is_addr_header("Resent-To"));
	assert_false(reformime_is_addr_header("Sender"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_rewrite_plain),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_dsn),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_linescan),
		cmocka_unit_test(test_boundary_clash),
		cmocka_unit_test(test_header_coding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
