/* makehosteddomains.c: compiles the hosteddomains control file (or
 * folder) into etc/hosteddomains.dat, as makehosteddomains(8) does.
 *
 *   makehosteddomains [-chk]
 *
 * Each line is a domain hosted here ("example.com"), or a domain alias
 * "alias<TAB>domain" (mail to user@alias is the account user@domain).
 * Domains are lowercased; "*" and "*." lines take the system hostname
 * (config-file.h).  A malformed line, an alias of a domain that is not
 * listed, or an alias of an alias is reported as "file:line: message" and
 * nothing is written; exit status 0 when the database was written (or
 * -chk found nothing wrong), 1 otherwise.  The database (LMDB, key the
 * domain, value the domain it stands for) is written aside, fsynced and
 * renamed over the old one; courierd, submit and esmtpd read it instead
 * of the text once it exists (`courier restart` makes courierd see a new
 * one). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-file.h"
#include "log.h"
#include "mem.h"
#include "str.h"

struct entry {
	char *name, *target;
	const char *file;
	unsigned int line;
};

static bool domain_ok(const char *d)
{
	size_t len = strlen(d);

	if (len == 0 || len > 253 || d[0] == '.' || d[len - 1] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)d; *p != '\0';
	     p++) {
		if (*p < 0x80 && !((*p >= 'a' && *p <= 'z') ||
				   (*p >= '0' && *p <= '9') || *p == '-' ||
				   *p == '.' || *p == '_'))
			return false;
		if (*p == '.' && p[1] == '.')
			return false;
	}
	return true;
}

static struct entry *find(struct entry *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	}
	return NULL;
}

static int write_db(const char *path, struct entry *v, size_t n)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	int rc;

	(void)unlink(tmp);
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, n * 600 + 1024 * 1024)) != 0 ||
	    (rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK,
			       0644)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		MDB_val k = { strlen(v[i].name), v[i].name };
		MDB_val d = { strlen(v[i].target), v[i].target };

		if ((rc = mdb_put(txn, dbi, &k, &d, 0)) != 0)
			goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0 || (rc = mdb_env_sync(env, 1)) != 0)
		goto fail;
	mdb_env_close(env);
	if (rename(tmp, path) < 0) {
		fprintf(stderr, "makehosteddomains: %s: %s\n", path,
			strerror(errno));
		(void)unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
fail:
	fprintf(stderr, "makehosteddomains: %s: %s\n", tmp,
		mdb_strerror(rc));
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	(void)unlink(tmp);
	free(tmp);
	return -1;
}

int main(int argc, char **argv)
{
	struct config_errors *errs = config_errors_new();
	struct config_lines *lines = NULL;
	struct entry *v = NULL;
	size_t n = 0;
	bool chk = false;
	char *dat;
	int r, ret = 0;

	log_init("makehosteddomains", LOG_TARGET_STDERR);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-chk") == 0) {
			chk = true;
		} else {
			fprintf(stderr, "usage: makehosteddomains [-chk]\n");
			return 64;
		}
	}
	r = config_read_domain_list("hosteddomains", NULL, &lines, errs);
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const struct config_line *l = config_lines_get(lines, i);
		char *text = str_lcase(str_trim(xstrdup(l->text)));
		char *sep = strpbrk(text, " \t"), *target;

		if (sep != NULL) {
			*sep++ = '\0';
			target = str_trim(sep);
		} else {
			target = text;
		}
		if (!domain_ok(text) || !domain_ok(target) ||
		    strpbrk(target, " \t") != NULL) {
			config_error(errs, l->file, l->line,
				     "not a domain name: %s", l->text);
		} else if (find(v, n, text) != NULL) {
			config_warning(errs, l->file, l->line,
				       "%s listed again", text);
		} else {
			v = xreallocarray(v, n + 1, sizeof(*v));
			v[n].name = xstrdup(text);
			v[n].target = xstrdup(target);
			v[n].file = l->file;
			v[n].line = l->line;
			n++;
		}
		free(text);
	}
	for (size_t i = 0; i < n; i++) {
		struct entry *t;

		if (strcmp(v[i].name, v[i].target) == 0)
			continue;
		t = find(v, n, v[i].target);
		if (t == NULL)
			config_error(errs, v[i].file, v[i].line,
				     "%s is an alias of %s, which is not "
				     "listed", v[i].name, v[i].target);
		else if (strcmp(t->name, t->target) != 0)
			config_error(errs, v[i].file, v[i].line,
				     "%s is an alias of %s, itself an alias",
				     v[i].name, v[i].target);
	}
	for (size_t i = 0; config_errors_get(errs, i) != NULL; i++) {
		const struct config_message *m = config_errors_get(errs, i);

		fprintf(stderr, "makehosteddomains: %s%s\n",
			m->severity == CONFIG_SEVERITY_WARNING ?
			"warning: " : "", m->text);
	}
	dat = config_path("hosteddomains.dat");
	if (r < 0 || config_errors_error_count(errs) > 0) {
		fprintf(stderr, "makehosteddomains: %s not changed\n", dat);
		ret = 1;
	} else if (!chk && write_db(dat, v, n) < 0) {
		ret = 1;
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].target);
	}
	free(v);
	free(dat);
	config_lines_free(&lines);
	config_errors_destroy(&errs);
	return ret;
}
