/* reformail-edit.c: reformail's header edits (-a -A -i -I -R -u -U -f),
 * over fields split by lib's rfc822-header parser. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mem.h"
#include "str.h"
#include "rfc822-addr.h"
#include "rfc822-header.h"
#include "reformail.h"

char *reformail_key(const char *text, size_t len)
{
	const char *colon = memchr(text, ':', len);
	size_t n = colon != NULL ? (size_t)(colon - text) + 1 : len;
	char *key = xmemdup(text, n);

	return str_lcase(key);
}

static void fields_add(struct reformail_fields *f, char *text)
{
	if (f->count == f->size) {
		f->size = f->size == 0 ? 32 : f->size * 2;
		f->v = xreallocarray(f->v, f->size, sizeof(*f->v));
	}
	f->v[f->count].text = text;
	f->v[f->count].key = reformail_key(text, strlen(text));
	f->count++;
}

void reformail_fields_free(struct reformail_fields *fields)
{
	for (size_t i = 0; i < fields->count; i++) {
		free(fields->v[i].text);
		free(fields->v[i].key);
	}
	x_free(fields->v);
	fields->count = fields->size = 0;
}

struct split_ctx {
	const char *hdr;
	size_t len;
	struct reformail_fields *out;
};

static void split_cb(const struct rfc822_header_field *field, void *context)
{
	struct split_ctx *ctx = context;
	uint64_t off = field->offset, size = field->size;

	if (off >= ctx->len)
		return;
	if (size > ctx->len - off)
		size = ctx->len - off;
	if (size > 0 && ctx->hdr[off + size - 1] == '\n')
		size--;
	fields_add(ctx->out, xmemdup(ctx->hdr + off, (size_t)size));
}

void reformail_split_header(const char *hdr, size_t len,
			    struct reformail_fields *out)
{
	struct rfc822_header_limits lim = {
		.max_field_size = 1024,	/* only offsets are used */
		.max_header_size = (uint64_t)len + 2,
	};
	struct rfc822_header_parser *p = rfc822_header_parser_create(&lim);
	struct split_ctx ctx = { hdr, len, out };
	size_t consumed;

	/* The caller's block has no empty line: the parser sees all of it,
	 * then the end of input. */
	(void)rfc822_header_parser_feed(p, hdr, len, &consumed, split_cb, &ctx);
	rfc822_header_parser_finish(p, split_cb, &ctx);
	rfc822_header_parser_destroy(&p);
}

static bool key_in(const char **list, size_t n, const char *key, size_t *idx_r)
{
	for (size_t i = 0; i < n; i++) {
		char *k = reformail_key(list[i], strlen(list[i]));
		bool eq = strcmp(k, key) == 0;

		free(k);
		if (eq) {
			if (idx_r != NULL)
				*idx_r = i;
			return true;
		}
	}
	return false;
}

/* Whether an option header has nothing after its colon. */
static bool value_empty(const char *arg)
{
	const char *colon = strchr(arg, ':');

	return colon != NULL && colon[1] == '\0';
}

static void hex_rev(struct str *s, uint64_t v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int i = 0; i < 16; i++)
		str_append_c(s, hex[(v >> (4 * i)) & 15]);
}

/* The header an -a/-A option appends: "Message-ID:" with nothing after
 * the colon gets a made-up unique ID. */
static char *added_header(const char *arg, const char *host)
{
	static unsigned int seq;
	char *key = reformail_key(arg, strlen(arg));
	struct str s;

	if (strcmp(key, "message-id:") != 0 || !value_empty(arg)) {
		free(key);
		return xstrdup(arg);
	}
	free(key);
	str_init(&s, 80);
	str_printfa(&s, "%s <", arg);
	hex_rev(&s, (uint64_t)time(NULL));
	str_append_c(&s, '.');
	hex_rev(&s, ((uint64_t)seq++ << 32) | (uint64_t)getpid());
	str_printfa(&s, ".reformail@%s>", host);
	return str_steal(&s);
}

struct saved {
	char *key;
	char *text;
};

void reformail_edit(const struct reformail_opts *o,
		    struct reformail_fields *fields, const char *from_addr,
		    const char *host)
{
	struct reformail_fields out = { 0 };
	struct saved *last = xcalloc(fields->count + 1, sizeof(*last));
	size_t n_last = 0;
	char **present = xcalloc(fields->count + 1, sizeof(char *));
	size_t n_present = 0;
	char **seen_first = xcalloc(fields->count + 1, sizeof(char *));
	size_t n_seen = 0;

	for (size_t i = 0; i < fields->count; i++) {
		struct reformail_field *f = &fields->v[i];
		size_t idx;

		if (key_in(o->add_rename, o->n_add_rename, f->key, NULL)) {
			char *t = xasprintf("Old-%s", f->text);

			fields_add(&out, t);
			continue;
		}
		if (key_in(o->add_replace, o->n_add_replace, f->key, NULL))
			continue;
		if (o->from_mode == 0 && from_addr != NULL &&
		    strcmp(f->key, "return-path:") == 0)
			continue;
		if (key_in(o->rename_old, o->n_rename, f->key, &idx)) {
			size_t klen = strlen(f->key);
			size_t tlen = strlen(f->text);
			struct str s;

			str_init(&s, tlen + strlen(o->rename_new[idx]) + 1);
			str_append(&s, o->rename_new[idx]);
			if (klen < tlen)
				str_append(&s, f->text + klen);
			fields_add(&out, str_steal(&s));
			present[n_present++] = f->key;
			continue;
		}
		if (key_in(o->uniq_first, o->n_uniq_first, f->key, NULL)) {
			bool dup = false;

			for (size_t j = 0; j < n_seen && !dup; j++)
				dup = strcmp(seen_first[j], f->key) == 0;
			if (dup)
				continue;
			seen_first[n_seen++] = f->key;
		} else if (key_in(o->uniq_last, o->n_uniq_last, f->key, NULL)) {
			size_t j;

			for (j = 0; j < n_last; j++) {
				if (strcmp(last[j].key, f->key) == 0)
					break;
			}
			if (j < n_last) {
				memmove(&last[j], &last[j + 1],
					(n_last - j - 1) * sizeof(*last));
				n_last--;
			}
			last[n_last].key = f->key;
			last[n_last].text = f->text;
			n_last++;
			continue;
		}
		fields_add(&out, xstrdup(f->text));
		present[n_present++] = f->key;
	}

	for (size_t i = 0; i < o->n_add_missing; i++) {
		char *k = reformail_key(o->add_missing[i],
					strlen(o->add_missing[i]));
		bool have = false;

		for (size_t j = 0; j < n_present && !have; j++)
			have = strcmp(present[j], k) == 0;
		free(k);
		if (!have)
			fields_add(&out, added_header(o->add_missing[i], host));
	}
	for (size_t i = 0; i < o->n_add_always; i++)
		fields_add(&out, added_header(o->add_always[i], host));
	for (size_t i = 0; i < o->n_add_rename; i++) {
		if (!value_empty(o->add_rename[i]))
			fields_add(&out, xstrdup(o->add_rename[i]));
	}
	for (size_t i = 0; i < o->n_add_replace; i++) {
		if (!value_empty(o->add_replace[i]))
			fields_add(&out, xstrdup(o->add_replace[i]));
	}
	if (o->from_mode == 0 && from_addr != NULL)
		fields_add(&out, xasprintf("Return-Path: <%s>", from_addr));
	for (size_t i = 0; i < n_last; i++)
		fields_add(&out, xstrdup(last[i].text));

	free(last);
	free(present);
	free(seen_first);
	reformail_fields_free(fields);
	*fields = out;
}

/* The addr-spec of the first mailbox in a header value, or NULL. */
static char *first_address(const char *value)
{
	struct rfc822_addr_parser *p = rfc822_addr_parser_create(NULL);
	struct rfc822_addr_list *list = NULL;
	char *ret = NULL;

	if (rfc822_addr_parse(p, value, strlen(value), &list, NULL) >= 0 &&
	    list != NULL) {
		for (size_t i = 0; i < list->count; i++) {
			const struct rfc822_addr *a = &list->addrs[i];
			struct str s;

			if (a->type != RFC822_ADDR_MAILBOX || a->invalid)
				continue;
			str_init(&s, 64);
			(void)rfc822_addr_format_spec(&s, a);
			if (str_len(&s) > 0)
				ret = str_steal(&s);
			else
				str_free(&s);
			break;
		}
	}
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&p);
	return ret;
}

char *reformail_sender(const struct reformail_fields *fields)
{
	static const char *const order[] = {
		"errors-to:", "return-path:", "from:",
	};

	for (size_t k = 0; k < N_ELEMENTS(order); k++) {
		const struct reformail_field *found = NULL;

		for (size_t i = 0; i < fields->count; i++) {
			if (strcmp(fields->v[i].key, order[k]) == 0)
				found = &fields->v[i];
		}
		if (found != NULL) {
			struct str v;
			char *addr;

			str_init(&v, 128);
			reformail_value(&v, found);
			addr = first_address(str_c(&v));
			str_free(&v);
			return addr != NULL ? addr : xstrdup("root");
		}
	}
	return xstrdup("root");
}

char *reformail_from_line_addr(const char *line)
{
	const char *p = line + 5, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p;
	while (*end != '\0' && *end != ' ' && *end != '\t')
		end++;
	if (end > p && *p == '<')
		p++;
	if (end > p && end[-1] == '>')
		end--;
	return xstrndup(p, (size_t)(end - p));
}

void reformail_unfold(struct str *dest, const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		if (*p != '\n') {
			str_append_c(dest, *p);
			continue;
		}
		while (p[1] == ' ' || p[1] == '\t' || p[1] == '\n')
			p++;
		str_append_c(dest, ' ');
	}
}

void reformail_value(struct str *dest, const struct reformail_field *f)
{
	size_t klen = strlen(f->key), tlen = strlen(f->text);
	const char *v = f->text + (klen < tlen ? klen : tlen);

	while (*v == ' ' || *v == '\t' || *v == '\n')
		v++;
	reformail_unfold(dest, v);
}
