/* maildirmake.c: creates maildirs, folders, quotas and shared folders
 * (Courier's maildirmake(1)).
 *
 * maildirmake [-S] [-q quota] [-f folder | -F folder] [-s mode] maildir
 * maildirmake --add nick=path maildir
 * maildirmake --del nick maildir
 *
 * Exit codes: 0 done, 1 on any error (as Courier's maildirmake). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "charset.h"
#include "maildir-folder.h"
#include "maildir-quota.h"
#include "maildir.h"
#include "mem.h"
#include "mutf7.h"
#include "str.h"

#define SHARED_LIST "shared-maildirs"
#define SHARED_DIR "shared-folders"
#define SHARED_LIST_MAX (1024 * 1024)

static void usage(void)
{
	fprintf(stderr, "Usage: maildirmake [ options ] maildir\n");
	exit(1);
}

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "maildirmake: %s: %s\n", what, why);
	return 1;
}

/* -s mode: "read" or "write", optionally with "group". */
struct share_mode {
	bool write;
	bool group;
};

static void parse_share_mode(const char *s, struct share_mode *m)
{
	char **words = str_split(s, ",");

	for (size_t i = 0; words[i] != NULL; i++) {
		if (strcmp(words[i], "write") == 0)
			m->write = true;
		else if (strcmp(words[i], "read") == 0)
			m->write = false;
		else if (strcmp(words[i], "group") == 0)
			m->group = true;
	}
	str_split_free(&words);
}

/* Permissions of a shared folder (directory, its tmp/new/cur), as
 * Courier sets them: a writable folder is sticky so users only remove
 * their own messages. */
static int share_folder(const char *path, const struct share_mode *m)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	mode_t other = m->group ? 0 : (m->write ? 07 : 05);
	mode_t group = m->write ? 070 : 050;
	mode_t dir = 01700 | 050 | (m->group ? 0 : 05);
	mode_t sub = 0700 | group | other | (m->write ? 01000 : 0);

	if (!m->write)
		dir &= ~(mode_t)01000;
	if (chmod(path, dir) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *p = xasprintf("%s/%s", path, subs[i]);
		int rc = chmod(p, sub);

		free(p);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The UTF-8 name of folder arg: -f gives it in modified UTF-7 as it is
 * on disk, -F in the locale's character set. */
static char *folder_name(const char *arg, bool locale_charset)
{
	if (!locale_charset) {
		if (!mutf7_utf8_valid(arg, strlen(arg)))
			return NULL;
		return mutf7_decode_dup(arg);
	}
	{
		const char *cs = nl_langinfo(CODESET);
		struct str s;

		if (cs == NULL || charset_is_utf8(cs))
			return charset_utf8_is_valid(arg, strlen(arg)) ?
				xstrdup(arg) : NULL;
		str_init(&s, strlen(arg) * 2 + 8);
		if (charset_to_utf8(cs, arg, strlen(arg), &s) != CHARSET_RESULT_OK) {
			str_free(&s);
			return NULL;
		}
		return str_steal(&s);
	}
}

static int make_folder(const char *root, const char *arg, bool locale_cs,
		       const struct share_mode *share)
{
	char *name = folder_name(arg, locale_cs), *path;
	const char *err;
	int rc;

	if (name == NULL || !maildir_folder_name_valid(name)) {
		fprintf(stderr, "Invalid folder name: %s\n", arg);
		free(name);
		return 1;
	}
	if (!maildir_is_maildir(root)) {
		free(name);
		return fail(root, "not a maildir");
	}
	path = maildir_folder_path(root, name);
	rc = maildir_folder_create(root, name, &err);
	free(name);
	if (rc <= 0) {
		rc = fail(path, rc == 0 ? strerror(EEXIST) : err);
		free(path);
		return rc;
	}
	if (share != NULL && share_folder(path, share) < 0) {
		rc = fail(path, strerror(errno));
		free(path);
		return rc;
	}
	free(path);
	return 0;
}

static int set_quota(const char *dir, const char *quota)
{
	struct maildir_quota_spec spec;
	struct maildir_quota *q = NULL;
	const char *err;
	char *marker = xasprintf("%s/maildirfolder", dir), *root;
	int rc;

	if (maildir_quota_spec_parse(quota, strlen(quota), &spec) < 0 ||
	    (spec.bytes == 0 && spec.count == 0)) {
		free(marker);
		fprintf(stderr, "maildirmake: invalid quota: %s\n", quota);
		return 1;
	}
	/* the quota belongs to the root maildir */
	root = access(marker, F_OK) == 0 ? xasprintf("%s/..", dir) :
		xstrdup(dir);
	free(marker);
	rc = maildir_quota_open(root, quota, &q, &err);
	if (rc > 0)
		rc = maildir_quota_recalculate(q, &err);
	maildir_quota_close(&q);
	if (rc < 0) {
		rc = fail(root, err);
		free(root);
		return rc;
	}
	free(root);
	return 0;
}

/* Reads maildir/shared-maildirs into lines ("" if missing). */
static int read_shared_list(const char *path, struct str *out)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (str_len(out) + (size_t)n > SHARED_LIST_MAX) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		str_append_n(out, buf, (size_t)n);
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

/* Writes path atomically (tmp file, rename). */
static int write_file_atomic(const char *path, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	ssize_t n = 0;

	if (fd < 0) {
		free(tmp);
		return -1;
	}
	if (len > 0)
		n = write(fd, data, len);
	if (n != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		int e = errno;

		(void)unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	return 0;
}

/* A nickname: non-empty, printable, no '.', '/' or white space. */
static bool nick_valid(const char *nick, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)nick[i];

		if (c <= ' ' || c == 0x7f || c == '.' || c == '/')
			return false;
	}
	return true;
}

/* Removes path and everything under it (no symlinks followed). */
static void remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		(void)unlink(path);
		return;
	}
	d = opendir(path);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *sub;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			sub = xasprintf("%s/%s", path, de->d_name);
			remove_tree(sub);
			free(sub);
		}
		closedir(d);
	}
	(void)rmdir(path);
}

/* --add nick=path (add is true) or --del nick. */
static int edit_shared(const char *maildir, const char *arg, bool add)
{
	const char *eq = add ? strchr(arg, '=') : NULL;
	size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	char *list = xasprintf("%s/" SHARED_LIST, maildir);
	struct str old, out;
	const char *p, *end;
	bool found = false;
	int rc = 0;

	if (add && (eq == NULL || eq[1] == '\0'))
		usage();
	if (!nick_valid(arg, nlen)) {
		fprintf(stderr, "%.*s: invalid name\n", (int)nlen, arg);
		free(list);
		return 1;
	}
	if (add && strchr(eq + 1, '\n') != NULL) {
		fprintf(stderr, "%s: invalid path\n", eq + 1);
		free(list);
		return 1;
	}
	if (add) {
		struct stat st;
		int e = stat(eq + 1, &st) < 0 ? errno :
			!S_ISDIR(st.st_mode) ? ENOTDIR : 0;

		if (e != 0) {
			fprintf(stderr, "%s: %s\n", eq + 1, strerror(e));
			free(list);
			return 1;
		}
	}
	if (!maildir_is_maildir(maildir)) {
		free(list);
		return fail(maildir, "not a maildir");
	}
	str_init(&old, 1024);
	str_init(&out, 1024);
	if (read_shared_list(list, &old) < 0) {
		rc = fail(list, strerror(errno));
		goto out;
	}
	/* keep every line but the one of this nickname */
	for (p = str_c(&old); *p != '\0'; p = end) {
		const char *nl = strchr(p, '\n');
		size_t ll;

		end = nl != NULL ? nl + 1 : p + strlen(p);
		ll = (size_t)(end - p) - (nl != NULL ? 1 : 0);
		if (ll > nlen && p[nlen] == '\t' && memcmp(p, arg, nlen) == 0) {
			found = true;
			continue;
		}
		if (ll == 0)
			continue;
		str_append_n(&out, p, ll);
		str_append_c(&out, '\n');
	}
	if (!add && !found) {
		fprintf(stderr, "%s: not found.\n", arg);
		rc = 1;
		goto out;
	}
	if (add) {
		str_append_n(&out, arg, nlen);
		str_append_c(&out, '\t');
		str_append(&out, eq + 1);
		str_append_c(&out, '\n');
	}
	if (write_file_atomic(list, str_c(&out), str_len(&out)) < 0) {
		rc = fail(list, strerror(errno));
		goto out;
	}
	if (!add) {
		/* the links a client made for this collection go too */
		char *dir = xasprintf("%s/" SHARED_DIR "/%s", maildir, arg);

		remove_tree(dir);
		free(dir);
	}
out:
	str_free(&old);
	str_free(&out);
	free(list);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "add", required_argument, NULL, 'a' },
		{ "del", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *quota = NULL, *folder = NULL, *add = NULL, *del = NULL;
	const char *maildir, *err;
	bool sharable = false, locale_cs = false, have_share = false;
	struct share_mode share = { false, false };
	int opt;

	setlocale(LC_CTYPE, "");
	while ((opt = getopt_long(argc, argv, "Sq:f:F:s:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'S': sharable = true; break;
		case 'q': quota = optarg; break;
		case 'f': folder = optarg; locale_cs = false; break;
		case 'F': folder = optarg; locale_cs = true; break;
		case 's':
			have_share = true;
			parse_share_mode(optarg, &share);
			break;
		case 'a': add = optarg; break;
		case 'd': del = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	maildir = argv[optind];
	if (add != NULL || del != NULL) {
		if (add != NULL && del != NULL)
			usage();
		return edit_shared(maildir, add != NULL ? add : del,
				   add != NULL);
	}
	if (folder != NULL) {
		int rc = make_folder(maildir, folder, locale_cs,
				     have_share ? &share : NULL);

		if (rc == 0 && quota != NULL)
			rc = set_quota(maildir, quota);
		return rc;
	}
	if (quota != NULL && maildir_is_maildir(maildir))
		return set_quota(maildir, quota);
	if (mkdir(maildir, 0700) < 0)
		return fail(maildir, strerror(errno));
	if (maildir_create(maildir, &err) < 0)
		return fail(maildir, err);
	if (sharable && chmod(maildir, 0755) < 0)
		return fail(maildir, strerror(errno));
	if (quota != NULL)
		return set_quota(maildir, quota);
	return 0;
}
