/* courierd.c: the scheduler.  Owns the queue: loads messages, routes
 * their recipients, hands deliveries to transport modules running as
 * separate processes over pipes, records outcomes, retries, expires,
 * sends DSNs, and removes delivered messages.
 *
 *   courierd [-d]      (-d: debug logging)
 *
 * Runs in the foreground, logs to stderr, exits on SIGTERM (after the
 * deliveries in flight finish, at most 10 s), restarts itself on SIGHUP
 * once the deliveries in flight are done (`courier restart`), and on its
 * own as Courier does: after respawnlo (1 hour) as soon as it is idle,
 * after respawnhi (7 days) in any case.
 *
 * Other control files: backuprelay (mail for remote recipients still
 * undelivered after warntime goes to that host instead, and no delayed
 * DSN is sent); every outcome feeds the backscatter blacklist (track.h).
 *
 * Module protocol (Courier's, COURIER.md 1.2 step 6, with the queue id in
 * place of the message number).  courierd writes one line per delivery
 * to the module's standard input:
 *
 *   delid TAB qid TAB host TAB n1 TAB address1 [TAB n2 TAB address2 ...]
 *
 * The module delivers, appends the recipients' status records to the
 * control file itself (fdatasync), then writes "delid" and a newline on
 * its standard output.  End of input means shut down once the
 * deliveries in flight are done.  A module that dies loses nothing:
 * recipients it did not record are retried.
 *
 * Module settings: etc/module.NAME (NAME=value): MAXDELS (deliveries at
 * once), MAXHOST (at once to one host or mailbox), MAXRCPT (recipients
 * per delivery).  Defaults as Courier's: local 10/4/1, esmtp 40/4/100.
 * The batchsize control file (default 100) caps MAXRCPT: no delivery
 * carries more recipients of one message. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config-file.h"
#include "config-settings.h"
#include "ctlfile.h"
#include "daemon.h"
#include "dsn.h"
#include "instance.h"
#include "interval.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "retry.h"
#include "route.h"
#include "str.h"
#include "submit.h"
#include "track.h"

#ifndef MTA_MODULEDIR
#define MTA_MODULEDIR LIBEXECDIR "/courier/modules"
#endif

/* Longest line a module may send back. */
#define MODULE_LINE_MAX 1024
/* Stale tmp/ files and orphan data files are removed after this. */
#define QUEUE_STALE_SECS (36 * 3600)

/* ---- the queue index: every queued message, by id and by due time ---- */

struct msg;

struct qentry {
	char qid[QUEUE_ID_LEN + 1];
	time_t due;
	size_t heap_idx;	/* SIZE_MAX when not in the heap */
	bool flush;		/* ignore the next attempt time once */
	struct msg *msg;	/* loaded, a round in progress */
	struct qentry *hnext;	/* hash chain */
};

struct module;

struct job {
	unsigned int id;
	struct msg *msg;
	struct module *mod;
	char *host;
	size_t *rcpts;
	size_t rcpt_count;
	struct job *next;
};

struct msg {
	struct qentry *entry;
	struct ctl_file *ctl;
	unsigned int jobs;	/* deliveries not finished this round */
	time_t started;		/* when the round began */
};

struct host_count {
	char *host;
	unsigned int count;
};

struct module {
	const char *name;
	char *path;		/* NULL: not installed */
	unsigned int maxdels, maxhost, maxrcpt;
	pid_t pid;
	int to_fd, from_fd;
	struct io *io;
	struct str inbuf;
	struct job *pending, *pending_tail;
	struct job *inflight;
	unsigned int inflight_count;
	struct host_count *hosts;
	size_t host_count;
	unsigned int restarts;
	struct timeout *restart_to;
};

static struct {
	struct ioloop *loop;
	struct qentry **hash;
	size_t hash_size, entry_count;
	struct qentry **heap;
	size_t heap_count, heap_alloc;
	unsigned int loaded, queuelo, queuehi;
	bool filling;		/* loading until queuehi, then to queuelo */
	unsigned int queuefill;
	struct retry_schedule retry;
	struct route_config *route;
	struct module modules[2];
	unsigned int next_job_id;
	struct timeout *wake_to, *fill_to;
	int trigger_fd;
	struct io *trigger_io;
	struct str trigger_buf;
	bool stopping, restarting;
	bool respawn_wanted;	/* respawnlo passed: restart once idle */
	unsigned int respawnlo, respawnhi;
	struct timeout *respawnlo_to, *respawnhi_to;
	char *backuprelay;	/* NULL: none */
	struct daemon_pidfile *pidfile;
	char **argv;
	char *exe;
} d;

#define MOD_LOCAL (&d.modules[0])
#define MOD_ESMTP (&d.modules[1])

static void schedule(void);

/* ---- hash ---- */

static size_t qid_hash(const char *qid)
{
	size_t h = 2166136261u;

	for (; *qid != '\0'; qid++)
		h = (h ^ (unsigned char)*qid) * 16777619u;
	return h;
}

static struct qentry *entry_find(const char *qid)
{
	struct qentry *e = d.hash[qid_hash(qid) % d.hash_size];

	for (; e != NULL; e = e->hnext) {
		if (strcmp(e->qid, qid) == 0)
			return e;
	}
	return NULL;
}

static void hash_grow(void)
{
	size_t size = d.hash_size * 2;
	struct qentry **h = xcalloc(size, sizeof(*h));

	for (size_t i = 0; i < d.hash_size; i++) {
		struct qentry *e = d.hash[i], *next;

		for (; e != NULL; e = next) {
			size_t b = qid_hash(e->qid) % size;

			next = e->hnext;
			e->hnext = h[b];
			h[b] = e;
		}
	}
	free(d.hash);
	d.hash = h;
	d.hash_size = size;
}

/* ---- heap by due time ---- */

static bool heap_less(size_t a, size_t b)
{
	return d.heap[a]->due < d.heap[b]->due;
}

static void heap_swap(size_t a, size_t b)
{
	struct qentry *t = d.heap[a];

	d.heap[a] = d.heap[b];
	d.heap[b] = t;
	d.heap[a]->heap_idx = a;
	d.heap[b]->heap_idx = b;
}

static void heap_up(size_t i)
{
	while (i > 0 && heap_less(i, (i - 1) / 2)) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < d.heap_count && heap_less(l, m))
			m = l;
		if (r < d.heap_count && heap_less(r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

static void heap_push(struct qentry *e)
{
	if (d.heap_count == d.heap_alloc) {
		d.heap_alloc = d.heap_alloc == 0 ? 64 : d.heap_alloc * 2;
		d.heap = xreallocarray(d.heap, d.heap_alloc, sizeof(*d.heap));
	}
	e->heap_idx = d.heap_count;
	d.heap[d.heap_count++] = e;
	heap_up(e->heap_idx);
}

static void heap_remove(struct qentry *e)
{
	size_t i = e->heap_idx;

	if (i == SIZE_MAX)
		return;
	d.heap_count--;
	if (i != d.heap_count) {
		d.heap[i] = d.heap[d.heap_count];
		d.heap[i]->heap_idx = i;
		heap_down(i);
		heap_up(i);
	}
	e->heap_idx = SIZE_MAX;
}

static void entry_set_due(struct qentry *e, time_t due)
{
	heap_remove(e);
	e->due = due;
	heap_push(e);
}

static struct qentry *entry_add(const char *qid, time_t due)
{
	struct qentry *e = entry_find(qid);
	size_t b;

	if (e != NULL)
		return e;
	if (d.entry_count >= d.hash_size)
		hash_grow();
	e = xcalloc(1, sizeof(*e));
	memcpy(e->qid, qid, QUEUE_ID_LEN + 1);
	e->heap_idx = SIZE_MAX;
	b = qid_hash(qid) % d.hash_size;
	e->hnext = d.hash[b];
	d.hash[b] = e;
	d.entry_count++;
	e->due = due;
	heap_push(e);
	return e;
}

static void entry_delete(struct qentry *e)
{
	struct qentry **p = &d.hash[qid_hash(e->qid) % d.hash_size];

	heap_remove(e);
	for (; *p != NULL; p = &(*p)->hnext) {
		if (*p == e) {
			*p = e->hnext;
			break;
		}
	}
	d.entry_count--;
	free(e);
}

/* ---- configuration ---- */

struct module_settings {
	long long maxdels, maxhost, maxrcpt;
};

static void module_configure(struct module *mod, const char *name,
			     unsigned int maxdels, unsigned int maxhost,
			     unsigned int maxrcpt)
{
	char dels[16], host[16], rcpt[16], *file, *prog, *dir;
	struct module_settings set;
	struct config_setting_def defs[] = {
		CONFIG_SETTING_INT(struct module_settings, maxdels, "MAXDELS",
				   dels, 1, 10000),
		CONFIG_SETTING_INT(struct module_settings, maxhost, "MAXHOST",
				   host, 1, 10000),
		CONFIG_SETTING_INT(struct module_settings, maxrcpt, "MAXRCPT",
				   rcpt, 1, 10000),
		CONFIG_SETTING_END
	};

	snprintf(dels, sizeof(dels), "%u", maxdels);
	snprintf(host, sizeof(host), "%u", maxhost);
	snprintf(rcpt, sizeof(rcpt), "%u", maxrcpt);
	file = xasprintf("module.%s", name);
	(void)config_settings_load(defs, &set, file, NULL);
	config_settings_free(defs, &set);
	free(file);
	mod->name = name;
	mod->maxdels = (unsigned int)set.maxdels;
	mod->maxhost = (unsigned int)set.maxhost;
	/* Local delivery is one recipient at a time, as Courier forces. */
	mod->maxrcpt = mod == MOD_LOCAL ? 1 : (unsigned int)set.maxrcpt;
	mod->to_fd = mod->from_fd = -1;
	str_init(&mod->inbuf, 256);
	/* The module program: beside courierd (a build tree), else in the
	 * modules folder. */
	prog = xasprintf("courier%s", name);
	dir = xstrdup(d.exe);
	mod->path = xasprintf("%s/%s", dirname(dir), prog);
	free(dir);
	if (access(mod->path, X_OK) < 0) {
		/* an install moved to another prefix: sbin/../libexec */
		free(mod->path);
		dir = xstrdup(d.exe);
		mod->path = xasprintf("%s/../libexec/courier/modules/%s",
				      dirname(dir), prog);
		free(dir);
	}
	if (access(mod->path, X_OK) < 0) {
		free(mod->path);
		mod->path = xasprintf("%s/%s", MTA_MODULEDIR, prog);
		if (access(mod->path, X_OK) < 0)
			x_free(mod->path);
	}
	if (mod->path == NULL)
		log_info("module %s: %s is not installed: its recipients "
			 "stay queued", name, prog);
	free(prog);
}

static unsigned int read_count(const char *name, unsigned int def)
{
	char *v = config_read_first_line(name, NULL);
	const char *error;
	long long n;
	unsigned int ret = def;

	if (v == NULL)
		return def;
	if (config_parse_int(v, &n, &error) < 0 || n < 1 || n > 10000000)
		log_error("%s: invalid value '%s'", name, v);
	else
		ret = (unsigned int)n;
	free(v);
	return ret;
}

static void config_load(void)
{
	unsigned int slots, batch;

	retry_schedule_load(&d.retry);
	route_config_free(&d.route);
	d.route = route_config_load();
	module_configure(MOD_LOCAL, "local", 10, 4, 1);
	module_configure(MOD_ESMTP, "esmtp", 40, 4, 100);
	/* batchsize: the most recipients of one message in one delivery,
	 * whatever a module's MAXRCPT allows */
	batch = read_count("batchsize", 100);
	if (MOD_ESMTP->maxrcpt > batch)
		MOD_ESMTP->maxrcpt = batch;
	slots = MOD_LOCAL->maxdels + MOD_ESMTP->maxdels;
	d.queuelo = read_count("queuelo", slots > 200 ? slots : 200);
	d.queuehi = read_count("queuehi", d.queuelo * 2 < d.queuelo + 1000 ?
			       d.queuelo * 2 : d.queuelo + 1000);
	if (d.queuehi < d.queuelo)
		d.queuehi = d.queuelo;
	config_read_interval("queuefill", 300, &d.queuefill, NULL);
	config_read_interval("respawnlo", 3600, &d.respawnlo, NULL);
	config_read_interval("respawnhi", 7 * 24 * 3600, &d.respawnhi, NULL);
	/* the timers count milliseconds in 32 bits: about 24 days at most */
	if (d.respawnlo > 2000000)
		d.respawnlo = 2000000;
	if (d.respawnhi > 2000000)
		d.respawnhi = 2000000;
	if (d.respawnhi < d.respawnlo)
		d.respawnhi = d.respawnlo;
	free(d.backuprelay);
	d.backuprelay = config_read_first_line("backuprelay", NULL);
	if (d.backuprelay != NULL &&
	    (*d.backuprelay == '\0' || strpbrk(d.backuprelay, " \t") !=
	     NULL)) {
		log_error("backuprelay: '%s' is not a host name",
			  d.backuprelay);
		x_free(d.backuprelay);
	}
}

/* ---- modules ---- */

static void module_input(void *context);

static void module_restart_cb(void *context)
{
	struct module *mod = context;

	mod->restart_to = NULL;
	schedule();
}

static int module_start(struct module *mod)
{
	int in[2], out[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_error("module %s: fork: %s", mod->name, strerror(errno));
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		return -1;
	}
	if (pid == 0) {
		struct stat st;
		const char *err;

		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		/* only courierlocal needs root (to become each account);
		 * the others run as the owner of the queue (courier-setup's
		 * queue user), its group the only one, as Courier runs
		 * courieresmtp */
		if (mod != MOD_LOCAL && geteuid() == 0 &&
		    stat(queue_dir(), &st) == 0 && st.st_uid != 0 &&
		    daemon_drop_privileges_id(st.st_uid, st.st_gid, NULL,
					      &err) < 0) {
			log_error("module %s: %s", mod->name, err);
			_exit(127);
		}
		ioloop_child_prepare_exec();
		execl(mod->path, mod->path, (char *)NULL);
		log_error("module %s: cannot run %s: %s", mod->name,
			  mod->path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	mod->pid = pid;
	mod->to_fd = in[1];
	mod->from_fd = out[0];
	fcntl(mod->from_fd, F_SETFL, O_NONBLOCK);
	mod->io = io_add(d.loop, mod->from_fd, IO_READ, module_input, mod);
	log_debug("module %s started (pid %ld)", mod->name, (long)pid);
	return 0;
}

static struct host_count *host_find(struct module *mod, const char *host,
				    bool create)
{
	for (size_t i = 0; i < mod->host_count; i++) {
		if (strcmp(mod->hosts[i].host, host) == 0)
			return &mod->hosts[i];
	}
	if (!create)
		return NULL;
	mod->hosts = xreallocarray(mod->hosts, mod->host_count + 1,
				   sizeof(*mod->hosts));
	mod->hosts[mod->host_count].host = xstrdup(host);
	mod->hosts[mod->host_count].count = 0;
	return &mod->hosts[mod->host_count++];
}

static void host_release(struct module *mod, const char *host)
{
	struct host_count *h = host_find(mod, host, false);

	if (h == NULL || --h->count > 0)
		return;
	free(h->host);
	*h = mod->hosts[--mod->host_count];
}

static void job_free(struct job *job)
{
	free(job->host);
	free(job->rcpts);
	free(job);
}

static void round_complete(struct msg *m);

/* A delivery ended (reported, or its module died). */
static void job_done(struct job *job)
{
	struct module *mod = job->mod;
	struct msg *m = job->msg;
	struct job **p;

	for (p = &mod->inflight; *p != NULL; p = &(*p)->next) {
		if (*p == job) {
			*p = job->next;
			break;
		}
	}
	mod->inflight_count--;
	host_release(mod, job->host);
	job_free(job);
	if (--m->jobs == 0)
		round_complete(m);
}

static void module_gone(struct module *mod)
{
	if (mod->io != NULL)
		io_remove(&mod->io);
	if (mod->to_fd >= 0)
		close(mod->to_fd);
	if (mod->from_fd >= 0)
		close(mod->from_fd);
	mod->to_fd = mod->from_fd = -1;
	str_clear(&mod->inbuf);
	while (mod->inflight != NULL)
		job_done(mod->inflight);
}

static void module_line(struct module *mod, const char *line)
{
	char *end;
	unsigned long id;

	errno = 0;
	id = strtoul(line, &end, 10);
	if (errno != 0 || end == line || *end != '\0') {
		log_error("module %s: unexpected output '%s'", mod->name,
			  line);
		return;
	}
	for (struct job *j = mod->inflight; j != NULL; j = j->next) {
		if (j->id == id) {
			job_done(j);
			return;
		}
	}
	log_error("module %s: reported unknown delivery %lu", mod->name,
		  id);
}

static void module_input(void *context)
{
	struct module *mod = context;
	char buf[4096];
	ssize_t n = read(mod->from_fd, buf, sizeof(buf));

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_error("module %s: read: %s", mod->name, strerror(errno));
		n = 0;
	}
	if (n == 0) {
		/* it closed its output: it ended, SIGCHLD reaps it */
		io_remove(&mod->io);
		return;
	}
	str_append_n(&mod->inbuf, buf, (size_t)n);
	for (;;) {
		const char *s = str_c(&mod->inbuf);
		const char *nl = memchr(s, '\n', str_len(&mod->inbuf));
		char *line;

		if (nl == NULL) {
			if (str_len(&mod->inbuf) > MODULE_LINE_MAX) {
				log_error("module %s: line too long",
					  mod->name);
				str_clear(&mod->inbuf);
			}
			break;
		}
		line = xstrndup(s, (size_t)(nl - s));
		str_delete_head(&mod->inbuf, (size_t)(nl - s) + 1);
		module_line(mod, line);
		free(line);
	}
	schedule();
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool module_send(struct module *mod, struct job *job)
{
	struct str line;
	bool ok;

	str_init(&line, 256);
	str_printfa(&line, "%u\t%s\t%s", job->id, job->msg->entry->qid,
		    job->host);
	for (size_t i = 0; i < job->rcpt_count; i++)
		str_printfa(&line, "\t%zu\t%s", job->rcpts[i],
			    job->msg->ctl->rcpts[job->rcpts[i]].address);
	str_append_c(&line, '\n');
	ok = write_all(mod->to_fd, str_c(&line), str_len(&line)) == 0;
	str_free(&line);
	return ok;
}

/* Starts what the module's slots allow. */
static void module_dispatch(struct module *mod)
{
	struct job **p = &mod->pending;

	if (mod->pending == NULL || d.restarting)
		return;
	if (mod->to_fd < 0) {
		if (mod->restart_to != NULL)
			return;
		if (module_start(mod) < 0) {
			mod->restart_to = timeout_add_once(d.loop, 5000,
				module_restart_cb, mod);
			return;
		}
	}
	while (*p != NULL && mod->inflight_count < mod->maxdels) {
		struct job *job = *p;
		struct host_count *h = host_find(mod, job->host, true);

		if (h->count >= mod->maxhost) {
			p = &job->next;
			continue;
		}
		*p = job->next;
		if (mod->pending_tail == job) {
			mod->pending_tail = NULL;
			for (struct job *j = mod->pending; j != NULL;
			     j = j->next)
				mod->pending_tail = j;
		}
		h->count++;
		job->next = mod->inflight;
		mod->inflight = job;
		mod->inflight_count++;
		if (!module_send(mod, job)) {
			log_error("module %s: cannot write to it: %s",
				  mod->name, strerror(errno));
			/* SIGCHLD will follow; the job is retried */
			job_done(job);
			return;
		}
	}
}

static void job_queue(struct module *mod, struct msg *m, const char *host,
		      size_t rcpt)
{
	struct job *job;

	/* join a pending job to the same host, up to MAXRCPT */
	for (job = mod->pending; job != NULL; job = job->next) {
		if (job->msg == m && strcmp(job->host, host) == 0 &&
		    job->rcpt_count < mod->maxrcpt)
			break;
	}
	if (job == NULL) {
		job = xcalloc(1, sizeof(*job));
		job->id = ++d.next_job_id;
		job->msg = m;
		job->mod = mod;
		job->host = xstrdup(host);
		if (mod->pending_tail != NULL)
			mod->pending_tail->next = job;
		else
			mod->pending = job;
		mod->pending_tail = job;
		m->jobs++;
	}
	job->rcpts = xreallocarray(job->rcpts, job->rcpt_count + 1,
				   sizeof(*job->rcpts));
	job->rcpts[job->rcpt_count++] = rcpt;
}

/* ---- messages ---- */

static void msg_unload(struct msg *m)
{
	m->entry->msg = NULL;
	ctl_file_free(&m->ctl);
	free(m);
	d.loaded--;
}

static void append_or_log(const char *qid, const struct str *text)
{
	const char *error;

	if (str_len(text) > 0 &&
	    queue_ctl_append(qid, str_c(text), str_len(text), &error) < 0)
		log_error("%s: %s", qid, error);
}

/* Sends the DSNs a finished message owes and removes it.  Returns -1
 * when a DSN could not be queued (the message stays, to try again). */
static int msg_finish(struct qentry *e, const struct ctl_file *ctl,
		      time_t now)
{
	bool *failed = xcalloc(ctl->rcpt_count + 1, sizeof(bool));
	bool *delivered = xcalloc(ctl->rcpt_count + 1, sizeof(bool));
	const char *error;
	bool any_failed = false, any_delivered = false;
	int ret = 0;

	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		const struct ctl_rcpt *r = &ctl->rcpts[i];

		failed[i] = r->status == CTL_STATUS_FAILED &&
			ctl_rcpt_wants(r, CTL_NOTIFY_FAILURE);
		delivered[i] = r->status == CTL_STATUS_DELIVERED &&
			ctl_rcpt_wants(r, CTL_NOTIFY_SUCCESS);
		any_failed = any_failed || failed[i];
		any_delivered = any_delivered || delivered[i];
		log_info("%s: <%s> %s%s%s", e->qid, r->address,
			 r->status == CTL_STATUS_DELIVERED ? "delivered" :
			 "failed", r->diag != NULL ? ": " : "",
			 r->diag != NULL ? r->diag : "");
	}
	/* (most messages owe none: no look at the data file for them) */
	if ((any_failed && dsn_send(e->qid, ctl, DSN_FAILED, failed, now,
				    NULL, &error) < 0) ||
	    (any_delivered && dsn_send(e->qid, ctl, DSN_DELIVERED, delivered,
				       now, NULL, &error) < 0)) {
		log_error("%s: cannot queue a DSN: %s", e->qid, error);
		ret = -1;
	} else if (queue_remove(e->qid, &error) < 0) {
		log_error("%s: %s", e->qid, error);
		ret = -1;
	}
	free(failed);
	free(delivered);
	return ret;
}

/* Feeds the backscatter blacklist (track.h) with what this round did:
 * failures and deferrals blacklist the address, a delivery after a
 * deferral ends it. */
static void track_round(const char *qid, const struct ctl_file *ctl,
			time_t started)
{
	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		const struct ctl_rcpt *rc = &ctl->rcpts[i];
		enum track_status st = TRACK_NONE;
		const char *error;

		if (rc->status_time < started)
			continue;
		if (rc->status == CTL_STATUS_FAILED)
			st = TRACK_FAILED;
		else if (rc->status == CTL_STATUS_DEFERRED)
			st = TRACK_DEFERRED;
		else if (rc->status == CTL_STATUS_DELIVERED &&
			 rc->attempts > 0)
			st = TRACK_DELIVERED;
		if (st != TRACK_NONE &&
		    track_record(rc->address, st, rc->status_time,
				 &error) < 0)
			log_error("%s: backscatter blacklist: %s", qid,
				  error);
	}
}

/* All deliveries of this round are done: look at what they recorded. */
static void round_complete(struct msg *m)
{
	struct qentry *e = m->entry;
	struct ctl_file *ctl;
	const char *error;
	time_t now = time(NULL), next, started = m->started;
	struct str rec;
	int r;

	msg_unload(m);
	r = queue_ctl_read(e->qid, &ctl, &error);
	if (r == 0) {
		/* cancelled or removed meanwhile */
		entry_delete(e);
		return;
	}
	if (r < 0) {
		log_error("%s: %s", e->qid, error);
		entry_set_due(e, now + d.retry.alpha);
		return;
	}
	str_init(&rec, 256);
	if (!ctl_file_all_final(ctl) && now >= ctl->expires) {
		for (size_t i = 0; i < ctl->rcpt_count; i++) {
			struct ctl_rcpt *rc = &ctl->rcpts[i];
			char *diag;

			if (rc->status == CTL_STATUS_DELIVERED ||
			    rc->status == CTL_STATUS_FAILED)
				continue;
			diag = xasprintf("5.4.7 Delivery time expired%s%s",
					 rc->diag != NULL ? "; last error: " :
					 "", rc->diag != NULL ? rc->diag : "");
			ctl_write_status(&rec, i, CTL_STATUS_FAILED, 0, now,
					 diag);
			free(rc->diag);
			rc->diag = diag;
			rc->status = CTL_STATUS_FAILED;
			rc->status_time = now;
		}
		append_or_log(e->qid, &rec);
		str_clear(&rec);
	}
	if (ctl->cancelled == NULL)
		track_round(e->qid, ctl, started);
	if (ctl_file_all_final(ctl)) {
		if (msg_finish(e, ctl, now) < 0)
			entry_set_due(e, now + d.retry.alpha);
		else
			entry_delete(e);
		ctl_file_free(&ctl);
		str_free(&rec);
		return;
	}
	/* with a backuprelay, the delayed DSN is replaced by the reroute */
	if (!ctl->warned && ctl->warn_time != 0 && now >= ctl->warn_time &&
	    d.backuprelay == NULL) {
		bool *delayed = xcalloc(ctl->rcpt_count + 1, sizeof(bool));

		for (size_t i = 0; i < ctl->rcpt_count; i++)
			delayed[i] = (ctl->rcpts[i].status ==
				      CTL_STATUS_DEFERRED ||
				      ctl->rcpts[i].status ==
				      CTL_STATUS_NONE) &&
				ctl_rcpt_wants(&ctl->rcpts[i],
					       CTL_NOTIFY_DELAY);
		if (dsn_send(e->qid, ctl, DSN_DELAYED, delayed, now, NULL,
			     &error) < 0)
			log_error("%s: cannot queue the delay DSN: %s",
				  e->qid, error);
		else
			str_append(&rec, "w\n");
		free(delayed);
	}
	next = now + retry_delay(&d.retry, ctl->rounds + 1);
	if (ctl->expires != 0 && next > ctl->expires)
		next = ctl->expires;
	str_printfa(&rec, "C%" PRId64 "\nA%" PRId64 "\n", (int64_t)now,
		    (int64_t)next);
	append_or_log(e->qid, &rec);
	log_info("%s: deferred, next attempt in %" PRId64 " s", e->qid,
		 (int64_t)(next - now));
	str_free(&rec);
	ctl_file_free(&ctl);
	entry_set_due(e, next);
}

/* Loads a due message and starts its round. */
static void msg_load(struct qentry *e, time_t now)
{
	struct ctl_file *ctl;
	struct msg *m;
	const char *error;
	struct str rec;
	bool flush = e->flush;
	int r;

	e->flush = false;
	r = queue_ctl_read(e->qid, &ctl, &error);
	if (r == 0) {
		entry_delete(e);
		return;
	}
	if (r < 0) {
		log_error("%s: %s", e->qid, error);
		entry_set_due(e, now + d.retry.alpha);
		return;
	}
	if (!flush && ctl->not_before > now) {
		entry_set_due(e, ctl->not_before);
		ctl_file_free(&ctl);
		return;
	}
	if (!flush && ctl->next_attempt > now) {
		entry_set_due(e, ctl->next_attempt);
		ctl_file_free(&ctl);
		return;
	}
	m = xcalloc(1, sizeof(*m));
	m->entry = e;
	m->ctl = ctl;
	m->started = now;
	e->msg = m;
	d.loaded++;
	str_init(&rec, 128);
	/* backuprelay: mail still undelivered after warntime goes to the
	 * backup relay instead (remote recipients; local ones wait) */
	bool to_backup = d.backuprelay != NULL && ctl->warn_time != 0 &&
		now >= ctl->warn_time;

	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		struct ctl_rcpt *rc = &ctl->rcpts[i];
		char *key;
		enum route_kind kind;

		if (rc->status == CTL_STATUS_DELIVERED ||
		    rc->status == CTL_STATUS_FAILED)
			continue;
		kind = route_address(d.route, rc->address, &key);
		if (kind == ROUTE_REMOTE && to_backup) {
			free(key);
			key = xstrdup(d.backuprelay);
		}
		if (kind != ROUTE_REMOTE && MOD_LOCAL->path != NULL)
			job_queue(MOD_LOCAL, m, key, i);
		else if (kind == ROUTE_REMOTE && MOD_ESMTP->path != NULL)
			job_queue(MOD_ESMTP, m, key, i);
		else
			ctl_write_status(&rec, i, CTL_STATUS_DEFERRED, 0, now,
				kind == ROUTE_REMOTE ?
				"4.4.0 No transport for remote delivery "
				"(the ESMTP module is not installed)" :
				"4.3.0 The local delivery module is not "
				"installed");
		free(key);
	}
	append_or_log(e->qid, &rec);
	str_free(&rec);
	if (m->jobs == 0)
		round_complete(m);
}

/* ---- scheduling ---- */

static void wake_cb(void *context)
{
	(void)context;
	d.wake_to = NULL;
	schedule();
}

static void schedule(void)
{
	time_t now = time(NULL);

	if (d.stopping)
		return;
	if (!d.restarting) {
		if (d.loaded < d.queuelo)
			d.filling = true;
		while (d.filling && d.heap_count > 0 &&
		       d.heap[0]->due <= now) {
			struct qentry *e = d.heap[0];

			heap_remove(e);
			if (e->msg != NULL)
				continue; /* in a round already */
			msg_load(e, now);
			if (d.loaded >= d.queuehi)
				d.filling = false;
		}
	}
	module_dispatch(MOD_LOCAL);
	module_dispatch(MOD_ESMTP);
	if (d.respawn_wanted && !d.restarting &&
	    MOD_LOCAL->inflight_count == 0 && MOD_ESMTP->inflight_count == 0 &&
	    MOD_LOCAL->pending == NULL && MOD_ESMTP->pending == NULL) {
		log_info("respawning (respawnlo): idle");
		d.restarting = true;
	}
	if (d.restarting && MOD_LOCAL->inflight_count == 0 &&
	    MOD_ESMTP->inflight_count == 0) {
		ioloop_stop(d.loop);
		return;
	}
	if (d.wake_to != NULL)
		timeout_remove(&d.wake_to);
	if (d.heap_count > 0 && d.filling) {
		time_t wait = d.heap[0]->due - now;

		if (wait < 0)
			wait = 0;
		if (wait > 3600)
			wait = 3600;
		d.wake_to = timeout_add_once(d.loop, (unsigned int)wait * 1000,
					     wake_cb, NULL);
	}
}

static int scan_cb(const char *qid, void *context)
{
	time_t *now = context;

	(void)entry_add(qid, *now);
	return 0;
}

static void scan_queue(void)
{
	const char *error;
	time_t now = time(NULL);

	if (queue_scan(scan_cb, &now, &error) < 0)
		log_error("%s", error);
}

static void fill_cb(void *context)
{
	(void)context;
	scan_queue();
	(void)queue_clean_stale(QUEUE_STALE_SECS);
	schedule();
}

static void flush(const char *qid)
{
	time_t now = time(NULL);

	if (*qid != '\0') {
		struct qentry *e = entry_find(qid);

		if (e == NULL && queue_id_valid(qid, NULL)) {
			char *path = queue_path(qid, 'C');

			if (access(path, F_OK) == 0)
				e = entry_add(qid, now);
			free(path);
		}
		if (e == NULL) {
			log_info("flush: %s is not queued", qid);
			return;
		}
		log_info("flush: %s", qid);
		if (e->msg == NULL) {
			e->flush = true;
			entry_set_due(e, now);
		}
		return;
	}
	log_info("flush: the whole queue");
	scan_queue();
	for (size_t i = 0; i < d.heap_count; i++) {
		d.heap[i]->flush = true;
		d.heap[i]->due = now;
	}
	/* all equal: still a heap */
}

static void trigger_line(const char *line)
{
	switch (line[0]) {
	case 'N':
		if (queue_id_valid(line + 1, NULL))
			(void)entry_add(line + 1, time(NULL));
		break;
	case 'F':
		flush(line + 1);
		break;
	case 'R':
		d.restarting = true;
		log_info("restarting when the deliveries in flight are done");
		break;
	default:
		break;
	}
}

static void trigger_input(void *context)
{
	char buf[4096];
	ssize_t n;

	(void)context;
	while ((n = read(d.trigger_fd, buf, sizeof(buf))) > 0) {
		str_append_n(&d.trigger_buf, buf, (size_t)n);
		for (;;) {
			const char *s = str_c(&d.trigger_buf);
			const char *nl = memchr(s, '\n',
						str_len(&d.trigger_buf));
			char *line;

			if (nl == NULL) {
				if (str_len(&d.trigger_buf) > 256)
					str_clear(&d.trigger_buf);
				break;
			}
			line = xstrndup(s, (size_t)(nl - s));
			str_delete_head(&d.trigger_buf,
					(size_t)(nl - s) + 1);
			trigger_line(line);
			free(line);
		}
	}
	schedule();
}

static int trigger_open(void)
{
	char *path = queue_trigger_path();
	struct stat st;

	if (lstat(path, &st) == 0 && !S_ISFIFO(st.st_mode))
		(void)unlink(path);
	if (mkfifo(path, 0620) < 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* the queue's group (a setgid submit) may write to it */
	{
		char *msgs = xasprintf("%s/msgs", queue_dir());

		if (stat(msgs, &st) == 0 && (st.st_mode & S_IWGRP) != 0 &&
		    (chown(path, (uid_t)-1, st.st_gid) < 0 ||
		     chmod(path, 0620) < 0))
			log_error("%s: cannot give it to the queue's group: "
				  "%s", path, strerror(errno));
		free(msgs);
	}
	/* read-write: we are always a writer too, so never see EOF */
	d.trigger_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (d.trigger_fd < 0) {
		log_error("cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	d.trigger_io = io_add(d.loop, d.trigger_fd, IO_READ, trigger_input,
			      NULL);
	return 0;
}

/* ---- signals ---- */

static void sigchld_cb(void *context)
{
	pid_t pid;
	int status;

	(void)context;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < N_ELEMENTS(d.modules); i++) {
			struct module *mod = &d.modules[i];

			if (mod->pid != pid)
				continue;
			mod->pid = 0;
			if (!d.stopping)
				log_error("module %s (pid %ld) ended "
					  "(status %d)", mod->name, (long)pid,
					  status);
			module_gone(mod);
			if (!d.stopping && mod->restart_to == NULL)
				mod->restart_to = timeout_add_once(d.loop,
					1000, module_restart_cb, mod);
		}
	}
	schedule();
}

static void sigterm_cb(void *context)
{
	(void)context;
	log_info("stopping");
	d.stopping = true;
	ioloop_stop(d.loop);
}

static void respawnlo_cb(void *context)
{
	(void)context;
	d.respawnlo_to = NULL;
	d.respawn_wanted = true;
	schedule();
}

static void respawnhi_cb(void *context)
{
	(void)context;
	d.respawnhi_to = NULL;
	log_info("respawning (respawnhi): waiting for the deliveries in "
		 "flight");
	d.restarting = true;
	schedule();
}

static void sighup_cb(void *context)
{
	(void)context;
	trigger_line("R");
	schedule();
}

/* Closes the modules' input and waits for them (SIGKILL after 10 s). */
static void modules_stop(void)
{
	time_t until = time(NULL) + 10;

	for (size_t i = 0; i < N_ELEMENTS(d.modules); i++) {
		struct module *mod = &d.modules[i];

		if (mod->to_fd >= 0) {
			close(mod->to_fd);
			mod->to_fd = -1;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(d.modules); i++) {
		struct module *mod = &d.modules[i];

		while (mod->pid > 0) {
			int status;
			pid_t r = waitpid(mod->pid, &status, WNOHANG);

			if (r == mod->pid || (r < 0 && errno != EINTR))
				break;
			if (time(NULL) >= until) {
				kill(mod->pid, SIGKILL);
				(void)waitpid(mod->pid, &status, 0);
				break;
			}
			usleep(20000);
		}
		mod->pid = 0;
	}
}

int main(int argc, char **argv)
{
	const char *error;
	char *pidpath;
	int opt;

	log_init("courierd", LOG_TARGET_STDERR);
	while ((opt = getopt(argc, argv, "d")) != -1) {
		switch (opt) {
		case 'd':
			log_set_min_level(LOG_LEVEL_DEBUG);
			break;
		default:
			fprintf(stderr, "usage: courierd [-d]\n");
			return 64;
		}
	}
	d.argv = argv;
	d.exe = realpath("/proc/self/exe", NULL);
	if (d.exe == NULL)
		d.exe = xstrdup(argv[0]);
	if (queue_init_dirs(&error) < 0)
		log_fatal("%s", error);
	pidpath = instance_var_path("run/courierd.pid");
	{
		char *rundir = instance_var_path("run");

		(void)mkdir(rundir, 0755);
		free(rundir);
	}
	switch (daemon_pidfile_create(pidpath, &d.pidfile, &error)) {
	case 1:
		break;
	case 0:
		log_fatal("%s", error);
	default:
		log_fatal("pid file %s: %s", pidpath, error);
	}
	free(pidpath);
	d.loop = ioloop_create();
	d.hash_size = 1024;
	d.hash = xcalloc(d.hash_size, sizeof(*d.hash));
	str_init(&d.trigger_buf, 256);
	config_load();
	if (trigger_open() < 0)
		log_fatal("cannot open the trigger FIFO");
	ioloop_signal_add(d.loop, SIGCHLD, sigchld_cb, NULL);
	ioloop_signal_add(d.loop, SIGTERM, sigterm_cb, NULL);
	ioloop_signal_add(d.loop, SIGINT, sigterm_cb, NULL);
	ioloop_signal_add(d.loop, SIGHUP, sighup_cb, NULL);
	(void)queue_clean_stale(QUEUE_STALE_SECS);
	scan_queue();
	log_info("started: %zu queued, queuelo %u, queuehi %u", d.entry_count,
		 d.queuelo, d.queuehi);
	if (d.queuefill > 0)
		d.fill_to = timeout_add(d.loop, d.queuefill * 1000, fill_cb,
					NULL);
	/* Courier's self-restarts: at respawnlo once idle, at respawnhi
	 * in any case (after the deliveries in flight) */
	if (d.respawnlo > 0)
		d.respawnlo_to = timeout_add_once(d.loop, d.respawnlo * 1000,
						  respawnlo_cb, NULL);
	if (d.respawnhi > 0)
		d.respawnhi_to = timeout_add_once(d.loop, d.respawnhi * 1000,
						  respawnhi_cb, NULL);
	schedule();
	ioloop_run(d.loop);

	modules_stop();
	if (d.restarting && !d.stopping) {
		log_info("restarting");
		daemon_pidfile_remove(&d.pidfile);
		ioloop_child_prepare_exec();
		execv(d.exe, d.argv);
		log_fatal("cannot restart %s: %s", d.exe, strerror(errno));
	}
	daemon_pidfile_remove(&d.pidfile);
	log_info("stopped");
	return 0;
}
