/* imap-settings.h: imapd's settings, read from the instance's NAME=value
 * files etc/imapd (plain port) and etc/imapd-ssl (implicit TLS port),
 * with Courier's names where Courier has one (see doc/imap.md). */
#ifndef IMAP_SETTINGS_H
#define IMAP_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "config-errors.h"
#include "login-master.h"

struct imap_settings {
	/* IMAPDSTART, ADDRESS, PORT, MAXDAEMONS, MAXPERIP, IMAP_LOGIN_USER
	 * (pre-login processes), IMAPDSSLSTART, SSLADDRESS, SSLPORT,
	 * IMAPDSTARTTLS and the TLS_* settings */
	struct login_master_settings master;
	/* etc/imapd */
	char *maildir_path;	/* MAILDIRPATH */
	unsigned int idle_poll;	/* IMAP_IDLE_TIMEOUT: IDLE re-check (s) */
	/* IMAP_EMPTYTRASH: "folder:days,..." (imap_emptytrash_parse()),
	 * and its parsed rules */
	char *empty_trash;
	struct imap_emptytrash_rule *empty_trash_rules;
	size_t empty_trash_count;
	unsigned int timeout;	/* IMAP_TIMEOUT: autologout (s) */
	/* IMAP_HIBERNATE_TIMEOUT: idle time after which a logged-in
	 * session of the daemon hands its state to the master and exits
	 * (imap-hibernate.h), in seconds; 0 = never */
	unsigned int hibernate_timeout;
	long long max_line;	/* IMAP_MAX_LINE */
	long long max_literal;	/* IMAP_MAX_LITERAL */
	long long max_bad_commands; /* IMAP_MAX_BAD_COMMANDS before login */
	/* PROXY_HOSTNAME: this server's name, as accounts' mailhost= name
	 * it ("" = the system hostname); another mailhost gets a
	 * LOGIN-REFERRALS referral (RFC 2221) */
	char *proxy_hostname;
	char *namespace_prefix;	/* IMAP_NAMESPACE_PREFIX: "" or "INBOX." */
	/* IMAP_SHARED_FOLDERS: the "#shared." namespace of other
	 * accounts' folders (imap-shared.h) */
	bool shared_folders;
	/* IMAP_AUTH: SASL mechanisms offered (AUTH=...), default
	 * "PLAIN LOGIN"; IMAP_AUTH_TLS: more offered under TLS.  Names
	 * are separated by spaces, tabs or commas. */
	char *auth_mechs;
	char *auth_mechs_tls;
	/* etc/imapd-ssl */
	bool tls_required;	/* IMAP_TLS_REQUIRED */
	/* IMAP_TLS_PROXY: TLS (993 and STARTTLS) runs in shared TLS proxy
	 * processes, not in each connection's pre-login process */
	bool tls_proxy;
	long long tls_proxies;	 /* IMAP_TLS_PROXIES: 0 = one per CPU */
	long long tls_proxy_max; /* IMAP_TLS_PROXY_MAX: per proxy */
	/* IMAP_TLS_HANDSHAKE_TIMEOUT: seconds a TLS proxy gives a client
	 * to finish its handshake */
	unsigned int tls_handshake_timeout;
};

/* One rule of IMAP_EMPTYTRASH: messages of folder that have been there
 * (file ctime) more than days days are deleted at login and logout. */
struct imap_emptytrash_rule {
	/* Courier's folder name, UTF-8, '.' as the hierarchy separator,
	 * without "INBOX." ("Trash", "Sent.Old"); "INBOX" is the inbox */
	char *folder;
	unsigned int days;
};

#define IMAP_EMPTYTRASH_MAX_RULES 64
#define IMAP_EMPTYTRASH_MAX_DAYS 36500

/* Parses an IMAP_EMPTYTRASH value (len bytes, need not be NUL
 * terminated): comma-separated "folder:days" items, blanks around items
 * ignored, folder a valid folder name (lib/maildir-folder.h) with an
 * optional "INBOX." in front (dropped), days 1 to
 * IMAP_EMPTYTRASH_MAX_DAYS, at most IMAP_EMPTYTRASH_MAX_RULES items.  An
 * empty or blank value has no rules.  Returns 0 and *rules_r (caller
 * frees with imap_emptytrash_free(), NULL when *count_r is 0), or -1
 * with a static *error_r and nothing allocated. */
int imap_emptytrash_parse(const char *value, size_t len,
			  struct imap_emptytrash_rule **rules_r,
			  size_t *count_r, const char **error_r);
void imap_emptytrash_free(struct imap_emptytrash_rule **rules,
			  size_t count);

/* Defaults, then etc/imapd and etc/imapd-ssl (a missing file keeps the
 * defaults).  Returns 0, or -1 with every problem in errs.  Free with
 * imap_settings_free() either way. */
int imap_settings_load(struct imap_settings *set, const char *plain_file,
		       const char *ssl_file, struct config_errors *errs);
void imap_settings_defaults(struct imap_settings *set);
void imap_settings_free(struct imap_settings *set);
/* True when the SASL mechanism named mech is offered: listed in
 * IMAP_AUTH, or in IMAP_AUTH_TLS and tls is true (case-insensitive). */
bool imap_settings_mech_offered(const struct imap_settings *set,
				const char *mech, bool tls);

#endif
