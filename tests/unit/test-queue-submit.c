/* test-queue-submit.c: unit tests for mta/submit and mta/queue: header
 * rewriting, refusals, the files a submission leaves in the queue. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctlfile.h"
#include "dsn.h"
#include "instance.h"
#include "mem.h"
#include "queue.h"
#include "str.h"
#include "submit.h"

static char root[64];

static void write_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/etc/%s", root, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static int setup(void **state)
{
	char *p;

	(void)state;
	str_copy(root, "/tmp/test-submit-XXXXXX", sizeof(root));
	assert_non_null(mkdtemp(root));
	p = xasprintf("%s/etc", root);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/var", root);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	setenv("COURIER_INSTANCE", root, 1);
	instance_reset();
	queue_set_dir(NULL);
	write_file("me", "mail.example.test\n");
	write_file("defaultdomain", "Example.Test\n");
	write_file("sizelimit", "2000\n");
	write_file("queuetime", "1d\n");
	write_file("warntime", "1h\n");
	submit_config_reset();
	{
		const char *error;

		assert_int_equal(queue_init_dirs(&error), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", root);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	unsetenv("COURIER_INSTANCE");
	instance_reset();
	queue_set_dir(NULL);
	submit_config_reset();
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct str s;
	char buf[4096];
	size_t n;

	assert_non_null(f);
	str_init(&s, 4096);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(&s, buf, n);
	fclose(f);
	{
		char *ret = str_steal(&s);

		str_free(&s);
		return ret;
	}
}

/* Submits msg (split in pieces of `step` bytes, 0 = whole) to rcpts.
 * Returns 0 and the data file's contents, or -1 and the error. */
static int submit_msg(const char *sender, const char *const *rcpts,
		      const char *msg, size_t len, size_t step,
		      char **data_r, const char **error_r, char *qid)
{
	struct submit_options o = { 0 };
	struct submit *s;
	char *path;

	o.sender = sender;
	o.source = "local";
	o.uid = 1000;
	s = submit_begin(&o, error_r);
	if (s == NULL)
		return -1;
	for (; *rcpts != NULL; rcpts++)
		(void)submit_add_rcpt(s, *rcpts, 0, NULL, error_r);
	if (step == 0)
		step = len == 0 ? 1 : len;
	for (size_t i = 0; i < len; i += step)
		submit_write(s, msg + i, len - i < step ? len - i : step);
	if (submit_finish(&s, qid, error_r) < 0)
		return -1;
	assert_null(s);
	path = queue_path(qid, 'D');
	*data_r = slurp(path);
	free(path);
	return 0;
}

static const char *const one_rcpt[] = { "demo@example.test", NULL };

static void test_basic(void **state)
{
	const char *msg = "From: a@example.test\r\nSubject: hi\r\n\r\n"
			  "body line\r\nsecond\r\n";
	const char *const rcpts[] = { "demo@EXAMPLE.test", "bare",
				      "demo@example.test", NULL };
	char qid[QUEUE_ID_LEN + 1], *data, *path;
	const char *error;
	struct ctl_file *ctl;
	time_t t;

	(void)state;
	assert_int_equal(submit_msg("sender", rcpts, msg, strlen(msg), 0,
				    &data, &error, qid), 0);
	assert_true(queue_id_valid(qid, &t));
	assert_true(str_begins_with(data, "Received: (uid 1000) by "
				    "mail.example.test with local; "));
	assert_non_null(strstr(data, qid));
	assert_non_null(strstr(data, "\nFrom: a@example.test\nSubject: hi\n"
			       "Date: "));
	assert_non_null(strstr(data, "\nMessage-ID: <courier."));
	assert_true(str_ends_with(data, "\n\nbody line\nsecond\n"));
	assert_null(strchr(data, '\r'));
	free(data);

	assert_int_equal(queue_ctl_read(qid, &ctl, &error), 1);
	assert_string_equal(ctl->sender, "sender@example.test");
	assert_string_equal(ctl->source, "local");
	assert_int_equal(ctl->rcpt_count, 2); /* de-duplicated */
	assert_string_equal(ctl->rcpts[0].address, "demo@example.test");
	assert_string_equal(ctl->rcpts[1].address, "bare@example.test");
	assert_int_equal(ctl->expires - t, 86400);
	assert_int_equal(ctl->warn_time - t, 3600);
	assert_true(str_begins_with(ctl->msgid, "<courier."));
	assert_false(ctl->body_8bit);
	ctl_file_free(&ctl);

	/* the bucket holds both files; removing empties it, and the
	 * current bucket stays (queue.h) */
	path = queue_path(qid, 'C');
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(queue_remove(qid, &error), 0);
	assert_int_equal(access(path, F_OK), -1);
	*strrchr(path, '/') = '\0';
	assert_int_equal(access(path, F_OK), 0);
	free(path);
	assert_int_equal(queue_ctl_read(qid, &ctl, &error), 0);
}

/* VERP asked: the V record; with the null sender it is dropped. */
static void test_verp(void **state)
{
	const char *msg = "Subject: v\n\nbody\n";
	const char *senders[] = { "list@example.test", "" };
	const char *error;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct submit_options o = { 0 };
		char qid[QUEUE_ID_LEN + 1];
		struct ctl_file *ctl;
		struct submit *s;
		char *snd;

		o.sender = senders[i];
		o.source = "smtp";
		o.verp = true;
		s = submit_begin(&o, &error);
		assert_non_null(s);
		assert_int_equal(submit_add_rcpt(s, "bob@remote.test", 0, NULL,
						 &error), 1);
		submit_write(s, msg, strlen(msg));
		assert_int_equal(submit_finish(&s, qid, &error), 0);
		assert_int_equal(queue_ctl_read(qid, &ctl, &error), 1);
		assert_int_equal(ctl->verp, i == 0);
		snd = ctl_rcpt_sender(ctl, 0);
		assert_string_equal(snd, i == 0 ?
				    "list-bob=remote.test@example.test" : "");
		free(snd);
		ctl_file_free(&ctl);
		assert_int_equal(queue_remove(qid, &error), 0);
	}
}

struct dsn_seen {
	const char *skip;	/* the original message */
	char to[4][128];	/* the DSNs' recipients */
	char about[4][128];	/* the Final-Recipient of each */
	size_t count;
};

static int dsn_collect(const char *qid, void *context)
{
	struct dsn_seen *seen = context;
	struct ctl_file *ctl;
	const char *error, *p;
	char *path, *data;

	if (strcmp(qid, seen->skip) == 0)
		return 0;
	assert_true(seen->count < 4);
	assert_int_equal(queue_ctl_read(qid, &ctl, &error), 1);
	assert_string_equal(ctl->sender, "");
	assert_int_equal(ctl->rcpt_count, 1);
	str_copy(seen->to[seen->count], ctl->rcpts[0].address, 128);
	ctl_file_free(&ctl);
	path = queue_path(qid, 'D');
	data = slurp(path);
	free(path);
	p = strstr(data, "Final-Recipient: rfc822; ");
	assert_non_null(p);
	p += strlen("Final-Recipient: rfc822; ");
	str_copy(seen->about[seen->count], p, 128);
	*strchr(seen->about[seen->count], '\n') = '\0';
	/* one recipient per notice */
	assert_null(strstr(p, "Final-Recipient:"));
	free(data);
	seen->count++;
	return 0;
}

/* A VERP message's failure DSN: one per recipient, each to its own VERP
 * sender. */
static void test_verp_dsn(void **state)
{
	const char *msg = "Subject: v\n\nbody\n";
	const char *const rcpts[] = { "bob@remote.test", "a-b@other.test",
				      NULL };
	struct submit_options o = { 0 };
	struct dsn_seen seen;
	char qid[QUEUE_ID_LEN + 1];
	struct ctl_file *ctl;
	struct submit *s;
	const char *error;
	bool include[3] = { true, true, false };

	(void)state;
	write_file("sizelimit", "100000\n");	/* room for the notices */
	submit_config_reset();
	o.sender = "list@example.test";
	o.source = "smtp";
	o.verp = true;
	s = submit_begin(&o, &error);
	assert_non_null(s);
	for (size_t i = 0; rcpts[i] != NULL; i++)
		assert_int_equal(submit_add_rcpt(s, rcpts[i], 0, NULL,
						 &error), 1);
	submit_write(s, msg, strlen(msg));
	assert_int_equal(submit_finish(&s, qid, &error), 0);
	assert_int_equal(queue_ctl_read(qid, &ctl, &error), 1);
	for (size_t i = 0; i < 2; i++) {
		ctl->rcpts[i].status = CTL_STATUS_FAILED;
		ctl->rcpts[i].diag = xstrdup("550 5.1.1 no such user");
	}
	assert_int_equal(dsn_send(qid, ctl, DSN_FAILED, include, time(NULL),
				  NULL, &error), 1);
	ctl_file_free(&ctl);
	memset(&seen, 0, sizeof(seen));
	seen.skip = qid;
	assert_int_equal(queue_scan(dsn_collect, &seen, &error), 0);
	assert_int_equal(seen.count, 2);
	/* the order of the scan is not the order of the sending */
	for (size_t i = 0; i < 2; i++) {
		bool bob = strcmp(seen.about[i], "bob@remote.test") == 0;

		assert_string_equal(seen.to[i], bob ?
				    "list-bob=remote.test@example.test" :
				    "list-a+2Db=other.test@example.test");
		if (!bob)
			assert_string_equal(seen.about[i], "a-b@other.test");
	}
}

static void test_keeps_date_msgid(void **state)
{
	const char *msg = "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
			  "Message-ID: <abc@x>\nMIME-Version: 1.0\n"
			  "Content-Transfer-Encoding: 8bit\n\n"
			  "caf\xc3\xa9\n";
	char qid[QUEUE_ID_LEN + 1], *data;
	const char *error;
	struct ctl_file *ctl;

	(void)state;
	assert_int_equal(submit_msg("", one_rcpt, msg, strlen(msg), 0, &data,
				    &error, qid), 0);
	assert_null(strstr(data, "\nDate: " "Mon, 1 Jan 2024 00:00:00 +0000"
			   "\nDate:"));
	assert_null(strstr(data, "courier."));
	assert_true(str_ends_with(data, strchr(msg, '\n') + 1));
	free(data);
	assert_int_equal(queue_ctl_read(qid, &ctl, &error), 1);
	assert_string_equal(ctl->sender, "");
	assert_string_equal(ctl->msgid, "<abc@x>");
	assert_true(ctl->body_8bit);
	ctl_file_free(&ctl);
	assert_int_equal(queue_remove(qid, &error), 0);
}

static void test_refusals(void **state)
{
	char qid[QUEUE_ID_LEN + 1], *data = NULL;
	const char *error;
	const char *const none[] = { NULL };
	const char *const bad[] = { "x@", "\"unbalanced@x", "", "@nolocal",
				    NULL };
	char big[3000];

	(void)state;
	assert_int_equal(submit_msg("", one_rcpt, "Subject: caf\xc3\xa9\n\nx\n",
				    18, 0, &data, &error, qid), -1);
	assert_true(str_begins_with(error, "550 5.6.7 "));
	assert_int_equal(submit_msg("", one_rcpt, "Subject: x\n\nbin\xff\n",
				    17, 0, &data, &error, qid), -1);
	assert_true(str_begins_with(error, "550 5.6.3 "));
	assert_int_equal(submit_msg("", one_rcpt, "Subject: a\0b\n\nx\n",
				    16, 0, &data, &error, qid), -1);
	assert_true(str_begins_with(error, "550 5.6.0 "));
	assert_int_equal(submit_msg("", none, "Subject: x\n\nx\n", 14, 0,
				    &data, &error, qid), -1);
	assert_true(str_begins_with(error, "554 "));
	assert_int_equal(submit_msg("", bad, "Subject: x\n\nx\n", 14, 0,
				    &data, &error, qid), -1);
	assert_true(str_begins_with(error, "554 "));
	assert_int_equal(submit_msg("a@b\nc", one_rcpt, "x\n", 2, 0, &data,
				    &error, qid), -1);
	assert_true(str_begins_with(error, "501 5.1.7 "));
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	assert_int_equal(submit_msg("", one_rcpt, big, sizeof(big), 100,
				    &data, &error, qid), -1);
	assert_true(str_begins_with(error, "552 5.3.4 "));
	assert_null(data);
	/* nothing was left behind */
	{
		char *tmp = xasprintf("%s/var/queue/tmp", root);
		DIR *d = opendir(tmp);
		struct dirent *de;
		int n = 0;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			n += de->d_name[0] != '.';
		closedir(d);
		free(tmp);
		assert_int_equal(n, 0);
	}
}

static void test_rewrites(void **state)
{
	char qid[QUEUE_ID_LEN + 1], *data;
	const char *error;
	struct str msg;

	(void)state;
	/* mbox From_ line dropped; a non-field line ends the header */
	assert_int_equal(submit_msg("", one_rcpt,
				    "From x Mon Jan 1\nSubject: s\n"
				    "not a header\nTo: y\n\nrest\n", 53, 0,
				    &data, &error, qid), 0);
	assert_null(strstr(data, "From x"));
	assert_non_null(strstr(data, "\nSubject: s\n"));
	assert_true(str_ends_with(data, "\n\nnot a header\nTo: y\n\nrest\n"));
	free(data);
	assert_int_equal(queue_remove(qid, &error), 0);
	/* no header at all, no final newline */
	assert_int_equal(submit_msg("", one_rcpt, "just text", 9, 0, &data,
				    &error, qid), 0);
	assert_true(str_ends_with(data, "\n\njust text\n"));
	free(data);
	assert_int_equal(queue_remove(qid, &error), 0);
	/* a header line over 998 bytes is folded */
	str_init(&msg, 1200);
	str_append(&msg, "Subject:");
	for (int i = 0; i < 200; i++)
		str_append(&msg, " wordy");
	str_append(&msg, "\n\nb\n");
	assert_int_equal(submit_msg("", one_rcpt, str_c(&msg), str_len(&msg),
				    0, &data, &error, qid), 0);
	{
		const char *p = strstr(data, "\nSubject:");

		assert_non_null(p);
		assert_non_null(strstr(p, "\n wordy"));
	}
	free(data);
	str_free(&msg);
	assert_int_equal(queue_remove(qid, &error), 0);
}

/* The same message fed in pieces split at every byte gives the same
 * stored message (after the Received: line, which has the queue id). */
static void test_every_split(void **state)
{
	const char *msg = "From: a@b\r\nDate: Mon, 1 Jan 2024 00:00:00 "
			  "+0000\r\nMessage-ID: <m@x>\r\nSubject: folded\r\n"
			  " line\r\n\r\nbody\r\nx\r\r\n";
	size_t len = strlen(msg);
	char *first = NULL;

	(void)state;
	for (size_t split = 0; split <= len; split++) {
		struct submit_options o = { .source = "local" };
		struct submit *s;
		const char *error;
		char qid[QUEUE_ID_LEN + 1], *path, *data, *after;

		s = submit_begin(&o, &error);
		assert_non_null(s);
		assert_int_equal(submit_add_rcpt(s, "a@b", 0, NULL, &error), 1);
		submit_write(s, msg, split);
		submit_write(s, msg + split, len - split);
		assert_int_equal(submit_finish(&s, qid, &error), 0);
		path = queue_path(qid, 'D');
		data = slurp(path);
		free(path);
		after = strstr(data, "\nFrom: ");
		assert_non_null(after);
		if (first == NULL)
			first = xstrdup(after);
		else
			assert_string_equal(after, first);
		free(data);
		assert_int_equal(queue_remove(qid, &error), 0);
	}
	assert_string_equal(first, "\nFrom: a@b\nDate: Mon, 1 Jan 2024 "
			    "00:00:00 +0000\nMessage-ID: <m@x>\nSubject: "
			    "folded\n line\n\nbody\nx\r\n");
	free(first);
	/* one byte at a time */
	{
		char qid[QUEUE_ID_LEN + 1], *data;
		const char *error;

		assert_int_equal(submit_msg("", one_rcpt, msg, len, 1, &data,
					    &error, qid), 0);
		assert_non_null(strstr(data, "Subject: folded\n line\n\n"));
		free(data);
		assert_int_equal(queue_remove(qid, &error), 0);
	}
}

static void test_queue_ids(void **state)
{
	time_t t;
	char *p;

	(void)state;
	assert_true(queue_id_valid("0000000000001234.5F000000.0000ABCD", &t));
	assert_int_equal(t, 0x5F000000);
	assert_false(queue_id_valid("0000000000001234.5F000000.0000ABC", NULL));
	assert_false(queue_id_valid("0000000000001234.5F000000.0000abcd",
				    NULL));
	assert_false(queue_id_valid("../../../../etc/passwd.xx.yyyyyyyyyyy",
				    NULL));
	assert_false(queue_id_valid(NULL, NULL));
	assert_null(queue_path("nope", 'C'));
	p = queue_path("0000000000001234.5F000000.0000ABCD", 'D');
	assert_true(str_ends_with(p, "/var/queue/msgs/159383/"
				  "D0000000000001234.5F000000.0000ABCD"));
	free(p);
	/* no courierd: the trigger is simply not delivered */
	{
		const char *error;

		assert_int_equal(queue_trigger("F", &error), 0);
	}
}

/* submit_add_header_top(): fields after the whole message go right
 * after the Received: line; the rest is moved up intact (a body larger
 * than the copy buffer, a message without a body). */
static void test_header_top(void **state)
{
	struct submit_options o = { 0 };
	struct submit *s;
	char qid[QUEUE_ID_LEN + 1], *data, *path, *nl;
	const char *error;
	struct str msg;
	size_t body_start;

	(void)state;
	str_init(&msg, 300000);
	str_append(&msg, "From: a@example.test\r\nSubject: top\r\n\r\n");
	body_start = msg.len;
	for (unsigned int i = 0; i < 4000; i++)
		str_printfa(&msg, "line %u of a large body, 0123456789\r\n", i);
	o.sender = "a@example.test";
	o.source = "smtp";
	o.size_limit = 1000000;
	s = submit_begin(&o, &error);
	assert_non_null(s);
	assert_int_equal(submit_add_rcpt(s, "demo@example.test", 0, NULL,
					 &error), 1);
	submit_write(s, msg.data, msg.len);
	/* malformed fields are refused and change nothing */
	assert_int_equal(submit_add_header_top(s, "no colon"), -1);
	assert_int_equal(submit_add_header_top(s, ": no name"), -1);
	assert_int_equal(submit_add_header_top(s, "X: a\nbare"), -1);
	assert_int_equal(submit_add_header_top(s, "X: 8bit \xe9"), -1);
	assert_int_equal(submit_add_header_top(s, "Bad Name: x"), -1);
	assert_int_equal(submit_add_header_top(
		s, "Authentication-Results: mail.example.test;\r\n"
		   "\tdkim=pass header.d=example.test\r\n"), 0);
	assert_int_equal(submit_add_header_top(s, "X-Second: two"), 0);
	assert_int_equal(submit_finish(&s, qid, &error), 0);
	path = queue_path(qid, 'D');
	data = slurp(path);
	free(path);
	assert_true(str_begins_with(data, "Received: "));
	nl = strstr(data, "\nAuthentication-Results:");
	assert_non_null(nl);
	/* the Received: field (maybe folded) comes right before */
	assert_null(strstr(data, "\nFrom:") < nl ? "order" : NULL);
	assert_true(str_begins_with(nl, "\nAuthentication-Results: "
				    "mail.example.test;\n\tdkim=pass "
				    "header.d=example.test\nX-Second: two\n"
				    "From: a@example.test\nSubject: top\n"));
	/* the body is intact, with LF line ends */
	{
		char *body = strstr(data, "\n\n");
		struct str want;

		assert_non_null(body);
		str_init(&want, msg.len);
		for (size_t i = body_start; i < msg.len; i++)
			if (msg.data[i] != '\r')
				str_append_c(&want, msg.data[i]);
		assert_string_equal(body + 2, str_c(&want));
		str_free(&want);
	}
	free(data);
	str_free(&msg);

	/* a message without a body */
	s = submit_begin(&o, &error);
	assert_non_null(s);
	assert_int_equal(submit_add_rcpt(s, "demo@example.test", 0, NULL,
					 &error), 1);
	submit_write(s, "Subject: x", 10);
	assert_int_equal(submit_add_header_top(s, "X-Top: 1\n"), 0);
	assert_int_equal(submit_finish(&s, qid, &error), 0);
	path = queue_path(qid, 'D');
	data = slurp(path);
	free(path);
	assert_non_null(strstr(data, "\nX-Top: 1\nSubject: x\n"));
	free(data);

	/* over the size limit: 552 at the end */
	o.size_limit = 0;	/* the sizelimit file: 2000 */
	s = submit_begin(&o, &error);
	assert_non_null(s);
	assert_int_equal(submit_add_rcpt(s, "demo@example.test", 0, NULL,
					 &error), 1);
	submit_write(s, "Subject: x\n\nbody\n", 18);
	{
		char big[2100];

		memset(big, 'a', sizeof(big));
		memcpy(big, "X-Big: ", 7);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(submit_add_header_top(s, big), -1);
	}
	assert_int_equal(submit_finish(&s, qid, &error), -1);
	assert_true(str_begins_with(error, "552 5.3.4"));
}

/* Commits from many threads at once (esmtpd's worker pool): all land,
 * the replies are per thread, the bucket folder fsyncs are shared. */
#define GROUP_THREADS 16

struct group_arg {
	struct submit *s;
	pthread_barrier_t *barrier;
	char qid[QUEUE_ID_LEN + 1];
	int ret;
};

static void *group_thread(void *context)
{
	struct group_arg *a = context;
	const char *error;

	pthread_barrier_wait(a->barrier);
	a->ret = submit_finish_commit(&a->s, a->qid, &error);
	return NULL;
}

static void test_group_commit(void **state)
{
	struct group_arg args[GROUP_THREADS];
	pthread_t threads[GROUP_THREADS];
	pthread_barrier_t barrier;
	unsigned long before = queue_group_fsyncs();
	const char *msg = "Subject: x\r\n\r\nbody\r\n";
	const char *error;

	(void)state;
	pthread_barrier_init(&barrier, NULL, GROUP_THREADS);
	for (int i = 0; i < GROUP_THREADS; i++) {
		struct submit_options o = { .sender = "a@example.test" };

		memset(&args[i], 0, sizeof(args[i]));
		args[i].barrier = &barrier;
		args[i].s = submit_begin(&o, &error);
		assert_non_null(args[i].s);
		assert_int_equal(submit_add_rcpt(args[i].s, "b@example.test",
						 0, NULL, &error), 1);
		submit_write(args[i].s, msg, strlen(msg));
		assert_int_equal(submit_finish_prepare(&args[i].s, &error), 0);
		assert_non_null(args[i].s);
	}
	for (int i = 0; i < GROUP_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL,
						group_thread, &args[i]), 0);
	for (int i = 0; i < GROUP_THREADS; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < GROUP_THREADS; i++) {
		struct ctl_file *ctl;

		assert_int_equal(args[i].ret, 0);
		assert_null(args[i].s);
		assert_int_equal(queue_ctl_read(args[i].qid, &ctl, &error), 1);
		assert_string_equal(ctl->rcpts[0].address, "b@example.test");
		ctl_file_free(&ctl);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(args[i].qid, args[k].qid);
	}
	/* At least one fsync, never more than one per commit. */
	assert_true(queue_group_fsyncs() - before >= 1);
	assert_true(queue_group_fsyncs() - before <= GROUP_THREADS);

	/* prepare refusing frees the submission */
	{
		struct submit_options o = { .sender = "a@example.test" };
		struct submit *s = submit_begin(&o, &error);

		assert_non_null(s);
		submit_write(s, msg, strlen(msg));
		assert_int_equal(submit_finish_prepare(&s, &error), -1);
		assert_null(s);
		assert_true(str_begins_with(error, "554 "));
	}
	/* prepared, then aborted: nothing is queued, nothing leaks */
	{
		struct submit_options o = { .sender = "a@example.test" };
		struct submit *s = submit_begin(&o, &error);

		assert_non_null(s);
		assert_int_equal(submit_add_rcpt(s, "c@example.test", 0, NULL,
						 &error), 1);
		submit_write(s, msg, strlen(msg));
		assert_int_equal(submit_finish_prepare(&s, &error), 0);
		submit_abort(&s);
		assert_null(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verp_dsn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_keeps_date_msgid, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rewrites, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_every_split, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_queue_ids, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_header_top, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
