/* pop3-commands.h: the POP3 command table and the command-line parser.
 *
 * One table lists every command the server knows (RFC 1939, RFC 2449,
 * RFC 2595, RFC 5034, RFC 6856's UTF8 and LANG) with the states it is
 * allowed in, whether it carries a password (refused before TLS when the
 * instance requires TLS), and its argument counts.  The parser splits one client line
 * (without its CRLF) into the command and its arguments; it never
 * allocates, keeps pointers into the (modified) line, and reports every
 * malformed input as an error text for the "-ERR" reply. */
#ifndef POP3_COMMANDS_H
#define POP3_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most arguments a command takes (TOP msg n; AUTH mech ir). */
#define POP3_MAX_ARGS 2
/* Longest command line accepted (RFC 2449 allows 255 octets; AUTH with
 * an initial response and PASS need more). */
#define POP3_MAX_LINE 4096

enum pop3_cmd_id {
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_APOP,
	POP3_CMD_AUTH,
	POP3_CMD_STLS,
	POP3_CMD_CAPA,
	POP3_CMD_UTF8,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_RETR,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_TOP,
	POP3_CMD_UIDL,
	POP3_CMD_QUIT,
	POP3_CMD_LANG,
};

enum pop3_cmd_flags {
	/* Allowed in the AUTHORIZATION state (before login). */
	POP3_CMDF_AUTHORIZATION = 0x01,
	/* Allowed in the TRANSACTION state (logged in). */
	POP3_CMDF_TRANSACTION = 0x02,
	/* Sends a password in the clear (USER/PASS; AUTH is decided by its
	 * mechanism): refused before TLS when TLS is required. */
	POP3_CMDF_CLEAR_PASSWORD = 0x04,
	/* The whole rest of the line is the last argument, spaces included
	 * (PASS: RFC 1939 allows spaces in passwords). */
	POP3_CMDF_REST = 0x08,
	/* The arguments are secret: never log them. */
	POP3_CMDF_SECRET = 0x10,
};

struct pop3_command_def {
	const char *name;
	enum pop3_cmd_id id;
	unsigned int flags;
	unsigned int min_args, max_args;
};

struct pop3_command {
	const struct pop3_command_def *def;
	unsigned int argc;
	const char *args[POP3_MAX_ARGS];
};

/* The definition of the command named name (case-insensitive), or NULL. */
const struct pop3_command_def *pop3_command_find(const char *name);
/* The table, and its number of entries. */
extern const struct pop3_command_def pop3_command_table[];
extern const size_t pop3_command_count;

/* Parses one line (len bytes, line[len] == NUL, CRLF removed) in place:
 * the command name is separated from its arguments by one or more spaces
 * (spaces inside arguments separate them too, except for
 * POP3_CMDF_REST).  Returns 0 and fills *cmd_r; -1 with a constant
 * *error_r ("Unknown command", "Too many arguments", ...) for an empty
 * line, a NUL or control byte, an unknown command or wrong argument
 * counts.  The arguments point into line. */
int pop3_command_parse(char *line, size_t len, struct pop3_command *cmd_r,
		       const char **error_r);

/* A message number: decimal digits only, 1..max.  Returns 0 and *n_r, or
 * -1 (empty, signs, junk, 0, above max). */
int pop3_parse_msgnum(const char *arg, uint32_t max, uint32_t *n_r);
/* LANG's argument (RFC 6856 section 4): a language range as RFC 4647
 * basic filtering reads it ("*", or tags of letters, digits and "-").
 * Returns the language tag the server switches to ("en" or
 * "i-default"), or NULL when no language it has matches. */
const char *pop3_lang_match(const char *range);
/* The languages LANG lists: tag and description pairs, ending with a
 * NULL tag. */
extern const char *const pop3_languages[][2];

/* TOP's line count: decimal digits only; values too large for 64 bits
 * saturate at UINT64_MAX ("all lines").  Returns 0 or -1. */
int pop3_parse_count(const char *arg, uint64_t *n_r);

#endif
