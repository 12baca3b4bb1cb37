/* test-log.c: unit tests for lib/log (levels, context, sanitising). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdio.h>
#include "log.h"

static char last_line[512];
static enum log_level last_level;
static int line_count;

static void capture(enum log_level level, const char *line, void *context)
{
	snprintf(last_line, sizeof(last_line), "%s", line);
	last_level = level;
	line_count++;
}

static void test_levels_and_filter(void **state)
{
	log_set_handler(capture, NULL);
	log_set_min_level(LOG_LEVEL_INFO);
	line_count = 0;
	log_debug("hidden");
	assert_int_equal(line_count, 0);
	log_warning("disk %d%% full", 91);
	assert_int_equal(line_count, 1);
	assert_int_equal(last_level, LOG_LEVEL_WARNING);
	assert_string_equal(last_line, "disk 91% full");
	log_set_min_level(LOG_LEVEL_DEBUG);
	log_debug("shown");
	assert_int_equal(line_count, 2);
	log_set_handler(NULL, NULL);
}

static void test_context_prefix(void **state)
{
	struct log_ctx *ctx = log_ctx_new("ip=%s", "192.0.2.1");

	log_set_handler(capture, NULL);
	ctx_error(ctx, "bad command");
	assert_string_equal(last_line, "ip=192.0.2.1: bad command");
	log_ctx_set(ctx, "ip=%s user=%s", "192.0.2.1", "joe");
	ctx_info(ctx, "login");
	assert_string_equal(last_line, "ip=192.0.2.1 user=joe: login");
	log_ctx_destroy(&ctx);
	assert_null(ctx);
	log_set_handler(NULL, NULL);
}

static void test_control_chars_masked(void **state)
{
	log_set_handler(capture, NULL);
	log_error("peer said %s", "a\r\nfake: line\x1b");
	assert_string_equal(last_line, "peer said a??fake: line?");
	log_set_handler(NULL, NULL);
}

static void test_level_names(void **state)
{
	assert_string_equal(log_level_name(LOG_LEVEL_PANIC), "panic");
	assert_string_equal(log_level_name((enum log_level)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_and_filter),
		cmocka_unit_test(test_context_prefix),
		cmocka_unit_test(test_control_chars_masked),
		cmocka_unit_test(test_level_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
