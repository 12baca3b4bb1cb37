/* mailbot-template.c: mailbot(1)'s view of the original header, the
 * salutation template (-S, with %{fmt}d), References: and the subject. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mailbot.h"
#include "mem.h"
#include "rfc822-date.h"
#include "rfc822-header.h"

#define MAX_FIELD_VALUE (64 * 1024)
#define MAX_REFERENCES 20

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct parse_ctx {
	struct mailbot_header *h;
	const char *msg;
	size_t len;
};

static void field_cb(const struct rfc822_header_field *f, void *context)
{
	struct parse_ctx *ctx = context;
	const char *p, *end;
	struct str v;
	bool space = false;

	if (f->broken || f->name_len == 0 || f->offset >= ctx->len)
		return;
	p = ctx->msg + f->offset;
	end = f->offset + f->size <= ctx->len ? p + f->size : ctx->msg + ctx->len;
	p = memchr(p, ':', (size_t)(end - p));
	if (p == NULL)
		return;
	str_init(&v, 64);
	/* a fold and the blanks around it become one space; leading and
	 * trailing blanks go */
	for (p++; p < end && str_len(&v) < MAX_FIELD_VALUE; p++) {
		if (*p == '\r' || *p == '\n') {
			space = str_len(&v) > 0;
			while (p + 1 < end && blank(p[1]))
				p++;
			continue;
		}
		if (space) {
			str_append_c(&v, ' ');
			space = false;
		}
		if (*p == '\0')
			continue;
		if ((*p == ' ' || *p == '\t') && str_len(&v) == 0)
			continue;
		str_append_c(&v, *p);
	}
	while (str_len(&v) > 0 && blank(str_c(&v)[str_len(&v) - 1]))
		str_truncate(&v, str_len(&v) - 1);
	ctx->h->fields = xreallocarray(ctx->h->fields, ctx->h->count + 1,
				       sizeof(*ctx->h->fields));
	ctx->h->fields[ctx->h->count].name = xstrndup(f->name, f->name_len);
	ctx->h->fields[ctx->h->count++].value = str_steal(&v);
}

void mailbot_header_parse(struct mailbot_header *h, const char *msg,
			  size_t len)
{
	struct rfc822_header_parser *p = rfc822_header_parser_create(NULL);
	struct parse_ctx ctx = { h, msg, len };
	size_t consumed = len;

	memset(h, 0, sizeof(*h));
	if (rfc822_header_parser_feed(p, msg, len, &consumed, field_cb,
				      &ctx) == 0) {
		rfc822_header_parser_finish(p, field_cb, &ctx);
		consumed = len;
	}
	h->body_offset = consumed;
	rfc822_header_parser_destroy(&p);
}

void mailbot_header_free(struct mailbot_header *h)
{
	for (size_t i = 0; i < h->count; i++) {
		free(h->fields[i].name);
		free(h->fields[i].value);
	}
	free(h->fields);
	memset(h, 0, sizeof(*h));
}

const char *mailbot_header_get(const struct mailbot_header *h,
			       const char *name)
{
	for (size_t i = 0; i < h->count; i++)
		if (strcasecmp(h->fields[i].name, name) == 0)
			return h->fields[i].value;
	return NULL;
}

/* strftime() of date (an RFC 5322 date) in the local zone; the date as
 * it is when it cannot be parsed. */
static void format_date(struct str *out, const char *fmt, size_t fmt_len,
			const char *date)
{
	time_t t;
	int tz;
	struct tm tm;

	if (date == NULL)
		return;
	if (rfc822_date_parse(date, strlen(date), &t, &tz) == 0 &&
	    localtime_r(&t, &tm) != NULL) {
		char buf[1024];
		char *f = xstrndup(fmt, fmt_len);
		size_t n = 0;

		/* the user's format is the point of %{fmt}d */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		if (fmt_len > 0)
			n = strftime(buf, sizeof(buf), f, &tm);
#pragma GCC diagnostic pop

		free(f);
		str_append_n(out, buf, n);
		return;
	}
	str_append(out, date);
}

void mailbot_salutation(struct str *out, const char *tmpl,
			const struct mailbot_sal_vars *v)
{
	static const char default_fmt[] = "%a, %d %b %Y %H:%M:%S %z";
	size_t len = strnlen(tmpl, MAILBOT_MAX_ARG);

	for (size_t i = 0; i < len; i++) {
		const char *fmt = default_fmt, *s = NULL;
		size_t fmt_len = sizeof(default_fmt) - 1;

		if (tmpl[i] != '%' || i + 1 == len) {
			str_append_c(out, tmpl[i]);
			continue;
		}
		i++;
		if (tmpl[i] == '{') {
			const char *close = memchr(tmpl + i + 1, '}', len - i - 1);

			if (close == NULL ||
			    (size_t)(close - tmpl) + 1 >= len ||
			    (size_t)(close - tmpl - i - 1) > MAILBOT_MAX_DATE_FORMAT) {
				/* no "}x" after it: the text as it is */
				str_append_n(out, tmpl + i - 1, len - i + 1);
				return;
			}
			fmt = tmpl + i + 1;
			fmt_len = (size_t)(close - fmt);
			i = (size_t)(close - tmpl) + 1;
		}
		switch (tmpl[i]) {
		case 'n': str_append_c(out, '\n'); break;
		case 'C': s = v->newsgroup; break;
		case 'N': s = v->newsgroups; break;
		case 'i': s = v->message_id; break;
		case 'f': s = v->addr; break;
		case 'F': s = v->name != NULL ? v->name : v->addr; break;
		case 'S': case 's': s = v->subject; break;
		case 'd': format_date(out, fmt, fmt_len, v->date); break;
		default: str_append_c(out, tmpl[i]); break;
		}
		if (s != NULL)
			str_append(out, s);
	}
}

void mailbot_references(struct str *out, const char *references,
			const char *message_id)
{
	const char *srcs[2] = { references, message_id };
	struct { const char *p; size_t n; } ids[MAX_REFERENCES];
	size_t count = 0, first = 0;

	for (size_t s = 0; s < 2; s++) {
		const char *p = srcs[s];

		while (p != NULL && *p != '\0') {
			const char *start, *end;

			while (blank(*p) || *p == ',')
				p++;
			if (*p == '\0')
				break;
			if (*p == '<') {
				start = ++p;
				end = strchr(p, '>');
				if (end == NULL)
					end = p + strlen(p);
				p = *end == '>' ? end + 1 : end;
			} else {
				start = p;
				while (*p != '\0' && !blank(*p) && *p != ',' &&
				       *p != '<')
					p++;
				end = p;
			}
			if (end == start)
				continue;
			/* a ring of the last MAX_REFERENCES ids */
			ids[(first + count) % MAX_REFERENCES].p = start;
			ids[(first + count) % MAX_REFERENCES].n =
				(size_t)(end - start);
			if (count < MAX_REFERENCES)
				count++;
			else
				first = (first + 1) % MAX_REFERENCES;
		}
	}
	for (size_t i = 0; i < count; i++) {
		size_t k = (first + i) % MAX_REFERENCES;

		if (i > 0)
			str_append(out, "            ");
		str_append_c(out, '<');
		str_append_n(out, ids[k].p, ids[k].n);
		str_append(out, ">\n");
	}
}

/* Length of a reply/forward marker ("Re:", "FWD :") at p, or 0. */
static size_t marker_len(const char *p)
{
	static const char *const words[] = { "re", "fwd", "fw" };

	for (size_t w = 0; w < N_ELEMENTS(words); w++) {
		size_t n = strlen(words[w]), k;

		if (strncasecmp(p, words[w], n) != 0)
			continue;
		k = n;
		while (p[k] == ' ' || p[k] == '\t')
			k++;
		if (p[k] == ':')
			return k + 1;
	}
	return 0;
}

void mailbot_core_subject(struct str *out, const char *subject)
{
	const char *p = subject;
	size_t start = str_len(out), n, end;
	bool space = false;

	for (;;) {
		while (blank(*p))
			p++;
		if ((n = marker_len(p)) == 0)
			break;
		p += n;
	}
	for (; *p != '\0'; p++) {
		if (blank(*p)) {
			space = true;
			continue;
		}
		if (space && str_len(out) > start)
			str_append_c(out, ' ');
		space = false;
		str_append_c(out, *p);
	}
	/* trailing "(fwd)"s */
	for (;;) {
		end = str_len(out);
		if (end - start < 5 ||
		    strcasecmp(str_c(out) + end - 5, "(fwd)") != 0)
			break;
		end -= 5;
		while (end > start && blank(str_c(out)[end - 1]))
			end--;
		str_truncate(out, end);
	}
}

/* Does the line at p (n bytes) start with prefix, in any case? */
static bool has_prefix(const char *p, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n >= pl && strncasecmp(p, prefix, pl) == 0;
}

static bool keep_line(const char *p, size_t n, enum mailbot_keep keep)
{
	if (keep == MAILBOT_KEEP_CONTENT)
		return has_prefix(p, n, "Content-") &&
		       !has_prefix(p, n, "Content-Length:");
	return !has_prefix(p, n, "Content-Transfer-Encoding:");
}

void mailbot_mime_file_split(const char *data, size_t len, struct str *hdrs,
			     struct str *body, enum mailbot_keep keep)
{
	size_t i = 0;
	bool keeping = false;

	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - data) + 1 : len;
		size_t ll = end - i;

		if ((ll == 1 && nl != NULL) || (ll == 2 && data[i] == '\r' &&
						nl != NULL)) {
			i = end;
			break;
		}
		if (data[i] != ' ' && data[i] != '\t')
			keeping = keep_line(data + i, ll, keep);
		if (keeping) {
			str_append_n(hdrs, data + i, ll);
			if (nl == NULL)
				str_append_c(hdrs, '\n');
		}
		i = end;
	}
	str_append_n(body, data + i, len - i);
}

bool mailbot_mime_file_check(const char *data, size_t len)
{
	for (size_t i = 0; i < len; ) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - data) : len, n = i;

		if (end == i || (end == i + 1 && data[i] == '\r'))
			return true;	/* the empty line */
		if (data[i] != ' ' && data[i] != '\t') {
			while (n < end && data[n] > ' ' && data[n] < 127 &&
			       data[n] != ':')
				n++;
			if (n == i || n == end || data[n] != ':')
				return false;
		}
		i = end + 1;
	}
	return true;
}
