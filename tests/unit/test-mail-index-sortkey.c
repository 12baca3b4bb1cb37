/* test-mail-index-sortkey.c: unit tests for the mail index's sort keys:
 * stored and read back by UID (ascending, descending, replaced), skipped
 * for UIDs not given yet and for values too long, absent under
 * another UIDVALIDITY or after a rebuild over the same file, and those of
 * expunged messages cleaned. */
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
#include "log.h"
#include "maildir.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "unit-index.h"

/* Puts n messages into cur/ and opens the index (UIDs 1..n). */
static struct mail_index *folder(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char name[64], text[64];

		snprintf(name, sizeof(name), "%u.M%uP1.host:2,", 1600000000 + i,
			 i);
		snprintf(text, sizeof(text), "Subject: %u\n\nbody\n", i);
		unit_index_put("cur", name, text);
	}
	return unit_index_open();
}

static int put(struct mail_index *index, uint32_t uid, const char *value)
{
	struct mail_index_sortkey_entry e = {
		.uid = uid, .data = value, .len = strlen(value),
	};
	const char *error = NULL;
	int ret = mail_index_sortkey_put_batch(index, &e, 1, &error);

	if (ret < 0)
		fail_msg("put: %s", error);
	return ret;
}

/* The value of uid as a string ("" when absent, "?" on error). */
static char *get(struct mail_index *index, uint32_t uid)
{
	struct mail_index_sortkey_reader *r;
	const char *error = NULL;
	const void *data;
	size_t len;
	char *ret;

	if (mail_index_sortkey_read_begin(index, &r, &error) < 0)
		fail_msg("read_begin: %s", error);
	switch (mail_index_sortkey_read(r, uid, &data, &len)) {
	case 1:
		ret = xstrndup(data, len);
		break;
	case 0:
		ret = xstrdup("");
		break;
	default:
		ret = xstrdup("?");
		break;
	}
	mail_index_sortkey_read_end(&r);
	assert_null(r);
	return ret;
}

static void assert_value(struct mail_index *index, uint32_t uid,
			 const char *expected)
{
	char *v = get(index, uid);

	assert_string_equal(v, expected);
	free(v);
}

static void test_empty(void **state)
{
	struct mail_index *index = folder(2);
	struct mail_index_sortkey_reader *r = NULL;
	const char *error = NULL;
	const void *data;
	size_t len;

	(void)state;
	/* no database yet */
	assert_int_equal(mail_index_sortkey_read_begin(index, &r, &error), 0);
	assert_null(r);
	assert_int_equal(mail_index_sortkey_read(NULL, 1, &data, &len), 0);
	mail_index_sortkey_read_end(&r);
	assert_int_equal(mail_index_sortkey_put_batch(index, NULL, 0, &error),
			 0);
	mail_index_close(&index);
}

static void test_put_get(void **state)
{
	struct mail_index *index = folder(5);
	struct mail_index_sortkey_entry e[4] = {
		{ 1, "one", 3 }, { 2, "two", 3 }, { 4, "four", 4 },
		{ 9, "nine", 4 }, /* past UIDNEXT */
	};
	struct mail_index_sortkey_reader *r;
	const char *error = NULL;
	const void *data;
	size_t len;

	(void)state;
	assert_int_equal(mail_index_sortkey_put_batch(index, e, 4, &error),
			 3);
	/* ascending reads through one reader, with gaps */
	assert_int_equal(mail_index_sortkey_read_begin(index, &r, &error), 1);
	assert_int_equal(mail_index_sortkey_read(r, 0, &data, &len), 0);
	assert_int_equal(mail_index_sortkey_read(r, 1, &data, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "one", 3);
	assert_int_equal(mail_index_sortkey_read(r, 2, &data, &len), 1);
	assert_memory_equal(data, "two", 3);
	assert_int_equal(mail_index_sortkey_read(r, 3, &data, &len), 0);
	assert_int_equal(mail_index_sortkey_read(r, 4, &data, &len), 1);
	assert_memory_equal(data, "four", 4);
	assert_int_equal(mail_index_sortkey_read(r, 9, &data, &len), 0);
	assert_int_equal(mail_index_sortkey_read(r, 9, &data, &len), 0);
	assert_int_equal(mail_index_sortkey_read(r, 10, &data, &len), 0);
	/* and back again, past the end and back, the same twice */
	assert_int_equal(mail_index_sortkey_read(r, 4, &data, &len), 1);
	assert_memory_equal(data, "four", 4);
	assert_int_equal(mail_index_sortkey_read(r, 1, &data, &len), 1);
	assert_memory_equal(data, "one", 3);
	assert_int_equal(mail_index_sortkey_read(r, 1, &data, &len), 1);
	assert_memory_equal(data, "one", 3);
	assert_int_equal(mail_index_sortkey_read(r, 3, &data, &len), 0);
	assert_int_equal(mail_index_sortkey_read(r, 3, &data, &len), 0);
	assert_int_equal(mail_index_sortkey_read(r, 2, &data, &len), 1);
	assert_memory_equal(data, "two", 3);
	assert_int_equal(mail_index_sortkey_read(r, 4, &data, &len), 1);
	assert_memory_equal(data, "four", 4);
	mail_index_sortkey_read_end(&r);

	/* replaced; descending puts below the last key; empty value */
	struct mail_index_sortkey_entry d[3] = {
		{ 5, "five", 4 }, { 3, "", 0 }, { 1, "ONE", 3 },
	};
	assert_int_equal(mail_index_sortkey_put_batch(index, d, 3, &error),
			 3);
	assert_value(index, 1, "ONE");
	assert_value(index, 2, "two");
	assert_value(index, 3, "");
	assert_value(index, 5, "five");
	/* too long: skipped; UID 0: never */
	char *big = xmalloc(MAIL_INDEX_SORTKEY_MAX + 2);
	memset(big, 'x', MAIL_INDEX_SORTKEY_MAX + 1);
	big[MAIL_INDEX_SORTKEY_MAX + 1] = '\0';
	assert_int_equal(put(index, 2, big), 0);
	big[MAIL_INDEX_SORTKEY_MAX] = '\0';
	assert_int_equal(put(index, 2, big), 1);
	assert_int_equal(put(index, 0, "zero"), 0);
	free(big);
	assert_value(index, 0, "");
	mail_index_close(&index);

	/* kept across a close */
	index = folder(0);
	assert_value(index, 5, "five");
	mail_index_close(&index);
}

/* The keys of expunged messages stay until they are a quarter more than
 * the messages; then a put deletes them. */
static void test_expunged_cleaned(void **state)
{
	struct mail_index *index = folder(200);
	struct mail_index_sortkey_entry e[200];
	uint32_t uids[150];
	const char *error = NULL;
	char buf[200][8];

	(void)state;
	for (uint32_t i = 0; i < 200; i++) {
		snprintf(buf[i], sizeof(buf[i]), "k%u", i + 1);
		e[i].uid = i + 1;
		e[i].data = buf[i];
		e[i].len = strlen(buf[i]);
	}
	assert_int_equal(mail_index_sortkey_put_batch(index, e, 200, &error),
			 200);
	/* a few expunged: their keys are kept (harmless) */
	for (uint32_t i = 0; i < 10; i++)
		uids[i] = i + 1;
	assert_int_equal(mail_index_expunge(index, uids, 10, NULL, &error),
			 10);
	assert_int_equal(put(index, 200, "last"), 1);
	assert_value(index, 1, "k1");
	/* most expunged: the next put cleans */
	for (uint32_t i = 0; i < 150; i++)
		uids[i] = i + 11;
	assert_int_equal(mail_index_expunge(index, uids, 150, NULL, &error),
			 150);
	assert_value(index, 100, "k100");
	assert_int_equal(put(index, 199, "again"), 1);
	assert_value(index, 1, "");
	assert_value(index, 100, "");
	assert_value(index, 160, "");
	assert_value(index, 161, "k161");
	assert_value(index, 199, "again");
	assert_value(index, 200, "last");
	/* a put for an expunged message is harmless (and cleaned later);
	 * one for a UID not given yet stores nothing */
	assert_int_equal(put(index, 5, "gone"), 1);
	assert_int_equal(put(index, 201, "future"), 0);
	assert_value(index, 201, "");
	mail_index_close(&index);
}

static int uidv_fn(struct mail_index *index, MDB_txn *txn,
		   struct mail_index_hdr *hdr, void *context, int *rc_r,
		   const char **error_r)
{
	(void)index;
	(void)txn;
	(void)context;
	(void)rc_r;
	(void)error_r;
	hdr->uidvalidity++;
	return 0;
}

static int rebuilt_fn(struct mail_index *index, MDB_txn *txn,
		      struct mail_index_hdr *hdr, void *context, int *rc_r,
		      const char **error_r)
{
	(void)hdr;
	(void)context;
	(void)rc_r;
	/* what a build over the same file records */
	return mail_index_built_put(index, txn, 1234567, error_r) < 0 ? -1 : 0;
}

/* Keys stored before a rebuild over the same file (same UIDVALIDITY,
 * UIDs perhaps given to other messages) are absent. */
static void test_rebuilt(void **state)
{
	struct mail_index *index = folder(3);
	const char *error = NULL;

	(void)state;
	assert_int_equal(put(index, 1, "a"), 1);
	assert_value(index, 1, "a");
	assert_int_equal(mail_index_write_txn_relaxed(index, rebuilt_fn, NULL,
						      &error),
			 0);
	assert_value(index, 1, "");
	assert_int_equal(put(index, 2, "b"), 1);
	assert_value(index, 2, "b");
	assert_value(index, 1, "");
	mail_index_close(&index);
}

/* Keys stored under another UIDVALIDITY are absent, and the next put
 * starts again. */
static void test_uidvalidity(void **state)
{
	struct mail_index *index = folder(3);
	const char *error = NULL;

	(void)state;
	assert_int_equal(put(index, 1, "a"), 1);
	assert_int_equal(put(index, 2, "b"), 1);
	assert_value(index, 1, "a");
	assert_int_equal(mail_index_write_txn_relaxed(index, uidv_fn, NULL,
						      &error),
			 0);
	assert_value(index, 1, "");
	assert_value(index, 2, "");
	assert_int_equal(put(index, 3, "c"), 1);
	assert_value(index, 3, "c");
	assert_value(index, 2, "");
	mail_index_close(&index);
}

/* Many keys: the first fill appends, and every value reads back. */
static void test_many(void **state)
{
	const unsigned n = 3000;
	struct mail_index *index = folder(n);
	struct mail_index_sortkey_entry *e = xcalloc(n, sizeof(*e));
	struct mail_index_sortkey_reader *r;
	uint64_t *vals = xcalloc(n, sizeof(*vals));
	const char *error = NULL;
	const void *data;
	size_t len;

	(void)state;
	for (unsigned i = 0; i < n; i++) {
		vals[i] = (uint64_t)i * 2654435761u;
		e[i].uid = i + 1;
		e[i].data = &vals[i];
		e[i].len = sizeof(vals[i]);
	}
	assert_int_equal(mail_index_sortkey_put_batch(index, e, n, &error),
			 (int)n);
	assert_int_equal(mail_index_sortkey_read_begin(index, &r, &error), 1);
	for (unsigned i = 0; i < n; i++) {
		uint64_t v;

		assert_int_equal(mail_index_sortkey_read(r, i + 1, &data,
							 &len),
				 1);
		assert_int_equal(len, sizeof(v));
		memcpy(&v, data, sizeof(v));
		assert_true(v == vals[i]);
	}
	/* every third one, then descending */
	for (unsigned i = 0; i < n; i += 3) {
		uint64_t v;

		assert_int_equal(mail_index_sortkey_read(r, i + 1, &data,
							 &len),
				 1);
		memcpy(&v, data, sizeof(v));
		assert_true(v == vals[i]);
	}
	for (unsigned i = n; i > 0; i--) {
		uint64_t v;

		assert_int_equal(mail_index_sortkey_read(r, i, &data, &len),
				 1);
		memcpy(&v, data, sizeof(v));
		assert_true(v == vals[i - 1]);
	}
	assert_int_equal(mail_index_sortkey_read(r, n + 1, &data, &len), 0);
	mail_index_sortkey_read_end(&r);
	free(e);
	free(vals);
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_put_get,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_expunged_cleaned,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_uidvalidity,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_rebuilt,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_many,
			unit_index_setup, unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
