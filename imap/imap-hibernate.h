/* imap-hibernate.h: hibernation of idle logged-in sessions (daemon mode).
 *
 * A mail session that has been idle for IMAP_HIBERNATE_TIMEOUT seconds,
 * between commands or inside IDLE, with no output pending and no
 * COMPRESS, writes its state into a small blob and hands it to the master
 * (imapd.c), which keeps only the blob, the session's end of the byte
 * stream and, in IDLE, the session's inotify fd; then the process exits.
 * When the client sends something or the folder changes, the master forks
 * a new session for the same account, which restores the state from the
 * blob and goes on as if it had never stopped.
 *
 * What a blob holds: the account it was made for, the ENABLEd extensions,
 * the selected mailbox (name as the client gave it, read-only or not) and
 * the client's view of it kept small: UIDVALIDITY, the HIGHESTMODSEQ and
 * UIDNEXT the view was in step with and its message count (the view is
 * rebuilt as the index's UIDs below UIDNEXT plus those its expunge log
 * shows expunged after that MODSEQ), the session's \Recent UIDs and its
 * saved search result (SEARCHRES), the IDLE tag when idling, and the
 * bytes of input the client had sent and the session had not used yet.
 *
 * Format (version 1): the 8 bytes "IMAPHIB1", the blob's whole length
 * (4 bytes, little-endian: a cut blob is refused), then fields, each a type
 * byte, a 4-byte little-endian length and that many bytes.  Unknown
 * types are an error; every field at most once; strings without NUL. */
#ifndef IMAP_HIBERNATE_H
#define IMAP_HIBERNATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

struct imap_client;

/* The largest blob a session makes or a parser accepts. */
#define IMAP_HIBERNATE_MAX_BLOB (96 * 1024)
/* Longest user name, mailbox name or tag in a blob. */
#define IMAP_HIBERNATE_MAX_STRING 1024
/* Most \Recent UIDs and saved-result UIDs a blob holds (a session with
 * more stays awake). */
#define IMAP_HIBERNATE_MAX_UIDS 4096
/* Most bytes of unused client input a blob holds. */
#define IMAP_HIBERNATE_MAX_INPUT (64 * 1024)

/* A session's state as a blob holds it. */
struct imap_hibernate_state {
	char *user;		/* the account (never NULL once parsed) */
	bool utf8, condstore, qresync, imap4rev2;
	char *idle_tag;		/* the IDLE command's tag, NULL: not idling */
	/* the selected mailbox (NULL: none, the AUTH state) */
	char *mailbox;
	bool readonly;
	bool no_recent;
	uint32_t uidvalidity;
	uint32_t uidnext;	/* the view: index UIDs below it ... */
	uint64_t modseq;	/* ... as of this HIGHESTMODSEQ */
	uint32_t count;		/* its message count */
	uint32_t first_recent;
	uint32_t recent_sent;
	uint32_t *recent_uids;	/* ascending, below uidnext */
	size_t recent_count;
	uint32_t *saved_uids;	/* SEARCHRES "$", ascending */
	size_t saved_count;
	struct str input;	/* unused client input */
};

/* Parses a blob of len bytes into *st (free with
 * imap_hibernate_state_free(), also after an error).  Bounds: the whole
 * blob, each string and UID list as above, UID lists ascending without
 * 0, a mailbox's fields present only with a mailbox, the count at least
 * 1 below uidnext when not 0... Returns 0, or -1 with a static *error_r
 * for anything malformed, truncated or out of bounds. */
int imap_hibernate_parse(const void *blob, size_t len,
			 struct imap_hibernate_state *st,
			 const char **error_r);
/* Writes st as a blob into out (appended).  Returns 0, or -1 when it
 * would not fit the bounds above (nothing useful in out then). */
int imap_hibernate_write(const struct imap_hibernate_state *st,
			 struct str *out);
void imap_hibernate_state_free(struct imap_hibernate_state *st);

/* Whether client may hibernate now, and then its state in *st (free with
 * imap_hibernate_state_free()); the caller adds the unused input.
 * False (with *why_r, static, for the debug log) while a command is in
 * progress, output is pending, COMPRESS is on, the selected mailbox has
 * changes not reported yet (or expunges kept for later), a live search
 * context (CONTEXT=SEARCH), a sharable folder, or too many \Recent or
 * saved UIDs for a blob.  Syncs the selected folder's index (cheap). */
bool imap_hibernate_capture(struct imap_client *client,
			    struct imap_hibernate_state *st,
			    const char **why_r);

/* In a new logged-in session (created with imap_client_create_mail()'s
 * tag NULL and greeting off, see imap_client_create_restored()): takes
 * on st's state: refuses a blob made for another account than the
 * session's, reopens the mailbox with the view as it was (without
 * claiming \Recent again) and checks that it rebuilds exactly (same
 * UIDVALIDITY, count, the index not rebuilt since), re-enters IDLE, and
 * reports what changed meanwhile when idling (between commands that
 * waits for the next command, as it would have).  Returns 0, or -1 with
 * a static *error_r (the session should then say BYE). */
int imap_hibernate_restore(struct imap_client *client,
			   const struct imap_hibernate_state *st,
			   const char **error_r);

#endif
