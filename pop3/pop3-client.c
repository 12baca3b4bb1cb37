/* pop3-client.c: the POP3 session state machine (login and mail roles),
 * on lib/conn. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "charset.h"
#include "conn.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "pop3-client.h"
#include "pop3-commands.h"
#include "pop3-mailbox.h"
#include "pop3-stuff.h"
#include "sasl-server.h"
#include "sasl.h"
#include "secure.h"
#include "str.h"

/* Longest user name kept from USER (authlib's limit). */
#define POP3_MAX_USER 512
/* Bytes of a message read per step while sending it. */
#define POP3_READ_CHUNK 65536
/* The mail session's first line is at most this long. */
#define POP3_MAX_FIRST_LINE 1024
/* Bytes of a header looked at for UTF-8 (RFC 6856). */
#define POP3_MAX_HEADER_SCAN (256 * 1024)
/* Wait after a failed login before answering (slows guessing). */
#define POP3_FAIL_DELAY_MSECS 1000
/* The hand-off message from the login process to the mail session:
 * magic, then the length of the client's pipelined input that follows
 * (SCM_RIGHTS carries the client's socket, or nothing: relay). */
#define POP3_HANDOFF_MAGIC 0x504f5033u
#define POP3_HANDOFF_MAX_INPUT 65536

enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_SASL,	/* inside AUTH: lines are SASL responses */
	POP3_STATE_LOGIN_WAIT,	/* credentials handed on, input paused */
	POP3_STATE_RELAY,	/* logged in: relaying to the mail session */
	POP3_STATE_HANDED_OFF,	/* the mail session has the client's socket */
	POP3_STATE_HANDOFF_WAIT, /* mail role: waiting for the socket */
	POP3_STATE_TRANSACTION,
	POP3_STATE_ENDING,	/* QUIT answered or closing */
};

struct pop3_client {
	struct ioloop *loop;
	struct conn *conn;
	const struct pop3_settings *set;
	struct log_ctx *log;
	enum pop3_state state;
	bool mail_role;
	unsigned int bad_commands;
	bool destroyed_called;
	bool greeted;
	const char *lang;	/* LANG's choice (a static tag) */

	/* login role */
	struct tls_ctx *tls_ctx;
	bool starttls_offered;
	bool utf8;
	char *remote_ip, *local_ip;
	char *user;		/* from USER */
	char *apop_stamp;	/* "<...>" of the greeting, or NULL */
	struct sasl_server *sasl;
	unsigned int auth_failures;
	int pending_fd;		/* our end while LOGIN_WAIT */
	struct conn *relay;	/* the mail session, in RELAY */
	int relay_fd;		/* its socket (owned by relay) */
	bool relay_first_done;
	struct str first_line;
	bool client_paused_for_relay, relay_paused_for_client;
	struct timeout *fail_timeout;
	struct str fail_reply;
	struct pop3_login_callbacks cb;

	/* mail role */
	struct pop3_mailbox *mb;
	char *maildir;
	int msg_fd;		/* message being sent, or -1 */
	bool msg_paused;	/* input paused while msg_fd is sent */
	struct pop3_stuffer stuffer;
	uint32_t retr_count, dele_count;
	void (*on_end)(void *context);
	void *on_end_context;
	/* mail role, started by a login session: the socket to it, kept
	 * open until the end (its EOF tells the login process we ended) */
	int handoff_fd;
	struct io *handoff_io;
	struct timeout *handoff_timeout;
	unsigned char handoff_hdr[8];
	size_t handoff_hdr_got;
	uint32_t handoff_len;
	int handoff_client_fd;
	struct str handoff_input;
};

struct pop3_handoff_hdr {
	uint32_t magic;
	uint32_t input_len;
};

static void client_free(struct pop3_client *client);
static void client_end(struct pop3_client *client);

/* ---- common ---- */

static void reply(struct pop3_client *client, const char *text)
{
	conn_write_str(client->conn, text);
	conn_write(client->conn, "\r\n", 2);
}

static void client_close(struct pop3_client *client)
{
	if (client->state != POP3_STATE_ENDING) {
		client->state = POP3_STATE_ENDING;
		conn_close(client->conn);
	}
}

static void bad_command(struct pop3_client *client, const char *text)
{
	conn_printf(client->conn, "-ERR %s\r\n", text);
	if (++client->bad_commands >= (unsigned int)client->set->max_bad_commands) {
		reply(client, "-ERR Too many bad commands, closing.");
		ctx_info(client->log, "disconnected: too many bad commands");
		client_close(client);
	}
}

static void on_line_too_long(struct conn *conn, void *context)
{
	struct pop3_client *client = context;

	(void)conn;
	if (client->state == POP3_STATE_RELAY ||
	    client->state == POP3_STATE_ENDING)
		return;
	bad_command(client, "Line too long.");
	if (client->state == POP3_STATE_SASL) {
		sasl_server_destroy(&client->sasl);
		client->state = POP3_STATE_AUTHORIZATION;
	}
}

static bool clear_passwords_ok(const struct pop3_client *client)
{
	return conn_is_tls(client->conn) || !client->set->tls_required;
}

/* The SASL mechanisms offered now: POP3AUTH, plus POP3AUTH_TLS under TLS;
 * only those we implement, and no clear-password ones when refused. */
static void sasl_mechs(const struct pop3_client *client, struct str *dest)
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
		    !clear_passwords_ok(client))
			continue;
		if (str_len(dest) > 0)
			str_append_c(dest, ' ');
		str_append(dest, name);
	}
}

static void cmd_capa(struct pop3_client *client)
{
	const struct pop3_settings *set = client->set;
	struct str *s = str_new(256);

	str_append(s, "+OK Capability list follows\r\n"
		      "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
		      "PIPELINING\r\n");
	if (!client->mail_role) {
		struct str *mechs = str_new(64);

		if (clear_passwords_ok(client))
			str_append(s, "USER\r\n");
		sasl_mechs(client, mechs);
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
static void cmd_lang(struct pop3_client *client,
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
			client_end(client);
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
		reply(client, "-ERR [SYS/TEMP] Unable to open the mailbox.");
		str_clear(&client->first_line);
		relay_destroy(client);
		client_close(client);
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
			reply(client, "-ERR [SYS/TEMP] Internal error.");
			client_close(client);
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
		reply(client, "-ERR [SYS/TEMP] Unable to open the mailbox.");
		client->state = POP3_STATE_AUTHORIZATION;
		str_clear(&client->first_line);
		relay_destroy(client);
		conn_input_resume(client->conn);
		return;
	}
	relay_destroy(client);
	if (client->state == POP3_STATE_HANDED_OFF) {
		/* The session that had the client's socket ended. */
		client_end(client);
		return;
	}
	/* QUIT, or the mail session ended: finish the client too. */
	client_close(client);
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

static void relay_line(struct pop3_client *client, const char *line,
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
		reply(client, "-ERR Too many failed logins, closing.");
		conn_uncork(client->conn);
		client_close(client);
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
		reply(client, "-ERR [SYS/TEMP] Temporary problem, try again "
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
		reply(client, "-ERR [SYS/TEMP] Temporary problem, try again "
			      "later.");
	}
}

static void cmd_user(struct pop3_client *client, const char *user)
{
	if (strlen(user) > POP3_MAX_USER) {
		bad_command(client, "User name too long.");
		return;
	}
	/* RFC 6856: a user name beyond ASCII is UTF-8 (UTF8 USER). */
	if (!charset_utf8_is_valid(user, strlen(user))) {
		bad_command(client, "User name is not valid UTF-8.");
		return;
	}
	free(client->user);
	client->user = xstrdup(user);
	reply(client, "+OK Password required.");
}

static void cmd_pass(struct pop3_client *client, const char *pass)
{
	if (client->user == NULL) {
		bad_command(client, "USER first.");
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
		bad_command(client, "APOP is not available.");
		return;
	}
	if (strlen(user) > POP3_MAX_USER || strlen(digest) != 32 ||
	    !charset_utf8_is_valid(user, strlen(user))) {
		client->auth_failures++;
		reply(client, "-ERR [AUTH] Login failed.");
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
		reply(client, "-ERR [AUTH] Authorization identity refused.");
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

static void sasl_continue(struct pop3_client *client,
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
		reply(client, "-ERR Authentication cancelled.");
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
			reply(client, "-ERR Too many failed logins, closing.");
			client_close(client);
		}
		return;
	}
}

static void cmd_auth(struct pop3_client *client,
		     const struct pop3_command *cmd)
{
	struct str *mechs = str_new(64);
	enum sasl_mech mech;

	sasl_mechs(client, mechs);
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
		    !clear_passwords_ok(client)) {
			reply(client, "-ERR [AUTH] TLS required to log in.");
			return;
		}
		bad_command(client, "Unsupported authentication mechanism.");
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
		bad_command(client, "Unsupported authentication mechanism.");
		return;
	}
	const char *error = NULL;
	enum sasl_server_status status = sasl_server_start(
		client->sasl, cmd->argc > 1 ? cmd->args[1] : NULL,
		cmd->argc > 1 ? strlen(cmd->args[1]) : 0, &error);
	sasl_continue(client, status, error);
}

static void cmd_stls(struct pop3_client *client)
{
	const char *error;

	if (!client->starttls_offered || conn_is_tls(client->conn)) {
		bad_command(client, conn_is_tls(client->conn) ?
					    "Already using TLS." :
					    "STLS is not available.");
		return;
	}
	reply(client, "+OK Begin SSL/TLS negotiation now.");
	if (conn_start_tls(client->conn, client->tls_ctx, NULL, &error) < 0) {
		ctx_error(client->log, "STLS: %s", error);
		client_close(client);
		return;
	}
	/* RFC 2595: forget everything learnt before TLS. */
	x_free(client->user);
}

static void login_command(struct pop3_client *client,
			  const struct pop3_command *cmd)
{
	const struct pop3_command_def *def = cmd->def;

	if ((def->flags & POP3_CMDF_AUTHORIZATION) == 0) {
		bad_command(client, "Not logged in.");
		return;
	}
	if ((def->flags & POP3_CMDF_CLEAR_PASSWORD) != 0 &&
	    !clear_passwords_ok(client)) {
		reply(client, "-ERR [AUTH] TLS required to log in.");
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
		cmd_capa(client);
		break;
	case POP3_CMD_UTF8:
		client->utf8 = true;
		reply(client, "+OK UTF8 enabled");
		break;
	case POP3_CMD_LANG:
		cmd_lang(client, cmd);
		break;
	case POP3_CMD_QUIT:
		reply(client, "+OK Bye-bye.");
		client_close(client);
		break;
	default:
		bad_command(client, "Not logged in.");
		break;
	}
}

/* ---- mail role ---- */

static bool msg_arg(struct pop3_client *client, const char *arg,
		    uint32_t *n_r)
{
	if (pop3_parse_msgnum(arg, pop3_mailbox_count(client->mb), n_r) < 0) {
		bad_command(client, "Invalid message number.");
		return false;
	}
	if (pop3_mailbox_is_deleted(client->mb, *n_r)) {
		reply(client, "-ERR Message is deleted.");
		return false;
	}
	return true;
}

static void send_message_continue(struct pop3_client *client)
{
	struct str *out = str_new(POP3_READ_CHUNK + POP3_READ_CHUNK / 8);
	char *buf = xmalloc(POP3_READ_CHUNK);

	while (client->msg_fd >= 0) {
		ssize_t n = read(client->msg_fd, buf, POP3_READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* The +OK is out: all we can do is cut the
			 * connection (the client sees no final dot). */
			ctx_error(client->log, "read %s: %s", client->maildir,
				  strerror(errno));
			close(client->msg_fd);
			client->msg_fd = -1;
			client_close(client);
			break;
		}
		str_clear(out);
		if (n > 0)
			pop3_stuff(&client->stuffer, buf, (size_t)n, out);
		if (n == 0 || client->stuffer.done) {
			pop3_stuff_finish(&client->stuffer, out);
			close(client->msg_fd);
			client->msg_fd = -1;
			conn_write(client->conn, str_c(out), str_len(out));
			if (client->msg_paused) {
				client->msg_paused = false;
				conn_input_resume(client->conn);
			}
			break;
		}
		if (conn_write(client->conn, str_c(out), str_len(out)) == 0)
			break; /* output_drained calls us again */
	}
	free(buf);
	str_destroy(&out);
}

static void mail_output_drained(struct conn *conn, void *context)
{
	struct pop3_client *client = context;

	(void)conn;
	if (client->msg_fd >= 0)
		send_message_continue(client);
}

/* Whether the message on fd has a header with UTF-8 beyond ASCII (an
 * internationalized message, RFC 6532), read with pread so that the
 * file offset stays at 0.  Raw 8-bit bytes that are not UTF-8 (legacy
 * charsets) do not count: those were always sent as they are.  Only the
 * first POP3_MAX_HEADER_SCAN bytes of a header are looked at.  Returns
 * 1, 0, or -1 on a read error. */
static int header_is_utf8(int fd)
{
	char buf[8192];
	struct str hdr;
	bool line_start = true, eight_bit = false, end = false;
	off_t off = 0;
	int ret = 0;

	str_init(&hdr, 1024);
	while (!end && str_len(&hdr) < POP3_MAX_HEADER_SCAN) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		off += n;
		size_t i;
		for (i = 0; i < (size_t)n && !end; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c >= 0x80)
				eight_bit = true;
			if (c == '\n') {
				end = line_start;
				line_start = true;
			} else if (c != '\r') {
				line_start = false;
			}
		}
		if (str_len(&hdr) + i > POP3_MAX_HEADER_SCAN)
			i = POP3_MAX_HEADER_SCAN - str_len(&hdr);
		str_append_n(&hdr, buf, i);
	}
	if (ret == 0 && eight_bit) {
		/* A cut in the middle of a sequence is not an error. */
		size_t len = str_len(&hdr);
		const unsigned char *h = (const unsigned char *)str_c(&hdr);
		size_t k = len;

		while (k > 0 && len - k < 4 && (h[k - 1] & 0xc0) == 0x80)
			k--;
		if (k > 0 && len - k < 4 && h[k - 1] >= 0xc0)
			len = k - 1;
		ret = charset_utf8_is_valid(h, len) ? 1 : 0;
	}
	str_free(&hdr);
	return ret;
}

static void cmd_retr_top(struct pop3_client *client,
			 const struct pop3_command *cmd, bool top)
{
	uint32_t n;
	uint64_t lines = 0;
	const char *error;
	int fd;

	if (!msg_arg(client, cmd->args[0], &n))
		return;
	if (top && pop3_parse_count(cmd->args[1], &lines) < 0) {
		bad_command(client, "Invalid line count.");
		return;
	}
	int ret = pop3_mailbox_open_message(client->mb, n, &fd, &error);
	if (ret < 0) {
		ctx_error(client->log, "open message %u: %s", n, error);
		reply(client, "-ERR [SYS/TEMP] Cannot read the message.");
		return;
	}
	if (ret == 0) {
		reply(client, "-ERR Message was deleted by another session.");
		return;
	}
	/* RFC 6856 section 3: a client that did not send UTF8 gets no
	 * UTF-8 header; the server may downgrade or refuse.  We refuse
	 * with the UTF8 response code (the message can still be listed and
	 * deleted, and a UTF8 client gets it unchanged). */
	if (!client->utf8) {
		ret = header_is_utf8(fd);
		if (ret != 0) {
			close(fd);
			if (ret < 0) {
				ctx_error(client->log, "read message %u: %s",
					  n, strerror(errno));
				reply(client, "-ERR [SYS/TEMP] Cannot read "
					      "the message.");
			} else {
				reply(client, "-ERR [UTF8] This message has "
					      "UTF-8 headers: send UTF8 "
					      "before logging in to read "
					      "it.");
			}
			return;
		}
	}
	if (top) {
		reply(client, "+OK headers follow.");
	} else {
		conn_printf(client->conn, "+OK %llu octets follow.\r\n",
			    (unsigned long long)pop3_mailbox_size(client->mb,
								  n));
		client->retr_count++;
	}
	pop3_mailbox_retrieved(client->mb, n);
	pop3_stuffer_init(&client->stuffer, top, lines);
	client->msg_fd = fd;
	send_message_continue(client);
	if (client->msg_fd >= 0) {
		/* Output is full: no more commands until the message is
		 * out (output_drained goes on with it).  Small messages
		 * never get here, so a synchronous client costs no extra
		 * loop round. */
		client->msg_paused = true;
		conn_input_pause(client->conn);
	}
}

/* Appends v in decimal. */
static void append_decimal(struct str *s, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	str_append_n(s, p, (size_t)(buf + sizeof(buf) - p));
}

static void cmd_list_uidl(struct pop3_client *client,
			  const struct pop3_command *cmd, bool uidl)
{
	uint32_t n, count = pop3_mailbox_count(client->mb);

	if (cmd->argc > 0) {
		if (!msg_arg(client, cmd->args[0], &n))
			return;
		if (uidl)
			conn_printf(client->conn, "+OK %u %s\r\n", n,
				    pop3_mailbox_uidl(client->mb, n));
		else
			conn_printf(client->conn, "+OK %u %llu\r\n", n,
				    (unsigned long long)pop3_mailbox_size(
					    client->mb, n));
		return;
	}
	struct str *s = str_new(count * (uidl ? 24 : 16) + 64);
	str_append(s, "+OK\r\n");
	/* One line per message: no printf per line (20,000 lines). */
	for (n = 1; n <= count; n++) {
		if (pop3_mailbox_is_deleted(client->mb, n))
			continue;
		append_decimal(s, n);
		str_append_c(s, ' ');
		if (uidl)
			str_append(s, pop3_mailbox_uidl(client->mb, n));
		else
			append_decimal(s, pop3_mailbox_size(client->mb, n));
		str_append_n(s, "\r\n", 2);
	}
	str_append(s, ".\r\n");
	conn_write(client->conn, str_c(s), str_len(s));
	str_destroy(&s);
}

static void cmd_quit_update(struct pop3_client *client)
{
	const char *error;
	uint32_t n = pop3_mailbox_count(client->mb);

	/* POP3_EXPIRE=0: what was retrieved goes (RFC 2449 EXPIRE 0). */
	if (strcmp(client->set->expire, "0") == 0)
		pop3_mailbox_delete_retrieved(client->mb);
	if (client->set->log_deletions) {
		for (uint32_t i = 1; i <= n; i++) {
			if (pop3_mailbox_is_deleted(client->mb, i))
				ctx_info(client->log, "deleted %s",
					 pop3_mailbox_uidl(client->mb, i));
		}
	}
	int ret = pop3_mailbox_commit(client->mb, &error);
	if (ret < 0) {
		ctx_error(client->log, "UPDATE failed: %s", error);
		reply(client, "-ERR [SYS/TEMP] Some deleted messages were "
			      "not removed.");
	} else {
		client->dele_count = (uint32_t)ret;
		reply(client, "+OK Bye-bye.");
	}
	client_close(client);
}

static void mail_command(struct pop3_client *client,
			 const struct pop3_command *cmd)
{
	const struct pop3_command_def *def = cmd->def;
	uint32_t n, count;
	uint64_t octets;

	if ((def->flags & POP3_CMDF_TRANSACTION) == 0) {
		bad_command(client, "Already logged in.");
		return;
	}
	switch (def->id) {
	case POP3_CMD_CAPA:
		cmd_capa(client);
		break;
	case POP3_CMD_STAT:
		pop3_mailbox_stat(client->mb, &count, &octets);
		conn_printf(client->conn, "+OK %u %llu\r\n", count,
			    (unsigned long long)octets);
		break;
	case POP3_CMD_LIST:
		cmd_list_uidl(client, cmd, false);
		break;
	case POP3_CMD_UIDL:
		cmd_list_uidl(client, cmd, true);
		break;
	case POP3_CMD_RETR:
		cmd_retr_top(client, cmd, false);
		break;
	case POP3_CMD_TOP:
		cmd_retr_top(client, cmd, true);
		break;
	case POP3_CMD_DELE:
		if (!msg_arg(client, cmd->args[0], &n))
			return;
		pop3_mailbox_delete(client->mb, n);
		reply(client, "+OK Deleted.");
		break;
	case POP3_CMD_NOOP:
		reply(client, "+OK Yup.");
		break;
	case POP3_CMD_LANG:
		cmd_lang(client, cmd);
		break;
	case POP3_CMD_RSET:
		pop3_mailbox_reset(client->mb);
		pop3_mailbox_stat(client->mb, &count, &octets);
		conn_printf(client->conn, "+OK Maildrop has %u messages "
					  "(%llu octets)\r\n",
			    count, (unsigned long long)octets);
		break;
	case POP3_CMD_QUIT:
		cmd_quit_update(client);
		break;
	default:
		bad_command(client, "Already logged in.");
		break;
	}
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
		relay_line(client, line, len);
		return;
	case POP3_STATE_SASL: {
		enum sasl_server_status status = sasl_server_step(
			client->sasl, line, len, &error);
		sasl_continue(client, status, error);
		return;
	}
	default:
		break;
	}
	char *copy = xmemdup(line, len);
	if (pop3_command_parse(copy, len, &cmd, &error) < 0) {
		bad_command(client, error);
	} else if (client->mail_role) {
		mail_command(client, &cmd);
	} else {
		login_command(client, &cmd);
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
	client_end(client);
}

static const struct conn_callbacks client_callbacks = {
	.line = on_line,
	.line_too_long = on_line_too_long,
	.output_drained = mail_output_drained,
	.disconnected = on_disconnected,
};

/* ---- life cycle ---- */

static struct pop3_client *client_new(struct ioloop *loop,
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
		reply(client, "+OK Hello there.");
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
	.output_drained = mail_output_drained,
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
	struct pop3_client *client = client_new(loop, set, remote_ip);
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
						  &client_callbacks,
				   client);
	if (implicit_tls)
		return client; /* greeting after the handshake */
	client->starttls_offered = tls_ctx != NULL && set->master.starttls;
	greet(client);
	return client;
}

/* A mail session without its connection yet. */
static struct pop3_client *
mail_new(struct ioloop *loop, const struct pop3_settings *set,
	 const char *maildir, const char *user, const char *remote_ip,
	 bool utf8, void (*on_end)(void *context), void *context)
{
	struct pop3_client *client = client_new(loop, set, remote_ip);

	client->mail_role = true;
	client->utf8 = utf8;
	client->maildir = xstrdup(maildir);
	client->on_end = on_end;
	client->on_end_context = context;
	client->log = log_ctx_new("user=%s ip=%s", user, client->remote_ip);
	client->state = POP3_STATE_TRANSACTION;
	return client;
}

static void mail_conn_settings(const struct pop3_client *client,
			       struct conn_settings *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->max_line_len = POP3_MAX_LINE;
	cs->idle_timeout_msecs = client->set->idle_timeout * 1000;
	cs->write_timeout_msecs = client->set->idle_timeout * 1000;
}

/* Opens the mailbox; returns the session's first line (without CRLF),
 * which starts with "+OK" when the session runs. */
static const char *mail_open(struct pop3_client *client)
{
	struct pop3_mailbox_settings ms = {
		.lock = client->set->mailbox_lock,
		.login_delay = client->set->login_delay,
	};
	const char *error;
	enum pop3_mailbox_error err =
		pop3_mailbox_open(client->maildir, &ms, &client->mb, &error);

	switch (err) {
	case POP3_MAILBOX_OK: {
		uint32_t count;
		uint64_t octets;

		pop3_mailbox_stat(client->mb, &count, &octets);
		ctx_info(client->log, "logged in: %u messages, %llu octets",
			 count, (unsigned long long)octets);
		return "+OK logged in.";
	}
	case POP3_MAILBOX_IN_USE:
		ctx_info(client->log, "login refused: %s", error);
		return "-ERR [IN-USE] Mailbox is in use by another session, "
		       "try again later.";
	case POP3_MAILBOX_LOGIN_DELAY:
		ctx_info(client->log, "login refused: %s", error);
		return "-ERR [LOGIN-DELAY] Logged in too recently, try again "
		       "later.";
	case POP3_MAILBOX_PERM:
		ctx_error(client->log, "cannot open the mailbox: %s", error);
		return "-ERR [SYS/PERM] Unable to open the mailbox.";
	case POP3_MAILBOX_TEMP:
	default:
		ctx_error(client->log, "cannot open the mailbox: %s", error);
		return "-ERR [SYS/TEMP] Unable to open the mailbox, try again "
		       "later.";
	}
}

struct pop3_client *
pop3_client_create_mail(struct ioloop *loop, int fd_in, int fd_out,
			const struct pop3_settings *set, const char *maildir,
			const char *user, const char *remote_ip, bool utf8,
			void (*on_end)(void *context), void *context)
{
	struct pop3_client *client = mail_new(loop, set, maildir, user,
					      remote_ip, utf8, on_end, context);
	struct conn_settings cs;

	mail_conn_settings(client, &cs);
	if (fd_out < 0)
		client->conn = conn_create(loop, fd_in, &cs, &client_callbacks,
					   client);
	else
		client->conn = conn_create_pair(loop, fd_in, fd_out, &cs,
						&client_callbacks, client);
	const char *first = mail_open(client);

	reply(client, first);
	if (!str_begins_with(first, "+OK"))
		client_close(client);
	return client;
}

static void handoff_stop_waiting(struct pop3_client *client)
{
	io_remove(&client->handoff_io);
	if (client->handoff_timeout != NULL)
		timeout_remove(&client->handoff_timeout);
}

static void handoff_fail(struct pop3_client *client, const char *why)
{
	ctx_error(client->log, "waiting for the connection from the login "
			       "process: %s", why);
	handoff_stop_waiting(client);
	client_end(client);
}

static void handoff_timed_out(void *context)
{
	struct pop3_client *client = context;

	client->handoff_timeout = NULL;
	handoff_fail(client, "timed out");
}

/* The whole hand-off message is in: serve the client's socket (or, with
 * none, the login process's relay on our socket). */
static void handoff_done(struct pop3_client *client)
{
	struct conn_settings cs;
	int ret;

	handoff_stop_waiting(client);
	mail_conn_settings(client, &cs);
	client->state = POP3_STATE_TRANSACTION;
	if (client->handoff_client_fd >= 0) {
		client->conn = conn_create(client->loop,
					   client->handoff_client_fd, &cs,
					   &client_callbacks, client);
		client->handoff_client_fd = -1;
		/* The login process relayed nothing: the client has not
		 * seen our first line yet. */
		reply(client, "+OK logged in.");
	} else {
		client->conn = conn_create(client->loop, client->handoff_fd,
					   &cs, &client_callbacks, client);
		client->handoff_fd = -1;
	}
	ret = conn_input_prepend(client->conn, client->handoff_input.data,
				 str_len(&client->handoff_input));
	secure_wipe(client->handoff_input.data,
		    str_len(&client->handoff_input));
	str_clear(&client->handoff_input);
	if (ret < 0) {
		ctx_error(client->log, "pipelined input from the login process "
				       "too long");
		client_close(client);
	}
}

/* Reads the hand-off message (header, with the client's socket attached
 * to its first byte, then the pipelined input), as it comes. */
static void handoff_read(void *context)
{
	struct pop3_client *client = context;
	struct pop3_handoff_hdr hdr;

	while (client->handoff_hdr_got < sizeof(client->handoff_hdr)) {
		int fd, flags;
		ssize_t n = login_master_recv_fd(
			client->handoff_fd,
			client->handoff_hdr + client->handoff_hdr_got,
			sizeof(client->handoff_hdr) - client->handoff_hdr_got,
			&fd, &flags);

		if (fd >= 0 && client->handoff_client_fd < 0)
			client->handoff_client_fd = fd;
		else if (fd >= 0)
			close(fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			handoff_fail(client, n < 0 ? strerror(errno) : "EOF");
			return;
		}
		if ((flags & MSG_CTRUNC) != 0) {
			handoff_fail(client, "control data truncated");
			return;
		}
		client->handoff_hdr_got += (size_t)n;
	}
	memcpy(&hdr, client->handoff_hdr, sizeof(hdr));
	if (hdr.magic != POP3_HANDOFF_MAGIC ||
	    hdr.input_len > POP3_HANDOFF_MAX_INPUT) {
		handoff_fail(client, "malformed message");
		return;
	}
	while (str_len(&client->handoff_input) < hdr.input_len) {
		char buf[4096];
		size_t want = hdr.input_len - str_len(&client->handoff_input);
		ssize_t n = recv(client->handoff_fd, buf,
				 want < sizeof(buf) ? want : sizeof(buf),
				 MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			handoff_fail(client, n < 0 ? strerror(errno) : "EOF");
			return;
		}
		str_append_n(&client->handoff_input, buf, (size_t)n);
		secure_wipe(buf, (size_t)n);
	}
	handoff_done(client);
}

struct pop3_client *
pop3_client_create_mail_handoff(struct ioloop *loop, int fd,
				const struct pop3_settings *set,
				const char *maildir, const char *user,
				const char *remote_ip, bool utf8,
				void (*on_end)(void *context), void *context)
{
	struct pop3_client *client = mail_new(loop, set, maildir, user,
					      remote_ip, utf8, on_end, context);
	const char *first = mail_open(client);
	struct conn_settings cs;

	if (str_begins_with(first, "+OK")) {
		static const char ok[] = "+OK logged in.\r\n";
		ssize_t n;

		do {
			n = send(fd, ok, sizeof(ok) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		} while (n < 0 && errno == EINTR);
		if (n == (ssize_t)sizeof(ok) - 1) {
			client->handoff_fd = fd;
			client->state = POP3_STATE_HANDOFF_WAIT;
			client->handoff_io = io_add(loop, fd, IO_READ,
						    handoff_read, client);
			client->handoff_timeout = timeout_add_once(
				loop, set->idle_timeout * 1000,
				handoff_timed_out, client);
			return client;
		}
		/* The login process is gone or stuck: the connection's
		 * error ends the session from the loop. */
	}
	mail_conn_settings(client, &cs);
	client->conn = conn_create(loop, fd, &cs, &client_callbacks, client);
	reply(client, first);
	client_close(client);
	return client;
}

static void client_end(struct pop3_client *client)
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
	client_end(client);
}
