/* test-queue-dsn.c: unit tests for mta/dsn's status codes. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dsn.h"

static void check(const char *diag, enum dsn_kind kind, const char *want)
{
	char status[16];

	dsn_status_code(diag, kind, status, sizeof(status));
	assert_string_equal(status, want);
}

static void test_status_codes(void **state)
{
	(void)state;
	check("550 5.1.1 <a@b>: unknown user", DSN_FAILED, "5.1.1");
	check("5.4.7 Delivery time expired", DSN_FAILED, "5.4.7");
	check("4.2.2 Mailbox full", DSN_DELAYED, "4.2.2");
	check("451 4.3.0 try later", DSN_DELAYED, "4.3.0");
	check("250 2.0.0 delivered", DSN_DELIVERED, "2.0.0");
	check("550-5.7.1 multi", DSN_FAILED, "5.7.1");
	check("550 5.123.456 three digits", DSN_FAILED, "5.123.456");
	check("550 5.1234.5 four digits", DSN_FAILED, "5.0.0");
	check("550 5.1.1234", DSN_FAILED, "5.0.0");
	/* the class must fit the kind */
	check("4.2.2 Mailbox full", DSN_FAILED, "5.0.0");
	check("550 5.1.1 x", DSN_DELAYED, "4.0.0");
	/* malformed */
	check(NULL, DSN_FAILED, "5.0.0");
	check("", DSN_DELAYED, "4.0.0");
	check("550", DSN_FAILED, "5.0.0");
	check("550 5.", DSN_FAILED, "5.0.0");
	check("550 5.1", DSN_FAILED, "5.0.0");
	check("550 5.1.", DSN_FAILED, "5.0.0");
	check("550 5..1", DSN_FAILED, "5.0.0");
	check("550 5.1.1x", DSN_FAILED, "5.0.0");
	check("x.1.1", DSN_DELIVERED, "2.0.0");
	{
		char small[4];

		dsn_status_code("550 5.1.1 x", DSN_FAILED, small,
				sizeof(small));
		assert_string_equal(small, "5.0");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
