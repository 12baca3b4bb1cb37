/* authclient.h: the client library every service links to ask authdaemond
 * who an account is and whether a password is right.
 *
 * Each call opens a connection to authdaemond's socket (authdaemonvar in
 * the instance's etc/authdaemonrc, default var/run/authdaemon/socket),
 * sends one request of Courier's authdaemon protocol and reads the reply.
 * The calls BLOCK, for at most the timeout (AUTH_TIMEOUT of authdaemonrc
 * plus 5 seconds, or auth_client_set_timeout()): a service with an event
 * loop calls them from a helper process or thread, or accepts the wait
 * (authdaemond answers from memory-mapped userdb in well under a
 * millisecond; the slow backends wait in authdaemond's workers).  The
 * calls are thread-safe: several threads may ask at once (each call has
 * its own connection), e.g. esmtpd's RCPT lookups in its worker pool.
 *
 * Results: 1 success / 0 rejected (unknown account, wrong password, a
 * disabled service, too many failures) / -1 temporary failure (daemon not
 * running, backend down, time budget exceeded: the service says "try
 * again later", never "wrong password").  *error_r is static text for the
 * log; it never contains the password. */
#ifndef AUTHCLIENT_H
#define AUTHCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "auth-record.h"

struct sasl_server;

/* Overrides the socket path (NULL: back to authdaemonrc's). */
void auth_client_set_socket(const char *path);
/* Overrides the timeout in milliseconds (0: back to the default). */
void auth_client_set_timeout(unsigned int msecs);
/* Forgets the cached settings (after COURIER_INSTANCE changed). */
void auth_client_reset(void);

/* Login with a password for service ("imap", "pop3", "esmtp", "webmail",
 * "login"...).  remote_ip (may be NULL) is the client's address, for the
 * daemon's throttling.  On 1, *rec_r (initialised here) holds the
 * account; the caller frees it with auth_record_free(). */
int auth_login(const char *service, const char *user, const char *password,
	const char *remote_ip, struct auth_record *rec_r, const char **error_r);

/* Looks an account up without a password (delivery): 1 and *rec_r, 0 when
 * there is no such account, -1 temporary. */
int auth_lookup(const char *service, const char *user,
	struct auth_record *rec_r, const char **error_r);

/* CRAM: mechanism "cram-md5", "cram-sha1" or "cram-sha256"; challenge is
 * the raw challenge sent (challenge_len bytes); user and digest_hex what
 * the client answered. */
int auth_cram(const char *service, const char *mechanism, const void *challenge,
	size_t challenge_len, const char *user, const char *digest_hex,
	const char *remote_ip, struct auth_record *rec_r, const char **error_r);

/* After a lib/sasl-server exchange returned SASL_SERVER_DONE: checks its
 * credentials with authdaemond (PLAIN and LOGIN as a login, CRAM-MD5 as
 * cram-md5).  A PLAIN authzid other than "" or the authcid is rejected
 * (0): authlib has no proxy authorization. */
int auth_sasl(const char *service, const struct sasl_server *server,
	const char *remote_ip, struct auth_record *rec_r, const char **error_r);

/* Changes a password: 1 changed, 0 refused (wrong old password, no module
 * can change it), -1 temporary. */
int auth_passwd(const char *service, const char *user, const char *old_password,
	const char *new_password, const char **error_r);

/* Lists every account: callback(module, name, uid, gid, home, maildir,
 * options, context) for each line of the ENUMERATE reply ("" for absent
 * fields).  callback returns 0 to go on, -1 to stop.  Returns 1 when the
 * whole list was read, -1 on a failure or when stopped. */
typedef int auth_enumerate_callback_fn(const char *module, const char *name,
	unsigned long uid, unsigned long gid, const char *home,
	const char *maildir, const char *options, void *context);
int auth_enumerate(auth_enumerate_callback_fn *callback, void *context,
	const char **error_r);

#endif
