/* sasl-server.c: server side of SASL PLAIN, LOGIN and CRAM-MD5 as a
 * resumable state machine (see sasl-server.h). */
#include "config.h"
#include "sasl-server.h"
#include "base64.h"
#include "hash.h"
#include "mem.h"
#include "secure.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CRAM_DIGEST_HEX_LEN (2 * HASH_MD5_DIGEST_SIZE)

enum sasl_server_state {
	STATE_NEW,
	STATE_PLAIN_WAIT,	/* sent the empty challenge */
	STATE_LOGIN_USER,	/* sent "Username:" */
	STATE_LOGIN_PASS,	/* sent "Password:" */
	STATE_CRAM_WAIT,	/* sent <random.time@host> */
	STATE_DONE,
	STATE_FAILED,
	STATE_CANCELLED,
};

struct sasl_server {
	enum sasl_mech mech;
	enum sasl_server_state state;
	char *hostname;
	size_t max_field;
	size_t max_response;	/* decoded bytes of one client response */

	struct str challenge;
	struct str decoded;	/* sized so it never reallocates */

	char *authzid, *authcid, *password;
	unsigned char digest[HASH_MD5_DIGEST_SIZE];
	char digest_hex[CRAM_DIGEST_HEX_LEN + 1];
	struct sasl_server_credentials creds;
};

static void wipe_string(char **s)
{
	if (*s != NULL) {
		secure_wipe(*s, strlen(*s));
		x_free(*s);
	}
}

static void wipe_str(struct str *s)
{
	secure_wipe(s->data, s->size);
	str_truncate(s, 0);
}

/* Keeps the characters a host name may have; never empty. */
static char *sanitize_hostname(const char *name)
{
	struct str s;
	char *ret;

	str_init(&s, 64);
	for (const char *p = name != NULL ? name : ""; *p != '\0'; p++) {
		char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_')
			(void)str_append_c(&s, c);
		if (str_len(&s) >= 255)
			break;
	}
	if (str_len(&s) == 0)
		(void)str_append(&s, "localhost");
	ret = xstrdup(str_c(&s));
	str_free(&s);
	return ret;
}

struct sasl_server *sasl_server_create(const char *mech_name,
				       const struct sasl_server_settings *set)
{
	struct sasl_server *server;
	enum sasl_mech mech;
	size_t max_field;

	if (mech_name == NULL || sasl_mech_from_name(mech_name, &mech) < 0)
		return NULL;
	max_field = set != NULL && set->max_field > 0 ? set->max_field
						      : SASL_DEFAULT_MAX_FIELD;
	/* Keep the derived sizes far from overflowing. */
	if (max_field > SIZE_MAX / 8)
		max_field = SIZE_MAX / 8;

	server = xcalloc(1, sizeof(*server));
	server->mech = mech;
	server->state = STATE_NEW;
	server->hostname = sanitize_hostname(set != NULL ? set->hostname
							 : NULL);
	server->max_field = max_field;
	switch (mech) {
	case SASL_MECH_PLAIN:
		server->max_response = 3 * max_field + 2;
		break;
	case SASL_MECH_LOGIN:
		server->max_response = max_field;
		break;
	case SASL_MECH_CRAM_MD5:
		server->max_response = max_field + 1 + CRAM_DIGEST_HEX_LEN;
		break;
	}
	str_init(&server->challenge, 64);
	/* Strict base64 of at most 4 * ceil(max / 3) characters decodes to
	 * at most max + 2 bytes: with room for that and the NUL the buffer
	 * never grows, so no copy of a password is left behind by realloc. */
	str_init(&server->decoded, server->max_response + 3);
	return server;
}

void sasl_server_destroy(struct sasl_server **_server)
{
	struct sasl_server *server = *_server;

	if (server == NULL)
		return;
	*_server = NULL;
	wipe_string(&server->authzid);
	wipe_string(&server->authcid);
	wipe_string(&server->password);
	free(server->hostname);
	wipe_str(&server->decoded);
	str_free(&server->decoded);
	str_free(&server->challenge);
	secure_wipe(server, sizeof(*server));
	free(server);
}

enum sasl_mech sasl_server_mech(const struct sasl_server *server)
{
	return server->mech;
}

static enum sasl_server_status fail(struct sasl_server *server,
				    const char **error_r, const char *error)
{
	server->state = STATE_FAILED;
	wipe_str(&server->decoded);
	*error_r = error;
	return SASL_SERVER_FAILED;
}

static enum sasl_server_status challenge(struct sasl_server *server,
					 enum sasl_server_state next,
					 const char *text)
{
	str_truncate(&server->challenge, 0);
	(void)str_append(&server->challenge, text);
	server->state = next;
	return SASL_SERVER_CHALLENGE;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, surrogates or values past
 * U+10FFFF. */
static bool utf8_valid(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Validates one field and returns a NUL-terminated copy, or NULL with
 * *error_r set. */
static char *take_field(const struct sasl_server *server,
			const unsigned char *p, size_t len, bool identity,
			const char *what_empty, const char **error_r)
{
	if (len == 0 && what_empty != NULL) {
		*error_r = what_empty;
		return NULL;
	}
	if (len > server->max_field) {
		*error_r = "field too long";
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\0' || p[i] == '\r' || p[i] == '\n') {
			*error_r = "NUL, CR or LF in a field";
			return NULL;
		}
	}
	if (identity && !utf8_valid(p, len)) {
		*error_r = "identity is not valid UTF-8";
		return NULL;
	}
	return xmemdup(p, len);
}

static enum sasl_server_status done(struct sasl_server *server)
{
	struct sasl_server_credentials *c = &server->creds;

	memset(c, 0, sizeof(*c));
	c->mech = server->mech;
	c->authzid = server->authzid != NULL ? server->authzid : "";
	c->authcid = server->authcid;
	c->password = server->password;
	if (server->mech == SASL_MECH_CRAM_MD5) {
		c->challenge = str_c(&server->challenge);
		c->digest = server->digest;
		c->digest_hex = server->digest_hex;
	}
	server->state = STATE_DONE;
	wipe_str(&server->decoded);
	return SASL_SERVER_DONE;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static enum sasl_server_status plain_input(struct sasl_server *server,
					   const unsigned char *p, size_t len,
					   const char **error_r)
{
	const unsigned char *nul1, *nul2;
	size_t zlen, clen, plen;
	const char *error = NULL;

	nul1 = memchr(p, '\0', len);
	if (nul1 == NULL)
		return fail(server, error_r, "PLAIN: missing NUL separators");
	nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - p));
	if (nul2 == NULL)
		return fail(server, error_r, "PLAIN: missing second NUL");
	zlen = (size_t)(nul1 - p);
	clen = (size_t)(nul2 - (nul1 + 1));
	plen = len - (size_t)(nul2 + 1 - p);

	server->authzid = take_field(server, p, zlen, true, NULL, &error);
	if (server->authzid == NULL)
		return fail(server, error_r, error);
	server->authcid = take_field(server, nul1 + 1, clen, true,
				     "empty user name", &error);
	if (server->authcid == NULL)
		return fail(server, error_r, error);
	server->password = take_field(server, nul2 + 1, plen, false,
				      "empty password", &error);
	if (server->password == NULL)
		return fail(server, error_r, error);
	return done(server);
}

/* RFC 2195: user SP 32 hex digits; the user name may contain spaces. */
static enum sasl_server_status cram_input(struct sasl_server *server,
					  const unsigned char *p, size_t len,
					  const char **error_r)
{
	const char *error = NULL;
	size_t name_len;

	if (len < CRAM_DIGEST_HEX_LEN + 2 ||
	    p[len - CRAM_DIGEST_HEX_LEN - 1] != ' ')
		return fail(server, error_r,
			    "CRAM-MD5: expected user name, space and digest");
	name_len = len - CRAM_DIGEST_HEX_LEN - 1;
	if (hash_hex_decode((const char *)p + name_len + 1,
			    CRAM_DIGEST_HEX_LEN, server->digest,
			    sizeof(server->digest)) < 0)
		return fail(server, error_r, "CRAM-MD5: digest is not hex");
	server->authcid = take_field(server, p, name_len, true,
				     "empty user name", &error);
	if (server->authcid == NULL)
		return fail(server, error_r, error);
	for (size_t i = 0; i < sizeof(server->digest); i++) {
		static const char hex[] = "0123456789abcdef";

		server->digest_hex[2 * i] = hex[server->digest[i] >> 4];
		server->digest_hex[2 * i + 1] = hex[server->digest[i] & 0x0f];
	}
	server->digest_hex[CRAM_DIGEST_HEX_LEN] = '\0';
	return done(server);
}

static enum sasl_server_status input(struct sasl_server *server,
				     const void *data, size_t len,
				     const char **error_r)
{
	const unsigned char *p = data != NULL ? data : (const unsigned char *)"";
	const char *error = NULL;

	if (len > server->max_response)
		return fail(server, error_r, "response too long");
	switch (server->state) {
	case STATE_PLAIN_WAIT:
		return plain_input(server, p, len, error_r);
	case STATE_LOGIN_USER:
		server->authcid = take_field(server, p, len, true,
					     "empty user name", &error);
		if (server->authcid == NULL)
			return fail(server, error_r, error);
		return challenge(server, STATE_LOGIN_PASS, "Password:");
	case STATE_LOGIN_PASS:
		server->password = take_field(server, p, len, false,
					      "empty password", &error);
		if (server->password == NULL)
			return fail(server, error_r, error);
		return done(server);
	case STATE_CRAM_WAIT:
		return cram_input(server, p, len, error_r);
	case STATE_NEW:
		return fail(server, error_r, "exchange not started");
	case STATE_DONE:
	case STATE_FAILED:
	case STATE_CANCELLED:
		break;
	}
	/* Leave a finished exchange (and its credentials) as it is. */
	*error_r = "exchange already finished";
	return SASL_SERVER_FAILED;
}

static void cram_make_challenge(struct sasl_server *server)
{
	uint64_t r;

	secure_random(&r, sizeof(r));
	str_truncate(&server->challenge, 0);
	(void)str_printfa(&server->challenge, "<%" PRIu64 ".%lld@%s>", r,
			  (long long)time(NULL), server->hostname);
}

enum sasl_server_status sasl_server_start_raw(struct sasl_server *server,
					      bool has_ir, const void *data,
					      size_t len, const char **error_r)
{
	if (server->state != STATE_NEW)
		return fail(server, error_r, "exchange already started");
	switch (server->mech) {
	case SASL_MECH_PLAIN:
		if (!has_ir)
			return challenge(server, STATE_PLAIN_WAIT, "");
		server->state = STATE_PLAIN_WAIT;
		return input(server, data, len, error_r);
	case SASL_MECH_LOGIN:
		/* A client may put the user name in the initial response. */
		server->state = STATE_LOGIN_USER;
		if (!has_ir)
			return challenge(server, STATE_LOGIN_USER, "Username:");
		return input(server, data, len, error_r);
	case SASL_MECH_CRAM_MD5:
		if (has_ir)
			return fail(server, error_r,
				    "CRAM-MD5 takes no initial response");
		cram_make_challenge(server);
		server->state = STATE_CRAM_WAIT;
		return SASL_SERVER_CHALLENGE;
	}
	return fail(server, error_r, "unknown mechanism");
}

static bool is_cancel(const char *text, size_t len)
{
	return len == 1 && text[0] == '*';
}

/* Decodes base64 text into server->decoded; returns false on failure. */
static bool decode(struct sasl_server *server, const char *text, size_t len,
		   const char **error_r)
{
	/* 4 * ceil(max / 3) characters at most: see sasl_server_create. */
	size_t max_chars = (server->max_response / 3 + 1) * 4;

	wipe_str(&server->decoded);
	if (len > max_chars) {
		*error_r = "response too long";
		return false;
	}
	if (base64_decode_strict(&server->decoded, text, len) < 0) {
		wipe_str(&server->decoded);
		*error_r = "invalid base64";
		return false;
	}
	return true;
}

enum sasl_server_status sasl_server_start(struct sasl_server *server,
					  const char *initial_response,
					  size_t len, const char **error_r)
{
	const char *error = NULL;

	if (initial_response == NULL)
		return sasl_server_start_raw(server, false, NULL, 0, error_r);
	if (server->state != STATE_NEW)
		return fail(server, error_r, "exchange already started");
	if (is_cancel(initial_response, len)) {
		server->state = STATE_CANCELLED;
		return SASL_SERVER_CANCELLED;
	}
	if (len == 1 && initial_response[0] == '=')
		return sasl_server_start_raw(server, true, "", 0, error_r);
	if (len == 0)
		return fail(server, error_r,
			    "empty initial response (use \"=\")");
	if (!decode(server, initial_response, len, &error))
		return fail(server, error_r, error);
	return sasl_server_start_raw(server, true, str_c(&server->decoded),
				     str_len(&server->decoded), error_r);
}

enum sasl_server_status sasl_server_step_raw(struct sasl_server *server,
					     const void *data, size_t len,
					     const char **error_r)
{
	return input(server, data, len, error_r);
}

enum sasl_server_status sasl_server_step(struct sasl_server *server,
					 const char *response, size_t len,
					 const char **error_r)
{
	const char *error = NULL;

	if (server->state == STATE_NEW || server->state == STATE_DONE ||
	    server->state == STATE_FAILED || server->state == STATE_CANCELLED)
		return input(server, NULL, 0, error_r);
	if (is_cancel(response, len)) {
		server->state = STATE_CANCELLED;
		wipe_str(&server->decoded);
		return SASL_SERVER_CANCELLED;
	}
	if (!decode(server, response, len, &error))
		return fail(server, error_r, error);
	return input(server, str_c(&server->decoded),
		     str_len(&server->decoded), error_r);
}

const unsigned char *sasl_server_challenge(const struct sasl_server *server,
					   size_t *len_r)
{
	*len_r = str_len(&server->challenge);
	return (const unsigned char *)str_c(&server->challenge);
}

void sasl_server_challenge_base64(const struct sasl_server *server,
				  struct str *dest)
{
	base64_encode(dest, str_c(&server->challenge),
		      str_len(&server->challenge), 0);
}

const struct sasl_server_credentials *
sasl_server_credentials(const struct sasl_server *server)
{
	return server->state == STATE_DONE ? &server->creds : NULL;
}

static bool cram_check(const char *challenge_text, const unsigned char *digest,
		       const char *password)
{
	unsigned char expect[HASH_MD5_DIGEST_SIZE];
	bool ok;

	hmac_digest(HASH_MD5, password, strlen(password), challenge_text,
		    strlen(challenge_text), expect);
	ok = secure_memeq(expect, digest, sizeof(expect));
	secure_wipe(expect, sizeof(expect));
	return ok;
}

static int cram_check_hmac(const char *challenge_text,
			   const unsigned char *digest, const char *hmac_md5pw)
{
	unsigned char state[HMAC_MD5_STATE_SIZE];
	unsigned char expect[HASH_MD5_DIGEST_SIZE];
	int ret;

	if (hmac_md5_state_from_hex(hmac_md5pw, strlen(hmac_md5pw),
				    state) < 0) {
		secure_wipe(state, sizeof(state));
		return -1;
	}
	hmac_md5_from_state(state, challenge_text, strlen(challenge_text),
			    expect);
	ret = secure_memeq(expect, digest, sizeof(expect)) ? 1 : 0;
	secure_wipe(state, sizeof(state));
	secure_wipe(expect, sizeof(expect));
	return ret;
}

bool sasl_server_check_password(const struct sasl_server *server,
				const char *password)
{
	if (server->state != STATE_DONE || password == NULL)
		return false;
	if (server->mech == SASL_MECH_CRAM_MD5)
		return cram_check(str_c(&server->challenge), server->digest,
				  password);
	return secure_streq(server->password, password);
}

int sasl_server_check_hmac_md5(const struct sasl_server *server,
			       const char *hmac_md5pw)
{
	if (server->state != STATE_DONE ||
	    server->mech != SASL_MECH_CRAM_MD5 || hmac_md5pw == NULL)
		return -1;
	return cram_check_hmac(str_c(&server->challenge), server->digest,
			       hmac_md5pw);
}

static bool parse_digest_hex(const char *digest_hex,
			     unsigned char digest_r[HASH_MD5_DIGEST_SIZE])
{
	size_t len = strnlen(digest_hex, CRAM_DIGEST_HEX_LEN + 1);

	return hash_hex_decode(digest_hex, len, digest_r,
			       HASH_MD5_DIGEST_SIZE) == 0;
}

bool sasl_cram_md5_verify_password(const char *challenge_text,
				   const char *digest_hex,
				   const char *password)
{
	unsigned char digest[HASH_MD5_DIGEST_SIZE];

	if (!parse_digest_hex(digest_hex, digest))
		return false;
	return cram_check(challenge_text, digest, password);
}

int sasl_cram_md5_verify_hmac(const char *challenge_text,
			      const char *digest_hex, const char *hmac_md5pw)
{
	unsigned char digest[HASH_MD5_DIGEST_SIZE];
	unsigned char state[HMAC_MD5_STATE_SIZE];

	if (hmac_md5_state_from_hex(hmac_md5pw, strlen(hmac_md5pw),
				    state) < 0)
		return -1;
	secure_wipe(state, sizeof(state));
	if (!parse_digest_hex(digest_hex, digest))
		return 0;
	return cram_check_hmac(challenge_text, digest, hmac_md5pw);
}

void sasl_server_mechs(struct str *dest, bool plaintext_ok)
{
	(void)str_append(dest, plaintext_ok ? "PLAIN LOGIN CRAM-MD5"
					    : "CRAM-MD5");
}
