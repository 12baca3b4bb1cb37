/* unlink-many.h: removes many files at once.
 *
 * On disks where each unlink waits for the device (ext4 mounted with
 * "discard", network block devices), removing files one after the other
 * costs milliseconds each; issued from several threads the waits
 * overlap.  POP3's QUIT and IMAP's EXPUNGE remove thousands of messages
 * in one go. */
#ifndef UNLINK_MANY_H
#define UNLINK_MANY_H

#include <stddef.h>

/* Unlinks paths[0..count-1], from up to UNLINK_MANY_THREADS threads when
 * count is large enough to be worth it (else in this thread).  errnos_r
 * (count entries) gets 0 for each file removed or its errno.  Returns
 * when every unlink is done; no thread is left running. */
void unlink_many(const char *const *paths, size_t count, int *errnos_r);

#define UNLINK_MANY_THREADS 8

#endif
