/* test-auth-sql.c: unit tests for the SQL modules' shared logic (Courier rc
 * files, $(var) templates, escaping, default queries, row mapping) and the
 * LDAP filter escaping. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "config-file.h"
#include "mem.h"
#include "mod-sql.h"
#include "config-rc.h"
#ifdef AUTHLIB_WITH_LDAP
#include "mod-ldap.h"
#endif
#ifdef AUTHLIB_WITH_MYSQL
#include <mysql.h>
#endif

/* An escaper in the style of a SQL client: doubles ' and \, refuses a
 * value containing 0xff (standing for "invalid in the charset"). */
static int test_escape(void *context, const char *value, struct str *dest)
{
	int *calls = context;
	if (calls != NULL)
		(*calls)++;
	if (strchr(value, '\xff') != NULL)
		return -1;
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\'' || *p == '\\')
			str_append_c(dest, *p);
		str_append_c(dest, *p);
	}
	return 0;
}

static struct config_env *rc_from_text(const char *text,
				       struct config_errors *errs,
				       unsigned int *errors_r)
{
	struct config_lines *lines = config_lines_new(NULL);
	struct config_env *env = config_env_new(NULL);

	config_lines_parse(lines, "authmysqlrc", text, strlen(text), errs);
	*errors_r = config_rc_parse(env, lines, errs);
	config_lines_free(&lines);
	return env;
}

static void test_rc_parse(void **state)
{
	struct config_errors *errs = config_errors_new();
	unsigned int errors;
	struct config_env *env = rc_from_text(
		"# comment\n"
		"MYSQL_SERVER\t\tmysql.example.com\n"
		"MYSQL_USERNAME admin   \n"
		"MYSQL_PASSWORD\tpass word with # hash\n"
		"MYSQL_EMPTY\n"
		"MYSQL_SELECT_CLAUSE\tSELECT a,\t\\\n"
		"\t\tb FROM t \\\n"
		"\t\tWHERE x = '$(local_part)'\n"
		"MYSQL_PORT\t3306\n"
		"MYSQL_PORT\t3307\n",
		errs, &errors);

	assert_int_equal(errors, 0);
	assert_string_equal(config_env_get(env, "MYSQL_SERVER"),
			    "mysql.example.com");
	assert_string_equal(config_env_get(env, "MYSQL_USERNAME"), "admin");
	assert_string_equal(config_env_get(env, "MYSQL_PASSWORD"),
			    "pass word with # hash");
	assert_string_equal(config_env_get(env, "MYSQL_EMPTY"), "");
	assert_string_equal(config_env_get(env, "MYSQL_SELECT_CLAUSE"),
			    "SELECT a,\t  \t\tb FROM t   \t\tWHERE x = "
			    "'$(local_part)'");
	/* the last one wins, with its line */
	const struct config_env_entry *e =
		config_env_find(env, "MYSQL_PORT");
	assert_string_equal(e->value, "3307");
	assert_int_equal(e->line, 10);
	assert_string_equal(e->file, "authmysqlrc");
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static void test_rc_malformed(void **state)
{
	struct config_errors *errs = config_errors_new();
	unsigned int errors;
	struct config_env *env = rc_from_text(
		"MYSQL_SERVER=localhost\n"  /* shell syntax is not ours */
		"  indented value\n"
		"9NAME value\n"
		"GOOD\tyes\n"
		"TRAILING\tend \\\n",	    /* continuation at EOF */
		errs, &errors);

	assert_int_equal(errors, 3);
	assert_true(config_errors_contains(errs, "authmysqlrc:1:"));
	assert_true(config_errors_contains(errs, "authmysqlrc:2:"));
	assert_true(config_errors_contains(errs, "authmysqlrc:3:"));
	assert_string_equal(config_env_get(env, "GOOD"), "yes");
	assert_string_equal(config_env_get(env, "TRAILING"), "end");
	assert_null(config_env_get(env, "MYSQL_SERVER"));
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static const struct config_setting_def common_defs[] = {
	MOD_SQL_COMMON_SETTINGS("MYSQL_"),
	CONFIG_SETTING_END
};

static void test_rc_load_typed(void **state)
{
	char path[] = "/tmp/test-auth-sql-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "MYSQL_USER_TABLE\tusers\n"
			   "MYSQL_CRYPT_PWFIELD\tcrypt\n"
			   "MYSQL_LOGIN_FIELD\temail\n"
			   "DEFAULT_DOMAIN\texample.test\n"
			   "MYSQL_TIMEOUT\t7\n";
	struct mod_sql_settings set;
	char buf[256];
	const char *error = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	config_settings_init(common_defs, &set);
	assert_int_equal(mod_sql_rc_load(path, common_defs, &set, buf,
					 sizeof(buf), &error),
			 0);
	assert_string_equal(set.user_table, "users");
	assert_string_equal(set.login_field, "email");
	assert_string_equal(set.uid_field, "uid"); /* Courier's default */
	assert_string_equal(set.home_field, "home");
	assert_null(set.clear_field);
	assert_string_equal(set.default_domain_compat, "example.test");
	assert_int_equal(set.timeout, 7);
	config_settings_free(common_defs, &set);

	/* a bad value is an error naming the file */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "MYSQL_TIMEOUT\tsoon\n", 19), 19);
	close(fd);
	config_settings_init(common_defs, &set);
	assert_int_equal(mod_sql_rc_load(path, common_defs, &set, buf,
					 sizeof(buf), &error),
			 -1);
	assert_non_null(strstr(error, path));
	config_settings_free(common_defs, &set);
	unlink(path);

	config_settings_init(common_defs, &set);
	assert_int_equal(mod_sql_rc_load("/nonexistent/authmysqlrc",
					 common_defs, &set, buf, sizeof(buf),
					 &error),
			 -1);
	assert_non_null(strstr(error, "missing"));
	config_settings_free(common_defs, &set);
}

static void test_expand(void **state)
{
	struct mod_sql_vars vars = {
		.local_part = "o'brien",
		.domain = "ex\\ample.test",
		.service = "imap",
	};
	struct str out;
	const char *error = NULL;
	int calls = 0;

	str_init(&out, 64);
	assert_int_equal(
		mod_sql_expand("SELECT * FROM t WHERE u='$(local_part)' AND "
			       "d='$(domain)' AND s='$(service)' AND c='$5'",
			       &vars, test_escape, &calls, &out, &error),
		MOD_SQL_EXPAND_OK);
	assert_string_equal(str_c(&out),
			    "SELECT * FROM t WHERE u='o''brien' AND "
			    "d='ex\\\\ample.test' AND s='imap' AND c='$5'");
	assert_int_equal(calls, 3);

	/* $(newpass) is unknown where it was not given */
	str_clear(&out);
	assert_int_equal(mod_sql_expand("x $(newpass)", &vars, test_escape,
					NULL, &out, &error),
			 MOD_SQL_EXPAND_BAD_TEMPLATE);
	str_clear(&out);
	assert_int_equal(mod_sql_expand("x $(nosuch) y", &vars, test_escape,
					NULL, &out, &error),
			 MOD_SQL_EXPAND_BAD_TEMPLATE);
	str_clear(&out);
	assert_int_equal(mod_sql_expand("x $(local_part", &vars, test_escape,
					NULL, &out, &error),
			 MOD_SQL_EXPAND_BAD_TEMPLATE);
	str_clear(&out);
	assert_int_equal(mod_sql_expand("$()", &vars, test_escape, NULL, &out,
					&error),
			 MOD_SQL_EXPAND_BAD_TEMPLATE);
	/* an over-long name is refused, not read past */
	str_clear(&out);
	assert_int_equal(
		mod_sql_expand("$(local_partlocal_partlocal_partlocal_part)",
			       &vars, test_escape, NULL, &out, &error),
		MOD_SQL_EXPAND_BAD_TEMPLATE);

	/* a value the escaper refuses */
	vars.local_part = "bad\xff";
	str_clear(&out);
	assert_int_equal(mod_sql_expand("'$(local_part)'", &vars, test_escape,
					NULL, &out, &error),
			 MOD_SQL_EXPAND_BAD_VALUE);

	/* chpass variables; a value containing "$(" is not expanded again */
	vars.local_part = "$(domain)";
	vars.newpass = "p'w";
	vars.newpass_crypt = "$6$salt$hash";
	str_clear(&out);
	assert_int_equal(mod_sql_expand("$(local_part)|$(newpass)|"
					"$(newpass_crypt)|$",
					&vars, test_escape, NULL, &out,
					&error),
			 MOD_SQL_EXPAND_OK);
	assert_string_equal(str_c(&out),
			    "$(domain)|p''w|$6$salt$hash|$");
	str_free(&out);
}

static void test_split_login(void **state)
{
	char *l, *d;

	mod_sql_split_login("joe@example.test", "default.test", &l, &d);
	assert_string_equal(l, "joe");
	assert_string_equal(d, "example.test");
	free(l);
	free(d);
	mod_sql_split_login("a@b@c.test", NULL, &l, &d);
	assert_string_equal(l, "a@b");
	assert_string_equal(d, "c.test");
	free(l);
	free(d);
	mod_sql_split_login("joe", "default.test", &l, &d);
	assert_string_equal(l, "joe");
	assert_string_equal(d, "default.test");
	free(l);
	free(d);
	mod_sql_split_login("joe", NULL, &l, &d);
	assert_string_equal(d, "");
	free(l);
	free(d);

	char *f = mod_sql_full_login("joe", "default.test");
	assert_string_equal(f, "joe@default.test");
	free(f);
	f = mod_sql_full_login("joe@x.test", "default.test");
	assert_string_equal(f, "joe@x.test");
	free(f);
	f = mod_sql_full_login("joe", "");
	assert_string_equal(f, "joe");
	free(f);
}

static void test_default_queries(void **state)
{
	struct mod_sql_settings set;
	struct str out;
	const char *error;

	config_settings_init(common_defs, &set);
	set.user_table = xstrdup("users");
	set.crypt_field = xstrdup("crypt");
	set.auxoptions_field = xstrdup("opts");
	str_init(&out, 64);
	assert_int_equal(mod_sql_default_select(&set, "x' OR '1'='1", test_escape,
						NULL, &out, &error),
			 MOD_SQL_EXPAND_OK);
	assert_string_equal(str_c(&out),
			    "SELECT id, crypt, '', uid, gid, home, '', '', '', "
			    "opts FROM users WHERE id = 'x'' OR ''1''=''1'");

	set.where_clause = xstrdup("active = 1");
	str_clear(&out);
	assert_int_equal(mod_sql_default_select(&set, "a\\", test_escape,
						NULL, &out, &error),
			 MOD_SQL_EXPAND_OK);
	assert_true(str_ends_with(str_c(&out),
				  "WHERE id = 'a\\\\' AND (active = 1)"));

	str_clear(&out);
	assert_int_equal(mod_sql_default_select(&set, "\xff", test_escape,
						NULL, &out, &error),
			 MOD_SQL_EXPAND_BAD_VALUE);

	str_clear(&out);
	mod_sql_default_enumerate(&set, &out);
	assert_string_equal(str_c(&out),
			    "SELECT id, uid, gid, home, '', opts FROM users "
			    "WHERE active = 1");

	set.clear_field = xstrdup("clear");
	str_clear(&out);
	assert_int_equal(mod_sql_default_chpass(&set, "joe@x.test", "n'ew",
						"{SSHA}abc", test_escape, NULL,
						&out, &error),
			 MOD_SQL_EXPAND_OK);
	assert_string_equal(str_c(&out),
			    "UPDATE users SET clear = 'n''ew', crypt = "
			    "'{SSHA}abc' WHERE id = 'joe@x.test' AND "
			    "(active = 1)");
	str_free(&out);
	config_settings_free(common_defs, &set);
}

static void test_row_to_record(void **state)
{
	const char *row[] = { "joe@x.test", "{SHA}abc", NULL, "1000", "100",
			      "/home/joe", "Maildir", "1000S", "Joe",
			      "disableimap=1" };
	struct auth_record rec;
	const char *error = NULL;

	auth_record_init(&rec);
	assert_int_equal(mod_sql_row_to_record(row, 10, "login", &rec,
					       &error),
			 0);
	assert_string_equal(rec.address, "joe@x.test");
	assert_string_equal(rec.passwd, "{SHA}abc");
	assert_null(rec.clearpasswd);
	assert_true(rec.has_uid);
	assert_int_equal(rec.uid, 1000);
	assert_int_equal(rec.gid, 100);
	assert_string_equal(rec.home, "/home/joe");
	assert_string_equal(rec.maildir, "/home/joe/Maildir");
	assert_string_equal(rec.quota, "1000S");
	assert_string_equal(rec.fullname, "Joe");
	assert_true(auth_record_service_disabled(&rec, "imap"));
	auth_record_free(&rec);

	/* the login stands in for an empty username; short rows */
	row[0] = "";
	assert_int_equal(mod_sql_row_to_record(row, 6, "login", &rec,
					       &error),
			 0);
	assert_string_equal(rec.address, "login");
	assert_null(rec.maildir);
	auth_record_free(&rec);

	assert_int_equal(mod_sql_row_to_record(row, 5, "login", &rec,
					       &error),
			 -1);
	row[3] = "-1";
	assert_int_equal(mod_sql_row_to_record(row, 6, "login", &rec,
					       &error),
			 -1);
	row[3] = "12x";
	assert_int_equal(mod_sql_row_to_record(row, 6, "login", &rec,
					       &error),
			 -1);
	row[3] = "99999999999";
	assert_int_equal(mod_sql_row_to_record(row, 6, "login", &rec,
					       &error),
			 -1);
	row[3] = "1";
	row[5] = "relative/home";
	assert_int_equal(mod_sql_row_to_record(row, 6, "login", &rec,
					       &error),
			 -1);
	row[5] = NULL;
	assert_int_equal(mod_sql_row_to_record(row, 6, "login", &rec,
					       &error),
			 -1);
	assert_null(rec.address); /* nothing half-filled */

	const char *erow[] = { "a@x.test", "5", "6", "/h", "/m", "o=1" };
	assert_int_equal(mod_sql_enum_row_to_record(erow, 6, &rec), 0);
	assert_string_equal(rec.maildir, "/m");
	assert_string_equal(rec.options, "o=1");
	auth_record_free(&rec);
	erow[0] = NULL;
	assert_int_equal(mod_sql_enum_row_to_record(erow, 6, &rec), -1);
}

#ifdef AUTHLIB_WITH_MYSQL
static void test_mysql_escape(void **state)
{
	MYSQL *m = mysql_init(NULL);
	char buf[64];
	static const char in[] = "a'b\"c\\d\0e%_\n";

	assert_non_null(m);
	unsigned long n = mysql_real_escape_string(m, buf, in,
						   sizeof(in) - 1);
	assert_int_equal(n, 17);
	assert_memory_equal(buf, "a\\'b\\\"c\\\\d\\0e%_\\n", n);
	mysql_close(m);
}
#endif

#ifdef AUTHLIB_WITH_LDAP
static void test_ldap_filter_escape(void **state)
{
	struct str out;
	static const char in[] = "*)(uid=*)\\\0x";

	str_init(&out, 64);
	mod_ldap_escape_filter(in, sizeof(in) - 1, &out);
	assert_string_equal(str_c(&out),
			    "\\2a\\29\\28uid=\\2a\\29\\5c\\00x");

	str_clear(&out);
	mod_ldap_lookup_filter("mail", "joe@x.test", NULL, &out);
	assert_string_equal(str_c(&out), "(mail=joe@x.test)");
	str_clear(&out);
	mod_ldap_lookup_filter("mail", "*", "(objectClass=inetOrgPerson)",
			       &out);
	assert_string_equal(str_c(&out),
			    "(&(objectClass=inetOrgPerson)(mail=\\2a))");
	str_clear(&out);
	mod_ldap_lookup_filter("mail", "a)(|(mail=*", "objectClass=x", &out);
	assert_string_equal(str_c(&out),
			    "(&(objectClass=x)(mail=a\\29\\28|\\28mail=\\2a))");
	/* UTF-8 passes unchanged */
	str_clear(&out);
	mod_ldap_lookup_filter("mail", "j\xc3\xb6rg", NULL, &out);
	assert_string_equal(str_c(&out), "(mail=j\xc3\xb6rg)");

	str_clear(&out);
	mod_ldap_emailmap_filter("(&(userid=@user@)(realm=@realm@))",
				 "a*b@c)d", &out);
	assert_string_equal(str_c(&out),
			    "(&(userid=a\\2ab)(realm=c\\29d))");
	str_free(&out);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rc_parse),
		cmocka_unit_test(test_rc_malformed),
		cmocka_unit_test(test_rc_load_typed),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_split_login),
		cmocka_unit_test(test_default_queries),
		cmocka_unit_test(test_row_to_record),
#ifdef AUTHLIB_WITH_MYSQL
		cmocka_unit_test(test_mysql_escape),
#endif
#ifdef AUTHLIB_WITH_LDAP
		cmocka_unit_test(test_ldap_filter_escape),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
