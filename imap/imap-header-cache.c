/* imap-header-cache.c: the cached header fields of SEARCH, SORT, THREAD. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-header-cache.h"
#include "imap-search.h"
#include "mem.h"
#include "rfc822-header.h"

static const char *const wanted_names[] = {
	"From", "To", "Cc", "Bcc", "Subject", "Date",
	"Message-ID", "In-Reply-To", "References",
};

bool imap_header_cache_wanted(const char *name, size_t name_len)
{
	for (size_t i = 0; i < N_ELEMENTS(wanted_names); i++)
		if (strlen(wanted_names[i]) == name_len &&
		    strncasecmp(wanted_names[i], name, name_len) == 0)
			return true;
	return false;
}

void imap_header_cache_builder_init(struct imap_header_cache_builder *b)
{
	str_init(&b->blob, 256);
	b->overflow = false;
}

void imap_header_cache_builder_add(struct imap_header_cache_builder *b,
				   const char *name, size_t name_len,
				   const char *value, size_t value_len)
{
	unsigned char len4[4];

	if (b->overflow || name_len == 0 || name_len > 255 ||
	    !imap_header_cache_wanted(name, name_len))
		return;
	if (str_len(&b->blob) + 5 + name_len + value_len >
	    IMAP_HEADER_CACHE_MAX) {
		b->overflow = true;
		return;
	}
	str_append_c(&b->blob, (char)name_len);
	str_append_n(&b->blob, name, name_len);
	for (int i = 0; i < 4; i++)
		len4[i] = (unsigned char)(value_len >> (8 * i));
	str_append_n(&b->blob, len4, 4);
	str_append_n(&b->blob, value, value_len);
}

char *imap_header_cache_builder_finish(struct imap_header_cache_builder *b,
				       size_t *len_r)
{
	if (b->overflow) {
		str_clear(&b->blob);
		str_append_c(&b->blob, 'X');
	}
	*len_r = str_len(&b->blob);
	char *ret = str_steal(&b->blob);
	b->overflow = false;
	return ret;
}

static void builder_field_cb(const struct rfc822_header_field *field,
			     void *context)
{
	if (field->broken)
		return;
	imap_header_cache_builder_add(context, field->name, field->name_len,
				      field->value, field->value_len);
}

/* The end of a parse: a header cut short by the limits is not cached. */
static char *builder_end(struct rfc822_header_parser **hp,
			 struct imap_header_cache_builder *b, size_t *len_r)
{
	if ((rfc822_header_parser_get_flags(*hp) &
	     (RFC822_HEADER_FLAG_TRUNCATED | RFC822_HEADER_FLAG_TOO_BIG)) != 0)
		b->overflow = true;
	rfc822_header_parser_destroy(hp);
	return imap_header_cache_builder_finish(b, len_r);
}

static struct rfc822_header_parser *parser_new(void)
{
	struct rfc822_header_limits limits = {
		.max_header_size = IMAP_SEARCH_MAX_HEADER,
	};

	return rfc822_header_parser_create(&limits);
}

char *imap_header_cache_from_message(const char *data, size_t size,
				     size_t *len_r)
{
	struct rfc822_header_parser *hp = parser_new();
	struct imap_header_cache_builder b;
	size_t used;

	imap_header_cache_builder_init(&b);
	if (rfc822_header_parser_feed(hp, data, size, &used, builder_field_cb,
				      &b) != 1)
		rfc822_header_parser_finish(hp, builder_field_cb, &b);
	return builder_end(&hp, &b, len_r);
}

int imap_header_cache_parse(const void *data, size_t len,
			    void (*cb)(const char *name, const char *value,
				       size_t value_len, void *context),
			    void *context)
{
	const unsigned char *p = data, *end = p + len;
	char name[256];

	if (len == 1 && p[0] == 'X')
		return 0;
	while (p < end) {
		size_t name_len = *p++;
		uint32_t value_len = 0;

		if (name_len == 0 || (size_t)(end - p) < name_len + 4)
			return -1;
		memcpy(name, p, name_len);
		name[name_len] = '\0';
		p += name_len;
		for (int i = 0; i < 4; i++)
			value_len |= (uint32_t)p[i] << (8 * i);
		p += 4;
		if ((size_t)(end - p) < value_len)
			return -1;
		cb(name, (const char *)p, value_len, context);
		p += value_len;
	}
	return 1;
}
