/* imap-acl.h: access control lists of folders (RFC 4314 rights) kept as
 * Courier-IMAP keeps them, so that a Courier maildir's ACLs carry over.
 *
 * Each folder's ACL is the file "courierimapacl" in its directory (the
 * root maildir's for INBOX), one "identifier rights" line per entry, as
 *
 *     owner aceilrstwx
 *     administrators aceilrstwx
 *     user=bob lr
 *     -group=interns w
 *
 * Identifiers: "owner" (the account the folder belongs to), "anyone" and
 * "anonymous" (everybody), "administrators" (accounts with the option
 * group=administrators), "user=NAME", "group=NAME" (accounts whose
 * OPTIONS say group=NAME); a leading '-' makes the entry a negative
 * right.  Rights are the union of the positive entries that name the
 * session minus the union of the negative ones (ACL2=UNION); the owner
 * always keeps the administer right.
 *
 * Rights letters on disk are Courier's: a c e i l r s t w x (and p); "c"
 * (create subfolders) is RFC 4314's "k".  On the wire they are RFC 4314's
 * with RIGHTS=texk: l r s w i p k x t e a, plus the obsolete "c" (= k) and
 * "d" (= x t e) that older clients look for.
 *
 * A folder without an ACL file has its parent's ACL ("a.b" inherits from
 * "a", a top folder from INBOX), and INBOX without one has Courier's
 * default: owner and administrators with every right.  CREATE writes
 * the inherited ACL into the new folder, as Courier-IMAP does. */
#ifndef IMAP_ACL_H
#define IMAP_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

enum imap_acl_right {
	IMAP_ACL_LOOKUP = 0x001,	/* l: LIST shows it */
	IMAP_ACL_READ = 0x002,		/* r: SELECT, STATUS, FETCH... */
	IMAP_ACL_SEEN = 0x004,		/* s: keep \Seen */
	IMAP_ACL_WRITE = 0x008,		/* w: other flags and keywords */
	IMAP_ACL_INSERT = 0x010,	/* i: APPEND, COPY into */
	IMAP_ACL_POST = 0x020,		/* p: post to it (not used here) */
	IMAP_ACL_CREATE = 0x040,	/* k (Courier's c): subfolders */
	IMAP_ACL_DELETE = 0x080,	/* x: DELETE the folder, RENAME it */
	IMAP_ACL_DELMSG = 0x100,	/* t: set \Deleted */
	IMAP_ACL_EXPUNGE = 0x200,	/* e: EXPUNGE */
	IMAP_ACL_ADMIN = 0x400,		/* a: SETACL, GETACL... */
};

/* Courier's ACL_ALL: every right but p. */
#define IMAP_ACL_ALL 0x7df
/* What LISTRIGHTS offers: every right the server knows. */
#define IMAP_ACL_KNOWN 0x7ff

/* Limits on what an ACL file (or a client) may hold. */
#define IMAP_ACL_FILE_MAX 65536
#define IMAP_ACL_MAX_ENTRIES 512
#define IMAP_ACL_ID_MAX 256

#define IMAP_ACL_FILE "courierimapacl"

struct imap_acl_entry {
	char *id;		/* "owner", "user=bob", "-group=x"... */
	unsigned int rights;	/* enum imap_acl_right */
};

struct imap_acl {
	struct imap_acl_entry *entries;
	size_t count;
};

/* Who the session is, for imap_acl_compute(). */
struct imap_acl_who {
	const char *user;	/* the login name */
	const char *owner;	/* the account that owns the folder */
	char **groups;		/* the account's group= options */
	size_t group_count;
};

/* Parses an ACL file's contents (size bytes, need not be NUL-terminated;
 * at most IMAP_ACL_FILE_MAX).  Blank lines are skipped; a line without
 * an identifier and rights, an identifier that is not valid, an unknown
 * letter, a repeated identifier or more than IMAP_ACL_MAX_ENTRIES lines
 * make it fail.  Returns 0 and *acl_r (free with imap_acl_free()), or -1
 * with a static *error_r and *acl_r empty. */
int imap_acl_parse(const char *data, size_t size, struct imap_acl *acl_r,
		   const char **error_r);
/* Appends the ACL in the file's format. */
void imap_acl_format(const struct imap_acl *acl, struct str *out);
void imap_acl_free(struct imap_acl *acl);
/* A copy of src into *dst. */
void imap_acl_copy(struct imap_acl *dst, const struct imap_acl *src);
/* Courier's default: owner and administrators with IMAP_ACL_ALL. */
void imap_acl_default(struct imap_acl *acl);

/* Parses rights letters (either spelling: c and k, d for x t e).
 * Returns 0 and *rights_r, -1 for an unknown letter or an empty
 * string when !allow_empty. */
int imap_acl_rights_parse(const char *text, bool allow_empty,
			  unsigned int *rights_r);
/* Appends rights as RFC 4314 letters with RIGHTS=texk (plus "c" when k
 * is there and "d" when x, t and e all are), or as Courier's file
 * letters when file is true. */
void imap_acl_rights_append(struct str *out, unsigned int rights, bool file);

/* True when id is an identifier this ACL model knows (see above), at
 * most IMAP_ACL_ID_MAX bytes, without spaces or control characters. */
bool imap_acl_id_valid(const char *id);
/* The identifier a client names: Courier's forms as they are, a bare
 * login name as "user=NAME" ("-NAME" as "-user=NAME").  Caller frees;
 * NULL when it cannot be an identifier. */
char *imap_acl_id_from_client(const char *id);

/* The rights of id in acl (0 when it has no entry). */
unsigned int imap_acl_get(const struct imap_acl *acl, const char *id);
/* Sets id's rights (an entry with 0 rights is removed); id must be
 * valid.  Returns -1 when the ACL is full (IMAP_ACL_MAX_ENTRIES). */
int imap_acl_set(struct imap_acl *acl, const char *id, unsigned int rights);
/* Removes id's entry; returns true when there was one. */
bool imap_acl_remove(struct imap_acl *acl, const char *id);

/* True when id (without its '-') names the session who. */
bool imap_acl_id_matches(const char *id, const struct imap_acl_who *who);
/* The rights who has under acl (ACL2=UNION, owner keeps a). */
unsigned int imap_acl_compute(const struct imap_acl *acl,
			      const struct imap_acl_who *who);

/* The group= values of an OPTIONS string ("k=v,k=v"), caller frees with
 * imap_acl_groups_free(). */
char **imap_acl_groups_parse(const char *options, size_t *count_r);
void imap_acl_groups_free(char **groups, size_t count);

/* Reads dir's ACL file.  Returns 1 and *acl_r, 0 when there is none,
 * -1 with *error_r when it cannot be read or is malformed. */
int imap_acl_read_dir(const char *dir, struct imap_acl *acl_r,
		      const char **error_r);
/* Writes acl as dir's ACL file (through dir/tmp, then renamed).
 * Returns 0, or -1 with *error_r. */
int imap_acl_write_dir(const char *dir, const struct imap_acl *acl,
		       const char **error_r);
/* The ACL of folder (UTF-8, '.'-separated, "" for INBOX) of the maildir
 * root: its own file, else its nearest ancestor's, else the default.
 * A malformed file counts as an ACL that grants nothing but the
 * owner's administer right (logged).  Always fills *acl_r. */
void imap_acl_load(const char *root, const char *folder,
		   struct imap_acl *acl_r);

#endif
