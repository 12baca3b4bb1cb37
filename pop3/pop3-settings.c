/* pop3-settings.c: pop3d's typed settings table and loading. */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "config-env.h"
#include "config-settings.h"
#include "pop3-settings.h"

#define S struct pop3_settings
static const struct config_setting_def pop3_setting_defs[] = {
	CONFIG_SETTING_BOOL(S, start, "POP3DSTART", "YES"),
	CONFIG_SETTING_STRING(S, address, "ADDRESS", "0"),
	CONFIG_SETTING_INT(S, port, "PORT", "110", 0, 65535),
	CONFIG_SETTING_INT(S, max_daemons, "MAXDAEMONS", "40", 0, 1000000),
	CONFIG_SETTING_INT(S, max_per_ip, "MAXPERIP", "4", 0, 1000000),
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
	CONFIG_SETTING_STRING(S, login_user, "POP3_LOGIN_USER", "nobody"),
	CONFIG_SETTING_STRING(S, implementation, "POP3_IMPLEMENTATION",
			      "Courier-suite"),
	CONFIG_SETTING_BOOL(S, ssl_start, "POP3DSSLSTART", "YES"),
	CONFIG_SETTING_STRING(S, ssl_address, "SSLADDRESS", "0"),
	CONFIG_SETTING_INT(S, ssl_port, "SSLPORT", "995", 0, 65535),
	CONFIG_SETTING_BOOL(S, starttls, "POP3_STARTTLS", "YES"),
	CONFIG_SETTING_BOOL(S, tls_required, "POP3_TLS_REQUIRED", "NO"),
	CONFIG_SETTING_STRING(S, tls_certfile, "TLS_CERTFILE", NULL),
	CONFIG_SETTING_STRING(S, tls_dhparams, "TLS_DHPARAMS", NULL),
	CONFIG_SETTING_STRING(S, tls_protocol, "TLS_PROTOCOL", NULL),
	CONFIG_SETTING_STRING(S, tls_cipher_list, "TLS_CIPHER_LIST", NULL),
	CONFIG_SETTING_STRING(S, tls_priority, "TLS_PRIORITY", NULL),
	CONFIG_SETTING_STRING(S, tls_verifypeer, "TLS_VERIFYPEER", "NONE"),
	CONFIG_SETTING_STRING(S, tls_trustcerts, "TLS_TRUSTCERTS", NULL),
	CONFIG_SETTING_END
};
#undef S

void pop3_settings_defaults(struct pop3_settings *set)
{
	memset(set, 0, sizeof(*set));
	config_settings_init(pop3_setting_defs, set);
}

static int load_file(struct pop3_settings *set, const char *file,
		     struct config_errors *errs)
{
	struct config_env *env = NULL;
	int ret = config_env_read(file, NULL, &env, errs);

	if (ret < 0) {
		config_error(errs, file, 0, "cannot read the settings file");
		return -1;
	}
	if (ret == 0)
		return 0;
	unsigned int n = config_settings_apply_env(pop3_setting_defs, set,
						   env, errs);
	config_env_free(&env);
	return n == 0 ? 0 : -1;
}

int pop3_settings_load(struct pop3_settings *set, const char *plain_file,
		       const char *ssl_file, struct config_errors *errs)
{
	unsigned int before = config_errors_error_count(errs);
	int ret = 0;

	pop3_settings_defaults(set);
	if (load_file(set, plain_file, errs) < 0)
		ret = -1;
	if (load_file(set, ssl_file, errs) < 0)
		ret = -1;
	if (set->expire[0] != '\0' && strcasecmp(set->expire, "NEVER") != 0 &&
	    strcmp(set->expire, "0") != 0) {
		config_error(errs, ssl_file, 0,
			     "POP3_EXPIRE: only NEVER or 0 are supported");
		ret = -1;
	}
	if (config_errors_error_count(errs) > before)
		ret = -1;
	return ret;
}

void pop3_settings_free(struct pop3_settings *set)
{
	config_settings_free(pop3_setting_defs, set);
}
