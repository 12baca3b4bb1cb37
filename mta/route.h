/* route.h: where a recipient goes: a local account, a hosted (virtual)
 * account, or a remote domain.
 *
 * The domain of the address decides, as courier(8) describes:
 *  - locals (default: the value of me): domains whose mail goes to system
 *    accounts, looked up by the local part alone.  A line "example.com"
 *    matches that domain, ".example.com" any subdomain of it, and
 *    "!host.example.com" excludes a host; the first matching line wins.
 *  - hosteddomains: virtual domains, looked up by the whole address.
 *    A line "alias<TAB>domain" (makehosteddomains) makes alias another
 *    name of domain: user@alias is the account user@domain.  Once
 *    makehosteddomains compiled hosteddomains.dat, that is read instead
 *    of the text (as Courier does).
 *  - anything else is remote (the ESMTP transport).
 * With the locallowercase control file the local part of a local address
 * (locals or hosted domains) is lowercased; domains always are. */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdbool.h>

enum route_kind {
	ROUTE_LOCAL,	/* system account: key is the local part */
	ROUTE_HOSTED,	/* virtual account: key is local@domain */
	ROUTE_REMOTE,	/* key is the domain */
};

struct route_config;

/* Loads locals, hosteddomains, me and locallowercase from etc/. */
struct route_config *route_config_load(void);
/* For tests: lists as text (one entry a line; NULL = empty). */
struct route_config *route_config_new(const char *locals,
				      const char *hosted, const char *me,
				      bool lowercase);
void route_config_free(struct route_config **cfg);

/* Routes address ("local@domain").  Returns the kind, with *key_r (the
 * account to look up, or the remote domain; caller frees).  An address
 * without a domain is a local one. */
enum route_kind route_address(const struct route_config *cfg,
			      const char *address, char **key_r);

#endif
