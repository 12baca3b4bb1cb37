/* imap-quota.c: the account's Maildir++ quota for QUOTA, APPEND, COPY,
 * MOVE and EXPUNGE. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-client-private.h"
#include "imap-quota.h"
#include "log.h"
#include "maildir-quota.h"

bool imap_quota_counts(struct imap_client *client, const char *dir)
{
	const char *slash = strrchr(dir, '/');
	const char *base = slash != NULL ? slash + 1 : dir;
	size_t n = client->root != NULL ? strlen(client->root) : 0;

	/* another account's folder (#shared) is not under our quota */
	if (client->root == NULL || strncmp(dir, client->root, n) != 0 ||
	    (dir[n] != '\0' &&
	     (dir[n] != '/' || dir[n + 1] != '.' ||
	      strchr(dir + n + 1, '/') != NULL)))
		return false;
	return strcmp(base, ".Trash") != 0;
}

/* The quota in force: the account's (MAILDIRQUOTA from authlib, as
 * Courier's imapd takes it), else the one in maildirsize. */
static int quota_open(struct imap_client *client, struct maildir_quota **q_r,
		      const char **error_r)
{
	const char *spec = getenv("MAILDIRQUOTA");

	if (client->root == NULL)
		return 0;
	return maildir_quota_open(client->root,
				  spec != NULL && *spec != '\0' ? spec : NULL,
				  q_r, error_r);
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

int imap_quota_check(struct imap_client *client, uint64_t bytes,
		     uint64_t count, const char **error_r)
{
	struct maildir_quota *q;
	int ret = quota_open(client, &q, error_r);

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

void imap_quota_update(struct imap_client *client, int64_t bytes,
		       int64_t count)
{
	struct maildir_quota *q;
	const char *error;
	int ret;

	if (bytes == 0 && count == 0)
		return;
	ret = quota_open(client, &q, &error);
	if (ret > 0) {
		if (maildir_quota_add(q, bytes, count, &error) < 0)
			ret = -1;
		maildir_quota_close(&q);
	}
	if (ret < 0)
		log_warning("imap: quota of %s not updated: %s",
			    client->root, error);
}
