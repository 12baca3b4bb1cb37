/* authdaemon-settings.c: etc/authdaemonrc as typed settings. */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include "authdaemon-settings.h"
#include "config-settings.h"
#include "instance.h"
#include "mem.h"

#define S struct authdaemon_settings
static const struct config_setting_def defs[] = {
	CONFIG_SETTING_STRING(
		S, authmodulelist, "authmodulelist", "authuserdb"),
	CONFIG_SETTING_STRING(
		S, authmodulelistorig, "authmodulelistorig", NULL),
	CONFIG_SETTING_INT(S, daemons, "daemons", "5", 1, 256),
	CONFIG_SETTING_STRING(S, authdaemonvar, "authdaemonvar", NULL),
	CONFIG_SETTING_STRING(S, defaultoptions, "DEFAULTOPTIONS", NULL),
	CONFIG_SETTING_INT(S, debug_login, "DEBUG_LOGIN", "0", 0, 2),
	CONFIG_SETTING_INTERVAL(S, timeout, "AUTH_TIMEOUT", "30", 1, 3600),
	CONFIG_SETTING_INT(S, fail_user, "AUTHFAIL_USER", "10", 0, 1000000),
	CONFIG_SETTING_INT(S, fail_ip, "AUTHFAIL_IP", "30", 0, 1000000),
	CONFIG_SETTING_INTERVAL(
		S, fail_window, "AUTHFAIL_WINDOW", "10m", 1, 86400),
	CONFIG_SETTING_STRING(S, pipe_program, "PIPE_PROGRAM", NULL),
	CONFIG_SETTING_STRING(S, loggeropts, "LOGGEROPTS", NULL),
	CONFIG_SETTING_STRING(S, version, "version", NULL), CONFIG_SETTING_END};
#undef S

int authdaemon_settings_load(struct authdaemon_settings *set,
	struct config_env **env_r, const char *path, struct config_errors *errs)
{
	struct config_env *env = NULL;
	int r;

	memset(set, 0, sizeof(*set));
	config_settings_init(defs, set);
	if (env_r != NULL)
		*env_r = NULL;
	r = config_env_read(path, NULL, &env, errs);
	if (r < 0)
		return -1;
	if (env != NULL &&
		config_settings_apply_env(defs, set, env, errs) > 0) {
		config_env_free(&env);
		return -1;
	}
	if (config_errors_error_count(errs) > 0) {
		config_env_free(&env);
		return -1;
	}
	if (env_r != NULL)
		*env_r = env;
	else
		config_env_free(&env);
	return 0;
}

void authdaemon_settings_free(struct authdaemon_settings *set)
{
	config_settings_free(defs, set);
}

char *authdaemon_socket_path(const struct authdaemon_settings *set)
{
	if (set->authdaemonvar != NULL && set->authdaemonvar[0] != '\0')
		return xasprintf("%s/socket", set->authdaemonvar);
	return instance_var_path("run/authdaemon/socket");
}
