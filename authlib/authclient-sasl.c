/* authclient-sasl.c: authenticates the outcome of a server-side SASL
 * exchange (lib/sasl-server.h) through authdaemond.  Apart from
 * authclient.c so that programs that only look accounts up (maildrop,
 * courierlocal) do not link the SASL and hash code. */
#include "config.h"

#include <string.h>

#include "authclient.h"
#include "sasl-server.h"

int auth_sasl(const char *service, const struct sasl_server *server,
	const char *remote_ip, struct auth_record *rec_r, const char **error_r)
{
	const struct sasl_server_credentials *c =
		sasl_server_credentials(server);

	auth_record_init(rec_r);
	if (c == NULL) {
		*error_r = "SASL exchange not finished";
		return 0;
	}
	if (c->mech == SASL_MECH_CRAM_MD5) {
		return auth_cram(service, "cram-md5", c->challenge,
			strlen(c->challenge), c->authcid, c->digest_hex,
			remote_ip, rec_r, error_r);
	}
	if (c->authzid != NULL && c->authzid[0] != '\0' &&
		strcmp(c->authzid, c->authcid) != 0) {
		*error_r = "authorization identity differs from the login";
		return 0;
	}
	return auth_login(
		service, c->authcid, c->password, remote_ip, rec_r, error_r);
}
