/* pop3-settings.c: pop3d's typed settings table and loading. */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "config-settings.h"
#include "pop3-settings.h"

#define S struct pop3_settings
static const struct config_setting_def pop3_setting_defs[] = {
	LOGIN_MASTER_SETTING_DEFS(S, master, "POP3DSTART", "POP3DSSLSTART",
				  "POP3_STARTTLS", "POP3_LOGIN_USER", "110",
				  "995", "4"),
	CONFIG_SETTING_STRING(S, auth_mechs, "POP3AUTH", ""),
	CONFIG_SETTING_STRING(S, auth_mechs_tls, "POP3AUTH_TLS", ""),
	CONFIG_SETTING_STRING(S, maildir_path, "MAILDIRPATH", "Maildir"),
	CONFIG_SETTING_INTERVAL(S, login_delay, "POP3_LOGIN_DELAY", "0", 0,
				86400 * 365),
	CONFIG_SETTING_STRING(S, expire, "POP3_EXPIRE", ""),
	CONFIG_SETTING_BOOL(S, mailbox_lock, "POP3_MAILBOX_LOCK", "YES"),
	CONFIG_SETTING_BOOL(S, apop, "POP3_APOP", "NO"),
	CONFIG_SETTING_BOOL(S, log_deletions, "POP3_LOG_DELETIONS", "NO"),
	CONFIG_SETTING_INTERVAL(S, idle_timeout, "POP3_TIMEOUT", "10m", 1,
				86400),
	CONFIG_SETTING_INT(S, max_bad_commands, "POP3_MAX_BAD_COMMANDS", "10",
			   1, 1000),
	CONFIG_SETTING_INT(S, max_auth_failures, "POP3_MAX_AUTH_FAILURES",
			   "3", 1, 1000),
	CONFIG_SETTING_STRING(S, implementation, "POP3_IMPLEMENTATION",
			      "Courier-suite"),
	CONFIG_SETTING_BOOL(S, tls_required, "POP3_TLS_REQUIRED", "NO"),
	CONFIG_SETTING_END
};
#undef S

void pop3_settings_defaults(struct pop3_settings *set)
{
	memset(set, 0, sizeof(*set));
	config_settings_init(pop3_setting_defs, set);
}

int pop3_settings_load(struct pop3_settings *set, const char *plain_file,
		       const char *ssl_file, struct config_errors *errs)
{
	int ret = login_master_settings_load(pop3_setting_defs, set,
					     sizeof(*set), plain_file,
					     ssl_file, errs);

	if (set->expire[0] != '\0' && strcasecmp(set->expire, "NEVER") != 0 &&
	    strcmp(set->expire, "0") != 0) {
		config_error(errs, ssl_file, 0,
			     "POP3_EXPIRE: only NEVER or 0 are supported");
		ret = -1;
	}
	return ret;
}

void pop3_settings_free(struct pop3_settings *set)
{
	config_settings_free(pop3_setting_defs, set);
}
