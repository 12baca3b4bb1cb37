/* mail-index-sortkey.c: the mail index's sort keys: small values a layer
 * derives once from a message's header (IMAP SORT and THREAD), kept by
 * UID in their own database so that a pass over the folder reads them in
 * UID order without decoding a cached blob. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "mail-index-private.h"
#include "mem.h"

/* The database's name, and the key of its own entry (UID 0, which no
 * message has): which index the keys belong to, its UIDVALIDITY (BE u32)
 * and the MODSEQ it was built at (BE u64, the meta database's "built"):
 * a rebuild over the same file, which may give the same UIDVALIDITY and
 * UIDs to other messages, changes the latter. */
#define SORTKEY_DB "sortkey"
#define SORTKEY_META_UID 0
#define SORTKEY_META_LEN 12

struct mail_index_sortkey_reader {
	struct mail_index *index;
	MDB_txn *txn;
	MDB_cursor *cur;
	/* Where the cursor is: on the key of pos_uid, or (at_end) past
	 * every key, all of them below pos_uid. */
	bool positioned, at_end;
	uint32_t pos_uid;
};

static void key_set(uint8_t *buf, MDB_val *key, uint32_t uid)
{
	mail_index_be32(buf, uid);
	key->mv_size = 4;
	key->mv_data = buf;
}

/* Set when the environment had no room for the database (more named
 * databases than it was opened for): the keys are an optimisation, and
 * the process stops trying (a write transaction a SORT for nothing). */
static bool sortkey_unavailable;

/* Opens the database in txn: 1 and *dbi_r, 0 if it does not exist (or
 * there is no room for it), -1 with the LMDB code in *rc_r. */
static int sortkey_dbi(MDB_txn *txn, bool create, MDB_dbi *dbi_r, int *rc_r)
{
	int rc = mdb_dbi_open(txn, SORTKEY_DB, create ? MDB_CREATE : 0, dbi_r);

	*rc_r = rc;
	if (rc == 0)
		return 1;
	if (rc == MDB_DBS_FULL)
		sortkey_unavailable = true;
	if (rc == MDB_NOTFOUND || rc == MDB_DBS_FULL) {
		*rc_r = 0;
		return 0;
	}
	return -1;
}

/* The index the keys were made for (its SORTKEY_META_LEN bytes). */
static int index_stamp(struct mail_index *index, MDB_txn *txn,
		       const struct mail_index_hdr *hdr, uint8_t *stamp,
		       const char **error_r)
{
	uint64_t built;

	if (mail_index_built_get(index, txn, &built, error_r) < 0)
		return -1;
	mail_index_be32(stamp, hdr->uidvalidity);
	mail_index_be64(stamp + 4, built);
	return 0;
}

/* Whether the stored keys belong to the index whose stamp is given: 1 if
 * so, 0 if not (or none recorded), -1 on error (rc in *rc_r). */
static int meta_matches(MDB_txn *txn, MDB_dbi dbi, const uint8_t *stamp,
			int *rc_r)
{
	uint8_t kbuf[4];
	MDB_val key, val;
	int rc;

	key_set(kbuf, &key, SORTKEY_META_UID);
	rc = mdb_get(txn, dbi, &key, &val);
	*rc_r = rc == MDB_NOTFOUND ? 0 : rc;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return -1;
	return val.mv_size == SORTKEY_META_LEN &&
	       memcmp(val.mv_data, stamp, SORTKEY_META_LEN) == 0;
}

int mail_index_sortkey_read_begin(struct mail_index *index,
				  struct mail_index_sortkey_reader **reader_r,
				  const char **error_r)
{
	struct mail_index_sortkey_reader *r;
	struct mail_index_hdr hdr;
	MDB_txn *txn, *cached;
	MDB_dbi dbi;
	uint8_t stamp[SORTKEY_META_LEN];
	int ret, rc = 0;

	*reader_r = NULL;
	if (sortkey_unavailable)
		return 0;
	/* A transaction of its own, not the index's cached one: the pass
	 * that reads the keys calls the index for the messages without
	 * them, and those calls keep reusing the cached transaction
	 * instead of beginning one each. */
	if (mail_index_read_begin(index, &cached, error_r) < 0)
		return -1;
	ret = mail_index_read_begin(index, &txn, error_r);
	mail_index_read_end(index, &cached);
	if (ret < 0)
		return -1;
	ret = sortkey_dbi(txn, false, &dbi, &rc);
	if (ret > 0) {
		ret = mail_index_hdr_get(index, txn, &hdr, error_r);
		if (ret > 0 && index_stamp(index, txn, &hdr, stamp,
					   error_r) < 0)
			ret = -1;
		/* keys of another UIDVALIDITY or build: none */
		if (ret > 0)
			ret = meta_matches(txn, dbi, stamp, &rc);
		else
			rc = 0;
	}
	if (ret <= 0) {
		if (ret < 0 && rc != 0)
			mail_index_set_mdb_error(error_r, "sort keys", rc);
		mail_index_read_end(index, &txn);
		return ret;
	}
	r = xcalloc(1, sizeof(*r));
	r->index = index;
	r->txn = txn;
	rc = mdb_cursor_open(txn, dbi, &r->cur);
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "sort keys cursor", rc);
		mail_index_read_end(index, &r->txn);
		free(r);
		return -1;
	}
	*reader_r = r;
	return 1;
}

/* Moves the cursor by op (MDB_NEXT, or MDB_SET_RANGE to uid): 1 and the
 * value when it lands on uid, 0 when not (the position is noted), -1. */
static int reader_move(struct mail_index_sortkey_reader *r, uint32_t uid,
		       MDB_cursor_op op, MDB_val *val)
{
	uint8_t kbuf[4];
	MDB_val key;
	int rc;

	key_set(kbuf, &key, uid);
	rc = mdb_cursor_get(r->cur, &key, val, op);
	if (rc == MDB_NOTFOUND) {
		r->positioned = true;
		r->at_end = true;
		if (op != MDB_NEXT || uid > r->pos_uid)
			r->pos_uid = uid;
		return 0;
	}
	if (rc != 0) {
		r->positioned = false;
		mail_index_last_mdb_rc = rc;
		return -1;
	}
	if (key.mv_size != 4) {
		r->positioned = false;
		return 0;
	}
	r->positioned = true;
	r->at_end = false;
	r->pos_uid = mail_index_get_be32(key.mv_data);
	return r->pos_uid == uid ? 1 : 0;
}

int mail_index_sortkey_read(struct mail_index_sortkey_reader *reader,
			    uint32_t uid, const void **data_r, size_t *len_r)
{
	struct mail_index_sortkey_reader *r = reader;
	MDB_val key, val;
	int ret, rc;

	if (r == NULL || uid == SORTKEY_META_UID)
		return 0;
	ret = -2;
	if (r->positioned && uid == r->pos_uid) {
		if (r->at_end)
			return 0;
		rc = mdb_cursor_get(r->cur, &key, &val, MDB_GET_CURRENT);
		ret = rc == 0 ? 1 : -2;
	} else if (r->positioned && uid > r->pos_uid) {
		if (r->at_end)
			return 0;
		/* a pass in UID order: the next key is the one asked for
		 * (no search of the tree), or past it (none) */
		ret = reader_move(r, uid, MDB_NEXT, &val);
		if (ret == 0 && r->positioned && r->pos_uid < uid)
			ret = -2;
	}
	if (ret == -2)
		ret = reader_move(r, uid, MDB_SET_RANGE, &val);
	if (ret <= 0)
		return ret;
	*data_r = val.mv_data;
	*len_r = val.mv_size;
	return 1;
}

void mail_index_sortkey_read_end(struct mail_index_sortkey_reader **reader)
{
	struct mail_index_sortkey_reader *r = *reader;

	if (r == NULL)
		return;
	mdb_cursor_close(r->cur);
	mail_index_read_end(r->index, &r->txn);
	free(r);
	*reader = NULL;
}

struct put_ctx {
	const struct mail_index_sortkey_entry *entries;
	size_t count;
};

/* Deletes the keys of messages no longer in the index. */
static int sortkey_clean(struct mail_index *index, MDB_txn *txn,
			 MDB_dbi dbi, int *rc_r)
{
	uint8_t kbuf[4];
	MDB_val key, val, mkey, mval;
	MDB_cursor *cur, *mcur;
	int rc;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_open(txn, index->env->db_msgs, &mcur);
	if (rc != 0) {
		mdb_cursor_close(cur);
		goto out;
	}
	key_set(kbuf, &key, SORTKEY_META_UID + 1);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0) {
		bool gone = key.mv_size != 4;

		if (!gone) {
			mkey = key;
			rc = mdb_cursor_get(mcur, &mkey, &mval, MDB_SET);
			gone = rc == MDB_NOTFOUND;
			if (rc != 0 && !gone)
				break;
		}
		/* After a delete, NEXT yields the following entry. */
		rc = gone ? mdb_cursor_del(cur, 0) : 0;
		if (rc == 0)
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(mcur);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	*rc_r = rc;
	return rc == 0 ? 0 : -1;
}

static int put_fn(struct mail_index *index, MDB_txn *txn,
		  struct mail_index_hdr *hdr, void *context, int *rc_r,
		  const char **error_r)
{
	struct put_ctx *ctx = context;
	uint8_t kbuf[4], stamp[SORTKEY_META_LEN];
	MDB_val key, val;
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_stat st;
	uint32_t last_uid = 0;
	int ret, rc = 0, stored = 0;

	ret = sortkey_dbi(txn, true, &dbi, &rc);
	if (ret <= 0)
		goto out;
	if (index_stamp(index, txn, hdr, stamp, error_r) < 0)
		return -1;
	ret = meta_matches(txn, dbi, stamp, &rc);
	if (ret < 0)
		goto out;
	if (ret == 0) {
		/* new, or keys of another UIDVALIDITY or build: start
		 * again */
		rc = mdb_drop(txn, dbi, 0);
		if (rc == 0) {
			key_set(kbuf, &key, SORTKEY_META_UID);
			val.mv_size = SORTKEY_META_LEN;
			val.mv_data = stamp;
			rc = mdb_put(txn, dbi, &key, &val, 0);
		}
		if (rc != 0) {
			ret = -1;
			goto out;
		}
	} else if ((rc = mdb_stat(txn, dbi, &st)) != 0) {
		ret = -1;
		goto out;
	} else if (st.ms_entries > 64 + (size_t)hdr->messages +
					   hdr->messages / 4 &&
		   sortkey_clean(index, txn, dbi, &rc) < 0) {
		/* a quarter more keys than messages: those of expunged
		 * messages go */
		ret = -1;
		goto out;
	}
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		ret = -1;
		goto out;
	}
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	if (rc == 0 && key.mv_size == 4)
		last_uid = mail_index_get_be32(key.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND) {
		ret = -1;
		goto out;
	}
	rc = 0;
	/* A message expunged since its keys were worked out is not looked
	 * for (a lookup a key would cost the first SORT of a large folder
	 * as much as the rest of the write): its keys are harmless (UIDs
	 * are never reused) and cleaned with the others. */
	for (size_t i = 0; i < ctx->count; i++) {
		const struct mail_index_sortkey_entry *e = &ctx->entries[i];
		unsigned flags = 0;

		if (e->uid == SORTKEY_META_UID ||
		    e->uid >= hdr->uidnext ||
		    e->len > MAIL_INDEX_SORTKEY_MAX)
			continue;
		key_set(kbuf, &key, e->uid);
		val.mv_size = e->len;
		val.mv_data = (void *)e->data;
		if (e->uid > last_uid) {
			/* past the last key (a first fill, new messages) */
			flags = MDB_APPEND;
			last_uid = e->uid;
		}
		rc = mdb_cursor_put(cur, &key, &val, flags);
		if (rc != 0)
			break;
		stored++;
	}
	ret = rc == 0 ? stored : -1;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	*rc_r = rc;
	if (ret < 0)
		mail_index_set_mdb_error(error_r, "sort keys", rc);
	return ret;
}

int mail_index_sortkey_put_batch(struct mail_index *index,
				 const struct mail_index_sortkey_entry *entries,
				 size_t count, const char **error_r)
{
	struct put_ctx ctx = { .entries = entries, .count = count };

	if (count == 0 || sortkey_unavailable)
		return 0;
	/* Derived from files that never change: losing the last of them
	 * to a power failure costs a parse, so no meta page sync. */
	return mail_index_write_txn_relaxed(index, put_fn, &ctx, error_r);
}
