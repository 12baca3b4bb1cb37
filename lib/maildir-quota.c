/* maildir-quota.c: Maildir++ "maildirsize" quota: parse, add, recalculate. */
#include "config.h"
#include "maildir-quota.h"
#include "maildir.h"
#include "mem.h"
#include "str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Largest value we accept in a quota or delta line. */
#define QUOTA_NUM_MAX ((int64_t)1 << 60)
/* How often a recalculation is repeated when the maildir changes. */
#define QUOTA_RECALC_TRIES 3

struct maildir_quota {
	char *root;
	char *path;	  /* root/maildirsize */
	int fd;		  /* open O_APPEND, or -1 */
	bool configured;  /* spec came from the caller */
	struct maildir_quota_usage usage;
	time_t mtime;
};

static _Thread_local char quota_errbuf[512];

static void set_error(const char **error_r, const char *what,
		      const char *path, int err)
{
	snprintf(quota_errbuf, sizeof(quota_errbuf), "%s(%s): %s", what,
		 path, strerror(err));
	if (error_r != NULL)
		*error_r = quota_errbuf;
	errno = err;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parses [-]digits at *pos, bounded by QUOTA_NUM_MAX. */
static bool parse_num(const char *s, size_t len, size_t *pos, bool allow_neg,
		      int64_t *value_r)
{
	bool neg = false;
	int64_t v = 0;
	size_t start;

	if (allow_neg && *pos < len && s[*pos] == '-') {
		neg = true;
		(*pos)++;
	}
	start = *pos;
	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		if (v > QUOTA_NUM_MAX / 10)
			return false;
		v = v * 10 + (s[*pos] - '0');
		(*pos)++;
	}
	if (*pos == start)
		return false;
	*value_r = neg ? -v : v;
	return true;
}

int maildir_quota_spec_parse(const char *line, size_t len,
			     struct maildir_quota_spec *spec_r)
{
	size_t pos = 0;
	int64_t v;
	int ret = 0;

	spec_r->bytes = 0;
	spec_r->count = 0;
	while (pos < len && is_space(line[pos]))
		pos++;
	while (pos < len) {
		if (!parse_num(line, len, &pos, false, &v) || pos == len) {
			ret = -1;
			break;
		}
		if (line[pos] == 'S')
			spec_r->bytes = (uint64_t)v;
		else if (line[pos] == 'C')
			spec_r->count = (uint64_t)v;
		else
			ret = -1;
		pos++;
		while (pos < len && is_space(line[pos]))
			pos++;
		if (pos < len && line[pos] != ',') {
			ret = -1;
			break;
		}
		pos++;
	}
	return ret;
}

/* One delta line: ws* [-]digits ws+ [-]digits ws*. */
static bool parse_delta(const char *s, size_t len, int64_t *bytes_r,
			int64_t *count_r)
{
	size_t pos = 0, mid;

	while (pos < len && is_space(s[pos]))
		pos++;
	if (!parse_num(s, len, &pos, true, bytes_r))
		return false;
	mid = pos;
	while (pos < len && is_space(s[pos]))
		pos++;
	if (pos == mid || !parse_num(s, len, &pos, true, count_r))
		return false;
	while (pos < len && is_space(s[pos]))
		pos++;
	return pos == len;
}

void maildir_quota_parse(const char *buf, size_t len,
			 struct maildir_quota_usage *u)
{
	size_t pos = 0, end;
	int64_t b, c;
	bool first = true;

	memset(u, 0, sizeof(*u));
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		end = nl == NULL ? len : (size_t)(nl - buf);
		if (first) {
			if (maildir_quota_spec_parse(buf + pos, end - pos,
						     &u->spec) < 0)
				u->needs_recalc = true;
			first = false;
		} else if (end > pos || nl != NULL) {
			u->lines++;
			if (parse_delta(buf + pos, end - pos, &b, &c)) {
				u->bytes += b;
				u->count += c;
				if (u->bytes > QUOTA_NUM_MAX ||
				    u->bytes < -QUOTA_NUM_MAX ||
				    u->count > QUOTA_NUM_MAX ||
				    u->count < -QUOTA_NUM_MAX) {
					u->needs_recalc = true;
					u->bytes = u->count = 0;
				}
			} else {
				u->needs_recalc = true;
			}
		}
		pos = end + 1;
	}
	if (first || u->bytes < 0 || u->count < 0)
		u->needs_recalc = true;
}

/* ---- scanning ---- */

static bool count_file(const char *name)
{
	const char *flags = maildir_name_flags(name);

	/* Courier does not count messages marked deleted. */
	return strchr(flags, 'T') == NULL;
}

/* Adds up dir's messages; -1 (error_r set) when the listing could not
 * be read to its end: a count cut short would let the account past its
 * quota. */
static int scan_sub(const char *dir, int64_t *bytes, int64_t *count,
		    time_t *maxtime, const char **error_r)
{
	struct dirent *de;
	struct stat st;
	uint64_t size;
	char *path;
	DIR *dp;

	if (stat(dir, &st) < 0)
		return 0;
	if (st.st_mtime > *maxtime)
		*maxtime = st.st_mtime;
	dp = opendir(dir);
	if (dp == NULL)
		return 0;
	for (;;) {
		errno = 0;
		de = readdir(dp);
		if (de == NULL) {
			if (errno != 0) {
				set_error(error_r, "readdir", dir, errno);
				closedir(dp);
				return -1;
			}
			break;
		}
		if (de->d_name[0] == '.' || !count_file(de->d_name))
			continue;
		if (maildir_name_get_size(de->d_name, 'S', &size) != 1) {
			path = xasprintf("%s/%s", dir, de->d_name);
			if (stat(path, &st) < 0) {
				free(path);
				continue; /* removed meanwhile */
			}
			free(path);
			size = (uint64_t)st.st_size;
		}
		*bytes += (int64_t)size;
		(*count)++;
	}
	closedir(dp);
	return 0;
}

static int scan_maildir(const char *dir, int64_t *bytes, int64_t *count,
			time_t *maxtime, const char **error_r)
{
	char *p = xasprintf("%s/new", dir);
	int ret = scan_sub(p, bytes, count, maxtime, error_r);

	free(p);
	if (ret < 0)
		return -1;
	p = xasprintf("%s/cur", dir);
	ret = scan_sub(p, bytes, count, maxtime, error_r);
	free(p);
	return ret;
}

static bool folder_counts(const char *root, const char *name)
{
	struct stat st;
	char *path;
	bool ok;

	if (name[0] != '.' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strcmp(name, ".Trash") == 0)
		return false;
	path = xasprintf("%s/%s", root, name);
	ok = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
	free(path);
	return ok;
}

static int scan_root(const char *root, int64_t *bytes_r, int64_t *count_r,
		     time_t *maxtime_r, const char **error_r)
{
	struct dirent *de;
	char *path;
	DIR *dp;
	int ret;

	*bytes_r = *count_r = 0;
	*maxtime_r = 0;
	dp = opendir(root);
	if (dp == NULL) {
		set_error(error_r, "opendir", root, errno);
		return -1;
	}
	ret = scan_maildir(root, bytes_r, count_r, maxtime_r, error_r);
	while (ret == 0) {
		errno = 0;
		de = readdir(dp);
		if (de == NULL) {
			if (errno != 0) {
				set_error(error_r, "readdir", root, errno);
				ret = -1;
			}
			break;
		}
		if (!folder_counts(root, de->d_name))
			continue;
		path = xasprintf("%s/%s", root, de->d_name);
		ret = scan_maildir(path, bytes_r, count_r, maxtime_r, error_r);
		free(path);
	}
	closedir(dp);
	return ret;
}

int maildir_quota_scan(const char *root, int64_t *bytes_r, int64_t *count_r,
		       const char **error_r)
{
	time_t t;

	return scan_root(root, bytes_r, count_r, &t, error_r);
}

static time_t dirs_mtime(const char *root)
{
	static const char *const subs[] = { "new", "cur" };
	struct dirent *de;
	struct stat st;
	time_t t = 0;
	char *path;
	DIR *dp;

	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		path = xasprintf("%s/%s", root, subs[i]);
		if (stat(path, &st) == 0 && st.st_mtime > t)
			t = st.st_mtime;
		free(path);
	}
	dp = opendir(root);
	if (dp == NULL)
		return t;
	while ((de = readdir(dp)) != NULL) {
		if (!folder_counts(root, de->d_name))
			continue;
		for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
			path = xasprintf("%s/%s/%s", root, de->d_name,
					 subs[i]);
			if (stat(path, &st) == 0 && st.st_mtime > t)
				t = st.st_mtime;
			free(path);
		}
	}
	closedir(dp);
	return t;
}

/* ---- the file ---- */

static void format_spec(struct str *s, const struct maildir_quota_spec *spec)
{
	if (spec->bytes > 0)
		str_printfa(s, "%lluS", (unsigned long long)spec->bytes);
	if (spec->count > 0)
		str_printfa(s, "%s%lluC", spec->bytes > 0 ? "," : "",
			    (unsigned long long)spec->count);
	str_append_c(s, '\n');
}

static void format_delta(struct str *s, int64_t bytes, int64_t count)
{
	str_printfa(s, "%12lld %12lld\n", (long long)bytes, (long long)count);
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int maildir_quota_recalculate(struct maildir_quota *q, const char **error_r)
{
	char host[256], *tmp = NULL;
	int64_t bytes, count;
	time_t before;
	struct str s;
	int fd = -1, tries;

	if (gethostname(host, sizeof(host)) < 0)
		str_copy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (tries = 0; tries < QUOTA_RECALC_TRIES; tries++) {
		if (scan_root(q->root, &bytes, &count, &before, error_r) < 0)
			return -1;
		free(tmp);
		tmp = xasprintf("%s/tmp/%lld.%ld_NeWmAiLdIrSiZe.%s", q->root,
				(long long)time(NULL), (long)getpid(), host);
		fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND |
				       O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			set_error(error_r, "open", tmp, errno);
			free(tmp);
			return -1;
		}
		str_init(&s, 64);
		format_spec(&s, &q->usage.spec);
		format_delta(&s, bytes, count);
		if (write_all(fd, str_c(&s), str_len(&s)) < 0 ||
		    rename(tmp, q->path) < 0) {
			set_error(error_r, "write", tmp, errno);
			str_free(&s);
			close(fd);
			(void)unlink(tmp);
			free(tmp);
			return -1;
		}
		str_free(&s);
		if (q->fd >= 0)
			close(q->fd);
		q->fd = fd;
		q->usage.bytes = bytes;
		q->usage.count = count;
		q->usage.lines = 1;
		q->usage.needs_recalc = false;
		q->mtime = time(NULL);
		if (dirs_mtime(q->root) == before)
			break;
	}
	if (tries == QUOTA_RECALC_TRIES) {
		/* Something keeps changing: let the next reader redo it. */
		(void)unlink(q->path);
		q->usage.needs_recalc = true;
	}
	free(tmp);
	return 0;
}

static int quota_read(struct maildir_quota *q, const char *spec,
		      const char **error_r)
{
	char buf[MAILDIR_QUOTA_MAX_FILE];
	struct maildir_quota_spec conf;
	size_t len = 0;
	struct stat st;
	ssize_t n;

	q->fd = open(q->path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (q->fd < 0 && errno != ENOENT) {
		set_error(error_r, "open", q->path, errno);
		return -1;
	}
	if (q->fd >= 0) {
		while (len < sizeof(buf)) {
			n = read(q->fd, buf + len, sizeof(buf) - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				set_error(error_r, "read", q->path, errno);
				return -1;
			}
			if (n == 0)
				break;
			len += (size_t)n;
		}
		if (fstat(q->fd, &st) < 0) {
			set_error(error_r, "fstat", q->path, errno);
			return -1;
		}
		q->mtime = st.st_mtime;
		if (len == sizeof(buf)) {
			/* Too long: keep its quota line, recount the rest. */
			const char *nl = memchr(buf, '\n', len);

			maildir_quota_parse(buf, nl == NULL ? 0 : (size_t)(nl - buf),
					    &q->usage);
			q->usage.needs_recalc = true;
		} else {
			maildir_quota_parse(buf, len, &q->usage);
		}
	}
	if (spec != NULL) {
		(void)maildir_quota_spec_parse(spec, strlen(spec), &conf);
		if (conf.bytes > 0 || conf.count > 0) {
			q->configured = true;
			if (q->fd < 0 || conf.bytes != q->usage.spec.bytes ||
			    conf.count != q->usage.spec.count) {
				q->usage.spec = conf;
				q->usage.needs_recalc = true;
			}
		}
	}
	if (q->fd < 0 && !q->configured)
		return 0;
	if (q->usage.spec.bytes == 0 && q->usage.spec.count == 0)
		return 0; /* a file without a usable quota line */
	return 1;
}

int maildir_quota_open(const char *dir, const char *spec,
		       struct maildir_quota **q_r, const char **error_r)
{
	struct maildir_quota *q;
	struct stat st;
	char *marker = xasprintf("%s/maildirfolder", dir);
	int ret;

	q = xcalloc(1, sizeof(*q));
	q->fd = -1;
	if (stat(marker, &st) == 0)
		q->root = xasprintf("%s/..", dir);
	else
		q->root = xstrdup(dir);
	free(marker);
	q->path = xasprintf("%s/maildirsize", q->root);
	ret = quota_read(q, spec, error_r);
	if (ret == 1 && q->usage.needs_recalc &&
	    maildir_quota_recalculate(q, error_r) < 0)
		ret = -1;
	if (ret <= 0) {
		maildir_quota_close(&q);
		*q_r = NULL;
		return ret;
	}
	*q_r = q;
	return 1;
}

void maildir_quota_close(struct maildir_quota **_q)
{
	struct maildir_quota *q = *_q;

	if (q == NULL)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->root);
	free(q->path);
	free(q);
	*_q = NULL;
}

const struct maildir_quota_spec *
maildir_quota_get_spec(const struct maildir_quota *q)
{
	return &q->usage.spec;
}

int maildir_quota_get(struct maildir_quota *q, int64_t *bytes_r,
		      int64_t *count_r, const char **error_r)
{
	if (q->usage.needs_recalc && maildir_quota_recalculate(q, error_r) < 0)
		return -1;
	*bytes_r = q->usage.bytes;
	*count_r = q->usage.count;
	return 0;
}

static bool over_quota(const struct maildir_quota *q, int64_t bytes,
		       int64_t count)
{
	const struct maildir_quota_spec *s = &q->usage.spec;

	return (s->bytes > 0 && q->usage.bytes + bytes > (int64_t)s->bytes) ||
	       (s->count > 0 && q->usage.count + count > (int64_t)s->count);
}

int maildir_quota_check(struct maildir_quota *q, int64_t bytes, int64_t count,
			const char **error_r)
{
	if (!q->usage.needs_recalc && !over_quota(q, bytes, count))
		return 1;
	/* Over quota on numbers that may be stale: a fresh one-line file
	 * is believed, anything else is recounted first. */
	if (!q->usage.needs_recalc && q->usage.lines == 1 &&
	    time(NULL) < q->mtime + MAILDIR_QUOTA_STALE_SECS)
		return 0;
	if (maildir_quota_recalculate(q, error_r) < 0)
		return -1;
	return over_quota(q, bytes, count) ? 0 : 1;
}

int maildir_quota_add(struct maildir_quota *q, int64_t bytes, int64_t count,
		      const char **error_r)
{
	struct str s;
	int ret = 0;

	if (q->fd < 0)
		return 0;
	str_init(&s, 32);
	format_delta(&s, bytes, count);
	/* One write() with O_APPEND: concurrent appenders never interleave. */
	if (write_all(q->fd, str_c(&s), str_len(&s)) < 0) {
		set_error(error_r, "write", q->path, errno);
		ret = -1;
	} else {
		q->usage.bytes += bytes;
		q->usage.count += count;
		q->usage.lines++;
	}
	str_free(&s);
	return ret;
}

static int percent_of(int64_t used, uint64_t limit)
{
	int64_t p;

	if (limit == 0 || used <= 0)
		return 0;
	if ((uint64_t)used >= limit)
		return 100;
	p = (int64_t)((double)used * 100.0 / (double)limit);
	return (int)p;
}

int maildir_quota_percent(struct maildir_quota *q)
{
	int a = percent_of(q->usage.bytes, q->usage.spec.bytes);
	int b = percent_of(q->usage.count, q->usage.spec.count);

	return a > b ? a : b;
}
