/* tls.h: TLS for the suite's daemons and clients, one interface over two
 * libraries (OpenSSL >= 1.1.1 in tls-openssl.c, GnuTLS >= 3.6 in
 * tls-gnutls.c), chosen by configure's --with-tls.
 *
 * A tls_ctx holds what is shared by many sessions: the server's
 * certificate and key, or a client's trust anchors, and the protocol and
 * cipher settings.  Every problem with those files is reported when the
 * context is created, so a daemon fails at start and never at its first
 * client.  A tls_session is one connection over a non-blocking socket: each
 * operation returns at once, saying whether it finished or which way the
 * socket must become ready before calling it again.  Sessions are
 * independent; a process may hold any number of them.
 *
 * Writing to a peer that closed may raise SIGPIPE inside the TLS library:
 * programs using this module ignore SIGPIPE (the daemons all do). */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include <stddef.h>

struct tls_ctx;
struct tls_session;

/* Protocol versions for the settings' range. */
enum tls_version {
	TLS_VERSION_DEFAULT = 0, /* min: TLS 1.2; max: the newest supported */
	TLS_VERSION_1_0,
	TLS_VERSION_1_1,
	TLS_VERSION_1_2,
	TLS_VERSION_1_3,
};

/* What a session operation did. */
enum tls_result {
	TLS_ERROR = -1,	     /* failed: tls_session_error() says why */
	TLS_DONE = 0,	     /* finished (for read/write: some bytes moved) */
	TLS_WANT_READ = 1,   /* call again once the fd is readable */
	TLS_WANT_WRITE = 2,  /* call again once the fd is writable */
	TLS_CLOSED = 3,	     /* read only: the peer closed the connection */
};

struct tls_settings {
	/* Server: the PEM certificate chain (the server's certificate first).
	 * Client: an optional client certificate.  NULL = none. */
	const char *cert_file;
	/* The PEM private key; NULL = it is in cert_file (as Courier's
	 * TLS_CERTFILE holds both). */
	const char *key_file;
	/* Server only: PEM DH parameters ("BEGIN DH PARAMETERS"); NULL = the
	 * library's built-in groups. */
	const char *dh_file;
	/* Trust anchors (PEM) for verifying the peer; NULL = the system store
	 * (client) or no client certificates are verified (server). */
	const char *ca_file;
	/* Protocol range; TLS_VERSION_DEFAULT gives TLS 1.2 .. newest. */
	enum tls_version min_version, max_version;
	/* OpenSSL build: cipher list for TLS <= 1.2 (openssl-ciphers(1)
	 * syntax); ignored by the GnuTLS build.  NULL = library default. */
	const char *cipher_list;
	/* GnuTLS build: priority string (gnutls_priority_init(3)), without
	 * version items: the range above is added to it.  Ignored by the
	 * OpenSSL build.  NULL = "NORMAL". */
	const char *priority;
	/* Server: ask clients for a certificate (never required); its
	 * subject and verification against ca_file are then reported. */
	bool request_client_cert;
	/* Client: fail the handshake when the server's certificate does not
	 * verify (chain and host name).  Otherwise the result is only
	 * reported by tls_session_verify_result(). */
	bool require_verify;
};

/* Creates a server context.  cert_file is required.  Returns NULL and sets
 * *error_r (valid until the next call of this module) when a file is
 * missing, unreadable or malformed, the key does not match the certificate
 * or a setting is invalid, e.g. "/etc/server.pem: No such file or
 * directory". */
struct tls_ctx *tls_ctx_server_create(const struct tls_settings *set,
				      const char **error_r);
/* Creates a client context; set may be NULL for defaults (system CA
 * store, verification reported but not required).  Returns NULL with
 * *error_r on failure. */
struct tls_ctx *tls_ctx_client_create(const struct tls_settings *set,
				      const char **error_r);
/* Frees the context; sessions made from it must be destroyed first.
 * Sets *ctx to NULL; NULL is ignored. */
void tls_ctx_destroy(struct tls_ctx **ctx);
/* True for a server context. */
bool tls_ctx_is_server(const struct tls_ctx *ctx);

/* Creates a session over fd (a connected, non-blocking socket that stays
 * owned by the caller).  host: for a client, the server's name, sent as
 * SNI and checked against its certificate (NULL = neither); ignored for a
 * server context.  Never fails for lack of memory. */
struct tls_session *tls_session_create(struct tls_ctx *ctx, int fd,
				       const char *host);
/* Frees the session without closing fd.  Sets *sess to NULL. */
void tls_session_destroy(struct tls_session **sess);

/* Runs the handshake: TLS_DONE when finished, TLS_WANT_* to call again,
 * TLS_ERROR when it failed (including a verification failure when
 * require_verify is set). */
enum tls_result tls_session_handshake(struct tls_session *sess);
/* Reads up to size decrypted bytes into buf.  TLS_DONE with *len_r > 0,
 * TLS_WANT_*, TLS_CLOSED at the peer's close_notify or EOF, TLS_ERROR. */
enum tls_result tls_session_read(struct tls_session *sess, void *buf,
				 size_t size, size_t *len_r);
/* Writes up to size bytes: TLS_DONE with *len_r > 0 bytes taken, or
 * TLS_WANT_* / TLS_ERROR.  After TLS_WANT_*, call again with the same
 * bytes at the start of buf (buf may have moved and may hold more). */
enum tls_result tls_session_write(struct tls_session *sess, const void *buf,
				  size_t size, size_t *len_r);
/* Sends close_notify (does not wait for the peer's): TLS_DONE, TLS_WANT_*
 * or TLS_ERROR. */
enum tls_result tls_session_shutdown(struct tls_session *sess);
/* Decrypted bytes held inside the library: read them before waiting for
 * the fd to become readable again. */
size_t tls_session_pending(struct tls_session *sess);

/* The last error's text, "" if none.  Valid until the next operation. */
const char *tls_session_error(const struct tls_session *sess);
/* After the handshake: the protocol ("TLSv1.3"), the cipher suite
 * ("TLS_AES_256_GCM_SHA384") and its secret key bits, for logs and
 * Received: headers.  Strings live as long as the session. */
const char *tls_session_protocol(struct tls_session *sess);
const char *tls_session_cipher(struct tls_session *sess);
int tls_session_cipher_bits(struct tls_session *sess);
/* The peer certificate's subject as an RFC 4514 string ("CN=x,O=y"), or
 * NULL if the peer sent none.  Lives as long as the session. */
const char *tls_session_peer_subject(struct tls_session *sess);
/* Whether the peer's certificate verified against the trust anchors (and,
 * for a client with a host, matched it): 1 yes, 0 no (with *reason_r),
 * -1 no certificate was presented. */
int tls_session_verify_result(struct tls_session *sess,
			      const char **reason_r);

/* Reads a whole file of at most max_size bytes for a TLS context, with
 * errors as "path: strerror".  Used by both implementations; the caller
 * wipes and frees *data_r.  Returns 0 or -1. */
int tls_read_file(const char *path, size_t max_size, char **data_r,
		  size_t *size_r, const char **error_r);

#endif
