/* dsn.h: delivery status notifications (RFC 3464), sent by courierd.
 *
 * A DSN is a multipart/report; report-type=delivery-status message: a
 * text part for people, a message/delivery-status part (RFC 3464 section
 * 2: Reporting-MTA, Arrival-Date, Original-Envelope-Id, then per
 * recipient Original-Recipient, Final-Recipient, Action, Status,
 * Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until), and the
 * original message (message/rfc822) or only its header
 * (text/rfc822-headers).  A message larger than dsnlimit (the control
 * file, a size; default DSN_DEFAULT_LIMIT) only has its header returned,
 * whatever the notice; within it, the full message goes back with a
 * failure unless the sender asked RET=HDRS, with a delay or success
 * notice only when it asked RET=FULL.
 *
 * The DSN comes from the null sender <>, so it can never cause another
 * one; a message whose sender is <> gets no DSN at all.  A VERP message
 * (ctlfile.h) gets one DSN per recipient, sent to that recipient's VERP
 * sender.  Its From: is
 * the dsnfrom control file, or "Courier mail server at ME" <@ME>'s
 * MAILER-DAEMON form.  It is queued through submit.h like any mail. */
#ifndef DSN_H
#define DSN_H

#include <stdbool.h>
#include <time.h>

#include "ctlfile.h"
#include "queue.h"

enum dsn_kind {
	DSN_FAILED,	/* Action: failed */
	DSN_DELAYED,	/* Action: delayed */
	DSN_DELIVERED,	/* Action: delivered (or relayed) */
};

/* Default dsnlimit: messages up to this size may be returned whole. */
#define DSN_DEFAULT_LIMIT (64 * 1024)

/* The status code of a diagnostic text: "5.1.1" out of "550 5.1.1 no
 * such user" (written to status_r, at least 16 bytes), else the default
 * of the kind (5.0.0, 4.0.0, 2.0.0).  */
void dsn_status_code(const char *diag, enum dsn_kind kind, char *status_r,
		     size_t size);

/* Sends a DSN of kind to the sender of message qid (its parsed control
 * file ctl) about the recipients whose include[i] is true.  Returns 1
 * when one was queued (its queue id in dsn_qid_r, may be NULL), 0 when
 * none is due (null sender, no recipient included), -1 with *error_r
 * (temporary: try again later). */
int dsn_send(const char *qid, const struct ctl_file *ctl,
	     enum dsn_kind kind, const bool *include, time_t now,
	     char *dsn_qid_r, const char **error_r);

#endif
