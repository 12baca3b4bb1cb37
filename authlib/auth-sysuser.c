/* auth-sysuser.c: system accounts (the passwd database) as auth records. */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <string.h>

#include "auth-sysuser.h"
#include "mem.h"

void auth_sysuser_fill(const struct passwd *pw, struct auth_record *rec)
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

/* A hash that can match a password ("x", "*", "!..." and "" cannot). */
static bool usable_hash(const char *h)
{
	return h != NULL && h[0] != '\0' && h[0] != '*' && h[0] != '!' &&
	       strcmp(h, "x") != 0;
}

int auth_sysuser_lookup(const char *user, struct auth_record *rec,
			bool want_password, char *err, size_t errlen,
			const char **error_r)
{
	struct passwd pw, *pwp = NULL;
	char buf[16384];

	if (user[0] == '\0' || strchr(user, '@') != NULL)
		return 0;
	int e = getpwnam_r(user, &pw, buf, sizeof(buf), &pwp);
	if (pwp == NULL) {
		if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF ||
		    e == EPERM)
			return 0;
		snprintf(err, errlen, "getpwnam: %s", strerror(e));
		*error_r = err;
		return -1;
	}
	if (rec != NULL) {
		auth_sysuser_fill(pwp, rec);
		if (want_password) {
			struct spwd sp, *spp = NULL;
			char sbuf[16384];

			if (usable_hash(pwp->pw_passwd))
				rec->passwd = xstrdup(pwp->pw_passwd);
			if (getspnam_r(user, &sp, sbuf, sizeof(sbuf),
				       &spp) == 0 &&
			    spp != NULL && usable_hash(spp->sp_pwdp))
				auth_record_set(&rec->passwd, spp->sp_pwdp);
			explicit_bzero(sbuf, sizeof(sbuf));
		}
	}
	explicit_bzero(buf, sizeof(buf));
	return 1;
}

enum auth_module_result
auth_sysuser_enumerate(auth_enumerate_callback_t *callback, void *context)
{
	enum auth_module_result res = AUTH_MODULE_OK;
	struct passwd *pw;

	setpwent();
	while ((pw = getpwent()) != NULL) {
		struct auth_record rec;

		auth_record_init(&rec);
		auth_sysuser_fill(pw, &rec);
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
