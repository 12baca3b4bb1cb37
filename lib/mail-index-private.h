/* mail-index-private.h: what the parts of the mail index share: the LMDB
 * layout, the on-disk record and header encodings, and internal helpers.
 *
 * LMDB layout (named databases in one MDB_NOSUBDIR file):
 *   "meta"     "hdr" -> struct mail_index_hdr
 *   "msgs"     UID (big-endian u32) -> encoded record (see below)
 *   "bases"    base name -> UID (native u32)
 *   "expunged" MODSEQ (BE u64) + UID (BE u32) -> empty
 *   "kw"       'n' + lowercase name -> id (u32);  'i' + id (BE u32) -> name
 *   "cache"    UID (BE u32) + field name -> blob
 *   "modseq"   MODSEQ (BE u64) + UID (BE u32) -> empty, one per message:
 *              the messages changed since a MODSEQ without reading all
 *              (made from "msgs" when an index without it is opened)
 * Big-endian keys make LMDB's byte order the numeric order. */
#ifndef MAIL_INDEX_PRIVATE_H
#define MAIL_INDEX_PRIVATE_H

#include <lmdb.h>
#include <sys/types.h>
#include <time.h>
#include "mail-index.h"
#include "mail-index-courier.h"

/* Bumped when the layout changes: an index of another version is
 * rebuilt. */
#define MAIL_INDEX_VERSION 1
/* Courier's UIDVALIDITY epoch (a fresh UIDVALIDITY is now - this). */
#define MAIL_INDEX_UIDV_EPOCH 1000000000
/* How often an operation is retried after growing a full map. */
#define MAIL_INDEX_MAP_RETRIES 6
/* The racy window of a directory stamp on a file system with sub-second
 * mtimes: more than the kernel's clock tick (1 to 10 ms), which is the
 * granularity of its timestamps.  File systems with whole-second mtimes
 * (tv_nsec always 0) use MAIL_INDEX_RACY_SECS. */
#define MAIL_INDEX_RACY_FINE_NSEC (50LL * 1000000)
/* How long an untrusted stamp of cur/ or courierimapkeywords/ is used
 * before one sync scans to verify it (a change by another program in the
 * same clock tick as one of ours is found within this time). */
#define MAIL_INDEX_RECHECK_NSEC (1000LL * 1000000)
/* ... and, in a large folder, this much longer per message, so that
 * rechecks keep to a small share of the time under a steady stream of
 * our own changes (a scan costs a few microseconds a message, under the
 * writer lock): 100,000 messages are rechecked every 5 s. */
#define MAIL_INDEX_RECHECK_PER_MSG_NSEC 50000LL

struct mail_index_stamp {
	int64_t sec;
	int64_t nsec;
};

struct mail_index_hdr {
	uint32_t version;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t first_recent_uid;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t seen;
	uint32_t deleted;
	uint32_t keyword_count;
	uint64_t total_size;
	/* Directory mtimes at the last full scan (0 = absent) and when
	 * they were taken. */
	struct mail_index_stamp new_mtime, cur_mtime, kw_mtime, taken_at;
};

/* Record bits. */
#define REC_IN_NEW 0x01
#define REC_SEEN_IN_NEW 0x02
#define REC_HAS_VSIZE 0x04
/* The internal date is not known yet: the scan took the size from the
 * name's ",S=" and did not stat the file.  internal_date then holds the
 * delivery time of the name (a hint, never handed out as the date); the
 * file's mtime is read on first use (mail-index-date.c). */
#define REC_NO_DATE 0x08

/* Fixed part of an encoded record; followed by kw_count u32 keyword ids,
 * the name and a NUL, the POP3 UIDL and a NUL (uidl_len may be 0). */
struct mail_index_rec_disk {
	uint64_t modseq;
	uint64_t size;
	uint64_t vsize;
	int64_t internal_date;
	uint32_t uid;
	uint16_t name_len;
	uint16_t base_len;
	uint16_t kw_count;
	uint8_t flags;
	uint8_t bits;
	uint8_t uidl_len;
	uint8_t pad[7];
};

/* A record being edited (owns its strings). */
struct mail_index_rec {
	struct mail_index_rec_disk d;
	uint32_t *kw;
	char *name;
	char *uidl;
};

/* One LMDB environment per index file per process. */
struct mail_index_env {
	struct mail_index_env *next;
	unsigned refcount;
	pid_t pid;
	dev_t dev;
	ino_t ino;
	char *path;
	MDB_env *env;
	MDB_dbi db_meta, db_msgs, db_bases, db_expunged, db_kw, db_cache;
	MDB_dbi db_modseq;
	MDB_txn *rtxn;		/* cached read transaction (reset) */
	bool rtxn_busy;
};

struct mail_index {
	char *dir;
	char *path;
	struct mail_index_settings set;
	struct mail_index_courier_limits courier_limits;
	struct mail_index_env *env;

	/* The public record handed out, and buffers it points into. */
	struct mail_index_record rec;
	uint32_t *rec_kw;
	size_t rec_kw_alloc;
	struct str rec_name;
	struct str rec_uidl;
	/* The keywords of the record mail_index_rec_view() decoded. */
	uint32_t *view_kw;
	size_t view_kw_alloc;

	/* Keyword names, loaded up to hdr.keyword_count. */
	char **kw_names;
	size_t kw_count;

	uint64_t last_modseq;	/* HIGHESTMODSEQ seen by mail_index_sync */
	int last_sync_ret;	/* what the last successful sync returned */
	bool removed_damaged;	/* a damaged file was removed */
	/* Set by a write transaction's work: the directories (bits
	 * MAIL_INDEX_DIR_*) our caller changed just before it. */
	unsigned changed_outside;
	/* The MODSEQ given to a change made by a write transaction's work:
	 * one above HIGHESTMODSEQ when the transaction began. */
	uint64_t txn_modseq;
	/* Records written or deleted through this handle (a scan that
	 * leaves it alone changed nothing). */
	unsigned rec_writes;
	uint32_t last_uidvalidity;

	/* Internal dates read from the files by lookups and iterations,
	 * stored by the next write transaction (mail-index-date.c). */
	struct mail_index_pending_date *pending_dates;
	size_t pending_count, pending_alloc;
	/* new/ and cur/ opened for fstatat() of lazy dates (-1 until
	 * first needed). */
	int dfd_new, dfd_cur;
	/* The next write transaction must not scan (mail_index_add()). */
	bool no_writer_scan;
	/* "<dir>/courier-suite.index-busy", the writers' marker. */
	char *busy_path;
	/* A sync put off while a writer was at work (see
	 * mail_index_sync_defer()): the writer's sequence number, the
	 * stamps seen then, and when the first of a chain of put-off
	 * syncs was. */
	bool defer_active;
	uint64_t defer_seq;
	/* mail_index_open_claim(): a build claims \Recent in its commit
	 * (claim_on_build), which sets build_claimed and the first UID. */
	bool claim_on_build, build_claimed;
	uint32_t build_claimed_first;
	/* The flags table's snapshot in the index is missing or behind
	 * (mail-index-flags.c): worth writing when the session is idle. */
	bool flags_snapshot_wanted;
	struct mail_index_hdr defer_seen;
	struct mail_index_stamp defer_since;
};

/* A date or RFC822.SIZE read lazily, waiting to be stored. */
struct mail_index_pending_date {
	uint32_t uid;
	uint32_t base_hash;	/* of the base name it was read for */
	bool is_vsize;		/* value is the RFC822.SIZE, else the date */
	int64_t date;
	uint64_t vsize;
};

/* ---- mail-index-env.c: environments, transactions, errors ---- */

/* The LMDB code of the last LMDB error (MDB_MAP_FULL means: grow the map
 * and retry; a corruption code: see mail_index_fail_check_damage()). */
extern int mail_index_last_mdb_rc;

/* Sets the module's error text (printf format) and errno-ish code. */
void mail_index_set_error(const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Formats an LMDB error. */
void mail_index_set_mdb_error(const char **error_r, const char *what,
			      int rc);

/* The process's environment of index->path (opened, or shared with
 * another index of the same file; a damaged file is removed and made
 * again).  Returns 0 and *env_r (a reference), or -1. */
int mail_index_env_get(struct mail_index *index, struct mail_index_env **env_r,
		       const char **error_r);
/* Drops a reference; the last one closes the environment. */
void mail_index_env_unref(struct mail_index_env *e);
/* After an operation failed: if LMDB found the file damaged, deletes it
 * (and its lock file) so that the next call, in any process, rebuilds the
 * index from the maildir.  Returns -1 for the caller to return. */
int mail_index_fail_check_damage(struct mail_index *index);

/* Starts a read transaction (the env's cached one when free). */
int mail_index_read_begin(struct mail_index *index, MDB_txn **txn_r,
			  const char **error_r);
void mail_index_read_end(struct mail_index *index, MDB_txn **txn);
/* Starts a write transaction (grows the map first when it is filling). */
int mail_index_write_begin(struct mail_index *index, MDB_txn **txn_r,
			   const char **error_r);
/* After a commit that changes what clients see: an event for watchers of
 * the index file (IN_ATTRIB) that comes only once the commit is visible. */
void mail_index_commit_notify(struct mail_index *index);
/* After MDB_MAP_FULL: doubles the map (no transaction may be active). */
int mail_index_grow_map(struct mail_index *index, const char **error_r);

/* ---- mail-index.c: the write transaction ---- */

/* The work of one write transaction: returns >= 0 on success (the
 * result), -1 on error with *rc_r the LMDB code (MDB_MAP_FULL to
 * retry). */
typedef int mail_index_write_fn(struct mail_index *index, MDB_txn *txn,
				struct mail_index_hdr *hdr, void *context,
				int *rc_r, const char **error_r);
/* Runs fn in one write transaction with the header read, the directory
 * stamps taken around it (mail_index_sync_own_change()) and the header
 * written; retried after growing a full map.  Returns fn's result or
 * -1. */
int mail_index_write_txn(struct mail_index *index, mail_index_write_fn *fn,
			 void *context, const char **error_r);
/* As mail_index_write_txn() for a change that moves no message in or
 * out of the folder (flags, keywords, \Recent, dates and sizes read
 * from the files): its commit syncs the data pages but not LMDB's meta
 * page (MDB_NOMETASYNC), one device flush instead of two.  A power
 * failure may then undo the last such commits, never more (the meta
 * page names a whole earlier snapshot) and never a message: the file
 * renames they recorded are found again by the next scan (the stamps
 * then differ).  See doc/imap.md, "Durability". */
int mail_index_write_txn_relaxed(struct mail_index *index,
				 mail_index_write_fn *fn, void *context,
				 const char **error_r);

/* ---- mail-index-rec.c: header, records, flags ---- */

/* Header get/put; get returns 1, 0 if absent, -1 on error. */
int mail_index_hdr_get(struct mail_index *index, MDB_txn *txn,
		       struct mail_index_hdr *hdr_r, const char **error_r);
/* A record's fixed part and keywords read in place, into *r, with the
 * checks of mail_index_rec_view() (false: malformed); no name
 * (mail-index-read.c). */
bool mail_index_flags_view(struct mail_index *index, const MDB_val *val,
			   struct mail_index_record *r);
/* qsort() order of uint32_t. */
int mail_index_u32_cmp(const void *a, const void *b);
/* Sets index->flags_snapshot_wanted when the folder is large and the
 * snapshot of its flags table is missing or behind (mail-index-flags.c). */
void mail_index_flags_snapshot_check(struct mail_index *index,
				     MDB_txn *txn);
/* The MODSEQ the index was built at (meta key "built"; 0 when absent):
 * get returns 0 or -1, put 0 or -1. */
int mail_index_built_get(struct mail_index *index, MDB_txn *txn,
			 uint64_t *modseq_r, const char **error_r);
int mail_index_built_put(struct mail_index *index, MDB_txn *txn,
			 uint64_t modseq, const char **error_r);
int mail_index_hdr_put(struct mail_index *index, MDB_txn *txn,
		       const struct mail_index_hdr *hdr,
		       const char **error_r);

/* Record get: returns 1, 0 if absent, -1 (MDB rc in *rc_r if set). */
int mail_index_rec_get(struct mail_index *index, MDB_txn *txn, uint32_t uid,
		       struct mail_index_rec *rec_r, int *rc_r,
		       const char **error_r);
/* Decodes an encoded value into rec_r (owns its strings); false if the
 * value is malformed. */
bool mail_index_rec_decode(const MDB_val *val, struct mail_index_rec *rec_r);
/* The same without copies, for a pass that only reads: the name and the
 * UIDL point into val (valid while its transaction lasts), the keywords
 * into a buffer of index's (until the next call).  rec_r must not be
 * freed.  False if the value is malformed. */
bool mail_index_rec_view(struct mail_index *index, const MDB_val *val,
			 struct mail_index_rec *rec_r);
/* Writes rec (key: its UID) and its base name entry; updates the
 * counters in hdr against old (NULL for a new record). */
int mail_index_rec_put(struct mail_index *index, MDB_txn *txn,
		       struct mail_index_hdr *hdr,
		       const struct mail_index_rec *old,
		       const struct mail_index_rec *rec, int *rc_r,
		       const char **error_r);
/* Deletes the record, its base name entry and its cache entries, logs it
 * as expunged with modseq, updates the counters. */
int mail_index_rec_delete(struct mail_index *index, MDB_txn *txn,
			  struct mail_index_hdr *hdr,
			  const struct mail_index_rec *rec, uint64_t modseq,
			  int *rc_r, const char **error_r);
void mail_index_rec_free(struct mail_index_rec *rec);
/* Sets rec's name (and base_len). */
void mail_index_rec_set_name(struct mail_index_rec *rec, const char *name);
/* Fills index->rec from rec (copies into the index's buffers). */
const struct mail_index_record *
mail_index_rec_export(struct mail_index *index,
		      const struct mail_index_rec *rec);

/* System flags from a maildir flag string, and the flag string for a
 * file whose current flags are old_letters with system flags set to
 * flags (other letters such as P are kept).  The latter returns a new
 * string. */
uint8_t mail_index_flags_from_letters(const char *letters);
char *mail_index_flags_to_letters(const char *old_letters, uint8_t flags);

/* ---- mail-index-keywords.c ---- */

/* True if id is among kw[0..n). */
bool mail_index_kw_has(const uint32_t *kw, size_t n, uint32_t id);
/* Keyword id of name, creating it when create is set (bumps
 * hdr->keyword_count).  Returns 1, 0 if absent (or invalid when not
 * creating), -1 on error (EINVAL/limit when creating). */
int mail_index_kw_id(struct mail_index *index, MDB_txn *txn,
		     struct mail_index_hdr *hdr, const char *name,
		     bool create, uint32_t *id_r, const char **error_r);
/* Loads keyword names up to hdr->keyword_count into index->kw_names. */
int mail_index_kw_load(struct mail_index *index, MDB_txn *txn,
		       const struct mail_index_hdr *hdr,
		       const char **error_r);

/* Now, from the kernel's coarse realtime clock (the one file mtimes are
 * taken from; up to a clock tick behind the precise one). */
void mail_index_now(struct mail_index_stamp *now_r);

/* ---- mail-index-message.c: a message's file ---- */

/* The path of rec's file ("<dir>/new/<name>" or cur/), caller frees. */
char *mail_index_rec_path(const struct mail_index *index,
			  const struct mail_index_rec *rec);
/* The folder's new/ (in_new) or cur/, opened once and kept (index->dfd_*)
 * so that a file is reached without a walk of the folder's path: the fd,
 * or -1 when it cannot be opened. */
int mail_index_dir_fd(struct mail_index *index, bool in_new);
/* open(2)s rec's file read-only (relative to its kept directory):
 * the fd, or -1 with errno. */
int mail_index_rec_open_file(struct mail_index *index,
			     const struct mail_index_rec *rec);
/* Finds the current file of rec (renamed by another program): updates
 * rec's name and in_new bit.  Returns 1, 0 if the file is gone, -1. */
int mail_index_refind(struct mail_index *index, struct mail_index_rec *rec,
		      const char **error_r);
/* After mail_index_refind() outside a STORE: rec takes the flags of its
 * new name, with the transaction's MODSEQ (index->txn_modseq, also made
 * hdr's HIGHESTMODSEQ) if they changed. */
void mail_index_refound_flags(struct mail_index *index,
			      struct mail_index_hdr *hdr,
			      struct mail_index_rec *rec);

/* ---- mail-index-sync.c ---- */

/* Directory bits for mail_index_sync_own_change(). */
#define MAIL_INDEX_DIR_NEW 0x01
#define MAIL_INDEX_DIR_CUR 0x02
#define MAIL_INDEX_DIR_KW 0x04

/* Test hooks: mtimes are cut to whole seconds (a file system without
 * sub-second timestamps), and the clock of mail_index_now() runs this
 * many nanoseconds ahead.  Both are 0 outside the unit tests. */
extern bool mail_index_test_coarse_mtime;
extern int64_t mail_index_test_clock_offset_nsec;
/* Test hook called inside every write transaction after the stamps were
 * taken and before the work (NULL outside the unit tests). */
extern void (*mail_index_test_write_hook)(struct mail_index *index);
/* Scans made by this process (mail_index_sync_scan() calls). */
extern unsigned mail_index_test_scans;

/* The stamps of new/, cur/ and courierimapkeywords/ now (taken_at: the
 * clock read before the stat() calls). */
int mail_index_sync_stamps(struct mail_index *index,
			   struct mail_index_hdr *cur_r,
			   const char **error_r);
/* The racy window of stamp m in nanoseconds (MAIL_INDEX_RACY_FINE_NSEC
 * when m has nanoseconds, else MAIL_INDEX_RACY_SECS). */
int64_t mail_index_sync_racy_nsec(const struct mail_index_stamp *m);
/* True if hdr's stamp of new/ is trusted (see the top of mail-index.h). */
bool mail_index_sync_new_trusted(const struct mail_index_hdr *hdr);
/* True if hdr's three stamps equal those in now. */
bool mail_index_sync_stamps_equal(const struct mail_index_hdr *hdr,
				  const struct mail_index_hdr *now);
/* True if each of hdr's stamps was taken at least its racy window after
 * the directory's mtime (no change can hide behind it). */
bool mail_index_sync_stamps_trusted(const struct mail_index_hdr *hdr);
/* True if the index need not scan: hdr's stamps equal those in now
 * (now->taken_at is the current time), new/'s is trusted, and those of
 * cur/ and the keywords are trusted or younger than
 * mail_index_sync_recheck_nsec(hdr). */
bool mail_index_sync_stamps_clean(const struct mail_index_hdr *hdr,
				  const struct mail_index_hdr *now);
/* How long an untrusted stamp of cur/ or the keywords is used before a
 * scan verifies it: MAIL_INDEX_RECHECK_NSEC, or
 * MAIL_INDEX_RECHECK_PER_MSG_NSEC per message of hdr if more. */
int64_t mail_index_sync_recheck_nsec(const struct mail_index_hdr *hdr);
/* After a scan that changed nothing: true if its stamps (fresh, with
 * their taken_at) are worth writing over those of stored, the header
 * before it: a sync with stored would scan now (stamps differ, or an
 * untrusted one is due for its check) and one with fresh would not.  A
 * stored header is always still true then (the index did not change);
 * only the cost of later syncs is at stake. */
bool mail_index_sync_refresh_worth(const struct mail_index_hdr *stored,
				   const struct mail_index_hdr *fresh);
/* After a write transaction that may have renamed, unlinked or created
 * files: pre and post are the stamps taken under the writer lock before
 * and after the work.  A directory whose pre stamp equals hdr's changed
 * only through us (or in the same clock tick): hdr records its post
 * stamp, so that no session scans for our own change.  outside
 * (MAIL_INDEX_DIR_* bits) names directories our caller changed just
 * before the transaction: their post stamp is recorded too, with
 * taken_at moved back so that the next recheck verifies them.  Any other
 * difference is left for the next sync's scan.  taken_at is kept so that
 * every change before it is in the index. */
void mail_index_sync_own_change(struct mail_index_hdr *hdr,
				const struct mail_index_hdr *pre,
				const struct mail_index_hdr *post,
				unsigned outside);
/* ---- the writers' marker (mail-index-sync.c) ----
 *
 * A change by a write transaction renames or unlinks files before its
 * commit records the directories' new stamps: a session that looks in
 * between sees cur/ changed and the index not, and would wait for the
 * writer lock to find out that nothing happened but the change in
 * flight.  So every write transaction numbers itself (the "busy" value in
 * the meta database, one above the last committed one) and, before it
 * touches the folder, sets the nanoseconds of the mtime of
 * "<dir>/courier-suite.index-busy" to that number modulo 10^9; its commit
 * stores the number.  A reader that finds the marker ahead of the stored
 * number knows that a writer is at work (or died at work: the next
 * holder of the writer lock resets the marker). */

/* The marker's name in the folder. */
#define MAIL_INDEX_BUSY_FILE MAIL_INDEX_FILE_NAME "-busy"
/* Longest a session puts off looking at a change while the marker says a
 * writer is at work (a writer that died, a change by another program
 * made while our writers kept the marker busy). */
#define MAIL_INDEX_DEFER_NSEC (1000LL * 1000000)

/* The last committed writer number (0 if none).  Returns 0 or -1. */
int mail_index_busy_get(struct mail_index *index, MDB_txn *txn,
			uint64_t *seq_r, const char **error_r);
/* Stores the writer number seq in txn.  Returns 0 or -1. */
int mail_index_busy_put(struct mail_index *index, MDB_txn *txn, uint64_t seq,
			const char **error_r);
/* Sets the marker to seq (created if missing).  Returns 0, or -1 if it
 * could not be set (readers then take the writer lock as before). */
int mail_index_busy_mark(struct mail_index *index, uint64_t seq);
/* True if the marker shows a writer past the committed number seq (at
 * work, or one that died at work).  A missing marker shows none. */
bool mail_index_busy_ahead(struct mail_index *index, uint64_t seq);
/* For a sync without MAIL_INDEX_SYNC_FORCE whose stamps (now) differ
 * from the stored header hdr (committed writer number seq): true if the
 * difference is a writer's change in flight and the sync may use the
 * stored state without taking the writer lock.  It is, if the marker
 * says a writer is at work and what this session saw while putting off
 * earlier syncs was accounted for by the writers that committed since
 * (their stamps reached it), for at most MAIL_INDEX_DEFER_NSEC from the
 * first of a chain of put-off syncs.  Clears the state when it answers
 * false. */
bool mail_index_sync_defer(struct mail_index *index,
			   const struct mail_index_hdr *hdr, uint64_t seq,
			   const struct mail_index_hdr *now);

/* Full scan inside the write transaction txn: hdr is updated (stamps
 * included).  build: the index is new (import Courier's files). */
int mail_index_sync_scan(struct mail_index *index, MDB_txn *txn,
			 struct mail_index_hdr *hdr, bool build,
			 const struct mail_index_hdr *stamps,
			 const char **error_r);
/* True if hdr's stamps fail mail_index_sync_stamps_clean() against now
 * only because of new/ (changed, or untrusted): cur/ and the keywords are
 * as recorded, trusted or younger than the recheck time. */
bool mail_index_sync_only_new(const struct mail_index_hdr *hdr,
			      const struct mail_index_hdr *now);
/* The scan of new/ alone, when mail_index_sync_only_new(): adds the files
 * that appeared there, and gives up (returns 0, nothing written) on
 * anything else (a file of the index gone from new/ or renamed there, a
 * base name also known elsewhere): the caller then runs the full scan.
 * Returns 1 (hdr's new/ stamp updated, and taken_at when cur/ and the
 * keywords were trusted), 0, or -1 with *error_r. */
int mail_index_sync_scan_new(struct mail_index *index, MDB_txn *txn,
			     struct mail_index_hdr *hdr,
			     const struct mail_index_hdr *stamps,
			     const char **error_r);
/* Scans of new/ alone made by this process. */
extern unsigned mail_index_test_new_scans;
/* Applies the keyword list names (count) to rec, creating ids.  Returns
 * 1 if rec's keywords changed, 0 if not, -1 on error. */
int mail_index_sync_set_keywords(struct mail_index *index, MDB_txn *txn,
				 struct mail_index_hdr *hdr,
				 struct mail_index_rec *rec,
				 const char *const *names, size_t count,
				 const char **error_r);

/* ---- mail-index-date.c: lazy internal dates ---- */

/* Most dates waiting to be stored; more are read but not kept. */
#define MAIL_INDEX_PENDING_DATES_MAX (1U << 20)
/* Lookups, iterations and syncs store the waiting dates and sizes once
 * this many have gathered (a write transaction and fsync of their own);
 * fewer ride along with the next change, or are stored at the close. */
#define MAIL_INDEX_PENDING_FLUSH 256

/* The provisional date of a name: its leading delivery time in seconds
 * (Maildir's "TIME.UNIQUE.HOST"), 0 if it has none. */
int64_t mail_index_date_from_name(const char *name);
/* Exports rec (mail_index_rec_export()) and, unless read_flags has
 * MAIL_INDEX_READ_NO_DATE, fills in an unknown internal date from the
 * file's mtime (finding a renamed file again), queued to be stored.  A
 * file that is gone gives the name's time (the next sync expunges the
 * message). */
const struct mail_index_record *
mail_index_rec_export_read(struct mail_index *index,
			   const struct mail_index_rec *rec,
			   unsigned read_flags);
/* Queues the RFC822.SIZE vsize computed for the message uid whose base
 * name is base (base_len bytes), to be stored by the next write. */
void mail_index_vsize_queue(struct mail_index *index, uint32_t uid,
			    const char *base, size_t base_len,
			    uint64_t vsize);
/* Inside a write transaction: stores the queued dates and sizes of
 * records that still lack theirs.  Returns 0 or -1 (LMDB code in *rc_r). */
int mail_index_dates_apply(struct mail_index *index, MDB_txn *txn,
			   struct mail_index_hdr *hdr, int *rc_r,
			   const char **error_r);
/* Stores the queued dates in a write transaction of their own if at
 * least min are queued (and one at least).  A failure is logged and the queue
 * dropped: the dates are read again next time.  Returns 0 or -1. */
int mail_index_dates_flush(struct mail_index *index, size_t min);

/* ---- mail-index-cache.c ---- */

/* Deletes every cache entry of uid. */
int mail_index_cache_delete_uid(struct mail_index *index, MDB_txn *txn,
				uint32_t uid, int *rc_r,
				const char **error_r);

static inline void mail_index_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t mail_index_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void mail_index_be64(uint8_t *p, uint64_t v)
{
	mail_index_be32(p, (uint32_t)(v >> 32));
	mail_index_be32(p + 4, (uint32_t)v);
}

static inline uint64_t mail_index_get_be64(const uint8_t *p)
{
	return (uint64_t)mail_index_get_be32(p) << 32 |
	       mail_index_get_be32(p + 4);
}

#endif
