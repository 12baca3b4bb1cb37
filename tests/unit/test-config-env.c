/* test-config-env.c: unit tests for lib/config-env (shell-style NAME=value
 * settings files: quoting, expansion, origins, every malformed form). */
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
#include "config-env.h"
#include "instance.h"
#include "mem.h"
#include "str.h"

static struct config_env *parse(const char *text, struct config_errors *errs,
				const struct config_limits *limits)
{
	struct config_env *env = config_env_new(limits);

	(void)config_env_parse(env, "f", text, strlen(text), errs);
	return env;
}

static void assert_entry(const struct config_env *env, const char *name,
			 const char *value, unsigned int line)
{
	const struct config_env_entry *e = config_env_find(env, name);

	if (e == NULL)
		fail_msg("%s not set", name);
	assert_string_equal(e->value, value);
	assert_string_equal(e->file, "f");
	assert_int_equal(e->line, line);
}

static void test_values(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_env *env = parse(
		"# authdaemonrc\n"                                  /* 1 */
		"\n"                                                /* 2 */
		"A=1\n"                                             /* 3 */
		"B=\"two words\"\n"                                 /* 4 */
		"C='single $A \\ \"'\n"                             /* 5 */
		"D=\"x$A${A}y\"\n"                                  /* 6 */
		"E=a\\ b\"c\"'d'\n"                                 /* 7 */
		"export F=exported\n"                               /* 8 */
		"G=\n"                                              /* 9 */
		"H=\"\"\n"                                          /* 10 */
		"I=val   # comment\n"                               /* 11 */
		"J=\"multi\n"                                       /* 12 */
		"line\"\n"                                          /* 13 */
		"K=trail\\\n"                                       /* 14 */
		"continued\n"                                       /* 15 */
		"L=\"e \\\" \\\\ \\$ \\` \\n\"\n"                   /* 16 */
		"N=$\n"                                             /* 17 */
		"O=a#b\n"                                           /* 18 */
		"   P=indented\t\n"                                 /* 19 */
		"Q=$A$B\n"                                          /* 20 */
		"R=\"$\"\n"                                         /* 21 */
		"S='multi\n"                                        /* 22 */
		"single'\n"                                         /* 23 */
		"T=\"a\\\n"                                         /* 24 */
		"b\"\n"                                             /* 25 */
		"A=2\n"                                             /* 26 */
		"exportX=1\n"                                       /* 27 */
		"U=${A}", errs, NULL);                              /* 28 */

	(void)state;
	assert_int_equal(config_errors_error_count(errs), 0);
	assert_int_equal(errs->n_warnings, 0);
	assert_entry(env, "A", "2", 26); /* the last assignment wins */
	assert_entry(env, "B", "two words", 4);
	assert_entry(env, "C", "single $A \\ \"", 5);
	assert_entry(env, "D", "x11y", 6);
	assert_entry(env, "E", "a bcd", 7);
	assert_entry(env, "F", "exported", 8);
	assert_entry(env, "G", "", 9);
	assert_entry(env, "H", "", 10);
	assert_entry(env, "I", "val", 11);
	assert_entry(env, "J", "multi\nline", 12);
	assert_entry(env, "K", "trailcontinued", 14);
	assert_entry(env, "L", "e \" \\ $ ` \\n", 16);
	assert_entry(env, "N", "$", 17);
	assert_entry(env, "O", "a#b", 18);
	assert_entry(env, "P", "indented", 19);
	assert_entry(env, "Q", "1two words", 20);
	assert_entry(env, "R", "$", 21);
	assert_entry(env, "S", "multi\nsingle", 22);
	assert_entry(env, "T", "ab", 24);
	assert_entry(env, "exportX", "1", 27);
	assert_entry(env, "U", "2", 28);
	assert_string_equal(config_env_get(env, "A"), "2");
	assert_null(config_env_get(env, "ZZ"));
	assert_null(config_env_get(NULL, "A"));
	assert_null(config_env_find(NULL, "A"));
	config_env_free(&env);
	assert_null(env);
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static void test_courier_style(void **state)
{
	/* lines in the style of Courier's imapd and esmtpd files */
	struct config_errors *errs = config_errors_new();
	struct config_env *env = parse(
		"##NAME: ADDRESS:0\r\n"
		"#\r\n"
		"# Address to listen on\r\n"
		"\r\n"
		"ADDRESS=0\r\n"
		"IMAP_CAPABILITY=\"IMAP4rev1 UIDPLUS CHILDREN NAMESPACE\"\r\n"
		"IMAP_CAPABILITY_TLS=\"$IMAP_CAPABILITY AUTH=PLAIN\"\r\n"
		"TCPDOPTS=\"-nodnslookup -noidentlookup\"\r\n"
		"IMAPDSTART=NO\r\n", errs, NULL);

	(void)state;
	assert_int_equal(config_errors_error_count(errs), 0);
	assert_string_equal(config_env_get(env, "ADDRESS"), "0");
	assert_string_equal(config_env_get(env, "IMAP_CAPABILITY_TLS"),
			    "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE AUTH=PLAIN");
	assert_string_equal(config_env_get(env, "IMAPDSTART"), "NO");
	assert_int_equal(env->count, 5);
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static void test_undefined_warns(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_env *env = parse("A=x${NOPE}y$ALSO_NOT\n", errs, NULL);

	(void)state;
	assert_int_equal(config_errors_error_count(errs), 0);
	assert_int_equal(errs->n_warnings, 2);
	assert_true(config_errors_contains(errs, "f:1: undefined variable NOPE"));
	assert_string_equal(config_env_get(env, "A"), "xy");
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *line, *error;
	} cases[] = {
		{ "just words", "f:2: expected NAME=value" },
		{ "A = 1", "f:2: expected NAME=value (no blanks" },
		{ "A =1", "f:2: expected NAME=value (no blanks" },
		{ "1A=x", "f:2: expected NAME=value" },
		{ "=x", "f:2: expected NAME=value" },
		{ "A-B=x", "f:2: expected NAME=value" },
		{ "A", "f:2: expected NAME=value" },
		{ "export", "f:2: expected NAME=value" },
		{ "A=b c", "f:2: unexpected text after the value" },
		{ "A=\"b\" c", "f:2: unexpected text after the value" },
		{ "A=`id`", "f:2: command substitution `...`" },
		{ "A=\"`id`\"", "f:2: command substitution `...`" },
		{ "A=$(id)", "f:2: command substitution $(...)" },
		{ "A=\"$(id)\"", "f:2: command substitution $(...)" },
		{ "A=${B:-x}", "f:2: only ${NAME} is supported" },
		{ "A=${B", "f:2: only ${NAME} is supported" },
		{ "A=${", "f:2: expected a name after '${'" },
		{ "A=${1}", "f:2: expected a name after '${'" },
		{ "A=$1", "f:2: special shell parameters" },
		{ "A=$$", "f:2: special shell parameters" },
		{ "A=x;rm", "f:2: unexpected ';'" },
		{ "A=x|y", "f:2: unexpected '|'" },
		{ "A=x&", "f:2: unexpected '&'" },
		{ "A=<x", "f:2: unexpected '<'" },
		{ "A=x>y", "f:2: unexpected '>'" },
		{ "A=(x)", "f:2: unexpected '('" },
		{ "A=x)", "f:2: unexpected ')'" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct config_errors *errs = config_errors_new();
		char *text = xasprintf("GOOD1=1\n%s\nGOOD2=2\n",
				       cases[i].line);
		struct config_env *env = parse(text, errs, NULL);

		if (!config_errors_contains(errs, cases[i].error))
			fail_msg("'%s': expected '%s', got '%s'",
				 cases[i].line, cases[i].error,
				 errs->count > 0 ? errs->msgs[0].text :
				 "nothing");
		assert_int_equal(config_errors_error_count(errs), 1);
		/* the lines around it are still read */
		assert_string_equal(config_env_get(env, "GOOD1"), "1");
		assert_string_equal(config_env_get(env, "GOOD2"), "2");
		assert_null(config_env_get(env, "A"));
		config_env_free(&env);
		config_errors_destroy(&errs);
		free(text);
	}
}

static void test_unterminated(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "A=1\nB=\"open\nC=2\n", "f:2: unterminated double quote" },
		{ "A=1\nB='open\nC=2\n", "f:2: unterminated single quote" },
		{ "A=1\nB=\"x\\", "f:2: unterminated double quote" },
		{ "A=1\nB=x\\", "f:2: backslash at end of file" },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct config_errors *errs = config_errors_new();
		struct config_env *env = parse(cases[i].text, errs, NULL);

		if (!config_errors_contains(errs, cases[i].error))
			fail_msg("'%s': expected '%s'", cases[i].text,
				 cases[i].error);
		assert_string_equal(config_env_get(env, "A"), "1");
		assert_null(config_env_get(env, "B"));
		config_env_free(&env);
		config_errors_destroy(&errs);
	}
}

static void test_every_error_shown(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_env *env = parse("bad one\nA=1\nB = 2\nC=`x`\nD=4\n"
				       "E=a b\n", errs, NULL);

	(void)state;
	assert_int_equal(config_errors_error_count(errs), 4);
	assert_true(config_errors_contains(errs, "f:1:"));
	assert_true(config_errors_contains(errs, "f:3:"));
	assert_true(config_errors_contains(errs, "f:4:"));
	assert_true(config_errors_contains(errs, "f:6:"));
	assert_int_equal(env->count, 2);
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static void test_recovery_inside_quotes(void **state)
{
	/* An error inside a multi-line quoted value is reported once; the
	 * rest of that value is not parsed as more lines. */
	struct config_errors *errs = config_errors_new();
	struct config_limits lim = { .max_value_len = 4 };
	struct config_env *env = parse("A=\"x `id`\nnot a line\n\\\" still\n\""
				       " tail\nB=2\n"
				       "C='long\nvalue x'\nD=4\n", errs, &lim);

	(void)state;
	assert_int_equal(config_errors_error_count(errs), 2);
	assert_true(config_errors_contains(errs, "f:1: command substitution"));
	assert_true(config_errors_contains(errs, "f:6: value too long"));
	assert_string_equal(config_env_get(env, "B"), "2");
	assert_int_equal(config_env_find(env, "B")->line, 5);
	assert_string_equal(config_env_get(env, "D"), "4");
	assert_int_equal(config_env_find(env, "D")->line, 8);
	assert_null(config_env_get(env, "A"));
	assert_null(config_env_get(env, "C"));
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static void test_limits(void **state)
{
	struct config_limits lim = { .max_value_len = 8, .max_entries = 3 };
	struct config_errors *errs = config_errors_new();
	struct config_env *env;

	(void)state;
	env = parse("A=12345678\nB=123456789\nC=\"$A$A\"\nD=1\nE=2\nF=3\n",
		    errs, &lim);
	assert_string_equal(config_env_get(env, "A"), "12345678");
	assert_null(config_env_get(env, "B"));
	assert_null(config_env_get(env, "C"));
	assert_true(config_errors_contains(errs, "f:2: value too long"));
	assert_true(config_errors_contains(errs, "f:3: value too long"));
	assert_true(config_errors_contains(errs, "f:6: too many settings"));
	assert_int_equal(env->count, 3);
	config_env_free(&env);
	config_errors_destroy(&errs);

	/* names are bounded */
	errs = config_errors_new();
	char long_name[400];
	memset(long_name, 'N', sizeof(long_name) - 3);
	memcpy(long_name + sizeof(long_name) - 3, "=1", 3);
	env = parse(long_name, errs, NULL);
	assert_true(config_errors_contains(errs, "f:1: name too long"));
	assert_int_equal(env->count, 0);
	config_env_free(&env);
	config_errors_destroy(&errs);

	/* NUL bytes: the file is refused */
	errs = config_errors_new();
	env = config_env_new(NULL);
	assert_int_equal(config_env_parse(env, "f", "A=1\0B=2\n", 8, errs), 1);
	assert_true(config_errors_contains(errs, "f: file contains NUL"));
	assert_int_equal(env->count, 0);
	config_env_free(&env);
	config_errors_destroy(&errs);
}

static void test_every_prefix(void **state)
{
	/* Parsing any prefix of a file never crashes, never yields more
	 * entries than the whole, and every entry it keeps is one that the
	 * whole file has, or a truncation of one (except B, whose cut may
	 * fall inside the expanded $A, and E, where "E=$" is a literal $). */
	static const char text[] =
		"# c\nA=1\nB=\"x $A\ny\"\nexport C='q w'\nD=a\\\nb # x\n"
		"E=${A}z\n";
	struct config_env *whole = parse(text, NULL, NULL);

	(void)state;
	assert_int_equal(whole->count, 5);
	for (size_t i = 0; i <= sizeof(text) - 1; i++) {
		struct config_errors *errs = config_errors_new();
		struct config_env *env = config_env_new(NULL);

		(void)config_env_parse(env, "f", text, i, errs);
		assert_true(env->count <= whole->count);
		for (size_t j = 0; j < env->count; j++) {
			const char *full = config_env_get(whole,
							  env->entries[j].name);
			assert_non_null(full);
			assert_true(strncmp(full, env->entries[j].value,
					    strlen(env->entries[j].value)) == 0
				    || strcmp(env->entries[j].name, "B") == 0
				    || strcmp(env->entries[j].name, "E") == 0);
		}
		config_env_free(&env);
		config_errors_destroy(&errs);
	}
	config_env_free(&whole);
}

static void test_read_files(void **state)
{
	char tmp[] = "/tmp/test-config-env.XXXXXX";
	struct config_errors *errs = config_errors_new();
	struct config_env *env;
	char *path, *cmd;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	path = xasprintf("%s/etc", tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
	setenv("COURIER_INSTANCE", tmp, 1);
	instance_reset();

	assert_int_equal(config_env_read("imapd", NULL, &env, errs), 0);
	assert_null(env);

	path = instance_etc_path("imapd");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("A=1\nbad\n", f);
	fclose(f);
	assert_int_equal(config_env_read("imapd", NULL, &env, errs), 1);
	assert_string_equal(config_env_get(env, "A"), "1");
	assert_true(config_errors_contains(errs, "/etc/imapd:2: expected"));
	assert_true(str_ends_with(config_env_find(env, "A")->file,
				  "/etc/imapd"));
	config_env_free(&env);
	free(path);

	/* a folder: files in name order, later ones override */
	path = instance_etc_path("esmtpd");
	assert_int_equal(mkdir(path, 0755), 0);
	cmd = xasprintf("printf 'A=1\\nB=$A\\n' >'%s/10-base'; "
			"printf 'A=2\\nC=$B$A\\n' >'%s/20-local'; "
			"printf 'A=junk\\n' >'%s/20-local~'", path, path,
			path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(config_env_read("esmtpd", NULL, &env, errs), 1);
	assert_string_equal(config_env_get(env, "A"), "2");
	assert_string_equal(config_env_get(env, "C"), "12");
	assert_true(str_ends_with(config_env_find(env, "C")->file,
				  "/esmtpd/20-local"));
	assert_int_equal(config_env_find(env, "C")->line, 2);
	config_env_free(&env);
	free(path);

	cmd = xasprintf("rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	unsetenv("COURIER_INSTANCE");
	instance_reset();
	config_errors_destroy(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_courier_style),
		cmocka_unit_test(test_undefined_warns),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_every_error_shown),
		cmocka_unit_test(test_recovery_inside_quotes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_read_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
