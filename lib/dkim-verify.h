/* dkim-verify.h: DKIM signature verification of a whole message (RFC
 * 6376 6, RFC 8463) and its Authentication-Results: text (RFC 8601).
 *
 *	struct dkim_verify *v = dkim_verify_create(&set);
 *	dkim_verify_feed(v, data, len);	// the message, any pieces
 *	dkim_verify_finish(v);		// key lookups, signature checks
 *	dkim_verify_ar_append(v, &ar);	// "dkim=pass header.d=..."
 *	dkim_verify_destroy(&v);
 *
 * At most max_signatures DKIM-Signature fields are checked (the topmost
 * ones); the others are ignored.  Results, per signature:
 *  - pass: the body hash and the signature match;
 *  - fail: they do not (neutral when the key says t=y, testing);
 *  - neutral: the signature expired (x=), is dated in the future (t=)
 *    or uses an algorithm we do not accept (rsa-sha1, RFC 8301);
 *  - permerror: malformed signature, no key (NXDOMAIN, no TXT), revoked
 *    or malformed key, a key of another type or too small, a header too
 *    large to check;
 *  - temperror: the key could not be looked up (DNS timeout, SERVFAIL);
 *  - none (for the message): no signature at all. */
#ifndef DKIM_VERIFY_H
#define DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dkim.h"
#include "dns.h"
#include "str.h"

#define DKIM_VERIFY_DEFAULT_MAX_SIGNATURES 8

enum dkim_result {
	DKIM_RESULT_NONE,
	DKIM_RESULT_PASS,
	DKIM_RESULT_FAIL,
	DKIM_RESULT_NEUTRAL,
	DKIM_RESULT_TEMPERROR,
	DKIM_RESULT_PERMERROR,
};
/* The RFC 8601 name: "none", "pass", "fail"... */
const char *dkim_result_name(enum dkim_result r);

/* Looks up the TXT records of name: fills *res as dns_lookup() does and
 * returns its status. */
typedef enum dns_status dkim_txt_lookup_t(void *context, const char *name,
					  struct dns_result *res);

struct dkim_verify_settings {
	/* The key lookup: lookup(lookup_context, ...) when set, else
	 * dns_lookup() on dns (which must then be set). */
	dkim_txt_lookup_t *lookup;
	void *lookup_context;
	struct dns_resolver *dns;
	size_t max_signatures;	/* 0 = DKIM_VERIFY_DEFAULT_MAX_SIGNATURES */
	uint64_t max_header;	/* 0 = dkim-msg.h's default */
	time_t now;		/* 0 = time(NULL) */
};

struct dkim_verify_sig {
	enum dkim_result result;
	const char *reason;	/* why (static), or NULL for pass */
	char *domain;		/* d=, or NULL when unparsable */
	char *selector;		/* s= */
	char *identity;		/* i= */
	char *algo;		/* a= as written ("rsa-sha256"...) */
	char b_prefix[9];	/* the first 8 characters of b= */
	unsigned int key_bits;	/* of the key used, 0 if none */
	bool testing;		/* the key says t=y */
};

struct dkim_verify;

struct dkim_verify *dkim_verify_create(const struct dkim_verify_settings *set);
void dkim_verify_feed(struct dkim_verify *v, const void *data, size_t len);
/* Checks every signature (looks the keys up: this blocks on DNS).  Call
 * once, after the last byte. */
void dkim_verify_finish(struct dkim_verify *v);
size_t dkim_verify_count(const struct dkim_verify *v);
const struct dkim_verify_sig *dkim_verify_get(const struct dkim_verify *v,
					      size_t i);
/* Appends the RFC 8601 resinfo of each signature, "dkim=RESULT (reason)
 * header.d=D header.i=I header.s=S header.a=A header.b=B", separated by
 * ";\r\n\t", or "dkim=none" when there is no signature. */
void dkim_verify_ar_append(const struct dkim_verify *v, struct str *out);
void dkim_verify_destroy(struct dkim_verify **v);

#endif
