/* esmtp-localfilter.c: localmailfilter(7) replies from the helper's
 * answer, and the blocking runner of the helper (esmtp-localfilter.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "esmtp-localfilter.h"
#include "log.h"
#include "mem.h"

extern char **environ;

/* "NNN" at p (len bytes) with a first digit in first: the code, else 0.
 * The code must end the line or be followed by ' ' or '-'. */
static int line_code(const char *p, size_t len, size_t *skip_r)
{
	if (len < 3 || (p[0] != '4' && p[0] != '5') ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
		return 0;
	if (len > 3 && p[3] != ' ' && p[3] != '-')
		return 0;
	*skip_r = len > 3 ? 4 : 3;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* Whether text starts with an enhanced status code "C.D.E " (RFC 3463:
 * class digit, subject 1-3 digits, detail 1-3 digits) of class c. */
static bool has_enhanced(const char *text, char c)
{
	const char *p = text;
	int n;

	if (*p++ != c || *p++ != '.')
		return false;
	for (n = 0; isdigit((unsigned char)*p) && n < 4; n++)
		p++;
	if (n < 1 || n > 3 || *p++ != '.')
		return false;
	for (n = 0; isdigit((unsigned char)*p) && n < 4; n++)
		p++;
	return n >= 1 && n <= 3 && (*p == ' ' || *p == '\0');
}

/* The filter's output as at most ESMTP_LMF_MAX_LINES cleaned lines (no
 * CR, control or 8-bit bytes, at most ESMTP_LMF_MAX_LINE bytes each),
 * empty lines at the end dropped.  Returns the number of lines. */
static size_t output_lines(const char *out, size_t len,
			   char *lines[ESMTP_LMF_MAX_LINES])
{
	size_t n = 0, pos = 0;

	if (len > ESMTP_LMF_MAX_OUTPUT)
		len = ESMTP_LMF_MAX_OUTPUT;
	while (pos < len && n < ESMTP_LMF_MAX_LINES) {
		const char *nl = memchr(out + pos, '\n', len - pos);
		size_t l = nl != NULL ? (size_t)(nl - (out + pos)) : len - pos;
		size_t keep = l < ESMTP_LMF_MAX_LINE ? l : ESMTP_LMF_MAX_LINE;
		char *line = xmalloc(keep + 1);
		size_t j = 0;

		for (size_t i = 0; i < keep; i++) {
			unsigned char c = (unsigned char)out[pos + i];

			if (c == '\r' && i + 1 == keep)
				continue;
			line[j++] = c < 0x20 || c >= 0x7f ? ' ' : (char)c;
		}
		while (j > 0 && line[j - 1] == ' ')
			j--;
		line[j] = '\0';
		lines[n++] = line;
		pos += l + 1;
	}
	while (n > 0 && lines[n - 1][0] == '\0')
		free(lines[--n]);
	return n;
}

enum esmtp_lmf_verdict esmtp_lmf_verdict(int wstatus, bool rcpt_phase,
					  const char *out, size_t len,
					  char **reply_r)
{
	char *lines[ESMTP_LMF_MAX_LINES];
	size_t n, skip = 0;
	int code = 0, orig = 0, status = -1;
	bool temp;
	struct str r;

	*reply_r = NULL;
	if (wstatus != -1 && WIFEXITED(wstatus))
		status = WEXITSTATUS(wstatus);
	switch (status) {
	case ESMTP_LMF_EXIT_ACCEPT:
		return ESMTP_LMF_ACCEPT;
	case ESMTP_LMF_EXIT_CONTENT:
		return rcpt_phase ? ESMTP_LMF_CONTENT : ESMTP_LMF_ACCEPT;
	case ESMTP_LMF_EXIT_NOFILTER:
		return ESMTP_LMF_NOFILTER;
	case ESMTP_LMF_EXIT_REJECT:
		temp = false;
		break;
	default:
		/* 75, a signal, the helper failing: never a lost message */
		temp = true;
		break;
	}
	n = output_lines(out, len, lines);
	if (n > 0)
		code = line_code(lines[0], strlen(lines[0]), &skip);
	orig = code;
	if (code != 0 && temp && code >= 500)
		code = 0;	/* a temporary failure stays temporary */
	if (code == 0)
		code = temp ? 451 : 550;
	else if (code < 500)
		temp = true;
	str_init(&r, 256);
	if (n == 0) {
		lines[0] = xstrdup(temp ? "Temporary failure in the "
				   "recipient's mail filter, try again later" :
				   "Message rejected by the recipient's mail "
				   "filter");
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *text = lines[i];
		size_t s = 0;

		/* the code the filter gave (on each line) is ours now */
		if (orig != 0 && line_code(text, strlen(text), &s) == orig)
			text += s;
		if (i > 0)
			str_append_c(&r, '\n');
		str_printfa(&r, "%d%c", code, i + 1 == n ? ' ' : '-');
		if (!has_enhanced(text, (char)('0' + code / 100)))
			str_append(&r, temp ? "4.7.1 " : "5.7.1 ");
		str_append(&r, text);
		free(lines[i]);
	}
	*reply_r = str_steal(&r);
	return temp ? ESMTP_LMF_TEMPFAIL : ESMTP_LMF_REJECT;
}

char *esmtp_lmf_filter_name(const char *base, const char *ext)
{
	char *name;

	if (ext == NULL || *ext == '\0')
		return xstrdup(base);
	name = xasprintf("%s-%s", base, ext);
	for (char *p = name; *p != '\0'; p++) {
		if (*p == '/' || *p == '.')
			*p = ':';
	}
	return name;
}

char **esmtp_lmf_argv(const char *helper, unsigned int timeout_secs,
		      const char *sender, const char *recipient,
		      const char *remote_ip, const char *account,
		      const char *filter)
{
	char **argv = xcalloc(12, sizeof(*argv));
	size_t n = 0;

	argv[n++] = xstrdup(helper);
	argv[n++] = xstrdup("-t");
	argv[n++] = xasprintf("%u", timeout_secs);
	argv[n++] = xstrdup("-s");
	argv[n++] = xstrdup(sender != NULL ? sender : "");
	argv[n++] = xstrdup("-r");
	argv[n++] = xstrdup(recipient);
	if (remote_ip != NULL && *remote_ip != '\0') {
		argv[n++] = xstrdup("-i");
		argv[n++] = xstrdup(remote_ip);
	}
	if (account != NULL)
		argv[n++] = xstrdup(account);
	else
		argv[n++] = xstrdup("-a");
	argv[n++] = xstrdup(filter);
	argv[n] = NULL;
	return argv;
}

void esmtp_lmf_argv_free(char ***argvp)
{
	char **argv = *argvp;

	if (argv == NULL)
		return;
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
	*argvp = NULL;
}

/* Milliseconds of the monotonic clock. */
static long long now_msecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int esmtp_lmf_run(char *const argv[], int stdin_fd,
		  unsigned int timeout_secs, struct str *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int pipefd[2], devnull = -1, err, wstatus;
	long long deadline;
	bool killed = false;
	pid_t pid;
	char buf[4096];

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		log_error("esmtpd: pipe: %s", strerror(errno));
		return -1;
	}
	if (stdin_fd < 0) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0) {
			log_error("esmtpd: /dev/null: %s", strerror(errno));
			close(pipefd[0]);
			close(pipefd[1]);
			return -1;
		}
		stdin_fd = devnull;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* the child starts with no signal blocked and default handlers */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	err = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	if (err != 0) {
		log_error("esmtpd: %s: %s", argv[0], strerror(err));
		close(pipefd[0]);
		return -1;
	}
	deadline = now_msecs() + (long long)timeout_secs * 1000 + 10000;
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		long long left = deadline - now_msecs();
		ssize_t got;
		int r;

		if (left <= 0) {
			/* the helper should have stopped its filter by now;
			 * it runs as the account, so this may not work */
			log_error("esmtpd: %s did not finish in time",
				  argv[0]);
			(void)kill(pid, SIGKILL);
			killed = true;
			break;
		}
		r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_error("esmtpd: poll: %s", strerror(errno));
			break;
		}
		if (r == 0)
			continue;
		got = read(pipefd[0], buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (str_len(out) < ESMTP_LMF_MAX_OUTPUT) {
			size_t room = ESMTP_LMF_MAX_OUTPUT - str_len(out);

			str_append_n(out, buf, (size_t)got < room ?
				     (size_t)got : room);
		}
	}
	close(pipefd[0]);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			log_error("esmtpd: waitpid: %s", strerror(errno));
			return -1;
		}
	}
	return killed ? -1 : wstatus;
}
