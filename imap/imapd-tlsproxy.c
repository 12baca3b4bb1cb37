/* imapd-tlsproxy.c: imapd's TLS proxy processes: starting and restarting
 * them, choosing the least loaded, handing them 993 connections and
 * STARTTLS sockets (the process model is at the top of imapd.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "imapd-private.h"
#include "log.h"
#include "mem.h"
#include "tls-proxy.h"

/* Largest control message to a proxy: "C" with two fds. */
#define PROXY_MSG_MAX 16

/* A TLS proxy process, from the master's side. */
struct proxy_proc {
	pid_t pid;		/* 0: not running */
	int fd;			/* its control socket (-1: none) */
	unsigned int count;	/* connections given, not ended yet */
	unsigned int generation;
	uint64_t started_ms;
	struct timeout *restart;
};

static struct proxy_proc *proxies;
static unsigned int proxy_count;
/* connections a proxy takes: IMAP_TLS_PROXY_MAX, less when its open
 * file limit (two fds a connection) is lower */
static unsigned int proxy_conn_max;

static struct tls_proxy *proxy_engine;

/* In a proxy: a connection from the master ("C" with the client's socket
 * and the plaintext end), or EOF when the master is gone. */
static void proxy_child_ctrl(void *context)
{
	int fd = *(int *)context;
	char buf[PROXY_MSG_MAX];
	int fds[2];
	size_t nfds;
	int flags;
	ssize_t n = login_master_recv_fds(fd, buf, sizeof(buf), fds, 2, &nfds,
					  &flags);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		ioloop_stop(imapd_loop);
		return;
	}
	if (n != 1 || buf[0] != 'C' || nfds != 2 ||
	    (flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
	    tls_proxy_add(proxy_engine, fds[0], fds[1]) < 0) {
		if (n != 1 || buf[0] != 'C' || nfds != 2)
			log_error("imapd: TLS proxy: malformed request");
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
	}
}

static void proxy_quiet(void *context)
{
	(void)context;
	imapd_relay_trim();
}

static void __attribute__((noreturn)) proxy_child(int ctrl_fd)
{
	const char *error;
	static int fd;

	imapd_master_close_fds(-1, -1);
	login_master_close_listeners(imapd_master);
	/* its name in ps and /proc/PID/comm (tests and benchmarks tell it
	 * from the pre-login and session processes by it) */
	(void)prctl(PR_SET_NAME, "imapd-tlsproxy", 0, 0, 0);
	/* two fds a connection: as many as the hard limit allows (the
	 * master sized proxy_conn_max by it) */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (daemon_drop_privileges(imapd_set.master.login_user, NULL,
				   &error) < 0) {
		log_error("imapd: TLS proxy: cannot switch to %s: %s",
			  imapd_set.master.login_user, error);
		_exit(1);
	}
	/* the master's loop stays as it is, unused (see
	 * imapd_prelogin_child()) */
	imapd_loop = ioloop_create();
	struct tls_proxy_settings ps = {
		.max_conns = proxy_conn_max,
		.handshake_timeout_msecs =
			imapd_set.tls_handshake_timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
		/* what the handshakes took from the heap goes back */
		.quiet = proxy_quiet,
	};
	proxy_engine = tls_proxy_create(imapd_loop,
					login_master_tls_ctx(imapd_master),
					&ps);
	fd = ctrl_fd;
	struct io *io = io_add(imapd_loop, fd, IO_READ, proxy_child_ctrl, &fd);
	ioloop_signal_add(imapd_loop, SIGTERM, imapd_sigterm_stop, NULL);
	imapd_relay_trim();
	ioloop_run(imapd_loop);
	io_remove(&io);
	tls_proxy_destroy(&proxy_engine);
	ioloop_destroy(&imapd_loop);
	_exit(0);
}

static void proxy_start(unsigned int i);

static void proxy_restart_timer(void *context)
{
	struct proxy_proc *p = context;

	p->restart = NULL;
	if (!imapd_stopping)
		proxy_start((unsigned int)(p - proxies));
}

/* Forks proxy i with a new control socketpair. */
static void proxy_start(unsigned int i)
{
	struct proxy_proc *p = &proxies[i];
	int ctl[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		log_error("imapd: socketpair: %s", strerror(errno));
		p->restart = timeout_add_once(imapd_loop, 1000,
					      proxy_restart_timer, p);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ctl[0]);
		proxy_child(ctl[1]);
	}
	close(ctl[1]);
	if (pid < 0) {
		log_error("imapd: fork: %s", strerror(errno));
		close(ctl[0]);
		p->restart = timeout_add_once(imapd_loop, 1000,
					      proxy_restart_timer, p);
		return;
	}
	/* a proxy that cannot keep up must not block the master */
	int flags = fcntl(ctl[0], F_GETFL);
	if (flags >= 0)
		(void)fcntl(ctl[0], F_SETFL, flags | O_NONBLOCK);
	p->pid = pid;
	p->fd = ctl[0];
	p->count = 0;
	p->started_ms = ioloop_now_ms(imapd_loop);
}

/* The number of proxies IMAP_TLS_PROXIES asks for (0: one per CPU). */
static unsigned int proxies_wanted(void)
{
	if (imapd_set.tls_proxies > 0)
		return (unsigned int)imapd_set.tls_proxies;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 0 ? (unsigned int)cpus : 1;
}

void imapd_tlsproxy_start_all(void)
{
	if (!imapd_set.tls_proxy || login_master_tls_ctx(imapd_master) == NULL)
		return;
	proxy_count = proxies_wanted();
	proxies = xcalloc(proxy_count, sizeof(*proxies));
	proxy_conn_max = (unsigned int)imapd_set.tls_proxy_max;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < 64 + 2 * (rlim_t)proxy_conn_max) {
		proxy_conn_max = rl.rlim_max > 96 ?
			(unsigned int)((rl.rlim_max - 64) / 2) : 16;
		log_info("imapd: IMAP_TLS_PROXY_MAX=%lld is more than the "
			 "open file limit (%llu) allows: %u connections a TLS "
			 "proxy", imapd_set.tls_proxy_max,
			 (unsigned long long)rl.rlim_max, proxy_conn_max);
	}
	for (unsigned int i = 0; i < proxy_count; i++) {
		proxies[i].fd = -1;
		proxy_start(i);
	}
	log_info("imapd: %u TLS prox%s started", proxy_count,
		 proxy_count == 1 ? "y" : "ies");
}

/* The running proxy with the fewest connections and room for one more,
 * or -1. */
static int proxy_pick(void)
{
	int best = -1;

	for (unsigned int i = 0; i < proxy_count; i++) {
		if (proxies[i].fd < 0 || proxies[i].count >= proxy_conn_max)
			continue;
		if (best < 0 || proxies[i].count < proxies[best].count)
			best = (int)i;
	}
	return best;
}

/* Gives the client's socket to a proxy with a new socketpair: returns
 * the plaintext end (the caller's) and records the proxy in mc, or -1
 * when no proxy can take it (client_fd stays the caller's). */
int imapd_tlsproxy_give(struct master_conn *mc, int client_fd)
{
	int sp[2];
	int i = proxy_pick();

	if (i < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_error("imapd: socketpair: %s", strerror(errno));
		return -1;
	}
	struct iovec iov = { (void *)"C", 1 };
	int fds[2] = { client_fd, sp[0] };
	if (login_master_send_fds(proxies[i].fd, &iov, 1, fds, 2) != 1) {
		log_error("imapd: handing a connection to TLS proxy %ld: %s",
			  (long)proxies[i].pid, strerror(errno));
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	close(sp[0]);
	proxies[i].count++;
	mc->proxy = i;
	mc->proxy_gen = proxies[i].generation;
	return sp[1];
}

/* A proxy ended: its connections are lost (their plaintext ends see
 * EOF); it is started again (after a second when it died young). */
bool imapd_tlsproxy_reaped(pid_t pid, int status)
{
	for (unsigned int i = 0; i < proxy_count; i++) {
		struct proxy_proc *p = &proxies[i];

		if (p->pid != pid)
			continue;
		if (!imapd_stopping) {
			if (WIFSIGNALED(status))
				log_error("imapd: TLS proxy %ld killed by "
					  "signal %d; its %u connections are "
					  "lost; restarting", (long)pid,
					  WTERMSIG(status), p->count);
			else
				log_error("imapd: TLS proxy %ld exited with "
					  "status %d; its %u connections are "
					  "lost; restarting", (long)pid,
					  WEXITSTATUS(status), p->count);
		}
		close(p->fd);
		p->fd = -1;
		p->pid = 0;
		p->count = 0;
		p->generation++;
		if (imapd_stopping)
			return true;
		if (ioloop_now_ms(imapd_loop) - p->started_ms < 1000)
			p->restart = timeout_add_once(imapd_loop, 1000,
						      proxy_restart_timer, p);
		else
			proxy_start(i);
		return true;
	}
	return false;
}
/* STARTTLS through a proxy: "T" asks whether a proxy has room ("OK" or
 * "NO"); "S" comes with the client's socket, after the pre-login process
 * answered OK to the client: the socket goes to a proxy and the
 * plaintext end back with "OK" (or "NO" without: the pre-login process
 * then drops the connection). */
void imapd_tlsproxy_starttls(struct master_conn *mc, char kind, int fd)
{
	if (kind == 'T') {
		if (fd >= 0)
			close(fd);
		bool room = proxy_count > 0 && mc->proxy < 0 &&
			    proxy_pick() >= 0;
		if (write(mc->fd, room ? "OK\n" : "NO\n", 3) != 3)
			imapd_master_conn_free(mc);
		return;
	}
	int plain = fd >= 0 && mc->proxy < 0 ? imapd_tlsproxy_give(mc, fd) : -1;
	if (fd >= 0)
		close(fd);
	if (plain < 0) {
		log_warning("imapd: ip=%s: STARTTLS: no TLS proxy could take "
			    "the connection", mc->remote_ip);
		if (write(mc->fd, "NO\n", 3) != 3)
			imapd_master_conn_free(mc);
		return;
	}
	struct iovec iov = { (void *)"OK\n", 3 };
	if (login_master_send_fd(mc->fd, &iov, 1, plain) != 3)
		imapd_master_conn_free(mc);
	close(plain);
}

bool imapd_tlsproxy_running(void)
{
	return proxy_count > 0;
}

void imapd_tlsproxy_conn_ended(struct master_conn *mc)
{
	if (mc->proxy >= 0 &&
	    proxies[mc->proxy].generation == mc->proxy_gen &&
	    proxies[mc->proxy].count > 0)
		proxies[mc->proxy].count--;
}

void imapd_tlsproxy_close_fds(void)
{
	for (unsigned int i = 0; i < proxy_count; i++) {
		if (proxies[i].fd >= 0)
			close(proxies[i].fd);
	}
}

void imapd_tlsproxy_stop(void)
{
	for (unsigned int i = 0; i < proxy_count; i++) {
		timeout_remove(&proxies[i].restart);
		if (proxies[i].pid > 0)
			kill(proxies[i].pid, SIGTERM);
	}
}

void imapd_tlsproxy_free(void)
{
	imapd_tlsproxy_close_fds();
	free(proxies);
	proxies = NULL;
	proxy_count = 0;
}
