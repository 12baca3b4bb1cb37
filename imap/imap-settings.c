/* imap-settings.c: imapd's typed settings table and loading. */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "config-env.h"
#include "config-settings.h"
#include "imap-settings.h"
#include "sasl.h"
#include "str.h"

#define S struct imap_settings
static const struct config_setting_def imap_setting_defs[] = {
	CONFIG_SETTING_BOOL(S, start, "IMAPDSTART", "YES"),
	CONFIG_SETTING_STRING(S, address, "ADDRESS", "0"),
	CONFIG_SETTING_INT(S, port, "PORT", "143", 0, 65535),
	CONFIG_SETTING_INT(S, max_daemons, "MAXDAEMONS", "40", 0, 1000000),
	CONFIG_SETTING_INT(S, max_per_ip, "MAXPERIP", "20", 0, 1000000),
	CONFIG_SETTING_STRING(S, maildir_path, "MAILDIRPATH", "Maildir"),
	CONFIG_SETTING_INTERVAL(S, idle_poll, "IMAP_IDLE_TIMEOUT", "60", 1,
				3600),
	CONFIG_SETTING_STRING(S, empty_trash, "IMAP_EMPTYTRASH", ""),
	CONFIG_SETTING_INTERVAL(S, timeout, "IMAP_TIMEOUT", "30m", 60,
				86400),
	CONFIG_SETTING_INT(S, max_line, "IMAP_MAX_LINE", "65536", 1024,
			   16 * 1024 * 1024),
	CONFIG_SETTING_INT(S, max_literal, "IMAP_MAX_LITERAL", "52428800",
			   1024, 1LL << 32),
	CONFIG_SETTING_INT(S, max_bad_commands, "IMAP_MAX_BAD_COMMANDS", "20",
			   1, 100000),
	CONFIG_SETTING_STRING(S, login_user, "IMAP_LOGIN_USER", "nobody"),
	CONFIG_SETTING_STRING(S, proxy_hostname, "PROXY_HOSTNAME", ""),
	CONFIG_SETTING_STRING(S, namespace_prefix, "IMAP_NAMESPACE_PREFIX",
			      ""),
	CONFIG_SETTING_BOOL(S, shared_folders, "IMAP_SHARED_FOLDERS", "YES"),
	CONFIG_SETTING_STRING(S, auth_mechs, "IMAP_AUTH", "PLAIN LOGIN"),
	CONFIG_SETTING_STRING(S, auth_mechs_tls, "IMAP_AUTH_TLS", ""),
	CONFIG_SETTING_BOOL(S, ssl_start, "IMAPDSSLSTART", "YES"),
	CONFIG_SETTING_STRING(S, ssl_address, "SSLADDRESS", "0"),
	CONFIG_SETTING_INT(S, ssl_port, "SSLPORT", "993", 0, 65535),
	CONFIG_SETTING_BOOL(S, starttls, "IMAPDSTARTTLS", "YES"),
	CONFIG_SETTING_BOOL(S, tls_required, "IMAP_TLS_REQUIRED", "NO"),
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

void imap_settings_defaults(struct imap_settings *set)
{
	memset(set, 0, sizeof(*set));
	config_settings_init(imap_setting_defs, set);
}

static int load_file(struct imap_settings *set, const char *file,
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
	unsigned int n = config_settings_apply_env(imap_setting_defs, set,
						   env, errs);
	config_env_free(&env);
	return n == 0 ? 0 : -1;
}

static bool mech_listed(const char *list, const char *mech)
{
	char **v = str_split(list, " \t,");
	bool found = false;

	for (size_t i = 0; v[i] != NULL && !found; i++)
		found = strcasecmp(v[i], mech) == 0;
	str_split_free(&v);
	return found;
}

bool imap_settings_mech_offered(const struct imap_settings *set,
				const char *mech, bool tls)
{
	return mech_listed(set->auth_mechs, mech) ||
	       (tls && mech_listed(set->auth_mechs_tls, mech));
}

/* Every name of an IMAP_AUTH list must be a mechanism we implement. */
static int check_mechs(const char *list, const char *name, const char *file,
		       struct config_errors *errs)
{
	char **v = str_split(list, " \t,");
	int ret = 0;

	for (size_t i = 0; v[i] != NULL; i++) {
		enum sasl_mech m;

		if (v[i][0] != '\0' && sasl_mech_from_name(v[i], &m) < 0) {
			config_error(errs, file, 0,
				     "%s: unknown SASL mechanism %s (PLAIN, "
				     "LOGIN and CRAM-MD5 are known)",
				     name, v[i]);
			ret = -1;
		}
	}
	str_split_free(&v);
	return ret;
}

int imap_settings_load(struct imap_settings *set, const char *plain_file,
		       const char *ssl_file, struct config_errors *errs)
{
	unsigned int before = config_errors_error_count(errs);
	int ret = 0;

	imap_settings_defaults(set);
	if (load_file(set, plain_file, errs) < 0)
		ret = -1;
	if (load_file(set, ssl_file, errs) < 0)
		ret = -1;
	if (set->namespace_prefix[0] != '\0' &&
	    strcmp(set->namespace_prefix, "INBOX.") != 0) {
		config_error(errs, plain_file, 0,
			     "IMAP_NAMESPACE_PREFIX: only \"\" or INBOX.");
		ret = -1;
	}
	if (check_mechs(set->auth_mechs, "IMAP_AUTH", plain_file, errs) < 0 ||
	    check_mechs(set->auth_mechs_tls, "IMAP_AUTH_TLS", plain_file,
			errs) < 0)
		ret = -1;
	if (config_errors_error_count(errs) > before)
		ret = -1;
	return ret;
}

void imap_settings_free(struct imap_settings *set)
{
	config_settings_free(imap_setting_defs, set);
}
