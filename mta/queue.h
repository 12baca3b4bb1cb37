/* queue.h: the mail queue on disk.
 *
 * Layout, under the instance's var/queue (queue_dir()):
 *
 *   tmp/                  files being written by submit
 *   msgs/<bucket>/C<qid>  a queued message's control file (ctlfile.h)
 *   msgs/<bucket>/D<qid>  its data file: the rewritten message, LF ends
 *   trigger               FIFO: submit and `courier` wake courierd
 *
 * A queue id is "<inode>.<seconds>.<nanoseconds>" in fixed-width hex
 * (16.8.8 digits): the data file's inode and the time it was made, which
 * no two messages ever share.  The bucket is the seconds / 10000 in
 * decimal, as Courier's subfolders by time: a bucket is made when the
 * first message of its period arrives and removed when it is empty and
 * old (its period and the next one are over: by queue_remove() of its
 * last message, else by queue_clean_stale()), so no folder grows without
 * bound, an idle queue ends up empty, and a quiet queue does not make,
 * fsync and remove the current bucket for every message.
 *
 * Durability: queue_new_commit() syncs the data file and the control
 * file, links them, and fsyncs the bucket folder (and msgs/ when the
 * bucket is new) before it returns, so a message it accepted survives a crash.  The data file is
 * moved in first and the control file last: courierd only looks at
 * control files, so it never sees half a message.  Status records are
 * appended with queue_ctl_append(), which fdatasyncs before returning.
 *
 * Threads: queue_new_commit() may run in several threads of one process
 * at once (esmtpd commits in its worker pool); error strings are per
 * thread.  Concurrent commits share their syncs (group commit): on Linux
 * the first waiting commit leads a batch of every commit waiting then
 * (all written before), and makes them durable with one syncfs() of the
 * queue's file system for their tmp/ files, then their links and one
 * fsync of their bucket folder; N messages committed together cost 2
 * syncs, not 2N + 1 fsyncs (elsewhere, or when the queue moved to
 * another file system: each file's fsync, and a shared folder fsync).
 * queue_set_dir() and the first queue_dir() belong to the main thread,
 * before any commit runs elsewhere. */
#ifndef QUEUE_H
#define QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ctlfile.h"

/* Length of a queue id, without its NUL. */
#define QUEUE_ID_LEN (16 + 1 + 8 + 1 + 8)

/* var/queue of the instance (cached; instance_reset() is not seen). */
const char *queue_dir(void);
/* Overrides the queue folder (tests); NULL goes back to the default. */
void queue_set_dir(const char *dir);
/* Creates var/queue, tmp/ and msgs/ if missing (mode 0750).  Returns 0,
 * or -1 with *error_r (static text, valid until the next call). */
int queue_init_dirs(const char **error_r);

/* Whether qid has the form of a queue id; sets *secs_r (may be NULL) to
 * the time it holds. */
bool queue_id_valid(const char *qid, time_t *secs_r);
/* The path of qid's control ('C') or data ('D') file (caller frees);
 * NULL when qid is not a queue id. */
char *queue_path(const char *qid, char type);

/* ---- adding a message ---- */

struct queue_new {
	int data_fd;		/* write the message here */
	char qid[QUEUE_ID_LEN + 1];
	time_t time;		/* when it was made */
	char *tmp_data;		/* tmp/ paths */
	char *tmp_ctl;
	/* the queue's count of failed file system syncs when the message
	 * was begun (a failure since then fails its commit) */
	unsigned long sync_errors;
};

/* Starts a message: creates its data file in tmp/ and fixes its queue id.
 * Returns 0 and *new_r, or -1 with *error_r. */
int queue_new_begin(struct queue_new **new_r, const char **error_r);
/* Writes the control file (ctl_text, len bytes), fsyncs both files, moves
 * them into the message's bucket and fsyncs the folder.  On success the
 * message is queued.  Either way *new is freed and set to NULL and its
 * tmp/ files are gone.  Returns 0, or -1 with *error_r. */
int queue_new_commit(struct queue_new **new, const char *ctl_text,
		     size_t len, const char **error_r);
/* Bucket folder fsyncs issued by queue_new_commit() in this process so
 * far (to measure the group commit). */
unsigned long queue_group_fsyncs(void);
/* File system syncs (syncfs) issued by queue_new_commit()'s batches in
 * this process so far (0 where each file is fsynced). */
unsigned long queue_group_syncfs(void);
/* Drops a message that was begun. */
void queue_new_abort(struct queue_new **new);

/* ---- queued messages ---- */

/* Reads and parses qid's control file.  Returns 1 and *ctl_r, 0 when
 * the message is not (or no longer) queued, -1 with *error_r. */
int queue_ctl_read(const char *qid, struct ctl_file **ctl_r,
		   const char **error_r);
/* Appends len bytes of records to qid's control file and fdatasyncs it.
 * Returns 0, or -1 with *error_r. */
int queue_ctl_append(const char *qid, const char *text, size_t len,
		     const char **error_r);
/* The same without the fdatasync: only for records whose loss a retry
 * repairs by itself (courierlocal's S records of Maildir copies, which
 * the P record written durably before the copy lets a retry find). */
int queue_ctl_append_nosync(const char *qid, const char *text, size_t len,
			    const char **error_r);
/* Removes a message: the control file first, then the data file, then
 * the bucket if it became empty and is old.  Returns 0 (also when it was
 * already gone), or -1 with *error_r. */
int queue_remove(const char *qid, const char **error_r);
/* The size of qid's data file, or -1. */
off_t queue_data_size(const char *qid);

/* Calls callback(qid) for every queued message (every control file of
 * every bucket), buckets oldest first; callback returns 0 to go on.
 * Returns 0, or -1 with *error_r when a folder cannot be read. */
typedef int queue_scan_callback_t(const char *qid, void *context);
int queue_scan(queue_scan_callback_t *callback, void *context,
	       const char **error_r);

/* Removes tmp/ files and data files without a control file that are
 * older than max_age seconds (what a crashed submit left), and empty old
 * buckets.  Returns the number of files removed. */
unsigned int queue_clean_stale(time_t max_age);

/* ---- waking courierd ---- */

/* The trigger FIFO's path (caller frees). */
char *queue_trigger_path(void);
/* Writes one command line ("N<qid>" new message, "F" flush all,
 * "F<qid>" flush one) to the trigger FIFO without blocking.  Returns 1
 * when written, 0 when courierd does not listen (no reader), -1 with
 * *error_r on other errors.  A lost trigger only delays delivery:
 * courierd rescans the queue regularly. */
int queue_trigger(const char *line, const char **error_r);

#endif
