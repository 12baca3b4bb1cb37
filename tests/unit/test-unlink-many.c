/* test-unlink-many.c: unit tests of unlink_many(). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mem.h"
#include "unlink-many.h"

static void run(size_t count, size_t missing_every)
{
	char dir[] = "/tmp/test-unlink-many.XXXXXX";
	char **paths = xcalloc(count, sizeof(*paths));
	int *errs = xcalloc(count, sizeof(*errs));

	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < count; i++) {
		paths[i] = xasprintf("%s/f%zu", dir, i);
		if (missing_every != 0 && i % missing_every == 0)
			continue;
		int fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "x", 1), 1);
		close(fd);
		errs[i] = -1;
	}
	unlink_many((const char *const *)paths, count, errs);
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		if (missing_every != 0 && i % missing_every == 0)
			assert_int_equal(errs[i], ENOENT);
		else
			assert_int_equal(errs[i], 0);
		assert_int_equal(stat(paths[i], &st), -1);
		free(paths[i]);
	}
	assert_int_equal(rmdir(dir), 0);	/* nothing left behind */
	free(paths);
	free(errs);
}

static void test_none(void **state)
{
	(void)state;
	unlink_many(NULL, 0, NULL);
}

static void test_few_in_this_thread(void **state)
{
	(void)state;
	run(5, 0);
	run(5, 2);
}

static void test_many_in_threads(void **state)
{
	(void)state;
	run(1000, 0);
	run(1001, 7);	/* missing files report ENOENT, the rest go */
}

static void test_directory_is_an_error(void **state)
{
	char dir[] = "/tmp/test-unlink-many.XXXXXX";
	int err = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	const char *p = dir;
	unlink_many(&p, 1, &err);
	assert_int_equal(err, EISDIR);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_few_in_this_thread),
		cmocka_unit_test(test_many_in_threads),
		cmocka_unit_test(test_directory_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
