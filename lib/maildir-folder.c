/* maildir-folder.c: Maildir++ folders: names, create, delete, rename, list. */
#include "config.h"
#include "maildir-folder.h"
#include "maildir.h"
#include "mutf7.h"
#include "mem.h"
#include "str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deepest directory tree under a folder we are willing to remove
 * (a folder holds cur/, new/, tmp/, courierimapkeywords/...). */
#define FOLDER_DELETE_MAX_DEPTH 8

static _Thread_local char folder_errbuf[512];

static void set_error(const char **error_r, const char *what,
		      const char *path, int err)
{
	snprintf(folder_errbuf, sizeof(folder_errbuf), "%s(%s): %s", what,
		 path, strerror(err));
	if (error_r != NULL)
		*error_r = folder_errbuf;
	errno = err;
}

bool maildir_folder_name_valid(const char *name)
{
	size_t len = strlen(name), i;
	char *dir;
	bool ok;

	if (len == 0 || name[0] == '.' || name[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
		if (c == '.' && name[i + 1] == '.')
			return false;
	}
	if (!mutf7_utf8_valid(name, len))
		return false;
	dir = mutf7_encode_dup(name);
	ok = dir != NULL && strlen(dir) + 1 <= MAILDIR_NAME_MAX;
	free(dir);
	return ok;
}

char *maildir_folder_dirname(const char *name)
{
	char *enc, *ret;

	if (!maildir_folder_name_valid(name))
		return NULL;
	enc = mutf7_encode_dup(name);
	ret = xasprintf(".%s", enc);
	free(enc);
	return ret;
}

char *maildir_folder_name_from_dirname(const char *dirname)
{
	char *name;

	if (dirname[0] != '.')
		return NULL;
	name = mutf7_decode_dup(dirname + 1);
	if (name != NULL && !maildir_folder_name_valid(name))
		x_free(name);
	return name;
}

char *maildir_folder_path(const char *root, const char *name)
{
	char *dir = maildir_folder_dirname(name), *ret;

	if (dir == NULL)
		return NULL;
	ret = xasprintf("%s/%s", root, dir);
	free(dir);
	return ret;
}

int maildir_folder_create(const char *root, const char *name,
			  const char **error_r)
{
	char *path = maildir_folder_path(root, name), *marker;
	bool existed;
	int fd;

	if (path == NULL) {
		set_error(error_r, "create", name, EINVAL);
		return -1;
	}
	existed = maildir_is_maildir(path);
	if (maildir_create(path, error_r) < 0) {
		free(path);
		return -1;
	}
	marker = xasprintf("%s/maildirfolder", path);
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		set_error(error_r, "open", marker, errno);
		free(marker);
		free(path);
		return -1;
	}
	close(fd);
	free(marker);
	free(path);
	return existed ? 0 : 1;
}

/* Removes everything inside the directory open as dfd, then closes it. */
static int remove_tree_at(int dfd, unsigned depth)
{
	struct dirent *de;
	DIR *dp;
	int fd, ret = 0;

	dp = fdopendir(dfd);
	if (dp == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(dp), de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM)
			continue; /* gone already, or a later rmdir fails */
		if (depth >= FOLDER_DELETE_MAX_DEPTH) {
			ret = -1;
			errno = ELOOP;
			continue;
		}
		fd = openat(dirfd(dp), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || remove_tree_at(fd, depth + 1) < 0 ||
		    unlinkat(dirfd(dp), de->d_name, AT_REMOVEDIR) < 0)
			ret = -1;
	}
	closedir(dp);
	return ret;
}

static int remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (remove_tree_at(fd, 0) < 0)
		return -1;
	return rmdir(path);
}

int maildir_folder_delete(const char *root, const char *name,
			  const char **error_r)
{
	char *path = maildir_folder_path(root, name), *aside, *unique;
	struct stat st;

	if (path == NULL) {
		set_error(error_r, "delete", name, EINVAL);
		return -1;
	}
	if (lstat(path, &st) < 0 && errno == ENOENT) {
		free(path);
		return 0;
	}
	/* Rename it into tmp/ first: atomic, and off every folder list. */
	unique = maildir_unique_name(NULL);
	aside = xasprintf("%s/tmp/%s.deleted", root, unique);
	free(unique);
	if (rename(path, aside) < 0) {
		int err = errno;
		/* ENOENT: the folder went away meanwhile, or tmp/ is missing */
		int ret = err == ENOENT && lstat(path, &st) < 0 ? 0 : -1;

		if (ret < 0)
			set_error(error_r, "rename", path, err);
		free(aside);
		free(path);
		return ret;
	}
	if (remove_tree(aside) < 0) {
		set_error(error_r, "remove", aside, errno);
		free(aside);
		free(path);
		return -1;
	}
	free(aside);
	free(path);
	return 1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int maildir_folder_list(const char *root, struct maildir_folder_list **list_r,
			const char **error_r)
{
	struct maildir_folder_list *l;
	struct dirent *de;
	struct stat st;
	size_t alloc = 0;
	char *name, *path;
	DIR *dp;

	dp = opendir(root);
	if (dp == NULL) {
		set_error(error_r, "opendir", root, errno);
		return -1;
	}
	l = xcalloc(1, sizeof(*l));
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		name = maildir_folder_name_from_dirname(de->d_name);
		if (name == NULL)
			continue;
		path = xasprintf("%s/%s", root, de->d_name);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    !maildir_is_maildir(path)) {
			free(path);
			free(name);
			continue;
		}
		free(path);
		if (l->count == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			l->names = xreallocarray(l->names, alloc,
						 sizeof(*l->names));
		}
		l->names[l->count++] = name;
	}
	closedir(dp);
	if (l->count > 0)
		qsort(l->names, l->count, sizeof(*l->names), name_cmp);
	*list_r = l;
	return 0;
}

void maildir_folder_list_free(struct maildir_folder_list **_l)
{
	struct maildir_folder_list *l = *_l;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
	free(l);
	*_l = NULL;
}

/* True if name is prefix itself or one of its subfolders. */
static bool in_subtree(const char *name, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(name, prefix, len) == 0 &&
	       (name[len] == '\0' || name[len] == '.');
}

int maildir_folder_rename(const char *root, const char *oldname,
			  const char *newname, const char **error_r)
{
	struct maildir_folder_list *l;
	char **from, **to;
	struct stat st;
	size_t i, n = 0;
	int ret = 1;

	if (!maildir_folder_name_valid(oldname) ||
	    !maildir_folder_name_valid(newname) ||
	    in_subtree(newname, oldname)) {
		set_error(error_r, "rename", newname, EINVAL);
		return -1;
	}
	if (maildir_folder_list(root, &l, error_r) < 0)
		return -1;
	from = xcalloc(l->count + 1, sizeof(*from));
	to = xcalloc(l->count + 1, sizeof(*to));
	for (i = 0; i < l->count && ret > 0; i++) {
		char *target;

		if (!in_subtree(l->names[i], oldname))
			continue;
		target = xasprintf("%s%s", newname,
				   l->names[i] + strlen(oldname));
		from[n] = maildir_folder_path(root, l->names[i]);
		to[n] = maildir_folder_path(root, target);
		if (to[n] == NULL) {
			set_error(error_r, "rename", target, EINVAL);
			ret = -1;
		} else if (lstat(to[n], &st) == 0) {
			set_error(error_r, "rename", target, EEXIST);
			ret = -1;
		}
		free(target);
		n++;
	}
	if (ret > 0 && n == 0)
		ret = 0;
	for (i = 0; i < n && ret > 0; i++) {
		if (rename(from[i], to[i]) < 0) {
			set_error(error_r, "rename", from[i], errno);
			ret = -1;
		}
	}
	for (i = 0; i < n; i++) {
		free(from[i]);
		free(to[i]);
	}
	free(from);
	free(to);
	maildir_folder_list_free(&l);
	return ret;
}
