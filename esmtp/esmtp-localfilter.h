/* esmtp-localfilter.h: recipient-controlled filtering at SMTP time, as
 * Courier's localmailfilter(7) has it.
 *
 * When the instance's etc/maildropfilter exists, esmtpd asks each local
 * account a RCPT names whether it wants the message:
 *
 *   at RCPT   the account's $HOME/.mailfilters/rcptfilter[-EXT], with no
 *             message: exit 0 accepts (and whitelists: no content
 *             filter), 99 accepts but asks for the content filter, 75
 *             is a temporary refusal (4xx), anything else refuses (5xx);
 *   at DATA   for the recipients whose rcptfilter said 99, the account's
 *             smtpfilter[-EXT] with the message on standard input: exit
 *             0 (or 99) accepts, 75 refuses temporarily, anything else
 *             refuses.
 *
 * What the filter prints on its standard output is the text of the
 * refusal; a first line starting with a 4xx or 5xx code gives the code.
 *
 * esmtpd runs as the queue user: it never runs a filter itself.  It runs
 * the helper mailfilterexec (esmtp/mailfilterexec.c), installed setuid
 * root and executable by the queue group only, which looks the account
 * up through authlib, drops to its uid/gid and runs maildrop -M.  The
 * helper's exit code is one of the ESMTP_LMF_EXIT_* values below; its
 * standard output is the filter's.
 *
 * This file has the pure part (the helper's answer made into an SMTP
 * reply; unit tested and fuzzed) and the blocking runner, called from a
 * worker thread. */
#ifndef ESMTP_LOCALFILTER_H
#define ESMTP_LOCALFILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* The helper's exit codes. */
#define ESMTP_LMF_EXIT_ACCEPT 0		/* accepted (RCPT: whitelisted) */
#define ESMTP_LMF_EXIT_REJECT 1		/* refused */
#define ESMTP_LMF_EXIT_USAGE 2		/* bad command line (temporary) */
#define ESMTP_LMF_EXIT_NOFILTER 3	/* the account has no such filter */
#define ESMTP_LMF_EXIT_TEMPFAIL 75	/* refused for now, or failed */
#define ESMTP_LMF_EXIT_CONTENT 99	/* rcptfilter: run the smtpfilter */

/* The most of a filter's output read (the rest is discarded), the most
 * lines and bytes a line of it that go into a reply. */
#define ESMTP_LMF_MAX_OUTPUT 4096
#define ESMTP_LMF_MAX_LINES 8
#define ESMTP_LMF_MAX_LINE 240

/* Default time a filter may run (seconds), and the longest allowed. */
#define ESMTP_LMF_DEFAULT_TIMEOUT 60
#define ESMTP_LMF_MAX_TIMEOUT 600

enum esmtp_lmf_verdict {
	ESMTP_LMF_ACCEPT,	/* accepted; at RCPT: whitelisted */
	ESMTP_LMF_CONTENT,	/* RCPT only: accepted, smtpfilter at DATA */
	ESMTP_LMF_NOFILTER,	/* no filter: accepted, as if none existed */
	ESMTP_LMF_REJECT,	/* refused for good: *reply_r is a 5xx */
	ESMTP_LMF_TEMPFAIL,	/* refused for now: *reply_r is a 4xx */
};

/* The verdict for a helper that ended with wait status wstatus (as
 * waitpid() gives it; a signal or an unknown code is a temporary
 * failure) after printing out (len bytes, any bytes, not
 * NUL-terminated).  rcpt_phase: the rcptfilter (99 means CONTENT), else
 * the smtpfilter (99 accepts).  For REJECT and TEMPFAIL, *reply_r is the
 * reply (caller frees): lines "NNN-X.Y.Z text" joined with '\n', the
 * last "NNN X.Y.Z text"; at most ESMTP_LMF_MAX_LINES lines of printable
 * ASCII.  Otherwise *reply_r is NULL. */
enum esmtp_lmf_verdict esmtp_lmf_verdict(int wstatus, bool rcpt_phase,
					  const char *out, size_t len,
					  char **reply_r);

/* Runs the helper: argv[0] is its path, stdin_fd its standard input (-1:
 * /dev/null); its standard output is read into *out (at most
 * ESMTP_LMF_MAX_OUTPUT bytes kept); standard error is esmtpd's (the
 * log).  Every other descriptor is closed in the child.  Waits at most
 * timeout_secs plus a grace of 10 s (the helper enforces timeout_secs
 * itself; after the grace it is killed if it can be, and waited for).
 * Blocks: call it from a worker thread.  Returns the wait status, or -1
 * when the helper could not be started (logged). */
int esmtp_lmf_run(char *const argv[], int stdin_fd,
		  unsigned int timeout_secs, struct str *out);

/* The helper's command line (NULL-terminated; free with
 * esmtp_lmf_argv_free()) to run filter (esmtp_lmf_filter_name()) of
 * account (NULL: the account of etc/aliasfilteracct, for an alias; the
 * filter is then "rcptfilter-alias-ADDRESS" or "smtpfilter-alias-...")
 * for a message from sender (may be "") to recipient, from the client
 * at remote_ip (NULL or "": left out).  Thread-safe. */
char **esmtp_lmf_argv(const char *helper, unsigned int timeout_secs,
		      const char *sender, const char *recipient,
		      const char *remote_ip, const char *account,
		      const char *filter);
void esmtp_lmf_argv_free(char ***argv);

/* The filter's name for an address extension: "rcptfilter" (ext NULL or
 * "") or "rcptfilter-EXT"; the same for "smtpfilter".  EXT is made safe
 * for maildrop -M (no '/' or '.': each becomes ':').  Caller frees. */
char *esmtp_lmf_filter_name(const char *base, const char *ext);

#endif
