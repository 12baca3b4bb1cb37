/* courierlocal.c: the local delivery module, run by courierd.
 *
 * Reads deliveries from standard input (courierd.c describes the
 * protocol), hands each to a worker process (forked on demand, one per
 * delivery running at once, each running deliveries one after the other:
 * see "the workers" below) and reports "delid" on standard output when
 * it is over.  A worker, for each delivery:
 *
 *  1. locks the control file (flock) and reads it again: a recipient that
 *     already has a final status is skipped, so a delivery handed out
 *     twice (courierd restarted while this one ran) is made once;
 *  2. asks authlib who the account is (auth_lookup, service "courier"):
 *     the key courierd routed (local part for locals, local@domain for
 *     hosteddomains), then, for "user-ext", "user" with extension "ext"
 *     (a '+', or each character of etc/defaultsep, counts as '-');
 *     no account is a permanent failure;
 *  3. takes the account's file system uid/gid and groups (setfsuid:
 *     never root, an account with uid 0 is refused while running as
 *     root; programs it runs get all the account's ids and nothing
 *     else; root's ids are taken back after the recipient, or the
 *     worker exits), goes to its home and follows its dot-courier file
 *     (dot-courier(5), the file found by mta/dotcourier.h):
 *     .courier for user, .courier-ext, .courier-PREFIX-default,
 *     .courier-default for user-ext.  Lines: "./Maildir/" or "/path/"
 *     (a maildir), "./file" or "/file" (an mbox file, flock'ed), "|cmd"
 *     (a program fed the message: exit 0 ok, 99 ok and stop, 64 65 67
 *     68 69 70 76 77 78 100 112 fail, others try again later), "||cmd"
 *     (the same, its output followed as more lines: dynamic delivery
 *     instructions, 3 levels at most, off with DYNAMICDELIVERIES=0 in
 *     etc/courierd), comments,
 *     and addresses to forward to (comma lists, "&" prefix allowed).
 *     No file, or an empty one, means the account's maildir.  Maildir++
 *     quota applies to the account's maildir (over quota: try later);
 *     An address without an account is handled by etc/aliasdir when
 *     it has a .courier-LOCAL, .courier-PREFIX-default or
 *     .courier-default for it, as that folder's owner (never root);
 *  4. forwards (submit.h, same sender) and appends the status records
 *     before the lock is released.  A program's (and maildrop's)
 *     standard error and output go to an unlinked temporary file; the
 *     start of it, made one line, ends the status text of a failure or
 *     deferral (a .mailfilter's syntax error, a program's reason).
 * Exactly once: before any copy is made, a P record per recipient is
 * appended and fdatasync'ed.  A Maildir copy is named after the queue
 * id, the recipient's number and the target's number in the delivery
 * (maildir_copy_name()), so a retry of a recipient with a P record
 * (an attempt killed between its copy and its status record) looks for
 * it in new/ and cur/ and does not deliver it again.  The status records
 * of a delivery that only made Maildir copies are therefore not
 * fdatasync'ed (a lost S record is repaired by the retry); those of
 * programs, mboxes, forwards and maildrop are, since a retry cannot
 * check what they did.
 * A Maildir copy is written to an unnamed file in tmp/ (O_TMPFILE, or a
 * tmp/ name where the file system has none), fdatasync'ed, linked into
 * new/ and new/ fsync'ed; a missing maildir is made when its tmp/ is
 * found missing.
 * Each copy starts with Return-Path: and Delivered-To:; a message that
 * already has Delivered-To: the recipient is a loop and fails.  For a
 * VERP message (ctlfile.h) the envelope sender of a delivery (its
 * Return-Path:, SENDER, forwarded copies) is the recipient's VERP form. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "module-io.h"
#include "queue.h"
#include "str.h"

#include "courierlocal.h"

/* ---- the workers ---- */

/* A worker is a process forked from the module that runs deliveries one
 * after the other: one fork for many deliveries instead of one each, and
 * what a process caches (the aliases database, the routes, authlib's
 * socket path, resolved symbols) is kept from one delivery to the next.
 * Between deliveries it is root again with its file system ids (checked
 * by account_leave()) in "/".  It gets job lines on its socket and
 * answers "\n" when a job's outcomes are recorded, "x\n" when that was
 * its last job (it then exits).  It exits on end of input (the module
 * closes the socket of a worker idle for a minute), and dies (status 1)
 * when it cannot record an outcome or take root's file system ids back:
 * the module then reports the job (courierd retries what was not
 * recorded) and starts a new worker for the next one. */

/* Jobs a worker runs before it exits (bounds what one could leak). */
#define WORKER_JOBS_MAX 2000
/* A worker idle this long is ended. */
#define WORKER_IDLE_MS (60 * 1000)

/* Reads one line (without its newline) from fd into line, blocking.
 * Returns 1, 0 at end of input, -1 on error or a line too long. */
static int worker_read_line(int fd, struct str *line, struct str *buf)
{
	for (;;) {
		const char *nl = memchr(str_c(buf), '\n', str_len(buf));
		char chunk[4096];
		ssize_t n;

		if (nl != NULL) {
			size_t len = (size_t)(nl - str_c(buf));

			str_clear(line);
			str_append_n(line, str_c(buf), len);
			str_delete_head(buf, len + 1);
			return 1;
		}
		if (str_len(buf) > LINE_MAX_LEN)
			return -1;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && str_len(buf) == 0 ? 0 : -1;
		str_append_n(buf, chunk, (size_t)n);
	}
}

/* Puts /dev/null on fd.  Returns 0, or -1. */
static int null_fd_onto(int fd)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0)
		return -1;
	if (null != fd) {
		if (dup2(null, fd) < 0) {
			close(null);
			return -1;
		}
		close(null);
	}
	return 0;
}

__attribute__((noreturn)) static void worker_main(int fd)
{
	struct str line, buf;

	/* a write to a gone parent or program fails instead of killing */
	signal(SIGPIPE, SIG_IGN);
	/* courierd's pipes are the module's alone: its end of input and
	 * the module's death must not wait for us */
	if (null_fd_onto(0) < 0 || null_fd_onto(1) < 0)
		_exit(1);
	str_init(&line, 256);
	str_init(&buf, 4096);
	for (unsigned int jobs = 1;; jobs++) {
		bool last = jobs >= WORKER_JOBS_MAX;
		char **f;
		size_t count = 0;

		if (worker_read_line(fd, &line, &buf) <= 0)
			_exit(0);
		f = str_split(str_c(&line), "\t");
		while (f[count] != NULL)
			count++;
		/* the module checked the line (start_job()) */
		run_job(f, count);
		str_split_free(&f);
		if (fd_cb(&fd, last ? "x\n" : "\n", last ? 2 : 1) < 0 || last)
			_exit(0);
	}
}

/* ---- the module process ---- */

struct worker {
	pid_t pid;
	int fd;			/* our end of its socket */
	struct io *io;
	char *delid;		/* the job it runs, NULL when idle */
	uint64_t idle_since;	/* ioloop_now_ms() when it became idle */
	bool retiring;		/* said "x": takes no more jobs */
	struct worker *next;
};

static struct {
	struct ioloop *loop;
	struct module_io *io;
	struct worker *workers;
	struct timeout *idle_to;
	unsigned int busy;
	bool eof;
} m;

static void worker_input(void *context);

static void maybe_exit(void)
{
	if (m.eof && m.busy == 0)
		ioloop_stop(m.loop);
}

/* Forgets a worker (its process is reaped by sigchld_cb()); a job it
 * had is reported as over: courierd looks at what was recorded. */
static void worker_remove(struct worker *w)
{
	for (struct worker **p = &m.workers; *p != NULL; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	if (w->delid != NULL) {
		log_error("delivery %s: its worker (pid %ld) ended before "
			  "it was over", w->delid, (long)w->pid);
		module_io_report(w->delid);
		free(w->delid);
		m.busy--;
	}
	io_remove(&w->io);
	close(w->fd);
	free(w);
	maybe_exit();
}

static struct worker *worker_start(void)
{
	struct worker *w;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return NULL;
	}
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		ioloop_child_prepare_exec();
		close(sv[0]);
		/* the other workers' sockets: they must see the end of
		 * input when the module closes them */
		for (struct worker *o = m.workers; o != NULL; o = o->next)
			close(o->fd);
		worker_main(sv[1]);
	}
	close(sv[1]);
	w = xcalloc(1, sizeof(*w));
	w->pid = pid;
	w->fd = sv[0];
	w->next = m.workers;
	m.workers = w;
	w->io = io_add(m.loop, w->fd, IO_READ, worker_input, w);
	return w;
}

static void worker_input(void *context)
{
	struct worker *w = context;
	char buf[16];
	ssize_t n = read(w->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	/* one job at a time: its answer is all a worker writes */
	if (n <= 0 || w->delid == NULL || buf[n - 1] != '\n') {
		worker_remove(w);
		return;
	}
	module_io_report(w->delid);
	free(w->delid);
	w->delid = NULL;
	w->idle_since = ioloop_now_ms(m.loop);
	m.busy--;
	if (buf[0] == 'x') {
		w->retiring = true;
		worker_remove(w);	/* it exits */
		return;
	}
	maybe_exit();
}

/* Hands the job to an idle worker, or a new one. */
static bool worker_give(const char *delid, const char *line)
{
	struct worker *w = NULL;
	struct str msg;
	int r;

	for (struct worker *o = m.workers; o != NULL && w == NULL;
	     o = o->next) {
		if (o->delid == NULL && !o->retiring)
			w = o;
	}
	if (w == NULL && (w = worker_start()) == NULL)
		return false;
	str_init(&msg, strlen(line) + 2);
	str_append(&msg, line);
	str_append_c(&msg, '\n');
	/* an idle worker waits in read(): the write cannot block for long */
	r = fd_cb(&w->fd, str_c(&msg), str_len(&msg));
	str_free(&msg);
	if (r < 0) {
		log_error("worker %ld: %s", (long)w->pid, strerror(errno));
		worker_remove(w);
		return false;
	}
	w->delid = xstrdup(delid);
	m.busy++;
	return true;
}

static void start_job(char *line)
{
	char **f = str_split(line, "\t");
	size_t count = 0;


	while (f[count] != NULL)
		count++;
	if (count < 5 || (count - 3) % 2 != 0 ||
	    !queue_id_valid(f[1], NULL)) {
		log_error("malformed delivery request");
		if (count > 0)
			module_io_report(f[0]);
	} else if (!worker_give(f[0], line) && !worker_give(f[0], line)) {
		/* a dead worker is replaced once; then courierd retries */
		module_io_report(f[0]);
	}
	str_split_free(&f);
}

/* Ends the workers idle for WORKER_IDLE_MS (they see the end of their
 * input and exit): a quiet module keeps no processes for nothing. */
static void idle_cb(void *context)
{
	uint64_t now = ioloop_now_ms(m.loop);
	struct worker *w = m.workers, *next;

	(void)context;
	for (; w != NULL; w = next) {
		next = w->next;
		if (w->delid == NULL && now - w->idle_since >= WORKER_IDLE_MS)
			worker_remove(w);
	}
}

static void job_cb(char *line, void *context)
{
	(void)context;
	start_job(line);
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
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			log_error("worker %ld ended with status %d",
				  (long)pid, status);
	}
}

static void sigterm_cb(void *context)
{
	(void)context;
	/* finish what runs, take nothing new */
	module_io_stop(m.io);
}

int main(void)
{
	log_init("courierlocal", LOG_TARGET_STDERR);
	m.loop = ioloop_create();
	m.io = module_io_create(m.loop, LINE_MAX_LEN, job_cb, eof_cb, NULL);
	ioloop_signal_add(m.loop, SIGCHLD, sigchld_cb, NULL);
	ioloop_signal_add(m.loop, SIGTERM, sigterm_cb, NULL);
	m.idle_to = timeout_add(m.loop, WORKER_IDLE_MS / 4, idle_cb, NULL);
	ioloop_run(m.loop);
	timeout_remove(&m.idle_to);
	/* idle workers see the end of their input and exit */
	while (m.workers != NULL)
		worker_remove(m.workers);
	module_io_destroy(&m.io);
	ioloop_destroy(&m.loop);
	return 0;
}
