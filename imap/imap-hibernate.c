/* imap-hibernate.c: the state blob of a hibernating session: capture,
 * write, bounded parse and restore (imap-hibernate.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-hibernate.h"
#include "imap-mailbox.h"
#include "log.h"
#include "mail-index.h"
#include "mem.h"

#define MAGIC "IMAPHIB1"
#define MAGIC_LEN 8

enum field {
	F_USER = 1,
	F_FLAGS = 2,
	F_IDLE_TAG = 3,
	F_MAILBOX = 4,
	F_VIEW = 5,
	F_RECENT = 6,
	F_SAVED = 7,
	F_INPUT = 8,
	F_MAX = 8,
};

enum flag_bits {
	B_UTF8 = 0x01,
	B_CONDSTORE = 0x02,
	B_QRESYNC = 0x04,
	B_IMAP4REV2 = 0x08,
};

enum view_bits {
	V_READONLY = 0x01,
	V_NO_RECENT = 0x02,
};

/* flags byte, uidvalidity, uidnext, modseq, count, first_recent,
 * recent_sent */
#define VIEW_LEN (1 + 4 + 4 + 8 + 4 + 4 + 4)

void imap_hibernate_state_free(struct imap_hibernate_state *st)
{
	free(st->user);
	free(st->idle_tag);
	free(st->mailbox);
	free(st->recent_uids);
	free(st->saved_uids);
	str_free(&st->input);
	memset(st, 0, sizeof(*st));
}

/* ---------------------------------------------------------- writing */

static void put_u32(struct str *out, uint32_t v)
{
	unsigned char b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
			       (v >> 24) & 0xff };

	str_append_n(out, b, sizeof(b));
}

static void put_u64(struct str *out, uint64_t v)
{
	put_u32(out, (uint32_t)v);
	put_u32(out, (uint32_t)(v >> 32));
}

static void put_field(struct str *out, enum field type, const void *data,
		      size_t len)
{
	str_append_c(out, (char)type);
	put_u32(out, (uint32_t)len);
	str_append_n(out, data, len);
}

static void put_uids(struct str *out, enum field type, const uint32_t *uids,
		     size_t count)
{
	str_append_c(out, (char)type);
	put_u32(out, (uint32_t)(count * 4));
	for (size_t i = 0; i < count; i++)
		put_u32(out, uids[i]);
}

static bool string_ok(const char *s)
{
	return s != NULL && strlen(s) <= IMAP_HIBERNATE_MAX_STRING;
}

int imap_hibernate_write(const struct imap_hibernate_state *st,
			 struct str *out)
{
	size_t start = str_len(out);

	if (!string_ok(st->user) ||
	    (st->idle_tag != NULL && !string_ok(st->idle_tag)) ||
	    (st->mailbox != NULL && !string_ok(st->mailbox)) ||
	    st->recent_count > IMAP_HIBERNATE_MAX_UIDS ||
	    st->saved_count > IMAP_HIBERNATE_MAX_UIDS ||
	    str_len(&st->input) > IMAP_HIBERNATE_MAX_INPUT)
		return -1;
	str_append_n(out, MAGIC, MAGIC_LEN);
	put_u32(out, 0);	/* the length, filled in below */
	put_field(out, F_USER, st->user, strlen(st->user));
	unsigned char flags = (st->utf8 ? B_UTF8 : 0) |
			      (st->condstore ? B_CONDSTORE : 0) |
			      (st->qresync ? B_QRESYNC : 0) |
			      (st->imap4rev2 ? B_IMAP4REV2 : 0);
	put_field(out, F_FLAGS, &flags, 1);
	if (st->idle_tag != NULL)
		put_field(out, F_IDLE_TAG, st->idle_tag, strlen(st->idle_tag));
	if (st->mailbox != NULL) {
		put_field(out, F_MAILBOX, st->mailbox, strlen(st->mailbox));
		str_append_c(out, (char)F_VIEW);
		put_u32(out, VIEW_LEN);
		str_append_c(out, (char)((st->readonly ? V_READONLY : 0) |
					 (st->no_recent ? V_NO_RECENT : 0)));
		put_u32(out, st->uidvalidity);
		put_u32(out, st->uidnext);
		put_u64(out, st->modseq);
		put_u32(out, st->count);
		put_u32(out, st->first_recent);
		put_u32(out, st->recent_sent);
		if (st->recent_count > 0)
			put_uids(out, F_RECENT, st->recent_uids,
				 st->recent_count);
		if (st->saved_count > 0)
			put_uids(out, F_SAVED, st->saved_uids,
				 st->saved_count);
	}
	if (str_len(&st->input) > 0)
		put_field(out, F_INPUT, str_c(&st->input),
			  str_len(&st->input));
	size_t total = str_len(out) - start;
	if (total > IMAP_HIBERNATE_MAX_BLOB) {
		str_truncate(out, start);
		return -1;
	}
	for (unsigned i = 0; i < 4; i++)
		out->data[start + MAGIC_LEN + i] =
			(char)((total >> (8 * i)) & 0xff);
	return 0;
}

/* ---------------------------------------------------------- parsing */

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static int get_string(const unsigned char *p, size_t len, char **out,
		      const char **error_r)
{
	if (len == 0 || len > IMAP_HIBERNATE_MAX_STRING ||
	    memchr(p, '\0', len) != NULL) {
		*error_r = "bad string field";
		return -1;
	}
	*out = xstrndup((const char *)p, len);
	return 0;
}

static int get_uids(const unsigned char *p, size_t len, uint32_t **out,
		    size_t *count_r, const char **error_r)
{
	size_t n = len / 4;

	if (len % 4 != 0 || n == 0 || n > IMAP_HIBERNATE_MAX_UIDS) {
		*error_r = "bad UID list";
		return -1;
	}
	uint32_t *uids = xreallocarray(NULL, n, sizeof(*uids));
	for (size_t i = 0; i < n; i++) {
		uids[i] = get_u32(p + 4 * i);
		if (uids[i] == 0 || (i > 0 && uids[i] <= uids[i - 1])) {
			free(uids);
			*error_r = "UID list not ascending";
			return -1;
		}
	}
	*out = uids;
	*count_r = n;
	return 0;
}

static int parse_field(struct imap_hibernate_state *st, unsigned type,
		       const unsigned char *p, size_t len,
		       const char **error_r)
{
	switch (type) {
	case F_USER:
		return get_string(p, len, &st->user, error_r);
	case F_FLAGS:
		if (len != 1 || (p[0] & ~0x0f) != 0) {
			*error_r = "bad flags field";
			return -1;
		}
		st->utf8 = (p[0] & B_UTF8) != 0;
		st->condstore = (p[0] & B_CONDSTORE) != 0;
		st->qresync = (p[0] & B_QRESYNC) != 0;
		st->imap4rev2 = (p[0] & B_IMAP4REV2) != 0;
		if (st->qresync && !st->condstore) {
			*error_r = "QRESYNC without CONDSTORE";
			return -1;
		}
		return 0;
	case F_IDLE_TAG:
		if (get_string(p, len, &st->idle_tag, error_r) < 0)
			return -1;
		if (!imap_parser_tag_valid(st->idle_tag)) {
			*error_r = "bad IDLE tag";
			return -1;
		}
		return 0;
	case F_MAILBOX:
		return get_string(p, len, &st->mailbox, error_r);
	case F_VIEW:
		if (len != VIEW_LEN || (p[0] & ~0x03) != 0) {
			*error_r = "bad view field";
			return -1;
		}
		st->readonly = (p[0] & V_READONLY) != 0;
		st->no_recent = (p[0] & V_NO_RECENT) != 0;
		st->uidvalidity = get_u32(p + 1);
		st->uidnext = get_u32(p + 5);
		st->modseq = get_u64(p + 9);
		st->count = get_u32(p + 17);
		st->first_recent = get_u32(p + 21);
		st->recent_sent = get_u32(p + 25);
		if (st->uidvalidity == 0 || st->uidnext == 0 ||
		    st->count > st->uidnext - 1) {
			*error_r = "bad view";
			return -1;
		}
		return 0;
	case F_RECENT:
		return get_uids(p, len, &st->recent_uids, &st->recent_count,
				error_r);
	case F_SAVED:
		return get_uids(p, len, &st->saved_uids, &st->saved_count,
				error_r);
	case F_INPUT:
		if (len == 0 || len > IMAP_HIBERNATE_MAX_INPUT) {
			*error_r = "bad input field";
			return -1;
		}
		str_init(&st->input, len);
		str_append_n(&st->input, p, len);
		return 0;
	default:
		*error_r = "unknown field";
		return -1;
	}
}

int imap_hibernate_parse(const void *blob, size_t len,
			 struct imap_hibernate_state *st,
			 const char **error_r)
{
	const unsigned char *p = blob;
	unsigned seen = 0;
	size_t pos = MAGIC_LEN + 4;

	memset(st, 0, sizeof(*st));
	if (len > IMAP_HIBERNATE_MAX_BLOB || len < MAGIC_LEN + 4 ||
	    memcmp(p, MAGIC, MAGIC_LEN) != 0) {
		*error_r = "not a session state of this version";
		return -1;
	}
	if (get_u32(p + MAGIC_LEN) != len) {
		*error_r = "truncated or overlong state";
		return -1;
	}
	while (pos < len) {
		if (len - pos < 5) {
			*error_r = "truncated field header";
			return -1;
		}
		unsigned type = p[pos];
		uint32_t flen = get_u32(p + pos + 1);
		pos += 5;
		if (flen > len - pos) {
			*error_r = "truncated field";
			return -1;
		}
		if (type == 0 || type > F_MAX) {
			*error_r = "unknown field";
			return -1;
		}
		if ((seen & (1u << type)) != 0) {
			*error_r = "repeated field";
			return -1;
		}
		seen |= 1u << type;
		if (parse_field(st, type, p + pos, flen, error_r) < 0)
			return -1;
		pos += flen;
	}
	bool has_mbox = (seen & (1u << F_MAILBOX)) != 0;
	if ((seen & (1u << F_USER)) == 0 || (seen & (1u << F_FLAGS)) == 0) {
		*error_r = "user or flags missing";
		return -1;
	}
	if (has_mbox != ((seen & (1u << F_VIEW)) != 0) ||
	    (!has_mbox && (seen & (1u << F_RECENT | 1u << F_SAVED)) != 0)) {
		*error_r = "mailbox fields without a mailbox";
		return -1;
	}
	if (st->recent_count > 0 &&
	    st->recent_uids[st->recent_count - 1] >= st->uidnext) {
		*error_r = "recent UID beyond the view";
		return -1;
	}
	if (st->saved_count > 0 &&
	    st->saved_uids[st->saved_count - 1] >= st->uidnext) {
		*error_r = "saved UID beyond the view";
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- capture */

/* True when the view is exactly the index's list now, nothing changed
 * after the view's MODSEQ; *uidnext_r the index's UIDNEXT. */
static bool view_exact(struct imap_mailbox *mbox, uint32_t *uidnext_r,
		       const char **why_r)
{
	struct mail_index_status st, st2;
	uint32_t *uids = NULL;
	size_t count = 0;
	const char *error;
	bool ok;

	if (mbox->kept_count > 0) {
		*why_r = "expunges not reported yet";
		return false;
	}
	if (mail_index_changed_since(mbox->index, mbox->modseq, &error) != 0) {
		*why_r = "changes not reported yet";
		return false;
	}
	if (mail_index_get_status(mbox->index, &st, &error) < 0 ||
	    mail_index_uids(mbox->index, &uids, &count, &error) < 0 ||
	    mail_index_get_status(mbox->index, &st2, &error) < 0) {
		free(uids);
		*why_r = "index error";
		return false;
	}
	ok = st.highestmodseq == mbox->modseq &&
	     st2.highestmodseq == st.highestmodseq &&
	     st2.uidnext == st.uidnext &&
	     st.uidvalidity == mbox->uidvalidity &&
	     st.built_modseq <= mbox->modseq && count == mbox->count &&
	     (count == 0 ||
	      memcmp(uids, mbox->uids, count * sizeof(*uids)) == 0) &&
	     (count == 0 || uids[count - 1] < st.uidnext);
	free(uids);
	if (!ok) {
		*why_r = "view differs from the index";
		return false;
	}
	*uidnext_r = st.uidnext;
	return true;
}

bool imap_hibernate_capture(struct imap_client *client,
			    struct imap_hibernate_state *st,
			    const char **why_r)
{
	struct imap_mailbox *mbox = client->mbox;

	memset(st, 0, sizeof(*st));
	if (client->ended || client->conn == NULL ||
	    conn_is_closing(client->conn) ||
	    (client->state != IMAP_STATE_AUTH &&
	     client->state != IMAP_STATE_SELECTED)) {
		*why_r = "not logged in";
		return false;
	}
	if (client->cont != IMAP_CONT_NONE && client->cont != IMAP_CONT_IDLE) {
		*why_r = "command in progress";
		return false;
	}
	if (client->mid_command || imap_parser_raw_wanted(client->parser) > 0 ||
	    imap_parser_skipping(client->parser)) {
		*why_r = "command being read";
		return false;
	}
	if (conn_output_pending(client->conn) > 0) {
		*why_r = "output pending";
		return false;
	}
	if (client->compress != NULL || client->compress_timer != NULL) {
		*why_r = "COMPRESS is on";
		return false;
	}
	if (client->cont == IMAP_CONT_IDLE && mbox != NULL &&
	    client->idle_inotify_fd < 0) {
		*why_r = "IDLE without inotify";
		return false;
	}
	if (string_ok(client->user) == false ||
	    (client->cont_tag != NULL && !string_ok(client->cont_tag))) {
		*why_r = "names too long";
		return false;
	}
	if (mbox != NULL) {
		uint32_t uidnext;

		if (mbox->sharable_orig != NULL || mbox->context_count > 0 ||
		    !string_ok(mbox->name) ||
		    mbox->recent_count > IMAP_HIBERNATE_MAX_UIDS ||
		    mbox->saved_count > IMAP_HIBERNATE_MAX_UIDS) {
			*why_r = "mailbox state cannot be kept";
			return false;
		}
		if (!view_exact(mbox, &uidnext, why_r))
			return false;
		imap_mailbox_cache_flush(mbox);
		imap_mailbox_idle_work_finish(mbox);
		st->mailbox = xstrdup(mbox->name);
		st->readonly = mbox->readonly;
		st->no_recent = mbox->no_recent;
		st->uidvalidity = mbox->uidvalidity;
		st->uidnext = uidnext;
		st->modseq = mbox->modseq;
		st->count = (uint32_t)mbox->count;
		st->first_recent = mbox->first_recent;
		st->recent_sent = (uint32_t)mbox->recent_sent;
		if (mbox->recent_count > 0)
			st->recent_uids = xmemdup(mbox->recent_uids,
						  mbox->recent_count * 4);
		st->recent_count = mbox->recent_count;
		if (mbox->saved_count > 0)
			st->saved_uids = xmemdup(mbox->saved_uids,
						 mbox->saved_count * 4);
		st->saved_count = mbox->saved_count;
	}
	st->user = xstrdup(client->user);
	st->utf8 = client->utf8;
	st->condstore = client->condstore;
	st->qresync = client->qresync;
	st->imap4rev2 = client->imap4rev2;
	if (client->cont == IMAP_CONT_IDLE)
		st->idle_tag = xstrdup(client->cont_tag);
	return true;
}

/* ---------------------------------------------------------- restore */

/* The view as it was: the index's UIDs below uidnext now, with those
 * expunged after modseq put back. */
static int rebuild_view(struct imap_mailbox *mbox,
			const struct imap_hibernate_state *st,
			const char **error_r)
{
	struct mail_index_status s;
	uint32_t *gone = NULL, *view;
	size_t ngone = 0, n = 0, i = 0, g = 0;
	const char *error;

	if (mail_index_get_status(mbox->index, &s, &error) < 0) {
		*error_r = "cannot read the folder's index";
		return -1;
	}
	if (s.uidvalidity != st->uidvalidity) {
		*error_r = "the folder's UIDVALIDITY changed";
		return -1;
	}
	if (s.built_modseq > st->modseq || s.uidnext < st->uidnext ||
	    s.highestmodseq < st->modseq) {
		*error_r = "the folder's index was rebuilt";
		return -1;
	}
	if (mail_index_expunged_since(mbox->index, st->modseq, &gone, &ngone,
				      &error) < 0) {
		*error_r = "cannot read the expunge log";
		return -1;
	}
	view = xreallocarray(NULL, (size_t)st->count + 1, sizeof(*view));
	while (i < mbox->count || g < ngone) {
		uint32_t a = i < mbox->count ? mbox->uids[i] : UINT32_MAX;
		uint32_t b = g < ngone ? gone[g] : UINT32_MAX;
		uint32_t uid = a < b ? a : b;

		if (uid >= st->uidnext)
			break;
		if (a == uid)
			i++;
		if (b == uid)
			g++;
		if (n == st->count) {
			n++;	/* more than the client knew of */
			break;
		}
		view[n++] = uid;
	}
	free(gone);
	if (n != st->count) {
		free(view);
		*error_r = "the view cannot be rebuilt";
		return -1;
	}
	free(mbox->uids);
	mbox->uids = view;
	mbox->count = n;
	if (n == 0)
		x_free(mbox->uids);
	x_free(mbox->kept);
	mbox->kept_count = 0;
	mbox->idx_uidvalidity = st->uidvalidity;
	mbox->idx_uidnext = st->uidnext;
	mbox->idx_messages = st->count;
	mbox->idx_modseq = st->modseq;
	mbox->modseq = st->modseq;
	mbox->contexts_modseq = st->modseq;
	mbox->contexts_count = n;
	return 0;
}

int imap_hibernate_restore(struct imap_client *client,
			   const struct imap_hibernate_state *st,
			   const char **error_r)
{
	if (client->user == NULL || strcmp(client->user, st->user) != 0) {
		*error_r = "the state is another account's";
		return -1;
	}
	client->utf8 = st->utf8;
	client->condstore = st->condstore;
	client->qresync = st->qresync;
	client->imap4rev2 = st->imap4rev2;
	if (st->mailbox != NULL) {
		struct imap_mailbox *mbox;
		const char *error;

		/* read-only first: nothing claimed, nothing moved to cur/ */
		if (imap_mailbox_open(client, st->mailbox, true, &mbox,
				      &error) < 0) {
			*error_r = "the selected mailbox cannot be opened";
			return -1;
		}
		if (mbox->sharable_orig != NULL ||
		    rebuild_view(mbox, st, error_r) < 0) {
			if (mbox->sharable_orig != NULL)
				*error_r = "a sharable folder";
			imap_mailbox_close(&mbox);
			return -1;
		}
		mbox->readonly =
			st->readonly ||
			(mbox->rights &
			 (IMAP_ACL_SEEN | IMAP_ACL_WRITE | IMAP_ACL_DELMSG |
			  IMAP_ACL_EXPUNGE)) == 0;
		mbox->no_recent = st->no_recent;
		mbox->first_recent = st->first_recent;
		free(mbox->recent_uids);
		mbox->recent_uids = st->recent_count > 0 ?
			xmemdup(st->recent_uids, st->recent_count * 4) : NULL;
		mbox->recent_count = st->recent_count;
		mbox->recent_sent = st->recent_sent;
		free(mbox->saved_uids);
		mbox->saved_uids = st->saved_count > 0 ?
			xmemdup(st->saved_uids, st->saved_count * 4) : NULL;
		mbox->saved_count = st->saved_count;
		client->mbox = mbox;
		client->state = IMAP_STATE_SELECTED;
	}
	if (st->idle_tag != NULL)
		imap_client_idle_begin(client, st->idle_tag);
	return 0;
}
