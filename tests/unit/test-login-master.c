/* test-login-master.c: unit tests for lib/login-master (the login
 * servers' shared master code: settings table and loading, request
 * fields, address texts, command line, verdicts) and for
 * config_settings_load_file(). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config-settings.h"
#include "login-master.h"
#include "mem.h"
#include "str.h"

struct test_settings {
	struct login_master_settings master;
	char *greeting;
	bool tls_required;
};

#define S struct test_settings
static const struct config_setting_def defs[] = {
	LOGIN_MASTER_SETTING_DEFS(S, master, "TESTDSTART", "TESTDSSLSTART",
				  "TEST_STARTTLS", "TEST_LOGIN_USER", "1110",
				  "1995", "7"),
	CONFIG_SETTING_STRING(S, greeting, "TEST_GREETING", "hello"),
	CONFIG_SETTING_BOOL(S, tls_required, "TEST_TLS_REQUIRED", "NO"),
	CONFIG_SETTING_END
};
#undef S

static const struct login_master_names names = {
	.log_name = "testd",
	.protocol = "TEST",
	.start_name = "TESTDSTART",
	.ssl_start_name = "TESTDSSLSTART",
	.ssl_file = "testd-ssl",
	.starttls_word = "STLS",
};

/* The test's scratch folder: settings files are given by path. */
static char tmpdir[64];

/* The path of name in tmpdir (one of four buffers used in turn). */
static const char *path_of(const char *name)
{
	static char paths[4][128];
	static unsigned int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-login.XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int ret = system(cmd);

	(void)state;
	free(cmd);
	return ret == 0 ? 0 : -1;
}

static void test_settings_defaults(void **state)
{
	struct test_settings set;
	struct config_errors *errs = config_errors_new();

	(void)state;
	memset(&set, 0xa5, sizeof(set));
	assert_int_equal(login_master_settings_load(defs, &set, sizeof(set),
						    path_of("testd"),
						    path_of("testd-ssl"), errs),
			 0);
	assert_int_equal(errs->count, 0);
	assert_true(set.master.start);
	assert_string_equal(set.master.address, "0");
	assert_int_equal(set.master.port, 1110);
	assert_int_equal(set.master.max_daemons, 40);
	assert_int_equal(set.master.max_per_ip, 7);
	assert_string_equal(set.master.login_user, "nobody");
	assert_true(set.master.ssl_start);
	assert_string_equal(set.master.ssl_address, "0");
	assert_int_equal(set.master.ssl_port, 1995);
	assert_true(set.master.starttls);
	assert_null(set.master.tls_certfile);
	assert_string_equal(set.master.tls_verifypeer, "NONE");
	assert_string_equal(set.greeting, "hello");
	assert_false(set.tls_required);
	config_settings_free(defs, &set);
	assert_null(set.master.address);
	config_errors_destroy(&errs);
}

static void test_settings_two_files(void **state)
{
	struct test_settings set;
	struct config_errors *errs = config_errors_new();

	(void)state;
	put("testd", "TESTDSTART=NO\nPORT=2110\nMAXPERIP=30\n"
		     "TEST_GREETING=\"hi there\"\nTEST_LOGIN_USER=mail\n");
	/* the SSL file comes second and wins */
	put("testd-ssl", "TESTDSSLSTART=YES\nSSLPORT=2995\n"
			 "TLS_CERTFILE=/x/cert.pem\nPORT=2111\n"
			 "TEST_STARTTLS=no\nTEST_TLS_REQUIRED=yes\n");
	assert_int_equal(login_master_settings_load(defs, &set, sizeof(set),
						    path_of("testd"),
						    path_of("testd-ssl"), errs),
			 0);
	assert_int_equal(errs->count, 0);
	assert_false(set.master.start);
	assert_int_equal(set.master.port, 2111);
	assert_int_equal(set.master.max_per_ip, 30);
	assert_string_equal(set.master.login_user, "mail");
	assert_int_equal(set.master.ssl_port, 2995);
	assert_string_equal(set.master.tls_certfile, "/x/cert.pem");
	assert_false(set.master.starttls);
	assert_true(set.tls_required);
	assert_string_equal(set.greeting, "hi there");
	config_settings_free(defs, &set);
	config_errors_destroy(&errs);
}

static void test_settings_errors(void **state)
{
	struct test_settings set;
	struct config_errors *errs = config_errors_new();

	(void)state;
	put("testd", "PORT=70000\nMAXDAEMONS=many\nBOGUS=1\n"
		     "ADDRESS=127.0.0.1\n");
	put("testd-ssl", "TESTDSSLSTART=maybe\nSSLPORT=993\n");
	assert_int_equal(login_master_settings_load(defs, &set, sizeof(set),
						    path_of("testd"),
						    path_of("testd-ssl"), errs),
			 -1);
	/* every bad line is reported, with its file and line */
	assert_int_equal(config_errors_error_count(errs), 3);
	assert_true(config_errors_contains(errs, "testd:1: PORT"));
	assert_true(config_errors_contains(errs, "testd:2: MAXDAEMONS"));
	assert_true(config_errors_contains(errs, "unknown setting BOGUS"));
	assert_true(config_errors_contains(errs, "testd-ssl:1: TESTDSSLSTART"));
	/* the valid lines still apply; the bad ones keep the defaults */
	assert_int_equal(set.master.port, 1110);
	assert_string_equal(set.master.address, "127.0.0.1");
	assert_true(set.master.ssl_start);
	assert_int_equal(set.master.ssl_port, 993);
	config_settings_free(defs, &set);
	config_errors_destroy(&errs);
}

/* config_settings_load_file() of the file name of tmpdir. */
static int load(struct test_settings *set, const char *name,
		struct config_errors *errs)
{
	return config_settings_load_file(defs, set, path_of(name), errs);
}

static void test_load_file(void **state)
{
	struct test_settings set;
	struct config_errors *errs = config_errors_new();

	(void)state;
	memset(&set, 0, sizeof(set));
	config_settings_init(defs, &set);
	/* missing: 0, nothing changed */
	assert_int_equal(load(&set, "none", errs), 0);
	assert_int_equal(set.master.port, 1110);
	/* over what set holds, not over the defaults */
	put("one", "PORT=1\n");
	put("two", "SSLPORT=2\n");
	assert_int_equal(load(&set, "one", errs), 1);
	assert_int_equal(load(&set, "two", errs), 1);
	assert_int_equal(set.master.port, 1);
	assert_int_equal(set.master.ssl_port, 2);
	assert_int_equal(config_errors_error_count(errs), 0);
	/* a warning is not an error */
	put("three", "UNKNOWN=1\n");
	assert_int_equal(load(&set, "three", errs), 1);
	assert_int_equal(config_errors_error_count(errs), 0);
	assert_int_equal(errs->n_warnings, 1);
	/* a line the reader refuses is an error of the file */
	put("five", "PORT=6\nTEST_GREETING='unterminated\n");
	assert_int_equal(load(&set, "five", errs), -1);
	assert_int_equal(set.master.port, 6);
	/* malformed lines */
	put("four", "PORT=-1\nthis is not an assignment\n=\nSSLPORT=3\n");
	assert_int_equal(load(&set, "four", errs), -1);
	assert_true(config_errors_error_count(errs) >= 1);
	/* the bad value is not applied, the good one after it is */
	assert_int_equal(set.master.port, 6);
	assert_int_equal(set.master.ssl_port, 3);
	/* a folder: its files in turn */
	assert_int_equal(mkdir(path_of("adir"), 0755), 0);
	put("adir/1", "PORT=5\n");
	assert_int_equal(load(&set, "adir", errs), 1);
	assert_int_equal(set.master.port, 5);
	/* unreadable: neither a file nor a folder */
	assert_int_equal(mkfifo(path_of("afifo"), 0644), 0);
	assert_int_equal(load(&set, "afifo", errs), -1);
	assert_true(config_errors_contains(errs,
					   "cannot read the settings file"));
	config_settings_free(defs, &set);
	config_errors_destroy(&errs);
}

static void test_mech_listed(void **state)
{
	(void)state;
	assert_true(login_master_mech_listed("PLAIN LOGIN", "plain"));
	assert_true(login_master_mech_listed("PLAIN,\tCRAM-MD5", "CRAM-MD5"));
	assert_true(login_master_mech_listed(" ,LOGIN, ", "LOGIN"));
	assert_false(login_master_mech_listed("PLAIN LOGIN", "CRAM-MD5"));
	assert_false(login_master_mech_listed("PLAINX", "PLAIN"));
	assert_false(login_master_mech_listed("", "PLAIN"));
	assert_false(login_master_mech_listed(" , ,", "PLAIN"));
	assert_false(login_master_mech_listed(NULL, "PLAIN"));
}

static void test_tls_version(void **state)
{
	(void)state;
	assert_int_equal(login_master_tls_version(NULL), TLS_VERSION_DEFAULT);
	assert_int_equal(login_master_tls_version(""), TLS_VERSION_DEFAULT);
	assert_int_equal(login_master_tls_version("TLSv1.2+"),
			 TLS_VERSION_1_2);
	assert_int_equal(login_master_tls_version("TLS1_2"), TLS_VERSION_1_2);
	assert_int_equal(login_master_tls_version("TLSv1.3"),
			 TLS_VERSION_1_3);
	assert_int_equal(login_master_tls_version("TLS1_3"), TLS_VERSION_1_3);
	assert_int_equal(login_master_tls_version("SSL3"),
			 TLS_VERSION_DEFAULT);
}

static void check_text(const char *address, long long port,
		       const char *expected)
{
	char *t = login_master_listen_text(address, port);

	assert_string_equal(t, expected);
	free(t);
}

static void test_listen_text(void **state)
{
	(void)state;
	check_text("0", 143, "143");
	check_text("127.0.0.1", 110, "127.0.0.1:110");
	check_text("::1", 993, "[::1]:993");
	check_text("mail.example.com", 0, "mail.example.com:0");
}

static void check_maildir(const char *home, const char *maildir,
			  const char *expected)
{
	char *t = login_master_account_maildir(home, maildir, "Maildir");

	assert_string_equal(t, expected);
	free(t);
}

static void test_account_maildir(void **state)
{
	(void)state;
	check_maildir("/home/a", NULL, "/home/a/Maildir");
	check_maildir("/home/a", "", "/home/a/Maildir");
	check_maildir("/home/a", "mail/box", "/home/a/mail/box");
	check_maildir("/home/a", "/var/mail/a", "/var/mail/a");
}

static void test_fields(void **state)
{
	struct str s;
	const char *f[4];

	(void)state;
	str_init(&s, 64);
	login_master_field_append(&s, "P");
	login_master_field_append(&s, "user@example.com");
	login_master_field_append(&s, NULL);
	login_master_field_append(&s, "1");
	size_t len = str_len(&s);
	assert_int_equal(len, 2 + 17 + 1 + 2);
	assert_int_equal(login_master_fields_split(s.data, len, f, 4),
			 (ssize_t)len);
	assert_string_equal(f[0], "P");
	assert_string_equal(f[1], "user@example.com");
	assert_string_equal(f[2], "");
	assert_string_equal(f[3], "1");
	/* fewer fields than the buffer holds: the bytes used */
	assert_int_equal(login_master_fields_split(s.data, len, f, 2), 19);
	/* cut anywhere before the last NUL: malformed, never past len */
	for (size_t cut = 0; cut < len; cut++) {
		char *copy = xmalloc(cut + 1);

		memcpy(copy, s.data, cut);
		assert_int_equal(login_master_fields_split(copy, cut, f, 4),
				 -1);
		free(copy);
	}
	/* no NUL at all */
	assert_int_equal(login_master_fields_split("abc", 3, f, 1), -1);
	/* zero fields from nothing */
	assert_int_equal(login_master_fields_split("", 0, f, 0), 0);
	str_free(&s);
}

static void test_command_line(void **state)
{
	char name[] = "testd", path[] = "/home/a/Maildir", opt[] = "--stdio";
	char *none[] = { name, NULL };
	char *dir[] = { name, path, NULL };
	char *stdio_arg[] = { name, opt, NULL };

	(void)state;
	assert_null(login_master_command_line("testd", 1, none));
	assert_string_equal(login_master_command_line("testd", 2, dir),
			    "/home/a/Maildir");
	unsetenv("MAILDIR");
	assert_string_equal(login_master_command_line("testd", 2, stdio_arg),
			    "Maildir");
	setenv("MAILDIR", "", 1);
	assert_string_equal(login_master_command_line("testd", 2, stdio_arg),
			    "Maildir");
	setenv("MAILDIR", "/m/d", 1);
	assert_string_equal(login_master_command_line("testd", 2, stdio_arg),
			    "/m/d");
	unsetenv("MAILDIR");
}

/* Runs the command line in a child; returns its exit status. */
static int command_line_status(int argc, char **argv)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(99);
		(void)login_master_command_line("testd", argc, argv);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_command_line_usage(void **state)
{
	char name[] = "testd", a[] = "a", b[] = "b";
	char long_help[] = "--help", short_help[] = "-h";
	char *help[] = { name, long_help, NULL };
	char *h[] = { name, short_help, NULL };
	char *two[] = { name, a, b, NULL };
	char *dir[] = { name, a, NULL };

	(void)state;
	assert_int_equal(command_line_status(2, help), 2);
	assert_int_equal(command_line_status(2, h), 2);
	assert_int_equal(command_line_status(3, two), 2);
	assert_int_equal(command_line_status(2, dir), 0);
}

static void test_verdict(void **state)
{
	struct login_master_login login = {
		.user = "u",
		.remote_ip = "192.0.2.1",
		.auth_result = 1,
		.has_uid = true,
		.uid = 1000,
	};
	const char *text = "x";

	(void)state;
	assert_int_equal(login_master_verdict(&names, &login, &text),
			 LOGIN_MASTER_SERVE);
	assert_null(text);
	login.auth_result = -1;
	assert_int_equal(login_master_verdict(&names, &login, &text),
			 LOGIN_MASTER_TEMPFAIL);
	assert_null(text);
	login.auth_result = 0;
	login.auth_error = "wrong password";
	assert_int_equal(login_master_verdict(&names, &login, &text),
			 LOGIN_MASTER_FAILED);
	login.auth_result = 1;
	login.auth_error = NULL;
	login.service_disabled = true;
	assert_int_equal(login_master_verdict(&names, &login, &text),
			 LOGIN_MASTER_REFUSED);
	assert_string_equal(text, "TEST access is disabled for this account.");
	/* a wrong password wins over disabled: nothing is told */
	login.auth_result = 0;
	assert_int_equal(login_master_verdict(&names, &login, &text),
			 LOGIN_MASTER_FAILED);
	assert_null(text);

	assert_int_equal(login_master_uid_verdict(&names, &login, &text),
			 LOGIN_MASTER_SERVE);
	login.has_uid = false;
	assert_int_equal(login_master_uid_verdict(&names, &login, &text),
			 LOGIN_MASTER_TEMPFAIL);
	assert_null(text);
	login.has_uid = true;
	login.uid = 0;
	if (geteuid() == 0) {
		assert_int_equal(login_master_uid_verdict(&names, &login,
							  &text),
				 LOGIN_MASTER_REFUSED);
		assert_string_equal(text,
				    "This account cannot use TEST (uid 0).");
	} else {
		assert_int_equal(login_master_uid_verdict(&names, &login,
							  &text),
				 LOGIN_MASTER_SERVE);
	}
	login.tls = true;
	assert_int_equal(login_master_forked(&names, &login, 1234),
			 LOGIN_MASTER_SERVE);
	assert_int_equal(login_master_forked(&names, &login, -1),
			 LOGIN_MASTER_TEMPFAIL);
}

/* The context of the judge test: what the daemon's part saw. */
struct judge_state {
	enum login_master_verdict check_answer;
	unsigned int checks;
};

static enum login_master_verdict judge_check(void *context,
					     const char **text_r)
{
	struct judge_state *st = context;

	st->checks++;
	if (st->check_answer == LOGIN_MASTER_REFUSED)
		*text_r = "TLS first.";
	return st->check_answer;
}

static void judge_serve(void *context)
{
	(void)context;
	/* the forked mail session: exits with a code the test checks */
	_exit(42);
}

static void test_judge(void **state)
{
	static const struct login_master_judge_ops ops = {
		.check = judge_check,
		.serve = judge_serve,
	};
	struct login_master_login login = {
		.user = "u",
		.remote_ip = "192.0.2.1",
		.auth_result = 0,
		.has_uid = true,
		.uid = geteuid() == 0 ? 1000 : geteuid(),
	};
	struct judge_state st = { .check_answer = LOGIN_MASTER_SERVE };
	const char *text;
	int status;

	(void)state;
	/* a wrong password: the daemon's check is not asked */
	assert_int_equal(login_master_judge(&names, &login, &ops, &st, &text),
			 LOGIN_MASTER_FAILED);
	assert_int_equal(st.checks, 0);
	/* the daemon's check refuses, or answers itself */
	login.auth_result = 1;
	st.check_answer = LOGIN_MASTER_REFUSED;
	assert_int_equal(login_master_judge(&names, &login, &ops, &st, &text),
			 LOGIN_MASTER_REFUSED);
	assert_string_equal(text, "TLS first.");
	st.check_answer = LOGIN_MASTER_ANSWERED;
	assert_int_equal(login_master_judge(&names, &login, &ops, &st, &text),
			 LOGIN_MASTER_ANSWERED);
	assert_int_equal(st.checks, 2);
	/* after the check, the uid's */
	st.check_answer = LOGIN_MASTER_SERVE;
	login.has_uid = false;
	assert_int_equal(login_master_judge(&names, &login, &ops, &st, &text),
			 LOGIN_MASTER_TEMPFAIL);
	assert_int_equal(st.checks, 3);
	/* served: the child runs serve() */
	login.has_uid = true;
	assert_int_equal(login_master_judge(&names, &login, &ops, &st, &text),
			 LOGIN_MASTER_SERVE);
	assert_null(text);
	pid_t pid = wait(&status);
	assert_true(pid > 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 42);
}

/* Sends "x" with the two fds a and b attached (a peer sending more than
 * one). */
static void send_two_fds(int sock, int a, int b)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)"x", 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	int fds[2] = { a, b };

	memset(&cbuf, 0, sizeof(cbuf));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(sock, &msg, 0), 1);
}

static void test_fd_passing(void **state)
{
	int sv[2], pipefd[2], fd, flags;
	char buf[16];
	struct iovec iov[2] = { { (void *)"he", 2 }, { (void *)"llo", 3 } };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(pipefd), 0);
	/* nothing yet */
	assert_int_equal(login_master_recv_fd(sv[1], buf, sizeof(buf), &fd,
					      &flags),
			 -1);
	assert_int_equal(errno, EAGAIN);
	/* a message with an fd: the received one is the same pipe */
	assert_int_equal(login_master_send_fd(sv[0], iov, 2, pipefd[1]), 5);
	assert_int_equal(login_master_recv_fd(sv[1], buf, sizeof(buf), &fd,
					      &flags),
			 5);
	assert_memory_equal(buf, "hello", 5);
	assert_true(fd >= 0 && fd != pipefd[1]);
	assert_int_equal(flags & (MSG_TRUNC | MSG_CTRUNC), 0);
	assert_int_equal(write(fd, "z", 1), 1);
	assert_int_equal(read(pipefd[0], buf, 1), 1);
	assert_int_equal(buf[0], 'z');
	close(fd);
	/* without an fd */
	assert_int_equal(login_master_send_fd(sv[0], iov, 1, -1), 2);
	assert_int_equal(login_master_recv_fd(sv[1], buf, sizeof(buf), &fd,
					      &flags),
			 2);
	assert_int_equal(fd, -1);
	/* too long for the buffer: MSG_TRUNC */
	assert_int_equal(login_master_send_fd(sv[0], iov, 2, -1), 5);
	assert_int_equal(login_master_recv_fd(sv[1], buf, 3, &fd, &flags), 3);
	assert_true((flags & MSG_TRUNC) != 0);
	/* two fds: the first is kept, the other closed */
	send_two_fds(sv[0], pipefd[1], pipefd[0]);
	assert_int_equal(login_master_recv_fd(sv[1], buf, sizeof(buf), &fd,
					      &flags),
			 1);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "y", 1), 1);
	assert_int_equal(read(pipefd[0], buf, 1), 1);
	assert_int_equal(buf[0], 'y');
	close(fd);
	/* EOF */
	close(sv[0]);
	assert_int_equal(login_master_recv_fd(sv[1], buf, sizeof(buf), &fd,
					      &flags),
			 0);
	assert_int_equal(fd, -1);
	close(sv[1]);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
#define WITH_TMPDIR(test) \
	cmocka_unit_test_setup_teardown(test, make_tmpdir, remove_tmpdir)
	const struct CMUnitTest tests[] = {
		WITH_TMPDIR(test_settings_defaults),
		WITH_TMPDIR(test_settings_two_files),
		WITH_TMPDIR(test_settings_errors),
		WITH_TMPDIR(test_load_file),
		cmocka_unit_test(test_mech_listed),
		cmocka_unit_test(test_tls_version),
		cmocka_unit_test(test_listen_text),
		cmocka_unit_test(test_account_maildir),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_command_line_usage),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_fd_passing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
