/* fuzz-dkim.c: libFuzzer target for the DKIM parsers (dkim.h): the input
 * is parsed as a DKIM-Signature value and as a key record, canonicalised
 * as a header field, and fed as a body to both body hashes. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dkim_signature sig;
	struct dkim_key key;
	const char *error;
	struct str out;
	unsigned char digest[HASH_SHA256_DIGEST_SIZE];

	if (dkim_signature_parse(text, size, &sig, &error) == 0) {
		if (sig.domain == NULL || sig.header_count == 0 ||
		    sig.header_count > DKIM_MAX_SIGNED_HEADERS)
			__builtin_trap();
		dkim_signature_free(&sig);
	}
	if (dkim_key_parse(text, size, &key, &error) == 0)
		dkim_key_free(&key);
	str_init(&out, 64);
	dkim_canon_header(&out, DKIM_CANON_RELAXED, "X", 1, text, size, true);
	if (out.len > size + 4)
		__builtin_trap();
	str_free(&out);
	for (int c = 0; c < 2; c++) {
		struct dkim_body_hash *bh = dkim_body_hash_create(
			c ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE, c == 1,
			size / 2);
		size_t half = size / 3;

		dkim_body_hash_feed(bh, data, half);
		dkim_body_hash_feed(bh, data + half, size - half);
		dkim_body_hash_finish(bh, digest, NULL);
		dkim_body_hash_destroy(&bh);
	}
	return 0;
}
