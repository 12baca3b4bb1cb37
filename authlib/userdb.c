/* userdb.c: Courier's userdb text format, its LMDB compiled form
 * (makeuserdb) and edits of the text (the userdb tool). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-file.h"
#include "mem.h"
#include "secure.h"
#include "userdb.h"

/* Large enough for a million accounts and more. */
static const struct config_limits userdb_limits = {
	.max_line_len = 64 * 1024,
	.max_file_size = (size_t)4 << 30,
	.max_files = 100000,
	.max_lines = 100 * 1000 * 1000,
	.max_value_len = 0,
	.max_entries = 0,
};

int userdb_parse_line(const char *line, char **name_r, const char **fields_r,
	const char **error_r)
{
	const char *p = line;
	const char *tab;

	*name_r = NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	tab = strchr(line, '\t');
	if (tab == NULL) {
		*error_r = "no TAB between the name and the fields";
		return -1;
	}
	if (tab == line) {
		*error_r = "empty name";
		return -1;
	}
	for (const char *c = line; c < tab; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			*error_r = "blank or control character in the name";
			return -1;
		}
	}
	if ((size_t)(tab - line) > 512) {
		*error_r = "name too long";
		return -1;
	}
	for (const char *c = tab + 1; *c != '\0'; c++) {
		if (*c == '\r' || *c == '\n') {
			*error_r = "line break in the fields";
			return -1;
		}
	}
	*name_r = xstrndup(line, (size_t)(tab - line));
	*fields_r = tab + 1;
	return 1;
}

/* Calls fn for each "name=value" item of fields. */
#define FIELDS_FOREACH(fields, item, item_len)                                 \
	for (const char *item = (fields), *item##_next; item != NULL;          \
		item = item##_next)                                            \
		for (size_t item_len =                                         \
				    (item##_next = strchr(item, '|'))          \
					    ? (size_t)(item##_next++ - item)   \
					    : strlen(item),                    \
			    item##_once = 1;                                   \
			item##_once; item##_once = 0)

static size_t item_name_len(const char *item, size_t len)
{
	const char *eq = memchr(item, '=', len);
	return eq != NULL ? (size_t)(eq - item) : len;
}

int userdb_field_get(const char *fields, const char *field, char **value_r)
{
	size_t flen = strlen(field);

	*value_r = NULL;
	if (fields == NULL)
		return 0;
	FIELDS_FOREACH(fields, item, len)
	{
		size_t nlen = item_name_len(item, len);
		if (nlen == flen && memcmp(item, field, flen) == 0) {
			*value_r = nlen < len ? xstrndup(item + nlen + 1,
							len - nlen - 1)
					      : xstrdup("");
			return 1;
		}
	}
	return 0;
}

bool userdb_field_is_secret(const char *field, size_t len)
{
	return len >= 2 && field[len - 2] == 'p' && field[len - 1] == 'w';
}

char *userdb_fields_set(
	const char *fields, const char *field, const char *value)
{
	struct str out;
	size_t flen = strlen(field);
	bool done = false;

	str_init(&out, 128);
	if (fields != NULL && fields[0] != '\0') {
		FIELDS_FOREACH(fields, item, len)
		{
			size_t nlen = item_name_len(item, len);
			if (nlen == flen && memcmp(item, field, flen) == 0) {
				if (value == NULL || done)
					continue;
				if (out.len > 0)
					str_append_c(&out, '|');
				str_printfa(&out, "%s=%s", field, value);
				done = true;
				continue;
			}
			if (len == 0)
				continue;
			if (out.len > 0)
				str_append_c(&out, '|');
			str_append_n(&out, item, len);
		}
	}
	if (value != NULL && !done) {
		if (out.len > 0)
			str_append_c(&out, '|');
		str_printfa(&out, "%s=%s", field, value);
	}
	return str_steal(&out);
}

/* Splits fields into the public and the "pw" ones. */
static void split_fields(
	const char *fields, struct str *pub, struct str *secret)
{
	FIELDS_FOREACH(fields, item, len)
	{
		size_t nlen = item_name_len(item, len);
		struct str *dest;
		if (len == 0)
			continue;
		dest = userdb_field_is_secret(item, nlen) ? secret : pub;
		if (dest->len > 0)
			str_append_c(dest, '|');
		str_append_n(dest, item, len);
	}
}

/* ---- compile ---- */

struct lmdb_out {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	char *tmp;
};

static int lmdb_out_open(struct lmdb_out *o, const char *path, size_t mapsize,
	mode_t mode, const char **error_r)
{
	int rc;

	memset(o, 0, sizeof(*o));
	o->tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
	(void)unlink(o->tmp);
	if ((rc = mdb_env_create(&o->env)) != 0 ||
		(rc = mdb_env_set_mapsize(o->env, mapsize)) != 0 ||
		(rc = mdb_env_open(o->env, o->tmp, MDB_NOSUBDIR | MDB_NOLOCK,
			 mode)) != 0 ||
		(rc = mdb_txn_begin(o->env, NULL, 0, &o->txn)) != 0 ||
		(rc = mdb_dbi_open(o->txn, NULL, 0, &o->dbi)) != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	(void)chmod(o->tmp, mode);
	return 0;
}

static void lmdb_out_abort(struct lmdb_out *o)
{
	if (o->txn != NULL)
		mdb_txn_abort(o->txn);
	if (o->env != NULL)
		mdb_env_close(o->env);
	if (o->tmp != NULL)
		(void)unlink(o->tmp);
	x_free(o->tmp);
	o->txn = NULL;
	o->env = NULL;
}

static int lmdb_out_commit(
	struct lmdb_out *o, const char *path, const char **error_r)
{
	int rc = mdb_txn_commit(o->txn);
	o->txn = NULL;
	if (rc == 0)
		rc = mdb_env_sync(o->env, 1);
	if (rc != 0) {
		*error_r = mdb_strerror(rc);
		lmdb_out_abort(o);
		return -1;
	}
	mdb_env_close(o->env);
	o->env = NULL;
	if (rename(o->tmp, path) < 0) {
		*error_r = strerror(errno);
		(void)unlink(o->tmp);
		x_free(o->tmp);
		return -1;
	}
	x_free(o->tmp);
	return 0;
}

static int lmdb_put(struct lmdb_out *o, const char *key, const char *value,
	size_t value_len, bool *replaced_r, const char **error_r)
{
	MDB_val k = {strlen(key), (void *)key};
	MDB_val v = {value_len, (void *)value};
	int rc = mdb_put(o->txn, o->dbi, &k, &v, MDB_NOOVERWRITE);

	*replaced_r = false;
	if (rc == MDB_KEYEXIST) {
		*replaced_r = true;
		v.mv_size = value_len;
		v.mv_data = (void *)value;
		rc = mdb_put(o->txn, o->dbi, &k, &v, 0);
	}
	if (rc != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	return 0;
}

static size_t file_size_total(const struct config_lines *lines)
{
	size_t total = 0;
	for (size_t i = 0; i < config_lines_count(lines); i++)
		total += config_lines_get(lines, i)->len + 64;
	return total;
}

int userdb_compile(const char *src, const char *dat, const char *shadow,
	struct userdb_compile_stats *stats_r, struct config_errors *errs)
{
	struct config_lines *lines = NULL;
	struct lmdb_out pub_db, sec_db;
	struct str pub, secret;
	const char *error = NULL;
	int ret = -1;
	unsigned int errors_before = config_errors_error_count(errs);

	memset(stats_r, 0, sizeof(*stats_r));
	int r = config_lines_read(src, &userdb_limits, &lines, errs);
	if (r == 0) {
		config_error(errs, src, 0, "does not exist");
		return -1;
	}
	if (r < 0 || config_errors_error_count(errs) > errors_before) {
		config_lines_free(&lines);
		return -1;
	}
	/* Validate every line before writing anything. */
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const struct config_line *l = config_lines_get(lines, i);
		char *name;
		const char *fields;
		if (userdb_parse_line(l->text, &name, &fields, &error) < 0)
			config_error(errs, l->file, l->line, "%s", error);
		free(name);
	}
	if (config_errors_error_count(errs) > errors_before) {
		config_lines_free(&lines);
		return -1;
	}

	size_t mapsize = file_size_total(lines) * 6 + (16u << 20);
	if (lmdb_out_open(&pub_db, dat, mapsize, 0644, &error) < 0) {
		config_error(errs, dat, 0, "%s", error);
		lmdb_out_abort(&pub_db);
		config_lines_free(&lines);
		return -1;
	}
	if (lmdb_out_open(&sec_db, shadow, mapsize, 0600, &error) < 0) {
		config_error(errs, shadow, 0, "%s", error);
		lmdb_out_abort(&sec_db);
		lmdb_out_abort(&pub_db);
		config_lines_free(&lines);
		return -1;
	}
	str_init(&pub, 256);
	str_init(&secret, 256);
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const struct config_line *l = config_lines_get(lines, i);
		char *name;
		const char *fields;
		bool replaced, replaced2;
		if (userdb_parse_line(l->text, &name, &fields, &error) <= 0)
			continue;
		str_clear(&pub);
		str_clear(&secret);
		split_fields(fields, &pub, &secret);
		if (lmdb_put(&pub_db, name, pub.data, pub.len, &replaced,
			    &error) < 0 ||
			lmdb_put(&sec_db, name, secret.data, secret.len,
				&replaced2, &error) < 0) {
			config_error(errs, l->file, l->line, "%s", error);
			free(name);
			goto out;
		}
		if (replaced) {
			stats_r->duplicates++;
			config_warning(errs, l->file, l->line,
				"%s: replaces an earlier line", name);
		} else {
			stats_r->accounts++;
		}
		free(name);
	}
	if (lmdb_out_commit(&sec_db, shadow, &error) < 0) {
		config_error(errs, shadow, 0, "%s", error);
		goto out;
	}
	if (lmdb_out_commit(&pub_db, dat, &error) < 0) {
		config_error(errs, dat, 0, "%s", error);
		goto out;
	}
	ret = 0;
out:
	lmdb_out_abort(&pub_db);
	lmdb_out_abort(&sec_db);
	secure_wipe(secret.data, secret.size);
	str_free(&pub);
	str_free(&secret);
	config_lines_free(&lines);
	return ret;
}

/* ---- lookup ---- */

struct lmdb_in {
	MDB_env *env;
	MDB_dbi dbi;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	bool open;
};

struct userdb {
	char *dat_path, *shadow_path;
	struct lmdb_in dat, shadow;
};

static void lmdb_in_close(struct lmdb_in *in)
{
	if (in->env != NULL)
		mdb_env_close(in->env);
	memset(in, 0, sizeof(*in));
}

static int lmdb_in_open(
	struct lmdb_in *in, const char *path, const char **error_r)
{
	struct stat st;
	MDB_txn *txn;
	int rc;

	lmdb_in_close(in);
	if (stat(path, &st) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	if ((rc = mdb_env_create(&in->env)) != 0 ||
		(rc = mdb_env_open(in->env, path,
			 MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0)) != 0) {
		*error_r = mdb_strerror(rc);
		lmdb_in_close(in);
		return -1;
	}
	if ((rc = mdb_txn_begin(in->env, NULL, MDB_RDONLY, &txn)) != 0) {
		*error_r = mdb_strerror(rc);
		lmdb_in_close(in);
		return -1;
	}
	rc = mdb_dbi_open(txn, NULL, 0, &in->dbi);
	mdb_txn_abort(txn);
	if (rc != 0) {
		*error_r = mdb_strerror(rc);
		lmdb_in_close(in);
		return -1;
	}
	in->dev = st.st_dev;
	in->ino = st.st_ino;
	in->mtime = st.st_mtim;
	in->open = true;
	return 0;
}

/* Reopens in when the file at path was replaced.  Returns 0 or -1. */
static int lmdb_in_refresh(
	struct lmdb_in *in, const char *path, const char **error_r)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (in->open && errno == ENOENT)
			return 0; /* keep serving the old data */
		*error_r = strerror(errno);
		return in->open ? 0 : -1;
	}
	if (in->open && st.st_dev == in->dev && st.st_ino == in->ino &&
		st.st_mtim.tv_sec == in->mtime.tv_sec &&
		st.st_mtim.tv_nsec == in->mtime.tv_nsec)
		return 0;
	return lmdb_in_open(in, path, error_r);
}

static int lmdb_in_get(struct lmdb_in *in, const char *key, char **value_r,
	const char **error_r)
{
	MDB_txn *txn;
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc;

	*value_r = NULL;
	if ((rc = mdb_txn_begin(in->env, NULL, MDB_RDONLY, &txn)) != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	rc = mdb_get(txn, in->dbi, &k, &v);
	if (rc == 0)
		*value_r = xmemdup(v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	return 1;
}

struct userdb *userdb_open(
	const char *dat, const char *shadow, const char **error_r)
{
	struct userdb *db = xcalloc(1, sizeof(*db));
	db->dat_path = xstrdup(dat);
	db->shadow_path = shadow != NULL ? xstrdup(shadow) : NULL;
	if (lmdb_in_open(&db->dat, dat, error_r) < 0) {
		userdb_close(&db);
		return NULL;
	}
	if (shadow != NULL) {
		const char *ignored;
		(void)lmdb_in_open(&db->shadow, shadow, &ignored);
	}
	return db;
}

void userdb_close(struct userdb **_db)
{
	struct userdb *db = *_db;
	if (db == NULL)
		return;
	lmdb_in_close(&db->dat);
	lmdb_in_close(&db->shadow);
	free(db->dat_path);
	free(db->shadow_path);
	free(db);
	*_db = NULL;
}

int userdb_lookup(struct userdb *db, const char *name, char **fields_r,
	char **secret_r, const char **error_r)
{
	int r;

	*fields_r = NULL;
	if (secret_r != NULL)
		*secret_r = NULL;
	if (name[0] == '\0' || strlen(name) > 512)
		return 0;
	if (lmdb_in_refresh(&db->dat, db->dat_path, error_r) < 0)
		return -1;
	r = lmdb_in_get(&db->dat, name, fields_r, error_r);
	if (r <= 0 || secret_r == NULL)
		return r;
	if (db->shadow_path != NULL) {
		const char *ignored;
		if (lmdb_in_refresh(&db->shadow, db->shadow_path, &ignored) ==
				0 &&
			db->shadow.open &&
			lmdb_in_get(&db->shadow, name, secret_r, error_r) < 0) {
			x_free(*fields_r);
			return -1;
		}
	}
	if (*secret_r == NULL)
		*secret_r = xstrdup("");
	return 1;
}

int userdb_iterate(struct userdb *db, userdb_iter_callback_t *callback,
	void *context, const char **error_r)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, ret = 0;

	if (lmdb_in_refresh(&db->dat, db->dat_path, error_r) < 0)
		return -1;
	if ((rc = mdb_txn_begin(db->dat.env, NULL, MDB_RDONLY, &txn)) != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	if ((rc = mdb_cursor_open(txn, db->dat.dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		*error_r = mdb_strerror(rc);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char *name = xmemdup(k.mv_data, k.mv_size);
		char *fields = xmemdup(v.mv_data, v.mv_size);
		int cb = 0;
		if (k.mv_size == 0 || name[k.mv_size - 1] != '=')
			cb = callback(name, fields, context);
		free(name);
		free(fields);
		if (cb < 0) {
			*error_r = "stopped";
			ret = -1;
			break;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		*error_r = mdb_strerror(rc);
		ret = -1;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return ret;
}

/* ---- text edits ---- */

static int read_file(const char *path, struct str *dest, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	ssize_t n;

	if (fd < 0) {
		*error_r = strerror(errno);
		return errno == ENOENT ? 0 : -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_append_n(dest, buf, (size_t)n);
	int err = errno;
	close(fd);
	secure_wipe(buf, sizeof(buf));
	if (n < 0) {
		*error_r = strerror(err);
		return -1;
	}
	return 1;
}

/* Finds name's line in data: returns its start offset and length (with
 * its LF), or -1. */
static long find_line(
	const char *data, size_t len, const char *name, size_t *line_len_r)
{
	size_t nlen = strlen(name);
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) + 1 : len;
		if (end - pos > nlen && memcmp(data + pos, name, nlen) == 0 &&
			data[pos + nlen] == '\t') {
			*line_len_r = end - pos;
			return (long)pos;
		}
		pos = end;
	}
	return -1;
}

static bool skip_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] == '.' || (len > 0 && n[len - 1] == '~') ||
	       strstr(n, ".rpm") != NULL || strstr(n, ".dpkg-") != NULL ||
	       str_ends_with(n, ".dist") || strstr(n, ".tmp") != NULL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file of the folder dir that holds name (newly allocated), else the
 * one it should go in; *data_r gets that file's contents. */
static int folder_file(const char *dir, const char *name, char **file_r,
	struct str *data_r, const char **error_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t count = 0;
	int ret = -1;

	*file_r = NULL;
	if (d == NULL) {
		*error_r = strerror(errno);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (skip_name(de->d_name))
			continue;
		names = xreallocarray(names, count + 1, sizeof(*names));
		names[count++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(*names), name_cmp);
	for (size_t i = 0; i < count && *file_r == NULL; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		size_t ll;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			str_clear(data_r);
			if (read_file(path, data_r, error_r) < 0) {
				free(path);
				goto out;
			}
			if (find_line(data_r->data, data_r->len, name, &ll) >=
				0) {
				*file_r = path;
				path = NULL;
			}
		}
		free(path);
	}
	if (*file_r == NULL) {
		const char *at = strrchr(name, '@');
		const char *base = at != NULL && at[1] != '\0' &&
						   strchr(at, '/') == NULL &&
						   !skip_name(at + 1)
					   ? at + 1
					   : "default";
		*file_r = xasprintf("%s/%s", dir, base);
		str_clear(data_r);
		if (read_file(*file_r, data_r, error_r) < 0)
			goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	if (ret < 0)
		x_free(*file_r);
	return ret;
}

static int write_atomic(
	const char *path, const struct str *data, const char **error_r)
{
	/* A hidden name: config-file.h skips it inside a userdb folder. */
	const char *slash = strrchr(path, '/');
	char *tmp = slash != NULL
			    ? xasprintf("%.*s/.%s.tmp%ld", (int)(slash - path),
				      path, slash + 1, (long)getpid())
			    : xasprintf(".%s.tmp%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0) {
		*error_r = strerror(errno);
		free(tmp);
		return -1;
	}
	while (off < data->len) {
		ssize_t n = write(fd, data->data + off, data->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < data->len || fsync(fd) < 0 || fchmod(fd, 0600) < 0) {
		*error_r = strerror(errno);
		close(fd);
		(void)unlink(tmp);
		free(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		*error_r = strerror(errno);
		(void)unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static bool name_valid(const char *name)
{
	if (name[0] == '\0' || name[0] == '#' || strlen(name) > 512)
		return false;
	for (const char *c = name; *c != '\0'; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	}
	return true;
}

int userdb_text_update(const char *path, const char *name, const char *fields,
	const char **error_r)
{
	struct stat st;
	struct str data;
	char *file;
	size_t ll;
	long pos;
	int ret = -1;

	if (!name_valid(name)) {
		*error_r = "invalid account name";
		return -1;
	}
	if (fields != NULL && strpbrk(fields, "\r\n") != NULL) {
		*error_r = "line break in the fields";
		return -1;
	}
	str_init(&data, 4096);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (folder_file(path, name, &file, &data, error_r) < 0) {
			str_free(&data);
			return -1;
		}
	} else {
		file = xstrdup(path);
		if (read_file(file, &data, error_r) < 0)
			goto out;
	}
	pos = find_line(data.data, data.len, name, &ll);
	if (pos < 0 && fields == NULL) {
		ret = 0;
		goto out;
	}
	struct str out;
	str_init(&out, data.len + 256);
	if (pos >= 0) {
		str_append_n(&out, data.data, (size_t)pos);
		if (fields != NULL)
			str_printfa(&out, "%s\t%s\n", name, fields);
		str_append_n(&out, data.data + pos + ll,
			data.len - (size_t)pos - ll);
	} else {
		str_append_n(&out, data.data, data.len);
		if (out.len > 0 && out.data[out.len - 1] != '\n')
			str_append_c(&out, '\n');
		str_printfa(&out, "%s\t%s\n", name, fields);
	}
	ret = write_atomic(file, &out, error_r) < 0 ? -1 : 1;
	secure_wipe(out.data, out.size);
	str_free(&out);
out:
	secure_wipe(data.data, data.size);
	str_free(&data);
	free(file);
	return ret;
}

int userdb_text_get(const char *path, const char *name, char **fields_r,
	const char **error_r)
{
	struct config_lines *lines = NULL;
	struct config_errors *errs = config_errors_new();
	int r, ret = 0;

	*fields_r = NULL;
	r = config_lines_read(path, &userdb_limits, &lines, errs);
	if (r < 0) {
		*error_r = "cannot read the userdb text";
		config_errors_destroy(&errs);
		return -1;
	}
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		char *n;
		const char *fields, *err;
		if (userdb_parse_line(config_lines_get(lines, i)->text, &n,
			    &fields, &err) <= 0)
			continue;
		if (strcmp(n, name) == 0) {
			free(*fields_r);
			*fields_r = xstrdup(fields);
			ret = 1;
		}
		free(n);
	}
	config_lines_free(&lines);
	config_errors_destroy(&errs);
	return ret;
}
