/* test-idna.c: unit tests for lib/idna (IDN conversion, normalisation and
 * SMTP domain checks). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mem.h"
#include "idna.h"

static void check_to_ascii(const char *in, const char *want)
{
	const char *error = NULL;
	char *out;

	if (idna_domain_to_ascii(in, &out, &error) != 0)
		fail_msg("\"%s\" refused: %s", in, error);
	assert_string_equal(out, want);
	free(out);
}

static void check_to_utf8(const char *in, const char *want)
{
	const char *error = NULL;
	char *out;

	if (idna_domain_to_utf8(in, &out, &error) != 0)
		fail_msg("\"%s\" refused: %s", in, error);
	assert_string_equal(out, want);
	free(out);
}

static void check_norm(const char *in, const char *want)
{
	const char *error = NULL;
	char *out;

	if (idna_domain_normalize(in, &out, &error) != 0)
		fail_msg("\"%s\" refused: %s", in, error);
	assert_string_equal(out, want);
	free(out);
}

static void test_to_ascii(void **state)
{
	const char *error;
	char *out;

	check_to_ascii("example.com", "example.com");
	check_to_ascii("Example.COM", "example.com");
	check_to_ascii("_dmarc.Example.com", "_dmarc.example.com");
	check_to_ascii("[192.0.2.1]", "[192.0.2.1]");
	check_to_ascii("b\xc3\xbc" "cher.example", "xn--bcher-kva.example");
	check_to_ascii("B\xc3\x9c" "CHER.example", "xn--bcher-kva.example");
	check_to_ascii("\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95",
		       "xn--fsqu00a.xn--0zwm56d");
	check_to_ascii("m\xc3\xbcnchen.XN--0ZWM56D", "xn--mnchen-3ya.xn--0zwm56d");
	/* non-transitional: sharp s is kept */
	check_to_ascii("fa\xc3\x9f.de", "xn--fa-hia.de");
	/* NFC: u + combining diaeresis is the same as the precomposed form */
	check_to_ascii("bu\xcc\x88" "cher.example", "xn--bcher-kva.example");

	assert_int_equal(idna_domain_to_ascii("", &out, &error), -1);
	assert_null(out);
	assert_int_equal(idna_domain_to_ascii("\xff\xfe.com", &out, &error),
			 -1);
	assert_non_null(error);
	/* a private-use character is disallowed */
	assert_int_equal(idna_domain_to_ascii("b\xc3\xbc" "cher\xee\x80\x80"
					      ".example", &out, &error), -1);
	{
		/* a label whose A-label is over 63 bytes */
		char buf[256];
		size_t n = 0;

		for (int i = 0; i < 70; i++) {
			buf[n++] = '\xc3';
			buf[n++] = '\xbc';
		}
		memcpy(buf + n, ".example", 9);
		assert_int_equal(idna_domain_to_ascii(buf, &out, &error), -1);
	}
}

static void test_to_utf8(void **state)
{
	const char *error;
	char *out;

	check_to_utf8("xn--bcher-kva.example", "b\xc3\xbc" "cher.example");
	check_to_utf8("XN--BCHER-KVA.Example", "b\xc3\xbc" "cher.example");
	check_to_utf8("Example.COM", "example.com");
	check_to_utf8("xn--fsqu00a.xn--0zwm56d",
		      "\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95");
	check_to_utf8("B\xc3\x9c" "cher.example", "b\xc3\xbc" "cher.example");
	check_to_utf8("[IPv6:::1]", "[IPv6:::1]");

	/* broken punycode, and an A-label of a disallowed string */
	assert_int_equal(idna_domain_to_utf8("xn--.example", &out, &error), -1);
	assert_null(out);
	assert_int_equal(idna_domain_to_utf8("xn--zzzzzzzzzzzzz-.com", &out,
					     &error), -1);
	assert_int_equal(idna_domain_to_utf8("xn--a.com", &out, &error), -1);
	/* A-labels are case-insensitive */
	assert_int_equal(idna_domain_to_utf8("xn--Bcher-KVA.example", &out,
					     &error), 0);
	assert_string_equal(out, "b\xc3\xbc" "cher.example");
	free(out);
	assert_int_equal(idna_domain_to_utf8("", &out, &error), -1);
}

static void test_normalize(void **state)
{
	const char *error;
	char *out;

	check_norm("Example.COM.", "example.com");
	check_norm("example.com", "example.com");
	check_norm("B\xc3\x9c" "CHER.Example", "b\xc3\xbc" "cher.example");
	check_norm("xn--bcher-kva.EXAMPLE", "b\xc3\xbc" "cher.example");
	check_norm("bu\xcc\x88" "cher.example.", "b\xc3\xbc" "cher.example");
	check_norm("[192.0.2.1]", "[192.0.2.1]");
	assert_int_equal(idna_domain_normalize("", &out, &error), -1);
	assert_int_equal(idna_domain_normalize("xn--a.com", &out, &error), -1);
	assert_null(out);
}

static void check_valid(const char *d, unsigned int flags)
{
	const char *error = NULL;

	if (idna_domain_check(d, flags, &error) != 0)
		fail_msg("\"%s\" refused: %s", d, error);
}

static void check_invalid(const char *d, unsigned int flags)
{
	const char *error = NULL;

	if (idna_domain_check(d, flags, &error) != -1)
		fail_msg("\"%s\" accepted", d);
	assert_non_null(error);
}

static void test_check(void **state)
{
	const unsigned int all = IDNA_DOMAIN_ALLOW_UTF8 |
		IDNA_DOMAIN_ALLOW_LITERAL;
	char buf[300];

	check_valid("example.com", 0);
	check_valid("a", 0);
	check_valid("mail-1.Example.COM", 0);
	check_valid("1.2.3.4", 0);
	check_valid("xn--bcher-kva.example", 0);
	check_valid("b\xc3\xbc" "cher.example", IDNA_DOMAIN_ALLOW_UTF8);
	check_valid("[192.0.2.1]", IDNA_DOMAIN_ALLOW_LITERAL);
	check_valid("[IPv6:2001:db8::1]", IDNA_DOMAIN_ALLOW_LITERAL);
	check_valid("[ipv6:::1]", IDNA_DOMAIN_ALLOW_LITERAL);

	check_invalid("", all);
	check_invalid(".", all);
	check_invalid("example.com.", all);
	check_invalid(".example.com", all);
	check_invalid("a..b", all);
	check_invalid("-a.com", all);
	check_invalid("a-.com", all);
	check_invalid("a_b.com", all);
	check_invalid("a b.com", all);
	check_invalid("a@b.com", all);
	check_invalid("b\xc3\xbc" "cher.example", 0);
	check_invalid("\xff.com", all);
	check_invalid("xn--a.com", all);
	check_invalid("[192.0.2.1]", 0);
	check_invalid("[192.0.2]", all);
	check_invalid("[192.0.2.256]", all);
	check_invalid("[IPv6:2001:db8::g]", all);
	check_invalid("[2001:db8::1]", all);
	check_invalid("[192.0.2.1", all);
	check_invalid("[]", all);

	/* label and total lengths */
	memset(buf, 'a', 63);
	memcpy(buf + 63, ".com", 5);
	check_valid(buf, 0);
	memset(buf, 'a', 64);
	memcpy(buf + 64, ".com", 5);
	check_invalid(buf, 0);
	/* 4 labels of 63 + 3 dots = 255 > 253; then 253 exactly */
	for (int i = 0; i < 4; i++) {
		memset(buf + i * 64, 'a', 63);
		buf[i * 64 + 63] = '.';
	}
	buf[255] = '\0';
	check_invalid(buf, 0);
	buf[253] = '\0';
	check_valid(buf, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_ascii),
		cmocka_unit_test(test_to_utf8),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
