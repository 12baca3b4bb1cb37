/* pop3-client.h: one POP3 session, as a state machine on lib/conn.
 *
 * A session plays one of two roles:
 *
 *  - a login session (pop3d's unprivileged login process): greeting,
 *    CAPA, STLS, UTF8, USER/PASS, APOP, AUTH.  It never touches mail.
 *    When the client has given credentials, the session makes a
 *    socketpair and hands the credentials and one end to its owner
 *    (pop3_login_callbacks.login); the owner checks them (authdaemond)
 *    and starts the account's mail session on that end, running as the
 *    account's uid/gid (pop3_client_create_mail_handoff()).  If the mail
 *    session's first line is "-ERR" (mailbox in use, login delay, no
 *    mailbox) the session goes back to the AUTHORIZATION state.  On
 *    "+OK", a plain connection is handed over: the client's socket and
 *    its pipelined input go to the mail session (SCM_RIGHTS), which
 *    then talks to the client directly, and the login session only
 *    waits for the mail session's end (for the connection counts).  A
 *    TLS connection cannot be (the keys live in the login process): the
 *    login session relays, client lines to the mail session and its
 *    output back through TLS.
 *
 *  - a mail session (TRANSACTION state): the account's INBOX snapshot
 *    (pop3-mailbox.h), STAT, LIST, RETR, TOP, DELE, RSET, NOOP, UIDL,
 *    CAPA, QUIT (UPDATE).  It runs over the socket from a login session,
 *    or over stdin/stdout (`pop3d DIR`, already logged in).  Its first
 *    line is "+OK logged in." or an -ERR with an RFC 2449 code.
 *
 * Both roles count bad commands and close after too many; lines are at
 * most POP3_MAX_LINE bytes.  Every reply is corked into one write. */
#ifndef POP3_CLIENT_H
#define POP3_CLIENT_H

#include <stdbool.h>

#include "pop3-settings.h"

struct ioloop;
struct tls_ctx;
struct pop3_client;

enum pop3_login_kind {
	POP3_LOGIN_PASSWORD,	/* USER/PASS, AUTH PLAIN, AUTH LOGIN */
	POP3_LOGIN_CRAM_MD5,	/* secret = challenge, secret2 = digest hex */
	POP3_LOGIN_APOP,	/* secret = timestamp, secret2 = digest hex */
};

/* What a login session hands to its owner.  Strings are valid during the
 * callback only. */
struct pop3_login_request {
	enum pop3_login_kind kind;
	const char *user;
	const char *secret;
	const char *secret2;
	const char *remote_ip;
	const char *local_ip;
	bool tls;
	bool utf8;
	/* The mail session's end of the socketpair: the callback owns it
	 * (passes it on and closes it) whatever it returns. */
	int session_fd;
};

enum pop3_login_result {
	POP3_LOGIN_OK,		/* the mail session runs on session_fd */
	POP3_LOGIN_FAILED,	/* wrong credentials: [AUTH] */
	POP3_LOGIN_TEMPFAIL,	/* try again later: [SYS/TEMP] */
	POP3_LOGIN_REFUSED,	/* right password, not allowed: [SYS/PERM] */
};

struct pop3_login_callbacks {
	/* Starts checking req.  Returns 0 when the answer will come through
	 * pop3_client_login_done(), -1 when it cannot even be asked (the
	 * client is told to try later). */
	int (*login)(struct pop3_client *client,
		     const struct pop3_login_request *req, void *context);
	/* The session ended; the owner releases what it keeps for it
	 * (listen_conn...).  The client is freed after this returns. */
	void (*destroyed)(struct pop3_client *client, void *context);
	void *context;
};

/* A login session over an accepted socket (owned).  implicit_tls: the
 * socket is TLS from the start with tls_ctx; otherwise tls_ctx (may be
 * NULL) is offered with STLS when the settings allow. */
struct pop3_client *
pop3_client_create_login(struct ioloop *loop, int fd,
			 const struct pop3_settings *set,
			 struct tls_ctx *tls_ctx, bool implicit_tls,
			 const char *remote_ip, const char *local_ip,
			 const struct pop3_login_callbacks *cb);
/* The answer to a login callback.  text (may be NULL) is the reply's
 * text after the response code, e.g. "Account disabled for POP3.". */
void pop3_client_login_done(struct pop3_client *client,
			    enum pop3_login_result result, const char *text);

/* A mail session over a connected socket (fd_out < 0) or a pair of fds
 * (stdin/stdout), already logged in on maildir for user (for the log).
 * Opens the mailbox and writes the first line.  on_end(context) is
 * called once when the session is over (the caller stops its loop). */
struct pop3_client *
pop3_client_create_mail(struct ioloop *loop, int fd_in, int fd_out,
			const struct pop3_settings *set, const char *maildir,
			const char *user, const char *remote_ip, bool utf8,
			void (*on_end)(void *context), void *context);

/* A mail session started by a login session, on its end of the
 * socketpair (pop3_login_request.session_fd, owned): opens the mailbox and
 * writes its first line there; after "+OK" it waits for the login
 * session's hand-off (the client's socket, or none to be relayed), then
 * serves the client.  The socket to the login session stays open until
 * the end.  on_end as above. */
struct pop3_client *
pop3_client_create_mail_handoff(struct ioloop *loop, int fd,
				const struct pop3_settings *set,
				const char *maildir, const char *user,
				const char *remote_ip, bool utf8,
				void (*on_end)(void *context), void *context);

/* Ends every session immediately (shutdown) and frees it. */
void pop3_client_destroy(struct pop3_client **client);

#endif
