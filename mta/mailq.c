/* mailq.c: lists the mail queue (mailq(1)): for every queued message its
 * queue id, size, age and sender, then each recipient with its status
 * and the last diagnostic.
 *
 *   mailq           every message, oldest first
 *   mailq -s        one summary line: messages, recipients, bytes
 *
 * Exit status 0, or 1 when the queue cannot be read. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlfile.h"
#include "log.h"
#include "queue.h"

struct totals {
	bool summary;
	unsigned long messages, rcpts;
	unsigned long long bytes;
};

static const char *status_name(enum ctl_status s)
{
	switch (s) {
	case CTL_STATUS_DELIVERED: return "delivered";
	case CTL_STATUS_FAILED: return "failed";
	case CTL_STATUS_DEFERRED: return "deferred";
	default: return "queued";
	}
}

static void age(time_t secs, char *buf, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs < 3600)
		snprintf(buf, size, "%ldm%02lds", (long)(secs / 60),
			 (long)(secs % 60));
	else if (secs < 86400)
		snprintf(buf, size, "%ldh%02ldm", (long)(secs / 3600),
			 (long)(secs % 3600 / 60));
	else
		snprintf(buf, size, "%ldd%02ldh", (long)(secs / 86400),
			 (long)(secs % 86400 / 3600));
}

static int show(const char *qid, void *context)
{
	struct totals *t = context;
	struct ctl_file *ctl;
	const char *error;
	off_t size = queue_data_size(qid);
	time_t made;
	char agebuf[32];
	int r = queue_ctl_read(qid, &ctl, &error);

	if (r <= 0) {
		if (r < 0)
			fprintf(stderr, "mailq: %s\n", error);
		return 0;
	}
	queue_id_valid(qid, &made);
	t->messages++;
	t->rcpts += ctl->rcpt_count;
	t->bytes += size > 0 ? (unsigned long long)size : 0;
	if (!t->summary) {
		age(time(NULL) - made, agebuf, sizeof(agebuf));
		printf("%s %8lld %8s <%s>%s\n", qid, (long long)size, agebuf,
		       ctl->sender, ctl->cancelled != NULL ?
		       " (cancelled)" : "");
		for (size_t i = 0; i < ctl->rcpt_count; i++) {
			const struct ctl_rcpt *rc = &ctl->rcpts[i];

			printf("    <%s> %s%s%s\n", rc->address,
			       status_name(rc->status),
			       rc->diag != NULL ? ": " : "",
			       rc->diag != NULL ? rc->diag : "");
		}
	}
	ctl_file_free(&ctl);
	return 0;
}

int main(int argc, char **argv)
{
	struct totals t = { false, 0, 0, 0 };
	const char *error;
	int opt;

	log_init("mailq", LOG_TARGET_STDERR);
	while ((opt = getopt(argc, argv, "s")) != -1) {
		if (opt == 's')
			t.summary = true;
		else {
			fprintf(stderr, "usage: mailq [-s]\n");
			return 64;
		}
	}
	if (queue_scan(show, &t, &error) < 0) {
		fprintf(stderr, "mailq: %s\n", error);
		return 1;
	}
	if (t.summary || t.messages == 0)
		printf("%lu messages, %lu recipients, %llu bytes\n",
		       t.messages, t.rcpts, t.bytes);
	return 0;
}
