/* module-io.h: a delivery module's side of courierd's pipe protocol
 * (mta/courierd.c): job lines arrive on standard input, and "delid" lines
 * go back on standard output when a delivery's status is recorded.
 * Shared by courierlocal and courieresmtp. */
#ifndef MODULE_IO_H
#define MODULE_IO_H

#include <stddef.h>

struct ioloop;
struct module_io;

/* One job line, without its newline; the callee may change it, it is
 * freed when the call returns. */
typedef void module_io_job_fn(char *line, void *context);
/* End of input (courierd closed the pipe) or module_io_stop(): take no
 * more jobs, exit once those running are done.  Called once. */
typedef void module_io_eof_fn(void *context);

/* Watches standard input on loop (made non-blocking).  A line longer
 * than max_line is dropped with an error in the log. */
struct module_io *module_io_create(struct ioloop *loop, size_t max_line,
				   module_io_job_fn *job,
				   module_io_eof_fn *eof, void *context);
/* Stops reading (SIGTERM) and calls the eof callback if it has not been
 * called yet. */
void module_io_stop(struct module_io *io);
void module_io_destroy(struct module_io **io);

/* Tells courierd that delivery delid's status is recorded.  A closed pipe
 * (courierd gone) is not an error: it retries what it did not hear of. */
void module_io_report(const char *delid);

#endif
