/* fuzz-maildrop-pattern.c: libFuzzer target for maildrop's pattern engine:
 * the first line is a pattern with options, the rest a message whose
 * canonical header/body lines it is matched against (search, weighted
 * scoring, foreach). */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mdmsg.h"
#include "mdparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_cb(const struct md_match *m, void *context)
{
	size_t *n = context;

	(void)m;
	return ++*n > 1000 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl == NULL ? size : (size_t)(nl - data);
	unsigned int flags;
	struct md_pattern *pat;
	struct md_message *msg;
	struct md_match m = { NULL, 0 };
	char *err = NULL;
	double score;
	size_t n = 0;

	if (plen < 1 || plen > 512)
		return 0;
	flags = data[0] & (MD_PAT_HEADER | MD_PAT_BODY | MD_PAT_CASE |
			   MD_PAT_MAIN_HEADER);
	pat = md_pattern_compile((const char *)data + 1, plen - 1, flags, &err);
	if (pat == NULL) {
		free(err);
		return 0;
	}
	msg = md_message_new();
	if (nl != NULL)
		md_message_set(msg, nl + 1, size - plen - 1);
	md_message_search(msg, pat, flags, false, 1, 1, &score, &m);
	md_match_clear(&m);
	md_message_search(msg, pat, flags, true, 2, 0.5, &score, &m);
	md_match_clear(&m);
	md_message_foreach(msg, pat, flags, count_cb, &n);
	md_pattern_free(&pat);
	md_message_free(&msg);
	return 0;
}
