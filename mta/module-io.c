/* module-io.c: a delivery module's side of courierd's pipe protocol. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioloop.h"
#include "log.h"
#include "mem.h"
#include "module-io.h"
#include "str.h"

struct module_io {
	struct io *in_io;
	struct str inbuf;
	size_t max_line;
	module_io_job_fn *job;
	module_io_eof_fn *eof;
	void *context;
	bool eof_called;
};

static void module_io_end(struct module_io *io)
{
	if (io->in_io != NULL)
		io_remove(&io->in_io);
	if (!io->eof_called) {
		io->eof_called = true;
		io->eof(io->context);
	}
}

static void module_io_input(void *context)
{
	struct module_io *io = context;
	char buf[16384];
	ssize_t n = read(0, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		module_io_end(io);
		return;
	}
	str_append_n(&io->inbuf, buf, (size_t)n);
	for (;;) {
		const char *s = str_c(&io->inbuf);
		const char *nl = memchr(s, '\n', str_len(&io->inbuf));
		char *line;

		if (nl == NULL) {
			if (str_len(&io->inbuf) > io->max_line) {
				log_error("request too long");
				str_clear(&io->inbuf);
			}
			break;
		}
		line = xstrndup(s, (size_t)(nl - s));
		str_delete_head(&io->inbuf, (size_t)(nl - s) + 1);
		io->job(line, io->context);
		free(line);
	}
}

struct module_io *module_io_create(struct ioloop *loop, size_t max_line,
				   module_io_job_fn *job,
				   module_io_eof_fn *eof, void *context)
{
	struct module_io *io = xcalloc(1, sizeof(*io));

	io->max_line = max_line;
	io->job = job;
	io->eof = eof;
	io->context = context;
	str_init(&io->inbuf, 1024);
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	io->in_io = io_add(loop, 0, IO_READ, module_io_input, io);
	return io;
}

void module_io_stop(struct module_io *io)
{
	module_io_end(io);
}

void module_io_destroy(struct module_io **iop)
{
	struct module_io *io = *iop;

	if (io == NULL)
		return;
	if (io->in_io != NULL)
		io_remove(&io->in_io);
	str_free(&io->inbuf);
	free(io);
	*iop = NULL;
}

void module_io_report(const char *delid)
{
	char *line = xasprintf("%s\n", delid);
	size_t len = strlen(line), done = 0;

	while (done < len) {
		ssize_t n = write(1, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (errno != EPIPE)
				log_error("cannot report to courierd: %s",
					  strerror(errno));
			break;
		}
		done += (size_t)n;
	}
	free(line);
}
