/* authproto.h: the requests of Courier's authdaemon socket protocol, as
 * authdaemond reads them and the client library writes them.
 *
 *	[NAME=value\n ...]             preamble (TCPREMOTEIP is used)
 *	PRE . service user\n           look up (the "." may name a module)
 *	AUTH len\n + len bytes         "service\nauthtype\nauthdata"
 *	      authtype login:          authdata "user\npassword\n"
 *	      authtype cram-md5, cram-sha1, cram-sha256:
 *	                               authdata "b64challenge\nb64response\n",
 *	                               the response decoding to "user hexdigest"
 *	PASSWD service\tuser\toldpw\tnewpw\n
 *	ENUMERATE\n
 *
 * One request per connection.  The parser works on the bytes received so
 * far and says whether it needs more, so it serves the daemon's reads, the
 * unit tests (input split at every byte) and a fuzz target alike. */
#ifndef AUTHPROTO_H
#define AUTHPROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* Longest request authdaemond reads (preamble + command + AUTH data). */
#define AUTHPROTO_MAX_REQUEST 16384
/* Longest AUTH data. */
#define AUTHPROTO_MAX_AUTH_DATA 8192
/* Preamble lines accepted before the command. */
#define AUTHPROTO_MAX_PREAMBLE 16

enum authproto_cmd {
	AUTHPROTO_PRE,
	AUTHPROTO_AUTH,
	AUTHPROTO_PASSWD,
	AUTHPROTO_ENUMERATE,
};

enum authproto_authtype {
	AUTHPROTO_LOGIN,
	AUTHPROTO_CRAM,
};

/* A parsed request; strings are owned by it (authproto_request_free wipes
 * the secrets). */
struct authproto_request {
	enum authproto_cmd cmd;
	char *remote_ip; /* TCPREMOTEIP, or NULL */
	char *module;	 /* PRE: a module name, or NULL for "." */
	char *service;
	char *user; /* PRE, AUTH login, PASSWD; AUTH cram: from the
		       response */
	enum authproto_authtype authtype;
	char *mechanism;    /* AUTH: "login", "cram-md5"... (lowercase) */
	char *password;	    /* AUTH login; PASSWD: the old password */
	char *new_password; /* PASSWD */
	/* AUTH cram: the decoded challenge (binary, challenge_len bytes) and
	 * the client's hex digest. */
	char *challenge;
	size_t challenge_len;
	char *digest_hex;
};

enum authproto_status {
	AUTHPROTO_ERROR = -1, /* malformed: close the connection */
	AUTHPROTO_MORE = 0,   /* read more and call again */
	AUTHPROTO_DONE = 1,   /* *req_r is filled */
};

/* Parses the len bytes received so far (call again with all of them after
 * each read).  On DONE fills *req_r (zeroed first; free it with
 * authproto_request_free).  On ERROR *error_r is static text, never with
 * client data.  Rules: lines end in LF; names and services have no blanks
 * or control characters; user names and passwords no NUL, CR, LF or TAB
 * (and at most AUTH_MAX_USER_LEN / AUTH_MAX_PASSWORD_LEN bytes); anything
 * over the limits above is an error. */
enum authproto_status authproto_parse(const void *data, size_t len,
	struct authproto_request *req_r, const char **error_r);
void authproto_request_free(struct authproto_request *req);

/* Request writers for the client library: append the request to dest.
 * Return 0, or -1 with a static *error_r when a field would break the
 * framing (a LF or TAB in a user name or password, a blank in a service
 * name, too long). */
int authproto_write_pre(struct str *dest, const char *remote_ip,
	const char *module, const char *service, const char *user,
	const char **error_r);
int authproto_write_login(struct str *dest, const char *remote_ip,
	const char *service, const char *user, const char *password,
	const char **error_r);
/* challenge is raw bytes; response is "user hexdigest" (raw, not base64:
 * it is base64-encoded here, as is the challenge). */
int authproto_write_cram(struct str *dest, const char *remote_ip,
	const char *service, const char *mechanism, const void *challenge,
	size_t challenge_len, const char *response, const char **error_r);
int authproto_write_passwd(struct str *dest, const char *service,
	const char *user, const char *old_password, const char *new_password,
	const char **error_r);
void authproto_write_enumerate(struct str *dest);

#endif
