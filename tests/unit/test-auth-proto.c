/* test-auth-proto.c: unit tests for authlib/authproto (authdaemon
 * requests: parse, write, split at every byte, malformed) and
 * authlib/throttle (failed-login counters). */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include "auth-record.h"
#include "authproto.h"
#include "mem.h"
#include "throttle.h"

/* Parses text, checking that every proper prefix needs more. */
static enum authproto_status parse_prefixes(
	const char *text, size_t len, struct authproto_request *req)
{
	const char *error;
	for (size_t n = 0; n < len; n++) {
		enum authproto_status st =
			authproto_parse(text, n, req, &error);
		if (st != AUTHPROTO_MORE)
			return st;
	}
	return authproto_parse(text, len, req, &error);
}

static void test_pre(void **state)
{
	struct authproto_request req;
	const char *t = "TCPREMOTEIP=192.0.2.1\nPRE . imap demo@example.test\n";
	(void)state;

	assert_int_equal(parse_prefixes(t, strlen(t), &req), AUTHPROTO_DONE);
	assert_int_equal(req.cmd, AUTHPROTO_PRE);
	assert_null(req.module);
	assert_string_equal(req.service, "imap");
	assert_string_equal(req.user, "demo@example.test");
	assert_string_equal(req.remote_ip, "192.0.2.1");
	authproto_request_free(&req);
	t = "PRE authuserdb courier joe\n";
	assert_int_equal(parse_prefixes(t, strlen(t), &req), AUTHPROTO_DONE);
	assert_string_equal(req.module, "authuserdb");
	assert_null(req.remote_ip);
	authproto_request_free(&req);
}

static void test_auth_login_roundtrip(void **state)
{
	struct authproto_request req;
	struct str s;
	const char *error;
	(void)state;

	str_init(&s, 128);
	/* Metacharacters travel as they are. */
	assert_int_equal(authproto_write_login(&s, "::1", "imap",
				 "o'brien)(uid=*)@x.test", "p w|=;\"x", &error),
		0);
	assert_int_equal(parse_prefixes(s.data, s.len, &req), AUTHPROTO_DONE);
	assert_int_equal(req.cmd, AUTHPROTO_AUTH);
	assert_int_equal(req.authtype, AUTHPROTO_LOGIN);
	assert_string_equal(req.service, "imap");
	assert_string_equal(req.mechanism, "login");
	assert_string_equal(req.user, "o'brien)(uid=*)@x.test");
	assert_string_equal(req.password, "p w|=;\"x");
	assert_string_equal(req.remote_ip, "::1");
	authproto_request_free(&req);
	/* Framing-breaking values are refused by the writer. */
	str_clear(&s);
	assert_int_equal(
		authproto_write_login(&s, NULL, "imap", "a\nb", "p", &error),
		-1);
	assert_int_equal(
		authproto_write_login(&s, NULL, "imap", "a", "p\tq", &error),
		-1);
	assert_int_equal(
		authproto_write_login(&s, NULL, "im ap", "a", "p", &error), -1);
	assert_int_equal(
		authproto_write_login(&s, NULL, "imap", "", "p", &error), -1);
	assert_int_equal(s.len, 0);
	str_free(&s);
}

static void test_auth_cram_roundtrip(void **state)
{
	struct authproto_request req;
	struct str s;
	const char *error;
	const char chal[] = "<1.2@host>\0bin";
	(void)state;

	str_init(&s, 128);
	assert_int_equal(
		authproto_write_cram(&s, NULL, "esmtp", "cram-md5", chal,
			sizeof(chal), "demo@x.test 0123abcd", &error),
		0);
	assert_int_equal(parse_prefixes(s.data, s.len, &req), AUTHPROTO_DONE);
	assert_int_equal(req.authtype, AUTHPROTO_CRAM);
	assert_string_equal(req.mechanism, "cram-md5");
	assert_int_equal(req.challenge_len, sizeof(chal));
	assert_memory_equal(req.challenge, chal, sizeof(chal));
	assert_string_equal(req.user, "demo@x.test");
	assert_string_equal(req.digest_hex, "0123abcd");
	authproto_request_free(&req);
	str_free(&s);
}

static void test_passwd_enumerate(void **state)
{
	struct authproto_request req;
	struct str s;
	const char *error;
	(void)state;

	str_init(&s, 128);
	assert_int_equal(authproto_write_passwd(&s, "webmail", "u@d", "old pw",
				 "new pw", &error),
		0);
	assert_int_equal(parse_prefixes(s.data, s.len, &req), AUTHPROTO_DONE);
	assert_int_equal(req.cmd, AUTHPROTO_PASSWD);
	assert_string_equal(req.user, "u@d");
	assert_string_equal(req.password, "old pw");
	assert_string_equal(req.new_password, "new pw");
	authproto_request_free(&req);
	str_clear(&s);
	authproto_write_enumerate(&s);
	assert_int_equal(parse_prefixes(s.data, s.len, &req), AUTHPROTO_DONE);
	assert_int_equal(req.cmd, AUTHPROTO_ENUMERATE);
	authproto_request_free(&req);
	str_free(&s);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"HELLO\n",
		"PRE . imap\n",
		"PRE . imap a b\n",
		"PRE  imap a\n",
		"AUTH x\n",
		"AUTH 0\n",
		"AUTH 999999\n",
		"AUTH 5\nab\ncd\n",
		"AUTH 9\nimap\nfoo\n\n",
		"AUTH 11\nimap\nlogin\n\n",
		"AUTH 14\nimap\nlogin\nu\n\n",
		"AUTH 20\nimap\ncram-md5\n!!!\nxx\n",
		"AUTH 24\nimap\ncram-md5\nYQ==\nYWJj\n",
		"PASSWD imap\tu\told\n",
		"PASSWD imap\tu\told\tnew\textra\n",
		"TCPREMOTEIP=a b\nPRE . imap a\n",
		"X=1\nX=1\nX=1\nX=1\nX=1\nX=1\nX=1\nX=1\nX=1\nX=1\nX=1\nX=1\n"
		"X=1\nX=1\nX=1\nX=1\nX=1\nPRE . imap a\n",
	};
	struct authproto_request req;
	const char *error;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%zu\n", i);
		assert_int_equal(parse_prefixes(bad[i], strlen(bad[i]), &req),
			AUTHPROTO_ERROR);
	}
	/* Bytes after a complete request (seen when they came in the same
	 * read) */
	assert_int_equal(
		authproto_parse("PRE . imap a\nextra", 18, &req, &error),
		AUTHPROTO_ERROR);
	assert_int_equal(authproto_parse("ENUMERATE\nmore", 14, &req, &error),
		AUTHPROTO_ERROR);
	/* NUL bytes */
	assert_int_equal(authproto_parse("PRE . imap a\0b\n", 15, &req, &error),
		AUTHPROTO_ERROR);
	assert_int_equal(authproto_parse("AUTH 13\nimap\nlogin\na\0\n", 21,
				 &req, &error),
		AUTHPROTO_ERROR);
	/* over the size limit */
	char *big = xmalloc(AUTHPROTO_MAX_REQUEST + 10);
	memset(big, 'a', AUTHPROTO_MAX_REQUEST + 10);
	assert_int_equal(
		authproto_parse(big, AUTHPROTO_MAX_REQUEST + 10, &req, &error),
		AUTHPROTO_ERROR);
	free(big);
	/* a password at the limit passes, over it fails */
	struct str s;
	str_init(&s, 64);
	char pw[AUTH_MAX_PASSWORD_LEN + 2];
	memset(pw, 'p', sizeof(pw));
	pw[AUTH_MAX_PASSWORD_LEN] = '\0';
	assert_int_equal(
		authproto_write_login(&s, NULL, "imap", "u", pw, &error), 0);
	assert_int_equal(
		authproto_parse(s.data, s.len, &req, &error), AUTHPROTO_DONE);
	authproto_request_free(&req);
	pw[AUTH_MAX_PASSWORD_LEN] = 'p';
	pw[AUTH_MAX_PASSWORD_LEN + 1] = '\0';
	str_clear(&s);
	assert_int_equal(
		authproto_write_login(&s, NULL, "imap", "u", pw, &error), -1);
	str_free(&s);
}

static void test_courier_login_without_last_lf(void **state)
{
	struct authproto_request req;
	const char *t = "AUTH 17\nimap\nlogin\nu\npass";
	(void)state;
	assert_int_equal(parse_prefixes(t, strlen(t), &req), AUTHPROTO_DONE);
	assert_string_equal(req.password, "pass");
	authproto_request_free(&req);
}

static void test_throttle(void **state)
{
	const char *error;
	struct throttle *t = throttle_create(64, &error);
	(void)state;

	assert_non_null(t);
	assert_false(throttle_blocked(t, "user:a", 3, 60, 1000));
	assert_int_equal(throttle_fail(t, "user:a", 60, 1000), 1);
	assert_int_equal(throttle_fail(t, "user:a", 60, 1010), 2);
	assert_false(throttle_blocked(t, "user:a", 3, 60, 1010));
	assert_int_equal(throttle_fail(t, "user:a", 60, 1020), 3);
	assert_true(throttle_blocked(t, "user:a", 3, 60, 1020));
	assert_false(throttle_blocked(t, "user:b", 3, 60, 1020));
	assert_false(throttle_blocked(t, "user:a", 0, 60, 1020));
	/* the window runs from the first failure */
	assert_true(throttle_blocked(t, "user:a", 3, 60, 1059));
	assert_false(throttle_blocked(t, "user:a", 3, 60, 1060));
	assert_int_equal(throttle_fail(t, "user:a", 60, 1061), 1);
	throttle_reset(t, "user:a");
	assert_int_equal(throttle_fail(t, "user:a", 60, 1062), 1);

	/* shared with forked processes */
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 5; i++)
			throttle_fail(t, "ip:192.0.2.9", 60, 2000);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(throttle_blocked(t, "ip:192.0.2.9", 5, 60, 2001));

	/* many keys: the table stays bounded, recent keys are kept */
	for (int i = 0; i < 10000; i++) {
		char key[32];
		snprintf(key, sizeof(key), "user:%d", i);
		throttle_fail(t, key, 60, 3000 + i);
	}
	assert_int_equal(throttle_fail(t, "user:9999", 60, 13000), 2);
	throttle_destroy(&t);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pre),
		cmocka_unit_test(test_auth_login_roundtrip),
		cmocka_unit_test(test_auth_cram_roundtrip),
		cmocka_unit_test(test_passwd_enumerate),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_courier_login_without_last_lf),
		cmocka_unit_test(test_throttle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
