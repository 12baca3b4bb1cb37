/* pop3-mailbox.c: the INBOX snapshot of a POP3 session, over the
 * per-folder index (lib/mail-index.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail-index-bulk.h"
#include "mail-index.h"
#include "mem.h"
#include "pop3-mailbox.h"
#include "str.h"

struct pop3_msg {
	uint32_t uid;
	/* Into mb->uidls, or UIDL_DEFAULT: "UID<uid>-<uidvalidity>". */
	uint32_t uidl_offset;
	uint64_t size;
	bool deleted;
	bool retrieved;
	bool in_new;
};

#define UIDL_DEFAULT UINT32_MAX

struct pop3_mailbox {
	struct mail_index *index;
	int lock_fd;
	struct pop3_msg *msgs;
	uint32_t count, alloc;
	uint32_t deleted_count;
	uint64_t total_size, deleted_size;
	uint32_t uidvalidity;
	/* Imported (Courier) UIDLs, NUL-separated; default ones are
	 * formatted when asked for, into uidl_buf. */
	struct str uidls;
	char uidl_buf[MAIL_INDEX_UIDL_MAX];
	/* UIDs whose size the index did not know yet. */
	uint32_t *need_size;
	uint32_t need_count, need_alloc;
};

static char error_buf[512];

/* "a: b" into the static error buffer. */
static const char *set_error2(const char *a, const char *b)
{
	int n = snprintf(error_buf, sizeof(error_buf), "%s: %s", a, b);
	(void)n;
	return error_buf;
}

/* One message of the snapshot, read in place from the index (no copy,
 * no allocation per message: 20,000 take about a millisecond). */
static int snapshot_cb(const struct mail_index_brief *rec, void *context)
{
	struct pop3_mailbox *mb = context;

	if (mb->count == mb->alloc) {
		mb->alloc = mb->alloc == 0 ? 1024 : mb->alloc * 2;
		mb->msgs = xreallocarray(mb->msgs, mb->alloc,
					 sizeof(*mb->msgs));
	}
	struct pop3_msg *m = &mb->msgs[mb->count++];
	m->uid = rec->uid;
	m->in_new = rec->in_new;
	m->deleted = false;
	m->retrieved = false;
	m->uidl_offset = UIDL_DEFAULT;
	if (rec->pop3_uidl != NULL &&
	    rec->pop3_uidl_len < MAIL_INDEX_UIDL_MAX) {
		m->uidl_offset = (uint32_t)str_len(&mb->uidls);
		str_append_n(&mb->uidls, rec->pop3_uidl, rec->pop3_uidl_len);
		str_append_c(&mb->uidls, '\0');
	}
	m->size = rec->has_vsize ? rec->vsize : 0;
	if (!rec->has_vsize) {
		if (mb->need_count == mb->need_alloc) {
			mb->need_alloc = mb->need_alloc == 0 ?
						 256 :
						 mb->need_alloc * 2;
			mb->need_size = xreallocarray(mb->need_size,
						      mb->need_alloc,
						      sizeof(*mb->need_size));
		}
		mb->need_size[mb->need_count++] = mb->count - 1;
	}
	return 0;
}

static int take_lock(struct pop3_mailbox *mb, const char *dir,
		     const char **error_r)
{
	char *path = xasprintf("%s/%s", dir, POP3_MAILBOX_LOCK_FILE);

	mb->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			   0600);
	if (mb->lock_fd < 0) {
		*error_r = set_error2(path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (flock(mb->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			*error_r = "the mailbox is in use by another session";
			return 0;
		}
		*error_r = set_error2("flock", strerror(errno));
		return -1;
	}
	return 1;
}

/* LOGIN-DELAY: the stamp file's mtime is the last login. */
static int check_login_delay(const char *dir, unsigned int delay,
			     const char **error_r)
{
	char *path = xasprintf("%s/%s", dir, POP3_MAILBOX_STAMP_FILE);
	struct stat st;
	time_t now = time(NULL);
	int ret = 1;

	if (stat(path, &st) == 0 && now >= st.st_mtime &&
	    now - st.st_mtime < (time_t)delay) {
		*error_r = "logged in again within LOGIN-DELAY";
		ret = 0;
	} else {
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			      0600);
		if (fd < 0 || futimens(fd, NULL) < 0) {
			*error_r = set_error2(path, strerror(errno));
			ret = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	free(path);
	return ret;
}

enum pop3_mailbox_error
pop3_mailbox_open(const char *dir, const struct pop3_mailbox_settings *set,
		  struct pop3_mailbox **mb_r, const char **error_r)
{
	struct pop3_mailbox *mb;
	struct stat st;
	const char *error;
	int ret;

	*mb_r = NULL;
	if (stat(dir, &st) < 0) {
		int err = errno;

		*error_r = set_error2(dir, strerror(err));
		return err == ENOENT || err == ENOTDIR || err == EACCES ?
			       POP3_MAILBOX_PERM :
			       POP3_MAILBOX_TEMP;
	}
	if (!S_ISDIR(st.st_mode)) {
		*error_r = set_error2(dir, "not a directory");
		return POP3_MAILBOX_PERM;
	}
	mb = xcalloc(1, sizeof(*mb));
	mb->lock_fd = -1;
	str_init(&mb->uidls, 1024);
	if (set->lock) {
		ret = take_lock(mb, dir, error_r);
		if (ret <= 0) {
			pop3_mailbox_close(&mb);
			return ret == 0 ? POP3_MAILBOX_IN_USE :
					  POP3_MAILBOX_TEMP;
		}
	}
	if (set->login_delay > 0) {
		ret = check_login_delay(dir, set->login_delay, error_r);
		if (ret <= 0) {
			pop3_mailbox_close(&mb);
			return ret == 0 ? POP3_MAILBOX_LOGIN_DELAY :
					  POP3_MAILBOX_TEMP;
		}
	}
	if (mail_index_open(dir, NULL, &mb->index, &error) < 0) {
		*error_r = set_error2(dir, error);
		pop3_mailbox_close(&mb);
		return POP3_MAILBOX_TEMP;
	}
	mb->uidvalidity = mail_index_bulk_uidvalidity(mb->index);
	if (mail_index_iterate_brief(mb->index, snapshot_cb, mb, &error) < 0) {
		*error_r = set_error2(dir, error);
		pop3_mailbox_close(&mb);
		return POP3_MAILBOX_TEMP;
	}
	/* Sizes the index does not know yet (no ",W=" in the name, first
	 * session since delivery): counted from the files and stored, all
	 * in one index transaction, so the next login reads them from the
	 * index without opening a file. */
	if (mb->need_count > 0) {
		uint32_t *uids = xcalloc(mb->need_count, sizeof(*uids));
		uint64_t *sizes = xcalloc(mb->need_count, sizeof(*sizes));

		for (uint32_t i = 0; i < mb->need_count; i++)
			uids[i] = mb->msgs[mb->need_size[i]].uid;
		ret = mail_index_get_vsizes(mb->index, uids, mb->need_count,
					    sizes, &error);
		for (uint32_t i = 0; ret >= 0 && i < mb->need_count; i++) {
			/* UINT64_MAX: gone since the snapshot; it stays
			 * listed, RETR will say it is gone. */
			mb->msgs[mb->need_size[i]].size =
				sizes[i] == UINT64_MAX ? 0 : sizes[i];
		}
		free(uids);
		free(sizes);
		if (ret < 0) {
			*error_r = set_error2(dir, error);
			pop3_mailbox_close(&mb);
			return POP3_MAILBOX_TEMP;
		}
	}
	x_free(mb->need_size);
	mb->need_count = 0;
	for (uint32_t i = 0; i < mb->count; i++)
		mb->total_size += mb->msgs[i].size;
	*mb_r = mb;
	return POP3_MAILBOX_OK;
}

void pop3_mailbox_close(struct pop3_mailbox **_mb)
{
	struct pop3_mailbox *mb = *_mb;

	if (mb == NULL)
		return;
	*_mb = NULL;
	mail_index_close(&mb->index);
	if (mb->lock_fd >= 0)
		close(mb->lock_fd);
	free(mb->msgs);
	free(mb->need_size);
	str_free(&mb->uidls);
	free(mb);
}

uint32_t pop3_mailbox_count(const struct pop3_mailbox *mb)
{
	return mb->count;
}

void pop3_mailbox_stat(const struct pop3_mailbox *mb, uint32_t *count_r,
		       uint64_t *octets_r)
{
	*count_r = mb->count - mb->deleted_count;
	*octets_r = mb->total_size - mb->deleted_size;
}

bool pop3_mailbox_is_deleted(const struct pop3_mailbox *mb, uint32_t n)
{
	return mb->msgs[n - 1].deleted;
}

uint64_t pop3_mailbox_size(const struct pop3_mailbox *mb, uint32_t n)
{
	return mb->msgs[n - 1].size;
}

/* Decimal digits of v at the end of buf (size > 10); returns the start. */
static char *format_u32(char *end, uint32_t v)
{
	*--end = '\0';
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

const char *pop3_mailbox_uidl(struct pop3_mailbox *mb, uint32_t n)
{
	const struct pop3_msg *m = &mb->msgs[n - 1];
	char uid[12], uidv[12];

	if (m->uidl_offset != UIDL_DEFAULT)
		return str_c(&mb->uidls) + m->uidl_offset;
	/* "UID<uid>-<uidvalidity>", as mail_index_record_uidl() writes. */
	const char *a = format_u32(uid + sizeof(uid), m->uid);
	const char *b = format_u32(uidv + sizeof(uidv), mb->uidvalidity);
	size_t la = strlen(a), lb = strlen(b);

	memcpy(mb->uidl_buf, "UID", 3);
	memcpy(mb->uidl_buf + 3, a, la);
	mb->uidl_buf[3 + la] = '-';
	memcpy(mb->uidl_buf + 4 + la, b, lb + 1);
	return mb->uidl_buf;
}

int pop3_mailbox_delete(struct pop3_mailbox *mb, uint32_t n)
{
	struct pop3_msg *m = &mb->msgs[n - 1];

	if (m->deleted)
		return 0;
	m->deleted = true;
	mb->deleted_count++;
	mb->deleted_size += m->size;
	return 1;
}

void pop3_mailbox_reset(struct pop3_mailbox *mb)
{
	for (uint32_t i = 0; i < mb->count; i++)
		mb->msgs[i].deleted = false;
	mb->deleted_count = 0;
	mb->deleted_size = 0;
}

void pop3_mailbox_retrieved(struct pop3_mailbox *mb, uint32_t n)
{
	mb->msgs[n - 1].retrieved = true;
}

void pop3_mailbox_delete_retrieved(struct pop3_mailbox *mb)
{
	for (uint32_t i = 0; i < mb->count; i++) {
		if (mb->msgs[i].retrieved)
			(void)pop3_mailbox_delete(mb, i + 1);
	}
}

int pop3_mailbox_open_message(struct pop3_mailbox *mb, uint32_t n, int *fd_r,
			      const char **error_r)
{
	return mail_index_open_message(mb->index, mb->msgs[n - 1].uid, fd_r,
				       error_r);
}

int pop3_mailbox_commit(struct pop3_mailbox *mb, const char **error_r)
{
	uint32_t *uids = xcalloc(mb->count + 1, sizeof(*uids));
	size_t n = 0, moved = 0;
	int ret;

	for (uint32_t i = 0; i < mb->count; i++) {
		if (mb->msgs[i].deleted)
			uids[n++] = mb->msgs[i].uid;
	}
	ret = n == 0 ? 0 : mail_index_expunge(mb->index, uids, n, NULL,
					      error_r);
	if (ret >= 0) {
		for (uint32_t i = 0; i < mb->count; i++) {
			const struct pop3_msg *m = &mb->msgs[i];

			if (m->retrieved && !m->deleted && m->in_new)
				uids[moved++] = m->uid;
		}
		/* Moving is cosmetic (IMAP clients stop showing them as
		 * new): a failure is not the client's problem. */
		if (moved > 0) {
			const char *error;

			(void)mail_index_move_to_cur(mb->index, uids, moved,
						     &error);
		}
	}
	free(uids);
	if (ret >= 0) {
		mb->deleted_count = 0;
		mb->deleted_size = 0;
	}
	return ret;
}
