/* test-config.c: unit tests for lib/config-file (control files and folders,
 * hostname-dependent entries, per-address overrides) and config-errors. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config-file.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "str.h"

static char tmpdir[64];
static char etcdir[128];

static void write_file(const char *rel, const void *data, size_t size)
{
	char *path = xasprintf("%s/%s", etcdir, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, size), (ssize_t)size);
	close(fd);
	free(path);
}

static void write_str(const char *rel, const char *text)
{
	write_file(rel, text, strlen(text));
}

static void make_dir(const char *rel)
{
	char *path = xasprintf("%s/%s", etcdir, rel);

	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

static void rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(etcdir, sizeof(etcdir), "%s/etc", tmpdir);
	if (mkdir(etcdir, 0755) < 0)
		return -1;
	setenv("COURIER_INSTANCE", tmpdir, 1);
	instance_reset();
	config_set_hostname("mx1");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(tmpdir);
	unsetenv("COURIER_INSTANCE");
	instance_reset();
	config_set_hostname(NULL);
	return 0;
}

static void assert_line(const struct config_lines *l, size_t i,
			const char *text, const char *file_suffix,
			unsigned int line)
{
	const struct config_line *cl = config_lines_get(l, i);

	assert_non_null(cl);
	assert_string_equal(cl->text, text);
	assert_int_equal(cl->len, strlen(text));
	assert_true(str_ends_with(cl->file, file_suffix));
	assert_int_equal(cl->line, line);
}

static void test_missing_is_not_an_error(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_lines *l = (void *)1;

	(void)state;
	assert_int_equal(config_lines_read("nosuchfile", NULL, &l, errs), 0);
	assert_null(l);
	assert_int_equal(errs->count, 0);
	assert_int_equal(config_lines_count(NULL), 0);
	assert_null(config_lines_get(NULL, 0));
	/* a path through a file (ENOTDIR) is missing too */
	write_str("plain", "x\n");
	char *p = xasprintf("%s/plain/sub", etcdir);
	assert_int_equal(config_lines_read(p, NULL, &l, errs), 0);
	free(p);
	config_errors_destroy(&errs);
}

static void test_file_comments_and_trimming(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_lines *l;

	(void)state;
	write_str("locals",
		  "# a comment\n"
		  "\n"
		  "example.com   \t\n"
		  "   \n"
		  "  # indented comment\n"
		  "\tindented.example\r\n"
		  "a # not a comment\n"
		  "last-without-newline");
	assert_int_equal(config_lines_read("locals", NULL, &l, errs), 1);
	assert_int_equal(config_lines_count(l), 4);
	assert_line(l, 0, "example.com", "/etc/locals", 3);
	assert_line(l, 1, "\tindented.example", "/etc/locals", 6);
	assert_line(l, 2, "a # not a comment", "/etc/locals", 7);
	assert_line(l, 3, "last-without-newline", "/etc/locals", 8);
	assert_null(config_lines_get(l, 4));
	assert_int_equal(errs->count, 0);
	config_lines_free(&l);
	assert_null(l);
	config_lines_free(&l);

	/* an empty file exists but has no lines */
	write_str("empty", "");
	assert_int_equal(config_lines_read("empty", NULL, &l, errs), 1);
	assert_int_equal(config_lines_count(l), 0);
	config_lines_free(&l);
	config_errors_destroy(&errs);
}

static void test_explicit_path(void **state)
{
	struct config_lines *l;
	char *path = xasprintf("%s/other-name", tmpdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "v\n", 2), 2);
	close(fd);
	assert_int_equal(config_lines_read(path, NULL, &l, NULL), 1);
	assert_int_equal(config_lines_count(l), 1);
	assert_string_equal(config_lines_get(l, 0)->file, path);
	config_lines_free(&l);
	char *p2 = config_path("me");
	char *expect = xasprintf("%s/me", etcdir);
	assert_string_equal(p2, expect);
	free(p2);
	free(expect);
	p2 = config_path("/abs/me");
	assert_string_equal(p2, "/abs/me");
	free(p2);
	free(path);
}

static void test_folder(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_lines *l;

	(void)state;
	make_dir("esmtpacceptmailfor.dir");
	write_str("esmtpacceptmailfor.dir/b", "b1\n# c\nb3\n");
	write_str("esmtpacceptmailfor.dir/a", "a1\n");
	write_str("esmtpacceptmailfor.dir/B", "upper\n");
	write_str("esmtpacceptmailfor.dir/a~", "backup\n");
	write_str("esmtpacceptmailfor.dir/.hidden", "hidden\n");
	write_str("esmtpacceptmailfor.dir/#auto#", "emacs\n");
	write_str("esmtpacceptmailfor.dir/c.rpmsave", "rpm\n");
	write_str("esmtpacceptmailfor.dir/c.rpmnew", "rpm\n");
	write_str("esmtpacceptmailfor.dir/c.dpkg-old", "dpkg\n");
	write_str("esmtpacceptmailfor.dir/c.dist", "dist\n");
	make_dir("esmtpacceptmailfor.dir/sub");
	write_str("esmtpacceptmailfor.dir/sub/x", "in subfolder\n");
	make_dir("esmtpacceptmailfor.dir/empty-sub");

	assert_int_equal(config_lines_read("esmtpacceptmailfor.dir", NULL, &l,
					   errs), 1);
	assert_int_equal(config_lines_count(l), 4);
	/* byte order: "B" < "a" < "b" */
	assert_line(l, 0, "upper", "esmtpacceptmailfor.dir/B", 1);
	assert_line(l, 1, "a1", "esmtpacceptmailfor.dir/a", 1);
	assert_line(l, 2, "b1", "esmtpacceptmailfor.dir/b", 1);
	assert_line(l, 3, "b3", "esmtpacceptmailfor.dir/b", 3);
	assert_int_equal(config_errors_error_count(errs), 0);
	assert_int_equal(errs->n_warnings, 4);
	assert_true(config_errors_contains(errs, "c.rpmsave"));
	assert_true(config_errors_contains(errs, "c.rpmnew"));
	assert_true(config_errors_contains(errs, "c.dpkg-old"));
	assert_true(config_errors_contains(errs, "c.dist"));
	assert_false(config_errors_contains(errs, "a~"));
	config_lines_free(&l);

	/* an empty folder exists and is empty */
	make_dir("emptydir");
	assert_int_equal(config_lines_read("emptydir", NULL, &l, errs), 1);
	assert_int_equal(config_lines_count(l), 0);
	config_lines_free(&l);
	config_errors_destroy(&errs);
}

static void test_folder_limits_and_specials(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_limits lim = { .max_files = 2 };
	struct config_lines *l;
	char *fifo = xasprintf("%s/dir/f-fifo", etcdir);

	(void)state;
	make_dir("dir");
	write_str("dir/1", "one\n");
	write_str("dir/2", "two\n");
	assert_int_equal(config_lines_read("dir", &lim, &l, errs), 1);
	config_lines_free(&l);
	write_str("dir/3", "three\n");
	assert_int_equal(config_lines_read("dir", &lim, &l, errs), -1);
	assert_null(l);
	assert_true(config_errors_contains(errs, "too many files"));

	/* a FIFO in a folder is skipped with a warning, never opened */
	assert_int_equal(mkfifo(fifo, 0644), 0);
	config_errors_destroy(&errs);
	errs = config_errors_new();
	assert_int_equal(config_lines_read("dir", NULL, &l, errs), 1);
	assert_int_equal(config_lines_count(l), 3);
	assert_true(config_errors_contains(errs, "not a regular file"));
	assert_int_equal(config_errors_error_count(errs), 0);
	config_lines_free(&l);
	/* a FIFO as the control file itself is an error */
	assert_int_equal(config_lines_read(fifo, NULL, &l, errs), -1);
	assert_int_equal(config_errors_error_count(errs), 1);

	/* a dangling symlink in a folder is not part of it */
	char *link = xasprintf("%s/dir/4-dangling", etcdir);
	assert_int_equal(symlink("/nonexistent/x", link), 0);
	assert_int_equal(config_lines_read("dir", NULL, &l, NULL), 1);
	assert_int_equal(config_lines_count(l), 3);
	config_lines_free(&l);
	free(link);
	free(fifo);
	config_errors_destroy(&errs);
}

static void test_malformed_lines(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_limits lim = { .max_line_len = 10 };
	struct config_lines *l;
	static const char data[] = "ok\nbad\0nul\nthis line is too long\n"
				   "short  \n";

	(void)state;
	write_file("bad", data, sizeof(data) - 1);
	assert_int_equal(config_lines_read("bad", &lim, &l, errs), 1);
	assert_int_equal(config_lines_count(l), 2);
	assert_line(l, 0, "ok", "/bad", 1);
	assert_line(l, 1, "short", "/bad", 4);
	assert_int_equal(config_errors_error_count(errs), 2);
	assert_true(config_errors_contains(errs, "/etc/bad:2: NUL byte"));
	assert_true(config_errors_contains(errs, "/etc/bad:3: line too long"));
	config_lines_free(&l);

	/* too many lines: the rest is dropped with one error */
	struct config_limits few = { .max_lines = 2 };
	l = config_lines_new(&few);
	config_lines_parse(l, "mem", "a\nb\nc\nd\n", 8, errs);
	assert_int_equal(config_lines_count(l), 2);
	assert_true(config_errors_contains(errs, "mem:3: too many lines"));
	config_lines_free(&l);

	/* file too large: the whole control file is unreadable */
	struct config_limits tiny = { .max_file_size = 4 };
	write_str("big", "0123456789\n");
	assert_int_equal(config_lines_read("big", &tiny, &l, errs), -1);
	assert_null(l);
	assert_true(config_errors_contains(errs, "file too large"));
	write_str("four", "abc\n");
	assert_int_equal(config_lines_read("four", &tiny, &l, errs), 1);
	config_lines_free(&l);
	config_errors_destroy(&errs);
}

static void test_parse_every_split(void **state)
{
	/* Parsing data in two buffers (as two files) must give the same
	 * lines as one buffer when the split is at a line end, and must
	 * never crash wherever it is. */
	static const char data[] = "# c\none\n  two  \n\nthree\r\n#x\nfour";
	size_t len = sizeof(data) - 1;

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		struct config_lines *l = config_lines_new(NULL);

		config_lines_parse(l, "a", data, i, NULL);
		config_lines_parse(l, "b", data + i, len - i, NULL);
		assert_true(config_lines_count(l) >= 4);
		assert_true(config_lines_count(l) <= 6);
		if (i == 0 || data[i - 1] == '\n') {
			assert_int_equal(config_lines_count(l), 4);
			assert_string_equal(config_lines_get(l, 3)->text,
					    "four");
		}
		config_lines_free(&l);
	}
}

static void test_first_line(void **state)
{
	char *v, *origin;
	struct config_errors *errs = config_errors_new();

	(void)state;
	write_str("defaultdomain", "# the domain\n\n  example.com  \nsecond\n");
	v = config_read_first_line("defaultdomain", "x");
	assert_string_equal(v, "example.com");
	free(v);
	assert_int_equal(config_read_first_line_r("defaultdomain", &v, &origin,
						  errs), 1);
	assert_true(str_ends_with(origin, "/etc/defaultdomain:3"));
	free(v);
	free(origin);
	v = config_read_first_line("nope", "dflt");
	assert_string_equal(v, "dflt");
	free(v);
	assert_null(config_read_first_line("nope", NULL));
	write_str("onlycomments", "# nothing\n");
	assert_int_equal(config_read_first_line_r("onlycomments", &v, &origin,
						  errs), 0);
	assert_null(v);
	assert_null(origin);
	config_errors_destroy(&errs);
}

static void test_expand_hostname(void **state)
{
	static const struct {
		const char *in, *host, *out;
	} cases[] = {
		{ "*", "mx1.example.com", "mx1.example.com" },
		{ "*.example.com", "mx1", "mx1.example.com" },
		{ "!*", "mx1.example.com", "!mx1.example.com" },
		{ "!*.example.com", "mx1", "!mx1.example.com" },
		{ "example.com", "mx1", "example.com" },
		{ "a.*.com", "mx1", "a.*.com" },
		{ "**", "mx1", "**" },
		{ "*example.com", "mx1", "*example.com" },
		{ "", "mx1", "" },
		{ "!", "mx1", "!" },
		{ "*.", "mx1", "mx1." },
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *out = config_expand_hostname(cases[i].in, cases[i].host);

		assert_string_equal(out, cases[i].out);
		free(out);
	}
	/* NULL hostname uses the injected one */
	char *out = config_expand_hostname("*.x", NULL);
	assert_string_equal(out, "mx1.x");
	free(out);
	assert_string_equal(config_hostname(), "mx1");
	/* the real one is something */
	config_set_hostname(NULL);
	assert_true(strlen(config_hostname()) > 0);
	config_set_hostname("mx1");
}

static void test_me(void **state)
{
	char *me;

	(void)state;
	config_set_hostname("host.example.net");
	me = config_me(NULL);
	assert_string_equal(me, "host.example.net"); /* missing: hostname */
	free(me);
	config_set_hostname("mx1");
	write_str("me", "*.example.com\n");
	me = config_me(NULL);
	assert_string_equal(me, "mx1.example.com");
	free(me);
	write_str("me", "# comment\nmail.example.org\nignored.second\n");
	me = config_me(NULL);
	assert_string_equal(me, "mail.example.org");
	free(me);
	/* per-address me */
	write_str("me.192.168.0.1", "relay.example.com\n");
	me = config_me("192.168.0.1");
	assert_string_equal(me, "relay.example.com");
	free(me);
	me = config_me("192.168.1.1");
	assert_string_equal(me, "mail.example.org");
	free(me);
}

static void test_domain_list(void **state)
{
	struct config_lines *l;

	(void)state;
	config_set_hostname("mx1.example.com");
	write_str("hosteddomains", "*\nexample.org\n");
	assert_int_equal(config_read_domain_list("hosteddomains", NULL, &l,
						 NULL), 1);
	assert_int_equal(config_lines_count(l), 2);
	assert_line(l, 0, "mx1.example.com", "/hosteddomains", 1);
	assert_line(l, 1, "example.org", "/hosteddomains", 2);
	config_lines_free(&l);

	config_set_hostname("mx1");
	make_dir("locals");
	write_str("locals/10", "  *.example.com\n!*.internal\n");
	assert_int_equal(config_read_domain_list("locals", NULL, &l, NULL), 1);
	assert_int_equal(config_lines_count(l), 2);
	assert_line(l, 0, "mx1.example.com", "/locals/10", 1);
	assert_line(l, 1, "!mx1.internal", "/locals/10", 2);
	config_lines_free(&l);
	assert_int_equal(config_read_domain_list("nolist", NULL, &l, NULL), 0);
	assert_null(l);
}

static void test_domain_list_match(void **state)
{
	/* first match wins; '!' excludes; ".dom" is below dom only */
	const char *const l[] = { "!secret.example.com", ".example.com",
				  "example.org", "!.lab.example.net",
				  ".example.net" };
	const size_t n = sizeof(l) / sizeof(l[0]);

	(void)state;
	assert_true(config_domain_list_match(l, n, "mx.example.com"));
	assert_true(config_domain_list_match(l, n, "a.b.example.com"));
	assert_false(config_domain_list_match(l, n, "example.com"));
	assert_false(config_domain_list_match(l, n, "secret.example.com"));
	assert_true(config_domain_list_match(l, n, "x.secret.example.com"));
	assert_true(config_domain_list_match(l, n, "example.org"));
	assert_false(config_domain_list_match(l, n, "www.example.org"));
	assert_false(config_domain_list_match(l, n, "badexample.org"));
	assert_false(config_domain_list_match(l, n, "a.lab.example.net"));
	assert_true(config_domain_list_match(l, n, "lab.example.net"));
	assert_false(config_domain_list_match(l, n, ""));
	assert_false(config_domain_list_match(NULL, 0, "example.org"));
}

static void test_address_override(void **state)
{
	char *p, *expect;

	(void)state;
	write_str("ipout", "10.0.0.1\n");
	write_str("ipout.192.168.0.1", "");
	write_str("ipout.fec0::230:48ff:fec4:429c", "fec0::1\n");

	p = config_path_for_address("ipout", "192.168.0.1");
	expect = xasprintf("%s/ipout.192.168.0.1", etcdir);
	assert_string_equal(p, expect);
	free(p);
	free(expect);
	p = config_path_for_address("ipout", "fec0::230:48ff:fec4:429c");
	expect = xasprintf("%s/ipout.fec0::230:48ff:fec4:429c", etcdir);
	assert_string_equal(p, expect);
	free(p);
	free(expect);

	static const char *const fallbacks[] = {
		"192.168.9.9", "", ".hidden", "../ipout", "a/b", "a b",
		"x\ny", NULL,
	};
	expect = xasprintf("%s/ipout", etcdir);
	for (size_t i = 0; i < N_ELEMENTS(fallbacks); i++) {
		p = config_path_for_address("ipout", fallbacks[i]);
		assert_string_equal(p, expect);
		free(p);
	}
	free(expect);
	/* a file that does not exist without override stays that path */
	p = config_path_for_address("nothere", "1.2.3.4");
	assert_true(str_ends_with(p, "/etc/nothere"));
	free(p);
}

static void test_vhost_select(void **state)
{
	char *v;

	(void)state;
	assert_null(config_vhost_select("192.168.0.1", "u@example.com"));
	write_str("vhost.192.168.0.1", "");
	write_str("vhost.example.com", "");
	v = config_vhost_select("192.168.0.1", "u@example.com");
	assert_string_equal(v, "192.168.0.1"); /* the IP address wins */
	free(v);
	v = config_vhost_select("10.1.1.1", "user@Example.COM");
	assert_string_equal(v, "example.com");
	free(v);
	v = config_vhost_select(NULL, "a@b@example.com");
	assert_string_equal(v, "example.com");
	free(v);
	assert_null(config_vhost_select("10.1.1.1", "user"));
	assert_null(config_vhost_select("10.1.1.1", "user@"));
	assert_null(config_vhost_select("10.1.1.1", "user@other.com"));
	assert_null(config_vhost_select("../etc/vhost.example.com", NULL));
	assert_null(config_vhost_select(NULL, NULL));
	assert_true(config_vhost_exists("example.com"));
	assert_false(config_vhost_exists("example.org"));
	assert_false(config_vhost_exists(NULL));
}

struct captured {
	int errors, warnings;
	char last[512];
};

static void capture(enum log_level level, const char *line, void *ctx)
{
	struct captured *c = ctx;

	if (level == LOG_LEVEL_ERROR)
		c->errors++;
	else if (level == LOG_LEVEL_WARNING)
		c->warnings++;
	snprintf(c->last, sizeof(c->last), "%s", line);
}

static void test_errors_list(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct captured cap = { 0 };

	(void)state;
	for (int i = 0; i < CONFIG_ERRORS_MAX_MESSAGES + 5; i++)
		config_error(errs, "f", (unsigned)i + 1, "bad %d", i);
	config_warning(errs, "f", 0, "warned");
	assert_int_equal(errs->count, CONFIG_ERRORS_MAX_MESSAGES);
	assert_int_equal(errs->n_errors, CONFIG_ERRORS_MAX_MESSAGES + 5);
	assert_int_equal(errs->n_warnings, 1);
	assert_int_equal(errs->n_dropped, 6);
	assert_string_equal(config_errors_get(errs, 0)->text, "f:1: bad 0");
	assert_null(config_errors_get(errs, CONFIG_ERRORS_MAX_MESSAGES));
	assert_null(config_errors_get(NULL, 0));
	assert_int_equal(config_errors_error_count(NULL), 0);

	log_set_handler(capture, &cap);
	config_errors_log(errs);
	assert_int_equal(cap.errors, CONFIG_ERRORS_MAX_MESSAGES + 1);
	/* NULL list: logged at once, with the prefix forms */
	config_error(NULL, "file", 7, "oops %s", "x");
	assert_non_null(strstr(cap.last, "file:7: oops x"));
	config_warning(NULL, "file", 0, "w");
	assert_non_null(strstr(cap.last, "file: w"));
	config_warning(NULL, NULL, 3, "bare");
	assert_null(strstr(cap.last, ":3"));
	assert_int_equal(cap.warnings, 2);
	log_set_handler(NULL, NULL);
	config_errors_destroy(&errs);
	assert_null(errs);
	config_errors_destroy(&errs);
}

static void test_unreadable(void **state)
{
	struct config_errors *errs = config_errors_new();
	struct config_lines *l;

	(void)state;
	/* a symlink loop cannot be read, even by root */
	char *loop = xasprintf("%s/loop", etcdir);
	assert_int_equal(symlink(loop, loop), 0);
	assert_int_equal(config_lines_read("loop", NULL, &l, errs), -1);
	assert_null(l);
	assert_true(config_errors_contains(errs, "/etc/loop: stat:"));
	free(loop);
	if (geteuid() == 0) {
		/* root reads anything: nothing to test here */
		config_errors_destroy(&errs);
		skip();
	}
	write_str("secret", "x\n");
	char *p = xasprintf("%s/secret", etcdir);
	assert_int_equal(chmod(p, 0), 0);
	assert_int_equal(config_lines_read("secret", NULL, &l, errs), -1);
	assert_true(config_errors_contains(errs, "open: Permission denied"));
	free(p);
	config_errors_destroy(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_is_not_an_error,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_comments_and_trimming,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_limits_and_specials,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_lines, setup,
						teardown),
		cmocka_unit_test(test_parse_every_split),
		cmocka_unit_test_setup_teardown(test_first_line, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_expand_hostname, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_me, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_list, setup,
						teardown),
		cmocka_unit_test(test_domain_list_match),
		cmocka_unit_test_setup_teardown(test_address_override, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vhost_select, setup,
						teardown),
		cmocka_unit_test(test_errors_list),
		cmocka_unit_test_setup_teardown(test_unreadable, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
