/* test-tls-proxy.c: unit tests for lib/tls-proxy: handshake, relaying
 * both ways with bounded buffers, both ways of closing, the handshake
 * deadline, the write timeout, garbage instead of a handshake, the
 * connection limit; and the passing of two fds in one message
 * (login_master_send_fds()) by which a proxy gets its connections.
 * The client's TLS session and the plaintext end run in the test, the
 * proxy on an ioloop the test turns. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "ioloop.h"
#include "login-master.h"
#include "mem.h"
#include "tls-proxy.h"
#include "tls-test-util.h"
#include "tls.h"

static struct test_certs *certs;

struct fixture {
	struct ioloop *loop;
	struct tls_ctx *sctx, *cctx;
	struct tls_proxy *proxy;
	struct tls_proxy_settings set;
};

/* One proxied connection as the test sees it. */
struct tconn {
	int cfd;		/* the client's TCP socket */
	int pfd;		/* the plaintext end */
	struct tls_session *cli;
};

static struct fixture *fixture_new(const struct tls_proxy_settings *set)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct tls_settings ss = { .cert_file = certs->cert,
				   .key_file = certs->key };
	const char *error = NULL;

	f->loop = ioloop_create();
	f->sctx = tls_ctx_server_create(&ss, &error);
	assert_non_null(f->sctx);
	f->cctx = tls_ctx_client_create(NULL, &error);
	assert_non_null(f->cctx);
	if (set != NULL)
		f->set = *set;
	f->proxy = tls_proxy_create(f->loop, f->sctx, &f->set);
	return f;
}

static void fixture_free(struct fixture **fp)
{
	struct fixture *f = *fp;

	tls_proxy_destroy(&f->proxy);
	assert_null(f->proxy);
	tls_ctx_destroy(&f->sctx);
	tls_ctx_destroy(&f->cctx);
	ioloop_destroy(&f->loop);
	free(f);
	*fp = NULL;
}

static void turn(struct fixture *f)
{
	ioloop_run_once(f->loop, 5);
}

/* One round without waiting (the test itself is the slow reader). */
static void turn_now(struct fixture *f)
{
	ioloop_run_once(f->loop, 0);
}

/* A new connection handed to the proxy (no handshake yet). */
static void tconn_open(struct fixture *f, struct tconn *t)
{
	int tcp[2], sp[2];

	test_tcp_pair(tcp);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	test_set_nonblock(sp[1]);
	assert_int_equal(tls_proxy_add(f->proxy, tcp[0], sp[0]), 0);
	t->cfd = tcp[1];
	t->pfd = sp[1];
	t->cli = tls_session_create(f->cctx, t->cfd, "localhost");
}

static void tconn_close(struct tconn *t)
{
	tls_session_destroy(&t->cli);
	if (t->cfd >= 0)
		close(t->cfd);
	if (t->pfd >= 0)
		close(t->pfd);
	t->cfd = t->pfd = -1;
}

static void client_handshake(struct fixture *f, struct tconn *t)
{
	for (int i = 0; i < 2000; i++) {
		enum tls_result r = tls_session_handshake(t->cli);

		if (r == TLS_DONE)
			return;
		assert_true(r == TLS_WANT_READ || r == TLS_WANT_WRITE);
		turn(f);
	}
	fail_msg("handshake did not finish");
}

static void client_write_all(struct fixture *f, struct tconn *t,
			     const char *data, size_t len)
{
	size_t done = 0;

	for (int i = 0; done < len && i < 100000; i++) {
		size_t n = 0;
		enum tls_result r = tls_session_write(t->cli, data + done,
						      len - done, &n);

		assert_int_not_equal(r, TLS_ERROR);
		done += n;
		if (r != TLS_DONE)
			turn(f);
	}
	assert_int_equal(done, len);
}

/* Reads exactly len bytes from the plaintext end. */
static void plain_read_exact(struct fixture *f, struct tconn *t, char *buf,
			     size_t len)
{
	size_t got = 0;

	for (int i = 0; got < len && i < 100000; i++) {
		ssize_t n = recv(t->pfd, buf + got, len - got, MSG_DONTWAIT);

		if (n > 0)
			got += (size_t)n;
		else {
			assert_true(n < 0 && errno == EAGAIN);
			turn(f);
		}
	}
	assert_int_equal(got, len);
}

/* Reads exactly len decrypted bytes as the client. */
static void client_read_exact(struct fixture *f, struct tconn *t, char *buf,
			      size_t len)
{
	size_t got = 0;

	for (int i = 0; got < len && i < 100000; i++) {
		size_t n = 0;
		enum tls_result r = tls_session_read(t->cli, buf + got,
						     len - got, &n);

		assert_true(r == TLS_DONE || r == TLS_WANT_READ ||
			    r == TLS_WANT_WRITE);
		got += n;
		if (r != TLS_DONE)
			turn(f);
	}
	assert_int_equal(got, len);
}

/* Waits for EOF on the plaintext end. */
static void plain_expect_eof(struct fixture *f, struct tconn *t)
{
	char c;

	for (int i = 0; i < 1000; i++) {
		ssize_t n = recv(t->pfd, &c, 1, MSG_DONTWAIT);

		if (n == 0)
			return;
		assert_true(n < 0 && errno == EAGAIN);
		turn(f);
	}
	fail_msg("no EOF on the plaintext side");
}

static void test_relay_small(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct tconn t;
	char buf[64];

	(void)state;
	tconn_open(f, &t);
	/* the greeting is written before the client's handshake: it waits */
	assert_int_equal(send(t.pfd, "* OK hello\r\n", 12, 0), 12);
	client_handshake(f, &t);
	client_read_exact(f, &t, buf, 12);
	assert_memory_equal(buf, "* OK hello\r\n", 12);
	client_write_all(f, &t, "a NOOP\r\n", 8);
	plain_read_exact(f, &t, buf, 8);
	assert_memory_equal(buf, "a NOOP\r\n", 8);
	assert_int_equal(tls_proxy_count(f->proxy), 1);
	/* idle: no buffer held */
	for (int i = 0; i < 5; i++)
		turn(f);
	assert_int_equal(tls_proxy_buffered(f->proxy), 0);
	tconn_close(&t);
	for (int i = 0; i < 20 && tls_proxy_count(f->proxy) > 0; i++)
		turn(f);
	assert_int_equal(tls_proxy_count(f->proxy), 0);
	fixture_free(&f);
}

static void fill_pattern(char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((i * 31 + seed + i / 7) & 0xff);
}

/* Megabytes each way, the reader slower than the writer: everything
 * arrives in order and the proxy never holds more than its buffers. */
static void test_relay_large_backpressure(void **state)
{
	struct tls_proxy_settings set = { .buffer_size = 4096 };
	struct fixture *f = fixture_new(&set);
	const size_t total = 3 * 1024 * 1024;
	char *out = xmalloc(total), *in = xmalloc(total);
	struct tconn t;
	size_t sent = 0, got = 0;
	size_t max_buffered = 0;

	(void)state;
	tconn_open(f, &t);
	client_handshake(f, &t);

	/* plaintext -> client */
	fill_pattern(out, total, 1);
	for (int i = 0; got < total && i < 1000000; i++) {
		if (sent < total) {
			ssize_t n = send(t.pfd, out + sent, total - sent,
					 MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
		}
		turn_now(f);
		if (tls_proxy_buffered(f->proxy) > max_buffered)
			max_buffered = tls_proxy_buffered(f->proxy);
		/* a slow reader: a little at a time */
		size_t n = 0;
		size_t want = total - got < 1000 ? total - got : 1000;
		enum tls_result r = tls_session_read(t.cli, in + got, want,
						     &n);
		assert_true(r == TLS_DONE || r == TLS_WANT_READ ||
			    r == TLS_WANT_WRITE);
		got += n;
	}
	assert_int_equal(got, total);
	assert_memory_equal(in, out, total);
	assert_true(max_buffered <= 2 * 4096);

	/* client -> plaintext */
	fill_pattern(out, total, 7);
	sent = got = 0;
	max_buffered = 0;
	for (int i = 0; got < total && i < 1000000; i++) {
		if (sent < total) {
			size_t n = 0;
			enum tls_result r = tls_session_write(
				t.cli, out + sent, total - sent, &n);
			assert_int_not_equal(r, TLS_ERROR);
			sent += n;
		}
		turn_now(f);
		if (tls_proxy_buffered(f->proxy) > max_buffered)
			max_buffered = tls_proxy_buffered(f->proxy);
		size_t want = total - got < 1000 ? total - got : 1000;
		ssize_t n = recv(t.pfd, in + got, want, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
	}
	assert_int_equal(got, total);
	assert_memory_equal(in, out, total);
	assert_true(max_buffered <= 2 * 4096);
	for (int i = 0; i < 5; i++)
		turn(f);
	assert_int_equal(tls_proxy_buffered(f->proxy), 0);
	tconn_close(&t);
	free(out);
	free(in);
	fixture_free(&f);
}

/* The plaintext side ends: what it wrote last arrives, then close_notify,
 * and the connection is gone. */
static void test_plain_eof_close_notify(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct tconn t;
	char buf[64];

	(void)state;
	tconn_open(f, &t);
	client_handshake(f, &t);
	assert_int_equal(send(t.pfd, "* BYE bye\r\n", 11, 0), 11);
	close(t.pfd);
	t.pfd = -1;
	client_read_exact(f, &t, buf, 11);
	assert_memory_equal(buf, "* BYE bye\r\n", 11);
	enum tls_result r = TLS_WANT_READ;
	for (int i = 0; i < 1000 && r != TLS_CLOSED; i++) {
		size_t n;

		r = tls_session_read(t.cli, buf, sizeof(buf), &n);
		assert_true(r == TLS_CLOSED || r == TLS_WANT_READ);
		turn(f);
	}
	assert_int_equal(r, TLS_CLOSED);
	assert_int_equal(tls_proxy_count(f->proxy), 0);
	tconn_close(&t);
	fixture_free(&f);
}

/* The client sends close_notify: the plaintext side gets the last bytes
 * then EOF, and may still answer before it closes. */
static void test_client_close(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct tconn t;
	char buf[64];

	(void)state;
	tconn_open(f, &t);
	client_handshake(f, &t);
	client_write_all(f, &t, "a LOGOUT\r\n", 10);
	while (tls_session_shutdown(t.cli) != TLS_DONE)
		turn(f);
	plain_read_exact(f, &t, buf, 10);
	assert_memory_equal(buf, "a LOGOUT\r\n", 10);
	plain_expect_eof(f, &t);
	assert_int_equal(tls_proxy_count(f->proxy), 1);
	close(t.pfd);
	t.pfd = -1;
	for (int i = 0; i < 100 && tls_proxy_count(f->proxy) > 0; i++)
		turn(f);
	assert_int_equal(tls_proxy_count(f->proxy), 0);
	tconn_close(&t);
	fixture_free(&f);
}

/* A client that connects and never handshakes is dropped at the
 * deadline, while another is served. */
static void test_handshake_deadline(void **state)
{
	struct tls_proxy_settings set = { .handshake_timeout_msecs = 300 };
	struct fixture *f = fixture_new(&set);
	struct tconn silent, good;
	char buf[16];

	(void)state;
	tconn_open(f, &silent);
	tconn_open(f, &good);
	client_handshake(f, &good);
	plain_expect_eof(f, &silent);
	assert_int_equal(tls_proxy_count(f->proxy), 1);
	client_write_all(f, &good, "x\r\n", 3);
	plain_read_exact(f, &good, buf, 3);
	assert_memory_equal(buf, "x\r\n", 3);
	tconn_close(&silent);
	tconn_close(&good);
	fixture_free(&f);
}

static void count_quiet(void *context)
{
	(*(unsigned int *)context)++;
}

/* The quiet callback: once after the handshakes settle, not again while
 * nothing happens. */
static void test_quiet(void **state)
{
	static unsigned int quiet;
	struct tls_proxy_settings set = { .quiet = count_quiet,
					  .quiet_context = &quiet };
	struct fixture *f = fixture_new(&set);
	struct tconn t;

	(void)state;
	quiet = 0;
	tconn_open(f, &t);
	client_handshake(f, &t);
	assert_int_equal(quiet, 0);
	for (int i = 0; i < 600 && quiet == 0; i++)
		turn(f);
	assert_int_equal(quiet, 1);
	for (int i = 0; i < 300; i++)
		turn(f);
	assert_int_equal(quiet, 1);
	tconn_close(&t);
	fixture_free(&f);
}

/* A client that stops reading: once nothing moves for the write
 * timeout, both sides are closed. */
static void test_write_timeout(void **state)
{
	struct tls_proxy_settings set = { .buffer_size = 4096,
					  .write_timeout_msecs = 300 };
	struct fixture *f = fixture_new(&set);
	struct tconn t;
	static char junk[65536];
	bool closed = false;

	(void)state;
	memset(junk, 'x', sizeof(junk));
	tconn_open(f, &t);
	client_handshake(f, &t);
	for (int i = 0; i < 4000 && !closed; i++) {
		ssize_t n = send(t.pfd, junk, sizeof(junk),
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			closed = true;
		turn(f);
		if (tls_proxy_count(f->proxy) == 0)
			closed = true;
	}
	assert_true(closed);
	assert_int_equal(tls_proxy_count(f->proxy), 0);
	assert_int_equal(tls_proxy_buffered(f->proxy), 0);
	tconn_close(&t);
	fixture_free(&f);
}

/* Plaintext where the ClientHello should be: the handshake fails and both
 * sockets close; so does a client that closes without handshaking. */
static void test_garbage_handshake(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct tconn t, u;

	(void)state;
	tconn_open(f, &t);
	assert_int_equal(send(t.cfd, "a LOGIN user pass\r\n", 19, 0), 19);
	plain_expect_eof(f, &t);
	tconn_open(f, &u);
	close(u.cfd);
	u.cfd = -1;
	plain_expect_eof(f, &u);
	assert_int_equal(tls_proxy_count(f->proxy), 0);
	tconn_close(&t);
	tconn_close(&u);
	fixture_free(&f);
}

/* The limit: the next connection is refused, the fds stay the caller's;
 * once one ends there is room again. */
static void test_max_conns(void **state)
{
	struct tls_proxy_settings set = { .max_conns = 2 };
	struct fixture *f = fixture_new(&set);
	struct tconn a, b, c;
	int tcp[2], sp[2];

	(void)state;
	tconn_open(f, &a);
	tconn_open(f, &b);
	test_tcp_pair(tcp);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(tls_proxy_add(f->proxy, tcp[0], sp[0]), -1);
	/* still ours: closing them works */
	assert_int_equal(close(tcp[0]), 0);
	assert_int_equal(close(sp[0]), 0);
	close(tcp[1]);
	close(sp[1]);
	tconn_close(&a);
	for (int i = 0; i < 100 && tls_proxy_count(f->proxy) > 1; i++)
		turn(f);
	assert_int_equal(tls_proxy_count(f->proxy), 1);
	tconn_open(f, &c);
	client_handshake(f, &c);
	tconn_close(&b);
	tconn_close(&c);
	/* the rest is closed by tls_proxy_destroy() */
	fixture_free(&f);
}

/* Many connections on one proxy, interleaved. */
static void test_many(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct tconn t[20];
	char buf[32];

	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(t); i++)
		tconn_open(f, &t[i]);
	for (size_t i = 0; i < N_ELEMENTS(t); i++)
		client_handshake(f, &t[i]);
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		char msg[16];
		int len = snprintf(msg, sizeof(msg), "c%zu\r\n", i);

		client_write_all(f, &t[i], msg, (size_t)len);
		assert_int_equal(send(t[i].pfd, msg, (size_t)len, 0), len);
	}
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		char msg[16];
		int len = snprintf(msg, sizeof(msg), "c%zu\r\n", i);

		plain_read_exact(f, &t[i], buf, (size_t)len);
		assert_memory_equal(buf, msg, (size_t)len);
		client_read_exact(f, &t[i], buf, (size_t)len);
		assert_memory_equal(buf, msg, (size_t)len);
	}
	assert_int_equal(tls_proxy_count(f->proxy), N_ELEMENTS(t));
	for (size_t i = 0; i < N_ELEMENTS(t); i++)
		tconn_close(&t[i]);
	fixture_free(&f);
}

/* How imapd's master hands a connection to a proxy: one message with the
 * client's socket and the plaintext end (login_master_send_fds()). */
static void test_fd_passing(void **state)
{
	int sv[2], p1[2], p2[2], fds[4];
	struct iovec iov = { (void *)"C", 1 };
	size_t nfds;
	int flags;
	char buf[8];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	int two[2] = { p1[1], p2[1] };
	assert_int_equal(login_master_send_fds(sv[0], &iov, 1, two, 2), 1);
	assert_int_equal(login_master_recv_fds(sv[1], buf, sizeof(buf), fds,
					       2, &nfds, &flags), 1);
	assert_int_equal(buf[0], 'C');
	assert_int_equal(nfds, 2);
	/* in order: the first received writes into the first pipe */
	assert_int_equal(write(fds[0], "1", 1), 1);
	assert_int_equal(write(fds[1], "2", 1), 1);
	assert_int_equal(read(p1[0], buf, 1), 1);
	assert_int_equal(buf[0], '1');
	assert_int_equal(read(p2[0], buf, 1), 1);
	assert_int_equal(buf[0], '2');
	close(fds[0]);
	close(fds[1]);
	/* more than wanted: the rest are closed, not leaked */
	assert_int_equal(login_master_send_fds(sv[0], &iov, 1, two, 2), 1);
	assert_int_equal(login_master_recv_fds(sv[1], buf, sizeof(buf), fds,
					       1, &nfds, &flags), 1);
	assert_int_equal(nfds, 1);
	close(fds[0]);
	/* no fd at all */
	assert_int_equal(login_master_send_fds(sv[0], &iov, 1, NULL, 0), 1);
	assert_int_equal(login_master_recv_fds(sv[1], buf, sizeof(buf), fds,
					       2, &nfds, &flags), 1);
	assert_int_equal(nfds, 0);
	/* too many to send */
	int five[5] = { p1[1], p1[1], p1[1], p1[1], p1[1] };
	assert_int_equal(login_master_send_fds(sv[0], &iov, 1, five, 5), -1);
	assert_int_equal(errno, EINVAL);
	/* both pipes' write ends are closed now but for ours: EOF after */
	close(p1[1]);
	close(p2[1]);
	assert_int_equal(read(p1[0], buf, 1), 0);
	assert_int_equal(read(p2[0], buf, 1), 0);
	close(p1[0]);
	close(p2[0]);
	close(sv[0]);
	close(sv[1]);
}

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	certs = test_certs_create();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_certs_destroy(&certs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_small),
		cmocka_unit_test(test_relay_large_backpressure),
		cmocka_unit_test(test_plain_eof_close_notify),
		cmocka_unit_test(test_client_close),
		cmocka_unit_test(test_handshake_deadline),
		cmocka_unit_test(test_write_timeout),
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_garbage_handshake),
		cmocka_unit_test(test_max_conns),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_fd_passing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
