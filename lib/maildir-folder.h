/* maildir-folder.h: Maildir++ folders as Courier keeps them.
 *
 * A folder is a maildir ".Name" directly under the root maildir (INBOX),
 * with an empty "maildirfolder" marker file inside.  The hierarchy is
 * flat on disk: folder "a.b" is the directory ".a.b", and it may exist
 * without ".a".  On disk the name is in IMAP modified UTF-7 (Courier's
 * convention, and what maildirmake -f writes); callers of this API always
 * use UTF-8 names with '.' as the hierarchy separator.
 *
 * A valid folder name is non-empty UTF-8 without control characters, '/'
 * or empty components (so no leading, trailing or doubled '.', which also
 * rules out "..").  Names that encode to more than MAILDIR_NAME_MAX bytes
 * are refused.  Every function below refuses invalid names with EINVAL. */
#ifndef MAILDIR_FOLDER_H
#define MAILDIR_FOLDER_H

#include <stdbool.h>
#include <stddef.h>

/* True if name (UTF-8) is a valid folder name. */
bool maildir_folder_name_valid(const char *name);

/* The directory name on disk for folder name (".Name" in modified
 * UTF-7), caller frees; NULL if the name is invalid. */
char *maildir_folder_dirname(const char *name);
/* The UTF-8 folder name for a directory entry ".Name" of the root, caller
 * frees; NULL if it is not a folder name.  Directory names that are not
 * canonical modified UTF-7 (such as Courier-IMAP 5's raw UTF-8 names) are
 * not folders to us: they could not be opened again by name. */
char *maildir_folder_name_from_dirname(const char *dirname);

/* Full path of folder name under root (caller frees), NULL if invalid. */
char *maildir_folder_path(const char *root, const char *name);

/* Creates folder name: the maildir, then the maildirfolder marker.
 * Returns 1 if created, 0 if it already existed, -1 with *error_r. */
int maildir_folder_create(const char *root, const char *name,
			  const char **error_r);
/* Deletes folder name and everything in it (not its subfolders, which
 * are separate directories).  It is first renamed aside so readers never
 * see half a folder.  Returns 1, 0 if it did not exist, -1 on error. */
int maildir_folder_delete(const char *root, const char *name,
			  const char **error_r);
/* Renames folder oldname and all its subfolders (oldname.*) to newname.
 * Refuses (EEXIST) if any target exists and (EINVAL) renaming a folder
 * into its own subtree.  Returns 1, 0 if nothing was named oldname, -1
 * on error. */
int maildir_folder_rename(const char *root, const char *oldname,
			  const char *newname, const char **error_r);

struct maildir_folder_list {
	char **names;	/* UTF-8, sorted */
	size_t count;
};

/* Lists the folders under root (directories ".Name" holding a maildir;
 * symlinks and non-folder names are skipped).  Returns 0 and *list_r
 * (free with maildir_folder_list_free()), or -1 with *error_r. */
int maildir_folder_list(const char *root, struct maildir_folder_list **list_r,
			const char **error_r);
void maildir_folder_list_free(struct maildir_folder_list **list);

#endif
