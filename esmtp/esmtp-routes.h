/* esmtp-routes.h: where the ESMTP client sends a domain's mail: the
 * esmtproutes and esmtpauthclient control files, and the MX then A/AAAA
 * lookup that turns a domain or relay into an ordered list of addresses.
 *
 * esmtproutes (courier(8)), read top to bottom, first match wins:
 *
 *	domain: relay[,port][/SECURITY=STARTTLS|SMTPS|REQUIRED]...
 *
 * "example.com" matches that domain, ".example.com" its subdomains, an
 * empty domain every domain.  relay is a host name (its MX, else its
 * A/AAAA records are used), "[address]" (that address only), or empty
 * (the destination's own MX records, i.e. no smarthost).  Several
 * /SECURITY= flags may be given.
 *
 * esmtpauthclient: lines "relay userid password"; relay is compared (case
 * insensitively) with the relay as written in esmtproutes, brackets and
 * all, and with the name of the server connected to. */
#ifndef ESMTP_ROUTES_H
#define ESMTP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config-file.h"
#include "dns.h"

enum esmtp_security {
	ESMTP_SECURITY_STARTTLS = 0x01,	/* Courier's SECURITY extension */
	ESMTP_SECURITY_SMTPS = 0x02,	/* implicit TLS from the start */
	ESMTP_SECURITY_REQUIRED = 0x04,	/* no mail without TLS */
};

struct esmtp_route {
	/* "" = the destination's MX; "host" or "[address]" otherwise. */
	char *relay;
	unsigned int port;	/* 0 = the default port */
	unsigned int security;	/* enum esmtp_security */
};

struct esmtp_routes;

/* Parses esmtproutes text (lines as config_lines_parse() gives them).
 * Malformed lines are reported to errs (NULL: logged) and skipped.
 * Never NULL. */
struct esmtp_routes *esmtp_routes_parse(const struct config_lines *lines,
					struct config_errors *errs);
/* Reads etc/esmtproutes (missing = no routes). */
struct esmtp_routes *esmtp_routes_load(void);
void esmtp_routes_free(struct esmtp_routes **routes);
/* The route of domain (lowercase compare), or NULL for plain MX delivery.
 * Lives as long as routes. */
const struct esmtp_route *esmtp_routes_find(const struct esmtp_routes *routes,
					    const char *domain);

/* The credentials of esmtpauthclient for relay (or host, may be NULL):
 * returns 1 with *user_r and *pass_r (caller frees and wipes), 0 when
 * none, -1 when the file cannot be read. */
int esmtp_authclient_find(const char *relay, const char *host,
			  char **user_r, char **pass_r);
/* The same over the file's text (tests). */
int esmtp_authclient_find_in(const struct config_lines *lines,
			     const char *relay, const char *host,
			     char **user_r, char **pass_r);

/* One address to try. */
struct esmtp_target {
	char *host;		/* the MX or relay name (or the address) */
	unsigned int pref;	/* MX preference, 0 for A/AAAA fallbacks */
	struct sockaddr_storage ss;	/* with the port set */
	socklen_t len;
	char addr_text[INET6_ADDRSTRLEN];
};

struct esmtp_targets {
	struct esmtp_target *t;
	size_t count, alloc;
};

/* Outcome of resolving. */
enum esmtp_resolve_status {
	ESMTP_RESOLVE_OK = 0,
	ESMTP_RESOLVE_TEMPFAIL,	/* try again later */
	ESMTP_RESOLVE_PERMFAIL,	/* no such domain, no address, null MX */
};

struct esmtp_resolve_settings {
	unsigned int port;	/* port of every address */
	bool ipv4, ipv6;	/* which families to use */
	bool prefer_ipv6;	/* AAAA before A for each host */
	/* Names (lowercase) that are this server: an MX pointing at one of
	 * them ends the list there (mail would loop); NULL-terminated. */
	const char *const *me;
	size_t max_targets;	/* 0 = 64 */
};

/* Resolves name: with mx, its MX records (equal preferences shuffled,
 * lower preferences after), falling back to its own A/AAAA when it has no
 * MX; without mx (an esmtproutes relay), A/AAAA only after MX.  A name
 * "[address]" is that address.  Returns the status with *targets filled
 * (free with esmtp_targets_free()) and a static *error_r for failures. */
enum esmtp_resolve_status
esmtp_resolve(struct dns_resolver *dns, const char *name,
	      const struct esmtp_resolve_settings *set,
	      struct esmtp_targets *targets, const char **error_r);
void esmtp_targets_free(struct esmtp_targets *targets);

/* Shuffles runs of equal preference in a list sorted by preference (the
 * MX rule of RFC 5321 section 5.1), with rnd(upper) giving a number in
 * [0, upper). */
void esmtp_targets_shuffle_equal(struct esmtp_target *t, size_t count,
				 uint32_t (*rnd)(uint32_t upper));

#endif
