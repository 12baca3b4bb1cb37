/* test-auth-userdb.c: unit tests for authlib/userdb (text format, fields,
 * makeuserdb's compile, lookups, text edits) and the authuserdb module. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include "auth-module.h"
#include "config-errors.h"
#include "instance.h"
#include "mem.h"
#include "passwd.h"
#include "userdb.h"

static char *tmpdir;

static char *path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_text(const char *name, const char *text)
{
	char *p = path(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, 0600);
	free(p);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/test-auth-userdb.XXXXXX";
	(void)state;
	tmpdir = xstrdup(mkdtemp(tmpl));
	char *etc = path("etc");
	mkdir(etc, 0700);
	free(etc);
	setenv("COURIER_INSTANCE", tmpdir, 1);
	instance_reset();
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	x_free(tmpdir);
	return 0;
}

static void test_parse_line(void **state)
{
	char *name;
	const char *fields, *error;
	(void)state;

	assert_int_equal(
		userdb_parse_line("joe\tuid=1|gid=2", &name, &fields, &error),
		1);
	assert_string_equal(name, "joe");
	assert_string_equal(fields, "uid=1|gid=2");
	free(name);
	assert_int_equal(
		userdb_parse_line("# comment", &name, &fields, &error), 0);
	assert_int_equal(userdb_parse_line("   ", &name, &fields, &error), 0);
	assert_int_equal(userdb_parse_line("", &name, &fields, &error), 0);
	assert_int_equal(
		userdb_parse_line("joe uid=1", &name, &fields, &error), -1);
	assert_int_equal(
		userdb_parse_line("\tuid=1", &name, &fields, &error), -1);
	assert_int_equal(
		userdb_parse_line("jo e\tuid=1", &name, &fields, &error), -1);
	assert_int_equal(
		userdb_parse_line("jo\x01\tuid=1", &name, &fields, &error), -1);
	/* reverse records */
	assert_int_equal(
		userdb_parse_line("1000=\tjoe", &name, &fields, &error), 1);
	assert_string_equal(name, "1000=");
	free(name);
}

static void test_fields(void **state)
{
	char *v;
	(void)state;

	assert_int_equal(
		userdb_field_get("uid=1|home=/h|flag|x=", "home", &v), 1);
	assert_string_equal(v, "/h");
	free(v);
	assert_int_equal(userdb_field_get("uid=1|home=/h|flag", "flag", &v), 1);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(userdb_field_get("uid=1|homes=/h", "home", &v), 0);
	assert_null(v);
	assert_int_equal(userdb_field_get("a=1|a=2", "a", &v), 1);
	assert_string_equal(v, "1");
	free(v);
	assert_int_equal(userdb_field_get("", "a", &v), 0);
	assert_int_equal(userdb_field_get(NULL, "a", &v), 0);

	assert_true(userdb_field_is_secret("systempw", 8));
	assert_true(userdb_field_is_secret("imap-hmac-md5pw", 15));
	assert_false(userdb_field_is_secret("home", 4));

	v = userdb_fields_set("uid=1|pw=x|home=/h", "pw", "y");
	assert_string_equal(v, "uid=1|pw=y|home=/h");
	free(v);
	v = userdb_fields_set("uid=1|pw=x|home=/h", "pw", NULL);
	assert_string_equal(v, "uid=1|home=/h");
	free(v);
	v = userdb_fields_set("uid=1", "quota", "10S");
	assert_string_equal(v, "uid=1|quota=10S");
	free(v);
	v = userdb_fields_set("", "a", "b");
	assert_string_equal(v, "a=b");
	free(v);
	v = userdb_fields_set("a=1||a=2|", "a", "3");
	assert_string_equal(v, "a=3");
	free(v);
}

static const char userdb_text[] =
	"# accounts\n"
	"joe\tuid=1000|gid=100|home=/home/joe|shell=/bin/sh|"
	"systempw=$1$abcdefgh$FThRCyXo7H6rTKw0shKkI0|gecos=Joe Bloggs,Room 1\n"
	"demo@example.test\tuid=8|gid=12|home=/v/demo|mail=/v/demo/Maildir|"
	"systempw={PLAIN}sys|imappw={PLAIN}imap|quota=1000S|"
	"options=disableimap=1\n"
	"\n"
	"1000=\tjoe\n";

static void compile_ok(void)
{
	struct config_errors *errs = config_errors_new();
	struct userdb_compile_stats stats;
	char *src = path("etc/userdb"), *dat = path("etc/userdb.dat"),
	     *sh = path("etc/userdbshadow.dat");
	int r = userdb_compile(src, dat, sh, &stats, errs);
	config_errors_log(errs);
	assert_int_equal(r, 0);
	struct stat st;
	assert_int_equal(stat(sh, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	config_errors_destroy(&errs);
	free(src);
	free(dat);
	free(sh);
}

static void test_compile_lookup(void **state)
{
	char *dat, *sh, *fields, *secret;
	const char *error;
	struct userdb *db;
	(void)state;

	write_text("etc/userdb", userdb_text);
	compile_ok();
	dat = path("etc/userdb.dat");
	sh = path("etc/userdbshadow.dat");
	db = userdb_open(dat, sh, &error);
	assert_non_null(db);
	assert_int_equal(userdb_lookup(db, "joe", &fields, &secret, &error), 1);
	assert_string_equal(fields, "uid=1000|gid=100|home=/home/joe|"
				    "shell=/bin/sh|gecos=Joe Bloggs,Room 1");
	assert_string_equal(
		secret, "systempw=$1$abcdefgh$FThRCyXo7H6rTKw0shKkI0");
	free(fields);
	free(secret);
	assert_int_equal(
		userdb_lookup(db, "nobody", &fields, &secret, &error), 0);
	assert_int_equal(userdb_lookup(db, "", &fields, NULL, &error), 0);
	assert_int_equal(userdb_lookup(db, "1000=", &fields, NULL, &error), 1);
	assert_string_equal(fields, "joe");
	free(fields);

	/* makeuserdb again with a change: the open handle sees it */
	write_text("etc/userdb", "new\tuid=1|gid=1|home=/n\n");
	sleep(0); /* mtime granularity is nanoseconds; inode changes too */
	compile_ok();
	assert_int_equal(userdb_lookup(db, "joe", &fields, NULL, &error), 0);
	assert_int_equal(userdb_lookup(db, "new", &fields, &secret, &error), 1);
	assert_string_equal(secret, "");
	free(fields);
	free(secret);
	userdb_close(&db);
	assert_null(db);
	free(dat);
	free(sh);
}

static void test_compile_errors(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct userdb_compile_stats stats;
	char *src = path("etc/userdb"), *dat = path("etc/userdb.dat"),
	     *sh = path("etc/userdbshadow.dat");
	(void)state;

	write_text("etc/userdb", "good\tuid=1|gid=1|home=/g\n");
	assert_int_equal(userdb_compile(src, dat, sh, &stats, errs), 0);
	write_text("etc/userdb", "ok\tuid=1|gid=1|home=/g\nbad line\n");
	assert_int_equal(userdb_compile(src, dat, sh, &stats, errs), -1);
	assert_true(config_errors_contains(errs, "userdb:2:"));
	/* nothing was replaced */
	const char *error;
	char *f;
	struct userdb *db = userdb_open(dat, sh, &error);
	assert_int_equal(userdb_lookup(db, "good", &f, NULL, &error), 1);
	free(f);
	userdb_close(&db);
	config_errors_destroy(&errs);
	/* duplicates: the later line wins */
	errs = config_errors_new();
	write_text("etc/userdb", "a\tuid=1|gid=1|home=/1\na\tuid=2|gid=2|"
				 "home=/2\n");
	assert_int_equal(userdb_compile(src, dat, sh, &stats, errs), 0);
	assert_int_equal(stats.accounts, 1);
	assert_int_equal(stats.duplicates, 1);
	db = userdb_open(dat, sh, &error);
	assert_int_equal(userdb_lookup(db, "a", &f, NULL, &error), 1);
	assert_string_equal(f, "uid=2|gid=2|home=/2");
	free(f);
	userdb_close(&db);
	config_errors_destroy(&errs);
	/* missing source */
	errs = config_errors_new();
	char *missing = path("etc/nothing");
	assert_int_equal(userdb_compile(missing, dat, sh, &stats, errs), -1);
	free(missing);
	config_errors_destroy(&errs);
	assert_null(userdb_open("/nonexistent/userdb.dat", NULL, &error));
	free(src);
	free(dat);
	free(sh);
}

static void test_text_update_file_and_folder(void **state)
{
	char *src = path("etc/userdb"), *fields;
	const char *error;
	(void)state;

	write_text("etc/userdb", "# header\nx\tuid=1|gid=1|home=/x\n");
	assert_int_equal(userdb_text_update(src, "y@d.test",
				 "uid=2|gid=2|"
				 "home=/y",
				 &error),
		1);
	assert_int_equal(
		userdb_text_update(src, "x", "uid=3|gid=3|home=/x", &error), 1);
	assert_int_equal(userdb_text_get(src, "x", &fields, &error), 1);
	assert_string_equal(fields, "uid=3|gid=3|home=/x");
	free(fields);
	assert_int_equal(userdb_text_update(src, "x", NULL, &error), 1);
	assert_int_equal(userdb_text_update(src, "x", NULL, &error), 0);
	assert_int_equal(userdb_text_get(src, "x", &fields, &error), 0);
	assert_int_equal(userdb_text_get(src, "y@d.test", &fields, &error), 1);
	free(fields);
	assert_int_equal(
		userdb_text_update(src, "bad name", "a=1", &error), -1);
	assert_int_equal(userdb_text_update(src, "z", "a=1\nb", &error), -1);
	struct stat st;
	assert_int_equal(stat(src, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the comment survived */
	FILE *f = fopen(src, "r");
	char line[128];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "# header\n");
	fclose(f);
	unlink(src);

	/* a folder: the account goes to the file that has it, or DOMAIN */
	mkdir(src, 0700);
	write_text("etc/userdb/a-file", "old@x.test\tuid=1|gid=1|home=/o\n");
	assert_int_equal(userdb_text_update(src, "old@x.test",
				 "uid=5|gid=5|"
				 "home=/o",
				 &error),
		1);
	assert_int_equal(userdb_text_update(src, "new@y.test",
				 "uid=6|gid=6|"
				 "home=/n",
				 &error),
		1);
	char *yfile = path("etc/userdb/y.test");
	assert_int_equal(access(yfile, F_OK), 0);
	free(yfile);
	assert_int_equal(
		userdb_text_get(src, "old@x.test", &fields, &error), 1);
	assert_string_equal(fields, "uid=5|gid=5|home=/o");
	free(fields);
	compile_ok();
	free(src);
}

static void test_module(void **state)
{
	const struct auth_module_def *def = auth_module_find("userdb");
	struct auth_module *mod;
	struct auth_record rec;
	const char *error;
	struct auth_request req = {
		.service = "imap", .user = "demo@example.test"};
	(void)state;

	assert_non_null(def);
	assert_ptr_equal(def, auth_module_find("authuserdb"));
	assert_ptr_equal(
		auth_module_find("authshadow"), auth_module_find("authpwd"));
	assert_null(auth_module_find("authnothing"));
	char *src = path("etc/userdb");
	char *rm = xasprintf("rm -rf '%s'", src);
	assert_int_equal(system(rm), 0);
	free(rm);
	free(src);
	write_text("etc/userdb", userdb_text);
	compile_ok();
	assert_int_equal(def->init(def, NULL, NULL, &mod, &error), 0);
	auth_record_init(&rec);
	assert_int_equal(def->lookup(mod, &req, &rec, &error), AUTH_MODULE_OK);
	assert_string_equal(rec.address, "demo@example.test");
	assert_int_equal(rec.uid, 8);
	assert_int_equal(rec.gid, 12);
	assert_string_equal(rec.home, "/v/demo");
	assert_string_equal(rec.maildir, "/v/demo/Maildir");
	assert_string_equal(rec.quota, "1000S");
	assert_string_equal(rec.options, "disableimap=1");
	/* the per-service password wins over systempw */
	assert_string_equal(rec.passwd, "{PLAIN}imap");
	auth_record_free(&rec);
	req.service = "pop3";
	assert_int_equal(def->lookup(mod, &req, &rec, &error), AUTH_MODULE_OK);
	assert_string_equal(rec.passwd, "{PLAIN}sys");
	auth_record_free(&rec);
	req.user = "joe";
	assert_int_equal(def->lookup(mod, &req, &rec, &error), AUTH_MODULE_OK);
	assert_string_equal(rec.fullname, "Joe Bloggs");
	assert_null(rec.maildir);
	auth_record_free(&rec);
	req.user = "nobody";
	assert_int_equal(
		def->lookup(mod, &req, &rec, &error), AUTH_MODULE_NOTFOUND);
	/* password change: verifies the old one, rewrites and recompiles */
	req.user = "joe";
	assert_int_equal(
		def->change_password(mod, &req, "wrong", "new pw", &error),
		AUTH_MODULE_NOTFOUND);
	assert_int_equal(
		def->change_password(mod, &req, "pass word1", "new pw", &error),
		AUTH_MODULE_OK);
	auth_record_init(&rec);
	assert_int_equal(def->lookup(mod, &req, &rec, &error), AUTH_MODULE_OK);
	assert_int_equal(passwd_verify("new pw", rec.passwd), 1);
	assert_int_equal(passwd_scheme_of(rec.passwd), passwd_default_scheme());
	auth_record_free(&rec);
	def->deinit(&mod);
	assert_null(mod);
}

static int count_one(const char *name, const char *fields, void *context)
{
	(void)name;
	(void)fields;
	(*(size_t *)context)++;
	return 0;
}

static void test_many_accounts(void **state)
{
	char *src = path("etc/userdb");
	FILE *f = fopen(src, "w");
	const char *error;
	(void)state;

	for (int i = 0; i < 20000; i++)
		fprintf(f,
			"user%d@d%d.test\tuid=%d|gid=1|home=/h/%d|"
			"systempw={PLAIN}p%d\n",
			i, i % 50, i, i, i);
	fclose(f);
	chmod(src, 0600);
	compile_ok();
	char *dat = path("etc/userdb.dat"), *sh = path("etc/userdbshadow.dat");
	struct userdb *db = userdb_open(dat, sh, &error);
	for (int i = 0; i < 20000; i += 997) {
		char name[64], *fields, *secret, want[32];
		snprintf(name, sizeof(name), "user%d@d%d.test", i, i % 50);
		assert_int_equal(
			userdb_lookup(db, name, &fields, &secret, &error), 1);
		snprintf(want, sizeof(want), "systempw={PLAIN}p%d", i);
		assert_string_equal(secret, want);
		free(fields);
		free(secret);
	}
	size_t count = 0;
	assert_int_equal(userdb_iterate(db, count_one, &count, &error), 0);
	assert_int_equal(count, 20000);
	userdb_close(&db);
	free(dat);
	free(sh);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_compile_lookup),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_text_update_file_and_folder),
		cmocka_unit_test(test_module),
		cmocka_unit_test(test_many_accounts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
