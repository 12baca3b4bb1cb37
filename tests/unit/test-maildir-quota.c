/* test-maildir-quota.c: unit tests for lib/maildir-quota (maildirsize). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "maildir.h"
#include "maildir-folder.h"
#include "maildir-quota.h"
#include "mem.h"
#include "unit-files.h"
#include "str.h"

static void deliver_n(const char *dir, size_t size, int n)
{
	char *buf = xmalloc(size), *name;
	const char *error;

	memset(buf, 'x', size);
	for (int i = 0; i < n; i++) {
		assert_int_equal(maildir_deliver(dir, buf, size, 0, &name,
						 &error), 0);
		free(name);
	}
	free(buf);
}

static void test_spec_parse(void **state)
{
	struct maildir_quota_spec s;

	(void)state;
	assert_int_equal(maildir_quota_spec_parse("10000S,10C", 10, &s), 0);
	assert_int_equal(s.bytes, 10000);
	assert_int_equal(s.count, 10);
	assert_int_equal(maildir_quota_spec_parse("10C", 3, &s), 0);
	assert_int_equal(s.bytes, 0);
	assert_int_equal(s.count, 10);
	assert_int_equal(maildir_quota_spec_parse("5S", 2, &s), 0);
	assert_int_equal(s.bytes, 5);
	assert_int_equal(maildir_quota_spec_parse("", 0, &s), 0);
	assert_int_equal(s.bytes + s.count, 0);
	assert_int_equal(maildir_quota_spec_parse("junk", 4, &s), -1);
	assert_int_equal(maildir_quota_spec_parse("10X", 3, &s), -1);
	assert_int_equal(maildir_quota_spec_parse("S", 1, &s), -1);
	assert_int_equal(maildir_quota_spec_parse("10", 2, &s), -1);
	assert_int_equal(maildir_quota_spec_parse("10S;5C", 6, &s), -1);
	assert_int_equal(s.bytes, 10);
	assert_int_equal(
		maildir_quota_spec_parse("99999999999999999999999S", 24, &s),
		-1);
	/* Only the given length is read. */
	assert_int_equal(maildir_quota_spec_parse("7S,8Cjunk", 5, &s), 0);
	assert_int_equal(s.count, 8);
}

static void test_parse(void **state)
{
	struct maildir_quota_usage u;
	const char *ok = "10000S,10C\n"
			 "         100            2\n"
			 "          18            1\n"
			 "-5 -1\n"
			 "\t7\t1";

	(void)state;
	maildir_quota_parse(ok, strlen(ok), &u);
	assert_false(u.needs_recalc);
	assert_int_equal(u.spec.bytes, 10000);
	assert_int_equal(u.spec.count, 10);
	assert_int_equal(u.bytes, 120);
	assert_int_equal(u.count, 3);
	assert_int_equal(u.lines, 4);

	/* Every prefix parses without harm. */
	for (size_t i = 0; i <= strlen(ok); i++)
		maildir_quota_parse(ok, i, &u);

	static const char *const garbage[] = {
		"10S\n12\n",	    /* one number */
		"10S\nabc def\n",   /* not numbers */
		"10S\n1 2 3\n",	    /* three */
		"10S\n1- 2\n",	    /* bad sign */
		"10S\n--1 2\n",
		"10S\n-100 -1\n",   /* negative total */
		"10S\n99999999999999999999 1\n", /* overflow */
		"10S\n1 1\n\n",	    /* empty line */
		"",		    /* no quota line at all */
		"10S\n1\x00 1\n",
	};
	for (size_t i = 0; i < N_ELEMENTS(garbage); i++) {
		size_t len = strlen(garbage[i]);

		if (i == N_ELEMENTS(garbage) - 1)
			len = 10;
		maildir_quota_parse(garbage[i], len, &u);
		if (!u.needs_recalc)
			fail_msg("garbage %zu not flagged", i);
	}
	/* Many large deltas cannot overflow the totals. */
	{
		struct str s;

		str_init(&s, 1024);
		str_append(&s, "1S\n");
		for (int i = 0; i < 300; i++)
			str_append(&s, "1152921504606846976 1\n");
		maildir_quota_parse(str_c(&s), str_len(&s), &u);
		assert_true(u.needs_recalc);
		str_free(&s);
	}
}

static void test_no_quota(void **state)
{
	char *root = unit_maildir("mdquota");
	struct maildir_quota *q;
	const char *error;

	(void)state;
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 0);
	assert_null(q);
	/* A file without a usable quota line is no quota either. */
	unit_write_file(root, "maildirsize", "junk\n1 1\n");
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 0);
	unit_rm_rf(root);
	free(root);
}

static void test_recalc_and_check(void **state)
{
	char *root = unit_maildir("mdquota"), *sent, *trash, *s, *p, *name;
	struct maildir_quota *q;
	const char *error;
	int64_t b, c;

	(void)state;
	assert_int_equal(maildir_folder_create(root, "Sent", &error), 1);
	assert_int_equal(maildir_folder_create(root, "Trash", &error), 1);
	assert_int_equal(maildir_folder_create(root, "Trash.Sub", &error), 1);
	sent = maildir_folder_path(root, "Sent");
	trash = maildir_folder_path(root, "Trash");
	deliver_n(root, 100, 2);
	deliver_n(sent, 50, 1);
	deliver_n(trash, 1000, 3);    /* Trash does not count */
	/* A message marked deleted does not count, nor does a symlinked
	 * folder; a message without ",S=" is stat()ed. */
	unit_write_file(root, "cur/1.2.host:2,ST", "xxxxxxxxxx");
	unit_write_file(root, "cur/1.3.host:2,S", "1234567");
	p = xasprintf("%s/.Link", root);
	assert_int_equal(symlink(sent, p), 0);
	free(p);
	{
		char *tsub = maildir_folder_path(root, "Trash.Sub");

		deliver_n(tsub, 9, 1); /* Courier counts .Trash.Sub */
		free(tsub);
	}

	/* Configured quota, no file yet: it is created from a scan. */
	assert_int_equal(maildir_quota_open(root, "1000S,10C", &q, &error), 1);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 200 + 50 + 7 + 9);
	assert_int_equal(c, 5);
	s = unit_read_file(root, "maildirsize");
	assert_non_null(s);
	assert_string_equal(s, "1000S,10C\n         266            5\n");
	free(s);
	assert_int_equal(maildir_quota_get_spec(q)->bytes, 1000);
	assert_int_equal(maildir_quota_percent(q), 50);

	/* Courier's rule: over when usage + new > limit. */
	assert_int_equal(maildir_quota_check(q, 734, 1, &error), 1);
	assert_int_equal(maildir_quota_check(q, 735, 1, &error), 0);
	assert_int_equal(maildir_quota_check(q, 1, 6, &error), 0);
	assert_int_equal(maildir_quota_add(q, 34, 1, &error), 0);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 300);
	assert_int_equal(c, 6);
	maildir_quota_close(&q);
	assert_null(q);

	/* Reading through a folder finds the root's maildirsize; the file's
	 * own quota line is used when none is configured. */
	assert_int_equal(maildir_quota_open(sent, NULL, &q, &error), 1);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 300);
	/* The stale +34 line makes "over quota" get recounted: 2 lines. */
	assert_int_equal(maildir_quota_check(q, 734, 1, &error), 1);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 266);
	maildir_quota_close(&q);

	/* Over quota on a fresh one-line file is believed... */
	unit_write_file(root, "maildirsize", "1000S,10C\n         999            5\n");
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 1);
	assert_int_equal(maildir_quota_check(q, 2, 1, &error), 0);
	maildir_quota_close(&q);
	/* ...until it is 15 minutes old. */
	{
		struct timeval tv[2];

		p = xasprintf("%s/maildirsize", root);
		tv[0].tv_sec = tv[1].tv_sec = time(NULL) - 16 * 60;
		tv[0].tv_usec = tv[1].tv_usec = 0;
		assert_int_equal(utimes(p, tv), 0);
		free(p);
	}
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 1);
	assert_int_equal(maildir_quota_check(q, 2, 1, &error), 1);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 266);
	maildir_quota_close(&q);

	/* A changed configured quota rewrites the quota line. */
	assert_int_equal(maildir_quota_open(root, "5C", &q, &error), 1);
	assert_int_equal(maildir_quota_check(q, 1, 1, &error), 0);
	maildir_quota_close(&q);
	s = unit_read_file(root, "maildirsize");
	assert_true(str_begins_with(s, "5C\n"));
	free(s);

	/* Removing a message: negative delta. */
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 1);
	assert_int_equal(maildir_quota_add(q, -100, -1, &error), 0);
	assert_int_equal(maildir_quota_check(q, 1, 1, &error), 1);
	maildir_quota_close(&q);
	s = unit_read_file(root, "maildirsize");
	assert_non_null(strstr(s, "        -100           -1\n"));
	free(s);

	/* Garbage and negative totals are recounted on open. */
	unit_write_file(root, "maildirsize", "5C\nfoo bar\n-99999 -20\n");
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 1);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 266);
	assert_int_equal(c, 5);
	maildir_quota_close(&q);
	/* No stray files left in tmp/. */
	{
		struct maildir_list *l;

		p = xasprintf("%s/tmp", root);
		assert_int_equal(rmdir(p), 0);
		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
		assert_int_equal(maildir_list(root, &l, &error), 0);
		maildir_list_free(&l);
	}
	(void)name;
	free(sent);
	free(trash);
	unit_rm_rf(root);
	free(root);
}

static void test_big_file(void **state)
{
	char *root = unit_maildir("mdquota"), *s;
	struct maildir_quota *q;
	const char *error;
	struct str buf;
	int64_t b, c;

	(void)state;
	deliver_n(root, 10, 3);
	str_init(&buf, 8192);
	str_append(&buf, "100000S\n");
	while (str_len(&buf) < MAILDIR_QUOTA_MAX_FILE)
		str_append(&buf, "           1            1\n");
	unit_write_file(root, "maildirsize", str_c(&buf));
	str_free(&buf);
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 1);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 30);
	assert_int_equal(c, 3);
	maildir_quota_close(&q);
	s = unit_read_file(root, "maildirsize");
	assert_string_equal(s, "100000S\n          30            3\n");
	free(s);
	unit_rm_rf(root);
	free(root);
}

/* Concurrent appenders never lose or interleave a line. */
static void test_concurrent_add(void **state)
{
	char *root = unit_maildir("mdquota");
	struct maildir_quota *q;
	const char *error;
	pid_t pids[4];
	int status;
	int64_t b, c;

	(void)state;
	assert_int_equal(maildir_quota_open(root, "100000000S", &q, &error), 1);
	maildir_quota_close(&q);
	for (size_t i = 0; i < N_ELEMENTS(pids); i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct maildir_quota *cq;

			if (maildir_quota_open(root, NULL, &cq, &error) != 1)
				_exit(1);
			for (int j = 0; j < 25; j++) {
				if (maildir_quota_add(cq, 3, 1, &error) < 0)
					_exit(1);
			}
			maildir_quota_close(&cq);
			_exit(0);
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(pids); i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	{
		char *s = unit_read_file(root, "maildirsize");
		struct maildir_quota_usage u;

		maildir_quota_parse(s, strlen(s), &u);
		assert_false(u.needs_recalc);
		assert_int_equal(u.bytes, 300);
		assert_int_equal(u.count, 100);
		assert_int_equal(u.lines, 101);
		free(s);
	}
	(void)b;
	(void)c;
	unit_rm_rf(root);
	free(root);
}

static const char *deliverquota_path(void)
{
	if (access("/usr/sbin/deliverquota", X_OK) == 0)
		return "/usr/sbin/deliverquota";
	if (access("/usr/bin/deliverquota", X_OK) == 0)
		return "/usr/bin/deliverquota";
	return NULL;
}

static int run_deliverquota(const char *dq, const char *dir, size_t size)
{
	char *cmd = xasprintf("head -c %zu /dev/zero | tr '\\0' x | %s '%s'",
			      size, dq, dir);
	int st = system(cmd);

	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Debian's maildirmake -q / deliverquota and we read each other's
 * maildirsize. */
static void test_deliverquota_interop(void **state)
{
	const char *dq = deliverquota_path(), *error;
	struct maildir_quota *q;
	char *root, *cmd;
	int64_t b, c;

	(void)state;
	if (dq == NULL || access("/usr/bin/maildirmake", X_OK) != 0) {
		skip();
		return;
	}
	root = unit_maildir("mdquota");
	cmd = xasprintf("/usr/bin/maildirmake -q 1000S,20C '%s'", root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(run_deliverquota(dq, root, 100), 0);
	assert_int_equal(run_deliverquota(dq, root, 200), 0);

	/* Theirs, read by us. */
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 1);
	assert_int_equal(maildir_quota_get_spec(q)->bytes, 1000);
	assert_int_equal(maildir_quota_get_spec(q)->count, 20);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 300);
	assert_int_equal(c, 2);

	/* Ours, read by them: deliver 650 bytes with our code, leaving 50. */
	{
		char buf[650], *name;

		memset(buf, 'y', sizeof(buf));
		assert_int_equal(maildir_quota_check(q, sizeof(buf), 1, &error),
				 1);
		assert_int_equal(maildir_deliver(root, buf, sizeof(buf), 0,
						 &name, &error), 0);
		assert_int_equal(maildir_quota_add(q, sizeof(buf), 1, &error),
				 0);
		free(name);
	}
	maildir_quota_close(&q);
	/* 51 bytes do not fit (deliverquota exits 77), 50 do. */
	assert_int_equal(run_deliverquota(dq, root, 51), 77);
	assert_int_equal(run_deliverquota(dq, root, 50), 0);
	assert_int_equal(maildir_quota_open(root, NULL, &q, &error), 1);
	assert_int_equal(maildir_quota_get(q, &b, &c, &error), 0);
	assert_int_equal(b, 1000);
	assert_int_equal(c, 4);
	assert_int_equal(maildir_quota_check(q, 1, 1, &error), 0);
	assert_int_equal(maildir_quota_check(q, 0, 1, &error), 1);
	maildir_quota_close(&q);
	unit_rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_no_quota),
		cmocka_unit_test(test_recalc_and_check),
		cmocka_unit_test(test_big_file),
		cmocka_unit_test(test_concurrent_add),
		cmocka_unit_test(test_deliverquota_interop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
