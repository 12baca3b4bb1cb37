/* mime-parser.h: streaming RFC 2045/2046 MIME parser and the structure
 * tree it builds (for IMAP BODYSTRUCTURE, the webmail, maildrop and
 * reformime).
 *
 * The parser is fed a message in buffers of any size, down to one byte.
 * It keeps bounded state only (the current header field, a partial line of
 * at most MIME_PARSER_MAX_BOUNDARY + 5 bytes at a line start, the stack of
 * open multiparts) and never copies bodies: memory grows with the number
 * of parts, not with the size of the message.  Limits are set at creation.
 * Anything malformed degrades as RFC 2045 says instead of failing: a
 * missing or invalid Content-Type is text/plain (message/rfc822 inside
 * multipart/digest), a multipart without a usable boundary is text/plain,
 * a missing closing boundary ends the part at the end of its parent.  When
 * a limit is reached the rest is body of the current part and a flag is
 * set; no byte of the message is ever outside the tree.
 *
 * Boundaries: a line is a boundary of an open multipart when it starts
 * with "--" and the boundary (case-sensitive); anything may follow it
 * ("--" makes it the closing one).  Open multiparts are tried outermost
 * first, so an inner multipart that reuses its parent's boundary cannot
 * swallow the parent's parts.  The line end before a boundary line belongs
 * to the boundary (RFC 2046 section 5.1.1). */
#ifndef MIME_PARSER_H
#define MIME_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "str.h"
#include "mime-params.h"
#include "rfc822-header.h"

#define MIME_PARSER_DEFAULT_MAX_DEPTH 100
#define MIME_PARSER_DEFAULT_MAX_PARTS 10000
#define MIME_PARSER_DEFAULT_MAX_HEADER_SIZE (1024 * 1024)
#define MIME_PARSER_DEFAULT_MAX_HEADER_LINE (64 * 1024)
/* Longest boundary accepted (RFC 2046 allows 70). */
#define MIME_PARSER_MAX_BOUNDARY 200

enum mime_part_flag {
	MIME_PART_FLAG_MULTIPART = 0x0001,	/* has children by boundary */
	MIME_PART_FLAG_MESSAGE = 0x0002,	/* message/rfc822 or global:
						   one child, the message */
	MIME_PART_FLAG_TEXT = 0x0004,		/* type is text */
	MIME_PART_FLAG_MIME_VERSION = 0x0008,	/* has MIME-Version */
	MIME_PART_FLAG_DEFAULT_TYPE = 0x0010,	/* no or invalid Content-Type */
	MIME_PART_FLAG_BAD_BOUNDARY = 0x0020,	/* multipart, unusable
						   boundary: made text/plain */
	MIME_PART_FLAG_UNTERMINATED = 0x0040,	/* no closing boundary */
	MIME_PART_FLAG_NO_HEADER_END = 0x0080,	/* header ended without an
						   empty line */
	MIME_PART_FLAG_HEADER_TOO_BIG = 0x0100,	/* header limit reached */
	MIME_PART_FLAG_HEADER_BROKEN = 0x0200,	/* NUL, bare CR, line without
						   colon, or truncated field */
	MIME_PART_FLAG_HEADER_8BIT = 0x0400,	/* 8-bit bytes in header */
	MIME_PART_FLAG_LIMIT_DEPTH = 0x0800,	/* nesting limit: no children */
	MIME_PART_FLAG_LIMIT_PARTS = 0x1000,	/* part limit: rest is body */
	MIME_PART_FLAG_UNKNOWN_ENCODING = 0x2000, /* unknown transfer enc. */
	MIME_PART_FLAG_DEFAULT_ENCODING = 0x4000, /* no Content-Transfer-
						     Encoding: "7bit" */
};

struct mime_part {
	struct mime_part *parent, *next, *children, *last_child;
	unsigned int child_count;
	unsigned int index;	/* 1-based position among its siblings */
	unsigned int depth;	/* 0 for the root */

	/* Absolute byte offsets in the message: header start, body start,
	 * body end (before the line end that precedes a boundary). */
	uint64_t header_offset, body_offset, end_offset;
	uint64_t header_size, body_size;
	/* Line ends (LF) in the header (including the empty line) and in
	 * the body; a last line without a line end is not counted. */
	uint64_t header_lines, body_lines;

	/* Lowercased; never NULL once the header is parsed.  A Content-Type
	 * that is not "type/subtype" by RFC 2045 is still taken when
	 * removing its comments, quotes and spaces (type_text) makes it one
	 * ("te xt/plain", "\"text/html\""), and is multipart/mixed when
	 * type_text starts with "multipart/" (Courier's test); otherwise the
	 * default applies. */
	char *type, *subtype;
	/* The media type as written (mime_params_type_text(): lowercased,
	 * without comments, quotes and spaces: "text", "text/htmlx",
	 * "multipart/"), what Courier's reformime shows; NULL without a
	 * Content-Type, with an empty one, or when it is not honoured
	 * (require_mime_version). */
	char *type_text;
	struct mime_params type_params;
	char *disposition;	/* lowercased, or NULL */
	struct mime_params disposition_params;
	/* Field values as written (unfolded, trimmed), or NULL. */
	char *id, *description, *language, *location, *md5;
	char *encoding;		/* lowercased Content-Transfer-Encoding */
	unsigned int flags;	/* enum mime_part_flag */

	/* Parser state (private). */
	char *boundary;
	size_t boundary_len;
	uint64_t body_lines_start;
	bool header_done;
};

struct mime_parser_limits {
	unsigned int max_depth;		/* 0 = default 100 */
	unsigned int max_parts;		/* 0 = default 10,000 */
	uint64_t max_header_size;	/* per part; 0 = default 1 MiB */
	size_t max_header_line;		/* per field; 0 = default 64 KiB */
};

/* Optional callbacks; any may be NULL.  Pointers are valid only during
 * the call, except the part, which lives as long as the tree. */
struct mime_parser_callbacks {
	/* A header field of part (every field, not only Content-*). */
	void (*header)(struct mime_part *part,
		       const struct rfc822_header_field *field, void *context);
	/* The header of part is parsed: type and parameters are known. */
	void (*part_header_end)(struct mime_part *part, void *context);
	/* Raw body bytes of a leaf part (not multipart, not message). */
	void (*body)(struct mime_part *part, const void *data, size_t size,
		     void *context);
	/* Body of a leaf part decoded from its transfer encoding (base64,
	 * quoted-printable; others as they are). */
	void (*decoded_body)(struct mime_part *part, const void *data,
			     size_t size, void *context);
	/* The part ended: offsets, sizes and lines are final. */
	void (*part_end)(struct mime_part *part, void *context);
};

struct mime_parser_settings {
	struct mime_parser_limits limits;
	/* Honour Content-Type only with MIME-Version in the message's (or
	 * encapsulated message's) header, as RFC 2045 section 4 says
	 * (Courier's behaviour).  Off by default: most mail readers ignore
	 * a missing MIME-Version. */
	bool require_mime_version;
};

struct mime_parser;

/* Creates a parser; settings and callbacks may be NULL. */
struct mime_parser *
mime_parser_create(const struct mime_parser_settings *settings,
		   const struct mime_parser_callbacks *callbacks,
		   void *context);
/* Feeds the next size bytes of the message. */
void mime_parser_feed(struct mime_parser *parser, const void *data,
		      size_t size);
/* End of the message: closes every open part and returns the tree, which
 * the caller now owns (free with mime_part_free()).  The parser can then
 * only be destroyed. */
struct mime_part *mime_parser_finish(struct mime_parser *parser);
/* Frees the parser, and the tree if mime_parser_finish() was not called.
 * Sets *parser to NULL. */
void mime_parser_destroy(struct mime_parser **parser);
/* Union of the flags of all parts so far. */
unsigned int mime_parser_get_flags(const struct mime_parser *parser);

/* One-shot: parses a whole message held in memory. */
struct mime_part *mime_parse_buffer(const void *data, size_t size,
				    const struct mime_parser_settings *settings);

/* Frees a tree; sets *root to NULL. */
void mime_part_free(struct mime_part **root);

/* The encapsulated message of a message/rfc822 part, or NULL. */
static inline struct mime_part *mime_part_message(const struct mime_part *part)
{
	return (part->flags & MIME_PART_FLAG_MESSAGE) != 0 ?
		part->children : NULL;
}
/* Content-Type parameter (lowercase name), or NULL. */
const char *mime_part_param(const struct mime_part *part, const char *name);
/* Content-Disposition parameter, or NULL. */
const char *mime_part_disposition_param(const struct mime_part *part,
					const char *name);
/* The charset parameter, or "us-ascii" for text parts without one, or
 * NULL for other parts without one. */
const char *mime_part_charset(const struct mime_part *part);
/* True when type/subtype equal the given ones (subtype NULL = any). */
bool mime_part_is_type(const struct mime_part *part, const char *type,
		       const char *subtype);

/* Finds a part by IMAP section number ("1", "1.2.3"; "" = the root):
 * numbers count the children of a multipart; a message/rfc822 part is
 * entered transparently; "1" of a non-multipart is the part itself.
 * Returns NULL if there is no such part or the syntax is wrong. */
struct mime_part *mime_part_find_section(struct mime_part *root,
					 const char *section);
/* Appends part's IMAP section number to dest (nothing for the root). */
void mime_part_get_section(const struct mime_part *part, struct str *dest);

/* Depth-first walk: the part after part in document order (children
 * first, then siblings, then the parents' siblings), NULL at the end. */
struct mime_part *mime_part_walk_next(const struct mime_part *part);

#endif
