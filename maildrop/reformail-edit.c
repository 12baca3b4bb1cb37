/* reformail-edit.c: reformail's header edits (-a -A -i -I -R -u -U -f),
 * over fields split by lib's rfc822-header parser. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "mem.h"
#include "str.h"
#include "rfc822-addr.h"
#include "rfc822-header.h"
#include "reformail.h"

char *reformail_key(const char *text, size_t len)
{
	/* up to the colon, or the end of the first line when it has none
	 * (a line "Bad\n x: y" is "bad", as in Debian's reformail) */
	const char *nl = memchr(text, '\n', len);
	size_t first = nl != NULL ? (size_t)(nl - text) : len;
	const char *colon = memchr(text, ':', first);
	size_t n = colon != NULL ? (size_t)(colon - text) + 1 : first;
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

/* -a, -i and -I as Debian's reformail matches them: a header line is
 * the option's when the option starts with the line's key (up to its
 * colon, or the whole line when it has none), case aside: "-I 'Bad
 * line v'" replaces a line "Bad line". */
static bool key_prefix_of(const char *arg, const char *key)
{
	return strncasecmp(arg, key, strlen(key)) == 0;
}

static bool key_prefix_in(const char **list, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (key_prefix_of(list[i], key))
			return true;
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

/* A header line (text, its key) renamed by the idx-th -R. */
static char *renamed(const struct reformail_opts *o, size_t idx,
		     const char *key, const char *text)
{
	size_t klen = strlen(key), tlen = strlen(text);
	struct str s;

	str_init(&s, tlen + strlen(o->rename_new[idx]) + 1);
	str_append(&s, o->rename_new[idx]);
	if (klen < tlen)
		str_append(&s, text + klen);
	return str_steal(&s);
}

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

		if (key_prefix_in(o->add_rename, o->n_add_rename, f->key)) {
			char *t = xasprintf("Old-%s", f->text);

			fields_add(&out, t);
			continue;
		}
		if (key_prefix_in(o->add_replace, o->n_add_replace, f->key))
			continue;
		if (o->from_mode == 0 && from_addr != NULL &&
		    strcmp(f->key, "return-path:") == 0)
			continue;
		/* -U before -R: the line is held to the end (and renamed by
		 * -R there), as in Debian's reformail; -u for the same name
		 * wins over -U */
		if (key_in(o->uniq_last, o->n_uniq_last, f->key, NULL) &&
		    !key_in(o->uniq_first, o->n_uniq_first, f->key, NULL)) {
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
		if (key_in(o->rename_old, o->n_rename, f->key, &idx)) {
			fields_add(&out, renamed(o, idx, f->key, f->text));
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
		}
		fields_add(&out, xstrdup(f->text));
		present[n_present++] = f->key;
	}

	/* each header line stands for one -a of its name, the first one
	 * no other line stood for: "-a 'X: 1' -a 'X: 2'" on a message with
	 * one X: adds "X: 2", as Debian's reformail does */
	bool *had = xcalloc(o->n_add_missing + 1, sizeof(*had));

	for (size_t j = 0; j < n_present; j++) {
		for (size_t i = 0; i < o->n_add_missing; i++) {
			if (!had[i] &&
			    key_prefix_of(o->add_missing[i], present[j])) {
				had[i] = true;
				break;
			}
		}
	}
	for (size_t i = 0; i < o->n_add_missing; i++) {
		bool have = had[i];

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
	for (size_t i = 0; i < n_last; i++) {
		size_t idx;

		if (key_in(o->rename_old, o->n_rename, last[i].key, &idx))
			fields_add(&out, renamed(o, idx, last[i].key,
						 last[i].text));
		else
			fields_add(&out, xstrdup(last[i].text));
	}

	free(had);
	free(last);
	free(present);
	free(seen_first);
	reformail_fields_free(fields);
	*fields = out;
}

/* What Debian's reformail makes of an address our parser refuses (raw,
 * its trimmed text): the <...> in it, else its first word (a quoted
 * string kept with its quotes; a comment ends it).  NULL when empty. */
static char *first_word_address(const char *raw)
{
	const char *lt = strrchr(raw, '<'), *gt, *p;

	if (lt != NULL) {
		gt = strchr(lt, '>');
		return gt != NULL && gt > lt + 1 ?
			xstrndup(lt + 1, (size_t)(gt - lt - 1)) : NULL;
	}
	/* leading comments and blanks */
	for (;;) {
		unsigned int depth = 0;

		while (*raw == ' ' || *raw == '\t' || *raw == '\r' ||
		       *raw == '\n')
			raw++;
		if (*raw != '(')
			break;
		do {
			if (*raw == '\\' && raw[1] != '\0')
				raw++;
			else if (*raw == '(')
				depth++;
			else if (*raw == ')')
				depth--;
			raw++;
		} while (*raw != '\0' && depth > 0);
	}
	p = raw;
	if (*p == '"') {
		p++;
		while (*p != '\0' && *p != '"') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			p++;
		}
		if (*p == '"')
			p++;
	} else {
		while (*p != '\0' && *p != '(' && *p != ' ' && *p != '\t' &&
		       *p != '\r' && *p != '\n')
			p++;
	}
	return p > raw ? xstrndup(raw, (size_t)(p - raw)) : NULL;
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

			if (a->invalid && a->raw != NULL) {
				/* Courier's parser repairs what ours refuses:
				 * "x <a@b>" is a@b, "a@b c d" its first word */
				ret = first_word_address(a->raw);
				break;
			}
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
