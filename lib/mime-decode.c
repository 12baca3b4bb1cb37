/* mime-decode.c: streaming quoted-printable decoder and encoder, and the
 * Content-Transfer-Encoding dispatcher. */
#include "config.h"
#include <string.h>
#include <strings.h>
#include "base64.h"
#include "mime-decode.h"

static const char hexdigits[] = "0123456789ABCDEF";

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void qp_decoder_init(struct qp_decoder *dec)
{
	memset(dec, 0, sizeof(*dec));
}

static void flush_wsp(struct qp_decoder *dec, struct str *dest)
{
	if (dec->wsp_len > 0) {
		str_append_n(dest, dec->wsp, dec->wsp_len);
		dec->wsp_len = 0;
	}
}

static inline bool is_plain(unsigned char c)
{
	return c != '=' && c != ' ' && c != '\t' && c != '\r' && c != '\n';
}

/* An invalid escape ("=" then a byte that is not a hex digit, or "=X"
 * then one that is not): the escape is dropped, the byte is decoded
 * afresh (Debian's reformime does the same). */
static void bad_escape(struct qp_decoder *dec)
{
	dec->had_error = true;
	dec->in_esc = false;
	dec->esc_len = 0;
}

void qp_decoder_feed(struct qp_decoder *dec, const void *src, size_t len,
		     struct str *dest)
{
	const unsigned char *s = src;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];

		if (dec->in_esc) {
			if (dec->soft_wsp) {
				if (c == ' ' || c == '\t' || c == '\r') {
					/* Held as possibly trailing. */
					if (dec->wsp_len == sizeof(dec->wsp))
						flush_wsp(dec, dest);
					dec->wsp[dec->wsp_len++] = (char)c;
					i++;
					continue;
				}
				dec->in_esc = dec->soft_wsp = false;
				if (c == '\n') {
					/* Soft line break with transport
					 * padding. */
					dec->wsp_len = 0;
					i++;
					continue;
				}
				/* "=" + whitespace + text: not a soft break;
				 * the "=" is dropped, the rest kept. */
				dec->had_error = true;
				flush_wsp(dec, dest);
				continue;
			}
			if (dec->esc_len == 0) {
				if (hexval(c) >= 0) {
					dec->esc[0] = (char)c;
					dec->esc_len = 1;
					i++;
					continue;
				}
				if (c == ' ' || c == '\t' || c == '\r') {
					dec->soft_wsp = true;
					continue;
				}
				if (c == '\n') {
					dec->in_esc = false;
					i++;
					continue;
				}
				bad_escape(dec);
				continue;
			}
			/* esc_len == 1 */
			if (hexval(c) >= 0) {
				dec->in_esc = false;
				dec->esc_len = 0;
				str_append_c(dest, (char)(hexval((unsigned char)dec->esc[0]) * 16 + hexval(c)));
				i++;
				continue;
			}
			bad_escape(dec);
			continue;
		}
		if (dec->pending_cr) {
			dec->pending_cr = false;
			if (c == '\n') {
				dec->wsp_len = 0;
				str_append_n(dest, "\r\n", 2);
				i++;
				continue;
			}
			flush_wsp(dec, dest);
			str_append_c(dest, '\r');
		}
		switch (c) {
		case '=':
			flush_wsp(dec, dest);
			dec->in_esc = true;
			i++;
			break;
		case ' ':
		case '\t':
			if (dec->wsp_len == sizeof(dec->wsp))
				flush_wsp(dec, dest);
			dec->wsp[dec->wsp_len++] = (char)c;
			i++;
			break;
		case '\r':
			dec->pending_cr = true;
			i++;
			break;
		case '\n':
			dec->wsp_len = 0;
			str_append_c(dest, '\n');
			i++;
			break;
		default: {
			size_t start = i;

			flush_wsp(dec, dest);
			while (i < len && is_plain(s[i]))
				i++;
			str_append_n(dest, s + start, i - start);
			break;
		}
		}
	}
}

void qp_decoder_finish(struct qp_decoder *dec, struct str *dest)
{
	/* A lone "=" at the very end is a soft break; an "=X" there is an
	 * incomplete escape, dropped as Debian's reformime does. */
	if (dec->in_esc && !dec->soft_wsp && dec->esc_len > 0)
		dec->had_error = true;
	if (dec->pending_cr) {
		flush_wsp(dec, dest);
		str_append_c(dest, '\r');
	}
	/* Whitespace at the very end is trailing: dropped. */
	dec->wsp_len = 0;
	dec->in_esc = dec->soft_wsp = dec->pending_cr = false;
	dec->esc_len = 0;
}

void qp_encoder_init(struct qp_encoder *enc, bool binary)
{
	memset(enc, 0, sizeof(*enc));
	enc->binary = binary;
}

void qp_encoder_init_flags(struct qp_encoder *enc, unsigned int flags)
{
	memset(enc, 0, sizeof(*enc));
	enc->binary = (flags & QP_ENCODER_BINARY) != 0;
	enc->lf = (flags & QP_ENCODER_LF) != 0;
	enc->makemime = (flags & QP_ENCODER_MAKEMIME) != 0 && !enc->binary;
}

static void enc_eol(struct qp_encoder *enc, struct str *dest, bool soft)
{
	if (soft)
		str_append_c(dest, '=');
	if (enc->lf)
		str_append_c(dest, '\n');
	else
		str_append_n(dest, "\r\n", 2);
	enc->col = 0;
}

static void enc_escape(struct qp_encoder *enc, struct str *dest,
		       unsigned char c)
{
	char buf[3] = { '=', hexdigits[c >> 4], hexdigits[c & 15] };

	str_append_n(dest, buf, 3);
	enc->col += 3;
}

/* QP_ENCODER_MAKEMIME: held_wsp is a space not yet written. */
static void enc_makemime_byte(struct qp_encoder *enc, struct str *dest,
			      unsigned char c)
{
	if (c == '\n') {
		if (enc->held_wsp != 0) {
			enc_escape(enc, dest, ' ');
			enc->held_wsp = 0;
		}
		enc_eol(enc, dest, false);
		return;
	}
	if (enc->held_wsp != 0) {
		str_append_c(dest, ' ');
		enc->col++;
		enc->held_wsp = 0;
	}
	if (c == ' ') {
		enc->held_wsp = ' ';
		return;
	}
	if (enc->col >= 73)
		enc_eol(enc, dest, true);
	if (c < 32 || c == '=' || c > 126) {
		enc_escape(enc, dest, c);
	} else {
		str_append_c(dest, (char)c);
		enc->col++;
	}
}

static void enc_put(struct qp_encoder *enc, struct str *dest, unsigned char c,
		    bool escape)
{
	size_t n = escape ? 3 : 1;

	if (enc->col + n > 75)
		enc_eol(enc, dest, true);
	if (escape) {
		char buf[3] = { '=', hexdigits[c >> 4], hexdigits[c & 15] };

		str_append_n(dest, buf, 3);
	} else {
		str_append_c(dest, (char)c);
	}
	enc->col += n;
}

static void enc_line_end(struct qp_encoder *enc, struct str *dest)
{
	if (enc->held_wsp != 0) {
		enc_put(enc, dest, (unsigned char)enc->held_wsp, true);
		enc->held_wsp = 0;
	}
	enc_eol(enc, dest, false);
}

static void enc_flush_wsp(struct qp_encoder *enc, struct str *dest)
{
	if (enc->held_wsp != 0) {
		enc_put(enc, dest, (unsigned char)enc->held_wsp, false);
		enc->held_wsp = 0;
	}
}

void qp_encoder_feed(struct qp_encoder *enc, const void *src, size_t len,
		     struct str *dest)
{
	const unsigned char *s = src;

	if (enc->makemime) {
		for (size_t i = 0; i < len; i++)
			enc_makemime_byte(enc, dest, s[i]);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (enc->binary) {
			bool lit = c >= 33 && c <= 126 && c != '=' &&
				!(enc->col == 0 && (c == '.' || c == 'F'));

			enc_put(enc, dest, c, !lit);
			continue;
		}
		if (enc->pending_cr) {
			enc->pending_cr = false;
			if (c == '\n') {
				enc_line_end(enc, dest);
				continue;
			}
			enc_flush_wsp(enc, dest);
			enc_put(enc, dest, '\r', true);
		}
		if (c == '\r') {
			enc->pending_cr = true;
			continue;
		}
		if (c == '\n') {
			enc_line_end(enc, dest);
			continue;
		}
		enc_flush_wsp(enc, dest);
		if (c == ' ' || c == '\t') {
			enc->held_wsp = (char)c;
			continue;
		}
		bool lit = c >= 33 && c <= 126 && c != '=' &&
			!(enc->col == 0 && (c == '.' || c == 'F'));
		enc_put(enc, dest, c, !lit);
	}
}

void qp_encoder_finish(struct qp_encoder *enc, struct str *dest)
{
	if (enc->makemime) {
		/* as Courier's makemime: a final space is not written */
		enc->held_wsp = 0;
		return;
	}
	if (enc->pending_cr) {
		enc->pending_cr = false;
		enc_flush_wsp(enc, dest);
		enc_put(enc, dest, '\r', true);
	}
	if (enc->held_wsp != 0) {
		enc_put(enc, dest, (unsigned char)enc->held_wsp, true);
		enc->held_wsp = 0;
	}
}

void mime_base64_encoder_init(struct mime_base64_encoder *enc, bool lf)
{
	memset(enc, 0, sizeof(*enc));
	enc->lf = lf;
}

static void b64_line(struct mime_base64_encoder *enc, struct str *dest,
		     const unsigned char *data, size_t len)
{
	base64_encode(dest, data, len, 0);
	if (enc->lf)
		str_append_c(dest, '\n');
	else
		str_append_n(dest, "\r\n", 2);
}

void mime_base64_encoder_feed(struct mime_base64_encoder *enc,
			      const void *src, size_t len, struct str *dest)
{
	const unsigned char *s = src;
	const size_t line = sizeof(enc->buf);

	if (enc->len > 0) {
		size_t n = line - enc->len < len ? line - enc->len : len;

		memcpy(enc->buf + enc->len, s, n);
		enc->len += n;
		s += n;
		len -= n;
		if (enc->len < line)
			return;
		b64_line(enc, dest, enc->buf, line);
		enc->len = 0;
	}
	while (len >= line) {
		b64_line(enc, dest, s, line);
		s += line;
		len -= line;
	}
	memcpy(enc->buf, s, len);
	enc->len = len;
}

void mime_base64_encoder_finish(struct mime_base64_encoder *enc,
				struct str *dest)
{
	if (enc->len > 0)
		b64_line(enc, dest, enc->buf, enc->len);
	enc->len = 0;
}

enum mime_encoding mime_encoding_from_name(const char *name, bool *unknown_r)
{
	if (unknown_r != NULL)
		*unknown_r = false;
	if (name == NULL || name[0] == '\0' || strcasecmp(name, "7bit") == 0 ||
	    strcasecmp(name, "8bit") == 0 || strcasecmp(name, "binary") == 0)
		return MIME_ENCODING_7BIT;
	if (strcasecmp(name, "quoted-printable") == 0)
		return MIME_ENCODING_QP;
	if (strcasecmp(name, "base64") == 0)
		return MIME_ENCODING_BASE64;
	if (unknown_r != NULL)
		*unknown_r = true;
	return MIME_ENCODING_7BIT;
}

void mime_decoder_init(struct mime_decoder *dec, enum mime_encoding encoding)
{
	memset(dec, 0, sizeof(*dec));
	dec->encoding = encoding;
	qp_decoder_init(&dec->qp);
	base64_decoder_init_padding(&dec->b64, BASE64_PAD_GROUPS);
}

void mime_decoder_feed(struct mime_decoder *dec, const void *src, size_t len,
		       struct str *dest)
{
	switch (dec->encoding) {
	case MIME_ENCODING_QP:
		qp_decoder_feed(&dec->qp, src, len, dest);
		break;
	case MIME_ENCODING_BASE64:
		base64_decoder_feed(&dec->b64, src, len, dest);
		break;
	default:
		str_append_n(dest, src, len);
		break;
	}
}

void mime_decoder_finish(struct mime_decoder *dec, struct str *dest)
{
	if (dec->encoding == MIME_ENCODING_QP)
		qp_decoder_finish(&dec->qp, dest);
}

bool mime_decoder_had_error(const struct mime_decoder *dec)
{
	switch (dec->encoding) {
	case MIME_ENCODING_QP:
		return dec->qp.had_error;
	case MIME_ENCODING_BASE64:
		return dec->b64.had_error;
	default:
		return false;
	}
}
