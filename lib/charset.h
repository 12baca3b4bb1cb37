/* charset.h: conversion of any charset to UTF-8.
 *
 * UTF-8, US-ASCII and ISO-8859-1 are converted here (the answers iconv
 * gives, without loading its modules), any other charset by iconv.
 * Invalid or truncated input sequences never stop a conversion: each is
 * replaced by U+FFFD (or dropped: charset_set_drop_invalid()) and
 * reported in the result.  An
 * unknown charset is a clear result (-1), and the caller still gets text:
 * the input as UTF-8 where it is valid, U+FFFD elsewhere. */
#ifndef CHARSET_H
#define CHARSET_H

#include <stddef.h>
#include <stdbool.h>
#include "str.h"

/* Result of a conversion. */
enum charset_result {
	CHARSET_RESULT_UNKNOWN = -1,	/* charset not known: input sanitized */
	CHARSET_RESULT_INVALID = 0,	/* converted; some bytes replaced */
	CHARSET_RESULT_OK = 1,		/* converted cleanly */
};

/* For the whole process: invalid input sequences are dropped instead of
 * replaced by U+FFFD, and US-ASCII is strict (a byte above 127 is
 * invalid, not taken as UTF-8), as Debian's maildrop (courier-unicode)
 * converts.  maildrop sets it; IMAP does not. */
void charset_set_drop_invalid(bool drop);

/* True for names of UTF-8 and of its subsets (us-ascii and aliases). */
bool charset_is_utf8(const char *charset);

/* Converts len bytes of src from charset to UTF-8, appending to dest. */
enum charset_result charset_to_utf8(const char *charset, const void *src,
				    size_t len, struct str *dest);

/* Appends src to dest with every invalid UTF-8 sequence (including
 * overlong forms and surrogates) replaced by U+FFFD.  Returns true if src
 * was valid. */
bool charset_utf8_sanitize(struct str *dest, const void *src, size_t len);
/* True when src is valid UTF-8. */
bool charset_utf8_is_valid(const void *src, size_t len);

/* Streaming conversion: input may be split anywhere, an incomplete
 * trailing sequence (at most 16 bytes) is kept for the next call. */
struct charset_translation;
/* Returns NULL and *error_r for an unknown charset. */
struct charset_translation *charset_translation_create(const char *charset,
						       const char **error_r);
void charset_translation_destroy(struct charset_translation **t);
/* Converts and appends; returns false if some input was replaced so far. */
bool charset_translation_feed(struct charset_translation *t, const void *src,
			      size_t len, struct str *dest);
/* Flushes a kept incomplete sequence (replaced) at end of input. */
bool charset_translation_finish(struct charset_translation *t,
				struct str *dest);

#endif
