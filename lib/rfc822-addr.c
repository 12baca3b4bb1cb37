/* rfc822-addr.c: RFC 5322/6532 address list tokenizer, parser and formatter. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "str.h"
#include "rfc822-addr.h"

#define DEFAULT_MAX_INPUT_LEN (256 * 1024)
#define DEFAULT_MAX_ADDRESSES 10000
#define DEFAULT_MAX_COMMENT_DEPTH 32

struct rfc822_addr_parser {
	struct rfc822_addr_limits limits;
};

/* Tokens.  Quoted strings, comments and domain literals are single tokens
 * whose raw span includes their delimiters; an unterminated one, a byte
 * that may not appear in a header and a stray closing bracket are T_BAD. */
enum tok_type {
	T_ATOM,
	T_QUOTED,
	T_COMMENT,
	T_LITERAL,
	T_SPECIAL,
	T_BAD,
};

struct tok {
	enum tok_type type;
	char ch;		/* T_SPECIAL: the character */
	bool ws_before;		/* whitespace or a comment precedes it */
	bool bad_utf8;		/* T_ATOM/T_QUOTED with invalid UTF-8 */
	size_t start, len;	/* raw span in the input */
	const char *error;	/* T_BAD: why */
};

struct parse_ctx {
	const struct rfc822_addr_parser *parser;
	const unsigned char *p;
	size_t len;
	struct tok *toks;
	size_t ntoks, toks_size;
	struct rfc822_addr_list *list;
	size_t list_size;
	bool in_group;
	const char *first_error;
};

static bool is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true; /* RFC 6532 UTF-8 */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	unsigned int cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool utf8_valid(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* ---- tokenizer ---- */

static struct tok *tok_add(struct parse_ctx *ctx, enum tok_type type,
			   size_t start, size_t len, bool ws)
{
	struct tok *t;

	if (ctx->ntoks == ctx->toks_size) {
		ctx->toks_size = ctx->toks_size == 0 ? 16 : ctx->toks_size * 2;
		ctx->toks = xreallocarray(ctx->toks, ctx->toks_size,
					  sizeof(*ctx->toks));
	}
	t = &ctx->toks[ctx->ntoks++];
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->start = start;
	t->len = len;
	t->ws_before = ws;
	return t;
}

/* Scans a quoted string, comment or literal starting at i (the opening
 * delimiter); returns the index after it and sets *error_r when it is
 * malformed (then the span may run to the end of the input). */
static size_t scan_delimited(struct parse_ctx *ctx, size_t i, char open,
			     char close, const char **error_r)
{
	unsigned int max_depth = ctx->parser->limits.max_comment_depth;
	unsigned int depth = 0;
	bool nested = open == '(';

	*error_r = NULL;
	for (; i < ctx->len; i++) {
		unsigned char c = ctx->p[i];

		if (c == '\0') {
			if (*error_r == NULL)
				*error_r = "NUL byte";
		} else if (c == '\\') {
			if (i + 1 < ctx->len) {
				i++;
				if (ctx->p[i] == '\0' && *error_r == NULL)
					*error_r = "NUL byte";
			}
		} else if (c == (unsigned char)close && depth > 0) {
			if (--depth == 0)
				return i + 1;
		} else if (c == (unsigned char)open && (nested || depth == 0)) {
			if (++depth > max_depth && *error_r == NULL)
				*error_r = "comments nested too deeply";
		} else if (open == '[' && c == '[') {
			if (*error_r == NULL)
				*error_r = "'[' inside a domain literal";
		}
	}
	if (open == '"')
		*error_r = "unterminated quoted string";
	else if (open == '(')
		*error_r = "unterminated comment";
	else
		*error_r = "unterminated domain literal";
	return ctx->len;
}

static void tokenize(struct parse_ctx *ctx)
{
	size_t i = 0;
	bool ws = false;

	while (i < ctx->len) {
		unsigned char c = ctx->p[i];
		const char *err;
		struct tok *t;
		size_t end;

		if (is_wsp(c)) {
			ws = true;
			i++;
			continue;
		}
		if (c == '"' || c == '(' || c == '[') {
			char close = c == '"' ? '"' : c == '(' ? ')' : ']';
			enum tok_type type = c == '"' ? T_QUOTED :
				c == '(' ? T_COMMENT : T_LITERAL;

			end = scan_delimited(ctx, i, (char)c, close, &err);
			t = tok_add(ctx, err != NULL ? T_BAD : type, i,
				    end - i, ws);
			t->error = err;
			if (type != T_COMMENT && err == NULL)
				t->bad_utf8 = !utf8_valid(ctx->p + i, end - i);
			i = end;
			/* a comment separates words as whitespace does */
			ws = type == T_COMMENT;
			continue;
		}
		if (c != '\0' && strchr("<>@,;:.", c) != NULL) {
			t = tok_add(ctx, T_SPECIAL, i, 1, ws);
			t->ch = (char)c;
			i++;
			ws = false;
			continue;
		}
		if (is_atext(c)) {
			for (end = i; end < ctx->len && is_atext(ctx->p[end]);
			     end++)
				;
			t = tok_add(ctx, T_ATOM, i, end - i, ws);
			t->bad_utf8 = !utf8_valid(ctx->p + i, end - i);
			i = end;
			ws = false;
			continue;
		}
		t = tok_add(ctx, T_BAD, i, 1, ws);
		if (c == ')')
			t->error = "unbalanced ')'";
		else if (c == ']')
			t->error = "unbalanced ']'";
		else if (c == '\\')
			t->error = "backslash outside a quoted string";
		else if (c == '\0')
			t->error = "NUL byte";
		else
			t->error = "control character";
		i++;
		ws = false;
	}
}

/* ---- token text ---- */

/* Appends the contents of a quoted string or comment token: delimiters
 * dropped, quoted pairs unescaped, CR and LF (folding) removed. */
static void tok_append_inner(struct parse_ctx *ctx, const struct tok *t,
			     struct str *out)
{
	const unsigned char *p = ctx->p + t->start + 1;
	size_t n = t->len - 2;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		/* folding, even when (wrongly) escaped */
		if (p[i] == '\r' || p[i] == '\n')
			continue;
		str_append_c(out, (char)p[i]);
	}
}

/* Appends a token as written, without CR/LF. */
static void tok_append_raw(struct parse_ctx *ctx, const struct tok *t,
			   struct str *out)
{
	const unsigned char *p = ctx->p + t->start;

	for (size_t i = 0; i < t->len; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			str_append_c(out, (char)p[i]);
	}
}

static char *str_to_cstr_or_null(struct str *s)
{
	char *ret;

	if (str_len(s) == 0) {
		str_free(s);
		return NULL;
	}
	ret = str_steal(s);
	str_free(s);
	return ret;
}

/* ---- parser ---- */

static size_t skip_comments(struct parse_ctx *ctx, size_t i)
{
	while (i < ctx->ntoks && ctx->toks[i].type == T_COMMENT)
		i++;
	return i;
}

static bool tok_is(struct parse_ctx *ctx, size_t i, char special)
{
	return i < ctx->ntoks && ctx->toks[i].type == T_SPECIAL &&
		ctx->toks[i].ch == special;
}

/* Whether token i ends the current element. */
static bool at_element_end(struct parse_ctx *ctx, size_t i)
{
	return i >= ctx->ntoks || tok_is(ctx, i, ',') ||
		(ctx->in_group && tok_is(ctx, i, ';'));
}

static struct rfc822_addr *entry_add(struct parse_ctx *ctx,
				     enum rfc822_addr_type type)
{
	struct rfc822_addr_list *list = ctx->list;
	struct rfc822_addr *a;

	if (list->count == ctx->list_size) {
		ctx->list_size = ctx->list_size == 0 ? 4 : ctx->list_size * 2;
		list->addrs = xreallocarray(list->addrs, ctx->list_size,
					    sizeof(*list->addrs));
	}
	a = &list->addrs[list->count++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

/* Words and dots of a phrase (tokens [s, e), comments skipped) joined
 * with single spaces where the input had whitespace.  NULL when empty. */
static char *phrase_text(struct parse_ctx *ctx, size_t s, size_t e)
{
	struct str out;
	bool first = true, sep = false;

	str_init(&out, 32);
	for (size_t i = s; i < e; i++) {
		const struct tok *t = &ctx->toks[i];

		if (t->type == T_COMMENT) {
			sep = true;
			continue;
		}
		if (!first && (sep || t->ws_before))
			str_append_c(&out, ' ');
		if (t->type == T_QUOTED)
			tok_append_inner(ctx, t, &out);
		else
			tok_append_raw(ctx, t, &out);
		first = false;
		sep = false;
	}
	return str_to_cstr_or_null(&out);
}

/* Like phrase_text(), but the comments are kept as written, each set
 * apart by single spaces.  NULL when tokens [s, e) hold no comment. */
static char *phrase_with_comments(struct parse_ctx *ctx, size_t s, size_t e)
{
	struct str out;
	bool first = true, sep = false, any = false;

	for (size_t i = s; i < e && !any; i++)
		any = ctx->toks[i].type == T_COMMENT;
	if (!any)
		return NULL;
	str_init(&out, 32);
	for (size_t i = s; i < e; i++) {
		const struct tok *t = &ctx->toks[i];
		bool comment = t->type == T_COMMENT;

		if (!first && (sep || comment || t->ws_before))
			str_append_c(&out, ' ');
		if (t->type == T_QUOTED)
			tok_append_inner(ctx, t, &out);
		else
			tok_append_raw(ctx, t, &out);
		first = false;
		sep = comment;
	}
	return str_to_cstr_or_null(&out);
}

/* Text of the first comment in tokens [s, e), trimmed; NULL if none. */
static char *comment_text(struct parse_ctx *ctx, size_t s, size_t e)
{
	for (size_t i = s; i < e; i++) {
		struct str out;
		size_t a, b;
		char *ret;

		if (ctx->toks[i].type != T_COMMENT)
			continue;
		str_init(&out, 32);
		tok_append_inner(ctx, &ctx->toks[i], &out);
		a = 0;
		b = str_len(&out);
		while (a < b && is_wsp((unsigned char)out.data[a]))
			a++;
		while (b > a && is_wsp((unsigned char)out.data[b - 1]))
			b--;
		ret = b > a ? xmemdup(out.data + a, b - a) : NULL;
		str_free(&out);
		if (ret != NULL)
			return ret;
	}
	return NULL;
}

/* Reads a local part word *("." word) starting at *ip (comments allowed
 * between).  Stops before the first token that is not part of it.
 * Consecutive, leading and trailing dots are accepted (they occur in real
 * mail); two words without a dot between are not. */
static int parse_local(struct parse_ctx *ctx, size_t *ip, size_t end,
		       struct rfc822_addr *a, const char **error_r)
{
	struct str local, raw;
	bool words = false, last_word = false;
	size_t i = *ip;

	str_init(&local, 32);
	str_init(&raw, 32);
	for (; i < end; i++) {
		const struct tok *t = &ctx->toks[i];

		if (t->type == T_COMMENT)
			continue;
		if (t->type == T_SPECIAL && t->ch == '.') {
			str_append_c(&local, '.');
			str_append_c(&raw, '.');
			last_word = false;
			continue;
		}
		if (t->type != T_ATOM && t->type != T_QUOTED)
			break;
		if (last_word) {
			*error_r = "words without a dot in the local part";
			goto fail;
		}
		if (t->bad_utf8) {
			*error_r = "invalid UTF-8 in the local part";
			goto fail;
		}
		if (t->type == T_QUOTED)
			tok_append_inner(ctx, t, &local);
		else
			tok_append_raw(ctx, t, &local);
		tok_append_raw(ctx, t, &raw);
		words = last_word = true;
	}
	if (!words) {
		*error_r = "missing local part";
		goto fail;
	}
	*ip = i;
	a->local = str_steal(&local);
	a->local_raw = str_steal(&raw);
	str_free(&local);
	str_free(&raw);
	return 0;
fail:
	str_free(&local);
	str_free(&raw);
	return -1;
}

/* Reads a domain (atom *("." atom) or a domain literal) at *ip. */
static int parse_domain(struct parse_ctx *ctx, size_t *ip, char **domain_r,
			const char **error_r)
{
	struct str dom;
	size_t i = skip_comments(ctx, *ip);
	bool want_atom = true;

	if (i < ctx->ntoks && ctx->toks[i].type == T_LITERAL) {
		const struct tok *t = &ctx->toks[i];

		if (t->bad_utf8) {
			*error_r = "invalid UTF-8 in the domain";
			return -1;
		}
		/* drop folding whitespace, keep quoted pairs as written */
		str_init(&dom, t->len);
		for (size_t k = 0; k < t->len; k++) {
			unsigned char c = ctx->p[t->start + k];

			if (c == '\\' && k + 2 < t->len) {
				unsigned char n = ctx->p[t->start + k + 1];

				k++;
				if (n == '\r' || n == '\n')
					continue;
				str_append_c(&dom, (char)c);
				str_append_c(&dom, (char)n);
			} else if (!is_wsp(c)) {
				str_append_c(&dom, (char)c);
			}
		}
		*domain_r = str_steal(&dom);
		str_free(&dom);
		*ip = i + 1;
		return 0;
	}
	str_init(&dom, 32);
	for (;; i++) {
		i = skip_comments(ctx, i);
		if (want_atom) {
			if (i >= ctx->ntoks || ctx->toks[i].type != T_ATOM) {
				*error_r = str_len(&dom) == 0 ?
					"missing domain" :
					"empty label in the domain";
				str_free(&dom);
				return -1;
			}
			if (ctx->toks[i].bad_utf8) {
				*error_r = "invalid UTF-8 in the domain";
				str_free(&dom);
				return -1;
			}
			tok_append_raw(ctx, &ctx->toks[i], &dom);
			want_atom = false;
		} else if (tok_is(ctx, i, '.')) {
			str_append_c(&dom, '.');
			want_atom = true;
		} else {
			break;
		}
	}
	*ip = i;
	*domain_r = str_steal(&dom);
	str_free(&dom);
	return 0;
}

/* Reads an obsolete route "@d1,@d2:" at *ip (on the first '@'). */
static int parse_route(struct parse_ctx *ctx, size_t *ip, char **route_r,
		       const char **error_r)
{
	struct str route;
	size_t i = *ip;

	str_init(&route, 32);
	for (;;) {
		char *dom;

		i = skip_comments(ctx, i);
		if (tok_is(ctx, i, ',')) {
			i++; /* obs-domain-list allows empty elements */
			continue;
		}
		if (tok_is(ctx, i, ':'))
			break;
		if (!tok_is(ctx, i, '@')) {
			*error_r = "malformed route";
			str_free(&route);
			return -1;
		}
		i++;
		if (parse_domain(ctx, &i, &dom, error_r) < 0) {
			str_free(&route);
			return -1;
		}
		if (str_len(&route) > 0)
			str_append_c(&route, ',');
		str_append_c(&route, '@');
		str_append(&route, dom);
		free(dom);
	}
	*ip = i + 1;
	*route_r = str_steal(&route);
	str_free(&route);
	return 0;
}

static void entry_clear(struct rfc822_addr *a)
{
	x_free(a->name);
	x_free(a->phrase);
	x_free(a->route);
	x_free(a->local);
	x_free(a->local_raw);
	x_free(a->domain);
	x_free(a->raw);
}

/* Turns the entry into an invalid one covering tokens [s, e). */
static void entry_set_invalid(struct parse_ctx *ctx, struct rfc822_addr *a,
			      size_t s, size_t e, const char *error)
{
	size_t from, to;

	entry_clear(a);
	a->type = RFC822_ADDR_MAILBOX;
	a->angle = a->null_addr = a->name_from_comment = false;
	a->invalid = true;
	a->error = error;
	if (e > ctx->ntoks)
		e = ctx->ntoks;
	if (s < e) {
		from = ctx->toks[s].start;
		to = ctx->toks[e - 1].start + ctx->toks[e - 1].len;
		a->raw = xmemdup(ctx->p + from, to - from);
	} else {
		a->raw = xstrdup("");
	}
	ctx->list->invalid_count++;
	if (ctx->first_error == NULL)
		ctx->first_error = error;
}

/* Parses an angle address; i is just after '<'.  Returns the index after
 * '>' or (size_t)-1 with *error_r set. */
static size_t parse_angle(struct parse_ctx *ctx, size_t i,
			  struct rfc822_addr *a, const char **error_r)
{
	a->angle = true;
	i = skip_comments(ctx, i);
	if (tok_is(ctx, i, '>')) {
		a->null_addr = true;
		a->local = xstrdup("");
		a->local_raw = xstrdup("");
		return i + 1;
	}
	if (tok_is(ctx, i, '@')) {
		if (parse_route(ctx, &i, &a->route, error_r) < 0)
			return (size_t)-1;
	}
	i = skip_comments(ctx, i);
	if (parse_local(ctx, &i, ctx->ntoks, a, error_r) < 0)
		return (size_t)-1;
	i = skip_comments(ctx, i);
	if (tok_is(ctx, i, '@')) {
		i++;
		if (parse_domain(ctx, &i, &a->domain, error_r) < 0)
			return (size_t)-1;
		i = skip_comments(ctx, i);
	}
	if (!tok_is(ctx, i, '>')) {
		*error_r = i < ctx->ntoks && ctx->toks[i].type == T_BAD ?
			ctx->toks[i].error : "missing '>'";
		return (size_t)-1;
	}
	return i + 1;
}

/* Parses one element (mailbox or group start) from token s; returns the
 * index of the token after it.  Errors produce an invalid entry and skip
 * to the end of the element. */
static size_t parse_element(struct parse_ctx *ctx, size_t s)
{
	struct rfc822_addr *a;
	const char *error = NULL;
	size_t i, phrase_end;
	bool phrase_words = false;

	/* phrase: words, dots and comments */
	for (i = s; i < ctx->ntoks; i++) {
		const struct tok *t = &ctx->toks[i];

		if (t->type == T_ATOM || t->type == T_QUOTED)
			phrase_words = true;
		else if (t->type != T_COMMENT &&
			 !(t->type == T_SPECIAL && t->ch == '.'))
			break;
	}
	phrase_end = i;

	a = entry_add(ctx, RFC822_ADDR_MAILBOX);
	if (tok_is(ctx, i, ':')) {
		if (ctx->in_group) {
			error = "group inside a group";
			goto fail;
		}
		a->type = RFC822_ADDR_GROUP_START;
		a->name = phrase_text(ctx, s, phrase_end);
		a->phrase = phrase_with_comments(ctx, s, phrase_end);
		if (a->name == NULL) {
			error = "group without a name";
			goto fail;
		}
		ctx->in_group = true;
		return i + 1;
	}
	if (tok_is(ctx, i, '<')) {
		a->name = phrase_text(ctx, s, phrase_end);
		a->phrase = phrase_with_comments(ctx, s, phrase_end);
		i = parse_angle(ctx, i + 1, a, &error);
		if (i == (size_t)-1) {
			i = phrase_end;
			goto fail;
		}
	} else if (phrase_words &&
		   (tok_is(ctx, i, '@') || at_element_end(ctx, i))) {
		size_t k = s;

		if (parse_local(ctx, &k, phrase_end, a, &error) < 0)
			goto fail;
		if (tok_is(ctx, i, '@')) {
			i++;
			if (parse_domain(ctx, &i, &a->domain, &error) < 0)
				goto fail;
		}
	} else {
		if (i < ctx->ntoks && ctx->toks[i].type == T_BAD)
			error = ctx->toks[i].error;
		else if (tok_is(ctx, i, '@'))
			error = "missing local part";
		else if (i < ctx->ntoks && ctx->toks[i].type == T_LITERAL)
			error = "domain literal without a local part";
		else if (phrase_words)
			error = "unexpected character after a phrase";
		else
			error = "unexpected character";
		goto fail;
	}
	/* trailing comments, then the end of the element */
	{
		size_t after = skip_comments(ctx, i);

		if (!at_element_end(ctx, after)) {
			error = after < ctx->ntoks &&
				ctx->toks[after].type == T_BAD ?
				ctx->toks[after].error :
				"unexpected text after the address";
			goto fail;
		}
		if (a->name == NULL) {
			a->name = comment_text(ctx, s, after);
			a->name_from_comment = a->name != NULL;
		}
		ctx->list->mailbox_count++;
		return after;
	}
fail:
	/* recover: skip to the end of the element */
	while (!at_element_end(ctx, i))
		i++;
	entry_set_invalid(ctx, a, s, i, error);
	return i;
}

static void group_end(struct parse_ctx *ctx)
{
	entry_add(ctx, RFC822_ADDR_GROUP_END);
	ctx->in_group = false;
}

struct rfc822_addr_parser *
rfc822_addr_parser_create(const struct rfc822_addr_limits *limits)
{
	struct rfc822_addr_parser *parser = xcalloc(1, sizeof(*parser));

	if (limits != NULL)
		parser->limits = *limits;
	if (parser->limits.max_input_len == 0)
		parser->limits.max_input_len = DEFAULT_MAX_INPUT_LEN;
	if (parser->limits.max_addresses == 0)
		parser->limits.max_addresses = DEFAULT_MAX_ADDRESSES;
	if (parser->limits.max_comment_depth == 0)
		parser->limits.max_comment_depth = DEFAULT_MAX_COMMENT_DEPTH;
	return parser;
}

void rfc822_addr_parser_destroy(struct rfc822_addr_parser **parser)
{
	x_free(*parser);
}

int rfc822_addr_parse(struct rfc822_addr_parser *parser, const void *data,
		      size_t len, struct rfc822_addr_list **list_r,
		      const char **error_r)
{
	struct parse_ctx ctx;
	const char *dummy;
	size_t pos = 0;

	if (error_r == NULL)
		error_r = &dummy;
	*error_r = NULL;
	*list_r = NULL;
	if (len > parser->limits.max_input_len) {
		*error_r = "address list too long";
		return -1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.parser = parser;
	ctx.p = data;
	ctx.len = len;
	ctx.list = xcalloc(1, sizeof(*ctx.list));
	tokenize(&ctx);

	for (;;) {
		size_t i = skip_comments(&ctx, pos);

		if (i >= ctx.ntoks)
			break;
		if (tok_is(&ctx, i, ',')) {
			pos = i + 1; /* empty element (obs-addr-list) */
			continue;
		}
		if (ctx.in_group && tok_is(&ctx, i, ';')) {
			group_end(&ctx);
			pos = i + 1;
			continue;
		}
		if (ctx.list->count >= parser->limits.max_addresses) {
			ctx.list->truncated = true;
			if (ctx.first_error == NULL)
				ctx.first_error = "too many addresses";
			break;
		}
		pos = parse_element(&ctx, pos);
	}
	/* an unclosed group ("undisclosed-recipients:") is common and
	 * harmless: close it silently */
	if (ctx.in_group)
		group_end(&ctx);
	free(ctx.toks);
	*list_r = ctx.list;
	*error_r = ctx.first_error;
	return ctx.first_error == NULL ? 1 : 0;
}

void rfc822_addr_list_free(struct rfc822_addr_list **list)
{
	if (*list == NULL)
		return;
	for (size_t i = 0; i < (*list)->count; i++)
		entry_clear(&(*list)->addrs[i]);
	free((*list)->addrs);
	x_free(*list);
}

/* ---- formatting ---- */

/* Whether s is one or more runs of atext joined by single sep
 * characters (a dot-atom with '.', words of atoms with ' '). */
static bool is_atoms_joined_by(const char *s, char sep)
{
	bool last_sep = true;

	if (*s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		if (*p == (unsigned char)sep) {
			if (last_sep)
				return false;
			last_sep = true;
		} else if (is_atext(*p)) {
			last_sep = false;
		} else {
			return false;
		}
	}
	return !last_sep;
}

bool rfc822_addr_local_is_dot_atom(const char *local)
{
	return is_atoms_joined_by(local, '.');
}

static int append_quoted(struct str *out, const char *s)
{
	int ret = str_append_c(out, '"');

	for (; *s != '\0' && ret == 0; s++) {
		if (*s == '"' || *s == '\\')
			ret = str_append_c(out, '\\');
		if (ret == 0)
			ret = str_append_c(out, *s);
	}
	if (ret == 0)
		ret = str_append_c(out, '"');
	return ret;
}

int rfc822_addr_format_local(struct str *out, const char *local)
{
	if (rfc822_addr_local_is_dot_atom(local))
		return str_append(out, local);
	return append_quoted(out, local);
}

int rfc822_addr_format_name(struct str *out, const char *name)
{
	if (is_atoms_joined_by(name, ' '))
		return str_append(out, name);
	return append_quoted(out, name);
}

int rfc822_addr_format_spec(struct str *out, const struct rfc822_addr *addr)
{
	if (addr->null_addr || addr->local == NULL)
		return 0;
	if (rfc822_addr_format_local(out, addr->local) < 0)
		return -1;
	if (addr->domain == NULL)
		return 0;
	if (str_append_c(out, '@') < 0)
		return -1;
	return str_append(out, addr->domain);
}

int rfc822_addr_format(struct str *out, const struct rfc822_addr *addr)
{
	switch (addr->type) {
	case RFC822_ADDR_GROUP_START:
		if (rfc822_addr_format_name(out, addr->name != NULL ?
					    addr->name : "") < 0)
			return -1;
		return str_append_c(out, ':');
	case RFC822_ADDR_GROUP_END:
		return str_append_c(out, ';');
	case RFC822_ADDR_MAILBOX:
		break;
	}
	if (addr->name == NULL && addr->route == NULL && !addr->null_addr)
		return rfc822_addr_format_spec(out, addr);
	if (addr->name != NULL) {
		if (rfc822_addr_format_name(out, addr->name) < 0 ||
		    str_append_c(out, ' ') < 0)
			return -1;
	}
	if (str_append_c(out, '<') < 0)
		return -1;
	if (addr->route != NULL && !addr->null_addr) {
		if (str_append(out, addr->route) < 0 ||
		    str_append_c(out, ':') < 0)
			return -1;
	}
	if (rfc822_addr_format_spec(out, addr) < 0)
		return -1;
	return str_append_c(out, '>');
}

int rfc822_addr_list_format(struct str *out,
			    const struct rfc822_addr_list *list)
{
	bool need_sep = false, group_first = false;

	for (size_t i = 0; i < list->count; i++) {
		const struct rfc822_addr *a = &list->addrs[i];

		if (a->invalid)
			continue;
		if (a->type == RFC822_ADDR_GROUP_END) {
			if (str_append_c(out, ';') < 0)
				return -1;
			need_sep = true;
			group_first = false;
			continue;
		}
		if (group_first) {
			if (str_append_c(out, ' ') < 0)
				return -1;
		} else if (need_sep) {
			if (str_append(out, ", ") < 0)
				return -1;
		}
		if (rfc822_addr_format(out, a) < 0)
			return -1;
		group_first = a->type == RFC822_ADDR_GROUP_START;
		need_sep = !group_first;
	}
	return 0;
}

int rfc822_addr_format_smtp(struct str *out, const struct rfc822_addr *addr)
{
	if (str_append_c(out, '<') < 0 ||
	    (addr->type == RFC822_ADDR_MAILBOX &&
	     rfc822_addr_format_spec(out, addr) < 0))
		return -1;
	return str_append_c(out, '>');
}

/* ---- helpers ---- */

bool rfc822_addr_domain_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	for (;; a++, b++) {
		unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return false;
		if (ca == '\0')
			return true;
	}
}

int rfc822_addr_split(const char *addr, char **local_r, char **domain_r)
{
	const char *at = NULL;
	bool quoted = false;
	struct str local;
	size_t local_len;

	*local_r = NULL;
	*domain_r = NULL;
	for (const char *p = addr; *p != '\0'; p++) {
		if (*p == '\\' && quoted) {
			if (p[1] == '\0')
				return -1;
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (*p == '@' && !quoted) {
			at = p;
		}
	}
	if (quoted)
		return -1;
	if (at != NULL && (at == addr || at[1] == '\0'))
		return -1;
	local_len = at != NULL ? (size_t)(at - addr) : strlen(addr);
	str_init(&local, local_len + 1);
	quoted = false;
	for (size_t i = 0; i < local_len; i++) {
		if (addr[i] == '"') {
			quoted = !quoted;
			continue;
		}
		if (addr[i] == '\\' && quoted && i + 1 < local_len)
			i++;
		str_append_c(&local, addr[i]);
	}
	*local_r = str_steal(&local);
	str_free(&local);
	if (at != NULL)
		*domain_r = xstrdup(at + 1);
	return 0;
}
