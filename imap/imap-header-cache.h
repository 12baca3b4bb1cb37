/* imap-header-cache.h: the header fields that SEARCH (FROM, TO, CC, BCC,
 * SUBJECT, SENT*, HEADER of these names), SORT and THREAD read, kept per
 * message in the folder's index cache so that those commands do not open
 * the message files again.
 *
 * The cached value ("imap.hdr.1") is a list of fields in the order of
 * the header, each "name-length (1 byte), name, value-length (4 bytes,
 * little endian), value" (the raw, unfolded value as the header parser
 * gives it).  Only the fields imap_header_cache_wanted() names are kept,
 * every occurrence of them.  A header whose kept fields would pass
 * IMAP_HEADER_CACHE_MAX bytes is cached as the single byte 'X' ("read the
 * file"), so a lookup never answers from a partial list. */
#ifndef IMAP_HEADER_CACHE_H
#define IMAP_HEADER_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* The index cache field name. */
#define IMAP_HEADER_CACHE_FIELD "imap.hdr.1"
/* Largest cached list (bytes). */
#define IMAP_HEADER_CACHE_MAX (256 * 1024)

/* True for the field names kept (case-insensitive): From,
 * To, Cc, Bcc, Subject, Date, Message-ID, In-Reply-To,
 * References. */
bool imap_header_cache_wanted(const char *name, size_t name_len);

/* Builds a cached list: init, add each field of the header (the
 * unwanted ones are skipped), then finish. */
struct imap_header_cache_builder {
	struct str blob;
	bool overflow;
};
void imap_header_cache_builder_init(struct imap_header_cache_builder *b);
void imap_header_cache_builder_add(struct imap_header_cache_builder *b,
				   const char *name, size_t name_len,
				   const char *value, size_t value_len);
/* Returns the value to cache (caller frees; *len_r its length) and
 * resets the builder. */
char *imap_header_cache_builder_finish(struct imap_header_cache_builder *b,
				       size_t *len_r);
/* Builds the list from a whole message in memory (its header ends at
 * the first empty line; a header past IMAP_SEARCH_MAX_HEADER bytes, or
 * with a field the header parser cut short, gives the 'X' mark). */
char *imap_header_cache_from_message(const char *data, size_t size,
				     size_t *len_r);


/* Calls cb for each field of a cached list (name NUL-terminated in a
 * buffer of at most 255 bytes; value not NUL-terminated).  Returns 1
 * when done, 0 when the list is the "read the file" mark, -1 when it is
 * malformed (a truncated or damaged value: read the file). */
int imap_header_cache_parse(const void *data, size_t len,
			    void (*cb)(const char *name, const char *value,
				       size_t value_len, void *context),
			    void *context);

#endif
