/* tls-test-util.c: throw-away certificates and socket pairs for the TLS
 * and conn unit tests. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mem.h"
#include "tls-test-util.h"

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int ret;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	ret = system(cmd);
	if (ret != 0)
		fail_msg("command failed (%d): %s", ret, cmd);
	free(cmd);
}

static char *path(struct test_certs *c, const char *name)
{
	return xasprintf("%s/%s", c->dir, name);
}

struct test_certs *test_certs_create(void)
{
	struct test_certs *c = xcalloc(1, sizeof(*c));
	const char *tmp = getenv("TMPDIR");

	snprintf(c->dir, sizeof(c->dir), "%s/tlstest.XXXXXX",
		 tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
	assert_non_null(mkdtemp(c->dir));
	c->cert = path(c, "cert.pem");
	c->key = path(c, "key.pem");
	c->combined = path(c, "combined.pem");
	c->other_key = path(c, "other-key.pem");
	c->client_cert = path(c, "client-cert.pem");
	c->client_key = path(c, "client-key.pem");
	c->garbage = path(c, "garbage.pem");
	c->dh = path(c, "dh.pem");
	c->missing = path(c, "missing.pem");

	run("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -keyout %s -out %s -days 2 "
	    "-subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
	    ">/dev/null 2>&1", c->key, c->cert);
	run("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -keyout %s -out %s -days 2 "
	    "-subj /O=Test/CN=client.test >/dev/null 2>&1",
	    c->client_key, c->client_cert);
	run("openssl genpkey -algorithm EC -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -out %s >/dev/null 2>&1",
	    c->other_key);
	run("openssl genpkey -genparam -algorithm DH -pkeyopt "
	    "dh_param:ffdhe2048 -out %s >/dev/null 2>&1", c->dh);
	run("cat %s %s > %s", c->cert, c->key, c->combined);
	run("printf 'this is not a certificate\\n' > %s", c->garbage);
	return c;
}

void test_certs_destroy(struct test_certs **cp)
{
	struct test_certs *c = *cp;
	char **files[] = { &c->cert, &c->key, &c->combined, &c->other_key,
			   &c->client_cert, &c->client_key, &c->garbage,
			   &c->dh, &c->missing };

	for (size_t i = 0; i < N_ELEMENTS(files); i++) {
		(void)unlink(*files[i]);
		free(*files[i]);
	}
	(void)rmdir(c->dir);
	free(c);
	*cp = NULL;
}

void test_set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	assert_true(flags >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

void test_tcp_pair(int fds[2])
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd, cfd, sfd;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(cfd >= 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	sfd = accept(lfd, NULL, NULL);
	assert_true(sfd >= 0);
	close(lfd);
	test_set_nonblock(sfd);
	test_set_nonblock(cfd);
	fds[0] = sfd;
	fds[1] = cfd;
}
