/* imap-search.h: IMAP search programs (RFC 3501 / RFC 9051 section 6.4.4,
 * ESEARCH RFC 4731, SEARCHRES RFC 5182, CONDSTORE's MODSEQ key RFC 7162,
 * WITHIN RFC 5032): a parser from the command's imap_arg list into a key
 * tree, and an evaluator that decides a message from its index record
 * and, only when a key needs them, from its header and body.
 *
 * Parsing: "[RETURN (opts)] [CHARSET name] key..." (RETURN only when the
 * caller allows it; SORT and THREAD give the charset themselves).  The
 * keys are implicitly ANDed.  Search strings are converted from the
 * charset to UTF-8 and case-folded (imap_search_fold()), so matching is a
 * byte substring test on folded text.  Limits: nesting depth (NOT, OR,
 * parentheses) and the number of keys, both set by the caller.
 *
 * Evaluation is three-valued: with no content a key that needs the
 * message's header or body answers IMAP_SEARCH_NEED_CONTENT unless the
 * rest of the tree already decides (an AND with a false member, an OR with
 * a true one).  The caller then loads the content once with
 * imap_search_content_load() (lib's MIME parser, RFC 2047 decoding,
 * transfer decoding and charset conversion) and evaluates again. */
#ifndef IMAP_SEARCH_H
#define IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-parser.h"
#include "imap-seqset.h"
#include "str.h"

enum imap_search_key_type {
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_AND,	/* children: a parenthesised list */
	IMAP_SEARCH_OR,		/* two children */
	IMAP_SEARCH_NOT,	/* one child */
	IMAP_SEARCH_SEQSET,	/* sequence numbers */
	IMAP_SEARCH_UIDSET,	/* UID set */
	IMAP_SEARCH_SAVED,	/* $ (RFC 5182); uid: UID $ (same thing) */
	IMAP_SEARCH_FLAG,	/* flag set (ANSWERED, SEEN...) */
	IMAP_SEARCH_RECENT,
	IMAP_SEARCH_KEYWORD,
	IMAP_SEARCH_LARGER,
	IMAP_SEARCH_SMALLER,
	IMAP_SEARCH_BEFORE,	/* internal date, by day */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_OLDER,	/* WITHIN: seconds */
	IMAP_SEARCH_YOUNGER,
	IMAP_SEARCH_MODSEQ,
	/* content keys */
	IMAP_SEARCH_SENTBEFORE,
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_HEADER,	/* FROM TO CC BCC SUBJECT HEADER */
	IMAP_SEARCH_BODY,
	IMAP_SEARCH_TEXT,
};

struct imap_search_key {
	enum imap_search_key_type type;
	struct imap_search_key *next;	/* next member of the parent AND */
	struct imap_search_key *child;	/* AND, OR (two), NOT (one) */
	uint8_t flag;			/* FLAG: enum mail_index_flags */
	uint64_t num;			/* LARGER, SMALLER, MODSEQ, WITHIN */
	int64_t day;			/* date keys: days since the epoch */
	char *name;			/* HEADER: field name; KEYWORD */
	char *value;			/* HEADER, BODY, TEXT: folded UTF-8 */
	size_t value_len;
	uint32_t keyword_id;		/* KEYWORD: UINT32_MAX = none */
	size_t needle;			/* BODY, TEXT: index of the needle */
	struct imap_seqset set;		/* SEQSET, UIDSET */
};

/* ESEARCH RETURN options (RFC 4731, RFC 5182). */
enum imap_search_return {
	IMAP_SEARCH_RETURN_MIN = 0x01,
	IMAP_SEARCH_RETURN_MAX = 0x02,
	IMAP_SEARCH_RETURN_ALL = 0x04,
	IMAP_SEARCH_RETURN_COUNT = 0x08,
	IMAP_SEARCH_RETURN_SAVE = 0x10,
	IMAP_SEARCH_RETURN_PARTIAL = 0x20,	/* RFC 5267 4.4 */
	IMAP_SEARCH_RETURN_UPDATE = 0x40,	/* RFC 5267 4.3 */
	IMAP_SEARCH_RETURN_CONTEXT = 0x80,	/* RFC 5267 4.2: a hint */
};

/* What evaluating the program needs (enum imap_search_need). */
enum imap_search_need {
	IMAP_SEARCH_NEED_SIZE = 0x01,	/* RFC822.SIZE of each message */
	IMAP_SEARCH_NEED_HEADER = 0x02,	/* the header */
	IMAP_SEARCH_NEED_BODY = 0x04,	/* the whole message */
	IMAP_SEARCH_NEED_SAVED = 0x08,	/* $ is used */
	IMAP_SEARCH_NEED_DATE = 0x10,	/* the internal date */
};

/* A needle of a BODY or TEXT key, prepared for streaming matching. */
struct imap_search_needle {
	const char *text;	/* folded UTF-8, not empty */
	size_t len;
	size_t *fail;		/* KMP failure table */
	bool text_key;		/* TEXT (header too), else BODY */
};

struct imap_search_program {
	struct imap_search_key *root;	/* an AND */
	bool has_return;		/* RETURN (...) was given */
	unsigned int return_opts;	/* enum imap_search_return */
	/* PARTIAL lo:hi (lo <= hi), from the last result when
	 * partial_last ("-lo:-hi", RFC 9394) */
	uint32_t partial_lo, partial_hi;
	bool partial_last, partial_reversed;
	char *charset;			/* as given, or "UTF-8" */
	unsigned int need;		/* enum imap_search_need */
	bool has_modseq;		/* a MODSEQ key was used */
	struct imap_search_needle *needles;
	size_t needle_count;
	unsigned int key_count;
};

struct imap_search_limits {
	unsigned int max_depth;	/* nesting; 0 = 100 */
	unsigned int max_keys;	/* keys in all; 0 = 10000 */
};

struct imap_search_parse_opts {
	struct imap_search_limits limits;
	bool allow_return;	/* SEARCH: RETURN (...) may come first */
	/* SORT, THREAD: the charset already read (the keys follow); NULL:
	 * an optional "CHARSET name" may come first. */
	const char *charset;
};

enum imap_search_parse_result {
	IMAP_SEARCH_PARSE_OK = 0,
	IMAP_SEARCH_PARSE_BAD = -1,	  /* syntax or limit: tagged BAD */
	IMAP_SEARCH_PARSE_BADCHARSET = -2, /* tagged NO [BADCHARSET (...)] */
};

/* The charsets listed in a BADCHARSET response code. */
#define IMAP_SEARCH_CHARSETS "UTF-8 US-ASCII"

/* Parses args[0..count) into *prog_r (caller frees with
 * imap_search_program_free()).  Returns IMAP_SEARCH_PARSE_OK, or BAD or
 * BADCHARSET with a static *error_r (and no program). */
enum imap_search_parse_result
imap_search_parse(const struct imap_arg *args, size_t count,
		  const struct imap_search_parse_opts *opts,
		  struct imap_search_program **prog_r, const char **error_r);
void imap_search_program_free(struct imap_search_program **prog);
/* A PARTIAL range (RFC 9394 section 4; the positive form is RFC 5267's):
 * partial-range-first = nz-number ":" nz-number, partial-range-last =
 * "-" nz-number ":" "-" nz-number, either order, no "*", no 0, no mixed
 * signs, 32-bit numbers. */
struct imap_partial_range {
	uint32_t lo, hi;	/* lo <= hi */
	bool last;		/* counted from the last result (-1) */
	bool reversed;		/* given as "hi:lo" (or "-hi:-lo") */
};

/* Parses arg (an atom) as a PARTIAL range.  Returns 0, or -1 when it is
 * not one. */
int imap_partial_range_parse(const struct imap_arg *arg,
			     struct imap_partial_range *range_r);
/* Appends the range as the client gave it, the responses' "original
 * range" (RFC 9394 section 3.1): "1:100", "500:400", "-1:-100". */
void imap_partial_range_append(struct str *out,
			       const struct imap_partial_range *range);
/* Which of count results (in their order) the range takes: *first_r is
 * the index of the first, *n_r how many (0 when the range is past the
 * end). */
void imap_partial_range_select(const struct imap_partial_range *range,
			       size_t count, size_t *first_r, size_t *n_r);

/* Parses the list after RETURN (SEARCH, and SORT for ESORT, RFC 5267)
 * into prog's has_return, return_opts and partial range: MIN, MAX, ALL,
 * COUNT, SAVE, "PARTIAL range" (imap_partial_range_parse(), not with
 * ALL, at most once), UPDATE and CONTEXT; "()"
 * means ALL.
 * Returns 0, or -1 with a static *error_r. */
int imap_search_return_parse(const struct imap_arg *list,
			     struct imap_search_program *prog,
			     const char **error_r);


/* Resolves the KEYWORD/UNKEYWORD names to the folder's keyword ids with
 * lookup (returns 1 and *id_r when the folder has the keyword, else 0 or
 * -1); an unknown keyword is set on no message. */
void imap_search_bind_keywords(struct imap_search_program *prog,
			       int (*lookup)(const char *name, uint32_t *id_r,
					     void *context),
			       void *context);

/* True when the program reads no message text beyond header fields for
 * which wanted() is true (no BODY or TEXT key; FROM, TO, CC, BCC,
 * SUBJECT and HEADER keys name such fields; SENT* keys need "Date"), so
 * that its content can be built from those fields alone with
 * imap_search_loader_*(). */
bool imap_search_program_fields_within(
	const struct imap_search_program *prog,
	bool (*wanted)(const char *name, size_t len));

/* True when a key of the program reads header field name (FROM, TO, CC,
 * BCC, SUBJECT, HEADER name; "Date" for the SENT* keys); TEXT and BODY
 * are not counted.  Fields no key reads may be left out of the content
 * of a program for which imap_search_program_fields_within() holds. */
bool imap_search_program_uses_field(const struct imap_search_program *prog,
				    const char *name);

/* Fixes "*" of the program's sequence and UID sets to msg_count and
 * max_uid and sorts them, so that each test takes log(ranges) time; call
 * once before evaluating, with the values the env will carry. */
void imap_search_bind_sets(struct imap_search_program *prog,
			   uint32_t msg_count, uint32_t max_uid);

/* The mailbox as the evaluator sees it. */
struct imap_search_env {
	uint32_t msg_count;	/* "*" in a sequence set */
	uint32_t max_uid;	/* "*" in a UID set */
	const uint32_t *saved;	/* $: UIDs, ascending */
	size_t saved_count;
	int64_t now;		/* WITHIN: the current time */
};

/* One message, from its index record. */
struct imap_search_msg {
	uint32_t seq, uid;
	uint8_t flags;		/* enum mail_index_flags */
	bool recent;
	uint64_t size;		/* RFC822.SIZE (when NEED_SIZE) */
	uint64_t modseq;
	int64_t internal_date;
	const uint32_t *keywords;
	size_t keyword_count;
};

/* A message's header and text as the content keys see them. */
struct imap_search_header_field {
	char *name;		/* as written */
	char *value;		/* RFC 2047-decoded, folded */
	size_t value_len;
};

struct imap_search_content {
	struct imap_search_header_field *fields;
	size_t field_count;
	bool has_date;
	int64_t sent_day;	/* the Date: field's day in its own zone */
	bool *found;		/* per needle: seen in the text */
};

#define IMAP_SEARCH_NEED_CONTENT 2

/* Evaluates the program for msg.  content NULL: returns 1 (match), 0, or
 * IMAP_SEARCH_NEED_CONTENT when the header or body must be read; with
 * content: 1 or 0. */
int imap_search_eval(const struct imap_search_program *prog,
		     const struct imap_search_env *env,
		     const struct imap_search_msg *msg,
		     const struct imap_search_content *content);

/* Most bytes of header read for search, sort and thread. */
#define IMAP_SEARCH_MAX_HEADER (1024 * 1024)

/* Builds the content of a message read from fd (from its current offset
 * to the end): only the header when the program needs no BODY/TEXT,
 * else the whole message through the MIME parser, matching every needle
 * on the decoded text as it streams by (memory does not grow with the
 * body).  Returns 0 and *content_r (free with
 * imap_search_content_free()), or -1 with *error_r on a read error. */
int imap_search_content_load(const struct imap_search_program *prog, int fd,
			     struct imap_search_content **content_r,
			     const char **error_r);
/* Builds the content of a program that needs header fields only (see
 * imap_search_program_fields_within()) from fields given one by one
 * (e.g. from the index cache): new, then imap_search_loader_field() for
 * each field in header order (name NUL-terminated, raw unfolded value of
 * value_len bytes; the signature fits imap_header_cache_parse()), then
 * finish, which returns the content (free with
 * imap_search_content_free()) and frees the loader. */
struct imap_search_loader;
struct imap_search_loader *
imap_search_loader_new(const struct imap_search_program *prog);
void imap_search_loader_field(const char *name, const char *value,
			      size_t value_len, void *loader);
struct imap_search_content *
imap_search_loader_finish(struct imap_search_loader **loader);

/* The same from a message in memory (unit tests, the fuzz target). */
struct imap_search_content *
imap_search_content_from_buffer(const struct imap_search_program *prog,
				const void *data, size_t size);
void imap_search_content_free(struct imap_search_content **content);

/* Reads the header of the message on fd (up to IMAP_SEARCH_MAX_HEADER
 * bytes) and calls cb for each field.  Returns 0, or -1 with *error_r on
 * a read error. */
int imap_search_read_header(int fd,
			    void (*cb)(const char *name, const char *value,
				       size_t value_len, void *context),
			    void *context, const char **error_r);

/* ---- the session's saved result (SEARCHRES, RFC 5182; cmd-search.c) ---- */

struct imap_client;

/* The UIDs (ascending) that "$" stands for in the client's selected
 * mailbox: set by SEARCH RETURN (SAVE ...), empty until then, after a
 * failed SEARCH ... SAVE, and in another mailbox (it is kept in struct
 * imap_mailbox, see imap_mailbox_parse_set()).  The array belongs to the
 * mailbox and stays valid until the next SEARCH or the mailbox closes.  For the other
 * commands that take a sequence set (FETCH, STORE, COPY, MOVE, UID
 * EXPUNGE): "$" resolves to these UIDs, minus the expunged ones. */
void imap_search_saved_uids(const struct imap_client *client,
			    const uint32_t **uids_r, size_t *count_r);

/* ---- live results: CONTEXT=SEARCH, CONTEXT=SORT (RFC 5267 4.3) ----
 *
 * A SEARCH or SORT with RETURN (UPDATE ...) keeps its program and result
 * in the selected mailbox (at most IMAP_SEARCH_MAX_CONTEXTS; more get an
 * untagged NO [NOUPDATE "tag"]); while the mailbox stays selected and
 * until CANCELUPDATE, every change to the result (new mail, flag changes
 * by anyone, this session included, expunges) is sent as
 * "* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set)" and "ADDTO (...)" (for
 * SEARCH position 0 and the set ascending; for SORT "pos n" pairs with
 * the final positions).  REMOVEFROM of expunged messages comes before
 * their EXPUNGE (or VANISHED). */

#define IMAP_SEARCH_MAX_CONTEXTS 16

struct imap_mailbox;

/* Phase 1 of a mailbox sync, before the expunges are reported: the
 * expunged uids (any order) leave every context's result (REMOVEFROM with
 * the sequence numbers the client still knows).  Appends to out. */
void imap_search_contexts_expunged(struct imap_client *client,
				   const uint32_t *uids, size_t count,
				   struct str *out);
/* Phase 2, after EXISTS and the FETCH updates: each context's program is
 * run again and the differences appended to out. */
void imap_search_contexts_refresh(struct imap_client *client,
				  struct str *out);
/* Frees the contexts of a mailbox (at close), and the flags table that
 * SEARCH kept for its index (mail_index_get_flags_table()). */
void imap_search_contexts_free(struct imap_mailbox *mbox);

/* ---- text folding ---- */

/* Streaming state of the folding of one text. */
struct imap_search_fold {
	bool space;		/* the last byte written was a space */
};

/* Appends UTF-8 text (len bytes) to out, case-folded (ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic letters to lower case) with every
 * run of whitespace (space, tab, CR, LF) made one space.  Invalid UTF-8
 * is copied as it is.  st carries the whitespace state across calls (may
 * be NULL for a standalone string). */
void imap_search_fold(struct imap_search_fold *st, const void *text,
		      size_t len, struct str *out);
/* The lower-case form of one code point, as imap_search_fold() maps it. */
uint32_t imap_search_fold_cp(uint32_t cp);

#endif
