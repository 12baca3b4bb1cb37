/* esmtp-lookup.c: does a local recipient exist?  Routes the address as
 * the MTA will (mta/route.h) and asks authlib, trying "user-ext" forms
 * the way local delivery resolves them (user-ext, then user).  Aliases
 * of etc/aliases.dat (mta/aliases.h) are looked up first: an alias or
 * an address of a virtual domain of the database is accepted (submit
 * expands it). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "auth-record.h"
#include "authclient.h"
#include "esmtp-session.h"
#include "log.h"
#include "mem.h"
#include "route.h"

static int lookup_key(const char *key)
{
	struct auth_record rec;
	const char *error = "";
	int r;

	auth_record_init(&rec);
	r = auth_lookup("courier", key, &rec, &error);
	auth_record_free(&rec);
	if (r < 0)
		log_error("esmtpd: looking up %s: %s", key, error);
	return r;
}

int esmtp_lookup_authlib(const char *address, void *context)
{
	const struct route_config *cfg = context;
	char *key = NULL, *at, *local, *dash;
	int r;

	r = aliases_exists(address);
	if (r != 0)
		return r;
	if (route_address(cfg, address, &key) == ROUTE_REMOTE) {
		/* esmtpacceptmailfor: a domain we are a backup MX for */
		free(key);
		return 1;
	}
	r = lookup_key(key);
	if (r != 0) {
		free(key);
		return r;
	}
	/* user-ext@domain and user+ext@domain: the account is user */
	at = strrchr(key, '@');
	local = at != NULL ? xstrndup(key, (size_t)(at - key)) : xstrdup(key);
	for (char *p = local; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
	}
	while (r == 0 && (dash = strrchr(local, '-')) != NULL) {
		*dash = '\0';
		if (*local == '\0')
			break;
		char *try = xasprintf("%s%s", local, at != NULL ? at : "");
		r = lookup_key(try);
		free(try);
	}
	free(local);
	free(key);
	return r;
}
