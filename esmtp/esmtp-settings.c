/* esmtp-settings.c: esmtpd's typed settings table and loading. */
#include "config.h"

#include <string.h>

#include "config-env.h"
#include "config-settings.h"
#include "esmtp-settings.h"

#define S struct esmtp_settings
static const struct config_setting_def esmtp_setting_defs[] = {
	CONFIG_SETTING_BOOL(S, start, "ESMTPDSTART", "YES"),
	CONFIG_SETTING_BOOL(S, ssl_start, "ESMTPDSSLSTART", "YES"),
	CONFIG_SETTING_STRING(S, address, "ADDRESS", "0"),
	CONFIG_SETTING_INT(S, port, "PORT", "25", 0, 65535),
	CONFIG_SETTING_STRING(S, ssl_address, "SSLADDRESS", "0"),
	CONFIG_SETTING_INT(S, ssl_port, "SSLPORT", "465", 0, 65535),
	CONFIG_SETTING_INT(S, max_daemons, "MAXDAEMONS", "40", 0, 1000000),
	CONFIG_SETTING_INT(S, max_per_ip, "MAXPERIP", "4", 0, 1000000),
	CONFIG_SETTING_INT(S, max_per_c, "MAXPERC", "0", 0, 1000000),
	CONFIG_SETTING_BOOL(S, check_dns, "BOFHCHECKDNS", "NO"),
	CONFIG_SETTING_STRING(S, auth_mechs, "ESMTPAUTH", ""),
	CONFIG_SETTING_STRING(S, auth_mechs_tls, "ESMTPAUTH_TLS", ""),
	CONFIG_SETTING_BOOL(S, auth_required, "AUTH_REQUIRED", "NO"),
	CONFIG_SETTING_BOOL(S, tls_required, "ESMTP_TLS_REQUIRED", "NO"),
	CONFIG_SETTING_BOOL(S, log_dialog, "ESMTP_LOG_DIALOG", "NO"),
	CONFIG_SETTING_BOOL(S, no_vrfy, "BOFHNOVRFY", "NO"),
	CONFIG_SETTING_BOOL(S, no_add_msgid, "NOADDMSGID", "NO"),
	CONFIG_SETTING_BOOL(S, no_add_date, "NOADDDATE", "NO"),
	CONFIG_SETTING_BOOL(S, dkim_verify, "DKIMVERIFY", "YES"),
	CONFIG_SETTING_BOOL(S, dkim_sign, "DKIMSIGN", "YES"),
	CONFIG_SETTING_INTERVAL(S, timeout, "ESMTP_TIMEOUT", "5m", 1, 86400),
	CONFIG_SETTING_INTERVAL(S, data_timeout, "ESMTP_DATA_TIMEOUT", "10m", 1,
				86400),
	CONFIG_SETTING_INTERVAL(S, session_timeout, "ESMTP_SESSION_TIMEOUT",
				"1h", 1, 604800),
	CONFIG_SETTING_INTERVAL(S, filter_timeout, "ESMTP_FILTER_TIMEOUT", "2m",
				1, 3600),
	CONFIG_SETTING_INTERVAL(S, lmf_timeout, "LOCALFILTER_TIMEOUT", "1m",
				1, 600),
	CONFIG_SETTING_SIZE(S, max_command_line, "ESMTP_MAX_LINE", "2048",
			    512, 65536),
	CONFIG_SETTING_SIZE(S, max_data_line, "ESMTP_MAX_DATA_LINE", "64k",
			    1000, 16777216),
	CONFIG_SETTING_INT(S, max_bad_commands, "ESMTP_MAX_BAD_COMMANDS",
			   "20", 1, 10000),
	CONFIG_SETTING_INT(S, max_rcpts, "ESMTP_MAX_RCPTS", "1000", 1,
			   10000),
	CONFIG_SETTING_INT(S, workers, "ESMTP_WORKERS", "16", 1, 256),
	CONFIG_SETTING_STRING(S, access_file, "ACCESSFILE", "smtpaccess"),
	CONFIG_SETTING_STRING(S, tls_certfile, "TLS_CERTFILE", NULL),
	CONFIG_SETTING_STRING(S, tls_dhparams, "TLS_DHPARAMS", NULL),
	CONFIG_SETTING_STRING(S, tls_protocol, "TLS_PROTOCOL", NULL),
	CONFIG_SETTING_STRING(S, tls_cipher_list, "TLS_CIPHER_LIST", NULL),
	CONFIG_SETTING_STRING(S, tls_priority, "TLS_PRIORITY", NULL),
	CONFIG_SETTING_STRING(S, tls_verifypeer, "TLS_VERIFYPEER", "NONE"),
	CONFIG_SETTING_END
};
#undef S

void esmtp_settings_defaults(struct esmtp_settings *set)
{
	memset(set, 0, sizeof(*set));
	config_settings_init(esmtp_setting_defs, set);
}

int esmtp_settings_load(struct esmtp_settings *set, const char *file,
			struct config_errors *errs)
{
	struct config_env *env = NULL;
	int ret;

	esmtp_settings_defaults(set);
	ret = config_env_read(file, NULL, &env, errs);
	if (ret < 0) {
		config_error(errs, file, 0, "cannot read the settings file");
		return -1;
	}
	if (ret == 0)
		return 1;
	unsigned int n = config_settings_apply_env(esmtp_setting_defs, set,
						   env, errs);
	config_env_free(&env);
	return n == 0 ? 0 : -1;
}

void esmtp_settings_free(struct esmtp_settings *set)
{
	config_settings_free(esmtp_setting_defs, set);
}
