/* test-queue-retry.c: unit tests for mta/retry (the retry schedule). */
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
#include <unistd.h>

#include "instance.h"
#include "mem.h"
#include "retry.h"

static void test_default_schedule(void **state)
{
	/* The schedule of the courier(8) page, in minutes. */
	static const unsigned int expect[] = {
		5, 5, 5, 15, 5, 5, 30, 5, 5, 60, 5, 5, 120, 5, 5, 120, 5, 5,
		120,
	};
	struct retry_schedule s = {
		RETRY_DEFAULT_ALPHA, RETRY_DEFAULT_BETA, RETRY_DEFAULT_GAMMA,
		RETRY_DEFAULT_MAXDELTA,
	};

	(void)state;
	for (unsigned int i = 0; i < N_ELEMENTS(expect); i++)
		assert_int_equal(retry_delay(&s, i + 1), expect[i] * 60);
	assert_int_equal(retry_delay(&s, 0), 5 * 60);
}

static void test_other_schedules(void **state)
{
	struct retry_schedule s = { 1, 1, 10, 0 };
	struct retry_schedule big = { 1, 2, 2000000000, 31 };

	(void)state;
	/* beta 1: every wait after the first is a long one, never doubled */
	assert_int_equal(retry_delay(&s, 1), 1);
	assert_int_equal(retry_delay(&s, 2), 10);
	assert_int_equal(retry_delay(&s, 3), 10);
	assert_int_equal(retry_delay(&s, 100), 10);
	s.maxdelta = 2;
	assert_int_equal(retry_delay(&s, 2), 10);
	assert_int_equal(retry_delay(&s, 3), 20);
	assert_int_equal(retry_delay(&s, 4), 40);
	assert_int_equal(retry_delay(&s, 5), 40);
	/* saturates instead of overflowing */
	assert_int_equal(retry_delay(&big, 3), 2000000000);
	assert_int_equal(retry_delay(&big, 5), INT32_MAX);
	assert_int_equal(retry_delay(&big, 4000000001u), INT32_MAX);
	/* beta 0 is read as 1 */
	s.beta = 0;
	assert_int_equal(retry_delay(&s, 2), 10);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void test_load(void **state)
{
	char root[] = "/tmp/test-retry-XXXXXX";
	char *etc;
	struct retry_schedule s;

	(void)state;
	assert_non_null(mkdtemp(root));
	etc = xasprintf("%s/etc", root);
	assert_int_equal(mkdir(etc, 0755), 0);
	setenv("COURIER_INSTANCE", root, 1);
	instance_reset();
	retry_schedule_load(&s);
	assert_int_equal(s.alpha, 300);
	assert_int_equal(s.beta, 3);
	assert_int_equal(s.gamma, 900);
	assert_int_equal(s.maxdelta, 3);
	write_file(etc, "retryalpha", "2s\n");
	write_file(etc, "retrybeta", "2\n");
	write_file(etc, "retrygamma", "1m 30s\n");
	write_file(etc, "retrymaxdelta", "99\n"); /* out of range: default */
	retry_schedule_load(&s);
	assert_int_equal(s.alpha, 2);
	assert_int_equal(s.beta, 2);
	assert_int_equal(s.gamma, 90);
	assert_int_equal(s.maxdelta, 3);
	write_file(etc, "retrybeta", "x\n");
	write_file(etc, "retryalpha", "5 parsecs\n");
	retry_schedule_load(&s);
	assert_int_equal(s.beta, 3);
	assert_int_equal(s.alpha, 300);
	{
		char *cmd = xasprintf("rm -rf '%s'", root);

		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	free(etc);
	unsetenv("COURIER_INSTANCE");
	instance_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_schedule),
		cmocka_unit_test(test_other_schedules),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
