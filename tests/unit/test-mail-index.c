/* test-mail-index.c: unit tests for the per-folder mail index
 * (lib/mail-index): building, syncing with changes made behind its back,
 * STORE/EXPUNGE/APPEND through the API, the expunge log, the cache,
 * Courier imports, corruption, two processes at once, the directory
 * stamps under concurrent changes (on this file system, on one with
 * whole-second mtimes simulated by a hook, and on a real one when
 * MAIL_INDEX_TEST_COARSE_DIR names its mount point), and timings on a
 * folder of 10,000 messages. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static char *tmpdir;
static int warnings;

static void log_capture(enum log_level level, const char *line, void *ctx)
{
	(void)line;
	(void)ctx;
	if (level == LOG_LEVEL_WARNING)
		warnings++;
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/test-mail-index.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	tmpdir = xstrdup(tmpl);
	assert_int_equal(maildir_create(tmpdir, NULL), 0);
	warnings = 0;
	log_set_handler(log_capture, NULL);
	return 0;
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *p;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", path, de->d_name);
			rm_rf(p);
			free(p);
		}
		closedir(d);
		(void)rmdir(path);
	} else {
		(void)unlink(path);
	}
}

static int teardown(void **state)
{
	(void)state;
	log_set_handler(NULL, NULL);
	rm_rf(tmpdir);
	x_free(tmpdir);
	return 0;
}

/* Writes a message file dir/sub/name with body text. */
static void put_file(const char *sub, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s/%s", tmpdir, sub, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static bool file_exists(const char *sub, const char *name)
{
	char *path = xasprintf("%s/%s/%s", tmpdir, sub, name);
	bool ret = access(path, F_OK) == 0;

	free(path);
	return ret;
}

static struct mail_index *open_index(void)
{
	struct mail_index *index;
	const char *error = NULL;

	if (mail_index_open(tmpdir, NULL, &index, &error) < 0)
		fail_msg("open: %s", error);
	return index;
}

static void status(struct mail_index *index, struct mail_index_status *st)
{
	const char *error;

	assert_int_equal(mail_index_get_status(index, st, &error), 0);
}

static uint32_t uid_of(struct mail_index *index, const char *base)
{
	struct mail_index_record rec;
	const char *error;

	if (mail_index_lookup_base(index, base, &rec, &error) != 1)
		return 0;
	return rec.uid;
}

static void test_create_open_reopen(void **state)
{
	struct mail_index *index;
	struct mail_index_status st, st2;
	struct mail_index_record rec;
	const char *error;
	struct stat sb;
	char *path;

	(void)state;
	put_file("cur", "1700000002.M1P1.host:2,S", "Subject: b\n\nb\n");
	put_file("cur", "1700000001.M1P1.host,S=9:2,", "Subject: a\n");
	put_file("new", "1700000003.M1P1.host", "c\n");
	index = open_index();
	status(index, &st);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.uidnext, 4);
	assert_int_equal(st.seen, 1);
	assert_true(st.uidvalidity > 0);
	/* Courier's order: by delivery time. */
	assert_int_equal(uid_of(index, "1700000001.M1P1.host,S=9"), 1);
	assert_int_equal(uid_of(index, "1700000002.M1P1.host"), 2);
	assert_int_equal(uid_of(index, "1700000003.M1P1.host:2,XYZ"), 3);
	assert_int_equal(mail_index_lookup_uid(index, 3, &rec, &error), 1);
	assert_true(rec.in_new);
	assert_true(rec.seen_in_new);
	assert_string_equal(rec.name, "1700000003.M1P1.host");
	assert_int_equal(rec.size, 2);
	assert_int_equal(mail_index_lookup_uid(index, 2, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	assert_false(rec.seen_in_new);
	assert_int_equal(mail_index_lookup_uid(index, 4, &rec, &error), 0);
	assert_int_equal(mail_index_sync(index, 0, &error), 0);
	mail_index_close(&index);
	assert_null(index);

	path = xasprintf("%s/%s", tmpdir, MAIL_INDEX_FILE_NAME);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(path);

	index = open_index();
	status(index, &st2);
	assert_int_equal(st2.uidvalidity, st.uidvalidity);
	assert_int_equal(st2.uidnext, 4);
	assert_int_equal(st2.highestmodseq, st.highestmodseq);
	assert_int_equal(uid_of(index, "1700000002.M1P1.host"), 2);
	/* A forced scan of an unchanged folder changes nothing. */
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);
	status(index, &st2);
	assert_int_equal(st2.highestmodseq, st.highestmodseq);
	mail_index_close(&index);
}

static void test_external_changes(void **state)
{
	struct mail_index *index;
	struct mail_index_status st, st2;
	struct mail_index_record rec;
	const char *error;
	uint32_t *uids;
	size_t n;
	char *from, *to;

	(void)state;
	put_file("cur", "1700000001.M1P1.host:2,", "one\n");
	put_file("cur", "1700000002.M1P1.host:2,", "two\n");
	index = open_index();
	status(index, &st);

	/* Delivered behind the index's back. */
	assert_int_equal(maildir_deliver(tmpdir, "three\n", 6, 0, NULL, &error),
			 0);
	assert_int_equal(mail_index_changed_since(index, st.highestmodseq,
						  &error),
			 1);
	status(index, &st2);
	assert_int_equal(st2.messages, 3);
	assert_int_equal(st2.uidnext, 4);
	assert_int_equal(mail_index_lookup_uid(index, 3, &rec, &error), 1);
	assert_true(rec.in_new);
	assert_true(rec.modseq > st.highestmodseq);
	assert_int_equal(mail_index_changed_since(index, st2.highestmodseq,
						  &error),
			 0);

	/* Flags changed by another program's rename. */
	from = xasprintf("%s/cur/1700000001.M1P1.host:2,", tmpdir);
	to = xasprintf("%s/cur/1700000001.M1P1.host:2,FS", tmpdir);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
	st = st2;
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN | MAIL_INDEX_FLAGGED);
	assert_string_equal(rec.name, "1700000001.M1P1.host:2,FS");
	assert_true(rec.modseq > st.highestmodseq);
	status(index, &st2);
	assert_int_equal(st2.seen, 1);
	assert_int_equal(st2.highestmodseq, rec.modseq);

	/* Deleted behind its back: expunged and logged. */
	st = st2;
	from = xasprintf("%s/cur/1700000002.M1P1.host:2,", tmpdir);
	assert_int_equal(unlink(from), 0);
	free(from);
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, 2, &rec, &error), 0);
	status(index, &st2);
	assert_int_equal(st2.messages, 2);
	assert_true(st2.highestmodseq > st.highestmodseq);
	assert_int_equal(mail_index_expunged_since(index, st.highestmodseq,
						   &uids, &n, &error),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 2);
	free(uids);
	assert_int_equal(mail_index_expunged_since(index, st2.highestmodseq,
						   &uids, &n, &error),
			 0);
	assert_int_equal(n, 0);
	assert_null(uids);
	/* UIDs are never reused. */
	assert_int_equal(maildir_deliver(tmpdir, "four\n", 5, 0, NULL, &error),
			 0);
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	status(index, &st2);
	assert_int_equal(st2.uidnext, 5);
	assert_int_equal(mail_index_uids(index, &uids, &n, &error), 0);
	assert_int_equal(n, 3);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[1], 3);
	assert_int_equal(uids[2], 4);
	free(uids);
	mail_index_close(&index);
}

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
	put_file("cur", "1700000001.M1P1.host:2,P", "one\n");
	put_file("new", "1700000002.M1P1.host", "two\n");
	index = open_index();
	status(index, &st);

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
	assert_true(file_exists("cur", "1700000001.M1P1.host:2,FPS"));
	assert_true(file_exists("cur", "1700000002.M1P1.host:2,FS"));
	assert_false(file_exists("new", "1700000002.M1P1.host"));
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
	assert_int_equal(maildir_keywords_load(tmpdir, NULL, &kw, &error), 0);
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
	assert_true(file_exists("cur", "1700000001.M1P1.host:2,PS"));
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
	assert_true(file_exists("cur", "1700000001.M1P1.host:2,DPRT"));
	status(index, &st);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(st.seen, 1);
	assert_int_equal(st.highestmodseq, res[0].modseq);

	/* Bad keyword names are refused. */
	ch.keywords = badkw;
	ch.keyword_count = 1;
	assert_int_equal(mail_index_store(index, uids, 1, &ch, res, &error),
			 -1);

	/* A rename by another program between STOREs is followed. */
	{
		char *from = xasprintf("%s/cur/1700000001.M1P1.host:2,DPRT",
				       tmpdir);
		char *to = xasprintf("%s/cur/1700000001.M1P1.host:2,T", tmpdir);

		assert_int_equal(rename(from, to), 0);
		free(from);
		free(to);
	}
	ch.mode = MAIL_INDEX_MODIFY_ADD;
	ch.flags = MAIL_INDEX_SEEN;
	ch.keyword_count = 0;
	assert_int_equal(mail_index_store(index, uids, 1, &ch, res, &error),
			 1);
	/* The flags on disk (T) were the truth: +\\Seen applies to them. */
	assert_true(file_exists("cur", "1700000001.M1P1.host:2,ST"));
	assert_int_equal(res[0].flags, MAIL_INDEX_SEEN | MAIL_INDEX_DELETED);

	/* Keywords survive a rebuild (from courierimapkeywords). */
	mail_index_close(&index);
	{
		char *path = xasprintf("%s/%s", tmpdir, MAIL_INDEX_FILE_NAME);

		assert_int_equal(unlink(path), 0);
		free(path);
	}
	index = open_index();
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
		put_file("cur", name, "x\n");
	}
	index = open_index();
	for (uint32_t uid = 1; uid <= 80; uid++)
		assert_int_equal(mail_index_store(index, &uid, 1, &ch, NULL,
						  &error),
				 1);
	assert_true(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error) >= 0);
	path = xasprintf("%s/courierimapkeywords", tmpdir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			files++;
	}
	closedir(d);
	free(path);
	assert_true(files < 10);
	assert_true(file_exists("courierimapkeywords", ":list"));
	assert_int_equal(mail_index_lookup_uid(index, 80, &rec, &error), 1);
	assert_int_equal(rec.keyword_count, 1);
	mail_index_close(&index);
}

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
	put_file("cur", "1700000001.M1P1.host:2,", "1\n");
	put_file("cur", "1700000002.M1P1.host:2,T", "2\n");
	put_file("cur", "1700000003.M1P1.host:2,", "3\n");
	put_file("cur", "1700000004.M1P1.host:2,", "4\n");
	index = open_index();
	status(index, &st);
	m1 = st.highestmodseq;
	assert_int_equal(mail_index_cache_put(index, 2, "envelope", "E2", 2,
					      &error),
			 1);
	assert_int_equal(mail_index_expunge(index, del, 2, &modseq, &error),
			 2);
	assert_true(modseq > m1);
	assert_false(file_exists("cur", "1700000002.M1P1.host:2,T"));
	assert_false(file_exists("cur", "1700000003.M1P1.host:2,"));
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
	status(index, &st);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.deleted, 0);
	/* Our own expunges need no rescan to be right, and a rescan finds
	 * nothing more. */
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);
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
	put_file("cur", "1700000001.M1P1.host:2,", "1\n");
	index = open_index();
	status(index, &st);
	d = maildir_delivery_begin(tmpdir, MAILDIR_DELIVERY_VSIZE, &error);
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
	status(index, &st);
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

static void rename_in_cur(const char *from, const char *to)
{
	char *a = xasprintf("%s/cur/%s", tmpdir, from);
	char *b = xasprintf("%s/cur/%s", tmpdir, to);

	assert_int_equal(rename(a, b), 0);
	free(a);
	free(b);
}

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
	put_file("new", "1700000001.M1P1.host", "1\n");
	put_file("new", "1700000002.M1P1.host", "22\n");
	put_file("new", "1700000003.M1P1.host", "line\nline\r\n");
	put_file("cur", "1700000004.M1P1.host:2,", "4444\n");
	index = open_index();
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
	assert_true(file_exists("cur", "1700000001.M1P1.host:2,"));
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	assert_false(rec.in_new);
	assert_true(rec.seen_in_new);
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);

	/* CHANGEDSINCE. */
	status(index, &st);
	assert_int_equal(mail_index_store(index, &one, 1, &ch, NULL, &error),
			 1);
	n = 0;
	assert_int_equal(mail_index_iterate_changed(index, st.highestmodseq,
						    count_cb, &n, &error),
			 0);
	assert_int_equal(n, 1);

	/* Opening and RFC822.SIZE, also after a rename behind our back. */
	rename_in_cur("1700000003.M1P1.host:2,S", "1700000003.M1P1.host:2,RS");
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

static void test_corrupt_rebuilt(void **state)
{
	struct mail_index *index;
	struct mail_index_status st, st2;
	char *path, junk[8192];
	const char *error;
	int fd;

	(void)state;
	put_file("cur", "1700000001.M1P1.host:2,S", "1\n");
	put_file("cur", "1700000002.M1P1.host:2,", "2\n");
	index = open_index();
	status(index, &st);
	mail_index_close(&index);

	path = xasprintf("%s/%s", tmpdir, MAIL_INDEX_FILE_NAME);
	memset(junk, 'x', sizeof(junk));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	warnings = 0;
	index = open_index();
	assert_true(warnings >= 1);
	status(index, &st2);
	assert_int_equal(st2.messages, 2);
	assert_int_equal(st2.seen, 1);
	assert_int_equal(uid_of(index, "1700000002.M1P1.host"), 2);
	mail_index_close(&index);

	/* A truncated (empty) file too. */
	assert_int_equal(truncate(path, 0), 0);
	index = open_index();
	status(index, &st2);
	assert_int_equal(st2.messages, 2);
	mail_index_close(&index);

	/* Not a maildir. */
	assert_int_equal(mail_index_open("/nonexistent/x", NULL, &index,
					 &error),
			 -1);
	assert_null(index);
	free(path);
}

static void age_dirs(void)
{
	struct timespec old[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	char *p = xasprintf("%s/cur", tmpdir);

	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	free(p);
	p = xasprintf("%s/new", tmpdir);
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	free(p);
}

/* Puts a malformed record for UID 1 straight into the LMDB file. */
static void damage_record(const char *path)
{
	uint8_t key1[4] = { 0, 0, 0, 1 };
	MDB_val key = { 4, key1 }, val = { 3, (void *)"bad" };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "msgs", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
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
	put_file("cur", "1700000001.M1P1.host:2,S", "1\n");
	path = xasprintf("%s/%s", tmpdir, MAIL_INDEX_FILE_NAME);

	/* Found by the scan at open: rebuilt at once.  (new/ is changed
	 * so that the open scans whatever the clock did meanwhile: on a
	 * loaded machine the first stamps could already be trusted.) */
	index = open_index();
	mail_index_close(&index);
	damage_record(path);
	{
		char *p = xasprintf("%s/new", tmpdir);

		assert_int_equal(utimensat(AT_FDCWD, p, NULL, 0), 0);
		free(p);
	}
	warnings = 0;
	index = open_index();
	assert_true(warnings >= 1);
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), 1);
	mail_index_close(&index);

	/* Found by a lookup (the directories have not changed, so the
	 * open does not scan): removed, then rebuilt by the next call. */
	age_dirs();
	index = open_index();
	mail_index_close(&index);
	damage_record(path);
	index = open_index();
	warnings = 0;
	assert_int_equal(mail_index_lookup_uid(index, 1, &rec, &error), -1);
	assert_true(warnings >= 1);
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
	FILE *f;

	(void)state;
	put_file("cur", "1600000001.M1P1.host:2,S", "1\n");
	put_file("new", "1600000002.M1P1.host", "2\n");
	put_file("cur", "1600000000.M1P1.host:2,", "0\n");   /* not in db */
	put_file("cur", "1600000003.M1P1.host:2,F", "33\n");  /* garbage */
	path = xasprintf("%s/courierimapuiddb", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("1 734567890 10\n"
	      "3 1600000001.M1P1.host\n"
	      "7 1600000002.M1P1.host\n"
	      "x 1600000003.M1P1.host\n"
	      "8 gone.message\n",
	      f);
	fclose(f);
	free(path);
	path = xasprintf("%s/courierpop3dsizelist", tmpdir);
	f = fopen(path, "w");
	fputs("/3 5 1500000000\n"
	      "1600000001.M1P1.host:2,S 3 4:1500000000:0\n",
	      f);
	fclose(f);
	free(path);
	/* Keywords in Courier's :list format, written by hand. */
	path = xasprintf("%s/courierimapkeywords", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
	path = xasprintf("%s/courierimapkeywords/:list", tmpdir);
	f = fopen(path, "w");
	fputs("$Label1\nJunk\n\n1600000001.M1P1.host:0 1\n"
	      "1600000002.M1P1.host:1\n",
	      f);
	fclose(f);
	free(path);

	index = open_index();
	status(index, &st);
	assert_int_equal(st.uidvalidity, 734567890);
	assert_int_equal(st.messages, 4);
	assert_int_equal(uid_of(index, "1600000001.M1P1.host"), 3);
	assert_int_equal(uid_of(index, "1600000002.M1P1.host"), 7);
	/* Not in the db: the next UIDs, in Courier's order. */
	assert_int_equal(uid_of(index, "1600000000.M1P1.host"), 10);
	assert_int_equal(uid_of(index, "1600000003.M1P1.host"), 11);
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
	path = xasprintf("%s/courierimapkeywords/1600000002.M1P1.host",
			 tmpdir);
	f = fopen(path, "w");
	fputs("NonJunk\n", f);
	fclose(f);
	free(path);
	assert_int_equal(mail_index_sync(index, 0, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, 7, &rec, &error), 1);
	assert_int_equal(rec.keyword_count, 1);
	assert_string_equal(mail_index_keyword_name(index, rec.keywords[0]),
			    "NonJunk");

	/* After a rebuild the UIDs are the same again, and (same
	 * UIDVALIDITY) MODSEQs go on above the old index's: the index says
	 * from which MODSEQ on it knows the changes. */
	struct mail_index_status st2;
	status(index, &st);
	assert_true(st.built_modseq > 0);
	assert_true(st.highestmodseq > st.built_modseq);
	mail_index_close(&index);
	path = xasprintf("%s/%s", tmpdir, MAIL_INDEX_FILE_NAME);
	assert_int_equal(unlink(path), 0);
	free(path);
	usleep(2000);
	index = open_index();
	assert_int_equal(uid_of(index, "1600000002.M1P1.host"), 7);
	status(index, &st2);
	assert_int_equal(st2.uidvalidity, st.uidvalidity);
	assert_true(st2.built_modseq > st.highestmodseq);
	assert_true(st2.highestmodseq > st2.built_modseq);
	mail_index_close(&index);
}

/* Two processes add, store and expunge at once. */
static void child_work(int which)
{
	struct mail_index *index;
	struct mail_index_change ch = { .mode = MAIL_INDEX_MODIFY_ADD };
	const char *error;
	uint32_t uid;
	char *name;

	if (mail_index_open(tmpdir, NULL, &index, &error) < 0)
		_exit(10);
	for (int i = 0; i < 40; i++) {
		char body[32];
		int len = snprintf(body, sizeof(body), "m %d %d\n", which, i);

		if (maildir_deliver(tmpdir, body, (size_t)len, 0, &name,
				    &error) < 0)
			_exit(11);
		if (i % 2 == 0) {
			if (mail_index_add(index, name, NULL, 0, &uid,
					   &error) < 0)
				_exit(12);
			ch.flags = which == 0 ? MAIL_INDEX_SEEN
					      : MAIL_INDEX_FLAGGED;
			if (mail_index_store(index, &uid, 1, &ch, NULL,
					     &error) < 0)
				_exit(13);
		} else if (mail_index_sync(index, 0, &error) < 0) {
			_exit(14);
		}
		free(name);
	}
	mail_index_close(&index);
	_exit(0);
}

static void test_two_processes(void **state)
{
	struct mail_index *index;
	struct mail_index_status st, st2;
	const char *error;
	pid_t pids[2];
	uint32_t *uids;
	size_t n;
	int status_code;

	(void)state;
	put_file("cur", "1600000000.M1P1.host:2,", "0\n");
	index = open_index();
	status(index, &st);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child_work(i);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pids[i], &status_code, 0), pids[i]);
		assert_true(WIFEXITED(status_code));
		assert_int_equal(WEXITSTATUS(status_code), 0);
	}
	/* The parent's open index sees the children's changes. */
	assert_int_equal(mail_index_changed_since(index, st.highestmodseq,
						  &error),
			 1);
	status(index, &st2);
	assert_int_equal(st2.messages, 81);
	assert_int_equal(st2.uidnext, 82);
	assert_int_equal(st2.seen, 20);
	assert_int_equal(mail_index_uids(index, &uids, &n, &error), 0);
	assert_int_equal(n, 81);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(uids[i], i + 1);
	free(uids);
	mail_index_close(&index);
}


/* ---- directory stamps under concurrent changes ---- */

/* The mode of a stamp test: 0 this file system (sub-second mtimes), 1
 * whole seconds simulated, 2 a real file system with whole-second mtimes
 * (MAIL_INDEX_TEST_COARSE_DIR). */
static int setup_stamp_mode(int mode)
{
	const char *base = "/tmp";
	char *tmpl;

	warnings = 0;
	log_set_handler(log_capture, NULL);
	mail_index_test_coarse_mtime = mode == 1;
	mail_index_test_clock_offset_nsec = 0;
	mail_index_test_write_hook = NULL;
	if (mode == 2) {
		base = getenv("MAIL_INDEX_TEST_COARSE_DIR");
		if (base == NULL || *base == '\0')
			return -1;
	}
	tmpl = xasprintf("%s/test-mail-index.XXXXXX", base);
	assert_non_null(mkdtemp(tmpl));
	tmpdir = tmpl;
	assert_int_equal(maildir_create(tmpdir, NULL), 0);
	return 0;
}

static int teardown_stamps(void **state)
{
	mail_index_test_coarse_mtime = false;
	mail_index_test_clock_offset_nsec = 0;
	mail_index_test_write_hook = NULL;
	if (tmpdir == NULL)
		return 0;
	return teardown(state);
}

/* Lets the index's clock run ahead by ms (time passing without
 * sleeping: the file systems' mtimes stay where they are). */
static void advance_clock(int64_t ms)
{
	mail_index_test_clock_offset_nsec += ms * 1000000;
}

static void sync_ok(struct mail_index *index)
{
	const char *error = NULL;

	if (mail_index_sync(index, 0, &error) < 0)
		fail_msg("sync: %s", error);
}

/* Sets the mtime of tmpdir/sub 10 s back. */
static void backdate(const char *sub)
{
	char *path = xasprintf("%s/%s", tmpdir, sub);
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 10;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	free(path);
}

/* A folder of n messages in cur/, indexed, with trusted stamps. */
static struct mail_index *stamp_folder(unsigned n)
{
	struct mail_index *index;

	for (unsigned i = 0; i < n; i++) {
		char name[64];

		snprintf(name, sizeof(name), "1600000%03u.M%uP1.host:2,", i, i);
		put_file("cur", name, "Subject: x\n\nbody\n");
	}
	/* An old maildir: its directories last changed 10 s ago, so the
	 * stamps of the first scan are trusted. */
	backdate("new");
	backdate("cur");
	index = open_index();
	sync_ok(index);
	return index;
}

struct name_set {
	char **names;
	size_t count;
};

static int collect_cb(const struct mail_index_record *rec, void *context)
{
	struct name_set *set = context;

	set->names = xreallocarray(set->names, set->count + 1,
				   sizeof(*set->names));
	set->names[set->count++] = xasprintf("%s/%s",
					     rec->in_new ? "new" : "cur",
					     rec->name);
	return 0;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Asserts that the index lists exactly the files of the maildir. */
static void assert_index_true(struct mail_index *index)
{
	struct name_set set = { NULL, 0 };
	struct maildir_list *list;
	char **want;
	const char *error;

	assert_int_equal(mail_index_iterate(index, 1, UINT32_MAX, collect_cb,
					    &set, &error),
			 0);
	assert_int_equal(maildir_list(tmpdir, &list, &error), 0);
	want = xcalloc(list->count + 1, sizeof(*want));
	for (size_t i = 0; i < list->count; i++)
		want[i] = xasprintf("%s/%s",
				    list->entries[i].in_new ? "new" : "cur",
				    list->entries[i].name);
	if (set.count > 1)
		qsort(set.names, set.count, sizeof(char *), str_ptr_cmp);
	if (list->count > 1)
		qsort(want, list->count, sizeof(char *), str_ptr_cmp);
	for (size_t i = 0; i < set.count || i < list->count; i++) {
		if (i >= set.count || i >= list->count ||
		    strcmp(set.names[i], want[i]) != 0)
			fail_msg("index and maildir differ at %zu: %s / %s", i,
				 i < set.count ? set.names[i] : "(end)",
				 i < list->count ? want[i] : "(end)");
	}
	for (size_t i = 0; i < set.count; i++)
		free(set.names[i]);
	for (size_t i = 0; i < list->count; i++)
		free(want[i]);
	free(set.names);
	free(want);
	maildir_list_free(&list);
}

static void store_seen(struct mail_index *index, uint32_t uid, bool on)
{
	struct mail_index_change ch = {
		.mode = on ? MAIL_INDEX_MODIFY_ADD : MAIL_INDEX_MODIFY_REMOVE,
		.flags = MAIL_INDEX_SEEN,
	};
	const char *error = NULL;

	if (mail_index_store(index, &uid, 1, &ch, NULL, &error) != 1)
		fail_msg("store: %s", error != NULL ? error : "no change");
}

/* Our own STORE, EXPUNGE, APPEND and new/ to cur/ cost no session a
 * scan: the second handle (another session) reads the result. */
static void run_own_changes(int mode)
{
	struct mail_index *a, *b;
	struct mail_index_record rec;
	const char *error;
	uint32_t uid, first;
	char *name;
	unsigned scans;

	a = stamp_folder(20);
	b = open_index();
	sync_ok(b);
	scans = mail_index_test_scans;
	for (uint32_t u = 1; u <= 10; u++) {
		store_seen(a, u, true);
		sync_ok(b);
		assert_int_equal(mail_index_lookup_uid(b, u, &rec, &error), 1);
		assert_true((rec.flags & MAIL_INDEX_SEEN) != 0);
	}
	uid = 3;
	assert_int_equal(mail_index_expunge(a, &uid, 1, NULL, &error), 1);
	sync_ok(b);
	assert_int_equal(mail_index_lookup_uid(b, 3, &rec, &error), 0);
	/* APPEND: the caller links the file into cur/, then adds it. */
	name = xstrdup("1700000000.M1P2.host,S=14:2,S");
	put_file("cur", name, "Subject: a\n\nx\n");
	assert_int_equal(mail_index_add(a, name, NULL, 0, &uid, &error), 0);
	free(name);
	sync_ok(b);
	assert_int_equal(mail_index_lookup_uid(b, uid, &rec, &error), 1);
	assert_int_equal(mail_index_claim_recent(a, &first, &error), 0);
	assert_int_equal(mail_index_test_scans, scans);
	assert_index_true(b);
	/* After the recheck time one scan verifies; then quiet again. */
	advance_clock(1100);
	sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	sync_ok(a);
	sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	assert_index_true(a);
	mail_index_close(&a);
	mail_index_close(&b);
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
	char *path = xasprintf("%s/%s", tmpdir, MAIL_INDEX_FILE_NAME);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "modseq", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(path);
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
	assert_int_equal(setup_stamp_mode(0), 0);
	index = stamp_folder(8);
	status(index, &st);
	m0 = st.highestmodseq;
	got = changed_list(index, 0);
	assert_string_equal(got, "1,2,3,4,5,6,7,8,");
	free(got);
	got = changed_list(index, m0);
	assert_string_equal(got, "");
	free(got);
	store_seen(index, 6, true);
	store_seen(index, 2, true);
	status(index, &st);
	m1 = st.highestmodseq;
	store_seen(index, 6, false);
	store_seen(index, 4, true);
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
	index = open_index();
	got = changed_list(index, m0);
	assert_string_equal(got, "2,6,");
	free(got);
	got = changed_list(index, 0);
	assert_string_equal(got, "1,2,3,5,6,7,8,");
	free(got);
	store_seen(index, 7, true);
	got = changed_list(index, m1);
	assert_string_equal(got, "6,7,");
	free(got);
	assert_index_true(index);
	mail_index_close(&index);
}

/* The committed writer number of index. */
static uint64_t busy_seq(struct mail_index *index)
{
	MDB_txn *txn;
	uint64_t seq = 0;
	const char *error;

	assert_int_equal(mail_index_read_begin(index, &txn, &error), 0);
	assert_int_equal(mail_index_busy_get(index, txn, &seq, &error), 0);
	mail_index_read_end(index, &txn);
	return seq;
}

/* A rename in cur/ by "another program" (the flags of message i of
 * stamp_folder()). */
static void rename_outside(unsigned i, const char *flags)
{
	char *from, *to;

	from = xasprintf("%s/cur/1600000%03u.M%uP1.host:2,", tmpdir, i, i);
	to = xasprintf("%s/cur/1600000%03u.M%uP1.host:2,%s", tmpdir, i, i,
		       flags);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
}

/* A writer at work (the marker ahead of the committed number) makes a
 * session use what the index says instead of waiting for the writer
 * lock; for at most MAIL_INDEX_DEFER_NSEC, and only while the writers
 * that commit account for what it saw. */
static void test_busy_defer(void **state)
{
	struct mail_index *a, *b;
	struct mail_index_record rec;
	const char *error;
	unsigned scans;
	uint64_t seq;

	(void)state;
	assert_int_equal(setup_stamp_mode(0), 0);
	a = stamp_folder(10);
	b = open_index();
	sync_ok(b);
	/* Each write transaction numbers itself. */
	seq = busy_seq(a);
	store_seen(a, 1, true);
	assert_int_equal(busy_seq(a), seq + 1);
	assert_false(mail_index_busy_ahead(a, seq + 1));
	assert_true(mail_index_busy_ahead(a, seq));
	sync_ok(b);
	/* A change while the marker says a writer is at work: put off. */
	seq = busy_seq(a);
	assert_int_equal(mail_index_busy_mark(a, seq + 1), 0);
	rename_outside(2, "F");
	scans = mail_index_test_scans;
	sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans);
	assert_int_equal(mail_index_lookup_uid(b, 3, &rec, &error), 1);
	assert_int_equal(rec.flags, 0);
	/* Not for longer than MAIL_INDEX_DEFER_NSEC: then the writer lock,
	 * which finds the marker of a writer that died and resets it. */
	advance_clock(MAIL_INDEX_DEFER_NSEC / 1000000 + 100);
	sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	assert_int_equal(mail_index_lookup_uid(b, 3, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_FLAGGED);
	assert_false(mail_index_busy_ahead(a, busy_seq(a)));
	assert_index_true(b);

	/* A change by another program while a writer of ours is at work:
	 * the writer's commit does not account for it (it leaves the
	 * stamp of cur/ stale), so the next look scans at once. */
	advance_clock(2000);
	sync_ok(b);
	seq = busy_seq(a);
	assert_int_equal(mail_index_busy_mark(a, seq + 1), 0);
	rename_outside(4, "S");
	scans = mail_index_test_scans;
	sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans);
	store_seen(a, 6, true);
	assert_int_equal(busy_seq(a), seq + 1);
	sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	assert_int_equal(mail_index_lookup_uid(b, 5, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	assert_index_true(b);

	/* Without a writer at work, a change is scanned at once. */
	advance_clock(2000);
	sync_ok(b);
	rename_outside(7, "R");
	scans = mail_index_test_scans;
	sync_ok(b);
	assert_int_equal(mail_index_test_scans, scans + 1);
	assert_int_equal(mail_index_lookup_uid(b, 8, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_ANSWERED);
	assert_index_true(b);
	mail_index_close(&a);
	mail_index_close(&b);
}

static void test_stamp_own_changes(void **state)
{
	(void)state;
	assert_int_equal(setup_stamp_mode(0), 0);
	run_own_changes(0);
}

static void test_stamp_own_changes_coarse(void **state)
{
	(void)state;
	assert_int_equal(setup_stamp_mode(1), 0);
	run_own_changes(1);
}

/* The hooks' victim: another program's change inside our transaction. */
static char *hook_from, *hook_to;
static bool hook_done;

static void rename_hook(struct mail_index *index)
{
	(void)index;
	if (hook_done || hook_from == NULL)
		return;
	hook_done = true;
	assert_int_equal(rename(hook_from, hook_to), 0);
}

/* Another program renames (flags) or delivers between our stamps and
 * our rename: a flag change in cur/ is found by the recheck at the
 * latest, a delivery into new/ at the next sync. */
static void run_foreign_in_txn(int mode)
{
	struct mail_index *a, *b;
	struct mail_index_record rec;
	const char *error;
	uint32_t uid;
	char *dname;

	a = stamp_folder(10);
	b = open_index();
	sync_ok(b);
	/* A delivery into new/ inside our transaction: found at once. */
	assert_int_equal(maildir_deliver(tmpdir, "x\n", 2, 0, &dname, &error),
			 0);
	{
		/* Take it back out to tmp/ and let the hook deliver it. */
		char *n = xasprintf("%s/new/%s", tmpdir, dname);
		char *t = xasprintf("%s/tmp/%s", tmpdir, dname);

		assert_int_equal(rename(n, t), 0);
		hook_from = t;
		hook_to = n;
	}
	sync_ok(a);
	sync_ok(b);
	hook_done = false;
	mail_index_test_write_hook = rename_hook;
	store_seen(a, 2, true);
	mail_index_test_write_hook = NULL;
	assert_true(hook_done);
	free(hook_from);
	free(hook_to);
	hook_from = NULL;
	sync_ok(b);
	assert_int_equal(mail_index_lookup_base(b, dname, &rec, &error), 1);
	uid = rec.uid;
	sync_ok(a);
	assert_int_equal(mail_index_lookup_uid(a, uid, &rec, &error), 1);
	free(dname);
	assert_index_true(a);

	/* Message 5's file gets \Flagged by another program. */
	assert_int_equal(mail_index_lookup_uid(a, 5, &rec, &error), 1);
	hook_from = xasprintf("%s/cur/%s", tmpdir, rec.name);
	hook_to = xasprintf("%s/cur/%.*sF", tmpdir, (int)rec.base_len + 3,
			    rec.name);
	hook_done = false;
	mail_index_test_write_hook = rename_hook;
	store_seen(a, 1, true);
	mail_index_test_write_hook = NULL;
	assert_true(hook_done);
	free(hook_from);
	free(hook_to);
	hook_from = NULL;
	sync_ok(b);
	/* Within the recheck time it may still be unseen; after it, it
	 * must be found (the clock jump ends the test: mtimes stay real). */
	advance_clock(1100);
	sync_ok(b);
	assert_int_equal(mail_index_lookup_uid(b, 5, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_FLAGGED);
	assert_index_true(b);

	assert_index_true(a);
	(void)mode;
	mail_index_close(&a);
	mail_index_close(&b);
}

static void test_stamp_foreign_in_txn(void **state)
{
	(void)state;
	assert_int_equal(setup_stamp_mode(0), 0);
	run_foreign_in_txn(0);
}

static void test_stamp_foreign_in_txn_coarse(void **state)
{
	(void)state;
	assert_int_equal(setup_stamp_mode(1), 0);
	run_foreign_in_txn(1);
}

/* Deliveries and removals right after a scan, in the same clock tick
 * (the same second on a whole-second file system): the next sync finds a
 * delivery, a removal or rename in cur/ is found by the recheck. */
static void run_same_tick(int mode)
{
	struct mail_index *a;
	struct mail_index_record rec;
	struct mail_index_status st;
	const char *error;
	char *n1, *n2, *path;

	a = stamp_folder(4);
	assert_int_equal(maildir_deliver(tmpdir, "1\n", 2, 0, &n1, &error), 0);
	sync_ok(a);
	assert_int_equal(mail_index_lookup_base(a, n1, &rec, &error), 1);
	/* Same tick (or not: it must be found either way). */
	assert_int_equal(maildir_deliver(tmpdir, "2\n", 2, 0, &n2, &error), 0);
	sync_ok(a);
	assert_int_equal(mail_index_lookup_base(a, n2, &rec, &error), 1);
	/* Another program removes message 2 from cur/ right after a scan
	 * that followed our STORE. */
	store_seen(a, 1, true);
	sync_ok(a);
	assert_int_equal(mail_index_lookup_uid(a, 2, &rec, &error), 1);
	path = xasprintf("%s/cur/%s", tmpdir, rec.name);
	assert_int_equal(unlink(path), 0);
	free(path);
	sync_ok(a);
	advance_clock(1100);
	sync_ok(a);
	assert_int_equal(mail_index_lookup_uid(a, 2, &rec, &error), 0);
	status(a, &st);
	assert_int_equal(st.messages, 5);
	assert_index_true(a);
	free(n1);
	free(n2);
	(void)mode;
	mail_index_close(&a);
}

static void test_stamp_same_tick(void **state)
{
	(void)state;
	assert_int_equal(setup_stamp_mode(0), 0);
	run_same_tick(0);
}

static void test_stamp_same_tick_coarse(void **state)
{
	(void)state;
	assert_int_equal(setup_stamp_mode(1), 0);
	run_same_tick(1);
}

static void test_stamp_same_tick_real_coarse(void **state)
{
	(void)state;
	if (setup_stamp_mode(2) < 0) {
		tmpdir = NULL;
		skip();
	}
	run_same_tick(2);
}

static void test_stamp_real_coarse_foreign(void **state)
{
	(void)state;
	if (setup_stamp_mode(2) < 0) {
		tmpdir = NULL;
		skip();
	}
	run_foreign_in_txn(2);
}

static void test_stamp_real_coarse_own(void **state)
{
	(void)state;
	if (setup_stamp_mode(2) < 0) {
		tmpdir = NULL;
		skip();
	}
	run_own_changes(2);
}

/* Scans of any kind (full, or of new/ alone) made so far. */
static unsigned all_scans(void)
{
	return mail_index_test_scans + mail_index_test_new_scans;
}

/* The racy window follows the file system: a scan 60 ms after a
 * delivery is trusted with sub-second mtimes (the next sync reads
 * nothing), not with whole seconds (the next sync scans new/ again). */
static void test_stamp_racy_window(void **state)
{
	struct mail_index *a;
	const char *error;
	char *n;
	unsigned scans;

	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(setup_stamp_mode(mode), 0);
		a = stamp_folder(3);
		mail_index_test_clock_offset_nsec = 0;
		assert_int_equal(maildir_deliver(tmpdir, "1\n", 2, 0, &n,
						 &error),
				 0);
		free(n);
		/* Pretend 60 ms passed since the delivery (the mtime is
		 * whole seconds in mode 1: wait for the next second). */
		if (mode == 1) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			advance_clock(1000 - ts.tv_nsec / 1000000);
		} else {
			advance_clock(60);
		}
		sync_ok(a);
		scans = all_scans();
		sync_ok(a);
		assert_int_equal(all_scans(),
				 scans + (mode == 0 ? 0 : 1));
		mail_index_close(&a);
		teardown_stamps(state);
	}
	tmpdir = NULL;
}

/* Two processes: one delivers into new/ and renames files in cur/ as
 * another program would, the other stores and expunges through the
 * index; after the recheck time the index matches the maildir. */
static void test_stamp_concurrent(void **state)
{
	struct mail_index *a;
	pid_t pid;
	int status_code;
	const char *error;

	(void)state;
	assert_int_equal(setup_stamp_mode(0), 0);
	a = stamp_folder(50);
	mail_index_test_clock_offset_nsec = 0;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 200; i++) {
			char *name;

			if (maildir_deliver(tmpdir, "c\n", 2, 0, &name,
					    &error) < 0)
				_exit(1);
			free(name);
			if (i % 4 == 0) {
				/* Flag a message in cur/ behind the index. */
				struct maildir_list *l;

				if (maildir_list(tmpdir, &l, &error) < 0)
					_exit(2);
				for (size_t j = 0; j < l->count; j++) {
					const struct maildir_entry *e =
						&l->entries[(j + (size_t)i) %
							    l->count];
					if (e->in_new ||
					    strchr(e->flags, 'F') != NULL)
						continue;
					char *f = xasprintf("%s/cur/%s",
							    tmpdir, e->name);
					char *t = xasprintf("%s%s", f,
							    strstr(e->name,
								   ":2,") ?
								    "F" :
								    ":2,F");
					(void)rename(f, t);
					free(f);
					free(t);
					break;
				}
				maildir_list_free(&l);
			}
		}
		_exit(0);
	}
	for (int i = 0; i < 300; i++) {
		struct mail_index_status st;
		uint32_t uid;

		sync_ok(a);
		status(a, &st);
		uid = st.uidnext - 1 - (uint32_t)(i % 7);
		struct mail_index_change ch = {
			.mode = MAIL_INDEX_MODIFY_ADD, .flags = MAIL_INDEX_SEEN,
		};
		if (mail_index_store(a, &uid, 1, &ch, NULL, &error) < 0)
			fail_msg("store: %s", error);
		if (i % 10 == 5) {
			uid = (uint32_t)i / 10 + 1;
			assert_true(mail_index_expunge(a, &uid, 1, NULL,
						       &error) >= 0);
		}
		uint32_t first;
		if (i % 3 == 0)
			assert_int_equal(mail_index_move_to_cur(
						 a, &uid, 1, &error) >= 0,
					 1);
		if (i % 11 == 0)
			assert_int_equal(mail_index_claim_recent(a, &first,
								 &error),
					 0);
	}
	assert_int_equal(waitpid(pid, &status_code, 0), pid);
	assert_true(WIFEXITED(status_code));
	assert_int_equal(WEXITSTATUS(status_code), 0);
	advance_clock(1100);
	sync_ok(a);
	assert_index_true(a);
	mail_index_close(&a);
}

/* Another program renames a file between two of our calls: opening the
 * message, computing its size or moving it to cur/ finds it again and
 * takes the flags its new name carries (with a new MODSEQ), so that the
 * record never holds a name whose flags it does not have (a scan compares
 * names only and would never correct it). */
static void test_refound_takes_flags(void **state)
{
	struct mail_index *index;
	struct mail_index_record rec;
	struct mail_index_status st;
	const char *error;
	uint64_t vsize, before;
	uint32_t u1, u2, u3;
	char *from, *to;
	int fd;

	(void)state;
	put_file("cur", "1600000001.M1P1.host:2,", "Subject: 1\n\nx\n");
	put_file("cur", "1600000002.M2P1.host:2,S", "Subject: 2\n\nx\n");
	put_file("new", "1600000003.M3P1.host", "Subject: 3\n\nx\n");
	index = open_index();
	u1 = uid_of(index, "1600000001.M1P1.host");
	u2 = uid_of(index, "1600000002.M2P1.host");
	u3 = uid_of(index, "1600000003.M3P1.host");
	assert_true(u1 != 0 && u2 != 0 && u3 != 0);

	/* Flagged behind our back, then opened (FETCH BODY). */
	from = xasprintf("%s/cur/1600000001.M1P1.host:2,", tmpdir);
	to = xasprintf("%s/cur/1600000001.M1P1.host:2,F", tmpdir);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
	status(index, &st);
	before = st.highestmodseq;
	assert_int_equal(mail_index_open_message(index, u1, &fd, &error), 1);
	close(fd);
	assert_int_equal(mail_index_lookup_uid(index, u1, &rec, &error), 1);
	assert_string_equal(rec.name, "1600000001.M1P1.host:2,F");
	assert_int_equal(rec.flags, MAIL_INDEX_FLAGGED);
	assert_true(rec.modseq > before);
	status(index, &st);
	assert_int_equal(st.highestmodseq, rec.modseq);

	/* \Seen taken away behind our back, then RFC822.SIZE computed. */
	from = xasprintf("%s/cur/1600000002.M2P1.host:2,S", tmpdir);
	to = xasprintf("%s/cur/1600000002.M2P1.host:2,", tmpdir);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
	assert_int_equal(mail_index_get_vsize(index, u2, &vsize, &error), 1);
	assert_int_equal(vsize, 17);
	assert_int_equal(mail_index_lookup_uid(index, u2, &rec, &error), 1);
	assert_int_equal(rec.flags, 0);
	status(index, &st);
	assert_int_equal(st.seen, 0);

	/* Read by a mail reader (new/ to cur/ with \Seen), then moved by
	 * us. */
	from = xasprintf("%s/new/1600000003.M3P1.host", tmpdir);
	to = xasprintf("%s/cur/1600000003.M3P1.host:2,S", tmpdir);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
	assert_int_equal(mail_index_move_to_cur(index, &u3, 1, &error), 1);
	assert_int_equal(mail_index_lookup_uid(index, u3, &rec, &error), 1);
	assert_false(rec.in_new);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	status(index, &st);
	assert_int_equal(st.seen, 1);

	/* A full scan agrees with all of it. */
	assert_int_equal(mail_index_sync(index, MAIL_INDEX_SYNC_FORCE, &error),
			 0);
	assert_int_equal(mail_index_lookup_uid(index, u1, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_FLAGGED);
	assert_int_equal(mail_index_lookup_uid(index, u3, &rec, &error), 1);
	assert_int_equal(rec.flags, MAIL_INDEX_SEEN);
	mail_index_close(&index);
}

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
	assert_int_equal(setup_stamp_mode(0), 0);
	a = stamp_folder(5);
	mail_index_test_clock_offset_nsec = 0;
	/* A forced scan of an unchanged folder with trusted stamps. */
	txn = last_txnid(a);
	scans = all_scans();
	assert_int_equal(mail_index_sync(a, MAIL_INDEX_SYNC_FORCE, &error), 0);
	assert_int_equal(all_scans(), scans + 1);
	assert_int_equal(last_txnid(a), txn);

	/* A file comes and goes in new/: new/'s mtime moved, nothing to
	 * index.  Within the racy window every sync scans, none writes. */
	assert_int_equal(maildir_deliver(tmpdir, "x\n", 2, 0, &n, &error), 0);
	path = xasprintf("%s/new/%s", tmpdir, n);
	assert_int_equal(unlink(path), 0);
	free(path);
	free(n);
	/* (Its mtime 5 s ahead: within the window however slow we are.) */
	{
		struct timespec ts[2];

		path = xasprintf("%s/new", tmpdir);
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec += 5;
		ts[1] = ts[0];
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
		free(path);
	}
	scans = all_scans();
	sync_ok(a);
	sync_ok(a);
	assert_int_equal(all_scans(), scans + 2);
	assert_int_equal(last_txnid(a), txn);
	/* Past the racy window one scan writes the trusted stamps, and
	 * the syncs after it read nothing. */
	advance_clock(5100);
	sync_ok(a);
	assert_int_equal(all_scans(), scans + 3);
	assert_int_equal(last_txnid(a), txn + 1);
	sync_ok(a);
	sync_ok(a);
	assert_int_equal(all_scans(), scans + 3);
	assert_int_equal(last_txnid(a), txn + 1);

	/* A delivery is written at once. */
	assert_int_equal(maildir_deliver(tmpdir, "y\n", 2, 0, &n, &error), 0);
	free(n);
	assert_int_equal(mail_index_sync(a, 0, &error), 1);
	assert_int_equal(last_txnid(a), txn + 2);
	assert_index_true(a);
	mail_index_close(&a);
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
		put_file("cur", name, "Subject: x\n\nbody\n");
	}
	/* Let the directory stamps age past the racy window. */
	{
		struct timespec old[2] = { { 1600000000, 0 },
					   { 1600000000, 0 } };
		char *p = xasprintf("%s/cur", tmpdir);

		assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
		free(p);
		p = xasprintf("%s/new", tmpdir);
		assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
		free(p);
	}
	t0 = now_ms();
	index = open_index();
	t_cold = now_ms() - t0;
	status(index, &st);
	assert_int_equal(st.messages, N);
	mail_index_close(&index);

	t0 = now_ms();
	index = open_index();
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
		assert_int_equal(uid_of(index, name), (uint32_t)i + 1);
	}
	t_base = now_ms() - t0;

	/* One file deleted behind the index's back: a full rescan. */
	snprintf(name, sizeof(name), "%s/cur/%d.M%06dP4242Q%d.host,S=20:2,",
		 tmpdir, 1600000001, 1, 1);
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
	assert_int_equal(setup_stamp_mode(0), 0);
	a = stamp_folder(5);
	mail_index_test_clock_offset_nsec = 0;
	assert_int_equal(maildir_deliver(tmpdir, "1\n", 2, 0, &n, &error), 0);
	advance_clock(60);
	full = mail_index_test_scans;
	part = mail_index_test_new_scans;
	assert_int_equal(mail_index_sync(a, 0, &error), 1);
	assert_int_equal(mail_index_test_scans, full);
	assert_int_equal(mail_index_test_new_scans, part + 1);
	uid = uid_of(a, n);
	assert_int_equal(uid, 6);
	assert_index_true(a);

	/* Our own move to cur/: the next syncs look at new/ only. */
	assert_int_equal(mail_index_move_to_cur(a, &uid, 1, &error), 1);
	sync_ok(a);
	sync_ok(a);
	assert_int_equal(mail_index_test_scans, full);
	assert_index_true(a);
	assert_int_equal(uid_of(a, n), 6);

	/* Indexed in new/, then removed from there by another program. */
	assert_int_equal(maildir_deliver(tmpdir, "2\n", 2, 0, &n2, &error),
			 0);
	advance_clock(60);
	sync_ok(a);
	assert_int_equal(mail_index_test_scans, full);
	assert_int_equal(uid_of(a, n2), 7);
	path = xasprintf("%s/new/%s", tmpdir, n2);
	assert_int_equal(unlink(path), 0);
	free(path);
	advance_clock(60);
	assert_int_equal(mail_index_sync(a, 0, &error), 1);
	assert_int_equal(mail_index_test_scans, full + 1);
	assert_int_equal(uid_of(a, n2), 0);
	assert_index_true(a);
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
			 i + 10, i + 12, i % 3 == 0 ? "S" : i % 3 == 1 ? "T" : "");
		put_file("cur", name, "x\n");
	}
	/* Out of byte order in Courier's (9 digits of time), no sizes in
	 * the name (the file is stat()ed), and in new/. */
	put_file("cur", "999999999.M1P1.host:2,FS", "abc\n");
	put_file("new", "1600009999.M2P2.host", "hello\n");
	put_file("new", "1600000150.M3P3.host,S=5", "hell\n");
	index = open_index();

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
	assert_int_equal(uid_of(index, "999999999.M1P1.host"), 1);
	assert_index_true(index);
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
		put_file(k % 5 == 0 ? "new" : "cur", name, "x\n");
	}
	put_file("cur", "1600000000.M1P1.host", "x\n");
	put_file("new", "1600000000.M1P1.host", "x\n");
	assert_int_equal(maildir_list(tmpdir, &list, &error), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open_reopen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_external_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keywords_compacted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_expunge_and_log, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uidplus_append, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iterate_recent_move_cache,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_rebuilt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_record, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_courier_import, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup,
						teardown),
		cmocka_unit_test_teardown(test_stamp_own_changes,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_own_changes_coarse,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_foreign_in_txn,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_foreign_in_txn_coarse,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_same_tick,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_same_tick_coarse,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_same_tick_real_coarse,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_real_coarse_own,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_real_coarse_foreign,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_racy_window,
					  teardown_stamps),
		cmocka_unit_test_teardown(test_stamp_concurrent,
					  teardown_stamps),
		cmocka_unit_test_setup_teardown(test_refound_takes_flags, setup,
						teardown),
		cmocka_unit_test_teardown(test_scan_without_change,
					  teardown_stamps),
		cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
		cmocka_unit_test_teardown(test_busy_defer, teardown_stamps),
		cmocka_unit_test_teardown(test_changed_since, teardown_stamps),
		cmocka_unit_test_teardown(test_scan_new_only, teardown_stamps),
		cmocka_unit_test_setup_teardown(test_bulk_equals_one_by_one,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_sorted, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
