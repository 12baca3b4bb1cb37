/* authclient.c: the blocking client of authdaemond's socket. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "authclient.h"
#include "authdaemon-settings.h"
#include "authproto.h"
#include "config-errors.h"
#include "instance.h"
#include "mem.h"
#include "secure.h"

#define MAX_ENUM_LINE 65536

/* The calls may run in several threads at once (a server's worker pool):
 * the settings are read and filled under this lock. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *socket_override;
static unsigned int timeout_override;
static char *cached_socket;
static unsigned int cached_timeout;

void auth_client_set_socket(const char *path)
{
	pthread_mutex_lock(&cache_lock);
	x_free(socket_override);
	if (path != NULL)
		socket_override = xstrdup(path);
	pthread_mutex_unlock(&cache_lock);
}

void auth_client_set_timeout(unsigned int msecs)
{
	timeout_override = msecs;
}

void auth_client_reset(void)
{
	pthread_mutex_lock(&cache_lock);
	x_free(cached_socket);
	cached_timeout = 0;
	pthread_mutex_unlock(&cache_lock);
}

/* Fills the cache when empty (under cache_lock). */
static void load(void)
{
	struct authdaemon_settings set;
	struct config_errors *errs;
	char *path;

	if (cached_socket != NULL)
		return;
	errs = config_errors_new();
	path = instance_etc_path("authdaemonrc");
	/* A broken file still gives the defaults for what it could read. */
	(void)authdaemon_settings_load(&set, NULL, path, errs);
	cached_socket = authdaemon_socket_path(&set);
	cached_timeout = (set.timeout + 5) * 1000;
	authdaemon_settings_free(&set);
	config_errors_destroy(&errs);
	free(path);
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
		       (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (long)ms : 0;
}

/* Connects and sends the request.  Returns the fd, or -1. */
static int send_request(const struct str *request, struct timespec *deadline,
	const char **error_r)
{
	struct sockaddr_un sun;
	int fd;
	size_t off = 0;
	int copied;

	pthread_mutex_lock(&cache_lock);
	load();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	copied = str_copy(sun.sun_path, socket_override != NULL ?
			  socket_override : cached_socket,
			  sizeof(sun.sun_path));
	unsigned int ms =
		timeout_override != 0 ? timeout_override : cached_timeout;
	pthread_mutex_unlock(&cache_lock);
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (long)(ms % 1000) * 1000000;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
	if (copied < 0) {
		*error_r = "authdaemon socket path too long";
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = "socket() failed";
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = "cannot connect to authdaemond (is it running?)";
		close(fd);
		return -1;
	}
	while (off < request->len) {
		ssize_t n = send(fd, request->data + off, request->len - off,
			MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			*error_r = "authdaemond closed the connection";
			close(fd);
			return -1;
		}
		struct pollfd pfd = {fd, POLLOUT, 0};
		long left = ms_left(deadline);
		if (left == 0 ||
			(poll(&pfd, 1, (int)left) < 0 && errno != EINTR)) {
			*error_r = "timeout sending to authdaemond";
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Reads up to len bytes with the deadline: >0 bytes, 0 EOF, -1 timeout or
 * error. */
static ssize_t read_some(
	int fd, void *buf, size_t len, const struct timespec *deadline)
{
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long left = ms_left(deadline);
		if (left == 0)
			return -1;
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* Sends request and reads a record reply.  Returns 1/0/-1. */
static int record_exchange(
	struct str *request, struct auth_record *rec_r, const char **error_r)
{
	struct timespec deadline;
	struct auth_reply_parser *p;
	char buf[4096];
	int ret = -1;
	int fd = send_request(request, &deadline, error_r);

	auth_record_init(rec_r);
	secure_wipe(request->data, request->size);
	if (fd < 0)
		return -1;
	p = auth_reply_parser_create(0);
	for (;;) {
		ssize_t n = read_some(fd, buf, sizeof(buf), &deadline);
		if (n == 0) {
			*error_r = "temporary failure (authdaemond closed the "
				   "connection without an answer)";
			break;
		}
		if (n < 0) {
			*error_r = "timeout waiting for authdaemond";
			break;
		}
		enum auth_reply_status st = auth_reply_parser_feed(
			p, buf, (size_t)n, NULL, rec_r, error_r);
		if (st == AUTH_REPLY_MORE)
			continue;
		if (st == AUTH_REPLY_RECORD)
			ret = 1;
		else if (st == AUTH_REPLY_FAIL) {
			*error_r = "rejected";
			ret = 0;
		}
		break;
	}
	secure_wipe(buf, sizeof(buf));
	auth_reply_parser_destroy(&p);
	close(fd);
	return ret;
}

int auth_login(const char *service, const char *user, const char *password,
	const char *remote_ip, struct auth_record *rec_r, const char **error_r)
{
	struct str req;
	int r;

	auth_record_init(rec_r);
	str_init(&req, 256);
	if (authproto_write_login(
		    &req, remote_ip, service, user, password, error_r) < 0) {
		str_free(&req);
		return 0;
	}
	r = record_exchange(&req, rec_r, error_r);
	str_free(&req);
	return r;
}

int auth_lookup(const char *service, const char *user,
	struct auth_record *rec_r, const char **error_r)
{
	struct str req;
	int r;

	auth_record_init(rec_r);
	str_init(&req, 256);
	if (authproto_write_pre(&req, NULL, NULL, service, user, error_r) < 0) {
		str_free(&req);
		return 0;
	}
	r = record_exchange(&req, rec_r, error_r);
	str_free(&req);
	return r;
}

int auth_cram(const char *service, const char *mechanism, const void *challenge,
	size_t challenge_len, const char *user, const char *digest_hex,
	const char *remote_ip, struct auth_record *rec_r, const char **error_r)
{
	struct str req;
	char *response;
	int r;

	auth_record_init(rec_r);
	/* A digest that is not hex digits cannot match: a rejection here,
	 * not a request authdaemond would drop (a temporary failure). */
	if (user == NULL || digest_hex == NULL || strchr(user, '\n') ||
		strlen(user) > AUTH_MAX_USER_LEN || digest_hex[0] == '\0' ||
		strlen(digest_hex) > 128 ||
		strspn(digest_hex, "0123456789abcdefABCDEF") !=
			strlen(digest_hex)) {
		*error_r = "invalid CRAM response";
		return 0;
	}
	response = xasprintf("%s %s", user, digest_hex);
	str_init(&req, 256);
	r = authproto_write_cram(&req, remote_ip, service, mechanism, challenge,
		challenge_len, response, error_r);
	free(response);
	if (r < 0) {
		str_free(&req);
		return 0;
	}
	r = record_exchange(&req, rec_r, error_r);
	str_free(&req);
	return r;
}

int auth_passwd(const char *service, const char *user, const char *old_password,
	const char *new_password, const char **error_r)
{
	struct timespec deadline;
	struct str req;
	char buf[64];
	size_t len = 0;
	int fd, ret = -1;

	str_init(&req, 256);
	if (authproto_write_passwd(&req, service, user, old_password,
		    new_password, error_r) < 0) {
		str_free(&req);
		return 0;
	}
	fd = send_request(&req, &deadline, error_r);
	secure_wipe(req.data, req.size);
	str_free(&req);
	if (fd < 0)
		return -1;
	while (len < sizeof(buf) - 1) {
		ssize_t n = read_some(
			fd, buf + len, sizeof(buf) - 1 - len, &deadline);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	close(fd);
	buf[len] = '\0';
	if (strcmp(buf, "OK\n") == 0)
		ret = 1;
	else if (strcmp(buf, "FAIL\n") == 0) {
		*error_r = "password not changed";
		ret = 0;
	} else {
		*error_r = "temporary failure changing the password";
	}
	return ret;
}

static int enum_line(char *line, char **module,
	auth_enumerate_callback_fn *callback, void *context,
	const char **error_r)
{
	char *f[6];
	size_t n = 0;
	char *p = line;

	if (line[0] == '#') {
		p = line + 1;
		while (*p == ' ')
			p++;
		free(*module);
		*module = xstrdup(p);
		return 0;
	}
	if (line[0] == '\0')
		return 0;
	f[n++] = p;
	while (n < 6 && (p = strchr(p, '\t')) != NULL) {
		*p++ = '\0';
		f[n++] = p;
	}
	if (n < 3) {
		*error_r = "malformed ENUMERATE line";
		return -1;
	}
	while (n < 6)
		f[n++] = (char *)"";
	if (callback(*module != NULL ? *module : "", f[0],
		    strtoul(f[1], NULL, 10), strtoul(f[2], NULL, 10), f[3],
		    f[4], f[5], context) < 0) {
		*error_r = "stopped";
		return -1;
	}
	return 0;
}

int auth_enumerate(auth_enumerate_callback_fn *callback, void *context,
	const char **error_r)
{
	struct timespec deadline;
	struct str req, line;
	char *module = NULL;
	char buf[8192];
	int fd, ret = -1;

	str_init(&req, 32);
	authproto_write_enumerate(&req);
	fd = send_request(&req, &deadline, error_r);
	str_free(&req);
	if (fd < 0)
		return -1;
	str_init(&line, 256);
	for (;;) {
		ssize_t n = read_some(fd, buf, sizeof(buf), &deadline);
		if (n <= 0) {
			*error_r = n == 0 ? "authdaemond closed the listing "
					    "early (temporary failure)"
					  : "timeout reading the listing";
			break;
		}
		bool done = false;
		for (ssize_t i = 0; i < n && !done; i++) {
			if (buf[i] != '\n') {
				if (line.len >= MAX_ENUM_LINE) {
					*error_r = "ENUMERATE line too long";
					done = true;
					break;
				}
				str_append_c(&line, buf[i]);
				continue;
			}
			if (strcmp(line.data, ".") == 0) {
				ret = 1;
				done = true;
				break;
			}
			if (enum_line(line.data, &module, callback, context,
				    error_r) < 0)
				done = true;
			str_clear(&line);
		}
		if (done)
			break;
	}
	str_free(&line);
	free(module);
	close(fd);
	return ret;
}
