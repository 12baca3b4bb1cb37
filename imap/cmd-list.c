/* cmd-list.c: LIST (with LIST-EXTENDED selection and return options,
 * LIST-STATUS), LSUB and NAMESPACE, with CHILDREN and SPECIAL-USE
 * attributes; subscriptions in Courier's courierimapsubscribed file
 * (one "INBOX.Name" per line, names in modified UTF-7). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-list.h"
#include "imap-mailbox.h"
#include "imap-quote.h"
#include "imap-sharable.h"
#include "imap-shared.h"
#include "instance.h"
#include "maildir-folder.h"
#include "maildir.h"
#include "mem.h"
#include "mutf7.h"

#define SUBSCRIBED_FILE "courierimapsubscribed"
#define SUBSCRIBED_MAX (1024 * 1024)
#define SPECIAL_USE_FILE "imapspecialuse"

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

/* RFC 6154 uses a folder can be given (\\All and \\Flagged would be
 * virtual mailboxes, which this server does not make). */
static const char *const special_uses[] = {
	"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash",
};

const char *imap_special_use_canonical(const char *use)
{
	for (size_t i = 0; i < N_ELEMENTS(special_uses); i++)
		if (strcasecmp(use, special_uses[i]) == 0)
			return special_uses[i];
	return NULL;
}

int imap_special_use_write(struct imap_client *client, const char *folder,
			   const char *uses)
{
	char *dir = imap_folder_dir(client, folder);
	if (dir == NULL)
		return -1;
	char *path = xasprintf("%s/%s", dir, SPECIAL_USE_FILE);
	char *tmp = xasprintf("%s/tmp/%s.%ld", dir, SPECIAL_USE_FILE,
			      (long)getpid());
	FILE *f = fopen(tmp, "w");
	int ret = -1;

	if (f != NULL) {
		if (fputs(uses, f) >= 0 && fflush(f) == 0 &&
		    fsync(fileno(f)) == 0)
			ret = 0;
		if (fclose(f) != 0)
			ret = -1;
		if (ret == 0 && rename(tmp, path) < 0)
			ret = -1;
		if (ret < 0)
			unlink(tmp);
	}
	free(tmp);
	free(path);
	free(dir);
	return ret;
}

/* The SPECIAL-USE attributes of folder (" \\Sent..." each with a leading
 * space) appended to out: the default ones of the names new accounts
 * get, and those CREATE ... (USE (...)) recorded in the folder. */
static void special_use(struct imap_client *client, const char *folder,
			struct str *out)
{
	static const char *const names[][2] = {
		{ "Sent", "\\Sent" },	  { "Drafts", "\\Drafts" },
		{ "Trash", "\\Trash" },	  { "Junk", "\\Junk" },
		{ "Archive", "\\Archive" },
	};
	const char *dflt = NULL;

	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		if (strcmp(folder, names[i][0]) == 0)
			dflt = names[i][1];
	if (dflt != NULL)
		str_printfa(out, " %s", dflt);
	if (folder[0] == '\0')
		return;
	char *dir = imap_folder_dir(client, folder);
	char *path = dir != NULL ? xasprintf("%s/%s", dir, SPECIAL_USE_FILE) :
				   NULL;
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	char line[64];

	/* a handful of short lines; anything else is not ours */
	for (int n = 0; f != NULL && n < 8 && fgets(line, sizeof(line), f);
	     n++) {
		line[strcspn(line, "\r\n")] = '\0';
		const char *use = imap_special_use_canonical(line);
		if (use != NULL && (dflt == NULL || strcmp(use, dflt) != 0))
			str_printfa(out, " %s", use);
	}
	if (f != NULL)
		fclose(f);
	free(path);
	free(dir);
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
	/* "/shared.x" is kept as "shared.x", Courier's IMAP name */
	bool sharable = imap_folder_is_sharable(folder);
	char *enc = mutf7_encode_dup(sharable ? folder + 1 : folder);
	/* shared folders are kept under their IMAP name, as Courier's */
	char *ret = imap_folder_is_shared(folder) || sharable ?
			    xstrdup(enc != NULL ? enc : folder + sharable) :
			    xasprintf("INBOX.%s", enc != NULL ? enc : folder);
	free(enc);
	return ret;
}

/* What a LIST command asks for (RFC 3501, RFC 5258 LIST-EXTENDED,
 * RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE). */
struct list_opts {
	bool lsub;
	bool extended;		/* selection or return options were given */
	bool sel_subscribed, sel_special, recursive;
	bool ret_subscribed, ret_children, ret_special;
	const struct imap_arg *status_items;	/* RETURN (STATUS (...)) */
	size_t status_count;
	const struct imap_arg *patterns;
	size_t pattern_count;
	const char *ref;
};

/* One mailbox that may be listed. */
struct list_entry {
	char *folder;		/* UTF-8, "" = INBOX */
	bool exists, subscribed, children, child_subscribed;
};

static int parse_list_args(struct imap_cmd *cmd, struct list_opts *o,
			   const char **error_r)
{
	const struct imap_arg *args = cmd->args;
	size_t n = cmd->count, i = 0;

	if (!o->lsub && n > 0 && args[0].type == IMAP_ARG_LIST) {
		o->extended = true;
		for (size_t j = 0; j < args[0].list_count; j++) {
			const struct imap_arg *a = &args[0].list[j];
			if (imap_arg_atom_equals(a, "SUBSCRIBED"))
				o->sel_subscribed = true;
			else if (imap_arg_atom_equals(a, "REMOTE"))
				; /* no remote mailboxes here */
			else if (imap_arg_atom_equals(a, "RECURSIVEMATCH"))
				o->recursive = true;
			else if (imap_arg_atom_equals(a, "SPECIAL-USE"))
				o->sel_special = true;
			else {
				*error_r = "Unknown LIST selection option";
				return -1;
			}
		}
		if (o->recursive && !o->sel_subscribed && !o->sel_special) {
			*error_r = "RECURSIVEMATCH needs another selection "
				   "option";
			return -1;
		}
		i++;
	}
	if (n < i + 2 || !imap_arg_is_string(&args[i])) {
		*error_r = "LIST takes a reference and a pattern";
		return -1;
	}
	o->ref = args[i].str;
	if (args[i + 1].type == IMAP_ARG_LIST && !o->lsub) {
		o->extended = true;
		o->patterns = args[i + 1].list;
		o->pattern_count = args[i + 1].list_count;
		if (o->pattern_count == 0) {
			*error_r = "Empty pattern list";
			return -1;
		}
		for (size_t j = 0; j < o->pattern_count; j++) {
			if (!imap_arg_is_string(&o->patterns[j])) {
				*error_r = "Patterns are strings";
				return -1;
			}
		}
	} else if (imap_arg_is_string(&args[i + 1])) {
		o->patterns = &args[i + 1];
		o->pattern_count = 1;
	} else {
		*error_r = "LIST takes a reference and a pattern";
		return -1;
	}
	i += 2;
	if (i == n)
		return 0;
	if (o->lsub || i + 2 != n || !imap_arg_atom_equals(&args[i], "RETURN") ||
	    args[i + 1].type != IMAP_ARG_LIST) {
		*error_r = "Unexpected LIST arguments";
		return -1;
	}
	o->extended = true;
	const struct imap_arg *r = args[i + 1].list;
	for (size_t j = 0; j < args[i + 1].list_count; j++) {
		if (imap_arg_atom_equals(&r[j], "SUBSCRIBED")) {
			o->ret_subscribed = true;
		} else if (imap_arg_atom_equals(&r[j], "CHILDREN")) {
			o->ret_children = true;
		} else if (imap_arg_atom_equals(&r[j], "SPECIAL-USE")) {
			o->ret_special = true;
		} else if (imap_arg_atom_equals(&r[j], "STATUS") &&
			   j + 1 < args[i + 1].list_count &&
			   r[j + 1].type == IMAP_ARG_LIST &&
			   r[j + 1].list_count > 0 &&
			   o->status_items == NULL) {
			o->status_items = r[j + 1].list;
			o->status_count = r[j + 1].list_count;
			if (!imap_status_items_valid(o->status_items,
						     o->status_count)) {
				*error_r = "Unknown STATUS item";
				return -1;
			}
			j++;
		} else {
			*error_r = "Unknown LIST return option";
			return -1;
		}
	}
	return 0;
}

/* The folder of a line of the subscriptions file, or NULL. */
static char *subscription_folder(const char *line)
{
	if (strcasecmp(line, "INBOX") == 0)
		return xstrdup("");
	if (imap_folder_is_shared(line) && strlen(line) > 8)
		return mutf7_decode_dup(line);
	if (strncmp(line, IMAP_SHARABLE_PREFIX ".",
		    strlen(IMAP_SHARABLE_PREFIX) + 1) == 0) {
		char *f = mutf7_decode_dup(line);
		char *ret = f != NULL ? xasprintf("/%s", f) : NULL;
		free(f);
		return ret;
	}
	if (strncasecmp(line, "INBOX.", 6) != 0)
		return NULL;
	char *f = mutf7_decode_dup(line + 6);
	if (f != NULL && !maildir_folder_name_valid(f)) {
		free(f);
		return NULL;
	}
	return f;
}

/* Orders names level by level ('.' before any other byte), so that the
 * descendants of a folder come right after it: "Work", "Work.Projects",
 * "Work-old" (by bytes "Work-old" would come between the two). */
static int entry_cmp(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)
		((const struct list_entry *)a)->folder;
	const unsigned char *y = (const unsigned char *)
		((const struct list_entry *)b)->folder;

	for (; *x != '\0' && *x == *y; x++, y++)
		;
	int cx = *x == '.' ? 1 : *x == '\0' ? 0 : *x + 1;
	int cy = *y == '.' ? 1 : *y == '\0' ? 0 : *y + 1;
	return cx - cy;
}

/* True when a LIST pattern (with its reference) could match a name that
 * starts with prefix: their literal parts agree up to the first
 * wildcard. */
static bool pattern_reaches(const struct list_opts *o, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (size_t i = 0; i < o->pattern_count; i++) {
		char *pattern = xasprintf("%s%s", o->ref, o->patterns[i].str);
		size_t lit = strcspn(pattern, "*%");
		size_t n = lit < plen ? lit : plen;
		bool ok = strncmp(pattern, prefix, n) == 0 &&
			  (lit >= plen || pattern[lit] != '\0' ||
			   lit + 1 == plen);
		free(pattern);
		if (ok)
			return true;
	}
	return false;
}

/* Appends the folders of other accounts in the shared index that the
 * session may look up ("#shared.bob.INBOX", "#shared.bob.Work"...), for
 * the accounts the patterns can reach. */
static void shared_entries(struct imap_client *client,
			   const struct list_opts *o, struct list_entry **e,
			   size_t *n)
{
	const struct imap_shared_index *idx = imap_client_shared_index(client);

	if (idx == NULL || !pattern_reaches(o, IMAP_SHARED_PREFIX))
		return;
	for (size_t i = 0; i < idx->count; i++) {
		const struct imap_shared_account *a = &idx->accounts[i];
		struct maildir_folder_list *list;
		const char *error;

		if (strcmp(a->name, client->user) == 0)
			continue;
		char *top = xasprintf(IMAP_SHARED_PREFIX ".%s.", a->name);
		char *ctop = imap_folder_to_client(client, top);
		bool reach = pattern_reaches(o, ctop);
		free(ctop);
		if (!reach || !maildir_is_maildir(a->maildir) ||
		    maildir_folder_list(a->maildir, &list, &error) < 0) {
			free(top);
			continue;
		}
		for (size_t j = 0; j <= list->count; j++) {
			char *f = xasprintf("%s%s", top,
					    j == 0 ? "INBOX" :
						     list->names[j - 1]);
			if ((imap_folder_rights(client, f) &
			     IMAP_ACL_LOOKUP) == 0) {
				free(f);
				continue;
			}
			*e = xreallocarray(*e, *n + 1, sizeof(**e));
			memset(&(*e)[*n], 0, sizeof(**e));
			(*e)[*n].folder = f;
			(*e)[(*n)++].exists = true;
		}
		maildir_folder_list_free(&list);
		free(top);
	}
}

/* Appends the folders of the sharable maildirs the account reads
 * ("/shared.NICK.FOLDER", imap-sharable.h) that others may read, for
 * the nicks the patterns can reach. */
static void sharable_entries(struct imap_client *client,
			     const struct list_opts *o, struct list_entry **e,
			     size_t *n)
{
	if (client->shared_index_path == NULL ||
	    !pattern_reaches(o, IMAP_SHARABLE_PREFIX))
		return;
	struct imap_sharable_list sl;
	char *global = instance_etc_path(IMAP_SHARABLE_GLOBAL_FILE);
	imap_sharable_list_load(client->root, global, &sl);
	free(global);
	for (size_t i = 0; i < sl.count; i++) {
		const struct imap_sharable_entry *se = &sl.entries[i];
		struct maildir_folder_list *list;
		const char *error;

		char *top = xasprintf(IMAP_SHARABLE_INTERNAL ".%s.", se->nick);
		char *ctop = imap_folder_to_client(client, top);
		bool reach = pattern_reaches(o, ctop);
		free(ctop);
		if (!reach || !maildir_is_maildir(se->path) ||
		    maildir_folder_list(se->path, &list, &error) < 0) {
			free(top);
			continue;
		}
		for (size_t j = 0; j < list->count; j++) {
			char *dir = maildir_folder_path(se->path,
							list->names[j]);
			int access = dir != NULL ? imap_sharable_access(dir) :
						   0;
			free(dir);
			if (access == 0)
				continue;
			*e = xreallocarray(*e, *n + 1, sizeof(**e));
			memset(&(*e)[*n], 0, sizeof(**e));
			(*e)[*n].folder = xasprintf("%s%s", top,
						    list->names[j]);
			(*e)[(*n)++].exists = true;
		}
		maildir_folder_list_free(&list);
		free(top);
	}
	imap_sharable_list_free(&sl);
}

/* True when the session can name folder: its client name leads back to
 * it (not so for a folder ".INBOX" or ".#shared" made by hand, or a
 * subscription to "#shared.x" with shared folders off). */
static bool folder_nameable(struct imap_client *client, const char *folder)
{
	char *name = imap_folder_to_client(client, folder);
	const char *error;
	char *back = imap_folder_from_client(client, name, &error);
	bool ok = back != NULL && strcmp(back, folder) == 0;

	free(back);
	free(name);
	return ok;
}

/* Every existing folder and every subscribed one, sorted, with their
 * attributes. */
static struct list_entry *list_entries(struct imap_client *client,
				       const struct list_opts *o,
				       const struct maildir_folder_list *list,
				       size_t *count_r)
{
	size_t nsubs = 0, n = 0;
	char **subs = imap_subscriptions_read(client, &nsubs);
	struct list_entry *e = xcalloc(list->count + nsubs + 1, sizeof(*e));

	e[n].folder = xstrdup("");
	e[n++].exists = true;
	for (size_t i = 0; i < list->count; i++) {
		if (!folder_nameable(client, list->names[i]))
			continue;
		e[n].folder = xstrdup(list->names[i]);
		e[n++].exists = true;
	}
	for (size_t i = 0; i < nsubs; i++) {
		char *f = subscription_folder(subs[i]);
		size_t j;
		if (f == NULL)
			continue;
		if (!folder_nameable(client, f)) {
			free(f);
			continue;
		}
		for (j = 0; j < n && strcmp(e[j].folder, f) != 0; j++)
			;
		if (j < n) {
			e[j].subscribed = true;
			free(f);
			continue;
		}
		e[n].folder = f;
		e[n++].subscribed = true;
	}
	imap_subscriptions_free(subs, nsubs);
	/* other accounts' folders: subscribed ones already have an entry */
	size_t before = n;
	shared_entries(client, o, &e, &n);
	sharable_entries(client, o, &e, &n);
	for (size_t i = before; i < n; i++) {
		for (size_t j = 0; j < before; j++) {
			if (e[j].folder != NULL &&
			    strcmp(e[j].folder, e[i].folder) == 0) {
				e[j].exists = true;
				free(e[i].folder);
				e[i].folder = NULL;
				break;
			}
		}
	}
	size_t kept = before;
	for (size_t i = before; i < n; i++)
		if (e[i].folder != NULL)
			e[kept++] = e[i];
	n = kept;
	/* the parents of every name, as placeholders where they are
	 * neither folders nor subscribed ("A" of "A.B") */
	size_t have = n;
	for (size_t i = 0; i < have; i++) {
		char *dot = e[i].folder;
		while ((dot = strchr(dot, '.')) != NULL) {
			char *parent = xstrndup(e[i].folder,
						(size_t)(dot - e[i].folder));
			size_t j;
			dot++;
			for (j = 0; j < n && strcmp(e[j].folder, parent) != 0;
			     j++)
				;
			if (j < n) {
				free(parent);
				continue;
			}
			e = xreallocarray(e, n + 1, sizeof(*e));
			memset(&e[n], 0, sizeof(*e));
			e[n++].folder = parent;
		}
	}
	qsort(e, n, sizeof(*e), entry_cmp);
	/* children: the names after a folder that start with "folder." */
	for (size_t i = 0; i < n; i++) {
		size_t flen = strlen(e[i].folder);
		if (flen == 0) {
			/* with the INBOX. prefix every folder of the
			 * account is under INBOX */
			if (client->set->namespace_prefix[0] == '\0')
				continue;
			for (size_t j = 0; j < n; j++) {
				if (j == i ||
				    imap_folder_is_shared(e[j].folder) ||
				    imap_folder_is_sharable(e[j].folder))
					continue;
				if (e[j].exists)
					e[i].children = true;
				if (e[j].subscribed)
					e[i].child_subscribed = true;
			}
			continue;
		}
		for (size_t j = i + 1; j < n; j++) {
			if (strncmp(e[j].folder, e[i].folder, flen) != 0 ||
			    e[j].folder[flen] != '.')
				break;
			if (e[j].exists)
				e[i].children = true;
			if (e[j].subscribed)
				e[i].child_subscribed = true;
		}
	}
	*count_r = n;
	return e;
}

static bool matches(struct imap_client *client, const struct list_opts *o,
		    const char *name)
{
	for (size_t i = 0; i < o->pattern_count; i++) {
		char *pattern = xasprintf("%s%s", o->ref, o->patterns[i].str);
		bool m = match_name(pattern, name);
		free(pattern);
		if (m)
			return true;
	}
	(void)client;
	return false;
}

/* True when e[i] has a subscribed descendant that the patterns do not
 * match (so LSUB shows e[i] in its place).  e is sorted by entry_cmp(),
 * so a folder's descendants follow it; INBOX's are every folder of the
 * account when the namespace prefix is INBOX. */
static bool hidden_subscribed_child(struct imap_client *client,
				    const struct list_opts *o,
				    const struct list_entry *e, size_t n,
				    size_t i)
{
	size_t flen = strlen(e[i].folder);

	if (flen == 0 && client->set->namespace_prefix[0] == '\0')
		return false;
	for (size_t j = i + 1; j < n; j++) {
		if (flen == 0 ? imap_folder_is_shared(e[j].folder) ||
					imap_folder_is_sharable(e[j].folder) :
				strncmp(e[j].folder, e[i].folder, flen) != 0 ||
					e[j].folder[flen] != '.') {
			if (flen == 0)
				continue;
			break;
		}
		if (!e[j].subscribed)
			continue;
		char *name = imap_folder_to_client(client, e[j].folder);
		bool m = matches(client, o, name);
		free(name);
		if (!m)
			return true;
	}
	return false;
}

static void list_common(struct imap_cmd *cmd, bool lsub)
{
	struct imap_client *client = cmd->client;
	struct list_opts o = { .lsub = lsub };
	const char *error;

	if (parse_list_args(cmd, &o, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (o.pattern_count == 1 && o.patterns[0].str[0] == '\0' &&
	    !o.extended && !lsub) {
		imap_client_send(client, "* LIST (\\Noselect) \".\" \"\"");
		imap_cmd_ok(cmd, "LIST completed");
		return;
	}
	struct maildir_folder_list *list;
	if (maildir_folder_list(client->root, &list, &error) < 0) {
		imap_cmd_no(cmd, "[SERVERBUG] Cannot list folders");
		return;
	}
	size_t n;
	struct list_entry *e = list_entries(client, &o, list, &n);
	maildir_folder_list_free(&list);
	bool want_sub = lsub || o.sel_subscribed;
	struct str s, su;
	str_init(&s, 256);
	str_init(&su, 64);
	for (size_t i = 0; i < n; i++) {
		bool childinfo = false, lsub_parent = false;
		char *name = imap_folder_to_client(client, e[i].folder);

		if (!matches(client, &o, name))
			goto next;
		/* a folder the session may not look up is not listed
		 * (RFC 4314 4: LIST needs l) */
		if (e[i].exists &&
		    (imap_folder_rights(client, e[i].folder) &
		     IMAP_ACL_LOOKUP) == 0)
			goto next;
		str_clear(&su);
		if (e[i].exists)
			special_use(client, e[i].folder, &su);
		/* the selection options */
		if (want_sub && !e[i].subscribed && !lsub) {
			/* RECURSIVEMATCH: a parent of subscribed ones */
			if (!(o.recursive && e[i].child_subscribed))
				goto next;
			childinfo = true;
		}
		/* a placeholder shows as a parent of existing folders */
		if (!want_sub && !e[i].exists && !e[i].children)
			goto next;
		if (o.sel_special && str_len(&su) == 0)
			goto next;
		/* LSUB: a parent that is not subscribed itself shows as
		 * \Noselect when the pattern reaches it and not its
		 * subscribed descendants (RFC 3501 6.3.9: LSUB "" "%") */
		if (lsub && !e[i].subscribed) {
			if (!e[i].child_subscribed ||
			    !hidden_subscribed_child(client, &o, e, n, i))
				goto next;
			lsub_parent = true;
		}
		str_clear(&s);
		str_printfa(&s, "* %s (", lsub ? "LSUB" : "LIST");
		if (lsub_parent) {
			str_append(&s, "\\Noselect");
			if (e[i].children)
				str_append(&s, " \\HasChildren");
		} else if (!e[i].exists) {
			/* \NonExistent implies \Noselect (RFC 5258) */
			str_append(&s, o.extended || client->imap4rev2 ?
					       "\\NonExistent" :
					       "\\Noselect");
			if (e[i].children)
				str_append(&s, " \\HasChildren");
		} else {
			str_append(&s, e[i].children ? "\\HasChildren" :
						       "\\HasNoChildren");
		}
		if (!lsub)
			str_append(&s, str_c(&su));
		if (!lsub && e[i].subscribed)
			str_append(&s, " \\Subscribed");
		str_append(&s, ") \".\" ");
		imap_quote_astring(&s, name, client->utf8);
		if (childinfo)
			str_append(&s, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
		str_append(&s, "\r\n");
		/* LIST-STATUS: after the LIST line; the items were
		 * checked, and a folder that cannot be read gets none */
		if (o.status_items != NULL && e[i].exists)
			(void)imap_status_append(client, e[i].folder,
						 o.status_items,
						 o.status_count, &s, &error);
		imap_client_write(client, str_c(&s), str_len(&s));
	next:
		free(name);
	}
	str_free(&s);
	str_free(&su);
	for (size_t i = 0; i < n; i++)
		free(e[i].folder);
	free(e);
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
	/* other users' folders are all reached through the #shared
	 * namespace, so they are announced as shared (RFC 2342 5), and
	 * so are the sharable maildirs' under "shared." (as Courier),
	 * when the account has any */
	imap_client_printf(cmd->client,
			   "* NAMESPACE ((\"%s\" \".\")) NIL %s",
			   cmd->client->set->namespace_prefix,
			   cmd->client->shared_index_path == NULL ? "NIL" :
			   imap_sharable_enabled(cmd->client) ?
				   "((\"" IMAP_SHARED_PREFIX ".\" \".\")"
				   "(\"" IMAP_SHARABLE_PREFIX ".\" \".\"))" :
				   "((\"" IMAP_SHARED_PREFIX ".\" \".\"))");
	imap_cmd_ok(cmd, "NAMESPACE completed");
}
