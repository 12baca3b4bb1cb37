/* mdparse.c: the maildrop filter-file parser: its API, errors, the parse
 * tree's nodes and the statements (mdlex.c: tokens; mdparse-expr.c:
 * expressions). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdparse-private.h"
#include "mem.h"
#include "str.h"


/* Words Debian's maildrop lexes as keywords wherever they are: a bare
 * one is never text ("echo to" and "X=else" are syntax errors). */
static const char *const reserved_words[] = {
	"if", "else", "elsif", "while", "foreach", "to", "cc", "exit",
	"exception", "import", "echo", "log", "logfile", "xfilter",
	"dotlock", "flock", "include", "system", "unset",
	"eq", "ne", "lt", "le", "gt", "ge",
};

bool md_parser_is_reserved(const char *w)
{
	for (size_t i = 0; i < N_ELEMENTS(reserved_words); i++) {
		/* the first letter first: most words are none of them */
		if (reserved_words[i][0] == w[0] &&
		    strcmp(reserved_words[i], w) == 0)
			return true;
	}
	return false;
}

struct md_parser *md_parser_create(const struct md_parse_limits *limits)
{
	struct md_parser *p = xcalloc(1, sizeof(*p));

	if (limits != NULL)
		p->limits = *limits;
	if (p->limits.max_input == 0)
		p->limits.max_input = 1024 * 1024;
	if (p->limits.max_depth == 0)
		p->limits.max_depth = 64;
	if (p->limits.max_nodes == 0)
		p->limits.max_nodes = 200000;
	str_init(&p->tok.text, 64);
	return p;
}

void md_parser_destroy(struct md_parser **parser)
{
	struct md_parser *p = *parser;

	if (p == NULL)
		return;
	str_free(&p->tok.text);
	free(p->err_msg);
	free(p->err_full);
	free(p->err_report);
	free(p);
	*parser = NULL;
}

const char *md_parser_error(const struct md_parser *parser)
{
	return parser->err_full;
}

unsigned int md_parser_error_line(const struct md_parser *parser)
{
	return parser->err_line;
}

const char *md_parser_error_message(const struct md_parser *parser)
{
	return parser->err_msg;
}

const char *md_parser_error_report(const struct md_parser *parser)
{
	return parser->err_report;
}

void md_parser_fail(struct md_parser *p, unsigned int line, const char *msg)
{
	if (p->failed)
		return;
	p->failed = true;
	p->err_line = line;
	p->err_msg = xstrdup(msg);
	p->err_full = xasprintf("%s:%u: %s", p->file, line, msg);
	/* Debian's maildrop has three texts, its line is that of the token
	 * it stopped at (md_parser_fail_at() says which) */
	p->report_line = line;
	if (strcmp(msg, "syntax error: ')' expected") == 0)
		p->report_msg = "Missing )";
	else if (strcmp(msg, "syntax error: missing '}'") == 0)
		p->report_msg = "Missing }";
	else if (strcmp(msg, "syntax error after ')'") == 0)
		p->report_msg = "Syntax error after )";
	else if (strcmp(msg, "syntax error after '}'") == 0)
		p->report_msg = "Syntax error after }";
	else if (strcmp(msg, "syntax error after else") == 0)
		p->report_msg = "Syntax error after else";
	else if (strcmp(msg, "syntax error before '='") == 0)
		p->report_msg = "Syntax error before =";
	else if (strcmp(msg, "syntax error: '(' expected") == 0)
		p->report_msg = "Missing (";
	else if (strcmp(msg, "syntax error: ',' expected") == 0)
		p->report_msg = "Missing ,";
	else if (strcmp(msg, "syntax error: '(' expected after gdbm function") == 0)
		p->report_msg = "Missing (.";
	else if (strcmp(msg, "syntax error after if") == 0)
		p->report_msg = "Syntax error after if";
	else if (strcmp(msg, "syntax error after while") == 0)
		p->report_msg = "Syntax error after while";
	else
		p->report_msg = "Syntax error.";
	p->report_quote = strcmp(msg, "unterminated quoted string") == 0;
}

/* md_parser_fail() at token t: Debian's maildrop counts a line end as being on
 * the next line. */
void md_parser_fail_at(struct md_parser *p, const struct token *t,
		    const char *msg)
{
	bool was_failed = p->failed;

	md_parser_fail(p, t->line, msg);
	if (!was_failed && t->type == T_SEP && t->start < p->len &&
	    p->p[t->start] == '\n')
		p->report_line = t->line + 1;
}

void md_node_free(struct md_node **node)
{
	struct md_node *n = *node;

	if (n == NULL)
		return;
	md_node_free(&n->a);
	md_node_free(&n->b);
	md_node_free(&n->c);
	for (size_t i = 0; i < n->nkids; i++)
		md_node_free(&n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
	*node = NULL;
}

struct md_node *md_parser_node_new(struct md_parser *p, enum md_node_type type,
				unsigned int line)
{
	struct md_node *n;

	if (++p->nodes > p->limits.max_nodes) {
		md_parser_fail(p, line, "filter too large (too many nodes)");
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->type = type;
	n->line = line;
	return n;
}

void md_parser_node_add_kid(struct md_node *n, struct md_node *kid)
{
	/* room for 4, then doubled: a block of 50 statements is not
	 * reallocated 50 times */
	if (n->nkids == 0 ||
	    (n->nkids >= 4 && (n->nkids & (n->nkids - 1)) == 0))
		n->kids = xreallocarray(n->kids,
					n->nkids == 0 ? 4 : n->nkids * 2,
					sizeof(*n->kids));
	n->kids[n->nkids++] = kid;
}

void md_parser_node_set_str(struct md_node *n, const char *s, size_t len)
{
	free(n->str);
	n->str = xmemdup(s, len);
	n->str_len = len;
}

/* ---- statements ---- */

static struct md_node *parse_statement(struct md_parser *p);

static void skip_seps(struct md_parser *p)
{
	while (md_lex_peek(p)->type == T_SEP)
		md_lex_consume(p);
}

/* '{' statements '}' */
static struct md_node *parse_block(struct md_parser *p)
{
	struct token *t = md_lex_peek(p);
	struct md_node *block = md_parser_node_new(p, MD_BLOCK, t->line);

	if (block == NULL)
		return NULL;
	if (!md_lex_expect_op(p, "{")) {
		md_node_free(&block);
		return NULL;
	}
	if (!md_parse_expr_enter(p, block->line)) {
		md_node_free(&block);
		return NULL;
	}
	for (;;) {
		struct md_node *s;

		skip_seps(p);
		t = md_lex_peek(p);
		if (md_lex_is_op(t, "}")) {
			md_lex_consume(p);
			break;
		}
		if (t->type == T_EOF) {
			md_parser_fail(p, block->line, "syntax error: missing '}'");
			/* Debian's maildrop names the end of the file */
			p->report_line = t->line;
			md_node_free(&block);
			break;
		}
		s = parse_statement(p);
		if (s == NULL) {
			md_node_free(&block);
			break;
		}
		md_parser_node_add_kid(block, s);
	}
	p->depth--;
	return block;
}

/* The end of the line (or ';') that must follow "if (...)", "else",
 * "while (...)" and "foreach ...", with what Debian's maildrop says when
 * it is missing (msg); then any number of them. */
static bool expect_sep(struct md_parser *p, const char *msg)
{
	struct token *t = md_lex_peek(p);

	if (t->type == T_SEP) {
		skip_seps(p);
		return true;
	}
	if (t->type == T_EOF)
		md_lex_syntax_error(p, t);
	else
		md_parser_fail_at(p, t, msg);
	return false;
}

/* After '}' of a block: the end of the line, ';' or the end of the file
 * (one separator is taken: an "else" must follow at once). */
static bool end_block(struct md_parser *p)
{
	struct token *t = md_lex_peek(p);

	if (t->type == T_SEP) {
		md_lex_consume(p);
		return true;
	}
	if (t->type == T_EOF)
		return true;
	md_parser_fail_at(p, t, "syntax error after '}'");
	return false;
}

/* The separator msg names, then a block or one statement, after
 * if/else/while/foreach. */
static struct md_node *parse_body(struct md_parser *p, const char *msg)
{
	struct token *t;

	if (!expect_sep(p, msg))
		return NULL;
	t = md_lex_peek(p);
	if (t->type == T_EOF || md_lex_is_op(t, "}")) {
		md_lex_syntax_error(p, t);
		return NULL;
	}
	return parse_statement(p);
}

/* "(expr)" after if, elsif (msg "syntax error after if") and while
 * ("syntax error after while"): what Debian's maildrop says when '('
 * is missing. */
static struct md_node *parse_cond(struct md_parser *p, const char *msg)
{
	struct md_node *n;

	if (!md_lex_is_op(md_lex_peek(p), "(")) {
		md_parser_fail_at(p, md_lex_peek(p), msg);
		return NULL;
	}
	md_lex_consume(p);
	n = md_parse_expr_full(p);
	if (n != NULL && !md_lex_expect_op(p, ")"))
		md_node_free(&n);
	return n;
}

static struct md_node *parse_if(struct md_parser *p, unsigned int line)
{
	struct md_node *n = md_parser_node_new(p, MD_IF, line);
	struct token *t;

	if (n == NULL)
		return NULL;
	if (!md_parse_expr_enter(p, line)) {
		md_node_free(&n);
		return NULL;
	}
	n->a = parse_cond(p, "syntax error after if");
	if (n->a != NULL)
		n->b = parse_body(p, "syntax error after ')'");
	if (n->b == NULL) {
		p->depth--;
		md_node_free(&n);
		return NULL;
	}
	/* the body took the one line end (or ';') after it: else/elsif
	 * must come next, as in Debian's maildrop (not after a blank
	 * line) */
	t = md_lex_peek(p);
	if (md_lex_is_word(t, "else")) {
		md_lex_consume(p);
		n->c = parse_body(p, "syntax error after else");
		if (n->c == NULL)
			md_node_free(&n);
	} else if (md_lex_is_word(t, "elsif")) {
		unsigned int l = t->line;

		md_lex_consume(p);
		n->c = parse_if(p, l);
		if (n->c == NULL)
			md_node_free(&n);
	}
	p->depth--;
	return n;
}

static struct md_node *parse_foreach(struct md_parser *p, unsigned int line)
{
	struct md_node *n = md_parser_node_new(p, MD_FOREACH, line);
	struct token *t;

	if (n == NULL)
		return NULL;
	t = md_lex_peek(p);
	if (t->type == T_PATTERN) {
		n->c = md_parse_expr_pattern(p, t);
		md_lex_consume(p);
	} else if (md_lex_is_op(t, "(")) {
		md_lex_consume(p);
		n->a = md_parse_expr(p);
		if (n->a == NULL || !md_lex_expect_op(p, ")")) {
			md_node_free(&n);
			return NULL;
		}
		/* Debian's maildrop also takes the match inside the
		 * parentheses: foreach (/re/) and foreach (expr =~ /re/) */
		if (n->a->type == MD_PATTERN && !md_lex_is_op(md_lex_peek(p), "=~")) {
			n->c = n->a;
			n->a = NULL;
			goto body;
		}
		if (n->a->type == MD_MATCH && !md_lex_is_op(md_lex_peek(p), "=~")) {
			struct md_node *m = n->a;

			n->a = m->a;
			n->c = m->b;
			m->a = NULL;
			m->b = NULL;
			md_node_free(&m);
			goto body;
		}
		if (!md_lex_expect_op(p, "=~")) {
			md_node_free(&n);
			return NULL;
		}
		t = md_lex_peek(p);
		if (t->type != T_PATTERN) {
			md_parser_fail_at(p, t, "syntax error: pattern expected");
			md_node_free(&n);
			return NULL;
		}
		n->c = md_parse_expr_pattern(p, t);
		md_lex_consume(p);
	} else {
		md_parser_fail_at(p, t, "syntax error: pattern expected after foreach");
		md_node_free(&n);
		return NULL;
	}
body:
	if (n->c == NULL) {
		md_node_free(&n);
		return NULL;
	}
	n->b = parse_body(p, "syntax error");
	if (n->b == NULL)
		md_node_free(&n);
	return n;
}

/* Statement keyword with one expression argument. */
static struct md_node *parse_expr_stmt(struct md_parser *p,
				       enum md_node_type type,
				       unsigned int line, bool pattern_ok)
{
	struct md_node *n = md_parser_node_new(p, type, line);

	if (n == NULL)
		return NULL;
	md_lex_peek_mode(p, pattern_ok);
	n->a = md_parse_expr_full(p);
	if (n->a == NULL)
		md_node_free(&n);
	return n;
}

static bool valid_var_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '_'))
			return false;
	}
	return true;
}

/* After the statement: a separator, '}' or the end. */
static bool end_statement(struct md_parser *p)
{
	struct token *t = md_lex_peek_mode(p, false);

	if (t->type == T_SEP) {
		md_lex_consume(p);
		return true;
	}
	/* not '}': "echo x }" is an error in Debian's maildrop */
	if (t->type == T_EOF)
		return true;
	if (md_lex_is_op(t, "="))
		md_parser_fail_at(p, t, "syntax error before '='");
	else
		md_lex_syntax_error(p, t);
	return false;
}

/* Is the next thing in the input '=' for an assignment (not == or =~)? */
bool md_parser_at_assign(struct md_parser *p)
{
	size_t i = p->pos;

	while (i < p->len && (p->p[i] == ' ' || p->p[i] == '\t'))
		i++;
	return i < p->len && p->p[i] == '=' &&
	       (i + 1 >= p->len || (p->p[i + 1] != '=' && p->p[i + 1] != '~'));
}

static struct md_node *parse_statement_inner(struct md_parser *p)
{
	struct token *t = md_lex_peek(p);
	unsigned int line = t->line;
	struct md_node *n;

	/* a block on its own: { statements } */
	if (md_lex_is_op(t, "{"))
		return parse_block(p);
	if (t->type == T_TEXT && (t->bare || t->kind == MD_DQ) &&
	    !(t->bare && md_parser_is_reserved(str_c(&t->text))) && md_parser_at_assign(p)) {
		/* VAR=value ("VAR" may be quoted) */
		if (!valid_var_name(str_c(&t->text), str_len(&t->text)) &&
		    t->bare) {
			md_parser_fail(p, line, "invalid variable name");
			return NULL;
		}
		n = md_parser_node_new(p, MD_ASSIGN, line);
		if (n == NULL)
			return NULL;
		md_parser_node_set_str(n, str_c(&t->text), str_len(&t->text));
		md_lex_consume(p);
		if (!md_lex_expect_op(p, "=")) {
			md_node_free(&n);
			return NULL;
		}
		t = md_lex_peek_mode(p, false);
		if (t->type == T_SEP || t->type == T_EOF || md_lex_is_op(t, "}")) {
			/* "VAR=" with nothing after it: Debian's maildrop
			 * refuses it (write VAR="") */
			md_lex_syntax_error(p, t);
			md_node_free(&n);
			return NULL;
		}
		/* Debian's maildrop names an assignment (in -V traces) by
		 * the line where the first token of its value ends: the
		 * last line of a string continued over several */
		n->line = p->line;
		n->a = md_parse_expr(p);
		if (n->a == NULL)
			md_node_free(&n);
		return n;
	}
	if (t->type == T_TEXT && t->bare) {
		/* a copy: lexing the next token reuses the token's buffer */
		char w[32];

		if (str_copy(w, str_c(&t->text), sizeof(w)) < 0)
			w[0] = '\0';

		if (strcmp(w, "if") == 0) {
			md_lex_consume(p);
			return parse_if(p, line);
		}
		if (strcmp(w, "while") == 0) {
			md_lex_consume(p);
			n = md_parser_node_new(p, MD_WHILE, line);
			if (n == NULL)
				return NULL;
			n->a = parse_cond(p, "syntax error after while");
			if (n->a != NULL && md_parse_expr_enter(p, line)) {
				/* Debian's maildrop says "after else" here */
				n->b = parse_body(p, "syntax error after else");
				p->depth--;
			}
			if (n->b == NULL)
				md_node_free(&n);
			return n;
		}
		if (strcmp(w, "foreach") == 0) {
			md_lex_consume(p);
			if (!md_parse_expr_enter(p, line))
				return NULL;
			n = parse_foreach(p, line);
			p->depth--;
			return n;
		}
		if (strcmp(w, "exception") == 0 || strcmp(w, "dotlock") == 0 ||
		    strcmp(w, "flock") == 0) {
			enum md_node_type type = w[0] == 'e' ? MD_EXCEPTION :
				w[0] == 'd' ? MD_DOTLOCK : MD_FLOCK;

			md_lex_consume(p);
			n = md_parser_node_new(p, type, line);
			if (n == NULL)
				return NULL;
			if (type != MD_EXCEPTION) {
				n->a = md_parse_expr(p);
				if (n->a == NULL) {
					md_node_free(&n);
					return NULL;
				}
			}
			/* '{' on the same line */
			if (!md_parse_expr_enter(p, line)) {
				md_node_free(&n);
				return NULL;
			}
			n->b = parse_block(p);
			p->depth--;
			if (n->b == NULL)
				md_node_free(&n);
			return n;
		}
		if (strcmp(w, "to") == 0 || strcmp(w, "cc") == 0) {
			md_lex_consume(p);
			return parse_expr_stmt(p, w[0] == 't' ? MD_TO : MD_CC,
					       line, false);
		}
		static const struct {
			const char *kw;
			enum md_node_type type;
		} simple[] = {
			{ "xfilter", MD_XFILTER }, { "system", MD_SYSTEM },
			{ "include", MD_INCLUDE }, { "echo", MD_ECHO },
			{ "log", MD_LOG }, { "logfile", MD_LOGFILE },
		};
		for (size_t i = 0; i < N_ELEMENTS(simple); i++) {
			if (strcmp(w, simple[i].kw) == 0) {
				md_lex_consume(p);
				return parse_expr_stmt(p, simple[i].type, line,
						       true);
			}
		}
		if (strcmp(w, "import") == 0 || strcmp(w, "unset") == 0) {
			md_lex_consume(p);
			t = md_lex_peek_mode(p, false);
			if (t->type != T_TEXT || t->kind == MD_BQ ||
			    !valid_var_name(str_c(&t->text), str_len(&t->text))) {
				md_parser_fail_at(p, t, "syntax error: variable name expected");
				return NULL;
			}
			n = md_parser_node_new(p, w[0] == 'i' ? MD_IMPORT : MD_UNSET,
				     line);
			if (n != NULL)
				md_parser_node_set_str(n, str_c(&t->text), str_len(&t->text));
			md_lex_consume(p);
			return n;
		}
		if (strcmp(w, "exit") == 0) {
			md_lex_consume(p);
			return md_parser_node_new(p, MD_EXIT, line);
		}
		if (strcmp(w, "else") == 0 || strcmp(w, "elsif") == 0) {
			md_parser_fail(p, line, "syntax error: else without if");
			return NULL;
		}
	}
	/* anything else that starts an expression is evaluated and its
	 * value dropped, as Debian's maildrop does: a function call, a
	 * `command` run for its effect, even a bare word or a pattern */
	if (t->type == T_TEXT || t->type == T_PATTERN || md_lex_is_op(t, "(") ||
	    md_lex_is_op(t, "!")) {
		n = md_parser_node_new(p, MD_EXPR, line);
		if (n == NULL)
			return NULL;
		n->a = md_parse_expr(p);
		if (n->a == NULL)
			md_node_free(&n);
		return n;
	}
	md_lex_syntax_error(p, t);
	return NULL;
}

static struct md_node *parse_statement(struct md_parser *p)
{
	struct md_node *n = parse_statement_inner(p);

	/* statements ending in a body have ended already; a block must be
	 * followed by the end of the line */
	if (n != NULL && (n->type == MD_BLOCK || n->type == MD_EXCEPTION ||
			  n->type == MD_DOTLOCK || n->type == MD_FLOCK)) {
		if (!end_block(p))
			md_node_free(&n);
	} else if (n != NULL && n->type != MD_IF && n->type != MD_WHILE &&
		   n->type != MD_FOREACH && !end_statement(p)) {
		md_node_free(&n);
	}
	if (p->failed)
		md_node_free(&n);
	return n;
}

struct md_node *md_parse(struct md_parser *p, const char *file,
			 const void *data, size_t len)
{
	struct md_node *prog;

	x_free(p->err_msg);
	x_free(p->err_full);
	x_free(p->err_report);
	p->failed = false;
	p->err_line = 0;
	p->file = file != NULL ? file : "-";
	p->p = data;
	p->len = len;
	p->pos = 0;
	p->line = 1;
	p->have_peek = false;
	p->depth = 0;
	p->nodes = 0;
	if (len > p->limits.max_input) {
		md_parser_fail(p, 1, "filter file too large");
		return NULL;
	}
	prog = md_parser_node_new(p, MD_BLOCK, 1);
	for (;;) {
		struct md_node *s;
		struct token *t;

		skip_seps(p);
		t = md_lex_peek(p);
		if (p->failed)
			break;
		if (t->type == T_EOF)
			break;
		s = parse_statement(p);
		if (s == NULL)
			break;
		md_parser_node_add_kid(prog, s);
	}
	if (p->failed) {
		if (p->err_full == NULL)
			md_parser_fail(p, p->line, "syntax error");
		p->err_report = xasprintf("%s%s(%u): %s",
					  p->report_quote ?
					  "maildrop: Missing ', \", or `.\n" : "",
					  p->file, p->report_line, p->report_msg);
		md_node_free(&prog);
		return NULL;
	}
	return prog;
}
