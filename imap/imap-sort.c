/* imap-sort.c: SORT keys from message headers, the RFC 5256 base
 * subject, and sorting. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-search.h"
#include "imap-sort.h"
#include "log.h"
#include "mail-index.h"
#include "mem.h"
#include "rfc2047.h"
#include "rfc822-addr.h"
#include "rfc822-date.h"

/* Longest field value looked at (a Subject or an address list). */
#define MAX_VALUE (64 * 1024)

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
}

int imap_sort_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char ca = (unsigned char)ascii_upper(*a);
		unsigned char cb = (unsigned char)ascii_upper(*b);

		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca == '\0')
			return 0;
	}
}

static bool prefix_icase(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(s, prefix, n) == 0;
}

/* Length of a subj-blob ("[" *BLOBCHAR "]" *WSP) at s, or 0. */
static size_t blob_len(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] != '[')
		return 0;
	for (i = 1; i < len && s[i] != ']'; i++) {
		if (s[i] == '[')
			return 0;
	}
	if (i == len)
		return 0;
	i++;
	while (i < len && s[i] == ' ')
		i++;
	return i;
}

/* Length of a subj-leader "*subj-blob subj-refwd" at s, or 0. */
static size_t refwd_len(const char *s, size_t len)
{
	size_t i = 0, n;

	while ((n = blob_len(s + i, len - i)) > 0)
		i += n;
	if (prefix_icase(s + i, len - i, "re"))
		i += 2;
	else if (prefix_icase(s + i, len - i, "fwd"))
		i += 3;
	else if (prefix_icase(s + i, len - i, "fw"))
		i += 2;
	else
		return 0;
	while (i < len && s[i] == ' ')
		i++;
	i += blob_len(s + i, len - i);
	if (i < len && s[i] == ':')
		return i + 1;
	return 0;
}

static bool has_nonspace(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ')
			return true;
	return false;
}

char *imap_base_subject(const char *value, size_t len, bool *reply_r)
{
	struct str dec;
	bool reply = false;

	str_init(&dec, len + 16);
	(void)rfc2047_decode(&dec, value, len > MAX_VALUE ? MAX_VALUE : len);
	/* (1) whitespace runs to one space */
	char *s = dec.data;
	size_t n = 0;
	bool space = false;
	for (size_t i = 0; i < str_len(&dec); i++) {
		char c = s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!space)
				s[n++] = ' ';
			space = true;
		} else {
			s[n++] = c;
			space = false;
		}
	}
	size_t start = 0, end = n;

	for (;;) {
		/* (2) trailers: "(fwd)" and whitespace */
		for (;;) {
			if (end > start && s[end - 1] == ' ') {
				end--;
			} else if (end - start >= 5 &&
				   strncasecmp(s + end - 5, "(fwd)", 5) == 0) {
				end -= 5;
				reply = true;
			} else {
				break;
			}
		}
		bool changed;
		do {
			changed = false;
			/* (3) leaders: whitespace and "Re:", "[x] Fwd[y]:" */
			for (;;) {
				size_t l;

				if (start < end && s[start] == ' ') {
					start++;
				} else if ((l = refwd_len(s + start,
							  end - start)) > 0) {
					start += l;
					reply = true;
					changed = true;
				} else {
					break;
				}
			}
			/* (4) a leading blob, unless nothing would be left */
			size_t b = blob_len(s + start, end - start);
			if (b > 0 && has_nonspace(s + start + b,
						  end - start - b)) {
				start += b;
				changed = true;
			}
		} while (changed);
		/* (6) "[Fwd: ...]" */
		if (end - start >= 6 && prefix_icase(s + start, end - start,
						     "[fwd:") &&
		    s[end - 1] == ']') {
			start += 5;
			end--;
			reply = true;
			continue;
		}
		break;
	}
	char *ret = xstrndup(s + start, end - start);
	str_free(&dec);
	if (reply_r != NULL)
		*reply_r = reply;
	return ret;
}

/* The first valid mailbox of an address list, or NULL. */
static const struct rfc822_addr *first_mailbox(struct rfc822_addr_list *list)
{
	for (size_t i = 0; list != NULL && i < list->count; i++) {
		const struct rfc822_addr *a = &list->addrs[i];

		if (a->type == RFC822_ADDR_MAILBOX && !a->invalid)
			return a;
	}
	return NULL;
}

static void address_keys(const char *value, size_t len, char **mailbox_r,
			 char **display_r)
{
	struct rfc822_addr_parser *p = rfc822_addr_parser_create(NULL);
	struct rfc822_addr_list *list = NULL;
	const struct rfc822_addr *a;

	if (len > MAX_VALUE)
		len = MAX_VALUE;
	(void)rfc822_addr_parse(p, value, len, &list, NULL);
	a = first_mailbox(list);
	if (a != NULL) {
		struct str s, folded;

		if (mailbox_r != NULL)
			*mailbox_r = xstrdup(a->local != NULL ? a->local : "");
		str_init(&s, 128);
		if (a->name != NULL && a->name[0] != '\0')
			(void)rfc2047_decode(&s, a->name, strlen(a->name));
		else
			(void)rfc822_addr_format_spec(&s, a);
		str_init(&folded, str_len(&s) + 16);
		imap_search_fold(NULL, str_c(&s), str_len(&s), &folded);
		str_free(&s);
		if (display_r != NULL)
			*display_r = str_steal(&folded);
		str_free(&folded);
	}
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&p);
}

/* Whether msg wants the fields of bit. */
static bool wants(const struct imap_sort_msg *msg, unsigned int bit)
{
	return msg->want == 0 || (msg->want & bit) != 0;
}

/* The header fields the keys come from. */
enum sort_field {
	FIELD_OTHER,
	FIELD_SUBJECT,
	FIELD_FROM,
	FIELD_TO,
	FIELD_CC,
	FIELD_DATE,
	FIELD_MESSAGE_ID,
	FIELD_REFERENCES,
	FIELD_IN_REPLY_TO,
};

/* Which of them name is, by its length and first letter before a
 * comparison (this runs for every cached field of every message). */
static enum sort_field field_of(const char *name)
{
	static const struct {
		const char *name;
		enum sort_field field;
	} fields[] = {
		{ "Subject", FIELD_SUBJECT },
		{ "From", FIELD_FROM },
		{ "To", FIELD_TO },
		{ "Cc", FIELD_CC },
		{ "Date", FIELD_DATE },
		{ "Message-ID", FIELD_MESSAGE_ID },
		{ "References", FIELD_REFERENCES },
		{ "In-Reply-To", FIELD_IN_REPLY_TO },
	};
	size_t len = strlen(name);
	char first = ascii_upper(name[0]);

	for (size_t i = 0; i < N_ELEMENTS(fields); i++) {
		if (fields[i].name[0] == first &&
		    strlen(fields[i].name) == len &&
		    strcasecmp(fields[i].name, name) == 0)
			return fields[i].field;
	}
	return FIELD_OTHER;
}

static char *id_value(const char *value, size_t value_len)
{
	return xstrndup(value, value_len > MAX_VALUE ? MAX_VALUE : value_len);
}

void imap_sort_msg_field(struct imap_sort_msg *msg, const char *name,
			 const char *value, size_t value_len)
{
	time_t t;
	int tz;

	switch (field_of(name)) {
	case FIELD_SUBJECT:
		if (msg->subject == NULL && wants(msg, IMAP_SORT_WANT_SUBJECT))
			msg->subject = imap_base_subject(value, value_len,
							 &msg->subject_reply);
		break;
	case FIELD_FROM:
		if (msg->from == NULL && wants(msg, IMAP_SORT_WANT_FROM)) {
			address_keys(value, value_len, &msg->from,
				     &msg->display_from);
			if (msg->from == NULL)
				msg->from = xstrdup("");
		}
		break;
	case FIELD_TO:
		if (msg->to == NULL && wants(msg, IMAP_SORT_WANT_TO)) {
			address_keys(value, value_len, &msg->to,
				     &msg->display_to);
			if (msg->to == NULL)
				msg->to = xstrdup("");
		}
		break;
	case FIELD_CC:
		if (msg->cc == NULL && wants(msg, IMAP_SORT_WANT_CC)) {
			address_keys(value, value_len, &msg->cc, NULL);
			if (msg->cc == NULL)
				msg->cc = xstrdup("");
		}
		break;
	case FIELD_DATE:
		if (!msg->has_date && wants(msg, IMAP_SORT_WANT_DATE) &&
		    rfc822_date_parse(value, value_len, &t, &tz) == 0) {
			msg->date = (int64_t)t;
			msg->has_date = true;
		}
		break;
	case FIELD_MESSAGE_ID:
		if (msg->message_id == NULL && wants(msg, IMAP_SORT_WANT_IDS))
			msg->message_id = id_value(value, value_len);
		break;
	case FIELD_REFERENCES:
		if (msg->references == NULL && wants(msg, IMAP_SORT_WANT_IDS))
			msg->references = id_value(value, value_len);
		break;
	case FIELD_IN_REPLY_TO:
		if (msg->in_reply_to == NULL &&
		    wants(msg, IMAP_SORT_WANT_IDS))
			msg->in_reply_to = id_value(value, value_len);
		break;
	case FIELD_OTHER:
		break;
	}
}

/* The "" of every key a message lacks (one string, never freed: a
 * folder of 100,000 messages without Cc costs no 100,000 allocations). */
static char empty_key[1];

static void default_str(char **s)
{
	if (*s == NULL)
		*s = empty_key;
}

static void free_key(char **s)
{
	if (*s != empty_key)
		free(*s);
	*s = NULL;
}

void imap_sort_msg_finish(struct imap_sort_msg *msg)
{
	if (!msg->has_date)
		msg->date = msg->arrival;
	default_str(&msg->subject);
	default_str(&msg->from);
	default_str(&msg->to);
	default_str(&msg->cc);
	default_str(&msg->display_from);
	default_str(&msg->display_to);
}

void imap_sort_msg_free(struct imap_sort_msg *msg)
{
	free_key(&msg->subject);
	free_key(&msg->from);
	free_key(&msg->to);
	free_key(&msg->cc);
	free_key(&msg->display_from);
	free_key(&msg->display_to);
	x_free(msg->message_id);
	x_free(msg->references);
	x_free(msg->in_reply_to);
}

int imap_sort_parse_criteria(const struct imap_arg *list,
			     struct imap_sort_criterion *crit,
			     const char **error_r)
{
	static const struct {
		const char *name;
		enum imap_sort_key key;
	} keys[] = {
		{ "ARRIVAL", IMAP_SORT_ARRIVAL },
		{ "CC", IMAP_SORT_CC },
		{ "DATE", IMAP_SORT_DATE },
		{ "FROM", IMAP_SORT_FROM },
		{ "SIZE", IMAP_SORT_SIZE },
		{ "SUBJECT", IMAP_SORT_SUBJECT },
		{ "TO", IMAP_SORT_TO },
		{ "DISPLAYFROM", IMAP_SORT_DISPLAYFROM },
		{ "DISPLAYTO", IMAP_SORT_DISPLAYTO },
	};
	int n = 0;
	bool reverse = false;

	if (list->type != IMAP_ARG_LIST || list->list_count == 0) {
		*error_r = "SORT criteria must be a non-empty list";
		return -1;
	}
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		size_t k;

		if (a->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid SORT criterion";
			return -1;
		}
		if (strcasecmp(a->str, "REVERSE") == 0) {
			if (reverse) {
				*error_r = "REVERSE REVERSE";
				return -1;
			}
			reverse = true;
			continue;
		}
		for (k = 0; k < N_ELEMENTS(keys); k++)
			if (strcasecmp(a->str, keys[k].name) == 0)
				break;
		if (k == N_ELEMENTS(keys)) {
			*error_r = "Unknown SORT criterion";
			return -1;
		}
		if (n == IMAP_SORT_MAX_CRITERIA) {
			*error_r = "Too many SORT criteria";
			return -1;
		}
		crit[n].key = keys[k].key;
		crit[n].reverse = reverse;
		n++;
		reverse = false;
	}
	if (reverse) {
		*error_r = "REVERSE must precede a criterion";
		return -1;
	}
	return n;
}

struct sort_ctx {
	const struct imap_sort_criterion *crit;
	size_t count;
};

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int sort_cmp(const void *pa, const void *pb, void *context)
{
	const struct imap_sort_msg *a = *(struct imap_sort_msg *const *)pa;
	const struct imap_sort_msg *b = *(struct imap_sort_msg *const *)pb;
	const struct sort_ctx *ctx = context;

	for (size_t i = 0; i < ctx->count; i++) {
		int r = 0;

		switch (ctx->crit[i].key) {
		case IMAP_SORT_ARRIVAL:
			r = cmp_i64(a->arrival, b->arrival);
			break;
		case IMAP_SORT_CC:
			r = imap_sort_casecmp(a->cc, b->cc);
			break;
		case IMAP_SORT_DATE:
			r = cmp_i64(a->date, b->date);
			break;
		case IMAP_SORT_FROM:
			r = imap_sort_casecmp(a->from, b->from);
			break;
		case IMAP_SORT_SIZE:
			r = cmp_u64(a->size, b->size);
			break;
		case IMAP_SORT_SUBJECT:
			r = imap_sort_casecmp(a->subject, b->subject);
			break;
		case IMAP_SORT_TO:
			r = imap_sort_casecmp(a->to, b->to);
			break;
		case IMAP_SORT_DISPLAYFROM:
			r = strcmp(a->display_from, b->display_from);
			break;
		case IMAP_SORT_DISPLAYTO:
			r = strcmp(a->display_to, b->display_to);
			break;
		}
		if (r != 0)
			return ctx->crit[i].reverse ? -r : r;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

unsigned int imap_sort_want(const struct imap_sort_criterion *crit,
			    size_t crit_count)
{
	unsigned int want = 0;

	for (size_t i = 0; i < crit_count; i++) {
		switch (crit[i].key) {
		case IMAP_SORT_ARRIVAL:
			want |= IMAP_SORT_WANT_ARRIVAL;
			break;
		case IMAP_SORT_CC:
			want |= IMAP_SORT_WANT_CC;
			break;
		case IMAP_SORT_DATE:
			want |= IMAP_SORT_WANT_DATE;
			break;
		case IMAP_SORT_FROM:
		case IMAP_SORT_DISPLAYFROM:
			want |= IMAP_SORT_WANT_FROM;
			break;
		case IMAP_SORT_SIZE:
			want |= IMAP_SORT_WANT_SIZE;
			break;
		case IMAP_SORT_SUBJECT:
			want |= IMAP_SORT_WANT_SUBJECT;
			break;
		case IMAP_SORT_TO:
		case IMAP_SORT_DISPLAYTO:
			want |= IMAP_SORT_WANT_TO;
			break;
		}
	}
	return want;
}

/* One message in a sort by a single numeric key: the key made unsigned
 * in the order wanted, then the sequence number. */
struct num_item {
	uint64_t key;
	uint32_t seq;
	uint32_t idx;
};

static int num_item_cmp(const void *pa, const void *pb)
{
	const struct num_item *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

/* Sorts items by key, stably: an LSD radix sort by bytes, skipping the
 * bytes every key shares (dates of one folder share their top bytes). */
static void num_radix_sort(struct num_item *items, size_t count)
{
	struct num_item *tmp = xreallocarray(NULL, count, sizeof(*tmp));
	struct num_item *src = items, *dst = tmp;
	size_t (*hist)[256] = xcalloc(8, sizeof(*hist));

	for (size_t i = 0; i < count; i++) {
		uint64_t k = items[i].key;

		for (int b = 0; b < 8; b++)
			hist[b][(k >> (8 * b)) & 0xff]++;
	}
	for (int b = 0; b < 8; b++) {
		size_t pos[256], sum = 0;
		unsigned int shift = 8 * (unsigned int)b;

		if (hist[b][(src[0].key >> shift) & 0xff] == count)
			continue; /* all the same byte */
		for (int v = 0; v < 256; v++) {
			pos[v] = sum;
			sum += hist[b][v];
		}
		for (size_t i = 0; i < count; i++)
			dst[pos[(src[i].key >> shift) & 0xff]++] = src[i];
		struct num_item *t = src;
		src = dst;
		dst = t;
	}
	if (src != items)
		memcpy(items, src, count * sizeof(*items));
	free(hist);
	free(tmp);
}

/* Orders msgs by items (their keys and sequence numbers; seq_order: the
 * items are in sequence order already) and frees items. */
static void num_items_apply(struct imap_sort_msg **msgs,
			    struct num_item *items, size_t count,
			    bool seq_order)
{
	struct imap_sort_msg **copy = xreallocarray(NULL, count,
						    sizeof(*copy));

	/* the radix sort is stable: in sequence order already, ties stay
	 * in sequence order */
	if (seq_order)
		num_radix_sort(items, count);
	else
		qsort(items, count, sizeof(*items), num_item_cmp);
	memcpy(copy, msgs, count * sizeof(*copy));
	for (size_t i = 0; i < count; i++)
		msgs[i] = copy[items[i].idx];
	free(copy);
	free(items);
}

/* The single numeric criterion's sort; false if crit is not one. */
static bool sort_numeric(struct imap_sort_msg **msgs, size_t count,
			 const struct imap_sort_criterion *crit,
			 size_t crit_count)
{
	if (crit_count != 1 || (crit[0].key != IMAP_SORT_DATE &&
				crit[0].key != IMAP_SORT_ARRIVAL &&
				crit[0].key != IMAP_SORT_SIZE))
		return false;

	struct num_item *items = xreallocarray(NULL, count, sizeof(*items));
	bool seq_order = true;

	for (size_t i = 0; i < count; i++) {
		const struct imap_sort_msg *m = msgs[i];
		uint64_t k;

		switch (crit[0].key) {
		case IMAP_SORT_DATE:
			k = (uint64_t)m->date ^ (1ULL << 63);
			break;
		case IMAP_SORT_ARRIVAL:
			k = (uint64_t)m->arrival ^ (1ULL << 63);
			break;
		default:
			k = m->size;
			break;
		}
		items[i].key = crit[0].reverse ? ~k : k;
		items[i].seq = m->seq;
		items[i].idx = (uint32_t)i;
		if (i > 0 && m->seq <= msgs[i - 1]->seq)
			seq_order = false;
	}
	num_items_apply(msgs, items, count, seq_order);
	return true;
}

/* A distinct key of a sort by a single string key. */
struct str_key {
	const char *key;
	uint32_t hash;
	uint32_t rank;
};

/* Hash of a key, case-mapped when casemap (keys equal for the
 * comparison hash alike). */
static uint32_t key_hash(const char *k, bool casemap)
{
	uint32_t h = 2166136261u;

	for (; *k != '\0'; k++) {
		h ^= (unsigned char)(casemap ? ascii_upper(*k) : *k);
		h *= 16777619u;
	}
	return h;
}

static int key_cmp(const char *a, const char *b, bool casemap)
{
	return casemap ? imap_sort_casecmp(a, b) : strcmp(a, b);
}

/* A distinct key being ranked: its first 8 bytes (case-mapped when the
 * comparison is) packed big-endian, so that most comparisons are one of
 * integers. */
struct key_rank {
	uint64_t prefix;
	const char *key;
	uint32_t index;		/* into the distinct keys */
	bool more;		/* the key is longer than its prefix */
};

static int key_rank_cmp(const void *pa, const void *pb, void *context)
{
	const struct key_rank *a = pa, *b = pb;

	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	if (!a->more && !b->more)
		return 0;
	return key_cmp(a->key + 8, b->key + 8, *(const bool *)context);
}

static void key_rank_init(struct key_rank *r, const char *k, bool casemap)
{
	uint64_t prefix = 0;
	bool end = false;

	for (int b = 0; b < 8; b++) {
		unsigned char c = end ? 0 : (unsigned char)k[b];

		if (c == 0)
			end = true;
		else if (casemap)
			c = (unsigned char)ascii_upper((char)c);
		prefix = prefix << 8 | c;
	}
	r->prefix = prefix;
	r->key = k;
	r->more = !end && k[8] != '\0';
}

static const char *string_key(const struct imap_sort_msg *m,
			      enum imap_sort_key key)
{
	switch (key) {
	case IMAP_SORT_SUBJECT:
		return m->subject;
	case IMAP_SORT_FROM:
		return m->from;
	case IMAP_SORT_TO:
		return m->to;
	case IMAP_SORT_CC:
		return m->cc;
	case IMAP_SORT_DISPLAYFROM:
		return m->display_from;
	case IMAP_SORT_DISPLAYTO:
		return m->display_to;
	default:
		return NULL;
	}
}

/* The single string criterion's sort; false if crit is not one.  A
 * folder has far fewer distinct subjects or addresses than messages: the
 * distinct keys are gathered (a hash table), sorted once, and the
 * messages ordered by (rank of their key, seq) as numbers. */
static bool sort_string(struct imap_sort_msg **msgs, size_t count,
			const struct imap_sort_criterion *crit,
			size_t crit_count)
{
	bool casemap = crit_count == 1 &&
		       crit[0].key != IMAP_SORT_DISPLAYFROM &&
		       crit[0].key != IMAP_SORT_DISPLAYTO;

	if (crit_count != 1 || string_key(msgs[0], crit[0].key) == NULL)
		return false;

	size_t nslots = 16, nd = 0;
	while (nslots < count * 2)
		nslots *= 2;
	/* slot: 1 + index into keys, 0 empty */
	uint32_t *slots = xcalloc(nslots, sizeof(*slots));
	uint32_t *key_of = xreallocarray(NULL, count, sizeof(*key_of));
	struct str_key *keys = xreallocarray(NULL, count, sizeof(*keys));
	bool seq_order = true;

	for (size_t i = 0; i < count; i++) {
		const char *k = string_key(msgs[i], crit[0].key);
		uint32_t h = key_hash(k, casemap);
		size_t slot = h & (nslots - 1);

		while (slots[slot] != 0) {
			const struct str_key *d = &keys[slots[slot] - 1];

			if (d->hash == h && key_cmp(d->key, k, casemap) == 0)
				break;
			slot = (slot + 1) & (nslots - 1);
		}
		if (slots[slot] == 0) {
			keys[nd].key = k;
			keys[nd].hash = h;
			slots[slot] = (uint32_t)++nd;
		}
		key_of[i] = slots[slot] - 1;
		if (i > 0 && msgs[i]->seq <= msgs[i - 1]->seq)
			seq_order = false;
	}
	free(slots);

	struct key_rank *order = xreallocarray(NULL, nd, sizeof(*order));
	for (size_t i = 0; i < nd; i++) {
		key_rank_init(&order[i], keys[i].key, casemap);
		order[i].index = (uint32_t)i;
	}
	qsort_r(order, nd, sizeof(*order), key_rank_cmp, &casemap);
	for (size_t i = 0; i < nd; i++)
		keys[order[i].index].rank =
			(uint32_t)(crit[0].reverse ? nd - 1 - i : i);
	free(order);

	struct num_item *items = xreallocarray(NULL, count, sizeof(*items));
	for (size_t i = 0; i < count; i++) {
		items[i].key = keys[key_of[i]].rank;
		items[i].seq = msgs[i]->seq;
		items[i].idx = (uint32_t)i;
	}
	free(keys);
	free(key_of);
	num_items_apply(msgs, items, count, seq_order);
	return true;
}

void imap_sort(struct imap_sort_msg **msgs, size_t count,
	       const struct imap_sort_criterion *crit, size_t crit_count)
{
	struct sort_ctx ctx = { .crit = crit, .count = crit_count };

	if (count <= 1)
		return;
	if (count <= UINT32_MAX && (sort_numeric(msgs, count, crit,
						 crit_count) ||
				    sort_string(msgs, count, crit,
						crit_count)))
		return;
	qsort_r(msgs, count, sizeof(*msgs), sort_cmp, &ctx);
}

/* ---- the keys kept in the index (mail_index_sortkey_*) ---- */

/* Value layout: magic, the IMAP_SORT_WANT_* header bits it holds, flags,
 * the sent date (int64, little endian), then the strings of the bits in
 * the order below, each a 2-byte little-endian length (KEY_NULL: none)
 * and its bytes. */
#define KEY_MAGIC 0xa5
#define KEY_HAS_DATE 0x01
#define KEY_REPLY 0x02
#define KEY_FIXED 11
#define KEY_NULL 0xffff

/* Appends s; false if it is too long to be kept exactly. */
static bool put_str(struct str *out, const char *s)
{
	size_t len = s != NULL ? strlen(s) : KEY_NULL;
	uint8_t l[2];

	if (s != NULL && len >= KEY_NULL)
		return false;
	l[0] = (uint8_t)len;
	l[1] = (uint8_t)(len >> 8);
	str_append_n(out, l, 2);
	if (s != NULL)
		str_append_n(out, s, len);
	return true;
}

/* Appends the value of msg's keys to out; false (out as it was) if a key
 * is too long to be kept exactly. */
static bool keys_encode(const struct imap_sort_msg *msg, struct str *out)
{
	unsigned int mask = msg->want == 0 ? IMAP_SORT_WANT_HEADER :
					     msg->want & IMAP_SORT_WANT_HEADER;
	uint8_t fixed[KEY_FIXED];
	uint64_t date = (uint64_t)msg->date;
	size_t start = str_len(out);
	bool ok = true;

	fixed[0] = KEY_MAGIC;
	fixed[1] = (uint8_t)mask;
	fixed[2] = (uint8_t)((msg->has_date ? KEY_HAS_DATE : 0) |
			     (msg->subject_reply ? KEY_REPLY : 0));
	for (int i = 0; i < 8; i++)
		fixed[3 + i] = msg->has_date ? (uint8_t)(date >> (8 * i)) : 0;
	str_append_n(out, fixed, KEY_FIXED);
	if ((mask & IMAP_SORT_WANT_SUBJECT) != 0)
		ok = put_str(out, msg->subject);
	if ((mask & IMAP_SORT_WANT_FROM) != 0)
		ok = put_str(out, msg->from) &&
		     put_str(out, msg->display_from) && ok;
	if ((mask & IMAP_SORT_WANT_TO) != 0)
		ok = put_str(out, msg->to) && put_str(out, msg->display_to) &&
		     ok;
	if ((mask & IMAP_SORT_WANT_CC) != 0)
		ok = put_str(out, msg->cc) && ok;
	if ((mask & IMAP_SORT_WANT_IDS) != 0)
		ok = put_str(out, msg->message_id) &&
		     put_str(out, msg->references) &&
		     put_str(out, msg->in_reply_to) && ok;
	if (!ok)
		str_truncate(out, start);
	return ok;
}

char *imap_sort_keys_encode(const struct imap_sort_msg *msg, size_t *len_r)
{
	struct str out;

	str_init(&out, 64);
	if (!keys_encode(msg, &out)) {
		str_free(&out);
		*len_r = 0;
		return NULL;
	}
	*len_r = str_len(&out);
	return str_steal(&out);
}

struct key_reader {
	const uint8_t *p, *end;
	bool bad;
};

/* The next string; *s_r set (a copy) only when take is true. */
static void get_str(struct key_reader *r, bool take, char **s_r)
{
	size_t len;

	if (r->bad || r->end - r->p < 2) {
		r->bad = true;
		return;
	}
	len = (size_t)r->p[0] | (size_t)r->p[1] << 8;
	r->p += 2;
	if (len == KEY_NULL)
		return;
	if ((size_t)(r->end - r->p) < len) {
		r->bad = true;
		return;
	}
	if (take && *s_r == NULL)
		*s_r = xstrndup((const char *)r->p, len);
	r->p += len;
}

int imap_sort_keys_decode(struct imap_sort_msg *msg, const void *data,
			  size_t len, unsigned int *stored_r)
{
	const uint8_t *d = data;
	unsigned int want = msg->want == 0 ? IMAP_SORT_WANT_HEADER :
					     msg->want & IMAP_SORT_WANT_HEADER;
	unsigned int mask;
	struct key_reader r = { .p = d + KEY_FIXED, .end = d + len };
	struct imap_sort_msg tmp;
	uint64_t date = 0;

	*stored_r = 0;
	if (len < KEY_FIXED || d[0] != KEY_MAGIC ||
	    (d[1] & ~IMAP_SORT_WANT_HEADER) != 0 ||
	    (d[2] & ~(KEY_HAS_DATE | KEY_REPLY)) != 0)
		return -1;
	mask = d[1];
	if (want == IMAP_SORT_WANT_DATE && (mask & want) != 0) {
		/* SORT (DATE): the fixed part is all it reads */
		*stored_r = mask;
		if ((d[2] & KEY_HAS_DATE) != 0) {
			for (int i = 0; i < 8; i++)
				date |= (uint64_t)d[3 + i] << (8 * i);
			msg->date = (int64_t)date;
			msg->has_date = true;
		}
		return 1;
	}
	/* decoded into a copy: a malformed value leaves msg untouched */
	memset(&tmp, 0, sizeof(tmp));
	if ((mask & IMAP_SORT_WANT_SUBJECT) != 0)
		get_str(&r, (want & IMAP_SORT_WANT_SUBJECT) != 0, &tmp.subject);
	if ((mask & IMAP_SORT_WANT_FROM) != 0) {
		bool take = (want & IMAP_SORT_WANT_FROM) != 0;

		get_str(&r, take, &tmp.from);
		get_str(&r, take, &tmp.display_from);
	}
	if ((mask & IMAP_SORT_WANT_TO) != 0) {
		bool take = (want & IMAP_SORT_WANT_TO) != 0;

		get_str(&r, take, &tmp.to);
		get_str(&r, take, &tmp.display_to);
	}
	if ((mask & IMAP_SORT_WANT_CC) != 0)
		get_str(&r, (want & IMAP_SORT_WANT_CC) != 0, &tmp.cc);
	if ((mask & IMAP_SORT_WANT_IDS) != 0) {
		bool take = (want & IMAP_SORT_WANT_IDS) != 0;

		get_str(&r, take, &tmp.message_id);
		get_str(&r, take, &tmp.references);
		get_str(&r, take, &tmp.in_reply_to);
	}
	if (r.bad || r.p != r.end) {
		imap_sort_msg_free(&tmp);
		return -1;
	}
	*stored_r = mask;
	if ((want & ~mask) != 0) {
		imap_sort_msg_free(&tmp);
		return 0;
	}
	if ((want & IMAP_SORT_WANT_SUBJECT) != 0) {
		msg->subject = tmp.subject;
		msg->subject_reply = (d[2] & KEY_REPLY) != 0;
	}
	if ((want & IMAP_SORT_WANT_FROM) != 0) {
		msg->from = tmp.from;
		msg->display_from = tmp.display_from;
	}
	if ((want & IMAP_SORT_WANT_TO) != 0) {
		msg->to = tmp.to;
		msg->display_to = tmp.display_to;
	}
	if ((want & IMAP_SORT_WANT_CC) != 0)
		msg->cc = tmp.cc;
	if ((want & IMAP_SORT_WANT_IDS) != 0) {
		msg->message_id = tmp.message_id;
		msg->references = tmp.references;
		msg->in_reply_to = tmp.in_reply_to;
	}
	if ((want & IMAP_SORT_WANT_DATE) != 0 && (d[2] & KEY_HAS_DATE) != 0) {
		for (int i = 0; i < 8; i++)
			date |= (uint64_t)d[3 + i] << (8 * i);
		msg->date = (int64_t)date;
		msg->has_date = true;
	}
	return 1;
}

struct imap_sort_keys {
	struct mail_index *index;
	struct mail_index_sortkey_reader *reader;
	/* the values of the messages whose header was read, to store: one
	 * buffer, and each value's UID and end in it */
	struct str values;
	struct sort_key_put {
		uint32_t uid;
		size_t end;
	} *put;
	size_t put_count, put_alloc;
};

struct imap_sort_keys *imap_sort_keys_begin(struct mail_index *index)
{
	struct imap_sort_keys *keys = xcalloc(1, sizeof(*keys));
	const char *error;

	keys->index = index;
	str_init(&keys->values, 4096);
	if (mail_index_sortkey_read_begin(index, &keys->reader, &error) < 0)
		log_warning("SORT: reading the index's sort keys: %s", error);
	return keys;
}

bool imap_sort_keys_get(struct imap_sort_keys *keys, struct imap_sort_msg *msg)
{
	const void *data;
	unsigned int stored;
	size_t len;

	if (keys == NULL ||
	    mail_index_sortkey_read(keys->reader, msg->uid, &data, &len) <= 0)
		return false;
	switch (imap_sort_keys_decode(msg, data, len, &stored)) {
	case 1:
		return true;
	case 0:
		/* the header is read: what was kept is worked out again,
		 * so that the value stored next keeps it */
		if (msg->want != 0)
			msg->want |= stored;
		return false;
	default:
		return false;
	}
}

void imap_sort_keys_add(struct imap_sort_keys *keys,
			const struct imap_sort_msg *msg)
{
	size_t start;

	if (keys == NULL)
		return;
	start = str_len(&keys->values);
	if (!keys_encode(msg, &keys->values))
		return;
	if (str_len(&keys->values) - start > MAIL_INDEX_SORTKEY_MAX) {
		str_truncate(&keys->values, start);
		return;
	}
	if (keys->put_count == keys->put_alloc) {
		keys->put_alloc = keys->put_alloc == 0 ? 256 :
							 keys->put_alloc * 2;
		keys->put = xreallocarray(keys->put, keys->put_alloc,
					  sizeof(*keys->put));
	}
	keys->put[keys->put_count].uid = msg->uid;
	keys->put[keys->put_count].end = str_len(&keys->values);
	keys->put_count++;
}

/* A failure to store keys was logged (by this process). */
static bool put_failed_logged;

void imap_sort_keys_end(struct imap_sort_keys **keysp)
{
	struct imap_sort_keys *keys = *keysp;
	struct mail_index_sortkey_entry *e;
	const char *error;
	size_t start = 0;

	if (keys == NULL)
		return;
	*keysp = NULL;
	mail_index_sortkey_read_end(&keys->reader);
	if (keys->put_count > 0) {
		e = xreallocarray(NULL, keys->put_count, sizeof(*e));
		for (size_t i = 0; i < keys->put_count; i++) {
			e[i].uid = keys->put[i].uid;
			e[i].data = str_c(&keys->values) + start;
			e[i].len = keys->put[i].end - start;
			start = keys->put[i].end;
		}
		/* the keys are an optimisation: a failure costs a parse
		 * (said once: a folder whose index cannot be written would
		 * say it at every SORT) */
		if (mail_index_sortkey_put_batch(keys->index, e,
						 keys->put_count, &error) < 0 &&
		    !put_failed_logged) {
			log_warning("SORT: storing the index's sort keys: %s",
				    error);
			put_failed_logged = true;
		}
		free(e);
	}
	str_free(&keys->values);
	free(keys->put);
	free(keys);
}
