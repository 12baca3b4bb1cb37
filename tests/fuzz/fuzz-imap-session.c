/* fuzz-imap-session.c: libFuzzer target for a whole logged-in IMAP session:
 * the input is the client's side of the conversation, sent in pieces over
 * a socketpair to the real session (imap_client_create_mail(), as
 * `imapd DIR` runs it) on a fresh maildir of a few messages (plain, LF and
 * CRLF, multipart with base64 and quoted-printable, 8-bit headers) and
 * two folders, so that the parser and every command handler (SELECT with
 * QRESYNC, LIST-EXTENDED, STORE, SEARCH, FETCH with partials, APPEND
 * literals, COPY/MOVE, IDLE, ...) see the bytes.  The answer is checked
 * as the response builder's framing promises: every line ends in CRLF and
 * every literal ("{n}" or "~{n}" at a line's end) is followed by exactly
 * n bytes and the rest of its line. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "imap-client.h"
#include "imap-settings.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* Most answer bytes kept for the framing check; more are dropped and the
 * check stops there. */
#define MAX_OUTPUT (8u * 1024 * 1024)

static struct ioloop *loop;
static struct imap_settings set;
static char base[64];
static char root[128];
static bool ended;

static void write_msg(const char *folder, const char *sub, const char *name,
		      const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s%s/%s/%s", root,
		 folder[0] != '\0' ? "/." : "", folder, sub, name);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static void make_folder(const char *folder)
{
	static const char *const subs[] = { "", "/new", "/cur", "/tmp" };
	char path[512];

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s%s%s", root,
			 folder[0] != '\0' ? "/." : "", folder, subs[i]);
		if (mkdir(path, 0700) < 0)
			abort();
	}
}

/* The same maildir, without an index, for every input. */
static void fresh_maildir(void)
{
	(void)nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	make_folder("");
	make_folder("Sent");
	make_folder("Work.Projects");
	write_msg("", "new", "1700000000.M1P1.host",
		  "From: Ann <ann@example.com>\nTo: bob@example.org\n"
		  "Subject: hello\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n"
		  "Message-ID: <1@example.com>\n\nhi\nthere\n");
	write_msg("", "cur", "1700000001.M1P1.host:2,S",
		  "From: bob@example.org\r\nSubject: Re: hello\r\n"
		  "In-Reply-To: <1@example.com>\r\n"
		  "References: <1@example.com>\r\n"
		  "MIME-Version: 1.0\r\n"
		  "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
		  "pre\r\n--b1\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "caf=C3=A9 =\r\nsoft\r\n--b1\r\n"
		  "Content-Type: application/octet-stream; name=a.bin\r\n"
		  "Content-Disposition: attachment; filename*=utf-8''%C3%A9.bin\r\n"
		  "Content-Transfer-Encoding: base64\r\n\r\n"
		  "AAECAwQFBgcICQ==\r\n--b1\r\n"
		  "Content-Type: message/rfc822\r\n\r\n"
		  "Subject: inner\r\n\r\ninner body\r\n--b1--\r\nepi\r\n");
	write_msg("", "cur", "1700000002.M1P1.host:2,FR",
		  "From: =?utf-8?q?J=C3=BCrgen?= <j@b.example>\n"
		  "Subject: Gr\xc3\xbc\xc3\x9f" "e\n"
		  "Content-Type: text/plain; charset=iso-8859-1\n\n"
		  "caf\xe9\n");
	write_msg("", "cur", "1700000003.M1P1.host:2,T",
		  "Subject: no body");
	write_msg("Sent", "cur", "1700000004.M1P1.host:2,S",
		  "Subject: sent\n\nx\n");
}

static void session_ended(struct imap_client *client, void *context)
{
	(void)client;
	(void)context;
	ended = true;
}

static const struct imap_client_callbacks callbacks = {
	.ended = session_ended,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_min_level(LOG_LEVEL_PANIC);
	snprintf(base, sizeof(base), "/tmp/fuzz-imap-session-XXXXXX");
	if (mkdtemp(base) == NULL)
		abort();
	snprintf(root, sizeof(root), "%s/Maildir", base);
	imap_settings_defaults(&set);
	set.max_line = 4096;
	set.max_literal = 65536;
	loop = ioloop_create();
	return 0;
}

/* The framing check: lines end in CRLF; "{n}"/"~{n}" at a line's end is
 * followed by n bytes.  A cut last line (the session closed) is fine. */
static void check_output(const char *out, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(out + i, '\n', len - i);

		if (nl == NULL)
			return;	/* a cut last line */
		size_t end = (size_t)(nl - out);
		if (end == i || out[end - 1] != '\r')
			abort();	/* bare LF in a response line */
		/* a literal announced at the end of the line? */
		size_t p = end - 1;	/* at '\r' */
		if (p > i && out[p - 1] == '}') {
			size_t q = p - 1, digits = 0;
			uint64_t n = 0, mul = 1;

			while (q > i && out[q - 1] >= '0' && out[q - 1] <= '9' &&
			       digits < 19) {
				n += (uint64_t)(out[q - 1] - '0') * mul;
				mul *= 10;
				q--;
				digits++;
			}
			if (digits > 0 && q > i && out[q - 1] == '{') {
				if (n > len - end - 1)
					return;	/* cut in the literal */
				i = end + 1 + (size_t)n;
				/* the literal never ends a response: its
				 * line goes on (or a CRLF ends it) */
				if (i == len)
					return;
				continue;
			}
		}
		i = end + 1;
	}
}

static void drain(int fd, struct str *out)
{
	char buf[65536];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (str_len(out) + (size_t)r <= MAX_OUTPUT)
			str_append_n(out, buf, (size_t)r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct str out;
	size_t pos = 0;

	fresh_maildir();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	ended = false;
	struct conn_settings cs = {
		.max_line_len = (size_t)set.max_line,
		.write_timeout_msecs = 10 * 1000,
	};
	struct conn *conn = conn_create(loop, sv[1], &cs,
					imap_client_conn_callbacks(), NULL);
	struct imap_client *client = imap_client_create_mail(
		loop, conn, &set, root, "fuzz", NULL, false, &callbacks, NULL);
	str_init(&out, 4096);
	unsigned int seed = size > 0 ? data[0] : 1;
	while (pos < size && !ended) {
		size_t piece = 1 + (seed = seed * 1103515245u + 12345u) % 256;
		if (piece > size - pos)
			piece = size - pos;
		ssize_t n = write(sv[0], data + pos, piece);
		if (n <= 0) {
			/* the socket is full: let the session read */
			ioloop_run_once(loop, 0);
			drain(sv[0], &out);
			continue;
		}
		pos += (size_t)n;
		for (int i = 0; i < 4; i++) {
			ioloop_run_once(loop, 0);
			drain(sv[0], &out);
		}
	}
	/* the end of input: EOF, and what the session still has to say */
	shutdown(sv[0], SHUT_WR);
	for (int i = 0; i < 50 && !ended; i++) {
		ioloop_run_once(loop, 0);
		drain(sv[0], &out);
	}
	drain(sv[0], &out);
	/* FUZZ_IMAP_SESSION_DUMP=1: the answer on stderr, to read a seed's
	 * session */
	if (getenv("FUZZ_IMAP_SESSION_DUMP") != NULL)
		(void)fwrite(str_c(&out), 1, str_len(&out), stderr);
	check_output(str_c(&out), str_len(&out));
	str_free(&out);
	close(sv[0]);
	imap_client_destroy(&client);
	return 0;
}
