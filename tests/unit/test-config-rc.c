/* test-config-rc.c: unit tests for lib/config-rc ("NAME value" files). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config-rc.h"
#include "log.h"

static void quiet(enum log_level level, const char *line, void *context)
{
}

static struct config_env *parse(const char *text, unsigned int *errors_r,
				struct config_errors *errs)
{
	struct config_lines *lines = config_lines_new(NULL);
	struct config_env *env = config_env_new(NULL);

	config_lines_parse(lines, "authmysqlrc", text, strlen(text), errs);
	*errors_r = config_rc_parse(env, lines, errs);
	config_lines_free(&lines);
	return env;
}

static void test_values(void **state)
{
	struct config_errors *errs = config_errors_new();
	unsigned int errors;
	struct config_env *env = parse(
		"# comment\n"
		"MYSQL_SERVER\t\tdb.example.com\n"
		"MYSQL_SELECT_CLAUSE SELECT id, crypt \\\n"
		"   FROM users\n"
		"MYSQL_PASSWORD   pass word  \n"
		"EMPTY\n"
		"MYSQL_SERVER other\n", &errors, errs);

	assert_int_equal(errors, 0);
	assert_string_equal(config_env_get(env, "MYSQL_SERVER"), "other");
	assert_string_equal(config_env_get(env, "MYSQL_PASSWORD"), "pass word");
	assert_string_equal(config_env_get(env, "EMPTY"), "");
	assert_non_null(strstr(config_env_get(env, "MYSQL_SELECT_CLAUSE"),
			       "crypt ") );
	assert_non_null(strstr(config_env_get(env, "MYSQL_SELECT_CLAUSE"),
			       "FROM users"));
	assert_int_equal(config_env_find(env, "MYSQL_PASSWORD")->line, 5);
	assert_string_equal(config_env_find(env, "MYSQL_PASSWORD")->file,
			    "authmysqlrc");
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static void test_bad_lines_reported(void **state)
{
	struct config_errors *errs = config_errors_new();
	unsigned int errors;
	struct config_env *env;

	log_set_handler(quiet, NULL);
	env = parse("1BAD value\nGOOD yes\nNAME=value\n-x\nLAST \\\n",
		    &errors, errs);
	assert_int_equal(errors, 3);
	assert_int_equal(config_errors_error_count(errs), 3);
	/* The good lines around the bad ones are still read. */
	assert_string_equal(config_env_get(env, "GOOD"), "yes");
	assert_string_equal(config_env_get(env, "LAST"), "");
	config_env_free(&env);
	config_errors_destroy(&errs);
	log_set_handler(NULL, NULL);
}

static void test_read_file(void **state)
{
	char dir[] = "/tmp/test-config-rc.XXXXXX", path[256];
	struct config_errors *errs = config_errors_new();
	struct config_env *env = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/authpgsqlrc", dir);
	assert_int_equal(config_rc_read(path, NULL, &env, errs), 0);
	assert_null(env);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("PGSQL_HOST 127.0.0.1\n", f);
	fclose(f);
	assert_int_equal(config_rc_read(path, NULL, &env, errs), 1);
	assert_string_equal(config_env_get(env, "PGSQL_HOST"), "127.0.0.1");
	config_env_free(&env);
	unlink(path);
	rmdir(dir);
	config_errors_destroy(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bad_lines_reported),
		cmocka_unit_test(test_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
