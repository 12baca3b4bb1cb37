/* test-spf.c: the SPF evaluator (lib/spf.h) over a fake DNS zone: every
 * mechanism and modifier, the RFC 7208 examples of macros, the lookup
 * limits, DNS failures, malformed records. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "mem.h"
#include "spf.h"

/* One record of the fake zone: type, name, data ("SERVFAIL" as the data
 * of any type makes the lookup fail temporarily). */
struct zrec {
	enum dns_type type;
	const char *name;
	const char *data;
	unsigned int pref;
};

static const struct zrec *zone;
static unsigned int queries;

static enum dns_status fake_lookup(void *context, const char *name,
				   enum dns_type type, struct dns_result *res)
{
	bool exists = false;

	(void)context;
	queries++;
	memset(res, 0, sizeof(*res));
	res->error = "";
	for (const struct zrec *z = zone; z->name != NULL; z++) {
		if (strcasecmp(z->name, name) != 0)
			continue;
		exists = true;
		if (strcmp(z->data, "SERVFAIL") == 0) {
			dns_result_free(res);
			res->status = DNS_TEMPFAIL;
			return DNS_TEMPFAIL;
		}
		if (z->type != type)
			continue;
		res->rrs = xreallocarray(res->rrs, res->count + 1,
					 sizeof(*res->rrs));
		struct dns_rr *rr = &res->rrs[res->count++];
		memset(rr, 0, sizeof(*rr));
		rr->type = type;
		rr->pref = (uint16_t)z->pref;
		if (type == DNS_TYPE_A) {
			rr->family = AF_INET;
			assert_int_equal(inet_pton(AF_INET, z->data,
						   &rr->addr.v4), 1);
		} else if (type == DNS_TYPE_AAAA) {
			rr->family = AF_INET6;
			assert_int_equal(inet_pton(AF_INET6, z->data,
						   &rr->addr.v6), 1);
			inet_ntop(AF_INET6, &rr->addr.v6, rr->addr_text,
				  sizeof(rr->addr_text));
		} else if (type == DNS_TYPE_TXT) {
			rr->text = xstrdup(z->data);
			rr->text_len = strlen(z->data);
		} else {
			rr->name = xstrdup(z->data);
		}
	}
	res->status = res->count > 0 ? DNS_OK : exists ? DNS_NODATA
						       : DNS_NXDOMAIN;
	return res->status;
}

static enum spf_result check(const char *ip, const char *sender,
			     const char *domain, struct spf_response *resp)
{
	struct spf_request req = {
		.lookup = fake_lookup,
		.ip = ip,
		.sender = sender,
		.domain = domain,
		.helo = "mail.example.com",
		.receiver = "mx.example.net",
	};

	return spf_check(&req, resp);
}

static enum spf_result result_of(const char *ip, const char *domain)
{
	struct spf_response resp;
	char *sender = xasprintf("user@%s", domain);
	enum spf_result r = check(ip, sender, domain, &resp);

	spf_response_free(&resp);
	free(sender);
	return r;
}

static const struct zrec basic[] = {
	{ DNS_TYPE_TXT, "ip.test", "v=spf1 ip4:192.0.2.0/24 "
				   "ip6:2001:db8::/32 -all", 0 },
	{ DNS_TYPE_TXT, "soft.test", "v=spf1 ~all", 0 },
	{ DNS_TYPE_TXT, "neutral.test", "v=spf1 ?all", 0 },
	{ DNS_TYPE_TXT, "empty.test", "v=spf1", 0 },
	{ DNS_TYPE_TXT, "other.test", "some verification text", 0 },
	{ DNS_TYPE_TXT, "two.test", "v=spf1 -all", 0 },
	{ DNS_TYPE_TXT, "two.test", "v=spf1 +all", 0 },
	{ DNS_TYPE_TXT, "a.test", "v=spf1 a a:host.a.test/28 -all", 0 },
	{ DNS_TYPE_A, "a.test", "198.51.100.1", 0 },
	{ DNS_TYPE_A, "host.a.test", "203.0.113.1", 0 },
	{ DNS_TYPE_TXT, "mx.test", "v=spf1 mx -all", 0 },
	{ DNS_TYPE_MX, "mx.test", "mx1.mx.test", 10 },
	{ DNS_TYPE_MX, "mx.test", "mx2.mx.test", 20 },
	{ DNS_TYPE_A, "mx1.mx.test", "198.51.100.10", 0 },
	{ DNS_TYPE_AAAA, "mx2.mx.test", "2001:db8:1::25", 0 },
	{ DNS_TYPE_TXT, "inc.test", "v=spf1 include:ip.test ~all", 0 },
	{ DNS_TYPE_TXT, "incnone.test", "v=spf1 include:other.test ~all", 0 },
	{ DNS_TYPE_TXT, "red.test", "v=spf1 redirect=ip.test", 0 },
	{ DNS_TYPE_TXT, "rednone.test", "v=spf1 redirect=other.test", 0 },
	{ DNS_TYPE_TXT, "exists.test",
	  "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", 0 },
	{ DNS_TYPE_A, "1.2.0.192.user._spf.exists.test", "127.0.0.2", 0 },
	{ DNS_TYPE_TXT, "ptr.test", "v=spf1 ptr -all", 0 },
	{ DNS_TYPE_PTR, "7.2.0.192.in-addr.arpa", "mail.ptr.test", 0 },
	{ DNS_TYPE_PTR, "8.2.0.192.in-addr.arpa", "forged.ptr.test", 0 },
	{ DNS_TYPE_A, "mail.ptr.test", "192.0.2.7", 0 },
	{ DNS_TYPE_A, "forged.ptr.test", "192.0.2.99", 0 },
	{ DNS_TYPE_TXT, "temp.test", "v=spf1 a:broken.test -all", 0 },
	{ DNS_TYPE_TXT, "broken.test", "SERVFAIL", 0 },
	{ DNS_TYPE_TXT, "exp.test", "v=spf1 -all exp=explain.exp.test", 0 },
	{ DNS_TYPE_TXT, "explain.exp.test",
	  "%{i} is not one of %{d}'s servers (%{l})", 0 },
	{ DNS_TYPE_TXT, "bad.test", "v=spf1 ip4:300.1.1.1 -all", 0 },
	{ DNS_TYPE_TXT, "v6.test", "v=spf1 a//64 -all", 0 },
	{ DNS_TYPE_AAAA, "v6.test", "2001:db8:5:5::1", 0 },
	{ 0, NULL, NULL, 0 },
};

/* Client address, domain of the sender, and the result expected in the
 * basic zone. */
static const struct {
	const char *ip, *domain;
	enum spf_result result;
} results[] = {
	{ "192.0.2.1", "ip.test", SPF_RESULT_PASS },
	{ "2001:db8::1", "ip.test", SPF_RESULT_PASS },
	{ "::ffff:192.0.2.1", "ip.test", SPF_RESULT_PASS },
	{ "198.51.100.1", "ip.test", SPF_RESULT_FAIL },
	{ "198.51.100.1", "soft.test", SPF_RESULT_SOFTFAIL },
	{ "198.51.100.1", "neutral.test", SPF_RESULT_NEUTRAL },
	{ "198.51.100.1", "empty.test", SPF_RESULT_NEUTRAL },
	{ "198.51.100.1", "other.test", SPF_RESULT_NONE },
	{ "198.51.100.1", "nxdomain.test", SPF_RESULT_NONE },
	{ "198.51.100.1", "nodots", SPF_RESULT_NONE },
	{ "198.51.100.1", "two.test", SPF_RESULT_PERMERROR },
	{ "198.51.100.1", "a.test", SPF_RESULT_PASS },
	{ "203.0.113.14", "a.test", SPF_RESULT_PASS },
	{ "203.0.113.17", "a.test", SPF_RESULT_FAIL },
	{ "198.51.100.10", "mx.test", SPF_RESULT_PASS },
	{ "2001:db8:1::25", "mx.test", SPF_RESULT_PASS },
	{ "198.51.100.11", "mx.test", SPF_RESULT_FAIL },
	{ "192.0.2.1", "inc.test", SPF_RESULT_PASS },
	{ "198.51.100.1", "inc.test", SPF_RESULT_SOFTFAIL },
	{ "198.51.100.1", "incnone.test", SPF_RESULT_PERMERROR },
	{ "192.0.2.1", "red.test", SPF_RESULT_PASS },
	{ "198.51.100.1", "red.test", SPF_RESULT_FAIL },
	{ "198.51.100.1", "rednone.test", SPF_RESULT_PERMERROR },
	{ "192.0.2.1", "exists.test", SPF_RESULT_PASS },
	{ "192.0.2.2", "exists.test", SPF_RESULT_FAIL },
	{ "192.0.2.7", "ptr.test", SPF_RESULT_PASS },
	{ "192.0.2.8", "ptr.test", SPF_RESULT_FAIL },
	{ "192.0.2.1", "temp.test", SPF_RESULT_TEMPERROR },
	{ "192.0.2.1", "broken.test", SPF_RESULT_TEMPERROR },
	{ "192.0.2.1", "bad.test", SPF_RESULT_PERMERROR },
	{ "2001:db8:5:5::77", "v6.test", SPF_RESULT_PASS },
	{ "2001:db8:5:6::1", "v6.test", SPF_RESULT_FAIL },
	{ "not-an-ip", "ip.test", SPF_RESULT_PERMERROR },
};

static void test_results(void **state)
{
	(void)state;
	zone = basic;
	for (size_t i = 0; i < N_ELEMENTS(results); i++) {
		enum spf_result r = result_of(results[i].ip, results[i].domain);

		if (r != results[i].result)
			fail_msg("%s from %s: %s, not %s", results[i].domain,
				 results[i].ip, spf_result_name(r),
				 spf_result_name(results[i].result));
	}
}

static void test_explanation_and_header(void **state)
{
	struct spf_response resp;
	struct spf_request req = {
		.lookup = fake_lookup, .ip = "192.0.2.3",
		.sender = "joe@exp.test", .domain = "exp.test",
		.helo = "mail.example.com", .receiver = "mx.example.net",
	};
	struct str h;

	(void)state;
	zone = basic;
	assert_int_equal(spf_check(&req, &resp), SPF_RESULT_FAIL);
	assert_string_equal(resp.explanation,
			    "192.0.2.3 is not one of exp.test's servers (joe)");
	assert_string_equal(resp.mechanism, "-all");
	str_init(&h, 256);
	spf_received_header(&h, &req, &resp, "mailfrom");
	assert_non_null(strstr(str_c(&h), "Received-SPF: fail (mx.example.net:"
					  " domain of joe@exp.test does not "
					  "designate 192.0.2.3"));
	assert_non_null(strstr(str_c(&h), "client-ip=192.0.2.3;"));
	assert_non_null(strstr(str_c(&h), "identity=mailfrom;\r\n"));
	str_free(&h);
	spf_response_free(&resp);
}

static const struct zrec limits[] = {
	{ DNS_TYPE_TXT, "many.test",
	  "v=spf1 a:h1.many.test a:h2.many.test a:h3.many.test "
	  "a:h4.many.test a:h5.many.test a:h6.many.test a:h7.many.test "
	  "a:h8.many.test a:h9.many.test a:h10.many.test "
	  "a:h11.many.test -all", 0 },
	{ DNS_TYPE_A, "h1.many.test", "10.0.0.1", 0 },
	{ DNS_TYPE_A, "h2.many.test", "10.0.0.2", 0 },
	{ DNS_TYPE_A, "h3.many.test", "10.0.0.3", 0 },
	{ DNS_TYPE_A, "h4.many.test", "10.0.0.4", 0 },
	{ DNS_TYPE_A, "h5.many.test", "10.0.0.5", 0 },
	{ DNS_TYPE_A, "h6.many.test", "10.0.0.6", 0 },
	{ DNS_TYPE_A, "h7.many.test", "10.0.0.7", 0 },
	{ DNS_TYPE_A, "h8.many.test", "10.0.0.8", 0 },
	{ DNS_TYPE_A, "h9.many.test", "10.0.0.9", 0 },
	{ DNS_TYPE_A, "h10.many.test", "10.0.0.10", 0 },
	{ DNS_TYPE_A, "h11.many.test", "10.0.0.11", 0 },
	{ DNS_TYPE_TXT, "void.test",
	  "v=spf1 a:n1.void.test a:n2.void.test a:n3.void.test -all", 0 },
	{ DNS_TYPE_TXT, "loop.test", "v=spf1 include:loop.test -all", 0 },
	{ DNS_TYPE_TXT, "redloop.test", "v=spf1 redirect=redloop.test", 0 },
	{ 0, NULL, NULL, 0 },
};

static void test_limits(void **state)
{
	(void)state;
	zone = limits;
	assert_int_equal(result_of("10.0.0.10", "many.test"), SPF_RESULT_PASS);
	assert_int_equal(result_of("10.0.0.11", "many.test"),
			 SPF_RESULT_PERMERROR);
	assert_int_equal(result_of("10.0.0.1", "void.test"),
			 SPF_RESULT_PERMERROR);
	queries = 0;
	assert_int_equal(result_of("10.0.0.1", "loop.test"),
			 SPF_RESULT_PERMERROR);
	assert_true(queries <= 12);
	assert_int_equal(result_of("10.0.0.1", "redloop.test"),
			 SPF_RESULT_PERMERROR);
}

static void expand(const char *spec, bool exp, const char *want)
{
	struct spf_macro_env env = {
		.sender = "strong-bad@email.example.com",
		.domain = "email.example.com",
		.ip = "192.0.2.3",
		.helo = "mx.example.org",
		.receiver = "rcv.example.net",
		.now = 1234,
	};
	struct str out;
	const char *error = NULL;

	str_init(&out, 64);
	if (want == NULL) {
		assert_int_equal(spf_macro_expand(&env, spec, strlen(spec),
						  exp, false, &out, &error),
				 -1);
		assert_non_null(error);
	} else {
		assert_int_equal(spf_macro_expand(&env, spec, strlen(spec),
						  exp, false, &out, &error),
				 0);
		assert_string_equal(str_c(&out), want);
	}
	str_free(&out);
}

static void test_macros(void **state)
{
	(void)state;
	/* RFC 7208 7.4 */
	expand("%{s}", false, "strong-bad@email.example.com");
	expand("%{o}", false, "email.example.com");
	expand("%{d}", false, "email.example.com");
	expand("%{d4}", false, "email.example.com");
	expand("%{d3}", false, "email.example.com");
	expand("%{d2}", false, "example.com");
	expand("%{d1}", false, "com");
	expand("%{dr}", false, "com.example.email");
	expand("%{d2r}", false, "example.email");
	expand("%{l}", false, "strong-bad");
	expand("%{l-}", false, "strong.bad");
	expand("%{lr}", false, "strong-bad");
	expand("%{lr-}", false, "bad.strong");
	expand("%{l1r-}", false, "strong");
	expand("%{ir}.%{v}._spf.%{d2}", false,
	       "3.2.0.192.in-addr._spf.example.com");
	expand("%{lr-}.lp._spf.%{d2}", false, "bad.strong.lp._spf.example.com");
	expand("%{d2}.trusted-domains.example.net", false,
	       "example.com.trusted-domains.example.net");
	expand("%{S}", false, "strong-bad%40email.example.com");
	expand("a%%b%_c%-d", false, "a%b c%20d");
	expand("%{r} %{t} %{c}", true, "rcv.example.net 1234 192.0.2.3");
	expand("%{p}", false, "unknown");
	/* malformed */
	expand("%{r}", false, NULL);
	expand("%{x}", false, NULL);
	expand("%{d", false, NULL);
	expand("%", false, NULL);
	expand("%a", false, NULL);
	expand("%{d0}", false, NULL);
	expand("%{}", false, NULL);
}

static void test_ipv6_macro(void **state)
{
	struct spf_macro_env env = { .ip = "2001:db8::cb01" };
	struct str out;
	const char *error;

	(void)state;
	str_init(&out, 64);
	assert_int_equal(spf_macro_expand(&env, "%{ir}.%{v}._spf", 15, false,
					  false, &out, &error),
			 0);
	assert_string_equal(str_c(&out),
			    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"
			    ".8.b.d.0.1.0.0.2.ip6._spf");
	str_free(&out);
}

static void parse_ok(const char *text, size_t terms)
{
	struct spf_record *rec;
	const char *error = NULL;

	assert_int_equal(spf_record_parse(text, strlen(text), &rec, &error), 0);
	assert_int_equal(spf_record_term_count(rec), terms);
	spf_record_free(&rec);
	assert_null(rec);
}

static void parse_bad(const char *text)
{
	struct spf_record *rec = (void *)1;
	const char *error = NULL;

	assert_int_equal(spf_record_parse(text, strlen(text), &rec, &error),
			 -1);
	assert_null(rec);
	assert_non_null(error);
}

static void test_parser(void **state)
{
	(void)state;
	parse_ok("v=spf1", 0);
	parse_ok("V=SPF1   -ALL  ", 1);
	parse_ok("v=spf1 +a -mx ~ptr ?all", 4);
	parse_ok("v=spf1 a:example.com/24//64 mx/30 mx//48 ip4:10.0.0.0/8 "
		 "ip6:::1 ip6:2001:db8::/32 exists:%{i}.x.example.com "
		 "include:_spf.example.com redirect=_spf.example.net "
		 "exp=exp.example.com unknown-mod=anything", 10);
	parse_ok("v=spf1 ptr:example.com -all", 2);
	parse_bad("v=spf10 -all");
	parse_bad("spf1 -all");
	parse_bad("");
	parse_bad("v=spf1 foo");
	parse_bad("v=spf1 foo:bar.com");
	parse_bad("v=spf1 all:x");
	parse_bad("v=spf1 include");
	parse_bad("v=spf1 include:");
	parse_bad("v=spf1 a:1.2.3.4");
	parse_bad("v=spf1 a/33");
	parse_bad("v=spf1 a//129");
	parse_bad("v=spf1 a/");
	parse_bad("v=spf1 ip4:1.2.3.4/33");
	parse_bad("v=spf1 ip4:::1");
	parse_bad("v=spf1 ip6:1.2.3.4");
	parse_bad("v=spf1 ip4:");
	parse_bad("v=spf1 ip4:1.2.3.4/");
	parse_bad("v=spf1 ip4:1.2.3.4/08");
	parse_bad("v=spf1 redirect=a.com redirect=b.com");
	parse_bad("v=spf1 exp=a.com exp=b.com");
	parse_bad("v=spf1 redirect=");
	parse_bad("v=spf1 exists:%{q}.example.com");
	parse_bad("v=spf1 exists:%{d");
	parse_bad("v=spf1 -");
	parse_bad("v=spf1 =x");
	parse_bad("v=spf1 a:exa\x01mple.com");
	{
		static const char nul[] = "v=spf1 a\0 -all";

		struct spf_record *rec;
		const char *error;

		assert_int_equal(spf_record_parse(nul, sizeof(nul) - 1, &rec,
						  &error),
				 -1);
	}
	{
		/* too many terms, too long */
		struct str s;
		struct spf_record *rec;
		const char *error;

		str_init(&s, 8192);
		str_append(&s, "v=spf1");
		for (int i = 0; i < SPF_MAX_TERMS + 1; i++)
			str_append(&s, " -all");
		assert_int_equal(spf_record_parse(s.data, s.len, &rec, &error),
				 -1);
		while (s.len <= SPF_MAX_RECORD)
			str_append(&s, "        ");
		assert_int_equal(spf_record_parse(s.data, s.len, &rec, &error),
				 -1);
		str_free(&s);
	}
}

static void test_result_names(void **state)
{
	enum spf_result r;

	(void)state;
	for (int i = SPF_RESULT_NONE; i <= SPF_RESULT_PERMERROR; i++) {
		assert_int_equal(spf_result_from_name(spf_result_name(i), &r),
				 0);
		assert_int_equal(r, i);
	}
	assert_int_equal(spf_result_from_name("ERROR", &r), 0);
	assert_int_equal(r, SPF_RESULT_TEMPERROR);
	assert_int_equal(spf_result_from_name("unknown", &r), 0);
	assert_int_equal(r, SPF_RESULT_PERMERROR);
	assert_int_equal(spf_result_from_name("passed", &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_explanation_and_header),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_ipv6_macro),
		cmocka_unit_test(test_parser),
		cmocka_unit_test(test_result_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
