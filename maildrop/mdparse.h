/* mdparse.h: the maildrop filter language: lexer and parser into an AST.
 *
 * A filter file (maildropfilter(7)) is read whole and parsed into a tree
 * of struct md_node.  Statements are separated by newlines or ';', a '\'
 * at the end of a line continues it, '#' starts a comment.  Text is
 * "double quoted" (variables substituted at run time, "\\" and "\"" are
 * unescaped, any other backslash pair is kept), 'single quoted' (literal),
 * `backticks` (command substitution) or unquoted (letters, digits and
 * _-.:/${}@, substituted at run time); adjacent pieces of text are one
 * string ("a"'b' is "ab").  A '/' that starts a token and is not followed
 * by white space starts a pattern "/re/:flags,weight,factor", except right
 * after "VAR=" and after "to" and "cc", where it is text (so
 * "MAILDIR=/var/mail" and "to /var/mail/x" work, as in Debian's maildrop).
 *
 * Expressions, lowest precedence first: || ; && ; < <= > >= == != lt le
 * gt ge eq ne (not associative) ; | ; & ; + - ; * / ; =~ ; unary ! ~ - ;
 * primaries (text, patterns, function calls, parenthesised expressions).
 *
 * The parser never crashes and bounds everything it reads: the input size,
 * the nesting depth and the number of nodes are limits given at creation.
 * The first error stops parsing and is reported as "file:line: message". */
#ifndef MDPARSE_H
#define MDPARSE_H

#include <stdbool.h>
#include <stddef.h>

enum md_node_type {
	/* expressions */
	MD_TEXT,	/* text: parts[] are MD_SQ/MD_DQ/MD_BQ pieces */
	MD_SQ,		/* literal piece (str) */
	MD_DQ,		/* piece substituted at run time (str) */
	MD_BQ,		/* `command` piece (str, substituted first) */
	MD_PATTERN,	/* /str/:flags against the message, weights */
	MD_MATCH,	/* a =~ pattern (b) */
	MD_BINARY,	/* a op b (op: enum md_op) */
	MD_UNARY,	/* op a (!, ~, -) */
	MD_CALL,	/* str(args...) */
	/* statements */
	MD_BLOCK,	/* kids[] */
	MD_ASSIGN,	/* str = a */
	MD_IF,		/* if (a) b else c (c: NULL, MD_BLOCK or MD_IF) */
	MD_WHILE,	/* while (a) b */
	MD_FOREACH,	/* foreach pattern b / foreach (a) =~ pattern b;
			   the pattern is in c */
	MD_TO,		/* to a */
	MD_CC,		/* cc a */
	MD_XFILTER,	/* xfilter a */
	MD_SYSTEM,	/* system a */
	MD_EXCEPTION,	/* exception b */
	MD_INCLUDE,	/* include a */
	MD_IMPORT,	/* import str */
	MD_UNSET,	/* unset str */
	MD_EXIT,	/* exit */
	MD_ECHO,	/* echo a */
	MD_LOG,		/* log a */
	MD_LOGFILE,	/* logfile a */
	MD_DOTLOCK,	/* dotlock a b */
	MD_FLOCK,	/* flock a b */
	MD_EXPR,	/* a function call used as a statement (a) */
};

enum md_op {
	MD_OP_NONE,
	MD_OP_OR, MD_OP_AND,
	MD_OP_LT, MD_OP_LE, MD_OP_GT, MD_OP_GE, MD_OP_EQ, MD_OP_NE,
	MD_OP_SLT, MD_OP_SLE, MD_OP_SGT, MD_OP_SGE, MD_OP_SEQ, MD_OP_SNE,
	MD_OP_BOR, MD_OP_BAND,
	MD_OP_ADD, MD_OP_SUB, MD_OP_MUL, MD_OP_DIV,
	MD_OP_NOT, MD_OP_BNOT, MD_OP_NEG,
};

/* Pattern option letters, as flags. */
enum md_pattern_flag {
	MD_PAT_HEADER = 0x01,	/* h */
	MD_PAT_BODY = 0x02,	/* b */
	MD_PAT_CASE = 0x04,	/* D: case-sensitive */
	MD_PAT_MAIN_HEADER = 0x08, /* H: only the top-level header */
	MD_PAT_WEIGHTED = 0x10,	/* ",weight[,factor]" given */
};

struct md_node {
	enum md_node_type type;
	enum md_op op;
	unsigned int line;	/* line the node starts on */
	char *str;		/* text, variable or function name, pattern */
	size_t str_len;
	unsigned int flags;	/* patterns: enum md_pattern_flag */
	double weight, factor;	/* patterns with MD_PAT_WEIGHTED */
	struct md_node *a, *b, *c;
	struct md_node **kids;	/* MD_TEXT pieces, MD_CALL args, blocks */
	size_t nkids;
};

struct md_parse_limits {
	size_t max_input;	/* bytes; 0 = 1 MiB */
	unsigned int max_depth;	/* nesting; 0 = 64 */
	size_t max_nodes;	/* 0 = 200,000 */
};

struct md_parser;

/* Creates a parser; limits may be NULL for the defaults. */
struct md_parser *md_parser_create(const struct md_parse_limits *limits);
void md_parser_destroy(struct md_parser **parser);

/* Parses len bytes of data (any bytes) named file (used in errors).
 * Returns the program (an MD_BLOCK, caller frees with md_node_free()), or
 * NULL when the text has an error: md_parser_error() then returns
 * "file:line: message" (valid until the next parse or destroy). */
struct md_node *md_parse(struct md_parser *parser, const char *file,
			 const void *data, size_t len);
const char *md_parser_error(const struct md_parser *parser);
/* The line and message of the last error (0 / NULL if none). */
unsigned int md_parser_error_line(const struct md_parser *parser);
const char *md_parser_error_message(const struct md_parser *parser);
/* The error as Debian's maildrop words it, what users' scripts grep:
 * "file(line): Missing )", "file(line): Missing }" or
 * "file(line): Syntax error.", the line counted as Debian counts it (a
 * line end belongs to the next line; a missing '}' is reported at the
 * end of the file); an unterminated quote is preceded by the line
 * "maildrop: Missing ', \", or `.".  NULL when the last parse
 * succeeded; valid until the next parse or destroy. */
const char *md_parser_error_report(const struct md_parser *parser);

/* Frees a tree; sets *node to NULL. */
void md_node_free(struct md_node **node);

/* The name of a function known to the language, or NULL: the parser
 * refuses calls to unknown functions. */
bool md_function_known(const char *name);

#endif
