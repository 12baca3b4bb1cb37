/* cmd-select.c: SELECT, EXAMINE, CLOSE, UNSELECT and EXPUNGE (UID
 * EXPUNGE too). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "mem.h"

struct first_unseen_ctx {
	const struct imap_mailbox *mbox;
	uint32_t seq;
};

static int first_unseen_cb(const struct mail_index_record *rec, void *context)
{
	struct first_unseen_ctx *ctx = context;

	if ((rec->flags & MAIL_INDEX_SEEN) != 0)
		return 0;
	ctx->seq = imap_mailbox_seq(ctx->mbox, rec->uid);
	return ctx->seq != 0 ? 1 : 0;
}

static void select_common(struct imap_cmd *cmd, bool readonly)
{
	struct imap_client *client = cmd->client;
	struct imap_mailbox *mbox;
	struct mail_index_status st;
	const char *error;

	if (cmd->count < 1 || !imap_arg_is_string(&cmd->args[0])) {
		imap_cmd_bad(cmd, "%s takes a mailbox name", cmd->name);
		return;
	}
	/* the old mailbox is closed even when the new one fails */
	if (client->mbox != NULL) {
		imap_mailbox_close(&client->mbox);
		imap_client_send(client, "* OK [CLOSED] Previous mailbox "
					 "closed");
	}
	client->state = IMAP_STATE_AUTH;
	if (imap_mailbox_open(client, cmd->args[0].str, readonly, &mbox,
			      &error) < 0) {
		imap_cmd_no(cmd, "[NONEXISTENT] %s", error);
		return;
	}
	if (mail_index_get_status(mbox->index, &st, &error) < 0) {
		imap_mailbox_close(&mbox);
		imap_cmd_no(cmd, "[SERVERBUG] %s", error);
		return;
	}
	struct str s;
	str_init(&s, 512);
	str_append(&s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
		       "\\Draft");
	size_t nkw = mail_index_keyword_count(mbox->index);
	for (uint32_t i = 0; i < nkw; i++) {
		const char *kw = mail_index_keyword_name(mbox->index, i);
		if (kw != NULL)
			str_printfa(&s, " %s", kw);
	}
	str_append(&s, ")\r\n");
	size_t recent = 0;
	for (size_t i = mbox->count; i > 0 &&
				     mbox->uids[i - 1] >= mbox->first_recent;
	     i--)
		recent++;
	mbox->recent_sent = recent;
	str_printfa(&s, "* %zu EXISTS\r\n* %zu RECENT\r\n", mbox->count,
		    recent);
	struct first_unseen_ctx fu = { .mbox = mbox };
	if (st.seen < st.messages &&
	    mail_index_iterate(mbox->index, 1, UINT32_MAX, first_unseen_cb,
			       &fu, &error) > 0)
		str_printfa(&s, "* OK [UNSEEN %u] First unseen\r\n", fu.seq);
	str_printfa(&s, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
			"* OK [UIDNEXT %u] Predicted next UID\r\n"
			"* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    st.uidvalidity, st.uidnext,
		    (unsigned long long)st.highestmodseq);
	str_append(&s, readonly ? "* OK [PERMANENTFLAGS ()] Read-only\r\n" :
		   "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
		   "\\Seen \\Draft \\*)] Flags permitted\r\n");
	imap_client_write(client, str_c(&s), str_len(&s));
	str_free(&s);
	client->mbox = mbox;
	client->state = IMAP_STATE_SELECTED;
	imap_cmd_ok(cmd, "[%s] %s completed", readonly ? "READ-ONLY" :
			 "READ-WRITE", cmd->name);
}

void cmd_select(struct imap_cmd *cmd)
{
	select_common(cmd, false);
}

void cmd_examine(struct imap_cmd *cmd)
{
	select_common(cmd, true);
}

struct deleted_ctx {
	uint32_t *uids;
	size_t count;
	const struct imap_seqset *only;	/* UID EXPUNGE */
};

static int deleted_cb(const struct mail_index_record *rec, void *context)
{
	struct deleted_ctx *ctx = context;

	if ((rec->flags & MAIL_INDEX_DELETED) == 0)
		return 0;
	if (ctx->only != NULL &&
	    !imap_seqset_contains(ctx->only, rec->uid, UINT32_MAX))
		return 0;
	ctx->uids = xreallocarray(ctx->uids, ctx->count + 1,
				  sizeof(*ctx->uids));
	ctx->uids[ctx->count++] = rec->uid;
	return 0;
}

/* Expunges the \Deleted messages (of only, when not NULL).  -1 on error. */
static int expunge_deleted(struct imap_client *client,
			   const struct imap_seqset *only)
{
	struct deleted_ctx ctx = { .only = only };
	const char *error;
	int ret = 0;

	if (mail_index_iterate(client->mbox->index, 1, UINT32_MAX, deleted_cb,
			       &ctx, &error) < 0 ||
	    (ctx.count > 0 && mail_index_expunge(client->mbox->index, ctx.uids,
						 ctx.count, NULL, &error) < 0))
		ret = -1;
	free(ctx.uids);
	return ret;
}

void cmd_close(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;

	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "CLOSE takes no arguments");
		return;
	}
	if (!client->mbox->readonly)
		(void)expunge_deleted(client, NULL);
	imap_mailbox_close(&client->mbox);
	client->state = IMAP_STATE_AUTH;
	imap_cmd_ok(cmd, "CLOSE completed");
}

void cmd_unselect(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "UNSELECT takes no arguments");
		return;
	}
	imap_mailbox_close(&cmd->client->mbox);
	cmd->client->state = IMAP_STATE_AUTH;
	imap_cmd_ok(cmd, "UNSELECT completed");
}

void cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_seqset set;
	const char *error;

	if (cmd->count != (cmd->uid ? 1u : 0u) ||
	    (cmd->uid && cmd->args[0].type != IMAP_ARG_ATOM)) {
		imap_cmd_bad(cmd, cmd->uid ? "UID EXPUNGE takes a UID set" :
					     "EXPUNGE takes no arguments");
		return;
	}
	if (cmd->uid && imap_seqset_parse(cmd->args[0].str, &set, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (cmd->client->mbox->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
	} else if (expunge_deleted(cmd->client, cmd->uid ? &set : NULL) < 0) {
		imap_cmd_no(cmd, "[SERVERBUG] Expunge failed");
	} else {
		imap_cmd_ok(cmd, "EXPUNGE completed");
	}
	if (cmd->uid)
		imap_seqset_free(&set);
}
