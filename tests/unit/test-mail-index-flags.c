/* test-mail-index-flags.c: unit tests for the mail index's light reads:
 * MAIL_INDEX_READ_FLAGS_ONLY, mail_index_lookup_uids_flags() and the
 * flags table (mail_index_get_flags_table()) against a full walk, after
 * random changes by another handle and behind the index's back, with
 * expunges, new mail, many keywords, a damaged record and two folders;
 * the table's snapshot in the index. */
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
#include <unistd.h>
#include <lmdb.h>
#include "log.h"
#include "maildir.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "unit-index.h"
#include "str.h"

static unsigned msg_serial;

/* Writes a message into dir's cur/ (flags: maildir letters) or new/. */
static void put_msg(const char *dir, const char *flags)
{
	char *path;
	unsigned n = ++msg_serial;

	if (flags == NULL)
		path = xasprintf("%s/new/1700000000.M%uP1.test,S=5", dir, n);
	else
		path = xasprintf("%s/cur/1700000000.M%uP1.test,S=5:2,%s", dir,
				 n, flags);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("a\n\nb\n", f);
	fclose(f);
	free(path);
}

struct walk {
	uint32_t uid[4096];
	uint8_t flags[4096];
	uint64_t modseq[4096];
	uint64_t kw[4096];
	bool kw_big[4096];
	size_t count;
	bool light_name_empty;
};

static int walk_cb(const struct mail_index_record *rec, void *context)
{
	struct walk *w = context;

	assert_true(w->count < 4096);
	w->uid[w->count] = rec->uid;
	w->flags[w->count] = rec->flags;
	w->modseq[w->count] = rec->modseq;
	w->kw[w->count] = 0;
	w->kw_big[w->count] = false;
	for (size_t k = 0; k < rec->keyword_count; k++) {
		if (rec->keywords[k] < 64)
			w->kw[w->count] |= (uint64_t)1 << rec->keywords[k];
		else
			w->kw_big[w->count] = true;
	}
	if (rec->name[0] != '\0')
		w->light_name_empty = false;
	w->count++;
	return 0;
}

/* The full walk and the light one agree; the table agrees with both. */
static void check_index(struct mail_index *index)
{
	struct walk *full = xcalloc(1, sizeof(*full));
	struct walk *light = xcalloc(1, sizeof(*light));
	struct mail_index_flags_table t;
	const char *error;

	assert_int_equal(mail_index_iterate(index, 1, UINT32_MAX, walk_cb,
					    full, &error), 0);
	light->light_name_empty = true;
	assert_int_equal(mail_index_iterate_flags(index, 1, UINT32_MAX,
						  MAIL_INDEX_READ_FLAGS_ONLY,
						  walk_cb, light, &error), 0);
	assert_true(light->light_name_empty);
	assert_int_equal(full->count, light->count);
	for (size_t i = 0; i < full->count; i++) {
		assert_int_equal(full->uid[i], light->uid[i]);
		assert_int_equal(full->flags[i], light->flags[i]);
		assert_int_equal(full->modseq[i], light->modseq[i]);
		assert_true(full->kw[i] == light->kw[i]);
	}
	assert_int_equal(mail_index_get_flags_table(index, &t, &error), 0);
	assert_int_equal(t.count, full->count);
	bool any_big = false, any_kw = false;
	for (size_t i = 0; i < full->count; i++) {
		assert_int_equal(t.uids[i], full->uid[i]);
		assert_int_equal(t.flags[i], full->flags[i]);
		uint64_t kw = t.keywords != NULL ? t.keywords[i] : 0;
		assert_true(kw == full->kw[i]);
		any_big |= full->kw_big[i];
		any_kw |= full->kw[i] != 0;
	}
	if (any_big)
		assert_false(t.keywords_complete);
	if (!any_kw && !any_big)
		assert_null(t.keywords);
	struct mail_index_status st;
	assert_int_equal(mail_index_get_status(index, &st, &error), 0);
	assert_true(t.highestmodseq == st.highestmodseq);
	free(full);
	free(light);
}

static uint32_t nth_uid(struct mail_index *index, size_t n)
{
	uint32_t *uids, uid;
	size_t count;
	const char *error;

	assert_int_equal(mail_index_uids(index, &uids, &count, &error), 0);
	assert_true(count > 0);
	uid = uids[n % count];
	free(uids);
	return uid;
}

static void random_change(struct mail_index *index, unsigned r)
{
	static const char *const kws[] = { "$Junk", "work", "$Forwarded" };
	const char *error;
	uint32_t uid = nth_uid(index, r / 7);
	const char *kw[1] = { kws[r % 3] };
	struct mail_index_change ch = {
		.mode = (r & 1) != 0 ? MAIL_INDEX_MODIFY_ADD :
				       MAIL_INDEX_MODIFY_REMOVE,
		.flags = (uint8_t)(1u << (r % 5)),
		.keywords = kw,
		.keyword_count = (r & 8) != 0 ? 1 : 0,
	};

	switch (r % 4) {
	case 0:
	case 1:
		assert_true(mail_index_store(index, &uid, 1, &ch, NULL,
					     &error) >= 0);
		break;
	case 2:
		assert_true(mail_index_expunge(index, &uid, 1, NULL,
					       &error) >= 0);
		break;
	default:
		put_msg(unit_index_dir, (r & 16) != 0 ? "S" : NULL);
		put_msg(unit_index_dir, "FR");
		assert_true(mail_index_sync(index, 0, &error) >= 0);
		break;
	}
}

/* A table kept by one handle follows the changes made through another
 * (a second session), checked after each batch of changes. */
static void test_table_follows_changes(void **state)
{
	struct mail_index *a, *b;
	const char *error;

	(void)state;
	for (int i = 0; i < 300; i++)
		put_msg(unit_index_dir, i % 10 == 0  ? NULL
					 : i % 3 == 0 ? "S"
						       : "FS");
	a = unit_index_open();
	b = unit_index_open();
	check_index(a);
	srand(42);
	for (int round = 0; round < 40; round++) {
		int n = 1 + rand() % 5;

		for (int k = 0; k < n; k++)
			random_change(b, (unsigned)rand());
		assert_true(mail_index_sync(a, 0, &error) >= 0);
		check_index(a);
	}
	/* many changes at once: the table is rebuilt by a pass */
	for (int k = 0; k < 120; k++)
		random_change(b, (unsigned)rand() & ~3u);
	check_index(a);
	mail_index_close(&b);
	mail_index_close(&a);
}

/* A rename behind the index's back (another program) reaches the table
 * once a sync picked it up. */
static void test_table_outside_change(void **state)
{
	struct mail_index *index;
	const char *error;
	char *from, *to;

	(void)state;
	unsigned fifth = msg_serial + 5;
	for (int i = 0; i < 20; i++)
		put_msg(unit_index_dir, "");
	index = unit_index_open();
	check_index(index);
	from = xasprintf("%s/cur/1700000000.M%uP1.test,S=5:2,",
			 unit_index_dir, fifth);
	to = xasprintf("%s/cur/1700000000.M%uP1.test,S=5:2,DS",
		       unit_index_dir, fifth);
	assert_int_equal(rename(from, to), 0);
	assert_true(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error) >= 0);
	check_index(index);
	struct mail_index_flags_table t;
	assert_int_equal(mail_index_get_flags_table(index, &t, &error), 0);
	bool found = false;
	for (size_t i = 0; i < t.count; i++)
		if (t.flags[i] == (MAIL_INDEX_DRAFT | MAIL_INDEX_SEEN))
			found = true;
	assert_true(found);
	free(from);
	free(to);
	mail_index_close(&index);
}

/* Keyword ids of 64 and more: the table says it is not complete. */
static void test_table_many_keywords(void **state)
{
	struct mail_index *index;
	const char *error;
	char name[32];

	(void)state;
	for (int i = 0; i < 5; i++)
		put_msg(unit_index_dir, "S");
	index = unit_index_open();
	check_index(index);
	for (int k = 0; k < 70; k++) {
		const char *kw[1] = { name };
		uint32_t uid = nth_uid(index, (size_t)k);
		struct mail_index_change ch = {
			.mode = MAIL_INDEX_MODIFY_ADD,
			.keywords = kw,
			.keyword_count = 1,
		};

		snprintf(name, sizeof(name), "kw%d", k);
		assert_true(mail_index_store(index, &uid, 1, &ch, NULL,
					     &error) >= 0);
	}
	check_index(index);
	struct mail_index_flags_table t;
	assert_int_equal(mail_index_get_flags_table(index, &t, &error), 0);
	assert_false(t.keywords_complete);
	assert_non_null(t.keywords);
	mail_index_close(&index);
}

/* Two folders asked in turn: each answer is its own folder's. */
static void test_table_two_folders(void **state)
{
	struct mail_index *a, *b;
	struct mail_index_flags_table t;
	const char *error;
	char *dir2 = xasprintf("%s/.Other", unit_index_dir);

	(void)state;
	assert_int_equal(maildir_create(dir2, NULL), 0);
	for (int i = 0; i < 10; i++)
		put_msg(unit_index_dir, "S");
	for (int i = 0; i < 4; i++)
		put_msg(dir2, "F");
	a = unit_index_open();
	assert_int_equal(mail_index_open(dir2, NULL, &b, &error), 0);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(mail_index_get_flags_table(a, &t, &error), 0);
		assert_int_equal(t.count, 10);
		assert_int_equal(t.flags[0], MAIL_INDEX_SEEN);
		assert_int_equal(mail_index_get_flags_table(b, &t, &error), 0);
		assert_int_equal(t.count, 4);
		assert_int_equal(t.flags[0], MAIL_INDEX_FLAGGED);
	}
	/* dropping another index's table keeps this one; dropping its own
	 * frees it, and the next call makes it again */
	mail_index_drop_flags_table(a);
	assert_int_equal(mail_index_get_flags_table(b, &t, &error), 0);
	assert_int_equal(t.count, 4);
	mail_index_drop_flags_table(b);
	check_index(b);
	/* a closed handle's table is not taken for a new one's */
	mail_index_close(&b);
	assert_int_equal(mail_index_open(dir2, NULL, &b, &error), 0);
	put_msg(dir2, "");
	assert_true(mail_index_sync(b, 0, &error) >= 0);
	check_index(b);
	mail_index_close(&b);
	mail_index_close(&a);
	free(dir2);
}

static int lookup_cb(const struct mail_index_record *rec, void *context)
{
	struct walk *w = context;

	w->uid[w->count] = rec->uid;
	w->flags[w->count++] = rec->flags;
	return w->count == 3 ? 7 : 0;
}

/* mail_index_lookup_uids_flags(): the order given, missing UIDs
 * skipped, the callback's value stops it. */
static void test_lookup_uids(void **state)
{
	struct mail_index *index;
	struct walk *w = xcalloc(1, sizeof(*w));
	const char *error;

	(void)state;
	for (int i = 0; i < 6; i++)
		put_msg(unit_index_dir, i % 2 == 0 ? "S" : "F");
	index = unit_index_open();
	uint32_t uids[] = { 5, 999, 2, 4, 1 };
	assert_int_equal(mail_index_lookup_uids_flags(
				 index, uids, 2, MAIL_INDEX_READ_FLAGS_ONLY,
				 lookup_cb, w, &error),
			 0);
	assert_int_equal(w->count, 1);
	assert_int_equal(w->uid[0], 5);
	w->count = 0;
	assert_int_equal(mail_index_lookup_uids_flags(index, uids, 5, 0,
						      lookup_cb, w, &error),
			 7);
	assert_int_equal(w->count, 3);
	assert_int_equal(w->uid[0], 5);
	assert_int_equal(w->uid[1], 2);
	assert_int_equal(w->uid[2], 4);
	assert_int_equal(w->flags[1], MAIL_INDEX_FLAGGED);
	assert_int_equal(mail_index_lookup_uids_flags(index, uids, 0, 0,
						      lookup_cb, w, &error),
			 0);
	mail_index_close(&index);
	free(w);
}

/* A malformed record (truncated, wrong lengths, no NUL) is skipped by
 * the light walk and the table alike, as by the full walk. */
static void test_damaged_record(void **state)
{
	struct mail_index *index;
	const char *error;
	MDB_txn *txn;
	static const uint8_t junk[][4] = { { 1, 2, 3, 4 } };

	(void)state;
	for (int i = 0; i < 5; i++)
		put_msg(unit_index_dir, "S");
	index = unit_index_open();
	/* uid 3: a value too short; uid 4: its name without the NUL (no
	 * MODSEQ changes: a table made before would not see it) */
	assert_int_equal(mdb_txn_begin(index->env->env, NULL, 0, &txn), 0);
	uint8_t k[4];
	MDB_val key = { 4, k }, val = { sizeof(junk[0]), (void *)junk[0] };
	mail_index_be32(k, 3);
	assert_int_equal(mdb_put(txn, index->env->db_msgs, &key, &val, 0), 0);
	mail_index_be32(k, 4);
	MDB_val old;
	assert_int_equal(mdb_get(txn, index->env->db_msgs, &key, &old), 0);
	uint8_t *copy = xmemdup(old.mv_data, old.mv_size);
	struct mail_index_rec_disk d;
	memcpy(&d, copy, sizeof(d));
	copy[sizeof(d) + d.kw_count * 4 + d.name_len] = 'x';
	MDB_val bad = { old.mv_size, copy };
	assert_int_equal(mdb_put(txn, index->env->db_msgs, &key, &bad, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	free(copy);
	struct walk *w = xcalloc(1, sizeof(*w));
	w->light_name_empty = true;
	assert_int_equal(mail_index_iterate_flags(index, 1, UINT32_MAX,
						  MAIL_INDEX_READ_FLAGS_ONLY,
						  walk_cb, w, &error), 0);
	assert_int_equal(w->count, 3);
	struct mail_index_flags_table t;
	assert_int_equal(mail_index_get_flags_table(index, &t, &error), 0);
	assert_int_equal(t.count, 3);
	assert_int_equal(t.uids[2], 5);
	free(w);
	mail_index_close(&index);
}

/* Writes val as the flags snapshot (meta key "flags"), behind the API. */
static void put_snapshot(struct mail_index *index, const void *data,
			 size_t len)
{
	MDB_txn *txn;
	MDB_val key = { 5, (void *)"flags" }, val = { len, (void *)data };

	assert_int_equal(mdb_txn_begin(index->env->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_put(txn, index->env->db_meta, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

/* The snapshot kept in the index of a large folder: a new handle's first
 * table starts from it (no pass: nothing is wanted after it) and follows
 * the changes made since; one that is damaged, or of another build, is
 * not used (a pass, and a new snapshot wanted). */
static void test_snapshot(void **state)
{
	struct mail_index *a, *b;
	const char *error;

	(void)state;
	for (int i = 0; i < 2100; i++)
		put_msg(unit_index_dir, i % 3 == 0 ? "S" : "FS");
	a = unit_index_open();
	assert_true(mail_index_flags_snapshot_wanted(a));	/* none yet */
	assert_int_equal(mail_index_flags_snapshot_save(a, &error), 0);
	assert_false(mail_index_flags_snapshot_wanted(a));
	/* the thread's table is left as it was: not kept */
	assert_false(mail_index_flags_table_is_kept(a));
	mail_index_close(&a);
	b = unit_index_open();
	assert_false(mail_index_flags_snapshot_wanted(b));	/* fresh */
	check_index(b);
	assert_false(mail_index_flags_snapshot_wanted(b));	/* no pass */
	/* changes by another handle: the snapshot and those changes */
	mail_index_drop_flags_table(b);
	a = unit_index_open();
	srand(7);
	for (int k = 0; k < 30; k++)
		random_change(a, (unsigned)rand());
	mail_index_close(&a);
	assert_true(mail_index_sync(b, 0, &error) >= 0);
	check_index(b);
	assert_false(mail_index_flags_snapshot_wanted(b));
	/* a second save keeps the first: it is not far behind */
	MDB_txn *txn;
	MDB_val key = { 5, (void *)"flags" }, val;
	assert_int_equal(mdb_txn_begin(b->env->env, NULL, MDB_RDONLY, &txn),
			 0);
	assert_int_equal(mdb_get(txn, b->env->db_meta, &key, &val), 0);
	uint8_t *first = xmemdup(val.mv_data, val.mv_size);
	size_t first_len = val.mv_size;
	mdb_txn_abort(txn);
	assert_int_equal(mail_index_flags_snapshot_save(b, &error), 0);
	assert_int_equal(mdb_txn_begin(b->env->env, NULL, MDB_RDONLY, &txn),
			 0);
	assert_int_equal(mdb_get(txn, b->env->db_meta, &key, &val), 0);
	assert_int_equal(val.mv_size, first_len);
	assert_memory_equal(val.mv_data, first, first_len);
	mdb_txn_abort(txn);
	/* damaged: UIDs out of order, then cut short */
	mail_index_drop_flags_table(b);
	size_t uids_at = first_len - 2100 * 5;
	uint32_t u;
	memcpy(&u, first + uids_at, 4);
	memcpy(first + uids_at, first + uids_at + 4, 4);
	memcpy(first + uids_at + 4, &u, 4);
	put_snapshot(b, first, first_len);
	check_index(b);
	assert_true(mail_index_flags_snapshot_wanted(b));	/* a pass */
	mail_index_drop_flags_table(b);
	put_snapshot(b, first, first_len - 1);
	b->flags_snapshot_wanted = false;
	check_index(b);
	assert_true(mail_index_flags_snapshot_wanted(b));
	free(first);
	mail_index_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table_follows_changes,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_table_outside_change,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_table_many_keywords,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_table_two_folders,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_lookup_uids,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_record,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot,
			unit_index_setup, unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
