/* reformail.h: the header editing engine of reformail(1), shared by the
 * program, its unit test and its fuzz target.
 *
 * The engine takes a message's header block (the lines after an optional
 * From_ line, up to the empty line), splits it into fields with lib's
 * rfc822-header parser, and applies reformail's edits in the order
 * Courier's reformail does: for each field the first matching rule of
 * -i (rename to Old-), -I (remove), -f0 (remove Return-Path), -R (rename),
 * -u (keep the first), -U (keep the last, moved to the end) applies; then
 * the -a, -A, -i, -I headers, the Return-Path made from the From_ line and
 * the -U headers are appended, in that order.  Keys compare without case,
 * up to and including the first colon ("Subject:"); a key without a colon
 * matches a line without one. */
#ifndef REFORMAIL_H
#define REFORMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include "str.h"

/* Limits on what is read from the message (bytes). */
#define REFORMAIL_MAX_HEADER (16 * 1024 * 1024)

struct reformail_opts {
	/* -f: -1 not given, 0 = From_ to Return-Path, 1 = add a From_ line */
	int from_mode;
	bool crlf;	/* -d1: CRLF line ends */
	bool concat;	/* -c: unfold multi-line headers */
	/* each a NULL-terminated vector of the option arguments, in order */
	const char **add_missing;	/* -a */
	const char **add_always;	/* -A */
	const char **add_rename;	/* -i */
	const char **add_replace;	/* -I */
	const char **uniq_first;	/* -u */
	const char **uniq_last;	/* -U */
	const char **rename_old;	/* -R old (pairs with rename_new) */
	const char **rename_new;
	const char **extract;		/* -x and -X, with extract_name[i] */
	bool *extract_name;	/* true for -X (print the header's name) */
	size_t n_add_missing, n_add_always, n_add_rename, n_add_replace;
	size_t n_uniq_first, n_uniq_last, n_rename, n_extract;
};

/* One output header: text without its final line end (continuation
 * lines joined with "\n"); key is its lower-cased name with the colon. */
struct reformail_field {
	char *text;
	char *key;
};

struct reformail_fields {
	struct reformail_field *v;
	size_t count, size;
};

/* The key of a header line or of an option argument: the text up to and
 * including the first colon of its first line, lower-cased (the whole
 * first line when it has no colon: "Bad\n x: y" is "bad", as Debian's
 * reformail sees it for -a, -i, -I, -R and -u/-U).  Returns a new
 * string. */
char *reformail_key(const char *text, size_t len);

/* Splits the header block hdr[0..len) (lines ending in "\n", CRs already
 * removed, no empty line) into fields appended to out. */
void reformail_split_header(const char *hdr, size_t len,
			    struct reformail_fields *out);

/* Applies the edits of opts to fields (in place).  from_addr is the
 * address of the message's From_ line (for -f0) or NULL when it has
 * none.  msgid_host names the host in generated Message-IDs. */
void reformail_edit(const struct reformail_opts *opts,
		    struct reformail_fields *fields, const char *from_addr,
		    const char *msgid_host);

/* The address -f1 puts in a made-up From_ line: the last Errors-To:,
 * else the last Return-Path:, else the last From:, first mailbox of it;
 * "root" when none gives an address.  Returns a new string. */
char *reformail_sender(const struct reformail_fields *fields);

/* The address of a From_ line ("From addr date..."): its first word with
 * any angle brackets removed.  Returns a new string. */
char *reformail_from_line_addr(const char *line);

/* Appends a header's text with its continuation lines unfolded as -c
 * does (a line break and the blanks and line breaks after it become one
 * space). */
void reformail_unfold(struct str *dest, const char *text);

/* Appends what -x prints for a field: its unfolded value without the
 * blanks after the colon. */
void reformail_value(struct str *dest, const struct reformail_field *f);

void reformail_fields_free(struct reformail_fields *fields);

#endif
