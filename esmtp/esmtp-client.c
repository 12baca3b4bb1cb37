/* esmtp-client.c: one ESMTP client transaction to one server address
 * (connect, EHLO, STARTTLS or SMTPS, AUTH, MAIL/RCPT/DATA pipelined). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "dns.h"
#include "esmtp-client-reply.h"
#include "esmtp-client.h"
#include "log.h"
#include "mem.h"
#include "sasl-client.h"
#include "secure.h"
#include "tls.h"

/* Output is flushed once this much is buffered while sending the data. */
#define DATA_CHUNK (64 * 1024)

struct session {
	const struct esmtp_client_settings *set;
	const struct esmtp_target *target;
	int fd;
	struct tls_session *tls;
	struct esmtp_reply_parser *parser;
	char in[8192];
	size_t in_pos, in_len;
	struct str out;
	struct esmtp_reply reply;
	struct esmtp_ehlo ehlo;
	char *error;		/* why the last I/O step failed */
	bool lost;		/* the connection is unusable */
	bool timed_out;		/* ... because a reply took too long */
};

/* ---- STARTTLS memory ---- */

#define TLS_MEMORY_PERIOD 7200

static char *tls_memory_file(const char *dir, time_t bucket)
{
	return xasprintf("%s/notls.%lld", dir, (long long)bucket);
}

bool esmtp_tls_memory_broken(const char *dir, const char *address, time_t now)
{
	time_t bucket = now / TLS_MEMORY_PERIOD;

	for (time_t b = bucket; b >= bucket - 1; b--) {
		char *path = tls_memory_file(dir, b);
		FILE *f = fopen(path, "r");
		char line[INET6_ADDRSTRLEN + 8];
		bool found = false;

		free(path);
		if (f == NULL)
			continue;
		while (!found && fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			found = strcmp(line, address) == 0;
		}
		fclose(f);
		if (found)
			return true;
	}
	return false;
}

void esmtp_tls_memory_add(const char *dir, const char *address, time_t now)
{
	time_t bucket = now / TLS_MEMORY_PERIOD;
	char *path = tls_memory_file(dir, bucket);
	DIR *d;
	int fd;

	(void)mkdir(dir, 0750);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd >= 0) {
		char *line = xasprintf("%s\n", address);

		/* one short O_APPEND write: lines never mix */
		if (write(fd, line, strlen(line)) < 0)
			log_warning("%s: %s", path, strerror(errno));
		free(line);
		close(fd);
	} else {
		log_warning("%s: %s", path, strerror(errno));
	}
	free(path);
	/* rotate: older logs are forgotten */
	d = opendir(dir);
	while (d != NULL) {
		struct dirent *de = readdir(d);
		char *end;
		long long b;

		if (de == NULL)
			break;
		if (strncmp(de->d_name, "notls.", 6) != 0)
			continue;
		b = strtoll(de->d_name + 6, &end, 10);
		if (*end == '\0' && b < (long long)bucket - 1) {
			char *old = xasprintf("%s/%s", dir, de->d_name);

			(void)unlink(old);
			free(old);
		}
	}
	if (d != NULL)
		closedir(d);
}

/* ---- helpers ---- */

void esmtp_client_xtext(const char *text, struct str *out)
{
	bool valid = true;

	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';
	     p++) {
		if (*p < 33 || *p > 126 || *p == '=') {
			valid = false;
			break;
		}
		if (*p == '+') {
			if (!isxdigit(p[1]) || !isxdigit(p[2]) ||
			    islower(p[1]) || islower(p[2])) {
				valid = false;
				break;
			}
			p += 2;
		}
	}
	if (valid) {
		str_append(out, text);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';
	     p++) {
		if (*p < 33 || *p > 126 || *p == '=' || *p == '+')
			str_printfa(out, "+%02X", *p);
		else
			str_append_c(out, (char)*p);
	}
}

void esmtp_client_dot_stuff(const char *data, size_t len, bool *bol,
			    bool *cr, struct str *out)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (*bol && c == '.') {
			str_append_n(out, data + start, i - start);
			str_append_c(out, '.');
			start = i;
		}
		if (c == '\n') {
			str_append_n(out, data + start, i - start);
			str_append(out, *cr ? "\n" : "\r\n");
			start = i + 1;
			*bol = true;
			*cr = false;
			continue;
		}
		*bol = false;
		*cr = c == '\r';
	}
	str_append_n(out, data + start, len - start);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t deadline_in(unsigned int secs)
{
	return now_ms() + (uint64_t)(secs > 0 ? secs : 1) * 1000;
}

/* Waits until fd is ready; 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			return 0;
		n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -1 : n > 0 ? 1 : 0;
	}
}

static void fail(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->error == NULL) {
		va_start(ap, fmt);
		s->error = xvasprintf(fmt, ap);
		va_end(ap);
	}
	s->lost = true;
}

static int io_flush(struct session *s, uint64_t deadline)
{
	while (!s->lost && str_len(&s->out) > 0) {
		size_t done = 0;
		short ev = POLLOUT;

		if (s->tls != NULL) {
			enum tls_result r = tls_session_write(
				s->tls, str_c(&s->out), str_len(&s->out),
				&done);

			if (r == TLS_ERROR) {
				fail(s, "TLS write: %s",
				     tls_session_error(s->tls));
				return -1;
			}
			if (r == TLS_WANT_READ)
				ev = POLLIN;
			if (r != TLS_DONE)
				done = 0;
		} else {
			ssize_t n = send(s->fd, str_c(&s->out),
					 str_len(&s->out), MSG_NOSIGNAL);

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				fail(s, "write: %s", strerror(errno));
				return -1;
			}
			done = n > 0 ? (size_t)n : 0;
		}
		if (done > 0) {
			str_delete_head(&s->out, done);
			continue;
		}
		if (wait_fd(s->fd, ev, deadline) <= 0) {
			fail(s, "timeout while sending");
			return -1;
		}
	}
	return s->lost ? -1 : 0;
}

/* Reads more bytes into s->in (which must be empty). */
static int io_read(struct session *s, uint64_t deadline)
{
	for (;;) {
		short ev = POLLIN;

		if (s->tls != NULL) {
			size_t n = 0;
			enum tls_result r = tls_session_read(
				s->tls, s->in, sizeof(s->in), &n);

			if (r == TLS_DONE && n > 0) {
				s->in_pos = 0;
				s->in_len = n;
				return 0;
			}
			if (r == TLS_CLOSED) {
				fail(s, "connection closed by the server");
				return -1;
			}
			if (r == TLS_ERROR) {
				fail(s, "TLS read: %s",
				     tls_session_error(s->tls));
				return -1;
			}
			if (r == TLS_WANT_WRITE)
				ev = POLLOUT;
		} else {
			ssize_t n = recv(s->fd, s->in, sizeof(s->in), 0);

			if (n > 0) {
				s->in_pos = 0;
				s->in_len = (size_t)n;
				return 0;
			}
			if (n == 0) {
				fail(s, "connection closed by the server");
				return -1;
			}
			if (errno != EAGAIN && errno != EINTR) {
				fail(s, "read: %s", strerror(errno));
				return -1;
			}
		}
		if (wait_fd(s->fd, ev, deadline) <= 0) {
			fail(s, "timeout waiting for the server's reply");
			s->timed_out = true;
			return -1;
		}
	}
}

/* Flushes output and reads one reply into s->reply.  Returns its code,
 * or -1 when the connection failed (s->error set). */
static int read_reply(struct session *s, unsigned int timeout)
{
	uint64_t deadline = deadline_in(timeout);

	if (io_flush(s, deadline) < 0)
		return -1;
	while (!s->lost) {
		if (s->in_pos < s->in_len) {
			const char *error;
			size_t used;
			int r = esmtp_reply_parser_feed(
				s->parser, s->in + s->in_pos,
				s->in_len - s->in_pos, &used, &s->reply,
				&error);

			s->in_pos += used;
			if (r < 0) {
				fail(s, "garbled reply: %s", error);
				return -1;
			}
			if (r > 0)
				return (int)s->reply.code;
			continue;
		}
		if (io_read(s, deadline) < 0)
			return -1;
	}
	return -1;
}

static void cmd(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void cmd(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vprintfa(&s->out, fmt, ap);
	va_end(ap);
	str_append(&s->out, "\r\n");
}

static char *reply_text(struct session *s)
{
	return esmtp_reply_oneline(&s->reply);
}

/* ---- connection setup ---- */

static int do_connect(struct session *s)
{
	const struct esmtp_target *t = s->target;
	const struct sockaddr_storage *bind_to = t->ss.ss_family == AF_INET6 ?
		&s->set->bind6 : &s->set->bind4;
	uint64_t deadline = deadline_in(s->set->timeout_connect);
	int err = 0;
	socklen_t elen = sizeof(err);

	s->fd = socket(t->ss.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		fail(s, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind_to->ss_family == t->ss.ss_family) {
		socklen_t blen = bind_to->ss_family == AF_INET6 ?
			sizeof(struct sockaddr_in6) :
			sizeof(struct sockaddr_in);

		if (bind(s->fd, (const struct sockaddr *)bind_to, blen) < 0) {
			fail(s, "bind to the outgoing address: %s",
			     strerror(errno));
			return -1;
		}
	}
	if (connect(s->fd, (const struct sockaddr *)&t->ss, t->len) < 0 &&
	    errno != EINPROGRESS) {
		fail(s, "connect: %s", strerror(errno));
		return -1;
	}
	if (wait_fd(s->fd, POLLOUT, deadline) <= 0) {
		fail(s, "connect: timeout");
		return -1;
	}
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 ||
	    err != 0) {
		fail(s, "connect: %s", strerror(err != 0 ? err : errno));
		return -1;
	}
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
			 sizeof(int));
	return 0;
}

static int do_handshake(struct session *s)
{
	uint64_t deadline = deadline_in(s->set->timeout_helo);
	const char *reason;

	s->tls = tls_session_create(s->set->tls_ctx, s->fd, s->target->host[0]
				    == '[' ? NULL : s->target->host);
	for (;;) {
		enum tls_result r = tls_session_handshake(s->tls);
		int w;

		if (r == TLS_DONE)
			break;
		if (r == TLS_ERROR || r == TLS_CLOSED) {
			fail(s, "TLS handshake: %s",
			     tls_session_error(s->tls));
			return -1;
		}
		w = wait_fd(s->fd, r == TLS_WANT_WRITE ? POLLOUT : POLLIN,
			    deadline);
		if (w <= 0) {
			fail(s, "TLS handshake: timeout");
			return -1;
		}
	}
	if (s->set->verify &&
	    tls_session_verify_result(s->tls, &reason) != 1) {
		fail(s, "TLS: the server's certificate does not verify");
		return -1;
	}
	/* RFC 3207 section 4.2: forget everything said before */
	s->in_pos = s->in_len = 0;
	esmtp_reply_parser_reset(s->parser);
	log_debug("TLS with %s [%s]: %s %s", s->target->host,
		  s->target->addr_text, tls_session_protocol(s->tls),
		  tls_session_cipher(s->tls));
	return 0;
}

/* Our name for EHLO: esmtphelo, "*" = the PTR name of our address. */
static char *helo_name(struct session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "";
	struct dns_result res;
	char *name = NULL;

	memset(&res, 0, sizeof(res));
	if (strcmp(s->set->helo, "*") != 0)
		return xstrdup(s->set->helo);
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET,
				  &((struct sockaddr_in *)&ss)->sin_addr,
				  addr, sizeof(addr));
		else
			inet_ntop(AF_INET6,
				  &((struct sockaddr_in6 *)&ss)->sin6_addr,
				  addr, sizeof(addr));
	}
	if (s->set->dns != NULL && addr[0] != '\0' &&
	    dns_lookup_ptr(s->set->dns, addr, &res) == DNS_OK)
		name = xstrdup(res.rrs[0].name);
	dns_result_free(&res);
	if (name == NULL)
		name = addr[0] == '\0' ? xstrdup("localhost") :
			xasprintf(ss.ss_family == AF_INET6 ? "[IPv6:%s]" :
				  "[%s]", addr);
	return name;
}

static int do_ehlo(struct session *s, const char *name)
{
	int code;

	cmd(s, "EHLO %s", name);
	code = read_reply(s, s->set->timeout_helo);
	if (code < 0)
		return -1;
	if (code / 100 == 2) {
		esmtp_ehlo_parse(&s->reply, &s->ehlo);
		return 0;
	}
	if (code / 100 == 5) {
		/* an old server: plain SMTP */
		cmd(s, "HELO %s", name);
		code = read_reply(s, s->set->timeout_helo);
		if (code < 0)
			return -1;
		memset(&s->ehlo, 0, sizeof(s->ehlo));
		if (code / 100 == 2)
			return 0;
	}
	{
		char *r = reply_text(s);

		fail(s, "HELO refused: %s", r);
		free(r);
	}
	return -1;
}

static void set_all(struct esmtp_client_message *msg, enum ctl_status st,
		    const char *diag, bool only_unset)
{
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		struct esmtp_client_rcpt *r = &msg->rcpts[i];

		if (only_unset && r->status != CTL_STATUS_NONE)
			continue;
		r->status = st;
		free(r->diag);
		r->diag = xstrdup(diag);
	}
}

static enum ctl_status status_of(int code)
{
	return code / 100 == 2 ? CTL_STATUS_DELIVERED :
		code / 100 == 5 ? CTL_STATUS_FAILED : CTL_STATUS_DEFERRED;
}

/* One AUTH exchange with mech: 1 accepted, 0 refused (*diag_r: the
 * reply, caller frees), -1 the connection failed. */
static int try_mech(struct session *s, enum sasl_mech mech, char **diag_r)
{
	struct sasl_client *c;
	const char *error;
	struct str line;
	int code, ret = 0;

	*diag_r = NULL;
	c = sasl_client_create(sasl_mech_name(mech), NULL, s->set->auth_user,
			       s->set->auth_pass, &error);
	if (c == NULL) {
		*diag_r = xasprintf("432 4.7.12 esmtpauthclient: %s", error);
		return 0;
	}
	str_init(&line, 256);
	{
		struct str ir;

		str_init(&ir, 256);
		if (sasl_client_initial_response(c, &ir) > 0)
			str_printfa(&line, "AUTH %s %s", sasl_mech_name(mech),
				    str_c(&ir));
		else
			str_printfa(&line, "AUTH %s", sasl_mech_name(mech));
		secure_wipe(ir.data, ir.size);
		str_free(&ir);
	}
	for (;;) {
		str_append(&s->out, str_c(&line));
		str_append(&s->out, "\r\n");
		secure_wipe(line.data, line.size);
		str_clear(&line);
		code = read_reply(s, s->set->timeout_cmd);
		secure_wipe(s->out.data, s->out.size);
		if (code < 0) {
			ret = -1;
			break;
		}
		if (code == 334) {
			const char *ch = esmtp_reply_line(&s->reply, 0);

			if (sasl_client_step(c, ch, strlen(ch), &line,
					     &error) < 0) {
				/* cancel the exchange (RFC 4954 4) */
				str_clear(&line);
				str_append(&s->out, "*\r\n");
				if (read_reply(s, s->set->timeout_cmd) < 0)
					ret = -1;
				else
					*diag_r = xasprintf("454 4.7.0 AUTH %s:"
							    " %s", sasl_mech_name(
							    mech), error);
				break;
			}
			continue;
		}
		if (code / 100 == 2) {
			ret = 1;
		} else {
			char *r = reply_text(s);

			*diag_r = xasprintf("%s (AUTH %s as %s)", r,
					    sasl_mech_name(mech),
					    s->set->auth_user);
			free(r);
		}
		break;
	}
	secure_wipe(line.data, line.size);
	str_free(&line);
	sasl_client_destroy(&c);
	return ret;
}

static bool advertised(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* AUTH: 0 done (or not needed), -1 failed (recipients deferred, or the
 * connection lost).  Mechanisms are tried in the order of preference
 * (CRAM-MD5, PLAIN, LOGIN): a server may offer CRAM-MD5 and then be
 * unable to use it for an account with a hashed password. */
static int do_auth(struct session *s, struct esmtp_client_message *msg)
{
	static const enum sasl_mech order[] = {
		SASL_MECH_CRAM_MD5, SASL_MECH_PLAIN, SASL_MECH_LOGIN,
	};
	bool plaintext_ok = s->tls != NULL || s->set->plaintext_auth;
	char *diag = NULL;
	bool tried = false;

	if (s->set->auth_user == NULL || s->ehlo.auth[0] == '\0')
		return 0;
	for (size_t i = 0; i < N_ELEMENTS(order); i++) {
		enum sasl_mech m;
		int r;

		if (!advertised(s->ehlo.auth, sasl_mech_name(order[i])) ||
		    sasl_client_choose_mech(sasl_mech_name(order[i]),
					    plaintext_ok, &m) < 0)
			continue;
		tried = true;
		free(diag);
		r = try_mech(s, m, &diag);
		if (r > 0) {
			free(diag);
			return 0;
		}
		if (r < 0) {
			free(diag);
			return -1;
		}
		log_info("%s [%s]: %s", s->target->host, s->target->addr_text,
			 diag);
	}
	if (!tried)
		diag = xstrdup("432 4.7.12 no usable AUTH mechanism "
			       "(esmtpauthclient; PLAIN and LOGIN need TLS)");
	/* a refused login is the admin's to fix: try again later */
	if (diag[0] == '5')
		diag[0] = '4';
	if (diag[0] == '4' && diag[3] == ' ' && diag[4] == '5' &&
	    diag[5] == '.')
		diag[4] = '4';
	set_all(msg, CTL_STATUS_DEFERRED, diag, false);
	free(diag);
	return -1;
}

static void mail_params(struct session *s, struct esmtp_client_message *msg,
			uint64_t size, bool send_8bit)
{
	str_printfa(&s->out, "MAIL FROM:<%s>", msg->sender);
	if (msg->smtputf8 && s->ehlo.smtputf8)
		str_append(&s->out, " SMTPUTF8");
	/* Courier's XEXDATA: the reply to the data may be a 558 with each
	 * recipient's own reply (draft-varshavchik-exdata-smtpext 4: on
	 * every MAIL of the session, as the server is the same) */
	if (s->ehlo.exdata)
		str_append(&s->out, " EXDATA");
	if (s->ehlo.size)
		str_printfa(&s->out, " SIZE=%llu", (unsigned long long)size);
	if (send_8bit)
		str_append(&s->out, " BODY=8BITMIME");
	if (s->ehlo.dsn) {
		if (msg->ret == 'F')
			str_append(&s->out, " RET=FULL");
		else if (msg->ret == 'H')
			str_append(&s->out, " RET=HDRS");
		if (msg->envid != NULL && msg->envid[0] != '\0') {
			str_append(&s->out, " ENVID=");
			esmtp_client_xtext(msg->envid, &s->out);
		}
	}
	str_append(&s->out, "\r\n");
}

static void rcpt_params(struct session *s, const struct esmtp_client_rcpt *r)
{
	str_printfa(&s->out, "RCPT TO:<%s>", r->address);
	if (s->ehlo.dsn) {
		if (r->notify & CTL_NOTIFY_NEVER) {
			str_append(&s->out, " NOTIFY=NEVER");
		} else if (r->notify != 0) {
			const char *sep = " NOTIFY=";

			if (r->notify & CTL_NOTIFY_SUCCESS) {
				str_printfa(&s->out, "%sSUCCESS", sep);
				sep = ",";
			}
			if (r->notify & CTL_NOTIFY_FAILURE) {
				str_printfa(&s->out, "%sFAILURE", sep);
				sep = ",";
			}
			if (r->notify & CTL_NOTIFY_DELAY)
				str_printfa(&s->out, "%sDELAY", sep);
		}
		if (r->orcpt != NULL && strchr(r->orcpt, ';') != NULL) {
			const char *semi = strchr(r->orcpt, ';');

			str_append(&s->out, " ORCPT=");
			str_append_n(&s->out, r->orcpt,
				     (size_t)(semi - r->orcpt) + 1);
			esmtp_client_xtext(semi + 1, &s->out);
		}
	}
	str_append(&s->out, "\r\n");
}

/* Sends the message body and the final dot. */
static int send_data(struct session *s, const char *data, size_t size)
{
	uint64_t deadline = deadline_in(s->set->timeout_data);
	bool bol = true, cr = false;

	for (size_t pos = 0; pos < size;) {
		size_t n = size - pos < DATA_CHUNK ? size - pos : DATA_CHUNK;

		esmtp_client_dot_stuff(data + pos, n, &bol, &cr, &s->out);
		pos += n;
		if (io_flush(s, deadline) < 0)
			return -1;
		deadline = deadline_in(s->set->timeout_data);
	}
	str_append(&s->out, bol ? ".\r\n" : "\r\n.\r\n");
	return 0;
}

/* A 558 reply to the data (or the part of one received before the
 * connection was lost): each recipient RCPT accepted (status still
 * NONE), in order, gets its own reply; missing or malformed ones are
 * deferred with missing (draft-varshavchik-exdata-smtpext 7.2: as 451). */
static void exdata_results(struct session *s, struct esmtp_client_message *msg,
			   const struct esmtp_reply *reply, size_t accepted,
			   const char *missing)
{
	char **subs = xcalloc(accepted + 1, sizeof(char *));
	unsigned int *codes = xcalloc(accepted + 1, sizeof(unsigned int));
	size_t n = esmtp_reply_exdata_split(reply, subs, codes, accepted);
	size_t k = 0;

	for (size_t i = 0; i < msg->rcpt_count; i++) {
		struct esmtp_client_rcpt *r = &msg->rcpts[i];

		if (r->status != CTL_STATUS_NONE)
			continue;
		free(r->diag);
		if (k < n) {
			r->status = status_of((int)codes[k]);
			r->diag = subs[k];
			subs[k] = NULL;
		} else {
			r->status = CTL_STATUS_DEFERRED;
			r->diag = xstrdup(missing);
		}
		r->relayed = r->status == CTL_STATUS_DELIVERED &&
			     !s->ehlo.dsn;
		k++;
	}
	for (size_t i = 0; i < n; i++)
		free(subs[i]);
	free(subs);
	free(codes);
}

/* The reply to the data when EXDATA was asked: a 558 comes a recipient
 * at a time, so the timeout runs per line (the draft's section 7.2 wants
 * one per recipient's reply), and it may hold a line per recipient and
 * more.  Returns the code, or -1 when the connection was lost. */
static int read_data_reply_exdata(struct session *s, size_t accepted)
{
	unsigned int lines = s->set->max_reply_lines > 0 ?
		s->set->max_reply_lines : ESMTP_REPLY_DEFAULT_MAX_LINES;
	size_t seen = 0;
	int code;

	esmtp_reply_parser_set_max_lines(s->parser, lines +
		(unsigned int)(accepted < 65536 ? accepted : 65536) * 16);
	for (;;) {
		const struct esmtp_reply *part;

		code = read_reply(s, s->set->timeout_data);
		if (code >= 0 || !s->timed_out)
			break;
		/* a timeout: go on while lines keep coming */
		part = esmtp_reply_parser_partial(s->parser);
		if (part->line_count == seen)
			break;
		seen = part->line_count;
		s->lost = false;
		s->timed_out = false;
		free(s->error);
		s->error = NULL;
	}
	esmtp_reply_parser_set_max_lines(s->parser, s->set->max_reply_lines);
	return code;
}

/* The transaction.  Returns 1 when every recipient has a status, 0 when
 * the server was lost before it answered MAIL FROM. */
static int transaction(struct session *s, struct esmtp_client_message *msg)
{
	bool pipelining = s->ehlo.pipelining;
	bool send_8bit = msg->body_8bit && s->ehlo.eightbitmime;
	const char *data = msg->data;
	size_t size = msg->size, accepted = 0;
	struct str converted;
	uint64_t wire_size;
	int code, mail_code;
	char *mail_reply = NULL;

	str_init(&converted, 0);
	if (msg->body_8bit && !s->ehlo.eightbitmime) {
		esmtp_client_to_7bit(msg->data, msg->size, &converted);
		data = str_c(&converted);
		size = str_len(&converted);
	}
	wire_size = size;
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			wire_size++;
	if (s->ehlo.size_max > 0 && wire_size > s->ehlo.size_max) {
		char *d = xasprintf("552 5.3.4 the message (%llu bytes) is "
				    "larger than the server accepts (%llu)",
				    (unsigned long long)wire_size,
				    (unsigned long long)s->ehlo.size_max);

		set_all(msg, CTL_STATUS_FAILED, d, false);
		free(d);
		str_free(&converted);
		return 1;
	}
	mail_params(s, msg, wire_size, send_8bit);
	if (pipelining) {
		for (size_t i = 0; i < msg->rcpt_count; i++)
			rcpt_params(s, &msg->rcpts[i]);
		cmd(s, "DATA");
	}
	mail_code = read_reply(s, s->set->timeout_cmd);
	if (mail_code < 0) {
		str_free(&converted);
		return 0;
	}
	mail_reply = reply_text(s);
	if (mail_code / 100 != 2 && !pipelining) {
		set_all(msg, status_of(mail_code), mail_reply, false);
		goto done;
	}
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		struct esmtp_client_rcpt *r = &msg->rcpts[i];

		if (!pipelining)
			rcpt_params(s, r);
		code = read_reply(s, s->set->timeout_cmd);
		if (code < 0)
			goto lost;
		free(r->diag);
		r->diag = reply_text(s);
		if (code / 100 == 2) {
			accepted++;
			continue;	/* status after the data */
		}
		r->status = status_of(code);
	}
	if (mail_code / 100 != 2) {
		/* pipelined: the MAIL reply decides for everyone */
		set_all(msg, status_of(mail_code), mail_reply, false);
		code = read_reply(s, s->set->timeout_cmd);	/* DATA */
		if (code == 354) {
			str_append(&s->out, ".\r\n");
			(void)read_reply(s, s->set->timeout_data);
		}
		goto done;
	}
	if (!pipelining) {
		if (accepted == 0)
			goto done;
		cmd(s, "DATA");
	}
	code = read_reply(s, s->set->timeout_cmd);
	if (code < 0)
		goto lost;
	if (code != 354) {
		char *d = reply_text(s);

		for (size_t i = 0; i < msg->rcpt_count; i++) {
			struct esmtp_client_rcpt *r = &msg->rcpts[i];

			if (r->status != CTL_STATUS_NONE)
				continue;
			r->status = code / 100 == 5 ? CTL_STATUS_FAILED :
				CTL_STATUS_DEFERRED;
			free(r->diag);
			r->diag = xstrdup(d);
		}
		free(d);
		goto done;
	}
	if (accepted == 0) {
		/* RFC 2920 3.1: every RCPT failed, DATA went through anyway */
		str_append(&s->out, ".\r\n");
		(void)read_reply(s, s->set->timeout_data);
		goto done;
	}
	if (send_data(s, data, size) < 0)
		goto lost;
	code = s->ehlo.exdata ? read_data_reply_exdata(s, accepted) :
		read_reply(s, s->set->timeout_data);
	if (code < 0 && s->ehlo.exdata &&
	    esmtp_reply_parser_partial(s->parser)->code == 558) {
		/* lost in the middle of a 558: the recipients' replies that
		 * came whole count, the others are deferred (7.2) */
		char *d = xasprintf("451 4.4.2 %s [%s]: %s", s->target->host,
				    s->target->addr_text, s->error);

		exdata_results(s, msg, esmtp_reply_parser_partial(s->parser),
			       accepted, d);
		free(d);
		goto done;
	}
	if (code < 0)
		goto lost;
	if (code == 558 && s->ehlo.exdata) {
		char *d = xasprintf("451 4.4.0 %s [%s]: no reply for this "
				    "recipient in the 558 reply",
				    s->target->host, s->target->addr_text);

		exdata_results(s, msg, &s->reply, accepted, d);
		free(d);
		goto done;
	}
	{
		char *d = reply_text(s);

		for (size_t i = 0; i < msg->rcpt_count; i++) {
			struct esmtp_client_rcpt *r = &msg->rcpts[i];

			if (r->status != CTL_STATUS_NONE)
				continue;
			r->status = status_of(code);
			free(r->diag);
			r->diag = xstrdup(d);
			r->relayed = r->status == CTL_STATUS_DELIVERED &&
				     !s->ehlo.dsn;
		}
		free(d);
	}
	goto done;
lost:
	{
		char *d = xasprintf("421 4.4.2 %s [%s]: %s", s->target->host,
				    s->target->addr_text, s->error);

		set_all(msg, CTL_STATUS_DEFERRED, d, true);
		free(d);
	}
done:
	free(mail_reply);
	str_free(&converted);
	return 1;
}

static bool ascii_only(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';
	     p++)
		if (*p >= 0x80)
			return false;
	return true;
}

bool esmtp_client_message_needs_utf8(const struct esmtp_client_message *msg)
{
	if (!ascii_only(msg->sender))
		return true;
	for (size_t i = 0; i < msg->rcpt_count; i++)
		if (!ascii_only(msg->rcpts[i].address))
			return true;
	/* RFC 6532: raw UTF-8 in the header */
	for (size_t i = 0; i < msg->size; i++) {
		unsigned char c = (unsigned char)msg->data[i];

		if (c >= 0x80)
			return true;
		if (c == '\n' && (i + 1 == msg->size ||
				  msg->data[i + 1] == '\n' ||
				  (msg->data[i + 1] == '\r' &&
				   i + 2 < msg->size &&
				   msg->data[i + 2] == '\n')))
			break;	/* the end of the header */
	}
	return false;
}

/* A transaction for a message that needs SMTPUTF8 (RFC 6531 section 3.2)
 * to a server that does not offer it: a non-ASCII sender fails every
 * recipient, a non-ASCII recipient fails alone (5.6.7); the others are
 * sent as usual.  Otherwise the plain transaction.  Returns as
 * transaction(). */
static int transaction_checked(struct session *s,
			       struct esmtp_client_message *msg)
{
	struct esmtp_client_message sub;
	struct esmtp_client_rcpt *rcpts;
	size_t n = 0;
	int r;

	if (!msg->smtputf8 || s->ehlo.smtputf8)
		return transaction(s, msg);
	if (!ascii_only(msg->sender)) {
		char *d = xasprintf("553 5.6.7 %s [%s] does not support "
				    "SMTPUTF8, needed for the non-ASCII "
				    "sender <%s> (RFC 6531)", s->target->host,
				    s->target->addr_text, msg->sender);

		set_all(msg, CTL_STATUS_FAILED, d, false);
		free(d);
		return 1;
	}
	rcpts = xcalloc(msg->rcpt_count, sizeof(*rcpts));
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		if (!ascii_only(msg->rcpts[i].address))
			continue;
		rcpts[n].address = msg->rcpts[i].address;
		rcpts[n].orcpt = msg->rcpts[i].orcpt;
		rcpts[n].notify = msg->rcpts[i].notify;
		n++;
	}
	r = 1;
	if (n > 0) {
		sub = *msg;
		sub.rcpts = rcpts;
		sub.rcpt_count = n;
		r = transaction(s, &sub);
	}
	if (r > 0) {
		n = 0;
		for (size_t i = 0; i < msg->rcpt_count; i++) {
			struct esmtp_client_rcpt *o = &msg->rcpts[i];

			free(o->diag);
			if (!ascii_only(o->address)) {
				o->status = CTL_STATUS_FAILED;
				o->diag = xasprintf(
					"553 5.6.7 %s [%s] does not support "
					"SMTPUTF8, needed for the non-ASCII "
					"address <%s> (RFC 6531)",
					s->target->host, s->target->addr_text,
					o->address);
				o->relayed = false;
				continue;
			}
			o->status = rcpts[n].status;
			o->diag = rcpts[n].diag;
			o->relayed = rcpts[n].relayed;
			rcpts[n].diag = NULL;
			n++;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(rcpts[i].diag);
	free(rcpts);
	return r;
}

/* VERP (ctlfile.h): one transaction per recipient on this connection,
 * each from the recipient's own VERP sender, with RSET between them.
 * Returns as transaction(): 0 only when the server was lost before it
 * answered the first MAIL FROM. */
static int transaction_verp(struct session *s,
			    struct esmtp_client_message *msg)
{
	struct str sender;

	str_init(&sender, 256);
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		struct esmtp_client_message one = *msg;
		int r;

		if (i > 0) {
			cmd(s, "RSET");
			if (read_reply(s, s->set->timeout_cmd) < 0)
				goto lost;
		}
		str_truncate(&sender, 0);
		ctl_verp_sender(&sender, msg->sender, msg->rcpts[i].address);
		one.sender = str_c(&sender);
		one.verp = false;
		one.rcpts = &msg->rcpts[i];
		one.rcpt_count = 1;
		r = transaction_checked(s, &one);
		if (r == 0 && i == 0) {
			str_free(&sender);
			return 0;
		}
		if (r == 0 || s->lost)
			goto lost;
	}
	str_free(&sender);
	return 1;
lost:
	{
		char *d = xasprintf("421 4.4.2 %s [%s]: %s", s->target->host,
				    s->target->addr_text,
				    s->error != NULL ? s->error :
				    "connection lost");

		set_all(msg, CTL_STATUS_DEFERRED, d, true);
		free(d);
	}
	str_free(&sender);
	return 1;
}

static void session_close(struct session *s, bool quit)
{
	if (quit && !s->lost && s->fd >= 0) {
		cmd(s, "QUIT");
		(void)read_reply(s, s->set->timeout_quit);
	}
	if (s->tls != NULL) {
		if (!s->lost)
			(void)tls_session_shutdown(s->tls);
		tls_session_destroy(&s->tls);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

struct esmtp_client_conn {
	struct session s;
};

static void session_free(struct esmtp_client_conn *conn)
{
	struct session *s = &conn->s;

	session_close(s, false);
	free(s->error);
	str_free(&s->out);
	esmtp_reply_free(&s->reply);
	esmtp_reply_parser_destroy(&s->parser);
	free(conn);
}

/* One connection.  Returns as esmtp_client_send(); *tls_failed when
 * STARTTLS failed in a way a plain retry may avoid.  With conn_r, a
 * connection whose transaction went through is kept there instead of
 * being closed with QUIT. */
static int session_run(const struct esmtp_client_settings *set,
		       const struct esmtp_target *target,
		       struct esmtp_client_message *msg, bool no_tls,
		       bool *tls_failed, char **error_r,
		       struct esmtp_client_conn **conn_r)
{
	struct esmtp_client_conn *conn = xcalloc(1, sizeof(*conn));
	struct session *sp = &conn->s;
	bool tls_required = (set->security & (ESMTP_SECURITY_REQUIRED |
					      ESMTP_SECURITY_SMTPS)) != 0;
	bool sent = false;
	char *name = NULL;
	int ret = 0, code;

	sp->set = set;
	sp->target = target;
	sp->fd = -1;
	sp->parser = esmtp_reply_parser_create(set->max_reply_line,
					       set->max_reply_lines);
	str_init(&sp->out, 1024);
	esmtp_reply_init(&sp->reply);
	*tls_failed = false;

	if (do_connect(sp) < 0)
		goto out;
	if ((set->security & ESMTP_SECURITY_SMTPS) != 0) {
		if (set->tls_ctx == NULL) {
			fail(sp, "SMTPS route, but TLS is not available");
			goto out;
		}
		if (do_handshake(sp) < 0)
			goto out;
	}
	code = read_reply(sp, set->timeout_helo);
	if (code < 0)
		goto out;
	if (code / 100 != 2) {
		char *r = reply_text(sp);

		fail(sp, "greeting: %s", r);
		free(r);
		goto out_quit;
	}
	name = helo_name(sp);
	if (do_ehlo(sp, name) < 0)
		goto out_quit;
	if (sp->tls == NULL && !no_tls && set->tls_ctx != NULL &&
	    sp->ehlo.starttls &&
	    (set->use_starttls || (set->security & (ESMTP_SECURITY_STARTTLS |
						    ESMTP_SECURITY_REQUIRED))
	     != 0) &&
	    (tls_required || set->tls_memory_dir == NULL ||
	     !esmtp_tls_memory_broken(set->tls_memory_dir,
				      target->addr_text, time(NULL)))) {
		cmd(sp, "STARTTLS");
		code = read_reply(sp, set->timeout_helo);
		if (code != 220 || do_handshake(sp) < 0) {
			if (code >= 0 && code != 220) {
				char *r = reply_text(sp);

				fail(sp, "STARTTLS refused: %s", r);
				free(r);
			}
			*tls_failed = true;
			if (set->tls_memory_dir != NULL)
				esmtp_tls_memory_add(set->tls_memory_dir,
						     target->addr_text,
						     time(NULL));
			goto out_quit;
		}
		if (do_ehlo(sp, name) < 0)
			goto out_quit;
	}
	if (tls_required && sp->tls == NULL) {
		fail(sp, "TLS is required (/SECURITY=REQUIRED), but the server "
		     "does not offer STARTTLS");
		goto out_quit;
	}
	ret = 1;
	if (do_auth(sp, msg) < 0) {
		if (sp->lost) {
			/* lost during AUTH: another server may do */
			for (size_t i = 0; i < msg->rcpt_count; i++) {
				msg->rcpts[i].status = CTL_STATUS_NONE;
				x_free(msg->rcpts[i].diag);
			}
			ret = 0;
		}
		goto out_quit;
	}
	ret = msg->verp ? transaction_verp(sp, msg) :
		transaction_checked(sp, msg);
	sent = ret > 0;
	if (sent && conn_r != NULL && !sp->lost) {
		free(name);
		*conn_r = conn;
		return ret;
	}
out_quit:
	session_close(sp, true);
out:
	if (ret == 0)
		*error_r = xasprintf("%s [%s]: %s", target->host,
				     target->addr_text,
				     sp->error != NULL ? sp->error : "failed");
	free(name);
	session_free(conn);
	return ret;
}

int esmtp_client_send(const struct esmtp_client_settings *set,
		      const struct esmtp_target *target,
		      struct esmtp_client_message *msg,
		      struct esmtp_client_conn **conn_r, char **error_r)
{
	bool tls_failed;
	int r;

	*error_r = NULL;
	if (conn_r != NULL && *conn_r != NULL) {
		struct session *sp = &(*conn_r)->s;

		/* a kept connection: RSET, then the transaction */
		cmd(sp, "RSET");
		if (read_reply(sp, sp->set->timeout_cmd) / 100 == 2) {
			r = msg->verp ? transaction_verp(sp, msg) :
				transaction_checked(sp, msg);
			if (r > 0) {
				log_debug("%s [%s]: connection reused",
					  sp->target->host,
					  sp->target->addr_text);
				if (sp->lost)
					esmtp_client_conn_close(conn_r);
				return r;
			}
		}
		log_info("%s [%s]: the kept connection is gone (%s): "
			 "connecting again", sp->target->host,
			 sp->target->addr_text,
			 sp->error != NULL ? sp->error : "RSET refused");
		esmtp_client_conn_close(conn_r);
	}
	r = session_run(set, target, msg, false, &tls_failed, error_r,
			conn_r);
	if (r == 0 && tls_failed && !set->verify &&
	    (set->security & (ESMTP_SECURITY_REQUIRED |
			      ESMTP_SECURITY_SMTPS)) == 0) {
		/* the seed's fallback: the same server without TLS */
		log_info("%s: STARTTLS failed, sending without TLS (%s)",
			 target->addr_text, *error_r);
		x_free(*error_r);
		r = session_run(set, target, msg, true, &tls_failed, error_r,
				conn_r);
	}
	return r;
}

int esmtp_client_conn_fd(const struct esmtp_client_conn *conn)
{
	return conn->s.fd;
}

int esmtp_client_conn_ping(struct esmtp_client_conn *conn)
{
	struct session *sp = &conn->s;

	unsigned int timeout = sp->set->timeout_cmd;

	if (sp->lost)
		return -1;
	if (timeout == 0 || timeout > ESMTP_CLIENT_PING_TIMEOUT)
		timeout = ESMTP_CLIENT_PING_TIMEOUT;
	cmd(sp, "RSET");
	if (read_reply(sp, timeout) / 100 != 2) {
		log_info("%s [%s]: keepalive RSET: %s", sp->target->host,
			 sp->target->addr_text,
			 sp->error != NULL ? sp->error : "refused");
		return -1;
	}
	return 0;
}

void esmtp_client_conn_close(struct esmtp_client_conn **conn)
{
	if (*conn == NULL)
		return;
	session_close(&(*conn)->s, true);
	session_free(*conn);
	*conn = NULL;
}
