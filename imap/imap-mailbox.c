/* imap-mailbox.c: mailbox names and the selected mailbox's view. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap-acl.h"
#include "imap-client-private.h"
#include "imap-header-cache.h"
#include "imap-mailbox.h"
#include "imap-message.h"
#include "imap-search.h"
#include "imap-sharable.h"
#include "imap-shared.h"
#include "instance.h"
#include "log.h"
#include "mail-index-bulk.h"
#include "mail-index-courier.h"
#include "maildir-folder.h"
#include "maildir.h"
#include "mem.h"
#include "mutf7.h"

/* True when name is in the #shared namespace ("#shared" or
 * "#shared.something"). */
static bool shared_name(const char *name)
{
	size_t n = strlen(IMAP_SHARED_PREFIX);

	return strncmp(name, IMAP_SHARED_PREFIX, n) == 0 &&
	       (name[n] == '\0' || name[n] == '.');
}

bool imap_folder_is_shared(const char *folder)
{
	return shared_name(folder);
}

bool imap_folder_is_sharable(const char *folder)
{
	size_t n = strlen(IMAP_SHARABLE_INTERNAL);

	return strncmp(folder, IMAP_SHARABLE_INTERNAL, n) == 0 &&
	       (folder[n] == '\0' || folder[n] == '.');
}

static void sharable_list(struct imap_client *client,
			  struct imap_sharable_list *list_r);

bool imap_sharable_enabled(struct imap_client *client)
{
	struct imap_sharable_list list;

	if (client->shared_index_path == NULL)
		return false;
	sharable_list(client, &list);
	bool ret = list.count > 0;
	imap_sharable_list_free(&list);
	return ret;
}

/* True when the client's name is in the "shared." namespace: "shared"
 * or "shared.something", when the session has that namespace. */
static bool sharable_client_name(struct imap_client *client,
				 const char *name)
{
	size_t n = strlen(IMAP_SHARABLE_PREFIX);

	return strncmp(name, IMAP_SHARABLE_PREFIX, n) == 0 &&
	       (name[n] == '\0' || name[n] == '.') &&
	       imap_sharable_enabled(client);
}

char *imap_folder_from_client(struct imap_client *client, const char *name,
			      const char **error_r)
{
	const char *prefix = client->set->namespace_prefix;
	char *utf8;

	if (strcasecmp(name, "INBOX") == 0)
		return xstrdup("");
	if (client->shared_index_path != NULL && shared_name(name)) {
		utf8 = client->utf8 ? xstrdup(name) : mutf7_decode_dup(name);
		if (utf8 == NULL || strlen(utf8) > 4096 ||
		    strstr(utf8, "..") != NULL || strchr(utf8, '/') != NULL ||
		    utf8[strlen(utf8) - 1] == '.') {
			free(utf8);
			*error_r = "Invalid mailbox name";
			return NULL;
		}
		return utf8;
	}
	if (sharable_client_name(client, name)) {
		utf8 = client->utf8 ? xstrdup(name) : mutf7_decode_dup(name);
		if (utf8 == NULL || strlen(utf8) > 4096 ||
		    strstr(utf8, "..") != NULL || strchr(utf8, '/') != NULL ||
		    utf8[strlen(utf8) - 1] == '.') {
			free(utf8);
			*error_r = "Invalid mailbox name";
			return NULL;
		}
		char *ret = xasprintf("/%s", utf8);
		free(utf8);
		return ret;
	}
	if (prefix[0] != '\0') {
		if (strncasecmp(name, prefix, strlen(prefix)) != 0) {
			*error_r = "Mailbox outside the namespace (names "
				   "begin with INBOX.)";
			return NULL;
		}
		name += strlen(prefix);
	}
	utf8 = client->utf8 ? xstrdup(name) : mutf7_decode_dup(name);
	/* no folder is named INBOX: "INBOX.INBOX" with the INBOX. prefix
	 * would be a folder "INBOX" that the "" layout could not show;
	 * "INBOX.#shared.x" is not a way into the shared namespace */
	if (utf8 == NULL || !maildir_folder_name_valid(utf8) ||
	    (strncasecmp(utf8, "INBOX", 5) == 0 &&
	     (utf8[5] == '\0' || utf8[5] == '.')) ||
	    (shared_name(utf8) &&
	     (prefix[0] != '\0' || client->shared_index_path != NULL))) {
		free(utf8);
		*error_r = "Invalid mailbox name";
		return NULL;
	}
	return utf8;
}

char *imap_folder_to_client(struct imap_client *client, const char *folder)
{
	if (folder[0] == '\0')
		return xstrdup("INBOX");
	bool sharable = imap_folder_is_sharable(folder);
	if (sharable)
		folder++;	/* "/shared.x" is "shared.x" */
	char *enc = client->utf8 ? xstrdup(folder) : mutf7_encode_dup(folder);
	if (enc == NULL)
		enc = xstrdup(folder);
	if (shared_name(folder) || sharable)
		return enc;
	char *ret = xasprintf("%s%s", client->set->namespace_prefix, enc);
	free(enc);
	return ret;
}

const struct imap_shared_index *imap_client_shared_index(
	struct imap_client *client)
{
	struct stat st;

	if (client->shared_index_path == NULL)
		return NULL;
	if (stat(client->shared_index_path, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (client->shared_index != NULL &&
	    client->shared_mtime == st.st_mtim.tv_sec &&
	    client->shared_mtime_ns == st.st_mtim.tv_nsec &&
	    client->shared_size == st.st_size)
		return client->shared_index;
	if (client->shared_index == NULL)
		client->shared_index = xcalloc(1, sizeof(*client->shared_index));
	else
		imap_shared_index_free(client->shared_index);
	imap_shared_index_load(client->shared_index_path,
			       client->set->maildir_path,
			       client->shared_index);
	client->shared_mtime = st.st_mtim.tv_sec;
	client->shared_mtime_ns = st.st_mtim.tv_nsec;
	client->shared_size = st.st_size;
	return client->shared_index;
}

/* The sharable maildirs the session reads (imap-sharable.h). */
static void sharable_list(struct imap_client *client,
			  struct imap_sharable_list *list_r)
{
	char *global = instance_etc_path(IMAP_SHARABLE_GLOBAL_FILE);

	imap_sharable_list_load(client->root, global, list_r);
	free(global);
}

/* imap_folder_locate() for "/shared.NICK.FOLDER"; *access_r as
 * imap_sharable_access() says. */
static int sharable_locate(struct imap_client *client, const char *folder,
			   struct imap_folder_loc *loc_r, int *access_r)
{
	const char *rest = folder + strlen(IMAP_SHARABLE_INTERNAL), *sub;
	struct imap_sharable_list list;
	size_t nick_len;

	*access_r = 0;
	if (client->shared_index_path == NULL || *rest++ != '.' ||
	    !imap_sharable_split(rest, &nick_len, &sub) ||
	    !maildir_folder_name_valid(sub))
		return 0;
	sharable_list(client, &list);
	const struct imap_sharable_entry *e =
		imap_sharable_list_find(&list, rest, nick_len);
	char *dir = e != NULL ? maildir_folder_path(e->path, sub) : NULL;
	int access = dir != NULL ? imap_sharable_access(dir) : 0;
	free(dir);
	if (access > 0) {
		loc_r->root = xstrdup(e->path);
		loc_r->sub = xstrdup(sub);
		loc_r->owner = xstrndup(rest, nick_len);
		loc_r->shared = true;
		*access_r = access;
	}
	imap_sharable_list_free(&list);
	return access > 0 ? 1 : 0;
}

char *imap_sharable_copy_dir(struct imap_client *client, const char *folder)
{
	const char *rest = folder + strlen(IMAP_SHARABLE_INTERNAL), *sub;
	size_t nick_len;

	if (!imap_folder_is_sharable(folder) || *rest++ != '.' ||
	    !imap_sharable_split(rest, &nick_len, &sub))
		return NULL;
	char *dirname = maildir_folder_dirname(sub);
	if (dirname == NULL)
		return NULL;
	/* ".Name" on disk; the copy is "Name" */
	char *ret = xasprintf("%s/" IMAP_SHARABLE_DIR "/%.*s/%s", client->root,
			      (int)nick_len, rest, dirname + 1);
	free(dirname);
	return ret;
}

/* The mtimes (sec, nsec) of dir's new/ and cur/ (0 for one missing). */
static void sharable_stamp(const char *dir, int64_t stamp_r[4])
{
	struct stat st;

	memset(stamp_r, 0, 4 * sizeof(*stamp_r));
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, i == 0 ? "new" : "cur");
		if (stat(p, &st) == 0) {
			stamp_r[i * 2] = st.st_mtim.tv_sec;
			stamp_r[i * 2 + 1] = st.st_mtim.tv_nsec;
		}
		free(p);
	}
}

/* imap_sharable_present_func over a copy's index: true unless the index
 * surely has no message with that base name (so an error is true: no
 * expunge is carried on a guess). */
static bool copy_index_has(const char *base, void *context)
{
	struct mail_index *index = context;
	struct mail_index_record rec;
	const char *error;

	return index == NULL ||
	       mail_index_lookup_base(index, base, &rec, &error) != 0;
}

/* imap_folder_index_dir(); stamp_r (may be NULL) gets the sharable
 * folder's stamp taken just before the refresh. */
static char *index_dir(struct imap_client *client, const char *folder,
		       char **orig_r, bool *writable_r, int64_t *stamp_r)
{
	struct imap_folder_loc loc;
	const char *error;
	int access;

	if (orig_r != NULL)
		*orig_r = NULL;
	if (writable_r != NULL)
		*writable_r = false;
	if (!imap_folder_is_sharable(folder))
		return imap_folder_dir(client, folder);
	if (sharable_locate(client, folder, &loc, &access) <= 0)
		return NULL;
	char *orig = maildir_folder_path(loc.root, loc.sub);
	char *copy = imap_sharable_copy_dir(client, folder);
	imap_folder_loc_free(&loc);
	if (orig != NULL && stamp_r != NULL)
		sharable_stamp(orig, stamp_r);
	/* the copy's index confirms what the account expunged */
	struct mail_index *cidx = NULL;
	if (copy != NULL && maildir_is_maildir(copy) &&
	    mail_index_open(copy, NULL, &cidx, &error) < 0)
		cidx = NULL;
	int r = orig == NULL || copy == NULL ? -1 :
		imap_sharable_refresh(copy, orig, access == 2, copy_index_has,
				      cidx, &error);
	mail_index_close(&cidx);
	if (r == 0 && stamp_r != NULL)
		memset(stamp_r, 0, 4 * sizeof(*stamp_r)); /* again soon */
	if (r < 0) {
		if (orig != NULL && copy != NULL)
			log_warning("imapd: %s: %s", copy, error);
		free(orig);
		free(copy);
		return NULL;
	}
	if (orig_r != NULL)
		*orig_r = orig;
	else
		free(orig);
	if (writable_r != NULL)
		*writable_r = access == 2;
	return copy;
}

char *imap_folder_index_dir(struct imap_client *client, const char *folder,
			    char **orig_r, bool *writable_r)
{
	return index_dir(client, folder, orig_r, writable_r, NULL);
}

int imap_folder_locate(struct imap_client *client, const char *folder,
		       struct imap_folder_loc *loc_r)
{
	int access;

	memset(loc_r, 0, sizeof(*loc_r));
	if (imap_folder_is_sharable(folder))
		return sharable_locate(client, folder, loc_r, &access);
	if (!shared_name(folder)) {
		loc_r->root = xstrdup(client->root);
		loc_r->sub = xstrdup(folder);
		loc_r->owner = xstrdup(client->user);
		return 1;
	}
	const struct imap_shared_index *idx = imap_client_shared_index(client);
	const char *rest = folder + strlen(IMAP_SHARED_PREFIX), *sub;
	if (idx == NULL || *rest++ != '.')
		return 0;
	const struct imap_shared_account *a =
		imap_shared_index_split(idx, rest, &sub);
	if (a == NULL || *sub == '\0' || strcmp(a->name, client->user) == 0)
		return 0;
	if (strcmp(sub, "INBOX") == 0)
		sub = "";
	else if (!maildir_folder_name_valid(sub) ||
		 strncasecmp(sub, "INBOX.", 6) == 0)
		return 0;
	loc_r->root = xstrdup(a->maildir);
	loc_r->sub = xstrdup(sub);
	loc_r->owner = xstrdup(a->name);
	loc_r->shared = true;
	return 1;
}

void imap_folder_loc_free(struct imap_folder_loc *loc)
{
	free(loc->root);
	free(loc->sub);
	free(loc->owner);
	memset(loc, 0, sizeof(*loc));
}

char *imap_folder_dir(struct imap_client *client, const char *folder)
{
	struct imap_folder_loc loc;

	if (imap_folder_locate(client, folder, &loc) <= 0)
		return NULL;
	char *dir = loc.sub[0] == '\0' ? xstrdup(loc.root) :
					 maildir_folder_path(loc.root, loc.sub);
	imap_folder_loc_free(&loc);
	return dir;
}

bool imap_folder_acl_load(struct imap_client *client, const char *folder,
			  struct imap_acl *acl_r)
{
	struct imap_folder_loc loc;

	if (imap_folder_locate(client, folder, &loc) <= 0) {
		acl_r->entries = NULL;
		acl_r->count = 0;
		return false;
	}
	if (imap_folder_is_sharable(folder)) {
		/* filesystem permissions, no ACL */
		acl_r->entries = NULL;
		acl_r->count = 0;
		imap_folder_loc_free(&loc);
		return true;
	}
	imap_acl_load(loc.root, loc.sub, acl_r);
	imap_folder_loc_free(&loc);
	return true;
}

unsigned int imap_folder_rights(struct imap_client *client,
				const char *folder)
{
	struct imap_folder_loc loc;
	struct imap_acl acl;
	int access;

	if (imap_folder_is_sharable(folder)) {
		if (sharable_locate(client, folder, &loc, &access) <= 0)
			return 0;
		imap_folder_loc_free(&loc);
		/* the account's own copy: its flags, its expunges; adding
		 * messages needs a folder others may write (-s write) */
		return IMAP_ACL_LOOKUP | IMAP_ACL_READ | IMAP_ACL_SEEN |
		       IMAP_ACL_WRITE | IMAP_ACL_DELMSG | IMAP_ACL_EXPUNGE |
		       (access == 2 ? IMAP_ACL_INSERT : 0);
	}
	if (imap_folder_locate(client, folder, &loc) <= 0)
		return 0;
	struct imap_acl_who who = {
		.user = client->user,
		.owner = loc.owner,
		.groups = client->groups,
		.group_count = client->group_count,
	};
	imap_acl_load(loc.root, loc.sub, &acl);
	unsigned int rights = imap_acl_compute(&acl, &who);
	imap_acl_free(&acl);
	imap_folder_loc_free(&loc);
	return rights;
}

unsigned int imap_flags_rights(uint32_t flags, size_t keyword_count)
{
	unsigned int need = 0;

	if (flags & MAIL_INDEX_SEEN)
		need |= IMAP_ACL_SEEN;
	if (flags & MAIL_INDEX_DELETED)
		need |= IMAP_ACL_DELMSG;
	if ((flags & ~(uint32_t)(MAIL_INDEX_SEEN | MAIL_INDEX_DELETED)) != 0 ||
	    keyword_count > 0)
		need |= IMAP_ACL_WRITE;
	return need;
}

/* Keeps the folder's courierimapuiddb in step with the index (written
 * when the index was first built from the maildir, rewritten when the
 * index has given out UIDs since), so that a rebuilt index, or
 * Courier-IMAP, gives the messages the same UIDs. */
static void uiddb_update(struct mail_index *index,
			 const struct mail_index_status *st)
{
	const char *dir = mail_index_dir(index), *error;
	uint32_t uidvalidity, nextuid;
	int r = mail_index_uiddb_header(dir, &uidvalidity, &nextuid, &error);

	if (r > 0 && uidvalidity == st->uidvalidity && nextuid >= st->uidnext)
		return;
	if (r < 0 || mail_index_uiddb_export(index, &error) < 0)
		log_warning("imapd: %s: %s", dir, error);
}

/* A message that arrived: found in new/ by a scan (a delivery) or added
 * through the index (APPEND, COPY, MOVE), not one a scan found in cur/
 * (the old mail of a maildir indexed for the first time). */
static bool rec_arrived(const struct mail_index_record *rec)
{
	return rec->seen_in_new || rec->in_new;
}

struct recent_ctx {
	uint32_t *uids, *move;
	size_t count, move_count;
	size_t alloc, move_alloc;
	uint32_t last;		/* the view's last UID */
};

static void uid_push(uint32_t **arr, size_t *count, size_t *alloc,
		     uint32_t uid)
{
	if (*count == *alloc) {
		*alloc = *alloc == 0 ? 64 : *alloc * 2;
		*arr = xreallocarray(*arr, *alloc, sizeof(**arr));
	}
	(*arr)[(*count)++] = uid;
}

/* Read in place (mail-index-bulk.h): the first SELECT of a folder looks
 * at every message here, and only two bits of each are wanted. */
static int recent_cb(const struct mail_index_brief *brief, void *context)
{
	struct recent_ctx *ctx = context;

	if (brief->uid > ctx->last)
		return 1;
	if (!brief->seen_in_new && !brief->in_new)
		return 0;
	uid_push(&ctx->uids, &ctx->count, &ctx->alloc, brief->uid);
	if (brief->in_new)
		uid_push(&ctx->move, &ctx->move_count, &ctx->move_alloc,
			 brief->uid);
	return 0;
}

/* Appends add[0..n) to the array *arr of *count UIDs. */
static void uids_append(uint32_t **arr, size_t *count, const uint32_t *add,
			size_t n)
{
	if (n == 0)
		return;
	*arr = xreallocarray(*arr, *count + n, sizeof(uint32_t));
	memcpy(*arr + *count, add, n * sizeof(uint32_t));
	*count += n;
}

/* Adds the view's arrived messages with UID >= from (all above the last
 * recent one) to the session's \Recent list and, unless the view is
 * read-only, has those still in new/ moved to cur/ as Courier does (the
 * session that first sees a delivery takes it out of new/), when the
 * session is idle. */
static void recent_add(struct imap_mailbox *mbox, uint32_t from)
{
	struct recent_ctx ctx = { 0 };
	const char *error;

	if (mbox->count == 0 || from > mbox->uids[mbox->count - 1])
		return;
	if (mbox->recent_count > 0 &&
	    from <= mbox->recent_uids[mbox->recent_count - 1])
		from = mbox->recent_uids[mbox->recent_count - 1] + 1;
	ctx.last = mbox->uids[mbox->count - 1];
	if (mail_index_iterate_brief_from(mbox->index, from, recent_cb, &ctx,
					  &error) < 0)
		log_warning("imapd: %s: %s", mbox->dir, error);
	uids_append(&mbox->recent_uids, &mbox->recent_count, ctx.uids,
		    ctx.count);
	/* moved when the session is idle (imap_mailbox_idle_work()) */
	if (!mbox->readonly)
		uids_append(&mbox->move_uids, &mbox->move_count, ctx.move,
			    ctx.move_count);
	free(ctx.uids);
	free(ctx.move);
}

/* ---- work for an idle moment ---- */

/* The arrivals moved to cur/ in one write transaction of a step: a
 * client's next command waits for one step at most. */
#define IDLE_MOVE_STEP 128

bool imap_mailbox_idle_work_due(const struct imap_mailbox *mbox)
{
	return mbox != NULL &&
	       (mbox->move_count > 0 || mbox->uiddb_due ||
		mail_index_flags_snapshot_wanted(mbox->index));
}

bool imap_mailbox_idle_work(struct imap_mailbox *mbox)
{
	const char *error;

	if (mbox->move_count > 0) {
		size_t n = mbox->move_count < IDLE_MOVE_STEP ? mbox->move_count
							     : IDLE_MOVE_STEP;

		/* gone or moved meanwhile: skipped or followed there */
		if (mail_index_move_to_cur(mbox->index, mbox->move_uids, n,
					   &error) < 0)
			log_warning("imapd: %s: moving to cur/: %s", mbox->dir,
				    error);
		mbox->move_count -= n;
		memmove(mbox->move_uids, mbox->move_uids + n,
			mbox->move_count * sizeof(uint32_t));
	} else if (mbox->uiddb_due) {
		struct mail_index_status st;

		mbox->uiddb_due = false;
		if (mail_index_get_status(mbox->index, &st, &error) < 0)
			log_warning("imapd: %s: %s", mbox->dir, error);
		else
			uiddb_update(mbox->index, &st);
	} else if (mail_index_flags_snapshot_wanted(mbox->index)) {
		/* the next session's first FETCH FLAGS or flag SEARCH
		 * starts from it */
		if (mail_index_flags_snapshot_save(mbox->index, &error) < 0)
			log_warning("imapd: %s: %s", mbox->dir, error);
	}
	return imap_mailbox_idle_work_due(mbox);
}

void imap_mailbox_idle_work_finish(struct imap_mailbox *mbox)
{
	while (imap_mailbox_idle_work_due(mbox))
		(void)imap_mailbox_idle_work(mbox);
}

/* Drops from the \Recent list the UIDs no longer in the view. */
static void recent_prune(struct imap_mailbox *mbox)
{
	size_t n = 0;

	for (size_t i = 0; i < mbox->recent_count; i++)
		if (imap_mailbox_seq(mbox, mbox->recent_uids[i]) != 0)
			mbox->recent_uids[n++] = mbox->recent_uids[i];
	mbox->recent_count = n;
}

bool imap_mailbox_vanished(const struct imap_mailbox *mbox)
{
	struct stat st;

	/* only a folder that is really gone: not a transient error */
	return mbox != NULL && mbox->dir != NULL &&
	       stat(mbox->dir, &st) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

bool imap_mailbox_is_recent(const struct imap_mailbox *mbox, uint32_t uid)
{
	size_t lo = 0, hi = mbox->recent_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mbox->recent_uids[mid] == uid)
			return true;
		if (mbox->recent_uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int count_arrived_cb(const struct mail_index_record *rec,
			    void *context)
{
	if (rec_arrived(rec))
		(*(uint32_t *)context)++;
	return 0;
}

uint32_t imap_mailbox_count_unclaimed_recent(struct mail_index *index)
{
	struct mail_index_status st;
	const char *error;
	uint32_t n = 0;

	if (mail_index_get_status(index, &st, &error) < 0 ||
	    st.first_recent_uid >= st.uidnext)
		return 0;
	(void)mail_index_iterate(index, st.first_recent_uid, UINT32_MAX,
				 count_arrived_cb, &n, &error);
	return n;
}

int imap_mailbox_open(struct imap_client *client, const char *name,
		      bool readonly, struct imap_mailbox **mbox_r,
		      const char **error_r)
{
	char *folder = imap_folder_from_client(client, name, error_r);

	if (folder == NULL)
		return -1;
	char *orig = NULL;
	bool writable = false;
	int64_t stamp[4] = { 0 };
	char *dir = index_dir(client, folder, &orig, &writable, stamp);
	unsigned int rights = dir != NULL ? imap_folder_rights(client, folder) :
					    0;
	if (dir == NULL && imap_folder_is_sharable(folder) &&
	    imap_folder_rights(client, folder) != 0) {
		/* there, but its copy could not be made (logged) */
		free(folder);
		*error_r = "[SERVERBUG] Cannot bring this account's copy of "
			   "the shared folder up to date";
		return -1;
	}
	free(folder);
	if (dir == NULL || !maildir_is_maildir(dir) ||
	    (rights & (IMAP_ACL_LOOKUP | IMAP_ACL_READ)) == 0) {
		/* not even visible: as if it did not exist (RFC 4314 4) */
		free(dir);
		free(orig);
		*error_r = "[NONEXISTENT] Mailbox does not exist";
		return -1;
	}
	if ((rights & IMAP_ACL_READ) == 0) {
		free(dir);
		free(orig);
		*error_r = "[NOPERM] No read right on the mailbox";
		return -1;
	}
	if ((rights & (IMAP_ACL_SEEN | IMAP_ACL_WRITE | IMAP_ACL_DELMSG |
		       IMAP_ACL_EXPUNGE)) == 0)
		readonly = true;
	struct imap_mailbox *mbox = xcalloc(1, sizeof(*mbox));
	struct mail_index_status st;

	mbox->name = xstrdup(name);
	mbox->dir = dir;
	mbox->readonly = readonly;
	mbox->rights = rights;
	mbox->sharable_orig = orig;
	mbox->sharable_writable = writable;
	memcpy(mbox->sharable_stamp, stamp, sizeof(stamp));
	/* A read-write session claims \Recent (with the first build of
	 * the index, in its commit); EXAMINE looks without claiming. */
	if ((readonly ? mail_index_open(dir, NULL, &mbox->index, error_r)
		      : mail_index_open_claim(dir, NULL, &mbox->index,
					      &mbox->first_recent,
					      error_r)) < 0 ||
	    mail_index_get_status(mbox->index, &st, error_r) < 0 ||
	    mail_index_uids(mbox->index, &mbox->uids, &mbox->count,
			    error_r) < 0) {
		imap_mailbox_close(&mbox);
		return -1;
	}
	if (readonly)
		mbox->first_recent = st.first_recent_uid;
	recent_add(mbox, mbox->first_recent);
	mbox->uiddb_due = true;
	mbox->idx_uidvalidity = st.uidvalidity;
	mbox->idx_uidnext = st.uidnext;
	mbox->idx_messages = st.messages;
	mbox->idx_modseq = st.highestmodseq;
	mbox->modseq = st.highestmodseq;
	mbox->uidvalidity = st.uidvalidity;
	mbox->no_recent = client->imap4rev2;
	mbox->sharable_messages = st.messages;
	*mbox_r = mbox;
	return 0;
}

/* True when the sharable folder's new/ and cur/ mtimes differ from
 * those of the last refresh (and records them). */
static bool sharable_stamp_changed(struct imap_mailbox *mbox)
{
	int64_t now[4];

	sharable_stamp(mbox->sharable_orig, now);
	bool changed = memcmp(now, mbox->sharable_stamp, sizeof(now)) != 0;
	memcpy(mbox->sharable_stamp, now, sizeof(now));
	return changed;
}

/* Carries the account's expunges in its copy of a sharable folder to
 * the sharable folder (when writable) and brings in what is new there. */
static void sharable_carry(struct imap_mailbox *mbox)
{
	const char *error;

	if (mbox->sharable_orig == NULL)
		return;
	/* the stamp first: a change during the refresh is seen next time */
	sharable_stamp(mbox->sharable_orig, mbox->sharable_stamp);
	int r = imap_sharable_refresh(mbox->dir, mbox->sharable_orig,
				      mbox->sharable_writable, copy_index_has,
				      mbox->index, &error);
	if (r < 0)
		log_warning("imapd: %s: %s", mbox->dir, error);
	if (r == 0)	/* the folder was busy: again at the next sync */
		memset(mbox->sharable_stamp, 0, sizeof(mbox->sharable_stamp));
}

void imap_mailbox_close(struct imap_mailbox **mbox)
{
	if (*mbox == NULL)
		return;
	if ((*mbox)->sharable_orig != NULL) {
		/* CLOSE expunged from the copy: carried to the folder */
		struct mail_index_status st;
		const char *error;

		if (mail_index_get_status((*mbox)->index, &st, &error) == 0 &&
		    st.messages < (*mbox)->sharable_messages)
			sharable_carry(*mbox);
		free((*mbox)->sharable_orig);
	}
	imap_mailbox_cache_flush(*mbox);
	imap_mailbox_idle_work_finish(*mbox);
	imap_search_contexts_free(*mbox);
	mail_index_close(&(*mbox)->index);
	free((*mbox)->uids);
	free((*mbox)->kept);
	free((*mbox)->recent_uids);
	free((*mbox)->move_uids);
	free((*mbox)->saved_uids);
	free((*mbox)->name);
	free((*mbox)->dir);
	x_free(*mbox);
}

uint32_t imap_mailbox_seq(const struct imap_mailbox *mbox, uint32_t uid)
{
	size_t lo = 0, hi = mbox->count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (mbox->uids[mid] == uid)
			return (uint32_t)mid + 1;
		if (mbox->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void imap_mailbox_resolve(const struct imap_mailbox *mbox,
			  const struct imap_seqset *set, bool uid_mode,
			  uint32_t **uids_r, size_t *count_r)
{
	uint32_t *uids = NULL;
	size_t n = 0;

	*uids_r = NULL;
	*count_r = 0;
	if (mbox->count == 0 || set->count == 0)
		return;
	uint32_t max = uid_mode ? mbox->uids[mbox->count - 1] :
				  (uint32_t)mbox->count;
	struct imap_seqset norm = { .count = set->count };

	norm.ranges = xmemdup(set->ranges, set->count * sizeof(*norm.ranges));
	imap_seqset_normalize(&norm, max);
	uint64_t cap = 0;
	for (size_t k = 0; k < norm.count && cap < mbox->count; k++)
		cap += (uint64_t)norm.ranges[k].hi - norm.ranges[k].lo + 1;
	if (cap > mbox->count)
		cap = mbox->count;
	uids = xreallocarray(NULL, cap > 0 ? (size_t)cap : 1, sizeof(*uids));
	/* the ranges are sorted and disjoint: each one is found by its
	 * start (an index or a binary search), so that FETCH 5 costs no
	 * pass over a large folder */
	size_t i = 0;
	for (size_t k = 0; k < norm.count && i < mbox->count; k++) {
		uint32_t lo = norm.ranges[k].lo, hi = norm.ranges[k].hi;

		if (!uid_mode) {
			if (lo < 1)
				lo = 1;
			if (lo - 1 > i)
				i = lo - 1;
		} else {
			size_t a = i, b = mbox->count;

			while (a < b) {
				size_t mid = a + (b - a) / 2;

				if (mbox->uids[mid] < lo)
					a = mid + 1;
				else
					b = mid;
			}
			i = a;
		}
		for (; i < mbox->count; i++) {
			uint32_t key = uid_mode ? mbox->uids[i] :
						  (uint32_t)i + 1;

			if (key > hi)
				break;
			uids[n++] = mbox->uids[i];
		}
	}
	imap_seqset_free(&norm);
	if (n == 0)
		x_free(uids);
	*uids_r = uids;
	*count_r = n;
}

void imap_mailbox_save_result(struct imap_mailbox *mbox, uint32_t *uids,
			      size_t count)
{
	free(mbox->saved_uids);
	mbox->saved_uids = uids;
	mbox->saved_count = uids != NULL ? count : 0;
}

int imap_mailbox_parse_set(const struct imap_mailbox *mbox, const char *text,
			   bool uid_mode, struct imap_seqset *set_r,
			   const char **error_r)
{
	if (strcmp(text, "$") != 0) {
		static _Thread_local char err[96];

		if (imap_seqset_parse(text, set_r, error_r) < 0)
			return -1;
		if (uid_mode)
			return 0;
		/* RFC 9051 section 9 (seq-number): a message number above
		 * the message count SHOULD get BAD ("*" is the count) */
		for (size_t i = 0; i < set_r->count; i++) {
			uint32_t lo = set_r->ranges[i].lo;
			uint32_t hi = set_r->ranges[i].hi;
			uint32_t n = lo > hi ? lo : hi;

			if (n > mbox->count) {
				snprintf(err, sizeof(err), "Invalid message "
					 "sequence number %u (the mailbox "
					 "has %zu)", n, mbox->count);
				imap_seqset_free(set_r);
				*error_r = err;
				return -1;
			}
		}
		return 0;
	}
	/* "$": one range per run of consecutive numbers */
	set_r->ranges = NULL;
	set_r->count = 0;
	set_r->normalized = false;
	if (mbox->saved_count > 0)
		set_r->ranges = xreallocarray(NULL, mbox->saved_count,
					      sizeof(*set_r->ranges));
	for (size_t i = 0; i < mbox->saved_count; i++) {
		uint32_t n = uid_mode ? mbox->saved_uids[i] :
			     imap_mailbox_seq(mbox, mbox->saved_uids[i]);

		if (n == 0)
			continue;	/* expunged since */
		if (set_r->count > 0 &&
		    set_r->ranges[set_r->count - 1].hi + 1 == n) {
			set_r->ranges[set_r->count - 1].hi = n;
		} else {
			set_r->ranges[set_r->count].lo = n;
			set_r->ranges[set_r->count].hi = n;
			set_r->count++;
		}
	}
	if (set_r->count == 0)
		x_free(set_r->ranges);
	return 0;
}

char *imap_mailbox_message_path(struct imap_mailbox *mbox, uint32_t uid)
{
	struct mail_index_record rec;
	const char *error;

	if (mail_index_lookup_uid(mbox->index, uid, &rec, &error) <= 0)
		return NULL;
	return mail_index_record_path(mbox->index, &rec);
}

int imap_mailbox_open_message(struct imap_mailbox *mbox, uint32_t uid,
			      int *fd_r, const char **error_r)
{
	return mail_index_open_message(mbox->index, uid, fd_r, error_r);
}

int imap_mailbox_read_message(struct imap_mailbox *mbox, uint32_t uid,
			      struct str *out, const char **error_r)
{
	char buf[65536];
	bool last_cr = false;
	struct stat st;
	ssize_t n;
	int fd, ret;

	ret = mail_index_open_message(mbox->index, uid, &fd, error_r);
	if (ret <= 0)
		return ret;
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (out->limit == 0 || (uint64_t)st.st_size < out->limit)) {
		/* room for the file and a few CRs: one realloc at most */
		size_t want = str_len(out) + (size_t)st.st_size +
			      (size_t)st.st_size / 32 + 64;
		if (want > out->size) {
			out->data = xrealloc(out->data, want);
			out->size = want;
		}
	}
	ret = 1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = "read() of a message failed";
			ret = -1;
			break;
		}
		if (imap_crlf_append(out, buf, (size_t)n, &last_cr) < 0) {
			*error_r = "Message too large";
			errno = EFBIG;
			ret = -1;
			break;
		}
	}
	close(fd);
	return ret;
}

int imap_mailbox_header_fields(struct imap_mailbox *mbox, uint32_t uid,
			       void (*cb)(const char *name, const char *value,
					  size_t value_len, void *context),
			       void *context, const char **error_r)
{
	struct str v;
	int ret;

	str_init(&v, 512);
	/* cached, else read from the header alone (and queued for the
	 * cache with the ENVELOPE the same reading gives) */
	ret = imap_message_cached(mbox, uid, IMAP_CACHE_HEADERS, false, &v,
				  error_r);
	if (ret > 0) {
		/* the mark, or a damaged value: the caller reads the file */
		ret = imap_header_cache_parse(str_c(&v), str_len(&v), cb,
					      context) > 0 ? 1 : 2;
	}
	str_free(&v);
	return ret;
}

void imap_mailbox_cache_flush(struct imap_mailbox *mbox)
{
	const char *error;

	if (mbox->pending_cache_count == 0)
		return;
	/* the cache is only an optimisation: a failure costs a re-parse */
	(void)mail_index_cache_put_batch(mbox->index, mbox->pending_cache,
					 mbox->pending_cache_count, &error);
	for (size_t i = 0; i < mbox->pending_cache_count; i++)
		free((void *)mbox->pending_cache[i].data);
	x_free(mbox->pending_cache);
	mbox->pending_cache_count = 0;
}

int imap_mailbox_store(struct imap_mailbox *mbox, const uint32_t *uids,
		       size_t count, const struct mail_index_change *change,
		       struct mail_index_store_result *results,
		       const char **error_r)
{
	struct mail_index_store_result *res = results;
	uint64_t newest = 0;
	int ret;

	if (res == NULL && count > 0)
		res = xreallocarray(NULL, count, sizeof(*res));
	ret = mail_index_store(mbox->index, uids, count, change, res, error_r);
	for (size_t i = 0; ret > 0 && i < count; i++)
		if (res[i].status == MAIL_INDEX_STORE_CHANGED &&
		    res[i].modseq > newest)
			newest = res[i].modseq;
	/* one store gives every changed message one new MODSEQ: if it is
	 * the next one, nobody else changed anything in between */
	if (newest == mbox->modseq + 1)
		mbox->modseq = newest;
	if (res != results)
		free(res);
	return ret;
}


void imap_mailbox_flags(const struct imap_mailbox *mbox,
			const struct mail_index_record *rec, struct str *out)
{
	static const struct {
		uint8_t flag;
		const char *name;
	} names[] = {
		{ MAIL_INDEX_SEEN, "\\Seen" },
		{ MAIL_INDEX_ANSWERED, "\\Answered" },
		{ MAIL_INDEX_FLAGGED, "\\Flagged" },
		{ MAIL_INDEX_DELETED, "\\Deleted" },
		{ MAIL_INDEX_DRAFT, "\\Draft" },
	};
	bool first = true;

	str_append_c(out, '(');
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if ((rec->flags & names[i].flag) == 0)
			continue;
		if (!first)
			str_append_c(out, ' ');
		str_append(out, names[i].name);
		first = false;
	}
	if (!mbox->no_recent && imap_mailbox_is_recent(mbox, rec->uid)) {
		str_append(out, first ? "\\Recent" : " \\Recent");
		first = false;
	}
	for (size_t i = 0; i < rec->keyword_count; i++) {
		const char *kw = mail_index_keyword_name(mbox->index,
							 rec->keywords[i]);
		if (kw == NULL)
			continue;
		if (!first)
			str_append_c(out, ' ');
		str_append(out, kw);
		first = false;
	}
	str_append_c(out, ')');
}

struct changed_ctx {
	struct imap_client *client;
	uint32_t old_last;	/* newer UIDs were just announced */
	struct str out;
};

static int send_changed(const struct mail_index_record *rec, void *context)
{
	struct changed_ctx *ctx = context;
	struct imap_mailbox *mbox = ctx->client->mbox;
	uint32_t seq = imap_mailbox_seq(mbox, rec->uid);

	if (seq == 0 || rec->uid > ctx->old_last)
		return 0;
	str_printfa(&ctx->out, "* %u FETCH (UID %u FLAGS ", seq, rec->uid);
	imap_mailbox_flags(mbox, rec, &ctx->out);
	if (ctx->client->condstore)
		str_printfa(&ctx->out, " MODSEQ (%llu)",
			    (unsigned long long)rec->modseq);
	str_append(&ctx->out, ")\r\n");
	return 0;
}

/* Live search results (RFC 5267) run again when anything changed since
 * they last did (HIGHESTMODSEQ moves with every change, ours too). */
static void contexts_refresh(struct imap_client *client, struct str *out)
{
	struct imap_mailbox *mbox = client->mbox;
	struct mail_index_status st;
	const char *error;

	if (mbox->context_count == 0 ||
	    mail_index_get_status(mbox->index, &st, &error) < 0 ||
	    (st.highestmodseq == mbox->contexts_modseq &&
	     mbox->count == mbox->contexts_count))
		return;
	imap_search_contexts_refresh(client, out);
	mbox->contexts_modseq = st.highestmodseq;
	mbox->contexts_count = mbox->count;
}

static int collect_new_cb(const struct mail_index_record *rec, void *context)
{
	struct str *buf = context;

	str_append_n(buf, (const char *)&rec->uid, sizeof(rec->uid));
	return 0;
}

/* The folder's UID list now (*uids_r caller frees, NULL when empty),
 * from mbox->uids when it is exactly the index's list as of idx_*: the
 * UIDs from idx_uidnext on are added (those above the list's last: a
 * UID given after idx_uidnext was read may be in it already), then the
 * UIDs expunged after idx_modseq removed, read in that order so that no
 * message can be missed: one added meanwhile waits for the next sync,
 * one expunged meanwhile is gone.  Else (and after a rebuilt index,
 * whose expunge log starts over) the whole list is read. */
static int index_uids(struct imap_mailbox *mbox,
		      const struct mail_index_status *st, uint32_t **uids_r,
		      size_t *count_r, const char **error_r)
{
	uint32_t *gone = NULL, *uids;
	const uint32_t *added;
	size_t ngone = 0, nadded, n = 0, g = 0;
	uint32_t last = mbox->count > 0 ? mbox->uids[mbox->count - 1] : 0;
	struct str buf;

	if (st->uidvalidity != mbox->idx_uidvalidity ||
	    st->uidnext < mbox->idx_uidnext ||
	    st->built_modseq > mbox->idx_modseq)
		return mail_index_uids(mbox->index, uids_r, count_r, error_r);
	str_init(&buf, 64);
	if (mail_index_iterate_flags(mbox->index, mbox->idx_uidnext,
				     UINT32_MAX, MAIL_INDEX_READ_NO_DATE,
				     collect_new_cb, &buf, error_r) < 0 ||
	    mail_index_expunged_since(mbox->index, mbox->idx_modseq, &gone,
				      &ngone, error_r) < 0) {
		str_free(&buf);
		return -1;
	}
	added = (const uint32_t *)(const void *)str_c(&buf);
	nadded = str_len(&buf) / sizeof(uint32_t);
	uids = xreallocarray(NULL, mbox->count + nadded + 1, sizeof(*uids));
	for (size_t i = 0, k = 0; i < mbox->count; i++) {
		while (g < ngone && gone[g] < mbox->uids[i])
			g++;
		if (g < ngone && gone[g] == mbox->uids[i])
			continue;
		while (k < mbox->kept_count && mbox->kept[k] < mbox->uids[i])
			k++;
		if (k < mbox->kept_count && mbox->kept[k] == mbox->uids[i])
			continue;
		uids[n++] = mbox->uids[i];
	}
	for (size_t i = 0; i < nadded; i++) {
		uint32_t uid;

		memcpy(&uid, added + i, sizeof(uid));
		if (uid <= last)
			continue;
		/* expunged meanwhile? (the log was read after) */
		while (g < ngone && gone[g] < uid)
			g++;
		if (g < ngone && gone[g] == uid)
			continue;
		uids[n++] = uid;
		last = uid;
	}
	str_free(&buf);
	free(gone);
	if (n == 0)
		x_free(uids);
	*uids_r = uids;
	*count_r = n;
	return 0;
}

int imap_mailbox_sync(struct imap_client *client, bool expunge_ok)
{
	struct imap_mailbox *mbox = client->mbox;
	struct mail_index_status st;
	const char *error;
	uint32_t *uids;
	size_t count;

	if (mbox == NULL)
		return 0;
	/* a sharable folder: what arrived there (a delivery, an APPEND or
	 * COPY into it) is linked into the copy, so the index sees it */
	if (mbox->sharable_orig != NULL && sharable_stamp_changed(mbox))
		sharable_carry(mbox);
	/* (expunges kept by an earlier sync are due now even if nothing
	 * changed since) */
	if ((!expunge_ok || mbox->kept_count == 0) &&
	    mail_index_changed_since(mbox->index, mbox->modseq, &error) <= 0) {
		/* this session's own changes are not reported back, but
		 * live search results (RFC 5267) follow them too */
		if (mbox->context_count > 0) {
			struct str out;

			str_init(&out, 128);
			contexts_refresh(client, &out);
			imap_client_write(client, str_c(&out), str_len(&out));
			str_free(&out);
		}
		return 0;
	}
	if (mail_index_get_status(mbox->index, &st, &error) < 0)
		return -1;
	/* only flags changed (the usual case): the list stands, and the
	 * sync costs what changed, not a pass over the folder */
	bool same_list = (mbox->kept_count == 0 || !expunge_ok) &&
			 st.uidvalidity == mbox->idx_uidvalidity &&
			 st.uidnext == mbox->idx_uidnext &&
			 st.messages == mbox->idx_messages;
	if (same_list) {
		uids = NULL;
		count = mbox->count;
	} else if (index_uids(mbox, &st, &uids, &count, &error) < 0) {
		return -1;
	}
	/* messages expunged from the copy of a sharable folder: from the
	 * folder too (what the refresh links in shows up next time) */
	if (mbox->sharable_orig != NULL &&
	    st.messages < mbox->sharable_messages)
		sharable_carry(mbox);
	mbox->sharable_messages = st.messages;

	struct changed_ctx ctx = {
		.client = client,
		.old_last = mbox->count > 0 ? mbox->uids[mbox->count - 1] : 0,
	};
	str_init(&ctx.out, 256);
	size_t old_count = mbox->count;
	/* what the client counts after our EXPUNGE/VANISHED lines, and the
	 * messages that came (an expunge and an arrival leave the count
	 * as it was, and still need their EXISTS) */
	size_t client_count = old_count, arrived = 0;
	uint32_t old_last = ctx.old_last;
	for (size_t i = count; !same_list && i > 0 && uids[i - 1] > old_last;
	     i--)
		arrived++;
	if (same_list) {
		/* nothing came or went */
	} else if (expunge_ok) {
		/* expunged: the old UIDs missing from the new list, sent
		 * from the highest sequence number down so that each
		 * number is right when the client reads it */
		size_t j = count, nvanished = 0;
		uint32_t *vanished = NULL;
		/* the expunged UIDs (from the top down) first: live search
		 * results drop them before the client sees the EXPUNGEs */
		for (size_t i = mbox->count; i > 0; i--) {
			uint32_t uid = mbox->uids[i - 1];
			while (j > 0 && uids[j - 1] > uid)
				j--;
			if (j > 0 && uids[j - 1] == uid)
				continue;
			if (vanished == NULL)
				vanished = xreallocarray(NULL, mbox->count,
							 sizeof(*vanished));
			vanished[nvanished++] = uid;
		}
		imap_search_contexts_expunged(client, vanished, nvanished,
					      &ctx.out);
		client_count = old_count - nvanished;
		for (size_t v = 0; !client->qresync && v < nvanished; v++)
			str_printfa(&ctx.out, "* %u EXPUNGE\r\n",
				    imap_mailbox_seq(mbox, vanished[v]));
		if (!client->qresync)
			nvanished = 0;
		if (nvanished > 0) {
			/* collected from the top down */
			for (size_t i = 0; i < nvanished / 2; i++) {
				uint32_t t = vanished[i];
				vanished[i] = vanished[nvanished - 1 - i];
				vanished[nvanished - 1 - i] = t;
			}
			str_append(&ctx.out, "* VANISHED ");
			imap_seqset_append(&ctx.out, vanished, nvanished);
			str_append(&ctx.out, "\r\n");
		}
		free(vanished);
		free(mbox->uids);
		mbox->uids = uids;
		mbox->count = count;
		x_free(mbox->kept);
		mbox->kept_count = 0;
	} else {
		/* keep the expunged ones; add the new ones at the end */
		uint32_t last = mbox->count > 0 ? mbox->uids[mbox->count - 1] :
						  0;
		size_t add = 0, j = 0, nkept = 0;
		for (size_t i = 0; i < count; i++)
			if (uids[i] > last)
				add++;
		/* the old UIDs the index no longer has: kept */
		uint32_t *kept = xreallocarray(NULL, mbox->count + 1,
					       sizeof(*kept));
		for (size_t i = 0; i < mbox->count; i++) {
			while (j < count && uids[j] < mbox->uids[i])
				j++;
			if (j < count && uids[j] == mbox->uids[i])
				continue;
			kept[nkept++] = mbox->uids[i];
		}
		free(mbox->kept);
		mbox->kept = kept;
		mbox->kept_count = nkept;
		if (nkept == 0)
			x_free(mbox->kept);
		if (add > 0) {
			mbox->uids = xreallocarray(mbox->uids,
						   mbox->count + add,
						   sizeof(*uids));
			for (size_t i = 0; i < count; i++)
				if (uids[i] > last)
					mbox->uids[mbox->count++] = uids[i];
		}
		free(uids);
	}
	if (!same_list) {
		mbox->idx_uidvalidity = st.uidvalidity;
		mbox->idx_uidnext = st.uidnext;
		mbox->idx_messages = st.messages;
		mbox->idx_modseq = st.highestmodseq;
	}
	if (mbox->count != old_count || arrived > 0 || expunge_ok) {
		if (mbox->count != old_count ||
		    mbox->count != client_count || arrived > 0)
			str_printfa(&ctx.out, "* %zu EXISTS\r\n", mbox->count);
		if (arrived > 0) {
			/* new mail: claim it as \Recent for this session
			 * (EXAMINE: what nobody claimed yet) */
			uint32_t first = st.first_recent_uid;
			if (!mbox->readonly &&
			    mail_index_claim_recent(mbox->index, &first,
						    &error) < 0)
				first = UINT32_MAX;
			recent_add(mbox, first);
		}
		if (expunge_ok)
			recent_prune(mbox);
		size_t recent = mbox->recent_count;
		if (!mbox->no_recent &&
		    (recent != mbox->recent_sent ||
		     mbox->count != old_count || arrived > 0)) {
			str_printfa(&ctx.out, "* %zu RECENT\r\n", recent);
			mbox->recent_sent = recent;
		}
	}
	(void)mail_index_iterate_changed(mbox->index, mbox->modseq,
					 send_changed, &ctx, &error);
	mbox->modseq = st.highestmodseq;
	contexts_refresh(client, &ctx.out);
	imap_client_write(client, str_c(&ctx.out), str_len(&ctx.out));
	str_free(&ctx.out);
	return 0;
}
