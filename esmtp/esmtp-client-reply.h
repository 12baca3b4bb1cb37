/* esmtp-client-reply.h: the ESMTP client's reader of server replies
 * (RFC 5321 section 4.2) and of the EHLO keywords.
 *
 * The parser is fed the bytes the server sent, in pieces of any size, and
 * says when a whole reply (one or more lines "ddd-text", ending with
 * "ddd text" or "ddd") is there.  Lines end in CRLF or a bare LF.  It is
 * bounded: a line longer than max_line bytes, more than max_lines lines in
 * one reply, a line that does not begin with a reply code, a NUL byte, or
 * a continuation line with another code than the first are errors, after
 * which the session is unusable (the client drops the connection and
 * tries later).
 *
 *	struct esmtp_reply reply;
 *	esmtp_reply_init(&reply);
 *	r = esmtp_reply_parser_feed(p, buf, len, &used, &reply, &error);
 *	  1: reply complete (bytes after `used` are the next reply's);
 *	  0: all len bytes taken, need more;
 *	 -1: protocol error, *error_r says which.
 *	esmtp_reply_free(&reply); */
#ifndef ESMTP_CLIENT_REPLY_H
#define ESMTP_CLIENT_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

#define ESMTP_REPLY_DEFAULT_MAX_LINE 4096
#define ESMTP_REPLY_DEFAULT_MAX_LINES 128

struct esmtp_reply {
	unsigned int code;	/* 200 .. 599 */
	/* RFC 3463 enhanced code of the first line ("5.1.1"), or "". */
	char enhanced[16];
	/* Every line as sent, without its line ending, joined with '\n':
	 * "250-mx.example.com\n250 PIPELINING". */
	struct str full;
	/* The text of each line after the code and separator, NUL-separated
	 * (line i starts at offsets[i]). */
	struct str text;
	size_t *offsets;
	size_t line_count, offsets_alloc;
};

struct esmtp_reply_parser;

void esmtp_reply_init(struct esmtp_reply *reply);
/* Frees the reply's memory (it may be initialised again). */
void esmtp_reply_free(struct esmtp_reply *reply);
/* Forgets the lines of reply, keeping its memory. */
void esmtp_reply_clear(struct esmtp_reply *reply);
/* The text of line i (after "ddd-" / "ddd "), NUL-terminated. */
const char *esmtp_reply_line(const struct esmtp_reply *reply, size_t i);
/* The reply on one line for logs and control files: the lines of full
 * joined with "  " (Courier writes multi-line replies that way). Caller
 * frees. */
char *esmtp_reply_oneline(const struct esmtp_reply *reply);

/* max_line: longest line without its ending (0 = default); max_lines:
 * lines per reply (0 = default). */
struct esmtp_reply_parser *esmtp_reply_parser_create(size_t max_line,
						     unsigned int max_lines);
void esmtp_reply_parser_destroy(struct esmtp_reply_parser **p);
/* Changes the lines allowed per reply (0 = default), e.g. for a 558
 * reply that holds one reply per recipient. */
void esmtp_reply_parser_set_max_lines(struct esmtp_reply_parser *p,
				      unsigned int max_lines);
/* Forgets a partial line or reply (after STARTTLS). */
void esmtp_reply_parser_reset(struct esmtp_reply_parser *p);
/* True when a reply has begun but is not complete. */
bool esmtp_reply_parser_busy(const struct esmtp_reply_parser *p);
/* The complete lines of the reply being read (line_count 0 when none
 * has come yet; code set once one has): valid until the next call into
 * the parser.  For a 558 lost half-way (draft-varshavchik-exdata-smtpext
 * section 7.2: the recipients' replies received whole still count). */
const struct esmtp_reply *
esmtp_reply_parser_partial(const struct esmtp_reply_parser *p);
/* Feeds len bytes.  Returns 1 with *reply filled (cleared first) and
 * *used_r bytes taken when a reply is complete; 0 when every byte was
 * taken and more are needed; -1 with a static *error_r on a protocol
 * error (the parser must then be reset before reuse). */
int esmtp_reply_parser_feed(struct esmtp_reply_parser *p, const void *data,
			    size_t len, size_t *used_r,
			    struct esmtp_reply *reply, const char **error_r);

/* What an EHLO reply advertises. */
struct esmtp_ehlo {
	bool pipelining, eightbitmime, dsn, starttls, smtputf8;
	bool enhancedstatuscodes, size;
	/* Courier's Extended DATA Reply: XEXDATA (what Courier sends) or
	 * EXDATA (the draft's name) */
	bool exdata;
	uint64_t size_max;	/* 0: SIZE without a number */
	/* AUTH mechanisms, space-separated, uppercased (at most 512 bytes),
	 * "" when AUTH is not advertised. */
	char auth[513];
};

/* Reads the keywords of a 250 EHLO reply (every line after the first);
 * unknown keywords and malformed parameters are ignored. */
void esmtp_ehlo_parse(const struct esmtp_reply *reply,
		      struct esmtp_ehlo *ehlo);

/* Splits a 558 Extended DATA Reply (draft-varshavchik-exdata-smtpext
 * sections 5 and 7.1): the text of each line of reply (after "558-" or
 * "558 ") is a line of a recipient's own reply, "NNN-text" or "NNN text"
 * (NNN from 200 to 599, one code per recipient's reply), which ends with
 * its "NNN text" line.  Fills at most max entries of subs with the
 * recipients' replies, each on one line as esmtp_reply_oneline() makes
 * them (caller frees), and *codes_r (may be NULL) with their codes;
 * returns how many were complete and well-formed, in order (it stops at
 * the first malformed line: section 7.2 treats the rest as 451). */
size_t esmtp_reply_exdata_split(const struct esmtp_reply *reply, char **subs,
				unsigned int *codes_r, size_t max);

#endif
