/* passwd.h: password schemes: verify a clear password against a stored
 * hash, hash a new one, and check CRAM responses.
 *
 * Stored forms understood (the scheme name in braces is case-insensitive):
 *   $1$ $5$ $6$ $2a$ $2b$ $2y$ $y$ $7$ ... crypt(3) through libxcrypt's
 *                 crypt_rn (whatever this libcrypt implements), also
 *                 written {CRYPT}$6$...; a bare value without "{" is crypt
 *   {MD5}         base64 of MD5(pw)          {MD5RAW}  hex of MD5(pw)
 *   {SMD5}        salted MD5 (OpenLDAP's; verified only, never made)
 *   {SHA}         base64 of SHA-1(pw)        {SSHA}    salted SHA-1
 *   {SHA256}      base64 of SHA-256(pw)      {SSHA256} salted SHA-256
 *   {SHA512}      base64 of SHA-512(pw)      {SSHA512} salted SHA-512
 *   {PLAIN} / {CLEARTEXT}   the password itself
 * Salted forms are base64(H(pw || salt) || salt), any salt length >= 1.
 * Every comparison is timing-safe (secure.h); nothing here logs. */
#ifndef PASSWD_H
#define PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

enum passwd_scheme {
	PASSWD_SCHEME_DEFAULT,	    /* the strongest available: yescrypt, else
				       SHA-512 crypt */
	PASSWD_SCHEME_YESCRYPT,	    /* $y$ */
	PASSWD_SCHEME_SHA512_CRYPT, /* $6$ */
	PASSWD_SCHEME_SHA256_CRYPT, /* $5$ */
	PASSWD_SCHEME_BCRYPT,	    /* $2b$ */
	PASSWD_SCHEME_MD5_CRYPT,    /* $1$ (userdbpw -md5) */
	PASSWD_SCHEME_SSHA512,
	PASSWD_SCHEME_SSHA256,
	PASSWD_SCHEME_SSHA,
	PASSWD_SCHEME_SHA512,
	PASSWD_SCHEME_SHA256,
	PASSWD_SCHEME_SHA,
	PASSWD_SCHEME_MD5,
	PASSWD_SCHEME_PLAIN,
};

/* Checks password against stored.  Returns 1 on a match, 0 on a mismatch,
 * -1 when stored is empty, malformed or a scheme we cannot compute (the
 * caller treats that as a mismatch and may log "unusable hash"). */
int passwd_verify(const char *password, const char *stored);

/* Appends a new hash of password in scheme to dest (fresh random salt).
 * Returns 0, or -1 with a static *error_r when this libcrypt does not
 * implement the scheme. */
int passwd_hash(const char *password, enum passwd_scheme scheme,
	struct str *dest, const char **error_r);

/* The scheme a stored hash uses (to hash a changed password the same
 * way); PASSWD_SCHEME_DEFAULT when it is not one we can make. */
enum passwd_scheme passwd_scheme_of(const char *stored);
/* The scheme called name: "yescrypt", "sha512-crypt", "sha256-crypt",
 * "bcrypt", "md5-crypt", "ssha512", "ssha256", "ssha", "sha512",
 * "sha256", "sha", "md5", "plain", "default" (any case).  Returns 0, or
 * -1 for an unknown name. */
int passwd_scheme_from_name(const char *name, enum passwd_scheme *scheme_r);
/* The scheme the default resolves to in this libcrypt. */
enum passwd_scheme passwd_default_scheme(void);

/* CRAM (Courier's authdaemon "cram-md5", "cram-sha1", "cram-sha256"):
 * checks the client's hex digest of challenge against a clear password
 * (clearpw, may be NULL) or, for cram-md5 only, Courier's precomputed
 * hmac-md5pw (may be NULL).  Returns 1 match, 0 mismatch (including
 * neither secret available), -1 unknown mechanism. */
int passwd_cram_verify(const char *mechanism, const char *challenge,
	size_t challenge_len, const char *digest_hex, const char *clearpw,
	const char *hmac_md5pw);

#endif
