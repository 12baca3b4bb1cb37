/* pop3-login.c: the login role of a POP3 session: USER/PASS, APOP, AUTH
 * (SASL), STLS, and once authdaemond said yes, the hand-off of the
 * client's socket to the mail session (or the relay to it over TLS). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "charset.h"
#include "log.h"
#include "mem.h"
#include "pop3-client-private.h"
#include "sasl.h"
#include "secure.h"

/* ---- login role ---- */

static void relay_destroy(struct pop3_client *client)
{
	if (client->relay != NULL)
		conn_destroy(&client->relay);
	if (client->client_paused_for_relay) {
		client->client_paused_for_relay = false;
		conn_input_resume(client->conn);
	}
	client->relay_paused_for_client = false;
}

/* Sends the hand-off message on fd: hdr and input, with client_fd
 * (SCM_RIGHTS) when >= 0.  Returns 0 or -1 with errno. */
static int handoff_sendmsg(int fd, const struct str *input, int client_fd)
{
	struct pop3_handoff_hdr hdr = {
		.magic = POP3_HANDOFF_MAGIC,
		.input_len = (uint32_t)str_len(input),
	};
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) },
		{ input->data, str_len(input) },
	};
	size_t total = sizeof(hdr) + str_len(input);
	ssize_t n = login_master_send_fd(fd, iov, str_len(input) > 0 ? 2 : 1,
					 client_fd);

	if (n < 0)
		return -1;
	if ((size_t)n != total) {
		/* A few bytes into an empty socket buffer: cannot happen,
		 * but a short write would break the protocol. */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* The mail session said "+OK": give it the client's socket and the
 * pipelined input, so that every later command goes straight to it
 * instead of through this process.  With TLS (the keys live here) or
 * output still queued, it gets nothing and this process relays. */
static void handoff_send(struct pop3_client *client)
{
	struct str input;
	int fd = -1;

	str_init(&input, 256);
	if (conn_output_pending(client->conn) == 0)
		fd = conn_detach(&client->conn, &input);
	if (fd >= 0 && str_len(&input) > POP3_HANDOFF_MAX_INPUT) {
		/* The input buffer is smaller than this: cannot happen. */
		log_panic("pop3: %zu bytes of pipelined input", str_len(&input));
	}
	if (fd >= 0) {
		int ret = handoff_sendmsg(client->relay_fd, &input, fd);

		secure_wipe(input.data, str_len(&input));
		str_free(&input);
		close(fd);
		str_clear(&client->first_line);
		if (ret < 0) {
			ctx_error(client->log, "handing the connection to the "
					       "mail session: %s",
				  strerror(errno));
			relay_destroy(client);
			pop3_client_end(client);
			return;
		}
		client->state = POP3_STATE_HANDED_OFF;
		return;
	}
	str_clear(&input);
	if (handoff_sendmsg(client->relay_fd, &input, -1) < 0) {
		ctx_error(client->log, "starting the relay: %s",
			  strerror(errno));
		str_free(&input);
		pop3_reply(client, "-ERR [SYS/TEMP] Unable to open the mailbox.");
		str_clear(&client->first_line);
		relay_destroy(client);
		pop3_client_close(client);
		return;
	}
	str_free(&input);
	conn_write(client->conn, str_c(&client->first_line),
		   str_len(&client->first_line));
	str_clear(&client->first_line);
	conn_input_resume(client->conn);
}

static void relay_raw(struct conn *conn, const void *data, size_t len,
		      bool last, void *context)
{
	struct pop3_client *client = context;
	const char *p = data;

	(void)last;
	if (!client->relay_first_done) {
		/* The mail session's first line says whether it runs. */
		const char *lf = memchr(p, '\n', len);
		size_t n = lf == NULL ? len : (size_t)(lf - p) + 1;

		if (str_append_n(&client->first_line, p, n) < 0) {
			ctx_error(client->log, "mail session: first line "
					       "too long");
			pop3_reply(client, "-ERR [SYS/TEMP] Internal error.");
			pop3_client_close(client);
			return;
		}
		if (lf == NULL)
			return;
		client->relay_first_done = true;
		if (!str_begins_with(str_c(&client->first_line), "+OK")) {
			/* Not logged in after all: AUTHORIZATION again. */
			conn_write(client->conn, str_c(&client->first_line),
				   str_len(&client->first_line));
			str_clear(&client->first_line);
			relay_destroy(client);
			client->relay_first_done = false;
			client->state = POP3_STATE_AUTHORIZATION;
			x_free(client->user);
			conn_input_resume(client->conn);
			return;
		}
		handoff_send(client);
		return;
	}
	if (client->state == POP3_STATE_HANDED_OFF)
		return; /* the session talks to the client itself */
	if (conn_write(client->conn, p, len) == 0 &&
	    !client->relay_paused_for_client) {
		client->relay_paused_for_client = true;
		conn_input_pause(conn);
	}
}

static void relay_drained(struct conn *conn, void *context)
{
	struct pop3_client *client = context;

	(void)conn;
	if (client->client_paused_for_relay && client->conn != NULL) {
		client->client_paused_for_relay = false;
		conn_input_resume(client->conn);
	}
}

static void relay_disconnected(struct conn *conn,
			       enum conn_disconnect_reason reason,
			       const char *text, void *context)
{
	struct pop3_client *client = context;

	(void)conn;
	(void)reason;
	(void)text;
	if (!client->relay_first_done) {
		/* It died before saying anything. */
		ctx_error(client->log, "mail session ended before its first "
				       "line");
		pop3_reply(client, "-ERR [SYS/TEMP] Unable to open the mailbox.");
		client->state = POP3_STATE_AUTHORIZATION;
		str_clear(&client->first_line);
		relay_destroy(client);
		conn_input_resume(client->conn);
		return;
	}
	relay_destroy(client);
	if (client->state == POP3_STATE_HANDED_OFF) {
		/* The session that had the client's socket ended. */
		pop3_client_end(client);
		return;
	}
	/* QUIT, or the mail session ended: finish the client too. */
	pop3_client_close(client);
}

/* conn wants a line callback; the relay reads raw from its creation, so
 * a line can only come if raw mode ever ended: pass it on unchanged. */
static void relay_line_cb(struct conn *conn, const char *line, size_t len,
			  void *context)
{
	relay_raw(conn, line, len, false, context);
	relay_raw(conn, "\r\n", 2, false, context);
}

static const struct conn_callbacks relay_callbacks = {
	.line = relay_line_cb,
	.raw = relay_raw,
	.output_drained = relay_drained,
	.disconnected = relay_disconnected,
};

void pop3_relay_line(struct pop3_client *client, const char *line,
		       size_t len)
{
	if (client->relay == NULL)
		return;
	conn_cork(client->relay);
	conn_write(client->relay, line, len);
	int ret = conn_write(client->relay, "\r\n", 2);
	conn_uncork(client->relay);
	if (ret == 0 && !client->client_paused_for_relay) {
		client->client_paused_for_relay = true;
		conn_input_pause(client->conn);
	}
}

static void fail_timeout_cb(void *context)
{
	struct pop3_client *client = context;

	client->fail_timeout = NULL;
	conn_cork(client->conn);
	conn_write(client->conn, str_c(&client->fail_reply),
		   str_len(&client->fail_reply));
	str_clear(&client->fail_reply);
	if (client->auth_failures >=
	    (unsigned int)client->set->max_auth_failures) {
		pop3_reply(client, "-ERR Too many failed logins, closing.");
		conn_uncork(client->conn);
		pop3_client_close(client);
		return;
	}
	conn_uncork(client->conn);
	client->state = POP3_STATE_AUTHORIZATION;
	conn_input_resume(client->conn);
}

void pop3_client_login_done(struct pop3_client *client,
			    enum pop3_login_result result, const char *text)
{
	if (client->state != POP3_STATE_LOGIN_WAIT)
		log_panic("pop3: login answer in the wrong state");
	if (result == POP3_LOGIN_OK) {
		struct conn_settings cs = {
			.max_line_len = POP3_MAX_LINE,
			.write_timeout_msecs = client->set->idle_timeout * 1000,
		};
		client->relay_fd = client->pending_fd;
		client->relay = conn_create(client->loop, client->pending_fd,
					    &cs, &relay_callbacks, client);
		client->pending_fd = -1;
		conn_input_raw(client->relay, SIZE_MAX);
		client->relay_first_done = false;
		client->state = POP3_STATE_RELAY;
		x_free(client->user);
		/* Client input stays paused until the mail session's first
		 * line: then it goes with the socket, or is relayed. */
		return;
	}
	close(client->pending_fd);
	client->pending_fd = -1;
	x_free(client->user);
	str_clear(&client->fail_reply);
	switch (result) {
	case POP3_LOGIN_FAILED:
		client->auth_failures++;
		str_printfa(&client->fail_reply, "-ERR [AUTH] %s\r\n",
			    text != NULL ? text : "Login failed.");
		client->fail_timeout = timeout_add_once(
			client->loop, POP3_FAIL_DELAY_MSECS, fail_timeout_cb,
			client);
		return;
	case POP3_LOGIN_TEMPFAIL:
		str_printfa(&client->fail_reply, "-ERR [SYS/TEMP] %s\r\n",
			    text != NULL ? text :
					   "Temporary problem, try again "
					   "later.");
		break;
	case POP3_LOGIN_REFUSED:
	default:
		client->auth_failures++;
		str_printfa(&client->fail_reply, "-ERR [SYS/PERM] %s\r\n",
			    text != NULL ? text : "Login refused.");
		break;
	}
	/* Answer from the loop, not from inside the owner's call. */
	client->fail_timeout = timeout_add_once(client->loop, 0,
						fail_timeout_cb, client);
}

static void start_login(struct pop3_client *client, enum pop3_login_kind kind,
			const char *user, const char *secret,
			const char *secret2)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ctx_error(client->log, "socketpair: %s", strerror(errno));
		pop3_reply(client, "-ERR [SYS/TEMP] Temporary problem, try again "
			      "later.");
		return;
	}
	struct pop3_login_request req = {
		.kind = kind,
		.user = user,
		.secret = secret,
		.secret2 = secret2 != NULL ? secret2 : "",
		.remote_ip = client->remote_ip,
		.local_ip = client->local_ip,
		.tls = conn_is_tls(client->conn),
		.utf8 = client->utf8,
		.session_fd = sv[1],
	};
	client->pending_fd = sv[0];
	client->state = POP3_STATE_LOGIN_WAIT;
	conn_input_pause(client->conn);
	if (client->cb.login(client, &req, client->cb.context) < 0) {
		close(client->pending_fd);
		client->pending_fd = -1;
		client->state = POP3_STATE_AUTHORIZATION;
		conn_input_resume(client->conn);
		pop3_reply(client, "-ERR [SYS/TEMP] Temporary problem, try again "
			      "later.");
	}
}

static void cmd_user(struct pop3_client *client, const char *user)
{
	if (strlen(user) > POP3_MAX_USER) {
		pop3_bad_command(client, "User name too long.");
		return;
	}
	/* RFC 6856: a user name beyond ASCII is UTF-8 (UTF8 USER). */
	if (!charset_utf8_is_valid(user, strlen(user))) {
		pop3_bad_command(client, "User name is not valid UTF-8.");
		return;
	}
	free(client->user);
	client->user = xstrdup(user);
	pop3_reply(client, "+OK Password required.");
}

static void cmd_pass(struct pop3_client *client, const char *pass)
{
	if (client->user == NULL) {
		pop3_bad_command(client, "USER first.");
		return;
	}
	char *user = xstrdup(client->user);
	start_login(client, POP3_LOGIN_PASSWORD, user, pass, NULL);
	free(user);
}

static void cmd_apop(struct pop3_client *client, const char *user,
		     const char *digest)
{
	if (client->apop_stamp == NULL) {
		pop3_bad_command(client, "APOP is not available.");
		return;
	}
	if (strlen(user) > POP3_MAX_USER || strlen(digest) != 32 ||
	    !charset_utf8_is_valid(user, strlen(user))) {
		client->auth_failures++;
		pop3_reply(client, "-ERR [AUTH] Login failed.");
		return;
	}
	start_login(client, POP3_LOGIN_APOP, user, client->apop_stamp,
		    digest);
}

static void sasl_done(struct pop3_client *client)
{
	const struct sasl_server_credentials *cred =
		sasl_server_credentials(client->sasl);

	if ((cred->authzid[0] != '\0' &&
	     strcmp(cred->authzid, cred->authcid) != 0) ||
	    !charset_utf8_is_valid(cred->authcid, strlen(cred->authcid))) {
		sasl_server_destroy(&client->sasl);
		client->state = POP3_STATE_AUTHORIZATION;
		client->auth_failures++;
		pop3_reply(client, "-ERR [AUTH] Authorization identity refused.");
		return;
	}
	if (cred->mech == SASL_MECH_CRAM_MD5)
		start_login(client, POP3_LOGIN_CRAM_MD5, cred->authcid,
			    cred->challenge, cred->digest_hex);
	else
		start_login(client, POP3_LOGIN_PASSWORD, cred->authcid,
			    cred->password, NULL);
	sasl_server_destroy(&client->sasl);
}

void pop3_sasl_continue(struct pop3_client *client,
			  enum sasl_server_status status, const char *error)
{
	switch (status) {
	case SASL_SERVER_CHALLENGE: {
		struct str *s = str_new(128);

		str_append(s, "+ ");
		sasl_server_challenge_base64(client->sasl, s);
		str_append(s, "\r\n");
		conn_write(client->conn, str_c(s), str_len(s));
		str_destroy(&s);
		client->state = POP3_STATE_SASL;
		return;
	}
	case SASL_SERVER_DONE:
		client->state = POP3_STATE_AUTHORIZATION;
		sasl_done(client);
		return;
	case SASL_SERVER_CANCELLED:
		sasl_server_destroy(&client->sasl);
		client->state = POP3_STATE_AUTHORIZATION;
		pop3_reply(client, "-ERR Authentication cancelled.");
		return;
	case SASL_SERVER_FAILED:
	default:
		sasl_server_destroy(&client->sasl);
		client->state = POP3_STATE_AUTHORIZATION;
		conn_printf(client->conn, "-ERR [AUTH] %s\r\n",
			    error != NULL ? error : "Authentication failed.");
		client->auth_failures++;
		if (client->auth_failures >=
		    (unsigned int)client->set->max_auth_failures) {
			pop3_reply(client, "-ERR Too many failed logins, closing.");
			pop3_client_close(client);
		}
		return;
	}
}

static void cmd_auth(struct pop3_client *client,
		     const struct pop3_command *cmd)
{
	struct str *mechs = str_new(64);
	enum sasl_mech mech;

	pop3_sasl_mechs(client, mechs);
	if (cmd->argc == 0) {
		/* The pre-CAPA way of listing mechanisms. */
		conn_write_str(client->conn, "+OK\r\n");
		char **v = str_split(str_c(mechs), " ");
		for (size_t i = 0; v[i] != NULL; i++)
			conn_printf(client->conn, "%s\r\n", v[i]);
		str_split_free(&v);
		conn_write_str(client->conn, ".\r\n");
		str_destroy(&mechs);
		return;
	}
	if (sasl_mech_from_name(cmd->args[0], &mech) < 0 ||
	    !login_master_mech_listed(str_c(mechs), cmd->args[0])) {
		str_destroy(&mechs);
		if (sasl_mech_from_name(cmd->args[0], &mech) == 0 &&
		    sasl_mech_sends_password(mech) &&
		    !pop3_clear_passwords_ok(client)) {
			pop3_reply(client, "-ERR [AUTH] TLS required to log in.");
			return;
		}
		pop3_bad_command(client, "Unsupported authentication mechanism.");
		return;
	}
	str_destroy(&mechs);
	struct sasl_server_settings ss = {
		.hostname = NULL,
		.max_field = 1024,
	};
	char host[256];
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		ss.hostname = host;
	}
	client->sasl = sasl_server_create(cmd->args[0], &ss);
	if (client->sasl == NULL) {
		pop3_bad_command(client, "Unsupported authentication mechanism.");
		return;
	}
	const char *error = NULL;
	enum sasl_server_status status = sasl_server_start(
		client->sasl, cmd->argc > 1 ? cmd->args[1] : NULL,
		cmd->argc > 1 ? strlen(cmd->args[1]) : 0, &error);
	pop3_sasl_continue(client, status, error);
}

static void cmd_stls(struct pop3_client *client)
{
	const char *error;

	if (!client->starttls_offered || conn_is_tls(client->conn)) {
		pop3_bad_command(client, conn_is_tls(client->conn) ?
					    "Already using TLS." :
					    "STLS is not available.");
		return;
	}
	pop3_reply(client, "+OK Begin SSL/TLS negotiation now.");
	if (conn_start_tls(client->conn, client->tls_ctx, NULL, &error) < 0) {
		ctx_error(client->log, "STLS: %s", error);
		pop3_client_close(client);
		return;
	}
	/* RFC 2595: forget everything learnt before TLS. */
	x_free(client->user);
}

void pop3_login_command(struct pop3_client *client,
			  const struct pop3_command *cmd)
{
	const struct pop3_command_def *def = cmd->def;

	if ((def->flags & POP3_CMDF_AUTHORIZATION) == 0) {
		pop3_bad_command(client, "Not logged in.");
		return;
	}
	if ((def->flags & POP3_CMDF_CLEAR_PASSWORD) != 0 &&
	    !pop3_clear_passwords_ok(client)) {
		pop3_reply(client, "-ERR [AUTH] TLS required to log in.");
		return;
	}
	switch (def->id) {
	case POP3_CMD_USER:
		cmd_user(client, cmd->args[0]);
		break;
	case POP3_CMD_PASS:
		cmd_pass(client, cmd->args[0]);
		break;
	case POP3_CMD_APOP:
		cmd_apop(client, cmd->args[0], cmd->args[1]);
		break;
	case POP3_CMD_AUTH:
		cmd_auth(client, cmd);
		break;
	case POP3_CMD_STLS:
		cmd_stls(client);
		break;
	case POP3_CMD_CAPA:
		pop3_cmd_capa(client);
		break;
	case POP3_CMD_UTF8:
		client->utf8 = true;
		pop3_reply(client, "+OK UTF8 enabled");
		break;
	case POP3_CMD_LANG:
		pop3_cmd_lang(client, cmd);
		break;
	case POP3_CMD_QUIT:
		pop3_reply(client, "+OK Bye-bye.");
		pop3_client_close(client);
		break;
	default:
		pop3_bad_command(client, "Not logged in.");
		break;
	}
}
