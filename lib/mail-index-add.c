/* mail-index-add.c: messages entering the mail index through our own
 * programs: APPEND/COPY (UIDPLUS, the delivery committed under the writer
 * lock), new/ to cur/, claiming \Recent. */
#include "config.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "mem.h"

/* ---- new/ to cur/ ---- */

struct move_ctx {
	const uint32_t *uids;
	size_t count;
};

static int move_fn(struct mail_index *index, MDB_txn *txn,
		   struct mail_index_hdr *hdr, void *context, int *rc_r,
		   const char **error_r)
{
	struct move_ctx *ctx = context;
	int n = 0, ret;

	for (size_t i = 0; i < ctx->count; i++) {
		struct mail_index_rec rec, old;
		char *newname = NULL;

		ret = mail_index_rec_get(index, txn, ctx->uids[i], &rec, rc_r,
					 error_r);
		if (ret < 0)
			return -1;
		if (ret == 0)
			continue;
		if ((rec.d.bits & REC_IN_NEW) == 0) {
			mail_index_rec_free(&rec);
			continue;
		}
		old = rec;
		old.name = xstrdup(rec.name);
		old.kw = NULL;
		old.uidl = NULL;
		ret = maildir_move_to_cur(index->dir, rec.name, &newname,
					  error_r);
		if (ret == 0) {
			/* Moved or renamed by someone else. */
			ret = mail_index_refind(index, &rec, error_r);
			if (ret == 1 && (rec.d.bits & REC_IN_NEW) != 0)
				ret = maildir_move_to_cur(index->dir, rec.name,
							  &newname, error_r);
		}
		if (ret == 1) {
			if (newname != NULL)
				mail_index_rec_set_name(&rec, newname);
			rec.d.bits &= (uint8_t)~REC_IN_NEW;
			mail_index_refound_flags(index, hdr, &rec);
			ret = mail_index_rec_put(index, txn, hdr, &old, &rec,
						 rc_r, error_r);
			if (ret == 0)
				n++;
		}
		free(newname);
		mail_index_rec_free(&old);
		mail_index_rec_free(&rec);
		if (ret < 0)
			return -1;
	}
	return n;
}

int mail_index_move_to_cur(struct mail_index *index, const uint32_t *uids,
			   size_t count, const char **error_r)
{
	struct move_ctx ctx = { .uids = uids, .count = count };

	/* No message comes or goes: a commit whose meta page a power
	 * failure loses leaves the index with the files in new/ and older
	 * stamps, and the next scan finds them in cur/ (as for STORE). */
	return mail_index_write_txn_relaxed(index, move_fn, &ctx, error_r);
}

/* ---- \Recent ---- */

static int recent_fn(struct mail_index *index, MDB_txn *txn,
		     struct mail_index_hdr *hdr, void *context, int *rc_r,
		     const char **error_r)
{
	uint32_t *first_r = context;

	(void)index;
	(void)txn;
	(void)rc_r;
	(void)error_r;
	*first_r = hdr->first_recent_uid;
	hdr->first_recent_uid = hdr->uidnext;
	return 0;
}

int mail_index_claim_recent(struct mail_index *index, uint32_t *first_r,
			    const char **error_r)
{
	struct mail_index_hdr hdr;
	MDB_txn *txn;
	int ret;

	/* Every session claims when it sees new messages: all but the
	 * first find them claimed already, without the writer lock (a
	 * message added after this look is claimed by the next call). */
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_hdr_get(index, txn, &hdr, error_r);
	mail_index_read_end(index, &txn);
	if (ret > 0 && hdr.first_recent_uid >= hdr.uidnext) {
		*first_r = hdr.first_recent_uid;
		return 0;
	}
	return mail_index_write_txn_relaxed(index, recent_fn, first_r, error_r);
}

/* ---- APPEND ---- */

struct add_ctx {
	const char *name;
	const char *const *keywords;
	size_t keyword_count;
	uint32_t uid;
	/* mail_index_add_delivery(): committed inside the transaction. */
	struct maildir_delivery **delivery;
	const char *flags;
	int64_t internal_date;
	char *committed;	/* the name once committed */
	bool in_txn;		/* it appeared inside this transaction */
};

/* A message the index already knows (found by a concurrent scan before
 * our caller's mail_index_add()): its date is what the file says now,
 * the caller having set the mtime (APPEND's date) after delivering. */
static int add_known(struct mail_index *index, MDB_txn *txn,
		     struct mail_index_hdr *hdr, uint32_t uid, int *rc_r,
		     const char **error_r)
{
	struct mail_index_rec rec;
	struct stat st;
	char *path;
	int ret;

	ret = mail_index_rec_get(index, txn, uid, &rec, rc_r, error_r);
	if (ret <= 0)
		return ret;
	path = mail_index_rec_path(index, &rec);
	if (stat(path, &st) == 0 &&
	    ((rec.d.bits & REC_NO_DATE) != 0 ||
	     rec.d.internal_date != st.st_mtime)) {
		rec.d.internal_date = st.st_mtime;
		rec.d.bits &= (uint8_t)~REC_NO_DATE;
		ret = mail_index_rec_put(index, txn, hdr, &rec, &rec, rc_r,
					 error_r);
	}
	free(path);
	mail_index_rec_free(&rec);
	return ret < 0 ? -1 : 0;
}

static int add_fn(struct mail_index *index, MDB_txn *txn,
		  struct mail_index_hdr *hdr, void *context, int *rc_r,
		  const char **error_r)
{
	struct add_ctx *ctx = context;
	size_t base_len, i;
	MDB_val key, val;
	struct mail_index_rec rec;
	struct stat st;
	char *path;
	bool in_new = false;
	int rc, ret;

	/* A retry (after growing the map) finds the file there already. */
	ctx->in_txn = false;
	if (ctx->delivery != NULL && *ctx->delivery != NULL) {
		/* Under the writer lock: no other session sees the file
		 * before its record, and the directory's new mtime is
		 * recorded as our own change (no rescan for anyone). */
		if (maildir_delivery_commit(ctx->delivery, ctx->flags,
					    &ctx->committed, error_r) < 0) {
			*rc_r = 0;
			return -1;
		}
		ctx->name = ctx->committed;
		ctx->in_txn = true;
		if (ctx->internal_date >= 0) {
			struct timespec ts[2] = {
				{ .tv_sec = (time_t)ctx->internal_date },
				{ .tv_sec = (time_t)ctx->internal_date },
			};

			path = xasprintf("%s/%s/%s", index->dir,
					 ctx->flags != NULL ? "cur" : "new",
					 ctx->name);
			(void)utimensat(AT_FDCWD, path, ts, 0);
			free(path);
		}
	}
	base_len = maildir_name_base_len(ctx->name);
	key.mv_size = base_len;
	key.mv_data = (void *)ctx->name;
	rc = mdb_get(txn, index->env->db_bases, &key, &val);
	if (rc == 0 && val.mv_size == 4) {
		memcpy(&ctx->uid, val.mv_data, 4);
		return add_known(index, txn, hdr, ctx->uid, rc_r, error_r);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "read base", rc);
		*rc_r = rc;
		return -1;
	}
	path = xasprintf("%s/cur/%s", index->dir, ctx->name);
	if (stat(path, &st) < 0 && errno == ENOENT) {
		free(path);
		path = xasprintf("%s/new/%s", index->dir, ctx->name);
		in_new = true;
		if (stat(path, &st) < 0) {
			mail_index_set_error(error_r, "stat(%s): %s", path,
					     strerror(errno));
			free(path);
			*rc_r = 0;
			return -1;
		}
	}
	free(path);
	/* Our caller put it there just before the transaction. */
	if (!ctx->in_txn)
		index->changed_outside |= in_new ? MAIL_INDEX_DIR_NEW
						 : MAIL_INDEX_DIR_CUR;
	if (hdr->uidnext >= UINT32_MAX) {
		mail_index_set_error(error_r, "mail index: UIDs exhausted");
		errno = EOVERFLOW;
		*rc_r = 0;
		return -1;
	}
	memset(&rec, 0, sizeof(rec));
	mail_index_rec_set_name(&rec, ctx->name);
	rec.d.uid = hdr->uidnext++;
	rec.d.modseq = ++hdr->highestmodseq;
	rec.d.flags = in_new ? 0
			     : mail_index_flags_from_letters(
				       maildir_name_flags(ctx->name));
	rec.d.bits = in_new ? REC_IN_NEW | REC_SEEN_IN_NEW : REC_SEEN_IN_NEW;
	rec.d.size = (uint64_t)st.st_size;
	rec.d.internal_date = st.st_mtime;
	if (maildir_name_get_size(ctx->name, 'W', &rec.d.vsize) == 1)
		rec.d.bits |= REC_HAS_VSIZE;
	if (ctx->keyword_count > 0) {
		rec.kw = xcalloc(ctx->keyword_count, sizeof(uint32_t));
		for (i = 0; i < ctx->keyword_count; i++) {
			uint32_t id;

			if (mail_index_kw_id(index, txn, hdr, ctx->keywords[i],
					     true, &id, error_r) < 0) {
				mail_index_rec_free(&rec);
				*rc_r = 0;
				return -1;
			}
			if (!mail_index_kw_has(rec.kw, rec.d.kw_count, id))
				rec.kw[rec.d.kw_count++] = id;
		}
		if (maildir_keywords_store(index->dir, ctx->name,
					   ctx->keywords, ctx->keyword_count,
					   error_r) < 0) {
			mail_index_rec_free(&rec);
			*rc_r = 0;
			return -1;
		}
	}
	ret = mail_index_rec_put(index, txn, hdr, NULL, &rec, rc_r, error_r);
	ctx->uid = rec.d.uid;
	mail_index_rec_free(&rec);
	return ret;
}

int mail_index_add(struct mail_index *index, const char *name,
		   const char *const *keywords, size_t keyword_count,
		   uint32_t *uid_r, const char **error_r)
{
	struct add_ctx ctx = {
		.name = name, .keywords = keywords,
		.keyword_count = keyword_count,
	};
	int ret;

	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL ||
	    strlen(name) > MAILDIR_NAME_MAX) {
		mail_index_set_error(error_r, "invalid message file name");
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < keyword_count; i++) {
		if (!maildir_keywords_name_valid(keywords[i])) {
			mail_index_set_error(error_r, "invalid keyword name");
			errno = EINVAL;
			return -1;
		}
	}
	if (keyword_count > index->set.max_keywords_per_message) {
		mail_index_set_error(error_r, "too many keywords");
		errno = EINVAL;
		return -1;
	}
	/* The file is in the folder already: a recheck scan in the
	 * transaction would index it without its keywords. */
	index->no_writer_scan = true;
	ret = mail_index_write_txn(index, add_fn, &ctx, error_r);
	index->no_writer_scan = false;
	if (ret < 0)
		return -1;
	*uid_r = ctx.uid;
	return 0;
}

int mail_index_add_delivery(struct mail_index *index,
			    struct maildir_delivery **delivery,
			    const char *flags, int64_t internal_date,
			    const char *const *keywords, size_t keyword_count,
			    uint32_t *uid_r, char **name_r,
			    const char **error_r)
{
	struct add_ctx ctx = {
		.keywords = keywords, .keyword_count = keyword_count,
		.delivery = delivery, .flags = flags,
		.internal_date = internal_date,
	};
	int ret = 0;

	for (size_t i = 0; i < keyword_count && ret == 0; i++) {
		if (!maildir_keywords_name_valid(keywords[i])) {
			mail_index_set_error(error_r, "invalid keyword name");
			ret = -1;
		}
	}
	if (ret == 0 && keyword_count > index->set.max_keywords_per_message) {
		mail_index_set_error(error_r, "too many keywords");
		ret = -1;
	}
	if (ret < 0) {
		maildir_delivery_abort(delivery);
		errno = EINVAL;
		return -1;
	}
	ret = mail_index_write_txn(index, add_fn, &ctx, error_r);
	if (*delivery != NULL) {
		/* The transaction failed before the commit. */
		maildir_delivery_abort(delivery);
	}
	if (ret < 0 && ctx.committed != NULL) {
		/* Delivered but not indexed: the next sync finds it. */
		log_warning("mail index %s: %s delivered, not indexed: %s",
			    index->dir, ctx.committed, *error_r);
	}
	if (ret < 0) {
		free(ctx.committed);
		return -1;
	}
	*uid_r = ctx.uid;
	if (name_r != NULL)
		*name_r = ctx.committed;
	else
		free(ctx.committed);
	return 0;
}
