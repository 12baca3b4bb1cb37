/* fuzz-mutf7.c: libFuzzer target for lib/mutf7: whatever decodes must
 * re-encode to exactly the input (canonical form), and whatever encodes
 * must decode back to the input. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mutf7.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str dec, enc;

	str_init(&dec, size + 1);
	str_init(&enc, size * 2 + 1);
	if (mutf7_decode((const char *)data, size, &dec) == 0) {
		if (!mutf7_utf8_valid(str_c(&dec), str_len(&dec)))
			abort();
		if (mutf7_encode(str_c(&dec), str_len(&dec), &enc) != 0)
			abort();
		if (str_len(&enc) != size || memcmp(str_c(&enc), data, size))
			abort();
	}
	str_clear(&dec);
	str_clear(&enc);
	if (mutf7_encode((const char *)data, size, &enc) == 0) {
		if (mutf7_decode(str_c(&enc), str_len(&enc), &dec) != 0)
			abort();
		if (str_len(&dec) != size || memcmp(str_c(&dec), data, size))
			abort();
	}
	str_free(&dec);
	str_free(&enc);
	return 0;
}
