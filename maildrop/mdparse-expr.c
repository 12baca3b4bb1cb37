/* mdparse-expr.c: the expressions of maildrop filter files: text,
 * patterns, function calls, operators by precedence, assignments. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdparse-private.h"
#include "mem.h"
#include "str.h"

static const struct {
	const char *name;
	unsigned int min_args, max_args;
} functions[] = {
	{ "length", 1, 1 },
	{ "substr", 2, 3 },
	{ "hasaddr", 1, 1 },
	{ "getaddr", 1, 1 },
	{ "escape", 1, 1 },
	{ "tolower", 1, 1 },
	{ "toupper", 1, 1 },
	{ "time", 0, 0 },
	{ "lookup", 2, 3 },
	{ "gdbmopen", 1, 2 },
	{ "gdbmclose", 0, 0 },
	{ "gdbmfetch", 1, 3 },
	{ "gdbmstore", 2, 2 },
};

int md_parse_expr_function(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(functions); i++) {
		if (strcmp(functions[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

bool md_function_known(const char *name)
{
	return md_parse_expr_function(name) >= 0;
}

static struct md_node *parse_unary(struct md_parser *p);

bool md_parse_expr_enter(struct md_parser *p, unsigned int line)
{
	if (++p->depth > p->limits.max_depth) {
		md_parser_fail(p, line, "nesting too deep");
		p->depth--;
		return false;
	}
	return true;
}

struct md_node *md_parse_expr_pattern(struct md_parser *p, struct token *t)
{
	struct md_node *n = md_parser_node_new(p, MD_PATTERN, t->line);

	if (n == NULL)
		return NULL;
	md_parser_node_set_str(n, str_c(&t->text), str_len(&t->text));
	n->flags = t->flags;
	n->weight = t->weight;
	n->factor = t->factor;
	return n;
}

/* Adjacent text pieces: one MD_TEXT node.  The first piece is peeked in
 * the given mode. */
static struct md_node *parse_text(struct md_parser *p, bool pattern_ok)
{
	struct token *t = md_lex_peek_mode(p, pattern_ok);
	struct md_node *n = md_parser_node_new(p, MD_TEXT, t->line);

	if (n == NULL)
		return NULL;
	while (t->type == T_TEXT) {
		struct md_node *piece = md_parser_node_new(p, t->kind, t->line);

		if (piece == NULL) {
			md_node_free(&n);
			return NULL;
		}
		md_parser_node_set_str(piece, str_c(&t->text), str_len(&t->text));
		md_parser_node_add_kid(n, piece);
		md_lex_consume(p);
		t = md_lex_peek_mode(p, false);
		if (t->type == T_TEXT && t->bare &&
		    (md_parse_expr_function(str_c(&t->text)) >= 0 ||
		     md_parser_is_reserved(str_c(&t->text)))) {
			/* a function or a text comparison operator after
			 * text: stop here */
			break;
		}
	}
	return n;
}

static struct md_node *parse_call(struct md_parser *p, int fidx,
				  unsigned int line)
{
	struct md_node *n = md_parser_node_new(p, MD_CALL, line);
	struct token *t;

	if (n == NULL)
		return NULL;
	n->str = xstrdup(functions[fidx].name);
	n->str_len = strlen(n->str);
	t = md_lex_peek(p);
	if (functions[fidx].max_args == 0) {
		/* time, gdbmclose: no parentheses ("time()" is an error
		 * in Debian's maildrop) */
		return n;
	}
	if (md_lex_is_op(t, "(")) {
		md_lex_consume(p);
		t = md_lex_peek(p);
		if (!md_lex_is_op(t, ")")) {
			for (;;) {
				/* an argument may be an assignment
				 * (length(A="q"), substr($S, X=1)) */
				struct md_node *arg = md_parse_expr_full(p);

				if (arg == NULL) {
					md_node_free(&n);
					return NULL;
				}
				md_parser_node_add_kid(n, arg);
				t = md_lex_peek(p);
				if (md_lex_is_op(t, "=")) {
					/* length(1 + 2 = 3): "Syntax error." */
					md_lex_syntax_error(p, t);
					md_node_free(&n);
					return NULL;
				}
				/* a required argument must follow ("Missing
				 * ,"); after the last one only ')' may
				 * ("Missing )"), as Debian's says */
				if (n->nkids < functions[fidx].min_args) {
					if (!md_lex_is_op(t, ",")) {
						md_parser_fail_at(p, t, "syntax error: ',' expected");
						md_node_free(&n);
						return NULL;
					}
					md_lex_consume(p);
					continue;
				}
				if (n->nkids < functions[fidx].max_args &&
				    md_lex_is_op(t, ",")) {
					md_lex_consume(p);
					continue;
				}
				break;
			}
		}
		if (!md_lex_expect_op(p, ")")) {
			md_node_free(&n);
			return NULL;
		}
	} else if (strcmp(functions[fidx].name, "substr") == 0 ||
		   strcmp(functions[fidx].name, "lookup") == 0) {
		md_parser_fail_at(p, t, "syntax error: '(' expected");
		md_node_free(&n);
		return NULL;
	} else if (strncmp(functions[fidx].name, "gdbm", 4) == 0 &&
		   functions[fidx].max_args > 0) {
		md_parser_fail_at(p, t, "syntax error: '(' expected after gdbm function");
		md_node_free(&n);
		return NULL;
	} else if (functions[fidx].max_args > 0) {
		/* "getaddr $MATCH": one operand without parentheses */
		struct md_node *arg = parse_unary(p);

		if (arg == NULL) {
			md_node_free(&n);
			return NULL;
		}
		md_parser_node_add_kid(n, arg);
	}
	if (n->nkids < functions[fidx].min_args ||
	    n->nkids > functions[fidx].max_args) {
		md_parser_fail(p, line, "wrong number of arguments to function");
		md_node_free(&n);
		return NULL;
	}
	return n;
}

static struct md_node *parse_primary(struct md_parser *p)
{
	struct token *t = md_lex_peek(p);
	struct md_node *n;

	if (p->failed)
		return NULL;
	if (md_lex_is_op(t, "(")) {
		md_lex_consume(p);
		n = md_parse_expr_full(p);
		if (n == NULL)
			return NULL;
		if (!md_lex_expect_op(p, ")")) {
			md_node_free(&n);
			return NULL;
		}
		return n;
	}
	if (t->type == T_PATTERN) {
		n = md_parse_expr_pattern(p, t);
		md_lex_consume(p);
		return n;
	}
	if (t->type == T_TEXT && t->bare &&
	    md_parser_is_reserved(str_c(&t->text))) {
		md_lex_syntax_error(p, t);
		return NULL;
	}
	if (t->type == T_TEXT) {
		int fidx = t->bare ? md_parse_expr_function(str_c(&t->text)) : -1;

		if (fidx >= 0) {
			unsigned int line = t->line;

			md_lex_consume(p);
			return parse_call(p, fidx, line);
		}
		return parse_text(p, true);
	}
	md_lex_syntax_error(p, t);
	return NULL;
}

static struct md_node *parse_unary(struct md_parser *p)
{
	struct token *t = md_lex_peek(p);
	enum md_op op = MD_OP_NONE;
	struct md_node *n, *operand;
	unsigned int line = t->line;

	if (md_lex_is_op(t, "!"))
		op = MD_OP_NOT;
	else if (md_lex_is_op(t, "~"))
		op = MD_OP_BNOT;
	if (op == MD_OP_NONE)
		return parse_primary(p);
	md_lex_consume(p);
	if (!md_parse_expr_enter(p, line))
		return NULL;
	operand = parse_unary(p);
	p->depth--;
	if (operand == NULL)
		return NULL;
	n = md_parser_node_new(p, MD_UNARY, line);
	if (n == NULL) {
		md_node_free(&operand);
		return NULL;
	}
	n->op = op;
	n->a = operand;
	return n;
}

/* expr =~ /pattern/ */
static struct md_node *parse_match(struct md_parser *p)
{
	struct md_node *left = parse_unary(p), *n;
	struct token *t;

	while (left != NULL && md_lex_is_op(t = md_lex_peek(p), "=~")) {
		unsigned int line = t->line;

		md_lex_consume(p);
		t = md_lex_peek(p);
		if (t->type != T_PATTERN) {
			md_parser_fail_at(p, t, "syntax error: pattern expected after =~");
			md_node_free(&left);
			return NULL;
		}
		n = md_parser_node_new(p, MD_MATCH, line);
		if (n == NULL) {
			md_node_free(&left);
			return NULL;
		}
		n->a = left;
		n->b = md_parse_expr_pattern(p, t);
		md_lex_consume(p);
		if (n->b == NULL) {
			md_node_free(&n);
			return NULL;
		}
		left = n;
	}
	return left;
}

struct binop {
	const char *tok;
	bool word;
	enum md_op op;
};

static const struct binop level_cmp[] = {
	{ "<", false, MD_OP_LT }, { "<=", false, MD_OP_LE },
	{ ">", false, MD_OP_GT }, { ">=", false, MD_OP_GE },
	{ "==", false, MD_OP_EQ }, { "!=", false, MD_OP_NE },
	{ "lt", true, MD_OP_SLT }, { "le", true, MD_OP_SLE },
	{ "gt", true, MD_OP_SGT }, { "ge", true, MD_OP_SGE },
	{ "eq", true, MD_OP_SEQ }, { "ne", true, MD_OP_SNE },
	{ NULL, false, MD_OP_NONE },
};
static const struct binop level_or[] = { { "||", false, MD_OP_OR }, { NULL, false, MD_OP_NONE } };
static const struct binop level_and[] = { { "&&", false, MD_OP_AND }, { NULL, false, MD_OP_NONE } };
static const struct binop level_bor[] = { { "|", false, MD_OP_BOR }, { NULL, false, MD_OP_NONE } };
static const struct binop level_band[] = { { "&", false, MD_OP_BAND }, { NULL, false, MD_OP_NONE } };
static const struct binop level_add[] = {
	{ "+", false, MD_OP_ADD }, { "-", false, MD_OP_SUB },
	{ NULL, false, MD_OP_NONE },
};
static const struct binop level_mul[] = {
	{ "*", false, MD_OP_MUL }, { "/", false, MD_OP_DIV },
	{ NULL, false, MD_OP_NONE },
};

static const struct binop *const levels[] = {
	level_or, level_and, level_cmp, level_bor, level_band, level_add,
	level_mul,
};

static enum md_op find_op(struct token *t, const struct binop *ops)
{
	for (; ops->tok != NULL; ops++) {
		if (ops->word ? md_lex_is_word(t, ops->tok) : md_lex_is_op(t, ops->tok))
			return ops->op;
	}
	return MD_OP_NONE;
}

static struct md_node *parse_level(struct md_parser *p, size_t level)
{
	struct md_node *left, *right, *n;
	bool nonassoc;
	enum md_op op;

	if (level == N_ELEMENTS(levels))
		return parse_match(p);
	nonassoc = levels[level] == level_cmp;
	if (!md_parse_expr_enter(p, md_lex_peek(p)->line))
		return NULL;
	left = parse_level(p, level + 1);
	while (left != NULL) {
		/* a '/' after an operand is division, never a pattern */
		struct token *t = md_lex_peek_mode(p, false);
		unsigned int line = t->line;

		op = find_op(t, levels[level]);
		if (op == MD_OP_NONE)
			break;
		md_lex_consume(p);
		/* the right operand of * and / is not a match: "1 * x =~ /re/"
		 * is a syntax error in Debian's maildrop ("x =~ /re/ * 2" and
		 * "1 + x =~ /re/" are not) */
		right = levels[level] == level_mul ? parse_unary(p) :
			parse_level(p, level + 1);
		if (right == NULL) {
			md_node_free(&left);
			break;
		}
		n = md_parser_node_new(p, MD_BINARY, line);
		if (n == NULL) {
			md_node_free(&left);
			md_node_free(&right);
			break;
		}
		n->op = op;
		n->a = left;
		n->b = right;
		left = n;
		/* comparisons do not chain: a second one ends the
		 * expression, and the context says what it missed ("Missing
		 * )" in parentheses, "Syntax error." ending a statement), as
		 * in Debian's maildrop */
		if (nonassoc)
			break;
	}
	p->depth--;
	return left;
}

struct md_node *md_parse_expr(struct md_parser *p)
{
	return parse_level(p, 0);
}


/* An expression, or NAME=expression: an assignment whose value is the
 * expression's, which Debian's maildrop takes at the top of a
 * statement's expression and inside parentheses (if (X = "b"),
 * echo X=5, Z=(W=3) + 1); not twice (X=Y=4 is "Syntax error before =")
 * and not in a function's arguments. */
struct md_node *md_parse_expr_full(struct md_parser *p)
{
	struct token *t = md_lex_peek(p);
	struct md_node *n;

	if (t->type != T_TEXT || t->kind == MD_BQ || t->kind == MD_SQ ||
	    (t->bare && md_parser_is_reserved(str_c(&t->text))) || !md_parser_at_assign(p))
		return md_parse_expr(p);
	n = md_parser_node_new(p, MD_ASSIGN, t->line);
	if (n == NULL)
		return NULL;
	md_parser_node_set_str(n, str_c(&t->text), str_len(&t->text));
	md_lex_consume(p);
	if (!md_lex_expect_op(p, "=")) {
		md_node_free(&n);
		return NULL;
	}
	t = md_lex_peek_mode(p, false);
	if (t->type == T_SEP || t->type == T_EOF || md_lex_is_op(t, ")")) {
		md_lex_syntax_error(p, t);
		md_node_free(&n);
		return NULL;
	}
	n->line = p->line;
	n->a = md_parse_expr(p);
	if (n->a == NULL)
		md_node_free(&n);
	return n;
}
