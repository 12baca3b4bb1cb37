/* mod-pipe.c: the authpipe module: an external program (PIPE_PROGRAM in
 * authdaemonrc) answers the authdaemon protocol on its stdin/stdout.
 *
 * One program run per request: it reads one request (PRE or AUTH, the
 * same bytes authdaemond received) and writes the reply (a record, FAIL,
 * or nothing for a temporary failure), then exits.  The program gets the
 * request's time budget: when it overruns, it is killed and the request
 * fails temporarily. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth-module.h"
#include "authproto.h"
#include "config-env.h"
#include "mem.h"
#include "secure.h"

struct pipe_module {
	struct auth_module module;
	char *program;
	char error[256];
};

static int pipe_init(const struct auth_module_def *def, const char *config_path,
	const struct config_env *authdaemonrc, struct auth_module **mod_r,
	const char **error_r)
{
	const char *prog = config_env_get(authdaemonrc, "PIPE_PROGRAM");
	(void)config_path;
	if (prog == NULL || prog[0] != '/') {
		*error_r = "PIPE_PROGRAM (an absolute path) is not set in "
			   "authdaemonrc";
		return -1;
	}
	struct pipe_module *m = xcalloc(1, sizeof(*m));
	m->module.def = def;
	m->program = xstrdup(prog);
	*mod_r = &m->module;
	return 0;
}

static void pipe_deinit(struct auth_module **mod)
{
	struct pipe_module *m = (struct pipe_module *)*mod;
	if (m == NULL)
		return;
	free(m->program);
	free(m);
	*mod = NULL;
}

static void reap(pid_t pid, bool kill_it)
{
	if (kill_it)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Runs the program with request; returns OK/NOTFOUND/TEMPFAIL. */
static enum auth_module_result run(struct pipe_module *m,
	const struct auth_request *req, const struct str *request,
	struct auth_record *rec_r, const char **error_r)
{
	int in[2], out[2];
	pid_t pid;
	enum auth_module_result res = AUTH_MODULE_TEMPFAIL;

	if (pipe2(in, O_CLOEXEC) < 0)
		goto fail_errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		goto fail_errno;
	}
	pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		goto fail_errno;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(111);
		execl(m->program, m->program, (char *)NULL);
		_exit(111);
	}
	close(in[0]);
	close(out[1]);
	size_t off = 0;
	while (off < request->len) {
		ssize_t n =
			write(in[1], request->data + off, request->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(in[1]);

	struct auth_reply_parser *p = auth_reply_parser_create(0);
	char buf[4096];
	for (;;) {
		struct pollfd pfd = {out[0], POLLIN, 0};
		long ms = auth_request_remaining_msecs(req);
		if (ms == 0) {
			*error_r = "PIPE_PROGRAM did not answer in time";
			break;
		}
		int r = poll(&pfd, 1, (int)ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			*error_r = "PIPE_PROGRAM did not answer in time";
			break;
		}
		ssize_t n = read(out[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = "PIPE_PROGRAM closed without an answer";
			break;
		}
		const char *perr;
		enum auth_reply_status st = auth_reply_parser_feed(
			p, buf, (size_t)n, NULL, rec_r, &perr);
		if (st == AUTH_REPLY_MORE)
			continue;
		if (st == AUTH_REPLY_RECORD)
			res = AUTH_MODULE_OK;
		else if (st == AUTH_REPLY_FAIL)
			res = AUTH_MODULE_NOTFOUND;
		else
			*error_r = "PIPE_PROGRAM sent a malformed reply";
		break;
	}
	secure_wipe(buf, sizeof(buf));
	auth_reply_parser_destroy(&p);
	close(out[0]);
	reap(pid, true);
	return res;

fail_errno:
	snprintf(m->error, sizeof(m->error), "cannot run PIPE_PROGRAM: %s",
		strerror(errno));
	*error_r = m->error;
	return AUTH_MODULE_TEMPFAIL;
}

static enum auth_module_result pipe_lookup(struct auth_module *mod,
	const struct auth_request *req, struct auth_record *rec_r,
	const char **error_r)
{
	struct pipe_module *m = (struct pipe_module *)mod;
	struct str request;
	enum auth_module_result r;

	str_init(&request, 256);
	if (authproto_write_pre(&request, req->remote_ip, NULL, req->service,
		    req->user, error_r) < 0) {
		str_free(&request);
		return AUTH_MODULE_NOTFOUND;
	}
	r = run(m, req, &request, rec_r, error_r);
	str_free(&request);
	return r;
}

static enum auth_module_result pipe_authenticate(struct auth_module *mod,
	const struct auth_request *req, const char *password,
	struct auth_record *rec_r, const char **error_r)
{
	struct pipe_module *m = (struct pipe_module *)mod;
	struct str request;
	enum auth_module_result r;

	str_init(&request, 256);
	if (authproto_write_login(&request, req->remote_ip, req->service,
		    req->user, password, error_r) < 0) {
		str_free(&request);
		return AUTH_MODULE_NOTFOUND;
	}
	r = run(m, req, &request, rec_r, error_r);
	secure_wipe(request.data, request.size);
	str_free(&request);
	return r;
}

const struct auth_module_def auth_module_pipe = {
	.name = "authpipe",
	.config_file = NULL,
	.init = pipe_init,
	.deinit = pipe_deinit,
	.lookup = pipe_lookup,
	.authenticate = pipe_authenticate,
	.enumerate = NULL,
	.change_password = NULL,
};
