/* test-esmtp-session.c: unit tests for the ESMTP session over a
 * socketpair with a throw-away queue: EHLO, a message into the queue with
 * its DSN parameters and dot-unstuffing, pipelining order, BDAT, SIZE,
 * the relay tricks and unknown users at RCPT, syntax errors, the error
 * limit, long lines, and one conversation fed a byte at a time. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authclient.h"
#include "ctlfile.h"
#include "esmtp-relay.h"
#include "esmtp-session.h"
#include "esmtp-settings.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "str.h"

static struct ioloop *loop;
static struct esmtp_settings set;
static struct esmtp_server server;
static bool gone;
static char base[64];

static int lookup(const char *address, void *context)
{
	(void)context;
	if (strcmp(address, "demo@example.test") == 0)
		return 1;
	if (strcmp(address, "temp@example.test") == 0)
		return -1;
	return 0;
}

static void destroyed(void *context)
{
	(void)context;
	gone = true;
}

/* Runs a session on input (written piece bytes at a time, 0 = all at
 * once) until it ends; returns everything it sent (caller frees). */
static char *converse(const char *input, size_t piece)
{
	struct esmtp_session *s;
	struct str out;
	int fds[2];
	size_t pos = 0, size = strlen(input);
	char buf[4096];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	gone = false;
	s = esmtp_session_create(loop, fds[0], &server, "192.0.2.1",
				 "192.0.2.2", destroyed, NULL);
	str_init(&out, 4096);
	for (int rounds = 0; !gone && rounds < 200000; rounds++) {
		if (pos < size) {
			size_t n = piece == 0 || piece > size - pos ?
				size - pos : piece;
			ssize_t w = write(fds[1], input + pos, n);

			if (w > 0)
				pos += (size_t)w;
		}
		ioloop_run_once(loop, pos < size ? 0 : 20);
		for (;;) {
			ssize_t n = read(fds[1], buf, sizeof(buf));

			if (n <= 0)
				break;
			str_append_n(&out, buf, (size_t)n);
		}
	}
	assert_true(gone);
	(void)s;
	close(fds[1]);
	return str_steal(&out);
}

/* The reply codes, one per reply (continuation lines skipped). */
static char *codes(const char *out)
{
	struct str c;

	str_init(&c, 64);
	for (const char *p = out; *p != '\0';) {
		const char *nl = strchr(p, '\n');

		assert_non_null(nl);
		assert_true(nl > p && nl[-1] == '\r');
		if (p[3] == ' ') {
			if (c.len > 0)
				str_append_c(&c, ' ');
			str_append_n(&c, p, 3);
		}
		p = nl + 1;
	}
	return str_steal(&c);
}

static int count_queued(const char *qid, void *context)
{
	(void)qid;
	(*(int *)context)++;
	return 0;
}

static int drop(const char *qid, void *context)
{
	(void)context;
	queue_remove(qid, &(const char *){ NULL });
	return 0;
}

static int queued(void)
{
	int n = 0;

	queue_scan(count_queued, &n, &(const char *){ NULL });
	return n;
}

static int setup(void **state)
{
	char path[128];
	FILE *f;

	(void)state;
	str_copy(base, "/tmp/test-esmtp-XXXXXX", sizeof(base));
	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/etc", base);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/etc/me", base);
	f = fopen(path, "w");
	fputs("mail.example.test\n", f);
	fclose(f);
	setenv("COURIER_INSTANCE", base, 1);
	snprintf(path, sizeof(path), "%s/queue", base);
	queue_set_dir(path);
	assert_int_equal(queue_init_dirs(&(const char *){ NULL }), 0);
	auth_client_set_socket("/nonexistent/authdaemon/socket");
	log_set_min_level(LOG_LEVEL_FATAL);
	loop = ioloop_create();
	esmtp_settings_defaults(&set);
	free(set.auth_mechs);
	set.auth_mechs = xstrdup("PLAIN LOGIN");
	set.max_rcpts = 3;
	set.max_bad_commands = 20;
	server.set = &set;
	server.domains = esmtp_domains_new("localhost", "example.test",
					   "backup.test", "mail.example.test");
	server.access = esmtp_access_new();
	server.me = "mail.example.test";
	server.size_limit = 2000;
	server.rcpt_lookup = lookup;
	server.auth_service = "esmtp";
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf %s", base);

	(void)state;
	queue_scan(drop, NULL, &(const char *){ NULL });
	ioloop_destroy(&loop);
	esmtp_settings_free(&set);
	esmtp_domains_free((struct esmtp_domains **)&server.domains);
	esmtp_access_free((struct esmtp_access **)&server.access);
	if (system(cmd) != 0)
		fail();
	free(cmd);
	return 0;
}

static void test_ehlo(void **state)
{
	char *out = converse("EHLO client.test\r\nQUIT\r\n", 0);

	(void)state;
	assert_non_null(strstr(out, "220 mail.example.test ESMTP\r\n"));
	assert_non_null(strstr(out, "250-mail.example.test Ok.\r\n"));
	static const char *const ext[] = {
		"AUTH PLAIN LOGIN", "PIPELINING", "8BITMIME", "SMTPUTF8",
		"SIZE 2000", "DSN", "ENHANCEDSTATUSCODES", "CHUNKING"
	};
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		assert_non_null(strstr(out, ext[i]));
	/* no TLS context: no STARTTLS */
	assert_null(strstr(out, "STARTTLS"));
	assert_non_null(strstr(out, "221 2.0.0"));
	free(out);
}

static void test_message_and_dsn(void **state)
{
	struct ctl_file *ctl = NULL;
	char qid[QUEUE_ID_LEN + 1];
	char *out, *c, *path;
	const char *p;
	FILE *f;
	char data[4096];
	size_t n;

	(void)state;
	out = converse("EHLO client.test\r\n"
		       "MAIL FROM:<sender@remote.test> RET=HDRS ENVID=env+2B1\r\n"
		       "RCPT TO:<demo@example.test> NOTIFY=SUCCESS,DELAY "
		       "ORCPT=rfc822;demo+40example.test\r\n"
		       "DATA\r\n"
		       "Subject: hi\r\n\r\n..dotted\r\nplain\r\n.\r\n"
		       "QUIT\r\n", 0);
	c = codes(out);
	assert_string_equal(c, "220 250 250 250 354 250 221");
	p = strstr(out, "queued as ");
	assert_non_null(p);
	str_copy(qid, p + 10, sizeof(qid));
	assert_true(queue_id_valid(qid, NULL));
	assert_int_equal(queue_ctl_read(qid, &ctl, &(const char *){ NULL }),
			 1);
	assert_string_equal(ctl->sender, "sender@remote.test");
	assert_int_equal(ctl->ret, 'H');
	assert_string_equal(ctl->envid, "env+2B1");
	assert_int_equal(ctl->rcpt_count, 1);
	assert_string_equal(ctl->rcpts[0].address, "demo@example.test");
	assert_int_equal(ctl->rcpts[0].notify,
			 CTL_NOTIFY_SUCCESS | CTL_NOTIFY_DELAY);
	assert_string_equal(ctl->rcpts[0].orcpt, "rfc822;demo+40example.test");
	ctl_file_free(&ctl);
	path = queue_path(qid, 'D');
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(data, 1, sizeof(data) - 1, f);
	data[n] = '\0';
	fclose(f);
	assert_non_null(strstr(data, "Received: from client.test ([192.0.2.1])"));
	assert_non_null(strstr(data, "with ESMTP"));
	assert_non_null(strstr(data, "\n.dotted\nplain\n"));
	assert_null(strstr(data, ".."));
	free(path);
	free(c);
	free(out);
	queue_scan(drop, NULL, &(const char *){ NULL });
}

static void test_pipelining_and_rcpt(void **state)
{
	char *out, *c;

	(void)state;
	out = converse("EHLO client.test\r\n"
		       "MAIL FROM:<>\r\n"
		       "RCPT TO:<nobody@example.test>\r\n"
		       "RCPT TO:<temp@example.test>\r\n"
		       "RCPT TO:<user%other.test@example.test>\r\n"
		       "RCPT TO:<@example.test:user@other.test>\r\n"
		       "RCPT TO:<\"user@other.test\"@example.test>\r\n"
		       "RCPT TO:<user@other.test.>\r\n"
		       "RCPT TO:<Postmaster>\r\n"
		       "RCPT TO:<demo@example.test>\r\n"
		       "RSET\r\nNOOP\r\nQUIT\r\n", 0);
	c = codes(out);
	assert_string_equal(c, "220 250 250 550 451 550 550 550 501 250 250 "
			       "250 250 221");
	assert_non_null(strstr(out, "550 5.1.1 <nobody@example.test>"));
	assert_non_null(strstr(out, "550 5.7.1"));
	assert_int_equal(queued(), 0);
	free(c);
	free(out);
}

static void test_bdat_and_size(void **state)
{
	char *out, *c;

	(void)state;
	out = converse("EHLO client.test\r\n"
		       "MAIL FROM:<a@remote.test>\r\n"
		       "RCPT TO:<demo@example.test>\r\n"
		       "BDAT 14\r\nSubject: x\r\n\r\n"
		       "BDAT 6 LAST\r\nbody\r\n"
		       "MAIL FROM:<a@remote.test> SIZE=3000\r\n"
		       "MAIL FROM:<a@remote.test> SIZE=100\r\n"
		       "RCPT TO:<demo@example.test>\r\n"
		       "BDAT 0 LAST\r\n"
		       "BDAT 5\r\nabcde"
		       "QUIT\r\n", 0);
	c = codes(out);
	assert_string_equal(c, "220 250 250 250 250 250 552 250 250 250 503 "
			       "221");
	assert_non_null(strstr(out, "250 2.0.0 14 octets received"));
	assert_int_equal(queued(), 2);
	queue_scan(drop, NULL, &(const char *){ NULL });
	free(c);
	free(out);

	/* a message over the size limit is read and refused */
	struct str in;
	str_init(&in, 4096);
	str_append(&in, "EHLO c\r\nMAIL FROM:<a@remote.test>\r\n"
			"RCPT TO:<demo@example.test>\r\nDATA\r\n");
	for (int i = 0; i < 100; i++)
		str_append(&in, "0123456789012345678901234567890123456789\r\n");
	str_append(&in, ".\r\nQUIT\r\n");
	out = converse(str_c(&in), 0);
	c = codes(out);
	assert_string_equal(c, "220 250 250 250 354 552 221");
	assert_int_equal(queued(), 0);
	str_free(&in);
	free(c);
	free(out);
}

static void test_errors(void **state)
{
	char *out, *c;

	(void)state;
	out = converse("MAIL FROM:<a@b.test>\r\nEHLO\r\nHELO x\r\n"
		       "MAIL FROM:<a@b.test> SIZE=1\r\nRCPT TO:<x@y>\r\n"
		       "VRFY demo\r\nEXPN list\r\n"
		       "QUIT\r\n", 0);
	c = codes(out);
	assert_string_equal(c, "220 503 501 250 555 503 252 502 221");
	free(c);
	free(out);
	/* too many errors: 421 and the end */
	set.max_bad_commands = 5;
	out = converse("X\r\nX\r\nX\r\nX\r\nX\r\nNOOP\r\nNOOP\r\n", 0);
	c = codes(out);
	assert_string_equal(c, "220 500 500 500 500 500 421");
	set.max_bad_commands = 20;
	free(c);
	free(out);
	/* a long command line: 500, and the session goes on */
	struct str in;
	str_init(&in, 8192);
	str_append(&in, "NOOP ");
	for (int i = 0; i < 3000; i++)
		str_append_c(&in, 'x');
	str_append(&in, "\r\nNOOP\r\nQUIT\r\n");
	out = converse(str_c(&in), 0);
	c = codes(out);
	assert_string_equal(c, "220 500 250 221");
	str_free(&in);
	free(c);
	free(out);
	/* AUTH: no authdaemond is a temporary failure; unknown mechanisms */
	out = converse("EHLO c\r\nAUTH CRAM-MD5\r\nAUTH FOO\r\n"
		       "AUTH PLAIN AGRlbW8Ac2VjcmV0\r\nAUTH LOGIN\r\n*\r\n"
		       "QUIT\r\n", 0);
	c = codes(out);
	assert_string_equal(c, "220 250 504 504 454 334 501 221");
	free(c);
	free(out);
}

static void test_split_every_byte(void **state)
{
	static const char conv[] =
		"EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\n"
		"RCPT TO:<demo@example.test>\r\nDATA\r\nSubject: s\r\n\r\n"
		"..x\r\n.\r\nBDAT 4 LAST\r\nab\r\nQUIT\r\n";
	char *whole = converse(conv, 0), *c1 = codes(whole);

	(void)state;
	for (size_t piece = 1; piece < 8; piece++) {
		char *out = converse(conv, piece), *c2 = codes(out);

		assert_string_equal(c1, c2);
		free(c2);
		free(out);
	}
	assert_string_equal(c1, "220 250 250 250 354 250 503 221");
	free(c1);
	free(whole);
	queue_scan(drop, NULL, &(const char *){ NULL });
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_message_and_dsn),
		cmocka_unit_test(test_pipelining_and_rcpt),
		cmocka_unit_test(test_bdat_and_size),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_split_every_byte),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
