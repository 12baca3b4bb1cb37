/* listen.h: TCP listeners on the event loop, with connection limits.
 *
 * A listen_service is one network service (SMTP, IMAPS...) with one or
 * more listening addresses, each written as text:
 *
 *   127.0.0.1:2525     one IPv4 address
 *   [::1]:2143         one IPv6 address (IPv6 only)
 *   0.0.0.0:25         every IPv4 address
 *   [::]:25            every IPv6 address (IPv6 only)
 *   *:25  or  25       every address: one dual-stack IPv6 socket that also
 *                      takes IPv4, or IPv4 alone on a host without IPv6
 *
 * Host parts are numeric (no DNS at bind time); port 0 binds a free port
 * (tests ask for it with listen_service_port()).  Listening sockets are
 * non-blocking, close-on-exec and SO_REUSEADDR.
 *
 * Connections are accepted on the loop.  Accepted sockets are non-blocking,
 * close-on-exec and TCP_NODELAY (a reply never waits on a delayed ACK).
 * IPv4 clients of a dual-stack socket are shown as IPv4 (1.2.3.4, not
 * ::ffff:1.2.3.4), in the strings and in the sockaddrs.
 *
 * Limits: a total for the service and one per client IP (IPv6 clients
 * counted by a prefix, /128 by default).  A connection over a limit goes
 * to the refused callback, which may write a short busy reply (SMTP 421)
 * and must close the fd, or is closed when there is none.  An accepted
 * connection holds its place until the service calls listen_conn_closed().
 *
 * Running out of fds (EMFILE, ENFILE) or memory while accepting pauses
 * the service's listeners for accept_pause_msecs, or until one of its
 * connections closes, instead of spinning; the error is logged at most
 * every 10 s. */
#ifndef LISTEN_H
#define LISTEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "ioloop.h"

/* Longest address text accepted ("[ipv6]:port" fits easily). */
#define LISTEN_ADDRESS_MAX 128
/* Room for any printable IP address with its NUL. */
#define LISTEN_IP_STRLEN INET6_ADDRSTRLEN

struct listen_service;
struct listen_conn;

struct listen_settings {
	unsigned int max_connections;	/* 0 = no limit */
	unsigned int max_per_ip;	/* 0 = no limit */
	/* IPv6 clients share a per-IP count by this prefix (1..128);
	 * 0 means 128 (each address on its own). */
	unsigned int ipv6_prefix;
	int backlog;			/* 0 = SOMAXCONN */
	unsigned int accept_pause_msecs; /* 0 = 1000 */
};

enum listen_refusal {
	LISTEN_REFUSED_TOTAL,	/* max_connections reached */
	LISTEN_REFUSED_PER_IP,	/* max_per_ip reached for this client */
};

/* One accepted (or refused) connection.  Valid during the callback only:
 * copy what you keep. */
struct listen_client {
	int fd;				/* the callback owns it */
	struct sockaddr_storage local, remote;
	socklen_t local_len, remote_len;
	char local_ip[LISTEN_IP_STRLEN];
	char remote_ip[LISTEN_IP_STRLEN];
	unsigned int local_port, remote_port;
	const char *listen_address;	/* the text the listener was made of */
	/* The connection's place in the limits; NULL when refused.  Keep it
	 * and give it to listen_conn_closed() when the connection ends. */
	struct listen_conn *conn;
};

typedef void listen_accept_callback_t(struct listen_client *client,
				      void *context);
typedef void listen_refused_callback_t(struct listen_client *client,
				       enum listen_refusal why, void *context);

/* A parsed address text. */
struct listen_address {
	/* AF_INET, AF_INET6, or AF_UNSPEC for "*" (every address). */
	int family;
	struct sockaddr_storage ss;	/* port included; unset for AF_UNSPEC */
	socklen_t len;
	unsigned int port;
};

/* Parses an address text (see the top of this file).  Returns 0, or -1
 * with a constant error_r ("missing port", ...) for malformed text. */
int listen_parse_address(const char *text, struct listen_address *addr_r,
			 const char **error_r);

/* New service without listeners.  set may be NULL (no limits).
 * refused_cb may be NULL (refused connections are closed).  The loop
 * must outlive the service. */
struct listen_service *
listen_service_create(struct ioloop *loop, const struct listen_settings *set,
		      listen_accept_callback_t *accept_cb,
		      listen_refused_callback_t *refused_cb, void *context);
/* Closes the listeners and frees the service; sets *svc to NULL.  The
 * connections still open are detached: listen_conn_closed() then only
 * frees them.  Callable from the service's own callbacks.  A forked child
 * that only needs the listening sockets gone calls
 * listen_service_close_listeners() instead: detaching writes to every
 * open connection's entry, pages the child would then copy. */
void listen_service_destroy(struct listen_service **svc);

/* Binds and listens on one address text and starts accepting.  Returns
 * 0, or -1 with error_r such as "127.0.0.1:2525: Address already in use"
 * (valid until the next call on the service or its destruction). */
int listen_service_add(struct listen_service *svc, const char *address,
		       const char **error_r);
/* Adds every address of a list separated by spaces, tabs or commas
 * (an empty list is an error).  On error the listeners added by this call
 * are kept; the caller usually gives up on the service. */
int listen_service_add_list(struct listen_service *svc, const char *addresses,
			    const char **error_r);
/* Closes every listener (no new connections; the open ones still count,
 * so a graceful shutdown can wait for them). */
void listen_service_close_listeners(struct listen_service *svc);

/* Number of listeners, and the port listener idx (in order added) is
 * bound to (useful after binding port 0). */
unsigned int listen_service_count(const struct listen_service *svc);
unsigned int listen_service_port(const struct listen_service *svc,
				 unsigned int idx);
/* Accepted connections not yet closed, in total and for one client IP
 * (printable form, as in listen_client.remote_ip; 0 for a bad string). */
unsigned int listen_service_connections(const struct listen_service *svc);
unsigned int listen_service_ip_connections(const struct listen_service *svc,
					   const char *ip);

/* The connection ended (the service closes the fd itself): releases its
 * place in the limits and frees it; sets *conn to NULL. */
void listen_conn_closed(struct listen_conn **conn);

#endif
