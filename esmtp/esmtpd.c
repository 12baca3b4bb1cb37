/* esmtpd.c: the ESMTP server (sbin/esmtpd): one event-driven process with
 * three listeners from the instance's settings: SMTP (etc/esmtpd),
 * SMTPS with implicit TLS (etc/esmtpd-ssl) and submission, where AUTH is
 * required before MAIL (etc/esmtpd-msa).
 *
 * It binds its ports and loads its certificate, then gives up root for
 * the owner of the queue (var/queue: the queue user of courier-setup),
 * which it must write to; it stays in the foreground, logs to stderr,
 * reloads the control files on SIGHUP and exits on SIGTERM. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config-errors.h"
#include "config-file.h"
#include "daemon.h"
#include "dns.h"
#include "esmtp-bofh.h"
#include "esmtp-relay.h"
#include "esmtp-session.h"
#include "esmtp-settings.h"
#include "instance.h"
#include "ioloop.h"
#include "listen.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "route.h"
#include "str.h"
#include "submit.h"
#include "tls.h"
#include "worker-pool.h"

enum listener_kind { L_SMTP, L_SMTPS, L_MSA, L_COUNT };

struct listener {
	const char *file;
	const char *label;
	struct esmtp_settings set;
	struct esmtp_server server;
	struct listen_service *svc;
	/* MAXPERC: connections at once per C block */
	struct esmtp_cblocks *cblocks;
	bool on;
};

struct session_ref {
	struct esmtp_session *session;
	struct listen_conn *lconn;
	struct session_ref *prev, *next;
	struct listener *l;
	bool in_cblock;		/* counted in l->cblocks */
	char remote_ip[LISTEN_IP_STRLEN];
};

static struct listener listeners[L_COUNT] = {
	{ .file = "esmtpd", .label = "SMTP" },
	{ .file = "esmtpd-ssl", .label = "SMTPS" },
	{ .file = "esmtpd-msa", .label = "submission" },
};
static struct ioloop *loop;
static struct tls_ctx *tls_ctx;
static struct session_ref *sessions;
static struct esmtp_domains *domains;
static struct esmtp_access *access_table;
static struct esmtp_bofh *bofh;
static struct dns_resolver *dns;
/* bofh rules replaced by a reload while worker jobs (the DNS checks of
 * MAIL) may still read them; freed once no job is pending */
static struct esmtp_bofh **retired_bofh;
static size_t retired_bofh_count;
static struct worker_pool *pool;
static struct route_config *routes;
static char *me, *greeting;
static uint64_t size_limit;
static bool stdio_mode;	/* esmtpd --stdio */
static char *filter_dir, *filter_sources, *filter_tmpdir;
/* mailfilterexec (esmtp-localfilter.h), or NULL */
static char *lmf_helper;

static void session_gone(void *context)
{
	struct session_ref *r = context;

	listen_conn_closed(&r->lconn);
	if (r->in_cblock)
		esmtp_cblocks_leave(r->l->cblocks, r->remote_ip);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		sessions = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	free(r);
}

static void accept_conn(struct listen_client *lc, void *context)
{
	struct listener *l = context;
	struct session_ref *r;

	if (l->set.max_per_c > 0 &&
	    !esmtp_cblocks_enter(l->cblocks, lc->remote_ip,
				 (unsigned int)l->set.max_per_c)) {
		/* as couriertcpd's -maxperc: the block has enough */
		static const char m[] = "421 4.7.0 Too many connections "
					"from your network\r\n";
		struct listen_conn *c = lc->conn;

		if (l != &listeners[L_SMTPS]) {
			ssize_t n = write(lc->fd, m, sizeof(m) - 1);

			(void)n;
		}
		close(lc->fd);
		listen_conn_closed(&c);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->l = l;
	r->in_cblock = l->set.max_per_c > 0;
	str_copy(r->remote_ip, lc->remote_ip, sizeof(r->remote_ip));
	r->lconn = lc->conn;
	r->next = sessions;
	if (sessions != NULL)
		sessions->prev = r;
	sessions = r;
	r->session = esmtp_session_create(loop, lc->fd, &l->server,
					  lc->remote_ip, lc->local_ip,
					  session_gone, r);
}

static void refuse_conn(struct listen_client *lc, enum listen_refusal why,
			void *context)
{
	struct listener *l = context;
	static const char per_ip[] =
		"421 4.7.0 Too many connections from your address\r\n";
	static const char total[] =
		"421 4.3.2 Too many connections, try again later\r\n";

	if (l != &listeners[L_SMTPS]) {
		const char *m = why == LISTEN_REFUSED_PER_IP ? per_ip : total;
		ssize_t n = write(lc->fd, m, strlen(m));

		(void)n;
	}
	close(lc->fd);
}

static void free_retired_bofh(void)
{
	for (size_t i = 0; i < retired_bofh_count; i++)
		esmtp_bofh_free(&retired_bofh[i]);
	x_free(retired_bofh);
	retired_bofh_count = 0;
}

/* The control files every session reads; (re)loaded at start and on
 * SIGHUP. */
static void load_control_files(void)
{
	char *limit;

	esmtp_domains_free(&domains);
	esmtp_access_free(&access_table);
	if (pool != NULL && worker_pool_pending(pool) == 0)
		free_retired_bofh();
	if (pool != NULL && worker_pool_pending(pool) > 0 && bofh != NULL) {
		retired_bofh = xreallocarray(retired_bofh,
					     retired_bofh_count + 1,
					     sizeof(*retired_bofh));
		retired_bofh[retired_bofh_count++] = bofh;
		bofh = NULL;
	}
	esmtp_bofh_free(&bofh);
	dns_resolver_destroy(&dns);
	route_config_free(&routes);
	free(me);
	free(greeting);
	domains = esmtp_domains_load();
	bofh = esmtp_bofh_load();
	/* BOFHCHECKDNS in etc/esmtpd turns the sender domain check on (as
	 * `opt BOFHCHECKDNS=1` in bofh does) */
	if (bofh != NULL && listeners[L_SMTP].set.check_dns)
		bofh->check_dns = true;
	dns = dns_resolver_create_config();
	if (!stdio_mode)
		access_table =
			esmtp_access_load(listeners[L_SMTP].set.access_file);
	routes = route_config_load();
	me = config_me(NULL);
	greeting = NULL;
	{
		struct config_lines *lines = NULL;

		if (config_lines_read("esmtpgreeting", NULL, &lines, NULL) == 1) {
			struct str g;

			str_init(&g, 128);
			for (size_t i = 0; i < config_lines_count(lines); i++) {
				if (i > 0)
					str_append_c(&g, '\n');
				str_append(&g, config_lines_get(lines, i)->text);
			}
			greeting = str_steal(&g);
			config_lines_free(&lines);
		}
	}
	limit = config_read_first_line("sizelimit", NULL);
	size_limit = SUBMIT_DEFAULT_SIZELIMIT;
	if (limit != NULL) {
		char *end;
		unsigned long long v = strtoull(limit, &end, 10);

		if (end != limit && *end == '\0')
			size_limit = v;	/* 0 = no limit, as Courier */
		else
			log_error("esmtpd: sizelimit: not a number: %s", limit);
		free(limit);
	}
	submit_config_reset();
	free(filter_sources);
	filter_sources = config_read_first_line("enablefiltering", NULL);
	if (filter_dir == NULL) {
		filter_dir = instance_var_path("filters");
		filter_tmpdir = instance_var_path("filtertmp");
	}
	if (filter_sources != NULL && mkdir(filter_tmpdir, 0750) < 0 &&
	    errno != EEXIST)
		log_error("esmtpd: %s: %s", filter_tmpdir, strerror(errno));
	for (int i = 0; i < L_COUNT; i++) {
		struct esmtp_server *srv = &listeners[i].server;

		srv->domains = domains;
		srv->access = access_table;
		srv->bofh = bofh;
		srv->dns = dns;
		srv->filter_dir = filter_sources != NULL ? filter_dir : NULL;
		srv->filter_sources = filter_sources;
		srv->filter_tmpdir = filter_tmpdir;
		srv->lmf_helper = lmf_helper;
		srv->me = me;
		srv->greeting = greeting;
		srv->size_limit = size_limit;
		srv->rcpt_lookup_context = routes;
	}
}

static enum tls_version parse_tls_protocol(const char *p)
{
	if (p == NULL)
		return TLS_VERSION_DEFAULT;
	if (strstr(p, "1.3") != NULL)
		return TLS_VERSION_1_3;
	if (strstr(p, "1.2") != NULL)
		return TLS_VERSION_1_2;
	if (strstr(p, "1.1") != NULL)
		return TLS_VERSION_1_1;
	if (strstr(p, "1") != NULL)
		return TLS_VERSION_1_0;
	return TLS_VERSION_DEFAULT;
}

static char *listen_text(const char *address, long long port)
{
	if (strcmp(address, "0") == 0 || *address == '\0')
		return xasprintf("%lld", port);
	return xasprintf(strchr(address, ':') != NULL ? "[%s]:%lld" :
							 "%s:%lld",
			 address, port);
}

static void on_sigterm(void *context)
{
	(void)context;
	ioloop_stop(loop);
}

static void on_sighup(void *context)
{
	(void)context;
	log_info("esmtpd: SIGHUP: reloading the control files");
	load_control_files();
}

/* The groups esmtpd keeps after dropping root: the queue's group (it
 * writes into folders a setgid submit made) and the queue user's own
 * primary group (authdaemond's socket folder and the DKIM keys are
 * given to it), plus the groups /etc/group lists the user in.  Fills
 * groups (room for max) and returns how many; 0 if getgrouplist fails. */
static int drop_groups(const struct passwd *pw, gid_t queue_gid,
		       gid_t *groups, int max)
{
	int n = max - 1;
	bool have_primary = false;

	if (getgrouplist(pw->pw_name, queue_gid, groups, &n) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (groups[i] == pw->pw_gid)
			have_primary = true;
	}
	if (!have_primary)
		groups[n++] = pw->pw_gid;
	return n;
}

/* Whether uid with gid and groups can reach what esmtpd uses after
 * dropping root: the queue (write), etc/ (read) and authdaemond's socket
 * folder.  Tried in a child that switches ids, so a folder on the path
 * that is closed to the user (an instance under a 0700 home or tmp
 * folder) shows before the switch instead of failing every message.
 * Returns NULL when it can, else the path it cannot reach (static). */
static const char *drop_reachable(uid_t uid, gid_t gid, const gid_t *groups,
				  int ngroups)
{
	static char bad[512];
	char *paths[4];
	int modes[4] = { W_OK | X_OK, W_OK | X_OK, R_OK | X_OK, X_OK };
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	paths[0] = xstrdup(queue_dir());
	paths[1] = xasprintf("%s/tmp", queue_dir());
	paths[2] = instance_etc_path(".");
	paths[3] = instance_var_path("run/authdaemon");
	bad[0] = '\0';
	if (pipe(fds) < 0)
		log_fatal("esmtpd: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		log_fatal("esmtpd: fork: %s", strerror(errno));
	if (pid == 0) {
		const char *error;

		close(fds[0]);
		if (daemon_drop_privileges_groups(uid, gid, groups,
						  (size_t)ngroups, &error) < 0)
			_exit(2);
		for (int i = 0; i < 4; i++) {
			/* authdaemond's folder matters only if it exists */
			if (i == 3 && access(paths[i], F_OK) < 0 &&
			    errno == ENOENT)
				continue;
			if (access(paths[i], modes[i]) < 0) {
				n = write(fds[1], paths[i], strlen(paths[i]));
				(void)n;
				_exit(1);
			}
		}
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], bad, sizeof(bad) - 1);
	bad[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (int i = 0; i < 4; i++)
		free(paths[i]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (bad[0] == '\0')
		str_copy(bad, "(cannot switch ids)", sizeof(bad));
	return bad;
}

/* Gives up root for good once the ports are bound and the certificate is
 * loaded: esmtpd becomes the owner of the queue (var/queue, the queue
 * user courier-setup made it: "daemon"), with the queue's group and the
 * queue user's groups.  Stays root, with a warning, only when the queue
 * is root's (an instance not made by courier-setup as root) or its owner
 * could not reach the instance. */
static void drop_privileges(void)
{
	struct stat st;
	struct passwd *pw;
	gid_t groups[64];
	int ngroups;
	const char *bad;
	const char *qdir = queue_dir();

	if (geteuid() != 0)
		return;
	if (stat(qdir, &st) < 0)
		log_fatal("esmtpd: %s: %s", qdir, strerror(errno));
	if (st.st_uid == 0) {
		log_warning("esmtpd: %s belongs to root: running as root "
			    "(courier-setup, run as root, gives the queue to "
			    "its --queue-user)", qdir);
		return;
	}
	pw = getpwuid(st.st_uid);
	if (pw == NULL)
		log_fatal("esmtpd: %s belongs to uid %ld, which has no "
			  "passwd entry", qdir, (long)st.st_uid);
	ngroups = drop_groups(pw, st.st_gid, groups,
			      (int)(sizeof(groups) / sizeof(groups[0])));
	if (ngroups == 0)
		log_fatal("esmtpd: %s is in too many groups", pw->pw_name);
	for (int i = 0; i < ngroups; i++) {
		if (groups[i] == 0)
			log_fatal("esmtpd: the queue user %s is in group "
				  "root: refusing to run as it", pw->pw_name);
	}
	bad = drop_reachable(st.st_uid, st.st_gid, groups, ngroups);
	if (bad != NULL) {
		log_warning("esmtpd: %s cannot reach %s (a folder on the "
			    "way is closed to it): running as root",
			    pw->pw_name, bad);
		return;
	}
	if (daemon_drop_privileges_groups(st.st_uid, st.st_gid, groups,
					  (size_t)ngroups, &bad) < 0)
		log_fatal("esmtpd: dropping privileges to %s: %s", pw->pw_name,
			  bad);
	log_info("esmtpd: running as %s (uid %ld, gid %ld)", pw->pw_name,
		 (long)st.st_uid, (long)st.st_gid);
}

/* The helper that runs accounts' SMTP-time filters: beside an install
 * moved to another prefix (sbin/../libexec/courier/), else in
 * LIBEXECDIR/courier.  NULL when it is not there (no local filtering). */
static char *find_lmf_helper(void)
{
	char *p = instance_program(1, "libexec/courier/mailfilterexec");

	if (access(p, F_OK) == 0)
		return p;
	free(p);
	return NULL;
}

static void stdio_session_gone(void *context)
{
	(void)context;
	ioloop_stop(loop);
}

/* esmtpd --stdio: one session on stdin/stdout for a local caller
 * (sendmail -bs).  Settings from etc/esmtpd (limits, timeouts); no TLS,
 * no smtpaccess, no AUTH; runs as the caller. */
static int run_stdio(void)
{
	struct config_errors *errs = config_errors_new();
	struct listener *l = &listeners[L_SMTP];
	struct esmtp_session *session;
	int r = esmtp_settings_load(&l->set, l->file, errs);

	stdio_mode = true;
	config_errors_log(errs);
	config_errors_destroy(&errs);
	if (r < 0)
		log_fatal("esmtpd: the settings have errors");
	/* AUTH makes no sense for a local caller */
	free(l->set.auth_mechs);
	l->set.auth_mechs = xstrdup("");
	free(l->set.auth_mechs_tls);
	l->set.auth_mechs_tls = xstrdup("");
	l->set.auth_required = false;
	l->set.tls_required = false;
	for (int i = 1; i < L_COUNT; i++)
		esmtp_settings_defaults(&listeners[i].set);
	loop = ioloop_create();
	load_control_files();
	l->server.set = &l->set;
	l->server.access = NULL;
	l->server.tls_ctx = NULL;
	l->server.local_caller = true;
	l->server.local_uid = (unsigned long)getuid();
	l->server.rcpt_lookup = esmtp_lookup_authlib;
	l->server.auth_service = "esmtp";
	ioloop_signal_add(loop, SIGTERM, on_sigterm, NULL);
	session = esmtp_session_create_stdio(loop, &l->server,
					     stdio_session_gone, NULL);
	ioloop_run(loop);
	(void)session;
	ioloop_destroy(&loop);
	esmtp_domains_free(&domains);
	esmtp_access_free(&access_table);
	esmtp_bofh_free(&bofh);
	dns_resolver_destroy(&dns);
	route_config_free(&routes);
	free(me);
	free(greeting);
	free(filter_dir);
	free(filter_tmpdir);
	free(filter_sources);
	for (int i = 0; i < L_COUNT; i++)
		esmtp_settings_free(&listeners[i].set);
	return 0;
}

int main(int argc, char **argv)
{
	struct config_errors *errs = config_errors_new();
	const char *error;
	bool bad = false, need_tls = false;
	const char *certfile = NULL;

	log_init("esmtpd", LOG_TARGET_STDERR);
	if (argc == 2 && strcmp(argv[1], "--stdio") == 0)
		return run_stdio();
	if (argc > 1) {
		fprintf(stderr, "usage: esmtpd [--stdio]\n(settings: "
				"etc/esmtpd, etc/esmtpd-ssl, "
				"etc/esmtpd-msa)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lmf_helper = find_lmf_helper();
	if (lmf_helper == NULL)
		log_warning("esmtpd: libexec/courier/mailfilterexec is not "
			    "installed: recipients' filters "
			    "(etc/maildropfilter) are off");
	for (int i = 0; i < L_COUNT; i++) {
		struct listener *l = &listeners[i];
		int r = esmtp_settings_load(&l->set, l->file, errs);

		if (r < 0)
			bad = true;
		l->on = r == 0 && (i == L_SMTPS ? l->set.ssl_start :
						    l->set.start);
		l->server.set = &l->set;
		l->server.implicit_tls = i == L_SMTPS;
		l->server.submission = i == L_MSA;
		l->server.rcpt_lookup = esmtp_lookup_authlib;
		l->server.auth_service = "esmtp";
		if (l->on && l->set.tls_certfile != NULL &&
		    *l->set.tls_certfile != '\0' && certfile == NULL)
			certfile = l->set.tls_certfile;
		if (l->on && (i == L_SMTPS || l->set.tls_required))
			need_tls = true;
	}
	config_errors_log(errs);
	config_errors_destroy(&errs);
	if (bad)
		log_fatal("esmtpd: the settings have errors");
	if (!listeners[0].on && !listeners[1].on && !listeners[2].on)
		log_fatal("esmtpd: no listener is on (ESMTPDSTART, "
			  "ESMTPDSSLSTART)");
	if (certfile != NULL) {
		const struct esmtp_settings *s = &listeners[L_SMTP].set;
		struct tls_settings ts = {
			.cert_file = certfile,
			.dh_file = s->tls_dhparams,
			.min_version = parse_tls_protocol(s->tls_protocol),
			.cipher_list = s->tls_cipher_list,
			.priority = s->tls_priority,
		};

		tls_ctx = tls_ctx_server_create(&ts, &error);
		if (tls_ctx == NULL)
			log_fatal("esmtpd: TLS: %s", error);
	} else if (need_tls) {
		log_fatal("esmtpd: SMTPS and ESMTP_TLS_REQUIRED need "
			  "TLS_CERTFILE");
	} else {
		log_warning("esmtpd: no TLS_CERTFILE: STARTTLS is off");
	}
	if (queue_init_dirs(&error) < 0)
		log_fatal("esmtpd: %s", error);

	loop = ioloop_create();
	for (int i = 0; i < L_COUNT; i++) {
		struct listener *l = &listeners[i];
		struct listen_settings ls = {
			.max_connections = (unsigned int)l->set.max_daemons,
			.max_per_ip = (unsigned int)l->set.max_per_ip,
		};
		char *addr;

		l->server.tls_ctx = tls_ctx;
		if (!l->on)
			continue;
		addr = i == L_SMTPS ?
			listen_text(l->set.ssl_address, l->set.ssl_port) :
			listen_text(l->set.address, l->set.port);
		l->cblocks = esmtp_cblocks_new();
		l->svc = listen_service_create(loop, &ls, accept_conn,
					       refuse_conn, l);
		if (listen_service_add_list(l->svc, addr, &error) < 0)
			log_fatal("esmtpd: %s: %s", l->label, error);
		log_info("esmtpd: %s on %s", l->label, addr);
		free(addr);
	}
	drop_privileges();
	pool = worker_pool_create(loop,
				  (unsigned int)listeners[L_SMTP].set.workers);
	for (int i = 0; i < L_COUNT; i++)
		listeners[i].server.pool = pool;
	load_control_files();
	ioloop_signal_add(loop, SIGTERM, on_sigterm, NULL);
	ioloop_signal_add(loop, SIGINT, on_sigterm, NULL);
	ioloop_signal_add(loop, SIGHUP, on_sighup, NULL);
	ioloop_run(loop);

	for (int i = 0; i < L_COUNT; i++)
		listen_service_destroy(&listeners[i].svc);
	while (sessions != NULL) {
		struct session_ref *r = sessions;

		sessions = r->next;
		esmtp_session_destroy(&r->session);
		listen_conn_closed(&r->lconn);
		free(r);
	}
	/* waits for running jobs: a commit in progress completes */
	worker_pool_destroy(&pool);
	free_retired_bofh();
	ioloop_destroy(&loop);
	tls_ctx_destroy(&tls_ctx);
	esmtp_domains_free(&domains);
	esmtp_access_free(&access_table);
	esmtp_bofh_free(&bofh);
	dns_resolver_destroy(&dns);
	route_config_free(&routes);
	free(me);
	free(greeting);
	free(lmf_helper);
	free(filter_dir);
	free(filter_tmpdir);
	free(filter_sources);
	for (int i = 0; i < L_COUNT; i++) {
		esmtp_cblocks_free(&listeners[i].cblocks);
		esmtp_settings_free(&listeners[i].set);
	}
	log_info("esmtpd: stopped");
	return 0;
}
