/* test-mail-index-scan.c: unit tests for the mail index's scans of the
 * maildir: a scan that finds nothing commits nothing, new/ scanned alone,
 * the first build's bulk writes equal to one record at a time,
 * maildir_list()'s order, and timings on a folder of 10,000 messages
 * (printed, not asserted). */
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
#include <time.h>
#include <unistd.h>
#include <lmdb.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "str.h"
#include "unit-index.h"

static size_t last_txnid(struct mail_index *index)
{
	MDB_envinfo info;

	assert_int_equal(mdb_env_info(index->env->env, &info), 0);
	return info.me_last_txnid;
}

/* A scan that finds nothing commits nothing (no fsync), unless its
 * stamps spare later syncs a scan; a scan that finds something commits. */
static void test_scan_without_change(void **state)
{
	struct mail_index *a;
	const char *error;
	unsigned scans;
	size_t txn;
	char *n, *path;

	(void)state;
	assert_int_equal(unit_index_setup_stamps(0), 0);
	a = unit_index_stamp_folder(5);
	mail_index_test_clock_offset_nsec = 0;
	/* A forced scan of an unchanged folder with trusted stamps. */
	txn = last_txnid(a);
	scans = unit_index_all_scans();
	assert_int_equal(mail_index_sync(a, MAIL_INDEX_SYNC_FORCE, &error), 0);
	assert_int_equal(unit_index_all_scans(), scans + 1);
	assert_int_equal(last_txnid(a), txn);

	/* A file comes and goes in new/: new/'s mtime moved, nothing to
	 * index.  Within the racy window every sync scans, none writes. */
	unit_index_deliver("x\n", &n);
	path = xasprintf("%s/new/%s", unit_index_dir, n);
	assert_int_equal(unlink(path), 0);
	free(path);
	free(n);
	/* (Its mtime 5 s ahead: within the window however slow we are.) */
	{
		struct timespec ts[2];

		path = xasprintf("%s/new", unit_index_dir);
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec += 5;
		ts[1] = ts[0];
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
		free(path);
	}
	scans = unit_index_all_scans();
	unit_index_sync_ok(a);
	unit_index_sync_ok(a);
	assert_int_equal(unit_index_all_scans(), scans + 2);
	assert_int_equal(last_txnid(a), txn);
	/* Past the racy window one scan writes the trusted stamps, and
	 * the syncs after it read nothing. */
	unit_index_advance_clock(5100);
	unit_index_sync_ok(a);
	assert_int_equal(unit_index_all_scans(), scans + 3);
	assert_int_equal(last_txnid(a), txn + 1);
	unit_index_sync_ok(a);
	unit_index_sync_ok(a);
	assert_int_equal(unit_index_all_scans(), scans + 3);
	assert_int_equal(last_txnid(a), txn + 1);

	/* A delivery is written at once. */
	unit_index_deliver("y\n", &n);
	free(n);
	assert_int_equal(mail_index_sync(a, 0, &error), 1);
	assert_int_equal(last_txnid(a), txn + 2);
	unit_index_assert_true(a);
	mail_index_close(&a);
}

/* A delivery, and our own move of it to cur/, are found by a scan of
 * new/ alone (no full scan of a large folder); a file of the index gone
 * from new/ sends the sync back to the full scan, which expunges it. */
static void test_scan_new_only(void **state)
{
	struct mail_index *a;
	const char *error;
	unsigned full, part;
	uint32_t uid;
	char *n, *n2, *path;

	(void)state;
	assert_int_equal(unit_index_setup_stamps(0), 0);
	a = unit_index_stamp_folder(5);
	mail_index_test_clock_offset_nsec = 0;
	unit_index_deliver("1\n", &n);
	unit_index_advance_clock(60);
	full = mail_index_test_scans;
	part = mail_index_test_new_scans;
	assert_int_equal(mail_index_sync(a, 0, &error), 1);
	assert_int_equal(mail_index_test_scans, full);
	assert_int_equal(mail_index_test_new_scans, part + 1);
	uid = unit_index_uid_of(a, n);
	assert_int_equal(uid, 6);
	unit_index_assert_true(a);

	/* Our own move to cur/: the next syncs look at new/ only. */
	assert_int_equal(mail_index_move_to_cur(a, &uid, 1, &error), 1);
	unit_index_sync_ok(a);
	unit_index_sync_ok(a);
	assert_int_equal(mail_index_test_scans, full);
	unit_index_assert_true(a);
	assert_int_equal(unit_index_uid_of(a, n), 6);

	/* Indexed in new/, then removed from there by another program. */
	unit_index_deliver("2\n", &n2);
	unit_index_advance_clock(60);
	unit_index_sync_ok(a);
	assert_int_equal(mail_index_test_scans, full);
	assert_int_equal(unit_index_uid_of(a, n2), 7);
	path = xasprintf("%s/new/%s", unit_index_dir, n2);
	assert_int_equal(unlink(path), 0);
	free(path);
	unit_index_advance_clock(60);
	assert_int_equal(mail_index_sync(a, 0, &error), 1);
	assert_int_equal(mail_index_test_scans, full + 1);
	assert_int_equal(unit_index_uid_of(a, n2), 0);
	unit_index_assert_true(a);
	free(n);
	free(n2);
	mail_index_close(&a);
}

/* Appends every key/value of dbi to out (sizes, then bytes). */
static void dump_db(MDB_txn *txn, MDB_dbi dbi, struct str *out)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		str_printfa(out, "%zu:%zu:", key.mv_size, val.mv_size);
		str_append_n(out, key.mv_data, key.mv_size);
		str_append_n(out, val.mv_data, val.mv_size);
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
}

static void dump_index(struct mail_index *index, MDB_txn *txn, struct str *out)
{
	str_clear(out);
	dump_db(txn, index->env->db_msgs, out);
	str_append(out, "|");
	dump_db(txn, index->env->db_bases, out);
	str_append(out, "|");
	dump_db(txn, index->env->db_modseq, out);
}

/* The first build writes its records in bulk (mail-index-bulk.c): the
 * databases and counters are those that one mail_index_rec_put() a
 * record makes, also when the names do not come in key order. */
static void test_bulk_equals_one_by_one(void **state)
{
	struct mail_index *index;
	struct mail_index_hdr built, hdr;
	struct str bulk, single;
	MDB_txn *txn;
	MDB_val key, val;
	MDB_cursor *cur;
	const char *error;
	uint32_t *uids = NULL;
	size_t n = 0;
	int rc;

	(void)state;
	for (unsigned i = 0; i < 300; i++) {
		char name[96];

		snprintf(name, sizeof(name),
			 "16000%05u.M%uP1.host,S=%u,W=%u:2,%s", i * 7 % 300, i,
			 i + 10, i + 12,
			 i % 3 == 0   ? "S"
			 : i % 3 == 1 ? "T"
				       : "");
		unit_index_put("cur", name, "x\n");
	}
	/* Out of byte order in Courier's (9 digits of time), no sizes in
	 * the name (the file is stat()ed), and in new/. */
	unit_index_put("cur", "999999999.M1P1.host:2,FS", "abc\n");
	unit_index_put("new", "1600009999.M2P2.host", "hello\n");
	unit_index_put("new", "1600000150.M3P3.host,S=5", "hell\n");
	index = unit_index_open();

	str_init(&bulk, 65536);
	str_init(&single, 65536);
	assert_int_equal(mdb_txn_begin(index->env->env, NULL, 0, &txn), 0);
	assert_int_equal(mail_index_hdr_get(index, txn, &built, &error), 1);
	assert_int_equal(built.messages, 303);
	dump_index(index, txn, &bulk);
	assert_int_equal(mdb_cursor_open(txn, index->env->db_msgs, &cur), 0);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		uids = xreallocarray(uids, n + 1, sizeof(*uids));
		uids[n++] = mail_index_get_be32(key.mv_data);
	}
	mdb_cursor_close(cur);
	assert_int_equal(n, 303);
	/* The same records again, one by one, into emptied databases. */
	{
		struct mail_index_rec recs[303];

		for (size_t i = 0; i < n; i++)
			assert_int_equal(mail_index_rec_get(index, txn, uids[i],
							    &recs[i], NULL,
							    &error),
					 1);
		assert_int_equal(mdb_drop(txn, index->env->db_msgs, 0), 0);
		assert_int_equal(mdb_drop(txn, index->env->db_bases, 0), 0);
		assert_int_equal(mdb_drop(txn, index->env->db_modseq, 0), 0);
		hdr = built;
		hdr.messages = hdr.seen = hdr.deleted = 0;
		hdr.total_size = 0;
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(mail_index_rec_put(index, txn, &hdr,
							    NULL, &recs[i],
							    NULL, &error),
					 0);
			mail_index_rec_free(&recs[i]);
		}
	}
	dump_index(index, txn, &single);
	mdb_txn_abort(txn);
	assert_int_equal(str_len(&bulk), str_len(&single));
	assert_memory_equal(str_c(&bulk), str_c(&single), str_len(&bulk));
	assert_int_equal(hdr.messages, built.messages);
	assert_int_equal(hdr.seen, built.seen);
	assert_int_equal(hdr.deleted, built.deleted);
	assert_int_equal(hdr.total_size, built.total_size);
	/* Courier's order: the 9-digit time first. */
	assert_int_equal(unit_index_uid_of(index, "999999999.M1P1.host"), 1);
	unit_index_assert_true(index);
	str_free(&bulk);
	str_free(&single);
	free(uids);
	mail_index_close(&index);
}

/* maildir_list() sorts by base name, then whole name, whatever the
 * directory order: names that share their first 16 bytes (the radix
 * sort's key) or differ only in their info, shorter and longer ones. */
static void test_list_sorted(void **state)
{
	struct maildir_list *list;
	const char *error;

	(void)state;
	for (unsigned i = 0; i < 400; i++) {
		char name[96];

		/* i * 7919 % 400: created out of order */
		unsigned k = i * 7919 % 400;

		if (k % 4 == 0)
			snprintf(name, sizeof(name),
				 "1600000000.M1P1.host%u,S=%u:2,S", k, k);
		else if (k % 4 == 1)
			snprintf(name, sizeof(name), "16000%05u.M%uP1.h", k,
				 k);
		else if (k % 4 == 2)
			snprintf(name, sizeof(name), "%u", k);
		else
			snprintf(name, sizeof(name),
				 "1600000000.M1P1.host%u:2,%s", k / 8,
				 k % 8 == 3 ? "F" : "T");
		unit_index_put(k % 5 == 0 ? "new" : "cur", name, "x\n");
	}
	unit_index_put("cur", "1600000000.M1P1.host", "x\n");
	unit_index_put("new", "1600000000.M1P1.host", "x\n");
	assert_int_equal(maildir_list(unit_index_dir, &list, &error), 0);
	assert_true(list->count >= 300);
	for (size_t i = 1; i < list->count; i++) {
		const struct maildir_entry *a = &list->entries[i - 1];
		const struct maildir_entry *b = &list->entries[i];
		size_t n = a->base_len < b->base_len ? a->base_len
						      : b->base_len;
		int c = memcmp(a->name, b->name, n);

		if (c == 0)
			c = a->base_len < b->base_len	? -1
			    : a->base_len > b->base_len ? 1
							 : strcmp(a->name,
								  b->name);
		if (c > 0)
			fail_msg("out of order at %zu: %s, %s", i, a->name,
				 b->name);
		assert_int_equal(a->base_len, maildir_name_base_len(a->name));
	}
	assert_non_null(maildir_list_find(list, "1600000000.M1P1.host7:2,T"));
	maildir_list_free(&list);
	assert_null(list);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int sum_cb(const struct mail_index_record *rec, void *context)
{
	uint64_t *sum = context;

	*sum += rec->uid;
	return 0;
}

/* 10,000 messages: prints the timings (does not assert them). */
static void test_scale(void **state)
{
	enum { N = 10000 };
	struct mail_index *index;
	struct mail_index_status st;
	struct mail_index_record rec;
	const char *error;
	char name[128];
	double t0, t_cold, t_warm, t_sync, t_iter, t_uid, t_base, t_kill;
	uint64_t sum = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name),
			 "%d.M%06dP4242Q%d.host,S=20:2,%s", 1600000000 + i, i,
			 i, i % 3 == 0 ? "S" : "");
		unit_index_put("cur", name, "Subject: x\n\nbody\n");
	}
	/* Let the directory stamps age past the racy window. */
	unit_index_age_dirs();
	t0 = now_ms();
	index = unit_index_open();
	t_cold = now_ms() - t0;
	unit_index_status(index, &st);
	assert_int_equal(st.messages, N);
	mail_index_close(&index);

	t0 = now_ms();
	index = unit_index_open();
	t_warm = now_ms() - t0;

	t0 = now_ms();
	for (int i = 0; i < 100; i++)
		assert_int_equal(mail_index_sync(index, 0, &error), 0);
	t_sync = (now_ms() - t0) / 100;

	t0 = now_ms();
	assert_int_equal(mail_index_iterate(index, 1, UINT32_MAX, sum_cb, &sum,
					    &error),
			 0);
	t_iter = now_ms() - t0;
	assert_int_equal(sum, (uint64_t)N * (N + 1) / 2);

	t0 = now_ms();
	for (uint32_t uid = 1; uid <= N; uid++)
		assert_int_equal(mail_index_lookup_uid(index, uid, &rec,
						       &error),
				 1);
	t_uid = now_ms() - t0;

	t0 = now_ms();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "%d.M%06dP4242Q%d.host,S=20",
			 1600000000 + i, i, i);
		assert_int_equal(unit_index_uid_of(index, name),
				 (uint32_t)i + 1);
	}
	t_base = now_ms() - t0;

	/* One file deleted behind the index's back: a full rescan. */
	snprintf(name, sizeof(name), "%s/cur/%d.M%06dP4242Q%d.host,S=20:2,",
		 unit_index_dir, 1600000001, 1, 1);
	assert_int_equal(unlink(name), 0);
	t0 = now_ms();
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	t_kill = now_ms() - t0;

	print_message("mail index, %d messages: cold open %.1f ms, warm open "
		      "%.2f ms, warm sync %.3f ms, iterate %.1f ms, %d UID "
		      "lookups %.1f ms, %d base lookups %.1f ms, rescan after "
		      "a delete %.1f ms\n",
		      N, t_cold, t_warm, t_sync, t_iter, N, t_uid, N, t_base,
		      t_kill);
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_scan_without_change,
			unit_index_teardown_stamps),
		cmocka_unit_test_setup_teardown(test_scale,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_teardown(test_scan_new_only,
			unit_index_teardown_stamps),
		cmocka_unit_test_setup_teardown(test_bulk_equals_one_by_one,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_list_sorted,
			unit_index_setup, unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
