/* route.c: routes a recipient to local, hosted or remote (route.h). */
#include "config.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config-file.h"
#include "log.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "route.h"
#include "str.h"

struct hosted {
	char *name;	/* lowercased */
	char *target;	/* canonical domain (== name unless an alias) */
};

struct route_config {
	char **locals;
	size_t local_count;
	struct hosted *hosted;
	size_t hosted_count;
	bool lowercase;
};

static void add_local(struct route_config *cfg, const char *entry)
{
	cfg->locals = xreallocarray(cfg->locals, cfg->local_count + 1,
				    sizeof(*cfg->locals));
	cfg->locals[cfg->local_count++] = str_lcase(str_trim(xstrdup(entry)));
}

static void add_hosted(struct route_config *cfg, const char *line)
{
	char *text = str_trim(xstrdup(line)), *sep;
	struct hosted *h;

	if (*text == '\0') {
		free(text);
		return;
	}
	cfg->hosted = xreallocarray(cfg->hosted, cfg->hosted_count + 1,
				    sizeof(*cfg->hosted));
	h = &cfg->hosted[cfg->hosted_count++];
	h->target = NULL;
	sep = strpbrk(text, " \t");
	if (sep != NULL) {
		*sep++ = '\0';
		h->target = str_lcase(str_trim(xstrdup(sep)));
	}
	h->name = str_lcase(xstrdup(text));
	if (h->target == NULL || *h->target == '\0') {
		free(h->target);
		h->target = xstrdup(h->name);
	}
	free(text);
}

static void add_lines(const char *text, struct route_config *cfg,
		      void (*add)(struct route_config *, const char *))
{
	char **v = str_split(text, "\n");

	for (size_t i = 0; v[i] != NULL; i++) {
		const char *p = v[i];

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != '#')
			add(cfg, v[i]);
	}
	str_split_free(&v);
}

struct route_config *route_config_new(const char *locals,
				      const char *hosted, const char *me,
				      bool lowercase)
{
	struct route_config *cfg = xcalloc(1, sizeof(*cfg));

	if (locals != NULL)
		add_lines(locals, cfg, add_local);
	else if (me != NULL)
		add_local(cfg, me);
	if (hosted != NULL)
		add_lines(hosted, cfg, add_hosted);
	cfg->lowercase = lowercase;
	return cfg;
}

/* hosteddomains.dat (makehosteddomains): 1 when read, 0 when missing or
 * unreadable (then the text is used). */
static int load_hosted_dat(struct route_config *cfg)
{
	char *path = config_path("hosteddomains.dat");
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_val k, v;
	int rc, ret = 0;

	if (access(path, F_OK) < 0) {
		free(path);
		return 0;
	}
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOLOCK |
			       MDB_RDONLY, 0644)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		log_error("%s: %s", path, mdb_strerror(rc));
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char *line = xasprintf("%.*s\t%.*s", (int)k.mv_size,
				       (const char *)k.mv_data,
				       (int)v.mv_size,
				       (const char *)v.mv_data);

		add_hosted(cfg, line);
		free(line);
	}
	ret = 1;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	free(path);
	return ret;
}

struct route_config *route_config_load(void)
{
	struct route_config *cfg = xcalloc(1, sizeof(*cfg));
	struct config_lines *lines;
	char *path;

	if (config_read_domain_list("locals", NULL, &lines, NULL) > 0) {
		for (size_t i = 0; i < config_lines_count(lines); i++)
			add_local(cfg, config_lines_get(lines, i)->text);
		config_lines_free(&lines);
	} else {
		char *me = config_me(NULL);

		add_local(cfg, me);
		free(me);
	}
	if (load_hosted_dat(cfg) == 0 &&
	    config_read_domain_list("hosteddomains", NULL, &lines,
				    NULL) > 0) {
		for (size_t i = 0; i < config_lines_count(lines); i++)
			add_hosted(cfg, config_lines_get(lines, i)->text);
		config_lines_free(&lines);
	}
	path = config_path("locallowercase");
	cfg->lowercase = access(path, F_OK) == 0;
	free(path);
	return cfg;
}

void route_config_free(struct route_config **cfgp)
{
	struct route_config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->local_count; i++)
		free(cfg->locals[i]);
	free(cfg->locals);
	for (size_t i = 0; i < cfg->hosted_count; i++) {
		free(cfg->hosted[i].name);
		free(cfg->hosted[i].target);
	}
	free(cfg->hosted);
	free(cfg);
	*cfgp = NULL;
}

static bool is_local_domain(const struct route_config *cfg,
			    const char *domain)
{
	return config_domain_list_match((const char *const *)cfg->locals,
					cfg->local_count, domain);
}

enum route_kind route_address(const struct route_config *cfg,
			      const char *address, char **key_r)
{
	char *local = NULL, *domain = NULL;
	struct str key;

	if (rfc822_addr_split(address, &local, &domain) < 0) {
		/* submit never queues these; treat the text as a local
		 * part so the module reports the unknown user */
		*key_r = xstrdup(address);
		return ROUTE_LOCAL;
	}
	str_init(&key, strlen(address) + 8);
	if (domain == NULL) {
		str_free(&key);
		*key_r = cfg->lowercase ? str_lcase(local) : local;
		return ROUTE_LOCAL;
	}
	str_lcase(domain);
	if (is_local_domain(cfg, domain)) {
		free(domain);
		str_free(&key);
		*key_r = cfg->lowercase ? str_lcase(local) : local;
		return ROUTE_LOCAL;
	}
	for (size_t i = 0; i < cfg->hosted_count; i++) {
		if (strcmp(cfg->hosted[i].name, domain) == 0) {
			/* locallowercase is for all local mail, hosted
			 * domains included (esmtpd accepts them so) */
			if (cfg->lowercase)
				str_lcase(local);
			rfc822_addr_format_local(&key, local);
			str_printfa(&key, "@%s", cfg->hosted[i].target);
			free(local);
			free(domain);
			*key_r = str_steal(&key);
			str_free(&key);
			return ROUTE_HOSTED;
		}
	}
	free(local);
	str_free(&key);
	*key_r = domain;
	return ROUTE_REMOTE;
}
