/* ioloop.h: the event loop every daemon of the suite runs on (epoll).
 *
 * One loop per process.  File descriptors are watched for readability or
 * writability; timers fire once or repeatedly; signals are delivered as
 * ordinary callbacks (signalfd), never in signal context.  Callbacks run
 * one at a time; a callback may add or remove any io or timeout, including
 * its own.  Times are milliseconds of CLOCK_MONOTONIC. */
#ifndef IOLOOP_H
#define IOLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ioloop;
struct io;
struct timeout;

typedef void io_callback_t(void *context);

enum io_condition {
	IO_READ = 0x01,
	IO_WRITE = 0x02,
};

/* Creates the loop.  Panics if epoll cannot be had. */
struct ioloop *ioloop_create(void);
/* Destroys the loop; every io and timeout must have been removed. */
void ioloop_destroy(struct ioloop **loop);
/* Runs callbacks until ioloop_stop() is called. */
void ioloop_run(struct ioloop *loop);
/* Runs one round: waits at most timeout_msecs (-1 = until something
 * happens) and runs what is ready.  For tests and nested waits. */
void ioloop_run_once(struct ioloop *loop, int timeout_msecs);
void ioloop_stop(struct ioloop *loop);
/* The loop's cached clock, updated once per round. */
uint64_t ioloop_now_ms(const struct ioloop *loop);

/* Calls cb(context) whenever fd is ready for cond.  One io per fd and
 * condition; an fd may have one read io and one write io.  Level-triggered. */
struct io *io_add(struct ioloop *loop, int fd, enum io_condition cond,
		  io_callback_t *cb, void *context);
/* Stops watching; sets *io to NULL.  Does not close the fd. */
void io_remove(struct io **io);

/* Calls cb(context) after msecs, once. */
struct timeout *timeout_add_once(struct ioloop *loop, unsigned int msecs,
				 io_callback_t *cb, void *context);
/* Calls cb(context) every msecs until removed. */
struct timeout *timeout_add(struct ioloop *loop, unsigned int msecs,
			    io_callback_t *cb, void *context);
/* Restarts the timer's interval from now (idle timeouts). */
void timeout_reset(struct timeout *to);
/* Cancels; sets *to to NULL.  A once-timer that fired is already freed:
 * its owner must clear its pointer in the callback instead. */
void timeout_remove(struct timeout **to);

/* Calls cb(context) in the loop when signo arrives (SIGTERM, SIGHUP,
 * SIGCHLD...).  The signal is blocked for normal delivery. */
void ioloop_signal_add(struct ioloop *loop, int signo, io_callback_t *cb,
		       void *context);

#endif
