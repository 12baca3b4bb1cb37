/* imap-flags.c: parsing IMAP flag lists (STORE, APPEND). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-flags.h"
#include "mail-index.h"
#include "mem.h"

static const struct {
	const char *name;
	uint8_t flag;
	char letter;
} system_flags[] = {
	{ "\\Draft", MAIL_INDEX_DRAFT, 'D' },
	{ "\\Flagged", MAIL_INDEX_FLAGGED, 'F' },
	{ "\\Answered", MAIL_INDEX_ANSWERED, 'R' },
	{ "\\Seen", MAIL_INDEX_SEEN, 'S' },
	{ "\\Deleted", MAIL_INDEX_DELETED, 'T' },
};

static bool keyword_valid(const char *s)
{
	if (*s == '\0' || strlen(s) > 255)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

int imap_flags_parse(const struct imap_arg *args, size_t count, bool list_ok,
		     struct imap_flags *flags_r, const char **error_r)
{
	memset(flags_r, 0, sizeof(*flags_r));
	if (list_ok && count == 1 && args[0].type == IMAP_ARG_LIST) {
		count = args[0].list_count;
		args = args[0].list;
	}
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		size_t k;

		if (a->type != IMAP_ARG_ATOM) {
			*error_r = "Flags are atoms";
			return -1;
		}
		if (a->str[0] == '\\') {
			for (k = 0; k < N_ELEMENTS(system_flags); k++)
				if (strcasecmp(a->str,
					       system_flags[k].name) == 0)
					break;
			if (k == N_ELEMENTS(system_flags)) {
				*error_r = "Unknown or read-only system flag";
				return -1;
			}
			flags_r->flags |= system_flags[k].flag;
			continue;
		}
		if (!keyword_valid(a->str)) {
			*error_r = "Invalid keyword";
			return -1;
		}
		if (flags_r->keyword_count >= IMAP_FLAGS_MAX_KEYWORDS) {
			*error_r = "Too many keywords";
			return -1;
		}
		flags_r->keywords = xreallocarray(flags_r->keywords,
						  flags_r->keyword_count + 1,
						  sizeof(*flags_r->keywords));
		flags_r->keywords[flags_r->keyword_count++] = a->str;
	}
	return 0;
}

void imap_flags_free(struct imap_flags *flags)
{
	free(flags->keywords);
	memset(flags, 0, sizeof(*flags));
}

const char *imap_flags_maildir_letters(uint8_t flags, char buf[6])
{
	size_t n = 0;

	for (size_t k = 0; k < N_ELEMENTS(system_flags); k++)
		if ((flags & system_flags[k].flag) != 0)
			buf[n++] = system_flags[k].letter;
	buf[n] = '\0';
	return buf;
}
