/* test-courierlocal-write.c: unit tests for mta/courierlocal-write.c (the
 * Maildir copy named for exactly-once delivery, found again on a retry,
 * a missing Maildir made, a broken one deferred; mbox quoting; the
 * outcome's first failure winning). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "courierlocal.h"
#include "mem.h"

#define QID "0000000000AF6053.6B0247AA.3A772213"
#define BODY "Subject: t\n\nFrom here\nline\n"

static char tmp[] = "/tmp/test-courierlocal-write.XXXXXX";

static int data_file(const char *text)
{
	char *path = xasprintf("%s/data", tmp);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	free(path);
	return fd;
}

static void delivery_init(struct delivery *dl, int fd, unsigned int rcpt)
{
	memset(dl, 0, sizeof(*dl));
	dl->qid = QID;
	dl->sender = "s@example.com";
	dl->address = "r@example.com";
	dl->ext = "";
	dl->data_fd = fd;
	dl->rcpt_no = rcpt;
	str_init(&dl->prefix, 64);
	str_append(&dl->prefix, "Return-Path: <s@example.com>\n");
	str_init(&dl->forwards, 16);
}

static void delivery_free(struct delivery *dl)
{
	str_free(&dl->prefix);
	str_free(&dl->forwards);
}

/* The names in dir/sub, as one string "a b ..." (sorted is not needed:
 * at most one is expected). */
static char *names(const char *dir, const char *sub)
{
	char *path = xasprintf("%s/%s", dir, sub);
	DIR *dh = opendir(path);
	struct dirent *de;
	struct str s;

	str_init(&s, 64);
	if (dh != NULL) {
		while ((de = readdir(dh)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (str_len(&s) > 0)
				str_append_c(&s, ' ');
			str_append(&s, de->d_name);
		}
		closedir(dh);
	}
	free(path);
	return str_steal(&s);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

static void test_maildir_copy_and_retry(void **state)
{
	struct outcome o = { CTL_STATUS_NONE, NULL, false };
	struct delivery dl;
	char *dir = xasprintf("%s/Maildir", tmp);	/* missing: made */
	char *n1, *n2, *path, *text, *cur, *from, *to;
	int fd = data_file(BODY);

	(void)state;
	delivery_init(&dl, fd, 3);
	deliver_maildir(&dl, dir, NULL, &o);
	assert_int_equal(o.status, CTL_STATUS_DELIVERED);
	assert_false(o.unsafe);
	n1 = names(dir, "new");
	/* <arrival>.C<qid, '.' as '_'>R<rcpt>T<target>.<host>,S=<size> */
	assert_non_null(strstr(n1, ".C0000000000AF6053_6B0247AA_3A772213"
			       "R3T0."));
	path = xasprintf(",S=%zu", strlen(BODY) +
			 strlen("Return-Path: <s@example.com>\n"));
	assert_non_null(strstr(n1, path));
	free(path);
	n2 = names(dir, "tmp");
	assert_string_equal(n2, "");
	free(n2);
	path = xasprintf("%s/new/%s", dir, n1);
	text = read_all(path);
	assert_string_equal(text, "Return-Path: <s@example.com>\n" BODY);
	free(text);
	free(path);
	free(o.diag);

	/* a retry of the recipient (P record seen) finds the copy, even
	 * read since (in cur/ with flags), and makes no second one */
	from = xasprintf("%s/new/%s", dir, n1);
	to = xasprintf("%s/cur/%s:2,S", dir, n1);
	assert_int_equal(rename(from, to), 0);
	delivery_free(&dl);
	delivery_init(&dl, fd, 3);
	dl.retry = true;
	o = (struct outcome){ CTL_STATUS_NONE, NULL, false };
	deliver_maildir(&dl, dir, NULL, &o);
	assert_int_equal(o.status, CTL_STATUS_DELIVERED);
	n2 = names(dir, "new");
	assert_string_equal(n2, "");
	cur = names(dir, "cur");
	assert_null(strchr(cur, ' '));
	free(o.diag);
	free(n2);
	free(cur);
	assert_int_equal(rename(to, from), 0);
	delivery_free(&dl);

	/* the same name already in new/ (an attempt killed before its P
	 * record was read): link() refuses, no second copy either */
	delivery_init(&dl, fd, 3);
	o = (struct outcome){ CTL_STATUS_NONE, NULL, false };
	deliver_maildir(&dl, dir, NULL, &o);
	assert_int_equal(o.status, CTL_STATUS_DELIVERED);
	n2 = names(dir, "new");
	assert_string_equal(n2, n1);
	free(n2);
	free(o.diag);
	delivery_free(&dl);

	/* another recipient: its own copy */
	delivery_init(&dl, fd, 4);
	o = (struct outcome){ CTL_STATUS_NONE, NULL, false };
	deliver_maildir(&dl, dir, NULL, &o);
	assert_int_equal(o.status, CTL_STATUS_DELIVERED);
	n2 = names(dir, "new");
	assert_non_null(strstr(n2, "R4T0."));
	assert_non_null(strchr(n2, ' '));
	free(n2);
	free(o.diag);
	delivery_free(&dl);
	free(from);
	free(to);
	free(n1);
	free(dir);
	close(fd);
}

static void test_maildir_broken(void **state)
{
	struct outcome o = { CTL_STATUS_NONE, NULL, false };
	struct delivery dl;
	char *dir = xasprintf("%s/Broken", tmp), *sub;
	int fd = data_file(BODY), f;

	(void)state;
	/* tmp is a file: no copy can be made there, try again later */
	assert_int_equal(mkdir(dir, 0700), 0);
	sub = xasprintf("%s/tmp", dir);
	f = open(sub, O_WRONLY | O_CREAT, 0600);
	assert_true(f >= 0);
	close(f);
	free(sub);
	delivery_init(&dl, fd, 0);
	deliver_maildir(&dl, dir, NULL, &o);
	assert_int_equal(o.status, CTL_STATUS_DEFERRED);
	assert_non_null(strstr(o.diag, "4."));
	free(o.diag);
	/* its parent missing: deferred too */
	free(dir);
	dir = xasprintf("%s/no/such/Maildir", tmp);
	o = (struct outcome){ CTL_STATUS_NONE, NULL, false };
	deliver_maildir(&dl, dir, NULL, &o);
	assert_int_equal(o.status, CTL_STATUS_DEFERRED);
	free(o.diag);
	delivery_free(&dl);
	free(dir);
	close(fd);
}

static void test_mbox(void **state)
{
	struct outcome o = { CTL_STATUS_NONE, NULL, false };
	struct delivery dl;
	char *path = xasprintf("%s/mbox", tmp), *text;
	int fd = data_file(BODY);

	(void)state;
	delivery_init(&dl, fd, 0);
	deliver_mbox(&dl, path, &o);
	assert_int_equal(o.status, CTL_STATUS_DELIVERED);
	assert_true(o.unsafe);
	text = read_all(path);
	assert_true(strncmp(text, "From s@example.com ", 19) == 0);
	assert_non_null(strstr(text, "\n>From here\nline\n\n"));
	free(text);
	free(o.diag);
	delivery_free(&dl);
	free(path);
	close(fd);
}

static void test_result_first_failure_wins(void **state)
{
	struct outcome o = { CTL_STATUS_NONE, NULL, false };

	(void)state;
	result(&o, CTL_STATUS_DELIVERED, "250 %s", "ok");
	result(&o, CTL_STATUS_DEFERRED, "451 %d", 1);
	result(&o, CTL_STATUS_DELIVERED, "250 again");
	assert_int_equal(o.status, CTL_STATUS_DEFERRED);
	assert_string_equal(o.diag, "451 1");
	result(&o, CTL_STATUS_FAILED, "550 no");
	result(&o, CTL_STATUS_DEFERRED, "451 later");
	assert_int_equal(o.status, CTL_STATUS_FAILED);
	assert_string_equal(o.diag, "550 no");
	free(o.diag);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmp) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmp);
	int r = system(cmd);

	(void)state;
	free(cmd);
	return r == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir_copy_and_retry),
		cmocka_unit_test(test_maildir_broken),
		cmocka_unit_test(test_mbox),
		cmocka_unit_test(test_result_first_failure_wins),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
