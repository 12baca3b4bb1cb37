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
 *   TLS proxy    IMAP_TLS_PROXIES processes (one per CPU by default),
 *                started by the master at start with its TLS context,
 *                dropped to IMAP_LOGIN_USER, each serving many
 *                connections (lib/tls-proxy.h): the TLS handshake and
 *                the encryption of both 993 and STARTTLS.  For 993 the
 *                master gives the accepted socket and one end of a new
 *                socketpair to the least loaded proxy (SCM_RIGHTS, on a
 *                control socketpair made at the proxy's fork) and forks
 *                the pre-login process on the other end, told that TLS
 *                is on.  For STARTTLS the pre-login process asks the
 *                master whether a proxy has room ("T"; else "* BYE"),
 *                answers OK, throws away what the client pipelined,
 *                hands the client's socket to the master ("S") and gets
 *                the plaintext end of the proxy back in its place.
 *                Either way the pre-login and session processes then see
 *                a plain stream and a TLS connection is handed over
 *                after login as a plain one is: a hibernated TLS
 *                connection costs the proxy's entry and the master's,
 *                no process.  A proxy that dies is restarted (logged);
 *                its connections are lost.  IMAP_TLS_PROXY=NO keeps TLS
 *                in each pre-login process, which then stays as the
 *                relay after login (as below).
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
 * SIGTERM (passed on to its children).
 *
 * The files: imapd.c (this one: main, the settings, the listeners),
 * imapd-master.c (the master's connections and logins),
 * imapd-prelogin.c, imapd-session.c (the processes it forks),
 * imapd-hibernate-master.c (hibernated sessions, the master's side),
 * imapd-tlsproxy.c (the TLS proxies), imapd-private.h (what they
 * share). */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "config-errors.h"
#include "imapd-private.h"
#include "ioloop.h"
#include "log.h"

const struct login_master_names imapd_names = {
	.log_name = "imapd",
	.protocol = "IMAP",
	.start_name = "IMAPDSTART",
	.ssl_start_name = "IMAPDSSLSTART",
	.ssl_file = "imapd-ssl",
	.starttls_word = "STARTTLS",
	.refusal = "* BYE Too many connections, try later\r\n",
};

struct imap_settings imapd_set;
struct ioloop *imapd_loop;
struct login_master *imapd_master;
bool imapd_stopping;

void imapd_sigterm_stop(void *context)
{
	(void)context;
	ioloop_stop(imapd_loop);
}

/* A pre-login process that stays as a relay (TLS) may live for days:
 * what the login took from the heap goes back to the system. */
void imapd_relay_trim(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

static void load_settings(bool daemon_mode)
{
	struct config_errors *errs = config_errors_new();
	int ret = imap_settings_load(&imapd_set, "imapd", "imapd-ssl", errs);

	login_master_settings_report(&imapd_names, &errs, ret, daemon_mode);
}

static int tunnel_main(const char *dir)
{
	const char *user = getenv("USER");

	load_settings(false);
	imapd_loop = ioloop_create();
	imapd_session_run(0, 1, dir, user != NULL ? user : "-", NULL, NULL,
			  0, NULL);
	ioloop_destroy(&imapd_loop);
	imap_settings_free(&imapd_set);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("imapd", LOG_TARGET_STDERR);
	const char *dir = login_master_command_line("imapd", argc, argv);
	if (dir != NULL)
		return tunnel_main(dir);
	load_settings(true);
	imapd_loop = ioloop_create();
	imapd_master = login_master_create(imapd_loop, &imapd_set.master,
					   &imapd_names, imapd_master_accept,
					   NULL);
	imapd_tlsproxy_start_all();
	ioloop_signal_add(imapd_loop, SIGCHLD, imapd_master_sigchld, NULL);
	ioloop_signal_add(imapd_loop, SIGTERM, imapd_master_sigterm, NULL);
	ioloop_signal_add(imapd_loop, SIGINT, imapd_master_sigterm, NULL);
	ioloop_run(imapd_loop);
	login_master_destroy(&imapd_master);
	imapd_tlsproxy_free();
	ioloop_destroy(&imapd_loop);
	imap_settings_free(&imapd_set);
	log_info("imapd: stopped");
	return 0;
}
