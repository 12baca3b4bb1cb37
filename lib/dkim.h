/* dkim.h: DomainKeys Identified Mail (RFC 6376) building blocks: the
 * tag=value list parser (section 3.2), the DKIM-Signature: header field
 * parser, the key record parser (3.6.1), and the header and body
 * canonicalisations "simple" and "relaxed" (3.4) with the body hash
 * (3.7, honouring l=).  Signature algorithms: rsa-sha256 and
 * ed25519-sha256 (RFC 8463); rsa-sha1 is refused (RFC 8301).
 *
 * Every parser bounds its input (DKIM_MAX_VALUE bytes, DKIM_MAX_TAGS
 * tags, DKIM_MAX_SIGNED_HEADERS names in h=) and returns an error text
 * (static) for malformed input, never crashes. */
#ifndef DKIM_H
#define DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "str.h"

#define DKIM_MAX_VALUE 16384
#define DKIM_MAX_TAGS 64
#define DKIM_MAX_SIGNED_HEADERS 64

/* One tag of a tag-list; name and value point into the parsed copy. */
struct dkim_tag {
	char *name;
	char *value;	/* leading/trailing whitespace removed */
};

struct dkim_tag_list {
	char *buf;	/* the copy the tags point into */
	struct dkim_tag *tags;
	size_t count;
};

/* Parses "tag=value; tag=value" (len bytes).  Returns 0 and fills *list
 * (free with dkim_tag_list_free()), or -1 with *error_r: a tag without
 * '=', a bad tag name, a duplicate tag, a control byte, too long or too
 * many tags. */
int dkim_tag_list_parse(const char *text, size_t len,
			struct dkim_tag_list *list, const char **error_r);
void dkim_tag_list_free(struct dkim_tag_list *list);
/* The value of tag name, or NULL. */
const char *dkim_tag_get(const struct dkim_tag_list *list, const char *name);

enum dkim_algo {
	DKIM_ALGO_RSA_SHA256,
	DKIM_ALGO_ED25519_SHA256,
};

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

struct dkim_signature {
	enum dkim_algo algo;
	enum dkim_canon header_canon, body_canon;
	char *domain;		/* d=, lowercase */
	char *selector;		/* s= */
	char *identity;		/* i= (default "@d") */
	char **headers;		/* h=, lowercase names */
	size_t header_count;
	bool has_length;	/* l= given */
	uint64_t length;	/* l= */
	bool has_timestamp, has_expiry;
	uint64_t timestamp;	/* t= */
	uint64_t expiry;	/* x= */
	unsigned char *sig;	/* b=, decoded */
	size_t sig_len;
	unsigned char bh[HASH_SHA256_DIGEST_SIZE]; /* bh=, decoded */
};

/* Parses the value of a DKIM-Signature: field (the text after the
 * colon, len bytes, folding allowed).  Returns 0 and fills *sig (free
 * with dkim_signature_free()), or -1 with *error_r (a permanent failure
 * of this signature, RFC 6376 6.1.1): missing or bad v=, a=, b=, bh=,
 * c=, d=, h= (must name "from"), s=, q=, l=, t=, x=, an i= outside d=. */
int dkim_signature_parse(const char *value, size_t len,
			 struct dkim_signature *sig, const char **error_r);
void dkim_signature_free(struct dkim_signature *sig);

/* A public key record (TXT at selector._domainkey.domain). */
struct dkim_key {
	enum dkim_algo algo;	/* from k= (default rsa) */
	unsigned char *key;	/* p=, decoded; NULL when revoked (p=) */
	size_t key_len;
	bool testing;		/* t=y */
	bool strict;		/* t=s: i= must be d= exactly */
};
/* Parses a key record.  Returns 0 (a revoked key has key == NULL), or
 * -1 with *error_r: v= other than DKIM1, unknown k=, h= without sha256,
 * s= without "email" or "*", p= missing or not base64. */
int dkim_key_parse(const char *text, size_t len, struct dkim_key *key,
		   const char **error_r);
void dkim_key_free(struct dkim_key *key);

/* Header canonicalisation of one field (name and value as written: the
 * value is everything after the colon, with its line breaks).  Appends
 * the canonical form with its CRLF (none when crlf is false: the
 * DKIM-Signature field itself, 3.7). */
void dkim_canon_header(struct str *out, enum dkim_canon canon,
		       const char *name, size_t name_len, const char *value,
		       size_t value_len, bool crlf);

/* Streaming body canonicalisation and hash.  Feed the body (after the
 * empty line) in pieces of any size, with CRLF or LF line ends (LF is
 * read as CRLF); the digest covers at most limit canonical bytes when
 * has_limit (l=). */
struct dkim_body_hash;
struct dkim_body_hash *dkim_body_hash_create(enum dkim_canon canon,
					     bool has_limit, uint64_t limit);
void dkim_body_hash_feed(struct dkim_body_hash *bh, const void *data,
			 size_t len);
/* Finishes: the SHA-256 digest into digest_r; *canon_len_r (may be NULL)
 * gets the length of the whole canonical body (for l= when signing). */
void dkim_body_hash_finish(struct dkim_body_hash *bh,
			   unsigned char digest_r[HASH_SHA256_DIGEST_SIZE],
			   uint64_t *canon_len_r);
void dkim_body_hash_destroy(struct dkim_body_hash **bh);

#endif
