/* maildir.h: Maildir as Courier keeps it: creation, unique names, atomic
 * (streaming) delivery, flags in names, listing and locating messages.
 *
 * Layout (cr.yp.to/proto/maildir.html with Courier's Maildir++ additions):
 * a maildir is a directory with tmp/, new/ and cur/.  A message is written
 * into tmp/ (an unnamed file where the system has them), its data written
 * out, linked into new/, then the file and new/ are fsync'ed before
 * success is reported; readers
 * move it to cur/ and append an info part ":2," followed by its flags in
 * ASCII order (D draft, F flagged, P passed, R replied, S seen, T trashed;
 * other letters, such as Dovecot's lowercase keyword letters, are kept).
 *
 * Names look like "1700000000.M123456P4242Q3.host,S=1234,W=1260:2,RS".
 * The base name is everything before the info part (the last ':'); it does
 * not change when flags change.  ",S=" is the size in bytes (Maildir++),
 * ",W=" the size with CRLF line ends (the size IMAP reports).  Names from
 * Courier (".M<usec>P<pid>V<dev>I<ino>"), Dovecot and plain qmail writers
 * are all read; names without an info part have no flags. */
#ifndef MAILDIR_H
#define MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest file name we create or accept (NAME_MAX on Linux). */
#define MAILDIR_NAME_MAX 255
/* Longest flag string kept after ":2,". */
#define MAILDIR_FLAGS_MAX 64

/* Creates the maildir dir with tmp/, new/ and cur/ (mode 0700); parts that
 * already exist are fine.  The parent must exist.  Returns 0, or -1 with
 * *error_r set (static or errno text; valid until the next call). */
int maildir_create(const char *dir, const char **error_r);
/* True if dir has tmp/, new/ and cur/ directories. */
bool maildir_is_maildir(const char *dir);

/* ---- names ---- */

/* Returns a new unique base name "sec.M<usec>P<pid>Q<count>.<host>"
 * (caller frees).  host NULL = gethostname(); '/', ':' and ',' in it are
 * written as \057, \072 and \054 as the spec asks.  The Q counter is
 * per process and atomic, so threads and processes never collide. */
char *maildir_unique_name(const char *host);

/* Length of the base name of name: the bytes before the last ':'. */
size_t maildir_name_base_len(const char *name);
/* True if two names have the same base name. */
bool maildir_name_base_equal(const char *a, const char *b);
/* The flag letters of name (after ":2,"), or "" if the name has no ":2,"
 * info part.  Points into name. */
const char *maildir_name_flags(const char *name);
/* True if name's flags contain the letter flag. */
bool maildir_name_has_flag(const char *name, char flag);
/* Reads ",S=<n>" (field 'S') or ",W=<n>" (field 'W') from the base name.
 * Returns 1 and sets *value_r, 0 if absent or malformed. */
int maildir_name_get_size(const char *name, char field, uint64_t *value_r);

/* Normalises a flag string: ASCII order, no duplicates, only printable
 * ASCII other than '/', ':' and ','.  Returns a new string (caller frees),
 * truncated to MAILDIR_FLAGS_MAX letters. */
char *maildir_flags_normalize(const char *flags);
/* Returns a new name: name's base with info ":2,<flags>" (flags normalised).
 * Any previous info part (":2,..." or anything else) is replaced. */
char *maildir_name_set_flags(const char *name, const char *flags);
/* Returns a new name with the letters of add added and those of remove
 * taken away (either may be NULL). */
char *maildir_name_change_flags(const char *name, const char *add,
				const char *remove);

/* ---- delivery ---- */

/* Options for maildir_delivery_begin(). */
enum maildir_delivery_flags {
	/* Add ",W=<size with CRLF>" to the name. */
	MAILDIR_DELIVERY_VSIZE = 0x01,
	/* Rename instead of link (file systems without hard links).
	 * Link is tried first anyway; this only skips the attempt. */
	MAILDIR_DELIVERY_RENAME = 0x02,
};

struct maildir_delivery;

/* Starts a delivery into maildir dir: creates a new file in tmp/.
 * Returns the delivery, or NULL with *error_r set. */
struct maildir_delivery *maildir_delivery_begin(const char *dir,
						unsigned flags,
						const char **error_r);
/* Appends len bytes of the message.  Returns 0, or -1 with *error_r set
 * (ENOSPC, EDQUOT...): the delivery must then be aborted. */
int maildir_delivery_write(struct maildir_delivery *d, const void *data,
			   size_t len, const char **error_r);
/* Bytes written so far. */
uint64_t maildir_delivery_size(const struct maildir_delivery *d);
/* Finishes the delivery: link the file into new/ (or into cur/ with
 * ":2,<flags>" if flags is not NULL) under its final name with ",S=" (and
 * ",W="), fsync the file and then that directory (on a journalling file
 * system the file's fsync commits the link too, and the directory's has
 * nothing left to do), remove the tmp/ file.  The message shows in new/
 * (whole) a moment before it is on disk; it is delivered once this
 * returned 0.  On success
 * returns 0 and, if name_r is not NULL, the final file name (caller
 * frees).  On failure returns -1 with *error_r set and nothing left in
 * new/ or cur/.  Either way the delivery is freed and *d set to NULL. */
int maildir_delivery_commit(struct maildir_delivery **d, const char *flags,
			    char **name_r, const char **error_r);
/* Abandons a delivery: removes the tmp/ file, frees *d, sets it to NULL. */
void maildir_delivery_abort(struct maildir_delivery **d);

/* The file a delivery writes before it has a name in new/ or cur/: an
 * unnamed file in dir/tmp (O_TMPFILE: nothing to name or remove in tmp/,
 * and nothing left there by a crash) where the file system and /proc
 * allow, else dir/tmp/name, created exclusively (replace: an old file of
 * that name is removed first).  Returns the fd and *tmp_r NULL
 * (unnamed) or the tmp/ path (caller frees), or -1 with errno. */
int maildir_tmp_open(const char *dir, const char *name, bool replace,
		     char **tmp_r);
/* Gives the file maildir_tmp_open() made the name final: link(2) of its
 * tmp/ name, or of the unnamed file through /proc/self/fd (linkat()
 * with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).  Returns 0, or -1
 * with errno (EEXIST: final is taken). */
int maildir_tmp_link(int fd, const char *tmp, const char *final);

/* One-shot delivery of a message held in memory (into new/). */
int maildir_deliver(const char *dir, const void *data, size_t len,
		    unsigned flags, char **name_r, const char **error_r);

/* Removes files in dir/tmp/ last modified more than max_age seconds ago
 * (the spec says 36 hours).  Returns how many were removed, or -1. */
int maildir_clean_tmp(const char *dir, time_t max_age);

/* ---- listing and flags ---- */

struct maildir_entry {
	char *name;	/* file name in its subdirectory */
	bool in_new;	/* in new/ (else cur/) */
	size_t base_len; /* length of the base name in name */
	const char *flags; /* points into name ("" when none) */
	bool has_size;	/* size known from ",S=" */
	uint64_t size;
	bool has_vsize; /* ",W=" present */
	uint64_t vsize;
};

struct maildir_list_block;

struct maildir_list {
	struct maildir_entry *entries;
	size_t count;
	/* private: the memory the entries' names live in */
	struct maildir_list_block *blocks;
};

/* Lists the messages of maildir dir (new/ and cur/; names starting with
 * '.' are skipped), sorted by base name, then by whole name.  Returns 0
 * and *list_r (free with maildir_list_free(); the names belong to the
 * list), or -1 with *error_r: a directory that cannot be read to its end
 * fails the whole listing (never a partial one).  The directories are
 * read with large getdents64() calls and nothing is stat()ed. */
int maildir_list(const char *dir, struct maildir_list **list_r,
		 const char **error_r);
/* As maildir_list(), new/ only. */
int maildir_list_new(const char *dir, struct maildir_list **list_r,
		     const char **error_r);
void maildir_list_free(struct maildir_list **list);
/* Returns the entry with the given base name (binary search), or NULL. */
const struct maildir_entry *maildir_list_find(const struct maildir_list *l,
					      const char *base);

/* Finds the message with base name base (any info part) in cur/ then new/.
 * Returns 1 and its path relative to dir ("cur/NAME", caller frees) in
 * *relpath_r, 0 if absent, -1 on error. */
int maildir_find(const char *dir, const char *base, char **relpath_r,
		 const char **error_r);

/* Gives the message with base name base the flags flags (replaces them),
 * moving it from new/ to cur/ if it is still there.  If its current name
 * is unknown or stale (another process renamed it), it is looked up again.
 * Returns 1 and the new name (in cur/, caller frees, may be NULL) in
 * *name_r, 0 if the message no longer exists, -1 on error. */
int maildir_set_flags(const char *dir, const char *base, const char *flags,
		      char **name_r, const char **error_r);
/* Moves new/name to cur/ keeping its info (or adding ":2,"). Returns 1 and
 * the new name, 0 if it was gone, -1 on error. */
int maildir_move_to_cur(const char *dir, const char *name, char **name_r,
			const char **error_r);

#endif
