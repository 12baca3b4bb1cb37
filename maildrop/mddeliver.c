/* mddeliver.c: maildir, mbox and program delivery, dot-locks and flocks. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maildir-keywords.h"
#include "maildir-quota.h"
#include "maildir.h"
#include "mddeliver.h"
#include "mem.h"
#include "str.h"

/* qsort comparator for C strings, byte order (as Debian's maildrop). */
static int kw_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int md_keywords_split(const char *keywords, char ***names_r,
		      char **invalid_r)
{
	struct str bad;
	char **names = NULL;
	size_t n = 0, alloc = 0, i, j;
	const char *p = keywords != NULL ? keywords : "";

	str_init(&bad, 0);
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		char *name;

		if (len == 0) {
			p++;
			continue;
		}
		name = xstrndup(p, len);
		p += len;
		if (!maildir_keywords_name_valid(name)) {
			if (str_len(&bad) > 0)
				str_append_c(&bad, ',');
			str_append(&bad, name);
			free(name);
			continue;
		}
		if (n >= MD_KEYWORDS_MAX) {
			free(name);
			continue;
		}
		if (n == alloc) {
			alloc = alloc == 0 ? 8 : alloc * 2;
			names = xreallocarray(names, alloc + 1, sizeof(*names));
		}
		names[n++] = name;
	}
	if (n > 0) {
		qsort(names, n, sizeof(*names), kw_cmp);
		for (i = j = 1; i < n; i++) {
			if (strcmp(names[i], names[j - 1]) == 0)
				free(names[i]);
			else
				names[j++] = names[i];
		}
		n = j;
		names[n] = NULL;
	}
	*names_r = names;
	*invalid_r = str_len(&bad) > 0 ? str_steal(&bad) : NULL;
	str_free(&bad);
	return (int)n;
}

void md_keywords_free(char ***names)
{
	if (*names == NULL)
		return;
	for (char **p = *names; *p != NULL; p++)
		free(*p);
	free(*names);
	*names = NULL;
}

int md_deliver_maildir(const char *dir, const char *data, size_t len,
		       const char *quota, const char *flags,
		       bool *over_quota_r, char **error_r)
{
	return md_deliver_maildir_kw(dir, data, len, quota, flags, NULL,
				     over_quota_r, NULL, error_r);
}

int md_deliver_maildir_kw(const char *dir, const char *data, size_t len,
			  const char *quota, const char *flags,
			  const char *keywords, bool *over_quota_r,
			  char **warning_r, char **error_r)
{
	char **kwnames = NULL, *kwbad = NULL, *name = NULL;
	int nkw;
	struct maildir_quota *q = NULL;
	struct maildir_delivery *d;
	const char *err;
	char fl[5];
	size_t nfl = 0;
	int rc;

	if (warning_r != NULL)
		*warning_r = NULL;
	*over_quota_r = false;
	if (flags != NULL && flags[strspn(flags, "DFRS")] != '\0') {
		/* as Debian's maildrop: FLAGS may only hold D, F, R, S */
		*error_r = xasprintf("Invalid FLAGS: %s", flags);
		return -1;
	}
	for (const char *f = "DFRS"; *f != '\0'; f++)
		if (flags != NULL && strchr(flags, *f) != NULL)
			fl[nfl++] = *f;
	fl[nfl] = '\0';
	*over_quota_r = false;
	if (!maildir_is_maildir(dir)) {
		*error_r = xasprintf("Unable to open mailbox %s", dir);
		return -1;
	}
	rc = maildir_quota_open(dir, quota != NULL && *quota != '\0' ? quota : NULL,
				&q, &err);
	if (rc < 0) {
		*error_r = xasprintf("maildir quota: %s", err);
		return -1;
	}
	if (rc > 0) {
		rc = maildir_quota_check(q, (int64_t)len, 1, &err);
		if (rc <= 0) {
			maildir_quota_close(&q);
			if (rc == 0) {
				*over_quota_r = true;
				*error_r = xstrdup("maildir over quota.");
			} else {
				*error_r = xasprintf("maildir quota: %s", err);
			}
			return -1;
		}
	}
	d = maildir_delivery_begin(dir, 0, &err);
	if (d == NULL ||
	    maildir_delivery_write(d, data, len, &err) < 0) {
		*error_r = xasprintf("Unable to deliver to %s: %s", dir, err);
		if (d != NULL)
			maildir_delivery_abort(&d);
		maildir_quota_close(&q);
		return -1;
	}
	if (maildir_delivery_commit(&d, nfl > 0 ? fl : NULL, &name, &err) < 0) {
		*error_r = xasprintf("Unable to deliver to %s: %s", dir, err);
		maildir_quota_close(&q);
		return -1;
	}
	if (q != NULL) {
		/* the message is in: a failed quota update only skews usage */
		(void)maildir_quota_add(q, (int64_t)len, 1, &err);
		maildir_quota_close(&q);
	}
	/* The message is delivered: from here on a problem with its
	 * keywords is only reported (failing would deliver it twice). */
	nkw = md_keywords_split(keywords, &kwnames, &kwbad);
	if (nkw > 0 &&
	    maildir_keywords_store(dir, name, (const char *const *)kwnames,
				   (size_t)nkw, &err) < 0) {
		if (warning_r != NULL)
			*warning_r = xasprintf("Unable to set keywords: %s",
					       err);
	} else if (kwbad != NULL && warning_r != NULL) {
		*warning_r = xasprintf("Invalid keywords ignored: %s", kwbad);
	}
	md_keywords_free(&kwnames);
	free(kwbad);
	free(name);
	return 0;
}

#define QUOTA_WARN_FILE "quotawarn"
#define QUOTA_WARN_INTERVAL (24 * 60 * 60)
#define QUOTA_WARN_MAX_SIZE (256 * 1024)

/* The root maildir of dir: dir itself, or its parent for a folder. */
static char *maildir_root_of(const char *dir)
{
	char *marker = xasprintf("%s/maildirfolder", dir);
	bool folder = access(marker, F_OK) == 0;

	free(marker);
	return folder ? xasprintf("%s/..", dir) : xstrdup(dir);
}

static int read_small_file(const char *path, size_t max, struct str *out)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (str_len(out) + (size_t)n > max) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		str_append_n(out, buf, (size_t)n);
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

int md_quota_warn(const char *dir, int percent, const char *warn_file,
		  char **error_r)
{
	struct maildir_quota *q = NULL;
	const char *err;
	char *root, *stamp;
	struct stat st;
	struct str msg;
	char date[64], host[256];
	time_t now = time(NULL);
	int rc, used;

	if (percent <= 0 || warn_file == NULL)
		return 0;
	root = maildir_root_of(dir);
	rc = maildir_quota_open(root, NULL, &q, &err);
	if (rc <= 0) {
		free(root);
		if (rc < 0)
			*error_r = xasprintf("maildir quota: %s", err);
		return rc;
	}
	used = maildir_quota_percent(q);
	stamp = xasprintf("%s/" QUOTA_WARN_FILE, root);
	if (used < percent) {
		(void)unlink(stamp);
		maildir_quota_close(&q);
		free(stamp);
		free(root);
		return 0;
	}
	if (stat(stamp, &st) == 0 && st.st_mtime <= now &&
	    now - st.st_mtime < QUOTA_WARN_INTERVAL) {
		maildir_quota_close(&q);
		free(stamp);
		free(root);
		return 0;
	}
	str_init(&msg, 1024);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
		 localtime(&now));
	if (gethostname(host, sizeof(host)) < 0)
		str_copy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	str_printfa(&msg, "Date: %s\nMessage-Id: <%lld.overquota@%s>\n",
		    date, (long long)now, host);
	if (read_small_file(warn_file, QUOTA_WARN_MAX_SIZE, &msg) < 0) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc < 0)
			*error_r = xasprintf("%s: %s", warn_file,
					     strerror(errno));
	} else if (maildir_deliver(root, str_c(&msg), str_len(&msg), 0, NULL,
				   &err) < 0) {
		*error_r = xasprintf("Unable to deliver the quota warning to %s: %s",
				     root, err);
		rc = -1;
	} else {
		int fd;

		(void)maildir_quota_add(q, (int64_t)str_len(&msg), 1, &err);
		fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		(void)utimensat(AT_FDCWD, stamp, NULL, 0);
		rc = 1;
	}
	str_free(&msg);
	maildir_quota_close(&q);
	free(stamp);
	free(root);
	return rc;
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

int md_dotlock_acquire(const char *path, const struct md_lock_settings *lock,
		       char **error_r)
{
	char host[256];
	char *tmp;
	time_t start = time(NULL);
	int fd;

	if (gethostname(host, sizeof(host)) < 0)
		str_copy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	{
		const char *slash = strrchr(path, '/');
		int dirlen = slash == NULL ? 0 : (int)(slash - path) + 1;

		tmp = xasprintf("%.*s%ld.%ld.%s", dirlen, path, (long)getpid(),
				(long)time(NULL), host);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		*error_r = xasprintf("Unable to create a dot-lock at %s.", tmp);
		free(tmp);
		return -1;
	}
	close(fd);
	for (;;) {
		struct stat st;

		if (link(tmp, path) == 0 ||
		    (stat(tmp, &st) == 0 && st.st_nlink == 2)) {
			unlink(tmp);
			free(tmp);
			return 0;
		}
		if (errno != EEXIST) {
			*error_r = xasprintf("Unable to create a dot-lock at %s.",
					     path);
			break;
		}
		if (stat(path, &st) == 0 && lock->timeout_secs > 0 &&
		    time(NULL) - st.st_mtime > (time_t)lock->timeout_secs) {
			/* stale lock: break it */
			unlink(path);
			continue;
		}
		if (lock->timeout_secs > 0 &&
		    time(NULL) - start > (time_t)lock->timeout_secs * 2) {
			*error_r = xasprintf("Timed out waiting for lock %s.",
					     path);
			break;
		}
		sleep(lock->sleep_secs > 0 ? lock->sleep_secs : 1);
	}
	unlink(tmp);
	free(tmp);
	return -1;
}

void md_dotlock_release(const char *path)
{
	unlink(path);
}

/* A POSIX (fcntl) lock on the whole of fd, waiting for it, as Debian's
 * maildrop takes for flock and mbox files: unlike flock(2), a process
 * may take it again through another descriptor (flock "mbox" { to
 * "mbox" } does not wait for itself).  0 or -1 with errno. */
static int lock_whole_file(int fd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLKW, &fl) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

static void unlock_whole_file(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	(void)fcntl(fd, F_SETLK, &fl);
}

int md_flock_acquire(const char *path, char **error_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	short type = F_WRLCK;

	if (fd < 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		type = F_RDLCK;
	}
	if (fd < 0) {
		*error_r = xasprintf("Unable to open %s: %s", path,
				     strerror(errno));
		return -1;
	}
	if (lock_whole_file(fd, type) < 0) {
		*error_r = xasprintf("Unable to lock %s: %s", path,
				     strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void md_flock_release(int fd)
{
	if (fd >= 0) {
		unlock_whole_file(fd);
		close(fd);
	}
}

static bool is_from_line(const char *p, size_t len)
{
	while (len > 0 && *p == '>') {
		p++;
		len--;
	}
	return len >= 5 && memcmp(p, "From ", 5) == 0;
}

int md_deliver_mbox(const char *path, const char *data, size_t len,
		    const char *sender, const struct md_lock_settings *lock,
		    size_t *size_r, char **error_r)
{
	struct str out;
	char *lockpath;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;
	off_t old_size;
	size_t i = 0, msize;
	int fd, rc = 0;
	bool special, regular;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	str_init(&out, len + 256);
	str_printfa(&out, "From %s %s\n", sender, date);
	msize = str_len(&out);
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl == NULL ? len : (size_t)(nl - data) + 1;

		if (is_from_line(data + i, end - i))
			str_append_c(&out, '>');
		str_append_n(&out, data + i, end - i);
		i = end;
	}
	if (len > 0 && data[len - 1] != '\n')
		str_append_c(&out, '\n');
	msize = str_len(&out) - msize;
	str_append_c(&out, '\n');

	/* A target that exists and is not a regular file (/dev/null, a
	 * FIFO, a terminal) gets no dot-lock (its directory, /dev, is not
	 * writable by the user), is never truncated and never fsync()ed
	 * (EINVAL for /dev/null), as in Debian's maildrop. */
	special = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
	lockpath = special ? NULL : xasprintf("%s%s", path, lock->lockext);
	if (lockpath != NULL &&
	    md_dotlock_acquire(lockpath, lock, error_r) < 0) {
		free(lockpath);
		str_free(&out);
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = xasprintf("Unable to open mailbox %s: %s", path,
				     strerror(errno));
		if (lockpath != NULL)
			md_dotlock_release(lockpath);
		free(lockpath);
		str_free(&out);
		return -1;
	}
	/* a character device or FIFO may refuse the lock: written anyway */
	(void)lock_whole_file(fd, F_WRLCK);
	if (fstat(fd, &st) < 0) {
		st.st_mode = S_IFREG;
		st.st_size = 0;
	}
	regular = S_ISREG(st.st_mode);
	old_size = regular ? st.st_size : 0;
	if (write_all(fd, str_c(&out), str_len(&out)) < 0 ||
	    (regular && fsync(fd) < 0)) {
		*error_r = xasprintf("Unable to write to %s: %s", path,
				     strerror(errno));
		if (regular && ftruncate(fd, old_size) < 0) {
			/* nothing more we can do: the error says it */
		}
		rc = -1;
	}
	unlock_whole_file(fd);
	close(fd);
	if (lockpath != NULL)
		md_dotlock_release(lockpath);
	free(lockpath);
	str_free(&out);
	*size_r = msize;
	return rc;
}

int md_run_program(const char *shell, const char *cmd, const char *data,
		   size_t len, char *const envp[], struct str *output,
		   size_t max_output, int *status_r, char **error_r)
{
	return md_run_program_full(shell, cmd, data, len, envp, output,
				   max_output, status_r, NULL, error_r);
}

int md_run_program_full(const char *shell, const char *cmd,
			const char *data, size_t len, char *const envp[],
			struct str *output, size_t max_output, int *status_r,
			bool *write_failed_r, char **error_r)
{
	int in[2], outp[2] = { -1, -1 };
	pid_t pid;
	size_t off = 0;
	int status;
	bool too_big = false;
	void (*old_pipe)(int);

	if (pipe2(in, O_CLOEXEC) < 0 ||
	    (output != NULL && pipe2(outp, O_CLOEXEC) < 0)) {
		*error_r = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		*error_r = xasprintf("fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		if (output != NULL) {
			close(outp[0]);
			close(outp[1]);
		}
		return -1;
	}
	if (pid == 0) {
		char *argv[] = { (char *)shell, (char *)"-c", (char *)cmd, NULL };

		signal(SIGPIPE, SIG_DFL);
		dup2(in[0], 0);
		if (output != NULL)
			dup2(outp[1], 1);
		execve(shell, argv, envp);
		_exit(127);
	}
	close(in[0]);
	if (output != NULL)
		close(outp[1]);
	old_pipe = signal(SIGPIPE, SIG_IGN);
	/* write the message and read the output together (no deadlock) */
	{
		bool writing = true;
		int wfd = in[1];

		if (len == 0) {
			close(wfd);
			writing = false;
		}
		for (;;) {
			struct pollfd pfd[2];
			int n = 0, wi = -1, ri = -1;

			if (writing) {
				pfd[n].fd = wfd;
				pfd[n].events = POLLOUT;
				wi = n++;
			}
			if (output != NULL && outp[0] >= 0) {
				pfd[n].fd = outp[0];
				pfd[n].events = POLLIN;
				ri = n++;
			}
			if (n == 0)
				break;
			if (poll(pfd, (nfds_t)n, -1) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (wi >= 0 && pfd[wi].revents != 0) {
				size_t chunk = len - off > 65536 ? 65536 : len - off;
				ssize_t w = write(wfd, data + off, chunk);

				if (w < 0 && errno != EINTR && errno != EAGAIN) {
					writing = false; /* reader went away */
					close(wfd);
					if (write_failed_r != NULL)
						*write_failed_r = true;
				} else if (w > 0) {
					off += (size_t)w;
					if (off == len) {
						writing = false;
						close(wfd);
					}
				}
			}
			if (ri >= 0 && pfd[ri].revents != 0) {
				char buf[8192];
				ssize_t r = read(outp[0], buf, sizeof(buf));

				if (r <= 0) {
					if (r < 0 && errno == EINTR)
						continue;
					close(outp[0]);
					outp[0] = -1;
				} else if (str_len(output) + (size_t)r > max_output) {
					too_big = true;
				} else {
					str_append_n(output, buf, (size_t)r);
				}
			}
		}
		if (writing)
			close(wfd);
	}
	signal(SIGPIPE, old_pipe);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			*error_r = xasprintf("waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status))
		*status_r = WEXITSTATUS(status);
	else
		*status_r = 128 + WTERMSIG(status);
	if (too_big) {
		*error_r = xstrdup("command output too large");
		return -1;
	}
	return 0;
}
