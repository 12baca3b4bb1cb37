/* fuzz-imap-parser.c: libFuzzer target for the IMAP command parser.  The
 * first byte picks the chunk size; the input is fed in pieces with small
 * limits, literals are accepted or refused alternately, and every parsed
 * tree is walked.  Checks the parser's promises: it consumes what it is
 * given, a DONE command has a valid tag and at least one argument, and
 * limits hold. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-parser.h"

static size_t walk(const struct imap_arg *args, size_t n, unsigned depth)
{
	size_t total = n;

	if (depth > 4)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (args[i].type == IMAP_ARG_LIST)
			total += walk(args[i].list, args[i].list_count,
				      depth + 1);
		else if (args[i].type != IMAP_ARG_NIL &&
			 (args[i].str == NULL || args[i].str[args[i].len] != 0))
			abort();
	}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_settings set = { .max_line = 256,
					    .max_literal = 300,
					    .max_depth = 4,
					    .max_args = 50 };
	if (size == 0)
		return 0;
	size_t chunk = (data[0] % 16) + 1;
	data++;
	size--;
	struct imap_parser *p = imap_parser_create(&set);
	unsigned literals = 0;
	size_t pos = 0;

	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		size_t off = 0;

		while (off < n) {
			size_t used;
			enum imap_parse_result r =
				imap_parser_feed(p, data + pos + off, n - off,
						 &used);
			if (used > n - off)
				abort();
			off += used;
			if (r == IMAP_PARSE_DONE) {
				size_t count;
				const struct imap_arg *a =
					imap_parser_args(p, &count);
				const char *tag = imap_parser_tag(p);
				if (tag == NULL || !imap_parser_tag_valid(tag) ||
				    count == 0 ||
				    walk(a, count, 0) > set.max_args)
					abort();
				imap_parser_reset(p);
			} else if (r == IMAP_PARSE_LITERAL) {
				if (imap_parser_literal_size(p) >
				    set.max_literal)
					abort();
				if (++literals % 3 == 0)
					imap_parser_refuse_literal(p);
			} else if (r == IMAP_PARSE_ERROR) {
				(void)imap_parser_error(p);
				(void)imap_parser_tag(p);
			} else if (off != n) {
				abort();
			}
		}
		pos += n;
	}
	imap_parser_destroy(&p);
	return 0;
}
