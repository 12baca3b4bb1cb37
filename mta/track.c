/* track.c: the backscatter blacklist: hour files of delivery outcomes
 * in var/track, looked up at RCPT (see track.h). */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-file.h"
#include "instance.h"
#include "mem.h"
#include "str.h"
#include "track.h"

static char *dir_override;

void track_set_dir(const char *dir)
{
	free(dir_override);
	dir_override = dir != NULL ? xstrdup(dir) : NULL;
}

static char *track_dir(void)
{
	return dir_override != NULL ? xstrdup(dir_override) :
		instance_var_path("track");
}

static long long hour_of(time_t t)
{
	return (long long)(t < 0 ? 0 : t) / 3600;
}

/* The oldest hour file that can hold a record inside the window. */
static long long first_hour(time_t now)
{
	return hour_of(now - TRACK_WINDOW);
}

static bool address_ok(const char *address)
{
	size_t len = strlen(address);

	if (len == 0 || len > TRACK_MAX_ADDRESS)
		return false;
	for (const char *p = address; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	}
	return true;
}


/* Removes the hour files that fell out of the window. */
static void remove_old(const char *dir, time_t now)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	long long oldest = first_hour(now);

	if (dh == NULL)
		return;
	while ((de = readdir(dh)) != NULL) {
		char *end;
		long long h;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		h = strtoll(de->d_name, &end, 10);
		if (errno != 0 || *end != '\0' || h >= oldest)
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);

		(void)unlink(path);
		free(path);
	}
	closedir(dh);
}

int track_record(const char *address, enum track_status status, time_t now,
		 const char **error_r)
{
	char *dir, *path, *addr;
	struct str line;
	int fd, ret = 0;
	bool created = false;

	if (!address_ok(address))
		return 0;	/* not trackable: nothing to refuse later */
	dir = track_dir();
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		*error_r = "cannot create the track folder";
		free(dir);
		return -1;
	}
	path = xasprintf("%s/%lld", dir, hour_of(now));
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC,
		  0644);
	if (fd >= 0)
		created = true;
	else if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		*error_r = "cannot open the track file";
		free(path);
		free(dir);
		return -1;
	}
	addr = str_lcase(xstrdup(address));
	str_init(&line, 64 + strlen(addr));
	str_printfa(&line, "%c %" PRId64 " %s\n", (char)status,
		    (int64_t)now, addr);
	/* one write: O_APPEND keeps concurrent writers' lines whole */
	if (write(fd, str_c(&line), str_len(&line)) !=
	    (ssize_t)str_len(&line)) {
		*error_r = "cannot write the track file";
		ret = -1;
	}
	close(fd);
	str_free(&line);
	free(addr);
	free(path);
	if (created)
		remove_old(dir, now);
	free(dir);
	return ret;
}

size_t track_parse(const char *data, size_t len,
		   track_record_callback_t *callback, void *context)
{
	size_t count = 0;
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q, *addr;
		int64_t when = 0;
		unsigned int digits = 0;
		char status;

		if (nl == NULL)
			break;	/* a last line being written */
		q = p;
		status = *q++;
		if (status != TRACK_FAILED && status != TRACK_DEFERRED &&
		    status != TRACK_DELIVERED && status != TRACK_CLEARED)
			goto next;
		if (q >= nl || *q++ != ' ')
			goto next;
		while (q < nl && isdigit((unsigned char)*q) && digits < 18) {
			when = when * 10 + (*q++ - '0');
			digits++;
		}
		if (digits == 0 || q >= nl || *q++ != ' ')
			goto next;
		addr = q;
		if (addr == nl || (size_t)(nl - addr) > TRACK_MAX_ADDRESS)
			goto next;
		for (q = addr; q < nl; q++) {
			if ((unsigned char)*q <= ' ' || *q == 0x7f)
				goto next;
		}
		callback((enum track_status)status, (time_t)when, addr,
			 (size_t)(nl - addr), context);
		count++;
next:
		p = nl + 1;
	}
	return count;
}

/* Reads one hour file (at most TRACK_MAX_FILE bytes).  NULL when it
 * does not exist or cannot be read. */
static char *read_hour(const char *dir, long long hour, size_t *len_r)
{
	char *path = xasprintf("%s/%lld", dir, hour);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct str buf;
	char tmp[8192];
	ssize_t n;

	free(path);
	if (fd < 0)
		return NULL;
	str_init(&buf, 4096);
	while (str_len(&buf) < TRACK_MAX_FILE &&
	       (n = read(fd, tmp, sizeof(tmp))) > 0) {
		size_t room = TRACK_MAX_FILE - str_len(&buf);

		str_append_n(&buf, tmp, (size_t)n < room ? (size_t)n : room);
	}
	close(fd);
	*len_r = str_len(&buf);
	return str_steal(&buf);
}

struct lookup_ctx {
	const char *address;
	size_t len;
	time_t since;
	enum track_status status;
	time_t when;
};

static void lookup_cb(enum track_status status, time_t when,
		      const char *address, size_t address_len, void *context)
{
	struct lookup_ctx *ctx = context;

	if (address_len != ctx->len ||
	    strncasecmp(address, ctx->address, address_len) != 0 ||
	    when < ctx->since)
		return;
	ctx->status = status;
	ctx->when = when;
}

enum track_status track_lookup(const char *address, time_t now,
			       time_t *when_r)
{
	struct lookup_ctx ctx;
	char *dir;

	if (!address_ok(address))
		return TRACK_NONE;
	memset(&ctx, 0, sizeof(ctx));
	ctx.address = address;
	ctx.len = strlen(address);
	ctx.since = now - TRACK_WINDOW;
	dir = track_dir();
	for (long long h = first_hour(now); h <= hour_of(now); h++) {
		size_t len;
		char *data = read_hour(dir, h, &len);

		if (data == NULL)
			continue;
		(void)track_parse(data, len, lookup_cb, &ctx);
		free(data);
	}
	free(dir);
	if (ctx.status != TRACK_FAILED && ctx.status != TRACK_DEFERRED)
		return TRACK_NONE;
	if (when_r != NULL)
		*when_r = ctx.when;
	return ctx.status;
}

struct list_entry {
	char *address;
	enum track_status status;
	time_t when;
	size_t seq;
};

struct list_ctx {
	struct list_entry *entries;
	size_t count, alloc;
	time_t since;
};

static void list_cb(enum track_status status, time_t when,
		    const char *address, size_t address_len, void *context)
{
	struct list_ctx *ctx = context;
	struct list_entry *e;

	if (when < ctx->since)
		return;
	if (ctx->count == ctx->alloc) {
		ctx->alloc = ctx->alloc == 0 ? 64 : ctx->alloc * 2;
		ctx->entries = xreallocarray(ctx->entries, ctx->alloc,
					     sizeof(*ctx->entries));
	}
	e = &ctx->entries[ctx->count];
	e->address = str_lcase(xstrndup(address, address_len));
	e->status = status;
	e->when = when;
	e->seq = ctx->count++;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	int c = strcmp(x->address, y->address);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t track_list(time_t now, track_list_callback_t *callback,
		  void *context)
{
	struct list_ctx ctx;
	char *dir = track_dir();
	size_t listed = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.since = now - TRACK_WINDOW;
	for (long long h = first_hour(now); h <= hour_of(now); h++) {
		size_t len;
		char *data = read_hour(dir, h, &len);

		if (data == NULL)
			continue;
		(void)track_parse(data, len, list_cb, &ctx);
		free(data);
	}
	free(dir);
	if (ctx.count > 0)
		qsort(ctx.entries, ctx.count, sizeof(*ctx.entries),
		      entry_cmp);
	for (size_t i = 0; i < ctx.count; i++) {
		struct list_entry *e = &ctx.entries[i];
		bool last = i + 1 == ctx.count ||
			strcmp(e->address, ctx.entries[i + 1].address) != 0;

		if (last && (e->status == TRACK_FAILED ||
			     e->status == TRACK_DEFERRED)) {
			callback(e->address, e->status, e->when, context);
			listed++;
		}
	}
	for (size_t i = 0; i < ctx.count; i++)
		free(ctx.entries[i].address);
	free(ctx.entries);
	return listed;
}

int track_clear(const char *address, time_t now, const char **error_r)
{
	char *dir;
	DIR *dh;
	struct dirent *de;
	int ret = 0;

	if (address != NULL)
		return track_record(address, TRACK_CLEARED, now, error_r);
	dir = track_dir();
	dh = opendir(dir);
	if (dh == NULL) {
		free(dir);
		if (errno == ENOENT)
			return 0;
		*error_r = "cannot read the track folder";
		return -1;
	}
	while ((de = readdir(dh)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);

		if (unlink(path) < 0 && errno != ENOENT) {
			*error_r = "cannot remove a track file";
			ret = -1;
		}
		free(path);
	}
	closedir(dh);
	free(dir);
	return ret;
}

bool track_source_suppressed(const char *list, const char *source)
{
	const char *p = list != NULL ? list : "smtp";
	size_t slen = strlen(source);

	while (*p != '\0') {
		size_t n;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, ", \t");
		if (n == slen && n > 0 && strncasecmp(p, source, n) == 0)
			return true;
		p += n;
	}
	return false;
}

char *track_bofh_sources(void)
{
	static const char key[] = "BOFHSUPPRESSBACKSCATTER=";
	struct config_lines *lines = NULL;
	char *value = NULL;

	if (config_lines_read("bofh", NULL, &lines, NULL) <= 0)
		return NULL;
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const char *t = config_lines_get(lines, i)->text;

		if (strncasecmp(t, "opt", 3) != 0 ||
		    (t[3] != ' ' && t[3] != '\t'))
			continue;
		t += 3;
		while (*t == ' ' || *t == '\t')
			t++;
		if (strncasecmp(t, key, sizeof(key) - 1) != 0)
			continue;
		free(value);
		value = xstrdup(t + sizeof(key) - 1);
	}
	config_lines_free(&lines);
	return value;
}

const char *track_refuse(const char *address, const char *source,
			 time_t now)
{
	char *list = track_bofh_sources();
	bool suppressed = track_source_suppressed(list, source);

	free(list);
	if (!suppressed || track_lookup(address, now, NULL) == TRACK_NONE)
		return NULL;
	return "450 4.1.0 Address temporarily unavailable: delivery to it "
		"failed recently";
}
