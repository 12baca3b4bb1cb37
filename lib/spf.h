/* spf.h: Sender Policy Framework (RFC 7208): the record parser, the
 * macro language and check_host() over lib/dns.h, so that SPF uses the
 * instance's own DNS servers (etc/dnsservers).
 *
 *	struct spf_request req = { .dns = resolver, .ip = "192.0.2.1",
 *		.sender = "user@example.com", .domain = "example.com",
 *		.helo = "mail.example.com", .receiver = "mx.example.net" };
 *	struct spf_response resp;
 *	enum spf_result r = spf_check(&req, &resp);
 *	...
 *	spf_response_free(&resp);
 *
 * Limits (RFC 7208 4.6.4): at most 10 mechanisms and modifiers that ask
 * DNS (include, a, mx, ptr, exists, redirect) per check, at most 2 of
 * their lookups may find nothing (void lookups), at most 10 MX hosts per
 * "mx", at most 10 PTR names per "ptr" or %{p}; exceeding one is a
 * permerror.  A record is at most SPF_MAX_RECORD bytes and
 * SPF_MAX_TERMS terms; a macro expansion at most SPF_MAX_EXPANSION
 * bytes.  Lookups block (lib/dns.h timeouts). */
#ifndef SPF_H
#define SPF_H

#include <stdbool.h>
#include <stddef.h>

#include "dns.h"
#include "str.h"

#define SPF_MAX_RECORD 4096
#define SPF_MAX_TERMS 128
#define SPF_MAX_EXPANSION 1024
#define SPF_MAX_DNS_MECHANISMS 10
#define SPF_MAX_VOID_LOOKUPS 2

enum spf_result {
	SPF_RESULT_NONE,
	SPF_RESULT_NEUTRAL,
	SPF_RESULT_PASS,
	SPF_RESULT_FAIL,
	SPF_RESULT_SOFTFAIL,
	SPF_RESULT_TEMPERROR,
	SPF_RESULT_PERMERROR,
};

/* A DNS lookup as lib/dns.h's dns_lookup() does it (tests replace it):
 * fills *res (freed by the caller with dns_result_free()). */
typedef enum dns_status spf_lookup_t(void *context, const char *name,
				     enum dns_type type,
				     struct dns_result *res);

struct spf_request {
	/* The resolver, used when lookup is NULL. */
	struct dns_resolver *dns;
	spf_lookup_t *lookup;
	void *lookup_context;
	const char *ip;		/* the client's address, IPv4 or IPv6 text */
	/* The identity: "local@domain" (MAIL FROM), or for HELO and for an
	 * empty MAIL FROM "postmaster@helo"; a sender without '@' gets
	 * "postmaster@" (RFC 7208 4.3). */
	const char *sender;
	const char *domain;	/* the domain to check (sender's or HELO) */
	const char *helo;	/* HELO/EHLO name (%{h}); may be NULL */
	const char *receiver;	/* our name (%{r}); may be NULL */
};

struct spf_response {
	enum spf_result result;
	/* The mechanism that matched ("ip4:192.0.2.0/24"), "default" when
	 * none did, or NULL (none, errors). */
	char *mechanism;
	/* For fail: the expanded exp= text of the domain, or NULL. */
	char *explanation;
	/* Why temperror/permerror (static text), else NULL. */
	const char *error;
	unsigned int dns_mechanisms;	/* lookups counted against 10 */
};

/* Runs check_host(ip, domain, sender).  Returns the result (also in
 * resp->result); resp is always filled: free it with
 * spf_response_free(). */
enum spf_result spf_check(const struct spf_request *req,
			  struct spf_response *resp);
void spf_response_free(struct spf_response *resp);

/* "none", "neutral", "pass", "fail", "softfail", "temperror",
 * "permerror". */
const char *spf_result_name(enum spf_result r);
/* Parses a result name (also Courier's "error" = temperror and
 * "unknown" = permerror), case-insensitively.  Returns 0 or -1. */
int spf_result_from_name(const char *name, enum spf_result *r_r);

/* A parsed record ("v=spf1 ..."). */
struct spf_record;
/* Parses the text of a TXT record (len bytes, may hold NULs: refused).
 * Returns 0 and *rec_r, or -1 with *error_r (static) for a record that
 * is not SPF version 1 or has a syntax error (a permerror). */
int spf_record_parse(const char *text, size_t len, struct spf_record **rec_r,
		     const char **error_r);
void spf_record_free(struct spf_record **rec);
/* Number of terms (mechanisms and modifiers) of a parsed record. */
size_t spf_record_term_count(const struct spf_record *rec);
/* Whether text starts a version 1 SPF record ("v=spf1" then a space or
 * the end, case-insensitively). */
bool spf_record_is_spf1(const char *text, size_t len);

/* The macro values (section 7.2) for spf_macro_expand(). */
struct spf_macro_env {
	const char *sender;	/* s */
	const char *domain;	/* d */
	const char *ip;		/* i, c (normalised by the expander) */
	const char *helo;	/* h */
	const char *receiver;	/* r */
	const char *validated;	/* p; NULL = "unknown" */
	unsigned long long now;	/* t */
};
/* Expands a macro-string (len bytes) into out.  exp: the explanation
 * variant (c, r and t allowed).  Returns 0, or -1 with *error_r for a
 * syntax error or a result over SPF_MAX_EXPANSION bytes.  The result of
 * a domain-spec expansion longer than 253 bytes loses its left labels
 * (domain: true). */
int spf_macro_expand(const struct spf_macro_env *env, const char *spec,
		     size_t len, bool exp, bool domain, struct str *out,
		     const char **error_r);

/* Appends a Received-SPF: header field (RFC 7208 9.1, folded, ending in
 * CRLF) for identity "helo", "mailfrom" or "from". */
void spf_received_header(struct str *out, const struct spf_request *req,
			 const struct spf_response *resp,
			 const char *identity);

#endif
