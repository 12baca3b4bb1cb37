/* esmtp-dkim.c: DKIM in esmtpd: inbound messages are verified and get one
 * Authentication-Results: field (RFC 8601) with the SPF and DKIM results;
 * messages of authenticated users whose From: domain has a key in
 * etc/dkim are signed (lib/dkim-verify.h, lib/dkim-sign.h). */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-file.h"
#include "dkim-msg.h"
#include "dkim-sign.h"
#include "dkim-verify.h"
#include "dns.h"
#include "esmtp-private.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "pubkey.h"
#include "rfc822-addr.h"
#include "str.h"
#include "submit.h"

/* Where the key lookups go: the server's resolver while the message is
 * read in the loop, or one of the worker job's own (a resolver is not
 * shared between threads). */
struct esmtp_dkim_keys {
	struct dns_resolver *dns;
	bool owned;
};

static enum dns_status keys_lookup(void *context, const char *name,
				   struct dns_result *res)
{
	struct esmtp_dkim_keys *k = context;

	return dns_lookup(k->dns, name, DNS_TYPE_TXT, res);
}

static void keys_free(struct esmtp_dkim_keys **kp)
{
	struct esmtp_dkim_keys *k = *kp;

	if (k == NULL)
		return;
	if (k->owned)
		dns_resolver_destroy(&k->dns);
	free(k);
	*kp = NULL;
}

/* What DKIM does at the end of a message, apart from the session. */
struct esmtp_dkim_job {
	struct dkim_verify *verify;
	struct dkim_sign *sign;
	struct esmtp_dkim_keys *keys;
	char *me;
	char *spf_ar;
	char remote_ip[LISTEN_IP_STRLEN];
	char *field;	/* the result */
};

void esmtp_dkim_begin(struct esmtp_session *s)
{
	const struct esmtp_settings *set = s->server->set;

	esmtp_dkim_reset(s);
	if (s->server->local_caller)
		return;
	if (s->auth_user != NULL) {
		struct dkim_sign_settings ss;

		if (!set->dkim_sign)
			return;
		memset(&ss, 0, sizeof(ss));
		s->dkim_sign = dkim_sign_create(&ss);
	} else if (set->dkim_verify && s->server->dns != NULL) {
		struct dkim_verify_settings vs;

		memset(&vs, 0, sizeof(vs));
		s->dkim_keys = xcalloc(1, sizeof(*s->dkim_keys));
		s->dkim_keys->dns = s->server->dns;
		vs.lookup = keys_lookup;
		vs.lookup_context = s->dkim_keys;
		s->dkim_verify = dkim_verify_create(&vs);
	}
}

void esmtp_dkim_feed(struct esmtp_session *s, const void *data, size_t len)
{
	if (s->dkim_verify != NULL)
		dkim_verify_feed(s->dkim_verify, data, len);
	if (s->dkim_sign != NULL)
		dkim_sign_feed(s->dkim_sign, data, len);
}

void esmtp_dkim_reset(struct esmtp_session *s)
{
	dkim_verify_destroy(&s->dkim_verify);
	dkim_sign_destroy(&s->dkim_sign);
	keys_free(&s->dkim_keys);
}

/* The domain of the (last) From: address, lowercased, or NULL. */
static char *from_domain(const struct dkim_msg *m)
{
	long i = dkim_msg_find_last(m, "from", SIZE_MAX);
	const struct dkim_msg_field *f;
	struct rfc822_addr_parser *p;
	struct rfc822_addr_list *list = NULL;
	char *domain = NULL;

	if (i < 0)
		return NULL;
	f = dkim_msg_field(m, (size_t)i);
	p = rfc822_addr_parser_create(NULL);
	(void)rfc822_addr_parse(p, f->value, f->value_len, &list, NULL);
	for (size_t k = 0; list != NULL && k < list->count; k++) {
		const struct rfc822_addr *a = &list->addrs[k];

		if (a->type == RFC822_ADDR_MAILBOX && !a->invalid &&
		    a->domain != NULL && *a->domain != '\0') {
			domain = str_lcase(xstrdup(a->domain));
			break;
		}
	}
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&p);
	return domain;
}

/* A name safe in a file name and a DNS label list. */
static bool name_ok(const char *s)
{
	if (*s == '\0' || *s == '.' || strlen(s) > 253)
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		      *s == '_'))
			return false;
	}
	return true;
}

char *esmtp_dkim_selector(const char *domain)
{
	struct config_lines *lines = NULL;
	char *path = instance_etc_path("dkim/selectors");
	char *selector = NULL;

	if (config_lines_read(path, NULL, &lines, NULL) > 0) {
		for (size_t i = 0; i < config_lines_count(lines) &&
				   selector == NULL; i++) {
			char **w = str_split(config_lines_get(lines, i)->text,
					     " \t");
			size_t n = 0;

			while (w[n] != NULL)
				n++;
			if (n == 2 && strcasecmp(w[0], domain) == 0 &&
			    name_ok(w[1]))
				selector = xstrdup(w[1]);
			str_split_free(&w);
		}
	}
	config_lines_free(&lines);
	free(path);
	return selector;
}

/* Signs: the DKIM-Signature: field, or NULL (not one of our domains, no
 * key, an error: logged). */
static char *sign_finish(struct esmtp_dkim_job *d)
{
	char *domain = from_domain(dkim_sign_msg(d->sign));
	char *selector = NULL, *name = NULL, *path = NULL, *result = NULL;
	struct pubkey_private *key = NULL;
	const char *error;
	struct str field;

	if (domain == NULL || !name_ok(domain) ||
	    (selector = esmtp_dkim_selector(domain)) == NULL)
		goto out;	/* not one of ours: not signed */
	name = xasprintf("dkim/%s.%s.key", domain, selector);
	path = instance_etc_path(name);
	if (pubkey_private_read_file(path, &key, &error) < 0) {
		log_error("esmtpd: DKIM key %s: %s", path, error);
		goto out;
	}
	dkim_sign_set_key(d->sign, domain, selector, key);
	str_init(&field, 1024);
	if (dkim_sign_finish(d->sign, &field, &error) < 0) {
		log_warning("esmtpd: %s: not DKIM-signed: %s", d->remote_ip,
			    error);
		str_free(&field);
	} else {
		log_info("esmtpd: %s: DKIM-signed d=%s s=%s (%s)",
			 d->remote_ip, domain, selector,
			 pubkey_type_name(pubkey_private_get_type(key)));
		result = str_steal(&field);
	}
out:
	pubkey_private_destroy(&key);
	free(domain);
	free(selector);
	free(name);
	free(path);
	return result;
}

/* Verifies: the Authentication-Results: field. */
static char *verify_finish(struct esmtp_dkim_job *d)
{
	struct str ar;

	dkim_verify_finish(d->verify);
	for (size_t i = 0; i < dkim_verify_count(d->verify); i++) {
		const struct dkim_verify_sig *v = dkim_verify_get(d->verify, i);

		log_info("esmtpd: %s: DKIM d=%s s=%s: %s%s%s", d->remote_ip,
			 v->domain != NULL ? v->domain : "?",
			 v->selector != NULL ? v->selector : "?",
			 dkim_result_name(v->result),
			 v->reason != NULL ? ": " : "",
			 v->reason != NULL ? v->reason : "");
	}
	str_init(&ar, 512);
	str_printfa(&ar, "Authentication-Results: %s;\r\n\t", d->me);
	if (d->spf_ar != NULL)
		str_printfa(&ar, "%s;\r\n\t", d->spf_ar);
	dkim_verify_ar_append(d->verify, &ar);
	return str_steal(&ar);
}

struct esmtp_dkim_job *esmtp_dkim_detach(struct esmtp_session *s,
					 bool own_dns)
{
	struct esmtp_dkim_job *d;

	if (s->dkim_sign == NULL && s->dkim_verify == NULL) {
		esmtp_dkim_reset(s);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->verify = s->dkim_verify;
	d->sign = s->dkim_sign;
	d->keys = s->dkim_keys;
	s->dkim_verify = NULL;
	s->dkim_sign = NULL;
	s->dkim_keys = NULL;
	if (own_dns && d->keys != NULL) {
		d->keys->dns = dns_resolver_create_config();
		d->keys->owned = true;
	}
	d->me = xstrdup(s->server->me);
	d->spf_ar = s->spf_ar != NULL ? xstrdup(s->spf_ar) : NULL;
	str_copy(d->remote_ip, s->remote_ip, sizeof(d->remote_ip));
	return d;
}

void esmtp_dkim_run(struct esmtp_dkim_job *d)
{
	if (d->sign != NULL)
		d->field = sign_finish(d);
	else if (d->verify != NULL)
		d->field = verify_finish(d);
}

void esmtp_dkim_apply(struct esmtp_dkim_job *d, struct submit *submit)
{
	if (d->field == NULL || submit == NULL)
		return;
	if (submit_add_header_top(submit, d->field) < 0)
		log_warning("esmtpd: %s: %s refused by submit", d->remote_ip,
			    d->sign != NULL ? "DKIM-Signature:" :
			    "Authentication-Results:");
}

void esmtp_dkim_job_free(struct esmtp_dkim_job **dp)
{
	struct esmtp_dkim_job *d = *dp;

	if (d == NULL)
		return;
	dkim_verify_destroy(&d->verify);
	dkim_sign_destroy(&d->sign);
	keys_free(&d->keys);
	free(d->me);
	free(d->spf_ar);
	free(d->field);
	free(d);
	*dp = NULL;
}

bool esmtp_dkim_slow(const struct esmtp_session *s)
{
	/* a message whose header had no DKIM-Signature: the field says
	 * dkim=none at once (one without a body is parsed at finish, and
	 * may still look a key up, seldom) */
	return s->dkim_sign != NULL ||
	       (s->dkim_verify != NULL &&
		dkim_verify_count(s->dkim_verify) > 0);
}

void esmtp_dkim_finish(struct esmtp_session *s)
{
	struct esmtp_dkim_job *d;

	if (s->submit == NULL) {
		esmtp_dkim_reset(s);
		return;
	}
	d = esmtp_dkim_detach(s, false);
	if (d == NULL)
		return;
	esmtp_dkim_run(d);
	esmtp_dkim_apply(d, s->submit);
	esmtp_dkim_job_free(&d);
}

/* ---- RFC 8601 5: our own authserv-id in incoming fields ---- */

static const char ar_name[] = "authentication-results";

/* Skips CFWS (RFC 5322 3.2.2: spaces, folding, nested comments) from
 * *i; returns false when the field ends inside a comment. */
static bool skip_cfws(const char *p, size_t len, size_t *i)
{
	unsigned int depth = 0;

	while (*i < len) {
		char c = p[*i];

		if (depth > 0 && c == '\\' && *i + 1 < len) {
			*i += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
			 c != '\n')
			return true;
		(*i)++;
	}
	return depth == 0;
}

bool esmtp_ar_field_is_ours(const char *field, size_t len,
			    const char *authserv_id)
{
	const char *colon = memchr(field, ':', len);
	size_t i, idlen = strlen(authserv_id);
	char id[256];
	size_t n = 0;

	if (colon == NULL || idlen == 0)
		return false;
	i = (size_t)(colon - field) + 1;
	if (!skip_cfws(field, len, &i) || i >= len)
		return false;
	if (field[i] == '"') {
		/* quoted-string: backslash quotes the next character */
		for (i++; i < len && field[i] != '"'; i++) {
			if (field[i] == '\\' && i + 1 < len)
				i++;
			if (field[i] == '\r' || field[i] == '\n')
				continue;	/* folding inside the quotes */
			if (n == sizeof(id))
				return false;
			id[n++] = field[i];
		}
		if (i >= len)
			return false;	/* unterminated */
	} else {
		for (; i < len; i++) {
			char c = field[i];

			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
			    c == ';' || c == '(')
				break;
			if (n == sizeof(id))
				return false;
			id[n++] = c;
		}
	}
	return n == idlen && strncasecmp(id, authserv_id, n) == 0;
}

void esmtp_ar_strip_init(struct esmtp_ar_strip *a, const char *authserv_id)
{
	esmtp_ar_strip_free(a);
	memset(a, 0, sizeof(*a));
	a->authserv_id = authserv_id;
	a->state = ESMTP_AR_LINE_START;
	a->prev = ESMTP_AR_PASS;
	str_init(&a->held, 256);
	a->held_init = true;
}

void esmtp_ar_strip_free(struct esmtp_ar_strip *a)
{
	if (a->held_init)
		str_free(&a->held);
	a->held_init = false;
}

/* The held field ended: passed on, or removed when it is ours. */
static void ar_resolve(struct esmtp_ar_strip *a, esmtp_ar_emit_t *emit,
		       void *context)
{
	if (esmtp_ar_field_is_ours(a->held.data, a->held.len,
				   a->authserv_id)) {
		a->removed++;
		log_info("esmtpd: removed an Authentication-Results: field "
			 "naming us (%s) from the incoming message",
			 a->authserv_id);
	} else {
		emit(a->held.data, a->held.len, context);
	}
	str_clear(&a->held);
}

/* Whether name[0..len) (the field name and what follows it so far) may
 * still be, or is (with its colon), "Authentication-Results:". */
static bool ar_name_possible(const char *name, size_t len)
{
	size_t k = 0;

	for (; k < len && k < sizeof(ar_name) - 1; k++) {
		if (tolower((unsigned char)name[k]) != ar_name[k])
			return false;
	}
	/* after the name: optional WSP (obsolete syntax), then ':' */
	for (; k < len; k++) {
		if (name[k] == ':')
			return k == len - 1;
		if (name[k] != ' ' && name[k] != '\t')
			return false;
	}
	return true;
}

/* Adds to the held field; past the limit the field is removed whole (it
 * cannot be ours legitimately, nor checked cheaply). */
static void ar_hold(struct esmtp_ar_strip *a, const char *p, size_t n)
{
	if (a->state != ESMTP_AR_HOLD)
		return;
	if (a->held.len + n > ESMTP_AR_MAX_FIELD) {
		log_info("esmtpd: removed an Authentication-Results: field "
			 "longer than %d bytes", ESMTP_AR_MAX_FIELD);
		a->removed++;
		str_clear(&a->held);
		a->state = ESMTP_AR_DROP;
		return;
	}
	str_append_n(&a->held, p, n);
}

void esmtp_ar_strip_feed(struct esmtp_ar_strip *a, const void *data,
			 size_t len, esmtp_ar_emit_t *emit, void *context)
{
	const char *p = data;
	size_t i = 0;

	while (i < len) {
		const char *nl;
		size_t n;

		switch (a->state) {
		case ESMTP_AR_BODY:
			emit(p + i, len - i, context);
			return;
		case ESMTP_AR_PASS:
		case ESMTP_AR_HOLD:
		case ESMTP_AR_DROP:
			/* the rest of the line, at once */
			nl = memchr(p + i, '\n', len - i);
			n = nl != NULL ? (size_t)(nl - (p + i)) + 1 : len - i;
			if (a->state == ESMTP_AR_PASS)
				emit(p + i, n, context);
			else
				ar_hold(a, p + i, n);
			i += n;
			if (nl != NULL) {
				a->prev = a->state;
				a->state = ESMTP_AR_LINE_START;
			}
			break;
		case ESMTP_AR_LINE_START:
			if (p[i] == ' ' || p[i] == '\t') {
				/* a folded line of the field before */
				a->state = a->prev;
				break;
			}
			if (a->prev == ESMTP_AR_HOLD)
				ar_resolve(a, emit, context);
			a->prev = ESMTP_AR_PASS;
			a->name_len = 0;
			a->state = ESMTP_AR_NAME;
			break;
		case ESMTP_AR_NAME: {
			char c = p[i++];

			a->name[a->name_len++] = c;
			if (c == '\n') {
				/* the empty line (or a line without a
				 * colon, passed as it is) */
				bool blank = a->name_len == 1 ||
					     (a->name_len == 2 &&
					      a->name[0] == '\r');

				emit(a->name, a->name_len, context);
				a->state = blank ? ESMTP_AR_BODY :
					   ESMTP_AR_LINE_START;
				a->prev = ESMTP_AR_PASS;
				break;
			}
			if (c == '\r' && a->name_len == 1)
				break;	/* maybe the empty line */
			if (!ar_name_possible(a->name, a->name_len) ||
			    a->name_len == sizeof(a->name)) {
				emit(a->name, a->name_len, context);
				a->state = ESMTP_AR_PASS;
			} else if (c == ':') {
				a->state = ESMTP_AR_HOLD;
				str_clear(&a->held);
				ar_hold(a, a->name, a->name_len);
			}
			break;
		}
		}
	}
}

void esmtp_ar_strip_finish(struct esmtp_ar_strip *a, esmtp_ar_emit_t *emit,
			   void *context)
{
	if (a->state == ESMTP_AR_HOLD ||
	    (a->state == ESMTP_AR_LINE_START && a->prev == ESMTP_AR_HOLD))
		ar_resolve(a, emit, context);
	else if (a->state == ESMTP_AR_NAME && a->name_len > 0)
		emit(a->name, a->name_len, context);
	a->state = ESMTP_AR_BODY;
}
