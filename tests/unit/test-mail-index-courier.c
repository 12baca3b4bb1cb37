/* test-mail-index-courier.c: unit tests for the readers of Courier's
 * courierimapuiddb and courierpop3dsizelist (lib/mail-index-courier). */
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
#include "mail-index-courier.h"
#include "mail-index.h"
#include "mem.h"

static void test_uiddb_valid(void **state)
{
	static const char db[] = "1 734567890 12\n"
				 "3 1700000000.M1P1.host,S=10\n"
				 "7 1700000001.M2P1.host\n"
				 "11 1700000002.M3P1.host\n";
	struct mail_index_uiddb *u;

	(void)state;
	assert_int_equal(mail_index_uiddb_parse(db, strlen(db), NULL, &u), 1);
	assert_int_equal(u->uidvalidity, 734567890);
	assert_int_equal(u->nextuid, 12);
	assert_int_equal(u->count, 3);
	assert_int_equal(u->skipped, 0);
	assert_int_equal(mail_index_uiddb_find(u, "1700000001.M2P1.host",
					       20), 7);
	/* A full file name finds its base only through its base length. */
	assert_int_equal(mail_index_uiddb_find(
				 u, "1700000000.M1P1.host,S=10:2,S", 25),
			 3);
	assert_int_equal(mail_index_uiddb_find(u, "nope", 4), 0);
	mail_index_uiddb_free(&u);
	assert_null(u);
}

static void test_uiddb_bad_header(void **state)
{
	static const char *bad[] = {
		"",
		"\n",
		"2 123 5\n1 a\n",	 /* another version */
		"1 0 5\n",		 /* UIDVALIDITY 0 */
		"1 99999999999 5\n",	 /* UIDVALIDITY over 32 bits */
		"1 123\n",		 /* no next UID */
		"x 1 2\n",
		"1 123 99999999999999999999999\n", /* overflow */
	};
	struct mail_index_uiddb *u;

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_int_equal(mail_index_uiddb_parse(bad[i], strlen(bad[i]),
							NULL, &u),
				 0);
		assert_null(u);
	}
}

static void test_uiddb_garbage_lines(void **state)
{
	static const char db[] =
		"1 5000 3\n"
		"garbage\n"
		"12x name\n"		/* bad number */
		" 4 name\n"		/* leading space */
		"0 zero\n"		/* UID 0 */
		"4294967295 big\n"	/* UID 2^32-1 */
		"99999999999999999999999 huge\n"
		"5 \n"			/* empty name */
		"6 a/b\n"		/* slash */
		"8 .hidden\n"
		"9 good:2,S\n"		/* info part dropped */
		"10 good\n"		/* duplicate name: lower UID kept */
		"9 other\n"		/* duplicate UID: first name kept */
		"20 crlf\r\n"
		"\n"
		"21 last";		/* no final newline */
	struct mail_index_uiddb *u;

	(void)state;
	assert_int_equal(mail_index_uiddb_parse(db, strlen(db), NULL, &u), 1);
	assert_int_equal(u->count, 3);
	assert_int_equal(mail_index_uiddb_find(u, "good", 4), 9);
	assert_int_equal(mail_index_uiddb_find(u, "other", 5), 0);
	assert_int_equal(mail_index_uiddb_find(u, "crlf", 4), 20);
	assert_int_equal(mail_index_uiddb_find(u, "last", 4), 21);
	/* nextuid is raised above the highest UID kept. */
	assert_int_equal(u->nextuid, 22);
	assert_int_equal(u->skipped, 11);
	mail_index_uiddb_free(&u);
}

static void test_uiddb_limits(void **state)
{
	struct mail_index_courier_limits lim = { .max_line = 16,
						 .max_lines = 2 };
	static const char db[] = "1 5000 3\n"
				 "1 a\n"
				 "2 this-name-is-too-long-for-the-limit\n"
				 "3 b\n"
				 "4 c\n";
	struct mail_index_uiddb *u;

	(void)state;
	assert_int_equal(mail_index_uiddb_parse(db, strlen(db), &lim, &u), 1);
	assert_int_equal(u->count, 2);
	assert_int_equal(u->skipped, 2);
	assert_int_equal(mail_index_uiddb_find(u, "b", 1), 3);
	mail_index_uiddb_free(&u);
}

/* Every prefix of a file parses without crashing and keeps no more than
 * the whole file does. */
static void test_uiddb_every_prefix(void **state)
{
	static const char db[] = "1 5000 3\n1 a\n2 b:2,S\n3 c\n";
	struct mail_index_uiddb *u;

	(void)state;
	for (size_t n = 0; n <= strlen(db); n++) {
		char *copy = xmemdup(db, n);
		int ret = mail_index_uiddb_parse(copy, n, NULL, &u);

		if (n < 8)
			assert_int_equal(ret, 0);
		else
			assert_int_equal(ret, 1);
		if (u != NULL)
			assert_true(u->count <= 3);
		mail_index_uiddb_free(&u);
		free(copy);
	}
}

static void test_pop3list(void **state)
{
	static const char v3[] = "/3 9 1600000000\n"
				 "1700000000.M1P1.host:2,S 1234 3:1600000000:0\n"
				 "name with space 10 4:1600000000:1\n"
				 "1700000001.M2P1.host 99 5:0:0\n"
				 "bad line\n"
				 "x 1 2:3\n" /* version 2 syntax in v3 */
				 "/x 1 2:3:0\n";
	struct mail_index_pop3list *l;
	const struct mail_index_pop3list_entry *e;
	char buf[80];

	(void)state;
	assert_int_equal(mail_index_pop3list_parse(v3, strlen(v3), NULL, &l),
			 1);
	assert_int_equal(l->version, 3);
	assert_int_equal(l->nextuid, 9);
	assert_int_equal(l->uidv, 1600000000);
	assert_int_equal(l->count, 2);
	assert_int_equal(l->skipped, 4);
	e = mail_index_pop3list_find(l, "1700000000.M1P1.host", 20);
	assert_non_null(e);
	assert_int_equal(e->size, 1234);
	assert_string_equal(mail_index_pop3list_uidl(e, buf, sizeof(buf)),
			    "UID3-1600000000");
	e = mail_index_pop3list_find(l, "1700000001.M2P1.host", 20);
	assert_non_null(e);
	assert_string_equal(mail_index_pop3list_uidl(e, buf, sizeof(buf)),
			    "UID5");
	mail_index_pop3list_free(&l);
	assert_null(l);
}

static void test_pop3list_v2_and_bad(void **state)
{
	static const char v2[] = "/2 4 1500000000\na:2,S 10 1:1500000000\n";
	static const char *bad[] = { "", "3 1 2\n", "/1 1 2\n", "/4 1 2\n",
				     "/3\n", "/ 3 1 2\n" };
	struct mail_index_pop3list *l;

	(void)state;
	assert_int_equal(mail_index_pop3list_parse(v2, strlen(v2), NULL, &l),
			 1);
	assert_int_equal(l->version, 2);
	assert_int_equal(l->count, 1);
	assert_int_equal(mail_index_pop3list_find(l, "a", 1)->uid, 1);
	mail_index_pop3list_free(&l);
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_int_equal(mail_index_pop3list_parse(
					 bad[i], strlen(bad[i]), NULL, &l),
				 0);
		assert_null(l);
	}
	/* Found by fuzz-uiddb: a v3 line ending right after "uid:uidv:"
	 * (no final newline, so nothing after it in memory). */
	{
		static const char v3end[] = "/3 4 1\na 1 2:3:";
		char *copy = xmemdup(v3end, strlen(v3end));

		assert_int_equal(mail_index_pop3list_parse(
					 copy, strlen(v3end), NULL, &l),
				 1);
		assert_int_equal(l->count, 0);
		assert_int_equal(l->skipped, 1);
		mail_index_pop3list_free(&l);
		free(copy);
	}
	for (size_t n = 0; n <= strlen(v2); n++) {
		char *copy = xmemdup(v2, n);

		(void)mail_index_pop3list_parse(copy, n, NULL, &l);
		mail_index_pop3list_free(&l);
		free(copy);
	}
}

static void put_file(const char *dir, const char *sub, const char *name)
{
	char *path = xasprintf("%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("Subject: x\n\nbody\n", f);
	fclose(f);
	free(path);
}

static void rm_index(const char *dir)
{
	char *path = xasprintf("%s/%s", dir, MAIL_INDEX_FILE_NAME);
	assert_int_equal(unlink(path), 0);
	free(path);
	path = xasprintf("%s/%s-lock", dir, MAIL_INDEX_FILE_NAME);
	(void)unlink(path);
	free(path);
}

/* An index built from a maildir without courierimapuiddb writes one, and
 * a rebuild from it gets the same UIDs under the same UIDVALIDITY. */
static void test_uiddb_export(void **state)
{
	char tmpl[] = "/tmp/test-uiddb-export.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct mail_index *index = NULL;
	struct mail_index_status st, st2;
	struct mail_index_record rec;
	const char *error;
	uint32_t uidv, next;
	(void)state;

	assert_non_null(dir);
	for (const char *const *d = (const char *const[]){ "new", "cur", "tmp",
							   NULL };
	     *d != NULL; d++) {
		char *p = xasprintf("%s/%s", dir, *d);
		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
	}
	assert_int_equal(mail_index_uiddb_header(dir, &uidv, &next, &error),
			 0);
	put_file(dir, "cur", "1700000001.M1P1.host:2,S");
	put_file(dir, "new", "1700000002.M2P1.host");
	put_file(dir, "cur", "1700000003.M3P1.host:2,");
	assert_int_equal(mail_index_open(dir, NULL, &index, &error), 0);
	assert_int_equal(mail_index_get_status(index, &st, &error), 0);
	assert_int_equal(st.messages, 3);
	/* an expunge leaves a hole the rebuild must keep */
	assert_int_equal(mail_index_lookup_base(index, "1700000002.M2P1.host",
						&rec, &error), 1);
	uint32_t gone = rec.uid;
	assert_int_equal(mail_index_lookup_base(index, "1700000003.M3P1.host",
						&rec, &error), 1);
	uint32_t third = rec.uid;
	assert_int_equal(mail_index_expunge(index, &gone, 1, NULL, &error), 1);
	assert_int_equal(mail_index_uiddb_export(index, &error), 0);
	assert_int_equal(mail_index_get_status(index, &st, &error), 0);
	mail_index_close(&index);

	assert_int_equal(mail_index_uiddb_header(dir, &uidv, &next, &error),
			 1);
	assert_int_equal(uidv, st.uidvalidity);
	assert_int_equal(next, st.uidnext);
	/* the whole file parses as Courier's, two messages */
	struct mail_index_uiddb *db = NULL;
	assert_int_equal(mail_index_uiddb_read(dir, NULL, &db, &error), 1);
	assert_int_equal(db->count, 2);
	assert_int_equal(db->skipped, 0);
	assert_int_equal(mail_index_uiddb_find(db, "1700000003.M3P1.host",
					       strlen("1700000003.M3P1.host")),
			 third);
	mail_index_uiddb_free(&db);

	/* rebuilt: same UIDVALIDITY, same UIDs, new mail above UIDNEXT */
	rm_index(dir);
	put_file(dir, "new", "1700000004.M4P1.host");
	assert_int_equal(mail_index_open(dir, NULL, &index, &error), 0);
	assert_int_equal(mail_index_get_status(index, &st2, &error), 0);
	assert_int_equal(st2.uidvalidity, st.uidvalidity);
	assert_int_equal(mail_index_lookup_base(index, "1700000003.M3P1.host",
						&rec, &error), 1);
	assert_int_equal(rec.uid, third);
	assert_int_equal(mail_index_lookup_base(index, "1700000004.M4P1.host",
						&rec, &error), 1);
	assert_true(rec.uid >= st.uidnext);
	assert_int_equal(mail_index_lookup_uid(index, gone, &rec, &error), 0);
	mail_index_close(&index);

	/* a header that is not Courier's version 1 is not one */
	char *p = xasprintf("%s/courierimapuiddb", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("2 5 6\n", f);
	fclose(f);
	assert_int_equal(mail_index_uiddb_header(dir, &uidv, &next, &error),
			 0);
	f = fopen(p, "w");
	fputs("1 77 9", f);	/* no line end within the header */
	fclose(f);
	assert_int_equal(mail_index_uiddb_header(dir, &uidv, &next, &error),
			 0);
	free(p);
	char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uiddb_valid),
		cmocka_unit_test(test_uiddb_bad_header),
		cmocka_unit_test(test_uiddb_garbage_lines),
		cmocka_unit_test(test_uiddb_limits),
		cmocka_unit_test(test_uiddb_every_prefix),
		cmocka_unit_test(test_pop3list),
		cmocka_unit_test(test_pop3list_v2_and_bad),
		cmocka_unit_test(test_uiddb_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
