/* imap-sort.c: SORT keys from message headers, the RFC 5256 base
 * subject, and sorting. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-search.h"
#include "imap-sort.h"
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

void imap_sort_msg_field(struct imap_sort_msg *msg, const char *name,
			 const char *value, size_t value_len)
{
	if (strcasecmp(name, "Subject") == 0) {
		if (msg->subject == NULL && wants(msg, IMAP_SORT_WANT_SUBJECT))
			msg->subject = imap_base_subject(value, value_len,
							 &msg->subject_reply);
	} else if (strcasecmp(name, "From") == 0) {
		if (msg->from == NULL && wants(msg, IMAP_SORT_WANT_FROM)) {
			address_keys(value, value_len, &msg->from,
				     &msg->display_from);
			if (msg->from == NULL)
				msg->from = xstrdup("");
		}
	} else if (strcasecmp(name, "To") == 0) {
		if (msg->to == NULL && wants(msg, IMAP_SORT_WANT_TO)) {
			address_keys(value, value_len, &msg->to,
				     &msg->display_to);
			if (msg->to == NULL)
				msg->to = xstrdup("");
		}
	} else if (strcasecmp(name, "Cc") == 0) {
		if (msg->cc == NULL && wants(msg, IMAP_SORT_WANT_CC)) {
			address_keys(value, value_len, &msg->cc, NULL);
			if (msg->cc == NULL)
				msg->cc = xstrdup("");
		}
	} else if (strcasecmp(name, "Date") == 0) {
		time_t t;
		int tz;

		if (!msg->has_date && wants(msg, IMAP_SORT_WANT_DATE) &&
		    rfc822_date_parse(value, value_len, &t, &tz) == 0) {
			msg->date = (int64_t)t;
			msg->has_date = true;
		}
	} else if (!wants(msg, IMAP_SORT_WANT_IDS)) {
		return;
	} else if (strcasecmp(name, "Message-ID") == 0 &&
		   msg->message_id == NULL) {
		msg->message_id = xstrndup(value, value_len > MAX_VALUE ?
							  MAX_VALUE :
							  value_len);
	} else if (strcasecmp(name, "References") == 0 &&
		   msg->references == NULL) {
		msg->references = xstrndup(value, value_len > MAX_VALUE ?
							  MAX_VALUE :
							  value_len);
	} else if (strcasecmp(name, "In-Reply-To") == 0 &&
		   msg->in_reply_to == NULL) {
		msg->in_reply_to = xstrndup(value, value_len > MAX_VALUE ?
							   MAX_VALUE :
							   value_len);
	}
}

static void default_str(char **s)
{
	if (*s == NULL)
		*s = xstrdup("");
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
	x_free(msg->subject);
	x_free(msg->from);
	x_free(msg->to);
	x_free(msg->cc);
	x_free(msg->display_from);
	x_free(msg->display_to);
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

void imap_sort(struct imap_sort_msg **msgs, size_t count,
	       const struct imap_sort_criterion *crit, size_t crit_count)
{
	struct sort_ctx ctx = { .crit = crit, .count = crit_count };

	if (count > 1)
		qsort_r(msgs, count, sizeof(*msgs), sort_cmp, &ctx);
}
