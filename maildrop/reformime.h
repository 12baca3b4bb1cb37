/* reformime.h: the message rewriting of reformime -r/-r7/-r8 (Courier's
 * rfc2045 rewrite), shared by the program, its unit test and its fuzz
 * target.
 *
 * The message is parsed first by lib/mime-parser (with
 * require_mime_version set, as Courier does); the rewriter then walks the
 * tree and reads back the bytes it needs through a callback, so the
 * message may live in memory or in a file.  Output is written with
 * stdio.  What it does, as Debian's reformime 2.9.3 does:
 *
 * - every part's Content-Type is rewritten from its parsed type and its
 *   parameters (names lowercased, comments dropped, values quoted when
 *   they need it); text parts without a charset get the default one;
 *   multiparts get a new boundary;
 * - a message (the top one, or one inside message/rfc822) gets
 *   "Mime-Version: 1.0" with Content-Type and Content-Transfer-Encoding
 *   where its Mime-Version header was, or after its header when it had
 *   none; a body part gets them before its other headers;
 * - leaf parts: 7bit/8bit/raw/unknown encodings become "7bit" when the
 *   data is 7-bit, with -r7 8-bit data becomes quoted-printable; with -r8
 *   quoted-printable becomes 8bit (or 7bit) when no decoded line is
 *   longer than REFORMIME_R8_MAX_LINE; base64 is left alone; every
 *   conversion is noted in an X-Mime-Autoconverted header;
 * - multipart preambles become Courier's fixed text, epilogues go.
 *
 * reformime_dsn() is the -d/-D reader of delivery status notifications.
 *
 * Limits: a part's header is read back up to the parser's header limit;
 * -r8 decodes a part twice (once to measure, once to write) and holds
 * at most REFORMIME_CHUNK bytes at a time. */
#ifndef REFORMIME_H
#define REFORMIME_H

#include <stdint.h>
#include <stdio.h>
#include "mime-parser.h"

#define REFORMIME_R8_MAX_LINE 500
#define REFORMIME_CHUNK (64 * 1024)
/* Courier's multipart preamble */
#define REFORMIME_PREAMBLE \
	"This is a MIME-formatted message.  If you see this text it means " \
	"that your\nE-mail software does not support MIME-formatted " \
	"messages.\n"
#define REFORMIME_DSN_MAX_SIZE (4 * 1024 * 1024)

enum reformime_rewrite_mode {
	REFORMIME_RW = 0,	/* -r */
	REFORMIME_RW_7BIT,	/* -r7 */
	REFORMIME_RW_8BIT,	/* -r8 */
};

/* Reads up to len bytes at off; returns how many (0 at the end). */
typedef size_t reformime_read_t(void *context, uint64_t off, void *buf,
				size_t len);

struct reformime_rewrite {
	enum reformime_rewrite_mode mode;
	/* charset given to text parts without one (never NULL) */
	const char *charset;
	/* boundaries are boundary_prefix followed by a counter ("-2",
	 * "-3", ...): Courier's "=_host-pid-time-0001" */
	const char *boundary_prefix;
	/* "reformime (maildrop 2.9.3)": who converted, for
	 * X-Mime-Autoconverted */
	const char *agent;
	reformime_read_t *read;
	void *context;
	uint64_t size;		/* message size */
	FILE *out;
	/* private */
	unsigned int boundary_counter;
};

/* Writes the rewritten message of tree root to rw->out.  rw->read must
 * give the bytes the tree was parsed from.  Never fails on malformed
 * input (the parser has made a tree of it); write errors are left in
 * ferror(rw->out). */
void reformime_rewrite(const struct mime_part *root,
		       struct reformime_rewrite *rw);

/* True when a line of the message's body (as it is, or decoded for a
 * quoted-printable leaf) starts with "--" and prefix, without
 * case: rw->boundary_prefix must then be another one (Courier's counter
 * "0001" goes up).  Uses rw->read, rw->context and rw->size. */
bool reformime_boundary_clash(const struct mime_part *root,
			      struct reformime_rewrite *rw,
			      const char *prefix);

/* Appends Courier's rendering of a Content-Type value's parameters
 * ("; name=value" for each, in order), dropping the first token
 * (type/subtype) and any parameter called skip (may be NULL; "boundary"
 * for multiparts).  Sets *has_charset_r when a charset parameter was
 * written.  value is len bytes (unfolded). */
void reformime_params(struct str *dest, const char *value, size_t len,
		      const char *skip, bool *has_charset_r);

/* Finds lines that start with a prefix (compared without case) in a
 * stream fed in pieces: how reformime checks that a new boundary does not
 * occur in the text.  Holds no copy of the data. */
struct reformime_linescan {
	const char *prefix;	/* not copied: must outlive the scan */
	size_t len, matched;
	bool bol;		/* still matching the current line's start */
	bool found;
};

/* Starts a scan for lines starting with prefix. */
void reformime_linescan_init(struct reformime_linescan *s,
			     const char *prefix);
/* Feeds n bytes; s->found is set once a line started with the prefix. */
void reformime_linescan_feed(struct reformime_linescan *s, const void *data,
			     size_t n);

/* -d/-D: prints "action address" to out for each recipient group of the
 * message/delivery-status part of root (the second part of a
 * multipart/report with report-type=delivery-status), the address from
 * Final-Recipient, or with original from Original-Recipient when there is
 * one (only "rfc822;" addresses).  The part is read through read/context,
 * at most REFORMIME_DSN_MAX_SIZE bytes of it; a last line without a line
 * end is not read, as Courier's.  Returns 0, or 1 when the message is not
 * such a report. */
int reformime_dsn(const struct mime_part *root, reformime_read_t *read,
		  void *context, bool original, FILE *out);

/* ---- header coding (reformime-hdr.c) ---- */

struct str;

/* -o (phrase false) and the display names of -O (phrase true): appends
 * text[0..len) with every run of words that need encoding (an 8-bit or
 * control byte; for unstructured text also '"', '=', '?', '_') as encoded
 * words labelled charset, the bytes themselves not converted, as
 * Debian's reformime: Q or B, whichever is shorter for the whole run (B
 * on a tie), 24 characters in the first word of a run that starts the
 * text and 38 in the others.  Blanks outside the runs are kept. */
void reformime_encode_words(struct str *out, const char *text, size_t len,
			    const char *charset, bool phrase);

enum reformime_addr_mode {
	REFORMIME_ADDR_DISPLAY,	/* -H: decoded, one address a line */
	REFORMIME_ADDR_ENCODE,	/* -O: encoded, folded list */
	REFORMIME_ADDR_INLINE,	/* -u: decoded, one line */
};

/* Appends the address list value[0..len) (lib/rfc822-addr's parser, its
 * default limits) rendered as the mode says: display names unquoted
 * unless they need quotes, a comment standing in for a missing name,
 * "<>" and routes kept, malformed entries left out; no line end at the
 * end.  A value longer than the parser takes is appended as it is. */
void reformime_addr_header(struct str *out, const char *value, size_t len,
			   enum reformime_addr_mode mode, const char *charset);

/* Whether -u shows a header (name without colon) as an address list. */
bool reformime_is_addr_header(const char *name);

#endif
