/* mail-index-expunge.c: EXPUNGE through the mail index: the files
 * unlinked, the records dropped and logged with one MODSEQ. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "unlink-many.h"
#include "mem.h"

/* ---- EXPUNGE ---- */

struct expunge_ctx {
	const uint32_t *uids;
	size_t count;
	uint64_t modseq;
};

static int expunge_fn(struct mail_index *index, MDB_txn *txn,
		      struct mail_index_hdr *hdr, void *context, int *rc_r,
		      const char **error_r)
{
	struct expunge_ctx *ctx = context;
	uint64_t modseq = hdr->highestmodseq + 1;
	size_t slots = ctx->count > 0 ? ctx->count : 1, found = 0;
	struct mail_index_rec *recs = xcalloc(slots, sizeof(*recs));
	char **paths = xcalloc(slots, sizeof(*paths));
	int *errs = xcalloc(slots, sizeof(*errs));
	int n = 0, ret = 0;

	for (size_t i = 0; i < ctx->count; i++) {
		ret = mail_index_rec_get(index, txn, ctx->uids[i], &recs[found],
					 rc_r, error_r);
		if (ret < 0)
			goto out;
		if (ret == 0)
			continue;
		paths[found] = mail_index_rec_path(index, &recs[found]);
		found++;
	}
	/* All files first, in parallel: on some disks each unlink waits
	 * for the device (lib/unlink-many.h). */
	unlink_many((const char *const *)paths, found, errs);
	for (size_t j = 0; j < found; j++) {
		int err = errs[j];

		/* Renamed by another program: find it again. */
		for (int tries = 1; err == ENOENT && tries < 3; tries++) {
			ret = mail_index_refind(index, &recs[j], error_r);
			if (ret < 0) {
				*rc_r = 0;
				goto out;
			}
			if (ret == 0)
				break;
			char *path = mail_index_rec_path(index, &recs[j]);
			err = unlink(path) == 0 ? 0 : errno;
			free(path);
		}
		if (err != 0 && err != ENOENT) {
			mail_index_set_error(error_r, "unlink(%s): %s",
					     paths[j], strerror(err));
			*rc_r = 0;
			ret = -1;
			goto out;
		}
		ret = mail_index_rec_delete(index, txn, hdr, &recs[j], modseq,
					    rc_r, error_r);
		if (ret < 0)
			goto out;
		n++;
	}
	if (n > 0)
		hdr->highestmodseq = modseq;
	ctx->modseq = hdr->highestmodseq;
out:
	for (size_t j = 0; j < found; j++) {
		mail_index_rec_free(&recs[j]);
		free(paths[j]);
	}
	free(recs);
	free(paths);
	free(errs);
	return ret < 0 ? -1 : n;
}

int mail_index_expunge(struct mail_index *index, const uint32_t *uids,
		       size_t count, uint64_t *modseq_r, const char **error_r)
{
	struct expunge_ctx ctx = { .uids = uids, .count = count };
	int ret;

	ret = mail_index_write_txn(index, expunge_fn, &ctx, error_r);
	if (ret >= 0 && modseq_r != NULL)
		*modseq_r = ctx.modseq;
	return ret;
}
