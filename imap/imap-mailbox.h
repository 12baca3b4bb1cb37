/* imap-mailbox.h: folder names as clients see them, and the selected
 * mailbox: the session's view of a folder's index (its sequence numbers)
 * and the untagged updates that keep a client in step with changes made
 * by other sessions and by deliveries. */
#ifndef IMAP_MAILBOX_H
#define IMAP_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-seqset.h"
#include "mail-index.h"

struct imap_client;

struct imap_mailbox {
	struct mail_index *index;
	char *name;		/* as the client named it */
	char *dir;
	bool readonly;
	/* the session's ACL rights on it (imap-acl.h), at SELECT */
	unsigned int rights;
	uint32_t *uids;		/* sequence number n is uids[n - 1] */
	size_t count;
	/* \Recent (RFC 3501 2.3.2), as Courier counts it: the messages
	 * that arrived (found in new/, or added by APPEND/COPY/MOVE; not
	 * those a scan found in cur/) among the UIDs this session claimed
	 * (from first_recent on, mail_index_claim_recent()); ascending */
	uint32_t first_recent;
	uint32_t *recent_uids;
	size_t recent_count;
	uint64_t modseq;	/* changes up to here were reported */
	uint32_t uidvalidity;
	/* the index's UIDVALIDITY, UIDNEXT and message count when uids
	 * was last brought up to date: while the index shows the same
	 * three, its list is the same (UIDNEXT only grows, so no message
	 * came, and then none went) and a sync need not read it again */
	uint32_t idx_uidvalidity, idx_uidnext, idx_messages;
	/* the UIDs in uids that the index no longer has, kept until the
	 * session may send their EXPUNGE (ascending): the index's list is
	 * uids without them */
	uint32_t *kept;
	size_t kept_count;
	/* the index's HIGHESTMODSEQ then: when messages came or went, the
	 * list is brought up to date from the UIDs from idx_uidnext on and
	 * the expunge log after idx_modseq, not read again in full */
	uint64_t idx_modseq;
	size_t recent_sent;	/* last RECENT count sent */
	bool no_recent;		/* IMAP4rev2: no \Recent, no RECENT */
	/* parsed values not yet written to the index cache */
	struct mail_index_cache_entry *pending_cache;
	size_t pending_cache_count;
	/* SEARCHRES (RFC 5182): the UIDs (ascending) of the last
	 * SEARCH ... RETURN (SAVE), what "$" stands for; empty at SELECT */
	uint32_t *saved_uids;
	size_t saved_count;
	/* CONTEXT=SEARCH/SORT (RFC 5267): live results (cmd-search.c) */
	struct imap_search_context **contexts;
	size_t context_count;
	/* the HIGHESTMODSEQ and view size they were last brought to */
	uint64_t contexts_modseq;
	size_t contexts_count;
	/* a sharable folder ("shared.NICK.FOLDER", imap-sharable.h): dir
	 * is the account's copy, this the folder itself (else NULL);
	 * writable: the account's expunges reach it; the copy's message
	 * count at the last sync (a drop means expunges to carry) */
	char *sharable_orig;
	bool sharable_writable;
	uint32_t sharable_messages;
	/* the folder's new/ and cur/ mtimes (sec, nsec) at the last
	 * refresh: a change brings new mail in at the next sync */
	int64_t sharable_stamp[4];
	/* work that changes nothing the client is told, left for an idle
	 * moment (imap_mailbox_idle_work()): the arrivals this session
	 * claimed that are still to go from new/ to cur/ (ascending), and
	 * courierimapuiddb to bring up to date */
	uint32_t *move_uids;
	size_t move_count;
	bool uiddb_due;
};

/* What the index caches per message (imap_message_cached(), which
 * queues the values in mbox->pending_cache until
 * imap_mailbox_cache_flush()). */
enum imap_cache_field {
	IMAP_CACHE_ENVELOPE,
	IMAP_CACHE_BODY,
	IMAP_CACHE_BODYSTRUCTURE,
	IMAP_CACHE_HEADERS,	/* imap-header-cache.h */
	IMAP_CACHE_FIELD_COUNT
};

/* The folder name (UTF-8, '.'-separated, "" for INBOX) for a client's
 * mailbox name (modified UTF-7 unless UTF8=ACCEPT, with the namespace
 * prefix), caller frees; NULL with *error_r for names outside the
 * namespace or invalid (a folder whose first level is INBOX, "#shared"
 * names that are not the shared namespace's). */
char *imap_folder_from_client(struct imap_client *client, const char *name,
			      const char **error_r);
/* The client's name for folder (UTF-8, "" for INBOX), caller frees. */
char *imap_folder_to_client(struct imap_client *client, const char *folder);
/* The directory of folder, caller frees; NULL for a name in #shared that
 * names no folder. */
char *imap_folder_dir(struct imap_client *client, const char *folder);

/* Where a folder lives.  Folders are UTF-8 and '.'-separated, "" being
 * INBOX; those in the "#shared." namespace (imap-shared.h) are another
 * account's: "#shared.ACCOUNT.FOLDER", "#shared.ACCOUNT.INBOX". */
struct imap_folder_loc {
	char *root;	/* the maildir that holds it */
	char *sub;	/* the folder within root ("" for its INBOX) */
	char *owner;	/* the account it belongs to (ACL "owner") */
	bool shared;	/* another account's folder */
};
/* True when folder is in the #shared namespace. */
bool imap_folder_is_shared(const char *folder);
/* True when folder is in the "shared." namespace of sharable maildirs
 * (imap-sharable.h): "/shared", "/shared.NICK", "/shared.NICK.FOLDER".
 * imap_folder_locate() gives such a folder's sharable maildir (root),
 * its folder (sub) and NICK (owner); imap_folder_dir() the sharable
 * folder itself (where APPEND and COPY put messages);
 * imap_folder_rights() l r s w t e, and i when the folder is writable
 * for the account (maildirmake -s write). */
bool imap_folder_is_sharable(const char *folder);
/* True when the session has the "shared." namespace: shared folders
 * are on for it (as for #shared) and its shared-maildirs file or the
 * instance's etc/maildirshared lists a sharable maildir.  Reads those
 * files (small; called for names starting with "shared" only). */
bool imap_sharable_enabled(struct imap_client *client);
/* The account's copy of sharable folder (MAILDIR/shared-folders/NICK/
 * FOLDER), caller frees; NULL when folder is not one. */
char *imap_sharable_copy_dir(struct imap_client *client, const char *folder);
/* The directory whose index holds the folder's messages for this
 * session, caller frees: imap_folder_dir(), except for a sharable
 * folder: the account's copy, first brought in step with the folder
 * (imap_sharable_refresh()); then *orig_r (if not NULL) is the folder
 * itself (caller frees) and *writable_r whether the account's expunges
 * reach it.  NULL for no such folder (or a copy that cannot be made,
 * logged). */
char *imap_folder_index_dir(struct imap_client *client, const char *folder,
			    char **orig_r, bool *writable_r);
/* Returns 1 and *loc_r (free with imap_folder_loc_free()), or 0 for a
 * #shared name that is no folder: "#shared" itself, an account alone,
 * an account not in the shared index (or the session's own), shared
 * folders off for the session. */
int imap_folder_locate(struct imap_client *client, const char *folder,
		       struct imap_folder_loc *loc_r);
void imap_folder_loc_free(struct imap_folder_loc *loc);
/* The folder's ACL (imap_acl_load() in the right maildir); false (and
 * an empty ACL) when imap_folder_locate() finds no folder. */
struct imap_acl;
bool imap_folder_acl_load(struct imap_client *client, const char *folder,
			  struct imap_acl *acl_r);
/* The shared index in force for the session, re-read when the file
 * changes; NULL when the session has no shared folders. */
struct imap_shared_index;
const struct imap_shared_index *
imap_client_shared_index(struct imap_client *client);

/* The session's ACL rights (enum imap_acl_right) on folder (UTF-8, ""
 * for INBOX), from the folder's courierimapacl (or inherited); for a
 * shared folder the owner is the account it belongs to.  0 for a name
 * that is no folder. */
unsigned int imap_folder_rights(struct imap_client *client,
				const char *folder);
/* The ACL rights needed to set the flags of change (\Seen: s, \Deleted:
 * t, any other flag or keyword: w). */
unsigned int imap_flags_rights(uint32_t flags, size_t keyword_count);

/* Opens the named folder's index and builds the view; sends nothing.
 * Needs the read right (r); without write rights (s, w, t, e) the view
 * is read-only.  Returns 0, or -1 with *error_r, which starts with its
 * response code ([NONEXISTENT], [NOPERM], [SERVERBUG]). */
int imap_mailbox_open(struct imap_client *client, const char *name,
		      bool readonly, struct imap_mailbox **mbox_r,
		      const char **error_r);
/* Does the idle work (imap_mailbox_idle_work()) left, then closes. */
void imap_mailbox_close(struct imap_mailbox **mbox);

/* Work SELECT and the syncs leave for when the session has answered and
 * nothing waits (moving the claimed arrivals from new/ to cur/ as
 * Courier does, writing courierimapuiddb, the flags table's snapshot in
 * the index): true if some is left (false for NULL). */
bool imap_mailbox_idle_work_due(const struct imap_mailbox *mbox);
/* Does one bounded step of it; true if more is left. */
bool imap_mailbox_idle_work(struct imap_mailbox *mbox);
/* Does all of it (before LOGOUT's answer, hibernation, closing). */
void imap_mailbox_idle_work_finish(struct imap_mailbox *mbox);

/* True when uid is \Recent in this session (see recent_uids; false
 * for every message after ENABLE IMAP4rev2 is not decided here). */
bool imap_mailbox_is_recent(const struct imap_mailbox *mbox, uint32_t uid);
/* Messages of a folder's index that an EXAMINE or a STATUS would count
 * as \Recent now: arrived, UID from the index's first unclaimed one on. */
uint32_t imap_mailbox_count_unclaimed_recent(struct mail_index *index);

/* True when the selected folder's maildir is no longer there (another
 * session or program deleted or renamed it): the view cannot be kept, the
 * session should say BYE (RFC 9051 7.1.5) rather than fail each command
 * with a file system error.  One stat() of the folder. */
bool imap_mailbox_vanished(const struct imap_mailbox *mbox);
/* Syncs the index with the maildir and sends what changed since the last
 * call: "* n EXPUNGE" (only when expunge_ok; else the view keeps the
 * expunged messages), "* n EXISTS", "* n RECENT", "* n FETCH (FLAGS ..)".
 * Returns 0 or -1. */
int imap_mailbox_sync(struct imap_client *client, bool expunge_ok);
/* The sequence number of uid in the view, 0 when not in it. */
uint32_t imap_mailbox_seq(const struct imap_mailbox *mbox, uint32_t uid);
/* Parses the sequence-set argument of FETCH, STORE, COPY, MOVE or UID
 * EXPUNGE into *set_r (free with imap_seqset_free()): a set as
 * imap_seqset_parse() takes it, or "$" (RFC 5182), the saved search
 * result as UIDs (uid_mode) or as the sequence numbers of those still in
 * the view.  Returns 0, or -1 with a static *error_r. */
int imap_mailbox_parse_set(const struct imap_mailbox *mbox, const char *text,
			   bool uid_mode, struct imap_seqset *set_r,
			   const char **error_r);
/* Replaces the saved search result with uids[0..count) (ascending; the
 * mailbox takes the array, NULL for none). */
void imap_mailbox_save_result(struct imap_mailbox *mbox, uint32_t *uids,
			      size_t count);
/* The UIDs of the view matching set (sequence numbers, or UIDs when
 * uid_mode), ascending; *uids_r caller frees.  Takes time in the number
 * of messages plus ranges (times log ranges), whatever the set. */
void imap_mailbox_resolve(const struct imap_mailbox *mbox,
			  const struct imap_seqset *set, bool uid_mode,
			  uint32_t **uids_r, size_t *count_r);
/* ---- message access, for FETCH and for other commands (SEARCH, SORT,
 * THREAD): every function takes a UID of the selected mailbox. ---- */

/* The path of the message's file, caller frees; NULL if the message is
 * no longer in the index.  The file may be renamed by another session at
 * any time: prefer imap_mailbox_open_message(). */
char *imap_mailbox_message_path(struct imap_mailbox *mbox, uint32_t uid);
/* Opens the message read-only (found again if another program renamed
 * it).  Returns 1 and *fd_r (caller closes), 0 if the message is gone,
 * -1 with *error_r. */
int imap_mailbox_open_message(struct imap_mailbox *mbox, uint32_t uid,
			      int *fd_r, const char **error_r);
/* Appends the whole message to out as IMAP serves it: every LF not
 * preceded by CR becomes CRLF (so its length is RFC822.SIZE).  out's own
 * limit, if any, is honoured (-1, errno EFBIG).  Returns 1, 0 if the
 * message is gone, -1 with *error_r. */
int imap_mailbox_read_message(struct imap_mailbox *mbox, uint32_t uid,
			      struct str *out, const char **error_r);
/* Calls cb for each header field SEARCH, SORT and THREAD read (the
 * fields of imap-header-cache.h, in header order), from the index cache
 * (filled by any FETCH that parsed the message, or by an earlier call),
 * else from the message's header, read once and queued for the cache.
 * Returns 1, 0 if the message is gone, 2 when its header cannot be
 * cached (too big, or a field cut short: the caller reads the file as
 * before; cb was not called), -1 with *error_r. */
int imap_mailbox_header_fields(struct imap_mailbox *mbox, uint32_t uid,
			       void (*cb)(const char *name, const char *value,
					  size_t value_len, void *context),
			       void *context, const char **error_r);
/* mail_index_store() for the selected mailbox; when the change is the
 * only one since the last report, the view's modseq follows it, so the
 * next sync does not repeat the FETCH FLAGS the command sends itself.
 * Returns what mail_index_store() returns. */
int imap_mailbox_store(struct imap_mailbox *mbox, const uint32_t *uids,
		       size_t count, const struct mail_index_change *change,
		       struct mail_index_store_result *results,
		       const char **error_r);
/* Writes the queued cache values to the index (also done on close). */
void imap_mailbox_cache_flush(struct imap_mailbox *mbox);

/* Appends "(\Seen \Answered ... keyword ...)" for a record. */
void imap_mailbox_flags(const struct imap_mailbox *mbox,
			const struct mail_index_record *rec,
			struct str *out);

#endif
