/* imap-sort.h: SORT (RFC 5256) and SORT=DISPLAY (RFC 5957): the sort
 * keys of a message taken from its header, the base subject of RFC 5256
 * section 2.1, the sort criteria and the sort itself.  The same per-message
 * data serves THREAD (imap-thread.h). */
#ifndef IMAP_SORT_H
#define IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-parser.h"

/* Which keys imap_sort_msg_field() works out (the others are left
 * empty: parsing addresses nobody sorts by costs more than the sort). */
enum imap_sort_want {
	IMAP_SORT_WANT_SUBJECT = 0x01,
	IMAP_SORT_WANT_FROM = 0x02,	/* from and display_from */
	IMAP_SORT_WANT_TO = 0x04,	/* to and display_to */
	IMAP_SORT_WANT_CC = 0x08,
	IMAP_SORT_WANT_DATE = 0x10,
	IMAP_SORT_WANT_IDS = 0x20,	/* message_id, references,
					 * in_reply_to */
	IMAP_SORT_WANT_HEADER = 0x3f,	/* any of the above */
	IMAP_SORT_WANT_ARRIVAL = 0x40,	/* not from the header */
	IMAP_SORT_WANT_SIZE = 0x80,	/* not from the header */
	/* what THREAD (both algorithms) reads */
	IMAP_SORT_WANT_THREAD = 0x31,
};

/* What SORT and THREAD know of one message. */
struct imap_sort_msg {
	/* IMAP_SORT_WANT_* bits of the fields to work out; 0: all */
	unsigned int want;
	uint32_t seq, uid;
	uint64_t size;		/* RFC822.SIZE */
	int64_t arrival;	/* internal date */
	/* sent date (Date: in UTC, RFC 5256 section 2.2), or the internal
	 * date when Date: is missing or invalid */
	int64_t date;
	bool has_date;
	char *subject;		/* base subject (never NULL after finish) */
	bool subject_reply;	/* the subject was a reply or forward */
	/* addr-mailbox (local part) of the first address, or "" */
	char *from, *to, *cc;
	/* SORT=DISPLAY: decoded display name of the first address, else
	 * its addr-spec, case-folded; or "" */
	char *display_from, *display_to;
	/* THREAD=REFERENCES: the fields as written, or NULL */
	char *message_id, *references, *in_reply_to;
};

/* Gives one header field of the message (name as written, value
 * unfolded); the first of each field counts; fields msg->want does not
 * name are skipped. */
void imap_sort_msg_field(struct imap_sort_msg *msg, const char *name,
			 const char *value, size_t value_len);
/* After the fields: fills the defaults (date from arrival, "" keys).
 * seq, uid, size and arrival must be set before. */
void imap_sort_msg_finish(struct imap_sort_msg *msg);
/* Frees the strings of msg (not msg itself). */
void imap_sort_msg_free(struct imap_sort_msg *msg);

/* The base subject of RFC 5256 section 2.1 of a Subject: value (len
 * bytes, encoded-words allowed): decoded to UTF-8, whitespace runs made
 * one space, "Re:", "Fw:", "Fwd:", "[blob]" leaders, "(fwd)" trailers
 * and "[Fwd: ...]" wrappers removed.  Case is kept (compare with
 * imap_sort_casecmp()).  *reply_r (may be NULL) says whether anything
 * marking a reply or forward was removed.  Caller frees. */
char *imap_base_subject(const char *value, size_t len, bool *reply_r);
/* i;ascii-casemap comparison: bytes compared with ASCII letters upper
 * cased. */
int imap_sort_casecmp(const char *a, const char *b);

enum imap_sort_key {
	IMAP_SORT_ARRIVAL,
	IMAP_SORT_CC,
	IMAP_SORT_DATE,
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT,
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM,
	IMAP_SORT_DISPLAYTO,
};

struct imap_sort_criterion {
	enum imap_sort_key key;
	bool reverse;
};

/* Most criteria in one SORT. */
#define IMAP_SORT_MAX_CRITERIA 32

/* Parses the parenthesised criteria list of SORT.  Returns the number of
 * criteria written to crit (at most IMAP_SORT_MAX_CRITERIA), or -1 with
 * a static *error_r. */
int imap_sort_parse_criteria(const struct imap_arg *list,
			     struct imap_sort_criterion *crit,
			     const char **error_r);
/* The IMAP_SORT_WANT_* bits the criteria read. */
unsigned int imap_sort_want(const struct imap_sort_criterion *crit,
			    size_t crit_count);
/* Sorts msgs[0..count) by the criteria, then by sequence number. */
void imap_sort(struct imap_sort_msg **msgs, size_t count,
	       const struct imap_sort_criterion *crit, size_t crit_count);

/* ---- keys kept in the folder's index ----
 *
 * The header keys of a message are worked out once and kept in the
 * index (mail_index_sortkey_*(), by UID), so that a SORT or THREAD
 * after the first reads no header.  A value holds the keys of the
 * IMAP_SORT_WANT_* header bits it was made for; a SORT that wants more
 * reads the header again and stores the union.  Use: begin, then for
 * each message (ascending UIDs) imap_sort_keys_get(); if it answers
 * false, give the header fields as usual and call imap_sort_keys_add()
 * before imap_sort_msg_finish(); then end, which stores what was added
 * in one write transaction. */
struct mail_index;
struct imap_sort_keys;

/* Starts using index's keys (a failure to read them is logged and
 * makes every message read its header).  Never NULL. */
struct imap_sort_keys *imap_sort_keys_begin(struct mail_index *index);
/* Fills msg's header keys (msg->want; uid set) from the index: true if
 * done, false if its header must be read (msg->want may then have been
 * widened to the keys kept before). */
bool imap_sort_keys_get(struct imap_sort_keys *keys, struct imap_sort_msg *msg);
/* After the header fields of msg were given and before
 * imap_sort_msg_finish(): queues its keys to be stored.  NULL keys is
 * fine (nothing). */
void imap_sort_keys_add(struct imap_sort_keys *keys,
			const struct imap_sort_msg *msg);
/* Stores the queued keys (a failure is logged) and frees keys; sets
 * *keys to NULL.  NULL is fine. */
void imap_sort_keys_end(struct imap_sort_keys **keys);

/* The stored value of msg's header keys (msg->want's header bits, 0:
 * all), taken before imap_sort_msg_finish().  Caller frees; *len_r its
 * length.  NULL if a key is too long (64 KiB) to be kept exactly. */
char *imap_sort_keys_encode(const struct imap_sort_msg *msg, size_t *len_r);
/* Decodes a stored value (len bytes) into msg's NULL keys: 1 if it held
 * every key msg->want names (they are set), 0 if not (msg untouched), -1
 * if it is malformed (msg untouched).  *stored_r gets the header bits it
 * holds (0 when malformed).  The date alone is read from the value's
 * fixed part, without a look at its strings. */
int imap_sort_keys_decode(struct imap_sort_msg *msg, const void *data,
			  size_t len, unsigned int *stored_r);

#endif
