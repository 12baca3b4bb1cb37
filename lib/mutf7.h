/* mutf7.h: IMAP modified UTF-7 (RFC 3501 section 5.1.3) <-> UTF-8.
 *
 * Folder names travel in modified UTF-7 on the wire (IMAP4rev1) and are
 * stored that way on disk in Courier's Maildir++ folders; callers of the
 * suite work in UTF-8.  Printable US-ASCII (0x20-0x7e) stands for itself
 * except '&', which is written "&-"; everything else is UTF-16 in a
 * modified base64 (',' instead of '/', no padding) between '&' and '-'.
 *
 * The decoder is strict: it refuses what an encoder would never produce
 * (a shift holding only printable ASCII, two shifts back to back, non-zero
 * padding bits, an unterminated shift, a raw byte outside 0x20-0x7e,
 * lone or reversed UTF-16 surrogates), so that decode(x) succeeds only for
 * the canonical spelling x and encode(decode(x)) == x.  The encoder
 * refuses invalid UTF-8 (overlong forms, surrogates, code points past
 * U+10FFFF, truncated sequences). */
#ifndef MUTF7_H
#define MUTF7_H

#include <stddef.h>
#include "str.h"

/* Appends the modified UTF-7 form of the len bytes of UTF-8 at src to dest.
 * Returns 0, or -1 if src is not valid UTF-8 (or contains NUL) or dest's
 * limit was reached; dest is then left as it was. */
int mutf7_encode(const char *src, size_t len, struct str *dest);

/* Appends the UTF-8 form of the len bytes of modified UTF-7 at src to dest.
 * Returns 0, or -1 if src is not canonical modified UTF-7 or dest's limit
 * was reached; dest is then left as it was. */
int mutf7_decode(const char *src, size_t len, struct str *dest);

/* Convenience: newly allocated NUL-terminated results (caller frees), or
 * NULL on invalid input. */
char *mutf7_encode_dup(const char *utf8);
char *mutf7_decode_dup(const char *mutf7);

/* Returns true if the len bytes at s are valid UTF-8 without NUL. */
bool mutf7_utf8_valid(const char *s, size_t len);

#endif
