/* test-mem.c: unit tests for lib/mem (allocation wrappers). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mem.h"
#include "log.h"

static void test_dup_functions(void **state)
{
	char *s = xstrdup("hello");
	char *n = xstrndup("hello world", 5);
	char *m = xmemdup("a\0b", 3);
	char *f = xasprintf("%s-%d", "x", 42);

	assert_string_equal(s, "hello");
	assert_string_equal(n, "hello");
	assert_memory_equal(m, "a\0b\0", 4);
	assert_string_equal(f, "x-42");
	x_free(s);
	assert_null(s);
	free(n);
	free(m);
	free(f);
	n = xstrndup("ab", 10);
	assert_string_equal(n, "ab");
	free(n);
}

static void test_zero_sizes(void **state)
{
	void *p = xmalloc(0), *q = xcalloc(0, 0);

	assert_non_null(p);
	assert_non_null(q);
	p = xrealloc(p, 0);
	assert_non_null(p);
	free(p);
	free(q);
}

static void test_calloc_zeroed_and_grow(void **state)
{
	unsigned char *p = xcalloc(100, 4);

	for (int i = 0; i < 400; i++)
		assert_int_equal(p[i], 0);
	p = xreallocarray(p, 1000, 4);
	p[3999] = 1;
	free(p);
}

/* An allocation whose size overflows must abort (log_panic), not wrap. */
static void test_overflow_aborts(void **state)
{
	for (int which = 0; which < 2; which++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			log_set_min_level(LOG_LEVEL_PANIC + 1);
			if (which == 0)
				(void)xcalloc(SIZE_MAX / 2, 4);
			else
				(void)xreallocarray(NULL, SIZE_MAX / 8, 16);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGABRT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dup_functions),
		cmocka_unit_test(test_zero_sizes),
		cmocka_unit_test(test_calloc_zeroed_and_grow),
		cmocka_unit_test(test_overflow_aborts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
