/* test-pop3-session.c: unit tests for the POP3 session state machine
 * (pop3-client) and the INBOX snapshot (pop3-mailbox): a login session on
 * a socketpair whose login callback starts the mail session in the same
 * process, so that every command, the hand-off, the relay, pipelining,
 * the limits, [IN-USE] and interrupted sessions are exercised without
 * daemons. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "pop3-client.h"
#include "pop3-settings.h"
#include "str.h"

struct fixture {
	struct ioloop *loop;
	struct pop3_settings set;
	char maildir[256];
	int fd;			/* the test's end */
	struct pop3_client *login;
	bool login_gone;
	bool small_sndbuf;	/* start(): the server end's SO_SNDBUF tiny */
	struct str *in;
};

static struct fixture *cur;

static void write_file(const char *dir, const char *sub, const char *name,
		       const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int count_files(const char *dir)
{
	int n = 0;
	const char *subs[] = { "new", "cur" };

	for (size_t i = 0; i < 2; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		DIR *d = opendir(path);
		struct dirent *de;
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
	}
	return n;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char sub[300];

	log_set_min_level(LOG_LEVEL_ERROR);
	snprintf(f->maildir, sizeof(f->maildir), "/tmp/test-pop3-XXXXXX");
	assert_non_null(mkdtemp(f->maildir));
	const char *subs[] = { "new", "cur", "tmp" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", f->maildir, subs[i]);
		assert_int_equal(mkdir(sub, 0700), 0);
	}
	write_file(f->maildir, "new", "1700000000.M1P1.host",
		   "Subject: one\n\nhello\n.dot\n");
	write_file(f->maildir, "cur", "1700000001.M1P1.host:2,S",
		   "Subject: two\r\nX: y\r\n\r\nb1\r\nb2\r\n");
	pop3_settings_defaults(&f->set);
	f->set.apop = true; /* the greeting carries a timestamp */
	free(f->set.auth_mechs);
	f->set.auth_mechs = xstrdup("PLAIN LOGIN CRAM-MD5");
	f->loop = ioloop_create();
	f->in = str_new(1024);
	f->fd = -1;
	cur = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[400];

	if (f->fd >= 0)
		close(f->fd);
	/* Let the sessions see EOF and end. */
	for (int i = 0; i < 20 && !f->login_gone && f->login != NULL; i++)
		ioloop_run_once(f->loop, 10);
	if (!f->login_gone && f->login != NULL)
		pop3_client_destroy(&f->login);
	for (int i = 0; i < 5; i++)
		ioloop_run_once(f->loop, 10);
	ioloop_destroy(&f->loop);
	pop3_settings_free(&f->set);
	str_destroy(&f->in);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->maildir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The fake owner: demo/secret logs in (CRAM and APOP are refused). */
static void mail_end(void *context)
{
	(void)context;
}

static int fake_login(struct pop3_client *client,
		      const struct pop3_login_request *req, void *context)
{
	struct fixture *f = context;

	if (req->kind == POP3_LOGIN_PASSWORD &&
	    strcmp(req->user, "demo") == 0 &&
	    strcmp(req->secret, "secret") == 0) {
		pop3_client_create_mail_handoff(f->loop, req->session_fd, &f->set,
					f->maildir, req->user, req->remote_ip,
					req->utf8, mail_end, NULL);
		pop3_client_login_done(client, POP3_LOGIN_OK, NULL);
	} else if (strcmp(req->user, "temp") == 0) {
		close(req->session_fd);
		pop3_client_login_done(client, POP3_LOGIN_TEMPFAIL, NULL);
	} else {
		close(req->session_fd);
		pop3_client_login_done(client, POP3_LOGIN_FAILED, NULL);
	}
	return 0;
}

static void fake_destroyed(struct pop3_client *client, void *context)
{
	struct fixture *f = context;

	(void)client;
	f->login_gone = true;
}

/* Starts a login session; returns the test's socket. */
static int start(struct fixture *f)
{
	int sv[2];
	struct pop3_login_callbacks cb = {
		.login = fake_login,
		.destroyed = fake_destroyed,
		.context = f,
	};

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	if (f->small_sndbuf) {
		int small = 4096;

		assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF,
					    &small, sizeof(small)), 0);
	}
	f->login_gone = false;
	f->login = pop3_client_create_login(f->loop, sv[1], &f->set, NULL,
					    false, "192.0.2.1", "192.0.2.2",
					    &cb);
	str_clear(f->in);
	return sv[0];
}

/* Runs the loop and reads until the input holds until (or the peer
 * closes when until is NULL).  Returns what came, from the start of
 * the input, and consumes it. */
static char *wait_for(struct fixture *f, int fd, const char *until)
{
	char buf[8192];
	uint64_t deadline = (uint64_t)time(NULL) + 10;

	for (;;) {
		if (until != NULL && strstr(str_c(f->in), until) != NULL)
			break;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			str_append_n(f->in, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			if (until == NULL)
				break;
			fail_msg("EOF while waiting for '%s'; got '%s'", until,
				 str_c(f->in));
		}
		assert_true((uint64_t)time(NULL) < deadline);
		ioloop_run_once(f->loop, 20);
	}
	char *r;
	if (until == NULL) {
		r = xstrdup(str_c(f->in));
		str_clear(f->in);
	} else {
		const char *end = strstr(str_c(f->in), until) + strlen(until);
		size_t len = (size_t)(end - str_c(f->in));
		r = xstrndup(str_c(f->in), len);
		str_delete_head(f->in, len);
	}
	return r;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void expect(struct fixture *f, int fd, const char *cmd,
		   const char *reply)
{
	if (cmd != NULL)
		send_str(fd, cmd);
	char *r = wait_for(f, fd, "\r\n");
	if (strncmp(r, reply, strlen(reply)) != 0)
		fail_msg("'%s': expected '%s', got '%s'", cmd ? cmd : "",
			 reply, r);
	free(r);
}

static char *multi(struct fixture *f, int fd, const char *cmd)
{
	send_str(fd, cmd);
	return wait_for(f, fd, "\r\n.\r\n");
}

static void login(struct fixture *f, int fd)
{
	expect(f, fd, NULL, "+OK Hello there. <");
	expect(f, fd, "USER demo\r\n", "+OK");
	expect(f, fd, "PASS secret\r\n", "+OK logged in.");
}

/* USER/PASS after the greeting was read. */
static void login_again(struct fixture *f, int fd)
{
	expect(f, fd, "USER demo\r\n", "+OK");
	expect(f, fd, "PASS secret\r\n", "+OK logged in.");
}

/* RFC 6856: LANG in both states, UTF8 USER, and a message with UTF-8
 * headers refused ([UTF8]) to a client that did not send UTF8, sent
 * unchanged to one that did; raw 8-bit that is not UTF-8 still goes. */
static void test_utf8_and_lang(void **state)
{
	struct fixture *f = *state;
	char *r;

	write_file(f->maildir, "cur", "1700000002.M1P1.host:2,",
		   "Subject: caf\xc3\xa9\nFrom: j\xc3\xb6@ex\xc3\xa4mple.test\n"
		   "\nbody \xc3\xa9\n");
	write_file(f->maildir, "cur", "1700000003.M1P1.host:2,",
		   "Subject: caf\xe9\n\n\xc3\xa9\n");
	int fd = start(f);
	f->fd = fd;
	expect(f, fd, NULL, "+OK Hello there. <");
	r = multi(f, fd, "CAPA\r\n");
	assert_non_null(strstr(r, "\r\nUTF8 USER\r\n"));
	assert_non_null(strstr(r, "\r\nLANG\r\n"));
	free(r);
	r = multi(f, fd, "LANG\r\n");
	assert_string_equal(r, "+OK Language listing follows:\r\n"
			       "en English\r\ni-default Default language\r\n"
			       ".\r\n");
	free(r);
	expect(f, fd, "LANG en\r\n", "+OK en ");
	expect(f, fd, "LANG EN-gb\r\n", "+OK en ");
	expect(f, fd, "LANG i-default\r\n", "+OK i-default ");
	expect(f, fd, "LANG *\r\n", "+OK en ");
	expect(f, fd, "LANG uga\r\n", "-ERR en ");
	expect(f, fd, "LANG e\xc3\xa9\r\n", "-ERR en ");
	expect(f, fd, "LANG en--x\r\n", "-ERR en ");
	expect(f, fd, "USER d\xe9mo\r\n", "-ERR User name is not valid");
	expect(f, fd, "USER d\xc3\xa9mo\r\n", "+OK");
	expect(f, fd, "USER demo\r\n", "+OK");
	expect(f, fd, "PASS secret\r\n", "+OK logged in.");
	expect(f, fd, "STAT\r\n", "+OK 4 ");
	expect(f, fd, "LANG en\r\n", "+OK en ");
	/* Not in UTF-8 mode: refused, still listed and deletable. */
	expect(f, fd, "RETR 3\r\n", "-ERR [UTF8] ");
	expect(f, fd, "TOP 3 0\r\n", "-ERR [UTF8] ");
	r = multi(f, fd, "RETR 4\r\n");
	assert_non_null(strstr(r, "Subject: caf\xe9\r\n"));
	free(r);
	expect(f, fd, "LIST 3\r\n", "+OK 3 ");
	expect(f, fd, "DELE 3\r\n", "+OK");
	expect(f, fd, "QUIT\r\n", "+OK");
	free(wait_for(f, fd, NULL));
	close(fd);
	f->fd = -1;
	assert_int_equal(count_files(f->maildir), 3);

	write_file(f->maildir, "cur", "1700000004.M1P1.host:2,",
		   "Subject: \xe2\x82\xac\n\n\n");
	fd = start(f);
	f->fd = fd;
	expect(f, fd, NULL, "+OK Hello there. <");
	expect(f, fd, "UTF8\r\n", "+OK");
	login_again(f, fd);
	r = multi(f, fd, "RETR 4\r\n");
	assert_non_null(strstr(r, "Subject: \xe2\x82\xac\r\n"));
	free(r);
	expect(f, fd, "QUIT\r\n", "+OK");
	free(wait_for(f, fd, NULL));
}

static void test_capa_authorization(void **state)
{
	struct fixture *f = *state;
	int fd = start(f);

	f->fd = fd;
	expect(f, fd, NULL, "+OK Hello there. <");
	char *r = multi(f, fd, "CAPA\r\n");
	assert_non_null(strstr(r, "\r\nUSER\r\n"));
	assert_non_null(strstr(r, "\r\nSASL PLAIN LOGIN CRAM-MD5\r\n"));
	assert_non_null(strstr(r, "\r\nRESP-CODES\r\n"));
	assert_non_null(strstr(r, "\r\nAUTH-RESP-CODE\r\n"));
	assert_non_null(strstr(r, "\r\nPIPELINING\r\n"));
	assert_non_null(strstr(r, "\r\nUIDL\r\n"));
	assert_non_null(strstr(r, "\r\nTOP\r\n"));
	assert_null(strstr(r, "STLS")); /* no TLS context here */
	assert_null(strstr(r, "LOGIN-DELAY"));
	free(r);
	expect(f, fd, "STAT\r\n", "-ERR");
	expect(f, fd, "STLS\r\n", "-ERR");
	expect(f, fd, "PASS x\r\n", "-ERR");
	expect(f, fd, "UTF8\r\n", "+OK");
	expect(f, fd, "QUIT\r\n", "+OK");
	free(wait_for(f, fd, NULL));
	assert_true(f->login_gone);
}

static void test_tls_required(void **state)
{
	struct fixture *f = *state;

	f->set.tls_required = true;
	int fd = start(f);
	f->fd = fd;
	expect(f, fd, NULL, "+OK");
	char *r = multi(f, fd, "CAPA\r\n");
	assert_null(strstr(r, "\r\nUSER\r\n"));
	assert_non_null(strstr(r, "\r\nSASL CRAM-MD5\r\n"));
	free(r);
	expect(f, fd, "USER demo\r\n", "-ERR [AUTH] TLS required");
	expect(f, fd, "PASS secret\r\n", "-ERR [AUTH] TLS required");
	expect(f, fd, "AUTH PLAIN AGRlbW8Ac2VjcmV0\r\n",
	       "-ERR [AUTH] TLS required");
}

static void test_login_and_commands(void **state)
{
	struct fixture *f = *state;
	int fd = start(f);
	char *r;

	f->fd = fd;
	login(f, fd);
	expect(f, fd, "STAT\r\n", "+OK 2 ");
	r = multi(f, fd, "LIST\r\n");
	assert_string_equal(r, "+OK\r\n1 29\r\n2 30\r\n.\r\n");
	free(r);
	expect(f, fd, "LIST 2\r\n", "+OK 2 30");
	expect(f, fd, "LIST 3\r\n", "-ERR");
	expect(f, fd, "LIST 0\r\n", "-ERR");
	r = multi(f, fd, "UIDL\r\n");
	assert_non_null(strstr(r, "\r\n1 UID1-"));
	assert_non_null(strstr(r, "\r\n2 UID2-"));
	free(r);
	r = multi(f, fd, "RETR 1\r\n");
	assert_string_equal(r, "+OK 29 octets follow.\r\nSubject: one\r\n\r\n"
			       "hello\r\n..dot\r\n.\r\n");
	free(r);
	r = multi(f, fd, "TOP 2 1\r\n");
	assert_string_equal(r, "+OK headers follow.\r\nSubject: two\r\nX: "
			       "y\r\n\r\nb1\r\n.\r\n");
	free(r);
	r = multi(f, fd, "CAPA\r\n");
	assert_null(strstr(r, "\r\nUSER\r\n"));
	free(r);
	expect(f, fd, "DELE 1\r\n", "+OK");
	expect(f, fd, "DELE 1\r\n", "-ERR");
	expect(f, fd, "RETR 1\r\n", "-ERR");
	expect(f, fd, "STAT\r\n", "+OK 1 30");
	expect(f, fd, "RSET\r\n", "+OK");
	expect(f, fd, "STAT\r\n", "+OK 2 59");
	expect(f, fd, "USER x\r\n", "-ERR");
	expect(f, fd, "NOOP\r\n", "+OK");
	expect(f, fd, "DELE 2\r\n", "+OK");
	expect(f, fd, "QUIT\r\n", "+OK");
	free(wait_for(f, fd, NULL));
	/* UPDATE happened: one message left. */
	assert_int_equal(count_files(f->maildir), 1);
}

static void test_pipelining(void **state)
{
	struct fixture *f = *state;
	int fd = start(f);

	f->fd = fd;
	send_str(fd, "CAPA\r\nUSER demo\r\nPASS secret\r\nSTAT\r\nLIST\r\n"
		     "RETR 2\r\nQUIT\r\n");
	char *r = wait_for(f, fd, NULL);
	const char *p = strstr(r, "+OK logged in.\r\n+OK 2 59\r\n+OK\r\n1 29"
				  "\r\n2 30\r\n.\r\n+OK 30 octets");
	assert_non_null(p);
	assert_non_null(strstr(p, "b2\r\n.\r\n+OK Bye-bye.\r\n"));
	free(r);
}

/* A plain connection is handed to the mail session: it goes on when the
 * login session is gone, and the login session, which keeps the
 * connection counted, ends only when the mail session does. */
static void test_handoff(void **state)
{
	struct fixture *f = *state;
	int fd = start(f);

	f->fd = fd;
	login(f, fd);
	for (int i = 0; i < 5; i++)
		ioloop_run_once(f->loop, 1);
	assert_false(f->login_gone);
	expect(f, fd, "STAT\r\n", "+OK 2 59");
	expect(f, fd, "QUIT\r\n", "+OK Bye-bye.");
	free(wait_for(f, fd, NULL));
	for (int i = 0; i < 50 && !f->login_gone; i++)
		ioloop_run_once(f->loop, 5);
	assert_true(f->login_gone);
	f->login = NULL;

	/* Now the login session ends first (pop3d's login process
	 * restarting): the client's session is not affected. */
	fd = start(f);
	close(f->fd);
	f->fd = fd;
	login(f, fd);
	for (int i = 0; i < 5; i++)
		ioloop_run_once(f->loop, 1);
	pop3_client_destroy(&f->login);
	assert_true(f->login_gone);
	expect(f, fd, "UIDL 2\r\n", "+OK 2 UID2-");
	expect(f, fd, "DELE 1\r\n", "+OK");
	expect(f, fd, "QUIT\r\n", "+OK Bye-bye.");
	free(wait_for(f, fd, NULL));
	assert_int_equal(count_files(f->maildir), 1);
}

/* When replies are still queued for the client at login (a client that
 * pipelined and does not read), the connection is not handed over: the
 * login session relays, in order. */
static void test_relay_when_output_queued(void **state)
{
	struct fixture *f = *state;
	struct str *cmds = str_new(4096);

	f->small_sndbuf = true;
	int fd = start(f);

	f->fd = fd;
	for (int i = 0; i < 60; i++)
		str_append(cmds, "CAPA\r\n");
	str_append(cmds, "USER demo\r\nPASS secret\r\nSTAT\r\nUIDL 1\r\n"
			 "QUIT\r\n");
	send_str(fd, str_c(cmds));
	str_destroy(&cmds);
	/* Let everything run while nobody reads. */
	for (int i = 0; i < 30; i++)
		ioloop_run_once(f->loop, 2);
	char *r = wait_for(f, fd, NULL);
	const char *p = strstr(r, "+OK logged in.\r\n+OK 2 59\r\n+OK 1 UID1-");
	assert_non_null(p);
	assert_non_null(strstr(p, "+OK Bye-bye.\r\n"));
	/* Every CAPA was answered before the login. */
	size_t n = 0;
	for (const char *q = r; (q = strstr(q, "IMPLEMENTATION")) != NULL &&
				q < p; q++)
		n++;
	assert_int_equal(n, 60);
	free(r);
}

static void test_sasl(void **state)
{
	struct fixture *f = *state;
	int fd = start(f);
	struct str *b = str_new(64);

	f->fd = fd;
	expect(f, fd, NULL, "+OK");
	/* Bad base64, cancel, unknown mechanism. */
	expect(f, fd, "AUTH PLAIN !!!\r\n", "-ERR [AUTH]");
	expect(f, fd, "AUTH LOGIN\r\n", "+ ");
	expect(f, fd, "*\r\n", "-ERR");
	expect(f, fd, "AUTH X-FOO\r\n", "-ERR");
	char *r = multi(f, fd, "AUTH\r\n");
	assert_non_null(strstr(r, "PLAIN\r\n"));
	free(r);
	/* LOGIN with challenges. */
	expect(f, fd, "AUTH LOGIN\r\n", "+ ");
	base64_encode(b, "demo", 4, 0);
	str_append(b, "\r\n");
	expect(f, fd, str_c(b), "+ ");
	str_clear(b);
	base64_encode(b, "secret", 6, 0);
	str_append(b, "\r\n");
	expect(f, fd, str_c(b), "+OK logged in.");
	expect(f, fd, "STAT\r\n", "+OK 2");
	str_destroy(&b);
}

static void test_sasl_plain_ir_and_failures(void **state)
{
	struct fixture *f = *state;
	int fd = start(f);

	f->fd = fd;
	f->set.max_auth_failures = 2;
	expect(f, fd, NULL, "+OK");
	/* "\0demo\0wrong" */
	expect(f, fd, "AUTH PLAIN AGRlbW8Ad3Jvbmc=\r\n", "-ERR [AUTH]");
	expect(f, fd, "USER temp\r\n", "+OK");
	expect(f, fd, "PASS x\r\n", "-ERR [SYS/TEMP]");
	expect(f, fd, "USER demo\r\n", "+OK");
	expect(f, fd, "PASS wrong\r\n", "-ERR [AUTH]");
	expect(f, fd, NULL, "-ERR Too many failed logins");
	free(wait_for(f, fd, NULL));
	/* A proper PLAIN with initial response on a new session. */
	close(fd);
	fd = start(f);
	f->fd = fd;
	expect(f, fd, NULL, "+OK");
	expect(f, fd, "AUTH PLAIN AGRlbW8Ac2VjcmV0\r\n", "+OK logged in.");
}

static void test_bad_commands_limit(void **state)
{
	struct fixture *f = *state;
	int fd = start(f);

	f->fd = fd;
	f->set.max_bad_commands = 3;
	expect(f, fd, NULL, "+OK");
	expect(f, fd, "FOO\r\n", "-ERR");
	expect(f, fd, "\r\n", "-ERR");
	/* An overlong line is a bad command too. */
	char *big = xmalloc(10000);
	memset(big, 'x', 9998);
	memcpy(big + 9998, "\r\n", 2);
	assert_int_equal(write(fd, big, 10000), 10000);
	free(big);
	char *r = wait_for(f, fd, NULL);
	assert_non_null(strstr(r, "Line too long"));
	assert_non_null(strstr(r, "Too many bad commands"));
	free(r);
}

static void test_in_use_and_interrupted(void **state)
{
	struct fixture *f = *state;
	int fd1 = start(f);
	struct pop3_client *first = f->login;

	login(f, fd1);
	expect(f, fd1, "DELE 1\r\n", "+OK");
	expect(f, fd1, "DELE 2\r\n", "+OK");
	/* A second session on the same mailbox: [IN-USE], and it stays in
	 * AUTHORIZATION. */
	int fd2 = start(f);
	f->fd = fd2;
	expect(f, fd2, NULL, "+OK");
	expect(f, fd2, "USER demo\r\n", "+OK");
	expect(f, fd2, "PASS secret\r\n", "-ERR [IN-USE]");
	expect(f, fd2, "CAPA\r\n", "+OK");
	free(wait_for(f, fd2, "\r\n.\r\n"));
	/* The first session is dropped without QUIT: nothing deleted. */
	close(fd1);
	for (int i = 0; i < 20; i++)
		ioloop_run_once(f->loop, 10);
	(void)first;
	assert_int_equal(count_files(f->maildir), 2);
	/* The lock is free again. */
	expect(f, fd2, "USER demo\r\n", "+OK");
	expect(f, fd2, "PASS secret\r\n", "+OK logged in.");
	expect(f, fd2, "STAT\r\n", "+OK 2 59");
}

static void test_shared_sessions(void **state)
{
	struct fixture *f = *state;

	f->set.mailbox_lock = false;
	int fd1 = start(f);
	login(f, fd1);
	int fd2 = start(f);
	f->fd = fd2;
	login(f, fd2);
	expect(f, fd1, "DELE 1\r\n", "+OK");
	expect(f, fd1, "QUIT\r\n", "+OK");
	close(fd1);
	/* The other snapshot still lists it; RETR says it is gone. */
	expect(f, fd2, "STAT\r\n", "+OK 2 59");
	expect(f, fd2, "RETR 1\r\n", "-ERR");
	expect(f, fd2, "DELE 1\r\n", "+OK");
	expect(f, fd2, "QUIT\r\n", "+OK");
	assert_int_equal(count_files(f->maildir), 1);
}

static void test_new_mail_during_session(void **state)
{
	struct fixture *f = *state;
	int fd = start(f);

	f->fd = fd;
	login(f, fd);
	write_file(f->maildir, "new", "1700000002.M1P1.host", "S: 3\n\nx\n");
	expect(f, fd, "STAT\r\n", "+OK 2 59");
	expect(f, fd, "DELE 1\r\n", "+OK");
	expect(f, fd, "DELE 2\r\n", "+OK");
	expect(f, fd, "QUIT\r\n", "+OK");
	free(wait_for(f, fd, NULL));
	assert_int_equal(count_files(f->maildir), 1);
	/* The next session sees it, with a UIDL after the others'. */
	fd = start(f);
	f->fd = fd;
	login(f, fd);
	expect(f, fd, "UIDL 1\r\n", "+OK 1 UID3-");
}

/* A mail session over an fd pair fed one byte at a time. */
static void test_split_input(void **state)
{
	struct fixture *f = *state;
	int in[2], out[2];
	const char *cmds = "STAT\r\nLIST 2\nUIDL 1\r\nNOOP\r\nQUIT\r\n";

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	pop3_client_create_mail(f->loop, in[0], out[1], &f->set, f->maildir,
				"demo", "local", false, mail_end, NULL);
	for (size_t i = 0; cmds[i] != '\0'; i++) {
		assert_int_equal(write(in[1], cmds + i, 1), 1);
		ioloop_run_once(f->loop, 1);
	}
	char *r = wait_for(f, out[0], "Bye-bye.\r\n");
	assert_non_null(strstr(r, "+OK logged in.\r\n+OK 2 59\r\n+OK 2 30\r\n"
				  "+OK 1 UID1-"));
	free(r);
	close(in[1]);
	close(out[0]);
	for (int i = 0; i < 5; i++)
		ioloop_run_once(f->loop, 5);
}

static bool file_session_ended;

static void file_session_end(void *context)
{
	(void)context;
	file_session_ended = true;
}

/* `pop3d DIR < commands > answers`: both ends regular files, which epoll
 * refuses (the loop treats them as always ready). */
static void test_session_over_files(void **state)
{
	struct fixture *f = *state;
	char in_path[300], out_path[300];
	const char *cmds = "STAT\r\nUIDL 2\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n";
	char buf[1024];

	snprintf(in_path, sizeof(in_path), "%s/cmds", f->maildir);
	snprintf(out_path, sizeof(out_path), "%s/answers", f->maildir);
	int in = open(in_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int out = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(in >= 0 && out >= 0);
	assert_int_equal(write(in, cmds, strlen(cmds)), (ssize_t)strlen(cmds));
	assert_int_equal(lseek(in, 0, SEEK_SET), 0);
	file_session_ended = false;
	pop3_client_create_mail(f->loop, in, out, &f->set, f->maildir, "demo",
				"local", false, file_session_end, NULL);
	for (int i = 0; i < 100 && !file_session_ended; i++)
		ioloop_run_once(f->loop, 10);
	assert_true(file_session_ended);
	/* The session closed both (it owns them). */
	out = open(out_path, O_RDONLY);
	assert_true(out >= 0);
	ssize_t n = read(out, buf, sizeof(buf) - 1);
	close(out);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(str_begins_with(buf, "+OK logged in.\r\n+OK 2 59\r\n"
					 "+OK 2 UID2-"));
	assert_non_null(strstr(buf, "\r\n+OK 29 octets follow.\r\n"
				    "Subject: one\r\n\r\nhello\r\n..dot\r\n"
				    ".\r\n+OK"));
	assert_non_null(strstr(buf, "+OK Bye-bye.\r\n"));
	assert_int_equal(count_files(f->maildir), 1);
}

static void test_missing_maildir(void **state)
{
	struct fixture *f = *state;
	int in[2], out[2];

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	pop3_client_create_mail(f->loop, in[0], out[1], &f->set,
				"/nonexistent/Maildir", "demo", "local",
				false, mail_end, NULL);
	char *r = wait_for(f, out[0], "\r\n");
	assert_string_equal(r, "-ERR [SYS/PERM] Unable to open the mailbox."
			       "\r\n");
	free(r);
	close(in[1]);
	close(out[0]);
	for (int i = 0; i < 5; i++)
		ioloop_run_once(f->loop, 5);
}

static void test_login_delay_and_expire(void **state)
{
	struct fixture *f = *state;

	f->set.login_delay = 3600;
	free(f->set.expire);
	f->set.expire = xstrdup("0");
	int fd = start(f);
	f->fd = fd;
	expect(f, fd, NULL, "+OK");
	char *r = multi(f, fd, "CAPA\r\n");
	assert_non_null(strstr(r, "\r\nLOGIN-DELAY 3600\r\n"));
	assert_non_null(strstr(r, "\r\nEXPIRE 0\r\n"));
	free(r);
	expect(f, fd, "USER demo\r\n", "+OK");
	expect(f, fd, "PASS secret\r\n", "+OK logged in.");
	free(multi(f, fd, "RETR 2\r\n"));
	expect(f, fd, "QUIT\r\n", "+OK");
	free(wait_for(f, fd, NULL));
	/* EXPIRE 0: the retrieved message went at QUIT. */
	assert_int_equal(count_files(f->maildir), 1);
	fd = start(f);
	f->fd = fd;
	expect(f, fd, NULL, "+OK");
	expect(f, fd, "USER demo\r\n", "+OK");
	expect(f, fd, "PASS secret\r\n", "-ERR [LOGIN-DELAY]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_utf8_and_lang, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_capa_authorization, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tls_required, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_login_and_commands, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pipelining, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_when_output_queued,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_plain_ir_and_failures,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_commands_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_in_use_and_interrupted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_sessions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_new_mail_during_session,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_session_over_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_maildir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_login_delay_and_expire,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
