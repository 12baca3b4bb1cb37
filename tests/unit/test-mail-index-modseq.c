/* test-mail-index-modseq.c: unit tests for the mail index's MODSEQs:
 * EXPUNGE and the log of expunged UIDs (QRESYNC's VANISHED), and the
 * changes since a MODSEQ from the "modseq" database, made again for an
 * index written before it existed. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <lmdb.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "str.h"
#include "unit-index.h"

static void test_expunge_and_log(void **state)
{
	struct mail_index *index;
	struct mail_index_status st;
	struct mail_index_record rec;
	const char *error;
	uint32_t del[2] = { 2, 3 }, *uids;
	uint64_t modseq, m1;
	size_t n;

	(void)state;
	unit_index_put("cur", "1700000001.M1P1.host:2,", "1\n");
	unit_index_put("cur", "1700000002.M1P1.host:2,T", "2\n");
	unit_index_put("cur", "1700000003.M1P1.host:2,", "3\n");
	unit_index_put("cur", "1700000004.M1P1.host:2,", "4\n");
	index = unit_index_open();
	unit_index_status(index, &st);
	m1 = st.highestmodseq;
	assert_int_equal(mail_index_cache_put(index, 2, "envelope", "E2", 2,
					      &error),
			 1);
	assert_int_equal(mail_index_expunge(index, del, 2, &modseq, &error),
			 2);
	assert_true(modseq > m1);
	assert_false(unit_index_exists("cur", "1700000002.M1P1.host:2,T"));
	assert_false(unit_index_exists("cur", "1700000003.M1P1.host:2,"));
	assert_int_equal(mail_index_lookup_uid(index, 2, &rec, &error), 0);
	/* Again: nothing left to expunge. */
	assert_int_equal(mail_index_expunge(index, del, 2, NULL, &error), 0);
	{
		struct str *s = str_new(16);

		assert_int_equal(mail_index_cache_get(index, 2, "envelope", s,
						      &error),
				 0);
		str_destroy(&s);
	}
	/* Then one more, later. */
	del[0] = 4;
	assert_int_equal(mail_index_expunge(index, del, 1, NULL, &error), 1);
	assert_int_equal(mail_index_expunged_since(index, m1, &uids, &n,
						   &error),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(uids[0], 2);
	assert_int_equal(uids[1], 3);
	assert_int_equal(uids[2], 4);
	free(uids);
	assert_int_equal(mail_index_expunged_since(index, modseq, &uids, &n,
						   &error),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 4);
	free(uids);
	unit_index_status(index, &st);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.deleted, 0);
	/* Our own expunges need no rescan to be right, and a rescan finds
	 * nothing more. */
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);
	mail_index_close(&index);
}

struct changed_set {
	uint32_t uids[16];
	size_t count;
};

static int changed_cb(const struct mail_index_record *rec, void *context)
{
	struct changed_set *set = context;

	if (set->count < N_ELEMENTS(set->uids))
		set->uids[set->count] = rec->uid;
	set->count++;
	return 0;
}

/* The UIDs mail_index_iterate_changed() gives above modseq, as "1,3,". */
static char *changed_list(struct mail_index *index, uint64_t modseq)
{
	struct changed_set set = { .count = 0 };
	const char *error;
	struct str out;

	assert_int_equal(mail_index_iterate_changed(index, modseq, changed_cb,
						    &set, &error),
			 0);
	str_init(&out, 32);
	for (size_t i = 0; i < set.count && i < N_ELEMENTS(set.uids); i++)
		str_printfa(&out, "%u,", set.uids[i]);
	return str_steal(&out);
}

/* Drops the "modseq" database straight from the LMDB file, as an index
 * written before it existed. */
static void drop_modseq_db(void)
{
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn = unit_index_raw_begin("modseq", &env, &dbi);

	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	unit_index_raw_commit(env, txn);
}

/* The changes since a MODSEQ come from the "modseq" database: in UID
 * order, each message once with its last MODSEQ, expunged ones gone;
 * an index without the database gets it made at the next open. */
static void test_changed_since(void **state)
{
	struct mail_index *index;
	struct mail_index_status st;
	uint64_t m0, m1;
	uint32_t uid;
	const char *error;
	char *got;

	(void)state;
	assert_int_equal(unit_index_setup_stamps(0), 0);
	index = unit_index_stamp_folder(8);
	unit_index_status(index, &st);
	m0 = st.highestmodseq;
	got = changed_list(index, 0);
	assert_string_equal(got, "1,2,3,4,5,6,7,8,");
	free(got);
	got = changed_list(index, m0);
	assert_string_equal(got, "");
	free(got);
	unit_index_store_seen(index, 6, true);
	unit_index_store_seen(index, 2, true);
	unit_index_status(index, &st);
	m1 = st.highestmodseq;
	unit_index_store_seen(index, 6, false);
	unit_index_store_seen(index, 4, true);
	got = changed_list(index, m0);
	assert_string_equal(got, "2,4,6,");
	free(got);
	got = changed_list(index, m1);
	assert_string_equal(got, "4,6,");
	free(got);
	uid = 4;
	assert_int_equal(mail_index_expunge(index, &uid, 1, NULL, &error), 1);
	got = changed_list(index, m0);
	assert_string_equal(got, "2,6,");
	free(got);
	mail_index_close(&index);

	/* An index of before the database: made from the records. */
	drop_modseq_db();
	index = unit_index_open();
	got = changed_list(index, m0);
	assert_string_equal(got, "2,6,");
	free(got);
	got = changed_list(index, 0);
	assert_string_equal(got, "1,2,3,5,6,7,8,");
	free(got);
	unit_index_store_seen(index, 7, true);
	got = changed_list(index, m1);
	assert_string_equal(got, "6,7,");
	free(got);
	unit_index_assert_true(index);
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_expunge_and_log,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_teardown(test_changed_since,
			unit_index_teardown_stamps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
