/* makealiases.c: compiles the aliases control file (or folder) into
 * etc/aliases.dat, as makealiases(8) does.
 *
 *   makealiases [-src=PATH] [-alias=PATH] [-chk] [-dump]
 *
 * -src: the source (default etc/aliases, a file or a folder of files);
 * -alias: the database to write (default etc/aliases.dat); -chk: check
 * the source and report, write nothing; -dump: print the aliases as
 * compiled ("name: item, item", includes expanded).  Errors are printed
 * as "file:line: message" and nothing is replaced; exit status 0 when
 * the database was written (or -chk found nothing wrong), 1 otherwise.
 *
 * Program ("|cmd") and mailbox ("/path") items are written to a
 * dot-courier file per alias in etc/aliases.dir (replaced whole), which
 * the local delivery module follows as the folder's owner: when run as
 * root, the owner of etc/aliasdir if it exists, else the "vmail" user
 * (courier-setup's store owner), else "mail". */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "config-file.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "route.h"
#include "str.h"

static char *read_include(const char *path, size_t *size_r,
			  const char **error_r, void *context)
{
	static char err[512];
	char *full = *path == '/' ? xstrdup(path) : config_path(path);
	struct str data;
	int fd;

	(void)context;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		*error_r = err;
		free(full);
		return NULL;
	}
	free(full);
	str_init(&data, 4096);
	for (;;) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, sizeof(err), "%s", strerror(errno));
			*error_r = err;
			close(fd);
			str_free(&data);
			return NULL;
		}
		if (n == 0)
			break;
		if (str_len(&data) + (size_t)n > ALIASES_MAX_INCLUDE) {
			*error_r = "file too large";
			close(fd);
			str_free(&data);
			return NULL;
		}
		str_append_n(&data, buf, (size_t)n);
	}
	close(fd);
	*size_r = str_len(&data);
	{
		char *ret = str_steal(&data);

		str_free(&data);
		return ret;
	}
}

/* Who runs program and mailbox aliases. */
static void alias_owner(uid_t *uid, gid_t *gid)
{
	char *aliasdir = config_path("aliasdir");
	struct stat st;

	*uid = getuid();
	*gid = getgid();
	if (geteuid() != 0) {
		free(aliasdir);
		return;
	}
	if (stat(aliasdir, &st) == 0 && st.st_uid != 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
	} else {
		struct passwd *pw = getpwnam("vmail");

		if (pw == NULL)
			pw = getpwnam("mail");

		if (pw != NULL) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
		}
	}
	free(aliasdir);
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		(void)unlink(p);
		free(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

static int write_file(const char *path, const char *text, uid_t uid,
		      gid_t gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	if (geteuid() == 0 && fchown(fd, uid, gid) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Writes etc/aliases.dir anew with the program and mailbox aliases. */
static int write_aliasdir(const struct aliases *a)
{
	char *dir = config_path("aliases.dir");
	char *tmp = xasprintf("%s.new.%ld", dir, (long)getpid());
	char *old = xasprintf("%s.old.%ld", dir, (long)getpid());
	uid_t uid;
	gid_t gid;
	int ret = 0;

	alias_owner(&uid, &gid);
	remove_tree(tmp);
	if (mkdir(tmp, 0755) < 0) {
		fprintf(stderr, "makealiases: %s: %s\n", tmp, strerror(errno));
		ret = -1;
		goto out;
	}
	if (geteuid() == 0 && chown(tmp, uid, gid) < 0) {
		fprintf(stderr, "makealiases: %s: %s\n", tmp, strerror(errno));
		remove_tree(tmp);
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < aliases_count(a) && ret == 0; i++) {
		const struct alias *al = aliases_get(a, i);
		struct str text;
		char *name, *path;

		if (al->program_count == 0)
			continue;
		str_init(&text, 256);
		str_printfa(&text, "# alias %s (%s:%u)\n", al->name, al->file,
			    al->line);
		for (size_t j = 0; j < al->program_count; j++)
			str_printfa(&text, "%s\n", al->programs[j]);
		name = aliases_dotfile_name(al->name);
		path = xasprintf("%s/%s", tmp, name);
		if (write_file(path, str_c(&text), uid, gid) < 0) {
			fprintf(stderr, "makealiases: %s: %s\n", path,
				strerror(errno));
			ret = -1;
		}
		free(path);
		free(name);
		str_free(&text);
	}
	if (ret == 0) {
		struct stat st;

		if (stat(dir, &st) == 0 && rename(dir, old) < 0) {
			fprintf(stderr, "makealiases: %s: %s\n", dir,
				strerror(errno));
			ret = -1;
		} else if (rename(tmp, dir) < 0) {
			fprintf(stderr, "makealiases: %s: %s\n", dir,
				strerror(errno));
			ret = -1;
		}
		remove_tree(old);
	}
	if (ret < 0)
		remove_tree(tmp);
out:
	free(dir);
	free(tmp);
	free(old);
	return ret;
}

/* Program and mailbox items need a local name. */
static void check_local_names(const struct aliases *a,
			      struct config_errors *errs)
{
	struct route_config *route = route_config_load();

	for (size_t i = 0; i < aliases_count(a); i++) {
		const struct alias *al = aliases_get(a, i);
		char *key = NULL;

		if (al->program_count == 0 || strchr(al->name, '@') == NULL)
			continue;
		if (route_address(route, al->name, &key) == ROUTE_REMOTE)
			config_error(errs, al->file, al->line,
				     "alias %s: programs and mailboxes need "
				     "an address of a local domain",
				     al->name);
		free(key);
	}
	route_config_free(&route);
}

static void dump(const struct aliases *a)
{
	for (size_t i = 0; i < aliases_count(a); i++) {
		const struct alias *al = aliases_get(a, i);
		const char *sep = " ";

		printf("%s:", al->name);
		for (size_t j = 0; j < al->address_count; j++) {
			printf("%s%s", sep, al->addresses[j]);
			sep = ", ";
		}
		for (size_t j = 0; j < al->program_count; j++) {
			printf("%s\"%s\"", sep, al->programs[j]);
			sep = ", ";
		}
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	const char *src = "aliases", *error;
	char *dat = NULL;
	bool chk = false, do_dump = false;
	struct config_lines *lines = NULL;
	struct config_errors *errs;
	struct aliases *a;
	int r, ret = 0;

	log_init("makealiases", LOG_TARGET_STDERR);
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "-src=", 5) == 0)
			src = argv[i] + 5;
		else if (strncmp(argv[i], "-alias=", 7) == 0) {
			free(dat);
			dat = xstrdup(argv[i] + 7);
		} else if (strcmp(argv[i], "-chk") == 0)
			chk = true;
		else if (strcmp(argv[i], "-dump") == 0)
			do_dump = true;
		else {
			fprintf(stderr, "usage: makealiases [-src=PATH] "
				"[-alias=PATH] [-chk] [-dump]\n");
			return 64;
		}
	}
	if (dat == NULL)
		dat = config_path("aliases.dat");
	errs = config_errors_new();
	r = config_lines_read(src, NULL, &lines, errs);
	a = aliases_new();
	if (r > 0)
		aliases_parse(a, lines, read_include, NULL, errs);
	check_local_names(a, errs);
	for (size_t i = 0; config_errors_get(errs, i) != NULL; i++) {
		const struct config_message *m = config_errors_get(errs, i);

		fprintf(stderr, "makealiases: %s%s\n",
			m->severity == CONFIG_SEVERITY_WARNING ?
			"warning: " : "", m->text);
	}
	if (r < 0 || config_errors_error_count(errs) > 0) {
		fprintf(stderr, "makealiases: %u error(s), %s not changed\n",
			config_errors_error_count(errs), dat);
		ret = 1;
	} else if (do_dump) {
		dump(a);
	} else if (!chk) {
		if (write_aliasdir(a) < 0) {
			ret = 1;
		} else if (aliases_write_db(a, dat, &error) < 0) {
			fprintf(stderr, "makealiases: %s\n", error);
			ret = 1;
		}
	}
	config_lines_free(&lines);
	config_errors_destroy(&errs);
	aliases_free(&a);
	free(dat);
	return ret;
}
