/* imap-flags.h: IMAP flag lists as STORE and APPEND take them: system
 * flags to the index's bits, keywords checked as atoms. */
#ifndef IMAP_FLAGS_H
#define IMAP_FLAGS_H

#include <stddef.h>
#include <stdint.h>

#include "imap-parser.h"

/* Most keywords in one flag list. */
#define IMAP_FLAGS_MAX_KEYWORDS 256

struct imap_flags {
	uint8_t flags;			/* enum mail_index_flags */
	const char **keywords;		/* point into the parsed args */
	size_t keyword_count;
};

/* Parses args[0..count) (atoms, or one parenthesised list of them when
 * list_ok) into *flags_r.  \Recent and unknown \flags are refused.
 * Returns 0, or -1 with a static *error_r; free with imap_flags_free()
 * either way. */
int imap_flags_parse(const struct imap_arg *args, size_t count, bool list_ok,
		     struct imap_flags *flags_r, const char **error_r);
void imap_flags_free(struct imap_flags *flags);
/* The maildir info letters of flags ("DFRST" order) into buf (6 bytes). */
const char *imap_flags_maildir_letters(uint8_t flags, char buf[6]);

#endif
