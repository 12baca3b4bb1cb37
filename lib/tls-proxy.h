/* tls-proxy.h: a TLS proxy that serves many connections on one ioloop.
 *
 * Each connection joins a client's socket (the TLS side) and a plaintext
 * socket (one end of a socketpair whose other end a protocol process
 * reads as if the client spoke in clear).  The proxy runs the server
 * handshake on the client's socket within a deadline, then moves bytes
 * both ways: what the client sends is decrypted and written to the
 * plaintext socket, what the plaintext side writes is encrypted to the
 * client.  This is what Postfix's tlsproxy(8) and Dovecot's login
 * processes do: a process per connection is not needed to hold the TLS
 * state, so an idle connection costs only its entry here (the TLS
 * session without its record buffers, which the library releases while
 * idle) and the kernel's socket buffers.
 *
 * Buffers are small and bounded: at most buffer_size bytes per direction,
 * and only while a write is blocked (an idle connection holds none).  A
 * side whose peer cannot take more is not read (back-pressure: TCP slows
 * the sender), and the plaintext side is not read before the handshake
 * is over.
 *
 * Ends: the client's close_notify or EOF shuts the plaintext socket down
 * for writing once what was decrypted is delivered (the protocol process
 * sees EOF and may still answer); EOF on the plaintext side sends what is
 * left and then close_notify to the client and closes both.  A failed
 * handshake, a TLS error, an I/O error, the handshake deadline or output
 * stuck for write_timeout_msecs closes both sockets at once.  Nothing is
 * logged per connection. */
#ifndef TLS_PROXY_H
#define TLS_PROXY_H

#include <stdbool.h>
#include <stddef.h>

struct ioloop;
struct tls_ctx;
struct tls_proxy;

struct tls_proxy_settings {
	/* Connections served at once; tls_proxy_add() refuses more.
	 * 0 = 1000. */
	unsigned int max_conns;
	/* The handshake must finish within this; 0 = 60 s. */
	unsigned int handshake_timeout_msecs;
	/* Close when buffered output (either way) makes no progress for
	 * this long; 0 = 300 s. */
	unsigned int write_timeout_msecs;
	/* Bytes buffered per direction, 512 .. 65536; 0 = 16384 (one TLS
	 * record). */
	size_t buffer_size;
	/* Called (from the loop) when the proxy goes quiet after work: no
	 * handshake running and no output buffered any more, checked each
	 * second.  A process may give memory back then (malloc_trim()).
	 * NULL: none. */
	void (*quiet)(void *context);
	void *quiet_context;
};

/* Creates a proxy on loop for server sessions of ctx (a server context,
 * which must outlive the proxy).  set may be NULL for the defaults. */
struct tls_proxy *tls_proxy_create(struct ioloop *loop, struct tls_ctx *ctx,
				   const struct tls_proxy_settings *set);
/* Closes every connection (both sockets, without close_notify) and frees
 * the proxy; sets *proxy to NULL.  NULL is ignored. */
void tls_proxy_destroy(struct tls_proxy **proxy);

/* Takes client_fd (a connected socket, the TLS side) and plain_fd (a
 * connected stream socket, the plaintext side); both become the proxy's
 * (made non-blocking, closed when the connection ends) and the handshake
 * starts.  Returns 0, or -1 when max_conns connections are open already
 * (the fds then stay the caller's). */
int tls_proxy_add(struct tls_proxy *proxy, int client_fd, int plain_fd);
/* The connections open now. */
unsigned int tls_proxy_count(const struct tls_proxy *proxy);
/* Bytes held in the proxy's own relay buffers now (for tests and
 * statistics; the TLS library's own buffers are not counted). */
size_t tls_proxy_buffered(const struct tls_proxy *proxy);

#endif
