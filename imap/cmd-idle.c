/* cmd-idle.c: IDLE (RFC 2177): inotify on the selected folder's new/,
 * cur/, keyword directory and index file, so that deliveries by anything
 * and other sessions' flag changes and expunges are reported at once (and
 * on the folder itself: renamed or deleted, the session ends with BYE);
 * a poll every IMAP_IDLE_TIMEOUT seconds covers file systems without
 * inotify (NFS). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "conn.h"
#include "imap-client-private.h"
#include "imap-mailbox.h"
#include "ioloop.h"
#include "mail-index.h"
#include "mem.h"

static void idle_check(struct imap_client *client)
{
	if (client->mbox == NULL)
		return;
	if (imap_mailbox_vanished(client->mbox)) {
		imap_client_idle_stop(client);
		imap_client_mailbox_vanished(client);
		return;
	}
	(void)imap_mailbox_sync(client, true);
	imap_client_idle_work_arm(client);
}

static void idle_inotify(void *context)
{
	struct imap_client *client = context;
	char buf[4096];

	/* drain the events; what changed is for the index to find */
	while (read(client->idle_inotify_fd, buf, sizeof(buf)) > 0)
		;
	idle_check(client);
}

static void idle_timer(void *context)
{
	idle_check(context);
}

static void watch(int fd, const char *dir, const char *sub, uint32_t mask)
{
	char *path = sub != NULL ? xasprintf("%s/%s", dir, sub) :
				   xstrdup(dir);
	(void)inotify_add_watch(fd, path, mask);
	free(path);
}

void imap_client_idle_stop(struct imap_client *client)
{
	io_remove(&client->idle_io);
	timeout_remove(&client->idle_timer);
	if (client->idle_inotify_fd >= 0) {
		close(client->idle_inotify_fd);
		client->idle_inotify_fd = -1;
	}
}

/* Watches the selected folder (inotify) and arms the poll timer. */
static void idle_watch_start(struct imap_client *client)
{
	if (client->mbox != NULL) {
		int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (fd >= 0) {
			const char *dir = client->mbox->dir;
			uint32_t dmask = IN_CREATE | IN_DELETE | IN_MOVED_TO |
					 IN_MOVED_FROM | IN_ONLYDIR;
			watch(fd, dir, "new", dmask);
			watch(fd, dir, "cur", dmask);
			watch(fd, dir, "courierimapkeywords", dmask |
			      IN_CLOSE_WRITE);
			/* the folder renamed or deleted by another
			 * session: the check says BYE at once */
			watch(fd, dir, NULL, IN_MOVE_SELF | IN_DELETE_SELF |
			      IN_ONLYDIR);
			/* other sessions' changes are index writes; the
			 * commit is visible to us only at the IN_ATTRIB that
			 * follows it (mail_index_commit_notify()) */
			watch(fd, dir, MAIL_INDEX_FILE_NAME,
			      IN_MODIFY | IN_ATTRIB);
			/* a sharable folder's copy: mail arrives in the
			 * sharable folder itself (the sync links it in) */
			if (client->mbox->sharable_orig != NULL) {
				watch(fd, client->mbox->sharable_orig, "new",
				      dmask);
				watch(fd, client->mbox->sharable_orig, "cur",
				      dmask);
			}
			client->idle_inotify_fd = fd;
			client->idle_io = io_add(client->loop, fd, IO_READ,
						 idle_inotify, client);
		}
	}
	client->idle_timer = timeout_add(client->loop,
					 client->set->idle_poll * 1000,
					 idle_timer, client);
}

void cmd_idle(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;

	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "IDLE takes no arguments");
		return;
	}
	/* report what is pending first */
	idle_check(client);
	imap_client_send(client, "+ idling");
	free(client->cont_tag);
	client->cont_tag = xstrdup(cmd->tag);
	client->cont = IMAP_CONT_IDLE;
	idle_watch_start(client);
}

void imap_client_idle_begin(struct imap_client *client, const char *tag)
{
	free(client->cont_tag);
	client->cont_tag = xstrdup(tag);
	client->cont = IMAP_CONT_IDLE;
	/* the watches first: nothing that changes after the check below
	 * goes unseen */
	idle_watch_start(client);
	idle_check(client);
}

void imap_client_idle_line(struct imap_client *client, const char *line,
			   size_t len)
{
	char *tag = client->cont_tag;

	imap_client_idle_stop(client);
	client->cont = IMAP_CONT_NONE;
	client->cont_tag = NULL;
	struct imap_cmd cmd = {
		.client = client,
		.tag = tag,
		.name = "IDLE",
	};
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imap_cmd_ok(&cmd, "IDLE terminated");
	else
		imap_cmd_bad(&cmd, "Expected DONE");
	free(tag);
}
