/* mime-decode.h: streaming Content-Transfer-Encoding decoders and the
 * quoted-printable encoder.
 *
 * The quoted-printable decoder (RFC 2045 section 6.7) accepts input split
 * anywhere and keeps at most one partial escape and a bounded run of
 * trailing whitespace between calls.  It is lenient as RFC 2045 asks:
 * a bad "=" sequence is passed through literally and flagged, trailing
 * whitespace before a line end is dropped, soft line breaks are removed,
 * LF-only line ends are accepted.  Bad escapes are dropped as Debian's
 * reformime drops them: "=" followed by a byte that is not a hex digit
 * loses the "=", "=X" followed by a non-hex byte loses "=X", an "=X" at
 * the very end is dropped; the byte after them is decoded as usual.  An
 * "=" followed by whitespace and then text (not a line end) loses only
 * the "=".
 *
 * MIME base64 bodies (RFC 2045 section 6.8) are decoded by lib/base64's
 * streaming decoder in its BASE64_PAD_GROUPS mode, as Courier's reformime
 * does (decoding goes on after the padding; see base64.h).  mime_decoder
 * picks one by the Content-Transfer-Encoding. */
#ifndef MIME_DECODE_H
#define MIME_DECODE_H

#include <stddef.h>
#include <stdbool.h>
#include "str.h"
#include "base64.h"

/* Longest run of whitespace held back while waiting to see whether it is
 * trailing (longer runs are kept as data). */
#define QP_MAX_PENDING_WSP 256

struct qp_decoder {
	char wsp[QP_MAX_PENDING_WSP];
	size_t wsp_len;
	char esc[2];		/* bytes after '=' so far */
	unsigned int esc_len;
	bool in_esc;		/* '=' seen */
	bool soft_wsp;		/* "=" then whitespace: expecting a line end */
	bool pending_cr;	/* CR seen, waiting for LF */
	bool had_error;
};

void qp_decoder_init(struct qp_decoder *dec);
/* Decodes len bytes of src, appending to dest. */
void qp_decoder_feed(struct qp_decoder *dec, const void *src, size_t len,
		     struct str *dest);
/* End of input: flushes held bytes. */
void qp_decoder_finish(struct qp_decoder *dec, struct str *dest);

/* Streaming quoted-printable encoder for text (8-bit to 7-bit conversion
 * in the SMTP client): line ends in the input (LF or CRLF) become CRLF
 * hard breaks, lines are soft-broken at 76 columns, "=", control and 8-bit
 * bytes and whitespace before a line end are escaped, and so are a "." or
 * "F" at the start of a line (safe for SMTP and for mbox "From ").  In binary mode
 * CR and LF are escaped too. */
struct qp_encoder {
	size_t col;		/* output column */
	bool pending_cr;
	bool binary;
	bool lf;		/* QP_ENCODER_LF */
	bool makemime;		/* QP_ENCODER_MAKEMIME */
	char held_wsp;		/* a whitespace byte held back, or 0 */
};
void qp_encoder_init(struct qp_encoder *enc, bool binary);

enum qp_encoder_flags {
	/* As qp_encoder_init(enc, true). */
	QP_ENCODER_BINARY = 0x01,
	/* Line ends (hard and soft) are written as LF instead of CRLF. */
	QP_ENCODER_LF = 0x02,
	/* The rules of Courier's makemime (Debian's makemime writes exactly
	 * this): every LF is a hard line break and a CR is data (=0D);
	 * bytes below 32 other than LF (tab included), "=" and bytes above
	 * 126 are escaped, everything else (a leading "." or "F" too) is
	 * literal; a soft break "=" goes before any byte but a space once
	 * the line holds 73 columns (spaces never break a line, so a long
	 * run of spaces stays on one line); a space right before a line end
	 * is written "=20", and a space at the very end of the input is
	 * dropped (RFC 2045 section 6.7 (3) has decoders delete trailing
	 * whitespace anyway).  Not combinable with QP_ENCODER_BINARY. */
	QP_ENCODER_MAKEMIME = 0x04,
};
/* Like qp_encoder_init() with enum qp_encoder_flags. */
void qp_encoder_init_flags(struct qp_encoder *enc, unsigned int flags);
void qp_encoder_feed(struct qp_encoder *enc, const void *src, size_t len,
		     struct str *dest);
void qp_encoder_finish(struct qp_encoder *enc, struct str *dest);

/* Streaming base64 encoder for MIME bodies: 76 characters per line, each
 * line ended by CRLF (or LF when lf is set), including the last one; no
 * output at all for empty input.  Holds at most 56 bytes between calls. */
struct mime_base64_encoder {
	unsigned char buf[57];
	size_t len;
	bool lf;
};
void mime_base64_encoder_init(struct mime_base64_encoder *enc, bool lf);
void mime_base64_encoder_feed(struct mime_base64_encoder *enc,
			      const void *src, size_t len, struct str *dest);
/* Writes the last, partial line. */
void mime_base64_encoder_finish(struct mime_base64_encoder *enc,
				struct str *dest);

enum mime_encoding {
	MIME_ENCODING_7BIT,	/* 7bit, 8bit, binary and unknown: as is */
	MIME_ENCODING_QP,
	MIME_ENCODING_BASE64,
};
/* Maps a Content-Transfer-Encoding value (any case, NULL = 7bit).
 * Unknown encodings map to MIME_ENCODING_7BIT and set *unknown_r (may be
 * NULL): RFC 2045 says to treat such a body as application/octet-stream. */
enum mime_encoding mime_encoding_from_name(const char *name, bool *unknown_r);

struct mime_decoder {
	enum mime_encoding encoding;
	struct qp_decoder qp;
	struct base64_decoder b64;
};
void mime_decoder_init(struct mime_decoder *dec, enum mime_encoding encoding);
void mime_decoder_feed(struct mime_decoder *dec, const void *src, size_t len,
		       struct str *dest);
void mime_decoder_finish(struct mime_decoder *dec, struct str *dest);
/* True if the input had encoding errors (bad escapes, bad base64). */
bool mime_decoder_had_error(const struct mime_decoder *dec);

#endif
