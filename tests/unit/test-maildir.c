/* test-maildir.c: unit tests for lib/maildir (names, flags, delivery,
 * listing). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "maildir.h"
#include "mem.h"
#include "unit-files.h"
#include "str.h"

static size_t count_dir(const char *dir, const char *sub)
{
	char *p = xasprintf("%s/%s", dir, sub);
	DIR *dp = opendir(p);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(dp);
	free(p);
	return n;
}

static void test_create(void **state)
{
	char *t = unit_tmpdir("maildir"), *md = xasprintf("%s/Maildir", t), *p;
	const char *error;
	struct stat st;

	(void)state;
	assert_int_equal(maildir_create(md, &error), 0);
	assert_int_equal(maildir_create(md, &error), 0); /* idempotent */
	assert_true(maildir_is_maildir(md));
	p = xasprintf("%s/cur", md);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);
	p = xasprintf("%s/nope/Maildir", t);
	assert_int_equal(maildir_create(p, &error), -1);
	assert_non_null(strstr(error, "nope"));
	assert_false(maildir_is_maildir(p));
	free(p);
	/* A file where a directory should be. */
	p = xasprintf("%s/file", t);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(maildir_create(p, &error), -1);
	free(p);
	unit_rm_rf(t);
	free(md);
	free(t);
}

static void test_unique_names(void **state)
{
	char *names[500];
	char *n;

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		names[i] = maildir_unique_name("mx.example.com");
		assert_non_null(strstr(names[i], ".M"));
		assert_non_null(strstr(names[i], "P"));
		assert_true(str_ends_with(names[i], ".mx.example.com"));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
	}
	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		free(names[i]);
	n = maildir_unique_name("a/b:c,d");
	assert_true(str_ends_with(n, ".a\\057b\\072c\\054d"));
	assert_null(strchr(n, '/'));
	assert_null(strchr(n, ':'));
	free(n);
	n = maildir_unique_name(NULL);
	assert_true(strlen(n) > 10);
	free(n);
}

static void test_name_parsing(void **state)
{
	uint64_t v;

	(void)state;
	/* Ours, Courier's, Dovecot's and qmail's names. */
	const char *ours = "1700000000.M123456P42Q1.host,S=1234,W=1260:2,RS";
	const char *courier =
		"1795269310.M876602P12621V000000000000FE00I0000000000A7226E.vm,S=18";
	const char *dovecot = "1234.M1P2.host,S=100,W=102:2,Sab";
	const char *qmail = "1234.567.host";

	assert_int_equal(maildir_name_base_len(ours), strlen(ours) - 5);
	assert_string_equal(maildir_name_flags(ours), "RS");
	assert_true(maildir_name_has_flag(ours, 'S'));
	assert_false(maildir_name_has_flag(ours, 'T'));
	assert_false(maildir_name_has_flag(ours, '\0'));
	assert_int_equal(maildir_name_get_size(ours, 'S', &v), 1);
	assert_int_equal(v, 1234);
	assert_int_equal(maildir_name_get_size(ours, 'W', &v), 1);
	assert_int_equal(v, 1260);
	assert_int_equal(maildir_name_get_size(courier, 'S', &v), 1);
	assert_int_equal(v, 18);
	assert_int_equal(maildir_name_get_size(courier, 'W', &v), 0);
	assert_string_equal(maildir_name_flags(courier), "");
	assert_int_equal(maildir_name_base_len(courier), strlen(courier));
	assert_string_equal(maildir_name_flags(dovecot), "Sab");
	assert_int_equal(maildir_name_get_size(dovecot, 'W', &v), 1);
	assert_int_equal(v, 102);
	assert_int_equal(maildir_name_get_size(qmail, 'S', &v), 0);
	assert_true(maildir_name_base_equal(ours,
		"1700000000.M123456P42Q1.host,S=1234,W=1260:2,"));
	assert_true(maildir_name_base_equal(courier, courier));
	assert_false(maildir_name_base_equal(ours, courier));

	/* Malformed sizes and info parts. */
	assert_int_equal(maildir_name_get_size("x,S=", 'S', &v), 0);
	assert_int_equal(maildir_name_get_size("x,S=12x", 'S', &v), 0);
	assert_int_equal(maildir_name_get_size("x,S=-1", 'S', &v), 0);
	assert_int_equal(
		maildir_name_get_size("x,S=99999999999999999999999", 'S', &v),
		0);
	assert_int_equal(maildir_name_get_size("x,S=1x,S=7", 'S', &v), 1);
	assert_int_equal(v, 7);
	assert_int_equal(maildir_name_get_size("x:2,S=5", 'S', &v), 0);
	assert_int_equal(maildir_name_get_size("x,S=5:2,", 'S', &v), 1);
	assert_int_equal(v, 5);
	assert_string_equal(maildir_name_flags("x:1,abc"), "");
	assert_string_equal(maildir_name_flags("x:2"), "");
	assert_string_equal(maildir_name_flags("x:"), "");
	assert_string_equal(maildir_name_flags(""), "");
	assert_int_equal(maildir_name_base_len("a:b:2,S"), 3);
}

static void test_flags(void **state)
{
	char *s;

	(void)state;
	s = maildir_flags_normalize("SRFDSS");
	assert_string_equal(s, "DFRS");
	free(s);
	s = maildir_flags_normalize("zTaP/:, \x01\xff");
	assert_string_equal(s, "PTaz");
	free(s);
	s = maildir_flags_normalize(NULL);
	assert_string_equal(s, "");
	free(s);
	s = maildir_name_set_flags("abc,S=3", "SR");
	assert_string_equal(s, "abc,S=3:2,RS");
	free(s);
	s = maildir_name_set_flags("abc:2,FS", "");
	assert_string_equal(s, "abc:2,");
	free(s);
	s = maildir_name_set_flags("abc:1,junk", "T");
	assert_string_equal(s, "abc:2,T");
	free(s);
	s = maildir_name_change_flags("abc:2,FSa", "RD", "Fx");
	assert_string_equal(s, "abc:2,DRSa");
	free(s);
	s = maildir_name_change_flags("abc", "S", NULL);
	assert_string_equal(s, "abc:2,S");
	free(s);
	s = maildir_name_change_flags("abc:2,S", NULL, "S");
	assert_string_equal(s, "abc:2,");
	free(s);
}

static void test_deliver(void **state)
{
	char *t = unit_tmpdir("maildir"), *name, *path, *data;
	const char *msg = "Subject: x\n\nhello\n";
	const char *error;
	uint64_t v;

	(void)state;
	assert_int_equal(maildir_create(t, &error), 0);
	assert_int_equal(maildir_deliver(t, msg, strlen(msg),
					 MAILDIR_DELIVERY_VSIZE, &name,
					 &error), 0);
	assert_int_equal(maildir_name_get_size(name, 'S', &v), 1);
	assert_int_equal(v, strlen(msg));
	assert_int_equal(maildir_name_get_size(name, 'W', &v), 1);
	assert_int_equal(v, strlen(msg) + 3);
	path = xasprintf("%s/new/%s", t, name);
	data = unit_read_file(NULL, path);
	assert_non_null(data);
	assert_string_equal(data, msg);
	assert_int_equal(count_dir(t, "tmp"), 0);
	assert_int_equal(count_dir(t, "new"), 1);
	free(data);
	free(path);
	free(name);

	/* Rename mode and no vsize. */
	assert_int_equal(maildir_deliver(t, "x", 1, MAILDIR_DELIVERY_RENAME,
					 &name, &error), 0);
	assert_null(strstr(name, ",W="));
	assert_true(str_ends_with(name, ",S=1"));
	assert_int_equal(count_dir(t, "tmp"), 0);
	assert_int_equal(count_dir(t, "new"), 2);
	free(name);
	unit_rm_rf(t);
	free(t);
}

/* Streaming: CRLF counting across chunk boundaries, commit into cur/. */
static void test_streaming(void **state)
{
	const char *msg = "a\r\nb\nc\r\r\n\n";
	char *t = unit_tmpdir("maildir"), *name, *path, *data;
	const char *error;
	uint64_t v;

	(void)state;
	assert_int_equal(maildir_create(t, &error), 0);
	/* Split the message at every byte. */
	for (size_t split = 0; split <= strlen(msg); split++) {
		struct maildir_delivery *d =
			maildir_delivery_begin(t, MAILDIR_DELIVERY_VSIZE,
					       &error);

		assert_non_null(d);
		assert_int_equal(maildir_delivery_write(d, msg, split, &error),
				 0);
		assert_int_equal(maildir_delivery_write(d, msg + split,
							strlen(msg) - split,
							&error), 0);
		assert_int_equal(maildir_delivery_size(d), strlen(msg));
		assert_int_equal(maildir_delivery_commit(&d, "SF", &name,
							 &error), 0);
		assert_null(d);
		assert_true(str_ends_with(name, ":2,FS"));
		assert_int_equal(maildir_name_get_size(name, 'W', &v), 1);
		assert_int_equal(v, strlen(msg) + 2);
		path = xasprintf("%s/cur/%s", t, name);
		data = unit_read_file(NULL, path);
		assert_non_null(data);
		assert_string_equal(data, msg);
		free(data);
		free(path);
		free(name);
	}
	assert_int_equal(count_dir(t, "tmp"), 0);
	assert_int_equal(count_dir(t, "new"), 0);
	unit_rm_rf(t);
	free(t);
}

static void test_abort_and_interrupt(void **state)
{
	char *t = unit_tmpdir("maildir");
	struct maildir_delivery *d;
	const char *error;
	struct timeval tv[2];
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(maildir_create(t, &error), 0);
	d = maildir_delivery_begin(t, 0, &error);
	assert_int_equal(maildir_delivery_write(d, "partial", 7, &error), 0);
	/* the file being written is unnamed (O_TMPFILE) where the file
	 * system allows it, else a name in tmp/ */
	assert_true(count_dir(t, "tmp") <= 1);
	maildir_delivery_abort(&d);
	assert_null(d);
	maildir_delivery_abort(&d); /* harmless */
	assert_int_equal(count_dir(t, "tmp"), 0);
	assert_int_equal(count_dir(t, "new"), 0);

	/* A process that dies before commit leaves nothing in new/. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		d = maildir_delivery_begin(t, 0, &error);
		if (d == NULL ||
		    maildir_delivery_write(d, "half", 4, &error) < 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_dir(t, "new"), 0);
	assert_int_equal(count_dir(t, "cur"), 0);
	/* an unnamed file goes with the process; a named one stays */
	assert_true(count_dir(t, "tmp") <= 1);
	if (count_dir(t, "tmp") == 0)
		unit_write_file(t, "tmp/1.M1P1.left", "half");
	/* The leftover is cleaned once old enough, not before. */
	assert_int_equal(maildir_clean_tmp(t, 36 * 3600), 0);
	{
		DIR *dp;
		struct dirent *de;
		char *tmp = xasprintf("%s/tmp", t), *f = NULL;

		dp = opendir(tmp);
		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] != '.')
				f = xasprintf("%s/%s", tmp, de->d_name);
		}
		closedir(dp);
		assert_non_null(f);
		tv[0].tv_sec = tv[1].tv_sec = time(NULL) - 40 * 3600;
		tv[0].tv_usec = tv[1].tv_usec = 0;
		assert_int_equal(utimes(f, tv), 0);
		free(f);
		free(tmp);
	}
	assert_int_equal(maildir_clean_tmp(t, 36 * 3600), 1);
	assert_int_equal(count_dir(t, "tmp"), 0);
	unit_rm_rf(t);
	free(t);
}

/* A write error (here EFBIG from RLIMIT_FSIZE, as ENOSPC would be) is
 * reported and the delivery leaves nothing behind. */
static void test_write_error(void **state)
{
	char *t = unit_tmpdir("maildir");
	const char *error;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(maildir_create(t, &error), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 100, 100 };
		char big[4096];

		memset(big, 'x', sizeof(big));
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		if (maildir_deliver(t, big, sizeof(big), 0, NULL, &error) == 0)
			_exit(2);
		if (strstr(error, "write") == NULL)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_dir(t, "tmp"), 0);
	assert_int_equal(count_dir(t, "new"), 0);

	/* Commit fails (new/ is gone): the tmp file is removed. */
	{
		struct maildir_delivery *d = maildir_delivery_begin(t, 0,
								    &error);
		char *p = xasprintf("%s/new", t);

		assert_non_null(d);
		assert_int_equal(maildir_delivery_write(d, "x", 1, &error), 0);
		assert_int_equal(rmdir(p), 0);
		assert_int_equal(maildir_delivery_commit(&d, NULL, NULL,
							 &error), -1);
		assert_null(d);
		assert_int_equal(count_dir(t, "tmp"), 0);
		free(p);
	}
	/* begin fails without tmp/ */
	{
		char *p = xasprintf("%s/tmp", t);

		assert_int_equal(rmdir(p), 0);
		assert_null(maildir_delivery_begin(t, 0, &error));
		assert_non_null(strstr(error, "tmp"));
		free(p);
	}
	unit_rm_rf(t);
	free(t);
}

/* Concurrent deliveries from several processes get distinct names. */
static void test_concurrent(void **state)
{
	char *t = unit_tmpdir("maildir");
	const char *error;
	pid_t pids[4];
	int status;

	(void)state;
	assert_int_equal(maildir_create(t, &error), 0);
	for (size_t i = 0; i < N_ELEMENTS(pids); i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			for (int j = 0; j < 50; j++) {
				if (maildir_deliver(t, "m\n", 2, 0, NULL,
						    &error) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(pids); i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(count_dir(t, "new"), 200);
	assert_int_equal(count_dir(t, "tmp"), 0);
	unit_rm_rf(t);
	free(t);
}

static void test_list_and_flags(void **state)
{
	char *t = unit_tmpdir("maildir"), *n1, *n2, *n3, *cur, *rel, *p, *q;
	const struct maildir_entry *e;
	struct maildir_list *l;
	const char *error;
	size_t b1;

	(void)state;
	assert_int_equal(maildir_create(t, &error), 0);
	assert_int_equal(maildir_deliver(t, "one", 3, 0, &n1, &error), 0);
	assert_int_equal(maildir_deliver(t, "two!", 4, 0, &n2, &error), 0);
	assert_int_equal(maildir_deliver(t, "3", 1, 0, &n3, &error), 0);
	/* A file without a size, and dot files that are not messages. */
	p = xasprintf("%s/cur/1.2.plain:2,S", t);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	free(p);
	p = xasprintf("%s/cur/.hidden", t);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	free(p);

	assert_int_equal(maildir_move_to_cur(t, n1, &cur, &error), 1);
	assert_string_equal(cur + strlen(n1), ":2,");
	assert_int_equal(maildir_move_to_cur(t, n1, NULL, &error), 0);
	assert_int_equal(maildir_move_to_cur(t, "../x", NULL, &error), -1);

	assert_int_equal(maildir_list(t, &l, &error), 0);
	assert_int_equal(l->count, 4);
	for (size_t i = 1; i < l->count; i++)
		assert_true(strcmp(l->entries[i - 1].name,
				   l->entries[i].name) < 0);
	e = maildir_list_find(l, n1);
	assert_non_null(e);
	assert_false(e->in_new);
	assert_true(e->has_size);
	assert_int_equal(e->size, 3);
	assert_string_equal(e->flags, "");
	e = maildir_list_find(l, n2);
	assert_non_null(e);
	assert_true(e->in_new);
	assert_int_equal(e->size, 4);
	e = maildir_list_find(l, "1.2.plain");
	assert_non_null(e);
	assert_false(e->has_size);
	assert_string_equal(e->flags, "S");
	assert_null(maildir_list_find(l, "nothere"));
	maildir_list_free(&l);
	assert_null(l);

	/* Flags: new/ -> cur/, then another process renames it behind our
	 * back and we still find it by its base name. */
	assert_int_equal(maildir_set_flags(t, n2, "SR", &q, &error), 1);
	assert_true(str_ends_with(q, ":2,RS"));
	p = xasprintf("%s/cur/%s", t, q);
	free(q);
	q = xasprintf("%s/cur/%s:2,FRS", t, n2);
	assert_int_equal(rename(p, q), 0);
	free(p);
	free(q);
	assert_int_equal(maildir_find(t, n2, &rel, &error), 1);
	assert_true(str_ends_with(rel, ":2,FRS"));
	assert_true(str_begins_with(rel, "cur/"));
	free(rel);
	assert_int_equal(maildir_set_flags(t, n2, "T", &q, &error), 1);
	assert_true(str_ends_with(q, ":2,T"));
	free(q);
	b1 = maildir_name_base_len(n3);
	assert_int_equal(b1, strlen(n3));
	assert_int_equal(maildir_find(t, n3, &rel, &error), 1);
	assert_true(str_begins_with(rel, "new/"));
	free(rel);
	assert_int_equal(maildir_set_flags(t, "gone", "S", &q, &error), 0);
	assert_int_equal(maildir_find(t, "gone", &rel, &error), 0);
	free(n1);
	free(n2);
	free(n3);
	free(cur);
	unit_rm_rf(t);
	free(t);
}

/* Maildirs made and filled by Debian's maildrop tools read as they are. */
static void test_courier_interop(void **state)
{
	const char *dq = NULL;
	char *t, *cmd, *md;
	struct maildir_list *l;
	const char *error;

	(void)state;
	if (access("/usr/bin/maildirmake", X_OK) != 0) {
		skip();
		return;
	}
	if (access("/usr/sbin/deliverquota", X_OK) == 0)
		dq = "/usr/sbin/deliverquota";
	else if (access("/usr/bin/deliverquota", X_OK) == 0)
		dq = "/usr/bin/deliverquota";
	t = unit_tmpdir("maildir");
	md = xasprintf("%s/Maildir", t);
	cmd = xasprintf("/usr/bin/maildirmake '%s'", md);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_true(maildir_is_maildir(md));
	if (dq != NULL) {
		cmd = xasprintf("printf 'Subject: x\\n\\nhi\\n' | %s '%s'", dq,
				md);
		assert_int_equal(system(cmd), 0);
		free(cmd);
		assert_int_equal(maildir_list(md, &l, &error), 0);
		assert_int_equal(l->count, 1);
		assert_true(l->entries[0].in_new);
		assert_true(l->entries[0].has_size);
		assert_int_equal(l->entries[0].size, 15);
		maildir_list_free(&l);
	}
	unit_rm_rf(t);
	free(md);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_unique_names),
		cmocka_unit_test(test_name_parsing),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_deliver),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_abort_and_interrupt),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_list_and_flags),
		cmocka_unit_test(test_courier_interop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
