/* mailq.c: lists the mail queue (mailq(1)): for every queued message its
 * queue id, size, age and sender, then each recipient with its status
 * and the last diagnostic.
 *
 *   mailq           every message, oldest first
 *   mailq -s        one summary line: messages, recipients, bytes
 *
 * Root sees every message, another user only the local mail they sent
 * (queue-admin.h); a user who cannot read the queue gets the list from
 * the setgid submit ("submit -mailq").  Exit status 0, or 1 when the
 * queue cannot be read. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "queue-admin.h"
#include "queue.h"

int main(int argc, char **argv)
{
	const char *error;
	bool summary = false;
	char *msgs;
	int opt;

	log_init("mailq", LOG_TARGET_STDERR);
	while ((opt = getopt(argc, argv, "s")) != -1) {
		if (opt == 's')
			summary = true;
		else {
			fprintf(stderr, "usage: mailq [-s]\n");
			return 64;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: mailq [-s]\n");
		return 64;
	}
	msgs = xasprintf("%s/msgs", queue_dir());
	if (getuid() != 0 && access(msgs, R_OK | X_OK) < 0) {
		char *prog = queue_admin_submit_program();
		char *args[] = { prog, (char *)"-mailq",
				 summary ? (char *)"-s" : NULL, NULL };

		fflush(stdout);
		execv(prog, args);
		fprintf(stderr, "mailq: cannot run %s: %m\n", prog);
		return 1;
	}
	free(msgs);
	if (queue_admin_list(stdout, getuid(), summary, &error) < 0) {
		fprintf(stderr, "mailq: %s\n", error);
		return 1;
	}
	return 0;
}
