/* cmd-fetch.c: FETCH and UID FETCH (RFC 3501 6.4.5, RFC 9051, BINARY of
 * RFC 3516, MODSEQ and CHANGEDSINCE of RFC 7162, the PARTIAL modifier
 * of RFC 9394). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "imap-message.h"
#include "imap-quote.h"
#include "imap-search.h"
#include "mem.h"
#include "rfc822-date.h"

/* Most items in one FETCH. */
#define FETCH_MAX_ITEMS 100
/* Messages per step before looking at the output buffer again. */
#define FETCH_STEP 64
/* Fewest messages a light FETCH answers from the index's flags table
 * when the thread does not keep this folder's table yet: below, a
 * lookup a record costs less than the pass that builds the table. */
#define FETCH_TABLE_MIN 512
/* Messages of a step of the table's path (fetch_table_step()). */
#define FETCH_TABLE_STEP 1024
/* Bytes of answer gathered before they are written. */
#define FETCH_CHUNK 65536

enum fetch_type {
	FETCH_FLAGS,
	FETCH_INTERNALDATE,
	FETCH_RFC822_SIZE,
	FETCH_UID,
	FETCH_ENVELOPE,
	FETCH_BODY,		/* BODY without a section: non-extensible */
	FETCH_BODYSTRUCTURE,
	FETCH_SECTION,		/* BODY[...], BODY.PEEK[...] */
	FETCH_BINARY,
	FETCH_BINARY_SIZE,
	FETCH_RFC822,
	FETCH_RFC822_HEADER,
	FETCH_RFC822_TEXT,
	FETCH_MODSEQ,
};

struct fetch_item {
	enum fetch_type type;
	bool peek;
	struct imap_section sec;
	bool partial;
	uint64_t origin, count;
	char *key;		/* the response's name for the data */
};

struct fetch_ctx {
	struct imap_client *client;
	char *tag;
	bool uid;
	struct fetch_item *items;
	size_t item_count;
	uint32_t *uids;
	size_t uid_count, next;
	bool sets_seen, needs_message;
	/* the sequence number of the message fetched last (fetch_seq()) */
	uint32_t last_seq;
	/* the message items read only the header (items_header_only()) */
	bool header_only;
	uint64_t changedsince;
	bool vanished;		/* UID FETCH (CHANGEDSINCE n VANISHED) */
	bool has_partial;	/* (PARTIAL range), RFC 9394 */
	struct imap_partial_range partial;
	bool gone, unknown_cte, failed;
	/* only FLAGS, UID and MODSEQ, nothing that sets \Seen: the records
	 * are read FETCH_STEP at a time in one snapshot, in place */
	bool light;
	/* nothing sets \Seen: the records (whole ones unless light) are
	 * read FETCH_STEP at a time in one snapshot, not one a message */
	bool prefetch;
	unsigned read_flags;	/* of the records (mail_index_read_flags) */
	/* a light FETCH answered from the index's flags table
	 * (fetch_table_step()), and what it asks for */
	bool table;
	bool want_uid, want_flags, want_modseq;
	/* "(...)" of each combination of system flags without \Recent or
	 * keywords, as imap_mailbox_flags() writes it, and the answer's
	 * bytes not written yet (fetch_table_step()) */
	struct fetch_flag_list *flag_lists;
	char *chunk;
	size_t chunk_len;
	bool chunk_full;	/* a write of it found the output full */
	struct str scratch;	/* a flag list with keywords or \Recent */
	/* the records of the step's messages with two keywords or more
	 * (the table does not keep their order) */
	struct fetch_kwrecs *kwrecs;
	struct str msg;		/* the current message (CRLF form) */
};

/* The records of a step of a FETCH (keywords copied, no name). */
struct fetch_pre {
	struct mail_index_record *recs;
	size_t count;
};

static int prefetch_cb(const struct mail_index_record *rec, void *context)
{
	struct fetch_pre *pre = context;
	struct mail_index_record *r = &pre->recs[pre->count++];

	*r = *rec;
	r->name = "";
	r->pop3_uidl = NULL;
	r->keywords = rec->keyword_count > 0 ?
			      xmemdup(rec->keywords,
				      rec->keyword_count * sizeof(uint32_t)) :
			      NULL;
	return 0;
}

static void prefetch_free(struct fetch_pre *pre)
{
	for (size_t i = 0; i < pre->count; i++)
		free((void *)pre->recs[i].keywords);
	pre->count = 0;
}

/* Longest flag list of system flags alone ("(\Seen \Answered \Flagged
 * \Deleted \Draft)" is 42 bytes), copied FETCH_FLAG_LIST_MAX bytes at
 * a time. */
#define FETCH_FLAG_LIST_MAX 48

struct fetch_flag_list {
	char s[FETCH_FLAG_LIST_MAX];
	size_t len;
};

/* The records of a step's messages with two keywords or more, read
 * for the order of their keywords (fetch_table_step()): each record's
 * keywords at kw[kw_start..kw_start + kw_count), in the record's
 * order. */
struct fetch_kwrec {
	uint32_t uid;
	uint8_t flags;
	uint64_t modseq;
	size_t kw_start, kw_count;
};

struct fetch_kwrecs {
	struct fetch_kwrec *recs;
	size_t count, alloc;
	uint32_t *kw;
	size_t kw_len, kw_alloc;
};

static void fetch_kwrecs_free(struct fetch_kwrecs **_k)
{
	struct fetch_kwrecs *k = *_k;

	if (k == NULL)
		return;
	free(k->recs);
	free(k->kw);
	x_free(*_k);
}

static void fetch_ctx_free(void *context)
{
	struct fetch_ctx *ctx = context;

	free(ctx->flag_lists);
	free(ctx->chunk);
	str_free(&ctx->scratch);
	fetch_kwrecs_free(&ctx->kwrecs);
	for (size_t i = 0; i < ctx->item_count; i++) {
		imap_section_free(&ctx->items[i].sec);
		free(ctx->items[i].key);
	}
	free(ctx->items);
	free(ctx->uids);
	free(ctx->tag);
	str_free(&ctx->msg);
	free(ctx);
}

static bool add_item(struct fetch_ctx *ctx, enum fetch_type type)
{
	if (ctx->item_count >= FETCH_MAX_ITEMS)
		return false;
	ctx->items = xreallocarray(ctx->items, ctx->item_count + 1,
				   sizeof(*ctx->items));
	memset(&ctx->items[ctx->item_count], 0, sizeof(*ctx->items));
	ctx->items[ctx->item_count++].type = type;
	return true;
}

static bool has_item(const struct fetch_ctx *ctx, enum fetch_type type)
{
	for (size_t i = 0; i < ctx->item_count; i++)
		if (ctx->items[i].type == type)
			return true;
	return false;
}

/* Parses "<origin.count>" at p (len bytes). */
static int parse_partial(const char *p, size_t len, struct fetch_item *item)
{
	uint64_t v[2] = { 0, 0 };
	size_t i = 1, k = 0, digits = 0;

	if (len < 5 || p[0] != '<' || p[len - 1] != '>')
		return -1;
	for (; i < len - 1; i++) {
		if (p[i] == '.' && k == 0 && digits > 0) {
			k = 1;
			digits = 0;
			continue;
		}
		if (p[i] < '0' || p[i] > '9' || ++digits > 10)
			return -1;
		v[k] = v[k] * 10 + (uint64_t)(p[i] - '0');
	}
	if (k != 1 || digits == 0 || v[0] > UINT32_MAX || v[1] > UINT32_MAX ||
	    v[1] == 0)
		return -1;
	item->partial = true;
	item->origin = v[0];
	item->count = v[1];
	return 0;
}

/* BODY[...], BODY.PEEK[...], BINARY[...], BINARY.PEEK[...],
 * BINARY.SIZE[...] with an optional <partial>. */
static int parse_section_item(struct fetch_ctx *ctx, const char *atom,
			      const char **error_r)
{
	static const struct {
		const char *prefix;
		enum fetch_type type;
		bool peek;
	} kinds[] = {
		{ "BODY[", FETCH_SECTION, false },
		{ "BODY.PEEK[", FETCH_SECTION, true },
		{ "BINARY[", FETCH_BINARY, false },
		{ "BINARY.PEEK[", FETCH_BINARY, true },
		{ "BINARY.SIZE[", FETCH_BINARY_SIZE, true },
	};
	size_t k, plen, len = strlen(atom);
	const char *close;
	struct fetch_item *item;

	for (k = 0; k < N_ELEMENTS(kinds); k++)
		if (str_begins_with_icase(atom, kinds[k].prefix))
			break;
	if (k == N_ELEMENTS(kinds)) {
		*error_r = "Unknown FETCH item";
		return -1;
	}
	plen = strlen(kinds[k].prefix);
	close = memchr(atom + plen, ']', len - plen);
	if (close == NULL) {
		*error_r = "Missing ] in FETCH item";
		return -1;
	}
	if (!add_item(ctx, kinds[k].type)) {
		*error_r = "Too many FETCH items";
		return -1;
	}
	item = &ctx->items[ctx->item_count - 1];
	item->peek = kinds[k].peek;
	if (imap_section_parse(atom + plen, (size_t)(close - atom) - plen,
			       kinds[k].type != FETCH_SECTION, &item->sec,
			       error_r) < 0)
		return -1;
	const char *rest = close + 1;
	if (*rest != '\0') {
		if (item->type == FETCH_BINARY_SIZE ||
		    parse_partial(rest, strlen(rest), item) < 0) {
			*error_r = "Bad partial range";
			return -1;
		}
	}
	struct str key;
	str_init(&key, 64);
	str_append(&key, item->type == FETCH_SECTION ? "BODY[" :
			 item->type == FETCH_BINARY ? "BINARY[" :
			 "BINARY.SIZE[");
	imap_section_write(&item->sec, &key);
	str_append_c(&key, ']');
	if (item->partial)
		str_printfa(&key, "<%llu>", (unsigned long long)item->origin);
	item->key = str_steal(&key);
	if (!item->peek)
		ctx->sets_seen = true;
	ctx->needs_message = true;
	return 0;
}

static int parse_item(struct fetch_ctx *ctx, const struct imap_arg *arg,
		      bool macros_ok, const char **error_r)
{
	static const struct {
		const char *name;
		enum fetch_type type;
	} simple[] = {
		{ "FLAGS", FETCH_FLAGS },
		{ "INTERNALDATE", FETCH_INTERNALDATE },
		{ "RFC822.SIZE", FETCH_RFC822_SIZE },
		{ "UID", FETCH_UID },
		{ "ENVELOPE", FETCH_ENVELOPE },
		{ "BODY", FETCH_BODY },
		{ "BODYSTRUCTURE", FETCH_BODYSTRUCTURE },
		{ "RFC822", FETCH_RFC822 },
		{ "RFC822.HEADER", FETCH_RFC822_HEADER },
		{ "RFC822.TEXT", FETCH_RFC822_TEXT },
		{ "MODSEQ", FETCH_MODSEQ },
	};
	static const struct {
		const char *name;
		enum fetch_type items[5];
		size_t count;
	} macros[] = {
		{ "ALL", { FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_RFC822_SIZE,
			   FETCH_ENVELOPE }, 4 },
		{ "FAST", { FETCH_FLAGS, FETCH_INTERNALDATE,
			    FETCH_RFC822_SIZE }, 3 },
		{ "FULL", { FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_RFC822_SIZE,
			    FETCH_ENVELOPE, FETCH_BODY }, 5 },
	};

	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = "FETCH items are atoms";
		return -1;
	}
	for (size_t i = 0; macros_ok && i < N_ELEMENTS(macros); i++) {
		if (strcasecmp(arg->str, macros[i].name) != 0)
			continue;
		for (size_t j = 0; j < macros[i].count; j++)
			add_item(ctx, macros[i].items[j]);
		return 0;
	}
	for (size_t i = 0; i < N_ELEMENTS(simple); i++) {
		if (strcasecmp(arg->str, simple[i].name) != 0)
			continue;
		if (!add_item(ctx, simple[i].type)) {
			*error_r = "Too many FETCH items";
			return -1;
		}
		if (simple[i].type == FETCH_RFC822 ||
		    simple[i].type == FETCH_RFC822_TEXT)
			ctx->sets_seen = true;
		if (simple[i].type == FETCH_RFC822 ||
		    simple[i].type == FETCH_RFC822_TEXT ||
		    simple[i].type == FETCH_RFC822_HEADER)
			ctx->needs_message = true;
		return 0;
	}
	return parse_section_item(ctx, arg->str, error_r);
}

/* (CHANGEDSINCE n [VANISHED] [PARTIAL range]) */
static int parse_modifiers(struct fetch_ctx *ctx, const struct imap_arg *arg,
			   const char **error_r)
{
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0) {
		*error_r = "FETCH modifiers are a list";
		return -1;
	}
	for (size_t i = 0; i < arg->list_count; i++) {
		const struct imap_arg *a = &arg->list[i];

		if (imap_arg_atom_equals(a, "CHANGEDSINCE") &&
		    i + 1 < arg->list_count &&
		    a[1].type == IMAP_ARG_ATOM) {
			char *end;
			unsigned long long v = strtoull(a[1].str, &end, 10);
			if (*end != '\0' || a[1].str[0] < '0' ||
			    a[1].str[0] > '9' || v == 0 ||
			    v > INT64_MAX) {
				*error_r = "Bad CHANGEDSINCE value";
				return -1;
			}
			ctx->changedsince = v;
			i++;
			continue;
		}
		if (imap_arg_atom_equals(a, "VANISHED") && !ctx->vanished) {
			ctx->vanished = true;
			continue;
		}
		/* fetch-modifier =/ "PARTIAL" SP partial-range (RFC 9394
		 * section 4), once */
		if (imap_arg_atom_equals(a, "PARTIAL")) {
			if (ctx->has_partial || i + 1 == arg->list_count ||
			    imap_partial_range_parse(&a[1], &ctx->partial) <
				    0) {
				*error_r = "PARTIAL takes one range m:n or "
					   "-m:-n of non-zero numbers";
				return -1;
			}
			ctx->has_partial = true;
			i++;
			continue;
		}
		*error_r = "Unknown FETCH modifier";
		return -1;
	}
	if (ctx->vanished) {
		/* RFC 7162 3.2.6 */
		if (!ctx->uid || !ctx->client->qresync ||
		    ctx->changedsince == 0) {
			*error_r = "VANISHED needs UID FETCH, CHANGEDSINCE and "
				   "ENABLE QRESYNC";
			return -1;
		}
	}
	if (ctx->changedsince != 0 && !has_item(ctx, FETCH_MODSEQ))
		add_item(ctx, FETCH_MODSEQ);
	return 0;
}

/* FETCH ... (PARTIAL range): of the messages of the set (those changed
 * since CHANGEDSINCE's modseq, when given), in order, only the range's
 * (RFC 9394 section 3.3). */
static void apply_partial(struct fetch_ctx *ctx)
{
	struct imap_mailbox *mbox = ctx->client->mbox;
	size_t n = 0, first, count;

	for (size_t i = 0; i < ctx->uid_count; i++) {
		struct mail_index_record rec;
		const char *error;

		if (ctx->changedsince != 0 &&
		    mail_index_lookup_uid_flags(mbox->index, ctx->uids[i],
						MAIL_INDEX_READ_NO_DATE, &rec,
						&error) > 0 &&
		    rec.modseq <= ctx->changedsince)
			continue;
		ctx->uids[n++] = ctx->uids[i];
	}
	imap_partial_range_select(&ctx->partial, n, &first, &count);
	if (first > 0)
		memmove(ctx->uids, ctx->uids + first,
			count * sizeof(*ctx->uids));
	ctx->uid_count = count;
}

static void append_internaldate(struct str *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int off = 0;

	if (localtime_r(&tt, &tm) != NULL)
		off = (int)(tm.tm_gmtoff / 60);
	str_append(out, "INTERNALDATE \"");
	if (rfc822_date_imap_format(out, tt, off) < 0)
		str_append(out, " 1-Jan-1970 00:00:00 +0000");
	str_append_c(out, '"');
}

/* Appends "key data" for a string of bytes, with <partial> applied. */
static void append_data(struct str *out, const struct fetch_item *item,
			const char *key, const char *data, size_t len,
			bool binary)
{
	if (item != NULL && item->partial) {
		if (item->origin >= len) {
			data = "";
			len = 0;
		} else {
			data += item->origin;
			len -= (size_t)item->origin;
			if (len > item->count)
				len = (size_t)item->count;
		}
	}
	str_printfa(out, "%s ", key);
	if (binary && memchr(data, '\0', len) != NULL)
		imap_quote_literal8(out, data, len);
	else
		imap_quote_literal(out, data, len);
}

/* True when every item that reads the message reads only its header
 * (BODY[HEADER], BODY[HEADER.FIELDS (...)], BODY[HEADER.FIELDS.NOT
 * (...)], RFC822.HEADER, of the message itself, not of a part): then
 * only the header is read (imap_message_read_header()). */
static bool items_header_only(const struct fetch_ctx *ctx)
{
	for (size_t i = 0; i < ctx->item_count; i++) {
		const struct fetch_item *item = &ctx->items[i];

		switch (item->type) {
		case FETCH_RFC822_HEADER:
			break;
		case FETCH_SECTION:
			if (item->sec.part[0] != '\0' ||
			    (item->sec.text != IMAP_SECTION_HEADER &&
			     item->sec.text != IMAP_SECTION_HEADER_FIELDS &&
			     item->sec.text != IMAP_SECTION_HEADER_FIELDS_NOT))
				return false;
			break;
		case FETCH_RFC822:
		case FETCH_RFC822_TEXT:
		case FETCH_BINARY:
		case FETCH_BINARY_SIZE:
			return false;
		default:
			break;
		}
	}
	return true;
}

/* Reads the current message (CRLF form; only its header when
 * ctx->header_only) into ctx->msg once per message (*loaded tells whether
 * it was).  Returns false when it is gone or failed. */
static bool ctx_raw(struct fetch_ctx *ctx, uint32_t uid, bool *loaded)
{
	const char *error;
	int ret, fd;

	if (*loaded)
		return true;
	str_clear(&ctx->msg);
	if (ctx->header_only) {
		ret = imap_mailbox_open_message(ctx->client->mbox, uid, &fd,
						&error);
		if (ret > 0) {
			if (imap_message_read_header(fd, &ctx->msg, &error) < 0)
				ret = -1;
			close(fd);
		}
	} else {
		ret = imap_mailbox_read_message(ctx->client->mbox, uid,
						&ctx->msg, &error);
	}
	if (ret <= 0) {
		if (ret < 0)
			ctx->failed = true;
		else
			ctx->gone = true;
		return false;
	}
	*loaded = true;
	return true;
}

/* Loads and parses the current message once per message. */
static struct imap_message *ctx_message(struct fetch_ctx *ctx, uint32_t uid,
					bool *loaded,
					struct imap_message **parsed)
{
	if (*parsed != NULL)
		return *parsed;
	if (!ctx_raw(ctx, uid, loaded))
		return NULL;
	*parsed = imap_message_parse(str_c(&ctx->msg), str_len(&ctx->msg));
	return *parsed;
}

/* True for an item that is the whole message as it is (RFC822,
 * BODY[], BODY.PEEK[], with or without <partial>): sent without
 * parsing it. */
static bool item_whole(const struct fetch_item *item)
{
	return item->type == FETCH_RFC822 ||
	       (item->type == FETCH_SECTION && item->sec.part[0] == '\0' &&
		item->sec.text == IMAP_SECTION_BODY);
}

/* The sequence number of uid (0: not in the session's view): the one
 * after the last message's when the walk goes in UID order (it does),
 * else a search. */
static uint32_t fetch_seq(struct fetch_ctx *ctx, uint32_t uid)
{
	const struct imap_mailbox *mbox = ctx->client->mbox;
	uint32_t seq;

	if (ctx->last_seq < mbox->count && mbox->uids[ctx->last_seq] == uid)
		seq = ctx->last_seq + 1;
	else
		seq = imap_mailbox_seq(mbox, uid);
	ctx->last_seq = seq;
	return seq;
}

/* The "* n FETCH (...)" of one message, appended to out; pre: its
 * record read ahead (ctx->prefetch: NULL when the index has it no
 * more).
 * Returns false when the message is gone or failed (nothing
 * appended). */
static bool fetch_one(struct fetch_ctx *ctx, uint32_t uid,
		      const struct mail_index_record *pre, struct str *out)
{
	struct imap_client *client = ctx->client;
	struct imap_mailbox *mbox = client->mbox;
	struct mail_index_record rec;
	struct imap_message *parsed = NULL;
	bool flags_changed = false, ok = true, loaded = false;
	const char *error;
	size_t start = str_len(out);
	uint32_t seq = fetch_seq(ctx, uid);
	unsigned read_flags = ctx->read_flags;

	if (seq == 0 || (ctx->prefetch && pre == NULL)) {
		ctx->gone = true;
		return false;
	}
	if (ctx->prefetch) {
		rec = *pre;
	} else if (mail_index_lookup_uid_flags(mbox->index, uid, read_flags,
					       &rec, &error) <= 0) {
		ctx->gone = true;
		return false;
	}
	if (ctx->changedsince != 0 && rec.modseq <= ctx->changedsince)
		return true;
	if (ctx->sets_seen && !mbox->readonly &&
	    (mbox->rights & IMAP_ACL_SEEN) != 0 &&
	    (rec.flags & MAIL_INDEX_SEEN) == 0) {
		struct mail_index_change change = {
			.mode = MAIL_INDEX_MODIFY_ADD,
			.flags = MAIL_INDEX_SEEN,
		};
		if (imap_mailbox_store(mbox, &uid, 1, &change, NULL,
				       &error) > 0)
			flags_changed = true;
		if (mail_index_lookup_uid_flags(mbox->index, uid, read_flags,
						&rec, &error) <= 0) {
			ctx->gone = true;
			return false;
		}
	}
	str_append(out, "* ");
	str_append_uint(out, seq);
	str_append(out, " FETCH (");
	size_t body_start = str_len(out);
	if (ctx->want_uid) {
		str_append(out, "UID ");
		str_append_uint(out, uid);
	}
	if (flags_changed && !ctx->want_flags) {
		str_append(out, str_len(out) > body_start ? " FLAGS " :
			   "FLAGS ");
		imap_mailbox_flags(mbox, &rec, out);
	}

	for (size_t i = 0; ok && i < ctx->item_count; i++) {
		const struct fetch_item *item = &ctx->items[i];
		struct str tmp;
		enum imap_cache_field cf;
		uint64_t vsize;
		int ret;

		if (item->type == FETCH_UID)
			continue;
		if (str_len(out) > body_start)
			str_append_c(out, ' ');
		switch (item->type) {
		case FETCH_UID:
			break;
		case FETCH_FLAGS:
			str_append(out, "FLAGS ");
			imap_mailbox_flags(mbox, &rec, out);
			break;
		case FETCH_MODSEQ:
			str_append_n(out, "MODSEQ (", 8);
			str_append_uint(out, rec.modseq);
			str_append_c(out, ')');
			break;
		case FETCH_INTERNALDATE:
			append_internaldate(out, rec.internal_date);
			break;
		case FETCH_RFC822_SIZE:
			vsize = rec.vsize;
			if (!rec.has_vsize &&
			    mail_index_get_vsize(mbox->index, uid, &vsize,
						 &error) <= 0) {
				ok = false;
				break;
			}
			str_append_n(out, "RFC822.SIZE ", 12);
			str_append_uint(out, vsize);
			break;
		case FETCH_ENVELOPE:
		case FETCH_BODY:
		case FETCH_BODYSTRUCTURE:
			cf = item->type == FETCH_ENVELOPE ?
				     IMAP_CACHE_ENVELOPE :
			     item->type == FETCH_BODY ?
				     IMAP_CACHE_BODY :
				     IMAP_CACHE_BODYSTRUCTURE;
			str_append(out, item->type == FETCH_ENVELOPE ?
					"ENVELOPE " :
					item->type == FETCH_BODY ?
					"BODY " : "BODYSTRUCTURE ");
			/* ENVELOPE alone reads only the header; with BODY
			 * or BODYSTRUCTURE the file is parsed once */
			ret = imap_message_cached(
				mbox, uid, cf,
				has_item(ctx, FETCH_BODY) ||
					has_item(ctx, FETCH_BODYSTRUCTURE),
				out, &error);
			if (ret <= 0) {
				if (ret < 0)
					ctx->failed = true;
				else
					ctx->gone = true;
				ok = false;
			}
			break;
		case FETCH_RFC822:
		case FETCH_RFC822_HEADER:
		case FETCH_RFC822_TEXT:
		case FETCH_SECTION:
		case FETCH_BINARY:
		case FETCH_BINARY_SIZE:
			if (item_whole(item)) {
				/* no parse, no copy of a section */
				if (!ctx_raw(ctx, uid, &loaded)) {
					ok = false;
					break;
				}
				append_data(out,
					    item->type == FETCH_RFC822 ?
						    NULL : item,
					    item->type == FETCH_RFC822 ?
						    "RFC822" : item->key,
					    str_c(&ctx->msg),
					    str_len(&ctx->msg), false);
				break;
			}
			if (ctx_message(ctx, uid, &loaded, &parsed) == NULL) {
				ok = false;
				break;
			}
			str_init(&tmp, 1024);
			if (item->type == FETCH_RFC822) {
				append_data(out, NULL, "RFC822", parsed->data,
					    parsed->size, false);
			} else if (item->type == FETCH_RFC822_HEADER ||
				   item->type == FETCH_RFC822_TEXT) {
				struct imap_section sec = {
					.part = (char *)"",
					.text = item->type ==
							FETCH_RFC822_HEADER ?
							IMAP_SECTION_HEADER :
							IMAP_SECTION_TEXT,
				};
				(void)imap_message_section(parsed, &sec, &tmp);
				append_data(out, NULL,
					    item->type == FETCH_RFC822_HEADER ?
					    "RFC822.HEADER" : "RFC822.TEXT",
					    str_c(&tmp), str_len(&tmp), false);
			} else if (item->type == FETCH_SECTION) {
				if (imap_message_section(parsed, &item->sec,
							 &tmp) == 0)
					str_printfa(out, "%s NIL",
						    item->key);
				else
					append_data(out, item, item->key,
						    str_c(&tmp),
						    str_len(&tmp), false);
			} else {
				ret = imap_message_binary(parsed, &item->sec,
							  &tmp);
				if (ret < 0) {
					ctx->unknown_cte = true;
					ok = false;
				} else if (ret == 0) {
					str_printfa(out, "%s NIL",
						    item->key);
				} else if (item->type == FETCH_BINARY) {
					append_data(out, item, item->key,
						    str_c(&tmp),
						    str_len(&tmp), true);
				} else {
					str_printfa(out, "%s %zu", item->key,
						    str_len(&tmp));
				}
			}
			str_free(&tmp);
			break;
		}
	}
	imap_message_free(&parsed);
	if (!ok) {
		str_truncate(out, start);
		return false;
	}
	/* once CONDSTORE is on, FLAGS go with their MODSEQ (RFC 7162
	 * 3.1.4) */
	if (client->condstore && !ctx->want_modseq &&
	    (flags_changed || ctx->want_flags)) {
		str_append_n(out, " MODSEQ (", 9);
		str_append_uint(out, rec.modseq);
		str_append_c(out, ')');
	}
	str_append(out, ")\r\n");
	return true;
}

/* UID FETCH ... (CHANGEDSINCE n VANISHED): the UIDs of set expunged
 * after modseq, as "* VANISHED (EARLIER) set" (RFC 7162 3.2.6). */
static void send_vanished_earlier(struct imap_client *client,
				  const struct imap_seqset *set,
				  uint64_t modseq)
{
	struct imap_mailbox *mbox = client->mbox;
	const char *error;
	uint32_t *uids, max;
	size_t count, n = 0;

	if (mail_index_expunged_since(mbox->index, modseq, &uids, &count,
				      &error) < 0 || count == 0)
		return;
	/* "*" here reaches past the last message: "1:*" asks for every
	 * UID expunged, also those above the largest one left */
	max = UINT32_MAX;
	for (size_t i = 0; i < count; i++) {
		if (imap_seqset_contains(set, uids[i], max) &&
		    imap_mailbox_seq(mbox, uids[i]) == 0)
			uids[n++] = uids[i];
	}
	if (n > 0) {
		struct str s;

		str_init(&s, 64);
		str_append(&s, "* VANISHED (EARLIER) ");
		imap_seqset_append(&s, uids, n);
		str_append(&s, "\r\n");
		imap_client_write(client, str_c(&s), str_len(&s));
		str_free(&s);
	}
	free(uids);
}

/* ---- a light FETCH from the index's flags table ---- */

static int kwrec_cb(const struct mail_index_record *rec, void *context)
{
	struct fetch_kwrecs *k = context;
	struct fetch_kwrec *r;

	if (k->count == k->alloc) {
		k->alloc = k->alloc == 0 ? 64 : k->alloc * 2;
		k->recs = xreallocarray(k->recs, k->alloc, sizeof(*k->recs));
	}
	if (k->kw_len + rec->keyword_count > k->kw_alloc) {
		while (k->kw_len + rec->keyword_count > k->kw_alloc)
			k->kw_alloc = k->kw_alloc == 0 ? 256 :
							 k->kw_alloc * 2;
		k->kw = xreallocarray(k->kw, k->kw_alloc, sizeof(*k->kw));
	}
	r = &k->recs[k->count++];
	r->uid = rec->uid;
	r->flags = rec->flags;
	r->modseq = rec->modseq;
	r->kw_start = k->kw_len;
	r->kw_count = rec->keyword_count;
	if (rec->keyword_count > 0)
		memcpy(k->kw + k->kw_len, rec->keywords,
		       rec->keyword_count * sizeof(*k->kw));
	k->kw_len += rec->keyword_count;
	return 0;
}

/* The flag list of the system flags f alone (no \Recent, no keyword),
 * written by imap_mailbox_flags() itself the first time (a record of
 * UID 0, never \Recent): the same bytes as the records' path.  NULL
 * when it is longer than FETCH_FLAG_LIST_MAX (it cannot be). */
static const struct fetch_flag_list *table_flag_list(struct fetch_ctx *ctx,
						      uint8_t f)
{
	struct fetch_flag_list *fl = &ctx->flag_lists[f];

	if (fl->len == 0) {
		struct mail_index_record rec;

		memset(&rec, 0, sizeof(rec));
		rec.flags = f;
		str_clear(&ctx->scratch);
		imap_mailbox_flags(ctx->client->mbox, &rec, &ctx->scratch);
		fl->len = str_len(&ctx->scratch);
		if (fl->len < FETCH_FLAG_LIST_MAX)
			memcpy(fl->s, str_c(&ctx->scratch), fl->len);
	}
	return fl->len < FETCH_FLAG_LIST_MAX ? fl : NULL;
}

/* The position of uid in t (SIZE_MAX: not there), looked for from
 * "from" (the last one found) on when the walk goes up, as it does. */
static size_t table_find(const struct mail_index_flags_table *t,
			 size_t from, uint32_t uid)
{
	size_t lo = 0, hi = t->count;

	if (from < t->count && t->uids[from] <= uid) {
		if (t->uids[from] == uid)
			return from;
		if (from + 1 < t->count && t->uids[from + 1] == uid)
			return from + 1;
		lo = from + 1;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->count && t->uids[lo] == uid ? lo : SIZE_MAX;
}

/* The answer of the table's path is built in ctx->chunk and written
 * when it holds FETCH_CHUNK bytes; FETCH_CHUNK_ROOM more are kept for
 * the item being written, each item needing at most FETCH_ITEM_MAX
 * bytes (a flag list with keywords or \Recent goes through
 * chunk_put()). */
#define FETCH_CHUNK_ROOM 512
#define FETCH_ITEM_MAX 64

/* Writes ctx->chunk out. */
static void chunk_flush(struct fetch_ctx *ctx)
{
	if (ctx->chunk_len > 0 &&
	    imap_client_write(ctx->client, ctx->chunk, ctx->chunk_len) == 0)
		ctx->chunk_full = true;
	ctx->chunk_len = 0;
}

/* Makes room for an item of FETCH_ITEM_MAX bytes in ctx->chunk. */
static inline void chunk_room(struct fetch_ctx *ctx)
{
	if (ctx->chunk_len > FETCH_CHUNK + FETCH_CHUNK_ROOM - FETCH_ITEM_MAX)
		chunk_flush(ctx);
}

/* Appends len bytes of any length to the answer. */
static void chunk_put(struct fetch_ctx *ctx, const char *data, size_t len)
{
	if (len > FETCH_CHUNK + FETCH_CHUNK_ROOM - ctx->chunk_len)
		chunk_flush(ctx);
	if (len > FETCH_CHUNK) {
		if (imap_client_write(ctx->client, data, len) == 0)
			ctx->chunk_full = true;
		return;
	}
	memcpy(ctx->chunk + ctx->chunk_len, data, len);
	ctx->chunk_len += len;
}

/* Writes the decimal digits of v at p; returns how many. */
static inline size_t put_uint(char *p, uint64_t v)
{
	size_t n = 1;

	for (uint64_t x = v; x >= 10; x /= 10)
		n++;
	for (size_t i = n; i-- > 0; v /= 10)
		p[i] = (char)('0' + v % 10);
	return n;
}

#define PUT_LIT(buf, n, lit) \
	(memcpy((buf) + (n), (lit), sizeof(lit) - 1), (n) += sizeof(lit) - 1)

/* Appends "* seq FETCH (...)" of one message to the answer: what
 * fetch_one() writes for the items of a light FETCH. */
static void table_line(struct fetch_ctx *ctx, uint32_t seq, uint32_t uid,
		       uint8_t flags, uint64_t modseq, const uint32_t *kw,
		       size_t kw_count)
{
	const struct imap_mailbox *mbox = ctx->client->mbox;
	const struct fetch_flag_list *fl;
	char *buf = ctx->chunk;
	size_t n;
	bool first = true;

	chunk_room(ctx);
	n = ctx->chunk_len;
	PUT_LIT(buf, n, "* ");
	n += put_uint(buf + n, seq);
	PUT_LIT(buf, n, " FETCH (");
	if (ctx->want_uid) {
		PUT_LIT(buf, n, "UID ");
		n += put_uint(buf + n, uid);
		first = false;
	}
	for (size_t i = 0; i < ctx->item_count; i++) {
		ctx->chunk_len = n;
		chunk_room(ctx);
		n = ctx->chunk_len;
		switch (ctx->items[i].type) {
		case FETCH_FLAGS:
			if (!first)
				buf[n++] = ' ';
			PUT_LIT(buf, n, "FLAGS ");
			fl = NULL;
			if (kw_count == 0 &&
			    (mbox->recent_count == 0 || mbox->no_recent ||
			     !imap_mailbox_is_recent(mbox, uid)))
				fl = table_flag_list(
					ctx, flags & MAIL_INDEX_FLAGS_MASK);
			if (fl != NULL) {
				/* a fixed size: no call of memcpy */
				memcpy(buf + n, fl->s, FETCH_FLAG_LIST_MAX);
				n += fl->len;
			} else {
				struct mail_index_record rec = {
					.uid = uid,
					.flags = flags,
					.keywords = kw,
					.keyword_count = kw_count,
				};
				ctx->chunk_len = n;
				str_clear(&ctx->scratch);
				imap_mailbox_flags(mbox, &rec, &ctx->scratch);
				chunk_put(ctx, str_c(&ctx->scratch),
					  str_len(&ctx->scratch));
				n = ctx->chunk_len;
			}
			break;
		case FETCH_MODSEQ:
			if (!first)
				buf[n++] = ' ';
			PUT_LIT(buf, n, "MODSEQ (");
			n += put_uint(buf + n, modseq);
			buf[n++] = ')';
			break;
		default:
			/* FETCH_UID, written first; a light FETCH has no
			 * other item */
			continue;
		}
		first = false;
	}
	ctx->chunk_len = n;
	chunk_room(ctx);
	n = ctx->chunk_len;
	/* once CONDSTORE is on, FLAGS go with their MODSEQ (RFC 7162
	 * 3.1.4) */
	if (ctx->client->condstore && !ctx->want_modseq && ctx->want_flags) {
		PUT_LIT(buf, n, " MODSEQ (");
		n += put_uint(buf + n, modseq);
		buf[n++] = ')';
	}
	PUT_LIT(buf, n, ")\r\n");
	ctx->chunk_len = n;
}

/* Answers a light FETCH from the index's flags table
 * (mail_index_get_flags_table(): no lookup or allocation a message;
 * only the records of messages with two keywords or more are read, for
 * their keywords' order), FETCH_CHUNK bytes written at a time; the
 * last ones are left in out.  Returns 1 when every message is answered,
 * 0 when the output is full (call again), -1 when the table cannot
 * answer (keyword ids it does not keep, or an error): the records'
 * path goes on from ctx->next. */
static int fetch_table_step(struct fetch_ctx *ctx, struct str *out)
{
	struct imap_client *client = ctx->client;
	struct mail_index *index = client->mbox->index;
	struct mail_index_flags_table t;
	size_t pos[FETCH_TABLE_STEP], j = 0;
	uint32_t multi[FETCH_TABLE_STEP];
	const char *error;

	if (mail_index_get_flags_table(index, &t, &error) < 0 ||
	    !t.keywords_complete)
		return -1;
	if (ctx->chunk == NULL) {
		ctx->kwrecs = xcalloc(1, sizeof(*ctx->kwrecs));
		ctx->flag_lists = xcalloc(MAIL_INDEX_FLAGS_MASK + 1,
					  sizeof(*ctx->flag_lists));
		ctx->chunk = xmalloc(FETCH_CHUNK + FETCH_CHUNK_ROOM);
		str_init(&ctx->scratch, 256);
	}
	ctx->chunk_full = false;
	while (ctx->next < ctx->uid_count) {
		const uint32_t *uids = ctx->uids + ctx->next;
		size_t step = ctx->uid_count - ctx->next, nmulti = 0, k = 0;
		struct fetch_kwrecs *kr = ctx->kwrecs;

		if (step > FETCH_TABLE_STEP)
			step = FETCH_TABLE_STEP;
		for (size_t i = 0; i < step; i++) {
			size_t p = table_find(&t, j, uids[i]);

			pos[i] = p;
			if (p == SIZE_MAX)
				continue;
			j = p;
			if (t.keywords != NULL &&
			    (t.keywords[p] & (t.keywords[p] - 1)) != 0)
				multi[nmulti++] = uids[i];
		}
		kr->count = 0;
		kr->kw_len = 0;
		if (nmulti > 0 &&
		    mail_index_lookup_uids_flags(index, multi, nmulti,
						 MAIL_INDEX_READ_FLAGS_ONLY,
						 kwrec_cb, kr, &error) < 0)
			kr->count = 0;	/* as lookups that failed: gone */
		for (size_t i = 0; i < step; i++) {
			uint32_t uid = uids[i], one;
			uint32_t seq = fetch_seq(ctx, uid);
			size_t p = pos[i], nkw = 0;
			const uint32_t *kw = NULL;
			uint64_t mask, modseq;
			uint8_t flags;

			if (seq == 0 || p == SIZE_MAX) {
				ctx->gone = true;
				continue;
			}
			flags = t.flags[p];
			modseq = t.modseqs[p];
			mask = t.keywords != NULL ? t.keywords[p] : 0;
			if ((mask & (mask - 1)) != 0) {
				/* the records came in the order asked, the
				 * missing ones left out */
				if (k == kr->count || kr->recs[k].uid != uid) {
					ctx->gone = true;
					continue;
				}
				flags = kr->recs[k].flags;
				modseq = kr->recs[k].modseq;
				kw = kr->kw + kr->recs[k].kw_start;
				nkw = kr->recs[k].kw_count;
				k++;
			} else if (mask != 0) {
				one = (uint32_t)__builtin_ctzll(mask);
				kw = &one;
				nkw = 1;
			}
			if (ctx->changedsince != 0 &&
			    modseq <= ctx->changedsince)
				continue;
			table_line(ctx, seq, uid, flags, modseq, kw, nkw);
		}
		ctx->next += step;
		if (ctx->chunk_len >= FETCH_CHUNK)
			chunk_flush(ctx);
		if (ctx->chunk_full && ctx->next < ctx->uid_count) {
			chunk_flush(ctx);
			return 0;
		}
	}
	/* the last bytes go with the tagged reply */
	str_append_n(out, ctx->chunk, ctx->chunk_len);
	ctx->chunk_len = 0;
	return 1;
}

static bool fetch_step(struct imap_client *client, void *context)
{
	struct fetch_ctx *ctx = context;
	struct str out;

	struct mail_index_record pre_recs[FETCH_STEP];
	struct fetch_pre pre = { .recs = pre_recs };

	str_init(&out, FETCH_CHUNK + 4096);
	if (ctx->table && client->conn != NULL && client->mbox != NULL) {
		int ret = fetch_table_step(ctx, &out);

		if (ret == 0) {
			str_free(&out);
			return false;
		}
		if (ret < 0)
			ctx->table = false;
	}
	while (ctx->next < ctx->uid_count && client->conn != NULL &&
	       client->mbox != NULL) {
		size_t n = 0, k = 0, step = ctx->uid_count - ctx->next;
		int more = 1;
		const char *error;

		if (step > FETCH_STEP)
			step = FETCH_STEP;
		if (ctx->prefetch &&
		    mail_index_lookup_uids_flags(
			    client->mbox->index, ctx->uids + ctx->next, step,
			    ctx->light ? MAIL_INDEX_READ_FLAGS_ONLY :
					 ctx->read_flags,
			    prefetch_cb, &pre, &error) < 0) {
			/* as a lookup that failed: the messages are gone */
			prefetch_free(&pre);
		}
		for (; n < step; n++) {
			uint32_t uid = ctx->uids[ctx->next++];
			const struct mail_index_record *r = NULL;

			/* the records came in the order asked, the
			 * missing ones left out */
			if (k < pre.count && pre.recs[k].uid == uid)
				r = &pre.recs[k++];
			(void)fetch_one(ctx, uid, r, &out);
			if (str_len(&out) >= FETCH_CHUNK)
				break;
		}
		prefetch_free(&pre);
		/* written FETCH_CHUNK bytes at a time; the last ones go
		 * with the tagged reply */
		if (str_len(&out) < FETCH_CHUNK)
			continue;
		more = imap_client_write(client, str_c(&out), str_len(&out));
		str_clear(&out);
		if (more == 0 && ctx->next < ctx->uid_count) {
			str_free(&out);
			return false;
		}
	}
	if (client->mbox != NULL)
		imap_mailbox_cache_flush(client->mbox);

	struct imap_cmd cmd = {
		.client = client,
		.tag = ctx->tag,
		.name = "FETCH",
		.uid = ctx->uid,
	};
	/* the answer's last bytes and the tagged reply in one write (a
	 * disconnect is only acted on from the loop: conn stays) */
	struct conn *conn = client->conn;
	if (conn != NULL)
		conn_cork(conn);
	(void)imap_client_write(client, str_c(&out), str_len(&out));
	str_free(&out);
	if (ctx->unknown_cte)
		imap_cmd_no(&cmd, "[UNKNOWN-CTE] Unknown "
				  "Content-Transfer-Encoding");
	else if (ctx->failed)
		imap_cmd_no(&cmd, "[SERVERBUG] Some messages could not be "
				  "read");
	else if (ctx->gone)
		imap_cmd_ok(&cmd, "[EXPUNGEISSUED] Some messages were "
				  "expunged");
	else
		imap_cmd_ok(&cmd, "%sFETCH completed", ctx->uid ? "UID " : "");
	if (conn != NULL)
		conn_uncork(conn);
	return true;
}

void cmd_fetch(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	struct fetch_ctx *ctx;
	struct imap_seqset set;
	const char *error;

	if (cmd->count < 2 || cmd->count > 3 ||
	    cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "FETCH takes a sequence set and items");
		return;
	}
	if (imap_mailbox_parse_set(client->mbox, cmd->args[0].str, cmd->uid,
				   &set, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->client = client;
	ctx->tag = xstrdup(cmd->tag);
	ctx->uid = cmd->uid;
	str_init(&ctx->msg, 4096);
	int ret = 0;
	const struct imap_arg *items = &cmd->args[1];
	if (items->type == IMAP_ARG_LIST) {
		if (items->list_count == 0) {
			error = "Empty FETCH item list";
			ret = -1;
		}
		for (size_t i = 0; ret == 0 && i < items->list_count; i++)
			ret = parse_item(ctx, &items->list[i], false, &error);
	} else {
		ret = parse_item(ctx, items, true, &error);
	}
	if (ret == 0 && cmd->count == 3)
		ret = parse_modifiers(ctx, &cmd->args[2], &error);
	/* MODSEQ and CHANGEDSINCE enable CONDSTORE (RFC 7162 3.1) */
	if (ret == 0 && has_item(ctx, FETCH_MODSEQ))
		client->condstore = true;
	if (ret < 0) {
		imap_seqset_free(&set);
		fetch_ctx_free(ctx);
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	ctx->light = !ctx->sets_seen;
	ctx->prefetch = !ctx->sets_seen;
	/* the index reads a date it does not know yet from the file: only
	 * for INTERNALDATE */
	ctx->read_flags = has_item(ctx, FETCH_INTERNALDATE) ?
				  0 : MAIL_INDEX_READ_NO_DATE;
	for (size_t i = 0; i < ctx->item_count; i++)
		if (ctx->items[i].type != FETCH_FLAGS &&
		    ctx->items[i].type != FETCH_UID &&
		    ctx->items[i].type != FETCH_MODSEQ)
			ctx->light = false;
	ctx->header_only = items_header_only(ctx);
	imap_mailbox_resolve(client->mbox, &set, cmd->uid, &ctx->uids,
			     &ctx->uid_count);
	/* many messages, or the thread keeps the folder's table: from the
	 * table (fetch_table_step()) */
	ctx->want_uid = ctx->uid || has_item(ctx, FETCH_UID);
	ctx->want_flags = has_item(ctx, FETCH_FLAGS);
	ctx->want_modseq = has_item(ctx, FETCH_MODSEQ);
	ctx->table = ctx->light &&
		     (ctx->uid_count >= FETCH_TABLE_MIN ||
		      mail_index_flags_table_is_kept(client->mbox->index));
	if (ctx->has_partial)
		apply_partial(ctx);
	if (ctx->vanished)
		send_vanished_earlier(client, &set, ctx->changedsince);
	imap_seqset_free(&set);
	if (!fetch_step(client, ctx))
		imap_client_output_start(client, fetch_step, fetch_ctx_free,
					 ctx);
	else
		fetch_ctx_free(ctx);
}
