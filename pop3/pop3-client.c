/* pop3-client.c: the POP3 session on lib/conn: the commands both roles
 * answer (CAPA, LANG), the input dispatch, and the life cycle of a login
 * session.  The roles are in pop3-login.c and pop3-mail.c. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "pop3-client-private.h"
#include "sasl.h"
#include "secure.h"

static void client_free(struct pop3_client *client);

/* ---- common ---- */

void pop3_reply(struct pop3_client *client, const char *text)
{
	conn_write_str(client->conn, text);
	conn_write(client->conn, "\r\n", 2);
}

void pop3_client_close(struct pop3_client *client)
{
	if (client->state != POP3_STATE_ENDING) {
		client->state = POP3_STATE_ENDING;
		conn_close(client->conn);
	}
}

void pop3_bad_command(struct pop3_client *client, const char *text)
{
	conn_printf(client->conn, "-ERR %s\r\n", text);
	if (++client->bad_commands >= (unsigned int)client->set->max_bad_commands) {
		pop3_reply(client, "-ERR Too many bad commands, closing.");
		ctx_info(client->log, "disconnected: too many bad commands");
		pop3_client_close(client);
	}
}

static void on_line_too_long(struct conn *conn, void *context)
{
	struct pop3_client *client = context;

	(void)conn;
	if (client->state == POP3_STATE_RELAY ||
	    client->state == POP3_STATE_ENDING)
		return;
	pop3_bad_command(client, "Line too long.");
	if (client->state == POP3_STATE_SASL) {
		sasl_server_destroy(&client->sasl);
		client->state = POP3_STATE_AUTHORIZATION;
	}
}

bool pop3_clear_passwords_ok(const struct pop3_client *client)
{
	return conn_is_tls(client->conn) || !client->set->tls_required;
}

/* The SASL mechanisms offered now: POP3AUTH, plus POP3AUTH_TLS under TLS;
 * only those we implement, and no clear-password ones when refused. */
void pop3_sasl_mechs(const struct pop3_client *client, struct str *dest)
{
	bool tls = conn_is_tls(client->conn);

	for (int m = 0; m < SASL_MECH_COUNT; m++) {
		const char *name = sasl_mech_name((enum sasl_mech)m);

		const struct pop3_settings *set = client->set;

		if (!login_master_mech_listed(set->auth_mechs, name) &&
		    !(tls && login_master_mech_listed(set->auth_mechs_tls,
						      name)))
			continue;
		if (sasl_mech_sends_password((enum sasl_mech)m) &&
		    !pop3_clear_passwords_ok(client))
			continue;
		if (str_len(dest) > 0)
			str_append_c(dest, ' ');
		str_append(dest, name);
	}
}

void pop3_cmd_capa(struct pop3_client *client)
{
	const struct pop3_settings *set = client->set;
	struct str *s = str_new(256);

	str_append(s, "+OK Capability list follows\r\n"
		      "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
		      "PIPELINING\r\n");
	if (!client->mail_role) {
		struct str *mechs = str_new(64);

		if (pop3_clear_passwords_ok(client))
			str_append(s, "USER\r\n");
		pop3_sasl_mechs(client, mechs);
		if (str_len(mechs) > 0)
			str_printfa(s, "SASL %s\r\n", str_c(mechs));
		str_destroy(&mechs);
		if (client->starttls_offered && !conn_is_tls(client->conn))
			str_append(s, "STLS\r\n");
		str_append(s, "UTF8 USER\r\n");
	} else {
		str_append(s, "UTF8\r\n");
	}
	str_append(s, "LANG\r\n");
	if (set->login_delay > 0)
		str_printfa(s, "LOGIN-DELAY %u\r\n", set->login_delay);
	if (set->expire[0] != '\0')
		str_printfa(s, "EXPIRE %s\r\n",
			    strcasecmp(set->expire, "NEVER") == 0 ? "NEVER" :
								     "0");
	str_printfa(s, "IMPLEMENTATION %s\r\n.\r\n", set->implementation);
	conn_write(client->conn, str_c(s), str_len(s));
	str_destroy(&s);
}

/* LANG (RFC 6856 section 4): lists the languages, or picks one. */
void pop3_cmd_lang(struct pop3_client *client,
		     const struct pop3_command *cmd)
{
	if (cmd->argc == 0) {
		struct str *s = str_new(128);

		str_append(s, "+OK Language listing follows:\r\n");
		for (size_t i = 0; pop3_languages[i][0] != NULL; i++)
			str_printfa(s, "%s %s\r\n", pop3_languages[i][0],
				    pop3_languages[i][1]);
		str_append(s, ".\r\n");
		conn_write(client->conn, str_c(s), str_len(s));
		str_destroy(&s);
		return;
	}
	const char *tag = pop3_lang_match(cmd->args[0]);
	if (tag == NULL) {
		conn_printf(client->conn, "-ERR %s Language is not known.\r\n",
			    client->lang);
		return;
	}
	client->lang = tag;
	conn_printf(client->conn, "+OK %s Language changed.\r\n", tag);
}

/* ---- input ---- */

static void on_line(struct conn *conn, const char *line, size_t len,
		    void *context)
{
	struct pop3_client *client = context;
	struct pop3_command cmd;
	const char *error;

	(void)conn;
	switch (client->state) {
	case POP3_STATE_ENDING:
	case POP3_STATE_LOGIN_WAIT:
		return;
	case POP3_STATE_RELAY:
		pop3_relay_line(client, line, len);
		return;
	case POP3_STATE_SASL: {
		enum sasl_server_status status = sasl_server_step(
			client->sasl, line, len, &error);
		pop3_sasl_continue(client, status, error);
		return;
	}
	default:
		break;
	}
	char *copy = xmemdup(line, len);
	if (pop3_command_parse(copy, len, &cmd, &error) < 0) {
		pop3_bad_command(client, error);
	} else if (client->mail_role) {
		pop3_mail_command(client, &cmd);
	} else {
		pop3_login_command(client, &cmd);
	}
	secure_wipe(copy, len);
	free(copy);
}

static void on_disconnected(struct conn *conn,
			    enum conn_disconnect_reason reason,
			    const char *text, void *context)
{
	struct pop3_client *client = context;

	(void)conn;
	if (reason != CONN_DISCONNECT_CLOSED)
		ctx_info(client->log, "disconnected: %s", text);
	pop3_client_end(client);
}

const struct conn_callbacks pop3_client_callbacks = {
	.line = on_line,
	.line_too_long = on_line_too_long,
	.output_drained = pop3_mail_output_drained,
	.disconnected = on_disconnected,
};

/* ---- life cycle ---- */

struct pop3_client *pop3_client_new(struct ioloop *loop,
				    const struct pop3_settings *set,
				    const char *remote_ip)
{
	struct pop3_client *client = xcalloc(1, sizeof(*client));

	client->loop = loop;
	client->set = set;
	client->pending_fd = -1;
	client->relay_fd = -1;
	client->handoff_fd = -1;
	client->handoff_client_fd = -1;
	str_init(&client->handoff_input, 256);
	client->msg_fd = -1;
	client->lang = pop3_languages[0][0];
	client->remote_ip = xstrdup(remote_ip != NULL ? remote_ip : "");
	str_init(&client->first_line, 128);
	str_set_limit(&client->first_line, POP3_MAX_FIRST_LINE);
	str_init(&client->fail_reply, 128);
	return client;
}

static void greet(struct pop3_client *client)
{
	client->greeted = true;
	if (client->set->apop) {
		char host[256];
		uint32_t r;

		if (gethostname(host, sizeof(host)) < 0)
			str_copy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		secure_random(&r, sizeof(r));
		client->apop_stamp = xasprintf("<%ld.%u.%08x@%s>", (long)getpid(),
					       (unsigned int)time(NULL), r, host);
		conn_printf(client->conn, "+OK Hello there. %s\r\n",
			    client->apop_stamp);
	} else {
		pop3_reply(client, "+OK Hello there.");
	}
}

static void on_tls_ready(struct conn *conn, void *context)
{
	struct pop3_client *client = context;

	(void)conn;
	/* Implicit TLS: the greeting goes out once the handshake is done
	 * (after STLS the client speaks first). */
	if (!client->greeted)
		greet(client);
}

static const struct conn_callbacks client_tls_callbacks = {
	.line = on_line,
	.line_too_long = on_line_too_long,
	.output_drained = pop3_mail_output_drained,
	.tls_ready = on_tls_ready,
	.disconnected = on_disconnected,
};

struct pop3_client *
pop3_client_create_login(struct ioloop *loop, int fd,
			 const struct pop3_settings *set,
			 struct tls_ctx *tls_ctx, bool implicit_tls,
			 const char *remote_ip, const char *local_ip,
			 const struct pop3_login_callbacks *cb)
{
	struct pop3_client *client = pop3_client_new(loop, set, remote_ip);
	struct conn_settings cs = {
		.max_line_len = POP3_MAX_LINE,
		.idle_timeout_msecs = set->idle_timeout * 1000,
		.write_timeout_msecs = set->idle_timeout * 1000,
		.tls_ctx = implicit_tls ? tls_ctx : NULL,
	};

	client->local_ip = xstrdup(local_ip != NULL ? local_ip : "");
	client->tls_ctx = tls_ctx;
	client->cb = *cb;
	client->log = log_ctx_new("ip=%s", client->remote_ip);
	client->state = POP3_STATE_AUTHORIZATION;
	client->conn = conn_create(loop, fd, &cs,
				   implicit_tls ? &client_tls_callbacks :
						  &pop3_client_callbacks,
				   client);
	if (implicit_tls)
		return client; /* greeting after the handshake */
	client->starttls_offered = tls_ctx != NULL && set->master.starttls;
	greet(client);
	return client;
}

void pop3_client_end(struct pop3_client *client)
{
	if (client->destroyed_called)
		return;
	client->destroyed_called = true;
	if (client->mail_role) {
		ctx_info(client->log, "logout: retrieved=%u deleted=%u",
			 client->retr_count, client->dele_count);
		if (client->on_end != NULL)
			client->on_end(client->on_end_context);
	} else if (client->cb.destroyed != NULL) {
		client->cb.destroyed(client, client->cb.context);
	}
	client_free(client);
}

static void client_free(struct pop3_client *client)
{
	io_remove(&client->handoff_io);
	if (client->handoff_timeout != NULL)
		timeout_remove(&client->handoff_timeout);
	if (client->handoff_fd >= 0)
		close(client->handoff_fd);
	if (client->handoff_client_fd >= 0)
		close(client->handoff_client_fd);
	str_free(&client->handoff_input);
	if (client->msg_fd >= 0)
		close(client->msg_fd);
	if (client->pending_fd >= 0)
		close(client->pending_fd);
	if (client->fail_timeout != NULL)
		timeout_remove(&client->fail_timeout);
	if (client->relay != NULL)
		conn_destroy(&client->relay);
	sasl_server_destroy(&client->sasl);
	pop3_mailbox_close(&client->mb);
	conn_destroy(&client->conn);
	if (client->user != NULL)
		secure_wipe(client->user, strlen(client->user));
	free(client->user);
	free(client->apop_stamp);
	free(client->remote_ip);
	free(client->local_ip);
	free(client->maildir);
	str_free(&client->first_line);
	str_free(&client->fail_reply);
	log_ctx_destroy(&client->log);
	free(client);
}

void pop3_client_destroy(struct pop3_client **_client)
{
	struct pop3_client *client = *_client;

	if (client == NULL)
		return;
	*_client = NULL;
	pop3_client_end(client);
}
