/* queue-admin.h: what mailq(1) and cancelmsg(1) do to the queue, shared
 * by those programs and the setgid submit (which runs it for users who
 * cannot read the queue themselves).
 *
 * Who sees what, as Courier: root sees and cancels every message; any
 * other user only the local mail they sent themselves (the control
 * file's U record, which submit writes with the real uid of the user who
 * ran sendmail).  Mail that came in over SMTP, DSNs and forwards of
 * other accounts are root's. */
#ifndef QUEUE_ADMIN_H
#define QUEUE_ADMIN_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* Whether user uid may see and cancel a message whose control file says
 * has_owner/owner_uid. */
bool queue_admin_allowed(uid_t uid, bool has_owner, unsigned long owner);

/* Lists the queue to out as mailq does (summary: one line of totals),
 * only what uid may see.  Returns 0, or -1 with *error_r when the queue
 * cannot be read. */
int queue_admin_list(FILE *out, uid_t uid, bool summary,
		     const char **error_r);

/* Cancels message qid for user uid: every recipient without a final
 * status fails with "5.0.0 REASON" (reason NULL: "Message cancelled"),
 * an X record says why, and courierd is asked to send the DSN now.
 * Returns the number of recipients cancelled (>= 0), or -1 with
 * *error_r: not a queue id, not queued, not the user's (said as "not
 * queued", so a user learns nothing of others' mail), a reason with a
 * line break, or a write error. */
int queue_admin_cancel(const char *qid, const char *reason, uid_t uid,
		       const char **error_r);

/* The submit program: sbin/submit beside the running program's bin/,
 * else SBINDIR's (caller frees). */
char *queue_admin_submit_program(void);

#endif
