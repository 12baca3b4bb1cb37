/* pop3-client-private.h: the POP3 session's state, shared by its three
 * parts: pop3-client.c (the commands of both roles, input, life cycle),
 * pop3-login.c (the login role: USER/PASS/APOP/AUTH/STLS, the hand-off
 * or relay to the mail session) and pop3-mail.c (the mail role: the
 * TRANSACTION commands, and the start of a mail session). */
#ifndef POP3_CLIENT_PRIVATE_H
#define POP3_CLIENT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "ioloop.h"
#include "pop3-client.h"
#include "pop3-commands.h"
#include "pop3-mailbox.h"
#include "pop3-stuff.h"
#include "sasl-server.h"
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

/* pop3-client.c */
extern const struct conn_callbacks pop3_client_callbacks;
/* A session without its connection yet. */
struct pop3_client *pop3_client_new(struct ioloop *loop,
				    const struct pop3_settings *set,
				    const char *remote_ip);
/* Sends text and CRLF. */
void pop3_reply(struct pop3_client *client, const char *text);
/* Ends the session once the output is sent. */
void pop3_client_close(struct pop3_client *client);
/* -ERR text; too many of them close the session. */
void pop3_bad_command(struct pop3_client *client, const char *text);
/* Whether USER/PASS and AUTH PLAIN/LOGIN may be used now. */
bool pop3_clear_passwords_ok(const struct pop3_client *client);
/* The SASL mechanisms offered now, space separated. */
void pop3_sasl_mechs(const struct pop3_client *client, struct str *dest);
void pop3_cmd_capa(struct pop3_client *client);
void pop3_cmd_lang(struct pop3_client *client,
		   const struct pop3_command *cmd);
/* The session is over: callbacks, then freed. */
void pop3_client_end(struct pop3_client *client);

/* pop3-login.c */
/* A command in the AUTHORIZATION state. */
void pop3_login_command(struct pop3_client *client,
			const struct pop3_command *cmd);
/* A client's line while relaying to the mail session. */
void pop3_relay_line(struct pop3_client *client, const char *line,
		     size_t len);
/* After a step of AUTH's SASL exchange. */
void pop3_sasl_continue(struct pop3_client *client,
			enum sasl_server_status status, const char *error);

/* pop3-mail.c */
/* A command in the TRANSACTION state. */
void pop3_mail_command(struct pop3_client *client,
		       const struct pop3_command *cmd);
/* The output callback: sends the next part of a message. */
void pop3_mail_output_drained(struct conn *conn, void *context);

#endif
