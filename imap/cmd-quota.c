/* cmd-quota.c: GETQUOTA and GETQUOTAROOT (RFC 9208) over the Maildir++
 * quota: one root, "". */
#include "config.h"

#include <stdlib.h>

#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "imap-quota.h"
#include "imap-quote.h"
#include "maildir.h"
#include "mem.h"

void cmd_getquota(struct imap_cmd *cmd)
{
	const char *error;
	struct str s;

	if (cmd->count != 1 || !imap_arg_is_string(&cmd->args[0])) {
		imap_cmd_bad(cmd, "GETQUOTA takes a quota root");
		return;
	}
	str_init(&s, 128);
	str_append(&s, "* QUOTA \"\" ");
	int ret = cmd->args[0].str[0] != '\0' ? 0 :
		  imap_quota_resources(cmd->client, &s, &error);
	if (ret > 0)
		imap_client_send(cmd->client, str_c(&s));
	str_free(&s);
	if (ret > 0)
		imap_cmd_ok(cmd, "GETQUOTA completed");
	else if (ret == 0)
		imap_cmd_no(cmd, "[NONEXISTENT] No such quota root");
	else
		imap_cmd_no(cmd, "[SERVERBUG] %s", error);
}

void cmd_getquotaroot(struct imap_cmd *cmd)
{
	const char *error;

	if (cmd->count != 1 || !imap_arg_is_string(&cmd->args[0])) {
		imap_cmd_bad(cmd, "GETQUOTAROOT takes a mailbox name");
		return;
	}
	char *folder = imap_folder_from_client(cmd->client, cmd->args[0].str,
					       &error);
	char *dir = folder != NULL ? imap_folder_dir(cmd->client, folder) :
				     NULL;
	if (dir == NULL || !maildir_is_maildir(dir)) {
		free(folder);
		free(dir);
		imap_cmd_no(cmd, "[NONEXISTENT] No such mailbox");
		return;
	}
	struct str s, res;
	str_init(&s, 128);
	str_init(&res, 64);
	int ret = imap_quota_resources(cmd->client, &res, &error);
	char *name = imap_folder_to_client(cmd->client, folder);
	str_append(&s, "* QUOTAROOT ");
	imap_quote_astring(&s, name, cmd->client->utf8);
	/* Trash is not under the quota */
	bool rooted = ret > 0 && imap_quota_counts(cmd->client, dir);
	if (rooted)
		str_printfa(&s, " \"\"\r\n* QUOTA \"\" %s", str_c(&res));
	imap_client_send(cmd->client, str_c(&s));
	str_free(&s);
	str_free(&res);
	free(name);
	free(folder);
	free(dir);
	if (ret < 0)
		imap_cmd_no(cmd, "[SERVERBUG] %s", error);
	else
		imap_cmd_ok(cmd, "GETQUOTAROOT completed");
}
