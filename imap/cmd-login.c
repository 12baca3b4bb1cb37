/* cmd-login.c: STARTTLS, LOGIN and AUTHENTICATE (PLAIN, LOGIN, CRAM-MD5,
 * with SASL-IR), in the pre-login process. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conn.h"
#include "imap-client-private.h"
#include "mem.h"
#include "sasl-server.h"
#include "secure.h"

void cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	const char *error;

	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "STARTTLS takes no arguments");
		return;
	}
	if (client->tls_ctx == NULL || client->tls) {
		imap_cmd_bad(cmd, client->tls ? "TLS is already active" :
						"STARTTLS is not offered");
		return;
	}
	enum imap_starttls_result how =
		client->cb != NULL && client->cb->starttls != NULL ?
			client->cb->starttls(client, client->context) :
			IMAP_STARTTLS_LOCAL;
	switch (how) {
	case IMAP_STARTTLS_LOCAL:
		break;
	case IMAP_STARTTLS_REFUSED:
		imap_client_send(client, "* BYE [UNAVAILABLE] Too many TLS "
					 "connections, try later");
		imap_client_close(client);
		return;
	case IMAP_STARTTLS_PROXY:
		/* the owner runs the TLS elsewhere (a TLS proxy, imapd):
		 * nothing sent before the handshake is used after it (RFC
		 * 3501 6.2.1), the owner throws the pipelined input away */
		imap_cmd_ok(cmd, "Begin TLS negotiation now");
		imap_parser_reset(client->parser);
		client->cont = IMAP_CONT_HANDED_OFF;
		conn_input_pause(client->conn);
		return;
	}
	imap_cmd_ok(cmd, "Begin TLS negotiation now");
	if (conn_start_tls(client->conn, client->tls_ctx, NULL, &error) < 0) {
		imap_client_send(client, "* BYE TLS failed");
		imap_client_close(client);
	}
	/* pipelined commands sent before the handshake are discarded */
	imap_parser_reset(client->parser);
}

void cmd_login(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;

	if (cmd->count != 2 || !imap_arg_is_string(&cmd->args[0]) ||
	    !imap_arg_is_string(&cmd->args[1])) {
		imap_cmd_bad(cmd, "LOGIN takes a user name and a password");
		return;
	}
	if (!imap_client_plaintext_ok(client)) {
		imap_cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
		return;
	}
	const struct imap_arg *u = &cmd->args[0], *p = &cmd->args[1];
	if (u->len == 0 || memchr(u->str, '\0', u->len) != NULL ||
	    memchr(p->str, '\0', p->len) != NULL ||
	    strpbrk(u->str, "\r\n") != NULL ||
	    strpbrk(p->str, "\r\n") != NULL) {
		imap_cmd_bad(cmd, "Invalid user name or password");
		return;
	}
	struct imap_login_request req = {
		.tag = cmd->tag,
		.user = u->str,
		.password = p->str,
		.tls = client->tls,
	};
	imap_client_login(client, &req);
	secure_wipe(p->str, p->len);
}

/* Finishes an exchange that returned DONE. */
static void auth_done(struct imap_client *client)
{
	const struct sasl_server_credentials *cr =
		sasl_server_credentials(client->sasl);
	struct imap_login_request req = {
		.tag = client->cont_tag,
		.user = cr->authcid,
		.password = cr->password,
		.cram_challenge = cr->challenge,
		.cram_digest_hex = cr->digest_hex,
		.tls = client->tls,
	};

	client->cont = IMAP_CONT_NONE;
	if (cr->authzid[0] != '\0' && strcmp(cr->authzid, cr->authcid) != 0) {
		imap_client_printf(client, "%s NO [AUTHORIZATIONFAILED] "
				   "Proxy authorization is not supported",
				   client->cont_tag);
	} else {
		imap_client_login(client, &req);
	}
	sasl_server_destroy(&client->sasl);
	x_free(client->cont_tag);
}

static void auth_status(struct imap_client *client,
			enum sasl_server_status st, const char *error)
{
	struct str s;

	switch (st) {
	case SASL_SERVER_CHALLENGE:
		str_init(&s, 128);
		str_append(&s, "+ ");
		sasl_server_challenge_base64(client->sasl, &s);
		imap_client_send(client, str_c(&s));
		str_free(&s);
		client->cont = IMAP_CONT_AUTH;
		return;
	case SASL_SERVER_DONE:
		auth_done(client);
		return;
	case SASL_SERVER_CANCELLED:
		imap_client_printf(client, "%s BAD AUTHENTICATE cancelled",
				   client->cont_tag);
		break;
	case SASL_SERVER_FAILED:
		imap_client_printf(client, "%s BAD %s", client->cont_tag,
				   error != NULL ? error :
						   "Malformed SASL response");
		break;
	}
	client->cont = IMAP_CONT_NONE;
	sasl_server_destroy(&client->sasl);
	x_free(client->cont_tag);
}

void imap_client_auth_line(struct imap_client *client, const char *line,
			   size_t len);
void imap_client_auth_line(struct imap_client *client, const char *line,
			   size_t len)
{
	const char *error = NULL;
	enum sasl_server_status st =
		sasl_server_step(client->sasl, line, len, &error);

	secure_wipe((char *)line, len);
	auth_status(client, st, error);
}

void cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	const char *error = NULL;

	if (cmd->count < 1 || cmd->count > 2 ||
	    cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->count == 2 && !imap_arg_is_string(&cmd->args[1]))) {
		imap_cmd_bad(cmd, "AUTHENTICATE takes a mechanism and an "
				  "optional initial response");
		return;
	}
	struct sasl_server_settings ss = { .hostname = NULL };
	client->sasl = sasl_server_create(cmd->args[0].str, &ss);
	if (client->sasl == NULL) {
		imap_cmd_no(cmd, "Unsupported authentication mechanism");
		return;
	}
	enum sasl_mech mech = sasl_server_mech(client->sasl);
	if (!imap_settings_mech_offered(client->set, sasl_mech_name(mech),
					client->tls)) {
		sasl_server_destroy(&client->sasl);
		imap_cmd_no(cmd, "Unsupported authentication mechanism");
		return;
	}
	if (!imap_client_mech_offered(client, mech)) {
		sasl_server_destroy(&client->sasl);
		imap_cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
		return;
	}
	client->cont_tag = xstrdup(cmd->tag);
	enum sasl_server_status st =
		cmd->count == 2 ?
			sasl_server_start(client->sasl, cmd->args[1].str,
					  cmd->args[1].len, &error) :
			sasl_server_start(client->sasl, NULL, 0, &error);
	auth_status(client, st, error);
}

/* ---- LOGIN-REFERRALS (RFC 2221) ---- */

/* A host name (letters, digits, '-', '.'), a dotted IPv4 address, or a
 * bracketed IPv6 address, at most 255 bytes. */
static bool referral_host_valid(const char *host)
{
	size_t len = strlen(host);

	if (len == 0 || len > 255)
		return false;
	if (host[0] == '[') {
		if (len < 4 || host[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++)
			if (strchr("0123456789abcdefABCDEF:.", host[i]) ==
			    NULL)
				return false;
		return true;
	}
	for (size_t i = 0; i < len; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return host[0] != '.' && host[0] != '-';
}

int imap_login_referral_url(struct str *out, const char *user,
			    const char *host)
{
	static const char hex[] = "0123456789ABCDEF";

	if (!referral_host_valid(host))
		return -1;
	str_append(out, "imap://");
	/* RFC 5092 enc-user: unreserved, sub-delims but ';', ':', '&', '=',
	 * '+', '$', ',' percent-encoded (achar without ';' and '@') */
	for (const unsigned char *p = (const unsigned char *)user; *p != '\0';
	     p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~!'()*", *p) != NULL)
			str_append_c(out, (char)*p);
		else {
			str_append_c(out, '%');
			str_append_c(out, hex[*p >> 4]);
			str_append_c(out, hex[*p & 15]);
		}
	}
	str_printfa(out, ";AUTH=*@%s/", host);
	return 0;
}

bool imap_login_mailhost_is_me(const char *mailhost,
			       const char *proxy_hostname)
{
	char name[256];

	if (proxy_hostname != NULL && proxy_hostname[0] != '\0')
		return strcasecmp(mailhost, proxy_hostname) == 0;
	if (gethostname(name, sizeof(name)) < 0)
		return true;	/* unknown: serve the account here */
	name[sizeof(name) - 1] = '\0';
	return strcasecmp(mailhost, name) == 0 ||
	       strcasecmp(mailhost, "localhost") == 0;
}
