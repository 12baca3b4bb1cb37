/* cmd-mailbox.c: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and
 * STATUS. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-list.h"
#include "imap-mailbox.h"
#include "imap-quote.h"
#include "imap-shared.h"
#include "log.h"
#include "mail-index.h"
#include "maildir-folder.h"
#include "maildir-keywords.h"
#include "maildir.h"
#include "mem.h"

/* The folder named by args[i] (an astring), or NULL after a reply. */
static char *arg_folder(struct imap_cmd *cmd, size_t i)
{
	const char *error;

	if (i >= cmd->count || !imap_arg_is_string(&cmd->args[i])) {
		imap_cmd_bad(cmd, "%s needs a mailbox name", cmd->name);
		return NULL;
	}
	char *folder = imap_folder_from_client(cmd->client, cmd->args[i].str,
					       &error);
	if (folder == NULL)
		imap_cmd_no(cmd, "[CANNOT] %s", error);
	return folder;
}

/* The parent of folder ("a.b" of "a.b.c", "" (INBOX) of a top one; for
 * another account's "#shared.bob.a", "#shared.bob.INBOX"), caller
 * frees. */
static char *folder_parent(struct imap_client *client, const char *folder)
{
	struct imap_folder_loc loc;

	if (imap_folder_is_shared(folder) &&
	    imap_folder_locate(client, folder, &loc) > 0) {
		const char *dot = strrchr(loc.sub, '.');
		char *ret = dot == NULL ?
			xasprintf("%s.%s.INBOX", IMAP_SHARED_PREFIX,
				  loc.owner) :
			xasprintf("%s.%s.%.*s", IMAP_SHARED_PREFIX, loc.owner,
				  (int)(dot - loc.sub), loc.sub);
		imap_folder_loc_free(&loc);
		return ret;
	}
	const char *dot = strrchr(folder, '.');

	return dot == NULL ? xstrdup("") :
			     xstrndup(folder, (size_t)(dot - folder));
}

/* The NO for CREATE, DELETE and RENAME of a name in the "shared."
 * namespace: those folders belong to the sharable maildir's owner. */
#define SHARABLE_REFUSED                                                     \
	"[CANNOT] Folders in the shared. namespace are another maildir's: " \
	"made and removed there with maildirmake -s"

/* Where folder lives, for CREATE, DELETE and RENAME: 1 and *loc_r, 0
 * for a #shared name that is no folder (answered NO). */
static int folder_loc(struct imap_cmd *cmd, const char *folder,
		      struct imap_folder_loc *loc_r)
{
	if (imap_folder_locate(cmd->client, folder, loc_r) > 0)
		return 1;
	imap_cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	return 0;
}

/* True when the session has the rights need on folder; else answers NO
 * ([NONEXISTENT] when it may not even see the folder) and is false. */
static bool folder_allows(struct imap_cmd *cmd, const char *folder,
			  unsigned int need, const char *what)
{
	unsigned int rights = imap_folder_rights(cmd->client, folder);

	if ((rights & need) == need)
		return true;
	if ((rights & (IMAP_ACL_LOOKUP | IMAP_ACL_READ)) == 0 &&
	    folder[0] != '\0')
		imap_cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	else
		imap_cmd_no(cmd, "[NOPERM] No %s right", what);
	return false;
}

/* Gives a new folder the ACL it inherits from its parent, written in
 * its own file as Courier-IMAP does.  Returns 0 or -1. */
static int acl_inherit(struct imap_client *client, const char *folder)
{
	struct imap_acl acl;
	const char *error;
	char *parent = folder_parent(client, folder);
	char *dir = imap_folder_dir(client, folder);

	(void)imap_folder_acl_load(client, parent, &acl);
	int ret = dir != NULL ? imap_acl_write_dir(dir, &acl, &error) : -1;
	imap_acl_free(&acl);
	free(dir);
	free(parent);
	return ret;
}

/* Checks the USE list of CREATE name (USE (attrs)) (RFC 6154 section 3)
 * and puts its attributes in *uses_r ("\\Sent\n..."), "" without one.
 * Returns 1; 0 after a reply (BAD or NO [USEATTR]). */
static int create_uses(struct imap_cmd *cmd, struct str *uses_r)
{
	if (cmd->count == 1)
		return 1;
	const struct imap_arg *p = &cmd->args[1];
	if (cmd->count != 2 || p->type != IMAP_ARG_LIST ||
	    p->list_count % 2 != 0) {
		imap_cmd_bad(cmd, "CREATE takes a mailbox name and "
				  "(USE (attributes))");
		return 0;
	}
	for (size_t i = 0; i < p->list_count; i += 2) {
		const struct imap_arg *v = &p->list[i + 1];

		if (!imap_arg_atom_equals(&p->list[i], "USE") ||
		    v->type != IMAP_ARG_LIST) {
			imap_cmd_bad(cmd, "Unknown CREATE parameter");
			return 0;
		}
		for (size_t j = 0; j < v->list_count; j++) {
			const char *use = v->list[j].type == IMAP_ARG_ATOM ?
						  v->list[j].str : NULL;

			if (use == NULL || use[0] != '\\') {
				imap_cmd_bad(cmd, "USE takes attributes");
				return 0;
			}
			const char *canon = imap_special_use_canonical(use);
			if (canon == NULL) {
				imap_cmd_no(cmd, "[USEATTR] %s is not a "
						 "special use this server "
						 "can give a mailbox",
					    use);
				return 0;
			}
			str_printfa(uses_r, "%s\n", canon);
		}
	}
	return 1;
}

void cmd_create(struct imap_cmd *cmd)
{
	const char *error;

	if (cmd->count != 1 && cmd->count != 2) {
		imap_cmd_bad(cmd, "CREATE takes a mailbox name");
		return;
	}
	struct str uses;
	str_init(&uses, 32);
	if (!create_uses(cmd, &uses)) {
		str_free(&uses);
		return;
	}
	/* a trailing separator only says the name may have children */
	struct imap_arg arg = cmd->args[0];
	char *trimmed = NULL;
	if (imap_arg_is_string(&arg) && arg.len > 1 &&
	    arg.str[arg.len - 1] == '.') {
		trimmed = xstrndup(arg.str, arg.len - 1);
		arg.str = trimmed;
		arg.len--;
	}
	struct imap_cmd sub = *cmd;
	sub.args = &arg;
	char *folder = arg_folder(&sub, 0);
	free(trimmed);
	if (folder == NULL) {
		str_free(&uses);
		return;
	}
	char *parent = folder_parent(cmd->client, folder);
	struct imap_folder_loc loc = { 0 };
	if (folder[0] == '\0') {
		imap_cmd_no(cmd, "[ALREADYEXISTS] INBOX always exists");
	} else if (imap_folder_is_sharable(folder)) {
		imap_cmd_no(cmd, SHARABLE_REFUSED);
	} else if (!folder_allows(cmd, parent, IMAP_ACL_CREATE, "create")) {
		/* k on the parent (INBOX for a top folder) */
	} else if (folder_loc(cmd, folder, &loc) > 0) {
		int r = loc.sub[0] == '\0' ? 0 :
			maildir_folder_create(loc.root, loc.sub, &error);
		if (r > 0 && acl_inherit(cmd->client, folder) < 0) {
			(void)maildir_folder_delete(loc.root, loc.sub,
						    &error);
			imap_cmd_no(cmd, "[SERVERBUG] Cannot write the ACL");
		} else if (r > 0 && str_len(&uses) > 0 &&
		    imap_special_use_write(cmd->client, folder,
					   str_c(&uses)) < 0) {
			/* all or nothing (RFC 6154 section 3) */
			(void)maildir_folder_delete(loc.root, loc.sub,
						    &error);
			imap_cmd_no(cmd, "[USEATTR] Cannot record the "
					 "special use");
		} else if (r < 0) {
			imap_cmd_no(cmd, "[CANNOT] %s", error);
		} else if (r == 0) {
			imap_cmd_no(cmd, "[ALREADYEXISTS] Mailbox exists");
		} else {
			imap_cmd_ok(cmd, "CREATE completed");
		}
	}
	imap_folder_loc_free(&loc);
	str_free(&uses);
	free(parent);
	free(folder);
}

void cmd_delete(struct imap_cmd *cmd)
{
	const char *error;
	char *folder = cmd->count == 1 ? arg_folder(cmd, 0) : NULL;
	struct imap_folder_loc loc = { 0 };

	if (cmd->count != 1) {
		imap_cmd_bad(cmd, "DELETE takes a mailbox name");
		return;
	}
	if (folder == NULL)
		return;
	if (folder[0] == '\0') {
		imap_cmd_no(cmd, "[CANNOT] INBOX cannot be deleted");
	} else if (imap_folder_is_sharable(folder)) {
		imap_cmd_no(cmd, SHARABLE_REFUSED);
	} else if (cmd->client->mbox != NULL &&
		   strcmp(cmd->client->mbox->name, cmd->args[0].str) == 0) {
		imap_cmd_no(cmd, "[INUSE] Mailbox is selected");
	} else if (!folder_allows(cmd, folder, IMAP_ACL_DELETE, "delete")) {
		/* x on the folder */
	} else if (folder_loc(cmd, folder, &loc) > 0) {
		int r = loc.sub[0] == '\0' ? -1 :
			maildir_folder_delete(loc.root, loc.sub, &error);
		if (loc.sub[0] == '\0')
			imap_cmd_no(cmd, "[CANNOT] INBOX cannot be deleted");
		else if (r < 0)
			imap_cmd_no(cmd, "[CANNOT] %s", error);
		else if (r == 0)
			imap_cmd_no(cmd, "[NONEXISTENT] No such mailbox");
		else
			imap_cmd_ok(cmd, "DELETE completed");
	}
	imap_folder_loc_free(&loc);
	free(folder);
}

/* The message files of dir/sub (new or cur), sorted; NULL-terminated,
 * free with str_split_free().  NULL with errno when it cannot be read. */
static char **message_files(const char *dir, const char *sub)
{
	char *path = xasprintf("%s/%s", dir, sub);
	DIR *d = opendir(path);
	free(path);
	if (d == NULL)
		return NULL;
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	v = xreallocarray(v, n + 1, sizeof(*v));
	v[n] = NULL;
	return v;
}

/* RENAME INBOX (RFC 3501 6.3.5, RFC 9051 6.3.6): creates folder to under
 * root and moves every message of root's INBOX into it, flags (in the
 * file names) and keywords with them; INBOX stays, empty, and its
 * subfolders are not touched.  A message another session expunges
 * meanwhile is skipped.  Returns 1, 0 if to exists, -1 with *error_r
 * (the messages moved so far stay moved). */
static int rename_inbox(const char *root, const char *to,
			const char **error_r)
{
	static const char *const subs[] = { "new", "cur" };
	int r = maildir_folder_create(root, to, error_r);

	if (r <= 0)
		return r;
	char *dir = maildir_folder_path(root, to);
	struct maildir_keywords *kw = NULL;
	const char *kw_error;
	if (maildir_keywords_load(root, NULL, &kw, &kw_error) < 0) {
		log_warning("imapd: RENAME INBOX: keywords not read: %s",
			    kw_error);
		kw = NULL;
	}
	int ret = 1;
	for (size_t i = 0; i < 2 && ret > 0; i++) {
		char **files = message_files(root, subs[i]);
		if (files == NULL) {
			*error_r = "Cannot read INBOX";
			ret = -1;
			break;
		}
		for (size_t j = 0; files[j] != NULL && ret > 0; j++) {
			char *src = xasprintf("%s/%s/%s", root, subs[i],
					      files[j]);
			char *dst = xasprintf("%s/%s/%s", dir, subs[i],
					      files[j]);
			size_t nkw = 0;
			const char *const *names =
				kw == NULL ? NULL :
					     maildir_keywords_get(kw, files[j],
								  &nkw);
			if (nkw > 0 &&
			    maildir_keywords_store(dir, files[j], names, nkw,
						   &kw_error) < 0)
				log_warning("imapd: RENAME INBOX: keywords of "
					    "%s not kept: %s",
					    files[j], kw_error);
			if (rename(src, dst) < 0 && errno != ENOENT) {
				*error_r = "Cannot move a message";
				ret = -1;
			}
			free(src);
			free(dst);
		}
		str_split_free(&files);
	}
	maildir_keywords_destroy(&kw);
	free(dir);
	return ret;
}

void cmd_rename(struct imap_cmd *cmd)
{
	const char *error;

	if (cmd->count != 2) {
		imap_cmd_bad(cmd, "RENAME takes two mailbox names");
		return;
	}
	char *from = arg_folder(cmd, 0);
	if (from == NULL)
		return;
	char *to = arg_folder(cmd, 1);
	if (to == NULL) {
		free(from);
		return;
	}
	char *to_parent = folder_parent(cmd->client, to);
	struct imap_folder_loc lf = { 0 }, lt = { 0 };
	if (to[0] == '\0') {
		imap_cmd_no(cmd, "[ALREADYEXISTS] INBOX always exists");
	} else if (imap_folder_is_sharable(from) ||
		   imap_folder_is_sharable(to)) {
		imap_cmd_no(cmd, SHARABLE_REFUSED);
	} else if (!folder_allows(cmd, from, IMAP_ACL_DELETE, "delete") ||
		   !folder_allows(cmd, to_parent, IMAP_ACL_CREATE, "create")) {
		/* x on the old name, k on the new parent */
	} else if (folder_loc(cmd, from, &lf) <= 0 ||
		   folder_loc(cmd, to, &lt) <= 0) {
		/* answered */
	} else if (strcmp(lf.root, lt.root) != 0 || lt.sub[0] == '\0') {
		imap_cmd_no(cmd, "[CANNOT] A folder stays in its account");
	} else if (lf.sub[0] == '\0') {
		int r = rename_inbox(lt.root, lt.sub, &error);
		if (r < 0)
			imap_cmd_no(cmd, "[CANNOT] %s", error);
		else if (r == 0)
			imap_cmd_no(cmd, "[ALREADYEXISTS] Mailbox exists");
		else if (acl_inherit(cmd->client, to) < 0)
			imap_cmd_no(cmd, "[SERVERBUG] Cannot write the ACL");
		else
			imap_cmd_ok(cmd, "RENAME completed");
	} else {
		/* a folder without its own ACL file has its parent's: write
		 * that into its new place, so that it keeps its rights under
		 * another parent (its subfolders go with it, files and all) */
		struct imap_acl inherited = { 0 };
		char *old_dir = maildir_folder_path(lf.root, lf.sub);
		bool carry = old_dir != NULL &&
			     imap_acl_read_dir(old_dir, &inherited,
					       &error) == 0;
		imap_acl_free(&inherited);
		if (carry)
			imap_acl_load(lf.root, lf.sub, &inherited);
		free(old_dir);
		int r = maildir_folder_rename(lf.root, lf.sub, lt.sub, &error);
		if (r > 0 && carry) {
			char *new_dir = maildir_folder_path(lt.root, lt.sub);
			const char *error2;

			if (new_dir == NULL ||
			    imap_acl_write_dir(new_dir, &inherited,
					       &error2) < 0)
				log_warning("imapd: RENAME %s: ACL not "
					    "written", lt.sub);
			free(new_dir);
		}
		imap_acl_free(&inherited);
		if (r < 0)
			imap_cmd_no(cmd, "[%s] %s",
				    errno == EEXIST ? "ALREADYEXISTS" :
						      "CANNOT",
				    error);
		else if (r == 0)
			imap_cmd_no(cmd, "[NONEXISTENT] No such mailbox");
		else
			imap_cmd_ok(cmd, "RENAME completed");
	}
	imap_folder_loc_free(&lf);
	imap_folder_loc_free(&lt);
	free(to_parent);
	free(from);
	free(to);
}

static int write_subscriptions(struct imap_client *client, char **v,
			       size_t n)
{
	char *path = xasprintf("%s/courierimapsubscribed", client->root);
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	int ret = -1;

	if (f != NULL) {
		for (size_t i = 0; i < n; i++)
			if (v[i] != NULL)
				fprintf(f, "%s\n", v[i]);
		if (fflush(f) == 0 && fsync(fileno(f)) == 0)
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
	return ret;
}

static void subscribe_common(struct imap_cmd *cmd, bool on)
{
	if (cmd->count != 1) {
		imap_cmd_bad(cmd, "%s takes a mailbox name", cmd->name);
		return;
	}
	char *folder = arg_folder(cmd, 0);
	if (folder == NULL)
		return;
	char *name = imap_subscription_name(folder);
	size_t n;
	char **v = imap_subscriptions_read(cmd->client, &n);
	bool found = false;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i], name) == 0) {
			found = true;
			if (!on)
				x_free(v[i]);
		}
	}
	int r = 0;
	if (on && !found) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(name);
	}
	if (on != found)
		r = write_subscriptions(cmd->client, v, n);
	if (r < 0)
		imap_cmd_no(cmd, "[SERVERBUG] Cannot write the subscriptions");
	else
		imap_cmd_ok(cmd, "%s completed", cmd->name);
	imap_subscriptions_free(v, n);
	free(name);
	free(folder);
}

void cmd_subscribe(struct imap_cmd *cmd)
{
	subscribe_common(cmd, true);
}

void cmd_unsubscribe(struct imap_cmd *cmd)
{
	subscribe_common(cmd, false);
}

int imap_status_append(struct imap_client *client, const char *folder,
		       const struct imap_arg *items, size_t count,
		       struct str *out, const char **error_r)
{
	/* a sharable folder's counts are those of the account's copy */
	char *dir = imap_folder_index_dir(client, folder, NULL, NULL);
	struct mail_index *index = NULL;
	struct mail_index_status st;
	const char *error;

	unsigned int rights = dir != NULL ? imap_folder_rights(client, folder) :
					    0;
	if (dir == NULL || !maildir_is_maildir(dir) ||
	    (rights & (IMAP_ACL_LOOKUP | IMAP_ACL_READ)) == 0) {
		free(dir);
		*error_r = "[NONEXISTENT] No such mailbox";
		return 0;
	}
	if ((rights & IMAP_ACL_READ) == 0) {
		/* STATUS needs r (RFC 4314 4) */
		free(dir);
		*error_r = "[NOPERM] No read right on the mailbox";
		return 0;
	}
	if (mail_index_open(dir, NULL, &index, &error) < 0 ||
	    mail_index_get_status(index, &st, &error) < 0) {
		mail_index_close(&index);
		free(dir);
		*error_r = "[SERVERBUG] Cannot read the mailbox";
		return 0;
	}
	free(dir);
	char *name = imap_folder_to_client(client, folder);
	str_append(out, "* STATUS ");
	imap_quote_astring(out, name, client->utf8);
	free(name);
	str_append(out, " (");
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *it = &items[i];
		if (i > 0)
			str_append_c(out, ' ');
		if (imap_arg_atom_equals(it, "MESSAGES"))
			str_printfa(out, "MESSAGES %u", st.messages);
		else if (imap_arg_atom_equals(it, "RECENT"))
			str_printfa(out, "RECENT %u",
				    imap_mailbox_count_unclaimed_recent(index));
		else if (imap_arg_atom_equals(it, "UIDNEXT"))
			str_printfa(out, "UIDNEXT %u", st.uidnext);
		else if (imap_arg_atom_equals(it, "UIDVALIDITY"))
			str_printfa(out, "UIDVALIDITY %u", st.uidvalidity);
		else if (imap_arg_atom_equals(it, "UNSEEN"))
			str_printfa(out, "UNSEEN %u", st.messages - st.seen);
		else if (imap_arg_atom_equals(it, "DELETED"))
			str_printfa(out, "DELETED %u", st.deleted);
		else if (imap_arg_atom_equals(it, "SIZE"))
			str_printfa(out, "SIZE %llu",
				    (unsigned long long)st.total_size);
		else if (imap_arg_atom_equals(it, "HIGHESTMODSEQ")) {
			str_printfa(out, "HIGHESTMODSEQ %llu",
				    (unsigned long long)st.highestmodseq);
			client->condstore = true; /* RFC 7162 3.1 */
		} else {
			mail_index_close(&index);
			*error_r = "Unknown STATUS item";
			return -1;
		}
	}
	str_append(out, ")\r\n");
	mail_index_close(&index);
	return 1;
}

bool imap_status_items_valid(const struct imap_arg *items, size_t count)
{
	static const char *const names[] = {
		"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
		"DELETED", "SIZE", "HIGHESTMODSEQ",
	};

	for (size_t i = 0; i < count; i++) {
		bool ok = false;
		for (size_t j = 0; j < N_ELEMENTS(names) && !ok; j++)
			ok = imap_arg_atom_equals(&items[i], names[j]);
		if (!ok)
			return false;
	}
	return true;
}

void cmd_status(struct imap_cmd *cmd)
{
	const char *error;

	if (cmd->count != 2 || cmd->args[1].type != IMAP_ARG_LIST ||
	    cmd->args[1].list_count == 0) {
		imap_cmd_bad(cmd, "STATUS takes a mailbox and a list of items");
		return;
	}
	if (!imap_status_items_valid(cmd->args[1].list,
				     cmd->args[1].list_count)) {
		imap_cmd_bad(cmd, "Unknown STATUS item");
		return;
	}
	char *folder = arg_folder(cmd, 0);
	if (folder == NULL)
		return;
	struct str s;
	str_init(&s, 128);
	int ret = imap_status_append(cmd->client, folder, cmd->args[1].list,
				     cmd->args[1].list_count, &s, &error);
	free(folder);
	if (ret > 0)
		imap_client_write(cmd->client, str_c(&s), str_len(&s));
	str_free(&s);
	if (ret > 0)
		imap_cmd_ok(cmd, "STATUS completed");
	else if (ret == 0)
		imap_cmd_no(cmd, "%s", error);
	else
		imap_cmd_bad(cmd, "%s", error);
}
