/* submit.h: the one way into the queue.
 *
 * The ESMTP server, sendmail, the webmail and courierd's DSNs hand mail to
 * the queue through this library (in-process) or through the `submit`
 * program that wraps it.  A submission is an envelope (sender, DSN RET and
 * ENVID, recipients with NOTIFY and ORCPT) and the message, fed in pieces
 * of any size.  submit checks and rewrites the message as Courier does:
 *
 *  - a Received: line is put on top (who, how, when, the queue id);
 *  - Date: and Message-ID: are added at the end of the header when
 *    missing (unless the options say not to);
 *  - line ends are stored as LF; a header line longer than 998 bytes is
 *    folded; a leading mbox "From " line is dropped; a line that is not
 *    a header field ends the header (the rest is body, after an empty
 *    line);
 *  - an 8-bit body without MIME-Version gets the missing MIME-Version:,
 *    Content-Type: (text/plain; charset=utf-8, or unknown-8bit when the
 *    body is not UTF-8) and Content-Transfer-Encoding: 8bit fields on top
 *    (after Received:), as Courier's submit adds missing RFC 2045 fields;
 *  - refused, with an SMTP reply: 8-bit bytes or NUL in the header, an
 *    8-bit body without MIME-Version nor Content-Type that is not UTF-8
 *    unless body_8bitmime (550 5.6.3), a message over the size limit (the
 *    sizelimit control file, 10 MB by default, or the option), no
 *    recipients, malformed addresses.
 *
 * Bare addresses ("user") get the defaultdomain (else me); domains are
 * lowercased; duplicate recipients are kept once.  The control file gets
 * E (queuetime, default 1 week), W (warntime, default 4 hours) and L
 * (submitdelay).  submit_finish() returns only after both files and their
 * folder are on disk (queue.h), then wakes courierd.
 *
 * Error strings are full SMTP replies ("550 5.6.0 ..."), static (per
 * thread), valid until the next call into this module. */
#ifndef SUBMIT_H
#define SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "queue.h"

/* Largest number of recipients of one submission. */
#define SUBMIT_MAX_RCPTS 10000
/* Longest address accepted (RFC 5321's path limit is 256). */
#define SUBMIT_MAX_ADDRESS 998
/* Default message size limit when there is no sizelimit file. */
#define SUBMIT_DEFAULT_SIZELIMIT 10485760

struct submit_options {
	const char *sender;	/* envelope sender; "" or NULL for <> */
	char ret;		/* DSN RET: 'F', 'H' or 0 */
	const char *envid;	/* DSN ENVID or NULL */
	const char *source;	/* u record: "local", "smtp", "dsn"... */
	const char *auth_user;	/* authenticated submitter or NULL */
	/* Received: "from ..." text (e.g. "host (host [1.2.3.4])"), NULL
	 * for local mail, which says "(uid N)" instead. */
	const char *received_from;
	const char *protocol;	/* "with ..." word; NULL = "local" */
	const char *from_mta;	/* DSN Received-From-MTA, or NULL */
	/* the local IP address the message came in on (the l record, for
	 * the outbound vhost.ADDRESS settings), or NULL */
	const char *local_ip;
	uid_t uid;		/* for local mail's Received: */
	bool no_add_msgid;	/* NOADDMSGID */
	bool no_add_date;	/* NOADDDATE */
	bool no_aliases;	/* do not expand aliases (aliases.h) */
	/* VERP (Courier's XVERP): each recipient's delivery gets its own
	 * envelope sender (ctl_verp_sender()); the V record.  Ignored for
	 * the null sender. */
	bool verp;
	/* an SMTPUTF8 transaction (RFC 6531): the header may carry UTF-8
	 * (RFC 6532), which must be valid; else 8-bit header bytes are
	 * refused */
	bool utf8_headers;
	/* the client declared BODY=8BITMIME (RFC 6152; utf8_headers counts
	 * as declared too): an unlabelled 8-bit body that is not UTF-8 is
	 * taken (charset=unknown-8bit) instead of refused */
	bool body_8bitmime;
	uint64_t size_limit;	/* 0: the sizelimit control file */
};

struct submit;

/* Starts a submission: checks and qualifies the sender, creates the data
 * file.  Returns the submission, or NULL with *error_r. */
struct submit *submit_begin(const struct submit_options *opts,
			    const char **error_r);
/* Adds a recipient (notify: enum ctl_notify mask, 0 for the default;
 * orcpt may be NULL).  An alias of etc/aliases.dat (aliases.h) is
 * replaced by the recipients it stands for, each with the alias as its
 * ORCPT unless one was given; recipients are kept once (addresses
 * compared without regard to case).  Returns 1 when something was added,
 * 0 when all was already there, -1 with *error_r (the submission goes on
 * without it). */
int submit_add_rcpt(struct submit *s, const char *address,
		    unsigned int notify, const char *orcpt,
		    const char **error_r);
/* Forgets every recipient added so far (before submit_finish_prepare()),
 * so that they can be added again, e.g. when a filter that saw the whole
 * message accepted it for some of them only. */
void submit_reset_rcpts(struct submit *s);
/* Adds a recipient already refused for good (the F record, diag as its
 * I record: an SMTP reply on one line, e.g. a filter's refusal): courierd
 * does not deliver to it and sends the DSN it asked for (accept, then
 * bounce).  No alias expansion.  Returns 1, or -1 with *error_r (a bad
 * address, or one already listed: then it is delivered). */
int submit_add_rcpt_failed(struct submit *s, const char *address,
			   unsigned int notify, const char *orcpt,
			   const char *diag, const char **error_r);
/* Feeds len bytes of the message.  Never fails: problems are reported by
 * submit_finish() (the input is still consumed). */
void submit_write(struct submit *s, const void *data, size_t len);
/* Adds a header field on top of the message, right after submit's own
 * Received: line, once the whole message has been written (for what is
 * known only after its last byte, e.g. esmtpd's Authentication-Results:).
 * Call it after the last submit_write() and before submit_finish();
 * fields added by several calls keep their order.  field is "Name: value"
 * with or without a final line end; continuation lines (CRLF or LF) must
 * start with a space or tab; the line ends are stored as LF.  Returns 0,
 * or -1 when the field is malformed (no name, 8-bit, NUL, a bare line
 * break) or the submission has already failed; going over the size limit
 * makes submit_finish() fail with 552.  The data file is rewritten in
 * place (one copy of the message) when submit_finish() runs. */
int submit_add_header_top(struct submit *s, const char *field);
/* Ends the message, queues it and wakes courierd.  Returns 0 and the
 * queue id in qid_r, or -1 with *error_r.  Frees *s (sets it NULL). */
int submit_finish(struct submit **s, char qid_r[QUEUE_ID_LEN + 1],
		  const char **error_r);
/* submit_finish() in two halves, for a server that runs the durable part
 * in a worker thread (lib/worker-pool.h) so its event loop never waits
 * for the disk:
 *
 * submit_finish_prepare() ends the message and makes the control file
 * (checks, header rewriting; quick).  Returns 0: call
 * submit_finish_commit() next (or submit_abort()); -1 with *error_r: *s
 * was freed and set to NULL.  Call it in the thread that fed the
 * submission.
 *
 * submit_finish_commit() writes, fsyncs and links the files (queue.h),
 * wakes courierd, frees *s.  It may run in any thread, several at once
 * for different submissions; its error string is per thread.  Returns
 * 0 with qid_r, or -1 with *error_r (a 451 reply). */
int submit_finish_prepare(struct submit **s, const char **error_r);
int submit_finish_commit(struct submit **s, char qid_r[QUEUE_ID_LEN + 1],
			 const char **error_r);
/* Drops the submission (nothing is queued).  NULL is harmless. */
void submit_abort(struct submit **s);

/* Qualifies and checks an address as submit does (bare -> @defaultdomain,
 * domain lowercased).  Returns a new string, or NULL with *error_r. */
char *submit_qualify_address(const char *address, const char **error_r);

/* Forgets the cached control files (me, defaultdomain, sizelimit,
 * queuetime, warntime, submitdelay, msgidhost), e.g. after a restart or
 * in tests. */
void submit_config_reset(void);

#endif
