/* fuzz-maildrop-parse.c: libFuzzer target for the maildrop filter-file
 * lexer and parser (mdparse): any bytes must parse or fail cleanly. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "mdparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_parse_limits limits = {
		.max_input = 64 * 1024, .max_depth = 32, .max_nodes = 20000
	};
	struct md_parser *p = md_parser_create(&limits);
	struct md_node *prog = md_parse(p, "fuzz", data, size);

	if (prog == NULL) {
		/* an error always names the file and a line */
		const char *e = md_parser_error(p);

		if (e == NULL || strncmp(e, "fuzz:", 5) != 0 ||
		    md_parser_error_line(p) == 0)
			__builtin_trap();
	}
	md_node_free(&prog);
	md_parser_destroy(&p);
	return 0;
}
