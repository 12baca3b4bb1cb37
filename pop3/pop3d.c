/* pop3d.c: the POP3 server (sbin/pop3d): settings, listeners, and its
 * three kinds of processes.
 *
 *   pop3d            the daemon.  The master process binds the ports of
 *                    etc/pop3d and etc/pop3d-ssl and keeps root; it never
 *                    reads a byte from a client.  It forks one login
 *                    process, which drops to POP3_LOGIN_USER and serves
 *                    every connection before login on one event loop:
 *                    TLS, CAPA, STLS, USER/PASS, APOP, AUTH.  When a
 *                    client has given credentials, the login process
 *                    sends them with one end of a socketpair to the
 *                    master (SOCK_SEQPACKET, SCM_RIGHTS); the master asks
 *                    authdaemond, checks the account (disablepop3,
 *                    disableinsecurepop3, never uid 0) and forks the mail
 *                    session: a process that switches to the account's
 *                    uid/gid and serves the TRANSACTION state on that
 *                    socket.  Once the mailbox is open, the login process
 *                    hands a plain connection over (SCM_RIGHTS) and
 *                    relays only TLS ones (it keeps their keys).
 *   pop3d DIR        one session, already logged in, for the maildir DIR
 *   pop3d --stdio    over stdin/stdout (tunnels, local tools); without
 *                    DIR the maildir is $MAILDIR, else ./Maildir.
 *
 * The daemon stays in the foreground, logs to stderr and exits on
 * SIGTERM; if the login process dies the master starts another. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authclient.h"
#include "config-errors.h"
#include "daemon.h"
#include "hash.h"
#include "ioloop.h"
#include "listen.h"
#include "login-master.h"
#include "log.h"
#include "mem.h"
#include "pop3-client.h"
#include "pop3-settings.h"
#include "secure.h"
#include "str.h"
#include "tls.h"

/* Largest message between the login process and the master. */
#define POP3_IPC_MAX 8192

struct ipc_request_hdr {
	uint32_t id;
	uint8_t kind;
	uint8_t tls;
	uint8_t utf8;
	uint8_t pad;
	/* then user, secret, secret2, remote_ip, local_ip, each with NUL */
};

struct ipc_reply_hdr {
	uint32_t id;
	int32_t result;		/* enum pop3_login_result */
	/* then the text, with NUL ("" = default text) */
};

static const struct login_master_names names = {
	.log_name = "pop3d",
	.protocol = "POP3",
	.start_name = "POP3DSTART",
	.ssl_start_name = "POP3DSSLSTART",
	.ssl_file = "pop3d-ssl",
	.starttls_word = "STLS",
	.refusal = "-ERR [SYS/TEMP] Too many connections, try again "
		   "later.\r\n",
};

static struct pop3_settings set;
static struct ioloop *loop;
static struct login_master *master;

/* ------------------------------------------------------------ mail role */

static void mail_session_end(void *context)
{
	(void)context;
	ioloop_stop(loop);
}

static void mail_sigterm(void *context)
{
	struct pop3_client **client = context;

	/* A session killed while running deletes nothing. */
	pop3_client_destroy(client);
}

/* Runs one mail session on the loop (already created) until it ends:
 * fd_out < 0: on the socket from the login process (fd_in), which hands
 * the client's connection over; else a tunnel on fd_in/fd_out. */
static void run_mail_session(int fd_in, int fd_out, const char *maildir,
			     const char *user, const char *remote_ip,
			     bool utf8)
{
	struct pop3_client *client;

	if (fd_out < 0)
		client = pop3_client_create_mail_handoff(
			loop, fd_in, &set, maildir, user, remote_ip, utf8,
			mail_session_end, NULL);
	else
		client = pop3_client_create_mail(loop, fd_in, fd_out, &set,
						 maildir, user, remote_ip, utf8,
						 mail_session_end, NULL);
	ioloop_signal_add(loop, SIGTERM, mail_sigterm, &client);
	ioloop_signal_add(loop, SIGINT, mail_sigterm, &client);
	ioloop_run(loop);
}

/* ----------------------------------------------------------- login role */

struct login_session {
	struct pop3_client *client;
	struct listen_conn *lconn;
	uint32_t id;		/* of the request in flight, 0 = none */
	struct login_session *prev, *next;
};

static struct login_session *sessions;
static int ipc_fd = -1;
static struct io *ipc_io;
static uint32_t next_id = 1;
static bool login_stopping;

static void session_destroyed(struct pop3_client *client, void *context)
{
	struct login_session *s = context;

	(void)client;
	listen_conn_closed(&s->lconn);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	free(s);
	if (login_stopping && sessions == NULL)
		ioloop_stop(loop);
}

static int session_login(struct pop3_client *client,
			 const struct pop3_login_request *req, void *context)
{
	struct login_session *s = context;
	struct ipc_request_hdr hdr = {
		.kind = (uint8_t)req->kind,
		.tls = req->tls,
		.utf8 = req->utf8,
	};
	struct str *buf = str_new(512);
	int ret = -1;

	(void)client;
	if (next_id == 0)
		next_id = 1;
	hdr.id = next_id++;
	str_append_n(buf, &hdr, sizeof(hdr));
	login_master_field_append(buf, req->user);
	login_master_field_append(buf, req->secret);
	login_master_field_append(buf, req->secret2);
	login_master_field_append(buf, req->remote_ip);
	login_master_field_append(buf, req->local_ip);
	if (str_len(buf) <= POP3_IPC_MAX && ipc_fd >= 0) {
		struct iovec iov = { buf->data, str_len(buf) };
		ssize_t n = login_master_send_fd(ipc_fd, &iov, 1,
						 req->session_fd);

		if (n == (ssize_t)str_len(buf)) {
			s->id = hdr.id;
			ret = 0;
		} else {
			log_error("pop3d: sending a login to the master: %s",
				  n < 0 ? strerror(errno) : "short write");
		}
	}
	secure_wipe(buf->data, buf->len);
	str_destroy(&buf);
	close(req->session_fd);
	return ret;
}

static const struct pop3_login_callbacks login_callbacks_proto = {
	.login = session_login,
	.destroyed = session_destroyed,
};

static void ipc_read(void *context)
{
	char buf[POP3_IPC_MAX + 1];
	struct ipc_reply_hdr hdr;
	ssize_t n;

	(void)context;
	n = recv(ipc_fd, buf, POP3_IPC_MAX, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The master is gone: nobody can log in any more. */
		log_error("pop3d: the master process went away; stopping");
		io_remove(&ipc_io);
		close(ipc_fd);
		ipc_fd = -1;
		ioloop_stop(loop);
		return;
	}
	if ((size_t)n < sizeof(hdr) + 1 || buf[n - 1] != '\0') {
		log_error("pop3d: malformed reply from the master");
		return;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	const char *text = buf + sizeof(hdr);
	for (struct login_session *s = sessions; s != NULL; s = s->next) {
		if (s->id == hdr.id && hdr.id != 0) {
			s->id = 0;
			pop3_client_login_done(
				s->client, (enum pop3_login_result)hdr.result,
				text[0] != '\0' ? text : NULL);
			return;
		}
	}
	/* The client left meanwhile: its mail session sees EOF. */
}

static void accept_conn(struct listen_client *lc, bool implicit,
			void *context)
{
	struct login_session *s = xcalloc(1, sizeof(*s));
	struct pop3_login_callbacks cb = login_callbacks_proto;

	(void)context;
	cb.context = s;
	s->lconn = lc->conn;
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	s->client = pop3_client_create_login(
		loop, lc->fd, &set,
		implicit ? login_master_tls_ctx(master) :
			   login_master_starttls_ctx(master),
		implicit, lc->remote_ip, lc->local_ip, &cb);
}

static void login_sigterm(void *context)
{
	(void)context;
	if (login_stopping)
		return;
	login_stopping = true;
	login_master_close_listeners(master);
	while (sessions != NULL) {
		struct pop3_client *c = sessions->client;

		pop3_client_destroy(&c);
	}
	ioloop_stop(loop);
}

static void run_login_process(int fd)
{
	const char *error;

	ipc_fd = fd;
	if (geteuid() == 0) {
		if (daemon_drop_privileges(set.master.login_user, NULL,
					   &error) < 0)
			log_fatal("pop3d: login process: %s", error);
	}
	ipc_io = io_add(loop, ipc_fd, IO_READ, ipc_read, NULL);
	ioloop_signal_add(loop, SIGTERM, login_sigterm, NULL);
	ioloop_signal_add(loop, SIGINT, login_sigterm, NULL);
	ioloop_signal_add(loop, SIGHUP, login_sigterm, NULL);
	ioloop_run(loop);
	if (ipc_io != NULL)
		io_remove(&ipc_io);
	login_master_drop_listeners(master);
	ioloop_destroy(&loop);
	_exit(0);
}

/* ---------------------------------------------------------- master role */

static int master_sigfd = -1;
static pid_t login_pid = -1;
static int master_ipc_fd = -1;

static void send_reply(uint32_t id, enum pop3_login_result result,
		       const char *text)
{
	struct str *buf = str_new(256);
	struct ipc_reply_hdr hdr = { .id = id, .result = (int32_t)result };

	str_append_n(buf, &hdr, sizeof(hdr));
	login_master_field_append(buf, text);
	if (send(master_ipc_fd, buf->data, str_len(buf), MSG_NOSIGNAL) < 0)
		log_error("pop3d: reply to the login process: %s",
			  strerror(errno));
	str_destroy(&buf);
}

/* APOP: MD5(timestamp || clear password) in hex, timing-safe compare. */
static bool apop_matches(const char *stamp, const char *password,
			 const char *digest_hex)
{
	struct hash_ctx *h = hash_create(HASH_MD5);
	unsigned char md[HASH_MD5_DIGEST_SIZE];
	struct str *hex = str_new(40);
	char given[33];
	bool ok;

	hash_update(h, stamp, strlen(stamp));
	hash_update(h, password, strlen(password));
	hash_final(h, md);
	hash_destroy(&h);
	hash_hex_append(hex, md, sizeof(md));
	str_copy(given, digest_hex, sizeof(given));
	str_lcase(given);
	ok = strlen(digest_hex) == 32 && secure_streq(str_c(hex), given);
	secure_wipe(md, sizeof(md));
	str_destroy(&hex);
	return ok;
}

/* In the forked mail session: becomes the account and serves. */
static void __attribute__((noreturn))
mail_child(int fd, const struct auth_record *rec, const char *user,
	   const char *remote_ip, bool utf8)
{
	char *maildir = login_master_account_maildir(rec->home, rec->maildir,
						     set.maildir_path);
	sigset_t none;

	close(master_ipc_fd);
	close(master_sigfd);
	/* (closed, not freed, as imapd's children do: freeing the services
	 * writes to their connection entries, pages fork would then copy;
	 * the master's loop holds nothing else) */
	login_master_close_listeners(master);
	ioloop_destroy(&loop);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (login_master_become_account(&names, user, rec->uid, rec->gid,
					rec->sysusername, rec->home) < 0) {
		static const char msg[] =
			"-ERR [SYS/TEMP] Unable to open the mailbox.\r\n";
		ssize_t n = write(fd, msg, sizeof(msg) - 1);
		(void)n;
		_exit(1);
	}
	loop = ioloop_create();
	run_mail_session(fd, -1, maildir, user, remote_ip, utf8);
	ioloop_destroy(&loop);
	free(maildir);
	_exit(0);
}

/* A login being judged (login_master_judge()'s context). */
struct judged_login {
	int fd;			/* the client's connection */
	const struct auth_record *rec;
	const char *user;	/* the account's address, else login */
	const char *login;	/* the user name the client gave */
	const char *remote_ip;
	bool tls, utf8;
};

static enum login_master_verdict login_check(void *context,
					     const char **text_r)
{
	struct judged_login *ls = context;

	if (!ls->tls &&
	    auth_record_option_bool(ls->rec, "disableinsecurepop3", false)) {
		log_info("pop3d: login refused: user=%s ip=%s: TLS required",
			 ls->login, ls->remote_ip);
		*text_r = "This account must use TLS (STLS or POP3S).";
		return LOGIN_MASTER_REFUSED;
	}
	return LOGIN_MASTER_SERVE;
}

static void login_serve(void *context)
{
	struct judged_login *ls = context;

	mail_child(ls->fd, ls->rec, ls->user, ls->remote_ip, ls->utf8);
}

static const struct login_master_judge_ops judge_ops = {
	.check = login_check,
	.serve = login_serve,
};

/* Parses and serves one request from the login process. */
static void master_request(void)
{
	char buf[POP3_IPC_MAX + 1];
	struct ipc_request_hdr hdr;
	const char *fields[5];
	int fd, flags;
	ssize_t n = login_master_recv_fd(master_ipc_fd, buf, POP3_IPC_MAX,
					 &fd, &flags);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		if (fd >= 0)
			close(fd);
		close(master_ipc_fd);
		master_ipc_fd = -1;
		return;
	}
	if ((size_t)n < sizeof(hdr) || fd < 0 ||
	    (flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		log_error("pop3d: malformed request from the login process");
		if (fd >= 0)
			close(fd);
		return;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (login_master_fields_split(buf + sizeof(hdr),
				      (size_t)n - sizeof(hdr), fields,
				      N_ELEMENTS(fields)) < 0) {
		log_error("pop3d: malformed request from the login process");
		close(fd);
		return;
	}
	const char *user = fields[0], *secret = fields[1];
	const char *secret2 = fields[2], *remote_ip = fields[3];
	struct auth_record rec;
	struct login_master_login login = {
		.user = user,
		.remote_ip = remote_ip,
		.tls = hdr.tls != 0,
	};
	const char *text = NULL;
	enum pop3_login_result result = POP3_LOGIN_TEMPFAIL;
	int r;
	const char *error = NULL;

	auth_record_init(&rec);
	switch (hdr.kind) {
	case POP3_LOGIN_PASSWORD:
		r = auth_login("pop3", user, secret, remote_ip, &rec, &error);
		break;
	case POP3_LOGIN_CRAM_MD5:
		r = auth_cram("pop3", "cram-md5", secret, strlen(secret), user,
			      secret2, remote_ip, &rec, &error);
		break;
	case POP3_LOGIN_APOP:
		r = auth_lookup("pop3", user, &rec, &error);
		if (r > 0 && (rec.clearpasswd == NULL ||
			      rec.clearpasswd[0] == '\0' ||
			      !apop_matches(secret, rec.clearpasswd,
					    secret2))) {
			error = rec.clearpasswd == NULL ?
					"APOP: no clear password for the "
					"account" :
					"APOP: wrong digest";
			r = 0;
		}
		break;
	default:
		r = -1;
		error = "unknown login kind";
		break;
	}
	/* Only the secrets: user and remote_ip are logged below. */
	secure_wipe((char *)secret, strlen(secret));
	secure_wipe((char *)secret2, strlen(secret2));
	login.auth_result = r;
	login.auth_error = error;
	login.service_disabled = r > 0 &&
				 auth_record_service_disabled(&rec, "pop3");
	login.has_uid = rec.has_uid;
	login.uid = rec.uid;
	struct judged_login ls = {
		.fd = fd,
		.rec = &rec,
		.user = rec.address != NULL ? rec.address : user,
		.login = user,
		.remote_ip = remote_ip,
		.tls = hdr.tls != 0,
		.utf8 = hdr.utf8 != 0,
	};
	enum login_master_verdict v = login_master_judge(&names, &login,
							 &judge_ops, &ls,
							 &text);
	switch (v) {
	case LOGIN_MASTER_TEMPFAIL:
	case LOGIN_MASTER_ANSWERED: /* (not from login_check()) */
		result = POP3_LOGIN_TEMPFAIL;
		break;
	case LOGIN_MASTER_FAILED:
		result = POP3_LOGIN_FAILED;
		break;
	case LOGIN_MASTER_REFUSED:
		result = POP3_LOGIN_REFUSED;
		break;
	case LOGIN_MASTER_SERVE:
		result = POP3_LOGIN_OK;
		break;
	}
	close(fd);
	send_reply(hdr.id, result, text);
	auth_record_free(&rec);
}

static int start_login_process(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("pop3d: socketpair: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("pop3d: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		close(sv[0]);
		close(master_sigfd);
		if (master_ipc_fd >= 0)
			close(master_ipc_fd);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		run_login_process(sv[1]);
	}
	close(sv[1]);
	if (master_ipc_fd >= 0)
		close(master_ipc_fd);
	master_ipc_fd = sv[0];
	login_pid = pid;
	return 0;
}

static int run_master(void)
{
	sigset_t mask;
	bool stopping = false;
	time_t restart_at = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		log_fatal("pop3d: sigprocmask: %s", strerror(errno));
	master_sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (master_sigfd < 0)
		log_fatal("pop3d: signalfd: %s", strerror(errno));
	if (start_login_process() < 0)
		log_fatal("pop3d: cannot start the login process");

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = master_sigfd, .events = POLLIN },
			{ .fd = master_ipc_fd, .events = POLLIN },
		};
		int timeout = -1;

		if (login_pid < 0 && !stopping) {
			time_t now = time(NULL);

			if (now >= restart_at) {
				if (start_login_process() < 0)
					restart_at = now + 1;
				continue;
			}
			timeout = 1000;
		}
		if (poll(pfd, master_ipc_fd >= 0 ? 2 : 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("pop3d: poll: %s", strerror(errno));
		}
		if (master_ipc_fd >= 0 &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
			master_request();
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		struct signalfd_siginfo si;
		while (read(master_sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD) {
				int status;
				pid_t pid;

				while ((pid = waitpid(-1, &status, WNOHANG)) >
				       0) {
					if (pid != login_pid)
						continue;
					login_pid = -1;
					if (master_ipc_fd >= 0) {
						close(master_ipc_fd);
						master_ipc_fd = -1;
					}
					if (stopping)
						return 0;
					log_error("pop3d: the login process "
						  "died (status %d); "
						  "restarting it",
						  status);
					restart_at = time(NULL) + 1;
				}
			} else if (!stopping) {
				stopping = true;
				if (login_pid < 0)
					return 0;
				kill(login_pid, SIGTERM);
			}
		}
	}
}

/* ---------------------------------------------------------------- main */

static void load_settings(bool daemon_mode)
{
	struct config_errors *errs = config_errors_new();
	int ret = pop3_settings_load(&set, "pop3d", "pop3d-ssl", errs);

	login_master_settings_report(&names, &errs, ret, daemon_mode);
}

static int tunnel_main(const char *dir)
{
	const char *user = getenv("AUTHENTICATED");
	const char *ip = getenv("TCPREMOTEIP");

	if (user == NULL || *user == '\0')
		user = getenv("USER");
	load_settings(false);
	loop = ioloop_create();
	run_mail_session(0, 1, dir, user != NULL ? user : "-",
			 ip != NULL ? ip : "local", false);
	ioloop_destroy(&loop);
	pop3_settings_free(&set);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("pop3d", LOG_TARGET_STDERR);
	const char *dir = login_master_command_line("pop3d", argc, argv);
	if (dir != NULL)
		return tunnel_main(dir);
	load_settings(true);
	loop = ioloop_create();
	master = login_master_create(loop, &set.master, &names, accept_conn,
				     NULL);
	int ret = run_master();
	login_master_destroy(&master);
	ioloop_destroy(&loop);
	pop3_settings_free(&set);
	log_info("pop3d: stopped");
	return ret;
}
