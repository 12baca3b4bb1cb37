/* pop3-mailbox.h: the snapshot of INBOX a POP3 session works on.
 *
 * At login the maildir's index (lib/mail-index.h) is opened and synced,
 * and the messages it lists become the session's messages 1..N, with
 * their octet counts (RFC822 size with CRLF line ends, the size RETR
 * sends) and UIDLs (Courier's "UID<n>-<uidvalidity>", or the UIDL Courier
 * recorded in courierpop3dsizelist).  Messages delivered later are not
 * seen by this session; they stay for the next one.  DELE only marks;
 * pop3_mailbox_commit() (QUIT, the UPDATE state) expunges the marked
 * messages through the index.  A session that ends any other way changes
 * nothing.
 *
 * Locking: with lock true, pop3_mailbox_open() takes an exclusive,
 * non-blocking flock on "<maildir>/courier-suite.pop3.lock" for the life
 * of the mailbox; a second session then gets POP3_MAILBOX_IN_USE.  With
 * lock false, sessions share the maildir: a message another session
 * expunged is reported as gone by RETR/TOP, and expunging it again is
 * harmless. */
#ifndef POP3_MAILBOX_H
#define POP3_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POP3_MAILBOX_LOCK_FILE "courier-suite.pop3.lock"
#define POP3_MAILBOX_STAMP_FILE "courier-suite.pop3.login"

enum pop3_mailbox_error {
	POP3_MAILBOX_OK = 0,
	POP3_MAILBOX_IN_USE,	/* another session holds the lock */
	POP3_MAILBOX_LOGIN_DELAY, /* logged in too soon after the last */
	POP3_MAILBOX_TEMP,	/* I/O or index trouble: try again later */
	POP3_MAILBOX_PERM,	/* no such maildir, not readable */
};

struct pop3_mailbox_settings {
	bool lock;		/* [IN-USE] for a second session */
	unsigned int login_delay; /* seconds between logins; 0 = none */
};

struct pop3_mailbox;

/* Opens the maildir dir and takes the snapshot.  Returns POP3_MAILBOX_OK
 * and *mb_r, or another value with *error_r (for the log). */
enum pop3_mailbox_error
pop3_mailbox_open(const char *dir, const struct pop3_mailbox_settings *set,
		  struct pop3_mailbox **mb_r, const char **error_r);
/* Frees the snapshot and releases the lock without changing anything. */
void pop3_mailbox_close(struct pop3_mailbox **mb);

/* Messages in the snapshot (deleted ones included) and, for STAT, the
 * count and octets of those not marked deleted. */
uint32_t pop3_mailbox_count(const struct pop3_mailbox *mb);
void pop3_mailbox_stat(const struct pop3_mailbox *mb, uint32_t *count_r,
		       uint64_t *octets_r);

/* Message n (1-based, <= count): whether it is marked deleted, its
 * octets, its UIDL (valid until the next pop3_mailbox_uidl() call on mb:
 * the usual "UID<n>-<uidvalidity>" ones are formatted when asked for, so
 * that a login does no work per message beyond reading the index). */
bool pop3_mailbox_is_deleted(const struct pop3_mailbox *mb, uint32_t n);
uint64_t pop3_mailbox_size(const struct pop3_mailbox *mb, uint32_t n);
const char *pop3_mailbox_uidl(struct pop3_mailbox *mb, uint32_t n);

/* DELE: marks message n (1 if marked now, 0 if it already was). */
int pop3_mailbox_delete(struct pop3_mailbox *mb, uint32_t n);
/* RSET: unmarks everything. */
void pop3_mailbox_reset(struct pop3_mailbox *mb);
/* RETR/TOP: records that message n was retrieved (QUIT moves retrieved
 * messages that stay from new/ to cur/, as Courier does at login). */
void pop3_mailbox_retrieved(struct pop3_mailbox *mb, uint32_t n);

/* Opens message n read-only: 1 and *fd_r, 0 if it no longer exists
 * (expunged by another program), -1 with *error_r. */
int pop3_mailbox_open_message(struct pop3_mailbox *mb, uint32_t n, int *fd_r,
			      const char **error_r);

/* POP3_EXPIRE=0: marks every retrieved message deleted. */
void pop3_mailbox_delete_retrieved(struct pop3_mailbox *mb);

/* UPDATE: expunges the marked messages and moves the retrieved ones left
 * from new/ to cur/.  Returns the number expunged, or -1 with *error_r
 * (nothing or part was done: the client is told). */
int pop3_mailbox_commit(struct pop3_mailbox *mb, const char **error_r);

#endif
