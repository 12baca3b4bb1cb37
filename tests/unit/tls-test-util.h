/* tls-test-util.h: throw-away certificates for the TLS and conn tests,
 * made at test time with the openssl command (no key is committed). */
#ifndef TLS_TEST_UTIL_H
#define TLS_TEST_UTIL_H

struct test_certs {
	char dir[64];
	char *cert;	  /* self-signed, CN=localhost, SAN localhost, 127.0.0.1 */
	char *key;	  /* its key */
	char *combined;	  /* cert and key in one file */
	char *other_key;  /* a key that matches no certificate */
	char *client_cert;/* self-signed, CN=client.test */
	char *client_key;
	char *garbage;	  /* not PEM at all */
	char *dh;	  /* DH parameters (ffdhe2048) */
	char *missing;	  /* a path that does not exist */
};

/* Makes the files in a new temporary folder; fails the test if the
 * openssl command cannot. */
struct test_certs *test_certs_create(void);
/* Removes the files and the folder. */
void test_certs_destroy(struct test_certs **certs);

/* Makes fds[0] (server) and fds[1] (client) a connected pair of
 * non-blocking TCP sockets on 127.0.0.1. */
void test_tcp_pair(int fds[2]);
void test_set_nonblock(int fd);

#endif
