/* fuzz-maildrop-parse.c: libFuzzer target for the maildrop filter-file
 * lexer and parser (mdparse): any bytes must parse or fail cleanly; the
 * same bytes as a KEYWORDS value (md_keywords_split()). */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mddeliver.h"
#include "maildir-keywords.h"
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

	/* KEYWORDS: sorted, distinct, valid names, at most the limit */
	{
		char *value = malloc(size + 1), **names, *bad;
		int n;

		if (value == NULL)
			return 0;
		memcpy(value, data, size);
		value[size] = '\0';
		n = md_keywords_split(value, &names, &bad);
		if (n < 0 || n > MD_KEYWORDS_MAX)
			__builtin_trap();
		for (int i = 0; i < n; i++) {
			if (!maildir_keywords_name_valid(names[i]) ||
			    (i > 0 && strcmp(names[i - 1], names[i]) >= 0))
				__builtin_trap();
		}
		if (n > 0 && names[n] != NULL)
			__builtin_trap();
		md_keywords_free(&names);
		free(bad);
		free(value);
	}
	return 0;
}
