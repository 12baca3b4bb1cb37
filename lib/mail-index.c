/* mail-index.c: the per-folder mail index: opening (and rebuilding) the
 * LMDB file, records, lookups, iteration, and the changes our own
 * programs make (STORE, EXPUNGE, APPEND, new/ to cur/, \Recent). */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "unlink-many.h"
#include "mem.h"

#define DEFAULT_MAP_SIZE (1ULL << 30)
#define DEFAULT_MAX_KEYWORDS 4096
#define DEFAULT_MAX_KEYWORDS_PER_MESSAGE 256
#define DEFAULT_MAX_CACHE_BLOB (16U * 1024 * 1024)

static char error_buf[1024];
static struct mail_index_env *envs;
/* The LMDB code of the last LMDB error (MDB_MAP_FULL means: grow, retry). */
static int last_mdb_rc;

void mail_index_set_error(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error_buf, sizeof(error_buf), fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = error_buf;
}

void mail_index_set_mdb_error(const char **error_r, const char *what, int rc)
{
	mail_index_set_error(error_r, "mail index: %s: %s", what,
			     mdb_strerror(rc));
	last_mdb_rc = rc;
	if (rc > 0)
		errno = rc;
	else
		errno = EIO;
}

void mail_index_now(struct mail_index_stamp *now_r)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_r->sec = ts.tv_sec + mail_index_test_clock_offset_nsec / 1000000000;
	now_r->nsec = ts.tv_nsec + mail_index_test_clock_offset_nsec % 1000000000;
	if (now_r->nsec >= 1000000000) {
		now_r->nsec -= 1000000000;
		now_r->sec++;
	}
}

/* ---- environments ---- */

static bool mdb_rc_is_corruption(int rc)
{
	return rc == MDB_INVALID || rc == MDB_CORRUPTED ||
	       rc == MDB_VERSION_MISMATCH || rc == MDB_PAGE_NOTFOUND ||
	       rc == MDB_INCOMPATIBLE || rc == MDB_BAD_DBI;
}

static void env_free(struct mail_index_env *e)
{
	if (e->rtxn != NULL)
		mdb_txn_abort(e->rtxn);
	if (e->env != NULL)
		mdb_env_close(e->env);
	free(e->path);
	free(e);
}

/* Opens the LMDB file at path.  Returns 0, 1 if the file is damaged
 * (caller deletes it and retries), -1 on other errors. */
static int env_open(const char *path, uint64_t map_size,
		    struct mail_index_env **env_r, const char **error_r)
{
	struct mail_index_env *e = xcalloc(1, sizeof(*e));
	struct stat st;
	MDB_txn *txn;
	int rc, dead;

	e->path = xstrdup(path);
	e->pid = getpid();
	e->refcount = 1;
	if ((rc = mdb_env_create(&e->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(e->env, 8)) != 0 ||
	    (rc = mdb_env_set_maxreaders(e->env, 1024)) != 0 ||
	    (rc = mdb_env_set_mapsize(e->env, (size_t)map_size)) != 0) {
		mail_index_set_mdb_error(error_r, "mdb_env_create", rc);
		env_free(e);
		return -1;
	}
	rc = mdb_env_open(e->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
	if (rc != 0) {
		int damaged = mdb_rc_is_corruption(rc);

		mail_index_set_error(error_r, "mail index: open %s: %s", path,
				     mdb_strerror(rc));
		errno = rc > 0 ? rc : EIO;
		env_free(e);
		return damaged ? 1 : -1;
	}
	(void)mdb_reader_check(e->env, &dead);
	if (stat(path, &st) != 0) {
		mail_index_set_error(error_r, "mail index: stat %s: %s", path,
				     strerror(errno));
		env_free(e);
		return -1;
	}
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	rc = mdb_txn_begin(e->env, NULL, 0, &txn);
	if (rc == 0 &&
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &e->db_meta)) == 0 &&
	    (rc = mdb_dbi_open(txn, "msgs", MDB_CREATE, &e->db_msgs)) == 0 &&
	    (rc = mdb_dbi_open(txn, "bases", MDB_CREATE, &e->db_bases)) == 0 &&
	    (rc = mdb_dbi_open(txn, "expunged", MDB_CREATE,
			       &e->db_expunged)) == 0 &&
	    (rc = mdb_dbi_open(txn, "kw", MDB_CREATE, &e->db_kw)) == 0 &&
	    (rc = mdb_dbi_open(txn, "cache", MDB_CREATE, &e->db_cache)) == 0)
		rc = mdb_txn_commit(txn);
	else if (rc != 0 && txn != NULL)
		mdb_txn_abort(txn);
	if (rc != 0) {
		int damaged = mdb_rc_is_corruption(rc);

		mail_index_set_mdb_error(error_r, "open databases", rc);
		env_free(e);
		return damaged ? 1 : -1;
	}
	*env_r = e;
	return 0;
}

static void env_unref(struct mail_index_env *e)
{
	struct mail_index_env **p;

	if (--e->refcount > 0)
		return;
	for (p = &envs; *p != NULL; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			break;
		}
	}
	if (e->pid != getpid()) {
		/* Inherited over fork(): the parent owns the map and lock;
		 * leave them alone (LMDB says not to touch them). */
		free(e->path);
		free(e);
		return;
	}
	env_free(e);
}

/* Finds this process's environment on path, or opens one. */
static int env_get(struct mail_index *index, struct mail_index_env **env_r,
		   const char **error_r)
{
	struct mail_index_env *e;
	struct stat st;
	pid_t pid = getpid();
	int ret, attempt;

	if (stat(index->path, &st) == 0) {
		for (e = envs; e != NULL; e = e->next) {
			if (e->pid == pid && e->dev == st.st_dev &&
			    e->ino == st.st_ino) {
				e->refcount++;
				*env_r = e;
				return 0;
			}
		}
	}
	for (attempt = 0; attempt < 2; attempt++) {
		ret = env_open(index->path, index->set.map_size, &e, error_r);
		if (ret <= 0)
			break;
		log_warning("mail index %s is damaged (%s): rebuilding it from "
			    "the maildir",
			    index->path, *error_r);
		if (unlink(index->path) < 0 && errno != ENOENT) {
			mail_index_set_error(error_r,
					     "mail index: unlink %s: %s",
					     index->path, strerror(errno));
			return -1;
		}
		{
			char *lock = xasprintf("%s-lock", index->path);

			(void)unlink(lock);
			free(lock);
		}
	}
	if (ret != 0)
		return -1;
	e->next = envs;
	envs = e;
	*env_r = e;
	return 0;
}

/* ---- transactions ---- */

static int txn_begin(struct mail_index *index, unsigned flags,
		     MDB_txn **txn_r, const char **error_r)
{
	int rc, tries;

	for (tries = 0; tries < 3; tries++) {
		rc = mdb_txn_begin(index->env->env, NULL, flags, txn_r);
		if (rc != MDB_MAP_RESIZED)
			break;
		/* Another process grew the map: adopt its size. */
		if (index->env->rtxn != NULL && !index->env->rtxn_busy) {
			mdb_txn_abort(index->env->rtxn);
			index->env->rtxn = NULL;
		}
		(void)mdb_env_set_mapsize(index->env->env, 0);
	}
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "begin transaction", rc);
		return -1;
	}
	return 0;
}

int mail_index_read_begin(struct mail_index *index, MDB_txn **txn_r,
			  const char **error_r)
{
	struct mail_index_env *e = index->env;
	int rc;

	if (e->rtxn != NULL && !e->rtxn_busy) {
		rc = mdb_txn_renew(e->rtxn);
		if (rc == 0) {
			e->rtxn_busy = true;
			*txn_r = e->rtxn;
			return 0;
		}
		mdb_txn_abort(e->rtxn);
		e->rtxn = NULL;
		if (rc == MDB_MAP_RESIZED)
			(void)mdb_env_set_mapsize(e->env, 0);
	}
	if (txn_begin(index, MDB_RDONLY, txn_r, error_r) < 0)
		return -1;
	if (e->rtxn == NULL) {
		e->rtxn = *txn_r;
		e->rtxn_busy = true;
	}
	return 0;
}

void mail_index_read_end(struct mail_index *index, MDB_txn **txn)
{
	struct mail_index_env *e = index->env;

	if (*txn == NULL)
		return;
	if (*txn == e->rtxn) {
		mdb_txn_reset(e->rtxn);
		e->rtxn_busy = false;
	} else {
		mdb_txn_abort(*txn);
	}
	*txn = NULL;
}

int mail_index_grow_map(struct mail_index *index, const char **error_r)
{
	struct mail_index_env *e = index->env;
	MDB_envinfo info;
	int rc;

	if (e->rtxn != NULL && !e->rtxn_busy) {
		mdb_txn_abort(e->rtxn);
		e->rtxn = NULL;
	}
	if ((rc = mdb_env_info(e->env, &info)) != 0 ||
	    (rc = mdb_env_set_mapsize(e->env, info.me_mapsize * 2)) != 0) {
		mail_index_set_mdb_error(error_r, "grow map", rc);
		return -1;
	}
	return 0;
}

int mail_index_write_begin(struct mail_index *index, MDB_txn **txn_r,
			   const char **error_r)
{
	struct mail_index_env *e = index->env;
	MDB_envinfo info;
	MDB_stat st;

	/* Grow ahead of need, while no transaction is active here. */
	if (mdb_env_info(e->env, &info) == 0 &&
	    mdb_env_stat(e->env, &st) == 0 &&
	    (uint64_t)(info.me_last_pgno + 1) * st.ms_psize >
		    info.me_mapsize / 4 * 3 &&
	    mail_index_grow_map(index, error_r) < 0)
		return -1;
	return txn_begin(index, 0, txn_r, error_r);
}

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

bool mail_index_rec_decode(const MDB_val *val, struct mail_index_rec *rec_r)
{
	const uint8_t *p = val->mv_data;
	size_t need;

	memset(rec_r, 0, sizeof(*rec_r));
	if (val->mv_size < sizeof(rec_r->d))
		return false;
	memcpy(&rec_r->d, p, sizeof(rec_r->d));
	need = sizeof(rec_r->d) + (size_t)rec_r->d.kw_count * 4 +
	       rec_r->d.name_len + 1 + rec_r->d.uidl_len + 1;
	if (val->mv_size != need || rec_r->d.base_len > rec_r->d.name_len)
		return false;
	p += sizeof(rec_r->d);
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
		last_mdb_rc = MDB_CORRUPTED;
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
	val.mv_size = size;
	val.mv_data = buf;
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
	MDB_val ekey = { 12, ek }, eval = { 0, (void *)"" };
	int rc;

	mail_index_be32(k, rec->d.uid);
	mail_index_be64(ek, modseq);
	mail_index_be32(ek + 8, rec->d.uid);
	rc = mdb_del(txn, index->env->db_msgs, &key, NULL);
	if (rc == 0) {
		rc = mdb_del(txn, index->env->db_bases, &bkey, NULL);
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

/* ---- keywords ---- */

int mail_index_kw_id(struct mail_index *index, MDB_txn *txn,
		     struct mail_index_hdr *hdr, const char *name,
		     bool create, uint32_t *id_r, const char **error_r)
{
	size_t len = strlen(name);
	uint8_t *k, ik[5];
	MDB_val key, val;
	uint32_t id;
	int rc;

	if (!maildir_keywords_name_valid(name)) {
		if (!create)
			return 0;
		mail_index_set_error(error_r, "invalid keyword name");
		errno = EINVAL;
		return -1;
	}
	k = xmalloc(len + 1);
	k[0] = 'n';
	memcpy(k + 1, name, len);
	for (size_t i = 1; i <= len; i++)
		k[i] = (uint8_t)tolower(k[i]);
	key.mv_size = len + 1;
	key.mv_data = k;
	rc = mdb_get(txn, index->env->db_kw, &key, &val);
	if (rc == 0 && val.mv_size == 4) {
		memcpy(id_r, val.mv_data, 4);
		free(k);
		return 1;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(k);
		mail_index_set_mdb_error(error_r, "read keyword", rc);
		return -1;
	}
	if (!create) {
		free(k);
		return 0;
	}
	if (hdr->keyword_count >= index->set.max_keywords) {
		free(k);
		mail_index_set_error(error_r, "too many keywords in folder");
		errno = EMLINK;
		return -1;
	}
	id = hdr->keyword_count;
	val.mv_size = 4;
	val.mv_data = &id;
	rc = mdb_put(txn, index->env->db_kw, &key, &val, 0);
	free(k);
	if (rc == 0) {
		ik[0] = 'i';
		mail_index_be32(ik + 1, id);
		key.mv_size = 5;
		key.mv_data = ik;
		val.mv_size = len;
		val.mv_data = (void *)name;
		rc = mdb_put(txn, index->env->db_kw, &key, &val, 0);
	}
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "write keyword", rc);
		return -1;
	}
	hdr->keyword_count++;
	*id_r = id;
	return 1;
}

int mail_index_kw_load(struct mail_index *index, MDB_txn *txn,
		       const struct mail_index_hdr *hdr, const char **error_r)
{
	uint8_t ik[5];
	MDB_val key = { 5, ik }, val;
	int rc;

	if (hdr->keyword_count <= index->kw_count)
		return 0;
	index->kw_names = xreallocarray(index->kw_names, hdr->keyword_count,
					sizeof(char *));
	while (index->kw_count < hdr->keyword_count) {
		ik[0] = 'i';
		mail_index_be32(ik + 1, (uint32_t)index->kw_count);
		rc = mdb_get(txn, index->env->db_kw, &key, &val);
		if (rc != 0) {
			mail_index_set_mdb_error(error_r, "read keyword", rc);
			return -1;
		}
		index->kw_names[index->kw_count++] =
			xstrndup(val.mv_data, val.mv_size);
	}
	return 0;
}

size_t mail_index_keyword_count(struct mail_index *index)
{
	struct mail_index_hdr hdr;
	MDB_txn *txn;

	if (mail_index_read_begin(index, &txn, NULL) < 0)
		return index->kw_count;
	if (mail_index_hdr_get(index, txn, &hdr, NULL) == 1)
		(void)mail_index_kw_load(index, txn, &hdr, NULL);
	mail_index_read_end(index, &txn);
	return index->kw_count;
}

const char *mail_index_keyword_name(struct mail_index *index, uint32_t id)
{
	if (id >= index->kw_count)
		(void)mail_index_keyword_count(index);
	return id < index->kw_count ? index->kw_names[id] : NULL;
}

int mail_index_keyword_lookup(struct mail_index *index, const char *name,
			      uint32_t *id_r, const char **error_r)
{
	MDB_txn *txn;
	int ret;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_kw_id(index, txn, NULL, name, false, id_r, error_r);
	mail_index_read_end(index, &txn);
	return ret;
}

/* ---- open and close ---- */

static void settings_fill(struct mail_index *index,
			  const struct mail_index_settings *set)
{
	if (set != NULL)
		index->set = *set;
	if (index->set.map_size == 0)
		index->set.map_size = DEFAULT_MAP_SIZE;
	if (index->set.max_keywords == 0)
		index->set.max_keywords = DEFAULT_MAX_KEYWORDS;
	if (index->set.max_keywords_per_message == 0)
		index->set.max_keywords_per_message =
			DEFAULT_MAX_KEYWORDS_PER_MESSAGE;
	if (index->set.max_keywords_per_message > UINT16_MAX)
		index->set.max_keywords_per_message = UINT16_MAX;
	if (index->set.max_cache_blob == 0)
		index->set.max_cache_blob = DEFAULT_MAX_CACHE_BLOB;
	index->courier_limits.max_line = index->set.max_courier_line;
	index->courier_limits.max_file = index->set.max_courier_file;
	index->courier_limits.max_lines = index->set.max_courier_lines;
}

int mail_index_open(const char *dir, const struct mail_index_settings *set,
		    struct mail_index **index_r, const char **error_r)
{
	struct mail_index *index;

	*index_r = NULL;
	if (!maildir_is_maildir(dir)) {
		mail_index_set_error(error_r, "mail index: %s is not a maildir",
				     dir);
		errno = ENOENT;
		return -1;
	}
	index = xcalloc(1, sizeof(*index));
	index->dir = xstrdup(dir);
	index->path = xasprintf("%s/%s", dir, MAIL_INDEX_FILE_NAME);
	settings_fill(index, set);
	str_init(&index->rec_name, 64);
	str_init(&index->rec_uidl, 16);
	if (env_get(index, &index->env, error_r) < 0) {
		mail_index_close(&index);
		return -1;
	}
	index->removed_damaged = false;
	if (mail_index_sync(index, 0, error_r) < 0 &&
	    (!index->removed_damaged || mail_index_sync(index, 0, error_r) < 0)) {
		mail_index_close(&index);
		return -1;
	}
	*index_r = index;
	return 0;
}

void mail_index_close(struct mail_index **_index)
{
	struct mail_index *index = *_index;
	size_t i;

	if (index == NULL)
		return;
	if (index->env != NULL)
		env_unref(index->env);
	for (i = 0; i < index->kw_count; i++)
		free(index->kw_names[i]);
	free(index->kw_names);
	free(index->rec_kw);
	str_free(&index->rec_name);
	str_free(&index->rec_uidl);
	free(index->dir);
	free(index->path);
	free(index);
	*_index = NULL;
}

const char *mail_index_dir(const struct mail_index *index)
{
	return index->dir;
}

/* If the index file was replaced (rebuilt by another process), switch to
 * the new one. */
static int reopen_if_replaced(struct mail_index *index, const char **error_r)
{
	struct mail_index_env *e;
	struct stat st;

	if (stat(index->path, &st) == 0 && st.st_dev == index->env->dev &&
	    st.st_ino == index->env->ino)
		return 0;
	if (env_get(index, &e, error_r) < 0)
		return -1;
	env_unref(index->env);
	index->env = e;
	for (size_t i = 0; i < index->kw_count; i++)
		free(index->kw_names[i]);
	index->kw_count = 0;
	return 0;
}

/* After an operation failed: if LMDB found the file damaged, delete it
 * so that the next call (here, or in any process) rebuilds the index
 * from the maildir.  Returns -1 for the caller to return. */
static int fail_check_damage(struct mail_index *index)
{
	if (mdb_rc_is_corruption(last_mdb_rc)) {
		char *lock = xasprintf("%s-lock", index->path);

		log_warning("mail index %s is damaged (%s): removing it, it "
			    "will be rebuilt from the maildir",
			    index->path, mdb_strerror(last_mdb_rc));
		(void)unlink(index->path);
		(void)unlink(lock);
		free(lock);
		last_mdb_rc = 0;
		index->removed_damaged = true;
	}
	return -1;
}

/* ---- sync entry points ---- */

static int sync_inner(struct mail_index *index, unsigned flags,
		      const char **error_r);

int mail_index_sync(struct mail_index *index, unsigned flags,
		    const char **error_r)
{
	last_mdb_rc = 0;
	if (sync_inner(index, flags, error_r) < 0)
		return fail_check_damage(index);
	return index->last_sync_ret;
}

/* True if a and b differ at most in their directory stamps. */
static bool hdr_same_but_stamps(const struct mail_index_hdr *a,
				const struct mail_index_hdr *b)
{
	struct mail_index_hdr c = *b;

	c.new_mtime = a->new_mtime;
	c.cur_mtime = a->cur_mtime;
	c.kw_mtime = a->kw_mtime;
	c.taken_at = a->taken_at;
	return memcmp(a, &c, sizeof(c)) == 0;
}

static int sync_inner(struct mail_index *index, unsigned flags,
		      const char **error_r)
{
	struct mail_index_hdr hdr, stamps, stored;
	unsigned writes;
	struct mail_index_stamp start;
	MDB_txn *txn = NULL;
	int ret, rc, tries;
	bool build;

	if (reopen_if_replaced(index, error_r) < 0)
		return -1;
	if (mail_index_sync_stamps(index, &stamps, error_r) < 0)
		return -1;
	start = stamps.taken_at;
	if ((flags & MAIL_INDEX_SYNC_FORCE) == 0) {
		if (mail_index_read_begin(index, &txn, error_r) < 0)
			return -1;
		ret = mail_index_hdr_get(index, txn, &hdr, error_r);
		mail_index_read_end(index, &txn);
		if (ret < 0)
			return -1;
		if (ret > 0 && mail_index_sync_stamps_clean(&hdr, &stamps))
			goto done;
	}

	for (tries = 0;; tries++) {
		if (mail_index_write_begin(index, &txn, error_r) < 0)
			return -1;
		last_mdb_rc = 0;
		ret = mail_index_hdr_get(index, txn, &hdr, error_r);
		if (ret < 0) {
			mdb_txn_abort(txn);
			return -1;
		}
		build = ret == 0;
		/* Stamps again, now that we hold the writer lock: another
		 * process may just have scanned.  If it took its stamps
		 * after we started, everything before our call is in the
		 * index: use its result. */
		if (mail_index_sync_stamps(index, &stamps, error_r) < 0) {
			mdb_txn_abort(txn);
			return -1;
		}
		if (!build && (flags & MAIL_INDEX_SYNC_FORCE) == 0 &&
		    (mail_index_sync_stamps_clean(&hdr, &stamps) ||
		     (mail_index_sync_stamps_equal(&hdr, &stamps) &&
		      (hdr.taken_at.sec > start.sec ||
		       (hdr.taken_at.sec == start.sec &&
			hdr.taken_at.nsec >= start.nsec))))) {
			mdb_txn_abort(txn);
			goto done;
		}
		stored = hdr;
		writes = index->rec_writes;
		ret = mail_index_sync_scan(index, txn, &hdr, build, &stamps,
					   error_r);
		if (ret == 0 && !build && index->rec_writes == writes &&
		    hdr_same_but_stamps(&stored, &hdr) &&
		    !mail_index_sync_refresh_worth(&stored, &hdr)) {
			/* Nothing found: the stored header is still true,
			 * and writing the new stamps would not spare
			 * anyone a scan.  No write, no fsync. */
			mdb_txn_abort(txn);
			goto done;
		}
		if (ret == 0)
			ret = mail_index_hdr_put(index, txn, &hdr, error_r);
		if (ret == 0) {
			rc = mdb_txn_commit(txn);
			if (rc == 0)
				break;
			mail_index_set_mdb_error(error_r, "commit", rc);
		} else {
			mdb_txn_abort(txn);
		}
		if (last_mdb_rc != MDB_MAP_FULL ||
		    tries >= MAIL_INDEX_MAP_RETRIES)
			return -1;
		if (mail_index_grow_map(index, error_r) < 0)
			return -1;
	}
done:
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_hdr_get(index, txn, &hdr, error_r);
	mail_index_read_end(index, &txn);
	if (ret <= 0) {
		if (ret == 0)
			mail_index_set_error(error_r,
					     "mail index %s: header missing",
					     index->path);
		return -1;
	}
	ret = hdr.highestmodseq != index->last_modseq ||
	      hdr.uidvalidity != index->last_uidvalidity;
	index->last_modseq = hdr.highestmodseq;
	index->last_uidvalidity = hdr.uidvalidity;
	index->last_sync_ret = ret;
	return ret;
}

int mail_index_changed_since(struct mail_index *index, uint64_t modseq,
			     const char **error_r)
{
	if (mail_index_sync(index, 0, error_r) < 0)
		return -1;
	return index->last_modseq > modseq ? 1 : 0;
}

int mail_index_get_status(struct mail_index *index,
			  struct mail_index_status *status_r,
			  const char **error_r)
{
	struct mail_index_hdr hdr;
	MDB_txn *txn;
	int ret;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_hdr_get(index, txn, &hdr, error_r);
	uint64_t built = 0;
	if (ret > 0 && mail_index_built_get(index, txn, &built, error_r) < 0)
		ret = -1;
	mail_index_read_end(index, &txn);
	if (ret <= 0) {
		if (ret == 0)
			mail_index_set_error(error_r,
					     "mail index %s: header missing",
					     index->path);
		return -1;
	}
	memset(status_r, 0, sizeof(*status_r));
	status_r->built_modseq = built;
	status_r->uidvalidity = hdr.uidvalidity;
	status_r->uidnext = hdr.uidnext;
	status_r->highestmodseq = hdr.highestmodseq;
	status_r->messages = hdr.messages;
	status_r->seen = hdr.seen;
	status_r->deleted = hdr.deleted;
	status_r->first_recent_uid = hdr.first_recent_uid;
	status_r->total_size = hdr.total_size;
	return 0;
}

/* Runs one write transaction: fn does the work; retried after growing a
 * full map.  fn returns >= 0 on success (the result), -1 on error with
 * *rc_r the LMDB code (MDB_MAP_FULL to retry). */
typedef int write_fn(struct mail_index *index, MDB_txn *txn,
		     struct mail_index_hdr *hdr, void *context, int *rc_r,
		     const char **error_r);

static int write_txn(struct mail_index *index, write_fn *fn, void *context,
		     const char **error_r)
{
	struct mail_index_hdr hdr, pre, post;
	uint64_t pre_modseq;
	MDB_txn *txn;
	int ret, rc, tries;
	bool stamped;

	if (reopen_if_replaced(index, error_r) < 0)
		return -1;
	for (tries = 0;; tries++) {
		if (mail_index_write_begin(index, &txn, error_r) < 0)
			return -1;
		ret = mail_index_hdr_get(index, txn, &hdr, error_r);
		if (ret <= 0) {
			mdb_txn_abort(txn);
			if (ret == 0)
				mail_index_set_error(
					error_r, "mail index %s: header missing",
					index->path);
			return -1;
		}
		rc = 0;
		last_mdb_rc = 0;
		pre_modseq = hdr.highestmodseq;
		/* Directory stamps around our renames, unlinks and
		 * creations, so that they cost no session a scan. */
		stamped = mail_index_sync_stamps(index, &pre, NULL) == 0;
		index->changed_outside = 0;
		index->txn_modseq = hdr.highestmodseq + 1;
		if (mail_index_test_write_hook != NULL)
			mail_index_test_write_hook(index);
		ret = fn(index, txn, &hdr, context, &rc, error_r);
		if (ret >= 0 && stamped &&
		    mail_index_sync_stamps(index, &post, NULL) == 0)
			mail_index_sync_own_change(&hdr, &pre, &post,
						   index->changed_outside);
		if (ret >= 0 && mail_index_hdr_put(index, txn, &hdr, error_r) < 0)
			ret = -1;
		if (ret >= 0) {
			rc = mdb_txn_commit(txn);
			if (rc == 0) {
				/* Our own change is no news to us; another
				 * process's changes before it still are. */
				if (pre_modseq == index->last_modseq)
					index->last_modseq = hdr.highestmodseq;
				return ret;
			}
			mail_index_set_mdb_error(error_r, "commit", rc);
		} else {
			mdb_txn_abort(txn);
		}
		if (last_mdb_rc != MDB_MAP_FULL ||
		    tries >= MAIL_INDEX_MAP_RETRIES)
			return fail_check_damage(index);
		if (mail_index_grow_map(index, error_r) < 0)
			return -1;
	}
}

/* ---- lookups ---- */

int mail_index_lookup_uid(struct mail_index *index, uint32_t uid,
			  struct mail_index_record *rec_r,
			  const char **error_r)
{
	struct mail_index_rec rec;
	MDB_txn *txn;
	int ret;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	last_mdb_rc = 0;
	ret = mail_index_rec_get(index, txn, uid, &rec, NULL, error_r);
	mail_index_read_end(index, &txn);
	if (ret == 1)
		*rec_r = *mail_index_rec_export(index, &rec);
	mail_index_rec_free(&rec);
	if (ret < 0)
		return fail_check_damage(index);
	return ret;
}

int mail_index_lookup_base(struct mail_index *index, const char *base,
			   struct mail_index_record *rec_r,
			   const char **error_r)
{
	MDB_val key = { maildir_name_base_len(base), (void *)base }, val;
	struct mail_index_rec rec;
	uint32_t uid;
	MDB_txn *txn;
	int ret, rc;

	memset(&rec, 0, sizeof(rec));
	if (key.mv_size == 0 || key.mv_size > 511)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_get(txn, index->env->db_bases, &key, &val);
	if (rc == MDB_NOTFOUND || (rc == 0 && val.mv_size != 4)) {
		ret = 0;
	} else if (rc != 0) {
		mail_index_set_mdb_error(error_r, "read base", rc);
		ret = -1;
	} else {
		memcpy(&uid, val.mv_data, 4);
		ret = mail_index_rec_get(index, txn, uid, &rec, NULL,
					 error_r);
	}
	mail_index_read_end(index, &txn);
	if (ret == 1)
		*rec_r = *mail_index_rec_export(index, &rec);
	mail_index_rec_free(&rec);
	return ret;
}

static int iterate(struct mail_index *index, uint32_t first, uint32_t last,
		   bool by_modseq, uint64_t modseq, mail_index_iter_cb *cb,
		   void *context, const char **error_r)
{
	struct mail_index_rec rec;
	MDB_cursor *cur;
	MDB_txn *txn;
	uint8_t k[4];
	MDB_val key = { 4, k }, val;
	int rc, ret = 0;

	if (first > last)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_cursor_open(txn, index->env->db_msgs, &cur);
	if (rc != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "cursor", rc);
		return -1;
	}
	mail_index_be32(k, first);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		uint32_t uid;

		if (key.mv_size != 4)
			continue;
		uid = mail_index_get_be32(key.mv_data);
		if (uid > last)
			break;
		if (by_modseq) {
			struct mail_index_rec_disk d;

			if (val.mv_size < sizeof(d))
				continue;
			memcpy(&d, val.mv_data, sizeof(d));
			if (d.modseq <= modseq)
				continue;
		}
		if (!mail_index_rec_decode(&val, &rec)) {
			mail_index_rec_free(&rec);
			continue;
		}
		ret = cb(mail_index_rec_export(index, &rec), context);
		mail_index_rec_free(&rec);
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

int mail_index_iterate(struct mail_index *index, uint32_t first,
		       uint32_t last, mail_index_iter_cb *cb, void *context,
		       const char **error_r)
{
	return iterate(index, first, last, false, 0, cb, context, error_r);
}

int mail_index_iterate_changed(struct mail_index *index, uint64_t modseq,
			       mail_index_iter_cb *cb, void *context,
			       const char **error_r)
{
	return iterate(index, 1, UINT32_MAX, true, modseq, cb, context,
		       error_r);
}

int mail_index_uids(struct mail_index *index, uint32_t **uids_r,
		    size_t *count_r, const char **error_r)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	MDB_stat st;
	size_t n = 0, alloc;
	uint32_t *uids;
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	if ((rc = mdb_stat(txn, index->env->db_msgs, &st)) != 0 ||
	    (rc = mdb_cursor_open(txn, index->env->db_msgs, &cur)) != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "uids", rc);
		return -1;
	}
	alloc = st.ms_entries > 0 ? st.ms_entries : 1;
	uids = xcalloc(alloc, sizeof(*uids));
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 4)
			continue;
		if (n == alloc) {
			alloc *= 2;
			uids = xreallocarray(uids, alloc, sizeof(*uids));
		}
		uids[n++] = mail_index_get_be32(key.mv_data);
	}
	mdb_cursor_close(cur);
	mail_index_read_end(index, &txn);
	if (rc != MDB_NOTFOUND) {
		free(uids);
		mail_index_set_mdb_error(error_r, "uids", rc);
		return -1;
	}
	if (n == 0)
		x_free(uids);
	*uids_r = uids;
	*count_r = n;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

int mail_index_expunged_since(struct mail_index *index, uint64_t modseq,
			      uint32_t **uids_r, size_t *count_r,
			      const char **error_r)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	uint8_t k[12];
	MDB_val key = { 12, k }, val;
	size_t n = 0, alloc = 0, i, j;
	uint32_t *uids = NULL;
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	if (modseq == UINT64_MAX)
		return 0;
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	if ((rc = mdb_cursor_open(txn, index->env->db_expunged, &cur)) != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "expunge log", rc);
		return -1;
	}
	mail_index_be64(k, modseq + 1);
	mail_index_be32(k + 8, 0);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 12)
			continue;
		if (n == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			uids = xreallocarray(uids, alloc, sizeof(*uids));
		}
		uids[n++] = mail_index_get_be32((const uint8_t *)key.mv_data +
						8);
	}
	mdb_cursor_close(cur);
	mail_index_read_end(index, &txn);
	if (rc != MDB_NOTFOUND) {
		free(uids);
		mail_index_set_mdb_error(error_r, "expunge log", rc);
		return -1;
	}
	if (n > 1) {
		qsort(uids, n, sizeof(*uids), u32_cmp);
		for (i = 1, j = 1; i < n; i++) {
			if (uids[i] != uids[j - 1])
				uids[j++] = uids[i];
		}
		n = j;
	}
	*uids_r = uids;
	*count_r = n;
	return 0;
}

char *mail_index_record_path(const struct mail_index *index,
			     const struct mail_index_record *rec)
{
	return xasprintf("%s/%s/%s", index->dir, rec->in_new ? "new" : "cur",
			 rec->name);
}

const char *mail_index_record_uidl(const struct mail_index *index,
				   const struct mail_index_record *rec,
				   char *buf)
{
	if (rec->pop3_uidl != NULL && rec->pop3_uidl[0] != '\0')
		snprintf(buf, MAIL_INDEX_UIDL_MAX, "%s", rec->pop3_uidl);
	else
		snprintf(buf, MAIL_INDEX_UIDL_MAX, "UID%" PRIu32 "-%" PRIu32,
			 rec->uid, index->last_uidvalidity);
	return buf;
}

/* ---- finding a renamed file ---- */

/* Finds the current file of rec (renamed by another program): updates
 * rec's name and in_new bit.  Returns 1, 0 if the file is gone, -1. */
static int refind(struct mail_index *index, struct mail_index_rec *rec,
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

/* After refind() outside a STORE: the other program's rename may have
 * changed the flags, and the record must say what its name says (a scan
 * compares names only).  Changed flags get the transaction's MODSEQ:
 * one above the HIGHESTMODSEQ the transaction started with. */
static void refound_flags(struct mail_index *index,
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

static char *rec_path(const struct mail_index *index,
		      const struct mail_index_rec *rec)
{
	return xasprintf("%s/%s/%s", index->dir,
			 (rec->d.bits & REC_IN_NEW) != 0 ? "new" : "cur",
			 rec->name);
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
		path = rec_path(index, rec);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			free(path);
			*fd_r = fd;
			return 1;
		}
		if (errno != ENOENT) {
			mail_index_set_error(error_r, "open(%s): %s", path,
					     strerror(errno));
			free(path);
			return -1;
		}
		free(path);
		ret = refind(index, rec, error_r);
		if (ret <= 0)
			return ret;
		*renamed_r = true;
	}
	return 0;
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
		refound_flags(index, hdr, &rec);
	if (ret == 1 && ctx->want_vsize) {
		/* Count the bytes with CRLF line ends. */
		char buf[65536];
		uint64_t vsize = 0;
		bool cr = false;
		ssize_t n;

		while ((n = read(ctx->fd, buf, sizeof(buf))) > 0 ||
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
			mail_index_set_error(error_r, "read %s: %s", rec.name,
					     strerror(errno));
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
	bool renamed;
	int ret;

	/* The common case without a write transaction. */
	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_rec_get(index, txn, uid, &rec, NULL, error_r);
	mail_index_read_end(index, &txn);
	if (ret <= 0)
		return ret;
	{
		char *path = rec_path(index, &rec);
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		free(path);
		mail_index_rec_free(&rec);
		if (fd >= 0) {
			*fd_r = fd;
			return 1;
		}
	}
	(void)renamed;
	ret = write_txn(index, open_fn, &ctx, error_r);
	if (ret == 1)
		*fd_r = ctx.fd;
	return ret;
}

int mail_index_get_vsize(struct mail_index *index, uint32_t uid,
			 uint64_t *vsize_r, const char **error_r)
{
	struct open_ctx ctx = { .uid = uid, .fd = -1, .want_vsize = true };
	struct mail_index_record rec;
	int ret;

	ret = mail_index_lookup_uid(index, uid, &rec, error_r);
	if (ret <= 0)
		return ret;
	if (rec.has_vsize) {
		*vsize_r = rec.vsize;
		return 1;
	}
	ret = write_txn(index, open_fn, &ctx, error_r);
	if (ret == 1)
		*vsize_r = ctx.vsize;
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
	return write_txn(index, vsizes_fn, &ctx, error_r);
}

/* ---- STORE ---- */

struct store_ctx {
	const uint32_t *uids;
	size_t count;
	const struct mail_index_change *change;
	struct mail_index_store_result *results;
	uint32_t *kw_ids;	/* ids of change->keywords */
};

static bool kw_has(const uint32_t *kw, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (kw[i] == id)
			return true;
	}
	return false;
}

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
			    kw_has(ctx->kw_ids, c->keyword_count, rec->kw[i])) {
				changed = true;
				continue;
			}
			if (!kw_has(kw, n, rec->kw[i]))
				kw[n++] = rec->kw[i];
		}
		if (c->mode == MAIL_INDEX_MODIFY_ADD) {
			for (i = 0; i < c->keyword_count; i++) {
				if (!kw_has(kw, n, ctx->kw_ids[i])) {
					kw[n++] = ctx->kw_ids[i];
					changed = true;
				}
			}
		}
	} else {
		for (i = 0; i < c->keyword_count; i++) {
			if (!kw_has(kw, n, ctx->kw_ids[i]))
				kw[n++] = ctx->kw_ids[i];
		}
		if (n != rec->d.kw_count)
			changed = true;
		for (i = 0; i < n && !changed; i++) {
			if (!kw_has(rec->kw, rec->d.kw_count, kw[i]))
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
		from = rec_path(index, rec);
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
		ret = refind(index, rec, error_r);
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
	ret = write_txn(index, store_fn, &ctx, error_r);
	free(ctx.kw_ids);
	return ret;
}

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
		paths[found] = rec_path(index, &recs[found]);
		found++;
	}
	/* All files first, in parallel: on some disks each unlink waits
	 * for the device (lib/unlink-many.h). */
	unlink_many((const char *const *)paths, found, errs);
	for (size_t j = 0; j < found; j++) {
		int err = errs[j];

		/* Renamed by another program: find it again. */
		for (int tries = 1; err == ENOENT && tries < 3; tries++) {
			ret = refind(index, &recs[j], error_r);
			if (ret < 0) {
				*rc_r = 0;
				goto out;
			}
			if (ret == 0)
				break;
			char *path = rec_path(index, &recs[j]);
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

	ret = write_txn(index, expunge_fn, &ctx, error_r);
	if (ret >= 0 && modseq_r != NULL)
		*modseq_r = ctx.modseq;
	return ret;
}

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
			ret = refind(index, &rec, error_r);
			if (ret == 1 && (rec.d.bits & REC_IN_NEW) != 0)
				ret = maildir_move_to_cur(index->dir, rec.name,
							  &newname, error_r);
		}
		if (ret == 1) {
			if (newname != NULL)
				mail_index_rec_set_name(&rec, newname);
			rec.d.bits &= (uint8_t)~REC_IN_NEW;
			refound_flags(index, hdr, &rec);
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

	return write_txn(index, move_fn, &ctx, error_r);
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
	return write_txn(index, recent_fn, first_r, error_r);
}

/* ---- APPEND ---- */

struct add_ctx {
	const char *name;
	const char *const *keywords;
	size_t keyword_count;
	uint32_t uid;
};

static int add_fn(struct mail_index *index, MDB_txn *txn,
		  struct mail_index_hdr *hdr, void *context, int *rc_r,
		  const char **error_r)
{
	struct add_ctx *ctx = context;
	size_t base_len = maildir_name_base_len(ctx->name), i;
	MDB_val key = { base_len, (void *)ctx->name }, val;
	struct mail_index_rec rec;
	struct stat st;
	char *path;
	bool in_new = false;
	int rc, ret;

	rc = mdb_get(txn, index->env->db_bases, &key, &val);
	if (rc == 0 && val.mv_size == 4) {
		memcpy(&ctx->uid, val.mv_data, 4);
		return 0;
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
			if (!kw_has(rec.kw, rec.d.kw_count, id))
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
	if (write_txn(index, add_fn, &ctx, error_r) < 0)
		return -1;
	*uid_r = ctx.uid;
	return 0;
}
