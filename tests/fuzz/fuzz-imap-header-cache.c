/* fuzz-imap-header-cache.c: libFuzzer target for the cached header
 * fields of SEARCH/SORT/THREAD: the input is parsed as a cached value
 * (it comes from the index file on disk) and as a message whose header
 * is turned into one; a value built from a message must parse back
 * completely, with only the kept field names. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-header-cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_cb(const char *name, const char *value, size_t len,
		     void *context)
{
	size_t *n = context;

	if (strlen(name) > 255 || (len > 0 && value == NULL))
		abort();
	(*n)++;
}

static void wanted_cb(const char *name, const char *value, size_t len,
		      void *context)
{
	(void)value;
	(void)len;
	if (!imap_header_cache_wanted(name, strlen(name)))
		abort();
	(*(size_t *)context)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0, len;

	(void)imap_header_cache_parse(data, size, count_cb, &n);
	char *blob = imap_header_cache_from_message((const char *)data, size,
						    &len);
	int r = imap_header_cache_parse(blob, len, wanted_cb, &n);
	if (r != 1 && !(r == 0 && len == 1 && blob[0] == 'X'))
		abort();
	free(blob);
	return 0;
}
