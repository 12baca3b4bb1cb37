/* test-mta-aliases.c: unit tests for mta/aliases (the source parser with
 * malformed input, the LMDB database, expansion at submit time). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aliases.h"
#include "config-errors.h"
#include "config-file.h"
#include "mem.h"
#include "str.h"

static char *include_cb(const char *path, size_t *size_r,
			const char **error_r, void *context)
{
	const char *text = context;

	if (strcmp(path, "/lists/staff") != 0) {
		*error_r = "No such file or directory";
		return NULL;
	}
	*size_r = strlen(text);
	return xstrdup(text);
}

static struct aliases *parse(const char *text, const char *inc,
			     struct config_errors **errs_r)
{
	struct config_lines *lines = config_lines_new(NULL);
	struct aliases *a = aliases_new();

	*errs_r = config_errors_new();
	config_lines_parse(lines, "aliases/system", text, strlen(text),
			   *errs_r);
	aliases_parse(a, lines, include_cb, (void *)inc, *errs_r);
	config_lines_free(&lines);
	return a;
}

static void test_parse(void **state)
{
	struct config_errors *errs;
	struct aliases *a = parse(
		"# comment\n"
		"postmaster: root\n"
		"Staff@Example.TEST: ann, \"Bob B\" <bob@example.test>,\n"
		"  ann@example.test, :include:/lists/staff\n"
		"\tcarl\n"
		"staff@example.test: dave\n"
		"@virt.test: vuser\n"
		"prog: \"|/bin/cat >/dev/null, really\", /var/mail/box, "
		"/var/mail/Maildir/, eve\n",
		"ann, fred@x.test\n# c\nfred@x.test\n", &errs);
	const struct alias *al;

	(void)state;
	assert_int_equal(config_errors_error_count(errs), 0);
	assert_int_equal(aliases_count(a), 4);
	al = aliases_find(a, "STAFF@example.test");
	assert_non_null(al);
	assert_string_equal(al->name, "staff@example.test");
	assert_int_equal(al->line, 3);
	/* de-duplicated across lines, includes and definitions */
	assert_int_equal(al->address_count, 6);
	assert_string_equal(al->addresses[0], "ann");
	assert_string_equal(al->addresses[1], "bob@example.test");
	assert_string_equal(al->addresses[2], "ann@example.test");
	assert_string_equal(al->addresses[3], "fred@x.test");
	assert_string_equal(al->addresses[4], "carl");
	assert_string_equal(al->addresses[5], "dave");
	al = aliases_find(a, "@virt.test");
	assert_int_equal(al->address_count, 1);
	al = aliases_find(a, "prog");
	assert_int_equal(al->program_count, 3);
	assert_string_equal(al->programs[0], "|/bin/cat >/dev/null, really");
	assert_string_equal(al->programs[1], "/var/mail/box");
	assert_string_equal(al->programs[2], "/var/mail/Maildir/");
	assert_int_equal(al->address_count, 1);
	assert_string_equal(al->addresses[0], "eve");
	aliases_free(&a);
	config_errors_destroy(&errs);
}

static void expect_error(const char *text, const char *needle)
{
	struct config_errors *errs;
	struct aliases *a = parse(text, "x@y\n|prog\n:include:/lists/staff\n",
				  &errs);

	if (!config_errors_contains(errs, needle)) {
		for (size_t i = 0; config_errors_get(errs, i) != NULL; i++)
			fprintf(stderr, "%s\n", config_errors_get(errs, i)->text);
		fail_msg("no error \"%s\" for \"%s\"", needle, text);
	}
	assert_true(config_errors_error_count(errs) > 0);
	aliases_free(&a);
	config_errors_destroy(&errs);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("no colon here\n", "aliases/system:1: missing ':'");
	expect_error(" a, b\n", "aliases/system:1: continuation line");
	expect_error(": a\n", "empty alias name");
	expect_error("a b: c\n", "invalid character");
	expect_error("a/b: c\n", "invalid character");
	expect_error("a@: c\n", "invalid domain");
	expect_error("a@b@c: d\n", "invalid domain");
	expect_error("x: a\ny: \"unbalanced\n", "aliases/system:2: "
		     "unbalanced");
	expect_error("x: <a@b\n", "malformed address");
	expect_error("x: a@\n", "malformed address");
	expect_error("x: :include:/nope\n", ":include:/nope: No such file");
	expect_error("x: :include:\n", "without a file name");
	expect_error("x: :include:/lists/staff\n", "/lists/staff:2: |prog: "
		     "programs and mailboxes are not allowed");
	expect_error("x: :include:/lists/staff\n", "/lists/staff:3: "
		     ":include: inside");
	expect_error("x: |\n", "empty command");
	expect_error("x: ./Maildir/\n", "absolute path");
	expect_error("x: ||dyn\n", "dynamic delivery");
	expect_error("@d.test: a, b\n", "one local name");
	expect_error("@d.test: a@b\n", "one local name");
	expect_error("@d.test: |prog\n", "virtual domain cannot");
	expect_error("@d.test: a\n@d.test: b\n", "defined twice");
	expect_error("x:\n", "has no recipients");
	expect_error("x: a\x01 b\n", "malformed address");
	{
		struct str s;

		str_init(&s, 600);
		for (int i = 0; i < 300; i++)
			str_append_c(&s, 'n');
		str_append(&s, ": a\n");
		expect_error(str_c(&s), "too long");
		str_free(&s);
	}
}

/* Every prefix of a valid source parses without crashing. */
static void test_truncated(void **state)
{
	const char *text = "a: b, \"|c, d\", <e@f>\n  g\n@h.i: j\nk: "
			   ":include:/lists/staff\n";
	size_t len = strlen(text);

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		struct config_lines *lines = config_lines_new(NULL);
		struct config_errors *errs = config_errors_new();
		struct aliases *a = aliases_new();

		config_lines_parse(lines, "t", text, i, errs);
		aliases_parse(a, lines, include_cb, (void *)"z\n", errs);
		aliases_free(&a);
		config_lines_free(&lines);
		config_errors_destroy(&errs);
	}
}

static char *qualify(const char *address, const char **error_r)
{
	if (strchr(address, ' ') != NULL) {
		*error_r = "501 bad";
		return NULL;
	}
	if (strchr(address, '@') == NULL)
		return str_lcase(xasprintf("%s@example.test", address));
	return xstrdup(address);
}

static bool is_local(const char *domain)
{
	return strcmp(domain, "localhost") == 0 ||
	       strcmp(domain, "example.test") == 0;
}

static struct aliases_db *make_db(const char *text, char **path_r)
{
	struct config_errors *errs;
	struct aliases *a = parse(text, "", &errs);
	char dir[] = "/tmp/test-aliases-XXXXXX";
	struct aliases_db *db;
	const char *error = NULL;

	assert_int_equal(config_errors_error_count(errs), 0);
	assert_non_null(mkdtemp(dir));
	*path_r = xasprintf("%s/aliases.dat", dir);
	assert_int_equal(aliases_write_db(a, *path_r, &error), 0);
	assert_int_equal(aliases_db_open(*path_r, &db, &error), 1);
	aliases_free(&a);
	config_errors_destroy(&errs);
	return db;
}

static void drop_db(struct aliases_db **db, char *path)
{
	char *dir = xstrdup(path);

	aliases_db_close(db);
	unlink(path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
	free(dir);
	free(path);
}

static int expand(struct aliases_db *db, const char *address,
		  struct aliases_expansion *x, const char **error)
{
	aliases_expansion_free(x);
	return aliases_expand(db, address, qualify, is_local, x, error);
}

static void test_expand(void **state)
{
	char *path;
	struct aliases_db *db = make_db(
		"postmaster: root\n"
		"root: ann, bob@remote.test\n"
		"staff@example.test: ann, Bob@Remote.test, team\n"
		"team@example.test: ann, carl\n"
		"self@example.test: self, dora\n"
		"loop1@example.test: loop2\n"
		"loop2@example.test: loop1\n"
		"deep0@example.test: deep1\ndeep1@example.test: deep2\n"
		"deep2@example.test: deep3\ndeep3@example.test: deep4\n"
		"deep4@example.test: deep5\ndeep5@example.test: deep6\n"
		"deep6@example.test: deep7\ndeep7@example.test: deep8\n"
		"deep8@example.test: deep9\ndeep9@example.test: deep10\n"
		"deep10@example.test: deep11\n"
		"prog@example.test: ann, |/bin/true\n"
		"@virt.test: vuser\n"
		"special@virt.test: ann\n", &path);
	struct aliases_expansion x = { NULL, 0 };
	const char *error = NULL;
	char *key;

	(void)state;
	assert_int_equal(expand(db, "nobody@example.test", &x, &error), 0);
	assert_int_equal(x.count, 0);
	/* bare names match the domains is_local() says */
	assert_int_equal(expand(db, "postmaster@localhost", &x, &error), 1);
	assert_int_equal(x.count, 2);
	assert_string_equal(x.rcpts[0], "ann@example.test");
	assert_string_equal(x.rcpts[1], "bob@remote.test");
	assert_int_equal(expand(db, "postmaster@example.test", &x, &error),
			 1);
	assert_int_equal(expand(db, "postmaster@remote.test", &x, &error),
			 0);
	/* nested, de-duplicated (case-insensitively) */
	assert_int_equal(expand(db, "STAFF@example.test", &x, &error), 1);
	assert_int_equal(x.count, 3);
	assert_string_equal(x.rcpts[0], "ann@example.test");
	assert_string_equal(x.rcpts[1], "Bob@Remote.test");
	assert_string_equal(x.rcpts[2], "carl@example.test");
	/* an alias listing itself gets the mail */
	assert_int_equal(expand(db, "self@example.test", &x, &error), 1);
	assert_int_equal(x.count, 2);
	assert_string_equal(x.rcpts[0], "self@example.test");
	/* a loop ends where it started */
	assert_int_equal(expand(db, "loop1@example.test", &x, &error), 1);
	assert_int_equal(x.count, 1);
	assert_string_equal(x.rcpts[0], "loop1@example.test");
	/* too deep */
	assert_int_equal(expand(db, "deep0@example.test", &x, &error), -1);
	assert_non_null(strstr(error, "too deep"));
	assert_int_equal(x.count, 0);
	/* programs: the alias's own address, delivered via aliases.dir */
	assert_int_equal(expand(db, "prog@example.test", &x, &error), 1);
	assert_int_equal(x.count, 2);
	assert_string_equal(x.rcpts[1], "prog@example.test");
	key = aliases_self_key(db, "Prog@example.test", is_local);
	assert_string_equal(key, "prog@example.test");
	free(key);
	assert_null(aliases_self_key(db, "staff@example.test", is_local));
	/* virtual domain: prefix-local, unless an alias matches */
	assert_int_equal(expand(db, "Joe@virt.test", &x, &error), 1);
	assert_int_equal(x.count, 1);
	assert_string_equal(x.rcpts[0], "vuser-joe@example.test");
	assert_int_equal(expand(db, "special@virt.test", &x, &error), 1);
	assert_string_equal(x.rcpts[0], "ann@example.test");
	aliases_expansion_free(&x);
	drop_db(&db, path);
	/* a missing database */
	assert_int_equal(aliases_db_open("/nonexistent/aliases.dat", &db,
					 &error), 0);
}

static void test_dotfile_name(void **state)
{
	char *n = aliases_dotfile_name("info@mail.example.test");

	(void)state;
	assert_string_equal(n, ".courier-info@mail:example:test");
	free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_dotfile_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
