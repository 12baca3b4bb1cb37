/* mail-index-bulk.h: reading every record of a mail index in one pass,
 * without copying or allocating per record (a POP3 login's snapshot of a
 * large INBOX), and writing the many new records of a scan in key order
 * (a first build of a large folder).
 *
 * mail_index_iterate() decodes each record into owned strings and hands
 * out a full struct mail_index_record; these functions read the stored
 * records in place instead and give only what a listing needs.  They
 * change nothing and do not sync: call them on an index just opened or
 * synced (mail_index_open(), mail_index_sync()). */
#ifndef MAIL_INDEX_BULK_H
#define MAIL_INDEX_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mail_index;

/* One message, as stored.  pop3_uidl points into the index's mapped
 * memory and is valid during the callback only. */
struct mail_index_brief {
	uint32_t uid;
	uint8_t flags;		/* enum mail_index_flags */
	bool in_new;		/* the file is in new/ (else cur/) */
	bool seen_in_new;	/* it arrived: a scan found it in new/, or it
				 * came through the index (APPEND, COPY) */
	bool has_vsize;		/* vsize is known */
	uint64_t size;		/* bytes on disk */
	uint64_t vsize;		/* RFC822.SIZE (CRLF line ends) */
	/* The imported Courier UIDL (pop3_uidl_len bytes, NUL-terminated),
	 * or NULL: the message's UIDL is then "UID<uid>-<uidvalidity>". */
	const char *pop3_uidl;
	size_t pop3_uidl_len;
};

/* Return 0 to go on, anything else to stop (that value is then
 * returned).  The callback must not call any function on the index. */
typedef int mail_index_brief_cb(const struct mail_index_brief *brief,
				void *context);

/* Calls cb for every message in UID order, in one read transaction.
 * Records that do not decode are skipped (as mail_index_iterate() does).
 * Returns 0, the callback's non-zero value, or -1 with *error_r. */
int mail_index_iterate_brief(struct mail_index *index,
			     mail_index_brief_cb *cb, void *context,
			     const char **error_r);

/* As mail_index_iterate_brief(), for the messages with a UID from
 * first_uid on (a cursor set there: the UIDs below cost nothing). */
int mail_index_iterate_brief_from(struct mail_index *index, uint32_t first_uid,
				  mail_index_brief_cb *cb, void *context,
				  const char **error_r);

/* The UIDVALIDITY seen by the last sync (the one default UIDLs carry). */
uint32_t mail_index_bulk_uidvalidity(const struct mail_index *index);

/* ---- writing (inside a write transaction; mail-index-sync.c) ---- */

struct mail_index_hdr;
struct mail_index_rec_disk;
struct MDB_txn;
struct MDB_cursor;

/* The state of one run of mail_index_bulk_add() calls: whether appending
 * at the end of each database still works (keys arriving in order), and
 * one cursor per database kept at its end between the calls (an append
 * then costs no descent from the root).  Zero it before the first call;
 * mail_index_bulk_end() closes the cursors before the transaction ends. */
struct mail_index_bulk {
	bool msgs_unordered, bases_unordered, modseq_unordered;
	struct MDB_cursor *c_msgs, *c_bases, *c_modseq;
};

/* Writes a new record (a UID not in the index: the scan's imported or
 * next UIDs) with what mail_index_rec_put(old = NULL) writes: the record
 * under d->uid (d's name_len, base_len, uidl_len and kw_count are set
 * here: no keywords), its base name and its "modseq" entry, and counts it
 * in hdr.  name is name_len bytes (a maildir file name, at most
 * MAILDIR_NAME_MAX), uidl NULL or a string of at most 255 bytes.  Keys
 * that come in order (the usual case) are appended at the end of each
 * database without a search, and its pages are filled instead of split
 * in half.  Returns 0, or -1 with *error_r (and *rc_r, the LMDB code,
 * when rc_r is not NULL). */
int mail_index_bulk_add(struct mail_index *index, struct MDB_txn *txn,
			struct mail_index_bulk *bulk,
			struct mail_index_hdr *hdr,
			const struct mail_index_rec_disk *d, const char *name,
			size_t name_len, const char *uidl, int *rc_r,
			const char **error_r);

/* Closes bulk's cursors (before the commit or abort of their
 * transaction); bulk may be used again afterwards. */
void mail_index_bulk_end(struct mail_index_bulk *bulk);

#endif
