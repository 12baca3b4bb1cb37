/* imapd-session.c: imapd's mail session process: the account's uid for
 * good, one logged-in session on the stream, hibernation asked of the
 * master (the process model is at the top of imapd.c). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn.h"
#include "imap-client.h"
#include "imapd-private.h"
#include "log.h"

/* in a mail session: its control channel to the master (-1: none) */
static int session_ctrl_fd = -1;

static void session_ended(struct imap_client *client, void *context)
{
	(void)client;
	(void)context;
	ioloop_stop(imapd_loop);
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

void imapd_session_run(int fd_in, int fd_out, const char *root,
		       const char *user, const char *tag, const void *blob,
		       size_t blob_len, const struct str *input)
{
	struct conn_settings cs = {
		.max_line_len = (size_t)imapd_set.max_line,
		.idle_timeout_msecs = imapd_set.timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
	};
	struct conn *conn = fd_out < 0 ?
		conn_create(imapd_loop, fd_in, &cs,
			    imap_client_conn_callbacks(), NULL) :
		conn_create_pair(imapd_loop, fd_in, fd_out, &cs,
				 imap_client_conn_callbacks(), NULL);
	struct imap_client *client =
		blob != NULL ?
			imap_client_create_restored(imapd_loop, conn,
						    &imapd_set, root, user,
						    true, blob, blob_len,
						    &mail_callbacks, NULL) :
			imap_client_create_mail(imapd_loop, conn, &imapd_set,
						root, user, tag, fd_out < 0,
						&mail_callbacks, NULL);

	/* what the client sent after its login command, read by the
	 * pre-login process */
	if (input != NULL && str_len(input) > 0 &&
	    conn_input_prepend(conn, str_c(input), str_len(input)) < 0) {
		/* cannot be: the same IMAP_MAX_LINE bounded it there */
		log_error("imapd: user=%s: input handed over too long", user);
		conn_close(conn);
	}
	if (session_ctrl_fd >= 0 && imapd_set.hibernate_timeout > 0)
		imap_client_set_hibernate(client, imapd_set.hibernate_timeout);
	ioloop_signal_add(imapd_loop, SIGTERM, imapd_sigterm_stop, NULL);
	ioloop_run(imapd_loop);
	imap_client_destroy(&client);
}

/* The mail session of acct on fd (the stream): after a login (tag: the
 * pre-login process is told "OK" first) or after hibernation (blob). */
void __attribute__((noreturn))
imapd_session_child(int fd, int ctrl_fd, const struct master_account *acct,
		    const char *tag, const void *blob, size_t blob_len,
		    const struct str *input, bool tell_prelogin)
{
	imapd_master_close_fds(fd, ctrl_fd);
	/* (closed, not freed: freeing them writes to every open
	 * connection's entry, pages fork would then copy) */
	login_master_close_listeners(imapd_master);
	if (login_master_become_account(&imapd_names, acct->user, acct->uid,
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
	imapd_loop = ioloop_create();
	imapd_session_run(fd, -1, acct->root, acct->user, tag, blob,
			  blob_len, input);
	ioloop_destroy(&imapd_loop);
	_exit(0);
}
