/* fuzz-charset.c: libFuzzer target for lib/charset.c: any bytes in a
 * charset chosen by the first byte (the built-in UTF-8, US-ASCII and
 * ISO-8859-1 paths and iconv's), with invalid sequences replaced or
 * dropped; the output must be valid UTF-8, the same whole or fed in two
 * pieces, and for ISO-8859-1 the same as iconv's own. */
#include "config.h"
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "charset.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const charsets[] = {
	"utf-8", "us-ascii", "iso-8859-1", "latin1", "windows-1252",
	"koi8-r", "shift_jis", "x-no-such-charset",
};

/* iconv's ISO-8859-1 conversion of src (every byte is valid). */
static void latin1_iconv(const uint8_t *src, size_t len, struct str *dest)
{
	iconv_t cd = iconv_open("UTF-8", "ISO-8859-1");
	char out[4096];
	char *in = (char *)src;
	size_t inleft = len;

	if (cd == (iconv_t)-1)
		abort();
	while (inleft > 0) {
		char *o = out;
		size_t outleft = sizeof(out);
		size_t r = iconv(cd, &in, &inleft, &o, &outleft);

		str_append_n(dest, out, sizeof(out) - outleft);
		if (r == (size_t)-1 && outleft == sizeof(out))
			abort();
	}
	iconv_close(cd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *cs, *err = NULL;
	struct charset_translation *t;
	struct str whole, split;
	size_t cut;

	if (size < 2 || size > 4096)
		return 0;
	cs = charsets[data[0] % (sizeof(charsets) / sizeof(charsets[0]))];
	charset_set_drop_invalid((data[0] & 0x80) != 0);
	cut = data[1] % (size - 1);
	data += 2;
	size -= 2;

	str_init(&whole, size * 3 + 16);
	charset_to_utf8(cs, data, size, &whole);
	if (!charset_utf8_is_valid(str_c(&whole), str_len(&whole)))
		abort();

	t = charset_translation_create(cs, &err);
	if (t != NULL) {
		str_init(&split, size * 3 + 16);
		charset_translation_feed(t, data, cut > size ? size : cut,
					 &split);
		if (cut < size)
			charset_translation_feed(t, data + cut, size - cut,
						 &split);
		charset_translation_finish(t, &split);
		charset_translation_destroy(&t);
		/* iconv's stateful charsets may differ at a cut; the built-in
		 * ones may not */
		if ((strcmp(cs, "utf-8") == 0 || strcmp(cs, "us-ascii") == 0 ||
		     strcmp(cs, "iso-8859-1") == 0 || strcmp(cs, "latin1") == 0) &&
		    (str_len(&split) != str_len(&whole) ||
		     memcmp(str_c(&split), str_c(&whole), str_len(&whole)) != 0))
			abort();
		str_free(&split);
	}
	if (strcmp(cs, "iso-8859-1") == 0 || strcmp(cs, "latin1") == 0) {
		struct str ref;

		str_init(&ref, size * 2 + 16);
		latin1_iconv(data, size, &ref);
		if (str_len(&ref) != str_len(&whole) ||
		    memcmp(str_c(&ref), str_c(&whole), str_len(&ref)) != 0)
			abort();
		str_free(&ref);
	}
	str_free(&whole);
	charset_set_drop_invalid(false);
	return 0;
}
