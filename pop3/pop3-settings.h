/* pop3-settings.h: pop3d's settings, read from the instance's NAME=value
 * files etc/pop3d (plain port) and etc/pop3d-ssl (implicit TLS port),
 * with Courier's names where Courier has one (see doc/pop3.md). */
#ifndef POP3_SETTINGS_H
#define POP3_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "config-errors.h"
#include "login-master.h"

struct pop3_settings {
	/* POP3DSTART, ADDRESS, PORT, MAXDAEMONS, MAXPERIP, POP3_LOGIN_USER
	 * (the login process), POP3DSSLSTART, SSLADDRESS, SSLPORT,
	 * POP3_STARTTLS (offer STLS) and the TLS_* settings */
	struct login_master_settings master;
	/* etc/pop3d */
	char *auth_mechs;	/* POP3AUTH: SASL before TLS */
	char *auth_mechs_tls;	/* POP3AUTH_TLS: more SASL under TLS */
	char *maildir_path;	/* MAILDIRPATH: HOME/this without MAILDIR */
	unsigned int login_delay; /* POP3_LOGIN_DELAY (seconds) */
	char *expire;		/* POP3_EXPIRE: "", NEVER or 0 */
	bool mailbox_lock;	/* POP3_MAILBOX_LOCK: [IN-USE] */
	bool apop;		/* POP3_APOP */
	bool log_deletions;	/* POP3_LOG_DELETIONS */
	unsigned int idle_timeout; /* POP3_TIMEOUT (seconds) */
	long long max_bad_commands; /* POP3_MAX_BAD_COMMANDS */
	long long max_auth_failures; /* POP3_MAX_AUTH_FAILURES */
	char *implementation;	/* POP3_IMPLEMENTATION (CAPA) */
	/* etc/pop3d-ssl */
	bool tls_required;	/* POP3_TLS_REQUIRED: no clear passwords */
};

/* Fills set with the defaults, then etc/pop3d and etc/pop3d-ssl (names
 * or paths as config_path() takes them; a missing file keeps the
 * defaults).  Returns 0, or -1 when a file is unreadable or has errors
 * (all reported to errs).  Free with pop3_settings_free() either way. */
int pop3_settings_load(struct pop3_settings *set, const char *plain_file,
		       const char *ssl_file, struct config_errors *errs);
void pop3_settings_free(struct pop3_settings *set);
/* Defaults only (tests, tunnel mode without files). */
void pop3_settings_defaults(struct pop3_settings *set);

#endif
