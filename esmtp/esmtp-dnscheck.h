/* esmtp-dnscheck.h: the bofh rules that need DNS (lib/dns.h): badmx,
 * freemail and BOFHCHECKHELO, as Courier applies them to clients that
 * may not relay.
 *
 * Each check returns 1 when the client passes, 0 when the rule refuses
 * it (*reply_r: a 5xx reply, or a 4xx one for BOFHCHECKHELO=2), -1 when
 * DNS failed temporarily (*reply_r: a 4xx reply).  A temporary DNS
 * failure never yields a 5xx.  *reply_r is a new string (caller frees),
 * NULL when 1 is returned.
 *
 * Lookups block (lib/dns.h timeouts); at most ESMTP_DNSCHECK_MAX_HOSTS
 * mail exchangers or PTR names are looked at. */
#ifndef ESMTP_DNSCHECK_H
#define ESMTP_DNSCHECK_H

#include <stdbool.h>

struct dns_resolver;
struct esmtp_bofh;

#define ESMTP_DNSCHECK_MAX_HOSTS 16

/* badmx: domain's mail exchangers (MX, or the domain itself when it has
 * none, RFC 5321 5.1) must not have an address listed by "badmx".  With
 * BOFHCHECKDNS (bofh->check_dns) the sender's domain must also exist and
 * have a mail server address (MX hosts with A/AAAA, or its own A/AAAA;
 * a null MX has none): else 550 5.1.8. */
int esmtp_dnscheck_badmx(const struct esmtp_bofh *bofh,
			 struct dns_resolver *dns, const char *domain,
			 char **reply_r);

/* freemail: when domain is a "freemail" domain, the client (remote_ip)
 * must have a reverse name (PTR, confirmed by its A/AAAA records) within
 * that domain or one of the domains listed after it. */
int esmtp_dnscheck_freemail(const struct esmtp_bofh *bofh,
			    struct dns_resolver *dns, const char *domain,
			    const char *remote_ip, char **reply_r);

/* BOFHCHECKHELO=1|2: the HELO/EHLO name must be the client's address
 * (an address literal "[ip]" or a bare address) or resolve to it: one of
 * its mail exchangers' addresses, or its own A/AAAA addresses, must be
 * remote_ip.  Refused with 5xx for 1, 4xx for 2.  mode 0 passes. */
int esmtp_dnscheck_helo(unsigned int mode, struct dns_resolver *dns,
			const char *helo, const char *remote_ip,
			char **reply_r);

/* Whether two printable IP addresses are the same address (IPv4-mapped
 * IPv6 addresses compare equal to their IPv4 form).  False when either
 * is not an address. */
bool esmtp_dnscheck_same_ip(const char *a, const char *b);

#endif
