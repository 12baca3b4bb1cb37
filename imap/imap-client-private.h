/* imap-client-private.h: the session's state, shared by imap-client.c and
 * the command handlers (cmd-*.c); not for imapd.c. */
#ifndef IMAP_CLIENT_PRIVATE_H
#define IMAP_CLIENT_PRIVATE_H

#include "imap-client.h"
#include "imap-commands.h"
#include "imap-settings.h"
#include "sasl.h"

enum imap_client_cont {
	IMAP_CONT_NONE,
	IMAP_CONT_IDLE,		/* waiting for DONE */
	IMAP_CONT_AUTH,		/* AUTHENTICATE exchange */
	IMAP_CONT_RELAY,	/* pre-login process relaying to the session */
	IMAP_CONT_HANDED_OFF,	/* login accepted; the owner takes over */
	IMAP_CONT_OUTPUT,	/* a command producing output in steps */
	IMAP_CONT_COMPRESS,	/* COMPRESS answered; the stream starts */
};

/* One step of a command with large output (FETCH): writes some, returns
 * true when the command is over (its tagged reply sent), false to be
 * called again when the output buffer has drained. */
typedef bool imap_client_output_func(struct imap_client *client, void *ctx);

struct imap_client {
	struct ioloop *loop;
	struct conn *conn;
	const struct imap_settings *set;
	struct tls_ctx *tls_ctx;
	bool tls;
	char *remote_ip;
	enum imap_client_state state;
	struct imap_parser *parser;
	const struct imap_client_callbacks *cb;
	void *context;
	unsigned int bad_commands;
	bool utf8;		/* ENABLE UTF8=ACCEPT */
	/* CONDSTORE enabled (ENABLE, or a CONDSTORE-enabling command,
	 * RFC 7162 3.1): MODSEQ in every FETCH response with FLAGS */
	bool condstore;
	bool qresync;		/* ENABLE QRESYNC: VANISHED, not EXPUNGE */
	bool imap4rev2;		/* ENABLE IMAP4rev2 (RFC 9051) */
	bool ended;

	/* logged in */
	char *root;		/* the maildir (INBOX) */
	char *user;
	/* the account's group= options (OPTIONS from authlib), for ACL
	 * identifiers group=NAME and administrators */
	char **groups;
	size_t group_count;
	struct imap_mailbox *mbox;
	/* virtual shared folders (imap-shared.h): the index file for this
	 * account (NULL: none for it), and the index as last read */
	char *shared_index_path;
	struct imap_shared_index *shared_index;
	long long shared_mtime, shared_mtime_ns, shared_size;

	/* commands that take more input */
	enum imap_client_cont cont;
	char *cont_tag;
	struct sasl_server *sasl;
	struct timeout *idle_timer;
	int idle_inotify_fd;
	struct io *idle_io;
	imap_client_output_func *output_func;
	void (*output_free)(void *ctx);
	void *output_ctx;

	/* COMPRESS=DEFLATE (imap-compress.c): offered when compress_ok */
	bool compress_ok;
	struct imap_compress *compress;
	struct timeout *compress_timer;

	/* relay (pre-login process after login) */
	struct conn *relay;

	/* hibernation (imap-hibernate.h): a command is being read (the
	 * parser holds part of it), the idle time after which the session
	 * hands its state over (0: never), the last input, its timer, and
	 * whether the state was handed over (the session ends quietly) */
	bool mid_command;
	unsigned int hib_msecs;
	uint64_t last_input_ms;
	struct timeout *hib_timer;
	bool hibernated;

	/* the mailbox's idle work (imap_mailbox_idle_work()), done from
	 * this timer once what was read is answered */
	struct timeout *work_timer;
};

/* Sends a line (CRLF added). */
void imap_client_send(struct imap_client *client, const char *line);
void imap_client_printf(struct imap_client *client, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sends bytes as they are (a response built with literals).  Returns 1,
 * or 0 when the output buffer is past its soft limit (stop producing: see
 * imap_client_output_start()). */
int imap_client_write(struct imap_client *client, const void *data,
		      size_t len);
/* Runs func(client, ctx) whenever the output drains, until it returns
 * true; input is paused meanwhile (pipelined commands wait).  free_ctx
 * frees ctx when the command is over or the session ends first. */
void imap_client_output_start(struct imap_client *client,
			      imap_client_output_func *func,
			      void (*free_ctx)(void *ctx), void *ctx);
/* Tagged replies.  OK first sends the untagged updates of the selected
 * mailbox (new messages, flag changes, and expunges unless the command
 * forbids them). */
void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Whether the command may be followed by untagged EXPUNGE. */
bool imap_cmd_expunge_ok(const struct imap_cmd *cmd);
/* Appends the capability list (without "* CAPABILITY "). */
void imap_client_capability(struct imap_client *client, struct str *out);
/* True when AUTHENTICATE may use mech now: IMAP_AUTH lists it (or
 * IMAP_AUTH_TLS under TLS), and it sends no clear password unless
 * plaintext passwords may be used. */
bool imap_client_mech_offered(const struct imap_client *client,
			      enum sasl_mech mech);
/* True when plaintext passwords may be used now. */
bool imap_client_plaintext_ok(const struct imap_client *client);
/* Ends the session after the output is flushed. */
void imap_client_close(struct imap_client *client);
/* Has the selected mailbox's idle work (imap_mailbox_idle_work()) done,
 * a step at a time, when no command is running and no input waits. */
void imap_client_idle_work_arm(struct imap_client *client);
/* The selected folder is gone (imap_mailbox_vanished()): sends "* BYE"
 * saying so and ends the session. */
void imap_client_mailbox_vanished(struct imap_client *client);
/* IDLE (cmd-idle.c): the line that ends it, and the cleanup of its
 * watches (also when the session ends). */
void imap_client_idle_line(struct imap_client *client, const char *line,
			   size_t len);
void imap_client_idle_stop(struct imap_client *client);
/* Enters IDLE for tag without the continuation (a restored session):
 * the watches, then what changed is reported at once. */
void imap_client_idle_begin(struct imap_client *client, const char *tag);
/* Runs the login callback and answers (pre-login process). */
void imap_client_login(struct imap_client *client,
		       const struct imap_login_request *req);

#endif
