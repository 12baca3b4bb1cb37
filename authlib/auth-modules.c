/* auth-modules.c: the registry of the modules built into this suite. */
#include "config.h"
#include <string.h>

#include "auth-module.h"

static const struct auth_module_def *const modules[] = {
	&auth_module_userdb,
	&auth_module_pwd,
	&auth_module_pipe,
#ifdef AUTHLIB_WITH_PAM
	&auth_module_pam,
#endif
#ifdef AUTHLIB_WITH_LDAP
	&auth_module_ldap,
#endif
#ifdef AUTHLIB_WITH_MYSQL
	&auth_module_mysql,
#endif
#ifdef AUTHLIB_WITH_PGSQL
	&auth_module_pgsql,
#endif
	NULL,
};

const struct auth_module_def *const *auth_module_list(void)
{
	return modules;
}

const struct auth_module_def *auth_module_find(const char *name)
{
	if (strcmp(name, "authshadow") == 0 || strcmp(name, "shadow") == 0)
		name = "authpwd";
	for (size_t i = 0; modules[i] != NULL; i++) {
		const char *n = modules[i]->name;
		if (strcmp(n, name) == 0 || (strncmp(n, "auth", 4) == 0 &&
						    strcmp(n + 4, name) == 0))
			return modules[i];
	}
	return NULL;
}
