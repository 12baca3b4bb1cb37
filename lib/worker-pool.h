/* worker-pool.h: a pool of threads that run blocking jobs (fsync, DNS)
 * for an event-driven process, with completion delivered on its ioloop.
 *
 * A job is two functions and a context: run(context) is called in one of
 * the pool's threads; done(context, cancelled) is then called in the loop
 * thread (from an eventfd io on the pool's ioloop), in the order the jobs
 * finished.  The context belongs to the job from submit until done: done
 * is called exactly once for every submitted job and must free whatever
 * the context owns.
 *
 * Cancellation (the session that submitted the job is going away):
 * worker_job_cancel() guarantees that done() will be called with
 * cancelled = true, and so must not touch anything but the context itself.
 * A job still queued is never run and its done(context, true) is called
 * before worker_job_cancel() returns; a running job runs to its end (a
 * thread cannot be interrupted safely) and its done(context, true) comes
 * later from the loop; a finished job not yet delivered is delivered at
 * once as cancelled.  run() must therefore only use what the context owns
 * (copies, not pointers into the session).
 *
 * All functions except run() are called from the loop thread only. */
#ifndef WORKER_POOL_H
#define WORKER_POOL_H

#include <stdbool.h>

struct ioloop;
struct worker_pool;
struct worker_job;

/* Called in a pool thread; may block.  errno is per thread. */
typedef void worker_run_t(void *context);
/* Called in the loop thread once run() has returned (cancelled = false),
 * or when the job was cancelled or the pool destroyed (cancelled = true,
 * run() may or may not have been called).  Owns and frees context. */
typedef void worker_done_t(void *context, bool cancelled);

/* Creates a pool of `threads` threads (at least 1, at most 256) whose
 * completions are delivered on loop.  Panics if threads or the eventfd
 * cannot be had (the process cannot work without them). */
struct worker_pool *worker_pool_create(struct ioloop *loop,
				       unsigned int threads);
/* Stops the pool: queued jobs are not run, running jobs are waited for,
 * and every job not yet delivered gets done(context, true), in the loop
 * thread, before this returns.  Sets *pool to NULL. */
void worker_pool_destroy(struct worker_pool **pool);

/* Queues a job; returns its handle, valid until done is called (the
 * owner clears its pointer in done, or gives it up with
 * worker_job_cancel()).  Jobs start in submission order. */
struct worker_job *worker_pool_submit(struct worker_pool *pool,
				      worker_run_t *run, worker_done_t *done,
				      void *context);
/* Cancels the job as described above and sets *job to NULL.  NULL *job
 * is allowed. */
void worker_job_cancel(struct worker_job **job);

/* Jobs submitted and not yet delivered (queued, running or finished). */
unsigned int worker_pool_pending(const struct worker_pool *pool);
/* Threads of the pool. */
unsigned int worker_pool_threads(const struct worker_pool *pool);

#endif
