/* fuzz-header.c: libFuzzer target for the RFC 5322 header parser, fed in
 * pieces, plus unfolding, folding and RFC 2047 decoding of each value. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include "rfc822-header.h"
#include "rfc2047.h"
#include "mime-params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void field_cb(const struct rfc822_header_field *f, void *context)
{
	struct str *s = context;
	struct mime_params params;
	char *type, *subtype;

	str_clear(s);
	rfc2047_decode(s, f->value, f->value_len);
	memset(&params, 0, sizeof(params));
	mime_params_parse_content_type(f->value, f->value_len, 8, &type,
				       &subtype, &params);
	free(type);
	free(subtype);
	mime_params_free(&params);
	str_clear(s);
	rfc2047_encode(s, f->value, f->value_len);
	if (strlen(f->value) == f->value_len && f->name_len > 0) {
		str_clear(s);
		rfc822_header_fold(s, f->name, f->value, 40, "\r\n");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfc822_header_limits limits = {
		.max_field_size = 256, .max_header_size = 4096
	};
	struct rfc822_header_parser *p = rfc822_header_parser_create(&limits);
	struct str s;
	size_t pos = 0, step = size > 0 ? (data[0] % 7) + 1 : 1;

	str_init(&s, 64);
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step, consumed;

		if (rfc822_header_parser_feed(p, data + pos, n, &consumed,
					      field_cb, &s) > 0) {
			if (consumed > n)
				__builtin_trap();
			break;
		}
		pos += n;
	}
	rfc822_header_parser_finish(p, field_cb, &s);
	rfc822_header_parser_destroy(&p);
	str_free(&s);
	return 0;
}
