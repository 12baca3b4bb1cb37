/* imap-sharable.c: filesystem shared folders (sharable maildirs): the
 * shared-maildirs lists and the accounts' linked copies. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config-errors.h"
#include "config-file.h"
#include "imap-sharable.h"
#include "log.h"
#include "maildir.h"
#include "mem.h"
#include "str.h"

bool imap_sharable_nick_valid(const char *nick, size_t len)
{
	if (len == 0 || len > IMAP_SHARABLE_NICK_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)nick[i];

		if (c <= ' ' || c == 0x7f || c == '.' || c == '/')
			return false;
	}
	return true;
}

const struct imap_sharable_entry *
imap_sharable_list_find(const struct imap_sharable_list *list,
			const char *nick, size_t len)
{
	for (size_t i = 0; i < list->count; i++) {
		const char *n = list->entries[i].nick;

		if (strncmp(n, nick, len) == 0 && n[len] == '\0')
			return &list->entries[i];
	}
	return NULL;
}

/* The reason line (len bytes) is malformed, or NULL; splits it at the
 * tab. */
static const char *line_check(const char *line, size_t len,
			      size_t *nick_len_r)
{
	const char *tab = memchr(line, '\t', len);

	if (len > IMAP_SHARABLE_LINE_MAX)
		return "line too long";
	if (memchr(line, '\0', len) != NULL)
		return "NUL byte";
	if (tab == NULL)
		return "no tab between the name and the path";
	*nick_len_r = (size_t)(tab - line);
	if (!imap_sharable_nick_valid(line, *nick_len_r))
		return "invalid name (printable, no '.', '/' or space)";
	if (tab + 1 == line + len || tab[1] != '/')
		return "the path is not absolute";
	for (const char *p = tab + 1; p < line + len; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return "control character in the path";
	return NULL;
}

size_t imap_sharable_list_parse(struct imap_sharable_list *list,
				const char *data, size_t size,
				const char *file)
{
	size_t bad = 0, lineno = 0, pos = 0;

	while (pos < size) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - line) : size - pos;
		size_t nick_len = 0;
		const char *why;

		pos += len + (nl != NULL ? 1 : 0);
		lineno++;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		why = line_check(line, len, &nick_len);
		if (why != NULL) {
			log_warning("imapd: %s:%zu: %s, line skipped", file,
				    lineno, why);
			bad++;
			continue;
		}
		if (imap_sharable_list_find(list, line, nick_len) != NULL)
			continue;
		list->entries = xreallocarray(list->entries, list->count + 1,
					      sizeof(*list->entries));
		list->entries[list->count].nick = xstrndup(line, nick_len);
		list->entries[list->count].path =
			xstrndup(line + nick_len + 1, len - nick_len - 1);
		list->count++;
	}
	return bad;
}

static void list_cb(const char *path, const char *data, size_t size,
		    void *context)
{
	(void)imap_sharable_list_parse(context, data, size, path);
}

static void list_load_one(const char *path, struct imap_sharable_list *list)
{
	struct config_limits limits = {
		.max_file_size = IMAP_SHARABLE_FILE_MAX,
		.max_files = 1,
	};
	struct config_errors *errs = config_errors_new();
	struct stat st;

	/* a directory is not a list (config_read_files would read the
	 * files inside) */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    config_read_files(path, &limits, list_cb, list, errs) < 0)
		log_warning("imapd: %s: cannot read the list of sharable "
			    "maildirs", path);
	config_errors_log(errs);
	config_errors_destroy(&errs);
}

void imap_sharable_list_load(const char *maildir, const char *global_path,
			     struct imap_sharable_list *list_r)
{
	char *own = xasprintf("%s/" IMAP_SHARABLE_LIST_FILE, maildir);

	memset(list_r, 0, sizeof(*list_r));
	list_load_one(own, list_r);
	free(own);
	if (global_path != NULL)
		list_load_one(global_path, list_r);
}

void imap_sharable_list_free(struct imap_sharable_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->entries[i].nick);
		free(list->entries[i].path);
	}
	free(list->entries);
	memset(list, 0, sizeof(*list));
}

bool imap_sharable_split(const char *rest, size_t *nick_len_r,
			 const char **folder_r)
{
	const char *dot = strchr(rest, '.');
	size_t len = dot != NULL ? (size_t)(dot - rest) : strlen(rest);

	if (!imap_sharable_nick_valid(rest, len))
		return false;
	*nick_len_r = len;
	*folder_r = dot != NULL ? dot + 1 : "";
	return true;
}

/* The mode bits of dir/sub, 0 when it cannot be read. */
static mode_t sub_mode(const char *dir, const char *sub, int amode)
{
	char *path = xasprintf("%s/%s", dir, sub);
	struct stat st;
	mode_t mode = 0;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    access(path, amode) == 0)
		mode = st.st_mode;
	free(path);
	return mode;
}

int imap_sharable_access(const char *dir)
{
	if (!maildir_is_maildir(dir))
		return 0;
	mode_t cur = sub_mode(dir, "cur", R_OK | X_OK);
	mode_t new = sub_mode(dir, "new", R_OK | X_OK);

	/* maildirmake -s gives the group (and, without "group", others)
	 * read access: a folder only its owner reads is not shared */
	if ((cur & (S_IRGRP | S_IROTH)) == 0 ||
	    (new & (S_IRGRP | S_IROTH)) == 0)
		return 0;
	mode_t wcur = sub_mode(dir, "cur", W_OK | X_OK);
	mode_t wnew = sub_mode(dir, "new", W_OK | X_OK);
	mode_t wtmp = sub_mode(dir, "tmp", W_OK | X_OK);
	if ((wcur & (S_IWGRP | S_IWOTH)) != 0 &&
	    (wnew & (S_IWGRP | S_IWOTH)) != 0 &&
	    (wtmp & (S_IWGRP | S_IWOTH)) != 0)
		return 2;
	return 1;
}

/* A line a known file may hold: a base name, optionally followed by
 * "\th" (hidden). */
static bool known_name_valid(const char *s, size_t len)
{
	if (len > 2 && s[len - 2] == '\t' && s[len - 1] == 'h')
		len -= 2;
	if (len == 0 || len > IMAP_SHARABLE_LINE_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < ' ' || c == 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void imap_sharable_known_parse(const char *data, size_t size,
			       char ***names_r, size_t *count_r,
			       size_t *bad_r)
{
	char **v = NULL;
	size_t n = 0, alloc = 0, bad = 0, pos = 0;

	while (pos < size) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - line) : size - pos;

		pos += len + (nl != NULL ? 1 : 0);
		if (len == 0)
			continue;
		if (!known_name_valid(line, len)) {
			bad++;
			continue;
		}
		if (n == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			v = xreallocarray(v, alloc, sizeof(*v));
		}
		v[n++] = xstrndup(line, len);
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), strp_cmp);
	/* repeated names once ("a" and "a\th" too: the first, by the
	 * order, is the plain one) */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && strcspn(v[k - 1], "\t") == strcspn(v[i], "\t") &&
		    strncmp(v[k - 1], v[i], strcspn(v[i], "\t")) == 0) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	*names_r = v;
	*count_r = k;
	*bad_r = bad;
}

/* 0 when base (len bytes) is not in the known names v, 1 when it is,
 * 2 when it is hidden. */
static int known_has(char **v, size_t n, const char *base, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strncmp(v[mid], base, len);

		if (r == 0 && v[mid][len] != '\0' && v[mid][len] != '\t')
			r = 1;
		if (r == 0)
			return v[mid][len] == '\t' ? 2 : 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

struct known_read {
	struct str data;
};

static void known_cb(const char *path, const char *data, size_t size,
		     void *context)
{
	struct known_read *k = context;

	(void)path;
	str_append_n(&k->data, data, size);
}

/* The copy's known base names (none when the file is missing); *raw
 * gets the file as it is. */
static int known_load(const char *copy_dir, char ***names_r,
		      size_t *count_r, struct str *raw)
{
	char *path = xasprintf("%s/" IMAP_SHARABLE_KNOWN_FILE, copy_dir);
	struct config_limits limits = {
		.max_file_size = IMAP_SHARABLE_KNOWN_MAX,
		.max_files = 1,
	};
	struct config_errors *errs = config_errors_new();
	struct known_read k;
	size_t bad;
	int ret = 0;

	k.data = *raw;
	if (config_read_files(path, &limits, known_cb, &k, errs) < 0)
		ret = -1;
	config_errors_log(errs);
	config_errors_destroy(&errs);
	imap_sharable_known_parse(str_c(&k.data), str_len(&k.data), names_r,
				  count_r, &bad);
	if (bad > 0)
		log_warning("imapd: %s: %zu malformed lines skipped", path,
			    bad);
	*raw = k.data;
	free(path);
	return ret;
}

static int known_write(const char *copy_dir, const struct str *data)
{
	char *path = xasprintf("%s/" IMAP_SHARABLE_KNOWN_FILE, copy_dir);
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = -1;

	if (fd >= 0) {
		const char *p = str_c(data);
		size_t left = str_len(data);

		while (left > 0) {
			ssize_t n = write(fd, p, left);
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
		/* durable: a hidden message must not come back after a
		 * crash */
		bool ok = left == 0 && fsync(fd) == 0;

		if (close(fd) != 0)
			ok = false;
		if (ok && rename(tmp, path) == 0)
			ret = 0;
		if (ret < 0)
			(void)unlink(tmp);
	}
	free(tmp);
	free(path);
	return ret;
}

/* Makes dir (mode 0700) if missing. */
static int mkdir_missing(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

/* Creates the copy's maildir and its parents (MAILDIR/shared-folders,
 * MAILDIR/shared-folders/NICK), and points its "shared" link at the
 * original. */
static int copy_create(const char *copy_dir, const char *orig_dir,
		       const char **error_r)
{
	static char errbuf[256];
	const char *slash = strrchr(copy_dir, '/');
	const char *error;

	if (!maildir_is_maildir(copy_dir)) {
		if (slash != NULL) {
			char *nick_dir = xstrndup(copy_dir,
						  (size_t)(slash - copy_dir));
			const char *s2 = strrchr(nick_dir, '/');
			char *top = s2 != NULL ?
				xstrndup(nick_dir, (size_t)(s2 - nick_dir)) :
				NULL;
			int r = (top == NULL || mkdir_missing(top) == 0) &&
				mkdir_missing(nick_dir) == 0 ? 0 : -1;

			free(top);
			free(nick_dir);
			if (r < 0) {
				str_copy(errbuf, strerror(errno),
					 sizeof(errbuf));
				*error_r = errbuf;
				return -1;
			}
		}
		if (mkdir_missing(copy_dir) < 0) {
			str_copy(errbuf, strerror(errno), sizeof(errbuf));
			*error_r = errbuf;
			return -1;
		}
		if (maildir_create(copy_dir, &error) < 0) {
			*error_r = error;
			return -1;
		}
	}
	char *link_path = xasprintf("%s/" IMAP_SHARABLE_LINK, copy_dir);
	char target[4096];
	ssize_t n = readlink(link_path, target, sizeof(target) - 1);

	if (n < 0 || (size_t)n != strlen(orig_dir) ||
	    memcmp(target, orig_dir, (size_t)n) != 0) {
		(void)unlink(link_path);
		if (symlink(orig_dir, link_path) < 0)
			log_warning("imapd: symlink(%s): %s", link_path,
				    strerror(errno));
	}
	free(link_path);
	return 0;
}

static const char *entry_sub(const struct maildir_entry *e)
{
	return e->in_new ? "new" : "cur";
}

/* Links the original message into the copy's new/ under its base name
 * (a symbolic link, as Courier: the space comes back as soon as the
 * message is removed from the sharable folder).  1 done, -1. */
static int link_in(const char *copy_dir, const char *orig_dir,
		   const struct maildir_entry *e)
{
	char *src = xasprintf("%s/%s/%s", orig_dir, entry_sub(e), e->name);
	char *dst = xasprintf("%s/new/%.*s", copy_dir, (int)e->base_len,
			      e->name);
	int ret = 1;

	if (symlink(src, dst) < 0 && errno != EEXIST) {
		log_warning("imapd: symlink(%s): %s", dst, strerror(errno));
		ret = -1;
	}
	free(src);
	free(dst);
	return ret;
}

/* Points the copy's link c back at the original o when the original
 * was renamed (its owner moved it to cur/ or changed its flags); the
 * link keeps its own name, so the account's flags stay. */
static void link_repair(const char *copy_dir, const char *orig_dir,
			const struct maildir_entry *c,
			const struct maildir_entry *o)
{
	char *path = xasprintf("%s/%s/%s", copy_dir, entry_sub(c), c->name);
	char *want = xasprintf("%s/%s/%s", orig_dir, entry_sub(o), o->name);
	char target[4096];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	/* a regular file (or a link already right) is left alone */
	if (n >= 0 && ((size_t)n != strlen(want) ||
		       memcmp(target, want, (size_t)n) != 0)) {
		char *tmp = xasprintf("%s/tmp/%.*s.%ld.relink", copy_dir,
				      (int)c->base_len, c->name,
				      (long)getpid());
		(void)unlink(tmp);
		if (symlink(want, tmp) < 0 || rename(tmp, path) < 0) {
			log_warning("imapd: relinking %s: %s", path,
				    strerror(errno));
			(void)unlink(tmp);
		}
		free(tmp);
	}
	free(want);
	free(path);
}

/* The mtimes of dir's new/ and cur/ (sec, nsec; 0 for one missing). */
static void dir_stamp(const char *dir, int64_t stamp_r[4])
{
	struct stat st;

	memset(stamp_r, 0, 4 * sizeof(*stamp_r));
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, i == 0 ? "new" : "cur");
		if (stat(p, &st) == 0) {
			stamp_r[i * 2] = st.st_mtim.tv_sec;
			stamp_r[i * 2 + 1] = st.st_mtim.tv_nsec;
		}
		free(p);
	}
}

/* How long (ns) until a listing of dir taken between the stamps before
 * and after can be trusted to hold every message: 0 when it can now
 * (nothing changed the directories meanwhile, and their last change is
 * old enough that another one in the same clock tick would have shown:
 * file times are coarse, a second where the file system keeps no
 * nanoseconds, a few ms elsewhere); -1 when they changed during it. */
static int64_t listing_wait(const int64_t before[4], const int64_t after[4])
{
	struct timespec now;
	int64_t wait = 0;

	if (memcmp(before, after, 4 * sizeof(*before)) != 0)
		return -1;
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return 1000000000LL;
	for (int i = 0; i < 2; i++) {
		int64_t window = before[i * 2 + 1] == 0 ? 1000000000LL :
							  50000000LL;
		int64_t age = ((int64_t)now.tv_sec - before[i * 2]) *
				      1000000000LL +
			      ((int64_t)now.tv_nsec - before[i * 2 + 1]);
		if (age < window && window - age > wait)
			wait = window - age;
	}
	return wait;
}

/* Lists the sharable folder dir into *list_r (free it).  Returns 1 when
 * the listing holds every message it has (its owner renaming files
 * meanwhile could hide some from readdir: the listing is then taken
 * again, after waiting out a recent change of up to 60 ms), 0 when it
 * may miss some, -1 with *error_r. */
static int orig_list(const char *dir, struct maildir_list **list_r,
		     const char **error_r)
{
	int64_t before[4], after[4];

	*list_r = NULL;
	for (int attempt = 0; attempt < 4; attempt++) {
		maildir_list_free(list_r);
		dir_stamp(dir, before);
		if (maildir_list(dir, list_r, error_r) < 0)
			return -1;
		dir_stamp(dir, after);
		int64_t wait = listing_wait(before, after);
		if (wait == 0)
			return 1;
		if (wait > 60000000LL)
			break;
		if (wait > 0) {
			struct timespec ts = { 0, (long)wait };
			(void)nanosleep(&ts, NULL);
		}
	}
	return 0;
}

static int lock_copy(const char *copy_dir)
{
	char *path = xasprintf("%s/" IMAP_SHARABLE_LOCK_FILE, copy_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	free(path);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

int imap_sharable_refresh(const char *copy_dir, const char *orig_dir,
			  bool writable, imap_sharable_present_func *present,
			  void *context, const char **error_r)
{
	struct maildir_list *orig = NULL, *copy = NULL;
	char **known = NULL;
	size_t known_count = 0;
	struct str out, old;
	int ret = -1, lock_fd;

	if (copy_create(copy_dir, orig_dir, error_r) < 0)
		return -1;
	lock_fd = lock_copy(copy_dir);
	if (lock_fd < 0) {
		*error_r = "cannot lock the copy of the shared folder";
		return -1;
	}
	str_init(&out, 4096);
	str_init(&old, 4096);
	/* a listing of the folder taken while its owner renamed files may
	 * miss some: then nothing is taken as gone from it this time */
	int stable = orig_list(orig_dir, &orig, error_r);
	bool orig_stable = stable > 0;
	if (stable < 0 || maildir_list(copy_dir, &copy, error_r) < 0)
		goto out;
	if (known_load(copy_dir, &known, &known_count, &old) < 0) {
		*error_r = "cannot read the copy's list of known messages";
		goto out;
	}
	/* vanished from the original: out of the copy too; renamed
	 * there: the link follows */
	for (size_t i = 0; i < copy->count; i++) {
		const struct maildir_entry *c = &copy->entries[i];
		char *base = xstrndup(c->name, c->base_len);
		const struct maildir_entry *o = maildir_list_find(orig, base);

		if (o != NULL) {
			link_repair(copy_dir, orig_dir, c, o);
		} else if (orig_stable) {
			char *p = xasprintf("%s/%s/%s", copy_dir, entry_sub(c),
					    c->name);
			if (unlink(p) < 0 && errno != ENOENT)
				log_warning("imapd: unlink(%s): %s", p,
					    strerror(errno));
			free(p);
		}
		free(base);
	}
	for (size_t i = 0; i < orig->count; i++) {
		const struct maildir_entry *o = &orig->entries[i];
		char *base = xstrndup(o->name, o->base_len);
		bool in_copy = maildir_list_find(copy, base) != NULL;
		int was_known = known_has(known, known_count, base,
					  o->base_len);
		bool hidden = false;

		/* not listed, but still in the copy's index: not expunged
		 * (a rename by another session hid it from readdir) */
		if (was_known == 1 && !in_copy && present != NULL &&
		    present(base, context))
			in_copy = true;

		if (was_known != 0 && !in_copy) {
			/* the account expunged it: from the original too
			 * when it may (the sticky bit of -s write lets
			 * the filesystem refuse others' messages); from
			 * a read-only folder it is only hidden, for good */
			hidden = true;
			if (writable && was_known == 1) {
				char *p = xasprintf("%s/%s/%s", orig_dir,
						    entry_sub(o), o->name);
				int r = unlink(p);
				int e = errno;

				if (r < 0 && e != ENOENT)
					log_warning("imapd: unlink(%s): %s", p,
						    strerror(e));
				free(p);
				if (r == 0 || e == ENOENT) {
					free(base);
					continue;
				}
			}
		} else if (was_known == 0 && !in_copy) {
			int r = link_in(copy_dir, orig_dir, o);
			if (r <= 0) {
				/* tried again on the next refresh */
				free(base);
				continue;
			}
		}
		str_append(&out, base);
		str_append(&out, hidden ? "\th\n" : "\n");
		free(base);
	}
	/* what the listing may have missed stays known (and hidden) */
	for (size_t i = 0; !orig_stable && i < known_count; i++) {
		size_t blen = strcspn(known[i], "\t");
		char *base = xstrndup(known[i], blen);

		if (maildir_list_find(orig, base) == NULL) {
			str_append(&out, known[i]);
			str_append_c(&out, '\n');
		}
		free(base);
	}
	/* unchanged (the usual SELECT of a quiet folder): no write */
	if ((str_len(&out) != str_len(&old) ||
	     memcmp(str_c(&out), str_c(&old), str_len(&out)) != 0) &&
	    known_write(copy_dir, &out) < 0) {
		*error_r = "cannot write the copy's list of known messages";
		goto out;
	}
	ret = orig_stable ? 1 : 0;
out:
	for (size_t i = 0; i < known_count; i++)
		free(known[i]);
	free(known);
	maildir_list_free(&orig);
	maildir_list_free(&copy);
	str_free(&out);
	str_free(&old);
	(void)close(lock_fd);
	return ret;
}
