/* cmd-quota.c: GETQUOTA and GETQUOTAROOT (RFC 9208) over the Maildir++
 * quota: the root "" for the account's own folders, and "#shared.ACCOUNT"
 * (the owner's maildirsize) for another account's virtual shared
 * folders. */
#include "config.h"

#include <stdlib.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "imap-quota.h"
#include "imap-quote.h"
#include "maildir.h"
#include "mem.h"

void cmd_getquota(struct imap_cmd *cmd)
{
	const char *error = NULL;
	struct str s;
	char *md = NULL;
	int ret;

	if (cmd->count != 1 || !imap_arg_is_string(&cmd->args[0])) {
		imap_cmd_bad(cmd, "GETQUOTA takes a quota root");
		return;
	}
	const char *root = cmd->args[0].str;
	str_init(&s, 128);
	str_append(&s, "* QUOTA ");
	if (root[0] == '\0') {
		str_append(&s, "\"\" ");
		ret = imap_quota_resources(cmd->client, &s, &error);
	} else if ((md = imap_quota_shared_root_maildir(cmd->client, root)) !=
		   NULL) {
		/* a shared folders' owner: his maildirsize */
		imap_quote_cstr(&s, root, cmd->client->utf8);
		str_append_c(&s, ' ');
		ret = imap_quota_resources_root(cmd->client, md, &s, &error);
	} else {
		ret = 0;
	}
	if (ret > 0)
		imap_client_send(cmd->client, str_c(&s));
	str_free(&s);
	free(md);
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
	char *root_name = NULL, *qroot = NULL;
	int ret = 0;

	if (imap_folder_is_shared(folder)) {
		/* another account's folder (RFC 9208 section 3.2 lets a
		 * server have a root per account): its owner's quota, seen
		 * by those who may see the folder */
		struct imap_folder_loc loc;

		if ((imap_folder_rights(cmd->client, folder) &
		     (IMAP_ACL_LOOKUP | IMAP_ACL_READ)) == 0 ||
		    imap_folder_locate(cmd->client, folder, &loc) <= 0) {
			free(folder);
			free(dir);
			imap_cmd_no(cmd, "[NONEXISTENT] No such mailbox");
			return;
		}
		qroot = imap_quota_root(cmd->client, dir);
		if (qroot != NULL)
			root_name = imap_quota_shared_root_name(cmd->client,
								loc.owner);
		imap_folder_loc_free(&loc);
	} else if (imap_quota_counts(cmd->client, dir)) {
		/* Trash is not under the quota */
		qroot = xstrdup(cmd->client->root);
		root_name = xstrdup("");
	}
	str_init(&s, 128);
	str_init(&res, 64);
	if (qroot != NULL)
		ret = imap_quota_resources_root(cmd->client, qroot, &res,
						&error);
	char *name = imap_folder_to_client(cmd->client, folder);
	/* "QUOTAROOT" SP mailbox *(SP quota-root-name), then the "QUOTA"
	 * responses of its roots (RFC 9208 sections 4.3 and 5.2) */
	str_append(&s, "* QUOTAROOT ");
	imap_quote_astring(&s, name, cmd->client->utf8);
	if (ret > 0) {
		str_append_c(&s, ' ');
		imap_quote_cstr(&s, root_name, cmd->client->utf8);
		str_append(&s, "\r\n* QUOTA ");
		imap_quote_cstr(&s, root_name, cmd->client->utf8);
		str_printfa(&s, " %s", str_c(&res));
	}
	imap_client_send(cmd->client, str_c(&s));
	str_free(&s);
	str_free(&res);
	free(name);
	free(folder);
	free(dir);
	free(qroot);
	free(root_name);
	if (ret < 0)
		imap_cmd_no(cmd, "[SERVERBUG] %s", error);
	else
		imap_cmd_ok(cmd, "GETQUOTAROOT completed");
}
