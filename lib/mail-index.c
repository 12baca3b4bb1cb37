/* mail-index.c: the per-folder mail index: opening and closing it, the
 * sync entry points, the folder status, and the write transaction every
 * change runs in. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "mem.h"

#define DEFAULT_MAP_SIZE (1ULL << 30)
#define DEFAULT_MAX_KEYWORDS 4096
#define DEFAULT_MAX_KEYWORDS_PER_MESSAGE 256
#define DEFAULT_MAX_CACHE_BLOB (16U * 1024 * 1024)

/* ---- open and close ---- */

static void settings_fill(struct mail_index *index,
			  const struct mail_index_settings *set)
{
	if (set != NULL)
		index->set = *set;
	if (index->set.map_size == 0)
		index->set.map_size = DEFAULT_MAP_SIZE;
	if (index->set.max_keywords == 0)
		index->set.max_keywords = DEFAULT_MAX_KEYWORDS;
	if (index->set.max_keywords_per_message == 0)
		index->set.max_keywords_per_message =
			DEFAULT_MAX_KEYWORDS_PER_MESSAGE;
	if (index->set.max_keywords_per_message > UINT16_MAX)
		index->set.max_keywords_per_message = UINT16_MAX;
	if (index->set.max_cache_blob == 0)
		index->set.max_cache_blob = DEFAULT_MAX_CACHE_BLOB;
	index->courier_limits.max_line = index->set.max_courier_line;
	index->courier_limits.max_file = index->set.max_courier_file;
	index->courier_limits.max_lines = index->set.max_courier_lines;
}

static int open_common(const char *dir, const struct mail_index_settings *set,
		       bool claim, struct mail_index **index_r,
		       const char **error_r)
{
	struct mail_index *index;

	*index_r = NULL;
	if (!maildir_is_maildir(dir)) {
		mail_index_set_error(error_r, "mail index: %s is not a maildir",
				     dir);
		errno = ENOENT;
		return -1;
	}
	index = xcalloc(1, sizeof(*index));
	index->dfd_new = -1;
	index->dfd_cur = -1;
	index->dir = xstrdup(dir);
	index->path = xasprintf("%s/%s", dir, MAIL_INDEX_FILE_NAME);
	settings_fill(index, set);
	str_init(&index->rec_name, 64);
	str_init(&index->rec_uidl, 16);
	if (mail_index_env_get(index, &index->env, error_r) < 0) {
		mail_index_close(&index);
		return -1;
	}
	index->removed_damaged = false;
	index->claim_on_build = claim;
	if (mail_index_sync(index, 0, error_r) < 0 &&
	    (!index->removed_damaged || mail_index_sync(index, 0, error_r) < 0)) {
		mail_index_close(&index);
		return -1;
	}
	index->claim_on_build = false;
	{
		MDB_txn *txn;
		const char *error;

		if (mail_index_read_begin(index, &txn, &error) == 0) {
			mail_index_flags_snapshot_check(index, txn);
			mail_index_read_end(index, &txn);
		}
	}
	*index_r = index;
	return 0;
}

int mail_index_open(const char *dir, const struct mail_index_settings *set,
		    struct mail_index **index_r, const char **error_r)
{
	return open_common(dir, set, false, index_r, error_r);
}

int mail_index_open_claim(const char *dir,
			  const struct mail_index_settings *set,
			  struct mail_index **index_r, uint32_t *first_r,
			  const char **error_r)
{
	if (open_common(dir, set, true, index_r, error_r) < 0)
		return -1;
	if ((*index_r)->build_claimed) {
		(*index_r)->build_claimed = false;
		*first_r = (*index_r)->build_claimed_first;
		return 0;
	}
	if (mail_index_claim_recent(*index_r, first_r, error_r) < 0) {
		mail_index_close(index_r);
		return -1;
	}
	return 0;
}

void mail_index_close(struct mail_index **_index)
{
	struct mail_index *index = *_index;
	size_t i;

	if (index == NULL)
		return;
	if (index->env != NULL) {
		(void)mail_index_dates_flush(index, 1);
		mail_index_env_unref(index->env);
	}
	free(index->pending_dates);
	if (index->dfd_new >= 0)
		(void)close(index->dfd_new);
	if (index->dfd_cur >= 0)
		(void)close(index->dfd_cur);
	for (i = 0; i < index->kw_count; i++)
		free(index->kw_names[i]);
	free(index->kw_names);
	free(index->rec_kw);
	free(index->view_kw);
	str_free(&index->rec_name);
	str_free(&index->rec_uidl);
	free(index->dir);
	free(index->path);
	free(index->busy_path);
	free(index);
	*_index = NULL;
}

const char *mail_index_dir(const struct mail_index *index)
{
	return index->dir;
}

/* If the index file was replaced (rebuilt by another process), switch to
 * the new one. */
static int reopen_if_replaced(struct mail_index *index, const char **error_r)
{
	struct mail_index_env *e;
	struct stat st;

	if (stat(index->path, &st) == 0 && st.st_dev == index->env->dev &&
	    st.st_ino == index->env->ino)
		return 0;
	if (mail_index_env_get(index, &e, error_r) < 0)
		return -1;
	mail_index_env_unref(index->env);
	index->env = e;
	/* Dates read for the records of the replaced file. */
	index->pending_count = 0;
	/* The folder may have been made again, too. */
	if (index->dfd_new >= 0)
		(void)close(index->dfd_new);
	if (index->dfd_cur >= 0)
		(void)close(index->dfd_cur);
	index->dfd_new = index->dfd_cur = -1;
	for (size_t i = 0; i < index->kw_count; i++)
		free(index->kw_names[i]);
	index->kw_count = 0;
	return 0;
}


/* ---- sync entry points ---- */

static int sync_inner(struct mail_index *index, unsigned flags,
		      const char **error_r);

int mail_index_sync(struct mail_index *index, unsigned flags,
		    const char **error_r)
{
	mail_index_last_mdb_rc = 0;
	(void)mail_index_dates_flush(index, MAIL_INDEX_PENDING_FLUSH);
	if (sync_inner(index, flags, error_r) < 0)
		return mail_index_fail_check_damage(index);
	return index->last_sync_ret;
}

/* True if a and b differ at most in their directory stamps. */
static bool hdr_same_but_stamps(const struct mail_index_hdr *a,
				const struct mail_index_hdr *b)
{
	struct mail_index_hdr c = *b;

	c.new_mtime = a->new_mtime;
	c.cur_mtime = a->cur_mtime;
	c.kw_mtime = a->kw_mtime;
	c.taken_at = a->taken_at;
	return memcmp(a, &c, sizeof(c)) == 0;
}

/* The scan a sync or a writer's recheck needs: of new/ alone when only
 * its stamp is in question (a delivery, our own new/ to cur/ moves: a
 * few files, not the whole folder), else the full one. */
static int scan(struct mail_index *index, MDB_txn *txn,
		struct mail_index_hdr *hdr, bool build, unsigned flags,
		const struct mail_index_hdr *stamps, const char **error_r)
{
	if (!build && (flags & MAIL_INDEX_SYNC_FORCE) == 0 &&
	    mail_index_sync_only_new(hdr, stamps)) {
		int ret = mail_index_sync_scan_new(index, txn, hdr, stamps,
						   error_r);

		if (ret != 0)
			return ret < 0 ? -1 : 0;
	}
	return mail_index_sync_scan(index, txn, hdr, build, stamps, error_r);
}

static int sync_inner(struct mail_index *index, unsigned flags,
		      const char **error_r)
{
	struct mail_index_hdr hdr, stamps, stored;
	unsigned writes;
	struct mail_index_stamp start;
	MDB_txn *txn = NULL;
	uint64_t seq = 0;
	uint32_t claimed_first;
	int ret, rc, tries;
	bool build, marked;

	if (reopen_if_replaced(index, error_r) < 0)
		return -1;
	if (mail_index_sync_stamps(index, &stamps, error_r) < 0)
		return -1;
	start = stamps.taken_at;
	if ((flags & MAIL_INDEX_SYNC_FORCE) == 0) {
		if (mail_index_read_begin(index, &txn, error_r) < 0)
			return -1;
		ret = mail_index_hdr_get(index, txn, &hdr, error_r);
		if (ret > 0 && mail_index_busy_get(index, txn, &seq, error_r) < 0)
			ret = -1;
		mail_index_read_end(index, &txn);
		if (ret < 0)
			return -1;
		if (ret > 0 && mail_index_sync_stamps_clean(&hdr, &stamps)) {
			index->defer_active = false;
			goto done;
		}
		/* A writer's change in flight: its commit brings the new
		 * stamps, no need to wait for its lock (the maildir changed
		 * only by the change it is recording). */
		if (ret > 0 &&
		    (!mail_index_sync_stamps_equal(&hdr, &stamps) ||
		     mail_index_sync_new_trusted(&hdr)) &&
		    mail_index_sync_defer(index, &hdr, seq, &stamps))
			goto done;
	}
	index->defer_active = false;

	for (tries = 0;; tries++) {
		if (mail_index_write_begin(index, &txn, error_r) < 0)
			return -1;
		mail_index_last_mdb_rc = 0;
		ret = mail_index_hdr_get(index, txn, &hdr, error_r);
		if (ret < 0) {
			mdb_txn_abort(txn);
			return -1;
		}
		build = ret == 0;
		/* No writer is at work while we hold the lock: a marker
		 * ahead of the committed number is one that died. */
		marked = false;
		if (!build && mail_index_busy_get(index, txn, &seq, NULL) == 0 &&
		    mail_index_busy_ahead(index, seq))
			(void)mail_index_busy_mark(index, seq);
		/* Stamps again, now that we hold the writer lock: another
		 * process may just have scanned.  If it took its stamps
		 * after we started (in a later tick of the coarse clock:
		 * within one tick the order is unknown), everything before
		 * our call is in the index: use its result. */
		if (mail_index_sync_stamps(index, &stamps, error_r) < 0) {
			mdb_txn_abort(txn);
			return -1;
		}
		if (!build && (flags & MAIL_INDEX_SYNC_FORCE) == 0 &&
		    (mail_index_sync_stamps_clean(&hdr, &stamps) ||
		     (mail_index_sync_stamps_equal(&hdr, &stamps) &&
		      (hdr.taken_at.sec > start.sec ||
		       (hdr.taken_at.sec == start.sec &&
			hdr.taken_at.nsec > start.nsec))))) {
			mdb_txn_abort(txn);
			goto done;
		}
		stored = hdr;
		writes = index->rec_writes;
		/* A scan takes a while: the sessions that look meanwhile
		 * use what the index says and leave the rest to us. */
		if (!build)
			marked = mail_index_busy_mark(index, seq + 1) == 0;
		ret = scan(index, txn, &hdr, build, flags, &stamps, error_r);
		if (ret == 0 && !build && index->rec_writes == writes &&
		    hdr_same_but_stamps(&stored, &hdr) &&
		    !mail_index_sync_refresh_worth(&stored, &hdr)) {
			/* Nothing found: the stored header is still true,
			 * and writing the new stamps would not spare
			 * anyone a scan.  No write, no fsync. */
			mdb_txn_abort(txn);
			if (marked)
				(void)mail_index_busy_mark(index, seq);
			goto done;
		}
		/* mail_index_open_claim(): the build claims \Recent as
		 * mail_index_claim_recent() would, in the same commit. */
		claimed_first = hdr.first_recent_uid;
		if (ret == 0 && build && index->claim_on_build)
			hdr.first_recent_uid = hdr.uidnext;
		if (ret == 0)
			ret = mail_index_hdr_put(index, txn, &hdr, error_r);
		if (ret == 0 && marked)
			ret = mail_index_busy_put(index, txn, seq + 1, error_r);
		if (ret == 0) {
			rc = mdb_txn_commit(txn);
			if (rc == 0) {
				mail_index_commit_notify(index);
				if (build && index->claim_on_build) {
					index->build_claimed = true;
					index->build_claimed_first =
						claimed_first;
				}
				break;
			}
			mail_index_set_mdb_error(error_r, "commit", rc);
		} else {
			mdb_txn_abort(txn);
		}
		if (marked)
			(void)mail_index_busy_mark(index, seq);
		if (mail_index_last_mdb_rc != MDB_MAP_FULL ||
		    tries >= MAIL_INDEX_MAP_RETRIES)
			return -1;
		if (mail_index_grow_map(index, error_r) < 0)
			return -1;
	}
done:
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_hdr_get(index, txn, &hdr, error_r);
	mail_index_read_end(index, &txn);
	if (ret <= 0) {
		if (ret == 0)
			mail_index_set_error(error_r,
					     "mail index %s: header missing",
					     index->path);
		return -1;
	}
	ret = hdr.highestmodseq != index->last_modseq ||
	      hdr.uidvalidity != index->last_uidvalidity;
	index->last_modseq = hdr.highestmodseq;
	index->last_uidvalidity = hdr.uidvalidity;
	index->last_sync_ret = ret;
	return ret;
}

int mail_index_changed_since(struct mail_index *index, uint64_t modseq,
			     const char **error_r)
{
	if (mail_index_sync(index, 0, error_r) < 0)
		return -1;
	return index->last_modseq > modseq ? 1 : 0;
}

int mail_index_get_status(struct mail_index *index,
			  struct mail_index_status *status_r,
			  const char **error_r)
{
	struct mail_index_hdr hdr;
	MDB_txn *txn;
	int ret;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_hdr_get(index, txn, &hdr, error_r);
	uint64_t built = 0;
	if (ret > 0 && mail_index_built_get(index, txn, &built, error_r) < 0)
		ret = -1;
	mail_index_read_end(index, &txn);
	if (ret <= 0) {
		if (ret == 0)
			mail_index_set_error(error_r,
					     "mail index %s: header missing",
					     index->path);
		return -1;
	}
	memset(status_r, 0, sizeof(*status_r));
	status_r->built_modseq = built;
	status_r->uidvalidity = hdr.uidvalidity;
	status_r->uidnext = hdr.uidnext;
	status_r->highestmodseq = hdr.highestmodseq;
	status_r->messages = hdr.messages;
	status_r->seen = hdr.seen;
	status_r->deleted = hdr.deleted;
	status_r->first_recent_uid = hdr.first_recent_uid;
	status_r->total_size = hdr.total_size;
	return 0;
}

static int write_txn(struct mail_index *index, mail_index_write_fn *fn,
		     void *context, bool relaxed, const char **error_r);

int mail_index_write_txn(struct mail_index *index, mail_index_write_fn *fn,
			 void *context, const char **error_r)
{
	return write_txn(index, fn, context, false, error_r);
}

int mail_index_write_txn_relaxed(struct mail_index *index,
				 mail_index_write_fn *fn, void *context,
				 const char **error_r)
{
	return write_txn(index, fn, context, true, error_r);
}

static int write_txn(struct mail_index *index, mail_index_write_fn *fn,
		     void *context, bool relaxed, const char **error_r)
{
	struct mail_index_hdr hdr, pre, post;
	uint64_t pre_modseq, seq;
	MDB_txn *txn;
	int ret, rc, tries;
	bool stamped, marked;

	if (reopen_if_replaced(index, error_r) < 0)
		return -1;
	for (tries = 0;; tries++) {
		if (mail_index_write_begin(index, &txn, error_r) < 0)
			return -1;
		ret = mail_index_hdr_get(index, txn, &hdr, error_r);
		if (ret <= 0) {
			mdb_txn_abort(txn);
			if (ret == 0)
				mail_index_set_error(
					error_r, "mail index %s: header missing",
					index->path);
			return -1;
		}
		rc = 0;
		mail_index_last_mdb_rc = 0;
		pre_modseq = hdr.highestmodseq;
		/* The marker first: readers that see our renames before our
		 * commit know that they are in flight. */
		marked = mail_index_busy_get(index, txn, &seq, NULL) == 0 &&
			 mail_index_busy_mark(index, seq + 1) == 0;
		/* Directory stamps around our renames, unlinks and
		 * creations, so that they cost no session a scan. */
		stamped = mail_index_sync_stamps(index, &pre, NULL) == 0;
		/* The recheck of an untrusted stamp, when due, is done
		 * here, under the lock we hold anyway: readers that find a
		 * writer at work leave it to us instead of queueing for the
		 * lock.  (Stamps that differ are a change by someone else,
		 * or by our caller just before: mail_index_add() links the
		 * file itself, and a scan would take its message without
		 * the keywords; the readers' sync scans those.) */
		ret = 0;
		if (stamped && !index->no_writer_scan &&
		    mail_index_sync_stamps_equal(&hdr, &pre) &&
		    !mail_index_sync_stamps_clean(&hdr, &pre))
			ret = scan(index, txn, &hdr, false, 0, &pre, error_r);
		index->changed_outside = 0;
		index->txn_modseq = hdr.highestmodseq + 1;
		if (mail_index_test_write_hook != NULL)
			mail_index_test_write_hook(index);
		if (ret >= 0)
			ret = fn(index, txn, &hdr, context, &rc, error_r);
		if (ret >= 0 && stamped &&
		    mail_index_sync_stamps(index, &post, NULL) == 0)
			mail_index_sync_own_change(&hdr, &pre, &post,
						   index->changed_outside);
		/* Internal dates read since the last write ride along. */
		if (ret >= 0 && index->pending_count > 0 &&
		    mail_index_dates_apply(index, txn, &hdr, &rc, error_r) < 0)
			ret = -1;
		if (ret >= 0 && mail_index_hdr_put(index, txn, &hdr, error_r) < 0)
			ret = -1;
		if (ret >= 0 && marked &&
		    mail_index_busy_put(index, txn, seq + 1, error_r) < 0)
			ret = -1;
		if (ret >= 0) {
			/* One process, one transaction at a time: the
			 * flag holds for this commit only. */
			if (relaxed)
				(void)mdb_env_set_flags(index->env->env,
							MDB_NOMETASYNC, 1);
			rc = mdb_txn_commit(txn);
			if (relaxed)
				(void)mdb_env_set_flags(index->env->env,
							MDB_NOMETASYNC, 0);
			if (rc == 0) {
				mail_index_commit_notify(index);
				index->pending_count = 0;
				/* Our own change is no news to us; another
				 * process's changes before it still are. */
				if (pre_modseq == index->last_modseq)
					index->last_modseq = hdr.highestmodseq;
				return ret;
			}
			mail_index_set_mdb_error(error_r, "commit", rc);
		} else {
			mdb_txn_abort(txn);
		}
		/* Not committed: the marker back to the committed number
		 * (still under the writer lock for an abort; after a failed
		 * commit a reader may wait a little longer). */
		if (marked)
			(void)mail_index_busy_mark(index, seq);
		if (mail_index_last_mdb_rc != MDB_MAP_FULL ||
		    tries >= MAIL_INDEX_MAP_RETRIES)
			return mail_index_fail_check_damage(index);
		if (mail_index_grow_map(index, error_r) < 0)
			return -1;
	}
}
