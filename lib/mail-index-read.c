/* mail-index-read.c: reading the mail index: lookups by UID and base
 * name, iteration, the UID list, the expunge log, paths and UIDLs. */
#include "config.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "mem.h"

/* ---- lookups ---- */

/* See mail_index_set_thread_read_flags(). */
static _Thread_local unsigned thread_read_flags;

/* read_flags with the thread's, and MAIL_INDEX_READ_NO_DATE implied by
 * MAIL_INDEX_READ_FLAGS_ONLY. */
static unsigned effective_read_flags(unsigned read_flags)
{
	read_flags |= thread_read_flags;
	if ((read_flags & MAIL_INDEX_READ_FLAGS_ONLY) != 0)
		read_flags |= MAIL_INDEX_READ_NO_DATE;
	return read_flags;
}

unsigned mail_index_set_thread_read_flags(unsigned read_flags)
{
	unsigned old = thread_read_flags;

	thread_read_flags = read_flags;
	return old;
}

int mail_index_lookup_uid(struct mail_index *index, uint32_t uid,
			  struct mail_index_record *rec_r,
			  const char **error_r)
{
	return mail_index_lookup_uid_flags(index, uid, 0, rec_r, error_r);
}

int mail_index_lookup_uid_flags(struct mail_index *index, uint32_t uid,
				unsigned read_flags,
				struct mail_index_record *rec_r,
				const char **error_r)
{
	struct mail_index_rec rec;
	MDB_txn *txn;
	int ret;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	mail_index_last_mdb_rc = 0;
	ret = mail_index_rec_get(index, txn, uid, &rec, NULL, error_r);
	mail_index_read_end(index, &txn);
	if (ret == 1)
		(void)mail_index_dates_flush(index, MAIL_INDEX_PENDING_FLUSH);
	if (ret == 1)
		*rec_r = *mail_index_rec_export_read(
			index, &rec, effective_read_flags(read_flags));
	mail_index_rec_free(&rec);
	if (ret < 0)
		return mail_index_fail_check_damage(index);
	return ret;
}

int mail_index_lookup_base(struct mail_index *index, const char *base,
			   struct mail_index_record *rec_r,
			   const char **error_r)
{
	MDB_val key = { maildir_name_base_len(base), (void *)base }, val;
	struct mail_index_rec rec;
	uint32_t uid;
	MDB_txn *txn;
	int ret, rc;

	memset(&rec, 0, sizeof(rec));
	if (key.mv_size == 0 || key.mv_size > 511)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_get(txn, index->env->db_bases, &key, &val);
	if (rc == MDB_NOTFOUND || (rc == 0 && val.mv_size != 4)) {
		ret = 0;
	} else if (rc != 0) {
		mail_index_set_mdb_error(error_r, "read base", rc);
		ret = -1;
	} else {
		memcpy(&uid, val.mv_data, 4);
		ret = mail_index_rec_get(index, txn, uid, &rec, NULL,
					 error_r);
	}
	mail_index_read_end(index, &txn);
	if (ret == 1)
		*rec_r = *mail_index_rec_export_read(
			index, &rec, effective_read_flags(0));
	mail_index_rec_free(&rec);
	return ret;
}

/* The record val as MAIL_INDEX_READ_FLAGS_ONLY gives it, into *r: the
 * fixed part read in place, the keywords copied into the index's view
 * buffer (they may be unaligned in the map), no name.  The same checks
 * as mail_index_rec_view(), so that both passes skip the same damaged
 * records.  False if the value is malformed. */
static bool flags_view(struct mail_index *index, const MDB_val *val,
		       struct mail_index_record *r)
{
	struct mail_index_rec_disk d;
	const uint8_t *p = val->mv_data;
	size_t kw_bytes;

	if (val->mv_size < sizeof(d))
		return false;
	memcpy(&d, p, sizeof(d));
	kw_bytes = (size_t)d.kw_count * 4;
	if (val->mv_size != sizeof(d) + kw_bytes + d.name_len + 1 +
				    d.uidl_len + 1 ||
	    d.base_len > d.name_len)
		return false;
	p += sizeof(d);
	if (p[kw_bytes + d.name_len] != '\0' ||
	    (d.uidl_len > 0 &&
	     p[kw_bytes + d.name_len + 1 + d.uidl_len] != '\0'))
		return false;
	memset(r, 0, sizeof(*r));
	r->uid = d.uid;
	r->flags = d.flags;
	r->in_new = (d.bits & REC_IN_NEW) != 0;
	r->seen_in_new = (d.bits & REC_SEEN_IN_NEW) != 0;
	r->has_vsize = (d.bits & REC_HAS_VSIZE) != 0;
	r->modseq = d.modseq;
	r->size = d.size;
	r->vsize = d.vsize;
	r->internal_date = d.internal_date;
	r->has_internal_date = (d.bits & REC_NO_DATE) == 0;
	r->name = "";
	if (d.kw_count > 0) {
		if (d.kw_count > index->view_kw_alloc) {
			index->view_kw_alloc = d.kw_count;
			index->view_kw = xreallocarray(index->view_kw,
						       index->view_kw_alloc,
						       sizeof(uint32_t));
		}
		memcpy(index->view_kw, p, kw_bytes);
		r->keywords = index->view_kw;
		r->keyword_count = d.kw_count;
	}
	return true;
}

/* Most records a lookup steps over from the last one read before it
 * searches instead (the gaps expunges leave in a FETCH's walk). */
#define LOOKUP_STEPS 8

/* Positions cur at uid's record, into *val: a step or a few forward
 * from the record read last (*at, when *have) when uid follows it, as
 * a FETCH walks the folder, else a search.  Returns 0, MDB_NOTFOUND, or
 * an LMDB error. */
static int lookup_step(MDB_cursor *cur, uint32_t uid, bool *have,
		       uint32_t *at, MDB_val *val)
{
	uint8_t k[4];
	MDB_val key;
	int rc;

	if (*have && *at < uid && uid - *at <= LOOKUP_STEPS) {
		for (unsigned i = 0; i < LOOKUP_STEPS; i++) {
			rc = mdb_cursor_get(cur, &key, val, MDB_NEXT);
			if (rc != 0) {
				*have = false;
				return rc;
			}
			if (key.mv_size != 4)
				break;
			*at = mail_index_get_be32(key.mv_data);
			if (*at == uid)
				return 0;
			if (*at > uid)
				return MDB_NOTFOUND;
		}
	}
	mail_index_be32(k, uid);
	key.mv_size = 4;
	key.mv_data = k;
	rc = mdb_cursor_get(cur, &key, val, MDB_SET_KEY);
	*have = rc == 0;
	*at = uid;
	return rc;
}

int mail_index_lookup_uids_flags(struct mail_index *index,
				 const uint32_t *uids, size_t count,
				 unsigned read_flags, mail_index_iter_cb *cb,
				 void *context, const char **error_r)
{
	struct mail_index_record light;
	struct mail_index_rec rec;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val val;
	uint32_t at = 0;
	bool have = false;
	int rc = 0, ret = 0;

	read_flags = effective_read_flags(read_flags);
	if (count == 0)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_cursor_open(txn, index->env->db_msgs, &cur);
	if (rc != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "lookup", rc);
		return mail_index_fail_check_damage(index);
	}
	for (size_t i = 0; i < count && ret == 0; i++) {
		rc = lookup_step(cur, uids[i], &have, &at, &val);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		if ((read_flags & MAIL_INDEX_READ_FLAGS_ONLY) != 0) {
			if (flags_view(index, &val, &light))
				ret = cb(&light, context);
		} else if (mail_index_rec_view(index, &val, &rec)) {
			ret = cb(mail_index_rec_export_read(index, &rec,
							    read_flags),
				 context);
		}
	}
	mdb_cursor_close(cur);
	mail_index_read_end(index, &txn);
	(void)mail_index_dates_flush(index, MAIL_INDEX_PENDING_FLUSH);
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "lookup", rc);
		return mail_index_fail_check_damage(index);
	}
	return ret;
}

static int iterate(struct mail_index *index, uint32_t first, uint32_t last,
		   unsigned read_flags,
		   mail_index_iter_cb *cb, void *context,
		   const char **error_r)
{
	struct mail_index_record lrec;
	struct mail_index_rec rec;
	MDB_cursor *cur;
	MDB_txn *txn;
	uint8_t k[4];
	MDB_val key = { 4, k }, val;
	int rc, ret = 0;
	bool light;

	read_flags = effective_read_flags(read_flags);
	light = (read_flags & MAIL_INDEX_READ_FLAGS_ONLY) != 0;

	if (first > last)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_cursor_open(txn, index->env->db_msgs, &cur);
	if (rc != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "cursor", rc);
		return -1;
	}
	mail_index_be32(k, first);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		uint32_t uid;

		if (key.mv_size != 4)
			continue;
		uid = mail_index_get_be32(key.mv_data);
		if (uid > last)
			break;
		if (light) {
			/* the fixed part only (SEARCH on flags) */
			if (flags_view(index, &val, &lrec) &&
			    (ret = cb(&lrec, context)) != 0)
				break;
			continue;
		}
		/* read in place: no copy of the name a record */
		if (!mail_index_rec_view(index, &val, &rec))
			continue;
		ret = cb(mail_index_rec_export_read(index, &rec, read_flags),
			 context);
		if (ret != 0)
			break;
	}
	mdb_cursor_close(cur);
	mail_index_read_end(index, &txn);
	/* The dates read for this iteration, in one write. */
	(void)mail_index_dates_flush(index, MAIL_INDEX_PENDING_FLUSH);
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "iterate", rc);
		return -1;
	}
	return ret;
}

int mail_index_iterate(struct mail_index *index, uint32_t first,
		       uint32_t last, mail_index_iter_cb *cb, void *context,
		       const char **error_r)
{
	return iterate(index, first, last, 0, cb, context, error_r);
}

int mail_index_iterate_flags(struct mail_index *index, uint32_t first,
			     uint32_t last, unsigned read_flags,
			     mail_index_iter_cb *cb, void *context,
			     const char **error_r)
{
	return iterate(index, first, last, read_flags, cb, context,
		       error_r);
}

static int u32_cmp(const void *a, const void *b);

/* The messages with MODSEQ above modseq, in UID order, read through the
 * "modseq" database: as many lookups as changed messages instead of a
 * pass over the folder (every session's sync after any change).  One
 * snapshot for the list and the records. */
static int iterate_changed(struct mail_index *index, uint64_t modseq,
			   unsigned read_flags, mail_index_iter_cb *cb,
			   void *context, const char **error_r)
{
	struct mail_index_rec rec;
	MDB_cursor *cur;
	MDB_txn *txn;
	uint8_t k[12];
	MDB_val key = { 12, k }, val;
	uint32_t *uids = NULL;
	size_t n = 0, alloc = 0;
	int rc, ret = 0;

	if (modseq == UINT64_MAX)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_cursor_open(txn, index->env->db_modseq, &cur);
	if (rc != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "cursor", rc);
		return -1;
	}
	mail_index_be64(k, modseq + 1);
	mail_index_be32(k + 8, 0);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 12)
			continue;
		if (n == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			uids = xreallocarray(uids, alloc, sizeof(*uids));
		}
		uids[n++] = mail_index_get_be32((const uint8_t *)key.mv_data +
						8);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		mail_index_read_end(index, &txn);
		free(uids);
		mail_index_set_mdb_error(error_r, "iterate", rc);
		return -1;
	}
	if (n > 1)
		qsort(uids, n, sizeof(*uids), u32_cmp);
	for (size_t i = 0; i < n && ret == 0; i++) {
		int r = mail_index_rec_get(index, txn, uids[i], &rec, NULL,
					   error_r);

		if (r < 0) {
			ret = -1;
		} else if (r > 0 && rec.d.modseq > modseq) {
			ret = cb(mail_index_rec_export_read(
					 index, &rec,
					 effective_read_flags(read_flags)),
				 context);
		}
		mail_index_rec_free(&rec);
	}
	mail_index_read_end(index, &txn);
	free(uids);
	(void)mail_index_dates_flush(index, MAIL_INDEX_PENDING_FLUSH);
	if (ret < 0)
		return mail_index_fail_check_damage(index);
	return ret;
}

int mail_index_iterate_changed(struct mail_index *index, uint64_t modseq,
			       mail_index_iter_cb *cb, void *context,
			       const char **error_r)
{
	return iterate_changed(index, modseq, 0, cb, context, error_r);
}

int mail_index_iterate_changed_flags(struct mail_index *index,
				     uint64_t modseq, unsigned read_flags,
				     mail_index_iter_cb *cb, void *context,
				     const char **error_r)
{
	return iterate_changed(index, modseq, read_flags, cb, context,
			       error_r);
}

int mail_index_uids(struct mail_index *index, uint32_t **uids_r,
		    size_t *count_r, const char **error_r)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	MDB_stat st;
	size_t n = 0, alloc;
	uint32_t *uids;
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	if ((rc = mdb_stat(txn, index->env->db_msgs, &st)) != 0 ||
	    (rc = mdb_cursor_open(txn, index->env->db_msgs, &cur)) != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "uids", rc);
		return -1;
	}
	alloc = st.ms_entries > 0 ? st.ms_entries : 1;
	uids = xcalloc(alloc, sizeof(*uids));
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 4)
			continue;
		if (n == alloc) {
			alloc *= 2;
			uids = xreallocarray(uids, alloc, sizeof(*uids));
		}
		uids[n++] = mail_index_get_be32(key.mv_data);
	}
	mdb_cursor_close(cur);
	mail_index_read_end(index, &txn);
	if (rc != MDB_NOTFOUND) {
		free(uids);
		mail_index_set_mdb_error(error_r, "uids", rc);
		return -1;
	}
	if (n == 0)
		x_free(uids);
	*uids_r = uids;
	*count_r = n;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

int mail_index_expunged_since(struct mail_index *index, uint64_t modseq,
			      uint32_t **uids_r, size_t *count_r,
			      const char **error_r)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	uint8_t k[12];
	MDB_val key = { 12, k }, val;
	size_t n = 0, alloc = 0, i, j;
	uint32_t *uids = NULL;
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	if (modseq == UINT64_MAX)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	if ((rc = mdb_cursor_open(txn, index->env->db_expunged, &cur)) != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "expunge log", rc);
		return -1;
	}
	mail_index_be64(k, modseq + 1);
	mail_index_be32(k + 8, 0);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 12)
			continue;
		if (n == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			uids = xreallocarray(uids, alloc, sizeof(*uids));
		}
		uids[n++] = mail_index_get_be32((const uint8_t *)key.mv_data +
						8);
	}
	mdb_cursor_close(cur);
	mail_index_read_end(index, &txn);
	if (rc != MDB_NOTFOUND) {
		free(uids);
		mail_index_set_mdb_error(error_r, "expunge log", rc);
		return -1;
	}
	if (n > 1) {
		qsort(uids, n, sizeof(*uids), u32_cmp);
		for (i = 1, j = 1; i < n; i++) {
			if (uids[i] != uids[j - 1])
				uids[j++] = uids[i];
		}
		n = j;
	}
	*uids_r = uids;
	*count_r = n;
	return 0;
}

char *mail_index_record_path(const struct mail_index *index,
			     const struct mail_index_record *rec)
{
	return xasprintf("%s/%s/%s", index->dir, rec->in_new ? "new" : "cur",
			 rec->name);
}

const char *mail_index_record_uidl(const struct mail_index *index,
				   const struct mail_index_record *rec,
				   char *buf)
{
	if (rec->pop3_uidl != NULL && rec->pop3_uidl[0] != '\0')
		snprintf(buf, MAIL_INDEX_UIDL_MAX, "%s", rec->pop3_uidl);
	else
		snprintf(buf, MAIL_INDEX_UIDL_MAX, "UID%" PRIu32 "-%" PRIu32,
			 rec->uid, index->last_uidvalidity);
	return buf;
}

/* ---- the flags table (mail_index_get_flags_table()) ---- */

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
		if (key.mv_size != 4 || !flags_view(index, &val, &rec))
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
		if (flags_view(index, &rval, &rec))
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
		qsort(gone, ngone, sizeof(*gone), u32_cmp);
	ft_remove(t, gone, ngone);
	free(gone);
	return 1;
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
	if (ret == 0)
		ret = ft_build(index, txn, t, error_r) < 0 ? -1 : 1;
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
