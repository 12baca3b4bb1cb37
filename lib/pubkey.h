/* pubkey.h: public-key signatures for DKIM (RFC 6376, RFC 8463) over the
 * crypto library of the TLS build.
 *
 * One interface, two implementations: lib/pubkey-openssl.c (libcrypto
 * EVP) and lib/pubkey-gnutls.c (gnutls_pubkey / gnutls_privkey), chosen
 * by --with-tls.  lib/pubkey.c holds what does not depend on the library:
 * the bounded DER reader that tells a SubjectPublicKeyInfo from a PKCS#1
 * RSAPublicKey and wraps either (and a raw Ed25519 key) into a
 * SubjectPublicKeyInfo, which is all a backend imports.
 *
 * Algorithms:
 *  - RSA, PKCS#1 v1.5 with SHA-256 (DKIM's rsa-sha256), keys of
 *    PUBKEY_RSA_MIN_BITS to PUBKEY_RSA_MAX_BITS bits;
 *  - Ed25519 (RFC 8032, pure), as DKIM's ed25519-sha256 uses it: the
 *    signed message is the 32-byte SHA-256 digest (RFC 8463 3).
 *
 * Both operations therefore take the SHA-256 digest of the data: for RSA
 * it goes into the DigestInfo, for Ed25519 it is the message.
 *
 * Every input (key bytes from DNS, signatures, PEM files) is bounded and
 * checked; malformed input is an error with a static text, never a crash.
 * A failure of the crypto library on well-formed input (a disabled
 * algorithm) is an error too, reported by the same text. */
#ifndef PUBKEY_H
#define PUBKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

#define PUBKEY_RSA_MIN_BITS 1024
#define PUBKEY_RSA_MAX_BITS 4096
/* Largest key or signature this module reads (bytes). */
#define PUBKEY_MAX_INPUT 4096
/* Largest PEM private key file read. */
#define PUBKEY_MAX_PEM 65536
#define PUBKEY_ED25519_KEY_SIZE 32
#define PUBKEY_ED25519_SIG_SIZE 64
#define PUBKEY_SHA256_SIZE 32

enum pubkey_type {
	PUBKEY_RSA,
	PUBKEY_ED25519,
};

/* "rsa" or "ed25519" (DKIM's k= names). */
const char *pubkey_type_name(enum pubkey_type type);

/* ---- public keys (verification) ---- */
struct pubkey;

/* Imports a public key as DKIM's p= tag carries it (decoded from base64):
 * for PUBKEY_RSA a DER SubjectPublicKeyInfo or a DER PKCS#1 RSAPublicKey,
 * of 1024 to 4096 bits; for PUBKEY_ED25519 the raw 32-byte key (RFC
 * 8463 4; a SubjectPublicKeyInfo is accepted too).  Returns 0 and *key_r
 * (free with pubkey_destroy()), or -1 with *error_r. */
int pubkey_import(enum pubkey_type type, const unsigned char *data,
		  size_t len, struct pubkey **key_r, const char **error_r);
enum pubkey_type pubkey_get_type(const struct pubkey *key);
/* The key size in bits (256 for Ed25519). */
unsigned int pubkey_bits(const struct pubkey *key);
/* Checks sig over the SHA-256 digest.  Returns 1 when the signature is
 * valid, 0 when it is not (including a signature of the wrong size). */
int pubkey_verify_sha256(const struct pubkey *key,
			 const unsigned char digest[PUBKEY_SHA256_SIZE],
			 const unsigned char *sig, size_t sig_len);
/* Frees the key; sets *key to NULL (NULL is harmless). */
void pubkey_destroy(struct pubkey **key);

/* ---- private keys (signing, key generation) ---- */
struct pubkey_private;

/* Reads a PEM private key (PKCS#8 "PRIVATE KEY", or PKCS#1 "RSA PRIVATE
 * KEY"; unencrypted), RSA of 1024 to 4096 bits or Ed25519, from len
 * bytes.  Returns 0 and *key_r, or -1 with *error_r. */
int pubkey_private_load_pem(const char *pem, size_t len,
			    struct pubkey_private **key_r,
			    const char **error_r);
/* The same from a file (at most PUBKEY_MAX_PEM bytes).  *error_r may
 * name the system error. */
int pubkey_private_read_file(const char *path, struct pubkey_private **key_r,
			     const char **error_r);
/* Generates a key: RSA of bits bits (1024-4096; 0 = 2048), or Ed25519
 * (bits ignored).  Returns 0 and *key_r, or -1 with *error_r. */
int pubkey_private_generate(enum pubkey_type type, unsigned int bits,
			    struct pubkey_private **key_r,
			    const char **error_r);
enum pubkey_type pubkey_private_get_type(const struct pubkey_private *key);
unsigned int pubkey_private_bits(const struct pubkey_private *key);
/* Signs the SHA-256 digest; appends the signature (binary: the modulus
 * size for RSA, 64 bytes for Ed25519) to sig_r.  Returns 0, or -1 with
 * *error_r. */
int pubkey_private_sign_sha256(const struct pubkey_private *key,
			       const unsigned char digest[PUBKEY_SHA256_SIZE],
			       struct str *sig_r, const char **error_r);
/* Appends the key as an unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE
 * KEY-----"), for the key file. */
void pubkey_private_pem_append(const struct pubkey_private *key,
			       struct str *out);
/* Appends the public half as DKIM's p= wants it (binary, to be
 * base64-encoded): the DER SubjectPublicKeyInfo for RSA, the raw 32
 * bytes for Ed25519. */
void pubkey_private_public_append(const struct pubkey_private *key,
				  struct str *out);
/* Frees (and wipes) the key; sets *key to NULL. */
void pubkey_private_destroy(struct pubkey_private **key);

/* ---- helpers shared by the backends (lib/pubkey.c) ---- */

/* Turns p= data into a DER SubjectPublicKeyInfo in out (cleared first):
 * checks the outer DER structure with bounds, wraps a PKCS#1
 * RSAPublicKey or a raw Ed25519 key.  Returns 0, or -1 with *error_r.
 * The backend still checks what is inside. */
int pubkey_to_spki(enum pubkey_type type, const unsigned char *data,
		   size_t len, struct str *out, const char **error_r);
/* Reads one DER tag-length header at data[0..len): the tag into *tag_r,
 * the content offset and length into *off_r and *clen_r (definite
 * lengths only, within len).  Returns 0, or -1 when malformed. */
int pubkey_der_header(const unsigned char *data, size_t len,
		      unsigned char *tag_r, size_t *off_r, size_t *clen_r);

#endif
