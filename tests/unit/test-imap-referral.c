/* test-imap-referral.c: unit tests for LOGIN-REFERRALS (RFC 2221): the
 * referral URL (user percent-encoded, host checked, malformed hosts
 * refused) and whether a mailhost names this server. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "imap-client.h"
#include "str.h"

static void check_url(const char *user, const char *host,
		      const char *expected)
{
	struct str s;

	str_init(&s, 64);
	assert_int_equal(imap_login_referral_url(&s, user, host), 0);
	assert_string_equal(str_c(&s), expected);
	str_free(&s);
}

static void test_url(void **state)
{
	(void)state;
	check_url("bob", "imap2.example.com",
		  "imap://bob;AUTH=*@imap2.example.com/");
	check_url("bob@example.com", "10.0.0.2",
		  "imap://bob%40example.com;AUTH=*@10.0.0.2/");
	check_url("a b;c:d/e%f", "[2001:db8::1]",
		  "imap://a%20b%3Bc%3Ad%2Fe%25f;AUTH=*@[2001:db8::1]/");
	check_url("\xc3\xa9t\xc3\xa9", "h",
		  "imap://%C3%A9t%C3%A9;AUTH=*@h/");
	check_url("", "h", "imap://;AUTH=*@h/");
}

static void test_bad_hosts(void **state)
{
	static const char *const bad[] = {
		"", "a/b", "a b", "host:143", ".lead", "-lead", "a@b", "[]",
		"[::1", "[::g]", "x\r\ny", "h\xc3\xa9",
	};
	char longname[300];
	struct str s;

	(void)state;
	str_init(&s, 64);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_login_referral_url(&s, "u", bad[i]) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(str_len(&s), 0);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(imap_login_referral_url(&s, "u", longname), -1);
	longname[255] = '\0';
	assert_int_equal(imap_login_referral_url(&s, "u", longname), 0);
	str_free(&s);
}

static void test_is_me(void **state)
{
	char name[256];

	(void)state;
	assert_true(imap_login_mailhost_is_me("IMAP1.example", "imap1.Example"));
	assert_false(imap_login_mailhost_is_me("imap2.example",
					       "imap1.example"));
	/* without PROXY_HOSTNAME: the system hostname, or localhost */
	assert_int_equal(gethostname(name, sizeof(name)), 0);
	name[sizeof(name) - 1] = '\0';
	assert_true(imap_login_mailhost_is_me(name, ""));
	assert_true(imap_login_mailhost_is_me("localhost", NULL));
	assert_false(imap_login_mailhost_is_me("other.invalid", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_bad_hosts),
		cmocka_unit_test(test_is_me),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
