/* test-secure.c: unit tests for lib/secure. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "secure.h"

static void test_memeq(void **state)
{
	assert_true(secure_memeq("abc", "abc", 3));
	assert_false(secure_memeq("abc", "abd", 3));
	assert_true(secure_memeq("x", "y", 0));
}

static void test_streq(void **state)
{
	assert_true(secure_streq("secret", "secret"));
	assert_false(secure_streq("secret", "secret2"));
	assert_false(secure_streq("secret2", "secret"));
	assert_false(secure_streq("", "a"));
	assert_true(secure_streq("", ""));
}

static void test_random(void **state)
{
	unsigned char a[32], b[32];
	unsigned int counts[6] = { 0 };

	secure_random(a, sizeof(a));
	secure_random(b, sizeof(b));
	assert_false(memcmp(a, b, sizeof(a)) == 0);
	for (int i = 0; i < 6000; i++) {
		uint32_t r = secure_random_uniform(6);

		assert_true(r < 6);
		counts[r]++;
	}
	for (int i = 0; i < 6; i++)
		assert_true(counts[i] > 700 && counts[i] < 1300);
	assert_int_equal(secure_random_uniform(1), 0);
}

static void test_wipe(void **state)
{
	char buf[16] = "password1234567";

	secure_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memeq),
		cmocka_unit_test(test_streq),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_wipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
