/* esmtp-session.h: one ESMTP server session (RFC 5321) on a conn: the
 * command table, the state machine, and the hand-off to the queue.
 *
 * A session is created for an accepted socket and lives until the client
 * leaves; it tells its owner through the destroyed callback (after which
 * the owner must not touch it).  Every reply goes out in one write with
 * the replies to pipelined commands before it (lib/conn corks output
 * while input callbacks run).  Messages are streamed into the queue
 * (mta/submit.h) as they arrive; 250 after DATA or BDAT LAST means the
 * queue has fsynced the message (the fsyncs run in the server's worker
 * pool, so other sessions go on meanwhile). */
#ifndef ESMTP_SESSION_H
#define ESMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct ioloop;
struct tls_ctx;
struct esmtp_settings;
struct esmtp_domains;
struct esmtp_access;
struct esmtp_bofh;
struct dns_resolver;
struct worker_pool;
struct esmtp_session;

/* Recipient lookup for an accepted domain: 1 the account exists, 0 it
 * does not (550 5.1.1), -1 temporary failure (451 4.3.0).  address is
 * "local@domain" (lowercase domain) or "postmaster". */
typedef int esmtp_rcpt_lookup_t(const char *address, void *context);

/* What the sessions of one listener share; owned by the caller and kept
 * alive while sessions exist. */
struct esmtp_server {
	const struct esmtp_settings *set;
	/* Server TLS context: STARTTLS is offered when not NULL (and TLS is
	 * not on yet); required when implicit_tls. */
	struct tls_ctx *tls_ctx;
	bool implicit_tls;	/* SMTPS: the handshake comes first */
	bool submission;	/* the MSA port: logs and u record */
	const struct esmtp_domains *domains;
	struct esmtp_access *access;
	/* Global filters (esmtp-filter.h): the sockets' folder (NULL:
	 * none), the text of enablefiltering, the folder for the copies
	 * of messages they read. */
	const char *filter_dir;
	const char *filter_sources;
	const char *filter_tmpdir;
	/* Recipient filters (esmtp-localfilter.h, Courier's
	 * localmailfilter(7)): the helper that runs them (NULL: none), on
	 * while the instance's etc/maildropfilter exists (looked at for
	 * each recipient); each filter may run set->lmf_timeout seconds. */
	const char *lmf_helper;
	/* The bofh rules, or NULL for none. */
	const struct esmtp_bofh *bofh;
	/* The resolver of the DNS checks (bofh badmx, freemail,
	 * BOFHCHECKHELO; SPF; DKIM), or NULL: no DNS checks. */
	struct dns_resolver *dns;
	/* Threads for what would block the loop: the queue commit (fsyncs)
	 * at the end of a message, DNS checks, DKIM key lookups.  The
	 * session pauses (reads nothing) until its job is done while the
	 * others go on.  NULL: done in the loop (tests, --stdio). */
	struct worker_pool *pool;
	const char *me;		/* our name in replies and Received: */
	const char *greeting;	/* text after "220 " (lines by \n) or NULL */
	uint64_t size_limit;	/* SIZE; 0 = no limit */
	esmtp_rcpt_lookup_t *rcpt_lookup;
	void *rcpt_lookup_context;
	/* Service name for authlib logins ("esmtp"). */
	const char *auth_service;
	/* esmtpd --stdio: a local caller on stdin/stdout (sendmail -bs):
	 * may relay, no TLS, the message's source is "local" and its
	 * Received: line names the caller's uid; a recipient lookup that
	 * fails temporarily is accepted (local delivery decides later). */
	bool local_caller;
	unsigned long local_uid;
};

typedef void esmtp_session_destroyed_t(void *context);

/* Starts a session on fd (owned from now on).  remote_ip/local_ip are
 * printable addresses.  The greeting is sent at once (after the
 * handshake on SMTPS); a client denied by smtpaccess gets 554 and only
 * QUIT.  destroyed is called once when the session ends. */
struct esmtp_session *esmtp_session_create(struct ioloop *loop, int fd,
					   const struct esmtp_server *server,
					   const char *remote_ip,
					   const char *local_ip,
					   esmtp_session_destroyed_t *destroyed,
					   void *context);
/* The same over stdin/stdout (fds 0 and 1, owned from now on) for
 * esmtpd --stdio: server->local_caller must be set. */
struct esmtp_session *esmtp_session_create_stdio(
	struct ioloop *loop, const struct esmtp_server *server,
	esmtp_session_destroyed_t *destroyed, void *context);
/* Ends the session at once (shutdown); the destroyed callback is NOT
 * called.  Sets *s to NULL. */
void esmtp_session_destroy(struct esmtp_session **s);

/* The default recipient lookup through authlib (esmtp-lookup.c):
 * context is a struct route_config * (mta/route.h).  It blocks while
 * authdaemond answers; a server with a worker pool whose rcpt_lookup is
 * this function runs it in its two halves below instead, the second in
 * a pool thread, so that the loop never waits (the session reads no
 * further command until the RCPT is answered, so replies keep their
 * order under PIPELINING).  Accounts found are remembered for
 * ESMTP_LOOKUP_CACHE_SECS (below); a refusal or a failure is never
 * remembered. */
int esmtp_lookup_authlib(const char *address, void *context);
/* The first half, in the loop thread: etc/aliases.dat and the routing
 * (mta/route.h, which applies locallowercase).  Returns 1, 0 or -1 when
 * that decides, else 2 with *key_r, the account to ask authdaemond about
 * (caller frees; NULL otherwise). */
int esmtp_lookup_authlib_route(const char *address, void *context,
			       char **key_r);
/* The second half: authdaemond for key, then its "user-ext" forms, then
 * etc/aliasdir's dot-courier files.  Blocks; thread-safe (may run in
 * several threads at once).  Returns 1, 0 or -1 (temporary). */
int esmtp_lookup_authlib_key(const char *key);
/* The same, also saying which account the address is: *account_r the
 * key authdaemond found ("user@domain" for "user-ext@domain") and
 * *ext_r the extension (NULL for none), both NULL when the address is
 * not an account's (etc/aliasdir, or not found).  Caller frees. */
int esmtp_lookup_authlib_account(const char *key, char **account_r,
				 char **ext_r);
/* Whether address is an alias of etc/aliases.dat: 1 with *count_r the
 * number of recipients it expands to, 0 not one, -1 on an error.  Loop
 * thread. */
int esmtp_lookup_alias_count(const char *address, size_t *count_r);

/* The positive cache of esmtp_lookup_authlib_key() (loop thread only):
 * a key found is taken as found for ESMTP_LOOKUP_CACHE_SECS seconds, so
 * an account removed is still accepted that long (then refused); a new
 * one counts at once (refusals are not cached).  At most
 * ESMTP_LOOKUP_CACHE_SLOTS keys. */
#define ESMTP_LOOKUP_CACHE_SECS 30
#define ESMTP_LOOKUP_CACHE_SLOTS 4096
/* Whether key was found less than ESMTP_LOOKUP_CACHE_SECS ago. */
bool esmtp_lookup_cache_get(const char *key, time_t now);
/* Records that key was found at now. */
void esmtp_lookup_cache_put(const char *key, time_t now);
/* Forgets everything (tests, reloads). */
void esmtp_lookup_cache_clear(void);

#endif
