/* sasl-server.h: the server side of SASL PLAIN, LOGIN and CRAM-MD5, as a
 * resumable state machine independent of the protocol framing.
 *
 * One struct sasl_server per AUTH/AUTHENTICATE exchange:
 *
 *	server = sasl_server_create(mech_name, &settings);   NULL: unknown
 *	status = sasl_server_start(server, ir, ir_len, &error);
 *	while (status == SASL_SERVER_CHALLENGE) {
 *		send sasl_server_challenge_base64() ("334 ..." / "+ ...")
 *		read the client's line
 *		status = sasl_server_step(server, line, line_len, &error);
 *	}
 *	DONE: check sasl_server_credentials() (authlib), for instance with
 *	      sasl_server_check_password() or sasl_server_check_hmac_md5();
 *	CANCELLED: the client sent "*";  FAILED: malformed, error says why.
 *	sasl_server_destroy(&server);
 *
 * Base64 is done here, for every protocol: the caller passes the client's
 * line as it came (without CRLF and without the protocol's own framing),
 * and sends the challenge base64-encoded.  Decoding is strict (no
 * whitespace, correct padding).  The "_raw" variants take decoded bytes for
 * a caller that has its own encoding.
 *
 * Limits: each of authzid, authcid and password is at most max_field bytes
 * (a longer one fails), so a client response is bounded before it is even
 * decoded.  Identities must be UTF-8 and no field may contain NUL, CR or LF
 * (they travel on to authlib in line-based requests).  Passwords and the
 * decoded responses are wiped when the session is destroyed; nothing here
 * logs, and error strings never contain client data. */
#ifndef SASL_SERVER_H
#define SASL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include "sasl.h"
#include "str.h"

struct sasl_server_settings {
	/* Host name in the CRAM-MD5 challenge <random.time@hostname>; NULL
	 * or empty gives "localhost".  Only letters, digits, '.', '-' and
	 * '_' are kept. */
	const char *hostname;
	/* Longest authzid, authcid or password in bytes; 0 gives
	 * SASL_DEFAULT_MAX_FIELD. */
	size_t max_field;
};

enum sasl_server_status {
	/* Malformed or out-of-order input; the exchange is over. */
	SASL_SERVER_FAILED = -1,
	/* Send sasl_server_challenge*() and pass the reply to step(). */
	SASL_SERVER_CHALLENGE = 0,
	/* The client has said everything: sasl_server_credentials(). */
	SASL_SERVER_DONE = 1,
	/* The client sent "*"; the exchange is over. */
	SASL_SERVER_CANCELLED = 2,
};

struct sasl_server_credentials {
	enum sasl_mech mech;
	/* Requested authorization identity (PLAIN only); "" when none,
	 * meaning "the same as authcid". */
	const char *authzid;
	/* Authentication identity (user name); never empty. */
	const char *authcid;
	/* PLAIN and LOGIN: the password (never empty); NULL for CRAM-MD5. */
	const char *password;
	/* CRAM-MD5: the challenge that was sent, and the client's digest
	 * (16 bytes, and as 32 lowercase hex digits); NULL otherwise. */
	const char *challenge;
	const unsigned char *digest;
	const char *digest_hex;
};

struct sasl_server;

/* A session for the mechanism named mech_name (case-insensitive), or NULL
 * if we do not implement it (the protocol's "unrecognized mechanism"
 * reply: SMTP 504, IMAP NO).  settings may be NULL for the defaults; they
 * are copied. */
struct sasl_server *sasl_server_create(const char *mech_name,
				       const struct sasl_server_settings *set);
/* Frees the session, wiping passwords and buffers; sets *server to NULL.
 * NULL is harmless. */
void sasl_server_destroy(struct sasl_server **server);
enum sasl_mech sasl_server_mech(const struct sasl_server *server);

/* Starts the exchange.  initial_response is NULL when the client sent
 * none, else its text (SASL-IR, RFC 4959; SMTP AUTH, RFC 4954): base64,
 * with "=" meaning an empty response; "*" cancels.  CRAM-MD5 takes no
 * initial response (the server speaks first).  Call exactly once. */
enum sasl_server_status sasl_server_start(struct sasl_server *server,
					  const char *initial_response,
					  size_t len, const char **error_r);
/* The same with an already decoded initial response (has_ir false: none). */
enum sasl_server_status sasl_server_start_raw(struct sasl_server *server,
					      bool has_ir, const void *data,
					      size_t len, const char **error_r);

/* Feeds the client's reply to the last challenge: base64 text, or "*" to
 * cancel.  An empty line is an empty response.  Once the exchange is over
 * (DONE, FAILED, CANCELLED) further calls return SASL_SERVER_FAILED and
 * change nothing. */
enum sasl_server_status sasl_server_step(struct sasl_server *server,
					 const char *response, size_t len,
					 const char **error_r);
/* The same with decoded bytes (no cancel: the caller handles it). */
enum sasl_server_status sasl_server_step_raw(struct sasl_server *server,
					     const void *data, size_t len,
					     const char **error_r);

/* The challenge to send after SASL_SERVER_CHALLENGE: raw bytes (valid
 * until the next call on server), or appended to dest in base64 (an empty
 * challenge appends nothing). */
const unsigned char *sasl_server_challenge(const struct sasl_server *server,
					   size_t *len_r);
void sasl_server_challenge_base64(const struct sasl_server *server,
				  struct str *dest);

/* After SASL_SERVER_DONE: what the client said, owned by server; NULL
 * before that. */
const struct sasl_server_credentials *
sasl_server_credentials(const struct sasl_server *server);

/* Checks the credentials against the account's clear password, timing-safe:
 * PLAIN and LOGIN compare passwords, CRAM-MD5 recomputes the digest.
 * False too when the exchange is not DONE. */
bool sasl_server_check_password(const struct sasl_server *server,
				const char *password);
/* CRAM-MD5 with a precomputed HMAC-MD5 key (Courier's hmac-md5pw, see
 * hash.h).  Returns 1 on a match, 0 on a mismatch, -1 if the session is
 * not a finished CRAM-MD5 exchange or hmac_md5pw is malformed. */
int sasl_server_check_hmac_md5(const struct sasl_server *server,
			       const char *hmac_md5pw);

/* The same checks without a session (for authlib, which receives the
 * challenge and the response from a front end).  digest_hex is the
 * client's 32 hex digits (either case); anything else does not match. */
bool sasl_cram_md5_verify_password(const char *challenge,
				   const char *digest_hex,
				   const char *password);
/* Returns 1 match, 0 mismatch, -1 malformed hmac_md5pw. */
int sasl_cram_md5_verify_hmac(const char *challenge, const char *digest_hex,
			      const char *hmac_md5pw);

/* Appends the mechanisms to advertise, space-separated: all of them when
 * plaintext_ok (TLS is active or clear passwords are allowed), else
 * only CRAM-MD5. */
void sasl_server_mechs(struct str *dest, bool plaintext_ok);

#endif
