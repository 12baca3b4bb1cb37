/* mdparse-private.h: what the parts of the maildrop filter-file parser
 * share (mdparse.c: the API, errors, nodes and statements; mdlex.c: the
 * lexer; mdparse-expr.c: expressions).  Not for the interpreter, which
 * uses mdparse.h. */
#ifndef MDPARSE_PRIVATE_H
#define MDPARSE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "mdparse.h"
#include "str.h"

enum tok_type {
	T_EOF,
	T_SEP,		/* newline or ';' */
	T_TEXT,		/* one piece of text (kind: MD_SQ, MD_DQ, MD_BQ) */
	T_PATTERN,
	T_OP,		/* operator or punctuation; op[] holds it */
	T_ERROR,
};

struct token {
	enum tok_type type;
	enum md_node_type kind;	/* T_TEXT */
	bool bare;		/* T_TEXT: unquoted word */
	char op[3];
	unsigned int line;
	size_t start;		/* offset where the token began */
	struct str text;	/* T_TEXT, T_PATTERN */
	unsigned int flags;	/* T_PATTERN */
	double weight, factor;
	const char *error;
};

struct md_parser {
	struct md_parse_limits limits;
	const char *file;
	const char *p;
	size_t len, pos;
	unsigned int line;
	bool have_peek;
	bool peek_pattern_ok;
	struct token tok;
	unsigned int depth;
	size_t nodes;
	bool failed;
	unsigned int err_line;
	char *err_msg;
	char *err_full;
	/* the same error in Debian's maildrop's words (md_parser_error_report) */
	unsigned int report_line;
	const char *report_msg;
	bool report_quote;	/* an unterminated quote: Debian's extra line */
	char *err_report;
};

/* ---- mdparse.c ---- */

/* Records the first syntax error (later ones are ignored): line and
 * msg in our words; the words of Debian's maildrop are derived from
 * msg for md_parser_error_report(). */
void md_parser_fail(struct md_parser *p, unsigned int line, const char *msg);
/* md_parser_fail() at token t (a line end counts as the next line in
 * Debian's report). */
void md_parser_fail_at(struct md_parser *p, const struct token *t,
		       const char *msg);
/* A new node of type on line (owned by the caller), or NULL with the
 * error recorded when the filter has more than the nodes limit. */
struct md_node *md_parser_node_new(struct md_parser *p,
				   enum md_node_type type, unsigned int line);
void md_parser_node_add_kid(struct md_node *n, struct md_node *kid);
/* Replaces n->str with a copy of s (len bytes). */
void md_parser_node_set_str(struct md_node *n, const char *s, size_t len);
/* True for the words Debian's maildrop lexes as keywords anywhere. */
bool md_parser_is_reserved(const char *w);
/* True when the next tokens are NAME '=' (an assignment starts). */
bool md_parser_at_assign(struct md_parser *p);

/* ---- mdlex.c ---- */

/* The next token (owned by the parser, valid until the next call),
 * lexed with patterns allowed or not; a token lexed as a pattern is
 * lexed again when asked for without.  A lexing error is recorded. */
struct token *md_lex_peek_mode(struct md_parser *p, bool pattern_ok);
/* md_lex_peek_mode(p, true). */
struct token *md_lex_peek(struct md_parser *p);
/* Consumes the expected operator op, or records "'op' expected" and
 * returns false. */
bool md_lex_expect_op(struct md_parser *p, const char *op);
/* Records a syntax error at t. */
void md_lex_syntax_error(struct md_parser *p, struct token *t);

/* Drops the token peeked at. */
static inline void md_lex_consume(struct md_parser *p)
{
	p->have_peek = false;
}

/* t->op (up to 2 characters) is op: compared in place, the parser asks
 * it of every token at every precedence level. */
static inline bool md_lex_is_op(struct token *t, const char *op)
{
	return t->type == T_OP && t->op[0] == op[0] &&
		(op[0] == '\0' || (t->op[1] == op[1] &&
				   (op[1] == '\0' || t->op[2] == op[2])));
}

static inline bool md_lex_is_word(struct token *t, const char *w)
{
	return t->type == T_TEXT && t->bare && str_c(&t->text)[0] == w[0] &&
		strcmp(str_c(&t->text), w) == 0;
}

/* ---- mdparse-expr.c ---- */

/* The index of function name in the table of functions, or -1. */
int md_parse_expr_function(const char *name);
/* One more level of nesting; false (error recorded) past the limit.
 * The caller decrements p->depth when it leaves the level. */
bool md_parse_expr_enter(struct md_parser *p, unsigned int line);
/* A pattern node from pattern token t. */
struct md_node *md_parse_expr_pattern(struct md_parser *p, struct token *t);
/* An expression; NULL with the error recorded. */
struct md_node *md_parse_expr(struct md_parser *p);
/* An expression or NAME=expression (md_parse_expr_full() in
 * mdparse-expr.c says where Debian's maildrop takes which). */
struct md_node *md_parse_expr_full(struct md_parser *p);

#endif
