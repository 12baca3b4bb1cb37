/* aliases.c: the aliases source parser, the compiled LMDB database and
 * the expansion submit makes (aliases.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "config-file.h"
#include "log.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "route.h"
#include "str.h"

struct aliases {
	struct alias *v;
	size_t count, alloc;
};

static char errbuf[1024];

struct aliases *aliases_new(void)
{
	return xcalloc(1, sizeof(struct aliases));
}

static void alias_clear(struct alias *al)
{
	free(al->name);
	for (size_t i = 0; i < al->address_count; i++)
		free(al->addresses[i]);
	free(al->addresses);
	for (size_t i = 0; i < al->program_count; i++)
		free(al->programs[i]);
	free(al->programs);
}

void aliases_free(struct aliases **ap)
{
	struct aliases *a = *ap;

	if (a == NULL)
		return;
	for (size_t i = 0; i < a->count; i++)
		alias_clear(&a->v[i]);
	free(a->v);
	free(a);
	*ap = NULL;
}

size_t aliases_count(const struct aliases *a)
{
	return a->count;
}

const struct alias *aliases_get(const struct aliases *a, size_t i)
{
	return i < a->count ? &a->v[i] : NULL;
}

static struct alias *find(const struct aliases *a, const char *name)
{
	for (size_t i = 0; i < a->count; i++) {
		if (strcasecmp(a->v[i].name, name) == 0)
			return &a->v[i];
	}
	return NULL;
}

const struct alias *aliases_find(const struct aliases *a, const char *name)
{
	return find(a, name);
}

/* ---- parsing ---- */

struct parse_ctx {
	struct aliases *a;
	aliases_include_fn *include;
	void *context;
	struct config_errors *errs;
	const char *file;
	unsigned int line;
	struct alias *cur;
	bool in_include;
	bool failed;
};

static bool bad_byte(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* An alias name: "local", "local@domain" or "@domain"; no blanks, no
 * '/', no control bytes.  Returns the lowercased key or NULL. */
static char *check_name(const char *text, size_t len, const char **why)
{
	char *name, *at;

	if (len == 0) {
		*why = "empty alias name";
		return NULL;
	}
	if (len > ALIASES_MAX_NAME) {
		*why = "alias name too long";
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (bad_byte(c) || c == ' ' || c == '\t' || c == '/' ||
		    c == ',' || c == '"' || c == '<' || c == '>') {
			*why = "invalid character in the alias name";
			return NULL;
		}
	}
	name = str_lcase(xstrndup(text, len));
	at = strchr(name, '@');
	if (at != NULL && (strchr(at + 1, '@') != NULL || at[1] == '\0' ||
			   at[1] == '.')) {
		*why = "invalid domain in the alias name";
		free(name);
		return NULL;
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		*why = "invalid alias name";
		free(name);
		return NULL;
	}
	return name;
}

static void perr(struct parse_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void perr(struct parse_ctx *c, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	config_error(c->errs, c->file, c->line, "%s", buf);
	c->failed = true;
}

static bool list_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(v[i], s) == 0)
			return true;
	}
	return false;
}

static void add_item_to(struct parse_ctx *c, char ***v, size_t *n,
			const char *item)
{
	if (list_has(*v, *n, item))
		return;
	if (c->cur->address_count + c->cur->program_count >=
	    ALIASES_MAX_ITEMS) {
		perr(c, "alias %s: more than %d items", c->cur->name,
		     ALIASES_MAX_ITEMS);
		return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrdup(item);
}

/* An address item: "addr" or "Name <addr>".  Returns the bare address
 * (new string) or NULL after reporting. */
static char *item_address(struct parse_ctx *c, const char *item)
{
	const char *lt = strchr(item, '<');
	char *addr, *local = NULL, *domain = NULL;

	if (lt != NULL) {
		const char *gt = strchr(lt, '>');

		if (gt == NULL || gt[1] != '\0') {
			perr(c, "malformed address: %s", item);
			return NULL;
		}
		addr = str_trim(xstrndup(lt + 1, (size_t)(gt - lt - 1)));
	} else {
		addr = xstrdup(item);
	}
	if (*addr == '\0' || rfc822_addr_split(addr, &local, &domain) < 0 ||
	    *local == '\0' || (domain != NULL && *domain == '\0')) {
		perr(c, "malformed address: %s", item);
		free(addr);
		addr = NULL;
	} else {
		for (const char *p = addr; *p != '\0'; p++) {
			if (bad_byte((unsigned char)*p) || *p == ' ' ||
			    *p == '\t') {
				if (strchr(addr, '"') != NULL)
					continue;
				perr(c, "malformed address: %s", item);
				free(addr);
				addr = NULL;
				break;
			}
		}
	}
	free(local);
	free(domain);
	return addr;
}

static void parse_items(struct parse_ctx *c, const char *text);

static void do_include(struct parse_ctx *c, const char *path)
{
	const char *error = "";
	const char *saved_file = c->file;
	unsigned int saved_line = c->line;
	struct config_lines *lines;
	struct config_limits lim = config_default_limits;
	size_t size = 0;
	char *data;

	if (c->in_include) {
		perr(c, ":include: inside an included file");
		return;
	}
	if (*path == '\0') {
		perr(c, ":include: without a file name");
		return;
	}
	if (c->include == NULL) {
		perr(c, ":include:%s: includes are not allowed here", path);
		return;
	}
	data = c->include(path, &size, &error, c->context);
	if (data == NULL) {
		perr(c, ":include:%s: %s", path, error);
		return;
	}
	lim.max_file_size = ALIASES_MAX_INCLUDE;
	lines = config_lines_new(&lim);
	config_lines_parse(lines, path, data, size, c->errs);
	free(data);
	c->in_include = true;
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const struct config_line *l = config_lines_get(lines, i);

		c->file = l->file;
		c->line = l->line;
		parse_items(c, l->text);
	}
	c->in_include = false;
	c->file = saved_file;
	c->line = saved_line;
	config_lines_free(&lines);
}

static void add_item(struct parse_ctx *c, char *item)
{
	struct alias *al = c->cur;

	item = str_trim(item);
	if (*item == '\0')
		return;
	if (strlen(item) > ALIASES_MAX_ITEM) {
		perr(c, "item too long");
		return;
	}
	if (strncasecmp(item, ":include:", 9) == 0) {
		do_include(c, str_trim(item + 9));
		return;
	}
	if (item[0] == '.' && item[1] == '/') {
		perr(c, "%s: mailboxes in aliases need an absolute path",
		     item);
		return;
	}
	if (item[0] == '|' || item[0] == '/') {
		if (c->in_include) {
			perr(c, "%s: programs and mailboxes are not allowed "
			     "in included files", item);
			return;
		}
		if (al->name[0] == '@') {
			perr(c, "%s: a virtual domain cannot deliver to "
			     "programs or mailboxes", item);
			return;
		}
		for (const char *p = item; *p != '\0'; p++) {
			if (bad_byte((unsigned char)*p) && *p != '\t') {
				perr(c, "control character in %s", al->name);
				return;
			}
		}
		if (item[0] == '|' && str_trim(item + 1)[0] == '\0') {
			perr(c, "empty command");
			return;
		}
		if (item[0] == '|' && item[1] == '|') {
			perr(c, "%s: dynamic delivery instructions are not "
			     "allowed in aliases", item);
			return;
		}
		add_item_to(c, &al->programs, &al->program_count, item);
		return;
	}
	{
		char *addr = item_address(c, item);

		if (addr == NULL)
			return;
		if (al->name[0] == '@' &&
		    (al->address_count > 0 || strchr(addr, '@') != NULL)) {
			perr(c, "virtual domain %s: one local name expected",
			     al->name);
			free(addr);
			return;
		}
		add_item_to(c, &al->addresses, &al->address_count, addr);
		free(addr);
	}
}

/* Splits text at commas outside double quotes and angle brackets. */
static void parse_items(struct parse_ctx *c, const char *text)
{
	struct str item;
	bool quoted = false;
	int angle = 0;

	str_init(&item, 128);
	for (const char *p = text;; p++) {
		if (*p == '\0' || (*p == ',' && !quoted && angle == 0)) {
			char *s = xstrdup(str_c(&item));

			/* "|cmd, with commas": the quotes go */
			{
				char *t = str_trim(s);
				size_t n = strlen(t);

				if (n >= 2 && t[0] == '"' && t[n - 1] == '"' &&
				    (t[1] == '|' || t[1] == '/' ||
				     t[1] == ':')) {
					t[n - 1] = '\0';
					memmove(s, t + 1, n - 1);
				}
			}
			add_item(c, s);
			free(s);
			str_clear(&item);
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '<' && !quoted)
			angle++;
		else if (*p == '>' && !quoted && angle > 0)
			angle--;
		else if (*p == '\\' && quoted && p[1] != '\0') {
			str_append_c(&item, *p++);
		}
		str_append_c(&item, *p);
	}
	if (quoted)
		perr(c, "unbalanced double quote");
	str_free(&item);
}

/* The position of the ':' that ends the name, or NULL. */
static const char *name_end(const char *text)
{
	bool quoted = false;

	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ':' && !quoted)
			return p;
	}
	return NULL;
}

void aliases_parse(struct aliases *a, const struct config_lines *lines,
		   aliases_include_fn *include, void *context,
		   struct config_errors *errs)
{
	struct parse_ctx c;

	memset(&c, 0, sizeof(c));
	c.a = a;
	c.include = include;
	c.context = context;
	c.errs = errs;
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const struct config_line *l = config_lines_get(lines, i);
		const char *text = l->text, *colon;
		const char *why = NULL;
		char *name;

		c.file = l->file;
		c.line = l->line;
		if (*text == ' ' || *text == '\t') {
			if (c.cur == NULL) {
				perr(&c, "continuation line without an "
				     "alias");
				continue;
			}
			parse_items(&c, text);
			continue;
		}
		c.cur = NULL;
		colon = name_end(text);
		if (colon == NULL) {
			perr(&c, "missing ':' after the alias name");
			continue;
		}
		{
			const char *e = colon;

			while (e > text && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			name = check_name(text, (size_t)(e - text), &why);
		}
		if (name == NULL) {
			perr(&c, "%s", why);
			continue;
		}
		c.cur = find(a, name);
		if (c.cur == NULL) {
			if (a->count == a->alloc) {
				a->alloc = a->alloc == 0 ? 16 : a->alloc * 2;
				a->v = xreallocarray(a->v, a->alloc,
						     sizeof(*a->v));
			}
			c.cur = &a->v[a->count++];
			memset(c.cur, 0, sizeof(*c.cur));
			c.cur->name = name;
			c.cur->file = l->file;
			c.cur->line = l->line;
		} else {
			free(name);
			if (c.cur->name[0] == '@')
				perr(&c, "virtual domain %s defined twice "
				     "(first at %s:%u)", c.cur->name,
				     c.cur->file, c.cur->line);
		}
		parse_items(&c, colon + 1);
	}
	/* an alias without any item is an error, not a black hole */
	for (size_t i = 0; i < a->count; i++) {
		struct alias *al = &a->v[i];

		if (al->address_count == 0 && al->program_count == 0 &&
		    !c.failed)
			config_error(errs, al->file, al->line,
				     "alias %s has no recipients", al->name);
	}
}

char *aliases_dotfile_name(const char *key)
{
	char *name = xasprintf(".courier-%s", key);

	for (char *p = name + 9; *p != '\0'; p++) {
		if (*p == '.')
			*p = ':';
	}
	return name;
}

/* ---- the database ---- */

static void value_of(const struct alias *al, struct str *v)
{
	if (al->name[0] == '@') {
		str_append_c(v, ALIASES_VDOMAIN_MARK);
		str_append(v, al->address_count > 0 ? al->addresses[0] : "");
		return;
	}
	for (size_t i = 0; i < al->address_count; i++) {
		if (i > 0)
			str_append_c(v, '\n');
		str_append(v, al->addresses[i]);
	}
	if (al->program_count > 0) {
		if (al->address_count > 0)
			str_append_c(v, '\n');
		str_append(v, ALIASES_SELF_MARK);
	}
}

int aliases_write_db(const struct aliases *a, const char *path,
		     const char **error_r)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	size_t total = 0;
	int rc, fd;
	struct str v;

	for (size_t i = 0; i < a->count; i++) {
		const struct alias *al = &a->v[i];

		total += strlen(al->name) + 64;
		for (size_t j = 0; j < al->address_count; j++)
			total += strlen(al->addresses[j]) + 1;
	}
	(void)unlink(tmp);
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, total * 4 + 1024 * 1024)) != 0 ||
	    (rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK,
			       0644)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
		goto fail;
	str_init(&v, 1024);
	for (size_t i = 0; i < a->count; i++) {
		const struct alias *al = &a->v[i];
		MDB_val k = { strlen(al->name), al->name }, d;

		str_clear(&v);
		value_of(al, &v);
		d.mv_size = str_len(&v);
		d.mv_data = (void *)str_c(&v);
		if ((rc = mdb_put(txn, dbi, &k, &d, 0)) != 0) {
			str_free(&v);
			goto fail;
		}
	}
	str_free(&v);
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0 || (rc = mdb_env_sync(env, 1)) != 0)
		goto fail;
	mdb_env_close(env);
	env = NULL;
	(void)chmod(tmp, 0644);
	if (rename(tmp, path) < 0) {
		snprintf(errbuf, sizeof(errbuf), "rename %s: %s", path,
			 strerror(errno));
		*error_r = errbuf;
		(void)unlink(tmp);
		free(tmp);
		return -1;
	}
	{
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');

		if (slash != NULL)
			*slash = '\0';
		fd = open(slash != NULL ? (*dir != '\0' ? dir : "/") : ".",
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			(void)fsync(fd);
			close(fd);
		}
		free(dir);
	}
	free(tmp);
	return 0;
fail:
	snprintf(errbuf, sizeof(errbuf), "%s: %s", tmp, mdb_strerror(rc));
	*error_r = errbuf;
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	(void)unlink(tmp);
	free(tmp);
	return -1;
}

struct aliases_db {
	MDB_env *env;
	MDB_dbi dbi;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
};

int aliases_db_open(const char *path, struct aliases_db **db_r,
		    const char **error_r)
{
	struct aliases_db *db;
	MDB_txn *txn;
	struct stat st;
	int rc;

	*db_r = NULL;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(errbuf, sizeof(errbuf), "%s: %s", path,
			 strerror(errno));
		*error_r = errbuf;
		return -1;
	}
	db = xcalloc(1, sizeof(*db));
	db->dev = st.st_dev;
	db->ino = st.st_ino;
	db->mtime = st.st_mtim;
	if ((rc = mdb_env_create(&db->env)) != 0)
		goto fail;
	if ((rc = mdb_env_open(db->env, path, MDB_NOSUBDIR | MDB_NOLOCK |
			       MDB_RDONLY, 0644)) != 0)
		goto fail;
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	rc = mdb_dbi_open(txn, NULL, 0, &db->dbi);
	mdb_txn_abort(txn);
	if (rc != 0)
		goto fail;
	*db_r = db;
	return 1;
fail:
	snprintf(errbuf, sizeof(errbuf), "%s: %s", path, mdb_strerror(rc));
	*error_r = errbuf;
	if (db->env != NULL)
		mdb_env_close(db->env);
	free(db);
	return -1;
}

void aliases_db_close(struct aliases_db **dbp)
{
	struct aliases_db *db = *dbp;

	if (db == NULL)
		return;
	mdb_env_close(db->env);
	free(db);
	*dbp = NULL;
}

int aliases_db_get(struct aliases_db *db, const char *key, char **value_r)
{
	MDB_txn *txn;
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc;

	*value_r = NULL;
	if (*key == '\0' || k.mv_size > ALIASES_MAX_NAME)
		return 0;
	if (mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn) != 0)
		return -1;
	rc = mdb_get(txn, db->dbi, &k, &v);
	if (rc == 0)
		*value_r = xstrndup(v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc == 0 ? 1 : -1;
}

/* ---- expansion ---- */

void aliases_expansion_free(struct aliases_expansion *x)
{
	for (size_t i = 0; i < x->count; i++)
		free(x->rcpts[i]);
	free(x->rcpts);
	x->rcpts = NULL;
	x->count = 0;
}

struct expand_ctx {
	struct aliases_db *db;
	aliases_qualify_fn *qualify;
	aliases_is_local_fn *is_local;
	struct aliases_expansion *x;
	char *stack[ALIASES_MAX_DEPTH + 1];
	unsigned int depth;
	const char *error;
};

static const char *reply(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static const char *reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

/* Finds what address is in the database: 1 with the value and the key
 * it was found under, 0, -1. */
static int lookup_value(struct expand_ctx *c, const char *address,
			char **value_r, char **key_r)
{
	char *key = str_lcase(xstrdup(address));
	char *at = strrchr(key, '@');
	int r;

	*key_r = NULL;
	r = aliases_db_get(c->db, key, value_r);
	if (r != 0) {
		if (r > 0)
			*key_r = key;
		else
			free(key);
		return r;
	}
	if (at != NULL && c->is_local != NULL && c->is_local(at + 1)) {
		*at = '\0';
		r = aliases_db_get(c->db, key, value_r);
		if (r > 0) {
			*key_r = key;
			return r;
		}
		*at = '@';
		if (r < 0) {
			free(key);
			return r;
		}
	}
	if (at != NULL) {
		char *vd = xasprintf("@%s", at + 1);
		char *value = NULL;

		r = aliases_db_get(c->db, vd, &value);
		if (r > 0 && value[0] == ALIASES_VDOMAIN_MARK) {
			/* prefix-local: a new address, looked up in turn */
			char *local = xstrndup(address,
					       (size_t)(strrchr(address, '@') -
							address));
			*value_r = xasprintf("%c%s-%s", ALIASES_VDOMAIN_MARK,
					     value + 1, local);
			free(local);
			*key_r = vd;
			free(value);
			free(key);
			return 1;
		}
		free(value);
		free(vd);
	}
	free(key);
	return r < 0 ? -1 : 0;
}

static bool add_rcpt(struct expand_ctx *c, const char *address)
{
	if (list_has(c->x->rcpts, c->x->count, address))
		return true;
	if (c->x->count >= ALIASES_MAX_EXPANSION) {
		c->error = reply("552 5.3.4 Alias expands to more than %d "
				 "recipients", ALIASES_MAX_EXPANSION);
		return false;
	}
	c->x->rcpts = xreallocarray(c->x->rcpts, c->x->count + 1,
				    sizeof(*c->x->rcpts));
	c->x->rcpts[c->x->count++] = xstrdup(address);
	return true;
}

/* Expands address into c->x.  Returns 1 when it was an alias, 0 when it
 * was added as it is, -1 on error. */
static int expand(struct expand_ctx *c, const char *address)
{
	char *value = NULL, *key = NULL;
	int r;

	for (unsigned int i = 0; i < c->depth; i++) {
		if (strcasecmp(c->stack[i], address) == 0) {
			/* an alias that lists itself gets the mail */
			return add_rcpt(c, address) ? 0 : -1;
		}
	}
	r = lookup_value(c, address, &value, &key);
	if (r < 0) {
		c->error = reply("451 4.3.0 Cannot read the aliases "
				 "database");
		return -1;
	}
	if (r == 0)
		return add_rcpt(c, address) ? 0 : -1;
	if (c->depth >= ALIASES_MAX_DEPTH) {
		c->error = reply("554 5.4.6 Aliases nested too deep at <%s>",
				 address);
		free(value);
		free(key);
		return -1;
	}
	c->stack[c->depth++] = xstrdup(address);
	{
		const char *p = value;
		bool vdomain = *value == ALIASES_VDOMAIN_MARK;

		if (vdomain)
			p++;
		while (*p != '\0' && r >= 0) {
			const char *nl = strchr(p, '\n');
			char *item = nl != NULL ? xstrndup(p, (size_t)(nl - p))
				: xstrdup(p);

			p = nl != NULL ? nl + 1 : p + strlen(p);
			if (*item == '\0') {
				free(item);
				continue;
			}
			if (strcmp(item, ALIASES_SELF_MARK) == 0 && !vdomain) {
				if (!add_rcpt(c, address))
					r = -1;
			} else {
				const char *error = NULL;
				char *q = c->qualify(item, &error);

				if (q == NULL) {
					c->error = reply("554 5.1.3 Bad "
						"address in alias %s: %s",
						key, item);
					r = -1;
				} else if (expand(c, q) < 0) {
					r = -1;
				}
				free(q);
			}
			free(item);
		}
	}
	free(c->stack[--c->depth]);
	free(value);
	free(key);
	return r < 0 ? -1 : 1;
}

int aliases_expand(struct aliases_db *db, const char *address,
		   aliases_qualify_fn *qualify, aliases_is_local_fn *is_local,
		   struct aliases_expansion *x, const char **error_r)
{
	struct expand_ctx c;
	size_t before = x->count;
	int r;

	memset(&c, 0, sizeof(c));
	c.db = db;
	c.qualify = qualify;
	c.is_local = is_local;
	c.x = x;
	r = expand(&c, address);
	if (r < 0) {
		while (x->count > before)
			free(x->rcpts[--x->count]);
		*error_r = c.error;
		return -1;
	}
	if (r == 0) {
		/* not an alias: take back what expand() added */
		if (x->count > before)
			free(x->rcpts[--x->count]);
		return 0;
	}
	return 1;
}

static bool has_self_mark(struct aliases_db *db, const char *key)
{
	char *value = NULL;
	bool self = false;

	if (aliases_db_get(db, key, &value) > 0) {
		char **lines = str_split(value, "\n");

		for (size_t j = 0; lines[j] != NULL; j++) {
			if (strcmp(lines[j], ALIASES_SELF_MARK) == 0)
				self = true;
		}
		str_split_free(&lines);
	}
	free(value);
	return self;
}

char *aliases_self_key(struct aliases_db *db, const char *address,
		       aliases_is_local_fn *is_local)
{
	char *key = str_lcase(xstrdup(address));
	char *at = strrchr(key, '@');

	if (has_self_mark(db, key))
		return key;
	if (at != NULL && is_local != NULL && is_local(at + 1)) {
		*at = '\0';
		if (has_self_mark(db, key))
			return key;
	}
	free(key);
	return NULL;
}

/* ---- the instance's database ---- */

static struct {
	struct aliases_db *db;
	struct route_config *route;
	char *defaultdomain;
	bool logged;
} dflt;

void aliases_default_reset(void)
{
	aliases_db_close(&dflt.db);
	route_config_free(&dflt.route);
	free(dflt.defaultdomain);
	dflt.defaultdomain = NULL;
	dflt.logged = false;
}

struct aliases_db *aliases_default_db(void)
{
	char *path = config_path("aliases.dat");
	const char *error;
	struct stat st;

	if (dflt.db != NULL) {
		if (stat(path, &st) == 0 && st.st_ino == dflt.db->ino &&
		    st.st_dev == dflt.db->dev &&
		    st.st_mtim.tv_sec == dflt.db->mtime.tv_sec &&
		    st.st_mtim.tv_nsec == dflt.db->mtime.tv_nsec) {
			free(path);
			return dflt.db;
		}
		aliases_db_close(&dflt.db);
	}
	if (aliases_db_open(path, &dflt.db, &error) < 0 && !dflt.logged) {
		log_error("%s", error);
		dflt.logged = true;
	}
	free(path);
	return dflt.db;
}

static bool default_is_local(const char *domain)
{
	char *key = NULL, *addr;
	bool local;

	if (dflt.route == NULL) {
		dflt.route = route_config_load();
		dflt.defaultdomain = config_read_first_line("defaultdomain",
							    NULL);
		if (dflt.defaultdomain == NULL)
			dflt.defaultdomain = config_me(NULL);
		str_lcase(dflt.defaultdomain);
	}
	if (strcmp(domain, dflt.defaultdomain) == 0)
		return true;
	addr = xasprintf("x@%s", domain);
	local = route_address(dflt.route, addr, &key) == ROUTE_LOCAL;
	free(key);
	free(addr);
	return local;
}

static char *lower_qualify(const char *address, const char **error_r)
{
	(void)error_r;
	return str_lcase(xstrdup(address));
}

int aliases_exists(const char *address)
{
	struct aliases_db *db = aliases_default_db();
	struct aliases_expansion x = { NULL, 0 };
	struct expand_ctx c;
	char *value = NULL, *key = NULL;
	int r;

	if (db == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.qualify = lower_qualify;
	c.is_local = default_is_local;
	c.x = &x;
	r = lookup_value(&c, address, &value, &key);
	free(value);
	free(key);
	return r;
}

bool aliases_is_local_domain(const char *domain)
{
	return default_is_local(domain);
}
