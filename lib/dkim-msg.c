/* dkim-msg.c: a message's header as DKIM reads and selects it (see
 * dkim-msg.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim-msg.h"
#include "mem.h"
#include "rfc822-header.h"

struct dkim_msg {
	struct rfc822_header_parser *parser;
	struct str block;	/* the raw header bytes */
	struct dkim_msg_field *fields;
	size_t count, alloc;
	bool done, too_big;
};

struct dkim_msg *dkim_msg_create(uint64_t max_header)
{
	struct dkim_msg *m = xcalloc(1, sizeof(*m));
	struct rfc822_header_limits lim;

	memset(&lim, 0, sizeof(lim));
	lim.max_header_size = max_header != 0 ? max_header :
			      DKIM_MSG_DEFAULT_MAX_HEADER;
	lim.max_field_size = DKIM_MAX_VALUE + 1024;
	m->parser = rfc822_header_parser_create(&lim);
	str_init(&m->block, 4096);
	return m;
}

void dkim_msg_destroy(struct dkim_msg **mp)
{
	struct dkim_msg *m = *mp;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->count; i++) {
		free(m->fields[i].name);
		free(m->fields[i].value);
	}
	free(m->fields);
	rfc822_header_parser_destroy(&m->parser);
	str_free(&m->block);
	free(m);
	*mp = NULL;
}

static void field_cb(const struct rfc822_header_field *field, void *context)
{
	struct dkim_msg *m = context;
	const char *raw, *colon, *end;
	struct dkim_msg_field *f;
	struct str v;
	size_t name_len;

	if (field->broken || field->offset + field->size > m->block.len) {
		if (field->offset + field->size > m->block.len)
			m->too_big = true;	/* not all of it is here */
		return;
	}
	if (field->truncated || m->count >= DKIM_MSG_MAX_FIELDS) {
		m->too_big = true;
		return;
	}
	raw = m->block.data + field->offset;
	end = raw + field->size;
	colon = memchr(raw, ':', field->size);
	if (colon == NULL)
		return;
	name_len = (size_t)(colon - raw);
	while (name_len > 0 && (raw[name_len - 1] == ' ' ||
				raw[name_len - 1] == '\t'))
		name_len--;
	/* drop the final line end */
	if (end > colon + 1 && end[-1] == '\n')
		end--;
	if (end > colon + 1 && end[-1] == '\r')
		end--;
	/* inner line breaks as CRLF */
	str_init(&v, (size_t)(end - colon) + 16);
	for (const char *p = colon + 1; p < end; p++) {
		if (*p == '\n' && (p == colon + 1 || p[-1] != '\r'))
			str_append_c(&v, '\r');
		str_append_c(&v, *p);
	}
	if (m->count == m->alloc) {
		m->alloc = m->alloc == 0 ? 32 : m->alloc * 2;
		m->fields = xreallocarray(m->fields, m->alloc,
					  sizeof(*m->fields));
	}
	f = &m->fields[m->count++];
	f->name = xstrndup(raw, name_len);
	f->name_len = name_len;
	f->value_len = v.len;
	f->value = str_steal(&v);
}

int dkim_msg_feed(struct dkim_msg *m, const void *data, size_t len,
		  size_t *used_r)
{
	size_t used = 0;
	int r;

	*used_r = 0;
	if (m->done)
		return 1;
	/* the block must hold the bytes before the parser reports them */
	str_append_n(&m->block, data, len);
	r = rfc822_header_parser_feed(m->parser, data, len, &used, field_cb,
				      m);
	if (r == 0) {
		*used_r = len;
		return 0;
	}
	str_truncate(&m->block, m->block.len - (len - used));
	m->done = true;
	if ((rfc822_header_parser_get_flags(m->parser) &
	     RFC822_HEADER_FLAG_TOO_BIG) != 0)
		m->too_big = true;
	*used_r = used;
	return 1;
}

void dkim_msg_finish(struct dkim_msg *m)
{
	if (m->done)
		return;
	rfc822_header_parser_finish(m->parser, field_cb, m);
	m->done = true;
	if ((rfc822_header_parser_get_flags(m->parser) &
	     RFC822_HEADER_FLAG_TOO_BIG) != 0)
		m->too_big = true;
}

bool dkim_msg_header_done(const struct dkim_msg *m)
{
	return m->done;
}

bool dkim_msg_header_too_big(const struct dkim_msg *m)
{
	return m->too_big;
}

size_t dkim_msg_field_count(const struct dkim_msg *m)
{
	return m->count;
}

const struct dkim_msg_field *dkim_msg_field(const struct dkim_msg *m,
					    size_t i)
{
	return i < m->count ? &m->fields[i] : NULL;
}

static bool name_is(const struct dkim_msg_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	       strncasecmp(f->name, name, f->name_len) == 0;
}

long dkim_msg_find_last(const struct dkim_msg *m, const char *name,
			size_t before)
{
	size_t i = before < m->count ? before : m->count;

	while (i-- > 0) {
		if (name_is(&m->fields[i], name))
			return (long)i;
	}
	return -1;
}

void dkim_msg_select(const struct dkim_msg *m, char *const *names,
		     size_t count, enum dkim_canon canon, size_t skip,
		     struct str *out)
{
	bool *used = xcalloc(m->count + 1, sizeof(bool));

	for (size_t n = 0; n < count; n++) {
		for (size_t i = m->count; i-- > 0;) {
			const struct dkim_msg_field *f = &m->fields[i];

			if (used[i] || i == skip || !name_is(f, names[n]))
				continue;
			used[i] = true;
			dkim_canon_header(out, canon, f->name, f->name_len,
					  f->value, f->value_len, true);
			break;
		}
	}
	free(used);
}

void dkim_msg_strip_b(struct str *out, const char *value, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, name_start, name_end, eq;

		/* one tag: up to the next ';' */
		while (i < len && value[i] != ';')
			i++;
		name_start = start;
		while (name_start < i &&
		       strchr(" \t\r\n", value[name_start]) != NULL)
			name_start++;
		name_end = name_start;
		while (name_end < i && value[name_end] != '=' &&
		       strchr(" \t\r\n", value[name_end]) == NULL)
			name_end++;
		eq = name_end;
		while (eq < i && strchr(" \t\r\n", value[eq]) != NULL)
			eq++;
		if (name_end - name_start == 1 && value[name_start] == 'b' &&
		    eq < i && value[eq] == '=')
			str_append_n(out, value + start, eq + 1 - start);
		else
			str_append_n(out, value + start, i - start);
		if (i < len) {
			str_append_c(out, ';');
			i++;
		}
	}
}
