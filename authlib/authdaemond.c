/* authdaemond.c: the authentication daemon: answers Courier's authdaemon
 * protocol on a Unix socket with pre-forked workers that ask the modules
 * of authmodulelist in order, with a time budget per request and
 * failed-login throttling shared by every worker. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth-module.h"
#include "authdaemon-settings.h"
#include "authproto.h"
#include "config-errors.h"
#include "daemon.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "passwd.h"
#include "secure.h"
#include "throttle.h"
#include "userdb.h"

#define MAX_WORKERS 256
#define THROTTLE_SLOTS 65536

struct module_slot {
	const struct auth_module_def *def;
	struct auth_module *mod; /* NULL when init failed */
};

static struct authdaemon_settings set;
static struct config_env *rc_env;
static struct throttle *throttle;
static struct module_slot *modules;
static size_t module_count;
static volatile sig_atomic_t worker_stop;

/* ---------------------------------------------------------- config */

static void load_settings(bool fatal_on_error)
{
	struct config_errors *errs = config_errors_new();
	char *path = instance_etc_path("authdaemonrc");

	authdaemon_settings_free(&set);
	config_env_free(&rc_env);
	if (authdaemon_settings_load(&set, &rc_env, path, errs) < 0) {
		config_errors_log(errs);
		if (fatal_on_error)
			log_fatal("%s: cannot use the settings", path);
		log_error("%s: errors in the settings (see above)", path);
	} else {
		config_errors_log(errs);
	}
	config_errors_destroy(&errs);
	free(path);
}

/* Checks authmodulelist (fatal: an admin's typo must show at start). */
static void check_module_list(void)
{
	char **names = str_split(set.authmodulelist, " \t,");
	size_t n = 0;
	for (size_t i = 0; names[i] != NULL; i++, n++) {
		if (auth_module_find(names[i]) == NULL)
			log_fatal("authmodulelist: unknown or not built-in "
				  "module \"%s\"",
				names[i]);
	}
	str_split_free(&names);
	if (n == 0)
		log_fatal("authmodulelist is empty");
}

/* ---------------------------------------------------------- modules */

static void modules_init(void)
{
	char **names = str_split(set.authmodulelist, " \t,");
	size_t n = 0;
	while (names[n] != NULL)
		n++;
	modules = xcalloc(n, sizeof(*modules));
	module_count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct auth_module_def *def = auth_module_find(names[i]);
		struct module_slot *m = &modules[module_count++];
		const char *error = "unknown module";
		char *cfg = NULL;
		m->def = def;
		if (def == NULL) {
			module_count--;
			continue;
		}
		if (def->config_file != NULL)
			cfg = instance_etc_path(def->config_file);
		if (def->init(def, cfg, rc_env, &m->mod, &error) < 0) {
			log_error("%s: %s", def->name, error);
			m->mod = NULL;
		}
		free(cfg);
	}
	str_split_free(&names);
}

static void modules_deinit(void)
{
	for (size_t i = 0; i < module_count; i++) {
		if (modules[i].mod != NULL)
			modules[i].def->deinit(&modules[i].mod);
	}
	x_free(modules);
	module_count = 0;
}

/* ---------------------------------------------------------- I/O */

static long remaining_ms(const struct timespec *deadline)
{
	struct auth_request r = {.deadline = *deadline};
	return auth_request_remaining_msecs(&r);
}

static int write_all(
	int fd, const char *data, size_t len, const struct timespec *deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		struct pollfd pfd = {fd, POLLOUT, 0};
		long ms = remaining_ms(deadline);
		if (ms <= 0 || worker_stop)
			return -1;
		if (poll(&pfd, 1, (int)ms) < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* Reads a whole request.  Returns 1 with *req, 0 on EOF/timeout/error
 * (nothing to answer). */
static int read_request(
	int fd, const struct timespec *deadline, struct authproto_request *req)
{
	char buf[AUTHPROTO_MAX_REQUEST + 1];
	size_t len = 0;
	const char *error;
	int ret = 0;

	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long ms = remaining_ms(deadline);
		if (ms <= 0 || worker_stop)
			break;
		int r = poll(&pfd, 1, (int)ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		enum authproto_status st =
			authproto_parse(buf, len, req, &error);
		if (st == AUTHPROTO_DONE) {
			ret = 1;
			break;
		}
		if (st == AUTHPROTO_ERROR) {
			log_warning("bad request: %s", error);
			break;
		}
		if (len == sizeof(buf)) {
			log_warning("bad request: too long");
			break;
		}
	}
	secure_wipe(buf, sizeof(buf));
	return ret;
}

/* ---------------------------------------------------------- requests */

/* Completes a found record: uid/gid of USERNAME, DEFAULTOPTIONS.  Returns
 * 0, or -1 (logged) when it cannot be sent. */
static int finish_record(const char *module, struct auth_record *rec)
{
	const char *error;

	if (!rec->has_uid && rec->sysusername != NULL) {
		struct passwd *pw = getpwnam(rec->sysusername);
		if (pw == NULL) {
			log_error("%s: account's system user does not exist",
				module);
			return -1;
		}
		rec->has_uid = true;
		rec->uid = pw->pw_uid;
		rec->gid = pw->pw_gid;
		if (rec->home == NULL)
			rec->home = xstrdup(pw->pw_dir);
	}
	auth_record_merge_options(rec, set.defaultoptions);
	if (auth_record_validate(rec, &error) < 0) {
		log_error("%s: unusable account record: %s", module, error);
		return -1;
	}
	return 0;
}

static bool module_matches(const struct module_slot *m, const char *name)
{
	return name == NULL || auth_module_find(name) == m->def;
}

static void log_tempfail(const struct module_slot *m,
	const struct auth_request *areq, const char *error)
{
	log_error("%s: temporary failure for service=%s: %s", m->def->name,
		areq->service, error != NULL ? error : "module not ready");
	(void)areq;
}

/* Returns 1 found (rec filled), 0 not found, -1 temporary failure. */
static int do_lookup(const struct auth_request *areq, const char *only,
	struct auth_record *rec)
{
	for (size_t i = 0; i < module_count; i++) {
		struct module_slot *m = &modules[i];
		const char *error = NULL;
		if (!module_matches(m, only))
			continue;
		if (m->mod == NULL) {
			log_tempfail(m, areq, NULL);
			return -1;
		}
		auth_record_init(rec);
		enum auth_module_result r =
			m->def->lookup(m->mod, areq, rec, &error);
		if (areq->debug)
			log_info("lookup service=%s module=%s result=%d",
				areq->service, m->def->name, (int)r);
		if (r == AUTH_MODULE_OK)
			return finish_record(m->def->name, rec) < 0 ? -1 : 1;
		auth_record_free(rec);
		if (r == AUTH_MODULE_TEMPFAIL) {
			log_tempfail(m, areq, error);
			return -1;
		}
	}
	return 0;
}

static bool password_matches(
	const struct authproto_request *req, const struct auth_record *rec)
{
	if (req->authtype == AUTHPROTO_CRAM) {
		return passwd_cram_verify(req->mechanism, req->challenge,
			       req->challenge_len, req->digest_hex,
			       rec->clearpasswd, rec->hmac_md5pw) == 1;
	}
	bool ok = false;
	if (rec->passwd != NULL && rec->passwd[0] != '\0')
		ok = passwd_verify(req->password, rec->passwd) == 1;
	if (!ok && rec->clearpasswd != NULL && rec->clearpasswd[0] != '\0')
		ok = secure_streq(req->password, rec->clearpasswd);
	return ok;
}

/* Returns 1 authenticated (rec filled), 0 rejected, -1 temporary. */
static int do_authenticate(const struct authproto_request *req,
	const struct auth_request *areq, struct auth_record *rec)
{
	for (size_t i = 0; i < module_count; i++) {
		struct module_slot *m = &modules[i];
		const char *error = NULL;
		enum auth_module_result r;
		if (m->mod == NULL) {
			log_tempfail(m, areq, NULL);
			return -1;
		}
		auth_record_init(rec);
		if (req->authtype == AUTHPROTO_LOGIN &&
			m->def->authenticate != NULL) {
			r = m->def->authenticate(
				m->mod, areq, req->password, rec, &error);
		} else {
			r = m->def->lookup(m->mod, areq, rec, &error);
			if (r == AUTH_MODULE_OK && !password_matches(req, rec))
				r = AUTH_MODULE_NOTFOUND;
		}
		if (areq->debug)
			log_info("authenticate service=%s module=%s result=%d",
				areq->service, m->def->name, (int)r);
		if (r == AUTH_MODULE_OK)
			return finish_record(m->def->name, rec) < 0 ? -1 : 1;
		auth_record_free(rec);
		if (r == AUTH_MODULE_TEMPFAIL) {
			log_tempfail(m, areq, error);
			return -1;
		}
	}
	return 0;
}

static char *throttle_key(const char *kind, const char *value)
{
	return xasprintf("%s:%s", kind, value);
}

/* True when the request must be refused without asking the modules. */
static bool throttled(const struct auth_request *areq, time_t now)
{
	bool blocked = false;
	char *k = throttle_key("user", areq->user);
	blocked = throttle_blocked(
		throttle, k, (unsigned)set.fail_user, set.fail_window, now);
	free(k);
	if (!blocked && areq->remote_ip != NULL) {
		k = throttle_key("ip", areq->remote_ip);
		blocked = throttle_blocked(throttle, k, (unsigned)set.fail_ip,
			set.fail_window, now);
		free(k);
	}
	return blocked;
}

static void throttle_count(
	const struct auth_request *areq, bool success, time_t now)
{
	char *k = throttle_key("user", areq->user);
	if (success)
		throttle_reset(throttle, k);
	else
		(void)throttle_fail(throttle, k, set.fail_window, now);
	free(k);
	if (!success && areq->remote_ip != NULL) {
		k = throttle_key("ip", areq->remote_ip);
		(void)throttle_fail(throttle, k, set.fail_window, now);
		free(k);
	}
}

static time_t mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct enum_ctx {
	int fd;
	const struct timespec *deadline;
	struct str buf;
};

static int enum_flush(struct enum_ctx *ctx)
{
	int r = write_all(ctx->fd, ctx->buf.data, ctx->buf.len, ctx->deadline);
	str_clear(&ctx->buf);
	return r;
}

static int enum_one(const struct auth_record *rec, void *context)
{
	struct enum_ctx *ctx = context;
	struct str maildir;

	if (rec->address == NULL || strpbrk(rec->address, "\t\n") != NULL)
		return 0;
	str_init(&maildir, 64);
	auth_record_maildir(rec, &maildir);
	str_printfa(&ctx->buf, "%s\t%lu\t%lu\t%s\t%s\t%s\n", rec->address,
		(unsigned long)rec->uid, (unsigned long)rec->gid,
		rec->home != NULL ? rec->home : "", str_c(&maildir),
		rec->options != NULL ? rec->options : "");
	str_free(&maildir);
	if (ctx->buf.len > 16384)
		return enum_flush(ctx);
	return 0;
}

static void do_enumerate(int fd, const struct timespec *deadline)
{
	struct enum_ctx ctx = {fd, deadline, {0}};

	str_init(&ctx.buf, 32768);
	for (size_t i = 0; i < module_count; i++) {
		struct module_slot *m = &modules[i];
		const char *error = NULL;
		if (m->def->enumerate == NULL)
			continue;
		if (m->mod == NULL) {
			log_error("%s: cannot enumerate: module not ready",
				m->def->name);
			goto out;
		}
		str_printfa(&ctx.buf, "# %s\n\n", m->def->name);
		if (m->def->enumerate(m->mod, enum_one, &ctx, &error) !=
			AUTH_MODULE_OK) {
			log_error("%s: enumerate: %s", m->def->name,
				error != NULL ? error : "failed");
			goto out;
		}
	}
	str_append(&ctx.buf, ".\n");
	(void)enum_flush(&ctx);
out:
	str_free(&ctx.buf);
}

static void serve(int fd)
{
	struct authproto_request req;
	struct timespec deadline;
	struct auth_record rec;
	struct str reply;
	const char *error;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += set.timeout;
	/* The watchdog: a module that overruns the budget by far is not
	 * waited for (the client sees a temporary failure). */
	alarm(set.timeout + 2);
	if (read_request(fd, &deadline, &req) <= 0) {
		alarm(0);
		return;
	}
	struct auth_request areq = {
		.service = req.service != NULL ? req.service : "",
		.user = req.user != NULL ? req.user : "",
		.remote_ip = req.remote_ip,
		.deadline = deadline,
		.debug = set.debug_login > 0,
	};
	str_init(&reply, 512);
	auth_record_init(&rec);
	time_t now = mono_seconds();

	switch (req.cmd) {
	case AUTHPROTO_ENUMERATE:
		do_enumerate(fd, &deadline);
		break;
	case AUTHPROTO_PRE:
		r = do_lookup(&areq, req.module, &rec);
		if (r > 0 && auth_record_write(&rec, true, &reply, &error) < 0)
			r = -1;
		if (r == 0)
			str_append(&reply, "FAIL\n");
		break;
	case AUTHPROTO_AUTH:
		if (throttled(&areq, now)) {
			log_info("login throttled: service=%s%s%s",
				areq.service, areq.remote_ip ? " ip=" : "",
				areq.remote_ip ? areq.remote_ip : "");
			r = 0;
		} else {
			r = do_authenticate(&req, &areq, &rec);
			if (r > 0 && auth_record_service_disabled(
					     &rec, areq.service)) {
				log_info("login refused: service %s disabled "
					 "for the account",
					areq.service);
				r = 0;
			} else if (r >= 0) {
				throttle_count(&areq, r > 0, now);
			}
		}
		if (set.debug_login > 0)
			log_info("AUTH service=%s type=%s result=%s",
				areq.service, req.mechanism,
				r > 0	 ? "ok"
				: r == 0 ? "fail"
					 : "tempfail");
		if (r > 0 && auth_record_write(&rec, true, &reply, &error) < 0)
			r = -1;
		if (r == 0)
			str_append(&reply, "FAIL\n");
		break;
	case AUTHPROTO_PASSWD:
		r = 0;
		if (throttled(&areq, now)) {
			str_append(&reply, "FAIL\n");
			break;
		}
		for (size_t i = 0; i < module_count && r == 0; i++) {
			struct module_slot *m = &modules[i];
			if (m->def->change_password == NULL)
				continue;
			if (m->mod == NULL) {
				r = -1;
				break;
			}
			error = NULL;
			enum auth_module_result res =
				m->def->change_password(m->mod, &areq,
					req.password, req.new_password, &error);
			if (res == AUTH_MODULE_OK) {
				log_info("password changed: service=%s "
					 "module=%s",
					areq.service, m->def->name);
				r = 1;
			} else if (res == AUTH_MODULE_TEMPFAIL) {
				log_tempfail(m, &areq, error);
				r = -1;
			}
		}
		if (r >= 0)
			throttle_count(&areq, r > 0, now);
		str_append(&reply, r > 0 ? "OK\n" : "FAIL\n");
		break;
	}
	if (r >= 0 && reply.len > 0)
		(void)write_all(fd, reply.data, reply.len, &deadline);
	/* r < 0: a temporary failure is a close without a reply. */
	secure_wipe(reply.data, reply.size);
	str_free(&reply);
	auth_record_free(&rec);
	authproto_request_free(&req);
	alarm(0);
}

static void userdb_refresh(void);

/* ---------------------------------------------------------- workers */

static void on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static void worker_main(int listen_fd)
{
	struct sigaction sa;
	sigset_t mask;

	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);

	modules_init();
	while (!worker_stop) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			log_error("accept: %s", strerror(errno));
			sleep(1);
			continue;
		}
		serve(fd);
		close(fd);
	}
	modules_deinit();
	_exit(0);
}

struct pool {
	pid_t pids[MAX_WORKERS];
	struct timespec started[MAX_WORKERS];
	struct timespec restart_at[MAX_WORKERS];
	size_t n;
};

static void pool_start_one(struct pool *p, size_t i, int listen_fd)
{
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		worker_main(listen_fd);
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		clock_gettime(CLOCK_MONOTONIC, &p->restart_at[i]);
		p->restart_at[i].tv_sec += 1;
		p->pids[i] = 0;
		return;
	}
	p->pids[i] = pid;
	clock_gettime(CLOCK_MONOTONIC, &p->started[i]);
}

static void pool_reap(struct pool *p)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < p->n; i++) {
			if (p->pids[i] != pid)
				continue;
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			p->pids[i] = 0;
			if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
				log_error("worker %ld: a request overran its "
					  "time budget: worker replaced",
					(long)pid);
			else if (WIFSIGNALED(status))
				log_error("worker %ld killed by signal %d: "
					  "replaced",
					(long)pid, WTERMSIG(status));
			else if (WEXITSTATUS(status) != 0)
				log_error("worker %ld exited with status %d: "
					  "replaced",
					(long)pid, WEXITSTATUS(status));
			p->restart_at[i] = now;
			/* A worker that dies young restarts after a pause. */
			if (now.tv_sec - p->started[i].tv_sec < 1)
				p->restart_at[i].tv_sec += 1;
		}
	}
}

static void pool_stop(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->pids[i] > 0)
			(void)kill(p->pids[i], SIGTERM);
	}
	for (int tries = 0; tries < 50; tries++) {
		bool any = false;
		pool_reap(p);
		for (size_t i = 0; i < p->n; i++)
			any = any || p->pids[i] > 0;
		if (!any)
			return;
		usleep(100000);
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->pids[i] > 0)
			(void)kill(p->pids[i], SIGKILL);
	}
	pool_reap(p);
}

/* The supervised process: keeps `daemons` workers alive.  Returns the
 * exit status. */
static int pool_main(int listen_fd)
{
	static struct pool pool;
	sigset_t mask;
	siginfo_t si;

	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	pool.n = (size_t)set.daemons;
	for (size_t i = 0; i < pool.n; i++)
		pool_start_one(&pool, i, listen_fd);
	log_info("started %zu workers (modules: %s)", pool.n,
		set.authmodulelist);
	for (;;) {
		struct timespec now, wait = {1, 0};
		int sig = sigtimedwait(&mask, &si, &wait);
		if (sig == SIGTERM || sig == SIGINT) {
			pool_stop(&pool);
			return 0;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading the settings and "
				 "restarting the workers");
			load_settings(false);
			userdb_refresh();
			pool_stop(&pool);
			for (size_t i = 0; i < pool.n; i++)
				pool_start_one(&pool, i, listen_fd);
			continue;
		}
		pool_reap(&pool);
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (size_t i = 0; i < pool.n; i++) {
			if (pool.pids[i] == 0 &&
				(now.tv_sec > pool.restart_at[i].tv_sec ||
					(now.tv_sec == pool.restart_at[i]
								.tv_sec &&
						now.tv_nsec >=
							pool.restart_at[i]
								.tv_nsec)))
				pool_start_one(&pool, i, listen_fd);
		}
	}
}

/* ---------------------------------------------------------- main */

/* The newest mtime of path (a file, or the files of a folder); 0 when it
 * does not exist. */
static time_t newest_mtime(const char *path)
{
	struct stat st;
	time_t newest;

	if (stat(path, &st) < 0)
		return 0;
	newest = st.st_mtime;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		while (d != NULL && (de = readdir(d)) != NULL) {
			char *p = xasprintf("%s/%s", path, de->d_name);
			if (stat(p, &st) == 0 && st.st_mtime > newest)
				newest = st.st_mtime;
			free(p);
		}
		if (d != NULL)
			closedir(d);
	}
	return newest;
}

/* With authuserdb in the list: compiles etc/userdb when userdb.dat is
 * missing or older than it (an instance fresh from courier-setup, or an
 * edit without makeuserdb), so that what the admin wrote is what is
 * served.  A broken userdb is logged and the old userdb.dat kept. */
static void userdb_refresh(void)
{
	if (strstr(set.authmodulelist, "userdb") == NULL)
		return;
	char *src = instance_etc_path("userdb");
	char *dat = instance_etc_path("userdb.dat");
	char *shadow = instance_etc_path("userdbshadow.dat");
	time_t text = newest_mtime(src), compiled = newest_mtime(dat);
	if (text != 0 && text >= compiled) {
		struct config_errors *errs = config_errors_new();
		struct userdb_compile_stats stats;
		if (userdb_compile(src, dat, shadow, &stats, errs) == 0)
			log_info("%s: compiled %zu accounts into %s "
				 "(makeuserdb)",
				src, stats.accounts, dat);
		else
			log_error("%s: not compiled (run makeuserdb to see "
				  "why)",
				src);
		config_errors_log(errs);
		config_errors_destroy(&errs);
	}
	free(src);
	free(dat);
	free(shadow);
}

static char *socket_dir(void)
{
	if (set.authdaemonvar != NULL && set.authdaemonvar[0] != '\0')
		return xstrdup(set.authdaemonvar);
	return instance_var_path("run/authdaemon");
}

/* Who may connect: the socket is made 0660 and given the group of its
 * folder, so root and that group, and no one else, may ask authdaemond
 * (courier-setup, run as root, makes the folder root:GROUP 0750 with the
 * queue user's group, for esmtpd; imapd and pop3d ask as root).  The
 * folder is root's, so nobody else can have swapped the socket for a
 * symbolic link; the change does not follow one anyway. */
static int give_socket_to_folder_group(const char *dir, const char *path,
				       const char **error_r)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		*error_r = "cannot stat the socket folder";
		return -1;
	}
	if ((st.st_mode & S_IWOTH) != 0)
		log_warning("authdaemond: %s is writable by everyone: "
			    "anyone could put a socket of their own in "
			    "authdaemond's place (chmod 0750 it)", dir);
	/* not root: the socket is ours and our group's, as the folder */
	if (st.st_gid == getegid() || geteuid() != 0)
		return 0;
	if (fchownat(AT_FDCWD, path, (uid_t)-1, st.st_gid,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		*error_r = "cannot give the socket the folder's group";
		return -1;
	}
	return 0;
}

static int open_socket(const char **error_r)
{
	char *dir = socket_dir();
	char *path = xasprintf("%s/socket", dir);
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) < 0) {
		*error_r = "socket path too long";
		free(dir);
		free(path);
		return -1;
	}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		*error_r = "cannot create the socket folder";
		free(dir);
		free(path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	(void)unlink(path);
	mode_t old = umask(0117);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
		listen(fd, 128) < 0) {
		umask(old);
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		free(dir);
		free(path);
		return -1;
	}
	umask(old);
	if (give_socket_to_folder_group(dir, path, error_r) < 0) {
		close(fd);
		(void)unlink(path);
		free(dir);
		free(path);
		return -1;
	}
	free(dir);
	free(path);
	return fd;
}

static char *pid_path(void)
{
	return instance_var_path("run/authdaemond.pid");
}

static int stop_daemon(void)
{
	char *path = pid_path();
	pid_t pid = daemon_pidfile_read(path);
	free(path);
	if (pid <= 0) {
		fprintf(stderr, "authdaemond: not running\n");
		return 0;
	}
	if (kill(pid, SIGTERM) < 0) {
		fprintf(stderr, "authdaemond: kill %ld: %s\n", (long)pid,
			strerror(errno));
		return 1;
	}
	for (int i = 0; i < 150; i++) {
		if (kill(pid, 0) < 0)
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "authdaemond: pid %ld did not stop\n", (long)pid);
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: authdaemond [-f | start | stop | restart]\n"
			"  (no argument or -f: run in the foreground)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct daemon_pidfile *pf = NULL;
	const char *error;
	bool detach = false;
	int fd, r;

	log_init("authdaemond", LOG_TARGET_STDERR);
	if (argc > 2)
		usage();
	if (argc == 2) {
		if (strcmp(argv[1], "stop") == 0)
			return stop_daemon();
		if (strcmp(argv[1], "restart") == 0) {
			if (stop_daemon() != 0)
				return 1;
			detach = true;
		} else if (strcmp(argv[1], "start") == 0) {
			detach = true;
		} else if (strcmp(argv[1], "-f") != 0) {
			usage();
		}
	}
	load_settings(true);
	check_module_list();
	userdb_refresh();

	char *pidfile = pid_path();
	char *rundir = instance_var_path("run");
	(void)mkdir(rundir, 0755);
	free(rundir);
	r = daemon_pidfile_create(pidfile, &pf, &error);
	if (r <= 0)
		log_fatal("%s", error);
	fd = open_socket(&error);
	if (fd < 0)
		log_fatal("cannot listen on the authdaemon socket: %s", error);
	throttle = throttle_create(THROTTLE_SLOTS, &error);
	if (throttle == NULL)
		log_fatal("%s", error);
	if (detach) {
		if (daemon_detach(&error) < 0)
			log_fatal("%s", error);
		if (daemon_stdio_null(false, &error) < 0)
			log_fatal("%s", error);
		log_init("authdaemond", LOG_TARGET_SYSLOG);
	}
	if (daemon_pidfile_update(pf, &error) < 0)
		log_fatal("%s", error);
	signal(SIGPIPE, SIG_IGN);

	r = daemon_supervise(NULL, &error);
	if (r < 0)
		log_fatal("%s", error);
	if (r == 0) {
		int status = pool_main(fd);
		_exit(status);
	}
	/* The supervisor: supervision ended (SIGTERM). */
	char *dir = socket_dir();
	char *sock = xasprintf("%s/socket", dir);
	(void)unlink(sock);
	free(sock);
	free(dir);
	daemon_pidfile_remove(&pf);
	free(pidfile);
	throttle_destroy(&throttle);
	authdaemon_settings_free(&set);
	config_env_free(&rc_env);
	log_info("stopped");
	return 0;
}
