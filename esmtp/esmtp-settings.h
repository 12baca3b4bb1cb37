/* esmtp-settings.h: esmtpd's settings, one struct per listener, read from
 * the instance's NAME=value files etc/esmtpd (SMTP), etc/esmtpd-ssl
 * (SMTPS, implicit TLS) and etc/esmtpd-msa (submission), with Courier's
 * names (see doc/esmtp.md). */
#ifndef ESMTP_SETTINGS_H
#define ESMTP_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "config-errors.h"

struct esmtp_settings {
	bool start;		/* ESMTPDSTART */
	bool ssl_start;		/* ESMTPDSSLSTART (esmtpd-ssl) */
	char *address;		/* ADDRESS */
	long long port;		/* PORT */
	char *ssl_address;	/* SSLADDRESS */
	long long ssl_port;	/* SSLPORT */
	long long max_daemons;	/* MAXDAEMONS: connections in all */
	long long max_per_ip;	/* MAXPERIP */
	/* MAXPERC: connections at once from one C block (IPv4 /24, IPv6
	 * /48: esmtp_access_cblock()); 0 = no limit */
	long long max_per_c;
	/* BOFHCHECKDNS: the sender's domain must exist: esmtpd turns
	 * bofh->check_dns on with it (esmtp-dnscheck.h) */
	bool check_dns;
	char *auth_mechs;	/* ESMTPAUTH: SASL offered without TLS */
	char *auth_mechs_tls;	/* ESMTPAUTH_TLS: offered under TLS */
	bool auth_required;	/* AUTH_REQUIRED: AUTH before MAIL */
	bool tls_required;	/* ESMTP_TLS_REQUIRED: STARTTLS first */
	bool log_dialog;	/* ESMTP_LOG_DIALOG */
	bool no_vrfy;		/* BOFHNOVRFY */
	bool no_add_msgid;	/* NOADDMSGID */
	bool no_add_date;	/* NOADDDATE */
	bool dkim_verify;	/* DKIMVERIFY: Authentication-Results: */
	bool dkim_sign;		/* DKIMSIGN: sign for authenticated users */
	unsigned int timeout;	/* ESMTP_TIMEOUT: no command (seconds) */
	unsigned int data_timeout; /* ESMTP_DATA_TIMEOUT: no DATA/BDAT input */
	unsigned int session_timeout; /* ESMTP_SESSION_TIMEOUT: whole session */
	unsigned int filter_timeout; /* ESMTP_FILTER_TIMEOUT: a filter's reply */
	/* LOCALFILTER_TIMEOUT: an account's rcptfilter or smtpfilter */
	unsigned int lmf_timeout;
	uint64_t max_command_line; /* ESMTP_MAX_LINE: command line length */
	uint64_t max_data_line;	/* ESMTP_MAX_DATA_LINE: message line length */
	long long max_bad_commands; /* ESMTP_MAX_BAD_COMMANDS */
	long long max_rcpts;	/* ESMTP_MAX_RCPTS */
	long long workers;	/* ESMTP_WORKERS: threads for fsync and DNS */
	char *access_file;	/* ACCESSFILE: smtpaccess */
	char *tls_certfile;	/* TLS_CERTFILE */
	char *tls_dhparams;	/* TLS_DHPARAMS */
	char *tls_protocol;	/* TLS_PROTOCOL ("TLSv1.2+") */
	char *tls_cipher_list;	/* TLS_CIPHER_LIST */
	char *tls_priority;	/* TLS_PRIORITY */
	char *tls_verifypeer;	/* TLS_VERIFYPEER */
};

/* Fills set with the defaults, then the file (a name in etc/ or a path;
 * missing = defaults).  Returns 0, 1 when the file is missing, -1 on
 * errors (reported to errs).  Free with esmtp_settings_free(). */
int esmtp_settings_load(struct esmtp_settings *set, const char *file,
			struct config_errors *errs);
void esmtp_settings_defaults(struct esmtp_settings *set);
void esmtp_settings_free(struct esmtp_settings *set);

#endif
