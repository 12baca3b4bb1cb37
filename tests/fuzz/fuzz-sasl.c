/* fuzz-sasl.c: libFuzzer target feeding arbitrary client responses to the
 * SASL server state machine (PLAIN, LOGIN, CRAM-MD5), and arbitrary
 * challenges to the client.
 *
 * Input: one control byte, then lines separated by '\n'.  Control bits:
 *   0-1  mechanism (0 PLAIN, 1 LOGIN, 2 CRAM-MD5, 3 all three in turn)
 *   2    the first line is an initial response
 *   3    lines are raw bytes (the _raw interface) instead of base64 text
 *   4    small field limit (8 bytes) instead of the default
 * Every line goes to the server until the exchange ends; the same lines
 * are then given to a client as server challenges. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "mem.h"
#include "sasl-client.h"
#include "sasl-server.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *next_line(const char **p, const char *end, size_t *len_r)
{
	const char *start = *p;
	const char *nl = memchr(start, '\n', (size_t)(end - start));

	if (nl == NULL) {
		*len_r = (size_t)(end - start);
		*p = end;
	} else {
		*len_r = (size_t)(nl - start);
		*p = nl + 1;
	}
	return start;
}

static void check_credentials(const struct sasl_server *server)
{
	const struct sasl_server_credentials *c =
		sasl_server_credentials(server);

	if (c == NULL)
		return;
	/* Invariants the callers rely on. */
	if (c->authcid == NULL || c->authcid[0] == '\0' || c->authzid == NULL)
		__builtin_trap();
	if (c->mech == SASL_MECH_CRAM_MD5) {
		if (c->password != NULL || c->challenge == NULL ||
		    c->digest_hex == NULL || strlen(c->digest_hex) != 32)
			__builtin_trap();
		(void)sasl_server_check_password(server, "password");
		(void)sasl_server_check_hmac_md5(server, c->digest_hex);
		(void)sasl_cram_md5_verify_password(c->challenge,
						    c->digest_hex, c->authcid);
	} else {
		if (c->password == NULL || c->password[0] == '\0')
			__builtin_trap();
		if (!sasl_server_check_password(server, c->password))
			__builtin_trap();
	}
}

static void run_server(enum sasl_mech mech, unsigned int ctl,
		       const char *p, const char *end)
{
	struct sasl_server_settings set = {
		.hostname = "fuzz.example.test",
		.max_field = (ctl & 0x10) != 0 ? 8 : 0,
	};
	struct sasl_server *server = sasl_server_create(sasl_mech_name(mech),
							&set);
	bool raw = (ctl & 0x08) != 0;
	enum sasl_server_status st;
	const char *error = NULL;
	const char *line;
	size_t len;

	if ((ctl & 0x04) != 0 && p < end) {
		line = next_line(&p, end, &len);
		st = raw ? sasl_server_start_raw(server, true, line, len,
						 &error)
			 : sasl_server_start(server, line, len, &error);
	} else {
		st = sasl_server_start(server, NULL, 0, &error);
	}
	while (p < end) {
		struct str *b64 = str_new(64);
		size_t clen;

		(void)sasl_server_challenge(server, &clen);
		sasl_server_challenge_base64(server, b64);
		str_destroy(&b64);
		line = next_line(&p, end, &len);
		st = raw ? sasl_server_step_raw(server, line, len, &error)
			 : sasl_server_step(server, line, len, &error);
		if (st == SASL_SERVER_FAILED && error == NULL)
			__builtin_trap();
	}
	(void)st;
	check_credentials(server);
	sasl_server_destroy(&server);
}

static void run_client(enum sasl_mech mech, const char *p, const char *end)
{
	const char *error = NULL;
	struct sasl_client *client = sasl_client_create(
		sasl_mech_name(mech), NULL, "user", "password", &error);
	struct str *out = str_new(64);

	(void)sasl_client_initial_response(client, out);
	while (p < end) {
		size_t len;
		const char *line = next_line(&p, end, &len);

		str_clear(out);
		if (sasl_client_step(client, line, len, out, &error) < 0 &&
		    error == NULL)
			__builtin_trap();
	}
	str_destroy(&out);
	sasl_client_destroy(&client);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	unsigned int ctl;

	if (!initialised) {
		log_init("fuzz-sasl", LOG_TARGET_STDERR);
		initialised = true;
	}
	if (size == 0)
		return 0;
	ctl = data[0];
	for (unsigned int m = 0; m < SASL_MECH_COUNT; m++) {
		if ((ctl & 3) != 3 && m != (ctl & 3))
			continue;
		run_server((enum sasl_mech)m, ctl, p, end);
		run_client((enum sasl_mech)m, p, end);
	}
	/* The stored-key parser and the mechanism list parser. */
	{
		unsigned char state[HMAC_MD5_STATE_SIZE];
		enum sasl_mech m;
		char *text = xstrndup(p, (size_t)(end - p));

		(void)hmac_md5_state_from_hex(text, strlen(text), state);
		(void)sasl_cram_md5_verify_hmac("<1.2@h>", text, text);
		(void)sasl_client_choose_mech(text, (ctl & 0x20) != 0, &m);
		free(text);
	}
	return 0;
}
