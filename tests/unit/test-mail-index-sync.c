/* test-mail-index-sync.c: unit tests for the mail index's building and
 * syncing: a folder indexed, closed and reopened, changes made behind the
 * index's back (deliveries, renames, removals), files renamed between two
 * calls, and two processes adding, storing and syncing at once. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "str.h"
#include "unit-index.h"

static void test_create_open_reopen(void **state)
{
	struct mail_index *index;
	struct mail_index_status st, st2;
	struct mail_index_record rec;
	const char *error;
	struct stat sb;
	char *path;

	(void)state;
	unit_index_put("cur", "1700000002.M1P1.host:2,S", "Subject: b\n\nb\n");
	unit_index_put("cur", "1700000001.M1P1.host,S=9:2,", "Subject: a\n");
	unit_index_put("new", "1700000003.M1P1.host", "c\n");
	index = unit_index_open();
	unit_index_status(index, &st);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.uidnext, 4);
	assert_int_equal(st.seen, 1);
	assert_true(st.uidvalidity > 0);
	/* Courier's order: by delivery time. */
	assert_int_equal(unit_index_uid_of(index, "1700000001.M1P1.host,S=9"),
			 1);
	assert_int_equal(unit_index_uid_of(index, "1700000002.M1P1.host"), 2);
	assert_int_equal(unit_index_uid_of(index, "1700000003.M1P1.host:2,XYZ"),
			 3);
	assert_int_equal(mail_index_lookup_uid(index, 3, &rec, &error), 1);
	assert_true(rec.in_new);
	assert_true(rec.seen_in_new);
	assert_string_equal(rec.name, "1700000003.M1P1.host");
	assert_int_equal(rec.size, 2);
	assert_int_equal(mail_index_lookup_uid(index, 2, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	assert_false(rec.seen_in_new);
	assert_int_equal(mail_index_lookup_uid(index, 4, &rec, &error), 0);
	assert_int_equal(mail_index_sync(index, 0, &error), 0);
	mail_index_close(&index);
	assert_null(index);

	path = xasprintf("%s/%s", unit_index_dir, MAIL_INDEX_FILE_NAME);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(path);

	index = unit_index_open();
	unit_index_status(index, &st2);
	assert_int_equal(st2.uidvalidity, st.uidvalidity);
	assert_int_equal(st2.uidnext, 4);
	assert_int_equal(st2.highestmodseq, st.highestmodseq);
	assert_int_equal(unit_index_uid_of(index, "1700000002.M1P1.host"), 2);
	/* A forced scan of an unchanged folder changes nothing. */
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);
	unit_index_status(index, &st2);
	assert_int_equal(st2.highestmodseq, st.highestmodseq);
	mail_index_close(&index);
}

static void test_external_changes(void **state)
{
	struct mail_index *index;
	struct mail_index_status st, st2;
	struct mail_index_record rec;
	const char *error;
	uint32_t *uids;
	size_t n;
	char *path;

	(void)state;
	unit_index_put("cur", "1700000001.M1P1.host:2,", "one\n");
	unit_index_put("cur", "1700000002.M1P1.host:2,", "two\n");
	index = unit_index_open();
	unit_index_status(index, &st);

	/* Delivered behind the index's back. */
	unit_index_deliver("three\n", NULL);
	assert_int_equal(mail_index_changed_since(index, st.highestmodseq,
						  &error),
			 1);
	unit_index_status(index, &st2);
	assert_int_equal(st2.messages, 3);
	assert_int_equal(st2.uidnext, 4);
	assert_int_equal(mail_index_lookup_uid(index, 3, &rec, &error), 1);
	assert_true(rec.in_new);
	assert_true(rec.modseq > st.highestmodseq);
	assert_int_equal(mail_index_changed_since(index, st2.highestmodseq,
						  &error),
			 0);

	/* Flags changed by another program's rename. */
	unit_index_rename("cur/1700000001.M1P1.host:2,",
			  "cur/1700000001.M1P1.host:2,FS");
	st = st2;
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN | MAIL_INDEX_FLAGGED);
	assert_string_equal(rec.name, "1700000001.M1P1.host:2,FS");
	assert_true(rec.modseq > st.highestmodseq);
	unit_index_status(index, &st2);
	assert_int_equal(st2.seen, 1);
	assert_int_equal(st2.highestmodseq, rec.modseq);

	/* Deleted behind its back: expunged and logged. */
	st = st2;
	path = xasprintf("%s/cur/1700000002.M1P1.host:2,", unit_index_dir);
	assert_int_equal(unlink(path), 0);
	free(path);
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, 2, &rec, &error), 0);
	unit_index_status(index, &st2);
	assert_int_equal(st2.messages, 2);
	assert_true(st2.highestmodseq > st.highestmodseq);
	assert_int_equal(mail_index_expunged_since(index, st.highestmodseq,
						   &uids, &n, &error),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 2);
	free(uids);
	assert_int_equal(mail_index_expunged_since(index, st2.highestmodseq,
						   &uids, &n, &error),
			 0);
	assert_int_equal(n, 0);
	assert_null(uids);
	/* UIDs are never reused. */
	unit_index_deliver("four\n", NULL);
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	unit_index_status(index, &st2);
	assert_int_equal(st2.uidnext, 5);
	assert_int_equal(mail_index_uids(index, &uids, &n, &error), 0);
	assert_int_equal(n, 3);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[1], 3);
	assert_int_equal(uids[2], 4);
	free(uids);
	mail_index_close(&index);
}

/* Another program renames a file between two of our calls: opening the
 * message, computing its size or moving it to cur/ finds it again and
 * takes the flags its new name carries (with a new MODSEQ), so that the
 * record never holds a name whose flags it does not have (a scan compares
 * names only and would never correct it). */
static void test_refound_takes_flags(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	struct mail_index_status st;
	const char *error;
	uint64_t vsize, before;
	uint32_t u1, u2, u3;
	int fd;

	(void)state;
	unit_index_put("cur", "1600000001.M1P1.host:2,", "Subject: 1\n\nx\n");
	unit_index_put("cur", "1600000002.M2P1.host:2,S", "Subject: 2\n\nx\n");
	unit_index_put("new", "1600000003.M3P1.host", "Subject: 3\n\nx\n");
	index = unit_index_open();
	u1 = unit_index_uid_of(index, "1600000001.M1P1.host");
	u2 = unit_index_uid_of(index, "1600000002.M2P1.host");
	u3 = unit_index_uid_of(index, "1600000003.M3P1.host");
	assert_true(u1 != 0 && u2 != 0 && u3 != 0);

	/* Flagged behind our back, then opened (FETCH BODY). */
	unit_index_rename("cur/1600000001.M1P1.host:2,",
			  "cur/1600000001.M1P1.host:2,F");
	unit_index_status(index, &st);
	before = st.highestmodseq;
	assert_int_equal(mail_index_open_message(index, u1, &fd, &error), 1);
	close(fd);
	assert_int_equal(mail_index_lookup_uid(index, u1, &rec, &error), 1);
	assert_string_equal(rec.name, "1600000001.M1P1.host:2,F");
	assert_int_equal(rec.flags, MAIL_INDEX_FLAGGED);
	assert_true(rec.modseq > before);
	unit_index_status(index, &st);
	assert_int_equal(st.highestmodseq, rec.modseq);

	/* \Seen taken away behind our back, then RFC822.SIZE computed. */
	unit_index_rename("cur/1600000002.M2P1.host:2,S",
			  "cur/1600000002.M2P1.host:2,");
	assert_int_equal(mail_index_get_vsize(index, u2, &vsize, &error), 1);
	assert_int_equal(vsize, 17);
	assert_int_equal(mail_index_lookup_uid(index, u2, &rec, &error), 1);
	assert_int_equal(rec.flags, 0);
	unit_index_status(index, &st);
	assert_int_equal(st.seen, 0);

	/* Read by a mail reader (new/ to cur/ with \Seen), then moved by
	 * us. */
	unit_index_rename("new/1600000003.M3P1.host",
			  "cur/1600000003.M3P1.host:2,S");
	assert_int_equal(mail_index_move_to_cur(index, &u3, 1, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, u3, &rec, &error), 1);
	assert_false(rec.in_new);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	unit_index_status(index, &st);
	assert_int_equal(st.seen, 1);

	/* A full scan agrees with all of it. */
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);
	assert_int_equal(mail_index_lookup_uid(index, u1, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_FLAGGED);
	assert_int_equal(mail_index_lookup_uid(index, u3, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	mail_index_close(&index);
}

/* Two processes add, store and expunge at once. */
static void child_work(int which)
{
	struct mail_index *index;
	struct mail_index_change ch = { .mode = MAIL_INDEX_MODIFY_ADD };
	const char *error;
	uint32_t uid;
	char *name;

	if (mail_index_open(unit_index_dir, NULL, &index, &error) < 0)
		_exit(10);
	for (int i = 0; i < 40; i++) {
		char body[32];
		int len = snprintf(body, sizeof(body), "m %d %d\n", which, i);

		if (maildir_deliver(unit_index_dir, body, (size_t)len, 0, &name,
				    &error) < 0)
			_exit(11);
		if (i % 2 == 0) {
			if (mail_index_add(index, name, NULL, 0, &uid,
					   &error) < 0)
				_exit(12);
			ch.flags = which == 0 ? MAIL_INDEX_SEEN
					      : MAIL_INDEX_FLAGGED;
			if (mail_index_store(index, &uid, 1, &ch, NULL,
					     &error) < 0)
				_exit(13);
		} else if (mail_index_sync(index, 0, &error) < 0) {
			_exit(14);
		}
		free(name);
	}
	mail_index_close(&index);
	_exit(0);
}

static void test_two_processes(void **state)
{
	struct mail_index *index;
	struct mail_index_status st, st2;
	const char *error;
	pid_t pids[2];
	uint32_t *uids;
	size_t n;
	int status_code;

	(void)state;
	unit_index_put("cur", "1600000000.M1P1.host:2,", "0\n");
	index = unit_index_open();
	unit_index_status(index, &st);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child_work(i);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pids[i], &status_code, 0), pids[i]);
		assert_true(WIFEXITED(status_code));
		assert_int_equal(WEXITSTATUS(status_code), 0);
	}
	/* The parent's open index sees the children's changes. */
	assert_int_equal(mail_index_changed_since(index, st.highestmodseq,
						  &error),
			 1);
	unit_index_status(index, &st2);
	assert_int_equal(st2.messages, 81);
	assert_int_equal(st2.uidnext, 82);
	assert_int_equal(st2.seen, 20);
	assert_int_equal(mail_index_uids(index, &uids, &n, &error), 0);
	assert_int_equal(n, 81);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(uids[i], i + 1);
	free(uids);
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open_reopen,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_external_changes,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_two_processes,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_refound_takes_flags,
			unit_index_setup, unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
