/* cmd-misc.c: CAPABILITY, NOOP, CHECK, LOGOUT, ID and ENABLE. */
#include "config.h"

#include <string.h>

#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "imap-quote.h"

void cmd_capability(struct imap_cmd *cmd)
{
	struct str s;

	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "CAPABILITY takes no arguments");
		return;
	}
	str_init(&s, 256);
	str_append(&s, "* CAPABILITY ");
	imap_client_capability(cmd->client, &s);
	imap_client_send(cmd->client, str_c(&s));
	str_free(&s);
	imap_cmd_ok(cmd, "CAPABILITY completed");
}

void cmd_noop(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "%s takes no arguments", cmd->name);
		return;
	}
	imap_cmd_ok(cmd, "%s completed", cmd->name);
}

void cmd_check(struct imap_cmd *cmd)
{
	cmd_noop(cmd);
}

void cmd_logout(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "LOGOUT takes no arguments");
		return;
	}
	/* what the session left for an idle moment is done before the
	 * answer: a client that looks at the maildir next finds it done */
	imap_mailbox_idle_work_finish(cmd->client->mbox);
	imap_client_send(cmd->client, "* BYE Logging out");
	imap_cmd_ok(cmd, "LOGOUT completed");
	imap_client_close(cmd->client);
}

void cmd_id(struct imap_cmd *cmd)
{
	const struct imap_arg *a = cmd->args;

	if (cmd->count != 1 ||
	    (a->type != IMAP_ARG_NIL && a->type != IMAP_ARG_LIST) ||
	    (a->type == IMAP_ARG_LIST && (a->list_count % 2 != 0 ||
					  a->list_count > 60))) {
		imap_cmd_bad(cmd, "ID takes NIL or a list of field/value pairs");
		return;
	}
	imap_client_send(cmd->client, "* ID (\"name\" \"Courier-suite\")");
	imap_cmd_ok(cmd, "ID completed");
}

void cmd_enable(struct imap_cmd *cmd)
{
	struct str s;

	if (cmd->count == 0) {
		imap_cmd_bad(cmd, "ENABLE needs capability names");
		return;
	}
	str_init(&s, 64);
	str_append(&s, "* ENABLED");
	for (size_t i = 0; i < cmd->count; i++) {
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			str_free(&s);
			imap_cmd_bad(cmd, "ENABLE takes atoms");
			return;
		}
		struct imap_client *client = cmd->client;
		const struct imap_arg *a = &cmd->args[i];

		/* each one named once in ENABLED, when newly enabled */
		if (imap_arg_atom_equals(a, "UTF8=ACCEPT") && !client->utf8) {
			client->utf8 = true;
			str_append(&s, " UTF8=ACCEPT");
		} else if (imap_arg_atom_equals(a, "CONDSTORE") &&
			   !client->condstore) {
			client->condstore = true;
			str_append(&s, " CONDSTORE");
		} else if (imap_arg_atom_equals(a, "QRESYNC") &&
			   !client->qresync) {
			/* QRESYNC implies CONDSTORE (RFC 7162 3.2.3) */
			client->qresync = true;
			client->condstore = true;
			str_append(&s, " QRESYNC");
		} else if (imap_arg_atom_equals(a, "IMAP4rev2") &&
			   !client->imap4rev2) {
			/* RFC 9051: no \Recent nor RECENT, SEARCH answers
			 * ESEARCH, mailbox names in UTF-8 */
			client->imap4rev2 = true;
			client->utf8 = true;
			if (client->mbox != NULL)
				client->mbox->no_recent = true;
			str_append(&s, " IMAP4rev2");
		}
	}
	imap_client_send(cmd->client, str_c(&s));
	str_free(&s);
	imap_cmd_ok(cmd, "ENABLE completed");
}
