/* imap-envelope.c: the RFC 3501 ENVELOPE of a message header. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-envelope.h"
#include "imap-quote.h"
#include "mem.h"
#include "rfc822-addr.h"

static const char *const field_names[IMAP_ENV_FIELD_COUNT] = {
	"Date", "Subject", "From", "Sender", "Reply-To",
	"To", "Cc", "Bcc", "In-Reply-To", "Message-ID",
};

void imap_envelope_add_field(struct imap_envelope *env, const char *name,
			     size_t name_len, const char *value,
			     size_t value_len)
{
	for (size_t i = 0; i < IMAP_ENV_FIELD_COUNT; i++) {
		if (strlen(field_names[i]) != name_len ||
		    strncasecmp(field_names[i], name, name_len) != 0)
			continue;
		if (env->values[i] != NULL)
			return;	/* the first one counts */
		if (value_len > IMAP_ENVELOPE_MAX_VALUE)
			value_len = IMAP_ENVELOPE_MAX_VALUE;
		env->values[i] = xmemdup(value, value_len + 1);
		env->values[i][value_len] = '\0';
		env->lens[i] = value_len;
		return;
	}
}

void imap_envelope_clear(struct imap_envelope *env)
{
	for (size_t i = 0; i < IMAP_ENV_FIELD_COUNT; i++) {
		free(env->values[i]);
		env->values[i] = NULL;
		env->lens[i] = 0;
	}
}

static void write_nstring(struct str *out, const char *s, size_t len)
{
	if (s == NULL)
		str_append(out, "NIL");
	else
		imap_quote_string(out, s, len, false);
}

static void write_ncstr(struct str *out, const char *s)
{
	write_nstring(out, s, s != NULL ? strlen(s) : 0);
}

void imap_envelope_write_addresses(struct str *out, const char *value,
				   size_t len)
{
	struct rfc822_addr_parser *parser;
	struct rfc822_addr_list *list = NULL;
	size_t written = 0;
	const char *error;

	if (value == NULL) {
		str_append(out, "NIL");
		return;
	}
	parser = rfc822_addr_parser_create(NULL);
	if (rfc822_addr_parse(parser, value, len, &list, &error) < 0)
		list = NULL;
	rfc822_addr_parser_destroy(&parser);
	if (list == NULL) {
		str_append(out, "NIL");
		return;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct rfc822_addr *a = &list->addrs[i];

		if (a->invalid)
			continue;
		str_append(out, written == 0 ? "((" : "(");
		written++;
		switch (a->type) {
		case RFC822_ADDR_GROUP_START:
			str_append(out, "NIL NIL ");
			write_ncstr(out, a->name != NULL ? a->name : "");
			str_append(out, " NIL)");
			break;
		case RFC822_ADDR_GROUP_END:
			str_append(out, "NIL NIL NIL NIL)");
			break;
		case RFC822_ADDR_MAILBOX:
			write_ncstr(out, a->name);
			str_append_c(out, ' ');
			write_ncstr(out, a->route);
			str_append_c(out, ' ');
			write_ncstr(out, a->local != NULL ? a->local : "");
			str_append_c(out, ' ');
			/* a missing domain is "", never NIL: NIL would
			 * make the entry a group marker */
			write_ncstr(out, a->domain != NULL ? a->domain : "");
			str_append_c(out, ')');
			break;
		}
	}
	str_append(out, written == 0 ? "NIL" : ")");
	rfc822_addr_list_free(&list);
}

void imap_envelope_write(const struct imap_envelope *env, struct str *out)
{
	const char *const *v = (const char *const *)env->values;
	const size_t *l = env->lens;

	str_append_c(out, '(');
	write_nstring(out, v[IMAP_ENV_DATE], l[IMAP_ENV_DATE]);
	str_append_c(out, ' ');
	write_nstring(out, v[IMAP_ENV_SUBJECT], l[IMAP_ENV_SUBJECT]);
	size_t from_start = 0, from_len = 0;
	for (size_t i = IMAP_ENV_FROM; i <= IMAP_ENV_BCC; i++) {
		str_append_c(out, ' ');
		/* RFC 3501: sender and reply-to default to from, whose
		 * list is copied rather than parsed again */
		if ((i == IMAP_ENV_SENDER || i == IMAP_ENV_REPLY_TO) &&
		    (v[i] == NULL || l[i] == 0)) {
			/* (a copy: appending may move out's buffer) */
			char small[1024];
			char *from = from_len <= sizeof(small) ?
					     small : xmalloc(from_len);
			memcpy(from, str_c(out) + from_start, from_len);
			str_append_n(out, from, from_len);
			if (from != small)
				free(from);
			continue;
		}
		size_t start = str_len(out);
		imap_envelope_write_addresses(out, v[i], l[i]);
		if (i == IMAP_ENV_FROM) {
			from_start = start;
			from_len = str_len(out) - start;
		}
	}
	str_append_c(out, ' ');
	write_nstring(out, v[IMAP_ENV_IN_REPLY_TO], l[IMAP_ENV_IN_REPLY_TO]);
	str_append_c(out, ' ');
	write_nstring(out, v[IMAP_ENV_MESSAGE_ID], l[IMAP_ENV_MESSAGE_ID]);
	str_append_c(out, ')');
}
