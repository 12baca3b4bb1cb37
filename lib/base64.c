/* base64.c: base64 encoder, strict decoder and streaming MIME decoder
 * (stopping at the padding or going on after it as reformime). */
#include "config.h"
#include "base64.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_char_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	if (c == '=')
		return -2;
	return -1;
}

void base64_encode(struct str *dest, const void *data, size_t len,
		   size_t line_len)
{
	const unsigned char *p = data;
	size_t col = 0;
	char out[4];

	for (size_t i = 0; i < len; i += 3) {
		unsigned int v = (unsigned int)p[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (unsigned int)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		out[0] = b64_alphabet[(v >> 18) & 63];
		out[1] = b64_alphabet[(v >> 12) & 63];
		out[2] = n > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		out[3] = n > 2 ? b64_alphabet[v & 63] : '=';
		if (line_len > 0 && col + 4 > line_len) {
			str_append_n(dest, "\r\n", 2);
			col = 0;
		}
		str_append_n(dest, out, 4);
		col += 4;
	}
}

int base64_decode_strict(struct str *dest, const char *src, size_t len)
{
	unsigned int bits = 0, nbits = 0;
	size_t i, pad = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i++) {
		int v = base64_char_value((unsigned char)src[i]);

		if (v == -2) {
			/* Padding only at the end, at most two. */
			pad++;
			if (pad > 2 || i < len - 2)
				return -1;
			continue;
		}
		if (v < 0 || pad > 0)
			return -1;
		bits = (bits << 6) | (unsigned int)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			if (str_append_c(dest, (char)((bits >> nbits) & 0xff)) < 0)
				return -1;
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if ((bits & ((1u << nbits) - 1)) != 0)
		return -1;
	return 0;
}

void base64_decoder_init_padding(struct base64_decoder *dec,
				 enum base64_padding padding)
{
	dec->padding = padding;
	dec->pos = dec->prev = 0;
	dec->finished = false;
	dec->had_error = false;
}

void base64_decoder_init(struct base64_decoder *dec)
{
	base64_decoder_init_padding(dec, BASE64_PAD_STOP);
}

/* The value used for "=" in BASE64_PAD_GROUPS mode (see base64.h). */
#define PAD_VALUE 99u

void base64_decoder_feed(struct base64_decoder *dec, const void *src,
			 size_t len, struct str *dest)
{
	const unsigned char *s = src;
	char buf[512];
	size_t n = 0;

	for (size_t i = 0; i < len && !dec->finished; i++) {
		int v = base64_char_value(s[i]);
		unsigned int u, p = dec->prev;
		bool pad = v == -2;

		if (v == -1) {
			if (s[i] != '\r' && s[i] != '\n' && s[i] != ' ' &&
			    s[i] != '\t')
				dec->had_error = true;
			continue;
		}
		if (pad && dec->padding == BASE64_PAD_STOP) {
			dec->finished = true;
			break;
		}
		u = pad ? PAD_VALUE : (unsigned int)v;
		switch (dec->pos) {
		case 0:
			if (pad)
				dec->had_error = true;
			break;
		case 1:
			if (pad)
				dec->had_error = true;
			buf[n++] = (char)(((p << 2) | (u >> 4)) & 0xff);
			break;
		case 2:
			if (!pad)
				buf[n++] = (char)(((p << 4) | (u >> 2)) & 0xff);
			break;
		default:
			if (!pad) {
				buf[n++] = (char)(((p << 6) | u) & 0xff);
				if (p == PAD_VALUE)
					dec->had_error = true;
			}
			break;
		}
		dec->prev = u;
		dec->pos = (dec->pos + 1) & 3;
		if (n > sizeof(buf) - 2) {
			(void)str_append_n(dest, buf, n);
			n = 0;
		}
	}
	if (n > 0)
		(void)str_append_n(dest, buf, n);
}
