/* config-file.c: reads Courier control files and folders (config-file.h). */
#include "config.h"
#include "config-file.h"
#include "instance.h"
#include "mem.h"
#include "str.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct config_limits config_default_limits = {
	.max_line_len = 64 * 1024,
	.max_file_size = 64 * 1024 * 1024,
	.max_files = 1000,
	.max_lines = 1000000,
	.max_value_len = 64 * 1024,
	.max_entries = 10000,
};

static void limits_fill(struct config_limits *dst,
			const struct config_limits *src)
{
	const struct config_limits *def = &config_default_limits;

	*dst = src != NULL ? *src : *def;
#define FILL(f) if (dst->f == 0) dst->f = def->f
	FILL(max_line_len);
	FILL(max_file_size);
	FILL(max_files);
	FILL(max_lines);
	FILL(max_value_len);
	FILL(max_entries);
#undef FILL
}

char *config_path(const char *name_or_path)
{
	if (strchr(name_or_path, '/') != NULL)
		return xstrdup(name_or_path);
	return instance_etc_path(name_or_path);
}

struct config_lines *config_lines_new(const struct config_limits *limits)
{
	struct config_lines *lines = xcalloc(1, sizeof(*lines));

	limits_fill(&lines->limits, limits);
	return lines;
}

void config_lines_free(struct config_lines **lines)
{
	struct config_lines *l = *lines;

	if (l == NULL)
		return;
	for (size_t i = 0; i < l->count; i++)
		free((char *)l->lines[i].text);
	for (size_t i = 0; i < l->file_count; i++)
		free(l->files[i]);
	free(l->lines);
	free(l->files);
	x_free(*lines);
}

size_t config_lines_count(const struct config_lines *lines)
{
	return lines == NULL ? 0 : lines->count;
}

const struct config_line *config_lines_get(const struct config_lines *lines,
					   size_t i)
{
	if (lines == NULL || i >= lines->count)
		return NULL;
	return &lines->lines[i];
}

/* Stores a file path once and returns the kept copy. */
static const char *lines_add_file(struct config_lines *l, const char *file)
{
	if (l->file_count > 0 && strcmp(l->files[l->file_count - 1], file) == 0)
		return l->files[l->file_count - 1];
	if (l->file_count == l->file_alloc) {
		l->file_alloc = l->file_alloc == 0 ? 4 : l->file_alloc * 2;
		l->files = xreallocarray(l->files, l->file_alloc,
					 sizeof(l->files[0]));
	}
	l->files[l->file_count] = xstrdup(file);
	return l->files[l->file_count++];
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

void config_lines_parse(struct config_lines *l, const char *file,
			const void *data, size_t size,
			struct config_errors *errs)
{
	const char *p = data, *end = p + size;
	const char *kept_file = lines_add_file(l, file);
	unsigned int lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		size_t len = (size_t)(eol - p);
		const char *start = p;

		p = nl != NULL ? nl + 1 : end;
		lineno++;
		if (len > l->limits.max_line_len) {
			config_error(errs, kept_file, lineno,
				     "line too long (%zu bytes, limit %zu)",
				     len, l->limits.max_line_len);
			continue;
		}
		if (memchr(start, '\0', len) != NULL) {
			config_error(errs, kept_file, lineno,
				     "NUL byte in line");
			continue;
		}
		while (len > 0 && is_blank(start[len - 1]))
			len--;
		size_t skip = 0;
		while (skip < len && is_blank(start[skip]))
			skip++;
		if (skip == len || start[skip] == '#')
			continue;
		if (l->count >= l->limits.max_lines) {
			config_error(errs, kept_file, lineno,
				     "too many lines (limit %zu)",
				     l->limits.max_lines);
			return;
		}
		if (l->count == l->alloc) {
			l->alloc = l->alloc == 0 ? 16 : l->alloc * 2;
			l->lines = xreallocarray(l->lines, l->alloc,
						 sizeof(l->lines[0]));
		}
		struct config_line *cl = &l->lines[l->count++];
		cl->text = xstrndup(start, len);
		cl->len = len;
		cl->file = kept_file;
		cl->line = lineno;
	}
}

/* Reads a whole regular file of at most max bytes.  Returns 0, or -1 with
 * the error added to errs. */
static int read_whole_file(const char *path, size_t max, char **data_r,
			   size_t *size_r, struct config_errors *errs)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t size = 0, alloc = 4096;
	char *data;

	*data_r = NULL;
	*size_r = 0;
	if (fd < 0) {
		config_error(errs, path, 0, "open: %s", strerror(errno));
		return -1;
	}
	data = xmalloc(alloc);
	for (;;) {
		if (size == alloc) {
			if (alloc > max) {
				config_error(errs, path, 0,
					     "file too large (limit %zu bytes)",
					     max);
				goto fail;
			}
			alloc *= 2;
			data = xrealloc(data, alloc);
		}
		ssize_t n = read(fd, data + size, alloc - size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			config_error(errs, path, 0, "read: %s",
				     strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	if (size > max) {
		config_error(errs, path, 0, "file too large (limit %zu bytes)",
			     max);
		goto fail;
	}
	close(fd);
	*data_r = data;
	*size_r = size;
	return 0;
fail:
	close(fd);
	free(data);
	return -1;
}

static int read_one_file(const char *path, const struct config_limits *lim,
			 config_file_callback_t *callback, void *context,
			 struct config_errors *errs)
{
	char *data;
	size_t size;

	if (read_whole_file(path, lim->max_file_size, &data, &size, errs) < 0)
		return -1;
	callback(path, data, size, context);
	free(data);
	return 0;
}

enum folder_entry_kind {
	FOLDER_ENTRY_READ,
	FOLDER_ENTRY_SKIP,
	FOLDER_ENTRY_SKIP_WARN,
};

static enum folder_entry_kind folder_entry_kind(const char *name)
{
	static const char *const leftovers[] = {
		".rpmsave", ".rpmnew", ".rpmorig", ".dist",
	};
	size_t len = strlen(name);

	if (name[0] == '.' || len == 0 || name[len - 1] == '~')
		return FOLDER_ENTRY_SKIP;
	/* Emacs autosave files: #name# */
	if (len > 1 && name[0] == '#' && name[len - 1] == '#')
		return FOLDER_ENTRY_SKIP;
	for (size_t i = 0; i < N_ELEMENTS(leftovers); i++) {
		if (str_ends_with(name, leftovers[i]))
			return FOLDER_ENTRY_SKIP_WARN;
	}
	if (strstr(name, ".dpkg-") != NULL)
		return FOLDER_ENTRY_SKIP_WARN;
	return FOLDER_ENTRY_READ;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_folder(const char *dirpath, const struct config_limits *lim,
		       config_file_callback_t *callback, void *context,
		       struct config_errors *errs)
{
	DIR *dir = opendir(dirpath);
	char **names = NULL;
	size_t count = 0, alloc = 0;
	struct dirent *de;
	int ret = 0;

	if (dir == NULL) {
		config_error(errs, dirpath, 0, "opendir: %s", strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		enum folder_entry_kind kind = folder_entry_kind(de->d_name);

		if (kind == FOLDER_ENTRY_SKIP_WARN) {
			config_warning(errs, dirpath, 0,
				       "ignoring leftover file %s", de->d_name);
		}
		if (kind != FOLDER_ENTRY_READ)
			continue;
		if (count == lim->max_files) {
			config_error(errs, dirpath, 0,
				     "too many files (limit %zu)",
				     lim->max_files);
			ret = -1;
			break;
		}
		if (count == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			names = xreallocarray(names, alloc, sizeof(names[0]));
		}
		names[count++] = xstrdup(de->d_name);
	}
	if (ret == 0 && errno != 0) {
		config_error(errs, dirpath, 0, "readdir: %s", strerror(errno));
		ret = -1;
	}
	closedir(dir);
	if (count > 0)
		qsort(names, count, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < count && ret == 0; i++) {
		char *path = xasprintf("%s/%s", dirpath, names[i]);
		struct stat st;

		if (stat(path, &st) < 0) {
			/* Removed between readdir and stat, or a dangling
			 * symlink: not part of the configuration. */
			if (errno != ENOENT) {
				config_error(errs, path, 0, "stat: %s",
					     strerror(errno));
				ret = -1;
			}
		} else if (S_ISDIR(st.st_mode)) {
			/* subfolders are not part of the file */
		} else if (!S_ISREG(st.st_mode)) {
			config_warning(errs, path, 0,
				       "ignoring: not a regular file");
		} else if (read_one_file(path, lim, callback, context, errs) <
			   0) {
			ret = -1;
		}
		free(path);
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return ret;
}

int config_read_files(const char *name_or_path,
		      const struct config_limits *limits,
		      config_file_callback_t *callback, void *context,
		      struct config_errors *errs)
{
	char *path = config_path(name_or_path);
	struct config_limits lim;
	struct stat st;
	int ret;

	limits_fill(&lim, limits);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			free(path);
			return 0;
		}
		config_error(errs, path, 0, "stat: %s", strerror(errno));
		free(path);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = read_folder(path, &lim, callback, context, errs);
	} else if (S_ISREG(st.st_mode)) {
		ret = read_one_file(path, &lim, callback, context, errs);
	} else {
		config_error(errs, path, 0, "not a regular file or folder");
		ret = -1;
	}
	free(path);
	return ret < 0 ? -1 : 1;
}

struct lines_read_context {
	struct config_lines *lines;
	struct config_errors *errs;
};

static void lines_read_callback(const char *path, const char *data,
				size_t size, void *context)
{
	struct lines_read_context *ctx = context;

	config_lines_parse(ctx->lines, path, data, size, ctx->errs);
}

int config_lines_read(const char *name_or_path,
		      const struct config_limits *limits,
		      struct config_lines **lines_r, struct config_errors *errs)
{
	struct lines_read_context ctx = {
		.lines = config_lines_new(limits),
		.errs = errs,
	};
	int ret = config_read_files(name_or_path, limits, lines_read_callback,
				    &ctx, errs);

	if (ret <= 0) {
		config_lines_free(&ctx.lines);
		*lines_r = NULL;
		return ret;
	}
	*lines_r = ctx.lines;
	return 1;
}

int config_read_first_line_r(const char *name_or_path, char **value_r,
			     char **origin_r, struct config_errors *errs)
{
	struct config_lines *l;
	const struct config_line *first;
	int ret;

	*value_r = NULL;
	if (origin_r != NULL)
		*origin_r = NULL;
	ret = config_lines_read(name_or_path, NULL, &l, errs);
	if (ret <= 0)
		return ret;
	first = config_lines_get(l, 0);
	if (first == NULL) {
		config_lines_free(&l);
		return 0;
	}
	const char *text = first->text;
	while (is_blank(*text))
		text++;
	*value_r = xstrdup(text);
	if (origin_r != NULL)
		*origin_r = xasprintf("%s:%u", first->file, first->line);
	config_lines_free(&l);
	return 1;
}

char *config_read_first_line(const char *name_or_path, const char *def)
{
	char *value;

	if (config_read_first_line_r(name_or_path, &value, NULL, NULL) > 0)
		return value;
	return def == NULL ? NULL : xstrdup(def);
}

/* --- hostname-dependent entries --- */

static char *hostname_override;
static char *hostname_cache;

void config_set_hostname(const char *hostname)
{
	x_free(hostname_override);
	x_free(hostname_cache);
	if (hostname != NULL)
		hostname_override = xstrdup(hostname);
}

const char *config_hostname(void)
{
	if (hostname_override != NULL)
		return hostname_override;
	if (hostname_cache == NULL) {
		char buf[256];

		if (gethostname(buf, sizeof(buf)) < 0)
			buf[0] = '\0';
		buf[sizeof(buf) - 1] = '\0';
		if (buf[0] == '\0') {
			log_warning("gethostname() gave no name, "
				    "using localhost");
			hostname_cache = xstrdup("localhost");
		} else {
			hostname_cache = xstrdup(buf);
		}
	}
	return hostname_cache;
}

char *config_expand_hostname(const char *entry, const char *hostname)
{
	const char *bang = entry[0] == '!' ? "!" : "";
	const char *rest = entry + strlen(bang);

	if (hostname == NULL)
		hostname = config_hostname();
	if (strcmp(rest, "*") == 0)
		return xasprintf("%s%s", bang, hostname);
	if (str_begins_with(rest, "*."))
		return xasprintf("%s%s%s", bang, hostname, rest + 1);
	return xstrdup(entry);
}

int config_read_domain_list(const char *name_or_path,
			    const struct config_limits *limits,
			    struct config_lines **lines_r,
			    struct config_errors *errs)
{
	int ret = config_lines_read(name_or_path, limits, lines_r, errs);

	if (ret <= 0)
		return ret;
	for (size_t i = 0; i < (*lines_r)->count; i++) {
		struct config_line *cl = &(*lines_r)->lines[i];
		char *text = (char *)cl->text;

		/* Leading blanks do not belong to a domain name. */
		while (is_blank(*text))
			text++;
		char *expanded = config_expand_hostname(text, NULL);
		free((char *)cl->text);
		cl->text = expanded;
		cl->len = strlen(expanded);
	}
	return ret;
}

bool config_domain_list_match(const char *const *entries, size_t count,
			      const char *domain)
{
	size_t dlen = strlen(domain);

	for (size_t i = 0; i < count; i++) {
		const char *e = entries[i];
		bool exclude = *e == '!';
		bool match;

		if (exclude)
			e++;
		if (*e == '.') {
			size_t elen = strlen(e);

			match = dlen > elen &&
				strcmp(domain + dlen - elen, e) == 0;
		} else {
			match = strcmp(domain, e) == 0;
		}
		if (match)
			return !exclude;
	}
	return false;
}

char *config_me(const char *vhost)
{
	char *path = config_path_for_address("me", vhost);
	char *value;
	int ret = config_read_first_line_r(path, &value, NULL, NULL);

	free(path);
	if (ret <= 0)
		return xstrdup(config_hostname());
	if (str_begins_with(value, "*.")) {
		char *expanded = config_expand_hostname(value, NULL);

		free(value);
		value = expanded;
	}
	return value;
}

/* --- per-address overrides --- */

static bool address_suffix_valid(const char *address)
{
	size_t len = strlen(address);

	if (len == 0 || len > 255 || address[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)address[i];

		if (c == '/' || c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

char *config_path_for_address(const char *name, const char *address)
{
	char *base = config_path(name);

	if (address != NULL && address_suffix_valid(address)) {
		char *candidate = xasprintf("%s.%s", base, address);

		if (path_exists(candidate)) {
			free(base);
			return candidate;
		}
		free(candidate);
	}
	return base;
}

bool config_vhost_exists(const char *key)
{
	bool exists;
	char *path, *file;

	if (key == NULL || !address_suffix_valid(key))
		return false;
	file = xasprintf("vhost.%s", key);
	path = instance_etc_path(file);
	exists = path_exists(path);
	free(path);
	free(file);
	return exists;
}

char *config_vhost_select(const char *local_ip, const char *auth_id)
{
	if (local_ip != NULL && config_vhost_exists(local_ip))
		return xstrdup(local_ip);
	if (auth_id != NULL) {
		const char *at = strrchr(auth_id, '@');

		if (at != NULL && at[1] != '\0') {
			char *domain = str_lcase(xstrdup(at + 1));

			if (config_vhost_exists(domain))
				return domain;
			free(domain);
		}
	}
	return NULL;
}
