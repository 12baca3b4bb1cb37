/* mdtarget.c: where the maildrop interpreter delivers (to, cc, DEFAULT):
 * programs, forwards, maildirs (FLAGS, KEYWORDS, quota warnings), mbox
 * files, with the delivery log and the VERBOSE traces. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mddeliver.h"
#include "mdeval-private.h"
#include "mdeval.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "str.h"

/* ---- delivery ---- */

/* A LOCK* variable's seconds: dflt when unset, else its number clamped
 * to 0..UINT_MAX. */
static unsigned int lock_secs(const char *v, unsigned int dflt)
{
	long long n;

	if (*v == '\0')
		return dflt;
	n = md_eval_ll(md_eval_num(v));
	if (n < 0)
		return 0;
	return n > (long long)UINT_MAX ? UINT_MAX : (unsigned int)n;
}

void md_target_lock_settings(struct md_interp *it, struct md_lock_settings *ls)
{
	const char *v;

	ls->lockext = md_interp_get(it, "LOCKEXT");
	if (*ls->lockext == '\0')
		ls->lockext = ".lock";
	v = md_interp_get(it, "LOCKSLEEP");
	ls->sleep_secs = lock_secs(v, 5);
	v = md_interp_get(it, "LOCKTIMEOUT");
	ls->timeout_secs = lock_secs(v, 60);
	v = md_interp_get(it, "LOCKREFRESH");
	ls->refresh_secs = lock_secs(v, 15);
}

static char *raw_header(struct md_interp *it, const char *name)
{
	const char *d = str_c(&it->msg->data);
	size_t len = it->msg->header_end, i = 0, nl_ = strlen(name);

	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t end = nl == NULL ? len : (size_t)(nl - d) + 1;

		while (end < len && (d[end] == ' ' || d[end] == '\t')) {
			nl = memchr(d + end, '\n', len - end);
			end = nl == NULL ? len : (size_t)(nl - d) + 1;
		}
		if (end - i > nl_ && strncasecmp(d + i, name, nl_) == 0 &&
		    d[i + nl_] == ':') {
			struct str v;
			size_t j = i + nl_ + 1;

			str_init(&v, end - j + 1);
			while (j < end && (d[j] == ' ' || d[j] == '\t'))
				j++;
			for (; j < end; j++) {
				if (d[j] != '\n')
					str_append_c(&v, d[j]);
			}
			return str_steal(&v);
		}
		i = end;
	}
	return xstrdup("");
}

/* The log file, opened (appending) on first use as Debian does. */
FILE *md_target_logfile(struct md_interp *it)
{
	if (it->logfile == NULL && it->logpath != NULL) {
		it->logfile = fopen(it->logpath, "a");
		x_free(it->logpath);
	}
	return it->logfile;
}

static void log_delivery_as(struct md_interp *it, const char *tag,
			    const char *target, size_t size)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	char *from, *subj;

	if (md_target_logfile(it) == NULL)
		return;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	from = raw_header(it, "From");
	subj = raw_header(it, "Subject");
	{
		/* the size is right-aligned at column 78; a longer target is
		 * cut (in bytes) so that one blank stays before the size, as
		 * Debian's maildrop does */
		char sz[32];
		int n = snprintf(sz, sizeof(sz), "(%zu)", size);

		fprintf(it->logfile,
			"Date: %s\nFrom: %s\nSubj: %s\n%s: %-*.*s%s\n\n",
			date, from, subj, tag, 72 - n, 71 - n, target, sz);
	}
	fflush(it->logfile);
	free(from);
	free(subj);
}

static void log_delivery(struct md_interp *it, const char *target, size_t size)
{
	log_delivery_as(it, "File", target, size);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *shell_quote(const char *s)
{
	struct str out;

	str_init(&out, strlen(s) + 8);
	str_append_c(&out, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			str_append(&out, "'\\''");
		else
			str_append_c(&out, *s);
	}
	str_append_c(&out, '\'');
	return str_steal(&out);
}

/* Delivers the message to target.  Returns 0, or -1 after md_eval_fatal(). */
/* md_target_deliver() without its trace: returns 0 (1 for a program), or -1. */
static int deliver_to(struct md_interp *it, const char *target, bool is_cc)
{
	const char *data = str_c(&it->msg->data);
	size_t len = str_len(&it->msg->data);
	char *err = NULL;

	while (*target == ' ' || *target == '\t')
		target++;
	if (md_eval_restricted(it)) {
		md_eval_fatal(it, MD_EX_TEMPFAIL, "Delivery is not allowed in embedded mode.");
		return -1;
	}
	if (*target == '|' || *target == '!') {
		char **envp;
		char *cmd;
		int status;

		if (md_eval_verbose(it) >= 1)
			fprintf(stderr, "maildrop: Delivering to %s\n", target);
		envp = md_eval_build_env(it);
		if (*target == '|') {
			cmd = xstrdup(target + 1);
		} else {
			struct str c;
			char **addrs = str_split(target + 1, " \t,");
			char *q;

			str_init(&c, 128);
			/* SENDMAIL is a command line ("/usr/sbin/sendmail -oi") */
			str_append(&c, *md_interp_get(it, "SENDMAIL") != '\0' ?
				   md_interp_get(it, "SENDMAIL") :
				   "/usr/sbin/sendmail -oi");
			str_append(&c, " -f ");
			q = shell_quote(md_interp_get(it, "FROM"));
			str_append(&c, q);
			free(q);
			for (size_t i = 0; addrs[i] != NULL; i++) {
				q = shell_quote(addrs[i]);
				str_append_c(&c, ' ');
				str_append(&c, q);
				free(q);
			}
			str_split_free(&addrs);
			cmd = str_steal(&c);
		}
		fflush(stdout);
		bool write_failed = false;
		if (md_run_program_full(md_expr_shell(it), cmd, data, len, envp,
					NULL, 0, &status, &write_failed,
					&err) < 0) {
			md_eval_fatal(it, MD_EX_TEMPFAIL, "%s", err);
			free(err);
			free(cmd);
			md_eval_free_env(envp);
			return -1;
		}
		md_eval_free_env(envp);
		free(cmd);
		log_delivery_as(it, status == 0 ? "File" : "!Err", target, len);
		/* Debian's maildrop says so whatever the program's exit */
		if (md_eval_verbose(it) >= 5)
			fprintf(stderr, "maildrop: Delivery complete.\n");
		{
			/* Debian's maildrop keeps the program's exit code in
			 * EXITCODE, for to as for cc: a failed to trapped by
			 * exception {} still ends with it */
			char *s = xasprintf("%d", status);

			md_interp_set(it, "EXITCODE", s);
			free(s);
		}
		if (write_failed) {
			/* the program stopped reading: as Debian's maildrop,
			 * said, and with a failing exit a temporary failure
			 * (the message may not have been taken whole) */
			fprintf(stderr, "maildrop: error writing to mailbox.\n");
			if (status != 0) {
				md_eval_fatal(it, MD_EX_TEMPFAIL,
					      "Unable to deliver to mailbox.");
				return -1;
			}
		}
		if (!is_cc && status != 0) {
			/* the exit code is maildrop's, without a message */
			md_eval_fatal(it, status, "Delivery to program failed (exit %d).",
			      status);
			x_free(it->error);
			return -1;
		}
		return 1;
	}
	{
		size_t tl = strlen(target);
		bool slash = tl > 1 && target[tl - 1] == '/', isdir;
		char *path = xstrdup(target);

		while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		isdir = is_dir(path);
		if (!isdir && md_eval_verbose(it) >= 1)
			fprintf(stderr, "maildrop: Delivering to %s\n", target);
		if (slash || isdir) {
			bool over;
			char *warn = NULL;

			if (md_deliver_maildir_kw(path, data, len,
					md_interp_get(it, "MAILDIRQUOTA"),
					md_interp_get(it, "FLAGS"),
					md_interp_get(it, "KEYWORDS"),
					&over, &warn, &err) < 0) {
				md_eval_fatal(it, MD_EX_TEMPFAIL, "%s", err);
				free(err);
				free(path);
				return -1;
			}
			if (warn != NULL) {
				fprintf(stderr, "maildrop: %s\n", warn);
				free(warn);
			}
			log_delivery(it, target, len);
			if (it->warn_percent > 0 &&
			    md_quota_warn(path, it->warn_percent, it->warn_file,
					  &err) < 0) {
				fprintf(stderr, "maildrop: %s\n", err);
				free(err);
			}
		} else {
			struct md_lock_settings ls;
			size_t size;
			const char *from = md_interp_get(it, "FROM");

			md_target_lock_settings(it, &ls);
			if (md_eval_verbose(it) >= 5)
				fprintf(stderr, "maildrop: Flock()ing %s.\n"
					"maildrop: Appending to %s.\n", path,
					path);
			if (md_deliver_mbox(path, data, len,
					    *from != '\0' ? from : "MAILER-DAEMON",
					    &ls, &size, &err) < 0) {
				md_eval_fatal(it, MD_EX_TEMPFAIL, "%s", err);
				free(err);
				free(path);
				return -1;
			}
			log_delivery(it, target, size);
		}
		free(path);
	}
	return 0;
}

/* Delivers to target (to, cc, DEFAULT): a program ("|cmd"), a
 * forward ("!addr"), a maildir or an mbox file.  Returns 0, or -1 after
 * a fatal error. */
int md_target_deliver(struct md_interp *it, const char *target, bool is_cc)
{
	int r = deliver_to(it, target, is_cc);

	/* 1: a program, which wrote its own trace */
	if (r == 0 && md_eval_verbose(it) >= 5)
		fprintf(stderr, "maildrop: Delivery complete.\n");
	return r < 0 ? -1 : 0;
}
