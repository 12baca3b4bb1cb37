/* login-master.h: what the masters of the login servers (imapd, pop3d)
 * share: their listener and TLS settings, the start-up (TLS context,
 * the plain and implicit-TLS listeners with their limits), the command
 * line (daemon or one tunnel session), the requests of the login
 * processes (NUL-separated fields), the verdict on an account after
 * authdaemond's answer, and the switch to the account.
 *
 * Each daemon keeps what differs: its protocol, its process model, its
 * setting names and its texts.  The functions here log with the daemon's
 * name in front ("imapd: ..."), as the daemon would itself.
 *
 * Usage in a daemon:
 *
 *   struct x_settings { struct login_master_settings master; ... };
 *   static const struct config_setting_def x_defs[] = {
 *           LOGIN_MASTER_SETTING_DEFS(struct x_settings, master,
 *                   "XDSTART", "XDSSLSTART", "X_STARTTLS",
 *                   "X_LOGIN_USER", "143", "993", "20"),
 *           ... the daemon's own ...
 *           CONFIG_SETTING_END };
 *
 *   lm = login_master_create(loop, &set.master, &names, accept, NULL);
 *   ... fork login processes, answer their requests with
 *   login_master_judge() ...
 *   login_master_destroy(&lm); */
#ifndef LOGIN_MASTER_H
#define LOGIN_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config-settings.h"
#include "listen.h"
#include "str.h"
#include "tls.h"

struct ioloop;
struct login_master_names;

/* The settings every login server has, embedded in its settings struct
 * (with Courier's names; see doc/imap.md and doc/pop3.md). */
struct login_master_settings {
	bool start;		/* IMAPDSTART, POP3DSTART: the plain port */
	char *address;		/* ADDRESS ("0" = every address) */
	long long port;		/* PORT */
	long long max_daemons;	/* MAXDAEMONS: connections in all */
	long long max_per_ip;	/* MAXPERIP: connections from one IP */
	char *login_user;	/* IMAP_LOGIN_USER, ...: login processes */
	bool ssl_start;		/* IMAPDSSLSTART, ...: the implicit TLS port */
	char *ssl_address;	/* SSLADDRESS */
	long long ssl_port;	/* SSLPORT */
	bool starttls;		/* IMAPDSTARTTLS, POP3_STARTTLS */
	char *tls_certfile;	/* TLS_CERTFILE */
	char *tls_dhparams;	/* TLS_DHPARAMS */
	char *tls_protocol;	/* TLS_PROTOCOL ("TLSv1.2+", ...) */
	char *tls_cipher_list;	/* TLS_CIPHER_LIST (OpenSSL) */
	char *tls_priority;	/* TLS_PRIORITY (GnuTLS) */
	char *tls_verifypeer;	/* TLS_VERIFYPEER (only NONE is used) */
	char *tls_trustcerts;	/* TLS_TRUSTCERTS */
};

/* The table entries of struct login_master_settings, for a daemon's
 * settings table: S is the daemon's settings struct, m the name of its
 * struct login_master_settings member; then the daemon's names of the
 * start, SSL start, STARTTLS and login user settings, and the defaults
 * of PORT, SSLPORT and MAXPERIP (as text). */
#define LOGIN_MASTER_SETTING_DEFS(S, m, start_name, ssl_start_name, \
				  starttls_name, login_user_name, port_def, \
				  ssl_port_def, max_per_ip_def) \
	CONFIG_SETTING_BOOL(S, m.start, start_name, "YES"), \
	CONFIG_SETTING_STRING(S, m.address, "ADDRESS", "0"), \
	CONFIG_SETTING_INT(S, m.port, "PORT", port_def, 0, 65535), \
	CONFIG_SETTING_INT(S, m.max_daemons, "MAXDAEMONS", "40", 0, 1000000), \
	CONFIG_SETTING_INT(S, m.max_per_ip, "MAXPERIP", max_per_ip_def, 0, \
			   1000000), \
	CONFIG_SETTING_STRING(S, m.login_user, login_user_name, "nobody"), \
	CONFIG_SETTING_BOOL(S, m.ssl_start, ssl_start_name, "YES"), \
	CONFIG_SETTING_STRING(S, m.ssl_address, "SSLADDRESS", "0"), \
	CONFIG_SETTING_INT(S, m.ssl_port, "SSLPORT", ssl_port_def, 0, 65535), \
	CONFIG_SETTING_BOOL(S, m.starttls, starttls_name, "YES"), \
	CONFIG_SETTING_STRING(S, m.tls_certfile, "TLS_CERTFILE", NULL), \
	CONFIG_SETTING_STRING(S, m.tls_dhparams, "TLS_DHPARAMS", NULL), \
	CONFIG_SETTING_STRING(S, m.tls_protocol, "TLS_PROTOCOL", NULL), \
	CONFIG_SETTING_STRING(S, m.tls_cipher_list, "TLS_CIPHER_LIST", NULL), \
	CONFIG_SETTING_STRING(S, m.tls_priority, "TLS_PRIORITY", NULL), \
	CONFIG_SETTING_STRING(S, m.tls_verifypeer, "TLS_VERIFYPEER", "NONE"), \
	CONFIG_SETTING_STRING(S, m.tls_trustcerts, "TLS_TRUSTCERTS", NULL)

/* Zeroes set (size bytes), fills in the defaults of defs, then the
 * NAME=value files plain_file and ssl_file (a missing file keeps the
 * defaults).  Returns 0, or -1 with every problem in errs
 * (config_settings_load_file()).  Free set's strings with
 * config_settings_free() either way. */
int login_master_settings_load(const struct config_setting_def *defs,
			       void *set, size_t size, const char *plain_file,
			       const char *ssl_file,
			       struct config_errors *errs);

/* Logs the messages of *errs and frees it; then, when ret < 0 and
 * fatal, stops the program with "NAME: the settings have errors". */
void login_master_settings_report(const struct login_master_names *names,
				  struct config_errors **errs, int ret,
				  bool fatal);

/* True when mech is one of the names of list (separated by spaces, tabs
 * or commas; case-insensitive): the SASL lists IMAP_AUTH, POP3AUTH... */
bool login_master_mech_listed(const char *list, const char *mech);

/* The lowest TLS version TLS_PROTOCOL asks for: TLS_VERSION_1_3 when it
 * names 1.3 (or 1_3), else 1.2, else the library's default (also for
 * NULL). */
enum tls_version login_master_tls_version(const char *tls_protocol);

/* The listen.h address text of ADDRESS and PORT: "PORT" for the address
 * "0" (every address), "[ADDRESS]:PORT" for an IPv6 address, else
 * "ADDRESS:PORT".  Caller frees. */
char *login_master_listen_text(const char *address, long long port);

/* HOME/MAILDIR for an account: maildir when it is absolute, else
 * home/maildir, else (maildir NULL or "") home/default_path.  Caller
 * frees. */
char *login_master_account_maildir(const char *home, const char *maildir,
				   const char *default_path);

/* The command line of a login server: NULL for the daemon (no
 * argument); for one logged-in session on stdin/stdout, "NAME DIR" gives
 * DIR and "NAME --stdio" gives $MAILDIR (when set and not empty), else
 * "Maildir".  Anything else (two arguments, --help, -h) prints the usage
 * to stderr and exits with 2.  name is the program's name. */
const char *login_master_command_line(const char *name, int argc,
				      char **argv);

/* Texts and names of one daemon, for login_master_create() and its log
 * lines. */
struct login_master_names {
	const char *log_name;	/* "imapd": the prefix of every line */
	const char *protocol;	/* "IMAP": logs "IMAP on", "IMAPS on" */
	const char *start_name;	    /* "IMAPDSTART" */
	const char *ssl_start_name; /* "IMAPDSSLSTART" */
	const char *ssl_file;	    /* "imapd-ssl" (etc/imapd-ssl) */
	const char *starttls_word;  /* "STARTTLS", "STLS" */
	/* written to a connection refused on the plain port (MAXDAEMONS,
	 * MAXPERIP): "* BYE Too many connections...\r\n" */
	const char *refusal;
};

/* A connection on one of the ports (implicit_tls: the SSL port).  As for
 * listen.h's callbacks, lc->fd belongs to the callback, lc->conn is to
 * be given to listen_conn_closed() when the connection ends. */
typedef void login_master_accept_t(struct listen_client *lc,
				   bool implicit_tls, void *context);

struct login_master;

/* Starts a daemon: checks that one port at least is on, makes the TLS
 * context when the SSL port or STARTTLS needs it (without TLS_CERTFILE:
 * fatal for the SSL port, a warning that turns STARTTLS off otherwise),
 * and listens on the plain and SSL ports with the limits MAXDAEMONS and
 * MAXPERIP (each port counts its own), logging "IMAP on ADDR".  A
 * connection over a limit is logged and closed, after names->refusal on
 * the plain port (on the SSL port the client expects a TLS handshake, not
 * text).  Failing to start is fatal (log_fatal()).  set and names must
 * outlive the result. */
struct login_master *
login_master_create(struct ioloop *loop,
		    const struct login_master_settings *set,
		    const struct login_master_names *names,
		    login_master_accept_t *accept_cb, void *context);
/* The server TLS context (NULL when TLS is off); owned by master. */
struct tls_ctx *login_master_tls_ctx(const struct login_master *master);
/* The TLS context a connection may use for STARTTLS/STLS on the plain
 * port: the context when starttls is on, else NULL. */
struct tls_ctx *login_master_starttls_ctx(const struct login_master *master);
/* Stops accepting on both ports (the open connections stay counted). */
void login_master_close_listeners(struct login_master *master);
/* Frees the listeners (in a forked child, which does not accept): the
 * TLS context stays. */
void login_master_drop_listeners(struct login_master *master);
/* Frees everything (the TLS context too); sets *master to NULL. */
void login_master_destroy(struct login_master **master);

/* Appends value (NULL as "") and a NUL: one field of a request of a login
 * process to its master. */
void login_master_field_append(struct str *s, const char *value);
/* Splits count NUL-terminated fields from buf[0..len-1] into fields[]
 * (pointers into buf).  Returns the bytes used, or -1 when a field has
 * no NUL within len. */
ssize_t login_master_fields_split(const char *buf, size_t len,
				  const char **fields, size_t count);

struct iovec;

/* Sends iov[0..iovcnt-1] as one message on the socket sock, with fd
 * attached (SCM_RIGHTS) when fd >= 0 (a login process giving a client's
 * connection away); retries after EINTR, never raises SIGPIPE.  Returns
 * the bytes sent, or -1 with errno.  fd stays the caller's. */
ssize_t login_master_send_fd(int sock, const struct iovec *iov,
			     size_t iovcnt, int fd);
/* Receives what is there of one message on sock (at most size bytes,
 * without blocking; retries after EINTR) with the fd attached to it: the
 * first fd received is *fd_r (close-on-exec; -1 when none), any other is
 * closed.  *flags_r gets recvmsg()'s msg_flags (MSG_TRUNC: the message
 * did not fit; MSG_CTRUNC: its control data did not).  Returns the bytes
 * read, 0 at EOF, or -1 with errno (EAGAIN: nothing yet). */
ssize_t login_master_recv_fd(int sock, void *buf, size_t size, int *fd_r,
			     int *flags_r);
/* The same with up to 4 fds attached (nfds of them, in order; the TLS
 * proxy gets a client's socket and its plaintext end in one message).
 * Returns as login_master_send_fd(); EINVAL for more than 4 fds. */
ssize_t login_master_send_fds(int sock, const struct iovec *iov,
			      size_t iovcnt, const int *fds, size_t nfds);
/* The same as login_master_recv_fd() for up to max_fds fds (at most 4):
 * they go to fds_r[0 .. *nfds_r - 1] in the order sent (close-on-exec);
 * any more are closed. */
ssize_t login_master_recv_fds(int sock, void *buf, size_t size, int *fds_r,
			      size_t max_fds, size_t *nfds_r, int *flags_r);

/* What the master does with a login after authdaemond answered. */
enum login_master_verdict {
	LOGIN_MASTER_TEMPFAIL,	/* authdaemond failed, or no uid */
	LOGIN_MASTER_FAILED,	/* wrong user or password */
	LOGIN_MASTER_REFUSED,	/* the account may not use the service */
	LOGIN_MASTER_SERVE,	/* go on: the daemon's own checks, fork */
	LOGIN_MASTER_ANSWERED,	/* the daemon's check answered itself */
};

/* The facts login_master_verdict() judges. */
struct login_master_login {
	const char *user;	/* as the client gave it */
	const char *remote_ip;
	int auth_result;	/* of auth_login() & co: -1, 0 or 1 */
	const char *auth_error;	/* their error text (NULL: none) */
	bool service_disabled;	/* the account's disableimap, ... */
	bool has_uid;		/* the account has a uid ... */
	uid_t uid;		/* ... this one */
	bool tls;		/* the client logged in under TLS */
};

/* A daemon's part in login_master_judge(). */
struct login_master_judge_ops {
	/* The daemon's own checks (a referral, TLS required...), after
	 * authdaemond's answer and the service check, before the uid's:
	 * returns LOGIN_MASTER_SERVE to go on, LOGIN_MASTER_ANSWERED when it
	 * answered the login itself, else the verdict, with *text_r for
	 * REFUSED (it logs why).  NULL: none. */
	enum login_master_verdict (*check)(void *context, const char **text_r);
	/* In the forked mail session: switches to the account and serves
	 * it; never returns. */
	void (*serve)(void *context);
};

/* Judges a login and logs it (names->log_name in front): authdaemond's
 * failure (TEMPFAIL), a wrong password (FAILED), the service disabled
 * for the account ("PROTOCOL disabled": REFUSED); else SERVE.  On
 * REFUSED *text_r is the text for the client; it is NULL otherwise. */
enum login_master_verdict
login_master_verdict(const struct login_master_names *names,
		     const struct login_master_login *login,
		     const char **text_r);
/* The account's uid, after the daemon's own checks: an account without
 * a uid is TEMPFAIL, uid 0 while running as root is REFUSED (mail is
 * never served as root), each logged; else SERVE.  *text_r as above. */
enum login_master_verdict
login_master_uid_verdict(const struct login_master_names *names,
			 const struct login_master_login *login,
			 const char **text_r);

/* The whole judgement of a login, in this order: login_master_verdict(),
 * the daemon's ops->check, login_master_uid_verdict(); then forks the
 * mail session (ops->serve(context) in the child) and logs it
 * (login_master_forked()).  Returns SERVE when the session runs, else
 * the verdict to answer (ANSWERED: already answered), with *text_r for
 * REFUSED. */
enum login_master_verdict
login_master_judge(const struct login_master_names *names,
		   const struct login_master_login *login,
		   const struct login_master_judge_ops *ops, void *context,
		   const char **text_r);

/* Logs the outcome of the fork of a mail session for a login that
 * login_master_verdict() let through (pid < 0: the fork failed; errno
 * is still fork()'s): "login: user=U ip=IP tls=yes pid=N".  Returns
 * LOGIN_MASTER_SERVE, or LOGIN_MASTER_TEMPFAIL when the fork failed. */
enum login_master_verdict
login_master_forked(const struct login_master_names *names,
		    const struct login_master_login *login, pid_t pid);

/* In a forked mail session: switches for good to the account (uid, gid,
 * the groups of sysusername when not NULL), checks that root is gone,
 * and goes to home (when it can).  Returns 0, or -1 after logging
 * "NAME: user=U: cannot switch to uid N: why" (the process must then
 * exit). */
int login_master_become_account(const struct login_master_names *names,
				const char *user, uid_t uid, gid_t gid,
				const char *sysusername, const char *home);

#endif
