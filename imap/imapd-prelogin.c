/* imapd-prelogin.c: imapd's pre-login process: IMAP before login as
 * IMAP_LOGIN_USER, logins asked of the master, then the relay, the
 * handover of the client's socket, or STARTTLS through a TLS proxy (the
 * process model is at the top of imapd.c). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "imap-client.h"
#include "imapd-private.h"
#include "log.h"
#include "secure.h"

/* How long a pre-login process waits for the master's answer. */
#define IPC_TIMEOUT_MSECS 60000

static int login_ipc_fd = -1;
static struct imap_client *login_client;

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
		ioloop_stop(imapd_loop);
		return;
	}
	str_free(&input);
	char line[64];
	if (write(login_ipc_fd, "R", 1) != 1 ||
	    !read_reply_line(login_ipc_fd, line, sizeof(line)) ||
	    strcmp(line, "OK") != 0) {
		if (conn == NULL) {
			ioloop_stop(imapd_loop);
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
	imapd_relay_trim();
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
		imapd_relay_trim();
		return IMAP_LOGIN_OK;
	}
	if (strcmp(line, "HANDOFF ") == 0) {
		/* from the loop: not inside the connection's callback;
		 * what the client sent after the login stays buffered */
		conn_input_pause(imap_client_conn(client));
		timeout_add_once(imapd_loop, 0, login_handoff, client);
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
	ioloop_stop(imapd_loop);
}

/* How long the OK to STARTTLS may take to be written before the
 * connection goes to the proxy. */
#define STARTTLS_FLUSH_MSECS 30000
static unsigned int starttls_waited;

/* Reads the master's answer to "S": "OK\n" with the plaintext end of the
 * proxy, or "NO\n".  Returns the fd or -1. */
static int starttls_reply(void)
{
	char buf[3];
	size_t got = 0;
	int pfd = -1;

	while (got < 3) {
		struct pollfd p = { .fd = login_ipc_fd, .events = POLLIN };
		int r = poll(&p, 1, IPC_TIMEOUT_MSECS);
		int fd, flags;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = login_master_recv_fd(login_ipc_fd, buf + got,
						 3 - got, &fd, &flags);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (fd >= 0) {
			if (pfd >= 0)
				close(pfd);
			pfd = fd;
		}
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == 3 && memcmp(buf, "OK\n", 3) == 0 && pfd >= 0)
		return pfd;
	if (pfd >= 0)
		close(pfd);
	return -1;
}

/* After the OK to STARTTLS is written: the client's socket goes to the
 * master (for a proxy) and the session goes on over the plaintext end
 * it gets back; what the client sent after STARTTLS is thrown away. */
static void login_starttls_handover(void *context)
{
	struct imap_client *client = context;
	struct conn *conn = imap_client_conn(client);
	struct str input;

	if (conn == NULL) {
		ioloop_stop(imapd_loop);
		return;
	}
	if (conn_output_pending(conn) > 0 && !conn_is_closing(conn) &&
	    starttls_waited < STARTTLS_FLUSH_MSECS) {
		starttls_waited += 10;
		timeout_add_once(imapd_loop, 10, login_starttls_handover,
				 client);
		return;
	}
	str_init(&input, 256);
	int fd = conn_detach(&conn, &input);
	secure_wipe(input.data, str_len(&input));
	str_free(&input);
	if (fd < 0) {
		/* gone, or the OK could not be written */
		conn_close(conn);
		return;
	}
	(void)imap_client_detach_conn(client);
	struct iovec iov = { (void *)"S", 1 };
	ssize_t sent = login_master_send_fd(login_ipc_fd, &iov, 1, fd);
	close(fd);
	int pfd = sent == 1 ? starttls_reply() : -1;
	if (pfd < 0) {
		ioloop_stop(imapd_loop);
		return;
	}
	struct conn_settings cs = {
		.max_line_len = (size_t)imapd_set.max_line,
		.idle_timeout_msecs = imapd_set.timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
	};
	imap_client_set_tls_conn(client,
				 conn_create(imapd_loop, pfd, &cs,
					     imap_client_conn_callbacks(),
					     NULL));
}

/* STARTTLS with TLS proxies: the master says whether one has room. */
static enum imap_starttls_result login_starttls(struct imap_client *client,
						void *context)
{
	char line[16];

	(void)context;
	if (write(login_ipc_fd, "T", 1) != 1 ||
	    !read_reply_line(login_ipc_fd, line, sizeof(line)) ||
	    strcmp(line, "OK") != 0)
		return IMAP_STARTTLS_REFUSED;
	starttls_waited = 0;
	timeout_add_once(imapd_loop, 0, login_starttls_handover, client);
	return IMAP_STARTTLS_PROXY;
}

static const struct imap_client_callbacks login_callbacks = {
	.login = login_cb,
	.ended = login_ended,
};

static const struct imap_client_callbacks login_proxy_callbacks = {
	.login = login_cb,
	.ended = login_ended,
	.starttls = login_starttls,
};

/* A connection to 993 no proxy could take: the handshake here, then
 * "* BYE" and close_notify. */
static void refuse_tls_ready(struct conn *conn, void *context)
{
	(void)context;
	conn_write_str(conn, "* BYE [UNAVAILABLE] Too many TLS connections, "
			     "try later\r\n");
	conn_close(conn);
}

static void refuse_line(struct conn *conn, const char *line, size_t len,
			void *context)
{
	/* nothing the client says is read */
	(void)conn;
	(void)line;
	(void)len;
	(void)context;
}

static void refuse_disconnected(struct conn *conn,
				enum conn_disconnect_reason reason,
				const char *text, void *context)
{
	(void)conn;
	(void)reason;
	(void)text;
	(void)context;
	ioloop_stop(imapd_loop);
}

static const struct conn_callbacks refuse_callbacks = {
	.line = refuse_line,
	.tls_ready = refuse_tls_ready,
	.disconnected = refuse_disconnected,
};

/* The pre-login process on client_fd: with implicit TLS (993) in this
 * process, or already in a proxy (proxied: client_fd is the plaintext
 * end); refuse: only the handshake and "* BYE". */
void __attribute__((noreturn))
imapd_prelogin_child(int client_fd, int ipc_fd, bool implicit, bool proxied,
		     bool refuse, const char *ip)
{
	const char *error;

	imapd_master_close_fds(-1, -1);
	/* (closed, not freed: freeing them writes to every open
	 * connection's entry, pages fork would then copy) */
	login_master_close_listeners(imapd_master);
	if (daemon_drop_privileges(imapd_set.master.login_user, NULL,
				   &error) < 0) {
		log_error("imapd: cannot switch to %s: %s",
			  imapd_set.master.login_user, error);
		_exit(1);
	}
	login_ipc_fd = ipc_fd;
	/* the master's loop is left as it is, unused (as a mail session
	 * does): freeing a watch per open connection would write to the
	 * pages they are on and so copy them into every pre-login process,
	 * which may stay for days as a TLS relay */
	imapd_loop = ioloop_create();
	struct conn_settings cs = {
		.max_line_len = (size_t)imapd_set.max_line,
		.idle_timeout_msecs = imapd_set.timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
		.tls_ctx = implicit && !proxied ?
				   login_master_tls_ctx(imapd_master) : NULL,
	};
	ioloop_signal_add(imapd_loop, SIGTERM, imapd_sigterm_stop, NULL);
	if (refuse) {
		cs.idle_timeout_msecs = imapd_set.tls_handshake_timeout * 1000;
		struct conn *conn = conn_create(imapd_loop, client_fd, &cs,
						&refuse_callbacks, NULL);
		ioloop_run(imapd_loop);
		conn_destroy(&conn);
		_exit(0);
	}
	struct conn *conn = conn_create(imapd_loop, client_fd, &cs,
					imap_client_conn_callbacks(), NULL);
	login_client = imap_client_create_login(
		imapd_loop, conn, &imapd_set,
		login_master_starttls_ctx(imapd_master), implicit, ip,
		imapd_tlsproxy_running() ? &login_proxy_callbacks :
					   &login_callbacks, NULL);
	ioloop_run(imapd_loop);
	imap_client_destroy(&login_client);
	ioloop_destroy(&imapd_loop);
	_exit(0);
}
