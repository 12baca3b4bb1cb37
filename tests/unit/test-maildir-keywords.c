/* test-maildir-keywords.c: unit tests for lib/maildir-keywords (Courier's
 * courierimapkeywords/ storage). */
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
#include <time.h>
#include <unistd.h>
#include "maildir.h"
#include "maildir-keywords.h"
#include "mem.h"
#include "unit-files.h"
#include "str.h"

/* "a b c" for the keywords of name, "" when none. */
static char *kw_join(const struct maildir_keywords *kw, const char *name)
{
	size_t n;
	const char *const *v = maildir_keywords_get(kw, name, &n);
	struct str s;

	str_init(&s, 32);
	for (size_t i = 0; i < n; i++)
		str_printfa(&s, "%s%s", i == 0 ? "" : " ", v[i]);
	return str_steal(&s);
}

static void assert_kw(const struct maildir_keywords *kw, const char *name,
		      const char *expect)
{
	char *s = kw_join(kw, name);

	assert_string_equal(s, expect);
	free(s);
}

static void test_parse_list(void **state)
{
	const char *list = "$Label1\n"
			   "Junk\n"
			   "$Forwarded\n"
			   "\n"
			   "111.M1P1.h,S=3:0 2\n"
			   "222.M2P2.h:1\n"
			   "333.M3P3.h:\n";
	struct maildir_keywords *kw = maildir_keywords_new(NULL);
	struct str out;

	(void)state;
	assert_int_equal(maildir_keywords_parse_list(kw, list, strlen(list)),
			 0);
	assert_kw(kw, "111.M1P1.h,S=3", "$Label1 $Forwarded");
	assert_kw(kw, "111.M1P1.h,S=3:2,S", "$Label1 $Forwarded");
	assert_kw(kw, "222.M2P2.h", "Junk");
	assert_kw(kw, "333.M3P3.h", "");
	assert_kw(kw, "444", "");
	assert_int_equal(maildir_keywords_message_count(kw), 2);

	/* Export gives Courier's format back, names numbered by first use. */
	str_init(&out, 128);
	assert_int_equal(maildir_keywords_export(kw, &out), 2);
	assert_string_equal(str_c(&out), "$Label1\n$Forwarded\nJunk\n\n"
					 "111.M1P1.h,S=3:0 1\n"
					 "222.M2P2.h:2\n");
	/* ...which parses to the same. */
	{
		struct maildir_keywords *kw2 = maildir_keywords_new(NULL);

		assert_int_equal(maildir_keywords_parse_list(
					 kw2, str_c(&out), str_len(&out)), 0);
		assert_kw(kw2, "111.M1P1.h,S=3", "$Label1 $Forwarded");
		assert_kw(kw2, "222.M2P2.h", "Junk");
		maildir_keywords_destroy(&kw2);
	}
	str_free(&out);
	maildir_keywords_destroy(&kw);
	assert_null(kw);

	/* Every prefix of the file parses without harm. */
	for (size_t i = 0; i <= strlen(list); i++) {
		kw = maildir_keywords_new(NULL);
		(void)maildir_keywords_parse_list(kw, list, i);
		maildir_keywords_destroy(&kw);
	}
}

static void test_parse_garbage(void **state)
{
	const char list[] = "good\n"
			    "bad\x01name\n"
			    "third\n"
			    "\n"
			    "nocolon\n"
			    "m1:0 1 2 99 x\n"	    /* bad index 1, 99, junk */
			    "m2:18446744073709551616 2\n"
			    ":0\n"		    /* empty base */
			    ".hidden:0\n"
			    "a/b:0\n"
			    "m3:0  2 \n"
			    "m4\x00:0\n";
	struct maildir_keywords *kw = maildir_keywords_new(NULL);
	size_t skipped;

	(void)state;
	skipped = maildir_keywords_parse_list(kw, list, sizeof(list) - 1);
	assert_true(skipped >= 8);
	assert_kw(kw, "m1", "good third");
	assert_kw(kw, "m2", "third");
	assert_kw(kw, "m3", "good third");
	assert_kw(kw, ".hidden", "");
	assert_kw(kw, "a/b", "");
	maildir_keywords_destroy(&kw);

	/* Limits: names, keywords per message, messages, line length. */
	{
		struct maildir_keywords_limits lim = {
			.max_line = 8, .max_names = 2, .max_per_message = 1,
			.max_messages = 1,
		};
		const char *l2 = "a\nb\nc\nverylongname\n\nm1:0 1\nm2:0\n";

		kw = maildir_keywords_new(&lim);
		skipped = maildir_keywords_parse_list(kw, l2, strlen(l2));
		assert_true(skipped >= 4);
		assert_kw(kw, "m1", "a");
		assert_kw(kw, "m2", "");
		assert_int_equal(maildir_keywords_set(kw, "m1", "b", true),
				 -1);
		assert_int_equal(maildir_keywords_set(kw, "m2", "a", true),
				 -1);
		maildir_keywords_destroy(&kw);
	}
}

static void test_parse_update_and_set(void **state)
{
	struct maildir_keywords *kw = maildir_keywords_new(NULL);
	const char *u = "one\nTwo\ntwo\n\nafter-blank\n";

	(void)state;
	assert_int_equal(maildir_keywords_parse_update(kw, "m:2,S", u,
						       strlen(u)), 0);
	assert_kw(kw, "m", "one Two"); /* case-insensitive duplicates */
	assert_int_equal(maildir_keywords_set(kw, "m", "ONE", true), 0);
	assert_int_equal(maildir_keywords_set(kw, "m", "three", true), 1);
	assert_int_equal(maildir_keywords_set(kw, "m", "two", false), 1);
	assert_int_equal(maildir_keywords_set(kw, "m", "two", false), 0);
	assert_int_equal(maildir_keywords_set(kw, "x", "two", false), 0);
	assert_kw(kw, "m", "one three");
	assert_int_equal(maildir_keywords_set(kw, "m", "bad name", true), -1);
	assert_int_equal(maildir_keywords_set(kw, "m", "", true), -1);
	assert_int_equal(maildir_keywords_set(kw, "m", "a(b", true), -1);
	assert_int_equal(maildir_keywords_set(kw, "a/b", "ok", true), -1);
	assert_false(maildir_keywords_name_valid("sp ace"));
	assert_false(maildir_keywords_name_valid("br]"));
	assert_true(maildir_keywords_name_valid("$Label1"));
	/* An empty update clears. */
	assert_int_equal(maildir_keywords_parse_update(kw, "m", "", 0), 0);
	assert_kw(kw, "m", "");
	assert_int_equal(maildir_keywords_message_count(kw), 0);
	maildir_keywords_destroy(&kw);
}

static size_t count_updates(const char *root)
{
	char *p = xasprintf("%s/" MAILDIR_KEYWORDS_DIR, root);
	DIR *dp = opendir(p);
	struct dirent *de;
	size_t n = 0;

	free(p);
	if (dp == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 && de->d_name[0] != ':')
			n++;
	}
	closedir(dp);
	return n;
}

static void test_on_disk(void **state)
{
	char *root = unit_maildir("mdkw"), *m1, *m2, *s, *rel;
	struct maildir_keywords *kw;
	const char *error;
	size_t b1;

	(void)state;
	assert_int_equal(maildir_deliver(root, "1", 1, 0, &m1, &error), 0);
	assert_int_equal(maildir_deliver(root, "2", 1, 0, &m2, &error), 0);
	b1 = strlen(m1);

	/* Empty maildir: no keywords. */
	assert_int_equal(maildir_keywords_load(root, NULL, &kw, &error), 0);
	assert_int_equal(maildir_keywords_message_count(kw), 0);
	maildir_keywords_destroy(&kw);

	assert_int_equal(maildir_keywords_update(root, m1, "$Label1", true,
						 &error), 1);
	rel = xasprintf(MAILDIR_KEYWORDS_DIR "/%s", m1);
	s = unit_read_file(root, rel);
	assert_string_equal(s, "$Label1\n"); /* Courier's update format */
	free(s);
	/* Already set: nothing written. */
	assert_int_equal(maildir_keywords_update(root, m1, "$label1", true,
						 &error), 0);
	/* A second update while the first is pending moves the first to
	 * its epoch name and wins. */
	assert_int_equal(maildir_keywords_update(root, m1, "Work", true,
						 &error), 1);
	s = unit_read_file(root, rel);
	assert_string_equal(s, "$Label1\nWork\n");
	free(s);
	assert_int_equal(count_updates(root), 2);
	assert_int_equal(maildir_keywords_update(root, m2, "Work", true,
						 &error), 1);
	assert_int_equal(maildir_keywords_update(root, m1, "$Label1", false,
						 &error), 1);
	assert_int_equal(maildir_keywords_update(root, m1, "bad name", true,
						 &error), -1);
	assert_int_equal(maildir_keywords_update(root, "../x", "ok", true,
						 &error), -1);

	assert_int_equal(maildir_keywords_load(root, NULL, &kw, &error), 0);
	assert_kw(kw, m1, "Work");
	assert_kw(kw, m2, "Work");
	maildir_keywords_destroy(&kw);

	/* Flags in the name do not matter. */
	s = xasprintf("%s:2,S", m1);
	assert_int_equal(maildir_keywords_update(root, s, "Seen2", true,
						 &error), 1);
	free(s);

	/* Folding everything into :list. */
	assert_int_equal(maildir_keywords_compact(root, &error), 0);
	assert_int_equal(count_updates(root), 0);
	s = unit_read_file(root, MAILDIR_KEYWORDS_DIR "/:list");
	{
		/* Sorted by base name; names numbered by first use. */
		char *expect = strcmp(m1, m2) < 0
			? xasprintf("Work\nSeen2\n\n%s:0 1\n%s:0\n", m1, m2)
			: xasprintf("Work\nSeen2\n\n%s:0\n%s:0 1\n", m2, m1);

		assert_string_equal(s, expect);
		free(expect);
	}
	free(s);
	assert_int_equal(maildir_keywords_load(root, NULL, &kw, &error), 0);
	assert_kw(kw, m1, "Work Seen2");
	assert_kw(kw, m2, "Work");
	maildir_keywords_destroy(&kw);

	/* Replace all, then clear all: compact removes :list. */
	{
		const char *names[] = { "x1", "x2" };

		assert_int_equal(maildir_keywords_store(root, m2, names, 2,
							&error), 1);
		assert_int_equal(maildir_keywords_store(root, m2, names, 2,
							&error), 0);
		assert_int_equal(maildir_keywords_load(root, NULL, &kw,
						       &error), 0);
		assert_kw(kw, m2, "x1 x2");
		maildir_keywords_destroy(&kw);
		assert_int_equal(maildir_keywords_store(root, m2, NULL, 0,
							&error), 1);
		assert_int_equal(maildir_keywords_update(root, m1, "Work",
							 false, &error), 1);
		assert_int_equal(maildir_keywords_update(root, m1, "Seen2",
							 false, &error), 1);
		assert_int_equal(maildir_keywords_compact(root, &error), 0);
		s = unit_read_file(root, MAILDIR_KEYWORDS_DIR "/:list");
		assert_null(s);
	}
	(void)b1;
	free(rel);
	free(m1);
	free(m2);
	unit_rm_rf(root);
	free(root);
}

/* A directory laid out as Courier leaves it: :list, older epoch updates,
 * a pending bare update, scratch files and garbage. */
static void test_courier_layout(void **state)
{
	char *root = unit_maildir("mdkw"), *p;
	struct maildir_keywords *kw;
	const char *error;
	long long now = (long long)time(NULL) / 300;

	(void)state;
	p = xasprintf("%s/" MAILDIR_KEYWORDS_DIR, root);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	unit_write_file(root, "cur/100.M1P1.h,S=5:2,S", "hello");
	unit_write_file(root, "cur/200.M2P2.h,S=5:2,", "hello");
	unit_write_file(root, "new/300.M3P3.h,S=5", "hello");
	unit_write_file(root, MAILDIR_KEYWORDS_DIR "/:list",
		   "A\nB\nC\n\n100.M1P1.h,S=5:0\n200.M2P2.h,S=5:1\n"
		   "300.M3P3.h,S=5:2\ngone.M9P9.h:0\n");
	/* Older epochs: the highest wins. */
	p = xasprintf(MAILDIR_KEYWORDS_DIR "/.%lld.200.M2P2.h,S=5", now - 10);
	unit_write_file(root, p, "Old\n");
	free(p);
	p = xasprintf(MAILDIR_KEYWORDS_DIR "/.%lld.200.M2P2.h,S=5", now - 2);
	unit_write_file(root, p, "Newer\nB\n");
	free(p);
	/* The bare name beats the epoch files. */
	p = xasprintf(MAILDIR_KEYWORDS_DIR "/.%lld.300.M3P3.h,S=5", now + 1);
	unit_write_file(root, p, "Epoch\n");
	free(p);
	unit_write_file(root, MAILDIR_KEYWORDS_DIR "/300.M3P3.h,S=5", "");
	/* Garbage. */
	unit_write_file(root, MAILDIR_KEYWORDS_DIR "/.tmp.123.x", "Tmp\n");
	unit_write_file(root, MAILDIR_KEYWORDS_DIR "/.junk", "J\n");
	unit_write_file(root, MAILDIR_KEYWORDS_DIR "/.12", "J\n");
	unit_write_file(root, MAILDIR_KEYWORDS_DIR "/.12.", "J\n");
	unit_write_file(root, MAILDIR_KEYWORDS_DIR "/:other", "J\n");
	p = xasprintf("%s/" MAILDIR_KEYWORDS_DIR "/dir.M1", root);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	{
		char bin[64];

		for (size_t i = 0; i < sizeof(bin) - 1; i++)
			bin[i] = (char)(i * 37 + 1);
		bin[sizeof(bin) - 1] = '\0';
		unit_write_file(root, MAILDIR_KEYWORDS_DIR "/100.M1P1.h,S=5", bin);
	}

	assert_int_equal(maildir_keywords_load(root, NULL, &kw, &error), 0);
	assert_kw(kw, "200.M2P2.h,S=5", "Newer B");
	assert_kw(kw, "300.M3P3.h,S=5", "");
	assert_kw(kw, "gone.M9P9.h", "A");
	/* The binary update file yields no valid names: no keywords. */
	assert_kw(kw, "100.M1P1.h,S=5", "");
	maildir_keywords_destroy(&kw);

	assert_int_equal(maildir_keywords_compact(root, &error), 0);
	assert_int_equal(maildir_keywords_load(root, NULL, &kw, &error), 0);
	assert_kw(kw, "200.M2P2.h,S=5", "Newer B");
	assert_kw(kw, "gone.M9P9.h", ""); /* dropped: no such message */
	maildir_keywords_destroy(&kw);
	{
		char *s = unit_read_file(root, MAILDIR_KEYWORDS_DIR "/:list");

		assert_string_equal(s, "Newer\nB\n\n200.M2P2.h,S=5:0 1\n");
		free(s);
	}
	unit_rm_rf(root);
	free(root);
}

/* Tables grown many times over (names and messages), and their limits. */
static void test_many(void **state)
{
	struct maildir_keywords_limits lim = { .max_names = 300,
					       .max_messages = 3000 };
	struct maildir_keywords *kw = maildir_keywords_new(&lim);
	const char *const *got;
	const char **msgs;
	char name[32], key[32];
	size_t n;

	(void)state;
	for (unsigned i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "17000%05u.M%uP1.h", i, i);
		snprintf(key, sizeof(key), "k%u", i % 299);
		assert_int_equal(maildir_keywords_set(kw, name, key, true), 1);
		assert_int_equal(maildir_keywords_set(kw, name, "all", true),
				 1);
	}
	/* 300 names in all: a new one is over the limit, a known one is
	 * not; so is a message past 3000. */
	assert_int_equal(maildir_keywords_set(kw, "1700000000.M0P1.h", "new",
					      true),
			 -1);
	assert_int_equal(maildir_keywords_set(kw, "1700000000.M0P1.h", "k5",
					      true),
			 1);
	assert_int_equal(maildir_keywords_set(kw, "other", "all", true), -1);
	assert_int_equal(maildir_keywords_message_count(kw), 3000);
	for (unsigned i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "17000%05u.M%uP1.h:2,S", i, i);
		snprintf(key, sizeof(key), "k%u", i % 299);
		got = maildir_keywords_get(kw, name, &n);
		assert_int_equal(n, i == 0 ? 3 : 2);
		assert_string_equal(got[0], key);
		assert_string_equal(got[1], "all");
	}
	msgs = maildir_keywords_messages(kw, &n);
	assert_int_equal(n, 3000);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(msgs[i - 1], msgs[i]) < 0);
	free(msgs);
	maildir_keywords_destroy(&kw);
	assert_null(kw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_parse_update_and_set),
		cmocka_unit_test(test_on_disk),
		cmocka_unit_test(test_courier_layout),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
