/* mddeliver.h: where maildrop puts a message: maildirs (with Maildir++
 * quota), mbox files (dot-lock and flock), programs; and locks.
 *
 * Every function returns 0 on success or -1 with *error_r (a new string
 * the caller frees): the caller treats -1 as a temporary failure, and
 * nothing is half-delivered (a maildir file is linked only when complete,
 * an mbox is truncated back to its old size on a write error). */
#ifndef MDDELIVER_H
#define MDDELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Lock settings (the LOCK* variables). */
struct md_lock_settings {
	const char *lockext;	/* ".lock" */
	unsigned int sleep_secs;	/* LOCKSLEEP, 5 */
	unsigned int timeout_secs;	/* LOCKTIMEOUT, 60: stale after */
	unsigned int refresh_secs;	/* LOCKREFRESH */
};

/* Delivers data into maildir dir.  quota is MAILDIRQUOTA ("" or NULL =
 * the one in maildirsize, if any).  flags (the FLAGS variable: letters of
 * D, F, R, S; any other letter is an error) non-empty puts the message in cur/ with
 * those flags instead of new/.  Sets *over_quota_r when refused for
 * quota. */
int md_deliver_maildir(const char *dir, const char *data, size_t len,
		       const char *quota, const char *flags,
		       bool *over_quota_r, char **error_r);

/* As md_deliver_maildir(), and then stores keywords (the KEYWORDS
 * variable, see md_keywords_split(); NULL or "" = none) for the message
 * in Courier's courierimapkeywords/ of dir (lib/maildir-keywords.h), as
 * Courier-IMAP reads them.  The keywords are written once the message is
 * linked: failing to store them does not fail the delivery (that would
 * deliver the message twice); the problem, or names that are not valid
 * IMAP keywords and were left out, is then put in *warning_r (a new
 * string the caller frees; NULL if none).  warning_r may be NULL. */
int md_deliver_maildir_kw(const char *dir, const char *data, size_t len,
			  const char *quota, const char *flags,
			  const char *keywords, bool *over_quota_r,
			  char **warning_r, char **error_r);

/* At most this many keywords are set on one message. */
#define MD_KEYWORDS_MAX 256

/* Splits a KEYWORDS value: names separated by commas, empty names
 * skipped, sorted in byte order without duplicates (as Debian's maildrop
 * stores them), at most MD_KEYWORDS_MAX.  Names that are not IMAP atoms
 * (maildir_keywords_name_valid()) are left out and listed, comma
 * separated, in *invalid_r (a new string, or NULL if none).  Returns the
 * number of names in *names_r, a NULL-terminated array (NULL when 0) to
 * free with md_keywords_free(). */
int md_keywords_split(const char *keywords, char ***names_r,
		      char **invalid_r);
void md_keywords_free(char ***names);

/* Quota warning (maildrop -w, deliverquota -w): if the maildir dir (a
 * folder: its root) has a quota and is at least percent full, and the
 * root has no file "quotawarn" younger than 24 hours, delivers the
 * message of warn_file, with "Date:" and "Message-Id:" headers added on
 * top, into the root maildir (counted in its quota, never refused for
 * it) and touches quotawarn.  Below percent it removes quotawarn, so the
 * next crossing warns at once.  A missing warn_file means no warning.
 * Returns 1 if a warning was delivered, 0 if none was due, -1 with
 * *error_r (the caller's delivery is done: this is only reported). */
int md_quota_warn(const char *dir, int percent, const char *warn_file,
		  char **error_r);

/* Appends data to mbox file path with a "From sender date" line, ">From"
 * quoting (mboxrd) and a blank line after it, under a dot-lock and an
 * flock.  A path that exists and is not a regular file (/dev/null, a
 * FIFO) gets no dot-lock, no fsync() and no truncation on failure.  *size_r gets the size written for the message (quoting
 * included, not the From line nor the blank line). */
int md_deliver_mbox(const char *path, const char *data, size_t len,
		    const char *sender, const struct md_lock_settings *lock,
		    size_t *size_r, char **error_r);

/* Runs cmd with shell -c, the message on its standard input and envp as
 * environment.  *status_r gets the exit code (or 128+signal).  If output
 * is not NULL the command's standard output is collected there (at most
 * max_output bytes; more is an error).  Returns -1 only when the command
 * could not be run. */
struct str;
/* md_run_program() that also tells whether the command stopped reading
 * before the whole message was written (*write_failed_r: EPIPE). */
int md_run_program_full(const char *shell, const char *cmd,
			const char *data, size_t len, char *const envp[],
			struct str *output, size_t max_output, int *status_r,
			bool *write_failed_r, char **error_r);
int md_run_program(const char *shell, const char *cmd, const char *data,
		   size_t len, char *const envp[], struct str *output,
		   size_t max_output, int *status_r, char **error_r);

/* Dot-locks: creates path (the lock file itself) atomically (a unique
 * temporary file linked to it), waiting while someone else holds it,
 * breaking a lock older than timeout_secs.  Returns 0 or -1. */
int md_dotlock_acquire(const char *path, const struct md_lock_settings *lock,
		       char **error_r);
void md_dotlock_release(const char *path);

/* Takes a POSIX (fcntl) lock on path (opened or created), as Debian's
 * maildrop's flock statement does; returns the fd, or -1. */
int md_flock_acquire(const char *path, char **error_r);
void md_flock_release(int fd);

#endif
