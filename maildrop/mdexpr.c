/* mdexpr.c: maildrop expressions: text, backticks, patterns (=~, weights,
 * MATCH), operators, with their VERBOSE traces. */
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
#include "mdeval-private.h"
#include "mdeval.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "str.h"

/* ---- commands ---- */

const char *md_expr_shell(struct md_interp *it)
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

	if (md_eval_restricted(it)) {
		md_eval_fatal(it, MD_EX_TEMPFAIL, "Unable to execute a command in embedded mode.");
		return xstrdup("");
	}
	if (md_eval_verbose(it) >= 1)
		fprintf(stderr, "maildrop: Filtering through `%s`\n", cmd);
	str_init(&out, 256);
	fflush(stdout);
	envp = md_eval_build_env(it);
	if (md_run_program(md_expr_shell(it), cmd, str_c(&it->msg->data),
			   str_len(&it->msg->data), envp, &out,
			   it->set.max_value, &status, &err) < 0) {
		md_eval_fatal(it, MD_EX_TEMPFAIL, "%s", err);
		free(err);
		md_eval_free_env(envp);
		str_free(&out);
		return xstrdup("");
	}
	md_eval_free_env(envp);
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
			md_eval_subst(it, k->str, k->str_len, SUB_DQ, &out);
			break;
		case MD_BQ: {
			struct str cmd;
			char *r;

			str_init(&cmd, 64);
			md_eval_subst(it, k->str, k->str_len, SUB_DQ, &cmd);
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
 * after a fatal error, or for a pattern PCRE2 refuses (said on stderr
 * with the file and line; it matches nothing).  *text_r (may be NULL) gets the pattern text, valid
 * while the cache entry lives. */
struct md_pattern *md_expr_pattern(struct md_interp *it,
				      const struct md_node *pn,
				      const char **text_r)
{
	struct str re;
	struct pat_cache *c = NULL;
	char *err = NULL;

	str_init(&re, pn->str_len + 16);
	md_eval_subst(it, pn->str, pn->str_len, SUB_PATTERN, &re);
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
		if (it->npcache == it->pcache_cap) {
			it->pcache_cap = it->pcache_cap == 0 ? 64 :
				it->pcache_cap * 2;
			it->pcache = xreallocarray(it->pcache, it->pcache_cap,
						   sizeof(*it->pcache));
		}
		c = &it->pcache[it->npcache++];
		memset(c, 0, sizeof(*c));
		c->node = pn;
	}
	free(c->text);
	md_pattern_free(&c->pat);
	c->text = str_steal(&re);
	c->pat = md_pattern_compile(c->text, strlen(c->text), pn->flags, &err);
	if (c->pat == NULL) {
		/* as Debian's maildrop: said with the file and line, and the
		 * pattern is not found (the filter goes on) */
		fprintf(stderr, "%s\n%s(%u): Syntax error in /pattern/.\n\n",
			err, it->cur_file != NULL ? it->cur_file : "",
			pn->line);
		free(err);
		return NULL;
	}
found:
	if (text_r != NULL)
		*text_r = c->text;
	if (md_eval_verbose(it) >= 3)
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
	struct md_pattern *pat = md_expr_pattern(it, pn, &text);
	struct md_match m = { NULL, 0 };
	bool weighted = (pn->flags & MD_PAT_WEIGHTED) != 0;
	double score = 0;
	char *r;

	if (pat == NULL)
		return xstrdup("");
	if (subject != NULL) {
		/* =~ against a string: the whole string, once or weighted */
		int rc;

		if (md_eval_verbose(it) >= 3)
			fprintf(stderr, "Matching /%s/ against %s\n", text,
				subject);
		rc = md_pattern_exec(pat, subject, strlen(subject), 0,
					 NULL, &m);

		if (rc < 0) {
			md_eval_fatal(it, MD_EX_TEMPFAIL, "Pattern match failed.");
		} else if (rc > 0) {
			/* a weighted match leaves MATCH as it was, as in
			 * Debian's maildrop */
			if (!weighted)
				set_matches(it, &m);
			score = weighted ? pn->weight : 1;
		}
	} else {
		if (md_message_search(it->msg, pat, pn->flags, weighted,
				      pn->weight, pn->factor, &score, &m) < 0)
			md_eval_fatal(it, MD_EX_TEMPFAIL, "Pattern match failed.");
		else if (m.ngroups > 0 && !weighted)
			set_matches(it, &m);
	}
	md_match_clear(&m);
	r = md_eval_fmt_num(score);
	if (!it->failed)
		md_eval_trace(it, 4, pn, "Search of %s = %s", text, r);
	return r;
}


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

char *md_expr_eval(struct md_interp *it, const struct md_node *n)
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
		a = md_expr_eval(it, n->a);
		r = eval_pattern(it, n->b, a);
		free(a);
		return r;
	case MD_CALL:
		return md_func_call(it, n);
	case MD_ASSIGN:
		/* VAR=value, also inside an expression: its value */
		r = md_expr_eval(it, n->a);
		if (!it->failed) {
			md_eval_trace(it, 4, n, "%s=\"%s\"", n->str, r);
			md_interp_set(it, n->str, r);
			if (strcmp(n->str, "UMASK") == 0)
				umask((mode_t)strtoul(r, NULL, 8) & 0777);
		}
		return r;
	case MD_UNARY:
		a = md_expr_eval(it, n->a);
		if (n->op == MD_OP_NOT) {
			md_eval_trace(it, 6, n, "Operation on: %s - logical not.", a);
			r = xstrdup(md_eval_truth(a) ? "0" : "1");
			md_eval_trace(it, 6, n, "Operation: logical not=%s", r);
		} else if (n->op == MD_OP_BNOT) {
			md_eval_trace(it, 6, n, "Operation on: %s - bitwise not.", a);
			r = md_eval_fmt_num((double)(~md_eval_int32(md_eval_num(a))));
			md_eval_trace(it, 6, n, "Operation: bitwise not=%s", r);
		} else {
			r = md_eval_fmt_num(-md_eval_num(a));
		}
		free(a);
		return r;
	case MD_BINARY:
		break;
	default:
		return xstrdup("");
	}
	a = md_expr_eval(it, n->a);
	if (n->op == MD_OP_OR || n->op == MD_OP_AND) {
		const char *name = n->op == MD_OP_OR ? "or" : "and";
		bool t = md_eval_truth(a);

		md_eval_trace(it, 6, n, "Operation: logical %s, left hand side=%s",
		      name, a);
		if ((n->op == MD_OP_OR) != t) {
			free(a);
			/* sic: Debian's maildrop writes "size" */
			md_eval_trace(it, 6, n, "Operation: logical %s, evaluating "
			      "right hand size.", name);
			a = md_expr_eval(it, n->b);
		}
		if (!it->failed)
			md_eval_trace(it, 6, n, "Operation: logical %s, result=%s",
			      name, a);
		return a;
	}
	b = md_expr_eval(it, n->b);
	x = md_eval_num(a);
	y = md_eval_num(b);
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
	case MD_OP_BOR: r = md_eval_fmt_num((double)(md_eval_u64(x) | md_eval_u64(y))); break;
	case MD_OP_BAND: r = md_eval_fmt_num((double)(md_eval_u64(x) & md_eval_u64(y))); break;
	case MD_OP_ADD: r = md_eval_fmt_num(x + y); break;
	case MD_OP_SUB: r = md_eval_fmt_num(x - y); break;
	case MD_OP_MUL: r = md_eval_fmt_num(x * y); break;
	case MD_OP_DIV:
		/* by zero: inf, -inf or nan, as in Debian's maildrop */
		r = md_eval_fmt_num(x / y);
		break;
	default: r = xstrdup(""); break;
	}
	if (!it->failed && md_eval_verbose(it) >= 6)
		md_eval_trace(it, 6, n, "Operation on: %s and %s - %s, result is %s", a,
		      b, op_name(n->op), r);
	free(a);
	free(b);
	return r;
}
