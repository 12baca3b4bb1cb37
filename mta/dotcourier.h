/* dotcourier.h: which dot-courier file (dot-courier(5)) applies to an
 * address extension: the one lookup of the rules, used by courierlocal at
 * delivery and by esmtpd at RCPT time. */
#ifndef DOTCOURIER_H
#define DOTCOURIER_H

#include <stdbool.h>

/* The characters besides '-' that separate an account from its extension:
 * the first line of etc/defaultsep, default "+" (Courier's defaultsep).
 * A first line "-" means '-' only.  Characters that cannot be a
 * separator ('@', '.', '/', control characters, at most
 * DOTCOURIER_MAX_SEPARATORS of the rest) are dropped.  Caller frees. */
#define DOTCOURIER_MAX_SEPARATORS 16
char *dotcourier_separators(void);

/* Replaces, in place, each character of local that is in seps by '-'. */
void dotcourier_map_separators(char *local, const char *seps);

/* The file-name form of an extension: '.' becomes ':' (dot-courier(5)).
 * Returns NULL when ext cannot name a file in the home ('/' or a
 * control character in it, or longer than DOTCOURIER_MAX_EXT bytes).
 * Caller frees. */
#define DOTCOURIER_MAX_EXT 200
char *dotcourier_ext_name(const char *ext);

/* Finds the dot-courier file for the extension ext (already mapped with
 * dotcourier_map_separators() and lowercased as the site wants) in the
 * folder dirfd (AT_FDCWD: the current folder), in dot-courier(5)'s
 * order: for "" .courier; else .courier-EXT, .courier-A-B-default,
 * .courier-A-default ... for each prefix of EXT ending before a '-',
 * then .courier-default ('.' in EXT read as ':').  Existence is checked
 * with the effective ids (faccessat AT_EACCESS).
 * Returns 1 with *name_r (the file's name in the folder, caller frees),
 * 0 when no file applies (*name_r = NULL; also for an ext that cannot
 * name a file), -1 when it cannot tell (*name_r = NULL, errno set: the
 * folder cannot be searched, EACCES, or another error than ENOENT). */
int dotcourier_find(int dirfd, const char *ext, char **name_r);

/* The same in the folder path (opened O_PATH, so no read permission on
 * it is needed, only search permission).  -1 also when path cannot be
 * opened (errno set). */
int dotcourier_find_in(const char *path, const char *ext, char **name_r);

#endif
