/* courierlocal-account.c: who a local recipient is (authlib, aliases,
 * aliasdir), the loop check, and the switch to its file system identity. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "config-env.h"
#include "config-file.h"
#include "courierlocal.h"
#include "dotcourier.h"
#include "log.h"
#include "mem.h"
#include "rfc822-header.h"

struct loop_ctx {
	const char *address;
	bool found;
};

static void loop_field_cb(const struct rfc822_header_field *f,
			  void *context)
{
	struct loop_ctx *ctx = context;

	if (f->name_len == 12 &&
	    strncasecmp(f->name, "Delivered-To", 12) == 0 &&
	    strcasecmp(f->value, ctx->address) == 0)
		ctx->found = true;
}

/* Whether the message's header has Delivered-To: address. */
bool is_loop(int fd, const char *address)
{
	struct rfc822_header_parser *p = rfc822_header_parser_create(NULL);
	struct loop_ctx ctx = { address, false };
	char buf[16384];
	ssize_t n;
	size_t used;

	(void)lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (rfc822_header_parser_feed(p, buf, (size_t)n, &used,
					      loop_field_cb, &ctx) == 1)
			break;
	}
	rfc822_header_parser_destroy(&p);
	return ctx.found;
}

/* Looks the account up: key, then key without its extension. */
int lookup(const char *key, struct auth_record *rec, char **ext_r,
	   const char **error_r)
{
	char *local, *domain = NULL, *seps, *at = strrchr(key, '@');
	int r = auth_lookup("courier", key, rec, error_r);

	*ext_r = xstrdup("");
	if (r != 0)
		return r;
	local = at != NULL ? xstrndup(key, (size_t)(at - key)) :
		xstrdup(key);
	if (at != NULL)
		domain = xstrdup(at);
	seps = dotcourier_separators();
	dotcourier_map_separators(local, seps);
	for (char *dash = strrchr(local, '-'); dash != NULL && r == 0;
	     dash = strrchr(local, '-')) {
		char *try;

		*dash = '\0';
		if (*local == '\0')
			break;
		try = xasprintf("%s%s", local, domain != NULL ? domain : "");
		auth_record_free(rec);
		r = auth_lookup("courier", try, rec, error_r);
		free(try);
		if (r != 0) {
			const char *ext = key + (dash - local) + 1;

			free(*ext_r);
			*ext_r = at != NULL ?
				xstrndup(ext, (size_t)(at - ext)) :
				xstrdup(ext);
			dotcourier_map_separators(*ext_r, seps);
		}
	}
	free(seps);
	free(local);
	free(domain);
	return r;
}

/* The account of a program or mailbox alias: the owner of
 * etc/aliases.dir, home in that folder.  Returns 1, or -1 with
 * *error_r. */
int alias_account(const char *akey, struct auth_record *rec,
		  char **ext_r, const char **error_r)
{
	static char err[512];
	char *dir = config_path("aliases.dir");
	struct stat st;

	*ext_r = xstrdup("");
	if (stat(dir, &st) < 0) {
		snprintf(err, sizeof(err), "%s: %s (run makealiases)", dir,
			 strerror(errno));
		*error_r = err;
		free(dir);
		return -1;
	}
	rec->address = xstrdup(akey);
	rec->home = dir;
	rec->has_uid = true;
	rec->uid = st.st_uid;
	rec->gid = st.st_gid;
	return 1;
}

/* An address without an account: etc/aliasdir, when it has a
 * .courier-LOCAL, .courier-PREFIX-default or .courier-default for it
 * (dot-courier(5)), handles it as the folder's owner, home in that
 * folder, the local part being the extension.  Returns 1 with *rec and
 * *ext_r, 0 when aliasdir has nothing for it. */
int aliasdir_account(const char *key, struct auth_record *rec,
		     char **ext_r)
{
	char *dir = config_path("aliasdir"), *local, *seps, *file;
	const char *at = strrchr(key, '@');
	struct stat st;

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
	file = NULL;
	if (*local != '\0' && local[0] != '.')
		(void)dotcourier_find_in(dir, local, &file);
	if (file == NULL) {
		free(local);
		free(dir);
		return 0;
	}
	free(file);
	auth_record_free(rec);
	auth_record_init(rec);
	rec->address = xstrdup(key);
	rec->home = dir;
	rec->has_uid = true;
	rec->uid = st.st_uid;
	rec->gid = st.st_gid;
	*ext_r = local;
	return 1;
}

/* Takes the account's file system identity (setfsuid, setfsgid, its
 * groups): the delivery process stays root for what follows (status
 * records, forwards, maildrop) but every file it opens, makes or looks
 * at until account_leave() is the account's, so one process does the
 * delivery without a second fork.  It runs no code of the account's:
 * programs run in a child that drops every id (run_fed()).  Returns 1
 * when switched, 0 when not running as root (nothing to switch), -1 with
 * *error_r (maybe half switched: call account_leave() all the same). */
int account_enter(const struct auth_record *rec, const char **error_r)
{
	static char err[256];
	int r;

	if (geteuid() != 0)
		return 0;
	if (rec->uid == 0) {
		*error_r = "refusing to deliver as root";
		return -1;
	}
	r = rec->sysusername != NULL ?
		initgroups(rec->sysusername, rec->gid) :
		setgroups(1, &rec->gid);
	if (r < 0) {
		snprintf(err, sizeof(err), "groups of uid %lu: %s",
			 (unsigned long)rec->uid, strerror(errno));
		*error_r = err;
		return -1;
	}
	(void)setfsgid(rec->gid);
	(void)setfsuid(rec->uid);
	/* setfsuid() reports the old id: ask again to be sure */
	if ((uid_t)setfsuid((uid_t)-1) != rec->uid ||
	    (gid_t)setfsgid((gid_t)-1) != rec->gid) {
		snprintf(err, sizeof(err), "file system ids did not switch "
			 "to %lu/%lu", (unsigned long)rec->uid,
			 (unsigned long)rec->gid);
		*error_r = err;
		/* not switched: no delivery as root's ids (the caller
		 * defers, then account_leave() takes root's back or the
		 * process ends) */
		return -1;
	}
	return 1;
}

/* Back to root's file system identity.  Returns 0, or -1 with *error_r
 * (the process must then exit). */
int account_leave(const char **error_r)
{
	(void)setfsuid(0);
	(void)setfsgid(0);
	if (setfsuid((uid_t)-1) != 0 || setfsgid((gid_t)-1) != 0 ||
	    setgroups(0, NULL) < 0) {
		*error_r = "cannot take root's file system ids back";
		return -1;
	}
	return 0;
}

/* DYNAMICDELIVERIES in etc/courierd (read before switching to the
 * account, who may not read it): "0" turns "||" lines off. */
bool dynamic_allowed(void)
{
	struct config_env *env = NULL;
	const char *v;
	bool ok = true;

	if (config_env_read("courierd", NULL, &env, NULL) > 0) {
		v = config_env_get(env, "DYNAMICDELIVERIES");
		ok = v == NULL || atoi(v) != 0;
	}
	config_env_free(&env);
	return ok;
}
