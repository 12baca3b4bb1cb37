/* mod-mysql.c: the authmysql module: accounts in a MySQL/MariaDB table
 * named by authmysqlrc (MariaDB Connector/C); the queries, retries and
 * record mapping are mod-sql.c's. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>

#include "log.h"
#include "mod-sql-module.h"

struct mysql_settings {
	struct mod_sql_settings common; /* first: MOD_SQL_COMMON_SETTINGS */
	char *server;
	char *username;
	char *password;
	char *socket;
	char *database;
	char *character_set;
	char *ssl_key;
	char *ssl_cert;
	char *ssl_cacert;
	char *ssl_capath;
	char *ssl_cipher;
	char *ssl_ciphers;
	long long port;
	long long opt;
};

_Static_assert(offsetof(struct mysql_settings, common) == 0,
	       "the common settings come first");

static const struct config_setting_def mysql_defs[] = {
	MOD_SQL_COMMON_SETTINGS("MYSQL_"),
	CONFIG_SETTING_STRING(struct mysql_settings, server, "MYSQL_SERVER",
			      NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, username,
			      "MYSQL_USERNAME", NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, password,
			      "MYSQL_PASSWORD", NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, socket, "MYSQL_SOCKET",
			      NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, database,
			      "MYSQL_DATABASE", NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, character_set,
			      "MYSQL_CHARACTER_SET", NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, ssl_key, "MYSQL_SSL_KEY",
			      NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, ssl_cert,
			      "MYSQL_SSL_CERT", NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, ssl_cacert,
			      "MYSQL_SSL_CACERT", NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, ssl_capath,
			      "MYSQL_SSL_CAPATH", NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, ssl_cipher,
			      "MYSQL_SSL_CIPHER", NULL),
	CONFIG_SETTING_STRING(struct mysql_settings, ssl_ciphers,
			      "MYSQL_SSL_CIPHERS", NULL),
	CONFIG_SETTING_INT(struct mysql_settings, port, "MYSQL_PORT", "0", 0,
			   65535),
	CONFIG_SETTING_INT(struct mysql_settings, opt, "MYSQL_OPT", "0", 0,
			   0xffffffffLL),
	CONFIG_SETTING_END
};

static const struct mysql_settings *mysql_set(const struct mod_sql *sql)
{
	return (const struct mysql_settings *)sql->set;
}

static int mysql_check(struct mod_sql *sql, const char **error_r)
{
	const struct mysql_settings *set = mysql_set(sql);

	if ((set->server == NULL || set->server[0] == '\0') &&
	    (set->socket == NULL || set->socket[0] == '\0')) {
		*error_r = "neither MYSQL_SERVER nor MYSQL_SOCKET is set";
		return -1;
	}
	if (set->username == NULL) {
		*error_r = "MYSQL_USERNAME is not set";
		return -1;
	}
	if (set->database == NULL) {
		*error_r = "MYSQL_DATABASE is not set";
		return -1;
	}
	return 0;
}

static void mysql_disconnect(struct mod_sql *sql)
{
	if (sql->conn != NULL)
		mysql_close(sql->conn);
	sql->conn = NULL;
}

/* Connects to one host (NULL: the socket). */
static MYSQL *mysql_try(struct mod_sql *sql, const char *host,
			unsigned int secs)
{
	const struct mysql_settings *set = mysql_set(sql);
	unsigned int io_secs = (unsigned int)set->common.timeout;
	MYSQL *m = mysql_init(NULL);
	my_bool off = 0;

	if (m == NULL)
		log_fatal("out of memory (mysql_init)");
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &io_secs);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &io_secs);
	mysql_options(m, MYSQL_OPT_RECONNECT, &off);
	mysql_options(m, MYSQL_SET_CHARSET_NAME,
		      set->character_set != NULL ? set->character_set
						 : "utf8mb4");
	/* Courier's rule: SSL when a certificate and a CA are given. */
	if (set->ssl_cert != NULL &&
	    (set->ssl_cacert != NULL || set->ssl_capath != NULL))
		mysql_ssl_set(m, set->ssl_key, set->ssl_cert, set->ssl_cacert,
			      set->ssl_capath,
			      set->ssl_cipher != NULL ? set->ssl_cipher
						      : set->ssl_ciphers);
	unsigned long flags = (unsigned long)set->opt | CLIENT_FOUND_ROWS;
	if (mysql_real_connect(m, host, set->username, set->password,
			       set->database, (unsigned int)set->port,
			       host == NULL ? set->socket : NULL,
			       flags) == NULL) {
		snprintf(sql->error, sizeof(sql->error),
			 "cannot connect to MySQL server %s: %s",
			 host != NULL ? host : set->socket, mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

static int mysql_connect(struct mod_sql *sql, long timeout_ms,
			 const char **error_r)
{
	const struct mysql_settings *set = mysql_set(sql);
	unsigned int secs = (unsigned int)((timeout_ms + 999) / 1000);
	MYSQL *m = NULL;

	if (secs == 0)
		secs = 1;
	if (set->server == NULL || set->server[0] == '\0') {
		m = mysql_try(sql, NULL, secs);
	} else {
		/* Several servers, separated by commas or blanks, are tried
		 * in order (failover). */
		char **hosts = str_split(set->server, ", \t");
		for (size_t i = 0; hosts[i] != NULL && m == NULL; i++) {
			if (hosts[i][0] == '\0')
				continue;
			m = mysql_try(sql, hosts[i], secs);
			if (m == NULL && hosts[i + 1] != NULL)
				log_warning("authmysql: %s", sql->error);
		}
		str_split_free(&hosts);
	}
	if (m == NULL) {
		*error_r = sql->error;
		return -1;
	}
	if (set->character_set != NULL &&
	    strcmp(mysql_character_set_name(m), set->character_set) != 0)
		log_warning("authmysql: cannot use character set %s, the "
			    "connection uses %s",
			    set->character_set, mysql_character_set_name(m));
	sql->conn = m;
	return 0;
}

static long mysql_escape_fn(void *conn, char *to, const char *from,
			    size_t len)
{
	unsigned long n = mysql_real_escape_string(conn, to, from,
						   (unsigned long)len);

	return n == (unsigned long)-1 ? -1 : (long)n;
}

static int mysql_escape(void *context, const char *value, struct str *dest)
{
	struct mod_sql *sql = context;

	return mod_sql_escape_with(sql->conn, mysql_escape_fn, value, dest);
}

static bool mysql_conn_error(unsigned int err)
{
	/* The client's own errors (2000-2999: gone, lost, cannot connect,
	 * timeouts) and the server's shutdown / killed connection. */
	return (err >= 2000 && err < 3000) || err == 1053 || err == 1927;
}

static enum mod_sql_status mysql_fail(struct mod_sql *sql,
				      const char **error_r)
{
	MYSQL *m = sql->conn;
	unsigned int err = mysql_errno(m);

	snprintf(sql->error, sizeof(sql->error), "MySQL error %u: %s", err,
		 mysql_error(m));
	*error_r = sql->error;
	return mysql_conn_error(err) ? MOD_SQL_CONN_LOST : MOD_SQL_FAILED;
}

static enum mod_sql_status mysql_query_rows(struct mod_sql *sql,
					    const char *query,
					    long timeout_ms,
					    mod_sql_row_callback_t *callback,
					    void *context,
					    const char **error_r)
{
	MYSQL *m = sql->conn;

	(void)timeout_ms; /* bounded by the connection's read timeout */
	if (mysql_real_query(m, query, strlen(query)) != 0)
		return mysql_fail(sql, error_r);
	MYSQL_RES *res = mysql_use_result(m);
	if (res == NULL) {
		if (mysql_errno(m) != 0)
			return mysql_fail(sql, error_r);
		*error_r = "the query returned no result set";
		return MOD_SQL_FAILED;
	}
	size_t count = mysql_num_fields(res);
	MYSQL_ROW row;
	bool stopped = false;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (callback(context, (const char *const *)row, count) < 0) {
			stopped = true;
			break;
		}
	}
	enum mod_sql_status st = MOD_SQL_OK;
	if (!stopped && mysql_errno(m) != 0)
		st = mysql_fail(sql, error_r);
	/* mysql_free_result() reads the rest of a stopped result. */
	mysql_free_result(res);
	if (st == MOD_SQL_OK && mysql_errno(m) != 0)
		st = mysql_fail(sql, error_r);
	return st;
}

static enum mod_sql_status mysql_exec(struct mod_sql *sql, const char *stmt,
				      long timeout_ms,
				      unsigned long long *rows_r,
				      const char **error_r)
{
	MYSQL *m = sql->conn;

	(void)timeout_ms;
	if (mysql_real_query(m, stmt, strlen(stmt)) != 0)
		return mysql_fail(sql, error_r);
	MYSQL_RES *res = mysql_store_result(m);
	if (res != NULL)
		mysql_free_result(res);
	my_ulonglong n = mysql_affected_rows(m);
	*rows_r = n == (my_ulonglong)-1 ? 0 : (unsigned long long)n;
	return MOD_SQL_OK;
}

static const struct mod_sql_driver mysql_driver = {
	.settings_size = sizeof(struct mysql_settings),
	.settings = mysql_defs,
	.check = mysql_check,
	.connect = mysql_connect,
	.disconnect = mysql_disconnect,
	.escape = mysql_escape,
	.query = mysql_query_rows,
	.exec = mysql_exec,
};

MOD_SQL_MODULE_DEF(auth_module_mysql, "authmysql", "authmysqlrc",
		   mysql_driver);
