/* esmtp-session.c: the ESMTP session: connection callbacks, the command
 * table and its dispatcher, replies, and the session's lifetime. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conn.h"
#include "esmtp-filter.h"
#include "esmtp-private.h"
#include "esmtp-vhost.h"
#include "ioloop.h"
#include "log.h"
#include "mime-parser.h"
#include "mem.h"
#include "sasl-server.h"
#include "str.h"
#include "submit.h"
#include "tls.h"
#include "worker-pool.h"

static const struct esmtp_command esmtp_commands[] = {
	{ "EHLO", esmtp_cmd_ehlo,
	  ESMTP_CMD_PRE_TLS | ESMTP_CMD_PRE_AUTH | ESMTP_CMD_LAST },
	{ "HELO", esmtp_cmd_helo, ESMTP_CMD_PRE_TLS | ESMTP_CMD_PRE_AUTH },
	{ "MAIL", esmtp_cmd_mail, 0 },
	{ "RCPT", esmtp_cmd_rcpt, 0 },
	{ "DATA", esmtp_cmd_data, ESMTP_CMD_NO_ARGS | ESMTP_CMD_LAST },
	{ "BDAT", esmtp_cmd_bdat, 0 },
	{ "RSET", esmtp_cmd_rset,
	  ESMTP_CMD_PRE_TLS | ESMTP_CMD_PRE_AUTH | ESMTP_CMD_NO_ARGS },
	{ "NOOP", esmtp_cmd_noop,
	  ESMTP_CMD_PRE_TLS | ESMTP_CMD_PRE_AUTH | ESMTP_CMD_DENIED_OK |
		  ESMTP_CMD_LAST },
	{ "QUIT", esmtp_cmd_quit,
	  ESMTP_CMD_PRE_TLS | ESMTP_CMD_PRE_AUTH | ESMTP_CMD_DENIED_OK |
		  ESMTP_CMD_NO_ARGS | ESMTP_CMD_LAST },
	{ "VRFY", esmtp_cmd_vrfy, ESMTP_CMD_PRE_AUTH },
	{ "EXPN", esmtp_cmd_expn, ESMTP_CMD_PRE_AUTH },
	{ "HELP", esmtp_cmd_help,
	  ESMTP_CMD_PRE_TLS | ESMTP_CMD_PRE_AUTH | ESMTP_CMD_DENIED_OK },
	{ "STARTTLS", esmtp_cmd_starttls,
	  ESMTP_CMD_PRE_TLS | ESMTP_CMD_PRE_AUTH | ESMTP_CMD_NO_ARGS |
		  ESMTP_CMD_LAST },
	{ "AUTH", esmtp_cmd_auth, ESMTP_CMD_PRE_AUTH | ESMTP_CMD_LAST },
	{ NULL, NULL, 0 }
};

static void vreply(struct esmtp_session *s, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void vreply(struct esmtp_session *s, const char *fmt, va_list ap)
{
	struct str out;

	str_init(&out, 128);
	str_vprintfa(&out, fmt, ap);
	if (s->server->set->log_dialog)
		log_info("esmtpd: %s: < %s", s->remote_ip, str_c(&out));
	str_append(&out, "\r\n");
	conn_write(s->conn, out.data, out.len);
	str_free(&out);
}

void esmtp_reply(struct esmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, fmt, ap);
	va_end(ap);
}

void esmtp_reply_error(struct esmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, fmt, ap);
	va_end(ap);
	if (++s->bad_commands >= (unsigned int)s->server->set->max_bad_commands &&
	    s->state != ESMTP_STATE_QUIT) {
		log_info("esmtpd: %s: too many errors, disconnecting",
			 s->remote_ip);
		esmtp_reply(s, "421 4.7.0 %s Too many errors, closing the "
			    "connection", s->server->me);
		esmtp_session_quit(s);
	}
}

void esmtp_transaction_reset(struct esmtp_session *s)
{
	submit_abort(&s->submit);
	mime_parser_destroy(&s->mime);
	esmtp_filter_abort(&s->filter_run);
	if (s->filter_fd >= 0)
		close(s->filter_fd);
	s->filter_fd = -1;
	if (s->filter_msg_path != NULL)
		(void)unlink(s->filter_msg_path);
	if (s->filter_env_path != NULL)
		(void)unlink(s->filter_env_path);
	free(s->filter_msg_path);
	free(s->filter_env_path);
	s->filter_msg_path = NULL;
	s->filter_env_path = NULL;
	s->bofh_reject = NULL;
	s->spamtrapped = false;
	free(s->spf_headers);
	s->spf_headers = NULL;
	free(s->spf_ar);
	s->spf_ar = NULL;
	esmtp_dkim_reset(s);
	esmtp_ar_strip_free(&s->ar_strip);
	free(s->header_from);
	s->header_from = NULL;
	s->header_from_seen = false;
	free(s->sender);
	s->sender = NULL;
	free(s->envid);
	s->envid = NULL;
	esmtp_rcpt_verdicts_free(s);
	esmtp_lmf_reset(s);
	for (unsigned int i = 0; i < s->rcpt_count; i++) {
		free(s->rcpts[i].address);
		free(s->rcpts[i].orcpt);
		free(s->rcpts[i].lmf_account);
		free(s->rcpts[i].lmf_ext);
	}
	s->lmf_group = -1;
	s->rcpt_count = 0;
	s->have_mail = false;
	s->ret = 0;
	s->smtputf8 = false;
	s->body_8bitmime = false;
	s->verp = false;
	s->exdata = false;
	s->declared_size = 0;
	s->msg_size = 0;
	s->msg_too_big = false;
	s->msg_line_too_long = false;
	s->bdat_used = false;
	s->bdat_failed = false;
	s->bdat_last = false;
	s->bdat_chunk = 0;
}

void esmtp_session_reset_tls(struct esmtp_session *s)
{
	esmtp_transaction_reset(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
}

void esmtp_session_quit(struct esmtp_session *s)
{
	if (s->state == ESMTP_STATE_QUIT)
		return;
	s->state = ESMTP_STATE_QUIT;
	timeout_remove(&s->idle_to);
	conn_close(s->conn);
}

/* The session's own timers: 421 and the end, with a reply the client
 * can log (RFC 5321 4.5.3.2 lets a server close an idle session). */
static void session_idle(void *context)
{
	struct esmtp_session *s = context;

	if (s->state == ESMTP_STATE_QUIT)
		return;
	log_info("esmtpd: %s: timeout after %u s%s", s->remote_ip,
		 s->idle_msecs / 1000,
		 s->state == ESMTP_STATE_DATA || s->state == ESMTP_STATE_BDAT ?
			 " in the message" : "");
	if (s->state != ESMTP_STATE_TLS)
		esmtp_reply(s, "421 4.4.2 %s Timeout, closing the connection",
			    s->server->me);
	esmtp_session_quit(s);
}

static void session_too_long(void *context)
{
	struct esmtp_session *s = context;

	s->session_to = NULL;	/* a once-timer is freed after its call */
	if (s->state == ESMTP_STATE_QUIT)
		return;
	log_info("esmtpd: %s: session time limit reached", s->remote_ip);
	if (s->state != ESMTP_STATE_TLS)
		esmtp_reply(s, "421 4.4.2 %s Session too long, closing the "
			    "connection", s->server->me);
	esmtp_session_quit(s);
}

void esmtp_session_timer_arm(struct esmtp_session *s)
{
	const struct esmtp_settings *set = s->server->set;
	unsigned int secs = s->state == ESMTP_STATE_DATA ||
				    s->state == ESMTP_STATE_BDAT ?
			set->data_timeout : set->timeout;
	unsigned int msecs = secs * 1000;

	if (s->state == ESMTP_STATE_QUIT)
		return;
	if (s->idle_to != NULL && s->idle_msecs == msecs) {
		timeout_reset(s->idle_to);
		return;
	}
	timeout_remove(&s->idle_to);
	s->idle_msecs = msecs;
	s->idle_to = timeout_add(s->loop, msecs, session_idle, s);
}

/* Printable, bounded copy of client text for the Received: line. */
static void append_clean(struct str *out, const char *text, size_t max)
{
	for (size_t i = 0; text[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)text[i];

		str_append_c(out, c > 32 && c < 127 && c != '(' && c != ')' &&
					  c != '\\' ?
				  (char)c : '_');
	}
}

char *esmtp_received_from(struct esmtp_session *s)
{
	struct str out;

	str_init(&out, 256);
	append_clean(&out, s->helo != NULL ? s->helo : "unknown", 255);
	if (s->server->local_caller)
		str_printfa(&out, " (uid %lu)", s->server->local_uid);
	else
		str_printfa(&out, " ([%s])", s->remote_ip);
	if (s->auth_user != NULL || s->tls) {
		str_append(&out, " (");
		if (s->auth_user != NULL) {
			str_printfa(&out, "AUTH: %s ", s->auth_mech);
			append_clean(&out, s->auth_user, 255);
			if (s->tls)
				str_append(&out, ", ");
		}
		if (s->tls) {
			struct tls_session *ts = conn_tls_session(s->conn);
			const char *proto = ts != NULL ?
				tls_session_protocol(ts) : NULL;
			const char *cipher = ts != NULL ?
				tls_session_cipher(ts) : NULL;

			str_printfa(&out, "TLS: %s,%dbits,%s",
				    proto != NULL ? proto : "TLS",
				    ts != NULL ? tls_session_cipher_bits(ts) : 0,
				    cipher != NULL ? cipher : "unknown");
		}
		str_append_c(&out, ')');
	}
	return str_steal(&out);
}

const char *esmtp_protocol(struct esmtp_session *s)
{
	static const char *const names[2][2][2][2] = {
		/* [utf8][esmtp][tls][auth] */
		{ { { "SMTP", "SMTPA" }, { "SMTPS", "SMTPSA" } },
		  { { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } } },
		{ { { "UTF8SMTP", "UTF8SMTPA" },
		    { "UTF8SMTPS", "UTF8SMTPSA" } },
		  { { "UTF8SMTP", "UTF8SMTPA" },
		    { "UTF8SMTPS", "UTF8SMTPSA" } } },
	};

	return names[s->smtputf8][s->esmtp][s->tls][s->auth_user != NULL];
}

static void dispatch(struct esmtp_session *s, const char *line, size_t len)
{
	const struct esmtp_command *cmd;
	char name[16];
	size_t n = 0;
	const char *args;

	if (strlen(line) != len) {
		esmtp_reply_error(s, "500 5.5.2 NUL byte in the command");
		return;
	}
	while (n < len && line[n] != ' ' && n < sizeof(name) - 1) {
		name[n] = (char)toupper((unsigned char)line[n]);
		n++;
	}
	name[n] = '\0';
	args = line + n;
	if (*args != '\0' && *args != ' ') {
		esmtp_reply_error(s, "500 5.5.2 Syntax error, command "
			"unrecognized");
		return;
	}
	while (*args == ' ')
		args++;
	for (cmd = esmtp_commands; cmd->name != NULL; cmd++) {
		if (strcmp(cmd->name, name) == 0)
			break;
	}
	if (cmd->name == NULL) {
		if (strcmp(name, "ETRN") == 0 || strcmp(name, "TURN") == 0)
			esmtp_reply_error(s, "502 5.5.1 Command not "
				"implemented");
		else
			esmtp_reply_error(s, "500 5.5.2 Syntax error, command "
				"unrecognized");
		return;
	}
	if (s->denied && (cmd->flags & ESMTP_CMD_DENIED_OK) == 0) {
		esmtp_reply_error(s, "554 5.7.1 Access denied");
		return;
	}
	if ((cmd->flags & ESMTP_CMD_NO_ARGS) != 0 && *args != '\0') {
		esmtp_reply_error(s, "501 5.5.4 Syntax: %s takes no "
			"arguments", cmd->name);
		return;
	}
	if (s->server->set->tls_required && !s->tls &&
	    (cmd->flags & ESMTP_CMD_PRE_TLS) == 0) {
		esmtp_reply_error(s, "530 5.7.0 Must issue a STARTTLS command "
			"first");
		return;
	}
	if (s->server->set->auth_required && s->auth_user == NULL &&
	    (cmd->flags & ESMTP_CMD_PRE_AUTH) == 0) {
		esmtp_reply_error(s, "530 5.7.0 Authentication required");
		return;
	}
	cmd->run(s, args);
}

static void conn_line(struct conn *conn, const char *line, size_t len,
		      void *context)
{
	struct esmtp_session *s = context;

	(void)conn;
	esmtp_session_timer_arm(s);
	switch (s->state) {
	case ESMTP_STATE_COMMAND:
		if (s->server->set->log_dialog)
			log_info("esmtpd: %s: > %.*s", s->remote_ip,
				 str_begins_with_icase(line, "AUTH ") ? 4 :
				 (int)(len > 200 ? 200 : len), line);
		if (len > s->server->set->max_command_line) {
			esmtp_reply_error(s, "500 5.5.2 Line too long");
			return;
		}
		dispatch(s, line, len);
		break;
	case ESMTP_STATE_AUTH:
		if (len > ESMTP_MAX_AUTH_LINE)
			esmtp_auth_line(s, "*", 1);
		else
			esmtp_auth_line(s, line, len);
		break;
	case ESMTP_STATE_DATA:
		/* conn's limit is the largest of the three kinds of line */
		if (len > s->server->set->max_data_line)
			esmtp_data_line_too_long(s);
		else
			esmtp_data_line(s, line, len,
					conn_line_crlf(s->conn));
		break;
	case ESMTP_STATE_BDAT:
	case ESMTP_STATE_TLS:
	case ESMTP_STATE_FILTER:
	case ESMTP_STATE_WAIT:
	case ESMTP_STATE_QUIT:
		break;
	}
}

static void conn_line_too_long(struct conn *conn, void *context)
{
	struct esmtp_session *s = context;

	(void)conn;
	if (s->state == ESMTP_STATE_DATA)
		esmtp_data_line_too_long(s);
	else if (s->state == ESMTP_STATE_AUTH)
		esmtp_auth_line(s, "*", 1);
	else if (s->state == ESMTP_STATE_COMMAND)
		esmtp_reply_error(s, "500 5.5.2 Line too long");
}

static void conn_raw(struct conn *conn, const void *data, size_t len,
		     bool last, void *context)
{
	(void)conn;
	esmtp_session_timer_arm(context);
	esmtp_bdat_raw(context, data, len, last);
}

static void send_greeting(struct esmtp_session *s)
{
	/* A local address with etc/vhost.ADDRESS has its own name and
	 * greeting (me.ADDRESS, esmtpgreeting.ADDRESS), as in EHLO. */
	char *vme = esmtp_vhost_me(s->local_ip);
	char *vgreeting = esmtp_vhost_greeting(s->local_ip);
	const char *me = vme != NULL ? vme : s->server->me;
	const char *greeting = vgreeting != NULL ? vgreeting
						 : s->server->greeting;

	if (s->denied) {
		esmtp_reply(s, "554 5.7.1 %s Access denied", me);
	} else if (greeting == NULL || greeting[0] == '\0') {
		esmtp_reply(s, "220 %s ESMTP", me);
	} else {
		/* esmtpgreeting: one or more lines */
		char **lines = str_split(greeting, "\n");
		size_t n = 0;

		while (lines[n] != NULL)
			n++;
		for (size_t i = 0; i < n; i++)
			esmtp_reply(s, "220%c%s", i + 1 < n ? '-' : ' ',
				    lines[i]);
		str_split_free(&lines);
	}
	free(vme);
	free(vgreeting);
}

static void conn_tls_ready(struct conn *conn, void *context)
{
	struct esmtp_session *s = context;

	(void)conn;
	s->tls = true;
	if (s->state == ESMTP_STATE_TLS) {
		/* STARTTLS: back to the start, without a greeting */
		s->state = ESMTP_STATE_COMMAND;
		return;
	}
	conn_cork(s->conn);
	send_greeting(s);
	conn_uncork(s->conn);
}

static void session_free(struct esmtp_session *s)
{
	/* a running job finishes on its own and frees only its context */
	worker_job_cancel(&s->job);
	esmtp_transaction_reset(s);
	timeout_remove(&s->idle_to);
	timeout_remove(&s->session_to);
	sasl_server_destroy(&s->sasl);
	free(s->rcpts);
	free(s->helo);
	free(s->auth_user);
	free(s->auth_mech);
	free(s->access_vars);
	free(s->block);
	conn_destroy(&s->conn);
	free(s);
}

static void conn_disconnected(struct conn *conn,
			      enum conn_disconnect_reason reason,
			      const char *text, void *context)
{
	struct esmtp_session *s = context;
	esmtp_session_destroyed_t *cb = s->destroyed;
	void *cb_context = s->context;

	(void)conn;
	if (reason != CONN_DISCONNECT_CLOSED && reason != CONN_DISCONNECT_EOF)
		log_info("esmtpd: %s: disconnected: %s", s->remote_ip, text);
	session_free(s);
	if (cb != NULL)
		cb(cb_context);
}

static const struct conn_callbacks esmtp_conn_callbacks = {
	.line = conn_line,
	.line_too_long = conn_line_too_long,
	.raw = conn_raw,
	.tls_ready = conn_tls_ready,
	.disconnected = conn_disconnected,
};

/* smtpaccess: deny, or the variables of the allow line. */
static void apply_access(struct esmtp_session *s)
{
	char *v;

	if (esmtp_access_lookup(s->server->access, s->remote_ip,
				&s->access_vars) == ESMTP_ACCESS_DENY) {
		s->denied = true;
		return;
	}
	if (s->access_vars == NULL)
		return;
	v = esmtp_access_var(s->access_vars, "RELAYCLIENT");
	s->may_relay = v != NULL;
	free(v);
	v = esmtp_access_var(s->access_vars, "BLOCK");
	if (v != NULL && *v != '\0')
		s->block = v;
	else
		free(v);
	v = esmtp_access_var(s->access_vars, "BOFHNOVRFY");
	s->no_vrfy = v != NULL && *v != '\0' && *v != '0';
	free(v);
	v = esmtp_access_var(s->access_vars, "SIZELIMIT");
	if (v != NULL) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);

		if (*v >= '0' && *v <= '9' && *end == '\0')
			s->size_limit = n;
		else
			log_warning("esmtpd: %s: smtpaccess SIZELIMIT is not "
				    "a number: %s", s->remote_ip, v);
	}
	free(v);
}

static struct esmtp_session *
session_create(struct ioloop *loop, int fd, const struct esmtp_server *server,
	       const char *remote_ip, const char *local_ip,
	       esmtp_session_destroyed_t *destroyed, void *context)
{
	struct esmtp_session *s = xcalloc(1, sizeof(*s));
	size_t max_line = (size_t)server->set->max_data_line;
	struct conn_settings cs = {
		/* the session's own timers watch input (421 first) */
		.idle_timeout_msecs = 0,
		.write_timeout_msecs = server->set->timeout * 1000,
		.tls_ctx = server->implicit_tls ? server->tls_ctx : NULL,
	};

	if (max_line < server->set->max_command_line)
		max_line = (size_t)server->set->max_command_line;
	if (max_line < ESMTP_MAX_AUTH_LINE)
		max_line = ESMTP_MAX_AUTH_LINE;
	cs.max_line_len = max_line;
	s->loop = loop;
	s->server = server;
	s->filter_fd = -1;
	s->lmf_fd = -1;
	s->lmf_group = -1;
	s->destroyed = destroyed;
	s->context = context;
	str_copy(s->remote_ip, remote_ip, sizeof(s->remote_ip));
	str_copy(s->local_ip, local_ip, sizeof(s->local_ip));
	s->size_limit = server->size_limit;
	if (server->access != NULL)
		apply_access(s);
	if (fd < 0) {
		cs.tls_ctx = NULL;
		s->conn = conn_create_pair(loop, 0, 1, &cs,
					   &esmtp_conn_callbacks, s);
	} else {
		s->conn = conn_create(loop, fd, &cs, &esmtp_conn_callbacks,
				      s);
	}
	esmtp_session_timer_arm(s);
	s->session_to = timeout_add_once(loop,
					 server->set->session_timeout * 1000,
					 session_too_long, s);
	if (!server->implicit_tls) {
		conn_cork(s->conn);
		send_greeting(s);
		conn_uncork(s->conn);
	}
	return s;
}

struct esmtp_session *esmtp_session_create(struct ioloop *loop, int fd,
					   const struct esmtp_server *server,
					   const char *remote_ip,
					   const char *local_ip,
					   esmtp_session_destroyed_t *destroyed,
					   void *context)
{
	return session_create(loop, fd, server, remote_ip, local_ip,
			      destroyed, context);
}

struct esmtp_session *esmtp_session_create_stdio(
	struct ioloop *loop, const struct esmtp_server *server,
	esmtp_session_destroyed_t *destroyed, void *context)
{
	char who[LISTEN_IP_STRLEN];
	struct esmtp_session *s;

	snprintf(who, sizeof(who), "uid %lu", server->local_uid);
	s = session_create(loop, -1, server, who, "", destroyed, context);
	s->may_relay = true;
	return s;
}

void esmtp_session_destroy(struct esmtp_session **s)
{
	if (*s == NULL)
		return;
	session_free(*s);
	*s = NULL;
}
