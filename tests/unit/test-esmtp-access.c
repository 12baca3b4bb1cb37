/* test-esmtp-access.c: smtpaccess: variables, errors with file and line,
 * the compiled LMDB file against the text, duplicates, replacement of
 * the file under a running reader, malformed input. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "esmtp-access.h"
#include "mem.h"
#include "str.h"

static const char sample[] =
	"# comment\n"
	"127.0.0.1\tallow,RELAYCLIENT\n"
	"192.168\tallow,RELAYCLIENT,SIZELIMIT=1000\n"
	"192.168.5\tdeny\n"
	"10.0.0.0/8\tallow, RELAYCLIENT ,BLOCK=\"550 go away, now\"\n"
	"10.1.2.3\tallow,BLOCK\n"
	"2001:db8:\tallow,RELAYCLIENT\n"
	"2001:db8::66\tdeny\n"
	"*\tallow,BOFHCHECKHELO=1\n";

struct errors {
	struct str text;
};

static void collect(const char *file, unsigned int line, const char *msg,
		    void *context)
{
	struct errors *e = context;

	str_printfa(&e->text, "%s:%u: %s\n", file, line, msg);
}

static void check_table(struct esmtp_access *acc)
{
	char *vars, *v;
	bool relay;

	assert_int_equal(esmtp_access_check(acc, "127.0.0.1", &relay),
			 ESMTP_ACCESS_ALLOW);
	assert_true(relay);
	assert_int_equal(esmtp_access_lookup(acc, "192.168.1.1", &vars),
			 ESMTP_ACCESS_ALLOW);
	v = esmtp_access_var(vars, "SIZELIMIT");
	assert_string_equal(v, "1000");
	free(v);
	free(vars);
	assert_int_equal(esmtp_access_lookup(acc, "192.168.5.9", &vars),
			 ESMTP_ACCESS_DENY);
	assert_null(vars);
	assert_int_equal(esmtp_access_lookup(acc, "10.9.9.9", &vars),
			 ESMTP_ACCESS_ALLOW);
	v = esmtp_access_var(vars, "BLOCK");
	assert_string_equal(v, "550 go away, now");
	free(v);
	v = esmtp_access_var(vars, "RELAYCLIENT");
	assert_string_equal(v, "");
	free(v);
	assert_null(esmtp_access_var(vars, "RELAY"));
	free(vars);
	/* the most specific line wins */
	assert_int_equal(esmtp_access_lookup(acc, "10.1.2.3", &vars),
			 ESMTP_ACCESS_ALLOW);
	assert_string_equal(vars, "BLOCK=\n");
	free(vars);
	assert_int_equal(esmtp_access_check(acc, "2001:db8::1", &relay),
			 ESMTP_ACCESS_ALLOW);
	assert_true(relay);
	assert_int_equal(esmtp_access_check(acc, "2001:db8::66", &relay),
			 ESMTP_ACCESS_DENY);
	assert_int_equal(esmtp_access_check(acc, "::ffff:192.168.5.1", &relay),
			 ESMTP_ACCESS_DENY);
	/* "*" catches the rest, and is the least specific */
	assert_int_equal(esmtp_access_lookup(acc, "8.8.8.8", &vars),
			 ESMTP_ACCESS_ALLOW);
	assert_string_equal(vars, "BOFHCHECKHELO=1\n");
	free(vars);
	assert_int_equal(esmtp_access_lookup(acc, "2001:db9::1", &vars),
			 ESMTP_ACCESS_ALLOW);
	free(vars);
	assert_int_equal(esmtp_access_lookup(acc, "not-an-ip", &vars),
			 ESMTP_ACCESS_NONE);
	assert_null(vars);
}

static void test_vars_memory(void **state)
{
	struct esmtp_access *acc = esmtp_access_new();

	(void)state;
	esmtp_access_parse(acc, "smtpaccess", sample, sizeof(sample) - 1);
	assert_int_equal(esmtp_access_bad_lines(acc), 0);
	check_table(acc);
	esmtp_access_free(&acc);
	assert_null(acc);
}

static void test_errors_with_file_and_line(void **state)
{
	static const char text[] =
		"1.2.3.4\tallow\n"
		"bogus line\n"
		"1.2.3.4/40\tallow\n"
		"300.1.1.1\tallow\n"
		"5.5.5.5\tmaybe\n"
		"6.6.6.6\tallow,9BAD=1\n"
		"7.7.7.7\tallow,X=\"open\n"
		"8.8.8.8\tallow,X=\"1\"Y\n"
		"1.2.3.4.5\tallow\n"
		"1:2:3:4:5:6:7:8:9\tallow\n"
		"1.2.3.4/\tallow\n"
		"1.2.3.4/-1\tallow\n";
	struct esmtp_access *acc = esmtp_access_new();
	struct errors e;

	(void)state;
	str_init(&e.text, 256);
	esmtp_access_set_error_callback(acc, collect, &e);
	esmtp_access_parse(acc, "etc/smtpaccess/10local", text,
			   sizeof(text) - 1);
	assert_int_equal(esmtp_access_bad_lines(acc), 11);
	assert_non_null(strstr(str_c(&e.text),
			       "etc/smtpaccess/10local:2: not an IP"));
	assert_non_null(strstr(str_c(&e.text),
			       "etc/smtpaccess/10local:5: expected allow"));
	assert_non_null(strstr(str_c(&e.text),
			       "etc/smtpaccess/10local:6: bad variable"));
	assert_non_null(strstr(str_c(&e.text),
			       "etc/smtpaccess/10local:7: unterminated"));
	assert_non_null(strstr(str_c(&e.text), "10local:12:"));
	assert_null(strstr(str_c(&e.text), "10local:1:"));
	str_free(&e.text);
	esmtp_access_free(&acc);
}

static void test_compiled_db(void **state)
{
	char dir[] = "/tmp/test-esmtp-access-XXXXXX";
	char *dat, *src;
	struct esmtp_access *acc, *db;
	const char *error;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dat = xasprintf("%s/smtpaccess.dat", dir);
	src = xasprintf("%s/smtpaccess", dir);
	f = fopen(src, "w");
	assert_non_null(f);
	fputs(sample, f);
	fclose(f);

	acc = esmtp_access_new();
	assert_int_equal(esmtp_access_read_text(acc, src), 1);
	assert_int_equal(esmtp_access_write_db(acc, dat, &error), 0);
	esmtp_access_free(&acc);

	db = esmtp_access_load(src);
	check_table(db);

	/* a new file renamed over the old one is seen by the next lookup */
	acc = esmtp_access_new();
	esmtp_access_parse(acc, "x", "127.0.0.1\tdeny\n", 15);
	assert_int_equal(esmtp_access_write_db(acc, dat, &error), 0);
	esmtp_access_free(&acc);
	assert_int_equal(esmtp_access_lookup(db, "127.0.0.1", NULL),
			 ESMTP_ACCESS_DENY);
	assert_int_equal(esmtp_access_lookup(db, "10.1.1.1", NULL),
			 ESMTP_ACCESS_NONE);
	esmtp_access_free(&db);

	/* duplicates: an error naming both lines, nothing written */
	struct errors e;

	str_init(&e.text, 128);
	acc = esmtp_access_new();
	esmtp_access_set_error_callback(acc, collect, &e);
	esmtp_access_parse(acc, "f", "10.0.0.0/8\tallow\n10\tdeny\n", 24);
	assert_int_equal(esmtp_access_bad_lines(acc), 0);
	assert_int_equal(esmtp_access_write_db(acc, dat, &error), -1);
	assert_string_equal(str_c(&e.text), "f:2: the same address as f:1\n");
	esmtp_access_free(&acc);
	str_free(&e.text);
	db = esmtp_access_load(src);
	assert_int_equal(esmtp_access_lookup(db, "127.0.0.1", NULL),
			 ESMTP_ACCESS_DENY);
	esmtp_access_free(&db);

	/* without the .dat the text is read */
	assert_int_equal(unlink(dat), 0);
	db = esmtp_access_load(src);
	check_table(db);
	esmtp_access_free(&db);

	unlink(src);
	rmdir(dir);
	free(dat);
	free(src);
}

static void test_malformed_split(void **state)
{
	(void)state;
	for (size_t n = 0; n < sizeof(sample); n++) {
		struct esmtp_access *acc = esmtp_access_new();
		struct errors e;

		str_init(&e.text, 64);
		esmtp_access_set_error_callback(acc, collect, &e);
		esmtp_access_parse(acc, "x", sample, n);
		esmtp_access_parse(acc, "x", sample + n,
				   sizeof(sample) - 1 - n);
		(void)esmtp_access_lookup(acc, "10.1.2.3", NULL);
		esmtp_access_free(&acc);
		str_free(&e.text);
	}
	/* NUL bytes and a huge line */
	{
		char big[10000];
		struct esmtp_access *acc = esmtp_access_new();
		struct errors e;

		str_init(&e.text, 64);
		esmtp_access_set_error_callback(acc, collect, &e);
		memset(big, 'a', sizeof(big));
		esmtp_access_parse(acc, "x", big, sizeof(big));
		esmtp_access_parse(acc, "x", "1.2.3.4\0\tallow\n", 15);
		assert_int_equal(esmtp_access_bad_lines(acc), 2);
		esmtp_access_free(&acc);
		str_free(&e.text);
	}
}

static void test_cblocks(void **state)
{
	struct esmtp_cblocks *cb = esmtp_cblocks_new();
	unsigned char k1[7], k2[7];

	(void)state;
	assert_true(esmtp_access_cblock("192.0.2.1", k1));
	assert_true(esmtp_access_cblock("::ffff:192.0.2.200", k2));
	assert_memory_equal(k1, k2, 7);
	assert_true(esmtp_access_cblock("2001:db8:1:2::1", k1));
	assert_true(esmtp_access_cblock("2001:db8:1:ffff::9", k2));
	assert_memory_equal(k1, k2, 7);
	assert_true(esmtp_access_cblock("2001:db8:2::1", k2));
	assert_memory_not_equal(k1, k2, 7);
	/* malformed addresses are not counted, never crash */
	assert_false(esmtp_access_cblock("", k1));
	assert_false(esmtp_access_cblock("192.0.2", k1));
	assert_false(esmtp_access_cblock("1.2.3.4.5", k1));
	assert_false(esmtp_access_cblock("::ffff:1.2.3", k1));
	assert_false(esmtp_access_cblock("[::1]", k1));
	assert_true(esmtp_cblocks_enter(cb, "nonsense", 1));
	assert_true(esmtp_cblocks_enter(cb, "nonsense", 1));
	esmtp_cblocks_leave(cb, "nonsense");

	/* two from 192.0.2.x at most; 192.0.3.x is another block */
	assert_true(esmtp_cblocks_enter(cb, "192.0.2.1", 2));
	assert_true(esmtp_cblocks_enter(cb, "192.0.2.99", 2));
	assert_false(esmtp_cblocks_enter(cb, "192.0.2.1", 2));
	assert_false(esmtp_cblocks_enter(cb, "::ffff:192.0.2.7", 2));
	assert_true(esmtp_cblocks_enter(cb, "192.0.3.1", 2));
	assert_int_equal(esmtp_cblocks_count(cb, "192.0.2.250"), 2);
	esmtp_cblocks_leave(cb, "192.0.2.1");
	assert_true(esmtp_cblocks_enter(cb, "192.0.2.3", 2));
	/* 0: no limit */
	for (int i = 0; i < 100; i++)
		assert_true(esmtp_cblocks_enter(cb, "2001:db8::1", 0));
	assert_int_equal(esmtp_cblocks_count(cb, "2001:db8:0:1::5"), 100);
	for (int i = 0; i < 100; i++)
		esmtp_cblocks_leave(cb, "2001:db8::1");
	assert_int_equal(esmtp_cblocks_count(cb, "2001:db8::1"), 0);
	/* leaving more than entered is harmless */
	esmtp_cblocks_leave(cb, "2001:db8::1");
	esmtp_cblocks_leave(cb, "203.0.113.1");
	assert_int_equal(esmtp_cblocks_count(cb, "192.0.3.9"), 1);
	esmtp_cblocks_free(&cb);
	assert_null(cb);
	esmtp_cblocks_free(&cb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vars_memory),
		cmocka_unit_test(test_cblocks),
		cmocka_unit_test(test_errors_with_file_and_line),
		cmocka_unit_test(test_compiled_db),
		cmocka_unit_test(test_malformed_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
