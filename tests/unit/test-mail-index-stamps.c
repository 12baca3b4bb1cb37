/* test-mail-index-stamps.c: unit tests for the mail index's directory
 * stamps under concurrent changes (on this file system, on one with
 * whole-second mtimes simulated by a hook, and on a real one when
 * MAIL_INDEX_TEST_COARSE_DIR names its mount point): our own changes,
 * another program's inside our transaction or in the same clock tick,
 * the racy window, two processes at once, and the writer marker that
 * lets a session go on without the writer lock. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "str.h"
#include "unit-index.h"

/* Our own STORE, EXPUNGE, APPEND and new/ to cur/ cost no session a
 * scan: the second handle (another session) reads the result. */
static void run_own_changes(int mode)
{
	struct mail_index *a, *b;
	struct mail_index_record rec;
	const char *error;
	uint32_t uid, first;
	char *name;
	unsigned scans;

	a = unit_index_stamp_folder(20);
	b = unit_index_open();
	unit_index_sync_ok(b);
	scans = mail_index_test_scans;
	for (uint32_t u = 1; u <= 10; u++) {
		unit_index_store_seen(a, u, true);
		unit_index_sync_ok(b);
		assert_int_equal(mail_index_lookup_uid(b, u, &rec, &error), 1);
		assert_true((rec.flags & MAIL_INDEX_SEEN) != 0);
	}
	uid = 3;
	assert_int_equal(mail_index_expunge(a, &uid, 1, NULL, &error), 1);
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_lookup_uid(b, 3, &rec, &error), 0);
	/* APPEND: the caller links the file into cur/, then adds it. */
	name = xstrdup("1700000000.M1P2.host,S=14:2,S");
	unit_index_put("cur", name, "Subject: a\n\nx\n");
	assert_int_equal(mail_index_add(a, name, NULL, 0, &uid, &error), 0);
	free(name);
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_lookup_uid(b, uid, &rec, &error), 1);
	assert_int_equal(mail_index_claim_recent(a, &first, &error), 0);
	assert_int_equal(mail_index_test_scans, scans);
	unit_index_assert_true(b);
	/* After the recheck time one scan verifies; then quiet again. */
	unit_index_advance_clock(1100);
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	unit_index_sync_ok(a);
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	unit_index_assert_true(a);
	mail_index_close(&a);
	mail_index_close(&b);
}

/* The committed writer number of index. */
static uint64_t busy_seq(struct mail_index *index)
{
	MDB_txn *txn;
	uint64_t seq = 0;
	const char *error;

	assert_int_equal(mail_index_read_begin(index, &txn, &error), 0);
	assert_int_equal(mail_index_busy_get(index, txn, &seq, &error), 0);
	mail_index_read_end(index, &txn);
	return seq;
}

/* A rename in cur/ by "another program" (the flags of message i of
 * unit_index_stamp_folder()). */
static void rename_outside(unsigned i, const char *flags)
{
	char *from, *to;

	from = xasprintf("cur/1600000%03u.M%uP1.host:2,", i, i);
	to = xasprintf("cur/1600000%03u.M%uP1.host:2,%s", i, i, flags);
	unit_index_rename(from, to);
	free(from);
	free(to);
}

/* A writer at work (the marker ahead of the committed number) makes a
 * session use what the index says instead of waiting for the writer
 * lock; for at most MAIL_INDEX_DEFER_NSEC, and only while the writers
 * that commit account for what it saw. */
static void test_busy_defer(void **state)
{
	struct mail_index *a, *b;
	struct mail_index_record rec;
	const char *error;
	unsigned scans;
	uint64_t seq;

	(void)state;
	assert_int_equal(unit_index_setup_stamps(0), 0);
	a = unit_index_stamp_folder(10);
	b = unit_index_open();
	unit_index_sync_ok(b);
	/* Each write transaction numbers itself. */
	seq = busy_seq(a);
	unit_index_store_seen(a, 1, true);
	assert_int_equal(busy_seq(a), seq + 1);
	assert_false(mail_index_busy_ahead(a, seq + 1));
	assert_true(mail_index_busy_ahead(a, seq));
	unit_index_sync_ok(b);
	/* A change while the marker says a writer is at work: put off. */
	seq = busy_seq(a);
	assert_int_equal(mail_index_busy_mark(a, seq + 1), 0);
	rename_outside(2, "F");
	scans = mail_index_test_scans;
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans);
	assert_int_equal(mail_index_lookup_uid(b, 3, &rec, &error), 1);
	assert_int_equal(rec.flags, 0);
	/* Not for longer than MAIL_INDEX_DEFER_NSEC: then the writer lock,
	 * which finds the marker of a writer that died and resets it. */
	unit_index_advance_clock(MAIL_INDEX_DEFER_NSEC / 1000000 + 100);
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	assert_int_equal(mail_index_lookup_uid(b, 3, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_FLAGGED);
	assert_false(mail_index_busy_ahead(a, busy_seq(a)));
	unit_index_assert_true(b);

	/* A change by another program while a writer of ours is at work:
	 * the writer's commit does not account for it (it leaves the
	 * stamp of cur/ stale), so the next look scans at once. */
	unit_index_advance_clock(2000);
	unit_index_sync_ok(b);
	seq = busy_seq(a);
	assert_int_equal(mail_index_busy_mark(a, seq + 1), 0);
	rename_outside(4, "S");
	scans = mail_index_test_scans;
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans);
	unit_index_store_seen(a, 6, true);
	assert_int_equal(busy_seq(a), seq + 1);
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	assert_int_equal(mail_index_lookup_uid(b, 5, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	unit_index_assert_true(b);

	/* Without a writer at work, a change is scanned at once. */
	unit_index_advance_clock(2000);
	unit_index_sync_ok(b);
	rename_outside(7, "R");
	scans = mail_index_test_scans;
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	assert_int_equal(mail_index_lookup_uid(b, 8, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_ANSWERED);
	unit_index_assert_true(b);
	mail_index_close(&a);
	mail_index_close(&b);
}

/* The hooks' victim: another program's change inside our transaction. */
static char *hook_from, *hook_to;
static bool hook_done;

static void rename_hook(struct mail_index *index)
{
	(void)index;
	if (hook_done || hook_from == NULL)
		return;
	hook_done = true;
	assert_int_equal(rename(hook_from, hook_to), 0);
}

/* Another program renames (flags) or delivers between our stamps and
 * our rename: a flag change in cur/ is found by the recheck at the
 * latest, a delivery into new/ at the next sync. */
static void run_foreign_in_txn(int mode)
{
	struct mail_index *a, *b;
	struct mail_index_record rec;
	const char *error;
	uint32_t uid;
	char *dname;

	a = unit_index_stamp_folder(10);
	b = unit_index_open();
	unit_index_sync_ok(b);
	/* A delivery into new/ inside our transaction: found at once. */
	unit_index_deliver("x\n", &dname);
	{
		/* Take it back out to tmp/ and let the hook deliver it. */
		char *n = xasprintf("%s/new/%s", unit_index_dir, dname);
		char *t = xasprintf("%s/tmp/%s", unit_index_dir, dname);

		assert_int_equal(rename(n, t), 0);
		hook_from = t;
		hook_to = n;
	}
	unit_index_sync_ok(a);
	unit_index_sync_ok(b);
	hook_done = false;
	mail_index_test_write_hook = rename_hook;
	unit_index_store_seen(a, 2, true);
	mail_index_test_write_hook = NULL;
	assert_true(hook_done);
	free(hook_from);
	free(hook_to);
	hook_from = NULL;
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_lookup_base(b, dname, &rec, &error), 1);
	uid = rec.uid;
	unit_index_sync_ok(a);
	assert_int_equal(mail_index_lookup_uid(a, uid, &rec, &error), 1);
	free(dname);
	unit_index_assert_true(a);

	/* Message 5's file gets \Flagged by another program. */
	assert_int_equal(mail_index_lookup_uid(a, 5, &rec, &error), 1);
	hook_from = xasprintf("%s/cur/%s", unit_index_dir, rec.name);
	hook_to = xasprintf("%s/cur/%.*sF", unit_index_dir,
			    (int)rec.base_len + 3,
			    rec.name);
	hook_done = false;
	mail_index_test_write_hook = rename_hook;
	unit_index_store_seen(a, 1, true);
	mail_index_test_write_hook = NULL;
	assert_true(hook_done);
	free(hook_from);
	free(hook_to);
	hook_from = NULL;
	unit_index_sync_ok(b);
	/* Within the recheck time it may still be unseen; after it, it
	 * must be found (the clock jump ends the test: mtimes stay real). */
	unit_index_advance_clock(1100);
	unit_index_sync_ok(b);
	assert_int_equal(mail_index_lookup_uid(b, 5, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_FLAGGED);
	unit_index_assert_true(b);

	unit_index_assert_true(a);
	(void)mode;
	mail_index_close(&a);
	mail_index_close(&b);
}

/* Deliveries and removals right after a scan, in the same clock tick
 * (the same second on a whole-second file system): the next sync finds a
 * delivery, a removal or rename in cur/ is found by the recheck. */
static void run_same_tick(int mode)
{
	struct mail_index *a;
	struct mail_index_record rec;
	struct mail_index_status st;
	const char *error;
	char *n1, *n2, *path;

	a = unit_index_stamp_folder(4);
	unit_index_deliver("1\n", &n1);
	unit_index_sync_ok(a);
	assert_int_equal(mail_index_lookup_base(a, n1, &rec, &error), 1);
	/* Same tick (or not: it must be found either way). */
	unit_index_deliver("2\n", &n2);
	unit_index_sync_ok(a);
	assert_int_equal(mail_index_lookup_base(a, n2, &rec, &error), 1);
	/* Another program removes message 2 from cur/ right after a scan
	 * that followed our STORE. */
	unit_index_store_seen(a, 1, true);
	unit_index_sync_ok(a);
	assert_int_equal(mail_index_lookup_uid(a, 2, &rec, &error), 1);
	path = xasprintf("%s/cur/%s", unit_index_dir, rec.name);
	assert_int_equal(unlink(path), 0);
	free(path);
	unit_index_sync_ok(a);
	unit_index_advance_clock(1100);
	unit_index_sync_ok(a);
	assert_int_equal(mail_index_lookup_uid(a, 2, &rec, &error), 0);
	unit_index_status(a, &st);
	assert_int_equal(st.messages, 5);
	unit_index_assert_true(a);
	free(n1);
	free(n2);
	(void)mode;
	mail_index_close(&a);
}

/* The racy window follows the file system: a scan 60 ms after a
 * delivery is trusted with sub-second mtimes (the next sync reads
 * nothing), not with whole seconds (the next sync scans new/ again). */
static void test_stamp_racy_window(void **state)
{
	struct mail_index *a;
	char *n;
	unsigned scans;

	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(unit_index_setup_stamps(mode), 0);
		a = unit_index_stamp_folder(3);
		mail_index_test_clock_offset_nsec = 0;
		unit_index_deliver("1\n", &n);
		free(n);
		/* Pretend 60 ms passed since the delivery (the mtime is
		 * whole seconds in mode 1: wait for the next second). */
		if (mode == 1) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			unit_index_advance_clock(1000 - ts.tv_nsec / 1000000);
		} else {
			unit_index_advance_clock(60);
		}
		unit_index_sync_ok(a);
		scans = unit_index_all_scans();
		unit_index_sync_ok(a);
		assert_int_equal(unit_index_all_scans(),
				 scans + (mode == 0 ? 0 : 1));
		mail_index_close(&a);
		unit_index_teardown_stamps(state);
	}
	unit_index_dir = NULL;
}

/* Two processes: one delivers into new/ and renames files in cur/ as
 * another program would, the other stores and expunges through the
 * index; after the recheck time the index matches the maildir. */
static void test_stamp_concurrent(void **state)
{
	struct mail_index *a;
	pid_t pid;
	int status_code;
	const char *error;

	(void)state;
	assert_int_equal(unit_index_setup_stamps(0), 0);
	a = unit_index_stamp_folder(50);
	mail_index_test_clock_offset_nsec = 0;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 200; i++) {
			char *name;

			if (maildir_deliver(unit_index_dir, "c\n", 2, 0, &name,
					    &error) < 0)
				_exit(1);
			free(name);
			if (i % 4 == 0) {
				/* Flag a message in cur/ behind the index. */
				struct maildir_list *l;

				if (maildir_list(unit_index_dir, &l,
						 &error) < 0)
					_exit(2);
				for (size_t j = 0; j < l->count; j++) {
					const struct maildir_entry *e =
						&l->entries[(j + (size_t)i) %
							    l->count];
					if (e->in_new ||
					    strchr(e->flags, 'F') != NULL)
						continue;
					char *f = xasprintf("%s/cur/%s",
							    unit_index_dir,
							    e->name);
					char *t = xasprintf("%s%s", f,
							    strstr(e->name,
								   ":2,") ?
								    "F" :
								    ":2,F");
					(void)rename(f, t);
					free(f);
					free(t);
					break;
				}
				maildir_list_free(&l);
			}
		}
		_exit(0);
	}
	for (int i = 0; i < 300; i++) {
		struct mail_index_status st;
		uint32_t uid;

		unit_index_sync_ok(a);
		unit_index_status(a, &st);
		uid = st.uidnext - 1 - (uint32_t)(i % 7);
		struct mail_index_change ch = {
			.mode = MAIL_INDEX_MODIFY_ADD, .flags = MAIL_INDEX_SEEN,
		};
		if (mail_index_store(a, &uid, 1, &ch, NULL, &error) < 0)
			fail_msg("store: %s", error);
		if (i % 10 == 5) {
			uid = (uint32_t)i / 10 + 1;
			assert_true(mail_index_expunge(a, &uid, 1, NULL,
						       &error) >= 0);
		}
		uint32_t first;
		if (i % 3 == 0)
			assert_int_equal(mail_index_move_to_cur(
						 a, &uid, 1, &error) >= 0,
					 1);
		if (i % 11 == 0)
			assert_int_equal(mail_index_claim_recent(a, &first,
								 &error),
					 0);
	}
	assert_int_equal(waitpid(pid, &status_code, 0), pid);
	assert_true(WIFEXITED(status_code));
	assert_int_equal(WEXITSTATUS(status_code), 0);
	unit_index_advance_clock(1100);
	unit_index_sync_ok(a);
	unit_index_assert_true(a);
	mail_index_close(&a);
}

/* A scenario run in one stamp mode (see unit_index_setup_stamps(): 0
 * this file system, 1 whole seconds simulated, 2 the real coarse one of
 * MAIL_INDEX_TEST_COARSE_DIR, skipped without it). */
struct stamp_case {
	void (*run)(int mode);
	int mode;
};

static void test_stamp_case(void **state)
{
	const struct stamp_case *c = *state;

	if (unit_index_setup_stamps(c->mode) < 0)
		skip();
	c->run(c->mode);
}

#define STAMP_CASE(name, run, mode)                                      \
	{ name, test_stamp_case, NULL, unit_index_teardown_stamps,       \
	  &(struct stamp_case){ run, mode } }

int main(void)
{
	const struct CMUnitTest tests[] = {
		STAMP_CASE("test_stamp_own_changes", run_own_changes, 0),
		STAMP_CASE("test_stamp_own_changes_coarse", run_own_changes, 1),
		STAMP_CASE("test_stamp_foreign_in_txn", run_foreign_in_txn, 0),
		STAMP_CASE("test_stamp_foreign_in_txn_coarse",
			   run_foreign_in_txn, 1),
		STAMP_CASE("test_stamp_same_tick", run_same_tick, 0),
		STAMP_CASE("test_stamp_same_tick_coarse", run_same_tick, 1),
		STAMP_CASE("test_stamp_same_tick_real_coarse",
			   run_same_tick, 2),
		STAMP_CASE("test_stamp_real_coarse_own", run_own_changes, 2),
		STAMP_CASE("test_stamp_real_coarse_foreign",
			   run_foreign_in_txn, 2),
		cmocka_unit_test_teardown(test_stamp_racy_window,
			unit_index_teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_concurrent,
			unit_index_teardown_stamps),
		cmocka_unit_test_teardown(test_busy_defer,
			unit_index_teardown_stamps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
