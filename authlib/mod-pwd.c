/* mod-pwd.c: the authpwd module (alias authshadow): system accounts from
 * /etc/passwd, passwords from /etc/shadow when readable. */
#include "config.h"
#include <errno.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-module.h"
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

static void fill(const struct passwd *pw, struct auth_record *rec)
{
	rec->address = xstrdup(pw->pw_name);
	rec->sysusername = xstrdup(pw->pw_name);
	rec->has_uid = true;
	rec->uid = pw->pw_uid;
	rec->gid = pw->pw_gid;
	rec->home = xstrdup(pw->pw_dir);
	if (pw->pw_gecos != NULL && pw->pw_gecos[0] != '\0') {
		size_t n = strcspn(pw->pw_gecos, ",");
		if (n > 0)
			rec->fullname = xstrndup(pw->pw_gecos, n);
	}
}

static bool usable_hash(const char *h)
{
	return h != NULL && h[0] != '\0' && h[0] != '*' && h[0] != '!' &&
	       strcmp(h, "x") != 0;
}

static enum auth_module_result pwd_lookup(struct auth_module *mod,
	const struct auth_request *req, struct auth_record *rec_r,
	const char **error_r)
{
	struct pwd_module *m = (struct pwd_module *)mod;
	struct passwd pw, *pwp = NULL;
	struct spwd sp, *spp = NULL;
	char buf[16384];
	int err;

	if (strchr(req->user, '@') != NULL || req->user[0] == '\0')
		return AUTH_MODULE_NOTFOUND;
	err = getpwnam_r(req->user, &pw, buf, sizeof(buf), &pwp);
	if (pwp == NULL) {
		if (err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
			err == EPERM)
			return AUTH_MODULE_NOTFOUND;
		snprintf(m->error, sizeof(m->error), "getpwnam: %s",
			strerror(err));
		*error_r = m->error;
		return AUTH_MODULE_TEMPFAIL;
	}
	fill(pwp, rec_r);
	if (usable_hash(pwp->pw_passwd))
		rec_r->passwd = xstrdup(pwp->pw_passwd);
	char sbuf[16384];
	if (getspnam_r(req->user, &sp, sbuf, sizeof(sbuf), &spp) == 0 &&
		spp != NULL && usable_hash(spp->sp_pwdp))
		auth_record_set(&rec_r->passwd, spp->sp_pwdp);
	explicit_bzero(sbuf, sizeof(sbuf));
	explicit_bzero(buf, sizeof(buf));
	return AUTH_MODULE_OK;
}

static enum auth_module_result pwd_enumerate(struct auth_module *mod,
	auth_enumerate_callback_t *callback, void *context,
	const char **error_r)
{
	struct passwd *pw;
	enum auth_module_result res = AUTH_MODULE_OK;

	(void)mod;
	(void)error_r;
	setpwent();
	while ((pw = getpwent()) != NULL) {
		struct auth_record rec;
		auth_record_init(&rec);
		fill(pw, &rec);
		int r = callback(&rec, context);
		auth_record_free(&rec);
		if (r < 0) {
			res = AUTH_MODULE_TEMPFAIL;
			break;
		}
	}
	endpwent();
	return res;
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
