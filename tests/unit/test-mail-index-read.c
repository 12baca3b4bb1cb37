/* test-mail-index-read.c: unit tests for the mail index's reads: the
 * walk over a UID range and its early stop, \Recent claimed once, new/
 * to cur/, CHANGEDSINCE, opening a message and its RFC822.SIZE (also
 * after a rename behind the index's back), the UIDL, and the cache of
 * values (one at a time and in batches, with its size limit). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "str.h"
#include "unit-index.h"

static int count_cb(const struct mail_index_record *rec, void *context)
{
	size_t *n = context;

	(void)rec;
	(*n)++;
	return 0;
}

static int stop_cb(const struct mail_index_record *rec, void *context)
{
	(void)context;
	return rec->uid == 2 ? 42 : 0;
}

static void test_iterate_recent_move_cache(void **state)
{
	struct mail_index *index;
	struct mail_index_status st;
	struct mail_index_record rec;
	struct mail_index_change ch = { .mode = MAIL_INDEX_MODIFY_ADD,
					.flags = MAIL_INDEX_SEEN };
	const char *error;
	uint32_t first, all[4] = { 1, 2, 3, 4 }, one = 3;
	size_t n = 0;
	struct str *s;
	char uidl[MAIL_INDEX_UIDL_MAX];
	int fd;
	uint64_t vsize;

	(void)state;
	unit_index_put("new", "1700000001.M1P1.host", "1\n");
	unit_index_put("new", "1700000002.M1P1.host", "22\n");
	unit_index_put("new", "1700000003.M1P1.host", "line\nline\r\n");
	unit_index_put("cur", "1700000004.M1P1.host:2,", "4444\n");
	index = unit_index_open();
	assert_int_equal(mail_index_iterate(index, 2, 3, count_cb, &n, &error),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(mail_index_iterate(index, 1, UINT32_MAX, stop_cb,
					    NULL, &error),
			 42);
	n = 0;
	assert_int_equal(mail_index_iterate(index, 3, 2, count_cb, &n, &error),
			 0);
	assert_int_equal(n, 0);

	/* \Recent: the first claim gets them all, the next none. */
	assert_int_equal(mail_index_claim_recent(index, &first, &error), 0);
	assert_int_equal(first, 1);
	assert_int_equal(mail_index_claim_recent(index, &first, &error), 0);
	assert_int_equal(first, 5);

	/* new/ to cur/. */
	assert_int_equal(mail_index_move_to_cur(index, all, 4, &error), 3);
	assert_true(unit_index_exists("cur", "1700000001.M1P1.host:2,"));
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	assert_false(rec.in_new);
	assert_true(rec.seen_in_new);
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);

	/* CHANGEDSINCE. */
	unit_index_status(index, &st);
	assert_int_equal(mail_index_store(index, &one, 1, &ch, NULL, &error),
			 1);
	n = 0;
	assert_int_equal(mail_index_iterate_changed(index, st.highestmodseq,
						    count_cb, &n, &error),
			 0);
	assert_int_equal(n, 1);

	/* Opening and RFC822.SIZE, also after a rename behind our back. */
	unit_index_rename("cur/1700000003.M1P1.host:2,S",
			  "cur/1700000003.M1P1.host:2,RS");
	assert_int_equal(mail_index_open_message(index, 3, &fd, &error), 1);
	close(fd);
	assert_int_equal(mail_index_get_vsize(index, 3, &vsize, &error), 1);
	assert_int_equal(vsize, 12);
	/* Counted without a write of its own: stored by the next one. */
	assert_int_equal(mail_index_lookup_uid(index, 3, &rec, &error), 1);
	assert_false(rec.has_vsize);
	assert_string_equal(rec.name, "1700000003.M1P1.host:2,RS");
	assert_int_equal(mail_index_get_vsize(index, 77, &vsize, &error), 0);
	{
		uint32_t want[3] = { 1, 77, 4 };
		uint64_t got[3];
		struct mail_index_record r4;

		assert_int_equal(mail_index_get_vsizes(index, want, 3, got,
						       &error),
				 2);
		assert_int_equal(got[0], 3);
		assert_int_equal(got[1], UINT64_MAX);
		assert_int_equal(got[2], 6);
		assert_int_equal(mail_index_lookup_uid(index, 4, &r4, &error),
				 1);
		assert_true(r4.has_vsize);
		/* That write stored the size of message 3 as well. */
		assert_int_equal(mail_index_lookup_uid(index, 3, &r4, &error),
				 1);
		assert_true(r4.has_vsize);
		assert_int_equal(r4.vsize, 12);
	}

	/* UIDL: "UID<uid>-<uidvalidity>". */
	{
		char want[64];

		snprintf(want, sizeof(want), "UID3-%" PRIu32, st.uidvalidity);
		assert_string_equal(mail_index_record_uidl(index, &rec, uidl),
				    want);
	}

	/* Cache. */
	s = str_new(16);
	assert_int_equal(mail_index_cache_put(index, 1, "envelope", "(ENV)", 5,
					      &error),
			 1);
	assert_int_equal(mail_index_cache_put(index, 1, "bodystructure",
					      "(BS)", 4, &error),
			 1);
	assert_int_equal(mail_index_cache_put(index, 1, "envelope", "(ENV2)",
					      6, &error),
			 1);
	assert_int_equal(mail_index_cache_put(index, 99, "envelope", "x", 1,
					      &error),
			 0);
	assert_int_equal(mail_index_cache_put(index, 1, "", "x", 1, &error),
			 -1);
	assert_int_equal(mail_index_cache_get(index, 1, "envelope", s, &error),
			 1);
	assert_string_equal(str_c(s), "(ENV2)");
	str_truncate(s, 0);
	assert_int_equal(mail_index_cache_get(index, 1, "bodystructure", s,
					      &error),
			 1);
	assert_string_equal(str_c(s), "(BS)");
	assert_int_equal(mail_index_cache_get(index, 2, "envelope", s, &error),
			 0);
	str_set_limit(s, 5);
	str_truncate(s, 0);
	assert_int_equal(mail_index_cache_get(index, 1, "envelope", s, &error),
			 -1);
	str_destroy(&s);

	/* A batch: several values a message (its record looked up once),
	 * a message gone, and a value over max_cache_blob (16 MB) that is
	 * skipped without losing the others; alone, it fails. */
	{
		size_t big_len = 16 * 1024 * 1024 + 1;
		char *big = xcalloc(1, big_len);
		struct mail_index_cache_entry e[] = {
			{ 1, "b.env", "E1", 2 },
			{ 1, "b.bs", "B1", 2 },
			{ 1, "b.big", big, big_len },
			{ 77, "b.env", "E77", 3 },
			{ 2, "b.env", "E2", 2 },
			{ 2, "b.bs", "B2", 2 },
		};

		assert_int_equal(mail_index_cache_put_batch(index, e,
							    N_ELEMENTS(e),
							    &error),
				 4);
		s = str_new(16);
		assert_int_equal(mail_index_cache_get(index, 1, "b.bs", s,
						      &error),
				 1);
		assert_string_equal(str_c(s), "B1");
		str_truncate(s, 0);
		assert_int_equal(mail_index_cache_get(index, 2, "b.env", s,
						      &error),
				 1);
		assert_string_equal(str_c(s), "E2");
		str_truncate(s, 0);
		assert_int_equal(mail_index_cache_get(index, 1, "b.big", s,
						      &error),
				 0);
		assert_int_equal(mail_index_cache_get(index, 77, "b.env", s,
						      &error),
				 0);
		assert_int_equal(mail_index_cache_put_batch(index, &e[2], 1,
							    &error),
				 -1);
		assert_int_equal(mail_index_cache_put_batch(index, e, 0,
							    &error),
				 0);
		str_destroy(&s);
		free(big);
	}
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_iterate_recent_move_cache,
			unit_index_setup, unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
