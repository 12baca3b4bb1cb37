/* aliases.h: mail aliases, as makealiases(8) describes them.
 *
 * The source is the control file "aliases" (a file, or a folder whose
 * files are read in name order, config-file.h).  makealiases compiles it
 * into the LMDB database etc/aliases.dat (written aside, then renamed
 * over the old one: readers never see half a database), and submit
 * expands recipients with it as they are added, so the ESMTP server can
 * refuse an unknown address at RCPT time (aliases_exists()).
 *
 * Source syntax, one definition per line; a line that starts with a blank
 * continues the previous one; '#' lines are comments:
 *
 *   name: item, item, ...
 *
 * name is "local" (that local part in any domain of locals, and in the
 * defaultdomain, which bare addresses get), "local@domain",
 * or "@domain" (a qmail-style virtual domain, below).  Names are not case
 * sensitive.  An item is:
 *   - an address ("bob", "bob@example.com", "Bob <bob@example.com>"); an
 *     address that is an alias itself is expanded in turn (at most
 *     ALIASES_MAX_DEPTH levels); an alias that lists itself gets the mail
 *     itself (sendmail's "bob: bob, other" idiom);
 *   - ":include:/path": the addresses of that file (one or more a line,
 *     comma separated), read by makealiases; a relative path is relative
 *     to etc/;
 *   - "|command": a program fed the message, or "/path" a mailbox file
 *     ("/path/" a maildir).  As in Courier, these are not run by submit:
 *     makealiases writes them into a dot-courier file (dot-courier(5)) in
 *     etc/aliases.dir, and the local delivery module runs them as the
 *     owner of that folder (never root).  Only names of local addresses
 *     may have them.  An item with a comma is written in double quotes.
 * Addresses are de-duplicated: every recipient is kept once, whichever
 * aliases or includes lead to it.
 *
 * "@domain: prefix" makes a virtual domain: mail to "name@domain" that no
 * alias matches goes to "prefix-name" (qualified with defaultdomain when
 * prefix has no domain), where the account "prefix" handles it with its
 * .courier-name or .courier-default files (dot-courier(5)).
 *
 * Errors are reported as "file:line: message" (config-errors.h). */
#ifndef ALIASES_H
#define ALIASES_H

#include <stdbool.h>
#include <stddef.h>

#include "config-errors.h"
#include "config-file.h"

/* Longest alias name and item. */
#define ALIASES_MAX_NAME 255
#define ALIASES_MAX_ITEM 4096
/* Items of one alias, after includes. */
#define ALIASES_MAX_ITEMS 100000
/* Nesting of aliases expanded at submit time. */
#define ALIASES_MAX_DEPTH 10
/* Recipients one address may expand to. */
#define ALIASES_MAX_EXPANSION 10000
/* Size of an :include: file. */
#define ALIASES_MAX_INCLUDE (16 * 1024 * 1024)

/* The DB value line of an alias with program or mailbox items: deliver
 * the alias's own address locally through etc/aliases.dir. */
#define ALIASES_SELF_MARK "!"
/* The DB value of a virtual domain begins with this, then the prefix. */
#define ALIASES_VDOMAIN_MARK '='

/* ---- the source, as makealiases reads it ---- */

struct alias {
	char *name;		/* lowercased key: "local", "l@d", "@d" */
	char **addresses;	/* as written, de-duplicated */
	size_t address_count;
	char **programs;	/* "|cmd", "/path" and "/path/" items */
	size_t program_count;
	const char *file;	/* where it was first defined */
	unsigned int line;
};

struct aliases;

/* Reads an :include: file: returns its contents (caller frees) and size,
 * or NULL with *error_r (static or until the next call). */
typedef char *aliases_include_fn(const char *path, size_t *size_r,
				 const char **error_r, void *context);

struct aliases *aliases_new(void);
void aliases_free(struct aliases **a);

/* Parses source lines into a.  include may be NULL: ":include:" is then
 * an error.  A malformed definition is reported in errs and skipped (the
 * rest is parsed); callers refuse to compile when errs has errors. */
void aliases_parse(struct aliases *a, const struct config_lines *lines,
		   aliases_include_fn *include, void *context,
		   struct config_errors *errs);
/* Definitions, in the order first seen. */
size_t aliases_count(const struct aliases *a);
const struct alias *aliases_get(const struct aliases *a, size_t i);
/* The definition named name (any case), or NULL. */
const struct alias *aliases_find(const struct aliases *a, const char *name);

/* The dot-courier file name under etc/aliases.dir for an alias key:
 * ".courier-" and the key, '.' written ':' (dot-courier(5)).  Caller
 * frees. */
char *aliases_dotfile_name(const char *key);

/* Writes the database to path (a temporary file beside it, fsynced, then
 * renamed over path).  Returns 0, or -1 with *error_r (valid until the
 * next call). */
int aliases_write_db(const struct aliases *a, const char *path,
		     const char **error_r);

/* ---- lookups (submit, esmtpd, courierlocal) ---- */

struct aliases_db;

/* Opens a compiled database read-only (no lock file: it is only ever
 * replaced whole).  Returns 1 and *db_r, 0 when path does not exist, -1
 * with *error_r. */
int aliases_db_open(const char *path, struct aliases_db **db_r,
		    const char **error_r);
void aliases_db_close(struct aliases_db **db);
/* The value stored for key (exact; callers lowercase it): 1 and *value_r
 * (caller frees; lines separated by '\n'), 0 when missing, -1 on error. */
int aliases_db_get(struct aliases_db *db, const char *key, char **value_r);

/* The recipients one address stands for. */
struct aliases_expansion {
	char **rcpts;		/* qualified addresses, de-duplicated */
	size_t count;
};
void aliases_expansion_free(struct aliases_expansion *x);

/* Qualifies an address ("bob" -> "bob@defaultdomain", domain
 * lowercased): returns a new string or NULL with *error_r (an SMTP
 * reply).  Whether a domain is in locals: is_local(domain). */
typedef char *aliases_qualify_fn(const char *address, const char **error_r);
typedef bool aliases_is_local_fn(const char *domain);

/* Expands address (already qualified) through db.  Returns 0 when it is
 * no alias (x untouched), 1 with the recipients appended to x, -1 with
 * *error_r (an SMTP reply: a loop deeper than ALIASES_MAX_DEPTH, more
 * than ALIASES_MAX_EXPANSION recipients, a bad address in the database,
 * a database error). */
int aliases_expand(struct aliases_db *db, const char *address,
		   aliases_qualify_fn *qualify, aliases_is_local_fn *is_local,
		   struct aliases_expansion *x, const char **error_r);

/* The database key of an alias with program or mailbox items that
 * address (as delivered) is, found as aliases_expand() finds it, or NULL.
 * Caller frees. */
char *aliases_self_key(struct aliases_db *db, const char *address,
		       aliases_is_local_fn *is_local);

/* ---- the instance's database (etc/aliases.dat), for submit and
 * esmtpd: opened on first use and again whenever makealiases replaced
 * it ---- */

/* The open database, or NULL when there is none (or it cannot be read:
 * logged once). */
struct aliases_db *aliases_default_db(void);
/* Whether bare alias names apply to domain: one of the instance's locals
 * (route.h) or its defaultdomain (cached). */
bool aliases_is_local_domain(const char *domain);
/* Forgets the cached database (tests, restarts). */
void aliases_default_reset(void);

/* For the ESMTP server at RCPT: whether address (qualified, domain
 * lowercased) is an alias or falls in a virtual domain of the instance's
 * database.  Returns 1 yes, 0 no (look for an account), -1 on a database
 * error (answer 4xx). */
int aliases_exists(const char *address);

#endif
