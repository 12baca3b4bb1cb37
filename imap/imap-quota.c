/* imap-quota.c: the account's Maildir++ quota for QUOTA, APPEND, COPY,
 * MOVE and EXPUNGE. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "imap-quota.h"
#include "imap-shared.h"
#include "log.h"
#include "maildir-quota.h"
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

static int quota_open(struct imap_client *client, struct maildir_quota **q_r,
		      const char **error_r)
{
	return quota_open_root(client, client->root, q_r, error_r);
}

int imap_quota_resources(struct imap_client *client, struct str *out,
			 const char **error_r)
{
	struct maildir_quota *q;
	int64_t bytes, count;
	int ret = quota_open(client, &q, error_r);

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
