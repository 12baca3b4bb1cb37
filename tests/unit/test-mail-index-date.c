/* test-mail-index-date.c: unit tests for the mail index's lazy sizes and
 * internal dates: the size from the name's ",S=" without a stat(), the
 * date read from the file's mtime on first use and stored, files renamed
 * or vanished before that, APPEND's date (mail_index_add_delivery()),
 * RFC822.SIZE counted on demand and stored later, and malformed names. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "unit-index.h"

static void set_mtime(const char *sub, const char *name, time_t mtime)
{
	char *path = xasprintf("%s/%s/%s", unit_index_dir, sub, name);
	struct timeval tv[2] = { { mtime, 0 }, { mtime, 0 } };

	assert_int_equal(utimes(path, tv), 0);
	free(path);
}

/* Writes DIR/sub/name with text and the mtime given. */
static void put_file(const char *sub, const char *name, const char *text,
		     time_t mtime)
{
	unit_index_put(sub, name, text);
	set_mtime(sub, name, mtime);
}

static struct mail_index_record lookup(struct mail_index *index,
				       uint32_t uid, unsigned flags)
{
	struct mail_index_record rec;
	const char *error = NULL;

	if (mail_index_lookup_uid_flags(index, uid, flags, &rec, &error) != 1)
		fail_msg("lookup %u: %s", uid, error != NULL ? error : "none");
	return rec;
}

/* The name's time (1000000000) differs from the mtime (1500000000): the
 * internal date is the mtime, read on first use and stored. */
static void test_date_is_mtime(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	struct mail_index_status st;
	const char *error;

	(void)state;
	/* ",S=" says 5 while the file has 11 bytes: the scan takes the
	 * name's word for it, which shows that it did not stat. */
	put_file("cur", "1000000000.M1P1.host,S=5:2,S", "hello world",
		 1500000000);
	index = unit_index_open();
	rec = lookup(index, 1, MAIL_INDEX_READ_NO_DATE);
	assert_false(rec.has_internal_date);
	assert_int_equal(rec.size, 5);
	assert_int_equal(mail_index_get_status(index, &st, &error), 0);
	assert_int_equal(st.total_size, 5);

	rec = lookup(index, 1, 0);
	assert_true(rec.has_internal_date);
	assert_int_equal(rec.internal_date, 1500000000);
	/* Not stored yet (no write since): still unknown in the index, but
	 * any lookup answers the mtime. */
	assert_int_equal(lookup(index, 1, 0).internal_date, 1500000000);
	mail_index_close(&index);

	/* The close stored it: a changed mtime is not read again. */
	set_mtime("cur", "1000000000.M1P1.host,S=5:2,S", 1600000000);
	index = unit_index_open();
	rec = lookup(index, 1, MAIL_INDEX_READ_NO_DATE);
	assert_true(rec.has_internal_date);
	assert_int_equal(rec.internal_date, 1500000000);
	mail_index_close(&index);
}

static int count_cb(const struct mail_index_record *rec, void *context)
{
	unsigned *n = context;

	if (rec->has_internal_date && rec->internal_date == 1400000000)
		(*n)++;
	return 0;
}

static int count_known_cb(const struct mail_index_record *rec,
			  void *context)
{
	unsigned *n = context;

	if (rec->has_internal_date)
		(*n)++;
	return 0;
}

static int count_unknown_cb(const struct mail_index_record *rec,
			    void *context)
{
	unsigned *n = context;

	if (!rec->has_internal_date)
		(*n)++;
	return 0;
}

/* An iteration reads every unknown date and stores them in one write;
 * one with MAIL_INDEX_READ_NO_DATE reads none. */
static void test_iterate_stores(void **state)
{
	struct mail_index *index;
	const char *error = NULL;
	unsigned n = 0;
	char name[64];

	(void)state;
	for (int i = 0; i < MAIL_INDEX_PENDING_FLUSH + 50; i++) {
		snprintf(name, sizeof(name), "%d.M%dP1.host,S=3", 1000000000 + i,
			 i);
		put_file("new", name, "abc", 1400000000);
	}
	index = unit_index_open();
	assert_int_equal(mail_index_iterate_flags(index, 1, UINT32_MAX,
						  MAIL_INDEX_READ_NO_DATE,
						  count_known_cb, &n, &error),
			 0);
	assert_int_equal(n, 0);
	n = 0;
	assert_int_equal(mail_index_iterate_changed_flags(
				 index, 0, MAIL_INDEX_READ_NO_DATE,
				 count_unknown_cb, &n, &error),
			 0);
	assert_int_equal(n, MAIL_INDEX_PENDING_FLUSH + 50);
	n = 0;
	assert_int_equal(mail_index_iterate(index, 1, UINT32_MAX, count_cb,
					    &n, &error),
			 0);
	assert_int_equal(n, MAIL_INDEX_PENDING_FLUSH + 50);
	/* Stored by the iteration itself (enough of them waited). */
	n = 0;
	assert_int_equal(mail_index_iterate_flags(index, 1, UINT32_MAX,
						  MAIL_INDEX_READ_NO_DATE,
						  count_known_cb, &n, &error),
			 0);
	assert_int_equal(n, MAIL_INDEX_PENDING_FLUSH + 50);
	mail_index_close(&index);
}

/* A name without ",S=" is stat()ed by the scan: exact size and date at
 * once. */
static void test_no_size_in_name(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;

	(void)state;
	put_file("cur", "1000000000.M2P1.host:2,", "twelve bytes", 1300000000);
	index = unit_index_open();
	rec = lookup(index, 1, MAIL_INDEX_READ_NO_DATE);
	assert_true(rec.has_internal_date);
	assert_int_equal(rec.internal_date, 1300000000);
	assert_int_equal(rec.size, 12);
	mail_index_close(&index);
}

/* Renamed by another program before the first lookup: the file is found
 * again and its mtime taken.  Vanished: the name's time, and the next
 * sync expunges it. */
static void test_renamed_and_vanished(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	const char *error = NULL;
	char *path;

	(void)state;
	put_file("cur", "1000000000.M3P1.host,S=3:2,", "abc", 1200000000);
	put_file("cur", "1000000001.M4P1.host,S=3:2,", "abc", 1200000001);
	index = unit_index_open();
	unit_index_rename("cur/1000000000.M3P1.host,S=3:2,",
			  "cur/1000000000.M3P1.host,S=3:2,FS");
	path = xasprintf("%s/cur/1000000001.M4P1.host,S=3:2,", unit_index_dir);
	assert_int_equal(unlink(path), 0);
	free(path);

	rec = lookup(index, 1, 0);
	assert_int_equal(rec.internal_date, 1200000000);
	rec = lookup(index, 2, 0);
	assert_true(rec.has_internal_date);
	assert_int_equal(rec.internal_date, 1000000001);
	assert_true(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error) >= 0);
	assert_int_equal(mail_index_lookup_uid(index, 2, &rec, &error), 0);
	rec = lookup(index, 1, 0);
	assert_int_equal(rec.internal_date, 1200000000);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN | MAIL_INDEX_FLAGGED);
	mail_index_close(&index);
}

/* A date read for a message expunged before it was stored is dropped;
 * one read before a change rides along in that change's transaction. */
static void test_pending_and_expunge(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	const char *error = NULL;
	uint32_t uid = 1;

	(void)state;
	put_file("cur", "1000000000.M5P1.host,S=3:2,", "abc", 1100000000);
	put_file("cur", "1000000001.M6P1.host,S=3:2,", "abc", 1100000001);
	index = unit_index_open();
	(void)lookup(index, 1, 0);
	(void)lookup(index, 2, 0);
	assert_int_equal(mail_index_expunge(index, &uid, 1, NULL, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 0);
	rec = lookup(index, 2, MAIL_INDEX_READ_NO_DATE);
	assert_true(rec.has_internal_date);
	assert_int_equal(rec.internal_date, 1100000001);
	mail_index_close(&index);
}

/* APPEND: the file's mtime set by the caller (utime) is the date, known
 * at once. */
static void test_append_keeps_date(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	const char *error = NULL;
	uint32_t uid = 0;

	(void)state;
	index = unit_index_open();
	put_file("cur", "1000000000.M7P1.host,S=3:2,S", "abc", 900000000);
	assert_int_equal(mail_index_add(index, "1000000000.M7P1.host,S=3:2,S",
					NULL, 0, &uid, &error),
			 0);
	rec = lookup(index, uid, MAIL_INDEX_READ_NO_DATE);
	assert_true(rec.has_internal_date);
	assert_int_equal(rec.internal_date, 900000000);
	assert_int_equal(rec.size, 3);
	mail_index_close(&index);
}

/* RFC822.SIZE counted on demand (LF counts as CRLF) without a write of
 * its own, stored by the next write. */
static void test_vsize_queued(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	const char *error = NULL;
	uint64_t vsize = 0;
	unsigned scans;

	(void)state;
	put_file("cur", "1000000000.M10P1.host,S=8:2,", "a\nb\r\ncd\n", 1000000000);
	index = unit_index_open();
	rec = lookup(index, 1, MAIL_INDEX_READ_NO_DATE);
	assert_false(rec.has_vsize);
	scans = mail_index_test_scans;
	assert_int_equal(mail_index_get_vsize(index, 1, &vsize, &error), 1);
	assert_int_equal(vsize, 10);
	assert_int_equal(mail_index_test_scans, scans);
	/* Not stored yet, but answered again the same. */
	rec = lookup(index, 1, MAIL_INDEX_READ_NO_DATE);
	assert_false(rec.has_vsize);
	vsize = 0;
	assert_int_equal(mail_index_get_vsize(index, 1, &vsize, &error), 1);
	assert_int_equal(vsize, 10);
	/* The next change stores it. */
	{
		uint32_t one = 1;
		struct mail_index_change ch = {
			.mode = MAIL_INDEX_MODIFY_ADD,
			.flags = MAIL_INDEX_FLAGGED,
		};

		assert_int_equal(mail_index_store(index, &one, 1, &ch, NULL,
						  &error),
				 1);
	}
	rec = lookup(index, 1, MAIL_INDEX_READ_NO_DATE);
	assert_true(rec.has_vsize);
	assert_int_equal(rec.vsize, 10);
	mail_index_close(&index);
	/* Gone before it was counted: 0. */
	put_file("cur", "1000000001.M11P1.host,S=1:2,", "x", 1000000001);
	index = unit_index_open();
	{
		char *path = xasprintf("%s/cur/1000000001.M11P1.host,S=1:2,",
				       unit_index_dir);
		assert_int_equal(unlink(path), 0);
		free(path);
	}
	assert_int_equal(mail_index_get_vsize(index, 2, &vsize, &error), 0);
	mail_index_close(&index);
}

static size_t count_files(const char *sub)
{
	char *path = xasprintf("%s/%s", unit_index_dir, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	free(path);
	return n;
}

/* APPEND through mail_index_add_delivery(): committed, dated and indexed
 * in one transaction; another session finds it without a scan; a bad
 * keyword aborts the delivery. */
static void test_add_delivery(void **state)
{
	struct mail_index *index, *other;
	struct mail_index_record rec;
	struct maildir_delivery *del;
	const char *error = NULL;
	const char *kw[] = { "$Label1" }, *bad[] = { "a b" };
	char *name = NULL;
	uint32_t uid = 0;
	unsigned scans;

	(void)state;
	put_file("cur", "1000000000.M12P1.host,S=3:2,", "abc", 1000000000);
	/* Directories changed long ago: their stamps are trusted. */
	set_mtime(".", "new", 1000000000);
	set_mtime(".", "cur", 1000000000);
	index = unit_index_open();
	other = unit_index_open();
	del = maildir_delivery_begin(unit_index_dir, 0, &error);
	assert_non_null(del);
	assert_int_equal(maildir_delivery_write(del, "hello\n", 6, &error), 0);
	assert_int_equal(mail_index_add_delivery(index, &del, "S", 1234567890,
						 kw, 1, &uid, &name, &error),
			 0);
	assert_null(del);
	assert_int_equal(uid, 2);
	assert_non_null(strstr(name, ":2,S"));
	rec = lookup(index, 2, MAIL_INDEX_READ_NO_DATE);
	assert_true(rec.has_internal_date);
	assert_int_equal(rec.internal_date, 1234567890);
	assert_int_equal(rec.size, 6);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	assert_int_equal(rec.keyword_count, 1);
	assert_string_equal(rec.name, name);
	free(name);
	scans = mail_index_test_scans;
	assert_true(mail_index_sync(other, 0, &error) >= 0);
	assert_int_equal(mail_index_test_scans, scans);
	rec = lookup(other, 2, 0);
	assert_int_equal(rec.internal_date, 1234567890);

	/* Into new/ with the delivery's own time. */
	del = maildir_delivery_begin(unit_index_dir, 0, &error);
	assert_non_null(del);
	assert_int_equal(maildir_delivery_write(del, "x", 1, &error), 0);
	assert_int_equal(mail_index_add_delivery(index, &del, NULL, -1, NULL,
						 0, &uid, NULL, &error),
			 0);
	assert_int_equal(uid, 3);
	rec = lookup(index, 3, MAIL_INDEX_READ_NO_DATE);
	assert_true(rec.in_new);
	assert_true(rec.has_internal_date);
	assert_true(rec.internal_date > 1600000000);

	/* A bad keyword: nothing delivered, the tmp/ file removed. */
	del = maildir_delivery_begin(unit_index_dir, 0, &error);
	assert_non_null(del);
	assert_int_equal(maildir_delivery_write(del, "y", 1, &error), 0);
	assert_int_equal(mail_index_add_delivery(index, &del, "", -1, bad, 1,
						 &uid, NULL, &error),
			 -1);
	assert_null(del);
	assert_int_equal(count_files("tmp"), 0);
	assert_int_equal(count_files("cur"), 2);
	assert_int_equal(count_files("new"), 1);
	mail_index_close(&other);
	mail_index_close(&index);
}

/* The thread's read flags apply to lookups and iterations that pass
 * none, until restored. */
static void test_thread_flags(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	const char *error = NULL;
	unsigned n = 0, saved;

	(void)state;
	put_file("new", "1000000000.M8P1.host,S=3", "abc", 800000000);
	index = unit_index_open();
	saved = mail_index_set_thread_read_flags(MAIL_INDEX_READ_NO_DATE);
	assert_int_equal(saved, 0);
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	assert_false(rec.has_internal_date);
	assert_int_equal(mail_index_iterate(index, 1, UINT32_MAX,
					    count_known_cb, &n, &error),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(mail_index_set_thread_read_flags(saved),
			 MAIL_INDEX_READ_NO_DATE);
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	assert_true(rec.has_internal_date);
	assert_int_equal(rec.internal_date, 800000000);
	mail_index_close(&index);
}

/* Malformed or odd names: the size field and the name's time. */
static void test_malformed_names(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	struct mail_index_status st;
	const char *error = NULL;

	(void)state;
	assert_int_equal(mail_index_date_from_name("1234.M1.host"), 1234);
	assert_int_equal(mail_index_date_from_name("1234"), 1234);
	assert_int_equal(mail_index_date_from_name(""), 0);
	assert_int_equal(mail_index_date_from_name("abc.M1.host"), 0);
	assert_int_equal(mail_index_date_from_name("12x4.M1.host"), 0);
	assert_int_equal(mail_index_date_from_name(".1234"), 0);
	assert_int_equal(
		mail_index_date_from_name("99999999999999999999999.M1"), 0);
	assert_int_equal(mail_index_date_from_name("999999999999.M1"),
			 999999999999LL);

	/* ",S=" empty, not a number, or overflowing: the file is
	 * stat()ed and its real size and date kept. */
	put_file("cur", "1000000000.M9P1.host,S=:2,", "abcd", 700000000);
	put_file("cur", "1000000001.M9P1.host,S=x1:2,", "abcd", 700000001);
	put_file("cur",
		 "1000000002.M9P1.host,S=99999999999999999999999:2,",
		 "abcd", 700000002);
	index = unit_index_open();
	for (uint32_t uid = 1; uid <= 3; uid++) {
		rec = lookup(index, uid, MAIL_INDEX_READ_NO_DATE);
		assert_true(rec.has_internal_date);
		assert_int_equal(rec.size, 4);
		assert_int_equal(rec.internal_date, 700000000 + uid - 1);
	}
	assert_int_equal(mail_index_get_status(index, &st, &error), 0);
	assert_int_equal(st.total_size, 12);
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_date_is_mtime,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_iterate_stores,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_no_size_in_name,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_renamed_and_vanished,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_pending_and_expunge,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_append_keeps_date,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_vsize_queued,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_add_delivery,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_thread_flags,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_names,
			unit_index_setup, unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
