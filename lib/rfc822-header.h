/* rfc822-header.h: streaming parser for an RFC 5322 header block, and
 * header folding/unfolding.
 *
 * The parser is fed the bytes of a header block in buffers of any size
 * (down to one byte).  It reports each complete field (name, unfolded
 * value) through a callback as soon as the next line shows the field is
 * over, and says when the block ends (an empty line).  It keeps only the
 * current field, bounded by a limit: a longer field is still consumed but
 * its value is truncated and flagged.  The whole block is bounded too:
 * past max_header_size the header is declared over (the caller treats the
 * rest as body) and RFC822_HEADER_FLAG_TOO_BIG is set.
 *
 * Accepted beyond RFC 5322 section 2.2 (the obsolete forms of section 4
 * and real-world breakage): whitespace between a field name and its colon,
 * LF-only line ends, bare CR, NUL and 8-bit bytes (kept in the value and
 * flagged), and lines with no colon (reported as "broken" fields so that
 * nothing is lost). */
#ifndef RFC822_HEADER_H
#define RFC822_HEADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "str.h"

#define RFC822_HEADER_DEFAULT_MAX_FIELD (64 * 1024)
#define RFC822_HEADER_DEFAULT_MAX_SIZE (1024 * 1024)

struct rfc822_header_limits {
	/* Bytes of one field (name, colon and unfolded value) that are kept;
	 * the rest is consumed and dropped.  0 = default (64 KiB). */
	size_t max_field_size;
	/* Bytes of the whole header block; when reached the block ends
	 * there.  0 = default (1 MiB). */
	uint64_t max_header_size;
};

enum rfc822_header_flag {
	RFC822_HEADER_FLAG_NUL = 0x01,		/* a NUL byte was seen */
	RFC822_HEADER_FLAG_8BIT = 0x02,		/* bytes >= 0x80 were seen */
	RFC822_HEADER_FLAG_BARE_CR = 0x04,	/* CR not followed by LF */
	RFC822_HEADER_FLAG_TRUNCATED = 0x08,	/* a field exceeded the limit */
	RFC822_HEADER_FLAG_TOO_BIG = 0x10,	/* block exceeded the limit */
	RFC822_HEADER_FLAG_BROKEN = 0x20,	/* a line had no colon */
	RFC822_HEADER_FLAG_NO_END = 0x40,	/* input ended inside the block */
};

struct rfc822_header_field {
	/* Field name as written, without the whitespace before the colon.
	 * Empty for a broken line (no colon): then value is the line. */
	const char *name;
	size_t name_len;
	/* Unfolded value: line breaks of folded lines removed, leading and
	 * trailing whitespace removed.  NUL-terminated, may contain NULs. */
	const char *value;
	size_t value_len;
	/* Offset of the field's first byte from the start of the block,
	 * its size in bytes (with line ends) and physical lines. */
	uint64_t offset;
	uint64_t size;
	unsigned int lines;
	bool broken;	/* line without a colon */
	bool truncated;	/* longer than max_field_size: value cut */
};

/* Called for each field; the field and its strings are valid only during
 * the call. */
typedef void rfc822_header_callback_t(const struct rfc822_header_field *field,
				      void *context);

struct rfc822_header_parser;

/* Creates a parser; limits may be NULL for the defaults. */
struct rfc822_header_parser *
rfc822_header_parser_create(const struct rfc822_header_limits *limits);
/* Frees the parser and sets *parser to NULL (NULL is harmless). */
void rfc822_header_parser_destroy(struct rfc822_header_parser **parser);
/* Makes the parser ready for a new header block (keeps the limits). */
void rfc822_header_parser_reset(struct rfc822_header_parser *parser);

/* Feeds size bytes.  Complete fields are passed to callback (may be NULL).
 * Returns 0 when all the bytes were consumed and the block goes on, or 1
 * when the block ended: *consumed_r then says how many bytes belonged to
 * it (including the empty line); the rest is the body.  After 1, feeding
 * again returns 1 with nothing consumed until reset. */
int rfc822_header_parser_feed(struct rfc822_header_parser *parser,
			      const void *data, size_t size,
			      size_t *consumed_r,
			      rfc822_header_callback_t *callback,
			      void *context);
/* End of input: passes the pending field, if any, to callback and sets
 * RFC822_HEADER_FLAG_NO_END if the block had not ended. */
void rfc822_header_parser_finish(struct rfc822_header_parser *parser,
				 rfc822_header_callback_t *callback,
				 void *context);

/* Bitmask of enum rfc822_header_flag seen so far. */
unsigned int rfc822_header_parser_get_flags(const struct rfc822_header_parser *parser);
/* Bytes and line ends (LF) consumed so far in this block. */
uint64_t rfc822_header_parser_get_size(const struct rfc822_header_parser *parser);
uint64_t rfc822_header_parser_get_lines(const struct rfc822_header_parser *parser);

/* Unfolds a raw field value: removes CR and LF of line breaks (RFC 5322
 * section 2.2.3), appending the result to dest. */
void rfc822_header_unfold(struct str *dest, const char *value, size_t len);

/* Appends "Name: value" folded at whitespace so that lines stay within
 * line_len columns (78 if 0) where the value allows it, each line ending
 * with eol ("\r\n" or "\n"), the last one too.  A word longer than a line
 * is left whole (never broken inside).  Existing line breaks in value are
 * unfolded first. */
void rfc822_header_fold(struct str *dest, const char *name, const char *value,
			size_t line_len, const char *eol);

#endif
