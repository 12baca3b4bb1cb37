/* test-queue-route.c: unit tests for mta/route (local, hosted, remote). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "route.h"

static void check(const struct route_config *cfg, const char *addr,
		  enum route_kind kind, const char *key)
{
	char *k = NULL;

	assert_int_equal(route_address(cfg, addr, &k), kind);
	assert_string_equal(k, key);
	free(k);
}

static void test_routes(void **state)
{
	struct route_config *cfg = route_config_new(
		"# locals\nlocalhost\n!mx.corp.test\n.corp.test\nME.test\n",
		"example.test\nalias.test\texample.test\n\n# c\n",
		"mail.example.test", false);

	(void)state;
	check(cfg, "demo@example.test", ROUTE_HOSTED, "demo@example.test");
	check(cfg, "Demo@EXAMPLE.test", ROUTE_HOSTED, "Demo@example.test");
	check(cfg, "demo@alias.test", ROUTE_HOSTED, "demo@example.test");
	check(cfg, "joe@localhost", ROUTE_LOCAL, "joe");
	check(cfg, "Joe@me.TEST", ROUTE_LOCAL, "Joe");
	check(cfg, "joe@a.corp.test", ROUTE_LOCAL, "joe");
	check(cfg, "joe@corp.test", ROUTE_REMOTE, "corp.test");
	check(cfg, "joe@mx.corp.test", ROUTE_REMOTE, "mx.corp.test");
	check(cfg, "joe@Remote.Test", ROUTE_REMOTE, "remote.test");
	check(cfg, "bare", ROUTE_LOCAL, "bare");
	check(cfg, "\"a b\"@example.test", ROUTE_HOSTED,
	      "\"a b\"@example.test");
	check(cfg, "\"broken@x", ROUTE_LOCAL, "\"broken@x");
	route_config_free(&cfg);
	assert_null(cfg);

	/* no locals file: me; locallowercase */
	cfg = route_config_new(NULL, NULL, "Mail.Example.Test", true);
	check(cfg, "JOE@mail.example.test", ROUTE_LOCAL, "joe");
	check(cfg, "JOE@example.test", ROUTE_REMOTE, "example.test");
	route_config_free(&cfg);

	/* locallowercase covers hosted domains too (local mail); remote
	 * addresses keep their case */
	cfg = route_config_new(NULL, "example.test\nalias.test\texample.test\n",
			       "mail.example.test", true);
	check(cfg, "DEMO@Example.Test", ROUTE_HOSTED, "demo@example.test");
	check(cfg, "Demo-Ext@alias.test", ROUTE_HOSTED,
	      "demo-ext@example.test");
	check(cfg, "JOE@remote.test", ROUTE_REMOTE, "remote.test");
	route_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
