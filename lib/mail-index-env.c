/* mail-index-env.c: the mail index's LMDB environments (one per index
 * file per process), transactions, errors, the clock, and what is done
 * when LMDB finds a file damaged. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "mem.h"

static char error_buf[1024];
static struct mail_index_env *envs;
/* The LMDB code of the last LMDB error (MDB_MAP_FULL means: grow, retry). */
int mail_index_last_mdb_rc;

void mail_index_set_error(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error_buf, sizeof(error_buf), fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = error_buf;
}

void mail_index_set_mdb_error(const char **error_r, const char *what, int rc)
{
	mail_index_set_error(error_r, "mail index: %s: %s", what,
			     mdb_strerror(rc));
	mail_index_last_mdb_rc = rc;
	if (rc > 0)
		errno = rc;
	else
		errno = EIO;
}

void mail_index_now(struct mail_index_stamp *now_r)
{
	struct timespec ts;

	/* The clock the kernel stamps files with: a change made after
	 * this reading gets an mtime at or after it, however far this
	 * clock lags the precise one (a stalled tick on a busy virtual
	 * machine), which a stamp's racy window could not cover. */
	if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) < 0)
		clock_gettime(CLOCK_REALTIME, &ts);
	now_r->sec = ts.tv_sec + mail_index_test_clock_offset_nsec / 1000000000;
	now_r->nsec = ts.tv_nsec + mail_index_test_clock_offset_nsec % 1000000000;
	if (now_r->nsec >= 1000000000) {
		now_r->nsec -= 1000000000;
		now_r->sec++;
	}
}

/* ---- environments ---- */

static bool mdb_rc_is_corruption(int rc)
{
	return rc == MDB_INVALID || rc == MDB_CORRUPTED ||
	       rc == MDB_VERSION_MISMATCH || rc == MDB_PAGE_NOTFOUND ||
	       rc == MDB_INCOMPATIBLE || rc == MDB_BAD_DBI;
}

static void env_free(struct mail_index_env *e)
{
	if (e->rtxn != NULL)
		mdb_txn_abort(e->rtxn);
	if (e->env != NULL)
		mdb_env_close(e->env);
	free(e->path);
	free(e);
}

/* Opens the "modseq" database, making it from "msgs" in an index written
 * before it existed.  Returns 0 or an LMDB code. */
static int modseq_db_open(struct mail_index_env *e, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val key, val, mkey, mval = { 0, (void *)"" };
	uint8_t k[12];
	int rc;

	rc = mdb_dbi_open(txn, "modseq", 0, &e->db_modseq);
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = mdb_dbi_open(txn, "modseq", MDB_CREATE, &e->db_modseq);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_open(txn, e->db_msgs, &cur);
	if (rc != 0)
		return rc;
	mkey.mv_size = sizeof(k);
	mkey.mv_data = k;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct mail_index_rec_disk d;

		if (key.mv_size != 4 || val.mv_size < sizeof(d))
			continue;
		memcpy(&d, val.mv_data, sizeof(d));
		mail_index_be64(k, d.modseq);
		memcpy(k + 8, key.mv_data, 4);
		rc = mdb_put(txn, e->db_modseq, &mkey, &mval, 0);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Opens the LMDB file at path.  Returns 0, 1 if the file is damaged
 * (caller deletes it and retries), -1 on other errors. */
static int env_open(const char *path, uint64_t map_size,
		    struct mail_index_env **env_r, const char **error_r)
{
	struct mail_index_env *e = xcalloc(1, sizeof(*e));
	struct stat st;
	MDB_txn *txn;
	int rc, dead;

	e->path = xstrdup(path);
	e->pid = getpid();
	e->refcount = 1;
	if ((rc = mdb_env_create(&e->env)) != 0 ||
	    /* named databases: the 7 of lib/mail-index-private.h and
	     * the sort keys', with room for more */
	    (rc = mdb_env_set_maxdbs(e->env, 16)) != 0 ||
	    (rc = mdb_env_set_maxreaders(e->env, 1024)) != 0 ||
	    (rc = mdb_env_set_mapsize(e->env, (size_t)map_size)) != 0) {
		mail_index_set_mdb_error(error_r, "mdb_env_create", rc);
		env_free(e);
		return -1;
	}
	rc = mdb_env_open(e->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
	if (rc != 0) {
		int damaged = mdb_rc_is_corruption(rc);

		mail_index_set_error(error_r, "mail index: open %s: %s", path,
				     mdb_strerror(rc));
		errno = rc > 0 ? rc : EIO;
		env_free(e);
		return damaged ? 1 : -1;
	}
	(void)mdb_reader_check(e->env, &dead);
	if (stat(path, &st) != 0) {
		mail_index_set_error(error_r, "mail index: stat %s: %s", path,
				     strerror(errno));
		env_free(e);
		return -1;
	}
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	rc = mdb_txn_begin(e->env, NULL, 0, &txn);
	if (rc == 0 &&
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &e->db_meta)) == 0 &&
	    (rc = mdb_dbi_open(txn, "msgs", MDB_CREATE, &e->db_msgs)) == 0 &&
	    (rc = mdb_dbi_open(txn, "bases", MDB_CREATE, &e->db_bases)) == 0 &&
	    (rc = mdb_dbi_open(txn, "expunged", MDB_CREATE,
			       &e->db_expunged)) == 0 &&
	    (rc = mdb_dbi_open(txn, "kw", MDB_CREATE, &e->db_kw)) == 0 &&
	    (rc = mdb_dbi_open(txn, "cache", MDB_CREATE, &e->db_cache)) == 0 &&
	    (rc = modseq_db_open(e, txn)) == 0)
		rc = mdb_txn_commit(txn);
	else if (rc != 0 && txn != NULL)
		mdb_txn_abort(txn);
	if (rc != 0) {
		int damaged = mdb_rc_is_corruption(rc);

		mail_index_set_mdb_error(error_r, "open databases", rc);
		env_free(e);
		return damaged ? 1 : -1;
	}
	*env_r = e;
	return 0;
}

void mail_index_env_unref(struct mail_index_env *e)
{
	struct mail_index_env **p;

	if (--e->refcount > 0)
		return;
	for (p = &envs; *p != NULL; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			break;
		}
	}
	if (e->pid != getpid()) {
		/* Inherited over fork(): the parent owns the map and lock;
		 * leave them alone (LMDB says not to touch them). */
		free(e->path);
		free(e);
		return;
	}
	env_free(e);
}

/* Finds this process's environment on path, or opens one. */
int mail_index_env_get(struct mail_index *index, struct mail_index_env **env_r,
		   const char **error_r)
{
	struct mail_index_env *e;
	struct stat st;
	pid_t pid = getpid();
	int ret, attempt;

	if (stat(index->path, &st) == 0) {
		for (e = envs; e != NULL; e = e->next) {
			if (e->pid == pid && e->dev == st.st_dev &&
			    e->ino == st.st_ino) {
				e->refcount++;
				*env_r = e;
				return 0;
			}
		}
	}
	for (attempt = 0; attempt < 2; attempt++) {
		ret = env_open(index->path, index->set.map_size, &e, error_r);
		if (ret <= 0)
			break;
		log_warning("mail index %s is damaged (%s): rebuilding it from "
			    "the maildir",
			    index->path, *error_r);
		if (unlink(index->path) < 0 && errno != ENOENT) {
			mail_index_set_error(error_r,
					     "mail index: unlink %s: %s",
					     index->path, strerror(errno));
			return -1;
		}
		{
			char *lock = xasprintf("%s-lock", index->path);

			(void)unlink(lock);
			free(lock);
		}
	}
	if (ret != 0)
		return -1;
	e->next = envs;
	envs = e;
	*env_r = e;
	return 0;
}

/* ---- transactions ---- */

static int txn_begin(struct mail_index *index, unsigned flags,
		     MDB_txn **txn_r, const char **error_r)
{
	int rc, tries;

	for (tries = 0; tries < 3; tries++) {
		rc = mdb_txn_begin(index->env->env, NULL, flags, txn_r);
		if (rc != MDB_MAP_RESIZED)
			break;
		/* Another process grew the map: adopt its size. */
		if (index->env->rtxn != NULL && !index->env->rtxn_busy) {
			mdb_txn_abort(index->env->rtxn);
			index->env->rtxn = NULL;
		}
		(void)mdb_env_set_mapsize(index->env->env, 0);
	}
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "begin transaction", rc);
		return -1;
	}
	return 0;
}

int mail_index_read_begin(struct mail_index *index, MDB_txn **txn_r,
			  const char **error_r)
{
	struct mail_index_env *e = index->env;
	int rc;

	if (e->rtxn != NULL && !e->rtxn_busy) {
		rc = mdb_txn_renew(e->rtxn);
		if (rc == 0) {
			e->rtxn_busy = true;
			*txn_r = e->rtxn;
			return 0;
		}
		mdb_txn_abort(e->rtxn);
		e->rtxn = NULL;
		if (rc == MDB_MAP_RESIZED)
			(void)mdb_env_set_mapsize(e->env, 0);
	}
	if (txn_begin(index, MDB_RDONLY, txn_r, error_r) < 0)
		return -1;
	if (e->rtxn == NULL) {
		e->rtxn = *txn_r;
		e->rtxn_busy = true;
	}
	return 0;
}

void mail_index_read_end(struct mail_index *index, MDB_txn **txn)
{
	struct mail_index_env *e = index->env;

	if (*txn == NULL)
		return;
	if (*txn == e->rtxn) {
		mdb_txn_reset(e->rtxn);
		e->rtxn_busy = false;
	} else {
		mdb_txn_abort(*txn);
	}
	*txn = NULL;
}

int mail_index_grow_map(struct mail_index *index, const char **error_r)
{
	struct mail_index_env *e = index->env;
	MDB_envinfo info;
	int rc;

	if (e->rtxn != NULL && !e->rtxn_busy) {
		mdb_txn_abort(e->rtxn);
		e->rtxn = NULL;
	}
	if ((rc = mdb_env_info(e->env, &info)) != 0 ||
	    (rc = mdb_env_set_mapsize(e->env, info.me_mapsize * 2)) != 0) {
		mail_index_set_mdb_error(error_r, "grow map", rc);
		return -1;
	}
	return 0;
}

int mail_index_write_begin(struct mail_index *index, MDB_txn **txn_r,
			   const char **error_r)
{
	struct mail_index_env *e = index->env;
	MDB_envinfo info;
	MDB_stat st;

	/* Grow ahead of need, while no transaction is active here. */
	if (mdb_env_info(e->env, &info) == 0 &&
	    mdb_env_stat(e->env, &st) == 0 &&
	    (uint64_t)(info.me_last_pgno + 1) * st.ms_psize >
		    info.me_mapsize / 4 * 3 &&
	    mail_index_grow_map(index, error_r) < 0)
		return -1;
	return txn_begin(index, 0, txn_r, error_r);
}

/* LMDB publishes a commit (the transaction number a reader starts from,
 * in the lock file's shared memory) just after its last write to the
 * file: the IN_MODIFY of that write can wake a watcher (a session in
 * IDLE, a hibernated one) that then still reads the transaction before.
 * New times on the file, set once the commit has returned, are an event
 * (IN_ATTRIB) that comes only when every reader sees the commit. */
void mail_index_commit_notify(struct mail_index *index)
{
	mdb_filehandle_t fd;

	if (mdb_env_get_fd(index->env->env, &fd) == 0)
		(void)futimens(fd, NULL);
}

/* After an operation failed: if LMDB found the file damaged, delete it
 * so that the next call (here, or in any process) rebuilds the index
 * from the maildir.  Returns -1 for the caller to return. */
int mail_index_fail_check_damage(struct mail_index *index)
{
	if (mdb_rc_is_corruption(mail_index_last_mdb_rc)) {
		char *lock = xasprintf("%s-lock", index->path);

		log_warning("mail index %s is damaged (%s): removing it, it "
			    "will be rebuilt from the maildir",
			    index->path, mdb_strerror(mail_index_last_mdb_rc));
		(void)unlink(index->path);
		(void)unlink(lock);
		free(lock);
		mail_index_last_mdb_rc = 0;
		index->removed_damaged = true;
	}
	return -1;
}
