/* esmtp-client-reply.c: bounded, resumable parser of ESMTP server replies
 * and of the EHLO keywords. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esmtp-client-reply.h"
#include "mem.h"

struct esmtp_reply_parser {
	size_t max_line;
	unsigned int max_lines;
	struct str line;	/* the partial line */
	struct esmtp_reply cur;	/* lines of the reply so far */
	bool skip_cr;
};

void esmtp_reply_init(struct esmtp_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	str_init(&reply->full, 128);
	str_init(&reply->text, 128);
}

void esmtp_reply_free(struct esmtp_reply *reply)
{
	str_free(&reply->full);
	str_free(&reply->text);
	free(reply->offsets);
	memset(reply, 0, sizeof(*reply));
}

void esmtp_reply_clear(struct esmtp_reply *reply)
{
	str_clear(&reply->full);
	str_clear(&reply->text);
	reply->line_count = 0;
	reply->code = 0;
	reply->enhanced[0] = '\0';
}

const char *esmtp_reply_line(const struct esmtp_reply *reply, size_t i)
{
	if (i >= reply->line_count)
		return "";
	return str_c(&reply->text) + reply->offsets[i];
}

char *esmtp_reply_oneline(const struct esmtp_reply *reply)
{
	struct str s;
	const char *p = str_c(&reply->full);

	str_init(&s, str_len(&reply->full) + 16);
	for (size_t i = 0; i < str_len(&reply->full); i++) {
		if (p[i] == '\n')
			str_append(&s, "  ");
		else
			str_append_c(&s, p[i]);
	}
	{
		char *r = str_steal(&s);

		return r != NULL ? r : xstrdup("");
	}
}

struct esmtp_reply_parser *esmtp_reply_parser_create(size_t max_line,
						     unsigned int max_lines)
{
	struct esmtp_reply_parser *p = xcalloc(1, sizeof(*p));

	p->max_line = max_line > 0 ? max_line : ESMTP_REPLY_DEFAULT_MAX_LINE;
	p->max_lines = max_lines > 0 ? max_lines :
		ESMTP_REPLY_DEFAULT_MAX_LINES;
	str_init(&p->line, 256);
	esmtp_reply_init(&p->cur);
	return p;
}

void esmtp_reply_parser_set_max_lines(struct esmtp_reply_parser *p,
				      unsigned int max_lines)
{
	p->max_lines = max_lines > 0 ? max_lines :
		ESMTP_REPLY_DEFAULT_MAX_LINES;
}

void esmtp_reply_parser_destroy(struct esmtp_reply_parser **pp)
{
	struct esmtp_reply_parser *p = *pp;

	if (p == NULL)
		return;
	str_free(&p->line);
	esmtp_reply_free(&p->cur);
	free(p);
	*pp = NULL;
}

void esmtp_reply_parser_reset(struct esmtp_reply_parser *p)
{
	str_clear(&p->line);
	esmtp_reply_clear(&p->cur);
}

bool esmtp_reply_parser_busy(const struct esmtp_reply_parser *p)
{
	return str_len(&p->line) > 0 || p->cur.line_count > 0;
}

/* "d.ddd.ddd" at the start of text, with class digit c, followed by a
 * space or the end.  Returns its length or 0. */
static size_t enhanced_code(const char *text, char c)
{
	size_t i = 0, n;

	if (text[0] != c || text[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		for (n = 0; isdigit((unsigned char)text[i]) && n < 3; n++)
			i++;
		if (n == 0)
			return 0;
		if (part == 0) {
			if (text[i] != '.')
				return 0;
			i++;
		}
	}
	if (text[i] != ' ' && text[i] != '\0')
		return 0;
	return i;
}

/* One complete line.  Returns 1 when it ended the reply, 0 when more lines
 * follow, -1 on error. */
static int parse_line(struct esmtp_reply_parser *p, const char **error_r)
{
	const char *s = str_c(&p->line);
	size_t len = str_len(&p->line);
	unsigned int code;
	bool last;

	if (memchr(s, '\0', len) != NULL) {
		*error_r = "NUL byte in a reply";
		return -1;
	}
	if (len < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' ||
	    !isdigit((unsigned char)s[2]) ||
	    (len > 3 && s[3] != ' ' && s[3] != '-')) {
		*error_r = "malformed reply line";
		return -1;
	}
	code = (unsigned int)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
			      (s[2] - '0'));
	last = len == 3 || s[3] == ' ';
	if (p->cur.line_count == 0) {
		p->cur.code = code;
	} else if (code != p->cur.code) {
		*error_r = "reply code changed inside a multi-line reply";
		return -1;
	}
	if (p->cur.line_count >= p->max_lines) {
		*error_r = "too many lines in a reply";
		return -1;
	}
	if (p->cur.line_count == p->cur.offsets_alloc) {
		p->cur.offsets_alloc = p->cur.offsets_alloc == 0 ? 8 :
			p->cur.offsets_alloc * 2;
		p->cur.offsets = xreallocarray(p->cur.offsets,
					       p->cur.offsets_alloc,
					       sizeof(size_t));
	}
	p->cur.offsets[p->cur.line_count++] = str_len(&p->cur.text);
	str_append(&p->cur.text, len > 4 ? s + 4 : "");
	str_append_c(&p->cur.text, '\0');
	if (str_len(&p->cur.full) > 0)
		str_append_c(&p->cur.full, '\n');
	str_append_n(&p->cur.full, s, len);
	if (p->cur.line_count == 1 && len > 4) {
		size_t n = enhanced_code(s + 4, s[0]);

		if (n > 0 && n < sizeof(p->cur.enhanced)) {
			memcpy(p->cur.enhanced, s + 4, n);
			p->cur.enhanced[n] = '\0';
		}
	}
	return last ? 1 : 0;
}

static void swap_reply(struct esmtp_reply *a, struct esmtp_reply *b)
{
	struct esmtp_reply tmp = *a;

	*a = *b;
	*b = tmp;
}

int esmtp_reply_parser_feed(struct esmtp_reply_parser *p, const void *data,
			    size_t len, size_t *used_r,
			    struct esmtp_reply *reply, const char **error_r)
{
	const char *d = data;
	size_t i = 0;

	*used_r = 0;
	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (d + i)) : len - i;
		int r;

		if (str_len(&p->line) + n > p->max_line + 1) {
			*error_r = "reply line too long";
			return -1;
		}
		str_append_n(&p->line, d + i, n);
		i += n;
		if (nl == NULL)
			break;
		i++;	/* the LF */
		if (str_len(&p->line) > 0 &&
		    str_c(&p->line)[str_len(&p->line) - 1] == '\r')
			str_truncate(&p->line, str_len(&p->line) - 1);
		if (str_len(&p->line) > p->max_line) {
			*error_r = "reply line too long";
			return -1;
		}
		r = parse_line(p, error_r);
		str_clear(&p->line);
		if (r < 0)
			return -1;
		if (r > 0) {
			esmtp_reply_clear(reply);
			swap_reply(reply, &p->cur);
			*used_r = i;
			return 1;
		}
	}
	*used_r = len;
	return 0;
}

const struct esmtp_reply *
esmtp_reply_parser_partial(const struct esmtp_reply_parser *p)
{
	return &p->cur;
}

/* ---- EHLO keywords ---- */

void esmtp_ehlo_parse(const struct esmtp_reply *reply,
		      struct esmtp_ehlo *ehlo)
{
	memset(ehlo, 0, sizeof(*ehlo));
	for (size_t i = 1; i < reply->line_count; i++) {
		const char *l = esmtp_reply_line(reply, i);
		size_t kw = strcspn(l, " =");
		const char *param = l[kw] != '\0' ? l + kw + 1 : "";

		if (kw == 10 && strncasecmp(l, "PIPELINING", 10) == 0) {
			ehlo->pipelining = true;
		} else if (kw == 8 && strncasecmp(l, "8BITMIME", 8) == 0) {
			ehlo->eightbitmime = true;
		} else if (kw == 3 && strncasecmp(l, "DSN", 3) == 0) {
			ehlo->dsn = true;
		} else if (kw == 8 && strncasecmp(l, "STARTTLS", 8) == 0) {
			ehlo->starttls = true;
		} else if (kw == 8 && strncasecmp(l, "SMTPUTF8", 8) == 0) {
			ehlo->smtputf8 = true;
		} else if ((kw == 7 && strncasecmp(l, "XEXDATA", 7) == 0) ||
			   (kw == 6 && strncasecmp(l, "EXDATA", 6) == 0)) {
			ehlo->exdata = true;
		} else if (kw == 19 &&
			   strncasecmp(l, "ENHANCEDSTATUSCODES", 19) == 0) {
			ehlo->enhancedstatuscodes = true;
		} else if (kw == 4 && strncasecmp(l, "SIZE", 4) == 0) {
			uint64_t v = 0;
			bool ok = *param != '\0';

			ehlo->size = true;
			for (const char *c = param; *c != '\0'; c++) {
				if (!isdigit((unsigned char)*c) ||
				    v > (UINT64_MAX - 9) / 10) {
					ok = false;
					break;
				}
				v = v * 10 + (uint64_t)(*c - '0');
			}
			ehlo->size_max = ok ? v : 0;
		} else if (kw == 4 && strncasecmp(l, "AUTH", 4) == 0) {
			size_t have = strlen(ehlo->auth);

			/* "AUTH PLAIN LOGIN" and the old "AUTH=PLAIN LOGIN"
			 * both add their names */
			for (const char *c = param; *c != '\0' &&
			     have + 2 < sizeof(ehlo->auth); c++) {
				if (have > 0 && c == param)
					ehlo->auth[have++] = ' ';
				ehlo->auth[have++] = (char)toupper(
					(unsigned char)*c);
			}
			ehlo->auth[have] = '\0';
		}
	}
}

size_t esmtp_reply_exdata_split(const struct esmtp_reply *reply, char **subs,
				unsigned int *codes_r, size_t max)
{
	struct str one;
	size_t n = 0;
	unsigned int code = 0;
	bool open = false;

	if (reply->code != 558)
		return 0;
	str_init(&one, 128);
	for (size_t i = 0; i < reply->line_count && n < max; i++) {
		const char *l = esmtp_reply_line(reply, i);
		unsigned int c;

		if (strlen(l) < 4 || l[0] < '2' || l[0] > '5' ||
		    !isdigit((unsigned char)l[1]) ||
		    !isdigit((unsigned char)l[2]) ||
		    (l[3] != ' ' && l[3] != '-'))
			break;
		c = (unsigned int)((l[0] - '0') * 100 + (l[1] - '0') * 10 +
				   (l[2] - '0'));
		if (c < 200 || (open && c != code))
			break;
		code = c;
		if (open)
			str_append(&one, "  ");
		str_append(&one, l);
		open = l[3] == '-';
		if (!open) {
			if (codes_r != NULL)
				codes_r[n] = code;
			subs[n++] = str_steal(&one);
			str_init(&one, 128);
		}
	}
	str_free(&one);
	return n;
}
