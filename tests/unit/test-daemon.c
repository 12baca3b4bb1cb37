/* test-daemon.c: unit tests for lib/daemon (pid file, detach, stdio,
 * privilege drop, supervisor). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "daemon.h"
#include "ioloop.h"
#include "listen.h"
#include "log.h"
#include "mem.h"

static char tmpdir[PATH_MAX];

static void quiet_log(enum log_level level, const char *line, void *context)
{
}

static int setup_tmpdir(void **state)
{
	int len = snprintf(tmpdir, sizeof(tmpdir), "%s/test-daemon.XXXXXX",
			   getenv("TMPDIR") != NULL ? getenv("TMPDIR") :
			   "/tmp");

	if (len <= 0 || (size_t)len >= sizeof(tmpdir))
		return -1;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
	return rmdir(tmpdir);
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* Waits for a child and returns its exit status (-1 if signalled). */
static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads a line from fd within timeout_ms into buf; returns its length or
 * -1 on timeout/EOF. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t got = 0;

	while (got < size - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t ret;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		ret = read(fd, buf + got, 1);
		if (ret <= 0)
			return -1;
		if (buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
	return (int)got;
}

/* ---------------------------------------------------------------- pid file */

static void test_pidfile_lock(void **state)
{
	char *path = tmp_path("test.pid");
	struct daemon_pidfile *pf = NULL, *pf2 = NULL;
	const char *error = NULL;
	char buf[64], expected[PATH_MAX + 64];
	FILE *f;
	pid_t pid;

	assert_int_equal(daemon_pidfile_create(path, &pf, &error), 1);
	assert_non_null(pf);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	snprintf(expected, sizeof(expected), "%ld\n", (long)getpid());
	assert_string_equal(buf, expected);
	assert_int_equal(daemon_pidfile_read(path), getpid());

	/* Held: a second start (even from this process) is refused. */
	assert_int_equal(daemon_pidfile_create(path, &pf2, &error), 0);
	assert_null(pf2);
	snprintf(expected, sizeof(expected), "%s: already running as pid %ld",
		 path, (long)getpid());
	assert_string_equal(error, expected);

	/* And from another process. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct daemon_pidfile *child = NULL;

		_exit(daemon_pidfile_create(path, &child, &error) == 0 ? 0 : 1);
	}
	assert_int_equal(wait_child(pid), 0);

	/* A child forked from the owner does not remove the file. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		daemon_pidfile_remove(&pf);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);
	assert_int_equal(access(path, F_OK), 0);

	daemon_pidfile_remove(&pf);
	assert_null(pf);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(daemon_pidfile_read(path), 0);
	daemon_pidfile_remove(&pf); /* NULL is harmless */
	free(path);
}

static void test_pidfile_stale(void **state)
{
	char *path = tmp_path("stale.pid");
	struct daemon_pidfile *pf = NULL;
	const char *error;
	FILE *f;

	/* A pid file left by a dead process (no lock) is taken over. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("999999\n", f);
	fclose(f);
	assert_int_equal(daemon_pidfile_read(path), 0);
	assert_int_equal(daemon_pidfile_create(path, &pf, &error), 1);
	assert_int_equal(daemon_pidfile_read(path), getpid());

	/* Update after a fork: the child becomes the owner. */
	{
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			if (daemon_pidfile_update(pf, &error) < 0 ||
			    daemon_pidfile_read(path) != getpid())
				_exit(1);
			daemon_pidfile_remove(&pf);
			_exit(access(path, F_OK) == -1 ? 0 : 2);
		}
		assert_int_equal(wait_child(pid), 0);
	}
	daemon_pidfile_remove(&pf);
	free(path);
}

static void test_pidfile_errors(void **state)
{
	char *path = tmp_path("no-such-dir/x.pid");
	struct daemon_pidfile *pf = NULL;
	const char *error = NULL;
	char expected[PATH_MAX + 64];

	assert_int_equal(daemon_pidfile_create(path, &pf, &error), -1);
	assert_null(pf);
	snprintf(expected, sizeof(expected), "%s: No such file or directory",
		 path);
	assert_string_equal(error, expected);
	assert_int_equal(daemon_pidfile_read(path), 0);
	free(path);
}

/* ---------------------------------------------------------------- detach */

static void test_detach_and_stdio(void **state)
{
	int fds[2];
	char line[256];
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *error;
		pid_t caller = getpid(), old_sid = getsid(0);
		struct stat st_null, st_out;
		char msg[128];
		char cwd[16];
		int len;

		close(fds[0]);
		if (daemon_detach(&error) < 0)
			_exit(1);
		/* In the grandchild now. */
		if (daemon_stdio_null(false, &error) < 0)
			_exit(1);
		len = snprintf(msg, sizeof(msg), "%d %d %d %d %d\n",
			       getpid() != caller,
			       getsid(0) != getpid(), /* not a leader */
			       getsid(0) != old_sid,
			       getcwd(cwd, sizeof(cwd)) != NULL &&
			       strcmp(cwd, "/") == 0,
			       stat("/dev/null", &st_null) == 0 &&
			       fstat(1, &st_out) == 0 &&
			       st_null.st_rdev == st_out.st_rdev &&
			       fstat(2, &st_out) == 0 &&
			       st_null.st_rdev == st_out.st_rdev);
		if (write(fds[1], msg, (size_t)len) != len)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	/* The caller's process exits 0 at once. */
	assert_int_equal(wait_child(pid), 0);
	assert_true(read_line(fds[0], line, sizeof(line), 2000) > 0);
	assert_string_equal(line, "1 1 1 1 1");
	close(fds[0]);
}

static void test_stdio_keeps_stderr(void **state)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		const char *error;
		struct stat st_before, st_after;
		int fd;

		if (fstat(2, &st_before) < 0)
			_exit(1);
		/* Closed stdin is reopened on /dev/null. */
		close(0);
		if (daemon_stdio_null(true, &error) < 0)
			_exit(2);
		if (fcntl(0, F_GETFD) < 0 || fstat(2, &st_after) < 0)
			_exit(3);
		if (st_before.st_ino != st_after.st_ino ||
		    st_before.st_dev != st_after.st_dev)
			_exit(4);
		/* No fd leaked: the next open gets 3 or above, and the
		 * /dev/null fd used is gone. */
		fd = open("/dev/null", O_RDONLY);
		_exit(fd > 2 ? 0 : 5);
	}
	assert_int_equal(wait_child(pid), 0);
}

/* ---------------------------------------------------------------- privileges */

static void test_drop_privileges(void **state)
{
	struct passwd *pw;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	pw = getpwnam("nobody");
	if (pw == NULL)
		skip();

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *error;
		uid_t uid = pw->pw_uid;
		gid_t gid = pw->pw_gid, groups[64];
		int n;

		if (daemon_drop_privileges("nobody", NULL, &error) != 1)
			_exit(1);
		if (getuid() != uid || geteuid() != uid ||
		    getgid() != gid || getegid() != gid)
			_exit(2);
		if (setuid(0) != -1 || seteuid(0) != -1 ||
		    setgid(0) != -1 || setegid(0) != -1)
			_exit(3);
		n = getgroups(N_ELEMENTS(groups), groups);
		if (n < 0)
			_exit(4);
		for (int i = 0; i < n; i++) {
			if (groups[i] == 0)
				_exit(5);
		}
		/* No longer root: a no-op with a clear result. */
		if (daemon_drop_privileges("nobody", NULL, &error) != 0 ||
		    strstr(error, "not running as root") == NULL)
			_exit(6);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);

	/* By ids, with the given gid as the only group. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *error;
		gid_t groups[8];

		if (daemon_drop_privileges_id(pw->pw_uid, pw->pw_gid, NULL,
					      &error) != 1)
			_exit(1);
		if (getuid() != pw->pw_uid || getgid() != pw->pw_gid)
			_exit(2);
		if (getgroups(N_ELEMENTS(groups), groups) != 1 ||
		    groups[0] != pw->pw_gid)
			_exit(3);
		if (setuid(0) != -1)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);

	/* A numeric uid with a named group. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *error;
		char uid_text[32];
		struct group *gr = getgrgid(pw->pw_gid);

		if (gr == NULL)
			_exit(0);
		snprintf(uid_text, sizeof(uid_text), "%ld", (long)pw->pw_uid);
		if (daemon_drop_privileges(uid_text, gr->gr_name, &error) != 1)
			_exit(1);
		_exit(getuid() == pw->pw_uid && getgid() == gr->gr_gid ? 0 : 2);
	}
	assert_int_equal(wait_child(pid), 0);
}

static void test_drop_privileges_groups(void **state)
{
	struct passwd *pw;
	pid_t pid;
	const char *error = NULL;
	gid_t root_in[2];

	if (geteuid() != 0) {
		gid_t g = 1;

		assert_int_equal(daemon_drop_privileges_groups(1, 1, &g, 1,
							       &error), 0);
		assert_non_null(strstr(error, "not running as root"));
		return;
	}
	pw = getpwnam("nobody");
	if (pw == NULL)
		skip();
	/* refused before anything changes */
	root_in[0] = pw->pw_gid;
	root_in[1] = 0;
	assert_int_equal(daemon_drop_privileges_groups(pw->pw_uid, pw->pw_gid,
						       root_in, 2, &error),
			 -1);
	assert_string_equal(error, "refusing to keep group 0 (root)");
	assert_int_equal(daemon_drop_privileges_groups(0, 1, NULL, 0, &error),
			 -1);
	assert_int_equal(geteuid(), 0);

	/* exactly the groups given, a group nobody is not a member of too */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gid_t want[2] = { pw->pw_gid, 4000001 }, got[8];
		int n;

		if (daemon_drop_privileges_groups(pw->pw_uid, 4000001, want, 2,
						  &error) != 1)
			_exit(1);
		if (getuid() != pw->pw_uid || getgid() != 4000001 ||
		    getegid() != 4000001)
			_exit(2);
		n = getgroups(N_ELEMENTS(got), got);
		if (n != 2 || got[0] != want[0] || got[1] != want[1])
			_exit(3);
		if (setuid(0) != -1 || setgid(0) != -1 ||
		    setgroups(0, NULL) != -1)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);

	/* no list: gid alone */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gid_t got[8];

		if (daemon_drop_privileges_groups(pw->pw_uid, pw->pw_gid, NULL,
						  0, &error) != 1)
			_exit(1);
		if (getgroups(N_ELEMENTS(got), got) != 1 ||
		    got[0] != pw->pw_gid)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);
}

static void test_drop_privileges_errors(void **state)
{
	const char *error = NULL;

	if (geteuid() != 0) {
		/* Not root: nothing happens, whatever is asked. */
		assert_int_equal(daemon_drop_privileges_id(1, 1, NULL, &error),
				 0);
		assert_non_null(strstr(error, "not running as root"));
		return;
	}
	/* These fail before changing anything, so the test process keeps
	 * its privileges. */
	assert_int_equal(daemon_drop_privileges("no-such-user-xyz", NULL,
						&error), -1);
	assert_string_equal(error, "no-such-user-xyz: no such user");
	assert_int_equal(daemon_drop_privileges("root", NULL, &error), -1);
	assert_string_equal(error, "refusing to switch to uid 0 (root)");
	assert_int_equal(daemon_drop_privileges_id(0, 0, NULL, &error), -1);
	assert_int_equal(daemon_drop_privileges("nobody", "no-such-group-xyz",
						&error), -1);
	assert_string_equal(error, "no-such-group-xyz: no such group");
	assert_int_equal(daemon_drop_privileges("4000000", NULL, &error), -1);
	assert_string_equal(error,
			    "uid 4000000 has no passwd entry: a group must be "
			    "given");
	assert_int_equal(daemon_drop_privileges("", NULL, &error), -1);
	assert_int_equal(geteuid(), 0);
}

/* ---------------------------------------------------------------- supervisor */

/* Runs a supervisor in a child; each worker writes "pid\n" to the pipe
 * then behaves as told by mode. */
enum worker_mode {
	WORKER_WAIT,		/* waits for signals */
	WORKER_FAIL,		/* exits 1 at once */
	WORKER_EXIT_OK,		/* exits 0 at once */
};

static pid_t start_supervisor(int fd, enum worker_mode mode)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct daemon_supervise_settings set = {
			.min_backoff_msecs = 20,
			.max_backoff_msecs = 80,
			.stable_msecs = 5000,
			.stop_timeout_msecs = 500,
		};
		const char *error;
		char line[32];
		int ret, len;

		log_set_handler(quiet_log, NULL);
		ret = daemon_supervise(&set, &error);
		if (ret == 1)
			_exit(0);
		if (ret < 0)
			_exit(10);
		/* The worker. */
		len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
		if (write(fd, line, (size_t)len) != len)
			_exit(11);
		if (mode == WORKER_FAIL)
			_exit(1);
		if (mode == WORKER_EXIT_OK)
			_exit(0);
		for (;;)
			pause();
	}
	return pid;
}

static void test_supervise_restarts(void **state)
{
	int fds[2];
	char line[32];
	pid_t sup, w1, w2;

	assert_int_equal(pipe(fds), 0);
	sup = start_supervisor(fds[1], WORKER_WAIT);
	assert_true(read_line(fds[0], line, sizeof(line), 2000) > 0);
	w1 = (pid_t)atol(line);
	assert_true(w1 > 0 && w1 != sup);

	/* The worker crashes: a new one comes after the backoff. */
	assert_int_equal(kill(w1, SIGKILL), 0);
	assert_true(read_line(fds[0], line, sizeof(line), 2000) > 0);
	w2 = (pid_t)atol(line);
	assert_true(w2 > 0 && w2 != w1);

	/* SIGTERM stops the worker, then the supervisor. */
	assert_int_equal(kill(sup, SIGTERM), 0);
	assert_int_equal(wait_child(sup), 0);
	assert_int_equal(kill(w2, 0), -1);
	assert_int_equal(errno, ESRCH);
	close(fds[0]);
	close(fds[1]);
}

static void test_supervise_backoff(void **state)
{
	struct timespec ts = { .tv_nsec = 300 * 1000000L };
	int fds[2], workers = 0;
	char line[32];
	pid_t sup;

	assert_int_equal(pipe(fds), 0);
	sup = start_supervisor(fds[1], WORKER_FAIL);
	nanosleep(&ts, NULL);
	assert_int_equal(kill(sup, SIGTERM), 0);
	assert_int_equal(wait_child(sup), 0);
	close(fds[1]);
	while (read_line(fds[0], line, sizeof(line), 100) > 0)
		workers++;
	close(fds[0]);
	/* Backoff 20, 40, 80, 80 ms: a handful of restarts in 300 ms, not
	 * hundreds. */
	assert_true(workers >= 2);
	assert_true(workers <= 8);
}

static void test_supervise_normal_exit(void **state)
{
	int fds[2], workers = 0;
	char line[32];
	pid_t sup;

	assert_int_equal(pipe(fds), 0);
	sup = start_supervisor(fds[1], WORKER_EXIT_OK);
	/* The worker exits 0: supervision ends, nothing is restarted. */
	assert_int_equal(wait_child(sup), 0);
	close(fds[1]);
	while (read_line(fds[0], line, sizeof(line), 100) > 0)
		workers++;
	close(fds[0]);
	assert_int_equal(workers, 1);
}

static void hello_accept(struct listen_client *client, void *context)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());

	if (write(client->fd, line, (size_t)len) != len)
		_exit(20);
	close(client->fd);
	listen_conn_closed(&client->conn);
}

static int connect_port(unsigned int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* The whole skeleton: bind, supervise, and every worker serves on the
 * inherited listener; a client arriving while the worker is down waits
 * in the backlog for the next one. */
static void test_supervised_listener(void **state)
{
	int fds[2], c;
	char line[32];
	unsigned int port;
	pid_t sup, w1, w2;

	assert_int_equal(pipe(fds), 0);
	sup = fork();
	assert_true(sup >= 0);
	if (sup == 0) {
		struct daemon_supervise_settings set = {
			.min_backoff_msecs = 20,
			.stop_timeout_msecs = 500,
		};
		struct ioloop *loop;
		struct listen_service *svc;
		const char *error;
		int ret, len;

		log_set_handler(quiet_log, NULL);
		loop = ioloop_create();
		svc = listen_service_create(loop, NULL, hello_accept, NULL,
					    NULL);
		if (listen_service_add(svc, "127.0.0.1:0", &error) < 0)
			_exit(10);
		len = snprintf(line, sizeof(line), "%u\n",
			       listen_service_port(svc, 0));
		if (write(fds[1], line, (size_t)len) != len)
			_exit(11);
		ret = daemon_supervise(&set, &error);
		if (ret == 1) {
			listen_service_destroy(&svc);
			ioloop_destroy(&loop);
			_exit(0);
		}
		if (ret < 0)
			_exit(12);
		ioloop_run(loop);
		_exit(13);
	}
	close(fds[1]);
	assert_true(read_line(fds[0], line, sizeof(line), 2000) > 0);
	port = (unsigned int)atoi(line);
	assert_true(port > 0);

	c = connect_port(port);
	assert_true(read_line(c, line, sizeof(line), 2000) > 0);
	close(c);
	w1 = (pid_t)atol(line);
	assert_true(w1 > 0 && w1 != sup);

	/* Crash the worker; connect at once, before the restart. */
	assert_int_equal(kill(w1, SIGKILL), 0);
	c = connect_port(port);
	assert_true(read_line(c, line, sizeof(line), 2000) > 0);
	close(c);
	w2 = (pid_t)atol(line);
	assert_true(w2 > 0 && w2 != w1 && w2 != sup);

	assert_int_equal(kill(sup, SIGTERM), 0);
	assert_int_equal(wait_child(sup), 0);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pidfile_lock),
		cmocka_unit_test(test_pidfile_stale),
		cmocka_unit_test(test_pidfile_errors),
		cmocka_unit_test(test_detach_and_stdio),
		cmocka_unit_test(test_stdio_keeps_stderr),
		cmocka_unit_test(test_drop_privileges),
		cmocka_unit_test(test_drop_privileges_groups),
		cmocka_unit_test(test_drop_privileges_errors),
		cmocka_unit_test(test_supervise_restarts),
		cmocka_unit_test(test_supervise_backoff),
		cmocka_unit_test(test_supervise_normal_exit),
		cmocka_unit_test(test_supervised_listener),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
