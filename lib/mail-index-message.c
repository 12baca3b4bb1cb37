/* mail-index-message.c: opening a message's file through the mail
 * index (finding it again when another program renamed it) and its
 * RFC822.SIZE. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "mem.h"

/* ---- finding a renamed file ---- */

/* Finds the current file of rec (renamed by another program): updates
 * rec's name and in_new bit.  Returns 1, 0 if the file is gone, -1. */
int mail_index_refind(struct mail_index *index, struct mail_index_rec *rec,
		  const char **error_r)
{
	char *base = xstrndup(rec->name, rec->d.base_len), *rel = NULL;
	int ret;

	ret = maildir_find(index->dir, base, &rel, error_r);
	free(base);
	if (ret <= 0)
		return ret;
	mail_index_rec_set_name(rec, strchr(rel, '/') + 1);
	if (strncmp(rel, "new/", 4) == 0)
		rec->d.bits |= REC_IN_NEW;
	else
		rec->d.bits &= (uint8_t)~REC_IN_NEW;
	free(rel);
	return 1;
}

/* After mail_index_refind() outside a STORE: the other program's rename may have
 * changed the flags, and the record must say what its name says (a scan
 * compares names only).  Changed flags get the transaction's MODSEQ:
 * one above the HIGHESTMODSEQ the transaction started with. */
void mail_index_refound_flags(struct mail_index *index,
			  struct mail_index_hdr *hdr,
			  struct mail_index_rec *rec)
{
	uint8_t flags =
		mail_index_flags_from_letters(maildir_name_flags(rec->name));

	if (flags == rec->d.flags)
		return;
	rec->d.flags = flags;
	rec->d.modseq = index->txn_modseq;
	hdr->highestmodseq = index->txn_modseq;
}

char *mail_index_rec_path(const struct mail_index *index,
		      const struct mail_index_rec *rec)
{
	return xasprintf("%s/%s/%s", index->dir,
			 (rec->d.bits & REC_IN_NEW) != 0 ? "new" : "cur",
			 rec->name);
}

int mail_index_dir_fd(struct mail_index *index, bool in_new)
{
	int *dfd = in_new ? &index->dfd_new : &index->dfd_cur;

	if (*dfd < 0) {
		char *path = xasprintf("%s/%s", index->dir,
				       in_new ? "new" : "cur");

		*dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(path);
	}
	return *dfd;
}

int mail_index_rec_open_file(struct mail_index *index,
			     const struct mail_index_rec *rec)
{
	int dfd = mail_index_dir_fd(index, (rec->d.bits & REC_IN_NEW) != 0);
	char *path;
	int fd, saved;

	if (dfd >= 0)
		return openat(dfd, rec->name, O_RDONLY | O_CLOEXEC);
	path = mail_index_rec_path(index, rec);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	saved = errno;
	free(path);
	errno = saved;
	return fd;
}

struct open_ctx {
	uint32_t uid;
	int fd;
	uint64_t vsize;
	bool want_vsize;
};

/* Opens rec's file, finding it again if it was renamed: 1 and *fd_r, 0
 * gone, -1 error.  *renamed_r is set when rec's name changed. */
static int rec_open(struct mail_index *index, struct mail_index_rec *rec,
		    int *fd_r, bool *renamed_r, const char **error_r)
{
	char *path;
	int fd, tries, ret;

	*renamed_r = false;
	for (tries = 0; tries < 3; tries++) {
		fd = mail_index_rec_open_file(index, rec);
		if (fd >= 0) {
			*fd_r = fd;
			return 1;
		}
		if (errno != ENOENT) {
			int saved = errno;

			path = mail_index_rec_path(index, rec);
			mail_index_set_error(error_r, "open(%s): %s", path,
					     strerror(saved));
			free(path);
			return -1;
		}
		ret = mail_index_refind(index, rec, error_r);
		if (ret <= 0)
			return ret;
		*renamed_r = true;
	}
	return 0;
}

/* Counts the bytes of the open file fd with CRLF line ends (each LF
 * not preceded by CR counts two).  Returns 1 and *vsize_r, or -1. */
static int count_vsize(int fd, uint64_t *vsize_r, const char **error_r)
{
	char buf[65536];
	uint64_t vsize = 0;
	bool cr = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 ||
	       (n < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && !cr)
				vsize++;
			cr = buf[i] == '\r';
		}
		if (n > 0)
			vsize += (uint64_t)n;
	}
	if (n < 0) {
		mail_index_set_error(error_r, "read: %s", strerror(errno));
		return -1;
	}
	*vsize_r = vsize;
	return 1;
}

static int open_fn(struct mail_index *index, MDB_txn *txn,
		   struct mail_index_hdr *hdr, void *context, int *rc_r,
		   const char **error_r)
{
	struct open_ctx *ctx = context;
	struct mail_index_rec rec, old;
	bool renamed;
	int ret;

	ret = mail_index_rec_get(index, txn, ctx->uid, &rec, rc_r, error_r);
	if (ret <= 0)
		return ret;
	old = rec;
	old.name = xstrdup(rec.name);
	old.kw = NULL;
	old.uidl = NULL;
	ret = rec_open(index, &rec, &ctx->fd, &renamed, error_r);
	if (ret == 1 && renamed)
		mail_index_refound_flags(index, hdr, &rec);
	if (ret == 1 && ctx->want_vsize) {
		uint64_t vsize;

		if (count_vsize(ctx->fd, &vsize, error_r) < 0) {
			ret = -1;
		} else {
			ctx->vsize = vsize;
			rec.d.vsize = vsize;
			rec.d.bits |= REC_HAS_VSIZE;
			renamed = true;
		}
		close(ctx->fd);
		ctx->fd = -1;
	}
	if (ret == 1 && renamed &&
	    mail_index_rec_put(index, txn, hdr, &old, &rec, rc_r, error_r) < 0)
		ret = -1;
	if (ret < 0 && ctx->fd >= 0) {
		close(ctx->fd);
		ctx->fd = -1;
	}
	mail_index_rec_free(&old);
	mail_index_rec_free(&rec);
	return ret;
}

int mail_index_open_message(struct mail_index *index, uint32_t uid,
			    int *fd_r, const char **error_r)
{
	struct open_ctx ctx = { .uid = uid, .fd = -1 };
	struct mail_index_rec rec;
	MDB_txn *txn;
	int ret;

	/* The common case without a write transaction. */
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_rec_get(index, txn, uid, &rec, NULL, error_r);
	mail_index_read_end(index, &txn);
	if (ret <= 0)
		return ret;
	{
		int fd = mail_index_rec_open_file(index, &rec);

		mail_index_rec_free(&rec);
		if (fd >= 0) {
			*fd_r = fd;
			return 1;
		}
	}
	ret = mail_index_write_txn(index, open_fn, &ctx, error_r);
	if (ret == 1)
		*fd_r = ctx.fd;
	return ret;
}

int mail_index_get_vsize(struct mail_index *index, uint32_t uid,
			 uint64_t *vsize_r, const char **error_r)
{
	struct mail_index_record rec;
	char *base;
	size_t base_len;
	uint64_t vsize;
	int ret, fd;

	ret = mail_index_lookup_uid_flags(index, uid, MAIL_INDEX_READ_NO_DATE,
					  &rec, error_r);
	if (ret <= 0)
		return ret;
	if (rec.has_vsize) {
		*vsize_r = rec.vsize;
		return 1;
	}
	/* Counted without a write transaction of its own (FETCH of many
	 * RFC822.SIZEs would wait for the writer lock and fsync once per
	 * message): stored by the next write. */
	base_len = rec.base_len;
	base = xstrndup(rec.name, base_len);
	ret = mail_index_open_message(index, uid, &fd, error_r);
	if (ret == 1) {
		ret = count_vsize(fd, &vsize, error_r);
		close(fd);
		if (ret == 1) {
			mail_index_vsize_queue(index, uid, base, base_len,
					       vsize);
			*vsize_r = vsize;
		}
	}
	free(base);
	return ret;
}

struct vsizes_ctx {
	const uint32_t *uids;
	size_t count;
	uint64_t *vsizes;
};

static int vsizes_fn(struct mail_index *index, MDB_txn *txn,
		     struct mail_index_hdr *hdr, void *context, int *rc_r,
		     const char **error_r)
{
	struct vsizes_ctx *ctx = context;
	struct mail_index_rec rec;
	int found = 0, ret;

	for (size_t i = 0; i < ctx->count; i++) {
		struct open_ctx oc = { .uid = ctx->uids[i], .fd = -1,
				       .want_vsize = true };

		ctx->vsizes[i] = UINT64_MAX;
		ret = mail_index_rec_get(index, txn, ctx->uids[i], &rec, rc_r,
					 error_r);
		if (ret < 0)
			return -1;
		if (ret == 1 && (rec.d.bits & REC_HAS_VSIZE) != 0) {
			ctx->vsizes[i] = rec.d.vsize;
			found++;
		} else if (ret == 1) {
			ret = open_fn(index, txn, hdr, &oc, rc_r, error_r);
			if (ret < 0) {
				mail_index_rec_free(&rec);
				return -1;
			}
			if (ret == 1) {
				ctx->vsizes[i] = oc.vsize;
				found++;
			}
		}
		mail_index_rec_free(&rec);
	}
	return found;
}

int mail_index_get_vsizes(struct mail_index *index, const uint32_t *uids,
			  size_t count, uint64_t *vsizes_r,
			  const char **error_r)
{
	struct vsizes_ctx ctx = { .uids = uids, .count = count,
				  .vsizes = vsizes_r };

	if (count == 0)
		return 0;
	return mail_index_write_txn_relaxed(index, vsizes_fn, &ctx, error_r);
}
