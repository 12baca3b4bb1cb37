/* courierlocal.h: what the parts of the local delivery module share (the
 * module's own header, not an API of lib/): a delivery in progress, its
 * outcome, and the functions one part calls in another.
 *
 *   courierlocal.c           the module process and its workers
 *   courierlocal-job.c       one delivery job: P records, each recipient,
 *                            status records (the exactly-once rules)
 *   courierlocal-account.c   who the recipient is (authlib, aliases,
 *                            aliasdir) and the switch to its file system
 *                            identity
 *   courierlocal-follow.c    the dot-courier instructions
 *   courierlocal-program.c   programs and maildrop fed the message
 *   courierlocal-write.c     the message's copies: Maildir and mbox
 *
 * courierlocal.c's header comment describes what a delivery does. */
#ifndef COURIERLOCAL_H
#define COURIERLOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authclient.h"
#include "ctlfile.h"
#include "str.h"

/* Longest job line from courierd. */
#define LINE_MAX_LEN (1024 * 1024)
#define DOT_COURIER_MAX (64 * 1024)
#define MAX_FORWARDS 100
/* Levels of "||" programs whose output has "||" lines again. */
#define DYNAMIC_MAX_DEPTH 3

/* What the account's process answers when maildrop is to deliver. */
#define STATUS_MAILDROP 100

/* What became of a recipient. */
struct outcome {
	enum ctl_status status;
	char *diag;
	bool unsafe;	/* ran something a retry cannot check (a program,
			 * an mbox, a forward, maildrop): its status record
			 * must be on disk before we say it is done */
};

/* A recipient being delivered. */
struct delivery {
	const char *qid;
	const char *sender;
	const char *address;	/* the recipient, for Delivered-To */
	const char *ext;	/* extension, "" for none */
	const char *dotfile;	/* an alias's file in aliases.dir, or NULL */
	const char *maildrop;	/* maildropfilter's program, or NULL */
	bool want_maildrop;	/* the default delivery is maildrop's */
	struct auth_record *rec;
	int data_fd;
	struct str prefix;	/* Return-Path: and Delivered-To: lines */
	struct str forwards;	/* addresses, one a line */
	unsigned int forward_count;
	unsigned int rcpt_no;	/* the recipient's number in the queue */
	unsigned int targets;	/* maildir copies made so far */
	bool retry;		/* an earlier attempt may have made copies */
	bool dynamic;		/* "||" lines allowed (DYNAMICDELIVERIES) */
};

/* ---- courierlocal-write.c ---- */

/* Sets the outcome (the first failure wins; a success does not undo
 * one). */
void result(struct outcome *o, enum ctl_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Feeds the message (dl->prefix, then the data file from its start) to
 * cb, which returns -1 to stop.  Returns 0, or -1 (errno set). */
int message_copy(struct delivery *dl,
		 int (*cb)(void *ctx, const void *p, size_t n), void *ctx);
/* The size of the copy: prefix and data file. */
uint64_t message_size(struct delivery *dl);
/* Writes n bytes to the fd *(int *)context.  Returns 0, or -1. */
int fd_cb(void *context, const void *p, size_t n);
/* Delivers a copy to the maildir dir (made if missing) under its
 * Maildir++ quota ("" or NULL: the maildirsize file's): the copy named
 * after queue id, recipient and target, found again on a retry. */
void deliver_maildir(struct delivery *dl, const char *dir,
		     const char *quota, struct outcome *o);
/* Appends a copy to the mbox file path (flock'ed, fsync'ed, cut back on
 * failure). */
void deliver_mbox(struct delivery *dl, const char *path, struct outcome *o);

/* ---- courierlocal-program.c ---- */

/* Whether a program's exit code is a permanent failure. */
bool hard_exit(int code);
/* ": OUTPUT" for a status text, "" for NULL (caller frees). */
char *output_suffix(const char *output);
/* Runs argv (argv[0] a path), as the account when as_account, with the
 * message on its standard input and the dot-courier environment; its
 * standard output to out_fd (-1: with its standard error).  Returns 0
 * with the wait status in *status_r and the start of its output in
 * *output_r (NULL if none; caller frees), or -1 after recording a
 * deferral in o. */
int run_fed(struct delivery *dl, char *const argv[], int out_fd,
	    bool as_account, int *status_r, char **output_r,
	    struct outcome *o);
/* A "|cmd" line.  Returns true when the program asked to stop (exit
 * 99). */
bool deliver_program(struct delivery *dl, const char *cmd,
		     struct outcome *o);
/* The account's mail through dl->maildrop (maildropfilter). */
void deliver_maildrop(struct delivery *dl, struct outcome *o);

/* ---- courierlocal-follow.c ---- */

/* As the account, in its home: follows its dot-courier file (or the
 * alias's dl->dotfile), or delivers to its maildir. */
void deliver_as_user(struct delivery *dl, struct outcome *o);

/* ---- courierlocal-account.c ---- */

/* Whether the message's header (read from fd) has Delivered-To:
 * address. */
bool is_loop(int fd, const char *address);
/* Looks the account up: key, then key without its extension.  Returns
 * 1 with *rec and the extension in *ext_r ("" for none; caller frees),
 * 0 when there is no account, -1 with *error_r. */
int lookup(const char *key, struct auth_record *rec, char **ext_r,
	   const char **error_r);
/* The account of a program or mailbox alias (the owner of
 * etc/aliases.dir).  Returns 1, or -1 with *error_r. */
int alias_account(const char *akey, struct auth_record *rec, char **ext_r,
		  const char **error_r);
/* An address without an account handled by etc/aliasdir.  Returns 1
 * with *rec and *ext_r, 0 when aliasdir has nothing for it. */
int aliasdir_account(const char *key, struct auth_record *rec,
		     char **ext_r);
/* Takes the account's file system identity.  Returns 1 when switched, 0
 * when not running as root, -1 with *error_r (maybe half switched: call
 * account_leave() all the same). */
int account_enter(const struct auth_record *rec, const char **error_r);
/* Back to root's file system identity.  Returns 0, or -1 with *error_r
 * (the process must then exit). */
int account_leave(const char **error_r);
/* DYNAMICDELIVERIES in etc/courierd: whether "||" lines are allowed. */
bool dynamic_allowed(void);

/* ---- courierlocal-job.c ---- */

/* Runs one job, "delid qid host n addr [n addr...]" split at tabs in
 * f[0..count-1] (checked by the caller: count >= 5 and odd, a valid
 * queue id).  Returns once the outcomes are recorded, everything it
 * took released; exits the process (status 1) when it cannot record
 * them or take root's file system ids back. */
void run_job(char **f, size_t count);

#endif
