/* authproto.c: parse and write authdaemon protocol requests. */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include "auth-record.h"
#include "authproto.h"
#include "base64.h"
#include "mem.h"
#include "secure.h"

static void wipe_free(char **p)
{
	if (*p != NULL) {
		secure_wipe(*p, strlen(*p));
		x_free(*p);
	}
}

void authproto_request_free(struct authproto_request *req)
{
	x_free(req->remote_ip);
	x_free(req->module);
	x_free(req->service);
	x_free(req->user);
	x_free(req->mechanism);
	wipe_free(&req->password);
	wipe_free(&req->new_password);
	if (req->challenge != NULL)
		secure_wipe(req->challenge, req->challenge_len);
	x_free(req->challenge);
	x_free(req->digest_hex);
	memset(req, 0, sizeof(*req));
}

/* A token: no blanks or control characters, 1..max bytes. */
static bool token_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

/* A user name or password: no NUL, CR, LF, TAB; 1..max bytes. */
static bool secret_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n' ||
			s[i] == '\t')
			return false;
	}
	return true;
}

/* Splits data[0..len) at LF; returns the line and advances *pos, or
 * NULL when no complete line is there. */
static const char *next_line(
	const char *data, size_t len, size_t *pos, size_t *line_len_r)
{
	const char *start = data + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	if (nl == NULL)
		return NULL;
	*line_len_r = (size_t)(nl - start);
	*pos += *line_len_r + 1;
	return start;
}

static enum authproto_status fail(
	struct authproto_request *req, const char **error_r, const char *error)
{
	authproto_request_free(req);
	*error_r = error;
	return AUTHPROTO_ERROR;
}

static enum authproto_status parse_auth_data(const char *d, size_t len,
	struct authproto_request *req, const char **error_r)
{
	size_t pos = 0, l1, l2, l3;
	const char *service = next_line(d, len, &pos, &l1);
	const char *type =
		service != NULL ? next_line(d, len, &pos, &l2) : NULL;
	if (type == NULL)
		return fail(req, error_r, "AUTH data without service and type");
	if (!token_ok(service, l1, 64) || !token_ok(type, l2, 32))
		return fail(req, error_r, "bad AUTH service or type");
	req->service = xstrndup(service, l1);
	req->mechanism = str_lcase(xstrndup(type, l2));
	if (strcmp(req->mechanism, "login") == 0) {
		const char *user = next_line(d, len, &pos, &l1);
		const char *pass =
			user != NULL ? next_line(d, len, &pos, &l2) : NULL;
		if (pass == NULL) {
			/* Courier's clients may leave out the last LF. */
			if (user != NULL && pos < len) {
				pass = d + pos;
				l2 = len - pos;
				pos = len;
			} else {
				return fail(req, error_r,
					"AUTH login without password");
			}
		}
		if (!secret_ok(user, l1, AUTH_MAX_USER_LEN) ||
			!secret_ok(pass, l2, AUTH_MAX_PASSWORD_LEN) ||
			pos != len)
			return fail(req, error_r, "bad AUTH login data");
		req->authtype = AUTHPROTO_LOGIN;
		req->user = xstrndup(user, l1);
		req->password = xstrndup(pass, l2);
		return AUTHPROTO_DONE;
	}
	if (strncmp(req->mechanism, "cram-", 5) != 0)
		return fail(req, error_r, "unknown AUTH type");
	const char *chal = next_line(d, len, &pos, &l1);
	const char *resp = chal != NULL ? next_line(d, len, &pos, &l2) : NULL;
	if (resp == NULL && chal != NULL && pos < len) {
		resp = d + pos;
		l2 = len - pos;
		pos = len;
	}
	if (resp == NULL || pos != len)
		return fail(req, error_r, "bad AUTH cram data");
	struct str c, r;
	str_init(&c, 128);
	str_init(&r, 128);
	if (l1 == 0 || base64_decode_strict(&c, chal, l1) < 0 ||
		base64_decode_strict(&r, resp, l2) < 0) {
		str_free(&c);
		str_free(&r);
		return fail(req, error_r, "bad base64 in AUTH cram data");
	}
	const char *sp = memrchr(r.data, ' ', r.len);
	l3 = sp != NULL ? (size_t)(sp - r.data) : 0;
	if (sp == NULL || !secret_ok(r.data, l3, AUTH_MAX_USER_LEN) ||
		!token_ok(sp + 1, r.len - l3 - 1, 128)) {
		str_free(&c);
		str_free(&r);
		return fail(req, error_r, "bad AUTH cram response");
	}
	req->authtype = AUTHPROTO_CRAM;
	req->user = xstrndup(r.data, l3);
	req->digest_hex = xstrndup(sp + 1, r.len - l3 - 1);
	req->challenge_len = c.len;
	req->challenge = str_steal(&c);
	str_free(&c);
	str_free(&r);
	return AUTHPROTO_DONE;
}

/* Splits a line into n fields at sep; returns the count found. */
static size_t split_fields(const char *s, size_t len, char sep, const char **f,
	size_t *fl, size_t n)
{
	size_t count = 0, start = 0;
	for (size_t i = 0; i <= len && count < n; i++) {
		if (i == len || s[i] == sep) {
			f[count] = s + start;
			fl[count] = i - start;
			count++;
			start = i + 1;
		}
	}
	return count == n && f[n - 1] + fl[n - 1] == s + len ? n : n + 1;
}

enum authproto_status authproto_parse(const void *data, size_t len,
	struct authproto_request *req, const char **error_r)
{
	const char *d = data;
	size_t pos = 0, l;
	const char *line;
	unsigned int preamble = 0;

	memset(req, 0, sizeof(*req));
	if (len > AUTHPROTO_MAX_REQUEST)
		return fail(req, error_r, "request too long");
	for (;;) {
		line = next_line(d, len, &pos, &l);
		if (line == NULL) {
			authproto_request_free(req);
			return AUTHPROTO_MORE;
		}
		if (memchr(line, '\0', l) != NULL)
			return fail(req, error_r, "NUL in request");
		const char *eq = memchr(line, '=', l);
		const char *sp = memchr(line, ' ', l);
		if (eq == NULL || (sp != NULL && sp < eq))
			break;
		if (++preamble > AUTHPROTO_MAX_PREAMBLE)
			return fail(req, error_r, "too many preamble lines");
		if ((size_t)(eq - line) == 11 &&
			memcmp(line, "TCPREMOTEIP", 11) == 0) {
			size_t vl = l - 12;
			if (!token_ok(eq + 1, vl, 64))
				return fail(req, error_r, "bad TCPREMOTEIP");
			free(req->remote_ip);
			req->remote_ip = xstrndup(eq + 1, vl);
		}
	}
	if (l == 9 && memcmp(line, "ENUMERATE", 9) == 0) {
		if (pos != len)
			return fail(req, error_r, "data after ENUMERATE");
		req->cmd = AUTHPROTO_ENUMERATE;
		return AUTHPROTO_DONE;
	}
	if (l > 4 && memcmp(line, "PRE ", 4) == 0) {
		const char *f[3];
		size_t fl[3];
		if (pos != len ||
			split_fields(line + 4, l - 4, ' ', f, fl, 3) != 3 ||
			!token_ok(f[0], fl[0], 64) ||
			!token_ok(f[1], fl[1], 64) ||
			!secret_ok(f[2], fl[2], AUTH_MAX_USER_LEN) ||
			memchr(f[2], ' ', fl[2]) != NULL)
			return fail(req, error_r, "bad PRE request");
		req->cmd = AUTHPROTO_PRE;
		if (!(fl[0] == 1 && f[0][0] == '.'))
			req->module = xstrndup(f[0], fl[0]);
		req->service = xstrndup(f[1], fl[1]);
		req->user = xstrndup(f[2], fl[2]);
		return AUTHPROTO_DONE;
	}
	if (l > 7 && memcmp(line, "PASSWD ", 7) == 0) {
		const char *f[4];
		size_t fl[4];
		if (pos != len ||
			split_fields(line + 7, l - 7, '\t', f, fl, 4) != 4 ||
			!token_ok(f[0], fl[0], 64) ||
			!secret_ok(f[1], fl[1], AUTH_MAX_USER_LEN) ||
			!secret_ok(f[2], fl[2], AUTH_MAX_PASSWORD_LEN) ||
			!secret_ok(f[3], fl[3], AUTH_MAX_PASSWORD_LEN))
			return fail(req, error_r, "bad PASSWD request");
		req->cmd = AUTHPROTO_PASSWD;
		req->service = xstrndup(f[0], fl[0]);
		req->user = xstrndup(f[1], fl[1]);
		req->password = xstrndup(f[2], fl[2]);
		req->new_password = xstrndup(f[3], fl[3]);
		return AUTHPROTO_DONE;
	}
	if (l > 5 && memcmp(line, "AUTH ", 5) == 0) {
		size_t n = 0;
		if (l - 5 > 5)
			return fail(req, error_r, "bad AUTH length");
		for (size_t i = 5; i < l; i++) {
			if (line[i] < '0' || line[i] > '9')
				return fail(req, error_r, "bad AUTH length");
			n = n * 10 + (size_t)(line[i] - '0');
		}
		if (n == 0 || n > AUTHPROTO_MAX_AUTH_DATA)
			return fail(req, error_r, "bad AUTH length");
		if (len - pos < n) {
			authproto_request_free(req);
			return AUTHPROTO_MORE;
		}
		if (len - pos > n)
			return fail(req, error_r, "data after AUTH");
		if (memchr(d + pos, '\0', n) != NULL)
			return fail(req, error_r, "NUL in AUTH data");
		req->cmd = AUTHPROTO_AUTH;
		return parse_auth_data(d + pos, n, req, error_r);
	}
	return fail(req, error_r, "unknown command");
}

/* ---- writers ---- */

static bool str_secret_ok(const char *s, size_t max)
{
	return s != NULL && secret_ok(s, strlen(s), max);
}

static bool str_token_ok(const char *s)
{
	return s != NULL && token_ok(s, strlen(s), 64);
}

static void write_preamble(struct str *dest, const char *remote_ip)
{
	if (remote_ip != NULL && str_token_ok(remote_ip))
		str_printfa(dest, "TCPREMOTEIP=%s\n", remote_ip);
}

int authproto_write_pre(struct str *dest, const char *remote_ip,
	const char *module, const char *service, const char *user,
	const char **error_r)
{
	if (!str_token_ok(service) ||
		(module != NULL && !str_token_ok(module)) ||
		!str_secret_ok(user, AUTH_MAX_USER_LEN) ||
		strchr(user, ' ') != NULL) {
		*error_r = "invalid service, module or user name";
		return -1;
	}
	write_preamble(dest, remote_ip);
	str_printfa(dest, "PRE %s %s %s\n", module != NULL ? module : ".",
		service, user);
	return 0;
}

int authproto_write_login(struct str *dest, const char *remote_ip,
	const char *service, const char *user, const char *password,
	const char **error_r)
{
	if (!str_token_ok(service) || !str_secret_ok(user, AUTH_MAX_USER_LEN) ||
		!str_secret_ok(password, AUTH_MAX_PASSWORD_LEN)) {
		*error_r = "invalid service, user name or password";
		return -1;
	}
	size_t n = strlen(service) + strlen(user) + strlen(password) + 9;
	write_preamble(dest, remote_ip);
	str_printfa(dest, "AUTH %zu\n%s\nlogin\n%s\n%s\n", n, service, user,
		password);
	return 0;
}

int authproto_write_cram(struct str *dest, const char *remote_ip,
	const char *service, const char *mechanism, const void *challenge,
	size_t challenge_len, const char *response, const char **error_r)
{
	struct str data;

	if (!str_token_ok(service) || !str_token_ok(mechanism) ||
		challenge_len == 0 || response == NULL ||
		strpbrk(response, "\r\n\t") != NULL ||
		strlen(response) > 1024) {
		*error_r = "invalid service, mechanism or response";
		return -1;
	}
	str_init(&data, 256);
	str_printfa(&data, "%s\n%s\n", service, mechanism);
	base64_encode(&data, challenge, challenge_len, 0);
	str_append_c(&data, '\n');
	base64_encode(&data, response, strlen(response), 0);
	str_append_c(&data, '\n');
	if (data.len > AUTHPROTO_MAX_AUTH_DATA) {
		str_free(&data);
		*error_r = "challenge too long";
		return -1;
	}
	write_preamble(dest, remote_ip);
	str_printfa(dest, "AUTH %zu\n", data.len);
	str_append_n(dest, data.data, data.len);
	str_free(&data);
	return 0;
}

int authproto_write_passwd(struct str *dest, const char *service,
	const char *user, const char *old_password, const char *new_password,
	const char **error_r)
{
	if (!str_token_ok(service) || !str_secret_ok(user, AUTH_MAX_USER_LEN) ||
		!str_secret_ok(old_password, AUTH_MAX_PASSWORD_LEN) ||
		!str_secret_ok(new_password, AUTH_MAX_PASSWORD_LEN)) {
		*error_r = "invalid service, user name or password";
		return -1;
	}
	str_printfa(dest, "PASSWD %s\t%s\t%s\t%s\n", service, user,
		old_password, new_password);
	return 0;
}

void authproto_write_enumerate(struct str *dest)
{
	str_append(dest, "ENUMERATE\n");
}
