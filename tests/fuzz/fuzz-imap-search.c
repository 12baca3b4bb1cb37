/* fuzz-imap-search.c: libFuzzer target for the IMAP search program
 * parser and evaluator.  The input is "a SEARCH <program>" (up to the
 * first NUL), then optionally a message after the NUL: the command
 * parser makes the argument list, the search parser builds the tree
 * (with small limits), and the program is evaluated against a fixed
 * record and, when it needs content, the message (MIME parsing,
 * decoding, needles).  Also runs the base-subject extraction on the
 * program text.  Checks that results are 0 or 1 and nothing leaks. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-parser.h"
#include "imap-search.h"
#include "imap-sort.h"
#include "mem.h"

static int lookup(const char *name, uint32_t *id_r, void *context)
{
	(void)context;
	*id_r = (uint32_t)strlen(name) % 4;
	return name[0] == '$' ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_settings set = { .max_line = 4096,
					    .max_literal = 4096,
					    .max_depth = 8,
					    .max_args = 500 };
	const uint8_t *nul = memchr(data, 0, size);
	size_t prog_len = nul != NULL ? (size_t)(nul - data) : size;
	const uint8_t *msg = nul != NULL ? nul + 1 : NULL;
	size_t msg_len = nul != NULL ? size - prog_len - 1 : 0;
	struct imap_parser *p = imap_parser_create(&set);
	size_t used, off = 0, count;
	enum imap_parse_result r = IMAP_PARSE_MORE;

	char *subj = imap_base_subject((const char *)data, prog_len, NULL);
	free(subj);

	r = imap_parser_feed(p, "a SEARCH ", 9, &used);
	while (off < prog_len && r == IMAP_PARSE_MORE) {
		r = imap_parser_feed(p, data + off, prog_len - off, &used);
		off += used;
		if (r == IMAP_PARSE_LITERAL)
			r = IMAP_PARSE_MORE;
	}
	if (r == IMAP_PARSE_MORE)
		r = imap_parser_feed(p, "\r\n", 2, &used);
	if (r == IMAP_PARSE_DONE) {
		const struct imap_arg *args = imap_parser_args(p, &count);
		struct imap_search_parse_opts opts = {
			.limits = { .max_depth = 20, .max_keys = 200 },
			.allow_return = true,
		};
		struct imap_search_program *prog = NULL;
		const char *error;

		if (count >= 1 &&
		    imap_search_parse(args + 1, count - 1, &opts, &prog,
				      &error) == IMAP_SEARCH_PARSE_OK) {
			static const uint32_t kws[] = { 1, 2 };
			static const uint32_t saved[] = { 2, 3, 9 };
			struct imap_search_env env = {
				.msg_count = 5, .max_uid = 9,
				.saved = saved, .saved_count = 3,
				.now = 1700000000,
			};
			struct imap_search_msg m = {
				.seq = 3, .uid = 7, .flags = 0x05,
				.recent = true, .size = 1234, .modseq = 99,
				.internal_date = 1600000000,
				.keywords = kws, .keyword_count = 2,
			};
			imap_search_bind_keywords(prog, lookup, NULL);
			int e = imap_search_eval(prog, &env, &m, NULL);
			if (e != 0 && e != 1 && e != IMAP_SEARCH_NEED_CONTENT)
				abort();
			if (e == IMAP_SEARCH_NEED_CONTENT) {
				struct imap_search_content *c =
					imap_search_content_from_buffer(
						prog, msg != NULL ? msg :
						(const uint8_t *)"", msg_len);
				e = imap_search_eval(prog, &env, &m, c);
				if (e != 0 && e != 1)
					abort();
				imap_search_content_free(&c);
			}
			imap_search_program_free(&prog);
		} else if (prog != NULL) {
			abort();
		}
	}
	imap_parser_destroy(&p);
	return 0;
}
