/* queue-admin.c: listing and cancelling queued messages (mailq,
 * cancelmsg), root seeing all and users their own local mail. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "ctlfile.h"
#include "instance.h"
#include "mem.h"
#include "queue-admin.h"
#include "queue.h"
#include "str.h"

bool queue_admin_allowed(uid_t uid, bool has_owner, unsigned long owner)
{
	return uid == 0 || (has_owner && owner == (unsigned long)uid);
}

struct list_ctx {
	FILE *out;
	uid_t uid;
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
	struct list_ctx *t = context;
	struct ctl_file *ctl;
	const char *error;
	off_t size;
	time_t made;
	char agebuf[32];
	int r = queue_ctl_read(qid, &ctl, &error);

	if (r <= 0) {
		if (r < 0 && t->uid == 0)
			fprintf(stderr, "mailq: %s\n", error);
		return 0;
	}
	if (!queue_admin_allowed(t->uid, ctl->has_owner, ctl->owner_uid)) {
		ctl_file_free(&ctl);
		return 0;
	}
	size = queue_data_size(qid);
	queue_id_valid(qid, &made);
	t->messages++;
	t->rcpts += ctl->rcpt_count;
	t->bytes += size > 0 ? (unsigned long long)size : 0;
	if (!t->summary) {
		age(time(NULL) - made, agebuf, sizeof(agebuf));
		fprintf(t->out, "%s %8lld %8s <%s>%s\n", qid,
			(long long)size, agebuf, ctl->sender,
			ctl->cancelled != NULL ? " (cancelled)" : "");
		for (size_t i = 0; i < ctl->rcpt_count; i++) {
			const struct ctl_rcpt *rc = &ctl->rcpts[i];

			fprintf(t->out, "    <%s> %s%s%s\n", rc->address,
				status_name(rc->status),
				rc->diag != NULL ? ": " : "",
				rc->diag != NULL ? rc->diag : "");
		}
	}
	ctl_file_free(&ctl);
	return 0;
}

int queue_admin_list(FILE *out, uid_t uid, bool summary,
		     const char **error_r)
{
	struct list_ctx t = { out, uid, summary, 0, 0, 0 };

	if (queue_scan(show, &t, error_r) < 0)
		return -1;
	if (summary || t.messages == 0)
		fprintf(out, "%lu messages, %lu recipients, %llu bytes\n",
			t.messages, t.rcpts, t.bytes);
	return 0;
}

int queue_admin_cancel(const char *qid, const char *reason, uid_t uid,
		       const char **error_r)
{
	static char errbuf[512];
	struct ctl_file *ctl = NULL;
	struct str rec;
	char *path, *diag, *trigger;
	const char *error;
	int fd, r, n = 0;

	if (reason == NULL)
		reason = "Message cancelled";
	if (!queue_id_valid(qid, NULL)) {
		*error_r = "not a queue id";
		return -1;
	}
	if (!ctl_value_ok(reason)) {
		*error_r = "the reason must be one line";
		return -1;
	}
	path = queue_path(qid, 'C');
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		*error_r = "the message is not queued";
		return -1;
	}
	/* as the delivery modules lock it: a delivery running now finishes
	 * first, or sees the cancellation */
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	r = queue_ctl_read(qid, &ctl, &error);
	if (r <= 0 ||
	    !queue_admin_allowed(uid, ctl->has_owner, ctl->owner_uid)) {
		if (r < 0 && uid == 0) {
			snprintf(errbuf, sizeof(errbuf), "%s", error);
			*error_r = errbuf;
		} else {
			*error_r = "the message is not queued";
		}
		ctl_file_free(&ctl);
		close(fd);
		return -1;
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
	free(diag);
	ctl_file_free(&ctl);
	if (queue_ctl_append(qid, str_c(&rec), str_len(&rec), &error) < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s", error);
		*error_r = errbuf;
		str_free(&rec);
		close(fd);
		return -1;
	}
	str_free(&rec);
	close(fd);
	trigger = xasprintf("F%s", qid);
	if (queue_trigger(trigger, &error) <= 0)
		fprintf(stderr, "cancelmsg: courierd does not run: the "
			"message goes when it starts\n");
	free(trigger);
	return n;
}

char *queue_admin_submit_program(void)
{
	/* run from bin/ (mailq, cancelmsg) */
	return instance_program(1, "sbin/submit");
}
