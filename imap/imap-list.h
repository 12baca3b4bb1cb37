/* imap-list.h: mailbox patterns and subscriptions (cmd-list.c), shared
 * with cmd-mailbox.c. */
#ifndef IMAP_LIST_H
#define IMAP_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

struct imap_arg;
struct imap_client;

/* True when name matches the LIST pattern ('*' anything, '%' anything
 * but the separator '.'). */
bool imap_list_match(const char *pattern, const char *name);
/* The lines of the subscriptions file (caller frees with
 * imap_subscriptions_free()); at most 1 MB is read. */
char **imap_subscriptions_read(struct imap_client *client, size_t *count_r);
void imap_subscriptions_free(char **v, size_t count);
/* Courier's spelling of a folder (UTF-8, "" = INBOX) in that file. */
char *imap_subscription_name(const char *folder);

/* SPECIAL-USE (RFC 6154): the canonical spelling of a use attribute a
 * folder can be given ("\\Sent"...), NULL for one it cannot (\\All,
 * \\Flagged, unknown). */
const char *imap_special_use_canonical(const char *use);
/* Records uses ("\\Sent\n" lines) in folder's "imapspecialuse" file,
 * which LIST reads.  Returns 0 or -1. */
int imap_special_use_write(struct imap_client *client, const char *folder,
			   const char *uses);

/* STATUS (cmd-mailbox.c), also for LIST RETURN (STATUS (...)): appends
 * "* STATUS name (items)\r\n" for folder (UTF-8, "" = INBOX).  Returns
 * 1; 0 with *error_r (NO text with its code) when the folder cannot be
 * read; -1 with *error_r for an unknown item. */
int imap_status_append(struct imap_client *client, const char *folder,
		       const struct imap_arg *items, size_t count,
		       struct str *out, const char **error_r);
/* True when every item is a STATUS item this server knows. */
bool imap_status_items_valid(const struct imap_arg *items, size_t count);

#endif
