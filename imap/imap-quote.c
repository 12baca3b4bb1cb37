/* imap-quote.c: quoted strings, literals, astrings and nstrings in IMAP
 * responses (see imap-quote.h). */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "imap-quote.h"

bool imap_quote_can_quote(const void *data, size_t len, bool utf8)
{
	const unsigned char *d = data;

	if (len > IMAP_QUOTE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\0' || d[i] == '\r' || d[i] == '\n')
			return false;
		if (d[i] >= 0x80 && !utf8)
			return false;
	}
	return true;
}

void imap_quote_literal(struct str *out, const void *data, size_t len)
{
	const char *nul = memchr(data, '\0', len);

	str_printfa(out, "{%zu}\r\n", len);
	size_t start = str_len(out);
	if (str_append_n(out, data, len) < 0 || nul == NULL)
		return;
	/* a message holding NUL (APPENDed as literal8, or written into the
	 * maildir by another program): as Dovecot sends it */
	for (size_t i = (size_t)(nul - (const char *)data); i < len; i++) {
		if (out->data[start + i] == '\0')
			out->data[start + i] = (char)0x80;
	}
}

void imap_quote_literal8(struct str *out, const void *data, size_t len)
{
	str_printfa(out, "~{%zu}\r\n", len);
	str_append_n(out, data, len);
}

void imap_quote_string(struct str *out, const void *data, size_t len,
		       bool utf8)
{
	const char *d = data;

	if (!imap_quote_can_quote(data, len, utf8)) {
		imap_quote_literal(out, data, len);
		return;
	}
	str_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '"' || d[i] == '\\')
			str_append_c(out, '\\');
		str_append_c(out, d[i]);
	}
	str_append_c(out, '"');
}

void imap_quote_cstr(struct str *out, const char *s, bool utf8)
{
	imap_quote_string(out, s, strlen(s), utf8);
}

void imap_quote_nstring(struct str *out, const char *s, bool utf8)
{
	if (s == NULL)
		str_append(out, "NIL");
	else
		imap_quote_cstr(out, s, utf8);
}

static bool is_atom(const char *s)
{
	if (*s == '\0' || strcasecmp(s, "NIL") == 0)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

void imap_quote_astring(struct str *out, const char *s, bool utf8)
{
	if (is_atom(s))
		str_append(out, s);
	else
		imap_quote_cstr(out, s, utf8);
}
