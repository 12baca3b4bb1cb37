/* pop3-stuff.h: turning a stored message into a POP3 multi-line response
 * body, streaming: bare LF becomes CRLF, a line starting with "." gets a
 * second "." (RFC 1939 byte-stuffing), and TOP stops after the header,
 * the blank line and n body lines.  The size math matches: the octet
 * count of a message (LIST, STAT) is pop3_crlf_size() of its bytes, which
 * is exactly what the client has after removing the stuffing, as long as
 * the message ends with a line end (otherwise RETR adds the CRLF the
 * terminating "." line needs).
 *
 * The encoder keeps its state between calls, so a message can be fed in
 * pieces of any size (split at any byte, even between CR and LF) with the
 * same output. */
#ifndef POP3_STUFF_H
#define POP3_STUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

struct pop3_stuffer {
	bool at_line_start;	/* the next byte starts a line */
	bool prev_cr;		/* the last byte written was a CR */
	bool line_empty;	/* the current line has no bytes but a CR */
	bool in_header;		/* TOP: still in the header */
	bool limit;		/* TOP: stop after max_body_lines */
	bool done;		/* TOP: everything asked for was sent */
	uint64_t body_lines_left;
};

/* Starts an encoder for RETR (top == false) or for TOP with n body lines. */
void pop3_stuffer_init(struct pop3_stuffer *st, bool top, uint64_t n);
/* Encodes len bytes of the message, appending to out.  Returns the
 * number of input bytes consumed: len, or less once TOP has sent all it
 * was asked for (st->done is then true and further input is ignored). */
size_t pop3_stuff(struct pop3_stuffer *st, const char *data, size_t len,
		  struct str *out);
/* Ends the body: a CRLF if the last line had no line end, then ".CRLF". */
void pop3_stuff_finish(struct pop3_stuffer *st, struct str *out);

/* The size of data with every LF not preceded by CR counted as two bytes
 * (CRLF), continuing from *prev_cr (the last byte of the previous piece
 * was a CR), which is updated.  Start with *prev_cr = false. */
uint64_t pop3_crlf_size(const char *data, size_t len, bool *prev_cr);

#endif
