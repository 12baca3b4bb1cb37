/* idna.h: internationalised domain names (IDNA 2008 with UTS #46 mapping,
 * through libidn2), domain normalisation and SMTP domain validity.
 *
 * Domains are NUL-terminated UTF-8 strings.  "A-label" is the ASCII form
 * of a non-ASCII label ("xn--bcher-kva"), "U-label" its Unicode form
 * ("bücher").  Every result string is allocated with the suite's
 * allocator and freed by the caller with free(). */
#ifndef IDNA_H
#define IDNA_H

#include <stdbool.h>

/* Longest domain accepted, in bytes of its ASCII form without a trailing
 * dot (RFC 1035: 255 octets on the wire). */
#define IDNA_DOMAIN_MAX_LEN 253
/* Longest label, in bytes of its ASCII form. */
#define IDNA_LABEL_MAX_LEN 63

/* Whether the domain is pure ASCII. */
bool idna_domain_is_ascii(const char *domain);

/* Converts a domain to its ASCII form: every non-ASCII label becomes an
 * A-label, and the whole is lowercased.  A pure ASCII domain is only
 * lowercased (no IDNA checks, so names such as "_dmarc.example.com" pass
 * through); a domain literal ("[192.0.2.1]") is returned unchanged.
 * Non-transitional processing is tried first, then transitional (so "ß"
 * is kept when allowed, mapped to "ss" otherwise).
 * Returns 0 and sets *ascii_r, or -1 with *error_r (static text) when the
 * domain is empty, not valid UTF-8 or not a valid IDN. */
int idna_domain_to_ascii(const char *domain, char **ascii_r,
			 const char **error_r);

/* Converts A-labels back to U-labels (lowercased ASCII otherwise); a
 * domain literal is returned unchanged.  An A-label that does not decode,
 * or does not turn back into the same A-label, is refused.
 * Returns 0 and sets *utf8_r, or -1 with *error_r. */
int idna_domain_to_utf8(const char *domain, char **utf8_r,
			const char **error_r);

/* The canonical form used to compare domains: ASCII lowercased, U-labels
 * normalised (NFC, case-folded by UTS #46 mapping, A-labels decoded),
 * one trailing dot removed.  Two spellings of the same domain
 * ("Bücher.Example", "xn--bcher-kva.example") give the same string.
 * Returns 0 and sets *norm_r, or -1 with *error_r. */
int idna_domain_normalize(const char *domain, char **norm_r,
			  const char **error_r);

/* Flags of idna_domain_check(). */
enum idna_domain_check_flags {
	/* accept U-labels (RFC 6531 SMTPUTF8): they are checked in their
	 * A-label form */
	IDNA_DOMAIN_ALLOW_UTF8 = 0x01,
	/* accept address literals: [IPv4] and [IPv6:...] */
	IDNA_DOMAIN_ALLOW_LITERAL = 0x02,
};

/* Checks a domain as RFC 5321 4.1.2 and 4.5.3.1.2 want it for SMTP: labels
 * of letters, digits and hyphens, not starting or ending with a hyphen,
 * 1 to 63 bytes each, 253 bytes at most in all, no trailing dot; A-labels
 * must decode; with the flags, U-labels and address literals.
 * Returns 0 when valid, or -1 with *error_r saying why. */
int idna_domain_check(const char *domain, unsigned int flags,
		      const char **error_r);

#endif
