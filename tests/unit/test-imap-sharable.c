/* test-imap-sharable.c: unit tests for filesystem shared folders
 * (imap-sharable.h): shared-maildirs lines (good, malformed ones logged
 * with FILE:LINE and skipped, every prefix of the input), nicknames, name
 * splitting, the known file, folder permissions, and the refresh of an
 * account's copy (links in, vanished, expunged with read and write
 * permission). */
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

#include "imap-sharable.h"
#include "log.h"
#include "maildir.h"
#include "mem.h"
#include "str.h"

static struct str logged;

static void log_capture(enum log_level level, const char *line,
			void *context)
{
	(void)level;
	(void)context;
	str_append(&logged, line);
	str_append_c(&logged, '\n');
}

static int setup(void **state)
{
	(void)state;
	str_init(&logged, 256);
	log_set_handler(log_capture, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_handler(NULL, NULL);
	str_free(&logged);
	return 0;
}

static void test_nick(void **state)
{
	(void)state;
	assert_true(imap_sharable_nick_valid("notices", 7));
	assert_true(imap_sharable_nick_valid("a-b_c@d", 7));
	assert_false(imap_sharable_nick_valid("", 0));
	assert_false(imap_sharable_nick_valid("a.b", 3));
	assert_false(imap_sharable_nick_valid("a/b", 3));
	assert_false(imap_sharable_nick_valid("a b", 3));
	assert_false(imap_sharable_nick_valid("a\tb", 3));
	assert_false(imap_sharable_nick_valid("a\x7f", 2));
	char *longer = xcalloc(1, IMAP_SHARABLE_NICK_MAX + 2);
	memset(longer, 'x', IMAP_SHARABLE_NICK_MAX + 1);
	assert_true(imap_sharable_nick_valid(longer, IMAP_SHARABLE_NICK_MAX));
	assert_false(imap_sharable_nick_valid(longer,
					      IMAP_SHARABLE_NICK_MAX + 1));
	free(longer);
}

static const char list_data[] =
	"# sharable maildirs\n"
	"notices\t/srv/shared/notices\n"
	"\n"
	"no tab here\n"
	"bad.nick\t/x\n"
	"rel\trelative/path\n"
	"empty\t\n"
	"\t/no/nick\n"
	"board\t/srv/board\r\n"
	"notices\t/second/one/ignored\n"
	"ctl\t/a\001b\n"
	"last\t/srv/last";

static void test_list_parse(void **state)
{
	struct imap_sharable_list l;
	(void)state;

	memset(&l, 0, sizeof(l));
	assert_int_equal(imap_sharable_list_parse(&l, list_data,
						  strlen(list_data),
						  "/m/shared-maildirs"),
			 6);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.entries[0].nick, "notices");
	assert_string_equal(l.entries[0].path, "/srv/shared/notices");
	assert_string_equal(l.entries[1].nick, "board");
	assert_string_equal(l.entries[1].path, "/srv/board");
	assert_string_equal(l.entries[2].path, "/srv/last");
	/* each malformed line is reported with its file and line */
	assert_non_null(strstr(str_c(&logged), "/m/shared-maildirs:4: no tab"));
	assert_non_null(strstr(str_c(&logged),
			       "/m/shared-maildirs:5: invalid"));
	assert_non_null(strstr(str_c(&logged),
			       "/m/shared-maildirs:6: the path is not"));
	assert_non_null(strstr(str_c(&logged), "/m/shared-maildirs:7:"));
	assert_non_null(strstr(str_c(&logged), "/m/shared-maildirs:8:"));
	assert_non_null(strstr(str_c(&logged),
			       "/m/shared-maildirs:11: control"));
	assert_null(strstr(str_c(&logged), ":10:"));

	const struct imap_sharable_entry *e;
	e = imap_sharable_list_find(&l, "boardX", 5);
	assert_non_null(e);
	assert_string_equal(e->nick, "board");
	assert_null(imap_sharable_list_find(&l, "boa", 3));
	assert_null(imap_sharable_list_find(&l, "nobody", 6));

	/* a second file adds nicks it does not repeat */
	static const char global[] = "board\t/elsewhere\nextra\t/srv/extra\n";
	assert_int_equal(imap_sharable_list_parse(&l, global, strlen(global),
						  "etc/maildirshared"),
			 0);
	assert_int_equal(l.count, 4);
	assert_string_equal(l.entries[1].path, "/srv/board");
	assert_string_equal(l.entries[3].nick, "extra");
	imap_sharable_list_free(&l);
	assert_int_equal(l.count, 0);
}

static void test_list_malformed(void **state)
{
	struct imap_sharable_list l;
	(void)state;

	/* a NUL byte, a line over the limit */
	static const char nul[] = "a\t/x\0y\nb\t/ok\n";
	memset(&l, 0, sizeof(l));
	assert_int_equal(imap_sharable_list_parse(&l, nul, sizeof(nul) - 1,
						  "f"),
			 1);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.entries[0].nick, "b");
	imap_sharable_list_free(&l);

	size_t n = IMAP_SHARABLE_LINE_MAX + 10;
	char *big = xmalloc(n);
	memset(big, 'p', n);
	memcpy(big, "n\t/", 3);
	memset(&l, 0, sizeof(l));
	assert_int_equal(imap_sharable_list_parse(&l, big, n, "f"), 1);
	assert_int_equal(l.count, 0);
	free(big);

	/* every prefix of the input: no crash, never more entries than
	 * the whole, each entry well-formed */
	for (size_t len = 0; len <= strlen(list_data); len++) {
		memset(&l, 0, sizeof(l));
		(void)imap_sharable_list_parse(&l, list_data, len, "f");
		assert_true(l.count <= 3);
		for (size_t i = 0; i < l.count; i++) {
			assert_true(imap_sharable_nick_valid(
				l.entries[i].nick,
				strlen(l.entries[i].nick)));
			assert_int_equal(l.entries[i].path[0], '/');
		}
		imap_sharable_list_free(&l);
	}
}

static void test_split(void **state)
{
	size_t len;
	const char *folder;
	(void)state;

	assert_true(imap_sharable_split("notices.Weekly.Sub", &len, &folder));
	assert_int_equal(len, 7);
	assert_string_equal(folder, "Weekly.Sub");
	assert_true(imap_sharable_split("notices", &len, &folder));
	assert_int_equal(len, 7);
	assert_string_equal(folder, "");
	assert_false(imap_sharable_split("", &len, &folder));
	assert_false(imap_sharable_split(".Weekly", &len, &folder));
	assert_false(imap_sharable_split("a b.Weekly", &len, &folder));
}

static void test_known_parse(void **state)
{
	static const char data[] =
		"b.M2\n\na.M1\nb.M2\nbad/name\n.hidden\nx:2,S\nc\001\nc.M3\n"
		"d.M4\th\na.M1\th\n\th\ne\tx\n";
	char **v;
	size_t n, bad;
	(void)state;

	imap_sharable_known_parse(data, strlen(data), &v, &n, &bad);
	assert_int_equal(n, 4);
	assert_int_equal(bad, 6);
	assert_string_equal(v[0], "a.M1");
	assert_string_equal(v[1], "b.M2");
	assert_string_equal(v[2], "c.M3");
	assert_string_equal(v[3], "d.M4\th");
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	imap_sharable_known_parse("", 0, &v, &n, &bad);
	assert_int_equal(n, 0);
	assert_int_equal(bad, 0);
	free(v);
}

/* ---- on disk ---- */

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/test-imap-sharable.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return xstrdup(d);
}

static void rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void put(const char *dir, const char *sub, const char *name,
		const char *text)
{
	char *p = xasprintf("%s/%s/%s", dir, sub, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static bool has(const char *dir, const char *sub, const char *base)
{
	char *p = xasprintf("%s/%s", dir, sub);
	DIR *d = opendir(p);
	struct dirent *de;
	bool found = false;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, base, strlen(base)) == 0)
			found = true;
	closedir(d);
	free(p);
	return found;
}

static size_t count(const char *dir)
{
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, i == 0 ? "new" : "cur");
		DIR *d = opendir(p);
		struct dirent *de;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		free(p);
	}
	return n;
}

static char *make_shared_folder(const char *top, mode_t sub_mode)
{
	const char *error;
	char *orig = xasprintf("%s/sh/.F", top);
	char *sh = xasprintf("%s/sh", top);

	assert_int_equal(mkdir(sh, 0755), 0);
	assert_int_equal(mkdir(orig, 0755), 0);
	assert_int_equal(maildir_create(orig, &error), 0);
	for (int i = 0; i < 3; i++) {
		static const char *const subs[] = { "tmp", "new", "cur" };
		char *p = xasprintf("%s/%s", orig, subs[i]);
		assert_int_equal(chmod(p, sub_mode), 0);
		free(p);
	}
	free(sh);
	return orig;
}

static void test_access(void **state)
{
	char *top = tmpdir();
	(void)state;

	char *orig = make_shared_folder(top, 0700);
	/* only its owner may read it: not shared */
	assert_int_equal(imap_sharable_access(orig), 0);
	char *cur = xasprintf("%s/cur", orig), *new = xasprintf("%s/new", orig),
	     *tmp = xasprintf("%s/tmp", orig);
	const char *subs[] = { cur, new, tmp };
	for (int i = 0; i < 3; i++)
		assert_int_equal(chmod(subs[i], 0755), 0);
	assert_int_equal(imap_sharable_access(orig), 1);	/* -s read */
	for (int i = 0; i < 3; i++)
		assert_int_equal(chmod(subs[i], 01777), 0);
	assert_int_equal(imap_sharable_access(orig), 2);	/* -s write */
	for (int i = 0; i < 3; i++)
		assert_int_equal(chmod(subs[i], 01770), 0);
	assert_int_equal(imap_sharable_access(orig), 2);	/* group */
	assert_int_equal(chmod(tmp, 0755), 0);
	assert_int_equal(imap_sharable_access(orig), 1);
	char *none = xasprintf("%s/none", top);
	assert_int_equal(imap_sharable_access(none), 0);
	free(none);
	free(cur);
	free(new);
	free(tmp);
	free(orig);
	rm_rf(top);
	free(top);
}

/* Sets the mtimes of dir's new/ and cur/ ten seconds back. */
static void age(const char *dir)
{
	struct timespec ts[2];

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
	ts[0].tv_sec -= 10;
	ts[1] = ts[0];
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, i == 0 ? "new" : "cur");
		assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
		free(p);
	}
}

/* Sets the mtimes of dir's new/ and cur/ to the next whole second (as a
 * file system without sub-second times shows a change made now). */
static void whole_second(const char *dir)
{
	struct timespec ts[2];

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
	ts[0].tv_sec++;
	ts[0].tv_nsec = 0;
	ts[1] = ts[0];
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, i == 0 ? "new" : "cur");
		assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
		free(p);
	}
}

static bool always(const char *base, void *context)
{
	(void)base;
	(void)context;
	return true;
}

static void test_refresh(void **state)
{
	char *top = tmpdir();
	const char *error;
	(void)state;

	char *orig = make_shared_folder(top, 01777);
	char *md = xasprintf("%s/md", top);
	assert_int_equal(mkdir(md, 0700), 0);
	assert_int_equal(maildir_create(md, &error), 0);
	char *copy = xasprintf("%s/shared-folders/n/F", md);

	put(orig, "new", "1.M1.h", "one\n");
	put(orig, "cur", "2.M2.h:2,S", "two\n");
	assert_int_equal(imap_sharable_refresh(copy, orig, false, NULL, NULL,
					       &error),
			 1);
	assert_true(maildir_is_maildir(copy));
	/* linked in under the base name, without the owner's flags */
	assert_true(has(copy, "new", "1.M1.h"));
	assert_true(has(copy, "new", "2.M2.h"));
	char *p = xasprintf("%s/new/2.M2.h", copy);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 4);
	free(p);
	char *link = xasprintf("%s/shared", copy);
	char target[512];
	ssize_t tl = readlink(link, target, sizeof(target) - 1);
	assert_true(tl > 0);
	target[tl] = '\0';
	assert_string_equal(target, orig);
	free(link);

	/* the account's flags: a rename in its copy; refresh keeps it */
	char *a = xasprintf("%s/new/1.M1.h", copy);
	char *b = xasprintf("%s/cur/1.M1.h:2,FS", copy);
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(imap_sharable_refresh(copy, orig, false, NULL, NULL,
					       &error),
			 1);
	assert_true(has(copy, "cur", "1.M1.h:2,FS"));
	assert_int_equal(count(copy), 2);

	/* the owner reads "2" (renamed there): the link follows, under
	 * its own name */
	char *o1 = xasprintf("%s/cur/2.M2.h:2,S", orig);
	char *o2 = xasprintf("%s/cur/2.M2.h:2,RS", orig);
	assert_int_equal(rename(o1, o2), 0);
	p = xasprintf("%s/new/2.M2.h", copy);
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(imap_sharable_refresh(copy, orig, false, NULL, NULL,
					       &error),
			 1);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(count(copy), 2);
	free(p);
	free(o1);
	free(o2);

	/* expunged from the copy of a read-only folder: it stays out */
	assert_int_equal(unlink(b), 0);
	assert_int_equal(imap_sharable_refresh(copy, orig, false, NULL, NULL,
					       &error),
			 1);
	assert_int_equal(count(copy), 1);
	assert_int_equal(count(orig), 2);
	/* not listed but still in the copy's index (a rename under way):
	 * not taken as expunged */
	p = xasprintf("%s/new/2.M2.h", copy);
	char *aside = xasprintf("%s/tmp/2.M2.h", copy);
	assert_int_equal(rename(p, aside), 0);
	assert_int_equal(imap_sharable_refresh(copy, orig, true, always, NULL,
					       &error),
			 1);
	assert_int_equal(count(orig), 2);
	assert_int_equal(rename(aside, p), 0);
	free(aside);
	free(p);
	/* ... of a writable one: from the original too (but what it hid
	 * while the folder was read-only stays there) */
	p = xasprintf("%s/new/2.M2.h", copy);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(imap_sharable_refresh(copy, orig, true, NULL, NULL,
					       &error),
			 1);
	assert_int_equal(count(orig), 1);
	assert_true(has(orig, "new", "1.M1.h"));
	assert_int_equal(count(copy), 0);

	/* new mail comes in; vanished mail goes */
	put(orig, "new", "3.M3.h", "three\n");
	assert_int_equal(imap_sharable_refresh(copy, orig, true, NULL, NULL,
					       &error),
			 1);
	assert_int_equal(count(copy), 1);
	assert_true(has(copy, "new", "3.M3.h"));
	p = xasprintf("%s/new/3.M3.h", orig);
	assert_int_equal(unlink(p), 0);
	free(p);
	/* just changed: the listing waits for the change to be old
	 * enough to trust it (under 60 ms) */
	assert_int_equal(imap_sharable_refresh(copy, orig, true, NULL, NULL,
					       &error),
			 1);
	assert_int_equal(count(copy), 0);
	/* a folder whose mtimes keep no nanoseconds (changed within the
	 * last second): too long a wait, the link stays for now */
	put(orig, "new", "4.M4.h", "four\n");
	assert_int_equal(imap_sharable_refresh(copy, orig, true, NULL, NULL,
					       &error),
			 1);
	assert_int_equal(count(copy), 1);
	p = xasprintf("%s/new/4.M4.h", orig);
	assert_int_equal(unlink(p), 0);
	free(p);
	whole_second(orig);
	assert_int_equal(imap_sharable_refresh(copy, orig, true, NULL, NULL,
					       &error),
			 0);
	assert_int_equal(count(copy), 1);
	/* and it stays known meanwhile */
	p = xasprintf("%s/" IMAP_SHARABLE_KNOWN_FILE, copy);
	FILE *kf = fopen(p, "r");
	char kbuf[256];
	size_t kn = kf != NULL ? fread(kbuf, 1, sizeof(kbuf) - 1, kf) : 0;
	kbuf[kn] = '\0';
	assert_non_null(kf);
	fclose(kf);
	free(p);
	assert_non_null(strstr(kbuf, "4.M4.h\n"));
	age(orig);
	assert_int_equal(imap_sharable_refresh(copy, orig, true, NULL, NULL,
					       &error),
			 1);
	assert_int_equal(count(copy), 0);
	/* the owner's own "1" was expunged by the account before: the
	 * known file kept it out; a damaged known file loses nothing
	 * but what it cannot name */
	p = xasprintf("%s/" IMAP_SHARABLE_KNOWN_FILE, copy);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("garbage/line\n\001\n1.M1.h\n", f);
	fclose(f);
	free(p);
	assert_int_equal(imap_sharable_refresh(copy, orig, false, NULL, NULL,
					       &error),
			 1);
	assert_int_equal(count(copy), 0);
	assert_non_null(strstr(str_c(&logged), "malformed lines skipped"));

	/* an original that is no maildir: an error, nothing removed */
	char *gone = xasprintf("%s/gone", top);
	assert_int_equal(imap_sharable_refresh(copy, gone, false, NULL, NULL,
					       &error),
			 -1);
	free(gone);

	free(a);
	free(b);
	free(copy);
	free(md);
	free(orig);
	rm_rf(top);
	free(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nick),
		cmocka_unit_test(test_list_parse),
		cmocka_unit_test(test_list_malformed),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_known_parse),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_refresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
