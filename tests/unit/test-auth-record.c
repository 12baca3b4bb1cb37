/* test-auth-record.c: unit tests for authlib/auth-record (the account
 * record, its options and the authdaemon reply format). */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include "auth-record.h"
#include "mem.h"

static void fill(struct auth_record *rec)
{
	auth_record_init(rec);
	rec->address = xstrdup("demo@example.test");
	rec->has_uid = true;
	rec->uid = 1000;
	rec->gid = 100;
	rec->home = xstrdup("/home/demo");
	rec->maildir = xstrdup("/home/demo/Maildir");
	rec->quota = xstrdup("1000000S,1000C");
	rec->passwd = xstrdup("$6$x$y");
	rec->clearpasswd = xstrdup("clear text");
	rec->fullname = xstrdup("Demo User");
	rec->options = xstrdup("disableimap=1,group=staff");
}

static const char expected[] = "UID=1000\nGID=100\nHOME=/home/demo\n"
			       "ADDRESS=demo@example.test\nNAME=Demo User\n"
			       "MAILDIR=/home/demo/Maildir\n"
			       "QUOTA=1000000S,1000C\nPASSWD=$6$x$y\n"
			       "PASSWD2=clear text\n"
			       "OPTIONS=disableimap=1,group=staff\n.\n";

static void test_write(void **state)
{
	struct auth_record rec;
	struct str out;
	const char *error;
	(void)state;

	fill(&rec);
	str_init(&out, 64);
	assert_int_equal(auth_record_write(&rec, true, &out, &error), 0);
	assert_string_equal(str_c(&out), expected);
	str_clear(&out);
	assert_int_equal(auth_record_write(&rec, false, &out, &error), 0);
	assert_null(strstr(str_c(&out), "PASSWD"));
	/* A line break in a field cannot be written (no key injection). */
	auth_record_set(&rec.fullname, "Evil\nUID=0");
	str_clear(&out);
	assert_int_equal(auth_record_write(&rec, true, &out, &error), -1);
	assert_int_equal(str_len(&out), 0);
	assert_string_equal(error, "NAME contains a line break");
	auth_record_free(&rec);
	/* Required fields. */
	auth_record_init(&rec);
	assert_int_equal(auth_record_write(&rec, true, &out, &error), -1);
	rec.address = xstrdup("a");
	rec.home = xstrdup("/h");
	assert_int_equal(auth_record_validate(&rec, &error), -1);
	rec.sysusername = xstrdup("root");
	assert_int_equal(auth_record_validate(&rec, &error), 0);
	auth_record_free(&rec);
	assert_null(rec.address);
	str_free(&out);
}

static void check_parsed(const struct auth_record *rec)
{
	assert_string_equal(rec->address, "demo@example.test");
	assert_true(rec->has_uid);
	assert_int_equal(rec->uid, 1000);
	assert_int_equal(rec->gid, 100);
	assert_string_equal(rec->home, "/home/demo");
	assert_string_equal(rec->maildir, "/home/demo/Maildir");
	assert_string_equal(rec->quota, "1000000S,1000C");
	assert_string_equal(rec->passwd, "$6$x$y");
	assert_string_equal(rec->clearpasswd, "clear text");
	assert_string_equal(rec->fullname, "Demo User");
	assert_string_equal(rec->options, "disableimap=1,group=staff");
}

static void test_parse_split_everywhere(void **state)
{
	size_t len = strlen(expected);
	(void)state;

	for (size_t cut = 0; cut <= len; cut++) {
		struct auth_reply_parser *p = auth_reply_parser_create(0);
		struct auth_record rec;
		const char *error;
		size_t used;
		auth_record_init(&rec);
		enum auth_reply_status st = auth_reply_parser_feed(
			p, expected, cut, &used, &rec, &error);
		if (cut < len) {
			assert_int_equal(st, AUTH_REPLY_MORE);
			assert_int_equal(used, cut);
			st = auth_reply_parser_feed(p, expected + cut,
				len - cut, &used, &rec, &error);
		}
		assert_int_equal(st, AUTH_REPLY_RECORD);
		check_parsed(&rec);
		auth_record_free(&rec);
		/* finished: more input is an error */
		assert_int_equal(
			auth_reply_parser_feed(p, "x", 1, NULL, &rec, &error),
			AUTH_REPLY_ERROR);
		auth_reply_parser_destroy(&p);
		assert_null(p);
	}
	/* byte at a time */
	struct auth_reply_parser *p = auth_reply_parser_create(0);
	struct auth_record rec;
	const char *error;
	enum auth_reply_status st = AUTH_REPLY_MORE;
	auth_record_init(&rec);
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(st, AUTH_REPLY_MORE);
		st = auth_reply_parser_feed(
			p, expected + i, 1, NULL, &rec, &error);
	}
	assert_int_equal(st, AUTH_REPLY_RECORD);
	check_parsed(&rec);
	auth_record_free(&rec);
	auth_reply_parser_destroy(&p);
}

static enum auth_reply_status parse_all(
	const char *text, size_t max, const char **error_r)
{
	struct auth_reply_parser *p = auth_reply_parser_create(max);
	struct auth_record rec;
	size_t used;
	auth_record_init(&rec);
	enum auth_reply_status st = auth_reply_parser_feed(
		p, text, strlen(text), &used, &rec, error_r);
	auth_record_free(&rec);
	auth_reply_parser_destroy(&p);
	return st;
}

static void test_parse_fail_and_malformed(void **state)
{
	const char *error;
	(void)state;

	assert_int_equal(parse_all("FAIL\n", 0, &error), AUTH_REPLY_FAIL);
	assert_int_equal(parse_all("FAIL", 0, &error), AUTH_REPLY_MORE);
	assert_int_equal(
		parse_all("ADDRESS=a\nFAIL\n", 0, &error), AUTH_REPLY_ERROR);
	assert_int_equal(parse_all("garbage\n", 0, &error), AUTH_REPLY_ERROR);
	assert_int_equal(parse_all("=x\n", 0, &error), AUTH_REPLY_ERROR);
	assert_int_equal(parse_all("UID=abc\n", 0, &error), AUTH_REPLY_ERROR);
	assert_int_equal(parse_all("UID=-1\n", 0, &error), AUTH_REPLY_ERROR);
	assert_int_equal(parse_all("UID=99999999999999999999\n", 0, &error),
		AUTH_REPLY_ERROR);
	assert_int_equal(parse_all("UID=1\nADDRESS=a\n.\n", 0, &error),
		AUTH_REPLY_ERROR); /* UID without GID */
	assert_int_equal(parse_all(".\n", 0, &error), AUTH_REPLY_ERROR);
	assert_int_equal(
		parse_all("ADDRESS=a\r\n.\n", 0, &error), AUTH_REPLY_ERROR);
	/* unknown keys are ignored; a line without '=' is not */
	assert_int_equal(
		parse_all("X-NEW=1\nADDRESS=a\nHOME=/\n.\n", 0, &error),
		AUTH_REPLY_RECORD);
	/* size limit */
	char big[200];
	memset(big, 'a', sizeof(big));
	memcpy(big, "NAME=", 5);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse_all(big, 100, &error), AUTH_REPLY_ERROR);
	assert_string_equal(error, "reply too long");
	/* NUL */
	struct auth_reply_parser *p = auth_reply_parser_create(0);
	struct auth_record rec;
	auth_record_init(&rec);
	assert_int_equal(
		auth_reply_parser_feed(p, "NAME=a\0b\n", 9, NULL, &rec, &error),
		AUTH_REPLY_ERROR);
	auth_reply_parser_destroy(&p);
	/* data after the end is left unread */
	p = auth_reply_parser_create(0);
	size_t used;
	const char *two = "ADDRESS=a\nUSERNAME=u\n.\nFAIL\n";
	assert_int_equal(auth_reply_parser_feed(
				 p, two, strlen(two), &used, &rec, &error),
		AUTH_REPLY_RECORD);
	assert_int_equal(used, strlen(two) - 5);
	assert_false(rec.has_uid);
	assert_string_equal(rec.sysusername, "u");
	auth_record_free(&rec);
	auth_reply_parser_destroy(&p);
}

static void test_options(void **state)
{
	struct auth_record rec;
	char *v;
	(void)state;

	assert_int_equal(auth_options_get("a=1,b,c=x=y,a=2", "a", &v), 1);
	assert_string_equal(v, "2");
	free(v);
	assert_int_equal(auth_options_get("a=1,b,c=x=y", "b", &v), 1);
	assert_string_equal(v, "1");
	free(v);
	assert_int_equal(auth_options_get("a=1,b,c=x=y", "c", &v), 1);
	assert_string_equal(v, "x=y");
	free(v);
	assert_int_equal(auth_options_get("a=1,bb=2", "b", &v), 0);
	assert_null(v);
	assert_int_equal(auth_options_get(NULL, "b", &v), 0);
	assert_int_equal(auth_options_get(",,", "b", &v), 0);
	assert_true(auth_options_get_bool("x=yes", "x", false));
	assert_false(auth_options_get_bool("x=0", "x", true));
	assert_false(auth_options_get_bool("x=", "x", true));
	assert_false(auth_options_get_bool("x=Off", "x", true));
	assert_true(auth_options_get_bool("y=0", "x", true));

	auth_record_init(&rec);
	auth_record_merge_options(&rec, "wbnodsn=1,disableimap=0");
	assert_string_equal(rec.options, "wbnodsn=1,disableimap=0");
	auth_record_set(&rec.options, "disableimap=1");
	auth_record_merge_options(&rec, "wbnodsn=1,disableimap=0,,flag");
	assert_string_equal(rec.options, "disableimap=1,wbnodsn=1,flag");
	assert_true(auth_record_service_disabled(&rec, "imap"));
	assert_true(auth_record_service_disabled(&rec, "IMAP"));
	assert_false(auth_record_service_disabled(&rec, "pop3"));
	auth_record_merge_options(&rec, NULL);
	assert_string_equal(rec.options, "disableimap=1,wbnodsn=1,flag");
	auth_record_free(&rec);
}

static void test_copy_and_maildir(void **state)
{
	struct auth_record a, b;
	struct str m;
	(void)state;

	fill(&a);
	auth_record_copy(&b, &a);
	auth_record_free(&a);
	check_parsed(&b);
	str_init(&m, 32);
	auth_record_maildir(&b, &m);
	assert_string_equal(str_c(&m), "/home/demo/Maildir");
	auth_record_set(&b.maildir, NULL);
	auth_record_set(&b.home, "/var/h");
	str_clear(&m);
	auth_record_maildir(&b, &m);
	assert_string_equal(str_c(&m), "/var/h/Maildir");
	str_free(&m);
	auth_record_free(&b);
	auth_record_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_parse_split_everywhere),
		cmocka_unit_test(test_parse_fail_and_malformed),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_copy_and_maildir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
