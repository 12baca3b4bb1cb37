/* imap-commands.c: the IMAP command table. */
#include "config.h"

#include <stdlib.h>
#include <strings.h>

#include "imap-commands.h"
#include "mem.h"

#define SEL (IMAP_CMD_AUTH | IMAP_CMD_SELECTED)

static const struct imap_command commands[] = {
	{ "CAPABILITY", cmd_capability, IMAP_CMD_ANY },
	{ "NOOP", cmd_noop, IMAP_CMD_ANY },
	{ "LOGOUT", cmd_logout, IMAP_CMD_ANY },
	{ "ID", cmd_id, IMAP_CMD_ANY },
	{ "STARTTLS", cmd_starttls, IMAP_CMD_NOT_AUTH },
	{ "LOGIN", cmd_login, IMAP_CMD_NOT_AUTH },
	{ "AUTHENTICATE", cmd_authenticate, IMAP_CMD_NOT_AUTH },
	{ "ENABLE", cmd_enable, IMAP_CMD_AUTH },
	{ "LIST", cmd_list, IMAP_CMD_AUTH },
	{ "LSUB", cmd_lsub, IMAP_CMD_AUTH },
	{ "NAMESPACE", cmd_namespace, IMAP_CMD_AUTH },
	{ "CREATE", cmd_create, IMAP_CMD_AUTH },
	{ "DELETE", cmd_delete, IMAP_CMD_AUTH },
	{ "RENAME", cmd_rename, IMAP_CMD_AUTH },
	{ "SUBSCRIBE", cmd_subscribe, IMAP_CMD_AUTH },
	{ "UNSUBSCRIBE", cmd_unsubscribe, IMAP_CMD_AUTH },
	{ "STATUS", cmd_status, IMAP_CMD_AUTH },
	{ "SELECT", cmd_select, IMAP_CMD_AUTH },
	{ "EXAMINE", cmd_examine, IMAP_CMD_AUTH },
	{ "CLOSE", cmd_close, SEL },
	{ "UNSELECT", cmd_unselect, SEL },
	{ "CHECK", cmd_check, SEL },
	{ "EXPUNGE", cmd_expunge, SEL | IMAP_CMD_UID },
	{ "SEARCH", cmd_search, SEL | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
	{ "SORT", cmd_sort, SEL | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
	{ "THREAD", cmd_thread, SEL | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
	{ "CANCELUPDATE", cmd_cancelupdate, SEL | IMAP_CMD_NO_EXPUNGE },
	{ "FETCH", cmd_fetch, SEL | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
	{ "STORE", cmd_store, SEL | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
	{ "COPY", cmd_copy, SEL | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
	{ "MOVE", cmd_move, SEL | IMAP_CMD_UID },
	{ "APPEND", cmd_append, IMAP_CMD_AUTH },
	{ "IDLE", cmd_idle, IMAP_CMD_AUTH },
	{ "GETQUOTA", cmd_getquota, IMAP_CMD_AUTH },
	{ "GETQUOTAROOT", cmd_getquotaroot, IMAP_CMD_AUTH },
	{ "COMPRESS", cmd_compress, IMAP_CMD_AUTH },
	{ "GETACL", cmd_getacl, IMAP_CMD_AUTH },
	{ "SETACL", cmd_setacl, IMAP_CMD_AUTH },
	{ "DELETEACL", cmd_deleteacl, IMAP_CMD_AUTH },
	{ "LISTRIGHTS", cmd_listrights, IMAP_CMD_AUTH },
	{ "MYRIGHTS", cmd_myrights, IMAP_CMD_AUTH },
};

const struct imap_command *imap_command_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(commands); i++) {
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}
