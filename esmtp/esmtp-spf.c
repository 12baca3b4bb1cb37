/* esmtp-spf.c: the SPF checks of the bofh file (BOFHSPFHELO,
 * BOFHSPFMAILFROM, BOFHSPFFROM, BOFHSPFHARDERROR, BOFHSPFTRUSTME,
 * BOFHSPFNOVERBOSE) over lib/spf.h, and the Received-SPF: lines they
 * add to the message. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esmtp-bofh.h"
#include "esmtp-dnscheck.h"
#include "esmtp-private.h"
#include "log.h"
#include "mem.h"
#include "spf.h"
#include "str.h"

/* Whether result is in the comma-separated keyword list (Courier's and
 * RFC 7208's names). */
static bool keyword_listed(const char *list, enum spf_result result)
{
	char **words = str_split(list, ",");
	bool found = false;

	for (size_t i = 0; words[i] != NULL && !found; i++) {
		enum spf_result r;
		char *w = str_trim(words[i]);

		if (spf_result_from_name(w, &r) == 0 && r == result)
			found = true;
	}
	str_split_free(&words);
	return found;
}

/* The keyword list of a check, or NULL when it is off. */
static const char *check_keywords(const struct esmtp_session *s,
				  const char *name)
{
	const struct esmtp_bofh *b = s->server->bofh;
	const char *v, *trust;

	if (b == NULL || s->server->dns == NULL || s->server->local_caller)
		return NULL;
	v = esmtp_bofh_opt(b, name);
	if (v == NULL || *v == '\0' || strcasecmp(v, "off") == 0)
		return NULL;
	trust = esmtp_bofh_opt(b, "BOFHSPFTRUSTME");
	if (trust != NULL && strcmp(trust, "1") == 0 && s->may_relay)
		return NULL;
	return v;
}

/* Runs one check.  Returns the result; *reply_r is the refusal (caller
 * frees) or NULL when the result is accepted.  The Received-SPF: line
 * is appended to s->spf_headers when add_header. */
static enum spf_result run_check(struct esmtp_session *s,
				 const char *keywords, const char *identity,
				 const char *what, const char *sender,
				 const char *domain, bool add_header,
				 char **reply_r)
{
	struct spf_request req;
	struct spf_response resp;
	const struct esmtp_bofh *b = s->server->bofh;
	const char *hard, *quiet;
	enum spf_result r;

	*reply_r = NULL;
	memset(&req, 0, sizeof(req));
	req.dns = s->server->dns;
	req.ip = s->remote_ip;
	req.sender = sender;
	req.domain = domain;
	req.helo = s->helo;
	req.receiver = s->server->me;
	r = spf_check(&req, &resp);
	log_info("esmtpd: %s: SPF %s %s: %s%s%s", s->remote_ip, identity,
		 sender, spf_result_name(r), resp.error != NULL ? ": " : "",
		 resp.error != NULL ? resp.error : "");
	if (add_header) {	/* helo and mailfrom: RFC 8601 ptype smtp */
		struct str ar;

		str_init(&ar, 128);
		if (s->spf_ar != NULL)
			str_printfa(&ar, "%s;\r\n\t", s->spf_ar);
		str_printfa(&ar, "spf=%s smtp.%s=", spf_result_name(r),
			    identity);
		for (const char *p = strcmp(identity, "helo") == 0 ?
				     s->helo : sender; *p != '\0'; p++) {
			if ((unsigned char)*p > ' ' &&
			    (unsigned char)*p < 0x7f && *p != ';' &&
			    *p != '(' && *p != ')' && *p != '"')
				str_append_c(&ar, *p);
		}
		free(s->spf_ar);
		s->spf_ar = str_steal(&ar);
	}
	if (add_header) {
		struct str h;

		str_init(&h, 256);
		if (s->spf_headers != NULL)
			str_append(&h, s->spf_headers);
		spf_received_header(&h, &req, &resp, identity);
		free(s->spf_headers);
		s->spf_headers = str_steal(&h);
	}
	if (!keyword_listed(keywords, r)) {
		const char *why;
		char *dflt = NULL;
		bool permanent;

		hard = esmtp_bofh_opt(b, "BOFHSPFHARDERROR");
		permanent = keyword_listed(hard != NULL ? hard : "fail,softfail",
					   r);
		quiet = esmtp_bofh_opt(b, "BOFHSPFNOVERBOSE");
		if (quiet != NULL && strcmp(quiet, "1") == 0)
			why = "Rejected by the Sender Policy Framework.";
		else if (resp.explanation != NULL)
			why = resp.explanation;
		else if (resp.error != NULL)
			why = resp.error;
		else
			why = dflt = xasprintf("%s is not a permitted sender "
					       "for %s", s->remote_ip, domain);
		if (permanent)
			*reply_r = xasprintf("550 5.7.23 SPF %s %s: %s",
					     spf_result_name(r), what, why);
		else
			*reply_r = xasprintf(
				"451 %s SPF %s %s: %s",
				r == SPF_RESULT_TEMPERROR ? "4.7.24" : "4.7.23",
				spf_result_name(r), what, why);
		free(dflt);
	}
	spf_response_free(&resp);
	return r;
}

/* An address literal or a bare address is no domain to check. */
static bool helo_is_domain(const char *helo)
{
	return helo != NULL && helo[0] != '[' && strchr(helo, ':') == NULL &&
	       !esmtp_dnscheck_same_ip(helo, helo);
}

int esmtp_spf_mail(struct esmtp_session *s, const char *sender,
		   bool *helo_passed_r, char **reply_r)
{
	const char *kw;
	char *who;
	enum spf_result r;

	*helo_passed_r = false;
	*reply_r = NULL;
	free(s->spf_headers);
	s->spf_headers = NULL;
	free(s->spf_ar);
	s->spf_ar = NULL;
	kw = check_keywords(s, "BOFHSPFHELO");
	if (kw != NULL && helo_is_domain(s->helo)) {
		who = xasprintf("postmaster@%s", s->helo);
		r = run_check(s, kw, "helo", s->helo, who, s->helo, true,
			      reply_r);
		free(who);
		if (r == SPF_RESULT_PASS)
			*helo_passed_r = true;
		if (*reply_r != NULL)
			return 0;
	}
	kw = check_keywords(s, "BOFHSPFMAILFROM");
	const char *at = strrchr(sender, '@');
	if (kw != NULL && *sender != '\0' && at != NULL) {
		run_check(s, kw, "mailfrom", sender, sender, at + 1, true,
			  reply_r);
		if (*reply_r != NULL)
			return 0;
	}
	return 1;
}

char *esmtp_spf_from(struct esmtp_session *s, const char *from)
{
	const char *kw = check_keywords(s, "BOFHSPFFROM");
	const char *at;
	char *reply = NULL;

	if (kw == NULL || from == NULL || (at = strrchr(from, '@')) == NULL ||
	    at[1] == '\0')
		return NULL;
	run_check(s, kw, "from", from, from, at + 1, false, &reply);
	return reply;
}
