/* mailbot-text.c: the original's text as mailbot(1) quotes or forwards
 * it: the text/plain part found, decoded, converted to the reply's
 * charset and re-flowed line by line (RFC 3676). */
#include "config.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "charset.h"
#include "mailbot.h"
#include "mem.h"
#include "mime-decode.h"
#include "mime-parser.h"

const struct mime_part *mailbot_text_find(const struct mime_part *p)
{
	if (p == NULL)
		return NULL;
	if (p->children == NULL)
		return strcmp(p->type, "text") == 0 &&
		       strcmp(p->subtype, "plain") == 0 ? p : NULL;
	for (const struct mime_part *c = p->children; c != NULL; c = c->next) {
		const struct mime_part *t = mailbot_text_find(c);

		if (t != NULL)
			return t;
	}
	return NULL;
}

static bool is_ascii(const char *cs)
{
	return strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0 ||
	       strcasecmp(cs, "ANSI_X3.4-1968") == 0;
}

void mailbot_text_from_utf8(struct str *out, const char *s, size_t len,
		      const char *charset)
{
	iconv_t cd;

	if (is_ascii(charset)) {
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x80)
				str_append_c(out, s[i]);
		return;
	}
	if (charset_is_utf8(charset)) {
		str_append_n(out, s, len);
		return;
	}
	cd = iconv_open(charset, "UTF-8");
	if (cd == (iconv_t)-1) {
		str_append_n(out, s, len);
		return;
	}
	/* one character at a time, so that one that does not convert is
	 * dropped alone */
	for (size_t i = 0; i < len; ) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		char buf[16], *ip = (char *)s + i, *op = buf;
		size_t il, ol = sizeof(buf);

		if (n > len - i)
			n = len - i;
		il = n;
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
			str_append_n(out, buf, sizeof(buf) - ol);
		(void)iconv(cd, NULL, NULL, NULL, NULL);
		i += n;
	}
	iconv_close(cd);
}

void mailbot_text_decode(struct str *out, const char *msg, size_t len,
			 const struct mime_part *part, const char *charset,
			 size_t max)
{
	struct str raw, utf8;
	size_t start = part->body_offset < len ? (size_t)part->body_offset : len;
	size_t end = part->end_offset < len ? (size_t)part->end_offset : len;
	const char *cs = mime_part_param(part, "charset");

	if (end < start)
		end = start;
	str_init(&raw, end - start + 1);
	if (part->encoding != NULL &&
	    strcmp(part->encoding, "quoted-printable") == 0) {
		struct qp_decoder qp;

		qp_decoder_init(&qp);
		qp_decoder_feed(&qp, msg + start, end - start, &raw);
		qp_decoder_finish(&qp, &raw);
	} else if (part->encoding != NULL &&
		   strcmp(part->encoding, "base64") == 0) {
		struct base64_decoder b;

		base64_decoder_init(&b);
		base64_decoder_feed(&b, msg + start, end - start, &raw);
	} else {
		str_append_n(&raw, msg + start, end - start);
	}
	if (str_len(&raw) > max)
		str_truncate(&raw, max);
	str_init(&utf8, str_len(&raw) + 1);
	(void)charset_to_utf8(cs != NULL ? cs : "us-ascii", str_c(&raw),
			      str_len(&raw), &utf8);
	mailbot_text_from_utf8(out, str_c(&utf8), str_len(&utf8), charset);
	str_free(&utf8);
	str_free(&raw);
}

/* Does the next line (at text, len bytes left) carry on a flowed
 * paragraph of quote depth q: same depth, not empty, not a signature
 * separator? */
static bool continues(const char *text, size_t len, size_t q)
{
	const char *nl = memchr(text, '\n', len);
	size_t e = nl != NULL ? (size_t)(nl - text) : len, s = 0, d = 0;

	if (len == 0)
		return false;
	if (e > 0 && text[e - 1] == '\r')
		e--;
	while (s < e && text[s] == '>') {
		s++;
		d++;
	}
	if (s < e && text[s] == ' ')
		s++;
	return d == q && e > s &&
	       !(e - s == 3 && memcmp(text + s, "-- ", 3) == 0);
}

void mailbot_text_reflow(struct str *out, const char *text, size_t len,
			 bool flowed, bool delsp, unsigned int adjust)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		size_t s = i, e = end, q = 0, level;
		bool soft = false;

		i = nl != NULL ? end + 1 : len;
		if (e > s && text[e - 1] == '\r')
			e--;
		if (flowed) {
			/* quote depth, space-stuffing, soft line break */
			while (s < e && text[s] == '>') {
				s++;
				q++;
			}
			if (s < e && text[s] == ' ')
				s++;
			if (e > s && text[e - 1] == ' ' &&
			    !(e - s == 3 && memcmp(text + s, "-- ", 3) == 0) &&
			    continues(text + i, len - i, q)) {
				soft = true;
				if (delsp)
					e--;
			}
		}
		level = q + adjust;
		for (size_t k = 0; k < level; k++)
			str_append_c(out, '>');
		if (e > s) {
			bool stuff = flowed ?
				level > 0 || text[s] == ' ' || text[s] == '>' :
				(level > 0 && text[s] != '>') || text[s] == ' ';

			if (stuff)
				str_append_c(out, ' ');
		}
		if (soft) {
			str_append_n(out, text + s, e - s);
			str_append_c(out, ' ');
		} else {
			while (e > s && text[e - 1] == ' ')
				e--;
			str_append_n(out, text + s, e - s);
		}
		str_append_c(out, '\n');
	}
}
