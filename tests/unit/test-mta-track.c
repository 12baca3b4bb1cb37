/* test-mta-track.c: unit tests for mta/track (the backscatter blacklist):
 * records, the two-hour window, clearing, listing, malformed files. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "track.h"

static char tmpdir[] = "/tmp/test-mta-track-XXXXXX";
static const time_t T0 = 1800000000;	/* on an hour boundary + 0 */

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	char *dir = xasprintf("%s/track", tmpdir);

	track_set_dir(dir);
	free(dir);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf %s", tmpdir);

	(void)state;
	track_set_dir(NULL);
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	return 0;
}

static void reset(void)
{
	const char *error;

	assert_int_equal(track_clear(NULL, T0, &error), 0);
}

static void test_failure_window(void **state)
{
	const char *error;
	time_t when = 0;

	(void)state;
	reset();
	assert_int_equal(track_lookup("a@x.test", T0, NULL), TRACK_NONE);
	assert_int_equal(track_record("A@X.test", TRACK_FAILED, T0, &error),
			 0);
	/* case does not matter */
	assert_int_equal(track_lookup("a@x.test", T0 + 10, &when),
			 TRACK_FAILED);
	assert_int_equal(when, T0);
	assert_int_equal(track_lookup("A@x.TEST", T0 + 10, NULL),
			 TRACK_FAILED);
	assert_int_equal(track_lookup("b@x.test", T0 + 10, NULL), TRACK_NONE);
	/* still within two hours, across the hour files */
	assert_int_equal(track_lookup("a@x.test", T0 + TRACK_WINDOW - 1,
				      NULL), TRACK_FAILED);
	/* over: forgotten */
	assert_int_equal(track_lookup("a@x.test", T0 + TRACK_WINDOW + 1,
				      NULL), TRACK_NONE);
}

static void test_deferral_then_delivery(void **state)
{
	const char *error;

	(void)state;
	reset();
	assert_int_equal(track_record("d@x.test", TRACK_DEFERRED, T0,
				      &error), 0);
	assert_int_equal(track_lookup("d@x.test", T0 + 1, NULL),
			 TRACK_DEFERRED);
	/* a retry delivered it an hour later (another hour file) */
	assert_int_equal(track_record("d@x.test", TRACK_DELIVERED,
				      T0 + 3600, &error), 0);
	assert_int_equal(track_lookup("d@x.test", T0 + 3601, NULL),
			 TRACK_NONE);
	/* failing again blacklists it again */
	assert_int_equal(track_record("d@x.test", TRACK_FAILED, T0 + 3700,
				      &error), 0);
	assert_int_equal(track_lookup("d@x.test", T0 + 3701, NULL),
			 TRACK_FAILED);
}

struct seen {
	char names[8][64];
	char status[8];
	size_t count;
};

static void list_cb(const char *address, enum track_status status,
		    time_t when, void *context)
{
	struct seen *s = context;

	(void)when;
	assert_true(s->count < 8);
	snprintf(s->names[s->count], sizeof(s->names[0]), "%s", address);
	s->status[s->count++] = (char)status;
}

static void test_list_and_clear(void **state)
{
	const char *error;
	struct seen seen;

	(void)state;
	reset();
	assert_int_equal(track_record("one@x.test", TRACK_FAILED, T0, &error),
			 0);
	assert_int_equal(track_record("two@x.test", TRACK_DEFERRED, T0 + 1,
				      &error), 0);
	assert_int_equal(track_record("Two@x.test", TRACK_DEFERRED, T0 + 2,
				      &error), 0);
	assert_int_equal(track_record("three@x.test", TRACK_DEFERRED, T0 + 3,
				      &error), 0);
	assert_int_equal(track_record("three@x.test", TRACK_DELIVERED,
				      T0 + 4, &error), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(track_list(T0 + 5, list_cb, &seen), 2);
	assert_string_equal(seen.names[0], "one@x.test");
	assert_int_equal(seen.status[0], 'F');
	assert_string_equal(seen.names[1], "two@x.test");
	assert_int_equal(seen.status[1], 'D');

	assert_int_equal(track_clear("ONE@x.test", T0 + 6, &error), 0);
	assert_int_equal(track_lookup("one@x.test", T0 + 7, NULL),
			 TRACK_NONE);
	assert_int_equal(track_lookup("two@x.test", T0 + 7, NULL),
			 TRACK_DEFERRED);
	assert_int_equal(track_clear(NULL, T0 + 8, &error), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(track_list(T0 + 9, list_cb, &seen), 0);
	/* clearing an empty or missing folder is fine */
	assert_int_equal(track_clear(NULL, T0 + 9, &error), 0);
}

static void test_old_files_removed(void **state)
{
	const char *error;
	char *dir = xasprintf("%s/track", tmpdir);
	DIR *dh;
	struct dirent *de;
	unsigned int files = 0;

	(void)state;
	reset();
	for (int h = 0; h < 6; h++)
		assert_int_equal(track_record("x@x.test", TRACK_FAILED,
					      T0 + h * 3600, &error), 0);
	dh = opendir(dir);
	assert_non_null(dh);
	while ((de = readdir(dh)) != NULL)
		files += de->d_name[0] != '.';
	closedir(dh);
	/* only the hours the window can still reach are kept */
	assert_true(files <= TRACK_WINDOW / 3600 + 1);
	free(dir);
}

static void test_unusable_addresses(void **state)
{
	const char *error;

	(void)state;
	reset();
	/* not tracked, never refused */
	assert_int_equal(track_record("", TRACK_FAILED, T0, &error), 0);
	assert_int_equal(track_record("a b@x.test", TRACK_FAILED, T0,
				      &error), 0);
	assert_int_equal(track_lookup("a b@x.test", T0, NULL), TRACK_NONE);
	assert_int_equal(track_record("a\n F 1 b@x.test", TRACK_FAILED, T0,
				      &error), 0);
	assert_int_equal(track_lookup("b@x.test", T0, NULL), TRACK_NONE);
}

struct count {
	size_t n;
	char last[32];
};

static void parse_cb(enum track_status status, time_t when,
		     const char *address, size_t len, void *context)
{
	struct count *c = context;

	(void)status;
	(void)when;
	assert_true(len > 0 && len <= TRACK_MAX_ADDRESS);
	assert_null(memchr(address, '\n', len));
	snprintf(c->last, sizeof(c->last), "%.*s", (int)len, address);
	c->n++;
}

static void test_parse_malformed(void **state)
{
	static const char data[] =
		"F 1800000000 good@x.test\n"
		"\n"
		"Q 1 bad@x.test\n"
		"F x bad@x.test\n"
		"F 1\n"
		"F 1 \n"
		"F  1 bad@x.test\n"
		"F 1 two words\n"
		"F 99999999999999999999999 bad@x.test\n"
		"D\n"
		"A 5 ok2@x.test\n"
		"F 1 partial@x.test";
	struct count c;
	char *big;
	size_t biglen = TRACK_MAX_ADDRESS + 100;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(track_parse(data, sizeof(data) - 1, parse_cb, &c),
			 2);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.last, "ok2@x.test");
	/* every split of the input parses without crashing */
	for (size_t i = 0; i < sizeof(data); i++) {
		memset(&c, 0, sizeof(c));
		(void)track_parse(data, i, parse_cb, &c);
	}
	/* an address over the limit is skipped */
	big = xmalloc(biglen + 8);
	memcpy(big, "F 1 ", 4);
	memset(big + 4, 'a', biglen);
	big[4 + biglen] = '\n';
	memset(&c, 0, sizeof(c));
	assert_int_equal(track_parse(big, biglen + 5, parse_cb, &c), 0);
	free(big);
	/* binary junk */
	{
		char junk[256];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (char)(i * 37 + 11);
		memset(&c, 0, sizeof(c));
		(void)track_parse(junk, sizeof(junk), parse_cb, &c);
	}
}

static void test_sources(void **state)
{
	(void)state;
	assert_true(track_source_suppressed(NULL, "smtp"));
	assert_false(track_source_suppressed(NULL, "authsmtp"));
	assert_false(track_source_suppressed(NULL, "local"));
	assert_true(track_source_suppressed("smtp,authsmtp", "authsmtp"));
	assert_true(track_source_suppressed("smtp, authsmtp", "smtp"));
	assert_false(track_source_suppressed("none", "smtp"));
	assert_false(track_source_suppressed("", "smtp"));
	assert_false(track_source_suppressed("smtpx", "smtp"));
	assert_false(track_source_suppressed("smt", "smtp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_window),
		cmocka_unit_test(test_deferral_then_delivery),
		cmocka_unit_test(test_list_and_clear),
		cmocka_unit_test(test_old_files_removed),
		cmocka_unit_test(test_unusable_addresses),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_sources),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
