/* imap-shared.c: the shared index of Courier's virtual shared folders. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "config-file.h"
#include "imap-shared.h"
#include "log.h"
#include "mem.h"

static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len > IMAP_SHARED_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == '/' || c == '"' ||
		    c == '\\' || c == '*' || c == '%')
			return false;
	}
	return true;
}

static bool path_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < ' ')
			return false;
	return true;
}

static void add_account(struct imap_shared_index *idx, const char *name,
			size_t name_len, char *maildir)
{
	if (idx->count == idx->alloc) {
		idx->alloc = idx->alloc == 0 ? 16 : idx->alloc * 2;
		idx->accounts = xreallocarray(idx->accounts, idx->alloc,
					      sizeof(*idx->accounts));
	}
	idx->accounts[idx->count].name = xstrndup(name, name_len);
	idx->accounts[idx->count].maildir = maildir;
	idx->count++;
}

/* One line (without its LF); returns false when malformed. */
static bool parse_line(struct imap_shared_index *idx, const char *p,
		       size_t len, const char *default_maildir)
{
	const char *f[5];
	size_t flen[5], n = 0;
	const char *end = p + len;

	if (len > 0 && p[len - 1] == '\r')
		end--;
	if (p == end || p[0] == '#')
		return true;
	if (p[0] == '*') {
		const char *file = p + 1;
		size_t flen1 = (size_t)(end - file);
		if (!name_ok(file, flen1) || (flen1 <= 2 && file[0] == '.') ||
		    idx->include_count >= IMAP_SHARED_INCLUDE_MAX)
			return false;
		idx->includes = xreallocarray(idx->includes,
					      idx->include_count + 1,
					      sizeof(*idx->includes));
		idx->includes[idx->include_count++] = xstrndup(file, flen1);
		return true;
	}
	while (n < 5) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		const char *stop = tab != NULL ? tab : end;
		f[n] = p;
		flen[n++] = (size_t)(stop - p);
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	if (n < 4 || !name_ok(f[0], flen[0]) || flen[3] == 0 ||
	    f[3][0] != '/' || !path_ok(f[3], flen[3]))
		return false;
	const char *md = n == 5 ? f[4] : "";
	size_t md_len = n == 5 ? flen[4] : 0;
	if (!path_ok(md, md_len))
		return false;
	char *maildir;
	if (md_len > 0 && md[0] == '/')
		maildir = xstrndup(md, md_len);
	else if (md_len > 0)
		maildir = xasprintf("%.*s/%.*s", (int)flen[3], f[3],
				    (int)md_len, md);
	else
		maildir = xasprintf("%.*s/%s", (int)flen[3], f[3],
				    default_maildir);
	add_account(idx, f[0], flen[0], maildir);
	return true;
}

size_t imap_shared_index_parse(struct imap_shared_index *idx,
			       const char *data, size_t size,
			       const char *default_maildir)
{
	size_t bad = 0;

	while (size > 0) {
		const char *nl = memchr(data, '\n', size);
		size_t len = nl != NULL ? (size_t)(nl - data) : size;

		if (len > IMAP_SHARED_LINE_MAX ||
		    memchr(data, '\0', len) != NULL ||
		    !parse_line(idx, data, len, default_maildir))
			bad++;
		if (nl == NULL)
			break;
		size -= len + 1;
		data = nl + 1;
	}
	return bad;
}

/* qsort context-free comparator over positions into one array */
static const struct imap_shared_account *sort_base;

static int pos_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(sort_base[x].name, sort_base[y].name);

	if (r != 0)
		return r;
	return x < y ? -1 : x > y;
}

void imap_shared_index_finish(struct imap_shared_index *idx)
{
	if (idx->count == 0)
		return;
	size_t *pos = xreallocarray(NULL, idx->count, sizeof(*pos));
	struct imap_shared_account *sorted =
		xreallocarray(NULL, idx->count, sizeof(*sorted));
	size_t out = 0;

	for (size_t i = 0; i < idx->count; i++)
		pos[i] = i;
	sort_base = idx->accounts;
	qsort(pos, idx->count, sizeof(*pos), pos_cmp);
	sort_base = NULL;
	for (size_t i = 0; i < idx->count; i++) {
		struct imap_shared_account *a = &idx->accounts[pos[i]];
		/* equal names sort by position: the first one wins */
		if (out > 0 && strcmp(sorted[out - 1].name, a->name) == 0) {
			free(a->name);
			free(a->maildir);
			continue;
		}
		sorted[out++] = *a;
	}
	free(pos);
	free(idx->accounts);
	idx->accounts = sorted;
	idx->count = idx->alloc = out;
}

struct load_ctx {
	struct imap_shared_index *idx;
	const char *default_maildir;
	size_t bad;
};

static void load_cb(const char *path, const char *data, size_t size,
		    void *context)
{
	struct load_ctx *ctx = context;
	size_t bad = imap_shared_index_parse(ctx->idx, data, size,
					     ctx->default_maildir);
	if (bad > 0)
		log_warning("imapd: %s: %zu malformed lines skipped", path,
			    bad);
}

static void load_one(const char *path, struct load_ctx *ctx)
{
	struct config_limits limits = {
		.max_file_size = IMAP_SHARED_FILE_MAX,
		.max_files = 1,
	};
	struct config_errors *errs = config_errors_new();

	if (config_read_files(path, &limits, load_cb, ctx, errs) < 0)
		log_warning("imapd: %s: cannot read the shared index", path);
	config_errors_log(errs);
	config_errors_destroy(&errs);
}

void imap_shared_index_load(const char *path, const char *default_maildir,
			    struct imap_shared_index *idx_r)
{
	struct load_ctx ctx = { idx_r, default_maildir, 0 };

	memset(idx_r, 0, sizeof(*idx_r));
	load_one(path, &ctx);
	/* split files, one level deep: their own includes are ignored */
	char **includes = idx_r->includes;
	size_t n = idx_r->include_count;
	idx_r->includes = NULL;
	idx_r->include_count = 0;
	const char *slash = strrchr(path, '/');
	int dirlen = slash != NULL ? (int)(slash - path) : 1;
	const char *dir = slash != NULL ? path : ".";
	for (size_t i = 0; i < n; i++) {
		char *sub = xasprintf("%.*s/%s", dirlen, dir, includes[i]);
		load_one(sub, &ctx);
		free(sub);
		free(includes[i]);
	}
	free(includes);
	for (size_t i = 0; i < idx_r->include_count; i++)
		free(idx_r->includes[i]);
	free(idx_r->includes);
	idx_r->includes = NULL;
	idx_r->include_count = 0;
	imap_shared_index_finish(idx_r);
}

void imap_shared_index_free(struct imap_shared_index *idx)
{
	for (size_t i = 0; i < idx->count; i++) {
		free(idx->accounts[i].name);
		free(idx->accounts[i].maildir);
	}
	free(idx->accounts);
	for (size_t i = 0; i < idx->include_count; i++)
		free(idx->includes[i]);
	free(idx->includes);
	memset(idx, 0, sizeof(*idx));
}

const struct imap_shared_account *
imap_shared_index_find(const struct imap_shared_index *idx, const char *name,
		       size_t len)
{
	size_t lo = 0, hi = idx->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *n = idx->accounts[mid].name;
		int r = strncmp(n, name, len);
		if (r == 0 && n[len] != '\0')
			r = 1;
		if (r == 0)
			return &idx->accounts[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct imap_shared_account *
imap_shared_index_split(const struct imap_shared_index *idx,
			const char *rest, const char **folder_r)
{
	size_t len = strlen(rest);

	/* the longest name first: try each '.' from the right */
	for (;;) {
		const struct imap_shared_account *a =
			imap_shared_index_find(idx, rest, len);
		if (a != NULL) {
			*folder_r = rest[len] == '.' ? rest + len + 1 : "";
			return a;
		}
		while (len > 0 && rest[len - 1] != '.')
			len--;
		if (len == 0)
			return NULL;
		len--;
	}
}

char *imap_shared_index_path(const char *base, const char *options)
{
	const char *group = NULL;
	size_t group_len = 0;
	const char *p = options != NULL ? options : "";

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if ((len == 13 && strncmp(p, "disableshared", 13) == 0) ||
		    (len > 14 && strncmp(p, "disableshared=", 14) == 0 &&
		     !(len == 15 && p[14] == '0')))
			return NULL;
		if (len > 12 && strncmp(p, "sharedgroup=", 12) == 0) {
			group = p + 12;
			group_len = len - 12;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (group == NULL)
		return xstrdup(base);
	if (!name_ok(group, group_len) || group[0] == '.')
		return NULL;
	return xasprintf("%s%.*s", base, (int)group_len, group);
}
