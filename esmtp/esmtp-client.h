/* esmtp-client.h: one ESMTP client transaction to one server address, as
 * the courieresmtp delivery module runs it (RFC 5321, 1869, 2920, 3207,
 * 3461, 1870, 4954, 6152).
 *
 * esmtp_client_send() connects (binding ipout/ip6out when given), reads
 * the greeting, says EHLO (HELO when EHLO is refused), starts TLS when
 * the route asks for SMTPS or the server offers STARTTLS (unless the
 * STARTTLS memory says it failed there lately), authenticates when
 * credentials are given, then sends MAIL FROM (SIZE, BODY=8BITMIME, RET,
 * ENVID), the RCPTs (NOTIFY, ORCPT) and the message (as quoted-printable
 * where the server lacks 8BITMIME), pipelined when the server offers
 * PIPELINING; for a VERP message, a transaction per recipient.  It
 * blocks, with a deadline on every step.
 *
 * A message that needs SMTPUTF8 (RFC 6531) is sent with MAIL FROM ...
 * SMTPUTF8 to a server that offers it; to one that does not, a non-ASCII
 * sender fails every recipient and a non-ASCII recipient fails alone,
 * with 553 5.6.7 (RFC 6531 section 3.2), and the other recipients are
 * sent as usual.
 *
 * The connection may be kept for the next message to the same server
 * (esmtptimeoutkeepalive): struct esmtp_client_conn, with RSET before
 * the next transaction and as the keepalive ping.
 *
 * Its result says whether the server was reached: when it was not (no
 * connection, a bad greeting, the connection lost before MAIL FROM was
 * answered, TLS failing where TLS is required) the caller tries the next
 * address; otherwise every recipient has a status: delivered (2xx after
 * the data), deferred (4xx, the connection lost) or failed (5xx). */
#ifndef ESMTP_CLIENT_H
#define ESMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "ctlfile.h"
#include "esmtp-routes.h"
#include "str.h"

struct tls_ctx;

struct esmtp_client_rcpt {
	const char *address;
	const char *orcpt;	/* "rfc822;a@b" (xtext or not), or NULL */
	unsigned int notify;	/* enum ctl_notify mask, 0 = default */
	/* results */
	enum ctl_status status;	/* CTL_STATUS_NONE until the server spoke */
	char *diag;		/* the server's reply or our reason; owned */
	bool relayed;		/* delivered to a server without DSN */
};

struct esmtp_client_message {
	const char *sender;	/* "" for <> */
	/* VERP: one transaction per recipient (on the same connection, RSET
	 * between them), each from ctl_verp_sender() of sender and the
	 * recipient's address */
	bool verp;
	const char *envid;	/* or NULL */
	char ret;		/* 'F', 'H' or 0 */
	bool body_8bit;
	/* needs SMTPUTF8 (RFC 6531): submitted with it, or a non-ASCII
	 * address or header (esmtp_client_message_needs_utf8()) */
	bool smtputf8;
	const char *data;	/* the message, LF line ends */
	size_t size;
	struct esmtp_client_rcpt *rcpts;
	size_t rcpt_count;
};

/* The STARTTLS memory (seed: "remembers not to use the encryption with
 * this server for the next 2-4 hours"): a log file per two hours in
 * dir, the current and the previous one honoured. */
bool esmtp_tls_memory_broken(const char *dir, const char *address,
			     time_t now);
void esmtp_tls_memory_add(const char *dir, const char *address, time_t now);

struct esmtp_client_settings {
	const char *helo;	/* name for EHLO/HELO ("*": our PTR name) */
	/* timeouts in seconds */
	unsigned int timeout_connect, timeout_helo, timeout_cmd;
	unsigned int timeout_data, timeout_quit;
	/* source addresses (ipout, ip6out); family AF_UNSPEC = none */
	struct sockaddr_storage bind4, bind6;
	/* TLS: ctx NULL = never; use_starttls = try STARTTLS when offered */
	struct tls_ctx *tls_ctx;
	bool use_starttls;
	/* the certificate must verify (ESMTP_TLS_VERIFY_DOMAIN with
	 * TLS_VERIFYPEER=PEER): no fallback to plain text */
	bool verify;
	unsigned int security;	/* enum esmtp_security of the route */
	/* AUTH credentials, or NULL; plaintext_auth: PLAIN/LOGIN allowed
	 * without TLS */
	const char *auth_user, *auth_pass;
	bool plaintext_auth;
	/* the STARTTLS memory folder, or NULL */
	const char *tls_memory_dir;
	/* the resolver, for esmtphelo "*" */
	struct dns_resolver *dns;
	/* limits of what the server sends */
	size_t max_reply_line;
	unsigned int max_reply_lines;
};

/* An open connection, idle between transactions. */
struct esmtp_client_conn;

/* Delivers msg to target.  Returns 1 when the server was reached and
 * every recipient has a status, 0 when the next address should be tried
 * (*error_r: why, caller frees; recipients untouched).
 *
 * conn_r NULL: the connection ends with QUIT.  Otherwise, when *conn_r
 * is a kept connection, it is used (RSET, then the transaction; with its
 * own settings and target, which must be those of the call that opened
 * it); when it turns out to be gone before MAIL FROM was answered, it is
 * closed and a new one is made to target.  A connection whose
 * transaction went through is left in *conn_r (else *conn_r is NULL);
 * set and target must then live as long as it. */
int esmtp_client_send(const struct esmtp_client_settings *set,
		      const struct esmtp_target *target,
		      struct esmtp_client_message *msg,
		      struct esmtp_client_conn **conn_r, char **error_r);

/* The socket of a kept connection, to watch while idle: the server has
 * nothing to say then, so readable means it is closing. */
int esmtp_client_conn_fd(const struct esmtp_client_conn *conn);
/* Longest wait for the reply to a keepalive ping (seconds): a healthy
 * idle server answers RSET at once, and a job may be waiting. */
#define ESMTP_CLIENT_PING_TIMEOUT 30

/* The keepalive ping (esmtptimeoutkeepaliveping): RSET, its reply awaited
 * at most esmtptimeout or ESMTP_CLIENT_PING_TIMEOUT, the shorter.
 * Returns 0, or -1 when the connection is unusable (close it). */
int esmtp_client_conn_ping(struct esmtp_client_conn *conn);
/* QUIT (when the connection is still up), closes and frees; sets *conn
 * to NULL (NULL is harmless). */
void esmtp_client_conn_close(struct esmtp_client_conn **conn);

/* Whether msg needs SMTPUTF8: a non-ASCII sender or recipient, or raw
 * 8-bit bytes in the message's header (RFC 6532). */
bool esmtp_client_message_needs_utf8(const struct esmtp_client_message *msg);

/* Converts a message with 8-bit bodies for a server without 8BITMIME:
 * every leaf part whose body has 8-bit or NUL bytes and is not already
 * quoted-printable or base64 is re-encoded as quoted-printable, its
 * Content-Transfer-Encoding field replaced (MIME-Version added to a
 * top-level part that lacked it).  Appends the result to out. */
void esmtp_client_to_7bit(const char *data, size_t size, struct str *out);

/* Appends the xtext form (RFC 3461 section 4) of text to out, leaving a
 * value that already is valid xtext as it is. */
void esmtp_client_xtext(const char *text, struct str *out);

/* Appends data (LF or CRLF line ends) as SMTP DATA content: CRLF line
 * ends, leading dots doubled; *bol tracks the beginning of a line across
 * calls (start true).  The final ".\r\n" is the caller's (after a CRLF
 * when the data did not end with a line end). */
void esmtp_client_dot_stuff(const char *data, size_t len, bool *bol,
			    bool *cr, struct str *out);

#endif
