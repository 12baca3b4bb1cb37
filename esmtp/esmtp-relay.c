/* esmtp-relay.c: SMTP paths and parameters, accepted domains
 * and the relay decision (see esmtp-relay.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-file.h"
#include "esmtp-relay.h"
#include "log.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "str.h"

#define ESMTP_PATH_MAX 998

/* ------------------------------------------------------------ paths */

static bool domain_valid(const char *d)
{
	size_t label = 0;

	if (*d == '[') {
		size_t n = strlen(d);

		return n > 2 && d[n - 1] == ']' &&
		       strpbrk(d + 1, "[\\ ") == NULL;
	}
	if (*d == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)d; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum(*p) || *p == '-' || *p == '_' || *p >= 0x80))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;	/* no trailing dot */
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

bool esmtp_xtext_valid(const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '+') {
			if (!isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2]))
				return false;
			p += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return false;
		}
	}
	return true;
}

void esmtp_path_free(struct esmtp_path *path)
{
	free(path->local);
	free(path->domain);
	free(path->address);
	for (unsigned int i = 0; i < path->param_count; i++) {
		free(path->params[i].name);
		free(path->params[i].value);
	}
	memset(path, 0, sizeof(*path));
}

const char *esmtp_path_param(const struct esmtp_path *path, const char *name)
{
	for (unsigned int i = 0; i < path->param_count; i++) {
		if (strcmp(path->params[i].name, name) == 0)
			return path->params[i].value != NULL ?
				path->params[i].value : "";
	}
	return NULL;
}

static int parse_params(const char *p, struct esmtp_path *path,
			const char **error_r)
{
	while (*p != '\0') {
		const char *start, *eq;
		size_t len;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ')
			p++;
		len = (size_t)(p - start);
		if (path->param_count == ESMTP_MAX_PARAMS) {
			*error_r = "501 5.5.4 Too many parameters";
			return -1;
		}
		eq = memchr(start, '=', len);
		size_t klen = eq != NULL ? (size_t)(eq - start) : len;
		if (klen == 0) {
			*error_r = "501 5.5.4 Malformed parameter";
			return -1;
		}
		for (size_t i = 0; i < klen; i++) {
			if (!isalnum((unsigned char)start[i]) && start[i] != '-') {
				*error_r = "501 5.5.4 Malformed parameter";
				return -1;
			}
		}
		struct esmtp_param *prm = &path->params[path->param_count];
		prm->name = str_ucase(xstrndup(start, klen));
		prm->value = eq != NULL ? xstrndup(eq + 1, len - klen - 1) :
					  NULL;
		for (unsigned int i = 0; i < path->param_count; i++) {
			if (strcmp(path->params[i].name, prm->name) == 0) {
				free(prm->name);
				free(prm->value);
				*error_r = "501 5.5.4 Duplicate parameter";
				return -1;
			}
		}
		path->param_count++;
	}
	return 0;
}

int esmtp_path_parse(const char *text, bool allow_null, bool allow_bare,
		     struct esmtp_path *path_r, const char **error_r)
{
	static struct rfc822_addr_parser *parser;
	struct rfc822_addr_list *list = NULL;
	const char *p = text, *end;
	bool quoted = false;

	memset(path_r, 0, sizeof(*path_r));
	while (*p == ' ')
		p++;
	if (*p != '<') {
		*error_r = "501 5.5.4 Syntax: the address must be in <>";
		return -1;
	}
	/* Find the closing '>' outside quoted strings and literals. */
	for (end = p + 1; *end != '\0'; end++) {
		if (*end == '\\' && end[1] != '\0') {
			end++;
			continue;
		}
		if (*end == '"')
			quoted = !quoted;
		else if (*end == '>' && !quoted)
			break;
	}
	if (*end != '>') {
		*error_r = "501 5.5.4 Syntax: missing '>'";
		return -1;
	}
	if ((size_t)(end - p) > ESMTP_PATH_MAX) {
		*error_r = "501 5.1.3 Address too long";
		return -1;
	}
	if (end[1] != '\0' && end[1] != ' ') {
		*error_r = "501 5.5.4 Syntax: junk after the address";
		return -1;
	}
	if (parse_params(end + 1, path_r, error_r) < 0) {
		esmtp_path_free(path_r);
		return -1;
	}
	if (end == p + 1) {
		if (!allow_null) {
			esmtp_path_free(path_r);
			*error_r = "501 5.1.3 The null address is not valid here";
			return -1;
		}
		path_r->null = true;
		path_r->local = xstrdup("");
		path_r->address = xstrdup("");
		return 0;
	}
	/* Plain ASCII controls and blanks have no place in a path. */
	quoted = false;
	for (const char *q = p; q <= end; q++) {
		if (*q == '"' && (q == p || q[-1] != '\\'))
			quoted = !quoted;
		if ((unsigned char)*q < 32 || *q == 127 ||
		    (*q == ' ' && !quoted)) {
			esmtp_path_free(path_r);
			*error_r = "501 5.1.3 Bad address syntax";
			return -1;
		}
	}
	if (parser == NULL)
		parser = rfc822_addr_parser_create(NULL);
	int r = rfc822_addr_parse(parser, p, (size_t)(end - p) + 1, &list,
				  NULL);
	if (r != 1 || list == NULL || list->count != 1 ||
	    list->mailbox_count != 1 || list->addrs[0].invalid ||
	    !list->addrs[0].angle || list->addrs[0].name != NULL ||
	    list->addrs[0].null_addr || list->addrs[0].local == NULL ||
	    list->addrs[0].local[0] == '\0') {
		rfc822_addr_list_free(&list);
		esmtp_path_free(path_r);
		*error_r = "501 5.1.3 Bad address syntax";
		return -1;
	}
	const struct rfc822_addr *a = &list->addrs[0];
	if (a->domain == NULL) {
		if (!allow_bare || strcasecmp(a->local, "postmaster") != 0) {
			rfc822_addr_list_free(&list);
			esmtp_path_free(path_r);
			*error_r = "501 5.1.3 The address needs a domain";
			return -1;
		}
	} else if (!domain_valid(a->domain)) {
		rfc822_addr_list_free(&list);
		esmtp_path_free(path_r);
		*error_r = "501 5.1.3 Bad domain syntax";
		return -1;
	}
	path_r->local = xstrdup(a->local);
	if (a->domain != NULL)
		path_r->domain = str_lcase(xstrdup(a->domain));
	{
		struct str s;

		str_init(&s, 128);
		rfc822_addr_format_local(&s, path_r->local);
		if (path_r->domain != NULL) {
			str_append_c(&s, '@');
			str_append(&s, path_r->domain);
		}
		path_r->address = str_steal(&s);
	}
	path_r->utf8 = has_8bit(path_r->address);
	rfc822_addr_list_free(&list);
	return 0;
}

/* ------------------------------------------------------------ domains */

struct esmtp_domains {
	char **entries;		/* "dom", ".dom" or "!dom", lowercase */
	size_t count, alloc;
};

static void domains_add(struct esmtp_domains *d, const char *entry)
{
	char *e = str_lcase(str_trim(xstrdup(entry)));
	char *tab = strpbrk(e, " \t");

	if (tab != NULL)
		*tab = '\0';	/* hosteddomains: "alias<TAB>domain" */
	if (*e == '\0' || *e == '#') {
		free(e);
		return;
	}
	if (d->count == d->alloc) {
		d->alloc = d->alloc == 0 ? 16 : d->alloc * 2;
		d->entries = xreallocarray(d->entries, d->alloc,
					   sizeof(*d->entries));
	}
	d->entries[d->count++] = e;
}

static void domains_add_text(struct esmtp_domains *d, const char *text)
{
	char **lines;

	if (text == NULL)
		return;
	lines = str_split(text, "\n");
	for (size_t i = 0; lines[i] != NULL; i++) {
		char *x = config_expand_hostname(lines[i], NULL);

		domains_add(d, x);
		free(x);
	}
	str_split_free(&lines);
}

struct esmtp_domains *esmtp_domains_new(const char *locals,
					const char *hosted,
					const char *acceptmailfor,
					const char *me)
{
	struct esmtp_domains *d = xcalloc(1, sizeof(*d));

	domains_add_text(d, locals);
	domains_add_text(d, hosted);
	domains_add_text(d, acceptmailfor);
	if (me != NULL)
		domains_add(d, me);
	return d;
}

static void domains_add_file(struct esmtp_domains *d, const char *name)
{
	struct config_lines *lines = NULL;

	if (config_read_domain_list(name, NULL, &lines, NULL) <= 0)
		return;
	for (size_t i = 0; i < config_lines_count(lines); i++)
		domains_add(d, config_lines_get(lines, i)->text);
	config_lines_free(&lines);
}

struct esmtp_domains *esmtp_domains_load(void)
{
	struct esmtp_domains *d = xcalloc(1, sizeof(*d));
	char *me = config_me(NULL);
	/* locals defaults to me, which is always accepted */
	domains_add_file(d, "locals");
	domains_add_file(d, "hosteddomains");
	domains_add_file(d, "esmtpacceptmailfor");
	domains_add(d, me);
	free(me);
	return d;
}

void esmtp_domains_free(struct esmtp_domains **d)
{
	if (*d == NULL)
		return;
	for (size_t i = 0; i < (*d)->count; i++)
		free((*d)->entries[i]);
	free((*d)->entries);
	free(*d);
	*d = NULL;
}

bool esmtp_domains_accept(const struct esmtp_domains *d, const char *domain)
{
	if (*domain == '[' || *domain == '\0')
		return false;
	return config_domain_list_match((const char *const *)d->entries,
					d->count, domain);
}

enum esmtp_rcpt_verdict esmtp_rcpt_policy(const struct esmtp_domains *d,
					  const struct esmtp_path *rcpt,
					  bool may_relay)
{
	if (rcpt->domain == NULL)
		return ESMTP_RCPT_LOCAL;	/* <postmaster> */
	if (esmtp_domains_accept(d, rcpt->domain)) {
		/* user%other@local, user!other@local, "user@other"@local:
		 * old routing syntaxes that would relay through us */
		if (strpbrk(rcpt->local, "%!@") != NULL)
			return may_relay ? ESMTP_RCPT_RELAY :
					   ESMTP_RCPT_DENIED;
		return ESMTP_RCPT_LOCAL;
	}
	return may_relay ? ESMTP_RCPT_RELAY : ESMTP_RCPT_DENIED;
}
