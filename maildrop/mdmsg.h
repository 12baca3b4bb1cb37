/* mdmsg.h: the message maildrop filters, and its pattern engine.
 *
 * The message is held in memory (bounded by a limit set when it is read).
 * Patterns do not run on the raw text but on canonical lines, built once
 * on first use, as Debian's maildrop does:
 *   header lines: "Name: value" for every field of the top-level header
 *     (and, for a MIME message, of every MIME part), folded lines joined
 *     with a space, leading blanks of the value removed, RFC 2047 words
 *     decoded to UTF-8;
 *   body lines: for a MIME message (with MIME-Version), the text parts
 *     decoded (base64, quoted-printable) and converted to UTF-8; for any
 *     other message the body as it is.
 * Address headers (From, To, Cc, ...) are rewritten as "name <addr>, addr"
 * (a comment becomes the name).  Lines keep the message's order (a part's
 * header, then its text); a text part whose last line has no line end
 * runs into the next line, and the message's last line is not seen at all
 * if it has no line end (unless a boundary ends the text part it is
 * in, which Debian's sees),
 * as in Debian's maildrop.
 * Each line is matched on its own with PCRE2 (caseless unless the D
 * option is given).  A weighted pattern "/re/:opts,w,f" scores w for the
 * first matching line, w*f for the second, and so on. */
#ifndef MDMSG_H
#define MDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "str.h"

struct md_message {
	struct str data;	/* the whole message */
	size_t header_end;	/* offset of the body (after the blank line) */
	unsigned long line_count;	/* lines in the message */
	/* canonical lines, built on first use */
	bool canon_done;
	/* the last text part ended at a boundary, not at the end of the
	 * message: its pending last line is seen */
	bool partial_closed;
	char **lines;		/* in message order */
	unsigned char *kinds;	/* enum md_line_kind bits of each line */
	size_t nlines, cap;
	/* the lines a pattern sees, per set of kinds (built on first use):
	 * a line without a line end runs into the next selected line,
	 * and is dropped when it is the last one */
	struct md_lines {
		bool done;
		char **v;
		unsigned char *kind; /* enum md_subject_kind of v[i] */
		size_t n;
	} sel[8];
};

enum md_line_kind {
	MD_LINE_MAIN_HEADER = 0x01,
	MD_LINE_PART_HEADER = 0x02,
	MD_LINE_BODY = 0x04,
	MD_LINE_PARTIAL = 0x08,	/* no line end: runs into the next line */
};

struct md_message *md_message_new(void);
void md_message_free(struct md_message **msg);
/* Replaces the contents (after xfilter); resets the canonical lines. */
void md_message_set(struct md_message *msg, const void *data, size_t len);
/* Reads the message from fd, at most max_size bytes (0 = unlimited).
 * Returns 0, or -1 with errno (EFBIG when too large). */
int md_message_read_fd(struct md_message *msg, int fd, size_t max_size);

/* The unfolded value of the first header field name (case-insensitive)
 * of the top-level header, or NULL; caller frees. */
char *md_message_header(const struct md_message *msg, const char *name);

/* A compiled pattern. */
struct md_pattern;

/* md_pattern_compile() flag beyond the MD_PAT_* ones, for tests: always
 * PCRE2, never the simple matcher below. */
#define MD_PATTERN_NO_LITERAL 0x100
/* Compiles re (len bytes) with the MD_PAT_* flags.  Returns NULL with
 * *error_r (caller frees) when PCRE2 refuses it.
 * A simple pattern (mdsimple.h: ASCII text, an optional leading ^, one
 * .*, groups of alternative words: /offer1/, /^Subject:.*money5/,
 * /^(From|To):.*x@/) is not compiled unless it has to be: against a
 * subject that is valid UTF-8, starting on a character boundary, it is
 * matched by mdsimple.c, which finds exactly what PCRE2 finds there;
 * PCRE2 compiles it for any other subject, and for a subject with
 * U+212A KELVIN SIGN or U+017F LONG S when the pattern has a caseless k
 * or s (caseless UTF-8 matching is Unicode's: k also matches U+212A,
 * s U+017F). */
struct md_pattern *md_pattern_compile(const char *re, size_t len,
				      unsigned int flags, char **error_r);
void md_pattern_free(struct md_pattern **pat);
/* VERBOSE 3 and more: the searches below write, as Debian's maildrop
 * does, "Matching /re/ against LINE" for every line tried to stream,
 * then "Not matched." for a line that does not match (message lines
 * only), and for the line an unweighted search stops at the same text a
 * second time without a line end.  stream NULL turns it off. */
void md_pattern_set_trace(struct md_pattern *pat, FILE *stream,
			  const char *re);

/* Captures of the last successful match: [0] is the whole match. */
struct md_match {
	char **groups;
	size_t ngroups;
};
void md_match_clear(struct md_match *m);

/* Matches pat against subject (len bytes).  Returns 1 and fills *m (may
 * be NULL), 0 for no match, -1 on a matching error (limit reached).
 * A subject that is not valid UTF-8 is matched as PCRE2 does with
 * PCRE2_MATCH_INVALID_UTF (an invalid sequence matches nothing). */
int md_pattern_exec(struct md_pattern *pat, const char *subject, size_t len,
		    size_t start, size_t *end_r, struct md_match *m);
/* What a subject is made of (md_subject_kind()). */
enum md_subject_kind {
	MD_SUBJECT_INVALID,	/* not valid UTF-8 */
	MD_SUBJECT_UTF8_FOLDS,	/* valid UTF-8 with U+212A or U+017F */
	MD_SUBJECT_UTF8,	/* other valid UTF-8, not all ASCII */
	MD_SUBJECT_ASCII,	/* bytes 1 to 127 only (or empty) */
};
enum md_subject_kind md_subject_kind(const char *s, size_t len);
/* The same as md_pattern_exec() when the caller already knows the
 * subject's kind (md_subject_kind(subject, len)): a message's lines are
 * looked at once for all the patterns tried on them.  Any start is
 * allowed (one inside a character is matched as md_pattern_exec()
 * does). */
int md_pattern_exec_checked(struct md_pattern *pat, const char *subject,
			    size_t len, enum md_subject_kind kind,
			    size_t start, size_t *end_r, struct md_match *m);

/* Matches pat against the message lines chosen by flags (h, b, H).
 * Unweighted: stops at the first match; returns its score (Debian's
 * maildrop reports 2 for a found unweighted pattern, 0 otherwise) and
 * fills *m.  Weighted: the sum of weights over matching lines; *m gets
 * the first match.  Sets *score_r; returns 0, or -1 on a match error. */
int md_message_search(struct md_message *msg, struct md_pattern *pat,
		      unsigned int flags, bool weighted, double weight,
		      double factor, double *score_r, struct md_match *m);

/* Calls cb for every match (several per line) of pat in the message lines
 * chosen by flags, with the match's groups (m->groups[0] the whole match;
 * valid during the call); cb returns 0 to go on, -1 to stop.  Returns 0,
 * or -1 if cb stopped or matching failed. */
typedef int md_foreach_cb(const struct md_match *m, void *context);
int md_message_foreach(struct md_message *msg, struct md_pattern *pat,
		       unsigned int flags, md_foreach_cb *cb, void *context);
/* The same over one string. */
int md_string_foreach(const char *s, size_t len, struct md_pattern *pat,
		      md_foreach_cb *cb, void *context);

#endif
