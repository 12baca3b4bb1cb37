/* cmd-acl.c: GETACL, SETACL, DELETEACL, LISTRIGHTS and MYRIGHTS
 * (RFC 4314) over the folders' courierimapacl files (imap-acl.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "imap-quote.h"
#include "maildir.h"
#include "mem.h"

/* The folder named by args[0], if it exists and the session may see it;
 * else NULL after a reply.  *rights_r gets the session's rights. */
static char *acl_folder(struct imap_cmd *cmd, size_t want_args,
			unsigned int *rights_r)
{
	const char *error;

	if (cmd->count != want_args) {
		imap_cmd_bad(cmd, "%s takes %zu arguments", cmd->name,
			     want_args);
		return NULL;
	}
	for (size_t i = 0; i < want_args; i++) {
		if (!imap_arg_is_string(&cmd->args[i])) {
			imap_cmd_bad(cmd, "%s takes strings", cmd->name);
			return NULL;
		}
	}
	char *folder = imap_folder_from_client(cmd->client, cmd->args[0].str,
					       &error);
	if (folder == NULL) {
		imap_cmd_no(cmd, "[NONEXISTENT] %s", error);
		return NULL;
	}
	char *dir = imap_folder_dir(cmd->client, folder);
	unsigned int rights = imap_folder_rights(cmd->client, folder);
	bool exists = dir != NULL && maildir_is_maildir(dir);

	free(dir);
	/* without any right the folder is not even there (RFC 4314 4) */
	if (!exists || rights == 0) {
		imap_cmd_no(cmd, "[NONEXISTENT] No such mailbox");
		free(folder);
		return NULL;
	}
	*rights_r = rights;
	return folder;
}

static bool need_admin(struct imap_cmd *cmd, unsigned int rights)
{
	if (rights & IMAP_ACL_ADMIN)
		return true;
	imap_cmd_no(cmd, "[NOPERM] No administer right on the mailbox");
	return false;
}

/* "* ACL name id rights ..." */
static void send_acl(struct imap_cmd *cmd, const struct imap_acl *acl)
{
	struct str s;

	str_init(&s, 256);
	str_append(&s, "* ACL ");
	imap_quote_astring(&s, cmd->args[0].str, cmd->client->utf8);
	for (size_t i = 0; i < acl->count; i++) {
		str_append_c(&s, ' ');
		imap_quote_astring(&s, acl->entries[i].id, cmd->client->utf8);
		str_append_c(&s, ' ');
		size_t mark = str_len(&s);
		imap_acl_rights_append(&s, acl->entries[i].rights, false);
		if (str_len(&s) == mark)
			str_append(&s, "\"\"");
	}
	str_append(&s, "\r\n");
	imap_client_write(cmd->client, str_c(&s), str_len(&s));
	str_free(&s);
}

void cmd_getacl(struct imap_cmd *cmd)
{
	unsigned int rights;
	char *folder = acl_folder(cmd, 1, &rights);
	struct imap_acl acl;

	if (folder == NULL)
		return;
	if (need_admin(cmd, rights)) {
		(void)imap_folder_acl_load(cmd->client, folder, &acl);
		send_acl(cmd, &acl);
		imap_acl_free(&acl);
		imap_cmd_ok(cmd, "GETACL completed");
	}
	free(folder);
}

/* Writes folder's new ACL (its own file from now on). */
static void write_acl(struct imap_cmd *cmd, const char *folder,
		      const struct imap_acl *acl)
{
	const char *error;
	char *dir = imap_folder_dir(cmd->client, folder);

	if (dir == NULL || imap_acl_write_dir(dir, acl, &error) < 0)
		imap_cmd_no(cmd, "[SERVERBUG] Cannot write the ACL");
	else
		imap_cmd_ok(cmd, "%s completed", cmd->name);
	free(dir);
}

void cmd_setacl(struct imap_cmd *cmd)
{
	unsigned int rights, mod;
	char *folder = acl_folder(cmd, 3, &rights);

	if (folder == NULL)
		return;
	char *id = imap_acl_id_from_client(cmd->args[1].str);
	const char *text = cmd->args[2].str;
	char op = *text == '+' || *text == '-' ? *text++ : '=';
	struct imap_acl acl;

	if (id == NULL) {
		imap_cmd_bad(cmd, "Invalid identifier");
	} else if (imap_acl_rights_parse(text, true, &mod) < 0) {
		imap_cmd_bad(cmd, "Unknown rights in \"%s\" (known: "
				  "lrswipkxtea and c, d)", text);
	} else if (need_admin(cmd, rights)) {
		(void)imap_folder_acl_load(cmd->client, folder, &acl);
		unsigned int cur = imap_acl_get(&acl, id);
		unsigned int now = op == '+' ? cur | mod :
				   op == '-' ? cur & ~mod :
					       mod;
		if (imap_acl_set(&acl, id, now) < 0)
			imap_cmd_no(cmd, "[LIMIT] Too many ACL entries");
		else
			write_acl(cmd, folder, &acl);
		imap_acl_free(&acl);
	}
	free(id);
	free(folder);
}

void cmd_deleteacl(struct imap_cmd *cmd)
{
	unsigned int rights;
	char *folder = acl_folder(cmd, 2, &rights);

	if (folder == NULL)
		return;
	char *id = imap_acl_id_from_client(cmd->args[1].str);
	struct imap_acl acl;

	if (id == NULL) {
		imap_cmd_bad(cmd, "Invalid identifier");
	} else if (need_admin(cmd, rights)) {
		(void)imap_folder_acl_load(cmd->client, folder, &acl);
		(void)imap_acl_remove(&acl, id);
		write_acl(cmd, folder, &acl);
		imap_acl_free(&acl);
	}
	free(id);
	free(folder);
}

void cmd_listrights(struct imap_cmd *cmd)
{
	unsigned int rights;
	char *folder = acl_folder(cmd, 2, &rights);

	if (folder == NULL)
		return;
	char *id = imap_acl_id_from_client(cmd->args[1].str);

	if (id == NULL) {
		imap_cmd_bad(cmd, "Invalid identifier");
	} else if (need_admin(cmd, rights)) {
		struct str s;
		str_init(&s, 128);
		str_append(&s, "* LISTRIGHTS ");
		imap_quote_astring(&s, cmd->args[0].str, cmd->client->utf8);
		str_append_c(&s, ' ');
		imap_quote_astring(&s, cmd->args[1].str, cmd->client->utf8);
		/* the owner always keeps a; everything else is optional,
		 * one right at a time, and c and d as their groups */
		str_append(&s, strcmp(id, "owner") == 0 ? " a" : " \"\"");
		for (const char *p = "lrswipkxte"; *p != '\0'; p++)
			str_printfa(&s, " %c", *p);
		if (strcmp(id, "owner") != 0)
			str_append(&s, " a");
		str_append(&s, " c d\r\n");
		imap_client_write(cmd->client, str_c(&s), str_len(&s));
		str_free(&s);
		imap_cmd_ok(cmd, "LISTRIGHTS completed");
	}
	free(id);
	free(folder);
}

void cmd_myrights(struct imap_cmd *cmd)
{
	unsigned int rights;
	char *folder = acl_folder(cmd, 1, &rights);

	if (folder == NULL)
		return;
	struct str s;
	str_init(&s, 64);
	str_append(&s, "* MYRIGHTS ");
	imap_quote_astring(&s, cmd->args[0].str, cmd->client->utf8);
	str_append_c(&s, ' ');
	imap_acl_rights_append(&s, rights, false);
	str_append(&s, "\r\n");
	imap_client_write(cmd->client, str_c(&s), str_len(&s));
	str_free(&s);
	imap_cmd_ok(cmd, "MYRIGHTS completed");
	free(folder);
}
