/* auth-record.c: the account record, its options and its authdaemon wire
 * form. */
#include "config.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth-record.h"
#include "mem.h"
#include "secure.h"

void auth_record_init(struct auth_record *rec)
{
	memset(rec, 0, sizeof(*rec));
}

static void wipe_free(char **p)
{
	if (*p != NULL) {
		secure_wipe(*p, strlen(*p));
		x_free(*p);
	}
}

void auth_record_free(struct auth_record *rec)
{
	if (rec == NULL)
		return;
	x_free(rec->address);
	x_free(rec->sysusername);
	x_free(rec->home);
	x_free(rec->maildir);
	x_free(rec->quota);
	wipe_free(&rec->passwd);
	wipe_free(&rec->clearpasswd);
	wipe_free(&rec->hmac_md5pw);
	x_free(rec->fullname);
	x_free(rec->options);
	auth_record_init(rec);
}

static char *dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

void auth_record_copy(struct auth_record *dest, const struct auth_record *src)
{
	auth_record_init(dest);
	dest->address = dup_or_null(src->address);
	dest->sysusername = dup_or_null(src->sysusername);
	dest->has_uid = src->has_uid;
	dest->uid = src->uid;
	dest->gid = src->gid;
	dest->home = dup_or_null(src->home);
	dest->maildir = dup_or_null(src->maildir);
	dest->quota = dup_or_null(src->quota);
	dest->passwd = dup_or_null(src->passwd);
	dest->clearpasswd = dup_or_null(src->clearpasswd);
	dest->fullname = dup_or_null(src->fullname);
	dest->options = dup_or_null(src->options);
	dest->hmac_md5pw = dup_or_null(src->hmac_md5pw);
}

void auth_record_set(char **field, const char *value)
{
	char *copy = dup_or_null(value);
	wipe_free(field);
	*field = copy;
}

void auth_record_maildir(const struct auth_record *rec, struct str *dest)
{
	if (rec->maildir != NULL && rec->maildir[0] != '\0') {
		str_append(dest, rec->maildir);
		return;
	}
	if (rec->home != NULL)
		str_append(dest, rec->home);
	str_append(dest, "/Maildir");
}

static bool field_ok(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") == NULL;
}

int auth_record_validate(const struct auth_record *rec, const char **error_r)
{
	static const struct {
		size_t offset;
		const char *name;
	} fields[] = {
		{offsetof(struct auth_record, address),
			"ADDRESS contains a line break"},
		{offsetof(struct auth_record, sysusername),
			"USERNAME contains a line break"},
		{offsetof(struct auth_record, home),
			"HOME contains a line break"},
		{offsetof(struct auth_record, maildir),
			"MAILDIR contains a line break"},
		{offsetof(struct auth_record, quota),
			"QUOTA contains a line break"},
		{offsetof(struct auth_record, passwd),
			"PASSWD contains a line break"},
		{offsetof(struct auth_record, clearpasswd),
			"PASSWD2 contains a line break"},
		{offsetof(struct auth_record, fullname),
			"NAME contains a line break"},
		{offsetof(struct auth_record, options),
			"OPTIONS contains a line break"},
	};
	for (size_t i = 0; i < N_ELEMENTS(fields); i++) {
		const char *v =
			*(char *const *)(const void *)((const char *)rec +
						       fields[i].offset);
		if (!field_ok(v)) {
			*error_r = fields[i].name;
			return -1;
		}
	}
	if (rec->address == NULL || rec->address[0] == '\0') {
		*error_r = "no ADDRESS";
		return -1;
	}
	if (rec->home == NULL || rec->home[0] == '\0') {
		*error_r = "no HOME";
		return -1;
	}
	if (!rec->has_uid &&
		(rec->sysusername == NULL || rec->sysusername[0] == '\0')) {
		*error_r = "neither UID nor USERNAME";
		return -1;
	}
	return 0;
}

/* ---- options ---- */

/* Finds name in options; returns a pointer to its value and its length,
 * or NULL.  A bare "name" gives "" with *bare_r true. */
static const char *options_find(
	const char *options, const char *name, size_t *len_r, bool *bare_r)
{
	const char *found = NULL;
	size_t name_len = strlen(name);
	const char *p = options;

	if (options == NULL || name_len == 0)
		return NULL;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *key_end = eq != NULL ? eq : end;
		if ((size_t)(key_end - p) == name_len &&
			memcmp(p, name, name_len) == 0) {
			if (eq != NULL) {
				found = eq + 1;
				*len_r = (size_t)(end - eq - 1);
				*bare_r = false;
			} else {
				found = end;
				*len_r = 0;
				*bare_r = true;
			}
		}
		p = *end == ',' ? end + 1 : end;
	}
	return found;
}

int auth_options_get(const char *options, const char *name, char **value_r)
{
	size_t len = 0;
	bool bare = false;
	const char *v = options_find(options, name, &len, &bare);

	*value_r = NULL;
	if (v == NULL)
		return 0;
	*value_r = bare ? xstrdup("1") : xstrndup(v, len);
	return 1;
}

bool auth_options_get_bool(const char *options, const char *name, bool def)
{
	char *v;
	bool result;

	if (auth_options_get(options, name, &v) == 0)
		return def;
	result = !(v[0] == '\0' || strcmp(v, "0") == 0 ||
		   strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
		   strcasecmp(v, "off") == 0);
	free(v);
	return result;
}

int auth_record_option(
	const struct auth_record *rec, const char *name, char **value_r)
{
	return auth_options_get(rec->options, name, value_r);
}

bool auth_record_option_bool(
	const struct auth_record *rec, const char *name, bool def)
{
	return auth_options_get_bool(rec->options, name, def);
}

bool auth_record_service_disabled(
	const struct auth_record *rec, const char *service)
{
	struct str key;
	bool disabled;

	if (service == NULL || service[0] == '\0')
		return false;
	str_init(&key, 32);
	str_append(&key, "disable");
	str_append(&key, service);
	str_lcase(key.data);
	disabled = auth_record_option_bool(rec, str_c(&key), false);
	str_free(&key);
	return disabled;
}

void auth_record_merge_options(struct auth_record *rec, const char *defaults)
{
	struct str merged;
	const char *p = defaults;

	if (defaults == NULL || defaults[0] == '\0')
		return;
	str_init(&merged, 64);
	if (rec->options != NULL)
		str_append(&merged, rec->options);
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		size_t key_len = (size_t)((eq != NULL ? eq : end) - p);
		if (key_len > 0) {
			char *key = xstrndup(p, key_len);
			size_t vlen;
			bool bare;
			if (options_find(rec->options, key, &vlen, &bare) ==
				NULL) {
				if (merged.len > 0)
					str_append_c(&merged, ',');
				str_append_n(&merged, p, (size_t)(end - p));
			}
			free(key);
		}
		p = *end == ',' ? end + 1 : end;
	}
	free(rec->options);
	rec->options = merged.len > 0 ? str_steal(&merged) : NULL;
	str_free(&merged);
}

/* ---- writing ---- */

static void put(struct str *dest, const char *key, const char *value)
{
	if (value == NULL)
		return;
	str_printfa(dest, "%s=%s\n", key, value);
}

int auth_record_write(const struct auth_record *rec, bool include_passwords,
	struct str *dest, const char **error_r)
{
	if (auth_record_validate(rec, error_r) < 0)
		return -1;
	put(dest, "USERNAME", rec->sysusername);
	if (rec->has_uid) {
		str_printfa(dest, "UID=%lu\nGID=%lu\n", (unsigned long)rec->uid,
			(unsigned long)rec->gid);
	}
	put(dest, "HOME", rec->home);
	put(dest, "ADDRESS", rec->address);
	put(dest, "NAME", rec->fullname);
	put(dest, "MAILDIR", rec->maildir);
	put(dest, "QUOTA", rec->quota);
	if (include_passwords) {
		put(dest, "PASSWD", rec->passwd);
		put(dest, "PASSWD2", rec->clearpasswd);
	}
	put(dest, "OPTIONS", rec->options);
	str_append(dest, ".\n");
	return 0;
}

/* ---- reading ---- */

struct auth_reply_parser {
	struct str line;
	size_t max_size;
	size_t total;
	bool finished;
	bool seen_uid, seen_gid;
	struct auth_record rec;
};

struct auth_reply_parser *auth_reply_parser_create(size_t max_size)
{
	struct auth_reply_parser *p = xcalloc(1, sizeof(*p));
	p->max_size = max_size == 0 ? AUTH_RECORD_MAX_SIZE : max_size;
	str_init(&p->line, 128);
	auth_record_init(&p->rec);
	return p;
}

void auth_reply_parser_destroy(struct auth_reply_parser **parser)
{
	struct auth_reply_parser *p = *parser;
	if (p == NULL)
		return;
	secure_wipe(p->line.data, p->line.size);
	str_free(&p->line);
	auth_record_free(&p->rec);
	free(p);
	*parser = NULL;
}

static int parse_id(const char *s, unsigned long *id_r)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX - 1)
		return -1;
	*id_r = (unsigned long)v;
	return 0;
}

/* Handles one complete line (without the LF).  Returns MORE, RECORD,
 * FAIL or ERROR. */
static enum auth_reply_status parse_line(
	struct auth_reply_parser *p, char *line, const char **error_r)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
		{"USERNAME", offsetof(struct auth_record, sysusername)},
		{"HOME", offsetof(struct auth_record, home)},
		{"ADDRESS", offsetof(struct auth_record, address)},
		{"NAME", offsetof(struct auth_record, fullname)},
		{"MAILDIR", offsetof(struct auth_record, maildir)},
		{"QUOTA", offsetof(struct auth_record, quota)},
		{"PASSWD", offsetof(struct auth_record, passwd)},
		{"PASSWD2", offsetof(struct auth_record, clearpasswd)},
		{"OPTIONS", offsetof(struct auth_record, options)},
	};
	if (strcmp(line, ".") == 0) {
		if (p->seen_uid != p->seen_gid) {
			*error_r = "UID without GID or GID without UID";
			return AUTH_REPLY_ERROR;
		}
		if (p->rec.address == NULL && p->rec.sysusername == NULL) {
			*error_r = "reply has neither ADDRESS nor USERNAME";
			return AUTH_REPLY_ERROR;
		}
		p->rec.has_uid = p->seen_uid;
		return AUTH_REPLY_RECORD;
	}
	if (strcmp(line, "FAIL") == 0 && p->total == strlen("FAIL\n"))
		return AUTH_REPLY_FAIL;
	if (memchr(line, '\0', strlen(line)) != NULL ||
		strchr(line, '\r') != NULL) {
		*error_r = "control character in reply";
		return AUTH_REPLY_ERROR;
	}
	char *eq = strchr(line, '=');
	if (eq == NULL || eq == line) {
		*error_r = "reply line is not KEY=value";
		return AUTH_REPLY_ERROR;
	}
	*eq = '\0';
	const char *value = eq + 1;
	if (strcmp(line, "UID") == 0 || strcmp(line, "GID") == 0) {
		unsigned long id;
		if (parse_id(value, &id) < 0) {
			*error_r = "bad UID or GID in reply";
			return AUTH_REPLY_ERROR;
		}
		if (line[0] == 'U') {
			p->rec.uid = (uid_t)id;
			p->seen_uid = true;
		} else {
			p->rec.gid = (gid_t)id;
			p->seen_gid = true;
		}
		return AUTH_REPLY_MORE;
	}
	for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
		if (strcmp(line, keys[i].key) == 0) {
			char **field = (char **)(void *)((char *)&p->rec +
							 keys[i].offset);
			auth_record_set(field, value);
			break;
		}
	}
	return AUTH_REPLY_MORE;
}

enum auth_reply_status auth_reply_parser_feed(struct auth_reply_parser *p,
	const void *data, size_t len, size_t *used_r, struct auth_record *rec_r,
	const char **error_r)
{
	const char *d = data;
	size_t i = 0;
	enum auth_reply_status status = AUTH_REPLY_MORE;

	*error_r = NULL;
	if (used_r != NULL)
		*used_r = 0;
	if (p->finished) {
		*error_r = "reply already complete";
		return AUTH_REPLY_ERROR;
	}
	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (d + i)) : len - i;
		if (p->total + n + (nl != NULL ? 1 : 0) > p->max_size) {
			*error_r = "reply too long";
			status = AUTH_REPLY_ERROR;
			i += n;
			break;
		}
		if (memchr(d + i, '\0', n) != NULL) {
			*error_r = "NUL in reply";
			status = AUTH_REPLY_ERROR;
			i += n;
			break;
		}
		str_append_n(&p->line, d + i, n);
		p->total += n;
		i += n;
		if (nl == NULL)
			break;
		i++;
		p->total++;
		status = parse_line(p, p->line.data, error_r);
		secure_wipe(p->line.data, p->line.len);
		str_clear(&p->line);
		if (status != AUTH_REPLY_MORE)
			break;
	}
	if (used_r != NULL)
		*used_r = i;
	if (status != AUTH_REPLY_MORE)
		p->finished = true;
	if (status == AUTH_REPLY_RECORD) {
		*rec_r = p->rec;
		auth_record_init(&p->rec);
	}
	return status;
}
