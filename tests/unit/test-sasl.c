/* test-sasl.c: unit tests for lib/sasl-server and lib/sasl-client (PLAIN,
 * LOGIN, CRAM-MD5), including malformed client responses. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "sasl.h"
#include "sasl-server.h"
#include "sasl-client.h"
#include "base64.h"
#include "hash.h"
#include "str.h"
#include "mem.h"

static const char rfc2195_challenge[] =
	"<1896.697170952@postoffice.reston.mci.net>";

/* Base64 of raw bytes, as a C string the test frees. */
static char *b64(const void *data, size_t len)
{
	struct str s;
	char *ret;

	str_init(&s, 64);
	base64_encode(&s, data, len, 0);
	ret = xstrdup(str_c(&s));
	str_free(&s);
	return ret;
}

static enum sasl_server_status step_text(struct sasl_server *server,
					 const char *text, const char **error)
{
	return sasl_server_step(server, text, strlen(text), error);
}

static void test_mech_names(void **state)
{
	enum sasl_mech m;
	struct sasl_server *server;

	assert_int_equal(sasl_mech_from_name("plain", &m), 0);
	assert_int_equal(m, SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_from_name("Cram-Md5", &m), 0);
	assert_int_equal(m, SASL_MECH_CRAM_MD5);
	assert_int_equal(sasl_mech_from_name("LOGIN", &m), 0);
	assert_int_equal(m, SASL_MECH_LOGIN);
	assert_int_equal(sasl_mech_from_name("DIGEST-MD5", &m), -1);
	assert_int_equal(sasl_mech_from_name("PLAIN ", &m), -1);
	assert_int_equal(sasl_mech_from_name("", &m), -1);
	assert_true(sasl_mech_sends_password(SASL_MECH_PLAIN));
	assert_true(sasl_mech_sends_password(SASL_MECH_LOGIN));
	assert_false(sasl_mech_sends_password(SASL_MECH_CRAM_MD5));

	/* Unknown mechanism: a distinct outcome (NULL). */
	assert_null(sasl_server_create("SCRAM-SHA-1", NULL));
	assert_null(sasl_server_create("", NULL));
	assert_null(sasl_server_create(NULL, NULL));
	server = sasl_server_create("cram-md5", NULL);
	assert_non_null(server);
	assert_int_equal(sasl_server_mech(server), SASL_MECH_CRAM_MD5);
	sasl_server_destroy(&server);
	assert_null(server);
	sasl_server_destroy(&server);
}

/* RFC 4616 section 4 examples, through every way of delivering them. */
static void check_plain(const char *msg, size_t len, const char *authzid,
			const char *authcid, const char *passwd)
{
	char *text = b64(msg, len);
	const char *error = NULL;
	const struct sasl_server_credentials *c;
	struct sasl_server *server;
	size_t clen;

	for (int way = 0; way < 3; way++) {
		server = sasl_server_create("PLAIN", NULL);
		if (way == 0) {
			/* Initial response (SASL-IR / AUTH PLAIN xxx). */
			assert_int_equal(sasl_server_start(server, text,
							   strlen(text),
							   &error),
					 SASL_SERVER_DONE);
		} else {
			assert_int_equal(sasl_server_start(server, NULL, 0,
							   &error),
					 SASL_SERVER_CHALLENGE);
			sasl_server_challenge(server, &clen);
			assert_int_equal(clen, 0);
			if (way == 1)
				assert_int_equal(step_text(server, text,
							   &error),
						 SASL_SERVER_DONE);
			else
				assert_int_equal(sasl_server_step_raw(
							 server, msg, len,
							 &error),
						 SASL_SERVER_DONE);
		}
		c = sasl_server_credentials(server);
		assert_non_null(c);
		assert_int_equal(c->mech, SASL_MECH_PLAIN);
		assert_string_equal(c->authzid, authzid);
		assert_string_equal(c->authcid, authcid);
		assert_string_equal(c->password, passwd);
		assert_null(c->challenge);
		assert_true(sasl_server_check_password(server, passwd));
		assert_false(sasl_server_check_password(server, "wrong"));
		assert_false(sasl_server_check_password(server, ""));
		assert_int_equal(sasl_server_check_hmac_md5(server, "00"), -1);
		sasl_server_destroy(&server);
	}
	free(text);
}

static void test_plain_rfc4616(void **state)
{
	check_plain("\0tim\0tanstaaftanstaaf", 21, "", "tim",
		    "tanstaaftanstaaf");
	check_plain("Ursel\0Kurt\0xipj3plmq", 20, "Ursel", "Kurt",
		    "xipj3plmq");
	/* UTF-8 identities are fine. */
	check_plain("\0J\xc3\xbcrgen\0p\xc3\xa4ss", 14, "", "J\xc3\xbcrgen",
		    "p\xc3\xa4ss");
}

static enum sasl_server_status plain_raw(const char *msg, size_t len,
					 size_t max_field, const char **error)
{
	struct sasl_server_settings set = { .max_field = max_field };
	struct sasl_server *server = sasl_server_create("PLAIN", &set);
	enum sasl_server_status st;

	st = sasl_server_start_raw(server, true, msg, len, error);
	if (st != SASL_SERVER_DONE)
		assert_null(sasl_server_credentials(server));
	sasl_server_destroy(&server);
	return st;
}

static void test_plain_malformed(void **state)
{
	const char *error = NULL;
	char big[40];

#define BAD(msg, len, max)                                                   \
	do {                                                                 \
		error = NULL;                                                \
		assert_int_equal(plain_raw(msg, len, max, &error),           \
				 SASL_SERVER_FAILED);                        \
		assert_non_null(error);                                      \
	} while (0)

	BAD("timtanstaaf", 11, 0);		/* no NUL */
	BAD("tim\0tanstaaf", 12, 0);		/* one NUL */
	BAD("\0\0tanstaaf", 10, 0);		/* empty authcid */
	BAD("\0tim\0", 5, 0);			/* empty password */
	BAD("\0tim\0tan\0staaf", 14, 0);	/* NUL in password */
	BAD("", 0, 0);				/* empty message */
	BAD("\0", 1, 0);
	BAD("\0tim\0pass\r\nword", 15, 0);	/* CR LF */
	BAD("\0ti\nm\0pass", 10, 0);
	BAD("\0\xff\xfe\0pass", 8, 0);		/* invalid UTF-8 */
	BAD("\0\xc0\xaf\0pass", 8, 0);		/* overlong UTF-8 */
	BAD("\0\xed\xa0\x80\0pass", 10, 0);	/* surrogate */
	BAD("\xe2\x82\0tim\0pass", 11, 0);	/* truncated authzid */

	/* Length limits: each field at most max_field bytes. */
	memset(big, 'a', sizeof(big));
	big[0] = '\0';
	big[9] = '\0';
	/* authcid of 8 bytes, password of 8: fine with max 8 */
	assert_int_equal(plain_raw(big, 18, 8, &error), SASL_SERVER_DONE);
	/* password of 9 bytes */
	BAD(big, 19, 8);
	/* authcid of 9 bytes */
	big[9] = 'a';
	big[10] = '\0';
	BAD(big, 19, 8);
	/* The whole message is bounded: 3 * max + 2. */
	BAD(big, 3 * 8 + 3, 8);
#undef BAD
}

static void test_base64_strict(void **state)
{
	static const char *const bad[] = {
		"AHRpbQB0YW5zdGFhZnRhbnN0YWFm=",	/* bad length */
		"AHRpbQB0YW5zdGFhZnRhbnN0YWF",	/* missing padding */
		"AHRpbQB0YW5zdG FhZnRhbnN0YWFm",	/* space */
		"AHRpbQB0YW5zdGFhZnRhbnN0YW\r\n",	/* CRLF */
		"AHRpbQB0YW5zdGFhZnRhbnN0YWF!",	/* bad character */
		"YR==",				/* not canonical */
		"=AHRpbQB0YW5zdGFhZnRhbnN0YWF",	/* padding first */
		"AHRpbQB0=W5zdGFhZnRhbnN0YWFm",	/* padding inside */
		"====",
	};
	const char *error;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct sasl_server *server = sasl_server_create("PLAIN", NULL);

		error = NULL;
		assert_int_equal(sasl_server_start(server, bad[i],
						   strlen(bad[i]), &error),
				 SASL_SERVER_FAILED);
		assert_string_equal(error, "invalid base64");
		sasl_server_destroy(&server);

		server = sasl_server_create("PLAIN", NULL);
		assert_int_equal(sasl_server_start(server, NULL, 0, &error),
				 SASL_SERVER_CHALLENGE);
		assert_int_equal(step_text(server, bad[i], &error),
				 SASL_SERVER_FAILED);
		sasl_server_destroy(&server);
	}

	/* A NUL inside the line is not base64 either. */
	{
		struct sasl_server *server = sasl_server_create("LOGIN", NULL);

		assert_int_equal(sasl_server_start(server, "dGlt\0AAA", 8,
						   &error),
				 SASL_SERVER_FAILED);
		sasl_server_destroy(&server);
	}

	/* The good one, for contrast. */
	{
		struct sasl_server *server = sasl_server_create("PLAIN", NULL);
		const char *good = "AHRpbQB0YW5zdGFhZnRhbnN0YWFm";

		assert_int_equal(sasl_server_start(server, good, strlen(good),
						   &error),
				 SASL_SERVER_DONE);
		sasl_server_destroy(&server);
	}
}

static void test_overlong_response(void **state)
{
	struct sasl_server_settings set = { .hostname = "h", .max_field = 16 };
	const char *error = NULL;
	char *line = xmalloc(100001);
	struct sasl_server *server;

	/* Valid base64, far too long: refused before decoding. */
	memset(line, 'A', 100000);
	line[100000] = '\0';
	for (int m = 0; m < SASL_MECH_COUNT; m++) {
		server = sasl_server_create(sasl_mech_name(m), &set);
		assert_int_equal(sasl_server_start(server, NULL, 0, &error),
				 SASL_SERVER_CHALLENGE);
		assert_int_equal(sasl_server_step(server, line, 100000,
						  &error),
				 SASL_SERVER_FAILED);
		assert_string_equal(error, "response too long");
		sasl_server_destroy(&server);

		/* The raw interface is bounded too. */
		server = sasl_server_create(sasl_mech_name(m), &set);
		assert_int_equal(sasl_server_start(server, NULL, 0, &error),
				 SASL_SERVER_CHALLENGE);
		assert_int_equal(sasl_server_step_raw(server, line, 100000,
						      &error),
				 SASL_SERVER_FAILED);
		sasl_server_destroy(&server);
	}
	/* Default limit with a huge LOGIN user name. */
	server = sasl_server_create("LOGIN", NULL);
	assert_int_equal(sasl_server_start(server, line, 100000, &error),
			 SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	free(line);
}

static void test_cancel(void **state)
{
	const char *error = NULL;
	size_t len;

	for (int m = 0; m < SASL_MECH_COUNT; m++) {
		struct sasl_server *server =
			sasl_server_create(sasl_mech_name(m), NULL);

		assert_int_equal(sasl_server_start(server, NULL, 0, &error),
				 SASL_SERVER_CHALLENGE);
		assert_int_equal(step_text(server, "*", &error),
				 SASL_SERVER_CANCELLED);
		assert_null(sasl_server_credentials(server));
		/* Nothing more once it is over. */
		assert_int_equal(step_text(server, "AHRpbQB0aW0=", &error),
				 SASL_SERVER_FAILED);
		assert_false(sasl_server_check_password(server, "tim"));
		sasl_server_destroy(&server);

		/* "*" as the initial response cancels too. */
		server = sasl_server_create(sasl_mech_name(m), NULL);
		assert_int_equal(sasl_server_start(server, "*", 1, &error),
				 SASL_SERVER_CANCELLED);
		sasl_server_destroy(&server);
	}

	/* LOGIN cancelled at the password prompt. */
	{
		struct sasl_server *server = sasl_server_create("LOGIN", NULL);
		const unsigned char *ch;

		assert_int_equal(sasl_server_start(server, NULL, 0, &error),
				 SASL_SERVER_CHALLENGE);
		assert_int_equal(step_text(server, "dGlt", &error),
				 SASL_SERVER_CHALLENGE);
		ch = sasl_server_challenge(server, &len);
		assert_int_equal(len, 9);
		assert_memory_equal(ch, "Password:", 9);
		assert_int_equal(step_text(server, "*", &error),
				 SASL_SERVER_CANCELLED);
		sasl_server_destroy(&server);
	}
}

static void test_login(void **state)
{
	const char *error = NULL;
	struct str *s = str_new(32);
	const struct sasl_server_credentials *c;
	struct sasl_server *server = sasl_server_create("login", NULL);
	const unsigned char *ch;
	size_t len;

	assert_int_equal(sasl_server_start(server, NULL, 0, &error),
			 SASL_SERVER_CHALLENGE);
	ch = sasl_server_challenge(server, &len);
	assert_int_equal(len, 9);
	assert_memory_equal(ch, "Username:", 9);
	sasl_server_challenge_base64(server, s);
	assert_string_equal(str_c(s), "VXNlcm5hbWU6");
	assert_int_equal(step_text(server, "dGlt", &error),
			 SASL_SERVER_CHALLENGE);
	str_clear(s);
	sasl_server_challenge_base64(server, s);
	assert_string_equal(str_c(s), "UGFzc3dvcmQ6");
	/* "tanstaaftanstaaf" */
	assert_int_equal(step_text(server, "dGFuc3RhYWZ0YW5zdGFhZg==", &error),
			 SASL_SERVER_DONE);
	c = sasl_server_credentials(server);
	assert_string_equal(c->authcid, "tim");
	assert_string_equal(c->authzid, "");
	assert_string_equal(c->password, "tanstaaftanstaaf");
	assert_true(sasl_server_check_password(server, "tanstaaftanstaaf"));
	assert_false(sasl_server_check_password(server, "tanstaaftanstaa"));
	assert_false(sasl_server_check_password(server, "tanstaaftanstaafx"));
	/* A step after DONE fails and keeps the credentials. */
	assert_int_equal(step_text(server, "dGlt", &error),
			 SASL_SERVER_FAILED);
	assert_non_null(sasl_server_credentials(server));
	sasl_server_destroy(&server);

	/* User name as the initial response. */
	server = sasl_server_create("LOGIN", NULL);
	assert_int_equal(sasl_server_start(server, "dGlt", 4, &error),
			 SASL_SERVER_CHALLENGE);
	ch = sasl_server_challenge(server, &len);
	assert_memory_equal(ch, "Password:", 9);
	assert_int_equal(step_text(server, "cHc=", &error), SASL_SERVER_DONE);
	assert_string_equal(sasl_server_credentials(server)->password, "pw");
	sasl_server_destroy(&server);

	/* Empty user name or password, NUL in them. */
	server = sasl_server_create("LOGIN", NULL);
	assert_int_equal(sasl_server_start(server, "=", 1, &error),
			 SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	server = sasl_server_create("LOGIN", NULL);
	assert_int_equal(sasl_server_start(server, NULL, 0, &error),
			 SASL_SERVER_CHALLENGE);
	assert_int_equal(step_text(server, "", &error), SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	server = sasl_server_create("LOGIN", NULL);
	assert_int_equal(sasl_server_start(server, NULL, 0, &error),
			 SASL_SERVER_CHALLENGE);
	assert_int_equal(step_text(server, "dGlt", &error),
			 SASL_SERVER_CHALLENGE);
	assert_int_equal(step_text(server, "", &error), SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	server = sasl_server_create("LOGIN", NULL);
	assert_int_equal(sasl_server_start(server, "dAB0", 4, &error),
			 SASL_SERVER_FAILED); /* "t\0t" */
	sasl_server_destroy(&server);
	str_destroy(&s);
}

static void test_initial_response_rules(void **state)
{
	const char *error = NULL;
	struct sasl_server *server;

	/* "=" is an empty initial response: PLAIN cannot be empty. */
	server = sasl_server_create("PLAIN", NULL);
	assert_int_equal(sasl_server_start(server, "=", 1, &error),
			 SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	/* An empty initial response must be written "=". */
	server = sasl_server_create("PLAIN", NULL);
	assert_int_equal(sasl_server_start(server, "", 0, &error),
			 SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	/* CRAM-MD5 takes none, not even "=". */
	server = sasl_server_create("CRAM-MD5", NULL);
	assert_int_equal(sasl_server_start(server, "=", 1, &error),
			 SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	server = sasl_server_create("CRAM-MD5", NULL);
	assert_int_equal(sasl_server_start(server, "dGlt", 4, &error),
			 SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	/* start twice, step before start */
	server = sasl_server_create("PLAIN", NULL);
	assert_int_equal(sasl_server_start(server, NULL, 0, &error),
			 SASL_SERVER_CHALLENGE);
	assert_int_equal(sasl_server_start(server, NULL, 0, &error),
			 SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
	server = sasl_server_create("PLAIN", NULL);
	assert_int_equal(step_text(server, "AHRpbQB0aW0=", &error),
			 SASL_SERVER_FAILED);
	sasl_server_destroy(&server);
}

static void test_cram_md5_rfc2195(void **state)
{
	static const char digest[] = "b913a602c7eda7a495b4e6e7334d3890";
	struct str *pw = str_new(64);
	struct sasl_client *client;
	struct str *line = str_new(64);
	const char *error = NULL;
	char *ch_b64 = b64(rfc2195_challenge, strlen(rfc2195_challenge));

	/* The RFC's exact exchange, from the client side. */
	assert_string_equal(ch_b64, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2Uu"
				    "cmVzdG9uLm1jaS5uZXQ+");
	client = sasl_client_create("CRAM-MD5", NULL, "tim",
				    "tanstaaftanstaaf", &error);
	assert_non_null(client);
	assert_int_equal(sasl_client_initial_response(client, line), 0);
	assert_int_equal(sasl_client_step(client, ch_b64, strlen(ch_b64), line,
					  &error),
			 0);
	assert_string_equal(str_c(line),
			    "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	str_clear(line);
	assert_int_equal(sasl_client_step(client, ch_b64, strlen(ch_b64), line,
					  &error),
			 -1);
	sasl_client_destroy(&client);

	/* Verification helpers, with the clear password and the key. */
	assert_true(sasl_cram_md5_verify_password(rfc2195_challenge, digest,
						  "tanstaaftanstaaf"));
	assert_true(sasl_cram_md5_verify_password(
		rfc2195_challenge, "B913A602C7EDA7A495B4E6E7334D3890",
		"tanstaaftanstaaf"));
	assert_false(sasl_cram_md5_verify_password(rfc2195_challenge, digest,
						   "tanstaaftanstaafx"));
	assert_false(sasl_cram_md5_verify_password("<1896.697170953@x>",
						   digest,
						   "tanstaaftanstaaf"));
	assert_false(sasl_cram_md5_verify_password(
		rfc2195_challenge, "b913a602c7eda7a495b4e6e7334d389",
		"tanstaaftanstaaf"));
	assert_false(sasl_cram_md5_verify_password(
		rfc2195_challenge, "b913a602c7eda7a495b4e6e7334d38900",
		"tanstaaftanstaaf"));
	assert_false(sasl_cram_md5_verify_password(rfc2195_challenge, "",
						   "tanstaaftanstaaf"));

	hmac_md5_precompute_hex(pw, "tanstaaftanstaaf", 16);
	assert_int_equal(sasl_cram_md5_verify_hmac(rfc2195_challenge, digest,
						   str_c(pw)),
			 1);
	assert_int_equal(sasl_cram_md5_verify_hmac(rfc2195_challenge,
						   "b913a602c7eda7a495b4e6e7"
						   "334d3891",
						   str_c(pw)),
			 0);
	assert_int_equal(sasl_cram_md5_verify_hmac(rfc2195_challenge,
						   "nothex", str_c(pw)),
			 0);
	assert_int_equal(sasl_cram_md5_verify_hmac(rfc2195_challenge, digest,
						   "abcdef"),
			 -1);
	str_destroy(&pw);
	str_destroy(&line);
	free(ch_b64);
}

static void test_cram_md5_server(void **state)
{
	struct sasl_server_settings set = {
		.hostname = "mail.example.test\r\n<evil>",
	};
	const char *error = NULL;
	const struct sasl_server_credentials *c;
	struct sasl_server *server = sasl_server_create("CRAM-MD5", &set);
	struct sasl_server *other = sasl_server_create("CRAM-MD5", &set);
	const unsigned char *ch;
	size_t len, olen;
	unsigned char d[16];
	struct str *resp = str_new(64), *pw = str_new(64);
	char *text;

	assert_int_equal(sasl_server_start(server, NULL, 0, &error),
			 SASL_SERVER_CHALLENGE);
	assert_int_equal(sasl_server_start(other, NULL, 0, &error),
			 SASL_SERVER_CHALLENGE);
	ch = sasl_server_challenge(server, &len);
	/* <digits.digits@host>, with the host name cleaned up */
	assert_true(len > 10);
	assert_int_equal(ch[0], '<');
	assert_int_equal(ch[len - 1], '>');
	{
		char *copy = xstrndup((const char *)ch, len);
		const char *at = strchr(copy, '@');
		size_t digits = strspn(copy + 1, "0123456789");

		assert_non_null(at);
		assert_string_equal(at, "@mail.example.testevil>");
		assert_true(digits > 0);
		assert_int_equal(copy[1 + digits], '.');
		assert_true(strspn(copy + 2 + digits, "0123456789") ==
			    (size_t)(at - (copy + 2 + digits)));
		/* Two sessions never share a challenge. */
		sasl_server_challenge(other, &olen);
		assert_false(olen == len &&
			     memcmp(sasl_server_challenge(other, &olen), copy,
				    len) == 0);
		free(copy);
	}

	hmac_digest(HASH_MD5, "secret", 6, ch, len, d);
	(void)str_append(resp, "tim smith ");
	hash_hex_append(resp, d, sizeof(d));
	text = b64(str_c(resp), str_len(resp));
	assert_int_equal(step_text(server, text, &error), SASL_SERVER_DONE);
	c = sasl_server_credentials(server);
	assert_int_equal(c->mech, SASL_MECH_CRAM_MD5);
	assert_string_equal(c->authcid, "tim smith");
	assert_null(c->password);
	assert_memory_equal(c->challenge, ch, len);
	assert_memory_equal(c->digest, d, 16);
	assert_string_equal(c->digest_hex, str_c(resp) + 10);
	assert_true(sasl_server_check_password(server, "secret"));
	assert_false(sasl_server_check_password(server, "Secret"));
	hmac_md5_precompute_hex(pw, "secret", 6);
	assert_int_equal(sasl_server_check_hmac_md5(server, str_c(pw)), 1);
	str_clear(pw);
	hmac_md5_precompute_hex(pw, "secreT", 6);
	assert_int_equal(sasl_server_check_hmac_md5(server, str_c(pw)), 0);
	assert_int_equal(sasl_server_check_hmac_md5(server, "zz"), -1);
	free(text);
	sasl_server_destroy(&server);
	sasl_server_destroy(&other);
	str_destroy(&resp);
	str_destroy(&pw);
}

static void test_cram_md5_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"tim",
		"tim b913a602c7eda7a495b4e6e7334d3890 ",
		"timb913a602c7eda7a495b4e6e7334d3890",
		" b913a602c7eda7a495b4e6e7334d3890",		/* no user */
		"tim b913a602c7eda7a495b4e6e7334d389",		/* 31 */
		"tim b913a602c7eda7a495b4e6e7334d38900",	/* 33 */
		"tim g913a602c7eda7a495b4e6e7334d3890",		/* not hex */
		"tim  913a602c7eda7a495b4e6e7334d3890",
		"t\xffm b913a602c7eda7a495b4e6e7334d3890",	/* UTF-8 */
		"t\nm b913a602c7eda7a495b4e6e7334d3890",	/* LF */
	};
	const char *error = NULL;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct sasl_server *server = sasl_server_create("CRAM-MD5",
								NULL);

		assert_int_equal(sasl_server_start(server, NULL, 0, &error),
				 SASL_SERVER_CHALLENGE);
		error = NULL;
		assert_int_equal(sasl_server_step_raw(server, bad[i],
						      strlen(bad[i]), &error),
				 SASL_SERVER_FAILED);
		assert_non_null(error);
		assert_null(sasl_server_credentials(server));
		assert_false(sasl_server_check_password(server, "x"));
		assert_int_equal(sasl_server_check_hmac_md5(server, "x"), -1);
		sasl_server_destroy(&server);
	}
	/* A NUL inside the user name. */
	{
		struct sasl_server *server = sasl_server_create("CRAM-MD5",
								NULL);
		static const char msg[] =
			"t\0m b913a602c7eda7a495b4e6e7334d3890";

		assert_int_equal(sasl_server_start(server, NULL, 0, &error),
				 SASL_SERVER_CHALLENGE);
		assert_int_equal(sasl_server_step_raw(server, msg,
						      sizeof(msg) - 1, &error),
				 SASL_SERVER_FAILED);
		sasl_server_destroy(&server);
	}
}

/* Every truncation of a PLAIN message: never a crash, and success only
 * when the two NULs and a password are there. */
static void test_plain_every_prefix(void **state)
{
	static const char msg[] = "Ursel\0Kurt\0xipj3plmq";
	const char *error;

	for (size_t n = 0; n < sizeof(msg); n++) {
		enum sasl_server_status st = plain_raw(msg, n, 0, &error);

		assert_int_equal(st, n > 11 ? SASL_SERVER_DONE
					    : SASL_SERVER_FAILED);
	}
}

/* Client and server in one process, for every mechanism, with and without
 * the initial response, with a right and a wrong password. */
static void round_trip(const char *mech, const char *authzid, bool use_ir,
		       const char *client_pw, const char *server_pw,
		       bool expect_ok)
{
	const char *error = NULL;
	struct sasl_client *client =
		sasl_client_create(mech, authzid, "user@example.test",
				   client_pw, &error);
	struct sasl_server *server =
		sasl_server_create(mech, &(struct sasl_server_settings){
						 .hostname = "mx.example.test" });
	struct str *line = str_new(64);
	enum sasl_server_status st;
	int rounds = 0;

	assert_non_null(client);
	if (use_ir && sasl_client_initial_response(client, line) > 0)
		st = sasl_server_start(server, str_c(line), str_len(line),
				       &error);
	else
		st = sasl_server_start(server, NULL, 0, &error);
	while (st == SASL_SERVER_CHALLENGE) {
		str_clear(line);
		sasl_server_challenge_base64(server, line);
		{
			char *challenge = xstrdup(str_c(line));

			str_clear(line);
			assert_int_equal(sasl_client_step(client, challenge,
							  strlen(challenge),
							  line, &error),
					 0);
			free(challenge);
		}
		st = sasl_server_step(server, str_c(line), str_len(line),
				      &error);
		assert_true(++rounds <= 2);
	}
	assert_int_equal(st, SASL_SERVER_DONE);
	assert_string_equal(sasl_server_credentials(server)->authcid,
			    "user@example.test");
	assert_string_equal(sasl_server_credentials(server)->authzid,
			    authzid != NULL ? authzid : "");
	assert_int_equal(sasl_server_check_password(server, server_pw),
			 expect_ok);
	if (sasl_server_mech(server) == SASL_MECH_CRAM_MD5) {
		struct str *key = str_new(64);

		hmac_md5_precompute_hex(key, server_pw, strlen(server_pw));
		assert_int_equal(sasl_server_check_hmac_md5(server, str_c(key)),
				 expect_ok ? 1 : 0);
		str_destroy(&key);
	}
	sasl_client_destroy(&client);
	assert_null(client);
	sasl_server_destroy(&server);
	str_destroy(&line);
}

static void test_round_trips(void **state)
{
	static const char *const mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5" };

	for (size_t i = 0; i < N_ELEMENTS(mechs); i++) {
		for (int ir = 0; ir < 2; ir++) {
			round_trip(mechs[i], NULL, ir, "p\xc3\xa4ss w0rd",
				   "p\xc3\xa4ss w0rd", true);
			round_trip(mechs[i], NULL, ir, "pass", "Pass", false);
		}
	}
	round_trip("PLAIN", "admin", true, "pw", "pw", true);
	round_trip("PLAIN", "admin", false, "pw", "pw", true);
	/* A long (100-byte) password and CRAM-MD5's key hashing. */
	{
		char pw[101];

		memset(pw, 'k', 100);
		pw[100] = '\0';
		round_trip("CRAM-MD5", NULL, false, pw, pw, true);
		round_trip("PLAIN", NULL, true, pw, pw, true);
	}
}

static void test_client_errors(void **state)
{
	const char *error = NULL;
	struct sasl_client *client;
	struct str *line = str_new(16);
	char big[SASL_DEFAULT_MAX_FIELD + 2];

	assert_null(sasl_client_create("GSSAPI", NULL, "u", "p", &error));
	assert_null(sasl_client_create("PLAIN", NULL, "", "p", &error));
	assert_null(sasl_client_create("PLAIN", NULL, "u", "", &error));
	assert_null(sasl_client_create("LOGIN", "z", "u", "p", &error));
	assert_null(sasl_client_create("CRAM-MD5", "z", "u", "p", &error));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(sasl_client_create("PLAIN", NULL, big, "p", &error));

	/* PLAIN: one response only. */
	client = sasl_client_create("plain", "", "u", "p", &error);
	assert_int_equal(sasl_client_initial_response(client, line), 1);
	assert_string_equal(str_c(line), "AHUAcA==");
	assert_int_equal(sasl_client_initial_response(client, line), 0);
	assert_int_equal(sasl_client_step(client, "", 0, line, &error), -1);
	sasl_client_destroy(&client);

	/* LOGIN: two answers, then an error; bad base64 refused. */
	client = sasl_client_create("LOGIN", NULL, "u", "p", &error);
	str_clear(line);
	assert_int_equal(sasl_client_initial_response(client, line), 0);
	assert_int_equal(str_len(line), 0);
	assert_int_equal(sasl_client_step(client, "VXNlcm5hbWU", 11, line,
					  &error),
			 -1);
	assert_int_equal(sasl_client_step(client, "VXNlcm5hbWU6", 12, line,
					  &error),
			 0);
	assert_string_equal(str_c(line), "dQ==");
	str_clear(line);
	/* The prompt text does not matter. */
	assert_int_equal(sasl_client_step(client, "", 0, line, &error), 0);
	assert_string_equal(str_c(line), "cA==");
	assert_int_equal(sasl_client_step(client, "", 0, line, &error), -1);
	sasl_client_destroy(&client);

	/* CRAM-MD5: empty or overlong challenges refused. */
	client = sasl_client_create("CRAM-MD5", NULL, "u", "p", &error);
	assert_int_equal(sasl_client_step(client, "", 0, line, &error), -1);
	{
		size_t n = (SASL_CLIENT_MAX_CHALLENGE / 3 + 2) * 4;
		char *huge = xmalloc(n + 1);

		memset(huge, 'A', n);
		huge[n] = '\0';
		assert_int_equal(sasl_client_step(client, huge, n, line,
						  &error),
				 -1);
		free(huge);
	}
	sasl_client_destroy(&client);
	sasl_client_destroy(&client);
	str_destroy(&line);
}

static void test_choose_mech(void **state)
{
	enum sasl_mech m = SASL_MECH_PLAIN;

	assert_int_equal(sasl_client_choose_mech("LOGIN PLAIN", false, &m),
			 -1);
	assert_int_equal(sasl_client_choose_mech("LOGIN PLAIN", true, &m), 0);
	assert_int_equal(m, SASL_MECH_PLAIN);
	assert_int_equal(sasl_client_choose_mech("login plain cram-md5", false,
						 &m),
			 0);
	assert_int_equal(m, SASL_MECH_CRAM_MD5);
	assert_int_equal(sasl_client_choose_mech("PLAIN CRAM-MD5", true, &m),
			 0);
	assert_int_equal(m, SASL_MECH_CRAM_MD5);
	assert_int_equal(sasl_client_choose_mech("  XOAUTH2\tLOGIN  ", true,
						 &m),
			 0);
	assert_int_equal(m, SASL_MECH_LOGIN);
	assert_int_equal(sasl_client_choose_mech("PLAINX CRAM-MD5X", true, &m),
			 -1);
	assert_int_equal(sasl_client_choose_mech("", true, &m), -1);
	assert_int_equal(sasl_client_choose_mech(NULL, true, &m), -1);
}

static void test_server_mechs(void **state)
{
	struct str *s = str_new(16);

	sasl_server_mechs(s, true);
	assert_string_equal(str_c(s), "PLAIN LOGIN CRAM-MD5");
	str_clear(s);
	sasl_server_mechs(s, false);
	assert_string_equal(str_c(s), "CRAM-MD5");
	str_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mech_names),
		cmocka_unit_test(test_plain_rfc4616),
		cmocka_unit_test(test_plain_malformed),
		cmocka_unit_test(test_base64_strict),
		cmocka_unit_test(test_overlong_response),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_initial_response_rules),
		cmocka_unit_test(test_cram_md5_rfc2195),
		cmocka_unit_test(test_cram_md5_server),
		cmocka_unit_test(test_cram_md5_malformed),
		cmocka_unit_test(test_plain_every_prefix),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_client_errors),
		cmocka_unit_test(test_choose_mech),
		cmocka_unit_test(test_server_mechs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
