/* esmtp-routes.c: esmtproutes, esmtpauthclient and the MX/A/AAAA lookup
 * of the ESMTP client. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esmtp-routes.h"
#include "log.h"
#include "mem.h"
#include "secure.h"
#include "str.h"

struct route_entry {
	char *domain;	/* lowercase; "" = every domain */
	struct esmtp_route route;
};

struct esmtp_routes {
	struct route_entry *e;
	size_t count;
};

/* Parses "relay[,port][/SECURITY=X]..." into r.  Returns 0 or -1 with a
 * static *error_r. */
static int parse_route(const char *text, struct esmtp_route *r,
		       const char **error_r)
{
	char *copy = xstrdup(text), *p, *flags, *comma;

	memset(r, 0, sizeof(*r));
	flags = strchr(copy, '/');
	if (flags != NULL)
		*flags++ = '\0';
	p = str_trim(copy);
	comma = strchr(p, ',');
	if (comma != NULL) {
		char *end;
		unsigned long port;

		*comma++ = '\0';
		comma = str_trim(comma);
		port = strtoul(comma, &end, 10);
		if (!isdigit((unsigned char)*comma) || *end != '\0' ||
		    port == 0 || port > 65535) {
			*error_r = "bad port";
			free(copy);
			return -1;
		}
		r->port = (unsigned int)port;
		p = str_trim(p);
	}
	if (strpbrk(p, " \t") != NULL ||
	    (p[0] == '[' && p[strlen(p) - 1] != ']')) {
		*error_r = "bad relay";
		free(copy);
		return -1;
	}
	while (flags != NULL) {
		char *next = strchr(flags, '/');

		if (next != NULL)
			*next++ = '\0';
		flags = str_trim(flags);
		if (strcasecmp(flags, "SECURITY=STARTTLS") == 0)
			r->security |= ESMTP_SECURITY_STARTTLS;
		else if (strcasecmp(flags, "SECURITY=SMTPS") == 0)
			r->security |= ESMTP_SECURITY_SMTPS;
		else if (strcasecmp(flags, "SECURITY=REQUIRED") == 0)
			r->security |= ESMTP_SECURITY_REQUIRED;
		else {
			*error_r = "unknown flag (not /SECURITY=STARTTLS, "
				   "SMTPS or REQUIRED)";
			free(copy);
			return -1;
		}
		flags = next;
	}
	r->relay = xstrdup(p);
	str_lcase(r->relay);
	free(copy);
	return 0;
}

struct esmtp_routes *esmtp_routes_parse(const struct config_lines *lines,
					struct config_errors *errs)
{
	struct esmtp_routes *routes = xcalloc(1, sizeof(*routes));
	size_t n = config_lines_count(lines);

	routes->e = xcalloc(n > 0 ? n : 1, sizeof(*routes->e));
	for (size_t i = 0; i < n; i++) {
		const struct config_line *l = config_lines_get(lines, i);
		const char *colon = strchr(l->text, ':');
		const char *error;
		struct route_entry *e = &routes->e[routes->count];
		char *domain;

		/* an IPv6 relay has colons too: the domain never has */
		if (colon == NULL) {
			config_error(errs, l->file, l->line,
				     "esmtproutes: no ':' after the domain");
			continue;
		}
		domain = xstrndup(l->text, (size_t)(colon - l->text));
		str_trim(domain);
		if (strpbrk(domain, " \t[]") != NULL) {
			config_error(errs, l->file, l->line,
				     "esmtproutes: bad domain");
			free(domain);
			continue;
		}
		if (parse_route(colon + 1, &e->route, &error) < 0) {
			config_error(errs, l->file, l->line, "esmtproutes: %s",
				     error);
			free(domain);
			continue;
		}
		e->domain = str_lcase(domain);
		routes->count++;
	}
	return routes;
}

struct esmtp_routes *esmtp_routes_load(void)
{
	struct config_lines *lines = NULL;
	struct esmtp_routes *r;

	(void)config_lines_read("esmtproutes", NULL, &lines, NULL);
	r = esmtp_routes_parse(lines, NULL);
	config_lines_free(&lines);
	return r;
}

void esmtp_routes_free(struct esmtp_routes **rp)
{
	struct esmtp_routes *r = *rp;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->count; i++) {
		free(r->e[i].domain);
		free(r->e[i].route.relay);
	}
	free(r->e);
	free(r);
	*rp = NULL;
}

const struct esmtp_route *esmtp_routes_find(const struct esmtp_routes *routes,
					    const char *domain)
{
	size_t dlen = strlen(domain);

	for (size_t i = 0; i < routes->count; i++) {
		const char *d = routes->e[i].domain;
		size_t len = strlen(d);

		if (len == 0)
			return &routes->e[i].route;
		if (d[0] == '.') {
			if (dlen > len &&
			    strcasecmp(domain + dlen - len, d) == 0)
				return &routes->e[i].route;
		} else if (strcasecmp(domain, d) == 0) {
			return &routes->e[i].route;
		}
	}
	return NULL;
}

/* ---- esmtpauthclient ---- */

int esmtp_authclient_find_in(const struct config_lines *lines,
			     const char *relay, const char *host,
			     char **user_r, char **pass_r)
{
	*user_r = *pass_r = NULL;
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const struct config_line *l = config_lines_get(lines, i);
		char **f = str_split(l->text, " \t");
		bool match;

		if (f[0] == NULL || f[1] == NULL || f[2] == NULL ||
		    f[3] != NULL) {
			config_error(NULL, l->file, l->line, "esmtpauthclient:"
				     " expected \"relay userid password\"");
			for (size_t k = 0; f[k] != NULL; k++)
				secure_wipe(f[k], strlen(f[k]));
			str_split_free(&f);
			continue;
		}
		match = (relay != NULL && strcasecmp(f[0], relay) == 0) ||
			(host != NULL && strcasecmp(f[0], host) == 0);
		if (match) {
			*user_r = xstrdup(f[1]);
			*pass_r = xstrdup(f[2]);
		}
		for (size_t k = 0; f[k] != NULL; k++)
			secure_wipe(f[k], strlen(f[k]));
		str_split_free(&f);
		if (match)
			return 1;
	}
	return 0;
}

int esmtp_authclient_find(const char *relay, const char *host,
			  char **user_r, char **pass_r)
{
	struct config_lines *lines = NULL;
	int r = config_lines_read("esmtpauthclient", NULL, &lines, NULL);

	*user_r = *pass_r = NULL;
	if (r <= 0)
		return r;
	r = esmtp_authclient_find_in(lines, relay, host, user_r, pass_r);
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const struct config_line *l = config_lines_get(lines, i);

		secure_wipe((char *)l->text, l->len);
	}
	config_lines_free(&lines);
	return r;
}

/* ---- resolving ---- */

void esmtp_targets_free(struct esmtp_targets *targets)
{
	for (size_t i = 0; i < targets->count; i++)
		free(targets->t[i].host);
	free(targets->t);
	memset(targets, 0, sizeof(*targets));
}

void esmtp_targets_shuffle_equal(struct esmtp_target *t, size_t count,
				 uint32_t (*rnd)(uint32_t upper))
{
	size_t start = 0;

	while (start < count) {
		size_t end = start + 1;

		while (end < count && t[end].pref == t[start].pref)
			end++;
		/* Fisher-Yates over [start, end) */
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + rnd((uint32_t)(i - start + 1));
			struct esmtp_target tmp = t[i];

			t[i] = t[j];
			t[j] = tmp;
		}
		start = end;
	}
}

static void add_target(struct esmtp_targets *ts, const char *host,
		       unsigned int pref, const struct sockaddr_storage *ss,
		       socklen_t len, const char *addr_text)
{
	struct esmtp_target *t;

	/* an address already listed (two MX names, one host) is tried once */
	for (size_t i = 0; i < ts->count; i++)
		if (strcmp(ts->t[i].addr_text, addr_text) == 0)
			return;
	if (ts->count == ts->alloc) {
		ts->alloc = ts->alloc == 0 ? 8 : ts->alloc * 2;
		ts->t = xreallocarray(ts->t, ts->alloc, sizeof(*ts->t));
	}
	t = &ts->t[ts->count++];
	memset(t, 0, sizeof(*t));
	t->host = xstrdup(host);
	t->pref = pref;
	t->ss = *ss;
	t->len = len;
	str_copy(t->addr_text, addr_text, sizeof(t->addr_text));
}

static bool literal_address(const char *text, unsigned int port,
			    struct sockaddr_storage *ss, socklen_t *len_r)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (str_begins_with_icase(text, "ipv6:"))
		text += 5;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len_r = sizeof(*s4);
		return true;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len_r = sizeof(*s6);
		return true;
	}
	return false;
}

/* Adds the A and AAAA addresses of host.  Returns the worst DNS status
 * seen when nothing was added, else DNS_OK. */
static enum dns_status add_host(struct dns_resolver *dns, const char *host,
				unsigned int pref,
				const struct esmtp_resolve_settings *set,
				struct esmtp_targets *ts, size_t max)
{
	enum dns_type order[2];
	enum dns_status worst = DNS_NXDOMAIN;
	size_t before = ts->count;
	int n = 0;

	if (set->prefer_ipv6) {
		if (set->ipv6)
			order[n++] = DNS_TYPE_AAAA;
		if (set->ipv4)
			order[n++] = DNS_TYPE_A;
	} else {
		if (set->ipv4)
			order[n++] = DNS_TYPE_A;
		if (set->ipv6)
			order[n++] = DNS_TYPE_AAAA;
	}
	for (int k = 0; k < n; k++) {
		struct dns_result res;
		enum dns_status st = dns_lookup(dns, host, order[k], &res);

		if (st == DNS_TEMPFAIL)
			worst = DNS_TEMPFAIL;
		else if (st == DNS_NODATA && worst != DNS_TEMPFAIL)
			worst = DNS_NODATA;
		for (size_t i = 0; st == DNS_OK && i < res.count; i++) {
			struct sockaddr_storage ss;
			socklen_t len;

			if (ts->count >= max)
				break;
			if (!literal_address(res.rrs[i].addr_text, set->port,
					     &ss, &len))
				continue;
			add_target(ts, host, pref, &ss, len,
				   res.rrs[i].addr_text);
		}
		dns_result_free(&res);
	}
	return ts->count > before ? DNS_OK : worst;
}

static uint32_t random_uniform(uint32_t upper)
{
	return secure_random_uniform(upper);
}

static bool is_me(const struct esmtp_resolve_settings *set, const char *host)
{
	for (size_t i = 0; set->me != NULL && set->me[i] != NULL; i++)
		if (strcasecmp(set->me[i], host) == 0)
			return true;
	return false;
}

enum esmtp_resolve_status
esmtp_resolve(struct dns_resolver *dns, const char *name,
	      const struct esmtp_resolve_settings *set,
	      struct esmtp_targets *targets, const char **error_r)
{
	size_t max = set->max_targets > 0 ? set->max_targets : 64;
	struct esmtp_targets hosts;
	struct dns_result mx;
	enum dns_status st;
	bool tempfail = false;

	memset(targets, 0, sizeof(*targets));
	if (name[0] == '[') {
		struct sockaddr_storage ss;
		socklen_t len;
		size_t n = strlen(name);
		char *lit = xstrndup(name + 1, n >= 2 ? n - 2 : 0);
		bool ok = n >= 2 && name[n - 1] == ']' &&
			  literal_address(lit, set->port, &ss, &len);

		if (ok) {
			char text[INET6_ADDRSTRLEN];

			inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
				  (void *)&((struct sockaddr_in *)&ss)->sin_addr
				  : (void *)&((struct sockaddr_in6 *)&ss)
				  ->sin6_addr, text, sizeof(text));
			add_target(targets, name, 0, &ss, len, text);
		}
		free(lit);
		if (!ok) {
			*error_r = "malformed address literal";
			return ESMTP_RESOLVE_PERMFAIL;
		}
		return ESMTP_RESOLVE_OK;
	}
	st = dns_lookup(dns, name, DNS_TYPE_MX, &mx);
	if (st == DNS_TEMPFAIL) {
		dns_result_free(&mx);
		*error_r = "DNS lookup of the MX records failed";
		return ESMTP_RESOLVE_TEMPFAIL;
	}
	if (st == DNS_NXDOMAIN || st == DNS_BADNAME) {
		dns_result_free(&mx);
		*error_r = st == DNS_BADNAME ? "malformed domain" :
			"no such domain";
		return ESMTP_RESOLVE_PERMFAIL;
	}
	memset(&hosts, 0, sizeof(hosts));
	if (st == DNS_OK) {
		struct sockaddr_storage none;

		memset(&none, 0, sizeof(none));
		for (size_t i = 0; i < mx.count; i++) {
			struct esmtp_target *t;

			if (mx.rrs[i].name[0] == '\0' && mx.count == 1) {
				/* RFC 7505 null MX */
				dns_result_free(&mx);
				*error_r = "the domain accepts no mail "
					   "(null MX)";
				return ESMTP_RESOLVE_PERMFAIL;
			}
			if (mx.rrs[i].name[0] == '\0')
				continue;
			if (hosts.count == hosts.alloc) {
				hosts.alloc = hosts.alloc == 0 ? 8 :
					hosts.alloc * 2;
				hosts.t = xreallocarray(hosts.t, hosts.alloc,
							sizeof(*hosts.t));
			}
			t = &hosts.t[hosts.count++];
			memset(t, 0, sizeof(*t));
			t->host = xstrdup(mx.rrs[i].name);
			t->pref = mx.rrs[i].pref;
		}
		esmtp_targets_shuffle_equal(hosts.t, hosts.count,
					    random_uniform);
		for (size_t i = 0; i < hosts.count; i++) {
			enum dns_status hs;

			/* an MX that is this server: lower preferences
			 * would bounce back here (RFC 5321 5.1) */
			if (is_me(set, hosts.t[i].host))
				break;
			hs = add_host(dns, hosts.t[i].host, hosts.t[i].pref,
				      set, targets, max);
			if (hs == DNS_TEMPFAIL)
				tempfail = true;
		}
		esmtp_targets_free(&hosts);
	} else {
		/* no MX: the domain itself (RFC 5321 section 5.1) */
		st = add_host(dns, name, 0, set, targets, max);
		if (st == DNS_TEMPFAIL)
			tempfail = true;
	}
	dns_result_free(&mx);
	if (targets->count > 0)
		return ESMTP_RESOLVE_OK;
	if (tempfail) {
		*error_r = "DNS lookup of the mail servers' addresses failed";
		return ESMTP_RESOLVE_TEMPFAIL;
	}
	*error_r = "no address for the domain's mail servers";
	return ESMTP_RESOLVE_PERMFAIL;
}
