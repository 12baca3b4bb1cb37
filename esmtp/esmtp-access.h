/* esmtp-access.h: Courier's smtpaccess: who may connect to esmtpd, and
 * the variables set for a client by its address.
 *
 * The text (a file, or a folder of files read in name order) has lines
 *
 *     IP-or-prefix<TAB>allow[,VAR[=value][,VAR2=...]]
 *     IP-or-prefix<TAB>deny
 *
 * IP-or-prefix is an IPv4 address or an octet prefix ("192.168.1",
 * "10."), an IPv6 address or a colon prefix ("2001:db8:"), a CIDR block
 * ("10.0.0.0/8", "2001:db8::/32"), or "*" for everyone.  A value may be
 * double-quoted to hold commas or blanks (BLOCK="550 go away, spammer").
 * Blank lines and '#' comments are skipped.  The most specific line wins
 * (with two equally specific lines in the text, the first).
 *
 * makesmtpaccess compiles the text into an LMDB file (NAME.dat) that
 * esmtpd reads; with no .dat, esmtpd reads the text.  The .dat is looked
 * up with one key per prefix length, so a lookup is at most 130 B-tree
 * searches, and a new .dat (installed by rename) is picked up by the next
 * connection without a restart.
 *
 * Variables esmtpd understands (others are kept and passed on to global
 * filters): RELAYCLIENT (may relay), BLOCK (non-empty: every RCPT gets
 * this reply), BOFHCHECKHELO, BOFHNOVRFY, SIZELIMIT.  A variable set to
 * nothing ("allow,BLOCK") is set to "". */
#ifndef ESMTP_ACCESS_H
#define ESMTP_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

/* Most lines kept from the text. */
#define ESMTP_ACCESS_MAX_LINES 100000
/* Longest variable list of one line (bytes). */
#define ESMTP_ACCESS_MAX_VARS 4096

enum esmtp_access_result {
	ESMTP_ACCESS_NONE,	/* no line matches: default (allow) */
	ESMTP_ACCESS_ALLOW,
	ESMTP_ACCESS_DENY,
};

struct esmtp_access;

/* Reports a bad line: file, line number (1-based) and what is wrong. */
typedef void esmtp_access_error_t(const char *file, unsigned int line,
				  const char *message, void *context);

/* An empty in-memory table.  Bad lines are logged as warnings unless an
 * error callback is set. */
struct esmtp_access *esmtp_access_new(void);
void esmtp_access_set_error_callback(struct esmtp_access *acc,
				     esmtp_access_error_t *cb, void *context);
/* Parses smtpaccess text (data, size bytes, need not be NUL-terminated;
 * may be called once per file of a folder).  Bad lines are skipped and
 * counted. */
void esmtp_access_parse(struct esmtp_access *acc, const char *file,
			const char *data, size_t size);
unsigned int esmtp_access_bad_lines(const struct esmtp_access *acc);
/* Reads the text of etc/NAME (or a path; file or folder).  Returns 1,
 * 0 when it does not exist (the table is empty), -1 when unreadable. */
int esmtp_access_read_text(struct esmtp_access *acc, const char *name);
/* Writes the table as an LMDB file at dat_path (a temporary file renamed
 * over it, fsynced).  Two lines for the same address and prefix are an
 * error (reported through the callback; nothing is written).  Returns 0,
 * or -1 with *error_r (static or "duplicate"). */
int esmtp_access_write_db(struct esmtp_access *acc, const char *dat_path,
			  const char **error_r);

/* What esmtpd uses: etc/NAME.dat when it exists (reopened when replaced),
 * else the text of etc/NAME (with a warning to run makesmtpaccess).
 * Never NULL. */
struct esmtp_access *esmtp_access_load(const char *name);
void esmtp_access_free(struct esmtp_access **acc);

/* Looks ip (printable IPv4 or IPv6; v4-mapped IPv6 is matched as IPv4)
 * up.  *vars_r (when not NULL) gets the matching allow line's variables
 * as "NAME=value\n" lines (caller frees; "" when none; NULL for NONE or
 * DENY). */
enum esmtp_access_result esmtp_access_lookup(struct esmtp_access *acc,
					     const char *ip, char **vars_r);
/* The same; *relay_r is set when the allow line has RELAYCLIENT. */
enum esmtp_access_result esmtp_access_check(struct esmtp_access *acc,
					    const char *ip, bool *relay_r);
/* The value of variable name in a vars list from esmtp_access_lookup(),
 * newly allocated ("" when set without a value), or NULL when unset. */
char *esmtp_access_var(const char *vars, const char *name);

/* Longest line of smtpaccess and bofh text (bytes, without the LF). */
#define ESMTP_TEXT_LINE_MAX 8192

typedef void esmtp_text_line_t(void *context, const char *file,
			       unsigned int lineno, char *line);
typedef void esmtp_text_bad_t(void *context, const char *file,
			      unsigned int lineno, const char *why);
/* The line loop of the text control files (smtpaccess, bofh): splits
 * size bytes of data at LF and calls line_cb with each line (a copy the
 * callee may change, freed after the call; not trimmed, comments and
 * blank lines included), numbered from 1, or bad_cb for a line with a
 * NUL byte or over ESMTP_TEXT_LINE_MAX bytes. */
void esmtp_text_lines(const char *file, const char *data, size_t size,
		      esmtp_text_line_t *line_cb, esmtp_text_bad_t *bad_cb,
		      void *context);

/* MAXPERC: connections at once from one "C block", as couriertcpd's
 * -maxperc counts them: the /24 of an IPv4 client (IPv4-mapped IPv6 as
 * IPv4), the /48 of an IPv6 one.  The counter lives with the listener;
 * lookups are linear in the number of blocks with connections. */
struct esmtp_cblocks;

/* The block of a printable address into key_r; false when ip is not an
 * address. */
bool esmtp_access_cblock(const char *ip, unsigned char key_r[7]);
struct esmtp_cblocks *esmtp_cblocks_new(void);
void esmtp_cblocks_free(struct esmtp_cblocks **cb);
/* A connection from ip: counts it and returns true, or returns false
 * (and counts nothing) when its block already has max (> 0) connections.
 * Not an address: true, not counted. */
bool esmtp_cblocks_enter(struct esmtp_cblocks *cb, const char *ip,
			 unsigned int max);
/* The connection from ip (counted by esmtp_cblocks_enter()) ended. */
void esmtp_cblocks_leave(struct esmtp_cblocks *cb, const char *ip);
/* Connections counted for ip's block. */
unsigned int esmtp_cblocks_count(struct esmtp_cblocks *cb, const char *ip);

#endif
