/* imap-client.h: one IMAP session on a connection.
 *
 * The session reads commands with the resumable parser (imap-parser.h),
 * looks them up in the command table (imap-commands.h), which says in
 * which states a command is allowed, and runs it.  It is used in two
 * kinds of processes (see imapd.c): the pre-login process, unprivileged,
 * which only knows the NOT AUTHENTICATED state and hands credentials to
 * its owner through the login callback; and the mail session, running as
 * the account, created already logged in on a maildir. */
#ifndef IMAP_CLIENT_H
#define IMAP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-parser.h"
#include "imap-settings.h"
#include "str.h"

struct conn;
struct ioloop;
struct tls_ctx;
struct imap_client;
struct imap_mailbox;
struct sasl_server;

enum imap_client_state {
	IMAP_STATE_NOT_AUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

enum imap_login_result {
	IMAP_LOGIN_OK,		/* the owner took the session over */
	IMAP_LOGIN_FAILED,	/* wrong user or password */
	IMAP_LOGIN_REFUSED,	/* account may not use IMAP (text says) */
	IMAP_LOGIN_TEMPFAIL,	/* authdaemond down, fork failed... */
	/* the account lives on another server (its mailhost=): text is the
	 * IMAP URL of RFC 2221's referral, imap_login_referral_url() */
	IMAP_LOGIN_REFERRAL,
};

/* Credentials given by LOGIN or AUTHENTICATE. */
struct imap_login_request {
	const char *tag;
	const char *user;
	const char *password;	/* PLAIN, LOGIN, or NULL */
	const char *cram_challenge, *cram_digest_hex; /* CRAM-MD5 */
	bool tls;
};

/* What the owner does with a STARTTLS (imap_client_callbacks.starttls). */
enum imap_starttls_result {
	/* the TLS runs in this process, on the conn (conn_start_tls()) */
	IMAP_STARTTLS_LOCAL,
	/* the owner hands the connection to a TLS proxy (imapd.c): the
	 * client answers OK and reads no more (what the client pipelined
	 * after STARTTLS is thrown away, RFC 3501 6.2.1); the owner then,
	 * from the loop once the OK is written, takes the conn
	 * (imap_client_detach_conn(), conn_detach()) and gives the
	 * plaintext end of the proxy back with imap_client_set_tls_conn() */
	IMAP_STARTTLS_PROXY,
	/* no TLS can be had now: "* BYE" and the connection closes */
	IMAP_STARTTLS_REFUSED,
};

struct imap_client_callbacks {
	/* Pre-login: checks credentials.  On IMAP_LOGIN_OK the owner now
	 * speaks for the session (it sent the tagged OK itself, or will):
	 * the client object stops reading commands.  *text_r may be set
	 * for the NO reply. */
	enum imap_login_result (*login)(struct imap_client *client,
					const struct imap_login_request *req,
					const char **text_r, void *context);
	/* The session ended (LOGOUT, disconnect, hibernation); the owner
	 * destroys it. */
	void (*ended)(struct imap_client *client, void *context);
	/* Hibernation (imap_client_set_hibernate()): hands the state blob
	 * (len bytes) and, in IDLE, the inotify fd watching the folder (-1:
	 * none; it stays the session's) to whoever keeps the connection.
	 * Returns true when they took it: the session then closes its end
	 * of the connection and ends (ended is called).  NULL: never. */
	bool (*hibernate)(struct imap_client *client, const void *blob,
			  size_t len, int inotify_fd, void *context);
	/* Pre-login: a valid STARTTLS (offered, TLS not on yet), called
	 * by cmd_starttls() (cmd-login.c) before it answers.  NULL:
	 * IMAP_STARTTLS_LOCAL. */
	enum imap_starttls_result (*starttls)(struct imap_client *client,
					      void *context);
};

/* A pre-login session on conn (which it owns).  tls_ctx: for STARTTLS
 * (NULL: not offered); the settings must outlive the session. */
struct imap_client *
imap_client_create_login(struct ioloop *loop, struct conn *conn,
			 const struct imap_settings *set,
			 struct tls_ctx *tls_ctx, bool implicit_tls,
			 const char *remote_ip,
			 const struct imap_client_callbacks *cb,
			 void *context);
/* A logged-in session on conn for the maildir root (INBOX) of user.
 * tag: the LOGIN/AUTHENTICATE tag to answer OK to, or NULL to send a
 * PREAUTH greeting (tunnels).  compress_ok: offer COMPRESS=DEFLATE (only
 * for a conn on one plain socket, not a pair of fds nor TLS; see
 * imap-compress.h). */
struct imap_client *
imap_client_create_mail(struct ioloop *loop, struct conn *conn,
			const struct imap_settings *set, const char *root,
			const char *user, const char *tag, bool compress_ok,
			const struct imap_client_callbacks *cb,
			void *context);
/* A logged-in session on conn that takes on the state a hibernated
 * session handed over (blob of len bytes, imap-hibernate.h): no
 * greeting; the blob is checked against user (another account's is
 * refused), the mailbox is reopened with the client's view, IDLE goes on,
 * and the client input the blob holds is read first.  On any error the
 * client gets "* BYE" and the session ends (logged).  Otherwise as
 * imap_client_create_mail(). */
struct imap_client *
imap_client_create_restored(struct ioloop *loop, struct conn *conn,
			    const struct imap_settings *set, const char *root,
			    const char *user, bool compress_ok,
			    const void *blob, size_t len,
			    const struct imap_client_callbacks *cb,
			    void *context);
/* Lets the session hibernate (cb->hibernate) after secs seconds without
 * input, between commands or in IDLE (0: never). */
void imap_client_set_hibernate(struct imap_client *client, unsigned int secs);
/* The connection callbacks a session's conn must be created with (the
 * session sets itself as their context). */
const struct conn_callbacks *imap_client_conn_callbacks(void);
/* In the pre-login process, from the login callback before it returns
 * IMAP_LOGIN_OK: from now on bytes are relayed between the client and
 * the mail session on fd (owned). */
void imap_client_start_relay(struct imap_client *client, int fd);
/* Frees the session and its connection; sets *client to NULL. */
void imap_client_destroy(struct imap_client **client);
/* After IMAP_LOGIN_OK in the pre-login process: takes the connection
 * back (the session is then destroyed without closing it). */
struct conn *imap_client_detach_conn(struct imap_client *client);
/* After IMAP_STARTTLS_PROXY: conn (created with
 * imap_client_conn_callbacks(), owned from now on) is the plaintext end
 * of the TLS proxy; the session goes on over it with TLS on (LOGIN
 * allowed, STARTTLS no longer offered).  The old conn must have been
 * detached. */
void imap_client_set_tls_conn(struct imap_client *client, struct conn *conn);
/* The session's connection (NULL once detached or closed). */
struct conn *imap_client_conn(struct imap_client *client);

/* LOGIN-REFERRALS (RFC 2221): the referral URL
 * "imap://USER;AUTH=*@HOST/" for an account whose mailhost is host, user
 * percent-encoded as RFC 5092's enc-user wants, appended to out.
 * Returns 0, or -1 when host is not a host name, an IPv4 address or a
 * bracketed IPv6 address of at most 255 bytes (nothing appended). */
int imap_login_referral_url(struct str *out, const char *user,
			    const char *host);
/* True when mailhost names this server: proxy_hostname (PROXY_HOSTNAME)
 * if set, else the system hostname, compared without case. */
bool imap_login_mailhost_is_me(const char *mailhost,
			       const char *proxy_hostname);

#endif
