/* charset.c: conversion of any charset to UTF-8 (built in for UTF-8,
 * US-ASCII and ISO-8859-1, iconv for the rest), replacing invalid
 * sequences with U+FFFD (or dropping them, charset_set_drop_invalid()). */
#include "config.h"
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "charset.h"

#define MAX_KEPT 16

/* What an invalid sequence becomes: U+FFFD, or nothing. */
static const char *replacement = "\xEF\xBF\xBD";
static bool drop_invalid;

void charset_set_drop_invalid(bool drop)
{
	drop_invalid = drop;
	replacement = drop ? "" : "\xEF\xBF\xBD";
}

enum charset_kind {
	KIND_UTF8,	/* UTF-8 (and US-ASCII unless drop_invalid) */
	KIND_ASCII,	/* US-ASCII, bytes above 127 invalid */
	KIND_LATIN1,	/* ISO-8859-1: byte b is U+00b */
	KIND_ICONV,
};

struct charset_translation {
	enum charset_kind kind;
	iconv_t cd;		/* KIND_ICONV */
	unsigned char kept[MAX_KEPT];
	size_t kept_len;
	bool clean;
};

/* True for the names of ISO-8859-1 (those glibc's iconv gives it). */
static bool charset_is_latin1(const char *charset)
{
	static const char *const names[] = {
		"iso-8859-1", "iso8859-1", "iso_8859-1", "iso88591",
		"latin1", "l1", "iso-ir-100", "iso_8859-1:1987", "cp819",
		"ibm819", "csisolatin1", "8859_1", "iso8859_1",
	};

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strcasecmp(charset, names[i]) == 0)
			return true;
	}
	return false;
}

bool charset_is_utf8(const char *charset)
{
	static const char *const names[] = {
		"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968",
		"iso646-us", "us", "csascii", "iso-ir-6", "ansi_x3.4-1986",
	};

	if (charset == NULL)
		return false;
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strcasecmp(charset, names[i]) == 0)
			return true;
	}
	return false;
}

/* Length of the valid UTF-8 sequence at s (0 = invalid), or the negative
 * length of an incomplete but so far valid sequence at the end. */
static int utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	int n;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((size_t)i >= len)
			return -i;
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
	}
	return n;
}

/* Sanitizes as much as possible; returns the number of bytes of an
 * incomplete trailing sequence left unconsumed when keep_tail is set. */
static size_t utf8_sanitize_tail(struct str *dest, const unsigned char *s,
				 size_t len, bool keep_tail, bool *clean)
{
	size_t i = 0, run = 0;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int n = utf8_seq(s + i, len - i);

		if (n > 0) {
			i += (size_t)n;
			continue;
		}
		str_append_n(dest, s + run, i - run);
		if (n < 0 && keep_tail)
			return len - i;
		str_append(dest, replacement);
		*clean = false;
		i++;
		/* Skip the continuation bytes of a broken sequence. */
		if (n < 0)
			i = len;
		run = i;
	}
	str_append_n(dest, s + run, len - run);
	return 0;
}

bool charset_utf8_sanitize(struct str *dest, const void *src, size_t len)
{
	bool clean = true;

	utf8_sanitize_tail(dest, src, len, false, &clean);
	return clean;
}

bool charset_utf8_is_valid(const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t i = 0;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int n = utf8_seq(s + i, len - i);

		if (n <= 0)
			return false;
		i += (size_t)n;
	}
	return true;
}

static const char *charset_alias(const char *charset)
{
	static const char *const aliases[][2] = {
		{ "ks_c_5601-1987", "CP949" },
		{ "gb2312", "GBK" },
		{ "x-gbk", "GBK" },
		{ "iso-8859-8-i", "ISO-8859-8" },
		{ "x-sjis", "SHIFT_JIS" },
		{ "unicode-1-1-utf-7", "UTF-7" },
	};

	for (size_t i = 0; i < N_ELEMENTS(aliases); i++) {
		if (strcasecmp(charset, aliases[i][0]) == 0)
			return aliases[i][1];
	}
	return charset;
}

struct charset_translation *charset_translation_create(const char *charset,
						       const char **error_r)
{
	struct charset_translation *t;
	iconv_t cd = (iconv_t)-1;

	if (charset == NULL || charset[0] == '\0')
		charset = "us-ascii";
	if (!charset_is_utf8(charset) && charset_is_latin1(charset)) {
		t = xcalloc(1, sizeof(*t));
		t->cd = cd;
		t->kind = KIND_LATIN1;
		t->clean = true;
		return t;
	}
	if (!charset_is_utf8(charset)) {
		cd = iconv_open("UTF-8", charset_alias(charset));
		if (cd == (iconv_t)-1) {
			*error_r = "unknown charset";
			return NULL;
		}
	}
	t = xcalloc(1, sizeof(*t));
	t->cd = cd;
	t->kind = KIND_UTF8;
	if (cd != (iconv_t)-1)
		t->kind = KIND_ICONV;
	else if (drop_invalid && strcasecmp(charset, "utf-8") != 0 &&
		 strcasecmp(charset, "utf8") != 0)
		t->kind = KIND_ASCII;
	t->clean = true;
	return t;
}

void charset_translation_destroy(struct charset_translation **tp)
{
	struct charset_translation *t = *tp;

	if (t == NULL)
		return;
	if (t->cd != (iconv_t)-1)
		iconv_close(t->cd);
	free(t);
	*tp = NULL;
}

/* Runs iconv over src; returns the number of bytes left over as an
 * incomplete sequence at the end (at most MAX_KEPT), all else consumed. */
static size_t iconv_run(struct charset_translation *t, const unsigned char *src,
			size_t len, struct str *dest, bool final)
{
	char outbuf[4096];
	char *in = (char *)src;
	size_t inleft = len;

	while (inleft > 0) {
		char *out = outbuf;
		size_t outleft = sizeof(outbuf);
		size_t r = iconv(t->cd, &in, &inleft, &out, &outleft);
		int err = errno;

		str_append_n(dest, outbuf, sizeof(outbuf) - outleft);
		if (r != (size_t)-1)
			break;
		if (err == E2BIG)
			continue;
		if (err == EINVAL && !final && inleft < MAX_KEPT)
			return inleft;
		/* EILSEQ, or an incomplete sequence that cannot complete. */
		str_append(dest, replacement);
		t->clean = false;
		in++;
		inleft--;
		iconv(t->cd, NULL, NULL, NULL, NULL);
	}
	if (final) {
		char *out = outbuf;
		size_t outleft = sizeof(outbuf);

		iconv(t->cd, NULL, NULL, &out, &outleft);
		str_append_n(dest, outbuf, sizeof(outbuf) - outleft);
	}
	return 0;
}

/* ISO-8859-1 to UTF-8: every byte is the code point of its value. */
static void latin1_run(const unsigned char *src, size_t len, struct str *dest)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c2[2];

		if (src[i] < 0x80)
			continue;
		str_append_n(dest, src + run, i - run);
		c2[0] = (unsigned char)(0xC0 | (src[i] >> 6));
		c2[1] = (unsigned char)(0x80 | (src[i] & 0x3F));
		str_append_n(dest, c2, 2);
		run = i + 1;
	}
	str_append_n(dest, src + run, len - run);
}

/* US-ASCII, strict: a byte above 127 is invalid. */
static void ascii_run(struct charset_translation *t, const unsigned char *src,
		      size_t len, struct str *dest)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		if (src[i] < 0x80)
			continue;
		str_append_n(dest, src + run, i - run);
		str_append(dest, replacement);
		t->clean = false;
		run = i + 1;
	}
	str_append_n(dest, src + run, len - run);
}

static size_t convert(struct charset_translation *t, const unsigned char *src,
		      size_t len, struct str *dest, bool final)
{
	switch (t->kind) {
	case KIND_UTF8:
		return utf8_sanitize_tail(dest, src, len, !final, &t->clean);
	case KIND_ASCII:
		ascii_run(t, src, len, dest);
		return 0;
	case KIND_LATIN1:
		latin1_run(src, len, dest);
		return 0;
	case KIND_ICONV:
		break;
	}
	return iconv_run(t, src, len, dest, final);
}

bool charset_translation_feed(struct charset_translation *t, const void *src,
			      size_t len, struct str *dest)
{
	const unsigned char *s = src;

	/* Complete a kept sequence byte by byte first (bounded). */
	while (t->kept_len > 0 && len > 0) {
		t->kept[t->kept_len++] = *s++;
		len--;
		size_t left = convert(t, t->kept, t->kept_len, dest, false);

		if (left > 0) {
			memmove(t->kept, t->kept + t->kept_len - left, left);
			if (left >= MAX_KEPT) {
				/* Cannot complete: replace and move on. */
				str_append(dest, replacement);
				t->clean = false;
				memmove(t->kept, t->kept + 1, left - 1);
				left--;
			}
		}
		t->kept_len = left;
	}
	if (len > 0) {
		size_t left = convert(t, s, len, dest, false);

		memcpy(t->kept, s + len - left, left);
		t->kept_len = left;
	}
	return t->clean;
}

bool charset_translation_finish(struct charset_translation *t,
				struct str *dest)
{
	if (t->kept_len > 0)
		convert(t, t->kept, t->kept_len, dest, true);
	else if (t->kind == KIND_ICONV)
		iconv_run(t, NULL, 0, dest, true);
	t->kept_len = 0;
	return t->clean;
}

enum charset_result charset_to_utf8(const char *charset, const void *src,
				    size_t len, struct str *dest)
{
	const char *error;
	struct charset_translation *t =
		charset_translation_create(charset, &error);
	bool clean;

	if (t == NULL) {
		charset_utf8_sanitize(dest, src, len);
		return CHARSET_RESULT_UNKNOWN;
	}
	charset_translation_feed(t, src, len, dest);
	clean = charset_translation_finish(t, dest);
	charset_translation_destroy(&t);
	return clean ? CHARSET_RESULT_OK : CHARSET_RESULT_INVALID;
}
