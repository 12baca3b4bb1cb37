/* base64.h: base64 (RFC 4648 section 4) encoding and decoding.
 *
 * One codec for the whole suite: SASL, MIME bodies, DKIM.  The one-shot
 * decoder is strict (for SASL: bad characters or padding fail); the
 * streaming decoder is lenient as RFC 2045 section 6.8 asks of MIME
 * bodies (skips characters outside the alphabet, stops at padding). */
#ifndef BASE64_H
#define BASE64_H

#include <stddef.h>
#include <stdbool.h>
#include "str.h"

/* Appends the encoding of data to dest.  line_len > 0 breaks lines with
 * CRLF every line_len output characters (76 for MIME), 0 gives one line. */
void base64_encode(struct str *dest, const void *data, size_t len,
		   size_t line_len);
/* The value (0-63) of a base64 alphabet character, -2 for '=', -1 for
 * any other byte. */
int base64_char_value(unsigned char c);
/* Strict decode of a whole string; returns 0, or -1 on any invalid input
 * or when dest's size limit is reached (dest then holds a prefix). */
int base64_decode_strict(struct str *dest, const char *src, size_t len);

/* Streaming, lenient decoder for MIME bodies. */
struct base64_decoder {
	unsigned int bits;	/* accumulated bits */
	unsigned int nbits;	/* number of bits in "bits" */
	bool finished;		/* padding seen: ignore the rest */
	bool had_error;		/* input had characters outside the alphabet */
};
void base64_decoder_init(struct base64_decoder *dec);
/* Decodes len bytes of src, appending output to dest (output past dest's
 * size limit is dropped: the caller sets the limit it can afford). */
void base64_decoder_feed(struct base64_decoder *dec, const void *src,
			 size_t len, struct str *dest);

#endif
