/* ctlfile.h: the queue's control files, in Courier's record format.
 *
 * A queued message is a data file (the rewritten message) and a control
 * file: one record a line, the first byte its type (COURIER.md 1.3).
 * submit writes the envelope records; courierd and the delivery modules
 * append status records later (O_APPEND, then fdatasync), so a reader may
 * see a last line still being written: a final line without its newline
 * is ignored.
 *
 *   s<sender>          envelope sender, always the first record ("" = <>)
 *   u<source>          where it came from: local, smtp, authsmtp, dsn
 *   e<envid>           DSN ENVID (RFC 3461)
 *   t<F|H>             DSN RET: full message or headers only
 *   M<message-id>      the Message-ID header's value
 *   i<user>            authenticated submitter
 *   f<text>            Received-From-MTA (DSN "dns; host [ip]")
 *   l<address>         the local IP address the message came in on
 *                      (outbound vhost.ADDRESS settings choose by it)
 *   U<uid>             local mail: the uid of the user who sent it (mailq
 *                      and cancelmsg let that user see and cancel it)
 *   8                  the body has 8-bit bytes
 *   V                  VERP (Courier's XVERP): each recipient's delivery
 *                      uses its own envelope sender (ctl_verp_sender());
 *                      files without it (all older ones) have no VERP
 *   E<time>            expiry: give up at this time (seconds since 1970)
 *   W<time>            send a delayed DSN after this time
 *   L<time>            not before this time (submitdelay)
 *   r<address>         recipient #n (numbered from 0 in file order)
 *   R<orcpt>           its ORCPT ("rfc822;a@b"), "" for none
 *   N<flags>           its NOTIFY flags: S success, F failure, D delay,
 *                      N never; "" for the default (failure and delay)
 * appended later:
 *   I<n> <type> <text> diagnostics of recipient n's last attempt (type R
 *                      = the reply, as Courier writes remote replies)
 *   S<n> <time> [l|r|x] delivered (l locally, r relayed to a non-DSN
 *                      MTA, x expanded: an alias of several recipients
 *                      that asked NOTIFY=SUCCESS, RFC 3461 5.2.7.3)
 *   F<n> <time>        failed for good
 *   D<n> <time>        deferred (temporary failure this round)
 *   P<n> <time>        a delivery of recipient n started (written and
 *                      fdatasync'ed before the copy is made, so a retry
 *                      knows an earlier attempt may have made it)
 *   C<time>            an attempt round completed
 *   A<time>            the next attempt is due then
 *   w                  the delayed DSN was sent
 *   X<reason>          cancelled (cancelmsg)
 * Unknown record types are kept out of the model and ignored, so files
 * of newer versions still load. */
#ifndef CTLFILE_H
#define CTLFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "str.h"

/* Default limits of the reader. */
#define CTLFILE_DEFAULT_MAX_SIZE (16 * 1024 * 1024)
#define CTLFILE_DEFAULT_MAX_RCPTS 100000
#define CTLFILE_MAX_LINE 16384

enum ctl_status {
	CTL_STATUS_NONE = 0,	/* not attempted yet */
	CTL_STATUS_DEFERRED,	/* temporary failure, to be retried */
	CTL_STATUS_DELIVERED,	/* S: final */
	CTL_STATUS_FAILED,	/* F: final */
};

/* NOTIFY flags as a bit mask. */
enum ctl_notify {
	CTL_NOTIFY_SUCCESS = 0x01,
	CTL_NOTIFY_FAILURE = 0x02,
	CTL_NOTIFY_DELAY = 0x04,
	CTL_NOTIFY_NEVER = 0x08,
};

struct ctl_rcpt {
	char *address;
	char *orcpt;		/* NULL when none */
	unsigned int notify;	/* enum ctl_notify; 0 = default */
	enum ctl_status status;
	time_t status_time;
	char status_how;	/* 'l', 'r', 'x' or 0 for S records */
	char *diag;		/* text of the last I record ("250 ok"), or NULL */
	unsigned int attempts;	/* D records seen */
	unsigned int started;	/* P records seen (deliveries begun) */
};

struct ctl_file {
	char *sender;		/* never NULL once parsed ("" for <>) */
	char *source;		/* u, or NULL */
	char *envid;		/* e, or NULL */
	char ret;		/* 'F', 'H' or 0 */
	char *msgid;		/* M, or NULL */
	char *auth_user;	/* i, or NULL */
	char *from_mta;		/* f, or NULL */
	char *local_ip;		/* l, or NULL */
	bool body_8bit;
	bool verp;		/* V */
	bool has_owner;		/* U: local mail of user owner_uid */
	unsigned long owner_uid;
	time_t expires, warn_time, not_before, next_attempt;
	unsigned int rounds;	/* C records */
	time_t last_round;
	bool warned;		/* w */
	char *cancelled;	/* X reason, or NULL */
	struct ctl_rcpt *rcpts;
	size_t rcpt_count, rcpt_alloc;
	unsigned int bad_lines;	/* malformed records that were skipped */
};

struct ctl_limits {
	size_t max_size;	/* bytes read (0: CTLFILE_DEFAULT_MAX_SIZE) */
	size_t max_rcpts;	/* recipients (0: CTLFILE_DEFAULT_MAX_RCPTS) */
};

/* A new, empty control file model (sender ""). */
struct ctl_file *ctl_file_new(void);
/* Frees it and its strings; sets *ctl to NULL (NULL is harmless). */
void ctl_file_free(struct ctl_file **ctl);
/* Adds a recipient (copies the strings); returns its number. */
size_t ctl_file_add_rcpt(struct ctl_file *ctl, const char *address,
			 const char *orcpt, unsigned int notify);

/* Parses len bytes of a control file.  Returns 0 and *ctl_r (caller
 * frees), or -1 with a static *error_r when the file is not a control
 * file: over the size or recipient limit, no leading s record, a NUL
 * byte, a line over CTLFILE_MAX_LINE.  Malformed status records (a bad
 * number, a recipient that does not exist) are skipped and counted in
 * bad_lines.  limits may be NULL. */
int ctl_parse(const char *data, size_t len, const struct ctl_limits *limits,
	      struct ctl_file **ctl_r, const char **error_r);

/* Whether text can go in a record: no CR, LF or NUL. */
bool ctl_value_ok(const char *text);

/* Appends the records submit writes (s u e t M i f l U 8 V E W L, then r R N
 * for each recipient).  Returns 0, or -1 with *error_r when a value
 * cannot be written (contains CR, LF or NUL). */
int ctl_write_envelope(struct str *out, const struct ctl_file *ctl,
		       const char **error_r);

/* Appends the records of one delivery attempt's outcome for recipient n:
 * an I record with diag (CR and LF turned into spaces; NULL: none), then
 * S (how = 'l', 'r', 'x' or 0), F or D with time t. */
void ctl_write_status(struct str *out, size_t n, enum ctl_status status,
		      char how, time_t t, const char *diag);

/* Appends a P record: a delivery of recipient n starts at time t. */
void ctl_write_started(struct str *out, size_t n, time_t t);

/* NOTIFY flags "SFD"/"N" <-> mask.  Returns -1 on an unknown letter. */
int ctl_notify_parse(const char *text, unsigned int *mask_r);
void ctl_notify_format(struct str *out, unsigned int mask);
/* Whether recipient r wants a DSN of this kind (one of CTL_NOTIFY_*),
 * the default (mask 0) being failure and delay. */
bool ctl_rcpt_wants(const struct ctl_rcpt *r, unsigned int kind);

/* Characters of a recipient address that VERP encodes as "+XX" (two
 * upper-case hex digits), as Courier's XVERP does. */
#define CTL_VERP_SPECIALS "@:%!+-[]"

/* Appends the VERP form of sender for a delivery to recipient, Courier's
 * encoding: the sender's local part, "-", the recipient's local part,
 * "=", the recipient's domain, "@", the sender's domain, where each of
 * CTL_VERP_SPECIALS in the recipient's local part and domain becomes
 * "+XX" ("list@example.com" to "a-b@x.org" gives
 * "list-a+2Db=x.org@example.com").  The split is at the last '@' of
 * each address; a recipient without '@' has no "=domain" part, a sender
 * without '@' no "@domain".  The null sender "" stays "" (a bounce is
 * never VERPed). */
void ctl_verp_sender(struct str *out, const char *sender,
		     const char *recipient);

/* The envelope sender of a delivery to recipient n: the VERP form when
 * the message asked for VERP, else the sender.  Returns a new string
 * (caller frees); n must be a recipient of ctl. */
char *ctl_rcpt_sender(const struct ctl_file *ctl, size_t n);

/* True when every recipient has a final status (delivered or failed). */
bool ctl_file_all_final(const struct ctl_file *ctl);

#endif
