/* dotcourier.c: which dot-courier file applies to an address extension
 * (dot-courier(5)), for courierlocal and esmtpd's RCPT check. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-file.h"
#include "dotcourier.h"
#include "mem.h"

char *dotcourier_separators(void)
{
	char *line = config_read_first_line("defaultsep", "+");
	char out[DOTCOURIER_MAX_SEPARATORS + 1];
	size_t n = 0;

	if (line == NULL)
		return xstrdup("+");
	out[0] = '\0';
	for (const char *p = line; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f || c == '@' || c == '.' ||
		    c == '/' || c == '-' || strchr(out, c) != NULL)
			continue;	/* not a separator, or seen already */
		if (n >= DOTCOURIER_MAX_SEPARATORS)
			break;
		out[n++] = (char)c;
		out[n] = '\0';
	}
	free(line);
	return xstrdup(out);
}

void dotcourier_map_separators(char *local, const char *seps)
{
	if (seps == NULL || *seps == '\0')
		return;
	for (char *p = local; *p != '\0'; p++) {
		if (strchr(seps, *p) != NULL)
			*p = '-';
	}
}

char *dotcourier_ext_name(const char *ext)
{
	size_t len = strlen(ext);
	char *name;

	if (len > DOTCOURIER_MAX_EXT)
		return NULL;
	name = xstrdup(ext);
	for (char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/' || c < ' ' || c == 0x7f) {
			free(name);
			return NULL;
		}
		if (c == '.')
			*p = ':';
	}
	return name;
}

/* 1 name exists in dirfd, 0 it does not, -1 cannot tell (errno). */
static int exists(int dirfd, const char *name)
{
	if (faccessat(dirfd, name, F_OK, AT_EACCESS) == 0)
		return 1;
	if (errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG)
		return 0;
	return -1;
}

/* Tries the file name; 1 with *name_r, 0, -1. */
static int try_name(int dirfd, char *name, char **name_r)
{
	int r = exists(dirfd, name);

	if (r == 1) {
		*name_r = name;
		return 1;
	}
	free(name);
	return r;
}

int dotcourier_find(int dirfd, const char *ext, char **name_r)
{
	char *e;
	int r;

	*name_r = NULL;
	if (*ext == '\0')
		return try_name(dirfd, xstrdup(".courier"), name_r);
	e = dotcourier_ext_name(ext);
	if (e == NULL)
		return 0;
	r = try_name(dirfd, xasprintf(".courier-%s", e), name_r);
	/* .courier-a-b-default, .courier-a-default, .courier-default */
	while (r == 0) {
		char *dash = strrchr(e, '-');

		if (dash == NULL)
			break;
		*dash = '\0';
		if (*e == '\0')
			break;	/* "-x": no empty prefix */
		r = try_name(dirfd, xasprintf(".courier-%s-default", e),
			     name_r);
	}
	if (r == 0)
		r = try_name(dirfd, xstrdup(".courier-default"), name_r);
	free(e);
	return r;
}

int dotcourier_find_in(const char *path, const char *ext, char **name_r)
{
	int fd, r, err;

	*name_r = NULL;
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = dotcourier_find(fd, ext, name_r);
	err = errno;
	close(fd);
	errno = err;
	return r;
}
