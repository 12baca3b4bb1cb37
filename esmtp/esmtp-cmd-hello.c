/* esmtp-cmd-hello.c: EHLO (with the extension list), HELO, NOOP, RSET,
 * QUIT, VRFY, EXPN and HELP. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "esmtp-private.h"
#include "esmtp-vhost.h"
#include "mem.h"

/* A HELO/EHLO argument: a domain or an address literal, printable ASCII
 * (UTF-8 allowed for SMTPUTF8 clients), no blanks. */
static bool helo_valid(const char *args)
{
	if (*args == '\0' || strlen(args) > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)args; *p; p++) {
		if (*p <= 32 || *p == 127)
			return false;
	}
	return true;
}

static bool hello(struct esmtp_session *s, const char *args, bool esmtp)
{
	if (!helo_valid(args)) {
		esmtp_reply_error(s, "501 5.5.4 Syntax: %s hostname",
				  esmtp ? "EHLO" : "HELO");
		return false;
	}
	esmtp_transaction_reset(s);
	free(s->helo);
	s->helo = xstrdup(args);
	s->esmtp = esmtp;
	return true;
}

/* Our name in the HELO/EHLO reply: me, or me.ADDRESS for a session on
 * a local address with vhost.ADDRESS (esmtp-vhost.h). */
static void reply_name(struct esmtp_session *s, bool more)
{
	char *me = esmtp_vhost_me(s->local_ip);

	esmtp_reply(s, more ? "250-%s Ok." : "250 %s Ok.",
		    me != NULL ? me : s->server->me);
	free(me);
}

void esmtp_cmd_ehlo(struct esmtp_session *s, const char *args)
{
	const struct esmtp_server *srv = s->server;
	char *mechs;

	if (!hello(s, args, true))
		return;
	reply_name(s, true);
	mechs = esmtp_auth_mechs(s);
	if (*mechs != '\0' && s->auth_user == NULL)
		esmtp_reply(s, "250-AUTH %s", mechs);
	free(mechs);
	if (srv->tls_ctx != NULL && !s->tls)
		esmtp_reply(s, "250-STARTTLS");
	esmtp_reply(s, "250-XVERP=Courier");
	/* Courier's Extended DATA Reply (draft-varshavchik-exdata-smtpext) */
	esmtp_reply(s, "250-XEXDATA");
	esmtp_reply(s, "250-PIPELINING");
	esmtp_reply(s, "250-8BITMIME");
	esmtp_reply(s, "250-SMTPUTF8");
	if (s->size_limit > 0)
		esmtp_reply(s, "250-SIZE %llu",
			    (unsigned long long)s->size_limit);
	else
		esmtp_reply(s, "250-SIZE");
	esmtp_reply(s, "250-DSN");
	esmtp_reply(s, "250-ENHANCEDSTATUSCODES");
	esmtp_reply(s, "250 CHUNKING");
}

void esmtp_cmd_helo(struct esmtp_session *s, const char *args)
{
	if (hello(s, args, false))
		reply_name(s, false);
}

void esmtp_cmd_noop(struct esmtp_session *s, const char *args)
{
	(void)args;
	esmtp_reply(s, "250 2.0.0 Ok");
}

void esmtp_cmd_rset(struct esmtp_session *s, const char *args)
{
	(void)args;
	esmtp_transaction_reset(s);
	esmtp_reply(s, "250 2.0.0 Ok");
}

void esmtp_cmd_quit(struct esmtp_session *s, const char *args)
{
	(void)args;
	esmtp_reply(s, "221 2.0.0 %s closing connection", s->server->me);
	esmtp_session_quit(s);
}

void esmtp_cmd_vrfy(struct esmtp_session *s, const char *args)
{
	if (*args == '\0') {
		esmtp_reply_error(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	if (s->server->set->no_vrfy || s->no_vrfy) {
		esmtp_reply(s, "502 5.5.1 VRFY is disabled");
		return;
	}
	/* RFC 5321 3.5.3: do not tell who exists */
	esmtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message "
		       "and attempt delivery");
}

void esmtp_cmd_expn(struct esmtp_session *s, const char *args)
{
	(void)args;
	esmtp_reply(s, "502 5.5.1 EXPN is disabled");
}

void esmtp_cmd_help(struct esmtp_session *s, const char *args)
{
	(void)args;
	esmtp_reply(s, "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT "
		       "RSET NOOP QUIT");
	esmtp_reply(s, "214-2.0.0 VRFY HELP STARTTLS AUTH");
	esmtp_reply(s, "214 2.0.0 See RFC 5321.");
}
