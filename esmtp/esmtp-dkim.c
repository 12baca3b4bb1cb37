/* esmtp-dkim.c: DKIM in esmtpd: inbound messages are verified and get one
 * Authentication-Results: field (RFC 8601) with the SPF and DKIM results;
 * messages of authenticated users whose From: domain has a key in
 * etc/dkim are signed (lib/dkim-verify.h, lib/dkim-sign.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-file.h"
#include "dkim-msg.h"
#include "dkim-sign.h"
#include "dkim-verify.h"
#include "esmtp-private.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "pubkey.h"
#include "rfc822-addr.h"
#include "str.h"
#include "submit.h"

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
		vs.dns = s->server->dns;
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

static void sign_finish(struct esmtp_session *s)
{
	char *domain = from_domain(dkim_sign_msg(s->dkim_sign));
	char *selector = NULL, *name = NULL, *path = NULL;
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
	dkim_sign_set_key(s->dkim_sign, domain, selector, key);
	str_init(&field, 1024);
	if (dkim_sign_finish(s->dkim_sign, &field, &error) < 0)
		log_warning("esmtpd: %s: not DKIM-signed: %s", s->remote_ip,
			    error);
	else if (submit_add_header_top(s->submit, str_c(&field)) < 0)
		log_warning("esmtpd: %s: DKIM-Signature refused by submit",
			    s->remote_ip);
	else
		log_info("esmtpd: %s: DKIM-signed d=%s s=%s (%s)",
			 s->remote_ip, domain, selector,
			 pubkey_type_name(pubkey_private_get_type(key)));
	str_free(&field);
out:
	pubkey_private_destroy(&key);
	free(domain);
	free(selector);
	free(name);
	free(path);
}

static void verify_finish(struct esmtp_session *s)
{
	struct str ar;

	dkim_verify_finish(s->dkim_verify);
	for (size_t i = 0; i < dkim_verify_count(s->dkim_verify); i++) {
		const struct dkim_verify_sig *v =
			dkim_verify_get(s->dkim_verify, i);

		log_info("esmtpd: %s: DKIM d=%s s=%s: %s%s%s", s->remote_ip,
			 v->domain != NULL ? v->domain : "?",
			 v->selector != NULL ? v->selector : "?",
			 dkim_result_name(v->result),
			 v->reason != NULL ? ": " : "",
			 v->reason != NULL ? v->reason : "");
	}
	str_init(&ar, 512);
	str_printfa(&ar, "Authentication-Results: %s;\r\n\t", s->server->me);
	if (s->spf_ar != NULL)
		str_printfa(&ar, "%s;\r\n\t", s->spf_ar);
	dkim_verify_ar_append(s->dkim_verify, &ar);
	if (submit_add_header_top(s->submit, str_c(&ar)) < 0)
		log_warning("esmtpd: %s: Authentication-Results: refused by "
			    "submit", s->remote_ip);
	str_free(&ar);
}

void esmtp_dkim_finish(struct esmtp_session *s)
{
	if (s->submit == NULL)
		return;
	if (s->dkim_sign != NULL)
		sign_finish(s);
	else if (s->dkim_verify != NULL)
		verify_finish(s);
	esmtp_dkim_reset(s);
}
