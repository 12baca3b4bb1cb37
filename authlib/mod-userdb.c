/* mod-userdb.c: the authuserdb module: accounts from makeuserdb's
 * etc/userdb.dat and etc/userdbshadow.dat. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-module.h"
#include "config-errors.h"
#include "hash.h"
#include "instance.h"
#include "mem.h"
#include "passwd.h"
#include "secure.h"
#include "userdb.h"

struct userdb_module {
	struct auth_module module;
	struct userdb *db;
	char *text_path, *dat_path, *shadow_path;
	char error[256];
};

static int userdb_mod_init(const struct auth_module_def *def,
	const char *config_path, const struct config_env *authdaemonrc,
	struct auth_module **mod_r, const char **error_r)
{
	struct userdb_module *m = xcalloc(1, sizeof(*m));
	(void)config_path;
	(void)authdaemonrc;
	(void)error_r;
	m->module.def = def;
	m->text_path = instance_etc_path("userdb");
	m->dat_path = instance_etc_path("userdb.dat");
	m->shadow_path = instance_etc_path("userdbshadow.dat");
	/* Opened lazily: makeuserdb may run after the daemon started. */
	*mod_r = &m->module;
	return 0;
}

static void userdb_mod_deinit(struct auth_module **mod)
{
	struct userdb_module *m = (struct userdb_module *)*mod;
	if (m == NULL)
		return;
	userdb_close(&m->db);
	free(m->text_path);
	free(m->dat_path);
	free(m->shadow_path);
	free(m);
	*mod = NULL;
}

static int ensure_open(struct userdb_module *m, const char **error_r)
{
	const char *err;
	if (m->db != NULL)
		return 0;
	m->db = userdb_open(m->dat_path, m->shadow_path, &err);
	if (m->db == NULL) {
		snprintf(m->error, sizeof(m->error), "%s: %s (run makeuserdb)",
			m->dat_path, err);
		*error_r = m->error;
		return -1;
	}
	return 0;
}

static int parse_id(const char *s, unsigned long *id_r)
{
	char *end;
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || v >= 0xffffffffUL)
		return -1;
	*id_r = v;
	return 0;
}

/* Fills rec from the public fields; -1 when uid, gid or home is bad. */
static int fill_record(
	const char *name, const char *fields, struct auth_record *rec)
{
	char *uid = NULL, *gid = NULL, *v = NULL;
	unsigned long u, g;
	int ret = -1;

	userdb_field_get(fields, "uid", &uid);
	userdb_field_get(fields, "gid", &gid);
	if (parse_id(uid, &u) < 0 || parse_id(gid, &g) < 0)
		goto out;
	rec->has_uid = true;
	rec->uid = (uid_t)u;
	rec->gid = (gid_t)g;
	if (userdb_field_get(fields, "home", &rec->home) == 0 ||
		rec->home[0] == '\0')
		goto out;
	rec->address = xstrdup(name);
	if (userdb_field_get(fields, "mail", &v) > 0 && v[0] != '\0') {
		rec->maildir = v;
		v = NULL;
	}
	x_free(v);
	if (userdb_field_get(fields, "quota", &v) > 0 && v[0] != '\0') {
		rec->quota = v;
		v = NULL;
	}
	x_free(v);
	if (userdb_field_get(fields, "gecos", &v) > 0 && v[0] != '\0') {
		char *comma = strchr(v, ',');
		if (comma != NULL)
			*comma = '\0';
		rec->fullname = v;
		v = NULL;
	}
	x_free(v);
	if (userdb_field_get(fields, "options", &v) > 0 && v[0] != '\0') {
		rec->options = v;
		v = NULL;
	}
	x_free(v);
	ret = 0;
out:
	free(uid);
	free(gid);
	return ret;
}

/* The SERVICEpw field, else systempw (and the same for hmac-md5pw). */
static void fill_secrets(
	const char *service, const char *secret, struct auth_record *rec)
{
	char *key = xasprintf("%spw", service);
	if (userdb_field_get(secret, key, &rec->passwd) == 0)
		userdb_field_get(secret, "systempw", &rec->passwd);
	free(key);
	key = xasprintf("%s-hmac-md5pw", service);
	if (userdb_field_get(secret, key, &rec->hmac_md5pw) == 0)
		userdb_field_get(secret, "hmac-md5pw", &rec->hmac_md5pw);
	free(key);
}

static void free_secret(char **s)
{
	if (*s != NULL) {
		secure_wipe(*s, strlen(*s));
		x_free(*s);
	}
}

static enum auth_module_result userdb_mod_lookup(struct auth_module *mod,
	const struct auth_request *req, struct auth_record *rec_r,
	const char **error_r)
{
	struct userdb_module *m = (struct userdb_module *)mod;
	char *fields, *secret;
	int r;

	if (ensure_open(m, error_r) < 0)
		return AUTH_MODULE_TEMPFAIL;
	r = userdb_lookup(m->db, req->user, &fields, &secret, error_r);
	if (r < 0)
		return AUTH_MODULE_TEMPFAIL;
	if (r == 0)
		return AUTH_MODULE_NOTFOUND;
	if (fill_record(req->user, fields, rec_r) < 0) {
		auth_record_free(rec_r);
		free(fields);
		free_secret(&secret);
		snprintf(m->error, sizeof(m->error),
			"userdb entry without a valid uid, gid or home");
		*error_r = m->error;
		return AUTH_MODULE_TEMPFAIL;
	}
	fill_secrets(req->service, secret, rec_r);
	free(fields);
	free_secret(&secret);
	return AUTH_MODULE_OK;
}

struct enum_ctx {
	auth_enumerate_callback_t *callback;
	void *context;
};

static int enum_one(const char *name, const char *fields, void *context)
{
	struct enum_ctx *ctx = context;
	struct auth_record rec;
	int ret = 0;

	auth_record_init(&rec);
	if (fill_record(name, fields, &rec) == 0)
		ret = ctx->callback(&rec, ctx->context);
	auth_record_free(&rec);
	return ret;
}

static enum auth_module_result userdb_mod_enumerate(struct auth_module *mod,
	auth_enumerate_callback_t *callback, void *context,
	const char **error_r)
{
	struct userdb_module *m = (struct userdb_module *)mod;
	struct enum_ctx ctx = {callback, context};

	if (ensure_open(m, error_r) < 0)
		return AUTH_MODULE_TEMPFAIL;
	return userdb_iterate(m->db, enum_one, &ctx, error_r) < 0
		       ? AUTH_MODULE_TEMPFAIL
		       : AUTH_MODULE_OK;
}

static enum auth_module_result userdb_mod_passwd(struct auth_module *mod,
	const struct auth_request *req, const char *old_password,
	const char *new_password, const char **error_r)
{
	struct userdb_module *m = (struct userdb_module *)mod;
	struct auth_record rec;
	char *fields = NULL, *field, *svc_key;
	struct str hash;
	struct config_errors *errs;
	struct userdb_compile_stats stats;
	enum auth_module_result res;

	auth_record_init(&rec);
	res = userdb_mod_lookup(mod, req, &rec, error_r);
	if (res != AUTH_MODULE_OK)
		return res;
	if (rec.passwd == NULL ||
		passwd_verify(old_password, rec.passwd) != 1) {
		auth_record_free(&rec);
		return AUTH_MODULE_NOTFOUND;
	}
	auth_record_free(&rec);

	int r = userdb_text_get(m->text_path, req->user, &fields, error_r);
	if (r <= 0) {
		if (r == 0)
			*error_r = "account is not in the userdb text";
		return AUTH_MODULE_TEMPFAIL;
	}
	str_init(&hash, 128);
	if (passwd_hash(new_password, PASSWD_SCHEME_DEFAULT, &hash, error_r) <
		0) {
		free(fields);
		str_free(&hash);
		return AUTH_MODULE_TEMPFAIL;
	}
	svc_key = xasprintf("%spw", req->service);
	userdb_field_get(fields, svc_key, &field);
	const char *key = field != NULL ? svc_key : "systempw";
	free_secret(&field);
	char *updated = userdb_fields_set(fields, key, str_c(&hash));
	free_secret(&fields);
	fields = updated;
	/* Keep a CRAM key in step with the password it was made from. */
	if (userdb_field_get(fields, "hmac-md5pw", &field) > 0) {
		str_clear(&hash);
		hmac_md5_precompute_hex(
			&hash, new_password, strlen(new_password));
		updated = userdb_fields_set(fields, "hmac-md5pw", str_c(&hash));
		free_secret(&fields);
		fields = updated;
	}
	free_secret(&field);
	free(svc_key);
	secure_wipe(hash.data, hash.size);
	str_free(&hash);

	r = userdb_text_update(m->text_path, req->user, fields, error_r);
	free_secret(&fields);
	if (r < 0)
		return AUTH_MODULE_TEMPFAIL;
	errs = config_errors_new();
	r = userdb_compile(
		m->text_path, m->dat_path, m->shadow_path, &stats, errs);
	if (r < 0) {
		config_errors_log(errs);
		*error_r = "makeuserdb failed after the password change";
	}
	config_errors_destroy(&errs);
	return r < 0 ? AUTH_MODULE_TEMPFAIL : AUTH_MODULE_OK;
}

const struct auth_module_def auth_module_userdb = {
	.name = "authuserdb",
	.config_file = NULL,
	.init = userdb_mod_init,
	.deinit = userdb_mod_deinit,
	.lookup = userdb_mod_lookup,
	.authenticate = NULL,
	.enumerate = userdb_mod_enumerate,
	.change_password = userdb_mod_passwd,
};
