/* imap-quota.c: the account's Maildir++ quota for QUOTA, APPEND, COPY,
 * MOVE and EXPUNGE. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "imap-quota.h"
#include "imap-shared.h"
#include "log.h"
#include "maildir-folder.h"
#include "maildir-quota.h"
#include "maildir.h"
#include "mem.h"

/* True when dir is root itself or one of its Maildir++ folders
 * ("root/.Name") other than Trash. */
static bool dir_counts_in(const char *root, const char *dir)
{
	const char *slash = strrchr(dir, '/');
	const char *base = slash != NULL ? slash + 1 : dir;
	size_t n = strlen(root);

	if (n == 0 || strncmp(dir, root, n) != 0 ||
	    (dir[n] != '\0' &&
	     (dir[n] != '/' || dir[n + 1] != '.' ||
	      strchr(dir + n + 1, '/') != NULL)))
		return false;
	return dir[n] == '\0' || strcmp(base, ".Trash") != 0;
}

bool imap_quota_counts(struct imap_client *client, const char *dir)
{
	/* another account's folder (#shared) is not under our quota */
	return client->root != NULL && dir_counts_in(client->root, dir);
}

char *imap_quota_root(struct imap_client *client, const char *dir)
{
	if (imap_quota_counts(client, dir))
		return xstrdup(client->root);
	const struct imap_shared_index *idx = imap_client_shared_index(client);
	for (size_t i = 0; idx != NULL && i < idx->count; i++) {
		const char *md = idx->accounts[i].maildir;

		if (dir_counts_in(md, dir))
			return xstrdup(md);
	}
	return NULL;
}

/* The quota in force in maildir root: for the session's own, the
 * account's (MAILDIRQUOTA from authlib, as Courier's imapd takes it),
 * else the one in root's maildirsize. */
static int quota_open_root(struct imap_client *client, const char *root,
			   struct maildir_quota **q_r, const char **error_r)
{
	const char *spec = getenv("MAILDIRQUOTA");

	if (root == NULL)
		return 0;
	if (client->root == NULL || strcmp(root, client->root) != 0)
		spec = NULL;
	return maildir_quota_open(root,
				  spec != NULL && *spec != '\0' ? spec : NULL,
				  q_r, error_r);
}

int imap_quota_resources(struct imap_client *client, struct str *out,
			 const char **error_r)
{
	return imap_quota_resources_root(client, client->root, out, error_r);
}

char *imap_quota_shared_root_name(struct imap_client *client,
				  const char *account)
{
	char *folder = xasprintf("%s.%s", IMAP_SHARED_PREFIX, account);
	char *name = imap_folder_to_client(client, folder);

	free(folder);
	return name;
}

/* True when the session has l or r on some folder of account (its
 * maildir md): what makes its quota root visible. */
static bool shared_account_visible(struct imap_client *client,
				   const char *account, const char *md)
{
	struct maildir_folder_list *list;
	const char *error;
	char *folder = xasprintf("%s.%s.INBOX", IMAP_SHARED_PREFIX, account);
	bool seen = (imap_folder_rights(client, folder) &
		     (IMAP_ACL_LOOKUP | IMAP_ACL_READ)) != 0;

	free(folder);
	if (seen || maildir_folder_list(md, &list, &error) < 0)
		return seen;
	for (size_t i = 0; i < list->count && !seen; i++) {
		folder = xasprintf("%s.%s.%s", IMAP_SHARED_PREFIX, account,
				   list->names[i]);
		seen = (imap_folder_rights(client, folder) &
			(IMAP_ACL_LOOKUP | IMAP_ACL_READ)) != 0;
		free(folder);
	}
	maildir_folder_list_free(&list);
	return seen;
}

char *imap_quota_shared_root_maildir(struct imap_client *client,
				     const char *root_name)
{
	const char *error, *rest;
	char *folder = imap_folder_from_client(client, root_name, &error);
	const struct imap_shared_index *idx = imap_client_shared_index(client);
	const struct imap_shared_account *acct = NULL;
	size_t n = strlen(IMAP_SHARED_PREFIX);
	char *md = NULL;

	if (folder != NULL && idx != NULL &&
	    strncmp(folder, IMAP_SHARED_PREFIX, n) == 0 && folder[n] == '.')
		acct = imap_shared_index_split(idx, folder + n + 1, &rest);
	/* the account itself, not one of its folders; not our own */
	if (acct != NULL && rest[0] == '\0' &&
	    (client->root == NULL || strcmp(acct->maildir, client->root) != 0) &&
	    shared_account_visible(client, acct->name, acct->maildir))
		md = xstrdup(acct->maildir);
	free(folder);
	return md;
}

int imap_quota_resources_root(struct imap_client *client, const char *root,
			      struct str *out, const char **error_r)
{
	struct maildir_quota *q;
	int64_t bytes, count;
	int ret = quota_open_root(client, root, &q, error_r);

	if (ret <= 0)
		return ret;
	if (maildir_quota_get(q, &bytes, &count, error_r) < 0) {
		maildir_quota_close(&q);
		return -1;
	}
	const struct maildir_quota_spec *spec = maildir_quota_get_spec(q);
	if (bytes < 0)
		bytes = 0;
	if (count < 0)
		count = 0;
	str_append_c(out, '(');
	if (spec->bytes > 0)
		str_printfa(out, "STORAGE %llu %llu",
			    (unsigned long long)((uint64_t)bytes + 1023) / 1024,
			    (unsigned long long)spec->bytes / 1024);
	if (spec->count > 0)
		str_printfa(out, "%sMESSAGE %llu %llu",
			    spec->bytes > 0 ? " " : "",
			    (unsigned long long)count,
			    (unsigned long long)spec->count);
	str_append_c(out, ')');
	maildir_quota_close(&q);
	return 1;
}

int imap_quota_check_root(struct imap_client *client, const char *root,
			  uint64_t bytes, uint64_t count,
			  const char **error_r)
{
	struct maildir_quota *q;
	int ret = quota_open_root(client, root, &q, error_r);

	if (ret <= 0)
		return ret < 0 ? -1 : 1;
	if (bytes > INT64_MAX || count > INT64_MAX)
		ret = 0;
	else
		ret = maildir_quota_check(q, (int64_t)bytes, (int64_t)count,
					  error_r);
	maildir_quota_close(&q);
	return ret;
}

int imap_quota_check(struct imap_client *client, uint64_t bytes,
		     uint64_t count, const char **error_r)
{
	return imap_quota_check_root(client, client->root, bytes, count,
				     error_r);
}

void imap_quota_update_root(struct imap_client *client, const char *root,
			    int64_t bytes, int64_t count)
{
	struct maildir_quota *q;
	const char *error;
	int ret;

	if ((bytes == 0 && count == 0) || root == NULL)
		return;
	ret = quota_open_root(client, root, &q, &error);
	if (ret > 0) {
		if (maildir_quota_add(q, bytes, count, &error) < 0)
			ret = -1;
		maildir_quota_close(&q);
	}
	if (ret < 0)
		log_warning("imap: quota of %s not updated: %s", root, error);
}

void imap_quota_update(struct imap_client *client, int64_t bytes,
		       int64_t count)
{
	imap_quota_update_root(client, client->root, bytes, count);
}

/* Deletes the messages of maildir dir changed before cutoff; adds their
 * number and size to *count and *bytes. */
static void empty_folder(const char *dir, time_t cutoff, int64_t *count,
			 int64_t *bytes)
{
	struct maildir_list *list;
	const char *error;
	int fds[2];

	struct stat dst;
	if (stat(dir, &dst) < 0) {
		if (errno != ENOENT)
			log_warning("imap: IMAP_EMPTYTRASH: %s: %m", dir);
		return;
	}
	if (maildir_list(dir, &list, &error) < 0) {
		log_warning("imap: IMAP_EMPTYTRASH: %s: %s", dir, error);
		return;
	}
	char *cur = xasprintf("%s/cur", dir), *new = xasprintf("%s/new", dir);
	fds[0] = open(cur, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds[1] = open(new, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < list->count; i++) {
		const struct maildir_entry *e = &list->entries[i];
		int fd = fds[e->in_new ? 1 : 0];
		struct stat st;

		if (fd < 0 || fstatat(fd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_ctime >= cutoff)
			continue;
		if (unlinkat(fd, e->name, 0) < 0) {
			if (errno != ENOENT)
				log_warning("imap: IMAP_EMPTYTRASH: cannot "
					    "delete %s/%s: %m",
					    e->in_new ? new : cur, e->name);
			continue;
		}
		*count += 1;
		*bytes += e->has_size && e->size <= INT64_MAX ?
				  (int64_t)e->size :
				  (int64_t)st.st_size;
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(cur);
	free(new);
	maildir_list_free(&list);
}

size_t imap_quota_empty_trash(struct imap_client *client, time_t now)
{
	const struct imap_settings *set = client->set;
	size_t total = 0;

	if (client->root == NULL)
		return 0;
	for (size_t i = 0; i < set->empty_trash_count; i++) {
		const struct imap_emptytrash_rule *r =
			&set->empty_trash_rules[i];
		char *dir = strcmp(r->folder, "INBOX") == 0 ?
				    xstrdup(client->root) :
				    maildir_folder_path(client->root,
							r->folder);
		int64_t count = 0, bytes = 0;

		if (dir == NULL)
			continue;
		empty_folder(dir, now - (time_t)r->days * 86400, &count,
			     &bytes);
		if (count > 0) {
			log_info("imap: user=%s: IMAP_EMPTYTRASH deleted %lld "
				 "messages older than %u days from %s",
				 client->user != NULL ? client->user : "-",
				 (long long)count, r->days, r->folder);
			if (imap_quota_counts(client, dir))
				imap_quota_update(client, -bytes, -count);
			total += (size_t)count;
		}
		free(dir);
	}
	return total;
}
