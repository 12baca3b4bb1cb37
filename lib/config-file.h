/* config-file.h: Courier's control files.
 *
 * A control file lives in the instance's etc/ folder (instance.h) and is
 * named as Courier names it: "me", "locals", "hosteddomains", "queuetime"...
 * A name containing '/' is used as a path as it is.
 *
 * A control file may be a FILE or a FOLDER.  A folder is read as its plain
 * files concatenated in byte-wise sorted name order.  Inside a folder,
 * hidden files (".x") and editor backups ("x~") are skipped silently;
 * package leftovers and templates (".rpmsave", ".rpmnew", ".rpmorig",
 * ".dpkg-*", ".dist") are skipped with a warning; subfolders are skipped.
 *
 * Lines: a line whose first non-blank byte is '#' is a comment; blank lines
 * are skipped; trailing whitespace (including a CR) is trimmed, leading
 * whitespace is kept.  Every line keeps its origin (file path and line
 * number), so callers report "file:line: message" (config-errors.h).
 *
 * Hostname-dependent entries (Courier's "Hostname-dependent configuration"):
 * in "me" a value beginning with "*." has the '*' replaced by the system
 * hostname; in "locals", "hosteddomains" and "esmtpacceptmailfor" a line
 * that is "*" or begins with "*." is expanded the same way.  "me" defaults
 * to the system hostname when the file is missing.
 *
 * Per-address overrides (Courier's "filename.address"): while processing a
 * message received on address A (an IPv4 or IPv6 address in text form, or
 * a domain for "vhost.domain"), "name.A" is used instead of "name" when it
 * exists.  Courier enables this only for a vhost: see config_vhost_select().
 */
#ifndef CONFIG_FILE_H
#define CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "config-errors.h"

/* Limits on what a reader loads; every field 0 means "the default". */
struct config_limits {
	size_t max_line_len;   /* bytes per line (default 64 KiB) */
	size_t max_file_size;  /* bytes per file (default 64 MiB) */
	size_t max_files;      /* files read from one folder (default 1000) */
	size_t max_lines;      /* lines kept in total (default 1,000,000) */
	size_t max_value_len;  /* NAME=value: bytes per value (default 64 KiB)*/
	size_t max_entries;    /* NAME=value: assignments (default 10,000) */
};
extern const struct config_limits config_default_limits;

struct config_line {
	const char *text; /* trimmed, NUL-terminated, never contains NUL */
	size_t len;
	const char *file; /* path of the file it came from */
	unsigned int line;
};

struct config_lines {
	struct config_line *lines;
	size_t count, alloc;
	char **files; /* paths the lines point to; owned */
	size_t file_count, file_alloc;
	struct config_limits limits;
};

/* Resolves a control file name: a name containing '/' is returned as is,
 * else "etcdir/name".  Newly allocated. */
char *config_path(const char *name_or_path);

/* Reads the files of a control file: the file itself, or each file of the
 * folder in order (with the skipping rules above), calling callback with
 * each file's path and whole contents (size bytes, not NUL-terminated).
 * Returns 1 when it exists and everything was read, 0 when it does not
 * exist, -1 when it or one of its files cannot be read or is over a limit
 * (callbacks may have run; the caller discards what they built). */
typedef void config_file_callback_t(const char *path, const char *data,
				    size_t size, void *context);
int config_read_files(const char *name_or_path,
		      const struct config_limits *limits,
		      config_file_callback_t *callback, void *context,
		      struct config_errors *errs);

/* Reads a control file or folder.  Returns 1 and *lines_r (free with
 * config_lines_free()) when it exists; 0 and *lines_r = NULL when it does
 * not exist (callers then use their defaults); -1 and *lines_r = NULL when
 * it exists but cannot be read (the reason is added to errs).  Problems in
 * single lines (a NUL byte, a line over the limit) are added to errs as
 * errors and the line is skipped: check config_errors_error_count().
 * limits may be NULL for the defaults; errs may be NULL to log. */
int config_lines_read(const char *name_or_path,
		      const struct config_limits *limits,
		      struct config_lines **lines_r, struct config_errors *errs);

/* An empty list, for config_lines_parse(). */
struct config_lines *config_lines_new(const struct config_limits *limits);
/* Appends the lines of data (size bytes, need not be NUL-terminated) as
 * coming from file.  This is what the file readers use; tests and the fuzz
 * target call it directly.  Errors as for config_lines_read(). */
void config_lines_parse(struct config_lines *lines, const char *file,
			const void *data, size_t size,
			struct config_errors *errs);
void config_lines_free(struct config_lines **lines);

/* NULL-safe accessors: a NULL list has no lines. */
size_t config_lines_count(const struct config_lines *lines);
const struct config_line *config_lines_get(const struct config_lines *lines,
					   size_t i);

/* Reads the first line of a single-value file ("me", "defaultdomain",
 * "queuetime"...).  Returns 1 and *value_r (caller frees), 0 when the file
 * is missing or has no line (*value_r = NULL), -1 when unreadable.
 * *origin_r, when not NULL, gets "file:line" of the value (caller frees;
 * NULL unless 1 is returned). */
int config_read_first_line_r(const char *name_or_path, char **value_r,
			     char **origin_r, struct config_errors *errs);
/* Convenience: the first line, or a copy of def (NULL if def is NULL)
 * when missing or unreadable (the reason is logged).  Caller frees. */
char *config_read_first_line(const char *name_or_path, const char *def);

/* --- hostname-dependent entries --- */

/* Overrides the system hostname (tests; a daemon told its name); NULL goes
 * back to gethostname(). */
void config_set_hostname(const char *hostname);
/* The system hostname (gethostname(), as Courier uses it), cached. */
const char *config_hostname(void);
/* Expands one entry: "*" becomes hostname, "*.rest" becomes
 * "hostname.rest"; "!*" and "!*.rest" (the exclusion form of locals and
 * esmtpacceptmailfor) keep their '!'.  Anything else is copied.
 * hostname NULL means config_hostname().  Caller frees. */
char *config_expand_hostname(const char *entry, const char *hostname);
/* Reads a domain list (locals, hosteddomains, esmtpacceptmailfor...) with
 * every line expanded by config_expand_hostname().  Returns as
 * config_lines_read(). */
int config_read_domain_list(const char *name_or_path,
			    const struct config_limits *limits,
			    struct config_lines **lines_r,
			    struct config_errors *errs);
/* Looks domain (lowercase) up in the entries of a domain list as read by
 * config_read_domain_list(), in order, as Courier's locals and
 * esmtpacceptmailfor do: "example.com" matches itself, ".example.com"
 * any name below it, and a leading '!' makes the first matching entry
 * an exclusion.  True when the first match is not an exclusion. */
bool config_domain_list_match(const char *const *entries, size_t count,
			      const char *domain);
/* The value of "me" (or "me.VHOST" when vhost is not NULL and that file
 * exists): its first line expanded, or the system hostname when missing.
 * Caller frees. */
char *config_me(const char *vhost);

/* --- per-address overrides --- */

/* "name.address" (resolved as config_path()) if it exists, else the path
 * of name.  An address that could not be a file name suffix (empty,
 * containing '/', starting with '.', NUL or control bytes, over 255 bytes)
 * is ignored.  address NULL means no override.  Caller frees. */
char *config_path_for_address(const char *name, const char *address);
/* True when "vhost.key" exists in etc/. */
bool config_vhost_exists(const char *key);
/* Picks the per-message vhost as Courier does: local_ip when
 * "vhost.local_ip" exists, else the domain of auth_id (text after the last
 * '@', lowercased) when "vhost.domain" exists, else NULL.  Either argument
 * may be NULL.  Caller frees.  Pass the result to config_path_for_address()
 * and config_me(). */
char *config_vhost_select(const char *local_ip, const char *auth_id);

#endif
