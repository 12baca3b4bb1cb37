/* cmd-list.c: LIST, LSUB and NAMESPACE, with CHILDREN and SPECIAL-USE
 * attributes; subscriptions in Courier's courierimapsubscribed file
 * (one "INBOX.Name" per line, names in modified UTF-7). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap-client-private.h"
#include "imap-list.h"
#include "imap-mailbox.h"
#include "imap-quote.h"
#include "maildir-folder.h"
#include "mem.h"
#include "mutf7.h"

#define SUBSCRIBED_FILE "courierimapsubscribed"
#define SUBSCRIBED_MAX (1024 * 1024)

/* IMAP pattern match: '*' matches anything, '%' anything but '.'. */
bool imap_list_match(const char *pattern, const char *name)
{
	while (*pattern != '\0') {
		if (*pattern == '*' || *pattern == '%') {
			bool any = *pattern == '*';
			pattern++;
			for (const char *n = name;; n++) {
				if (imap_list_match(pattern, n))
					return true;
				if (*n == '\0' || (!any && *n == '.'))
					return false;
			}
		}
		if (*name == '\0' || *pattern != *name)
			return false;
		pattern++;
		name++;
	}
	return *name == '\0';
}

static bool match_name(const char *pattern, const char *name)
{
	/* INBOX is case-insensitive */
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '.') &&
	    strncasecmp(pattern, "INBOX", 5) == 0) {
		char *p = xstrdup(pattern), *n = xstrdup(name);
		memcpy(p, "INBOX", 5);
		memcpy(n, "INBOX", 5);
		bool ret = imap_list_match(p, n);
		free(p);
		free(n);
		return ret;
	}
	return imap_list_match(pattern, name);
}

static const char *special_use(const char *folder)
{
	static const char *const names[][2] = {
		{ "Sent", "\\Sent" },	  { "Drafts", "\\Drafts" },
		{ "Trash", "\\Trash" },	  { "Junk", "\\Junk" },
		{ "Archive", "\\Archive" },
	};
	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		if (strcmp(folder, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}

char **imap_subscriptions_read(struct imap_client *client, size_t *count_r)
{
	char *path = xasprintf("%s/%s", client->root, SUBSCRIBED_FILE);
	FILE *f = fopen(path, "r");
	char **v = NULL;
	size_t n = 0, total = 0;
	char line[4096];

	free(path);
	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL &&
		       total < SUBSCRIBED_MAX) {
			total += strlen(line);
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] == '\0')
				continue;
			v = xreallocarray(v, n + 2, sizeof(*v));
			v[n++] = xstrdup(line);
		}
		fclose(f);
	}
	*count_r = n;
	return v;
}

void imap_subscriptions_free(char **v, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
}

/* Courier's spelling of a folder in the subscriptions file. */
char *imap_subscription_name(const char *folder)
{
	if (folder[0] == '\0')
		return xstrdup("INBOX");
	char *enc = mutf7_encode_dup(folder);
	char *ret = xasprintf("INBOX.%s", enc != NULL ? enc : folder);
	free(enc);
	return ret;
}

static bool subscribed(char **subs, size_t n, const char *folder)
{
	char *name = imap_subscription_name(folder);
	bool ret = false;

	for (size_t i = 0; i < n && !ret; i++)
		ret = strcmp(subs[i], name) == 0;
	free(name);
	return ret;
}

static void list_common(struct imap_cmd *cmd, bool lsub)
{
	struct imap_client *client = cmd->client;
	const char *error;

	if (cmd->count != 2 || !imap_arg_is_string(&cmd->args[0]) ||
	    !imap_arg_is_string(&cmd->args[1])) {
		imap_cmd_bad(cmd, "%s takes a reference and a pattern",
			     cmd->name);
		return;
	}
	const char *ref = cmd->args[0].str, *pat = cmd->args[1].str;
	if (pat[0] == '\0' && !lsub) {
		imap_client_send(client, "* LIST (\\Noselect) \".\" \"\"");
		imap_cmd_ok(cmd, "LIST completed");
		return;
	}
	char *pattern = xasprintf("%s%s", ref, pat);
	struct maildir_folder_list *list;
	if (maildir_folder_list(client->root, &list, &error) < 0) {
		free(pattern);
		imap_cmd_no(cmd, "[SERVERBUG] Cannot list folders");
		return;
	}
	size_t nsubs = 0;
	char **subs = imap_subscriptions_read(client, &nsubs);
	struct str s;
	str_init(&s, 256);
	for (size_t i = 0; i <= list->count; i++) {
		const char *folder = i == 0 ? "" : list->names[i - 1];
		char *name = imap_folder_to_client(client, folder);
		if (!match_name(pattern, name) ||
		    (lsub && !subscribed(subs, nsubs, folder))) {
			free(name);
			continue;
		}
		bool children = false;
		size_t flen = strlen(folder);
		for (size_t j = 0; j < list->count && !children; j++) {
			if (folder[0] == '\0')
				children = client->set->namespace_prefix[0] !=
					   '\0';
			else
				children = strncmp(list->names[j], folder,
						   flen) == 0 &&
					   list->names[j][flen] == '.';
		}
		str_clear(&s);
		str_printfa(&s, "* %s (%s", lsub ? "LSUB" : "LIST",
			    children ? "\\HasChildren" : "\\HasNoChildren");
		const char *su = special_use(folder);
		if (su != NULL && !lsub)
			str_printfa(&s, " %s", su);
		if (!lsub && subscribed(subs, nsubs, folder))
			str_append(&s, " \\Subscribed");
		str_append(&s, ") \".\" ");
		imap_quote_astring(&s, name, client->utf8);
		imap_client_write(client, str_c(&s), str_len(&s));
		imap_client_write(client, "\r\n", 2);
		free(name);
	}
	str_free(&s);
	imap_subscriptions_free(subs, nsubs);
	maildir_folder_list_free(&list);
	free(pattern);
	imap_cmd_ok(cmd, "%s completed", cmd->name);
}

void cmd_list(struct imap_cmd *cmd)
{
	list_common(cmd, false);
}

void cmd_lsub(struct imap_cmd *cmd)
{
	list_common(cmd, true);
}

void cmd_namespace(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "NAMESPACE takes no arguments");
		return;
	}
	imap_client_printf(cmd->client, "* NAMESPACE ((\"%s\" \".\")) NIL NIL",
			   cmd->client->set->namespace_prefix);
	imap_cmd_ok(cmd, "NAMESPACE completed");
}
