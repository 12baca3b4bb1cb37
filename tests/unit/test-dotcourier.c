/* test-dotcourier.c: unit tests for mta/dotcourier (which dot-courier
 * file applies, separators from etc/defaultsep, malformed extensions). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dotcourier.h"
#include "instance.h"
#include "mem.h"

static char tmp[] = "/tmp/test-dotcourier.XXXXXX";

static void touch(const char *name)
{
	char *path = xasprintf("%s/%s", tmp, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	close(fd);
	free(path);
}

static void rm(const char *name)
{
	char *path = xasprintf("%s/%s", tmp, name);

	(void)unlink(path);
	free(path);
}

/* Expects ext to find want (NULL: nothing). */
static void expect(const char *ext, const char *want)
{
	char *name = (char *)"junk";
	int r = dotcourier_find_in(tmp, ext, &name);

	if (want == NULL) {
		assert_int_equal(r, 0);
		assert_null(name);
	} else {
		assert_int_equal(r, 1);
		assert_string_equal(name, want);
	}
	free(name);
}

static void test_find_order(void **state)
{
	(void)state;
	expect("", NULL);
	expect("foo", NULL);
	touch(".courier");
	expect("", ".courier");
	expect("foo", NULL);	/* .courier is not for extensions */

	touch(".courier-default");
	expect("foo", ".courier-default");
	expect("foo-bar-baz", ".courier-default");
	touch(".courier-foo-default");
	expect("foo-bar-baz", ".courier-foo-default");
	expect("foo-bar", ".courier-foo-default");
	/* foo-default covers foo-X, not foo itself nor foobar */
	expect("foo", ".courier-default");
	expect("foobar", ".courier-default");
	touch(".courier-foo-bar-default");
	expect("foo-bar-baz", ".courier-foo-bar-default");
	expect("foo-bar", ".courier-foo-default");
	touch(".courier-foo-bar");
	expect("foo-bar", ".courier-foo-bar");
	/* '.' in the address is ':' in the file name */
	touch(".courier-john:doe");
	expect("john.doe", ".courier-john:doe");
	expect("john:doe", ".courier-john:doe");

	rm(".courier-default");
	expect("zzz", NULL);
	expect("-x", NULL);
	expect("x-", NULL);
	touch(".courier-x-default");
	expect("x-", ".courier-x-default");
	expect("x--y", ".courier-x-default");
}

static void test_malformed(void **state)
{
	char *name = NULL, *big;

	(void)state;
	touch(".courier-default");
	/* no way out of the folder, no control characters */
	expect("../../etc/passwd", NULL);
	expect("a/b", NULL);
	expect("a\nb", NULL);
	expect("a\tb", NULL);
	expect("a\x7f", NULL);
	assert_null(dotcourier_ext_name("x/y"));
	big = xmalloc(DOTCOURIER_MAX_EXT + 2);
	memset(big, 'a', DOTCOURIER_MAX_EXT + 1);
	big[DOTCOURIER_MAX_EXT + 1] = '\0';
	expect(big, NULL);
	big[DOTCOURIER_MAX_EXT] = '\0';
	expect(big, ".courier-default");
	/* a long name of '-' parts: every prefix tried, no overflow */
	memset(big, '-', DOTCOURIER_MAX_EXT);
	expect(big, ".courier-default");
	free(big);
	rm(".courier-default");
	/* 8-bit bytes (SMTPUTF8) are names like any other */
	touch(".courier-\xc3\xa9t\xc3\xa9");
	expect("\xc3\xa9t\xc3\xa9", ".courier-\xc3\xa9t\xc3\xa9");

	name = dotcourier_ext_name("a.b.c");
	assert_string_equal(name, "a:b:c");
	free(name);
}

static void test_cannot_tell(void **state)
{
	char *name = NULL, *sub = xasprintf("%s/sub", tmp);

	(void)state;
	/* a folder that is missing */
	assert_int_equal(dotcourier_find_in(sub, "x", &name), -1);
	assert_null(name);
	/* a folder that cannot be searched (as root, everything can) */
	assert_int_equal(mkdir(sub, 0700), 0);
	if (geteuid() != 0) {
		int fd = open(sub, O_PATH | O_DIRECTORY);

		assert_true(fd >= 0);
		assert_int_equal(chmod(sub, 0600), 0);
		assert_int_equal(dotcourier_find(fd, "x", &name), -1);
		assert_int_equal(errno, EACCES);
		assert_null(name);
		assert_int_equal(chmod(sub, 0700), 0);
		close(fd);
	}
	assert_int_equal(dotcourier_find_in(sub, "x", &name), 0);
	assert_int_equal(rmdir(sub), 0);
	free(sub);
}

static void write_defaultsep(const char *text)
{
	char *path = instance_etc_path("defaultsep");
	FILE *f;

	if (text == NULL) {
		(void)unlink(path);
		free(path);
		return;
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void check_seps(const char *file, const char *want)
{
	char *s;

	write_defaultsep(file);
	s = dotcourier_separators();
	assert_string_equal(s, want);
	free(s);
}

static void test_separators(void **state)
{
	char local[] = "a+b=c-d.e";

	(void)state;
	check_seps(NULL, "+");
	check_seps("=\n", "=");
	check_seps("+=\n# comment\n", "+=");
	/* '-' alone: no other separator; junk dropped, duplicates once */
	check_seps("-\n", "");
	check_seps("+.@/+ =\n", "+=");
	check_seps("abcdefghijklmnopqrstuvwxyz\n", "abcdefghijklmnop");
	write_defaultsep(NULL);

	dotcourier_map_separators(local, "+=");
	assert_string_equal(local, "a-b-c-d.e");
	dotcourier_map_separators(local, "");
	assert_string_equal(local, "a-b-c-d.e");
	dotcourier_map_separators(local, NULL);
	assert_string_equal(local, "a-b-c-d.e");
}

static int setup(void **state)
{
	char *etc;

	(void)state;
	if (mkdtemp(tmp) == NULL)
		return -1;
	etc = xasprintf("%s/etc", tmp);
	if (mkdir(etc, 0755) < 0)
		return -1;
	free(etc);
	setenv("COURIER_INSTANCE", tmp, 1);
	instance_reset();
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmp);

	(void)state;
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_order),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_cannot_tell),
		cmocka_unit_test(test_separators),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
