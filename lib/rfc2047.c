/* rfc2047.c: encoded-word decoding to UTF-8 and encoding (RFC 2047). */
#include "config.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include "mem.h"
#include "base64.h"
#include "charset.h"
#include "rfc2047.h"

#define MAX_CHARSET_LEN 64

struct ew {
	const char *charset;	/* not terminated */
	size_t charset_len;
	char encoding;		/* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total_len;	/* from "=?" to after "?=" */
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses an encoded-word at s ("=?" already checked). */
static bool ew_parse(const char *s, size_t len, struct ew *ew)
{
	size_t i = 2, cs, enc, text;

	cs = i;
	while (i < len && s[i] != '?' && !is_wsp(s[i]))
		i++;
	if (i >= len || s[i] != '?' || i == cs || i - cs > MAX_CHARSET_LEN)
		return false;
	ew->charset = s + cs;
	ew->charset_len = i - cs;
	/* RFC 2231 section 5: charset*language */
	const char *star = memchr(ew->charset, '*', ew->charset_len);
	if (star != NULL)
		ew->charset_len = (size_t)(star - ew->charset);
	if (ew->charset_len == 0)
		return false;
	i++;
	enc = i;
	if (i + 1 >= len || s[i + 1] != '?')
		return false;
	if (s[enc] == 'B' || s[enc] == 'b')
		ew->encoding = 'B';
	else if (s[enc] == 'Q' || s[enc] == 'q')
		ew->encoding = 'Q';
	else
		return false;
	i += 2;
	text = i;
	while (i + 1 < len && !(s[i] == '?' && s[i + 1] == '=')) {
		if (is_wsp(s[i]))
			return false;
		i++;
	}
	if (i + 1 >= len)
		return false;
	ew->text = s + text;
	ew->text_len = i - text;
	ew->total_len = i + 2;
	return true;
}

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

static bool ew_decode_bytes(const struct ew *ew, struct str *dest)
{
	bool ok = true;

	if (ew->encoding == 'B') {
		struct base64_decoder dec;

		base64_decoder_init(&dec);
		base64_decoder_feed(&dec, ew->text, ew->text_len, dest);
		return !dec.had_error;
	}
	for (size_t i = 0; i < ew->text_len; i++) {
		char c = ew->text[i];
		int h, l;

		if (c == '_') {
			str_append_c(dest, ' ');
		} else if (c == '=' && i + 2 < ew->text_len &&
			   (h = hexval((unsigned char)ew->text[i + 1])) >= 0 &&
			   (l = hexval((unsigned char)ew->text[i + 2])) >= 0) {
			str_append_c(dest, (char)(h * 16 + l));
			i += 2;
		} else {
			if (c == '=')
				ok = false;
			str_append_c(dest, c);
		}
	}
	return ok;
}

/* Converts the joined bytes of a run of encoded-words. */
static bool flush_run(struct str *dest, struct str *bytes, const char *charset)
{
	bool ok = true;

	if (str_len(bytes) == 0)
		return true;
	if (charset_to_utf8(charset, str_c(bytes), str_len(bytes), dest) !=
	    CHARSET_RESULT_OK)
		ok = false;
	str_clear(bytes);
	return ok;
}

bool rfc2047_decode(struct str *dest, const char *src, size_t len)
{
	struct str bytes;
	char run_charset[MAX_CHARSET_LEN + 1] = "";
	size_t i = 0, plain = 0;
	bool ok = true, in_run = false;

	str_init(&bytes, 64);
	while (i < len) {
		const char *p = memchr(src + i, '=', len - i);
		struct ew ew;

		if (p == NULL)
			break;
		i = (size_t)(p - src);
		if (i + 1 >= len || src[i + 1] != '?' ||
		    !ew_parse(src + i, len - i, &ew)) {
			i++;
			continue;
		}
		/* Text between the previous word and this one. */
		bool only_wsp = true;
		for (size_t k = plain; k < i; k++) {
			if (!is_wsp(src[k])) {
				only_wsp = false;
				break;
			}
		}
		bool same = in_run && only_wsp &&
			strlen(run_charset) == ew.charset_len &&
			strncasecmp(run_charset, ew.charset, ew.charset_len) == 0;
		if (!same) {
			if (!flush_run(dest, &bytes, run_charset))
				ok = false;
			if (!(in_run && only_wsp))
				charset_utf8_sanitize(dest, src + plain,
						      i - plain);
			memcpy(run_charset, ew.charset, ew.charset_len);
			run_charset[ew.charset_len] = '\0';
		}
		if (!ew_decode_bytes(&ew, &bytes))
			ok = false;
		in_run = true;
		i += ew.total_len;
		plain = i;
	}
	if (!flush_run(dest, &bytes, run_charset))
		ok = false;
	charset_utf8_sanitize(dest, src + plain, len - plain);
	str_free(&bytes);
	return ok;
}

static bool needs_encoding(const char *w, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c >= 0x80 || c < 0x20 || c == 0x7f)
			return true;
		if (c == '=' && i + 1 < len && w[i + 1] == '?')
			return true;
	}
	return false;
}

static bool q_literal(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
		c == '-' || c == '/';
}

static void encode_run(struct str *dest, const unsigned char *s, size_t len)
{
	static const char prefix[] = "=?UTF-8?Q?";
	static const char hex[] = "0123456789ABCDEF";
	const size_t max_text = 75 - (sizeof(prefix) - 1) - 2;
	size_t i = 0, used = 0;
	bool open = false;

	while (i < len) {
		/* One whole UTF-8 character (or one invalid byte). */
		size_t clen = 1, enc_len = 0;

		if (s[i] >= 0xC0) {
			while (i + clen < len && (s[i + clen] & 0xC0) == 0x80 &&
			       clen < 4)
				clen++;
		}
		for (size_t k = 0; k < clen; k++)
			enc_len += q_literal(s[i + k]) || s[i + k] == ' ' ? 1 : 3;
		if (open && used + enc_len > max_text) {
			str_append(dest, "?= ");
			open = false;
		}
		if (!open) {
			str_append(dest, prefix);
			open = true;
			used = 0;
		}
		for (size_t k = 0; k < clen; k++) {
			unsigned char c = s[i + k];

			if (c == ' ')
				str_append_c(dest, '_');
			else if (q_literal(c))
				str_append_c(dest, (char)c);
			else {
				char buf[3] = { '=', hex[c >> 4], hex[c & 15] };

				str_append_n(dest, buf, 3);
			}
		}
		used += enc_len;
		i += clen;
	}
	if (open)
		str_append(dest, "?=");
}

void rfc2047_encode(struct str *dest, const char *utf8, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t ws = i, w, we;

		while (ws < len && (utf8[ws] == ' ' || utf8[ws] == '\t'))
			ws++;
		w = ws;
		we = w;
		while (we < len && utf8[we] != ' ' && utf8[we] != '\t')
			we++;
		if (!needs_encoding(utf8 + w, we - w)) {
			str_append_n(dest, utf8 + i, we - i);
			i = we;
			continue;
		}
		/* Extend the run over following words that need encoding. */
		size_t run_end = we;
		for (;;) {
			size_t n = run_end, nw;

			while (n < len && (utf8[n] == ' ' || utf8[n] == '\t'))
				n++;
			nw = n;
			while (nw < len && utf8[nw] != ' ' && utf8[nw] != '\t')
				nw++;
			if (nw == n || !needs_encoding(utf8 + n, nw - n))
				break;
			run_end = nw;
		}
		str_append_n(dest, utf8 + i, w - i);
		encode_run(dest, (const unsigned char *)utf8 + w, run_end - w);
		i = run_end;
	}
}
