/* test-tls.c: unit tests for lib/tls (whichever library was configured):
 * context errors, handshakes, verification, data and shutdown over real
 * TCP sockets on 127.0.0.1. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mem.h"
#include "tls.h"
#include "tls-test-util.h"

static struct test_certs *certs;

struct pair {
	int fds[2];
	struct tls_ctx *sctx, *cctx;
	struct tls_session *srv, *cli;
};

static struct tls_ctx *server_ctx(void)
{
	struct tls_settings set = { .cert_file = certs->cert,
				    .key_file = certs->key };
	const char *error = NULL;
	struct tls_ctx *ctx = tls_ctx_server_create(&set, &error);

	assert_non_null(ctx);
	return ctx;
}

static struct tls_ctx *client_ctx(const char *ca_file, bool require)
{
	struct tls_settings set = { .ca_file = ca_file,
				    .require_verify = require };
	const char *error = NULL;
	struct tls_ctx *ctx = tls_ctx_client_create(&set, &error);

	assert_non_null(ctx);
	assert_false(tls_ctx_is_server(ctx));
	return ctx;
}

static void pair_open(struct pair *p, struct tls_ctx *sctx,
		      struct tls_ctx *cctx, const char *host)
{
	test_tcp_pair(p->fds);
	p->sctx = sctx;
	p->cctx = cctx;
	p->srv = tls_session_create(sctx, p->fds[0], NULL);
	p->cli = tls_session_create(cctx, p->fds[1], host);
}

static void pair_close(struct pair *p, bool free_ctx)
{
	tls_session_destroy(&p->srv);
	tls_session_destroy(&p->cli);
	assert_null(p->srv);
	close(p->fds[0]);
	close(p->fds[1]);
	if (free_ctx) {
		tls_ctx_destroy(&p->sctx);
		tls_ctx_destroy(&p->cctx);
		assert_null(p->sctx);
	}
}

static short poll_events(enum tls_result r)
{
	return r == TLS_WANT_WRITE ? POLLOUT : POLLIN;
}

/* Runs both handshakes to the end; returns the results in *s_r, *c_r. */
static void pair_handshake(struct pair *p, enum tls_result *s_r,
			   enum tls_result *c_r)
{
	enum tls_result s = TLS_WANT_READ, c = TLS_WANT_WRITE;

	for (int round = 0; round < 1000; round++) {
		struct pollfd pfd[2];
		int n = 0;

		if (c == TLS_WANT_READ || c == TLS_WANT_WRITE)
			c = tls_session_handshake(p->cli);
		if (s == TLS_WANT_READ || s == TLS_WANT_WRITE)
			s = tls_session_handshake(p->srv);
		/* One side failing stops the other once it reads the
		 * alert or the EOF: close the failed side's socket. */
		if (s == TLS_ERROR && c != TLS_DONE && c != TLS_ERROR)
			shutdown(p->fds[0], SHUT_RDWR);
		if (c == TLS_ERROR && s != TLS_DONE && s != TLS_ERROR)
			shutdown(p->fds[1], SHUT_RDWR);
		if ((s == TLS_DONE || s == TLS_ERROR) &&
		    (c == TLS_DONE || c == TLS_ERROR))
			break;
		if (s == TLS_WANT_READ || s == TLS_WANT_WRITE)
			pfd[n++] = (struct pollfd){ p->fds[0], poll_events(s),
						    0 };
		if (c == TLS_WANT_READ || c == TLS_WANT_WRITE)
			pfd[n++] = (struct pollfd){ p->fds[1], poll_events(c),
						    0 };
		assert_true(poll(pfd, n, 5000) > 0);
	}
	*s_r = s;
	*c_r = c;
}

static void pair_handshake_ok(struct pair *p)
{
	enum tls_result s, c;

	pair_handshake(p, &s, &c);
	if (s != TLS_DONE || c != TLS_DONE)
		fail_msg("handshake failed: server \"%s\", client \"%s\"",
			 tls_session_error(p->srv), tls_session_error(p->cli));
}

/* Sends len bytes from one session to the other, both non-blocking. */
static void transfer(struct tls_session *from, int from_fd,
		     struct tls_session *to, int to_fd, const char *data,
		     size_t len)
{
	char *got = xmalloc(len + 1);
	size_t sent = 0, received = 0;
	enum tls_result wr = TLS_DONE, rr = TLS_DONE;

	while (received < len) {
		struct pollfd pfd[2];
		int n = 0;

		if (sent < len) {
			size_t w;

			wr = tls_session_write(from, data + sent, len - sent,
					       &w);
			assert_int_not_equal(wr, TLS_ERROR);
			sent += w;
		}
		for (;;) {
			size_t r;

			rr = tls_session_read(to, got + received,
					      len + 1 - received, &r);
			assert_int_not_equal(rr, TLS_ERROR);
			assert_int_not_equal(rr, TLS_CLOSED);
			if (rr != TLS_DONE)
				break;
			received += r;
			assert_true(received <= len);
		}
		assert_int_equal(tls_session_pending(to), 0);
		if (received == len)
			break;
		if (sent < len && wr != TLS_DONE)
			pfd[n++] = (struct pollfd){ from_fd, poll_events(wr),
						    0 };
		pfd[n++] = (struct pollfd){ to_fd, poll_events(rr), 0 };
		if (sent < len && wr == TLS_DONE)
			continue;
		assert_true(poll(pfd, n, 5000) > 0);
	}
	assert_memory_equal(got, data, len);
	free(got);
}

static void expect_server_error(const struct tls_settings *set,
				const char *expected_part)
{
	const char *error = NULL;
	struct tls_ctx *ctx = tls_ctx_server_create(set, &error);

	assert_null(ctx);
	assert_non_null(error);
	if (strstr(error, expected_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", error, expected_part);
}

static void test_ctx_errors(void **state)
{
	struct tls_settings set = { 0 };
	char *expected;

	/* No certificate at all. */
	expect_server_error(&set, "no TLS certificate file");

	/* Missing certificate: the exact message a daemon logs at start. */
	set.cert_file = certs->missing;
	expected = xasprintf("%s: No such file or directory", certs->missing);
	{
		const char *error = NULL;

		assert_null(tls_ctx_server_create(&set, &error));
		assert_string_equal(error, expected);
	}
	free(expected);

	/* A folder is not a certificate. */
	set.cert_file = certs->dir;
	expect_server_error(&set, "not a regular file");

	/* Garbage instead of PEM. */
	set.cert_file = certs->garbage;
	expected = xasprintf("%s: no PEM certificate found", certs->garbage);
	expect_server_error(&set, expected);
	free(expected);

	/* Certificate without a key in it. */
	set.cert_file = certs->cert;
	expected = xasprintf("%s: no usable PEM private key", certs->cert);
	expect_server_error(&set, expected);
	free(expected);

	/* Missing key file. */
	set.key_file = certs->missing;
	expected = xasprintf("%s: No such file or directory", certs->missing);
	expect_server_error(&set, expected);
	free(expected);

	/* Garbage key file. */
	set.key_file = certs->garbage;
	expect_server_error(&set, "no usable PEM private key");

	/* A key of another certificate. */
	set.key_file = certs->other_key;
	expected = xasprintf("%s: the private key does not match",
			     certs->other_key);
	expect_server_error(&set, expected);
	free(expected);

	/* Bad DH parameters. */
	set.key_file = certs->key;
	set.dh_file = certs->garbage;
	expect_server_error(&set, "no usable PEM DH parameters");
	set.dh_file = certs->missing;
	expect_server_error(&set, "No such file or directory");
	set.dh_file = NULL;

	/* Empty protocol range. */
	set.min_version = TLS_VERSION_1_3;
	set.max_version = TLS_VERSION_1_2;
	expect_server_error(&set, "range is empty");
	set.min_version = set.max_version = TLS_VERSION_DEFAULT;

	/* Invalid cipher settings (each library reads its own). */
	set.cipher_list = "NO-SUCH-CIPHER-AT-ALL";
	set.priority = "NO-SUCH-PRIORITY";
	expect_server_error(&set, "invalid TLS");
	set.cipher_list = set.priority = NULL;

	/* Client: a missing or empty CA file. */
	{
		struct tls_settings cset = { .ca_file = certs->garbage };
		const char *error = NULL;

		assert_null(tls_ctx_client_create(&cset, &error));
		assert_non_null(strstr(error, "no PEM certificate found"));
		cset.ca_file = certs->missing;
		assert_null(tls_ctx_client_create(&cset, &error));
		assert_non_null(strstr(error, "No such file or directory"));
	}
}

static void test_ctx_good_files(void **state)
{
	struct tls_settings set = { .cert_file = certs->combined };
	const char *error = NULL;
	struct tls_ctx *ctx;

	/* Certificate and key in one file, as Courier's TLS_CERTFILE. */
	ctx = tls_ctx_server_create(&set, &error);
	assert_non_null(ctx);
	assert_true(tls_ctx_is_server(ctx));
	tls_ctx_destroy(&ctx);
	assert_null(ctx);
	tls_ctx_destroy(&ctx);

	set.dh_file = certs->dh;
	ctx = tls_ctx_server_create(&set, &error);
	if (ctx == NULL)
		fail_msg("%s", error);
	tls_ctx_destroy(&ctx);

	/* Client defaults (system store). */
	ctx = tls_ctx_client_create(NULL, &error);
	assert_non_null(ctx);
	tls_ctx_destroy(&ctx);
}

static void test_handshake_data_shutdown(void **state)
{
	struct pair p;
	const char *reason = "x";
	size_t big_len = 1024 * 1024 + 7, n;
	char *big = xmalloc(big_len), buf[64];

	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)(i * 7 + i / 251);
	pair_open(&p, server_ctx(), client_ctx(certs->cert, true),
		  "localhost");
	pair_handshake_ok(&p);

	assert_string_equal(tls_session_protocol(p.srv), "TLSv1.3");
	assert_string_equal(tls_session_protocol(p.cli), "TLSv1.3");
	assert_memory_equal(tls_session_cipher(p.srv), "TLS_", 4);
	assert_string_equal(tls_session_cipher(p.srv),
			    tls_session_cipher(p.cli));
	assert_true(tls_session_cipher_bits(p.srv) >= 128);
	assert_int_equal(tls_session_verify_result(p.cli, &reason), 1);
	assert_null(reason);
	assert_non_null(strstr(tls_session_peer_subject(p.cli),
			       "CN=localhost"));
	/* The server asked for no client certificate. */
	assert_null(tls_session_peer_subject(p.srv));
	assert_int_equal(tls_session_verify_result(p.srv, &reason), -1);

	/* Nothing to read yet. */
	assert_int_equal(tls_session_read(p.srv, buf, sizeof(buf), &n),
			 TLS_WANT_READ);
	assert_int_equal(n, 0);

	transfer(p.cli, p.fds[1], p.srv, p.fds[0], "EHLO x\r\n", 8);
	transfer(p.srv, p.fds[0], p.cli, p.fds[1], "250 ok\r\n", 8);
	transfer(p.srv, p.fds[0], p.cli, p.fds[1], big, big_len);
	transfer(p.cli, p.fds[1], p.srv, p.fds[0], big, big_len);

	/* Pending: a record read in small pieces stays in the library. */
	{
		size_t got = 0, r;
		enum tls_result res;

		assert_int_equal(tls_session_write(p.cli, "0123456789", 10,
						   &r), TLS_DONE);
		assert_int_equal(r, 10);
		do {
			struct pollfd pfd = { p.fds[0], POLLIN, 0 };

			assert_true(poll(&pfd, 1, 5000) == 1);
			res = tls_session_read(p.srv, buf, 3, &r);
		} while (res == TLS_WANT_READ);
		assert_int_equal(res, TLS_DONE);
		assert_int_equal(r, 3);
		got = r;
		assert_int_equal(tls_session_pending(p.srv), 7);
		while (tls_session_pending(p.srv) > 0) {
			assert_int_equal(tls_session_read(p.srv, buf + got,
							  sizeof(buf) - got,
							  &r), TLS_DONE);
			got += r;
		}
		assert_int_equal(got, 10);
		assert_memory_equal(buf, "0123456789", 10);
	}

	/* Shutdown: the peer sees TLS_CLOSED. */
	assert_int_equal(tls_session_shutdown(p.cli), TLS_DONE);
	for (;;) {
		struct pollfd pfd = { p.fds[0], POLLIN, 0 };
		enum tls_result res = tls_session_read(p.srv, buf, sizeof(buf),
						       &n);

		if (res == TLS_CLOSED)
			break;
		assert_int_equal(res, TLS_WANT_READ);
		assert_true(poll(&pfd, 1, 5000) == 1);
	}
	/* EOF without close_notify is a close too. */
	pair_close(&p, true);
	free(big);
}

static void test_eof_without_close_notify(void **state)
{
	struct pair p;
	char buf[16];
	size_t n;
	enum tls_result res;

	pair_open(&p, server_ctx(), client_ctx(certs->cert, false),
		  "localhost");
	pair_handshake_ok(&p);
	/* The client's TLS 1.3 tickets may still be unread: drain them. */
	(void)tls_session_read(p.cli, buf, sizeof(buf), &n);
	shutdown(p.fds[1], SHUT_WR);
	for (;;) {
		struct pollfd pfd = { p.fds[0], POLLIN, 0 };

		res = tls_session_read(p.srv, buf, sizeof(buf), &n);
		if (res != TLS_WANT_READ)
			break;
		assert_true(poll(&pfd, 1, 5000) == 1);
	}
	assert_int_equal(res, TLS_CLOSED);
	pair_close(&p, true);
}

static void test_verify_failure_reported(void **state)
{
	struct pair p;
	const char *reason = NULL;

	/* The system store does not know our self-signed certificate: the
	 * handshake goes on and the failure is reported. */
	pair_open(&p, server_ctx(), client_ctx(NULL, false), "localhost");
	pair_handshake_ok(&p);
	assert_int_equal(tls_session_verify_result(p.cli, &reason), 0);
	assert_non_null(reason);
	assert_true(strlen(reason) > 0);
	pair_close(&p, true);

	/* Trusted, but the wrong host name. */
	pair_open(&p, server_ctx(), client_ctx(certs->cert, false),
		  "other.example");
	pair_handshake_ok(&p);
	reason = NULL;
	assert_int_equal(tls_session_verify_result(p.cli, &reason), 0);
	assert_non_null(reason);
	pair_close(&p, true);

	/* Trusted and addressed by IP (the certificate has 127.0.0.1). */
	pair_open(&p, server_ctx(), client_ctx(certs->cert, false),
		  "127.0.0.1");
	pair_handshake_ok(&p);
	assert_int_equal(tls_session_verify_result(p.cli, &reason), 1);
	pair_close(&p, true);
}

static void test_verify_required(void **state)
{
	struct pair p;
	enum tls_result s, c;

	pair_open(&p, server_ctx(), client_ctx(NULL, true), "localhost");
	pair_handshake(&p, &s, &c);
	assert_int_equal(c, TLS_ERROR);
	assert_int_equal(s, TLS_ERROR);
	assert_true(strlen(tls_session_error(p.cli)) > 0);
	assert_non_null(strstr(tls_session_error(p.cli), "TLS handshake"));
	pair_close(&p, true);

	pair_open(&p, server_ctx(), client_ctx(certs->cert, true),
		  "wrong.example");
	pair_handshake(&p, &s, &c);
	assert_int_equal(c, TLS_ERROR);
	pair_close(&p, true);
}

static void test_protocol_range(void **state)
{
	struct tls_settings sset = { .cert_file = certs->combined,
				     .min_version = TLS_VERSION_1_3 };
	struct tls_settings cset = { .max_version = TLS_VERSION_1_2 };
	const char *error;
	enum tls_result s, c;
	struct pair p;

	pair_open(&p, tls_ctx_server_create(&sset, &error),
		  tls_ctx_client_create(&cset, &error), NULL);
	assert_non_null(p.sctx);
	assert_non_null(p.cctx);
	pair_handshake(&p, &s, &c);
	assert_int_equal(s, TLS_ERROR);
	assert_int_equal(c, TLS_ERROR);
	assert_true(strlen(tls_session_error(p.srv)) > 0);
	pair_close(&p, true);

	sset.min_version = TLS_VERSION_DEFAULT;
	sset.max_version = TLS_VERSION_1_2;
	cset.max_version = TLS_VERSION_DEFAULT;
	pair_open(&p, tls_ctx_server_create(&sset, &error),
		  tls_ctx_client_create(&cset, &error), NULL);
	pair_handshake_ok(&p);
	assert_string_equal(tls_session_protocol(p.srv), "TLSv1.2");
	assert_string_equal(tls_session_protocol(p.cli), "TLSv1.2");
	assert_string_equal(tls_session_cipher(p.srv),
			    tls_session_cipher(p.cli));
	transfer(p.cli, p.fds[1], p.srv, p.fds[0], "hello", 5);
	pair_close(&p, true);

	/* Clients refuse TLS 1.1 servers by default. */
	sset.min_version = TLS_VERSION_1_0;
	sset.max_version = TLS_VERSION_1_1;
	sset.cipher_list = "DEFAULT:@SECLEVEL=0";
	sset.priority = "NORMAL:%VERIFY_ALLOW_SIGN_WITH_SHA1";
	p.sctx = tls_ctx_server_create(&sset, &error);
	if (p.sctx != NULL) {
		/* (a library built without TLS 1.1 refuses the context) */
		pair_open(&p, p.sctx, tls_ctx_client_create(&cset, &error),
			  NULL);
		pair_handshake(&p, &s, &c);
		assert_int_equal(c, TLS_ERROR);
		pair_close(&p, true);
	}
}

static void test_client_certificate(void **state)
{
	struct tls_settings sset = { .cert_file = certs->combined,
				     .ca_file = certs->client_cert,
				     .request_client_cert = true };
	struct tls_settings cset = { .ca_file = certs->cert,
				     .cert_file = certs->client_cert,
				     .key_file = certs->client_key };
	const char *error, *reason;
	const char *subject;
	struct pair p;

	pair_open(&p, tls_ctx_server_create(&sset, &error),
		  tls_ctx_client_create(&cset, &error), "localhost");
	pair_handshake_ok(&p);
	/* TLS 1.3 sends the client's certificate after the client's
	 * handshake ended: move some data so the server has it. */
	transfer(p.cli, p.fds[1], p.srv, p.fds[0], "x", 1);
	subject = tls_session_peer_subject(p.srv);
	assert_non_null(subject);
	assert_non_null(strstr(subject, "CN=client.test"));
	assert_non_null(strstr(subject, "O=Test"));
	assert_int_equal(tls_session_verify_result(p.srv, &reason), 1);
	pair_close(&p, true);

	/* A client without a certificate is still served. */
	pair_open(&p, tls_ctx_server_create(&sset, &error),
		  client_ctx(certs->cert, true), "localhost");
	pair_handshake_ok(&p);
	transfer(p.cli, p.fds[1], p.srv, p.fds[0], "x", 1);
	assert_null(tls_session_peer_subject(p.srv));
	assert_int_equal(tls_session_verify_result(p.srv, &reason), -1);
	pair_close(&p, true);
}

static void test_many_sessions(void **state)
{
	struct tls_ctx *sctx = server_ctx();
	struct tls_ctx *cctx = client_ctx(certs->cert, true);
	struct pair p[12];
	char msg[32];

	/* Handshakes interleaved step by step: sessions do not mix. */
	for (size_t i = 0; i < N_ELEMENTS(p); i++)
		pair_open(&p[i], sctx, cctx, "localhost");
	for (size_t i = 0; i < N_ELEMENTS(p); i++)
		(void)tls_session_handshake(p[i].cli);
	for (size_t i = 0; i < N_ELEMENTS(p); i++)
		pair_handshake_ok(&p[N_ELEMENTS(p) - 1 - i]);
	for (size_t i = 0; i < N_ELEMENTS(p); i++) {
		int len = snprintf(msg, sizeof(msg), "session %zu", i);

		transfer(p[i].srv, p[i].fds[0], p[i].cli, p[i].fds[1], msg,
			 (size_t)len);
	}
	for (size_t i = 0; i < N_ELEMENTS(p); i++)
		pair_close(&p[i], false);
	tls_ctx_destroy(&sctx);
	tls_ctx_destroy(&cctx);
}

static void test_garbage_from_peer(void **state)
{
	struct tls_ctx *sctx = server_ctx();
	struct tls_session *srv;
	enum tls_result res;
	int fds[2];

	/* A plain-text client on a TLS port is a handshake error. */
	test_tcp_pair(fds);
	srv = tls_session_create(sctx, fds[0], NULL);
	assert_int_equal(write(fds[1], "EHLO plain.example\r\n", 20), 20);
	do {
		struct pollfd pfd = { fds[0], POLLIN, 0 };

		assert_true(poll(&pfd, 1, 5000) == 1);
		res = tls_session_handshake(srv);
	} while (res == TLS_WANT_READ);
	assert_int_equal(res, TLS_ERROR);
	assert_true(strlen(tls_session_error(srv)) > 0);
	tls_session_destroy(&srv);
	close(fds[0]);
	close(fds[1]);
	tls_ctx_destroy(&sctx);
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	certs = test_certs_create();
	return 0;
}

static int teardown(void **state)
{
	test_certs_destroy(&certs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctx_errors),
		cmocka_unit_test(test_ctx_good_files),
		cmocka_unit_test(test_handshake_data_shutdown),
		cmocka_unit_test(test_eof_without_close_notify),
		cmocka_unit_test(test_verify_failure_reported),
		cmocka_unit_test(test_verify_required),
		cmocka_unit_test(test_protocol_range),
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_many_sessions),
		cmocka_unit_test(test_garbage_from_peer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
