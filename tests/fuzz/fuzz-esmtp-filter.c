/* fuzz-esmtp-filter.c: libFuzzer target for the global filters' reply
 * reader (esmtp-filter.h): the input, split where its first byte says,
 * with and without EOF. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "esmtp-filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esmtp_filter_reply r;
	size_t split;

	if (size == 0)
		return 0;
	split = data[0] % size;
	data++;
	size--;
	if (split > size)
		split = size;
	esmtp_filter_reply_init(&r);
	if (esmtp_filter_reply_feed(&r, (const char *)data, split, false) == 0)
		(void)esmtp_filter_reply_feed(&r, (const char *)data + split,
					      size - split, (split & 1) != 0);
	if (r.done && r.valid && r.line_count == 0)
		__builtin_trap();
	esmtp_filter_reply_free(&r);
	return 0;
}
