/* esmtp-access.c: smtpaccess: the text parser, the in-memory table, the
 * LMDB file makesmtpaccess writes and esmtpd reads (see esmtp-access.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-file.h"
#include "esmtp-access.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* Size of the LMDB map: far more than 100000 lines need. */
#define ACCESS_DB_MAPSIZE ((size_t)256 * 1024 * 1024)

struct access_entry {
	int family;		/* 4, 6, or 0 for "*" */
	unsigned char addr[16];	/* masked to prefix_bits */
	unsigned int prefix_bits;
	bool deny;
	char *vars;		/* "NAME=value\n"..., "" when none */
	char *origin;		/* "file:line" */
};

struct esmtp_access {
	struct access_entry *e;
	size_t count, alloc;
	unsigned int bad;
	esmtp_access_error_t *error_cb;
	void *error_context;

	/* the compiled file, when in use */
	char *dat_path;
	MDB_env *env;
	MDB_dbi dbi;
	dev_t dev;
	ino_t ino;
};

struct esmtp_access *esmtp_access_new(void)
{
	return xcalloc(1, sizeof(struct esmtp_access));
}

void esmtp_access_set_error_callback(struct esmtp_access *acc,
				     esmtp_access_error_t *cb, void *context)
{
	acc->error_cb = cb;
	acc->error_context = context;
}

static void db_close(struct esmtp_access *acc)
{
	if (acc->env != NULL)
		mdb_env_close(acc->env);
	acc->env = NULL;
}

void esmtp_access_free(struct esmtp_access **acc)
{
	if (*acc == NULL)
		return;
	for (size_t i = 0; i < (*acc)->count; i++) {
		free((*acc)->e[i].vars);
		free((*acc)->e[i].origin);
	}
	free((*acc)->e);
	db_close(*acc);
	free((*acc)->dat_path);
	free(*acc);
	*acc = NULL;
}

unsigned int esmtp_access_bad_lines(const struct esmtp_access *acc)
{
	return acc->bad;
}

static void mask_addr(unsigned char *addr, unsigned int len,
		      unsigned int bits)
{
	for (unsigned int i = 0; i < len; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		addr[i] &= (unsigned char)(0xff << (8 - bits));
		bits = 0;
	}
}

/* Parses the address part of a line into family, bytes and prefix. */
static bool parse_access_ip(char *ip, struct access_entry *e)
{
	char *slash = strchr(ip, '/');
	long bits = -1;

	if (slash != NULL) {
		char *endp;

		*slash = '\0';
		if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
			return false;
		bits = strtol(slash + 1, &endp, 10);
		if (*endp != '\0')
			return false;
	}
	if (strchr(ip, ':') != NULL) {
		char buf[INET6_ADDRSTRLEN + 4];
		size_t n = strlen(ip);

		e->family = 6;
		if (n >= INET6_ADDRSTRLEN)
			return false;
		if (bits < 0 && n > 0 && ip[n - 1] == ':' &&
		    (n < 2 || ip[n - 2] != ':')) {
			/* colon prefix "2001:db8:": count its groups */
			unsigned int groups = 0;

			for (size_t i = 0; i < n; i++)
				groups += ip[i] == ':';
			memcpy(buf, ip, n);
			memcpy(buf + n, ":", 2);
			bits = (long)groups * 16;
			if (inet_pton(AF_INET6, buf, e->addr) != 1)
				return false;
		} else if (inet_pton(AF_INET6, ip, e->addr) != 1) {
			return false;
		}
		if (bits > 128)
			return false;
		e->prefix_bits = bits < 0 ? 128 : (unsigned int)bits;
		mask_addr(e->addr, 16, e->prefix_bits);
		return true;
	}
	/* IPv4: full address, or octets prefix "10", "10.", "192.168.1" */
	unsigned int octets = 0;
	char *p = ip;

	e->family = 4;
	if (*p == '\0')
		return false;
	while (*p != '\0' && octets < 4) {
		long v = 0;
		unsigned int digits = 0;

		while (isdigit((unsigned char)*p) && digits < 4) {
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return false;
		e->addr[octets++] = (unsigned char)v;
		if (*p == '.')
			p++;
		else if (*p != '\0')
			return false;
	}
	if (*p != '\0')
		return false;
	if (bits > 32 || (bits >= 0 && octets != 4))
		return false;
	e->prefix_bits = bits >= 0 ? (unsigned int)bits : octets * 8;
	mask_addr(e->addr, 4, e->prefix_bits);
	return true;
}

static bool var_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > 64 || isdigit((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return false;
	}
	return true;
}

/* Parses ",VAR[=value]..." after allow into "VAR=value\n" lines.
 * Returns NULL (with *why_r) when malformed. */
static char *parse_vars(const char *p, const char **why_r)
{
	struct str out;

	str_init(&out, 64);
	while (*p == ',') {
		const char *name;
		size_t nlen;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		name = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		nlen = (size_t)(p - name);
		if (!var_name_valid(name, nlen)) {
			*why_r = "bad variable name";
			goto fail;
		}
		str_append_n(&out, name, nlen);
		str_append_c(&out, '=');
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '=') {
			p++;
			if (*p == '"') {
				const char *end = strchr(p + 1, '"');

				if (end == NULL) {
					*why_r = "unterminated quoted value";
					goto fail;
				}
				str_append_n(&out, p + 1,
					     (size_t)(end - (p + 1)));
				p = end + 1;
			} else {
				const char *v = p;

				while (*p != ',' && *p != '\0')
					p++;
				/* trailing blanks are not part of it */
				const char *e = p;
				while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
					e--;
				str_append_n(&out, v, (size_t)(e - v));
			}
			while (*p == ' ' || *p == '\t')
				p++;
		}
		str_append_c(&out, '\n');
		if (out.len > ESMTP_ACCESS_MAX_VARS) {
			*why_r = "variables too long";
			goto fail;
		}
	}
	if (*p != '\0') {
		*why_r = "expected ',' between variables";
		goto fail;
	}
	return str_steal(&out);
fail:
	str_free(&out);
	return NULL;
}

static void bad_line(struct esmtp_access *acc, const char *file,
		     unsigned int lineno, const char *why)
{
	acc->bad++;
	if (acc->error_cb != NULL)
		acc->error_cb(file, lineno, why, acc->error_context);
	else
		log_warning("%s:%u: smtpaccess: %s; line ignored", file,
			    lineno, why);
}

static void access_line(struct esmtp_access *acc, const char *file,
			unsigned int lineno, char *line)
{
	struct access_entry e;
	const char *why = "malformed line";
	char *val;

	memset(&e, 0, sizeof(e));
	line = str_trim(line);
	if (*line == '\0' || *line == '#')
		return;
	val = line + strcspn(line, " \t");
	if (*val != '\0')
		*val++ = '\0';
	val = str_trim(val);
	if (*line == '*' && line[1] == '\0') {
		e.family = 0;	/* everyone */
	} else if (!parse_access_ip(line, &e)) {
		why = "not an IP address, prefix or CIDR block";
		goto bad;
	}
	if (strncasecmp(val, "deny", 4) == 0 &&
	    (val[4] == '\0' || val[4] == ',')) {
		/* Courier ignores anything after deny */
		e.deny = true;
		e.vars = xstrdup("");
	} else if (strncasecmp(val, "allow", 5) == 0 &&
		   (val[5] == '\0' || val[5] == ',')) {
		e.vars = parse_vars(val + 5, &why);
		if (e.vars == NULL)
			goto bad;
	} else {
		why = "expected allow or deny";
		goto bad;
	}
	if (acc->count == ESMTP_ACCESS_MAX_LINES) {
		free(e.vars);
		why = "too many lines";
		goto bad;
	}
	if (acc->count == acc->alloc) {
		acc->alloc = acc->alloc == 0 ? 16 : acc->alloc * 2;
		acc->e = xreallocarray(acc->e, acc->alloc, sizeof(*acc->e));
	}
	e.origin = xasprintf("%s:%u", file, lineno);
	acc->e[acc->count++] = e;
	return;
bad:
	bad_line(acc, file, lineno, why);
}

void esmtp_text_lines(const char *file, const char *data, size_t size,
		      esmtp_text_line_t *line_cb, esmtp_text_bad_t *bad_cb,
		      void *context)
{
	unsigned int lineno = 0;
	size_t pos = 0;

	while (pos < size) {
		const char *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - (data + pos)) :
					  size - pos;

		lineno++;
		if (memchr(data + pos, '\0', len) != NULL) {
			bad_cb(context, file, lineno, "NUL byte");
		} else if (len > ESMTP_TEXT_LINE_MAX) {
			bad_cb(context, file, lineno, "line too long");
		} else {
			char *line = xstrndup(data + pos, len);

			line_cb(context, file, lineno, line);
			free(line);
		}
		pos += len + 1;
	}
}

static void access_line_cb(void *context, const char *file,
			   unsigned int lineno, char *line)
{
	access_line(context, file, lineno, line);
}

static void access_bad_cb(void *context, const char *file,
			  unsigned int lineno, const char *why)
{
	bad_line(context, file, lineno, why);
}

void esmtp_access_parse(struct esmtp_access *acc, const char *file,
			const char *data, size_t size)
{
	esmtp_text_lines(file, data, size, access_line_cb, access_bad_cb, acc);
}

static void access_file_cb(const char *path, const char *data, size_t size,
			   void *context)
{
	esmtp_access_parse(context, path, data, size);
}

int esmtp_access_read_text(struct esmtp_access *acc, const char *name)
{
	return config_read_files(name, NULL, access_file_cb, acc, NULL);
}

/* ------------------------------------------------------------ the .dat */

/* Key: family, prefix bits, the masked address bytes. */
static size_t make_key(unsigned char *key, int family,
		       const unsigned char *addr, unsigned int bits)
{
	unsigned int len = family == 4 ? 4 : family == 6 ? 16 : 0;

	key[0] = (unsigned char)family;
	key[1] = (unsigned char)bits;
	memcpy(key + 2, addr, len);
	mask_addr(key + 2, len, bits);
	return 2 + len;
}

int esmtp_access_write_db(struct esmtp_access *acc, const char *dat_path,
			  const char **error_r)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	char *tmp = xasprintf("%s.tmp%ld", dat_path, (long)getpid());
	int rc;
	bool dup = false;

	(void)unlink(tmp);
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, ACCESS_DB_MAPSIZE)) != 0 ||
	    (rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK, 0644)) !=
		    0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
		goto fail;
	for (size_t i = 0; i < acc->count; i++) {
		const struct access_entry *e = &acc->e[i];
		unsigned char key[18];
		size_t vlen = strlen(e->vars);
		char *value = xmalloc(vlen + 1);
		MDB_val k, v;

		value[0] = e->deny ? 'D' : 'A';
		memcpy(value + 1, e->vars, vlen);
		k.mv_size = make_key(key, e->family, e->addr, e->prefix_bits);
		k.mv_data = key;
		v.mv_size = vlen + 1;
		v.mv_data = value;
		rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
		free(value);
		if (rc == MDB_KEYEXIST) {
			/* find the first line with this key to name it */
			for (size_t j = 0; j < i; j++) {
				if (acc->e[j].family == e->family &&
				    acc->e[j].prefix_bits == e->prefix_bits &&
				    memcmp(acc->e[j].addr, e->addr, 16) == 0) {
					char *msg = xasprintf(
						"the same address as %s",
						acc->e[j].origin);
					const char *colon =
						strrchr(e->origin, ':');
					char *file = xstrndup(
						e->origin,
						(size_t)(colon - e->origin));

					bad_line(acc, file,
						 (unsigned int)atoi(colon + 1),
						 msg);
					free(file);
					free(msg);
					break;
				}
			}
			dup = true;
			continue;
		}
		if (rc != 0)
			goto fail;
	}
	if (dup) {
		mdb_txn_abort(txn);
		mdb_env_close(env);
		(void)unlink(tmp);
		free(tmp);
		*error_r = "duplicate entries";
		return -1;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc == 0)
		rc = mdb_env_sync(env, 1);
	if (rc != 0)
		goto fail;
	mdb_env_close(env);
	env = NULL;
	(void)chmod(tmp, 0644);
	if (rename(tmp, dat_path) < 0) {
		*error_r = strerror(errno);
		(void)unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
fail:
	*error_r = mdb_strerror(rc);
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	(void)unlink(tmp);
	free(tmp);
	return -1;
}

/* Opens (or reopens after a rename) the .dat; false when it is gone. */
static bool db_refresh(struct esmtp_access *acc)
{
	struct stat st;
	int rc;

	if (stat(acc->dat_path, &st) < 0) {
		db_close(acc);
		return false;
	}
	if (acc->env != NULL && st.st_dev == acc->dev && st.st_ino == acc->ino)
		return true;
	db_close(acc);
	if ((rc = mdb_env_create(&acc->env)) == 0 &&
	    (rc = mdb_env_set_mapsize(acc->env, ACCESS_DB_MAPSIZE)) == 0 &&
	    (rc = mdb_env_open(acc->env, acc->dat_path,
			       MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0)) ==
		    0) {
		MDB_txn *txn;

		rc = mdb_txn_begin(acc->env, NULL, MDB_RDONLY, &txn);
		if (rc == 0) {
			rc = mdb_dbi_open(txn, NULL, 0, &acc->dbi);
			mdb_txn_abort(txn);
		}
	}
	if (rc != 0) {
		log_error("esmtpd: %s: %s", acc->dat_path, mdb_strerror(rc));
		db_close(acc);
		return false;
	}
	acc->dev = st.st_dev;
	acc->ino = st.st_ino;
	return true;
}

struct esmtp_access *esmtp_access_load(const char *name)
{
	struct esmtp_access *acc = esmtp_access_new();
	char *path = config_path(name);
	struct stat st;

	acc->dat_path = xasprintf("%s.dat", path);
	if (stat(acc->dat_path, &st) == 0) {
		if (db_refresh(acc)) {
			free(path);
			return acc;
		}
	}
	free(acc->dat_path);
	acc->dat_path = NULL;
	switch (esmtp_access_read_text(acc, name)) {
	case 1:
		log_warning("esmtpd: %s has no compiled %s.dat: reading the "
			    "text (run makesmtpaccess)", path, name);
		break;
	case 0:
		break;
	default:
		log_error("esmtpd: %s cannot be read", path);
		break;
	}
	free(path);
	return acc;
}

/* ------------------------------------------------------------ lookups */

static bool prefix_match(const unsigned char *a, const unsigned char *b,
			 unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static int parse_client_ip(const char *ip, unsigned char *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0,
						  0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, ip, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return 0;
	/* a v4-mapped address is matched as IPv4 */
	if (memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		return 4;
	}
	return 6;
}

static enum esmtp_access_result db_lookup(struct esmtp_access *acc,
					  int family,
					  const unsigned char *addr,
					  char **vars_r)
{
	MDB_txn *txn;
	enum esmtp_access_result res = ESMTP_ACCESS_NONE;
	int maxbits = family == 4 ? 32 : 128;

	if (mdb_txn_begin(acc->env, NULL, MDB_RDONLY, &txn) != 0)
		return ESMTP_ACCESS_NONE;
	for (int bits = maxbits; bits >= -1; bits--) {
		unsigned char key[18];
		MDB_val k, v;

		/* bits -1: the "*" line */
		k.mv_size = bits >= 0 ?
			make_key(key, family, addr, (unsigned int)bits) :
			make_key(key, 0, addr, 0);
		k.mv_data = key;
		if (mdb_get(txn, acc->dbi, &k, &v) != 0 || v.mv_size == 0)
			continue;
		const char *d = v.mv_data;

		if (d[0] == 'D') {
			res = ESMTP_ACCESS_DENY;
		} else {
			res = ESMTP_ACCESS_ALLOW;
			if (vars_r != NULL)
				*vars_r = xstrndup(d + 1, v.mv_size - 1);
		}
		break;
	}
	mdb_txn_abort(txn);
	return res;
}

enum esmtp_access_result esmtp_access_lookup(struct esmtp_access *acc,
					     const char *ip, char **vars_r)
{
	unsigned char addr[16];
	int family;
	const struct access_entry *best = NULL;
	int best_bits = -1;

	if (vars_r != NULL)
		*vars_r = NULL;
	memset(addr, 0, sizeof(addr));
	family = parse_client_ip(ip, addr);
	if (family == 0)
		return ESMTP_ACCESS_NONE;
	if (acc->dat_path != NULL && db_refresh(acc))
		return db_lookup(acc, family, addr, vars_r);
	for (size_t i = 0; i < acc->count; i++) {
		const struct access_entry *e = &acc->e[i];
		int bits = (int)e->prefix_bits;

		if (e->family != 0 &&
		    (e->family != family ||
		     !prefix_match(addr, e->addr, e->prefix_bits)))
			continue;
		if (e->family == 0)
			bits = -1;
		if (bits > best_bits || best == NULL) {
			best = e;
			best_bits = bits;
		}
	}
	if (best == NULL)
		return ESMTP_ACCESS_NONE;
	if (best->deny)
		return ESMTP_ACCESS_DENY;
	if (vars_r != NULL)
		*vars_r = xstrdup(best->vars);
	return ESMTP_ACCESS_ALLOW;
}

enum esmtp_access_result esmtp_access_check(struct esmtp_access *acc,
					    const char *ip, bool *relay_r)
{
	char *vars = NULL, *relay;
	enum esmtp_access_result res = esmtp_access_lookup(acc, ip, &vars);

	relay = vars != NULL ? esmtp_access_var(vars, "RELAYCLIENT") : NULL;
	*relay_r = relay != NULL;
	free(relay);
	free(vars);
	return res;
}

char *esmtp_access_var(const char *vars, const char *name)
{
	size_t nlen = strlen(name);

	if (vars == NULL)
		return NULL;
	while (*vars != '\0') {
		const char *nl = strchr(vars, '\n');
		size_t len = nl != NULL ? (size_t)(nl - vars) : strlen(vars);

		if (len > nlen && strncmp(vars, name, nlen) == 0 &&
		    vars[nlen] == '=')
			return xstrndup(vars + nlen + 1, len - nlen - 1);
		vars += len;
		if (*vars == '\n')
			vars++;
	}
	return NULL;
}

/* ------------------------------------------------------------ MAXPERC */

/* A block: the family and the leading bytes of the address. */
struct cblock {
	unsigned char key[7];	/* family (4 or 6), then 3 or 6 bytes */
	unsigned int count;
};

struct esmtp_cblocks {
	struct cblock *b;
	size_t count, alloc;
};

bool esmtp_access_cblock(const char *ip, unsigned char key_r[7])
{
	unsigned char a[16];

	memset(key_r, 0, 7);
	if (inet_pton(AF_INET, ip, a) == 1) {
		key_r[0] = 4;
		memcpy(key_r + 1, a, 3);
		return true;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false;
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		key_r[0] = 4;	/* IPv4-mapped: the IPv4 block */
		memcpy(key_r + 1, a + 12, 3);
		return true;
	}
	key_r[0] = 6;
	memcpy(key_r + 1, a, 6);
	return true;
}

struct esmtp_cblocks *esmtp_cblocks_new(void)
{
	return xcalloc(1, sizeof(struct esmtp_cblocks));
}

void esmtp_cblocks_free(struct esmtp_cblocks **cb)
{
	if (*cb == NULL)
		return;
	free((*cb)->b);
	free(*cb);
	*cb = NULL;
}

static struct cblock *cblock_find(struct esmtp_cblocks *cb,
				  const unsigned char key[7])
{
	for (size_t i = 0; i < cb->count; i++)
		if (memcmp(cb->b[i].key, key, 7) == 0)
			return &cb->b[i];
	return NULL;
}

bool esmtp_cblocks_enter(struct esmtp_cblocks *cb, const char *ip,
			 unsigned int max)
{
	unsigned char key[7];
	struct cblock *b;

	if (!esmtp_access_cblock(ip, key))
		return true;	/* not an address: nothing to count */
	b = cblock_find(cb, key);
	if (b == NULL) {
		if (cb->count == cb->alloc) {
			cb->alloc = cb->alloc == 0 ? 16 : cb->alloc * 2;
			cb->b = xreallocarray(cb->b, cb->alloc,
					      sizeof(*cb->b));
		}
		b = &cb->b[cb->count++];
		memcpy(b->key, key, 7);
		b->count = 0;
	}
	if (max > 0 && b->count >= max)
		return false;
	b->count++;
	return true;
}

void esmtp_cblocks_leave(struct esmtp_cblocks *cb, const char *ip)
{
	unsigned char key[7];
	struct cblock *b;

	if (!esmtp_access_cblock(ip, key) || (b = cblock_find(cb, key)) == NULL)
		return;
	if (b->count > 0)
		b->count--;
	if (b->count == 0)
		*b = cb->b[--cb->count];
}

unsigned int esmtp_cblocks_count(struct esmtp_cblocks *cb, const char *ip)
{
	unsigned char key[7];
	struct cblock *b;

	if (!esmtp_access_cblock(ip, key) || (b = cblock_find(cb, key)) == NULL)
		return 0;
	return b->count;
}
