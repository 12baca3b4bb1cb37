/* test-auth-backend-driver.c: runs one authlib module in-process for the
 * integration tests, as an authdaemond worker would (init once, then many
 * requests on the same instance, so reconnecting can be watched).
 *
 * Usage: test-auth-backend-driver MODULE CONFIG_FILE [NAME=VALUE...]
 * (the NAME=VALUE pairs are the worker's authdaemonrc; CONFIG_FILE "-"
 * means none).  Commands on standard input, one per line, TAB-separated:
 *	lookup SERVICE USER
 *	auth SERVICE USER PASSWORD
 *	passwd SERVICE USER OLD NEW
 *	enumerate
 * An answer is "OK" and the record's KEY=value lines ending with "."
 * (authdaemon wire form, passwords included for lookup), or one line:
 * "NOTFOUND", "DISABLED" (auth: the account may not use SERVICE),
 * "TEMPFAIL reason"; enumerate gives records then "END".  Every answer is
 * followed by a line "EOR".  At start: "READY" or "INITFAIL reason".
 * Requests get REQUEST_TIMEOUT milliseconds from the environment (default
 * 10000).  Never prints a password given on input. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth-module.h"
#include "auth-record.h"
#include "config-env.h"
#include "mem.h"
#include "passwd.h"
#include "secure.h"
#include "str.h"

static void print_record(const struct auth_record *rec, bool passwords)
{
	struct str out;
	const char *error;

	str_init(&out, 256);
	if (auth_record_write(rec, passwords, &out, &error) < 0)
		printf("TEMPFAIL invalid record: %s\n", error);
	else
		printf("OK\n%s", str_c(&out));
	str_free(&out);
}

static void print_result(enum auth_module_result r, const char *error)
{
	if (r == AUTH_MODULE_NOTFOUND)
		printf("NOTFOUND\n");
	else
		printf("TEMPFAIL %s\n", error != NULL ? error : "(no reason)");
}

static int enum_cb(const struct auth_record *rec, void *context)
{
	(void)context;
	print_record(rec, false);
	return 0;
}

static void set_deadline(struct auth_request *req)
{
	const char *t = getenv("REQUEST_TIMEOUT");
	long ms = t != NULL ? atol(t) : 10000;

	clock_gettime(CLOCK_MONOTONIC, &req->deadline);
	req->deadline.tv_sec += ms / 1000;
	req->deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (req->deadline.tv_nsec >= 1000000000L) {
		req->deadline.tv_sec++;
		req->deadline.tv_nsec -= 1000000000L;
	}
}

static void run(const struct auth_module_def *def, struct auth_module *mod,
		char **f, size_t n)
{
	struct auth_request req = { .remote_ip = "127.0.0.1" };
	struct auth_record rec;
	const char *error = NULL;
	enum auth_module_result r;

	auth_record_init(&rec);
	set_deadline(&req);
	if (n == 1 && strcmp(f[0], "enumerate") == 0) {
		if (def->enumerate == NULL) {
			printf("TEMPFAIL no enumerate\n");
			return;
		}
		r = def->enumerate(mod, enum_cb, NULL, &error);
		if (r == AUTH_MODULE_OK)
			printf("END\n");
		else
			print_result(r, error);
		return;
	}
	if (n < 3) {
		printf("TEMPFAIL bad command\n");
		return;
	}
	req.service = f[1];
	req.user = f[2];
	if (strcmp(f[0], "lookup") == 0 && n == 3) {
		r = def->lookup(mod, &req, &rec, &error);
		if (r == AUTH_MODULE_OK)
			print_record(&rec, true);
		else
			print_result(r, error);
	} else if (strcmp(f[0], "auth") == 0 && n == 4) {
		if (def->authenticate != NULL) {
			r = def->authenticate(mod, &req, f[3], &rec, &error);
		} else {
			/* What authdaemond does for modules that return the
			 * stored password. */
			r = def->lookup(mod, &req, &rec, &error);
			if (r == AUTH_MODULE_OK) {
				bool ok = false;
				if (rec.passwd != NULL)
					ok = passwd_verify(f[3], rec.passwd) ==
					     1;
				else if (rec.clearpasswd != NULL)
					ok = secure_streq(f[3],
							  rec.clearpasswd);
				if (!ok)
					r = AUTH_MODULE_NOTFOUND;
			}
		}
		if (r == AUTH_MODULE_OK &&
		    auth_record_service_disabled(&rec, req.service))
			printf("DISABLED\n");
		else if (r == AUTH_MODULE_OK)
			print_record(&rec, false);
		else
			print_result(r, error);
	} else if (strcmp(f[0], "passwd") == 0 && n == 5) {
		if (def->change_password == NULL) {
			printf("TEMPFAIL no change_password\n");
		} else {
			r = def->change_password(mod, &req, f[3], f[4],
						 &error);
			if (r == AUTH_MODULE_OK)
				printf("OK\n");
			else
				print_result(r, error);
		}
	} else {
		printf("TEMPFAIL bad command\n");
	}
	auth_record_free(&rec);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s MODULE CONFIG_FILE [NAME=VALUE...]\n",
			argv[0]);
		return 2;
	}
	const struct auth_module_def *def = auth_module_find(argv[1]);
	if (def == NULL) {
		printf("INITFAIL unknown module %s\n", argv[1]);
		return 1;
	}
	struct config_env *rc = config_env_new(NULL);
	for (int i = 3; i < argc; i++) {
		struct str line;
		str_init(&line, 64);
		str_printfa(&line, "%s\n", argv[i]);
		config_env_parse(rc, "argv", str_c(&line), str_len(&line),
				 NULL);
		str_free(&line);
	}
	struct auth_module *mod = NULL;
	const char *error = NULL;
	if (def->init(def, strcmp(argv[2], "-") == 0 ? NULL : argv[2], rc,
		      &mod, &error) < 0) {
		printf("INITFAIL %s\n", error);
		config_env_free(&rc);
		return 1;
	}
	printf("READY\n");
	fflush(stdout);

	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		char **f = str_split(line, "\t");
		size_t n = 0;
		while (f[n] != NULL)
			n++;
		run(def, mod, f, n);
		printf("EOR\n");
		fflush(stdout);
		for (size_t i = 0; i < n; i++)
			secure_wipe(f[i], strlen(f[i]));
		str_split_free(&f);
		secure_wipe(line, (size_t)len);
	}
	free(line);
	def->deinit(&mod);
	config_env_free(&rc);
	return 0;
}
