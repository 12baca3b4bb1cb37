/* mod-pgsql.c: the authpgsql module: accounts in a PostgreSQL table named
 * by authpgsqlrc (libpq); the queries, retries and record mapping are
 * mod-sql.c's.  Queries run asynchronously and are cancelled when the
 * request's time runs out. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "mem.h"
#include "mod-sql-module.h"

struct pgsql_settings {
	struct mod_sql_settings common; /* first: MOD_SQL_COMMON_SETTINGS */
	char *connection;
	char *host;
	char *port;
	char *username;
	char *password;
	char *database;
	char *character_set;
	char *opt;
};

_Static_assert(offsetof(struct pgsql_settings, common) == 0,
	       "the common settings come first");

static const struct config_setting_def pgsql_defs[] = {
	MOD_SQL_COMMON_SETTINGS("PGSQL_"),
	CONFIG_SETTING_STRING(struct pgsql_settings, connection,
			      "PGSQL_CONNECTION", NULL),
	CONFIG_SETTING_STRING(struct pgsql_settings, host, "PGSQL_HOST",
			      NULL),
	CONFIG_SETTING_STRING(struct pgsql_settings, port, "PGSQL_PORT",
			      NULL),
	CONFIG_SETTING_STRING(struct pgsql_settings, username,
			      "PGSQL_USERNAME", NULL),
	CONFIG_SETTING_STRING(struct pgsql_settings, password,
			      "PGSQL_PASSWORD", NULL),
	CONFIG_SETTING_STRING(struct pgsql_settings, database,
			      "PGSQL_DATABASE", NULL),
	CONFIG_SETTING_STRING(struct pgsql_settings, character_set,
			      "PGSQL_CHARACTER_SET", NULL),
	CONFIG_SETTING_STRING(struct pgsql_settings, opt, "PGSQL_OPT", NULL),
	CONFIG_SETTING_END
};

static const struct pgsql_settings *pgsql_set(const struct mod_sql *sql)
{
	return (const struct pgsql_settings *)sql->set;
}

static int pgsql_check(struct mod_sql *sql, const char **error_r)
{
	const struct pgsql_settings *set = pgsql_set(sql);

	if (set->connection == NULL && set->database == NULL) {
		*error_r = "neither PGSQL_CONNECTION nor PGSQL_DATABASE is set";
		return -1;
	}
	return 0;
}

static void pgsql_disconnect(struct mod_sql *sql)
{
	if (sql->conn != NULL)
		PQfinish(sql->conn);
	sql->conn = NULL;
}

static int pgsql_connect(struct mod_sql *sql, long timeout_ms,
			 const char **error_r)
{
	const struct pgsql_settings *set = pgsql_set(sql);
	const char *keys[12], *values[12];
	size_t n = 0;
	char timeout[32];
	long secs = (timeout_ms + 999) / 1000;

	/* libpq's smallest useful connect_timeout is 2 seconds. */
	snprintf(timeout, sizeof(timeout), "%ld", secs < 2 ? 2 : secs);
	if (set->connection != NULL) {
		/* A conninfo string or URI; what it says wins over the
		 * PGSQL_* fields given with it. */
		keys[n] = "dbname";
		values[n++] = set->connection;
	} else {
		/* PGSQL_HOST may list several hosts (failover):
		 * libpq tries them in order. */
#define ADD(k, v) do { if ((v) != NULL && (v)[0] != '\0') { \
		keys[n] = (k); values[n++] = (v); } } while (0)
		ADD("host", set->host);
		ADD("port", set->port);
		ADD("user", set->username);
		ADD("password", set->password);
		ADD("dbname", set->database);
		ADD("options", set->opt);
#undef ADD
	}
	keys[n] = "connect_timeout";
	values[n++] = timeout;
	keys[n] = "client_encoding";
	values[n++] = set->character_set != NULL ? set->character_set : "UTF8";
	keys[n] = "application_name";
	values[n++] = "authdaemond";
	keys[n] = NULL;
	values[n] = NULL;

	PGconn *c = PQconnectdbParams(keys, values, 1);
	if (c == NULL)
		log_fatal("out of memory (PQconnectdbParams)");
	if (PQstatus(c) != CONNECTION_OK) {
		const char *msg = PQerrorMessage(c);
		size_t len = strcspn(msg, "\n");
		snprintf(sql->error, sizeof(sql->error),
			 "cannot connect to PostgreSQL: %.*s", (int)len, msg);
		PQfinish(c);
		*error_r = sql->error;
		return -1;
	}
	if (PQsetnonblocking(c, 1) != 0) {
		snprintf(sql->error, sizeof(sql->error),
			 "PostgreSQL: cannot make the connection non-blocking");
		PQfinish(c);
		*error_r = sql->error;
		return -1;
	}
	sql->conn = c;
	return 0;
}

static long pgsql_escape_fn(void *conn, char *to, const char *from,
			    size_t len)
{
	int err = 0;
	size_t n = PQescapeStringConn(conn, to, from, len, &err);

	/* err: not valid in the client encoding (cannot match) */
	return err != 0 ? -1 : (long)n;
}

static int pgsql_escape(void *context, const char *value, struct str *dest)
{
	struct mod_sql *sql = context;

	return mod_sql_escape_with(sql->conn, pgsql_escape_fn, value, dest);
}

static long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum mod_sql_status pgsql_conn_failed(struct mod_sql *sql,
					     const char *what,
					     const char **error_r)
{
	const char *msg = PQerrorMessage(sql->conn);
	size_t len = strcspn(msg, "\n");

	snprintf(sql->error, sizeof(sql->error), "PostgreSQL %s: %.*s", what,
		 (int)len, msg);
	*error_r = sql->error;
	return PQstatus(sql->conn) == CONNECTION_OK ? MOD_SQL_FAILED
						    : MOD_SQL_CONN_LOST;
}

/* Sends query and waits for its single result until timeout_ms.  Returns
 * OK with *res_r, or a failure (a timeout cancels the query and is
 * MOD_SQL_FAILED after dropping the connection). */
static enum mod_sql_status pgsql_run(struct mod_sql *sql, const char *query,
				     long timeout_ms, PGresult **res_r,
				     const char **error_r)
{
	PGconn *c = sql->conn;
	long deadline = monotonic_ms() + timeout_ms;
	PGresult *res = NULL;

	*res_r = NULL;
	if (PQsendQuery(c, query) == 0)
		return pgsql_conn_failed(sql, "query", error_r);
	for (;;) {
		int flush = PQflush(c);
		if (flush < 0)
			return pgsql_conn_failed(sql, "query", error_r);
		if (flush == 0 && PQconsumeInput(c) == 0)
			return pgsql_conn_failed(sql, "query", error_r);
		if (flush == 0 && !PQisBusy(c))
			break;
		long left = deadline - monotonic_ms();
		if (left <= 0) {
			PGcancel *cancel = PQgetCancel(c);
			char buf[256];
			if (cancel != NULL) {
				PQcancel(cancel, buf, sizeof(buf));
				PQfreeCancel(cancel);
			}
			/* The connection's state is unknown: drop it. */
			PQfinish(c);
			sql->conn = NULL;
			*error_r = "PostgreSQL query timed out";
			return MOD_SQL_FAILED;
		}
		struct pollfd pfd = {
			.fd = PQsocket(c),
			.events = POLLIN | (flush == 1 ? POLLOUT : 0),
		};
		if (pfd.fd < 0)
			return pgsql_conn_failed(sql, "query", error_r);
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) < 0 &&
		    errno != EINTR) {
			snprintf(sql->error, sizeof(sql->error),
				 "poll: %s", strerror(errno));
			*error_r = sql->error;
			return MOD_SQL_FAILED;
		}
	}
	/* One statement: one result, then NULL. */
	PGresult *r;
	while ((r = PQgetResult(c)) != NULL) {
		if (res == NULL)
			res = r;
		else
			PQclear(r);
	}
	if (res == NULL)
		return pgsql_conn_failed(sql, "query", error_r);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		const char *msg = PQresultErrorMessage(res);
		size_t len = strcspn(msg, "\n");
		snprintf(sql->error, sizeof(sql->error),
			 "PostgreSQL query failed: %.*s", (int)len, msg);
		*error_r = sql->error;
		PQclear(res);
		return PQstatus(c) == CONNECTION_OK ? MOD_SQL_FAILED
						    : MOD_SQL_CONN_LOST;
	}
	*res_r = res;
	return MOD_SQL_OK;
}

static enum mod_sql_status pgsql_query(struct mod_sql *sql, const char *query,
				       long timeout_ms,
				       mod_sql_row_callback_t *callback,
				       void *context, const char **error_r)
{
	PGresult *res;
	enum mod_sql_status st = pgsql_run(sql, query, timeout_ms, &res,
					   error_r);
	if (st != MOD_SQL_OK)
		return st;
	int rows = PQntuples(res), cols = PQnfields(res);
	const char **values = xcalloc(cols > 0 ? cols : 1, sizeof(*values));
	for (int i = 0; i < rows; i++) {
		for (int j = 0; j < cols; j++)
			values[j] = PQgetisnull(res, i, j)
					    ? NULL
					    : PQgetvalue(res, i, j);
		if (callback(context, values, (size_t)cols) < 0)
			break;
	}
	free(values);
	PQclear(res);
	return MOD_SQL_OK;
}

static enum mod_sql_status pgsql_exec(struct mod_sql *sql, const char *stmt,
				      long timeout_ms,
				      unsigned long long *rows_r,
				      const char **error_r)
{
	PGresult *res;
	enum mod_sql_status st = pgsql_run(sql, stmt, timeout_ms, &res,
					   error_r);
	if (st != MOD_SQL_OK)
		return st;
	const char *n = PQcmdTuples(res);
	*rows_r = n != NULL && n[0] != '\0' ? strtoull(n, NULL, 10) : 0;
	PQclear(res);
	return MOD_SQL_OK;
}

static const struct mod_sql_driver pgsql_driver = {
	.settings_size = sizeof(struct pgsql_settings),
	.settings = pgsql_defs,
	.check = pgsql_check,
	.connect = pgsql_connect,
	.disconnect = pgsql_disconnect,
	.escape = pgsql_escape,
	.query = pgsql_query,
	.exec = pgsql_exec,
};

MOD_SQL_MODULE_DEF(auth_module_pgsql, "authpgsql", "authpgsqlrc",
		   pgsql_driver);
