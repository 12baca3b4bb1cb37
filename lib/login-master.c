/* login-master.c: the master code the login servers share: settings,
 * TLS context, listeners, command line, login requests and verdicts
 * (login-master.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config-settings.h"
#include "daemon.h"
#include "log.h"
#include "login-master.h"
#include "mem.h"

struct login_master {
	const struct login_master_settings *set;
	const struct login_master_names *names;
	struct listen_service *plain_svc, *ssl_svc;
	struct tls_ctx *tls_ctx;
	login_master_accept_t *accept_cb;
	void *context;
};

int login_master_settings_load(const struct config_setting_def *defs,
			       void *set, size_t size, const char *plain_file,
			       const char *ssl_file,
			       struct config_errors *errs)
{
	int ret = 0;

	memset(set, 0, size);
	config_settings_init(defs, set);
	if (config_settings_load_file(defs, set, plain_file, errs) < 0)
		ret = -1;
	if (config_settings_load_file(defs, set, ssl_file, errs) < 0)
		ret = -1;
	return ret;
}

void login_master_settings_report(const struct login_master_names *names,
				  struct config_errors **errs, int ret,
				  bool fatal)
{
	config_errors_log(*errs);
	config_errors_destroy(errs);
	if (ret < 0 && fatal)
		log_fatal("%s: the settings have errors", names->log_name);
}

bool login_master_mech_listed(const char *list, const char *mech)
{
	char **v = str_split(list != NULL ? list : "", " \t,");
	bool found = false;

	for (size_t i = 0; v[i] != NULL && !found; i++)
		found = v[i][0] != '\0' && strcasecmp(v[i], mech) == 0;
	str_split_free(&v);
	return found;
}

enum tls_version login_master_tls_version(const char *p)
{
	if (p == NULL)
		return TLS_VERSION_DEFAULT;
	if (strstr(p, "1.3") != NULL || strstr(p, "1_3") != NULL)
		return TLS_VERSION_1_3;
	if (strstr(p, "1.2") != NULL || strstr(p, "1_2") != NULL)
		return TLS_VERSION_1_2;
	return TLS_VERSION_DEFAULT;
}

char *login_master_listen_text(const char *address, long long port)
{
	if (strcmp(address, "0") == 0)
		return xasprintf("%lld", port);
	return xasprintf(strchr(address, ':') != NULL ? "[%s]:%lld" :
							"%s:%lld",
			 address, port);
}

char *login_master_account_maildir(const char *home, const char *maildir,
				   const char *default_path)
{
	if (maildir != NULL && maildir[0] == '/')
		return xstrdup(maildir);
	if (maildir != NULL && maildir[0] != '\0')
		return xasprintf("%s/%s", home, maildir);
	return xasprintf("%s/%s", home, default_path);
}

static void __attribute__((noreturn)) usage(const char *name)
{
	fprintf(stderr,
		"Usage: %1$s              the daemon (settings in etc/%1$s, "
		"etc/%1$s-ssl)\n"
		"       %1$s DIR          one logged-in session for maildir "
		"DIR on stdin/stdout\n"
		"       %1$s --stdio      the same for $MAILDIR or "
		"./Maildir\n",
		name);
	exit(2);
}

const char *login_master_command_line(const char *name, int argc,
				      char **argv)
{
	if (argc < 2)
		return NULL;
	if (argc > 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		usage(name);
	if (strcmp(argv[1], "--stdio") == 0) {
		const char *dir = getenv("MAILDIR");

		return dir != NULL && *dir != '\0' ? dir : "Maildir";
	}
	return argv[1];
}

/* --------------------------------------------------------- listeners */

static void master_accept(struct listen_client *lc, bool implicit,
			  struct login_master *master)
{
	master->accept_cb(lc, implicit, master->context);
}

static void plain_accept(struct listen_client *lc, void *context)
{
	master_accept(lc, false, context);
}

static void ssl_accept(struct listen_client *lc, void *context)
{
	master_accept(lc, true, context);
}

static void master_refuse(struct listen_client *lc, enum listen_refusal why,
			  bool implicit, struct login_master *master)
{
	const char *msg = master->names->refusal;

	log_info("%s: refused %s: too many connections%s",
		 master->names->log_name, lc->remote_ip,
		 why == LISTEN_REFUSED_PER_IP ? " from this address" : "");
	if (!implicit && msg != NULL) {
		ssize_t n = write(lc->fd, msg, strlen(msg));
		(void)n;
	}
	close(lc->fd);
}

static void plain_refuse(struct listen_client *lc, enum listen_refusal why,
			 void *context)
{
	master_refuse(lc, why, false, context);
}

static void ssl_refuse(struct listen_client *lc, enum listen_refusal why,
		       void *context)
{
	master_refuse(lc, why, true, context);
}

static void master_tls_create(struct login_master *master)
{
	const struct login_master_settings *set = master->set;
	const struct login_master_names *names = master->names;
	struct tls_settings ts = {
		.cert_file = set->tls_certfile,
		.dh_file = set->tls_dhparams,
		.min_version = login_master_tls_version(set->tls_protocol),
		.cipher_list = set->tls_cipher_list,
		.priority = set->tls_priority,
	};
	const char *error;

	if (!set->ssl_start && !set->starttls)
		return;
	if (set->tls_certfile == NULL || set->tls_certfile[0] == '\0') {
		if (set->ssl_start)
			log_fatal("%s: %s=YES needs TLS_CERTFILE (etc/%s)",
				  names->log_name, names->ssl_start_name,
				  names->ssl_file);
		log_warning("%s: no TLS_CERTFILE: %s is off", names->log_name,
			    names->starttls_word);
		return;
	}
	master->tls_ctx = tls_ctx_server_create(&ts, &error);
	if (master->tls_ctx == NULL)
		log_fatal("%s: TLS: %s", names->log_name, error);
}

static struct listen_service *
master_listen(struct login_master *master, struct ioloop *loop,
	      const char *address, long long port, bool implicit)
{
	const struct login_master_names *names = master->names;
	struct listen_settings ls = {
		.max_connections = (unsigned int)master->set->max_daemons,
		.max_per_ip = (unsigned int)master->set->max_per_ip,
	};
	char *addr = login_master_listen_text(address, port);
	struct listen_service *svc;
	const char *error;

	svc = listen_service_create(loop, &ls,
				    implicit ? ssl_accept : plain_accept,
				    implicit ? ssl_refuse : plain_refuse,
				    master);
	if (listen_service_add_list(svc, addr, &error) < 0)
		log_fatal("%s: %s", names->log_name, error);
	log_info("%s: %s%s on %s", names->log_name, names->protocol,
		 implicit ? "S" : "", addr);
	free(addr);
	return svc;
}

struct login_master *
login_master_create(struct ioloop *loop,
		    const struct login_master_settings *set,
		    const struct login_master_names *names,
		    login_master_accept_t *accept_cb, void *context)
{
	struct login_master *master = xcalloc(1, sizeof(*master));

	master->set = set;
	master->names = names;
	master->accept_cb = accept_cb;
	master->context = context;
	if (!set->start && !set->ssl_start)
		log_fatal("%s: %s and %s are both off", names->log_name,
			  names->start_name, names->ssl_start_name);
	master_tls_create(master);
	if (set->start)
		master->plain_svc = master_listen(master, loop, set->address,
						  set->port, false);
	if (set->ssl_start)
		master->ssl_svc = master_listen(master, loop,
						set->ssl_address,
						set->ssl_port, true);
	return master;
}

struct tls_ctx *login_master_tls_ctx(const struct login_master *master)
{
	return master->tls_ctx;
}

struct tls_ctx *login_master_starttls_ctx(const struct login_master *master)
{
	return master->set->starttls ? master->tls_ctx : NULL;
}

void login_master_close_listeners(struct login_master *master)
{
	if (master->plain_svc != NULL)
		listen_service_close_listeners(master->plain_svc);
	if (master->ssl_svc != NULL)
		listen_service_close_listeners(master->ssl_svc);
}

void login_master_drop_listeners(struct login_master *master)
{
	listen_service_destroy(&master->plain_svc);
	listen_service_destroy(&master->ssl_svc);
}

void login_master_destroy(struct login_master **masterp)
{
	struct login_master *master = *masterp;

	if (master == NULL)
		return;
	login_master_drop_listeners(master);
	tls_ctx_destroy(&master->tls_ctx);
	free(master);
	*masterp = NULL;
}

/* ---------------------------------------------------------- requests */

void login_master_field_append(struct str *s, const char *value)
{
	str_append(s, value != NULL ? value : "");
	str_append_c(s, '\0');
}

ssize_t login_master_fields_split(const char *buf, size_t len,
				  const char **fields, size_t count)
{
	size_t pos = 0;

	for (size_t i = 0; i < count; i++) {
		const char *end = pos < len ?
			memchr(buf + pos, '\0', len - pos) : NULL;

		if (end == NULL)
			return -1;
		fields[i] = buf + pos;
		pos = (size_t)(end - buf) + 1;
	}
	return (ssize_t)pos;
}

/* Most fds one message carries (the TLS proxy's: two). */
#define LOGIN_MASTER_MAX_FDS 4

ssize_t login_master_send_fds(int sock, const struct iovec *iov,
			      size_t iovcnt, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * LOGIN_MASTER_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct msghdr msg = {
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = iovcnt,
	};
	ssize_t n;

	if (nfds > LOGIN_MASTER_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n;
}

ssize_t login_master_send_fd(int sock, const struct iovec *iov,
			     size_t iovcnt, int fd)
{
	return login_master_send_fds(sock, iov, iovcnt, &fd, fd >= 0 ? 1 : 0);
}

ssize_t login_master_recv_fds(int sock, void *buf, size_t size, int *fds_r,
			      size_t max_fds, size_t *nfds_r, int *flags_r)
{
	/* room for more fds than wanted: a peer sending more must not make
	 * the ones wanted get lost in truncated control data */
	union {
		char buf[CMSG_SPACE(sizeof(int) * LOGIN_MASTER_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, size };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	ssize_t n;

	*nfds_r = 0;
	*flags_r = 0;
	do {
		n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL;
	     c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
			if (*nfds_r < max_fds)
				fds_r[(*nfds_r)++] = fd;
			else
				close(fd);
		}
	}
	*flags_r = msg.msg_flags;
	return n;
}

ssize_t login_master_recv_fd(int sock, void *buf, size_t size, int *fd_r,
			     int *flags_r)
{
	size_t nfds;
	ssize_t n = login_master_recv_fds(sock, buf, size, fd_r, 1, &nfds,
					  flags_r);

	if (nfds == 0)
		*fd_r = -1;
	return n;
}

/* ---------------------------------------------------------- verdicts */

enum login_master_verdict
login_master_verdict(const struct login_master_names *names,
		     const struct login_master_login *login,
		     const char **text_r)
{
	static char text[128];
	const char *error = login->auth_error;

	*text_r = NULL;
	if (login->auth_result < 0) {
		log_error("%s: login user=%s ip=%s: authdaemond: %s",
			  names->log_name, login->user, login->remote_ip,
			  error != NULL ? error : "temporary failure");
		return LOGIN_MASTER_TEMPFAIL;
	}
	if (login->auth_result == 0) {
		log_info("%s: login failed: user=%s ip=%s%s%s",
			 names->log_name, login->user, login->remote_ip,
			 error != NULL ? ": " : "", error != NULL ? error : "");
		return LOGIN_MASTER_FAILED;
	}
	if (login->service_disabled) {
		log_info("%s: login refused: user=%s ip=%s: %s disabled",
			 names->log_name, login->user, login->remote_ip,
			 names->protocol);
		snprintf(text, sizeof(text),
			 "%s access is disabled for this account.",
			 names->protocol);
		*text_r = text;
		return LOGIN_MASTER_REFUSED;
	}
	return LOGIN_MASTER_SERVE;
}

enum login_master_verdict
login_master_uid_verdict(const struct login_master_names *names,
			 const struct login_master_login *login,
			 const char **text_r)
{
	static char text[128];

	*text_r = NULL;
	if (!login->has_uid) {
		log_error("%s: user=%s: the account has no uid",
			  names->log_name, login->user);
		return LOGIN_MASTER_TEMPFAIL;
	}
	if (login->uid == 0 && geteuid() == 0) {
		log_error("%s: user=%s: the account's uid is 0; mail is "
			  "never served as root",
			  names->log_name, login->user);
		snprintf(text, sizeof(text),
			 "This account cannot use %s (uid 0).",
			 names->protocol);
		*text_r = text;
		return LOGIN_MASTER_REFUSED;
	}
	return LOGIN_MASTER_SERVE;
}

enum login_master_verdict
login_master_forked(const struct login_master_names *names,
		    const struct login_master_login *login, pid_t pid)
{
	if (pid < 0) {
		log_error("%s: fork: %s", names->log_name, strerror(errno));
		return LOGIN_MASTER_TEMPFAIL;
	}
	log_info("%s: login: user=%s ip=%s tls=%s pid=%ld", names->log_name,
		 login->user, login->remote_ip, login->tls ? "yes" : "no",
		 (long)pid);
	return LOGIN_MASTER_SERVE;
}

enum login_master_verdict
login_master_judge(const struct login_master_names *names,
		   const struct login_master_login *login,
		   const struct login_master_judge_ops *ops, void *context,
		   const char **text_r)
{
	enum login_master_verdict v = login_master_verdict(names, login,
							   text_r);

	if (v == LOGIN_MASTER_SERVE && ops->check != NULL)
		v = ops->check(context, text_r);
	if (v == LOGIN_MASTER_SERVE)
		v = login_master_uid_verdict(names, login, text_r);
	if (v != LOGIN_MASTER_SERVE)
		return v;
	pid_t pid = fork();
	if (pid == 0) {
		ops->serve(context);
		log_panic("%s: the mail session returned", names->log_name);
	}
	return login_master_forked(names, login, pid);
}

int login_master_become_account(const struct login_master_names *names,
				const char *user, uid_t uid, gid_t gid,
				const char *sysusername, const char *home)
{
	const char *error;

	if (daemon_drop_privileges_id(uid, gid, sysusername, &error) < 0 ||
	    getuid() == 0 || geteuid() == 0) {
		if (getuid() == 0 || geteuid() == 0)
			error = "still root";
		log_error("%s: user=%s: cannot switch to uid %ld: %s",
			  names->log_name, user, (long)uid, error);
		return -1;
	}
	if (home != NULL && chdir(home) < 0) {
		/* not fatal: the maildir path is absolute */
	}
	return 0;
}
