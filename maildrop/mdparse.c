/* mdparse.c: lexer and recursive-descent parser for maildrop filter files. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdparse.h"
#include "mem.h"
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

/* Words Debian's maildrop lexes as keywords wherever they are: a bare
 * one is never text ("echo to" and "X=else" are syntax errors). */
static const char *const reserved_words[] = {
	"if", "else", "elsif", "while", "foreach", "to", "cc", "exit",
	"exception", "import", "echo", "log", "logfile", "xfilter",
	"dotlock", "flock", "include", "system", "unset",
	"eq", "ne", "lt", "le", "gt", "ge",
};

static bool is_reserved_word(const char *w)
{
	for (size_t i = 0; i < N_ELEMENTS(reserved_words); i++) {
		if (strcmp(reserved_words[i], w) == 0)
			return true;
	}
	return false;
}

static int function_index(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(functions); i++) {
		if (strcmp(functions[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

bool md_function_known(const char *name)
{
	return function_index(name) >= 0;
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

static void fail(struct md_parser *p, unsigned int line, const char *msg)
{
	if (p->failed)
		return;
	p->failed = true;
	p->err_line = line;
	p->err_msg = xstrdup(msg);
	p->err_full = xasprintf("%s:%u: %s", p->file, line, msg);
	/* Debian's maildrop has three texts, its line is that of the token
	 * it stopped at (fail_at() says which) */
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

/* fail() at token t: Debian's maildrop counts a line end as being on
 * the next line. */
static void fail_at(struct md_parser *p, const struct token *t,
		    const char *msg)
{
	bool was_failed = p->failed;

	fail(p, t->line, msg);
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

static struct md_node *node_new(struct md_parser *p, enum md_node_type type,
				unsigned int line)
{
	struct md_node *n;

	if (++p->nodes > p->limits.max_nodes) {
		fail(p, line, "filter too large (too many nodes)");
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->type = type;
	n->line = line;
	return n;
}

static void node_add_kid(struct md_node *n, struct md_node *kid)
{
	n->kids = xreallocarray(n->kids, n->nkids + 1, sizeof(*n->kids));
	n->kids[n->nkids++] = kid;
}

static void node_set_str(struct md_node *n, const char *s, size_t len)
{
	free(n->str);
	n->str = xmemdup(s, len);
	n->str_len = len;
}

/* ---- lexer ---- */

static int cur(const struct md_parser *p)
{
	return p->pos < p->len ? (unsigned char)p->p[p->pos] : -1;
}

static int at(const struct md_parser *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->p[p->pos + off] : -1;
}

static bool is_word_char(int c)
{
	return c >= 0 && (isalnum(c) || c >= 0x80 || strchr("_-.:/$@", c) != NULL) && c != 0;
}

static bool is_word_start(int c)
{
	return c >= 0 && c != 0 && (isalnum(c) || c >= 0x80 || strchr("_.:$@", c) != NULL);
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
	for (;;) {
		int c = cur(p);

		/* braces inside a word are part of it ("${VAR}", "a}b") */
		if ((c == '{' || c == '}') && str_len(&t->text) > 0)
			;
		else if (!is_word_char(c))
			break;
		str_append_c(&t->text, (char)c);
		p->pos++;
	}
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
static struct token *peek_mode(struct md_parser *p, bool pattern_ok)
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
			fail(p, p->tok.line, p->tok.error);
	}
	return &p->tok;
}

static struct token *peek(struct md_parser *p)
{
	return peek_mode(p, true);
}

static void consume(struct md_parser *p)
{
	p->have_peek = false;
}

static bool is_op(struct token *t, const char *op)
{
	return t->type == T_OP && strcmp(t->op, op) == 0;
}

static bool is_word(struct token *t, const char *w)
{
	return t->type == T_TEXT && t->bare && strcmp(str_c(&t->text), w) == 0;
}

static bool expect_op(struct md_parser *p, const char *op)
{
	struct token *t = peek(p);

	if (!is_op(t, op)) {
		char msg[64];

		if (!p->failed) {
			int n = snprintf(msg, sizeof(msg), "syntax error: '%s' expected", op);
			(void)n;
			fail_at(p, t, msg);
		}
		return false;
	}
	consume(p);
	return true;
}

static void syntax_error(struct md_parser *p, struct token *t)
{
	const char *what = "syntax error";

	if (t->type == T_EOF)
		what = "syntax error: unexpected end of file";
	else if (t->type == T_SEP)
		what = "syntax error: unexpected end of line";
	fail_at(p, t, what);
}

/* ---- expressions ---- */

static struct md_node *parse_expr(struct md_parser *p);
static struct md_node *parse_full(struct md_parser *p);
static struct md_node *parse_unary(struct md_parser *p);

static bool enter(struct md_parser *p, unsigned int line)
{
	if (++p->depth > p->limits.max_depth) {
		fail(p, line, "nesting too deep");
		p->depth--;
		return false;
	}
	return true;
}

static struct md_node *make_pattern(struct md_parser *p, struct token *t)
{
	struct md_node *n = node_new(p, MD_PATTERN, t->line);

	if (n == NULL)
		return NULL;
	node_set_str(n, str_c(&t->text), str_len(&t->text));
	n->flags = t->flags;
	n->weight = t->weight;
	n->factor = t->factor;
	return n;
}

/* Adjacent text pieces: one MD_TEXT node.  The first piece is peeked in
 * the given mode. */
static struct md_node *parse_text(struct md_parser *p, bool pattern_ok)
{
	struct token *t = peek_mode(p, pattern_ok);
	struct md_node *n = node_new(p, MD_TEXT, t->line);

	if (n == NULL)
		return NULL;
	while (t->type == T_TEXT) {
		struct md_node *piece = node_new(p, t->kind, t->line);

		if (piece == NULL) {
			md_node_free(&n);
			return NULL;
		}
		node_set_str(piece, str_c(&t->text), str_len(&t->text));
		node_add_kid(n, piece);
		consume(p);
		t = peek_mode(p, false);
		if (t->type == T_TEXT && t->bare &&
		    (function_index(str_c(&t->text)) >= 0 ||
		     is_reserved_word(str_c(&t->text)))) {
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
	struct md_node *n = node_new(p, MD_CALL, line);
	struct token *t;

	if (n == NULL)
		return NULL;
	n->str = xstrdup(functions[fidx].name);
	n->str_len = strlen(n->str);
	t = peek(p);
	if (functions[fidx].max_args == 0) {
		/* time, gdbmclose: no parentheses ("time()" is an error
		 * in Debian's maildrop) */
		return n;
	}
	if (is_op(t, "(")) {
		consume(p);
		t = peek(p);
		if (!is_op(t, ")")) {
			for (;;) {
				/* an argument may be an assignment
				 * (length(A="q"), substr($S, X=1)) */
				struct md_node *arg = parse_full(p);

				if (arg == NULL) {
					md_node_free(&n);
					return NULL;
				}
				node_add_kid(n, arg);
				t = peek(p);
				if (is_op(t, "=")) {
					/* length(1 + 2 = 3): "Syntax error." */
					syntax_error(p, t);
					md_node_free(&n);
					return NULL;
				}
				/* a required argument must follow ("Missing
				 * ,"); after the last one only ')' may
				 * ("Missing )"), as Debian's says */
				if (n->nkids < functions[fidx].min_args) {
					if (!is_op(t, ",")) {
						fail_at(p, t, "syntax error: ',' expected");
						md_node_free(&n);
						return NULL;
					}
					consume(p);
					continue;
				}
				if (n->nkids < functions[fidx].max_args &&
				    is_op(t, ",")) {
					consume(p);
					continue;
				}
				break;
			}
		}
		if (!expect_op(p, ")")) {
			md_node_free(&n);
			return NULL;
		}
	} else if (strcmp(functions[fidx].name, "substr") == 0 ||
		   strcmp(functions[fidx].name, "lookup") == 0) {
		fail_at(p, t, "syntax error: '(' expected");
		md_node_free(&n);
		return NULL;
	} else if (strncmp(functions[fidx].name, "gdbm", 4) == 0 &&
		   functions[fidx].max_args > 0) {
		fail_at(p, t, "syntax error: '(' expected after gdbm function");
		md_node_free(&n);
		return NULL;
	} else if (functions[fidx].max_args > 0) {
		/* "getaddr $MATCH": one operand without parentheses */
		struct md_node *arg = parse_unary(p);

		if (arg == NULL) {
			md_node_free(&n);
			return NULL;
		}
		node_add_kid(n, arg);
	}
	if (n->nkids < functions[fidx].min_args ||
	    n->nkids > functions[fidx].max_args) {
		fail(p, line, "wrong number of arguments to function");
		md_node_free(&n);
		return NULL;
	}
	return n;
}

static struct md_node *parse_primary(struct md_parser *p)
{
	struct token *t = peek(p);
	struct md_node *n;

	if (p->failed)
		return NULL;
	if (is_op(t, "(")) {
		consume(p);
		n = parse_full(p);
		if (n == NULL)
			return NULL;
		if (!expect_op(p, ")")) {
			md_node_free(&n);
			return NULL;
		}
		return n;
	}
	if (t->type == T_PATTERN) {
		n = make_pattern(p, t);
		consume(p);
		return n;
	}
	if (t->type == T_TEXT && t->bare &&
	    is_reserved_word(str_c(&t->text))) {
		syntax_error(p, t);
		return NULL;
	}
	if (t->type == T_TEXT) {
		int fidx = t->bare ? function_index(str_c(&t->text)) : -1;

		if (fidx >= 0) {
			unsigned int line = t->line;

			consume(p);
			return parse_call(p, fidx, line);
		}
		return parse_text(p, true);
	}
	syntax_error(p, t);
	return NULL;
}

static struct md_node *parse_unary(struct md_parser *p)
{
	struct token *t = peek(p);
	enum md_op op = MD_OP_NONE;
	struct md_node *n, *operand;
	unsigned int line = t->line;

	if (is_op(t, "!"))
		op = MD_OP_NOT;
	else if (is_op(t, "~"))
		op = MD_OP_BNOT;
	if (op == MD_OP_NONE)
		return parse_primary(p);
	consume(p);
	if (!enter(p, line))
		return NULL;
	operand = parse_unary(p);
	p->depth--;
	if (operand == NULL)
		return NULL;
	n = node_new(p, MD_UNARY, line);
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

	while (left != NULL && is_op(t = peek(p), "=~")) {
		unsigned int line = t->line;

		consume(p);
		t = peek(p);
		if (t->type != T_PATTERN) {
			fail_at(p, t, "syntax error: pattern expected after =~");
			md_node_free(&left);
			return NULL;
		}
		n = node_new(p, MD_MATCH, line);
		if (n == NULL) {
			md_node_free(&left);
			return NULL;
		}
		n->a = left;
		n->b = make_pattern(p, t);
		consume(p);
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
		if (ops->word ? is_word(t, ops->tok) : is_op(t, ops->tok))
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
	if (!enter(p, peek(p)->line))
		return NULL;
	left = parse_level(p, level + 1);
	while (left != NULL) {
		/* a '/' after an operand is division, never a pattern */
		struct token *t = peek_mode(p, false);
		unsigned int line = t->line;

		op = find_op(t, levels[level]);
		if (op == MD_OP_NONE)
			break;
		consume(p);
		/* the right operand of * and / is not a match: "1 * x =~ /re/"
		 * is a syntax error in Debian's maildrop ("x =~ /re/ * 2" and
		 * "1 + x =~ /re/" are not) */
		right = levels[level] == level_mul ? parse_unary(p) :
			parse_level(p, level + 1);
		if (right == NULL) {
			md_node_free(&left);
			break;
		}
		n = node_new(p, MD_BINARY, line);
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

static struct md_node *parse_expr(struct md_parser *p)
{
	return parse_level(p, 0);
}

static bool at_assign(struct md_parser *p);

/* An expression, or NAME=expression: an assignment whose value is the
 * expression's, which Debian's maildrop takes at the top of a
 * statement's expression and inside parentheses (if (X = "b"),
 * echo X=5, Z=(W=3) + 1); not twice (X=Y=4 is "Syntax error before =")
 * and not in a function's arguments. */
static struct md_node *parse_full(struct md_parser *p)
{
	struct token *t = peek(p);
	struct md_node *n;

	if (t->type != T_TEXT || t->kind == MD_BQ || t->kind == MD_SQ ||
	    (t->bare && is_reserved_word(str_c(&t->text))) || !at_assign(p))
		return parse_expr(p);
	n = node_new(p, MD_ASSIGN, t->line);
	if (n == NULL)
		return NULL;
	node_set_str(n, str_c(&t->text), str_len(&t->text));
	consume(p);
	if (!expect_op(p, "=")) {
		md_node_free(&n);
		return NULL;
	}
	t = peek_mode(p, false);
	if (t->type == T_SEP || t->type == T_EOF || is_op(t, ")")) {
		syntax_error(p, t);
		md_node_free(&n);
		return NULL;
	}
	n->line = p->line;
	n->a = parse_expr(p);
	if (n->a == NULL)
		md_node_free(&n);
	return n;
}

/* ---- statements ---- */

static struct md_node *parse_statement(struct md_parser *p);

static void skip_seps(struct md_parser *p)
{
	while (peek(p)->type == T_SEP)
		consume(p);
}

/* '{' statements '}' */
static struct md_node *parse_block(struct md_parser *p)
{
	struct token *t = peek(p);
	struct md_node *block = node_new(p, MD_BLOCK, t->line);

	if (block == NULL)
		return NULL;
	if (!expect_op(p, "{")) {
		md_node_free(&block);
		return NULL;
	}
	if (!enter(p, block->line)) {
		md_node_free(&block);
		return NULL;
	}
	for (;;) {
		struct md_node *s;

		skip_seps(p);
		t = peek(p);
		if (is_op(t, "}")) {
			consume(p);
			break;
		}
		if (t->type == T_EOF) {
			fail(p, block->line, "syntax error: missing '}'");
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
		node_add_kid(block, s);
	}
	p->depth--;
	return block;
}

/* The end of the line (or ';') that must follow "if (...)", "else",
 * "while (...)" and "foreach ...", with what Debian's maildrop says when
 * it is missing (msg); then any number of them. */
static bool expect_sep(struct md_parser *p, const char *msg)
{
	struct token *t = peek(p);

	if (t->type == T_SEP) {
		skip_seps(p);
		return true;
	}
	if (t->type == T_EOF)
		syntax_error(p, t);
	else
		fail_at(p, t, msg);
	return false;
}

/* After '}' of a block: the end of the line, ';' or the end of the file
 * (one separator is taken: an "else" must follow at once). */
static bool end_block(struct md_parser *p)
{
	struct token *t = peek(p);

	if (t->type == T_SEP) {
		consume(p);
		return true;
	}
	if (t->type == T_EOF)
		return true;
	fail_at(p, t, "syntax error after '}'");
	return false;
}

/* The separator msg names, then a block or one statement, after
 * if/else/while/foreach. */
static struct md_node *parse_body(struct md_parser *p, const char *msg)
{
	struct token *t;

	if (!expect_sep(p, msg))
		return NULL;
	t = peek(p);
	if (t->type == T_EOF || is_op(t, "}")) {
		syntax_error(p, t);
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

	if (!is_op(peek(p), "(")) {
		fail_at(p, peek(p), msg);
		return NULL;
	}
	consume(p);
	n = parse_full(p);
	if (n != NULL && !expect_op(p, ")"))
		md_node_free(&n);
	return n;
}

static struct md_node *parse_if(struct md_parser *p, unsigned int line)
{
	struct md_node *n = node_new(p, MD_IF, line);
	struct token *t;

	if (n == NULL)
		return NULL;
	if (!enter(p, line)) {
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
	t = peek(p);
	if (is_word(t, "else")) {
		consume(p);
		n->c = parse_body(p, "syntax error after else");
		if (n->c == NULL)
			md_node_free(&n);
	} else if (is_word(t, "elsif")) {
		unsigned int l = t->line;

		consume(p);
		n->c = parse_if(p, l);
		if (n->c == NULL)
			md_node_free(&n);
	}
	p->depth--;
	return n;
}

static struct md_node *parse_foreach(struct md_parser *p, unsigned int line)
{
	struct md_node *n = node_new(p, MD_FOREACH, line);
	struct token *t;

	if (n == NULL)
		return NULL;
	t = peek(p);
	if (t->type == T_PATTERN) {
		n->c = make_pattern(p, t);
		consume(p);
	} else if (is_op(t, "(")) {
		consume(p);
		n->a = parse_expr(p);
		if (n->a == NULL || !expect_op(p, ")")) {
			md_node_free(&n);
			return NULL;
		}
		/* Debian's maildrop also takes the match inside the
		 * parentheses: foreach (/re/) and foreach (expr =~ /re/) */
		if (n->a->type == MD_PATTERN && !is_op(peek(p), "=~")) {
			n->c = n->a;
			n->a = NULL;
			goto body;
		}
		if (n->a->type == MD_MATCH && !is_op(peek(p), "=~")) {
			struct md_node *m = n->a;

			n->a = m->a;
			n->c = m->b;
			m->a = NULL;
			m->b = NULL;
			md_node_free(&m);
			goto body;
		}
		if (!expect_op(p, "=~")) {
			md_node_free(&n);
			return NULL;
		}
		t = peek(p);
		if (t->type != T_PATTERN) {
			fail_at(p, t, "syntax error: pattern expected");
			md_node_free(&n);
			return NULL;
		}
		n->c = make_pattern(p, t);
		consume(p);
	} else {
		fail_at(p, t, "syntax error: pattern expected after foreach");
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
	struct md_node *n = node_new(p, type, line);

	if (n == NULL)
		return NULL;
	peek_mode(p, pattern_ok);
	n->a = parse_full(p);
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
	struct token *t = peek_mode(p, false);

	if (t->type == T_SEP) {
		consume(p);
		return true;
	}
	/* not '}': "echo x }" is an error in Debian's maildrop */
	if (t->type == T_EOF)
		return true;
	if (is_op(t, "="))
		fail_at(p, t, "syntax error before '='");
	else
		syntax_error(p, t);
	return false;
}

/* Is the next thing in the input '=' for an assignment (not == or =~)? */
static bool at_assign(struct md_parser *p)
{
	size_t i = p->pos;

	while (i < p->len && (p->p[i] == ' ' || p->p[i] == '\t'))
		i++;
	return i < p->len && p->p[i] == '=' &&
	       (i + 1 >= p->len || (p->p[i + 1] != '=' && p->p[i + 1] != '~'));
}

static struct md_node *parse_statement_inner(struct md_parser *p)
{
	struct token *t = peek(p);
	unsigned int line = t->line;
	struct md_node *n;

	/* a block on its own: { statements } */
	if (is_op(t, "{"))
		return parse_block(p);
	if (t->type == T_TEXT && (t->bare || t->kind == MD_DQ) &&
	    !(t->bare && is_reserved_word(str_c(&t->text))) && at_assign(p)) {
		/* VAR=value ("VAR" may be quoted) */
		if (!valid_var_name(str_c(&t->text), str_len(&t->text)) &&
		    t->bare) {
			fail(p, line, "invalid variable name");
			return NULL;
		}
		n = node_new(p, MD_ASSIGN, line);
		if (n == NULL)
			return NULL;
		node_set_str(n, str_c(&t->text), str_len(&t->text));
		consume(p);
		if (!expect_op(p, "=")) {
			md_node_free(&n);
			return NULL;
		}
		t = peek_mode(p, false);
		if (t->type == T_SEP || t->type == T_EOF || is_op(t, "}")) {
			/* "VAR=" with nothing after it: Debian's maildrop
			 * refuses it (write VAR="") */
			syntax_error(p, t);
			md_node_free(&n);
			return NULL;
		}
		/* Debian's maildrop names an assignment (in -V traces) by
		 * the line where the first token of its value ends: the
		 * last line of a string continued over several */
		n->line = p->line;
		n->a = parse_expr(p);
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
			consume(p);
			return parse_if(p, line);
		}
		if (strcmp(w, "while") == 0) {
			consume(p);
			n = node_new(p, MD_WHILE, line);
			if (n == NULL)
				return NULL;
			n->a = parse_cond(p, "syntax error after while");
			if (n->a != NULL && enter(p, line)) {
				/* Debian's maildrop says "after else" here */
				n->b = parse_body(p, "syntax error after else");
				p->depth--;
			}
			if (n->b == NULL)
				md_node_free(&n);
			return n;
		}
		if (strcmp(w, "foreach") == 0) {
			consume(p);
			if (!enter(p, line))
				return NULL;
			n = parse_foreach(p, line);
			p->depth--;
			return n;
		}
		if (strcmp(w, "exception") == 0 || strcmp(w, "dotlock") == 0 ||
		    strcmp(w, "flock") == 0) {
			enum md_node_type type = w[0] == 'e' ? MD_EXCEPTION :
				w[0] == 'd' ? MD_DOTLOCK : MD_FLOCK;

			consume(p);
			n = node_new(p, type, line);
			if (n == NULL)
				return NULL;
			if (type != MD_EXCEPTION) {
				n->a = parse_expr(p);
				if (n->a == NULL) {
					md_node_free(&n);
					return NULL;
				}
			}
			/* '{' on the same line */
			if (!enter(p, line)) {
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
			consume(p);
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
				consume(p);
				return parse_expr_stmt(p, simple[i].type, line,
						       true);
			}
		}
		if (strcmp(w, "import") == 0 || strcmp(w, "unset") == 0) {
			consume(p);
			t = peek_mode(p, false);
			if (t->type != T_TEXT || t->kind == MD_BQ ||
			    !valid_var_name(str_c(&t->text), str_len(&t->text))) {
				fail_at(p, t, "syntax error: variable name expected");
				return NULL;
			}
			n = node_new(p, w[0] == 'i' ? MD_IMPORT : MD_UNSET,
				     line);
			if (n != NULL)
				node_set_str(n, str_c(&t->text), str_len(&t->text));
			consume(p);
			return n;
		}
		if (strcmp(w, "exit") == 0) {
			consume(p);
			return node_new(p, MD_EXIT, line);
		}
		if (strcmp(w, "else") == 0 || strcmp(w, "elsif") == 0) {
			fail(p, line, "syntax error: else without if");
			return NULL;
		}
	}
	/* anything else that starts an expression is evaluated and its
	 * value dropped, as Debian's maildrop does: a function call, a
	 * `command` run for its effect, even a bare word or a pattern */
	if (t->type == T_TEXT || t->type == T_PATTERN || is_op(t, "(") ||
	    is_op(t, "!")) {
		n = node_new(p, MD_EXPR, line);
		if (n == NULL)
			return NULL;
		n->a = parse_expr(p);
		if (n->a == NULL)
			md_node_free(&n);
		return n;
	}
	syntax_error(p, t);
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
		fail(p, 1, "filter file too large");
		return NULL;
	}
	prog = node_new(p, MD_BLOCK, 1);
	for (;;) {
		struct md_node *s;
		struct token *t;

		skip_seps(p);
		t = peek(p);
		if (p->failed)
			break;
		if (t->type == T_EOF)
			break;
		s = parse_statement(p);
		if (s == NULL)
			break;
		node_add_kid(prog, s);
	}
	if (p->failed) {
		if (p->err_full == NULL)
			fail(p, p->line, "syntax error");
		p->err_report = xasprintf("%s%s(%u): %s",
					  p->report_quote ?
					  "maildrop: Missing ', \", or `.\n" : "",
					  p->file, p->report_line, p->report_msg);
		md_node_free(&prog);
		return NULL;
	}
	return prog;
}
