/* test-mail-index-rebuild.c: unit tests for the mail index's rebuilds:
 * a corrupt or empty file, a damaged record found at open or by a lookup,
 * and the first build importing Courier's UIDs, POP3 UIDLs and keywords
 * (then MODSEQs going on above the old index's after a rebuild). */
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
#include "maildir-keywords.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "str.h"
#include "unit-files.h"
#include "unit-index.h"

static void test_corrupt_rebuilt(void **state)
{
	struct mail_index *index;
	struct mail_index_status st, st2;
	char *path, junk[8192];
	const char *error;
	int fd;

	(void)state;
	unit_index_put("cur", "1700000001.M1P1.host:2,S", "1\n");
	unit_index_put("cur", "1700000002.M1P1.host:2,", "2\n");
	index = unit_index_open();
	unit_index_status(index, &st);
	mail_index_close(&index);

	path = xasprintf("%s/%s", unit_index_dir, MAIL_INDEX_FILE_NAME);
	memset(junk, 'x', sizeof(junk));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	unit_index_warnings = 0;
	index = unit_index_open();
	assert_true(unit_index_warnings >= 1);
	unit_index_status(index, &st2);
	assert_int_equal(st2.messages, 2);
	assert_int_equal(st2.seen, 1);
	assert_int_equal(unit_index_uid_of(index, "1700000002.M1P1.host"), 2);
	mail_index_close(&index);

	/* A truncated (empty) file too. */
	assert_int_equal(truncate(path, 0), 0);
	index = unit_index_open();
	unit_index_status(index, &st2);
	assert_int_equal(st2.messages, 2);
	mail_index_close(&index);

	/* Not a maildir. */
	assert_int_equal(mail_index_open("/nonexistent/x", NULL, &index,
					 &error),
			 -1);
	assert_null(index);
	free(path);
}

/* Puts a malformed record for UID 1 straight into the LMDB file. */
static void damage_record(void)
{
	uint8_t key1[4] = { 0, 0, 0, 1 };
	MDB_val key = { 4, key1 }, val = { 3, (void *)"bad" };
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn = unit_index_raw_begin("msgs", &env, &dbi);

	assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	unit_index_raw_commit(env, txn);
}

/* A damaged record found at run time: the file is removed and the next
 * call rebuilds the index. */
static void test_damaged_record(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	const char *error;
	char *path;

	(void)state;
	unit_index_put("cur", "1700000001.M1P1.host:2,S", "1\n");
	path = xasprintf("%s/%s", unit_index_dir, MAIL_INDEX_FILE_NAME);

	/* Found by the scan at open: rebuilt at once.  (new/ is changed
	 * so that the open scans whatever the clock did meanwhile: on a
	 * loaded machine the first stamps could already be trusted.) */
	index = unit_index_open();
	mail_index_close(&index);
	damage_record();
	{
		char *p = xasprintf("%s/new", unit_index_dir);

		assert_int_equal(utimensat(AT_FDCWD, p, NULL, 0), 0);
		free(p);
	}
	unit_index_warnings = 0;
	index = unit_index_open();
	assert_true(unit_index_warnings >= 1);
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	mail_index_close(&index);

	/* Found by a lookup (the directories have not changed, so the
	 * open does not scan): removed, then rebuilt by the next call. */
	unit_index_age_dirs();
	index = unit_index_open();
	mail_index_close(&index);
	damage_record();
	index = unit_index_open();
	unit_index_warnings = 0;
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), -1);
	assert_true(unit_index_warnings >= 1);
	assert_int_equal(access(path, F_OK), -1);
	/* 1 when the rebuild's UIDVALIDITY (the time) is another second. */
	assert_true(mail_index_sync(index, 0, &error) >= 0);
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	mail_index_close(&index);
	free(path);
}

static void test_courier_import(void **state)
{
	struct mail_index *index;
	struct mail_index_status st;
	struct mail_index_record rec;
	const char *error;
	char uidl[MAIL_INDEX_UIDL_MAX], *path;

	(void)state;
	unit_index_put("cur", "1600000001.M1P1.host:2,S", "1\n");
	unit_index_put("new", "1600000002.M1P1.host", "2\n");
	/* not in the db, and a garbage line of it: */
	unit_index_put("cur", "1600000000.M1P1.host:2,", "0\n");
	unit_index_put("cur", "1600000003.M1P1.host:2,F", "33\n");
	unit_write_file(unit_index_dir, "courierimapuiddb",
			"1 734567890 10\n"
			"3 1600000001.M1P1.host\n"
			"7 1600000002.M1P1.host\n"
			"x 1600000003.M1P1.host\n"
			"8 gone.message\n");
	unit_write_file(unit_index_dir, "courierpop3dsizelist",
			"/3 5 1500000000\n"
			"1600000001.M1P1.host:2,S 3 4:1500000000:0\n");
	/* Keywords in Courier's :list format, written by hand. */
	path = xasprintf("%s/courierimapkeywords", unit_index_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
	unit_write_file(unit_index_dir, "courierimapkeywords/:list",
			"$Label1\nJunk\n\n1600000001.M1P1.host:0 1\n"
			"1600000002.M1P1.host:1\n");

	index = unit_index_open();
	unit_index_status(index, &st);
	assert_int_equal(st.uidvalidity, 734567890);
	assert_int_equal(st.messages, 4);
	assert_int_equal(unit_index_uid_of(index, "1600000001.M1P1.host"), 3);
	assert_int_equal(unit_index_uid_of(index, "1600000002.M1P1.host"), 7);
	/* Not in the db: the next UIDs, in Courier's order. */
	assert_int_equal(unit_index_uid_of(index, "1600000000.M1P1.host"), 10);
	assert_int_equal(unit_index_uid_of(index, "1600000003.M1P1.host"), 11);
	assert_int_equal(st.uidnext, 12);
	assert_int_equal(mail_index_lookup_uid(index, 3, &rec, &error), 1);
	assert_int_equal(rec.keyword_count, 2);
	assert_string_equal(mail_index_keyword_name(index, rec.keywords[0]),
			    "$Label1");
	assert_string_equal(mail_index_keyword_name(index, rec.keywords[1]),
			    "Junk");
	assert_string_equal(mail_index_record_uidl(index, &rec, uidl),
			    "UID4-1500000000");
	assert_int_equal(mail_index_lookup_uid(index, 7, &rec, &error), 1);
	assert_int_equal(rec.keyword_count, 1);
	assert_string_equal(mail_index_record_uidl(index, &rec, uidl),
			    "UID7-734567890");

	/* Keywords changed by Courier afterwards (an update file). */
	unit_write_file(unit_index_dir,
			"courierimapkeywords/1600000002.M1P1.host",
			"NonJunk\n");
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, 7, &rec, &error), 1);
	assert_int_equal(rec.keyword_count, 1);
	assert_string_equal(mail_index_keyword_name(index, rec.keywords[0]),
			    "NonJunk");

	/* After a rebuild the UIDs are the same again, and (same
	 * UIDVALIDITY) MODSEQs go on above the old index's: the index says
	 * from which MODSEQ on it knows the changes. */
	struct mail_index_status st2;
	unit_index_status(index, &st);
	assert_true(st.built_modseq > 0);
	assert_true(st.highestmodseq > st.built_modseq);
	mail_index_close(&index);
	path = xasprintf("%s/%s", unit_index_dir, MAIL_INDEX_FILE_NAME);
	assert_int_equal(unlink(path), 0);
	free(path);
	usleep(2000);
	index = unit_index_open();
	assert_int_equal(unit_index_uid_of(index, "1600000002.M1P1.host"), 7);
	unit_index_status(index, &st2);
	assert_int_equal(st2.uidvalidity, st.uidvalidity);
	assert_true(st2.built_modseq > st.highestmodseq);
	assert_true(st2.highestmodseq > st2.built_modseq);
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_corrupt_rebuilt,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_record,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_courier_import,
			unit_index_setup, unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
