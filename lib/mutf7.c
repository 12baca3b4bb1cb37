/* mutf7.c: IMAP modified UTF-7 encoder and strict decoder (see mutf7.h). */
#include "config.h"
#include "mutf7.h"
#include "mem.h"

#include <stdint.h>
#include <string.h>

static const char mutf7_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static bool is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Decodes one UTF-8 sequence at s (len > 0 bytes available).  Returns the
 * number of bytes used and sets *cp, or 0 if the sequence is invalid. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t n, i;
	uint32_t min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool mutf7_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t pos = 0, n;
	uint32_t cp;

	while (pos < len) {
		n = utf8_next(p + pos, len - pos, &cp);
		if (n == 0 || cp == 0)
			return false;
		pos += n;
	}
	return true;
}

static void utf8_put(struct str *dest, uint32_t c)
{
	char b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	(void)str_append_n(dest, b, n);
}

/* Base64 output state for one shift sequence. */
struct b64_out {
	uint32_t bits;
	unsigned nbits;
};

static void b64_put16(struct str *dest, struct b64_out *o, uint32_t unit)
{
	o->bits = (o->bits << 16) | unit;
	o->nbits += 16;
	while (o->nbits >= 6) {
		o->nbits -= 6;
		(void)str_append_c(dest, mutf7_b64[(o->bits >> o->nbits) & 0x3f]);
	}
	o->bits &= (1u << o->nbits) - 1;
}

static void b64_flush(struct str *dest, struct b64_out *o)
{
	if (o->nbits > 0)
		(void)str_append_c(dest,
			mutf7_b64[(o->bits << (6 - o->nbits)) & 0x3f]);
	o->bits = 0;
	o->nbits = 0;
}

static int encode(const unsigned char *s, size_t len, struct str *dest)
{
	size_t pos = 0, n;
	struct b64_out o = { 0, 0 };
	bool shifted = false;
	uint32_t cp;

	while (pos < len) {
		n = utf8_next(s + pos, len - pos, &cp);
		if (n == 0 || cp == 0)
			return -1;
		pos += n;
		if (is_direct(cp)) {
			if (shifted) {
				b64_flush(dest, &o);
				(void)str_append_c(dest, '-');
				shifted = false;
			}
			if (cp == '&')
				(void)str_append(dest, "&-");
			else
				(void)str_append_c(dest, (char)cp);
			continue;
		}
		if (!shifted) {
			(void)str_append_c(dest, '&');
			shifted = true;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			b64_put16(dest, &o, 0xd800 | (cp >> 10));
			b64_put16(dest, &o, 0xdc00 | (cp & 0x3ff));
		} else {
			b64_put16(dest, &o, cp);
		}
	}
	if (shifted) {
		b64_flush(dest, &o);
		(void)str_append_c(dest, '-');
	}
	return 0;
}

/* Both directions work in an unlimited scratch string and append the
 * result to dest in one go, so dest's limit is honoured all or nothing. */
int mutf7_encode(const char *src, size_t len, struct str *dest)
{
	struct str tmp;
	int ret;

	str_init(&tmp, len * 2 + 8);
	ret = encode((const unsigned char *)src, len, &tmp);
	if (ret == 0)
		ret = str_append_n(dest, str_c(&tmp), str_len(&tmp));
	str_free(&tmp);
	return ret;
}

/* Decodes the base64 run s[0..n) (between '&' and '-') into UTF-8. */
static int decode_shift(const unsigned char *s, size_t n, struct str *dest)
{
	uint32_t bits = 0, unit, high = 0;
	unsigned nbits = 0;
	size_t i, units = 0;
	int v;

	for (i = 0; i < n; i++) {
		v = b64_value(s[i]);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return -1;
			utf8_put(dest, 0x10000 + ((high - 0xd800) << 10) +
					       (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			return -1;
		} else if (unit == 0 || is_direct(unit)) {
			/* an encoder writes these directly */
			return -1;
		} else {
			utf8_put(dest, unit);
		}
	}
	/* Leftover bits must be fewer than one base64 digit, and zero. */
	if (units == 0 || high != 0 || nbits >= 6 || bits != 0)
		return -1;
	return 0;
}

static int decode(const unsigned char *s, size_t len, struct str *dest)
{
	size_t pos = 0, start;
	bool after_shift = false;

	while (pos < len) {
		if (s[pos] != '&') {
			if (!is_direct(s[pos]))
				return -1;
			(void)str_append_c(dest, (char)s[pos]);
			pos++;
			after_shift = false;
			continue;
		}
		pos++;
		if (pos < len && s[pos] == '-') {
			(void)str_append_c(dest, '&');
			pos++;
			after_shift = false;
			continue;
		}
		/* Two shifts back to back are one shift to an encoder. */
		if (after_shift)
			return -1;
		start = pos;
		while (pos < len && s[pos] != '-')
			pos++;
		if (pos == len)
			return -1; /* unterminated */
		if (decode_shift(s + start, pos - start, dest) < 0)
			return -1;
		pos++;
		after_shift = true;
	}
	return 0;
}

int mutf7_decode(const char *src, size_t len, struct str *dest)
{
	struct str tmp;
	int ret;

	str_init(&tmp, len + 8);
	ret = decode((const unsigned char *)src, len, &tmp);
	if (ret == 0)
		ret = str_append_n(dest, str_c(&tmp), str_len(&tmp));
	str_free(&tmp);
	return ret;
}

char *mutf7_encode_dup(const char *utf8)
{
	struct str s;

	str_init(&s, strlen(utf8) * 2 + 8);
	if (mutf7_encode(utf8, strlen(utf8), &s) < 0) {
		str_free(&s);
		return NULL;
	}
	return str_steal(&s);
}

char *mutf7_decode_dup(const char *mutf7)
{
	struct str s;

	str_init(&s, strlen(mutf7) + 8);
	if (mutf7_decode(mutf7, strlen(mutf7), &s) < 0) {
		str_free(&s);
		return NULL;
	}
	return str_steal(&s);
}
