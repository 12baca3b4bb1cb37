/* mdeval.c: the maildrop interpreter (variables, expressions, functions,
 * statements, delivery and the delivery log). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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
#include "mem.h"
#include "rfc822-addr.h"
#include "str.h"

extern char **environ;

struct var {
	struct var *next;
	char *name;
	char *value;
};

#define VAR_BUCKETS 128

struct md_interp {
	struct md_interp_settings set;
	struct md_message *msg;
	char **args;
	size_t nargs;
	struct var *vars[VAR_BUCKETS];
	size_t include_depth;
	unsigned int trusted_depth;	/* > 0: in a trusted_dir file */
	bool started;
	const char *cur_file;	/* the file running, for VERBOSE traces */
	char *initial[10];	/* variables reset for trusted files */
	int warn_percent;
	char *warn_file;
	bool failed;		/* fatal error pending */
	int fail_code;
	char *error;
	bool delivered;
	bool exited;
	FILE *logfile;
	char *logpath;		/* logfile: opened on first use */
	/* gdbm over LMDB */
	MDB_env *db_env;
	MDB_dbi db_dbi;
	bool db_write;
	/* compiled patterns, cached by node */
	struct pat_cache {
		const struct md_node *node;
		char *text;
		struct md_pattern *pat;
	} *pcache;
	size_t npcache;
};

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
static char **build_env(struct md_interp *it)
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

static void free_env(char **envp)
{
	for (size_t i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}

/* ---- errors ---- */

static void fatal(struct md_interp *it, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fatal(struct md_interp *it, int code, const char *fmt, ...)
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
static bool restricted(const struct md_interp *it)
{
	return it->set.embedded && it->trusted_depth == 0;
}

/* VERBOSE as a number. */
static int verbose(struct md_interp *it);
/* A VERBOSE trace line "file(line): text" on stderr at level and up. */
static void trace(struct md_interp *it, int level, const struct md_node *n,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

const char *md_interp_error(const struct md_interp *it)
{
	return it->error;
}

/* ---- numbers ---- */

static double num(const char *s)
{
	char *end;
	double d;

	while (isspace((unsigned char)*s))
		s++;
	d = strtod(s, &end);
	if (end == s || isnan(d))
		return 0;
	return d;
}

static char *fmt_num(double d)
{
	/* whole numbers (scores, counts) are most of them: %.22g writes
	 * them as %lld does, without glibc's slower floating-point path */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d &&
	    !(d == 0 && signbit(d)))
		return xasprintf("%lld", (long long)d);
	return xasprintf("%.22g", d);
}

static bool truth(const char *s)
{
	return !(s[0] == '\0' || (s[0] == '0' && s[1] == '\0'));
}

static int32_t int32_of(double d)
{
	if (!(d >= -2147483648.0 && d <= 4294967295.0))
		return 0;
	if (d < 0)
		return (int32_t)d;
	return (int32_t)(uint32_t)d;
}

/* ---- substitution ---- */

enum subst_mode { SUB_DQ, SUB_BARE, SUB_PATTERN };

static void subst(struct md_interp *it, const char *s, size_t len,
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

/* ---- commands ---- */

static const char *shell_of(struct md_interp *it)
{
	const char *sh = md_interp_get(it, "SHELL");

	return *sh != '\0' ? sh : "/bin/sh";
}

static char *run_backticks(struct md_interp *it, const char *cmd)
{
	struct str out;
	char **envp;
	char *err = NULL;
	int status;
	size_t a, b;

	if (restricted(it)) {
		fatal(it, MD_EX_TEMPFAIL, "Unable to execute a command in embedded mode.");
		return xstrdup("");
	}
	if (verbose(it) >= 1)
		fprintf(stderr, "maildrop: Filtering through `%s`\n", cmd);
	str_init(&out, 256);
	fflush(stdout);
	envp = build_env(it);
	if (md_run_program(shell_of(it), cmd, str_c(&it->msg->data),
			   str_len(&it->msg->data), envp, &out,
			   it->set.max_value, &status, &err) < 0) {
		fatal(it, MD_EX_TEMPFAIL, "%s", err);
		free(err);
		free_env(envp);
		str_free(&out);
		return xstrdup("");
	}
	free_env(envp);
	{
		char *rc = xasprintf("%d", status);

		md_interp_set(it, "RETURNCODE", rc);
		free(rc);
	}
	for (size_t i = 0; i < str_len(&out); i++) {
		if (out.data[i] == '\n' || out.data[i] == '\0')
			out.data[i] = ' ';
	}
	a = 0;
	b = str_len(&out);
	while (a < b && out.data[a] == ' ')
		a++;
	while (b > a && out.data[b - 1] == ' ')
		b--;
	{
		char *r = xmemdup(out.data + a, b - a);

		str_free(&out);
		return r;
	}
}

/* ---- expressions ---- */

static char *eval(struct md_interp *it, const struct md_node *n);

static char *eval_text(struct md_interp *it, const struct md_node *n)
{
	struct str out;

	str_init(&out, 64);
	for (size_t i = 0; i < n->nkids && !it->failed; i++) {
		const struct md_node *k = n->kids[i];

		switch (k->type) {
		case MD_SQ:
			str_append_n(&out, k->str, k->str_len);
			break;
		case MD_DQ:
			subst(it, k->str, k->str_len, SUB_DQ, &out);
			break;
		case MD_BQ: {
			struct str cmd;
			char *r;

			str_init(&cmd, 64);
			subst(it, k->str, k->str_len, SUB_DQ, &cmd);
			r = run_backticks(it, str_c(&cmd));
			str_append(&out, r);
			free(r);
			str_free(&cmd);
			break;
		}
		default:
			break;
		}
	}
	if (it->set.max_value > 0 && str_len(&out) > it->set.max_value)
		str_truncate(&out, it->set.max_value);
	return str_steal(&out);
}

/* The compiled pattern of node pn (after substitution), cached; NULL
 * after a fatal error.  *text_r (may be NULL) gets the pattern text, valid
 * while the cache entry lives. */
static struct md_pattern *get_pattern(struct md_interp *it,
				      const struct md_node *pn,
				      const char **text_r)
{
	struct str re;
	struct pat_cache *c = NULL;
	char *err = NULL;

	str_init(&re, pn->str_len + 16);
	subst(it, pn->str, pn->str_len, SUB_PATTERN, &re);
	for (size_t i = 0; i < it->npcache; i++) {
		if (it->pcache[i].node == pn) {
			c = &it->pcache[i];
			break;
		}
	}
	if (c != NULL && strcmp(c->text, str_c(&re)) == 0) {
		str_free(&re);
		goto found;
	}
	if (c == NULL) {
		it->pcache = xreallocarray(it->pcache, it->npcache + 1,
					   sizeof(*it->pcache));
		c = &it->pcache[it->npcache++];
		memset(c, 0, sizeof(*c));
		c->node = pn;
	}
	free(c->text);
	md_pattern_free(&c->pat);
	c->text = str_steal(&re);
	c->pat = md_pattern_compile(c->text, strlen(c->text), pn->flags, &err);
	if (c->pat == NULL) {
		fatal(it, MD_EX_TEMPFAIL, "%s", err);
		free(err);
		return NULL;
	}
found:
	if (text_r != NULL)
		*text_r = c->text;
	if (verbose(it) >= 3)
		md_pattern_set_trace(c->pat, stderr, c->text);
	else
		md_pattern_set_trace(c->pat, NULL, NULL);
	return c->pat;
}

static void set_matches(struct md_interp *it, const struct md_match *m)
{
	char name[32];

	if (m->ngroups == 0)
		return;
	md_interp_set(it, "MATCH", m->groups[0]);
	for (size_t i = 1; i < m->ngroups; i++) {
		snprintf(name, sizeof(name), "MATCH%zu", i);
		md_interp_set(it, name, m->groups[i]);
	}
}

static char *eval_pattern(struct md_interp *it, const struct md_node *pn,
			  const char *subject)
{
	const char *text = NULL;
	struct md_pattern *pat = get_pattern(it, pn, &text);
	struct md_match m = { NULL, 0 };
	bool weighted = (pn->flags & MD_PAT_WEIGHTED) != 0;
	double score = 0;
	char *r;

	if (pat == NULL)
		return xstrdup("");
	if (subject != NULL) {
		/* =~ against a string: the whole string, once or weighted */
		int rc;

		if (verbose(it) >= 3)
			fprintf(stderr, "Matching /%s/ against %s\n", text,
				subject);
		rc = md_pattern_exec(pat, subject, strlen(subject), 0,
					 NULL, &m);

		if (rc < 0) {
			fatal(it, MD_EX_TEMPFAIL, "Pattern match failed.");
		} else if (rc > 0) {
			set_matches(it, &m);
			score = weighted ? pn->weight : 1;
		}
	} else {
		if (md_message_search(it->msg, pat, pn->flags, weighted,
				      pn->weight, pn->factor, &score, &m) < 0)
			fatal(it, MD_EX_TEMPFAIL, "Pattern match failed.");
		else if (m.ngroups > 0)
			set_matches(it, &m);
	}
	md_match_clear(&m);
	r = fmt_num(score);
	if (!it->failed)
		trace(it, 4, pn, "Search of %s = %s", text, r);
	return r;
}

static char *call(struct md_interp *it, const struct md_node *n);

/* The name of a binary operator in VERBOSE 6 traces, as Debian's
 * maildrop writes it (its spelling included). */
static const char *op_name(enum md_op op)
{
	switch (op) {
	case MD_OP_LT: return "less than";
	case MD_OP_LE: return "less than or equal";
	case MD_OP_GT: return "greater than";
	case MD_OP_GE: return "greater than or equal";
	case MD_OP_EQ: return "equal";
	case MD_OP_NE: return "not equal";
	case MD_OP_SLT: return "string less than";
	case MD_OP_SLE: return "string less than or equal";
	case MD_OP_SGT: return "string greater than";
	case MD_OP_SGE: return "string grater than or equal";
	case MD_OP_SEQ: return "string equal";
	case MD_OP_SNE: return "string not equal";
	case MD_OP_BOR: return "bitwise or";
	case MD_OP_BAND: return "bitwise and";
	case MD_OP_ADD: return "add";
	case MD_OP_SUB: return "subtract";
	case MD_OP_MUL: return "multiply";
	case MD_OP_DIV: return "divide";
	default: return "";
	}
}

static char *eval(struct md_interp *it, const struct md_node *n)
{
	char *a, *b, *r;
	double x, y;

	if (it->failed)
		return xstrdup("");
	switch (n->type) {
	case MD_TEXT:
		return eval_text(it, n);
	case MD_PATTERN:
		return eval_pattern(it, n, NULL);
	case MD_MATCH:
		a = eval(it, n->a);
		r = eval_pattern(it, n->b, a);
		free(a);
		return r;
	case MD_CALL:
		return call(it, n);
	case MD_UNARY:
		a = eval(it, n->a);
		if (n->op == MD_OP_NOT) {
			trace(it, 6, n, "Operation on: %s - logical not.", a);
			r = xstrdup(truth(a) ? "0" : "1");
			trace(it, 6, n, "Operation: logical not=%s", r);
		} else if (n->op == MD_OP_BNOT) {
			trace(it, 6, n, "Operation on: %s - bitwise not.", a);
			r = fmt_num((double)(~int32_of(num(a))));
			trace(it, 6, n, "Operation: bitwise not=%s", r);
		} else {
			r = fmt_num(-num(a));
		}
		free(a);
		return r;
	case MD_BINARY:
		break;
	default:
		return xstrdup("");
	}
	a = eval(it, n->a);
	if (n->op == MD_OP_OR || n->op == MD_OP_AND) {
		const char *name = n->op == MD_OP_OR ? "or" : "and";
		bool t = truth(a);

		trace(it, 6, n, "Operation: logical %s, left hand side=%s",
		      name, a);
		if ((n->op == MD_OP_OR) != t) {
			free(a);
			/* sic: Debian's maildrop writes "size" */
			trace(it, 6, n, "Operation: logical %s, evaluating "
			      "right hand size.", name);
			a = eval(it, n->b);
		}
		if (!it->failed)
			trace(it, 6, n, "Operation: logical %s, result=%s",
			      name, a);
		return a;
	}
	b = eval(it, n->b);
	x = num(a);
	y = num(b);
	switch (n->op) {
	case MD_OP_LT: r = xstrdup(x < y ? "1" : "0"); break;
	case MD_OP_LE: r = xstrdup(x <= y ? "1" : "0"); break;
	case MD_OP_GT: r = xstrdup(x > y ? "1" : "0"); break;
	case MD_OP_GE: r = xstrdup(x >= y ? "1" : "0"); break;
	case MD_OP_EQ: r = xstrdup(x == y ? "1" : "0"); break;
	case MD_OP_NE: r = xstrdup(x != y ? "1" : "0"); break;
	case MD_OP_SLT: r = xstrdup(strcmp(a, b) < 0 ? "1" : "0"); break;
	case MD_OP_SLE: r = xstrdup(strcmp(a, b) <= 0 ? "1" : "0"); break;
	case MD_OP_SGT: r = xstrdup(strcmp(a, b) > 0 ? "1" : "0"); break;
	case MD_OP_SGE: r = xstrdup(strcmp(a, b) >= 0 ? "1" : "0"); break;
	case MD_OP_SEQ: r = xstrdup(strcmp(a, b) == 0 ? "1" : "0"); break;
	case MD_OP_SNE: r = xstrdup(strcmp(a, b) != 0 ? "1" : "0"); break;
	case MD_OP_BOR: r = fmt_num((double)(int32_of(x) | int32_of(y))); break;
	case MD_OP_BAND: r = fmt_num((double)(int32_of(x) & int32_of(y))); break;
	case MD_OP_ADD: r = fmt_num(x + y); break;
	case MD_OP_SUB: r = fmt_num(x - y); break;
	case MD_OP_MUL: r = fmt_num(x * y); break;
	case MD_OP_DIV:
		if (y == 0) {
			fatal(it, MD_EX_TEMPFAIL, "Division by zero.");
			r = xstrdup("");
		} else {
			r = fmt_num(x / y);
		}
		break;
	default: r = xstrdup(""); break;
	}
	if (!it->failed && verbose(it) >= 6)
		trace(it, 6, n, "Operation on: %s and %s - %s, result is %s", a,
		      b, op_name(n->op), r);
	free(a);
	free(b);
	return r;
}

/* ---- functions ---- */

static void addr_specs(const char *s, struct str *out, const char *sep)
{
	struct rfc822_addr_parser *p = rfc822_addr_parser_create(NULL);
	struct rfc822_addr_list *list = NULL;

	if (rfc822_addr_parse(p, s, strlen(s), &list, NULL) >= 0 &&
	    list != NULL) {
		for (size_t i = 0; i < list->count; i++) {
			const struct rfc822_addr *a = &list->addrs[i];

			if (a->type != RFC822_ADDR_MAILBOX || a->invalid ||
			    a->null_addr)
				continue;
			rfc822_addr_format_spec(out, a);
			str_append(out, sep);
		}
	}
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&p);
}

/* VERBOSE 6: the header value hasaddr() parses and the addresses it
 * found in it (specs: one per line), as Debian's maildrop writes them. */
static void trace_addrs(const char *value, const char *specs)
{
	fputs("maildrop: hasaddr: rfc822 parsing: ", stderr);
	/* Debian's copy of a folded value has a blank added to each
	 * continuation line */
	for (; *value != '\0'; value++) {
		fputc(*value, stderr);
		if (*value == '\n' && value[1] != '\0')
			fputc(' ', stderr);
	}
	fputc('\n', stderr);
	while (*specs != '\0') {
		size_t l = strcspn(specs, "\n");

		if (l > 0)
			fprintf(stderr, "maildrop: hasaddr: rfc822 parsed: %.*s\n",
				(int)l, specs);
		specs += l;
		if (*specs == '\n')
			specs++;
	}
}

static bool hasaddr(struct md_interp *it, const char *addr)
{
	static const char *const hdrs[] = { "To", "Cc", "Resent-To", "Resent-Cc" };
	struct str specs;
	bool found = false;
	const char *d = str_c(&it->msg->data);
	size_t len = it->msg->header_end, i = 0;

	str_init(&specs, 256);
	/* every field with one of those names, folded lines included */
	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t end = nl == NULL ? len : (size_t)(nl - d) + 1;

		while (end < len && (d[end] == ' ' || d[end] == '\t')) {
			nl = memchr(d + end, '\n', len - end);
			end = nl == NULL ? len : (size_t)(nl - d) + 1;
		}
		for (size_t h = 0; h < N_ELEMENTS(hdrs); h++) {
			size_t hl = strlen(hdrs[h]);

			if (end - i > hl && strncasecmp(d + i, hdrs[h], hl) == 0 &&
			    d[i + hl] == ':') {
				char *v = xmemdup(d + i + hl + 1, end - i - hl - 1);
				size_t from = str_len(&specs);

				addr_specs(v, &specs, "\n");
				if (verbose(it) >= 6)
					trace_addrs(v, str_c(&specs) + from);
				free(v);
			}
		}
		i = end;
	}
	{
		char *save = NULL;
		char *tok = strtok_r(specs.data != NULL ? specs.data : (char *)"",
				     "\n", &save);

		for (; tok != NULL; tok = strtok_r(NULL, "\n", &save)) {
			if (strcasecmp(tok, addr) == 0) {
				found = true;
				break;
			}
		}
	}
	str_free(&specs);
	return found;
}

static char *escape_str(const char *s)
{
	struct str out;

	str_init(&out, strlen(s) * 2 + 1);
	for (; *s != '\0'; s++) {
		if (strchr("|!$()[]\\+*?.&;`'-~<>^{}\"", *s) != NULL)
			str_append_c(&out, '\\');
		str_append_c(&out, *s);
	}
	return str_steal(&out);
}

static char *lookup(struct md_interp *it, const char *expr, const char *file,
		    const char *opts)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool found = false;
	unsigned int flags = strchr(opts, 'D') != NULL ? MD_PAT_CASE : 0;

	if (f == NULL) {
		fatal(it, MD_EX_TEMPFAIL, "Unable to open %s", file);
		return xstrdup("0");
	}
	while (!found && (n = getline(&line, &cap, f)) >= 0) {
		char *p = line, *err = NULL;
		struct md_pattern *pat;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		pat = md_pattern_compile(p, strlen(p), flags, &err);
		if (pat == NULL) {
			fatal(it, MD_EX_TEMPFAIL, "%s: %s", file, err);
			free(err);
			break;
		}
		if (verbose(it) >= 3)
			fprintf(stderr, "Matching /%s/ against %s\n", p, expr);
		if (md_pattern_exec(pat, expr, strlen(expr), 0, NULL, NULL) > 0)
			found = true;
		md_pattern_free(&pat);
	}
	free(line);
	fclose(f);
	return xstrdup(found ? "1" : "0");
}

static void db_close(struct md_interp *it)
{
	if (it->db_env != NULL) {
		mdb_env_close(it->db_env);
		it->db_env = NULL;
	}
}

static char *db_open(struct md_interp *it, const char *file, const char *mode)
{
	MDB_txn *txn;
	unsigned int flags = MDB_NOSUBDIR;
	struct stat st;
	char m = (char)toupper((unsigned char)(*mode != '\0' ? *mode : 'R'));

	db_close(it);
	if (restricted(it) && m != 'R') {
		fatal(it, MD_EX_TEMPFAIL, "gdbmopen: only R is allowed in embedded mode.");
		return xstrdup("-1");
	}
	if (m == 'N') {
		char *lock = xasprintf("%s-lock", file);

		unlink(file);
		unlink(lock);
		free(lock);
	} else if (stat(file, &st) < 0 && m != 'C') {
		return xstrdup("-1");
	}
	if (m == 'R')
		flags |= MDB_RDONLY;
	if (mdb_env_create(&it->db_env) != 0)
		return xstrdup("-1");
	mdb_env_set_mapsize(it->db_env, (size_t)256 * 1024 * 1024);
	if (mdb_env_open(it->db_env, file, flags, 0600) != 0 ||
	    mdb_txn_begin(it->db_env, NULL, m == 'R' ? MDB_RDONLY : 0, &txn) != 0) {
		db_close(it);
		return xstrdup("-1");
	}
	if (mdb_dbi_open(txn, NULL, 0, &it->db_dbi) != 0) {
		mdb_txn_abort(txn);
		db_close(it);
		return xstrdup("-1");
	}
	mdb_txn_commit(txn);
	it->db_write = m != 'R';
	return xstrdup("0");
}

static bool db_get(struct md_interp *it, const char *key, char **value_r)
{
	MDB_txn *txn;
	MDB_val k, v;
	bool found = false;

	if (it->db_env == NULL || *key == '\0')
		return false;
	if (mdb_txn_begin(it->db_env, NULL, MDB_RDONLY, &txn) != 0)
		return false;
	k.mv_data = (void *)key;
	k.mv_size = strlen(key);
	if (mdb_get(txn, it->db_dbi, &k, &v) == 0) {
		*value_r = xmemdup(v.mv_data, v.mv_size);
		found = true;
	}
	mdb_txn_abort(txn);
	return found;
}

static char *db_fetch(struct md_interp *it, const struct md_node *n)
{
	char *key = eval(it, n->kids[0]);
	char *opts = n->nkids >= 2 ? eval(it, n->kids[1]) : xstrdup("");
	char *value = NULL;
	bool found = db_get(it, key, &value);

	if (!found && strchr(opts, 'D') != NULL) {
		char *at = strrchr(key, '@');
		const char *dom = key;

		if (at != NULL) {
			char *user = xmemdup(key, (size_t)(at - key) + 1);

			found = db_get(it, user, &value);
			free(user);
			dom = at + 1;
			if (!found)
				found = db_get(it, dom, &value);
		}
		while (!found && (dom = strchr(dom, '.')) != NULL) {
			dom++;
			found = db_get(it, dom, &value);
		}
	}
	if (!found && strchr(opts, 'I') != NULL) {
		char *k = xstrdup(key), *dot;

		while (!found && (dot = strrchr(k, '.')) != NULL) {
			*dot = '\0';
			found = db_get(it, k, &value);
		}
		free(k);
	}
	free(key);
	free(opts);
	if (found)
		return value;
	if (n->nkids >= 3)
		return eval(it, n->kids[2]);
	return xstrdup("");
}

static char *db_store(struct md_interp *it, const char *key, const char *value)
{
	MDB_txn *txn;
	MDB_val k, v;

	if (it->db_env == NULL || !it->db_write || *key == '\0')
		return xstrdup("-1");
	if (mdb_txn_begin(it->db_env, NULL, 0, &txn) != 0)
		return xstrdup("-1");
	k.mv_data = (void *)key;
	k.mv_size = strlen(key);
	v.mv_data = (void *)value;
	v.mv_size = strlen(value);
	if (mdb_put(txn, it->db_dbi, &k, &v, 0) != 0) {
		mdb_txn_abort(txn);
		return xstrdup("-1");
	}
	return xstrdup(mdb_txn_commit(txn) == 0 ? "0" : "-1");
}

static char *call(struct md_interp *it, const struct md_node *n)
{
	const char *f = n->str;
	char *a, *b, *c, *r;

	if (strcmp(f, "time") == 0)
		return xasprintf("%lld", (long long)time(NULL));
	if (strcmp(f, "gdbmclose") == 0) {
		db_close(it);
		return xstrdup("0");
	}
	if (strcmp(f, "gdbmfetch") == 0)
		return db_fetch(it, n);
	a = eval(it, n->kids[0]);
	if (strcmp(f, "length") == 0) {
		trace(it, 6, n, "Operation on: %s - strlength.", a);
		r = xasprintf("%zu", strlen(a));
		trace(it, 6, n, "Operation: strlength=%s", r);
	} else if (strcmp(f, "substr") == 0) {
		double start, count;
		size_t len = strlen(a);

		b = eval(it, n->kids[1]);
		start = num(b);
		free(b);
		/* Debian's traces show the numbers as unsigned */
		trace(it, 6, n, "Operation on: %s - strsubstr %llu", a,
		      (unsigned long long)(long long)start);
		count = (double)len;
		if (n->nkids > 2) {
			c = eval(it, n->kids[2]);
			count = num(c);
			free(c);
			trace(it, 6, n, "Operation on: %s - strsubstr chop %llu",
			      a, (unsigned long long)(long long)count);
		}
		trace(it, 6, n, "Operation:  strsubstr=%s",
		      start >= 0 && start < (double)len ? a + (size_t)start
							 : "");
		if (start < 0 || start >= (double)len || count <= 0) {
			r = xstrdup("");
		} else {
			size_t s = (size_t)start;
			size_t k = count > (double)(len - s) ? len - s : (size_t)count;

			r = xmemdup(a + s, k);
		}
	} else if (strcmp(f, "hasaddr") == 0) {
		if (verbose(it) >= 6)
			fprintf(stderr, "maildrop: hasaddr('%s')\n", a);
		r = xstrdup(hasaddr(it, a) ? "1" : "0");
	} else if (strcmp(f, "getaddr") == 0) {
		struct str out;

		str_init(&out, 64);
		addr_specs(a, &out, "\n");
		r = str_steal(&out);
	} else if (strcmp(f, "escape") == 0) {
		r = escape_str(a);
	} else if (strcmp(f, "tolower") == 0) {
		r = str_lcase(xstrdup(a));
	} else if (strcmp(f, "toupper") == 0) {
		r = str_ucase(xstrdup(a));
	} else if (strcmp(f, "lookup") == 0) {
		b = eval(it, n->kids[1]);
		c = n->nkids > 2 ? eval(it, n->kids[2]) : xstrdup("");
		r = it->failed ? xstrdup("0") : lookup(it, a, b, c);
		free(b);
		free(c);
	} else if (strcmp(f, "gdbmopen") == 0) {
		b = n->nkids > 1 ? eval(it, n->kids[1]) : xstrdup("R");
		r = db_open(it, a, b);
		free(b);
	} else if (strcmp(f, "gdbmstore") == 0) {
		b = eval(it, n->kids[1]);
		r = db_store(it, a, b);
		free(b);
	} else {
		r = xstrdup("");
	}
	free(a);
	return r;
}

/* ---- delivery ---- */

static void lock_settings(struct md_interp *it, struct md_lock_settings *ls)
{
	const char *v;

	ls->lockext = md_interp_get(it, "LOCKEXT");
	if (*ls->lockext == '\0')
		ls->lockext = ".lock";
	v = md_interp_get(it, "LOCKSLEEP");
	ls->sleep_secs = *v != '\0' ? (unsigned int)num(v) : 5;
	v = md_interp_get(it, "LOCKTIMEOUT");
	ls->timeout_secs = *v != '\0' ? (unsigned int)num(v) : 60;
	v = md_interp_get(it, "LOCKREFRESH");
	ls->refresh_secs = *v != '\0' ? (unsigned int)num(v) : 15;
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
static FILE *logfile(struct md_interp *it)
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

	if (logfile(it) == NULL)
		return;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	from = raw_header(it, "From");
	subj = raw_header(it, "Subject");
	{
		/* the size is right-aligned at column 78 */
		char sz[32];
		int n = snprintf(sz, sizeof(sz), "(%zu)", size);

		fprintf(it->logfile, "Date: %s\nFrom: %s\nSubj: %s\n%s: %-*s%s\n\n",
			date, from, subj, tag, 72 - n, target, sz);
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

/* Delivers the message to target.  Returns 0, or -1 after fatal(). */
/* deliver() without its trace: returns 0 (1 for a program), or -1. */
static int deliver_to(struct md_interp *it, const char *target, bool is_cc)
{
	const char *data = str_c(&it->msg->data);
	size_t len = str_len(&it->msg->data);
	char *err = NULL;

	while (*target == ' ' || *target == '\t')
		target++;
	if (restricted(it)) {
		fatal(it, MD_EX_TEMPFAIL, "Delivery is not allowed in embedded mode.");
		return -1;
	}
	if (*target == '|' || *target == '!') {
		char **envp;
		char *cmd;
		int status;

		if (verbose(it) >= 1)
			fprintf(stderr, "maildrop: Delivering to %s\n", target);
		envp = build_env(it);
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
		if (md_run_program(shell_of(it), cmd, data, len, envp, NULL, 0,
				   &status, &err) < 0) {
			fatal(it, MD_EX_TEMPFAIL, "%s", err);
			free(err);
			free(cmd);
			free_env(envp);
			return -1;
		}
		free_env(envp);
		free(cmd);
		log_delivery_as(it, status == 0 ? "File" : "!Err", target, len);
		/* Debian's maildrop says so whatever the program's exit */
		if (verbose(it) >= 5)
			fprintf(stderr, "maildrop: Delivery complete.\n");
		if (is_cc) {
			char *s = xasprintf("%d", status);

			md_interp_set(it, "EXITCODE", s);
			free(s);
		} else if (status != 0) {
			/* the exit code is maildrop's, without a message */
			fatal(it, status, "Delivery to program failed (exit %d).",
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
		if (!isdir && verbose(it) >= 1)
			fprintf(stderr, "maildrop: Delivering to %s\n", target);
		if (slash || isdir) {
			bool over;
			char *warn = NULL;

			if (md_deliver_maildir_kw(path, data, len,
					md_interp_get(it, "MAILDIRQUOTA"),
					md_interp_get(it, "FLAGS"),
					md_interp_get(it, "KEYWORDS"),
					&over, &warn, &err) < 0) {
				fatal(it, MD_EX_TEMPFAIL, "%s", err);
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

			lock_settings(it, &ls);
			if (verbose(it) >= 5)
				fprintf(stderr, "maildrop: Flock()ing %s.\n"
					"maildrop: Appending to %s.\n", path,
					path);
			if (md_deliver_mbox(path, data, len,
					    *from != '\0' ? from : "MAILER-DAEMON",
					    &ls, &size, &err) < 0) {
				fatal(it, MD_EX_TEMPFAIL, "%s", err);
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
static int deliver(struct md_interp *it, const char *target, bool is_cc)
{
	int r = deliver_to(it, target, is_cc);

	/* 1: a program, which wrote its own trace */
	if (r == 0 && verbose(it) >= 5)
		fprintf(stderr, "maildrop: Delivery complete.\n");
	return r < 0 ? -1 : 0;
}

/* ---- statements ---- */

static enum md_run_result exec(struct md_interp *it, const struct md_node *n);

static void echo(const char *s)
{
	size_t len = strlen(s);
	bool nl = true;
	struct str out;

	str_init(&out, len + 2);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			char c = s[++i];

			if (c == 'c' && i + 1 == len) {
				nl = false;
				break;
			}
			str_append_c(&out, c == 'n' ? '\n' : c == 't' ? '\t' : c);
			continue;
		}
		str_append_c(&out, s[i]);
	}
	if (nl)
		str_append_c(&out, '\n');
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

static int foreach_cb(const char *match, size_t len, void *context)
{
	struct foreach_ctx *fc = context;

	if (fc->n == fc->alloc) {
		fc->alloc = fc->alloc == 0 ? 8 : fc->alloc * 2;
		fc->matches = xreallocarray(fc->matches, fc->alloc,
					    sizeof(*fc->matches));
	}
	fc->matches[fc->n++] = xmemdup(match, len);
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

	pat = get_pattern(it, n->c, &text);
	if (pat == NULL)
		return MD_RUN_FAIL;
	if (n->a != NULL) {
		char *s = eval(it, n->a);

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
		fatal(it, MD_EX_TEMPFAIL, "Pattern match failed.");
	else
		trace(it, 4, n->c, "Search of %s = %zu", text, fc.n);
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

static int verbose(struct md_interp *it)
{
	const char *v = var_get(it, "VERBOSE");

	return v != NULL ? atoi(v) : 0;
}

static void trace(struct md_interp *it, int level, const struct md_node *n,
		  const char *fmt, ...)
{
	va_list ap;

	if (verbose(it) < level)
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
		fatal(it, MD_EX_TEMPFAIL, "Too many nested includes.");
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
		v = eval(it, n->a);
		if (!it->failed) {
			trace(it, 4, n, "%s=\"%s\"", n->str, v);
			md_interp_set(it, n->str, v);
			if (strcmp(n->str, "UMASK") == 0)
				umask((mode_t)strtoul(v, NULL, 8) & 0777);
		}
		free(v);
		break;
	case MD_IF:
		trace(it, 4, n, "Evaluating IF condition.");
		v = eval(it, n->a);
		if (!it->failed) {
			trace(it, 4, n, "IF evaluated, result=%s", v);
			if (truth(v))
				r = exec(it, n->b);
			else if (n->c != NULL)
				r = exec(it, n->c);
		}
		free(v);
		break;
	case MD_WHILE:
		for (;;) {
			trace(it, 4, n, "Evaluating WHILE condition.");
			v = eval(it, n->a);
			if (!it->failed)
				trace(it, 4, n,
				      "While condition evaluated, result=%s", v);
			if (it->failed || !truth(v)) {
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
		v = eval(it, n->a);
		if (!it->failed && deliver(it, v, n->type == MD_CC) == 0 &&
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

		v = eval(it, n->a);
		if (it->failed) {
			free(v);
			break;
		}
		if (restricted(it)) {
			fatal(it, MD_EX_TEMPFAIL, "Unable to execute a command in embedded mode.");
			free(v);
			break;
		}
		if (n->type == MD_XFILTER && verbose(it) >= 1)
			fprintf(stderr, "maildrop: Filtering through xfilter %s\n",
				v);
		else if (n->type == MD_SYSTEM && verbose(it) >= 1)
			fprintf(stderr, "maildrop: Executing system command %s\n",
				v);
		str_init(&out, n->type == MD_XFILTER ? str_len(&it->msg->data) + 256 : 16);
		envp = build_env(it);
		fflush(stdout);
		if (md_run_program(shell_of(it), v,
				   n->type == MD_XFILTER ? str_c(&it->msg->data) : "",
				   n->type == MD_XFILTER ? str_len(&it->msg->data) : 0,
				   envp, n->type == MD_XFILTER ? &out : NULL,
				   it->set.max_message, &status, &err) < 0) {
			fatal(it, MD_EX_TEMPFAIL, "%s", err);
			free(err);
		} else if (n->type == MD_XFILTER && status != 0) {
			fatal(it, MD_EX_TEMPFAIL, "xfilter %s failed (exit %d).", v, status);
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
		free_env(envp);
		str_free(&out);
		free(v);
		break;
	}
	case MD_EXCEPTION:
		trace(it, 4, n, "Trapping exceptions.");
		r = exec(it, n->b);
		if (r == MD_RUN_FAIL) {
			it->failed = false;
			x_free(it->error);
			r = MD_RUN_END;
			trace(it, 4, n, "Trapped exception.");
		} else if (r == MD_RUN_END) {
			trace(it, 4, n, "Exception trapping removed.");
		}
		return r;
	case MD_INCLUDE:
		v = eval(it, n->a);
		if (!it->failed) {
			trace(it, 4, n, "Opening include file %s", v);
			r = exec_include(it, v);
		}
		free(v);
		return r;
	case MD_IMPORT: {
		const char *e = getenv(n->str);

		trace(it, 4, n, "import  \"%s\"", n->str);
		md_interp_set(it, n->str, e != NULL ? e : "");
		break;
	}
	case MD_UNSET:
		trace(it, 4, n, "unset %s", n->str);
		var_unset(it, n->str);
		break;
	case MD_EXIT:
		(void)logfile(it);	/* Debian creates the log file here */
		it->exited = true;
		return MD_RUN_EXIT;
	case MD_ECHO:
		v = eval(it, n->a);
		if (!it->failed)
			echo(v);
		free(v);
		break;
	case MD_LOG:
		v = eval(it, n->a);
		if (!it->failed && logfile(it) != NULL) {
			fprintf(it->logfile, "%s\n", v);
			fflush(it->logfile);
		}
		free(v);
		break;
	case MD_LOGFILE:
		v = eval(it, n->a);
		if (!it->failed) {
			trace(it, 4, n, "Opening logfile %s", v);
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

		v = eval(it, n->a);
		if (it->failed) {
			free(v);
			break;
		}
		trace(it, 4, n, "Creating %s %s",
		      n->type == MD_DOTLOCK ? "dotlock" : "flock", v);
		if (n->type == MD_DOTLOCK) {
			struct md_lock_settings ls;

			lock_settings(it, &ls);
			if (md_dotlock_acquire(v, &ls, &err) < 0) {
				fatal(it, MD_EX_TEMPFAIL, "%s", err);
				free(err);
			} else {
				r = exec(it, n->b);
				md_dotlock_release(v);
			}
		} else {
			int fd = md_flock_acquire(v, &err);

			if (fd < 0) {
				fatal(it, MD_EX_TEMPFAIL, "%s", err);
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
		v = eval(it, n->a);
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
	if (it->logfile != NULL)
		fclose(it->logfile);
	db_close(it);
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
	/* the cache points into prog: forget it */
	for (size_t i = 0; i < it->npcache; i++) {
		free(it->pcache[i].text);
		md_pattern_free(&it->pcache[i].pat);
	}
	x_free(it->pcache);
	it->npcache = 0;
	if (r == MD_RUN_FAIL && it->error != NULL)
		fprintf(stderr, "maildrop: %s\n", it->error);
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
		fatal(it, MD_EX_TEMPFAIL, "Unable to open filter file %s, errno=%d.",
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
			fatal(it, MD_EX_TEMPFAIL, "%s: filter file too large", path);
			if (it->include_depth == 0)
				fprintf(stderr, "maildrop: %s\n", it->error);
			return MD_RUN_FAIL;
		}
		str_append_n(&text, buf, (size_t)n);
	}
	close(fd);
	if (it->include_depth == 0 && verbose(it) >= 2)
		fprintf(stderr, "maildrop: Attempting %s\n", path);
	parser = md_parser_create(NULL);
	prog = md_parse(parser, path, str_c(&text), str_len(&text));
	str_free(&text);
	if (prog == NULL) {
		fatal(it, MD_EX_TEMPFAIL, "%s", md_parser_error(parser));
		fprintf(stderr, "%s\n", md_parser_error(parser));
		md_parser_destroy(&parser);
		/* reported: do not print it again */
		x_free(it->error);
		it->error = xstrdup("syntax error");
		return MD_RUN_FAIL;
	}
	md_parser_destroy(&parser);
	if (restricted(it)) {
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
			fatal(it, MD_EX_TEMPFAIL, "syntax error");
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
		it->npcache = 0;
	}
	md_node_free(&prog);
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
		(void)logfile(it); /* Debian creates the log file in any case */
	if (last == MD_RUN_FAIL)
		return it->fail_code != 0 ? it->fail_code : MD_EX_TEMPFAIL;
	if (last == MD_RUN_END && !it->delivered && !it->exited &&
	    !it->set.embedded) {
		const char *def = md_interp_get(it, "DEFAULT");

		if (deliver(it, def, false) < 0) {
			if (it->error != NULL)
				fprintf(stderr, "maildrop: %s\n", it->error);
			return it->fail_code != 0 ? it->fail_code : MD_EX_TEMPFAIL;
		}
	}
	ec = md_interp_get(it, "EXITCODE");
	return *ec != '\0' ? (int)num(ec) & 0xff : 0;
}
