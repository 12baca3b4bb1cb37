/* auth-module.h: the interface between authdaemond and its backend modules
 * (userdb, pwd, PAM, LDAP, MySQL, PostgreSQL).
 *
 * PROCESS MODEL.  authdaemond pre-forks `daemons` worker processes (from
 * authdaemonrc); each worker serves one request at a time, so a module's
 * functions may BLOCK (a SQL query, an LDAP bind, a PAM conversation):
 * other workers go on serving, and no server's event loop ever waits on a
 * backend.  Every worker calls init() for each module of authmodulelist
 * after it was forked (so each worker has its own connections), then
 * serves requests, then calls deinit() when it exits.
 *
 * TIME BUDGET.  Each request has a deadline (auth_request_remaining_msecs);
 * a module should bound its own network waits by it (connect and query
 * timeouts) and return AUTH_MODULE_TEMPFAIL when it runs out.  A module
 * that overruns anyway is not trusted to come back: the worker is ended
 * by a watchdog, the client sees a temporary failure (Courier's "closed
 * without a reply") and a fresh worker replaces it.  A timeout is never
 * reported as a wrong password.
 *
 * RECONNECTING.  A module whose server went away returns TEMPFAIL for the
 * request in progress and reconnects on a later call (keep the connection
 * in the module's state, drop it on an error, open it again lazily).
 *
 * RESULTS (Courier's rule: "negative = try next, positive = tempfail").
 * Modules are tried in authmodulelist order:
 *	AUTH_MODULE_OK        found (lookup) / authenticated: stop, succeed;
 *	AUTH_MODULE_NOTFOUND  not this module's account, or (authenticate)
 *	                      a wrong password: try the next module;
 *	AUTH_MODULE_TEMPFAIL  the backend cannot answer now: stop, and the
 *	                      client gets a temporary failure.
 * When every module said NOTFOUND the client gets "FAIL".
 *
 * PASSWORDS.  A module that can return the stored password (userdb, SQL,
 * LDAP without bind) leaves authenticate NULL and puts it in the record
 * (passwd: any scheme of passwd.h; clearpasswd; hmac_md5pw for CRAM-MD5):
 * authdaemond then verifies it, timing-safe, and does CRAM itself.  A
 * module that can only check a password (PAM, LDAP bind) implements
 * authenticate.  A module never logs a password, not even in debug mode,
 * and never puts one in an error string.
 *
 * STRINGS.  req->user is at most AUTH_MAX_USER_LEN bytes, never contains
 * NUL, CR, LF or TAB, and is otherwise ANY bytes: quote or escape it for
 * SQL (parameters or the client's escaping) and LDAP filters (RFC 4515)
 * yourself.  Error strings returned in *error_r are static or owned by the
 * module until its next call; they are logged by the daemon and never sent
 * to the client.
 *
 * ADDING A MODULE.  Define `const struct auth_module_def auth_module_NAME`
 * in authlib/mod-NAME.c, add the source to authlib/backends.mk under the
 * configure conditional (HAVE_PAM, HAVE_LDAP, HAVE_MYSQL, HAVE_PGSQL), and
 * add -DAUTHLIB_WITH_NAME to AUTHLIB_MODULE_DEFS there: the registry
 * (auth_module_find) lists it when that macro is defined. */
#ifndef AUTH_MODULE_H
#define AUTH_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth-record.h"
#include "config-env.h"

enum auth_module_result {
	AUTH_MODULE_TEMPFAIL = -1,
	AUTH_MODULE_NOTFOUND = 0,
	AUTH_MODULE_OK = 1,
};

/* One request, as the daemon received it. */
struct auth_request {
	/* "imap", "pop3", "esmtp", "webmail", "login", "courier"...: the
	 * client's service name (lowercase ASCII, no blanks), as Courier's
	 * clients send it.  Used for per-service passwords (imappw...) and
	 * PAM service names. */
	const char *service;
	/* The login name as the client gave it (see STRINGS above). */
	const char *user;
	/* The client's address (the TCPREMOTEIP preamble), or NULL. */
	const char *remote_ip;
	/* CLOCK_MONOTONIC time by which the request must be answered. */
	struct timespec deadline;
	/* DEBUG_LOGIN from authdaemonrc (0 or 1): log what is looked up, in
	 * info lines, never a password. */
	int debug;
};

/* Milliseconds left before req's deadline (0 when it has passed). */
static inline long auth_request_remaining_msecs(const struct auth_request *req)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(req->deadline.tv_sec - now.tv_sec) * 1000 +
		       (req->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (long)ms : 0;
}

/* A module instance: a module allocates its own state with this struct as
 * its FIRST member and returns a pointer to it from init(). */
struct auth_module {
	const struct auth_module_def *def;
};

/* Called by enumerate() for each account (rec is valid only during the
 * call; the daemon writes it out).  Returns 0 to go on, -1 to stop (the
 * client went away): enumerate() then returns AUTH_MODULE_TEMPFAIL. */
typedef int auth_enumerate_callback_t(
	const struct auth_record *rec, void *context);

struct auth_module_def {
	/* Name in authmodulelist, as Courier names it: "authuserdb",
	 * "authpwd", "authpam", "authldap", "authmysql", "authpgsql". */
	const char *name;
	/* Its settings file in etc/ ("authldaprc", "authmysqlrc",
	 * "authpgsqlrc"), or NULL for none. */
	const char *config_file;

	/* Starts an instance in a worker process.  config_path is the full
	 * path of config_file in this instance (NULL when config_file is
	 * NULL); authdaemonrc is the daemon's own settings (for modules that
	 * read extra names from it), valid for the module's life.  Returns
	 * 0 and *mod_r, or -1 with *error_r (the daemon logs it and treats
	 * every request to this module as TEMPFAIL until the worker is
	 * replaced).  May block (connect to its server) or connect lazily. */
	int (*init)(const struct auth_module_def *def, const char *config_path,
		const struct config_env *authdaemonrc,
		struct auth_module **mod_r, const char **error_r);
	/* Closes connections and frees the instance; sets *mod to NULL. */
	void (*deinit)(struct auth_module **mod);

	/* Looks req->user up (for req->service).  On AUTH_MODULE_OK fills
	 * *rec_r (initialised by the caller): address, home, uid/gid or
	 * sysusername, and what else the backend has, including passwd /
	 * clearpasswd / hmac_md5pw for the service when the module has no
	 * authenticate().  Required. */
	enum auth_module_result (*lookup)(struct auth_module *mod,
		const struct auth_request *req, struct auth_record *rec_r,
		const char **error_r);

	/* Optional: checks password for req->user itself (PAM, LDAP bind)
	 * and fills *rec_r on AUTH_MODULE_OK.  NOTFOUND for an unknown
	 * account or a wrong password.  NULL: the daemon calls lookup() and
	 * verifies the password it returned. */
	enum auth_module_result (*authenticate)(struct auth_module *mod,
		const struct auth_request *req, const char *password,
		struct auth_record *rec_r, const char **error_r);

	/* Optional (NULL: the module has nothing to list): calls callback
	 * for every account.  Returns OK when done, TEMPFAIL on an error. */
	enum auth_module_result (*enumerate)(struct auth_module *mod,
		auth_enumerate_callback_t *callback, void *context,
		const char **error_r);

	/* Optional (NULL: cannot change passwords): changes req->user's
	 * password from old_password (which the module must verify) to
	 * new_password.  passwd.h's passwd_hash() makes the new hash (keep
	 * the scheme the backend needs).  OK when changed, NOTFOUND when
	 * the account is not this module's or old_password is wrong (next
	 * module tried), TEMPFAIL on a backend error. */
	enum auth_module_result (*change_password)(struct auth_module *mod,
		const struct auth_request *req, const char *old_password,
		const char *new_password, const char **error_r);
};

/* The registry: the modules built into this suite. */
extern const struct auth_module_def auth_module_userdb;
extern const struct auth_module_def auth_module_pwd;
extern const struct auth_module_def auth_module_pipe;
extern const struct auth_module_def auth_module_pam;
extern const struct auth_module_def auth_module_ldap;
extern const struct auth_module_def auth_module_mysql;
extern const struct auth_module_def auth_module_pgsql;

/* The module named name (Courier's "authuserdb"; the short "userdb" and
 * the compatibility name "authshadow" for authpwd are accepted too), or
 * NULL when it is unknown or not built in. */
const struct auth_module_def *auth_module_find(const char *name);
/* The built-in modules, NULL-terminated (for authtest -l, logs). */
const struct auth_module_def *const *auth_module_list(void);

#endif
