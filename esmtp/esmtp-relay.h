/* esmtp-relay.h: who may send mail through esmtpd, and to where.
 *
 * Pieces, all pure (no network, no authlib), so they are unit
 * tested and fuzzed on their own:
 *
 *  - esmtp_path_parse(): the <path> of MAIL FROM and RCPT TO (RFC 5321
 *    4.1.2) with its ESMTP parameters, through lib/rfc822-addr.  Source
 *    routes are dropped as RFC 5321 allows; domains must be well formed
 *    (no trailing dot, no empty label); domain literals are kept.
 *  - smtpaccess: in esmtp-access.h (included here).
 *  - esmtp_domains: the domains mail is accepted for without relaying:
 *    locals, hosteddomains (first field), esmtpacceptmailfor, and me.
 *    "!dom" excludes, ".dom" means every subdomain.
 *
 * esmtp_rcpt_policy() puts them together: a recipient in an accepted
 * domain is accepted from anyone (unless its local part carries the
 * classic relay tricks '%', '!' or '@'); anything else only from a
 * client that may relay. */
#ifndef ESMTP_RELAY_H
#define ESMTP_RELAY_H

#include <stdbool.h>
#include <stddef.h>

#include "esmtp-access.h"

/* Longest ESMTP parameter list kept. */
#define ESMTP_MAX_PARAMS 16

struct esmtp_param {
	char *name;		/* uppercased keyword */
	char *value;		/* after '=', or NULL */
};

struct esmtp_path {
	bool null;		/* <> */
	char *local;		/* unquoted local part ("" for <>) */
	char *domain;		/* lowercased, NULL for <> or "postmaster" */
	char *address;		/* local@domain as it goes to the queue */
	bool utf8;		/* has bytes >= 0x80 */
	struct esmtp_param params[ESMTP_MAX_PARAMS];
	unsigned int param_count;
};

/* Parses "<path> [params]" (the text after "FROM:" / "TO:", leading
 * blanks allowed).  allow_null: <> is valid (MAIL FROM).  allow_bare:
 * "<postmaster>" without a domain is valid (RCPT TO).  Returns 0 and
 * fills *path_r (free with esmtp_path_free()), or -1 with a static
 * SMTP reply in *error_r ("501 5.1.3 ..."). */
int esmtp_path_parse(const char *text, bool allow_null, bool allow_bare,
		     struct esmtp_path *path_r, const char **error_r);
void esmtp_path_free(struct esmtp_path *path);
/* The value of parameter name (uppercase), "" when it has none, NULL
 * when absent. */
const char *esmtp_path_param(const struct esmtp_path *path,
			     const char *name);

/* RFC 3461 xtext: true when text is valid xtext (printable ASCII but
 * '+' and '=' only as "+HH"). */
bool esmtp_xtext_valid(const char *text);

/* ---- accepted domains ---- */

struct esmtp_domains;

/* From lists of entries (one per line, NULL = none). */
struct esmtp_domains *esmtp_domains_new(const char *locals,
					const char *hosted,
					const char *acceptmailfor,
					const char *me);
/* From the instance's control files. */
struct esmtp_domains *esmtp_domains_load(void);
void esmtp_domains_free(struct esmtp_domains **d);
/* Whether mail for domain (lowercase) is accepted without relaying. */
bool esmtp_domains_accept(const struct esmtp_domains *d, const char *domain);

enum esmtp_rcpt_verdict {
	ESMTP_RCPT_LOCAL,	/* ours: look the account up */
	ESMTP_RCPT_RELAY,	/* not ours, the client may relay */
	ESMTP_RCPT_DENIED,	/* 550 5.7.1 relaying denied */
};

/* The relay decision for a parsed recipient. */
enum esmtp_rcpt_verdict esmtp_rcpt_policy(const struct esmtp_domains *d,
					  const struct esmtp_path *rcpt,
					  bool may_relay);

#endif
