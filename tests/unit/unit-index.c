/* unit-index.c: the shared set-up of the mail index's unit tests (see
 * unit-index.h). */
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
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "mem.h"
#include "unit-files.h"
#include "unit-index.h"

char *unit_index_dir;
int unit_index_warnings;

static void log_count(enum log_level level, const char *line, void *ctx)
{
	(void)line;
	(void)ctx;
	if (level == LOG_LEVEL_WARNING)
		unit_index_warnings++;
}

int unit_index_setup(void **state)
{
	(void)state;
	unit_index_dir = unit_maildir("mail-index");
	unit_index_warnings = 0;
	log_set_handler(log_count, NULL);
	return 0;
}

int unit_index_teardown(void **state)
{
	(void)state;
	log_set_handler(NULL, NULL);
	if (unit_index_dir != NULL)
		unit_rm_rf(unit_index_dir);
	x_free(unit_index_dir);
	return 0;
}

static void reset_hooks(void)
{
	mail_index_test_coarse_mtime = false;
	mail_index_test_clock_offset_nsec = 0;
	mail_index_test_write_hook = NULL;
}

int unit_index_setup_stamps(int mode)
{
	const char *base;
	char *tmpl;
	const char *error;

	reset_hooks();
	mail_index_test_coarse_mtime = mode == 1;
	if (mode != 2)
		return unit_index_setup(NULL);
	base = getenv("MAIL_INDEX_TEST_COARSE_DIR");
	if (base == NULL || *base == '\0')
		return -1;
	tmpl = xasprintf("%s/test-mail-index.XXXXXX", base);
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp %s failed", tmpl);
	if (maildir_create(tmpl, &error) < 0)
		fail_msg("maildir_create %s: %s", tmpl, error);
	unit_index_dir = tmpl;
	unit_index_warnings = 0;
	log_set_handler(log_count, NULL);
	return 0;
}

int unit_index_teardown_stamps(void **state)
{
	reset_hooks();
	return unit_index_teardown(state);
}

void unit_index_put(const char *sub, const char *name, const char *text)
{
	char *rel = xasprintf("%s/%s", sub, name);

	unit_write_file(unit_index_dir, rel, text);
	free(rel);
}

bool unit_index_exists(const char *sub, const char *name)
{
	char *path = xasprintf("%s/%s/%s", unit_index_dir, sub, name);
	bool ret = access(path, F_OK) == 0;

	free(path);
	return ret;
}

void unit_index_rename(const char *from, const char *to)
{
	char *a = xasprintf("%s/%s", unit_index_dir, from);
	char *b = xasprintf("%s/%s", unit_index_dir, to);

	if (rename(a, b) < 0)
		fail_msg("rename %s to %s failed", a, b);
	free(a);
	free(b);
}

void unit_index_deliver(const char *text, char **name_r)
{
	const char *error = NULL;

	if (maildir_deliver(unit_index_dir, text, strlen(text), 0, name_r,
			    &error) < 0)
		fail_msg("deliver: %s", error);
}

void unit_index_age_dirs(void)
{
	static const char *const subs[] = { "cur", "new" };
	struct timespec old[2] = { { 1600000000, 0 }, { 1600000000, 0 } };

	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *p = xasprintf("%s/%s", unit_index_dir, subs[i]);

		assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
		free(p);
	}
}

struct mail_index *unit_index_open(void)
{
	struct mail_index *index;
	const char *error = NULL;

	if (mail_index_open(unit_index_dir, NULL, &index, &error) < 0)
		fail_msg("open: %s", error);
	return index;
}

void unit_index_status(struct mail_index *index, struct mail_index_status *st)
{
	const char *error = NULL;

	if (mail_index_get_status(index, st, &error) < 0)
		fail_msg("status: %s", error);
}

void unit_index_sync_ok(struct mail_index *index)
{
	const char *error = NULL;

	if (mail_index_sync(index, 0, &error) < 0)
		fail_msg("sync: %s", error);
}

uint32_t unit_index_uid_of(struct mail_index *index, const char *base)
{
	struct mail_index_record rec;
	const char *error;

	if (mail_index_lookup_base(index, base, &rec, &error) != 1)
		return 0;
	return rec.uid;
}

void unit_index_store_seen(struct mail_index *index, uint32_t uid, bool on)
{
	struct mail_index_change ch = {
		.mode = on ? MAIL_INDEX_MODIFY_ADD : MAIL_INDEX_MODIFY_REMOVE,
		.flags = MAIL_INDEX_SEEN,
	};
	const char *error = NULL;

	if (mail_index_store(index, &uid, 1, &ch, NULL, &error) != 1)
		fail_msg("store: %s", error != NULL ? error : "no change");
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

void unit_index_assert_true(struct mail_index *index)
{
	struct name_set set = { NULL, 0 };
	struct maildir_list *list;
	char **want;
	const char *error;

	assert_int_equal(mail_index_iterate(index, 1, UINT32_MAX, collect_cb,
					    &set, &error),
			 0);
	assert_int_equal(maildir_list(unit_index_dir, &list, &error), 0);
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

MDB_txn *unit_index_raw_begin(const char *db, MDB_env **env_r,
			      MDB_dbi *dbi_r)
{
	char *path = xasprintf("%s/%s", unit_index_dir, MAIL_INDEX_FILE_NAME);
	MDB_txn *txn;

	assert_int_equal(mdb_env_create(env_r), 0);
	assert_int_equal(mdb_env_set_maxdbs(*env_r, 8), 0);
	assert_int_equal(mdb_env_open(*env_r, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(*env_r, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, dbi_r), 0);
	free(path);
	return txn;
}

void unit_index_raw_commit(MDB_env *env, MDB_txn *txn)
{
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

void unit_index_advance_clock(int64_t ms)
{
	mail_index_test_clock_offset_nsec += ms * 1000000;
}

/* Sets the mtime of DIR/sub 10 s back. */
static void backdate(const char *sub)
{
	char *path = xasprintf("%s/%s", unit_index_dir, sub);
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 10;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	free(path);
}

struct mail_index *unit_index_stamp_folder(unsigned n)
{
	struct mail_index *index;

	for (unsigned i = 0; i < n; i++) {
		char name[64];

		snprintf(name, sizeof(name), "1600000%03u.M%uP1.host:2,", i, i);
		unit_index_put("cur", name, "Subject: x\n\nbody\n");
	}
	/* An old maildir: its directories last changed 10 s ago, so the
	 * stamps of the first scan are trusted. */
	backdate("new");
	backdate("cur");
	index = unit_index_open();
	unit_index_sync_ok(index);
	return index;
}

unsigned unit_index_all_scans(void)
{
	return mail_index_test_scans + mail_index_test_new_scans;
}
