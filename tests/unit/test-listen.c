/* test-listen.c: unit tests for lib/listen (TCP listeners and limits). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "ioloop.h"
#include "listen.h"
#include "log.h"
#include "mem.h"

static int errors_logged;

static void count_log(enum log_level level, const char *line, void *context)
{
	if (level >= LOG_LEVEL_WARNING)
		errors_logged++;
}

/* ---------------------------------------------------------------- parsing */

static void test_parse_valid(void **state)
{
	struct listen_address a;
	const char *error;
	const struct sockaddr_in *sin = (const void *)&a.ss;
	const struct sockaddr_in6 *sin6 = (const void *)&a.ss;
	char ip[INET6_ADDRSTRLEN];

	assert_int_equal(listen_parse_address("127.0.0.1:2525", &a, &error), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.port, 2525);
	assert_int_equal(ntohs(sin->sin_port), 2525);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));

	assert_int_equal(listen_parse_address("[::1]:2143", &a, &error), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.port, 2143);
	assert_int_equal(ntohs(sin6->sin6_port), 2143);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	assert_int_equal(listen_parse_address("[2001:db8::25]:25", &a, &error),
			 0);
	assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip)));
	assert_string_equal(ip, "2001:db8::25");

	assert_int_equal(listen_parse_address("*:25", &a, &error), 0);
	assert_int_equal(a.family, AF_UNSPEC);
	assert_int_equal(a.port, 25);
	assert_int_equal(listen_parse_address("25", &a, &error), 0);
	assert_int_equal(a.family, AF_UNSPEC);
	assert_int_equal(a.port, 25);
	assert_int_equal(listen_parse_address("0.0.0.0:25", &a, &error), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(listen_parse_address("[::]:0", &a, &error), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.port, 0);
	assert_int_equal(listen_parse_address("1.2.3.4:65535", &a, &error), 0);
	assert_int_equal(a.port, 65535);
	assert_int_equal(listen_parse_address("1.2.3.4:00025", &a, &error), 0);
	assert_int_equal(a.port, 25);
}

static void test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"", ":25", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:25x", "127.0.0.1:+25", "1.2.3:25",
		"1.2.3.4.5:25", "256.1.1.1:25", "::1:25", "[::1]25", "[::1",
		"[::1]:", "[1.2.3.4]:25", "localhost:25", "127.0.0.1 :25",
		"[]:25", "*:", "*", "1.2.3.4:000025", "[::1]:25:", "[::1]]:25",
		"[[::1]:25", "1.2.3.4:99999999999999999999", " 25", "25 ",
		"1.2.3.4:2\n5", "[::1%lo]:25", "1.2.3.4:\xff", "[fe80::1]x:25",
		"*:*",
	};
	struct listen_address a;
	char longtext[400];

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		const char *error = NULL;

		if (listen_parse_address(bad[i], &a, &error) != -1)
			fail_msg("accepted malformed address \"%s\"", bad[i]);
		assert_non_null(error);
		assert_true(strlen(error) > 0);
	}
	memset(longtext, '1', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	longtext[3] = ':';
	{
		const char *error = NULL;

		assert_int_equal(listen_parse_address(longtext, &a, &error),
				 -1);
		assert_string_equal(error, "address too long");
	}
}

/* ---------------------------------------------------------------- helpers */

struct accept_ctx {
	struct ioloop *loop;
	struct listen_service *svc;
	int accepted, refused;
	enum listen_refusal why;
	struct listen_client last;
	int fds[8];
	struct listen_conn *conns[8];
	bool nodelay, nonblock, cloexec;
	bool destroy_in_callback;
};

static void accept_cb(struct listen_client *client, void *context)
{
	struct accept_ctx *ctx = context;
	int one = 0;
	socklen_t len = sizeof(one);

	assert_true(ctx->accepted < (int)N_ELEMENTS(ctx->fds));
	assert_non_null(client->conn);
	ctx->last = *client;
	ctx->fds[ctx->accepted] = client->fd;
	ctx->conns[ctx->accepted] = client->conn;
	ctx->accepted++;
	ctx->nodelay = getsockopt(client->fd, IPPROTO_TCP, TCP_NODELAY, &one,
				  &len) == 0 && one != 0;
	ctx->nonblock = (fcntl(client->fd, F_GETFL) & O_NONBLOCK) != 0;
	ctx->cloexec = (fcntl(client->fd, F_GETFD) & FD_CLOEXEC) != 0;
	if (ctx->destroy_in_callback)
		listen_service_destroy(&ctx->svc);
}

static void refused_cb(struct listen_client *client, enum listen_refusal why,
		       void *context)
{
	struct accept_ctx *ctx = context;
	static const char busy[] = "421 busy\r\n";

	assert_null(client->conn);
	ctx->refused++;
	ctx->why = why;
	ctx->last = *client;
	assert_int_equal(write(client->fd, busy, sizeof(busy) - 1),
			 (ssize_t)sizeof(busy) - 1);
	close(client->fd);
}

static void ctx_cleanup(struct accept_ctx *ctx)
{
	for (int i = 0; i < ctx->accepted; i++) {
		if (ctx->conns[i] != NULL) {
			close(ctx->fds[i]);
			listen_conn_closed(&ctx->conns[i]);
		}
	}
	listen_service_destroy(&ctx->svc);
	ioloop_destroy(&ctx->loop);
}

/* Connects a blocking client socket; returns the fd or -1. */
static int connect_to(int family, const char *ip, unsigned int port)
{
	struct sockaddr_storage ss;
	struct timeval tv = { .tv_sec = 1 };
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A broken listener must fail the test, not hang it. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof(tv)), 0);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs the loop until accepted + refused reaches n (or 2 s pass). */
static void wait_for(struct accept_ctx *ctx, int n)
{
	uint64_t start = ioloop_now_ms(ctx->loop);

	while (ctx->accepted + ctx->refused < n &&
	       ioloop_now_ms(ctx->loop) - start < 2000)
		ioloop_run_once(ctx->loop, 50);
	assert_int_equal(ctx->accepted + ctx->refused, n);
}

static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

/* ---------------------------------------------------------------- accept */

static void test_accept_ipv4(void **state)
{
	struct accept_ctx ctx = { .loop = ioloop_create() };
	const char *error;
	unsigned int port;
	int c;

	ctx.svc = listen_service_create(ctx.loop, NULL, accept_cb, refused_cb,
					&ctx);
	assert_int_equal(listen_service_add(ctx.svc, "127.0.0.1:0", &error),
			 0);
	assert_int_equal(listen_service_count(ctx.svc), 1);
	port = listen_service_port(ctx.svc, 0);
	assert_true(port > 0);

	c = connect_to(AF_INET, "127.0.0.1", port);
	assert_true(c >= 0);
	wait_for(&ctx, 1);
	assert_int_equal(ctx.accepted, 1);
	assert_string_equal(ctx.last.remote_ip, "127.0.0.1");
	assert_string_equal(ctx.last.local_ip, "127.0.0.1");
	assert_int_equal(ctx.last.local_port, port);
	assert_true(ctx.last.remote_port > 0);
	assert_int_equal(ctx.last.remote.ss_family, AF_INET);
	assert_int_equal(ctx.last.remote_len, sizeof(struct sockaddr_in));
	assert_string_equal(ctx.last.listen_address, "127.0.0.1:0");
	assert_true(ctx.nodelay);
	assert_true(ctx.nonblock);
	assert_true(ctx.cloexec);
	assert_int_equal(listen_service_connections(ctx.svc), 1);
	assert_int_equal(listen_service_ip_connections(ctx.svc, "127.0.0.1"),
			 1);

	/* Bytes flow over the accepted socket. */
	assert_int_equal(write(ctx.fds[0], "220 hi\r\n", 8), 8);
	{
		char buf[16];

		assert_int_equal(read(c, buf, sizeof(buf)), 8);
		assert_memory_equal(buf, "220 hi\r\n", 8);
	}
	close(c);
	close(ctx.fds[0]);
	listen_conn_closed(&ctx.conns[0]);
	assert_null(ctx.conns[0]);
	assert_int_equal(listen_service_connections(ctx.svc), 0);
	assert_int_equal(listen_service_ip_connections(ctx.svc, "127.0.0.1"),
			 0);
	ctx_cleanup(&ctx);
}

static void test_accept_ipv6(void **state)
{
	struct listen_settings set = { .ipv6_prefix = 64 };
	struct accept_ctx ctx = { .loop = ioloop_create() };
	const char *error;
	int c;

	if (!have_ipv6_loopback()) {
		ioloop_destroy(&ctx.loop);
		skip();
	}
	ctx.svc = listen_service_create(ctx.loop, &set, accept_cb, refused_cb,
					&ctx);
	assert_int_equal(listen_service_add(ctx.svc, "[::1]:0", &error), 0);
	c = connect_to(AF_INET6, "::1", listen_service_port(ctx.svc, 0));
	assert_true(c >= 0);
	wait_for(&ctx, 1);
	assert_string_equal(ctx.last.remote_ip, "::1");
	assert_string_equal(ctx.last.local_ip, "::1");
	assert_int_equal(ctx.last.remote.ss_family, AF_INET6);
	assert_true(ctx.nodelay);
	assert_int_equal(listen_service_ip_connections(ctx.svc, "::1"), 1);
	/* Counted by /64: a neighbour shares the count, others do not. */
	assert_int_equal(listen_service_ip_connections(ctx.svc, "::2"), 1);
	assert_int_equal(listen_service_ip_connections(ctx.svc, "::1:0:0:1"),
			 1);
	assert_int_equal(listen_service_ip_connections(ctx.svc, "1::1"), 0);
	assert_int_equal(listen_service_ip_connections(ctx.svc, "bogus"), 0);
	/* IPv4 does not reach an IPv6-only listener. */
	assert_int_equal(connect_to(AF_INET, "127.0.0.1",
				    listen_service_port(ctx.svc, 0)), -1);
	close(c);
	ctx_cleanup(&ctx);
}

/* "*" takes IPv4 clients too, shown as plain IPv4. */
static void test_accept_any_dual_stack(void **state)
{
	struct accept_ctx ctx = { .loop = ioloop_create() };
	const char *error;
	unsigned int port;
	int c, c6 = -1;

	ctx.svc = listen_service_create(ctx.loop, NULL, accept_cb, refused_cb,
					&ctx);
	assert_int_equal(listen_service_add(ctx.svc, "*:0", &error), 0);
	port = listen_service_port(ctx.svc, 0);
	c = connect_to(AF_INET, "127.0.0.1", port);
	assert_true(c >= 0);
	wait_for(&ctx, 1);
	assert_string_equal(ctx.last.remote_ip, "127.0.0.1");
	assert_int_equal(ctx.last.remote.ss_family, AF_INET);
	assert_int_equal(ctx.last.local.ss_family, AF_INET);
	assert_string_equal(ctx.last.local_ip, "127.0.0.1");
	if (have_ipv6_loopback()) {
		c6 = connect_to(AF_INET6, "::1", port);
		assert_true(c6 >= 0);
		wait_for(&ctx, 2);
		assert_string_equal(ctx.last.remote_ip, "::1");
	}
	close(c);
	if (c6 >= 0)
		close(c6);
	ctx_cleanup(&ctx);
}

static int read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t ret;

	while (got < size - 1 && (ret = read(fd, buf + got,
					     size - 1 - got)) > 0)
		got += (size_t)ret;
	buf[got] = '\0';
	return (int)got;
}

static void test_per_ip_limit(void **state)
{
	struct listen_settings set = { .max_per_ip = 2 };
	struct accept_ctx ctx = { .loop = ioloop_create() };
	const char *error;
	unsigned int port;
	int c[4];
	char buf[64];

	ctx.svc = listen_service_create(ctx.loop, &set, accept_cb, refused_cb,
					&ctx);
	assert_int_equal(listen_service_add(ctx.svc, "127.0.0.1:0", &error),
			 0);
	port = listen_service_port(ctx.svc, 0);
	for (int i = 0; i < 3; i++) {
		c[i] = connect_to(AF_INET, "127.0.0.1", port);
		assert_true(c[i] >= 0);
		wait_for(&ctx, i + 1);
	}
	assert_int_equal(ctx.accepted, 2);
	assert_int_equal(ctx.refused, 1);
	assert_int_equal(ctx.why, LISTEN_REFUSED_PER_IP);
	assert_string_equal(ctx.last.remote_ip, "127.0.0.1");
	assert_int_equal(listen_service_ip_connections(ctx.svc, "127.0.0.1"),
			 2);
	/* The refused client got the protocol's busy reply, then EOF. */
	assert_int_equal(read_all(c[2], buf, sizeof(buf)), 10);
	assert_string_equal(buf, "421 busy\r\n");
	close(c[2]);

	/* Releasing one place lets the next client in. */
	close(ctx.fds[0]);
	listen_conn_closed(&ctx.conns[0]);
	assert_int_equal(listen_service_ip_connections(ctx.svc, "127.0.0.1"),
			 1);
	c[3] = connect_to(AF_INET, "127.0.0.1", port);
	assert_true(c[3] >= 0);
	wait_for(&ctx, 4);
	assert_int_equal(ctx.accepted, 3);
	assert_int_equal(ctx.refused, 1);
	assert_int_equal(listen_service_ip_connections(ctx.svc, "127.0.0.1"),
			 2);
	close(c[0]);
	close(c[1]);
	close(c[3]);
	ctx_cleanup(&ctx);
}

/* The total limit, and refusal without a callback: closed at once. */
static void test_total_limit(void **state)
{
	struct listen_settings set = { .max_connections = 1 };
	struct accept_ctx ctx = { .loop = ioloop_create() };
	const char *error;
	unsigned int port;
	int c1, c2;
	char buf[8];

	ctx.svc = listen_service_create(ctx.loop, &set, accept_cb, NULL, &ctx);
	assert_int_equal(listen_service_add(ctx.svc, "127.0.0.1:0", &error),
			 0);
	port = listen_service_port(ctx.svc, 0);
	c1 = connect_to(AF_INET, "127.0.0.1", port);
	wait_for(&ctx, 1);
	c2 = connect_to(AF_INET, "127.0.0.1", port);
	assert_true(c2 >= 0);
	/* Closed by the listener: the client reads EOF. */
	for (int i = 0; i < 3; i++)
		ioloop_run_once(ctx.loop, 20);
	assert_int_equal(read_all(c2, buf, sizeof(buf)), 0);
	assert_int_equal(ctx.accepted, 1);
	assert_int_equal(listen_service_connections(ctx.svc), 1);
	close(c1);
	close(c2);
	ctx_cleanup(&ctx);
}

static void test_total_limit_refused_cb(void **state)
{
	struct listen_settings set = { .max_connections = 1, .max_per_ip = 5 };
	struct accept_ctx ctx = { .loop = ioloop_create() };
	const char *error;
	unsigned int port;
	int c1, c2;

	ctx.svc = listen_service_create(ctx.loop, &set, accept_cb, refused_cb,
					&ctx);
	assert_int_equal(listen_service_add(ctx.svc, "127.0.0.1:0", &error),
			 0);
	port = listen_service_port(ctx.svc, 0);
	c1 = connect_to(AF_INET, "127.0.0.1", port);
	c2 = connect_to(AF_INET, "127.0.0.1", port);
	wait_for(&ctx, 2);
	assert_int_equal(ctx.accepted, 1);
	assert_int_equal(ctx.refused, 1);
	assert_int_equal(ctx.why, LISTEN_REFUSED_TOTAL);
	close(c1);
	close(c2);
	ctx_cleanup(&ctx);
}

static void test_bind_error(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct listen_service *a, *b;
	const char *error = NULL;
	char addr[64], expected[128];

	a = listen_service_create(loop, NULL, accept_cb, NULL, NULL);
	b = listen_service_create(loop, NULL, accept_cb, NULL, NULL);
	assert_int_equal(listen_service_add(a, "127.0.0.1:0", &error), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", listen_service_port(a, 0));
	assert_int_equal(listen_service_add(b, addr, &error), -1);
	snprintf(expected, sizeof(expected), "%s: Address already in use",
		 addr);
	assert_string_equal(error, expected);
	assert_int_equal(listen_service_count(b), 0);

	/* Malformed text: named in the message. */
	assert_int_equal(listen_service_add(b, "127.0.0.1:99999", &error), -1);
	assert_string_equal(error, "127.0.0.1:99999: invalid port (0-65535)");
	assert_int_equal(listen_service_add(b, "localhost:25", &error), -1);
	assert_string_equal(error,
			    "localhost:25: not a numeric IPv4 address");
	/* An address this host does not have. */
	assert_int_equal(listen_service_add(b, "192.0.2.1:0", &error), -1);
	assert_string_equal(error,
			    "192.0.2.1:0: Cannot assign requested address");
	assert_int_equal(listen_service_add_list(b, " , ", &error), -1);
	assert_string_equal(error, "no listen address given");

	listen_service_destroy(&a);
	listen_service_destroy(&b);
	assert_null(b);
	listen_service_destroy(&b);
	ioloop_destroy(&loop);
}

static void test_add_list(void **state)
{
	struct accept_ctx ctx = { .loop = ioloop_create() };
	const char *error;
	int c1, c2;

	ctx.svc = listen_service_create(ctx.loop, NULL, accept_cb, refused_cb,
					&ctx);
	assert_int_equal(listen_service_add_list(ctx.svc,
						 "127.0.0.1:0, 127.0.0.1:0",
						 &error), 0);
	assert_int_equal(listen_service_count(ctx.svc), 2);
	assert_int_not_equal(listen_service_port(ctx.svc, 0),
			     listen_service_port(ctx.svc, 1));
	c1 = connect_to(AF_INET, "127.0.0.1", listen_service_port(ctx.svc, 0));
	c2 = connect_to(AF_INET, "127.0.0.1", listen_service_port(ctx.svc, 1));
	wait_for(&ctx, 2);
	assert_int_equal(listen_service_connections(ctx.svc), 2);

	/* Closing the listeners refuses new clients, keeps the old ones. */
	listen_service_close_listeners(ctx.svc);
	assert_int_equal(listen_service_count(ctx.svc), 0);
	assert_int_equal(connect_to(AF_INET, "127.0.0.1",
				    ctx.last.local_port), -1);
	assert_int_equal(listen_service_connections(ctx.svc), 2);
	close(c1);
	close(c2);
	ctx_cleanup(&ctx);
}

/* Destroying the service from its own callback; the connection's handle
 * outlives it. */
static void test_destroy_in_callback(void **state)
{
	struct accept_ctx ctx = { .loop = ioloop_create() };
	const char *error;
	int c1, c2;
	unsigned int port;

	ctx.destroy_in_callback = true;
	ctx.svc = listen_service_create(ctx.loop, NULL, accept_cb, refused_cb,
					&ctx);
	assert_int_equal(listen_service_add(ctx.svc, "127.0.0.1:0", &error),
			 0);
	port = listen_service_port(ctx.svc, 0);
	c1 = connect_to(AF_INET, "127.0.0.1", port);
	c2 = connect_to(AF_INET, "127.0.0.1", port);
	wait_for(&ctx, 1);
	assert_null(ctx.svc);
	ioloop_run_once(ctx.loop, 20);
	assert_int_equal(ctx.accepted, 1);
	close(c1);
	close(c2);
	ctx_cleanup(&ctx);
}

struct burst_ctx {
	int accepted;
	int fds[64];
	struct listen_conn *conns[64];
};

static void burst_accept_cb(struct listen_client *client, void *context)
{
	struct burst_ctx *ctx = context;

	assert_true(ctx->accepted < (int)N_ELEMENTS(ctx->fds));
	ctx->fds[ctx->accepted] = client->fd;
	ctx->conns[ctx->accepted] = client->conn;
	ctx->accepted++;
}

/* More clients than one accept batch: all are taken, over rounds. */
static void test_accept_burst(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct burst_ctx ctx = { 0 };
	struct listen_service *svc;
	const char *error;
	int c[50];
	uint64_t start;

	svc = listen_service_create(loop, NULL, burst_accept_cb, NULL, &ctx);
	assert_int_equal(listen_service_add(svc, "127.0.0.1:0", &error), 0);
	for (size_t i = 0; i < N_ELEMENTS(c); i++) {
		c[i] = connect_to(AF_INET, "127.0.0.1",
				  listen_service_port(svc, 0));
		assert_true(c[i] >= 0);
	}
	start = ioloop_now_ms(loop);
	while (ctx.accepted < (int)N_ELEMENTS(c) &&
	       ioloop_now_ms(loop) - start < 2000)
		ioloop_run_once(loop, 50);
	assert_int_equal(ctx.accepted, N_ELEMENTS(c));
	assert_int_equal(listen_service_ip_connections(svc, "127.0.0.1"),
			 N_ELEMENTS(c));
	for (int i = 0; i < ctx.accepted; i++) {
		close(ctx.fds[i]);
		listen_conn_closed(&ctx.conns[i]);
	}
	assert_int_equal(listen_service_connections(svc), 0);
	for (size_t i = 0; i < N_ELEMENTS(c); i++)
		close(c[i]);
	listen_service_destroy(&svc);
	ioloop_destroy(&loop);
}

/* Out of fds: accepting pauses instead of spinning, and resumes when a
 * connection of the service closes. */
static void test_emfile_pauses(void **state)
{
	struct listen_settings set = { .accept_pause_msecs = 5000 };
	struct accept_ctx ctx = { .loop = ioloop_create() };
	struct rlimit old_rl, rl;
	const char *error;
	int c0, c, fillers[64], n = 0, probe;
	uint64_t start;
	unsigned int rounds = 0;

	ctx.svc = listen_service_create(ctx.loop, &set, accept_cb, refused_cb,
					&ctx);
	assert_int_equal(listen_service_add(ctx.svc, "127.0.0.1:0", &error),
			 0);
	c0 = connect_to(AF_INET, "127.0.0.1", listen_service_port(ctx.svc, 0));
	assert_true(c0 >= 0);
	wait_for(&ctx, 1);
	c = connect_to(AF_INET, "127.0.0.1", listen_service_port(ctx.svc, 0));
	assert_true(c >= 0);

	/* Lower the fd limit to just above the highest fd in use, then
	 * fill what is left. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old_rl), 0);
	probe = dup(c);
	assert_true(probe >= 0);
	close(probe);
	rl = old_rl;
	rl.rlim_cur = (rlim_t)probe + 8;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (n < (int)N_ELEMENTS(fillers) && (fillers[n] = dup(c)) >= 0)
		n++;
	assert_int_equal(errno, EMFILE);

	errors_logged = 0;
	start = ioloop_now_ms(ctx.loop);
	while (ioloop_now_ms(ctx.loop) - start < 50) {
		ioloop_run_once(ctx.loop, 10);
		rounds++;
	}
	assert_int_equal(ctx.accepted, 1);
	assert_int_equal(errors_logged, 1);
	/* Paused: each round slept its 10 ms instead of retrying the
	 * backlog at once. */
	assert_true(rounds <= 6);

	/* The first connection ends: its fd is free, accepting resumes
	 * long before the pause would end. */
	close(ctx.fds[0]);
	listen_conn_closed(&ctx.conns[0]);
	start = ioloop_now_ms(ctx.loop);
	wait_for(&ctx, 2);
	assert_true(ioloop_now_ms(ctx.loop) - start < 1000);
	assert_int_equal(errors_logged, 1);

	for (int i = 0; i < n; i++)
		close(fillers[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old_rl), 0);
	errors_logged = 0;
	close(c0);
	close(c);
	ctx_cleanup(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_accept_ipv4),
		cmocka_unit_test(test_accept_ipv6),
		cmocka_unit_test(test_accept_any_dual_stack),
		cmocka_unit_test(test_per_ip_limit),
		cmocka_unit_test(test_total_limit),
		cmocka_unit_test(test_total_limit_refused_cb),
		cmocka_unit_test(test_bind_error),
		cmocka_unit_test(test_add_list),
		cmocka_unit_test(test_destroy_in_callback),
		cmocka_unit_test(test_accept_burst),
		cmocka_unit_test(test_emfile_pauses),
	};

	log_set_handler(count_log, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
