/* mail-index-cache.c: the mail index's cache of parsed message data:
 * opaque blobs keyed by (UID, field name), dropped with the message. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "mail-index-private.h"
#include "mem.h"

/* Builds the key UID (BE) + field; returns its length, 0 if the field
 * name is invalid. */
static size_t cache_key(uint8_t *buf, uint32_t uid, const char *field)
{
	size_t len = strlen(field);

	if (len == 0 || len > MAIL_INDEX_CACHE_FIELD_MAX)
		return 0;
	mail_index_be32(buf, uid);
	memcpy(buf + 4, field, len);
	return len + 4;
}

int mail_index_cache_delete_uid(struct mail_index *index, MDB_txn *txn,
				uint32_t uid, int *rc_r, const char **error_r)
{
	uint8_t k[4];
	MDB_val key = { 4, k }, val;
	MDB_cursor *cur;
	int rc;

	mail_index_be32(k, uid);
	rc = mdb_cursor_open(txn, index->env->db_cache, &cur);
	if (rc == 0) {
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
		while (rc == 0 && key.mv_size >= 4 &&
		       mail_index_get_be32(key.mv_data) == uid) {
			rc = mdb_cursor_del(cur, 0);
			/* After a delete, NEXT yields the following entry. */
			if (rc == 0)
				rc = mdb_cursor_get(cur, &key, &val,
						    MDB_NEXT);
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND || rc == EINVAL)
			rc = 0;
	}
	if (rc_r != NULL)
		*rc_r = rc;
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "delete cache", rc);
		return -1;
	}
	return 0;
}

int mail_index_cache_put(struct mail_index *index, uint32_t uid,
			 const char *field, const void *data, size_t len,
			 const char **error_r)
{
	struct mail_index_cache_entry e = {
		.uid = uid, .field = field, .data = data, .len = len,
	};

	int ret = mail_index_cache_put_batch(index, &e, 1, error_r);

	return ret < 0 ? -1 : ret > 0 ? 1 : 0;
}

int mail_index_cache_put_batch(struct mail_index *index,
			       const struct mail_index_cache_entry *entries,
			       size_t count, const char **error_r)
{
	uint8_t kbuf[4 + MAIL_INDEX_CACHE_FIELD_MAX], ukey[4];
	MDB_val key = { 0, kbuf }, val;
	MDB_val mkey = { 4, ukey }, mval;
	MDB_txn *txn;
	int rc = 0, tries, stored = 0;

	for (size_t i = 0; i < count; i++) {
		if (cache_key(kbuf, entries[i].uid, entries[i].field) == 0) {
			mail_index_set_error(error_r,
					     "invalid cache field name");
			errno = EINVAL;
			return -1;
		}
		/* one value too large must not cost the others: it is
		 * skipped below (only a lone value fails with EFBIG) */
		if (entries[i].len > index->set.max_cache_blob &&
		    count == 1) {
			mail_index_set_error(error_r, "cache value too large");
			errno = EFBIG;
			return -1;
		}
	}
	if (count == 0)
		return 0;
	for (tries = 0; tries <= MAIL_INDEX_MAP_RETRIES; tries++) {
		if (mail_index_write_begin(index, &txn, error_r) < 0)
			return -1;
		stored = 0;
		/* the values of one message come together: its record is
		 * looked up once for them */
		bool have_last = false, last_found = false;
		uint32_t last_uid = 0;
		for (size_t i = 0; rc == 0 && i < count; i++) {
			if (entries[i].len > index->set.max_cache_blob)
				continue;
			if (!have_last || entries[i].uid != last_uid) {
				mail_index_be32(ukey, entries[i].uid);
				rc = mdb_get(txn, index->env->db_msgs, &mkey,
					     &mval);
				if (rc != 0 && rc != MDB_NOTFOUND)
					break;
				last_found = rc == 0;
				last_uid = entries[i].uid;
				have_last = true;
				rc = 0;
			}
			if (!last_found)
				continue;
			key.mv_size = cache_key(kbuf, entries[i].uid,
						entries[i].field);
			val.mv_size = entries[i].len;
			val.mv_data = (void *)entries[i].data;
			rc = mdb_put(txn, index->env->db_cache, &key, &val, 0);
			if (rc == 0)
				stored++;
		}
		if (rc == 0) {
			rc = mdb_txn_commit(txn);
			if (rc == 0)
				return stored;
		} else {
			mdb_txn_abort(txn);
		}
		if (rc != MDB_MAP_FULL)
			break;
		rc = 0;
		if (mail_index_grow_map(index, error_r) < 0)
			return -1;
	}
	mail_index_set_mdb_error(error_r, "cache put", rc);
	return -1;
}

int mail_index_cache_get(struct mail_index *index, uint32_t uid,
			 const char *field, struct str *out,
			 const char **error_r)
{
	uint8_t kbuf[4 + MAIL_INDEX_CACHE_FIELD_MAX];
	MDB_val key = { 0, kbuf }, val;
	MDB_txn *txn;
	int rc, ret;

	key.mv_size = cache_key(kbuf, uid, field);
	if (key.mv_size == 0)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_get(txn, index->env->db_cache, &key, &val);
	if (rc == MDB_NOTFOUND) {
		ret = 0;
	} else if (rc != 0) {
		mail_index_set_mdb_error(error_r, "cache get", rc);
		ret = -1;
	} else if (str_append_n(out, val.mv_data, val.mv_size) < 0) {
		mail_index_set_error(error_r, "cache value over the limit");
		errno = EFBIG;
		ret = -1;
	} else {
		ret = 1;
	}
	mail_index_read_end(index, &txn);
	return ret;
}
