/* imapd-master.c: imapd's master: the connections, the logins asked of
 * authdaemond for the pre-login processes, forking the mail sessions
 * (the process model is at the top of imapd.c). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authclient.h"
#include "imap-client.h"
#include "imapd-private.h"
#include "log.h"
#include "mem.h"
#include "secure.h"

static struct master_conn *conns;

/* In a forked child: closes the master's fds of every connection but
 * keep_fd (and keep_ctrl). */
void imapd_master_close_fds(int keep_fd, int keep_ctrl)
{
	for (struct master_conn *c = conns; c != NULL; c = c->next) {
		if (c->fd >= 0 && c->fd != keep_fd)
			close(c->fd);
		if (c->ctrl_fd >= 0 && c->ctrl_fd != keep_ctrl)
			close(c->ctrl_fd);
		if (c->inotify_fd >= 0)
			close(c->inotify_fd);
	}
	imapd_tlsproxy_close_fds();
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
					       imapd_set.maildir_path);
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

/* Closes everything the master holds for the connection but its entry
 * (freed at the pre-login process' exit). */
void imapd_master_conn_free(struct master_conn *mc)
{
	io_remove(&mc->io);
	if (mc->fd >= 0)
		close(mc->fd);
	mc->fd = -1;
	imapd_hibernate_ctrl_close(mc);
	imapd_hibernate_clear(mc);
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
	imapd_master_conn_free(mc);
	imapd_tlsproxy_conn_ended(mc);
	listen_conn_closed(&mc->lconn);
	free(mc);
	if (imapd_stopping && conns == NULL)
		ioloop_stop(imapd_loop);
}

/* The master let go of the stream: the connection ends with it when the
 * session talked to the client directly; else the pre-login process sees
 * EOF and its exit ends it. */
void imapd_master_conn_release(struct master_conn *mc)
{
	if (mc->direct)
		master_conn_done(mc);
	else
		imapd_master_conn_free(mc);
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
	    !imap_login_mailhost_is_me(host, imapd_set.proxy_hostname)) {
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
	imapd_session_child(ls->mc->fd, ls->ctrl[1],
			    account_new(ls->rec, ls->user), ls->tag, NULL, 0,
			    NULL, true);
}

static const struct login_master_judge_ops judge_ops = {
	.check = login_check,
	.serve = login_serve,
};

void imapd_master_account_login(const struct master_conn *mc,
				struct login_master_login *login_r)
{
	*login_r = (struct login_master_login){
		.user = mc->acct->user,
		.remote_ip = mc->remote_ip,
		.auth_result = 1,
		.has_uid = true,
		.uid = mc->acct->uid,
		/* the connection's TLS is in a proxy */
		.tls = mc->proxy >= 0,
	};
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
	struct login_master_login login;

	imapd_master_account_login(mc, &login);
	pid_t pid = fork();
	if (pid == 0) {
		close(ctrl[0]);
		imapd_session_child(fd, ctrl[1], mc->acct, mc->tag, NULL, 0,
				    input, !direct);
	}
	close(ctrl[1]);
	if (login_master_forked(&imapd_names, &login, pid) !=
	    LOGIN_MASTER_SERVE) {
		close(ctrl[0]);
		return false;
	}
	mc->session_pid = pid;
	mc->ctrl_fd = ctrl[0];
	mc->ctrl_io = io_add(imapd_loop, mc->ctrl_fd, IO_READ,
			     imapd_hibernate_ctrl, mc);
	return true;
}

/* The pre-login process' answer to "HANDOFF": "F", the length of the
 * input it read past the login (4 bytes, little-endian) and that input,
 * with the client's socket attached; or "R" (it could not: it relays). */
static void master_handoff(struct master_conn *mc)
{
	/* the pre-login connection's input buffer holds at most
	 * IMAP_MAX_LINE + 2 bytes */
	size_t size = 5 + (size_t)imapd_set.max_line + 2;
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
			imapd_master_conn_free(mc);
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
		imapd_master_conn_free(mc);
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
		imapd_hibernate_drop(mc, "* BYE [UNAVAILABLE] Temporary "
					 "failure, try again later\r\n");
}

/* For a plain login (no TLS) with hibernation on: the verdicts of
 * login_master_judge() without its fork; on SERVE the pre-login process
 * is asked for the client's socket. */
static enum login_master_verdict
login_handoff_judge(struct judged_login *ls,
		    const struct login_master_login *login, const char **text_r)
{
	enum login_master_verdict v = login_master_verdict(&imapd_names, login,
							   text_r);

	if (v == LOGIN_MASTER_SERVE)
		v = login_check(ls, text_r);
	if (v == LOGIN_MASTER_SERVE)
		v = login_master_uid_verdict(&imapd_names, login, text_r);
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
	int fd, flags;
	ssize_t n = login_master_recv_fd(mc->fd, buf, IPC_MAX, &fd, &flags);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (fd >= 0)
			close(fd);
		imapd_master_conn_free(mc);
		return;
	}
	if (n == 1 && (buf[0] == 'T' || buf[0] == 'S')) {
		imapd_tlsproxy_starttls(mc, buf[0], fd);
		return;
	}
	if (fd >= 0) {
		/* only "S" comes with a socket */
		close(fd);
		log_error("imapd: malformed request from a pre-login process");
		imapd_master_conn_free(mc);
		return;
	}
	const char *f[6];
	if (login_master_fields_split(buf, (size_t)n, f, N_ELEMENTS(f)) < 0) {
		log_error("imapd: malformed request from a pre-login process");
		imapd_master_conn_free(mc);
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
	/* a plain connection, or one whose TLS is in a proxy: the session
	 * may talk to the stream directly */
	bool handoff = imapd_set.hibernate_timeout > 0 &&
		       (!login.tls || mc->proxy >= 0);
	if (!handoff && imapd_set.hibernate_timeout > 0 &&
	    login.auth_result > 0 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ls.ctrl) <
		    0) {
		log_error("imapd: socketpair: %s", strerror(errno));
		ls.ctrl[0] = ls.ctrl[1] = -1;
	}
	enum login_master_verdict v =
		handoff ? login_handoff_judge(&ls, &login, &text) :
			  login_master_judge(&imapd_names, &login, &judge_ops,
					     &ls, &text);
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
			imapd_master_conn_free(mc);
			break;
		}
		io_remove(&mc->io);
		close(ls.ctrl[1]);
		mc->ctrl_fd = ls.ctrl[0];
		ls.ctrl[0] = ls.ctrl[1] = -1;
		mc->ctrl_io = io_add(imapd_loop, mc->ctrl_fd, IO_READ,
				     imapd_hibernate_ctrl, mc);
		mc->acct = account_new(&rec, ls.user);
		break;
	}
	if (ls.ctrl[0] >= 0) {
		close(ls.ctrl[0]);
		close(ls.ctrl[1]);
	}
	auth_record_free(&rec);
}

void imapd_master_accept(struct listen_client *lc, bool implicit,
			 void *context)
{
	int sv[2];

	(void)context;
	if (imapd_stopping ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(lc->fd);
		listen_conn_closed(&lc->conn);
		return;
	}
	struct master_conn *mc = xcalloc(1, sizeof(*mc));
	int client_fd = lc->fd;
	bool refuse = false;

	mc->proxy = -1;
	if (implicit && imapd_tlsproxy_running()) {
		int plain = imapd_tlsproxy_give(mc, lc->fd);

		if (plain >= 0) {
			close(lc->fd);
			client_fd = plain;
		} else {
			log_warning("imapd: ip=%s: no TLS proxy can take the "
				    "connection: refused", lc->remote_ip);
			refuse = true;
		}
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		imapd_prelogin_child(client_fd, sv[1], implicit,
				     mc->proxy >= 0, refuse, lc->remote_ip);
	}
	close(client_fd);
	close(sv[1]);
	if (pid < 0) {
		log_error("imapd: fork: %s", strerror(errno));
		close(sv[0]);
		imapd_tlsproxy_conn_ended(mc);
		free(mc);
		listen_conn_closed(&lc->conn);
		return;
	}
	mc->pid = pid;
	mc->fd = sv[0];
	mc->ctrl_fd = -1;
	mc->inotify_fd = -1;
	mc->lconn = lc->conn;
	str_copy(mc->remote_ip, lc->remote_ip, sizeof(mc->remote_ip));
	mc->io = io_add(imapd_loop, mc->fd, IO_READ, master_request, mc);
	mc->next = conns;
	conns = mc;
}

void imapd_master_sigchld(void *context)
{
	int status;
	pid_t pid;

	(void)context;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (imapd_tlsproxy_reaped(pid, status))
			continue;
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
	if (imapd_stopping && conns == NULL)
		ioloop_stop(imapd_loop);
}

void imapd_master_sigterm(void *context)
{
	(void)context;
	imapd_stopping = true;
	login_master_close_listeners(imapd_master);
	imapd_tlsproxy_stop();
	for (struct master_conn *mc = conns, *next; mc != NULL; mc = next) {
		next = mc->next;
		if (mc->pid > 0)
			kill(mc->pid, SIGTERM);
		if (mc->session_pid > 0)
			kill(mc->session_pid, SIGTERM);
		else if (mc->direct && mc->blob != NULL)
			imapd_hibernate_drop(mc, "* BYE Server shutting "
						 "down\r\n");
	}
	if (conns == NULL)
		ioloop_stop(imapd_loop);
}
