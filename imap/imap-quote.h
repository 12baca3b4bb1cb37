/* imap-quote.h: writing IMAP strings in responses.
 *
 * A string goes out as a quoted string when it can (no CR, LF or NUL, no
 * 8-bit bytes unless utf8 is allowed, and at most IMAP_QUOTE_MAX bytes),
 * else as a literal {n}CRLF followed by the bytes.  An astring is written
 * as an atom when it is one, an nstring as NIL when absent. */
#ifndef IMAP_QUOTE_H
#define IMAP_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* Longest string written quoted; longer ones become literals. */
#define IMAP_QUOTE_MAX 1024

/* True when data can be sent as a quoted string (see above). */
bool imap_quote_can_quote(const void *data, size_t len, bool utf8);
/* Appends data as a string: quoted or literal.  utf8: 8-bit bytes may be
 * quoted (UTF8=ACCEPT). */
void imap_quote_string(struct str *out, const void *data, size_t len,
		       bool utf8);
/* As imap_quote_string() for a C string. */
void imap_quote_cstr(struct str *out, const char *s, bool utf8);
/* nstring: NIL when s is NULL. */
void imap_quote_nstring(struct str *out, const char *s, bool utf8);
/* astring: a bare atom when s is one (and not "NIL"), else a string. */
void imap_quote_astring(struct str *out, const char *s, bool utf8);
/* A literal always: {len}CRLF and the bytes, each NUL sent as 0x80
 * (CHAR8 of RFC 3501/9051 has no NUL; the length stays as announced). */
void imap_quote_literal(struct str *out, const void *data, size_t len);
/* A literal8 (RFC 3516, for BINARY[]): ~{len}CRLF and the bytes as
 * they are, NUL included. */
void imap_quote_literal8(struct str *out, const void *data, size_t len);

#endif
