/* cmd-store.c: STORE and UID STORE (RFC 3501 6.4.6, UNCHANGEDSINCE of
 * RFC 7162). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-flags.h"
#include "imap-mailbox.h"
#include "mem.h"

void cmd_store(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	struct imap_mailbox *mbox = client->mbox;
	const struct imap_arg *args = cmd->args;
	size_t count = cmd->count;
	struct imap_seqset set;
	struct imap_flags flags;
	struct mail_index_change change = { .mode = MAIL_INDEX_MODIFY_REPLACE };
	const char *error, *item;
	bool silent = false;

	if (count < 3 || args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "STORE takes a set, an item and flags");
		return;
	}
	if (imap_mailbox_parse_set(mbox, args[0].str, cmd->uid, &set,
				   &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	args++;
	count--;
	if (args[0].type == IMAP_ARG_LIST) {
		const struct imap_arg *m = args[0].list;
		char *end;
		if (args[0].list_count != 2 ||
		    !imap_arg_atom_equals(&m[0], "UNCHANGEDSINCE") ||
		    m[1].type != IMAP_ARG_ATOM || m[1].str[0] < '0' ||
		    m[1].str[0] > '9' ||
		    (change.unchangedsince = strtoull(m[1].str, &end, 10),
		     *end != '\0')) {
			imap_seqset_free(&set);
			imap_cmd_bad(cmd, "Bad STORE modifier");
			return;
		}
		/* 0: no message qualifies (marked UINT64_MAX here, as
		 * 0 means "no condition" to the index) */
		if (change.unchangedsince == 0)
			change.unchangedsince = UINT64_MAX;
		client->condstore = true;	/* RFC 7162 3.1 */
		args++;
		count--;
	}
	item = args[0].type == IMAP_ARG_ATOM ? args[0].str : "";
	if (*item == '+') {
		change.mode = MAIL_INDEX_MODIFY_ADD;
		item++;
	} else if (*item == '-') {
		change.mode = MAIL_INDEX_MODIFY_REMOVE;
		item++;
	}
	if (strcasecmp(item, "FLAGS.SILENT") == 0) {
		silent = true;
	} else if (strcasecmp(item, "FLAGS") != 0) {
		imap_seqset_free(&set);
		imap_cmd_bad(cmd, "STORE takes FLAGS, +FLAGS or -FLAGS");
		return;
	}
	if (count < 2 ||
	    imap_flags_parse(args + 1, count - 1, true, &flags, &error) < 0) {
		imap_seqset_free(&set);
		imap_flags_free(&flags);
		imap_cmd_bad(cmd, "%s", count < 2 ? "Missing flags" : error);
		return;
	}
	if (mbox->readonly) {
		imap_seqset_free(&set);
		imap_flags_free(&flags);
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	/* FLAGS replaces every flag: it needs every right (RFC 4314 4) */
	unsigned int need = change.mode == MAIL_INDEX_MODIFY_REPLACE ?
		IMAP_ACL_SEEN | IMAP_ACL_DELMSG | IMAP_ACL_WRITE :
		imap_flags_rights(flags.flags, flags.keyword_count);
	if ((need & ~mbox->rights) != 0) {
		imap_seqset_free(&set);
		imap_flags_free(&flags);
		imap_cmd_no(cmd, "[NOPERM] No right to change these flags");
		return;
	}
	uint32_t *uids;
	size_t n;
	imap_mailbox_resolve(mbox, &set, cmd->uid, &uids, &n);
	imap_seqset_free(&set);
	change.flags = flags.flags;
	change.keywords = flags.keywords;
	change.keyword_count = flags.keyword_count;

	struct mail_index_store_result *res =
		n > 0 ? xreallocarray(NULL, n, sizeof(*res)) : NULL;
	int ret = 0;
	if (change.unchangedsince == UINT64_MAX) {
		/* UNCHANGEDSINCE 0: every message has a MODSEQ above it */
		for (size_t i = 0; i < n; i++)
			res[i].status = MAIL_INDEX_STORE_MODIFIED;
	} else if (n > 0) {
		ret = imap_mailbox_store(mbox, uids, n, &change, res, &error);
	}
	imap_flags_free(&flags);
	if (ret < 0) {
		free(uids);
		free(res);
		imap_cmd_no(cmd, "STORE failed: %s", error);
		return;
	}
	struct str out, modified;
	str_init(&out, 1024);
	str_init(&modified, 64);
	for (size_t i = 0; i < n; i++) {
		struct mail_index_record rec;
		uint32_t seq = imap_mailbox_seq(mbox, uids[i]);

		if (res[i].status == MAIL_INDEX_STORE_MODIFIED) {
			str_printfa(&modified, "%s%u",
				    str_len(&modified) > 0 ? "," : "",
				    cmd->uid ? uids[i] : seq);
			continue;
		}
		/* .SILENT: no FLAGS, but with CONDSTORE on the new MODSEQ
		 * of each changed message is still sent (RFC 7162 3.1.3) */
		if (res[i].status == MAIL_INDEX_STORE_GONE ||
		    (silent && res[i].status != MAIL_INDEX_STORE_CHANGED) ||
		    (silent && !client->condstore))
			continue;
		if (mail_index_lookup_uid(mbox->index, uids[i], &rec,
					  &error) <= 0)
			continue;
		str_printfa(&out, "* %u FETCH (", seq);
		if (cmd->uid)
			str_printfa(&out, "UID %u ", uids[i]);
		if (!silent) {
			str_append(&out, "FLAGS ");
			imap_mailbox_flags(mbox, &rec, &out);
		}
		if (client->condstore)
			str_printfa(&out, "%sMODSEQ (%llu)", silent ? "" : " ",
				    (unsigned long long)rec.modseq);
		str_append(&out, ")\r\n");
	}
	imap_client_write(client, str_c(&out), str_len(&out));
	if (str_len(&modified) > 0)
		imap_cmd_ok(cmd, "[MODIFIED %s] Conditional STORE failed",
			    str_c(&modified));
	else
		imap_cmd_ok(cmd, "STORE completed");
	str_free(&out);
	str_free(&modified);
	free(uids);
	free(res);
}
