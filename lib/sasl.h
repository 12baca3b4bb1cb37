/* sasl.h: definitions shared by the SASL server (lib/sasl-server.h) and
 * client (lib/sasl-client.h): the mechanisms and their names.
 *
 * Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and
 * CRAM-MD5 (RFC 2195).  PLAIN and LOGIN carry the password itself, so the
 * protocols offer and use them only over TLS (or where the administrator
 * allows clear passwords); CRAM-MD5 never sends the password.  See
 * doc/sasl.md. */
#ifndef SASL_H
#define SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

enum sasl_mech {
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
	SASL_MECH_CRAM_MD5,
};
#define SASL_MECH_COUNT 3

/* Default limit on an authzid, authcid or password, in bytes. */
#define SASL_DEFAULT_MAX_FIELD 1024

/* The registered name: "PLAIN", "LOGIN", "CRAM-MD5" (NULL if invalid). */
static inline const char *sasl_mech_name(enum sasl_mech mech)
{
	switch (mech) {
	case SASL_MECH_PLAIN:
		return "PLAIN";
	case SASL_MECH_LOGIN:
		return "LOGIN";
	case SASL_MECH_CRAM_MD5:
		return "CRAM-MD5";
	}
	return NULL;
}

/* Looks a mechanism name up, case-insensitively (SASL names are
 * case-insensitive in IMAP, POP3 and SMTP).  Returns 0, or -1 if the name
 * is not one we implement. */
static inline int sasl_mech_from_name(const char *name, enum sasl_mech *mech_r)
{
	for (int m = 0; m < SASL_MECH_COUNT; m++) {
		if (strcasecmp(name, sasl_mech_name((enum sasl_mech)m)) == 0) {
			*mech_r = (enum sasl_mech)m;
			return 0;
		}
	}
	return -1;
}

/* True for the mechanisms that send the password itself (PLAIN, LOGIN):
 * offer and use them only on a TLS-protected connection unless the
 * administrator allows clear passwords. */
static inline bool sasl_mech_sends_password(enum sasl_mech mech)
{
	return mech == SASL_MECH_PLAIN || mech == SASL_MECH_LOGIN;
}

#endif
