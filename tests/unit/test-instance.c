/* test-instance.c: unit tests for lib/instance (path resolution). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include "instance.h"

static void test_compiled_paths(void **state)
{
	unsetenv("COURIER_INSTANCE");
	instance_reset();
	assert_string_equal(instance_etcdir(), SYSCONFDIR);
	assert_string_equal(instance_vardir(), LOCALSTATEDIR);
}

static void test_env_instance(void **state)
{
	char *p;

	setenv("COURIER_INSTANCE", "/tmp/inst", 1);
	instance_reset();
	assert_string_equal(instance_etcdir(), "/tmp/inst/etc");
	assert_string_equal(instance_vardir(), "/tmp/inst/var");
	p = instance_etc_path("me");
	assert_string_equal(p, "/tmp/inst/etc/me");
	free(p);
	p = instance_var_path("queue");
	assert_string_equal(p, "/tmp/inst/var/queue");
	free(p);
	unsetenv("COURIER_INSTANCE");
	instance_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compiled_paths),
		cmocka_unit_test(test_env_instance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
