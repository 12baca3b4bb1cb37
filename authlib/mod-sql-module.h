/* mod-sql-module.h: what each SQL driver file (mod-mysql.c, mod-pgsql.c)
 * adds to the generic module of mod-sql.h in the same way: its auth module
 * table over the driver, and a value escaped through the client library's
 * function into a buffer that is wiped afterwards (a value may be a
 * password).  Included by the driver files only. */
#ifndef MOD_SQL_MODULE_H
#define MOD_SQL_MODULE_H

#include <stdlib.h>
#include <string.h>

#include "auth-module.h"
#include "mem.h"
#include "mod-sql.h"
#include "secure.h"
#include "str.h"

/* Defines `const struct auth_module_def SYM`: the module NAME
 * ("authmysql") with its settings in RCFILE ("authmysqlrc"), whose
 * lookups, enumeration and password changes are mod-sql.c's over DRIVER
 * (a struct mod_sql_driver of the file). */
#define MOD_SQL_MODULE_DEF(SYM, NAME, RCFILE, DRIVER)                         \
	static int SYM##_init(const struct auth_module_def *def,              \
			      const char *config_path,                        \
			      const struct config_env *authdaemonrc,          \
			      struct auth_module **mod_r,                     \
			      const char **error_r)                           \
	{                                                                     \
		return mod_sql_init(def, &(DRIVER), sizeof(struct mod_sql),   \
				    config_path, authdaemonrc, mod_r,         \
				    error_r);                                 \
	}                                                                     \
	const struct auth_module_def SYM = {                                  \
		.name = NAME,                                                 \
		.config_file = RCFILE,                                        \
		.init = SYM##_init,                                           \
		.deinit = mod_sql_deinit,                                     \
		.lookup = mod_sql_lookup,                                     \
		.authenticate = NULL,                                         \
		.enumerate = mod_sql_enumerate,                               \
		.change_password = mod_sql_change_password,                   \
	}

/* A client library's escaping for use inside '...': writes the escaped
 * form of the len bytes of from, and a NUL, to to (which has room for
 * 2 * len + 1 bytes); returns the length written, or -1 when from cannot
 * be escaped (not valid in the connection's encoding). */
typedef long mod_sql_escape_fn_t(void *conn, char *to, const char *from,
				 size_t len);

/* Appends value escaped by fn over conn to dest.  Returns 0, or -1 when
 * it cannot be escaped (then nothing is appended: such a value matches
 * nothing). */
static inline int mod_sql_escape_with(void *conn, mod_sql_escape_fn_t *fn,
				      const char *value, struct str *dest)
{
	size_t len = strlen(value), size = len * 2 + 1;
	char *buf = xmalloc(size);
	long n = fn(conn, buf, value, len);

	if (n >= 0)
		str_append_n(dest, buf, (size_t)n);
	secure_wipe(buf, size);
	free(buf);
	return n < 0 ? -1 : 0;
}

#endif
