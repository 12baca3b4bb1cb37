/* imap-parser.c: the resumable IMAP command parser (see imap-parser.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-parser.h"
#include "mem.h"
#include "str.h"

/* LITERAL- (RFC 7888): non-synchronizing literals of at most 4096 bytes. */
#define IMAP_LITERAL_MINUS_MAX 4096

enum parser_state {
	S_TAG,
	S_ARG_START,
	S_ATOM,
	S_AFTER_ARG,
	S_QUOTED,
	S_QUOTED_ESC,
	S_LIT8,
	S_LITSIZE,
	S_LITCLOSE,
	S_LIT_CR,
	S_LIT_LF,
	S_LIT_DATA,
	S_CR,
	S_DONE,
	S_SKIP,
	S_SKIP_LIT,
	S_ERR_OVER,	/* an error ended with its line: reset on next feed */
};

/* A list being built: the top level is builders[0]. */
struct builder {
	struct imap_arg *args;
	size_t count, size;
};

struct imap_parser {
	struct imap_parser_settings set;
	enum parser_state state;
	struct str tag;
	bool have_tag;
	struct builder *stack;	/* max_depth + 1 entries */
	unsigned int depth;
	unsigned int arg_count;
	size_t line_len;
	struct str cur;		/* atom or quoted string being read */
	unsigned int bracket;	/* [ ] nesting inside an atom */
	uint64_t lit_size, lit_got;
	bool lit_nonsync, lit_minus, lit8;
	unsigned int lit_digits;
	char *lit_data;
	const char *error;
	/* skipping: the tail of the skipped line, for literals on it */
	char tail[32];
	size_t tail_len;
	uint64_t skip_left;
};

struct imap_parser *imap_parser_create(const struct imap_parser_settings *set)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	if (set != NULL)
		p->set = *set;
	if (p->set.max_line == 0)
		p->set.max_line = 64 * 1024;
	if (p->set.max_literal == 0)
		p->set.max_literal = 50 * 1024 * 1024;
	if (p->set.max_depth == 0)
		p->set.max_depth = 16;
	if (p->set.max_args == 0)
		p->set.max_args = 10000;
	p->stack = xcalloc(p->set.max_depth + 1, sizeof(*p->stack));
	str_init(&p->tag, 32);
	str_init(&p->cur, 64);
	return p;
}

static void args_free(struct imap_arg *args, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(args[i].str);
		args_free(args[i].list, args[i].list_count);
		free(args[i].list);
	}
}

static void parser_clear(struct imap_parser *p)
{
	for (unsigned int i = 0; i <= p->set.max_depth; i++) {
		args_free(p->stack[i].args, p->stack[i].count);
		free(p->stack[i].args);
		memset(&p->stack[i], 0, sizeof(p->stack[i]));
	}
	x_free(p->lit_data);
	str_clear(&p->tag);
	str_clear(&p->cur);
	p->have_tag = false;
	p->depth = 0;
	p->arg_count = 0;
	p->line_len = 0;
	p->bracket = 0;
	p->lit_size = p->lit_got = 0;
	p->lit_nonsync = p->lit_minus = p->lit8 = false;
	p->lit_digits = 0;
}

void imap_parser_destroy(struct imap_parser **parser)
{
	struct imap_parser *p = *parser;

	if (p == NULL)
		return;
	parser_clear(p);
	free(p->stack);
	str_free(&p->tag);
	str_free(&p->cur);
	free(p);
	*parser = NULL;
}

void imap_parser_reset(struct imap_parser *p)
{
	parser_clear(p);
	p->state = S_TAG;
	p->error = NULL;
	p->tail_len = 0;
	p->skip_left = 0;
}

static int fail(struct imap_parser *p, const char *error)
{
	p->error = error;
	p->state = S_SKIP;
	p->tail_len = 0;
	/* the tag survives for the BAD reply; the arguments go */
	for (unsigned int i = 0; i <= p->set.max_depth; i++) {
		args_free(p->stack[i].args, p->stack[i].count);
		free(p->stack[i].args);
		memset(&p->stack[i], 0, sizeof(p->stack[i]));
	}
	x_free(p->lit_data);
	return -1;
}

/* Appends a new argument to the current list; NULL over the limit. */
static struct imap_arg *push_arg(struct imap_parser *p, enum imap_arg_type t)
{
	struct builder *b = &p->stack[p->depth];

	if (p->arg_count >= p->set.max_args)
		return NULL;
	p->arg_count++;
	if (b->count == b->size) {
		b->size = b->size == 0 ? 8 : b->size * 2;
		b->args = xreallocarray(b->args, b->size, sizeof(*b->args));
	}
	struct imap_arg *a = &b->args[b->count++];
	memset(a, 0, sizeof(*a));
	a->type = t;
	return a;
}

static int finish_atom(struct imap_parser *p)
{
	struct imap_arg *a;

	if (p->bracket > 0)
		return fail(p, "Unbalanced [ in atom");
	if (str_len(&p->cur) == 3 && strcasecmp(str_c(&p->cur), "NIL") == 0) {
		a = push_arg(p, IMAP_ARG_NIL);
		if (a == NULL)
			return fail(p, "Too many arguments");
		str_clear(&p->cur);
		return 0;
	}
	a = push_arg(p, IMAP_ARG_ATOM);
	if (a == NULL)
		return fail(p, "Too many arguments");
	a->len = str_len(&p->cur);
	a->str = xmemdup(str_c(&p->cur), a->len);
	str_clear(&p->cur);
	return 0;
}

static int open_list(struct imap_parser *p)
{
	if (p->depth >= p->set.max_depth)
		return fail(p, "Lists nested too deeply");
	if (push_arg(p, IMAP_ARG_LIST) == NULL)
		return fail(p, "Too many arguments");
	p->depth++;
	memset(&p->stack[p->depth], 0, sizeof(p->stack[p->depth]));
	return 0;
}

static int close_list(struct imap_parser *p)
{
	if (p->depth == 0)
		return fail(p, "Unexpected )");
	struct builder *b = &p->stack[p->depth];
	struct builder *parent = &p->stack[p->depth - 1];
	struct imap_arg *a = &parent->args[parent->count - 1];

	a->list = b->args;
	a->list_count = b->count;
	memset(b, 0, sizeof(*b));
	p->depth--;
	return 0;
}

static int end_line(struct imap_parser *p)
{
	if (p->depth > 0)
		return fail(p, "Missing )");
	if (p->stack[0].count == 0)
		return fail(p, "Missing command");
	p->state = S_DONE;
	return 1;
}

static bool atom_char(unsigned char c)
{
	/* ATOM-CHAR plus the list wildcards and "]" (resp-specials) and
	 * "\" (flags): what may start or continue an atom here. */
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){\"", c) == NULL;
}

bool imap_parser_tag_valid(const char *tag)
{
	if (*tag == '\0')
		return false;
	for (; *tag != '\0'; tag++) {
		unsigned char c = (unsigned char)*tag;

		if (!atom_char(c) || c == '+' || c == '%' || c == '*')
			return false;
	}
	return true;
}

/* Remembers the tail of a line being skipped, to see a literal at its
 * end. */
static void skip_tail(struct imap_parser *p, unsigned char c)
{
	if (p->tail_len == sizeof(p->tail)) {
		memmove(p->tail, p->tail + 1, sizeof(p->tail) - 1);
		p->tail_len--;
	}
	p->tail[p->tail_len++] = (char)c;
}

/* At the LF of a skipped line: the size of a non-synchronizing literal
 * it ended with ("{123+}" or "{12-}"), else 0 (a synchronizing one is
 * never sent: the client waits for a continuation). */
static uint64_t skip_tail_literal(struct imap_parser *p)
{
	size_t n = p->tail_len;

	if (n > 0 && p->tail[n - 1] == '\r')
		n--;
	if (n < 4 || p->tail[n - 1] != '}' ||
	    (p->tail[n - 2] != '+' && p->tail[n - 2] != '-'))
		return 0;
	size_t end = n - 2, start = end;
	while (start > 0 && p->tail[start - 1] >= '0' &&
	       p->tail[start - 1] <= '9')
		start--;
	if (start == end || start == 0 || p->tail[start - 1] != '{' ||
	    end - start > 18)
		return 0;
	uint64_t v = 0;
	for (size_t i = start; i < end; i++)
		v = v * 10 + (uint64_t)(p->tail[i] - '0');
	return v;
}

static int literal_start(struct imap_parser *p)
{
	if (p->lit_minus && p->lit_size > IMAP_LITERAL_MINUS_MAX) {
		p->skip_left = p->lit_size;
		fail(p, "Non-synchronizing literal larger than 4096 bytes");
		p->state = S_SKIP_LIT;
		return -1;
	}
	if (p->lit_size > p->set.max_literal) {
		if (p->lit_nonsync) {
			p->skip_left = p->lit_size;
			fail(p, "Literal too large");
			p->state = S_SKIP_LIT;
			return -1;
		}
		return fail(p, "Literal too large");
	}
	p->lit_got = 0;
	p->lit_data = xmalloc((size_t)p->lit_size + 1);
	p->state = S_LIT_DATA;
	return p->lit_nonsync ? 0 : 2;
}

static int literal_done(struct imap_parser *p)
{
	struct imap_arg *a = push_arg(p, IMAP_ARG_LITERAL);

	if (a == NULL)
		return fail(p, "Too many arguments");
	p->lit_data[p->lit_size] = '\0';
	a->str = p->lit_data;
	a->len = (size_t)p->lit_size;
	a->literal8 = p->lit8;
	p->lit_data = NULL;
	p->lit8 = false;
	p->state = S_AFTER_ARG;
	return 0;
}

/* Handles one byte in the states that are not literal data or skipping.
 * Returns 0 to go on, 1 done, 2 literal, -1 error. */
static int step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_TAG:
		if (c == ' ') {
			if (str_len(&p->tag) == 0)
				return fail(p, "Missing tag");
			p->have_tag = true;
			if (!imap_parser_tag_valid(str_c(&p->tag)))
				return fail(p, "Invalid tag");
			p->state = S_ARG_START;
			return 0;
		}
		if (c == '\r' || c == '\n') {
			bool empty = str_len(&p->tag) == 0;

			p->have_tag = !empty &&
				      imap_parser_tag_valid(str_c(&p->tag));
			return fail(p, empty ? "Empty command line" :
					       "Missing command");
		}
		str_append_c(&p->tag, (char)c);
		return 0;
	case S_ARG_START:
		switch (c) {
		case ' ':
			return 0;
		case '"':
			p->state = S_QUOTED;
			return 0;
		case '{':
			p->lit8 = false;
			/* fall through */
		case '~':
			p->lit_size = 0;
			p->lit_digits = 0;
			p->lit_nonsync = p->lit_minus = false;
			p->state = c == '~' ? S_LIT8 : S_LITSIZE;
			return 0;
		case '(':
			return open_list(p);
		case ')':
			if (close_list(p) < 0)
				return -1;
			p->state = S_AFTER_ARG;
			return 0;
		case '\r':
			p->state = S_CR;
			return 0;
		case '\n':
			return end_line(p);
		default:
			if (!atom_char(c) && c != ']')
				return fail(p, "Invalid character");
			str_append_c(&p->cur, (char)c);
			p->bracket = c == '[' ? 1 : 0;
			p->state = S_ATOM;
			return 0;
		}
	case S_ATOM:
		if (p->bracket > 0) {
			if (c == '\r' || c == '\n')
				return fail(p, "Unbalanced [ in atom");
			if (c < 0x20 || c >= 0x7f)
				return fail(p, "Invalid character in atom");
			if (c == '[')
				p->bracket++;
			else if (c == ']')
				p->bracket--;
			str_append_c(&p->cur, (char)c);
			return 0;
		}
		if (c == '[') {
			p->bracket = 1;
			str_append_c(&p->cur, (char)c);
			return 0;
		}
		if (atom_char(c)) {
			str_append_c(&p->cur, (char)c);
			return 0;
		}
		if (c != ' ' && c != ')' && c != '\r' && c != '\n')
			return fail(p, "Invalid character in atom");
		if (finish_atom(p) < 0)
			return -1;
		p->state = S_AFTER_ARG;
		return step(p, c);
	case S_AFTER_ARG:
		switch (c) {
		case ' ':
			p->state = S_ARG_START;
			return 0;
		case ')':
			return close_list(p);
		case '\r':
			p->state = S_CR;
			return 0;
		case '\n':
			return end_line(p);
		default:
			return fail(p, "Missing space between arguments");
		}
	case S_QUOTED:
		if (c == '\\') {
			p->state = S_QUOTED_ESC;
			return 0;
		}
		if (c == '"') {
			struct imap_arg *a = push_arg(p, IMAP_ARG_STRING);

			if (a == NULL)
				return fail(p, "Too many arguments");
			a->len = str_len(&p->cur);
			a->str = xmemdup(str_c(&p->cur), a->len);
			str_clear(&p->cur);
			p->state = S_AFTER_ARG;
			return 0;
		}
		if (c == '\r' || c == '\n' || c == '\0')
			return fail(p, "Unterminated quoted string");
		str_append_c(&p->cur, (char)c);
		return 0;
	case S_QUOTED_ESC:
		if (c != '"' && c != '\\')
			return fail(p, "Invalid escape in quoted string");
		str_append_c(&p->cur, (char)c);
		p->state = S_QUOTED;
		return 0;
	case S_LIT8:
		if (c != '{')
			return fail(p, "Invalid character");
		p->lit8 = true;
		p->state = S_LITSIZE;
		return 0;
	case S_LITSIZE:
		if (c >= '0' && c <= '9') {
			if (++p->lit_digits > 18)
				return fail(p, "Literal size too large");
			p->lit_size = p->lit_size * 10 + (c - '0');
			return 0;
		}
		if (p->lit_digits == 0)
			return fail(p, "Invalid literal size");
		if (c == '+' || c == '-') {
			p->lit_nonsync = true;
			p->lit_minus = c == '-';
			p->state = S_LITCLOSE;
			return 0;
		}
		if (c == '}') {
			p->state = S_LIT_CR;
			return 0;
		}
		return fail(p, "Invalid literal size");
	case S_LITCLOSE:
		if (c != '}')
			return fail(p, "Invalid literal size");
		p->state = S_LIT_CR;
		return 0;
	case S_LIT_CR:
		if (c == '\r') {
			p->state = S_LIT_LF;
			return 0;
		}
		/* fall through */
	case S_LIT_LF:
		if (c != '\n')
			return fail(p, "Literal must end the line");
		return literal_start(p);
	case S_CR:
		if (c != '\n')
			return fail(p, "CR without LF");
		return end_line(p);
	default:
		return fail(p, "Parser in a bad state");
	}
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p,
					const void *data, size_t len,
					size_t *used_r)
{
	const unsigned char *d = data;
	size_t i = 0;

	if (p->state == S_ERR_OVER)
		imap_parser_reset(p);
	while (i < len) {
		if (p->state == S_DONE) {
			*used_r = i;
			return IMAP_PARSE_DONE;
		}
		if (p->state == S_LIT_DATA) {
			uint64_t want = p->lit_size - p->lit_got;
			size_t n = len - i < want ? len - i : (size_t)want;

			memcpy(p->lit_data + p->lit_got, d + i, n);
			p->lit_got += n;
			i += n;
			if (p->lit_got == p->lit_size && literal_done(p) < 0) {
				*used_r = i;
				return IMAP_PARSE_ERROR;
			}
			continue;
		}
		if (p->state == S_SKIP_LIT) {
			size_t n = len - i < p->skip_left ? len - i :
							    (size_t)p->skip_left;
			p->skip_left -= n;
			i += n;
			if (p->skip_left == 0) {
				p->state = S_SKIP;
				p->tail_len = 0;
			}
			continue;
		}
		if (p->state == S_SKIP) {
			unsigned char c = d[i++];

			if (c != '\n') {
				skip_tail(p, c);
				continue;
			}
			uint64_t lit = skip_tail_literal(p);
			if (lit > 0) {
				p->skip_left = lit;
				p->state = S_SKIP_LIT;
				continue;
			}
			/* the failed command is over */
			const char *err = p->error;
			imap_parser_reset(p);
			p->error = err;
			continue;
		}
		if (p->state == S_ERR_OVER) {
			imap_parser_reset(p);
			continue;
		}
		if (++p->line_len > p->set.max_line) {
			*used_r = i;
			fail(p, "Command line too long");
			return IMAP_PARSE_ERROR;
		}
		unsigned char c = d[i++];
		int ret = step(p, c);
		if (ret < 0) {
			/* an error on the line's LF: nothing left to skip */
			if (c == '\n' && p->state == S_SKIP)
				p->state = S_ERR_OVER;
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
		if (ret == 2) {
			*used_r = i;
			if (p->lit_size == 0 && literal_done(p) < 0)
				return IMAP_PARSE_ERROR;
			return IMAP_PARSE_LITERAL;
		}
		if (ret == 0 && p->state == S_LIT_DATA && p->lit_size == 0 &&
		    literal_done(p) < 0) {
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
	}
	*used_r = i;
	return p->state == S_DONE ? IMAP_PARSE_DONE : IMAP_PARSE_MORE;
}

uint64_t imap_parser_literal_size(const struct imap_parser *p)
{
	return p->lit_size;
}

bool imap_parser_literal_nonsync(const struct imap_parser *p)
{
	return p->lit_nonsync;
}

void imap_parser_refuse_literal(struct imap_parser *p)
{
	imap_parser_reset(p);
}

uint64_t imap_parser_raw_wanted(const struct imap_parser *p)
{
	if (p->state == S_LIT_DATA)
		return p->lit_size - p->lit_got;
	if (p->state == S_SKIP_LIT)
		return p->skip_left;
	return 0;
}

bool imap_parser_skipping(const struct imap_parser *p)
{
	return p->state == S_SKIP || p->state == S_SKIP_LIT;
}

const char *imap_parser_tag(const struct imap_parser *p)
{
	return p->have_tag ? str_c(&p->tag) : NULL;
}

const struct imap_arg *imap_parser_args(const struct imap_parser *p,
					size_t *count_r)
{
	*count_r = p->stack[0].count;
	return p->stack[0].args;
}

const char *imap_parser_error(const struct imap_parser *p)
{
	return p->error != NULL ? p->error : "Syntax error";
}

bool imap_arg_is_string(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_STRING ||
	       arg->type == IMAP_ARG_LITERAL;
}

bool imap_arg_atom_equals(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0;
}
