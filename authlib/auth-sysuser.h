/* auth-sysuser.h: system accounts (the passwd database) as auth records,
 * shared by the authpwd and authpam modules. */
#ifndef AUTH_SYSUSER_H
#define AUTH_SYSUSER_H

#include <stddef.h>

#include "auth-module.h"

struct passwd;

/* Fills rec (initialised, empty) from a passwd entry: address and system
 * user name, uid/gid, home, and the full name (the GECOS field up to its
 * first comma).  The password is not copied. */
void auth_sysuser_fill(const struct passwd *pw, struct auth_record *rec);

/* Looks up the system account user.  A name that is empty or contains
 * '@' is never a system account.  Returns 1 found (rec, when not NULL,
 * filled as auth_sysuser_fill does, and with want_password the hash from
 * /etc/passwd or, when readable, /etc/shadow if it is a usable one),
 * 0 no such account, -1 error with the reason written into
 * err[errlen] and *error_r pointing at it. */
int auth_sysuser_lookup(const char *user, struct auth_record *rec,
			bool want_password, char *err, size_t errlen,
			const char **error_r);

/* Calls callback for every account of the passwd database.  Returns
 * AUTH_MODULE_OK, or AUTH_MODULE_TEMPFAIL when a callback failed. */
enum auth_module_result
auth_sysuser_enumerate(auth_enumerate_callback_t *callback, void *context);

#endif
