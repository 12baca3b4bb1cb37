/* mail-index-bulk.c: one-pass, in-place reads of every record of a mail
 * index, and in-order writes of a scan's new records (see
 * mail-index-bulk.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "mail-index-bulk.h"
#include "mail-index-private.h"
#include "maildir.h"
#include "mem.h"

/* Checks the stored record val and fills brief from it in place.  False
 * if it is malformed (the same rules as mail_index_rec_decode()). */
static bool brief_decode(const MDB_val *key, const MDB_val *val,
			 struct mail_index_brief *brief)
{
	struct mail_index_rec_disk d;
	const char *p;
	size_t need;

	if (key->mv_size != 4 || val->mv_size < sizeof(d))
		return false;
	memcpy(&d, val->mv_data, sizeof(d));
	need = sizeof(d) + (size_t)d.kw_count * 4 + d.name_len + 1 +
	       d.uidl_len + 1;
	if (val->mv_size != need || d.base_len > d.name_len)
		return false;
	memset(brief, 0, sizeof(*brief));
	brief->uid = mail_index_get_be32(key->mv_data);
	brief->flags = d.flags;
	brief->in_new = (d.bits & REC_IN_NEW) != 0;
	brief->seen_in_new = (d.bits & REC_SEEN_IN_NEW) != 0;
	brief->has_vsize = (d.bits & REC_HAS_VSIZE) != 0;
	brief->size = d.size;
	brief->vsize = d.vsize;
	if (d.uidl_len > 0) {
		p = (const char *)val->mv_data + sizeof(d) +
		    (size_t)d.kw_count * 4 + d.name_len + 1;
		if (p[d.uidl_len] != '\0' ||
		    memchr(p, '\0', d.uidl_len) != NULL)
			return false;
		brief->pop3_uidl = p;
		brief->pop3_uidl_len = d.uidl_len;
	}
	return true;
}

int mail_index_iterate_brief(struct mail_index *index,
			     mail_index_brief_cb *cb, void *context,
			     const char **error_r)
{
	return mail_index_iterate_brief_from(index, 0, cb, context, error_r);
}

int mail_index_iterate_brief_from(struct mail_index *index, uint32_t first_uid,
				  mail_index_brief_cb *cb, void *context,
				  const char **error_r)
{
	struct mail_index_brief brief;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	uint8_t k[4];
	int rc, ret = 0;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_cursor_open(txn, index->env->db_msgs, &cur);
	if (rc != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "cursor", rc);
		return -1;
	}
	mail_index_be32(k, first_uid);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	for (rc = first_uid <= 1 ? mdb_cursor_get(cur, &key, &val, MDB_FIRST)
				 : mdb_cursor_get(cur, &key, &val,
						  MDB_SET_RANGE);
	     rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (!brief_decode(&key, &val, &brief))
			continue;
		ret = cb(&brief, context);
		if (ret != 0)
			break;
	}
	mdb_cursor_close(cur);
	mail_index_read_end(index, &txn);
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "iterate", rc);
		return -1;
	}
	return ret;
}

uint32_t mail_index_bulk_uidvalidity(const struct mail_index *index)
{
	return index->last_uidvalidity;
}

/* Puts key/val into dbi through *cur (opened on first use): appended
 * while the keys come in order, else (from the first one that does not)
 * the usual way.  With reserve, val's mv_data is set to the space to
 * fill.  Returns an LMDB code. */
static int bulk_put(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cur,
		    bool *unordered, MDB_val *key, MDB_val *val,
		    unsigned reserve)
{
	int rc;

	if (*cur == NULL && (rc = mdb_cursor_open(txn, dbi, cur)) != 0) {
		*cur = NULL;
		return rc;
	}
	if (!*unordered) {
		rc = mdb_cursor_put(*cur, key, val, MDB_APPEND | reserve);
		if (rc != MDB_KEYEXIST)
			return rc;
		*unordered = true;
	}
	return mdb_cursor_put(*cur, key, val, reserve);
}

void mail_index_bulk_end(struct mail_index_bulk *bulk)
{
	MDB_cursor **curs[] = { &bulk->c_msgs, &bulk->c_bases,
				&bulk->c_modseq };

	for (size_t i = 0; i < N_ELEMENTS(curs); i++) {
		if (*curs[i] != NULL)
			mdb_cursor_close(*curs[i]);
		*curs[i] = NULL;
	}
}

int mail_index_bulk_add(struct mail_index *index, MDB_txn *txn,
			struct mail_index_bulk *bulk,
			struct mail_index_hdr *hdr,
			const struct mail_index_rec_disk *d, const char *name,
			size_t name_len, const char *uidl, int *rc_r,
			const char **error_r)
{
	size_t uidl_len = uidl != NULL ? strlen(uidl) : 0;
	struct mail_index_rec_disk rd = *d;
	uint8_t k[4], mk[12];
	MDB_val key = { 4, k }, mkey = { 12, mk }, empty = { 0, (void *)"" };
	MDB_val val, bkey, bval;
	uint8_t *p;
	int rc;

	if (name_len > MAILDIR_NAME_MAX || uidl_len > 255 ||
	    memchr(name, '\0', name_len) != NULL) {
		mail_index_set_error(error_r, "mail index: name too long");
		errno = ENAMETOOLONG;
		if (rc_r != NULL)
			*rc_r = 0;
		return -1;
	}
	rd.name_len = (uint16_t)name_len;
	rd.base_len = (uint16_t)name_len;
	for (size_t i = name_len; i > 0; i--) {
		if (name[i - 1] == ':') {
			rd.base_len = (uint16_t)(i - 1);
			break;
		}
	}
	rd.uidl_len = (uint8_t)uidl_len;
	rd.kw_count = 0;

	/* "modseq": (MODSEQ, UID), as mail-index-rec.c keys it. */
	mail_index_be64(mk, rd.modseq);
	mail_index_be32(mk + 8, rd.uid);
	rc = bulk_put(txn, index->env->db_modseq, &bulk->c_modseq,
		      &bulk->modseq_unordered, &mkey, &empty, 0);
	if (rc == 0) {
		mail_index_be32(k, rd.uid);
		val.mv_size = sizeof(rd) + name_len + 1 + uidl_len + 1;
		val.mv_data = NULL;
		rc = bulk_put(txn, index->env->db_msgs, &bulk->c_msgs,
			      &bulk->msgs_unordered, &key, &val,
			      MDB_RESERVE);
	}
	if (rc == 0) {
		p = val.mv_data;
		memcpy(p, &rd, sizeof(rd));
		p += sizeof(rd);
		memcpy(p, name, name_len);
		p[name_len] = '\0';
		p += name_len + 1;
		if (uidl_len > 0)
			memcpy(p, uidl, uidl_len);
		p[uidl_len] = '\0';
		bkey.mv_size = rd.base_len;
		bkey.mv_data = (void *)name;
		bval.mv_size = sizeof(rd.uid);
		bval.mv_data = &rd.uid;
		rc = bulk_put(txn, index->env->db_bases, &bulk->c_bases,
			      &bulk->bases_unordered, &bkey, &bval, 0);
	}
	if (rc_r != NULL)
		*rc_r = rc;
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "write record", rc);
		return -1;
	}
	/* The folder's counters, as for any new record. */
	hdr->messages++;
	if ((rd.flags & MAIL_INDEX_SEEN) != 0)
		hdr->seen++;
	if ((rd.flags & MAIL_INDEX_DELETED) != 0)
		hdr->deleted++;
	hdr->total_size += rd.size;
	index->rec_writes++;
	return 0;
}
