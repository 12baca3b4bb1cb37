/* dns.h: a small stub resolver for MX, A, AAAA, TXT, PTR and CNAME
 * lookups, for the ESMTP client (MX then A/AAAA), the server's BOFH checks
 * (badmx), SPF (TXT) and DKIM (TXT), and reverse lookups (PTR).
 *
 * By default the system resolver is used (libresolv, /etc/resolv.conf).
 * An instance may name its own DNS servers in the control file
 * "dnsservers" (one server a line, "ADDRESS" or "ADDRESS#PORT", IPv4 or
 * IPv6, e.g. "127.0.0.1#5353"): queries then go to those servers only, by
 * UDP, retried over TCP when the answer is truncated.  Tests point an
 * instance at a dnsmasq on 127.0.0.1 that way.
 *
 * Lookups block (at most timeout x attempts x servers).  Every answer is
 * parsed with bounds: a record count limit, names checked by dn_expand(),
 * TXT strings joined up to a size limit; a malformed answer is a
 * temporary failure, never a crash.
 *
 *	struct dns_resolver *r = dns_resolver_create_config();
 *	struct dns_result res;
 *	if (dns_lookup(r, "example.com", DNS_TYPE_MX, &res) == DNS_OK)
 *		for (size_t i = 0; i < res.count; i++)
 *			use(res.rrs[i].pref, res.rrs[i].name);
 *	dns_result_free(&res);
 *	dns_resolver_destroy(&r); */
#ifndef DNS_H
#define DNS_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

/* Record types (the DNS TYPE values). */
enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
};

/* Outcome of a lookup. */
enum dns_status {
	DNS_OK = 0,		/* at least one record of the type */
	DNS_NXDOMAIN = 1,	/* the name does not exist (permanent) */
	DNS_NODATA = 2,		/* the name exists, no record of the type */
	DNS_TEMPFAIL = 3,	/* timeout, SERVFAIL, malformed answer... */
	DNS_BADNAME = 4,	/* the name asked for is not a valid name */
};

/* Limits of the answer parser. */
#define DNS_DEFAULT_MAX_RECORDS 256
#define DNS_MAX_TXT 65535	/* bytes of one TXT record, joined */
#define DNS_MAX_PACKET 65535

struct dns_rr {
	enum dns_type type;
	uint32_t ttl;
	/* MX: the preference; 0 for other types. */
	uint16_t pref;
	/* MX exchange, PTR or CNAME target: the name without a trailing
	 * dot, lowercased; NULL for A, AAAA and TXT. */
	char *name;
	/* A/AAAA: the address (AF_INET or AF_INET6) and its text form. */
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	char addr_text[INET6_ADDRSTRLEN];
	/* TXT: the character-strings joined (as SPF and DKIM read them),
	 * NUL-terminated; text_len may count embedded NULs. */
	char *text;
	size_t text_len;
};

struct dns_result {
	enum dns_status status;
	struct dns_rr *rrs;
	size_t count;
	/* For DNS_TEMPFAIL and DNS_BADNAME: why ("timeout", "SERVFAIL",
	 * "malformed answer"...); static text, never NULL after a lookup. */
	const char *error;
};

struct dns_settings {
	/* Servers, separated by spaces, commas or newlines, each
	 * "ADDRESS" or "ADDRESS#PORT"; NULL or "" = the system resolver. */
	const char *servers;
	unsigned int timeout_msecs;	/* per try; 0 = 5000 */
	unsigned int attempts;		/* tries per server; 0 = 2 */
	size_t max_records;		/* 0 = DNS_DEFAULT_MAX_RECORDS */
};

struct dns_resolver;

/* Creates a resolver.  Returns NULL with *error_r (static text) when the
 * server list has an entry that is not an address or port.  set may be
 * NULL for the system resolver with the defaults. */
struct dns_resolver *dns_resolver_create(const struct dns_settings *set,
					 const char **error_r);
/* A resolver for the instance: the servers of the control file
 * "dnsservers" if it exists, else the system resolver.  A malformed file
 * is logged and the system resolver used.  Never NULL. */
struct dns_resolver *dns_resolver_create_config(void);
/* Frees it; sets *r to NULL (NULL is harmless). */
void dns_resolver_destroy(struct dns_resolver **r);

/* Looks up name (with or without a trailing dot) for records of type.
 * Fills *res (always: free it with dns_result_free()) and returns its
 * status.  Records of the type are taken from the answer section,
 * whichever name of a CNAME chain owns them; CNAME records themselves are
 * only returned when asking for DNS_TYPE_CNAME.  MX records come sorted by
 * preference (equal ones in answer order). */
enum dns_status dns_lookup(struct dns_resolver *r, const char *name,
			   enum dns_type type, struct dns_result *res);
/* Reverse lookup of an IPv4 or IPv6 address in text form: PTR records of
 * its in-addr.arpa/ip6.arpa name.  DNS_BADNAME for a malformed address. */
enum dns_status dns_lookup_ptr(struct dns_resolver *r, const char *address,
			       struct dns_result *res);
/* Frees the records of a result (its struct may be reused). */
void dns_result_free(struct dns_result *res);

/* Parses a DNS answer packet of len bytes for records of type (what
 * dns_lookup() does with the server's reply; for tests and the fuzz
 * target).  max_records 0 = the default.  Returns the status and fills
 * *res (free it). */
enum dns_status dns_parse_answer(const uint8_t *packet, size_t len,
				 enum dns_type type, size_t max_records,
				 struct dns_result *res);

/* The reverse lookup name of an address ("4.3.2.1.in-addr.arpa").
 * Returns 0 and *name_r (caller frees), or -1 for a malformed address. */
int dns_reverse_name(const char *address, char **name_r);

/* Parses one server entry "ADDRESS" or "ADDRESS#PORT" (IPv6 may also be
 * written "[ADDRESS]:PORT").  Returns 0 and fills *ss and *len_r, or -1. */
int dns_parse_server(const char *text, struct sockaddr_storage *ss,
		     socklen_t *len_r);

#endif
