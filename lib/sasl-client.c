/* sasl-client.c: client side of SASL PLAIN, LOGIN and CRAM-MD5 (see
 * sasl-client.h). */
#include "config.h"
#include "sasl-client.h"
#include "base64.h"
#include "hash.h"
#include "mem.h"
#include "secure.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sasl_client {
	enum sasl_mech mech;
	unsigned int steps;	/* challenges answered */
	bool sent_initial;
	char *authzid, *authcid, *password;
};

static void wipe_string(char **s)
{
	if (*s != NULL) {
		secure_wipe(*s, strlen(*s));
		x_free(*s);
	}
}

/* Wipes and frees a scratch string that held a secret. */
static void wipe_str_free(struct str *s)
{
	secure_wipe(s->data, s->size);
	str_free(s);
}

struct sasl_client *sasl_client_create(const char *mech_name,
				       const char *authzid,
				       const char *authcid,
				       const char *password,
				       const char **error_r)
{
	struct sasl_client *client;
	enum sasl_mech mech;

	if (mech_name == NULL || sasl_mech_from_name(mech_name, &mech) < 0) {
		*error_r = "unsupported SASL mechanism";
		return NULL;
	}
	if (authcid == NULL || authcid[0] == '\0') {
		*error_r = "empty user name";
		return NULL;
	}
	if (password == NULL || password[0] == '\0') {
		*error_r = "empty password";
		return NULL;
	}
	if (authzid == NULL)
		authzid = "";
	if (authzid[0] != '\0' && mech != SASL_MECH_PLAIN) {
		*error_r = "only PLAIN can send an authorization identity";
		return NULL;
	}
	if (strlen(authzid) > SASL_DEFAULT_MAX_FIELD ||
	    strlen(authcid) > SASL_DEFAULT_MAX_FIELD ||
	    strlen(password) > SASL_DEFAULT_MAX_FIELD) {
		*error_r = "user name or password too long";
		return NULL;
	}
	client = xcalloc(1, sizeof(*client));
	client->mech = mech;
	client->authzid = xstrdup(authzid);
	client->authcid = xstrdup(authcid);
	client->password = xstrdup(password);
	return client;
}

void sasl_client_destroy(struct sasl_client **_client)
{
	struct sasl_client *client = *_client;

	if (client == NULL)
		return;
	*_client = NULL;
	wipe_string(&client->authzid);
	wipe_string(&client->authcid);
	wipe_string(&client->password);
	free(client);
}

enum sasl_mech sasl_client_mech(const struct sasl_client *client)
{
	return client->mech;
}

static void plain_message(const struct sasl_client *client, struct str *dest)
{
	struct str msg;

	str_init(&msg, strlen(client->authzid) + strlen(client->authcid) +
			       strlen(client->password) + 3);
	(void)str_append(&msg, client->authzid);
	(void)str_append_c(&msg, '\0');
	(void)str_append(&msg, client->authcid);
	(void)str_append_c(&msg, '\0');
	(void)str_append(&msg, client->password);
	base64_encode(dest, str_c(&msg), str_len(&msg), 0);
	wipe_str_free(&msg);
}

int sasl_client_initial_response(struct sasl_client *client,
				 struct str *dest)
{
	if (client->mech != SASL_MECH_PLAIN || client->steps > 0 ||
	    client->sent_initial)
		return 0;
	plain_message(client, dest);
	client->sent_initial = true;
	return 1;
}

static void cram_response(const struct sasl_client *client,
			  const struct str *challenge, struct str *dest)
{
	unsigned char digest[HASH_MD5_DIGEST_SIZE];
	struct str msg;

	hmac_digest(HASH_MD5, client->password, strlen(client->password),
		    str_c(challenge), str_len(challenge), digest);
	str_init(&msg, strlen(client->authcid) + 2 + 2 * sizeof(digest));
	(void)str_append(&msg, client->authcid);
	(void)str_append_c(&msg, ' ');
	hash_hex_append(&msg, digest, sizeof(digest));
	base64_encode(dest, str_c(&msg), str_len(&msg), 0);
	secure_wipe(digest, sizeof(digest));
	wipe_str_free(&msg);
}

int sasl_client_step(struct sasl_client *client, const char *challenge,
		     size_t len, struct str *dest, const char **error_r)
{
	struct str decoded;
	int ret = 0;

	if (len > (SASL_CLIENT_MAX_CHALLENGE / 3 + 1) * 4) {
		*error_r = "server challenge too long";
		return -1;
	}
	str_init(&decoded, SASL_CLIENT_MAX_CHALLENGE + 3);
	if (base64_decode_strict(&decoded, challenge, len) < 0) {
		*error_r = "server challenge is not valid base64";
		str_free(&decoded);
		return -1;
	}
	if (str_len(&decoded) > SASL_CLIENT_MAX_CHALLENGE) {
		*error_r = "server challenge too long";
		str_free(&decoded);
		return -1;
	}

	switch (client->mech) {
	case SASL_MECH_PLAIN:
		/* One empty challenge, when there was no initial response. */
		if (client->sent_initial || client->steps > 0) {
			*error_r = "unexpected challenge after PLAIN response";
			ret = -1;
		} else {
			plain_message(client, dest);
		}
		break;
	case SASL_MECH_LOGIN:
		if (client->steps == 0) {
			base64_encode(dest, client->authcid,
				      strlen(client->authcid), 0);
		} else if (client->steps == 1) {
			base64_encode(dest, client->password,
				      strlen(client->password), 0);
		} else {
			*error_r = "unexpected third LOGIN challenge";
			ret = -1;
		}
		break;
	case SASL_MECH_CRAM_MD5:
		if (client->steps > 0) {
			*error_r = "unexpected second CRAM-MD5 challenge";
			ret = -1;
		} else if (str_len(&decoded) == 0) {
			*error_r = "empty CRAM-MD5 challenge";
			ret = -1;
		} else {
			cram_response(client, &decoded, dest);
		}
		break;
	}
	if (ret == 0)
		client->steps++;
	str_free(&decoded);
	return ret;
}

int sasl_client_choose_mech(const char *advertised, bool plaintext_ok,
			    enum sasl_mech *mech_r)
{
	static const enum sasl_mech preference[] = {
		SASL_MECH_CRAM_MD5, SASL_MECH_PLAIN, SASL_MECH_LOGIN,
	};
	bool offered[SASL_MECH_COUNT] = { false };
	const char *p = advertised != NULL ? advertised : "";

	while (*p != '\0') {
		const char *start;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		len = (size_t)(p - start);
		for (int m = 0; m < SASL_MECH_COUNT; m++) {
			const char *name = sasl_mech_name((enum sasl_mech)m);

			if (len > 0 && strlen(name) == len &&
			    strncasecmp(start, name, len) == 0)
				offered[m] = true;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(preference); i++) {
		enum sasl_mech m = preference[i];

		if (!offered[m])
			continue;
		if (sasl_mech_sends_password(m) && !plaintext_ok)
			continue;
		*mech_r = m;
		return 0;
	}
	return -1;
}
