/* courierlocal-write.c: the local delivery's copies of a message: Maildir
 * (named for exactly-once delivery, O_TMPFILE, fsync'ed) and mbox. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "courierlocal.h"
#include "log.h"
#include "maildir-quota.h"
#include "maildir.h"
#include "mem.h"
#include "queue.h"

/* Sets the outcome (the first failure wins; a success does not undo
 * one). */
void result(struct outcome *o, enum ctl_status status,
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
int message_copy(struct delivery *dl,
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

uint64_t message_size(struct delivery *dl)
{
	struct stat st;

	if (fstat(dl->data_fd, &st) < 0)
		return str_len(&dl->prefix);
	return str_len(&dl->prefix) + (uint64_t)st.st_size;
}

int fd_cb(void *context, const void *p, size_t n)
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

	/* a killed attempt may have left dir/tmp/NAME: the flock on the
	 * control file makes us the only writer of this name */
	fd = maildir_tmp_open(dir, name, true, &tmp);
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
	if (maildir_tmp_link(fd, tmp, final) < 0) {
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

void deliver_maildir(struct delivery *dl, const char *dir,
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

void deliver_mbox(struct delivery *dl, const char *path,
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
