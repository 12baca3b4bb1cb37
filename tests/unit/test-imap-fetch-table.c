/* test-imap-fetch-table.c: unit tests for what FETCH reads from the mail
 * index: each message's MODSEQ in the flags table (modseqs[]) against the
 * records after changes through another handle (flags, keywords,
 * expunges, new mail, many changes at once);
 * mail_index_flags_table_is_kept() for this handle, another and a dropped
 * table; and the records of a list of UIDs read by one cursor
 * (mail_index_lookup_uids_flags()) against a lookup of each. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mail-index.h"
#include "mem.h"
#include "unit-index.h"

static unsigned msg_serial;

/* Writes a message into the test's cur/ (flags: maildir letters) or
 * new/ (flags NULL). */
static void put_msg(const char *flags)
{
	char name[96];
	unsigned n = ++msg_serial;

	if (flags == NULL) {
		snprintf(name, sizeof(name), "1700000000.M%uP1.fetch", n);
		unit_index_put("new", name, "a\n\nb\n");
	} else {
		snprintf(name, sizeof(name), "1700000000.M%uP1.fetch:2,%s", n,
			 flags);
		unit_index_put("cur", name, "a\n\nb\n");
	}
}

struct rec_list {
	uint32_t *uids;
	uint8_t *flags;
	uint64_t *modseqs;
	size_t count, alloc;
};

static int list_cb(const struct mail_index_record *rec, void *context)
{
	struct rec_list *l = context;

	if (l->count == l->alloc) {
		l->alloc = l->alloc == 0 ? 256 : l->alloc * 2;
		l->uids = xreallocarray(l->uids, l->alloc, sizeof(*l->uids));
		l->flags = xreallocarray(l->flags, l->alloc,
					 sizeof(*l->flags));
		l->modseqs = xreallocarray(l->modseqs, l->alloc,
					   sizeof(*l->modseqs));
	}
	l->uids[l->count] = rec->uid;
	l->flags[l->count] = rec->flags;
	l->modseqs[l->count] = rec->modseq;
	l->count++;
	return 0;
}

/* The table of index agrees with a walk of its records, MODSEQs
 * included; the handle keeps it afterwards. */
static void check_table(struct mail_index *index)
{
	struct rec_list l = { 0 };
	struct mail_index_flags_table t;
	struct mail_index_status st;
	const char *error;

	assert_int_equal(mail_index_iterate_flags(index, 1, UINT32_MAX,
						  MAIL_INDEX_READ_FLAGS_ONLY,
						  list_cb, &l, &error), 0);
	assert_int_equal(mail_index_get_flags_table(index, &t, &error), 0);
	assert_true(mail_index_flags_table_is_kept(index));
	assert_int_equal(t.count, l.count);
	assert_non_null(t.modseqs);
	uint64_t highest = 0;
	for (size_t i = 0; i < l.count; i++) {
		assert_int_equal(t.uids[i], l.uids[i]);
		assert_int_equal(t.flags[i], l.flags[i]);
		assert_true(t.modseqs[i] == l.modseqs[i]);
		assert_true(t.modseqs[i] > 0);
		if (t.modseqs[i] > highest)
			highest = t.modseqs[i];
	}
	unit_index_status(index, &st);
	assert_true(t.highestmodseq == st.highestmodseq);
	assert_true(highest <= st.highestmodseq);
	free(l.uids);
	free(l.flags);
	free(l.modseqs);
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

/* One change through index: a flag or keyword (each a new MODSEQ), an
 * expunge, or two new messages. */
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
		put_msg((r & 16) != 0 ? "S" : NULL);
		put_msg("FR");
		unit_index_sync_ok(index);
		break;
	}
}

static void test_table_modseqs_follow_changes(void **state)
{
	struct mail_index *a, *b;

	(void)state;
	for (int i = 0; i < 400; i++)
		put_msg(i % 10 == 0 ? NULL : i % 3 == 0 ? "S" : "FS");
	a = unit_index_open();
	b = unit_index_open();
	check_table(a);
	srand(7);
	for (int round = 0; round < 30; round++) {
		int n = 1 + rand() % 6;

		for (int k = 0; k < n; k++)
			random_change(b, (unsigned)rand());
		unit_index_sync_ok(a);
		/* brought up to date from the changes since, MODSEQs too */
		check_table(a);
	}
	/* many changes at once: rebuilt by a pass */
	for (int k = 0; k < 150; k++)
		random_change(b, (unsigned)rand() & ~3u);
	check_table(a);
	mail_index_close(&b);
	mail_index_close(&a);
}

static void test_table_kept(void **state)
{
	struct mail_index *a, *b;
	struct mail_index_flags_table t;
	const char *error;

	(void)state;
	for (int i = 0; i < 50; i++)
		put_msg("S");
	a = unit_index_open();
	b = unit_index_open();
	/* a new handle: no table of it yet (another test's was dropped) */
	assert_false(mail_index_flags_table_is_kept(a));
	assert_int_equal(mail_index_get_flags_table(a, &t, &error), 0);
	assert_int_equal(t.count, 50);
	assert_true(mail_index_flags_table_is_kept(a));
	/* one table a thread: the other handle's replaces it */
	assert_false(mail_index_flags_table_is_kept(b));
	assert_int_equal(mail_index_get_flags_table(b, &t, &error), 0);
	assert_true(mail_index_flags_table_is_kept(b));
	assert_false(mail_index_flags_table_is_kept(a));
	/* a change keeps it (brought up to date by the next call) */
	random_change(a, 1);
	assert_true(mail_index_flags_table_is_kept(b));
	check_table(b);
	/* dropped: no longer kept; dropping another's does nothing */
	mail_index_drop_flags_table(a);
	assert_true(mail_index_flags_table_is_kept(b));
	mail_index_drop_flags_table(b);
	assert_false(mail_index_flags_table_is_kept(b));
	mail_index_close(&b);
	mail_index_close(&a);
}

/* mail_index_lookup_uids_flags() (a FETCH's records, read with one
 * cursor that steps forward from the last one) gives what a lookup of
 * each UID gives, in the order asked, for runs with gaps (expunged
 * messages), repeats, UIDs going down, beyond the last, and 0. */
static void test_lookup_uids_steps(void **state)
{
	struct mail_index *index;
	struct rec_list l = { 0 };
	struct mail_index_record rec;
	const char *error;
	uint32_t uids[600], want[600];
	size_t n = 0, nwant = 0;

	(void)state;
	for (int i = 0; i < 300; i++)
		put_msg(i % 4 == 0 ? "S" : "F");
	index = unit_index_open();
	/* expunge every seventh and a run of twenty */
	for (uint32_t uid = 1; uid <= 300; uid++) {
		if (uid % 7 == 0 || (uid > 100 && uid <= 120))
			assert_true(mail_index_expunge(index, &uid, 1, NULL,
						       &error) >= 0);
	}
	srand(5);
	for (int i = 0; i < 600; i++) {
		int r = rand() % 10;
		uint32_t prev = n > 0 ? uids[n - 1] : 1;

		uids[n++] = r < 6 ? prev + 1 + (uint32_t)(rand() % 3) :
			    r < 7 ? prev :
			    r < 8 ? (uint32_t)(rand() % 320) :
			    r < 9 ? prev + 9 + (uint32_t)(rand() % 30) :
				    (prev > 5 ? prev - 5 : 0);
	}
	for (size_t i = 0; i < n; i++) {
		if (uids[i] != 0 &&
		    mail_index_lookup_uid_flags(index, uids[i],
						MAIL_INDEX_READ_NO_DATE, &rec,
						&error) > 0)
			want[nwant++] = uids[i];
	}
	assert_true(nwant > 100 && nwant < n);
	for (int mode = 0; mode < 2; mode++) {
		l.count = 0;
		assert_int_equal(mail_index_lookup_uids_flags(
					 index, uids, n,
					 mode == 0 ? MAIL_INDEX_READ_FLAGS_ONLY :
						     MAIL_INDEX_READ_NO_DATE,
					 list_cb, &l, &error),
				 0);
		assert_int_equal(l.count, nwant);
		for (size_t i = 0; i < nwant; i++) {
			assert_int_equal(l.uids[i], want[i]);
			assert_int_equal(mail_index_lookup_uid_flags(
						 index, want[i],
						 MAIL_INDEX_READ_NO_DATE, &rec,
						 &error),
					 1);
			assert_int_equal(l.flags[i], rec.flags);
			assert_true(l.modseqs[i] == rec.modseq);
		}
	}
	free(l.uids);
	free(l.flags);
	free(l.modseqs);
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_table_modseqs_follow_changes, unit_index_setup,
			unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_table_kept,
						unit_index_setup,
						unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_lookup_uids_steps,
						unit_index_setup,
						unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
