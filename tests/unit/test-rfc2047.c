/* test-rfc2047.c: unit tests for encoded-words, with the examples of RFC 2047 section 8. */
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
#include "rfc2047.h"

static void check(const char *in, const char *expect)
{
	struct str s;

	str_init(&s, 64);
	rfc2047_decode(&s, in, strlen(in));
	assert_string_equal(str_c(&s), expect);
	str_free(&s);
}

static void test_rfc2047_section8(void **state)
{
	check("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>",
	      "Keith Moore <moore@cs.utk.edu>");
	check("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>",
	      "Keld J\xc3\xb8rn Simonsen <keld@dkuug.dk>");
	check("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
	      "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>");
	check("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
	      "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
	      "If you can read this you understand the example.");
	check("(=?ISO-8859-1?Q?a?=)", "(a)");
	check("(=?ISO-8859-1?Q?a?= b)", "(a b)");
	check("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)");
	check("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)");
	check("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)");
	check("(=?ISO-8859-1?Q?a_b?=)", "(a b)");
	check("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)");
}

static void test_malformed_and_split(void **state)
{
	/* A UTF-8 character split across two words survives. */
	check("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=", "caf\xc3\xa9");
	check("=?utf-8?q?bad", "=?utf-8?q?bad");
	check("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
	check("=?no-such-charset?q?abc?=", "abc");
	check("=?utf-8*en?Q?lang?=", "lang");
	check("raw \xff bytes", "raw \xef\xbf\xbd bytes");
	check("a =?utf-8?b?!!!?= b", "a  b");
}

static void test_encode_roundtrip(void **state)
{
	const char *samples[] = {
		"plain ascii stays", "caf\xc3\xa9 au lait",
		"looks =?like?= a word",
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d "
		"\xe3\x81\x8c\xe3\x81\xa8\xe3\x81\xa6\xe3\x82\x82\xe9\x95\xb7\xe3\x81\x84"
		"\xe5\xa0\xb4\xe5\x90\x88\xe3\x81\xae\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88 ok",
	};

	for (size_t i = 0; i < N_ELEMENTS(samples); i++) {
		struct str e, d;

		str_init(&e, 64);
		str_init(&d, 64);
		rfc2047_encode(&e, samples[i], strlen(samples[i]));
		for (size_t k = 0; k < str_len(&e); k++)
			assert_true((unsigned char)str_c(&e)[k] < 128);
		if (i == 0)
			assert_string_equal(str_c(&e), samples[0]);
		rfc2047_decode(&d, str_c(&e), str_len(&e));
		assert_string_equal(str_c(&d), samples[i]);
		str_free(&e);
		str_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2047_section8),
		cmocka_unit_test(test_malformed_and_split),
		cmocka_unit_test(test_encode_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
