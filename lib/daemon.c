/* daemon.c: pid files, detaching, stdio, privilege drop and a supervisor. */
#include "config.h"
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "str.h"

/* Attempts at taking a pid file that its owner unlinks under us. */
#define PIDFILE_RETRIES 5

struct daemon_pidfile {
	char *path;
	int fd;
	pid_t owner;
};

static char daemon_error_buf[512];

static const char *daemon_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *daemon_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(daemon_error_buf, sizeof(daemon_error_buf), fmt, ap);
	va_end(ap);
	return daemon_error_buf;
}

/* ---------------------------------------------------------------- pid file */

/* Reads the decimal pid at the start of fd; 0 if there is none. */
static pid_t pidfile_read_fd(int fd)
{
	char buf[32];
	ssize_t ret;
	long pid = 0;

	ret = pread(fd, buf, sizeof(buf) - 1, 0);
	if (ret <= 0)
		return 0;
	buf[ret] = '\0';
	for (ssize_t i = 0; i < ret && buf[i] >= '0' && buf[i] <= '9'; i++) {
		pid = pid * 10 + (buf[i] - '0');
		if (pid > INT_MAX)
			return 0;
	}
	return (pid_t)pid;
}

static int pidfile_write_pid(int fd, const char **error_r, const char *path)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0) {
		*error_r = daemon_error("%s: ftruncate(): %s", path,
					strerror(errno));
		return -1;
	}
	if (pwrite(fd, buf, (size_t)len, 0) != len) {
		*error_r = daemon_error("%s: write(): %s", path,
					errno == 0 ? "short write" :
					strerror(errno));
		return -1;
	}
	return 0;
}

int daemon_pidfile_create(const char *path, struct daemon_pidfile **pf_r,
			  const char **error_r)
{
	struct daemon_pidfile *pf;
	int fd = -1;

	*pf_r = NULL;
	for (int attempt = 0;; attempt++) {
		struct stat st_fd, st_path;

		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			  0644);
		if (fd < 0) {
			*error_r = daemon_error("%s: %s", path,
						strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int err = errno;
			pid_t pid;

			if (err != EWOULDBLOCK) {
				close(fd);
				*error_r = daemon_error("%s: flock(): %s",
							path, strerror(err));
				return -1;
			}
			pid = pidfile_read_fd(fd);
			close(fd);
			if (pid > 0)
				*error_r = daemon_error("%s: already running "
							"as pid %ld", path,
							(long)pid);
			else
				*error_r = daemon_error("%s: already running",
							path);
			return 0;
		}
		/* Locked; but the owner may have unlinked this file just
		 * before it exited: then the lock protects nothing. */
		if (fstat(fd, &st_fd) == 0 && stat(path, &st_path) == 0 &&
		    st_fd.st_dev == st_path.st_dev &&
		    st_fd.st_ino == st_path.st_ino)
			break;
		close(fd);
		if (attempt + 1 >= PIDFILE_RETRIES) {
			*error_r = daemon_error("%s: replaced while locking",
						path);
			return -1;
		}
	}
	if (pidfile_write_pid(fd, error_r, path) < 0) {
		close(fd);
		return -1;
	}
	pf = xcalloc(1, sizeof(*pf));
	pf->path = xstrdup(path);
	pf->fd = fd;
	pf->owner = getpid();
	*pf_r = pf;
	return 1;
}

int daemon_pidfile_update(struct daemon_pidfile *pf, const char **error_r)
{
	if (pidfile_write_pid(pf->fd, error_r, pf->path) < 0)
		return -1;
	pf->owner = getpid();
	return 0;
}

void daemon_pidfile_remove(struct daemon_pidfile **_pf)
{
	struct daemon_pidfile *pf = *_pf;

	if (pf == NULL)
		return;
	*_pf = NULL;
	/* Unlinked while still locked, so no newcomer locks a file that
	 * is about to vanish without noticing (see the inode check). */
	if (pf->owner == getpid() && unlink(pf->path) < 0 && errno != ENOENT)
		log_warning("unlink(%s): %m", pf->path);
	close(pf->fd);
	free(pf->path);
	free(pf);
}

pid_t daemon_pidfile_read(const char *path)
{
	pid_t pid;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		/* Nobody holds it: a stale file. */
		close(fd);
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		close(fd);
		return -1;
	}
	pid = pidfile_read_fd(fd);
	close(fd);
	return pid;
}

/* ---------------------------------------------------------------- detach */

int daemon_detach(const char **error_r)
{
	pid_t pid;

	/* Buffered output would otherwise be written by both processes. */
	(void)fflush(NULL);
	pid = fork();
	if (pid < 0) {
		*error_r = daemon_error("fork(): %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0) {
		*error_r = daemon_error("setsid(): %s", strerror(errno));
		return -1;
	}
	/* Not a session leader: opening a terminal never makes it ours. */
	pid = fork();
	if (pid < 0) {
		*error_r = daemon_error("fork(): %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0) {
		*error_r = daemon_error("chdir(/): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int daemon_stdio_null(bool keep_stderr, const char **error_r)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0) {
		*error_r = daemon_error("/dev/null: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i <= 2; i++) {
		if (i == 2 && keep_stderr && fcntl(2, F_GETFD) >= 0)
			continue;
		if (fd != i && dup2(fd, i) < 0) {
			*error_r = daemon_error("dup2(/dev/null, %d): %s", i,
						strerror(errno));
			if (fd > 2)
				close(fd);
			return -1;
		}
	}
	if (fd > 2)
		close(fd);
	return 0;
}

/* ---------------------------------------------------------------- privileges */

static bool parse_id(const char *s, unsigned long *id_r)
{
	unsigned long id = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		id = id * 10 + (unsigned long)(*s - '0');
		if (id > UINT32_MAX - 1)
			return false;
	}
	*id_r = id;
	return true;
}

/* Runs getpwnam_r/getpwuid_r with a buffer that grows on ERANGE.
 * Returns 1 found, 0 not found, -1 error (errno set). */
static int lookup_user(const char *name, uid_t uid, struct passwd *pw,
		       char **buf_r)
{
	size_t size = 1024;
	struct passwd *res = NULL;
	int ret;

	for (;;) {
		*buf_r = xrealloc(*buf_r, size);
		if (name != NULL)
			ret = getpwnam_r(name, pw, *buf_r, size, &res);
		else
			ret = getpwuid_r(uid, pw, *buf_r, size, &res);
		if (ret != ERANGE || size >= 1024 * 1024)
			break;
		size *= 2;
	}
	if (ret != 0) {
		errno = ret;
		return -1;
	}
	return res == NULL ? 0 : 1;
}

static int lookup_group(const char *name, gid_t *gid_r)
{
	size_t size = 1024;
	struct group gr, *res = NULL;
	char *buf = NULL;
	int ret;

	for (;;) {
		buf = xrealloc(buf, size);
		ret = getgrnam_r(name, &gr, buf, size, &res);
		if (ret != ERANGE || size >= 1024 * 1024)
			break;
		size *= 2;
	}
	if (ret == 0 && res != NULL)
		*gid_r = gr.gr_gid;
	free(buf);
	if (ret != 0) {
		errno = ret;
		return -1;
	}
	return res == NULL ? 0 : 1;
}

int daemon_drop_privileges(const char *user, const char *group,
			   const char **error_r)
{
	struct passwd pw;
	char *buf = NULL, *name = NULL;
	unsigned long id = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	bool have_gid = false;
	int ret;

	ret = lookup_user(user, 0, &pw, &buf);
	if (ret == 0 && parse_id(user, &id)) {
		uid = (uid_t)id;
		ret = lookup_user(NULL, uid, &pw, &buf);
		if (ret == 0) {
			/* A bare uid without a passwd entry. */
			free(buf);
			buf = NULL;
			if (group == NULL) {
				*error_r = daemon_error(
					"uid %s has no passwd entry: "
					"a group must be given", user);
				return -1;
			}
			ret = 2;
		}
	}
	if (ret < 0) {
		*error_r = daemon_error("%s: user lookup failed: %s", user,
					strerror(errno));
		free(buf);
		return -1;
	}
	if (ret == 0) {
		*error_r = daemon_error("%s: no such user", user);
		free(buf);
		return -1;
	}
	if (ret == 1) {
		uid = pw.pw_uid;
		gid = pw.pw_gid;
		have_gid = true;
		name = xstrdup(pw.pw_name);
	}
	free(buf);

	if (group != NULL) {
		ret = lookup_group(group, &gid);
		if (ret == 0 && parse_id(group, &id)) {
			gid = (gid_t)id;
			ret = 1;
		}
		if (ret <= 0) {
			*error_r = ret < 0 ?
				daemon_error("%s: group lookup failed: %s",
					     group, strerror(errno)) :
				daemon_error("%s: no such group", group);
			free(name);
			return -1;
		}
		have_gid = true;
	}
	if (!have_gid)
		log_panic("daemon_drop_privileges(): no gid");
	ret = daemon_drop_privileges_id(uid, gid, name, error_r);
	free(name);
	return ret;
}

/* Sets real, effective and saved gid then uid (the groups are set), and
 * checks that they switched and that root cannot be regained. */
static int switch_ids(uid_t uid, gid_t gid, const char **error_r)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (setresgid(gid, gid, gid) < 0) {
		*error_r = daemon_error("setresgid(%ld): %s", (long)gid,
					strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) < 0) {
		*error_r = daemon_error("setresuid(%ld): %s", (long)uid,
					strerror(errno));
		return -1;
	}

	/* Trust, but verify: every id switched and root is gone for good. */
	if (getresuid(&ruid, &euid, &suid) < 0 ||
	    getresgid(&rgid, &egid, &sgid) < 0 ||
	    ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid) {
		*error_r = daemon_error("uid/gid did not switch to %ld/%ld",
					(long)uid, (long)gid);
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		*error_r = daemon_error("could regain root after switching "
					"to uid %ld", (long)uid);
		return -1;
	}
	if (gid != 0 && (setgid(0) == 0 || setegid(0) == 0)) {
		*error_r = daemon_error("could regain gid 0 after switching "
					"to gid %ld", (long)gid);
		return -1;
	}
	return 1;
}

int daemon_drop_privileges_id(uid_t uid, gid_t gid, const char *user_name,
			      const char **error_r)
{
	if (geteuid() != 0) {
		*error_r = daemon_error("not running as root: staying uid %ld",
					(long)geteuid());
		return 0;
	}
	if (uid == 0) {
		*error_r = daemon_error("refusing to switch to uid 0 (root)");
		return -1;
	}
	if (user_name != NULL) {
		if (initgroups(user_name, gid) < 0) {
			*error_r = daemon_error("initgroups(%s, %ld): %s",
						user_name, (long)gid,
						strerror(errno));
			return -1;
		}
	} else if (setgroups(1, &gid) < 0) {
		*error_r = daemon_error("setgroups(%ld): %s", (long)gid,
					strerror(errno));
		return -1;
	}
	return switch_ids(uid, gid, error_r);
}

int daemon_drop_privileges_groups(uid_t uid, gid_t gid, const gid_t *groups,
				  size_t ngroups, const char **error_r)
{
	if (geteuid() != 0) {
		*error_r = daemon_error("not running as root: staying uid %ld",
					(long)geteuid());
		return 0;
	}
	if (uid == 0) {
		*error_r = daemon_error("refusing to switch to uid 0 (root)");
		return -1;
	}
	for (size_t i = 0; i < ngroups; i++) {
		if (groups[i] == 0) {
			*error_r = daemon_error("refusing to keep group 0 "
						"(root)");
			return -1;
		}
	}
	if (ngroups == 0 ? setgroups(1, &gid) < 0 :
			   setgroups(ngroups, groups) < 0) {
		*error_r = daemon_error("setgroups (%zu groups): %s",
					ngroups == 0 ? (size_t)1 : ngroups,
					strerror(errno));
		return -1;
	}
	return switch_ids(uid, gid, error_r);
}

/* ---------------------------------------------------------------- supervisor */

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for one of the blocked signals in mask until deadline (0 = no
 * deadline).  Returns the signal, or 0 at the deadline. */
static int wait_signal(const sigset_t *mask, uint64_t deadline)
{
	for (;;) {
		siginfo_t si;
		struct timespec ts;
		uint64_t now;
		int sig;

		if (deadline == 0) {
			sig = sigwaitinfo(mask, &si);
		} else {
			now = monotonic_ms();
			if (now >= deadline)
				return 0;
			ts.tv_sec = (time_t)((deadline - now) / 1000);
			ts.tv_nsec = (long)((deadline - now) % 1000) * 1000000;
			sig = sigtimedwait(mask, &si, &ts);
		}
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			log_panic("sigtimedwait(): %m");
	}
}

static void log_worker_death(pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		log_error("worker %ld killed by signal %d (%s)", (long)pid,
			  WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		log_error("worker %ld exited with status %d", (long)pid,
			  WEXITSTATUS(status));
}

/* SIGTERM to the worker, SIGKILL after the timeout; reaps it. */
static void supervise_stop(pid_t pid, const sigset_t *mask,
			   unsigned int timeout_msecs)
{
	uint64_t deadline = monotonic_ms() + timeout_msecs;
	int status;

	(void)kill(pid, SIGTERM);
	for (;;) {
		pid_t ret = waitpid(pid, &status, WNOHANG);

		if (ret == pid || (ret < 0 && errno == ECHILD))
			return;
		if (wait_signal(mask, deadline) == 0)
			break;
	}
	log_error("worker %ld ignored SIGTERM for %u ms: killing it",
		  (long)pid, timeout_msecs);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

int daemon_supervise(const struct daemon_supervise_settings *_set,
		     const char **error_r)
{
	struct daemon_supervise_settings set;
	sigset_t mask, oldmask;
	pid_t supervisor = getpid();
	unsigned int backoff = 0;
	bool first = true;

	memset(&set, 0, sizeof(set));
	if (_set != NULL)
		set = *_set;
	if (set.min_backoff_msecs == 0)
		set.min_backoff_msecs = 1000;
	if (set.max_backoff_msecs < set.min_backoff_msecs)
		set.max_backoff_msecs = set.min_backoff_msecs > 60000 ?
			set.min_backoff_msecs : 60000;
	if (set.stable_msecs == 0)
		set.stable_msecs = 10000;
	if (set.stop_timeout_msecs == 0)
		set.stop_timeout_msecs = 10000;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0) {
		*error_r = daemon_error("sigprocmask(): %s", strerror(errno));
		return -1;
	}

	for (;;) {
		uint64_t started = monotonic_ms(), deadline;
		int status = 0, sig;
		pid_t pid;

		(void)fflush(NULL);
		pid = fork();
		if (pid == 0) {
			(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
			/* Do not outlive the supervisor. */
			(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != supervisor)
				_exit(0);
			return 0;
		}
		if (pid < 0) {
			if (first) {
				*error_r = daemon_error("fork(): %s",
							strerror(errno));
				(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
				return -1;
			}
			log_error("fork() for a new worker: %m");
		} else {
			if (!first)
				log_info("worker %ld started", (long)pid);
			first = false;
			for (;;) {
				sig = wait_signal(&mask, 0);
				if (sig == SIGCHLD) {
					if (waitpid(pid, &status,
						    WNOHANG) == pid)
						break;
				} else if (sig == SIGHUP) {
					(void)kill(pid, SIGHUP);
				} else if (sig == SIGTERM || sig == SIGINT) {
					supervise_stop(pid, &mask,
						set.stop_timeout_msecs);
					(void)sigprocmask(SIG_SETMASK,
							  &oldmask, NULL);
					return 1;
				}
			}
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				log_info("worker %ld exited normally: "
					 "supervision ends", (long)pid);
				(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
				return 1;
			}
			log_worker_death(pid, status);
		}

		if (monotonic_ms() - started >= set.stable_msecs)
			backoff = 0;
		else if (backoff == 0)
			backoff = set.min_backoff_msecs;
		else if (backoff >= set.max_backoff_msecs / 2)
			backoff = set.max_backoff_msecs;
		else
			backoff *= 2;
		if (backoff == 0)
			continue;
		log_info("restarting the worker in %u ms", backoff);
		deadline = monotonic_ms() + backoff;
		while ((sig = wait_signal(&mask, deadline)) != 0) {
			if (sig == SIGTERM || sig == SIGINT) {
				(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
				return 1;
			}
		}
	}
}
