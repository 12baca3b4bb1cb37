/* cancelmsg.c: cancels a queued message (cancelmsg(1)).
 *
 *   cancelmsg QUEUEID [REASON]
 *
 * Every recipient not yet delivered is marked failed ("5.0.0 Message
 * cancelled", or REASON) and the message is handed to courierd at once,
 * which returns it to its sender in a DSN and removes it.  The control
 * file is locked as the delivery modules lock it, so a delivery running
 * now either finishes first or sees the cancellation and stops.
 * Exit status 0 when cancelled, 1 when the message is not queued or
 * the queue cannot be written. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "ctlfile.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "str.h"

int main(int argc, char **argv)
{
	const char *qid, *reason, *error;
	struct ctl_file *ctl;
	struct str rec;
	char *path, *diag, *trigger;
	unsigned int n = 0;
	int fd, r;

	log_init("cancelmsg", LOG_TARGET_STDERR);
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: cancelmsg QUEUEID [REASON]\n");
		return 64;
	}
	qid = argv[1];
	reason = argc == 3 ? argv[2] : "Message cancelled";
	if (!queue_id_valid(qid, NULL) || !ctl_value_ok(reason)) {
		fprintf(stderr, "cancelmsg: %s is not a queue id\n", qid);
		return 1;
	}
	path = queue_path(qid, 'C');
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cancelmsg: %s is not queued\n", qid);
		return 1;
	}
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	r = queue_ctl_read(qid, &ctl, &error);
	if (r <= 0) {
		fprintf(stderr, "cancelmsg: %s\n", r == 0 ?
			"the message is not queued" : error);
		return 1;
	}
	str_init(&rec, 256);
	diag = xasprintf("5.0.0 %s", reason);
	str_printfa(&rec, "X%s\n", reason);
	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		if (ctl->rcpts[i].status == CTL_STATUS_DELIVERED ||
		    ctl->rcpts[i].status == CTL_STATUS_FAILED)
			continue;
		ctl_write_status(&rec, i, CTL_STATUS_FAILED, 0, time(NULL),
				 diag);
		n++;
	}
	if (queue_ctl_append(qid, str_c(&rec), str_len(&rec), &error) < 0) {
		fprintf(stderr, "cancelmsg: %s\n", error);
		return 1;
	}
	close(fd);
	trigger = xasprintf("F%s", qid);
	if (queue_trigger(trigger, &error) <= 0)
		fprintf(stderr, "cancelmsg: courierd does not run: the "
			"message goes when it starts\n");
	printf("%s: cancelled (%u recipients)\n", qid, n);
	free(trigger);
	free(diag);
	free(path);
	str_free(&rec);
	ctl_file_free(&ctl);
	return 0;
}
