/* pop3-commands.c: the POP3 command table and the command-line parser. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "pop3-commands.h"
#include "str.h"

#define A POP3_CMDF_AUTHORIZATION
#define T POP3_CMDF_TRANSACTION

const struct pop3_command_def pop3_command_table[] = {
	{ "USER", POP3_CMD_USER, A | POP3_CMDF_CLEAR_PASSWORD, 1, 1 },
	{ "PASS", POP3_CMD_PASS,
	  A | POP3_CMDF_CLEAR_PASSWORD | POP3_CMDF_REST | POP3_CMDF_SECRET, 1,
	  1 },
	{ "APOP", POP3_CMD_APOP, A | POP3_CMDF_SECRET, 2, 2 },
	{ "AUTH", POP3_CMD_AUTH, A | POP3_CMDF_SECRET, 0, 2 },
	{ "STLS", POP3_CMD_STLS, A, 0, 0 },
	{ "CAPA", POP3_CMD_CAPA, A | T, 0, 0 },
	{ "UTF8", POP3_CMD_UTF8, A | T, 0, 0 },
	{ "STAT", POP3_CMD_STAT, T, 0, 0 },
	{ "LIST", POP3_CMD_LIST, T, 0, 1 },
	{ "RETR", POP3_CMD_RETR, T, 1, 1 },
	{ "DELE", POP3_CMD_DELE, T, 1, 1 },
	{ "NOOP", POP3_CMD_NOOP, T, 0, 0 },
	{ "RSET", POP3_CMD_RSET, T, 0, 0 },
	{ "TOP", POP3_CMD_TOP, T, 2, 2 },
	{ "UIDL", POP3_CMD_UIDL, T, 0, 1 },
	{ "QUIT", POP3_CMD_QUIT, A | T, 0, 0 },
	{ "LANG", POP3_CMD_LANG, A | T, 0, 1 },
};
const size_t pop3_command_count =
	sizeof(pop3_command_table) / sizeof(pop3_command_table[0]);

#undef A
#undef T

const struct pop3_command_def *pop3_command_find(const char *name)
{
	for (size_t i = 0; i < pop3_command_count; i++) {
		if (strcasecmp(pop3_command_table[i].name, name) == 0)
			return &pop3_command_table[i];
	}
	return NULL;
}

int pop3_command_parse(char *line, size_t len, struct pop3_command *cmd_r,
		       const char **error_r)
{
	char name[5];
	size_t i = 0, n = 0;

	memset(cmd_r, 0, sizeof(*cmd_r));
	if (len > POP3_MAX_LINE) {
		*error_r = "Line too long";
		return -1;
	}
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)line[k];

		/* Control bytes (NUL included) have no place in a command;
		 * TAB is refused too (RFC 1939 separates by one space). */
		if (c < 0x20 || c == 0x7f) {
			*error_r = "Invalid character in command";
			return -1;
		}
	}
	while (i < len && line[i] != ' ') {
		if (n == sizeof(name) - 1) {
			*error_r = "Unknown command";
			return -1;
		}
		name[n++] = line[i++];
	}
	name[n] = '\0';
	if (n == 0) {
		*error_r = "Empty command";
		return -1;
	}
	const struct pop3_command_def *def = pop3_command_find(name);
	if (def == NULL) {
		*error_r = "Unknown command";
		return -1;
	}
	cmd_r->def = def;
	for (;;) {
		while (i < len && line[i] == ' ')
			line[i++] = '\0';
		if (i >= len)
			break;
		if (cmd_r->argc == def->max_args) {
			*error_r = "Too many arguments";
			return -1;
		}
		cmd_r->args[cmd_r->argc++] = line + i;
		if ((def->flags & POP3_CMDF_REST) != 0 &&
		    cmd_r->argc == def->max_args) {
			/* The rest of the line, as sent (trailing spaces are
			 * part of a password). */
			break;
		}
		while (i < len && line[i] != ' ')
			i++;
	}
	if (cmd_r->argc < def->min_args) {
		*error_r = "Missing argument";
		return -1;
	}
	return 0;
}

int pop3_parse_msgnum(const char *arg, uint32_t max, uint32_t *n_r)
{
	uint64_t n = 0;

	if (arg == NULL || *arg == '\0')
		return -1;
	for (const char *p = arg; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	if (n == 0 || n > max)
		return -1;
	*n_r = (uint32_t)n;
	return 0;
}

int pop3_parse_count(const char *arg, uint64_t *n_r)
{
	uint64_t n = 0;
	bool saturated = false;

	if (arg == NULL || *arg == '\0')
		return -1;
	for (const char *p = arg; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned int d = (unsigned int)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			saturated = true;
		else
			n = n * 10 + d;
	}
	*n_r = saturated ? UINT64_MAX : n;
	return 0;
}

const char *const pop3_languages[][2] = {
	{ "en", "English" },
	{ "i-default", "Default language" },
	{ NULL, NULL },
};

/* Whether range (RFC 4647 basic filtering, case-insensitive) matches
 * tag: equal, or a prefix of it ending at a "-". */
static bool lang_range_matches(const char *range, const char *tag)
{
	size_t n = strlen(range);

	return strncasecmp(range, tag, n) == 0 &&
	       (tag[n] == '\0' || tag[n] == '-');
}

const char *pop3_lang_match(const char *range)
{
	size_t len = 0;

	if (range == NULL || *range == '\0')
		return NULL;
	/* RFC 6856: "*" asks for the server's default language. */
	if (strcmp(range, "*") == 0)
		return pop3_languages[0][0];
	for (const char *p = range; *p != '\0'; p++, len++) {
		unsigned char c = (unsigned char)*p;

		if (len >= 64)
			return NULL;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return NULL;
		if (c == '-' && (p == range || p[1] == '\0' || p[1] == '-'))
			return NULL;
	}
	/* A range narrower than a language we have ("en-GB") falls back to
	 * it, as RFC 4647 lookup does by truncating the range. */
	char buf[65];
	str_copy(buf, range, sizeof(buf));
	for (;;) {
		for (size_t i = 0; pop3_languages[i][0] != NULL; i++) {
			if (lang_range_matches(buf, pop3_languages[i][0]))
				return pop3_languages[i][0];
		}
		char *dash = strrchr(buf, '-');
		if (dash == NULL)
			return NULL;
		*dash = '\0';
	}
}
