/* cmd-copy.c: COPY, MOVE (RFC 6851) and APPEND with MULTIAPPEND
 * (RFC 3502) and the UTF8 data item (RFC 6855), with the UIDPLUS
 * responses (RFC 4315). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-flags.h"
#include "imap-mailbox.h"
#include "imap-quota.h"
#include "maildir.h"
#include "mem.h"
#include "rfc822-date.h"

/* An open destination folder. */
struct dest {
	char *dir;
	/* "shared.NICK.FOLDER": the internal name; the messages go into the
	 * sharable folder dir, the client sees them through its copy */
	char *sharable;
	unsigned int rights;	/* the session's ACL rights on it */
	struct mail_index *index;
	struct mail_index_status st;
};

static void dest_close(struct dest *d)
{
	mail_index_close(&d->index);
	free(d->dir);
	d->dir = NULL;
	free(d->sharable);
	d->sharable = NULL;
}

static int dest_open(struct imap_cmd *cmd, const char *name,
		     struct dest *d)
{
	const char *error;
	char *folder = imap_folder_from_client(cmd->client, name, &error);

	memset(d, 0, sizeof(*d));
	if (folder == NULL) {
		imap_cmd_no(cmd, "%s", error);
		return -1;
	}
	d->dir = imap_folder_dir(cmd->client, folder);
	unsigned int rights = d->dir != NULL ?
		imap_folder_rights(cmd->client, folder) : 0;
	if (imap_folder_is_sharable(folder))
		d->sharable = folder;
	else
		free(folder);
	d->rights = rights;
	if (d->dir == NULL || !maildir_is_maildir(d->dir) ||
	    (rights & (IMAP_ACL_LOOKUP | IMAP_ACL_INSERT)) == 0) {
		imap_cmd_no(cmd, "[TRYCREATE] Mailbox does not exist");
		dest_close(d);
		return -1;
	}
	if ((rights & IMAP_ACL_INSERT) == 0) {
		/* APPEND, COPY and MOVE into it need i (RFC 4314 4) */
		imap_cmd_no(cmd, "[NOPERM] No insert right on the mailbox");
		dest_close(d);
		return -1;
	}
	if (mail_index_open(d->dir, NULL, &d->index, &error) < 0 ||
	    mail_index_get_status(d->index, &d->st, &error) < 0) {
		imap_cmd_no(cmd, "[SERVERBUG] %s", error);
		dest_close(d);
		return -1;
	}
	return 0;
}

/* The UIDPLUS code's UIDVALIDITY and UIDs (uids[0..n) in d's index on
 * entry) as the client sees the destination: for a sharable folder, its
 * copy's, once the copy has taken the new messages in.  Returns false
 * when they cannot be told (then no COPYUID or APPENDUID is given). */
static bool client_uids(struct imap_client *client, struct dest *d,
			uint32_t *uids, size_t n, uint32_t *uidvalidity_r)
{
	struct mail_index_status st;
	struct mail_index_record rec;
	struct mail_index *cidx = NULL;
	const char *error;
	char **bases;
	bool ok = true;

	*uidvalidity_r = d->st.uidvalidity;
	if (d->sharable == NULL || n == 0)
		return true;
	bases = xcalloc(n, sizeof(*bases));
	for (size_t i = 0; i < n && ok; i++) {
		ok = mail_index_lookup_uid(d->index, uids[i], &rec,
					   &error) > 0;
		if (ok)
			bases[i] = xstrndup(rec.name, rec.base_len);
	}
	/* links the new messages into the copy */
	char *copy = ok ? imap_folder_index_dir(client, d->sharable, NULL,
						NULL) :
			  NULL;
	ok = copy != NULL && mail_index_open(copy, NULL, &cidx, &error) == 0 &&
	     mail_index_sync(cidx, MAIL_INDEX_SYNC_FORCE, &error) >= 0 &&
	     mail_index_get_status(cidx, &st, &error) == 0;
	for (size_t i = 0; i < n && ok; i++) {
		ok = mail_index_lookup_base(cidx, bases[i], &rec, &error) > 0;
		if (ok)
			uids[i] = rec.uid;
	}
	if (ok)
		*uidvalidity_r = st.uidvalidity;
	mail_index_close(&cidx);
	free(copy);
	for (size_t i = 0; i < n; i++)
		free(bases[i]);
	free(bases);
	return ok;
}

/* Delivers one message into d: its bytes from fd or data, flags and
 * keywords, internal date.  Returns 0 and *uid_r, or -1 with *error_r. */
static int deliver(struct dest *d, int fd, const void *data, size_t len,
		   uint8_t flags, const char *const *keywords,
		   size_t keyword_count, int64_t internal_date,
		   uint32_t *uid_r, const char **error_r)
{
	struct maildir_delivery *del;
	char letters[6], buf[65536];
	ssize_t n;

	/* only the flags the target's rights allow are kept (RFC 4314 4):
	 * \Seen needs s, \Deleted t, the others and keywords w */
	if ((d->rights & IMAP_ACL_SEEN) == 0)
		flags &= (uint8_t)~MAIL_INDEX_SEEN;
	if ((d->rights & IMAP_ACL_DELMSG) == 0)
		flags &= (uint8_t)~MAIL_INDEX_DELETED;
	if ((d->rights & IMAP_ACL_WRITE) == 0) {
		flags &= (uint8_t)(MAIL_INDEX_SEEN | MAIL_INDEX_DELETED);
		keyword_count = 0;
	}
	del = maildir_delivery_begin(d->dir, 0, error_r);
	if (del == NULL)
		return -1;
	if (fd >= 0) {
		while ((n = read(fd, buf, sizeof(buf))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				*error_r = "read() of the message failed";
				maildir_delivery_abort(&del);
				return -1;
			}
			if (maildir_delivery_write(del, buf, (size_t)n,
						   error_r) < 0) {
				maildir_delivery_abort(&del);
				return -1;
			}
		}
	} else if (maildir_delivery_write(del, data, len, error_r) < 0) {
		maildir_delivery_abort(&del);
		return -1;
	}
	/* committed, dated and indexed in one index write transaction:
	 * no other session sees the file before its record */
	return mail_index_add_delivery(d->index, &del,
				       imap_flags_maildir_letters(flags,
								  letters),
				       internal_date, keywords, keyword_count,
				       uid_r, NULL, error_r);
}

/* "1,3:5" of sorted UIDs, compressed into ranges. */
static void append_uid_set(struct str *out, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			str_append_c(out, ',');
		if (j > i)
			str_printfa(out, "%u:%u", uids[i], uids[j]);
		else
			str_printfa(out, "%u", uids[i]);
		i = j + 1;
	}
}

static void copy_common(struct imap_cmd *cmd, bool move)
{
	struct imap_client *client = cmd->client;
	struct imap_mailbox *mbox = client->mbox;
	struct imap_seqset set;
	struct dest d;
	const char *error;
	uint32_t *uids, *src, *dst;
	size_t n, done = 0;

	if (cmd->count != 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    !imap_arg_is_string(&cmd->args[1])) {
		imap_cmd_bad(cmd, "%s takes a set and a mailbox", cmd->name);
		return;
	}
	if (imap_mailbox_parse_set(mbox, cmd->args[0].str, cmd->uid, &set,
				   &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (move && mbox->readonly) {
		imap_seqset_free(&set);
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (move && (mbox->rights & (IMAP_ACL_DELMSG | IMAP_ACL_EXPUNGE)) !=
			    (IMAP_ACL_DELMSG | IMAP_ACL_EXPUNGE)) {
		/* MOVE takes messages out: t and e on the source */
		imap_seqset_free(&set);
		imap_cmd_no(cmd, "[NOPERM] No right to remove messages from "
				 "the mailbox");
		return;
	}
	if (dest_open(cmd, cmd->args[1].str, &d) < 0) {
		imap_seqset_free(&set);
		return;
	}
	imap_mailbox_resolve(mbox, &set, cmd->uid, &uids, &n);
	imap_seqset_free(&set);
	/* the quota (RFC 9208): what the copy adds, checked first, in the
	 * maildir that holds the target (the owner's for a shared folder);
	 * a MOVE within one quota changes nothing */
	char *src_root = imap_quota_root(client, mbox->dir);
	char *dst_root = imap_quota_root(client, d.dir);
	bool same_root = src_root != NULL && dst_root != NULL &&
			 strcmp(src_root, dst_root) == 0;
	bool add_dst = dst_root != NULL && !(move && same_root);
	bool sub_src = move && src_root != NULL && !same_root;
	uint64_t bytes = 0, copied_bytes = 0;
	for (size_t i = 0; add_dst && i < n; i++) {
		struct mail_index_record rec;
		if (mail_index_lookup_uid(mbox->index, uids[i], &rec,
					  &error) > 0)
			bytes += rec.size;
	}
	if (add_dst) {
		int q = imap_quota_check_root(client, dst_root, bytes, n,
					      &error);
		if (q <= 0) {
			free(uids);
			free(src_root);
			free(dst_root);
			dest_close(&d);
			if (q == 0)
				imap_cmd_no(cmd, "[OVERQUOTA] Quota exceeded");
			else
				imap_cmd_no(cmd, "[SERVERBUG] %s", error);
			return;
		}
	}
	src = n > 0 ? xreallocarray(NULL, n, sizeof(*src)) : NULL;
	dst = n > 0 ? xreallocarray(NULL, n, sizeof(*dst)) : NULL;
	int failed = 0;
	for (size_t i = 0; i < n && !failed; i++) {
		struct mail_index_record rec;
		const char **kw = NULL;
		int fd;

		if (mail_index_lookup_uid(mbox->index, uids[i], &rec,
					  &error) <= 0)
			continue;	/* expunged meanwhile */
		uint8_t flags = rec.flags;
		int64_t date = rec.internal_date;
		size_t kwn = rec.keyword_count;
		if (kwn > 0)
			kw = xreallocarray(NULL, kwn, sizeof(*kw));
		for (size_t k = 0; k < kwn; k++)
			kw[k] = xstrdup(mail_index_keyword_name(
				mbox->index, rec.keywords[k]) ?: "");
		int r = mail_index_open_message(mbox->index, uids[i], &fd,
						&error);
		if (r < 0)
			failed = 1;
		if (r > 0) {
			if (deliver(&d, fd, NULL, 0, flags, kw, kwn, date,
				    &dst[done], &error) < 0) {
				failed = 1;
			} else {
				src[done++] = uids[i];
				copied_bytes += rec.size;
			}
			close(fd);
		}
		for (size_t k = 0; k < kwn; k++)
			free((char *)kw[k]);
		free(kw);
	}
	if (failed) {
		/* all or nothing: take back what was copied */
		const char *error2;
		if (done > 0)
			(void)mail_index_expunge(d.index, dst, done, NULL,
						 &error2);
		imap_cmd_no(cmd, "%s failed: %s", cmd->name, error);
	} else if (done == 0) {
		imap_cmd_ok(cmd, "%s completed (nothing to do)", cmd->name);
	} else {
		struct str code;
		uint32_t uidvalidity;
		str_init(&code, 128);
		if (client_uids(client, &d, dst, done, &uidvalidity)) {
			str_printfa(&code, "[COPYUID %u ", uidvalidity);
			append_uid_set(&code, src, done);
			str_append_c(&code, ' ');
			append_uid_set(&code, dst, done);
			str_append(&code, "] ");
		}
		if (add_dst)
			imap_quota_update_root(client, dst_root,
					       (int64_t)copied_bytes,
					       (int64_t)done);
		if (sub_src)
			imap_quota_update_root(client, src_root,
					       -(int64_t)copied_bytes,
					       -(int64_t)done);
		if (move) {
			imap_client_printf(client, "* OK %sMoved",
					   str_c(&code));
			if (mail_index_expunge(mbox->index, src, done, NULL,
					       &error) < 0)
				imap_cmd_no(cmd, "MOVE could not expunge: %s",
					    error);
			else
				imap_cmd_ok(cmd, "MOVE completed");
		} else {
			imap_cmd_ok(cmd, "%sCOPY completed", str_c(&code));
		}
		str_free(&code);
	}
	dest_close(&d);
	free(uids);
	free(src);
	free(dst);
	free(src_root);
	free(dst_root);
}

void cmd_copy(struct imap_cmd *cmd)
{
	copy_common(cmd, false);
}

void cmd_move(struct imap_cmd *cmd)
{
	copy_common(cmd, true);
}

/* APPEND's message at a[*i] (of left arguments): a literal, or RFC 6855's
 * `UTF8 (literal8)` (a plain literal in the list is taken too).  Returns
 * the literal and moves *i past it, or NULL (a syntax error) with *i
 * unchanged. */
static const struct imap_arg *append_data(const struct imap_arg *a,
					  size_t left, size_t *i)
{
	if (*i >= left)
		return NULL;
	if (a[*i].type == IMAP_ARG_LITERAL) {
		(*i)++;
		return &a[*i - 1];
	}
	if (imap_arg_atom_equals(&a[*i], "UTF8") && *i + 1 < left &&
	    a[*i + 1].type == IMAP_ARG_LIST && a[*i + 1].list_count == 1 &&
	    a[*i + 1].list[0].type == IMAP_ARG_LITERAL) {
		*i += 2;
		return &a[*i - 1].list[0];
	}
	return NULL;
}

void cmd_append(struct imap_cmd *cmd)
{
	const struct imap_arg *a = cmd->args;
	size_t left = cmd->count;
	struct dest d;
	uint32_t *uids = NULL;
	size_t done = 0;
	const char *error = NULL;
	bool bad = false, failed = false;

	if (left < 2 || !imap_arg_is_string(&a[0])) {
		imap_cmd_bad(cmd, "APPEND takes a mailbox and a message");
		return;
	}
	/* check the whole syntax before delivering anything */
	for (size_t i = 1; i < left && !bad;) {
		struct imap_flags f;
		if (a[i].type == IMAP_ARG_LIST) {
			if (imap_flags_parse(&a[i], 1, true, &f, &error) < 0)
				bad = true;
			imap_flags_free(&f);
			i++;
		}
		if (!bad && i < left && a[i].type == IMAP_ARG_STRING) {
			time_t t;
			int tz;
			if (rfc822_date_imap_parse(a[i].str, a[i].len, &t,
						   &tz) < 0) {
				error = "Bad date-time";
				bad = true;
			}
			i++;
		}
		if (!bad && append_data(a, left, &i) == NULL) {
			error = "APPEND needs a literal message";
			bad = true;
		}
	}
	if (bad) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (dest_open(cmd, a[0].str, &d) < 0)
		return;
	/* the quota (RFC 9208), for all the messages at once */
	uint64_t bytes = 0, count = 0;
	for (size_t i = 1; i < left;) {
		const struct imap_arg *msg = append_data(a, left, &i);
		if (msg != NULL) {
			bytes += msg->len;
			count++;
		} else {
			i++;
		}
	}
	char *qroot = imap_quota_root(cmd->client, d.dir);
	int q = qroot != NULL ? imap_quota_check_root(cmd->client, qroot,
						      bytes, count, &error) :
				1;
	if (q <= 0) {
		free(qroot);
		dest_close(&d);
		if (q == 0)
			imap_cmd_no(cmd, "[OVERQUOTA] Quota exceeded");
		else
			imap_cmd_no(cmd, "[SERVERBUG] %s", error);
		return;
	}
	for (size_t i = 1; i < left && !failed;) {
		struct imap_flags f = { 0 };
		int64_t date = (int64_t)time(NULL);
		if (a[i].type == IMAP_ARG_LIST) {
			(void)imap_flags_parse(&a[i], 1, true, &f, &error);
			i++;
		}
		if (a[i].type == IMAP_ARG_STRING) {
			time_t t;
			int tz;
			if (rfc822_date_imap_parse(a[i].str, a[i].len, &t,
						   &tz) == 0)
				date = (int64_t)t;
			i++;
		}
		/* the syntax was checked above: a message is there */
		const struct imap_arg *msg = append_data(a, left, &i);
		uids = xreallocarray(uids, done + 1, sizeof(*uids));
		if (msg == NULL || msg->len == 0) {
			error = "Empty message";
			failed = true;
		} else if (deliver(&d, -1, msg->str, msg->len, f.flags,
				   f.keywords, f.keyword_count, date,
				   &uids[done], &error) < 0) {
			failed = true;
		} else {
			done++;
		}
		imap_flags_free(&f);
	}
	if (failed) {
		const char *error2;
		if (done > 0)
			(void)mail_index_expunge(d.index, uids, done, NULL,
						 &error2);
		imap_cmd_no(cmd, "APPEND failed: %s", error);
	} else {
		struct str code;
		str_init(&code, 64);
		imap_quota_update_root(cmd->client, qroot, (int64_t)bytes,
				       (int64_t)count);
		uint32_t uidvalidity;
		if (client_uids(cmd->client, &d, uids, done, &uidvalidity)) {
			str_printfa(&code, "[APPENDUID %u ", uidvalidity);
			append_uid_set(&code, uids, done);
			str_append(&code, "] ");
		}
		imap_cmd_ok(cmd, "%sAPPEND completed", str_c(&code));
		str_free(&code);
	}
	free(uids);
	free(qroot);
	dest_close(&d);
}
