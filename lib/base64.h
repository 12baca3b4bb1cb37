/* base64.h: base64 (RFC 4648 section 4) encoding and decoding.
 *
 * One codec for the whole suite: SASL, MIME bodies, DKIM, reformime.  The
 * one-shot decoder is strict (for SASL: bad characters or padding fail);
 * the streaming decoder is lenient as RFC 2045 section 6.8 asks of MIME
 * bodies (skips characters outside the alphabet), and either stops at the
 * padding or goes on after it as Courier's reformime does. */
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

/* Streaming, lenient decoder for MIME bodies (RFC 2045 section 6.8):
 * input split anywhere, characters outside the alphabet skipped (and
 * flagged in had_error, except whitespace).  What "=" does is the
 * decoder's padding mode:
 *
 * BASE64_PAD_STOP: the first "=" ends the data; the rest is ignored.
 *
 * BASE64_PAD_GROUPS: Courier's reformime: characters of the alphabet
 * and "=" are taken in groups of four; "=" in the third or fourth place
 * suppresses that output byte, and decoding goes on after the padding
 * (concatenated base64 chunks).  An "=" elsewhere in a group stands for
 * the value 99 (the garbage Debian's reformime produces, reproduced byte
 * for byte) and is flagged in had_error.  A last, incomplete group still
 * gives the bytes its bits hold (Debian's drops them).
 *
 * Before the first "=" both give the same bytes. */
enum base64_padding {
	BASE64_PAD_STOP,
	BASE64_PAD_GROUPS,
};
struct base64_decoder {
	enum base64_padding padding;
	unsigned int pos;	/* place in the group of four (0-3) */
	unsigned int prev;	/* value of the group's previous character
				 * (99 for "=") */
	bool finished;		/* BASE64_PAD_STOP: padding seen */
	bool had_error;		/* bytes outside the alphabet, misplaced "=" */
};
/* A decoder in BASE64_PAD_STOP mode. */
void base64_decoder_init(struct base64_decoder *dec);
void base64_decoder_init_padding(struct base64_decoder *dec,
				 enum base64_padding padding);
/* Decodes len bytes of src, appending output to dest (output past dest's
 * size limit is dropped: the caller sets the limit it can afford). */
void base64_decoder_feed(struct base64_decoder *dec, const void *src,
			 size_t len, struct str *dest);

#endif
