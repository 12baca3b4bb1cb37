/* mail-index-rec.c: the mail index's header and records: reading,
 * encoding, writing and deleting them with the folder counters, and the
 * maildir flag letters. */
#include "config.h"
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "mem.h"

/* ---- header ---- */

int mail_index_hdr_get(struct mail_index *index, MDB_txn *txn,
		       struct mail_index_hdr *hdr_r, const char **error_r)
{
	MDB_val key = { 3, (void *)"hdr" }, val;
	int rc;

	rc = mdb_get(txn, index->env->db_meta, &key, &val);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "read header", rc);
		return -1;
	}
	if (val.mv_size != sizeof(*hdr_r))
		return 0;
	memcpy(hdr_r, val.mv_data, sizeof(*hdr_r));
	if (hdr_r->version != MAIL_INDEX_VERSION)
		return 0;
	return 1;
}

int mail_index_hdr_put(struct mail_index *index, MDB_txn *txn,
		       const struct mail_index_hdr *hdr, const char **error_r)
{
	MDB_val key = { 3, (void *)"hdr" };
	MDB_val val = { sizeof(*hdr), (void *)hdr };
	int rc;

	rc = mdb_put(txn, index->env->db_meta, &key, &val, 0);
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "write header", rc);
		return -1;
	}
	return 0;
}

int mail_index_built_get(struct mail_index *index, MDB_txn *txn,
			 uint64_t *modseq_r, const char **error_r)
{
	MDB_val key = { 5, (void *)"built" }, val;
	int rc;

	*modseq_r = 0;
	rc = mdb_get(txn, index->env->db_meta, &key, &val);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "read header", rc);
		return -1;
	}
	if (val.mv_size == 8)
		*modseq_r = mail_index_get_be64(val.mv_data);
	return 0;
}

int mail_index_built_put(struct mail_index *index, MDB_txn *txn,
			 uint64_t modseq, const char **error_r)
{
	uint8_t buf[8];
	MDB_val key = { 5, (void *)"built" }, val = { 8, buf };
	int rc;

	mail_index_be64(buf, modseq);
	rc = mdb_put(txn, index->env->db_meta, &key, &val, 0);
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "write header", rc);
		return -1;
	}
	return 0;
}

/* ---- records ---- */

void mail_index_rec_free(struct mail_index_rec *rec)
{
	x_free(rec->kw);
	x_free(rec->name);
	x_free(rec->uidl);
}

void mail_index_rec_set_name(struct mail_index_rec *rec, const char *name)
{
	size_t len = strlen(name);

	free(rec->name);
	rec->name = xstrdup(name);
	rec->d.name_len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
	rec->d.base_len = (uint16_t)maildir_name_base_len(rec->name);
}

/* The fixed part of an encoded value into rec_r (zeroed first), checked
 * against the value's size.  Returns where the keywords start, or NULL if
 * the value is malformed. */
static const uint8_t *rec_fixed(const MDB_val *val,
				struct mail_index_rec *rec_r)
{
	const uint8_t *p = val->mv_data;
	size_t need;

	memset(rec_r, 0, sizeof(*rec_r));
	if (val->mv_size < sizeof(rec_r->d))
		return NULL;
	memcpy(&rec_r->d, p, sizeof(rec_r->d));
	need = sizeof(rec_r->d) + (size_t)rec_r->d.kw_count * 4 +
	       rec_r->d.name_len + 1 + rec_r->d.uidl_len + 1;
	if (val->mv_size != need || rec_r->d.base_len > rec_r->d.name_len)
		return NULL;
	return p + sizeof(rec_r->d);
}

bool mail_index_rec_decode(const MDB_val *val, struct mail_index_rec *rec_r)
{
	const uint8_t *p = rec_fixed(val, rec_r);

	if (p == NULL)
		return false;
	if (rec_r->d.kw_count > 0) {
		rec_r->kw = xcalloc(rec_r->d.kw_count, sizeof(uint32_t));
		memcpy(rec_r->kw, p, (size_t)rec_r->d.kw_count * 4);
		p += (size_t)rec_r->d.kw_count * 4;
	}
	rec_r->name = xstrndup((const char *)p, rec_r->d.name_len);
	p += rec_r->d.name_len + 1;
	if (rec_r->d.uidl_len > 0)
		rec_r->uidl = xstrndup((const char *)p, rec_r->d.uidl_len);
	return true;
}

bool mail_index_rec_view(struct mail_index *index, const MDB_val *val,
			 struct mail_index_rec *rec_r)
{
	const uint8_t *p = rec_fixed(val, rec_r);

	if (p == NULL)
		return false;
	if (rec_r->d.kw_count > 0) {
		if (rec_r->d.kw_count > index->view_kw_alloc) {
			index->view_kw_alloc = rec_r->d.kw_count;
			index->view_kw = xreallocarray(index->view_kw,
						       index->view_kw_alloc,
						       sizeof(uint32_t));
		}
		memcpy(index->view_kw, p, (size_t)rec_r->d.kw_count * 4);
		rec_r->kw = index->view_kw;
		p += (size_t)rec_r->d.kw_count * 4;
	}
	/* the strings are stored with their NUL: one that lacks it is
	 * damaged */
	if (p[rec_r->d.name_len] != '\0')
		return false;
	rec_r->name = (char *)p;
	p += rec_r->d.name_len + 1;
	if (rec_r->d.uidl_len > 0) {
		if (p[rec_r->d.uidl_len] != '\0')
			return false;
		rec_r->uidl = (char *)p;
	}
	return true;
}

int mail_index_rec_get(struct mail_index *index, MDB_txn *txn, uint32_t uid,
		       struct mail_index_rec *rec_r, int *rc_r,
		       const char **error_r)
{
	uint8_t k[4];
	MDB_val key = { 4, k }, val;
	int rc;

	memset(rec_r, 0, sizeof(*rec_r));
	mail_index_be32(k, uid);
	rc = mdb_get(txn, index->env->db_msgs, &key, &val);
	if (rc_r != NULL)
		*rc_r = rc;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "read record", rc);
		return -1;
	}
	if (!mail_index_rec_decode(&val, rec_r)) {
		if (rc_r != NULL)
			*rc_r = MDB_CORRUPTED;
		mail_index_last_mdb_rc = MDB_CORRUPTED;
		mail_index_set_error(error_r,
				     "mail index %s: record %" PRIu32
				     " is damaged",
				     index->path, uid);
		errno = EIO;
		return -1;
	}
	return 1;
}

static void counters_add(struct mail_index_hdr *hdr,
			 const struct mail_index_rec *rec, int sign)
{
	hdr->messages += (uint32_t)sign;
	if ((rec->d.flags & MAIL_INDEX_SEEN) != 0)
		hdr->seen += (uint32_t)sign;
	if ((rec->d.flags & MAIL_INDEX_DELETED) != 0)
		hdr->deleted += (uint32_t)sign;
	if (sign > 0)
		hdr->total_size += rec->d.size;
	else
		hdr->total_size -= rec->d.size;
}

static void modseq_key(uint8_t k[12], uint64_t modseq, uint32_t uid)
{
	mail_index_be64(k, modseq);
	mail_index_be32(k + 8, uid);
}

/* Keeps "modseq" in step with a record written over old (NULL: a new
 * UID, never in the index: the scan's and APPEND's next UIDs).  Returns
 * an LMDB code. */
static int modseq_move(struct mail_index *index, MDB_txn *txn,
		       const struct mail_index_rec *old,
		       const struct mail_index_rec_disk *d)
{
	uint8_t k[12], pk[12];
	MDB_val key = { 12, k }, empty = { 0, (void *)"" }, mkey;
	int rc;

	if (old != NULL) {
		if (old->d.modseq == d->modseq)
			return 0;
		modseq_key(pk, old->d.modseq, d->uid);
		mkey.mv_size = 12;
		mkey.mv_data = pk;
		rc = mdb_del(txn, index->env->db_modseq, &mkey, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
	}
	modseq_key(k, d->modseq, d->uid);
	/* Nearly always the last key (a new MODSEQ, or the next UID of a
	 * scan): appended without a search (a cold SELECT writes 100,000). */
	rc = mdb_put(txn, index->env->db_modseq, &key, &empty, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(txn, index->env->db_modseq, &key, &empty, 0);
	return rc;
}

int mail_index_rec_put(struct mail_index *index, MDB_txn *txn,
		       struct mail_index_hdr *hdr,
		       const struct mail_index_rec *old,
		       const struct mail_index_rec *rec, int *rc_r,
		       const char **error_r)
{
	size_t uidl_len = rec->uidl != NULL ? strlen(rec->uidl) : 0;
	size_t name_len = strlen(rec->name), size;
	struct mail_index_rec_disk d = rec->d;
	uint8_t k[4], *buf, *p;
	MDB_val key = { 4, k }, val, bkey, bval;
	int rc;

	if (name_len > MAILDIR_NAME_MAX || uidl_len > 255) {
		mail_index_set_error(error_r, "mail index: name too long");
		errno = ENAMETOOLONG;
		if (rc_r != NULL)
			*rc_r = 0;
		return -1;
	}
	d.name_len = (uint16_t)name_len;
	d.base_len = (uint16_t)maildir_name_base_len(rec->name);
	d.uidl_len = (uint8_t)uidl_len;
	size = sizeof(d) + (size_t)d.kw_count * 4 + name_len + 1 +
	       uidl_len + 1;
	buf = xmalloc(size);
	p = buf;
	memcpy(p, &d, sizeof(d));
	p += sizeof(d);
	if (d.kw_count > 0)
		memcpy(p, rec->kw, (size_t)d.kw_count * 4);
	p += (size_t)d.kw_count * 4;
	memcpy(p, rec->name, name_len + 1);
	p += name_len + 1;
	if (uidl_len > 0)
		memcpy(p, rec->uidl, uidl_len);
	p[uidl_len] = '\0';

	mail_index_be32(k, d.uid);
	rc = modseq_move(index, txn, old, &d);
	val.mv_size = size;
	val.mv_data = buf;
	if (rc == 0)
		rc = mdb_put(txn, index->env->db_msgs, &key, &val, 0);
	free(buf);
	if (rc == 0 && (old == NULL || old->d.base_len != d.base_len ||
			memcmp(old->name, rec->name, d.base_len) != 0)) {
		if (old != NULL) {
			bkey.mv_size = old->d.base_len;
			bkey.mv_data = old->name;
			rc = mdb_del(txn, index->env->db_bases, &bkey, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		if (rc == 0) {
			bkey.mv_size = d.base_len;
			bkey.mv_data = rec->name;
			bval.mv_size = sizeof(d.uid);
			bval.mv_data = &d.uid;
			rc = mdb_put(txn, index->env->db_bases, &bkey, &bval,
				     0);
		}
	}
	if (rc_r != NULL)
		*rc_r = rc;
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "write record", rc);
		return -1;
	}
	if (old != NULL)
		counters_add(hdr, old, -1);
	counters_add(hdr, rec, 1);
	index->rec_writes++;
	return 0;
}

int mail_index_rec_delete(struct mail_index *index, MDB_txn *txn,
			  struct mail_index_hdr *hdr,
			  const struct mail_index_rec *rec, uint64_t modseq,
			  int *rc_r, const char **error_r)
{
	uint8_t k[4], ek[12];
	MDB_val key = { 4, k }, bkey = { rec->d.base_len, rec->name };
	MDB_val ekey = { 12, ek }, eval = { 0, (void *)"" }, sval;
	uint64_t stored_modseq;
	int rc;

	mail_index_be32(k, rec->d.uid);
	mail_index_be64(ek, modseq);
	mail_index_be32(ek + 8, rec->d.uid);
	/* The MODSEQ stored, whatever the caller's copy says. */
	stored_modseq = rec->d.modseq;
	rc = mdb_get(txn, index->env->db_msgs, &key, &sval);
	if (rc == 0 && sval.mv_size >= sizeof(struct mail_index_rec_disk))
		memcpy(&stored_modseq,
		       (const uint8_t *)sval.mv_data +
			       offsetof(struct mail_index_rec_disk, modseq),
		       sizeof(stored_modseq));
	rc = mdb_del(txn, index->env->db_msgs, &key, NULL);
	if (rc == 0) {
		rc = mdb_del(txn, index->env->db_bases, &bkey, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc == 0) {
		uint8_t mk[12];
		MDB_val mkey = { 12, mk };

		modseq_key(mk, stored_modseq, rec->d.uid);
		rc = mdb_del(txn, index->env->db_modseq, &mkey, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc == 0)
		rc = mdb_put(txn, index->env->db_expunged, &ekey, &eval, 0);
	if (rc_r != NULL)
		*rc_r = rc;
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "delete record", rc);
		return -1;
	}
	if (mail_index_cache_delete_uid(index, txn, rec->d.uid, rc_r,
					error_r) < 0)
		return -1;
	counters_add(hdr, rec, -1);
	index->rec_writes++;
	return 0;
}

const struct mail_index_record *
mail_index_rec_export(struct mail_index *index,
		      const struct mail_index_rec *rec)
{
	struct mail_index_record *r = &index->rec;

	memset(r, 0, sizeof(*r));
	r->uid = rec->d.uid;
	r->flags = rec->d.flags;
	r->in_new = (rec->d.bits & REC_IN_NEW) != 0;
	r->seen_in_new = (rec->d.bits & REC_SEEN_IN_NEW) != 0;
	r->has_vsize = (rec->d.bits & REC_HAS_VSIZE) != 0;
	r->modseq = rec->d.modseq;
	r->size = rec->d.size;
	r->vsize = rec->d.vsize;
	r->internal_date = rec->d.internal_date;
	r->has_internal_date = (rec->d.bits & REC_NO_DATE) == 0;
	str_truncate(&index->rec_name, 0);
	str_append(&index->rec_name, rec->name);
	r->name = str_c(&index->rec_name);
	r->base_len = rec->d.base_len;
	if (rec->d.kw_count > index->rec_kw_alloc) {
		index->rec_kw_alloc = rec->d.kw_count;
		index->rec_kw = xreallocarray(index->rec_kw,
					      index->rec_kw_alloc,
					      sizeof(uint32_t));
	}
	if (rec->d.kw_count > 0)
		memcpy(index->rec_kw, rec->kw, rec->d.kw_count * 4);
	r->keywords = index->rec_kw;
	r->keyword_count = rec->d.kw_count;
	if (rec->uidl != NULL) {
		str_truncate(&index->rec_uidl, 0);
		str_append(&index->rec_uidl, rec->uidl);
		r->pop3_uidl = str_c(&index->rec_uidl);
	}
	return r;
}

/* ---- flags ---- */

static const struct {
	char letter;
	uint8_t flag;
} flag_letters[] = {
	{ 'D', MAIL_INDEX_DRAFT },   { 'F', MAIL_INDEX_FLAGGED },
	{ 'R', MAIL_INDEX_ANSWERED }, { 'S', MAIL_INDEX_SEEN },
	{ 'T', MAIL_INDEX_DELETED },
};

uint8_t mail_index_flags_from_letters(const char *letters)
{
	uint8_t flags = 0;
	size_t i;

	for (; *letters != '\0'; letters++) {
		for (i = 0; i < N_ELEMENTS(flag_letters); i++) {
			if (*letters == flag_letters[i].letter)
				flags |= flag_letters[i].flag;
		}
	}
	return flags;
}

char *mail_index_flags_to_letters(const char *old_letters, uint8_t flags)
{
	struct str s;
	size_t i;
	bool system;

	str_init(&s, 16);
	for (; *old_letters != '\0'; old_letters++) {
		system = false;
		for (i = 0; i < N_ELEMENTS(flag_letters); i++) {
			if (*old_letters == flag_letters[i].letter)
				system = true;
		}
		if (!system)
			str_append_c(&s, *old_letters);
	}
	for (i = 0; i < N_ELEMENTS(flag_letters); i++) {
		if ((flags & flag_letters[i].flag) != 0)
			str_append_c(&s, flag_letters[i].letter);
	}
	{
		char *norm = maildir_flags_normalize(str_c(&s));

		str_free(&s);
		return norm;
	}
}
