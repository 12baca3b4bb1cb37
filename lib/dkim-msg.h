/* dkim-msg.h: a message as DKIM sees it (RFC 6376 5.4, 3.7): the header
 * fields collected with bounds (over lib/rfc822-header.h), the selection
 * of the fields an h= tag names (bottom-up, a missing instance counts as
 * empty), their canonical form, and the b= value removed from a
 * DKIM-Signature field.  Shared by the verifier (dkim-verify.h) and the
 * signer (dkim-sign.h).
 *
 * The message is fed in pieces of any size with CRLF or LF line ends;
 * line breaks inside fields are kept as CRLF (what "simple" wants).  The
 * header is bounded by max_header bytes: past it the header is cut and
 * dkim_msg_header_too_big() says so (callers then give up on DKIM). */
#ifndef DKIM_MSG_H
#define DKIM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim.h"
#include "str.h"

#define DKIM_MSG_DEFAULT_MAX_HEADER (1024 * 1024)
/* Most header fields kept. */
#define DKIM_MSG_MAX_FIELDS 1000

struct dkim_msg_field {
	char *name;		/* as written (no trailing blanks) */
	size_t name_len;
	char *value;		/* everything after the colon, CRLF breaks,
				   without the final line end */
	size_t value_len;
};

struct dkim_msg;

/* max_header 0 = DKIM_MSG_DEFAULT_MAX_HEADER. */
struct dkim_msg *dkim_msg_create(uint64_t max_header);
void dkim_msg_destroy(struct dkim_msg **m);
/* Feeds header bytes.  Returns 0 when all of them belong to the header,
 * or 1 when the header ended: *used_r bytes were header (with the empty
 * line), the rest of data is body.  After 1, returns 1 with *used_r 0. */
int dkim_msg_feed(struct dkim_msg *m, const void *data, size_t len,
		  size_t *used_r);
/* The input ended (a message without a body): ends the header. */
void dkim_msg_finish(struct dkim_msg *m);
bool dkim_msg_header_done(const struct dkim_msg *m);
bool dkim_msg_header_too_big(const struct dkim_msg *m);
size_t dkim_msg_field_count(const struct dkim_msg *m);
const struct dkim_msg_field *dkim_msg_field(const struct dkim_msg *m,
					    size_t i);
/* The index of the last field named name (case-insensitive) before
 * index `before` (SIZE_MAX: all), or -1. */
long dkim_msg_find_last(const struct dkim_msg *m, const char *name,
			size_t before);

/* Appends the canonical form of the fields h= names (names[0..count)),
 * each instance taken from the bottom up, skipping field number `skip`
 * (the signature itself; SIZE_MAX for none).  A name with no instance
 * left adds nothing. */
void dkim_msg_select(const struct dkim_msg *m, char *const *names,
		     size_t count, enum dkim_canon canon, size_t skip,
		     struct str *out);
/* Appends value (a DKIM-Signature value) with the value of its b= tag
 * removed (the tag itself and everything else kept as written). */
void dkim_msg_strip_b(struct str *out, const char *value, size_t len);

#endif
