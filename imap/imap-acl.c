/* imap-acl.c: folder ACLs in Courier's courierimapacl files, and the
 * rights they give a session (RFC 4314). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap-acl.h"
#include "log.h"
#include "maildir-folder.h"
#include "mem.h"

/* Letter for each right bit, in bit order: RFC 4314 and Courier's. */
static const char imap_letters[] = "lrswipkxtea";
static const char file_letters[] = "lrswipcxtea";

static int letter_rights(char c, unsigned int *rights)
{
	const char *p;

	if (c == 'c') {		/* Courier's create, RFC 4314's k */
		*rights |= IMAP_ACL_CREATE;
		return 0;
	}
	if (c == 'd') {		/* obsolete delete: x t e */
		*rights |= IMAP_ACL_DELETE | IMAP_ACL_DELMSG |
			   IMAP_ACL_EXPUNGE;
		return 0;
	}
	if (c == '\0' || (p = strchr(imap_letters, c)) == NULL)
		return -1;
	*rights |= 1u << (p - imap_letters);
	return 0;
}

int imap_acl_rights_parse(const char *text, bool allow_empty,
			  unsigned int *rights_r)
{
	unsigned int r = 0;

	if (*text == '\0' && !allow_empty)
		return -1;
	for (; *text != '\0'; text++)
		if (letter_rights(*text, &r) < 0)
			return -1;
	*rights_r = r;
	return 0;
}

void imap_acl_rights_append(struct str *out, unsigned int rights, bool file)
{
	const char *letters = file ? file_letters : imap_letters;

	if (file) {
		/* Courier's order: "aceilrstwx" then p */
		static const char order[] = "aceilrstwxp";
		for (const char *o = order; *o != '\0'; o++) {
			unsigned int bit = 0;
			(void)letter_rights(*o, &bit);
			if (rights & bit)
				str_append_c(out, *o);
		}
		return;
	}
	for (size_t i = 0; letters[i] != '\0'; i++)
		if (rights & (1u << i))
			str_append_c(out, letters[i]);
	if (rights & IMAP_ACL_CREATE)
		str_append_c(out, 'c');
	unsigned int d = IMAP_ACL_DELETE | IMAP_ACL_DELMSG | IMAP_ACL_EXPUNGE;
	if ((rights & d) == d)
		str_append_c(out, 'd');
}

static bool name_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c == 0x7f || c == '"' || c == '\\')
			return false;
	}
	return true;
}

bool imap_acl_id_valid(const char *id)
{
	if (strlen(id) > IMAP_ACL_ID_MAX)
		return false;
	if (*id == '-')
		id++;
	if (strcmp(id, "owner") == 0 || strcmp(id, "anyone") == 0 ||
	    strcmp(id, "anonymous") == 0 || strcmp(id, "administrators") == 0)
		return true;
	if (strncmp(id, "user=", 5) == 0)
		return name_valid(id + 5);
	if (strncmp(id, "group=", 6) == 0)
		return name_valid(id + 6);
	return false;
}

char *imap_acl_id_from_client(const char *id)
{
	if (imap_acl_id_valid(id))
		return xstrdup(id);
	bool neg = *id == '-';
	const char *name = neg ? id + 1 : id;
	if (!name_valid(name) || strchr(name, '=') != NULL)
		return NULL;
	char *ret = xasprintf("%suser=%s", neg ? "-" : "", name);
	if (!imap_acl_id_valid(ret))
		x_free(ret);
	return ret;
}

void imap_acl_free(struct imap_acl *acl)
{
	for (size_t i = 0; i < acl->count; i++)
		free(acl->entries[i].id);
	x_free(acl->entries);
	acl->count = 0;
}

void imap_acl_copy(struct imap_acl *dst, const struct imap_acl *src)
{
	dst->count = src->count;
	dst->entries = src->count == 0 ? NULL :
		       xreallocarray(NULL, src->count, sizeof(*dst->entries));
	for (size_t i = 0; i < src->count; i++) {
		dst->entries[i].id = xstrdup(src->entries[i].id);
		dst->entries[i].rights = src->entries[i].rights;
	}
}

static ssize_t find(const struct imap_acl *acl, const char *id)
{
	for (size_t i = 0; i < acl->count; i++)
		if (strcmp(acl->entries[i].id, id) == 0)
			return (ssize_t)i;
	return -1;
}

unsigned int imap_acl_get(const struct imap_acl *acl, const char *id)
{
	ssize_t i = find(acl, id);

	return i < 0 ? 0 : acl->entries[i].rights;
}

bool imap_acl_remove(struct imap_acl *acl, const char *id)
{
	ssize_t i = find(acl, id);

	if (i < 0)
		return false;
	free(acl->entries[i].id);
	memmove(&acl->entries[i], &acl->entries[i + 1],
		(acl->count - (size_t)i - 1) * sizeof(*acl->entries));
	acl->count--;
	return true;
}

int imap_acl_set(struct imap_acl *acl, const char *id, unsigned int rights)
{
	ssize_t i = find(acl, id);

	if (rights == 0) {
		(void)imap_acl_remove(acl, id);
		return 0;
	}
	if (i >= 0) {
		acl->entries[i].rights = rights;
		return 0;
	}
	if (acl->count >= IMAP_ACL_MAX_ENTRIES)
		return -1;
	acl->entries = xreallocarray(acl->entries, acl->count + 1,
				     sizeof(*acl->entries));
	acl->entries[acl->count].id = xstrdup(id);
	acl->entries[acl->count].rights = rights;
	acl->count++;
	return 0;
}

void imap_acl_default(struct imap_acl *acl)
{
	acl->entries = NULL;
	acl->count = 0;
	(void)imap_acl_set(acl, "owner", IMAP_ACL_ALL);
	(void)imap_acl_set(acl, "administrators", IMAP_ACL_ALL);
}

int imap_acl_parse(const char *data, size_t size, struct imap_acl *acl_r,
		   const char **error_r)
{
	const char *p = data, *end = data + size;

	acl_r->entries = NULL;
	acl_r->count = 0;
	if (size > IMAP_ACL_FILE_MAX) {
		*error_r = "ACL file too large";
		return -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		size_t len = (size_t)(le - p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		char *line = xstrndup(p, len);
		p = nl != NULL ? nl + 1 : end;
		if (memchr(line, '\0', len) != NULL) {
			*error_r = "NUL in the ACL file";
			goto bad;
		}
		char *id = line + strspn(line, " \t");
		if (*id == '\0') {
			free(line);
			continue;
		}
		char *sp = id + strcspn(id, " \t");
		char *rights = sp + strspn(sp, " \t");
		rights[strcspn(rights, " \t")] = '\0';
		*sp = '\0';
		unsigned int r;
		if (!imap_acl_id_valid(id)) {
			*error_r = "Invalid identifier in the ACL file";
			goto bad;
		}
		if (imap_acl_rights_parse(rights, true, &r) < 0) {
			*error_r = "Invalid rights in the ACL file";
			goto bad;
		}
		if (find(acl_r, id) >= 0) {
			*error_r = "Repeated identifier in the ACL file";
			goto bad;
		}
		if (acl_r->count >= IMAP_ACL_MAX_ENTRIES) {
			*error_r = "Too many entries in the ACL file";
			goto bad;
		}
		/* an entry with no rights is kept as written */
		acl_r->entries = xreallocarray(acl_r->entries,
					       acl_r->count + 1,
					       sizeof(*acl_r->entries));
		acl_r->entries[acl_r->count].id = xstrdup(id);
		acl_r->entries[acl_r->count].rights = r;
		acl_r->count++;
		free(line);
		continue;
	bad:
		free(line);
		imap_acl_free(acl_r);
		return -1;
	}
	return 0;
}

void imap_acl_format(const struct imap_acl *acl, struct str *out)
{
	for (size_t i = 0; i < acl->count; i++) {
		str_append(out, acl->entries[i].id);
		str_append_c(out, ' ');
		imap_acl_rights_append(out, acl->entries[i].rights, true);
		str_append_c(out, '\n');
	}
}

bool imap_acl_id_matches(const char *id, const struct imap_acl_who *who)
{
	if (*id == '-')
		id++;
	if (strcmp(id, "anyone") == 0 || strcmp(id, "anonymous") == 0)
		return true;
	if (strcmp(id, "owner") == 0)
		return who->owner != NULL && who->user != NULL &&
		       strcmp(who->owner, who->user) == 0;
	if (strncmp(id, "user=", 5) == 0)
		return who->user != NULL && strcmp(id + 5, who->user) == 0;
	const char *group = strcmp(id, "administrators") == 0 ?
				    "administrators" :
			    strncmp(id, "group=", 6) == 0 ? id + 6 :
							    NULL;
	if (group == NULL)
		return false;
	for (size_t i = 0; i < who->group_count; i++)
		if (strcmp(who->groups[i], group) == 0)
			return true;
	return false;
}

unsigned int imap_acl_compute(const struct imap_acl *acl,
			      const struct imap_acl_who *who)
{
	unsigned int plus = 0, minus = 0;

	for (size_t i = 0; i < acl->count; i++) {
		const char *id = acl->entries[i].id;

		if (!imap_acl_id_matches(id, who))
			continue;
		if (*id == '-')
			minus |= acl->entries[i].rights;
		else
			plus |= acl->entries[i].rights;
	}
	plus &= ~minus;
	if (imap_acl_id_matches("owner", who))
		plus |= IMAP_ACL_ADMIN;
	return plus;
}

char **imap_acl_groups_parse(const char *options, size_t *count_r)
{
	char **v = NULL;
	size_t n = 0;

	*count_r = 0;
	if (options == NULL)
		return NULL;
	for (const char *p = options; *p != '\0';) {
		size_t len = strcspn(p, ",");

		if (len > 6 && strncmp(p, "group=", 6) == 0 &&
		    len - 6 <= IMAP_ACL_ID_MAX && n < 64) {
			v = xreallocarray(v, n + 1, sizeof(*v));
			v[n++] = xstrndup(p + 6, len - 6);
		}
		p += len;
		if (*p == ',')
			p++;
	}
	*count_r = n;
	return v;
}

void imap_acl_groups_free(char **groups, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(groups[i]);
	free(groups);
}

int imap_acl_read_dir(const char *dir, struct imap_acl *acl_r,
		      const char **error_r)
{
	char *path = xasprintf("%s/%s", dir, IMAP_ACL_FILE);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0;
	int ret;

	acl_r->entries = NULL;
	acl_r->count = 0;
	free(path);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		*error_r = "Cannot open the ACL file";
		return -1;
	}
	buf = xmalloc(IMAP_ACL_FILE_MAX + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, IMAP_ACL_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			free(buf);
			*error_r = "Cannot read the ACL file";
			return -1;
		}
		if (r == 0 || (len += (size_t)r) > IMAP_ACL_FILE_MAX)
			break;
	}
	close(fd);
	ret = imap_acl_parse(buf, len, acl_r, error_r) < 0 ? -1 : 1;
	free(buf);
	return ret;
}

int imap_acl_write_dir(const char *dir, const struct imap_acl *acl,
		       const char **error_r)
{
	struct str s;
	char *path = xasprintf("%s/%s", dir, IMAP_ACL_FILE);
	char *tmp = xasprintf("%s/tmp/%s.%ld", dir, IMAP_ACL_FILE,
			      (long)getpid());
	int ret = -1;

	str_init(&s, 128);
	imap_acl_format(acl, &s);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, str_c(&s), str_len(&s)) == (ssize_t)str_len(&s) &&
		    fsync(fd) == 0)
			ret = 0;
		if (close(fd) != 0)
			ret = -1;
		if (ret == 0 && rename(tmp, path) < 0)
			ret = -1;
		if (ret < 0)
			unlink(tmp);
	}
	if (ret < 0)
		*error_r = "Cannot write the ACL file";
	str_free(&s);
	free(tmp);
	free(path);
	return ret;
}

void imap_acl_load(const char *root, const char *folder,
		   struct imap_acl *acl_r)
{
	char *name = xstrdup(folder);
	const char *error;

	for (;;) {
		char *dir = name[0] == '\0' ? xstrdup(root) :
					      maildir_folder_path(root, name);
		int r = dir != NULL ? imap_acl_read_dir(dir, acl_r, &error) :
				      0;
		if (r < 0)
			log_warning("imapd: %s: %s", dir, error);
		free(dir);
		if (r < 0) {
			/* nothing for anyone: the owner (who keeps the
			 * administer right) can set it again */
			acl_r->entries = NULL;
			acl_r->count = 0;
			break;
		}
		if (r > 0)
			break;
		if (name[0] == '\0') {
			imap_acl_default(acl_r);
			break;
		}
		char *dot = strrchr(name, '.');
		if (dot != NULL)
			*dot = '\0';
		else
			name[0] = '\0';
	}
	free(name);
}
