/* test-esmtp-client.c: unit tests for the ESMTP client: reply parser,
 * EHLO keywords, esmtproutes, esmtpauthclient, MX shuffling, xtext, dot
 * stuffing, 8-bit to quoted-printable, the STARTTLS memory, and whole
 * transactions against a scripted server. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config-file.h"
#include "esmtp-client-reply.h"
#include "esmtp-client.h"
#include "esmtp-routes.h"
#include "mem.h"
#include "str.h"

/* ---- reply parser ---- */

static const char ehlo_text[] =
	"250-mx.example.test Hello\r\n"
	"250-PIPELINING\r\n"
	"250-SIZE 1000000\r\n"
	"250-8BITMIME\r\n"
	"250-AUTH LOGIN PLAIN\r\n"
	"250-AUTH=CRAM-MD5\r\n"
	"250-STARTTLS\r\n"
	"250-ENHANCEDSTATUSCODES\r\n"
	"250 DSN\n"
	"550 5.1.1 no such user\r\n";

static void test_reply_split_everywhere(void **state)
{
	(void)state;
	for (size_t piece = 1; piece <= sizeof(ehlo_text); piece++) {
		struct esmtp_reply_parser *p = esmtp_reply_parser_create(0, 0);
		struct esmtp_reply reply;
		struct esmtp_ehlo ehlo;
		size_t pos = 0, len = sizeof(ehlo_text) - 1;
		unsigned int got = 0;

		esmtp_reply_init(&reply);
		while (pos < len) {
			size_t n = len - pos < piece ? len - pos : piece, used;
			const char *error;
			int r = esmtp_reply_parser_feed(p, ehlo_text + pos, n,
							&used, &reply, &error);

			assert_true(r >= 0);
			pos += used;
			if (r == 0)
				continue;
			got++;
			if (got == 1) {
				assert_int_equal(reply.code, 250);
				assert_int_equal(reply.line_count, 9);
				assert_string_equal(esmtp_reply_line(&reply, 0),
						    "mx.example.test Hello");
				esmtp_ehlo_parse(&reply, &ehlo);
				assert_true(ehlo.pipelining);
				assert_true(ehlo.size);
				assert_int_equal(ehlo.size_max, 1000000);
				assert_true(ehlo.eightbitmime);
				assert_true(ehlo.starttls);
				assert_true(ehlo.dsn);
				assert_true(ehlo.enhancedstatuscodes);
				assert_false(ehlo.smtputf8);
				assert_string_equal(ehlo.auth,
						    "LOGIN PLAIN CRAM-MD5");
			} else {
				char *one = esmtp_reply_oneline(&reply);

				assert_int_equal(reply.code, 550);
				assert_string_equal(reply.enhanced, "5.1.1");
				assert_string_equal(one,
						    "550 5.1.1 no such user");
				free(one);
			}
		}
		assert_int_equal(got, 2);
		assert_false(esmtp_reply_parser_busy(p));
		esmtp_reply_free(&reply);
		esmtp_reply_parser_destroy(&p);
	}
}

static int feed_all(const char *text, size_t max_line, unsigned int max_lines,
		    struct esmtp_reply *reply, const char **error)
{
	struct esmtp_reply_parser *p =
		esmtp_reply_parser_create(max_line, max_lines);
	size_t used;
	int r = esmtp_reply_parser_feed(p, text, strlen(text), &used, reply,
					error);

	esmtp_reply_parser_destroy(&p);
	return r;
}

static void test_reply_malformed(void **state)
{
	static const char *const bad[] = {
		"hello\r\n", "25\r\n", "250x\r\n", "150 too low\r\n",
		"650 too high\r\n", "260 bad second digit\r\n",
		"250-a\r\n251 b\r\n", "2a0 x\r\n", "250 a\0b\r\n",
	};
	struct esmtp_reply reply;
	const char *error;
	struct str big;

	(void)state;
	esmtp_reply_init(&reply);
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct esmtp_reply_parser *p = esmtp_reply_parser_create(0, 0);
		size_t used, len = strlen(bad[i]);

		if (i == N_ELEMENTS(bad) - 1)
			len = 12;	/* the one with a NUL */
		assert_int_equal(esmtp_reply_parser_feed(p, bad[i], len,
							 &used, &reply,
							 &error), -1);
		esmtp_reply_parser_destroy(&p);
	}
	/* a bare "250" and a bare LF are fine */
	assert_int_equal(feed_all("250\n", 0, 0, &reply, &error), 1);
	assert_int_equal(reply.code, 250);
	assert_string_equal(reply.enhanced, "");
	/* line and line-count limits */
	assert_int_equal(feed_all("250 0123456789\r\n", 8, 0, &reply,
				  &error), -1);
	assert_string_equal(error, "reply line too long");
	assert_int_equal(feed_all("250-a\r\n250-b\r\n250 c\r\n", 0, 2, &reply,
				  &error), -1);
	assert_int_equal(feed_all("250-a\r\n250-b\r\n250 c\r\n", 0, 3, &reply,
				  &error), 1);
	/* a long line without LF is refused before it is all buffered */
	str_init(&big, 10000);
	str_append(&big, "250 ");
	for (int i = 0; i < 9000; i++)
		str_append_c(&big, 'x');
	assert_int_equal(feed_all(str_c(&big), 0, 0, &reply, &error), -1);
	str_free(&big);
	/* enhanced codes must match the class */
	assert_int_equal(feed_all("550 4.1.1 x\r\n", 0, 0, &reply, &error), 1);
	assert_string_equal(reply.enhanced, "");
	assert_int_equal(feed_all("451 4.3.0\r\n", 0, 0, &reply, &error), 1);
	assert_string_equal(reply.enhanced, "4.3.0");
	esmtp_reply_free(&reply);
}

/* Courier's Extended DATA Reply (558): one reply per recipient. */
static void test_reply_exdata(void **state)
{
	struct esmtp_reply reply;
	struct esmtp_ehlo ehlo;
	const char *error;
	char *subs[4];
	unsigned int codes[4];
	size_t n;

	(void)state;
	esmtp_reply_init(&reply);
	assert_int_equal(feed_all("250-mx\r\n250-XEXDATA\r\n250 DSN\r\n",
				  0, 0, &reply, &error), 1);
	esmtp_ehlo_parse(&reply, &ehlo);
	assert_true(ehlo.exdata);
	assert_int_equal(feed_all("250-mx\r\n250 EXDATA\r\n", 0, 0,
				  &reply, &error), 1);
	esmtp_ehlo_parse(&reply, &ehlo);
	assert_true(ehlo.exdata);
	assert_int_equal(feed_all("558-250 Ok\r\n558-550-5.7.1 a\r\n"
				  "558-550 5.7.1 b\r\n558 451 later\r\n",
				  0, 0, &reply, &error), 1);
	n = esmtp_reply_exdata_split(&reply, subs, codes, 4);
	assert_int_equal(n, 3);
	assert_string_equal(subs[0], "250 Ok");
	assert_int_equal(codes[0], 250);
	assert_string_equal(subs[1], "550-5.7.1 a  550 5.7.1 b");
	assert_int_equal(codes[1], 550);
	assert_string_equal(subs[2], "451 later");
	assert_int_equal(codes[2], 451);
	for (size_t i = 0; i < n; i++)
		free(subs[i]);
	/* at most max */
	n = esmtp_reply_exdata_split(&reply, subs, codes, 1);
	assert_int_equal(n, 1);
	free(subs[0]);
	/* malformed: it stops there (the rest count as 451) */
	assert_int_equal(feed_all("558-250 Ok\r\n558-550-a\r\n558 451 b\r\n",
				  0, 0, &reply, &error), 1);
	n = esmtp_reply_exdata_split(&reply, subs, NULL, 4);
	assert_int_equal(n, 1);
	free(subs[0]);
	assert_int_equal(feed_all("558-250 Ok\r\n558 Refused\r\n", 0, 0,
				  &reply, &error), 1);
	n = esmtp_reply_exdata_split(&reply, subs, NULL, 4);
	assert_int_equal(n, 1);
	free(subs[0]);
	assert_int_equal(feed_all("558-199 x\r\n558 250-open\r\n", 0, 0,
				  &reply, &error), 1);
	assert_int_equal(esmtp_reply_exdata_split(&reply, subs, NULL, 4), 0);
	/* not a 558 */
	assert_int_equal(feed_all("250 250 Ok\r\n", 0, 0, &reply, &error),
			 1);
	assert_int_equal(esmtp_reply_exdata_split(&reply, subs, NULL, 4), 0);
	esmtp_reply_free(&reply);
}

/* ---- routes ---- */

static struct config_lines *lines_of(const char *text)
{
	struct config_lines *l = config_lines_new(NULL);

	config_lines_parse(l, "test", text, strlen(text), NULL);
	return l;
}

static void test_routes(void **state)
{
	struct config_lines *l = lines_of(
		"example.com: relay.example.net,2525/SECURITY=STARTTLS\n"
		".sub.test: [192.0.2.1] /SECURITY=SMTPS /SECURITY=REQUIRED\n"
		"bad line\n"
		"direct.test:\n"
		"bogus.test: relay/SECURITY=MAYBE\n"
		"v6.test: [IPv6:2001:db8::1],26\n"
		": smart.example.net\n");
	struct config_errors *errs = config_errors_new();
	struct esmtp_routes *r = esmtp_routes_parse(l, errs);
	const struct esmtp_route *rt;

	(void)state;
	assert_int_equal(config_errors_error_count(errs), 2);
	rt = esmtp_routes_find(r, "EXAMPLE.com");
	assert_non_null(rt);
	assert_string_equal(rt->relay, "relay.example.net");
	assert_int_equal(rt->port, 2525);
	assert_int_equal(rt->security, ESMTP_SECURITY_STARTTLS);
	rt = esmtp_routes_find(r, "a.sub.test");
	assert_string_equal(rt->relay, "[192.0.2.1]");
	assert_int_equal(rt->security,
			 ESMTP_SECURITY_SMTPS | ESMTP_SECURITY_REQUIRED);
	rt = esmtp_routes_find(r, "direct.test");
	assert_string_equal(rt->relay, "");
	rt = esmtp_routes_find(r, "v6.test");
	assert_string_equal(rt->relay, "[ipv6:2001:db8::1]");
	assert_int_equal(rt->port, 26);
	/* sub.test itself is not a subdomain: the catch-all */
	rt = esmtp_routes_find(r, "sub.test");
	assert_string_equal(rt->relay, "smart.example.net");
	esmtp_routes_free(&r);
	config_lines_free(&l);
	config_errors_destroy(&errs);

	l = lines_of("only.test: [127.0.0.1]\n");
	r = esmtp_routes_parse(l, NULL);
	assert_null(esmtp_routes_find(r, "other.test"));
	esmtp_routes_free(&r);
	config_lines_free(&l);
}

static void test_authclient(void **state)
{
	struct config_lines *l = lines_of(
		"relay.example.net user1 secret1\n"
		"broken line\n"
		"[192.0.2.1] user2 secret2\n");
	char *user, *pass;

	(void)state;
	assert_int_equal(esmtp_authclient_find_in(l, "RELAY.example.net", NULL,
						  &user, &pass), 1);
	assert_string_equal(user, "user1");
	assert_string_equal(pass, "secret1");
	free(user);
	free(pass);
	assert_int_equal(esmtp_authclient_find_in(l, "x", "[192.0.2.1]",
						  &user, &pass), 1);
	assert_string_equal(user, "user2");
	free(user);
	free(pass);
	assert_int_equal(esmtp_authclient_find_in(l, "none", NULL, &user,
						  &pass), 0);
	assert_null(user);
	config_lines_free(&l);
}

static uint32_t rnd_state;
static uint32_t fake_rnd(uint32_t upper)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % upper;
}

static void test_shuffle(void **state)
{
	struct esmtp_target t[6];
	unsigned int first_b = 0;

	(void)state;
	for (int round = 0; round < 200; round++) {
		static const unsigned int prefs[6] = { 5, 10, 10, 10, 20, 20 };

		memset(t, 0, sizeof(t));
		for (int i = 0; i < 6; i++) {
			t[i].pref = prefs[i];
			t[i].addr_text[0] = (char)('a' + i);
		}
		esmtp_targets_shuffle_equal(t, 6, fake_rnd);
		/* preferences stay in order, members stay in their group */
		for (int i = 0; i < 6; i++)
			assert_int_equal(t[i].pref, prefs[i]);
		assert_int_equal(t[0].addr_text[0], 'a');
		assert_true(t[4].addr_text[0] == 'e' ||
			    t[4].addr_text[0] == 'f');
		if (t[1].addr_text[0] == 'c')
			first_b++;
	}
	/* every member of the 10 group comes first sometimes */
	assert_true(first_b > 20 && first_b < 120);
}

/* ---- helpers ---- */

static void test_xtext_and_stuffing(void **state)
{
	struct str s;
	bool bol = true, cr = false;

	(void)state;
	str_init(&s, 64);
	esmtp_client_xtext("rfc822+2Ba@b", &s);
	assert_string_equal(str_c(&s), "rfc822+2Ba@b");
	str_clear(&s);
	esmtp_client_xtext("a+b=c d\x01", &s);
	assert_string_equal(str_c(&s), "a+2Bb+3Dc+20d+01");
	str_clear(&s);
	esmtp_client_dot_stuff(".a\n..b\nc", 8, &bol, &cr, &s);
	esmtp_client_dot_stuff("\n.", 2, &bol, &cr, &s);
	esmtp_client_dot_stuff("x\r\ny\r", 5, &bol, &cr, &s);
	esmtp_client_dot_stuff("\n", 1, &bol, &cr, &s);
	assert_string_equal(str_c(&s), "..a\r\n...b\r\nc\r\n..x\r\ny\r\n");
	assert_true(bol);
	str_free(&s);
}

static void test_to_7bit(void **state)
{
	static const char plain[] =
		"From: a@b\nSubject: x\n\ncaf\xc3\xa9 ol\xc3\xa9\n";
	static const char multi[] =
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"XX\"\n\n"
		"--XX\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n\n"
		"na\xc3\xafve\n"
		"--XX\n"
		"Content-Type: text/plain\n\n"
		"ascii only\n"
		"--XX\n"
		"Content-Type: application/octet-stream\n"
		"Content-Transfer-Encoding: base64\n\n"
		"AAAA\n"
		"--XX--\n";
	struct str out;

	(void)state;
	str_init(&out, 256);
	esmtp_client_to_7bit(plain, sizeof(plain) - 1, &out);
	assert_non_null(strstr(str_c(&out), "MIME-Version: 1.0\n"));
	assert_non_null(strstr(str_c(&out),
		"Content-Transfer-Encoding: quoted-printable\n\n"
		"caf=C3=A9 ol=C3=A9"));
	for (size_t i = 0; i < str_len(&out); i++)
		assert_true((unsigned char)str_c(&out)[i] < 0x80);
	str_clear(&out);
	esmtp_client_to_7bit(multi, sizeof(multi) - 1, &out);
	for (size_t i = 0; i < str_len(&out); i++)
		assert_true((unsigned char)str_c(&out)[i] < 0x80);
	assert_null(strstr(str_c(&out), "8bit"));
	assert_non_null(strstr(str_c(&out), "na=C3=AFve"));
	assert_non_null(strstr(str_c(&out), "\n\nascii only\n--XX\n"));
	assert_non_null(strstr(str_c(&out), "base64\n\nAAAA\n--XX--\n"));
	/* only one MIME-Version */
	assert_null(strstr(strstr(str_c(&out), "MIME-Version") + 1,
			   "MIME-Version"));
	str_free(&out);
}

static void test_tls_memory(void **state)
{
	char dir[] = "/tmp/test-esmtp-client-XXXXXX";
	time_t now = 1700000000;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_false(esmtp_tls_memory_broken(dir, "192.0.2.1", now));
	esmtp_tls_memory_add(dir, "192.0.2.1", now);
	assert_true(esmtp_tls_memory_broken(dir, "192.0.2.1", now));
	assert_false(esmtp_tls_memory_broken(dir, "192.0.2.10", now));
	assert_true(esmtp_tls_memory_broken(dir, "192.0.2.1", now + 7200));
	assert_false(esmtp_tls_memory_broken(dir, "192.0.2.1",
					     now + 4 * 3600 + 1));
	/* a later failure rotates the old log away */
	esmtp_tls_memory_add(dir, "192.0.2.2", now + 5 * 3600);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

/* ---- whole transactions against a scripted server ---- */

/* The server: greets, answers EHLO with ehlo, then each command line by
 * the first matching rule "PREFIX=REPLY" of rules; DATA gets 354 and the
 * message up to "." is written to the capture file, then data_reply. */
struct script {
	const char *ehlo;
	const char *const *rules;
	const char *data_reply;
};

static void serve(int fd, const struct script *sc, FILE *cap)
{
	FILE *in = fdopen(fd, "r"), *out = fdopen(dup(fd), "w");
	char line[4096];
	bool data = false;

	fprintf(out, "220 fake ESMTP\r\n");
	fflush(out);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (data) {
			fputs(line, cap);
			if (strcmp(line, ".\r\n") == 0) {
				data = false;
				fprintf(out, "%s\r\n", sc->data_reply);
				fflush(out);
			}
			continue;
		}
		fprintf(cap, "C: %s", line);
		if (strncmp(line, "EHLO", 4) == 0) {
			fputs(sc->ehlo, out);
		} else if (strncmp(line, "QUIT", 4) == 0) {
			fprintf(out, "221 bye\r\n");
			fflush(out);
			break;
		} else if (strncmp(line, "DATA", 4) == 0 &&
			   strstr(sc->data_reply, "DATA=") == NULL) {
			bool refused = false;

			for (size_t i = 0; sc->rules[i] != NULL; i++)
				if (strncmp(sc->rules[i], "DATA=", 5) == 0) {
					fprintf(out, "%s\r\n",
						sc->rules[i] + 5);
					refused = true;
				}
			if (!refused) {
				fprintf(out, "354 go\r\n");
				data = true;
			}
		} else {
			const char *reply = "250 ok";

			for (size_t i = 0; sc->rules[i] != NULL; i++) {
				const char *eq = strchr(sc->rules[i], '=');

				if (strncmp(line, sc->rules[i],
					    (size_t)(eq - sc->rules[i])) == 0) {
					reply = eq + 1;
					break;
				}
			}
			fprintf(out, "%s\r\n", reply);
		}
		fflush(out);
	}
	fclose(in);
	fclose(out);
}

static pid_t start_server(const struct script *sc, const char *capture,
			  struct esmtp_target *t)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
	socklen_t len = sizeof(*sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	memset(t, 0, sizeof(*t));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)sin, len), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)sin, &len), 0);
	t->len = len;
	t->host = xstrdup("fake.test");
	str_copy(t->addr_text, "127.0.0.1", sizeof(t->addr_text));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *cap = fopen(capture, "w");
		int c = accept(l, NULL, NULL);

		if (cap == NULL || c < 0)
			_exit(1);
		serve(c, sc, cap);
		fclose(cap);
		_exit(0);
	}
	close(l);
	return pid;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct str s;
	char buf[1024];
	size_t n;

	str_init(&s, 1024);
	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(&s, buf, n);
	fclose(f);
	return str_steal(&s);
}

static void settings(struct esmtp_client_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->helo = "client.test";
	set->timeout_connect = set->timeout_helo = set->timeout_cmd = 5;
	set->timeout_data = set->timeout_quit = 5;
}

static void test_session_pipelined_dsn_7bit(void **state)
{
	static const char *const rules[] = {
		"RCPT TO:<bad@=550 5.1.1 no such user",
		"RCPT TO:<later@=451 4.2.0 try later",
		NULL,
	};
	const struct script sc = {
		"250-fake\r\n250-PIPELINING\r\n250-DSN\r\n250 SIZE 100000\r\n",
		rules, "250 2.0.0 queued as 123",
	};
	char capture[] = "/tmp/test-esmtp-cap-XXXXXX";
	struct esmtp_client_rcpt rcpts[3] = {
		{ .address = "good@dest.test", .orcpt = "rfc822;good@dest.test",
		  .notify = CTL_NOTIFY_SUCCESS | CTL_NOTIFY_FAILURE },
		{ .address = "bad@dest.test" },
		{ .address = "later@dest.test", .notify = CTL_NOTIFY_NEVER },
	};
	static const char body[] = "Subject: hi\n\n.dot line\ncaf\xc3\xa9\n";
	struct esmtp_client_message msg = {
		.sender = "me@src.test", .envid = "id+1 x", .ret = 'H',
		.body_8bit = true, .data = body, .size = sizeof(body) - 1,
		.rcpts = rcpts, .rcpt_count = 3,
	};
	struct esmtp_client_settings set;
	struct esmtp_target t;
	char *error, *cap;
	int fd = mkstemp(capture), status;
	pid_t pid;

	(void)state;
	close(fd);
	pid = start_server(&sc, capture, &t);
	settings(&set);
	assert_int_equal(esmtp_client_send(&set, &t, &msg, NULL, &error), 1);
	waitpid(pid, &status, 0);
	cap = slurp(capture);
	assert_non_null(strstr(cap, "C: EHLO client.test\r\n"));
	assert_non_null(strstr(cap, "C: MAIL FROM:<me@src.test> SIZE="));
	assert_non_null(strstr(cap, " RET=HDRS ENVID=id+2B1+20x\r\n"));
	assert_null(strstr(cap, "BODY=8BITMIME"));
	assert_non_null(strstr(cap, "C: RCPT TO:<good@dest.test> "
			       "NOTIFY=SUCCESS,FAILURE "
			       "ORCPT=rfc822;good@dest.test\r\n"));
	assert_non_null(strstr(cap, "C: RCPT TO:<later@dest.test> "
			       "NOTIFY=NEVER\r\n"));
	/* CRLF, quoted-printable (which escapes a leading dot itself) */
	assert_non_null(strstr(cap, "\r\n\r\n=2Edot line\r\ncaf=C3=A9\r\n"
			       ".\r\n"));
	assert_non_null(strstr(cap, "Content-Transfer-Encoding: "
			       "quoted-printable\r\n"));
	assert_non_null(strstr(cap, "C: QUIT"));
	assert_int_equal(rcpts[0].status, CTL_STATUS_DELIVERED);
	assert_string_equal(rcpts[0].diag, "250 2.0.0 queued as 123");
	assert_false(rcpts[0].relayed);
	assert_int_equal(rcpts[1].status, CTL_STATUS_FAILED);
	assert_string_equal(rcpts[1].diag, "550 5.1.1 no such user");
	assert_int_equal(rcpts[2].status, CTL_STATUS_DEFERRED);
	for (int i = 0; i < 3; i++)
		free(rcpts[i].diag);
	free(cap);
	free(t.host);
	unlink(capture);
}

static void test_session_plain_helo_and_failures(void **state)
{
	static const char *const rules[] = {
		"MAIL FROM:<=452 4.3.1 out of space", NULL,
	};
	static const char *const rules2[] = { "DATA=554 5.7.1 no way", NULL };
	const struct script sc = {
		"500 what is EHLO\r\n", rules, "250 ok",
	};
	const struct script sc2 = {
		"250-fake\r\n250 8BITMIME\r\n", rules2, "250 ok",
	};
	char capture[] = "/tmp/test-esmtp-cap-XXXXXX";
	struct esmtp_client_rcpt rcpts[2] = {
		{ .address = "a@dest.test", .notify = CTL_NOTIFY_SUCCESS },
		{ .address = "b@dest.test" },
	};
	static const char body[] = "Subject: hi\n\ncaf\xc3\xa9\n";
	struct esmtp_client_message msg = {
		.sender = "", .body_8bit = true, .data = body,
		.size = sizeof(body) - 1, .rcpts = rcpts, .rcpt_count = 2,
	};
	struct esmtp_client_settings set;
	struct esmtp_target t;
	char *error, *cap;
	int fd = mkstemp(capture), status;
	pid_t pid;

	(void)state;
	close(fd);
	/* HELO fallback; MAIL refused with 452: everyone deferred */
	pid = start_server(&sc, capture, &t);
	settings(&set);
	assert_int_equal(esmtp_client_send(&set, &t, &msg, NULL, &error), 1);
	waitpid(pid, &status, 0);
	cap = slurp(capture);
	assert_non_null(strstr(cap, "C: HELO client.test\r\n"));
	assert_non_null(strstr(cap, "C: MAIL FROM:<>\r\n"));
	assert_null(strstr(cap, "RCPT"));
	free(cap);
	assert_int_equal(rcpts[0].status, CTL_STATUS_DEFERRED);
	assert_string_equal(rcpts[1].diag, "452 4.3.1 out of space");
	free(t.host);

	/* not pipelined, 8BITMIME, DATA refused: failed */
	for (int i = 0; i < 2; i++) {
		rcpts[i].status = CTL_STATUS_NONE;
		x_free(rcpts[i].diag);
	}
	pid = start_server(&sc2, capture, &t);
	assert_int_equal(esmtp_client_send(&set, &t, &msg, NULL, &error), 1);
	waitpid(pid, &status, 0);
	cap = slurp(capture);
	assert_non_null(strstr(cap, "C: MAIL FROM:<> BODY=8BITMIME\r\n"));
	assert_non_null(strstr(cap, "C: RCPT TO:<a@dest.test>\r\n"));
	free(cap);
	assert_int_equal(rcpts[0].status, CTL_STATUS_FAILED);
	assert_string_equal(rcpts[0].diag, "554 5.7.1 no way");
	for (int i = 0; i < 2; i++)
		free(rcpts[i].diag);
	free(t.host);

	/* nobody listening: try the next address */
	{
		struct esmtp_target dead = t;
		struct sockaddr_in *sin = (struct sockaddr_in *)&dead.ss;
		int l = socket(AF_INET, SOCK_STREAM, 0);
		socklen_t len = sizeof(*sin);

		sin->sin_port = 0;
		assert_int_equal(bind(l, (struct sockaddr *)sin, len), 0);
		assert_int_equal(getsockname(l, (struct sockaddr *)sin, &len),
				 0);
		close(l);	/* the port is now closed */
		dead.host = (char *)"dead.test";
		rcpts[0].status = rcpts[1].status = CTL_STATUS_NONE;
		rcpts[0].diag = rcpts[1].diag = NULL;
		assert_int_equal(esmtp_client_send(&set, &dead, &msg, NULL,
						   &error),
				 0);
		assert_non_null(strstr(error, "dead.test [127.0.0.1]: "
				       "connect: Connection refused"));
		assert_int_equal(rcpts[0].status, CTL_STATUS_NONE);
		free(error);
	}
	unlink(capture);
}

static void test_needs_utf8(void **state)
{
	struct esmtp_client_rcpt rcpts[1] = { { .address = "a@b.test" } };
	static const char ascii[] = "Subject: x\n\ncaf\xc3\xa9\n";
	static const char hdr[] = "Subject: caf\xc3\xa9\n\nx\n";
	static const char crlf[] = "Subject: x\r\n\r\n\xc3\xa9\n";
	struct esmtp_client_message msg = {
		.sender = "me@src.test", .data = ascii,
		.size = sizeof(ascii) - 1, .rcpts = rcpts, .rcpt_count = 1,
	};

	(void)state;
	/* an 8-bit body alone needs 8BITMIME, not SMTPUTF8 */
	assert_false(esmtp_client_message_needs_utf8(&msg));
	msg.data = crlf;
	msg.size = sizeof(crlf) - 1;
	assert_false(esmtp_client_message_needs_utf8(&msg));
	msg.data = hdr;
	msg.size = sizeof(hdr) - 1;
	assert_true(esmtp_client_message_needs_utf8(&msg));
	msg.data = ascii;
	msg.size = sizeof(ascii) - 1;
	rcpts[0].address = "\xc3\xa9l\xc3\xa8ve@b.test";
	assert_true(esmtp_client_message_needs_utf8(&msg));
	rcpts[0].address = "a@b.test";
	msg.sender = "j\xc3\xb6@src.test";
	assert_true(esmtp_client_message_needs_utf8(&msg));
	msg.sender = "";
	msg.size = 0;
	assert_false(esmtp_client_message_needs_utf8(&msg));
}

/* Delivers msg to a fake server playing sc (esmtp_client_send() must
 * return 1); returns what the server received (caller frees). */
static char *converse(const struct script *sc,
		      struct esmtp_client_message *msg)
{
	char capture[] = "/tmp/test-esmtp-cap-XXXXXX";
	struct esmtp_client_settings set;
	struct esmtp_target t;
	char *error = NULL, *cap;
	int fd = mkstemp(capture), status;
	pid_t pid;

	assert_true(fd >= 0);
	close(fd);
	settings(&set);
	pid = start_server(sc, capture, &t);
	assert_int_equal(esmtp_client_send(&set, &t, msg, NULL, &error), 1);
	waitpid(pid, &status, 0);
	cap = slurp(capture);
	unlink(capture);
	free(t.host);
	return cap;
}

static void test_session_smtputf8(void **state)
{
	static const char *const rules[] = { NULL };
	const struct script with = {
		"250-fake\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n", rules,
		"250 2.0.0 ok",
	};
	const struct script without = {
		"250-fake\r\n250 PIPELINING\r\n", rules, "250 2.0.0 ok",
	};
	struct esmtp_client_rcpt rcpts[2] = {
		{ .address = "\xc3\xa9l\xc3\xa8ve@dest.test" },
		{ .address = "plain@dest.test" },
	};
	static const char body[] = "Subject: x\n\nhi\n";
	struct esmtp_client_message msg = {
		.sender = "me@src.test", .smtputf8 = true, .data = body,
		.size = sizeof(body) - 1, .rcpts = rcpts, .rcpt_count = 2,
	};
	char *cap;

	(void)state;
	/* offered: MAIL FROM with SMTPUTF8, both recipients sent */
	cap = converse(&with, &msg);
	assert_non_null(strstr(cap, "C: MAIL FROM:<me@src.test> SMTPUTF8\r\n"));
	assert_non_null(strstr(cap, "C: RCPT TO:<\xc3\xa9l\xc3\xa8ve@"));
	assert_int_equal(rcpts[0].status, CTL_STATUS_DELIVERED);
	assert_int_equal(rcpts[1].status, CTL_STATUS_DELIVERED);
	free(cap);
	for (int i = 0; i < 2; i++) {
		rcpts[i].status = CTL_STATUS_NONE;
		x_free(rcpts[i].diag);
	}

	/* not offered: the UTF-8 recipient fails with 5.6.7, the other
	 * goes without the parameter */
	cap = converse(&without, &msg);
	assert_non_null(strstr(cap, "C: MAIL FROM:<me@src.test>\r\n"));
	assert_null(strstr(cap, "SMTPUTF8"));
	assert_null(strstr(cap, "\xc3"));
	assert_non_null(strstr(cap, "C: RCPT TO:<plain@dest.test>\r\n"));
	assert_int_equal(rcpts[0].status, CTL_STATUS_FAILED);
	assert_non_null(strstr(rcpts[0].diag, "553 5.6.7 "));
	assert_int_equal(rcpts[1].status, CTL_STATUS_DELIVERED);
	assert_string_equal(rcpts[1].diag, "250 2.0.0 ok");
	free(cap);
	for (int i = 0; i < 2; i++) {
		rcpts[i].status = CTL_STATUS_NONE;
		x_free(rcpts[i].diag);
	}

	/* a UTF-8 sender: nobody can be sent; no transaction at all */
	msg.sender = "j\xc3\xb6@src.test";
	cap = converse(&without, &msg);
	assert_null(strstr(cap, "MAIL FROM"));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rcpts[i].status, CTL_STATUS_FAILED);
		assert_non_null(strstr(rcpts[i].diag, "553 5.6.7 "));
		free(rcpts[i].diag);
	}
	free(cap);
}

static void test_session_kept(void **state)
{
	static const char *const rules[] = { NULL };
	const struct script sc = {
		"250-fake\r\n250 PIPELINING\r\n", rules, "250 2.0.0 ok",
	};
	char capture[] = "/tmp/test-esmtp-cap-XXXXXX";
	struct esmtp_client_rcpt r1 = { .address = "one@dest.test" };
	struct esmtp_client_rcpt r2 = { .address = "two@dest.test" };
	static const char body[] = "Subject: x\n\nhi\n";
	struct esmtp_client_message msg = {
		.sender = "me@src.test", .data = body,
		.size = sizeof(body) - 1, .rcpts = &r1, .rcpt_count = 1,
	};
	struct esmtp_client_settings set;
	struct esmtp_client_conn *conn = NULL;
	struct esmtp_target t;
	char *error = NULL, *cap, *p;
	int fd = mkstemp(capture), status;
	pid_t pid;

	(void)state;
	close(fd);
	settings(&set);
	pid = start_server(&sc, capture, &t);
	assert_int_equal(esmtp_client_send(&set, &t, &msg, &conn, &error), 1);
	assert_non_null(conn);
	assert_true(esmtp_client_conn_fd(conn) >= 0);
	assert_int_equal(r1.status, CTL_STATUS_DELIVERED);
	assert_int_equal(esmtp_client_conn_ping(conn), 0);
	msg.rcpts = &r2;
	assert_int_equal(esmtp_client_send(&set, &t, &msg, &conn, &error), 1);
	assert_non_null(conn);
	assert_int_equal(r2.status, CTL_STATUS_DELIVERED);
	esmtp_client_conn_close(&conn);
	assert_null(conn);
	esmtp_client_conn_close(&conn);
	waitpid(pid, &status, 0);
	cap = slurp(capture);
	/* one connection (the server accepts only one), one EHLO */
	p = strstr(cap, "C: EHLO");
	assert_non_null(p);
	assert_null(strstr(p + 1, "C: EHLO"));
	p = strstr(cap, "C: RCPT TO:<one@dest.test>");
	assert_non_null(p);
	p = strstr(p, "C: RSET\r\nC: RSET\r\nC: MAIL FROM:<me@src.test>");
	assert_non_null(p);
	assert_non_null(strstr(p, "C: RCPT TO:<two@dest.test>"));
	assert_non_null(strstr(p, "C: QUIT"));
	free(cap);
	free(r1.diag);
	free(r2.diag);
	free(t.host);

	/* the server went away while the connection was idle: a new one
	 * is made (here: to nobody, so the next address is due) */
	r1.status = CTL_STATUS_NONE;
	r1.diag = NULL;
	msg.rcpts = &r1;
	pid = start_server(&sc, capture, &t);
	assert_int_equal(esmtp_client_send(&set, &t, &msg, &conn, &error), 1);
	free(r1.diag);
	r1.status = CTL_STATUS_NONE;
	r1.diag = NULL;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_int_equal(esmtp_client_send(&set, &t, &msg, &conn, &error), 0);
	assert_null(conn);
	assert_int_equal(r1.status, CTL_STATUS_NONE);
	assert_non_null(error);
	free(error);
	free(t.host);
	unlink(capture);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_split_everywhere),
		cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_reply_exdata),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_authclient),
		cmocka_unit_test(test_shuffle),
		cmocka_unit_test(test_xtext_and_stuffing),
		cmocka_unit_test(test_to_7bit),
		cmocka_unit_test(test_tls_memory),
		cmocka_unit_test(test_session_pipelined_dsn_7bit),
		cmocka_unit_test(test_session_plain_helo_and_failures),
		cmocka_unit_test(test_needs_utf8),
		cmocka_unit_test(test_session_smtputf8),
		cmocka_unit_test(test_session_kept),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
