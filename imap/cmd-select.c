/* cmd-select.c: SELECT, EXAMINE, CLOSE, UNSELECT and EXPUNGE (UID
 * EXPUNGE too). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "imap-quota.h"
#include "imap-quote.h"
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

/* The QRESYNC parameter of SELECT/EXAMINE (RFC 7162 3.2.5). */
struct qresync_params {
	bool set;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known;	/* count 0: every UID */
};

static int parse_u64(const struct imap_arg *arg, bool nonzero, uint64_t max,
		     uint64_t *v_r)
{
	uint64_t v = 0;

	if (arg->type != IMAP_ARG_ATOM || arg->str[0] == '\0')
		return -1;
	for (const char *p = arg->str; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (nonzero && v == 0)
		return -1;
	*v_r = v;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

/* Sorts and merges the ranges of set (no "*" in it), so that
 * known_contains() can search it. */
static void normalize_set(struct imap_seqset *set)
{
	size_t n = 0;

	for (size_t i = 0; i < set->count; i++) {
		struct imap_seq_range *r = &set->ranges[i];
		if (r->lo > r->hi) {
			uint32_t t = r->lo;
			r->lo = r->hi;
			r->hi = t;
		}
	}
	qsort(set->ranges, set->count, sizeof(*set->ranges), range_cmp);
	for (size_t i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];
		if (n > 0 && (set->ranges[n - 1].hi == UINT32_MAX ||
			      r.lo <= set->ranges[n - 1].hi + 1)) {
			if (r.hi > set->ranges[n - 1].hi)
				set->ranges[n - 1].hi = r.hi;
			continue;
		}
		set->ranges[n++] = r;
	}
	set->count = n;
}

/* "(CONDSTORE)" or "(QRESYNC (uidvalidity modseq [known-uids
 * [(known-seqs known-uids)]]))".  Returns 0 or -1 with *error_r. */
static int parse_select_params(struct imap_cmd *cmd, const struct imap_arg *arg,
			       struct qresync_params *q, const char **error_r)
{
	struct imap_client *client = cmd->client;
	uint64_t v;

	if (arg->type != IMAP_ARG_LIST) {
		*error_r = "SELECT parameters are a list";
		return -1;
	}
	for (size_t i = 0; i < arg->list_count; i++) {
		const struct imap_arg *a = &arg->list[i];

		if (imap_arg_atom_equals(a, "CONDSTORE")) {
			client->condstore = true;
			continue;
		}
		if (!imap_arg_atom_equals(a, "QRESYNC") || q->set ||
		    i + 1 >= arg->list_count) {
			*error_r = "Unknown SELECT parameter";
			return -1;
		}
		if (!client->qresync) {
			*error_r = "QRESYNC is not enabled";
			return -1;
		}
		const struct imap_arg *p = &arg->list[++i];
		if (p->type != IMAP_ARG_LIST || p->list_count < 2 ||
		    p->list_count > 4 ||
		    parse_u64(&p->list[0], true, UINT32_MAX, &v) < 0) {
			*error_r = "QRESYNC takes (uidvalidity modseq "
				   "[known-uids [seq-match-data]])";
			return -1;
		}
		q->uidvalidity = (uint32_t)v;
		if (parse_u64(&p->list[1], false, INT64_MAX, &q->modseq) < 0) {
			*error_r = "Bad QRESYNC mod-sequence";
			return -1;
		}
		size_t k = 2;
		if (k < p->list_count && p->list[k].type == IMAP_ARG_ATOM) {
			if (imap_seqset_parse(p->list[k].str, &q->known,
					      error_r) < 0)
				return -1;
			for (size_t r = 0; r < q->known.count; r++) {
				if (q->known.ranges[r].lo == 0 ||
				    q->known.ranges[r].hi == 0) {
					*error_r = "known-uids may not use *";
					return -1;
				}
			}
			normalize_set(&q->known);
			k++;
		}
		if (k < p->list_count) {
			/* seq-match-data: checked, not needed (the expunge
			 * log is complete since the index was built) */
			const struct imap_arg *m = &p->list[k];
			struct imap_seqset a1, a2;

			if (m->type != IMAP_ARG_LIST || m->list_count != 2 ||
			    m->list[0].type != IMAP_ARG_ATOM ||
			    m->list[1].type != IMAP_ARG_ATOM ||
			    k + 1 != p->list_count) {
				*error_r = "Bad QRESYNC seq-match-data";
				return -1;
			}
			if (imap_seqset_parse(m->list[0].str, &a1, error_r) < 0)
				return -1;
			imap_seqset_free(&a1);
			if (imap_seqset_parse(m->list[1].str, &a2, error_r) < 0)
				return -1;
			imap_seqset_free(&a2);
		}
		q->set = true;
		client->condstore = true;
	}
	return 0;
}

static bool known_contains(const struct qresync_params *q, uint32_t uid)
{
	size_t lo = 0, hi = q->known.count;

	if (q->known.count == 0)
		return true;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct imap_seq_range *r = &q->known.ranges[mid];

		if (uid < r->lo)
			hi = mid;
		else if (uid > r->hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

struct resync_ctx {
	struct imap_client *client;
	const struct qresync_params *q;
	uint64_t since;
	struct str out;
};

static int resync_fetch_cb(const struct mail_index_record *rec, void *context)
{
	struct resync_ctx *ctx = context;
	struct imap_mailbox *mbox = ctx->client->mbox;
	uint32_t seq = imap_mailbox_seq(mbox, rec->uid);

	if (seq == 0 || rec->modseq <= ctx->since ||
	    !known_contains(ctx->q, rec->uid))
		return 0;
	str_printfa(&ctx->out, "* %u FETCH (UID %u FLAGS ", seq, rec->uid);
	imap_mailbox_flags(mbox, rec, &ctx->out);
	str_printfa(&ctx->out, " MODSEQ (%llu))\r\n",
		    (unsigned long long)rec->modseq);
	return 0;
}

/* Appends to out, as a set, the UIDs below uidnext in the known set
 * (every UID when it is empty) that are not in the mailbox. */
static void known_missing(const struct imap_mailbox *mbox,
			  const struct qresync_params *q, uint32_t uidnext,
			  struct str *out)
{
	const struct imap_seq_range all = { 1, UINT32_MAX }, *r;
	size_t n = q->known.count > 0 ? q->known.count : 1;
	bool first = true;

	/* the known set is sorted and merged (normalize_set()) */
	r = q->known.count == 0 ? &all : q->known.ranges;
	uint32_t next = 1;	/* UIDs below were dealt with */
	size_t pos = 0;		/* first message UID >= next */
	for (size_t i = 0; i < n; i++) {
		uint32_t lo = r[i].lo > next ? r[i].lo : next;
		uint32_t hi = r[i].hi < uidnext ? r[i].hi : uidnext - 1;

		if (uidnext == 0 || lo > hi)
			continue;
		while (pos < mbox->count && mbox->uids[pos] < lo)
			pos++;
		/* the gaps between the messages in [lo, hi] */
		uint32_t at = lo;
		while (at <= hi) {
			uint32_t end = hi;
			if (pos < mbox->count && mbox->uids[pos] <= hi)
				end = mbox->uids[pos] - 1;
			if (end >= at) {
				str_printfa(out, first ? "%u" : ",%u", at);
				if (end > at)
					str_printfa(out, ":%u", end);
				first = false;
			}
			if (pos >= mbox->count || mbox->uids[pos] > hi)
				break;
			at = mbox->uids[pos++] + 1;
			if (at == 0)
				break;
		}
		next = hi + 1;
		if (next == 0)
			break;
	}
}

/* The QRESYNC part of SELECT: VANISHED (EARLIER) and FETCH of what
 * changed since the client's modseq. */
static void qresync_select(struct imap_client *client,
			   const struct qresync_params *q,
			   const struct mail_index_status *st)
{
	struct imap_mailbox *mbox = client->mbox;
	struct resync_ctx ctx = { .client = client, .q = q,
				  .since = q->modseq };
	const char *error;
	uint32_t *uids = NULL;
	size_t count = 0;

	if (q->uidvalidity != st->uidvalidity)
		return;
	str_init(&ctx.out, 1024);
	if (q->modseq < st->built_modseq || q->modseq > st->highestmodseq) {
		/* changes before this index existed are not known: every
		 * known UID that is not here vanished, every message may
		 * have changed */
		size_t start;
		str_append(&ctx.out, "* VANISHED (EARLIER) ");
		start = str_len(&ctx.out);
		known_missing(mbox, q, st->uidnext, &ctx.out);
		if (str_len(&ctx.out) == start)
			str_truncate(&ctx.out, 0);
		else
			str_append(&ctx.out, "\r\n");
		ctx.since = 0;
	} else if (mail_index_expunged_since(mbox->index, q->modseq, &uids,
					     &count, &error) == 0) {
		size_t n = 0;
		for (size_t i = 0; i < count; i++)
			if (known_contains(q, uids[i]) &&
			    imap_mailbox_seq(mbox, uids[i]) == 0)
				uids[n++] = uids[i];
		if (n > 0) {
			str_append(&ctx.out, "* VANISHED (EARLIER) ");
			imap_seqset_append(&ctx.out, uids, n);
			str_append(&ctx.out, "\r\n");
		}
		free(uids);
	}
	if (ctx.since == 0)
		(void)mail_index_iterate(mbox->index, 1, UINT32_MAX,
					 resync_fetch_cb, &ctx, &error);
	else
		(void)mail_index_iterate_changed(mbox->index, ctx.since,
						 resync_fetch_cb, &ctx, &error);
	imap_client_write(client, str_c(&ctx.out), str_len(&ctx.out));
	str_free(&ctx.out);
}

static void select_common(struct imap_cmd *cmd, bool readonly)
{
	struct imap_client *client = cmd->client;
	struct imap_mailbox *mbox;
	struct mail_index_status st;
	struct qresync_params q = { .set = false };
	const char *error;

	if (cmd->count < 1 || cmd->count > 2 ||
	    !imap_arg_is_string(&cmd->args[0])) {
		imap_cmd_bad(cmd, "%s takes a mailbox name and parameters",
			     cmd->name);
		return;
	}
	if (cmd->count == 2 &&
	    parse_select_params(cmd, &cmd->args[1], &q, &error) < 0) {
		if (q.known.ranges != NULL)
			imap_seqset_free(&q.known);
		imap_cmd_bad(cmd, "%s", error);
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
		imap_seqset_free(&q.known);
		imap_cmd_no(cmd, error[0] == '[' ? "%s" : "[NONEXISTENT] %s",
			    error);
		return;
	}
	/* without write rights SELECT gives a read-only view (RFC 4314) */
	readonly = mbox->readonly;
	if (mail_index_get_status(mbox->index, &st, &error) < 0) {
		imap_mailbox_close(&mbox);
		imap_seqset_free(&q.known);
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
	size_t recent = mbox->recent_count;
	mbox->recent_sent = recent;
	str_printfa(&s, "* %zu EXISTS\r\n", mbox->count);
	struct first_unseen_ctx fu = { .mbox = mbox };
	if (!client->imap4rev2) {
		str_printfa(&s, "* %zu RECENT\r\n", recent);
		if (st.seen < st.messages &&
		    mail_index_iterate(mbox->index, 1, UINT32_MAX,
				       first_unseen_cb, &fu, &error) > 0)
			str_printfa(&s, "* OK [UNSEEN %u] First unseen\r\n",
				    fu.seq);
	} else {
		/* RFC 9051 6.3.2: the mailbox's LIST response; no RECENT
		 * and no UNSEEN */
		char *folder = imap_folder_from_client(
			client, cmd->args[0].str, &error);
		if (folder != NULL) {
			char *name = imap_folder_to_client(client, folder);
			str_append(&s, "* LIST () \".\" ");
			imap_quote_astring(&s, name, true);
			str_append(&s, "\r\n");
			free(name);
			free(folder);
		}
	}
	str_printfa(&s, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
			"* OK [UIDNEXT %u] Predicted next UID\r\n"
			"* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    st.uidvalidity, st.uidnext,
		    (unsigned long long)st.highestmodseq);
	if (readonly) {
		str_append(&s, "* OK [PERMANENTFLAGS ()] Read-only\r\n");
	} else {
		/* only the flags the ACL lets this session change */
		str_append(&s, "* OK [PERMANENTFLAGS (");
		size_t mark = str_len(&s);
		if (mbox->rights & IMAP_ACL_WRITE)
			str_append(&s, "\\Answered \\Flagged ");
		if (mbox->rights & IMAP_ACL_DELMSG)
			str_append(&s, "\\Deleted ");
		if (mbox->rights & IMAP_ACL_SEEN)
			str_append(&s, "\\Seen ");
		if (mbox->rights & IMAP_ACL_WRITE)
			str_append(&s, "\\Draft \\* ");
		if (str_len(&s) > mark)
			str_truncate(&s, str_len(&s) - 1);
		str_append(&s, ")] Flags permitted\r\n");
	}
	imap_client_write(client, str_c(&s), str_len(&s));
	str_free(&s);
	client->mbox = mbox;
	client->state = IMAP_STATE_SELECTED;
	if (q.set)
		qresync_select(client, &q, &st);
	imap_seqset_free(&q.known);
	imap_cmd_ok(cmd, "[%s] %s completed", readonly ? "READ-ONLY" :
			 "READ-WRITE", cmd->name);
}

/* SELECT and EXAMINE answer no internal date: the index's lookups made
 * while opening the mailbox leave the dates a cold index has not read yet
 * unread (mail-index.h, MAIL_INDEX_READ_NO_DATE), so that the first
 * SELECT does not stat every message file. */
static void select_no_dates(struct imap_cmd *cmd, bool readonly)
{
	unsigned saved =
		mail_index_set_thread_read_flags(MAIL_INDEX_READ_NO_DATE);

	select_common(cmd, readonly);
	(void)mail_index_set_thread_read_flags(saved);
}

void cmd_select(struct imap_cmd *cmd)
{
	select_no_dates(cmd, false);
}

void cmd_examine(struct imap_cmd *cmd)
{
	select_no_dates(cmd, true);
}

struct deleted_ctx {
	uint32_t *uids;
	size_t count;
	uint64_t bytes;		/* their size on disk, for the quota */
	const struct imap_seqset *only;	/* UID EXPUNGE, normalized */
};

static int deleted_cb(const struct mail_index_record *rec, void *context)
{
	struct deleted_ctx *ctx = context;

	if ((rec->flags & MAIL_INDEX_DELETED) == 0)
		return 0;
	if (ctx->only != NULL &&
	    !imap_seqset_contains(ctx->only, rec->uid, 0))
		return 0;
	ctx->uids = xreallocarray(ctx->uids, ctx->count + 1,
				  sizeof(*ctx->uids));
	ctx->uids[ctx->count++] = rec->uid;
	ctx->bytes += rec->size;
	return 0;
}

/* Expunges the \Deleted messages (of only, when not NULL).  -1 on error. */
static int expunge_deleted(struct imap_client *client,
			   const struct imap_seqset *only)
{
	struct deleted_ctx ctx = { .only = only };
	const char *error;
	int ret = 0;

	if (mail_index_iterate_flags(client->mbox->index, 1, UINT32_MAX,
				     MAIL_INDEX_READ_NO_DATE, deleted_cb, &ctx,
				     &error) < 0 ||
	    (ctx.count > 0 && mail_index_expunge(client->mbox->index, ctx.uids,
						 ctx.count, NULL, &error) < 0))
		ret = -1;
	else if (ctx.count > 0) {
		/* the maildir's quota: ours, or a shared folder's owner's */
		char *root = imap_quota_root(client, client->mbox->dir);

		imap_quota_update_root(client, root, -(int64_t)ctx.bytes,
				       -(int64_t)ctx.count);
		free(root);
	}
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
	if (!client->mbox->readonly &&
	    (client->mbox->rights & IMAP_ACL_EXPUNGE) != 0)
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
	if (cmd->uid &&
	    imap_mailbox_parse_set(cmd->client->mbox, cmd->args[0].str, true,
				   &set, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (cmd->uid) {
		/* "*" is the largest UID in the mailbox, and n:* with n
		 * above it means that UID (RFC 9051 section 9, seq-range) */
		const struct imap_mailbox *mbox = cmd->client->mbox;
		uint32_t max = mbox->count > 0 ? mbox->uids[mbox->count - 1] :
						 0;
		imap_seqset_normalize(&set, max);
	}
	if (cmd->client->mbox->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
	} else if ((cmd->client->mbox->rights & IMAP_ACL_EXPUNGE) == 0) {
		imap_cmd_no(cmd, "[NOPERM] No expunge right on the mailbox");
	} else if (expunge_deleted(cmd->client, cmd->uid ? &set : NULL) < 0) {
		imap_cmd_no(cmd, "[SERVERBUG] Expunge failed");
	} else if (cmd->client->condstore) {
		/* the expunges (and all else) reported first, then the
		 * HIGHESTMODSEQ they bring the client to (RFC 7162 3.2.10
		 * asks for it once QRESYNC is on) */
		(void)imap_mailbox_sync(cmd->client, true);
		imap_cmd_ok(cmd, "[HIGHESTMODSEQ %llu] EXPUNGE completed",
			    (unsigned long long)cmd->client->mbox->modseq);
	} else {
		imap_cmd_ok(cmd, "EXPUNGE completed");
	}
	if (cmd->uid)
		imap_seqset_free(&set);
}
