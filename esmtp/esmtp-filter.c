/* esmtp-filter.c: asking the global mail filters (courierfilter's
 * sockets) about a message before the final reply (see esmtp-filter.h). */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "esmtp-filter.h"
#include "ioloop.h"
#include "log.h"
#include "mem.h"

/* ------------------------------------------------------------ replies */

void esmtp_filter_reply_init(struct esmtp_filter_reply *r)
{
	memset(r, 0, sizeof(*r));
	str_init(&r->buf, 128);
}

void esmtp_filter_reply_free(struct esmtp_filter_reply *r)
{
	str_free(&r->buf);
	for (size_t i = 0; i < r->line_count; i++)
		free(r->lines[i]);
	free(r->lines);
	r->lines = NULL;
	r->line_count = 0;
	for (size_t i = 0; i < r->sub_count; i++)
		free(r->subs[i]);
	free(r->subs);
	r->subs = NULL;
	r->sub_count = 0;
}

/* A 558 reply's text as sub-replies (draft-varshavchik-exdata-smtpext
 * section 5): every line is "558-" or "558 " then a line of a reply
 * "NNN-text" or "NNN text" (NNN 2xx, 4xx or 5xx); a sub-reply ends with
 * its "NNN text" line, all its lines carry one code, and the last line
 * of the whole reply ends a sub-reply.  Returns false when malformed. */
static bool split_subs(struct esmtp_filter_reply *r)
{
	struct str sub;
	int code = 0;
	bool open = false;

	str_init(&sub, 128);
	for (size_t i = 0; i < r->line_count; i++) {
		const char *t = r->lines[i] + 4;
		int c;

		if (strlen(t) < 4 || !isdigit((unsigned char)t[0]) ||
		    !isdigit((unsigned char)t[1]) ||
		    !isdigit((unsigned char)t[2]) ||
		    (t[0] != '2' && t[0] != '4' && t[0] != '5') ||
		    (t[3] != ' ' && t[3] != '-'))
			break;
		c = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
		if (open && c != code)
			break;
		code = c;
		if (open)
			str_append_c(&sub, '\n');
		str_append(&sub, t);
		open = t[3] == '-';
		if (!open) {
			r->subs = xreallocarray(r->subs, r->sub_count + 1,
						sizeof(char *));
			r->subs[r->sub_count++] = str_steal(&sub);
			str_init(&sub, 128);
		}
		if (i + 1 == r->line_count && !open) {
			str_free(&sub);
			return true;
		}
	}
	str_free(&sub);
	return false;
}

/* Takes one line (without LF); returns 1 when it ends the reply. */
static int reply_line(struct esmtp_filter_reply *r, const char *line,
		      size_t len)
{
	struct str clean;
	int code;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) ||
	    (line[0] != '2' && line[0] != '4' && line[0] != '5') ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		r->valid = false;
		return 1;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->line_count > 0 && code != r->code) {
		r->valid = false;
		return 1;
	}
	r->code = code;
	str_init(&clean, len + 2);
	str_append_n(&clean, line, 3);
	str_append_c(&clean, len > 3 && line[3] == '-' ? '-' : ' ');
	for (size_t i = 4; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		str_append_c(&clean, c < 32 || c == 127 ? ' ' : (char)c);
	}
	if (len == 3)
		str_append(&clean, code / 100 == 2 ? "Ok" : "Refused");
	r->lines = xreallocarray(r->lines, r->line_count + 1,
				 sizeof(char *));
	r->lines[r->line_count++] = str_steal(&clean);
	if (len > 3 && line[3] == '-')
		return 0;
	r->valid = code != 558 || split_subs(r);
	return 1;
}

int esmtp_filter_reply_feed(struct esmtp_filter_reply *r, const char *data,
			    size_t len, bool eof)
{
	if (r->done)
		return 1;
	if (r->buf.len + len > ESMTP_FILTER_MAX_REPLY) {
		r->valid = false;
		r->done = true;
		return 1;
	}
	str_append_n(&r->buf, data, len);
	for (;;) {
		char *nl = memchr(r->buf.data, '\n', r->buf.len);
		size_t n;

		if (nl == NULL)
			break;
		n = (size_t)(nl - r->buf.data);
		if (memchr(r->buf.data, '\0', n) != NULL) {
			r->valid = false;
			r->done = true;
			return 1;
		}
		if (reply_line(r, r->buf.data, n) == 1) {
			r->done = true;
			return 1;
		}
		memmove(r->buf.data, nl + 1, r->buf.len - n - 1);
		r->buf.len -= n + 1;
		r->buf.data[r->buf.len] = '\0';
	}
	if (eof) {
		/* a last line without LF still counts */
		if (r->buf.len > 0 &&
		    memchr(r->buf.data, '\0', r->buf.len) == NULL)
			(void)reply_line(r, r->buf.data, r->buf.len);
		else
			r->valid = false;
		r->done = true;
		return 1;
	}
	return 0;
}

bool esmtp_filter_enabled(const char *text, const char *source)
{
	char **words;
	bool on = false;

	if (text == NULL)
		return false;
	words = str_split(text, " \t\r\n,");
	for (size_t i = 0; words[i] != NULL; i++) {
		if (strcmp(words[i], source) == 0)
			on = true;
	}
	str_split_free(&words);
	return on;
}

/* ------------------------------------------------------------ a run */

struct esmtp_filter_run {
	struct ioloop *loop;
	char **sockets;
	size_t count, next;
	char *request;
	size_t request_len, written;
	unsigned int timeout_msecs;
	int fd;
	struct io *io;
	struct timeout *to;
	struct esmtp_filter_reply reply;
	size_t rcpt_count;
	char **verdicts;	/* per recipient: NULL or its refusal */
	bool per_rcpt;		/* some filter answered with a 558 */
	esmtp_filter_done_t *done;
	void *context;
};

static void run_next(struct esmtp_filter_run *run);

static void run_close_fd(struct esmtp_filter_run *run)
{
	io_remove(&run->io);
	timeout_remove(&run->to);
	if (run->fd >= 0)
		close(run->fd);
	run->fd = -1;
}

static void run_free(struct esmtp_filter_run *run)
{
	run_close_fd(run);
	esmtp_filter_reply_free(&run->reply);
	for (size_t i = 0; i < run->count; i++)
		free(run->sockets[i]);
	free(run->sockets);
	for (size_t i = 0; i < run->rcpt_count; i++)
		free(run->verdicts[i]);
	free(run->verdicts);
	free(run->request);
	free(run);
}

/* Ends the run with a reply (NULL = accepted), then frees it. */
static void run_finish(struct esmtp_filter_run *run, char **lines,
		       size_t count)
{
	esmtp_filter_done_t *done = run->done;
	void *context = run->context;

	run_close_fd(run);
	done(lines, count,
	     lines == NULL && run->per_rcpt ? run->verdicts : NULL, context);
	run_free(run);
}

static void run_tempfail(struct esmtp_filter_run *run, const char *why)
{
	char *line = xasprintf("451 4.7.1 Mail filter unavailable, try "
			       "again later");

	log_error("esmtpd: filter %s: %s", run->sockets[run->next - 1], why);
	run_finish(run, &line, 1);
	free(line);
}

static void run_timeout(void *context)
{
	struct esmtp_filter_run *run = context;

	run->to = NULL;	/* a once-timer is freed after its call */
	run_tempfail(run, "no reply in time");
}

static void run_io(void *context)
{
	struct esmtp_filter_run *run = context;
	char buf[1024];
	ssize_t n;

	if (run->written < run->request_len) {
		n = write(run->fd, run->request + run->written,
			  run->request_len - run->written);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			run_tempfail(run, strerror(errno));
			return;
		}
		run->written += (size_t)n;
		if (run->written == run->request_len) {
			io_remove(&run->io);
			run->io = io_add(run->loop, run->fd, IO_READ, run_io,
					 run);
		}
		return;
	}
	n = read(run->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		run_tempfail(run, strerror(errno));
		return;
	}
	if (esmtp_filter_reply_feed(&run->reply, buf, (size_t)n, n == 0) == 0)
		return;
	if (!run->reply.valid) {
		run_tempfail(run, "invalid reply");
		return;
	}
	if (run->reply.code == 558) {
		/* one reply per recipient (Extended DATA Reply format) */
		bool left = false;

		if (run->reply.sub_count != run->rcpt_count) {
			run_tempfail(run, "558 reply without one reply per "
				     "recipient");
			return;
		}
		run->per_rcpt = true;
		for (size_t i = 0; i < run->rcpt_count; i++) {
			const char *sub = run->reply.subs[i];

			if (sub[0] != '2' && run->verdicts[i] == NULL) {
				log_info("esmtpd: filter %s refused the "
					 "message for recipient %zu: %s",
					 run->sockets[run->next - 1], i + 1,
					 sub);
				run->verdicts[i] = xstrdup(sub);
			}
			left = left || run->verdicts[i] == NULL;
		}
		if (!left) {
			run_finish(run, NULL, 0);
			return;
		}
	} else if (run->reply.code / 100 != 2) {
		log_info("esmtpd: filter %s refused the message: %s",
			 run->sockets[run->next - 1],
			 run->reply.lines[run->reply.line_count - 1]);
		run_finish(run, run->reply.lines, run->reply.line_count);
		return;
	}
	run_close_fd(run);
	esmtp_filter_reply_free(&run->reply);
	esmtp_filter_reply_init(&run->reply);
	run_next(run);
}

static void run_next(struct esmtp_filter_run *run)
{
	struct sockaddr_un sun;
	const char *path;

	if (run->next == run->count) {
		run_finish(run, NULL, 0);
		return;
	}
	path = run->sockets[run->next++];
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		run_tempfail(run, "socket path too long");
		return;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	run->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			 0);
	if (run->fd < 0 ||
	    (connect(run->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	     errno != EINPROGRESS && errno != EAGAIN)) {
		run_tempfail(run, strerror(errno));
		return;
	}
	run->written = 0;
	run->io = io_add(run->loop, run->fd, IO_WRITE, run_io, run);
	run->to = timeout_add_once(run->loop, run->timeout_msecs,
				   run_timeout, run);
}

static void run_start(void *context)
{
	struct esmtp_filter_run *run = context;

	run->to = NULL;
	run_next(run);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct esmtp_filter_run *esmtp_filter_start(struct ioloop *loop,
					    const char *dir,
					    const char *msg_path,
					    const char *env_path,
					    size_t rcpt_count,
					    unsigned int timeout_msecs,
					    esmtp_filter_done_t *done,
					    void *context)
{
	struct esmtp_filter_run *run;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return NULL;
	run = xcalloc(1, sizeof(*run));
	run->fd = -1;
	while ((de = readdir(d)) != NULL && run->count < 100) {
		struct stat st;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISSOCK(st.st_mode)) {
			run->sockets = xreallocarray(run->sockets,
						     run->count + 1,
						     sizeof(char *));
			run->sockets[run->count++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
	if (run->count == 0) {
		run_free(run);
		return NULL;
	}
	qsort(run->sockets, run->count, sizeof(char *), cmp_str);
	run->loop = loop;
	run->request = xasprintf("%s\n%s\n\n", msg_path, env_path);
	run->request_len = strlen(run->request);
	run->timeout_msecs = timeout_msecs;
	run->rcpt_count = rcpt_count;
	run->verdicts = xcalloc(rcpt_count + 1, sizeof(char *));
	run->done = done;
	run->context = context;
	esmtp_filter_reply_init(&run->reply);
	/* from the loop, so done is never called before this returns */
	run->to = timeout_add_once(loop, 0, run_start, run);
	return run;
}

void esmtp_filter_abort(struct esmtp_filter_run **run)
{
	if (*run == NULL)
		return;
	run_free(*run);
	*run = NULL;
}
