/* maildir.c: maildir creation, names, flags, atomic delivery, listing. */
#include "config.h"
#include "maildir.h"
#include "mem.h"
#include "str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char maildir_errbuf[512];

static const char *errorf(const char *what, const char *path, int err)
{
	snprintf(maildir_errbuf, sizeof(maildir_errbuf), "%s(%s): %s", what,
		 path, strerror(err));
	return maildir_errbuf;
}

static void set_error(const char **error_r, const char *what,
		      const char *path, int err)
{
	const char *e = errorf(what, path, err);

	if (error_r != NULL)
		*error_r = e;
	errno = err;
}

static int mkdir_ok(const char *path, const char **error_r)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	set_error(error_r, "mkdir", path, errno == EEXIST ? ENOTDIR : errno);
	return -1;
}

int maildir_create(const char *dir, const char **error_r)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	char *path;
	size_t i;

	if (mkdir_ok(dir, error_r) < 0)
		return -1;
	for (i = 0; i < N_ELEMENTS(subs); i++) {
		path = xasprintf("%s/%s", dir, subs[i]);
		if (mkdir_ok(path, error_r) < 0) {
			free(path);
			return -1;
		}
		free(path);
	}
	return 0;
}

bool maildir_is_maildir(const char *dir)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	struct stat st;
	char *path;
	size_t i;
	bool ok = true;

	for (i = 0; i < N_ELEMENTS(subs) && ok; i++) {
		path = xasprintf("%s/%s", dir, subs[i]);
		ok = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
		free(path);
	}
	return ok;
}

/* ---- names ---- */

static atomic_uint maildir_counter;

char *maildir_unique_name(const char *host)
{
	char hostbuf[256];
	struct timeval tv;
	struct str s;
	const char *p;

	if (host == NULL) {
		if (gethostname(hostbuf, sizeof(hostbuf)) < 0)
			str_copy(hostbuf, "localhost", sizeof(hostbuf));
		hostbuf[sizeof(hostbuf) - 1] = '\0';
		host = hostbuf;
	}
	gettimeofday(&tv, NULL);
	str_init(&s, 64);
	str_printfa(&s, "%lld.M%06ldP%ldQ%u.", (long long)tv.tv_sec,
		    (long)tv.tv_usec, (long)getpid(),
		    atomic_fetch_add(&maildir_counter, 1) + 1);
	for (p = host; *p != '\0' && str_len(&s) < 200; p++) {
		switch (*p) {
		case '/':
			str_append(&s, "\\057");
			break;
		case ':':
			str_append(&s, "\\072");
			break;
		case ',':
			str_append(&s, "\\054");
			break;
		default:
			if ((unsigned char)*p > 0x20 &&
			    (unsigned char)*p < 0x7f)
				str_append_c(&s, *p);
			break;
		}
	}
	return str_steal(&s);
}

size_t maildir_name_base_len(const char *name)
{
	const char *p = strrchr(name, ':');

	return p == NULL ? strlen(name) : (size_t)(p - name);
}

bool maildir_name_base_equal(const char *a, const char *b)
{
	size_t la = maildir_name_base_len(a);

	return la == maildir_name_base_len(b) && memcmp(a, b, la) == 0;
}

const char *maildir_name_flags(const char *name)
{
	const char *p = strrchr(name, ':');

	if (p == NULL || p[1] != '2' || p[2] != ',')
		return "";
	return p + 3;
}

bool maildir_name_has_flag(const char *name, char flag)
{
	return strchr(maildir_name_flags(name), flag) != NULL && flag != '\0';
}

int maildir_name_get_size(const char *name, char field, uint64_t *value_r)
{
	size_t len = maildir_name_base_len(name), i, j;
	uint64_t v;

	for (i = 0; i + 3 < len; i++) {
		if (name[i] != ',' || name[i + 1] != field ||
		    name[i + 2] != '=')
			continue;
		v = 0;
		for (j = i + 3; j < len && name[j] >= '0' && name[j] <= '9';
		     j++) {
			if (v > (UINT64_MAX - 9) / 10)
				return 0;
			v = v * 10 + (uint64_t)(name[j] - '0');
		}
		if (j == i + 3 || (j < len && name[j] != ','))
			continue; /* malformed: look for another */
		*value_r = v;
		return 1;
	}
	return 0;
}

static bool flag_char_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '/' && c != ':' && c != ',';
}

char *maildir_flags_normalize(const char *flags)
{
	bool seen[128] = { false };
	char *out = xmalloc(MAILDIR_FLAGS_MAX + 1);
	size_t n = 0;
	unsigned c;

	for (; flags != NULL && *flags != '\0'; flags++) {
		if (flag_char_ok((unsigned char)*flags))
			seen[(unsigned char)*flags] = true;
	}
	for (c = 0; c < 128 && n < MAILDIR_FLAGS_MAX; c++) {
		if (seen[c])
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

char *maildir_name_set_flags(const char *name, const char *flags)
{
	char *norm = maildir_flags_normalize(flags);
	char *ret = xasprintf("%.*s:2,%s", (int)maildir_name_base_len(name),
			      name, norm);

	free(norm);
	return ret;
}

char *maildir_name_change_flags(const char *name, const char *add,
				const char *remove)
{
	struct str s;
	const char *p;
	char *ret;

	str_init(&s, 32);
	for (p = maildir_name_flags(name); *p != '\0'; p++) {
		if (remove == NULL || strchr(remove, *p) == NULL)
			str_append_c(&s, *p);
	}
	if (add != NULL) {
		for (p = add; *p != '\0'; p++) {
			if (remove == NULL || strchr(remove, *p) == NULL)
				str_append_c(&s, *p);
		}
	}
	ret = maildir_name_set_flags(name, str_c(&s));
	str_free(&s);
	return ret;
}

/* ---- delivery ---- */

struct maildir_delivery {
	char *dir;
	char *unique;	/* base name without sizes */
	char *tmp_path;
	int fd;
	unsigned flags;
	uint64_t size;
	uint64_t vsize;
	bool last_cr;
};

/* Whether an unnamed file can be linked through /proc/self/fd (not in a
 * chroot without /proc): -1 until looked at. */
static int proc_fd_ok = -1;

int maildir_tmp_open(const char *dir, const char *name, bool replace,
		     char **tmp_r)
{
	char *tmpdir;
	int fd;

	if (proc_fd_ok < 0)
		proc_fd_ok = access("/proc/self/fd", X_OK) == 0 ? 1 : 0;
	*tmp_r = NULL;
	if (proc_fd_ok > 0) {
		tmpdir = xasprintf("%s/tmp", dir);
		fd = open(tmpdir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		free(tmpdir);
		if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
				 errno != EINVAL))
			return fd;
	}
	*tmp_r = xasprintf("%s/tmp/%s", dir, name);
	if (replace)
		(void)unlink(*tmp_r);
	fd = open(*tmp_r, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;

		x_free(*tmp_r);
		errno = e;
	}
	return fd;
}

int maildir_tmp_link(int fd, const char *tmp, const char *final)
{
	char proc[64];

	if (tmp != NULL)
		return link(tmp, final);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, final, AT_SYMLINK_FOLLOW);
}

struct maildir_delivery *maildir_delivery_begin(const char *dir,
						unsigned flags,
						const char **error_r)
{
	struct maildir_delivery *d = xcalloc(1, sizeof(*d));
	int tries;

	d->dir = xstrdup(dir);
	d->flags = flags;
	for (tries = 0; tries < 10; tries++) {
		d->unique = maildir_unique_name(NULL);
		if ((flags & MAILDIR_DELIVERY_RENAME) != 0) {
			/* an unnamed file can only be linked */
			d->tmp_path = xasprintf("%s/tmp/%s", dir, d->unique);
			d->fd = open(d->tmp_path, O_WRONLY | O_CREAT |
				     O_EXCL | O_CLOEXEC, 0600);
		} else {
			d->fd = maildir_tmp_open(dir, d->unique, false,
						 &d->tmp_path);
		}
		if (d->fd >= 0)
			return d;
		if (errno != EEXIST)
			break;
		x_free(d->unique);
		x_free(d->tmp_path);
	}
	{
		int e = errno;
		char *where = d->tmp_path != NULL ? xstrdup(d->tmp_path) :
			      xasprintf("%s/tmp", dir);

		set_error(error_r, "open", where, e);
		free(where);
	}
	free(d->unique);
	free(d->tmp_path);
	free(d->dir);
	free(d);
	return NULL;
}

/* Where the delivery's file is, for messages. */
static const char *delivery_where(const struct maildir_delivery *d)
{
	return d->tmp_path != NULL ? d->tmp_path : d->dir;
}

int maildir_delivery_write(struct maildir_delivery *d, const void *data,
			   size_t len, const char **error_r)
{
	const char *p = data;
	size_t i, done = 0;
	ssize_t n;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && !d->last_cr)
			d->vsize++;
		d->last_cr = p[i] == '\r';
	}
	while (done < len) {
		n = write(d->fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_error(error_r, "write", delivery_where(d), errno);
			return -1;
		}
		done += (size_t)n;
	}
	d->size += len;
	d->vsize += len;
	return 0;
}

uint64_t maildir_delivery_size(const struct maildir_delivery *d)
{
	return d->size;
}

static void delivery_free(struct maildir_delivery **_d)
{
	struct maildir_delivery *d = *_d;

	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d->dir);
	free(d->unique);
	free(d->tmp_path);
	free(d);
	*_d = NULL;
}

void maildir_delivery_abort(struct maildir_delivery **d)
{
	if (*d == NULL)
		return;
	if ((*d)->tmp_path != NULL)
		(void)unlink((*d)->tmp_path);
	delivery_free(d);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret, err;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

/* Takes a file just put at final_path back out (linked: the tmp/ name or
 * the fd still has it; renamed: back to tmp/), keeping errno. */
static void delivery_take_back(const struct maildir_delivery *d,
			       const char *final_path, bool linked)
{
	int err = errno;

	if (linked)
		(void)unlink(final_path);
	else
		(void)rename(final_path, d->tmp_path);
	errno = err;
}

int maildir_delivery_commit(struct maildir_delivery **_d, const char *flags,
			    char **name_r, const char **error_r)
{
	struct maildir_delivery *d = *_d;
	const char *sub = flags == NULL ? "new" : "cur";
	char *name = NULL, *final_path = NULL, *subdir = NULL, *norm;
	int tries, ret = -1;
	bool linked = false;

	/* The data is written out before the link, so that no name in new/
	 * can reach the disk before the data it names (an empty message
	 * after a crash): by the journal of a file system that has one, or
	 * by another delivery's fsync of new/ where there is none.  The
	 * fsync() below then writes the inode and flushes. */
	(void)sync_file_range(d->fd, 0, 0,
			      SYNC_FILE_RANGE_WAIT_BEFORE |
				      SYNC_FILE_RANGE_WRITE |
				      SYNC_FILE_RANGE_WAIT_AFTER);
	norm = flags == NULL ? NULL : maildir_flags_normalize(flags);
	for (tries = 0; tries < 10; tries++) {
		struct str s;

		str_init(&s, 128);
		str_printfa(&s, "%s,S=%llu", d->unique,
			    (unsigned long long)d->size);
		if ((d->flags & MAILDIR_DELIVERY_VSIZE) != 0)
			str_printfa(&s, ",W=%llu",
				    (unsigned long long)d->vsize);
		if (norm != NULL)
			str_printfa(&s, ":2,%s", norm);
		name = str_steal(&s);
		final_path = xasprintf("%s/%s/%s", d->dir, sub, name);
		if ((d->flags & MAILDIR_DELIVERY_RENAME) == 0) {
			if (maildir_tmp_link(d->fd, d->tmp_path,
					     final_path) == 0) {
				linked = true;
				break;
			}
			if (errno != EEXIST && errno != EPERM &&
			    errno != ENOSYS && errno != EXDEV &&
			    errno != EOPNOTSUPP && errno != EMLINK)
				goto fail;
			/* an unnamed file has no other way in */
			if (d->tmp_path == NULL && errno != EEXIST)
				goto fail;
		}
		if (errno != EEXIST || (d->flags & MAILDIR_DELIVERY_RENAME)) {
			/* No hard links here: rename, refusing to replace. */
			struct stat st;

			if (lstat(final_path, &st) == 0) {
				errno = EEXIST;
			} else if (errno != ENOENT) {
				goto fail;
			} else if (rename(d->tmp_path, final_path) == 0) {
				break;
			} else {
				goto fail;
			}
		}
		/* The name is taken (should never happen): pick another. */
		x_free(name);
		x_free(final_path);
		free(d->unique);
		d->unique = maildir_unique_name(NULL);
	}
	if (name == NULL) {
		errno = EEXIST;
		goto fail;
	}
	/* The file, then the folder it was linked into.  The file's fsync
	 * comes after the link: on a journalling file system (ext4, XFS,
	 * btrfs) it commits the link with the data, and the folder's fsync
	 * finds nothing left to write (one commit a delivery, not two);
	 * elsewhere the folder's fsync writes the link.  Until both
	 * returned, the delivery has not succeeded: a failure takes the
	 * file back out. */
	if (fsync(d->fd) < 0) {
		set_error(error_r, "fsync", final_path, errno);
		delivery_take_back(d, final_path, linked);
		goto out;
	}
	if (close(d->fd) < 0) {
		d->fd = -1;
		set_error(error_r, "close", final_path, errno);
		delivery_take_back(d, final_path, linked);
		goto out;
	}
	d->fd = -1;
	subdir = xasprintf("%s/%s", d->dir, sub);
	if (fsync_dir(subdir) < 0) {
		set_error(error_r, "fsync", subdir, errno);
		delivery_take_back(d, final_path, linked);
		goto out;
	}
	if (linked && d->tmp_path != NULL)
		(void)unlink(d->tmp_path);
	ret = 0;
	if (name_r != NULL) {
		*name_r = name;
		name = NULL;
	}
	goto out;
fail:
	set_error(error_r, "link", final_path != NULL ? final_path : d->dir,
		  errno);
out:
	free(norm);
	free(name);
	free(final_path);
	free(subdir);
	if (ret < 0)
		maildir_delivery_abort(_d);
	else
		delivery_free(_d);
	return ret;
}

int maildir_deliver(const char *dir, const void *data, size_t len,
		    unsigned flags, char **name_r, const char **error_r)
{
	struct maildir_delivery *d = maildir_delivery_begin(dir, flags,
							     error_r);

	if (d == NULL)
		return -1;
	if (maildir_delivery_write(d, data, len, error_r) < 0) {
		maildir_delivery_abort(&d);
		return -1;
	}
	return maildir_delivery_commit(&d, NULL, name_r, error_r);
}

int maildir_clean_tmp(const char *dir, time_t max_age)
{
	char *path = xasprintf("%s/tmp", dir), *file;
	time_t now = time(NULL);
	struct dirent *de;
	struct stat st;
	int count = 0;
	DIR *dp;

	dp = opendir(path);
	if (dp == NULL) {
		free(path);
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		file = xasprintf("%s/%s", path, de->d_name);
		if (lstat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime + max_age < now && unlink(file) == 0)
			count++;
		free(file);
	}
	closedir(dp);
	free(path);
	return count;
}

/* ---- listing ---- */

/* The names of a listing live in blocks of this size (one allocation per
 * block instead of one per name). */
#define LIST_BLOCK_SIZE (256U * 1024)
/* What one getdents64() call may fill: fewer system calls on a large
 * directory than readdir()'s 32 KiB. */
#define LIST_DENTS_SIZE (1024U * 1024)

struct maildir_list_block {
	struct maildir_list_block *next;
	size_t used, size;
	char data[];
};

/* The kernel's record of one entry (linux_dirent64). */
struct list_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Copies name (len bytes) into the list's blocks; returns the copy. */
static char *list_store(struct maildir_list *l, const char *name, size_t len)
{
	struct maildir_list_block *b = l->blocks;
	char *p;

	if (b == NULL || b->size - b->used < len + 1) {
		size_t size = len + 1 > LIST_BLOCK_SIZE ? len + 1
							: LIST_BLOCK_SIZE;

		b = xmalloc(sizeof(*b) + size);
		b->used = 0;
		b->size = size;
		b->next = l->blocks;
		l->blocks = b;
	}
	p = b->data + b->used;
	memcpy(p, name, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

static void entry_fill(struct maildir_list *l, struct maildir_entry *e,
		       const char *name, size_t len, bool in_new)
{
	e->name = list_store(l, name, len);
	e->in_new = in_new;
	e->base_len = maildir_name_base_len(e->name);
	e->flags = maildir_name_flags(e->name);
	e->has_size = maildir_name_get_size(e->name, 'S', &e->size) == 1;
	e->has_vsize = maildir_name_get_size(e->name, 'W', &e->vsize) == 1;
}

static int list_sub(const char *dir, const char *sub, struct maildir_list *l,
		    size_t *alloc, char *buf, const char **error_r)
{
	char *path = xasprintf("%s/%s", dir, sub);
	bool in_new = strcmp(sub, "new") == 0;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		set_error(error_r, "opendir", path, errno);
		free(path);
		return -1;
	}
	for (;;) {
		/* A listing cut short by an error must not pass for the
		 * whole folder: the index would take the missing files for
		 * expunged. */
		ssize_t n = getdents64(fd, buf, LIST_DENTS_SIZE);
		size_t pos = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_error(error_r, "readdir", path, errno);
			close(fd);
			free(path);
			return -1;
		}
		if (n == 0)
			break;
		while (pos < (size_t)n) {
			const struct list_dirent *de =
				(const struct list_dirent *)(buf + pos);
			size_t len;

			pos += de->reclen;
			if (de->name[0] == '.')
				continue;
			len = strnlen(de->name, MAILDIR_NAME_MAX + 1);
			if (len > MAILDIR_NAME_MAX)
				continue; /* no file system makes these */
			if (l->count == *alloc) {
				*alloc = *alloc == 0 ? 64 : *alloc * 2;
				l->entries = xreallocarray(
					l->entries, *alloc,
					sizeof(*l->entries));
			}
			entry_fill(l, &l->entries[l->count++], de->name, len,
				   in_new);
		}
	}
	close(fd);
	free(path);
	return 0;
}

static int entry_cmp(const struct maildir_entry *ea,
		     const struct maildir_entry *eb)
{
	size_t n = ea->base_len < eb->base_len ? ea->base_len : eb->base_len;
	int c = memcmp(ea->name, eb->name, n);

	if (c != 0)
		return c;
	if (ea->base_len != eb->base_len)
		return ea->base_len < eb->base_len ? -1 : 1;
	return strcmp(ea->name, eb->name);
}

/* A sort key: the first 16 bytes of the base name, big-endian (so that
 * integer order is byte order), then the entry. */
struct list_key {
	uint64_t k0, k1;
	const struct maildir_entry *e;
};

static uint64_t key_word(const struct maildir_entry *e, size_t off)
{
	uint64_t v = 0;

	for (size_t i = off; i < off + 8; i++)
		v = (v << 8) | (i < e->base_len ? (unsigned char)e->name[i] : 0);
	return v;
}

static int list_key_cmp(const void *a, const void *b)
{
	const struct list_key *x = a, *y = b;

	if (x->k0 != y->k0)
		return x->k0 < y->k0 ? -1 : 1;
	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	return entry_cmp(x->e, y->e);
}

/* Byte d (0 = the lowest of k1, 15 = the highest of k0) of a key. */
static unsigned key_digit(const struct list_key *k, unsigned d)
{
	return d < 8 ? (unsigned)(k->k1 >> (8 * d)) & 0xff
		     : (unsigned)(k->k0 >> (8 * (d - 8))) & 0xff;
}

/* Sorts keys[0..n) by (k0, k1) with a stable LSD radix sort, one byte a
 * pass (passes where every key has the same byte skipped: names that
 * share their first digits), then orders runs of equal (k0, k1) with the
 * full comparison.  O(n) for the names of a maildir, where a comparison
 * sort of 100,000 names spends its time in memcmp(). */
static void keys_sort(struct list_key *keys, size_t n)
{
	size_t (*count)[256] = xcalloc(16, sizeof(*count));
	struct list_key *tmp = xreallocarray(NULL, n, sizeof(*tmp));
	struct list_key *src = keys, *dst = tmp, *t;

	for (size_t i = 0; i < n; i++) {
		for (unsigned d = 0; d < 16; d++)
			count[d][key_digit(&keys[i], d)]++;
	}
	for (unsigned d = 0; d < 16; d++) {
		size_t off = 0, c;
		bool one = false;

		for (unsigned b = 0; b < 256 && !one; b++)
			one = count[d][b] == n;
		if (one)
			continue;
		for (unsigned b = 0; b < 256; b++) {
			c = count[d][b];
			count[d][b] = off;
			off += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[d][key_digit(&src[i], d)]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != keys)
		memcpy(keys, src, n * sizeof(*keys));
	free(tmp);
	free(count);
	/* Keys equal in their first 16 bytes: rare, and short runs. */
	for (size_t i = 1; i < n; i++) {
		struct list_key k = keys[i];
		size_t j = i;

		while (j > 0 && keys[j - 1].k0 == k.k0 &&
		       keys[j - 1].k1 == k.k1 && list_key_cmp(&keys[j - 1], &k) > 0) {
			keys[j] = keys[j - 1];
			j--;
		}
		keys[j] = k;
	}
}

/* Sorts l's entries by base name, then whole name. */
static void list_sort(struct maildir_list *l)
{
	struct list_key *keys;
	struct maildir_entry *sorted;
	size_t i;

	for (i = 1; i < l->count; i++) {
		if (entry_cmp(&l->entries[i - 1], &l->entries[i]) > 0)
			break;
	}
	if (i >= l->count)
		return; /* sorted already */
	keys = xreallocarray(NULL, l->count, sizeof(*keys));
	for (i = 0; i < l->count; i++) {
		keys[i].k0 = key_word(&l->entries[i], 0);
		keys[i].k1 = key_word(&l->entries[i], 8);
		keys[i].e = &l->entries[i];
	}
	keys_sort(keys, l->count);
	sorted = xreallocarray(NULL, l->count, sizeof(*sorted));
	for (i = 0; i < l->count; i++)
		sorted[i] = *keys[i].e;
	free(keys);
	free(l->entries);
	l->entries = sorted;
}

static int list_dirs(const char *dir, bool with_cur,
		     struct maildir_list **list_r, const char **error_r)
{
	struct maildir_list *l = xcalloc(1, sizeof(*l));
	char *buf = xmalloc(LIST_DENTS_SIZE);
	size_t alloc = 0;
	int ret = 0;

	if (list_sub(dir, "new", l, &alloc, buf, error_r) < 0 ||
	    (with_cur && list_sub(dir, "cur", l, &alloc, buf, error_r) < 0))
		ret = -1;
	free(buf);
	if (ret < 0) {
		maildir_list_free(&l);
		return -1;
	}
	list_sort(l);
	*list_r = l;
	return 0;
}

int maildir_list(const char *dir, struct maildir_list **list_r,
		 const char **error_r)
{
	return list_dirs(dir, true, list_r, error_r);
}

int maildir_list_new(const char *dir, struct maildir_list **list_r,
		     const char **error_r)
{
	return list_dirs(dir, false, list_r, error_r);
}

void maildir_list_free(struct maildir_list **_l)
{
	struct maildir_list *l = *_l;

	if (l == NULL)
		return;
	while (l->blocks != NULL) {
		struct maildir_list_block *b = l->blocks;

		l->blocks = b->next;
		free(b);
	}
	free(l->entries);
	free(l);
	*_l = NULL;
}

const struct maildir_entry *maildir_list_find(const struct maildir_list *l,
					      const char *base)
{
	size_t lo = 0, hi = l->count, mid, blen = maildir_name_base_len(base);
	const struct maildir_entry *e;
	size_t n;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		e = &l->entries[mid];
		n = e->base_len < blen ? e->base_len : blen;
		c = memcmp(base, e->name, n);
		if (c == 0 && blen != e->base_len)
			c = blen < e->base_len ? -1 : 1;
		if (c == 0)
			return e;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int find_in(const char *dir, const char *sub, const char *base,
		   char **relpath_r, const char **error_r)
{
	char *path = xasprintf("%s/%s", dir, sub);
	struct dirent *de;
	DIR *dp;
	int ret = 0;

	dp = opendir(path);
	if (dp == NULL) {
		set_error(error_r, "opendir", path, errno);
		free(path);
		return -1;
	}
	for (;;) {
		/* An error is not "not found": the caller would take the
		 * message for gone. */
		errno = 0;
		de = readdir(dp);
		if (de == NULL) {
			if (errno != 0) {
				set_error(error_r, "readdir", path, errno);
				ret = -1;
			}
			break;
		}
		if (de->d_name[0] != '.' &&
		    maildir_name_base_equal(de->d_name, base)) {
			*relpath_r = xasprintf("%s/%s", sub, de->d_name);
			ret = 1;
			break;
		}
	}
	closedir(dp);
	free(path);
	return ret;
}

int maildir_find(const char *dir, const char *base, char **relpath_r,
		 const char **error_r)
{
	int ret = find_in(dir, "cur", base, relpath_r, error_r);

	if (ret == 0)
		ret = find_in(dir, "new", base, relpath_r, error_r);
	return ret;
}

int maildir_set_flags(const char *dir, const char *base, const char *flags,
		      char **name_r, const char **error_r)
{
	char *rel = NULL, *newname, *from, *to;
	int tries, ret;

	for (tries = 0; tries < 5; tries++) {
		ret = maildir_find(dir, base, &rel, error_r);
		if (ret <= 0)
			return ret;
		newname = maildir_name_set_flags(strchr(rel, '/') + 1, flags);
		from = xasprintf("%s/%s", dir, rel);
		to = xasprintf("%s/cur/%s", dir, newname);
		ret = strcmp(from, to) == 0 ? 0 : rename(from, to);
		if (ret < 0 && errno != ENOENT)
			set_error(error_r, "rename", from, errno);
		if (ret < 0 && errno == ENOENT) {
			/* Renamed under us by another process: rescan. */
			free(newname);
			free(from);
			free(to);
			x_free(rel);
			continue;
		}
		free(from);
		free(to);
		free(rel);
		if (ret < 0) {
			free(newname);
			return -1;
		}
		if (name_r != NULL)
			*name_r = newname;
		else
			free(newname);
		return 1;
	}
	return 0;
}

int maildir_move_to_cur(const char *dir, const char *name, char **name_r,
			const char **error_r)
{
	char *newname, *from, *to;
	int ret;

	if (strchr(name, '/') != NULL || name[0] == '.' || name[0] == '\0') {
		set_error(error_r, "rename", name, EINVAL);
		return -1;
	}
	newname = strrchr(name, ':') != NULL ? xstrdup(name)
					     : xasprintf("%s:2,", name);
	from = xasprintf("%s/new/%s", dir, name);
	to = xasprintf("%s/cur/%s", dir, newname);
	ret = rename(from, to);
	if (ret < 0 && errno != ENOENT)
		set_error(error_r, "rename", from, errno);
	ret = ret == 0 ? 1 : errno == ENOENT ? 0 : -1;
	free(from);
	free(to);
	if (ret == 1 && name_r != NULL)
		*name_r = newname;
	else
		free(newname);
	return ret;
}
