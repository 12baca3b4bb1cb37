/* pop3-mail.c: the mail role of a POP3 session: the TRANSACTION commands
 * (STAT, LIST, UIDL, RETR, TOP, DELE, RSET, QUIT's update) and the start
 * of a mail session: on a pipe (tunnel), on a socket, or taking the
 * client's socket from the login process. */
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
#include "secure.h"

/* ---- mail role ---- */

static bool msg_arg(struct pop3_client *client, const char *arg,
		    uint32_t *n_r)
{
	if (pop3_parse_msgnum(arg, pop3_mailbox_count(client->mb), n_r) < 0) {
		pop3_bad_command(client, "Invalid message number.");
		return false;
	}
	if (pop3_mailbox_is_deleted(client->mb, *n_r)) {
		pop3_reply(client, "-ERR Message is deleted.");
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
			pop3_client_close(client);
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

void pop3_mail_output_drained(struct conn *conn, void *context)
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
		pop3_bad_command(client, "Invalid line count.");
		return;
	}
	int ret = pop3_mailbox_open_message(client->mb, n, &fd, &error);
	if (ret < 0) {
		ctx_error(client->log, "open message %u: %s", n, error);
		pop3_reply(client, "-ERR [SYS/TEMP] Cannot read the message.");
		return;
	}
	if (ret == 0) {
		pop3_reply(client, "-ERR Message was deleted by another session.");
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
				pop3_reply(client, "-ERR [SYS/TEMP] Cannot read "
					      "the message.");
			} else {
				pop3_reply(client, "-ERR [UTF8] This message has "
					      "UTF-8 headers: send UTF8 "
					      "before logging in to read "
					      "it.");
			}
			return;
		}
	}
	if (top) {
		pop3_reply(client, "+OK headers follow.");
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
		pop3_reply(client, "-ERR [SYS/TEMP] Some deleted messages were "
			      "not removed.");
	} else {
		client->dele_count = (uint32_t)ret;
		pop3_reply(client, "+OK Bye-bye.");
	}
	pop3_client_close(client);
}

void pop3_mail_command(struct pop3_client *client,
			 const struct pop3_command *cmd)
{
	const struct pop3_command_def *def = cmd->def;
	uint32_t n, count;
	uint64_t octets;

	if ((def->flags & POP3_CMDF_TRANSACTION) == 0) {
		pop3_bad_command(client, "Already logged in.");
		return;
	}
	switch (def->id) {
	case POP3_CMD_CAPA:
		pop3_cmd_capa(client);
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
		pop3_reply(client, "+OK Deleted.");
		break;
	case POP3_CMD_NOOP:
		pop3_reply(client, "+OK Yup.");
		break;
	case POP3_CMD_LANG:
		pop3_cmd_lang(client, cmd);
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
		pop3_bad_command(client, "Already logged in.");
		break;
	}
}

/* A mail session without its connection yet. */
static struct pop3_client *
mail_new(struct ioloop *loop, const struct pop3_settings *set,
	 const char *maildir, const char *user, const char *remote_ip,
	 bool utf8, void (*on_end)(void *context), void *context)
{
	struct pop3_client *client = pop3_client_new(loop, set, remote_ip);

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
		client->conn = conn_create(loop, fd_in, &cs, &pop3_client_callbacks,
					   client);
	else
		client->conn = conn_create_pair(loop, fd_in, fd_out, &cs,
						&pop3_client_callbacks, client);
	const char *first = mail_open(client);

	pop3_reply(client, first);
	if (!str_begins_with(first, "+OK"))
		pop3_client_close(client);
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
	pop3_client_end(client);
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
					   &pop3_client_callbacks, client);
		client->handoff_client_fd = -1;
		/* The login process relayed nothing: the client has not
		 * seen our first line yet. */
		pop3_reply(client, "+OK logged in.");
	} else {
		client->conn = conn_create(client->loop, client->handoff_fd,
					   &cs, &pop3_client_callbacks, client);
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
		pop3_client_close(client);
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
	client->conn = conn_create(loop, fd, &cs, &pop3_client_callbacks, client);
	pop3_reply(client, first);
	pop3_client_close(client);
	return client;
}
