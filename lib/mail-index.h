/* mail-index.h: the per-folder mail index shared by IMAP, POP3 and webmail.
 *
 * One LMDB file per maildir folder, "<folder>/courier-suite.index" (plus
 * its "-lock" file), mode 0600, holds what the servers need without
 * reading the folder again:
 *
 *   folder:   UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ (RFC 7162), counters
 *             (messages, \Seen, \Deleted, bytes) and the keyword names
 *             (stored once, messages refer to them by id);
 *   message:  UID, maildir base name and current file name, MODSEQ,
 *             system flags, keyword ids, file size (from the name's
 *             ",S=", else from stat()), RFC822.SIZE (CRLF size, from
 *             ",W=" or computed once on demand), internal date (the
 *             file's mtime, as Courier-IMAP and Dovecot answer: a scan
 *             that took the size from ",S=" does not stat the file, and
 *             the mtime is read on first use and stored), whether it was
 *             first seen in new/, and the Courier POP3 UIDL when one was
 *             imported;
 *   cache:    opaque blobs keyed by (UID, field name): the IMAP layer
 *             stores its envelope/bodystructure or serialised MIME tree;
 *   expunges: a log of (MODSEQ, UID) for QRESYNC's VANISHED;
 *   modseqs:  the messages in MODSEQ order, so that the changes since a
 *             MODSEQ cost a lookup each (mail_index_iterate_changed()).
 *
 * The maildir is the truth and the index never lies about it:
 * mail_index_sync() finds messages added behind its back (they get the
 * next UIDs), files that disappeared (expunged, logged with a MODSEQ) and
 * flags changed by renames (picked up, MODSEQ bumped).  A sync is cheap
 * when nothing changed: the mtimes (with nanoseconds) of new/, cur/ and
 * courierimapkeywords/ are compared with those recorded at the last scan.
 * A stamp taken within the racy window of the directory's mtime (50 ms on
 * a file system with sub-second mtimes, MAIL_INDEX_RACY_SECS where they
 * are whole seconds) is not trusted, as a change in the same clock tick
 * could hide: new/ is scanned again at the next sync, cur/ and the
 * keywords within a second (50 us a message in a larger folder: 5 s at
 * 100,000, so that a steady stream of our own changes does not keep the
 * writer lock busy with rescans).  A change made through this API
 * records the directory's new mtime in its own transaction when nothing
 * else changed the directory meanwhile, so our own renames cost no other
 * session a scan (lib/mail-index-sync.c).  Between such a rename and its
 * commit, a sync that sees the directory changed does not queue for the
 * writer lock: the writer marks "courier-suite.index-busy" first, and the
 * sync answers from the index until the writers that commit account for
 * what it saw (at most a second; lib/mail-index-private.h).  The recheck
 * of an untrusted stamp is done by the next writer, which holds the lock
 * anyway.
 *
 * Durability: adding and expunging messages commit in full (LMDB syncs
 * the data, then its meta page); flag, keyword and \Recent changes and
 * lazily read dates and sizes skip the meta page's sync, so a power
 * failure may undo the last of them in the index (never corrupting it:
 * the next scan takes the flags from the renamed files again).
 *
 * Changes by our own programs go through this API, which renames or
 * unlinks the maildir file and records the change in one LMDB write
 * transaction.  Keywords are written through to Courier's
 * courierimapkeywords/ as well (lib/maildir-keywords), so that a rebuilt
 * index and Courier itself see them.  Many processes may use one folder's
 * index at once: LMDB serialises the writers, readers never block, and a
 * change committed by one is seen by the others at their next call.
 *
 * The index is a cache that can always be rebuilt: a missing, corrupt or
 * incompatible index file is deleted and rebuilt from the maildir (with a
 * warning in the log).  On building, Courier's courierimapuiddb gives the
 * UIDVALIDITY and the UIDs of the messages it lists, courierimapkeywords
 * their keywords and courierpop3dsizelist their POP3 UIDLs, so a Courier
 * user's clients do not resync nor download again.
 *
 * Threads: a struct mail_index is used by one thread at a time.  Within a
 * process, indexes opened on the same folder share one LMDB environment
 * (LMDB forbids opening a file twice in one process).  After fork(), the
 * child must not use indexes opened by the parent: it opens its own.
 *
 * Returned records and strings point into memory owned by the index and
 * stay valid until the next call on that index (callbacks: until the
 * callback returns). */
#ifndef MAIL_INDEX_H
#define MAIL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "str.h"

/* The index file's name inside the folder (its lock file adds "-lock"). */
#define MAIL_INDEX_FILE_NAME "courier-suite.index"
/* A directory stamp this close (seconds) to its mtime is not trusted. */
#define MAIL_INDEX_RACY_SECS 2
/* Longest POP3 UIDL mail_index_record_uidl() writes, with its NUL. */
#define MAIL_INDEX_UIDL_MAX 72
/* Longest cache field name. */
#define MAIL_INDEX_CACHE_FIELD_MAX 64

/* System flags as stored (IMAP: \Seen \Answered \Flagged \Deleted \Draft;
 * maildir letters S R F T D).  \Recent is the IMAP layer's: see
 * mail_index_claim_recent() and mail_index_record.seen_in_new. */
enum mail_index_flags {
	MAIL_INDEX_SEEN = 0x01,
	MAIL_INDEX_ANSWERED = 0x02,
	MAIL_INDEX_FLAGGED = 0x04,
	MAIL_INDEX_DELETED = 0x08,
	MAIL_INDEX_DRAFT = 0x10,
};
#define MAIL_INDEX_FLAGS_MASK 0x1f

struct mail_index_settings {
	/* Initial LMDB map size in bytes (0 = 1 GiB; the file only grows as
	 * it is used).  The map is doubled when it fills. */
	uint64_t map_size;
	/* Distinct keyword names per folder (0 = 4096). */
	size_t max_keywords;
	/* Keywords on one message (0 = 256). */
	size_t max_keywords_per_message;
	/* Largest cache blob (0 = 16 MB). */
	size_t max_cache_blob;
	/* Limits for reading Courier's files (0 = defaults: lines of 4096
	 * bytes, files of 256 MB, 10^7 lines). */
	size_t max_courier_line;
	uint64_t max_courier_file;
	size_t max_courier_lines;
};

struct mail_index;

/* Opens (creating or rebuilding as needed) the index of the maildir
 * folder dir (a directory with new/ and cur/), then syncs it.  settings
 * NULL = defaults.  Returns 0 and *index_r, or -1 with *error_r (valid
 * until the next call into this module). */
int mail_index_open(const char *dir, const struct mail_index_settings *set,
		    struct mail_index **index_r, const char **error_r);
/* Closes the index; sets *index to NULL.  NULL is fine. */
void mail_index_close(struct mail_index **index);
/* The folder directory the index was opened on. */
const char *mail_index_dir(const struct mail_index *index);

/* ---- folder state ---- */

struct mail_index_status {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t seen;		/* messages with \Seen */
	uint32_t deleted;	/* messages with \Deleted */
	uint32_t first_recent_uid; /* see mail_index_claim_recent() */
	uint64_t total_size;	/* sum of file sizes (STATUS=SIZE, quota) */
	/* HIGHESTMODSEQ when the index was built: MODSEQs and the expunge
	 * log tell every change after it, nothing of before (a client that
	 * last synced below it must resync in full).  0 if unknown. */
	uint64_t built_modseq;
};

/* The folder state as last synced (no sync is done).  Returns 0 or -1. */
int mail_index_get_status(struct mail_index *index,
			  struct mail_index_status *status_r,
			  const char **error_r);

/* Flags for mail_index_sync(). */
enum mail_index_sync_flags {
	/* Scan the maildir even if the directory stamps say nothing changed. */
	MAIL_INDEX_SYNC_FORCE = 0x01,
};

/* Brings the index up to date with the maildir (see the top of this
 * file).  Returns 1 if the index changed (by this call or by another
 * process since this index last looked), 0 if not, -1 with *error_r. */
int mail_index_sync(struct mail_index *index, unsigned flags,
		    const char **error_r);

/* For IDLE and NOOP: syncs (cheaply when nothing changed), then returns 1
 * if HIGHESTMODSEQ is above modseq (something was added, changed or
 * expunged after it), 0 if not, -1 on error.  New messages, flag and
 * keyword changes and expunges all raise HIGHESTMODSEQ. */
int mail_index_changed_since(struct mail_index *index, uint64_t modseq,
			     const char **error_r);

/* Claims the \Recent messages for one IMAP session: returns in *first_r
 * the first UID that no session has claimed yet and marks every UID below
 * UIDNEXT as claimed, atomically across processes.  The session's recent
 * messages are then the UIDs >= *first_r (a read-only EXAMINE should use
 * the status' first_recent_uid instead and claim nothing).  Returns 0 or
 * -1. */
int mail_index_claim_recent(struct mail_index *index, uint32_t *first_r,
			    const char **error_r);
/* mail_index_open() then mail_index_claim_recent() (*first_r as it gives
 * it), for a session that claims: when the open builds the index (the
 * first SELECT of a folder), the build's own commit makes the claim, one
 * write transaction instead of two. */
int mail_index_open_claim(const char *dir,
			  const struct mail_index_settings *set,
			  struct mail_index **index_r, uint32_t *first_r,
			  const char **error_r);

/* ---- messages ---- */

struct mail_index_record {
	uint32_t uid;
	uint8_t flags;		/* enum mail_index_flags */
	bool in_new;		/* the file is in new/ (else cur/) */
	bool seen_in_new;	/* it arrived: found in new/ by a scan, or added
				 * by mail_index_add() (APPEND, COPY, MOVE) */
	bool has_vsize;		/* vsize is known */
	uint64_t modseq;
	uint64_t size;		/* bytes on disk */
	uint64_t vsize;		/* RFC822.SIZE (CRLF line ends) */
	/* Seconds since the epoch: the file's mtime.  Always set by the
	 * plain lookups and iterations; with MAIL_INDEX_READ_NO_DATE it
	 * is set only when has_internal_date is true. */
	int64_t internal_date;
	bool has_internal_date;
	const char *name;	/* current file name in new/ or cur/ */
	size_t base_len;	/* its base name is name[0..base_len) */
	const uint32_t *keywords; /* keyword ids, see mail_index_keyword_*() */
	size_t keyword_count;
	const char *pop3_uidl;	/* imported Courier UIDL, or NULL */
};

/* Looks a message up by UID or by base name (a full file name is fine
 * too: its info part is ignored).  Returns 1 and *rec_r, 0 if there is no
 * such message, -1 with *error_r.  An internal date not known yet is read
 * from the file (its mtime) and stored in the index by the next change
 * through this handle, by a lookup, sync or iteration once 256 are
 * waiting, or at the close; if
 * the file vanished meanwhile, the date of its name is given and the next
 * sync expunges the message. */
int mail_index_lookup_uid(struct mail_index *index, uint32_t uid,
			  struct mail_index_record *rec_r,
			  const char **error_r);
int mail_index_lookup_base(struct mail_index *index, const char *base,
			   struct mail_index_record *rec_r,
			   const char **error_r);

/* Flags for the _flags variants of the lookups and iterations. */
enum mail_index_read_flags {
	/* The caller does not need internal_date: a date not read from
	 * the file yet (after a scan that found the size in the name) is
	 * left unknown (has_internal_date false) instead of costing a
	 * stat() (FETCH FLAGS of a whole folder after a cold SELECT). */
	MAIL_INDEX_READ_NO_DATE = 0x01,
	/* The caller reads only uid, flags, modseq and the keywords (a
	 * SEARCH on flags, FETCH FLAGS): no date is read from a file (as
	 * MAIL_INDEX_READ_NO_DATE), and mail_index_iterate_flags() and
	 * mail_index_lookup_uids_flags() give records read in place
	 * without their name and POP3 UIDL (name "", base_len 0,
	 * pop3_uidl NULL; in_new, seen_in_new, sizes and a known date
	 * are set as usual). */
	MAIL_INDEX_READ_FLAGS_ONLY = 0x02,
};

/* Called for each record; return 0 to go on, anything else to stop (that
 * value is then returned by the iteration).  The callback must not call
 * functions that change the index (store, expunge, add, sync, cache_put):
 * collect UIDs and act after the iteration. */
typedef int mail_index_iter_cb(const struct mail_index_record *rec,
			       void *context);
/* Calls cb for the messages with first <= UID <= last, in UID order, from
 * one consistent snapshot.  Returns 0 when done, the callback's non-zero
 * value if it stopped, -1 with *error_r. */
int mail_index_iterate(struct mail_index *index, uint32_t first,
		       uint32_t last, mail_index_iter_cb *cb, void *context,
		       const char **error_r);
/* mail_index_lookup_uid() and mail_index_iterate() with read_flags
 * (enum mail_index_read_flags). */
int mail_index_lookup_uid_flags(struct mail_index *index, uint32_t uid,
				unsigned read_flags,
				struct mail_index_record *rec_r,
				const char **error_r);
int mail_index_iterate_flags(struct mail_index *index, uint32_t first,
			     uint32_t last, unsigned read_flags,
			     mail_index_iter_cb *cb, void *context,
			     const char **error_r);
/* Calls cb for each of uids[0..count) that the index has, in the order
 * given, from one consistent snapshot (FETCH of many messages: one read
 * transaction instead of one a message); UIDs it lacks are skipped.
 * Returns 0 when done, the callback's non-zero value if it stopped, -1
 * with *error_r. */
int mail_index_lookup_uids_flags(struct mail_index *index,
				 const uint32_t *uids, size_t count,
				 unsigned read_flags, mail_index_iter_cb *cb,
				 void *context, const char **error_r);
/* The system flags and keywords of every message of the folder, from
 * one snapshot: what a SEARCH on flags reads, without a pass over the
 * records.  The table is kept by the calling thread for the last index
 * it was asked of and brought up to date from the changes since (one
 * lookup a changed message, through the "modseq" database and the
 * expunge log), rebuilt by a pass when the index was rebuilt, another
 * index is asked, or too much changed.  The arrays belong to the
 * thread's table and stay valid until the thread's next call of this
 * function. */
struct mail_index_flags_table {
	const uint32_t *uids;	/* ascending */
	const uint8_t *flags;	/* enum mail_index_flags of uids[i] */
	const uint64_t *modseqs;	/* the MODSEQ of uids[i] */
	/* bit k: the message has keyword id k; NULL when no message has
	 * a keyword */
	const uint64_t *keywords;
	size_t count;
	/* false when a keyword id of 64 or more is set on a message:
	 * keywords then does not tell every keyword (read the records) */
	bool keywords_complete;
	uint64_t highestmodseq;	/* of the snapshot */
};
/* Fills *table_r.  Returns 0, or -1 with *error_r. */
int mail_index_get_flags_table(struct mail_index *index,
			       struct mail_index_flags_table *table_r,
			       const char **error_r);
/* Frees the calling thread's table if it is index's (before closing an
 * index whose table is no longer wanted). */
void mail_index_drop_flags_table(struct mail_index *index);
/* True when the calling thread's table is index's: a call of
 * mail_index_get_flags_table() then costs the changes since its last
 * call (bounded), not a pass over the records. */
bool mail_index_flags_table_is_kept(const struct mail_index *index);
/* A large folder's flags table is also kept in its index, as a snapshot
 * the next session's first mail_index_get_flags_table() starts from (the
 * changes since applied) instead of a pass over the records.  Wanted
 * when the index was opened with none or one far behind, or the last
 * table had to be built by a pass; writing it (a few milliseconds for
 * 100,000 messages) is left to a moment the caller is idle. */
bool mail_index_flags_snapshot_wanted(const struct mail_index *index);
/* Writes the snapshot of the table (brought up to date first).  Leaves
 * the calling thread's table as it found it (kept or not).  Returns 0, or
 * -1 with *error_r (the snapshot is only a cache: nothing is lost). */
int mail_index_flags_snapshot_save(struct mail_index *index,
				   const char **error_r);
/* Adds read_flags to every lookup and iteration made by the calling
 * thread until the next call (0 ends it), for a scope in which no caller
 * needs internal dates but the calls are made by code that does not pass
 * flags (IMAP's SELECT opening the mailbox).  Returns the previous
 * value, to be restored. */
unsigned mail_index_set_thread_read_flags(unsigned read_flags);
/* As mail_index_iterate() over all messages, only those with MODSEQ above
 * modseq (CONDSTORE CHANGEDSINCE, QRESYNC). */
int mail_index_iterate_changed(struct mail_index *index, uint64_t modseq,
			       mail_index_iter_cb *cb, void *context,
			       const char **error_r);
/* mail_index_iterate_changed() with read_flags (enum
 * mail_index_read_flags). */
int mail_index_iterate_changed_flags(struct mail_index *index,
				     uint64_t modseq, unsigned read_flags,
				     mail_index_iter_cb *cb, void *context,
				     const char **error_r);
/* All UIDs in ascending order (the IMAP session's sequence map): *uids_r
 * (caller frees, NULL when empty) and *count_r.  Returns 0 or -1. */
int mail_index_uids(struct mail_index *index, uint32_t **uids_r,
		    size_t *count_r, const char **error_r);

/* The UIDs expunged with MODSEQ above modseq, ascending, without
 * duplicates (QRESYNC VANISHED (EARLIER)).  *uids_r caller frees.
 * Returns 0 or -1. */
int mail_index_expunged_since(struct mail_index *index, uint64_t modseq,
			      uint32_t **uids_r, size_t *count_r,
			      const char **error_r);

/* The path of the message's file ("<dir>/cur/<name>"), caller frees. */
char *mail_index_record_path(const struct mail_index *index,
			     const struct mail_index_record *rec);
/* Opens the message with UID uid read-only.  If its file was renamed by
 * another program, it is found again and the index updated.  Returns 1
 * and *fd_r, 0 if the message no longer exists, -1 with *error_r. */
int mail_index_open_message(struct mail_index *index, uint32_t uid,
			    int *fd_r, const char **error_r);
/* RFC822.SIZE of the message: from the index, else computed from the
 * file (each LF not preceded by CR counts two bytes) and stored as the
 * dates of mail_index_lookup_uid() are (no write transaction of its
 * own).  Returns 1 and *vsize_r, 0 if
 * the message is gone, -1 on error. */
int mail_index_get_vsize(struct mail_index *index, uint32_t uid,
			 uint64_t *vsize_r, const char **error_r);
/* mail_index_get_vsize() for many messages in one transaction (a POP3
 * login or FETCH 1:* RFC822.SIZE on a folder whose sizes are not known
 * yet): vsizes_r[i] gets the size of uids[i], or UINT64_MAX if that
 * message is gone.  Returns the number of sizes found, or -1. */
int mail_index_get_vsizes(struct mail_index *index, const uint32_t *uids,
			  size_t count, uint64_t *vsizes_r,
			  const char **error_r);
/* The POP3 UIDL of a record into buf (MAIL_INDEX_UIDL_MAX bytes): the
 * Courier UIDL imported from courierpop3dsizelist if there was one, else
 * "UID<uid>-<uidvalidity>" (Courier's format).  Returns buf. */
const char *mail_index_record_uidl(const struct mail_index *index,
				   const struct mail_index_record *rec,
				   char *buf);

/* ---- keywords ---- */

/* Number of keyword names of the folder; ids are 0..count-1. */
size_t mail_index_keyword_count(struct mail_index *index);
/* The name of keyword id, or NULL if there is none. */
const char *mail_index_keyword_name(struct mail_index *index, uint32_t id);
/* Finds the id of keyword name (case-insensitively).  Returns 1 and
 * *id_r, 0 if the folder has no such keyword, -1 on error. */
int mail_index_keyword_lookup(struct mail_index *index, const char *name,
			      uint32_t *id_r, const char **error_r);

/* ---- changes ---- */

enum mail_index_modify {
	MAIL_INDEX_MODIFY_REPLACE,	/* STORE FLAGS */
	MAIL_INDEX_MODIFY_ADD,		/* STORE +FLAGS */
	MAIL_INDEX_MODIFY_REMOVE,	/* STORE -FLAGS */
};

struct mail_index_change {
	enum mail_index_modify mode;
	uint8_t flags;			/* enum mail_index_flags */
	const char *const *keywords;	/* keyword names (IMAP atoms) */
	size_t keyword_count;
	/* CONDSTORE UNCHANGEDSINCE: only messages whose MODSEQ is <= this
	 * are changed (0 = no condition). */
	uint64_t unchangedsince;
};

enum mail_index_store_status {
	MAIL_INDEX_STORE_UNCHANGED = 0,	/* already so (MODSEQ unchanged) */
	MAIL_INDEX_STORE_CHANGED = 1,	/* changed, MODSEQ bumped */
	MAIL_INDEX_STORE_GONE = 2,	/* no such message (expunged) */
	MAIL_INDEX_STORE_MODIFIED = 3,	/* failed UNCHANGEDSINCE */
};

struct mail_index_store_result {
	uint32_t uid;
	enum mail_index_store_status status;
	uint8_t flags;		/* the flags now (when not GONE) */
	uint64_t modseq;	/* the MODSEQ now (when not GONE) */
};

/* STORE: applies change to the messages uids[0..count) (the files are
 * renamed, keywords written to courierimapkeywords/, all in one index
 * transaction; every changed message gets the same new MODSEQ).  results
 * (count entries, may be NULL) gets each message's outcome.  Invalid
 * keyword names or too many keywords fail the whole call (EINVAL).
 * Returns the number of messages changed, or -1 with *error_r. */
int mail_index_store(struct mail_index *index, const uint32_t *uids,
		     size_t count, const struct mail_index_change *change,
		     struct mail_index_store_result *results,
		     const char **error_r);

/* EXPUNGE: deletes the files of uids[0..count), drops their records and
 * cache entries and logs them with one new MODSEQ (returned in *modseq_r
 * if not NULL).  UIDs not in the index are ignored.  Returns the number
 * of messages expunged, or -1 with *error_r. */
int mail_index_expunge(struct mail_index *index, const uint32_t *uids,
		       size_t count, uint64_t *modseq_r, const char **error_r);

/* Moves the files of uids[0..count) from new/ to cur/ (the POP3 and IMAP
 * layers decide when).  No MODSEQ change.  Returns the number moved or
 * -1. */
int mail_index_move_to_cur(struct mail_index *index, const uint32_t *uids,
			   size_t count, const char **error_r);

/* APPEND/COPY with UIDPLUS: the message file name (already delivered
 * into the folder's new/ or cur/, e.g. by maildir_delivery_commit(); its
 * mtime is the internal date) gets the next UID, with the keywords given
 * (written to courierimapkeywords/ too).  If the index already knows the
 * message (a concurrent sync found it), its UID is returned.  Returns 0
 * and *uid_r, -1 with *error_r (ENOENT if the file is not there). */
int mail_index_add(struct mail_index *index, const char *name,
		   const char *const *keywords, size_t keyword_count,
		   uint32_t *uid_r, const char **error_r);

struct maildir_delivery;
/* APPEND/COPY as mail_index_add(), for a delivery into this folder
 * (maildir_delivery_begin() on mail_index_dir(), written, not yet
 * committed): commits it (maildir_delivery_commit() with flags: NULL
 * for new/, else cur/ with ":2,<flags>"), sets its mtime to
 * internal_date (seconds; -1 = leave the delivery time) and gives it the
 * next UID, all inside one index write transaction, so that no other
 * session sees the file before its record nor rescans the folder for it
 * (mail_index_add() after a commit costs every other session a scan of
 * the directory).  *delivery is consumed (committed or aborted) and set
 * to NULL.  Returns 0, *uid_r and *name_r (the file name, caller frees;
 * name_r may be NULL), or -1 with *error_r (if the file was delivered
 * but the index write failed, the next sync indexes it). */
int mail_index_add_delivery(struct mail_index *index,
			    struct maildir_delivery **delivery,
			    const char *flags, int64_t internal_date,
			    const char *const *keywords, size_t keyword_count,
			    uint32_t *uid_r, char **name_r,
			    const char **error_r);

/* ---- cache ---- */

/* Stores len bytes under (uid, field) (field: 1 to
 * MAIL_INDEX_CACHE_FIELD_MAX bytes, e.g. "envelope"), replacing any
 * previous value.  Returns 1, 0 if the message is no longer in the
 * index, -1 with *error_r (EFBIG above max_cache_blob). */
int mail_index_cache_put(struct mail_index *index, uint32_t uid,
			 const char *field, const void *data, size_t len,
			 const char **error_r);
/* One value for mail_index_cache_put_batch(). */
struct mail_index_cache_entry {
	uint32_t uid;
	const char *field;
	const void *data;
	size_t len;
};
/* As mail_index_cache_put() for many values in one transaction (one
 * fsync: the IMAP layer caches ENVELOPE, BODY and BODYSTRUCTURE of many
 * messages at once).  Entries of messages no longer in the index are
 * skipped, and so are values above max_cache_blob when there are
 * several (a lone one fails with EFBIG as mail_index_cache_put()).
 * Returns the number of values stored, or -1 with *error_r (nothing is
 * stored then). */
int mail_index_cache_put_batch(struct mail_index *index,
			       const struct mail_index_cache_entry *entries,
			       size_t count, const char **error_r);
/* Appends the value of (uid, field) to out.  Returns 1, 0 if absent, -1
 * with *error_r (also when out's limit is exceeded). */
int mail_index_cache_get(struct mail_index *index, uint32_t uid,
			 const char *field, struct str *out,
			 const char **error_r);

/* ---- sort keys (mail-index-sortkey.c) ----
 *
 * Small values a layer derives once from a message's header (IMAP SORT
 * and THREAD: sent date, base subject, first addresses), kept by UID in
 * the "sortkey" database, so that a pass over a folder reads them in UID
 * order without decoding a cached blob.  They belong to the UIDVALIDITY
 * and the build of the index they were stored under (another UIDVALIDITY,
 * or a rebuild over the same file, makes them absent).  The keys of
 * expunged messages are harmless (UIDs are never reused) and are deleted
 * by a later put once they pass a quarter of the folder.  Writes skip the
 * meta page's sync (as lazily read dates do). */

/* Longest value stored; longer ones are skipped. */
#define MAIL_INDEX_SORTKEY_MAX 16384

struct mail_index_sortkey_reader;
/* Begins reading the sort keys from one snapshot.  Returns 1 and
 * *reader_r, 0 if the folder has none (*reader_r NULL), -1 with
 * *error_r.  Other index calls may be made while it is open. */
int mail_index_sortkey_read_begin(struct mail_index *index,
				  struct mail_index_sortkey_reader **reader_r,
				  const char **error_r);
/* The value stored for uid: 1 and *data_r, *len_r (valid until the
 * reader ends), 0 if none (reader NULL is fine: none), -1 on an LMDB
 * error.  Cheapest with ascending UIDs. */
int mail_index_sortkey_read(struct mail_index_sortkey_reader *reader,
			    uint32_t uid, const void **data_r, size_t *len_r);
/* Ends the reader; sets *reader to NULL.  NULL is fine. */
void mail_index_sortkey_read_end(struct mail_index_sortkey_reader **reader);

struct mail_index_sortkey_entry {
	uint32_t uid;
	const void *data;
	size_t len;
};
/* Stores entries[0..count) (replacing older values; cheapest with
 * ascending UIDs) in one write transaction.  Values over
 * MAIL_INDEX_SORTKEY_MAX and UIDs not below UIDNEXT are skipped; a
 * message expunged meanwhile is not looked for (its keys are cleaned with
 * the others).  Returns the number stored, or -1 with *error_r. */
int mail_index_sortkey_put_batch(struct mail_index *index,
				 const struct mail_index_sortkey_entry *entries,
				 size_t count, const char **error_r);

#endif
