/* test-queue-admin.c: unit tests for mta/queue-admin (mailq and
 * cancelmsg): who sees and cancels which message, malformed queue ids
 * and reasons, bucket removal. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlfile.h"
#include "mem.h"
#include "queue-admin.h"
#include "queue.h"
#include "str.h"

static char *dir;

static int setup(void **state)
{
	char tmpl[] = "/tmp/test-queue-admin.XXXXXX";
	const char *error;

	(void)state;
	dir = xstrdup(mkdtemp(tmpl));
	queue_set_dir(dir);
	assert_int_equal(queue_init_dirs(&error), 0);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
	queue_set_dir(NULL);
	return 0;
}

/* Queues a message to rcpt, of uid owner (-1: none, as SMTP mail). */
static void queue_one(char *qid_r, const char *rcpt, long owner)
{
	struct ctl_file *ctl = ctl_file_new();
	struct queue_new *qn;
	const char *error;
	struct str text;

	free(ctl->sender);
	ctl->sender = xstrdup("s@x");
	ctl->has_owner = owner >= 0;
	ctl->owner_uid = owner >= 0 ? (unsigned long)owner : 0;
	ctl_file_add_rcpt(ctl, rcpt, NULL, 0);
	ctl_file_add_rcpt(ctl, "done@y", NULL, 0);
	str_init(&text, 256);
	assert_int_equal(ctl_write_envelope(&text, ctl, &error), 0);
	ctl_write_status(&text, 1, CTL_STATUS_DELIVERED, 'l', 1, "250 ok");
	assert_int_equal(queue_new_begin(&qn, &error), 0);
	assert_int_equal(write(qn->data_fd, "Subject: x\n\nbody\n", 17), 17);
	memcpy(qid_r, qn->qid, QUEUE_ID_LEN + 1);
	assert_int_equal(queue_new_commit(&qn, str_c(&text), str_len(&text),
					  &error), 0);
	str_free(&text);
	ctl_file_free(&ctl);
}

static char *list(uid_t uid, bool summary)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *error;

	assert_non_null(f);
	assert_int_equal(queue_admin_list(f, uid, summary, &error), 0);
	fclose(f);
	return buf;
}

static void test_allowed(void **state)
{
	(void)state;
	assert_true(queue_admin_allowed(0, false, 0));
	assert_true(queue_admin_allowed(0, true, 1000));
	assert_true(queue_admin_allowed(1000, true, 1000));
	assert_false(queue_admin_allowed(1000, true, 1001));
	assert_false(queue_admin_allowed(1000, false, 1000));
	/* uid 0 recorded: root's local mail is not a user's */
	assert_false(queue_admin_allowed(1000, true, 0));
}

static void test_list_and_cancel(void **state)
{
	char mine[QUEUE_ID_LEN + 1], theirs[QUEUE_ID_LEN + 1];
	char smtp[QUEUE_ID_LEN + 1];
	struct ctl_file *ctl;
	const char *error;
	char *out;

	(void)state;
	queue_one(mine, "a@mine", 1000);
	queue_one(theirs, "b@theirs", 1001);
	queue_one(smtp, "c@smtp", -1);
	out = list(1000, false);
	assert_non_null(strstr(out, mine));
	assert_non_null(strstr(out, "<a@mine> queued"));
	assert_non_null(strstr(out, "<done@y> delivered: 250 ok"));
	assert_null(strstr(out, theirs));
	assert_null(strstr(out, smtp));
	free(out);
	out = list(1000, true);
	assert_string_equal(out, "1 messages, 2 recipients, 17 bytes\n");
	free(out);
	out = list(4242, true);
	assert_string_equal(out, "0 messages, 0 recipients, 0 bytes\n");
	free(out);
	out = list(0, true);
	assert_string_equal(out, "3 messages, 6 recipients, 51 bytes\n");
	free(out);

	/* someone else's message, SMTP mail: "not queued" for a user */
	assert_int_equal(queue_admin_cancel(theirs, NULL, 1000, &error), -1);
	assert_string_equal(error, "the message is not queued");
	assert_int_equal(queue_admin_cancel(smtp, NULL, 1000, &error), -1);
	/* malformed ids and reasons */
	assert_int_equal(queue_admin_cancel("", NULL, 0, &error), -1);
	assert_int_equal(queue_admin_cancel("../../etc/passwd", NULL, 0,
					    &error), -1);
	assert_string_equal(error, "not a queue id");
	assert_int_equal(queue_admin_cancel(mine, "two\nlines", 1000,
					    &error), -1);
	assert_int_equal(queue_admin_cancel("0000000000000001.00000001."
					    "00000001", NULL, 0, &error), -1);
	assert_string_equal(error, "the message is not queued");

	/* the owner cancels: the undelivered recipient fails */
	assert_int_equal(queue_admin_cancel(mine, "changed mind", 1000,
					    &error), 1);
	assert_int_equal(queue_ctl_read(mine, &ctl, &error), 1);
	assert_string_equal(ctl->cancelled, "changed mind");
	assert_int_equal(ctl->rcpts[0].status, CTL_STATUS_FAILED);
	assert_string_equal(ctl->rcpts[0].diag, "5.0.0 changed mind");
	assert_int_equal(ctl->rcpts[1].status, CTL_STATUS_DELIVERED);
	ctl_file_free(&ctl);
	/* again: nothing left to cancel */
	assert_int_equal(queue_admin_cancel(mine, NULL, 1000, &error), 0);
	/* root cancels anyone's */
	assert_int_equal(queue_admin_cancel(theirs, NULL, 0, &error), 1);
	out = list(1000, false);
	assert_non_null(strstr(out, "(cancelled)"));
	free(out);
}

/* The current bucket stays when its last message goes. */
static void test_current_bucket_stays(void **state)
{
	char qid[QUEUE_ID_LEN + 1];
	const char *error;
	char *ctl, *bucket;
	struct stat st;

	(void)state;
	queue_one(qid, "a@b", 1);
	ctl = queue_path(qid, 'C');
	bucket = xstrndup(ctl, (size_t)(strrchr(ctl, '/') - ctl));
	assert_int_equal(queue_remove(qid, &error), 0);
	assert_int_equal(stat(ctl, &st), -1);
	assert_int_equal(stat(bucket, &st), 0);
	/* an empty bucket of a period long over goes */
	free(bucket);
	bucket = xasprintf("%s/msgs/1", dir);
	assert_int_equal(mkdir(bucket, 0750), 0);
	(void)queue_clean_stale(36 * 3600);
	assert_int_equal(stat(bucket, &st), -1);
	free(bucket);
	free(ctl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test_setup_teardown(test_list_and_cancel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_current_bucket_stays,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
