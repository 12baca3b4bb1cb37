/* mail-index-bulk.c: one-pass, in-place reads of every record of a mail
 * index (see mail-index-bulk.h). */
#include "config.h"

#include <string.h>

#include "mail-index-bulk.h"
#include "mail-index-private.h"

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
	struct mail_index_brief brief;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	int rc, ret = 0;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_cursor_open(txn, index->env->db_msgs, &cur);
	if (rc != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "cursor", rc);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
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
