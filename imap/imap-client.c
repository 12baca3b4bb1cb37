/* imap-client.c: the IMAP session: input, dispatch through the command
 * table, replies, continuations (AUTHENTICATE, IDLE) and, in the
 * pre-login process, the relay to the mail session after login. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-compress.h"
#include "imap-hibernate.h"
#include "imap-mailbox.h"
#include "imap-quota.h"
#include "imap-shared.h"
#include "instance.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "sasl-server.h"
#include "sasl.h"

/* Raw mode for the relay: everything from here on. */
#define RELAY_RAW_SIZE ((size_t)1 << 62)

static void client_line(struct conn *conn, const char *line, size_t len,
			void *context);
static void client_raw(struct conn *conn, const void *data, size_t len,
		       bool last, void *context);
static void client_too_long(struct conn *conn, void *context);
static void client_drained(struct conn *conn, void *context);
static void client_disconnected(struct conn *conn,
				enum conn_disconnect_reason reason,
				const char *text, void *context);
static void client_tls_ready(struct conn *conn, void *context);

static const struct conn_callbacks client_conn_callbacks = {
	.line = client_line,
	.line_too_long = client_too_long,
	.raw = client_raw,
	.output_drained = client_drained,
	.tls_ready = client_tls_ready,
	.disconnected = client_disconnected,
};

int imap_client_write(struct imap_client *client, const void *data,
		      size_t len)
{
	if (len > 0 && client->conn != NULL)
		return conn_write(client->conn, data, len) > 0 ? 1 : 0;
	return 1;
}

static void output_end(struct imap_client *client)
{
	if (client->output_free != NULL)
		client->output_free(client->output_ctx);
	client->output_func = NULL;
	client->output_free = NULL;
	client->output_ctx = NULL;
}

void imap_client_output_start(struct imap_client *client,
			      imap_client_output_func *func,
			      void (*free_ctx)(void *ctx), void *ctx)
{
	client->output_func = func;
	client->output_free = free_ctx;
	client->output_ctx = ctx;
	client->cont = IMAP_CONT_OUTPUT;
	if (client->conn != NULL)
		conn_input_pause(client->conn);
}

void imap_client_send(struct imap_client *client, const char *line)
{
	if (client->conn == NULL)
		return;
	conn_cork(client->conn);
	conn_write_str(client->conn, line);
	conn_write(client->conn, "\r\n", 2);
	conn_uncork(client->conn);
}

void imap_client_printf(struct imap_client *client, const char *fmt, ...)
{
	va_list ap;
	struct str s;

	str_init(&s, 128);
	va_start(ap, fmt);
	str_vprintfa(&s, fmt, ap);
	va_end(ap);
	imap_client_send(client, str_c(&s));
	str_free(&s);
}

static void __attribute__((format(printf, 3, 0)))
cmd_reply(struct imap_cmd *cmd, const char *status, const char *fmt,
	  va_list ap)
{
	struct str s;

	str_init(&s, 128);
	str_printfa(&s, "%s %s ", cmd->tag, status);
	str_vprintfa(&s, fmt, ap);
	imap_client_send(cmd->client, str_c(&s));
	str_free(&s);
}

bool imap_cmd_expunge_ok(const struct imap_cmd *cmd)
{
	const struct imap_command *c = imap_command_find(cmd->name);

	return cmd->uid || c == NULL || (c->flags & IMAP_CMD_NO_EXPUNGE) == 0;
}

void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	if (cmd->client->mbox != NULL)
		imap_mailbox_sync(cmd->client, imap_cmd_expunge_ok(cmd));
	va_start(ap, fmt);
	cmd_reply(cmd, "OK", fmt, ap);
	va_end(ap);
}

void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_reply(cmd, "NO", fmt, ap);
	va_end(ap);
}

void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_reply(cmd, "BAD", fmt, ap);
	va_end(ap);
}

bool imap_client_plaintext_ok(const struct imap_client *client)
{
	return client->tls || !client->set->tls_required ||
	       client->tls_ctx == NULL;
}

bool imap_client_mech_offered(const struct imap_client *client,
			      enum sasl_mech mech)
{
	if (!imap_settings_mech_offered(client->set, sasl_mech_name(mech),
					client->tls))
		return false;
	return !sasl_mech_sends_password(mech) ||
	       imap_client_plaintext_ok(client);
}

void imap_client_capability(struct imap_client *client, struct str *out)
{
	str_append(out, "IMAP4rev1 IMAP4rev2");
	if (client->state == IMAP_STATE_NOT_AUTH) {
		if (client->tls_ctx != NULL && !client->tls)
			str_append(out, " STARTTLS");
		if (!imap_client_plaintext_ok(client))
			str_append(out, " LOGINDISABLED");
		for (int m = 0; m < SASL_MECH_COUNT; m++)
			if (imap_client_mech_offered(client, (enum sasl_mech)m))
				str_printfa(out, " AUTH=%s",
					    sasl_mech_name((enum sasl_mech)m));
		str_append(out, " SASL-IR LOGIN-REFERRALS");
	}
	/* Only what the command table implements: IDLE, UIDPLUS and MOVE
	 * are advertised when their commands exist. */
	str_append(out, " LITERAL+ ID ENABLE NAMESPACE CHILDREN "
			"UNSELECT SPECIAL-USE CREATE-SPECIAL-USE UTF8=ACCEPT");
	str_append(out, " UIDPLUS MOVE MULTIAPPEND BINARY IDLE");
	str_append(out, " CONDSTORE QRESYNC LIST-EXTENDED LIST-STATUS "
			"STATUS=SIZE QUOTA QUOTA=RES-STORAGE "
			"QUOTA=RES-MESSAGE ACL RIGHTS=texk");
	if (client->state != IMAP_STATE_NOT_AUTH && client->compress_ok &&
	    client->compress == NULL)
		str_append(out, " COMPRESS=DEFLATE");
	str_append(out, " ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT "
			"CONTEXT=SEARCH CONTEXT=SORT PARTIAL "
			"THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN");
}

void imap_client_mailbox_vanished(struct imap_client *client)
{
	imap_client_send(client, "* BYE The selected mailbox was deleted or "
				 "renamed by another session");
	imap_client_close(client);
}

void imap_client_close(struct imap_client *client)
{
	client->state = IMAP_STATE_LOGOUT;
	if (client->conn != NULL)
		conn_close(client->conn);
}

/* ---- the mailbox's idle work ---- */

static void idle_work_run(void *context)
{
	struct imap_client *client = context;

	client->work_timer = NULL;
	if (client->ended || client->conn == NULL ||
	    client->state != IMAP_STATE_SELECTED)
		return;
	/* a command still answering: armed again when it is done */
	if (client->cont != IMAP_CONT_NONE && client->cont != IMAP_CONT_IDLE)
		return;
	/* a command waits: it goes first (this runs after the loop read
	 * it, the next time round) */
	if (!conn_input_waiting(client->conn) &&
	    !imap_mailbox_idle_work(client->mbox))
		return;
	imap_client_idle_work_arm(client);
}

void imap_client_idle_work_arm(struct imap_client *client)
{
	if (client->work_timer == NULL && !client->ended &&
	    imap_mailbox_idle_work_due(client->mbox))
		client->work_timer = timeout_add_once(client->loop, 0,
						      idle_work_run, client);
}

static void client_end(struct imap_client *client)
{
	if (client->ended)
		return;
	client->ended = true;
	if (client->cb != NULL && client->cb->ended != NULL)
		client->cb->ended(client, client->context);
}

/* Runs one parsed command. */
static void client_dispatch(struct imap_client *client)
{
	size_t count;
	const struct imap_arg *args = imap_parser_args(client->parser, &count);
	struct imap_cmd cmd = {
		.client = client,
		.tag = imap_parser_tag(client->parser),
	};

	if (args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(&cmd, "Command name must be an atom");
		return;
	}
	const struct imap_command *c = imap_command_find(args[0].str);
	args++;
	count--;
	if (c == NULL && strcasecmp(args[-1].str, "UID") == 0 && count > 0 &&
	    args[0].type == IMAP_ARG_ATOM) {
		c = imap_command_find(args[0].str);
		if (c == NULL || (c->flags & IMAP_CMD_UID) == 0) {
			imap_cmd_bad(&cmd, "Unknown UID command");
			return;
		}
		cmd.uid = true;
		args++;
		count--;
	}
	if (c == NULL) {
		imap_cmd_bad(&cmd, "Unknown command");
		client->bad_commands++;
		return;
	}
	cmd.name = c->name;
	cmd.args = args;
	cmd.count = count;
	if (client->state == IMAP_STATE_NOT_AUTH &&
	    (c->flags & IMAP_CMD_NOT_AUTH) == 0) {
		imap_cmd_bad(&cmd, "%s needs a login first", c->name);
		client->bad_commands++;
		return;
	}
	if (client->state != IMAP_STATE_NOT_AUTH &&
	    (c->flags & IMAP_CMD_AUTH) == 0) {
		imap_cmd_bad(&cmd, "Already logged in");
		return;
	}
	if ((c->flags & IMAP_CMD_SELECTED) != 0 &&
	    client->state != IMAP_STATE_SELECTED) {
		imap_cmd_bad(&cmd, "No mailbox selected");
		return;
	}
	if (client->state == IMAP_STATE_SELECTED &&
	    strcmp(c->name, "LOGOUT") != 0 && strcmp(c->name, "SELECT") != 0 &&
	    strcmp(c->name, "EXAMINE") != 0 &&
	    strcmp(c->name, "UNSELECT") != 0 &&
	    imap_mailbox_vanished(client->mbox)) {
		imap_client_mailbox_vanished(client);
		return;
	}
	if (client->imap4rev2 && c->func == cmd_search && count > 0 &&
	    !imap_arg_atom_equals(&args[0], "RETURN")) {
		/* IMAP4rev2 (RFC 9051 6.4.4): SEARCH without RETURN
		 * answers as RETURN (ALL) does, with ESEARCH */
		struct imap_arg *v = xreallocarray(NULL, count + 2,
						   sizeof(*v));
		memset(v, 0, 2 * sizeof(*v));
		v[0].type = IMAP_ARG_ATOM;
		v[0].str = (char *)"RETURN";
		v[0].len = 6;
		v[1].type = IMAP_ARG_LIST;
		memcpy(v + 2, args, count * sizeof(*v));
		cmd.args = v;
		cmd.count = count + 2;
		c->func(&cmd);
		free(v);
		return;
	}
	c->func(&cmd);
}

/* Feeds bytes to the parser and acts on what it finds. */
static void client_feed(struct imap_client *client, const void *data,
			size_t len)
{
	const char *p = data;

	while (len > 0 || imap_parser_raw_wanted(client->parser) == 0) {
		size_t used = 0;
		enum imap_parse_result r =
			imap_parser_feed(client->parser, p, len, &used);
		p += used;
		len -= used;
		if (used > 0 || r != IMAP_PARSE_MORE)
			client->mid_command = r == IMAP_PARSE_MORE ||
					      r == IMAP_PARSE_LITERAL;
		switch (r) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_LITERAL:
			imap_client_send(client, "+ Ready for literal data");
			continue;
		case IMAP_PARSE_ERROR: {
			const char *tag = imap_parser_tag(client->parser);
			imap_client_printf(client, "%s BAD %s",
					   tag != NULL ? tag : "*",
					   imap_parser_error(client->parser));
			if (client->state == IMAP_STATE_NOT_AUTH &&
			    ++client->bad_commands >
				    (unsigned)client->set->max_bad_commands) {
				imap_client_send(client,
						 "* BYE Too many errors");
				imap_client_close(client);
				return;
			}
			continue;
		}
		case IMAP_PARSE_DONE:
			client_dispatch(client);
			if (client->cont != IMAP_CONT_HANDED_OFF &&
			    client->parser != NULL)
				imap_parser_reset(client->parser);
			if (client->cont != IMAP_CONT_NONE ||
			    client->state == IMAP_STATE_LOGOUT)
				return;
			continue;
		}
		break;
	}
	uint64_t want = imap_parser_raw_wanted(client->parser);
	if (want > 0 && client->conn != NULL)
		conn_input_raw(client->conn, (size_t)want);
	imap_client_idle_work_arm(client);
}

/* AUTHENTICATE takes whole lines (cmd-login.c). */
void imap_client_auth_line(struct imap_client *client, const char *line,
			   size_t len);

static void client_line(struct conn *conn, const char *line, size_t len,
			void *context)
{
	struct imap_client *client = context;

	(void)conn;
	client->last_input_ms = ioloop_now_ms(client->loop);
	if (client->state == IMAP_STATE_LOGOUT)
		return;
	switch (client->cont) {
	case IMAP_CONT_AUTH:
		imap_client_auth_line(client, line, len);
		return;
	case IMAP_CONT_RELAY:
		/* the line arrived before the switch to raw mode */
		conn_write(client->relay, line, len);
		conn_write(client->relay, "\r\n", 2);
		return;
	case IMAP_CONT_IDLE:
		imap_client_idle_line(client, line, len);
		return;
	case IMAP_CONT_HANDED_OFF:
	case IMAP_CONT_OUTPUT:
	case IMAP_CONT_COMPRESS:
		return;
	case IMAP_CONT_NONE:
		break;
	}
	client_feed(client, line, len);
	if (client->cont == IMAP_CONT_NONE && client->conn != NULL &&
	    client->state != IMAP_STATE_LOGOUT &&
	    imap_parser_raw_wanted(client->parser) == 0)
		client_feed(client, "\r\n", 2);
}

static void client_raw(struct conn *conn, const void *data, size_t len,
		       bool last, void *context)
{
	struct imap_client *client = context;

	(void)conn;
	(void)last;
	client->last_input_ms = ioloop_now_ms(client->loop);
	if (client->cont == IMAP_CONT_RELAY) {
		if (conn_write(client->relay, data, len) == 0)
			conn_input_pause(client->conn);
		return;
	}
	client_feed(client, data, len);
}

static void client_too_long(struct conn *conn, void *context)
{
	struct imap_client *client = context;

	(void)conn;
	imap_parser_reset(client->parser);
	imap_client_send(client, "* BAD Command line too long");
}

static void client_drained(struct conn *conn, void *context)
{
	struct imap_client *client = context;

	(void)conn;
	if (client->relay != NULL)
		conn_input_resume(client->relay);
	if (client->cont == IMAP_CONT_OUTPUT && client->output_func != NULL &&
	    client->output_func(client, client->output_ctx)) {
		output_end(client);
		client->cont = IMAP_CONT_NONE;
		if (client->conn != NULL)
			conn_input_resume(client->conn);
		imap_client_idle_work_arm(client);
	}
}

static void client_disconnected(struct conn *conn,
				enum conn_disconnect_reason reason,
				const char *text, void *context)
{
	struct imap_client *client = context;

	(void)conn;
	(void)reason;
	if (client->user != NULL && !client->hibernated)
		log_info("imapd: user=%s: disconnected: %s", client->user,
			 text);
	client_end(client);
}

static void client_tls_ready(struct conn *conn, void *context)
{
	struct imap_client *client = context;

	(void)conn;
	client->tls = true;
}

/* ---- relay (pre-login process) ---- */

static void relay_raw(struct conn *conn, const void *data, size_t len,
		      bool last, void *context)
{
	struct imap_client *client = context;

	(void)conn;
	(void)last;
	if (conn_write(client->conn, data, len) == 0)
		conn_input_pause(client->relay);
}

static void relay_line(struct conn *conn, const char *line, size_t len,
		       void *context)
{
	relay_raw(conn, line, len, false, context);
	relay_raw(conn, "\r\n", 2, false, context);
}

static void relay_drained(struct conn *conn, void *context)
{
	struct imap_client *client = context;

	(void)conn;
	conn_input_resume(client->conn);
}

static void relay_disconnected(struct conn *conn,
			       enum conn_disconnect_reason reason,
			       const char *text, void *context)
{
	struct imap_client *client = context;

	(void)conn;
	(void)reason;
	(void)text;
	imap_client_close(client);
}

static const struct conn_callbacks relay_callbacks = {
	.line = relay_line,
	.raw = relay_raw,
	.output_drained = relay_drained,
	.disconnected = relay_disconnected,
};

void imap_client_login(struct imap_client *client,
		       const struct imap_login_request *req)
{
	const char *text = NULL;
	enum imap_login_result r =
		client->cb->login(client, req, &text, client->context);

	switch (r) {
	case IMAP_LOGIN_OK:
		break;
	case IMAP_LOGIN_FAILED:
		imap_client_printf(client, "%s NO [AUTHENTICATIONFAILED] %s",
				   req->tag, text != NULL ? text :
				   "Authentication failed");
		client->bad_commands++;
		return;
	case IMAP_LOGIN_REFUSED:
		imap_client_printf(client, "%s NO [CONTACTADMIN] %s", req->tag,
				   text != NULL ? text : "Login refused");
		return;
	case IMAP_LOGIN_REFERRAL:
		/* RFC 2221 section 4.1: not served here, try there */
		imap_client_printf(client, "%s NO [REFERRAL %s] Your mailbox "
					   "is on another server", req->tag,
				   text != NULL ? text : "");
		return;
	case IMAP_LOGIN_TEMPFAIL:
		imap_client_printf(client, "%s NO [UNAVAILABLE] %s", req->tag,
				   text != NULL ? text :
				   "Temporary failure, try again later");
		return;
	}
	if (client->cont == IMAP_CONT_NONE)
		client->cont = IMAP_CONT_HANDED_OFF;
}

void imap_client_start_relay(struct imap_client *client, int fd)
{
	struct conn_settings cs = {
		.max_line_len = 65536,
		.write_timeout_msecs = 300 * 1000,
	};

	client->relay = conn_create(client->loop, fd, &cs, &relay_callbacks,
				    client);
	conn_input_raw(client->relay, RELAY_RAW_SIZE);
	client->cont = IMAP_CONT_RELAY;
	conn_input_raw(client->conn, RELAY_RAW_SIZE);
}

/* ---- creation ---- */

static struct imap_client *client_new(struct ioloop *loop, struct conn *conn,
				      const struct imap_settings *set,
				      const struct imap_client_callbacks *cb,
				      void *context)
{
	struct imap_client *client = xcalloc(1, sizeof(*client));
	struct imap_parser_settings ps = {
		.max_line = (size_t)set->max_line,
		.max_literal = (uint64_t)set->max_literal,
	};

	client->loop = loop;
	client->conn = conn;
	client->set = set;
	client->cb = cb;
	client->context = context;
	client->parser = imap_parser_create(&ps);
	client->idle_inotify_fd = -1;
	conn_set_context(conn, client);
	return client;
}

const struct conn_callbacks *imap_client_conn_callbacks(void)
{
	return &client_conn_callbacks;
}

struct imap_client *
imap_client_create_login(struct ioloop *loop, struct conn *conn,
			 const struct imap_settings *set,
			 struct tls_ctx *tls_ctx, bool implicit_tls,
			 const char *remote_ip,
			 const struct imap_client_callbacks *cb, void *context)
{
	struct imap_client *client = client_new(loop, conn, set, cb, context);
	struct str s;

	client->tls_ctx = implicit_tls ? NULL : tls_ctx;
	client->tls = implicit_tls;
	client->remote_ip = xstrdup(remote_ip != NULL ? remote_ip : "");
	client->state = IMAP_STATE_NOT_AUTH;
	str_init(&s, 256);
	str_append(&s, "* OK [CAPABILITY ");
	imap_client_capability(client, &s);
	str_append(&s, "] Courier-suite IMAP ready.");
	imap_client_send(client, str_c(&s));
	str_free(&s);
	return client;
}

/* A logged-in session, before its greeting. */
static struct imap_client *
client_new_mail(struct ioloop *loop, struct conn *conn,
		const struct imap_settings *set, const char *root,
		const char *user, bool compress_ok,
		const struct imap_client_callbacks *cb, void *context)
{
	struct imap_client *client = client_new(loop, conn, set, cb, context);

	client->compress_ok = compress_ok;

	client->root = xstrdup(root);
	client->user = xstrdup(user);
	client->groups = imap_acl_groups_parse(getenv("OPTIONS"),
					       &client->group_count);
	if (set->shared_folders) {
		char *base = instance_etc_path(IMAP_SHARED_INDEX_FILE);
		client->shared_index_path =
			imap_shared_index_path(base, getenv("OPTIONS"));
		free(base);
	}
	client->state = IMAP_STATE_AUTH;
	client->remote_ip = xstrdup("");
	client->last_input_ms = ioloop_now_ms(loop);
	return client;
}

struct imap_client *
imap_client_create_mail(struct ioloop *loop, struct conn *conn,
			const struct imap_settings *set, const char *root,
			const char *user, const char *tag, bool compress_ok,
			const struct imap_client_callbacks *cb, void *context)
{
	struct imap_client *client = client_new_mail(loop, conn, set, root,
						     user, compress_ok, cb,
						     context);
	struct str s;

	/* IMAP_EMPTYTRASH at login (and at logout, client_free()) */
	imap_quota_empty_trash(client, time(NULL));
	str_init(&s, 256);
	if (tag != NULL)
		str_printfa(&s, "%s OK [CAPABILITY ", tag);
	else
		str_append(&s, "* PREAUTH [CAPABILITY ");
	imap_client_capability(client, &s);
	str_printfa(&s, "] %s", tag != NULL ? "Logged in" :
			"Logged in as the maildir's owner");
	imap_client_send(client, str_c(&s));
	str_free(&s);
	return client;
}

struct imap_client *
imap_client_create_restored(struct ioloop *loop, struct conn *conn,
			    const struct imap_settings *set, const char *root,
			    const char *user, bool compress_ok,
			    const void *blob, size_t len,
			    const struct imap_client_callbacks *cb,
			    void *context)
{
	struct imap_client *client = client_new_mail(loop, conn, set, root,
						     user, compress_ok, cb,
						     context);
	struct imap_hibernate_state st;
	const char *error;

	if (imap_hibernate_parse(blob, len, &st, &error) < 0 ||
	    imap_hibernate_restore(client, &st, &error) < 0) {
		log_error("imapd: user=%s: cannot restore the hibernated "
			  "session: %s", user, error);
		imap_client_send(client, "* BYE [UNAVAILABLE] The session "
					 "could not be resumed; please log in "
					 "again");
		imap_hibernate_state_free(&st);
		/* as if it had hibernated: no EMPTYTRASH, no logout log */
		client->hibernated = true;
		imap_client_close(client);
		return client;
	}
	if (str_len(&st.input) > 0 &&
	    conn_input_prepend(conn, str_c(&st.input), str_len(&st.input)) <
		    0) {
		log_error("imapd: user=%s: hibernated input too long", user);
		imap_client_send(client, "* BYE [UNAVAILABLE] The session "
					 "could not be resumed");
		client->hibernated = true;
		imap_client_close(client);
	}
	imap_hibernate_state_free(&st);
	return client;
}

/* ---- hibernation ---- */

static void hibernate_timer(void *context);

static void hibernate_arm(struct imap_client *client, uint64_t msecs)
{
	timeout_remove(&client->hib_timer);
	if (client->hib_msecs == 0)
		return;
	if (msecs > UINT32_MAX / 2)
		msecs = UINT32_MAX / 2;
	client->hib_timer = timeout_add_once(client->loop, (unsigned)msecs,
					     hibernate_timer, client);
}

/* Tries to hand the state over; true when done (the session ended). */
static bool hibernate_try(struct imap_client *client)
{
	struct imap_hibernate_state st;
	const char *why;
	struct str blob;

	if (client->cb == NULL || client->cb->hibernate == NULL ||
	    !imap_hibernate_capture(client, &st, &why))
		return false;
	str_init(&st.input, 64);
	int fd = conn_detach(&client->conn, &st.input);
	if (fd < 0) {
		imap_hibernate_state_free(&st);
		return false;
	}
	str_init(&blob, 256);
	bool ok = imap_hibernate_write(&st, &blob) == 0 &&
		  client->cb->hibernate(client, str_c(&blob), str_len(&blob),
					client->idle_inotify_fd,
					client->context);
	str_free(&blob);
	if (ok) {
		close(fd);
		imap_hibernate_state_free(&st);
		client->hibernated = true;
		client_end(client);
		return true;
	}
	/* taken back: the same connection, as it was */
	struct conn_settings cs = {
		.max_line_len = (size_t)client->set->max_line,
		.idle_timeout_msecs = client->set->timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
	};
	client->conn = conn_create(client->loop, fd, &cs,
				   imap_client_conn_callbacks(), client);
	if (str_len(&st.input) > 0 &&
	    conn_input_prepend(client->conn, str_c(&st.input),
			       str_len(&st.input)) < 0)
		imap_client_close(client);
	imap_hibernate_state_free(&st);
	return false;
}

static void hibernate_timer(void *context)
{
	struct imap_client *client = context;
	uint64_t now = ioloop_now_ms(client->loop);
	uint64_t idle = now - client->last_input_ms;

	client->hib_timer = NULL;
	if (client->ended || client->state == IMAP_STATE_LOGOUT)
		return;
	if (idle + 10 < client->hib_msecs) {
		hibernate_arm(client, client->hib_msecs - idle);
		return;
	}
	if (!hibernate_try(client))
		hibernate_arm(client, client->hib_msecs);
}

void imap_client_set_hibernate(struct imap_client *client, unsigned int secs)
{
	client->hib_msecs = secs * 1000;
	hibernate_arm(client, client->hib_msecs);
}

static void client_free(struct imap_client *client)
{
	timeout_remove(&client->hib_timer);
	timeout_remove(&client->compress_timer);
	timeout_remove(&client->work_timer);
	imap_compress_destroy(&client->compress);
	output_end(client);
	imap_client_idle_stop(client);
	imap_mailbox_close(&client->mbox);
	if (client->root != NULL && !client->hibernated)
		imap_quota_empty_trash(client, time(NULL));
	imap_parser_destroy(&client->parser);
	sasl_server_destroy(&client->sasl);
	if (client->relay != NULL)
		conn_destroy(&client->relay);
	free(client->cont_tag);
	free(client->root);
	free(client->user);
	free(client->shared_index_path);
	if (client->shared_index != NULL) {
		imap_shared_index_free(client->shared_index);
		free(client->shared_index);
	}
	imap_acl_groups_free(client->groups, client->group_count);
	free(client->remote_ip);
	free(client);
}

void imap_client_destroy(struct imap_client **client)
{
	if (*client == NULL)
		return;
	if ((*client)->conn != NULL)
		conn_destroy(&(*client)->conn);
	client_free(*client);
	*client = NULL;
}

struct conn *imap_client_detach_conn(struct imap_client *client)
{
	struct conn *conn = client->conn;

	client->conn = NULL;
	return conn;
}

void imap_client_set_tls_conn(struct imap_client *client, struct conn *conn)
{
	client->conn = conn;
	conn_set_context(conn, client);
	client->tls = true;
	client->tls_ctx = NULL;
	client->cont = IMAP_CONT_NONE;
	imap_parser_reset(client->parser);
}

struct conn *imap_client_conn(struct imap_client *client)
{
	return client->conn;
}
