/* test-instance.c: unit tests for lib/instance (path resolution). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "instance.h"
#include "mem.h"

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

/* A program of this install is found from /proc/self/exe; a missing one
 * gets the configured folder of its kind. */
static void test_program(void **state)
{
	char *exe = realpath("/proc/self/exe", NULL), *p, *rel;
	const char *base, *dir;

	(void)state;
	assert_non_null(exe);
	/* "tests/unit/test-instance": one level above its folder, the
	 * program is "unit/test-instance" */
	base = strrchr(exe, '/');
	assert_non_null(base);
	dir = base - 1;
	while (dir > exe && *dir != '/')
		dir--;
	rel = xstrdup(dir + 1);
	p = instance_program(1, rel);
	assert_string_equal(p, exe);
	free(p);
	free(rel);
	p = instance_program(1, "sbin/no-such-program");
	assert_string_equal(p, SBINDIR "/no-such-program");
	free(p);
	p = instance_program(3, "bin/no-such-program");
	assert_string_equal(p, BINDIR "/no-such-program");
	free(p);
	p = instance_program(0, "libexec/courier/no-such-helper");
	assert_string_equal(p, LIBEXECDIR "/courier/no-such-helper");
	free(p);
	p = instance_program(50, "share/nothing");
	assert_string_equal(p, PREFIX "/share/nothing");
	free(p);
	free(exe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compiled_paths),
		cmocka_unit_test(test_env_instance),
		cmocka_unit_test(test_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
