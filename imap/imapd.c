/* imapd.c: the IMAP server (sbin/imapd): settings, listeners and its
 * three kinds of processes.
 *
 *   master       binds the ports of etc/imapd (STARTTLS offered) and
 *                etc/imapd-ssl (implicit TLS), keeps root, and never
 *                reads a byte from a client.  For each connection it
 *                makes a socketpair and forks a pre-login process.
 *   pre-login    drops to IMAP_LOGIN_USER at once, then speaks IMAP in
 *                the NOT AUTHENTICATED state (TLS, CAPABILITY, STARTTLS,
 *                LOGIN, AUTHENTICATE).  Credentials go to the master over
 *                the socketpair; after a successful login the process
 *                relays bytes between the client (and its TLS) and the
 *                mail session over that same socketpair.
 *   mail session the master asks authdaemond, checks the account
 *                (disableimap, never uid 0) and forks this process,
 *                which switches for good to the account's uid/gid
 *                (lib/daemon.h) and serves the logged-in session on its
 *                end of the socketpair.  Mail is never served as root.
 *
 *   hibernation  a logged-in session idle for IMAP_HIBERNATE_TIMEOUT
 *                hands its state (imap-hibernate.h) to the master over
 *                a control socketpair made at its fork, with its IDLE
 *                inotify fd, and exits.  The master, which kept its own
 *                copy of the session's end of the stream and the account
 *                it authenticated, watches the stream and the inotify
 *                fd; when either wakes it forks a new session for that
 *                account (same checks, same uid switch) that restores the
 *                state.  The pre-login process relays on unaware; on a
 *                plain connection (no TLS) it does not stay at all: after
 *                the login it hands the client's socket (and the input
 *                it read past the login command) to the master, which
 *                gives it to the session, so that the session talks to
 *                the client directly and a hibernated plain connection
 *                costs no process.
 *
 *   imapd DIR    one session, already logged in, for the maildir DIR on
 *                stdin/stdout (mutt's tunnel, isync's Tunnel, ssh);
 *   imapd --stdio the same for $MAILDIR, else ./Maildir.
 *
 * The daemon stays in the foreground, logs to stderr and exits on
 * SIGTERM (passed on to its children). */
#include "config.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authclient.h"
#include "config-errors.h"
#include "conn.h"
#include "daemon.h"
#include "imap-client.h"
#include "imap-hibernate.h"
#include "imap-settings.h"
#include "ioloop.h"
#include "listen.h"
#include "login-master.h"
#include "log.h"
#include "mem.h"
#include "secure.h"
#include "str.h"
#include "tls.h"

/* Largest login request from a pre-login process. */
#define IPC_MAX 8192
/* How long a pre-login process waits for the master's answer. */
#define IPC_TIMEOUT_MSECS 60000

/* The account a connection logged in to, as the master authenticated it
 * (kept to fork the session again after hibernation). */
struct master_account {
	char *user;
	uid_t uid;
	gid_t gid;
	char *sysusername;
	char *home;
	char *root;		/* the maildir */
	char *options;
};

/* One connection, from the master's side. */
struct master_conn {
	struct master_conn *next;
	pid_t pid;		/* the pre-login process */
	/* the master's end of the socketpair; after login the session's
	 * end of the stream (the master keeps its copy when sessions may
	 * hibernate) */
	int fd;
	struct io *io;
	struct listen_conn *lconn;
	char remote_ip[LISTEN_IP_STRLEN];
	/* logged in, sessions may hibernate */
	struct master_account *acct;
	int ctrl_fd;		/* the live session's control channel */
	struct io *ctrl_io;
	/* hibernated: the state, the IDLE inotify fd, the watches */
	void *blob;
	size_t blob_len;
	int inotify_fd;
	struct io *inotify_io;
	struct timeout *autologout;
	/* the pre-login process is to hand the client's socket over
	 * (with the login's tag) */
	bool awaiting_handoff;
	char *tag;
	/* the session talks to the client directly: mc->fd is the client's
	 * socket and the connection ends with the session (or, hibernated,
	 * when the master drops it), not with the pre-login process */
	bool direct;
	pid_t session_pid;
};

static const struct login_master_names names = {
	.log_name = "imapd",
	.protocol = "IMAP",
	.start_name = "IMAPDSTART",
	.ssl_start_name = "IMAPDSSLSTART",
	.ssl_file = "imapd-ssl",
	.starttls_word = "STARTTLS",
	.refusal = "* BYE Too many connections, try later\r\n",
};

static struct imap_settings set;
static struct ioloop *loop;
static struct login_master *master;
static struct master_conn *conns;
static bool stopping;

/* in a mail session: its control channel to the master (-1: none) */
static int session_ctrl_fd = -1;

/* in the pre-login process */
static int login_ipc_fd = -1;
static struct imap_client *login_client;

/* ------------------------------------------------------- mail session */

static void session_ended(struct imap_client *client, void *context)
{
	(void)client;
	(void)context;
	ioloop_stop(loop);
}

/* Sends the state to the master with the inotify fd and waits for its
 * "OK". */
static bool session_hibernate(struct imap_client *client, const void *blob,
			      size_t len, int inotify_fd, void *context)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)"H", .iov_len = 1 },
		{ .iov_base = (void *)blob, .iov_len = len },
	};
	char reply[4];
	size_t got = 0;

	(void)client;
	(void)context;
	if (session_ctrl_fd < 0 ||
	    login_master_send_fd(session_ctrl_fd, iov, 2, inotify_fd) !=
		    (ssize_t)(len + 1))
		return false;
	/* no time limit: once the master has the state it may watch the
	 * stream, so the session goes on only after its "NO" (or when the
	 * master is gone) */
	while (got < 3) {
		struct pollfd pfd = { .fd = session_ctrl_fd, .events = POLLIN };
		int r = poll(&pfd, 1, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		ssize_t n = read(session_ctrl_fd, reply + got, 3 - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return memcmp(reply, "OK\n", 3) == 0;
}

static const struct imap_client_callbacks mail_callbacks = {
	.ended = session_ended,
	.hibernate = session_hibernate,
};

static void sigterm_stop(void *context)
{
	(void)context;
	ioloop_stop(loop);
}

static void run_mail_session(int fd_in, int fd_out, const char *root,
			     const char *user, const char *tag,
			     const void *blob, size_t blob_len,
			     const struct str *input)
{
	struct conn_settings cs = {
		.max_line_len = (size_t)set.max_line,
		.idle_timeout_msecs = set.timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
	};
	struct conn *conn = fd_out < 0 ?
		conn_create(loop, fd_in, &cs, imap_client_conn_callbacks(),
			    NULL) :
		conn_create_pair(loop, fd_in, fd_out, &cs,
				 imap_client_conn_callbacks(), NULL);
	struct imap_client *client =
		blob != NULL ?
			imap_client_create_restored(loop, conn, &set, root,
						    user, true, blob, blob_len,
						    &mail_callbacks, NULL) :
			imap_client_create_mail(loop, conn, &set, root, user,
						tag, fd_out < 0,
						&mail_callbacks, NULL);

	/* what the client sent after its login command, read by the
	 * pre-login process */
	if (input != NULL && str_len(input) > 0 &&
	    conn_input_prepend(conn, str_c(input), str_len(input)) < 0) {
		/* cannot be: the same IMAP_MAX_LINE bounded it there */
		log_error("imapd: user=%s: input handed over too long", user);
		conn_close(conn);
	}
	if (session_ctrl_fd >= 0 && set.hibernate_timeout > 0)
		imap_client_set_hibernate(client, set.hibernate_timeout);
	ioloop_signal_add(loop, SIGTERM, sigterm_stop, NULL);
	ioloop_run(loop);
	imap_client_destroy(&client);
}

/* In a forked child: closes the master's fds of every connection but
 * keep_fd (and keep_ctrl). */
static void close_master_fds(int keep_fd, int keep_ctrl)
{
	for (struct master_conn *c = conns; c != NULL; c = c->next) {
		if (c->fd >= 0 && c->fd != keep_fd)
			close(c->fd);
		if (c->ctrl_fd >= 0 && c->ctrl_fd != keep_ctrl)
			close(c->ctrl_fd);
		if (c->inotify_fd >= 0)
			close(c->inotify_fd);
	}
}

/* The mail session of acct on fd (the stream): after a login (tag: the
 * pre-login process is told "OK" first) or after hibernation (blob). */
static void __attribute__((noreturn))
mail_child(int fd, int ctrl_fd, const struct master_account *acct,
	   const char *tag, const void *blob, size_t blob_len,
	   const struct str *input, bool tell_prelogin)
{
	close_master_fds(fd, ctrl_fd);
	/* (closed, not freed: freeing them writes to every open
	 * connection's entry, pages fork would then copy) */
	login_master_close_listeners(master);
	if (login_master_become_account(&names, acct->user, acct->uid,
					acct->gid, acct->sysusername,
					acct->home) < 0) {
		static const char msg[] = "TEMP\n";
		static const char bye[] = "* BYE [UNAVAILABLE] Cannot resume "
					  "the session\r\n";
		ssize_t n = tell_prelogin ? write(fd, msg, sizeof(msg) - 1) :
					    write(fd, bye, sizeof(bye) - 1);
		(void)n;
		_exit(1);
	}
	/* the account's options, as Courier's imapd gets them (the ACL
	 * identifiers group= and administrators come from them) */
	if (setenv("OPTIONS", acct->options != NULL ? acct->options : "",
		   1) < 0)
		_exit(1);
	/* tell the pre-login process, then speak IMAP */
	if (tell_prelogin && write(fd, "OK\n", 3) != 3)
		_exit(1);
	session_ctrl_fd = ctrl_fd;
	loop = ioloop_create();
	run_mail_session(fd, -1, acct->root, acct->user, tag, blob, blob_len,
			 input);
	ioloop_destroy(&loop);
	_exit(0);
}

static struct master_account *account_new(const struct auth_record *rec,
					  const char *user)
{
	struct master_account *a = xcalloc(1, sizeof(*a));

	a->user = xstrdup(user);
	a->uid = rec->uid;
	a->gid = rec->gid;
	a->sysusername = rec->sysusername != NULL ?
		xstrdup(rec->sysusername) : NULL;
	a->home = xstrdup(rec->home != NULL ? rec->home : "/");
	a->root = login_master_account_maildir(a->home, rec->maildir,
					       set.maildir_path);
	a->options = rec->options != NULL ? xstrdup(rec->options) : NULL;
	return a;
}

static void account_free(struct master_account **ap)
{
	struct master_account *a = *ap;

	if (a == NULL)
		return;
	free(a->user);
	free(a->sysusername);
	free(a->home);
	free(a->root);
	free(a->options);
	x_free(*ap);
}

/* ---------------------------------------------------- master requests */

/* Forgets a hibernated session's state and watches. */
static void master_hib_clear(struct master_conn *mc)
{
	io_remove(&mc->inotify_io);
	if (mc->inotify_fd >= 0)
		close(mc->inotify_fd);
	mc->inotify_fd = -1;
	timeout_remove(&mc->autologout);
	x_free(mc->blob);
	mc->blob_len = 0;
}

static void master_ctrl_close(struct master_conn *mc)
{
	io_remove(&mc->ctrl_io);
	if (mc->ctrl_fd >= 0)
		close(mc->ctrl_fd);
	mc->ctrl_fd = -1;
}

/* Closes everything the master holds for the connection but its entry
 * (freed at the pre-login process' exit). */
static void master_conn_free(struct master_conn *mc)
{
	io_remove(&mc->io);
	if (mc->fd >= 0)
		close(mc->fd);
	mc->fd = -1;
	master_ctrl_close(mc);
	master_hib_clear(mc);
	account_free(&mc->acct);
	x_free(mc->tag);
	mc->awaiting_handoff = false;
}

/* The connection is over: frees its entry (its fds first). */
static void master_conn_done(struct master_conn *mc)
{
	for (struct master_conn **p = &conns; *p != NULL; p = &(*p)->next) {
		if (*p == mc) {
			*p = mc->next;
			break;
		}
	}
	master_conn_free(mc);
	listen_conn_closed(&mc->lconn);
	free(mc);
	if (stopping && conns == NULL)
		ioloop_stop(loop);
}

/* The master let go of the stream: the connection ends with it when the
 * session talked to the client directly; else the pre-login process sees
 * EOF and its exit ends it. */
static void master_conn_release(struct master_conn *mc)
{
	if (mc->direct)
		master_conn_done(mc);
	else
		master_conn_free(mc);
}

static void master_reply(struct master_conn *mc, const char *kind,
			 const char *text)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s %s\n", kind, text);

	if (n >= (int)sizeof(buf)) {
		/* cut to what the buffer holds, still one line */
		n = (int)sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	if (n > 0 && write(mc->fd, buf, (size_t)n) < 0)
		log_error("imapd: reply to the pre-login process: %s",
			  strerror(errno));
}

/* LOGIN-REFERRALS (RFC 2221): an account whose option mailhost= names
 * another server is not served here; the pre-login process answers NO
 * [REFERRAL imap://user;AUTH=*@mailhost/].  True when so answered. */
static bool referral(struct master_conn *mc, const struct auth_record *rec,
		     const char *user)
{
	char *host = NULL;
	bool done = false;

	if (auth_record_option(rec, "mailhost", &host) > 0 &&
	    host[0] != '\0' &&
	    !imap_login_mailhost_is_me(host, set.proxy_hostname)) {
		struct str url;

		str_init(&url, 128);
		/* (the reply to the pre-login process is one short line) */
		if (imap_login_referral_url(&url, user, host) < 0 ||
		    str_len(&url) > 400) {
			log_warning("imapd: user=%s: mailhost=%s is not a "
				    "host name; served here", user, host);
		} else {
			log_info("imapd: login referred: user=%s ip=%s "
				 "mailhost=%s", user, mc->remote_ip, host);
			master_reply(mc, "REFERRAL", str_c(&url));
			done = true;
		}
		str_free(&url);
	}
	free(host);
	return done;
}

/* A login being judged (login_master_judge()'s context). */
struct judged_login {
	struct master_conn *mc;
	const struct auth_record *rec;
	const char *tag;
	const char *login;	/* the user name the client gave */
	const char *user;	/* the account's address, else login */
	int ctrl[2];		/* the control channel (hibernation) or -1 */
};

static enum login_master_verdict login_check(void *context,
					     const char **text_r)
{
	struct judged_login *ls = context;

	(void)text_r;
	return referral(ls->mc, ls->rec, ls->login) ? LOGIN_MASTER_ANSWERED :
						     LOGIN_MASTER_SERVE;
}

static void login_serve(void *context)
{
	struct judged_login *ls = context;

	if (ls->ctrl[0] >= 0)
		close(ls->ctrl[0]);
	mail_child(ls->mc->fd, ls->ctrl[1], account_new(ls->rec, ls->user),
		   ls->tag, NULL, 0, NULL, true);
}

static const struct login_master_judge_ops judge_ops = {
	.check = login_check,
	.serve = login_serve,
};

/* ------------------------------------------------------ hibernation */

static void master_ctrl(void *context);

/* The client is gone (or must go): the master lets go of the stream, the
 * pre-login process sees EOF and ends. */
static void master_hib_drop(struct master_conn *mc, const char *bye)
{
	if (bye != NULL && mc->fd >= 0) {
		ssize_t n = send(mc->fd, bye, strlen(bye),
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
	}
	master_conn_release(mc);
}

static void master_autologout(void *context)
{
	struct master_conn *mc = context;

	mc->autologout = NULL;
	log_info("imapd: user=%s: autologout while hibernated",
		 mc->acct->user);
	master_hib_drop(mc, "* BYE Autologout; idle for too long\r\n");
}

/* The stream became readable or the folder changed: a new session. */
static void master_wake(struct master_conn *mc)
{
	char c;
	ssize_t n = recv(mc->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	int ctrl[2];

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* the client left while the session slept */
		master_hib_drop(mc, NULL);
		return;
	}
	/* the same checks as at login for the uid it switches to */
	struct login_master_login login = {
		.user = mc->acct->user,
		.remote_ip = mc->remote_ip,
		.auth_result = 1,
		.has_uid = true,
		.uid = mc->acct->uid,
	};
	const char *text;
	if (login_master_uid_verdict(&names, &login, &text) !=
		    LOGIN_MASTER_SERVE ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctrl) < 0) {
		master_hib_drop(mc, "* BYE [UNAVAILABLE] Cannot resume the "
				    "session\r\n");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ctrl[0]);
		mail_child(mc->fd, ctrl[1], mc->acct, NULL, mc->blob,
			   mc->blob_len, NULL, false);
	}
	close(ctrl[1]);
	if (pid < 0) {
		log_error("imapd: fork: %s", strerror(errno));
		close(ctrl[0]);
		master_hib_drop(mc, "* BYE [UNAVAILABLE] Cannot resume the "
				    "session\r\n");
		return;
	}
	io_remove(&mc->io);
	master_hib_clear(mc);
	mc->session_pid = pid;
	mc->ctrl_fd = ctrl[0];
	mc->ctrl_io = io_add(loop, mc->ctrl_fd, IO_READ, master_ctrl, mc);
}

static void master_wake_stream(void *context)
{
	master_wake(context);
}

static void master_wake_inotify(void *context)
{
	master_wake(context);
}

/* A message from a live session: "H" and its state (with its IDLE
 * inotify fd), or EOF when it ended. */
static void master_ctrl(void *context)
{
	struct master_conn *mc = context;
	size_t size = IMAP_HIBERNATE_MAX_BLOB + 2;
	char *buf = xmalloc(size);
	int fd, flags;
	ssize_t n = login_master_recv_fd(mc->ctrl_fd, buf, size, &fd, &flags);

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		free(buf);
		return;
	}
	if (n <= 0) {
		/* the session ended: let go of the stream so that the
		 * pre-login process sees EOF */
		free(buf);
		if (fd >= 0)
			close(fd);
		master_conn_release(mc);
		return;
	}
	if ((flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || buf[0] != 'H' ||
	    (size_t)n - 1 > IMAP_HIBERNATE_MAX_BLOB || n < 2) {
		log_error("imapd: user=%s: malformed hibernation request",
			  mc->acct->user);
		free(buf);
		if (fd >= 0)
			close(fd);
		if (write(mc->ctrl_fd, "NO\n", 3) != 3)
			master_conn_release(mc);
		return;
	}
	if (write(mc->ctrl_fd, "OK\n", 3) != 3) {
		/* the session is gone: it did not hibernate */
		free(buf);
		if (fd >= 0)
			close(fd);
		master_conn_release(mc);
		return;
	}
	mc->session_pid = 0;
	master_ctrl_close(mc);
	mc->blob_len = (size_t)n - 1;
	mc->blob = xmemdup(buf + 1, mc->blob_len);
	free(buf);
	mc->inotify_fd = fd;
	mc->io = io_add(loop, mc->fd, IO_READ, master_wake_stream, mc);
	if (fd >= 0)
		mc->inotify_io = io_add(loop, fd, IO_READ, master_wake_inotify,
					mc);
	/* IMAP_TIMEOUT counts on from the last input, which was
	 * IMAP_HIBERNATE_TIMEOUT ago */
	unsigned int left = set.timeout > set.hibernate_timeout ?
		set.timeout - set.hibernate_timeout : 1;
	mc->autologout = timeout_add_once(loop, left * 1000,
					  master_autologout, mc);
}

/* Forks the session of a login the master judged (mc->acct, mc->tag)
 * on fd: the client's socket (direct, with input) or the socketpair to
 * the pre-login process.  Returns false when it could not. */
static bool master_fork_session(struct master_conn *mc, int fd,
				const struct str *input, bool direct)
{
	int ctrl[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctrl) < 0) {
		log_error("imapd: socketpair: %s", strerror(errno));
		return false;
	}
	struct login_master_login login = {
		.user = mc->acct->user,
		.remote_ip = mc->remote_ip,
		.auth_result = 1,
		.has_uid = true,
		.uid = mc->acct->uid,
		.tls = false,
	};
	pid_t pid = fork();
	if (pid == 0) {
		close(ctrl[0]);
		mail_child(fd, ctrl[1], mc->acct, mc->tag, NULL, 0, input,
			   !direct);
	}
	close(ctrl[1]);
	if (login_master_forked(&names, &login, pid) != LOGIN_MASTER_SERVE) {
		close(ctrl[0]);
		return false;
	}
	mc->session_pid = pid;
	mc->ctrl_fd = ctrl[0];
	mc->ctrl_io = io_add(loop, mc->ctrl_fd, IO_READ, master_ctrl, mc);
	return true;
}

/* The pre-login process' answer to "HANDOFF": "F", the length of the
 * input it read past the login (4 bytes, little-endian) and that input,
 * with the client's socket attached; or "R" (it could not: it relays). */
static void master_handoff(struct master_conn *mc)
{
	/* the pre-login connection's input buffer holds at most
	 * IMAP_MAX_LINE + 2 bytes */
	size_t size = 5 + (size_t)set.max_line + 2;
	char *buf = xmalloc(size);
	int fd, flags;
	ssize_t n = login_master_recv_fd(mc->fd, buf, size, &fd, &flags);
	struct str input;

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		free(buf);
		return;
	}
	mc->awaiting_handoff = false;
	if (n > 0 && buf[0] == 'R' && fd < 0) {
		/* the usual way: the session on the socketpair */
		free(buf);
		if (!master_fork_session(mc, mc->fd, NULL, false)) {
			master_reply(mc, "TEMP", "");
			master_conn_free(mc);
			return;
		}
		io_remove(&mc->io);
		return;
	}
	uint32_t len = n >= 5 ? (uint32_t)(unsigned char)buf[1] |
			(uint32_t)(unsigned char)buf[2] << 8 |
			(uint32_t)(unsigned char)buf[3] << 16 |
			(uint32_t)(unsigned char)buf[4] << 24 : 0;
	if (n < 5 || buf[0] != 'F' || fd < 0 || (flags & MSG_CTRUNC) != 0 ||
	    (size_t)n != 5 + (size_t)len) {
		if (n != 0)
			log_error("imapd: malformed handoff from a pre-login "
				  "process");
		free(buf);
		if (fd >= 0)
			close(fd);
		master_conn_free(mc);
		return;
	}
	str_init(&input, len + 1);
	str_append_n(&input, buf + 5, len);
	secure_wipe(buf, (size_t)n);
	free(buf);
	/* the client's socket is the stream now; the pre-login process
	 * exits and its end of the socketpair goes */
	io_remove(&mc->io);
	close(mc->fd);
	mc->fd = fd;
	mc->direct = true;
	mc->pid = -1;
	bool ok = master_fork_session(mc, fd, &input, true);
	secure_wipe(input.data, str_len(&input));
	str_free(&input);
	if (!ok)
		master_hib_drop(mc, "* BYE [UNAVAILABLE] Temporary failure, "
				    "try again later\r\n");
}

/* For a plain login (no TLS) with hibernation on: the verdicts of
 * login_master_judge() without its fork; on SERVE the pre-login process
 * is asked for the client's socket. */
static enum login_master_verdict
login_handoff_judge(struct judged_login *ls,
		    const struct login_master_login *login, const char **text_r)
{
	enum login_master_verdict v = login_master_verdict(&names, login,
							   text_r);

	if (v == LOGIN_MASTER_SERVE)
		v = login_check(ls, text_r);
	if (v == LOGIN_MASTER_SERVE)
		v = login_master_uid_verdict(&names, login, text_r);
	if (v != LOGIN_MASTER_SERVE)
		return v;
	ls->mc->acct = account_new(ls->rec, ls->user);
	ls->mc->tag = xstrdup(ls->tag);
	ls->mc->awaiting_handoff = true;
	master_reply(ls->mc, "HANDOFF", "");
	return LOGIN_MASTER_ANSWERED;
}

/* Fields of a request: kind, tag, user, secret, secret2, tls. */
static void master_request(void *context)
{
	struct master_conn *mc = context;
	char buf[IPC_MAX + 1];

	if (mc->awaiting_handoff) {
		master_handoff(mc);
		return;
	}
	ssize_t n = read(mc->fd, buf, IPC_MAX);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		master_conn_free(mc);
		return;
	}
	const char *f[6];
	if (login_master_fields_split(buf, (size_t)n, f, N_ELEMENTS(f)) < 0) {
		log_error("imapd: malformed request from a pre-login process");
		master_conn_free(mc);
		return;
	}
	const char *kind = f[0], *user = f[2];
	struct auth_record rec;
	struct judged_login ls = {
		.mc = mc, .rec = &rec, .tag = f[1], .login = user,
		.ctrl = { -1, -1 },
	};
	struct login_master_login login = {
		.user = user,
		.remote_ip = mc->remote_ip,
		.tls = strcmp(f[5], "1") == 0,
	};
	const char *text;

	auth_record_init(&rec);
	if (strcmp(kind, "P") == 0)
		login.auth_result = auth_login("imap", user, f[3],
					       mc->remote_ip, &rec,
					       &login.auth_error);
	else if (strcmp(kind, "C") == 0)
		login.auth_result = auth_cram("imap", "cram-md5", f[3],
					      strlen(f[3]), user, f[4],
					      mc->remote_ip, &rec,
					      &login.auth_error);
	else {
		login.auth_result = -1;
		login.auth_error = "unknown request";
	}
	/* only the secrets: tag and user are still needed */
	secure_wipe((char *)f[3], strlen(f[3]));
	secure_wipe((char *)f[4], strlen(f[4]));
	login.service_disabled = login.auth_result > 0 &&
				 auth_record_service_disabled(&rec, "imap");
	login.has_uid = rec.has_uid;
	login.uid = rec.uid;
	ls.user = rec.address != NULL ? rec.address : user;
	bool handoff = set.hibernate_timeout > 0 && !login.tls;
	if (!handoff && set.hibernate_timeout > 0 && login.auth_result > 0 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ls.ctrl) <
		    0) {
		log_error("imapd: socketpair: %s", strerror(errno));
		ls.ctrl[0] = ls.ctrl[1] = -1;
	}
	enum login_master_verdict v =
		handoff ? login_handoff_judge(&ls, &login, &text) :
			  login_master_judge(&names, &login, &judge_ops, &ls,
					     &text);
	switch (v) {
	case LOGIN_MASTER_TEMPFAIL:
		master_reply(mc, "TEMP", "");
		break;
	case LOGIN_MASTER_FAILED:
		master_reply(mc, "NO", "");
		break;
	case LOGIN_MASTER_REFUSED:
		master_reply(mc, "REFUSED", text);
		break;
	case LOGIN_MASTER_ANSWERED:
		/* the account is served by its mailhost */
		break;
	case LOGIN_MASTER_SERVE:
		/* the socketpair is the session's now; the master keeps
		 * its copy of the session's end when the session may
		 * hibernate (the stream it will watch then) */
		if (ls.ctrl[0] < 0) {
			master_conn_free(mc);
			break;
		}
		io_remove(&mc->io);
		close(ls.ctrl[1]);
		mc->ctrl_fd = ls.ctrl[0];
		ls.ctrl[0] = ls.ctrl[1] = -1;
		mc->ctrl_io = io_add(loop, mc->ctrl_fd, IO_READ, master_ctrl,
				     mc);
		mc->acct = account_new(&rec, ls.user);
		break;
	}
	if (ls.ctrl[0] >= 0) {
		close(ls.ctrl[0]);
		close(ls.ctrl[1]);
	}
	auth_record_free(&rec);
}

/* ------------------------------------------------------ pre-login side */

static bool read_reply_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, IPC_TIMEOUT_MSECS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		ssize_t got = read(fd, buf + n, 1);
		if (got <= 0)
			return false;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return true;
		}
		n++;
	}
	return false;
}

/* A pre-login process that stays as a relay (TLS) may live for days:
 * what the login took from the heap goes back to the system. */
static void relay_trim(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

/* The master asked for the client's socket (a plain login): it goes with
 * what was read past the login command, and this process ends; if the
 * connection cannot be handed over, "R" and the relay as usual. */
static void login_handoff(void *context)
{
	struct imap_client *client = context;
	struct conn *conn = imap_client_conn(client);
	struct str input;
	int fd = -1;

	str_init(&input, 256);
	if (conn != NULL && conn_output_pending(conn) == 0)
		fd = conn_detach(&conn, &input);
	if (fd >= 0) {
		unsigned char hdr[5] = { 'F', str_len(&input) & 0xff,
					 (str_len(&input) >> 8) & 0xff,
					 (str_len(&input) >> 16) & 0xff,
					 (str_len(&input) >> 24) & 0xff };
		struct iovec iov[2] = {
			{ hdr, sizeof(hdr) },
			{ input.data, str_len(&input) },
		};
		size_t total = sizeof(hdr) + str_len(&input);

		/* the conn is gone: the session must not free it */
		(void)imap_client_detach_conn(client);
		if (login_master_send_fd(login_ipc_fd, iov,
					 str_len(&input) > 0 ? 2 : 1, fd) !=
		    (ssize_t)total)
			log_error("imapd: handing the connection over: %s",
				  strerror(errno));
		secure_wipe(input.data, str_len(&input));
		str_free(&input);
		close(fd);
		ioloop_stop(loop);
		return;
	}
	str_free(&input);
	char line[64];
	if (write(login_ipc_fd, "R", 1) != 1 ||
	    !read_reply_line(login_ipc_fd, line, sizeof(line)) ||
	    strcmp(line, "OK") != 0) {
		if (conn == NULL) {
			ioloop_stop(loop);
			return;
		}
		conn_write_str(conn, "* BYE [UNAVAILABLE] Temporary failure, "
				     "try again later\r\n");
		conn_close(conn);
		return;
	}
	conn_input_resume(conn);
	imap_client_start_relay(client, login_ipc_fd);
	login_ipc_fd = -1;
	relay_trim();
}

static enum imap_login_result login_cb(struct imap_client *client,
				       const struct imap_login_request *req,
				       const char **text_r, void *context)
{
	static char text[400];
	struct str s;
	char line[512];

	(void)context;
	str_init(&s, 256);
	login_master_field_append(&s, req->password != NULL ? "P" : "C");
	login_master_field_append(&s, req->tag);
	login_master_field_append(&s, req->user);
	login_master_field_append(&s, req->password != NULL ? req->password :
						 req->cram_challenge);
	login_master_field_append(&s, req->cram_digest_hex);
	login_master_field_append(&s, req->tls ? "1" : "0");
	bool sent = str_len(&s) <= IPC_MAX &&
		    write(login_ipc_fd, str_c(&s), str_len(&s)) ==
			    (ssize_t)str_len(&s);
	secure_wipe(s.data, s.len);
	str_free(&s);
	if (!sent || !read_reply_line(login_ipc_fd, line, sizeof(line)))
		return IMAP_LOGIN_TEMPFAIL;
	if (strcmp(line, "OK") == 0) {
		imap_client_start_relay(client, login_ipc_fd);
		login_ipc_fd = -1;
		relay_trim();
		return IMAP_LOGIN_OK;
	}
	if (strcmp(line, "HANDOFF ") == 0) {
		/* from the loop: not inside the connection's callback;
		 * what the client sent after the login stays buffered */
		conn_input_pause(imap_client_conn(client));
		timeout_add_once(loop, 0, login_handoff, client);
		return IMAP_LOGIN_OK;
	}
	const char *sp = strchr(line, ' ');
	if (sp != NULL && sp[1] != '\0') {
		str_copy(text, sp + 1, sizeof(text));
		*text_r = text;
	}
	if (str_begins_with(line, "NO"))
		return IMAP_LOGIN_FAILED;
	if (str_begins_with(line, "REFUSED"))
		return IMAP_LOGIN_REFUSED;
	if (str_begins_with(line, "REFERRAL") && *text_r != NULL)
		return IMAP_LOGIN_REFERRAL;
	return IMAP_LOGIN_TEMPFAIL;
}

static void login_ended(struct imap_client *client, void *context)
{
	(void)client;
	(void)context;
	ioloop_stop(loop);
}

static const struct imap_client_callbacks login_callbacks = {
	.login = login_cb,
	.ended = login_ended,
};

static void __attribute__((noreturn))
login_child(int client_fd, int ipc_fd, bool implicit, const char *ip)
{
	const char *error;

	close_master_fds(-1, -1);
	/* (closed, not freed: freeing them writes to every open
	 * connection's entry, pages fork would then copy) */
	login_master_close_listeners(master);
	if (daemon_drop_privileges(set.master.login_user, NULL, &error) < 0) {
		log_error("imapd: cannot switch to %s: %s",
			  set.master.login_user, error);
		_exit(1);
	}
	login_ipc_fd = ipc_fd;
	/* the master's loop is left as it is, unused (as a mail session
	 * does): freeing a watch per open connection would write to the
	 * pages they are on and so copy them into every pre-login process,
	 * which may stay for days as a TLS relay */
	loop = ioloop_create();
	struct conn_settings cs = {
		.max_line_len = (size_t)set.max_line,
		.idle_timeout_msecs = set.timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
		.tls_ctx = implicit ? login_master_tls_ctx(master) : NULL,
	};
	struct conn *conn = conn_create(loop, client_fd, &cs,
					imap_client_conn_callbacks(), NULL);
	login_client = imap_client_create_login(
		loop, conn, &set, login_master_starttls_ctx(master), implicit,
		ip, &login_callbacks, NULL);
	ioloop_signal_add(loop, SIGTERM, sigterm_stop, NULL);
	ioloop_run(loop);
	imap_client_destroy(&login_client);
	ioloop_destroy(&loop);
	_exit(0);
}

/* ------------------------------------------------------------ master */

static void accept_conn(struct listen_client *lc, bool implicit,
			void *context)
{
	int sv[2];

	(void)context;
	if (stopping ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(lc->fd);
		listen_conn_closed(&lc->conn);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		login_child(lc->fd, sv[1], implicit, lc->remote_ip);
	}
	close(lc->fd);
	close(sv[1]);
	if (pid < 0) {
		log_error("imapd: fork: %s", strerror(errno));
		close(sv[0]);
		listen_conn_closed(&lc->conn);
		return;
	}
	struct master_conn *mc = xcalloc(1, sizeof(*mc));
	mc->pid = pid;
	mc->fd = sv[0];
	mc->ctrl_fd = -1;
	mc->inotify_fd = -1;
	mc->lconn = lc->conn;
	str_copy(mc->remote_ip, lc->remote_ip, sizeof(mc->remote_ip));
	mc->io = io_add(loop, mc->fd, IO_READ, master_request, mc);
	mc->next = conns;
	conns = mc;
}

static void master_sigchld(void *context)
{
	int status;
	pid_t pid;

	(void)context;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (struct master_conn **p = &conns; *p != NULL;
		     p = &(*p)->next) {
			struct master_conn *mc = *p;

			if (mc->pid != pid)
				continue;
			/* its last words may still be unread */
			if (mc->awaiting_handoff)
				master_handoff(mc);
			if (mc->direct)
				break;
			master_conn_done(mc);
			break;
		}
	}
	if (stopping && conns == NULL)
		ioloop_stop(loop);
}

static void master_sigterm(void *context)
{
	(void)context;
	stopping = true;
	login_master_close_listeners(master);
	for (struct master_conn *mc = conns, *next; mc != NULL; mc = next) {
		next = mc->next;
		if (mc->pid > 0)
			kill(mc->pid, SIGTERM);
		if (mc->session_pid > 0)
			kill(mc->session_pid, SIGTERM);
		else if (mc->direct && mc->blob != NULL)
			master_hib_drop(mc, "* BYE Server shutting down\r\n");
	}
	if (conns == NULL)
		ioloop_stop(loop);
}

/* -------------------------------------------------------------- main */

static void load_settings(bool daemon_mode)
{
	struct config_errors *errs = config_errors_new();
	int ret = imap_settings_load(&set, "imapd", "imapd-ssl", errs);

	login_master_settings_report(&names, &errs, ret, daemon_mode);
}

static int tunnel_main(const char *dir)
{
	const char *user = getenv("USER");

	load_settings(false);
	loop = ioloop_create();
	run_mail_session(0, 1, dir, user != NULL ? user : "-", NULL, NULL, 0,
			 NULL);
	ioloop_destroy(&loop);
	imap_settings_free(&set);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("imapd", LOG_TARGET_STDERR);
	const char *dir = login_master_command_line("imapd", argc, argv);
	if (dir != NULL)
		return tunnel_main(dir);
	load_settings(true);
	loop = ioloop_create();
	master = login_master_create(loop, &set.master, &names, accept_conn,
				     NULL);
	ioloop_signal_add(loop, SIGCHLD, master_sigchld, NULL);
	ioloop_signal_add(loop, SIGTERM, master_sigterm, NULL);
	ioloop_signal_add(loop, SIGINT, master_sigterm, NULL);
	ioloop_run(loop);
	login_master_destroy(&master);
	ioloop_destroy(&loop);
	imap_settings_free(&set);
	log_info("imapd: stopped");
	return 0;
}
