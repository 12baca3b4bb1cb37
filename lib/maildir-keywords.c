/* maildir-keywords.c: Courier's courierimapkeywords/ storage: parse, load,
 * update and compact (see maildir-keywords.h for the format).
 * Slightly over 1,000 lines on purpose: the in-memory map, the parsers and
 * the on-disk update protocol are one format and are kept together. */
#include "config.h"
#include "maildir-keywords.h"
#include "maildir.h"
#include "mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KW_EPOCH_SECS 300
#define KW_STALE_SECS (15 * 60)
#define KW_TRIES 5

/* An entry of a chained hash table keyed by a string: the first member of
 * the table's entries (a keyword name is a bare link). */
struct kw_link {
	struct kw_link *next;
	char *key;
};

/* The interned keyword names, or the messages by base name. */
struct kw_table {
	struct kw_link **buckets;
	size_t nbuckets, count;
};

struct kw_msg {
	struct kw_link link;	/* first; key: the base name */
	const char **names;
	size_t count, alloc;
};

struct maildir_keywords {
	struct maildir_keywords_limits lim;
	struct kw_table names, msgs;
	size_t msg_with_kw;
};

static _Thread_local char kw_errbuf[512];

static void set_error(const char **error_r, const char *what,
		      const char *path, int err)
{
	snprintf(kw_errbuf, sizeof(kw_errbuf), "%s(%s): %s", what, path,
		 strerror(err));
	if (error_r != NULL)
		*error_r = kw_errbuf;
	errno = err;
}

static uint32_t hash_n(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static void kw_table_init(struct kw_table *t, size_t nbuckets)
{
	t->nbuckets = nbuckets;
	t->buckets = xcalloc(nbuckets, sizeof(*t->buckets));
	t->count = 0;
}

static struct kw_link *kw_table_find(const struct kw_table *t,
				     const char *key, size_t len)
{
	struct kw_link *l = t->buckets[hash_n(key, len) % t->nbuckets];

	for (; l != NULL; l = l->next) {
		if (strlen(l->key) == len && memcmp(l->key, key, len) == 0)
			return l;
	}
	return NULL;
}

/* Puts link (new, not in t) in with a copy of key as its key; grows the
 * table to four times the buckets when it holds twice as many entries. */
static void kw_table_add(struct kw_table *t, struct kw_link *link,
			 const char *key, size_t len)
{
	size_t idx;

	if (t->count >= t->nbuckets * 2) {
		size_t nb = t->nbuckets * 4;
		struct kw_link **b = xcalloc(nb, sizeof(*b)), *l, *next;

		for (size_t i = 0; i < t->nbuckets; i++) {
			for (l = t->buckets[i]; l != NULL; l = next) {
				idx = hash_n(l->key, strlen(l->key)) % nb;
				next = l->next;
				l->next = b[idx];
				b[idx] = l;
			}
		}
		free(t->buckets);
		t->buckets = b;
		t->nbuckets = nb;
	}
	link->key = xmemdup(key, len);
	idx = hash_n(key, len) % t->nbuckets;
	link->next = t->buckets[idx];
	t->buckets[idx] = link;
	t->count++;
}

/* Frees every entry (free_extra, if not NULL, frees what an entry holds
 * besides its key) and the buckets. */
static void kw_table_free(struct kw_table *t,
			  void (*free_extra)(struct kw_link *link))
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct kw_link *l = t->buckets[i], *next;

		for (; l != NULL; l = next) {
			next = l->next;
			if (free_extra != NULL)
				free_extra(l);
			free(l->key);
			free(l);
		}
	}
	free(t->buckets);
}

static void msg_free_names(struct kw_link *link)
{
	free(((struct kw_msg *)link)->names);
}

struct maildir_keywords *
maildir_keywords_new(const struct maildir_keywords_limits *limits)
{
	struct maildir_keywords *kw = xcalloc(1, sizeof(*kw));

	if (limits != NULL)
		kw->lim = *limits;
	if (kw->lim.max_line == 0)
		kw->lim.max_line = 1024;
	if (kw->lim.max_names == 0)
		kw->lim.max_names = 4096;
	if (kw->lim.max_per_message == 0)
		kw->lim.max_per_message = 256;
	if (kw->lim.max_messages == 0)
		kw->lim.max_messages = 1000000;
	if (kw->lim.max_file == 0)
		kw->lim.max_file = 64 * 1024 * 1024;
	kw_table_init(&kw->names, 64);
	kw_table_init(&kw->msgs, 256);
	return kw;
}

void maildir_keywords_destroy(struct maildir_keywords **_kw)
{
	struct maildir_keywords *kw = *_kw;

	if (kw == NULL)
		return;
	kw_table_free(&kw->names, NULL);
	kw_table_free(&kw->msgs, msg_free_names);
	free(kw);
	*_kw = NULL;
}

/* A name read from a Courier file: non-empty, bounded, no control bytes. */
static bool stored_name_ok(const struct maildir_keywords *kw, const char *s,
			   size_t len)
{
	if (len == 0 || len > kw->lim.max_line)
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	}
	return true;
}

bool maildir_keywords_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 1024)
		return false;
	for (; *name != '\0'; name++) {
		unsigned char c = (unsigned char)*name;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

/* Interns a name; NULL when the name table is full. */
static const char *intern(struct maildir_keywords *kw, const char *s,
			  size_t len)
{
	struct kw_link *n = kw_table_find(&kw->names, s, len);

	if (n != NULL)
		return n->key;
	if (kw->names.count >= kw->lim.max_names)
		return NULL;
	n = xcalloc(1, sizeof(*n));
	kw_table_add(&kw->names, n, s, len);
	return n->key;
}

static struct kw_msg *msg_find(const struct maildir_keywords *kw,
			       const char *base, size_t len)
{
	/* (the link is the entry's first member) */
	return (struct kw_msg *)kw_table_find(&kw->msgs, base, len);
}

static bool base_ok(const char *base, size_t len)
{
	if (len == 0 || len > MAILDIR_NAME_MAX || base[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (base[i] == '/' || base[i] == ':' ||
		    (unsigned char)base[i] < 0x20)
			return false;
	}
	return true;
}

/* Finds or creates the entry of base; NULL if invalid or over limits. */
static struct kw_msg *msg_get(struct maildir_keywords *kw, const char *base,
			      size_t len)
{
	struct kw_msg *m = msg_find(kw, base, len);

	if (m != NULL)
		return m;
	if (!base_ok(base, len) || kw->msgs.count >= kw->lim.max_messages)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	kw_table_add(&kw->msgs, &m->link, base, len);
	return m;
}

static void msg_clear(struct maildir_keywords *kw, struct kw_msg *m)
{
	if (m->count > 0)
		kw->msg_with_kw--;
	m->count = 0;
}

/* Adds an interned name to m unless present (case-insensitively).
 * Returns 1 added, 0 present, -1 over the per-message limit. */
static int msg_add(struct maildir_keywords *kw, struct kw_msg *m,
		   const char *name)
{
	for (size_t i = 0; i < m->count; i++) {
		if (strcasecmp(m->names[i], name) == 0)
			return 0;
	}
	if (m->count >= kw->lim.max_per_message)
		return -1;
	if (m->count == m->alloc) {
		m->alloc = m->alloc == 0 ? 4 : m->alloc * 2;
		m->names = xreallocarray(m->names, m->alloc, sizeof(*m->names));
	}
	if (m->count == 0)
		kw->msg_with_kw++;
	m->names[m->count++] = name;
	return 1;
}

static bool msg_remove(struct maildir_keywords *kw, struct kw_msg *m,
		       const char *name)
{
	for (size_t i = 0; i < m->count; i++) {
		if (strcasecmp(m->names[i], name) != 0)
			continue;
		memmove(&m->names[i], &m->names[i + 1],
			(m->count - i - 1) * sizeof(*m->names));
		m->count--;
		if (m->count == 0)
			kw->msg_with_kw--;
		return true;
	}
	return false;
}

/* Calls fn for every line of buf (without '\n'); stops when fn returns
 * false.  A final line without '\n' counts. */
struct line_iter {
	const char *buf;
	size_t len, pos;
};

static bool next_line(struct line_iter *it, const char **line_r,
		      size_t *len_r)
{
	const char *nl;

	if (it->pos >= it->len)
		return false;
	nl = memchr(it->buf + it->pos, '\n', it->len - it->pos);
	*line_r = it->buf + it->pos;
	*len_r = nl == NULL ? it->len - it->pos : (size_t)(nl - *line_r);
	it->pos += *len_r + 1;
	return true;
}

size_t maildir_keywords_parse_list(struct maildir_keywords *kw,
				   const char *buf, size_t len)
{
	struct line_iter it = { buf, len, 0 };
	const char **index = NULL;
	size_t nindex = 0, alloc = 0, skipped = 0, llen;
	const char *line;
	bool names = true;

	while (next_line(&it, &line, &llen)) {
		if (names) {
			const char *n = NULL;

			if (llen == 0) {
				names = false;
				continue;
			}
			if (nindex >= kw->lim.max_names) {
				skipped++;
				continue;
			}
			if (stored_name_ok(kw, line, llen))
				n = intern(kw, line, llen);
			if (n == NULL)
				skipped++;
			/* Keep the numbering even for a bad name. */
			if (nindex == alloc) {
				alloc = alloc == 0 ? 16 : alloc * 2;
				index = xreallocarray(index, alloc,
						      sizeof(*index));
			}
			index[nindex++] = n;
			continue;
		}
		const char *colon = memchr(line, ':', llen);
		struct kw_msg *m;
		size_t pos;

		if (colon == NULL ||
		    (m = msg_get(kw, line, (size_t)(colon - line))) == NULL) {
			skipped++;
			continue;
		}
		msg_clear(kw, m);
		pos = (size_t)(colon - line) + 1;
		while (pos < llen) {
			size_t v = 0, start;
			bool big = false;

			while (pos < llen && line[pos] == ' ')
				pos++;
			start = pos;
			while (pos < llen && line[pos] >= '0' &&
			       line[pos] <= '9') {
				if (v > SIZE_MAX / 10 - 10)
					big = true;
				else
					v = v * 10 + (size_t)(line[pos] - '0');
				pos++;
			}
			if (pos == start) {
				if (pos < llen) {
					skipped++; /* junk in the list */
					break;
				}
				continue;
			}
			if (big || v >= nindex || index[v] == NULL ||
			    msg_add(kw, m, index[v]) < 0)
				skipped++;
		}
	}
	free(index);
	return skipped;
}

size_t maildir_keywords_parse_update(struct maildir_keywords *kw,
				     const char *base, const char *buf,
				     size_t len)
{
	struct line_iter it = { buf, len, 0 };
	size_t skipped = 0, llen;
	struct kw_msg *m;
	const char *line, *n;

	m = msg_get(kw, base, maildir_name_base_len(base));
	if (m == NULL)
		return 1;
	msg_clear(kw, m);
	while (next_line(&it, &line, &llen) && llen > 0) {
		n = stored_name_ok(kw, line, llen) ? intern(kw, line, llen)
						   : NULL;
		if (n == NULL || msg_add(kw, m, n) < 0)
			skipped++;
	}
	return skipped;
}

const char *const *maildir_keywords_get(const struct maildir_keywords *kw,
					const char *name, size_t *count_r)
{
	struct kw_msg *m = msg_find(kw, name, maildir_name_base_len(name));

	if (m == NULL || m->count == 0) {
		*count_r = 0;
		return NULL;
	}
	*count_r = m->count;
	return m->names;
}

size_t maildir_keywords_message_count(const struct maildir_keywords *kw)
{
	return kw->msg_with_kw;
}

static int cstr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **maildir_keywords_messages(const struct maildir_keywords *kw,
				       size_t *count_r)
{
	const char **v = xcalloc(kw->msg_with_kw + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < kw->msgs.nbuckets; i++) {
		for (struct kw_link *l = kw->msgs.buckets[i]; l != NULL;
		     l = l->next) {
			if (((struct kw_msg *)l)->count > 0)
				v[n++] = l->key;
		}
	}
	qsort(v, n, sizeof(*v), cstr_cmp);
	*count_r = n;
	return v;
}

int maildir_keywords_set(struct maildir_keywords *kw, const char *name,
			 const char *keyword, bool set)
{
	size_t blen = maildir_name_base_len(name);
	struct kw_msg *m;
	const char *n;
	int ret;

	if (!maildir_keywords_name_valid(keyword) ||
	    strlen(keyword) > kw->lim.max_line)
		return -1;
	if (!set) {
		m = msg_find(kw, name, blen);
		return m != NULL && msg_remove(kw, m, keyword) ? 1 : 0;
	}
	m = msg_get(kw, name, blen);
	n = intern(kw, keyword, strlen(keyword));
	if (m == NULL || n == NULL)
		return -1;
	ret = msg_add(kw, m, n);
	return ret;
}

int maildir_keywords_replace(struct maildir_keywords *kw, const char *name,
			     const char *const *names, size_t count)
{
	struct kw_msg *m = msg_get(kw, name, maildir_name_base_len(name));
	const char *n;

	if (m == NULL)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (!maildir_keywords_name_valid(names[i]))
			return -1;
	}
	msg_clear(kw, m);
	for (size_t i = 0; i < count; i++) {
		n = intern(kw, names[i], strlen(names[i]));
		if (n == NULL || msg_add(kw, m, n) < 0)
			return -1;
	}
	return 0;
}

size_t maildir_keywords_export(const struct maildir_keywords *kw,
			       struct str *out)
{
	size_t count, i, j, k, nused = 0;
	const char **msgs = maildir_keywords_messages(kw, &count);
	const char **used = NULL;

	if (count == 0) {
		free(msgs);
		return 0;
	}
	/* Number the names in first-use order over the sorted messages. */
	used = xcalloc(kw->names.count + 1, sizeof(*used));
	for (i = 0; i < count; i++) {
		struct kw_msg *m = msg_find(kw, msgs[i], strlen(msgs[i]));

		for (j = 0; j < m->count; j++) {
			for (k = 0; k < nused && used[k] != m->names[j]; k++)
				;
			if (k == nused)
				used[nused++] = m->names[j];
		}
	}
	for (k = 0; k < nused; k++) {
		str_append(out, used[k]);
		str_append_c(out, '\n');
	}
	str_append_c(out, '\n');
	for (i = 0; i < count; i++) {
		struct kw_msg *m = msg_find(kw, msgs[i], strlen(msgs[i]));

		str_append(out, m->link.key);
		str_append_c(out, ':');
		for (j = 0; j < m->count; j++) {
			for (k = 0; used[k] != m->names[j]; k++)
				;
			str_printfa(out, "%s%zu", j == 0 ? "" : " ", k);
		}
		str_append_c(out, '\n');
	}
	free(used);
	free(msgs);
	return count;
}

/* ---- on disk ---- */

/* Reads at most max bytes of path into out.  Returns 0, -1 (errno). */
static int read_file(const char *path, size_t max, struct str *out)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	while (str_len(out) < max) {
		size_t want = max - str_len(out);

		n = read(fd, buf, want < sizeof(buf) ? want : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		str_append_n(out, buf, (size_t)n);
	}
	close(fd);
	return 0;
}

struct kw_update {
	char *file;	/* name in courierimapkeywords/ */
	const char *base;
	unsigned long long epoch;
	bool bare;
	ino_t ino;
};

static int update_cmp(const void *a, const void *b)
{
	const struct kw_update *ua = a, *ub = b;
	int c = strcmp(ua->base, ub->base);

	if (c != 0)
		return c;
	if (ua->epoch != ub->epoch)
		return ua->epoch > ub->epoch ? -1 : 1;
	return (int)ub->bare - (int)ua->bare;
}

struct kw_scan {
	struct kw_update *u;
	size_t count;
};

static void scan_free(struct kw_scan *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->u[i].file);
	free(s->u);
	s->u = NULL;
	s->count = 0;
}

/* Lists the update files of kwdir, sorted by base, best first. */
static int scan_updates(const char *kwdir, const struct maildir_keywords *kw,
			struct kw_scan *s)
{
	unsigned long long now_epoch = (unsigned long long)time(NULL) /
				       KW_EPOCH_SECS;
	size_t alloc = 0;
	struct dirent *de;
	DIR *dp;

	s->u = NULL;
	s->count = 0;
	dp = opendir(kwdir);
	if (dp == NULL)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		const char *n, *base;
		unsigned long long epoch = 0;
		bool bare;

		errno = 0;
		de = readdir(dp);
		if (de == NULL) {
			if (errno != 0) {
				/* a listing cut short would leave updates
				 * unseen: report it rather than load less */
				int err = errno;

				closedir(dp);
				scan_free(s);
				errno = err;
				return -1;
			}
			break;
		}
		n = de->d_name;
		bare = n[0] != '.';

		if (n[0] == ':' || str_begins_with(n, ".tmp.") ||
		    strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (bare) {
			base = n;
			epoch = now_epoch + 1;
		} else {
			const char *p = n + 1;

			while (*p >= '0' && *p <= '9' && p - n < 20)
				epoch = epoch * 10 + (unsigned)(*p++ - '0');
			if (p == n + 1 || *p != '.')
				continue;
			base = p + 1;
		}
		if (!base_ok(base, strlen(base)) ||
		    s->count >= kw->lim.max_messages * 4)
			continue;
		if (s->count == alloc) {
			alloc = alloc == 0 ? 32 : alloc * 2;
			s->u = xreallocarray(s->u, alloc, sizeof(*s->u));
		}
		s->u[s->count].file = xstrdup(n);
		s->u[s->count].base = s->u[s->count].file +
				      (size_t)(base - n);
		s->u[s->count].epoch = epoch;
		s->u[s->count].bare = bare;
		s->u[s->count].ino = de->d_ino;
		s->count++;
	}
	closedir(dp);
	if (s->count > 0)
		qsort(s->u, s->count, sizeof(*s->u), update_cmp);
	return 0;
}

/* One attempt at loading; 1 = a file vanished under us, try again. */
static int load_once(const char *kwdir, struct maildir_keywords *kw,
		     struct kw_scan *scan, const char **error_r)
{
	char *path = xasprintf("%s/:list", kwdir);
	struct str buf;
	size_t i;

	str_init(&buf, 1024);
	if (read_file(path, kw->lim.max_file, &buf) < 0 && errno != ENOENT) {
		set_error(error_r, "open", path, errno);
		free(path);
		str_free(&buf);
		return -1;
	}
	free(path);
	(void)maildir_keywords_parse_list(kw, str_c(&buf), str_len(&buf));
	if (scan_updates(kwdir, kw, scan) < 0) {
		set_error(error_r, "read folder", kwdir, errno);
		str_free(&buf);
		return -1;
	}
	for (i = 0; i < scan->count; i++) {
		if (i > 0 && strcmp(scan->u[i].base, scan->u[i - 1].base) == 0)
			continue; /* superseded by the one before */
		path = xasprintf("%s/%s", kwdir, scan->u[i].file);
		str_clear(&buf);
		if (read_file(path, kw->lim.max_file, &buf) < 0) {
			free(path);
			if (errno == ENOENT) {
				str_free(&buf);
				return 1;
			}
			continue;
		}
		free(path);
		(void)maildir_keywords_parse_update(kw, scan->u[i].base,
						    str_c(&buf), str_len(&buf));
	}
	str_free(&buf);
	return 0;
}

static int load_scan(const char *dir,
		     const struct maildir_keywords_limits *limits,
		     struct maildir_keywords **kw_r, struct kw_scan *scan,
		     const char **error_r)
{
	char *kwdir = xasprintf("%s/" MAILDIR_KEYWORDS_DIR, dir);
	int ret = 1;

	for (int tries = 0; tries < KW_TRIES && ret == 1; tries++) {
		*kw_r = maildir_keywords_new(limits);
		ret = load_once(kwdir, *kw_r, scan, error_r);
		if (ret != 0) {
			maildir_keywords_destroy(kw_r);
			scan_free(scan);
		}
	}
	free(kwdir);
	if (ret == 1) {
		set_error(error_r, "load", dir, EAGAIN);
		return -1;
	}
	return ret;
}

int maildir_keywords_load(const char *dir,
			  const struct maildir_keywords_limits *limits,
			  struct maildir_keywords **kw_r,
			  const char **error_r)
{
	struct kw_scan scan;
	int ret = load_scan(dir, limits, kw_r, &scan, error_r);

	if (ret == 0)
		scan_free(&scan);
	return ret;
}

static int fsync_close(int fd)
{
	int ret = fsync(fd);
	int err = errno;

	if (close(fd) < 0 && ret == 0)
		return -1;
	errno = err;
	return ret;
}

/* Writes data to dir/tmp/<unique> and returns that path (caller frees). */
static char *write_tmp(const char *dir, const char *data, size_t len,
		       const char **error_r)
{
	char *unique = maildir_unique_name(NULL);
	char *path = xasprintf("%s/tmp/%s", dir, unique);
	int fd;
	ssize_t n;
	size_t done = 0;

	free(unique);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_error(error_r, "open", path, errno);
		free(path);
		return NULL;
	}
	while (done < len) {
		n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_error(error_r, "write", path, errno);
			close(fd);
			(void)unlink(path);
			free(path);
			return NULL;
		}
		done += (size_t)n;
	}
	if (fsync_close(fd) < 0) {
		set_error(error_r, "fsync", path, errno);
		(void)unlink(path);
		free(path);
		return NULL;
	}
	return path;
}

static int ensure_kwdir(const char *kwdir, const char **error_r)
{
	struct stat st;

	if (mkdir(kwdir, 0700) == 0 || errno == EEXIST) {
		if (stat(kwdir, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
	}
	set_error(error_r, "mkdir", kwdir, errno);
	return -1;
}

/* Publishes the keyword list of message base as an update file. */
static int publish(const char *dir, const char *kwdir, const char *base,
		   const struct str *content, const char **error_r)
{
	char *tmp, *scratch, *unique, *target, *aside;
	int ret;

	tmp = write_tmp(dir, str_c(content), str_len(content), error_r);
	if (tmp == NULL)
		return -1;
	unique = maildir_unique_name(NULL);
	scratch = xasprintf("%s/.tmp.%lld.%s", kwdir, (long long)time(NULL),
			    unique);
	free(unique);
	if (rename(tmp, scratch) < 0) {
		set_error(error_r, "rename", tmp, errno);
		(void)unlink(tmp);
		free(tmp);
		free(scratch);
		return -1;
	}
	free(tmp);
	target = xasprintf("%s/%s", kwdir, base);
	if (link(scratch, target) == 0) {
		ret = 0;
	} else if (errno == EEXIST) {
		/* Another update is pending: give it its epoch name, so
		 * ours can be the newest, and let the caller redo. */
		aside = xasprintf("%s/.%lld.%s", kwdir,
				  (long long)(time(NULL) / KW_EPOCH_SECS + 1),
				  base);
		if (rename(target, aside) < 0 && errno != ENOENT) {
			set_error(error_r, "rename", target, errno);
			ret = -1;
		} else {
			ret = 1;
		}
		free(aside);
	} else {
		set_error(error_r, "link", target, errno);
		ret = -1;
	}
	(void)unlink(scratch);
	free(scratch);
	free(target);
	return ret;
}

typedef int kw_change_fn(struct maildir_keywords *kw, const char *base,
			 void *ctx);

static int change(const char *dir, const char *name, kw_change_fn *fn,
		  void *ctx, const char **error_r)
{
	size_t blen = maildir_name_base_len(name), count, i;
	char *base = xstrndup(name, blen), *kwdir;
	struct maildir_keywords *kw;
	const char *const *names;
	struct str content;
	int ret = -1, r;

	if (!base_ok(base, blen)) {
		set_error(error_r, "keywords", name, EINVAL);
		free(base);
		return -1;
	}
	kwdir = xasprintf("%s/" MAILDIR_KEYWORDS_DIR, dir);
	if (ensure_kwdir(kwdir, error_r) < 0)
		goto out;
	for (int tries = 0; tries < KW_TRIES; tries++) {
		if (maildir_keywords_load(dir, NULL, &kw, error_r) < 0)
			goto out;
		r = fn(kw, base, ctx);
		if (r <= 0) {
			if (r < 0)
				set_error(error_r, "keywords", name, EINVAL);
			maildir_keywords_destroy(&kw);
			ret = r;
			goto out;
		}
		names = maildir_keywords_get(kw, base, &count);
		str_init(&content, 64);
		for (i = 0; i < count; i++)
			str_printfa(&content, "%s\n", names[i]);
		maildir_keywords_destroy(&kw);
		r = publish(dir, kwdir, base, &content, error_r);
		str_free(&content);
		if (r <= 0) {
			ret = r < 0 ? -1 : 1;
			goto out;
		}
	}
	set_error(error_r, "keywords", name, EAGAIN);
out:
	free(kwdir);
	free(base);
	return ret;
}

struct set_ctx {
	const char *keyword;
	bool set;
};

static int change_one(struct maildir_keywords *kw, const char *base,
		      void *ctx)
{
	struct set_ctx *c = ctx;

	return maildir_keywords_set(kw, base, c->keyword, c->set);
}

int maildir_keywords_update(const char *dir, const char *name,
			    const char *keyword, bool set,
			    const char **error_r)
{
	struct set_ctx c = { keyword, set };

	if (!maildir_keywords_name_valid(keyword)) {
		set_error(error_r, "keywords", keyword, EINVAL);
		return -1;
	}
	return change(dir, name, change_one, &c, error_r);
}

struct replace_ctx {
	const char *const *names;
	size_t count;
};

static int change_all(struct maildir_keywords *kw, const char *base,
		      void *ctx)
{
	struct replace_ctx *c = ctx;
	size_t count, i;
	const char *const *old = maildir_keywords_get(kw, base, &count);
	bool same = count == c->count;

	for (i = 0; same && i < count; i++)
		same = strcmp(old[i], c->names[i]) == 0;
	if (same)
		return 0;
	return maildir_keywords_replace(kw, base, c->names, c->count) < 0 ? -1
									   : 1;
}

int maildir_keywords_store(const char *dir, const char *name,
			   const char *const *names, size_t count,
			   const char **error_r)
{
	struct replace_ctx c = { names, count };

	return change(dir, name, change_all, &c, error_r);
}

int maildir_keywords_compact(const char *dir, const char **error_r)
{
	char *kwdir = xasprintf("%s/" MAILDIR_KEYWORDS_DIR, dir), *path, *tmp;
	struct maildir_keywords *kw, *live;
	struct maildir_list *list;
	struct kw_scan scan;
	struct stat st;
	struct str out;
	const char **msgs;
	size_t count, i;
	int ret = -1;

	if (load_scan(dir, NULL, &kw, &scan, error_r) < 0) {
		free(kwdir);
		return -1;
	}
	if (maildir_list(dir, &list, error_r) < 0)
		goto out;
	/* Keep only messages that still exist. */
	live = maildir_keywords_new(NULL);
	msgs = maildir_keywords_messages(kw, &count);
	for (i = 0; i < count; i++) {
		size_t n;
		const char *const *names;

		if (maildir_list_find(list, msgs[i]) == NULL)
			continue;
		names = maildir_keywords_get(kw, msgs[i], &n);
		(void)maildir_keywords_replace(live, msgs[i], names, n);
	}
	free(msgs);
	str_init(&out, 4096);
	path = xasprintf("%s/:list", kwdir);
	if (maildir_keywords_export(live, &out) == 0) {
		if (unlink(path) < 0 && errno != ENOENT) {
			set_error(error_r, "unlink", path, errno);
			goto out2;
		}
	} else {
		tmp = write_tmp(dir, str_c(&out), str_len(&out), error_r);
		if (tmp == NULL)
			goto out2;
		if (rename(tmp, path) < 0) {
			set_error(error_r, "rename", tmp, errno);
			(void)unlink(tmp);
			free(tmp);
			goto out2;
		}
		free(tmp);
	}
	/* Everything scanned is folded in now; remove it unless it was
	 * replaced meanwhile.  Updates for unknown messages are kept for
	 * a while (the message may be on its way) as Courier does. */
	for (i = 0; i < scan.count; i++) {
		char *f = xasprintf("%s/%s", kwdir, scan.u[i].file);

		if (lstat(f, &st) == 0 && st.st_ino == scan.u[i].ino &&
		    (maildir_list_find(list, scan.u[i].base) != NULL ||
		     st.st_mtime + KW_STALE_SECS < time(NULL)))
			(void)unlink(f);
		free(f);
	}
	ret = 0;
out2:
	free(path);
	str_free(&out);
	maildir_keywords_destroy(&live);
	maildir_list_free(&list);
out:
	maildir_keywords_destroy(&kw);
	scan_free(&scan);
	free(kwdir);
	return ret;
}
