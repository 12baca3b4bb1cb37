/* courier.c: the `courier` command: start, stop, restart and flush the
 * scheduler (courier(8)).
 *
 *   courier start          runs courierd in the background (its log in
 *                          var/log/courierd.log)
 *   courier stop           stops it (SIGTERM) and waits until it is gone
 *   courier restart        restarts it once the deliveries in flight are
 *                          done (SIGHUP)
 *   courier flush [qid]    tries every queued message (or one) now
 *   courier show all       lists the addresses blacklisted for
 *                          backscatter (track.h): address, why, since
 *   courier clear ADDRESS  takes an address off that blacklist
 *   courier clear all      empties it
 *
 * Exit status 0 on success, 1 on failure (with a message on stderr). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "track.h"

static pid_t running(void)
{
	char *path = instance_var_path("run/courierd.pid");
	pid_t pid = daemon_pidfile_read(path);

	free(path);
	return pid > 0 ? pid : 0;
}

static char *courierd_path(void)
{
	return instance_program(1, "sbin/courierd");
}

static int cmd_start(void)
{
	const char *error;
	char *prog, *logpath;
	pid_t pid;
	int fd;

	if ((pid = running()) != 0) {
		fprintf(stderr, "courier: courierd already runs (pid %ld)\n",
			(long)pid);
		return 1;
	}
	prog = courierd_path();
	logpath = instance_var_path("log");
	(void)mkdir(logpath, 0750);
	free(logpath);
	logpath = instance_var_path("log/courierd.log");
	fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0640);
	if (fd < 0) {
		fprintf(stderr, "courier: %s: %s\n", logpath, strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "courier: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		if (daemon_detach(&error) < 0)
			_exit(1);
		if (daemon_stdio_null(true, &error) < 0)
			_exit(1);
		dup2(fd, 2);
		close(fd);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	close(fd);
	/* wait for the pid file: it is up */
	for (int i = 0; i < 100; i++) {
		if (running() != 0) {
			printf("courierd started\n");
			return 0;
		}
		usleep(50000);
	}
	fprintf(stderr, "courier: courierd did not start: see %s\n",
		logpath);
	free(logpath);
	free(prog);
	return 1;
}

static int cmd_stop(void)
{
	pid_t pid = running();

	if (pid == 0) {
		fprintf(stderr, "courier: courierd does not run\n");
		return 1;
	}
	if (kill(pid, SIGTERM) < 0) {
		fprintf(stderr, "courier: kill %ld: %s\n", (long)pid,
			strerror(errno));
		return 1;
	}
	for (int i = 0; i < 300; i++) {
		if (running() == 0)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "courier: courierd (pid %ld) did not stop\n",
		(long)pid);
	return 1;
}

static int cmd_restart(void)
{
	pid_t pid = running();

	if (pid == 0)
		return cmd_start();
	if (kill(pid, SIGHUP) < 0) {
		fprintf(stderr, "courier: kill %ld: %s\n", (long)pid,
			strerror(errno));
		return 1;
	}
	return 0;
}

static int cmd_flush(const char *qid)
{
	const char *error;
	char *line;
	int r;

	if (qid != NULL && !queue_id_valid(qid, NULL)) {
		fprintf(stderr, "courier: %s is not a queue id\n", qid);
		return 1;
	}
	line = xasprintf("F%s", qid != NULL ? qid : "");
	r = queue_trigger(line, &error);
	free(line);
	if (r < 0) {
		fprintf(stderr, "courier: %s\n", error);
		return 1;
	}
	if (r == 0) {
		fprintf(stderr, "courier: courierd does not run\n");
		return 1;
	}
	return 0;
}

static void show_cb(const char *address, enum track_status status,
		    time_t when, void *context)
{
	char date[64];
	struct tm tm;

	(void)context;
	localtime_r(&when, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s\t%s\t%s\n", address,
	       status == TRACK_FAILED ? "failed" : "deferred", date);
}

static int cmd_show(void)
{
	size_t n = track_list(time(NULL), show_cb, NULL);

	if (n == 0)
		printf("No addresses are blacklisted.\n");
	return 0;
}

static int cmd_clear(const char *what)
{
	const char *error;
	bool all = strcmp(what, "all") == 0;

	if (!all && (strchr(what, '@') == NULL || strlen(what) >
		     TRACK_MAX_ADDRESS)) {
		fprintf(stderr, "courier: clear: user@domain or all\n");
		return 64;
	}
	if (track_clear(all ? NULL : what, time(NULL), &error) < 0) {
		fprintf(stderr, "courier: clear: %s: %s\n", error,
			strerror(errno));
		return 1;
	}
	printf("%s cleared\n", all ? "All addresses" : what);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("courier", LOG_TARGET_STDERR);
	if (argc == 2 && strcmp(argv[1], "start") == 0)
		return cmd_start();
	if (argc == 2 && strcmp(argv[1], "stop") == 0)
		return cmd_stop();
	if (argc == 2 && strcmp(argv[1], "restart") == 0)
		return cmd_restart();
	if ((argc == 2 || argc == 3) && strcmp(argv[1], "flush") == 0)
		return cmd_flush(argc == 3 ? argv[2] : NULL);
	if (argc == 3 && strcmp(argv[1], "show") == 0 &&
	    strcmp(argv[2], "all") == 0)
		return cmd_show();
	if (argc == 3 && strcmp(argv[1], "clear") == 0)
		return cmd_clear(argv[2]);
	fprintf(stderr, "usage: courier start|stop|restart|flush [qid]|"
		"show all|clear user@domain|clear all\n");
	return 64;
}
