/* mdeval.c: the maildrop interpreter: variables, errors and traces,
 * numbers, substitution, statements, include files, the run. */
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
#include "mdeval.h"
#include "mdeval-private.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "str.h"

extern char **environ;

/* ---- variables ---- */

static unsigned int var_hash(const char *s)
{
	unsigned int h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h % VAR_BUCKETS;
}

void md_interp_set(struct md_interp *it, const char *name, const char *value)
{
	unsigned int h = var_hash(name);
	struct var *v;

	for (v = it->vars[h]; v != NULL; v = v->next) {
		if (strcmp(v->name, name) == 0) {
			char *nv = xstrdup(value);

			free(v->value);
			v->value = nv;
			return;
		}
	}
	v = xcalloc(1, sizeof(*v));
	v->name = xstrdup(name);
	v->value = xstrdup(value);
	v->next = it->vars[h];
	it->vars[h] = v;
}

static const char *var_get(struct md_interp *it, const char *name)
{
	for (struct var *v = it->vars[var_hash(name)]; v != NULL; v = v->next) {
		if (strcmp(v->name, name) == 0)
			return v->value;
	}
	return NULL;
}

const char *md_interp_get(struct md_interp *it, const char *name)
{
	const char *v = var_get(it, name);

	return v != NULL ? v : "";
}

static void var_unset(struct md_interp *it, const char *name)
{
	struct var **pp = &it->vars[var_hash(name)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			struct var *v = *pp;

			*pp = v->next;
			free(v->name);
			free(v->value);
			free(v);
			return;
		}
	}
}

/* The environment for programs: every variable. */
char **md_eval_build_env(struct md_interp *it)
{
	size_t n = 0, i = 0;
	char **envp;

	for (int b = 0; b < VAR_BUCKETS; b++)
		for (struct var *v = it->vars[b]; v != NULL; v = v->next)
			n++;
	envp = xcalloc(n + 1, sizeof(*envp));
	for (int b = 0; b < VAR_BUCKETS; b++)
		for (struct var *v = it->vars[b]; v != NULL; v = v->next)
			envp[i++] = xasprintf("%s=%s", v->name, v->value);
	return envp;
}

void md_eval_free_env(char **envp)
{
	for (size_t i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}

/* ---- errors ---- */

void md_eval_fatal(struct md_interp *it, int code, const char *fmt, ...)
{
	va_list ap;

	if (it->failed)
		return;
	va_start(ap, fmt);
	free(it->error);
	it->error = xvasprintf(fmt, ap);
	va_end(ap);
	it->failed = true;
	it->fail_code = code;
}

/* Embedded mode, outside a trusted file. */
bool md_eval_restricted(const struct md_interp *it)
{
	return it->set.embedded && it->trusted_depth == 0;
}

/* VERBOSE as a number. */
/* A VERBOSE trace line "file(line): text" on stderr at level and up. */

const char *md_interp_error(const struct md_interp *it)
{
	return it->error;
}

/* ---- numbers ---- */

double md_eval_num(const char *s)
{
	char *end;
	double d;

	while (isspace((unsigned char)*s))
		s++;
	d = strtod(s, &end);
	/* "nan", "inf", "1e400" are numbers, as in Debian's maildrop */
	if (end == s)
		return 0;
	return d;
}

/* cvttsd2si: out of range and NaN give INT64_MIN */
static int64_t x86_i64(double d)
{
	if (isnan(d) || d >= 9223372036854775808.0 ||
	    d < -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)d;
}

uint64_t md_eval_u64(double d)
{
	if (d >= 9223372036854775808.0)
		return (uint64_t)x86_i64(d - 9223372036854775808.0) ^
		       0x8000000000000000ULL;
	return (uint64_t)x86_i64(d);
}

long long md_eval_ll(double d)
{
	if (isnan(d))
		return 0;
	if (d >= 9223372036854775807.0)
		return LLONG_MAX;
	if (d <= -9223372036854775808.0)
		return LLONG_MIN;
	return (long long)d;
}

char *md_eval_fmt_num(double d)
{
	/* whole numbers (scores, counts) are most of them: %.22g writes
	 * them as %lld does, without glibc's slower floating-point path */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d &&
	    !(d == 0 && signbit(d))) {
		char buf[24], *p = buf + sizeof(buf);
		long long v = (long long)d;
		unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
			(unsigned long long)v;

		*--p = '\0';
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u != 0);
		if (v < 0)
			*--p = '-';
		return xstrdup(p);
	}
	return xasprintf("%.22g", d);
}

bool md_eval_truth(const char *s)
{
	size_t len;

	/* blanks around do not count, as in Debian's maildrop: " 0 ",
	 * " " and getaddr("0") ("0\n") are false */
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return !(len == 0 || (len == 1 && s[0] == '0'));
}

int32_t md_eval_int32(double d)
{
	if (!(d >= -2147483648.0 && d <= 4294967295.0))
		return 0;
	if (d < 0)
		return (int32_t)d;
	return (int32_t)(uint32_t)d;
}

/* ---- substitution ---- */

void md_eval_subst(struct md_interp *it, const char *s, size_t len,
		  enum subst_mode mode, struct str *out)
{
	size_t i = 0;

	while (i < len) {
		char c = s[i];

		if (c == '\\' && i + 1 < len && mode != SUB_BARE) {
			char n = s[i + 1];

			if (mode == SUB_DQ && (n == '\\' || n == '"')) {
				str_append_c(out, n);
			} else {
				str_append_c(out, '\\');
				str_append_c(out, n);
			}
			i += 2;
			continue;
		}
		if (c == '$' && i + 1 < len) {
			size_t start, end;
			char name[256];

			if (s[i + 1] == '{') {
				const char *close = memchr(s + i + 2, '}',
							   len - i - 2);

				if (close != NULL) {
					start = i + 2;
					end = (size_t)(close - s);
					i = end + 1;
					goto lookup;
				}
			} else if (isalnum((unsigned char)s[i + 1]) ||
				   s[i + 1] == '_') {
				start = i + 1;
				end = start;
				if (isdigit((unsigned char)s[end])) {
					while (end < len &&
					       isdigit((unsigned char)s[end]))
						end++;
				} else {
					while (end < len &&
					       (isalnum((unsigned char)s[end]) ||
						s[end] == '_'))
						end++;
				}
				i = end;
				goto lookup;
			}
			str_append_c(out, c);
			i++;
			continue;
lookup:
			if (end - start < sizeof(name)) {
				memcpy(name, s + start, end - start);
				name[end - start] = '\0';
				if (isdigit((unsigned char)name[0])) {
					unsigned long n = strtoul(name, NULL, 10);

					if (n == 0)
						str_append(out, "maildrop");
					else if (n <= it->nargs)
						str_append(out, it->args[n - 1]);
				} else {
					str_append(out, md_interp_get(it, name));
				}
			}
			continue;
		}
		str_append_c(out, c);
		i++;
	}
}

/* ---- statements ---- */

static enum md_run_result exec(struct md_interp *it, const struct md_node *n);

/* What echo and log write for s, as Debian's maildrop: \n, \t, \r, \f
 * and \v are control characters, \NNN (and \0NNN) an octal byte, \c
 * at the end drops the line end, a backslash before anything else is
 * dropped; then the line end. */
static void echo_text(const char *s, struct str *out)
{
	size_t len = strlen(s);
	bool nl = true;

	for (size_t i = 0; i < len; i++) {
		char c;

		if (s[i] != '\\' || i + 1 == len) {
			str_append_c(out, s[i]);
			continue;
		}
		c = s[++i];
		if (c >= '0' && c <= '7') {
			size_t max = c == '0' ? 4 : 3, k = 0;
			unsigned int v = 0;

			while (k < max && i < len && s[i] >= '0' && s[i] <= '7') {
				v = v * 8 + (unsigned int)(s[i] - '0');
				i++;
				k++;
			}
			i--;
			str_append_c(out, (char)(v & 0xff));
			continue;
		}
		if (c == 'c' && i + 1 == len) {
			nl = false;
			break;
		}
		str_append_c(out, c == 'n' ? '\n' : c == 't' ? '\t' :
			     c == 'r' ? '\r' : c == 'f' ? '\f' :
			     c == 'v' ? '\v' : c);
	}
	if (nl)
		str_append_c(out, '\n');
}

static void echo(const char *s)
{
	struct str out;

	str_init(&out, strlen(s) + 2);
	echo_text(s, &out);
	fwrite(str_c(&out), 1, str_len(&out), stdout);
	fflush(stdout);
	str_free(&out);
}

/* foreach collects the matches first (the body may change the message
 * or the variables the pattern uses), as Debian's maildrop does. */
struct foreach_ctx {
	struct md_interp *it;
	char **matches;
	size_t n, alloc;
};

static int foreach_cb(const struct md_match *m, void *context)
{
	struct foreach_ctx *fc = context;
	char name[32];

	if (fc->n == fc->alloc) {
		fc->alloc = fc->alloc == 0 ? 8 : fc->alloc * 2;
		fc->matches = xreallocarray(fc->matches, fc->alloc,
					    sizeof(*fc->matches));
	}
	fc->matches[fc->n++] = xstrdup(m->groups[0]);
	/* MATCH1.. are set as the matches are collected: the body (and
	 * what follows) sees the last match's, as in Debian's maildrop */
	for (size_t i = 1; i < m->ngroups; i++) {
		snprintf(name, sizeof(name), "MATCH%zu", i);
		md_interp_set(fc->it, name, m->groups[i]);
	}
	return 0;
}

static enum md_run_result exec_foreach(struct md_interp *it,
				       const struct md_node *n)
{
	struct md_pattern *pat;
	struct foreach_ctx fc = { it, NULL, 0, 0 };
	enum md_run_result r = MD_RUN_END;
	const char *text = NULL;
	int rc;

	pat = md_expr_pattern(it, n->c, &text);
	if (pat == NULL)	/* failed, or a bad pattern: found nowhere */
		return it->failed ? MD_RUN_FAIL : MD_RUN_END;
	if (n->a != NULL) {
		char *s = md_expr_eval(it, n->a);

		if (it->failed) {
			free(s);
			return MD_RUN_FAIL;
		}
		rc = md_string_foreach(s, strlen(s), pat, foreach_cb, &fc);
		free(s);
	} else {
		rc = md_message_foreach(it->msg, pat, n->c->flags, foreach_cb,
					&fc);
	}
	if (rc < 0)
		md_eval_fatal(it, MD_EX_TEMPFAIL, "Pattern match failed.");
	else
		md_eval_trace(it, 4, n->c, "Search of %s = %zu", text, fc.n);
	for (size_t i = 0; i < fc.n; i++) {
		if (r == MD_RUN_END && !it->failed) {
			md_interp_set(it, "MATCH", fc.matches[i]);
			r = exec(it, n->b);
		}
		free(fc.matches[i]);
	}
	free(fc.matches);
	if (it->failed)
		return MD_RUN_FAIL;
	return r;
}

int md_eval_verbose(struct md_interp *it)
{
	const char *v = var_get(it, "VERBOSE");

	return v != NULL ? atoi(v) : 0;
}

void md_eval_trace(struct md_interp *it, int level, const struct md_node *n,
		  const char *fmt, ...)
{
	va_list ap;

	if (md_eval_verbose(it) < level)
		return;
	fprintf(stderr, "%s(%u): ", it->cur_file != NULL ? it->cur_file : "",
		n->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *const reset_vars[] = {
	"DEFAULT", "HOME", "LOCKEXT", "LOCKSLEEP", "LOCKTIMEOUT",
	"LOCKREFRESH", "LOGNAME", "PATH", "SENDMAIL", "SHELL",
};

/* Remembers the variables a trusted file starts with. */
static void save_initial(struct md_interp *it)
{
	if (it->started)
		return;
	it->started = true;
	for (size_t i = 0; i < N_ELEMENTS(reset_vars); i++) {
		const char *v = var_get(it, reset_vars[i]);

		it->initial[i] = v != NULL ? xstrdup(v) : NULL;
	}
}

/* Is path a file of the trusted directory (no '.' after it)? */
static bool is_trusted(const struct md_interp *it, const char *path)
{
	size_t dl;

	if (it->set.trusted_dir == NULL || *it->set.trusted_dir == '\0')
		return false;
	dl = strlen(it->set.trusted_dir);
	while (dl > 1 && it->set.trusted_dir[dl - 1] == '/')
		dl--;
	return strncmp(path, it->set.trusted_dir, dl) == 0 && path[dl] == '/' &&
	       path[dl + 1] != '\0' && strchr(path + dl + 1, '.') == NULL;
}

static enum md_run_result exec_include(struct md_interp *it, const char *path)
{
	enum md_run_result r;
	bool trusted = is_trusted(it, path);
	const char *file = it->cur_file;

	if (it->include_depth >= it->set.max_include_depth) {
		md_eval_fatal(it, MD_EX_TEMPFAIL, "Too many nested includes.");
		return MD_RUN_FAIL;
	}
	if (trusted) {
		for (size_t i = 0; i < N_ELEMENTS(reset_vars); i++) {
			if (it->initial[i] != NULL)
				md_interp_set(it, reset_vars[i], it->initial[i]);
			else
				var_unset(it, reset_vars[i]);
		}
		it->trusted_depth++;
	}
	it->include_depth++;
	r = md_interp_run_file(it, path);
	it->include_depth--;
	if (trusted)
		it->trusted_depth--;
	it->cur_file = file;
	return r;
}

/* In embedded mode, the statements Debian's maildrop refuses when it
 * parses a file.  Returns the first such node and its name, or NULL. */
static const struct md_node *embedded_refused(const struct md_node *n,
					      const char **what_r)
{
	const struct md_node *bad;

	if (n == NULL)
		return NULL;
	switch (n->type) {
	case MD_TO: *what_r = "to"; return n;
	case MD_CC: *what_r = "cc"; return n;
	case MD_LOG: *what_r = "log"; return n;
	case MD_LOGFILE: *what_r = "logfile"; return n;
	case MD_XFILTER: *what_r = "xfilter"; return n;
	case MD_SYSTEM: *what_r = "system"; return n;
	case MD_DOTLOCK: *what_r = "dotlock"; return n;
	case MD_FLOCK: *what_r = "flock"; return n;
	case MD_BQ: *what_r = NULL; return n;
	default:
		break;
	}
	if ((bad = embedded_refused(n->a, what_r)) != NULL ||
	    (bad = embedded_refused(n->b, what_r)) != NULL ||
	    (bad = embedded_refused(n->c, what_r)) != NULL)
		return bad;
	for (size_t i = 0; i < n->nkids; i++)
		if ((bad = embedded_refused(n->kids[i], what_r)) != NULL)
			return bad;
	return NULL;
}

static enum md_run_result exec(struct md_interp *it, const struct md_node *n)
{
	enum md_run_result r = MD_RUN_END;
	char *v;

	if (it->failed)
		return MD_RUN_FAIL;
	switch (n->type) {
	case MD_BLOCK:
		for (size_t i = 0; i < n->nkids && r == MD_RUN_END; i++)
			r = exec(it, n->kids[i]);
		return r;
	case MD_ASSIGN:
		free(md_expr_eval(it, n));
		break;
	case MD_IF:
		md_eval_trace(it, 4, n, "Evaluating IF condition.");
		v = md_expr_eval(it, n->a);
		if (!it->failed) {
			md_eval_trace(it, 4, n, "IF evaluated, result=%s", v);
			if (md_eval_truth(v))
				r = exec(it, n->b);
			else if (n->c != NULL)
				r = exec(it, n->c);
		}
		free(v);
		break;
	case MD_WHILE:
		for (;;) {
			md_eval_trace(it, 4, n, "Evaluating WHILE condition.");
			v = md_expr_eval(it, n->a);
			if (!it->failed)
				md_eval_trace(it, 4, n,
				      "While condition evaluated, result=%s", v);
			if (it->failed || !md_eval_truth(v)) {
				free(v);
				break;
			}
			free(v);
			r = exec(it, n->b);
			if (r != MD_RUN_END)
				break;
		}
		break;
	case MD_FOREACH:
		return exec_foreach(it, n);
	case MD_TO:
	case MD_CC:
		v = md_expr_eval(it, n->a);
		if (!it->failed && md_target_deliver(it, v, n->type == MD_CC) == 0 &&
		    n->type == MD_TO) {
			it->delivered = true;
			r = MD_RUN_EXIT;
		}
		free(v);
		break;
	case MD_XFILTER:
	case MD_SYSTEM: {
		struct str out;
		char **envp;
		char *err = NULL;
		int status;

		v = md_expr_eval(it, n->a);
		if (it->failed) {
			free(v);
			break;
		}
		if (md_eval_restricted(it)) {
			md_eval_fatal(it, MD_EX_TEMPFAIL, "Unable to execute a command in embedded mode.");
			free(v);
			break;
		}
		if (n->type == MD_XFILTER && md_eval_verbose(it) >= 1)
			fprintf(stderr, "maildrop: Filtering through xfilter %s\n",
				v);
		else if (n->type == MD_SYSTEM && md_eval_verbose(it) >= 1)
			fprintf(stderr, "maildrop: Executing system command %s\n",
				v);
		str_init(&out, n->type == MD_XFILTER ? str_len(&it->msg->data) + 256 : 16);
		envp = md_eval_build_env(it);
		fflush(stdout);
		if (md_run_program(md_expr_shell(it), v,
				   n->type == MD_XFILTER ? str_c(&it->msg->data) : "",
				   n->type == MD_XFILTER ? str_len(&it->msg->data) : 0,
				   envp, n->type == MD_XFILTER ? &out : NULL,
				   it->set.max_message, &status, &err) < 0) {
			md_eval_fatal(it, MD_EX_TEMPFAIL, "%s", err);
			free(err);
		} else if (n->type == MD_XFILTER && status != 0) {
			/* set before failing: exception {} sees it */
			char *s = xasprintf("%d", status);

			md_interp_set(it, "RETURNCODE", s);
			free(s);
			md_eval_fatal(it, MD_EX_TEMPFAIL, "xfilter %s failed (exit %d).", v, status);
		} else {
			char *s = xasprintf("%d", status);

			md_interp_set(it, "RETURNCODE", s);
			free(s);
			if (n->type == MD_XFILTER) {
				md_message_set(it->msg, str_c(&out), str_len(&out));
				s = xasprintf("%zu", str_len(&it->msg->data));
				md_interp_set(it, "SIZE", s);
				free(s);
				s = xasprintf("%lu", it->msg->line_count);
				md_interp_set(it, "LINES", s);
				free(s);
			}
		}
		md_eval_free_env(envp);
		str_free(&out);
		free(v);
		break;
	}
	case MD_EXCEPTION:
		md_eval_trace(it, 4, n, "Trapping exceptions.");
		r = exec(it, n->b);
		if (r == MD_RUN_FAIL) {
			it->failed = false;
			x_free(it->error);
			r = MD_RUN_END;
			md_eval_trace(it, 4, n, "Trapped exception.");
		} else if (r == MD_RUN_END) {
			md_eval_trace(it, 4, n, "Exception trapping removed.");
		}
		return r;
	case MD_INCLUDE:
		v = md_expr_eval(it, n->a);
		if (!it->failed) {
			md_eval_trace(it, 4, n, "Opening include file %s", v);
			r = exec_include(it, v);
		}
		free(v);
		return r;
	case MD_IMPORT: {
		const char *e = getenv(n->str);

		md_eval_trace(it, 4, n, "import  \"%s\"", n->str);
		md_interp_set(it, n->str, e != NULL ? e : "");
		break;
	}
	case MD_UNSET:
		md_eval_trace(it, 4, n, "unset %s", n->str);
		var_unset(it, n->str);
		break;
	case MD_EXIT:
		(void)md_target_logfile(it);	/* Debian creates the log file here */
		it->exited = true;
		return MD_RUN_EXIT;
	case MD_ECHO:
		v = md_expr_eval(it, n->a);
		if (!it->failed)
			echo(v);
		free(v);
		break;
	case MD_LOG:
		v = md_expr_eval(it, n->a);
		if (!it->failed && md_target_logfile(it) != NULL) {
			/* escapes as echo's, as in Debian's maildrop */
			struct str out;

			str_init(&out, strlen(v) + 2);
			echo_text(v, &out);
			fwrite(str_c(&out), 1, str_len(&out), it->logfile);
			fflush(it->logfile);
			str_free(&out);
		}
		free(v);
		break;
	case MD_LOGFILE:
		v = md_expr_eval(it, n->a);
		if (!it->failed) {
			md_eval_trace(it, 4, n, "Opening logfile %s", v);
			if (it->logfile != NULL)
				fclose(it->logfile);
			it->logfile = NULL;
			free(it->logpath);
			it->logpath = xstrdup(v);
		}
		free(v);
		break;
	case MD_DOTLOCK:
	case MD_FLOCK: {
		char *err = NULL;

		v = md_expr_eval(it, n->a);
		if (it->failed) {
			free(v);
			break;
		}
		md_eval_trace(it, 4, n, "Creating %s %s",
		      n->type == MD_DOTLOCK ? "dotlock" : "flock", v);
		if (n->type == MD_DOTLOCK) {
			struct md_lock_settings ls;

			md_target_lock_settings(it, &ls);
			if (md_dotlock_acquire(v, &ls, &err) < 0) {
				md_eval_fatal(it, MD_EX_TEMPFAIL, "%s", err);
				free(err);
			} else {
				r = exec(it, n->b);
				md_dotlock_release(v);
			}
		} else {
			int fd = md_flock_acquire(v, &err);

			if (fd < 0) {
				md_eval_fatal(it, MD_EX_TEMPFAIL, "%s", err);
				free(err);
			} else {
				r = exec(it, n->b);
				md_flock_release(fd);
			}
		}
		free(v);
		return it->failed ? MD_RUN_FAIL : r;
	}
	case MD_EXPR:
		v = md_expr_eval(it, n->a);
		free(v);
		break;
	default:
		break;
	}
	return it->failed ? MD_RUN_FAIL : r;
}

/* ---- the interpreter ---- */

struct md_interp *md_interp_create(struct md_message *msg,
				   const struct md_interp_settings *settings,
				   char **args, size_t nargs)
{
	struct md_interp *it = xcalloc(1, sizeof(*it));

	if (settings != NULL)
		it->set = *settings;
	if (it->set.max_include_depth == 0)
		it->set.max_include_depth = 20;
	if (it->set.max_value == 0)
		it->set.max_value = 1024 * 1024;
	if (it->set.max_message == 0)
		it->set.max_message = 64 * 1024 * 1024;
	it->msg = msg;
	it->args = args;
	it->nargs = nargs;
	return it;
}

void md_interp_close(struct md_interp *it)
{
	if (it->logfile != NULL)
		fflush(it->logfile);
	md_func_db_close(it);
}

void md_interp_destroy(struct md_interp **itp)
{
	struct md_interp *it = *itp;

	if (it == NULL)
		return;
	for (int b = 0; b < VAR_BUCKETS; b++) {
		while (it->vars[b] != NULL) {
			struct var *v = it->vars[b];

			it->vars[b] = v->next;
			free(v->name);
			free(v->value);
			free(v);
		}
	}
	for (size_t i = 0; i < it->npcache; i++) {
		free(it->pcache[i].text);
		md_pattern_free(&it->pcache[i].pat);
	}
	free(it->pcache);
	for (size_t i = 0; i < it->nkept; i++)
		md_node_free(&it->kept[i]);
	free(it->kept);
	md_interp_close(it);
	if (it->logfile != NULL)
		fclose(it->logfile);
	free(it->logpath);
	free(it->error);
	for (size_t i = 0; i < N_ELEMENTS(it->initial); i++)
		free(it->initial[i]);
	free(it->warn_file);
	free(it);
	*itp = NULL;
}

enum md_run_result md_interp_run(struct md_interp *it,
				 const struct md_node *prog, const char *file)
{
	enum md_run_result r;

	save_initial(it);
	it->cur_file = file;
	r = exec(it, prog);
	if (r == MD_RUN_FAIL && it->error != NULL)
		fprintf(stderr, "maildrop: %s\n", it->error);
	if (it->set.keep_programs)
		/* prog is kept: so may the cache that points into it */
		return r;
	/* the cache points into prog: forget it */
	for (size_t i = 0; i < it->npcache; i++) {
		free(it->pcache[i].text);
		md_pattern_free(&it->pcache[i].pat);
	}
	x_free(it->pcache);
	it->npcache = it->pcache_cap = 0;
	return r;
}

enum md_run_result md_interp_run_file(struct md_interp *it, const char *path)
{
	struct md_parser *parser;
	struct md_node *prog;
	struct str text;
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	enum md_run_result r;

	if (fd < 0) {
		/* Debian's texts */
		if (it->include_depth > 0)
			md_eval_fatal(it, MD_EX_TEMPFAIL,
				      "Unable to open include file.");
		else
			md_eval_fatal(it, MD_EX_TEMPFAIL,
				      "Unable to open filter file %s, errno=%d.",
				      path, errno);
		if (it->include_depth == 0)
			fprintf(stderr, "maildrop: %s\n", it->error);
		return MD_RUN_FAIL;
	}
	str_init(&text, 4096);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (str_len(&text) + (size_t)n > 1024 * 1024) {
			close(fd);
			str_free(&text);
			md_eval_fatal(it, MD_EX_TEMPFAIL, "%s: filter file too large", path);
			if (it->include_depth == 0)
				fprintf(stderr, "maildrop: %s\n", it->error);
			return MD_RUN_FAIL;
		}
		str_append_n(&text, buf, (size_t)n);
	}
	close(fd);
	if (it->include_depth == 0 && md_eval_verbose(it) >= 2)
		fprintf(stderr, "maildrop: Attempting %s\n", path);
	parser = md_parser_create(NULL);
	prog = md_parse(parser, path, str_c(&text), str_len(&text));
	str_free(&text);
	if (prog == NULL) {
		const char *report = md_parser_error_report(parser);

		md_eval_fatal(it, MD_EX_TEMPFAIL, "%s", md_parser_error(parser));
		/* Debian's words, which scripts grep; ours, which say what
		 * is wrong, with -V */
		fprintf(stderr, "%s\n", report != NULL ? report :
			md_parser_error(parser));
		if (report != NULL && md_eval_verbose(it) >= 1)
			fprintf(stderr, "maildrop: %s\n", md_parser_error(parser));
		md_parser_destroy(&parser);
		/* reported: not printed again (an included file's error is
		 * its one line, as in Debian's) */
		x_free(it->error);
		return MD_RUN_FAIL;
	}
	md_parser_destroy(&parser);
	if (md_eval_restricted(it)) {
		const char *what = NULL;
		const struct md_node *bad = embedded_refused(prog, &what);

		if (bad != NULL) {
			if (what != NULL)
				fprintf(stderr, "maildrop: '%s' disabled in embedded mode.\n",
					what);
			else
				fprintf(stderr, "maildrop: 'string: `%s`' disabled in embedded mode.\n",
					bad->str != NULL ? bad->str : "");
			fprintf(stderr, "%s(%u): Syntax error.\n", path, bad->line);
			md_eval_fatal(it, MD_EX_TEMPFAIL, "syntax error");
			md_node_free(&prog);
			return MD_RUN_FAIL;
		}
	}
	save_initial(it);
	it->cur_file = path;
	if (it->include_depth == 0) {
		r = md_interp_run(it, prog, path);
	} else {
		r = exec(it, prog);
		/* cached patterns point into this tree */
		for (size_t i = 0; i < it->npcache; i++) {
			free(it->pcache[i].text);
			md_pattern_free(&it->pcache[i].pat);
		}
		x_free(it->pcache);
		it->npcache = it->pcache_cap = 0;
	}
	if (it->set.keep_programs && it->include_depth == 0) {
		it->kept = xreallocarray(it->kept, it->nkept + 1,
					 sizeof(*it->kept));
		it->kept[it->nkept++] = prog;
	} else {
		md_node_free(&prog);
	}
	return r;
}

void md_interp_set_quota_warning(struct md_interp *it, int percent,
				 const char *warn_file)
{
	it->warn_percent = percent;
	free(it->warn_file);
	it->warn_file = warn_file != NULL ? xstrdup(warn_file) : NULL;
}

int md_interp_finish(struct md_interp *it, enum md_run_result last)
{
	const char *ec;

	if (!it->set.embedded)
		(void)md_target_logfile(it); /* Debian creates the log file in any case */
	if (last == MD_RUN_FAIL)
		return it->fail_code != 0 ? it->fail_code : MD_EX_TEMPFAIL;
	if (last == MD_RUN_END && !it->delivered && !it->exited &&
	    !it->set.embedded) {
		const char *def = md_interp_get(it, "DEFAULT");

		if (md_target_deliver(it, def, false) < 0) {
			if (it->error != NULL)
				fprintf(stderr, "maildrop: %s\n", it->error);
			return it->fail_code != 0 ? it->fail_code : MD_EX_TEMPFAIL;
		}
	}
	ec = md_interp_get(it, "EXITCODE");
	return *ec != '\0' ? (int)(md_eval_ll(md_eval_num(ec)) & 0xff) : 0;
}
