/* imap-parser.h: a resumable parser for IMAP command lines (RFC 3501 /
 * RFC 9051 section 9 syntax): tag, command name and arguments, with
 * atoms, quoted strings, literals ({n}, {n+} LITERAL+, {n-} LITERAL-,
 * ~{n} literal8), NIL and parenthesised lists.
 *
 * The parser is fed bytes as they come and never blocks: it returns
 * IMAP_PARSE_MORE when it needs more input, IMAP_PARSE_LITERAL when a
 * synchronizing literal's size has been read (the caller answers "+ OK"
 * or refuses), IMAP_PARSE_DONE with a complete command, or
 * IMAP_PARSE_ERROR with a reason; after an error it skips the rest of the
 * line by itself (and a non-synchronizing literal announced on it) and is
 * ready for the next command.  So one parser serves the session, the unit
 * tests (input split at every byte) and the fuzz target.
 *
 * An atom may carry a bracketed part with spaces and parentheses, as in
 * BODY[HEADER.FIELDS (From To)]<0.100>: it is returned as one atom for
 * the FETCH code to parse.
 *
 * Limits, set at creation: line bytes (not counting literal data),
 * literal size, list depth and argument count.  A literal over the limit
 * is refused when its size is read, before one byte of it. */
#ifndef IMAP_PARSER_H
#define IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_ATOM,
	IMAP_ARG_STRING,	/* quoted */
	IMAP_ARG_LITERAL,	/* {n}, {n+}, {n-} or ~{n} (literal8) */
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	bool literal8;		/* ~{n} */
	/* ATOM, STRING, LITERAL: the bytes, NUL-terminated (a literal may
	 * hold NULs of its own: use len). */
	char *str;
	size_t len;
	/* LIST: the elements. */
	struct imap_arg *list;
	size_t list_count;
};

struct imap_parser_settings {
	size_t max_line;	/* bytes of a command, literals excepted; 0 = 64 kB */
	uint64_t max_literal;	/* 0 = 50 MB */
	unsigned int max_depth;	/* nested lists; 0 = 16 */
	unsigned int max_args;	/* arguments in all, in every list; 0 = 10000 */
};

enum imap_parse_result {
	IMAP_PARSE_ERROR = -1,
	IMAP_PARSE_MORE = 0,
	IMAP_PARSE_DONE = 1,
	IMAP_PARSE_LITERAL = 2,
};

struct imap_parser;

/* A parser with the limits of set (NULL: defaults). */
struct imap_parser *imap_parser_create(const struct imap_parser_settings *set);
/* Frees it and what it parsed; sets *parser to NULL. */
void imap_parser_destroy(struct imap_parser **parser);

/* Consumes input.  *used_r gets the bytes consumed: all of them for
 * MORE; up to the event otherwise (the caller feeds the rest again after
 * handling it).  Returns
 *   IMAP_PARSE_MORE     need more input;
 *   IMAP_PARSE_LITERAL  a synchronizing literal of
 *                       imap_parser_literal_size() bytes follows: send a
 *                       continuation and go on feeding, or refuse it with
 *                       imap_parser_refuse_literal();
 *   IMAP_PARSE_DONE     a command is complete: imap_parser_tag(),
 *                       imap_parser_args(); call imap_parser_reset()
 *                       before feeding the next one;
 *   IMAP_PARSE_ERROR    a syntax error or a limit: imap_parser_error()
 *                       says why; the parser then skips to the end of
 *                       the line on its own (feed on). */
enum imap_parse_result imap_parser_feed(struct imap_parser *parser,
					const void *data, size_t len,
					size_t *used_r);
/* After IMAP_PARSE_LITERAL: the literal's size. */
uint64_t imap_parser_literal_size(const struct imap_parser *parser);
/* True when the literal announced last was non-synchronizing. */
bool imap_parser_literal_nonsync(const struct imap_parser *parser);
/* After IMAP_PARSE_LITERAL, when the caller refuses the literal (the
 * client sends no data and its command is over): the parser is reset. */
void imap_parser_refuse_literal(struct imap_parser *parser);
/* Bytes the parser now expects as they come, not as lines: the rest of
 * a literal being read (after a continuation, or at once for {n+}), or
 * of a non-synchronizing literal being skipped after an error.  The
 * session switches its connection to raw mode for them.  0 otherwise. */
uint64_t imap_parser_raw_wanted(const struct imap_parser *parser);
/* After an error: true when the parser is skipping bytes that belong to
 * the failed command (the rest of the line, or of a literal). */
bool imap_parser_skipping(const struct imap_parser *parser);

/* The tag once read (also after an error, when there was one), else
 * NULL. */
const char *imap_parser_tag(const struct imap_parser *parser);
/* After DONE: the arguments after the tag (the command name is the
 * first, an atom) and their count. */
const struct imap_arg *imap_parser_args(const struct imap_parser *parser,
					size_t *count_r);
/* The reason of the last IMAP_PARSE_ERROR (static text). */
const char *imap_parser_error(const struct imap_parser *parser);
/* Forgets the command; ready for the next one. */
void imap_parser_reset(struct imap_parser *parser);

/* Helpers for commands. */
/* True for ATOM, STRING, LITERAL (an astring / string). */
bool imap_arg_is_string(const struct imap_arg *arg);
/* Case-insensitive compare of an atom with a word. */
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *word);
/* True when the tag is valid (1*<any ASTRING-CHAR except "+">). */
bool imap_parser_tag_valid(const char *tag);

#endif
