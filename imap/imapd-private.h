/* imapd-private.h: what the parts of sbin/imapd share (the process model
 * is described at the top of imapd.c). */
#ifndef IMAPD_PRIVATE_H
#define IMAPD_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "imap-settings.h"
#include "ioloop.h"
#include "listen.h"
#include "login-master.h"
#include "str.h"

/* Largest login request from a pre-login process. */
#define IPC_MAX 8192
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
	/* the TLS proxy that holds the connection's TLS (-1: none), and
	 * its generation then (a restarted proxy starts from zero) */
	int proxy;
	unsigned int proxy_gen;
};

/* imapd.c: the names in logs and settings, the settings, the process'
 * event loop (each child makes its own), the listeners' owner, and
 * whether the master is stopping (SIGTERM). */
extern const struct login_master_names imapd_names;
extern struct imap_settings imapd_set;
extern struct ioloop *imapd_loop;
extern struct login_master *imapd_master;
extern bool imapd_stopping;

/* The SIGTERM handler of a child process: stops imapd_loop. */
void imapd_sigterm_stop(void *context);
/* Gives what the heap no longer uses back to the system (glibc), for a
 * process that may live for days (a relay, a TLS proxy). */
void imapd_relay_trim(void);

/* imapd-master.c: the master's connections. */
/* The listeners' callback: a new connection (implicit: TLS on 993) gets
 * an entry and a pre-login process (or goes to a TLS proxy first). */
void imapd_master_accept(struct listen_client *lc, bool implicit,
			 void *context);
/* SIGCHLD: reaps the children and ends their connections. */
void imapd_master_sigchld(void *context);
/* SIGTERM, SIGINT: no new connections, SIGTERM to every child; the loop
 * stops when the last connection is gone. */
void imapd_master_sigterm(void *context);
/* In a forked child: closes the master's fds of every connection (and of
 * the TLS proxies) but keep_fd and keep_ctrl (-1: none). */
void imapd_master_close_fds(int keep_fd, int keep_ctrl);
/* Closes everything the master holds for the connection but its entry
 * (freed at the pre-login process' exit). */
void imapd_master_conn_free(struct master_conn *mc);
/* The login of mc's account as the master judged it (mc->acct set):
 * for login_master_uid_verdict() and login_master_forked() when a
 * session is forked for it again.  The strings stay mc's. */
void imapd_master_account_login(const struct master_conn *mc,
				struct login_master_login *login_r);
/* The master let go of the stream: the connection ends with it when the
 * session talked to the client directly; else the pre-login process sees
 * EOF and its exit ends it. */
void imapd_master_conn_release(struct master_conn *mc);

/* imapd-session.c: the mail session process. */
/* Serves one logged-in session of user on the maildir root until it
 * ends: on fd_in (both ways) when fd_out is -1, else fd_in/fd_out (the
 * tunnel).  tag: the login's tag (its OK is sent here); blob: the state
 * of a hibernated session to restore (NULL: a new one); input: what the
 * client sent after its login command (NULL: none). */
void imapd_session_run(int fd_in, int fd_out, const char *root,
		       const char *user, const char *tag, const void *blob,
		       size_t blob_len, const struct str *input);
/* In a child forked by the master: becomes acct for good and serves its
 * session on fd with ctrl_fd as the control channel to the master
 * (hibernation), after a login (tag; tell_prelogin: the pre-login
 * process is told "OK" first) or a hibernation (blob).  Never returns. */
void __attribute__((noreturn))
imapd_session_child(int fd, int ctrl_fd, const struct master_account *acct,
		    const char *tag, const void *blob, size_t blob_len,
		    const struct str *input, bool tell_prelogin);

/* imapd-prelogin.c: the pre-login process. */
/* In a child forked by the master: drops to IMAP_LOGIN_USER and speaks
 * IMAP before login on client_fd, asking the master over ipc_fd:
 * implicit TLS (993) in this process, or already in a proxy (proxied:
 * client_fd is the plaintext end); refuse: only the TLS handshake and
 * "* BYE".  ip: the client's address.  Never returns. */
void __attribute__((noreturn))
imapd_prelogin_child(int client_fd, int ipc_fd, bool implicit, bool proxied,
		     bool refuse, const char *ip);

/* imapd-hibernate-master.c: hibernated sessions, on the master's side. */
/* Forgets a hibernated session's state and watches. */
void imapd_hibernate_clear(struct master_conn *mc);
/* Closes a live session's control channel (if any). */
void imapd_hibernate_ctrl_close(struct master_conn *mc);
/* The client is gone (or must go): sends bye (NULL: nothing) and lets
 * go of the stream. */
void imapd_hibernate_drop(struct master_conn *mc, const char *bye);
/* The io callback (context: the master_conn) of a live session's control
 * channel: a hibernation request, or EOF when the session ended. */
void imapd_hibernate_ctrl(void *context);

/* imapd-tlsproxy.c: the TLS proxy processes, on the master's side. */
/* Starts IMAP_TLS_PROXIES proxies when IMAP_TLS_PROXY is on and TLS is
 * configured. */
void imapd_tlsproxy_start_all(void);
/* True when TLS proxies run (the TLS of 993 and STARTTLS is theirs). */
bool imapd_tlsproxy_running(void);
/* Gives the client's socket to the least loaded proxy with a new
 * socketpair: returns the plaintext end (the caller's) and records the
 * proxy in mc, or -1 when no proxy can take it (client_fd stays the
 * caller's). */
int imapd_tlsproxy_give(struct master_conn *mc, int client_fd);
/* The connection given to mc's proxy (if any) ended: one less there. */
void imapd_tlsproxy_conn_ended(struct master_conn *mc);
/* When pid was a proxy: logs its end, restarts it and returns true. */
bool imapd_tlsproxy_reaped(pid_t pid, int status);
/* A pre-login process' STARTTLS request (kind 'T' or 'S', fd: the
 * client's socket with 'S', else -1; the fd is consumed). */
void imapd_tlsproxy_starttls(struct master_conn *mc, char kind, int fd);
/* In a forked child: closes the proxies' control sockets. */
void imapd_tlsproxy_close_fds(void);
/* SIGTERM to every proxy (and no restarts). */
void imapd_tlsproxy_stop(void);
/* At the master's end: closes the control sockets, frees the table. */
void imapd_tlsproxy_free(void);

#endif
