/* esmtp-lookup.c: does a local recipient exist?  Routes the address as
 * the MTA will (mta/route.h) and asks authlib, trying "user-ext" forms
 * the way local delivery resolves them (user-ext, then user; '+' and
 * etc/defaultsep's characters read as '-').  For an account found as
 * "user" with an extension, its home must have the dot-courier file
 * courierlocal would follow (mta/dotcourier.h: .courier-EXT,
 * .courier-PREFIX-default, .courier-default), else the address is
 * refused like any unknown one; a home this process cannot search (it
 * runs as the queue user) leaves the decision to courierlocal (accepted,
 * as before).  Aliases of etc/aliases.dat (mta/aliases.h) are looked up
 * first: an alias or an address of a virtual domain of the database is
 * accepted (submit expands it).  A local address without an account is
 * still accepted when etc/aliasdir has a dot-courier file for it
 * (.courier-LOCAL, .courier-PREFIX-default, .courier-default), which
 * courierlocal then delivers with (the same lookup).
 *
 * The lookup comes in two halves so that esmtpd's loop never waits for
 * authdaemond: the aliases and the routing (local files, mapped) in the
 * loop, the authdaemond questions and the dot-courier files in a worker
 * thread (they use nothing shared but authlib's thread-safe client). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "auth-record.h"
#include "authclient.h"
#include "config-file.h"
#include "dotcourier.h"
#include "instance.h"
#include "esmtp-session.h"
#include "log.h"
#include "mem.h"
#include "route.h"
#include "str.h"
#include "submit.h"

/* authdaemond's answer for key: 1 with *home_r (when not NULL; caller
 * frees), 0, -1. */
static int lookup_key(const char *key, char **home_r)
{
	struct auth_record rec;
	const char *error = "";
	int r;

	auth_record_init(&rec);
	r = auth_lookup("courier", key, &rec, &error);
	if (r > 0 && home_r != NULL) {
		*home_r = rec.home;
		rec.home = NULL;
	}
	auth_record_free(&rec);
	if (r < 0)
		log_error("esmtpd: looking up %s: %s", key, error);
	return r;
}

/* etc/aliasdir's catch-all files for key's local part, in
 * courierlocal's order (mta/dotcourier.h: .courier-LOCAL,
 * .courier-A-B-default, .courier-A-default, .courier-default).
 * Returns 1 when one exists, else 0. */
static int aliasdir_exists(const char *key)
{
	char *dir = config_path("aliasdir"), *local, *seps, *file = NULL;
	const char *at = strrchr(key, '@');
	struct stat st;
	int found = 0;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(dir);
		return 0;
	}
	local = at != NULL ? xstrndup(key, (size_t)(at - key)) :
		xstrdup(key);
	str_lcase(local);
	seps = dotcourier_separators();
	dotcourier_map_separators(local, seps);
	free(seps);
	if (*local != '\0' && local[0] != '.' &&
	    dotcourier_find_in(dir, local, &file) > 0)
		found = 1;
	free(file);
	free(local);
	free(dir);
	return found;
}

/* Whether the home of the account found for key has a dot-courier file
 * for the extension ext (mta/dotcourier.h, as courierlocal will look for
 * it).  Returns 1 when it has, or when the home cannot be searched by
 * this process (esmtpd runs as the queue user: courierlocal decides
 * then, as before), 0 when it has none. */
static int extension_exists(const char *key, const char *home,
			    const char *ext)
{
	char *file = NULL;
	int r = dotcourier_find_in(home, ext, &file);

	free(file);
	if (r < 0) {
		log_debug("esmtpd: %s: cannot look for .courier-%s in %s "
			  "(%s): accepted", key, ext, home, strerror(errno));
		return 1;
	}
	return r;
}

/* Whether etc/locallowercase exists (looked at for every recipient, so
 * that it takes effect at once, as the rest of the lookup does). */
static bool locallowercase(void)
{
	char *path = config_path("locallowercase");
	bool exists = access(path, F_OK) == 0;

	free(path);
	return exists;
}

int esmtp_lookup_authlib_route(const char *address, void *context,
			       char **key_r)
{
	const struct route_config *cfg = context;
	char *key = NULL;
	enum route_kind kind;
	int r;

	*key_r = NULL;
	r = aliases_exists(address);
	if (r != 0)
		return r;
	kind = route_address(cfg, address, &key);
	if (kind == ROUTE_REMOTE) {
		/* esmtpacceptmailfor: a domain we are a backup MX for */
		free(key);
		return 1;
	}
	if (kind == ROUTE_HOSTED && locallowercase()) {
		/* Courier lowercases every address its local module takes,
		 * hosted domains' too (route.c does it for locals only) */
		char *at = strrchr(key, '@');

		for (char *p = key; p < at; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	/* the instance's folders are resolved here, in the loop thread,
	 * before a worker thread reads them */
	(void)instance_etcdir();
	*key_r = key;
	return 2;
}

int esmtp_lookup_authlib_account(const char *key, char **account_r,
				 char **ext_r)
{
	char *at, *local, *mapped, *dash, *seps, *home = NULL;
	int r;

	*account_r = NULL;
	*ext_r = NULL;
	r = lookup_key(key, NULL);
	if (r > 0)
		*account_r = xstrdup(key);
	if (r != 0)
		return r;
	/* user-ext@domain and user+ext@domain: the account is user, and
	 * its home must have a dot-courier file for ext */
	at = strrchr(key, '@');
	local = at != NULL ? xstrndup(key, (size_t)(at - key)) : xstrdup(key);
	seps = dotcourier_separators();
	dotcourier_map_separators(local, seps);
	free(seps);
	mapped = xstrdup(local);
	while (r == 0 && (dash = strrchr(local, '-')) != NULL) {
		*dash = '\0';
		if (*local == '\0')
			break;
		char *try = xasprintf("%s%s", local, at != NULL ? at : "");
		r = lookup_key(try, &home);
		if (r > 0) {
			const char *ext = mapped + (dash - local) + 1;

			r = extension_exists(key, home, ext);
			if (r > 0) {
				*account_r = try;
				*ext_r = xstrdup(ext);
				try = NULL;
			}
			free(try);
			free(home);
			free(mapped);
			free(local);
			return r;
		}
		free(try);
	}
	free(mapped);
	free(local);
	if (r == 0)
		r = aliasdir_exists(key);
	return r;
}

int esmtp_lookup_authlib_key(const char *key)
{
	char *account, *ext;
	int r = esmtp_lookup_authlib_account(key, &account, &ext);

	free(account);
	free(ext);
	return r;
}

int esmtp_lookup_alias_count(const char *address, size_t *count_r)
{
	struct aliases_db *db = aliases_default_db();
	struct aliases_expansion x = { NULL, 0 };
	const char *error = NULL;
	char *q;
	int r;

	*count_r = 0;
	if (db == NULL)
		return 0;
	q = submit_qualify_address(address, &error);
	if (q == NULL)
		return -1;
	r = aliases_expand(db, q, submit_qualify_address,
			   aliases_is_local_domain, &x, &error);
	if (r > 0)
		*count_r = x.count;
	aliases_expansion_free(&x);
	free(q);
	return r < 0 ? -1 : r > 0 ? 1 : 0;
}

int esmtp_lookup_authlib(const char *address, void *context)
{
	char *key = NULL;
	int r = esmtp_lookup_authlib_route(address, context, &key);

	if (r == 2)
		r = esmtp_lookup_authlib_key(key);
	free(key);
	return r;
}

/* The positive cache: a fixed table, one entry a slot (a colliding key
 * replaces the one there), so both its size and its age are bounded. */
struct lookup_cache_entry {
	char *key;
	time_t expires;
};

static struct lookup_cache_entry lookup_cache[ESMTP_LOOKUP_CACHE_SLOTS];

static size_t cache_slot(const char *key)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0';
	     p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h % ESMTP_LOOKUP_CACHE_SLOTS;
}

bool esmtp_lookup_cache_get(const char *key, time_t now)
{
	struct lookup_cache_entry *e = &lookup_cache[cache_slot(key)];

	if (e->key == NULL || strcmp(e->key, key) != 0)
		return false;
	if (now >= e->expires || e->expires - now > ESMTP_LOOKUP_CACHE_SECS) {
		/* old, or the clock went back */
		free(e->key);
		e->key = NULL;
		return false;
	}
	return true;
}

void esmtp_lookup_cache_put(const char *key, time_t now)
{
	struct lookup_cache_entry *e = &lookup_cache[cache_slot(key)];

	if (e->key == NULL || strcmp(e->key, key) != 0) {
		free(e->key);
		e->key = xstrdup(key);
	}
	e->expires = now + ESMTP_LOOKUP_CACHE_SECS;
}

void esmtp_lookup_cache_clear(void)
{
	for (size_t i = 0; i < ESMTP_LOOKUP_CACHE_SLOTS; i++) {
		free(lookup_cache[i].key);
		lookup_cache[i].key = NULL;
	}
}
