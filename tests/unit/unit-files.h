/* unit-files.h: scratch folders and files for the unit tests: a new
 * folder (or maildir) under /tmp, files written and read in it, and its
 * removal.  Each function fails the running cmocka test on an error. */
#ifndef UNIT_FILES_H
#define UNIT_FILES_H

/* A new empty folder /tmp/test-NAME.XXXXXX (caller frees the path). */
char *unit_tmpdir(const char *name);
/* The same, made a maildir (tmp/, new/, cur/). */
char *unit_maildir(const char *name);
/* Removes path and everything in it. */
void unit_rm_rf(const char *path);
/* Writes data to ROOT/REL (or to REL when root is NULL), replacing it. */
void unit_write_file(const char *root, const char *rel, const char *data);
/* The contents of ROOT/REL (or REL), NUL-terminated (caller frees), or
 * NULL when it cannot be opened. */
char *unit_read_file(const char *root, const char *rel);

#endif
