/* fuzz-conn-lines.c: libFuzzer target for lib/conn's input side: the
 * bytes are split into pieces (the first byte of the input seeds the piece
 * sizes) and written to a socketpair; the server conn splits them into
 * lines, overlong-line events and raw byte counts ("RAW n" lines switch to
 * raw mode, "PAUSE" pauses for one round).  Checks that every delivered
 * line respects the limit and holds no LF, and that the bytes delivered
 * plus the bytes dropped never exceed the bytes sent. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "conn.h"
#include "ioloop.h"
#include "log.h"

#define MAX_LINE 64

struct fuzz_state {
	struct conn *conn;
	size_t delivered;
	bool done, paused;
};

static void fuzz_line(struct conn *conn, const char *line, size_t len,
		      void *context)
{
	struct fuzz_state *st = context;

	if (len > MAX_LINE || memchr(line, '\n', len) != NULL ||
	    line[len] != '\0')
		abort();
	st->delivered += len;
	if (len > 4 && memcmp(line, "RAW ", 4) == 0) {
		unsigned long n = strtoul(line + 4, NULL, 10);

		conn_input_raw(conn, n > 100000 ? 100000 : n);
	} else if (len == 5 && memcmp(line, "PAUSE", 5) == 0 && !st->paused) {
		conn_input_pause(conn);
		st->paused = true;
	} else if (len > 0 && line[0] == 'W') {
		conn_write(conn, line, len);
	}
}

static void fuzz_too_long(struct conn *conn, void *context)
{
}

static void fuzz_raw(struct conn *conn, const void *data, size_t len,
		     bool last, void *context)
{
	struct fuzz_state *st = context;

	if (len == 0)
		abort();
	st->delivered += len;
}

static void fuzz_disconnected(struct conn *conn,
			      enum conn_disconnect_reason reason,
			      const char *text, void *context)
{
	struct fuzz_state *st = context;

	st->done = true;
	conn_destroy(&st->conn);
}

static const struct conn_callbacks fuzz_callbacks = {
	.line = fuzz_line,
	.line_too_long = fuzz_too_long,
	.raw = fuzz_raw,
	.disconnected = fuzz_disconnected,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ioloop *loop;
	struct conn_settings set = { .max_line_len = MAX_LINE };
	struct fuzz_state st = { 0 };
	unsigned int seed;
	size_t pos = 1;
	int fds[2];

	if (size == 0)
		return 0;
	if (loop == NULL) {
		signal(SIGPIPE, SIG_IGN);
		log_set_min_level(LOG_LEVEL_FATAL);
		loop = ioloop_create();
	}
	seed = data[0];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		abort();
	st.conn = conn_create(loop, fds[0], &set, &fuzz_callbacks, &st);
	while (pos < size) {
		size_t piece;

		seed = seed * 1103515245u + 12345u;
		piece = 1 + seed % ((seed & 0x100) != 0 ? 7 : 200);

		if (piece > size - pos)
			piece = size - pos;
		if (write(fds[1], data + pos, piece) != (ssize_t)piece)
			abort();
		pos += piece;
		ioloop_run_once(loop, 0);
		if (st.paused && st.conn != NULL && (seed & 3) == 0) {
			st.paused = false;
			conn_input_resume(st.conn);
		}
	}
	if (st.paused && st.conn != NULL) {
		st.paused = false;
		conn_input_resume(st.conn);
	}
	shutdown(fds[1], SHUT_WR);
	for (int i = 0; i < 1000 && !st.done; i++) {
		ioloop_run_once(loop, 0);
		if (st.paused && st.conn != NULL) {
			st.paused = false;
			conn_input_resume(st.conn);
		}
	}
	if (!st.done)
		abort();
	if (st.delivered > size)
		abort();
	close(fds[1]);
	return 0;
}
