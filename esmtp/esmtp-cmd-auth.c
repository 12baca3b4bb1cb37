/* esmtp-cmd-auth.c: STARTTLS (RFC 3207) and AUTH (RFC 4954) with PLAIN,
 * LOGIN and CRAM-MD5 through lib/sasl-server and authlib. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth-record.h"
#include "authclient.h"
#include "conn.h"
#include "esmtp-private.h"
#include "log.h"
#include "mem.h"
#include "sasl-server.h"
#include "str.h"

static const char *const esmtp_known_mechs[] = {
	"PLAIN", "LOGIN", "CRAM-MD5", NULL
};

static bool mech_in_list(const char *list, const char *mech)
{
	char **words = str_split(list != NULL ? list : "", " \t,");
	bool found = false;

	for (size_t i = 0; words[i] != NULL && !found; i++)
		found = strcasecmp(words[i], mech) == 0;
	str_split_free(&words);
	return found;
}

static char *mechs_of(struct esmtp_session *s, bool tls)
{
	const struct esmtp_settings *set = s->server->set;
	struct str out;

	str_init(&out, 64);
	for (size_t i = 0; esmtp_known_mechs[i] != NULL; i++) {
		const char *m = esmtp_known_mechs[i];

		if (mech_in_list(set->auth_mechs, m) ||
		    (tls && mech_in_list(set->auth_mechs_tls, m))) {
			if (out.len > 0)
				str_append_c(&out, ' ');
			str_append(&out, m);
		}
	}
	return str_steal(&out);
}

char *esmtp_auth_mechs(struct esmtp_session *s)
{
	return mechs_of(s, s->tls);
}

void esmtp_cmd_starttls(struct esmtp_session *s, const char *args)
{
	const char *error;

	(void)args;
	if (s->tls) {
		esmtp_reply_error(s, "503 5.5.1 TLS is already active");
		return;
	}
	if (s->server->tls_ctx == NULL) {
		esmtp_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	esmtp_reply(s, "220 2.0.0 Ready to start TLS");
	if (conn_start_tls(s->conn, s->server->tls_ctx, NULL, &error) < 0) {
		log_error("esmtpd: %s: STARTTLS: %s", s->remote_ip, error);
		esmtp_session_quit(s);
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before */
	esmtp_session_reset_tls(s);
	s->state = ESMTP_STATE_TLS;
}

static void auth_done(struct esmtp_session *s)
{
	const struct sasl_server_credentials *cred =
		sasl_server_credentials(s->sasl);
	struct auth_record rec;
	const char *error = "";
	int r;

	auth_record_init(&rec);
	r = auth_sasl(s->server->auth_service, s->sasl, s->remote_ip, &rec,
		      &error);
	if (r == 1) {
		s->auth_user = xstrdup(cred->authcid);
		s->auth_mech = xstrdup(sasl_mech_name(cred->mech));
		s->may_relay = true;
		log_info("esmtpd: %s: user=%s authenticated (%s)",
			 s->remote_ip, s->auth_user, s->auth_mech);
		esmtp_reply(s, "235 2.7.0 Authentication successful");
	} else if (r == 0) {
		log_info("esmtpd: %s: authentication failed: %s",
			 s->remote_ip, error);
		esmtp_reply_error(s, "535 5.7.8 Authentication credentials "
			"invalid");
	} else {
		log_error("esmtpd: %s: authentication: %s", s->remote_ip,
			  error);
		esmtp_reply(s, "454 4.7.0 Temporary authentication failure");
	}
	auth_record_free(&rec);
}

static void auth_status(struct esmtp_session *s,
			enum sasl_server_status status)
{
	switch (status) {
	case SASL_SERVER_CHALLENGE: {
		struct str ch;

		str_init(&ch, 128);
		sasl_server_challenge_base64(s->sasl, &ch);
		esmtp_reply(s, "334 %s", str_c(&ch));
		str_free(&ch);
		s->state = ESMTP_STATE_AUTH;
		return;
	}
	case SASL_SERVER_DONE:
		s->state = ESMTP_STATE_COMMAND;
		auth_done(s);
		break;
	case SASL_SERVER_CANCELLED:
		s->state = ESMTP_STATE_COMMAND;
		esmtp_reply_error(s, "501 5.0.0 Authentication cancelled");
		break;
	case SASL_SERVER_FAILED:
		s->state = ESMTP_STATE_COMMAND;
		esmtp_reply_error(s, "501 5.5.2 Cannot decode the response");
		break;
	}
	sasl_server_destroy(&s->sasl);
}

void esmtp_cmd_auth(struct esmtp_session *s, const char *args)
{
	struct sasl_server_settings ss = {
		.hostname = s->server->me,
	};
	const char *error, *ir = NULL;
	char *mech, *mechs;
	size_t mlen = strcspn(args, " ");
	bool offered;

	if (s->helo == NULL || !s->esmtp) {
		esmtp_reply_error(s, "503 5.5.1 Send EHLO first");
		return;
	}
	if (s->auth_user != NULL) {
		esmtp_reply_error(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (s->have_mail) {
		esmtp_reply_error(s, "503 5.5.1 AUTH is not allowed during a "
			"mail transaction");
		return;
	}
	if (mlen == 0 || mlen > 20) {
		esmtp_reply_error(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	mech = xstrndup(args, mlen);
	if (args[mlen] == ' ') {
		ir = args + mlen + 1;
		if (*ir == '\0' || strchr(ir, ' ') != NULL) {
			free(mech);
			esmtp_reply_error(s, "501 5.5.4 Syntax: AUTH mechanism "
				"[initial-response]");
			return;
		}
	}
	mechs = esmtp_auth_mechs(s);
	offered = mech_in_list(mechs, mech);
	free(mechs);
	if (!offered) {
		char *tls_mechs = mechs_of(s, true);
		bool with_tls = !s->tls && mech_in_list(tls_mechs, mech);

		free(tls_mechs);
		if (with_tls)
			esmtp_reply_error(s, "538 5.7.11 Encryption required "
				"for requested authentication mechanism");
		else
			esmtp_reply_error(s, "504 5.5.4 Unrecognized "
				"authentication type");
		free(mech);
		return;
	}
	s->sasl = sasl_server_create(mech, &ss);
	free(mech);
	if (s->sasl == NULL) {
		esmtp_reply_error(s, "504 5.5.4 Unrecognized authentication "
			"type");
		return;
	}
	auth_status(s, sasl_server_start(s->sasl, ir,
					 ir != NULL ? strlen(ir) : 0, &error));
}

void esmtp_auth_line(struct esmtp_session *s, const char *line, size_t len)
{
	const char *error;

	if (s->sasl == NULL) {
		s->state = ESMTP_STATE_COMMAND;
		return;
	}
	if (len > ESMTP_MAX_AUTH_LINE) {
		s->state = ESMTP_STATE_COMMAND;
		sasl_server_destroy(&s->sasl);
		esmtp_reply_error(s, "500 5.5.6 Authentication exchange line "
			"is too long");
		return;
	}
	auth_status(s, sasl_server_step(s->sasl, line, len, &error));
}
