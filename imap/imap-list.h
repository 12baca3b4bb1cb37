/* imap-list.h: mailbox patterns and subscriptions (cmd-list.c), shared
 * with cmd-mailbox.c. */
#ifndef IMAP_LIST_H
#define IMAP_LIST_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
