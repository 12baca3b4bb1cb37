/* esmtp-bofh.h: Courier's `bofh` control file, the anti-spam rules of
 * esmtpd:
 *
 *     badfrom user@domain | @domain | @.domain | user@.domain
 *     badmx N                      (an IP address; checked with DNS)
 *     freemail domain [domain2...] (checked with DNS)
 *     spamtrap user@domain
 *     maxrcpts N [hard]
 *     opt BOFHCHECKHELO=1|2
 *     opt BOFHHEADERLIMIT=n
 *     opt BOFHNOBASE64TEXT=1
 *     opt BOFHSPFHELO=...  (and the other opt lines: kept by name)
 *
 * Keywords are case-insensitive; '#' starts a comment line.  A bad line
 * is reported with its file and line and skipped.  The checks themselves
 * are pure functions on addresses, so they are unit tested alone. */
#ifndef ESMTP_BOFH_H
#define ESMTP_BOFH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default BOFHHEADERLIMIT (bytes of the message's header). */
#define ESMTP_BOFH_DEFAULT_HEADERLIMIT 100000
/* Most lines of each kind kept. */
#define ESMTP_BOFH_MAX_ENTRIES 100000

struct esmtp_bofh_freemail {
	char *domain;		/* the freemail domain */
	char **relays;		/* the domains its mail may come from
				   (domain itself first); NULL-terminated */
};

struct esmtp_bofh {
	char **badfrom;
	size_t badfrom_count;
	char **badmx;		/* IP addresses, printable */
	size_t badmx_count;
	struct esmtp_bofh_freemail *freemail;
	size_t freemail_count;
	char **spamtrap;	/* lowercase addresses */
	size_t spamtrap_count;
	unsigned int maxrcpts;	/* 0 = not set */
	bool maxrcpts_hard;
	unsigned int check_helo; /* BOFHCHECKHELO: 0, 1 or 2 */
	uint64_t header_limit;	 /* BOFHHEADERLIMIT */
	bool no_base64_text;	 /* BOFHNOBASE64TEXT */
	/* BOFHCHECKDNS: the sender's domain must exist and have a mail
	 * server (MX, or an address): "opt BOFHCHECKDNS=1", or esmtpd
	 * sets it from BOFHCHECKDNS=1 in etc/esmtpd (esmtp-settings.h) */
	bool check_dns;
	char **opts;		 /* every "opt NAME=value" as "NAME=value" */
	size_t opt_count;
	unsigned int bad_lines;
};

typedef void esmtp_bofh_error_t(const char *file, unsigned int line,
				const char *message, void *context);

/* Parses bofh text (size bytes, need not be NUL-terminated) into a new
 * rule set.  error (may be NULL: warnings are logged) is called for each
 * bad line.  Free with esmtp_bofh_free(). */
struct esmtp_bofh *esmtp_bofh_parse(const char *file, const char *data,
				    size_t size, esmtp_bofh_error_t *error,
				    void *context);
/* Reads etc/bofh (file or folder); missing = no rules (defaults).  Never
 * NULL. */
struct esmtp_bofh *esmtp_bofh_load(void);
void esmtp_bofh_free(struct esmtp_bofh **bofh);

/* The value of "opt NAME=value", or NULL. */
const char *esmtp_bofh_opt(const struct esmtp_bofh *bofh, const char *name);
/* True when address ("user@domain", any case) matches a badfrom line. */
bool esmtp_bofh_badfrom(const struct esmtp_bofh *bofh, const char *address);
/* True when address is a spamtrap. */
bool esmtp_bofh_spamtrap(const struct esmtp_bofh *bofh, const char *address);
/* The freemail entry for the sender's domain, or NULL. */
const struct esmtp_bofh_freemail *
esmtp_bofh_freemail_find(const struct esmtp_bofh *bofh, const char *domain);
/* True when host (a client's reverse DNS name) is domain or below it. */
bool esmtp_bofh_domain_within(const char *host, const char *domain);

#endif
