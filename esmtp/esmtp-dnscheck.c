/* esmtp-dnscheck.c: the bofh rules that need DNS: badmx, freemail and
 * BOFHCHECKHELO (see esmtp-dnscheck.h). */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "esmtp-bofh.h"
#include "esmtp-dnscheck.h"
#include "mem.h"
#include "str.h"

/* An address in a comparable form: IPv4 as such, IPv4-mapped IPv6
 * folded to IPv4. */
struct ip {
	int family;
	unsigned char bytes[16];
};

static bool ip_parse(const char *text, struct ip *ip)
{
	char buf[INET6_ADDRSTRLEN + 1];
	size_t len = strlen(text);

	if (len > 0 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
	}
	if (str_begins_with_icase(text, "IPv6:")) {
		text += 5;
		len -= 5;
	}
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, buf, ip->bytes) == 1) {
		ip->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, ip->bytes) != 1)
		return false;
	ip->family = AF_INET6;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0,
						  0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(ip->bytes, mapped, 12) == 0) {
		memmove(ip->bytes, ip->bytes + 12, 4);
		memset(ip->bytes + 4, 0, 12);
		ip->family = AF_INET;
	}
	return true;
}

static bool ip_equal(const struct ip *a, const struct ip *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static bool rr_ip(const struct dns_rr *rr, struct ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (rr->family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->bytes, &rr->addr.v4, 4);
		return true;
	}
	if (rr->family == AF_INET6)
		return ip_parse(rr->addr_text, ip);
	return false;
}

bool esmtp_dnscheck_same_ip(const char *a, const char *b)
{
	struct ip x, y;

	return ip_parse(a, &x) && ip_parse(b, &y) && ip_equal(&x, &y);
}

/* Calls match(ip, context) for each A and AAAA address of host until it
 * returns true.  Returns 1 when one matched, 0 when none did (or the
 * host has no address), -1 when a lookup failed temporarily and nothing
 * matched. */
static int host_addresses(struct dns_resolver *dns, const char *host,
			  bool (*match)(const struct ip *, const void *),
			  const void *context)
{
	static const enum dns_type types[] = { DNS_TYPE_A, DNS_TYPE_AAAA };
	bool tempfail = false;

	for (size_t t = 0; t < 2; t++) {
		struct dns_result res;
		enum dns_status st = dns_lookup(dns, host, types[t], &res);
		bool found = false;

		if (st == DNS_TEMPFAIL)
			tempfail = true;
		for (size_t i = 0; st == DNS_OK && i < res.count && !found;
		     i++) {
			struct ip ip;

			if (res.rrs[i].type == types[t] &&
			    rr_ip(&res.rrs[i], &ip))
				found = match(&ip, context);
		}
		dns_result_free(&res);
		if (found)
			return 1;
	}
	return tempfail ? -1 : 0;
}

/* The same for the mail exchangers of domain (MX, else the domain's own
 * addresses).  -2 when the domain does not exist. */
static int mx_addresses(struct dns_resolver *dns, const char *domain,
			bool (*match)(const struct ip *, const void *),
			const void *context)
{
	struct dns_result res;
	enum dns_status st = dns_lookup(dns, domain, DNS_TYPE_MX, &res);
	bool tempfail = false;
	int r = 0;

	if (st == DNS_NXDOMAIN || st == DNS_BADNAME) {
		dns_result_free(&res);
		return -2;
	}
	if (st == DNS_TEMPFAIL) {
		dns_result_free(&res);
		return -1;
	}
	if (st == DNS_NODATA) {
		dns_result_free(&res);
		return host_addresses(dns, domain, match, context);
	}
	for (size_t i = 0; i < res.count && i < ESMTP_DNSCHECK_MAX_HOSTS;
	     i++) {
		if (res.rrs[i].name == NULL || *res.rrs[i].name == '\0')
			continue;	/* "." : null MX (RFC 7505) */
		r = host_addresses(dns, res.rrs[i].name, match, context);
		if (r == 1)
			break;
		if (r < 0)
			tempfail = true;
	}
	dns_result_free(&res);
	if (r == 1)
		return 1;
	return tempfail ? -1 : 0;
}

struct badmx_ctx {
	const struct esmtp_bofh *bofh;
	struct ip hit;
	bool bad;		/* hit is a badmx address */
	bool seen;		/* the domain has a mail server address */
};

static bool badmx_match(const struct ip *ip, const void *context)
{
	struct badmx_ctx *c = (struct badmx_ctx *)context;

	c->seen = true;
	for (size_t i = 0; i < c->bofh->badmx_count; i++) {
		struct ip bad;

		if (ip_parse(c->bofh->badmx[i], &bad) && ip_equal(&bad, ip)) {
			c->hit = *ip;
			c->bad = true;
			return true;
		}
	}
	/* BOFHCHECKDNS alone: one address is enough */
	return c->bofh->badmx_count == 0;
}

int esmtp_dnscheck_badmx(const struct esmtp_bofh *bofh,
			 struct dns_resolver *dns, const char *domain,
			 char **reply_r)
{
	struct badmx_ctx c = { .bofh = bofh };
	char text[INET6_ADDRSTRLEN];
	int r;

	*reply_r = NULL;
	if (bofh == NULL || (bofh->badmx_count == 0 && !bofh->check_dns) ||
	    domain == NULL || *domain == '\0' || *domain == '[')
		return 1;
	r = mx_addresses(dns, domain, badmx_match, &c);
	if (r == -1 && !c.bad && (!c.seen || bofh->badmx_count > 0)) {
		*reply_r = xasprintf("451 4.4.3 DNS lookup failure for %s, "
				     "try again later", domain);
		return -1;
	}
	if (c.bad) {
		if (inet_ntop(c.hit.family, c.hit.bytes, text,
			      sizeof(text)) == NULL)
			text[0] = '\0';
		*reply_r = xasprintf("550 5.7.1 Mail server at %s is blocked",
				     text);
		return 0;
	}
	if (bofh->check_dns && (r == -2 || !c.seen)) {
		*reply_r = xasprintf(r == -2 ?
				     "550 5.1.8 Sender domain %s does not "
				     "exist" :
				     "550 5.1.8 Sender domain %s has no mail "
				     "server (no MX or address records)",
				     domain);
		return 0;
	}
	return 1;
}

struct addr_ctx {
	struct ip want;
};

static bool addr_match(const struct ip *ip, const void *context)
{
	const struct addr_ctx *c = context;

	return ip_equal(ip, &c->want);
}

/* Whether name is within the freemail domain or one of its relays. */
static bool freemail_host_ok(const struct esmtp_bofh_freemail *f,
			     const char *name)
{
	if (esmtp_bofh_domain_within(name, f->domain))
		return true;
	for (size_t i = 0; f->relays != NULL && f->relays[i] != NULL; i++) {
		if (esmtp_bofh_domain_within(name, f->relays[i]))
			return true;
	}
	return false;
}

int esmtp_dnscheck_freemail(const struct esmtp_bofh *bofh,
			    struct dns_resolver *dns, const char *domain,
			    const char *remote_ip, char **reply_r)
{
	const struct esmtp_bofh_freemail *f;
	struct dns_result res;
	struct addr_ctx c;
	enum dns_status st;
	bool tempfail = false;
	int ok = 0;

	*reply_r = NULL;
	if (bofh == NULL || domain == NULL ||
	    (f = esmtp_bofh_freemail_find(bofh, domain)) == NULL)
		return 1;
	if (!ip_parse(remote_ip, &c.want))
		return 1;	/* not a network client */
	st = dns_lookup_ptr(dns, remote_ip, &res);
	if (st == DNS_TEMPFAIL)
		tempfail = true;
	for (size_t i = 0; st == DNS_OK && i < res.count &&
			   i < ESMTP_DNSCHECK_MAX_HOSTS && ok != 1;
	     i++) {
		const char *name = res.rrs[i].name;

		if (name == NULL || !freemail_host_ok(f, name))
			continue;
		/* forward-confirmed: the name has the client's address */
		ok = host_addresses(dns, name, addr_match, &c);
		if (ok < 0)
			tempfail = true;
	}
	dns_result_free(&res);
	if (ok == 1)
		return 1;
	if (tempfail) {
		*reply_r = xasprintf("451 4.4.3 DNS lookup failure for %s, "
				     "try again later", remote_ip);
		return -1;
	}
	*reply_r = xasprintf("550 5.7.1 Sender rejected: mail from %s is "
			     "accepted only from %s's mail relays",
			     domain, f->domain);
	return 0;
}

int esmtp_dnscheck_helo(unsigned int mode, struct dns_resolver *dns,
			const char *helo, const char *remote_ip,
			char **reply_r)
{
	const char *hard = mode == 2 ? "450 4.7.1" : "550 5.7.1";
	struct addr_ctx c;
	int r;

	*reply_r = NULL;
	if (mode == 0 || helo == NULL || !ip_parse(remote_ip, &c.want))
		return 1;
	if (esmtp_dnscheck_same_ip(helo, remote_ip))
		return 1;
	if (helo[0] == '[' || ip_parse(helo, &(struct ip){ 0 })) {
		*reply_r = xasprintf("%s HELO %s does not match %s", hard,
				     helo, remote_ip);
		return 0;
	}
	r = mx_addresses(dns, helo, addr_match, &c);
	if (r == 0)
		r = host_addresses(dns, helo, addr_match, &c);
	if (r == 1)
		return 1;
	if (r == -1) {
		*reply_r = xasprintf("451 4.4.3 DNS lookup on HELO %s failed, "
				     "try again later", helo);
		return -1;
	}
	if (r == -2)
		*reply_r = xasprintf("%s HELO %s does not exist", hard, helo);
	else
		*reply_r = xasprintf("%s HELO %s does not match %s", hard,
				     helo, remote_ip);
	return 0;
}
