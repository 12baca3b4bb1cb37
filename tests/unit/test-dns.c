/* test-dns.c: unit tests for lib/dns (answer parser, server syntax,
 * reverse names, and lookups against a fake server over UDP and TCP). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns.h"
#include "mem.h"
#include "str.h"

/* The fixed DNS header size. */
#define NS_HFIXEDSZ_LOCAL 12

/* ---- building packets ---- */

struct pkt {
	uint8_t b[4096];
	size_t len;
	size_t ancount_pos;
};

static void put8(struct pkt *p, unsigned int v)
{
	p->b[p->len++] = (uint8_t)v;
}

static void put16(struct pkt *p, unsigned int v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void put_name(struct pkt *p, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);

		put8(p, (unsigned int)n);
		memcpy(p->b + p->len, name, n);
		p->len += n;
		name += n;
		if (*name == '.')
			name++;
	}
	put8(p, 0);
}

/* Header with the given id, rcode and answer count, then one question. */
static void start(struct pkt *p, unsigned int id, unsigned int rcode,
		  unsigned int ancount, const char *qname, unsigned int qtype)
{
	memset(p, 0, sizeof(*p));
	put16(p, id);
	put16(p, 0x8180 | rcode);
	put16(p, 1);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
	put_name(p, qname);
	put16(p, qtype);
	put16(p, 1);
}

/* An answer record owned by the question's name (pointer 0xc00c). */
static void rr_begin(struct pkt *p, unsigned int type, size_t rdlen)
{
	put16(p, 0xc00c);
	put16(p, type);
	put16(p, 1);
	put32(p, 300);
	put16(p, (unsigned int)rdlen);
}

static void add_a(struct pkt *p, const char *addr)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, addr, &a), 1);
	rr_begin(p, DNS_TYPE_A, 4);
	memcpy(p->b + p->len, &a, 4);
	p->len += 4;
}

static void add_aaaa(struct pkt *p, const char *addr)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
	rr_begin(p, DNS_TYPE_AAAA, 16);
	memcpy(p->b + p->len, &a, 16);
	p->len += 16;
}

static void add_mx(struct pkt *p, unsigned int pref, const char *host)
{
	struct pkt tmp;

	tmp.len = 0;
	put_name(&tmp, host);
	rr_begin(p, DNS_TYPE_MX, tmp.len + 2);
	put16(p, pref);
	memcpy(p->b + p->len, tmp.b, tmp.len);
	p->len += tmp.len;
}

static void add_txt(struct pkt *p, const char *const *strings)
{
	size_t len = 0;

	for (size_t i = 0; strings[i] != NULL; i++)
		len += 1 + strlen(strings[i]);
	rr_begin(p, DNS_TYPE_TXT, len);
	for (size_t i = 0; strings[i] != NULL; i++) {
		put8(p, (unsigned int)strlen(strings[i]));
		memcpy(p->b + p->len, strings[i], strlen(strings[i]));
		p->len += strlen(strings[i]);
	}
}

/* ---- parser ---- */

static void test_parse_a_aaaa(void **state)
{
	struct dns_result res;
	struct pkt p;

	(void)state;
	start(&p, 1, 0, 3, "mx.example.test", DNS_TYPE_A);
	add_a(&p, "127.0.0.2");
	add_aaaa(&p, "::1");
	add_a(&p, "10.1.2.3");
	assert_int_equal(dns_parse_answer(p.b, p.len, DNS_TYPE_A, 0, &res),
			 DNS_OK);
	assert_int_equal(res.count, 2);
	assert_string_equal(res.rrs[0].addr_text, "127.0.0.2");
	assert_int_equal(res.rrs[0].family, AF_INET);
	assert_int_equal(res.rrs[0].ttl, 300);
	assert_string_equal(res.rrs[1].addr_text, "10.1.2.3");
	dns_result_free(&res);
	assert_int_equal(dns_parse_answer(p.b, p.len, DNS_TYPE_AAAA, 0, &res),
			 DNS_OK);
	assert_int_equal(res.count, 1);
	assert_string_equal(res.rrs[0].addr_text, "::1");
	assert_int_equal(res.rrs[0].family, AF_INET6);
	dns_result_free(&res);
	/* the record limit */
	assert_int_equal(dns_parse_answer(p.b, p.len, DNS_TYPE_A, 1, &res),
			 DNS_OK);
	assert_int_equal(res.count, 1);
	dns_result_free(&res);
}

static void test_parse_mx_sorted(void **state)
{
	struct dns_result res;
	struct pkt p;

	(void)state;
	start(&p, 1, 0, 4, "example.test", DNS_TYPE_MX);
	add_mx(&p, 20, "b.example.test");
	add_mx(&p, 10, "MX1.Example.Test");
	add_mx(&p, 20, "a.example.test");
	add_mx(&p, 5, "first.example.test");
	assert_int_equal(dns_parse_answer(p.b, p.len, DNS_TYPE_MX, 0, &res),
			 DNS_OK);
	assert_int_equal(res.count, 4);
	assert_int_equal(res.rrs[0].pref, 5);
	assert_string_equal(res.rrs[0].name, "first.example.test");
	assert_int_equal(res.rrs[1].pref, 10);
	assert_string_equal(res.rrs[1].name, "mx1.example.test");
	/* equal preferences keep their answer order */
	assert_string_equal(res.rrs[2].name, "b.example.test");
	assert_string_equal(res.rrs[3].name, "a.example.test");
	assert_string_equal(res.rrs[3].addr_text, "");
	dns_result_free(&res);
}

static void test_parse_txt(void **state)
{
	static const char *const spf[] = { "v=spf1 ", "ip4:127.0.0.1 -all",
					   NULL };
	static const char *const empty[] = { "", NULL };
	struct dns_result res;
	struct pkt p;

	(void)state;
	start(&p, 1, 0, 2, "example.test", DNS_TYPE_TXT);
	add_txt(&p, spf);
	add_txt(&p, empty);
	assert_int_equal(dns_parse_answer(p.b, p.len, DNS_TYPE_TXT, 0, &res),
			 DNS_OK);
	assert_int_equal(res.count, 2);
	assert_string_equal(res.rrs[0].text, "v=spf1 ip4:127.0.0.1 -all");
	assert_int_equal(res.rrs[0].text_len, 25);
	assert_string_equal(res.rrs[1].text, "");
	dns_result_free(&res);
}

static void test_parse_status(void **state)
{
	struct dns_result res;
	struct pkt p;

	(void)state;
	start(&p, 1, 3, 0, "nope.test", DNS_TYPE_MX);
	assert_int_equal(dns_parse_answer(p.b, p.len, DNS_TYPE_MX, 0, &res),
			 DNS_NXDOMAIN);
	dns_result_free(&res);
	start(&p, 1, 2, 0, "x.test", DNS_TYPE_MX);
	assert_int_equal(dns_parse_answer(p.b, p.len, DNS_TYPE_MX, 0, &res),
			 DNS_TEMPFAIL);
	assert_string_equal(res.error, "SERVFAIL");
	dns_result_free(&res);
	start(&p, 1, 0, 1, "x.test", DNS_TYPE_MX);
	add_a(&p, "127.0.0.1");
	assert_int_equal(dns_parse_answer(p.b, p.len, DNS_TYPE_MX, 0, &res),
			 DNS_NODATA);
	dns_result_free(&res);
}

static void test_parse_malformed(void **state)
{
	struct dns_result res;
	struct pkt p, q;

	(void)state;
	/* every truncation of a good packet fails cleanly */
	start(&p, 1, 0, 2, "example.test", DNS_TYPE_MX);
	add_mx(&p, 10, "mx.example.test");
	add_mx(&p, 20, "mx2.example.test");
	for (size_t n = 0; n < p.len; n++) {
		uint8_t *copy = xmemdup(p.b, n);

		assert_int_not_equal(dns_parse_answer(copy, n, DNS_TYPE_MX, 0,
						      &res), DNS_OK);
		dns_result_free(&res);
		free(copy);
	}
	/* a compression pointer loop in the MX exchange */
	start(&q, 1, 0, 1, "example.test", DNS_TYPE_MX);
	rr_begin(&q, DNS_TYPE_MX, 4);
	put16(&q, 10);
	put16(&q, 0xc000 | (unsigned int)q.len);
	assert_int_equal(dns_parse_answer(q.b, q.len, DNS_TYPE_MX, 0, &res),
			 DNS_TEMPFAIL);
	dns_result_free(&res);
	/* a TXT string longer than its record */
	start(&q, 1, 0, 1, "example.test", DNS_TYPE_TXT);
	rr_begin(&q, DNS_TYPE_TXT, 3);
	put8(&q, 5);
	put8(&q, 'a');
	put8(&q, 'b');
	assert_int_equal(dns_parse_answer(q.b, q.len, DNS_TYPE_TXT, 0, &res),
			 DNS_TEMPFAIL);
	dns_result_free(&res);
	/* an A record of the wrong size */
	start(&q, 1, 0, 1, "example.test", DNS_TYPE_A);
	rr_begin(&q, DNS_TYPE_A, 3);
	put8(&q, 1);
	put8(&q, 2);
	put8(&q, 3);
	assert_int_equal(dns_parse_answer(q.b, q.len, DNS_TYPE_A, 0, &res),
			 DNS_TEMPFAIL);
	dns_result_free(&res);
	/* a record count larger than the packet */
	start(&q, 1, 0, 9, "example.test", DNS_TYPE_A);
	add_a(&q, "1.2.3.4");
	assert_int_equal(dns_parse_answer(q.b, q.len, DNS_TYPE_A, 0, &res),
			 DNS_TEMPFAIL);
	dns_result_free(&res);
}

static void test_servers_and_reverse(void **state)
{
	struct sockaddr_storage ss;
	const char *error;
	struct dns_settings set = { .servers = "127.0.0.1#5353 ::1" };
	struct dns_resolver *r;
	socklen_t len;
	char *name;

	(void)state;
	assert_int_equal(dns_parse_server("127.0.0.1", &ss, &len), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53);
	assert_int_equal(dns_parse_server("127.0.0.1#5353", &ss, &len), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5353);
	assert_int_equal(dns_parse_server("[::1]:54", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 54);
	assert_int_equal(dns_parse_server("fe80::1#99", &ss, &len), 0);
	assert_int_equal(dns_parse_server("", &ss, &len), -1);
	assert_int_equal(dns_parse_server("host.example", &ss, &len), -1);
	assert_int_equal(dns_parse_server("1.2.3.4#0", &ss, &len), -1);
	assert_int_equal(dns_parse_server("1.2.3.4#65536", &ss, &len), -1);
	assert_int_equal(dns_parse_server("1.2.3.4#-1", &ss, &len), -1);
	assert_int_equal(dns_parse_server("[::1", &ss, &len), -1);
	assert_int_equal(dns_parse_server("[::1]x", &ss, &len), -1);
	r = dns_resolver_create(&set, &error);
	assert_non_null(r);
	dns_resolver_destroy(&r);
	assert_null(r);
	set.servers = "127.0.0.1 bogus";
	assert_null(dns_resolver_create(&set, &error));

	assert_int_equal(dns_reverse_name("192.0.2.10", &name), 0);
	assert_string_equal(name, "10.2.0.192.in-addr.arpa");
	free(name);
	assert_int_equal(dns_reverse_name("2001:db8::1", &name), 0);
	assert_string_equal(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	free(name);
	assert_int_equal(dns_reverse_name("1.2.3", &name), -1);
	assert_null(name);
}

/* ---- lookups against a fake server ---- */

/* Answers queries on UDP and TCP port: names beginning with "big" get a
 * truncated UDP answer and the full one over TCP; "slow" never gets an
 * answer; others get one A record 127.0.0.9 (or NXDOMAIN for "nx."). */
static void fake_answer(const uint8_t *q, size_t qlen, bool udp,
			struct pkt *p)
{
	char name[256];
	size_t pos = NS_HFIXEDSZ_LOCAL, n = 0;

	while (pos < qlen && q[pos] != 0 && n < sizeof(name) - 2) {
		size_t l = q[pos++];

		for (size_t i = 0; i < l && pos < qlen &&
		     n < sizeof(name) - 2; i++)
			name[n++] = (char)q[pos++];
		name[n++] = '.';
	}
	name[n > 0 ? n - 1 : 0] = '\0';
	start(p, (unsigned int)(q[0] << 8 | q[1]),
	      strncmp(name, "nx.", 3) == 0 ? 3 : 0,
	      strncmp(name, "nx.", 3) == 0 ? 0 : 1, name, DNS_TYPE_A);
	if (strncmp(name, "nx.", 3) == 0)
		return;
	if (udp && strncmp(name, "big", 3) == 0) {
		p->b[2] |= 0x02;	/* TC */
		p->b[7] = 0;
		return;
	}
	add_a(p, strncmp(name, "big", 3) == 0 ? "127.0.0.8" : "127.0.0.9");
}

static pid_t fake_server(unsigned int *port_r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int u = socket(AF_INET, SOCK_DGRAM, 0), t;
	pid_t pid;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(u, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(u, (struct sockaddr *)&sin, &len), 0);
	t = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 },
				    sizeof(int)), 0);
	assert_int_equal(bind(t, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(t, 5), 0);
	*port_r = ntohs(sin.sin_port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid > 0) {
		close(u);
		close(t);
		return pid;
	}
	for (;;) {
		struct pollfd pf[2] = { { .fd = u, .events = POLLIN },
					{ .fd = t, .events = POLLIN } };
		uint8_t q[512];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		struct pkt p;
		ssize_t n;

		if (poll(pf, 2, -1) < 0)
			continue;
		if (pf[0].revents != 0) {
			n = recvfrom(u, q, sizeof(q), 0,
				     (struct sockaddr *)&from, &flen);
			if (n < NS_HFIXEDSZ_LOCAL || memmem(q, (size_t)n,
							    "\004slow", 5))
				continue;
			fake_answer(q, (size_t)n, true, &p);
			sendto(u, p.b, p.len, 0, (struct sockaddr *)&from,
			       flen);
		}
		if (pf[1].revents != 0) {
			int c = accept(t, NULL, NULL);
			uint8_t l[2];

			if (c < 0)
				continue;
			if (read(c, l, 2) == 2) {
				size_t ql = (size_t)l[0] << 8 | l[1];

				n = ql <= sizeof(q) ? read(c, q, ql) : -1;
				if (n == (ssize_t)ql && n >= NS_HFIXEDSZ_LOCAL) {
					fake_answer(q, ql, false, &p);
					l[0] = (uint8_t)(p.len >> 8);
					l[1] = (uint8_t)p.len;
					(void)!write(c, l, 2);
					(void)!write(c, p.b, p.len);
				}
			}
			close(c);
		}
	}
}

static void test_lookup_fake_server(void **state)
{
	struct dns_resolver *r;
	struct dns_result res;
	const char *error;
	unsigned int port;
	char servers[64];
	struct dns_settings set = { .timeout_msecs = 300, .attempts = 1 };
	pid_t pid = fake_server(&port);

	(void)state;
	snprintf(servers, sizeof(servers), "127.0.0.1#%u", port);
	set.servers = servers;
	r = dns_resolver_create(&set, &error);
	assert_non_null(r);
	assert_int_equal(dns_lookup(r, "host.example.test", DNS_TYPE_A, &res),
			 DNS_OK);
	assert_string_equal(res.rrs[0].addr_text, "127.0.0.9");
	dns_result_free(&res);
	/* truncated over UDP: retried over TCP */
	assert_int_equal(dns_lookup(r, "big.example.test.", DNS_TYPE_A, &res),
			 DNS_OK);
	assert_string_equal(res.rrs[0].addr_text, "127.0.0.8");
	dns_result_free(&res);
	assert_int_equal(dns_lookup(r, "nx.example.test", DNS_TYPE_A, &res),
			 DNS_NXDOMAIN);
	dns_result_free(&res);
	assert_int_equal(dns_lookup(r, "slow.example.test", DNS_TYPE_A, &res),
			 DNS_TEMPFAIL);
	dns_result_free(&res);
	assert_int_equal(dns_lookup(r, "bad..name", DNS_TYPE_A, &res),
			 DNS_BADNAME);
	assert_int_equal(dns_lookup(r, "", DNS_TYPE_A, &res), DNS_BADNAME);
	assert_int_equal(dns_lookup_ptr(r, "x", &res), DNS_BADNAME);
	dns_resolver_destroy(&r);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_a_aaaa),
		cmocka_unit_test(test_parse_mx_sorted),
		cmocka_unit_test(test_parse_txt),
		cmocka_unit_test(test_parse_status),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_servers_and_reverse),
		cmocka_unit_test(test_lookup_fake_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
