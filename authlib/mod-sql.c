/* mod-sql.c: Courier rc files, query templates, row mapping and the
 * connection/retry logic shared by the authmysql and authpgsql modules. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-file.h"
#include "config-rc.h"
#include "log.h"
#include "mem.h"
#include "mod-sql.h"
#include "passwd.h"
#include "secure.h"

/* ------------------------------------------------------------ rc files */

int mod_sql_rc_load(const char *path, const struct config_setting_def *defs,
		    void *set, char *buf, size_t buf_size,
		    const char **error_r)
{
	struct config_errors *errs = config_errors_new();
	struct config_env *env = NULL;
	int ret = 0;

	int r = config_rc_read(path, NULL, &env, errs);
	if (r == 0) {
		snprintf(buf, buf_size, "%s: missing", path);
		*error_r = buf;
		ret = -1;
	} else if (r < 0) {
		config_errors_log(errs);
		snprintf(buf, buf_size, "%s: cannot be read", path);
		*error_r = buf;
		ret = -1;
	} else {
		config_settings_apply_env(defs, set, env, errs);
		config_errors_log(errs);
		if (config_errors_error_count(errs) > 0) {
			snprintf(buf, buf_size, "%s: %u error(s) (logged)",
				 path, config_errors_error_count(errs));
			*error_r = buf;
			ret = -1;
		}
	}
	config_env_free(&env);
	config_errors_destroy(&errs);
	return ret;
}

/* ------------------------------------------------------------ templates */

/* Longest $(name) accepted. */
#define MOD_SQL_MAX_VAR_NAME 32

enum mod_sql_expand_result mod_sql_expand(const char *tmpl,
					  const struct mod_sql_vars *vars,
					  mod_sql_escape_t *escape,
					  void *context, struct str *dest,
					  const char **error_r)
{
	static const struct {
		const char *name;
		size_t offset;
	} names[] = {
		{ "local_part", offsetof(struct mod_sql_vars, local_part) },
		{ "domain", offsetof(struct mod_sql_vars, domain) },
		{ "service", offsetof(struct mod_sql_vars, service) },
		{ "newpass", offsetof(struct mod_sql_vars, newpass) },
		{ "newpass_crypt",
		  offsetof(struct mod_sql_vars, newpass_crypt) },
	};
	const char *p = tmpl;

	while (*p != '\0') {
		const char *d = strstr(p, "$(");
		if (d == NULL) {
			str_append(dest, p);
			break;
		}
		str_append_n(dest, p, d - p);
		const char *name = d + 2;
		const char *end = strchr(name, ')');
		if (end == NULL) {
			*error_r = "unclosed $( in a query template";
			return MOD_SQL_EXPAND_BAD_TEMPLATE;
		}
		size_t len = end - name;
		const char *value = NULL;
		bool known = false;
		for (size_t i = 0; i < N_ELEMENTS(names) &&
				   len <= MOD_SQL_MAX_VAR_NAME; i++) {
			if (strlen(names[i].name) == len &&
			    memcmp(names[i].name, name, len) == 0) {
				value = *(const char *const *)(
					(const char *)vars + names[i].offset);
				known = value != NULL;
				break;
			}
		}
		if (!known) {
			*error_r = "unknown $(name) in a query template";
			return MOD_SQL_EXPAND_BAD_TEMPLATE;
		}
		if (escape(context, value, dest) < 0) {
			*error_r = "a value cannot be escaped for the server";
			return MOD_SQL_EXPAND_BAD_VALUE;
		}
		p = end + 1;
	}
	return MOD_SQL_EXPAND_OK;
}

void mod_sql_split_login(const char *user, const char *default_domain,
			 char **local_r, char **domain_r)
{
	const char *at = strrchr(user, '@');

	if (at != NULL) {
		*local_r = xstrndup(user, at - user);
		*domain_r = xstrdup(at + 1);
	} else {
		*local_r = xstrdup(user);
		*domain_r = xstrdup(default_domain != NULL ? default_domain
							   : "");
	}
}

char *mod_sql_full_login(const char *user, const char *default_domain)
{
	if (strchr(user, '@') != NULL || default_domain == NULL ||
	    default_domain[0] == '\0')
		return xstrdup(user);
	return xasprintf("%s@%s", user, default_domain);
}

static const char *field_or_empty(const char *field)
{
	return field != NULL && field[0] != '\0' ? field : "''";
}

enum mod_sql_expand_result
mod_sql_default_select(const struct mod_sql_settings *set, const char *login,
		       mod_sql_escape_t *escape, void *context,
		       struct str *dest, const char **error_r)
{
	str_printfa(dest,
		    "SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s FROM %s "
		    "WHERE %s = '",
		    set->login_field, field_or_empty(set->crypt_field),
		    field_or_empty(set->clear_field), set->uid_field,
		    set->gid_field, set->home_field,
		    field_or_empty(set->maildir_field),
		    field_or_empty(set->quota_field),
		    field_or_empty(set->name_field),
		    field_or_empty(set->auxoptions_field), set->user_table,
		    set->login_field);
	if (escape(context, login, dest) < 0) {
		*error_r = "the login cannot be escaped for the server";
		return MOD_SQL_EXPAND_BAD_VALUE;
	}
	str_append_c(dest, '\'');
	if (set->where_clause != NULL && set->where_clause[0] != '\0')
		str_printfa(dest, " AND (%s)", set->where_clause);
	return MOD_SQL_EXPAND_OK;
}

void mod_sql_default_enumerate(const struct mod_sql_settings *set,
			       struct str *dest)
{
	str_printfa(dest, "SELECT %s, %s, %s, %s, %s, %s FROM %s",
		    set->login_field, set->uid_field, set->gid_field,
		    set->home_field, field_or_empty(set->maildir_field),
		    field_or_empty(set->auxoptions_field), set->user_table);
	if (set->where_clause != NULL && set->where_clause[0] != '\0')
		str_printfa(dest, " WHERE %s", set->where_clause);
}

enum mod_sql_expand_result
mod_sql_default_chpass(const struct mod_sql_settings *set, const char *login,
		       const char *newpass, const char *newpass_crypt,
		       mod_sql_escape_t *escape, void *context,
		       struct str *dest, const char **error_r)
{
	bool comma = false;

	str_printfa(dest, "UPDATE %s SET ", set->user_table);
	if (set->clear_field != NULL && set->clear_field[0] != '\0') {
		str_printfa(dest, "%s = '", set->clear_field);
		if (escape(context, newpass, dest) < 0)
			goto bad;
		str_append_c(dest, '\'');
		comma = true;
	}
	if (set->crypt_field != NULL && set->crypt_field[0] != '\0') {
		str_printfa(dest, "%s%s = '", comma ? ", " : "",
			    set->crypt_field);
		if (escape(context, newpass_crypt, dest) < 0)
			goto bad;
		str_append_c(dest, '\'');
	}
	str_printfa(dest, " WHERE %s = '", set->login_field);
	if (escape(context, login, dest) < 0)
		goto bad;
	str_append_c(dest, '\'');
	if (set->where_clause != NULL && set->where_clause[0] != '\0')
		str_printfa(dest, " AND (%s)", set->where_clause);
	return MOD_SQL_EXPAND_OK;
bad:
	*error_r = "a value cannot be escaped for the server";
	return MOD_SQL_EXPAND_BAD_VALUE;
}

/* ------------------------------------------------------------ rows */

static bool present(const char *v)
{
	return v != NULL && v[0] != '\0';
}

static int parse_id(const char *text, unsigned long *id_r)
{
	char *end;

	if (!present(text) || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -1;
	*id_r = (unsigned long)v;
	return 0;
}

static char *maildir_path(const char *home, const char *maildir)
{
	if (maildir[0] == '/')
		return xstrdup(maildir);
	const char *m = maildir;
	while (m[0] == '.' && m[1] == '/')
		m += 2;
	return xasprintf("%s%s%s", home, str_ends_with(home, "/") ? "" : "/",
			 m);
}

int mod_sql_row_to_record(const char *const *row, size_t count,
			  const char *login, struct auth_record *rec,
			  const char **error_r)
{
	unsigned long uid, gid;

	if (count < 6) {
		*error_r = "the query returned fewer than 6 columns";
		return -1;
	}
	if (parse_id(row[3], &uid) < 0) {
		*error_r = "the account's uid is not a number";
		return -1;
	}
	if (parse_id(row[4], &gid) < 0) {
		*error_r = "the account's gid is not a number";
		return -1;
	}
	if (!present(row[5]) || row[5][0] != '/') {
		*error_r = "the account's home is missing or not absolute";
		return -1;
	}
	rec->address = xstrdup(present(row[0]) ? row[0] : login);
	if (present(row[1]))
		rec->passwd = xstrdup(row[1]);
	if (present(row[2]))
		rec->clearpasswd = xstrdup(row[2]);
	rec->has_uid = true;
	rec->uid = (uid_t)uid;
	rec->gid = (gid_t)gid;
	rec->home = xstrdup(row[5]);
	if (count > 6 && present(row[6]))
		rec->maildir = maildir_path(row[5], row[6]);
	if (count > 7 && present(row[7]))
		rec->quota = xstrdup(row[7]);
	if (count > 8 && present(row[8]))
		rec->fullname = xstrdup(row[8]);
	if (count > 9 && present(row[9]))
		rec->options = xstrdup(row[9]);
	return 0;
}

int mod_sql_enum_row_to_record(const char *const *row, size_t count,
			       struct auth_record *rec)
{
	unsigned long uid, gid;

	if (count < 4 || !present(row[0]) || parse_id(row[1], &uid) < 0 ||
	    parse_id(row[2], &gid) < 0 || !present(row[3]) ||
	    row[3][0] != '/')
		return -1;
	rec->address = xstrdup(row[0]);
	rec->has_uid = true;
	rec->uid = (uid_t)uid;
	rec->gid = (gid_t)gid;
	rec->home = xstrdup(row[3]);
	if (count > 4 && present(row[4]))
		rec->maildir = maildir_path(row[3], row[4]);
	if (count > 5 && present(row[5]))
		rec->options = xstrdup(row[5]);
	return 0;
}

/* ------------------------------------------------------------ module */

int mod_sql_init(const struct auth_module_def *def,
		 const struct mod_sql_driver *driver, size_t size,
		 const char *config_path,
		 const struct config_env *authdaemonrc,
		 struct auth_module **mod_r, const char **error_r)
{
	static char error[512];
	struct mod_sql *sql;

	if (config_path == NULL) {
		*error_r = "no settings file";
		return -1;
	}
	sql = xcalloc(1, size);
	sql->module.def = def;
	sql->driver = driver;
	sql->set = xcalloc(1, driver->settings_size);
	config_settings_init(driver->settings, sql->set);
	const char *dbg = config_env_get(authdaemonrc, "DEBUG_LOGIN");
	sql->debug = dbg != NULL && atoi(dbg) > 0;
	if (mod_sql_rc_load(config_path, driver->settings, sql->set, error,
			    sizeof(error), error_r) < 0 ||
	    driver->check(sql, error_r) < 0) {
		struct auth_module *m = &sql->module;
		mod_sql_deinit(&m);
		return -1;
	}
	struct mod_sql_settings *set = sql->set;
	if (!present(set->default_domain) &&
	    present(set->default_domain_compat)) {
		free(set->default_domain);
		set->default_domain = xstrdup(set->default_domain_compat);
	}
	if (set->select_clause == NULL || set->enumerate_clause == NULL ||
	    set->chpass_clause == NULL) {
		if (!present(set->user_table)) {
			*error_r = "the USER_TABLE setting is missing";
			goto fail;
		}
		if (!present(set->crypt_field) && !present(set->clear_field) &&
		    set->select_clause == NULL) {
			*error_r = "neither CRYPT_PWFIELD nor CLEAR_PWFIELD is "
				   "set";
			goto fail;
		}
	}
	*mod_r = &sql->module;
	return 0;
fail:;
	struct auth_module *m = &sql->module;
	mod_sql_deinit(&m);
	return -1;
}

void mod_sql_deinit(struct auth_module **mod)
{
	struct mod_sql *sql = (struct mod_sql *)*mod;

	if (sql == NULL)
		return;
	if (sql->conn != NULL)
		sql->driver->disconnect(sql);
	config_settings_free(sql->driver->settings, sql->set);
	secure_wipe(sql->set, sql->driver->settings_size);
	free(sql->set);
	x_free(*mod);
}

static int sql_escape(void *context, const char *value, struct str *dest)
{
	struct mod_sql *sql = context;
	return sql->driver->escape(sql, value, dest);
}

/* Builds a query for an open connection (escaping depends on it). */
typedef enum mod_sql_expand_result sql_build_t(struct mod_sql *sql,
					       void *job, struct str *dest,
					       const char **error_r);

struct sql_job {
	sql_build_t *build;
	bool is_exec;
	mod_sql_row_callback_t *callback;
	void *context;
	/* rows delivered so far: a lost connection after that is not
	 * retried (the caller would see rows twice) */
	size_t *delivered;
	unsigned long long rows;
	bool secret; /* the statement carries a password: never log it */
};

static long sql_timeout(const struct mod_sql *sql,
			const struct auth_request *req)
{
	long ms = (long)sql->set->timeout * 1000;
	if (req != NULL) {
		long left = auth_request_remaining_msecs(req);
		if (left < ms)
			ms = left;
	}
	return ms;
}

/* Runs a job with one retry on a lost connection.  Returns OK, NOTFOUND
 * (a value that cannot be escaped: it cannot match anything) or
 * TEMPFAIL. */
static enum auth_module_result sql_run(struct mod_sql *sql,
				       const struct auth_request *req,
				       struct sql_job *job,
				       const char **error_r)
{
	struct str query;
	enum auth_module_result res = AUTH_MODULE_TEMPFAIL;

	str_init(&query, 256);
	for (int attempt = 0; attempt < 2; attempt++) {
		long ms = sql_timeout(sql, req);
		if (ms <= 0) {
			*error_r = "no time left for the request";
			break;
		}
		if (sql->conn == NULL &&
		    sql->driver->connect(sql, ms, error_r) < 0)
			break;
		str_clear(&query);
		enum mod_sql_expand_result e =
			job->build(sql, job, &query, error_r);
		if (e == MOD_SQL_EXPAND_BAD_VALUE) {
			res = AUTH_MODULE_NOTFOUND;
			break;
		}
		if (e != MOD_SQL_EXPAND_OK)
			break;
		if (sql->debug && !job->secret)
			log_info("%s: query: %s", sql->module.def->name,
				 str_c(&query));
		enum mod_sql_status st;
		ms = sql_timeout(sql, req);
		if (job->is_exec)
			st = sql->driver->exec(sql, str_c(&query), ms,
					       &job->rows, error_r);
		else
			st = sql->driver->query(sql, str_c(&query), ms,
						job->callback, job->context,
						error_r);
		if (st == MOD_SQL_OK) {
			res = AUTH_MODULE_OK;
			break;
		}
		if (st == MOD_SQL_CONN_LOST) {
			sql->driver->disconnect(sql);
			if (attempt == 0 &&
			    (job->delivered == NULL || *job->delivered == 0)) {
				log_warning("%s: connection lost (%s), "
					    "reconnecting",
					    sql->module.def->name, *error_r);
				continue;
			}
		}
		break;
	}
	secure_wipe(query.data, query.size);
	str_free(&query);
	return res;
}

/* ---- lookup ---- */

struct lookup_job {
	struct sql_job job;
	const struct auth_request *req;
	const char *login;
	struct auth_record *rec;
	bool found;
	const char *row_error;
};

static enum mod_sql_expand_result lookup_build(struct mod_sql *sql, void *j,
					       struct str *dest,
					       const char **error_r)
{
	struct lookup_job *lj = j;
	const struct mod_sql_settings *set = sql->set;

	if (set->select_clause == NULL)
		return mod_sql_default_select(set, lj->login, sql_escape, sql,
					      dest, error_r);
	char *local, *domain;
	mod_sql_split_login(lj->req->user, set->default_domain, &local,
			    &domain);
	struct mod_sql_vars vars = {
		.local_part = local,
		.domain = domain,
		.service = lj->req->service,
	};
	enum mod_sql_expand_result r = mod_sql_expand(
		set->select_clause, &vars, sql_escape, sql, dest, error_r);
	free(local);
	free(domain);
	return r;
}

static int lookup_row(void *context, const char *const *values, size_t count)
{
	struct lookup_job *lj = context;

	if (lj->found)
		return -1;
	lj->found = true;
	if (mod_sql_row_to_record(values, count, lj->login, lj->rec,
				  &lj->row_error) < 0) {
		auth_record_free(lj->rec);
		return -1;
	}
	return -1; /* the first row is the account (as Courier) */
}

enum auth_module_result mod_sql_lookup(struct auth_module *mod,
				       const struct auth_request *req,
				       struct auth_record *rec_r,
				       const char **error_r)
{
	struct mod_sql *sql = (struct mod_sql *)mod;
	struct lookup_job lj = {
		.job = { .build = lookup_build, .callback = lookup_row },
		.req = req,
		.rec = rec_r,
	};
	lj.job.context = &lj;
	if (req->user[0] == '\0')
		return AUTH_MODULE_NOTFOUND;
	char *login = mod_sql_full_login(req->user, sql->set->default_domain);
	lj.login = login;
	enum auth_module_result res = sql_run(sql, req, &lj.job, error_r);
	free(login);
	if (res != AUTH_MODULE_OK)
		return res;
	if (!lj.found)
		return AUTH_MODULE_NOTFOUND;
	if (lj.row_error != NULL) {
		*error_r = lj.row_error;
		return AUTH_MODULE_TEMPFAIL;
	}
	return AUTH_MODULE_OK;
}

/* ---- enumerate ---- */

struct enum_job {
	struct sql_job job;
	auth_enumerate_callback_t *callback;
	void *context;
	size_t delivered;
	bool stopped;
};

static enum mod_sql_expand_result enum_build(struct mod_sql *sql, void *j,
					     struct str *dest,
					     const char **error_r)
{
	const struct mod_sql_settings *set = sql->set;

	(void)j;
	if (set->enumerate_clause == NULL) {
		mod_sql_default_enumerate(set, dest);
		return MOD_SQL_EXPAND_OK;
	}
	struct mod_sql_vars vars = {
		.local_part = "*",
		.domain = present(set->default_domain) ? set->default_domain
						       : "*",
		.service = "enumerate",
	};
	return mod_sql_expand(set->enumerate_clause, &vars, sql_escape, sql,
			      dest, error_r);
}

static int enum_row(void *context, const char *const *values, size_t count)
{
	struct enum_job *ej = context;
	struct auth_record rec;

	auth_record_init(&rec);
	if (mod_sql_enum_row_to_record(values, count, &rec) < 0) {
		auth_record_free(&rec);
		return 0;
	}
	ej->delivered++;
	int r = ej->callback(&rec, ej->context);
	auth_record_free(&rec);
	if (r < 0) {
		ej->stopped = true;
		return -1;
	}
	return 0;
}

enum auth_module_result mod_sql_enumerate(struct auth_module *mod,
					  auth_enumerate_callback_t *callback,
					  void *context, const char **error_r)
{
	struct mod_sql *sql = (struct mod_sql *)mod;
	struct enum_job ej = {
		.job = { .build = enum_build, .callback = enum_row },
		.callback = callback,
		.context = context,
	};
	ej.job.context = &ej;
	ej.job.delivered = &ej.delivered;
	enum auth_module_result res = sql_run(sql, NULL, &ej.job, error_r);
	if (res == AUTH_MODULE_OK && ej.stopped) {
		*error_r = "enumeration stopped by the client";
		return AUTH_MODULE_TEMPFAIL;
	}
	return res == AUTH_MODULE_NOTFOUND ? AUTH_MODULE_TEMPFAIL : res;
}

/* ---- change password ---- */

int mod_sql_hash_like(const char *password, const char *old_hash,
		      struct str *dest, const char **error_r)
{
	enum passwd_scheme scheme = PASSWD_SCHEME_DEFAULT;
	bool crypt_prefix = false;

	if (old_hash != NULL && old_hash[0] != '\0') {
		scheme = passwd_scheme_of(old_hash);
		crypt_prefix = str_begins_with_icase(old_hash, "{CRYPT}");
	}
	size_t start = str_len(dest);
	if (passwd_hash(password, scheme, dest, error_r) < 0) {
		str_truncate(dest, start);
		if (scheme == PASSWD_SCHEME_DEFAULT)
			return -1;
		if (passwd_hash(password, PASSWD_SCHEME_DEFAULT, dest,
				error_r) < 0)
			return -1;
	}
	if (crypt_prefix && str_c(dest)[start] == '$') {
		struct str tmp;
		str_init(&tmp, 128);
		str_append(&tmp, "{CRYPT}");
		str_append(&tmp, str_c(dest) + start);
		str_truncate(dest, start);
		str_append(dest, str_c(&tmp));
		secure_wipe(tmp.data, tmp.size);
		str_free(&tmp);
	}
	return 0;
}

struct chpass_job {
	struct sql_job job;
	const struct auth_request *req;
	const char *login;
	const char *newpass;
	const char *newpass_crypt;
};

static enum mod_sql_expand_result chpass_build(struct mod_sql *sql, void *j,
					       struct str *dest,
					       const char **error_r)
{
	struct chpass_job *cj = j;
	const struct mod_sql_settings *set = sql->set;

	if (set->chpass_clause == NULL)
		return mod_sql_default_chpass(set, cj->login, cj->newpass,
					      cj->newpass_crypt, sql_escape,
					      sql, dest, error_r);
	char *local, *domain;
	mod_sql_split_login(cj->req->user, set->default_domain, &local,
			    &domain);
	struct mod_sql_vars vars = {
		.local_part = local,
		.domain = domain,
		.service = cj->req->service,
		.newpass = cj->newpass,
		.newpass_crypt = cj->newpass_crypt,
	};
	enum mod_sql_expand_result r = mod_sql_expand(
		set->chpass_clause, &vars, sql_escape, sql, dest, error_r);
	free(local);
	free(domain);
	return r;
}

enum auth_module_result
mod_sql_change_password(struct auth_module *mod,
			const struct auth_request *req,
			const char *old_password, const char *new_password,
			const char **error_r)
{
	struct mod_sql *sql = (struct mod_sql *)mod;
	struct auth_record rec;
	struct str crypted;

	auth_record_init(&rec);
	enum auth_module_result res = mod_sql_lookup(mod, req, &rec, error_r);
	if (res != AUTH_MODULE_OK)
		return res;
	bool ok = false;
	if (rec.passwd != NULL)
		ok = passwd_verify(old_password, rec.passwd) == 1;
	else if (rec.clearpasswd != NULL)
		ok = secure_streq(old_password, rec.clearpasswd);
	if (!ok) {
		auth_record_free(&rec);
		return AUTH_MODULE_NOTFOUND;
	}
	str_init(&crypted, 128);
	if (mod_sql_hash_like(new_password, rec.passwd, &crypted, error_r) <
	    0) {
		auth_record_free(&rec);
		str_free(&crypted);
		return AUTH_MODULE_TEMPFAIL;
	}
	auth_record_free(&rec);
	char *login = mod_sql_full_login(req->user, sql->set->default_domain);
	struct chpass_job cj = {
		.job = { .build = chpass_build, .is_exec = true,
			 .secret = true },
		.req = req,
		.login = login,
		.newpass = new_password,
		.newpass_crypt = str_c(&crypted),
	};
	res = sql_run(sql, req, &cj.job, error_r);
	free(login);
	secure_wipe(crypted.data, crypted.size);
	str_free(&crypted);
	if (res == AUTH_MODULE_OK && cj.job.rows == 0) {
		*error_r = "the password change matched no row";
		return AUTH_MODULE_TEMPFAIL;
	}
	return res;
}
