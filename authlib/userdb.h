/* userdb.h: Courier's userdb: the text file (or folder) of accounts, its
 * compiled LMDB form, and edits of the text.
 *
 * Text format (userdb(8)), one account a line:
 *
 *	name<TAB>field=value|field=value|...
 *
 * '#' lines and blank lines are comments.  name is a login ("joe", or
 * "joe@example.com" for a virtual domain); a value cannot contain '|'
 * or a line break.  Fields: uid gid home shell mail quota gecos options,
 * systempw and per-service passwords SERVICEpw (imappw, pop3pw, esmtppw,
 * webmailpw...), and Courier's CRAM keys hmac-md5pw / SERVICE-hmac-md5pw.
 * Lines "NNN=<TAB>name" are uid reverse records (kept as they are).
 *
 * Compiled form (makeuserdb): etc/userdb.dat holds every account with the
 * fields whose names do not end in "pw"; etc/userdbshadow.dat (mode 0600)
 * holds the "pw" fields.  Both are LMDB files (one file each, no lock
 * file; see doc/design-notes.md) written to a temporary name and renamed,
 * so a reader always sees a whole old or a whole new database.  A lookup
 * is one B-tree search: it does not slow down as accounts are added. */
#ifndef USERDB_H
#define USERDB_H

#include <stdbool.h>
#include <stddef.h>

#include "config-errors.h"
#include "str.h"

/* Splits a text line into name and fields.  Returns 1 with *name_r (newly
 * allocated) and *fields_r (points into line), 0 for a comment or blank
 * line, -1 for a malformed line (no TAB, empty name, a name with blanks
 * or control characters) with a static *error_r. */
int userdb_parse_line(const char *line, char **name_r, const char **fields_r,
	const char **error_r);

/* The value of field in "a=1|b=2" (newly allocated in *value_r; a bare
 * "b" gives ""), 1 when present, 0 when not.  First occurrence wins. */
int userdb_field_get(const char *fields, const char *field, char **value_r);
/* True for the names that go to userdbshadow.dat (ending in "pw"). */
bool userdb_field_is_secret(const char *field, size_t len);
/* Returns fields with field set to value (value NULL removes it), in a
 * new string; order of the other fields is kept. */
char *userdb_fields_set(
	const char *fields, const char *field, const char *value);

/* ---- compile (makeuserdb) ---- */

struct userdb_compile_stats {
	size_t accounts;   /* names written */
	size_t duplicates; /* later lines that replaced earlier ones */
};

/* Reads the userdb text at src (a file or a folder, config-file.h rules)
 * and writes dat and shadow (paths) atomically.  Malformed lines are
 * reported to errs and make it fail (nothing is replaced).  Returns 0, or
 * -1 with errors in errs. */
int userdb_compile(const char *src, const char *dat, const char *shadow,
	struct userdb_compile_stats *stats_r, struct config_errors *errs);

/* ---- lookup ---- */

struct userdb;

/* Opens the compiled files (shadow may be missing or unreadable: then no
 * passwords are returned).  Reopens them by itself when makeuserdb has
 * replaced them.  Returns NULL with *error_r (static or strerror) when
 * dat cannot be opened. */
struct userdb *userdb_open(
	const char *dat, const char *shadow, const char **error_r);
void userdb_close(struct userdb **db);
/* Looks name up.  Returns 1 with *fields_r (newly allocated, the public
 * fields) and *secret_r (newly allocated, the "pw" fields, "" when none;
 * pass NULL to skip), 0 when absent, -1 on a read error. */
int userdb_lookup(struct userdb *db, const char *name, char **fields_r,
	char **secret_r, const char **error_r);
/* Calls callback for every name (reverse "NNN=" records skipped) in key
 * order with its public fields.  callback returns 0 to go on, -1 to stop.
 * Returns 0, or -1 on a read error or when stopped. */
typedef int userdb_iter_callback_t(
	const char *name, const char *fields, void *context);
int userdb_iterate(struct userdb *db, userdb_iter_callback_t *callback,
	void *context, const char **error_r);

/* ---- text edits (the userdb tool, password changes) ---- */

/* In the userdb text at path (file or folder): replaces name's line by
 * "name<TAB>fields", or adds it (fields not NULL), or deletes it (fields
 * NULL).  A folder's account lives in the file that already has it, else
 * in the file named after the name's domain (or "default").  Files are
 * rewritten atomically with mode 0600.  Returns 1 when changed, 0 when
 * deleting a name that is not there, -1 with *error_r (static) on error.*/
int userdb_text_update(const char *path, const char *name, const char *fields,
	const char **error_r);
/* The fields of name in the userdb text at path: 1 with *fields_r (newly
 * allocated), 0 when absent, -1 when unreadable. */
int userdb_text_get(const char *path, const char *name, char **fields_r,
	const char **error_r);

#endif
