/* fuzz-imap-shared.c: libFuzzer target for the shared index of virtual
 * shared folders: the input is parsed as an index file; every account
 * kept must be found again by name and by "#shared." name splitting,
 * with an absolute maildir, and the input is also tried as OPTIONS. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-shared.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_shared_index idx;

	memset(&idx, 0, sizeof(idx));
	(void)imap_shared_index_parse(&idx, (const char *)data, size,
				      "Maildir");
	imap_shared_index_finish(&idx);
	for (size_t i = 0; i < idx.count; i++) {
		const struct imap_shared_account *a = &idx.accounts[i];
		const char *folder;
		if (a->maildir[0] != '/' ||
		    imap_shared_index_find(&idx, a->name, strlen(a->name)) !=
			    a ||
		    (i > 0 && strcmp(idx.accounts[i - 1].name, a->name) >= 0))
			abort();
		char *rest = xasprintf("%s.Work", a->name);
		const struct imap_shared_account *b =
			imap_shared_index_split(&idx, rest, &folder);
		/* the longest match: a itself or a longer dotted name */
		if (b == NULL || strlen(b->name) < strlen(a->name) ||
		    strncmp(rest, b->name, strlen(b->name)) != 0)
			abort();
		free(rest);
	}
	imap_shared_index_free(&idx);
	if (size <= 1024) {
		char *text = xstrndup((const char *)data, size);
		free(imap_shared_index_path("/etc/shared/index", text));
		free(text);
	}
	return 0;
}
