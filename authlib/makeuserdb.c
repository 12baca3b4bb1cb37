/* makeuserdb.c: compiles the instance's etc/userdb (a file or a folder)
 * into etc/userdb.dat and etc/userdbshadow.dat, as Courier's makeuserdb.
 *
 *	makeuserdb [-f userdb] [-q]
 *
 * Refuses a userdb that group or others may read (it holds passwords). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-errors.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "userdb.h"

int main(int argc, char **argv)
{
	char *src = NULL, *dat, *shadow;
	struct userdb_compile_stats stats;
	struct config_errors *errs;
	struct stat st;
	bool quiet = false;
	int opt, r;

	log_init("makeuserdb", LOG_TARGET_STDERR);
	while ((opt = getopt(argc, argv, "f:q")) != -1) {
		if (opt == 'f') {
			free(src);
			src = xstrdup(optarg);
		} else if (opt == 'q') {
			quiet = true;
		} else {
			fprintf(stderr, "usage: makeuserdb [-f userdb] [-q]\n");
			return 2;
		}
	}
	if (src == NULL)
		src = instance_etc_path("userdb");
	if (stat(src, &st) < 0) {
		fprintf(stderr, "makeuserdb: %s: does not exist\n", src);
		return 1;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr,
			"makeuserdb: %s: must not be readable by group "
			"or others (chmod %s %s)\n",
			src, S_ISDIR(st.st_mode) ? "700" : "600", src);
		return 1;
	}
	/* The compiled files go next to the text. */
	size_t len = strlen(src);
	while (len > 1 && src[len - 1] == '/')
		src[--len] = '\0';
	dat = xasprintf("%s.dat", src);
	const char *slash = strrchr(src, '/');
	shadow = slash != NULL ? xasprintf("%.*s/userdbshadow.dat",
					 (int)(slash - src), src)
			       : xstrdup("userdbshadow.dat");
	errs = config_errors_new();
	r = userdb_compile(src, dat, shadow, &stats, errs);
	config_errors_log(errs);
	if (r == 0 && !quiet)
		printf("makeuserdb: %zu accounts in %s\n", stats.accounts, dat);
	config_errors_destroy(&errs);
	free(src);
	free(dat);
	free(shadow);
	return r == 0 ? 0 : 1;
}
