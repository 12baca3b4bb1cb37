/* fuzz-imap-sharable.c: libFuzzer target for the files of filesystem
 * shared folders (imap-sharable.h): the input is parsed as a
 * shared-maildirs list (every entry kept must have a valid nick, an
 * absolute path, be found again by its nick, and appear once) and as a
 * copy's known file (sorted, distinct, valid names); it is also split
 * as a "shared." name. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-sharable.h"
#include "log.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(enum log_level level, const char *line, void *context)
{
	(void)level;
	(void)line;
	(void)context;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_sharable_list l;
	const char *text = (const char *)data;

	log_set_handler(quiet, NULL);
	memset(&l, 0, sizeof(l));
	(void)imap_sharable_list_parse(&l, text, size, "fuzz");
	for (size_t i = 0; i < l.count; i++) {
		const struct imap_sharable_entry *e = &l.entries[i];
		if (!imap_sharable_nick_valid(e->nick, strlen(e->nick)) ||
		    e->path[0] != '/' ||
		    imap_sharable_list_find(&l, e->nick, strlen(e->nick)) != e)
			abort();
	}
	imap_sharable_list_free(&l);

	char **v;
	size_t n, bad;
	imap_sharable_known_parse(text, size, &v, &n, &bad);
	for (size_t i = 0; i < n; i++) {
		if (v[i][0] == '\0' || strchr(v[i], '/') != NULL ||
		    strchr(v[i], ':') != NULL ||
		    (i > 0 && strcmp(v[i - 1], v[i]) >= 0))
			abort();
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);

	char *s = xstrndup(text, size);
	size_t nick_len;
	const char *folder;
	if (imap_sharable_split(s, &nick_len, &folder) &&
	    (!imap_sharable_nick_valid(s, nick_len) ||
	     (folder[0] != '\0' && folder != s + nick_len + 1)))
		abort();
	free(s);
	return 0;
}
