/* mail-index-store.c: STORE through the mail index: flags renamed into
 * the file names, keywords written to courierimapkeywords/, one MODSEQ. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "mem.h"

/* ---- STORE ---- */

struct store_ctx {
	const uint32_t *uids;
	size_t count;
	const struct mail_index_change *change;
	struct mail_index_store_result *results;
	uint32_t *kw_ids;	/* ids of change->keywords */
};

/* New keyword list of rec under the change; returns true if it differs. */
static bool store_keywords(struct mail_index *index, struct store_ctx *ctx,
			   const struct mail_index_rec *rec, uint32_t **kw_r,
			   size_t *n_r)
{
	const struct mail_index_change *c = ctx->change;
	size_t n = 0, i, max = rec->d.kw_count + c->keyword_count;
	uint32_t *kw = xcalloc(max > 0 ? max : 1, sizeof(*kw));
	bool changed = false;

	(void)index;
	if (c->mode != MAIL_INDEX_MODIFY_REPLACE) {
		for (i = 0; i < rec->d.kw_count; i++) {
			if (c->mode == MAIL_INDEX_MODIFY_REMOVE &&
			    mail_index_kw_has(ctx->kw_ids, c->keyword_count, rec->kw[i])) {
				changed = true;
				continue;
			}
			if (!mail_index_kw_has(kw, n, rec->kw[i]))
				kw[n++] = rec->kw[i];
		}
		if (c->mode == MAIL_INDEX_MODIFY_ADD) {
			for (i = 0; i < c->keyword_count; i++) {
				if (!mail_index_kw_has(kw, n, ctx->kw_ids[i])) {
					kw[n++] = ctx->kw_ids[i];
					changed = true;
				}
			}
		}
	} else {
		for (i = 0; i < c->keyword_count; i++) {
			if (!mail_index_kw_has(kw, n, ctx->kw_ids[i]))
				kw[n++] = ctx->kw_ids[i];
		}
		if (n != rec->d.kw_count)
			changed = true;
		for (i = 0; i < n && !changed; i++) {
			if (!mail_index_kw_has(rec->kw, rec->d.kw_count, kw[i]))
				changed = true;
		}
	}
	*kw_r = kw;
	*n_r = n;
	return changed;
}

static uint8_t apply_change(uint8_t flags, const struct mail_index_change *c)
{
	switch (c->mode) {
	case MAIL_INDEX_MODIFY_REPLACE:
		return c->flags & MAIL_INDEX_FLAGS_MASK;
	case MAIL_INDEX_MODIFY_ADD:
		return flags | (c->flags & MAIL_INDEX_FLAGS_MASK);
	default:
		return flags & (uint8_t)~c->flags;
	}
}

/* Renames rec's file to carry *flags (the change applied to rec's flags).
 * If another program renamed the file, the change is applied again to
 * the flags its name has now (*flags updated).  Updates rec.  Returns 1,
 * 0 if the file is gone, -1 on error. */
static int rename_flags(struct mail_index *index, struct mail_index_rec *rec,
			const struct mail_index_change *change,
			uint8_t *flags, const char **error_r)
{
	char *letters, *newname, *from, *to;
	int tries, ret;

	for (tries = 0; tries < 3; tries++) {
		letters = mail_index_flags_to_letters(
			maildir_name_flags(rec->name), *flags);
		newname = maildir_name_set_flags(rec->name, letters);
		free(letters);
		from = mail_index_rec_path(index, rec);
		to = xasprintf("%s/cur/%s", index->dir, newname);
		ret = strcmp(from, to) == 0 ? 0 : rename(from, to);
		if (ret < 0 && errno != ENOENT) {
			mail_index_set_error(error_r, "rename(%s, %s): %s",
					     from, to, strerror(errno));
		}
		free(from);
		free(to);
		if (ret == 0) {
			mail_index_rec_set_name(rec, newname);
			rec->d.bits &= (uint8_t)~REC_IN_NEW;
			free(newname);
			return 1;
		}
		free(newname);
		if (errno != ENOENT)
			return -1;
		ret = mail_index_refind(index, rec, error_r);
		if (ret <= 0)
			return ret;
		*flags = apply_change(mail_index_flags_from_letters(
					      maildir_name_flags(rec->name)),
				      change);
	}
	return 0;
}

static int kw_names_of(struct mail_index *index, MDB_txn *txn,
		       const struct mail_index_hdr *hdr, const uint32_t *kw,
		       size_t n, const char ***names_r, const char **error_r)
{
	const char **names;

	if (mail_index_kw_load(index, txn, hdr, error_r) < 0)
		return -1;
	names = xcalloc(n > 0 ? n : 1, sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		if (kw[i] >= index->kw_count) {
			free(names);
			mail_index_set_error(error_r,
					     "mail index: bad keyword id");
			errno = EIO;
			return -1;
		}
		names[i] = index->kw_names[kw[i]];
	}
	*names_r = names;
	return 0;
}

static int store_fn(struct mail_index *index, MDB_txn *txn,
		    struct mail_index_hdr *hdr, void *context, int *rc_r,
		    const char **error_r)
{
	struct store_ctx *ctx = context;
	const struct mail_index_change *c = ctx->change;
	uint64_t modseq = hdr->highestmodseq + 1;
	int changed = 0, ret;
	size_t i;

	for (i = 0; i < c->keyword_count; i++) {
		if (mail_index_kw_id(index, txn, hdr, c->keywords[i], true,
				     &ctx->kw_ids[i], error_r) < 0)
			return -1;
	}
	for (i = 0; i < ctx->count; i++) {
		struct mail_index_store_result res = { .uid = ctx->uids[i] };
		struct mail_index_rec rec, old;
		uint8_t flags;
		uint32_t *kw = NULL;
		size_t nkw = 0;
		bool kw_changed;

		ret = mail_index_rec_get(index, txn, ctx->uids[i], &rec, rc_r,
					 error_r);
		if (ret < 0)
			return -1;
		if (ret == 0) {
			res.status = MAIL_INDEX_STORE_GONE;
			goto next;
		}
		res.flags = rec.d.flags;
		res.modseq = rec.d.modseq;
		if (c->unchangedsince != 0 &&
		    rec.d.modseq > c->unchangedsince) {
			res.status = MAIL_INDEX_STORE_MODIFIED;
			mail_index_rec_free(&rec);
			goto next;
		}
		flags = apply_change(rec.d.flags, c);
		kw_changed = store_keywords(index, ctx, &rec, &kw, &nkw);
		if (nkw > index->set.max_keywords_per_message) {
			free(kw);
			mail_index_rec_free(&rec);
			mail_index_set_error(error_r,
					     "too many keywords on a message");
			errno = EMLINK;
			*rc_r = 0;
			return -1;
		}
		if (flags == rec.d.flags && !kw_changed) {
			res.status = MAIL_INDEX_STORE_UNCHANGED;
			free(kw);
			mail_index_rec_free(&rec);
			goto next;
		}
		old = rec;
		old.name = xstrdup(rec.name);
		old.kw = NULL;
		old.uidl = NULL;
		if (flags != rec.d.flags) {
			ret = rename_flags(index, &rec, c, &flags, error_r);
			if (ret <= 0) {
				free(kw);
				mail_index_rec_free(&rec);
				mail_index_rec_free(&old);
				if (ret < 0) {
					*rc_r = 0;
					return -1;
				}
				res.status = MAIL_INDEX_STORE_GONE;
				goto next;
			}
		}
		if (kw_changed) {
			const char **names = NULL;

			if (kw_names_of(index, txn, hdr, kw, nkw, &names,
					error_r) < 0 ||
			    maildir_keywords_store(index->dir, rec.name, names,
						   nkw, error_r) < 0) {
				if (names != NULL)
					free(names);
				free(kw);
				mail_index_rec_free(&rec);
				mail_index_rec_free(&old);
				*rc_r = 0;
				return -1;
			}
			free(names);
			free(rec.kw);
			rec.kw = kw;
			rec.d.kw_count = (uint16_t)nkw;
			kw = NULL;
		}
		free(kw);
		rec.d.flags = flags;
		rec.d.modseq = modseq;
		ret = mail_index_rec_put(index, txn, hdr, &old, &rec, rc_r,
					 error_r);
		mail_index_rec_free(&old);
		res.status = MAIL_INDEX_STORE_CHANGED;
		res.flags = flags;
		res.modseq = modseq;
		mail_index_rec_free(&rec);
		if (ret < 0)
			return -1;
		changed++;
	next:
		if (ctx->results != NULL)
			ctx->results[i] = res;
	}
	if (changed > 0)
		hdr->highestmodseq = modseq;
	return changed;
}

int mail_index_store(struct mail_index *index, const uint32_t *uids,
		     size_t count, const struct mail_index_change *change,
		     struct mail_index_store_result *results,
		     const char **error_r)
{
	struct store_ctx ctx = {
		.uids = uids, .count = count, .change = change,
		.results = results,
	};
	int ret;

	for (size_t i = 0; i < change->keyword_count; i++) {
		if (!maildir_keywords_name_valid(change->keywords[i])) {
			mail_index_set_error(error_r,
					     "invalid keyword name: %s",
					     change->keywords[i]);
			errno = EINVAL;
			return -1;
		}
	}
	if (change->keyword_count > index->set.max_keywords_per_message) {
		mail_index_set_error(error_r, "too many keywords");
		errno = EINVAL;
		return -1;
	}
	if (count == 0)
		return 0;
	ctx.kw_ids = xcalloc(change->keyword_count + 1, sizeof(uint32_t));
	ret = mail_index_write_txn_relaxed(index, store_fn, &ctx, error_r);
	free(ctx.kw_ids);
	return ret;
}
