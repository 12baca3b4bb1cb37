/* test-config-settings.c: unit tests for lib/config-settings (typed
 * settings tables: defaults, every type, bounds, errors with file:line). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config-settings.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "str.h"

struct test_settings {
	char *address;
	char *greeting;
	long long port;
	long long offset;
	bool tls;
	bool debug;
	uint64_t size_limit;
	uint64_t any_size;
	unsigned int timeout;
	unsigned int log_level;
};

enum { LEVEL_ERROR, LEVEL_INFO, LEVEL_DEBUG };
static const char *const levels[] = { "error", "info", "debug", NULL };

static const struct config_setting_def defs[] = {
	CONFIG_SETTING_STRING(struct test_settings, address, "ADDRESS", "0"),
	CONFIG_SETTING_STRING(struct test_settings, greeting, "GREETING",
			      NULL),
	CONFIG_SETTING_INT(struct test_settings, port, "PORT", "25", 1, 65535),
	CONFIG_SETTING_INT(struct test_settings, offset, "OFFSET", "-3", 0, 0),
	CONFIG_SETTING_BOOL(struct test_settings, tls, "ESMTPDSTART", "NO"),
	CONFIG_SETTING_BOOL(struct test_settings, debug, "DEBUG", NULL),
	CONFIG_SETTING_SIZE(struct test_settings, size_limit, "SIZELIMIT",
			    "10M", 1024, 1LL << 40),
	CONFIG_SETTING_SIZE(struct test_settings, any_size, "ANYSIZE", "0", 0,
			    0),
	CONFIG_SETTING_INTERVAL(struct test_settings, timeout, "TIMEOUT", "5m",
				1, 3600),
	CONFIG_SETTING_ENUM(struct test_settings, log_level, "LOGLEVEL",
			    "info", levels),
	CONFIG_SETTING_END
};

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-settings.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	char *etc = xasprintf("%s/etc", tmpdir);
	int ret = mkdir(etc, 0755);
	free(etc);
	setenv("COURIER_INSTANCE", tmpdir, 1);
	instance_reset();
	return ret;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	unsetenv("COURIER_INSTANCE");
	instance_reset();
	return 0;
}

static void write_etc(const char *name, const char *text)
{
	char *path = instance_etc_path(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void test_defaults(void **state)
{
	struct test_settings set;

	(void)state;
	memset(&set, 0xa5, sizeof(set));
	config_settings_init(defs, &set);
	assert_string_equal(set.address, "0");
	assert_null(set.greeting);
	assert_int_equal(set.port, 25);
	assert_int_equal(set.offset, -3);
	assert_false(set.tls);
	assert_false(set.debug);
	assert_int_equal(set.size_limit, 10 * 1024 * 1024);
	assert_int_equal(set.any_size, 0);
	assert_int_equal(set.timeout, 300);
	assert_int_equal(set.log_level, LEVEL_INFO);
	config_settings_free(defs, &set);
	assert_null(set.address);
	assert_non_null(config_settings_find(defs, "PORT"));
	assert_null(config_settings_find(defs, "port"));
}

static void test_load_missing_file(void **state)
{
	struct test_settings set;
	struct config_errors *errs = config_errors_new();

	(void)state;
	assert_int_equal(config_settings_load(defs, &set, "esmtpd", errs), 0);
	assert_int_equal(set.port, 25);
	assert_int_equal(errs->count, 0);
	config_settings_free(defs, &set);
	config_errors_destroy(&errs);
}

static void test_load_good(void **state)
{
	struct test_settings set;
	struct config_errors *errs = config_errors_new();

	(void)state;
	write_etc("esmtpd",
		  "# esmtpd\n"
		  "ADDRESS=127.0.0.1\n"
		  "GREETING=\"Hello there\"\n"
		  "PORT=2525\n"
		  "OFFSET=-9223372036854775808\n"
		  "ESMTPDSTART=YES\n"
		  "DEBUG=on\n"
		  "SIZELIMIT=1G\n"
		  "ANYSIZE=18446744073709551615\n"
		  "TIMEOUT=\"1h\"\n"
		  "LOGLEVEL=DEBUG\n"
		  "ADDRESS=::1\n");
	assert_int_equal(config_settings_load(defs, &set, "esmtpd", errs), 1);
	assert_int_equal(errs->count, 0);
	assert_string_equal(set.address, "::1");
	assert_string_equal(set.greeting, "Hello there");
	assert_int_equal(set.port, 2525);
	assert_true(set.offset == LLONG_MIN);
	assert_true(set.tls);
	assert_true(set.debug);
	assert_int_equal(set.size_limit, 1024ULL * 1024 * 1024);
	assert_true(set.any_size == UINT64_MAX);
	assert_int_equal(set.timeout, 3600);
	assert_int_equal(set.log_level, LEVEL_DEBUG);
	config_settings_free(defs, &set);
	config_errors_destroy(&errs);
}

static void test_load_errors(void **state)
{
	struct test_settings set;
	struct config_errors *errs = config_errors_new();

	(void)state;
	write_etc("esmtpd",
		  "PORT=0\n"                 /* 1: below min */
		  "PORT=65536\n"             /* 2: above max */
		  "PORT=25x\n"               /* 3: not a number */
		  "ESMTPDSTART=maybe\n"      /* 4 */
		  "SIZELIMIT=1023\n"         /* 5: below min */
		  "SIZELIMIT=2T\n"           /* 6: above max */
		  "SIZELIMIT=5X\n"           /* 7: bad suffix */
		  "TIMEOUT=2h\n"             /* 8: above max */
		  "TIMEOUT=0\n"              /* 9: below min */
		  "TIMEOUT=5 minutes\n"      /* 10: NAME=value error */
		  "LOGLEVEL=verbose\n"       /* 11 */
		  "UNKNOWN=1\n"              /* 12: warning only */
		  "GREETING=kept\n"          /* 13: good lines still apply */
		  "ANYSIZE=18446744073709551616\n" /* 14: overflow */
		  "OFFSET=9223372036854775808\n"   /* 15: overflow */
		  "DEBUG=\n");               /* 16: empty bool */
	assert_int_equal(config_settings_load(defs, &set, "esmtpd", errs), -1);
	static const char *const expected[] = {
		"esmtpd:1: PORT: invalid value '0': must be between 1 and 65535",
		"esmtpd:2: PORT: invalid value '65536': must be between",
		"esmtpd:3: PORT: invalid value '25x': expected a whole number",
		"esmtpd:4: ESMTPDSTART: invalid value 'maybe': expected yes",
		"esmtpd:5: SIZELIMIT: invalid value '1023': must be between 1024",
		"esmtpd:6: SIZELIMIT: invalid value '2T'",
		"esmtpd:7: SIZELIMIT: invalid value '5X': unknown size suffix",
		"esmtpd:8: TIMEOUT: invalid value '2h': must be between 1 and",
		"esmtpd:9: TIMEOUT: invalid value '0'",
		"esmtpd:10: unexpected text after the value",
		"esmtpd:11: LOGLEVEL: invalid value 'verbose': expected one "
		"of: error info debug",
		"esmtpd:12: unknown setting UNKNOWN",
		"esmtpd:14: ANYSIZE: invalid value '18446744073709551616': "
		"size out of range",
		"esmtpd:15: OFFSET: invalid value '9223372036854775808': "
		"number out of range",
		"esmtpd:16: DEBUG: invalid value ''",
	};
	for (size_t i = 0; i < N_ELEMENTS(expected); i++) {
		if (!config_errors_contains(errs, expected[i]))
			fail_msg("missing: %s", expected[i]);
	}
	assert_int_equal(config_errors_error_count(errs), 14);
	assert_int_equal(errs->n_warnings, 1);
	/* bad values keep the defaults; good ones apply */
	assert_int_equal(set.port, 25);
	assert_int_equal(set.size_limit, 10 * 1024 * 1024);
	assert_int_equal(set.timeout, 300);
	assert_int_equal(set.log_level, LEVEL_INFO);
	assert_string_equal(set.greeting, "kept");
	config_settings_free(defs, &set);
	config_errors_destroy(&errs);
}

static void test_unknown_only_warns(void **state)
{
	struct test_settings set;
	struct config_errors *errs = config_errors_new();

	(void)state;
	write_etc("imapd", "PORT=143\nIMAP_CAPABILITY=\"IMAP4rev1\"\n");
	assert_int_equal(config_settings_load(defs, &set, "imapd", errs), 1);
	assert_int_equal(config_errors_error_count(errs), 0);
	assert_true(config_errors_contains(
		errs, "imapd:2: unknown setting IMAP_CAPABILITY"));
	assert_int_equal(set.port, 143);
	config_settings_free(defs, &set);
	config_errors_destroy(&errs);
}

static void test_set_and_parsers(void **state)
{
	struct test_settings set;
	const char *error;
	bool b;
	uint64_t sz;
	long long n;

	(void)state;
	config_settings_init(defs, &set);
	assert_int_equal(config_settings_set(defs, &set, "PORT", "110", &error),
			 1);
	assert_int_equal(set.port, 110);
	assert_int_equal(config_settings_set(defs, &set, "NOPE", "1", &error),
			 0);
	assert_int_equal(config_settings_set(defs, &set, "PORT", "-1", &error),
			 -1);
	assert_int_equal(set.port, 110);
	assert_int_equal(config_settings_set(defs, &set, "ADDRESS", "x",
					     &error), 1);
	assert_string_equal(set.address, "x");
	assert_int_equal(config_settings_set(defs, &set, "LOGLEVEL", "Error",
					     &error), 1);
	assert_int_equal(set.log_level, LEVEL_ERROR);
	config_settings_free(defs, &set);

	static const char *const yes[] = { "yes", "YES", "true", "On", "1" };
	static const char *const no[] = { "no", "No", "FALSE", "off", "0" };
	for (size_t i = 0; i < N_ELEMENTS(yes); i++) {
		assert_int_equal(config_parse_bool(yes[i], &b, &error), 0);
		assert_true(b);
		assert_int_equal(config_parse_bool(no[i], &b, &error), 0);
		assert_false(b);
	}
	assert_int_equal(config_parse_bool("2", &b, &error), -1);
	assert_int_equal(config_parse_bool("yess", &b, &error), -1);

	static const struct {
		const char *text;
		uint64_t value;
	} sizes[] = {
		{ "0", 0 }, { "512", 512 }, { "1k", 1024 }, { "2K", 2048 },
		{ "3m", 3 << 20 }, { "4M", 4 << 20 }, { "1g", 1 << 30 },
		{ "1T", 1ULL << 40 }, { "16777215T", 16777215ULL << 40 },
	};
	for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
		assert_int_equal(config_parse_size(sizes[i].text, &sz, &error),
				 0);
		assert_true(sz == sizes[i].value);
	}
	static const char *const bad_sizes[] = {
		"", "k", "-1", "1.5M", "1 M", "1MB", "1kk", "16777216T",
		"99999999999999999999",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad_sizes); i++)
		assert_int_equal(config_parse_size(bad_sizes[i], &sz, &error),
				 -1);

	assert_int_equal(config_parse_int("-0", &n, &error), 0);
	assert_int_equal(n, 0);
	assert_int_equal(config_parse_int("+42", &n, &error), 0);
	assert_int_equal(n, 42);
	assert_int_equal(config_parse_int("9223372036854775807", &n, &error),
			 0);
	assert_true(n == LLONG_MAX);
	static const char *const bad_ints[] = {
		"", "-", "+", "1 ", " 1", "0x10", "1e3", "--1",
		"-9223372036854775809",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad_ints); i++)
		assert_int_equal(config_parse_int(bad_ints[i], &n, &error), -1);
}

static void test_null_errs_logs(void **state)
{
	struct test_settings set;

	(void)state;
	write_etc("pop3d", "PORT=x\n");
	log_set_min_level(LOG_LEVEL_FATAL); /* keep the test output quiet */
	assert_int_equal(config_settings_load(defs, &set, "pop3d", NULL), -1);
	log_set_min_level(LOG_LEVEL_INFO);
	assert_int_equal(set.port, 25);
	config_settings_free(defs, &set);
}

static void test_bad_default_panics(void **state)
{
	static const struct config_setting_def bad[] = {
		CONFIG_SETTING_INT(struct test_settings, port, "PORT", "99999",
				   1, 65535),
		CONFIG_SETTING_END
	};
	struct test_settings set;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		log_set_min_level(LOG_LEVEL_PANIC + 1);
		config_settings_init(bad, &set);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_load_missing_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_load_good, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_only_warns, setup,
						teardown),
		cmocka_unit_test(test_set_and_parsers),
		cmocka_unit_test_setup_teardown(test_null_errs_logs, setup,
						teardown),
		cmocka_unit_test(test_bad_default_panics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
