/* imap-compress.c: COMPRESS=DEFLATE (RFC 4978): the command, and the raw
 * DEFLATE streams between the peer's socket and the session's new conn. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "conn.h"
#include "imap-client-private.h"
#include "imap-compress.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "str.h"

#define CHUNK 16384

struct imap_compress {
	struct ioloop *loop;
	int peer;		/* the socket to the peer: compressed */
	int local;		/* our end of the socketpair: plain */
	struct io *peer_in, *peer_out, *local_in, *local_out;
	z_stream inf, def;
	struct str from_peer;	/* compressed, not inflated yet */
	struct str to_local;	/* inflated, not written yet */
	struct str to_peer;	/* deflated, not written yet */
	bool peer_eof, local_eof, local_shut, failed;
};

static void update(struct imap_compress *c);

static void consume(struct str *s, size_t n)
{
	size_t len = str_len(s);

	if (n >= len) {
		str_truncate(s, 0);
		return;
	}
	memmove(s->data, s->data + n, len - n);
	str_truncate(s, len - n);
}

/* Inflates what came from the peer while to_local has room. */
static void inflate_some(struct imap_compress *c)
{
	unsigned char out[CHUNK];

	while (!c->failed && str_len(&c->from_peer) > 0 &&
	       str_len(&c->to_local) < IMAP_COMPRESS_BUFFER) {
		c->inf.next_in = (unsigned char *)c->from_peer.data;
		c->inf.avail_in = (uInt)str_len(&c->from_peer);
		c->inf.next_out = out;
		c->inf.avail_out = sizeof(out);
		int r = inflate(&c->inf, Z_SYNC_FLUSH);
		size_t used = str_len(&c->from_peer) - c->inf.avail_in;
		size_t made = sizeof(out) - c->inf.avail_out;

		consume(&c->from_peer, used);
		str_append_n(&c->to_local, out, made);
		if (r == Z_STREAM_END || (r != Z_OK && r != Z_BUF_ERROR)) {
			/* a peer's stream never ends while the session runs */
			log_warning("imapd: COMPRESS: bad DEFLATE data from "
				    "the client: %s",
				    c->inf.msg != NULL ? c->inf.msg : "end");
			c->failed = true;
		} else if (used == 0 && made == 0) {
			break;
		}
	}
}

/* Deflates bytes the session wrote, flushing each piece so the peer can
 * read the whole response at once. */
static void deflate_data(struct imap_compress *c, const void *data,
			 size_t len)
{
	unsigned char out[CHUNK];

	c->def.next_in = (unsigned char *)data;
	c->def.avail_in = (uInt)len;
	do {
		c->def.next_out = out;
		c->def.avail_out = sizeof(out);
		(void)deflate(&c->def, Z_SYNC_FLUSH);
		str_append_n(&c->to_peer, out, sizeof(out) - c->def.avail_out);
	} while (c->def.avail_out == 0);
}

static void peer_readable(void *context)
{
	struct imap_compress *c = context;
	char buf[CHUNK];
	ssize_t n = read(c->peer, buf, sizeof(buf));

	if (n > 0) {
		str_append_n(&c->from_peer, buf, (size_t)n);
		inflate_some(c);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		c->peer_eof = true;
	}
	update(c);
}

static void local_writable(void *context)
{
	struct imap_compress *c = context;
	ssize_t n = write(c->local, c->to_local.data, str_len(&c->to_local));

	if (n > 0) {
		consume(&c->to_local, (size_t)n);
		inflate_some(c);
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		c->failed = true;
	}
	update(c);
}

static void local_readable(void *context)
{
	struct imap_compress *c = context;
	char buf[CHUNK];
	ssize_t n = read(c->local, buf, sizeof(buf));

	if (n > 0)
		deflate_data(c, buf, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		c->local_eof = true;
	update(c);
}

static void peer_writable(void *context)
{
	struct imap_compress *c = context;
	ssize_t n = write(c->peer, c->to_peer.data, str_len(&c->to_peer));

	if (n > 0)
		consume(&c->to_peer, (size_t)n);
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		c->peer_eof = c->local_eof = true;	/* the peer is gone */
	update(c);
}

static void want(struct imap_compress *c, struct io **io, int fd,
		 enum io_condition cond, io_callback_t *cb, bool on)
{
	if (on && *io == NULL)
		*io = io_add(c->loop, fd, cond, cb, c);
	else if (!on && *io != NULL)
		io_remove(io);
}

/* Watches what can make progress now. */
static void update(struct imap_compress *c)
{
	if (c->failed && !c->local_shut) {
		/* bad data or a write error: the session sees its
		 * connection close */
		(void)shutdown(c->local, SHUT_RDWR);
		c->local_shut = true;
		str_truncate(&c->to_local, 0);
	}
	if (c->peer_eof && str_len(&c->to_local) == 0 && !c->local_shut) {
		(void)shutdown(c->local, SHUT_WR);
		c->local_shut = true;
	}
	want(c, &c->peer_in, c->peer, IO_READ, peer_readable,
	     !c->peer_eof && !c->failed && str_len(&c->from_peer) == 0);
	want(c, &c->local_out, c->local, IO_WRITE, local_writable,
	     !c->failed && str_len(&c->to_local) > 0);
	want(c, &c->local_in, c->local, IO_READ, local_readable,
	     !c->local_eof && str_len(&c->to_peer) < IMAP_COMPRESS_BUFFER);
	want(c, &c->peer_out, c->peer, IO_WRITE, peer_writable,
	     str_len(&c->to_peer) > 0 && !(c->peer_eof && c->local_eof));
}

static struct imap_compress *compress_create(struct ioloop *loop, int peer,
					     int local)
{
	struct imap_compress *c = xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->peer = peer;
	c->local = local;
	str_init(&c->from_peer, CHUNK);
	str_init(&c->to_local, CHUNK);
	str_init(&c->to_peer, CHUNK);
	/* raw DEFLATE both ways (RFC 4978 section 4: no zlib header) */
	if (inflateInit2(&c->inf, -15) != Z_OK ||
	    deflateInit2(&c->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		log_fatal("imapd: COMPRESS: zlib cannot be set up");
	return c;
}

/* Writes to_peer with a deadline; the session is over. */
static void flush_peer_blocking(struct imap_compress *c, int msecs)
{
	while (str_len(&c->to_peer) > 0 && msecs > 0) {
		struct pollfd p = { .fd = c->peer, .events = POLLOUT };

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return;
		msecs -= 100;
		ssize_t n = write(c->peer, c->to_peer.data,
				  str_len(&c->to_peer));
		if (n > 0)
			consume(&c->to_peer, (size_t)n);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return;
	}
}

void imap_compress_destroy(struct imap_compress **cp)
{
	struct imap_compress *c = *cp;

	if (c == NULL)
		return;
	io_remove(&c->peer_in);
	io_remove(&c->peer_out);
	io_remove(&c->local_in);
	io_remove(&c->local_out);
	/* what the session wrote last (its conn is closed: read to EOF) */
	if (!c->local_eof) {
		char buf[CHUNK];
		ssize_t n;

		while ((n = read(c->local, buf, sizeof(buf))) > 0)
			deflate_data(c, buf, (size_t)n);
	}
	flush_peer_blocking(c, 5000);
	inflateEnd(&c->inf);
	deflateEnd(&c->def);
	close(c->local);
	close(c->peer);
	str_free(&c->from_peer);
	str_free(&c->to_local);
	str_free(&c->to_peer);
	x_free(*cp);
}

int imap_compress_start(struct imap_client *client, const char **error_r)
{
	struct str pending;
	int sv[2];

	if (client->compress != NULL) {
		*error_r = "Compression is already active";
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		*error_r = "Cannot make a socket pair";
		return -1;
	}
	str_init(&pending, 64);
	int fd = conn_detach(&client->conn, &pending);
	if (fd < 0) {
		str_free(&pending);
		close(sv[0]);
		close(sv[1]);
		*error_r = "The connection cannot be compressed";
		return -1;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(sv[1], F_SETFD, FD_CLOEXEC);
	struct conn_settings cs = {
		.max_line_len = (size_t)client->set->max_line,
		.idle_timeout_msecs = client->set->timeout * 1000,
		.write_timeout_msecs = 300 * 1000,
	};
	client->conn = conn_create(client->loop, sv[1], &cs,
				   imap_client_conn_callbacks(), client);
	struct imap_compress *c = compress_create(client->loop, fd, sv[0]);
	/* what the client sent after COMPRESS is compressed already */
	str_append_n(&c->from_peer, pending.data, str_len(&pending));
	str_free(&pending);
	inflate_some(c);
	update(c);
	client->compress = c;
	return 0;
}

/* Runs from the loop once the tagged OK is on its way. */
static void compress_begin(void *context)
{
	struct imap_client *client = context;
	const char *error;

	client->compress_timer = NULL;
	if (client->conn == NULL)
		return;
	if (conn_output_pending(client->conn) > 0) {
		client->compress_timer = timeout_add_once(
			client->loop, 10, compress_begin, client);
		return;
	}
	client->cont = IMAP_CONT_NONE;
	if (imap_compress_start(client, &error) < 0) {
		/* the client now speaks DEFLATE: nothing else can follow */
		log_error("imapd: COMPRESS: %s", error);
		imap_client_close(client);
	}
}

void cmd_compress(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;

	if (cmd->count != 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "COMPRESS takes an algorithm");
		return;
	}
	if (strcasecmp(cmd->args[0].str, "DEFLATE") != 0) {
		imap_cmd_bad(cmd, "Unknown compression algorithm");
		return;
	}
	if (client->compress != NULL) {
		imap_cmd_no(cmd, "[COMPRESSIONACTIVE] DEFLATE is active");
		return;
	}
	if (!client->compress_ok) {
		imap_cmd_no(cmd, "[CANNOT] Compression is not available here");
		return;
	}
	imap_cmd_ok(cmd, "DEFLATE active");
	/* nothing more is read until the stream is set up */
	client->cont = IMAP_CONT_COMPRESS;
	conn_input_pause(client->conn);
	client->compress_timer = timeout_add_once(client->loop, 0,
						  compress_begin, client);
}
