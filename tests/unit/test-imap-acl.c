/* test-imap-acl.c: unit tests for ACL files (Courier's courierimapacl
 * format), rights letters, identifiers, the rights a session gets, and
 * inheritance, with malformed files. */
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

#include "imap-acl.h"
#include "mem.h"
#include "str.h"

static char *rights_text(unsigned int r, bool file)
{
	struct str s;
	str_init(&s, 16);
	imap_acl_rights_append(&s, r, file);
	char *ret = xstrdup(str_c(&s));
	str_free(&s);
	return ret;
}

static void test_rights(void **state)
{
	unsigned int r;
	(void)state;

	assert_int_equal(imap_acl_rights_parse("aceilrstwx", false, &r), 0);
	assert_int_equal(r, IMAP_ACL_ALL);
	char *t = rights_text(r, true);
	assert_string_equal(t, "aceilrstwx");
	free(t);
	t = rights_text(r, false);
	assert_string_equal(t, "lrswikxteacd");
	free(t);
	/* k and c are the same right; d is x t e */
	assert_int_equal(imap_acl_rights_parse("k", false, &r), 0);
	assert_int_equal(r, IMAP_ACL_CREATE);
	assert_int_equal(imap_acl_rights_parse("d", false, &r), 0);
	assert_int_equal(r, IMAP_ACL_DELETE | IMAP_ACL_DELMSG |
				    IMAP_ACL_EXPUNGE);
	t = rights_text(IMAP_ACL_DELETE | IMAP_ACL_DELMSG, false);
	assert_string_equal(t, "xt");	/* not all of d */
	free(t);
	assert_int_equal(imap_acl_rights_parse("lrq", false, &r), -1);
	assert_int_equal(imap_acl_rights_parse("", false, &r), -1);
	assert_int_equal(imap_acl_rights_parse("", true, &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(imap_acl_rights_parse("L", false, &r), -1);
}

static void test_ids(void **state)
{
	(void)state;
	assert_true(imap_acl_id_valid("owner"));
	assert_true(imap_acl_id_valid("-anyone"));
	assert_true(imap_acl_id_valid("user=bob@example.test"));
	assert_true(imap_acl_id_valid("group=staff"));
	assert_false(imap_acl_id_valid("user="));
	assert_false(imap_acl_id_valid("bob"));
	assert_false(imap_acl_id_valid("user=a b"));
	assert_false(imap_acl_id_valid("--owner"));
	assert_false(imap_acl_id_valid(""));
	char *id = imap_acl_id_from_client("bob");
	assert_string_equal(id, "user=bob");
	free(id);
	id = imap_acl_id_from_client("-bob");
	assert_string_equal(id, "-user=bob");
	free(id);
	id = imap_acl_id_from_client("group=x");
	assert_string_equal(id, "group=x");
	free(id);
	assert_null(imap_acl_id_from_client("a=b"));
	assert_null(imap_acl_id_from_client("-"));
	assert_null(imap_acl_id_from_client("a\tb"));
	char big[IMAP_ACL_ID_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(imap_acl_id_from_client(big));
}

static void test_parse_format(void **state)
{
	static const char text[] =
		"owner aceilrstwx\r\n\n  user=bob lr\n-group=x w\nanyone \n";
	struct imap_acl acl;
	const char *error;
	(void)state;

	/* every split of the lines parses the same way when whole */
	assert_int_equal(imap_acl_parse(text, strlen(text), &acl, &error), 0);
	assert_int_equal(acl.count, 4);
	assert_int_equal(imap_acl_get(&acl, "user=bob"),
			 IMAP_ACL_LOOKUP | IMAP_ACL_READ);
	assert_int_equal(imap_acl_get(&acl, "anyone"), 0);
	struct str s;
	str_init(&s, 64);
	imap_acl_format(&acl, &s);
	assert_string_equal(str_c(&s), "owner aceilrstwx\nuser=bob lr\n"
				       "-group=x w\nanyone \n");
	str_free(&s);
	imap_acl_free(&acl);

	static const char *const bad[] = {
		"owner\tlr\nfoo lr\n", "user=bob lrz\n", "owner a\nowner l\n",
		"user= l\n", "owner a\0b\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 4 ? 10 : strlen(bad[i]);
		assert_int_equal(imap_acl_parse(bad[i], len, &acl, &error),
				 -1);
		assert_int_equal(acl.count, 0);
	}
	/* too many entries, too large */
	struct str many;
	str_init(&many, 1024);
	for (int i = 0; i <= IMAP_ACL_MAX_ENTRIES; i++)
		str_printfa(&many, "user=u%d l\n", i);
	assert_int_equal(imap_acl_parse(str_c(&many), str_len(&many), &acl,
					&error), -1);
	str_free(&many);
	char *huge = xcalloc(1, IMAP_ACL_FILE_MAX + 2);
	memset(huge, '\n', IMAP_ACL_FILE_MAX + 1);
	assert_int_equal(imap_acl_parse(huge, IMAP_ACL_FILE_MAX + 1, &acl,
					&error), -1);
	assert_int_equal(imap_acl_parse(huge, IMAP_ACL_FILE_MAX, &acl,
					&error), 0);
	free(huge);
}

static void test_compute(void **state)
{
	static const char text[] = "owner lr\nuser=bob lrsw\ngroup=staff i\n"
				   "-group=interns w\nadministrators a\n";
	struct imap_acl acl;
	const char *error;
	char *groups[] = { (char *)"staff", (char *)"interns" };
	(void)state;

	assert_int_equal(imap_acl_parse(text, strlen(text), &acl, &error), 0);
	struct imap_acl_who owner = { .user = "alice", .owner = "alice" };
	/* the owner always keeps a */
	assert_int_equal(imap_acl_compute(&acl, &owner),
			 IMAP_ACL_LOOKUP | IMAP_ACL_READ | IMAP_ACL_ADMIN);
	struct imap_acl_who bob = { .user = "bob", .owner = "alice" };
	assert_int_equal(imap_acl_compute(&acl, &bob),
			 IMAP_ACL_LOOKUP | IMAP_ACL_READ | IMAP_ACL_SEEN |
				 IMAP_ACL_WRITE);
	bob.groups = groups;
	bob.group_count = 2;
	assert_int_equal(imap_acl_compute(&acl, &bob),
			 IMAP_ACL_LOOKUP | IMAP_ACL_READ | IMAP_ACL_SEEN |
				 IMAP_ACL_INSERT);
	struct imap_acl_who carol = { .user = "carol", .owner = "alice" };
	assert_int_equal(imap_acl_compute(&acl, &carol), 0);
	char *admins[] = { (char *)"administrators" };
	carol.groups = admins;
	carol.group_count = 1;
	assert_int_equal(imap_acl_compute(&acl, &carol), IMAP_ACL_ADMIN);
	/* set and remove */
	assert_int_equal(imap_acl_set(&acl, "anyone", IMAP_ACL_LOOKUP), 0);
	carol.group_count = 0;
	assert_int_equal(imap_acl_compute(&acl, &carol), IMAP_ACL_LOOKUP);
	assert_true(imap_acl_remove(&acl, "anyone"));
	assert_false(imap_acl_remove(&acl, "anyone"));
	assert_int_equal(imap_acl_set(&acl, "user=bob", 0), 0);
	assert_int_equal(imap_acl_get(&acl, "user=bob"), 0);
	imap_acl_free(&acl);

	size_t n;
	char **g = imap_acl_groups_parse("disableshared=1,group=a,,group=,"
					 "group=bb,sharedgroup=x", &n);
	assert_int_equal(n, 2);
	assert_string_equal(g[0], "a");
	assert_string_equal(g[1], "bb");
	imap_acl_groups_free(g, n);
	assert_null(imap_acl_groups_parse(NULL, &n));
	assert_int_equal(n, 0);
}

static void mkmaildir(const char *path)
{
	char *p;
	assert_int_equal(mkdir(path, 0700), 0);
	p = xasprintf("%s/tmp", path);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
}

static void test_files(void **state)
{
	char tmpl[] = "/tmp/test-imap-acl.XXXXXX";
	char *root = mkdtemp(tmpl);
	struct imap_acl acl;
	const char *error;
	(void)state;

	assert_non_null(root);
	char *a = xasprintf("%s/.a", root), *ab = xasprintf("%s/.a.b", root);
	char *rtmp = xasprintf("%s/tmp", root);
	assert_int_equal(mkdir(rtmp, 0700), 0);
	mkmaildir(a);
	mkmaildir(ab);
	/* nothing anywhere: Courier's default */
	imap_acl_load(root, "a.b", &acl);
	assert_int_equal(acl.count, 2);
	assert_int_equal(imap_acl_get(&acl, "owner"), IMAP_ACL_ALL);
	imap_acl_free(&acl);
	/* a's file is inherited by a.b, not by INBOX */
	imap_acl_default(&acl);
	assert_int_equal(imap_acl_set(&acl, "user=bob", IMAP_ACL_LOOKUP), 0);
	assert_int_equal(imap_acl_write_dir(a, &acl, &error), 0);
	imap_acl_free(&acl);
	imap_acl_load(root, "a.b", &acl);
	assert_int_equal(imap_acl_get(&acl, "user=bob"), IMAP_ACL_LOOKUP);
	imap_acl_free(&acl);
	imap_acl_load(root, "", &acl);
	assert_int_equal(imap_acl_get(&acl, "user=bob"), 0);
	imap_acl_free(&acl);
	assert_int_equal(imap_acl_read_dir(ab, &acl, &error), 0);
	/* a malformed file grants nothing (the owner keeps a) */
	char *f = xasprintf("%s/courierimapacl", ab);
	FILE *fp = fopen(f, "w");
	assert_non_null(fp);
	fputs("owner lr\nnonsense\n", fp);
	fclose(fp);
	assert_int_equal(imap_acl_read_dir(ab, &acl, &error), -1);
	imap_acl_load(root, "a.b", &acl);
	assert_int_equal(acl.count, 0);
	struct imap_acl_who who = { .user = "u", .owner = "u" };
	assert_int_equal(imap_acl_compute(&acl, &who), IMAP_ACL_ADMIN);
	imap_acl_free(&acl);
	unlink(f);
	free(f);
	f = xasprintf("%s/courierimapacl", a);
	unlink(f);
	free(f);
	rmdir(rtmp);
	free(rtmp);
	char *t = xasprintf("%s/tmp", a);
	rmdir(t);
	free(t);
	t = xasprintf("%s/tmp", ab);
	rmdir(t);
	free(t);
	rmdir(ab);
	rmdir(a);
	rmdir(root);
	free(a);
	free(ab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rights),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_compute),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
