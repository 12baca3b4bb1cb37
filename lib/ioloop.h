/* ioloop.h: the event loop every daemon of the suite runs on (epoll).
 *
 * One loop per process.  File descriptors are watched for readability or
 * writability; timers fire once or repeatedly; signals are delivered as
 * ordinary callbacks (signalfd), never in signal context.  Callbacks run
 * one at a time; a callback may add or remove any io or timeout, including
 * its own: a removed one is never called again, and its memory lives until
 * the round ends.  An io added by a callback, and a timer added or reset by
 * a timer callback, are first considered in the next round (a timer that
 * re-adds itself with 0 ms cannot starve the fds).  Each round runs the
 * ready ios, then the due timers.  Times are milliseconds of
 * CLOCK_MONOTONIC.
 *
 * Level-triggered: a callback that leaves data unread is called again next
 * round.  A callback may be called when a read would block after all (a
 * nested round consumed the data): non-blocking fds and EAGAIN handling are
 * expected.  An error or hangup on an fd is reported to its read and write
 * io; their read()/write() then tell what happened.
 *
 * Creating a loop sets SIGPIPE to be ignored (writes to a vanished peer
 * fail with EPIPE).  All fds the loop opens are close-on-exec.
 *
 * fork(): a child may go on using the loops it inherited (a daemon may
 * bind its listeners, then fork its workers): on first use it gets an
 * epoll set of its own with the same registrations, and the parent's is
 * never touched (until then, removing ios, timeouts or the whole loop in
 * the child only frees memory).  Signal handlers stay: the child reads its
 * own signals.  A child forked inside a callback should exec or _exit,
 * not return into its parent's round. */
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
/* Destroys the loop; every io and timeout must have been removed (those
 * left are freed with a warning, their owners' pointers dangling).  Sets
 * *loop to NULL.  Signals stay blocked (see ioloop_child_prepare_exec()). */
void ioloop_destroy(struct ioloop **loop);
/* Runs callbacks until ioloop_stop() is called. */
void ioloop_run(struct ioloop *loop);
/* Runs one round: waits at most timeout_msecs (-1 = until something
 * happens) and runs what is ready.  For tests and nested waits. */
void ioloop_run_once(struct ioloop *loop, int timeout_msecs);
void ioloop_stop(struct ioloop *loop);
/* The loop's cached clock, updated once per round (after waiting); timers
 * count from it. */
uint64_t ioloop_now_ms(const struct ioloop *loop);

/* Calls cb(context) whenever fd is ready for cond.  One io per fd and
 * condition; an fd may have one read io and one write io (or one io with
 * IO_READ | IO_WRITE, called once per round when either holds).  Both
 * share one epoll registration.  Level-triggered.  Panics on a second io
 * for the same fd and condition (our bug). */
struct io *io_add(struct ioloop *loop, int fd, enum io_condition cond,
		  io_callback_t *cb, void *context);
/* Stops watching; sets *io to NULL.  Does not close the fd. */
void io_remove(struct io **io);

/* Calls cb(context) after msecs, once; the loop frees it after the
 * call.  Timers due in the same round fire in order of due time, then of
 * adding. */
struct timeout *timeout_add_once(struct ioloop *loop, unsigned int msecs,
				 io_callback_t *cb, void *context);
/* Calls cb(context) every msecs (> 0) until removed; the next run counts
 * from the round the callback ran in. */
struct timeout *timeout_add(struct ioloop *loop, unsigned int msecs,
			    io_callback_t *cb, void *context);
/* Restarts the timer's interval from now (idle timeouts).  Also valid for
 * a once-timer that has not fired yet. */
void timeout_reset(struct timeout *to);
/* Cancels; sets *to to NULL.  A once-timer that fired is already freed:
 * its owner must clear its pointer in the callback instead. */
void timeout_remove(struct timeout **to);

/* Calls cb(context) in the loop when signo arrives (SIGTERM, SIGHUP,
 * SIGCHLD...).  The signal is blocked for normal delivery.  Several
 * handlers may watch one signal; they run in the order added.  Signals of
 * one kind that arrive together are coalesced into one call (as the
 * kernel does): a SIGCHLD handler must reap with waitpid(WNOHANG) in a
 * loop. */
void ioloop_signal_add(struct ioloop *loop, int signo, io_callback_t *cb,
		       void *context);

/* In a forked child about to exec another program: unblocks the signals
 * loops blocked and restores SIGPIPE's default action, which exec would
 * otherwise pass on. */
void ioloop_child_prepare_exec(void);

#endif
