/* fuzz-imap-emptytrash.c: libFuzzer target for IMAP_EMPTYTRASH values
 * (imap_emptytrash_parse()). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-settings.h"
#include "log.h"
#include "maildir-folder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_emptytrash_rule *rules;
	size_t count;
	const char *error;

	if (imap_emptytrash_parse((const char *)data, size, &rules, &count,
				  &error) < 0) {
		if (rules != NULL || count != 0 || error == NULL)
			abort();
		return 0;
	}
	if (count > IMAP_EMPTYTRASH_MAX_RULES || (count == 0) != (rules == NULL))
		abort();
	for (size_t i = 0; i < count; i++) {
		if (rules[i].days < 1 ||
		    rules[i].days > IMAP_EMPTYTRASH_MAX_DAYS)
			abort();
		if (strcmp(rules[i].folder, "INBOX") != 0 &&
		    !maildir_folder_name_valid(rules[i].folder))
			abort();
	}
	imap_emptytrash_free(&rules, count);
	return 0;
}
