/* courieresmtp.c: the ESMTP delivery module, run by courierd.
 *
 * Reads deliveries from standard input (mta/courierd.c describes the
 * protocol: "delid TAB qid TAB domain TAB n TAB address ..."), forks a
 * process per delivery and reports "delid" on standard output when it is
 * over.  At most ESMTP_MAX_SESSIONS deliveries to one domain run at once;
 * more wait here.  A delivery process:
 *
 *  1. locks the control file (flock) and reads it again: recipients with a
 *     final status are skipped;
 *  2. picks the route: esmtproutes (smarthost, port, /SECURITY=), else the
 *     domain's MX records, then A/AAAA (esmtp-routes.h);
 *  3. tries each address in turn (esmtp-client.h) until one server is
 *     reached; the server's replies give each recipient its status;
 *  4. appends the status records (fdatasync) before the lock is released.
 *
 * When no server of a domain could be reached, the domain is postponed
 * for esmtpdelay (default 5 minutes): its deliveries are deferred at once
 * without a connection until then.
 *
 * Settings: the control files esmtproutes, esmtpauthclient, esmtphelo,
 * esmtpdelay, esmtptimeout, esmtptimeoutconnect, esmtptimeouthelo,
 * esmtptimeoutdata, esmtptimeoutquit, ipout, ip6out (with their vhost
 * forms), dnsservers; and in the courierd settings file: ESMTP_USE_STARTTLS,
 * ESMTP_TLS_VERIFY_DOMAIN, TLS_VERIFYPEER, TLS_TRUSTCERTS, TLS_CERTFILE,
 * ESMTP_PREFER_IPV6_MX, ESMTP_AUTH_PLAINTEXT and ESMTP_PORT (doc/esmtp-client.md). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config-env.h"
#include "config-file.h"
#include "config-settings.h"
#include "ctlfile.h"
#include "dns.h"
#include "esmtp-client.h"
#include "esmtp-routes.h"
#include "instance.h"
#include "interval.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "module-io.h"
#include "queue.h"
#include "secure.h"
#include "str.h"
#include "tls.h"

#define LINE_MAX_LEN (1024 * 1024)
/* Sessions to one domain at once (Courier: "currently four"). */
#define ESMTP_MAX_SESSIONS 4
/* Exit status of a delivery that reached no server. */
#define EXIT_UNREACHABLE 3

/* ---- the delivery process ---- */

struct job_settings {
	struct config_env *env;
	char *vhost;
};

static const char *env_get(const struct job_settings *js, const char *name,
			   const char *def)
{
	const char *v = config_env_get(js->env, name);

	return v != NULL ? v : def;
}

static bool env_bool(const struct job_settings *js, const char *name,
		     bool def)
{
	const char *v = config_env_get(js->env, name);
	const char *error;
	bool b;

	if (v == NULL || config_parse_bool(v, &b, &error) < 0)
		return def;
	return b;
}

static unsigned int timeout_file(const char *name, const char *vhost,
				 unsigned int def)
{
	char *path = config_path_for_address(name, vhost);
	unsigned int secs;

	(void)config_read_interval(path, def, &secs, NULL);
	free(path);
	return secs > 0 ? secs : def;
}

/* ipout/ip6out (or their vhost forms) into ss; port 0. */
static void source_address(const char *name, const char *vhost, int family,
			   struct sockaddr_storage *ss)
{
	char *path = config_path_for_address(name, vhost);
	char *base = config_path(name);
	char *v = config_read_first_line(path, NULL);

	memset(ss, 0, sizeof(ss[0]));
	ss->ss_family = AF_UNSPEC;
	if (v == NULL && vhost != NULL && strcmp(path, base) != 0)
		v = xstrdup(vhost);	/* an empty ipout.ADDRESS: ADDRESS */
	free(base);
	if (v != NULL) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		str_trim(v);
		if (family == AF_INET &&
		    inet_pton(AF_INET, v, &s4->sin_addr) == 1)
			s4->sin_family = AF_INET;
		else if (family == AF_INET6 &&
			 inet_pton(AF_INET6, v, &s6->sin6_addr) == 1)
			s6->sin6_family = AF_INET6;
		else if (*v != '\0')
			log_error("%s: not an IPv%d address: %s", path,
				  family == AF_INET ? 4 : 6, v);
	}
	free(v);
	free(path);
}

static int read_data(const char *qid, char **data_r, size_t *size_r,
		     const char **error_r)
{
	char *path = queue_path(qid, 'D');
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t got = 0;
	char *data;

	free(path);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = n < 0 ? strerror(errno) : "short read";
			free(data);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	*data_r = data;
	*size_r = got;
	return 0;
}

static struct tls_ctx *client_tls(const struct job_settings *js, bool *verify)
{
	struct tls_settings ts;
	struct tls_ctx *ctx;
	const char *error;

	memset(&ts, 0, sizeof(ts));
	*verify = env_bool(js, "ESMTP_TLS_VERIFY_DOMAIN", false) &&
		  strcasecmp(env_get(js, "TLS_VERIFYPEER", "NONE"), "PEER")
		  == 0;
	ts.ca_file = env_get(js, "TLS_TRUSTCERTS", NULL);
	if (ts.ca_file != NULL && *ts.ca_file == '\0')
		ts.ca_file = NULL;
	ts.cert_file = env_get(js, "ESMTP_TLS_CERTFILE", NULL);
	if (ts.cert_file != NULL && *ts.cert_file == '\0')
		ts.cert_file = NULL;
	ts.require_verify = *verify;
	ctx = tls_ctx_client_create(&ts, &error);
	if (ctx == NULL)
		log_error("TLS client context: %s (sending without TLS)",
			  error);
	return ctx;
}

struct job {
	const char *qid, *domain;
	struct ctl_file *ctl;
	size_t *idx;		/* control file numbers of the recipients */
	struct esmtp_client_rcpt *rcpts;
	size_t count;
};

static void result_all(struct job *j, enum ctl_status st, const char *diag)
{
	for (size_t i = 0; i < j->count; i++) {
		free(j->rcpts[i].diag);
		j->rcpts[i].diag = xstrdup(diag);
		j->rcpts[i].status = st;
	}
}

/* Delivers j; returns the exit status. */
static int deliver(struct job *j, bool postpone)
{
	struct job_settings js;
	struct esmtp_client_settings set;
	struct esmtp_resolve_settings rs;
	struct esmtp_client_message msg;
	struct esmtp_targets targets;
	struct esmtp_routes *routes;
	const struct esmtp_route *route;
	struct dns_resolver *dns = NULL;
	const char *target_name, *error, *me_list[3];
	char *helo_path, *me, *data = NULL, *user = NULL, *pass = NULL;
	char *last_error = NULL, *tlsdir;
	unsigned long port;
	size_t size;
	int status = 0;
	bool reached = false;

	if (postpone) {
		result_all(j, CTL_STATUS_DEFERRED, "421 4.4.1 delivery "
			   "postponed: no mail server of the domain could be "
			   "reached lately (esmtpdelay)");
		return 0;
	}
	if (read_data(j->qid, &data, &size, &error) < 0) {
		char *d = xasprintf("451 4.3.0 cannot read the message: %s",
				    error);

		result_all(j, CTL_STATUS_DEFERRED, d);
		free(d);
		return 0;
	}
	memset(&js, 0, sizeof(js));
	(void)config_env_read("courierd", NULL, &js.env, NULL);
	js.vhost = config_vhost_select(NULL, j->ctl->auth_user);

	memset(&set, 0, sizeof(set));
	helo_path = config_path_for_address("esmtphelo", js.vhost);
	me = config_me(js.vhost);
	{
		char *h = config_read_first_line(helo_path, NULL);

		set.helo = h != NULL ? h : xstrdup(me);
	}
	set.timeout_connect = timeout_file("esmtptimeoutconnect", js.vhost, 60);
	set.timeout_helo = timeout_file("esmtptimeouthelo", js.vhost, 300);
	set.timeout_cmd = timeout_file("esmtptimeout", js.vhost, 600);
	set.timeout_data = timeout_file("esmtptimeoutdata", js.vhost, 600);
	set.timeout_quit = timeout_file("esmtptimeoutquit", js.vhost, 10);
	source_address("ipout", js.vhost, AF_INET, &set.bind4);
	source_address("ip6out", js.vhost, AF_INET6, &set.bind6);
	set.use_starttls = env_bool(&js, "ESMTP_USE_STARTTLS", true);
	set.plaintext_auth = env_bool(&js, "ESMTP_AUTH_PLAINTEXT", false);
	set.tls_ctx = client_tls(&js, &set.verify);
	tlsdir = instance_var_path("esmtp");
	set.tls_memory_dir = tlsdir;
	dns = dns_resolver_create_config();
	set.dns = dns;

	routes = esmtp_routes_load();
	route = esmtp_routes_find(routes, j->domain);
	target_name = route != NULL && route->relay[0] != '\0' ?
		route->relay : j->domain;
	if (route != NULL)
		set.security = route->security;
	port = strtoul(env_get(&js, "ESMTP_PORT", "25"), NULL, 10);
	if (port == 0 || port > 65535)
		port = 25;
	if (route != NULL && route->port != 0)
		port = route->port;
	else if ((set.security & ESMTP_SECURITY_SMTPS) != 0)
		port = 465;
	if (route != NULL && route->relay[0] != '\0' &&
	    esmtp_authclient_find(route->relay, NULL, &user, &pass) > 0) {
		set.auth_user = user;
		set.auth_pass = pass;
	}

	memset(&rs, 0, sizeof(rs));
	rs.port = (unsigned int)port;
	rs.ipv4 = rs.ipv6 = true;
	rs.prefer_ipv6 = env_bool(&js, "ESMTP_PREFER_IPV6_MX", false);
	me_list[0] = me;
	me_list[1] = NULL;
	rs.me = route != NULL && route->relay[0] != '\0' ? NULL : me_list;

	msg.sender = j->ctl->sender;
	msg.envid = j->ctl->envid;
	msg.ret = j->ctl->ret;
	msg.verp = j->ctl->verp && *j->ctl->sender != '\0';
	msg.body_8bit = j->ctl->body_8bit;
	msg.data = data;
	msg.size = size;
	msg.rcpts = j->rcpts;
	msg.rcpt_count = j->count;

	switch (esmtp_resolve(dns, target_name, &rs, &targets, &error)) {
	case ESMTP_RESOLVE_OK:
		break;
	case ESMTP_RESOLVE_TEMPFAIL: {
		char *d = xasprintf("451 4.4.3 %s: %s", target_name, error);

		result_all(j, CTL_STATUS_DEFERRED, d);
		free(d);
		goto out;
	}
	case ESMTP_RESOLVE_PERMFAIL: {
		char *d = xasprintf("550 5.1.2 %s: %s", target_name, error);

		result_all(j, CTL_STATUS_FAILED, d);
		free(d);
		goto out;
	}
	}
	for (size_t i = 0; i < targets.count && !reached; i++) {
		char *err = NULL;
		int r = esmtp_client_send(&set, &targets.t[i], &msg, &err);

		if (r > 0) {
			reached = true;
			log_info("%s: delivered to %s [%s]", j->qid,
				 targets.t[i].host, targets.t[i].addr_text);
		} else {
			log_info("%s: %s", j->qid, err != NULL ? err : "?");
			free(last_error);
			last_error = err;
		}
	}
	if (!reached) {
		char *d = xasprintf("421 4.4.1 %s", last_error != NULL ?
				    last_error : "no server reached");

		result_all(j, CTL_STATUS_DEFERRED, d);
		free(d);
		status = EXIT_UNREACHABLE;
	}
	esmtp_targets_free(&targets);
out:
	for (size_t i = 0; i < j->count; i++)
		if (j->rcpts[i].status == CTL_STATUS_NONE) {
			j->rcpts[i].status = CTL_STATUS_DEFERRED;
			free(j->rcpts[i].diag);
			j->rcpts[i].diag = xstrdup("451 4.4.0 not delivered");
		}
	free(last_error);
	if (pass != NULL)
		secure_wipe(pass, strlen(pass));
	free(user);
	free(pass);
	esmtp_routes_free(&routes);
	dns_resolver_destroy(&dns);
	tls_ctx_destroy(&set.tls_ctx);
	free(tlsdir);
	free((char *)set.helo);
	free(helo_path);
	free(me);
	free(data);
	free(js.vhost);
	config_env_free(&js.env);
	return status;
}

/* One job: "delid qid domain n addr [n addr...]" split at tabs. */
static void run_job(char **f, size_t count, bool postpone)
{
	char *ctlpath = queue_path(f[1], 'C');
	struct job j;
	struct str rec;
	const char *error;
	int lockfd, status;

	if (ctlpath == NULL)
		_exit(1);
	lockfd = open(ctlpath, O_RDONLY | O_CLOEXEC);
	free(ctlpath);
	if (lockfd < 0)
		_exit(0);	/* gone: nothing to do */
	while (flock(lockfd, LOCK_EX) < 0 && errno == EINTR)
		;
	memset(&j, 0, sizeof(j));
	j.qid = f[1];
	j.domain = f[2];
	if (queue_ctl_read(j.qid, &j.ctl, &error) <= 0)
		_exit(0);
	j.idx = xcalloc(count, sizeof(*j.idx));
	j.rcpts = xcalloc(count, sizeof(*j.rcpts));
	for (size_t i = 3; i + 1 < count; i += 2) {
		char *end;
		unsigned long n = strtoul(f[i], &end, 10);
		struct ctl_rcpt *r;

		if (*end != '\0' || n >= j.ctl->rcpt_count ||
		    strcmp(j.ctl->rcpts[n].address, f[i + 1]) != 0) {
			log_error("%s: delivery of unknown recipient %s",
				  j.qid, f[i]);
			continue;
		}
		r = &j.ctl->rcpts[n];
		if (r->status == CTL_STATUS_DELIVERED ||
		    r->status == CTL_STATUS_FAILED)
			continue;	/* done by an earlier run */
		j.idx[j.count] = n;
		j.rcpts[j.count].address = r->address;
		j.rcpts[j.count].orcpt = r->orcpt;
		j.rcpts[j.count].notify = r->notify;
		j.count++;
	}
	if (j.count == 0)
		_exit(0);
	status = deliver(&j, postpone);
	str_init(&rec, 256);
	for (size_t i = 0; i < j.count; i++) {
		struct esmtp_client_rcpt *r = &j.rcpts[i];

		log_info("%s: <%s> %s: %s", j.qid, r->address,
			 r->status == CTL_STATUS_DELIVERED ? "delivered" :
			 r->status == CTL_STATUS_FAILED ? "failed" :
			 "deferred", r->diag);
		ctl_write_status(&rec, j.idx[i], r->status,
				 r->status == CTL_STATUS_DELIVERED &&
				 r->relayed ? 'r' : 0, time(NULL), r->diag);
	}
	if (queue_ctl_append(j.qid, str_c(&rec), str_len(&rec), &error) < 0) {
		log_error("%s: %s", j.qid, error);
		_exit(1);
	}
	_exit(status);
}

/* ---- the module process ---- */

struct child {
	pid_t pid;
	char *delid;
	char *domain;
	struct child *next;
};

struct pending {
	char *line;
	char *domain;
	struct pending *next;
};

struct domain_state {
	char *domain;
	unsigned int running;
	time_t delay_until;
	struct domain_state *next;
};

static struct {
	struct ioloop *loop;
	struct module_io *io;
	struct child *children;
	struct pending *pending, **pending_tail;
	struct domain_state *domains;
	bool eof;
} m;

static struct domain_state *domain_get(const char *domain)
{
	struct domain_state *d;

	for (d = m.domains; d != NULL; d = d->next)
		if (strcasecmp(d->domain, domain) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->domain = xstrdup(domain);
	d->next = m.domains;
	m.domains = d;
	return d;
}

static void domain_gc(void)
{
	time_t now = time(NULL);

	for (struct domain_state **p = &m.domains; *p != NULL;) {
		struct domain_state *d = *p;

		if (d->running == 0 && d->delay_until <= now) {
			*p = d->next;
			free(d->domain);
			free(d);
		} else {
			p = &d->next;
		}
	}
}

static void maybe_exit(void)
{
	if (m.eof && m.children == NULL && m.pending == NULL)
		ioloop_stop(m.loop);
}

static unsigned int esmtpdelay(void)
{
	unsigned int secs;

	(void)config_read_interval("esmtpdelay", 300, &secs, NULL);
	return secs;
}

/* Starts the job of line, or queues it when its domain is busy.  Returns
 * false when it was queued. */
static bool start_job(const char *line, bool may_queue)
{
	char **f = str_split(line, "\t");
	size_t count = 0;
	struct domain_state *d;
	struct child *c;
	bool postpone;
	pid_t pid;

	while (f[count] != NULL)
		count++;
	if (count < 5 || (count - 3) % 2 != 0 ||
	    !queue_id_valid(f[1], NULL)) {
		log_error("malformed delivery request");
		if (count > 0)
			module_io_report(f[0]);
		str_split_free(&f);
		return true;
	}
	d = domain_get(f[2]);
	postpone = d->delay_until > time(NULL);
	if (!postpone && d->running >= ESMTP_MAX_SESSIONS && may_queue) {
		struct pending *p = xcalloc(1, sizeof(*p));

		p->line = xstrdup(line);
		p->domain = xstrdup(f[2]);
		*m.pending_tail = p;
		m.pending_tail = &p->next;
		str_split_free(&f);
		return false;
	}
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		module_io_report(f[0]);
		str_split_free(&f);
		return true;
	}
	if (pid == 0) {
		ioloop_child_prepare_exec();
		run_job(f, count, postpone);
	}
	d->running++;
	c = xcalloc(1, sizeof(*c));
	c->pid = pid;
	c->delid = xstrdup(f[0]);
	c->domain = xstrdup(f[2]);
	c->next = m.children;
	m.children = c;
	str_split_free(&f);
	return true;
}

/* Starts queued jobs whose domain has room. */
static void start_pending(void)
{
	for (struct pending **p = &m.pending; *p != NULL;) {
		struct pending *q = *p;
		struct domain_state *d = domain_get(q->domain);

		if (d->running >= ESMTP_MAX_SESSIONS &&
		    d->delay_until <= time(NULL)) {
			p = &q->next;
			continue;
		}
		*p = q->next;
		(void)start_job(q->line, false);
		free(q->line);
		free(q->domain);
		free(q);
	}
	m.pending_tail = &m.pending;
	while (*m.pending_tail != NULL)
		m.pending_tail = &(*m.pending_tail)->next;
}

static void job_cb(char *line, void *context)
{
	(void)context;
	(void)start_job(line, true);
}

static void eof_cb(void *context)
{
	(void)context;
	m.eof = true;
	maybe_exit();
}

static void sigchld_cb(void *context)
{
	pid_t pid;
	int status;

	(void)context;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (struct child **p = &m.children; *p != NULL;
		     p = &(*p)->next) {
			struct child *c = *p;
			struct domain_state *d;

			if (c->pid != pid)
				continue;
			d = domain_get(c->domain);
			if (d->running > 0)
				d->running--;
			if (WIFEXITED(status) &&
			    WEXITSTATUS(status) == EXIT_UNREACHABLE) {
				unsigned int delay = esmtpdelay();

				if (delay > 0)
					d->delay_until = time(NULL) + delay;
			} else if (WIFEXITED(status) &&
				   WEXITSTATUS(status) == 0) {
				d->delay_until = 0;
			} else {
				log_error("delivery %s ended with status %d",
					  c->delid, status);
			}
			module_io_report(c->delid);
			*p = c->next;
			free(c->delid);
			free(c->domain);
			free(c);
			break;
		}
	}
	start_pending();
	domain_gc();
	maybe_exit();
}

static void sigterm_cb(void *context)
{
	(void)context;
	/* finish what runs, take nothing new */
	module_io_stop(m.io);
}

int main(void)
{
	log_init("courieresmtp", LOG_TARGET_STDERR);
	m.loop = ioloop_create();
	m.pending_tail = &m.pending;
	m.io = module_io_create(m.loop, LINE_MAX_LEN, job_cb, eof_cb, NULL);
	ioloop_signal_add(m.loop, SIGCHLD, sigchld_cb, NULL);
	ioloop_signal_add(m.loop, SIGTERM, sigterm_cb, NULL);
	ioloop_run(m.loop);
	module_io_destroy(&m.io);
	ioloop_destroy(&m.loop);
	return 0;
}
