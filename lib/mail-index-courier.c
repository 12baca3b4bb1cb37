/* mail-index-courier.c: bounded readers for Courier's courierimapuiddb and
 * courierpop3dsizelist files, and the courierimapuiddb writer (see
 * mail-index-courier.h). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mail-index-courier.h"
#include "mail-index.h"
#include "mail-index-private.h"
#include "maildir.h"
#include "mem.h"
#include "str.h"

#define DEFAULT_MAX_LINE 4096
#define DEFAULT_MAX_FILE (256ULL * 1024 * 1024)
#define DEFAULT_MAX_LINES 10000000

static void limits_fill(struct mail_index_courier_limits *out,
			const struct mail_index_courier_limits *in)
{
	out->max_line = in != NULL && in->max_line != 0 ? in->max_line
							: DEFAULT_MAX_LINE;
	out->max_file = in != NULL && in->max_file != 0 ? in->max_file
							: DEFAULT_MAX_FILE;
	out->max_lines = in != NULL && in->max_lines != 0 ? in->max_lines
							  : DEFAULT_MAX_LINES;
}

/* Splits buf into lines one at a time: *pos is advanced past the line and
 * its '\n'; the line (without '\n') is [*line_r, *line_r + *len_r). */
static bool next_line(const char *buf, size_t len, size_t *pos,
		      const char **line_r, size_t *len_r)
{
	const char *p, *nl;

	if (*pos >= len)
		return false;
	p = buf + *pos;
	nl = memchr(p, '\n', len - *pos);
	*line_r = p;
	if (nl == NULL) {
		*len_r = len - *pos;
		*pos = len;
	} else {
		*len_r = (size_t)(nl - p);
		*pos += *len_r + 1;
	}
	return true;
}

/* Reads a decimal number of at most 20 digits from [*p, end).  Returns
 * true and *value_r if at least one digit was read without overflow. */
static bool parse_u64(const char **p, const char *end, uint64_t *value_r)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*value_r = v;
	return true;
}

static void skip_blanks(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r'))
		(*p)++;
}

/* A base name we accept from a file: non-empty, no '/', no NUL, no
 * control characters, not starting with '.', within MAILDIR_NAME_MAX. */
static bool base_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > MAILDIR_NAME_MAX || s[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/' || c < 0x20 || c == 0x7f || c == ' ')
			return false;
	}
	return true;
}

static int base_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* ---- courierimapuiddb ---- */

static int uiddb_entry_cmp(const void *a, const void *b)
{
	const struct mail_index_uiddb_entry *ea = a, *eb = b;
	int c = strcmp(ea->base, eb->base);

	if (c != 0)
		return c;
	return ea->uid < eb->uid ? -1 : ea->uid > eb->uid ? 1 : 0;
}

static int uiddb_entry_uid_cmp(const void *a, const void *b)
{
	const struct mail_index_uiddb_entry *ea = a, *eb = b;

	if (ea->uid != eb->uid)
		return ea->uid < eb->uid ? -1 : 1;
	return strcmp(ea->base, eb->base);
}

/* True if db's entries are in cmp's order already. */
static bool entries_sorted(const struct mail_index_uiddb *db,
			   int (*cmp)(const void *, const void *))
{
	for (size_t i = 1; i < db->count; i++) {
		if (cmp(&db->entries[i - 1], &db->entries[i]) > 0)
			return false;
	}
	return true;
}

int mail_index_uiddb_parse(const char *buf, size_t len,
			   const struct mail_index_courier_limits *limits,
			   struct mail_index_uiddb **db_r)
{
	struct mail_index_courier_limits lim;
	struct mail_index_uiddb *db;
	const char *line, *p, *end;
	size_t pos = 0, llen, alloc = 0, i, j;
	uint64_t version, uidv, nextuid, uid;

	*db_r = NULL;
	limits_fill(&lim, limits);
	if (len > lim.max_file)
		len = (size_t)lim.max_file;
	if (!next_line(buf, len, &pos, &line, &llen) || llen > lim.max_line)
		return 0;
	p = line;
	end = line + llen;
	skip_blanks(&p, end);
	if (!parse_u64(&p, end, &version) || version != 1)
		return 0;
	skip_blanks(&p, end);
	if (!parse_u64(&p, end, &uidv) || uidv == 0 || uidv > UINT32_MAX)
		return 0;
	skip_blanks(&p, end);
	if (!parse_u64(&p, end, &nextuid))
		return 0;
	if (nextuid == 0)
		nextuid = 1;

	db = xcalloc(1, sizeof(*db));
	db->uidvalidity = (uint32_t)uidv;
	while (next_line(buf, len, &pos, &line, &llen)) {
		const char *sp, *colon;
		size_t blen;

		if (llen == 0)
			continue;
		if (llen > lim.max_line || db->count >= lim.max_lines) {
			db->skipped++;
			continue;
		}
		p = line;
		end = line + llen;
		sp = memchr(p, ' ', llen);
		if (sp == NULL || !parse_u64(&p, sp, &uid) || p != sp ||
		    uid == 0 || uid >= UINT32_MAX) {
			db->skipped++;
			continue;
		}
		p = sp + 1;
		if (end > p && end[-1] == '\r')
			end--;
		/* Courier writes base names; drop an info part if any. */
		colon = memrchr(p, ':', (size_t)(end - p));
		blen = colon != NULL ? (size_t)(colon - p) : (size_t)(end - p);
		if (!base_valid(p, blen)) {
			db->skipped++;
			continue;
		}
		if (db->count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			db->entries = xreallocarray(db->entries, alloc,
						    sizeof(*db->entries));
		}
		db->entries[db->count].uid = (uint32_t)uid;
		db->entries[db->count].base = xstrndup(p, blen);
		db->count++;
	}

	/* Duplicate names: keep the lowest UID.  Then duplicate UIDs: keep
	 * the name that sorts first.  Both are garbage Courier would not
	 * write, dropped deterministically. */
	if (db->count > 1) {
		/* Files Courier or we wrote are in UID order, and mostly
		 * in base-name order too: each sort only when needed. */
		bool by_base = entries_sorted(db, uiddb_entry_cmp);

		if (!by_base) {
			qsort(db->entries, db->count, sizeof(*db->entries),
			      uiddb_entry_cmp);
			by_base = true;
		}
		for (i = j = 0; i < db->count; i++) {
			if (j > 0 && strcmp(db->entries[j - 1].base,
					    db->entries[i].base) == 0) {
				free(db->entries[i].base);
				db->skipped++;
				continue;
			}
			db->entries[j++] = db->entries[i];
		}
		db->count = j;
		if (!entries_sorted(db, uiddb_entry_uid_cmp)) {
			qsort(db->entries, db->count, sizeof(*db->entries),
			      uiddb_entry_uid_cmp);
			by_base = false;
		}
		for (i = j = 0; i < db->count; i++) {
			if (j > 0 && db->entries[j - 1].uid == db->entries[i].uid) {
				free(db->entries[i].base);
				db->skipped++;
				continue;
			}
			db->entries[j++] = db->entries[i];
		}
		db->count = j;
		/* (Dropping entries keeps an order.) */
		if (!by_base)
			qsort(db->entries, db->count, sizeof(*db->entries),
			      uiddb_entry_cmp);
	}
	for (i = 0; i < db->count; i++) {
		if (db->entries[i].uid >= nextuid)
			nextuid = (uint64_t)db->entries[i].uid + 1;
	}
	db->nextuid = nextuid >= UINT32_MAX ? UINT32_MAX : (uint32_t)nextuid;
	*db_r = db;
	return 1;
}

uint32_t mail_index_uiddb_find(const struct mail_index_uiddb *db,
			       const char *base, size_t base_len)
{
	size_t lo = 0, hi = db->count, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = base_cmp(base, base_len, db->entries[mid].base,
			     strlen(db->entries[mid].base));
		if (c == 0)
			return db->entries[mid].uid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

void mail_index_uiddb_free(struct mail_index_uiddb **_db)
{
	struct mail_index_uiddb *db = *_db;
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->count; i++)
		free(db->entries[i].base);
	free(db->entries);
	free(db);
	*_db = NULL;
}

/* Reads dir/name into a new buffer of at most max bytes.  Returns 1, 0 if
 * the file does not exist, -1 with *error_r. */
static int read_file(const char *dir, const char *name, uint64_t max,
		     char **buf_r, size_t *len_r, const char **error_r)
{
	static char errbuf[512];
	char *path = xasprintf("%s/%s", dir, name), *buf;
	size_t len = 0, alloc;
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int err = errno;

		if (err == ENOENT) {
			free(path);
			return 0;
		}
		snprintf(errbuf, sizeof(errbuf), "open(%s): %s", path,
			 strerror(err));
		free(path);
		*error_r = errbuf;
		return -1;
	}
	alloc = fstat(fd, &st) == 0 && st.st_size > 0 &&
				(uint64_t)st.st_size < max
			? (size_t)st.st_size + 1
			: 4096;
	buf = xmalloc(alloc);
	for (;;) {
		if (len == alloc) {
			if (len >= max)
				break;
			alloc *= 2;
			buf = xrealloc(buf, alloc);
		}
		n = read(fd, buf + len,
			 (uint64_t)(alloc - len) > max - len
				 ? (size_t)(max - len)
				 : alloc - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(errbuf, sizeof(errbuf), "read(%s): %s", path,
				 strerror(errno));
			*error_r = errbuf;
			close(fd);
			free(buf);
			free(path);
			return -1;
		}
		if (n == 0 || len + (size_t)n >= max) {
			len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	free(path);
	*buf_r = buf;
	*len_r = len;
	return 1;
}

int mail_index_uiddb_read(const char *dir,
			  const struct mail_index_courier_limits *limits,
			  struct mail_index_uiddb **db_r,
			  const char **error_r)
{
	struct mail_index_courier_limits lim;
	size_t len;
	char *buf;
	int ret;

	*db_r = NULL;
	limits_fill(&lim, limits);
	ret = read_file(dir, MAIL_INDEX_UIDDB_FILE, lim.max_file, &buf, &len,
			error_r);
	if (ret <= 0)
		return ret;
	ret = mail_index_uiddb_parse(buf, len, &lim, db_r);
	free(buf);
	return ret;
}

/* Appends "UID basename" lines for every record, read in place in one
 * read transaction (no copy of each record, no printf a line).  Records
 * that do not decode are skipped, as mail_index_iterate() skips them. */
static int export_lines(struct mail_index *index, struct str *s,
			const char **error_r)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	int rc;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	rc = mdb_cursor_open(txn, index->env->db_msgs, &cur);
	if (rc != 0) {
		mail_index_read_end(index, &txn);
		mail_index_set_mdb_error(error_r, "cursor", rc);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct mail_index_rec rec;
		char num[12], *p = num + sizeof(num);
		uint32_t uid;

		if (key.mv_size != 4 || !mail_index_rec_view(index, &val, &rec))
			continue;
		uid = mail_index_get_be32(key.mv_data);
		*--p = ' ';
		do {
			*--p = (char)('0' + uid % 10);
			uid /= 10;
		} while (uid > 0);
		str_append_n(s, p, (size_t)(num + sizeof(num) - p));
		str_append_n(s, rec.name, rec.d.base_len);
		str_append_c(s, '\n');
	}
	mdb_cursor_close(cur);
	mail_index_read_end(index, &txn);
	if (rc != MDB_NOTFOUND) {
		mail_index_set_mdb_error(error_r, "iterate", rc);
		return -1;
	}
	return 0;
}

int mail_index_uiddb_export(struct mail_index *index, const char **error_r)
{
	struct mail_index_status st;
	const char *dir = mail_index_dir(index);
	struct str s;
	int ret = -1;

	if (mail_index_get_status(index, &st, error_r) < 0)
		return -1;
	str_init(&s, 64 + (size_t)st.messages * 40);
	str_printfa(&s, "1 %" PRIu32 " %" PRIu32 "\n", st.uidvalidity,
		    st.uidnext);
	if (export_lines(index, &s, error_r) < 0) {
		str_free(&s);
		return -1;
	}
	char *path = xasprintf("%s/%s", dir, MAIL_INDEX_UIDDB_FILE);
	char *tmp = xasprintf("%s/tmp/%s.%ld", dir, MAIL_INDEX_UIDDB_FILE,
			      (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		const char *p = str_c(&s);
		size_t left = str_len(&s);
		while (left > 0) {
			ssize_t w = write(fd, p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			p += w;
			left -= (size_t)w;
		}
		if (left == 0 && fsync(fd) == 0)
			ret = 0;
		if (close(fd) != 0)
			ret = -1;
		if (ret == 0 && rename(tmp, path) < 0)
			ret = -1;
		if (ret < 0)
			unlink(tmp);
	}
	if (ret < 0)
		*error_r = "cannot write courierimapuiddb";
	free(tmp);
	free(path);
	str_free(&s);
	return ret;
}

int mail_index_uiddb_header(const char *dir, uint32_t *uidvalidity_r,
			    uint32_t *nextuid_r, const char **error_r)
{
	char *path = xasprintf("%s/%s", dir, MAIL_INDEX_UIDDB_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[128];
	ssize_t n;

	free(path);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = "cannot open courierimapuiddb";
		return -1;
	}
	do {
		n = read(fd, buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0) {
		*error_r = "cannot read courierimapuiddb";
		return -1;
	}
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl == NULL)
		return 0;
	/* the header as the full parser takes it */
	struct mail_index_uiddb *db = NULL;
	int ret = mail_index_uiddb_parse(buf, (size_t)(nl - buf) + 1, NULL,
					 &db);
	if (ret > 0) {
		*uidvalidity_r = db->uidvalidity;
		*nextuid_r = db->nextuid;
	}
	mail_index_uiddb_free(&db);
	return ret;
}

/* ---- courierpop3dsizelist ---- */

static int pop3_entry_cmp(const void *a, const void *b)
{
	const struct mail_index_pop3list_entry *ea = a, *eb = b;
	int c = strcmp(ea->base, eb->base);

	if (c != 0)
		return c;
	if (ea->uid != eb->uid)
		return ea->uid < eb->uid ? -1 : 1;
	return ea->uidv < eb->uidv ? -1 : ea->uidv > eb->uidv ? 1 : 0;
}

/* Parses "<size> <uid>:<uidv>[:<utf8>]" (Courier splits the line at its
 * last two spaces: the name is everything before). */
static bool pop3_parse_fields(const char *p, const char *end, int version,
			      struct mail_index_pop3list_entry *e)
{
	uint64_t utf8 = 0;

	if (!parse_u64(&p, end, &e->size) || p == end || *p++ != ' ')
		return false;
	if (!parse_u64(&p, end, &e->uid) || p == end || *p++ != ':')
		return false;
	if (!parse_u64(&p, end, &e->uidv))
		return false;
	if (version == 3) {
		if (p == end || *p++ != ':')
			return false;
		if (p < end && *p == '-')
			p++;
		if (!parse_u64(&p, end, &utf8))
			return false;
	}
	if (p != end)
		return false;
	e->utf8 = utf8 != 0;
	return true;
}

int mail_index_pop3list_parse(const char *buf, size_t len,
			      const struct mail_index_courier_limits *limits,
			      struct mail_index_pop3list **list_r)
{
	struct mail_index_courier_limits lim;
	struct mail_index_pop3list *l;
	const char *line, *p, *end;
	size_t pos = 0, llen, alloc = 0, i, j;
	uint64_t version, nextuid, uidv = 0;

	*list_r = NULL;
	limits_fill(&lim, limits);
	if (len > lim.max_file)
		len = (size_t)lim.max_file;
	if (!next_line(buf, len, &pos, &line, &llen) || llen > lim.max_line ||
	    llen == 0 || line[0] != '/')
		return 0;
	p = line + 1;
	end = line + llen;
	if (!parse_u64(&p, end, &version) || (version != 2 && version != 3))
		return 0;
	skip_blanks(&p, end);
	if (!parse_u64(&p, end, &nextuid))
		return 0;
	skip_blanks(&p, end);
	/* Courier accepts a header without the uidv (it then uses now). */
	(void)parse_u64(&p, end, &uidv);

	l = xcalloc(1, sizeof(*l));
	l->version = (int)version;
	l->nextuid = nextuid;
	l->uidv = uidv;
	while (next_line(buf, len, &pos, &line, &llen)) {
		struct mail_index_pop3list_entry e;
		const char *sp1, *sp2, *colon;
		size_t blen;

		if (llen == 0)
			continue;
		if (llen > lim.max_line || l->count >= lim.max_lines) {
			l->skipped++;
			continue;
		}
		end = line + llen;
		if (end[-1] == '\r')
			end--;
		sp2 = memrchr(line, ' ', (size_t)(end - line));
		sp1 = sp2 == NULL ? NULL
				  : memrchr(line, ' ', (size_t)(sp2 - line));
		memset(&e, 0, sizeof(e));
		if (sp1 == NULL ||
		    !pop3_parse_fields(sp1 + 1, end, (int)version, &e)) {
			l->skipped++;
			continue;
		}
		colon = memrchr(line, ':', (size_t)(sp1 - line));
		blen = colon != NULL ? (size_t)(colon - line)
				     : (size_t)(sp1 - line);
		if (!base_valid(line, blen)) {
			l->skipped++;
			continue;
		}
		e.base = xstrndup(line, blen);
		if (l->count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			l->entries = xreallocarray(l->entries, alloc,
						   sizeof(*l->entries));
		}
		l->entries[l->count++] = e;
	}
	if (l->count > 1) {
		/* Duplicate names (garbage): keep the lowest UID. */
		qsort(l->entries, l->count, sizeof(*l->entries),
		      pop3_entry_cmp);
		for (i = j = 0; i < l->count; i++) {
			if (j > 0 && strcmp(l->entries[j - 1].base,
					    l->entries[i].base) == 0) {
				free(l->entries[i].base);
				l->skipped++;
				continue;
			}
			l->entries[j++] = l->entries[i];
		}
		l->count = j;
	}
	*list_r = l;
	return 1;
}

int mail_index_pop3list_read(const char *dir,
			     const struct mail_index_courier_limits *limits,
			     struct mail_index_pop3list **list_r,
			     const char **error_r)
{
	struct mail_index_courier_limits lim;
	size_t len;
	char *buf;
	int ret;

	*list_r = NULL;
	limits_fill(&lim, limits);
	ret = read_file(dir, MAIL_INDEX_POP3LIST_FILE, lim.max_file, &buf,
			&len, error_r);
	if (ret <= 0)
		return ret;
	ret = mail_index_pop3list_parse(buf, len, &lim, list_r);
	free(buf);
	return ret;
}

const struct mail_index_pop3list_entry *
mail_index_pop3list_find(const struct mail_index_pop3list *list,
			 const char *base, size_t base_len)
{
	size_t lo = 0, hi = list->count, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = base_cmp(base, base_len, list->entries[mid].base,
			     strlen(list->entries[mid].base));
		if (c == 0)
			return &list->entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *mail_index_pop3list_uidl(const struct mail_index_pop3list_entry *e,
				     char *buf, size_t size)
{
	if (e->uidv != 0)
		snprintf(buf, size, "UID%" PRIu64 "-%" PRIu64, e->uid,
			 e->uidv);
	else
		snprintf(buf, size, "UID%" PRIu64, e->uid);
	return buf;
}

void mail_index_pop3list_free(struct mail_index_pop3list **_l)
{
	struct mail_index_pop3list *l = *_l;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		free(l->entries[i].base);
	free(l->entries);
	free(l);
	*_l = NULL;
}
