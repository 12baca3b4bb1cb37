/* test-maildir-folder.c: unit tests for lib/maildir-folder (Maildir++). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "maildir.h"
#include "maildir-folder.h"
#include "mem.h"
#include "unit-files.h"

static bool exists(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct stat st;
	bool ret = lstat(p, &st) == 0;

	free(p);
	return ret;
}

static void test_names(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", ".a", "a.", "a..b", "a/b", "../x", "a/../b",
		"x\ny", "\x7f", "caf\xc3", "a\x01",
	};
	char *s;

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (maildir_folder_name_valid(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
		assert_null(maildir_folder_dirname(bad[i]));
		assert_null(maildir_folder_path("/x", bad[i]));
	}
	assert_true(maildir_folder_name_valid("Sent"));
	assert_true(maildir_folder_name_valid("a.b.c"));
	assert_true(maildir_folder_name_valid("Entw\xc3\xbcrfe"));
	assert_true(maildir_folder_name_valid("A & B"));
	s = maildir_folder_dirname("Entw\xc3\xbcrfe.A&B");
	assert_string_equal(s, ".Entw&APw-rfe.A&-B");
	free(s);
	s = maildir_folder_name_from_dirname(".Entw&APw-rfe.A&-B");
	assert_string_equal(s, "Entw\xc3\xbcrfe.A&B");
	free(s);
	assert_null(maildir_folder_name_from_dirname("Sent"));
	assert_null(maildir_folder_name_from_dirname("."));
	assert_null(maildir_folder_name_from_dirname(".."));
	assert_null(maildir_folder_name_from_dirname("..x"));
	assert_null(maildir_folder_name_from_dirname(".A&B")); /* not mUTF-7 */
	assert_null(maildir_folder_name_from_dirname(".caf\xc3\xa9"));
	{
		/* Too long once encoded. */
		char big[300];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_false(maildir_folder_name_valid(big));
		big[250] = '\0';
		assert_true(maildir_folder_name_valid(big));
	}
}

static void test_create_list_delete(void **state)
{
	char *root = unit_maildir("mdfolder"), *p;
	struct maildir_folder_list *l;
	const char *error;

	(void)state;
	assert_int_equal(maildir_folder_create(root, "Sent", &error), 1);
	assert_int_equal(maildir_folder_create(root, "Sent", &error), 0);
	/* A subfolder may exist without its parent. */
	assert_int_equal(maildir_folder_create(root, "a.b", &error), 1);
	assert_int_equal(maildir_folder_create(root, "Entw\xc3\xbcrfe",
					       &error), 1);
	assert_int_equal(maildir_folder_create(root, "../evil", &error), -1);
	assert_int_equal(maildir_folder_create(root, "a/b", &error), -1);
	assert_false(exists(root, "../evil"));
	assert_true(exists(root, ".Sent/maildirfolder"));
	assert_true(exists(root, ".Sent/cur"));
	assert_true(exists(root, ".a.b/maildirfolder"));
	assert_false(exists(root, ".a"));
	assert_true(exists(root, ".Entw&APw-rfe/new"));
	/* Things that are not folders. */
	p = xasprintf("%s/.file", root);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	free(p);
	p = xasprintf("%s/.notmaildir", root);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/.link", root);
	assert_int_equal(symlink(".Sent", p), 0);
	free(p);

	assert_int_equal(maildir_folder_list(root, &l, &error), 0);
	assert_int_equal(l->count, 3);
	assert_string_equal(l->names[0], "Entw\xc3\xbcrfe");
	assert_string_equal(l->names[1], "Sent");
	assert_string_equal(l->names[2], "a.b");
	maildir_folder_list_free(&l);
	assert_null(l);

	/* Deleting removes the folder and its content, not other folders. */
	{
		char *name;
		char *sent = maildir_folder_path(root, "Sent");

		assert_int_equal(maildir_deliver(sent, "x", 1, 0, &name,
						 &error), 0);
		free(name);
		p = xasprintf("%s/courierimapkeywords", sent);
		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
		free(sent);
	}
	assert_int_equal(maildir_folder_delete(root, "Sent", &error), 1);
	assert_false(exists(root, ".Sent"));
	assert_int_equal(maildir_folder_delete(root, "Sent", &error), 0);
	assert_int_equal(maildir_folder_delete(root, "..", &error), -1);
	assert_int_equal(maildir_folder_list(root, &l, &error), 0);
	assert_int_equal(l->count, 2);
	maildir_folder_list_free(&l);
	/* Nothing left over in tmp/. */
	p = xasprintf("rmdir '%s/tmp' && mkdir '%s/tmp'", root, root);
	assert_int_equal(system(p), 0);
	free(p);
	unit_rm_rf(root);
	free(root);
}

static void test_rename(void **state)
{
	char *root = unit_maildir("mdfolder");
	struct maildir_folder_list *l;
	const char *error;

	(void)state;
	assert_int_equal(maildir_folder_create(root, "a", &error), 1);
	assert_int_equal(maildir_folder_create(root, "a.b", &error), 1);
	assert_int_equal(maildir_folder_create(root, "a.b.c", &error), 1);
	assert_int_equal(maildir_folder_create(root, "ab", &error), 1);
	assert_int_equal(maildir_folder_create(root, "x", &error), 1);

	assert_int_equal(maildir_folder_rename(root, "a", "a.z", &error), -1);
	assert_int_equal(maildir_folder_rename(root, "a", "x", &error), -1);
	assert_true(exists(root, ".a.b")); /* nothing moved */
	assert_int_equal(maildir_folder_rename(root, "a", "../y", &error), -1);
	assert_int_equal(maildir_folder_rename(root, "nope", "y", &error), 0);
	assert_int_equal(maildir_folder_rename(root, "a", "y\xc3\xa9", &error),
			 1);
	assert_int_equal(maildir_folder_list(root, &l, &error), 0);
	assert_int_equal(l->count, 5);
	assert_string_equal(l->names[0], "ab"); /* not a subfolder of a */
	assert_string_equal(l->names[1], "x");
	assert_string_equal(l->names[2], "y\xc3\xa9");
	assert_string_equal(l->names[3], "y\xc3\xa9.b");
	assert_string_equal(l->names[4], "y\xc3\xa9.b.c");
	maildir_folder_list_free(&l);
	assert_true(exists(root, ".y&AOk-.b.c/maildirfolder"));
	/* Renaming a subfolder alone. */
	assert_int_equal(maildir_folder_rename(root, "y\xc3\xa9.b", "top",
					       &error), 1);
	assert_true(exists(root, ".top.c"));
	unit_rm_rf(root);
	free(root);
}

/* Folders created by Debian's maildirmake -f are listed. */
static void test_maildirmake_interop(void **state)
{
	char *root, *cmd;
	struct maildir_folder_list *l;
	const char *error;

	(void)state;
	if (access("/usr/bin/maildirmake", X_OK) != 0) {
		skip();
		return;
	}
	root = unit_maildir("mdfolder");
	cmd = xasprintf("/usr/bin/maildirmake -f Work.Projects '%s' && "
			"/usr/bin/maildirmake -f 'A&-B' '%s'", root, root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(maildir_folder_list(root, &l, &error), 0);
	assert_int_equal(l->count, 2);
	assert_string_equal(l->names[0], "A&B");
	assert_string_equal(l->names[1], "Work.Projects");
	maildir_folder_list_free(&l);
	/* And ours look like maildirmake's to it (maildirfolder marker). */
	assert_int_equal(maildir_folder_create(root, "Mine", &error), 1);
	assert_true(exists(root, ".Mine/maildirfolder"));
	unit_rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_create_list_delete),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_maildirmake_interop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
