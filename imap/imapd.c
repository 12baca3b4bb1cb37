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

static struct imap_settings set;
static struct ioloop *loop;
static struct listen_service *plain_svc, *ssl_svc;
static struct tls_ctx *tls_ctx;
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

static char *account_maildir(const struct auth_record *rec)
{
	if (rec->maildir != NULL && rec->maildir[0] == '/')
		return xstrdup(rec->maildir);
	if (rec->maildir != NULL && rec->maildir[0] != '\0')
		return xasprintf("%s/%s", rec->home, rec->maildir);
	return xasprintf("%s/%s", rec->home, set.maildir_path);
}

static void __attribute__((noreturn))
mail_child(int fd, const struct auth_record *rec, const char *user,
	   const char *tag)
{
	const char *error;
	char *root = account_maildir(rec);

	for (struct master_conn *c = conns; c != NULL; c = c->next)
		if (c->fd != fd)
			close(c->fd);
	listen_service_destroy(&plain_svc);
	listen_service_destroy(&ssl_svc);
	if (daemon_drop_privileges_id(rec->uid, rec->gid, rec->sysusername,
				      &error) < 0 ||
	    (getuid() == 0 || geteuid() == 0)) {
		if (geteuid() == 0 || getuid() == 0)
			error = "still root";
		log_error("imapd: user=%s: cannot switch to uid %ld: %s", user,
			  (long)rec->uid, error);
		static const char msg[] = "TEMP\n";
		ssize_t n = write(fd, msg, sizeof(msg) - 1);
		(void)n;
		_exit(1);
	}
	if (chdir(rec->home) < 0) {
		/* not fatal: the maildir path is absolute */
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
	size_t pos = 0;
	for (size_t i = 0; i < N_ELEMENTS(f); i++) {
		const char *end = memchr(buf + pos, '\0', (size_t)n - pos);
		if (end == NULL) {
			log_error("imapd: malformed request from a pre-login "
				  "process");
			master_conn_free(mc);
			return;
		}
		f[i] = buf + pos;
		pos = (size_t)(end - buf) + 1;
	}
	const char *kind = f[0], *tag = f[1], *user = f[2];
	bool tls = strcmp(f[5], "1") == 0;
	struct auth_record rec;
	const char *error = NULL;
	int r;

	auth_record_init(&rec);
	if (strcmp(kind, "P") == 0)
		r = auth_login("imap", user, f[3], mc->remote_ip, &rec,
			       &error);
	else if (strcmp(kind, "C") == 0)
		r = auth_cram("imap", "cram-md5", f[3], strlen(f[3]), user,
			      f[4], mc->remote_ip, &rec, &error);
	else {
		r = -1;
		error = "unknown request";
	}
	/* only the secrets: tag and user are still needed */
	secure_wipe((char *)f[3], strlen(f[3]));
	secure_wipe((char *)f[4], strlen(f[4]));
	if (r < 0) {
		log_error("imapd: login user=%s ip=%s: authdaemond: %s", user,
			  mc->remote_ip, error != NULL ? error : "failure");
		master_reply(mc, "TEMP", "");
	} else if (r == 0) {
		log_info("imapd: login failed: user=%s ip=%s", user,
			 mc->remote_ip);
		master_reply(mc, "NO", "");
	} else if (auth_record_service_disabled(&rec, "imap")) {
		log_info("imapd: login refused: user=%s ip=%s: IMAP disabled",
			 user, mc->remote_ip);
		master_reply(mc, "REFUSED",
			     "IMAP access is disabled for this account.");
	} else if (referral(mc, &rec, user)) {
		/* answered: the account is served by its mailhost */
	} else if (!rec.has_uid || (rec.uid == 0 && geteuid() == 0)) {
		log_error("imapd: user=%s: no uid, or uid 0: mail is never "
			  "served as root", user);
		master_reply(mc, "REFUSED", "This account cannot use IMAP.");
	} else {
		pid_t pid = fork();

		if (pid == 0) {
			const char *name = rec.address != NULL ? rec.address :
								 user;
			mail_child(mc->fd, &rec, name, tag);
		}
		if (pid < 0) {
			log_error("imapd: fork: %s", strerror(errno));
			master_reply(mc, "TEMP", "");
		} else {
			log_info("imapd: login: user=%s ip=%s tls=%s pid=%ld",
				 user, mc->remote_ip, tls ? "yes" : "no",
				 (long)pid);
			/* the socketpair is the session's now */
			master_conn_free(mc);
		}
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

static void append_field(struct str *s, const char *v)
{
	str_append(s, v != NULL ? v : "");
	str_append_c(s, '\0');
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
	append_field(&s, req->password != NULL ? "P" : "C");
	append_field(&s, req->tag);
	append_field(&s, req->user);
	append_field(&s, req->password != NULL ? req->password :
						 req->cram_challenge);
	append_field(&s, req->cram_digest_hex);
	append_field(&s, req->tls ? "1" : "0");
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
	listen_service_destroy(&plain_svc);
	listen_service_destroy(&ssl_svc);
	if (daemon_drop_privileges(set.login_user, NULL, &error) < 0) {
		log_error("imapd: cannot switch to %s: %s", set.login_user,
			  error);
		_exit(1);
	}
	login_ipc_fd = ipc_fd;
	ioloop_destroy(&loop);
	loop = ioloop_create();
	struct conn_settings cs = {
		.max_line_len = (size_t)set.max_line,
		.idle_timeout_msecs = set.timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
		.tls_ctx = implicit ? tls_ctx : NULL,
	};
	struct conn *conn = conn_create(loop, client_fd, &cs,
					imap_client_conn_callbacks(), NULL);
	login_client = imap_client_create_login(
		loop, conn, &set, set.starttls ? tls_ctx : NULL, implicit, ip,
		&login_callbacks, NULL);
	ioloop_signal_add(loop, SIGTERM, sigterm_stop, NULL);
	ioloop_run(loop);
	imap_client_destroy(&login_client);
	ioloop_destroy(&loop);
	_exit(0);
}

/* ------------------------------------------------------------ master */

static void accept_conn(struct listen_client *lc, void *context)
{
	bool implicit = context == &ssl_svc;
	int sv[2];

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

static void refuse_conn(struct listen_client *lc, enum listen_refusal why,
			void *context)
{
	static const char msg[] = "* BYE Too many connections, try later\r\n";

	(void)context;
	log_info("imapd: refused %s: too many connections%s", lc->remote_ip,
		 why == LISTEN_REFUSED_PER_IP ? " from this address" : "");
	ssize_t n = write(lc->fd, msg, sizeof(msg) - 1);
	(void)n;
	close(lc->fd);
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
	listen_service_close_listeners(plain_svc != NULL ? plain_svc :
							   ssl_svc);
	if (plain_svc != NULL && ssl_svc != NULL)
		listen_service_close_listeners(ssl_svc);
	for (struct master_conn *mc = conns; mc != NULL; mc = mc->next)
		kill(mc->pid, SIGTERM);
	if (conns == NULL)
		ioloop_stop(loop);
}

/* -------------------------------------------------------------- main */

static enum tls_version parse_tls_protocol(const char *p)
{
	if (p == NULL)
		return TLS_VERSION_DEFAULT;
	if (strstr(p, "1.3") != NULL || strstr(p, "1_3") != NULL)
		return TLS_VERSION_1_3;
	if (strstr(p, "1.2") != NULL || strstr(p, "1_2") != NULL)
		return TLS_VERSION_1_2;
	return TLS_VERSION_DEFAULT;
}

static void usage(void)
{
	fprintf(stderr, "Usage: imapd              the daemon (settings in "
			"etc/imapd, etc/imapd-ssl)\n"
			"       imapd DIR          one logged-in session for "
			"maildir DIR on stdin/stdout\n"
			"       imapd --stdio      the same for $MAILDIR or "
			"./Maildir\n");
	exit(2);
}

static void load_settings(bool daemon_mode)
{
	struct config_errors *errs = config_errors_new();
	int ret = imap_settings_load(&set, "imapd", "imapd-ssl", errs);

	config_errors_log(errs);
	config_errors_destroy(&errs);
	if (ret < 0 && daemon_mode)
		log_fatal("imapd: the settings have errors");
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

static char *listen_text(const char *address, long long port)
{
	if (strcmp(address, "0") == 0)
		return xasprintf("%lld", port);
	return xasprintf(strchr(address, ':') != NULL ? "[%s]:%lld" :
							"%s:%lld",
			 address, port);
}

int main(int argc, char **argv)
{
	const char *error;

	log_init("imapd", LOG_TARGET_STDERR);
	if (argc > 2)
		usage();
	if (argc == 2) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
			usage();
		if (strcmp(argv[1], "--stdio") == 0) {
			const char *dir = getenv("MAILDIR");
			return tunnel_main(dir != NULL && *dir != '\0' ?
						   dir : "Maildir");
		}
		return tunnel_main(argv[1]);
	}
	load_settings(true);
	if (!set.start && !set.ssl_start)
		log_fatal("imapd: IMAPDSTART and IMAPDSSLSTART are both off");
	if (set.ssl_start || set.starttls) {
		struct tls_settings ts = {
			.cert_file = set.tls_certfile,
			.dh_file = set.tls_dhparams,
			.min_version = parse_tls_protocol(set.tls_protocol),
			.cipher_list = set.tls_cipher_list,
			.priority = set.tls_priority,
		};
		if (set.tls_certfile == NULL || set.tls_certfile[0] == '\0') {
			if (set.ssl_start)
				log_fatal("imapd: IMAPDSSLSTART=YES needs "
					  "TLS_CERTFILE (etc/imapd-ssl)");
			log_warning("imapd: no TLS_CERTFILE: STARTTLS is off");
		} else {
			tls_ctx = tls_ctx_server_create(&ts, &error);
			if (tls_ctx == NULL)
				log_fatal("imapd: TLS: %s", error);
		}
	}
	loop = ioloop_create();
	struct listen_settings ls = {
		.max_connections = (unsigned int)set.max_daemons,
		.max_per_ip = (unsigned int)set.max_per_ip,
	};
	if (set.start) {
		char *addr = listen_text(set.address, set.port);
		plain_svc = listen_service_create(loop, &ls, accept_conn,
						  refuse_conn, &plain_svc);
		if (listen_service_add_list(plain_svc, addr, &error) < 0)
			log_fatal("imapd: %s", error);
		log_info("imapd: IMAP on %s", addr);
		free(addr);
	}
	if (set.ssl_start) {
		char *addr = listen_text(set.ssl_address, set.ssl_port);
		ssl_svc = listen_service_create(loop, &ls, accept_conn,
						refuse_conn, &ssl_svc);
		if (listen_service_add_list(ssl_svc, addr, &error) < 0)
			log_fatal("imapd: %s", error);
		log_info("imapd: IMAPS on %s", addr);
		free(addr);
	}
	ioloop_signal_add(loop, SIGCHLD, master_sigchld, NULL);
	ioloop_signal_add(loop, SIGTERM, master_sigterm, NULL);
	ioloop_signal_add(loop, SIGINT, master_sigterm, NULL);
	ioloop_run(loop);
	listen_service_destroy(&plain_svc);
	listen_service_destroy(&ssl_svc);
	ioloop_destroy(&loop);
	tls_ctx_destroy(&tls_ctx);
	imap_settings_free(&set);
	log_info("imapd: stopped");
	return 0;
}
