/* rfc2047.h: MIME encoded-words in headers (RFC 2047), decoded to UTF-8,
 * and encoding of UTF-8 text into encoded-words.
 *
 * The decoder handles "B" and "Q" words in any charset iconv knows (and
 * the RFC 2231 "charset*language" form), drops the whitespace between
 * adjacent encoded-words, joins their bytes before conversion (so a
 * character split across two words survives), and leaves malformed words
 * as they are.  Text outside encoded-words is passed as UTF-8 with invalid
 * sequences replaced by U+FFFD; an unknown charset gives U+FFFD too. */
#ifndef RFC2047_H
#define RFC2047_H

#include <stddef.h>
#include <stdbool.h>
#include "str.h"

/* Decodes len bytes of src, appending UTF-8 to dest.  Returns true if
 * every encoded-word was valid and every charset known. */
bool rfc2047_decode(struct str *dest, const char *src, size_t len);

/* Appends utf8 (len bytes) to dest, turning the words that need it (8-bit,
 * control characters, or text that looks like an encoded-word) into
 * "=?UTF-8?Q?...?=" encoded-words of at most 75 characters, never split
 * inside a UTF-8 character.  Text that needs nothing is copied as is. */
void rfc2047_encode(struct str *dest, const char *utf8, size_t len);

#endif
