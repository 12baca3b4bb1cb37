/* courieresmtp.c: the ESMTP delivery module, run by courierd.
 *
 * Reads deliveries from standard input (mta/courierd.c describes the
 * protocol: "delid TAB qid TAB domain TAB n TAB address ..."), forks a
 * process per delivery and reports "delid" on standard output when it is
 * over.  At most ESMTP_MAX_SESSIONS deliveries to one domain run at once;
 * more wait here.  A delivery process:
 *
 *  1. opens the control file for append, which proves that it can record
 *     the outcome: when it cannot (a file queued 0640 by an older
 *     version), it sends nothing, logs the fix and reports a temporary
 *     failure, since a delivery it could not record would be made again
 *     on every retry; then locks it (flock) and reads it again:
 *     recipients with a final status are skipped;
 *  2. picks the route: esmtproutes (smarthost, port, /SECURITY=), else the
 *     domain's MX records, then A/AAAA (esmtp-routes.h);
 *  3. tries each address in turn (esmtp-client.h) until one server is
 *     reached; the server's replies give each recipient its status;
 *  4. appends the status records (fdatasync) as soon as the server has
 *     answered the final dot: before QUIT, before the next transaction
 *     of a VERP message (one per recipient) and before the next message
 *     on a kept connection; so a duplicate needs a kill between that
 *     reply and the append (RFC 1047's window, doc/mta.md).
 *
 * When no server of a domain could be reached, the domain is postponed
 * for esmtpdelay (default 5 minutes): its deliveries are deferred at once
 * without a connection until then.
 *
 * Connection reuse (esmtptimeoutkeepalive, default 60 s; 0 = off): a
 * delivery process whose transaction went through keeps its connection
 * and tells the module so on its status pipe ("done STATUS KEEPALIVE")
 * instead of exiting; the next delivery to the same domain is written to
 * its job pipe, and goes over that connection after an RSET.  While idle,
 * the process sends RSET every esmtptimeoutkeepaliveping (0 = never) and
 * says "gone" when the server closes the connection or the RSET fails.
 * The module ends an idle process by closing its job pipe (keepalive
 * over, the connection gone, too many idle, or the module stopping): the
 * process then says QUIT and exits.  A process only exits on its own
 * while it has a job, so no job written to it is ever lost.
 *
 * Settings: the control files esmtproutes, esmtpauthclient, esmtphelo,
 * esmtpdelay, esmtptimeout, esmtptimeoutconnect, esmtptimeouthelo,
 * esmtptimeoutdata, esmtptimeoutquit, esmtptimeoutkeepalive,
 * esmtptimeoutkeepaliveping, ipout, ip6out (with their vhost
 * forms), dnsservers; and in the courierd settings file: ESMTP_USE_STARTTLS,
 * ESMTP_TLS_VERIFY_DOMAIN, TLS_VERIFYPEER, TLS_TRUSTCERTS, TLS_CERTFILE,
 * ESMTP_PREFER_IPV6_MX, ESMTP_AUTH_PLAINTEXT and ESMTP_PORT (doc/esmtp-client.md). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
/* Idle delivery processes (kept connections) at most, in all. */
#define ESMTP_MAX_IDLE 32
/* Longest status line of a delivery process. */
#define STATUS_LINE_MAX 64

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

/* An interval control file (or its vhost form); def when missing or
 * malformed.  0 is kept (esmtptimeoutkeepalive: off). */
static unsigned int interval_file(const char *name, const char *vhost,
				  unsigned int def)
{
	char *path = config_path_for_address(name, vhost);
	unsigned int secs;

	(void)config_read_interval(path, def, &secs, NULL);
	free(path);
	return secs;
}

/* A timeout: as interval_file(), 0 meaning def. */
static unsigned int timeout_file(const char *name, const char *vhost,
				 unsigned int def)
{
	unsigned int secs = interval_file(name, vhost, def);

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
	bool *recorded;		/* its status record is written */
	size_t count;
	bool record_failed;	/* a status record could not be written */
};

/* Gives every recipient of j that has no status yet st and diag. */
static void result_all(struct job *j, enum ctl_status st, const char *diag)
{
	for (size_t i = 0; i < j->count; i++) {
		if (j->rcpts[i].status != CTL_STATUS_NONE)
			continue;
		free(j->rcpts[i].diag);
		j->rcpts[i].diag = xstrdup(diag);
		j->rcpts[i].status = st;
	}
}

/* Appends the status records of the recipients of j that have a status
 * and no record yet, and fdatasyncs them (queue_ctl_append()): called
 * right after the server's reply to the final dot, before QUIT or the
 * next transaction, so that only a kill between that reply and this
 * append can make the retry send the message again (RFC 1047).  Returns
 * 0, or -1 (logged, record_failed set). */
static int job_record(struct job *j)
{
	struct str rec;
	const char *error;
	time_t now = time(NULL);
	int ret = 0;

	str_init(&rec, 256);
	for (size_t i = 0; i < j->count; i++) {
		struct esmtp_client_rcpt *r = &j->rcpts[i];

		if (j->recorded[i] || r->status == CTL_STATUS_NONE)
			continue;
		log_info("%s: <%s> %s: %s", j->qid, r->address,
			 r->status == CTL_STATUS_DELIVERED ? "delivered" :
			 r->status == CTL_STATUS_FAILED ? "failed" :
			 "deferred", r->diag != NULL ? r->diag : "");
		ctl_write_status(&rec, j->idx[i], r->status,
				 r->status == CTL_STATUS_DELIVERED &&
				 r->relayed ? 'r' : 0, now, r->diag);
		j->recorded[i] = true;
	}
	if (str_len(&rec) > 0 &&
	    queue_ctl_append(j->qid, str_c(&rec), str_len(&rec), &error) < 0) {
		log_error("%s: cannot record the delivery status: %s", j->qid,
			  error);
		j->record_failed = true;
		ret = -1;
	}
	str_free(&rec);
	return ret;
}
/* What a delivery process keeps from one delivery to the next: the
 * settings of the domain and vhost it delivered to, the server reached
 * and its open connection (NULL: none). */
static struct {
	bool set_up;
	char *domain, *vhost;
	struct job_settings js;
	struct esmtp_client_settings set;
	struct esmtp_routes *routes;
	const struct esmtp_route *route;
	struct dns_resolver *dns;
	char *me, *user, *pass, *tlsdir;
	unsigned int keepalive;	/* esmtptimeoutkeepalive, seconds */
	struct esmtp_target target;	/* the server connected to */
	struct esmtp_client_conn *conn;
} kept;

static bool same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
		(a != NULL && b != NULL && strcasecmp(a, b) == 0);
}

/* Closes the kept connection (QUIT) and forgets the settings. */
static void kept_clear(void)
{
	esmtp_client_conn_close(&kept.conn);
	if (!kept.set_up)
		return;
	if (kept.pass != NULL)
		secure_wipe(kept.pass, strlen(kept.pass));
	free(kept.user);
	free(kept.pass);
	esmtp_routes_free(&kept.routes);
	dns_resolver_destroy(&kept.dns);
	tls_ctx_destroy(&kept.set.tls_ctx);
	free(kept.tlsdir);
	free((char *)kept.set.helo);
	free(kept.me);
	free(kept.target.host);
	free(kept.domain);
	free(kept.vhost);
	config_env_free(&kept.js.env);
	memset(&kept, 0, sizeof(kept));
}

/* The settings for a delivery to domain with vhost (owned by kept). */
static void kept_setup(const char *domain, const char *vhost)
{
	struct job_settings *js = &kept.js;
	struct esmtp_client_settings *set = &kept.set;
	char *helo_path, *h;

	kept_clear();
	kept.set_up = true;
	kept.domain = xstrdup(domain);
	kept.vhost = vhost != NULL ? xstrdup(vhost) : NULL;
	(void)config_env_read("courierd", NULL, &js->env, NULL);
	js->vhost = kept.vhost;

	helo_path = config_path_for_address("esmtphelo", vhost);
	kept.me = config_me(vhost);
	h = config_read_first_line(helo_path, NULL);
	set->helo = h != NULL ? h : xstrdup(kept.me);
	free(helo_path);
	set->timeout_connect = timeout_file("esmtptimeoutconnect", vhost, 60);
	set->timeout_helo = timeout_file("esmtptimeouthelo", vhost, 300);
	set->timeout_cmd = timeout_file("esmtptimeout", vhost, 600);
	set->timeout_data = timeout_file("esmtptimeoutdata", vhost, 600);
	set->timeout_quit = timeout_file("esmtptimeoutquit", vhost, 10);
	kept.keepalive = interval_file("esmtptimeoutkeepalive", vhost, 60);
	source_address("ipout", vhost, AF_INET, &set->bind4);
	source_address("ip6out", vhost, AF_INET6, &set->bind6);
	set->use_starttls = env_bool(js, "ESMTP_USE_STARTTLS", true);
	set->plaintext_auth = env_bool(js, "ESMTP_AUTH_PLAINTEXT", false);
	set->tls_ctx = client_tls(js, &set->verify);
	kept.tlsdir = instance_var_path("esmtp");
	set->tls_memory_dir = kept.tlsdir;
	kept.dns = dns_resolver_create_config();
	set->dns = kept.dns;

	kept.routes = esmtp_routes_load();
	kept.route = esmtp_routes_find(kept.routes, domain);
	if (kept.route != NULL)
		set->security = kept.route->security;
	if (kept.route != NULL && kept.route->relay[0] != '\0' &&
	    esmtp_authclient_find(kept.route->relay, NULL, &kept.user,
				  &kept.pass) > 0) {
		set->auth_user = kept.user;
		set->auth_pass = kept.pass;
	}
}

/* Copies t into kept.target (the connection points at it). */
static void kept_target(const struct esmtp_target *t)
{
	free(kept.target.host);
	kept.target = *t;
	kept.target.host = xstrdup(t->host);
}

/* Sends the recipients first to first + n - 1 of j as whole (their
 * batch): over the kept connection when it goes to the same domain and
 * vhost, else to the domain's servers in turn.  Returns 1 when a server
 * was reached (every recipient of the batch has a status), 0 when none
 * was: then every recipient of j without a status has one (deferred or
 * failed), *status_r being EXIT_UNREACHABLE when no server answered. */
static int send_batch(struct job *j, const struct esmtp_client_message *whole,
		      size_t first, size_t n, const char *vhost,
		      int *status_r)
{
	struct esmtp_client_message msg = *whole;
	struct esmtp_resolve_settings rs;
	struct esmtp_targets targets;
	const char *target_name, *error, *me_list[2];
	char *last_error = NULL;
	unsigned long port;
	bool reached = false;

	msg.rcpts = j->rcpts + first;
	msg.rcpt_count = n;
	if (kept.conn != NULL && same_text(kept.domain, j->domain) &&
	    same_text(kept.vhost, vhost)) {
		/* the connection of the last transaction, to the same domain */
		char *err = NULL;

		if (esmtp_client_send(&kept.set, &kept.target, &msg,
				      &kept.conn, &err) > 0) {
			log_info("%s: delivered to %s [%s] (connection "
				 "reused)", j->qid, kept.target.host,
				 kept.target.addr_text);
			return 1;
		}
		log_info("%s: %s", j->qid, err != NULL ? err : "?");
		free(err);
	}
	kept_setup(j->domain, vhost);
	target_name = kept.route != NULL && kept.route->relay[0] != '\0' ?
		kept.route->relay : j->domain;
	port = strtoul(env_get(&kept.js, "ESMTP_PORT", "25"), NULL, 10);
	if (port == 0 || port > 65535)
		port = 25;
	if (kept.route != NULL && kept.route->port != 0)
		port = kept.route->port;
	else if ((kept.set.security & ESMTP_SECURITY_SMTPS) != 0)
		port = 465;

	memset(&rs, 0, sizeof(rs));
	rs.port = (unsigned int)port;
	rs.ipv4 = rs.ipv6 = true;
	rs.prefer_ipv6 = env_bool(&kept.js, "ESMTP_PREFER_IPV6_MX", false);
	me_list[0] = kept.me;
	me_list[1] = NULL;
	rs.me = kept.route != NULL && kept.route->relay[0] != '\0' ? NULL :
		me_list;

	switch (esmtp_resolve(kept.dns, target_name, &rs, &targets, &error)) {
	case ESMTP_RESOLVE_OK:
		break;
	case ESMTP_RESOLVE_TEMPFAIL: {
		char *d = xasprintf("451 4.4.3 %s: %s", target_name, error);

		result_all(j, CTL_STATUS_DEFERRED, d);
		free(d);
		return 0;
	}
	case ESMTP_RESOLVE_PERMFAIL: {
		char *d = xasprintf("550 5.1.2 %s: %s", target_name, error);

		result_all(j, CTL_STATUS_FAILED, d);
		free(d);
		return 0;
	}
	}
	/* the connection is always kept by esmtp_client_send(): its QUIT
	 * comes after the status records (run_job()) */
	for (size_t i = 0; i < targets.count && !reached; i++) {
		char *err = NULL;
		int r;

		kept_target(&targets.t[i]);
		r = esmtp_client_send(&kept.set, &kept.target, &msg,
				      &kept.conn, &err);
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
		*status_r = EXIT_UNREACHABLE;
	}
	esmtp_targets_free(&targets);
	free(last_error);
	return reached ? 1 : 0;
}

/* Delivers j, recording each batch's statuses as soon as the server has
 * answered its final dot; returns the exit status.  A message is one
 * batch; a VERP message is a batch (a transaction) per recipient, so
 * each recipient's record is written before the next transaction. */
static int deliver(struct job *j, bool postpone)
{
	struct esmtp_client_message msg;
	const char *error;
	char *data = NULL, *vhost;
	size_t size, batch;
	int status = 0;

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
	memset(&msg, 0, sizeof(msg));
	msg.sender = j->ctl->sender;
	msg.envid = j->ctl->envid;
	msg.ret = j->ctl->ret;
	msg.verp = j->ctl->verp && *j->ctl->sender != '\0';
	msg.body_8bit = j->ctl->body_8bit;
	msg.data = data;
	msg.size = size;
	msg.rcpts = j->rcpts;
	msg.rcpt_count = j->count;
	msg.smtputf8 = esmtp_client_message_needs_utf8(&msg);

	vhost = config_vhost_select(j->ctl->local_ip, j->ctl->auth_user);
	batch = msg.verp ? 1 : j->count;
	for (size_t first = 0; first < j->count; first += batch) {
		size_t n = j->count - first < batch ? j->count - first : batch;

		if (send_batch(j, &msg, first, n, vhost, &status) == 0)
			break;
		/* before QUIT or the next transaction; a record that cannot
		 * be written stops here: what follows would be sent again */
		if (job_record(j) < 0)
			break;
	}
	for (size_t i = 0; i < j->count; i++)
		if (j->rcpts[i].status == CTL_STATUS_NONE) {
			j->rcpts[i].status = CTL_STATUS_DEFERRED;
			free(j->rcpts[i].diag);
			j->rcpts[i].diag = xstrdup("451 4.4.0 not delivered");
		}
	free(vhost);
	free(data);
	return status;
}

static void job_free(struct job *j)
{
	for (size_t i = 0; i < j->count; i++)
		free(j->rcpts[i].diag);
	free(j->rcpts);
	free(j->recorded);
	free(j->idx);
	ctl_file_free(&j->ctl);
}

/* One job: "delid qid domain n addr [n addr...]" split at tabs.  Returns
 * the status (0, EXIT_UNREACHABLE, 1 on errors: courierd then finds no
 * final status and retries). */
static int run_job(char **f, size_t count, bool postpone)
{
	char *ctlpath = queue_path(f[1], 'C');
	struct job j;
	const char *error;
	int lockfd, status;

	if (ctlpath == NULL)
		return 1;
	/* the lock, and the proof that the status records can be written:
	 * a delivery that cannot be recorded would be sent again on every
	 * retry, so it is not sent at all */
	lockfd = open(ctlpath, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (lockfd < 0) {
		int e = errno;

		if (e == ENOENT) {
			free(ctlpath);
			return 0;	/* gone: nothing to do */
		}
		log_error("%s: not sent: cannot append to %s (%s), so its "
			  "delivery could not be recorded and every retry "
			  "would send it again; make it writable by the "
			  "queue user: chmod g+w (mode 0660, group of "
			  "var/queue) or chown it to the owner of var/queue",
			  f[1], ctlpath, strerror(e));
		free(ctlpath);
		return 1;
	}
	free(ctlpath);
	while (flock(lockfd, LOCK_EX) < 0 && errno == EINTR)
		;
	memset(&j, 0, sizeof(j));
	j.qid = f[1];
	j.domain = f[2];
	if (queue_ctl_read(j.qid, &j.ctl, &error) <= 0) {
		close(lockfd);
		return 0;
	}
	j.idx = xcalloc(count, sizeof(*j.idx));
	j.rcpts = xcalloc(count, sizeof(*j.rcpts));
	j.recorded = xcalloc(count, sizeof(*j.recorded));
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
	if (j.count == 0) {
		job_free(&j);
		close(lockfd);
		return 0;
	}
	status = deliver(&j, postpone);
	(void)job_record(&j);	/* those not sent: deferrals */
	if (j.record_failed)
		status = 1;
	if (kept.keepalive == 0)
		esmtp_client_conn_close(&kept.conn);	/* QUIT, at last */
	job_free(&j);
	close(lockfd);	/* the lock goes with it */
	return status;
}

/* Reads one job line from fd (the module's job pipe) into line, waiting
 * for it.  While waiting, pings the kept connection every ping seconds
 * (0 = never) and closes it when the server closes it or a ping fails,
 * saying "gone" on status_fd.  Returns 1 with a line, 0 at the end of the
 * pipe. */
static int worker_read_job(int fd, int status_fd, unsigned int ping,
			   struct str *line)
{
	char buf[4096];

	str_truncate(line, 0);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = kept.conn != NULL ?
			  esmtp_client_conn_fd(kept.conn) : -1,
			  .events = POLLIN },
		};
		int n = poll(p, 2, kept.conn != NULL && ping > 0 ?
			     (int)(ping * 1000) : -1);
		bool gone = false;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		if (n == 0)
			gone = esmtp_client_conn_ping(kept.conn) < 0;
		else if (p[1].revents != 0)
			gone = true;	/* the server closes (or says 421) */
		if (gone) {
			esmtp_client_conn_close(&kept.conn);
			if (write(status_fd, "gone\n", 5) < 0)
				return 0;
		}
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
			ssize_t r = read(fd, buf, sizeof(buf));
			const char *nl;

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return 0;
			str_append_n(line, buf, (size_t)r);
			if (str_len(line) > LINE_MAX_LEN)
				return 0;
			nl = memchr(str_c(line), '\n', str_len(line));
			if (nl != NULL) {
				/* the module writes one line and waits */
				str_truncate(line,
					     (size_t)(nl - str_c(line)));
				return 1;
			}
		}
	}
}

/* A delivery process: runs the job f, then, while it keeps a connection,
 * the jobs the module writes to job_fd.  Never returns. */
static void worker_main(char **f, size_t count, bool postpone, int job_fd,
			int status_fd)
{
	struct str line;
	int status = run_job(f, count, postpone);

	str_init(&line, 1024);
	for (;;) {
		char done[STATUS_LINE_MAX];
		char **g;
		size_t n = 0;

		if (kept.conn == NULL)
			break;	/* one-shot: the exit status reports it */
		(void)snprintf(done, sizeof(done), "done %d %u\n", status,
			       kept.keepalive);
		if (write(status_fd, done, strlen(done)) < 0)
			break;
		if (worker_read_job(job_fd, status_fd,
				    interval_file("esmtptimeoutkeepaliveping",
						 kept.vhost, 0),
				    &line) <= 0) {
			status = 0;
			break;
		}
		g = str_split(str_c(&line), "\t");
		while (g[n] != NULL)
			n++;
		if (n < 5 || (n - 3) % 2 != 0 || !queue_id_valid(g[1], NULL))
			status = 1;	/* the module checked it: cannot be */
		else
			status = run_job(g, n, false);
		str_split_free(&g);
	}
	str_free(&line);
	kept_clear();
	_exit(status);
}

/* ---- the module process ---- */

/* A delivery process: busy with delid, or idle (delid NULL) holding a
 * connection to domain. */
struct child {
	pid_t pid;
	char *delid;
	char *domain;
	int job_fd;		/* jobs to it; -1 once closed */
	int status_fd;		/* its "done" and "gone" lines */
	struct io *status_io;
	char status_buf[STATUS_LINE_MAX];
	size_t status_len;
	struct timeout *idle_to;	/* esmtptimeoutkeepalive */
	time_t idle_since;
	struct child *next;
};

struct pending {
	char *line;
	char *domain;
	struct pending *next;
};

struct domain_state {
	char *domain;
	unsigned int running;	/* processes, busy or idle */
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

/* Tells an idle process to end: it says QUIT and exits (SIGCHLD). */
static void child_release(struct child *c)
{
	timeout_remove(&c->idle_to);
	if (c->job_fd >= 0) {
		close(c->job_fd);
		c->job_fd = -1;
	}
}

static void idle_timeout_cb(void *context)
{
	struct child *c = context;

	c->idle_to = NULL;	/* a once-timer is freed by the loop */
	child_release(c);
}

/* A job of c ended with status (as an exit status): postpones the
 * domain when no server was reached, and tells courierd. */
static void child_job_done(struct child *c, int status)
{
	struct domain_state *d = domain_get(c->domain);

	if (c->delid == NULL)
		return;
	if (status == EXIT_UNREACHABLE) {
		unsigned int delay = esmtpdelay();

		if (delay > 0)
			d->delay_until = time(NULL) + delay;
	} else if (status == 0) {
		d->delay_until = 0;
	} else {
		log_error("delivery %s ended with status %d", c->delid,
			  status);
	}
	module_io_report(c->delid);
	x_free(c->delid);
}

static unsigned int idle_count(void)
{
	unsigned int n = 0;

	for (struct child *c = m.children; c != NULL; c = c->next)
		if (c->delid == NULL && c->job_fd >= 0)
			n++;
	return n;
}

static void start_pending(void);

/* c finished its job and keeps its connection for keepalive seconds
 * (its esmtptimeoutkeepalive, vhost form included). */
static void child_idle(struct child *c, unsigned int keepalive)
{
	if (m.eof) {
		child_release(c);
		return;
	}
	if (keepalive == 0) {
		child_release(c);
		return;
	}
	c->idle_since = time(NULL);
	timeout_remove(&c->idle_to);
	c->idle_to = timeout_add_once(m.loop, keepalive * 1000,
				      idle_timeout_cb, c);
	start_pending();
	if (c->delid == NULL && idle_count() > ESMTP_MAX_IDLE) {
		/* too many open connections: the oldest idle one goes */
		struct child *old = NULL;

		for (struct child *o = m.children; o != NULL; o = o->next)
			if (o->delid == NULL && o->job_fd >= 0 &&
			    (old == NULL || o->idle_since < old->idle_since))
				old = o;
		if (old != NULL)
			child_release(old);
	}
}

/* One status line of c. */
static void child_status_line(struct child *c, const char *line)
{
	unsigned int keepalive;
	int status;

	if (strcmp(line, "gone") == 0) {
		/* its connection is closed: no use keeping it */
		if (c->delid == NULL)
			child_release(c);
		return;
	}
	if (sscanf(line, "done %d %u", &status, &keepalive) == 2 &&
	    c->delid != NULL) {
		child_job_done(c, status);
		child_idle(c, keepalive);
		return;
	}
	log_error("delivery process %ld: unexpected status line",
		  (long)c->pid);
}

/* Reads what c said (its status pipe is non-blocking). */
static void child_status_cb(void *context)
{
	struct child *c = context;

	for (;;) {
		ssize_t n = read(c->status_fd, c->status_buf + c->status_len,
				 sizeof(c->status_buf) - c->status_len);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			io_remove(&c->status_io);	/* exited: SIGCHLD */
			return;
		}
		c->status_len += (size_t)n;
		while ((nl = memchr(c->status_buf, '\n', c->status_len))
		       != NULL) {
			size_t len = (size_t)(nl - c->status_buf);

			*nl = '\0';
			child_status_line(c, c->status_buf);
			memmove(c->status_buf, nl + 1,
				c->status_len - len - 1);
			c->status_len -= len + 1;
		}
		if (c->status_len == sizeof(c->status_buf)) {
			log_error("delivery process %ld: status line too "
				  "long", (long)c->pid);
			c->status_len = 0;
		}
	}
}

/* Gives line to the idle process c.  Returns false when it cannot take
 * it (its pipe is closed). */
static bool child_give(struct child *c, const char *line, const char *delid)
{
	size_t len = strlen(line), done = 0;

	if (c->job_fd < 0)
		return false;
	/* the process waits for this line: a blocking write is short */
	while (done < len + 1) {
		const char *p = done < len ? line + done : "\n";
		size_t n = done < len ? len - done : 1;
		ssize_t w = write(c->job_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_error("delivery process %ld: %s", (long)c->pid,
				  strerror(errno));
			child_release(c);
			return false;
		}
		done += (size_t)w;
	}
	timeout_remove(&c->idle_to);
	c->delid = xstrdup(delid);
	return true;
}

static struct child *idle_child(const char *domain)
{
	for (struct child *c = m.children; c != NULL; c = c->next)
		if (c->delid == NULL && c->job_fd >= 0 &&
		    strcasecmp(c->domain, domain) == 0)
			return c;
	return NULL;
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
	int jp[2], sp[2];
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
	while ((c = idle_child(f[2])) != NULL)
		if (child_give(c, line, f[0])) {
			str_split_free(&f);
			return true;
		}
	if (!postpone && d->running >= ESMTP_MAX_SESSIONS && may_queue) {
		struct pending *p = xcalloc(1, sizeof(*p));

		p->line = xstrdup(line);
		p->domain = xstrdup(f[2]);
		*m.pending_tail = p;
		m.pending_tail = &p->next;
		str_split_free(&f);
		return false;
	}
	if (pipe2(jp, O_CLOEXEC) < 0) {
		log_error("pipe: %s", strerror(errno));
		module_io_report(f[0]);
		str_split_free(&f);
		return true;
	}
	if (pipe2(sp, O_CLOEXEC) < 0) {
		log_error("pipe: %s", strerror(errno));
		close(jp[0]);
		close(jp[1]);
		module_io_report(f[0]);
		str_split_free(&f);
		return true;
	}
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(jp[0]);
		close(jp[1]);
		close(sp[0]);
		close(sp[1]);
		module_io_report(f[0]);
		str_split_free(&f);
		return true;
	}
	if (pid == 0) {
		ioloop_child_prepare_exec();
		/* SIGPIPE stays ignored: a closed pipe is an error here */
		signal(SIGPIPE, SIG_IGN);
		{
			/* courierd's pipes are the module's, not ours: a
			 * process kept idle must not hold them open */
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);

			if (null >= 0) {
				(void)dup2(null, STDIN_FILENO);
				(void)dup2(null, STDOUT_FILENO);
				close(null);
			}
		}
		/* the other processes' pipes are close-on-exec, not closed
		 * on fork: close them, so that they see the end of theirs */
		for (struct child *o = m.children; o != NULL; o = o->next) {
			if (o->job_fd >= 0)
				close(o->job_fd);
			close(o->status_fd);
		}
		close(jp[1]);
		close(sp[0]);
		worker_main(f, count, postpone, jp[0], sp[1]);
	}
	close(jp[0]);
	close(sp[1]);
	d->running++;
	c = xcalloc(1, sizeof(*c));
	c->pid = pid;
	c->delid = xstrdup(f[0]);
	c->domain = xstrdup(f[2]);
	c->job_fd = jp[1];
	c->status_fd = sp[0];
	(void)fcntl(c->status_fd, F_SETFL,
		    fcntl(c->status_fd, F_GETFL) | O_NONBLOCK);
	c->status_io = io_add(m.loop, c->status_fd, IO_READ, child_status_cb,
			      c);
	c->next = m.children;
	m.children = c;
	str_split_free(&f);
	return true;
}

/* Starts queued jobs whose domain has room (or an idle process). */
static void start_pending(void)
{
	for (struct pending **p = &m.pending; *p != NULL;) {
		struct pending *q = *p;
		struct domain_state *d = domain_get(q->domain);

		if (d->running >= ESMTP_MAX_SESSIONS &&
		    d->delay_until <= time(NULL) &&
		    idle_child(q->domain) == NULL) {
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
	/* the idle processes end; the busy ones after their job */
	for (struct child *c = m.children; c != NULL; c = c->next)
		child_release(c);
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
			/* what it said before it exited comes first */
			if (c->status_io != NULL)
				child_status_cb(c);
			d = domain_get(c->domain);
			if (d->running > 0)
				d->running--;
			if (c->delid != NULL)
				child_job_done(c, WIFEXITED(status) ?
					       WEXITSTATUS(status) : 128 +
					       WTERMSIG(status));
			*p = c->next;
			io_remove(&c->status_io);
			child_release(c);
			close(c->status_fd);
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
