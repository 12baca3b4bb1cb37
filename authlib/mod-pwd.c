/* mod-pwd.c: the authpwd module (alias authshadow): system accounts from
 * /etc/passwd, passwords from /etc/shadow when readable. */
#include "config.h"

#include <stdlib.h>

#include "auth-module.h"
#include "auth-sysuser.h"
#include "mem.h"

struct pwd_module {
	struct auth_module module;
	char error[128];
};

static int pwd_init(const struct auth_module_def *def, const char *config_path,
	const struct config_env *authdaemonrc, struct auth_module **mod_r,
	const char **error_r)
{
	struct pwd_module *m = xcalloc(1, sizeof(*m));
	(void)config_path;
	(void)authdaemonrc;
	(void)error_r;
	m->module.def = def;
	*mod_r = &m->module;
	return 0;
}

static void pwd_deinit(struct auth_module **mod)
{
	x_free(*mod);
}

static enum auth_module_result pwd_lookup(struct auth_module *mod,
	const struct auth_request *req, struct auth_record *rec_r,
	const char **error_r)
{
	struct pwd_module *m = (struct pwd_module *)mod;
	int r = auth_sysuser_lookup(req->user, rec_r, true, m->error,
				    sizeof(m->error), error_r);

	if (r < 0)
		return AUTH_MODULE_TEMPFAIL;
	return r == 0 ? AUTH_MODULE_NOTFOUND : AUTH_MODULE_OK;
}

static enum auth_module_result pwd_enumerate(struct auth_module *mod,
	auth_enumerate_callback_t *callback, void *context,
	const char **error_r)
{
	(void)mod;
	(void)error_r;
	return auth_sysuser_enumerate(callback, context);
}

const struct auth_module_def auth_module_pwd = {
	.name = "authpwd",
	.config_file = NULL,
	.init = pwd_init,
	.deinit = pwd_deinit,
	.lookup = pwd_lookup,
	.authenticate = NULL,
	.enumerate = pwd_enumerate,
	.change_password = NULL,
};
