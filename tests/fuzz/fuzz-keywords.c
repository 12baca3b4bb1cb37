/* fuzz-keywords.c: libFuzzer target for the Courier keywords parsers of
 * lib/maildir-keywords: arbitrary bytes as a :list file and as an update
 * file; what was parsed must export and re-parse to the same export. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "maildir-keywords.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct maildir_keywords_limits lim = {
		.max_line = 256, .max_names = 64, .max_per_message = 16,
		.max_messages = 256,
	};
	struct maildir_keywords *kw = maildir_keywords_new(&lim), *kw2;
	struct str a, b;

	(void)maildir_keywords_parse_list(kw, (const char *)data, size);
	(void)maildir_keywords_parse_update(kw, "fuzz.M1P1.host",
					    (const char *)data, size);
	str_init(&a, 256);
	str_init(&b, 256);
	(void)maildir_keywords_export(kw, &a);
	kw2 = maildir_keywords_new(&lim);
	(void)maildir_keywords_parse_list(kw2, str_c(&a), str_len(&a));
	(void)maildir_keywords_export(kw2, &b);
	if (str_len(&a) != str_len(&b) ||
	    memcmp(str_c(&a), str_c(&b), str_len(&a)) != 0)
		abort();
	str_free(&a);
	str_free(&b);
	maildir_keywords_destroy(&kw);
	maildir_keywords_destroy(&kw2);
	return 0;
}
