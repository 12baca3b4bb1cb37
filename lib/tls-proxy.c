/* tls-proxy.c: many TLS connections relayed to plaintext sockets on one
 * ioloop (tls-proxy.h).
 *
 * Design: each connection is a small state machine run by tp_run()
 * whenever one of its two sockets is ready.  tp_run() tries every step
 * that may move bytes (handshake; TLS read -> plaintext write; plaintext
 * read -> TLS write; close_notify) until none moves anything, then
 * watches exactly the conditions the blocked steps wait for.  Trying
 * instead of waiting for readiness first also covers the bytes the TLS
 * library holds decrypted (tls_session_pending()) and the TLS operations
 * that want the other direction (a read that must write, a write that
 * must read).
 *
 * Reads go into one scratch buffer of the proxy; a connection gets a
 * buffer of its own only for what its peer could not take yet, and gives
 * it back as soon as it is written: an idle connection holds no buffer.
 * While a direction holds such a leftover its source is not read.
 *
 * One timer of the proxy (each second, while a connection is in its
 * handshake or has output buffered) ends handshakes past their deadline
 * and connections whose buffered output has not moved for
 * write_timeout_msecs: no timer per connection, and none at all while
 * every connection is idle. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ioloop.h"
#include "mem.h"
#include "tls-proxy.h"
#include "tls.h"

#define TP_DEFAULT_MAX_CONNS 1000
#define TP_DEFAULT_HANDSHAKE_MSECS (60 * 1000)
#define TP_DEFAULT_WRITE_MSECS (300 * 1000)
#define TP_DEFAULT_BUFFER 16384
#define TP_MIN_BUFFER 512
#define TP_MAX_BUFFER 65536
#define TP_SCAN_MSECS 1000

enum tp_state {
	TP_HANDSHAKE,
	TP_RELAY,
	TP_SHUTDOWN,		/* sending close_notify, then closing */
};

/* A buffered leftover: the bytes [0, len) still to be written. */
struct tp_buf {
	char *data;
	size_t len;
};

struct tp_conn {
	struct tls_proxy *proxy;
	struct tp_conn *prev, *next;
	struct tls_session *sess;
	int cfd, pfd;
	struct io *cio, *pio;
	enum io_condition ccond, pcond;
	enum tp_state state;
	uint64_t deadline;	/* the handshake's */
	uint64_t last_progress;
	struct tp_buf c2p;	/* decrypted, for the plaintext side */
	struct tp_buf p2c;	/* plaintext, for the TLS side */
	bool c_eof;		/* the client closed (close_notify or EOF) */
	bool p_eof;		/* the plaintext side closed */
	bool p_shut;		/* plaintext socket shut down for writing */
	/* what a blocked TLS step waits for on cfd (IO_READ/IO_WRITE) */
	enum io_condition want_tls;
	/* what a blocked plaintext step waits for on pfd */
	enum io_condition want_plain;
};

struct tls_proxy {
	struct ioloop *loop;
	struct tls_ctx *ctx;
	struct tls_proxy_settings set;
	struct tp_conn *conns;
	unsigned int count;
	size_t buffered;
	struct timeout *scan;
	char *scratch;
};

static void tp_scan(void *context);

/* Something to watch: makes sure the scan runs. */
static void tp_scan_need(struct tls_proxy *proxy)
{
	if (proxy->scan == NULL)
		proxy->scan = timeout_add(proxy->loop, TP_SCAN_MSECS, tp_scan,
					  proxy);
}

static void tp_buf_set(struct tls_proxy *proxy, struct tp_buf *b,
		       const char *data, size_t len)
{
	tp_scan_need(proxy);
	if (b->data == NULL)
		b->data = xmalloc(proxy->set.buffer_size);
	memcpy(b->data, data, len);
	b->len = len;
	proxy->buffered += len;
}

/* Drops the first n bytes; frees the buffer when empty. */
static void tp_buf_consume(struct tls_proxy *proxy, struct tp_buf *b,
			   size_t n)
{
	proxy->buffered -= n;
	b->len -= n;
	if (b->len == 0) {
		x_free(b->data);
		return;
	}
	memmove(b->data, b->data + n, b->len);
}

static void tp_buf_free(struct tls_proxy *proxy, struct tp_buf *b)
{
	proxy->buffered -= b->len;
	b->len = 0;
	x_free(b->data);
}

static void tp_conn_free(struct tp_conn *c)
{
	struct tls_proxy *proxy = c->proxy;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		proxy->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	proxy->count--;
	io_remove(&c->cio);
	io_remove(&c->pio);
	tls_session_destroy(&c->sess);
	close(c->cfd);
	close(c->pfd);
	tp_buf_free(proxy, &c->c2p);
	tp_buf_free(proxy, &c->p2c);
	free(c);
	if (proxy->count == 0)
		timeout_remove(&proxy->scan);
}

static void tp_io_cfd(void *context);
static void tp_io_pfd(void *context);

static void tp_watch(struct tp_conn *c, struct io **io, int fd,
		     enum io_condition *cur, enum io_condition want,
		     io_callback_t *cb)
{
	if (*io != NULL && *cur == want)
		return;
	io_remove(io);
	*cur = want;
	if (want != 0)
		*io = io_add(c->proxy->loop, fd, want, cb, c);
}

/* Maps a blocked TLS step to the condition it waits for. */
static enum io_condition tp_want(enum tls_result r)
{
	return r == TLS_WANT_WRITE ? IO_WRITE : IO_READ;
}

/* The handshake: true when it finished; false when blocked (want_tls
 * set) or failed (*dead). */
static bool tp_handshake(struct tp_conn *c, bool *dead)
{
	enum tls_result r = tls_session_handshake(c->sess);

	if (r == TLS_DONE) {
		c->state = TP_RELAY;
		c->deadline = 0;
		return true;
	}
	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		c->want_tls |= tp_want(r);
	else
		*dead = true;
	return false;
}

/* Writes the c2p leftover to the plaintext side.  True on progress. */
static bool tp_flush_c2p(struct tp_conn *c, bool *dead)
{
	ssize_t n = send(c->pfd, c->c2p.data, c->c2p.len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0) {
		tp_buf_consume(c->proxy, &c->c2p, (size_t)n);
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		c->want_plain |= IO_WRITE;
	else
		*dead = true;
	return false;
}

/* Client to plaintext: one TLS read, written on at once; what the
 * plaintext side does not take stays in c2p.  True on progress. */
static bool tp_client_read(struct tp_conn *c, bool *dead)
{
	struct tls_proxy *proxy = c->proxy;
	size_t len;
	enum tls_result r = tls_session_read(c->sess, proxy->scratch,
					     proxy->set.buffer_size, &len);

	switch (r) {
	case TLS_DONE:
		break;
	case TLS_WANT_READ:
	case TLS_WANT_WRITE:
		c->want_tls |= tp_want(r);
		return false;
	case TLS_CLOSED:
		c->c_eof = true;
		return true;
	case TLS_ERROR:
		*dead = true;
		return false;
	}
	ssize_t n = send(c->pfd, proxy->scratch, len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			*dead = true;
			return false;
		}
		n = 0;
	}
	if ((size_t)n < len)
		tp_buf_set(proxy, &c->c2p, proxy->scratch + n,
			   len - (size_t)n);
	return true;
}

/* Writes the p2c leftover through TLS.  True on progress. */
static bool tp_flush_p2c(struct tp_conn *c, bool *dead)
{
	size_t n;
	enum tls_result r = tls_session_write(c->sess, c->p2c.data,
					      c->p2c.len, &n);

	if (r == TLS_DONE) {
		tp_buf_consume(c->proxy, &c->p2c, n);
		return true;
	}
	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		c->want_tls |= tp_want(r);
	else
		*dead = true;
	return false;
}

/* Plaintext to client: one read of the plaintext side, encrypted at
 * once; what TLS does not take stays in p2c.  True on progress. */
static bool tp_plain_read(struct tp_conn *c, bool *dead)
{
	struct tls_proxy *proxy = c->proxy;
	ssize_t n = recv(c->pfd, proxy->scratch, proxy->set.buffer_size,
			 MSG_DONTWAIT);

	if (n == 0) {
		c->p_eof = true;
		return true;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			c->want_plain |= IO_READ;
		else
			*dead = true;
		return false;
	}
	size_t taken = 0;
	enum tls_result r = tls_session_write(c->sess, proxy->scratch,
					      (size_t)n, &taken);
	if (r == TLS_ERROR) {
		*dead = true;
		return false;
	}
	if (r != TLS_DONE)
		c->want_tls |= tp_want(r);
	if (taken < (size_t)n)
		tp_buf_set(proxy, &c->p2c, proxy->scratch + taken,
			   (size_t)n - taken);
	return true;
}

/* Moves what can be moved, then watches what the blocked steps wait
 * for.  May free c. */
static void tp_run(struct tp_conn *c)
{
	bool dead = false, progress;

	do {
		progress = false;
		c->want_tls = 0;
		c->want_plain = 0;
		if (c->state == TP_HANDSHAKE) {
			if (!tp_handshake(c, &dead))
				break;
			progress = true;
		}
		if (c->state == TP_SHUTDOWN) {
			enum tls_result r = tls_session_shutdown(c->sess);

			if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
				c->want_tls |= tp_want(r);
				break;
			}
			/* sent, or it cannot be: the connection is over */
			dead = true;
			break;
		}
		/* client -> plaintext */
		if (c->c2p.len > 0)
			progress |= tp_flush_c2p(c, &dead);
		else if (!c->c_eof)
			progress |= tp_client_read(c, &dead);
		if (dead)
			break;
		if (c->c_eof && c->c2p.len == 0 && !c->p_shut) {
			/* the client is done: the protocol process sees EOF
			 * and may still answer */
			(void)shutdown(c->pfd, SHUT_WR);
			c->p_shut = true;
			progress = true;
		}
		/* plaintext -> client */
		if (c->p2c.len > 0)
			progress |= tp_flush_p2c(c, &dead);
		else if (!c->p_eof)
			progress |= tp_plain_read(c, &dead);
		if (dead)
			break;
		if (c->p_eof && c->p2c.len == 0) {
			if (c->c_eof) {
				/* both sides closed */
				dead = true;
				break;
			}
			c->state = TP_SHUTDOWN;
			tp_scan_need(c->proxy);
			progress = true;
		}
		if (progress)
			c->last_progress = ioloop_now_ms(c->proxy->loop);
	} while (progress);

	if (dead) {
		tp_conn_free(c);
		return;
	}
	tp_watch(c, &c->cio, c->cfd, &c->ccond, c->want_tls, tp_io_cfd);
	tp_watch(c, &c->pio, c->pfd, &c->pcond, c->want_plain, tp_io_pfd);
}

static void tp_io_cfd(void *context)
{
	tp_run(context);
}

static void tp_io_pfd(void *context)
{
	tp_run(context);
}

/* Each second: handshakes past their deadline, output stuck too long. */
static void tp_scan(void *context)
{
	struct tls_proxy *proxy = context;
	uint64_t now = ioloop_now_ms(proxy->loop);
	struct tp_conn *c, *next;
	bool any = false;

	for (c = proxy->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == TP_HANDSHAKE) {
			if (now >= c->deadline)
				tp_conn_free(c);
			else
				any = true;
			continue;
		}
		bool waiting = c->c2p.len > 0 || c->p2c.len > 0 ||
			       c->state == TP_SHUTDOWN;
		if (waiting && now - c->last_progress >=
				       proxy->set.write_timeout_msecs)
			tp_conn_free(c);
		else if (waiting)
			any = true;
	}
	/* nothing to watch: idle until a connection needs it again */
	if (!any) {
		timeout_remove(&proxy->scan);
		if (proxy->set.quiet != NULL)
			proxy->set.quiet(proxy->set.quiet_context);
	}
}

struct tls_proxy *tls_proxy_create(struct ioloop *loop, struct tls_ctx *ctx,
				   const struct tls_proxy_settings *set)
{
	struct tls_proxy *proxy = xcalloc(1, sizeof(*proxy));

	proxy->loop = loop;
	proxy->ctx = ctx;
	if (set != NULL)
		proxy->set = *set;
	if (proxy->set.max_conns == 0)
		proxy->set.max_conns = TP_DEFAULT_MAX_CONNS;
	if (proxy->set.handshake_timeout_msecs == 0)
		proxy->set.handshake_timeout_msecs =
			TP_DEFAULT_HANDSHAKE_MSECS;
	if (proxy->set.write_timeout_msecs == 0)
		proxy->set.write_timeout_msecs = TP_DEFAULT_WRITE_MSECS;
	if (proxy->set.buffer_size == 0)
		proxy->set.buffer_size = TP_DEFAULT_BUFFER;
	if (proxy->set.buffer_size < TP_MIN_BUFFER)
		proxy->set.buffer_size = TP_MIN_BUFFER;
	if (proxy->set.buffer_size > TP_MAX_BUFFER)
		proxy->set.buffer_size = TP_MAX_BUFFER;
	proxy->scratch = xmalloc(proxy->set.buffer_size);
	return proxy;
}

void tls_proxy_destroy(struct tls_proxy **proxyp)
{
	struct tls_proxy *proxy = *proxyp;

	if (proxy == NULL)
		return;
	while (proxy->conns != NULL)
		tp_conn_free(proxy->conns);
	timeout_remove(&proxy->scan);
	free(proxy->scratch);
	free(proxy);
	*proxyp = NULL;
}

static void tp_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0 && (flags & O_NONBLOCK) == 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int tls_proxy_add(struct tls_proxy *proxy, int client_fd, int plain_fd)
{
	int one = 1;

	if (proxy->count >= proxy->set.max_conns)
		return -1;
	tp_nonblock(client_fd);
	tp_nonblock(plain_fd);
	/* replies are small and interactive (fails on a non-TCP socket,
	 * which is fine) */
	(void)setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one,
			 sizeof(one));

	struct tp_conn *c = xcalloc(1, sizeof(*c));
	c->proxy = proxy;
	c->cfd = client_fd;
	c->pfd = plain_fd;
	c->sess = tls_session_create(proxy->ctx, client_fd, NULL);
	c->state = TP_HANDSHAKE;
	c->last_progress = ioloop_now_ms(proxy->loop);
	c->deadline = c->last_progress + proxy->set.handshake_timeout_msecs;
	c->next = proxy->conns;
	if (c->next != NULL)
		c->next->prev = c;
	proxy->conns = c;
	proxy->count++;
	tp_scan_need(proxy);
	/* the ClientHello is usually not there yet: wait for it */
	tp_watch(c, &c->cio, c->cfd, &c->ccond, IO_READ, tp_io_cfd);
	return 0;
}

unsigned int tls_proxy_count(const struct tls_proxy *proxy)
{
	return proxy->count;
}

size_t tls_proxy_buffered(const struct tls_proxy *proxy)
{
	return proxy->buffered;
}
