/* test-mail-index-bulk.c: unit tests for the first build's paths: the
 * in-place reads from a UID on (the first SELECT's \Recent pass), the
 * arrival bit they report, bulk writes through kept cursors whose keys
 * come out of order (the fallback from appending), and \Recent claimed
 * by the build's own commit (mail_index_open_claim()). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lmdb.h>
#include "maildir.h"
#include "mail-index.h"
#include "mail-index-bulk.h"
#include "mail-index-private.h"
#include "mem.h"
#include "unit-index.h"

struct seen {
	uint32_t uids[16];
	bool in_new[16], arrived[16];
	size_t count;
	uint32_t stop_at;	/* return 7 at this UID (0: never) */
};

static int seen_cb(const struct mail_index_brief *brief, void *context)
{
	struct seen *s = context;

	assert_true(s->count < 16);
	s->uids[s->count] = brief->uid;
	s->in_new[s->count] = brief->in_new;
	s->arrived[s->count] = brief->seen_in_new;
	s->count++;
	return brief->uid == s->stop_at ? 7 : 0;
}

/* Three messages in cur/, two in new/: UIDs 1-3 for cur/ (older names),
 * 4-5 for new/. */
static struct mail_index *five_messages(void)
{
	unit_index_put("cur", "1600000001.M1P1.host,S=2:2,S", "a\n");
	unit_index_put("cur", "1600000002.M2P1.host,S=2:2,", "b\n");
	unit_index_put("cur", "1600000003.M3P1.host,S=2:2,F", "c\n");
	unit_index_put("new", "1600000004.M4P1.host,S=2", "d\n");
	unit_index_put("new", "1600000005.M5P1.host,S=2", "e\n");
	return unit_index_open();
}

static void test_brief_from(void **state)
{
	struct mail_index *index;
	struct seen s;
	const char *error;
	uint32_t move[1];

	(void)state;
	index = five_messages();

	/* From 0 and 1: everything, in UID order. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(mail_index_iterate_brief_from(index, 0, seen_cb, &s,
						       &error), 0);
	assert_int_equal(s.count, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(s.uids[i], i + 1);
	assert_false(s.in_new[0] || s.in_new[1] || s.in_new[2]);
	assert_false(s.arrived[0] || s.arrived[1] || s.arrived[2]);
	assert_true(s.in_new[3] && s.in_new[4]);
	assert_true(s.arrived[3] && s.arrived[4]);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mail_index_iterate_brief_from(index, 1, seen_cb, &s,
						       &error), 0);
	assert_int_equal(s.count, 5);

	/* From the middle, and from a UID between two messages. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(mail_index_iterate_brief_from(index, 4, seen_cb, &s,
						       &error), 0);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.uids[0], 4);
	assert_int_equal(s.uids[1], 5);

	/* Past the last UID and at the top of the range: nothing. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(mail_index_iterate_brief_from(index, 6, seen_cb, &s,
						       &error), 0);
	assert_int_equal(s.count, 0);
	assert_int_equal(mail_index_iterate_brief_from(index, UINT32_MAX,
						       seen_cb, &s, &error), 0);
	assert_int_equal(s.count, 0);

	/* The callback's value stops the walk and is returned. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(mail_index_iterate_brief_from(index, 1, seen_cb, &s,
						       &error), 7);
	assert_int_equal(s.count, 2);

	/* Moved to cur/: no longer in new/, still arrived. */
	move[0] = 4;
	assert_int_equal(mail_index_move_to_cur(index, move, 1, &error), 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mail_index_iterate_brief_from(index, 4, seen_cb, &s,
						       &error), 0);
	assert_int_equal(s.count, 2);
	assert_false(s.in_new[0]);
	assert_true(s.arrived[0]);
	assert_true(s.in_new[1]);
	unit_index_assert_true(index);
	mail_index_close(&index);
}

/* Records whose keys come in descending order: the first append is
 * refused (MDB_KEYEXIST) and every later one goes the usual way through
 * the same cursors; all are readable after the commit, and the header
 * counts them. */
static void test_bulk_out_of_order(void **state)
{
	struct mail_index *index;
	struct mail_index_bulk bulk;
	struct mail_index_hdr hdr;
	struct mail_index_status st;
	struct seen s;
	const char *error;
	MDB_txn *txn;
	char name[64];

	(void)state;
	index = five_messages();
	/* The files exist (the index never lies about the maildir). */
	for (uint32_t uid = 9; uid >= 6; uid--) {
		snprintf(name, sizeof(name), "16000000%02u.M%uP1.host,S=2:2,",
			 10 + uid, uid);
		unit_index_put("cur", name, "f\n");
	}
	assert_int_equal(mail_index_write_begin(index, &txn, &error), 0);
	assert_int_equal(mail_index_hdr_get(index, txn, &hdr, &error), 1);
	memset(&bulk, 0, sizeof(bulk));
	for (uint32_t uid = 9; uid >= 6; uid--) {
		struct mail_index_rec_disk d;

		memset(&d, 0, sizeof(d));
		d.uid = uid;
		d.modseq = hdr.highestmodseq + 1;
		d.size = 2;
		/* Base names descend too (the "bases" database). */
		snprintf(name, sizeof(name), "16000000%02u.M%uP1.host,S=2:2,",
			 10 + uid, uid);
		assert_int_equal(mail_index_bulk_add(index, txn, &bulk, &hdr,
						     &d, name, strlen(name),
						     NULL, NULL, &error),
				 0);
	}
	assert_true(bulk.msgs_unordered);
	assert_true(bulk.bases_unordered);
	assert_true(bulk.modseq_unordered);
	mail_index_bulk_end(&bulk);
	assert_null(bulk.c_msgs);
	assert_null(bulk.c_bases);
	assert_null(bulk.c_modseq);
	mail_index_bulk_end(&bulk); /* twice: harmless */
	hdr.uidnext = 10;
	hdr.highestmodseq++;
	assert_int_equal(mail_index_hdr_put(index, txn, &hdr, &error), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(mail_index_iterate_brief_from(index, 5, seen_cb, &s,
						       &error), 0);
	assert_int_equal(s.count, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(s.uids[i], 5 + i);
	unit_index_status(index, &st);
	assert_int_equal(st.messages, 9);
	unit_index_assert_true(index);
	assert_int_equal(unit_index_uid_of(index, "1600000016.M6P1.host,S=2"),
			 6);
	assert_int_equal(unit_index_uid_of(index, "1600000019.M9P1.host,S=2"),
			 9);
	mail_index_close(&index);
}

/* A name too long is refused before anything is written. */
static void test_bulk_refuses_long_name(void **state)
{
	struct mail_index *index;
	struct mail_index_bulk bulk;
	struct mail_index_hdr hdr;
	struct mail_index_rec_disk d;
	const char *error = NULL;
	MDB_txn *txn;
	char *name;
	int rc = -1;

	(void)state;
	index = five_messages();
	name = xmalloc(MAILDIR_NAME_MAX + 2);
	memset(name, 'x', MAILDIR_NAME_MAX + 1);
	name[MAILDIR_NAME_MAX + 1] = '\0';
	assert_int_equal(mail_index_write_begin(index, &txn, &error), 0);
	assert_int_equal(mail_index_hdr_get(index, txn, &hdr, &error), 1);
	memset(&bulk, 0, sizeof(bulk));
	memset(&d, 0, sizeof(d));
	d.uid = 6;
	assert_int_equal(mail_index_bulk_add(index, txn, &bulk, &hdr, &d, name,
					     MAILDIR_NAME_MAX + 1, NULL, &rc,
					     &error),
			 -1);
	assert_int_equal(rc, 0);
	assert_non_null(error);
	assert_int_equal(hdr.messages, 5);
	mail_index_bulk_end(&bulk);
	mdb_txn_abort(txn);
	free(name);
	mail_index_close(&index);
}

static size_t last_txnid(struct mail_index *index)
{
	MDB_envinfo info;

	assert_int_equal(mdb_env_info(index->env->env, &info), 0);
	return info.me_last_txnid;
}

/* The session that builds the index claims in the build's commit: the
 * arrivals (UIDs 4 and 5) are its \Recent ones, nothing is left for the
 * next session, and no second write was made for it. */
static void test_open_claim_build(void **state)
{
	struct mail_index *a, *b;
	struct mail_index_status st;
	const char *error;
	uint32_t first = 0;
	size_t plain;
	char *path;

	(void)state;
	unit_index_put("cur", "1600000001.M1P1.host,S=2:2,S", "a\n");
	unit_index_put("new", "1600000004.M4P1.host,S=2", "d\n");
	unit_index_put("new", "1600000005.M5P1.host,S=2", "e\n");
	/* The transactions of a build without a claim, for comparison. */
	a = unit_index_open();
	plain = last_txnid(a);
	mail_index_close(&a);
	path = xasprintf("%s/courier-suite.index", unit_index_dir);
	assert_int_equal(unlink(path), 0);
	free(path);

	assert_int_equal(mail_index_open_claim(unit_index_dir, NULL, &a,
					       &first, &error), 0);
	assert_int_equal(first, 1);
	assert_int_equal(last_txnid(a), plain); /* the build alone */
	unit_index_status(a, &st);
	assert_int_equal(st.uidnext, 4);
	assert_int_equal(st.first_recent_uid, 4);
	unit_index_assert_true(a);

	/* The next session: nothing to claim, nothing written. */
	assert_int_equal(mail_index_open_claim(unit_index_dir, NULL, &b,
					       &first, &error), 0);
	assert_int_equal(first, 4);
	assert_int_equal(last_txnid(b), plain);
	mail_index_close(&b);

	/* A delivery: the next claim is the usual one (a write). */
	unit_index_deliver("f\n", NULL);
	assert_int_equal(mail_index_open_claim(unit_index_dir, NULL, &b,
					       &first, &error), 0);
	assert_int_equal(first, 4);
	unit_index_status(b, &st);
	assert_int_equal(st.uidnext, 5);
	assert_int_equal(st.first_recent_uid, 5);
	mail_index_close(&b);
	mail_index_close(&a);
}

/* mail_index_open() does not claim when it builds: the first claimer
 * afterwards gets every arrival. */
static void test_open_builds_without_claim(void **state)
{
	struct mail_index *a, *b;
	struct mail_index_status st;
	const char *error;
	uint32_t first = 0;

	(void)state;
	a = five_messages();
	unit_index_status(a, &st);
	assert_int_equal(st.first_recent_uid, 1);
	assert_int_equal(mail_index_open_claim(unit_index_dir, NULL, &b,
					       &first, &error), 0);
	assert_int_equal(first, 1);
	unit_index_status(b, &st);
	assert_int_equal(st.first_recent_uid, 6);
	mail_index_close(&b);
	mail_index_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_brief_from,
						unit_index_setup,
						unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_bulk_out_of_order,
						unit_index_setup,
						unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_bulk_refuses_long_name,
						unit_index_setup,
						unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_open_claim_build,
						unit_index_setup,
						unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_open_builds_without_claim,
						unit_index_setup,
						unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
