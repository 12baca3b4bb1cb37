/* mdfunc.c: maildrop's built-in functions (length, substr, hasaddr,
 * getaddr, escape, tolower, toupper, lookup, time, gdbm* over LMDB). */
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

/* ---- functions ---- */

/* What Debian's maildrop (Courier's address parser) makes of an entry
 * ours refuses (raw, its trimmed text): the <...> in it, else each of
 * its words (comments separate them, a quoted string stays whole, a
 * word ending in ':' is a group's name): "a b" is a and b, "a(b)c@d" a
 * and c@d, "Re: hello" hello, "a@b@c" and "@x" themselves. */
static void repaired_specs(const char *raw, struct str *out, const char *sep)
{
	const char *lt = strrchr(raw, '<'), *gt;

	if (lt != NULL) {
		gt = strchr(lt, '>');
		if (gt != NULL && gt > lt + 1) {
			str_append_n(out, lt + 1, (size_t)(gt - lt - 1));
			str_append(out, sep);
		}
		return;
	}
	while (*raw != '\0') {
		const char *start;

		if (*raw == ' ' || *raw == '\t' || *raw == '\r' ||
		    *raw == '\n' || *raw == ',') {
			raw++;
			continue;
		}
		if (*raw == '(') {
			unsigned int depth = 0;

			do {
				if (*raw == '\\' && raw[1] != '\0')
					raw++;
				else if (*raw == '(')
					depth++;
				else if (*raw == ')')
					depth--;
				raw++;
			} while (*raw != '\0' && depth > 0);
			continue;
		}
		start = raw;
		while (*raw != '\0' && *raw != ' ' && *raw != '\t' &&
		       *raw != '\r' && *raw != '\n' && *raw != '(' &&
		       *raw != ',') {
			if (*raw == '"') {
				raw++;
				while (*raw != '\0' && *raw != '"') {
					if (*raw == '\\' && raw[1] != '\0')
						raw++;
					raw++;
				}
				if (*raw == '\0')
					break;
			}
			raw++;
		}
		/* "Re:" is a group's name, not an address */
		if (raw[-1] == ':')
			continue;
		str_append_n(out, start, (size_t)(raw - start));
		str_append(out, sep);
	}
}

static void addr_specs(const char *s, struct str *out, const char *sep)
{
	struct rfc822_addr_parser *p = rfc822_addr_parser_create(NULL);
	struct rfc822_addr_list *list = NULL;

	if (rfc822_addr_parse(p, s, strlen(s), &list, NULL) >= 0 &&
	    list != NULL) {
		for (size_t i = 0; i < list->count; i++) {
			const struct rfc822_addr *a = &list->addrs[i];

			if (a->invalid && a->raw != NULL) {
				repaired_specs(a->raw, out, sep);
				continue;
			}
			if (a->type != RFC822_ADDR_MAILBOX || a->invalid ||
			    a->null_addr)
				continue;
			/* as written, as Debian's: "./Maildir", "a..b@c"
			 * are not quoted */
			if (a->local_raw != NULL) {
				str_append(out, a->local_raw);
				if (a->domain != NULL) {
					str_append_c(out, '@');
					str_append(out, a->domain);
				}
			} else {
				rfc822_addr_format_spec(out, a);
			}
			str_append(out, sep);
		}
	}
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&p);
}

/* VERBOSE 6: the header value hasaddr() parses, as Debian's maildrop
 * writes it. */
static void trace_parsing(const char *value)
{
	fputs("maildrop: hasaddr: rfc822 parsing: ", stderr);
	/* Debian's copy of a folded value has a blank added to each
	 * continuation line */
	for (; *value != '\0'; value++) {
		/* a CR before a line end is not in Debian's copy */
		if (*value == '\r' && (value[1] == '\n' || value[1] == '\0'))
			continue;
		fputc(*value, stderr);
		if (*value == '\n' && value[1] != '\0')
			fputc(' ', stderr);
	}
	fputc('\n', stderr);
}

/* Whether the To, Cc, Resent-To or Resent-Cc fields have addr (case
 * aside).  Like Debian's, it stops at the first address that matches
 * (its VERBOSE 6 trace lists the addresses up to that one). */
static bool hasaddr(struct md_interp *it, const char *addr)
{
	static const char *const hdrs[] = { "To", "Cc", "Resent-To", "Resent-Cc" };
	bool found = false;
	const char *d = str_c(&it->msg->data);
	size_t len = it->msg->header_end, i = 0;

	/* every field with one of those names, folded lines included */
	while (i < len && !found) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t end = nl == NULL ? len : (size_t)(nl - d) + 1;

		while (end < len && (d[end] == ' ' || d[end] == '\t')) {
			nl = memchr(d + end, '\n', len - end);
			end = nl == NULL ? len : (size_t)(nl - d) + 1;
		}
		for (size_t h = 0; h < N_ELEMENTS(hdrs) && !found; h++) {
			size_t hl = strlen(hdrs[h]);
			struct str specs;
			char *v, *tok, *save = NULL;

			if (!(end - i > hl && strncasecmp(d + i, hdrs[h], hl) == 0 &&
			      d[i + hl] == ':'))
				continue;
			v = xmemdup(d + i + hl + 1, end - i - hl - 1);
			str_init(&specs, 128);
			addr_specs(v, &specs, "\n");
			if (md_eval_verbose(it) >= 6)
				trace_parsing(v);
			tok = strtok_r(specs.data != NULL ? specs.data :
				       (char *)"", "\n", &save);
			for (; tok != NULL && !found;
			     tok = strtok_r(NULL, "\n", &save)) {
				if (md_eval_verbose(it) >= 6) {
					/* lower-cased, as Debian's */
					char *l = str_lcase(xstrdup(tok));

					fprintf(stderr, "maildrop: hasaddr: rfc822 parsed: %s\n",
						l);
					free(l);
				}
				found = strcasecmp(tok, addr) == 0;
			}
			str_free(&specs);
			free(v);
		}
		i = end;
	}
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
		md_eval_fatal(it, MD_EX_TEMPFAIL, "Unable to open %s", file);
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
			md_eval_fatal(it, MD_EX_TEMPFAIL, "%s: %s", file, err);
			free(err);
			break;
		}
		if (md_eval_verbose(it) >= 3)
			fprintf(stderr, "Matching /%s/ against %s\n", p, expr);
		if (md_pattern_exec(pat, expr, strlen(expr), 0, NULL, NULL) > 0)
			found = true;
		md_pattern_free(&pat);
	}
	free(line);
	fclose(f);
	return xstrdup(found ? "1" : "0");
}

void md_func_db_close(struct md_interp *it)
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

	md_func_db_close(it);
	if (md_eval_restricted(it) && m != 'R') {
		md_eval_fatal(it, MD_EX_TEMPFAIL, "gdbmopen: only R is allowed in embedded mode.");
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
		md_func_db_close(it);
		return xstrdup("-1");
	}
	if (mdb_dbi_open(txn, NULL, 0, &it->db_dbi) != 0) {
		mdb_txn_abort(txn);
		md_func_db_close(it);
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
	char *key = md_expr_eval(it, n->kids[0]);
	char *opts = n->nkids >= 2 ? md_expr_eval(it, n->kids[1]) : xstrdup("");
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
		return md_expr_eval(it, n->kids[2]);
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

char *md_func_call(struct md_interp *it, const struct md_node *n)
{
	const char *f = n->str;
	char *a, *b, *c, *r;

	if (strcmp(f, "time") == 0)
		return xasprintf("%lld", (long long)time(NULL));
	if (strcmp(f, "gdbmclose") == 0) {
		md_func_db_close(it);
		/* its value is empty in Debian's maildrop */
		return xstrdup("");
	}
	if (strcmp(f, "gdbmfetch") == 0)
		return db_fetch(it, n);
	a = md_expr_eval(it, n->kids[0]);
	if (strcmp(f, "length") == 0) {
		md_eval_trace(it, 6, n, "Operation on: %s - strlength.", a);
		r = xasprintf("%zu", strlen(a));
		md_eval_trace(it, 6, n, "Operation: strlength=%s", r);
	} else if (strcmp(f, "substr") == 0) {
		double start, count;
		size_t len = strlen(a);

		b = md_expr_eval(it, n->kids[1]);
		start = md_eval_num(b);
		free(b);
		/* Debian's traces show the numbers as unsigned */
		md_eval_trace(it, 6, n, "Operation on: %s - strsubstr %llu", a,
		      (unsigned long long)md_eval_ll(start));
		count = (double)len;
		if (n->nkids > 2) {
			c = md_expr_eval(it, n->kids[2]);
			count = md_eval_num(c);
			free(c);
			md_eval_trace(it, 6, n, "Operation on: %s - strsubstr chop %llu",
			      a, (unsigned long long)md_eval_ll(count));
		}
		md_eval_trace(it, 6, n, "Operation:  strsubstr=%s",
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
		if (md_eval_verbose(it) >= 6) {
			/* Debian's maildrop shows it lower-cased */
			char *l = str_lcase(xstrdup(a));

			fprintf(stderr, "maildrop: hasaddr('%s')\n", l);
			free(l);
		}
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
		b = md_expr_eval(it, n->kids[1]);
		c = n->nkids > 2 ? md_expr_eval(it, n->kids[2]) : xstrdup("");
		r = it->failed ? xstrdup("0") : lookup(it, a, b, c);
		free(b);
		free(c);
	} else if (strcmp(f, "gdbmopen") == 0) {
		b = n->nkids > 1 ? md_expr_eval(it, n->kids[1]) : xstrdup("R");
		r = db_open(it, a, b);
		free(b);
	} else if (strcmp(f, "gdbmstore") == 0) {
		b = md_expr_eval(it, n->kids[1]);
		r = db_store(it, a, b);
		free(b);
	} else {
		r = xstrdup("");
	}
	free(a);
	return r;
}
