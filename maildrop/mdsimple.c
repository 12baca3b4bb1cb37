/* mdsimple.c: maildrop's matcher for simple patterns (text, one .*,
 * groups of alternatives), giving PCRE2's answers without PCRE2. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdsimple.h"
#include "mem.h"

/* Most alternatives in one group, and the most paths through the groups
 * (the product of their sizes) a match may try at one place. */
#define MAX_ALTS 32
#define MAX_PATHS 256

enum item_type { ITEM_TEXT, ITEM_GROUP, ITEM_ANY };

struct item {
	enum item_type type;
	unsigned int group;	/* ITEM_GROUP: its number, from 0 */
	uint16_t off, len;	/* TEXT: text[off..off+len); GROUP: alts */
};

struct alt {
	uint16_t off, len;	/* text[off..off+len) */
};

struct md_simple {
	bool anchored, caseless, fold_safe, has_any;
	unsigned int ngroups, nitems, nalts;
	struct item *items;
	struct alt *alts;
	char *text;		/* folded to lower case when caseless */
};

static inline unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* A character PCRE2 takes as itself outside a class (ASCII, printable,
 * not a metacharacter). */
static bool plain_char(unsigned char c)
{
	switch (c) {
	case '^': case '$': case '.': case '|': case '?': case '*':
	case '+': case '(': case ')': case '[': case ']': case '{':
	case '}': case '\\':
		return false;
	default:
		return c >= 0x20 && c < 0x7f;
	}
}

/* Reads one text character of re at *i (a plain character or a
 * backslash and ASCII punctuation) into *c_r; false if there is none. */
static bool text_char(const char *re, size_t len, size_t *i,
		      unsigned char *c_r)
{
	unsigned char c = (unsigned char)re[*i];

	if (c == '\\') {
		if (*i + 1 >= len)
			return false;
		c = (unsigned char)re[*i + 1];
		if (c < 0x21 || c > 0x7e ||
		    (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z'))
			return false;
		*i += 2;
	} else {
		if (!plain_char(c))
			return false;
		*i += 1;
	}
	*c_r = c;
	return true;
}

struct md_simple *md_simple_parse(const char *re, size_t len, bool caseless)
{
	struct md_simple *sp;
	size_t i = 0, ntext = 0, paths = 1;
	unsigned char c;

	if (len > MD_SIMPLE_MAX_LEN)
		return NULL;
	/* one block: the struct, then items, alternatives and text */
	sp = xcalloc(1, sizeof(*sp) + (len + 1) * (sizeof(*sp->items) +
						  sizeof(*sp->alts) + 1));
	sp->items = (struct item *)(sp + 1);
	sp->alts = (struct alt *)(sp->items + len + 1);
	sp->text = (char *)(sp->alts + len + 1);
	sp->caseless = caseless;
	if (len > 0 && re[0] == '^') {
		sp->anchored = true;
		i++;
	}
	while (i < len) {
		struct item *it;

		if (re[i] == '.') {
			if (sp->has_any || i + 1 >= len || re[i + 1] != '*')
				goto refuse;
			sp->has_any = true;
			it = &sp->items[sp->nitems++];
			it->type = ITEM_ANY;
			i += 2;
			continue;
		}
		if (re[i] == '(') {
			unsigned int n = 0;

			if (sp->ngroups == MD_SIMPLE_MAX_GROUPS)
				goto refuse;
			it = &sp->items[sp->nitems++];
			it->type = ITEM_GROUP;
			it->group = sp->ngroups++;
			it->off = (uint16_t)sp->nalts;
			i++;
			for (;;) {
				struct alt *a = &sp->alts[sp->nalts++];

				a->off = (uint16_t)ntext;
				while (i < len && re[i] != '|' &&
				       re[i] != ')') {
					if (!text_char(re, len, &i, &c))
						goto refuse;
					sp->text[ntext++] = (char)c;
				}
				a->len = (uint16_t)(ntext - a->off);
				n++;
				if (i >= len || n > MAX_ALTS)
					goto refuse;
				if (re[i++] == ')')
					break;
			}
			it->len = (uint16_t)n;
			paths *= n;
			if (paths > MAX_PATHS)
				goto refuse;
			continue;
		}
		if (!text_char(re, len, &i, &c))
			goto refuse;
		it = sp->nitems > 0 ? &sp->items[sp->nitems - 1] : NULL;
		if (it == NULL || it->type != ITEM_TEXT ||
		    it->off + it->len != ntext) {
			it = &sp->items[sp->nitems++];
			it->type = ITEM_TEXT;
			it->off = (uint16_t)ntext;
			it->len = 0;
		}
		sp->text[ntext++] = (char)c;
		it->len++;
	}
	sp->fold_safe = true;
	for (size_t k = 0; k < ntext; k++) {
		unsigned char t = (unsigned char)sp->text[k];

		if (caseless) {
			t = fold(t);
			sp->text[k] = (char)t;
			if (t == 'k' || t == 's')
				sp->fold_safe = false;
		}
	}
	return sp;
refuse:
	md_simple_free(&sp);
	return NULL;
}

void md_simple_free(struct md_simple **spp)
{
	struct md_simple *sp = *spp;

	if (sp == NULL)
		return;
	free(sp);
	*spp = NULL;
}

unsigned int md_simple_groups(const struct md_simple *sp)
{
	return sp->ngroups;
}

bool md_simple_fold_safe(const struct md_simple *sp)
{
	return sp->fold_safe;
}

bool md_simple_has_any(const struct md_simple *sp)
{
	return sp->has_any;
}

/* One match in progress. */
struct ctx {
	const struct md_simple *sp;
	const unsigned char *s;
	size_t len;
	size_t *spans;
	/* the line end (the next '\n', or len) after line_from, known to
	 * hold for every position from line_from to line_end */
	bool line_known;
	size_t line_from, line_end;
	/* for .* followed by more: the last place at or before any_end
	 * where the rest matches (any_at < 0: nowhere) */
	bool any_known;
	size_t any_end;
	long long any_at;
};

/* Does the text t (n bytes) appear at pos? */
static bool text_at(const struct ctx *ctx, const char *t, size_t n,
		    size_t pos)
{
	const unsigned char *s = ctx->s + pos;

	if (pos > ctx->len || ctx->len - pos < n)
		return false;
	if (!ctx->sp->caseless)
		return memcmp(s, t, n) == 0;
	for (size_t i = 0; i < n; i++) {
		if (fold(s[i]) != (unsigned char)t[i])
			return false;
	}
	return true;
}

static bool match_items(struct ctx *ctx, unsigned int i, size_t pos,
			size_t *end_r);

/* The end of the line pos is in: where .* stops. */
static size_t line_end(struct ctx *ctx, size_t pos)
{
	const unsigned char *nl;

	if (ctx->line_known && pos >= ctx->line_from && pos <= ctx->line_end)
		return ctx->line_end;
	nl = memchr(ctx->s + pos, '\n', ctx->len - pos);
	ctx->line_known = true;
	ctx->line_from = pos;
	ctx->line_end = nl != NULL ? (size_t)(nl - ctx->s) : ctx->len;
	return ctx->line_end;
}

/* Item i is .* at pos: greedy, it takes the most characters (up to the
 * line end) after which the rest matches.  The rest has no .*, so
 * whether it matches at a place does not depend on pos: the last such
 * place before the line end is found once for all the starts tried on
 * that line. */
static bool match_any(struct ctx *ctx, unsigned int i, size_t pos,
		      size_t *end_r)
{
	size_t end = line_end(ctx, pos), e;

	if (i + 1 == ctx->sp->nitems) {
		*end_r = end;
		return true;
	}
	if (!ctx->any_known || ctx->any_end != end) {
		ctx->any_known = true;
		ctx->any_end = end;
		ctx->any_at = -1;
		/* a match of the rest that is not empty starts with an
		 * ASCII character, so on a character boundary; an empty
		 * one is found at end first */
		const struct item *next = &ctx->sp->items[i + 1];
		int c0 = next->type == ITEM_TEXT ?
			(unsigned char)ctx->sp->text[next->off] : -1;

		for (size_t q = end + 1; q-- > 0;) {
			/* the rest's first byte first */
			if (c0 >= 0 && (q == ctx->len ||
					(ctx->sp->caseless ? fold(ctx->s[q]) :
					 ctx->s[q]) != c0))
				continue;
			if (match_items(ctx, i + 1, q, &e)) {
				ctx->any_at = (long long)q;
				break;
			}
		}
	}
	if (ctx->any_at < 0 || (size_t)ctx->any_at < pos)
		return false;
	/* again, for the groups of the rest */
	return match_items(ctx, i + 1, (size_t)ctx->any_at, end_r);
}

/* Items i.. at pos, in PCRE2's order (alternatives in turn, the first
 * that lets the rest match). */
static bool match_items(struct ctx *ctx, unsigned int i, size_t pos,
			size_t *end_r)
{
	const struct md_simple *sp = ctx->sp;

	for (; i < sp->nitems; i++) {
		const struct item *it = &sp->items[i];

		switch (it->type) {
		case ITEM_TEXT:
			if (!text_at(ctx, sp->text + it->off, it->len, pos))
				return false;
			pos += it->len;
			break;
		case ITEM_GROUP:
			for (unsigned int a = 0; a < it->len; a++) {
				const struct alt *al = &sp->alts[it->off + a];

				if (!text_at(ctx, sp->text + al->off, al->len,
					     pos))
					continue;
				if (match_items(ctx, i + 1, pos + al->len,
						end_r)) {
					ctx->spans[2 * it->group + 2] = pos;
					ctx->spans[2 * it->group + 3] =
						pos + al->len;
					return true;
				}
			}
			return false;
		case ITEM_ANY:
			return match_any(ctx, i, pos, end_r);
		}
	}
	*end_r = pos;
	return true;
}

bool md_simple_exec(const struct md_simple *sp, const char *subject,
		    size_t len, size_t start, size_t *spans)
{
	struct ctx ctx = { .sp = sp, .s = (const unsigned char *)subject,
			   .len = len, .spans = spans };
	const struct item *first = sp->nitems > 0 ? &sp->items[0] : NULL;
	size_t end;

	if (start > len)
		return false;
	if (sp->anchored) {
		/* ^ is the subject's start, not the start offset's */
		if (start != 0 || !match_items(&ctx, 0, 0, &end))
			return false;
		spans[0] = 0;
		spans[1] = end;
		return true;
	}
	for (size_t s = start; s <= len; s++) {
		if (s < len && (ctx.s[s] & 0xC0) == 0x80)
			continue;	/* inside a character */
		if (first != NULL && first->type == ITEM_TEXT) {
			/* its first byte first */
			unsigned char c = (unsigned char)sp->text[first->off];
			const unsigned char *p;

			if (!sp->caseless || c < 'a' || c > 'z') {
				p = memchr(ctx.s + s, c, len - s);
				if (p == NULL)
					return false;
				s = (size_t)(p - ctx.s);
			} else {
				while (s < len && fold(ctx.s[s]) != c)
					s++;
				if (s == len)
					return false;
			}
		}
		if (match_items(&ctx, 0, s, &end)) {
			spans[0] = s;
			spans[1] = end;
			return true;
		}
	}
	return false;
}
