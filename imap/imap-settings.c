/* imap-settings.c: imapd's typed settings table and loading. */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-settings.h"
#include "imap-settings.h"
#include "maildir-folder.h"
#include "mem.h"
#include "sasl.h"
#include "str.h"

#define S struct imap_settings
static const struct config_setting_def imap_setting_defs[] = {
	LOGIN_MASTER_SETTING_DEFS(S, master, "IMAPDSTART", "IMAPDSSLSTART",
				  "IMAPDSTARTTLS", "IMAP_LOGIN_USER", "143",
				  "993", "20"),
	CONFIG_SETTING_STRING(S, maildir_path, "MAILDIRPATH", "Maildir"),
	CONFIG_SETTING_INTERVAL(S, idle_poll, "IMAP_IDLE_TIMEOUT", "60", 1,
				3600),
	CONFIG_SETTING_STRING(S, empty_trash, "IMAP_EMPTYTRASH", "Trash:7"),
	CONFIG_SETTING_INTERVAL(S, timeout, "IMAP_TIMEOUT", "30m", 60,
				86400),
	CONFIG_SETTING_INTERVAL(S, hibernate_timeout,
				"IMAP_HIBERNATE_TIMEOUT", "30", 0, 86400),
	CONFIG_SETTING_INT(S, max_line, "IMAP_MAX_LINE", "65536", 1024,
			   16 * 1024 * 1024),
	CONFIG_SETTING_INT(S, max_literal, "IMAP_MAX_LITERAL", "52428800",
			   1024, 1LL << 32),
	CONFIG_SETTING_INT(S, max_bad_commands, "IMAP_MAX_BAD_COMMANDS", "20",
			   1, 100000),
	CONFIG_SETTING_STRING(S, proxy_hostname, "PROXY_HOSTNAME", ""),
	CONFIG_SETTING_STRING(S, namespace_prefix, "IMAP_NAMESPACE_PREFIX",
			      ""),
	CONFIG_SETTING_BOOL(S, shared_folders, "IMAP_SHARED_FOLDERS", "YES"),
	CONFIG_SETTING_STRING(S, auth_mechs, "IMAP_AUTH", "PLAIN LOGIN"),
	CONFIG_SETTING_STRING(S, auth_mechs_tls, "IMAP_AUTH_TLS", ""),
	CONFIG_SETTING_BOOL(S, tls_required, "IMAP_TLS_REQUIRED", "NO"),
	CONFIG_SETTING_BOOL(S, tls_proxy, "IMAP_TLS_PROXY", "YES"),
	CONFIG_SETTING_INT(S, tls_proxies, "IMAP_TLS_PROXIES", "0", 0, 256),
	CONFIG_SETTING_INT(S, tls_proxy_max, "IMAP_TLS_PROXY_MAX", "5000", 1,
			   1000000),
	CONFIG_SETTING_INTERVAL(S, tls_handshake_timeout,
				"IMAP_TLS_HANDSHAKE_TIMEOUT", "60", 1, 3600),
	CONFIG_SETTING_END
};
#undef S

void imap_settings_defaults(struct imap_settings *set)
{
	memset(set, 0, sizeof(*set));
	config_settings_init(imap_setting_defs, set);
}

bool imap_settings_mech_offered(const struct imap_settings *set,
				const char *mech, bool tls)
{
	return login_master_mech_listed(set->auth_mechs, mech) ||
	       (tls && login_master_mech_listed(set->auth_mechs_tls, mech));
}

/* Every name of an IMAP_AUTH list must be a mechanism we implement. */
static int check_mechs(const char *list, const char *name, const char *file,
		       struct config_errors *errs)
{
	char **v = str_split(list, " \t,");
	int ret = 0;

	for (size_t i = 0; v[i] != NULL; i++) {
		enum sasl_mech m;

		if (v[i][0] != '\0' && sasl_mech_from_name(v[i], &m) < 0) {
			config_error(errs, file, 0,
				     "%s: unknown SASL mechanism %s (PLAIN, "
				     "LOGIN and CRAM-MD5 are known)",
				     name, v[i]);
			ret = -1;
		}
	}
	str_split_free(&v);
	return ret;
}

void imap_emptytrash_free(struct imap_emptytrash_rule **rules, size_t count)
{
	if (*rules == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*rules)[i].folder);
	free(*rules);
	*rules = NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One "folder:days" item, blanks trimmed.  Returns 0 or -1 (*error_r). */
static int emptytrash_item(const char *p, size_t n,
			   struct imap_emptytrash_rule *rule_r,
			   const char **error_r)
{
	size_t colon = n;
	unsigned long days = 0;

	while (colon > 0 && p[colon - 1] != ':')
		colon--;
	if (colon == 0) {
		*error_r = "an item is not folder:days";
		return -1;
	}
	if (colon == n) {
		*error_r = "an item has no number of days";
		return -1;
	}
	for (size_t i = colon; i < n; i++) {
		if (p[i] < '0' || p[i] > '9') {
			*error_r = "the days of an item are not a number";
			return -1;
		}
		days = days * 10 + (unsigned long)(p[i] - '0');
		if (days > IMAP_EMPTYTRASH_MAX_DAYS) {
			*error_r = "the days of an item are too many";
			return -1;
		}
	}
	if (days == 0) {
		*error_r = "the days of an item must be at least 1";
		return -1;
	}
	size_t flen = colon - 1;
	if (flen > 6 && strncasecmp(p, "INBOX.", 6) == 0) {
		p += 6;
		flen -= 6;
	}
	char *folder = xstrndup(p, flen);
	if (strlen(folder) != flen ||
	    (strcasecmp(folder, "INBOX") != 0 &&
	     !maildir_folder_name_valid(folder))) {
		free(folder);
		*error_r = "an item's folder is not a valid folder name";
		return -1;
	}
	if (strcasecmp(folder, "INBOX") == 0) {
		free(folder);
		folder = xstrdup("INBOX");
	}
	rule_r->folder = folder;
	rule_r->days = (unsigned int)days;
	return 0;
}

int imap_emptytrash_parse(const char *value, size_t len,
			  struct imap_emptytrash_rule **rules_r,
			  size_t *count_r, const char **error_r)
{
	struct imap_emptytrash_rule *rules = NULL;
	size_t count = 0, pos = 0;

	*rules_r = NULL;
	*count_r = 0;
	while (pos <= len) {
		size_t end = pos;

		while (end < len && value[end] != ',')
			end++;
		size_t a = pos, b = end;
		while (a < b && is_blank(value[a]))
			a++;
		while (b > a && is_blank(value[b - 1]))
			b--;
		if (a < b) {
			struct imap_emptytrash_rule rule;

			if (count == IMAP_EMPTYTRASH_MAX_RULES) {
				*error_r = "too many items";
				imap_emptytrash_free(&rules, count);
				return -1;
			}
			if (emptytrash_item(value + a, b - a, &rule,
					    error_r) < 0) {
				imap_emptytrash_free(&rules, count);
				return -1;
			}
			rules = xreallocarray(rules, count + 1,
					      sizeof(*rules));
			rules[count++] = rule;
		}
		pos = end + 1;
	}
	*rules_r = rules;
	*count_r = count;
	return 0;
}

int imap_settings_load(struct imap_settings *set, const char *plain_file,
		       const char *ssl_file, struct config_errors *errs)
{
	int ret = login_master_settings_load(imap_setting_defs, set,
					     sizeof(*set), plain_file,
					     ssl_file, errs);

	if (set->namespace_prefix[0] != '\0' &&
	    strcmp(set->namespace_prefix, "INBOX.") != 0) {
		config_error(errs, plain_file, 0,
			     "IMAP_NAMESPACE_PREFIX: only \"\" or INBOX.");
		ret = -1;
	}
	const char *error;
	if (imap_emptytrash_parse(set->empty_trash, strlen(set->empty_trash),
				  &set->empty_trash_rules,
				  &set->empty_trash_count, &error) < 0) {
		config_error(errs, plain_file, 0, "IMAP_EMPTYTRASH: %s",
			     error);
		ret = -1;
	}
	if (check_mechs(set->auth_mechs, "IMAP_AUTH", plain_file, errs) < 0 ||
	    check_mechs(set->auth_mechs_tls, "IMAP_AUTH_TLS", plain_file,
			errs) < 0)
		ret = -1;
	return ret;
}

void imap_settings_free(struct imap_settings *set)
{
	config_settings_free(imap_setting_defs, set);
	imap_emptytrash_free(&set->empty_trash_rules, set->empty_trash_count);
	set->empty_trash_count = 0;
}
