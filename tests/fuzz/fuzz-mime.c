/* fuzz-mime.c: libFuzzer target for the streaming MIME parser: parses the
 * input whole and in small pieces with decoding callbacks, checks that
 * both trees agree and that every part lies inside the message. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include "mime-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void body_cb(struct mime_part *part, const void *d, size_t n,
		    void *context)
{
	size_t *total = context;

	(void)part;
	(void)d;
	*total += n;
}

static void check_tree(const struct mime_part *a, const struct mime_part *b,
		       size_t size)
{
	for (; a != NULL || b != NULL;
	     a = mime_part_walk_next(a), b = mime_part_walk_next(b)) {
		if (a == NULL || b == NULL)
			__builtin_trap();
		if (a->header_offset != b->header_offset ||
		    a->body_offset != b->body_offset ||
		    a->end_offset != b->end_offset ||
		    a->body_lines != b->body_lines ||
		    a->header_lines != b->header_lines ||
		    strcmp(a->type, b->type) != 0)
			__builtin_trap();
		if (a->header_offset > a->body_offset ||
		    a->body_offset > a->end_offset || a->end_offset > size)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_parser_settings set;
	struct mime_parser_callbacks cb;
	struct mime_parser *p;
	struct mime_part *whole, *split;
	size_t total = 0, pos = 0, step = size > 0 ? (data[0] % 13) + 1 : 1;
	struct str sec;

	memset(&set, 0, sizeof(set));
	set.limits.max_depth = 10;
	set.limits.max_parts = 50;
	set.limits.max_header_size = 2048;
	set.limits.max_header_line = 200;
	set.require_mime_version = size > 1 && (data[1] & 1) != 0;
	whole = mime_parse_buffer(data, size, &set);

	memset(&cb, 0, sizeof(cb));
	cb.body = body_cb;
	cb.decoded_body = body_cb;
	p = mime_parser_create(&set, &cb, &total);
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;

		mime_parser_feed(p, data + pos, n);
		pos += n;
	}
	split = mime_parser_finish(p);
	mime_parser_destroy(&p);
	check_tree(whole, split, size);

	str_init(&sec, 16);
	for (struct mime_part *part = whole; part != NULL;
	     part = mime_part_walk_next(part)) {
		str_clear(&sec);
		mime_part_get_section(part, &sec);
		(void)mime_part_find_section(whole, str_c(&sec));
		(void)mime_part_charset(part);
	}
	str_free(&sec);
	mime_part_free(&whole);
	mime_part_free(&split);
	return 0;
}
