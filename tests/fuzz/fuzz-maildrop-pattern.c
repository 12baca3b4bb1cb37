/* fuzz-maildrop-pattern.c: libFuzzer target for maildrop's pattern engine:
 * the first line is a pattern with options, the rest a message whose
 * canonical header/body lines it is matched against (search, weighted
 * scoring, foreach).  The pattern is also compiled for PCRE2 alone
 * (MD_PATTERN_NO_LITERAL): a simple pattern matched without PCRE2
 * (mdsimple.c) must give PCRE2's answers (result, end and every group),
 * on every line, on the whole rest (line ends included) and with every
 * start offset. */
#include "config.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* Both compiles of the pattern on subject (len bytes) from every start:
 * the same result, end and whole match, or abort(). */
static void compare(struct md_pattern *a, struct md_pattern *b,
		    const char *subject, size_t len)
{
	for (size_t st = 0; st <= len && st < 64; st++) {
		struct md_match ma = { NULL, 0 }, mb = { NULL, 0 };
		size_t ea = 0, eb = 0;
		int ra = md_pattern_exec(a, subject, len, st, &ea, &ma);
		int rb = md_pattern_exec(b, subject, len, st, &eb, &mb);

		bool same = ra == rb && (ra != 1 || (ea == eb &&
			    ma.ngroups == mb.ngroups));

		for (size_t g = 0; same && ra == 1 && g < ma.ngroups; g++)
			same = strcmp(ma.groups[g], mb.groups[g]) == 0;
		if (!same) {
			fprintf(stderr, "simple %d/%zu, PCRE2 %d/%zu\n",
				ra, ea, rb, eb);
			abort();
		}
		md_match_clear(&ma);
		md_match_clear(&mb);
	}
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
	if (nl != NULL) {
		struct md_pattern *re;
		char *e2 = NULL;

		re = md_pattern_compile((const char *)data + 1, plen - 1,
					flags | MD_PATTERN_NO_LITERAL, &e2);
		if (re == NULL) {
			/* PCRE2 refuses what was taken for a literal */
			abort();
		}
		/* each line of the rest as one subject */
		for (const uint8_t *p = nl + 1, *end = data + size; p < end;) {
			const uint8_t *e = memchr(p, '\n', (size_t)(end - p));
			size_t len = e == NULL ? (size_t)(end - p) :
				(size_t)(e - p);
			char *line = malloc(len + 1);

			if (line == NULL)
				abort();
			memcpy(line, p, len);
			line[len] = '\0';
			compare(pat, re, line, strlen(line));
			free(line);
			p += len + 1;
		}
		/* the rest as one subject, line ends and all */
		if (memchr(nl + 1, '\0', size - plen - 1) == NULL &&
		    size - plen - 1 <= 256) {
			char *all = malloc(size - plen);

			if (all == NULL)
				abort();
			memcpy(all, nl + 1, size - plen - 1);
			all[size - plen - 1] = '\0';
			compare(pat, re, all, size - plen - 1);
			free(all);
		}
		md_pattern_free(&re);
	}
	md_pattern_free(&pat);
	md_message_free(&msg);
	return 0;
}
