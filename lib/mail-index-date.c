/* mail-index-date.c: internal dates read lazily from the message files
 * (a scan that found the size in the name does not stat them) and
 * RFC822.SIZEs counted on demand, stored in the mail index at its next
 * write instead of a write transaction (and fsync) each. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "log.h"
#include "maildir.h"
#include "mail-index-private.h"
#include "mem.h"

int64_t mail_index_date_from_name(const char *name)
{
	int64_t t = 0;
	size_t i;

	/* At most 12 digits: past the year 33000 is no delivery time. */
	for (i = 0; i < 12 && name[i] >= '0' && name[i] <= '9'; i++)
		t = t * 10 + (name[i] - '0');
	if (i == 0 || (name[i] != '.' && name[i] != '\0'))
		return 0;
	return t;
}

/* FNV-1a of the first len bytes of s. */
static uint32_t base_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static struct mail_index_pending_date *
pending_new(struct mail_index *index)
{
	if (index->pending_count >= MAIL_INDEX_PENDING_DATES_MAX)
		return NULL;
	if (index->pending_count == index->pending_alloc) {
		index->pending_alloc = index->pending_alloc == 0
					       ? 256
					       : index->pending_alloc * 2;
		index->pending_dates =
			xreallocarray(index->pending_dates,
				      index->pending_alloc,
				      sizeof(*index->pending_dates));
	}
	return &index->pending_dates[index->pending_count++];
}

static void pending_add(struct mail_index *index,
			const struct mail_index_rec *rec, int64_t date)
{
	struct mail_index_pending_date *p = pending_new(index);

	if (p == NULL)
		return;
	memset(p, 0, sizeof(*p));
	p->uid = rec->d.uid;
	p->base_hash = base_hash(rec->name, rec->d.base_len);
	p->date = date;
}

void mail_index_vsize_queue(struct mail_index *index, uint32_t uid,
			    const char *base, size_t base_len,
			    uint64_t vsize)
{
	struct mail_index_pending_date *p = pending_new(index);

	if (p == NULL)
		return;
	memset(p, 0, sizeof(*p));
	p->uid = uid;
	p->base_hash = base_hash(base, base_len);
	p->is_vsize = true;
	p->vsize = vsize;
}

/* stat() of rec's file relative to new/ or cur/ (opened once: no walk
 * of the folder's path for each of many files). */
static int rec_stat(struct mail_index *index,
		    const struct mail_index_rec *rec, struct stat *st_r)
{
	int dfd = mail_index_dir_fd(index, (rec->d.bits & REC_IN_NEW) != 0);

	if (dfd >= 0)
		return fstatat(dfd, rec->name, st_r, 0);
	{
		char *path = mail_index_rec_path(index, rec);
		int ret = stat(path, st_r);

		free(path);
		return ret;
	}
}

/* The file's mtime: 1 and *date_r, 0 if the file is gone. */
static int date_read(struct mail_index *index,
		     const struct mail_index_rec *rec, int64_t *date_r)
{
	struct mail_index_rec copy;
	const char *error;
	struct stat st;
	char *path;
	int ret;

	ret = rec_stat(index, rec, &st);
	if (ret == 0) {
		*date_r = st.st_mtime;
		return 1;
	}
	if (errno != ENOENT) {
		log_warning("mail index %s: stat %s: %s", index->dir,
			    rec->name, strerror(errno));
		return 0;
	}
	/* Renamed by another program since the last sync? */
	memset(&copy, 0, sizeof(copy));
	copy.d = rec->d;
	mail_index_rec_set_name(&copy, rec->name);
	ret = mail_index_refind(index, &copy, &error);
	if (ret == 1) {
		path = mail_index_rec_path(index, &copy);
		ret = stat(path, &st) == 0 ? 1 : 0;
		free(path);
		if (ret == 1)
			*date_r = st.st_mtime;
	} else if (ret < 0) {
		log_warning("mail index %s: %s", index->dir, error);
		ret = 0;
	}
	mail_index_rec_free(&copy);
	return ret;
}

const struct mail_index_record *
mail_index_rec_export_read(struct mail_index *index,
			   const struct mail_index_rec *rec,
			   unsigned read_flags)
{
	struct mail_index_record *r =
		(struct mail_index_record *)mail_index_rec_export(index, rec);
	int64_t date;

	if (r->has_internal_date ||
	    (read_flags & MAIL_INDEX_READ_NO_DATE) != 0)
		return r;
	if (date_read(index, rec, &date) == 1) {
		pending_add(index, rec, date);
		r->internal_date = date;
	} else {
		/* Gone: the next sync expunges it.  The name's time is
		 * the best answer until then. */
		r->internal_date = mail_index_date_from_name(rec->name);
	}
	r->has_internal_date = true;
	return r;
}

int mail_index_dates_apply(struct mail_index *index, MDB_txn *txn,
			   struct mail_index_hdr *hdr, int *rc_r,
			   const char **error_r)
{
	for (size_t i = 0; i < index->pending_count; i++) {
		const struct mail_index_pending_date *p =
			&index->pending_dates[i];
		struct mail_index_rec rec;
		int ret;

		ret = mail_index_rec_get(index, txn, p->uid, &rec, rc_r,
					 error_r);
		if (ret < 0)
			return -1;
		if (ret == 0)
			continue; /* expunged meanwhile */
		if (base_hash(rec.name, rec.d.base_len) != p->base_hash) {
			/* not the message it was read for */
		} else if (p->is_vsize &&
			   (rec.d.bits & REC_HAS_VSIZE) == 0) {
			rec.d.vsize = p->vsize;
			rec.d.bits |= REC_HAS_VSIZE;
			ret = mail_index_rec_put(index, txn, hdr, &rec, &rec,
						 rc_r, error_r);
		} else if (!p->is_vsize &&
			   (rec.d.bits & REC_NO_DATE) != 0) {
			rec.d.internal_date = p->date;
			rec.d.bits &= (uint8_t)~REC_NO_DATE;
			/* Same name: no base entry to move, same size. */
			ret = mail_index_rec_put(index, txn, hdr, &rec, &rec,
						 rc_r, error_r);
		}
		mail_index_rec_free(&rec);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static int flush_fn(struct mail_index *index, MDB_txn *txn,
		    struct mail_index_hdr *hdr, void *context, int *rc_r,
		    const char **error_r)
{
	(void)index;
	(void)txn;
	(void)hdr;
	(void)context;
	(void)rc_r;
	(void)error_r;
	/* mail_index_write_txn() stores the queued dates. */
	return 0;
}

int mail_index_dates_flush(struct mail_index *index, size_t min)
{
	const char *error;

	if (index->pending_count == 0 || index->pending_count < min)
		return 0;
	if (mail_index_write_txn_relaxed(index, flush_fn, NULL, &error) < 0) {
		log_warning("mail index %s: storing internal dates: %s",
			    index->dir, error);
		index->pending_count = 0;
		return -1;
	}
	return 0;
}
