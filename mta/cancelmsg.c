/* cancelmsg.c: cancels a queued message (cancelmsg(1)).
 *
 *   cancelmsg QUEUEID [REASON]
 *
 * Every recipient not yet delivered is marked failed ("5.0.0 Message
 * cancelled", or REASON) and the message is handed to courierd at once,
 * which returns it to its sender in a DSN and removes it.  The control
 * file is locked as the delivery modules lock it, so a delivery running
 * now either finishes first or sees the cancellation and stops.  Root
 * cancels any message, another user only the local mail they sent
 * (queue-admin.h); a user who cannot write the queue goes through the
 * setgid submit ("submit -cancelmsg").  Exit status 0 when cancelled, 1
 * when the message is not queued (or not the user's) or the queue cannot
 * be written. */
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
	const char *qid, *reason, *error;
	char *ctl;
	int n;

	log_init("cancelmsg", LOG_TARGET_STDERR);
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: cancelmsg QUEUEID [REASON]\n");
		return 64;
	}
	qid = argv[1];
	reason = argc == 3 ? argv[2] : NULL;
	ctl = queue_path(qid, 'C');
	if (getuid() != 0 && ctl != NULL && access(ctl, W_OK) < 0) {
		char *prog = queue_admin_submit_program();
		char *args[] = { prog, (char *)"-cancelmsg", (char *)qid,
				 (char *)reason, NULL };

		execv(prog, args);
		fprintf(stderr, "cancelmsg: cannot run %s: %m\n", prog);
		return 1;
	}
	free(ctl);
	n = queue_admin_cancel(qid, reason, getuid(), &error);
	if (n < 0) {
		fprintf(stderr, "cancelmsg: %s: %s\n", qid, error);
		return 1;
	}
	printf("%s: cancelled (%d recipients)\n", qid, n);
	return 0;
}
