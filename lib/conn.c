/* conn.c: line-protocol connections on the ioloop: line splitting, raw
 * byte counts, flow control, corked output with backpressure, timeouts,
 * implicit TLS and STARTTLS (see conn.h). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "conn.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "str.h"
#include "tls.h"

#define CONN_MAX_LINE_LIMIT (16 * 1024 * 1024)
#define CONN_DEFAULT_OUTPUT_LIMIT (256 * 1024)
#define CONN_MIN_INPUT_BUFFER 8192
/* Drained callbacks in one flush before other connections get a turn. */
#define CONN_MAX_DRAIN_ROUNDS 16

enum conn_tls_state {
	CONN_TLS_NONE,		/* plain */
	CONN_TLS_WAIT_FLUSH,	/* STARTTLS asked: flushing the plain reply */
	CONN_TLS_HANDSHAKE,
	CONN_TLS_ON,
};

struct conn {
	struct ioloop *loop;
	int fd_in, fd_out;
	bool pair, out_is_socket;
	size_t max_line_len, output_limit;
	unsigned int idle_timeout_msecs, write_timeout_msecs;
	struct conn_callbacks cb;
	void *context;

	/* Input: bytes [istart, iend) of ibuf are unread; the first
	 * iscanned of them are known to hold no LF. */
	char *ibuf;
	size_t ibuf_size, istart, iend, iscanned;
	size_t raw_left;
	bool skipping;		/* discarding the rest of an overlong line */
	bool line_crlf;		/* the line being delivered ended in CRLF */
	bool input_eof;
	unsigned int pause_count;
	unsigned int dispatching;
	struct timeout *to_resume;

	/* Output. */
	struct str out;
	size_t plain_left;	/* WAIT_FLUSH: bytes still to go out plain */
	unsigned int cork_count;
	bool output_full, flushing;

	struct io *io_read, *io_write;
	struct timeout *to_idle, *to_write, *to_disconnect;
	enum conn_disconnect_reason disconnect_reason;
	char *disconnect_text;

	enum conn_tls_state tls_state;
	struct tls_session *tls;
	struct tls_ctx *tls_ctx;
	char *tls_host;
	enum tls_result hs_want;
	bool tls_read_wants_write, tls_write_wants_read;

	bool closing, disconnected, destroyed;
	unsigned int refcount;
};

static void conn_update_io(struct conn *conn);
static void conn_flush(struct conn *conn);
static void conn_read_input(struct conn *conn);

static void conn_ref(struct conn *conn)
{
	conn->refcount++;
}

static void conn_unref(struct conn *conn)
{
	if (--conn->refcount > 0)
		return;
	str_free(&conn->out);
	free(conn->disconnect_text);
	free(conn->ibuf);
	free(conn->tls_host);
	free(conn);
}

static void conn_disconnected_cb(void *context)
{
	struct conn *conn = context;

	conn->to_disconnect = NULL;
	conn_ref(conn);
	if (conn->cb.disconnected != NULL)
		conn->cb.disconnected(conn, conn->disconnect_reason,
				      conn->disconnect_text, conn->context);
	conn_unref(conn);
}

/* Ends the connection: no io, no timers, and one disconnected callback,
 * from the loop so that no API call of the owner calls it back. */
static void conn_disconnect(struct conn *conn,
			    enum conn_disconnect_reason reason,
			    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_disconnect(struct conn *conn,
			    enum conn_disconnect_reason reason,
			    const char *fmt, ...)
{
	va_list ap;

	if (conn->disconnected || conn->destroyed)
		return;
	conn->disconnected = true;
	conn->closing = true;
	io_remove(&conn->io_read);
	io_remove(&conn->io_write);
	timeout_remove(&conn->to_idle);
	timeout_remove(&conn->to_write);
	timeout_remove(&conn->to_resume);
	va_start(ap, fmt);
	conn->disconnect_text = xvasprintf(fmt, ap);
	va_end(ap);
	conn->disconnect_reason = reason;
	conn->to_disconnect = timeout_add_once(conn->loop, 0,
					       conn_disconnected_cb, conn);
}

static void conn_idle_timeout(void *context)
{
	struct conn *conn = context;

	conn_disconnect(conn, CONN_DISCONNECT_IDLE_TIMEOUT,
			"Idle timeout after %u.%03u s",
			conn->idle_timeout_msecs / 1000,
			conn->idle_timeout_msecs % 1000);
}

static void conn_write_timeout(void *context)
{
	struct conn *conn = context;

	conn_disconnect(conn, CONN_DISCONNECT_WRITE_TIMEOUT,
			"Write timeout after %u.%03u s (%zu bytes unsent)",
			conn->write_timeout_msecs / 1000,
			conn->write_timeout_msecs % 1000, str_len(&conn->out));
}

/* Is the protocol waiting for input (so the idle timeout runs)? */
static bool conn_input_wanted(const struct conn *conn)
{
	return !conn->closing && !conn->destroyed && conn->pause_count == 0 &&
		!conn->input_eof && (conn->tls_state == CONN_TLS_NONE ||
				     conn->tls_state == CONN_TLS_ON);
}

/* Bytes of the output buffer that may be written now. */
static size_t conn_writable_len(const struct conn *conn)
{
	switch (conn->tls_state) {
	case CONN_TLS_HANDSHAKE:
		return 0;
	case CONN_TLS_WAIT_FLUSH:
		return conn->plain_left;
	default:
		return str_len(&conn->out);
	}
}

static void conn_input_cb(void *context);
static void conn_output_cb(void *context);

static void conn_set_io(struct conn *conn, struct io **io, int fd,
			enum io_condition cond, io_callback_t *cb, bool want)
{
	if (want && *io == NULL)
		*io = io_add(conn->loop, fd, cond, cb, conn);
	else if (!want && *io != NULL)
		io_remove(io);
}

static void conn_set_timer(struct conn *conn, struct timeout **to,
			   unsigned int msecs, io_callback_t *cb, bool want)
{
	if (msecs == 0)
		want = false;
	if (want && *to == NULL)
		*to = timeout_add(conn->loop, msecs, cb, conn);
	else if (!want && *to != NULL)
		timeout_remove(to);
}

/* Watches the fds for what the state needs now. */
static void conn_update_io(struct conn *conn)
{
	bool want_read, want_write, output;

	if (conn->disconnected || conn->destroyed)
		return;
	output = conn->cork_count == 0 && conn_writable_len(conn) > 0;
	if (conn->tls_state == CONN_TLS_HANDSHAKE) {
		want_read = conn->hs_want == TLS_WANT_READ;
		want_write = conn->hs_want == TLS_WANT_WRITE;
	} else {
		want_read = conn->tls_write_wants_read ||
			(conn_input_wanted(conn) && conn->to_resume == NULL);
		want_write = conn->tls_read_wants_write ||
			(output && !conn->tls_write_wants_read);
	}
	if (conn->pair) {
		conn_set_io(conn, &conn->io_read, conn->fd_in, IO_READ,
			    conn_input_cb, want_read);
		conn_set_io(conn, &conn->io_write, conn->fd_out, IO_WRITE,
			    conn_output_cb, want_write);
	} else {
		conn_set_io(conn, &conn->io_read, conn->fd_in, IO_READ,
			    conn_input_cb, want_read);
		conn_set_io(conn, &conn->io_write, conn->fd_in, IO_WRITE,
			    conn_output_cb, want_write);
	}
	conn_set_timer(conn, &conn->to_idle, conn->idle_timeout_msecs,
		       conn_idle_timeout,
		       conn_input_wanted(conn) ||
		       conn->tls_state == CONN_TLS_HANDSHAKE);
	/* Corking does not stop the clock: a peer that sends but never
	 * reads must not keep its stuck output alive. */
	conn_set_timer(conn, &conn->to_write, conn->write_timeout_msecs,
		       conn_write_timeout, conn_writable_len(conn) > 0);
}

/* ------------------------------------------------------------ input */

/* Delivers what the buffer holds, while the protocol wants it. */
static void conn_dispatch(struct conn *conn)
{
	conn_ref(conn);
	conn->dispatching++;
	conn_cork(conn);
	while (conn_input_wanted(conn) || (conn->input_eof &&
	       !conn->closing && !conn->destroyed && conn->pause_count == 0)) {
		size_t avail = conn->iend - conn->istart;
		char *start = conn->ibuf + conn->istart, *lf;

		if (conn->raw_left > 0) {
			size_t n = avail < conn->raw_left ? avail :
				conn->raw_left;

			if (n == 0)
				break;
			conn->raw_left -= n;
			conn->istart += n;
			conn->cb.raw(conn, start, n, conn->raw_left == 0,
				     conn->context);
			continue;
		}
		lf = memchr(start + conn->iscanned, '\n',
			    avail - conn->iscanned);
		if (lf == NULL) {
			conn->iscanned = avail;
			if (conn->skipping) {
				conn->istart = conn->iend;
				conn->iscanned = 0;
				break;
			}
			if (avail < conn->max_line_len + 2)
				break;
			/* Overlong: drop it now, skip to its end. */
			conn->istart = conn->iend;
			conn->iscanned = 0;
			conn->skipping = true;
			if (conn->cb.line_too_long != NULL)
				conn->cb.line_too_long(conn, conn->context);
			continue;
		}
		size_t len = (size_t)(lf - start);

		conn->istart += len + 1;
		conn->iscanned = 0;
		if (conn->skipping) {
			conn->skipping = false;
			continue;
		}
		conn->line_crlf = len > 0 && start[len - 1] == '\r';
		if (conn->line_crlf)
			len--;
		if (len > conn->max_line_len) {
			if (conn->cb.line_too_long != NULL)
				conn->cb.line_too_long(conn, conn->context);
			continue;
		}
		start[len] = '\0';
		conn->cb.line(conn, start, len, conn->context);
	}
	if (conn->input_eof && !conn->closing && !conn->destroyed &&
	    conn->pause_count == 0) {
		/* A partial line or raw piece at EOF is dropped: a truncated
		 * command is never run. */
		conn->istart = conn->iend;
		conn->iscanned = 0;
		conn_disconnect(conn, CONN_DISCONNECT_EOF,
				"Connection closed by peer");
	}
	conn->dispatching--;
	conn_uncork(conn);
	conn_unref(conn);
}

static void conn_compact_input(struct conn *conn)
{
	if (conn->istart == 0)
		return;
	memmove(conn->ibuf, conn->ibuf + conn->istart,
		conn->iend - conn->istart);
	conn->iend -= conn->istart;
	conn->istart = 0;
}

/* Reads once (plain) or until the TLS library has nothing left, and
 * dispatches what came in. */
static void conn_read_input(struct conn *conn)
{
	conn_ref(conn);
	while (conn_input_wanted(conn)) {
		size_t space, n = 0;
		bool more = false;

		conn_compact_input(conn);
		space = conn->ibuf_size - conn->iend;
		if (space == 0)
			break;
		if (conn->tls != NULL) {
			enum tls_result res = tls_session_read(conn->tls,
				conn->ibuf + conn->iend, space, &n);

			conn->tls_read_wants_write = res == TLS_WANT_WRITE;
			if (res == TLS_WANT_READ || res == TLS_WANT_WRITE)
				break;
			if (res == TLS_ERROR) {
				conn_disconnect(conn, CONN_DISCONNECT_TLS_ERROR,
						"%s", tls_session_error(conn->tls));
				break;
			}
			if (res == TLS_CLOSED)
				conn->input_eof = true;
			more = true;
		} else {
			ssize_t ret = read(conn->fd_in, conn->ibuf + conn->iend,
					   space);

			if (ret < 0 && errno == EINTR)
				continue;
			if (ret < 0 && (errno == EAGAIN ||
					errno == EWOULDBLOCK))
				break;
			if (ret < 0) {
				conn_disconnect(conn, CONN_DISCONNECT_IO_ERROR,
						"read: %s", strerror(errno));
				break;
			}
			if (ret == 0)
				conn->input_eof = true;
			n = (size_t)ret;
			/* A full read may have left more in the socket. */
			more = n == space;
		}
		conn->iend += n;
		if (n > 0 && conn->to_idle != NULL)
			timeout_reset(conn->to_idle);
		conn_dispatch(conn);
		if (!more)
			break;
	}
	conn_update_io(conn);
	conn_unref(conn);
}

/* ------------------------------------------------------------ TLS */

static void conn_handshake_step(struct conn *conn)
{
	enum tls_result res = tls_session_handshake(conn->tls);

	conn->hs_want = res;
	if (res == TLS_WANT_READ || res == TLS_WANT_WRITE) {
		conn_update_io(conn);
		return;
	}
	if (res != TLS_DONE) {
		conn_disconnect(conn, CONN_DISCONNECT_TLS_ERROR, "%s",
				tls_session_error(conn->tls));
		return;
	}
	conn->tls_state = CONN_TLS_ON;
	if (conn->to_idle != NULL)
		timeout_reset(conn->to_idle);
	conn_ref(conn);
	if (conn->cb.tls_ready != NULL)
		conn->cb.tls_ready(conn, conn->context);
	/* Output queued meanwhile, and data the peer sent right after its
	 * Finished message (already inside the library, maybe). */
	conn_flush(conn);
	conn_read_input(conn);
	conn_update_io(conn);
	conn_unref(conn);
}

/* Starts the handshake from the loop: a server waits for the
 * ClientHello, a client for room to send its own. */
static void conn_tls_begin(struct conn *conn)
{
	conn->tls_state = CONN_TLS_HANDSHAKE;
	conn->tls = tls_session_create(conn->tls_ctx, conn->fd_in,
				       conn->tls_host);
	conn->hs_want = tls_ctx_is_server(conn->tls_ctx) ? TLS_WANT_READ :
		TLS_WANT_WRITE;
	conn_update_io(conn);
}

/* ------------------------------------------------------------ output */

/* Writes what may go out now; -1 after a fatal error. */
static int conn_write_some(struct conn *conn)
{
	size_t len;

	while ((len = conn_writable_len(conn)) > 0) {
		const char *data = str_c(&conn->out);
		size_t n;

		if (conn->tls != NULL && conn->tls_state == CONN_TLS_ON) {
			enum tls_result res = tls_session_write(conn->tls,
								data, len, &n);

			conn->tls_write_wants_read = res == TLS_WANT_READ;
			if (res == TLS_WANT_READ || res == TLS_WANT_WRITE)
				return 0;
			if (res == TLS_ERROR) {
				conn_disconnect(conn, CONN_DISCONNECT_TLS_ERROR,
						"%s", tls_session_error(conn->tls));
				return -1;
			}
		} else {
			ssize_t ret = conn->out_is_socket ?
				send(conn->fd_out, data, len, MSG_NOSIGNAL) :
				write(conn->fd_out, data, len);

			if (ret < 0 && errno == EINTR)
				continue;
			if (ret < 0 && (errno == EAGAIN ||
					errno == EWOULDBLOCK))
				return 0;
			if (ret < 0) {
				conn_disconnect(conn, CONN_DISCONNECT_IO_ERROR,
						"write: %s", strerror(errno));
				return -1;
			}
			n = (size_t)ret;
		}
		str_delete_head(&conn->out, n);
		if (conn->tls_state == CONN_TLS_WAIT_FLUSH)
			conn->plain_left -= n;
		if (conn->to_write != NULL)
			timeout_reset(conn->to_write);
	}
	return 0;
}

static void conn_finish_close(struct conn *conn)
{
	if (conn->tls != NULL && conn->tls_state == CONN_TLS_ON) {
		/* close_notify is one small record: one try is enough, and a
		 * peer that is gone needs none. */
		(void)tls_session_shutdown(conn->tls);
	}
	conn_disconnect(conn, CONN_DISCONNECT_CLOSED, "Closed");
}

static void conn_flush(struct conn *conn)
{
	unsigned int rounds = 0;

	if (conn->flushing || conn->cork_count > 0 || conn->disconnected ||
	    conn->destroyed)
		return;
	conn_ref(conn);
	conn->flushing = true;
	for (;;) {
		if (conn_write_some(conn) < 0 || conn->destroyed)
			break;
		if (!conn->output_full ||
		    str_len(&conn->out) > conn->output_limit / 2 ||
		    conn->closing)
			break;
		conn->output_full = false;
		if (conn->cb.output_drained == NULL)
			break;
		/* Output made by the callback is written by this loop. */
		conn->cork_count++;
		conn->cb.output_drained(conn, conn->context);
		conn->cork_count--;
		if (conn->destroyed || conn->disconnected)
			break;
		if (++rounds >= CONN_MAX_DRAIN_ROUNDS &&
		    str_len(&conn->out) > 0)
			break;
	}
	conn->flushing = false;
	if (!conn->destroyed && !conn->disconnected) {
		if (conn->tls_state == CONN_TLS_WAIT_FLUSH &&
		    conn->plain_left == 0) {
			if (conn->closing)
				conn_disconnect(conn, CONN_DISCONNECT_CLOSED,
						"Closed");
			else
				conn_tls_begin(conn);
		} else if (conn->closing && str_len(&conn->out) == 0 &&
			   conn->tls_state != CONN_TLS_HANDSHAKE) {
			conn_finish_close(conn);
		}
	}
	conn_update_io(conn);
	conn_unref(conn);
}

/* The socket is writable (or readable): the handshake's next step, or the
 * flush (or read), after the read (or flush) that TLS asked to retry on
 * this event. */
static void conn_io_ready(struct conn *conn, bool writable)
{
	conn_ref(conn);
	if (conn->tls_state == CONN_TLS_HANDSHAKE) {
		conn_handshake_step(conn);
	} else if (writable) {
		if (conn->tls_read_wants_write) {
			conn->tls_read_wants_write = false;
			conn_read_input(conn);
		}
		conn_flush(conn);
	} else {
		if (conn->tls_write_wants_read) {
			conn->tls_write_wants_read = false;
			conn_flush(conn);
		}
		conn_read_input(conn);
	}
	conn_update_io(conn);
	conn_unref(conn);
}

static void conn_output_cb(void *context)
{
	conn_io_ready(context, true);
}

static void conn_input_cb(void *context)
{
	conn_io_ready(context, false);
}

int conn_write(struct conn *conn, const void *data, size_t len)
{
	if (conn->disconnected || conn->destroyed)
		return 1;
	if (str_append_n(&conn->out, data, len) < 0)
		log_panic("conn_write: output buffer limit");
	if (conn->cork_count == 0)
		conn_flush(conn);
	if (str_len(&conn->out) >= conn->output_limit) {
		conn->output_full = true;
		return 0;
	}
	conn->output_full = false;
	return 1;
}

int conn_write_str(struct conn *conn, const char *str)
{
	return conn_write(conn, str, strlen(str));
}

int conn_printf(struct conn *conn, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int ret;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	ret = conn_write(conn, text, strlen(text));
	free(text);
	return ret;
}

void conn_cork(struct conn *conn)
{
	conn->cork_count++;
}

void conn_uncork(struct conn *conn)
{
	if (conn->cork_count == 0)
		log_panic("conn_uncork() without conn_cork()");
	if (--conn->cork_count == 0)
		conn_flush(conn);
}

size_t conn_output_pending(const struct conn *conn)
{
	return str_len(&conn->out);
}

bool conn_input_waiting(const struct conn *conn)
{
	struct pollfd p = { .fd = conn->fd_in, .events = POLLIN };

	if (conn->pause_count > 0 || conn->input_eof || conn->closing ||
	    conn->fd_in < 0)
		return false;
	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

/* ------------------------------------------------------------ control */

static void conn_resume_cb(void *context)
{
	struct conn *conn = context;

	conn->to_resume = NULL;
	conn_ref(conn);
	conn_dispatch(conn);
	/* TLS may hold decrypted input the fd will never announce. */
	if (conn->tls != NULL && conn_input_wanted(conn))
		conn_read_input(conn);
	conn_update_io(conn);
	conn_unref(conn);
}

/* Delivers buffered input from the loop (not from the caller's stack). */
static void conn_schedule_dispatch(struct conn *conn)
{
	if (conn->to_resume == NULL && !conn->disconnected &&
	    !conn->destroyed)
		conn->to_resume = timeout_add_once(conn->loop, 0,
						   conn_resume_cb, conn);
	conn_update_io(conn);
}

void conn_input_pause(struct conn *conn)
{
	conn->pause_count++;
	conn_update_io(conn);
}

void conn_input_resume(struct conn *conn)
{
	if (conn->pause_count == 0)
		log_panic("conn_input_resume() without conn_input_pause()");
	if (--conn->pause_count == 0)
		conn_schedule_dispatch(conn);
}

void conn_input_raw(struct conn *conn, size_t size)
{
	if (size == 0)
		return;
	if (conn->cb.raw == NULL)
		log_panic("conn_input_raw() without a raw callback");
	conn->raw_left += size;
	conn->iscanned = 0;
	if (conn->dispatching == 0)
		conn_schedule_dispatch(conn);
}

int conn_start_tls(struct conn *conn, struct tls_ctx *ctx, const char *host,
		   const char **error_r)
{
	if (conn->pair) {
		*error_r = "TLS needs a socket, not a pair of fds";
		return -1;
	}
	if (conn->tls_state != CONN_TLS_NONE) {
		*error_r = "TLS is already active";
		return -1;
	}
	if (conn->closing || conn->destroyed) {
		*error_r = "connection is closing";
		return -1;
	}
	/* RFC 3207 section 5: nothing the client sent before the handshake
	 * may be used after it. */
	conn->istart = conn->iend = conn->iscanned = 0;
	conn->raw_left = 0;
	conn->skipping = false;
	conn->tls_ctx = ctx;
	free(conn->tls_host);
	conn->tls_host = host != NULL ? xstrdup(host) : NULL;
	conn->tls_state = CONN_TLS_WAIT_FLUSH;
	conn->plain_left = str_len(&conn->out);
	timeout_remove(&conn->to_resume);
	if (conn->cork_count == 0)
		conn_flush(conn);
	else
		conn_update_io(conn);
	return 0;
}

bool conn_line_crlf(const struct conn *conn)
{
	return conn->line_crlf;
}

bool conn_is_tls(const struct conn *conn)
{
	return conn->tls_state == CONN_TLS_ON;
}

struct tls_session *conn_tls_session(struct conn *conn)
{
	return conn->tls_state == CONN_TLS_ON ? conn->tls : NULL;
}

void conn_close(struct conn *conn)
{
	if (conn->closing || conn->destroyed)
		return;
	conn->closing = true;
	timeout_remove(&conn->to_resume);
	if (conn->tls_state == CONN_TLS_HANDSHAKE ||
	    (conn->tls_state == CONN_TLS_WAIT_FLUSH &&
	     conn->plain_left == 0)) {
		conn_disconnect(conn, CONN_DISCONNECT_CLOSED, "Closed");
		return;
	}
	if (conn->cork_count == 0)
		conn_flush(conn);
	else
		conn_update_io(conn);
}

bool conn_is_closing(const struct conn *conn)
{
	return conn->closing;
}

void conn_set_context(struct conn *conn, void *context)
{
	conn->context = context;
}

/* ------------------------------------------------------------ life */

static void conn_set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0 && (flags & O_NONBLOCK) == 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static bool conn_fd_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static struct conn *conn_new(struct ioloop *loop, int fd_in, int fd_out,
			     bool pair, const struct conn_settings *set,
			     const struct conn_callbacks *cb, void *context)
{
	struct conn *conn;

	if (set->max_line_len == 0 || set->max_line_len > CONN_MAX_LINE_LIMIT)
		log_panic("conn: max_line_len %zu out of range",
			  set->max_line_len);
	if (cb->line == NULL)
		log_panic("conn: the line callback is required");
	conn = xcalloc(1, sizeof(*conn));
	conn->refcount = 1;
	conn->loop = loop;
	conn->fd_in = fd_in;
	conn->fd_out = fd_out;
	conn->pair = pair;
	conn->max_line_len = set->max_line_len;
	conn->output_limit = set->output_limit != 0 ? set->output_limit :
		CONN_DEFAULT_OUTPUT_LIMIT;
	conn->idle_timeout_msecs = set->idle_timeout_msecs;
	conn->write_timeout_msecs = set->write_timeout_msecs;
	conn->cb = *cb;
	conn->context = context;
	conn->ibuf_size = set->max_line_len + 2;
	if (conn->ibuf_size < CONN_MIN_INPUT_BUFFER)
		conn->ibuf_size = CONN_MIN_INPUT_BUFFER;
	conn->ibuf = xmalloc(conn->ibuf_size);
	str_init(&conn->out, 256);
	conn_set_nonblock(fd_in);
	conn_set_nonblock(fd_out);
	conn->out_is_socket = conn_fd_is_socket(fd_out);
	return conn;
}

struct conn *conn_create(struct ioloop *loop, int fd,
			 const struct conn_settings *set,
			 const struct conn_callbacks *cb, void *context)
{
	struct conn *conn = conn_new(loop, fd, fd, false, set, cb, context);
	int one = 1;

	/* Replies go out in one write each: Nagle would only delay them. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (set->tls_ctx != NULL) {
		conn->tls_ctx = set->tls_ctx;
		conn->tls_host = set->tls_host != NULL ?
			xstrdup(set->tls_host) : NULL;
		conn_tls_begin(conn);
	} else {
		conn_update_io(conn);
	}
	return conn;
}

struct conn *conn_create_pair(struct ioloop *loop, int fd_in, int fd_out,
			      const struct conn_settings *set,
			      const struct conn_callbacks *cb, void *context)
{
	struct conn *conn;

	if (set->tls_ctx != NULL)
		log_panic("conn_create_pair: TLS needs a socket");
	conn = conn_new(loop, fd_in, fd_out, true, set, cb, context);
	conn_update_io(conn);
	return conn;
}

void conn_destroy(struct conn **connp)
{
	struct conn *conn = *connp;

	if (conn == NULL)
		return;
	*connp = NULL;
	if (conn->destroyed)
		return;
	conn->destroyed = true;
	conn->closing = true;
	io_remove(&conn->io_read);
	io_remove(&conn->io_write);
	timeout_remove(&conn->to_idle);
	timeout_remove(&conn->to_write);
	timeout_remove(&conn->to_resume);
	timeout_remove(&conn->to_disconnect);
	tls_session_destroy(&conn->tls);
	if (conn->fd_out != conn->fd_in && conn->fd_out >= 0)
		(void)close(conn->fd_out);
	if (conn->fd_in >= 0)
		(void)close(conn->fd_in);
	conn->fd_in = conn->fd_out = -1;
	conn_unref(conn);
}

int conn_detach(struct conn **connp, struct str *input)
{
	struct conn *conn = *connp;
	int fd;

	if (conn == NULL || conn->pair || conn->tls != NULL ||
	    conn->tls_state != CONN_TLS_NONE || conn->closing ||
	    conn->disconnected || conn->destroyed || conn->dispatching > 0 ||
	    str_len(&conn->out) > 0 || conn->raw_left > 0 || conn->skipping ||
	    conn->input_eof)
		return -1;
	if (str_append_n(input, conn->ibuf + conn->istart,
			 conn->iend - conn->istart) < 0)
		return -1;
	fd = conn->fd_in;
	conn->fd_in = conn->fd_out = -1;
	conn_destroy(connp);
	return fd;
}

int conn_input_prepend(struct conn *conn, const void *data, size_t len)
{
	size_t avail = conn->iend - conn->istart;

	if (len == 0)
		return 0;
	if (len > conn->ibuf_size - avail)
		return -1;
	/* [data][unread], the line scan starting over. */
	memmove(conn->ibuf + len, conn->ibuf + conn->istart, avail);
	memcpy(conn->ibuf, data, len);
	conn->istart = 0;
	conn->iend = len + avail;
	conn->iscanned = 0;
	if (conn->dispatching == 0)
		conn_schedule_dispatch(conn);
	return 0;
}
