/* test-auth-client.c: the client library's SASL and CRAM paths
 * (auth_sasl, auth_cram) against a real authdaemond.
 *
 * The group setup makes a throw-away instance (etc/authdaemonrc with
 * "authuserdb authpipe", etc/userdb, a PIPE_PROGRAM shell script that
 * serves one account with a clear password), starts the built
 * authdaemond (AUTHDAEMOND in the environment, else authlib/authdaemond
 * under the current folder, which is the build folder under make check)
 * and stops it at the end.  Each exchange is run between lib/sasl-client
 * and lib/sasl-server as a service would, then checked with auth_sasl():
 * PLAIN, LOGIN and CRAM-MD5, right and wrong passwords, CRAM-MD5 against
 * a clear password (authpipe's PASSWD2) and against userdb's hmac-md5pw
 * (and a per-service imap-hmac-md5pw), an unknown user, a foreign PLAIN
 * authzid, a disabled service, and auth_cram() called directly. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include "auth-record.h"
#include "authclient.h"
#include "hash.h"
#include "mem.h"
#include "passwd.h"
#include "sasl-client.h"
#include "sasl-server.h"
#include "str.h"

#define JOE "joe@example.test"
#define JOE_PW "joe's pass word"
#define JOE_IMAP_PW "joe imap secret"
#define CLEAR "clear@example.test"
#define CLEAR_PW "clear-pw 42"
#define NOCRAM "nocram@example.test"
#define NOCRAM_PW "nocram-pw"
#define DIS "dis@example.test"
#define DIS_PW "dis-pw"

static char tmpdir[] = "/tmp/test-auth-client.XXXXXX";
static pid_t daemon_pid = -1;

static void write_file(const char *dir, const char *name, mode_t mode,
	const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(path);
}

static void append_account(struct str *db, const char *name,
	const char *password, const char *extra)
{
	const char *error;
	str_printfa(db, "%s\tuid=%lu|gid=%lu|home=%s/home/%s", name,
		(unsigned long)getuid(), (unsigned long)getgid(), tmpdir, name);
	if (password != NULL) {
		str_append(db, "|systempw=");
		assert_int_equal(passwd_hash(password,
					 PASSWD_SCHEME_SHA512_CRYPT, db, &error),
			0);
	}
	if (extra != NULL)
		str_printfa(db, "|%s", extra);
	str_append(db, "\n");
}

static void dump_log(void)
{
	char *path = xasprintf("%s/authdaemond.log", tmpdir);
	FILE *f = fopen(path, "r");
	char line[512];
	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			print_message("authdaemond: %s", line);
		fclose(f);
	}
	free(path);
}

static int setup(void **state)
{
	struct str db, hmac, hmac_imap, text;
	const char *prog = getenv("AUTHDAEMOND");
	(void)state;

	if (prog == NULL || prog[0] == '\0')
		prog = "authlib/authdaemond";
	if (access(prog, X_OK) != 0) {
		print_error("authdaemond not found at %s (set AUTHDAEMOND)\n",
			prog);
		return -1;
	}
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	char *etc = xasprintf("%s/etc", tmpdir);
	char *var = xasprintf("%s/var", tmpdir);
	assert_int_equal(mkdir(etc, 0755), 0);
	assert_int_equal(mkdir(var, 0755), 0);

	/* The authpipe program: one account with a clear password (what an
	 * SQL clear column or an LDAP userPassword in clear gives). */
	str_init(&text, 1024);
	str_printfa(&text,
		"#!/bin/sh\n"
		"# authpipe stand-in for test-auth-client\n"
		"IFS= read -r cmd\n"
		"case \"$cmd\" in TCPREMOTEIP=*) IFS= read -r cmd ;; esac\n"
		"record() {\n"
		"  printf 'ADDRESS=%s\\nUID=%lu\\nGID=%lu\\nHOME=%s/home/"
		"clear\\nPASSWD2=%s\\n.\\n'\n"
		"}\n"
		"case \"$cmd\" in\n"
		"'PRE . '*' %s') record ;;\n"
		"'AUTH '*)\n"
		"  IFS= read -r svc; IFS= read -r type; IFS= read -r user;\n"
		"  IFS= read -r pw\n"
		"  if [ \"$type\" = login ] && [ \"$user\" = '%s' ] &&\n"
		"     [ \"$pw\" = '%s' ]; then record; else echo FAIL; fi ;;\n"
		"*) echo FAIL ;;\n"
		"esac\n",
		CLEAR, (unsigned long)getuid(), (unsigned long)getgid(), tmpdir,
		CLEAR_PW, CLEAR, CLEAR, CLEAR_PW);
	write_file(etc, "pipe.sh", 0755, str_c(&text));

	str_clear(&text);
	str_printfa(&text,
		"authmodulelist=\"authuserdb authpipe\"\n"
		"daemons=2\n"
		"AUTH_TIMEOUT=20\n"
		"AUTHFAIL_USER=0\n"
		"AUTHFAIL_IP=0\n"
		"PIPE_PROGRAM=%s/pipe.sh\n",
		etc);
	write_file(etc, "authdaemonrc", 0644, str_c(&text));
	str_free(&text);

	str_init(&hmac, 64);
	str_init(&hmac_imap, 64);
	hmac_md5_precompute_hex(&hmac, JOE_PW, strlen(JOE_PW));
	hmac_md5_precompute_hex(&hmac_imap, JOE_IMAP_PW, strlen(JOE_IMAP_PW));
	str_init(&db, 2048);
	char *extra = xasprintf(
		"hmac-md5pw=%s|imap-hmac-md5pw=%s|imappw=", str_c(&hmac),
		str_c(&hmac_imap));
	/* joe: a hash, a CRAM key, and for imap another password and key
	 * (imappw is filled below). */
	append_account(&db, JOE, JOE_PW, NULL);
	db.len--; /* drop the newline: add the fields */
	str_printfa(&db, "|%s", extra);
	{
		const char *error;
		assert_int_equal(passwd_hash(JOE_IMAP_PW,
					 PASSWD_SCHEME_SSHA256, &db, &error),
			0);
	}
	str_append(&db, "\n");
	free(extra);
	/* nocram: a hash only (no clear password, no key) */
	append_account(&db, NOCRAM, NOCRAM_PW, NULL);
	/* dis: no imap */
	extra = xasprintf("options=disableimap=1|hmac-md5pw=%s", str_c(&hmac));
	append_account(&db, DIS, DIS_PW, extra);
	free(extra);
	write_file(etc, "userdb", 0600, str_c(&db));
	str_free(&db);
	str_free(&hmac);
	str_free(&hmac_imap);

	setenv("COURIER_INSTANCE", tmpdir, 1);
	auth_client_reset();

	char *log = xasprintf("%s/authdaemond.log", tmpdir);
	daemon_pid = fork();
	assert_true(daemon_pid >= 0);
	if (daemon_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(prog, prog, "-f", (char *)NULL);
		_exit(127);
	}
	free(log);

	/* Ready when it answers a lookup. */
	char *sock = xasprintf("%s/run/authdaemon/socket", var);
	bool ready = false;
	for (int i = 0; i < 200 && !ready; i++) {
		struct auth_record rec;
		const char *error;
		struct timespec ts = {0, 50 * 1000 * 1000};
		auth_record_init(&rec);
		if (access(sock, F_OK) == 0 &&
			auth_lookup("imap", JOE, &rec, &error) == 1)
			ready = true;
		auth_record_free(&rec);
		if (!ready) {
			if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
				daemon_pid = -1;
				break;
			}
			nanosleep(&ts, NULL);
		}
	}
	free(sock);
	free(etc);
	free(var);
	if (!ready) {
		print_error("authdaemond did not answer\n");
		dump_log();
		return -1;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
	struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	if (tmpdir[strlen(tmpdir) - 1] != 'X')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Runs a whole exchange for mech between a sasl_client (user, password,
 * authzid) and a sasl_server, then asks authdaemond through auth_sasl().
 * Returns auth_sasl's result; *rec_r is freed here unless wanted. */
static int sasl_login(const char *service, const char *mech,
	const char *authzid, const char *user, const char *password,
	struct auth_record *rec_r)
{
	struct sasl_server_settings set = {.hostname = "mail.example.test"};
	struct sasl_server *server = sasl_server_create(mech, &set);
	const char *error;
	struct sasl_client *client =
		sasl_client_create(mech, authzid, user, password, &error);
	struct str out, chal;
	enum sasl_server_status st;
	int ret;

	assert_non_null(server);
	assert_non_null(client);
	str_init(&out, 256);
	str_init(&chal, 256);
	if (sasl_client_initial_response(client, &out) == 1)
		st = sasl_server_start(server, str_c(&out), out.len, &error);
	else
		st = sasl_server_start(server, NULL, 0, &error);
	for (int round = 0; st == SASL_SERVER_CHALLENGE; round++) {
		assert_true(round < 4);
		str_clear(&chal);
		str_clear(&out);
		sasl_server_challenge_base64(server, &chal);
		assert_int_equal(sasl_client_step(client, str_c(&chal),
					 chal.len, &out, &error),
			0);
		st = sasl_server_step(server, str_c(&out), out.len, &error);
	}
	assert_int_equal(st, SASL_SERVER_DONE);
	ret = auth_sasl(service, server, "192.0.2.7", rec_r, &error);
	if (ret != 1)
		auth_record_free(rec_r);
	str_free(&out);
	str_free(&chal);
	sasl_client_destroy(&client);
	sasl_server_destroy(&server);
	return ret;
}

static void expect_sasl(int want, const char *service, const char *mech,
	const char *user, const char *password)
{
	struct auth_record rec;
	print_message("%s %s %s\n", service, mech, user);
	int r = sasl_login(service, mech, NULL, user, password, &rec);
	if (r != want)
		dump_log();
	assert_int_equal(r, want);
	if (r == 1) {
		assert_non_null(rec.address);
		assert_string_equal(rec.address, user);
		auth_record_free(&rec);
	}
}

static void test_plain(void **state)
{
	(void)state;
	expect_sasl(1, "pop3", "PLAIN", JOE, JOE_PW);
	expect_sasl(0, "pop3", "PLAIN", JOE, "joe's pass wordX");
	expect_sasl(0, "pop3", "PLAIN", JOE, JOE_IMAP_PW);
	/* imappw wins for imap */
	expect_sasl(1, "imap", "PLAIN", JOE, JOE_IMAP_PW);
	expect_sasl(0, "imap", "PLAIN", JOE, JOE_PW);
	expect_sasl(1, "esmtp", "PLAIN", CLEAR, CLEAR_PW);
	expect_sasl(0, "esmtp", "PLAIN", CLEAR, "clear-pw 43");
	expect_sasl(0, "pop3", "PLAIN", "nobody@example.test", JOE_PW);
	expect_sasl(0, "imap", "PLAIN", DIS, DIS_PW);
	expect_sasl(1, "pop3", "PLAIN", DIS, DIS_PW);
}

static void test_plain_authzid(void **state)
{
	struct auth_record rec;
	(void)state;
	/* authzid = authcid is the same login */
	assert_int_equal(sasl_login("pop3", "PLAIN", JOE, JOE, JOE_PW, &rec), 1);
	auth_record_free(&rec);
	/* no proxy authorization, even with the right password */
	assert_int_equal(
		sasl_login("pop3", "PLAIN", NOCRAM, JOE, JOE_PW, &rec), 0);
}

static void test_login(void **state)
{
	(void)state;
	expect_sasl(1, "pop3", "LOGIN", JOE, JOE_PW);
	expect_sasl(0, "pop3", "LOGIN", JOE, "wrong");
	expect_sasl(1, "imap", "LOGIN", CLEAR, CLEAR_PW);
	expect_sasl(0, "imap", "LOGIN", CLEAR, CLEAR_PW "x");
	expect_sasl(0, "imap", "LOGIN", "nobody@example.test", "x");
	expect_sasl(1, "pop3", "LOGIN", NOCRAM, NOCRAM_PW);
}

static void test_cram_md5(void **state)
{
	(void)state;
	/* userdb's hmac-md5pw */
	expect_sasl(1, "pop3", "CRAM-MD5", JOE, JOE_PW);
	expect_sasl(0, "pop3", "CRAM-MD5", JOE, "wrong");
	/* imap-hmac-md5pw wins for imap */
	expect_sasl(1, "imap", "CRAM-MD5", JOE, JOE_IMAP_PW);
	expect_sasl(0, "imap", "CRAM-MD5", JOE, JOE_PW);
	/* a clear password (authpipe's PASSWD2) */
	expect_sasl(1, "imap", "CRAM-MD5", CLEAR, CLEAR_PW);
	expect_sasl(0, "imap", "CRAM-MD5", CLEAR, "clear-pw 4");
	/* only a hash: CRAM cannot be checked, so it is refused */
	expect_sasl(0, "pop3", "CRAM-MD5", NOCRAM, NOCRAM_PW);
	expect_sasl(0, "pop3", "CRAM-MD5", "nobody@example.test", "x");
	expect_sasl(0, "imap", "CRAM-MD5", DIS, DIS_PW);
	expect_sasl(1, "pop3", "CRAM-MD5", DIS, JOE_PW);
}

/* auth_cram() with a digest computed here, and malformed digests. */
static void test_cram_direct(void **state)
{
	static const char chal[] = "<12345.67890@mail.example.test>";
	unsigned char digest[16];
	struct str hex;
	struct auth_record rec;
	const char *error;
	(void)state;

	hmac_digest(HASH_MD5, CLEAR_PW, strlen(CLEAR_PW), chal,
		strlen(chal), digest);
	str_init(&hex, 64);
	hash_hex_append(&hex, digest, sizeof(digest));
	assert_int_equal(auth_cram("imap", "cram-md5", chal, strlen(chal),
				 CLEAR, str_c(&hex), NULL, &rec, &error),
		1);
	assert_string_equal(rec.address, CLEAR);
	auth_record_free(&rec);
	/* another challenge, the same digest */
	assert_int_equal(auth_cram("imap", "cram-md5", "<1.2@x>", 7, CLEAR,
				 str_c(&hex), NULL, &rec, &error),
		0);
	auth_record_free(&rec);
	/* truncated, non-hex and empty digests */
	hex.data[hex.len - 1] = '\0';
	assert_int_equal(auth_cram("imap", "cram-md5", chal, strlen(chal),
				 CLEAR, str_c(&hex), NULL, &rec, &error),
		0);
	auth_record_free(&rec);
	assert_int_equal(auth_cram("imap", "cram-md5", chal, strlen(chal),
				 CLEAR, "zz", NULL, &rec, &error),
		0);
	auth_record_free(&rec);
	assert_int_equal(auth_cram("imap", "cram-md5", chal, strlen(chal),
				 CLEAR, "", NULL, &rec, &error),
		0);
	auth_record_free(&rec);
	/* CRAM-SHA256 against the clear password */
	unsigned char d256[32];
	hmac_digest(HASH_SHA256, CLEAR_PW, strlen(CLEAR_PW), chal,
		strlen(chal), d256);
	str_clear(&hex);
	hash_hex_append(&hex, d256, sizeof(d256));
	assert_int_equal(auth_cram("imap", "cram-sha256", chal, strlen(chal),
				 CLEAR, str_c(&hex), NULL, &rec, &error),
		1);
	auth_record_free(&rec);
	str_free(&hex);
}

/* auth_sasl() on an exchange that did not finish is a rejection. */
static void test_sasl_unfinished(void **state)
{
	struct sasl_server *server = sasl_server_create("LOGIN", NULL);
	struct auth_record rec;
	const char *error;
	(void)state;
	assert_int_equal(sasl_server_start(server, NULL, 0, &error),
		SASL_SERVER_CHALLENGE);
	assert_int_equal(auth_sasl("imap", server, NULL, &rec, &error), 0);
	auth_record_free(&rec);
	sasl_server_destroy(&server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_authzid),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_cram_md5),
		cmocka_unit_test(test_cram_direct),
		cmocka_unit_test(test_sasl_unfinished),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
