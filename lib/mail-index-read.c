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
bool mail_index_flags_view(struct mail_index *index, const MDB_val *val,
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
			if (mail_index_flags_view(index, &val, &light))
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
			if (mail_index_flags_view(index, &val, &lrec) &&
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
		qsort(uids, n, sizeof(*uids), mail_index_u32_cmp);
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

int mail_index_u32_cmp(const void *a, const void *b)
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
		qsort(uids, n, sizeof(*uids), mail_index_u32_cmp);
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

