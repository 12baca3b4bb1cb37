/* imap-sharable.h: Courier's filesystem shared folders ("sharable
 * maildirs", maildirmake -S / -s / --add), served in the "shared."
 * namespace as "shared.NICK.FOLDER".
 *
 * An account's maildir lists the sharable maildirs it reads in its
 * "shared-maildirs" file (maildirmake --add writes it), one a line:
 *
 *     nick<TAB>/path/to/sharable/maildir
 *
 * and the instance may list more for every account in etc/maildirshared
 * (the same format; the account's own line wins for a nick in both).
 * Blank lines and lines starting with '#' are skipped; a malformed line
 * (no tab, an empty or invalid nick, a relative path) is logged as
 * FILE:LINE and skipped.
 *
 * NICK's folders are the folders (".FOLDER") of the sharable maildir
 * whose permissions let others read them (maildirmake -s); FOLDER is
 * writable for the account when others may write into it too (-s write).
 *
 * The account reads a folder through its own copy, the maildir
 * MAILDIR/shared-folders/NICK/FOLDER, whose messages are symbolic links
 * to the sharable folder's messages (as Courier's: removing a message
 * frees its space at once): the account's flags are its own (kept in its
 * copy's file names).  imap_sharable_refresh() brings the copy in
 * step: new messages are linked in, vanished ones removed, links to
 * messages renamed in the folder pointed at their new names; a message the
 * account expunged from its copy stays out, and is removed from the
 * sharable folder too when the folder is writable (as Courier-IMAP).
 * The copy remembers the messages it has seen in its "shared-known"
 * file, one base name a line, followed by "<TAB>h" for those the account
 * expunged while it could not remove them from the folder: they stay
 * hidden from it even if the folder becomes writable later. */
#ifndef IMAP_SHARABLE_H
#define IMAP_SHARABLE_H

#include <stdbool.h>
#include <stddef.h>

/* The client namespace, and the internal folder names (imap-mailbox.h)
 * that stand for it: "shared.NICK.FOLDER" is the folder
 * "/shared.NICK.FOLDER", which no personal folder can be named ('/' is
 * not allowed in folder names). */
#define IMAP_SHARABLE_PREFIX "shared"
#define IMAP_SHARABLE_INTERNAL "/shared"

/* Files and directories. */
#define IMAP_SHARABLE_LIST_FILE "shared-maildirs"	/* in the maildir */
#define IMAP_SHARABLE_GLOBAL_FILE "maildirshared"	/* in etc/ */
#define IMAP_SHARABLE_DIR "shared-folders"		/* in the maildir */
#define IMAP_SHARABLE_KNOWN_FILE "shared-known"		/* in a copy */
#define IMAP_SHARABLE_LOCK_FILE "shared-lock"		/* in a copy */
#define IMAP_SHARABLE_LINK "shared"	/* in a copy: -> the original */

/* Limits: list and known files are read up to these sizes, longer
 * lines are malformed. */
#define IMAP_SHARABLE_FILE_MAX (1024 * 1024)
#define IMAP_SHARABLE_KNOWN_MAX (64 * 1024 * 1024)
#define IMAP_SHARABLE_LINE_MAX 4096
#define IMAP_SHARABLE_NICK_MAX 255

struct imap_sharable_entry {
	char *nick;
	char *path;	/* absolute */
};

struct imap_sharable_list {
	struct imap_sharable_entry *entries;	/* in file order */
	size_t count;
};

/* True when nick (len bytes) is a valid nickname: 1 to
 * IMAP_SHARABLE_NICK_MAX printable bytes, no white space, '.', '/'. */
bool imap_sharable_nick_valid(const char *nick, size_t len);
/* Adds the lines of one list file's data (size bytes, need not be
 * NUL-terminated) to list (zero it first); an entry whose nick is
 * already in list is ignored.  file names the file in the warnings
 * ("FILE:LINE: reason") logged for malformed lines.  Returns the number
 * of malformed lines skipped. */
size_t imap_sharable_list_parse(struct imap_sharable_list *list,
				const char *data, size_t size,
				const char *file);
/* Reads maildir's list file, then global_path (NULL: none); missing
 * files are empty lists, others' problems are logged.  Always fills
 * *list_r (free it). */
void imap_sharable_list_load(const char *maildir, const char *global_path,
			     struct imap_sharable_list *list_r);
/* The entry of nick (len bytes), or NULL. */
const struct imap_sharable_entry *
imap_sharable_list_find(const struct imap_sharable_list *list,
			const char *nick, size_t len);
void imap_sharable_list_free(struct imap_sharable_list *list);

/* Splits an internal name's part after IMAP_SHARABLE_INTERNAL "."
 * ("NICK" or "NICK.FOLDER") into the nick (*nick_len_r bytes of rest)
 * and *folder_r ("" when there is none).  Returns false when the nick
 * is not valid. */
bool imap_sharable_split(const char *rest, size_t *nick_len_r,
			 const char **folder_r);

/* What the session may do in the sharable folder dir: 0 when it may
 * not see it (not a maildir, or others may not read it), 1 read, 2
 * read and write (others may add and remove messages, and this process
 * can). */
int imap_sharable_access(const char *dir);

/* Parses a known file's data into its lines: base names (each
 * validated: no '/', ':', control bytes or leading '.', 1 to
 * IMAP_SHARABLE_LINE_MAX bytes), optionally with "\th"; others skipped
 * and counted in *bad_r.  *names_r is sorted, one line per base name,
 * caller frees each and the array. */
void imap_sharable_known_parse(const char *data, size_t size,
			       char ***names_r, size_t *count_r,
			       size_t *bad_r);

/* Asked before a message the copy knew but no longer lists is taken as
 * expunged by the account: true when the copy still has the message
 * with this base name (its index says so: another session may be
 * renaming the file right now, so a directory listing can miss it). */
typedef bool imap_sharable_present_func(const char *base, void *context);

/* Brings the account's copy copy_dir (created with its parents up to
 * the maildir when missing) in step with the sharable folder orig_dir,
 * as the file comment says; writable: the account's expunges are
 * carried to orig_dir.  present (NULL: the listing is trusted) confirms
 * each expunge first.  Serialised with other refreshes by a lock file
 * in the copy.  A message is taken as gone from orig_dir only when a
 * listing of it can be trusted (no change to new/ or cur/ during it, nor
 * within 50 ms before it: a short wait is made for that).  Returns 1; 0
 * when orig_dir was too busy to tell what left it (call again soon; all
 * else was done); -1 with *error_r (static or valid until the next
 * call). */
int imap_sharable_refresh(const char *copy_dir, const char *orig_dir,
			  bool writable, imap_sharable_present_func *present,
			  void *context, const char **error_r);

#endif
