/* test-mime-decode.c: unit tests for the quoted-printable decoder and encoder. */
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
#include "mime-decode.h"

static void decode_all_splits(const char *in, const char *expect)
{
	size_t len = strlen(in);

	for (size_t split = 0; split <= len; split++) {
		struct qp_decoder dec;
		struct str out;

		str_init(&out, 64);
		qp_decoder_init(&dec);
		for (size_t i = 0; i < split; i++)
			qp_decoder_feed(&dec, in + i, 1, &out);
		qp_decoder_feed(&dec, in + split, len - split, &out);
		qp_decoder_finish(&dec, &out);
		assert_string_equal(str_c(&out), expect);
		str_free(&out);
	}
}

static void test_qp_decode(void **state)
{
	decode_all_splits("caf=C3=A9 =3D soft=\r\nbreak  \r\nx=\ny", "caf\xc3\xa9 = softbreak\r\nxy");
	decode_all_splits("trail \t\nend \t", "trail\nend");
	/* Bad escapes are dropped as Debian's reformime drops them. */
	decode_all_splits("bad=ZZ =4 =\n", "badZZ  ");
	decode_all_splits("a=ZZb\na=3zb\na=g1b\na==41\na=3d\n",
			  "aZZb\nazb\nag1b\naA\na=\n");
	decode_all_splits("a=3\nb=3 c", "a\nb c");
	decode_all_splits("x=4=41\n=3", "xA\n");
	decode_all_splits("a=z=Z=", "azZ");
	/* "=" + whitespace + text: only the "=" goes (Debian's loses the
	 * rest of the line). */
	decode_all_splits("a=\tb\nc=  x\n", "a\tb\nc  x\n");
	decode_all_splits("a= \t\r\nb= \n", "ab");
	decode_all_splits("q=20\nr =\ns", "q \nr s");
	decode_all_splits("=  \r\nsoft with spaces", "soft with spaces");
	decode_all_splits("lower=c3=a9", "lower\xc3\xa9");
}

static void test_qp_roundtrip(void **state)
{
	unsigned char bin[600];
	const char *text = "Line one with caf\xc3\xa9 and = sign   \n"
		".dot line\nFrom here\n"
		"a very long line that goes on and on and on and on and on and on and on and on\n";
	struct qp_encoder enc;
	struct qp_decoder dec;
	struct str e, d;

	str_init(&e, 256);
	str_init(&d, 256);
	qp_encoder_init(&enc, false);
	qp_encoder_feed(&enc, text, strlen(text), &e);
	qp_encoder_finish(&enc, &e);
	for (const char *l = str_c(&e); *l != '\0';) {
		const char *nl = strstr(l, "\r\n");
		size_t n = nl != NULL ? (size_t)(nl - l) : strlen(l);

		assert_true(n <= 76);
		for (size_t i = 0; i < n; i++)
			assert_true((unsigned char)l[i] < 128);
		assert_true(n == 0 || (l[n - 1] != ' ' && l[n - 1] != '\t'));
		assert_false(l[0] == '.');
		assert_false(strncmp(l, "From ", 5) == 0);
		l += n + (nl != NULL ? 2 : 0);
	}
	qp_decoder_init(&dec);
	qp_decoder_feed(&dec, str_c(&e), str_len(&e), &d);
	qp_decoder_finish(&dec, &d);
	/* Hard breaks come back as CRLF. */
	struct str expect;
	str_init(&expect, 256);
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\n')
			str_append_c(&expect, '\r');
		str_append_c(&expect, *p);
	}
	assert_string_equal(str_c(&d), str_c(&expect));
	str_free(&expect);

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7);
	str_clear(&e);
	str_clear(&d);
	qp_encoder_init(&enc, true);
	qp_encoder_feed(&enc, bin, sizeof(bin), &e);
	qp_encoder_finish(&enc, &e);
	qp_decoder_init(&dec);
	qp_decoder_feed(&dec, str_c(&e), str_len(&e), &d);
	qp_decoder_finish(&dec, &d);
	assert_int_equal(str_len(&d), sizeof(bin));
	assert_memory_equal(str_c(&d), bin, sizeof(bin));
	str_free(&e);
	str_free(&d);
}

static void test_mime_decoder(void **state)
{
	struct mime_decoder dec;
	struct str out;
	bool unknown;

	assert_int_equal(mime_encoding_from_name("BASE64", NULL),
			 MIME_ENCODING_BASE64);
	assert_int_equal(mime_encoding_from_name("x-uuencode", &unknown),
			 MIME_ENCODING_7BIT);
	assert_true(unknown);
	str_init(&out, 64);
	mime_decoder_init(&dec, MIME_ENCODING_BASE64);
	mime_decoder_feed(&dec, "aGVs\r\nbG8!", 10, &out);
	mime_decoder_finish(&dec, &out);
	assert_string_equal(str_c(&out), "hello");
	assert_true(mime_decoder_had_error(&dec));
	str_free(&out);
}

/* Base64 through mime_decoder, fed whole and split at every byte. */
static void b64_dec_check(const char *in, const char *expect, size_t expect_len,
		      bool error)
{
	size_t len = strlen(in);

	for (size_t split = 0; split <= len; split++) {
		struct mime_decoder dec;
		struct str out;

		str_init(&out, 64);
		mime_decoder_init(&dec, MIME_ENCODING_BASE64);
		for (size_t i = 0; i < split; i++)
			mime_decoder_feed(&dec, in + i, 1, &out);
		mime_decoder_feed(&dec, in + split, len - split, &out);
		mime_decoder_finish(&dec, &out);
		assert_int_equal(str_len(&out), expect_len);
		assert_memory_equal(str_c(&out), expect, expect_len);
		assert_int_equal(mime_decoder_had_error(&dec), error);
		str_free(&out);
	}
}

static void test_base64_padding(void **state)
{
	/* Decoding goes on after the padding, group by group. */
	b64_dec_check("YQ==Yg==\n", "ab", 2, false);
	b64_dec_check("YQ==\r\nYWJj\r\n", "aabc", 4, false);
	b64_dec_check("YWI=YWI=", "abab", 4, false);
	b64_dec_check("YW*Jj", "abc", 3, true);
	b64_dec_check("YW Jj\t\r\n", "abc", 3, false);
	/* Misplaced "=": the bytes Debian's reformime makes of it. */
	b64_dec_check("YWJj====YWJj", "abc\x8e" "abc", 7, true);
	b64_dec_check("Y=WJj", "f5\x89", 3, true);
	b64_dec_check("=YWJj", "\x8d\x85\x89", 3, true);
	/* An incomplete last group keeps its bytes. */
	b64_dec_check("YQ=YWJj", "a\xd8X\x98", 4, true);
	b64_dec_check("YQ", "a", 1, false);
	b64_dec_check("YWJ", "ab", 2, false);
	b64_dec_check("Y", "", 0, false);
	b64_dec_check("", "", 0, false);
	b64_dec_check("====", "\x8e", 1, true);
}


/* Encodes in with flags, fed whole and split at every byte. */
static void qp_flags_check(unsigned int flags, const char *in, size_t len,
			   const char *expect)
{
	for (size_t split = 0; split <= len; split++) {
		struct qp_encoder enc;
		struct str e;

		str_init(&e, 64);
		qp_encoder_init_flags(&enc, flags);
		qp_encoder_feed(&enc, in, split, &e);
		qp_encoder_feed(&enc, in + split, len - split, &e);
		qp_encoder_finish(&enc, &e);
		assert_string_equal(str_c(&e), expect);
		str_free(&e);
	}
}

static void test_qp_makemime(void **state)
{
	const unsigned int f = QP_ENCODER_MAKEMIME | QP_ENCODER_LF;
	char y73[128], exp[160];

	(void)state;
	qp_flags_check(f, "a \n", 3, "a=20\n");
	/* a final space is dropped, as Courier's makemime does */
	qp_flags_check(f, "a ", 2, "a");
	qp_flags_check(f, "   ", 3, "  ");
	qp_flags_check(f, "a   \nb", 6, "a  =20\nb");
	qp_flags_check(f, "a \r\n", 4, "a =0D\n");
	qp_flags_check(f, "x\ty\n", 4, "x=09y\n");
	qp_flags_check(f, "\x7f~=\n", 4, "=7F~=3D\n");
	qp_flags_check(f, "From x\n.dot\n", 12, "From x\n.dot\n");
	qp_flags_check(f, "caf\xe9\n", 5, "caf=E9\n");
	qp_flags_check(f, "a\0b", 3, "a=00b");
	/* a soft break goes before a byte once the line holds 73 columns */
	memset(y73, 'y', 73);
	memcpy(y73 + 73, "yy\n", 4);
	memset(exp, 'y', 73);
	memcpy(exp + 73, "=\nyy\n", 6);
	qp_flags_check(f, y73, strlen(y73), exp);
	/* 72 columns: an escape still fits on the line */
	memcpy(y73 + 72, "=\n", 3);
	memcpy(exp + 72, "=3D\n", 5);
	qp_flags_check(f, y73, strlen(y73), exp);
	/* spaces never break; the byte after them does */
	memcpy(y73 + 72, "y z\n", 5);
	memcpy(exp + 72, "y =\nz\n", 7);
	qp_flags_check(f, y73, strlen(y73), exp);
	/* CRLF line ends without QP_ENCODER_LF */
	memcpy(exp + 72, "y =\r\nz\r\n", 9);
	qp_flags_check(QP_ENCODER_MAKEMIME, y73, strlen(y73), exp);
}

static void test_qp_lf(void **state)
{
	struct qp_encoder enc;
	struct str e;
	char line[100];

	(void)state;
	/* the default rules, with LF line ends */
	qp_flags_check(QP_ENCODER_LF, "a \r\nFrom\n", 9, "a=20\n=46rom\n");
	memset(line, 'x', 80);
	line[80] = '\0';
	str_init(&e, 64);
	qp_encoder_init_flags(&enc, QP_ENCODER_LF);
	qp_encoder_feed(&enc, line, 80, &e);
	qp_encoder_finish(&enc, &e);
	assert_non_null(strstr(str_c(&e), "=\n"));
	assert_null(strchr(str_c(&e), '\r'));
	str_free(&e);
	/* the old initialiser still writes CRLF */
	str_init(&e, 64);
	qp_encoder_init(&enc, false);
	qp_encoder_feed(&enc, "a\n", 2, &e);
	qp_encoder_finish(&enc, &e);
	assert_string_equal(str_c(&e), "a\r\n");
	str_free(&e);
}

static void b64_check(bool lf, const void *in, size_t len, const char *expect)
{
	for (size_t split = 0; split <= len; split++) {
		struct mime_base64_encoder enc;
		struct str e;

		str_init(&e, 64);
		mime_base64_encoder_init(&enc, lf);
		mime_base64_encoder_feed(&enc, in, split, &e);
		mime_base64_encoder_feed(&enc, (const char *)in + split,
					 len - split, &e);
		mime_base64_encoder_finish(&enc, &e);
		assert_string_equal(str_c(&e), expect);
		str_free(&e);
	}
}

static void test_base64_encoder(void **state)
{
	unsigned char zeros[100];
	char exp[200];

	(void)state;
	b64_check(true, "", 0, "");
	b64_check(true, "a\0b\n", 4, "YQBiCg==\n");
	b64_check(false, "hello", 5, "aGVsbG8=\r\n");
	memset(zeros, 0, sizeof(zeros));
	memset(exp, 'A', 76);
	exp[76] = '\n';
	memset(exp + 77, 'A', 58);
	memcpy(exp + 135, "==\n", 4);
	b64_check(true, zeros, sizeof(zeros), exp);
	/* exactly one line */
	exp[77] = '\0';
	b64_check(true, zeros, 57, exp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp_decode),
		cmocka_unit_test(test_qp_roundtrip),
		cmocka_unit_test(test_mime_decoder),
		cmocka_unit_test(test_base64_padding),
		cmocka_unit_test(test_qp_makemime),
		cmocka_unit_test(test_qp_lf),
		cmocka_unit_test(test_base64_encoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
