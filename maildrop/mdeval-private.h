/* mdeval-private.h: what the parts of the maildrop interpreter share
 * (mdeval.c: variables, errors, numbers, substitution, statements;
 * mdexpr.c: expressions and patterns; mdfunc.c: the built-in functions;
 * mdtarget.c: deliveries and the delivery log).  Not an API: only these
 * files include it. */
#ifndef MDEVAL_PRIVATE_H
#define MDEVAL_PRIVATE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mddeliver.h"
#include "mdeval.h"
#include "str.h"

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
	size_t npcache, pcache_cap;
	/* set.keep_programs: the top-level files' parse trees */
	struct md_node **kept;
	size_t nkept;
};

/* ---- mdeval.c ---- */

/* Records a fatal error (the first one wins): the run stops with exit
 * code code unless an "exception" block traps it. */
void md_eval_fatal(struct md_interp *it, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* True while embedded restrictions apply (-m, outside trusted files). */
bool md_eval_restricted(const struct md_interp *it);
/* VERBOSE as a number. */
int md_eval_verbose(struct md_interp *it);
/* A VERBOSE trace line "file(line): text" on stderr at level and up. */
void md_eval_trace(struct md_interp *it, int level, const struct md_node *n,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Numbers as maildrop reads (strtod, else 0) and writes them (%.22g). */
double md_eval_num(const char *s);
char *md_eval_fmt_num(double d);
/* "" and "0" are false, blanks around them aside. */
bool md_eval_truth(const char *s);
/* A number as the 32-bit integer the bitwise operators work on. */
int32_t md_eval_int32(double d);
/* d as a long long, clamped to its range, NaN as 0 (no undefined
 * conversion for inf, nan or 1e400). */
long long md_eval_ll(double d);
/* A number as the 64-bit unsigned integer | and & work on in Debian's
 * maildrop (x86-64 conversions, without undefined behaviour): negative
 * numbers in two's complement, out of range as the processor gives. */
uint64_t md_eval_u64(double d);

/* How text is substituted: in "...", bare words, patterns. */
enum subst_mode { SUB_DQ, SUB_BARE, SUB_PATTERN };
/* Appends s (len bytes) to out with $VAR, ${VAR}, $1.. substituted. */
void md_eval_subst(struct md_interp *it, const char *s, size_t len,
		   enum subst_mode mode, struct str *out);
/* The variables as a NULL-terminated environment (free with
 * md_eval_free_env()). */
char **md_eval_build_env(struct md_interp *it);
void md_eval_free_env(char **envp);

/* ---- mdexpr.c ---- */

/* The value of an expression (caller frees); "" after a fatal error. */
char *md_expr_eval(struct md_interp *it, const struct md_node *n);
/* The compiled pattern of node pn (after substitution), cached; NULL
 * after a fatal error (it->failed), or for a pattern PCRE2 refuses (said
 * on stderr with the file and line, as Debian's; it matches nothing,
 * and the filter goes on).  *text_r (may be NULL) gets the pattern text,
 * valid while the cache entry lives. */
struct md_pattern *md_expr_pattern(struct md_interp *it,
				   const struct md_node *pn,
				   const char **text_r);
/* $SHELL, or /bin/sh. */
const char *md_expr_shell(struct md_interp *it);

/* ---- mdfunc.c ---- */

/* Runs built-in function n->str with its arguments (caller frees). */
char *md_func_call(struct md_interp *it, const struct md_node *n);
/* Closes the gdbm (LMDB) file, if one is open. */
void md_func_db_close(struct md_interp *it);

/* ---- mdtarget.c ---- */

/* Delivers to target (to, cc, DEFAULT): a program ("|cmd"), a forward
 * ("!addr"), a maildir or an mbox file, with the VERBOSE traces and the
 * delivery log.  Returns 0, or -1 after a fatal error. */
int md_target_deliver(struct md_interp *it, const char *target, bool is_cc);
/* The LOCK* variables. */
void md_target_lock_settings(struct md_interp *it,
			     struct md_lock_settings *ls);
/* The log file, opened (appending) on first use as Debian does; NULL if
 * none. */
FILE *md_target_logfile(struct md_interp *it);

#endif
