/* listen.c: TCP listeners on the event loop, with per-IP and total limits. */
#include "config.h"
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "secure.h"
#include "str.h"

/* Connections taken per readiness event before other fds get a turn. */
#define LISTEN_ACCEPT_BATCH 32
#define LISTEN_DEFAULT_PAUSE_MSECS 1000
#define LISTEN_ERROR_LOG_MSECS 10000

struct listener {
	struct listen_service *svc;
	char *address;
	int fd;
	struct io *io;
	unsigned int port;
};

/* How many connections one client IP (or IPv6 prefix) has. */
struct ip_entry {
	uint8_t key[17];	/* family byte + address (masked) */
	unsigned int count;
	struct ip_entry *next;
};

struct listen_conn {
	struct listen_service *svc;	/* NULL once the service is gone */
	struct ip_entry *ip;
	struct listen_conn *prev, *next;
};

struct listen_service {
	struct ioloop *loop;
	struct listen_settings set;
	listen_accept_callback_t *accept_cb;
	listen_refused_callback_t *refused_cb;
	void *context;

	struct listener **listeners;
	unsigned int n_listeners;

	struct ip_entry **buckets;
	unsigned int n_buckets, n_entries;
	uint32_t hash_seed;

	struct listen_conn *conns;
	unsigned int n_conns;

	bool paused;
	struct timeout *pause_to;
	uint64_t last_accept_error_ms;	/* for rate-limiting the log */
	bool accept_error_logged;
	unsigned int busy;		/* callbacks in progress */
	bool destroyed;			/* destroy asked while busy */
	char *error;
};

/* ---------------------------------------------------------------- parsing */

static int parse_port(const char *p, unsigned int *port_r)
{
	unsigned int port = 0;
	size_t n = 0;

	for (; p[n] != '\0'; n++) {
		if (p[n] < '0' || p[n] > '9' || n >= 5)
			return -1;
		port = port * 10 + (unsigned int)(p[n] - '0');
	}
	if (n == 0 || port > 65535)
		return -1;
	*port_r = port;
	return 0;
}

int listen_parse_address(const char *text, struct listen_address *addr_r,
			 const char **error_r)
{
	char host[LISTEN_ADDRESS_MAX + 1];
	const char *port_str, *colon;
	size_t len = strlen(text), hostlen;

	memset(addr_r, 0, sizeof(*addr_r));
	if (len == 0) {
		*error_r = "empty address";
		return -1;
	}
	if (len > LISTEN_ADDRESS_MAX) {
		*error_r = "address too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)text[i] <= ' ' ||
		    (unsigned char)text[i] >= 0x7f) {
			*error_r = "invalid character in address";
			return -1;
		}
	}

	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (end == NULL) {
			*error_r = "missing ']' after IPv6 address";
			return -1;
		}
		hostlen = (size_t)(end - text - 1);
		memcpy(host, text + 1, hostlen);
		host[hostlen] = '\0';
		if (end[1] != ':') {
			*error_r = end[1] == '\0' ? "missing port" :
				"expected ':' after ']'";
			return -1;
		}
		port_str = end + 2;
		addr_r->family = AF_INET6;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL) {
			/* A bare port: every address. */
			host[0] = '*';
			host[1] = '\0';
			port_str = text;
		} else {
			hostlen = (size_t)(colon - text);
			if (memchr(text, ':', hostlen) != NULL) {
				*error_r = "IPv6 addresses go in brackets "
					"([::1]:25)";
				return -1;
			}
			memcpy(host, text, hostlen);
			host[hostlen] = '\0';
			port_str = colon + 1;
		}
		addr_r->family = strcmp(host, "*") == 0 ? AF_UNSPEC : AF_INET;
	}

	if (*port_str == '\0') {
		*error_r = "missing port";
		return -1;
	}
	if (parse_port(port_str, &addr_r->port) < 0) {
		*error_r = "invalid port (0-65535)";
		return -1;
	}
	if (host[0] == '\0') {
		*error_r = "missing host (use * for every address)";
		return -1;
	}

	if (addr_r->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&addr_r->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*error_r = "not a numeric IPv4 address";
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)addr_r->port);
		addr_r->len = sizeof(*sin);
	} else if (addr_r->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr_r->ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*error_r = "not a numeric IPv6 address";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)addr_r->port);
		addr_r->len = sizeof(*sin6);
	}
	return 0;
}

/* ---------------------------------------------------------------- limits */

/* Turns an IPv4-mapped IPv6 address into plain IPv4, in place. */
static void sockaddr_unmap(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in sin;

	if (ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
	*len = sizeof(sin);
}

static void sockaddr_format(const struct sockaddr_storage *ss, char *ip,
			    unsigned int *port_r)
{
	ip[0] = '\0';
	*port_r = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		(void)inet_ntop(AF_INET, &sin->sin_addr, ip, LISTEN_IP_STRLEN);
		*port_r = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		(void)inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
				LISTEN_IP_STRLEN);
		*port_r = ntohs(sin6->sin6_port);
	}
}

static void ip_key(const struct listen_service *svc, int family,
		   const void *addr, uint8_t key[17])
{
	memset(key, 0, 17);
	key[0] = (uint8_t)family;
	if (family == AF_INET) {
		memcpy(key + 1, addr, 4);
	} else {
		unsigned int prefix = svc->set.ipv6_prefix;

		memcpy(key + 1, addr, 16);
		for (unsigned int bit = prefix; bit < 128; bit++)
			key[1 + bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	}
}

static uint32_t ip_hash(const struct listen_service *svc, const uint8_t *key)
{
	uint32_t h = 2166136261u ^ svc->hash_seed;

	for (size_t i = 0; i < 17; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	return h;
}

static struct ip_entry **ip_find(const struct listen_service *svc,
				 const uint8_t *key)
{
	struct ip_entry **p = &svc->buckets[ip_hash(svc, key) &
					    (svc->n_buckets - 1)];

	while (*p != NULL && memcmp((*p)->key, key, 17) != 0)
		p = &(*p)->next;
	return p;
}

static void ip_grow(struct listen_service *svc)
{
	struct ip_entry **old = svc->buckets;
	unsigned int old_n = svc->n_buckets;

	svc->n_buckets *= 2;
	svc->buckets = xcalloc(svc->n_buckets, sizeof(*svc->buckets));
	for (unsigned int i = 0; i < old_n; i++) {
		while (old[i] != NULL) {
			struct ip_entry *e = old[i];
			struct ip_entry **p;

			old[i] = e->next;
			p = &svc->buckets[ip_hash(svc, e->key) &
					  (svc->n_buckets - 1)];
			e->next = *p;
			*p = e;
		}
	}
	free(old);
}

static struct ip_entry *ip_get(struct listen_service *svc, const uint8_t *key)
{
	struct ip_entry **p = ip_find(svc, key);
	struct ip_entry *e;

	if (*p != NULL)
		return *p;
	e = xcalloc(1, sizeof(*e));
	memcpy(e->key, key, 17);
	*p = e;
	if (++svc->n_entries > svc->n_buckets * 2)
		ip_grow(svc);
	return e;
}

static void ip_release(struct listen_service *svc, struct ip_entry *e)
{
	struct ip_entry **p;

	if (--e->count > 0)
		return;
	p = ip_find(svc, e->key);
	if (*p != e)
		log_panic("listen: per-IP entry missing from its table");
	*p = e->next;
	svc->n_entries--;
	free(e);
}

static bool ip_key_from_sockaddr(const struct listen_service *svc,
				 const struct sockaddr_storage *ss,
				 uint8_t key[17])
{
	if (ss->ss_family == AF_INET) {
		ip_key(svc, AF_INET,
		       &((const struct sockaddr_in *)ss)->sin_addr, key);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		ip_key(svc, AF_INET6,
		       &((const struct sockaddr_in6 *)ss)->sin6_addr, key);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- service */

struct listen_service *
listen_service_create(struct ioloop *loop, const struct listen_settings *set,
		      listen_accept_callback_t *accept_cb,
		      listen_refused_callback_t *refused_cb, void *context)
{
	struct listen_service *svc = xcalloc(1, sizeof(*svc));

	svc->loop = loop;
	if (set != NULL)
		svc->set = *set;
	if (svc->set.ipv6_prefix == 0 || svc->set.ipv6_prefix > 128)
		svc->set.ipv6_prefix = 128;
	if (svc->set.backlog <= 0)
		svc->set.backlog = SOMAXCONN;
	if (svc->set.accept_pause_msecs == 0)
		svc->set.accept_pause_msecs = LISTEN_DEFAULT_PAUSE_MSECS;
	svc->accept_cb = accept_cb;
	svc->refused_cb = refused_cb;
	svc->context = context;
	svc->n_buckets = 64;
	svc->buckets = xcalloc(svc->n_buckets, sizeof(*svc->buckets));
	secure_random(&svc->hash_seed, sizeof(svc->hash_seed));
	return svc;
}

static void listener_free(struct listener *l)
{
	io_remove(&l->io);
	if (l->fd >= 0)
		close(l->fd);
	free(l->address);
	free(l);
}

void listen_service_close_listeners(struct listen_service *svc)
{
	for (unsigned int i = 0; i < svc->n_listeners; i++)
		listener_free(svc->listeners[i]);
	svc->n_listeners = 0;
	timeout_remove(&svc->pause_to);
	svc->paused = false;
}

static void listen_service_free(struct listen_service *svc)
{
	listen_service_close_listeners(svc);
	free(svc->listeners);
	/* Open connections outlive us: they only free themselves. */
	for (struct listen_conn *c = svc->conns; c != NULL; c = c->next) {
		c->svc = NULL;
		c->ip = NULL;
	}
	for (unsigned int i = 0; i < svc->n_buckets; i++) {
		while (svc->buckets[i] != NULL) {
			struct ip_entry *e = svc->buckets[i];

			svc->buckets[i] = e->next;
			free(e);
		}
	}
	free(svc->buckets);
	free(svc->error);
	free(svc);
}

void listen_service_destroy(struct listen_service **_svc)
{
	struct listen_service *svc = *_svc;

	if (svc == NULL)
		return;
	*_svc = NULL;
	if (svc->busy > 0) {
		/* Inside one of our callbacks: stop now, free on return. */
		listen_service_close_listeners(svc);
		svc->destroyed = true;
		return;
	}
	listen_service_free(svc);
}

static const char *svc_error(struct listen_service *svc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *svc_error(struct listen_service *svc, const char *fmt, ...)
{
	va_list ap;

	free(svc->error);
	va_start(ap, fmt);
	svc->error = xvasprintf(fmt, ap);
	va_end(ap);
	return svc->error;
}

static void listener_accept(void *context);

static void listen_service_pause(struct listen_service *svc);

static void listen_resume(void *context)
{
	struct listen_service *svc = context;

	svc->pause_to = NULL;
	svc->paused = false;
	for (unsigned int i = 0; i < svc->n_listeners; i++) {
		struct listener *l = svc->listeners[i];

		if (l->io == NULL)
			l->io = io_add(svc->loop, l->fd, IO_READ,
				       listener_accept, l);
	}
}

static void listen_service_pause(struct listen_service *svc)
{
	if (svc->paused)
		return;
	svc->paused = true;
	for (unsigned int i = 0; i < svc->n_listeners; i++)
		io_remove(&svc->listeners[i]->io);
	svc->pause_to = timeout_add_once(svc->loop,
					 svc->set.accept_pause_msecs,
					 listen_resume, svc);
}

/* Opens, binds and listens; returns the fd or -1 with errno set and
 * *what_r naming the failing step (NULL for bind). */
static int listen_socket(int family, const struct sockaddr *sa,
			 socklen_t len, int v6only, int backlog,
			 const char **what_r)
{
	int fd, one = 1, saved;

	*what_r = "socket()";
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	*what_r = "setsockopt(SO_REUSEADDR)";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (family == AF_INET6) {
		*what_r = "setsockopt(IPV6_V6ONLY)";
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
			       sizeof(v6only)) < 0)
			goto fail;
	}
	*what_r = NULL;
	if (bind(fd, sa, len) < 0)
		goto fail;
	*what_r = "listen()";
	if (listen(fd, backlog) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int listen_service_add(struct listen_service *svc, const char *address,
		       const char **error_r)
{
	struct listen_address addr;
	struct listener *l;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	const char *perr, *what;
	int fd;

	if (listen_parse_address(address, &addr, &perr) < 0) {
		*error_r = svc_error(svc, "%.*s: %s", LISTEN_ADDRESS_MAX,
				     address, perr);
		return -1;
	}

	if (addr.family == AF_UNSPEC) {
		/* Every address: dual-stack IPv6 if the host has IPv6. */
		struct sockaddr_in6 sin6;
		struct sockaddr_in sin;

		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_any;
		sin6.sin6_port = htons((uint16_t)addr.port);
		fd = listen_socket(AF_INET6, (struct sockaddr *)&sin6,
				   sizeof(sin6), 0, svc->set.backlog, &what);
		if (fd < 0 && (errno == EAFNOSUPPORT ||
			       errno == EADDRNOTAVAIL)) {
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_addr.s_addr = htonl(INADDR_ANY);
			sin.sin_port = htons((uint16_t)addr.port);
			fd = listen_socket(AF_INET, (struct sockaddr *)&sin,
					   sizeof(sin), 0, svc->set.backlog,
					   &what);
		}
	} else {
		/* An explicit [::] is IPv6 only, so that 0.0.0.0:N can be
		 * bound beside it. */
		fd = listen_socket(addr.family, (struct sockaddr *)&addr.ss,
				   addr.len, 1, svc->set.backlog, &what);
	}
	if (fd < 0) {
		int err = errno;

		if (what == NULL)
			*error_r = svc_error(svc, "%s: %s", address,
					     strerror(err));
		else
			*error_r = svc_error(svc, "%s: %s: %s", address, what,
					     strerror(err));
		return -1;
	}

	l = xcalloc(1, sizeof(*l));
	l->svc = svc;
	l->fd = fd;
	l->address = xstrdup(address);
	if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) == 0) {
		char ip[LISTEN_IP_STRLEN];

		sockaddr_format(&bound, ip, &l->port);
	} else {
		l->port = addr.port;
	}
	svc->listeners = xreallocarray(svc->listeners, svc->n_listeners + 1,
				       sizeof(*svc->listeners));
	svc->listeners[svc->n_listeners++] = l;
	if (!svc->paused)
		l->io = io_add(svc->loop, fd, IO_READ, listener_accept, l);
	return 0;
}

int listen_service_add_list(struct listen_service *svc, const char *addresses,
			    const char **error_r)
{
	char **list = str_split(addresses, " \t\r\n,");
	int ret = 0;

	if (list[0] == NULL) {
		*error_r = svc_error(svc, "no listen address given");
		ret = -1;
	}
	for (size_t i = 0; ret == 0 && list[i] != NULL; i++)
		ret = listen_service_add(svc, list[i], error_r);
	str_split_free(&list);
	return ret;
}

unsigned int listen_service_count(const struct listen_service *svc)
{
	return svc->n_listeners;
}

unsigned int listen_service_port(const struct listen_service *svc,
				 unsigned int idx)
{
	if (idx >= svc->n_listeners)
		log_panic("listen_service_port(): no listener %u", idx);
	return svc->listeners[idx]->port;
}

unsigned int listen_service_connections(const struct listen_service *svc)
{
	return svc->n_conns;
}

unsigned int listen_service_ip_connections(const struct listen_service *svc,
					   const char *ip)
{
	uint8_t key[17], addr[16];
	struct ip_entry *const *p;

	if (inet_pton(AF_INET, ip, addr) == 1)
		ip_key(svc, AF_INET, addr, key);
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		ip_key(svc, AF_INET6, addr, key);
	else
		return 0;
	p = ip_find(svc, key);
	return *p == NULL ? 0 : (*p)->count;
}

void listen_conn_closed(struct listen_conn **_conn)
{
	struct listen_conn *conn = *_conn;
	struct listen_service *svc;

	if (conn == NULL)
		return;
	*_conn = NULL;
	svc = conn->svc;
	if (svc != NULL) {
		if (conn->ip != NULL)
			ip_release(svc, conn->ip);
		if (conn->prev != NULL)
			conn->prev->next = conn->next;
		else
			svc->conns = conn->next;
		if (conn->next != NULL)
			conn->next->prev = conn->prev;
		svc->n_conns--;
		/* Paused for lack of fds: one just came free. */
		if (svc->paused && svc->busy == 0) {
			timeout_remove(&svc->pause_to);
			listen_resume(svc);
		}
	}
	free(conn);
}

/* ---------------------------------------------------------------- accept */

static void listener_handle(struct listener *l, int fd,
			    const struct sockaddr_storage *remote,
			    socklen_t remote_len)
{
	struct listen_service *svc = l->svc;
	struct listen_client client;
	struct ip_entry *ip = NULL;
	uint8_t key[17];
	int one = 1;
	bool refuse = false;
	enum listen_refusal why = LISTEN_REFUSED_TOTAL;

	memset(&client, 0, sizeof(client));
	client.fd = fd;
	client.listen_address = l->address;
	client.remote = *remote;
	client.remote_len = remote_len;
	sockaddr_unmap(&client.remote, &client.remote_len);
	client.local_len = sizeof(client.local);
	if (getsockname(fd, (struct sockaddr *)&client.local,
			&client.local_len) < 0)
		client.local_len = 0;
	else
		sockaddr_unmap(&client.local, &client.local_len);
	sockaddr_format(&client.remote, client.remote_ip, &client.remote_port);
	sockaddr_format(&client.local, client.local_ip, &client.local_port);

	/* Replies must never wait on a delayed ACK. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_debug("%s: setsockopt(TCP_NODELAY): %m", l->address);

	if (svc->set.max_connections > 0 &&
	    svc->n_conns >= svc->set.max_connections) {
		refuse = true;
		why = LISTEN_REFUSED_TOTAL;
	} else if (ip_key_from_sockaddr(svc, &client.remote, key)) {
		ip = ip_get(svc, key);
		if (svc->set.max_per_ip > 0 &&
		    ip->count >= svc->set.max_per_ip) {
			refuse = true;
			why = LISTEN_REFUSED_PER_IP;
		}
	}

	if (refuse) {
		if (svc->refused_cb != NULL)
			svc->refused_cb(&client, why, svc->context);
		else
			close(fd);
		return;
	}

	client.conn = xcalloc(1, sizeof(*client.conn));
	client.conn->svc = svc;
	client.conn->ip = ip;
	if (ip != NULL)
		ip->count++;
	client.conn->next = svc->conns;
	if (svc->conns != NULL)
		svc->conns->prev = client.conn;
	svc->conns = client.conn;
	svc->n_conns++;
	svc->accept_cb(&client, svc->context);
}

static bool accept_error_is_transient(int err)
{
	/* The connection died in the backlog, or Linux passed on a network
	 * error of the new socket (accept(2)): take the next one. */
	switch (err) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
	case ETIMEDOUT:
		return true;
	default:
		return false;
	}
}

/* Logs an accept() failure, at most once per LISTEN_ERROR_LOG_MSECS:
 * under fd exhaustion every connection close retries. */
static void listen_accept_error(struct listen_service *svc,
				const struct listener *l)
{
	uint64_t now = ioloop_now_ms(svc->loop);

	if (svc->accept_error_logged &&
	    now - svc->last_accept_error_ms < LISTEN_ERROR_LOG_MSECS)
		return;
	svc->accept_error_logged = true;
	svc->last_accept_error_ms = now;
	log_error("%s: accept(): %m (pausing for %u ms or until a "
		  "connection closes)", l->address,
		  svc->set.accept_pause_msecs);
}

static bool listener_alive(const struct listen_service *svc,
			   const struct listener *l)
{
	for (unsigned int i = 0; i < svc->n_listeners; i++) {
		if (svc->listeners[i] == l)
			return true;
	}
	return false;
}

static void listener_accept(void *context)
{
	struct listener *l = context;
	struct listen_service *svc = l->svc;

	svc->busy++;
	for (unsigned int i = 0; i < LISTEN_ACCEPT_BATCH; i++) {
		struct sockaddr_storage remote;
		socklen_t remote_len = sizeof(remote);
		int fd;

		fd = accept4(l->fd, (struct sockaddr *)&remote, &remote_len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (accept_error_is_transient(errno))
				continue;
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM...: the backlog
			 * stays readable, so pause instead of spinning. */
			listen_accept_error(svc, l);
			listen_service_pause(svc);
			break;
		}
		listener_handle(l, fd, &remote, remote_len);
		/* The callback may have destroyed the service, closed the
		 * listeners or paused them: l may be gone. */
		if (svc->destroyed || svc->paused || !listener_alive(svc, l))
			break;
	}
	if (--svc->busy == 0 && svc->destroyed)
		listen_service_free(svc);
}
