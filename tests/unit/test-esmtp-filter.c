/* test-esmtp-filter.c: the global filters' reply reader (split at every
 * byte, malformed replies) and enablefiltering. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "esmtp-filter.h"

static void feed_split(const char *text, size_t split, bool eof,
		       struct esmtp_filter_reply *r)
{
	size_t len = strlen(text);

	esmtp_filter_reply_init(r);
	if (esmtp_filter_reply_feed(r, text, split, false) == 0)
		(void)esmtp_filter_reply_feed(r, text + split, len - split,
					      eof);
}

static void test_replies(void **state)
{
	static const char multi[] = "550-5.7.1 no\r\n550 5.7.1 (x)\nrest";
	struct esmtp_filter_reply r;

	(void)state;
	for (size_t i = 0; i <= strlen(multi); i++) {
		feed_split(multi, i, false, &r);
		assert_true(r.done && r.valid);
		assert_int_equal(r.code, 550);
		assert_int_equal(r.line_count, 2);
		assert_string_equal(r.lines[0], "550-5.7.1 no");
		assert_string_equal(r.lines[1], "550 5.7.1 (x)");
		esmtp_filter_reply_free(&r);
	}
	/* no LF, then EOF; a bare code */
	feed_split("200", 1, true, &r);
	assert_true(r.valid);
	assert_string_equal(r.lines[0], "200 Ok");
	esmtp_filter_reply_free(&r);
	/* more needed */
	esmtp_filter_reply_init(&r);
	assert_int_equal(esmtp_filter_reply_feed(&r, "250-a\n", 6, false), 0);
	assert_int_equal(esmtp_filter_reply_feed(&r, "", 0, true), 1);
	assert_false(r.valid);
	esmtp_filter_reply_free(&r);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"hello\n", "99 x\n", "350 x\n", "250x\n", "25\n",
		"250-a\n550 b\n", "2\0000 x\n", "", "\n",
	};
	struct esmtp_filter_reply r;
	char big[ESMTP_FILTER_MAX_REPLY + 10];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		esmtp_filter_reply_init(&r);
		(void)esmtp_filter_reply_feed(&r, bad[i], strlen(bad[i]) +
					      (i == 6 ? 6 : 0), true);
		assert_true(r.done);
		assert_false(r.valid);
		esmtp_filter_reply_free(&r);
	}
	memset(big, 'a', sizeof(big));
	memcpy(big, "250-", 4);
	esmtp_filter_reply_init(&r);
	assert_int_equal(esmtp_filter_reply_feed(&r, big, sizeof(big), false),
			 1);
	assert_false(r.valid);
	esmtp_filter_reply_free(&r);
	/* control bytes are blanked */
	feed_split("550 a\tb\x01" "c\n", 3, false, &r);
	assert_string_equal(r.lines[0], "550 a b c");
	esmtp_filter_reply_free(&r);
}

/* Courier's Extended DATA Reply format (558), split at every byte. */
static void test_558(void **state)
{
	static const char ok[] = "558-250 Ok\n558-550-5.7.1 Refused\n"
				 "558-550 5.7.1 (x)\n558 451 4.7.1 later\n";
	static const char *const bad[] = {
		"558 Refused\n",		/* no sub-reply */
		"558-250 Ok\n558 550-no end\n",	/* last line open */
		"558-550-a\n558 451 b\n",	/* code changes in a sub */
		"558-250 Ok\n558 350 x\n",	/* not 2xx/4xx/5xx */
		"558-250 Ok\n558 25\n",	/* too short */
		"558-250xOk\n558 250 Ok\n",	/* bad separator */
		"558-250 Ok\n550 250 Ok\n",	/* outer code changes */
	};
	struct esmtp_filter_reply r;

	(void)state;
	for (size_t i = 0; i <= strlen(ok); i++) {
		feed_split(ok, i, false, &r);
		assert_true(r.done && r.valid);
		assert_int_equal(r.code, 558);
		assert_int_equal(r.sub_count, 3);
		assert_string_equal(r.subs[0], "250 Ok");
		assert_string_equal(r.subs[1],
				    "550-5.7.1 Refused\n550 5.7.1 (x)");
		assert_string_equal(r.subs[2], "451 4.7.1 later");
		esmtp_filter_reply_free(&r);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		feed_split(bad[i], 0, true, &r);
		assert_true(r.done);
		assert_false(r.valid);
		esmtp_filter_reply_free(&r);
	}
}

static void test_enabled(void **state)
{
	(void)state;
	assert_true(esmtp_filter_enabled("esmtp local", "esmtp"));
	assert_true(esmtp_filter_enabled("local esmtp\n", "esmtp"));
	assert_false(esmtp_filter_enabled("esmtpx uucp", "esmtp"));
	assert_false(esmtp_filter_enabled(NULL, "esmtp"));
	assert_false(esmtp_filter_enabled("", "local"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_558),
		cmocka_unit_test(test_enabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
