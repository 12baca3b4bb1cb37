/* test-imap-shared.c: unit tests for the shared index of virtual shared
 * folders (imap-shared.h): parsing, malformed lines, sorting and
 * repeated names, includes, account lookup with dotted names, the
 * sharedgroup=/disableshared options, and input split at every byte. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap-shared.h"
#include "mem.h"

static const char good[] =
	"# comment\n"
	"zoe\t1000\t1000\t/home/zoe\t\n"
	"bob\t1000\t1000\t/home/bob\tMail/box\n"
	"\n"
	"bob.smith\t1000\t1000\t/home/bs\t/var/mail/bs\textra\r\n"
	"bob\t1\t1\t/other\t\n"
	"*index2\n"
	"amy\t1\t1\t/home/amy";

static void test_parse(void **state)
{
	struct imap_shared_index idx;
	(void)state;

	memset(&idx, 0, sizeof(idx));
	assert_int_equal(imap_shared_index_parse(&idx, good, strlen(good),
						 "Maildir"), 0);
	assert_int_equal(idx.include_count, 1);
	assert_string_equal(idx.includes[0], "index2");
	imap_shared_index_finish(&idx);
	assert_int_equal(idx.count, 4);
	assert_string_equal(idx.accounts[0].name, "amy");
	assert_string_equal(idx.accounts[0].maildir, "/home/amy/Maildir");
	assert_string_equal(idx.accounts[1].name, "bob");
	/* the first of a repeated name wins */
	assert_string_equal(idx.accounts[1].maildir, "/home/bob/Mail/box");
	assert_string_equal(idx.accounts[2].name, "bob.smith");
	assert_string_equal(idx.accounts[2].maildir, "/var/mail/bs");
	assert_string_equal(idx.accounts[3].maildir, "/home/zoe/Maildir");

	const char *folder;
	const struct imap_shared_account *a;
	a = imap_shared_index_split(&idx, "bob.smith.Work.x", &folder);
	assert_non_null(a);
	assert_string_equal(a->name, "bob.smith");
	assert_string_equal(folder, "Work.x");
	a = imap_shared_index_split(&idx, "bob.Work", &folder);
	assert_string_equal(a->name, "bob");
	assert_string_equal(folder, "Work");
	a = imap_shared_index_split(&idx, "bob", &folder);
	assert_string_equal(a->name, "bob");
	assert_string_equal(folder, "");
	assert_null(imap_shared_index_split(&idx, "bo.b", &folder));
	assert_null(imap_shared_index_split(&idx, "", &folder));
	assert_null(imap_shared_index_split(&idx, "...", &folder));
	assert_null(imap_shared_index_find(&idx, "bo", 2));
	assert_non_null(imap_shared_index_find(&idx, "zoe", 3));
	imap_shared_index_free(&idx);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"bob\t1\t1\n",				/* no home */
		"bob\t1\t1\trelative\t\n",		/* home not absolute */
		"\t1\t1\t/h\t\n",			/* no name */
		"b b\t1\t1\t/h\t\n",			/* space in the name */
		"b/b\t1\t1\t/h\t\n",			/* slash */
		"bob\t1\t1\t/h\x01\t\n",		/* control character */
		"bob\t1\t1\t/h\tx\x02y\n",
		"*\n",					/* include of nothing */
		"*../etc/passwd\n",			/* include elsewhere */
		"*..\n",
		"bob\t1\t1\t/h\0\t\n",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_shared_index idx;
		size_t len = i == 10 ? 13 : strlen(bad[i]);
		memset(&idx, 0, sizeof(idx));
		assert_int_equal(imap_shared_index_parse(&idx, bad[i], len,
							 "Maildir"), 1);
		assert_int_equal(idx.count, 0);
		assert_int_equal(idx.include_count, 0);
		imap_shared_index_free(&idx);
	}
	/* a line over the limit is skipped, the next one kept */
	char *big = xmalloc(IMAP_SHARED_LINE_MAX + 64);
	memset(big, 'a', IMAP_SHARED_LINE_MAX + 1);
	memcpy(big + IMAP_SHARED_LINE_MAX + 1, "\nb\t1\t1\t/h\n", 11);
	struct imap_shared_index idx;
	memset(&idx, 0, sizeof(idx));
	assert_int_equal(imap_shared_index_parse(&idx, big, strlen(big),
						 "Maildir"), 1);
	assert_int_equal(idx.count, 1);
	imap_shared_index_free(&idx);
	free(big);
}

/* The same accounts whatever the data is cut into (lines are whole:
 * cut only at line ends, as files are parsed one at a time). */
static void test_split_lines(void **state)
{
	(void)state;
	for (size_t cut = 0; cut <= strlen(good); cut++) {
		if (cut > 0 && good[cut - 1] != '\n')
			continue;
		struct imap_shared_index idx;
		memset(&idx, 0, sizeof(idx));
		size_t bad = imap_shared_index_parse(&idx, good, cut, "M");
		bad += imap_shared_index_parse(&idx, good + cut,
					       strlen(good) - cut, "M");
		assert_int_equal(bad, 0);
		imap_shared_index_finish(&idx);
		assert_int_equal(idx.count, 4);
		imap_shared_index_free(&idx);
	}
}

static void test_options(void **state)
{
	(void)state;
	char *p = imap_shared_index_path("/etc/shared/index", NULL);
	assert_string_equal(p, "/etc/shared/index");
	free(p);
	p = imap_shared_index_path("/etc/shared/index",
				   "group=x,sharedgroup=sales,y=1");
	assert_string_equal(p, "/etc/shared/indexsales");
	free(p);
	assert_null(imap_shared_index_path("/i", "disableshared=1"));
	assert_null(imap_shared_index_path("/i", "a=b,disableshared"));
	p = imap_shared_index_path("/i", "disableshared=0");
	assert_string_equal(p, "/i");
	free(p);
	assert_null(imap_shared_index_path("/i", "sharedgroup=../x"));
	assert_null(imap_shared_index_path("/i", "sharedgroup=a/b"));
	p = imap_shared_index_path("/i", "sharedgroup=");
	assert_string_equal(p, "/i");
	free(p);
}

static void test_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-imap-shared-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *index = xasprintf("%s/index", dir);
	char *index2 = xasprintf("%s/index2", dir);
	FILE *f = fopen(index, "w");
	assert_non_null(f);
	fputs("bob\t1\t1\t/home/bob\t\n*index2\n*missing\n", f);
	fclose(f);
	f = fopen(index2, "w");
	assert_non_null(f);
	/* includes of an included file are not followed */
	fputs("amy\t1\t1\t/home/amy\t\n*index\n", f);
	fclose(f);
	struct imap_shared_index idx;
	imap_shared_index_load(index, "Maildir", &idx);
	assert_int_equal(idx.count, 2);
	assert_string_equal(idx.accounts[0].name, "amy");
	assert_int_equal(idx.include_count, 0);
	imap_shared_index_free(&idx);
	unlink(index);
	imap_shared_index_load(index, "Maildir", &idx);
	assert_int_equal(idx.count, 0);
	imap_shared_index_free(&idx);
	unlink(index2);
	rmdir(dir);
	free(index);
	free(index2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_split_lines),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
