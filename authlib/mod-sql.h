/* mod-sql.h: what the SQL modules (authmysql, authpgsql) share, and the
 * loading of Courier's authldaprc/authmysqlrc/authpgsqlrc settings.
 *
 * RC FILES.  Courier's authldaprc, authmysqlrc and authpgsqlrc are not
 * shell files but "NAME value" files, read by lib/config-rc.h;
 * mod_sql_rc_load() applies one to a typed settings table.
 *
 * QUERIES.  The default query is built from the *_FIELD settings as
 * Courier builds it:
 *	SELECT login, crypt, clear, uid, gid, home, maildir, quota, name,
 *	       options FROM table WHERE login = 'USER' [AND (where)]
 * (a field not configured is selected as ''), USER being the login with
 * "@DEFAULT_DOMAIN" appended when it has no '@'.  A custom *_SELECT_CLAUSE,
 * *_ENUMERATE_CLAUSE or *_CHPASS_CLAUSE is a template in which $(local_part),
 * $(domain), $(service), $(newpass) and $(newpass_crypt) are replaced by
 * the value escaped with the driver's own function (for use inside '...'
 * quotes, in the connection's character set).  Every value from the client
 * goes through that escaping: a login name cannot change a query.
 *
 * CONNECTIONS.  The module keeps one connection per worker, opened lazily.
 * A query that fails because the connection was lost is retried once on a
 * fresh connection; a second failure, a connect failure or a timeout is
 * AUTH_MODULE_TEMPFAIL (never a wrong password). */
#ifndef MOD_SQL_H
#define MOD_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "auth-module.h"
#include "config-env.h"
#include "config-errors.h"
#include "config-settings.h"
#include "str.h"

/* ---- Courier rc files ---- */

/* Reads path and applies it to the settings table defs/set (after
 * config_settings_init).  Returns 0, or -1 with *error_r (static, or in
 * buf of buf_size bytes) when the file is missing, unreadable or has a
 * bad value.  Unknown names are logged as warnings. */
int mod_sql_rc_load(const char *path, const struct config_setting_def *defs,
		    void *set, char *buf, size_t buf_size,
		    const char **error_r);

/* ---- templates ---- */

/* Appends value escaped for use inside '...' to dest.  Returns 0, or -1
 * when the value cannot be escaped (e.g. invalid in the connection's
 * character set). */
typedef int mod_sql_escape_t(void *context, const char *value,
			     struct str *dest);

/* The values a template may use; NULL ones are unknown names there. */
struct mod_sql_vars {
	const char *local_part;
	const char *domain;
	const char *service;
	const char *newpass;
	const char *newpass_crypt;
};

enum mod_sql_expand_result {
	MOD_SQL_EXPAND_OK = 0,
	MOD_SQL_EXPAND_BAD_TEMPLATE = -1, /* unknown or unclosed $(...) */
	MOD_SQL_EXPAND_BAD_VALUE = -2,	   /* escape refused a value */
};

/* Appends tmpl to dest with every $(name) replaced by the escaped value
 * of name.  A '$' not followed by '(' is copied.  Returns OK, or an error
 * with a static *error_r (never containing a value). */
enum mod_sql_expand_result mod_sql_expand(const char *tmpl,
					  const struct mod_sql_vars *vars,
					  mod_sql_escape_t *escape,
					  void *context, struct str *dest,
					  const char **error_r);

/* Splits user into local part and domain (after the LAST '@'); a user
 * without '@' gets default_domain (NULL or "" for none: domain "").
 * Both results are newly allocated. */
void mod_sql_split_login(const char *user, const char *default_domain,
			 char **local_r, char **domain_r);
/* The login to look up: user, with "@default_domain" appended when user
 * has no '@' and default_domain is not empty.  Newly allocated. */
char *mod_sql_full_login(const char *user, const char *default_domain);

/* ---- settings every SQL module has ---- */

struct mod_sql_settings {
	char *user_table;
	char *crypt_field;
	char *clear_field;
	char *uid_field;
	char *gid_field;
	char *login_field;
	char *home_field;
	char *name_field;
	char *maildir_field;
	char *defaultdelivery_field;
	char *quota_field;
	char *auxoptions_field;
	char *where_clause;
	char *default_domain;
	char *default_domain_compat; /* Courier's older DEFAULT_DOMAIN */
	char *select_clause;
	char *enumerate_clause;
	char *chpass_clause;
	long long timeout; /* seconds, for connecting and each query */
};

/* The table entries of struct mod_sql_settings for the prefix P ("MYSQL_",
 * "PGSQL_"), to put first in a driver's table whose settings struct has
 * struct mod_sql_settings as its first member.  Courier's defaults. */
#define MOD_SQL_COMMON_SETTINGS(P)                                            \
	CONFIG_SETTING_STRING(struct mod_sql_settings, user_table,            \
			      P "USER_TABLE", NULL),                          \
	CONFIG_SETTING_STRING(struct mod_sql_settings, crypt_field,           \
			      P "CRYPT_PWFIELD", NULL),                       \
	CONFIG_SETTING_STRING(struct mod_sql_settings, clear_field,           \
			      P "CLEAR_PWFIELD", NULL),                       \
	CONFIG_SETTING_STRING(struct mod_sql_settings, uid_field,             \
			      P "UID_FIELD", "uid"),                          \
	CONFIG_SETTING_STRING(struct mod_sql_settings, gid_field,             \
			      P "GID_FIELD", "gid"),                          \
	CONFIG_SETTING_STRING(struct mod_sql_settings, login_field,           \
			      P "LOGIN_FIELD", "id"),                         \
	CONFIG_SETTING_STRING(struct mod_sql_settings, home_field,            \
			      P "HOME_FIELD", "home"),                        \
	CONFIG_SETTING_STRING(struct mod_sql_settings, name_field,            \
			      P "NAME_FIELD", NULL),                          \
	CONFIG_SETTING_STRING(struct mod_sql_settings, maildir_field,         \
			      P "MAILDIR_FIELD", NULL),                       \
	CONFIG_SETTING_STRING(struct mod_sql_settings,                        \
			      defaultdelivery_field, P "DEFAULTDELIVERY",     \
			      NULL),                                          \
	CONFIG_SETTING_STRING(struct mod_sql_settings, quota_field,           \
			      P "QUOTA_FIELD", NULL),                         \
	CONFIG_SETTING_STRING(struct mod_sql_settings, auxoptions_field,      \
			      P "AUXOPTIONS_FIELD", NULL),                    \
	CONFIG_SETTING_STRING(struct mod_sql_settings, where_clause,          \
			      P "WHERE_CLAUSE", NULL),                        \
	CONFIG_SETTING_STRING(struct mod_sql_settings, default_domain,        \
			      P "DEFAULT_DOMAIN", NULL),                      \
	CONFIG_SETTING_STRING(struct mod_sql_settings,                        \
			      default_domain_compat, "DEFAULT_DOMAIN", NULL), \
	CONFIG_SETTING_STRING(struct mod_sql_settings, select_clause,         \
			      P "SELECT_CLAUSE", NULL),                       \
	CONFIG_SETTING_STRING(struct mod_sql_settings, enumerate_clause,      \
			      P "ENUMERATE_CLAUSE", NULL),                    \
	CONFIG_SETTING_STRING(struct mod_sql_settings, chpass_clause,         \
			      P "CHPASS_CLAUSE", NULL),                       \
	CONFIG_SETTING_INT(struct mod_sql_settings, timeout, P "TIMEOUT",     \
			   "10", 1, 3600)

/* Builds the default lookup query for login (already with its default
 * domain) into dest, escaping with escape.  Returns as mod_sql_expand. */
enum mod_sql_expand_result
mod_sql_default_select(const struct mod_sql_settings *set, const char *login,
		       mod_sql_escape_t *escape, void *context,
		       struct str *dest, const char **error_r);
/* The default enumerate query (no client data in it). */
void mod_sql_default_enumerate(const struct mod_sql_settings *set,
			       struct str *dest);
/* The default password change statement. */
enum mod_sql_expand_result
mod_sql_default_chpass(const struct mod_sql_settings *set, const char *login,
		       const char *newpass, const char *newpass_crypt,
		       mod_sql_escape_t *escape, void *context,
		       struct str *dest, const char **error_r);

/* Fills rec from a lookup row (username, cryptpw, clearpw, uid, gid, home,
 * maildir, quota, fullname, options; NULL or "" values are absent; at
 * least 6 columns).  login is the address when the row's username is
 * empty.  A relative maildir is taken relative to home.  Returns 0, or -1
 * with a static *error_r (a bad uid/gid, no home, too few columns). */
int mod_sql_row_to_record(const char *const *row, size_t count,
			  const char *login, struct auth_record *rec,
			  const char **error_r);
/* Fills rec from an enumerate row (name, uid, gid, home, maildir,
 * options).  Returns 0, or -1 for a row to skip. */
int mod_sql_enum_row_to_record(const char *const *row, size_t count,
			       struct auth_record *rec);

/* Appends a hash of password to dest in the scheme of old_hash (keeping a
 * "{CRYPT}" prefix), or the default scheme when old_hash is NULL or its
 * scheme cannot be made.  Returns 0, or -1 with a static *error_r. */
int mod_sql_hash_like(const char *password, const char *old_hash,
		      struct str *dest, const char **error_r);

/* ---- the generic module over a driver ---- */

enum mod_sql_status {
	MOD_SQL_OK = 0,
	MOD_SQL_FAILED = -1,	/* the server refused the query (or it timed
				   out): do not retry */
	MOD_SQL_CONN_LOST = -2, /* the connection broke: reconnect, retry */
};

/* Called for each result row; values[i] is NULL for SQL NULL.  Returns 0
 * to go on, -1 to stop (the query then returns MOD_SQL_OK). */
typedef int mod_sql_row_callback_t(void *context, const char *const *values,
				   size_t count);

struct mod_sql;

struct mod_sql_driver {
	/* The settings: a struct starting with struct mod_sql_settings,
	 * settings_size bytes, read with table settings. */
	size_t settings_size;
	const struct config_setting_def *settings;
	/* Checks the loaded settings; 0, or -1 and a static *error_r. */
	int (*check)(struct mod_sql *sql, const char **error_r);
	/* Opens sql's connection within timeout_ms.  0, or -1 with
	 * *error_r (module-owned, never a password). */
	int (*connect)(struct mod_sql *sql, long timeout_ms,
		       const char **error_r);
	/* Closes the connection (harmless when none). */
	void (*disconnect)(struct mod_sql *sql);
	/* Escapes with the open connection. */
	mod_sql_escape_t *escape;
	/* Runs a SELECT, calling callback per row.  timeout_ms bounds it. */
	enum mod_sql_status (*query)(struct mod_sql *sql, const char *query,
				     long timeout_ms,
				     mod_sql_row_callback_t *callback,
				     void *context, const char **error_r);
	/* Runs a statement (UPDATE) and gives the number of rows matched. */
	enum mod_sql_status (*exec)(struct mod_sql *sql, const char *stmt,
				    long timeout_ms,
				    unsigned long long *rows_r,
				    const char **error_r);
};

/* The state every SQL module instance starts with. */
struct mod_sql {
	struct auth_module module;
	const struct mod_sql_driver *driver;
	/* driver->settings_size bytes, starting with the common settings. */
	struct mod_sql_settings *set;
	/* The driver's connection handle, NULL when not connected. */
	void *conn;
	int debug; /* DEBUG_LOGIN of authdaemonrc */
	char error[512];
};

/* Allocates a module instance of size bytes (>= sizeof(struct mod_sql),
 * the driver's struct starting with struct mod_sql), loads config_path
 * into its settings and checks them.  Returns 0 and *mod_r, or -1 and
 * *error_r.  Does not connect (connections are opened on first use). */
int mod_sql_init(const struct auth_module_def *def,
		 const struct mod_sql_driver *driver, size_t size,
		 const char *config_path,
		 const struct config_env *authdaemonrc,
		 struct auth_module **mod_r, const char **error_r);
void mod_sql_deinit(struct auth_module **mod);
enum auth_module_result mod_sql_lookup(struct auth_module *mod,
				       const struct auth_request *req,
				       struct auth_record *rec_r,
				       const char **error_r);
enum auth_module_result mod_sql_enumerate(struct auth_module *mod,
					  auth_enumerate_callback_t *callback,
					  void *context, const char **error_r);
enum auth_module_result
mod_sql_change_password(struct auth_module *mod,
			const struct auth_request *req,
			const char *old_password, const char *new_password,
			const char **error_r);

#endif
