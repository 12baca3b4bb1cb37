/* passwd.c: password schemes (crypt(3), {SHA}/{SSHA}... and CRAM). */
#include "config.h"
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "hash.h"
#include "mem.h"
#include "passwd.h"
#include "secure.h"

#define SSHA_SALT_LEN 8

static const struct {
	const char *name;
	enum passwd_scheme scheme;
} scheme_names[] = {
	{"default", PASSWD_SCHEME_DEFAULT},
	{"yescrypt", PASSWD_SCHEME_YESCRYPT},
	{"sha512-crypt", PASSWD_SCHEME_SHA512_CRYPT},
	{"sha256-crypt", PASSWD_SCHEME_SHA256_CRYPT},
	{"bcrypt", PASSWD_SCHEME_BCRYPT},
	{"md5-crypt", PASSWD_SCHEME_MD5_CRYPT},
	{"ssha512", PASSWD_SCHEME_SSHA512},
	{"ssha256", PASSWD_SCHEME_SSHA256},
	{"ssha", PASSWD_SCHEME_SSHA},
	{"sha512", PASSWD_SCHEME_SHA512},
	{"sha256", PASSWD_SCHEME_SHA256},
	{"sha", PASSWD_SCHEME_SHA},
	{"md5", PASSWD_SCHEME_MD5},
	{"plain", PASSWD_SCHEME_PLAIN},
};

/* Braced schemes: name, digest, salted, encoding (0 base64, 1 hex, 2 clear) */
static const struct {
	const char *name;
	enum hash_algo algo;
	bool salted;
	int encoding;
	enum passwd_scheme scheme;
} braced[] = {
	{"MD5", HASH_MD5, false, 0, PASSWD_SCHEME_MD5},
	{"MD5RAW", HASH_MD5, false, 1, PASSWD_SCHEME_DEFAULT},
	/* OpenLDAP's salted MD5 (slappasswd -h {SMD5}): verified, never
	 * made (a changed password gets the default scheme). */
	{"SMD5", HASH_MD5, true, 0, PASSWD_SCHEME_DEFAULT},
	{"SHA", HASH_SHA1, false, 0, PASSWD_SCHEME_SHA},
	{"SHA1", HASH_SHA1, false, 0, PASSWD_SCHEME_SHA},
	{"SSHA", HASH_SHA1, true, 0, PASSWD_SCHEME_SSHA},
	{"SHA256", HASH_SHA256, false, 0, PASSWD_SCHEME_SHA256},
	{"SSHA256", HASH_SHA256, true, 0, PASSWD_SCHEME_SSHA256},
	{"SHA512", HASH_SHA512, false, 0, PASSWD_SCHEME_SHA512},
	{"SSHA512", HASH_SHA512, true, 0, PASSWD_SCHEME_SSHA512},
	{"PLAIN", HASH_MD5, false, 2, PASSWD_SCHEME_PLAIN},
	{"CLEARTEXT", HASH_MD5, false, 2, PASSWD_SCHEME_PLAIN},
};

int passwd_scheme_from_name(const char *name, enum passwd_scheme *scheme_r)
{
	for (size_t i = 0; i < N_ELEMENTS(scheme_names); i++) {
		if (strcasecmp(name, scheme_names[i].name) == 0) {
			*scheme_r = scheme_names[i].scheme;
			return 0;
		}
	}
	return -1;
}

/* crypt_rn into a heap crypt_data (it is large); returns 1 match, 0
 * mismatch, -1 when crypt cannot use the setting. */
static int crypt_verify(const char *password, const char *stored)
{
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	int ret;
	const char *out = crypt_rn(password, stored, data, sizeof(*data));

	if (out == NULL || out[0] == '*')
		ret = -1;
	else
		ret = secure_streq(out, stored) ? 1 : 0;
	secure_wipe(data, sizeof(*data));
	free(data);
	return ret;
}

/* Parses "{NAME}rest": returns the index in braced[] or -1 (unknown
 * name, *is_crypt_r set for {CRYPT}); *rest_r after the '}'. */
static int braced_scheme(
	const char *stored, const char **rest_r, bool *is_crypt_r)
{
	const char *end = strchr(stored, '}');
	*is_crypt_r = false;
	if (stored[0] != '{' || end == NULL)
		return -1;
	size_t len = (size_t)(end - stored - 1);
	*rest_r = end + 1;
	if (len == 5 && strncasecmp(stored + 1, "CRYPT", 5) == 0) {
		*is_crypt_r = true;
		return -1;
	}
	for (size_t i = 0; i < N_ELEMENTS(braced); i++) {
		if (strlen(braced[i].name) == len &&
			strncasecmp(stored + 1, braced[i].name, len) == 0)
			return (int)i;
	}
	return -1;
}

static int digest_verify(const char *password, int idx, const char *encoded)
{
	enum hash_algo algo = braced[idx].algo;
	size_t dlen = hash_digest_size(algo);
	unsigned char digest[HASH_MAX_DIGEST_SIZE];
	struct str decoded;
	int ret = -1;

	str_init(&decoded, 128);
	if (braced[idx].encoding == 1) {
		if (hash_hex_decode(encoded, strlen(encoded), digest, dlen) < 0)
			goto out;
		str_append_n(&decoded, digest, dlen);
	} else if (base64_decode_strict(&decoded, encoded, strlen(encoded)) <
		   0) {
		goto out;
	}
	if (braced[idx].salted ? decoded.len <= dlen : decoded.len != dlen)
		goto out;
	struct hash_ctx *ctx = hash_create(algo);
	hash_update(ctx, password, strlen(password));
	if (braced[idx].salted)
		hash_update(ctx, decoded.data + dlen, decoded.len - dlen);
	hash_final(ctx, digest);
	hash_destroy(&ctx);
	ret = secure_memeq(digest, decoded.data, dlen) ? 1 : 0;
out:
	secure_wipe(digest, sizeof(digest));
	secure_wipe(decoded.data, decoded.size);
	str_free(&decoded);
	return ret;
}

int passwd_verify(const char *password, const char *stored)
{
	const char *rest;
	bool is_crypt;
	int idx;

	if (stored == NULL || stored[0] == '\0' || password == NULL)
		return -1;
	if (stored[0] != '{')
		return crypt_verify(password, stored);
	idx = braced_scheme(stored, &rest, &is_crypt);
	if (is_crypt)
		return rest[0] == '\0' ? -1 : crypt_verify(password, rest);
	if (idx < 0)
		return -1;
	if (braced[idx].encoding == 2)
		return secure_streq(password, rest) ? 1 : 0;
	return digest_verify(password, idx, rest);
}

enum passwd_scheme passwd_default_scheme(void)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	static int have_yescrypt = -1;

	if (have_yescrypt < 0) {
		have_yescrypt = crypt_gensalt_rn("$y$", 0, NULL, 0, salt,
					sizeof(salt)) != NULL &&
				salt[0] == '$';
	}
	return have_yescrypt ? PASSWD_SCHEME_YESCRYPT
			     : PASSWD_SCHEME_SHA512_CRYPT;
}

enum passwd_scheme passwd_scheme_of(const char *stored)
{
	const char *rest;
	bool is_crypt;
	int idx;

	if (stored == NULL)
		return PASSWD_SCHEME_DEFAULT;
	if (stored[0] == '{') {
		idx = braced_scheme(stored, &rest, &is_crypt);
		if (is_crypt)
			stored = rest;
		else
			return idx < 0 ? PASSWD_SCHEME_DEFAULT
				       : braced[idx].scheme;
	}
	if (str_begins_with(stored, "$y$"))
		return PASSWD_SCHEME_YESCRYPT;
	if (str_begins_with(stored, "$6$"))
		return PASSWD_SCHEME_SHA512_CRYPT;
	if (str_begins_with(stored, "$5$"))
		return PASSWD_SCHEME_SHA256_CRYPT;
	if (str_begins_with(stored, "$2"))
		return PASSWD_SCHEME_BCRYPT;
	if (str_begins_with(stored, "$1$"))
		return PASSWD_SCHEME_MD5_CRYPT;
	return PASSWD_SCHEME_DEFAULT;
}

static int crypt_hash(const char *password, const char *prefix,
	struct str *dest, const char **error_r)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	const char *out;
	int ret = 0;

	if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)) == NULL ||
		salt[0] == '*') {
		*error_r = "this libcrypt does not implement the scheme";
		return -1;
	}
	data = xcalloc(1, sizeof(*data));
	out = crypt_rn(password, salt, data, sizeof(*data));
	if (out == NULL || out[0] == '*') {
		*error_r = "crypt failed";
		ret = -1;
	} else {
		str_append(dest, out);
	}
	secure_wipe(data, sizeof(*data));
	free(data);
	return ret;
}

static void digest_hash(const char *password, const char *name,
	enum hash_algo algo, bool salted, struct str *dest)
{
	unsigned char buf[HASH_MAX_DIGEST_SIZE + SSHA_SALT_LEN];
	size_t dlen = hash_digest_size(algo);
	size_t len = dlen;
	struct hash_ctx *ctx = hash_create(algo);

	hash_update(ctx, password, strlen(password));
	if (salted) {
		secure_random(buf + dlen, SSHA_SALT_LEN);
		hash_update(ctx, buf + dlen, SSHA_SALT_LEN);
		len += SSHA_SALT_LEN;
	}
	hash_final(ctx, buf);
	hash_destroy(&ctx);
	str_printfa(dest, "{%s}", name);
	hash_base64_append(dest, buf, len);
	secure_wipe(buf, sizeof(buf));
}

int passwd_hash(const char *password, enum passwd_scheme scheme,
	struct str *dest, const char **error_r)
{
	if (scheme == PASSWD_SCHEME_DEFAULT)
		scheme = passwd_default_scheme();
	switch (scheme) {
	case PASSWD_SCHEME_DEFAULT:
	case PASSWD_SCHEME_YESCRYPT:
		return crypt_hash(password, "$y$", dest, error_r);
	case PASSWD_SCHEME_SHA512_CRYPT:
		return crypt_hash(password, "$6$", dest, error_r);
	case PASSWD_SCHEME_SHA256_CRYPT:
		return crypt_hash(password, "$5$", dest, error_r);
	case PASSWD_SCHEME_BCRYPT:
		return crypt_hash(password, "$2b$", dest, error_r);
	case PASSWD_SCHEME_MD5_CRYPT:
		return crypt_hash(password, "$1$", dest, error_r);
	case PASSWD_SCHEME_SSHA512:
		digest_hash(password, "SSHA512", HASH_SHA512, true, dest);
		return 0;
	case PASSWD_SCHEME_SSHA256:
		digest_hash(password, "SSHA256", HASH_SHA256, true, dest);
		return 0;
	case PASSWD_SCHEME_SSHA:
		digest_hash(password, "SSHA", HASH_SHA1, true, dest);
		return 0;
	case PASSWD_SCHEME_SHA512:
		digest_hash(password, "SHA512", HASH_SHA512, false, dest);
		return 0;
	case PASSWD_SCHEME_SHA256:
		digest_hash(password, "SHA256", HASH_SHA256, false, dest);
		return 0;
	case PASSWD_SCHEME_SHA:
		digest_hash(password, "SHA", HASH_SHA1, false, dest);
		return 0;
	case PASSWD_SCHEME_MD5:
		digest_hash(password, "MD5", HASH_MD5, false, dest);
		return 0;
	case PASSWD_SCHEME_PLAIN:
		str_printfa(dest, "{PLAIN}%s", password);
		return 0;
	}
	*error_r = "unknown scheme";
	return -1;
}

int passwd_cram_verify(const char *mechanism, const char *challenge,
	size_t challenge_len, const char *digest_hex, const char *clearpw,
	const char *hmac_md5pw)
{
	enum hash_algo algo;
	unsigned char want[HASH_MAX_DIGEST_SIZE], got[HASH_MAX_DIGEST_SIZE];
	size_t dlen;
	int ret = 0;

	if (strcasecmp(mechanism, "cram-md5") == 0)
		algo = HASH_MD5;
	else if (strcasecmp(mechanism, "cram-sha1") == 0)
		algo = HASH_SHA1;
	else if (strcasecmp(mechanism, "cram-sha256") == 0)
		algo = HASH_SHA256;
	else
		return -1;
	dlen = hash_digest_size(algo);
	if (digest_hex == NULL ||
		hash_hex_decode(digest_hex, strlen(digest_hex), got, dlen) < 0)
		return 0;
	if (clearpw != NULL) {
		hmac_digest(algo, clearpw, strlen(clearpw), challenge,
			challenge_len, want);
		ret = secure_memeq(want, got, dlen) ? 1 : 0;
	} else if (hmac_md5pw != NULL && algo == HASH_MD5) {
		unsigned char state[HMAC_MD5_STATE_SIZE];
		if (hmac_md5_state_from_hex(
			    hmac_md5pw, strlen(hmac_md5pw), state) == 0) {
			hmac_md5_from_state(
				state, challenge, challenge_len, want);
			ret = secure_memeq(want, got, dlen) ? 1 : 0;
		}
		secure_wipe(state, sizeof(state));
	}
	secure_wipe(want, sizeof(want));
	return ret;
}
