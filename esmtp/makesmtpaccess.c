/* makesmtpaccess.c: compiles the smtpaccess text (file or folder) into
 * the LMDB file esmtpd reads (sbin/makesmtpaccess). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-file.h"
#include "esmtp-access.h"
#include "log.h"
#include "mem.h"

static void report(const char *file, unsigned int line, const char *message,
		   void *context)
{
	(void)context;
	fprintf(stderr, "%s:%u: %s\n", file, line, message);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: makesmtpaccess [-n] [SOURCE [OUTPUT]]\n"
		"  SOURCE  the text, a file or a folder (default: "
		"etc/smtpaccess)\n"
		"  OUTPUT  the compiled file (default: SOURCE.dat)\n"
		"  -n      check the text only, write nothing\n");
}

int main(int argc, char **argv)
{
	const char *source = "smtpaccess", *error;
	char *src_path, *out;
	bool check_only = false;
	struct esmtp_access *acc;
	int argi = 1, r;

	log_init("makesmtpaccess", LOG_TARGET_STDERR);
	if (argi < argc && strcmp(argv[argi], "-n") == 0) {
		check_only = true;
		argi++;
	}
	if (argi < argc && argv[argi][0] == '-') {
		usage();
		return 2;
	}
	if (argi < argc)
		source = argv[argi++];
	src_path = config_path(source);
	out = argi < argc ? xstrdup(argv[argi++]) :
			    xasprintf("%s.dat", src_path);
	if (argi < argc) {
		usage();
		return 2;
	}
	acc = esmtp_access_new();
	esmtp_access_set_error_callback(acc, report, NULL);
	r = esmtp_access_read_text(acc, source);
	if (r < 0) {
		fprintf(stderr, "makesmtpaccess: %s cannot be read\n",
			src_path);
		goto fail;
	}
	if (r == 0) {
		/* like Courier: no text, an empty database */
		fprintf(stderr, "makesmtpaccess: %s does not exist: writing "
				"an empty %s\n", src_path, out);
	}
	if (esmtp_access_bad_lines(acc) > 0) {
		fprintf(stderr, "makesmtpaccess: %u bad line(s); %s not "
				"changed\n", esmtp_access_bad_lines(acc), out);
		goto fail;
	}
	if (check_only) {
		/* duplicates show when the keys are written: into a scratch
		 * file that is thrown away */
		char *scratch = xasprintf("%s.check%ld", out, (long)getpid());

		r = esmtp_access_write_db(acc, scratch, &error);
		(void)unlink(scratch);
		free(scratch);
		if (r < 0) {
			fprintf(stderr, "makesmtpaccess: %s\n", error);
			goto fail;
		}
	} else if (esmtp_access_write_db(acc, out, &error) < 0) {
		fprintf(stderr, "makesmtpaccess: %s: %s; not changed\n", out,
			error);
		goto fail;
	}
	esmtp_access_free(&acc);
	free(src_path);
	free(out);
	return 0;
fail:
	esmtp_access_free(&acc);
	free(src_path);
	free(out);
	return 1;
}
