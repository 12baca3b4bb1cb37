/* test-esmtp-relay.c: unit tests for esmtp/esmtp-relay: SMTP paths and
 * their parameters (malformed ones included), xtext, smtpaccess matching
 * and the relay decision with the classic relay tricks. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>

#include "esmtp-relay.h"
#include "log.h"
#include "mem.h"

static void test_path_ok(void **state)
{
	struct esmtp_path p;
	const char *err;

	(void)state;
	assert_int_equal(esmtp_path_parse("<User@Example.TEST> SIZE=100 "
					  "body=8bitmime", true, false, &p,
					  &err), 0);
	assert_string_equal(p.local, "User");
	assert_string_equal(p.domain, "example.test");
	assert_string_equal(p.address, "User@example.test");
	assert_string_equal(esmtp_path_param(&p, "SIZE"), "100");
	assert_string_equal(esmtp_path_param(&p, "BODY"), "8bitmime");
	assert_null(esmtp_path_param(&p, "RET"));
	esmtp_path_free(&p);

	assert_int_equal(esmtp_path_parse("<>", true, false, &p, &err), 0);
	assert_true(p.null);
	assert_string_equal(p.address, "");
	esmtp_path_free(&p);

	/* a source route is dropped (RFC 5321 4.1.2) */
	assert_int_equal(esmtp_path_parse("<@relay.test:u@other.test>", false,
					  false, &p, &err), 0);
	assert_string_equal(p.address, "u@other.test");
	esmtp_path_free(&p);

	/* quoted local parts keep their meaning */
	assert_int_equal(esmtp_path_parse("<\"a b\"@x.test>", false, false, &p,
					  &err), 0);
	assert_string_equal(p.local, "a b");
	assert_string_equal(p.address, "\"a b\"@x.test");
	esmtp_path_free(&p);

	assert_int_equal(esmtp_path_parse("<postmaster>", false, true, &p,
					  &err), 0);
	assert_null(p.domain);
	esmtp_path_free(&p);

	assert_int_equal(esmtp_path_parse("<j\xc3\xb6rg@x.test> SMTPUTF8",
					  true, false, &p, &err), 0);
	assert_true(p.utf8);
	assert_string_equal(esmtp_path_param(&p, "SMTPUTF8"), "");
	esmtp_path_free(&p);
}

static void test_path_bad(void **state)
{
	static const char *const bad[] = {
		"", "u@x.test", "<u@x.test", "<u@x.test>junk", "<>",
		"<u@x.test.>", "<u@.x.test>", "<u@x..test>", "<u@>",
		"<@x.test>", "<u>", "<a b@x.test>", "<u@x.test> =1",
		"<u@x.test> A=1 A=2", "<u@x.test> K!=1", "<u\r@x.test>",
		"<\"unterminated@x.test>", "<u@x_test@y>", "<u@x.test> "
		"A B C D E F G H I J K L M N O P Q",
		"<u@-->,<v@x>",
	};
	struct esmtp_path p;
	const char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (esmtp_path_parse(bad[i], false, false, &p, &err) == 0) {
			print_error("accepted: %s -> %s\n", bad[i], p.address);
			esmtp_path_free(&p);
			fail();
		}
		assert_non_null(err);
		assert_true(err[0] == '5');
	}
	/* too long */
	char *big = malloc(2100);
	big[0] = '<';
	memset(big + 1, 'a', 2000);
	memcpy(big + 2001, "@x.test>", 9);
	assert_int_equal(esmtp_path_parse(big, false, false, &p, &err), -1);
	/* every prefix of a good path is refused without crashing */
	const char *good = "<\"q\\\"x\"@[127.0.0.1]> NOTIFY=SUCCESS ORCPT=a;b";
	for (size_t n = 0; n < strlen(good); n++) {
		char *cut = strndup(good, n);
		if (esmtp_path_parse(cut, false, false, &p, &err) == 0)
			esmtp_path_free(&p);
		free(cut);
	}
	free(big);
}

static void test_xtext(void **state)
{
	(void)state;
	assert_true(esmtp_xtext_valid("abc+2Bdef"));
	assert_true(esmtp_xtext_valid(""));
	assert_false(esmtp_xtext_valid("a+2"));
	assert_false(esmtp_xtext_valid("a+zz"));
	assert_false(esmtp_xtext_valid("a=b"));
	assert_false(esmtp_xtext_valid("a b"));
	assert_false(esmtp_xtext_valid("\xc3\xa9"));
}

static void test_access(void **state)
{
	static const char text[] =
		"# comment\n"
		"127.0.0.1\tallow,RELAYCLIENT\n"
		"192.168\tallow,RELAYCLIENT\n"
		"192.168.5\tdeny\n"
		"10.0.0.0/8\tallow,RELAYCLIENT\n"
		"10.1.2.3\tallow\n"
		"2001:db8:\tallow,RELAYCLIENT\n"
		"2001:db8::66\tdeny\n"
		"bogus line\n"
		"1.2.3.4/40\tallow\n"
		"300.1.1.1\tallow\n"
		"5.5.5.5\tmaybe\n";
	struct esmtp_access *acc = esmtp_access_new();
	bool relay;
	/* An address, its verdict, and whether it may relay (-1: not
	 * looked at). */
	static const struct {
		const char *ip;
		enum esmtp_access_result result;
		int relay;
	} checks[] = {
		{ "127.0.0.1", ESMTP_ACCESS_ALLOW, 1 },
		{ "127.0.0.2", ESMTP_ACCESS_NONE, 0 },
		{ "192.168.1.1", ESMTP_ACCESS_ALLOW, 1 },
		{ "192.168.5.1", ESMTP_ACCESS_DENY, -1 },
		{ "192.169.1.1", ESMTP_ACCESS_NONE, -1 },
		{ "10.200.0.1", ESMTP_ACCESS_ALLOW, 1 },
		/* the most specific line wins */
		{ "10.1.2.3", ESMTP_ACCESS_ALLOW, 0 },
		{ "2001:db8::1", ESMTP_ACCESS_ALLOW, 1 },
		{ "2001:db8::66", ESMTP_ACCESS_DENY, -1 },
		{ "::ffff:127.0.0.1", ESMTP_ACCESS_ALLOW, -1 },
		{ "not-an-ip", ESMTP_ACCESS_NONE, -1 },
	};

	(void)state;
	esmtp_access_parse(acc, "smtpaccess", text, sizeof(text) - 1);
	assert_int_equal(esmtp_access_bad_lines(acc), 4);
	for (size_t i = 0; i < N_ELEMENTS(checks); i++) {
		relay = !checks[i].relay;
		if (esmtp_access_check(acc, checks[i].ip, &relay) !=
		    checks[i].result)
			fail_msg("%s: not the verdict expected", checks[i].ip);
		if (checks[i].relay >= 0 && relay != (checks[i].relay == 1))
			fail_msg("%s: relay %d", checks[i].ip, (int)relay);
	}
	esmtp_access_free(&acc);
	assert_null(acc);

	/* malformed input split anywhere never crashes */
	for (size_t n = 0; n < sizeof(text); n++) {
		acc = esmtp_access_new();
		esmtp_access_parse(acc, "x", text, n);
		esmtp_access_parse(acc, "x", text + n, sizeof(text) - 1 - n);
		esmtp_access_free(&acc);
	}
}

static enum esmtp_rcpt_verdict verdict(const struct esmtp_domains *d,
				       const char *path, bool relay)
{
	struct esmtp_path p;
	const char *err;
	enum esmtp_rcpt_verdict v;

	if (esmtp_path_parse(path, false, true, &p, &err) < 0)
		return (enum esmtp_rcpt_verdict)-1;
	v = esmtp_rcpt_policy(d, &p, relay);
	esmtp_path_free(&p);
	return v;
}

static void test_relay_tricks(void **state)
{
	struct esmtp_domains *d = esmtp_domains_new(
		"localhost\n!no.sub.local.test\n.sub.local.test",
		"example.test\nalias.test\texample.test", "backup.test",
		"mail.example.test");
	static const char *const tricks[] = {
		"<user%other.example@example.test>",
		"<other.example!user@example.test>",
		"<\"user@other.example\"@example.test>",
		"<@example.test:user@other.example>",
		"<user@other.example>",
		"<user@[192.0.2.1]>",
		"<user@no.sub.local.test>",
		"<user@example.test.other>",
		"<user@xexample.test>",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
		assert_int_equal(verdict(d, tricks[i], false),
				 ESMTP_RCPT_DENIED);
		assert_int_equal(verdict(d, tricks[i], true),
				 ESMTP_RCPT_RELAY);
	}
	/* trailing dot: a syntax error, never accepted */
	assert_int_equal((int)verdict(d, "<user@other.example.>", false), -1);
	assert_int_equal((int)verdict(d, "<user@example.test.>", true), -1);
	assert_int_equal(verdict(d, "<demo@example.test>", false),
			 ESMTP_RCPT_LOCAL);
	assert_int_equal(verdict(d, "<demo@EXAMPLE.test>", false),
			 ESMTP_RCPT_LOCAL);
	assert_int_equal(verdict(d, "<demo@alias.test>", false),
			 ESMTP_RCPT_LOCAL);
	assert_int_equal(verdict(d, "<x@a.sub.local.test>", false),
			 ESMTP_RCPT_LOCAL);
	assert_int_equal(verdict(d, "<x@backup.test>", false),
			 ESMTP_RCPT_LOCAL);
	assert_int_equal(verdict(d, "<x@mail.example.test>", false),
			 ESMTP_RCPT_LOCAL);
	assert_int_equal(verdict(d, "<postmaster>", false), ESMTP_RCPT_LOCAL);
	esmtp_domains_free(&d);
	assert_null(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_ok),
		cmocka_unit_test(test_path_bad),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_relay_tricks),
	};

	log_set_min_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
