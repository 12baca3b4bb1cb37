/* mail-index-flags.c: the flags table (mail_index_get_flags_table()):
 * every message's UID, flags, MODSEQ and keywords in arrays, kept by the
 * thread for the last index asked, brought up to date from the changes
 * since, and a snapshot of it kept in the index for the next session. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail-index-private.h"
#include "mem.h"

/* More changes than count / FT_REBUILD_DIV (plus FT_REBUILD_MIN) since
 * the table's MODSEQ: a pass is cheaper than a lookup each. */
#define FT_REBUILD_DIV 8
#define FT_REBUILD_MIN 64

struct flags_table {
	bool valid;
	/* what it was built for: the index handle, its file, the index
	 * build (a rebuilt index starts its MODSEQs again) */
	uintptr_t index_id, env_id;
	dev_t dev;
	ino_t ino;
	uint32_t uidvalidity;
	uint64_t built_modseq;
	uint64_t modseq;	/* the HIGHESTMODSEQ it is up to date with */
	uint32_t *uids;
	uint8_t *flags;
	uint64_t *modseqs;
	uint64_t *kw;		/* NULL while no message has a keyword */
	size_t count, alloc;
	bool kw_overflow;	/* a keyword id >= 64 was seen */
};

/* One table a thread: freed only when replaced by a larger one (a
 * thread that ends leaves it allocated). */
static _Thread_local struct flags_table ftab;

static void ft_reserve(struct flags_table *t, size_t n)
{
	size_t alloc = t->alloc;

	if (n <= alloc)
		return;
	while (alloc < n)
		alloc = alloc < 1024 ? 1024 : alloc * 2;
	t->uids = xreallocarray(t->uids, alloc, sizeof(*t->uids));
	t->flags = xreallocarray(t->flags, alloc, sizeof(*t->flags));
	t->modseqs = xreallocarray(t->modseqs, alloc, sizeof(*t->modseqs));
	if (t->kw != NULL) {
		t->kw = xreallocarray(t->kw, alloc, sizeof(*t->kw));
		memset(t->kw + t->alloc, 0,
		       (alloc - t->alloc) * sizeof(*t->kw));
	}
	t->alloc = alloc;
}

/* Sets entry i (allocated) from rec. */
static void ft_set(struct flags_table *t, size_t i,
		   const struct mail_index_record *rec)
{
	uint64_t mask = 0;

	t->uids[i] = rec->uid;
	t->flags[i] = rec->flags;
	t->modseqs[i] = rec->modseq;
	for (size_t k = 0; k < rec->keyword_count; k++) {
		if (rec->keywords[k] < 64)
			mask |= (uint64_t)1 << rec->keywords[k];
		else
			t->kw_overflow = true;
	}
	if (mask != 0 && t->kw == NULL)
		t->kw = xcalloc(t->alloc, sizeof(*t->kw));
	if (t->kw != NULL)
		t->kw[i] = mask;
}

/* The position of uid in the table, or where it would go. */
static size_t ft_find(const struct flags_table *t, uint32_t uid)
{
	size_t lo = 0, hi = t->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Puts rec in the table (a changed or a new message). */
static void ft_upsert(struct flags_table *t,
		      const struct mail_index_record *rec)
{
	size_t i;

	if (t->count == 0 || t->uids[t->count - 1] < rec->uid) {
		i = t->count;
	} else {
		i = ft_find(t, rec->uid);
		if (t->uids[i] == rec->uid) {
			ft_set(t, i, rec);
			return;
		}
	}
	ft_reserve(t, t->count + 1);
	if (i < t->count) {
		memmove(t->uids + i + 1, t->uids + i,
			(t->count - i) * sizeof(*t->uids));
		memmove(t->flags + i + 1, t->flags + i,
			(t->count - i) * sizeof(*t->flags));
		memmove(t->modseqs + i + 1, t->modseqs + i,
			(t->count - i) * sizeof(*t->modseqs));
		if (t->kw != NULL)
			memmove(t->kw + i + 1, t->kw + i,
				(t->count - i) * sizeof(*t->kw));
	}
	t->count++;
	if (t->kw != NULL)
		t->kw[i] = 0;
	ft_set(t, i, rec);
}

/* Drops the UIDs gone[0..n) (ascending) from the table. */
static void ft_remove(struct flags_table *t, const uint32_t *gone, size_t n)
{
	size_t j = 0, keep = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < t->count; i++) {
		while (j < n && gone[j] < t->uids[i])
			j++;
		if (j < n && gone[j] == t->uids[i])
			continue;
		t->uids[keep] = t->uids[i];
		t->flags[keep] = t->flags[i];
		t->modseqs[keep] = t->modseqs[i];
		if (t->kw != NULL)
			t->kw[keep] = t->kw[i];
		keep++;
	}
	t->count = keep;
}

/* A pass over every record. */
static int ft_build(struct mail_index *index, MDB_txn *txn,
		    struct flags_table *t, const char **error_r)
{
	struct mail_index_record rec;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_stat st;
	int rc;

	t->count = 0;
	t->kw_overflow = false;
	if (t->kw != NULL)
		x_free(t->kw);
	if ((rc = mdb_stat(txn, index->env->db_msgs, &st)) != 0 ||
	    (rc = mdb_cursor_open(txn, index->env->db_msgs, &cur)) != 0) {
		mail_index_set_mdb_error(error_r, "flags", rc);
		return -1;
	}
	ft_reserve(t, st.ms_entries + 1);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 4 || !mail_index_flags_view(index, &val, &rec))
			continue;
		/* the keys are in UID order: an append each */
		if (t->count > 0 && t->uids[t->count - 1] >= rec.uid) {
			ft_upsert(t, &rec);
			continue;
		}
		ft_reserve(t, t->count + 1);
		if (t->kw != NULL)
			t->kw[t->count] = 0;
		ft_set(t, t->count++, &rec);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "flags", rc);
		return -1;
	}
	return 0;
}

/* Brings the table from t->modseq to the snapshot txn: the messages
 * changed or added since (the "modseq" database), then those expunged
 * since (the expunge log).  Returns 1 when done, 0 when a pass is
 * cheaper (too many changes), -1 on error. */
static int ft_update(struct mail_index *index, MDB_txn *txn,
		     struct flags_table *t, const char **error_r)
{
	struct mail_index_record rec;
	MDB_cursor *cur;
	uint8_t k[12];
	MDB_val key = { 12, k }, val, rkey, rval;
	uint8_t rk[4];
	size_t changes = 0, limit = t->count / FT_REBUILD_DIV + FT_REBUILD_MIN;
	uint32_t *gone = NULL;
	size_t ngone = 0, gone_alloc = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, index->env->db_modseq, &cur)) != 0) {
		mail_index_set_mdb_error(error_r, "flags", rc);
		return -1;
	}
	mail_index_be64(k, t->modseq + 1);
	mail_index_be32(k + 8, 0);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 12)
			continue;
		if (++changes > limit)
			break;
		memcpy(rk, (const uint8_t *)key.mv_data + 8, 4);
		rkey.mv_size = 4;
		rkey.mv_data = rk;
		int grc = mdb_get(txn, index->env->db_msgs, &rkey, &rval);
		if (grc == MDB_NOTFOUND)
			continue;
		if (grc != 0) {
			rc = grc;
			break;
		}
		if (mail_index_flags_view(index, &rval, &rec))
			ft_upsert(t, &rec);
	}
	mdb_cursor_close(cur);
	if (changes > limit)
		return 0;
	if (rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "flags", rc);
		return -1;
	}
	if ((rc = mdb_cursor_open(txn, index->env->db_expunged, &cur)) != 0) {
		mail_index_set_mdb_error(error_r, "flags", rc);
		return -1;
	}
	key.mv_size = 12;
	key.mv_data = k;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 12)
			continue;
		if (++changes > limit)
			break;
		if (ngone == gone_alloc) {
			gone_alloc = gone_alloc == 0 ? 64 : gone_alloc * 2;
			gone = xreallocarray(gone, gone_alloc, sizeof(*gone));
		}
		gone[ngone++] = mail_index_get_be32(
			(const uint8_t *)key.mv_data + 8);
	}
	mdb_cursor_close(cur);
	if (changes > limit) {
		free(gone);
		return 0;
	}
	if (rc != MDB_NOTFOUND) {
		free(gone);
		mail_index_set_mdb_error(error_r, "flags", rc);
		return -1;
	}
	if (ngone > 1)
		qsort(gone, ngone, sizeof(*gone), mail_index_u32_cmp);
	ft_remove(t, gone, ngone);
	free(gone);
	return 1;
}

/* ---- the snapshot in the index ---- */

/* The meta key of the snapshot: a header, then modseqs[count],
 * keywords[count] (when has_kw), uids[count], flags[count].  A cache
 * for the next session's first table: checked against the index it
 * belongs to (UIDVALIDITY, the build's MODSEQ), brought up to date as
 * the thread's own table is, rebuilt by a pass when it does not add up. */
#define SNAP_KEY "flags"
#define SNAP_MAGIC 0x46544231u	/* "FTB1" */
/* Smaller folders build their table in a pass as fast as they read a
 * snapshot: none is kept for them. */
#define SNAP_MIN_MESSAGES 2000

struct snap_hdr {
	uint32_t magic, uidvalidity;
	uint64_t built_modseq, modseq, count;
	uint32_t has_kw, kw_overflow;
};

/* The snapshot's header, if there is a sound one for this build. */
static bool snap_get(struct mail_index *index, MDB_txn *txn,
		     const struct mail_index_hdr *hdr, uint64_t built,
		     struct snap_hdr *h_r, MDB_val *val_r)
{
	MDB_val key = { sizeof(SNAP_KEY) - 1, (void *)SNAP_KEY };
	size_t per;

	if (mdb_get(txn, index->env->db_meta, &key, val_r) != 0 ||
	    val_r->mv_size < sizeof(*h_r))
		return false;
	memcpy(h_r, val_r->mv_data, sizeof(*h_r));
	if (h_r->magic != SNAP_MAGIC || h_r->uidvalidity != hdr->uidvalidity ||
	    h_r->built_modseq != built || h_r->modseq > hdr->highestmodseq ||
	    h_r->count > UINT32_MAX)
		return false;
	per = 8 + 4 + 1 + (h_r->has_kw != 0 ? 8 : 0);
	return val_r->mv_size == sizeof(*h_r) + (size_t)h_r->count * per;
}

/* Fills t from the snapshot (the caller then brings it up to date).
 * False when there is none for this build, or it is not sound. */
static bool ft_load(struct mail_index *index, MDB_txn *txn,
		    struct flags_table *t, const struct mail_index_hdr *hdr,
		    uint64_t built)
{
	struct snap_hdr h;
	MDB_val val;
	const uint8_t *p;
	size_t n;

	if (!snap_get(index, txn, hdr, built, &h, &val))
		return false;
	n = (size_t)h.count;
	p = (const uint8_t *)val.mv_data + sizeof(h);
	ft_reserve(t, n + 1);
	memcpy(t->modseqs, p, n * 8);
	p += n * 8;
	if (h.has_kw != 0) {
		if (t->kw == NULL)
			t->kw = xcalloc(t->alloc, sizeof(*t->kw));
		memcpy(t->kw, p, n * 8);
		p += n * 8;
	} else if (t->kw != NULL) {
		x_free(t->kw);
	}
	memcpy(t->uids, p, n * 4);
	p += n * 4;
	memcpy(t->flags, p, n);
	/* the lookups need ascending UIDs: a snapshot without them is
	 * not one we wrote */
	for (size_t i = 1; i < n; i++) {
		if (t->uids[i - 1] >= t->uids[i]) {
			t->count = 0;
			return false;
		}
	}
	t->count = n;
	t->kw_overflow = h.kw_overflow != 0;
	t->modseq = h.modseq;
	return true;
}

/* More changes since the snapshot than a table update takes in stride
 * (see FT_REBUILD_DIV): a new one is wanted. */
static bool snap_behind(const struct mail_index_hdr *hdr,
			const struct snap_hdr *h)
{
	return hdr->highestmodseq - h->modseq >
	       (uint64_t)hdr->messages / (FT_REBUILD_DIV * 2) + FT_REBUILD_MIN;
}

void mail_index_flags_snapshot_check(struct mail_index *index, MDB_txn *txn)
{
	struct mail_index_hdr hdr;
	struct snap_hdr h;
	MDB_val val;
	uint64_t built;
	const char *error;

	if (mail_index_hdr_get(index, txn, &hdr, &error) <= 0 ||
	    hdr.messages < SNAP_MIN_MESSAGES ||
	    mail_index_built_get(index, txn, &built, &error) < 0)
		return;
	if (!snap_get(index, txn, &hdr, built, &h, &val) || snap_behind(&hdr, &h))
		index->flags_snapshot_wanted = true;
}

bool mail_index_flags_snapshot_wanted(const struct mail_index *index)
{
	return index->flags_snapshot_wanted;
}

int mail_index_flags_snapshot_save(struct mail_index *index,
				   const char **error_r)
{
	struct flags_table *t = &ftab;
	struct mail_index_flags_table table;
	bool kept = mail_index_flags_table_is_kept(index);
	struct snap_hdr h, old;
	MDB_val key = { sizeof(SNAP_KEY) - 1, (void *)SNAP_KEY }, val, cur;
	struct mail_index_hdr hdr;
	MDB_txn *txn;
	uint8_t *buf, *p;
	size_t n;
	int rc, ret = 0;

	if (mail_index_get_flags_table(index, &table, error_r) < 0) {
		index->flags_snapshot_wanted = false;
		return -1;
	}
	/* (after the table: a pass to make it wants a snapshot) */
	index->flags_snapshot_wanted = false;
	n = t->count;
	memset(&h, 0, sizeof(h));
	h.magic = SNAP_MAGIC;
	h.uidvalidity = t->uidvalidity;
	h.built_modseq = t->built_modseq;
	h.modseq = t->modseq;
	h.count = n;
	h.has_kw = t->kw != NULL;
	h.kw_overflow = t->kw_overflow;
	val.mv_size = sizeof(h) + n * (8 + 4 + 1 + (h.has_kw ? 8 : 0));
	buf = p = xmalloc(val.mv_size);
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, t->modseqs, n * 8);
	p += n * 8;
	if (h.has_kw) {
		memcpy(p, t->kw, n * 8);
		p += n * 8;
	}
	memcpy(p, t->uids, n * 4);
	p += n * 4;
	memcpy(p, t->flags, n);
	val.mv_data = buf;
	if (!kept)
		mail_index_drop_flags_table(index);
	if (mail_index_write_begin(index, &txn, error_r) < 0) {
		free(buf);
		return -1;
	}
	/* one that is not far behind stays (another session's, written
	 * meanwhile): a folder's snapshot is rewritten once in a while, not
	 * by every session that had to build its table */
	if (mail_index_hdr_get(index, txn, &hdr, error_r) > 0 &&
	    hdr.uidvalidity == h.uidvalidity &&
	    (!snap_get(index, txn, &hdr, h.built_modseq, &old, &cur) ||
	     (old.modseq < h.modseq && snap_behind(&hdr, &old)))) {
		rc = mdb_put(txn, index->env->db_meta, &key, &val, 0);
		if (rc == 0) {
			/* a cache: LMDB's meta page need not be synced */
			(void)mdb_env_set_flags(index->env->env,
						MDB_NOMETASYNC, 1);
			rc = mdb_txn_commit(txn);
			(void)mdb_env_set_flags(index->env->env,
						MDB_NOMETASYNC, 0);
			txn = NULL;
		}
		/* a full map: the next build of the table costs a pass */
		if (rc != 0 && rc != MDB_MAP_FULL) {
			mail_index_set_mdb_error(error_r, "flags snapshot", rc);
			ret = -1;
		}
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	free(buf);
	return ret;
}

int mail_index_get_flags_table(struct mail_index *index,
			       struct mail_index_flags_table *table_r,
			       const char **error_r)
{
	struct flags_table *t = &ftab;
	struct mail_index_hdr hdr;
	uint64_t built;
	MDB_txn *txn;
	int ret;

	memset(table_r, 0, sizeof(*table_r));
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_hdr_get(index, txn, &hdr, error_r);
	if (ret == 0) {
		mail_index_set_error(error_r, "index header missing");
		ret = -1;
	}
	if (ret > 0 && mail_index_built_get(index, txn, &built, error_r) < 0)
		ret = -1;
	if (ret < 0) {
		mail_index_read_end(index, &txn);
		t->valid = false;
		return mail_index_fail_check_damage(index);
	}
	if (!t->valid || t->index_id != (uintptr_t)index ||
	    t->env_id != (uintptr_t)index->env || t->dev != index->env->dev ||
	    t->ino != index->env->ino || t->uidvalidity != hdr.uidvalidity ||
	    t->built_modseq != built || t->modseq > hdr.highestmodseq) {
		t->valid = false;
		ret = 0;
	} else if (t->modseq == hdr.highestmodseq) {
		ret = 1;
	} else {
		ret = ft_update(index, txn, t, error_r);
		/* the counters say whether the table missed something */
		if (ret > 0 && t->count != hdr.messages)
			ret = 0;
	}
	if (ret == 0 && !t->valid && ft_load(index, txn, t, &hdr, built)) {
		/* the snapshot, brought up to date as the table would be */
		ret = t->modseq == hdr.highestmodseq ? 1 :
			ft_update(index, txn, t, error_r);
		if (ret > 0 && t->count != hdr.messages)
			ret = 0;
	}
	if (ret == 0) {
		ret = ft_build(index, txn, t, error_r) < 0 ? -1 : 1;
		/* a pass the next session can be spared */
		if (ret > 0 && t->count >= SNAP_MIN_MESSAGES)
			index->flags_snapshot_wanted = true;
	}
	mail_index_read_end(index, &txn);
	if (ret < 0) {
		t->valid = false;
		return mail_index_fail_check_damage(index);
	}
	t->valid = true;
	t->index_id = (uintptr_t)index;
	t->env_id = (uintptr_t)index->env;
	t->dev = index->env->dev;
	t->ino = index->env->ino;
	t->uidvalidity = hdr.uidvalidity;
	t->built_modseq = built;
	t->modseq = hdr.highestmodseq;
	table_r->uids = t->uids;
	table_r->flags = t->flags;
	table_r->modseqs = t->modseqs;
	table_r->keywords = t->kw;
	table_r->count = t->count;
	table_r->keywords_complete = !t->kw_overflow;
	table_r->highestmodseq = t->modseq;
	return 0;
}

void mail_index_drop_flags_table(struct mail_index *index)
{
	struct flags_table *t = &ftab;

	if (t->index_id != (uintptr_t)index)
		return;
	free(t->uids);
	free(t->flags);
	free(t->modseqs);
	free(t->kw);
	memset(t, 0, sizeof(*t));
}

bool mail_index_flags_table_is_kept(const struct mail_index *index)
{
	const struct flags_table *t = &ftab;

	return t->valid && t->index_id == (uintptr_t)index &&
	       t->env_id == (uintptr_t)index->env &&
	       t->dev == index->env->dev && t->ino == index->env->ino;
}
