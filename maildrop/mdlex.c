/* mdlex.c: the lexer of maildrop filter files: tokens, one of lookahead,
 * lexed with or without patterns as the parser asks. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdparse-private.h"
#include "mem.h"
#include "str.h"

static int cur(const struct md_parser *p)
{
	return p->pos < p->len ? (unsigned char)p->p[p->pos] : -1;
}

static int at(const struct md_parser *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->p[p->pos + off] : -1;
}

/* Bits of word_class[]: a character a word may hold, or start with. */
#define WORD_CHAR 1
#define WORD_START 2

/* Letters, digits and bytes above 127 (isalnum() in the C locale),
 * "_-.:/$@" inside a word, "_.:$@" at its start. */
static unsigned char word_class(int c)
{
	static unsigned char table[256];
	static bool ready;

	if (!ready) {
		for (int i = 1; i < 256; i++) {
			if (isalnum(i) || i >= 0x80)
				table[i] = WORD_CHAR | WORD_START;
		}
		for (const char *q = "_.:$@"; *q != '\0'; q++)
			table[(unsigned char)*q] = WORD_CHAR | WORD_START;
		table['-'] = WORD_CHAR;
		table['/'] = WORD_CHAR;
		ready = true;
	}
	return c < 0 ? 0 : table[c];
}

static bool is_word_char(int c)
{
	return (word_class(c) & WORD_CHAR) != 0;
}

static bool is_word_start(int c)
{
	return (word_class(c) & WORD_START) != 0;
}

/* Skips blanks, comments and backslash-newline continuations. */
static void skip_space(struct md_parser *p)
{
	for (;;) {
		int c = cur(p);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
		    c == '\v') {
			p->pos++;
		} else if (c == '\\' && (at(p, 1) == '\n' ||
					 (at(p, 1) == '\r' && at(p, 2) == '\n'))) {
			p->pos += at(p, 1) == '\n' ? 2 : 3;
			p->line++;
		} else if (c == '#') {
			while (cur(p) != -1 && cur(p) != '\n')
				p->pos++;
		} else {
			return;
		}
	}
}

static void lex_error(struct md_parser *p, struct token *t, const char *msg)
{
	t->type = T_ERROR;
	t->error = msg;
}

/* A quoted piece: q is the quote.  Backslash-newline and the following
 * leading blanks are removed; in "..." \\ and \" are unescaped and other
 * backslash pairs kept; in '...' and `...` everything is literal except
 * the escaped quote itself. */
static void lex_quoted(struct md_parser *p, struct token *t, int q)
{
	unsigned int start_line = p->line;

	p->pos++;
	for (;;) {
		int c = cur(p);

		if (c == -1) {
			p->line = start_line;
			lex_error(p, t, "unterminated quoted string");
			return;
		}
		p->pos++;
		if (c == q)
			break;
		if (c == '\n') {
			/* a line end not escaped by a backslash ends the
			 * file's quote for Debian's maildrop: unterminated */
			p->line = start_line;
			lex_error(p, t, "unterminated quoted string");
			return;
		}
		if (c == '\\' && (cur(p) == '\n' ||
				  (cur(p) == '\r' && at(p, 1) == '\n'))) {
			/* continuation: drop it and the next line's indent */
			p->pos += cur(p) == '\n' ? 1 : 2;
			p->line++;
			while (cur(p) == ' ' || cur(p) == '\t')
				p->pos++;
			continue;
		}
		if (c == '\\' && cur(p) != -1) {
			int n = cur(p);

			if (q == '"') {
				/* kept raw: substitution unescapes it */
				str_append_c(&t->text, '\\');
				str_append_c(&t->text, (char)n);
				p->pos++;
				continue;
			}
			/* '\'' and, in '...', '\\' (as Debian's) */
			if (n == q || (q == '\'' && n == '\\')) {
				str_append_c(&t->text, (char)n);
				p->pos++;
				continue;
			}
		}
		str_append_c(&t->text, (char)c);
	}
	t->type = T_TEXT;
	t->kind = q == '"' ? MD_DQ : q == '\'' ? MD_SQ : MD_BQ;
}

static bool lex_number(struct md_parser *p, double *value_r)
{
	size_t start, digits = 0;
	char buf[64];

	while (cur(p) == ' ' || cur(p) == '\t')
		p->pos++;
	start = p->pos;
	if (cur(p) == '-' || cur(p) == '+')
		p->pos++;
	while (cur(p) >= '0' && cur(p) <= '9') {
		p->pos++;
		digits++;
	}
	if (cur(p) == '.') {
		p->pos++;
		while (cur(p) >= '0' && cur(p) <= '9') {
			p->pos++;
			digits++;
		}
	}
	if (digits == 0 || p->pos - start >= sizeof(buf))
		return false;
	memcpy(buf, p->p + start, p->pos - start);
	buf[p->pos - start] = '\0';
	*value_r = strtod(buf, NULL);
	return true;
}

static void lex_pattern(struct md_parser *p, struct token *t)
{
	p->pos++;
	for (;;) {
		int c = cur(p);

		if (c == -1 || c == '\n') {
			lex_error(p, t, "unterminated pattern");
			return;
		}
		p->pos++;
		if (c == '/')
			break;
		str_append_c(&t->text, (char)c);
		if (c == '\\' && cur(p) != -1 && cur(p) != '\n') {
			str_append_c(&t->text, (char)cur(p));
			p->pos++;
		}
	}
	t->type = T_PATTERN;
	t->flags = 0;
	t->weight = 1;
	t->factor = 1;
	if (cur(p) != ':')
		return;
	p->pos++;
	while (cur(p) != -1 && isalpha(cur(p))) {
		switch (cur(p)) {
		case 'h': t->flags |= MD_PAT_HEADER; break;
		case 'b': t->flags |= MD_PAT_BODY; break;
		case 'D': t->flags |= MD_PAT_CASE; break;
		case 'H': t->flags |= MD_PAT_MAIN_HEADER; break;
		default:
			/* w, W and any other letter: accepted and
			 * ignored, as Debian's maildrop does */
			break;
		}
		p->pos++;
	}
	if (cur(p) != ',')
		return;
	p->pos++;
	if (!lex_number(p, &t->weight)) {
		lex_error(p, t, "bad pattern weight");
		return;
	}
	t->flags |= MD_PAT_WEIGHTED;
	while (cur(p) == ' ' || cur(p) == '\t')
		p->pos++;
	if (cur(p) == ',') {
		p->pos++;
		if (!lex_number(p, &t->factor)) {
			lex_error(p, t, "bad pattern weight factor");
			return;
		}
	}
}

static void lex_word(struct md_parser *p, struct token *t)
{
	size_t start = p->pos;

	for (;;) {
		int c = cur(p);

		/* braces inside a word are part of it ("${VAR}", "a}b") */
		if ((c == '{' || c == '}') && p->pos > start)
			;
		else if (!is_word_char(c))
			break;
		p->pos++;
	}
	str_append_n(&t->text, p->p + start, p->pos - start);
	t->type = T_TEXT;
	t->kind = MD_DQ;
	t->bare = true;
}

static void lex(struct md_parser *p, struct token *t, bool pattern_ok)
{
	static const char *const ops2[] = {
		"||", "&&", "<=", ">=", "==", "!=", "=~",
	};
	int c;

	str_clear(&t->text);
	t->bare = false;
	t->error = NULL;
	skip_space(p);
	t->line = p->line;
	t->start = p->pos;
	c = cur(p);
	if (c == -1) {
		t->type = T_EOF;
		return;
	}
	if (c == '\n' || c == ';') {
		if (c == '\n')
			p->line++;
		p->pos++;
		t->type = T_SEP;
		return;
	}
	if (c == '"' || c == '\'' || c == '`') {
		lex_quoted(p, t, c);
		return;
	}
	if (c == '/' && pattern_ok && at(p, 1) != -1 &&
	    !isspace(at(p, 1))) {
		lex_pattern(p, t);
		return;
	}
	if (c == '/' && !pattern_ok && at(p, 1) != -1 && !isspace(at(p, 1))) {
		lex_word(p, t);
		return;
	}
	/* "-x", "-5", "-$VAR": a word (Debian's maildrop has no unary
	 * minus); "7 - 5" and "5 -(3)" subtract */
	if (is_word_start(c) || (c == '-' && is_word_char(at(p, 1)))) {
		lex_word(p, t);
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(ops2); i++) {
		if (c == ops2[i][0] && at(p, 1) == ops2[i][1]) {
			t->type = T_OP;
			memcpy(t->op, ops2[i], 3);
			p->pos += 2;
			return;
		}
	}
	if (strchr("(){},=<>!~|&+-*/", c) != NULL) {
		t->type = T_OP;
		t->op[0] = (char)c;
		t->op[1] = '\0';
		p->pos++;
		return;
	}
	/* any other character is a token of its own that fits nowhere, so
	 * the error is the context's, as in Debian's maildrop: "X=(Y=^a)"
	 * is "Missing )", "X=^a" "Syntax error." */
	p->pos++;
	t->type = T_OP;
	t->op[0] = (char)c;
	t->op[1] = '\0';
}

/* The next token, lexed with patterns allowed or not. */
struct token *md_lex_peek_mode(struct md_parser *p, bool pattern_ok)
{
	if (p->have_peek && !pattern_ok && p->tok.type == T_PATTERN) {
		/* lex it again in the other mode */
		p->pos = p->tok.start;
		p->line = p->tok.line;
		p->have_peek = false;
	}
	if (!p->have_peek) {
		lex(p, &p->tok, pattern_ok);
		p->have_peek = true;
		p->peek_pattern_ok = pattern_ok;
		if (p->tok.type == T_ERROR)
			md_parser_fail(p, p->tok.line, p->tok.error);
	}
	return &p->tok;
}

struct token *md_lex_peek(struct md_parser *p)
{
	return md_lex_peek_mode(p, true);
}

bool md_lex_expect_op(struct md_parser *p, const char *op)
{
	struct token *t = md_lex_peek(p);

	if (!md_lex_is_op(t, op)) {
		char msg[64];

		if (!p->failed) {
			int n = snprintf(msg, sizeof(msg), "syntax error: '%s' expected", op);
			(void)n;
			md_parser_fail_at(p, t, msg);
		}
		return false;
	}
	md_lex_consume(p);
	return true;
}

void md_lex_syntax_error(struct md_parser *p, struct token *t)
{
	const char *what = "syntax error";

	if (t->type == T_EOF)
		what = "syntax error: unexpected end of file";
	else if (t->type == T_SEP)
		what = "syntax error: unexpected end of line";
	md_parser_fail_at(p, t, what);
}
