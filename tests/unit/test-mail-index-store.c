/* test-mail-index-store.c: unit tests for the mail index's writes
 * through its API: STORE of flags and keywords (UNCHANGEDSINCE, REPLACE,
 * bad keywords, a rename by another program between two STOREs, keywords
 * kept over a rebuild), the keyword files folded into :list, and APPEND's
 * UIDPLUS (mail_index_add()). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
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

static void test_store(void **state)
{
	static const char *const kw1[] = { "$Label1", "Important" };
	static const char *const kw2[] = { "important" };
	static const char *const badkw[] = { "bad keyword" };
	struct mail_index *index;
	struct mail_index_status st;
	struct mail_index_record rec;
	struct mail_index_store_result res[3];
	struct mail_index_change ch = { 0 };
	struct maildir_keywords *kw;
	const char *const *names;
	const char *error;
	uint32_t uids[3] = { 1, 2, 99 }, id;
	size_t n;

	(void)state;
	unit_index_put("cur", "1700000001.M1P1.host:2,P", "one\n");
	unit_index_put("new", "1700000002.M1P1.host", "two\n");
	index = unit_index_open();
	unit_index_status(index, &st);

	ch.mode = MAIL_INDEX_MODIFY_ADD;
	ch.flags = MAIL_INDEX_SEEN | MAIL_INDEX_FLAGGED;
	ch.keywords = kw1;
	ch.keyword_count = 2;
	assert_int_equal(mail_index_store(index, uids, 3, &ch, res, &error),
			 2);
	assert_int_equal(res[0].status, MAIL_INDEX_STORE_CHANGED);
	assert_int_equal(res[1].status, MAIL_INDEX_STORE_CHANGED);
	assert_int_equal(res[2].status, MAIL_INDEX_STORE_GONE);
	assert_int_equal(res[0].modseq, st.highestmodseq + 1);
	assert_int_equal(res[0].flags, MAIL_INDEX_SEEN | MAIL_INDEX_FLAGGED);
	/* Files renamed: other letters (P) kept; new/ moved to cur/. */
	assert_true(unit_index_exists("cur", "1700000001.M1P1.host:2,FPS"));
	assert_true(unit_index_exists("cur", "1700000002.M1P1.host:2,FS"));
	assert_false(unit_index_exists("new", "1700000002.M1P1.host"));
	assert_int_equal(mail_index_lookup_uid(index, 2, &rec, &error), 1);
	assert_false(rec.in_new);
	assert_int_equal(rec.keyword_count, 2);
	assert_string_equal(mail_index_keyword_name(index, rec.keywords[0]),
			    "$Label1");
	assert_string_equal(mail_index_keyword_name(index, rec.keywords[1]),
			    "Important");
	assert_int_equal(mail_index_keyword_count(index), 2);
	assert_int_equal(mail_index_keyword_lookup(index, "IMPORTANT", &id,
						   &error),
			 1);
	assert_int_equal(id, 1);
	assert_int_equal(mail_index_keyword_lookup(index, "nope", &id, &error),
			 0);
	/* Written through to Courier's keyword files. */
	assert_int_equal(maildir_keywords_load(unit_index_dir, NULL, &kw,
					       &error),
			 0);
	names = maildir_keywords_get(kw, "1700000002.M1P1.host", &n);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "$Label1");
	maildir_keywords_destroy(&kw);

	/* The same again changes nothing. */
	assert_int_equal(mail_index_store(index, uids, 2, &ch, res, &error),
			 0);
	assert_int_equal(res[0].status, MAIL_INDEX_STORE_UNCHANGED);

	/* UNCHANGEDSINCE below the message's MODSEQ fails. */
	ch.mode = MAIL_INDEX_MODIFY_REMOVE;
	ch.flags = MAIL_INDEX_FLAGGED;
	ch.keywords = kw2;
	ch.keyword_count = 1;
	ch.unchangedsince = st.highestmodseq;
	assert_int_equal(mail_index_store(index, uids, 2, &ch, res, &error),
			 0);
	assert_int_equal(res[0].status, MAIL_INDEX_STORE_MODIFIED);
	ch.unchangedsince = 0;
	assert_int_equal(mail_index_store(index, uids, 1, &ch, res, &error),
			 1);
	assert_int_equal(res[0].flags, MAIL_INDEX_SEEN);
	assert_true(unit_index_exists("cur", "1700000001.M1P1.host:2,PS"));
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	assert_int_equal(rec.keyword_count, 1);
	assert_string_equal(mail_index_keyword_name(index, rec.keywords[0]),
			    "$Label1");

	/* REPLACE. */
	ch.mode = MAIL_INDEX_MODIFY_REPLACE;
	ch.flags = MAIL_INDEX_DELETED | MAIL_INDEX_ANSWERED | MAIL_INDEX_DRAFT;
	ch.keyword_count = 0;
	assert_int_equal(mail_index_store(index, uids, 1, &ch, res, &error),
			 1);
	assert_true(unit_index_exists("cur", "1700000001.M1P1.host:2,DPRT"));
	unit_index_status(index, &st);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(st.seen, 1);
	assert_int_equal(st.highestmodseq, res[0].modseq);

	/* Bad keyword names are refused. */
	ch.keywords = badkw;
	ch.keyword_count = 1;
	assert_int_equal(mail_index_store(index, uids, 1, &ch, res, &error),
			 -1);

	/* A rename by another program between STOREs is followed. */
	unit_index_rename("cur/1700000001.M1P1.host:2,DPRT",
			  "cur/1700000001.M1P1.host:2,T");
	ch.mode = MAIL_INDEX_MODIFY_ADD;
	ch.flags = MAIL_INDEX_SEEN;
	ch.keyword_count = 0;
	assert_int_equal(mail_index_store(index, uids, 1, &ch, res, &error),
			 1);
	/* The flags on disk (T) were the truth: +\\Seen applies to them. */
	assert_true(unit_index_exists("cur", "1700000001.M1P1.host:2,ST"));
	assert_int_equal(res[0].flags, MAIL_INDEX_SEEN | MAIL_INDEX_DELETED);

	/* Keywords survive a rebuild (from courierimapkeywords). */
	mail_index_close(&index);
	{
		char *path = xasprintf("%s/%s", unit_index_dir,
				       MAIL_INDEX_FILE_NAME);

		assert_int_equal(unlink(path), 0);
		free(path);
	}
	index = unit_index_open();
	assert_int_equal(mail_index_lookup_base(index, "1700000002.M1P1.host",
						&rec, &error),
			 1);
	assert_int_equal(rec.keyword_count, 2);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN | MAIL_INDEX_FLAGGED);
	assert_int_equal(mail_index_lookup_base(index, "1700000001.M1P1.host",
						&rec, &error),
			 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN | MAIL_INDEX_DELETED);
	mail_index_close(&index);
}

/* Many keyword updates are folded into courierimapkeywords/:list. */
static void test_keywords_compacted(void **state)
{
	static const char *const kw[] = { "Work" };
	struct mail_index_change ch = { .mode = MAIL_INDEX_MODIFY_ADD,
					.keywords = kw, .keyword_count = 1 };
	struct mail_index *index;
	struct mail_index_record rec;
	const char *error;
	char name[64];
	size_t files = 0;
	struct dirent *de;
	DIR *d;
	char *path;

	(void)state;
	for (int i = 0; i < 80; i++) {
		snprintf(name, sizeof(name), "%d.M1P1.host:2,", 1600000000 + i);
		unit_index_put("cur", name, "x\n");
	}
	index = unit_index_open();
	for (uint32_t uid = 1; uid <= 80; uid++)
		assert_int_equal(mail_index_store(index, &uid, 1, &ch, NULL,
						  &error),
				 1);
	assert_true(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error) >= 0);
	path = xasprintf("%s/courierimapkeywords", unit_index_dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			files++;
	}
	closedir(d);
	free(path);
	assert_true(files < 10);
	assert_true(unit_index_exists("courierimapkeywords", ":list"));
	assert_int_equal(mail_index_lookup_uid(index, 80, &rec, &error), 1);
	assert_int_equal(rec.keyword_count, 1);
	mail_index_close(&index);
}

static void test_uidplus_append(void **state)
{
	static const char *const kw[] = { "$Forwarded" };
	struct maildir_delivery *d;
	struct mail_index *index;
	struct mail_index_status st;
	struct mail_index_record rec;
	const char *error;
	char *name;
	uint32_t uid, uid2;

	(void)state;
	unit_index_put("cur", "1700000001.M1P1.host:2,", "1\n");
	index = unit_index_open();
	unit_index_status(index, &st);
	d = maildir_delivery_begin(unit_index_dir, MAILDIR_DELIVERY_VSIZE,
				   &error);
	assert_non_null(d);
	assert_int_equal(maildir_delivery_write(d, "a\nb\n", 4, &error), 0);
	assert_int_equal(maildir_delivery_commit(&d, "S", &name, &error), 0);
	assert_int_equal(mail_index_add(index, name, kw, 1, &uid, &error), 0);
	assert_int_equal(uid, st.uidnext);
	assert_int_equal(mail_index_lookup_uid(index, uid, &rec, &error), 1);
	assert_string_equal(rec.name, name);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	assert_false(rec.in_new);
	assert_true(rec.has_vsize);
	assert_int_equal(rec.vsize, 6);
	assert_int_equal(rec.keyword_count, 1);
	/* Known already: the same UID. */
	assert_int_equal(mail_index_add(index, name, NULL, 0, &uid2, &error),
			 0);
	assert_int_equal(uid2, uid);
	/* A sync does not add it again. */
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);
	unit_index_status(index, &st);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.uidnext, uid + 1);
	/* A file that is not there. */
	assert_int_equal(mail_index_add(index, "123.nothere", NULL, 0, &uid2,
					&error),
			 -1);
	assert_int_equal(mail_index_add(index, "../x", NULL, 0, &uid2,
					&error),
			 -1);
	free(name);
	mail_index_close(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_keywords_compacted,
			unit_index_setup, unit_index_teardown),
		cmocka_unit_test_setup_teardown(test_uidplus_append,
			unit_index_setup, unit_index_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
