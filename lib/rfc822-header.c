/* rfc822-header.c: streaming RFC 5322 header block parser, folding and
 * unfolding of header fields. */
#include "config.h"
#include <string.h>
#include <stdlib.h>
#include "mem.h"
#include "rfc822-header.h"

struct rfc822_header_parser {
	size_t max_field_size;
	uint64_t max_header_size;

	struct str field;	/* current field, line ends removed */
	uint64_t field_offset;	/* where it started */
	uint64_t field_end;	/* end of its last complete line */
	unsigned int field_lines;
	bool have_field;
	bool field_truncated;

	uint64_t size;		/* bytes consumed in this block */
	uint64_t lines;		/* LFs consumed in this block */
	unsigned int flags;
	bool at_line_start;
	bool line_start_cr;	/* a CR was the first byte of this line */
	bool pending_cr;	/* a CR ended the last chunk inside a line */
	bool ended;
};

struct rfc822_header_parser *
rfc822_header_parser_create(const struct rfc822_header_limits *limits)
{
	struct rfc822_header_parser *p = xcalloc(1, sizeof(*p));

	p->max_field_size = limits != NULL && limits->max_field_size > 0 ?
		limits->max_field_size : RFC822_HEADER_DEFAULT_MAX_FIELD;
	p->max_header_size = limits != NULL && limits->max_header_size > 0 ?
		limits->max_header_size : RFC822_HEADER_DEFAULT_MAX_SIZE;
	str_init(&p->field, 256);
	rfc822_header_parser_reset(p);
	return p;
}

void rfc822_header_parser_destroy(struct rfc822_header_parser **parser)
{
	struct rfc822_header_parser *p = *parser;

	if (p == NULL)
		return;
	str_free(&p->field);
	free(p);
	*parser = NULL;
}

void rfc822_header_parser_reset(struct rfc822_header_parser *p)
{
	str_clear(&p->field);
	p->field_offset = p->field_end = 0;
	p->field_lines = 0;
	p->have_field = p->field_truncated = false;
	p->size = p->lines = 0;
	p->flags = 0;
	p->at_line_start = true;
	p->line_start_cr = p->pending_cr = false;
	p->ended = false;
}

static inline bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static void field_append(struct rfc822_header_parser *p, const char *data,
			 size_t len)
{
	size_t room = p->max_field_size - str_len(&p->field);

	if (len > room) {
		p->field_truncated = true;
		p->flags |= RFC822_HEADER_FLAG_TRUNCATED;
		len = room;
	}
	if (len > 0)
		str_append_n(&p->field, data, len);
}

static void field_emit(struct rfc822_header_parser *p,
		       rfc822_header_callback_t *callback, void *context)
{
	struct rfc822_header_field f;
	char *buf = p->field.data;
	size_t len = str_len(&p->field);
	char *colon;
	size_t i, name_end, vstart, vend;
	bool name_ok;

	if (!p->have_field)
		return;
	p->have_field = false;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\0')
			p->flags |= RFC822_HEADER_FLAG_NUL;
		else if (c >= 0x80)
			p->flags |= RFC822_HEADER_FLAG_8BIT;
		else if (c == '\r')
			p->flags |= RFC822_HEADER_FLAG_BARE_CR;
	}

	memset(&f, 0, sizeof(f));
	f.offset = p->field_offset;
	f.size = p->field_end - p->field_offset;
	f.lines = p->field_lines;
	f.truncated = p->field_truncated;

	colon = memchr(buf, ':', len);
	name_end = colon != NULL ? (size_t)(colon - buf) : 0;
	while (name_end > 0 && is_wsp(buf[name_end - 1]))
		name_end--;
	name_ok = colon != NULL && name_end > 0;
	for (i = 0; name_ok && i < name_end; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c <= 32 || c >= 127)
			name_ok = false;
	}
	if (name_ok) {
		vstart = (size_t)(colon - buf) + 1;
	} else {
		f.broken = true;
		p->flags |= RFC822_HEADER_FLAG_BROKEN;
		name_end = 0;
		vstart = 0;
	}
	vend = len;
	while (vstart < vend && is_wsp(buf[vstart]))
		vstart++;
	while (vend > vstart && (is_wsp(buf[vend - 1]) || buf[vend - 1] == '\r'))
		vend--;
	buf[vend] = '\0';
	f.value = buf + vstart;
	f.value_len = vend - vstart;
	if (name_ok) {
		buf[name_end] = '\0';
		f.name = buf;
	} else {
		f.name = "";
	}
	f.name_len = name_end;

	if (callback != NULL)
		callback(&f, context);
	str_clear(&p->field);
}

static void field_start(struct rfc822_header_parser *p)
{
	str_clear(&p->field);
	p->have_field = true;
	p->field_truncated = false;
	p->field_offset = p->size;
	p->field_end = p->size;
	p->field_lines = 1;
}

int rfc822_header_parser_feed(struct rfc822_header_parser *p,
			      const void *data, size_t size,
			      size_t *consumed_r,
			      rfc822_header_callback_t *callback,
			      void *context)
{
	const char *d = data;
	size_t pos = 0;

	while (pos < size && !p->ended) {
		if (p->size >= p->max_header_size) {
			p->flags |= RFC822_HEADER_FLAG_TOO_BIG;
			if (p->have_field && !p->at_line_start)
				p->field_end = p->size;
			field_emit(p, callback, context);
			p->ended = true;
			break;
		}
		if (p->at_line_start) {
			char c = d[pos];

			if (p->line_start_cr) {
				p->line_start_cr = false;
				if (c == '\n') {
					pos++;
					p->size++;
					p->lines++;
					field_emit(p, callback, context);
					p->ended = true;
					break;
				}
				/* A bare CR opens a line: keep it as data. */
				field_emit(p, callback, context);
				field_start(p);
				p->field_offset = p->size - 1;
				field_append(p, "\r", 1);
				p->at_line_start = false;
				continue;
			}
			if (c == '\n') {
				pos++;
				p->size++;
				p->lines++;
				field_emit(p, callback, context);
				p->ended = true;
				break;
			}
			if (c == '\r') {
				pos++;
				p->size++;
				p->line_start_cr = true;
				continue;
			}
			if (is_wsp(c) && p->have_field) {
				p->field_lines++;
			} else {
				field_emit(p, callback, context);
				field_start(p);
			}
			p->at_line_start = false;
		}

		/* Inside a line: take bytes up to LF or the block limit. */
		uint64_t left = p->max_header_size - p->size;
		size_t avail = size - pos;
		if (left < avail)
			avail = (size_t)left;
		const char *start = d + pos;
		const char *lf = memchr(start, '\n', avail);
		size_t seg = lf != NULL ? (size_t)(lf - start) : avail;

		if (p->pending_cr) {
			p->pending_cr = false;
			if (!(lf != NULL && seg == 0))
				field_append(p, "\r", 1);
		}
		if (lf != NULL) {
			size_t keep = seg;

			if (keep > 0 && start[keep - 1] == '\r')
				keep--;
			field_append(p, start, keep);
			pos += seg + 1;
			p->size += seg + 1;
			p->lines++;
			p->field_end = p->size;
			p->at_line_start = true;
		} else {
			size_t keep = seg;

			if (keep > 0 && start[keep - 1] == '\r') {
				keep--;
				p->pending_cr = true;
			}
			field_append(p, start, keep);
			pos += seg;
			p->size += seg;
		}
	}
	if (p->ended) {
		*consumed_r = pos;
		return 1;
	}
	*consumed_r = pos;
	return 0;
}

void rfc822_header_parser_finish(struct rfc822_header_parser *p,
				 rfc822_header_callback_t *callback,
				 void *context)
{
	if (p->ended)
		return;
	if (p->pending_cr) {
		p->pending_cr = false;
		field_append(p, "\r", 1);
	}
	if (p->have_field)
		p->field_end = p->size;
	field_emit(p, callback, context);
	p->flags |= RFC822_HEADER_FLAG_NO_END;
	p->ended = true;
}

unsigned int
rfc822_header_parser_get_flags(const struct rfc822_header_parser *p)
{
	return p->flags;
}

uint64_t rfc822_header_parser_get_size(const struct rfc822_header_parser *p)
{
	return p->size;
}

uint64_t rfc822_header_parser_get_lines(const struct rfc822_header_parser *p)
{
	return p->lines;
}

void rfc822_header_unfold(struct str *dest, const char *value, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(value + i, '\n', len - i);
		size_t seg = nl != NULL ? (size_t)(nl - (value + i)) : len - i;
		size_t keep = seg;

		if (nl != NULL && keep > 0 && value[i + keep - 1] == '\r')
			keep--;
		str_append_n(dest, value + i, keep);
		i += seg + (nl != NULL ? 1 : 0);
	}
}

void rfc822_header_fold(struct str *dest, const char *name, const char *value,
			size_t line_len, const char *eol)
{
	struct str unfolded;
	const char *v;
	size_t len, i, col;

	if (line_len == 0)
		line_len = 78;
	str_init(&unfolded, strlen(value) + 1);
	rfc822_header_unfold(&unfolded, value, strlen(value));
	v = str_c(&unfolded);
	len = str_len(&unfolded);

	str_append(dest, name);
	str_append(dest, ":");
	col = strlen(name) + 1;
	i = 0;
	/* The first word goes after "Name:" with one space, as written. */
	if (len > 0 && !is_wsp(v[0])) {
		str_append_c(dest, ' ');
		col++;
	}
	while (i < len) {
		/* A unit is a run of whitespace followed by a word. */
		size_t ws = i, word, end;

		while (ws < len && is_wsp(v[ws]))
			ws++;
		word = ws;
		end = word;
		while (end < len && !is_wsp(v[end]))
			end++;
		if (i > 0 && ws > i && col + (end - i) > line_len && col > 0) {
			/* Break before the whitespace: unfolding restores it. */
			str_append(dest, eol);
			col = 0;
		}
		str_append_n(dest, v + i, end - i);
		col += end - i;
		i = end;
	}
	str_append(dest, eol);
	str_free(&unfolded);
}
