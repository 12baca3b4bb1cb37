/* hash.h: message digests and HMAC over the crypto library of the TLS build.
 *
 * One interface, two implementations: lib/hash-openssl.c (libcrypto EVP)
 * and lib/hash-gnutls.c (gnutls_hash / gnutls_hmac), chosen by
 * --with-tls.  lib/hash.c holds what does not depend on the library: names,
 * hex and base64 output, and HMAC-MD5 from precomputed key states (our own
 * MD5 compression function, RFC 1321, since neither library lets a caller
 * resume a digest from a saved state).
 *
 * Algorithms: MD5, SHA-1, SHA-256, SHA-512.  Users: authlib's password
 * schemes ({MD5}, {SHA}, {SSHA256}...), CRAM-MD5, DKIM.
 *
 * Contexts are allocated by the module (allocation never fails) and wiped
 * when destroyed, so keys and intermediate states do not linger.  A failure
 * of the crypto library itself (an algorithm disabled by a FIPS policy, for
 * example) is a panic: callers never see a half-computed digest. */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdbool.h>
#include "str.h"

enum hash_algo {
	HASH_MD5,
	HASH_SHA1,
	HASH_SHA256,
	HASH_SHA512,
};
#define HASH_ALGO_COUNT 4

/* Largest digest (SHA-512) and largest block (SHA-512) in bytes. */
#define HASH_MAX_DIGEST_SIZE 64
#define HASH_MAX_BLOCK_SIZE 128

#define HASH_MD5_DIGEST_SIZE 16
#define HASH_SHA1_DIGEST_SIZE 20
#define HASH_SHA256_DIGEST_SIZE 32
#define HASH_SHA512_DIGEST_SIZE 64

/* Digest size in bytes (16, 20, 32, 64). */
size_t hash_digest_size(enum hash_algo algo);
/* Compression block size in bytes (64, or 128 for SHA-512). */
size_t hash_block_size(enum hash_algo algo);
/* Lowercase name: "md5", "sha1", "sha256", "sha512". */
const char *hash_algo_name(enum hash_algo algo);
/* Looks a name up, case-insensitively; "sha-1", "sha-256" and "sha-512"
 * are accepted too.  Returns 0, or -1 for an unknown name. */
int hash_algo_from_name(const char *name, enum hash_algo *algo_r);

/* Incremental digest.  hash_final() writes hash_digest_size() bytes to
 * digest_r and resets the context, so it can hash a new message. */
struct hash_ctx;
struct hash_ctx *hash_create(enum hash_algo algo);
void hash_update(struct hash_ctx *ctx, const void *data, size_t len);
void hash_final(struct hash_ctx *ctx, unsigned char *digest_r);
/* Frees (and wipes) the context; sets *ctx to NULL.  NULL is harmless. */
void hash_destroy(struct hash_ctx **ctx);
/* One shot: the digest of data into digest_r (hash_digest_size bytes). */
void hash_digest(enum hash_algo algo, const void *data, size_t len,
		 unsigned char *digest_r);

/* Incremental HMAC (RFC 2104) with any of the algorithms; the key may be
 * of any length, including 0.  hmac_final() writes hash_digest_size()
 * bytes and resets the context to "key set, no data", so it can
 * authenticate a new message with the same key. */
struct hmac_ctx;
struct hmac_ctx *hmac_create(enum hash_algo algo, const void *key,
			     size_t key_len);
void hmac_update(struct hmac_ctx *ctx, const void *data, size_t len);
void hmac_final(struct hmac_ctx *ctx, unsigned char *digest_r);
/* Frees the context and wipes the key material; sets *ctx to NULL. */
void hmac_destroy(struct hmac_ctx **ctx);
/* One shot HMAC into digest_r (hash_digest_size bytes). */
void hmac_digest(enum hash_algo algo, const void *key, size_t key_len,
		 const void *data, size_t len, unsigned char *digest_r);

/* Output helpers: append the lowercase hex / the base64 (one line, with
 * padding) of len bytes to dest. */
void hash_hex_append(struct str *dest, const unsigned char *data,
		     size_t len);
void hash_base64_append(struct str *dest, const unsigned char *data,
			size_t len);
/* Strict hex decoding of exactly 2 * out_len characters (either case) into
 * out.  Returns 0, or -1 if hex_len is not 2 * out_len or a character is
 * not a hex digit (out then holds garbage). */
int hash_hex_decode(const char *hex, size_t hex_len, unsigned char *out,
		    size_t out_len);

/* ---- HMAC-MD5 with precomputed key states (Courier's hmac-md5pw) ----
 *
 * HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)).  The MD5 state after
 * the one 64-byte block K ^ opad (the "outer" state) and after K ^ ipad
 * (the "inner" state) are enough to compute the HMAC of any message, so a
 * server can store them instead of the clear password.  Courier's
 * `userdbpw -hmac-md5` prints them as 64 lowercase hex digits: the outer
 * state then the inner state, each the MD5 chaining words A, B, C, D in
 * little-endian byte order (the same layout as an MD5 digest); authlib
 * keeps the string in the userdb field `hmac-md5pw`.  The functions below
 * read and write that format, so existing userdb files work unchanged. */
#define HMAC_MD5_STATE_SIZE 32	/* outer (16) then inner (16) */
#define HMAC_MD5_STATE_HEX_LEN 64

/* Computes the outer and inner states of key (any length: a key longer
 * than 64 bytes is first replaced by its MD5, as RFC 2104 says). */
void hmac_md5_precompute(const void *key, size_t key_len,
			 unsigned char state_r[HMAC_MD5_STATE_SIZE]);
/* Appends the 64 hex digits `userdbpw -hmac-md5` prints for key. */
void hmac_md5_precompute_hex(struct str *dest, const void *key,
			     size_t key_len);
/* Parses a hmac-md5pw value (64 hex digits, either case, nothing else).
 * Returns 0, or -1 if malformed. */
int hmac_md5_state_from_hex(const char *hex, size_t hex_len,
			    unsigned char state_r[HMAC_MD5_STATE_SIZE]);
/* HMAC-MD5 of data from precomputed states into digest_r (16 bytes). */
void hmac_md5_from_state(const unsigned char state[HMAC_MD5_STATE_SIZE],
			 const void *data, size_t len,
			 unsigned char digest_r[HASH_MD5_DIGEST_SIZE]);

#endif
