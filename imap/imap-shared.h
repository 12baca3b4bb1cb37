/* imap-shared.h: Courier's virtual shared folders: the shared index that
 * lists the accounts whose folders other accounts may see (through the
 * folders' ACLs), and the "#shared.ACCOUNT.FOLDER" names that reach them.
 *
 * The index is the instance's etc/shared/index (etc/shared/indexGROUP for
 * an account with the option sharedgroup=GROUP), as Courier's
 * authenumerate | sharedindexinstall writes it, one account a line:
 *
 *     name<TAB>uid<TAB>gid<TAB>home<TAB>maildir[<TAB>anything]
 *
 * maildir is relative to home (empty: the default maildir name), or
 * absolute.  Blank lines and lines starting with '#' are skipped; a line
 * "*FILE" (sharedindexsplit's split files) includes FILE, a name in the
 * index's directory, one level deep.  Malformed lines are skipped and
 * counted. */
#ifndef IMAP_SHARED_H
#define IMAP_SHARED_H

#include <stdbool.h>
#include <stddef.h>

/* The namespace of virtual shared folders. */
#define IMAP_SHARED_PREFIX "#shared"

/* The index, under the instance's etc/ (instance_etc_path()). */
#define IMAP_SHARED_INDEX_FILE "shared/index"

/* Limits on the index. */
#define IMAP_SHARED_FILE_MAX (64 * 1024 * 1024)
#define IMAP_SHARED_LINE_MAX 4096
#define IMAP_SHARED_NAME_MAX 256
#define IMAP_SHARED_INCLUDE_MAX 256

struct imap_shared_account {
	char *name;	/* the login name */
	char *maildir;	/* absolute path of its maildir */
};

struct imap_shared_index {
	struct imap_shared_account *accounts;	/* sorted by name */
	size_t count, alloc;
	/* the "*FILE" lines of the parsed data, in order */
	char **includes;
	size_t include_count;
};

/* Adds the accounts of one index file's data (size bytes, need not be
 * NUL-terminated) to idx (zero it first).  default_maildir is the
 * maildir of an account whose field is empty ("Maildir").  Includes are
 * only recorded.  Returns the number of malformed lines skipped. */
size_t imap_shared_index_parse(struct imap_shared_index *idx,
			       const char *data, size_t size,
			       const char *default_maildir);
/* Sorts the accounts by name and drops repeated names (the first wins);
 * call after the last parse, before imap_shared_index_find(). */
void imap_shared_index_finish(struct imap_shared_index *idx);
/* Reads the index file path and the files it includes (at most
 * IMAP_SHARED_FILE_MAX each); a missing file is an empty index.
 * Problems are logged.  Always fills *idx_r (free it). */
void imap_shared_index_load(const char *path, const char *default_maildir,
			    struct imap_shared_index *idx_r);
void imap_shared_index_free(struct imap_shared_index *idx);

/* The account named name (len bytes), or NULL. */
const struct imap_shared_account *
imap_shared_index_find(const struct imap_shared_index *idx, const char *name,
		       size_t len);
/* Splits "ACCOUNT.FOLDER" (the part after "#shared.") at the longest
 * account name of the index followed by '.' or the end (account names
 * may hold dots).  Returns the account and *folder_r: what follows its
 * '.', "" when nothing does; NULL when no account matches. */
const struct imap_shared_account *
imap_shared_index_split(const struct imap_shared_index *idx,
			const char *rest, const char **folder_r);

/* The index path for an account with these authlib OPTIONS ("k=v,..."):
 * base, or base followed by the sharedgroup= value; NULL when OPTIONS
 * has disableshared (or a sharedgroup= value that is not a plain
 * name).  Caller frees. */
char *imap_shared_index_path(const char *base, const char *options);

#endif
