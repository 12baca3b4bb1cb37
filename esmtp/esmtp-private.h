/* esmtp-private.h: the session's state, shared by the command files
 * (esmtp-cmd-*.c) and esmtp-session.c; not for other programs. */
#ifndef ESMTP_PRIVATE_H
#define ESMTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esmtp-relay.h"
#include "esmtp-session.h"
#include "esmtp-settings.h"
#include "listen.h"
#include "str.h"

struct conn;
struct timeout;
struct mime_parser;
struct esmtp_filter_run;
struct sasl_server;
struct submit;
struct dkim_verify;
struct dkim_sign;
struct worker_job;
struct esmtp_dkim_keys;
struct esmtp_dkim_job;

/* The longest command line (ESMTP_MAX_LINE, default 2048: RFC 5321's 512
 * plus room for the parameters of SIZE, DSN, AUTH and SMTPUTF8) and the
 * longest message line (ESMTP_MAX_DATA_LINE, default 64 KB: RFC 5321
 * says 1000, longer lines are common) are settings. */
/* Longest AUTH response line. */
#define ESMTP_MAX_AUTH_LINE 12288

enum esmtp_state {
	ESMTP_STATE_COMMAND,	/* reading commands */
	ESMTP_STATE_AUTH,	/* reading SASL responses */
	ESMTP_STATE_DATA,	/* reading DATA lines */
	ESMTP_STATE_BDAT,	/* reading a BDAT chunk (raw) */
	ESMTP_STATE_TLS,	/* STARTTLS handshake running */
	ESMTP_STATE_FILTER,	/* the global filters look at the message */
	ESMTP_STATE_WAIT,	/* a worker job runs (commit, DNS): paused */
	ESMTP_STATE_QUIT,	/* closing */
};

/* RFC 8601 5: Authentication-Results: fields of the incoming header that
 * carry our own authserv-id are forged (or stale): they are removed as
 * the message streams into the queue (esmtp-dkim.c).  The header is read
 * byte by byte; an Authentication-Results: field is held (at most
 * ESMTP_AR_MAX_FIELD bytes: a longer one is removed as well) until it
 * ends, then passed on or dropped; everything else passes at once. */
#define ESMTP_AR_MAX_FIELD 16384

enum esmtp_ar_state {
	ESMTP_AR_LINE_START,	/* at the start of a header line */
	ESMTP_AR_NAME,		/* reading a field name */
	ESMTP_AR_PASS,		/* in a field passed on */
	ESMTP_AR_HOLD,		/* in an Authentication-Results: field */
	ESMTP_AR_DROP,		/* in a field removed */
	ESMTP_AR_BODY,		/* after the header: everything passes */
};

struct esmtp_ar_strip {
	const char *authserv_id;	/* ours (not owned) */
	enum esmtp_ar_state state;
	enum esmtp_ar_state prev;	/* the field a continuation is of */
	char name[48];			/* the field name read so far */
	size_t name_len;
	struct str held;		/* the held field */
	bool held_init;
	unsigned int removed;		/* fields removed */
};

/* Passes bytes on (to the queue and the filters' copy). */
typedef void esmtp_ar_emit_t(const void *data, size_t len, void *context);

struct esmtp_rcpt {
	char *address;
	unsigned int notify;	/* enum ctl_notify */
	char *orcpt;
	/* localmailfilter(7): the account whose rcptfilter exited 99 and
	 * whose smtpfilter is run at the end of the message (NULL: none),
	 * and the address's extension (NULL: none) */
	char *lmf_account;
	char *lmf_ext;
	/* the smtpfilter is etc/aliasfilteracct's (lmf_account NULL,
	 * lmf_ext "alias-ADDRESS") */
	bool lmf_alias;
};

struct esmtp_session {
	struct ioloop *loop;
	struct conn *conn;
	const struct esmtp_server *server;
	esmtp_session_destroyed_t *destroyed;
	void *context;
	char remote_ip[LISTEN_IP_STRLEN];
	char local_ip[LISTEN_IP_STRLEN];

	enum esmtp_state state;
	struct timeout *idle_to;	/* ESMTP_TIMEOUT / ESMTP_DATA_TIMEOUT */
	unsigned int idle_msecs;	/* the interval idle_to runs with */
	struct timeout *session_to;	/* ESMTP_SESSION_TIMEOUT (once) */
	bool denied;		/* smtpaccess deny: only QUIT */
	bool may_relay;		/* smtpaccess RELAYCLIENT or AUTH */
	char *access_vars;	/* smtpaccess variables ("NAME=value\n"...) */
	char *block;		/* smtpaccess BLOCK: the reply to every RCPT */
	bool no_vrfy;		/* smtpaccess BOFHNOVRFY */
	uint64_t size_limit;	/* sizelimit, or smtpaccess SIZELIMIT */
	char *helo;		/* NULL before HELO/EHLO */
	bool esmtp;		/* EHLO */
	bool tls;
	char *auth_user;	/* authenticated login */
	char *auth_mech;
	struct sasl_server *sasl;
	unsigned int bad_commands;

	/* the transaction */
	bool have_mail;
	char *sender;
	char ret;		/* 'F', 'H' or 0 */
	char *envid;
	bool smtputf8;
	bool body_8bitmime;	/* MAIL FROM's BODY=8BITMIME (RFC 6152) */
	bool verp;		/* MAIL FROM's VERP (Courier's XVERP) */
	/* MAIL FROM's EXDATA (Courier's XEXDATA): the final reply may be
	 * a 558 with one reply per recipient */
	bool exdata;
	/* the filters' answer per recipient (rcpt_count entries, each NULL
	 * = accepted or the refusal's lines joined with '\n'), or NULL when
	 * they gave one answer for the message */
	char **rcpt_verdicts;
	uint64_t declared_size;
	struct esmtp_rcpt *rcpts;
	unsigned int rcpt_count, rcpt_alloc;
	struct submit *submit;	/* while DATA/BDAT runs */
	uint64_t msg_size;
	bool msg_too_big;
	bool msg_line_too_long;
	bool data_prev_crlf;	/* DATA: the line before ended in CRLF */
	bool spamtrapped;	/* a bofh spamtrap was a recipient */
	struct mime_parser *mime; /* bofh checks of the message */
	const char *bofh_reject; /* why the message is refused, or NULL */
	char *spf_headers;	/* Received-SPF: lines for the message */
	char *spf_ar;		/* SPF results for Authentication-Results: */
	struct dkim_verify *dkim_verify;	/* inbound: DKIM checks */
	struct dkim_sign *dkim_sign;	/* authenticated: DKIM signing */
	struct esmtp_dkim_keys *dkim_keys;	/* dkim_verify's key lookups */
	struct esmtp_ar_strip ar_strip;	/* our forged A-R fields removed */
	char *header_from;	/* the first address of From: (BOFHSPFFROM) */
	bool header_from_seen;
	char *spf_reject;	/* BOFHSPFFROM refused the message */
	int filter_fd;		/* the copy for the filters, or -1 */
	char *filter_msg_path, *filter_env_path;
	struct esmtp_filter_run *filter_run;
	/* localmailfilter(7) (esmtp-localfilter.h): for a client without
	 * EXDATA, whether the recipients accepted so far are the ones whose
	 * smtpfilter runs (1) or those without one (0; -1: none yet); the
	 * copy of the message for the smtpfilters (-1: none); and for an
	 * EXDATA client, their verdicts per recipient (as rcpt_verdicts),
	 * merged with the global filters' */
	int lmf_group;
	int lmf_fd;
	char **lmf_verdicts;
	bool bdat_used;		/* BDAT seen in this transaction */
	bool bdat_failed;	/* discard the rest of the chunks */
	bool bdat_last;
	uint64_t bdat_chunk;
	/* the worker job the session waits for (ESMTP_STATE_WAIT), or NULL;
	 * cancelled when the session goes */
	struct worker_job *job;
};

/* One entry of the command table. */
enum esmtp_cmd_flags {
	/* allowed before STARTTLS when ESMTP_TLS_REQUIRED */
	ESMTP_CMD_PRE_TLS = 0x01,
	/* allowed before AUTH when AUTH_REQUIRED */
	ESMTP_CMD_PRE_AUTH = 0x02,
	/* allowed for a client denied by smtpaccess */
	ESMTP_CMD_DENIED_OK = 0x04,
	/* takes no arguments (501 when given) */
	ESMTP_CMD_NO_ARGS = 0x08,
	/* ends a pipelined group (RFC 2920 3.1): EHLO, DATA, QUIT, AUTH,
	 * STARTTLS, NOOP; replies so far are flushed before it runs */
	ESMTP_CMD_LAST = 0x10,
};

struct esmtp_command {
	const char *name;
	void (*run)(struct esmtp_session *s, const char *args);
	unsigned int flags;
};

/* esmtp-session.c */
void esmtp_reply(struct esmtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A reply that is a client error: counts it; past the limit the
 * session ends with 421. */
void esmtp_reply_error(struct esmtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void esmtp_transaction_reset(struct esmtp_session *s);
/* Resets everything a STARTTLS forgets (RFC 3207 4.2). */
void esmtp_session_reset_tls(struct esmtp_session *s);
void esmtp_session_quit(struct esmtp_session *s);
/* (Re)starts the idle timer for the current state: ESMTP_DATA_TIMEOUT
 * while a message is read, ESMTP_TIMEOUT otherwise. */
void esmtp_session_timer_arm(struct esmtp_session *s);
/* The Received: "from" text and the "with" word for this session. */
char *esmtp_received_from(struct esmtp_session *s);
const char *esmtp_protocol(struct esmtp_session *s);

/* esmtp-cmd-hello.c */
void esmtp_cmd_ehlo(struct esmtp_session *s, const char *args);
void esmtp_cmd_helo(struct esmtp_session *s, const char *args);
void esmtp_cmd_noop(struct esmtp_session *s, const char *args);
void esmtp_cmd_rset(struct esmtp_session *s, const char *args);
void esmtp_cmd_quit(struct esmtp_session *s, const char *args);
void esmtp_cmd_vrfy(struct esmtp_session *s, const char *args);
void esmtp_cmd_expn(struct esmtp_session *s, const char *args);
void esmtp_cmd_help(struct esmtp_session *s, const char *args);
/* esmtp-cmd-mail.c */
void esmtp_cmd_mail(struct esmtp_session *s, const char *args);
void esmtp_cmd_rcpt(struct esmtp_session *s, const char *args);
/* esmtp-cmd-data.c */
/* Sends a reply given as lines "NNN-text\nNNN text". */
void esmtp_reply_lines(struct esmtp_session *s, const char *text);
/* Frees s->lmf_verdicts and closes s->lmf_fd. */
void esmtp_lmf_reset(struct esmtp_session *s);
/* Whether recipient filtering (etc/maildropfilter and the helper) is on
 * for this session. */
bool esmtp_lmf_enabled(const struct esmtp_session *s);
/* Frees s->rcpt_verdicts. */
void esmtp_rcpt_verdicts_free(struct esmtp_session *s);
void esmtp_cmd_data(struct esmtp_session *s, const char *args);
void esmtp_cmd_bdat(struct esmtp_session *s, const char *args);
void esmtp_data_line(struct esmtp_session *s, const char *line, size_t len,
		     bool crlf);
void esmtp_data_line_too_long(struct esmtp_session *s);
void esmtp_bdat_raw(struct esmtp_session *s, const void *data, size_t len,
		    bool last);
/* esmtp-spf.c */
/* SPF of the HELO name and MAIL FROM address (as the bofh options ask):
 * 1 accepted, 0 refused with *reply_r (caller frees); *helo_passed_r is
 * set when the HELO name got "pass".  Received-SPF: lines go to
 * s->spf_headers. */
int esmtp_spf_mail(struct esmtp_session *s, const char *sender,
		   bool *helo_passed_r, char **reply_r);
/* BOFHSPFFROM for the From: address: NULL accepted, or the refusal
 * (caller frees). */
char *esmtp_spf_from(struct esmtp_session *s, const char *from);
/* esmtp-dkim.c */
/* Starts DKIM for a message: signing for an authenticated client
 * (DKIMSIGN), else verification (DKIMVERIFY) when DNS checks are on. */
void esmtp_dkim_begin(struct esmtp_session *s);
/* The message's bytes as they arrive. */
void esmtp_dkim_feed(struct esmtp_session *s, const void *data, size_t len);
/* After the last byte, before submit_finish(): adds the DKIM-Signature:
 * or the Authentication-Results: field to s->submit, here (blocks on
 * DNS, for a server without a worker pool). */
void esmtp_dkim_finish(struct esmtp_session *s);
/* The same in parts, so that the slow one (key lookups, RSA) runs in a
 * worker thread.  esmtp_dkim_detach() takes what DKIM holds of the
 * transaction out of the session: NULL when there is nothing to do, else
 * a job that owns copies of all it needs (with own_dns, a resolver of
 * its own for the key lookups).  esmtp_dkim_run() signs or verifies and
 * makes the field: it blocks, in any thread, touching only the job.
 * esmtp_dkim_apply() adds the field to submit (loop thread; nothing when
 * there is none).  esmtp_dkim_job_free() frees it and sets *d to NULL
 * (NULL is harmless). */
/* Whether the end of this message is slow for DKIM: signing, or
 * signatures to verify (false: esmtp_dkim_finish() is quick). */
bool esmtp_dkim_slow(const struct esmtp_session *s);
struct esmtp_dkim_job *esmtp_dkim_detach(struct esmtp_session *s,
					 bool own_dns);
void esmtp_dkim_run(struct esmtp_dkim_job *d);
void esmtp_dkim_apply(struct esmtp_dkim_job *d, struct submit *submit);
void esmtp_dkim_job_free(struct esmtp_dkim_job **d);
/* Starts the Authentication-Results: filter for a message whose A-R
 * fields naming authserv_id (kept by the caller) are to be removed. */
void esmtp_ar_strip_init(struct esmtp_ar_strip *a, const char *authserv_id);
/* Filters the message's bytes (any pieces): what passes goes to emit. */
void esmtp_ar_strip_feed(struct esmtp_ar_strip *a, const void *data,
			 size_t len, esmtp_ar_emit_t *emit, void *context);
/* After the last byte: a field still held is passed on or dropped. */
void esmtp_ar_strip_finish(struct esmtp_ar_strip *a, esmtp_ar_emit_t *emit,
			   void *context);
/* Frees what the filter holds (safe to call twice, or uninitialised
 * when zeroed). */
void esmtp_ar_strip_free(struct esmtp_ar_strip *a);
/* Whether an Authentication-Results: field (the whole field, name and
 * folded lines) names authserv_id as its authserv-id (RFC 8601 2.2: a
 * token or a quoted-string, after optional CFWS), case-insensitively.
 * Bounded by len; never reads past it. */
bool esmtp_ar_field_is_ours(const char *field, size_t len,
			    const char *authserv_id);
/* Drops what DKIM holds of the transaction. */
void esmtp_dkim_reset(struct esmtp_session *s);
/* The selector of domain from etc/dkim/selectors ("domain selector"
 * lines), or NULL (caller frees). */
char *esmtp_dkim_selector(const char *domain);
/* esmtp-cmd-auth.c */
void esmtp_cmd_starttls(struct esmtp_session *s, const char *args);
void esmtp_cmd_auth(struct esmtp_session *s, const char *args);
void esmtp_auth_line(struct esmtp_session *s, const char *line, size_t len);
/* The mechanisms to advertise now (may be ""); caller frees. */
char *esmtp_auth_mechs(struct esmtp_session *s);

#endif
