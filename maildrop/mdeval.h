/* mdeval.h: the maildrop interpreter: runs parsed filter files against a
 * message, with maildrop's variables, functions and delivery statements.
 *
 * Values are strings; numbers are read with strtod (leading blanks, then
 * as much of a number as there is, else 0) and written with %.22g, as
 * Debian's maildrop does.  "" and "0" are false.  Variables are exported
 * to the environment of every program maildrop runs.
 *
 * A fatal error (a failed delivery, a missing include file, a bad
 * pattern, a failing xfilter) ends the filter with EX_TEMPFAIL, unless it
 * happens inside "exception { }", which then resumes after the block. */
#ifndef MDEVAL_H
#define MDEVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "mdmsg.h"
#include "mdparse.h"

#define MD_EX_TEMPFAIL 75

enum md_run_result {
	MD_RUN_END,	/* the filter ran to its end */
	MD_RUN_EXIT,	/* exit, or a successful "to" */
	MD_RUN_FAIL,	/* fatal error (reported) */
};

struct md_interp_settings {
	/* -m/-M: the filter may not deliver, run commands, lock or log
	 * (such statements are refused when the file is parsed, as a
	 * syntax error), gdbm files open read-only, and nothing goes to
	 * $DEFAULT at the end. */
	bool embedded;
	/* Directory of trusted filter files (Courier's /etc/maildroprcs):
	 * while a file included from there (a name without '.') runs, the
	 * embedded restrictions are lifted, after DEFAULT, HOME, LOCKEXT,
	 * LOCKSLEEP, LOCKTIMEOUT, LOCKREFRESH, LOGNAME, PATH, SENDMAIL and
	 * SHELL are reset to their values when the first filter started.
	 * NULL = none. */
	const char *trusted_dir;
	size_t max_include_depth;	/* 0 = 20 */
	size_t max_value;	/* longest variable value; 0 = 1 MiB */
	size_t max_message;	/* xfilter output limit; 0 = 64 MiB */
	/* The process ends after the run (maildrop(1) itself): the parse
	 * trees of the top-level filter files and their compiled patterns
	 * are kept until md_interp_destroy() instead of being freed as each
	 * file ends (an included file's still are, it may run in a loop).
	 * Lets maildrop exit without walking them (md_interp_close()).
	 * A tree given to md_interp_run() must then live as long as the
	 * interpreter: its compiled patterns are cached by node. */
	bool keep_programs;
};

struct md_interp;

/* Creates an interpreter for msg (not owned).  args are $1..$n. */
struct md_interp *md_interp_create(struct md_message *msg,
				   const struct md_interp_settings *settings,
				   char **args, size_t nargs);
/* Frees the interpreter; closes what md_interp_close() closes first. */
void md_interp_destroy(struct md_interp **it);
/* What must not wait for the process's exit: flushes the log file
 * (it stays open) and closes the gdbm database (as gdbmclose does).
 * For a program about to exit without md_interp_destroy(). */
void md_interp_close(struct md_interp *it);

void md_interp_set(struct md_interp *it, const char *name, const char *value);
/* The value of a variable, "" when unset. */
const char *md_interp_get(struct md_interp *it, const char *name);

/* Parses and runs filter file path.  The error of a syntax error or a
 * fatal error is printed on stderr ("maildrop: ..."). */
enum md_run_result md_interp_run_file(struct md_interp *it, const char *path);
/* Runs an already parsed program named file. */
enum md_run_result md_interp_run(struct md_interp *it, const struct md_node *prog,
				 const char *file);

/* At the end of the filters: delivers to $DEFAULT unless the filter
 * exited or delivered, and returns the exit code for maildrop. */
int md_interp_finish(struct md_interp *it, enum md_run_result last);

/* Quota warning (-w percent, -W file): after each successful delivery
 * to a maildir with a quota that is then at least percent full, the
 * message of warn_file is put into that maildir (mddeliver.h:
 * md_quota_warn()).  percent 0 = off. */
void md_interp_set_quota_warning(struct md_interp *it, int percent,
				 const char *warn_file);

/* The last fatal error (NULL if none). */
const char *md_interp_error(const struct md_interp *it);

#endif
