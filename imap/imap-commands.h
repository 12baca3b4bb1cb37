/* imap-commands.h: the command table and what a command handler gets.
 *
 * Each command is one entry: its name, its handler and flags saying in
 * which states it may run; the dispatcher in imap-client.c enforces the
 * flags once, so handlers only parse their arguments and act.  Handlers
 * live one per file (or per small group) in cmd-*.c. */
#ifndef IMAP_COMMANDS_H
#define IMAP_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-parser.h"
#include "str.h"

struct imap_client;

enum imap_command_flags {
	IMAP_CMD_NOT_AUTH = 0x01,	/* allowed before login */
	IMAP_CMD_AUTH = 0x02,		/* allowed once logged in */
	IMAP_CMD_SELECTED = 0x04,	/* needs a selected mailbox */
	IMAP_CMD_UID = 0x08,		/* has a UID variant */
	/* untagged EXPUNGE may not be sent after it (RFC 3501 7.4.1) */
	IMAP_CMD_NO_EXPUNGE = 0x10,
	IMAP_CMD_ANY = IMAP_CMD_NOT_AUTH | IMAP_CMD_AUTH,
};

/* One command being run. */
struct imap_cmd {
	struct imap_client *client;
	const char *tag;
	const char *name;	/* as the table spells it */
	const struct imap_arg *args;	/* after the name (and UID) */
	size_t count;
	bool uid;		/* UID FETCH, UID STORE... */
};

typedef void imap_command_func(struct imap_cmd *cmd);

struct imap_command {
	const char *name;
	imap_command_func *func;
	unsigned int flags;	/* enum imap_command_flags */
};

/* The entry for name (case-insensitive), or NULL. */
const struct imap_command *imap_command_find(const char *name);

/* The handlers (cmd-*.c). */
imap_command_func cmd_capability, cmd_noop, cmd_logout, cmd_id, cmd_enable;
imap_command_func cmd_starttls, cmd_login, cmd_authenticate;
imap_command_func cmd_list, cmd_lsub, cmd_namespace;
imap_command_func cmd_create, cmd_delete, cmd_rename, cmd_subscribe,
	cmd_unsubscribe, cmd_status;
imap_command_func cmd_select, cmd_examine, cmd_close, cmd_unselect, cmd_check,
	cmd_expunge;
imap_command_func cmd_search, cmd_sort, cmd_thread, cmd_cancelupdate;
imap_command_func cmd_fetch;
imap_command_func cmd_store, cmd_copy, cmd_move, cmd_append, cmd_idle;
imap_command_func cmd_getquota, cmd_getquotaroot;
imap_command_func cmd_compress;
imap_command_func cmd_getacl, cmd_setacl, cmd_deleteacl, cmd_listrights,
	cmd_myrights;

#endif
