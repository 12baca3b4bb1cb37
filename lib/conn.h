/* conn.h: a connection for line protocols (SMTP, IMAP, POP3, the
 * authdaemon socket) on the ioloop.
 *
 * A conn owns a socket (or a pair of fds, stdin/stdout, for tunnelled
 * sessions) and optionally a TLS session on it: implicit TLS (handshake
 * first, ports 465/993/995) or STARTTLS (switched on after the reply is
 * flushed, with every byte the client sent before the handshake thrown
 * away, RFC 3207 section 5 and RFC 2595 section 3.1).
 *
 * Input is delivered to callbacks one line at a time, in order, however
 * the bytes arrived: lines end in CRLF or a bare LF, and are at most
 * max_line_len bytes without their ending.  A longer line is never
 * buffered: it is reported as its own event and its bytes are skipped up
 * to the next LF, after which lines flow again.  A raw mode hands on
 * exactly N bytes (IMAP literals, BDAT chunks) in pieces; input can be
 * paused while a command is in progress.
 *
 * Output is buffered.  While input callbacks run the output is corked and
 * flushed in one write when they return, so pipelined replies and
 * multi-line replies go out together; conn_cork() does the same for output
 * made elsewhere.  A soft limit gives backpressure for large responses.
 *
 * Every way the connection ends (EOF, timeouts, errors, conn_close()) is
 * reported once through the disconnected callback, with a reason and a
 * text for the log; the owner then calls conn_destroy(), which may be done
 * from inside any callback. */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stddef.h>

struct ioloop;
struct str;
struct tls_ctx;
struct tls_session;
struct conn;

enum conn_disconnect_reason {
	CONN_DISCONNECT_EOF,		/* the peer closed the connection */
	CONN_DISCONNECT_IDLE_TIMEOUT,	/* no input for idle_timeout_msecs */
	CONN_DISCONNECT_WRITE_TIMEOUT,	/* output stuck for write_timeout */
	CONN_DISCONNECT_IO_ERROR,	/* read()/write() failed */
	CONN_DISCONNECT_TLS_ERROR,	/* handshake or TLS record failure */
	CONN_DISCONNECT_CLOSED,		/* conn_close() finished */
};

struct conn_callbacks {
	/* A complete line without its CRLF/LF; line[len] is NUL, but the
	 * line may hold NUL bytes of its own.  Valid only during the call. */
	void (*line)(struct conn *conn, const char *line, size_t len,
		     void *context);
	/* A line longer than max_line_len began; its bytes up to and
	 * including the next LF are discarded.  Reported as soon as the
	 * limit is passed (the protocol answers "500 Line too long" or
	 * closes).  NULL: the overlong line is dropped silently. */
	void (*line_too_long)(struct conn *conn, void *context);
	/* Raw mode: the next piece of the N bytes asked for; last is true
	 * on the final piece, after which line mode is back. */
	void (*raw)(struct conn *conn, const void *data, size_t len,
		    bool last, void *context);
	/* Buffered output fell to half the limit after conn_write() had
	 * reported it full: produce more.  May be NULL. */
	void (*output_drained)(struct conn *conn, void *context);
	/* The TLS handshake finished (implicit TLS or STARTTLS); input
	 * flows again.  May be NULL. */
	void (*tls_ready)(struct conn *conn, void *context);
	/* The connection ended; text says how ("EOF", "Idle timeout after
	 * 300 s", "read: Connection reset by peer", "TLS handshake: ...").
	 * Called once; afterwards nothing is read or written. */
	void (*disconnected)(struct conn *conn,
			     enum conn_disconnect_reason reason,
			     const char *text, void *context);
};

struct conn_settings {
	/* Longest line accepted, without its line ending (SMTP: 998 for
	 * RFC 5321's 1000 with CRLF).  Required, 1 .. 16 MB. */
	size_t max_line_len;
	/* Soft limit of buffered output: past it conn_write() returns 0 and
	 * output_drained is called later.  0 = 256 kB. */
	size_t output_limit;
	/* Disconnect after this long without input while input is wanted
	 * (not while paused); 0 = never. */
	unsigned int idle_timeout_msecs;
	/* Disconnect when buffered output makes no progress for this long;
	 * 0 = never. */
	unsigned int write_timeout_msecs;
	/* Implicit TLS: the handshake runs first with this context (a
	 * server or a client context).  NULL = plain. */
	struct tls_ctx *tls_ctx;
	/* Client contexts: the server's name for SNI and verification. */
	const char *tls_host;
};

/* Creates a connection over a connected socket, which it owns (made
 * non-blocking, TCP_NODELAY when TCP, closed by conn_destroy()).  Input
 * starts flowing at once (after the handshake with implicit TLS). */
struct conn *conn_create(struct ioloop *loop, int fd,
			 const struct conn_settings *set,
			 const struct conn_callbacks *cb, void *context);
/* The same over two fds (input, output), e.g. 0 and 1 for `imapd DIR`;
 * both are owned (closed by conn_destroy()).  TLS is refused on a pair. */
struct conn *conn_create_pair(struct ioloop *loop, int fd_in, int fd_out,
			      const struct conn_settings *set,
			      const struct conn_callbacks *cb, void *context);
/* Closes the fds, frees everything, sets *conn to NULL.  No callback is
 * called afterwards.  Safe inside the conn's own callbacks. */
void conn_destroy(struct conn **conn);

/* Stops delivering input (lines, raw bytes, EOF) and stops reading the
 * socket, so the peer is slowed by TCP.  Calls nest: input resumes when
 * every pause has had its resume.  The idle timeout does not run while
 * paused. */
void conn_input_pause(struct conn *conn);
/* Undoes one pause; buffered input (pipelined commands) is delivered
 * from the loop, not from inside this call. */
void conn_input_resume(struct conn *conn);
/* Switches to raw mode: the next size bytes go to the raw callback (in
 * pieces of any length), then lines again.  Usually called from the line
 * callback that announced them.  size 0 is a no-op. */
void conn_input_raw(struct conn *conn, size_t size);

/* Appends to the output buffer and writes it unless corked (one write
 * per call).  Returns 1 while buffered output is below the limit, 0 once
 * it is at or past it: stop producing until output_drained.  Nothing is
 * ever dropped; after a disconnect the data is silently discarded. */
int conn_write(struct conn *conn, const void *data, size_t len);
int conn_write_str(struct conn *conn, const char *str);
int conn_printf(struct conn *conn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Cork: output is only buffered until the matching uncork, which writes
 * it at once (calls nest). */
void conn_cork(struct conn *conn);
void conn_uncork(struct conn *conn);
/* Bytes waiting to be written (including inside TLS). */
size_t conn_output_pending(const struct conn *conn);
/* True when input waits to be read (the peer sent more): not while the
 * input is paused or ended. */
bool conn_input_waiting(const struct conn *conn);

/* STARTTLS: call after queueing the "ready to start TLS" reply.  Input
 * stops; every byte already received is discarded; when the output is
 * flushed the handshake runs with ctx (server or client context; host
 * for a client, else NULL), then tls_ready is called and lines flow
 * again.  Returns -1 with *error_r if TLS is already on, the conn is a
 * fd pair or is closing. */
int conn_start_tls(struct conn *conn, struct tls_ctx *ctx, const char *host,
		   const char **error_r);
/* In the line callback: true when the line ended in CRLF, false when
 * in a bare LF (the line given to the callback has neither).  SMTP's end
 * of data is CRLF "." CRLF only (RFC 5321 4.1.1.4): a "." line with a
 * bare LF on either side must not end it (SMTP smuggling). */
bool conn_line_crlf(const struct conn *conn);
/* True once a handshake finished; the session (for the protocol, cipher
 * and peer certificate) or NULL. */
bool conn_is_tls(const struct conn *conn);
struct tls_session *conn_tls_session(struct conn *conn);

/* Ends the connection politely: no more input is delivered, buffered
 * output is flushed (within the write timeout), TLS sends close_notify,
 * then disconnected is called with CONN_DISCONNECT_CLOSED. */
void conn_close(struct conn *conn);
/* True after disconnected was called (or conn_close() began). */
bool conn_is_closing(const struct conn *conn);

/* Hands the socket over (to another process, with SCM_RIGHTS): returns
 * the fd, which the caller now owns, and appends to input the bytes
 * received but not delivered yet (pipelined commands); frees the conn and
 * sets *conn to NULL without any callback.  Only a plain socket conn (no
 * TLS, not a pair) that is not closing, has no output pending, is in line
 * mode and has not seen EOF can be detached: otherwise returns -1 and
 * changes nothing.  Not from inside the conn's own callbacks. */
int conn_detach(struct conn **conn, struct str *input);
/* Puts data in front of the unread input, as if just read (the input
 * that came with a socket handed over); it is delivered from the loop.
 * Returns -1 if it does not fit in the input buffer (max_line_len + 2
 * bytes, at least 8 KB), else 0. */
int conn_input_prepend(struct conn *conn, const void *data, size_t len);

/* Replaces the context passed to the callbacks. */
void conn_set_context(struct conn *conn, void *context);

#endif
