/* imap-mailbox.h: folder names as clients see them, and the selected
 * mailbox: the session's view of a folder's index (its sequence numbers)
 * and the untagged updates that keep a client in step with changes made
 * by other sessions and by deliveries. */
#ifndef IMAP_MAILBOX_H
#define IMAP_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-seqset.h"
#include "mail-index.h"

struct imap_client;

struct imap_mailbox {
	struct mail_index *index;
	char *name;		/* as the client named it */
	char *dir;
	bool readonly;
	uint32_t *uids;		/* sequence number n is uids[n - 1] */
	size_t count;
	uint32_t first_recent;	/* UIDs from here are \Recent to us */
	uint64_t modseq;	/* changes up to here were reported */
	uint32_t uidvalidity;
	size_t recent_sent;	/* last RECENT count sent */
};

/* The folder name (UTF-8, '.'-separated, "" for INBOX) for a client's
 * mailbox name (modified UTF-7 unless UTF8=ACCEPT, with the namespace
 * prefix), caller frees; NULL with *error_r for names outside the
 * namespace or invalid. */
char *imap_folder_from_client(struct imap_client *client, const char *name,
			      const char **error_r);
/* The client's name for folder (UTF-8, "" for INBOX), caller frees. */
char *imap_folder_to_client(struct imap_client *client, const char *folder);
/* The directory of folder under the client's root, caller frees. */
char *imap_folder_dir(struct imap_client *client, const char *folder);

/* Opens the named folder's index and builds the view; sends nothing.
 * Returns 0, or -1 with *error_r (no such mailbox, index failure). */
int imap_mailbox_open(struct imap_client *client, const char *name,
		      bool readonly, struct imap_mailbox **mbox_r,
		      const char **error_r);
void imap_mailbox_close(struct imap_mailbox **mbox);

/* Syncs the index with the maildir and sends what changed since the last
 * call: "* n EXPUNGE" (only when expunge_ok; else the view keeps the
 * expunged messages), "* n EXISTS", "* n RECENT", "* n FETCH (FLAGS ..)".
 * Returns 0 or -1. */
int imap_mailbox_sync(struct imap_client *client, bool expunge_ok);
/* The sequence number of uid in the view, 0 when not in it. */
uint32_t imap_mailbox_seq(const struct imap_mailbox *mbox, uint32_t uid);
/* The UIDs of the view matching set (sequence numbers, or UIDs when
 * uid_mode), ascending; *uids_r caller frees. */
void imap_mailbox_resolve(const struct imap_mailbox *mbox,
			  const struct imap_seqset *set, bool uid_mode,
			  uint32_t **uids_r, size_t *count_r);
/* Appends "(\Seen \Answered ... keyword ...)" for a record. */
void imap_mailbox_flags(const struct imap_mailbox *mbox,
			const struct mail_index_record *rec,
			struct str *out);

#endif
