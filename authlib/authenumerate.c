/* authenumerate.c: lists every account authdaemond's modules know, one a
 * line: name, uid, gid, home, maildir and options, TAB-separated (as
 * Courier's authenumerate).  -m adds the module name in front. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "authclient.h"
#include "log.h"

static int show_module;

static int print_one(const char *module, const char *name, unsigned long uid,
	unsigned long gid, const char *home, const char *maildir,
	const char *options, void *context)
{
	(void)context;
	if (show_module)
		printf("%s\t", module);
	printf("%s\t%lu\t%lu\t%s\t%s\t%s\n", name, uid, gid, home, maildir,
		options);
	return ferror(stdout) ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *error = "";
	int opt;

	log_init("authenumerate", LOG_TARGET_STDERR);
	while ((opt = getopt(argc, argv, "m")) != -1) {
		if (opt != 'm') {
			fprintf(stderr, "usage: authenumerate [-m]\n");
			return 2;
		}
		show_module = 1;
	}
	if (auth_enumerate(print_one, NULL, &error) < 0) {
		fprintf(stderr, "authenumerate: %s\n", error);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
