/* imapd-hibernate-master.c: hibernated IMAP sessions on imapd's master
 * side: taking a session's state, watching its stream and folder, forking
 * it again when either wakes (the process model is at the top of
 * imapd.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "imap-hibernate.h"
#include "imapd-private.h"
#include "log.h"
#include "mem.h"

/* Forgets a hibernated session's state and watches. */
void imapd_hibernate_clear(struct master_conn *mc)
{
	io_remove(&mc->inotify_io);
	if (mc->inotify_fd >= 0)
		close(mc->inotify_fd);
	mc->inotify_fd = -1;
	timeout_remove(&mc->autologout);
	x_free(mc->blob);
	mc->blob_len = 0;
}

void imapd_hibernate_ctrl_close(struct master_conn *mc)
{
	io_remove(&mc->ctrl_io);
	if (mc->ctrl_fd >= 0)
		close(mc->ctrl_fd);
	mc->ctrl_fd = -1;
}

/* The client is gone (or must go): the master lets go of the stream, the
 * pre-login process sees EOF and ends. */
void imapd_hibernate_drop(struct master_conn *mc, const char *bye)
{
	if (bye != NULL && mc->fd >= 0) {
		ssize_t n = send(mc->fd, bye, strlen(bye),
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
	}
	imapd_master_conn_release(mc);
}

static void master_autologout(void *context)
{
	struct master_conn *mc = context;

	mc->autologout = NULL;
	log_info("imapd: user=%s: autologout while hibernated",
		 mc->acct->user);
	imapd_hibernate_drop(mc, "* BYE Autologout; idle for too long\r\n");
}

/* The stream became readable or the folder changed: a new session. */
static void master_wake(struct master_conn *mc)
{
	char c;
	ssize_t n = recv(mc->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	int ctrl[2];

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* the client left while the session slept */
		imapd_hibernate_drop(mc, NULL);
		return;
	}
	/* the same checks as at login for the uid it switches to */
	struct login_master_login login;
	const char *text;

	imapd_master_account_login(mc, &login);
	if (login_master_uid_verdict(&imapd_names, &login, &text) !=
		    LOGIN_MASTER_SERVE ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctrl) < 0) {
		imapd_hibernate_drop(mc, "* BYE [UNAVAILABLE] Cannot resume "
					 "the session\r\n");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ctrl[0]);
		imapd_session_child(mc->fd, ctrl[1], mc->acct, NULL, mc->blob,
				    mc->blob_len, NULL, false);
	}
	close(ctrl[1]);
	if (pid < 0) {
		log_error("imapd: fork: %s", strerror(errno));
		close(ctrl[0]);
		imapd_hibernate_drop(mc, "* BYE [UNAVAILABLE] Cannot resume "
					 "the session\r\n");
		return;
	}
	io_remove(&mc->io);
	imapd_hibernate_clear(mc);
	mc->session_pid = pid;
	mc->ctrl_fd = ctrl[0];
	mc->ctrl_io = io_add(imapd_loop, mc->ctrl_fd, IO_READ,
			     imapd_hibernate_ctrl, mc);
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
void imapd_hibernate_ctrl(void *context)
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
		imapd_master_conn_release(mc);
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
			imapd_master_conn_release(mc);
		return;
	}
	if (write(mc->ctrl_fd, "OK\n", 3) != 3) {
		/* the session is gone: it did not hibernate */
		free(buf);
		if (fd >= 0)
			close(fd);
		imapd_master_conn_release(mc);
		return;
	}
	mc->session_pid = 0;
	imapd_hibernate_ctrl_close(mc);
	mc->blob_len = (size_t)n - 1;
	mc->blob = xmemdup(buf + 1, mc->blob_len);
	free(buf);
	mc->inotify_fd = fd;
	mc->io = io_add(imapd_loop, mc->fd, IO_READ, master_wake_stream, mc);
	if (fd >= 0)
		mc->inotify_io = io_add(imapd_loop, fd, IO_READ,
					master_wake_inotify, mc);
	/* IMAP_TIMEOUT counts on from the last input, which was
	 * IMAP_HIBERNATE_TIMEOUT ago */
	unsigned int left = imapd_set.timeout > imapd_set.hibernate_timeout ?
		imapd_set.timeout - imapd_set.hibernate_timeout : 1;
	mc->autologout = timeout_add_once(imapd_loop, left * 1000,
					  master_autologout, mc);
}
