/* test-conn.c: unit tests for lib/conn: line splitting at every byte,
 * overlong lines, raw mode, pause/resume, corked replies, backpressure,
 * timeouts, EOF, waiting input, fd pairs, implicit TLS and STARTTLS (with the input sent
 * before the handshake thrown away), over socketpairs and TCP. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "conn.h"
#include "ioloop.h"
#include "mem.h"
#include "str.h"
#include "tls.h"
#include "tls-test-util.h"

static struct test_certs *certs;

/* What a test server saw, as text: "L:line", "TOOLONG", "R:bytes$"
 * (with $ on the last piece), "TLS", "DRAINED", "DISC:reason:text". */
struct rec {
	struct ioloop *loop;
	struct conn *conn;
	struct str *ev;
	struct tls_ctx *starttls_ctx;
	bool echo, disconnected, tls_ready, in_raw, show_pieces;
	enum conn_disconnect_reason reason;
	/* Backpressure test: bytes still to produce and the peak buffer. */
	size_t produce_left, peak_pending, chunk;
	unsigned int drained;
};

static void produce(struct rec *r)
{
	static char chunk[16384];

	while (r->produce_left > 0) {
		size_t n = r->produce_left < r->chunk ? r->produce_left :
			r->chunk;
		int ret;

		for (size_t i = 0; i < n; i++)
			chunk[i] = (char)('a' + (r->produce_left - i) % 26);
		r->produce_left -= n;
		ret = conn_write(r->conn, chunk, n);
		if (conn_output_pending(r->conn) > r->peak_pending)
			r->peak_pending = conn_output_pending(r->conn);
		if (ret == 0)
			break;
	}
}

static void rec_line(struct conn *conn, const char *line, size_t len,
		     void *context)
{
	struct rec *r = context;
	const char *error;

	assert_int_equal(line[len], '\0');
	str_append(r->ev, "L:");
	str_append_n(r->ev, line, len);
	str_append(r->ev, "\n");
	if (str_begins_with(line, "RAW "))
		conn_input_raw(conn, strtoul(line + 4, NULL, 10));
	else if (strcmp(line, "PAUSE") == 0)
		conn_input_pause(conn);
	else if (strcmp(line, "QUIT") == 0) {
		conn_write_str(conn, "221 Bye\r\n");
		conn_close(conn);
	} else if (strcmp(line, "STARTTLS") == 0) {
		conn_write_str(conn, "220 Ready to start TLS\r\n");
		assert_int_equal(conn_start_tls(conn, r->starttls_ctx, NULL,
						&error), 0);
		assert_int_equal(conn_start_tls(conn, r->starttls_ctx, NULL,
						&error), -1);
	} else if (strcmp(line, "BIG") == 0) {
		produce(r);
	} else if (strcmp(line, "MULTI") == 0) {
		conn_write_str(conn, "250-one\r\n");
		conn_write_str(conn, "250-two\r\n");
		conn_printf(conn, "250 %s\r\n", "three");
	} else if (r->echo) {
		conn_printf(conn, "> %s\r\n", line);
	}
}

static void rec_too_long(struct conn *conn, void *context)
{
	struct rec *r = context;

	str_append(r->ev, "TOOLONG\n");
	if (r->echo)
		conn_write_str(conn, "500 Line too long\r\n");
}

static void rec_raw(struct conn *conn, const void *data, size_t len,
		    bool last, void *context)
{
	struct rec *r = context;

	assert_true(len > 0);
	/* Pieces of one raw count are shown joined, unless asked not to. */
	if (!r->in_raw || r->show_pieces)
		str_append(r->ev, "R:");
	str_append_n(r->ev, data, len);
	r->in_raw = !last;
	if (last)
		str_append(r->ev, "$\n");
}

static void rec_drained(struct conn *conn, void *context)
{
	struct rec *r = context;

	r->drained++;
	produce(r);
}

static void rec_tls_ready(struct conn *conn, void *context)
{
	struct rec *r = context;

	r->tls_ready = true;
	assert_true(conn_is_tls(conn));
	str_printfa(r->ev, "TLS:%s\n",
		    tls_session_protocol(conn_tls_session(conn)));
}

static void rec_disconnected(struct conn *conn,
			     enum conn_disconnect_reason reason,
			     const char *text, void *context)
{
	struct rec *r = context;

	assert_false(r->disconnected);
	r->disconnected = true;
	r->reason = reason;
	str_printfa(r->ev, "DISC:%d:%s\n", (int)reason, text);
	conn_destroy(&r->conn);
}

static const struct conn_callbacks rec_callbacks = {
	.line = rec_line,
	.line_too_long = rec_too_long,
	.raw = rec_raw,
	.output_drained = rec_drained,
	.tls_ready = rec_tls_ready,
	.disconnected = rec_disconnected,
};

static void rec_init(struct rec *r, struct ioloop *loop)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->ev = str_new(256);
	r->chunk = 16384;
}

static void rec_deinit(struct rec *r)
{
	conn_destroy(&r->conn);
	str_destroy(&r->ev);
}

static void run_ms(struct ioloop *loop, unsigned int msecs)
{
	uint64_t start = ioloop_now_ms(loop);

	do {
		ioloop_run_once(loop, 5);
	} while (ioloop_now_ms(loop) - start < msecs);
}

/* Runs the loop until the events end with (or contain) want. */
static void run_until_ev(struct rec *r, const char *want)
{
	uint64_t start;

	ioloop_run_once(r->loop, 0);
	start = ioloop_now_ms(r->loop);
	while (strstr(str_c(r->ev), want) == NULL &&
	       ioloop_now_ms(r->loop) - start < 5000)
		ioloop_run_once(r->loop, 20);
	if (strstr(str_c(r->ev), want) == NULL)
		fail_msg("events \"%s\" lack \"%s\"", str_c(r->ev), want);
}

/* Reads from a non-blocking fd while the loop runs, until got holds
 * want or the fd reaches EOF (when want is NULL). */
static void client_read_until(struct ioloop *loop, int fd, struct str *got,
			      const char *want)
{
	uint64_t start = ioloop_now_ms(loop);
	char buf[65536];

	while (ioloop_now_ms(loop) - start < 5000) {
		ssize_t n;

		if (want != NULL && strstr(str_c(got), want) != NULL)
			return;
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			str_append_n(got, buf, (size_t)n);
			continue;
		}
		if (n == 0 && want == NULL)
			return;
		assert_true(n == 0 || errno == EAGAIN);
		ioloop_run_once(loop, 5);
	}
	fail_msg("client read \"%s\", waited for \"%s\"", str_c(got),
		 want != NULL ? want : "EOF");
}

static void write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			assert_true(poll(&pfd, 1, 5000) == 1);
			continue;
		}
		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

static void socket_pair(int type, int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, type, 0, fds), 0);
	test_set_nonblock(fds[1]);
}

/* Feeds input in the given pieces to a fresh server conn, returns the
 * events (caller frees). */
static char *feed(const char *input, const size_t *cuts, size_t ncuts,
		  size_t max_line_len)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = max_line_len };
	size_t len = strlen(input), pos = 0;
	struct rec r;
	char *events;
	int fds[2];

	rec_init(&r, loop);
	socket_pair(SOCK_STREAM, fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		if (end > pos)
			write_all(fds[1], input + pos, end - pos);
		pos = end;
		ioloop_run_once(loop, 0);
		ioloop_run_once(loop, 0);
	}
	shutdown(fds[1], SHUT_WR);
	run_until_ev(&r, "DISC:");
	events = str_steal(r.ev);
	rec_deinit(&r);
	close(fds[1]);
	ioloop_destroy(&loop);
	return events;
}

/* The events for input in one piece must be those for every split into
 * two and three pieces. */
static void check_every_split(const char *input, size_t max_line_len,
			      const char *expected)
{
	size_t len = strlen(input);
	char *whole = feed(input, NULL, 0, max_line_len);

	assert_string_equal(whole, expected);
	free(whole);
	for (size_t i = 1; i < len; i++) {
		size_t cut[2] = { i, 0 };
		char *ev = feed(input, cut, 1, max_line_len);

		if (strcmp(ev, expected) != 0)
			fail_msg("split at %zu: \"%s\"", i, ev);
		free(ev);
		for (size_t j = i + 1; j < len && len < 64; j += 3) {
			cut[1] = j;
			ev = feed(input, cut, 2, max_line_len);
			if (strcmp(ev, expected) != 0)
				fail_msg("split at %zu,%zu: \"%s\"", i, j, ev);
			free(ev);
		}
	}
	/* One byte at a time. */
	{
		size_t *cuts = xcalloc(len, sizeof(*cuts));
		char *ev;

		for (size_t i = 0; i < len; i++)
			cuts[i] = i + 1;
		ev = feed(input, cuts, len, max_line_len);
		assert_string_equal(ev, expected);
		free(ev);
		free(cuts);
	}
}

#define EOF_EV "DISC:0:Connection closed by peer\n"

static void test_lines_every_split(void **state)
{
	check_every_split("HELO a\r\nMAIL FROM:<x@y>\nDATA\r\n\r\n\nlast",
			  100,
			  "L:HELO a\nL:MAIL FROM:<x@y>\nL:DATA\nL:\nL:\n"
			  EOF_EV);
	/* A CR inside a line stays; NUL bytes are not in C strings here. */
	check_every_split("a\rb\r\r\n\r\n", 100, "L:a\rb\r\nL:\n" EOF_EV);
}

static void test_too_long(void **state)
{
	/* max 10: 10 bytes pass with CRLF or LF, 11 do not. */
	check_every_split("0123456789\r\n0123456789\n01234567890\r\nok\r\n"
			  "0123456789AB\nxy\n",
			  10,
			  "L:0123456789\nL:0123456789\nTOOLONG\nL:ok\n"
			  "TOOLONG\nL:xy\n" EOF_EV);
	/* Far too long, ended by EOF. */
	check_every_split("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 5,
			  "TOOLONG\n" EOF_EV);
	/* 10 000 bytes against a limit of 100: reported once, no growth. */
	{
		struct str *in = str_new(10100);
		char *ev;

		for (int i = 0; i < 10000; i++)
			str_append_c(in, 'x');
		str_append(in, "\r\nNOOP\r\n");
		ev = feed(str_c(in), NULL, 0, 100);
		assert_string_equal(ev, "TOOLONG\nL:NOOP\n" EOF_EV);
		free(ev);
		str_destroy(&in);
	}
}

static void test_raw_every_split(void **state)
{
	check_every_split("RAW 5\r\nhello world\r\nRAW 3\nabcRAW 1\n\n\nend\n",
			  100,
			  "L:RAW 5\nR:hello$\nL: world\nL:RAW 3\nR:abc$\n"
			  "L:RAW 1\nR:\n$\nL:\nL:end\n" EOF_EV);
	/* Raw bytes are not limited by the line length. */
	check_every_split("RAW 30\r\n0123456789012345678901234567890\n", 6,
			  "L:RAW 30\nR:012345678901234567890123456789$\n"
			  "L:0\n" EOF_EV);
	/* EOF inside raw bytes: the piece so far, then EOF. */
	{
		char *ev = feed("RAW 10\r\nabc", NULL, 0, 100);

		assert_string_equal(ev, "L:RAW 10\nR:abc" EOF_EV);
		free(ev);
	}
}

static void test_raw_large(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 50 };
	size_t big = 300000, got = 0, pieces;
	struct str *in = str_new(big + 100);
	struct rec r;
	const char *p;
	int fds[2];

	rec_init(&r, loop);
	test_tcp_pair(fds);
	r.show_pieces = true;
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	str_printfa(in, "RAW %zu\r\n", big);
	for (size_t i = 0; i < big; i++)
		str_append_c(in, (char)('A' + i % 26));
	str_append(in, "NEXT\r\n");
	write_all(fds[1], str_c(in), str_len(in));
	run_until_ev(&r, "L:NEXT\n");
	/* The raw bytes came in several pieces, all in order. */
	p = strstr(str_c(r.ev), "R:");
	assert_non_null(p);
	pieces = 0;
	for (; *p != '$'; p++) {
		if (p[0] == 'R' && p[1] == ':') {
			pieces++;
			p++;
			continue;
		}
		assert_int_equal(*p, 'A' + got % 26);
		got++;
	}
	assert_true(pieces > 1);
	assert_int_equal(got, big);
	assert_non_null(strstr(str_c(r.ev), "$\nL:NEXT\n"));
	str_destroy(&in);
	rec_deinit(&r);
	close(fds[1]);
	ioloop_destroy(&loop);
}

static void resume_cb(void *context)
{
	struct rec *r = context;

	str_append(r->ev, "RESUME\n");
	conn_input_resume(r->conn);
}

static void test_pause_resume(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 100,
				     .idle_timeout_msecs = 100 };
	struct rec r;
	int fds[2];

	rec_init(&r, loop);
	socket_pair(SOCK_STREAM, fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	/* Pipelined: nothing after PAUSE is delivered until resumed, and
	 * the idle timeout does not run while paused. */
	write_all(fds[1], "A\r\nPAUSE\r\nB\r\nC\r\n", 16);
	run_ms(loop, 300);
	assert_string_equal(str_c(r.ev), "L:A\nL:PAUSE\n");
	/* Nested pauses need as many resumes. */
	conn_input_pause(r.conn);
	conn_input_resume(r.conn);
	run_ms(loop, 20);
	assert_string_equal(str_c(r.ev), "L:A\nL:PAUSE\n");
	timeout_add_once(loop, 10, resume_cb, &r);
	run_until_ev(&r, "L:C\n");
	assert_string_equal(str_c(r.ev),
			    "L:A\nL:PAUSE\nRESUME\nL:B\nL:C\n");
	/* Idle again: the timeout runs. */
	run_until_ev(&r, "DISC:1:");
	assert_true(r.disconnected);
	assert_int_equal(r.reason, CONN_DISCONNECT_IDLE_TIMEOUT);
	rec_deinit(&r);
	close(fds[1]);
	ioloop_destroy(&loop);
}

/* conn_input_waiting(): true while the peer's bytes wait in the kernel,
 * false once read, while paused, and after EOF. */
static void test_input_waiting(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 100 };
	struct rec r;
	int fds[2];

	(void)state;
	rec_init(&r, loop);
	socket_pair(SOCK_STREAM, fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	assert_false(conn_input_waiting(r.conn));
	write_all(fds[1], "A\r\n", 3);
	assert_true(conn_input_waiting(r.conn));
	run_until_ev(&r, "L:A\n");
	assert_false(conn_input_waiting(r.conn));
	/* a partial line read and kept is not waiting input */
	write_all(fds[1], "B", 1);
	run_ms(loop, 20);
	assert_false(conn_input_waiting(r.conn));
	conn_input_pause(r.conn);
	write_all(fds[1], "\r\n", 2);
	assert_false(conn_input_waiting(r.conn));
	conn_input_resume(r.conn);
	assert_true(conn_input_waiting(r.conn));
	run_until_ev(&r, "L:B\n");
	assert_false(conn_input_waiting(r.conn));
	rec_deinit(&r);
	close(fds[1]);
	ioloop_destroy(&loop);
}

static void test_one_write_per_reply(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 100 };
	char buf[4096];
	struct rec r;
	ssize_t n;
	int fds[2];

	/* SOCK_SEQPACKET keeps write boundaries: one record = one write. */
	rec_init(&r, loop);
	r.echo = true;
	socket_pair(SOCK_SEQPACKET, fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);

	/* Pipelined commands: all replies in one write. */
	write_all(fds[1], "A\r\nB\r\nC\r\n", 9);
	run_until_ev(&r, "L:C\n");
	n = read(fds[1], buf, sizeof(buf));
	assert_int_equal(n, 15);
	assert_memory_equal(buf, "> A\r\n> B\r\n> C\r\n", 15);
	assert_int_equal(read(fds[1], buf, sizeof(buf)), -1);

	/* A reply made of several writes: one write. */
	write_all(fds[1], "MULTI\r\n", 7);
	run_until_ev(&r, "L:MULTI\n");
	n = read(fds[1], buf, sizeof(buf));
	assert_int_equal(n, 29);
	assert_memory_equal(buf, "250-one\r\n250-two\r\n250 three\r\n", 29);

	/* Output from outside input callbacks: corked by hand. */
	conn_cork(r.conn);
	conn_cork(r.conn);
	conn_write_str(r.conn, "* 1 EXISTS\r\n");
	conn_uncork(r.conn);
	conn_write_str(r.conn, "* 1 RECENT\r\n");
	assert_int_equal(read(fds[1], buf, sizeof(buf)), -1);
	conn_uncork(r.conn);
	n = read(fds[1], buf, sizeof(buf));
	assert_int_equal(n, 24);
	assert_int_equal(conn_output_pending(r.conn), 0);
	rec_deinit(&r);
	close(fds[1]);
	ioloop_destroy(&loop);
}

static void test_backpressure(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 100,
				     .output_limit = 65536 };
	size_t total = 8 * 1024 * 1024, got = 0;
	char buf[65536];
	struct rec r;
	int fds[2];

	rec_init(&r, loop);
	test_tcp_pair(fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	r.produce_left = total;
	write_all(fds[1], "BIG\r\n", 5);
	/* Read slowly at first so the buffer fills. */
	run_ms(loop, 50);
	while (got < total) {
		ssize_t n = read(fds[1], buf, sizeof(buf));

		if (n > 0) {
			for (ssize_t i = 0; i < n; i++) {
				size_t left = total - got - (size_t)i;

				if (buf[i] != (char)('a' + left % 26))
					fail_msg("byte %zu wrong", got + i);
			}
			got += (size_t)n;
			continue;
		}
		assert_true(n < 0 && errno == EAGAIN);
		ioloop_run_once(loop, 5);
	}
	assert_int_equal(got, total);
	assert_int_equal(r.produce_left, 0);
	assert_true(r.drained > 0);
	/* Never much more than the limit plus one chunk was buffered. */
	assert_true(r.peak_pending < 65536 + 16384);
	rec_deinit(&r);
	close(fds[1]);
	ioloop_destroy(&loop);
}

static void test_write_timeout(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 100,
				     .output_limit = 64 * 1024 * 1024,
				     .write_timeout_msecs = 150 };
	struct rec r;
	int fds[2];

	rec_init(&r, loop);
	socket_pair(SOCK_STREAM, fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	r.produce_left = 4 * 1024 * 1024;
	r.chunk = 16384;
	/* The client asks and never reads, but keeps sending: its input
	 * does not keep the stuck output alive. */
	write_all(fds[1], "BIG\r\n", 5);
	for (int i = 0; i < 100 && !r.disconnected; i++) {
		write_all(fds[1], "NOOP\r\n", 6);
		run_ms(loop, 20);
	}
	run_until_ev(&r, "DISC:2:Write timeout");
	assert_int_equal(r.reason, CONN_DISCONNECT_WRITE_TIMEOUT);
	assert_null(r.conn);
	rec_deinit(&r);
	close(fds[1]);
	ioloop_destroy(&loop);
}

static void test_close_flushes(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 100 };
	struct str *got = str_new(64);
	struct rec r;
	int fds[2];

	rec_init(&r, loop);
	socket_pair(SOCK_STREAM, fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	/* Lines after QUIT are not delivered. */
	write_all(fds[1], "NOOP\r\nQUIT\r\nNOOP2\r\n", 19);
	client_read_until(loop, fds[1], got, NULL);
	assert_string_equal(str_c(got), "221 Bye\r\n");
	assert_string_equal(str_c(r.ev), "L:NOOP\nL:QUIT\nDISC:5:Closed\n");
	str_destroy(&got);
	rec_deinit(&r);
	close(fds[1]);
	ioloop_destroy(&loop);
}

static void test_io_error_and_destroy_in_callback(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 100 };
	struct rec r;
	int fds[2];

	/* Writing to a peer that is gone: an I/O error, reported later
	 * from the loop, not from inside conn_write(). */
	rec_init(&r, loop);
	socket_pair(SOCK_STREAM, fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	close(fds[1]);
	conn_write_str(r.conn, "hello\r\n");
	assert_false(r.disconnected);
	run_until_ev(&r, "DISC:");
	assert_true(r.reason == CONN_DISCONNECT_IO_ERROR ||
		    r.reason == CONN_DISCONNECT_EOF);
	rec_deinit(&r);
	ioloop_destroy(&loop);
}

static void test_pair(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct conn_settings set = { .max_line_len = 100 };
	struct str *got = str_new(64);
	int in[2], out[2];
	const char *error;
	struct rec r;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	test_set_nonblock(out[0]);
	rec_init(&r, loop);
	r.echo = true;
	r.conn = conn_create_pair(loop, in[0], out[1], &set, &rec_callbacks,
				  &r);
	assert_int_equal(conn_start_tls(r.conn, NULL, NULL, &error), -1);
	assert_non_null(strstr(error, "socket"));
	write_all(in[1], "one\ntwo\r\n", 9);
	client_read_until(loop, out[0], got, "> two\r\n");
	assert_string_equal(str_c(got), "> one\r\n> two\r\n");
	close(in[1]);
	run_until_ev(&r, "DISC:0:");
	str_destroy(&got);
	rec_deinit(&r);
	close(out[0]);
	ioloop_destroy(&loop);
}

/* ------------------------------------------------------------ TLS */

static struct tls_ctx *server_ctx(void)
{
	struct tls_settings set = { .cert_file = certs->combined };
	const char *error = NULL;
	struct tls_ctx *ctx = tls_ctx_server_create(&set, &error);

	if (ctx == NULL)
		fail_msg("%s", error);
	return ctx;
}

static struct tls_ctx *client_ctx(bool require)
{
	struct tls_settings set = { .ca_file = require ? NULL : certs->cert,
				    .require_verify = require };
	const char *error = NULL;
	struct tls_ctx *ctx = tls_ctx_client_create(&set, &error);

	assert_non_null(ctx);
	return ctx;
}

static void client_handshake(struct ioloop *loop, struct tls_session *cli)
{
	uint64_t start = ioloop_now_ms(loop);
	enum tls_result res;

	while ((res = tls_session_handshake(cli)) != TLS_DONE) {
		if (res == TLS_ERROR)
			fail_msg("client handshake: %s",
				 tls_session_error(cli));
		assert_true(ioloop_now_ms(loop) - start < 5000);
		ioloop_run_once(loop, 5);
	}
}

static void client_send(struct ioloop *loop, struct tls_session *cli,
			const char *data)
{
	size_t len = strlen(data), n;

	while (len > 0) {
		enum tls_result res = tls_session_write(cli, data, len, &n);

		assert_int_not_equal(res, TLS_ERROR);
		data += n;
		len -= n;
		if (res != TLS_DONE)
			ioloop_run_once(loop, 5);
	}
}

/* Reads through TLS until got holds want, or until TLS_CLOSED when
 * want is NULL. */
static void client_recv(struct ioloop *loop, struct tls_session *cli,
			struct str *got, const char *want)
{
	uint64_t start = ioloop_now_ms(loop);
	char buf[4096];

	while (want == NULL || strstr(str_c(got), want) == NULL) {
		size_t n;
		enum tls_result res = tls_session_read(cli, buf, sizeof(buf),
						       &n);

		if (res == TLS_DONE) {
			str_append_n(got, buf, n);
			continue;
		}
		if (res == TLS_CLOSED && want == NULL)
			return;
		if (res == TLS_ERROR || res == TLS_CLOSED)
			fail_msg("client read: %s (got \"%s\")",
				 tls_session_error(cli), str_c(got));
		if (ioloop_now_ms(loop) - start > 5000)
			fail_msg("client got \"%s\", wanted \"%s\"",
				 str_c(got), want != NULL ? want : "close");
		ioloop_run_once(loop, 5);
	}
}

static void test_implicit_tls(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct tls_ctx *sctx = server_ctx(), *cctx = client_ctx(false);
	struct conn_settings set = { .max_line_len = 100,
				     .tls_ctx = sctx };
	struct str *got = str_new(64);
	struct tls_session *cli;
	const char *reason;
	struct rec r;
	int fds[2];

	rec_init(&r, loop);
	r.echo = true;
	test_tcp_pair(fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	/* A greeting queued before the handshake goes out inside TLS. */
	conn_write_str(r.conn, "* OK hello\r\n");
	cli = tls_session_create(cctx, fds[1], "localhost");
	client_handshake(loop, cli);
	assert_int_equal(tls_session_verify_result(cli, &reason), 1);
	run_until_ev(&r, "TLS:TLSv1.3\n");
	client_recv(loop, cli, got, "* OK hello\r\n");
	/* Pipelined and split lines through TLS. */
	client_send(loop, cli, "a1 NOOP\r\na2 NO");
	client_send(loop, cli, "OP\r\n");
	client_recv(loop, cli, got, "> a2 NOOP\r\n");
	assert_string_equal(str_c(got),
			    "* OK hello\r\n> a1 NOOP\r\n> a2 NOOP\r\n");
	/* A large raw piece through TLS (several records). */
	{
		struct str *big = str_new(70000);

		str_append(big, "RAW 60000\r\n");
		for (int i = 0; i < 60000; i++)
			str_append_c(big, 'z');
		str_append(big, "AFTER\r\n");
		client_send(loop, cli, str_c(big));
		run_until_ev(&r, "L:AFTER\n");
		str_destroy(&big);
	}
	/* QUIT: the reply, close_notify, then the close. */
	client_send(loop, cli, "QUIT\r\n");
	str_clear(got);
	client_recv(loop, cli, got, NULL);
	assert_string_equal(str_c(got), "> AFTER\r\n221 Bye\r\n");
	run_until_ev(&r, "DISC:5:Closed\n");
	tls_session_destroy(&cli);
	close(fds[1]);
	str_destroy(&got);
	rec_deinit(&r);
	tls_ctx_destroy(&sctx);
	tls_ctx_destroy(&cctx);
	ioloop_destroy(&loop);
}

static void test_starttls(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct tls_ctx *sctx = server_ctx(), *cctx = client_ctx(false);
	struct conn_settings set = { .max_line_len = 100 };
	struct str *got = str_new(64);
	struct tls_session *cli;
	struct rec r;
	int fds[2];

	rec_init(&r, loop);
	r.echo = true;
	r.starttls_ctx = sctx;
	test_tcp_pair(fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	assert_false(conn_is_tls(r.conn));
	assert_null(conn_tls_session(r.conn));
	/* The command injected after STARTTLS must never run (RFC 3207
	 * section 5): it was sent before the handshake. */
	write_all(fds[1], "EHLO x\r\nSTARTTLS\r\nRCPT TO:<evil>\r\n", 34);
	client_read_until(loop, fds[1], got, "220 Ready to start TLS\r\n");
	assert_string_equal(str_c(got), "> EHLO x\r\n220 Ready to start TLS\r\n");
	cli = tls_session_create(cctx, fds[1], "localhost");
	client_handshake(loop, cli);
	run_until_ev(&r, "TLS:");
	client_send(loop, cli, "EHLO y\r\n");
	str_clear(got);
	client_recv(loop, cli, got, "> EHLO y\r\n");
	assert_string_equal(str_c(got), "> EHLO y\r\n");
	assert_string_equal(str_c(r.ev),
			    "L:EHLO x\nL:STARTTLS\nTLS:TLSv1.3\nL:EHLO y\n");
	/* Overlong lines are handled inside TLS too. */
	client_send(loop, cli,
		    "0123456789012345678901234567890123456789012345678901234"
		    "5678901234567890123456789012345678901234567890123456789"
		    "\r\nNOOP\r\n");
	client_recv(loop, cli, got, "> NOOP\r\n");
	assert_non_null(strstr(str_c(got), "500 Line too long\r\n> NOOP"));
	/* The client goes away without close_notify: EOF. */
	tls_session_destroy(&cli);
	close(fds[1]);
	run_until_ev(&r, "DISC:0:");
	str_destroy(&got);
	rec_deinit(&r);
	tls_ctx_destroy(&sctx);
	tls_ctx_destroy(&cctx);
	ioloop_destroy(&loop);
}

static void test_tls_failures(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct tls_ctx *sctx = server_ctx(), *cctx = client_ctx(true);
	struct conn_settings set = { .max_line_len = 100, .tls_ctx = sctx,
				     .idle_timeout_msecs = 2000 };
	struct rec r, c;
	int fds[2];

	/* Plain text to an implicit TLS port. */
	rec_init(&r, loop);
	test_tcp_pair(fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	write_all(fds[1], "EHLO plain.example\r\n", 20);
	run_until_ev(&r, "DISC:4:TLS handshake");
	assert_false(r.tls_ready);
	rec_deinit(&r);
	close(fds[1]);

	/* A client conn that requires verification of a self-signed
	 * server: both ends report a TLS error. */
	rec_init(&r, loop);
	rec_init(&c, loop);
	test_tcp_pair(fds);
	r.conn = conn_create(loop, fds[0], &set, &rec_callbacks, &r);
	set.tls_ctx = cctx;
	set.tls_host = "localhost";
	c.conn = conn_create(loop, fds[1], &set, &rec_callbacks, &c);
	run_until_ev(&c, "DISC:4:TLS handshake");
	run_until_ev(&r, "DISC:");
	assert_false(c.tls_ready);
	rec_deinit(&r);
	rec_deinit(&c);

	tls_ctx_destroy(&sctx);
	tls_ctx_destroy(&cctx);
	ioloop_destroy(&loop);
}

static void test_conn_to_conn_tls(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct tls_ctx *sctx = server_ctx(), *cctx = client_ctx(false);
	struct conn_settings sset = { .max_line_len = 100, .tls_ctx = sctx };
	struct conn_settings cset = { .max_line_len = 100, .tls_ctx = cctx,
				      .tls_host = "localhost" };
	struct rec r, c;
	const char *reason;
	int fds[2];

	/* The SMTP client's case: a client conn with implicit TLS. */
	rec_init(&r, loop);
	rec_init(&c, loop);
	r.echo = true;
	test_tcp_pair(fds);
	r.conn = conn_create(loop, fds[0], &sset, &rec_callbacks, &r);
	c.conn = conn_create(loop, fds[1], &cset, &rec_callbacks, &c);
	conn_write_str(c.conn, "HELLO\r\n");
	run_until_ev(&c, "L:> HELLO\n");
	assert_int_equal(tls_session_verify_result(conn_tls_session(c.conn),
						   &reason), 1);
	conn_close(c.conn);
	run_until_ev(&c, "DISC:5:");
	run_until_ev(&r, "DISC:0:");
	assert_string_equal(str_c(c.ev), "TLS:TLSv1.3\nL:> HELLO\n"
			    "DISC:5:Closed\n");
	rec_deinit(&r);
	rec_deinit(&c);
	tls_ctx_destroy(&sctx);
	tls_ctx_destroy(&cctx);
	ioloop_destroy(&loop);
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
		cmocka_unit_test(test_lines_every_split),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_raw_every_split),
		cmocka_unit_test(test_raw_large),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_input_waiting),
		cmocka_unit_test(test_one_write_per_reply),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_write_timeout),
		cmocka_unit_test(test_close_flushes),
		cmocka_unit_test(test_io_error_and_destroy_in_callback),
		cmocka_unit_test(test_pair),
		cmocka_unit_test(test_implicit_tls),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_tls_failures),
		cmocka_unit_test(test_conn_to_conn_tls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
