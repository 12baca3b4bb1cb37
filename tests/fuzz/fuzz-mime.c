/* fuzz-mime.c: libFuzzer target for the streaming MIME parser and the
 * transfer-encoding decoders: parses the input whole and in small pieces
 * with decoding callbacks, checks that both trees agree and that every
 * part lies inside the message; decodes the input as quoted-printable and
 * base64 whole and in pieces and checks both give the same bytes; reads
 * it as a Content-Type value. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include "mime-decode.h"
#include "mime-params.h"
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
		    strcmp(a->type, b->type) != 0 ||
		    strcmp(a->subtype, b->subtype) != 0 ||
		    strcmp(a->encoding, b->encoding) != 0 ||
		    (a->type_text == NULL) != (b->type_text == NULL) ||
		    (a->type_text != NULL &&
		     strcmp(a->type_text, b->type_text) != 0))
			__builtin_trap();
		if (a->header_offset > a->body_offset ||
		    a->body_offset > a->end_offset || a->end_offset > size)
			__builtin_trap();
	}
}

/* Decodes data whole and in pieces of step bytes: same output. */
static void check_decoder(enum mime_encoding enc, const uint8_t *data,
			  size_t size, size_t step)
{
	struct mime_decoder a, b;
	struct str out_a, out_b;

	str_init(&out_a, 256);
	str_init(&out_b, 256);
	mime_decoder_init(&a, enc);
	mime_decoder_feed(&a, data, size, &out_a);
	mime_decoder_finish(&a, &out_a);
	mime_decoder_init(&b, enc);
	for (size_t pos = 0; pos < size; pos += step)
		mime_decoder_feed(&b, data + pos,
				  size - pos < step ? size - pos : step, &out_b);
	mime_decoder_finish(&b, &out_b);
	if (str_len(&out_a) != str_len(&out_b) ||
	    memcmp(str_c(&out_a), str_c(&out_b), str_len(&out_a)) != 0 ||
	    mime_decoder_had_error(&a) != mime_decoder_had_error(&b))
		__builtin_trap();
	/* Decoding never grows the data. */
	if (str_len(&out_a) > size)
		__builtin_trap();
	str_free(&out_a);
	str_free(&out_b);
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

	check_decoder(MIME_ENCODING_QP, data, size, step);
	check_decoder(MIME_ENCODING_BASE64, data, size, step);
	char *t = mime_params_type_text((const char *)data, size);
	if (t != NULL && strlen(t) > size)
		__builtin_trap();
	free(t);
	mime_part_free(&whole);
	mime_part_free(&split);
	return 0;
}
