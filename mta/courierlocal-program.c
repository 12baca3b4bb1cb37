/* courierlocal-program.c: programs fed a message by the local delivery
 * ("|cmd" lines, "||" ones' runs, maildrop), their exit codes and output. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "courierlocal.h"
#include "daemon.h"
#include "log.h"
#include "mem.h"

bool hard_exit(int code)
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
char *output_suffix(const char *output)
{
	return output != NULL ? xasprintf(": %s", output) : xstrdup("");
}

int run_fed(struct delivery *dl, char *const argv[], int out_fd,
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
bool deliver_program(struct delivery *dl, const char *cmd,
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
void deliver_maildrop(struct delivery *dl, struct outcome *o)
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
