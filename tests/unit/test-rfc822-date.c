/* test-rfc822-date.c: unit tests for lib/rfc822-date (RFC 5322 and IMAP
 * dates). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include "mem.h"
#include "str.h"
#include "rfc822-date.h"

/* 2026-11-21 13:49:23 UTC */
#define T0 ((time_t)1795268963)

static void check_parse(const char *s, time_t want_t, int want_off)
{
	time_t t = 0;
	int off = 12345;

	if (rfc822_date_parse(s, strlen(s), &t, &off) != 0)
		fail_msg("refused: \"%s\"", s);
	if (t != want_t || off != want_off)
		fail_msg("\"%s\": got %lld %d, want %lld %d", s, (long long)t,
			 off, (long long)want_t, want_off);
}

static void check_bad(const char *s)
{
	time_t t;
	int off;

	if (rfc822_date_parse(s, strlen(s), &t, &off) != -1)
		fail_msg("accepted: \"%s\"", s);
}

static void test_parse_rfc5322(void **state)
{
	check_parse("Sat, 21 Nov 2026 13:49:23 +0000", T0, 0);
	check_parse("21 Nov 2026 13:49:23 +0000", T0, 0);
	check_parse("Sat, 21 Nov 2026 14:49:23 +0100", T0, 60);
	check_parse("Sat, 21 Nov 2026 08:19:23 -0530", T0, -330);
	check_parse("Sat, 21 Nov 2026 13:49:23 -0000", T0, 0);
	/* RFC 5322 Appendix A.1.1 */
	check_parse("Fri, 21 Nov 1997 09:55:06 -0600", 880127706, -360);
	/* epoch and before */
	check_parse("Thu, 1 Jan 1970 00:00:00 +0000", 0, 0);
	check_parse("31 Dec 1969 23:59:59 GMT", -1, 0);
	check_parse("1 Jan 1900 00:00:00 +0000", -2208988800LL, 0);
	/* leap years */
	check_parse("29 Feb 2000 00:00:00 +0000", 951782400, 0);
	check_parse("29 Feb 2024 12:00:00 +0000", 1709208000, 0);
	/* far future */
	check_parse("31 Dec 9999 23:59:59 +0000", 253402300799LL, 0);
}

static void test_parse_obsolete(void **state)
{
	/* two- and three-digit years */
	check_parse("Fri, 21 Nov 97 09:55:06 -0600", 880127706, -360);
	check_parse("21 Nov 26 13:49:23 +0000", T0, 0);
	check_parse("21 Nov 49 13:49:23 +0000", T0 + 23 * 365 * 86400LL +
		    6 * 86400LL, 0);
	check_parse("21 Nov 126 13:49:23 +0000", T0, 0);
	/* named zones */
	check_parse("21 Nov 2026 13:49:23 UT", T0, 0);
	check_parse("21 Nov 2026 13:49:23 GMT", T0, 0);
	check_parse("21 Nov 2026 08:49:23 EST", T0, -300);
	check_parse("21 Nov 2026 09:49:23 EDT", T0, -240);
	check_parse("21 Nov 2026 07:49:23 CST", T0, -360);
	check_parse("21 Nov 2026 08:49:23 CDT", T0, -300);
	check_parse("21 Nov 2026 06:49:23 MST", T0, -420);
	check_parse("21 Nov 2026 07:49:23 MDT", T0, -360);
	check_parse("21 Nov 2026 05:49:23 PST", T0, -480);
	check_parse("21 Nov 2026 06:49:23 pdt", T0, -420);
	/* military zones and unknown names are -0000 */
	check_parse("21 Nov 2026 13:49:23 A", T0, 0);
	check_parse("21 Nov 2026 13:49:23 z", T0, 0);
	check_parse("21 Nov 2026 13:49:23 CEST", T0, 0);
	/* missing seconds, missing zone, missing day of week */
	check_parse("Sat, 21 Nov 2026 13:49 +0000", T0 - 23, 0);
	check_parse("21 Nov 2026 13:49:23", T0, 0);
	/* comments and whitespace everywhere */
	check_parse("  (c) Sat (x) , (y) 21 (z) Nov (w) 2026 13 : 49 : 23 "
		    "+0100 (CET)  ", T0 - 3600, 60);
	check_parse("Sat,\r\n 21 Nov 2026\r\n\t13:49:23 +0000 (UTC (nested))",
		    T0, 0);
	check_parse("Sat, 21 Nov 2026 14:49:23 +0100 CET", T0, 60);
	/* lower case, full names, one-digit day and hour */
	check_parse("sat, 21 nov 2026 13:49:23 +0000", T0, 0);
	check_parse("Saturday, 21 November 2026 13:49:23 +0000", T0, 0);
	check_parse("Thu, 5 Nov 2026 3:04:05 +0000", 1793847845, 0);
	/* a leap second reads as the next second */
	check_parse("31 Dec 2016 23:59:60 +0000", 1483228800, 0);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", " ", "garbage", "Sat,", "Sat, 21", "Sat, 21 Nov",
		"Sat, 21 Nov 2026", "21 Nov 2026 13", "21 Nov 2026 13:",
		"21 Nov 2026 13:4", "21 Xyz 2026 13:49:23 +0000",
		"Foo, 21 Nov 2026 13:49:23 +0000",
		"32 Nov 2026 13:49:23 +0000", "31 Nov 2026 13:49:23 +0000",
		"29 Feb 2025 00:00:00 +0000", "29 Feb 1900 00:00:00 +0000",
		"0 Nov 2026 13:49:23 +0000", "21 Nov 2026 24:00:00 +0000",
		"21 Nov 2026 13:60:00 +0000", "21 Nov 2026 13:49:61 +0000",
		"21 Nov 2026 13:49:23 +01", "21 Nov 2026 13:49:23 +01000",
		"21 Nov 2026 13:49:23 +0160", "21 Nov 2026 13:49:23 +0100 x y",
		"21 Nov 2026 13:49:23 +0000 junk!", "21 Nov 1899 00:00:00 GMT",
		"21 Nov 2 13:49:23 +0000", "21 Nov 20266 13:49:23 +0000",
		"123 Nov 2026 13:49:23 +0000", "21 Nov 2026 13:49:23 ABCDEF",
		"21 Nov 2026 13:49:23 +0000 (unterminated",
		"21 Nov 2026 13:49:23 +0000 )", "21 Nov 2026 13:49:23 GMT+1",
		"21 Nov 2026 13:49:23.5 +0000", "2026-11-21T13:49:23Z",
		"21-Nov-2026 13:49:23 +0000", "Sat 21 Nov 2026 13-49-23",
		"21 Nov 2026 13:49:23 -", "21 Nov 2026 13:49:23 +abcd",
		"21 Nov 2026 1:2:3 +0000",
		/* a leap second into year 10000 (found by fuzz-date) */
		"31 Dec 9999 23:59:60 -9959", "31 Dec 9999 23:59:60 +0000",
	};
	char buf[2000];
	time_t t;
	int off;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		check_bad(bad[i]);

	/* NULs and 8-bit bytes */
	assert_int_equal(rfc822_date_parse("21 Nov 2026\0 13:49:23 +0000", 27,
					   &t, &off), -1);
	assert_int_equal(rfc822_date_parse("21 Nov 2026 13:49:23 +0000\0", 27,
					   &t, &off), -1);
	check_bad("21 N\xc3\xb6v 2026 13:49:23 +0000");
	check_bad("21 Nov 2026 13:49:23 +0000 \xff");
	/* NUL inside a comment */
	assert_int_equal(rfc822_date_parse("21 Nov 2026 13:49:23 (\0)", 24,
					   &t, &off), -1);

	/* very long input and deeply nested comments */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "21 Nov 2026 13:49:23 +0000", 26);
	assert_int_equal(rfc822_date_parse(buf, RFC822_DATE_MAX_LEN, &t, &off),
			 0);
	assert_int_equal(rfc822_date_parse(buf, RFC822_DATE_MAX_LEN + 1, &t,
					   &off), -1);
	memset(buf + 26, '(', 40);
	memset(buf + 66, ')', 40);
	assert_int_equal(rfc822_date_parse(buf, 106, &t, &off), -1);
	/* unterminated */
	assert_int_equal(rfc822_date_parse(buf, 56, &t, &off), -1);
	memset(buf + 26, '(', 10);
	memset(buf + 36, ')', 10);
	assert_int_equal(rfc822_date_parse(buf, 46, &t, &off), 0);

	/* every prefix of a valid date: no crash, and exactly the complete
	 * forms parse */
	{
		const char *d = "Sat, 21 Nov 2026 13:49:23 +0000 (UTC)";
		unsigned long long ok = 0;

		for (size_t n = 0; n <= strlen(d); n++) {
			if (rfc822_date_parse(d, n, &t, &off) == 0)
				ok |= 1ULL << n;
		}
		assert_true(ok == (1ULL << 22 | 1ULL << 25 | 1ULL << 26 |
				   1ULL << 31 | 1ULL << 32 | 1ULL << 37));
	}
}

/* The process's TZ does not change any result. */
static void test_tz_independent(void **state)
{
	time_t t1, t2;
	int off;
	struct str s;

	setenv("TZ", "America/New_York", 1);
	tzset();
	assert_int_equal(rfc822_date_parse("21 Nov 2026 13:49:23 +0000", 26,
					   &t1, &off), 0);
	str_init(&s, 64);
	rfc822_date_format(&s, T0, 0);
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	assert_int_equal(rfc822_date_parse("21 Nov 2026 13:49:23 +0000", 26,
					   &t2, &off), 0);
	assert_int_equal(t1, T0);
	assert_int_equal(t2, T0);
	assert_string_equal(str_c(&s), "Sat, 21 Nov 2026 13:49:23 +0000");
	str_clear(&s);
	rfc822_date_format(&s, T0, 0);
	assert_string_equal(str_c(&s), "Sat, 21 Nov 2026 13:49:23 +0000");
	str_free(&s);
	unsetenv("TZ");
	tzset();
}

static void check_format(time_t t, int off, const char *want)
{
	struct str s;

	str_init(&s, 64);
	assert_int_equal(rfc822_date_format(&s, t, off), 0);
	assert_string_equal(str_c(&s), want);
	str_free(&s);
}

static void test_format(void **state)
{
	check_format(T0, 0, "Sat, 21 Nov 2026 13:49:23 +0000");
	check_format(T0, 60, "Sat, 21 Nov 2026 14:49:23 +0100");
	check_format(T0, -330, "Sat, 21 Nov 2026 08:19:23 -0530");
	check_format(T0, 11 * 60, "Sun, 22 Nov 2026 00:49:23 +1100");
	check_format(0, 0, "Thu, 1 Jan 1970 00:00:00 +0000");
	check_format(-1, 0, "Wed, 31 Dec 1969 23:59:59 +0000");
	check_format(951782400, 0, "Tue, 29 Feb 2000 00:00:00 +0000");
	check_format(-2208988800LL, 0, "Mon, 1 Jan 1900 00:00:00 +0000");
	check_format(253402300799LL, 0, "Fri, 31 Dec 9999 23:59:59 +0000");
	/* offsets beyond +-99:59 are clamped */
	check_format(0, 100 * 60, "Mon, 5 Jan 1970 03:59:00 +9959");

	{
		struct str s;

		str_init(&s, 64);
		assert_int_equal(rfc822_date_format(&s, 253402300800LL, 0),
				 -1);
		str_set_limit(&s, 10);
		assert_int_equal(rfc822_date_format(&s, T0, 0), -1);
		str_free(&s);
	}
}

/* format then parse gives back the same instant and zone, for a spread
 * of times and zones (every day of a leap year and around epochs). */
static void test_round_trip(void **state)
{
	static const int offsets[] = { 0, 60, -300, 330, -570, 845, -720,
				       14 * 60, -(99 * 60 + 59) };
	struct str s;

	str_init(&s, 64);
	/* from 1901 (1900 minus a zone would be 1899, which is refused) */
	for (int64_t t = -2177452800LL; t < 4102444800LL;
	     t += 86400 * 37 + 3607) {
		for (size_t i = 0; i < N_ELEMENTS(offsets); i++) {
			time_t t2;
			int off2;

			str_clear(&s);
			assert_int_equal(rfc822_date_format(&s, t, offsets[i]),
					 0);
			assert_int_equal(rfc822_date_parse(str_c(&s),
							   str_len(&s), &t2,
							   &off2), 0);
			assert_int_equal(t2, t);
			assert_int_equal(off2, offsets[i]);
			str_clear(&s);
			assert_int_equal(rfc822_date_imap_format(&s, t,
								 offsets[i]),
					 0);
			assert_int_equal(rfc822_date_imap_parse(str_c(&s),
								str_len(&s),
								&t2, &off2),
					 0);
			assert_int_equal(t2, t);
			assert_int_equal(off2, offsets[i]);
		}
	}
	str_free(&s);
}

/* The IMAP date is built without printf: the same text as printf's for
 * times from 1970 to 9999 and every zone offset the parser accepts. */
static void test_imap_format_as_printf(void **state)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	uint64_t x = 88172645463325252ULL;
	struct str s;

	(void)state;
	str_init(&s, 64);
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		time_t t = (time_t)(x % 253402300800ULL); /* < year 10000 */
		int off = (int)((x >> 40) % 11999) - 5999;

		if (i < 4) { /* the edges first */
			t = i < 2 ? 0 : 253402300799;
			off = i % 2 == 0 ? -5999 : 5999;
		}
		time_t local = t + (time_t)off * 60;
		int a = off < 0 ? -off : off;
		struct tm tm;
		char want[64];

		assert_non_null(gmtime_r(&local, &tm));
		if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
			continue;
		(void)snprintf(want, sizeof(want),
			       "%2d-%s-%04d %02d:%02d:%02d %c%02d%02d",
			       tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
			       tm.tm_hour, tm.tm_min, tm.tm_sec,
			       off < 0 ? '-' : '+', a / 60, a % 60);
		str_clear(&s);
		assert_int_equal(rfc822_date_imap_format(&s, t, off), 0);
		assert_string_equal(str_c(&s), want);
	}
	str_free(&s);
}

static void test_imap(void **state)
{
	struct str s;
	time_t t;
	int off;

	str_init(&s, 64);
	assert_int_equal(rfc822_date_imap_format(&s, T0, 0), 0);
	assert_string_equal(str_c(&s), "21-Nov-2026 13:49:23 +0000");
	str_clear(&s);
	assert_int_equal(rfc822_date_imap_format(&s, 760060800, -60), 0);
	assert_string_equal(str_c(&s), "31-Jan-1994 23:00:00 -0100");
	str_clear(&s);
	assert_int_equal(rfc822_date_imap_format(&s, 760060800, 0), 0);
	assert_string_equal(str_c(&s), " 1-Feb-1994 00:00:00 +0000");

	assert_int_equal(rfc822_date_imap_parse("21-Nov-2026 13:49:23 +0000",
						26, &t, &off), 0);
	assert_int_equal(t, T0);
	assert_int_equal(rfc822_date_imap_parse("\"21-nov-2026 14:49:23 +0100\"",
						28, &t, &off), 0);
	assert_int_equal(t, T0);
	assert_int_equal(off, 60);
	assert_int_equal(rfc822_date_imap_parse(" 1-Feb-1994 00:00:00 +0000",
						26, &t, &off), 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(rfc822_date_imap_parse("1-Feb-1994 00:00:00 +0000",
						25, &t, &off), 0);
	assert_int_equal(t, 760060800);

	{
		static const char *const bad[] = {
			"", "\"", "\"21-Nov-2026 13:49:23 +0000",
			"21-Nov-2026 13:49:23", "21-Nov-26 13:49:23 +0000",
			"21 Nov 2026 13:49:23 +0000",
			"21-November-2026 13:49:23 +0000",
			"21-Nov-2026 13:49 +0000", "21-Nov-2026 13:49:23 GMT",
			"31-Nov-2026 13:49:23 +0000",
			"21-Nov-2026  13:49:23 +0000",
			"21-Nov-2026 13:49:23 +0000 ", "  1-Feb-1994 00:00:00 +0000",
			"21-Nov-2026 1:49:23 +0000",
		};

		for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
			if (rfc822_date_imap_parse(bad[i], strlen(bad[i]), &t,
						   &off) != -1)
				fail_msg("accepted \"%s\"", bad[i]);
		}
	}

	/* SEARCH dates */
	str_clear(&s);
	assert_int_equal(rfc822_date_imap_search_format(&s, 760060800 + 3600),
			 0);
	assert_string_equal(str_c(&s), "1-Feb-1994");
	assert_int_equal(rfc822_date_imap_search_parse("1-Feb-1994", 10, &t),
			 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(rfc822_date_imap_search_parse("\"01-feb-1994\"", 13,
						       &t), 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(rfc822_date_imap_search_parse("1-Feb-94", 8, &t), -1);
	assert_int_equal(rfc822_date_imap_search_parse("30-Feb-1994", 11, &t),
			 -1);
	assert_int_equal(rfc822_date_imap_search_parse("1-Feb-1994 ", 11, &t),
			 -1);
	assert_int_equal(rfc822_date_imap_search_parse("001-Feb-1994", 12,
						       &t), -1);
	assert_int_equal(rfc822_date_imap_search_parse("1-Feb-1994\0", 11,
						       &t), -1);
	str_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rfc5322),
		cmocka_unit_test(test_parse_obsolete),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_tz_independent),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_imap),
		cmocka_unit_test(test_imap_format_as_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
