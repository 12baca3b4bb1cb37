/* fuzz-esmtp.c: libFuzzer target for the ESMTP session: the input is sent
 * in pieces to a session over a socketpair (command parser, paths and
 * parameters, relay decision, AUTH exchanges, DATA with dot-unstuffing,
 * BDAT chunks, limits), with a throw-away instance and queue, and an
 * in-process recipient lookup (a fuzzer runs no authdaemond).  Checks that
 * every reply line ends in CRLF and starts with three digits. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authclient.h"
#include "esmtp-bofh.h"
#include "esmtp-relay.h"
#include "esmtp-session.h"
#include "esmtp-settings.h"
#include "ioloop.h"
#include "log.h"
#include "queue.h"
#include "str.h"

static struct ioloop *loop;
static struct esmtp_settings set;
static struct esmtp_server server;
static bool gone;

static int lookup(const char *address, void *context)
{
	(void)context;
	if (strcmp(address, "demo@example.test") == 0)
		return 1;
	if (strcmp(address, "temp@example.test") == 0)
		return -1;
	return 0;
}

static void destroyed(void *context)
{
	(void)context;
	gone = true;
}

static int drop_message(const char *qid, void *context)
{
	(void)context;
	(void)queue_remove(qid, &(const char *){ NULL });
	return 0;
}

static void check_replies(const struct str *out)
{
	const char *p = str_c(out), *end = p + str_len(out);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			abort();	/* every reply ends in CRLF */
		if (nl - p < 4 || nl[-1] != '\r' ||
		    p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
		    p[2] < '0' || p[2] > '9' || (p[3] != ' ' && p[3] != '-'))
			abort();
		p = nl + 1;
	}
}

static void setup(void)
{
	char base[] = "/tmp/fuzz-esmtp-XXXXXX";
	char path[128];
	FILE *f;

	if (mkdtemp(base) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/etc", base);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/etc/me", base);
	f = fopen(path, "w");
	fputs("mail.example.test\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/queue", base);
	setenv("COURIER_INSTANCE", base, 1);
	queue_set_dir(path);
	if (queue_init_dirs(&(const char *){ NULL }) < 0)
		abort();
	log_set_min_level(LOG_LEVEL_FATAL);
	loop = ioloop_create();
	esmtp_settings_defaults(&set);
	free(set.auth_mechs);
	set.auth_mechs = strdup("PLAIN LOGIN CRAM-MD5");
	set.max_rcpts = 5;
	server.set = &set;
	server.domains = esmtp_domains_new("localhost", "example.test",
					   "backup.test", "mail.example.test");
	server.access = esmtp_access_new();
	{
		/* bofh rules, so the message checks run on fuzzed mail */
		static const char rules[] =
			"badfrom @bad.test\nspamtrap trap@example.test\n"
			"maxrcpts 4\nopt BOFHHEADERLIMIT=1000\n"
			"opt BOFHNOBASE64TEXT=1\n";

		server.bofh = esmtp_bofh_parse("bofh", rules,
					       sizeof(rules) - 1, NULL, NULL);
	}
	server.me = "mail.example.test";
	server.size_limit = 2000;
	server.rcpt_lookup = lookup;
	server.auth_service = "esmtp";
	/* no authdaemond: every AUTH is a temporary failure, quickly */
	auth_client_set_socket("/nonexistent/authdaemon/socket");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct esmtp_session *s;
	struct str out;
	int fds[2];
	size_t pos = 0;
	char buf[4096];

	if (!ready) {
		setup();
		ready = true;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		abort();
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	gone = false;
	s = esmtp_session_create(loop, fds[0], &server, "192.0.2.1",
				 "192.0.2.2", destroyed, NULL);
	str_init(&out, 4096);
	for (int rounds = 0; !gone && rounds < 10000; rounds++) {
		/* pieces of a size the first byte picks */
		if (pos < size) {
			size_t piece = 1 + (data[0] % 64);
			ssize_t n;

			if (piece > size - pos)
				piece = size - pos;
			n = write(fds[1], data + pos, piece);
			if (n > 0)
				pos += (size_t)n;
		} else if (pos == size) {
			shutdown(fds[1], SHUT_WR);
			pos++;
		}
		ioloop_run_once(loop, pos > size ? 10 : 0);
		for (;;) {
			ssize_t n = read(fds[1], buf, sizeof(buf));

			if (n <= 0)
				break;
			str_append_n(&out, buf, (size_t)n);
		}
	}
	if (!gone)
		esmtp_session_destroy(&s);
	close(fds[1]);
	/* a reply cut by the end of the connection is fine; check the
	 * complete lines */
	{
		size_t len = str_len(&out);
		while (len > 0 && out.data[len - 1] != '\n')
			len--;
		str_truncate(&out, len);
	}
	check_replies(&out);
	str_free(&out);
	(void)queue_scan(drop_message, NULL, &(const char *){ NULL });
	return 0;
}
