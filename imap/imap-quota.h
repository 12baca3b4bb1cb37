/* imap-quota.h: the account's Maildir++ quota (lib/maildir-quota.h) as
 * IMAP's QUOTA extension (RFC 9208) sees it: one quota root, "", over the
 * whole maildir, with the resources STORAGE (units of 1024 bytes) and
 * MESSAGE.  As in Courier, messages in Trash do not count. */
#ifndef IMAP_QUOTA_H
#define IMAP_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "str.h"

struct imap_client;

/* True when messages in the folder directory dir count against the
 * session's quota (every folder of its own maildir but Trash; not
 * another account's shared folder). */
bool imap_quota_counts(struct imap_client *client, const char *dir);
/* Appends "(STORAGE used limit MESSAGE used limit)" (only the resources
 * that have a limit) for the account.  Returns 1, 0 when the account has
 * no quota (nothing appended), -1 with *error_r. */
int imap_quota_resources(struct imap_client *client, struct str *out,
			 const char **error_r);
/* The same for the quota of maildir root (imap_quota_root()): the
 * session's own takes the account's MAILDIRQUOTA, another account's
 * only its maildirsize. */
int imap_quota_resources_root(struct imap_client *client, const char *root,
			      struct str *out, const char **error_r);
/* The quota root of a virtual shared folder's owner (RFC 9208 allows a
 * root per account): the session's name for "#shared.ACCOUNT", caller
 * frees. */
char *imap_quota_shared_root_name(struct imap_client *client,
				  const char *account);
/* For GETQUOTA of such a root: the maildir of the account that the
 * client's root name names ("#shared.ACCOUNT"), caller frees, when the
 * session sees at least one of that account's folders (ACL l or r);
 * NULL otherwise. */
char *imap_quota_shared_root_maildir(struct imap_client *client,
				     const char *root_name);
/* Would adding bytes in count messages go over the quota?  Returns 1 if
 * they fit (or there is no quota), 0 when over quota, -1 with *error_r. */
int imap_quota_check(struct imap_client *client, uint64_t bytes,
		     uint64_t count, const char **error_r);
/* The maildir whose quota covers the folder directory dir, caller
 * frees: the session's own maildir (imap_quota_counts()), or for
 * another account's shared folder that account's maildir (its own
 * maildirsize is then checked and updated, as a delivery would); NULL
 * for Trash and for a directory of neither. */
char *imap_quota_root(struct imap_client *client, const char *dir);
/* imap_quota_check() and imap_quota_update() for the quota of maildir
 * root (imap_quota_root()); only the session's own maildir takes the
 * account's MAILDIRQUOTA, another one has only its maildirsize. */
int imap_quota_check_root(struct imap_client *client, const char *root,
			  uint64_t bytes, uint64_t count,
			  const char **error_r);
void imap_quota_update_root(struct imap_client *client, const char *root,
			    int64_t bytes, int64_t count);
/* Records a change in usage (negative when messages go); a no-op without
 * quota.  Failures are logged: the next recalculation repairs them. */
void imap_quota_update(struct imap_client *client, int64_t bytes,
		       int64_t count);

/* IMAP_EMPTYTRASH, as Courier's imapd does it at login and logout: in
 * each folder of the rules (set->empty_trash_rules) of the session's
 * maildir, deletes the messages (new/ and cur/) whose file was last
 * changed (ctime: when it was moved or copied into the folder, not its
 * internal date) more than the rule's days before now, and takes them
 * off the quota when the folder counts in it (not Trash).  A missing
 * folder is skipped; other failures are logged.  Returns the number of
 * messages deleted. */
size_t imap_quota_empty_trash(struct imap_client *client, time_t now);

#endif
