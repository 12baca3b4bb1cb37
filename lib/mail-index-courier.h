/* mail-index-courier.h: readers for Courier's per-folder UID files, used
 * when the mail index is built so that a Courier user's UIDs, UIDVALIDITY
 * and POP3 UIDLs carry over.
 *
 * courierimapuiddb (Courier-IMAP's UID cache, format version 1):
 *
 *   1 <uidvalidity> <nextuid>\n
 *   <uid> <base name>\n          one line per message
 *
 * The base name is the file name without its ":2,..." info part.  Courier
 * reads the header as three decimal numbers and skips message lines it
 * cannot read; so do we.
 *
 * courierpop3dsizelist (Courier's pop3d, versions 2 and 3):
 *
 *   /<version> <nextuid> <uidv>\n
 *   <file name> <size> <uid>:<uidv>[:<utf8>]\n   (":<utf8>" in version 3)
 *
 * The file name may carry its info part; it is matched by base name.  The
 * size is the message size with CRLF line ends (what LIST reports), and
 * pop3d's UIDL is "UID<uid>-<uidv>" ("UID<uid>" when uidv is 0).  Courier
 * ignores a file of another version (its messages then get new UIDLs).
 *
 * Both parsers work on a buffer, bound what they keep by the limits, and
 * never fail on garbage: bad lines are counted and skipped. */
#ifndef MAIL_INDEX_COURIER_H
#define MAIL_INDEX_COURIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAIL_INDEX_UIDDB_FILE "courierimapuiddb"
#define MAIL_INDEX_POP3LIST_FILE "courierpop3dsizelist"

struct mail_index_courier_limits {
	size_t max_line;	/* longer lines are skipped (default 4096) */
	uint64_t max_file;	/* bytes read from a file (default 256 MB) */
	size_t max_lines;	/* message lines kept (default 10^7) */
};

struct mail_index_uiddb_entry {
	uint32_t uid;
	char *base;
};

struct mail_index_uiddb {
	uint32_t uidvalidity;
	uint32_t nextuid;	/* above every UID kept */
	struct mail_index_uiddb_entry *entries; /* sorted by base name */
	size_t count;
	size_t skipped;		/* garbage, duplicate or over-limit lines */
};

/* Parses a courierimapuiddb held in buf (len bytes).  limits NULL =
 * defaults.  Returns 1 and *db_r (free with mail_index_uiddb_free()), or
 * 0 if the header is not a version 1 header with a non-zero 32-bit
 * UIDVALIDITY (Courier then ignores the file too).  Lines with a UID of 0
 * or above 2^32-1, an empty or invalid name, or a name or UID already
 * seen are skipped; nextuid is raised above the highest UID kept. */
int mail_index_uiddb_parse(const char *buf, size_t len,
			   const struct mail_index_courier_limits *limits,
			   struct mail_index_uiddb **db_r);
/* Reads dir/courierimapuiddb.  Returns 1 and *db_r, 0 if it is absent or
 * not recognised, -1 with *error_r on a read error. */
int mail_index_uiddb_read(const char *dir,
			  const struct mail_index_courier_limits *limits,
			  struct mail_index_uiddb **db_r,
			  const char **error_r);
/* The UID of base name base (base_len bytes), or 0 if not listed. */
uint32_t mail_index_uiddb_find(const struct mail_index_uiddb *db,
			       const char *base, size_t base_len);
void mail_index_uiddb_free(struct mail_index_uiddb **db);

struct mail_index;

/* Writes dir/courierimapuiddb (version 1) for an index: its UIDVALIDITY,
 * its UIDNEXT as nextuid, and one "<uid> <base name>" line per message in
 * UID order, through dir/tmp and a rename, so that Courier-IMAP, and this
 * index when it is rebuilt, keep the same UIDs under the same
 * UIDVALIDITY.  Returns 0, or -1 with *error_r (nothing replaced). */
int mail_index_uiddb_export(struct mail_index *index, const char **error_r);
/* Reads only the header of dir/courierimapuiddb.  Returns 1 with
 * *uidvalidity_r and *nextuid_r, 0 when it is absent or not a version 1
 * header, -1 with *error_r when it cannot be read. */
int mail_index_uiddb_header(const char *dir, uint32_t *uidvalidity_r,
			    uint32_t *nextuid_r, const char **error_r);

struct mail_index_pop3list_entry {
	char *base;
	uint64_t size;
	uint64_t uid;
	uint64_t uidv;
	bool utf8;
};

struct mail_index_pop3list {
	int version;		/* 2 or 3 */
	uint64_t nextuid;
	uint64_t uidv;
	struct mail_index_pop3list_entry *entries; /* sorted by base name */
	size_t count;
	size_t skipped;
};

/* Parses a courierpop3dsizelist.  Returns 1 and *list_r (free with
 * mail_index_pop3list_free()), 0 if the header is not "/2 ..." or
 * "/3 ...". */
int mail_index_pop3list_parse(const char *buf, size_t len,
			      const struct mail_index_courier_limits *limits,
			      struct mail_index_pop3list **list_r);
/* Reads dir/courierpop3dsizelist: 1, 0 absent/unrecognised, -1 error. */
int mail_index_pop3list_read(const char *dir,
			     const struct mail_index_courier_limits *limits,
			     struct mail_index_pop3list **list_r,
			     const char **error_r);
/* The entry for base name base, or NULL. */
const struct mail_index_pop3list_entry *
mail_index_pop3list_find(const struct mail_index_pop3list *list,
			 const char *base, size_t base_len);
/* Writes Courier's UIDL of an entry into buf (size bytes):
 * "UID<uid>-<uidv>", or "UID<uid>" when uidv is 0.  Returns buf. */
const char *mail_index_pop3list_uidl(const struct mail_index_pop3list_entry *e,
				     char *buf, size_t size);
void mail_index_pop3list_free(struct mail_index_pop3list **list);

#endif
