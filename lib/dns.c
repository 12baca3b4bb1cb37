/* dns.c: the stub resolver of dns.h (libresolv or our own servers). */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config-file.h"
#include "dns.h"
#include "log.h"
#include "mem.h"
#include "secure.h"
#include "str.h"

#define DNS_MAX_SERVERS 8
#define DNS_UDP_BUF 4096

struct dns_server {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct dns_resolver {
	struct __res_state res;
	bool res_ok;
	struct dns_server servers[DNS_MAX_SERVERS];
	size_t server_count;	/* 0: the system resolver */
	unsigned int timeout_msecs, attempts;
	size_t max_records;
};

/* ---- server list ---- */

int dns_parse_server(const char *text, struct sockaddr_storage *ss,
		     socklen_t *len_r)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_text = NULL, *end;
	size_t hlen;
	unsigned long port = 53;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		end = strchr(text, ']');
		if (end == NULL)
			return -1;
		hlen = (size_t)(end - text - 1);
		text++;
		if (end[1] == ':')
			port_text = end + 2;
		else if (end[1] == '#')
			port_text = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else {
		end = strchr(text, '#');
		hlen = end != NULL ? (size_t)(end - text) : strlen(text);
		if (end != NULL)
			port_text = end + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (port_text != NULL) {
		char *pend;

		if (!isdigit((unsigned char)port_text[0]))
			return -1;
		errno = 0;
		port = strtoul(port_text, &pend, 10);
		if (errno != 0 || *pend != '\0' || port == 0 || port > 65535)
			return -1;
	}
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len_r = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len_r = sizeof(*s4);
	}
	return 0;
}

struct dns_resolver *dns_resolver_create(const struct dns_settings *set,
					 const char **error_r)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));

	r->timeout_msecs = set != NULL && set->timeout_msecs > 0 ?
		set->timeout_msecs : 5000;
	r->attempts = set != NULL && set->attempts > 0 ? set->attempts : 2;
	r->max_records = set != NULL && set->max_records > 0 ?
		set->max_records : DNS_DEFAULT_MAX_RECORDS;
	if (set != NULL && set->servers != NULL) {
		char **v = str_split(set->servers, " \t\r\n,");

		for (size_t i = 0; v[i] != NULL; i++) {
			struct dns_server *s;

			if (r->server_count == DNS_MAX_SERVERS)
				break;
			s = &r->servers[r->server_count];
			if (dns_parse_server(v[i], &s->ss, &s->len) < 0) {
				str_split_free(&v);
				free(r);
				*error_r = "malformed DNS server address";
				return NULL;
			}
			r->server_count++;
		}
		str_split_free(&v);
	}
	/* res_ninit reads /etc/resolv.conf; we need its state for
	 * res_nmkquery even with our own servers. */
	r->res_ok = res_ninit(&r->res) == 0;
	if (r->res_ok) {
		r->res.retrans = (int)((r->timeout_msecs + 999) / 1000);
		r->res.retry = (int)r->attempts;
	}
	return r;
}

struct dns_resolver *dns_resolver_create_config(void)
{
	struct config_lines *lines = NULL;
	struct dns_settings set;
	struct dns_resolver *r;
	struct str servers;
	const char *error;

	memset(&set, 0, sizeof(set));
	str_init(&servers, 64);
	if (config_lines_read("dnsservers", NULL, &lines, NULL) > 0) {
		for (size_t i = 0; i < config_lines_count(lines); i++) {
			str_append(&servers, config_lines_get(lines, i)->text);
			str_append_c(&servers, ' ');
		}
		set.servers = str_c(&servers);
	}
	config_lines_free(&lines);
	r = dns_resolver_create(&set, &error);
	if (r == NULL) {
		log_error("dnsservers: %s: using the system resolver", error);
		r = dns_resolver_create(NULL, &error);
	}
	str_free(&servers);
	return r;
}

void dns_resolver_destroy(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;

	if (r == NULL)
		return;
	if (r->res_ok)
		res_nclose(&r->res);
	free(r);
	*rp = NULL;
}

void dns_result_free(struct dns_result *res)
{
	for (size_t i = 0; i < res->count; i++) {
		free(res->rrs[i].name);
		free(res->rrs[i].text);
	}
	free(res->rrs);
	res->rrs = NULL;
	res->count = 0;
}

/* ---- the answer parser ---- */

static void lower_name(char *s)
{
	size_t len = strlen(s);

	if (len > 0 && s[len - 1] == '.')
		s[len - 1] = '\0';
	str_lcase(s);
}

static int rr_cmp_pref(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	/* stable: keep answer order (addr_text holds the index) */
	return strcmp(x->addr_text, y->addr_text);
}

/* Parses the rdata of one record into rr.  Returns 0, or -1 when it is
 * malformed. */
static int parse_rdata(const uint8_t *msg, const uint8_t *eom,
		       const uint8_t *rd, size_t rdlen, enum dns_type type,
		       struct dns_rr *rr)
{
	char name[NS_MAXDNAME];
	struct str txt;
	size_t pos;

	switch (type) {
	case DNS_TYPE_A:
		if (rdlen != 4)
			return -1;
		rr->family = AF_INET;
		memcpy(&rr->addr.v4, rd, 4);
		inet_ntop(AF_INET, &rr->addr.v4, rr->addr_text,
			  sizeof(rr->addr_text));
		return 0;
	case DNS_TYPE_AAAA:
		if (rdlen != 16)
			return -1;
		rr->family = AF_INET6;
		memcpy(&rr->addr.v6, rd, 16);
		inet_ntop(AF_INET6, &rr->addr.v6, rr->addr_text,
			  sizeof(rr->addr_text));
		return 0;
	case DNS_TYPE_MX:
		if (rdlen < 3)
			return -1;
		rr->pref = (uint16_t)((rd[0] << 8) | rd[1]);
		if (dn_expand(msg, eom, rd + 2, name, sizeof(name)) < 0)
			return -1;
		lower_name(name);
		rr->name = xstrdup(name);
		return 0;
	case DNS_TYPE_PTR:
	case DNS_TYPE_CNAME:
		if (rdlen < 1 ||
		    dn_expand(msg, eom, rd, name, sizeof(name)) < 0)
			return -1;
		lower_name(name);
		rr->name = xstrdup(name);
		return 0;
	case DNS_TYPE_TXT:
		str_init(&txt, rdlen + 1);
		str_set_limit(&txt, DNS_MAX_TXT);
		for (pos = 0; pos < rdlen;) {
			size_t n = rd[pos++];

			if (n > rdlen - pos ||
			    str_append_n(&txt, rd + pos, n) < 0) {
				str_free(&txt);
				return -1;
			}
			pos += n;
		}
		rr->text_len = str_len(&txt);
		rr->text = str_steal(&txt);
		if (rr->text == NULL)
			rr->text = xstrdup("");
		return 0;
	}
	return -1;
}

enum dns_status dns_parse_answer(const uint8_t *packet, size_t len,
				 enum dns_type type, size_t max_records,
				 struct dns_result *res)
{
	ns_msg handle;
	size_t alloc = 0;
	int count;

	memset(res, 0, sizeof(*res));
	if (max_records == 0)
		max_records = DNS_DEFAULT_MAX_RECORDS;
	if (len > DNS_MAX_PACKET ||
	    ns_initparse(packet, (int)len, &handle) < 0) {
		res->error = "malformed answer";
		return res->status = DNS_TEMPFAIL;
	}
	switch (ns_msg_getflag(handle, ns_f_rcode)) {
	case ns_r_noerror:
		break;
	case ns_r_nxdomain:
		res->error = "no such domain";
		return res->status = DNS_NXDOMAIN;
	case ns_r_servfail:
		res->error = "SERVFAIL";
		return res->status = DNS_TEMPFAIL;
	case ns_r_refused:
		res->error = "REFUSED";
		return res->status = DNS_TEMPFAIL;
	default:
		res->error = "error reply";
		return res->status = DNS_TEMPFAIL;
	}
	if (ns_msg_getflag(handle, ns_f_tc)) {
		res->error = "truncated answer";
		return res->status = DNS_TEMPFAIL;
	}
	count = ns_msg_count(handle, ns_s_an);
	for (int i = 0; i < count; i++) {
		ns_rr rr;
		struct dns_rr *out;

		if (ns_parserr(&handle, ns_s_an, i, &rr) < 0) {
			dns_result_free(res);
			res->error = "malformed answer";
			return res->status = DNS_TEMPFAIL;
		}
		if (ns_rr_class(rr) != ns_c_in ||
		    ns_rr_type(rr) != (int)type)
			continue;
		if (res->count == max_records)
			break;
		if (res->count == alloc) {
			alloc = alloc == 0 ? 4 : alloc * 2;
			res->rrs = xreallocarray(res->rrs, alloc,
						 sizeof(*res->rrs));
		}
		out = &res->rrs[res->count];
		memset(out, 0, sizeof(*out));
		out->type = type;
		out->ttl = ns_rr_ttl(rr);
		if (parse_rdata(ns_msg_base(handle), ns_msg_end(handle),
				ns_rr_rdata(rr), ns_rr_rdlen(rr), type,
				out) < 0) {
			res->count++;
			dns_result_free(res);
			res->error = "malformed record";
			return res->status = DNS_TEMPFAIL;
		}
		if (type == DNS_TYPE_MX)
			snprintf(out->addr_text, sizeof(out->addr_text),
				 "%08zu", res->count);
		res->count++;
	}
	if (type == DNS_TYPE_MX && res->count > 1)
		qsort(res->rrs, res->count, sizeof(*res->rrs), rr_cmp_pref);
	if (type == DNS_TYPE_MX)
		for (size_t i = 0; i < res->count; i++)
			res->rrs[i].addr_text[0] = '\0';
	if (res->count == 0) {
		res->error = "no records";
		return res->status = DNS_NODATA;
	}
	return res->status = DNS_OK;
}

/* ---- transport to our own servers ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until deadline. 1 ready, 0 timeout,
 * -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			return 0;
		n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		return n > 0 ? 1 : 0;
	}
}

static bool reply_matches(const uint8_t *q, const uint8_t *a, size_t alen)
{
	/* same id, QR set */
	return alen >= NS_HFIXEDSZ && a[0] == q[0] && a[1] == q[1] &&
	       (a[2] & 0x80) != 0;
}

static ssize_t query_udp(const struct dns_server *s, const uint8_t *q,
			 size_t qlen, uint8_t *ans, size_t anssize,
			 unsigned int timeout_msecs)
{
	uint64_t deadline = now_ms() + timeout_msecs;
	int fd = socket(s->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n = -1;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&s->ss, s->len) < 0 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen)
		goto out;
	while (wait_fd(fd, POLLIN, deadline) > 0) {
		n = recv(fd, ans, anssize, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			break;
		if (reply_matches(q, ans, (size_t)n))
			goto out;
		n = -1;	/* a stray datagram: keep waiting */
	}
	n = -1;
out:
	close(fd);
	return n;
}

static int io_full(int fd, void *buf, size_t len, bool writing,
		   uint64_t deadline)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n;

		if (wait_fd(fd, writing ? POLLOUT : POLLIN, deadline) <= 0)
			return -1;
		n = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t query_tcp(const struct dns_server *s, const uint8_t *q,
			 size_t qlen, uint8_t *ans, size_t anssize,
			 unsigned int timeout_msecs)
{
	uint64_t deadline = now_ms() + timeout_msecs;
	int fd = socket(s->ss.ss_family,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	uint8_t lenbuf[2];
	size_t alen;
	ssize_t ret = -1;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&s->ss, s->len) < 0 &&
	    errno != EINPROGRESS)
		goto out;
	lenbuf[0] = (uint8_t)(qlen >> 8);
	lenbuf[1] = (uint8_t)qlen;
	if (io_full(fd, lenbuf, 2, true, deadline) < 0 ||
	    io_full(fd, (void *)q, qlen, true, deadline) < 0 ||
	    io_full(fd, lenbuf, 2, false, deadline) < 0)
		goto out;
	alen = (size_t)lenbuf[0] << 8 | lenbuf[1];
	if (alen > anssize || alen < NS_HFIXEDSZ ||
	    io_full(fd, ans, alen, false, deadline) < 0)
		goto out;
	if (reply_matches(q, ans, alen))
		ret = (ssize_t)alen;
out:
	close(fd);
	return ret;
}

/* Sends query q to our servers: each in turn, attempts times. */
static ssize_t query_servers(struct dns_resolver *r, const uint8_t *q,
			     size_t qlen, uint8_t *ans, size_t anssize)
{
	for (unsigned int a = 0; a < r->attempts; a++) {
		for (size_t i = 0; i < r->server_count; i++) {
			ssize_t n = query_udp(&r->servers[i], q, qlen, ans,
					      DNS_UDP_BUF < anssize ?
					      DNS_UDP_BUF : anssize,
					      r->timeout_msecs);

			if (n >= NS_HFIXEDSZ && (ans[2] & 0x02) != 0)
				n = query_tcp(&r->servers[i], q, qlen, ans,
					      anssize, r->timeout_msecs);
			if (n >= NS_HFIXEDSZ)
				return n;
		}
	}
	return -1;
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > 253 + 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0 && !(i == len - 1 && i > 0))
				return false;
			label = 0;
			continue;
		}
		if (c <= ' ' || c >= 0x7f || c == '\\' || ++label > 63)
			return false;
	}
	return true;
}

enum dns_status dns_lookup(struct dns_resolver *r, const char *name,
			   enum dns_type type, struct dns_result *res)
{
	uint8_t query[NS_PACKETSZ * 2];
	uint8_t *ans;
	int qlen;
	ssize_t alen;
	enum dns_status st;

	memset(res, 0, sizeof(*res));
	if (!name_ok(name)) {
		res->error = "malformed name";
		return res->status = DNS_BADNAME;
	}
	if (!r->res_ok) {
		if (res_ninit(&r->res) < 0) {
			res->error = "resolver initialisation failed";
			return res->status = DNS_TEMPFAIL;
		}
		r->res_ok = true;
	}
	qlen = res_nmkquery(&r->res, ns_o_query, name, ns_c_in, (int)type,
			    NULL, 0, NULL, query, sizeof(query));
	if (qlen < 0) {
		res->error = "malformed name";
		return res->status = DNS_BADNAME;
	}
	/* a fresh random id (res_nmkquery's may be predictable) */
	secure_random(query, 2);
	ans = xmalloc(DNS_MAX_PACKET);
	if (r->server_count > 0)
		alen = query_servers(r, query, (size_t)qlen, ans,
				     DNS_MAX_PACKET);
	else
		alen = res_nsend(&r->res, query, qlen, ans, DNS_MAX_PACKET);
	if (alen < 0) {
		free(ans);
		res->error = "no answer from the DNS servers (timeout)";
		return res->status = DNS_TEMPFAIL;
	}
	st = dns_parse_answer(ans, (size_t)alen, type, r->max_records, res);
	free(ans);
	return st;
}

int dns_reverse_name(const char *address, char **name_r)
{
	static const char hex[] = "0123456789abcdef";
	struct in6_addr a6;
	struct in_addr a4;
	struct str s;

	str_init(&s, 80);
	if (inet_pton(AF_INET, address, &a4) == 1) {
		const uint8_t *b = (const uint8_t *)&a4;

		str_printfa(&s, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1],
			    b[0]);
	} else if (inet_pton(AF_INET6, address, &a6) == 1) {
		for (int i = 15; i >= 0; i--) {
			str_append_c(&s, hex[a6.s6_addr[i] & 0xf]);
			str_append_c(&s, '.');
			str_append_c(&s, hex[a6.s6_addr[i] >> 4]);
			str_append_c(&s, '.');
		}
		str_append(&s, "ip6.arpa");
	} else {
		str_free(&s);
		*name_r = NULL;
		return -1;
	}
	*name_r = str_steal(&s);
	return 0;
}

enum dns_status dns_lookup_ptr(struct dns_resolver *r, const char *address,
			       struct dns_result *res)
{
	char *name;
	enum dns_status st;

	if (dns_reverse_name(address, &name) < 0) {
		memset(res, 0, sizeof(*res));
		res->error = "malformed address";
		return res->status = DNS_BADNAME;
	}
	st = dns_lookup(r, name, DNS_TYPE_PTR, res);
	free(name);
	return st;
}
