/* esmtp-cmd-mail.c: MAIL FROM and RCPT TO with their parameters (SIZE,
 * BODY, RET, ENVID, SMTPUTF8, AUTH, VERP, EXDATA; NOTIFY, ORCPT), the relay
 * decision and the recipient check. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config-file.h"
#include "conn.h"
#include "ctlfile.h"
#include "dns.h"
#include "esmtp-bofh.h"
#include "esmtp-dnscheck.h"
#include "esmtp-localfilter.h"
#include "esmtp-private.h"
#include "log.h"
#include "mem.h"
#include "str.h"
#include "track.h"
#include "worker-pool.h"

/* Longest ENVID (RFC 3461 4.4) and ORCPT (4.2) accepted. */
#define ESMTP_MAX_ENVID 100
#define ESMTP_MAX_ORCPT 500

static int parse_size(const char *v, uint64_t *size_r)
{
	uint64_t n = 0;

	if (v == NULL || *v == '\0' || strlen(v) > 20)
		return -1;
	for (; *v != '\0'; v++) {
		if (!isdigit((unsigned char)*v))
			return -1;
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*size_r = n;
	return 0;
}

/* Checks MAIL's parameters; returns NULL or the error reply. */
static const char *mail_params(struct esmtp_session *s,
			       const struct esmtp_path *p)
{
	for (unsigned int i = 0; i < p->param_count; i++) {
		const char *name = p->params[i].name;
		const char *v = p->params[i].value;

		if (!s->esmtp)
			return "555 5.5.4 Parameters need EHLO";
		if (strcmp(name, "SIZE") == 0) {
			if (parse_size(v, &s->declared_size) < 0)
				return "501 5.5.4 Bad SIZE value";
			if (s->size_limit > 0 &&
			    s->declared_size > s->size_limit)
				return "552 5.3.4 Message size exceeds fixed "
				       "maximum message size";
		} else if (strcmp(name, "BODY") == 0) {
			if (v == NULL || (strcasecmp(v, "7BIT") != 0 &&
					  strcasecmp(v, "8BITMIME") != 0))
				return "555 5.5.4 Unsupported BODY type";
			s->body_8bitmime = strcasecmp(v, "8BITMIME") == 0;
		} else if (strcmp(name, "RET") == 0) {
			if (s->ret != 0)
				return "501 5.5.4 Duplicate RET";
			if (v != NULL && strcasecmp(v, "FULL") == 0)
				s->ret = 'F';
			else if (v != NULL && strcasecmp(v, "HDRS") == 0)
				s->ret = 'H';
			else
				return "501 5.5.4 RET must be FULL or HDRS";
		} else if (strcmp(name, "ENVID") == 0) {
			if (v == NULL || *v == '\0' ||
			    strlen(v) > ESMTP_MAX_ENVID ||
			    !esmtp_xtext_valid(v))
				return "501 5.5.4 Bad ENVID";
			free(s->envid);
			s->envid = xstrdup(v);
		} else if (strcmp(name, "SMTPUTF8") == 0) {
			if (v != NULL)
				return "501 5.5.4 SMTPUTF8 takes no value";
			s->smtputf8 = true;
		} else if (strcmp(name, "VERP") == 0) {
			/* Courier's XVERP: a keyword without a value, for a
			 * sender that can take the recipient in (not <>) */
			if (v != NULL)
				return "501 5.5.4 VERP takes no value";
			if (s->verp)
				return "501 5.5.4 Duplicate VERP";
			if (p->null)
				return "501 5.5.4 VERP needs a return "
				       "address, not <>";
			s->verp = true;
		} else if (strcmp(name, "EXDATA") == 0) {
			/* Courier's XEXDATA (draft-varshavchik-exdata-smtpext
			 * 3, 4): no value; the reply to DATA may be 558 */
			if (v != NULL)
				return "501 5.5.4 EXDATA takes no value";
			if (s->exdata)
				return "501 5.5.4 Duplicate EXDATA";
			s->exdata = true;
		} else if (strcmp(name, "AUTH") == 0) {
			/* RFC 4954 5: accepted, the identity is not trusted */
			if (v == NULL || !esmtp_xtext_valid(v))
				return "501 5.5.4 Bad AUTH parameter";
		} else {
			return "555 5.5.4 Unsupported MAIL parameter";
		}
	}
	return NULL;
}

/* The checks that ask DNS: SPF of the HELO name and the sender (as the
 * bofh options ask), then for clients that may not relay BOFHCHECKHELO
 * (unless the HELO name passed SPF), freemail and badmx.  s may be a
 * worker job's copy of the session (see mail_dns_job).  Returns 1 when
 * the sender is accepted, else 0 or -1 with *reply_r (caller frees). */
static int mail_dns_run(struct esmtp_session *s, const char *sender,
			char **reply_r)
{
	const struct esmtp_bofh *b = s->server->bofh;
	const char *at = strrchr(sender, '@');
	bool helo_pass = false;
	int r;

	r = esmtp_spf_mail(s, sender, &helo_pass, reply_r);
	if (r == 1 && !s->may_relay && b->check_helo > 0 && !helo_pass)
		r = esmtp_dnscheck_helo(b->check_helo, s->server->dns, s->helo,
					s->remote_ip, reply_r);
	if (r == 1 && !s->may_relay && at != NULL)
		r = esmtp_dnscheck_freemail(b, s->server->dns, at + 1,
					    s->remote_ip, reply_r);
	if (r == 1 && !s->may_relay && at != NULL)
		r = esmtp_dnscheck_badmx(b, s->server->dns, at + 1, reply_r);
	return r;
}

/* After the DNS checks: 250 and the sender kept, or the refusal. */
static void mail_dns_result(struct esmtp_session *s, const char *sender,
			    int r, char *reply)
{
	if (r == 1) {
		s->sender = xstrdup(sender);
		s->have_mail = true;
		esmtp_reply(s, "250 2.1.0 Ok");
		return;
	}
	log_info("esmtpd: %s: bofh: <%s>: %s", s->remote_ip, sender, reply);
	if (reply[0] == '5')
		esmtp_reply_error(s, "%s", reply);
	else
		esmtp_reply(s, "%s", reply);
	free(reply);
	esmtp_transaction_reset(s);
}

/* The DNS checks in a worker thread: they run on a copy of what they
 * read of the session and the server (with a resolver of their own: a
 * resolver is not shared between threads), so that the session may go
 * while they run.  The bofh rules are kept alive by esmtpd until no job
 * is pending. */
struct mail_dns_job {
	struct esmtp_session *s;	/* only when not cancelled */
	struct esmtp_session shadow;
	struct esmtp_server server;
	char *sender;
	int r;
	char *reply;
};

static void mail_dns_job_run(void *context)
{
	struct mail_dns_job *j = context;

	j->r = mail_dns_run(&j->shadow, j->sender, &j->reply);
}

static void mail_dns_job_done(void *context, bool cancelled)
{
	struct mail_dns_job *j = context;

	if (!cancelled) {
		struct esmtp_session *s = j->s;

		s->job = NULL;
		s->state = ESMTP_STATE_COMMAND;
		/* what SPF adds to the message */
		free(s->spf_headers);
		free(s->spf_ar);
		s->spf_headers = j->shadow.spf_headers;
		s->spf_ar = j->shadow.spf_ar;
		j->shadow.spf_headers = NULL;
		j->shadow.spf_ar = NULL;
		conn_cork(s->conn);
		mail_dns_result(s, j->sender, j->r, j->reply);
		j->reply = NULL;
		conn_uncork(s->conn);
		esmtp_session_timer_arm(s);
		conn_input_resume(s->conn);
	}
	free(j->shadow.spf_headers);
	free(j->shadow.spf_ar);
	free(j->shadow.helo);
	free((char *)j->server.me);
	dns_resolver_destroy(&j->server.dns);
	free(j->sender);
	free(j->reply);
	free(j);
}

/* Whether a bofh option is on (set, not empty, not "off"). */
static bool bofh_opt_on(const struct esmtp_bofh *b, const char *name)
{
	const char *v = esmtp_bofh_opt(b, name);

	return v != NULL && *v != '\0' && strcasecmp(v, "off") != 0;
}

/* Whether mail_dns_run() would ask DNS at all for this sender: when no
 * check is configured, MAIL is answered at once, without a worker job
 * (nor a resolver made for it).  Errs on the side of running it. */
static bool mail_dns_needed(const struct esmtp_session *s,
			    const char *sender)
{
	const struct esmtp_bofh *b = s->server->bofh;
	bool domain = strrchr(sender, '@') != NULL;

	if (bofh_opt_on(b, "BOFHSPFHELO") || bofh_opt_on(b, "BOFHSPFMAILFROM"))
		return true;
	if (s->may_relay)
		return false;
	return b->check_helo > 0 ||
	       (domain && (b->freemail_count > 0 || b->badmx_count > 0 ||
			   b->check_dns));
}

/* Runs the DNS checks and replies to MAIL: in the worker pool (the
 * session waits, reading nothing, until mail_dns_job_done()), or here
 * when there is none. */
static void mail_dns_checks(struct esmtp_session *s, const char *sender)
{
	const struct esmtp_bofh *b = s->server->bofh;
	struct mail_dns_job *j;
	char *reply = NULL;

	if (b == NULL || s->server->dns == NULL || s->server->local_caller ||
	    !mail_dns_needed(s, sender)) {
		/* what an earlier MAIL's SPF checks left is dropped (the
		 * checks reset them when they run) */
		free(s->spf_headers);
		free(s->spf_ar);
		s->spf_headers = NULL;
		s->spf_ar = NULL;
		mail_dns_result(s, sender, 1, NULL);
		return;
	}
	if (s->server->pool == NULL) {
		int r = mail_dns_run(s, sender, &reply);

		mail_dns_result(s, sender, r, reply);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->server = *s->server;
	j->server.me = xstrdup(s->server->me);
	j->server.dns = dns_resolver_create_config();
	j->shadow.server = &j->server;
	j->shadow.loop = NULL;
	j->shadow.conn = NULL;
	str_copy(j->shadow.remote_ip, s->remote_ip,
		 sizeof(j->shadow.remote_ip));
	str_copy(j->shadow.local_ip, s->local_ip, sizeof(j->shadow.local_ip));
	j->shadow.helo = s->helo != NULL ? xstrdup(s->helo) : NULL;
	j->shadow.may_relay = s->may_relay;
	j->shadow.filter_fd = -1;
	j->sender = xstrdup(sender);
	s->state = ESMTP_STATE_WAIT;
	conn_input_pause(s->conn);
	s->job = worker_pool_submit(s->server->pool, mail_dns_job_run,
				    mail_dns_job_done, j);
}

/* The backscatter blacklist (mta/track.h): mail to an address whose
 * delivery failed or was deferred in the last two hours is refused with
 * a 4xx for the sources of BOFHSUPPRESSBACKSCATTER ("smtp" by default).
 * Returns true after replying. */
static bool backscatter_refused(struct esmtp_session *s, const char *address)
{
	const char *src = s->server->local_caller ? "local" :
		s->auth_user != NULL ? "authsmtp" : "smtp";
	const char *list = s->server->bofh != NULL ?
		esmtp_bofh_opt(s->server->bofh, "BOFHSUPPRESSBACKSCATTER") :
		NULL;

	if (!track_source_suppressed(list, src) ||
	    track_lookup(address, time(NULL), NULL) == TRACK_NONE)
		return false;
	log_info("esmtpd: %s: <%s>: backscatter blacklist", s->remote_ip,
		 address);
	esmtp_reply(s, "450 4.1.0 <%s>: Address temporarily unavailable: "
		       "delivery to it failed recently", address);
	return true;
}

void esmtp_cmd_mail(struct esmtp_session *s, const char *args)
{
	struct esmtp_path path;
	const char *error;

	if (s->helo == NULL) {
		esmtp_reply_error(s, "503 5.5.1 Send EHLO or HELO first");
		return;
	}
	if (s->have_mail) {
		esmtp_reply_error(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (!str_begins_with_icase(args, "FROM:")) {
		esmtp_reply_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (esmtp_path_parse(args + 5, true, false, &path, &error) < 0) {
		esmtp_reply_error(s, "%s", error);
		return;
	}
	error = mail_params(s, &path);
	if (error == NULL && path.utf8 && !s->smtputf8)
		error = "553 5.6.7 Non-ASCII address needs SMTPUTF8";
	if (error != NULL) {
		esmtp_transaction_reset(s);
		esmtp_path_free(&path);
		esmtp_reply_error(s, "%s", error);
		return;
	}
	if (s->server->bofh != NULL && !path.null &&
	    esmtp_bofh_badfrom(s->server->bofh, path.address)) {
		log_info("esmtpd: %s: bofh badfrom <%s>", s->remote_ip,
			 path.address);
		esmtp_reply_error(s, "550 5.7.1 <%s>: Sender address refused",
				  path.address);
		esmtp_transaction_reset(s);
		esmtp_path_free(&path);
		return;
	}
	mail_dns_checks(s, path.address);
	esmtp_path_free(&path);
}

static int parse_notify(const char *v, unsigned int *notify_r)
{
	char **words;
	unsigned int n = 0;
	int ret = 0;

	if (v == NULL || *v == '\0')
		return -1;
	words = str_split(v, ",");
	for (size_t i = 0; words[i] != NULL; i++) {
		if (strcasecmp(words[i], "NEVER") == 0)
			n |= CTL_NOTIFY_NEVER;
		else if (strcasecmp(words[i], "SUCCESS") == 0)
			n |= CTL_NOTIFY_SUCCESS;
		else if (strcasecmp(words[i], "FAILURE") == 0)
			n |= CTL_NOTIFY_FAILURE;
		else if (strcasecmp(words[i], "DELAY") == 0)
			n |= CTL_NOTIFY_DELAY;
		else
			ret = -1;
	}
	str_split_free(&words);
	/* NEVER stands alone */
	if ((n & CTL_NOTIFY_NEVER) != 0 && n != CTL_NOTIFY_NEVER)
		ret = -1;
	*notify_r = n;
	return ret;
}

/* ORCPT=addr-type;xtext (RFC 3461 4.2) */
static bool orcpt_valid(const char *v)
{
	const char *semi;

	if (v == NULL || strlen(v) > ESMTP_MAX_ORCPT)
		return false;
	semi = strchr(v, ';');
	if (semi == NULL || semi == v || semi[1] == '\0')
		return false;
	for (const char *p = v; p < semi; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-')
			return false;
	}
	return esmtp_xtext_valid(semi + 1);
}

/* Recipients per message: bofh maxrcpts, else ESMTP_MAX_RCPTS. */
static unsigned int max_rcpts(const struct esmtp_session *s)
{
	if (s->server->bofh != NULL && s->server->bofh->maxrcpts > 0)
		return s->server->bofh->maxrcpts;
	return (unsigned int)s->server->set->max_rcpts;
}

/* What a recipient's rcptfilter said (localmailfilter(7)). */
struct rcpt_lmf {
	bool alias;		/* etc/aliasfilteracct's filter */
	size_t alias_count;	/* the recipients the alias expands to */
	char *account;		/* the account filtered for, or NULL */
	char *ext;		/* the address's extension, or NULL */
	enum esmtp_lmf_verdict verdict;
	char *reply;		/* REJECT, TEMPFAIL: the reply's lines */
};

static void rcpt_lmf_free(struct rcpt_lmf *l)
{
	free(l->account);
	free(l->ext);
	free(l->reply);
	memset(l, 0, sizeof(*l));
}

/* The recipient passed every check but the backscatter one: kept, and
 * 250.  l (may be NULL) is what its rcptfilter said: a refusal is
 * replied here; a recipient whose smtpfilter is to run (99) keeps the
 * account for DATA.  A client without EXDATA can only be told one thing
 * at the end of DATA: as Courier does, the first recipient decides
 * whether this transaction is for the recipients whose smtpfilter runs
 * or for the others, and the other kind gets 451 now (the client sends
 * them again later, in a transaction of their own). */
static void rcpt_accept(struct esmtp_session *s, const char *address,
			unsigned int notify, const char *orcpt,
			struct rcpt_lmf *l)
{
	struct esmtp_rcpt *r;
	int group = l != NULL && l->verdict == ESMTP_LMF_CONTENT ? 1 : 0;

	if (l != NULL && (l->verdict == ESMTP_LMF_REJECT ||
			  l->verdict == ESMTP_LMF_TEMPFAIL)) {
		log_info("esmtpd: %s: <%s>: refused by its rcptfilter: %s",
			 s->remote_ip, address, l->reply);
		esmtp_reply_lines(s, l->reply);
		return;
	}
	if (!s->exdata && s->rcpt_count > 0 && s->lmf_group >= 0 &&
	    group != s->lmf_group) {
		esmtp_reply(s, "451 4.7.1 <%s>: Content filtering differs "
			       "from the previous recipients: send it again "
			       "in another transaction", address);
		return;
	}
	if (backscatter_refused(s, address))
		return;
	if (s->rcpt_count == s->rcpt_alloc) {
		s->rcpt_alloc = s->rcpt_alloc == 0 ? 8 : s->rcpt_alloc * 2;
		s->rcpts = xreallocarray(s->rcpts, s->rcpt_alloc,
					 sizeof(*s->rcpts));
	}
	if (s->rcpt_count == 0)
		s->lmf_group = group;
	r = &s->rcpts[s->rcpt_count++];
	r->address = xstrdup(address);
	r->notify = notify;
	r->orcpt = orcpt != NULL ? xstrdup(orcpt) : NULL;
	r->lmf_account = NULL;
	r->lmf_ext = NULL;
	r->lmf_alias = group == 1 && l->alias;
	if (group == 1) {
		r->lmf_account = l->account;
		r->lmf_ext = l->ext;
		l->account = NULL;
		l->ext = NULL;
	}
	esmtp_reply(s, "250 2.1.5 Ok");
}

/* The answer of the recipient lookup (1, 0, -1) for a local address. */
static void rcpt_lookup_result(struct esmtp_session *s, int r,
			       const char *address, unsigned int notify,
			       const char *orcpt, struct rcpt_lmf *l)
{
	switch (r) {
	case 0:
		esmtp_reply_error(s, "550 5.1.1 <%s>: No such user", address);
		return;
	case 1:
		break;
	default:
		if (s->server->local_caller)
			break;	/* local delivery decides */
		esmtp_reply(s, "451 4.3.0 <%s>: Cannot check the recipient "
			       "now, try again later", address);
		return;
	}
	rcpt_accept(s, address, notify, orcpt, l);
}

/* The authdaemond half of the lookup in a worker thread (and the
 * account's rcptfilter when recipient filtering is on): it owns copies
 * of what it needs, so that the session may go while it runs. */
struct rcpt_job {
	struct esmtp_session *s;	/* only when not cancelled */
	char *key;
	char *address;
	char *orcpt;
	unsigned int notify;
	int r;
	/* recipient filtering (off when helper is NULL) */
	char *helper;
	char *sender;
	char *remote_ip;
	unsigned int timeout;
	struct rcpt_lmf lmf;
};

static void rcpt_job_free(struct rcpt_job *j)
{
	free(j->helper);
	free(j->sender);
	free(j->remote_ip);
	rcpt_lmf_free(&j->lmf);
	free(j->key);
	free(j->address);
	free(j->orcpt);
	free(j);
}

static void rcpt_job_run(void *context)
{
	struct rcpt_job *j = context;
	struct str out;
	char **argv, *name;
	int st;

	if (j->helper == NULL) {
		j->r = esmtp_lookup_authlib_key(j->key);
		return;
	}
	j->lmf.verdict = ESMTP_LMF_NOFILTER;
	if (j->lmf.alias) {
		/* the alias exists (the loop thread saw it) */
		j->r = 1;
	} else {
		j->r = esmtp_lookup_authlib_account(j->key, &j->lmf.account,
						    &j->lmf.ext);
		if (j->r != 1 || j->lmf.account == NULL)
			return;
	}
	name = esmtp_lmf_filter_name("rcptfilter", j->lmf.ext);
	argv = esmtp_lmf_argv(j->helper, j->timeout, j->sender, j->address,
			      j->remote_ip, j->lmf.account, name);
	free(name);
	str_init(&out, 256);
	st = esmtp_lmf_run(argv, -1, j->timeout, &out);
	esmtp_lmf_argv_free(&argv);
	j->lmf.verdict = esmtp_lmf_verdict(st, true, str_c(&out),
					   str_len(&out), &j->lmf.reply);
	str_free(&out);
	/* aliasfilteracct: no content filtering for an alias of several
	 * recipients (Courier's "technical limitations") */
	if (j->lmf.verdict == ESMTP_LMF_CONTENT && j->lmf.alias &&
	    j->lmf.alias_count > 1)
		j->lmf.verdict = ESMTP_LMF_ACCEPT;
}

static void rcpt_job_answer(struct esmtp_session *s, struct rcpt_job *j)
{
	if (j->r == 1 && j->helper == NULL)
		esmtp_lookup_cache_put(j->key, time(NULL));
	rcpt_lookup_result(s, j->r, j->address, j->notify, j->orcpt,
			   j->helper != NULL ? &j->lmf : NULL);
}

static void rcpt_job_done(void *context, bool cancelled)
{
	struct rcpt_job *j = context;

	if (!cancelled) {
		struct esmtp_session *s = j->s;

		s->job = NULL;
		s->state = ESMTP_STATE_COMMAND;
		conn_cork(s->conn);
		rcpt_job_answer(s, j);
		conn_uncork(s->conn);
		esmtp_session_timer_arm(s);
		conn_input_resume(s->conn);
	}
	rcpt_job_free(j);
}

/* Whether etc/aliasfilteracct exists: aliases are filtered too. */
static bool alias_filter_on(void)
{
	char *path = config_path("aliasfilteracct");
	bool on = access(path, F_OK) == 0;

	free(path);
	return on;
}

/* Looks a local recipient up and answers.  esmtp_lookup_authlib with a
 * worker pool: its authdaemond half (and the rcptfilter) runs in a pool
 * thread while the session reads nothing more (the pipelined commands
 * behind this RCPT wait in the input buffer, so the replies keep their
 * order).  Any other lookup function is called here. */
static void rcpt_lookup(struct esmtp_session *s, const char *address,
			unsigned int notify, const char *orcpt)
{
	const struct esmtp_server *srv = s->server;
	bool lmf = esmtp_lmf_enabled(s);
	struct rcpt_job *j;
	char *key = NULL, *alias_ext = NULL;
	size_t alias_count = 0;
	int r;

	if (srv->rcpt_lookup != esmtp_lookup_authlib ||
	    (srv->pool == NULL && !lmf)) {
		r = srv->rcpt_lookup(address, srv->rcpt_lookup_context);
		rcpt_lookup_result(s, r, address, notify, orcpt, NULL);
		return;
	}
	r = esmtp_lookup_authlib_route(address, srv->rcpt_lookup_context,
				       &key);
	if (r == 2 && !lmf && esmtp_lookup_cache_get(key, time(NULL)))
		r = 1;
	if (r == 1 && lmf && alias_filter_on() &&
	    esmtp_lookup_alias_count(address, &alias_count) > 0) {
		/* an alias, and etc/aliasfilteracct filters aliases */
		char *lc = str_lcase(xstrdup(address));

		free(key);
		key = NULL;
		alias_ext = xasprintf("alias-%s", lc);
		free(lc);
		r = 2;
	}
	if (r != 2) {
		free(key);
		rcpt_lookup_result(s, r, address, notify, orcpt, NULL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	if (alias_ext != NULL) {
		j->lmf.alias = true;
		j->lmf.alias_count = alias_count;
		j->lmf.ext = alias_ext;
	}
	j->s = s;
	j->key = key;
	j->address = xstrdup(address);
	j->orcpt = orcpt != NULL ? xstrdup(orcpt) : NULL;
	j->notify = notify;
	if (lmf) {
		j->helper = xstrdup(srv->lmf_helper);
		j->sender = xstrdup(s->sender != NULL ? s->sender : "");
		j->remote_ip = xstrdup(s->remote_ip);
		j->timeout = srv->set->lmf_timeout;
	}
	if (srv->pool == NULL) {
		rcpt_job_run(j);
		rcpt_job_answer(s, j);
		rcpt_job_free(j);
		return;
	}
	s->state = ESMTP_STATE_WAIT;
	conn_input_pause(s->conn);
	s->job = worker_pool_submit(srv->pool, rcpt_job_run, rcpt_job_done,
				    j);
}

void esmtp_cmd_rcpt(struct esmtp_session *s, const char *args)
{
	struct esmtp_path path;
	const char *error = NULL, *orcpt = NULL;
	unsigned int notify = 0;

	if (!s->have_mail) {
		esmtp_reply_error(s, "503 5.5.1 Need MAIL command first");
		return;
	}
	if (s->bdat_used) {
		esmtp_reply_error(s, "503 5.5.1 RCPT after BDAT");
		return;
	}
	if (!str_begins_with_icase(args, "TO:")) {
		esmtp_reply_error(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (esmtp_path_parse(args + 3, false, true, &path, &error) < 0) {
		esmtp_reply_error(s, "%s", error);
		return;
	}
	for (unsigned int i = 0; i < path.param_count && error == NULL; i++) {
		const char *name = path.params[i].name;
		const char *v = path.params[i].value;

		if (!s->esmtp)
			error = "555 5.5.4 Parameters need EHLO";
		else if (strcmp(name, "NOTIFY") == 0) {
			if (parse_notify(v, &notify) < 0)
				error = "501 5.5.4 Bad NOTIFY value";
		} else if (strcmp(name, "ORCPT") == 0) {
			if (!orcpt_valid(v))
				error = "501 5.5.4 Bad ORCPT value";
			orcpt = v;
		} else {
			error = "555 5.5.4 Unsupported RCPT parameter";
		}
	}
	if (error == NULL && path.utf8 && !s->smtputf8)
		error = "553 5.6.7 Non-ASCII address needs SMTPUTF8";
	if (error == NULL && s->rcpt_count >= max_rcpts(s)) {
		esmtp_path_free(&path);
		if (s->server->bofh != NULL && s->server->bofh->maxrcpts_hard)
			esmtp_reply(s, "552 5.5.3 Too many recipients");
		else
			esmtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (error != NULL) {
		esmtp_path_free(&path);
		esmtp_reply_error(s, "%s", error);
		return;
	}
	if (s->block != NULL) {
		/* smtpaccess BLOCK: the admin's reply, or 550 with its text */
		const char *b = s->block;
		bool coded = (b[0] == '4' || b[0] == '5') &&
			     isdigit((unsigned char)b[1]) &&
			     isdigit((unsigned char)b[2]) && b[3] == ' ';

		esmtp_path_free(&path);
		if (coded)
			esmtp_reply_error(s, "%s", b);
		else
			esmtp_reply_error(s, "550 5.7.1 %s", b);
		return;
	}
	if (s->server->bofh != NULL &&
	    esmtp_bofh_spamtrap(s->server->bofh, path.address)) {
		/* the whole message is refused at DATA */
		log_info("esmtpd: %s: bofh spamtrap <%s>", s->remote_ip,
			 path.address);
		s->spamtrapped = true;
		esmtp_reply_error(s, "550 5.7.1 <%s>: Address refused",
				  path.address);
		esmtp_path_free(&path);
		return;
	}
	switch (esmtp_rcpt_policy(s->server->domains, &path, s->may_relay)) {
	case ESMTP_RCPT_DENIED:
		log_info("esmtpd: %s: relaying denied to <%s>", s->remote_ip,
			 path.address);
		esmtp_reply_error(s, "550 5.7.1 <%s>: Relaying denied",
				  path.address);
		break;
	case ESMTP_RCPT_LOCAL:
		if (strcasecmp(path.local, "postmaster") == 0 ||
		    s->server->rcpt_lookup == NULL) {
			/* RFC 5321 4.5.1: postmaster is always accepted */
			rcpt_accept(s, path.address, notify, orcpt, NULL);
			break;
		}
		rcpt_lookup(s, path.address, notify, orcpt);
		break;
	case ESMTP_RCPT_RELAY:
		rcpt_accept(s, path.address, notify, orcpt, NULL);
		break;
	}
	esmtp_path_free(&path);
}
