/* mod-ldap.c: the authldap module: accounts in an LDAP directory mapped as
 * Courier's authldaprc maps them (OpenLDAP client library); the password
 * is checked by binding as the account (LDAP_AUTHBIND) or by comparing
 * the stored hash (LDAP_CRYPTPW / LDAP_CLEARPW) with passwd.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define LDAP_DEPRECATED 0
#include <ldap.h>

#include "log.h"
#include "mem.h"
#include "mod-ldap.h"
#include "mod-sql.h"
#include "passwd.h"
#include "secure.h"
#include "auth-module.h"

/* ------------------------------------------------------------ filters */

void mod_ldap_escape_filter(const char *value, size_t len, struct str *dest)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 ||
		    c == 0x7f) {
			str_append_c(dest, '\\');
			str_append_c(dest, hex[c >> 4]);
			str_append_c(dest, hex[c & 15]);
		} else {
			str_append_c(dest, (char)c);
		}
	}
}

void mod_ldap_lookup_filter(const char *attr, const char *login,
			    const char *filter, struct str *dest)
{
	bool and = filter != NULL && filter[0] != '\0';

	if (and) {
		str_append(dest, "(&");
		if (filter[0] != '(')
			str_printfa(dest, "(%s)", filter);
		else
			str_append(dest, filter);
	}
	str_printfa(dest, "(%s=", attr);
	mod_ldap_escape_filter(login, strlen(login), dest);
	str_append_c(dest, ')');
	if (and)
		str_append_c(dest, ')');
}

void mod_ldap_emailmap_filter(const char *emailmap, const char *login,
			      struct str *dest)
{
	const char *at = strrchr(login, '@');
	size_t user_len = at != NULL ? (size_t)(at - login) : strlen(login);
	const char *realm = at != NULL ? at + 1 : "";
	const char *p = emailmap;

	while (*p != '\0') {
		if (strncmp(p, "@user@", 6) == 0) {
			mod_ldap_escape_filter(login, user_len, dest);
			p += 6;
		} else if (strncmp(p, "@realm@", 7) == 0) {
			mod_ldap_escape_filter(realm, strlen(realm), dest);
			p += 7;
		} else {
			str_append_c(dest, *p++);
		}
	}
}

/* ------------------------------------------------------------ settings */

static const char *const deref_names[] = { "never", "searching", "finding",
					   "always", NULL };
static const int deref_values[] = { LDAP_DEREF_NEVER, LDAP_DEREF_SEARCHING,
				    LDAP_DEREF_FINDING, LDAP_DEREF_ALWAYS };

struct ldap_settings {
	char *uri;
	char *server;  /* older Courier: LDAP_SERVER + LDAP_PORT */
	long long port;
	long long protocol_version;
	char *basedn;
	char *binddn;
	char *bindpw;
	long long timeout;
	bool authbind;
	char *mail;
	char *filter;
	char *enumerate_filter;
	char *domain;
	char *glob_uid;
	char *glob_gid;
	char *homedir;
	char *mailroot;
	char *maildir;
	char *defaultdelivery;
	char *quota;
	char *fullname;
	char *clearpw;
	char *cryptpw;
	char *uid;
	char *gid;
	char *auxoptions;
	unsigned int deref;
	bool tls;
	char *emailmap;
	char *emailmap_basedn;
	char *emailmap_attribute;
	char *emailmap_mail;
};

#define S(field, name, def) \
	CONFIG_SETTING_STRING(struct ldap_settings, field, name, def)
static const struct config_setting_def ldap_defs[] = {
	S(uri, "LDAP_URI", NULL),
	S(server, "LDAP_SERVER", NULL),
	CONFIG_SETTING_INT(struct ldap_settings, port, "LDAP_PORT", "389", 1,
			   65535),
	CONFIG_SETTING_INT(struct ldap_settings, protocol_version,
			   "LDAP_PROTOCOL_VERSION", "3", 2, 3),
	S(basedn, "LDAP_BASEDN", NULL),
	S(binddn, "LDAP_BINDDN", NULL),
	S(bindpw, "LDAP_BINDPW", NULL),
	CONFIG_SETTING_INT(struct ldap_settings, timeout, "LDAP_TIMEOUT", "5",
			   1, 3600),
	CONFIG_SETTING_BOOL(struct ldap_settings, authbind, "LDAP_AUTHBIND",
			    "0"),
	S(mail, "LDAP_MAIL", "mail"),
	S(filter, "LDAP_FILTER", NULL),
	S(enumerate_filter, "LDAP_ENUMERATE_FILTER", NULL),
	S(domain, "LDAP_DOMAIN", NULL),
	S(glob_uid, "LDAP_GLOB_UID", NULL),
	S(glob_gid, "LDAP_GLOB_GID", NULL),
	S(homedir, "LDAP_HOMEDIR", "homeDirectory"),
	S(mailroot, "LDAP_MAILROOT", NULL),
	S(maildir, "LDAP_MAILDIR", NULL),
	S(defaultdelivery, "LDAP_DEFAULTDELIVERY", NULL),
	S(quota, "LDAP_MAILDIRQUOTA", NULL),
	S(fullname, "LDAP_FULLNAME", NULL),
	S(clearpw, "LDAP_CLEARPW", NULL),
	S(cryptpw, "LDAP_CRYPTPW", NULL),
	S(uid, "LDAP_UID", NULL),
	S(gid, "LDAP_GID", NULL),
	S(auxoptions, "LDAP_AUXOPTIONS", NULL),
	CONFIG_SETTING_ENUM(struct ldap_settings, deref, "LDAP_DEREF", "never",
			    deref_names),
	CONFIG_SETTING_BOOL(struct ldap_settings, tls, "LDAP_TLS", "0"),
	S(emailmap, "LDAP_EMAILMAP", NULL),
	S(emailmap_basedn, "LDAP_EMAILMAP_BASEDN", NULL),
	S(emailmap_attribute, "LDAP_EMAILMAP_ATTRIBUTE", NULL),
	S(emailmap_mail, "LDAP_EMAILMAP_MAIL", NULL),
	CONFIG_SETTING_END
};
#undef S

/* One LDAP_AUXOPTIONS pair: attribute -> option name. */
struct ldap_auxoption {
	char *attr;
	char *option;
};

struct ldap_module {
	struct auth_module module;
	struct ldap_settings set;
	char *uris; /* LDAP_URI as libldap wants it (blank-separated) */
	struct ldap_auxoption *aux;
	size_t aux_count;
	char **attrs; /* NULL-terminated attributes to fetch */
	bool have_uid;
	uid_t glob_uid;
	bool have_gid;
	gid_t glob_gid;
	LDAP *ld;      /* searches, bound as LDAP_BINDDN */
	LDAP *bind_ld; /* LDAP_AUTHBIND: binds as the accounts */
	int debug;
	char error[512];
};

static bool present(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static void add_attr(struct ldap_module *m, size_t *n, const char *attr)
{
	if (!present(attr))
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcasecmp(m->attrs[i], attr) == 0)
			return;
	m->attrs = xreallocarray(m->attrs, *n + 2, sizeof(m->attrs[0]));
	m->attrs[(*n)++] = xstrdup(attr);
	m->attrs[*n] = NULL;
}

static int parse_id(const char *text, unsigned long *id_r)
{
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > 0xffffffffULL)
		return -1;
	*id_r = (unsigned long)v;
	return 0;
}

static void ldap_mod_deinit(struct auth_module **mod)
{
	struct ldap_module *m = (struct ldap_module *)*mod;

	if (m == NULL)
		return;
	if (m->ld != NULL)
		ldap_unbind_ext_s(m->ld, NULL, NULL);
	if (m->bind_ld != NULL)
		ldap_unbind_ext_s(m->bind_ld, NULL, NULL);
	for (size_t i = 0; i < m->aux_count; i++) {
		free(m->aux[i].attr);
		free(m->aux[i].option);
	}
	free(m->aux);
	if (m->attrs != NULL)
		for (size_t i = 0; m->attrs[i] != NULL; i++)
			free(m->attrs[i]);
	free(m->attrs);
	free(m->uris);
	config_settings_free(ldap_defs, &m->set);
	x_free(*mod);
}

static int ldap_mod_init(const struct auth_module_def *def,
			 const char *config_path,
			 const struct config_env *authdaemonrc,
			 struct auth_module **mod_r, const char **error_r)
{
	static char error[512];
	struct ldap_module *m = xcalloc(1, sizeof(*m));
	struct auth_module *mod = &m->module;
	struct ldap_settings *set = &m->set;

	m->module.def = def;
	config_settings_init(ldap_defs, set);
	const char *dbg = config_env_get(authdaemonrc, "DEBUG_LOGIN");
	m->debug = dbg != NULL && atoi(dbg) > 0;
	if (config_path == NULL) {
		*error_r = "no settings file";
		goto fail;
	}
	if (mod_sql_rc_load(config_path, ldap_defs, set, error, sizeof(error),
			    error_r) < 0)
		goto fail;

	/* Servers: LDAP_URI lists them separated by commas and blanks. */
	struct str uris;
	str_init(&uris, 64);
	if (present(set->uri)) {
		char **v = str_split(set->uri, ", \t");
		for (size_t i = 0; v[i] != NULL; i++) {
			if (v[i][0] == '\0')
				continue;
			str_printfa(&uris, "%s%s", str_len(&uris) ? " " : "",
				    v[i]);
		}
		str_split_free(&v);
	} else if (present(set->server)) {
		char **v = str_split(set->server, ", \t");
		for (size_t i = 0; v[i] != NULL; i++) {
			if (v[i][0] == '\0')
				continue;
			str_printfa(&uris, "%sldap://%s:%lld",
				    str_len(&uris) ? " " : "", v[i],
				    set->port);
		}
		str_split_free(&v);
	}
	m->uris = str_steal(&uris);
	str_free(&uris);
	if (m->uris[0] == '\0') {
		*error_r = "LDAP_URI is not set";
		goto fail;
	}
	if (!present(set->basedn)) {
		*error_r = "LDAP_BASEDN is not set";
		goto fail;
	}
	if (!present(set->homedir)) {
		*error_r = "LDAP_HOMEDIR is empty";
		goto fail;
	}
	if (!set->authbind && !present(set->cryptpw) &&
	    !present(set->clearpw)) {
		*error_r = "LDAP_CRYPTPW or LDAP_CLEARPW is needed unless "
			   "LDAP_AUTHBIND is set";
		goto fail;
	}
	if (present(set->glob_uid)) {
		unsigned long id;
		struct passwd *pw;
		if (parse_id(set->glob_uid, &id) == 0) {
			m->glob_uid = (uid_t)id;
		} else if ((pw = getpwnam(set->glob_uid)) != NULL) {
			m->glob_uid = pw->pw_uid;
		} else {
			*error_r = "LDAP_GLOB_UID names no user";
			goto fail;
		}
		m->have_uid = true;
	}
	if (present(set->glob_gid)) {
		unsigned long id;
		struct group *gr;
		if (parse_id(set->glob_gid, &id) == 0) {
			m->glob_gid = (gid_t)id;
		} else if ((gr = getgrnam(set->glob_gid)) != NULL) {
			m->glob_gid = gr->gr_gid;
		} else {
			*error_r = "LDAP_GLOB_GID names no group";
			goto fail;
		}
		m->have_gid = true;
	}
	if (!present(set->uid) && !m->have_uid) {
		*error_r = "neither LDAP_UID nor LDAP_GLOB_UID is set";
		goto fail;
	}
	if (!present(set->gid) && !m->have_gid) {
		*error_r = "neither LDAP_GID nor LDAP_GLOB_GID is set";
		goto fail;
	}
	if (present(set->auxoptions)) {
		char **v = str_split(set->auxoptions, ",");
		for (size_t i = 0; v[i] != NULL; i++) {
			char *item = str_trim(v[i]);
			char *eq = strchr(item, '=');
			if (item[0] == '\0')
				continue;
			m->aux = xreallocarray(m->aux, m->aux_count + 1,
					       sizeof(m->aux[0]));
			struct ldap_auxoption *a = &m->aux[m->aux_count++];
			if (eq != NULL) {
				a->attr = xstrndup(item, eq - item);
				a->option = xstrdup(eq + 1);
			} else {
				a->attr = xstrdup(item);
				a->option = xstrdup(item);
			}
		}
		str_split_free(&v);
	}
	size_t n = 0;
	m->attrs = xcalloc(1, sizeof(m->attrs[0]));
	add_attr(m, &n, set->mail);
	add_attr(m, &n, set->homedir);
	add_attr(m, &n, set->maildir);
	add_attr(m, &n, set->quota);
	add_attr(m, &n, set->fullname);
	add_attr(m, &n, set->clearpw);
	add_attr(m, &n, set->cryptpw);
	add_attr(m, &n, set->uid);
	add_attr(m, &n, set->gid);
	for (size_t i = 0; i < m->aux_count; i++)
		add_attr(m, &n, m->aux[i].attr);
	*mod_r = mod;
	return 0;
fail:
	ldap_mod_deinit(&mod);
	return -1;
}

/* ------------------------------------------------------------ server */

/* Does rc mean the server (or our connection to it) failed, as opposed
 * to an answer about the request? */
static bool ldap_server_error(int rc)
{
	switch (rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
	case LDAP_LOCAL_ERROR:
	case LDAP_ENCODING_ERROR:
	case LDAP_DECODING_ERROR:
	case LDAP_NO_MEMORY:
	case LDAP_OTHER:
	case LDAP_ADMINLIMIT_EXCEEDED:
	case LDAP_UNWILLING_TO_PERFORM:
	case LDAP_OPERATIONS_ERROR:
	case LDAP_PROTOCOL_ERROR:
		return true;
	default:
		return false;
	}
}

static void ldap_set_timeout(LDAP *ld, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1000;
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
}

static long ldap_timeout(const struct ldap_module *m,
			 const struct auth_request *req)
{
	long ms = (long)m->set.timeout * 1000;
	if (req != NULL) {
		long left = auth_request_remaining_msecs(req);
		if (left < ms)
			ms = left;
	}
	return ms;
}

static int ldap_fail(struct ldap_module *m, const char *what, int rc,
		     const char **error_r)
{
	snprintf(m->error, sizeof(m->error), "LDAP %s: %s", what,
		 ldap_err2string(rc));
	*error_r = m->error;
	return rc;
}

static int simple_bind(LDAP *ld, const char *dn, const char *pw)
{
	struct berval cred = {
		.bv_val = (char *)(pw != NULL ? pw : ""),
		.bv_len = pw != NULL ? strlen(pw) : 0,
	};
	return ldap_sasl_bind_s(ld, dn != NULL ? dn : "", LDAP_SASL_SIMPLE,
				&cred, NULL, NULL, NULL);
}

/* Opens a connection to the first server that answers (libldap tries the
 * URIs in order), with StartTLS when LDAP_TLS, bound as dn (NULL:
 * anonymous).  Returns LDAP_SUCCESS and *ld_r, or an LDAP error code. */
static int ldap_open(struct ldap_module *m, long ms, const char *dn,
		     const char *pw, LDAP **ld_r, const char **error_r)
{
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, m->uris);

	*ld_r = NULL;
	if (rc != LDAP_SUCCESS)
		return ldap_fail(m, "initialize", rc, error_r);
	int version = (int)m->set.protocol_version;
	int deref = deref_values[m->set.deref];
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_DEREF, &deref);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
	ldap_set_timeout(ld, ms);
	if (m->set.tls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			ldap_unbind_ext_s(ld, NULL, NULL);
			/* A server refusing StartTLS is a setup problem,
			 * never a wrong password. */
			ldap_fail(m, "StartTLS", rc, error_r);
			return rc == LDAP_SUCCESS ? LDAP_OTHER
			       : ldap_server_error(rc) ? rc
						       : LDAP_UNAVAILABLE;
		}
	}
	rc = simple_bind(ld, dn, pw);
	if (rc != LDAP_SUCCESS) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		ldap_fail(m, "bind as LDAP_BINDDN", rc, error_r);
		/* Our own credentials refused: the server cannot serve us. */
		return ldap_server_error(rc) ? rc : LDAP_UNAVAILABLE;
	}
	*ld_r = ld;
	return LDAP_SUCCESS;
}

static void ldap_drop(LDAP **ld)
{
	if (*ld != NULL)
		ldap_unbind_ext_s(*ld, NULL, NULL);
	*ld = NULL;
}

/* The first value of attr in entry (a copy), or NULL when absent, empty
 * or containing NUL. */
static char *entry_value(LDAP *ld, LDAPMessage *entry, const char *attr)
{
	if (!present(attr))
		return NULL;
	struct berval **v = ldap_get_values_len(ld, entry, attr);
	char *ret = NULL;
	if (v != NULL && v[0] != NULL && v[0]->bv_len > 0 &&
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL)
		ret = xstrndup(v[0]->bv_val, v[0]->bv_len);
	if (v != NULL)
		ldap_value_free_len(v);
	return ret;
}

/* Fills rec from entry.  Returns 0, or -1 with *error_r for an entry that
 * is not a usable account (no home, no uid...). */
static int entry_to_record(struct ldap_module *m, LDAP *ld,
			   LDAPMessage *entry, const char *login,
			   bool passwords, struct auth_record *rec,
			   const char **error_r)
{
	const struct ldap_settings *set = &m->set;
	char *home = entry_value(ld, entry, set->homedir);
	unsigned long id;

	if (home != NULL && home[0] != '/' && present(set->mailroot)) {
		char *h = xasprintf("%s/%s", set->mailroot, home);
		free(home);
		home = h;
	}
	if (home == NULL || home[0] != '/') {
		free(home);
		*error_r = "the entry's home is missing or not absolute";
		return -1;
	}
	rec->home = home;
	if (present(set->uid)) {
		char *v = entry_value(ld, entry, set->uid);
		if (v != NULL && parse_id(v, &id) == 0) {
			rec->uid = (uid_t)id;
			rec->has_uid = true;
		}
		free(v);
	}
	if (!rec->has_uid && m->have_uid) {
		rec->uid = m->glob_uid;
		rec->has_uid = true;
	}
	bool have_gid = false;
	if (present(set->gid)) {
		char *v = entry_value(ld, entry, set->gid);
		if (v != NULL && parse_id(v, &id) == 0) {
			rec->gid = (gid_t)id;
			have_gid = true;
		}
		free(v);
	}
	if (!have_gid && m->have_gid) {
		rec->gid = m->glob_gid;
		have_gid = true;
	}
	if (!rec->has_uid || !have_gid) {
		rec->has_uid = false;
		*error_r = "the entry has no valid uid or gid";
		return -1;
	}
	char *mail = entry_value(ld, entry, set->mail);
	rec->address = mail != NULL ? mail : xstrdup(login);
	char *maildir = entry_value(ld, entry, set->maildir);
	if (maildir != NULL && maildir[0] != '/') {
		const char *md = maildir;
		while (md[0] == '.' && md[1] == '/')
			md += 2;
		rec->maildir = xasprintf("%s/%s", home, md);
		free(maildir);
	} else {
		rec->maildir = maildir;
	}
	rec->quota = entry_value(ld, entry, set->quota);
	rec->fullname = entry_value(ld, entry, set->fullname);
	if (passwords) {
		rec->passwd = entry_value(ld, entry, set->cryptpw);
		rec->clearpasswd = entry_value(ld, entry, set->clearpw);
	}
	if (m->aux_count > 0) {
		struct str opts;
		str_init(&opts, 64);
		for (size_t i = 0; i < m->aux_count; i++) {
			char *v = entry_value(ld, entry, m->aux[i].attr);
			if (v == NULL)
				continue;
			str_printfa(&opts, "%s%s=%s", str_len(&opts) ? "," : "",
				    m->aux[i].option, v);
			free(v);
		}
		if (str_len(&opts) > 0)
			rec->options = str_steal(&opts);
		str_free(&opts);
	}
	return 0;
}

/* Searches with the request's time bound; on a server error the search
 * connection is dropped and the search retried once on a new one.
 * Returns LDAP_SUCCESS with *res_r, or an error code (*error_r set for
 * server errors). */
static int ldap_search_retry(struct ldap_module *m,
			     const struct auth_request *req, const char *base,
			     const char *filter, char **attrs, int sizelimit,
			     LDAPMessage **res_r, const char **error_r)
{
	int rc = LDAP_OTHER;

	*res_r = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		long ms = ldap_timeout(m, req);
		if (ms <= 0) {
			*error_r = "no time left for the request";
			return LDAP_TIMEOUT;
		}
		if (m->ld == NULL) {
			rc = ldap_open(m, ms, m->set.binddn, m->set.bindpw,
				       &m->ld, error_r);
			if (rc != LDAP_SUCCESS)
				return rc;
		}
		ldap_set_timeout(m->ld, ms);
		struct timeval tv = { .tv_sec = ms / 1000,
				      .tv_usec = (ms % 1000) * 1000 };
		if (m->debug)
			log_info("authldap: search base %s filter %s", base,
				 filter);
		rc = ldap_search_ext_s(m->ld, base, LDAP_SCOPE_SUBTREE, filter,
				       attrs, 0, NULL, NULL, &tv, sizelimit,
				       res_r);
		if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED)
			return rc;
		if (*res_r != NULL) {
			ldap_msgfree(*res_r);
			*res_r = NULL;
		}
		ldap_fail(m, "search", rc, error_r);
		if (!ldap_server_error(rc))
			return rc;
		ldap_drop(&m->ld);
		if (attempt == 0)
			log_warning("authldap: %s, reconnecting", *error_r);
	}
	return rc;
}

/* LDAP_EMAILMAP: maps login to the handle to look up.  Returns 1 and
 * *handle_r, 0 when unmapped, -1 on a server error. */
static int ldap_emailmap(struct ldap_module *m,
			 const struct auth_request *req, const char *login,
			 char **handle_r, const char **error_r)
{
	const struct ldap_settings *set = &m->set;
	struct str filter;
	LDAPMessage *res = NULL;
	char *attrs[] = { set->emailmap_attribute, NULL };
	int ret = 0;

	*handle_r = NULL;
	str_init(&filter, 128);
	mod_ldap_emailmap_filter(set->emailmap, login, &filter);
	int rc = ldap_search_retry(
		m, req,
		present(set->emailmap_basedn) ? set->emailmap_basedn
					      : set->basedn,
		str_c(&filter), attrs, 2, &res, error_r);
	str_free(&filter);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED)
		return ldap_server_error(rc) ? -1 : 0;
	if (rc == LDAP_SUCCESS && ldap_count_entries(m->ld, res) == 1) {
		LDAPMessage *e = ldap_first_entry(m->ld, res);
		*handle_r = entry_value(m->ld, e, set->emailmap_attribute);
		ret = *handle_r != NULL ? 1 : 0;
	}
	ldap_msgfree(res);
	return ret;
}

/* Looks req->user up: OK with the record and (dn_r not NULL) the entry's
 * DN, NOTFOUND, or TEMPFAIL. */
static enum auth_module_result ldap_find(struct ldap_module *m,
					 const struct auth_request *req,
					 bool passwords,
					 struct auth_record *rec_r,
					 char **dn_r, const char **error_r)
{
	const struct ldap_settings *set = &m->set;
	const char *key_attr = set->mail;
	char *login, *handle = NULL;
	struct str filter;
	LDAPMessage *res = NULL;
	enum auth_module_result result = AUTH_MODULE_NOTFOUND;

	if (dn_r != NULL)
		*dn_r = NULL;
	if (req->user[0] == '\0')
		return AUTH_MODULE_NOTFOUND;
	login = mod_sql_full_login(req->user, set->domain);
	if (present(set->emailmap) && present(set->emailmap_attribute) &&
	    strchr(login, '@') != NULL) {
		int r = ldap_emailmap(m, req, login, &handle, error_r);
		if (r < 0) {
			free(login);
			return AUTH_MODULE_TEMPFAIL;
		}
		if (r > 0 && present(set->emailmap_mail))
			key_attr = set->emailmap_mail;
	}
	str_init(&filter, 128);
	mod_ldap_lookup_filter(key_attr, handle != NULL ? handle : login,
			       set->filter, &filter);
	int rc = ldap_search_retry(m, req, set->basedn, str_c(&filter),
				   m->attrs, 2, &res, error_r);
	str_free(&filter);
	free(handle);
	if (rc == LDAP_SIZELIMIT_EXCEEDED) {
		log_warning("authldap: several entries match one login: "
			    "refused");
	} else if (rc != LDAP_SUCCESS) {
		if (ldap_server_error(rc))
			result = AUTH_MODULE_TEMPFAIL;
		else if (rc != LDAP_NO_SUCH_OBJECT)
			log_warning("authldap: %s", *error_r);
	} else {
		int count = ldap_count_entries(m->ld, res);
		if (count > 1) {
			log_warning("authldap: several entries match one "
				    "login: refused");
		} else if (count == 1) {
			LDAPMessage *e = ldap_first_entry(m->ld, res);
			if (entry_to_record(m, m->ld, e, login, passwords,
					    rec_r, error_r) < 0) {
				auth_record_free(rec_r);
				result = AUTH_MODULE_TEMPFAIL;
			} else {
				result = AUTH_MODULE_OK;
				if (dn_r != NULL) {
					char *dn = ldap_get_dn(m->ld, e);
					*dn_r = dn != NULL ? xstrdup(dn) : NULL;
					ldap_memfree(dn);
					if (*dn_r == NULL) {
						auth_record_free(rec_r);
						*error_r = "entry without DN";
						result = AUTH_MODULE_TEMPFAIL;
					}
				}
			}
		}
	}
	if (res != NULL)
		ldap_msgfree(res);
	free(login);
	return result;
}

static enum auth_module_result ldap_lookup(struct auth_module *mod,
					   const struct auth_request *req,
					   struct auth_record *rec_r,
					   const char **error_r)
{
	struct ldap_module *m = (struct ldap_module *)mod;
	return ldap_find(m, req, !m->set.authbind, rec_r, NULL, error_r);
}

/* Binds as dn with password on the bind connection (one retry on a new
 * connection after a server error).  OK, NOTFOUND (refused) or TEMPFAIL.
 * The connection stays bound as dn. */
static enum auth_module_result ldap_user_bind(struct ldap_module *m,
					      const struct auth_request *req,
					      const char *dn,
					      const char *password,
					      const char **error_r)
{
	/* An empty password would be an unauthenticated bind (RFC 4513
	 * 5.1.2), which servers accept: never let it through. */
	if (password[0] == '\0')
		return AUTH_MODULE_NOTFOUND;
	for (int attempt = 0; attempt < 2; attempt++) {
		long ms = ldap_timeout(m, req);
		if (ms <= 0) {
			*error_r = "no time left for the request";
			return AUTH_MODULE_TEMPFAIL;
		}
		if (m->bind_ld == NULL &&
		    ldap_open(m, ms, NULL, NULL, &m->bind_ld, error_r) !=
			    LDAP_SUCCESS)
			return AUTH_MODULE_TEMPFAIL;
		ldap_set_timeout(m->bind_ld, ms);
		int rc = simple_bind(m->bind_ld, dn, password);
		if (rc == LDAP_SUCCESS)
			return AUTH_MODULE_OK;
		if (!ldap_server_error(rc) || rc == LDAP_UNWILLING_TO_PERFORM) {
			/* Wrong password, no such DN, account locked: a
			 * refusal.  The connection may be half-bound:
			 * start the next one afresh. */
			ldap_drop(&m->bind_ld);
			return AUTH_MODULE_NOTFOUND;
		}
		ldap_fail(m, "bind", rc, error_r);
		ldap_drop(&m->bind_ld);
	}
	return AUTH_MODULE_TEMPFAIL;
}

static enum auth_module_result ldap_authenticate(struct auth_module *mod,
						 const struct auth_request *req,
						 const char *password,
						 struct auth_record *rec_r,
						 const char **error_r)
{
	struct ldap_module *m = (struct ldap_module *)mod;
	char *dn = NULL;

	enum auth_module_result res =
		ldap_find(m, req, !m->set.authbind, rec_r, &dn, error_r);
	if (res != AUTH_MODULE_OK)
		return res;
	if (m->set.authbind) {
		res = ldap_user_bind(m, req, dn, password, error_r);
	} else {
		bool ok = false;
		if (rec_r->passwd != NULL)
			ok = passwd_verify(password, rec_r->passwd) == 1;
		else if (rec_r->clearpasswd != NULL)
			ok = password[0] != '\0' &&
			     secure_streq(password, rec_r->clearpasswd);
		res = ok ? AUTH_MODULE_OK : AUTH_MODULE_NOTFOUND;
	}
	free(dn);
	if (res != AUTH_MODULE_OK)
		auth_record_free(rec_r);
	return res;
}

static enum auth_module_result
ldap_enumerate(struct auth_module *mod, auth_enumerate_callback_t *callback,
	       void *context, const char **error_r)
{
	struct ldap_module *m = (struct ldap_module *)mod;
	const struct ldap_settings *set = &m->set;
	struct str filter;
	enum auth_module_result result = AUTH_MODULE_OK;
	int msgid = -1, rc = LDAP_OTHER;

	str_init(&filter, 128);
	if (present(set->enumerate_filter)) {
		if (set->enumerate_filter[0] != '(')
			str_printfa(&filter, "(%s)", set->enumerate_filter);
		else
			str_append(&filter, set->enumerate_filter);
	} else if (present(set->filter)) {
		str_printfa(&filter, "(&%s%s%s(%s=*))",
			    set->filter[0] == '(' ? "" : "(", set->filter,
			    set->filter[0] == '(' ? "" : ")", set->mail);
	} else {
		str_printfa(&filter, "(%s=*)", set->mail);
	}
	for (int attempt = 0; attempt < 2 && msgid < 0; attempt++) {
		long ms = ldap_timeout(m, NULL);
		if (m->ld == NULL &&
		    (rc = ldap_open(m, ms, set->binddn, set->bindpw, &m->ld,
				    error_r)) != LDAP_SUCCESS)
			break;
		rc = ldap_search_ext(m->ld, set->basedn, LDAP_SCOPE_SUBTREE,
				     str_c(&filter), m->attrs, 0, NULL, NULL,
				     NULL, 0, &msgid);
		if (rc != LDAP_SUCCESS) {
			ldap_fail(m, "search", rc, error_r);
			ldap_drop(&m->ld);
			msgid = -1;
		}
	}
	str_free(&filter);
	if (msgid < 0)
		return AUTH_MODULE_TEMPFAIL;

	/* Entries are handled as they arrive: memory stays flat. */
	for (;;) {
		struct timeval tv = { .tv_sec = (long)set->timeout };
		LDAPMessage *msg = NULL;
		int type = ldap_result(m->ld, msgid, LDAP_MSG_ONE, &tv, &msg);
		if (type <= 0) {
			if (msg != NULL)
				ldap_msgfree(msg);
			ldap_fail(m, "enumerate",
				  type == 0 ? LDAP_TIMEOUT : LDAP_SERVER_DOWN,
				  error_r);
			ldap_drop(&m->ld);
			return AUTH_MODULE_TEMPFAIL;
		}
		if (type == LDAP_RES_SEARCH_RESULT) {
			int err = LDAP_OTHER;
			ldap_parse_result(m->ld, msg, &err, NULL, NULL, NULL,
					  NULL, 1);
			if (err != LDAP_SUCCESS &&
			    err != LDAP_SIZELIMIT_EXCEEDED) {
				ldap_fail(m, "enumerate", err, error_r);
				result = AUTH_MODULE_TEMPFAIL;
			}
			break;
		}
		if (type == LDAP_RES_SEARCH_ENTRY) {
			LDAPMessage *e = ldap_first_entry(m->ld, msg);
			struct auth_record rec;
			const char *err;
			auth_record_init(&rec);
			char *mail = e != NULL ? entry_value(m->ld, e,
							     set->mail)
					       : NULL;
			if (mail != NULL &&
			    entry_to_record(m, m->ld, e, mail, false, &rec,
					    &err) == 0 &&
			    callback(&rec, context) < 0) {
				auth_record_free(&rec);
				free(mail);
				ldap_msgfree(msg);
				ldap_abandon_ext(m->ld, msgid, NULL, NULL);
				*error_r = "enumeration stopped by the client";
				return AUTH_MODULE_TEMPFAIL;
			}
			auth_record_free(&rec);
			free(mail);
		}
		ldap_msgfree(msg);
	}
	return result;
}

static enum auth_module_result
ldap_change_password(struct auth_module *mod, const struct auth_request *req,
		     const char *old_password, const char *new_password,
		     const char **error_r)
{
	struct ldap_module *m = (struct ldap_module *)mod;
	const struct ldap_settings *set = &m->set;
	struct auth_record rec;
	char *dn = NULL;
	struct str crypted;

	auth_record_init(&rec);
	enum auth_module_result res =
		ldap_find(m, req, true, &rec, &dn, error_r);
	if (res != AUTH_MODULE_OK)
		return res;
	if (set->authbind) {
		res = ldap_user_bind(m, req, dn, old_password, error_r);
	} else {
		bool ok = false;
		if (rec.passwd != NULL)
			ok = passwd_verify(old_password, rec.passwd) == 1;
		else if (rec.clearpasswd != NULL)
			ok = old_password[0] != '\0' &&
			     secure_streq(old_password, rec.clearpasswd);
		res = ok ? AUTH_MODULE_OK : AUTH_MODULE_NOTFOUND;
	}
	if (res != AUTH_MODULE_OK)
		goto out;

	str_init(&crypted, 128);
	LDAPMod crypt_mod, clear_mod, *mods[3];
	struct berval crypt_bv, clear_bv, *crypt_vals[2], *clear_vals[2];
	size_t n = 0;
	if (present(set->cryptpw)) {
		if (mod_sql_hash_like(new_password, rec.passwd, &crypted,
				      error_r) < 0) {
			str_free(&crypted);
			res = AUTH_MODULE_TEMPFAIL;
			goto out;
		}
		/* userPassword holds crypt(3) values as {CRYPT}... */
		if (str_c(&crypted)[0] == '$' &&
		    (rec.passwd == NULL || rec.passwd[0] != '$')) {
			struct str tmp;
			str_init(&tmp, 128);
			str_printfa(&tmp, "{CRYPT}%s", str_c(&crypted));
			secure_wipe(crypted.data, crypted.size);
			str_free(&crypted);
			crypted = tmp;
		}
		crypt_bv.bv_val = crypted.data;
		crypt_bv.bv_len = str_len(&crypted);
		crypt_vals[0] = &crypt_bv;
		crypt_vals[1] = NULL;
		crypt_mod.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES;
		crypt_mod.mod_type = set->cryptpw;
		crypt_mod.mod_bvalues = crypt_vals;
		mods[n++] = &crypt_mod;
	}
	if (present(set->clearpw)) {
		clear_bv.bv_val = (char *)new_password;
		clear_bv.bv_len = strlen(new_password);
		clear_vals[0] = &clear_bv;
		clear_vals[1] = NULL;
		clear_mod.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES;
		clear_mod.mod_type = set->clearpw;
		clear_mod.mod_bvalues = clear_vals;
		mods[n++] = &clear_mod;
	}
	mods[n] = NULL;
	/* With LDAP_AUTHBIND the change is made as the account itself
	 * (Courier's rule), else as LDAP_BINDDN. */
	LDAP *ld = set->authbind ? m->bind_ld : m->ld;
	int rc = ld != NULL ? ldap_modify_ext_s(ld, dn, mods, NULL, NULL)
			    : LDAP_SERVER_DOWN;
	secure_wipe(crypted.data, crypted.size);
	str_free(&crypted);
	if (rc != LDAP_SUCCESS) {
		ldap_fail(m, "modify", rc, error_r);
		if (ldap_server_error(rc))
			ldap_drop(set->authbind ? &m->bind_ld : &m->ld);
		res = AUTH_MODULE_TEMPFAIL;
	}
out:
	if (set->authbind)
		ldap_drop(&m->bind_ld); /* never stays bound as a user */
	free(dn);
	auth_record_free(&rec);
	return res;
}

const struct auth_module_def auth_module_ldap = {
	.name = "authldap",
	.config_file = "authldaprc",
	.init = ldap_mod_init,
	.deinit = ldap_mod_deinit,
	.lookup = ldap_lookup,
	.authenticate = ldap_authenticate,
	.enumerate = ldap_enumerate,
	.change_password = ldap_change_password,
};
