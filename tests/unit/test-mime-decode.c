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
	decode_all_splits("bad=ZZ =4 =\n", "bad=ZZ =4 ");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp_decode),
		cmocka_unit_test(test_qp_roundtrip),
		cmocka_unit_test(test_mime_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
