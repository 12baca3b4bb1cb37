/* spf.c: Sender Policy Framework (RFC 7208): record parser, macros and
 * check_host() over lib/dns.h (see spf.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mem.h"
#include "spf.h"

enum spf_mech {
	MECH_ALL,
	MECH_INCLUDE,
	MECH_A,
	MECH_MX,
	MECH_PTR,
	MECH_IP4,
	MECH_IP6,
	MECH_EXISTS,
	MOD_REDIRECT,
	MOD_EXP,
};

struct spf_ip {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t b[16];
};

struct spf_term {
	enum spf_mech kind;
	char qualifier;		/* '+', '-', '~', '?' */
	char *spec;		/* domain-spec (macro-string) or NULL */
	int cidr4, cidr6;	/* prefix lengths */
	struct spf_ip net;	/* ip4/ip6 */
	char *text;		/* the term as written (for Received-SPF) */
};

struct spf_record {
	struct spf_term *terms;
	size_t count;
	const struct spf_term *redirect;
	const struct spf_term *exp;
};

const char *spf_result_name(enum spf_result r)
{
	switch (r) {
	case SPF_RESULT_NONE:
		return "none";
	case SPF_RESULT_NEUTRAL:
		return "neutral";
	case SPF_RESULT_PASS:
		return "pass";
	case SPF_RESULT_FAIL:
		return "fail";
	case SPF_RESULT_SOFTFAIL:
		return "softfail";
	case SPF_RESULT_TEMPERROR:
		return "temperror";
	case SPF_RESULT_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

int spf_result_from_name(const char *name, enum spf_result *r_r)
{
	for (int r = SPF_RESULT_NONE; r <= SPF_RESULT_PERMERROR; r++) {
		if (strcasecmp(name, spf_result_name(r)) == 0) {
			*r_r = (enum spf_result)r;
			return 0;
		}
	}
	if (strcasecmp(name, "error") == 0) {
		*r_r = SPF_RESULT_TEMPERROR;
		return 0;
	}
	if (strcasecmp(name, "unknown") == 0) {
		*r_r = SPF_RESULT_PERMERROR;
		return 0;
	}
	return -1;
}

/* ---- addresses ---- */

static bool ip_parse(const char *text, size_t len, struct spf_ip *ip)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, buf, ip->b) == 1) {
		ip->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, ip->b) != 1)
		return false;
	ip->family = AF_INET6;
	return true;
}

/* The client address as SPF compares it: IPv4-mapped IPv6 is IPv4
 * (RFC 7208 5). */
static void ip_unmap(struct spf_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0,
					    0, 0, 0, 0, 0xff, 0xff };

	if (ip->family == AF_INET6 && memcmp(ip->b, mapped, 12) == 0) {
		memmove(ip->b, ip->b + 12, 4);
		memset(ip->b + 4, 0, 12);
		ip->family = AF_INET;
	}
}

static bool ip_in_net(const struct spf_ip *ip, const struct spf_ip *net,
		      int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (ip->family != net->family)
		return false;
	if (memcmp(ip->b, net->b, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (ip->b[full] & mask) == (net->b[full] & mask);
}

static bool rr_ip(const struct dns_rr *rr, struct spf_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (rr->type == DNS_TYPE_A && rr->family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->b, &rr->addr.v4, 4);
		return true;
	}
	if (rr->type == DNS_TYPE_AAAA && rr->family == AF_INET6) {
		ip->family = AF_INET6;
		memcpy(ip->b, &rr->addr.v6, 16);
		return true;
	}
	return false;
}

/* ---- record parser ---- */

bool spf_record_is_spf1(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 &&
	       (len == 6 || text[6] == ' ');
}

/* Checks a macro-string (section 7.1); domain: a domain-spec, which
 * must end in a toplabel or a macro. */
static bool macro_string_valid(const char *s, size_t len, bool domain)
{
	size_t i = 0;
	bool ends_macro = false;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		ends_macro = false;
		if (c < 0x21 || c > 0x7e)
			return false;
		if (c != '%') {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return false;
		c = (unsigned char)s[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			i += 2;
			continue;
		}
		if (c != '{' || i + 2 >= len)
			return false;
		i += 2;
		c = (unsigned char)tolower(s[i]);
		if (strchr("slodiphcrtv", c) == NULL || c == '\0')
			return false;
		i++;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
		if (i < len && (s[i] == 'r' || s[i] == 'R'))
			i++;
		while (i < len && s[i] != '}' && strchr(".-+,/_=", s[i]) != NULL)
			i++;
		if (i >= len || s[i] != '}')
			return false;
		i++;
		ends_macro = true;
	}
	if (!domain || ends_macro)
		return len > 0;
	/* domain-end = "." toplabel ["."]: the last label is a toplabel
	 * (alphanumerics and '-', not all digits, no '-' at either end) */
	size_t end = len;
	if (end > 0 && s[end - 1] == '.')
		end--;
	size_t start = end;
	while (start > 0 && s[start - 1] != '.')
		start--;
	if (start == 0 || start == end)
		return false;	/* needs a "." before the toplabel */
	bool alpha = false;
	for (size_t k = start; k < end; k++) {
		if (isalpha((unsigned char)s[k]))
			alpha = true;
		else if (!isdigit((unsigned char)s[k]) && s[k] != '-')
			return false;
	}
	return alpha && s[start] != '-' && s[end - 1] != '-';
}

static bool parse_prefix(const char *s, size_t len, int max, int *v_r)
{
	int v = 0;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return false;
	*v_r = v;
	return true;
}

/* dual-cidr-length = [ "/" ip4-cidr ] [ "//" ip6-cidr ] */
static bool parse_dual_cidr(const char *s, size_t len, int *c4, int *c6)
{
	const char *dd;

	if (len == 0)
		return true;
	if (s[0] != '/')
		return false;
	dd = NULL;
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == '/' && s[i + 1] == '/') {
			dd = s + i;
			break;
		}
	}
	if (dd != s) {
		size_t n = (dd != NULL ? (size_t)(dd - s) : len) - 1;

		if (!parse_prefix(s + 1, n, 32, c4))
			return false;
	}
	if (dd != NULL &&
	    !parse_prefix(dd + 2, len - (size_t)(dd - s) - 2, 128, c6))
		return false;
	return true;
}

static void term_free(struct spf_term *t)
{
	free(t->spec);
	free(t->text);
}

void spf_record_free(struct spf_record **rec)
{
	if (*rec == NULL)
		return;
	for (size_t i = 0; i < (*rec)->count; i++)
		term_free(&(*rec)->terms[i]);
	free((*rec)->terms);
	free(*rec);
	*rec = NULL;
}

size_t spf_record_term_count(const struct spf_record *rec)
{
	return rec->count;
}

static const struct {
	const char *name;
	enum spf_mech kind;
} mechs[] = {
	{ "all", MECH_ALL },	   { "include", MECH_INCLUDE },
	{ "a", MECH_A },	   { "mx", MECH_MX },
	{ "ptr", MECH_PTR },	   { "ip4", MECH_IP4 },
	{ "ip6", MECH_IP6 },	   { "exists", MECH_EXISTS },
};

/* Parses one term (len bytes, no spaces).  Returns 1 for a term put in
 * *t, 0 for an unknown modifier (ignored), -1 on a syntax error. */
static int parse_term(const char *s, size_t len, struct spf_term *t,
		      const char **error_r)
{
	size_t nlen = 0;
	const char *arg;
	size_t alen;

	memset(t, 0, sizeof(*t));
	t->cidr4 = 32;
	t->cidr6 = 128;
	while (nlen < len && (isalnum((unsigned char)s[nlen]) ||
			      ((s[nlen] == '-' || s[nlen] == '_' ||
				s[nlen] == '.') && nlen > 0)))
		nlen++;
	if (nlen > 0 && nlen < len && s[nlen] == '=' &&
	    isalpha((unsigned char)s[0])) {
		/* modifier */
		arg = s + nlen + 1;
		alen = len - nlen - 1;
		if (nlen == 8 && strncasecmp(s, "redirect", 8) == 0)
			t->kind = MOD_REDIRECT;
		else if (nlen == 3 && strncasecmp(s, "exp", 3) == 0)
			t->kind = MOD_EXP;
		else {
			if (alen > 0 && !macro_string_valid(arg, alen, false)) {
				*error_r = "bad modifier value";
				return -1;
			}
			return 0;
		}
		if (!macro_string_valid(arg, alen, true)) {
			*error_r = "bad domain in modifier";
			return -1;
		}
		t->spec = xstrndup(arg, alen);
		t->text = xstrndup(s, len);
		return 1;
	}
	t->text = xstrndup(s, len);
	t->qualifier = '+';
	if (len > 0 && strchr("+-~?", s[0]) != NULL) {
		t->qualifier = s[0];
		s++;
		len--;
	}
	nlen = 0;
	while (nlen < len && isalnum((unsigned char)s[nlen]))
		nlen++;
	size_t m;
	for (m = 0; m < sizeof(mechs) / sizeof(mechs[0]); m++) {
		if (strlen(mechs[m].name) == nlen &&
		    strncasecmp(s, mechs[m].name, nlen) == 0)
			break;
	}
	if (m == sizeof(mechs) / sizeof(mechs[0]) || nlen == 0) {
		*error_r = "unknown mechanism";
		goto fail;
	}
	t->kind = mechs[m].kind;
	arg = s + nlen;
	alen = len - nlen;
	switch (t->kind) {
	case MECH_ALL:
		if (alen != 0) {
			*error_r = "all takes no argument";
			goto fail;
		}
		return 1;
	case MECH_INCLUDE:
	case MECH_EXISTS:
		if (alen < 2 || arg[0] != ':' ||
		    !macro_string_valid(arg + 1, alen - 1, true)) {
			*error_r = "include/exists need a domain";
			goto fail;
		}
		t->spec = xstrndup(arg + 1, alen - 1);
		return 1;
	case MECH_A:
	case MECH_MX:
	case MECH_PTR:
		if (alen == 0)
			return 1;
		if (arg[0] == '/' && t->kind != MECH_PTR) {
			if (!parse_dual_cidr(arg, alen, &t->cidr4,
					     &t->cidr6)) {
				*error_r = "bad CIDR length";
				goto fail;
			}
			return 1;
		}
		if (arg[0] != ':' || alen < 2) {
			*error_r = "bad mechanism argument";
			goto fail;
		}
		arg++;
		alen--;
		/* the domain-spec ends where a valid dual-cidr begins */
		for (size_t i = 0; i <= alen; i++) {
			if (i < alen && arg[i] != '/')
				continue;
			if (t->kind == MECH_PTR && i < alen)
				continue;
			if (i == 0)
				break;
			if (parse_dual_cidr(arg + i, alen - i, &t->cidr4,
					    &t->cidr6) &&
			    macro_string_valid(arg, i, true)) {
				t->spec = xstrndup(arg, i);
				return 1;
			}
			t->cidr4 = 32;
			t->cidr6 = 128;
		}
		*error_r = "bad domain in mechanism";
		goto fail;
	case MECH_IP4:
	case MECH_IP6: {
		const char *slash;
		size_t iplen;
		int max = t->kind == MECH_IP4 ? 32 : 128;
		int prefix = max;

		if (alen < 2 || arg[0] != ':') {
			*error_r = "ip4/ip6 need an address";
			goto fail;
		}
		arg++;
		alen--;
		slash = memchr(arg, '/', alen);
		iplen = slash != NULL ? (size_t)(slash - arg) : alen;
		if (slash != NULL &&
		    !parse_prefix(slash + 1, alen - iplen - 1, max, &prefix)) {
			*error_r = "bad CIDR length";
			goto fail;
		}
		if (!ip_parse(arg, iplen, &t->net) ||
		    t->net.family != (t->kind == MECH_IP4 ? AF_INET
							  : AF_INET6) ||
		    (t->kind == MECH_IP4 && memchr(arg, ':', iplen) != NULL)) {
			*error_r = "bad address";
			goto fail;
		}
		if (t->kind == MECH_IP4)
			t->cidr4 = prefix;
		else
			t->cidr6 = prefix;
		return 1;
	}
	default:
		break;
	}
	*error_r = "bad term";
fail:
	term_free(t);
	return -1;
}

int spf_record_parse(const char *text, size_t len, struct spf_record **rec_r,
		     const char **error_r)
{
	struct spf_record *rec;
	size_t i;

	*rec_r = NULL;
	if (len > SPF_MAX_RECORD) {
		*error_r = "record too long";
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		*error_r = "NUL in record";
		return -1;
	}
	if (!spf_record_is_spf1(text, len)) {
		*error_r = "not an SPF version 1 record";
		return -1;
	}
	rec = xcalloc(1, sizeof(*rec));
	i = 6;
	while (i < len) {
		size_t start, tlen;
		struct spf_term t;
		int r;

		while (i < len && text[i] == ' ')
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && text[i] != ' ')
			i++;
		tlen = i - start;
		if (rec->count >= SPF_MAX_TERMS) {
			*error_r = "too many terms";
			goto fail;
		}
		r = parse_term(text + start, tlen, &t, error_r);
		if (r < 0)
			goto fail;
		if (r == 0)
			continue;
		rec->terms = xreallocarray(rec->terms, rec->count + 1,
					   sizeof(*rec->terms));
		rec->terms[rec->count++] = t;
	}
	for (i = 0; i < rec->count; i++) {
		const struct spf_term *t = &rec->terms[i];
		const struct spf_term **slot =
			t->kind == MOD_REDIRECT ? &rec->redirect :
			t->kind == MOD_EXP	? &rec->exp :
						  NULL;

		if (slot == NULL)
			continue;
		if (*slot != NULL) {
			*error_r = "duplicate redirect or exp modifier";
			goto fail;
		}
		*slot = t;
	}
	*rec_r = rec;
	return 0;
fail:
	spf_record_free(&rec);
	return -1;
}

/* ---- macros ---- */

static void append_ip(struct str *out, const struct spf_ip *ip, bool dotted)
{
	char buf[INET6_ADDRSTRLEN];

	if (ip->family == AF_INET || !dotted) {
		if (inet_ntop(ip->family, ip->b, buf, sizeof(buf)) != NULL)
			str_append(out, buf);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		if (i > 0)
			str_append_c(out, '.');
		str_append_c(out, hex[ip->b[i] >> 4]);
		str_append_c(out, '.');
		str_append_c(out, hex[ip->b[i] & 15]);
	}
}

/* Transforms value (section 7.3): split on delims, reverse, keep the
 * rightmost digits parts, join with '.'; url: escape (uppercase
 * macro). */
static int transform(struct str *out, const char *value, size_t digits,
		     bool reverse, const char *delims, bool url)
{
	char **parts = NULL;
	size_t n = 0, first;
	const char *p = value;
	struct str joined;

	for (;;) {
		size_t l = strcspn(p, delims);

		if (n >= 256) {
			for (size_t i = 0; i < n; i++)
				free(parts[i]);
			free(parts);
			return -1;
		}
		parts = xreallocarray(parts, n + 1, sizeof(*parts));
		parts[n++] = xstrndup(p, l);
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	if (reverse) {
		for (size_t i = 0; i < n / 2; i++) {
			char *tmp = parts[i];
			parts[i] = parts[n - 1 - i];
			parts[n - 1 - i] = tmp;
		}
	}
	first = digits > 0 && digits < n ? n - digits : 0;
	str_init(&joined, 64);
	for (size_t i = first; i < n; i++) {
		if (i > first)
			str_append_c(&joined, '.');
		str_append(&joined, parts[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
	if (!url) {
		str_append_n(out, joined.data, joined.len);
	} else {
		for (size_t i = 0; i < joined.len; i++) {
			unsigned char c = (unsigned char)joined.data[i];

			if (isalnum(c) || strchr("-._~", c) != NULL)
				str_append_c(out, (char)c);
			else
				str_printfa(out, "%%%02X", c);
		}
	}
	str_free(&joined);
	return 0;
}

int spf_macro_expand(const struct spf_macro_env *env, const char *spec,
		     size_t len, bool exp, bool domain, struct str *out,
		     const char **error_r)
{
	struct spf_ip ip;
	bool have_ip = env->ip != NULL &&
		       ip_parse(env->ip, strlen(env->ip), &ip);
	size_t start = out->len;

	if (have_ip)
		ip_unmap(&ip);
	for (size_t i = 0; i < len;) {
		char c = spec[i];

		if (out->len - start > SPF_MAX_EXPANSION) {
			*error_r = "macro expansion too long";
			return -1;
		}
		if (c != '%') {
			if (!exp && ((unsigned char)c < 0x21 ||
				     (unsigned char)c > 0x7e)) {
				*error_r = "bad character in domain-spec";
				return -1;
			}
			str_append_c(out, c);
			i++;
			continue;
		}
		if (i + 1 >= len) {
			*error_r = "'%' at the end";
			return -1;
		}
		c = spec[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			str_append(out, c == '%' ? "%" : c == '_' ? " " : "%20");
			i += 2;
			continue;
		}
		if (c != '{' || i + 2 >= len) {
			*error_r = "bad macro";
			return -1;
		}
		i += 2;
		char letter = spec[i++];
		char lower = (char)tolower((unsigned char)letter);
		size_t digits = 0;
		bool reverse = false;
		char delims[8];
		size_t nd = 0;
		bool had_digits = false;

		while (i < len && isdigit((unsigned char)spec[i])) {
			digits = digits * 10 + (size_t)(spec[i++] - '0');
			had_digits = true;
			if (digits > 1000)
				digits = 1000;
		}
		if (had_digits && digits == 0) {
			*error_r = "macro with 0 parts";
			return -1;
		}
		if (i < len && (spec[i] == 'r' || spec[i] == 'R')) {
			reverse = true;
			i++;
		}
		while (i < len && spec[i] != '}' &&
		       strchr(".-+,/_=", spec[i]) != NULL) {
			if (nd < sizeof(delims) - 1 &&
			    memchr(delims, spec[i], nd) == NULL)
				delims[nd++] = spec[i];
			i++;
		}
		if (i >= len || spec[i] != '}') {
			*error_r = "bad macro";
			return -1;
		}
		i++;
		if (nd == 0)
			delims[nd++] = '.';
		delims[nd] = '\0';

		struct str value;
		const char *at = env->sender != NULL ? strrchr(env->sender, '@')
						     : NULL;
		str_init(&value, 64);
		switch (lower) {
		case 's':
			str_append(&value, env->sender != NULL ? env->sender
							       : "");
			break;
		case 'l':
			if (at != NULL && at != env->sender)
				str_append_n(&value, env->sender,
					     (size_t)(at - env->sender));
			else
				str_append(&value, "postmaster");
			break;
		case 'o':
			str_append(&value, at != NULL ? at + 1 :
					   env->sender != NULL ? env->sender :
								 "");
			break;
		case 'd':
			str_append(&value, env->domain != NULL ? env->domain
							       : "");
			break;
		case 'i':
			if (have_ip)
				append_ip(&value, &ip, true);
			break;
		case 'p':
			str_append(&value, env->validated != NULL ?
						   env->validated :
						   "unknown");
			break;
		case 'v':
			str_append(&value, have_ip && ip.family == AF_INET6 ?
						   "ip6" :
						   "in-addr");
			break;
		case 'h':
			str_append(&value, env->helo != NULL ? env->helo : "");
			break;
		case 'c':
		case 'r':
		case 't':
			if (!exp) {
				str_free(&value);
				*error_r = "c, r and t are for exp only";
				return -1;
			}
			if (lower == 'c' && have_ip)
				append_ip(&value, &ip, false);
			else if (lower == 'r')
				str_append(&value, env->receiver != NULL ?
							   env->receiver :
							   "unknown");
			else if (lower == 't')
				str_printfa(&value, "%llu", env->now);
			break;
		default:
			str_free(&value);
			*error_r = "unknown macro letter";
			return -1;
		}
		int r = transform(out, str_c(&value), digits, reverse, delims,
				  isupper((unsigned char)letter) != 0);
		str_free(&value);
		if (r < 0) {
			*error_r = "macro value has too many parts";
			return -1;
		}
	}
	if (out->len - start > SPF_MAX_EXPANSION) {
		*error_r = "macro expansion too long";
		return -1;
	}
	if (domain) {
		/* 253 bytes at most: drop labels on the left */
		const char *d = out->data + start;
		size_t dlen = out->len - start;

		while (dlen > 253) {
			const char *dot = memchr(d, '.', dlen);

			if (dot == NULL) {
				*error_r = "domain too long";
				return -1;
			}
			dlen -= (size_t)(dot + 1 - d);
			d = dot + 1;
		}
		if (d != out->data + start) {
			memmove(out->data + start, d, dlen);
			str_truncate(out, start + dlen);
		}
	}
	return 0;
}

/* ---- check_host() ---- */

struct spf_eval {
	const struct spf_request *req;
	struct spf_response *resp;
	struct spf_ip ip;
	unsigned int lookups;	/* mechanisms that asked DNS */
	unsigned int voids;	/* lookups that found nothing */
	unsigned int depth;
	char *validated;	/* %{p}, computed on demand */
	bool validated_done;
};

static enum dns_status lookup(struct spf_eval *ev, const char *name,
			      enum dns_type type, struct dns_result *res)
{
	const struct spf_request *req = ev->req;

	if (req->lookup != NULL)
		return req->lookup(req->lookup_context, name, type, res);
	return dns_lookup(req->dns, name, type, res);
}

/* A valid domain for a query: labels of 1..63 bytes, 253 in all, at
 * least two labels (RFC 7208 4.3). */
static bool domain_valid(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 1;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			labels++;
		} else if (c <= 0x20 || c >= 0x7f || ++label > 63) {
			return false;
		}
	}
	return label > 0 && labels >= 2;
}

static enum spf_result check_host(struct spf_eval *ev, const char *domain,
				  bool top);

/* Counts a DNS mechanism; false (permerror) past the limit. */
static bool count_lookup(struct spf_eval *ev)
{
	if (++ev->lookups > SPF_MAX_DNS_MECHANISMS) {
		ev->resp->error = "more than 10 DNS lookups";
		return false;
	}
	return true;
}

/* Counts a lookup that found nothing; false past the limit. */
static bool count_void(struct spf_eval *ev, enum dns_status st)
{
	if (st != DNS_NXDOMAIN && st != DNS_NODATA)
		return true;
	if (++ev->voids > SPF_MAX_VOID_LOOKUPS) {
		ev->resp->error = "more than 2 void lookups";
		return false;
	}
	return true;
}

static int expand_domain(struct spf_eval *ev, const char *spec,
			 const char *domain, struct str *out);

/* Match results. */
#define M_NO 0
#define M_YES 1
#define M_TEMP (-1)
#define M_PERM (-2)

/* Whether host's A or AAAA records (the client's family) hold the
 * client's address within the prefix. */
static int match_host(struct spf_eval *ev, const char *host, int c4, int c6,
		      bool count_voids)
{
	enum dns_type type = ev->ip.family == AF_INET ? DNS_TYPE_A
						       : DNS_TYPE_AAAA;
	int prefix = ev->ip.family == AF_INET ? c4 : c6;
	struct dns_result res;
	enum dns_status st = lookup(ev, host, type, &res);
	int m = M_NO;

	if (st == DNS_TEMPFAIL) {
		m = M_TEMP;
	} else if (count_voids && !count_void(ev, st)) {
		m = M_PERM;
	} else {
		for (size_t i = 0; st == DNS_OK && i < res.count; i++) {
			struct spf_ip a;

			if (rr_ip(&res.rrs[i], &a) &&
			    ip_in_net(&ev->ip, &a, prefix)) {
				m = M_YES;
				break;
			}
		}
	}
	dns_result_free(&res);
	return m;
}

/* The client's validated names (section 5.5): PTR names whose A/AAAA
 * hold the address, at most 10 looked at.  Calls want(name) for each
 * until it returns true; returns M_YES, M_NO or M_TEMP. */
static int validated_names(struct spf_eval *ev,
			   bool (*want)(const char *name, const void *ctx),
			   const void *ctx, char **first_r)
{
	char text[INET6_ADDRSTRLEN];
	char *rname = NULL;
	struct dns_result res;
	enum dns_status st;
	int m = M_NO;

	if (inet_ntop(ev->ip.family, ev->ip.b, text, sizeof(text)) == NULL ||
	    dns_reverse_name(text, &rname) < 0)
		return M_NO;
	st = lookup(ev, rname, DNS_TYPE_PTR, &res);
	free(rname);
	if (st == DNS_TEMPFAIL) {
		dns_result_free(&res);
		return M_TEMP;
	}
	for (size_t i = 0; st == DNS_OK && i < res.count && i < 10; i++) {
		const char *name = res.rrs[i].name;

		if (res.rrs[i].type != DNS_TYPE_PTR || name == NULL ||
		    !want(name, ctx))
			continue;
		if (match_host(ev, name, 32, 128, false) == M_YES) {
			if (first_r != NULL)
				*first_r = xstrdup(name);
			m = M_YES;
			break;
		}
	}
	dns_result_free(&res);
	return m;
}

static bool name_within(const char *name, const void *ctx)
{
	const char *domain = ctx;
	size_t n = strlen(name), d = strlen(domain);

	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (n == d)
		return strncasecmp(name, domain, d) == 0;
	return n > d && name[n - d - 1] == '.' &&
	       strncasecmp(name + n - d, domain, d) == 0;
}

static bool name_any(const char *name, const void *ctx)
{
	(void)name;
	(void)ctx;
	return true;
}

static int match_mx(struct spf_eval *ev, const char *target, int c4, int c6)
{
	struct dns_result res;
	enum dns_status st = lookup(ev, target, DNS_TYPE_MX, &res);
	int m = M_NO;

	if (st == DNS_TEMPFAIL) {
		dns_result_free(&res);
		return M_TEMP;
	}
	if (!count_void(ev, st)) {
		dns_result_free(&res);
		return M_PERM;
	}
	if (st == DNS_OK && res.count > 10) {
		ev->resp->error = "more than 10 MX hosts";
		dns_result_free(&res);
		return M_PERM;
	}
	for (size_t i = 0; st == DNS_OK && i < res.count; i++) {
		if (res.rrs[i].name == NULL || *res.rrs[i].name == '\0')
			continue;
		int r = match_host(ev, res.rrs[i].name, c4, c6, false);

		if (r == M_YES) {
			m = M_YES;
			break;
		}
		if (r == M_TEMP)
			m = M_TEMP;
	}
	dns_result_free(&res);
	return m;
}

static int match_term(struct spf_eval *ev, const struct spf_term *t,
		      const char *domain)
{
	struct str target;
	int m = M_NO;

	if (t->kind == MECH_ALL)
		return M_YES;
	if (t->kind == MECH_IP4 || t->kind == MECH_IP6)
		return ip_in_net(&ev->ip, &t->net,
				 t->kind == MECH_IP4 ? t->cidr4 : t->cidr6)
			       ? M_YES
			       : M_NO;
	if (!count_lookup(ev))
		return M_PERM;
	str_init(&target, 128);
	if (t->spec != NULL) {
		if (expand_domain(ev, t->spec, domain, &target) < 0) {
			str_free(&target);
			return M_PERM;
		}
	} else {
		str_append(&target, domain);
	}
	switch (t->kind) {
	case MECH_INCLUDE: {
		enum spf_result r = check_host(ev, str_c(&target), false);

		if (r == SPF_RESULT_PASS)
			m = M_YES;
		else if (r == SPF_RESULT_TEMPERROR)
			m = M_TEMP;
		else if (r == SPF_RESULT_PERMERROR || r == SPF_RESULT_NONE) {
			if (ev->resp->error == NULL)
				ev->resp->error = "include of a domain "
						  "without SPF";
			m = M_PERM;
		}
		break;
	}
	case MECH_A:
		m = match_host(ev, str_c(&target), t->cidr4, t->cidr6, true);
		break;
	case MECH_MX:
		m = match_mx(ev, str_c(&target), t->cidr4, t->cidr6);
		break;
	case MECH_PTR:
		m = validated_names(ev, name_within, str_c(&target), NULL);
		if (m == M_TEMP)
			m = M_NO;	/* 5.5: a failure is no match */
		break;
	case MECH_EXISTS: {
		struct dns_result res;
		enum dns_status st =
			lookup(ev, str_c(&target), DNS_TYPE_A, &res);

		if (st == DNS_TEMPFAIL)
			m = M_TEMP;
		else if (!count_void(ev, st))
			m = M_PERM;
		else
			m = st == DNS_OK ? M_YES : M_NO;
		dns_result_free(&res);
		break;
	}
	default:
		break;
	}
	str_free(&target);
	return m;
}

static void macro_env(struct spf_eval *ev, const char *domain,
		      struct spf_macro_env *env)
{
	memset(env, 0, sizeof(*env));
	env->sender = ev->req->sender;
	env->domain = domain;
	env->ip = ev->req->ip;
	env->helo = ev->req->helo;
	env->receiver = ev->req->receiver;
	env->now = (unsigned long long)time(NULL);
	env->validated = ev->validated;
}

/* %{p}: only computed when a macro uses it */
static void need_validated(struct spf_eval *ev, const char *spec)
{
	char *first = NULL;

	if (ev->validated_done || (strstr(spec, "%{p") == NULL &&
				   strstr(spec, "%{P") == NULL))
		return;
	ev->validated_done = true;
	if (validated_names(ev, name_any, NULL, &first) == M_YES)
		ev->validated = first;
}

static int expand_domain(struct spf_eval *ev, const char *spec,
			 const char *domain, struct str *out)
{
	struct spf_macro_env env;
	const char *error;

	need_validated(ev, spec);
	macro_env(ev, domain, &env);
	if (spf_macro_expand(&env, spec, strlen(spec), false, true, out,
			     &error) < 0) {
		ev->resp->error = error;
		return -1;
	}
	return 0;
}

/* The explanation of a fail (section 6.2); errors leave none. */
static void explain(struct spf_eval *ev, const struct spf_record *rec,
		    const char *domain)
{
	struct str target, text;
	struct dns_result res;
	struct spf_macro_env env;
	const char *error;
	const char *saved = ev->resp->error;

	if (rec->exp == NULL)
		return;
	str_init(&target, 128);
	if (expand_domain(ev, rec->exp->spec, domain, &target) < 0) {
		ev->resp->error = saved;
		str_free(&target);
		return;
	}
	if (lookup(ev, str_c(&target), DNS_TYPE_TXT, &res) == DNS_OK &&
	    res.count == 1 && res.rrs[0].text != NULL &&
	    memchr(res.rrs[0].text, '\0', res.rrs[0].text_len) == NULL) {
		need_validated(ev, res.rrs[0].text);
		macro_env(ev, domain, &env);
		str_init(&text, 128);
		if (spf_macro_expand(&env, res.rrs[0].text,
				     res.rrs[0].text_len, true, false, &text,
				     &error) == 0) {
			/* printable ASCII only */
			for (size_t i = 0; i < text.len; i++) {
				if ((unsigned char)text.data[i] < 0x20 ||
				    (unsigned char)text.data[i] > 0x7e)
					text.data[i] = '?';
			}
			free(ev->resp->explanation);
			ev->resp->explanation = str_steal(&text);
		}
		str_free(&text);
	}
	dns_result_free(&res);
	str_free(&target);
}

static enum spf_result qualifier_result(char q)
{
	switch (q) {
	case '-':
		return SPF_RESULT_FAIL;
	case '~':
		return SPF_RESULT_SOFTFAIL;
	case '?':
		return SPF_RESULT_NEUTRAL;
	default:
		return SPF_RESULT_PASS;
	}
}

static enum spf_result check_host(struct spf_eval *ev, const char *domain,
				  bool top)
{
	struct dns_result res;
	enum dns_status st;
	struct spf_record *rec = NULL;
	const char *text = NULL;
	size_t text_len = 0, found = 0;
	const char *error;
	enum spf_result result = SPF_RESULT_NEUTRAL;

	if (!domain_valid(domain))
		return SPF_RESULT_NONE;
	if (++ev->depth > SPF_MAX_DNS_MECHANISMS + 1) {
		ev->resp->error = "records nested too deep";
		return SPF_RESULT_PERMERROR;
	}
	st = lookup(ev, domain, DNS_TYPE_TXT, &res);
	if (st == DNS_TEMPFAIL) {
		dns_result_free(&res);
		ev->resp->error = "DNS failure";
		return SPF_RESULT_TEMPERROR;
	}
	for (size_t i = 0; st == DNS_OK && i < res.count; i++) {
		if (res.rrs[i].type == DNS_TYPE_TXT && res.rrs[i].text != NULL &&
		    spf_record_is_spf1(res.rrs[i].text, res.rrs[i].text_len)) {
			text = res.rrs[i].text;
			text_len = res.rrs[i].text_len;
			found++;
		}
	}
	if (found == 0) {
		dns_result_free(&res);
		return SPF_RESULT_NONE;
	}
	if (found > 1) {
		dns_result_free(&res);
		ev->resp->error = "more than one SPF record";
		return SPF_RESULT_PERMERROR;
	}
	if (spf_record_parse(text, text_len, &rec, &error) < 0) {
		dns_result_free(&res);
		ev->resp->error = error;
		return SPF_RESULT_PERMERROR;
	}
	dns_result_free(&res);
	for (size_t i = 0; i < rec->count; i++) {
		const struct spf_term *t = &rec->terms[i];
		int m;

		if (t->kind == MOD_REDIRECT || t->kind == MOD_EXP)
			continue;
		m = match_term(ev, t, domain);
		if (m == M_TEMP) {
			result = SPF_RESULT_TEMPERROR;
			if (ev->resp->error == NULL)
				ev->resp->error = "DNS failure";
			goto out;
		}
		if (m == M_PERM) {
			result = SPF_RESULT_PERMERROR;
			goto out;
		}
		if (m == M_YES) {
			result = qualifier_result(t->qualifier);
			if (top) {
				free(ev->resp->mechanism);
				ev->resp->mechanism = xstrdup(t->text);
				if (result == SPF_RESULT_FAIL)
					explain(ev, rec, domain);
			}
			goto out;
		}
	}
	if (rec->redirect != NULL) {
		struct str target;

		if (!count_lookup(ev)) {
			result = SPF_RESULT_PERMERROR;
			goto out;
		}
		str_init(&target, 128);
		if (expand_domain(ev, rec->redirect->spec, domain, &target) <
		    0) {
			result = SPF_RESULT_PERMERROR;
		} else {
			result = check_host(ev, str_c(&target), top);
			if (result == SPF_RESULT_NONE) {
				ev->resp->error = "redirect to a domain "
						  "without SPF";
				result = SPF_RESULT_PERMERROR;
			}
		}
		str_free(&target);
		goto out;
	}
	if (top) {
		free(ev->resp->mechanism);
		ev->resp->mechanism = xstrdup("default");
	}
out:
	spf_record_free(&rec);
	return result;
}

enum spf_result spf_check(const struct spf_request *req,
			  struct spf_response *resp)
{
	struct spf_eval ev;

	memset(resp, 0, sizeof(*resp));
	memset(&ev, 0, sizeof(ev));
	ev.req = req;
	ev.resp = resp;
	if (req->ip == NULL || !ip_parse(req->ip, strlen(req->ip), &ev.ip)) {
		resp->error = "not an IP address";
		resp->result = SPF_RESULT_PERMERROR;
		return resp->result;
	}
	ip_unmap(&ev.ip);
	if (req->domain == NULL) {
		resp->result = SPF_RESULT_NONE;
		return resp->result;
	}
	resp->result = check_host(&ev, req->domain, true);
	resp->dns_mechanisms = ev.lookups;
	if (resp->result != SPF_RESULT_TEMPERROR &&
	    resp->result != SPF_RESULT_PERMERROR)
		resp->error = NULL;
	if (resp->result != SPF_RESULT_PASS &&
	    resp->result != SPF_RESULT_FAIL &&
	    resp->result != SPF_RESULT_SOFTFAIL &&
	    resp->result != SPF_RESULT_NEUTRAL) {
		free(resp->mechanism);
		resp->mechanism = NULL;
	}
	free(ev.validated);
	return resp->result;
}

void spf_response_free(struct spf_response *resp)
{
	free(resp->mechanism);
	free(resp->explanation);
	resp->mechanism = NULL;
	resp->explanation = NULL;
}

/* A value of a Received-SPF key-value pair: a dot-atom, else a quoted
 * string (printable ASCII, '"' and '\' escaped). */
static void kv_value(struct str *out, const char *v)
{
	bool atom = *v != '\0';

	for (const char *p = v; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) &&
		    strchr("!#$%&'*+-/=?^_`{|}~.:@", *p) == NULL)
			atom = false;
	}
	if (atom) {
		str_append(out, v);
		return;
	}
	str_append_c(out, '"');
	for (const char *p = v; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c > 0x7e)
			c = '?';
		if (c == '"' || c == '\\')
			str_append_c(out, '\\');
		str_append_c(out, (char)c);
	}
	str_append_c(out, '"');
}

/* Comment text: printable, no parentheses or backslashes. */
static void comment_text(struct str *out, const char *v)
{
	for (const char *p = v; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c > 0x7e || c == '(' || c == ')' || c == '\\')
			c = '?';
		str_append_c(out, (char)c);
	}
}

void spf_received_header(struct str *out, const struct spf_request *req,
			 const struct spf_response *resp,
			 const char *identity)
{
	const char *me = req->receiver != NULL ? req->receiver : "localhost";
	const char *who = req->sender != NULL ? req->sender : "";
	const char *ip = req->ip != NULL ? req->ip : "";

	str_printfa(out, "Received-SPF: %s (", spf_result_name(resp->result));
	comment_text(out, me);
	str_append(out, ": ");
	switch (resp->result) {
	case SPF_RESULT_PASS:
		str_append(out, "domain of ");
		comment_text(out, who);
		str_append(out, " designates ");
		comment_text(out, ip);
		str_append(out, " as permitted sender");
		break;
	case SPF_RESULT_FAIL:
	case SPF_RESULT_SOFTFAIL:
		str_append(out, "domain of ");
		comment_text(out, who);
		str_append(out, " does not designate ");
		comment_text(out, ip);
		str_append(out, " as permitted sender");
		break;
	case SPF_RESULT_NEUTRAL:
		comment_text(out, ip);
		str_append(out, " is neither permitted nor denied by domain "
				"of ");
		comment_text(out, who);
		break;
	case SPF_RESULT_NONE:
		str_append(out, "domain of ");
		comment_text(out, who);
		str_append(out, " does not publish SPF");
		break;
	default:
		str_append(out, "error in processing: ");
		comment_text(out, resp->error != NULL ? resp->error : "error");
		break;
	}
	str_append(out, ")\r\n\tclient-ip=");
	kv_value(out, ip);
	str_append(out, "; envelope-from=");
	kv_value(out, who);
	str_append(out, "; helo=");
	kv_value(out, req->helo != NULL ? req->helo : "");
	str_append(out, ";\r\n\treceiver=");
	kv_value(out, me);
	if (resp->mechanism != NULL) {
		str_append(out, "; mechanism=");
		kv_value(out, resp->mechanism);
	}
	str_append(out, "; identity=");
	str_append(out, identity);
	str_append(out, ";\r\n");
}
