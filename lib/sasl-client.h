/* sasl-client.h: the client side of SASL PLAIN, LOGIN and CRAM-MD5, for
 * the ESMTP client's AUTH to a smarthost (and any other client of ours).
 *
 *	mech = sasl_client_choose_mech("LOGIN PLAIN CRAM-MD5", tls, &m);
 *	client = sasl_client_create(sasl_mech_name(m), NULL, user, pass,
 *				    &error);
 *	if (sasl_client_initial_response(client, line) > 0)
 *		send "AUTH PLAIN <line>"   (else "AUTH LOGIN")
 *	while the server answers 334 <text>:
 *		sasl_client_step(client, text, len, line, &error);
 *		send line
 *	sasl_client_destroy(&client);
 *
 * Like the server, the client speaks base64: it takes the server's
 * challenge text as it came (without "334 " or "+ ") and appends base64
 * responses, decoding strictly.  The password is wiped on destroy. */
#ifndef SASL_CLIENT_H
#define SASL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include "sasl.h"
#include "str.h"

/* Longest server challenge we accept, decoded, in bytes. */
#define SASL_CLIENT_MAX_CHALLENGE 2048

struct sasl_client;

/* A client for mech_name (case-insensitive), authenticating as authcid with
 * password, asking to act as authzid (NULL or "": as authcid; only PLAIN
 * can carry it).  Returns NULL with *error_r set for an unknown mechanism,
 * an empty user name or password, a field longer than
 * SASL_DEFAULT_MAX_FIELD, or an authzid with a mechanism that cannot send
 * it.  The strings are copied. */
struct sasl_client *sasl_client_create(const char *mech_name,
				       const char *authzid,
				       const char *authcid,
				       const char *password,
				       const char **error_r);
/* Frees the client and wipes the password; sets *client to NULL. */
void sasl_client_destroy(struct sasl_client **client);
enum sasl_mech sasl_client_mech(const struct sasl_client *client);

/* Appends the initial response in base64 to dest (which then holds the
 * password: wipe it after use) and returns 1 for PLAIN;
 * returns 0 (appending nothing) for LOGIN and CRAM-MD5, which wait for the
 * server's first challenge.  Call it, if at all, before any step. */
int sasl_client_initial_response(struct sasl_client *client,
				 struct str *dest);

/* Answers the server's challenge (base64 text): appends the response in
 * base64 to dest and returns 0, or returns -1 with *error_r set when the
 * challenge is malformed (bad base64, too long, an empty CRAM-MD5
 * challenge) or the mechanism has nothing more to say.  LOGIN answers the
 * first challenge with the user name and the second with the password,
 * whatever the prompts say.  For PLAIN and LOGIN dest then holds the
 * password (in base64): wipe it (secure_wipe) once it is sent. */
int sasl_client_step(struct sasl_client *client, const char *challenge,
		     size_t len, struct str *dest, const char **error_r);

/* Chooses the best mechanism from a server's list (space-separated, as in
 * "250-AUTH LOGIN PLAIN CRAM-MD5"; case-insensitive; unknown names are
 * skipped).  Preference: CRAM-MD5 (never reveals the password), then
 * PLAIN, then LOGIN; PLAIN and LOGIN only when plaintext_ok (the
 * connection is TLS-protected or clear passwords are allowed).  Returns 0,
 * or -1 if none is usable. */
int sasl_client_choose_mech(const char *advertised, bool plaintext_ok,
			    enum sasl_mech *mech_r);

#endif
