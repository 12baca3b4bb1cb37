/* mail-index-sync.c: keeping the mail index in step with its maildir:
 * directory stamps, the full scan (new, vanished and renamed files), the
 * keywords of courierimapkeywords/, and the first build with Courier's
 * courierimapuiddb and courierpop3dsizelist imported. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-bulk.h"
#include "mail-index-private.h"
#include "mem.h"

/* ---- stamps ---- */

bool mail_index_test_coarse_mtime;
int64_t mail_index_test_clock_offset_nsec;
void (*mail_index_test_write_hook)(struct mail_index *index);
unsigned mail_index_test_scans;

static int stamp_of(const char *dir, const char *sub, bool may_miss,
		    struct mail_index_stamp *stamp_r, const char **error_r)
{
	char *path = xasprintf("%s/%s", dir, sub);
	struct stat st;

	if (stat(path, &st) < 0) {
		if (may_miss && errno == ENOENT) {
			free(path);
			stamp_r->sec = 0;
			stamp_r->nsec = 0;
			return 0;
		}
		mail_index_set_error(error_r, "stat(%s): %s", path,
				     strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	stamp_r->sec = st.st_mtim.tv_sec;
	stamp_r->nsec = mail_index_test_coarse_mtime ? 0 : st.st_mtim.tv_nsec;
	return 0;
}

int mail_index_sync_stamps(struct mail_index *index,
			   struct mail_index_hdr *cur_r, const char **error_r)
{
	/* The clock first: a change after this moment either moves an
	 * mtime or lands within the racy window of this stamp. */
	mail_index_now(&cur_r->taken_at);
	if (stamp_of(index->dir, "new", false, &cur_r->new_mtime, error_r) < 0 ||
	    stamp_of(index->dir, "cur", false, &cur_r->cur_mtime, error_r) < 0 ||
	    stamp_of(index->dir, MAILDIR_KEYWORDS_DIR, true, &cur_r->kw_mtime,
		     error_r) < 0)
		return -1;
	return 0;
}

static bool stamp_equal(const struct mail_index_stamp *a,
			const struct mail_index_stamp *b)
{
	return a->sec == b->sec && a->nsec == b->nsec;
}

/* b - a in nanoseconds. */
static int64_t stamp_diff(const struct mail_index_stamp *a,
			  const struct mail_index_stamp *b)
{
	return (b->sec - a->sec) * 1000000000LL + (b->nsec - a->nsec);
}

int64_t mail_index_sync_racy_nsec(const struct mail_index_stamp *m)
{
	/* A file system that keeps sub-second mtimes stamps with the
	 * kernel's clock tick: a few ms.  One that keeps seconds (tv_nsec
	 * always 0) needs the whole second and a margin. */
	if (m->nsec != 0)
		return MAIL_INDEX_RACY_FINE_NSEC;
	return (int64_t)MAIL_INDEX_RACY_SECS * 1000000000LL;
}

/* True if the stamp m, taken at taken_at, can be trusted: the directory
 * had not changed for its racy window when it was taken, so any later
 * change gives it another mtime. */
static bool stamp_trusted(const struct mail_index_stamp *m,
			  const struct mail_index_stamp *taken_at)
{
	if (m->sec == 0 && m->nsec == 0)
		return true;
	return stamp_diff(m, taken_at) >= mail_index_sync_racy_nsec(m);
}

bool mail_index_sync_stamps_trusted(const struct mail_index_hdr *hdr)
{
	return stamp_trusted(&hdr->new_mtime, &hdr->taken_at) &&
	       stamp_trusted(&hdr->cur_mtime, &hdr->taken_at) &&
	       stamp_trusted(&hdr->kw_mtime, &hdr->taken_at);
}

bool mail_index_sync_new_trusted(const struct mail_index_hdr *hdr)
{
	return stamp_trusted(&hdr->new_mtime, &hdr->taken_at);
}

bool mail_index_sync_stamps_equal(const struct mail_index_hdr *hdr,
				  const struct mail_index_hdr *now)
{
	return stamp_equal(&hdr->new_mtime, &now->new_mtime) &&
	       stamp_equal(&hdr->cur_mtime, &now->cur_mtime) &&
	       stamp_equal(&hdr->kw_mtime, &now->kw_mtime);
}

int64_t mail_index_sync_recheck_nsec(const struct mail_index_hdr *hdr)
{
	int64_t by_size = (int64_t)hdr->messages *
			  MAIL_INDEX_RECHECK_PER_MSG_NSEC;

	return by_size > MAIL_INDEX_RECHECK_NSEC ? by_size
						 : MAIL_INDEX_RECHECK_NSEC;
}

bool mail_index_sync_stamps_clean(const struct mail_index_hdr *hdr,
				  const struct mail_index_hdr *now)
{
	int64_t age;
	bool recent;

	if (!mail_index_sync_stamps_equal(hdr, now))
		return false;
	/* new/ is where deliveries land: an untrusted stamp of it is
	 * scanned at once, so that IDLE's wake-up finds the message. */
	if (!stamp_trusted(&hdr->new_mtime, &hdr->taken_at))
		return false;
	/* cur/ and the keywords change mostly through the index itself: a
	 * change by another program in the same clock tick as one of the
	 * recorded mtimes is found by the first sync once the recheck time
	 * (1 s, longer in a large folder) has passed since taken_at. */
	age = stamp_diff(&hdr->taken_at, &now->taken_at);
	recent = age >= 0 && age < mail_index_sync_recheck_nsec(hdr);
	return (recent || stamp_trusted(&hdr->cur_mtime, &hdr->taken_at)) &&
	       (recent || stamp_trusted(&hdr->kw_mtime, &hdr->taken_at));
}

bool mail_index_sync_only_new(const struct mail_index_hdr *hdr,
			      const struct mail_index_hdr *now)
{
	int64_t age;
	bool recent;

	if (!stamp_equal(&hdr->cur_mtime, &now->cur_mtime) ||
	    !stamp_equal(&hdr->kw_mtime, &now->kw_mtime))
		return false;
	if (stamp_equal(&hdr->new_mtime, &now->new_mtime) &&
	    stamp_trusted(&hdr->new_mtime, &hdr->taken_at))
		return false; /* new/ is fine: not a case for this */
	age = stamp_diff(&hdr->taken_at, &now->taken_at);
	recent = age >= 0 && age < mail_index_sync_recheck_nsec(hdr);
	return (recent || stamp_trusted(&hdr->cur_mtime, &hdr->taken_at)) &&
	       (recent || stamp_trusted(&hdr->kw_mtime, &hdr->taken_at));
}

bool mail_index_sync_refresh_worth(const struct mail_index_hdr *stored,
				   const struct mail_index_hdr *fresh)
{
	/* With fresh as its own "now", a sync would not scan iff new/'s
	 * stamp is trusted (cur/ and the keywords are recent). */
	return !mail_index_sync_stamps_clean(stored, fresh) &&
	       stamp_trusted(&fresh->new_mtime, &fresh->taken_at);
}

static void stamp_min(struct mail_index_stamp *a,
		      const struct mail_index_stamp *b)
{
	if (stamp_diff(b, a) > 0)
		*a = *b;
}

void mail_index_sync_own_change(struct mail_index_hdr *hdr,
				 const struct mail_index_hdr *pre,
				 const struct mail_index_hdr *post,
				 unsigned outside)
{
	struct mail_index_stamp *h[3] = {
		&hdr->new_mtime, &hdr->cur_mtime, &hdr->kw_mtime,
	};
	const struct mail_index_stamp *b[3] = {
		&pre->new_mtime, &pre->cur_mtime, &pre->kw_mtime,
	};
	const struct mail_index_stamp *a[3] = {
		&post->new_mtime, &post->cur_mtime, &post->kw_mtime,
	};
	struct mail_index_stamp taken_at;
	bool changed = false;

	/* Every change made before taken_at is in the index, and one made
	 * since either moved an mtime or fell in the clock tick of a
	 * recorded one.  If no such hidden change can exist, everything
	 * before pre (taken under the writer lock, before our change) is
	 * in the index; else the older taken_at stays. */
	taken_at = hdr->taken_at;
	if (mail_index_sync_stamps_trusted(hdr) &&
	    stamp_diff(&taken_at, &pre->taken_at) > 0)
		taken_at = pre->taken_at;
	for (unsigned i = 0; i < 3; i++) {
		if (stamp_equal(b[i], h[i])) {
			/* Nobody else since the recorded stamp: whatever
			 * moved it during our transaction is ours, or
			 * hidden in the tick of the new mtime (after
			 * pre->taken_at). */
			if (!stamp_equal(a[i], b[i])) {
				*h[i] = *a[i];
				changed = true;
			}
		} else if ((outside & (1U << i)) != 0) {
			/* Our caller changed the directory just before
			 * the transaction (APPEND's link into cur/).  Any
			 * change by another program since the recorded
			 * stamp came after that mtime: treat it as hidden
			 * from then on, found by the next recheck. */
			struct mail_index_stamp since = *h[i];
			int64_t back = mail_index_sync_racy_nsec(h[i]);

			since.sec -= back / 1000000000LL;
			since.nsec -= back % 1000000000LL;
			if (since.nsec < 0) {
				since.nsec += 1000000000LL;
				since.sec--;
			}
			stamp_min(&taken_at, &since);
			*h[i] = *a[i];
			changed = true;
		}
		/* Else another program changed it: the stamp stays stale
		 * and the next sync scans. */
	}
	if (changed)
		hdr->taken_at = taken_at;
}

/* ---- the writers' marker ---- */

int mail_index_busy_get(struct mail_index *index, MDB_txn *txn,
			uint64_t *seq_r, const char **error_r)
{
	MDB_val key = { 4, (void *)"busy" }, val;
	int rc;

	*seq_r = 0;
	rc = mdb_get(txn, index->env->db_meta, &key, &val);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "read header", rc);
		return -1;
	}
	if (val.mv_size == 8)
		*seq_r = mail_index_get_be64(val.mv_data);
	return 0;
}

int mail_index_busy_put(struct mail_index *index, MDB_txn *txn, uint64_t seq,
			const char **error_r)
{
	uint8_t buf[8];
	MDB_val key = { 4, (void *)"busy" }, val = { 8, buf };
	int rc;

	mail_index_be64(buf, seq);
	rc = mdb_put(txn, index->env->db_meta, &key, &val, 0);
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "write header", rc);
		return -1;
	}
	return 0;
}

static const char *busy_path(struct mail_index *index)
{
	if (index->busy_path == NULL)
		index->busy_path = xasprintf("%s/%s", index->dir,
					     MAIL_INDEX_BUSY_FILE);
	return index->busy_path;
}

int mail_index_busy_mark(struct mail_index *index, uint64_t seq)
{
	const char *path = busy_path(index);
	struct timespec ts[2];
	struct stat st;
	int fd;

	if (clock_gettime(CLOCK_REALTIME, &ts[1]) < 0)
		return -1;
	ts[1].tv_nsec = (long)(seq % 1000000000u);
	ts[0] = ts[1];
	if (utimensat(AT_FDCWD, path, ts, 0) < 0) {
		if (errno != ENOENT)
			return -1;
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			  0600);
		if (fd < 0)
			return -1;
		(void)close(fd);
		if (utimensat(AT_FDCWD, path, ts, 0) < 0)
			return -1;
	}
	/* A file system without nanoseconds cannot carry the number: no
	 * marker then, and readers take the writer lock. */
	if (stat(path, &st) < 0 || st.st_mtim.tv_nsec != ts[1].tv_nsec) {
		(void)unlink(path);
		return -1;
	}
	return 0;
}

bool mail_index_busy_ahead(struct mail_index *index, uint64_t seq)
{
	struct stat st;

	if (stat(busy_path(index), &st) < 0)
		return false;
	return (uint64_t)st.st_mtim.tv_nsec != seq % 1000000000u;
}

/* True if stamp a is at or after b. */
static bool stamp_reached(const struct mail_index_stamp *a,
			  const struct mail_index_stamp *b)
{
	return stamp_diff(b, a) >= 0;
}

static void stamp_max(struct mail_index_stamp *a,
		      const struct mail_index_stamp *b)
{
	if (stamp_diff(a, b) > 0)
		*a = *b;
}

bool mail_index_sync_defer(struct mail_index *index,
			   const struct mail_index_hdr *hdr, uint64_t seq,
			   const struct mail_index_hdr *now)
{
	bool chain = index->defer_active;

	if (chain && seq >= index->defer_seq) {
		/* The writers we let pass committed: whatever we saw then
		 * must be in their stamps, else someone else changed the
		 * folder meanwhile (their pre stamps differed: they left
		 * the stored ones stale) and it is time to scan. */
		const struct mail_index_hdr *seen = &index->defer_seen;

		if (!stamp_reached(&hdr->new_mtime, &seen->new_mtime) ||
		    !stamp_reached(&hdr->cur_mtime, &seen->cur_mtime) ||
		    !stamp_reached(&hdr->kw_mtime, &seen->kw_mtime)) {
			index->defer_active = false;
			return false;
		}
		chain = false;
	} else if (chain) {
		int64_t age = stamp_diff(&index->defer_since, &now->taken_at);

		if (age < 0 || age >= MAIL_INDEX_DEFER_NSEC) {
			index->defer_active = false;
			return false;
		}
	}
	if (!mail_index_busy_ahead(index, seq)) {
		index->defer_active = false;
		return false;
	}
	if (!chain) {
		index->defer_since = now->taken_at;
		index->defer_seen = *now;
	} else {
		stamp_max(&index->defer_seen.new_mtime, &now->new_mtime);
		stamp_max(&index->defer_seen.cur_mtime, &now->cur_mtime);
		stamp_max(&index->defer_seen.kw_mtime, &now->kw_mtime);
	}
	index->defer_active = true;
	index->defer_seq = seq + 1;
	return true;
}

/* ---- keywords ---- */

int mail_index_sync_set_keywords(struct mail_index *index, MDB_txn *txn,
				 struct mail_index_hdr *hdr,
				 struct mail_index_rec *rec,
				 const char *const *names, size_t count,
				 const char **error_r)
{
	uint32_t *kw = NULL, id;
	size_t n = 0, i, j;
	bool changed;
	int ret;

	if (count > index->set.max_keywords_per_message)
		count = index->set.max_keywords_per_message;
	if (count > 0)
		kw = xcalloc(count, sizeof(*kw));
	for (i = 0; i < count; i++) {
		ret = mail_index_kw_id(index, txn, hdr, names[i], true, &id,
				       error_r);
		if (ret < 0) {
			if (errno == EINVAL || errno == EMLINK)
				continue; /* skip what we cannot keep */
			free(kw);
			return -1;
		}
		for (j = 0; j < n && kw[j] != id; j++)
			;
		if (j == n)
			kw[n++] = id;
	}
	changed = n != rec->d.kw_count;
	for (i = 0; i < n && !changed; i++) {
		for (j = 0; j < rec->d.kw_count && rec->kw[j] != kw[i]; j++)
			;
		if (j == rec->d.kw_count)
			changed = true;
	}
	if (!changed) {
		free(kw);
		return 0;
	}
	free(rec->kw);
	rec->kw = kw;
	rec->d.kw_count = (uint16_t)n;
	return 1;
}

/* Pending update files in courierimapkeywords/ before we fold them into
 * :list (as Courier's readers do), so that loading stays cheap. */
#define KEYWORDS_COMPACT_PENDING 64

static size_t keywords_pending(const char *dir)
{
	char *path = xasprintf("%s/%s", dir, MAILDIR_KEYWORDS_DIR);
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	free(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != ':' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strncmp(de->d_name, ".tmp.", 5) != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Reloads courierimapkeywords/ and makes every record's keywords match
 * it.  Changed records get modseq. */
static int sync_keywords(struct mail_index *index, MDB_txn *txn,
			 struct mail_index_hdr *hdr, uint64_t modseq, bool build,
			 bool *used_r, const char **error_r)
{
	struct maildir_keywords_limits lim = {
		.max_names = index->set.max_keywords,
		.max_per_message = index->set.max_keywords_per_message,
	};
	struct maildir_keywords *kw;
	uint32_t *uids = NULL;
	size_t n = 0, alloc = 0, i;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc, ret = 0;

	if (keywords_pending(index->dir) > KEYWORDS_COMPACT_PENDING) {
		const char *err;

		if (maildir_keywords_compact(index->dir, &err) < 0)
			log_warning("mail index %s: folding keyword updates: %s",
				    index->dir, err);
	}
	if (maildir_keywords_load(index->dir, &lim, &kw, error_r) < 0)
		return -1;
	if (build && maildir_keywords_message_count(kw) == 0) {
		/* A new index's records have no keywords: nothing differs
		 * (no pass over every record of a large folder). */
		maildir_keywords_destroy(&kw);
		return 0;
	}
	/* Pass 1: which records differ (names compared by id). */
	if (mail_index_kw_load(index, txn, hdr, error_r) < 0) {
		maildir_keywords_destroy(&kw);
		return -1;
	}
	rc = mdb_cursor_open(txn, index->env->db_msgs, &cur);
	if (rc != 0) {
		maildir_keywords_destroy(&kw);
		mail_index_set_mdb_error(error_r, "cursor", rc);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct mail_index_rec rec;
		const char *const *names;
		size_t count, j, k;
		bool differs;

		if (!mail_index_rec_decode(&val, &rec)) {
			mail_index_rec_free(&rec);
			continue;
		}
		names = maildir_keywords_get(kw, rec.name, &count);
		differs = count != rec.d.kw_count;
		for (j = 0; j < count && !differs; j++) {
			for (k = 0; k < rec.d.kw_count; k++) {
				uint32_t id = rec.kw[k];

				if (id < index->kw_count &&
				    strcasecmp(index->kw_names[id],
					       names[j]) == 0)
					break;
			}
			if (k == rec.d.kw_count)
				differs = true;
		}
		if (differs) {
			if (n == alloc) {
				alloc = alloc == 0 ? 64 : alloc * 2;
				uids = xreallocarray(uids, alloc,
						     sizeof(*uids));
			}
			uids[n++] = rec.d.uid;
		}
		mail_index_rec_free(&rec);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "keywords scan", rc);
		ret = -1;
	}
	/* Pass 2: update them. */
	for (i = 0; i < n && ret == 0; i++) {
		struct mail_index_rec rec, old;
		const char *const *names;
		size_t count;

		if (mail_index_rec_get(index, txn, uids[i], &rec, NULL,
				       error_r) <= 0) {
			ret = -1;
			break;
		}
		old = rec;
		old.name = xstrdup(rec.name);
		old.kw = NULL;
		old.uidl = NULL;
		names = maildir_keywords_get(kw, rec.name, &count);
		ret = mail_index_sync_set_keywords(index, txn, hdr, &rec, names,
						   count, error_r);
		if (ret > 0) {
			rec.d.modseq = modseq;
			*used_r = true;
			ret = mail_index_rec_put(index, txn, hdr, &old, &rec,
						 NULL, error_r);
		}
		mail_index_rec_free(&old);
		mail_index_rec_free(&rec);
		if (ret > 0)
			ret = 0;
	}
	free(uids);
	maildir_keywords_destroy(&kw);
	return ret;
}

/* ---- the scan ---- */

/* Courier's order for new messages: the delivery time at the start of
 * the name numerically (compared by the caller), then the base names
 * bytewise. */
static int courier_order(const struct maildir_entry *a,
			 const struct maildir_entry *b)
{
	size_t n;
	int c;

	n = a->base_len < b->base_len ? a->base_len : b->base_len;
	c = memcmp(a->name, b->name, n);
	if (c != 0)
		return c;
	return a->base_len < b->base_len ? -1 : a->base_len > b->base_len;
}

/* An entry with its delivery time parsed once for the sort, and the UID
 * courierimapuiddb gives it (0: none). */
struct new_key {
	unsigned long long t;
	const struct maildir_entry *e;
	uint32_t uid;
};

static int new_key_cmp(const void *a, const void *b)
{
	const struct new_key *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return courier_order(x->e, y->e);
}

/* The delivery time at the start of name, as strtoull(name, NULL, 10)
 * reads it (the common all-digits case without its overhead). */
static unsigned long long name_time(const char *name)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; i < 19 && name[i] >= '0' && name[i] <= '9'; i++)
		v = v * 10 + (unsigned long long)(name[i] - '0');
	if (i == 0 || (name[i] >= '0' && name[i] <= '9'))
		return strtoull(name, NULL, 10); /* signs, spaces, 20 digits */
	return v;
}

/* Base-name order (that of the listing, the "bases" database and the
 * uiddb's entries). */
static int base_order(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Sets keys[i].uid from uiddb for each entry: one pass along both when
 * the entries come in base-name order (a scan's new files), else a
 * search each. */
static void new_keys_uids(struct new_key *keys, size_t n,
			  const struct mail_index_uiddb *uiddb)
{
	bool in_order = true;
	size_t j = 0;

	for (size_t i = 1; i < n && in_order; i++)
		in_order = base_order(keys[i - 1].e->name,
				      keys[i - 1].e->base_len, keys[i].e->name,
				      keys[i].e->base_len) < 0;
	for (size_t i = 0; i < n; i++) {
		const struct maildir_entry *e = keys[i].e;

		if (!in_order) {
			keys[i].uid = mail_index_uiddb_find(uiddb, e->name,
							    e->base_len);
			continue;
		}
		for (; j < uiddb->count; j++) {
			const char *b = uiddb->entries[j].base;
			int c = base_order(b, strlen(b), e->name,
					   e->base_len);

			if (c == 0)
				keys[i].uid = uiddb->entries[j].uid;
			if (c >= 0)
				break;
		}
	}
}

/* nw[0..n) in Courier's order, with their imported UIDs (uiddb may be
 * NULL).  The caller frees the array. */
static struct new_key *new_entries_sort(const struct maildir_entry **nw,
					size_t n,
					const struct mail_index_uiddb *uiddb)
{
	struct new_key *keys = xcalloc(n + 1, sizeof(*keys));
	bool sorted = true;

	for (size_t i = 0; i < n; i++) {
		/* The names lie in the listing's order, not this one: a
		 * cache miss each unless asked for ahead. */
		if (i + 16 < n)
			__builtin_prefetch(nw[i + 16]->name);
		keys[i].t = name_time(nw[i]->name);
		keys[i].e = nw[i];
		if (i > 0 && sorted && new_key_cmp(&keys[i - 1], &keys[i]) > 0)
			sorted = false;
	}
	if (uiddb != NULL && uiddb->count > 0)
		new_keys_uids(keys, n, uiddb);
	/* Names of one writer sort by base name in that order already (a
	 * first build of 100,000 messages need not sort them again). */
	if (!sorted)
		qsort(keys, n, sizeof(*keys), new_key_cmp);
	return keys;
}

static int key_cmp(const MDB_val *key, const struct maildir_entry *e)
{
	size_t n = key->mv_size < e->base_len ? key->mv_size : e->base_len;
	int c = memcmp(key->mv_data, e->name, n);

	if (c != 0)
		return c;
	return key->mv_size < e->base_len ? -1 : key->mv_size > e->base_len;
}

/* True if the stored record uid has e's name and place (new/ or cur/):
 * no work for it.  False when it differs or cannot be read in
 * place (the caller then reads it the usual way). */
static bool rec_unchanged(struct mail_index *index, MDB_txn *txn,
			  uint32_t uid, const struct maildir_entry *e)
{
	uint8_t k[4];
	MDB_val key = { 4, k }, val;
	struct mail_index_rec rec;

	mail_index_be32(k, uid);
	if (mdb_get(txn, index->env->db_msgs, &key, &val) != 0 ||
	    !mail_index_rec_view(index, &val, &rec))
		return false;
	return rec.d.uid == uid && strcmp(rec.name, e->name) == 0 &&
	       ((rec.d.bits & REC_IN_NEW) != 0) == e->in_new;
}

struct scan_change {
	uint32_t uid;
	const struct maildir_entry *e;
};

/* Clears every database (a build over a stale or foreign file). */
static int drop_all(struct mail_index *index, MDB_txn *txn,
		    const char **error_r)
{
	MDB_dbi dbis[] = {
		index->env->db_meta, index->env->db_msgs,
		index->env->db_bases, index->env->db_expunged,
		index->env->db_kw, index->env->db_cache,
		index->env->db_modseq,
	};
	int rc;

	for (size_t i = 0; i < N_ELEMENTS(dbis); i++) {
		rc = mdb_drop(txn, dbis[i], 0);
		if (rc != 0) {
			mail_index_set_mdb_error(error_r, "clear", rc);
			return -1;
		}
	}
	for (size_t i = 0; i < index->kw_count; i++)
		free(index->kw_names[i]);
	index->kw_count = 0;
	return 0;
}

static void build_header(struct mail_index_hdr *hdr,
			 const struct mail_index_uiddb *uiddb)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->version = MAIL_INDEX_VERSION;
	if (uiddb != NULL) {
		hdr->uidvalidity = uiddb->uidvalidity;
		hdr->uidnext = uiddb->nextuid;
	} else {
		time_t now = time(NULL);

		/* As Courier: seconds since its epoch, never 0. */
		hdr->uidvalidity =
			now > MAIL_INDEX_UIDV_EPOCH + 1
				? (uint32_t)(now - MAIL_INDEX_UIDV_EPOCH)
				: 1;
		hdr->uidnext = 1;
	}
	hdr->first_recent_uid = 1;
	/* MODSEQs never go down for one UIDVALIDITY (RFC 7162): an index
	 * rebuilt with Courier's UIDVALIDITY starts at the time in
	 * microseconds, above anything an earlier index of the folder can
	 * have reached (unless it made more than a million changes a
	 * second since it was built); a new UIDVALIDITY starts at 1. */
	hdr->highestmodseq = 1;
	if (uiddb != NULL) {
		struct timespec ts;

		if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec > 0)
			hdr->highestmodseq = (uint64_t)ts.tv_sec * 1000000u +
					     (uint64_t)ts.tv_nsec / 1000u;
	}
}

/* Adds the new files (in Courier's order): imported UIDs first where the
 * uiddb knows them, then the next UIDs. */
static int add_new(struct mail_index *index, MDB_txn *txn,
		   struct mail_index_hdr *hdr, const struct maildir_entry **nw,
		   size_t n, uint64_t modseq,
		   const struct mail_index_uiddb *uiddb,
		   const struct mail_index_pop3list *pop3,
		   const char **error_r)
{
	struct mail_index_bulk bulk = { .msgs_unordered = false };
	struct new_key *keys;
	int dfd_new, dfd_cur, ret = 0;
	char *path;

	path = xasprintf("%s/new", index->dir);
	dfd_new = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(path);
	path = xasprintf("%s/cur", index->dir);
	dfd_cur = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(path);
	if (dfd_new < 0 || dfd_cur < 0) {
		mail_index_set_error(error_r, "open %s/new or cur: %s",
				     index->dir, strerror(errno));
		ret = -1;
	}
	keys = new_entries_sort(nw, n, uiddb);
	/* Pass 0 only when courierimapuiddb gave UIDs. */
	for (int pass = uiddb != NULL && uiddb->count > 0 ? 0 : 1;
	     pass < 2 && ret == 0; pass++) {
		for (size_t i = 0; i < n && ret == 0; i++) {
			const struct maildir_entry *e = keys[i].e;
			struct mail_index_rec rec;
			char uidl_buf[MAIL_INDEX_UIDL_MAX];
			const char *uidl = NULL;
			struct stat st;
			uint32_t uid = keys[i].uid;

			if (e == NULL)
				continue;
			/* Pass 0: imported UIDs; pass 1: the others. */
			if ((pass == 0) != (uid != 0))
				continue;
			/* The names are read in this order, not the
			 * listing's: ask for those a few entries ahead. */
			if (i + 16 < n && keys[i + 16].e != NULL)
				__builtin_prefetch(keys[i + 16].e->name);
			keys[i].e = NULL;
			/* The size from the name's ",S=" (as Courier and
			 * Dovecot take it): no stat(), the date is read on
			 * first use.  Without it, the file tells both. */
			if (!e->has_size &&
			    fstatat(e->in_new ? dfd_new : dfd_cur, e->name, &st,
				    0) < 0)
				continue; /* gone since the listing */
			if (uid == 0) {
				if (hdr->uidnext >= UINT32_MAX) {
					mail_index_set_error(
						error_r,
						"mail index: UIDs exhausted");
					ret = -1;
					break;
				}
				uid = hdr->uidnext++;
			}
			memset(&rec, 0, sizeof(rec));
			rec.d.uid = uid;
			rec.d.modseq = modseq;
			rec.d.flags = mail_index_flags_from_letters(e->flags);
			rec.d.bits = e->in_new ? REC_IN_NEW | REC_SEEN_IN_NEW
					       : 0;
			if (e->has_size) {
				rec.d.size = e->size;
				rec.d.internal_date =
					mail_index_date_from_name(e->name);
				rec.d.bits |= REC_NO_DATE;
			} else {
				rec.d.size = (uint64_t)st.st_size;
				rec.d.internal_date = st.st_mtime;
			}
			if (e->has_vsize) {
				rec.d.vsize = e->vsize;
				rec.d.bits |= REC_HAS_VSIZE;
			}
			if (pop3 != NULL) {
				const struct mail_index_pop3list_entry *pe =
					mail_index_pop3list_find(pop3, e->name,
								 e->base_len);
				if (pe != NULL) {
					uidl = mail_index_pop3list_uidl(
						pe, uidl_buf, sizeof(uidl_buf));
					if (!e->has_vsize) {
						/* Courier counted it with
						 * CRLF line ends. */
						rec.d.vsize = pe->size;
						rec.d.bits |= REC_HAS_VSIZE;
					}
				}
			}
			ret = mail_index_bulk_add(
				index, txn, &bulk, hdr, &rec.d, e->name,
				e->base_len + strlen(e->name + e->base_len),
				uidl, NULL, error_r);
		}
	}
	mail_index_bulk_end(&bulk);
	free(keys);
	if (dfd_new >= 0)
		close(dfd_new);
	if (dfd_cur >= 0)
		close(dfd_cur);
	return ret;
}

unsigned mail_index_test_new_scans;

/* Checks the index's records in new/ against list (new/'s listing):
 * each must be there under the same name (matched[] set for it).
 * Returns 1 if so, 0 if not, -1 on error. */
static int new_records_match(struct mail_index *index, MDB_txn *txn,
			     const struct maildir_list *list, bool *matched,
			     const char **error_r)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc, ret = 1;

	rc = mdb_cursor_open(txn, index->env->db_msgs, &cur);
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "cursor", rc);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct mail_index_rec_disk d;
		struct mail_index_rec rec;
		const struct maildir_entry *e;

		/* The fixed part says where the file is: most records
		 * are in cur/ and need no more.  A damaged one is left to
		 * the full scan (which finds it and has the index
		 * rebuilt), as if this scan were not there. */
		if (key.mv_size != 4 || val.mv_size < sizeof(d)) {
			ret = 0;
			break;
		}
		memcpy(&d, val.mv_data, sizeof(d));
		if (val.mv_size != sizeof(d) + (size_t)d.kw_count * 4 +
					   d.name_len + 1 + d.uidl_len + 1 ||
		    d.base_len > d.name_len) {
			ret = 0;
			break;
		}
		if ((d.bits & REC_IN_NEW) == 0)
			continue;
		if (!mail_index_rec_view(index, &val, &rec)) {
			ret = 0;
			break;
		}
		e = maildir_list_find(list, rec.name);
		if (e == NULL || strcmp(e->name, rec.name) != 0) {
			ret = 0; /* gone from new/, or renamed there */
			break;
		}
		matched[e - list->entries] = true;
	}
	mdb_cursor_close(cur);
	if (ret == 1 && rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "scan", rc);
		return -1;
	}
	return ret;
}

int mail_index_sync_scan_new(struct mail_index *index, MDB_txn *txn,
			     struct mail_index_hdr *hdr,
			     const struct mail_index_hdr *stamps,
			     const char **error_r)
{
	struct maildir_list *list = NULL;
	const struct maildir_entry **nw = NULL;
	bool *matched = NULL;
	size_t nnew = 0;
	uint64_t modseq = hdr->highestmodseq + 1;
	int ret;

	if (maildir_list_new(index->dir, &list, error_r) < 0)
		return -1;
	mail_index_test_new_scans++;
	matched = xcalloc(list->count + 1, sizeof(*matched));
	nw = xcalloc(list->count + 1, sizeof(*nw));
	ret = new_records_match(index, txn, list, matched, error_r);
	for (size_t i = 0; i < list->count && ret == 1; i++) {
		const struct maildir_entry *e = &list->entries[i];
		MDB_val key = { e->base_len, e->name }, val;
		int rc;

		/* One base name twice in new/: the full scan's rule. */
		if (i > 0 && list->entries[i - 1].base_len == e->base_len &&
		    memcmp(list->entries[i - 1].name, e->name,
			   e->base_len) == 0) {
			ret = 0;
			break;
		}
		if (matched[i])
			continue;
		rc = mdb_get(txn, index->env->db_bases, &key, &val);
		if (rc == 0) {
			ret = 0; /* known, but not as a file of new/ */
		} else if (rc != MDB_NOTFOUND) {
			mail_index_set_mdb_error(error_r, "read base", rc);
			ret = -1;
		} else {
			nw[nnew++] = e;
		}
	}
	if (ret == 1 && nnew > 0) {
		if (add_new(index, txn, hdr, nw, nnew, modseq, NULL, NULL,
			    error_r) < 0)
			ret = -1;
		else
			hdr->highestmodseq = modseq;
	}
	if (ret == 1) {
		/* taken_at vouches for every stamp: it moves only when the
		 * others were trusted with the old one (they stay so), else
		 * the recheck of cur/ and the keywords stays due. */
		if (stamp_trusted(&hdr->cur_mtime, &hdr->taken_at) &&
		    stamp_trusted(&hdr->kw_mtime, &hdr->taken_at) &&
		    stamp_diff(&hdr->taken_at, &stamps->taken_at) > 0)
			hdr->taken_at = stamps->taken_at;
		hdr->new_mtime = stamps->new_mtime;
	}
	free(matched);
	free(nw);
	maildir_list_free(&list);
	return ret;
}

int mail_index_sync_scan(struct mail_index *index, MDB_txn *txn,
			 struct mail_index_hdr *hdr, bool build,
			 const struct mail_index_hdr *stamps,
			 const char **error_r)
{
	struct mail_index_uiddb *uiddb = NULL;
	struct mail_index_pop3list *pop3 = NULL;
	struct maildir_list *list = NULL;
	struct scan_change *changes = NULL;
	const struct maildir_entry **nw = NULL;
	uint32_t *gone = NULL;
	size_t ngone = 0, agone = 0, nchanges = 0, achanges = 0, nnew = 0;
	size_t i = 0;
	uint64_t modseq;
	bool used = false;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	int rc, ret = 0;

	mail_index_test_scans++;
	if (build) {
		const char *err;

		if (drop_all(index, txn, error_r) < 0)
			return -1;
		if (mail_index_uiddb_read(index->dir, &index->courier_limits,
					  &uiddb, &err) < 0)
			log_warning("mail index %s: %s (UIDs not imported)",
				    index->dir, err);
		if (mail_index_pop3list_read(index->dir,
					     &index->courier_limits, &pop3,
					     &err) < 0)
			log_warning("mail index %s: %s (POP3 UIDLs not "
				    "imported)",
				    index->dir, err);
		build_header(hdr, uiddb);
		if (mail_index_built_put(index, txn, hdr->highestmodseq,
					 error_r) < 0) {
			ret = -1;
			goto out;
		}
	}
	modseq = hdr->highestmodseq + 1;

	if (maildir_list(index->dir, &list, error_r) < 0) {
		ret = -1;
		goto out;
	}
	nw = xcalloc(list->count + 1, sizeof(*nw));

	/* Merge the sorted base names of the index with the sorted list. */
	rc = mdb_cursor_open(txn, index->env->db_bases, &cur);
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "cursor", rc);
		ret = -1;
		goto out;
	}
	rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	while (rc == 0 || i < list->count) {
		const struct maildir_entry *e =
			i < list->count ? &list->entries[i] : NULL;
		int c;

		/* The same base name twice (in new/ and cur/): the first
		 * one listed is the message, the other is ignored. */
		if (e != NULL && i > 0 &&
		    list->entries[i - 1].base_len == e->base_len &&
		    memcmp(list->entries[i - 1].name, e->name,
			   e->base_len) == 0) {
			i++;
			continue;
		}
		c = rc != 0 ? 1 : e == NULL ? -1 : key_cmp(&key, e);
		if (c < 0) {
			uint32_t uid;

			if (val.mv_size == 4) {
				memcpy(&uid, val.mv_data, 4);
				if (ngone == agone) {
					agone = agone == 0 ? 64 : agone * 2;
					gone = xreallocarray(gone, agone,
							     sizeof(*gone));
				}
				gone[ngone++] = uid;
			}
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		} else if (c > 0) {
			nw[nnew++] = e;
			i++;
		} else {
			if (val.mv_size == 4) {
				if (nchanges == achanges) {
					achanges = achanges == 0 ? 64
								 : achanges * 2;
					changes = xreallocarray(
						changes, achanges,
						sizeof(*changes));
				}
				memcpy(&changes[nchanges].uid, val.mv_data, 4);
				changes[nchanges++].e = e;
			}
			i++;
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "scan", rc);
		ret = -1;
		goto out;
	}

	/* Vanished files: expunged. */
	for (i = 0; i < ngone && ret == 0; i++) {
		struct mail_index_rec rec;

		ret = mail_index_rec_get(index, txn, gone[i], &rec, NULL,
					 error_r);
		if (ret == 1) {
			ret = mail_index_rec_delete(index, txn, hdr, &rec,
						    modseq, NULL, error_r);
			used = true;
		} else if (ret == 0) {
			/* A base entry without a record: drop it. */
			ret = 0;
		}
		mail_index_rec_free(&rec);
	}

	/* Known files: renamed (flags, new/ to cur/) by someone else? */
	for (i = 0; i < nchanges && ret == 0; i++) {
		const struct maildir_entry *e = changes[i].e;
		struct mail_index_rec rec, old;
		uint8_t flags;

		/* Most are unchanged: looked at in place, no copy. */
		if (rec_unchanged(index, txn, changes[i].uid, e))
			continue;
		ret = mail_index_rec_get(index, txn, changes[i].uid, &rec, NULL,
					 error_r);
		if (ret <= 0) {
			if (ret == 0) {
				/* A base entry without a record: re-add. */
				nw[nnew++] = e;
			}
			mail_index_rec_free(&rec);
			continue;
		}
		ret = 0;
		if (strcmp(rec.name, e->name) == 0 &&
		    ((rec.d.bits & REC_IN_NEW) != 0) == e->in_new) {
			mail_index_rec_free(&rec);
			continue;
		}
		old = rec;
		old.name = xstrdup(rec.name);
		old.kw = NULL;
		old.uidl = NULL;
		mail_index_rec_set_name(&rec, e->name);
		if (e->in_new)
			rec.d.bits |= REC_IN_NEW;
		else
			rec.d.bits &= (uint8_t)~REC_IN_NEW;
		flags = mail_index_flags_from_letters(e->flags);
		if (flags != rec.d.flags) {
			rec.d.flags = flags;
			rec.d.modseq = modseq;
			used = true;
		}
		ret = mail_index_rec_put(index, txn, hdr, &old, &rec, NULL,
					 error_r);
		mail_index_rec_free(&old);
		mail_index_rec_free(&rec);
	}

	if (ret == 0 && nnew > 0) {
		ret = add_new(index, txn, hdr, nw, nnew, modseq, uiddb, pop3,
			      error_r);
		used = true;
	}

	/* Keywords: when courierimapkeywords/ changed, or its stamp was not
	 * to be trusted. */
	if (ret == 0 && (build ||
			 !stamp_equal(&stamps->kw_mtime, &hdr->kw_mtime) ||
			 !stamp_trusted(&hdr->kw_mtime, &hdr->taken_at)))
		ret = sync_keywords(index, txn, hdr, modseq, build, &used,
				    error_r);

	if (ret == 0) {
		hdr->new_mtime = stamps->new_mtime;
		hdr->cur_mtime = stamps->cur_mtime;
		hdr->kw_mtime = stamps->kw_mtime;
		hdr->taken_at = stamps->taken_at;
		if (used)
			hdr->highestmodseq = modseq;
		if (build && uiddb != NULL)
			log_info("mail index %s: imported %zu UIDs from %s "
				 "(UIDVALIDITY %u)",
				 index->dir, uiddb->count,
				 MAIL_INDEX_UIDDB_FILE, hdr->uidvalidity);
	}
out:
	if (ret > 0)
		ret = 0;
	free(gone);
	free(changes);
	free(nw);
	maildir_list_free(&list);
	mail_index_uiddb_free(&uiddb);
	mail_index_pop3list_free(&pop3);
	return ret;
}
