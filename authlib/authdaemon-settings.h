/* authdaemon-settings.h: the settings of etc/authdaemonrc, read by
 * authdaemond and by the client library (for the socket and the time
 * budget).
 *
 *	authmodulelist="authuserdb"   modules asked, in order
 *	authmodulelistorig="..."      the modules built in (informative)
 *	daemons=5                     worker processes (1..256)
 *	authdaemonvar=/path           folder of the socket ("socket" in it);
 *	                              default var/run/authdaemon
 *	DEFAULTOPTIONS="k=v,k=v"      options every account gets
 *	DEBUG_LOGIN=0                 1: log each request's lookups (never a
 *	                              password; 2 is taken as 1)
 *	AUTH_TIMEOUT=30               budget of one request, seconds
 *	AUTHFAIL_USER=10              failed logins per account ...
 *	AUTHFAIL_IP=30                ... and per client address ...
 *	AUTHFAIL_WINDOW=10m           ... within this window before further
 *	                              attempts fail until it has passed
 *	                              (0 failures: no throttling)
 *	PIPE_PROGRAM=/path            the authpipe module's program
 *	LOGGEROPTS, version           accepted, unused */
#ifndef AUTHDAEMON_SETTINGS_H
#define AUTHDAEMON_SETTINGS_H

#include <stdbool.h>

#include "config-env.h"
#include "config-errors.h"

struct authdaemon_settings {
	char *authmodulelist;
	char *authmodulelistorig;
	long long daemons;
	char *authdaemonvar;
	char *defaultoptions;
	long long debug_login;
	unsigned int timeout;
	long long fail_user;
	long long fail_ip;
	unsigned int fail_window;
	char *pipe_program;
	char *loggeropts;
	char *version;
};

/* Loads path (missing: the defaults) into *set (freed first) and, when
 * env_r is not NULL, the raw settings into *env_r (NULL when missing).
 * Returns 0, or -1 when the file is unreadable or has errors (in errs). */
int authdaemon_settings_load(struct authdaemon_settings *set,
	struct config_env **env_r, const char *path,
	struct config_errors *errs);
void authdaemon_settings_free(struct authdaemon_settings *set);
/* The socket's path for these settings (newly allocated). */
char *authdaemon_socket_path(const struct authdaemon_settings *set);

#endif
