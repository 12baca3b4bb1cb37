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
 *   imapd DIR    one session, already logged in, for the maildir DIR on
 *                stdin/stdout (mutt's tunnel, isync's Tunnel, ssh);
 *   imapd --stdio the same for $MAILDIR, else ./Maildir.
 *
 * The daemon stays in the foreground, logs to stderr and exits on
 * SIGTERM (passed on to its children). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authclient.h"
#include "config-errors.h"
#include "conn.h"
#include "daemon.h"
#include "imap-client.h"
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

/* One connection, from the master's side. */
struct master_conn {
	struct master_conn *next;
	pid_t pid;		/* the pre-login process */
	int fd;			/* the master's end of the socketpair */
	struct io *io;
	struct listen_conn *lconn;
	char remote_ip[LISTEN_IP_STRLEN];
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

static const struct imap_client_callbacks mail_callbacks = {
	.ended = session_ended,
};

static void sigterm_stop(void *context)
{
	(void)context;
	ioloop_stop(loop);
}

static void run_mail_session(int fd_in, int fd_out, const char *root,
			     const char *user, const char *tag)
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
	struct imap_client *client = imap_client_create_mail(
		loop, conn, &set, root, user, tag, fd_out < 0, &mail_callbacks,
		NULL);

	ioloop_signal_add(loop, SIGTERM, sigterm_stop, NULL);
	ioloop_run(loop);
	imap_client_destroy(&client);
}

static void __attribute__((noreturn))
mail_child(int fd, const struct auth_record *rec, const char *user,
	   const char *tag)
{
	char *root = login_master_account_maildir(rec->home, rec->maildir,
						  set.maildir_path);

	for (struct master_conn *c = conns; c != NULL; c = c->next)
		if (c->fd != fd)
			close(c->fd);
	login_master_drop_listeners(master);
	if (login_master_become_account(&names, user, rec->uid, rec->gid,
					rec->sysusername, rec->home) < 0) {
		static const char msg[] = "TEMP\n";
		ssize_t n = write(fd, msg, sizeof(msg) - 1);
		(void)n;
		_exit(1);
	}
	/* the account's options, as Courier's imapd gets them (the ACL
	 * identifiers group= and administrators come from them) */
	if (setenv("OPTIONS", rec->options != NULL ? rec->options : "",
		   1) < 0)
		_exit(1);
	/* tell the pre-login process, then speak IMAP */
	if (write(fd, "OK\n", 3) != 3)
		_exit(1);
	loop = ioloop_create();
	run_mail_session(fd, -1, root, user, tag);
	ioloop_destroy(&loop);
	free(root);
	_exit(0);
}

/* ---------------------------------------------------- master requests */

static void master_conn_free(struct master_conn *mc)
{
	io_remove(&mc->io);
	if (mc->fd >= 0)
		close(mc->fd);
	mc->fd = -1;
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

	mail_child(ls->mc->fd, ls->rec, ls->user, ls->tag);
}

static const struct login_master_judge_ops judge_ops = {
	.check = login_check,
	.serve = login_serve,
};

/* Fields of a request: kind, tag, user, secret, secret2, tls. */
static void master_request(void *context)
{
	struct master_conn *mc = context;
	char buf[IPC_MAX + 1];
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
	enum login_master_verdict v = login_master_judge(&names, &login,
							 &judge_ops, &ls,
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
		/* the socketpair is the session's now */
		master_conn_free(mc);
		break;
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

	for (struct master_conn *c = conns; c != NULL; c = c->next)
		close(c->fd);
	login_master_drop_listeners(master);
	if (daemon_drop_privileges(set.master.login_user, NULL, &error) < 0) {
		log_error("imapd: cannot switch to %s: %s",
			  set.master.login_user, error);
		_exit(1);
	}
	login_ipc_fd = ipc_fd;
	ioloop_destroy(&loop);
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
			*p = mc->next;
			master_conn_free(mc);
			listen_conn_closed(&mc->lconn);
			free(mc);
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
	for (struct master_conn *mc = conns; mc != NULL; mc = mc->next)
		kill(mc->pid, SIGTERM);
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
	run_mail_session(0, 1, dir, user != NULL ? user : "-", NULL);
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
