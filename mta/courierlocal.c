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
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "authclient.h"
#include "config-env.h"
#include "config-file.h"
#include "ctlfile.h"
#include "dotcourier.h"
#include "daemon.h"
#include "ioloop.h"
#include "log.h"
#include "maildir-quota.h"
#include "maildir.h"
#include "mem.h"
#include "module-io.h"
#include "queue.h"
#include "rfc822-header.h"
#include "str.h"
#include "submit.h"

#define LINE_MAX_LEN (1024 * 1024)
#define DOT_COURIER_MAX (64 * 1024)
#define MAX_FORWARDS 100
/* Levels of "||" programs whose output has "||" lines again. */
#define DYNAMIC_MAX_DEPTH 3

/* What the account's process answers when maildrop is to deliver. */
#define STATUS_MAILDROP 100

struct outcome {
	enum ctl_status status;
	char *diag;
	bool unsafe;	/* ran something a retry cannot check (a program,
			 * an mbox, a forward, maildrop): its status record
			 * must be on disk before we say it is done */
};

/* ---- the delivery process, as the account ---- */

struct delivery {
	const char *qid;
	const char *sender;
	const char *address;	/* the recipient, for Delivered-To */
	const char *ext;	/* extension, "" for none */
	const char *dotfile;	/* an alias's file in aliases.dir, or NULL */
	const char *maildrop;	/* maildropfilter's program, or NULL */
	bool want_maildrop;	/* the default delivery is maildrop's */
	struct auth_record *rec;
	int data_fd;
	struct str prefix;	/* Return-Path: and Delivered-To: lines */
	struct str forwards;	/* addresses, one a line */
	unsigned int forward_count;
	unsigned int rcpt_no;	/* the recipient's number in the queue */
	unsigned int targets;	/* maildir copies made so far */
	bool retry;		/* an earlier attempt may have made copies */
	bool dynamic;		/* "||" lines allowed (DYNAMICDELIVERIES) */
};

/* Sets the outcome (the first failure wins; a success does not undo
 * one). */
static void result(struct outcome *o, enum ctl_status status,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void result(struct outcome *o, enum ctl_status status,
		   const char *fmt, ...)
{
	va_list ap;

	if (o->status == CTL_STATUS_FAILED ||
	    (o->status == CTL_STATUS_DEFERRED &&
	     status != CTL_STATUS_FAILED))
		return;
	free(o->diag);
	va_start(ap, fmt);
	o->diag = xvasprintf(fmt, ap);
	va_end(ap);
	o->status = status;
}

/* Feeds the message (prefix then data file) to cb. */
static int message_copy(struct delivery *dl,
			int (*cb)(void *ctx, const void *p, size_t n),
			void *ctx)
{
	char buf[65536];
	ssize_t n;

	if (cb(ctx, str_c(&dl->prefix), str_len(&dl->prefix)) < 0)
		return -1;
	if (lseek(dl->data_fd, 0, SEEK_SET) < 0)
		return -1;
	while ((n = read(dl->data_fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (cb(ctx, buf, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

static uint64_t message_size(struct delivery *dl)
{
	struct stat st;

	if (fstat(dl->data_fd, &st) < 0)
		return str_len(&dl->prefix);
	return str_len(&dl->prefix) + (uint64_t)st.st_size;
}

static int fd_cb(void *context, const void *p, size_t n)
{
	int fd = *(int *)context;
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The name of the copy of this delivery's target in a maildir, the same
 * in every attempt: "<arrival>.C<qid>R<n>T<k>.<host>,S=<size>" with the
 * queue id's dots written '_' (qid and recipient number make it unique;
 * k counts the maildir targets of the delivery).  The host part is
 * maildir_unique_name()'s, so it is escaped as the spec asks. */
static char *maildir_copy_name(struct delivery *dl, uint64_t size)
{
	char *uniq = maildir_unique_name(NULL);
	const char *host = strchr(uniq, '.');
	time_t secs = 0;
	struct str s;

	host = host != NULL ? strchr(host + 1, '.') : NULL;
	(void)queue_id_valid(dl->qid, &secs);
	str_init(&s, 128);
	str_printfa(&s, "%lld.C", (long long)secs);
	for (const char *p = dl->qid; *p != '\0'; p++)
		str_append_c(&s, *p == '.' ? '_' : *p);
	str_printfa(&s, "R%uT%u.%s,S=%llu", dl->rcpt_no, dl->targets,
		    host != NULL ? host + 1 : "localhost",
		    (unsigned long long)size);
	free(uniq);
	return str_steal(&s);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r, e;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

/* Makes the copy's file, unnamed when the file system can: an O_TMPFILE
 * inode in dir/tmp (no name made in tmp/ and none to remove, the costs
 * that matter on ext4), else dir/tmp/NAME.  Returns the fd with *tmp_r
 * NULL (unnamed) or the tmp/ path (caller frees), or -1 with errno. */
static int maildir_copy_open(const char *dir, const char *name,
			     char **tmp_r)
{
	char *tmpdir = xasprintf("%s/tmp", dir);
	int fd = open(tmpdir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

	free(tmpdir);
	*tmp_r = NULL;
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
			 errno != EINVAL))
		return fd;
	*tmp_r = xasprintf("%s/tmp/%s", dir, name);
	/* a killed attempt may have left it: the flock on the control
	 * file makes us the only writer of this name */
	(void)unlink(*tmp_r);
	return open(*tmp_r, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* Gives the written copy its name in new/: link(2) of the tmp/ name, or
 * of the unnamed inode through /proc/self/fd (linkat(AT_EMPTY_PATH)
 * would need CAP_DAC_READ_SEARCH, which the account's file system
 * identity does not have). */
static int maildir_copy_link(int fd, const char *tmp, const char *final)
{
	char proc[64];

	if (tmp != NULL)
		return link(tmp, final);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, final, AT_SYMLINK_FOLLOW);
}

/* Writes the copy (an unnamed file in dir/tmp, or dir/tmp/NAME),
 * fdatasyncs it (the size with the data: all a reader needs), links it
 * to dir/new/NAME and fsyncs new/ (lib/maildir.h's delivery, with a name
 * chosen here so that a retry can find it).  Returns 1 when made, 0
 * when new/NAME is already there (an earlier attempt made it), -1 with
 * *error_r; ENOENT in *errno_r when dir/tmp is missing. */
static int maildir_copy(struct delivery *dl, const char *dir,
			const char *name, int *errno_r, const char **error_r)
{
	static char err[512];
	char *tmp = NULL;
	char *final = xasprintf("%s/new/%s", dir, name);
	char *newdir = xasprintf("%s/new", dir);
	char *tmpdir = xasprintf("%s/tmp", dir);
	const char *what = "open", *where = tmpdir;
	int fd, ret = -1, e = 0;

	fd = maildir_copy_open(dir, name, &tmp);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	if (tmp != NULL)
		where = tmp;
	what = "write";
	if (message_copy(dl, fd_cb, &fd) < 0) {
		e = errno;
		goto out_close;
	}
	what = "fsync";
	if (fdatasync(fd) < 0) {
		e = errno;
		goto out_close;
	}
	what = "link";
	where = final;
	if (maildir_copy_link(fd, tmp, final) < 0) {
		e = errno;
		/* made by a killed attempt, maybe before its fsync of new/:
		 * make it durable before we say it is delivered */
		if (e == EEXIST) {
			what = "fsync";
			where = newdir;
			if (fsync_dir(newdir) == 0)
				ret = 0;
			else
				e = errno;
		}
		goto out_close;
	}
	what = "fsync";
	where = newdir;
	if (fsync_dir(newdir) < 0) {
		/* not durable: take it back rather than half-deliver */
		e = errno;
		(void)unlink(final);
		goto out_close;
	}
	ret = 1;
out_close:
	close(fd);
	if (tmp != NULL)
		(void)unlink(tmp);
out:
	*errno_r = e;
	if (ret < 0) {
		snprintf(err, sizeof(err), "%s(%s): %s", what, where,
			 strerror(e));
		*error_r = err;
	}
	free(tmp);
	free(tmpdir);
	free(final);
	free(newdir);
	return ret;
}

static void deliver_maildir(struct delivery *dl, const char *dir,
			    const char *quota, struct outcome *o)
{
	struct maildir_quota *q = NULL;
	uint64_t size = message_size(dl);
	const char *error;
	char *name, *found = NULL;
	int r;

	int e;

	/* a missing maildir is made when the copy finds no tmp/ (below):
	 * no stat of its three folders for every delivery */
	name = maildir_copy_name(dl, size);
	dl->targets++;
	if (dl->retry) {
		/* an earlier attempt was cut short (P record without an
		 * outcome): its copy may be in new/ or, read since, cur/ */
		r = maildir_is_maildir(dir) ?
			maildir_find(dir, name, &found, &error) : 0;
		if (r < 0)
			log_warning("%s: %s", dir, error);
		if (r > 0) {
			/* the killed attempt may not have fsynced the
			 * folder yet */
			char *sub = xasprintf("%s/%.3s", dir, found);

			r = fsync_dir(sub);
			free(sub);
			if (r < 0) {
				result(o, CTL_STATUS_DEFERRED, "4.3.0 %s/%s: "
				       "fsync: %s", dir, found,
				       strerror(errno));
				free(found);
				free(name);
				return;
			}
			log_info("%s: %s/%s was made by an earlier attempt",
				 dl->qid, dir, found);
			free(found);
			free(name);
			result(o, CTL_STATUS_DELIVERED, "250 2.0.0 delivered "
			       "to maildir");
			return;
		}
	}
	r = maildir_quota_open(dir, quota, &q, &error);
	if (r < 0) {
		log_warning("%s: quota: %s", dir, error);
	} else if (r > 0) {
		r = maildir_quota_check(q, (int64_t)size, 1, &error);
		if (r == 0) {
			result(o, CTL_STATUS_DEFERRED,
			       "4.2.2 Mailbox full (over quota)");
			maildir_quota_close(&q);
			free(name);
			return;
		}
	}
	r = maildir_copy(dl, dir, name, &e, &error);
	if (r < 0 && e == ENOENT) {
		if (maildir_create(dir, &error) < 0) {
			result(o, CTL_STATUS_DEFERRED, "4.2.0 %s: %s", dir,
			       error);
			maildir_quota_close(&q);
			free(name);
			return;
		}
		r = maildir_copy(dl, dir, name, &e, &error);
	}
	free(name);
	if (r < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: %s", dir, error);
		maildir_quota_close(&q);
		return;
	}
	if (r > 0 && q != NULL &&
	    maildir_quota_add(q, (int64_t)size, 1, &error) < 0)
		log_warning("%s: quota: %s", dir, error);
	maildir_quota_close(&q);
	result(o, CTL_STATUS_DELIVERED, "250 2.0.0 delivered to maildir");
}

/* mbox: "From " line, ">From " quoting, a blank line after. */
struct mbox_ctx {
	int fd;
	bool bol;
	struct str buf;
};

static int mbox_cb(void *context, const void *p, size_t n)
{
	struct mbox_ctx *c = context;
	const char *s = p;

	for (size_t i = 0; i < n; i++) {
		if (c->bol && n - i >= 5 && memcmp(s + i, "From ", 5) == 0)
			str_append_c(&c->buf, '>');
		str_append_c(&c->buf, s[i]);
		c->bol = s[i] == '\n';
	}
	if (str_len(&c->buf) > 65536) {
		int r = fd_cb(&c->fd, str_c(&c->buf), str_len(&c->buf));

		str_clear(&c->buf);
		return r;
	}
	return 0;
}

static void deliver_mbox(struct delivery *dl, const char *path,
			 struct outcome *o)
{
	struct mbox_ctx c = { .bol = true };
	time_t now = time(NULL);
	char date[64];
	struct tm tm;
	off_t start;

	o->unsafe = true;
	c.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (c.fd < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.2.0 %s: %s", path,
		       strerror(errno));
		return;
	}
	if (flock(c.fd, LOCK_EX) < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.2.0 %s: lock: %s", path,
		       strerror(errno));
		close(c.fd);
		return;
	}
	start = lseek(c.fd, 0, SEEK_END);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	str_init(&c.buf, 70000);
	str_printfa(&c.buf, "From %s %s\n", *dl->sender != '\0' ?
		    dl->sender : "MAILER-DAEMON", date);
	if (message_copy(dl, mbox_cb, &c) < 0 ||
	    (str_append_c(&c.buf, '\n'),
	     fd_cb(&c.fd, str_c(&c.buf), str_len(&c.buf)) < 0) ||
	    fsync(c.fd) < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: %s", path,
		       strerror(errno));
		if (start >= 0 && ftruncate(c.fd, start) < 0)
			log_error("%s: cannot truncate: %s", path,
				  strerror(errno));
	} else {
		result(o, CTL_STATUS_DELIVERED, "250 2.0.0 delivered to %s",
		       path);
	}
	str_free(&c.buf);
	close(c.fd);
}

static bool hard_exit(int code)
{
	static const int codes[] = {
		64, 65, 67, 68, 69, 70, 76, 77, 78, 100, 112,
	};

	for (size_t i = 0; i < N_ELEMENTS(codes); i++) {
		if (code == codes[i])
			return true;
	}
	return false;
}

/* Runs argv (argv[0] a path) as the account with the message on its
 * standard input and the dot-courier environment.  Returns 0 with the
 * wait status in *status_r, or -1 after recording a deferral. */
/* The most of a program's output that goes into its delivery status. */
#define PROGRAM_OUTPUT_MAX 300

/* A file for a program's standard error (and output): unlinked at once,
 * so that it goes when closed; -1 if none can be made (the program then
 * writes to courierlocal's standard error, the log, as before). */
static int program_output_file(void)
{
	char tmpl[] = "/tmp/courierlocal-out.XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd >= 0)
		(void)unlink(tmpl);
	return fd;
}

/* The start of what a program wrote into fd, as one line for its status
 * text (dot-courier(5): a program's output explains its failure): at
 * most PROGRAM_OUTPUT_MAX bytes, control characters and 8-bit bytes as
 * blanks, runs of blanks as one.  NULL when it wrote nothing. */
static char *program_output(int fd)
{
	char buf[PROGRAM_OUTPUT_MAX];
	ssize_t n;
	struct str out;

	if (fd < 0)
		return NULL;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return NULL;
	str_init(&out, (size_t)n + 1);
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x20 || c >= 0x7f)
			c = ' ';
		if (c == ' ' && (str_len(&out) == 0 ||
				 str_c(&out)[str_len(&out) - 1] == ' '))
			continue;
		str_append_c(&out, (char)c);
	}
	while (str_len(&out) > 0 && str_c(&out)[str_len(&out) - 1] == ' ')
		str_truncate(&out, str_len(&out) - 1);
	if (str_len(&out) == 0) {
		str_free(&out);
		return NULL;
	}
	return str_steal(&out);
}

/* ": OUTPUT" for a status text, or "" without output. */
static char *output_suffix(const char *output)
{
	return output != NULL ? xasprintf(": %s", output) : xstrdup("");
}

static int run_fed(struct delivery *dl, char *const argv[], int out_fd,
		   bool as_account, int *status_r, char **output_r,
		   struct outcome *o)
{
	int pipefd[2];
	pid_t pid;
	struct sigaction sa;
	int errfd;

	*output_r = NULL;

	if (pipe(pipefd) < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 pipe: %s",
		       strerror(errno));
		return -1;
	}
	errfd = program_output_file();
	pid = fork();
	if (pid < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 fork: %s",
		       strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		if (errfd >= 0)
			close(errfd);
		return -1;
	}
	if (pid == 0) {
		int null = out_fd >= 0 ? out_fd :
			   errfd >= 0 ? errfd : open("/dev/null", O_WRONLY);

		if (errfd >= 0)
			dup2(errfd, 2);

		/* the delivery process only has the account's file system
		 * ids (account_enter()): the program gets all of them */
		if (as_account) {
			const char *e;

			if (daemon_drop_privileges_id(dl->rec->uid,
						      dl->rec->gid,
						      dl->rec->sysusername,
						      &e) < 0) {
				log_error("%s", e);
				_exit(75);
			}
		}
		dup2(pipefd[0], 0);
		if (null >= 0)
			dup2(null, 1);
		close(pipefd[0]);
		close(pipefd[1]);
		setenv("HOME", dl->rec->home, 1);
		setenv("SENDER", dl->sender, 1);
		setenv("RECIPIENT", dl->address, 1);
		setenv("EXT", dl->ext, 1);
		setenv("USER", dl->rec->address, 1);
		{
			const char *at = strrchr(dl->address, '@');

			setenv("HOST", at != NULL ? at + 1 : "", 1);
			if (at != NULL) {
				char *local = xstrndup(dl->address,
					(size_t)(at - dl->address));

				setenv("LOCAL", local, 1);
				free(local);
			}
		}
		setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
		/* the worker ignores SIGPIPE (below): not the program */
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[0]);
	/* a program that does not read its input must not kill us */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	(void)message_copy(dl, fd_cb, &pipefd[1]);
	close(pipefd[1]);
	while (waitpid(pid, status_r, 0) < 0) {
		if (errno != EINTR) {
			result(o, CTL_STATUS_DEFERRED, "4.3.0 wait: %s",
			       strerror(errno));
			if (errfd >= 0)
				close(errfd);
			return -1;
		}
	}
	*output_r = program_output(errfd);
	if (errfd >= 0)
		close(errfd);
	return 0;
}

/* Returns true when the program asked to stop (exit 99). */
static bool deliver_program(struct delivery *dl, const char *cmd,
			    struct outcome *o)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
	char *output, *suffix;
	int status;
	bool stop = false;

	o->unsafe = true;
	if (run_fed(dl, argv, -1, true, &status, &output, o) < 0)
		return false;
	suffix = output_suffix(output);
	if (WIFSIGNALED(status)) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 |%s: killed by signal "
		       "%d%s", cmd, WTERMSIG(status), suffix);
	} else if (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 99) {
		result(o, CTL_STATUS_DELIVERED, "250 2.0.0 delivered to |%s",
		       cmd);
		stop = WEXITSTATUS(status) == 99;
	} else if (hard_exit(WEXITSTATUS(status))) {
		result(o, CTL_STATUS_FAILED, "550 5.3.0 |%s: exit status %d%s",
		       cmd, WEXITSTATUS(status), suffix);
	} else {
		result(o, CTL_STATUS_DEFERRED, "451 4.3.0 |%s: exit status "
		       "%d%s", cmd, WEXITSTATUS(status), suffix);
	}
	free(suffix);
	free(output);
	return stop;
}

/* The maildropfilter hook: the account's mail goes through maildrop
 * (delivery mode, as the account): exit 0 delivered, 75 (EX_TEMPFAIL)
 * or a signal deferred, anything else failed. */
static void deliver_maildrop(struct delivery *dl, struct outcome *o)
{
	char *argv[8], *output, *suffix;
	size_t n = 0;
	int status;

	argv[n++] = (char *)dl->maildrop;
	argv[n++] = (char *)"-d";
	argv[n++] = dl->rec->address;
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)dl->sender;
	if (*dl->ext != '\0')
		argv[n++] = (char *)dl->ext;
	argv[n] = NULL;
	o->unsafe = true;
	if (run_fed(dl, argv, -1, false, &status, &output, o) < 0)
		return;
	suffix = output_suffix(output);
	if (WIFSIGNALED(status))
		result(o, CTL_STATUS_DEFERRED, "4.3.0 maildrop: killed by "
		       "signal %d%s", WTERMSIG(status), suffix);
	else if (WEXITSTATUS(status) == 0)
		result(o, CTL_STATUS_DELIVERED, "250 2.0.0 delivered by "
		       "maildrop");
	else if (WEXITSTATUS(status) == 75 || WEXITSTATUS(status) == 127)
		result(o, CTL_STATUS_DEFERRED, "451 4.3.0 maildrop: exit "
		       "status %d%s%s", WEXITSTATUS(status),
		       WEXITSTATUS(status) == 127 ? " (cannot run it)" : "",
		       suffix);
	else
		result(o, CTL_STATUS_FAILED, "550 5.3.0 maildrop: exit "
		       "status %d%s", WEXITSTATUS(status), suffix);
	free(suffix);
	free(output);
}

static void add_forwards(struct delivery *dl, const char *line,
			 struct outcome *o)
{
	char **v = str_split(line, ",");

	for (size_t i = 0; v[i] != NULL; i++) {
		char *a = str_trim(v[i]);

		while (*a == '&' || *a == '!')
			a++;
		if (*a == '\0')
			continue;
		if (dl->forward_count >= MAX_FORWARDS) {
			result(o, CTL_STATUS_FAILED, "550 5.3.0 too many "
			       "forwarding addresses");
			break;
		}
		str_append(&dl->forwards, a);
		str_append_c(&dl->forwards, '\n');
		dl->forward_count++;
	}
	str_split_free(&v);
}

static void deliver_default(struct delivery *dl, struct outcome *o)
{
	struct str md;

	if (dl->maildrop != NULL) {
		/* maildrop -d looks the account up through authdaemond,
		 * whose socket only root reaches: the parent runs it (and
		 * maildrop switches to the account) */
		dl->want_maildrop = true;
		return;
	}
	str_init(&md, 256);
	auth_record_maildir(dl->rec, &md);
	deliver_maildir(dl, str_c(&md), dl->rec->quota, o);
	str_free(&md);
}

static bool follow(struct delivery *dl, const char *text, const char *file,
		   unsigned int depth, bool *any_r, struct outcome *o);

/* "||command": dynamic delivery instructions (dot-courier(5)).  The
 * program runs as a "|" line does, and what it writes on its standard
 * output is followed as more lines of the file; exit 99 stops after
 * them.  At most DYNAMIC_MAX_DEPTH levels of programs that print "||"
 * lines; DYNAMICDELIVERIES=0 in etc/courierd turns them off.  Returns
 * true when the delivery instructions end here. */
static bool deliver_dynamic(struct delivery *dl, const char *cmd,
			    const char *file, unsigned int depth,
			    struct outcome *o)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
	char tmpl[] = "/tmp/courierlocal.XXXXXX";
	char *output, *suffix;
	struct str out;
	bool any = false, stop;
	int fd, status, code;

	o->unsafe = true;
	if (!dl->dynamic) {
		result(o, CTL_STATUS_FAILED, "550 5.7.1 %s: dynamic delivery "
		       "instructions are disabled by the administrator", file);
		return true;
	}
	if (depth >= DYNAMIC_MAX_DEPTH) {
		result(o, CTL_STATUS_FAILED, "550 5.4.6 %s: too many levels "
		       "of dynamic delivery instructions", file);
		return true;
	}
	fd = mkstemp(tmpl);
	if (fd < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: %s", tmpl,
		       strerror(errno));
		return true;
	}
	(void)unlink(tmpl);
	if (run_fed(dl, argv, fd, true, &status, &output, o) < 0) {
		close(fd);
		return true;
	}
	/* its standard error: what it says when it fails */
	suffix = output_suffix(output);
	free(output);
	if (WIFSIGNALED(status)) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 ||%s: killed by signal "
		       "%d%s", cmd, WTERMSIG(status), suffix);
		free(suffix);
		close(fd);
		return true;
	}
	code = WEXITSTATUS(status);
	if (code != 0 && code != 99) {
		if (hard_exit(code))
			result(o, CTL_STATUS_FAILED, "550 5.3.0 ||%s: exit "
			       "status %d%s", cmd, code, suffix);
		else
			result(o, CTL_STATUS_DEFERRED, "451 4.3.0 ||%s: exit "
			       "status %d%s", cmd, code, suffix);
		free(suffix);
		close(fd);
		return true;
	}
	free(suffix);
	str_init(&out, 1024);
	(void)lseek(fd, 0, SEEK_SET);
	for (;;) {
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (str_len(&out) + (size_t)n > DOT_COURIER_MAX) {
			result(o, CTL_STATUS_DEFERRED, "4.3.0 ||%s: more than "
			       "%d bytes of delivery instructions", cmd,
			       DOT_COURIER_MAX);
			close(fd);
			str_free(&out);
			return true;
		}
		str_append_n(&out, buf, (size_t)n);
	}
	close(fd);
	if (memchr(str_c(&out), '\0', str_len(&out)) != NULL) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 ||%s: NUL in its "
		       "delivery instructions", cmd);
		str_free(&out);
		return true;
	}
	stop = follow(dl, str_c(&out), file, depth + 1, &any, o);
	str_free(&out);
	return stop || code == 99;
}

/* Follows the lines of text (a dot-courier file, or the output of a
 * "||" program at depth > 0).  *any_r is set when a line was not blank
 * or a comment.  Returns true when delivery stops here (a program's exit
 * 99, a failure or a deferral). */
static bool follow(struct delivery *dl, const char *text, const char *file,
		   unsigned int depth, bool *any_r, struct outcome *o)
{
	char **lines = str_split(text, "\n");
	bool stop = false;

	for (size_t i = 0; !stop && lines[i] != NULL; i++) {
		char *l = str_trim(lines[i]);
		size_t len = strlen(l);

		if (*l == '\0' || *l == '#')
			continue;
		*any_r = true;
		if (l[0] == '|' && l[1] == '|') {
			stop = deliver_dynamic(dl, str_trim(l + 2), file,
					       depth, o);
		} else if (l[0] == '|') {
			stop = deliver_program(dl, str_trim(l + 1), o);
		} else if (l[0] == '/' || l[0] == '.') {
			if (l[len - 1] == '/')
				deliver_maildir(dl, l, NULL, o);
			else
				deliver_mbox(dl, l, o);
		} else {
			add_forwards(dl, l, o);
		}
		if (o->status == CTL_STATUS_FAILED ||
		    o->status == CTL_STATUS_DEFERRED)
			stop = true;
	}
	str_split_free(&lines);
	return stop;
}

/* As the account, in its home: follows the instructions. */
static void deliver_as_user(struct delivery *dl, struct outcome *o)
{
	char *file = dl->dotfile != NULL ? xstrdup(dl->dotfile) : NULL;
	struct str text;
	bool any = false;
	int fd;

	if (file == NULL && dotcourier_find(AT_FDCWD, dl->ext, &file) < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 <%s>: cannot look for "
		       "its .courier file: %s", dl->address, strerror(errno));
		return;
	}
	if (file == NULL) {
		if (*dl->ext != '\0') {
			result(o, CTL_STATUS_FAILED, "550 5.1.1 <%s>: unknown "
			       "user (no .courier-%s)", dl->address, dl->ext);
			return;
		}
		deliver_default(dl, o);
		return;
	}
	str_init(&text, 1024);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: %s", file,
		       strerror(errno));
		goto out;
	}
	for (;;) {
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (str_len(&text) + (size_t)n > DOT_COURIER_MAX) {
			result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: too large",
			       file);
			close(fd);
			goto out;
		}
		str_append_n(&text, buf, (size_t)n);
	}
	close(fd);
	(void)follow(dl, str_c(&text), file, 0, &any, o);
	if (!any && dl->dotfile != NULL)
		result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: no delivery "
		       "instructions for the alias", file);
	else if (!any)
		deliver_default(dl, o);
out:
	str_free(&text);
	free(file);
}

/* ---- the delivery process, before switching user ---- */

struct loop_ctx {
	const char *address;
	bool found;
};

static void loop_field_cb(const struct rfc822_header_field *f,
			  void *context)
{
	struct loop_ctx *ctx = context;

	if (f->name_len == 12 &&
	    strncasecmp(f->name, "Delivered-To", 12) == 0 &&
	    strcasecmp(f->value, ctx->address) == 0)
		ctx->found = true;
}

/* Whether the message's header has Delivered-To: address. */
static bool is_loop(int fd, const char *address)
{
	struct rfc822_header_parser *p = rfc822_header_parser_create(NULL);
	struct loop_ctx ctx = { address, false };
	char buf[16384];
	ssize_t n;
	size_t used;

	(void)lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (rfc822_header_parser_feed(p, buf, (size_t)n, &used,
					      loop_field_cb, &ctx) == 1)
			break;
	}
	rfc822_header_parser_destroy(&p);
	return ctx.found;
}

/* Looks the account up: key, then key without its extension. */
static int lookup(const char *key, struct auth_record *rec, char **ext_r,
		  const char **error_r)
{
	char *local, *domain = NULL, *seps, *at = strrchr(key, '@');
	int r = auth_lookup("courier", key, rec, error_r);

	*ext_r = xstrdup("");
	if (r != 0)
		return r;
	local = at != NULL ? xstrndup(key, (size_t)(at - key)) :
		xstrdup(key);
	if (at != NULL)
		domain = xstrdup(at);
	seps = dotcourier_separators();
	dotcourier_map_separators(local, seps);
	for (char *dash = strrchr(local, '-'); dash != NULL && r == 0;
	     dash = strrchr(local, '-')) {
		char *try;

		*dash = '\0';
		if (*local == '\0')
			break;
		try = xasprintf("%s%s", local, domain != NULL ? domain : "");
		auth_record_free(rec);
		r = auth_lookup("courier", try, rec, error_r);
		free(try);
		if (r != 0) {
			const char *ext = key + (dash - local) + 1;

			free(*ext_r);
			*ext_r = at != NULL ?
				xstrndup(ext, (size_t)(at - ext)) :
				xstrdup(ext);
			dotcourier_map_separators(*ext_r, seps);
		}
	}
	free(seps);
	free(local);
	free(domain);
	return r;
}

/* The maildrop to run when etc/maildropfilter exists: its first line
 * when that is an absolute path, else the suite's own bin/maildrop
 * (beside this module's install, else BINDIR).  NULL: no filtering. */
static char *maildrop_path(void)
{
	char *path = config_path("maildropfilter"), *line = NULL, *exe, *p;

	if (access(path, F_OK) < 0) {
		free(path);
		return NULL;
	}
	free(path);
	line = config_read_first_line("maildropfilter", NULL);
	if (line != NULL && line[0] == '/')
		return line;
	free(line);
	exe = realpath("/proc/self/exe", NULL);
	if (exe != NULL) {
		/* PREFIX/libexec/courier/modules/courierlocal */
		for (int i = 0; i < 4 && (p = strrchr(exe, '/')) != NULL; i++)
			*p = '\0';
		p = xasprintf("%s/bin/maildrop", exe);
		free(exe);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return xstrdup(BINDIR "/maildrop");
}

/* The account of a program or mailbox alias: the owner of
 * etc/aliases.dir, home in that folder.  Returns 1, or -1 with
 * *error_r. */
static int alias_account(const char *akey, struct auth_record *rec,
			 char **ext_r, const char **error_r)
{
	static char err[512];
	char *dir = config_path("aliases.dir");
	struct stat st;

	*ext_r = xstrdup("");
	if (stat(dir, &st) < 0) {
		snprintf(err, sizeof(err), "%s: %s (run makealiases)", dir,
			 strerror(errno));
		*error_r = err;
		free(dir);
		return -1;
	}
	rec->address = xstrdup(akey);
	rec->home = dir;
	rec->has_uid = true;
	rec->uid = st.st_uid;
	rec->gid = st.st_gid;
	return 1;
}

/* An address without an account: etc/aliasdir, when it has a
 * .courier-LOCAL, .courier-PREFIX-default or .courier-default for it
 * (dot-courier(5)), handles it as the folder's owner, home in that
 * folder, the local part being the extension.  Returns 1 with *rec and
 * *ext_r, 0 when aliasdir has nothing for it. */
static int aliasdir_account(const char *key, struct auth_record *rec,
			    char **ext_r)
{
	char *dir = config_path("aliasdir"), *local, *seps, *file;
	const char *at = strrchr(key, '@');
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(dir);
		return 0;
	}
	local = at != NULL ? xstrndup(key, (size_t)(at - key)) :
		xstrdup(key);
	str_lcase(local);
	seps = dotcourier_separators();
	dotcourier_map_separators(local, seps);
	free(seps);
	file = NULL;
	if (*local != '\0' && local[0] != '.')
		(void)dotcourier_find_in(dir, local, &file);
	if (file == NULL) {
		free(local);
		free(dir);
		return 0;
	}
	free(file);
	auth_record_free(rec);
	auth_record_init(rec);
	rec->address = xstrdup(key);
	rec->home = dir;
	rec->has_uid = true;
	rec->uid = st.st_uid;
	rec->gid = st.st_gid;
	*ext_r = local;
	return 1;
}

/* Takes the account's file system identity (setfsuid, setfsgid, its
 * groups): the delivery process stays root for what follows (status
 * records, forwards, maildrop) but every file it opens, makes or looks
 * at until account_leave() is the account's, so one process does the
 * delivery without a second fork.  It runs no code of the account's:
 * programs run in a child that drops every id (run_fed()).  Returns 1
 * when switched, 0 when not running as root (nothing to switch), -1 with
 * *error_r. */
static int account_enter(const struct auth_record *rec, const char **error_r)
{
	static char err[256];
	int r;

	if (geteuid() != 0)
		return 0;
	if (rec->uid == 0) {
		*error_r = "refusing to deliver as root";
		return -1;
	}
	r = rec->sysusername != NULL ?
		initgroups(rec->sysusername, rec->gid) :
		setgroups(1, &rec->gid);
	if (r < 0) {
		snprintf(err, sizeof(err), "groups of uid %lu: %s",
			 (unsigned long)rec->uid, strerror(errno));
		*error_r = err;
		return -1;
	}
	(void)setfsgid(rec->gid);
	(void)setfsuid(rec->uid);
	/* setfsuid() reports the old id: ask again to be sure */
	if ((uid_t)setfsuid((uid_t)-1) != rec->uid ||
	    (gid_t)setfsgid((gid_t)-1) != rec->gid) {
		snprintf(err, sizeof(err), "file system ids did not switch "
			 "to %lu/%lu", (unsigned long)rec->uid,
			 (unsigned long)rec->gid);
		*error_r = err;
		return 1;	/* the caller leaves (or dies) */
	}
	return 1;
}

/* Back to root's file system identity.  Returns 0, or -1 with *error_r
 * (the process must then exit). */
static int account_leave(const char **error_r)
{
	(void)setfsuid(0);
	(void)setfsgid(0);
	if (setfsuid((uid_t)-1) != 0 || setfsgid((gid_t)-1) != 0 ||
	    setgroups(0, NULL) < 0) {
		*error_r = "cannot take root's file system ids back";
		return -1;
	}
	return 0;
}

/* DYNAMICDELIVERIES in etc/courierd (read before switching to the
 * account, who may not read it): "0" turns "||" lines off. */
static bool dynamic_allowed(void)
{
	struct config_env *env = NULL;
	const char *v;
	bool ok = true;

	if (config_env_read("courierd", NULL, &env, NULL) > 0) {
		v = config_env_get(env, "DYNAMICDELIVERIES");
		ok = v == NULL || atoi(v) != 0;
	}
	config_env_free(&env);
	return ok;
}

static void deliver_rcpt(const char *qid, const struct ctl_file *ctl,
			 const char *key, size_t rn, int data_fd,
			 struct outcome *o)
{
	struct auth_record rec;
	struct delivery dl;
	const char *error;
	char *ext, *akey = NULL, *dotfile = NULL, *maildrop = NULL;
	char *sender;
	const char *address = ctl->rcpts[rn].address;
	int r;

	/* the envelope sender of this delivery: with VERP, the recipient's
	 * own (ctlfile.h) */
	if (ctl->verp && *ctl->sender != '\0') {
		struct str v;

		str_init(&v, 256);
		ctl_verp_sender(&v, ctl->sender, address);
		sender = str_steal(&v);
	} else {
		sender = xstrdup(ctl->sender);
	}
	auth_record_init(&rec);
	{
		struct aliases_db *adb = aliases_default_db();

		akey = adb == NULL ? NULL : aliases_self_key(adb, address,
			aliases_is_local_domain);
	}
	if (akey != NULL)
		r = alias_account(akey, &rec, &ext, &error);
	else
		r = lookup(key, &rec, &ext, &error);
	if (r < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 account lookup failed "
		       "(%s)", error);
		goto out;
	}
	if (r == 0 && akey == NULL) {
		free(ext);
		ext = NULL;
		r = aliasdir_account(key, &rec, &ext);
		if (ext == NULL)
			ext = xstrdup("");
	}
	if (r == 0) {
		result(o, CTL_STATUS_FAILED, "550 5.1.1 <%s>: unknown user",
		       address);
		goto out;
	}
	if (!rec.has_uid || (rec.uid == 0 && geteuid() == 0)) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 <%s>: the account has "
		       "uid 0: delivery as root is refused (give it a mail "
		       "user)", address);
		goto out;
	}
	if (is_loop(data_fd, address)) {
		result(o, CTL_STATUS_FAILED, "550 5.4.6 <%s>: mail loop "
		       "(Delivered-To: already present)", address);
		goto out;
	}
	memset(&dl, 0, sizeof(dl));
	dl.qid = qid;
	dl.sender = sender;
	dl.address = address;
	dl.ext = ext;
	if (akey != NULL) {
		dotfile = aliases_dotfile_name(akey);
		dl.dotfile = dotfile;
	} else {
		maildrop = maildrop_path();
		dl.maildrop = maildrop;
	}
	dl.rec = &rec;
	dl.data_fd = data_fd;
	dl.rcpt_no = (unsigned int)rn;
	dl.dynamic = dynamic_allowed();
	/* P records of earlier attempts (ours is not in ctl) */
	dl.retry = ctl->rcpts[rn].started > 0;
	str_init(&dl.prefix, 256);
	str_printfa(&dl.prefix, "Return-Path: <%s>\nDelivered-To: %s\n",
		    sender, address);
	str_init(&dl.forwards, 256);
	{
		struct outcome uo = { CTL_STATUS_NONE, NULL, false };
		struct str reply;
		int sw = account_enter(&rec, &error);

		if (sw < 0) {
			result(&uo, CTL_STATUS_DEFERRED, "4.3.0 cannot switch "
			       "to uid %lu: %s", (unsigned long)rec.uid,
			       error);
		} else if (chdir(rec.home) < 0) {
			result(&uo, CTL_STATUS_DEFERRED, "4.3.0 %s: %s",
			       rec.home, strerror(errno));
		} else {
			deliver_as_user(&dl, &uo);
		}
		if (sw != 0 && account_leave(&error) < 0) {
			/* never go on half the account's */
			log_error("%s: %s", qid, error);
			_exit(1);
		}
		if (chdir("/") < 0)
			log_error("chdir /: %s", strerror(errno));
		if (dl.want_maildrop && uo.status == CTL_STATUS_NONE)
			uo.status = STATUS_MAILDROP;
		/* the outcome as one text: status, whether it is unsafe to
		 * retry, the diagnostic, then the addresses to forward to,
		 * one a line */
		str_init(&reply, 256);
		str_printfa(&reply, "%d %d %s\n%s", (int)uo.status,
			    uo.unsafe ? 1 : 0, uo.diag != NULL ? uo.diag : "",
			    str_c(&dl.forwards));
		free(uo.diag);
		{
			char **lines = str_split(str_c(&reply), "\n");
			int st = atoi(lines[0]);
			const char *diag = strchr(lines[0], ' ');
			size_t nfwd = 0;

			if (diag != NULL) {
				if (diag[1] == '1')
					o->unsafe = true;
				diag = strchr(diag + 1, ' ');
			}

			for (size_t i = 1; lines[i] != NULL; i++)
				nfwd++;
			if (nfwd > 0 && st != CTL_STATUS_DEFERRED &&
			    st != CTL_STATUS_FAILED) {
				/* forward a copy, same sender (the VERP
				 * one: its bounces name this recipient) */
				struct submit_options so = {
					.sender = sender,
					.source = "local",
					.protocol = "local",
					.uid = rec.uid,
				};
				struct submit *s = submit_begin(&so, &error);
				char fq[QUEUE_ID_LEN + 1];

				o->unsafe = true;
				for (size_t i = 1; s != NULL &&
				     lines[i] != NULL; i++)
					(void)submit_add_rcpt(s, lines[i], 0,
							      NULL, &error);
				if (s != NULL) {
					struct str hdr;
					char b[65536];
					ssize_t n;

					str_init(&hdr, 128);
					str_printfa(&hdr, "Delivered-To: %s\n",
						    address);
					submit_write(s, str_c(&hdr),
						     str_len(&hdr));
					str_free(&hdr);
					(void)lseek(data_fd, 0, SEEK_SET);
					while ((n = read(data_fd, b,
							 sizeof(b))) > 0)
						submit_write(s, b, (size_t)n);
				}
				if (s == NULL ||
				    submit_finish(&s, fq, &error) < 0) {
					result(o, *error == '5' ?
					       CTL_STATUS_FAILED :
					       CTL_STATUS_DEFERRED,
					       "%s (forwarding)", error);
				} else if (st == CTL_STATUS_NONE) {
					result(o, CTL_STATUS_DELIVERED, "250 "
					       "2.0.0 forwarded as %s", fq);
				}
			}
			if (st == STATUS_MAILDROP)
				deliver_maildrop(&dl, o);
			else if (st == CTL_STATUS_DELIVERED ||
			    st == CTL_STATUS_FAILED ||
			    st == CTL_STATUS_DEFERRED)
				result(o, (enum ctl_status)st, "%s",
				       diag != NULL ? diag + 1 : "");
			else if (o->status == CTL_STATUS_NONE)
				result(o, CTL_STATUS_DELIVERED,
				       "250 2.0.0 nothing to deliver");
			str_split_free(&lines);
		}
		str_free(&reply);
	}
	str_free(&dl.prefix);
	str_free(&dl.forwards);
out:
	free(ext);
	free(akey);
	free(dotfile);
	free(maildrop);
	free(sender);
	auth_record_free(&rec);
}

/* One job: "delid qid host n addr [n addr...]" split at tabs.  Returns
 * when the outcomes are recorded, everything it took closed and freed
 * (the worker goes on to the next job); exits the process (status 1)
 * when they cannot be recorded. */
static void run_job(char **f, size_t count)
{
	const char *qid = f[1], *key = f[2];
	char *ctlpath = queue_path(qid, 'C'), *datapath = queue_path(qid, 'D');
	struct ctl_file *ctl = NULL;
	struct str rec;
	const char *error;
	size_t *todo, ntodo = 0;
	bool sync = false;
	int lockfd, datafd;

	if (ctlpath == NULL || datapath == NULL)
		_exit(1);
	lockfd = open(ctlpath, O_RDONLY | O_CLOEXEC);
	if (lockfd < 0) {
		/* gone: nothing to do */
		free(ctlpath);
		free(datapath);
		return;
	}
	while (flock(lockfd, LOCK_EX) < 0 && errno == EINTR)
		;
	if (queue_ctl_read(qid, &ctl, &error) <= 0) {
		close(lockfd);	/* and with it the lock */
		free(ctlpath);
		free(datapath);
		return;
	}
	datafd = open(datapath, O_RDONLY | O_CLOEXEC);
	str_init(&rec, 256);
	todo = xcalloc(count, sizeof(*todo));
	for (size_t i = 3; i + 1 < count; i += 2) {
		char *end;
		unsigned long n = strtoul(f[i], &end, 10);

		if (*end != '\0' || n >= ctl->rcpt_count ||
		    strcmp(ctl->rcpts[n].address, f[i + 1]) != 0) {
			log_error("%s: delivery of unknown recipient %s",
				  qid, f[i]);
			continue;
		}
		if (ctl->rcpts[n].status == CTL_STATUS_DELIVERED ||
		    ctl->rcpts[n].status == CTL_STATUS_FAILED)
			continue; /* done by an earlier run */
		todo[ntodo++] = n;
		ctl_write_started(&rec, n, time(NULL));
	}
	/* the P records are on disk before any copy is made: if this
	 * process dies before its outcome is written, the retry knows to
	 * look for the copies it may have made */
	if (ntodo > 0 &&
	    queue_ctl_append(qid, str_c(&rec), str_len(&rec), &error) < 0) {
		log_error("%s: %s", qid, error);
		_exit(1);
	}
	str_clear(&rec);
	for (size_t i = 0; i < ntodo; i++) {
		size_t n = todo[i];
		struct outcome o = { CTL_STATUS_NONE, NULL, false };
		struct ctl_rcpt *r = &ctl->rcpts[n];

		if (datafd < 0)
			result(&o, CTL_STATUS_DEFERRED, "4.3.0 cannot open "
			       "the data file: %s", strerror(errno));
		else
			deliver_rcpt(qid, ctl, key, n, datafd, &o);
		if (o.status == CTL_STATUS_NONE)
			result(&o, CTL_STATUS_DEFERRED, "4.3.0 not delivered");
		log_info("%s: <%s> %s: %s", qid, r->address,
			 o.status == CTL_STATUS_DELIVERED ? "delivered" :
			 o.status == CTL_STATUS_FAILED ? "failed" : "deferred",
			 o.diag);
		ctl_write_status(&rec, n, o.status,
				 o.status == CTL_STATUS_DELIVERED ? 'l' : 0,
				 time(NULL), o.diag);
		if (o.unsafe || o.status != CTL_STATUS_DELIVERED)
			sync = true;
		free(o.diag);
	}
	/* Maildir copies only: a lost S record is repaired by the retry
	 * (the P record is durable, the copy is found by its name), so it
	 * needs no fdatasync of its own */
	if (str_len(&rec) > 0 &&
	    (sync ? queue_ctl_append(qid, str_c(&rec), str_len(&rec), &error) :
	     queue_ctl_append_nosync(qid, str_c(&rec), str_len(&rec),
				     &error)) < 0) {
		log_error("%s: %s", qid, error);
		_exit(1);
	}
	str_free(&rec);
	free(todo);
	ctl_file_free(&ctl);
	if (datafd >= 0)
		close(datafd);
	close(lockfd);		/* the lock goes last, after the records */
	free(ctlpath);
	free(datapath);
}

/* ---- the workers ---- */

/* A worker is a process forked from the module that runs deliveries one
 * after the other: one fork for many deliveries instead of one each, and
 * what a process caches (the aliases database, the routes, authlib's
 * socket path, resolved symbols) is kept from one delivery to the next.
 * Between deliveries it is root again with its file system ids (checked
 * by account_leave()) in "/".  It gets job lines on its socket and
 * answers "\n" when a job's outcomes are recorded, "x\n" when that was
 * its last job (it then exits).  It exits on end of input, and dies
 * (status 1) when it cannot record an outcome or take root's file system
 * ids back; the module then reports the job (courierd retries what was
 * not recorded) and starts a new worker for the next one. */

/* Jobs a worker runs before it exits (bounds what one could leak). */
#define WORKER_JOBS_MAX 2000

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
	bool retiring;		/* said "x": takes no more jobs */
	struct worker *next;
};

static struct {
	struct ioloop *loop;
	struct module_io *io;
	struct worker *workers;
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
	ioloop_run(m.loop);
	/* idle workers see the end of their input and exit */
	while (m.workers != NULL)
		worker_remove(m.workers);
	module_io_destroy(&m.io);
	ioloop_destroy(&m.loop);
	return 0;
}
