/* fuzz-pop3.c: libFuzzer target for the POP3 session: the input is sent,
 * in pieces, to a login session over a socketpair; "demo"/"secret" logs
 * in (the owner starts the mail session in-process on a small maildir,
 * as pop3d's master would in a child), so the command parser, SASL, the
 * hand-off, the relay and every TRANSACTION command see the bytes.  The
 * maildir is copied fresh for each input so that DELE/QUIT start from the
 * same state.  Checks that every reply line ends in CRLF and starts with
 * "+OK", "-ERR", "+ " or is part of a multi-line body. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "pop3-client.h"
#include "pop3-settings.h"

static struct ioloop *loop;
static struct pop3_settings set;
static char base[64];
static bool login_gone;

static void write_msg(const char *sub, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/Maildir/%s/%s", base, sub, name);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static void empty_dir(const char *sub)
{
	char path[256];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/Maildir/%s", base, sub);
	(void)mkdir(path, 0700);
	d = opendir(path);
	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strncmp(de->d_name, ".c", 2) == 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* The same four messages and no index for every input: LF and CRLF line
 * ends, a UTF-8 header (RETR/TOP answer [UTF8] unless the client sent
 * UTF8) and a Latin-1 one (sent as it is). */
static void fresh_maildir(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/Maildir", base);
	(void)mkdir(path, 0700);
	empty_dir("new");
	empty_dir("cur");
	empty_dir("tmp");
	empty_dir(".");
	write_msg("new", "1700000000.M1P1.host", "Subject: a\n\n.x\ny\n");
	write_msg("cur", "1700000001.M1P1.host:2,S",
		  "Subject: b\r\n\r\nl1\r\nl2\r\n");
	write_msg("cur", "1700000002.M1P1.host:2,",
		  "From: J\xc3\xbcrgen <j\xc3\xbc@b\xc3\xa9.example>\n"
		  "Subject: Gr\xc3\xbc\xc3\x9f" "e\n\n.caf\xc3\xa9\n");
	write_msg("cur", "1700000003.M1P1.host:2,",
		  "Subject: caf\xe9\r\n\r\nx\r\n");
}

static void mail_end(void *context)
{
	(void)context;
}

static int fake_login(struct pop3_client *client,
		      const struct pop3_login_request *req, void *context)
{
	char dir[128];

	(void)context;
	snprintf(dir, sizeof(dir), "%s/Maildir", base);
	if (req->kind == POP3_LOGIN_PASSWORD && strcmp(req->user, "demo") == 0 &&
	    strcmp(req->secret, "secret") == 0) {
		pop3_client_create_mail_handoff(loop, req->session_fd, &set, dir,
					req->user, req->remote_ip, req->utf8,
					mail_end, NULL);
		pop3_client_login_done(client, POP3_LOGIN_OK, NULL);
	} else {
		close(req->session_fd);
		pop3_client_login_done(client, POP3_LOGIN_REFUSED, NULL);
	}
	return 0;
}

static void fake_destroyed(struct pop3_client *client, void *context)
{
	(void)client;
	(void)context;
	login_gone = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_min_level(LOG_LEVEL_PANIC);
	snprintf(base, sizeof(base), "/tmp/fuzz-pop3-XXXXXX");
	if (mkdtemp(base) == NULL)
		abort();
	pop3_settings_defaults(&set);
	set.apop = true;
	free(set.auth_mechs);
	set.auth_mechs = xstrdup("PLAIN LOGIN CRAM-MD5");
	set.max_bad_commands = 50;
	set.max_auth_failures = 50;
	loop = ioloop_create();
	return 0;
}

static void check_output(const char *out, size_t len)
{
	/* Every line ends in CRLF (a cut connection may leave a partial
	 * last line: ignore it). */
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct pop3_login_callbacks cb = {
		.login = fake_login,
		.destroyed = fake_destroyed,
	};
	char out[65536];
	size_t out_len = 0, pos = 0;

	fresh_maildir();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	login_gone = false;
	struct pop3_client *client = pop3_client_create_login(
		loop, sv[1], &set, NULL, false, "192.0.2.1", "192.0.2.2", &cb);
	unsigned int seed = size > 0 ? data[0] : 1;
	while (pos < size) {
		size_t piece = 1 + (seed = seed * 1103515245u + 12345u) % 64;
		if (piece > size - pos)
			piece = size - pos;
		ssize_t n = write(sv[0], data + pos, piece);
		if (n <= 0)
			break;
		pos += (size_t)n;
		for (int i = 0; i < 3; i++)
			ioloop_run_once(loop, 0);
		ssize_t r;
		while ((r = read(sv[0], out + out_len,
				 sizeof(out) - out_len)) > 0) {
			out_len += (size_t)r;
			if (out_len == sizeof(out)) {
				check_output(out, out_len);
				out_len = 0;
			}
		}
		if (login_gone)
			break;
	}
	/* Drain what is left (failed-login delays are 1 s: not waited). */
	for (int i = 0; i < 5; i++) {
		ioloop_run_once(loop, 0);
		ssize_t r;
		while ((r = read(sv[0], out + out_len,
				 sizeof(out) - out_len)) > 0) {
			out_len += (size_t)r;
			if (out_len == sizeof(out)) {
				check_output(out, out_len);
				out_len = 0;
			}
		}
	}
	check_output(out, out_len);
	close(sv[0]);
	if (!login_gone)
		pop3_client_destroy(&client);
	/* Let the mail session see EOF and end. */
	for (int i = 0; i < 20; i++)
		ioloop_run_once(loop, 0);
	return 0;
}
