/* base64.c: base64 encoder, strict decoder and streaming MIME decoder. */
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

void base64_decoder_init(struct base64_decoder *dec)
{
	dec->bits = dec->nbits = 0;
	dec->finished = false;
	dec->had_error = false;
}

void base64_decoder_feed(struct base64_decoder *dec, const void *src,
			 size_t len, struct str *dest)
{
	const unsigned char *p = src;
	char buf[512];
	size_t n = 0;

	for (size_t i = 0; i < len && !dec->finished; i++) {
		int v = base64_char_value(p[i]);

		if (v == -2) {
			dec->finished = true;
			break;
		}
		if (v < 0) {
			if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' &&
			    p[i] != '\t')
				dec->had_error = true;
			continue;
		}
		dec->bits = ((dec->bits << 6) | (unsigned int)v) & 0xffffff;
		dec->nbits += 6;
		if (dec->nbits >= 8) {
			dec->nbits -= 8;
			buf[n++] = (char)((dec->bits >> dec->nbits) & 0xff);
			if (n == sizeof(buf)) {
				(void)str_append_n(dest, buf, n);
				n = 0;
			}
		}
	}
	if (n > 0)
		str_append_n(dest, buf, n);
}
