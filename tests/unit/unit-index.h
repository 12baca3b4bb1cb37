/* unit-index.h: the shared set-up of the mail index's unit tests: a
 * scratch maildir for each test with a quiet log that counts warnings,
 * messages written into it, the index opened and synced, and the check
 * that the index lists exactly the folder's files.  The stamp tests also
 * drive the index's test hooks (coarse mtimes, a clock running ahead).
 * Each function fails the running cmocka test on an error. */
#ifndef UNIT_INDEX_H
#define UNIT_INDEX_H

#include <stdbool.h>
#include <stdint.h>
#include <lmdb.h>

struct mail_index;
struct mail_index_status;

/* The maildir of the running test (NULL between tests). */
extern char *unit_index_dir;
/* Warnings logged since the set-up (the log prints nothing). */
extern int unit_index_warnings;

/* cmocka fixtures: a new maildir /tmp/test-mail-index.XXXXXX and the
 * quiet log; its removal and the log back to stderr. */
int unit_index_setup(void **state);
int unit_index_teardown(void **state);
/* The set-up of a stamp test: the index's test hooks reset, then coarse
 * (whole-second) mtimes simulated when mode is 1, and the maildir made
 * under $MAIL_INDEX_TEST_COARSE_DIR when mode is 2 (-1 when it is not
 * set: the caller skips).  Pairs with unit_index_teardown_stamps(), which
 * also resets the hooks. */
int unit_index_setup_stamps(int mode);
int unit_index_teardown_stamps(void **state);

/* Writes text to DIR/sub/name (sub: "cur", "new", ...). */
void unit_index_put(const char *sub, const char *name, const char *text);
/* Whether DIR/sub/name exists. */
bool unit_index_exists(const char *sub, const char *name);
/* Renames DIR/from to DIR/to (paths such as "cur/NAME", "new/NAME"), as
 * another program would. */
void unit_index_rename(const char *from, const char *to);
/* Delivers text into DIR/new/ as another program would (maildir_deliver());
 * the file's name into *name_r (caller frees) unless name_r is NULL. */
void unit_index_deliver(const char *text, char **name_r);
/* Sets the mtimes of cur/ and new/ to 2020 (stamps past the racy
 * window). */
void unit_index_age_dirs(void);

/* Opens the index of DIR (the caller closes it). */
struct mail_index *unit_index_open(void);
void unit_index_status(struct mail_index *index, struct mail_index_status *st);
void unit_index_sync_ok(struct mail_index *index);
/* The UID of the message of base name base, 0 when there is none. */
uint32_t unit_index_uid_of(struct mail_index *index, const char *base);
/* +FLAGS or -FLAGS \Seen on uid, which must change it. */
void unit_index_store_seen(struct mail_index *index, uint32_t uid, bool on);
/* Asserts that the index lists exactly the files of the maildir. */
void unit_index_assert_true(struct mail_index *index);

/* Opens database db ("msgs", "modseq"...) of DIR's index file straight
 * with LMDB in a write transaction, for the tests that damage the file;
 * unit_index_raw_commit() commits and closes. */
MDB_txn *unit_index_raw_begin(const char *db, MDB_env **env_r,
			      MDB_dbi *dbi_r);
void unit_index_raw_commit(MDB_env *env, MDB_txn *txn);

/* Stamp tests: the index's clock runs ahead by ms (time passing without
 * sleeping: the file systems' mtimes stay where they are). */
void unit_index_advance_clock(int64_t ms);
/* A folder of n messages in cur/ ("1600000NNN.MnP1.host:2,"), indexed,
 * with trusted stamps. */
struct mail_index *unit_index_stamp_folder(unsigned n);
/* Scans of any kind (full, or of new/ alone) made so far. */
unsigned unit_index_all_scans(void);

#endif
