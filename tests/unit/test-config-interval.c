/* test-config-interval.c: unit tests for lib/interval (Courier time
 * intervals: parse, format, read from a control file). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config-file.h"
#include "instance.h"
#include "interval.h"
#include "mem.h"
#include "str.h"

static void test_good(void **state)
{
	static const struct {
		const char *text;
		unsigned int secs;
	} cases[] = {
		{ "30s", 30 }, { "5m", 300 }, { "1h", 3600 },
		{ "2d", 172800 }, { "1w", 604800 }, { "30", 30 },
		{ "0", 0 }, { "0s", 0 }, { "1w2d", 604800 + 172800 },
		{ "1h 30m", 5400 }, { "1 h", 3600 }, { "1H", 3600 },
		{ "5M", 300 }, { "2D", 172800 }, { "1W", 604800 },
		{ "7S", 7 }, { " 5m ", 300 }, { "5m\n", 300 },
		{ "\t1d\r\n", 86400 }, { "1m30", 90 }, { "1m 30", 90 },
		{ "1m1m", 120 }, { "90s", 90 }, { "007", 7 },
		{ "2147483647", 2147483647U },
		{ "3550w", 3550U * 604800 },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		unsigned int secs = 12345;
		const char *error = NULL;

		if (interval_parse(cases[i].text, &secs, &error) != 0)
			fail_msg("'%s' failed: %s", cases[i].text, error);
		assert_int_equal(secs, cases[i].secs);
	}
}

static void test_bad(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "", "empty" }, { "   ", "empty" }, { "\n", "empty" },
		{ "m", "unit without a number" },
		{ "5x", "unknown unit" }, { "1.5h", "fractions" },
		{ "1,5h", "fractions" }, { "-5m", "signs" }, { "+5", "signs" },
		{ "5 3", "without a unit must be last" },
		{ "5 3m", "without a unit must be last" },
		{ "5mm", "a unit must follow a number" },
		{ "5m x", "expected a number" },
		{ "5mx", "unexpected text" },
		{ "2147483648", "too long" }, { "3551w", "too long" },
		{ "99999999999999999999999", "too long" },
		{ "2147483647s1s", "too long" },
		{ "five minutes", "expected a number" },
		{ "#5m", "expected a number" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		unsigned int secs = 12345;
		const char *error = NULL;

		if (interval_parse(cases[i].text, &secs, &error) != -1)
			fail_msg("'%s' was accepted", cases[i].text);
		assert_non_null(error);
		if (strstr(error, cases[i].error) == NULL)
			fail_msg("'%s': error '%s', expected '%s'",
				 cases[i].text, error, cases[i].error);
	}
}

static void test_parse_n(void **state)
{
	unsigned int secs;
	const char *error;

	(void)state;
	/* length-bounded: bytes after len are not read */
	assert_int_equal(interval_parse_n("5mGARBAGE", 2, &secs, &error), 0);
	assert_int_equal(secs, 300);
	/* a NUL inside the length is an error, not an end */
	assert_int_equal(interval_parse_n("5m\0" "1h", 5, &secs, &error), -1);
	assert_int_equal(interval_parse_n("", 0, &secs, &error), -1);
	/* every prefix of a valid interval is either valid or an error */
	static const char text[] = "1w 2d3h 4m 5s";
	for (size_t i = 0; i <= sizeof(text) - 1; i++) {
		int ret = interval_parse_n(text, i, &secs, &error);

		assert_true(ret == 0 || ret == -1);
		if (i == sizeof(text) - 1) {
			assert_int_equal(ret, 0);
			assert_int_equal(secs,
					 604800 + 2 * 86400 + 3 * 3600 + 245);
		}
	}
}

static void test_format(void **state)
{
	static const struct {
		unsigned int secs;
		const char *text;
	} cases[] = {
		{ 0, "0s" }, { 1, "1s" }, { 59, "59s" }, { 60, "1m" },
		{ 90, "1m30s" }, { 3600, "1h" }, { 86400, "1d" },
		{ 604800, "1w" }, { 604800 + 172800, "1w2d" },
		{ 694861, "1w1d1h1m1s" }, { INTERVAL_MAX, "3550w5d3h14m7s" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct str *s = str_new(8);
		unsigned int back;
		const char *error;

		interval_format(s, cases[i].secs);
		assert_string_equal(str_c(s), cases[i].text);
		assert_int_equal(interval_parse(str_c(s), &back, &error), 0);
		assert_int_equal(back, cases[i].secs);
		str_destroy(&s);
	}
}

static void test_read_control_file(void **state)
{
	char tmp[] = "/tmp/test-interval.XXXXXX";
	struct config_errors *errs = config_errors_new();
	unsigned int secs;
	char *path, *cmd;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	path = xasprintf("%s/etc", tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
	setenv("COURIER_INSTANCE", tmp, 1);
	instance_reset();

	assert_int_equal(config_read_interval("queuetime", 604800, &secs,
					      errs), 0);
	assert_int_equal(secs, 604800);

	path = instance_etc_path("queuetime");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# how long\n1w2d\n", f);
	fclose(f);
	assert_int_equal(config_read_interval("queuetime", 1, &secs, errs), 1);
	assert_int_equal(secs, 604800 + 172800);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# how long\n\n1.5d\n", f);
	fclose(f);
	assert_int_equal(config_read_interval("queuetime", 77, &secs, errs),
			 -1);
	assert_int_equal(secs, 77);
	assert_int_equal(config_errors_error_count(errs), 1);
	assert_true(config_errors_contains(
		errs, "/etc/queuetime:3: invalid time interval '1.5d': "
		      "fractions"));
	free(path);

	cmd = xasprintf("rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	unsetenv("COURIER_INSTANCE");
	instance_reset();
	config_errors_destroy(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_parse_n),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_read_control_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
