/* worker-pool.c: threads running blocking jobs, completions on the ioloop. */
#include "config.h"
#include "worker-pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ioloop.h"
#include "log.h"
#include "mem.h"

#define WORKER_POOL_MAX_THREADS 256

enum worker_job_state {
	WORKER_JOB_QUEUED,
	WORKER_JOB_RUNNING,
	WORKER_JOB_FINISHED,
};

struct worker_job {
	struct worker_pool *pool;
	struct worker_job *prev, *next;
	worker_run_t *run;
	worker_done_t *done;
	void *context;
	enum worker_job_state state;	/* under pool->lock */
	bool cancelled;			/* loop thread only */
};

struct job_list {
	struct worker_job *head, *tail;
};

struct worker_pool {
	struct ioloop *loop;
	struct io *io;
	int efd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job_list queued;		/* under lock */
	struct job_list finished;	/* under lock */
	bool stopping;			/* under lock */
	unsigned int pending;		/* loop thread only */
	unsigned int n_threads;
	pthread_t *threads;
};

static void list_append(struct job_list *l, struct worker_job *j)
{
	j->next = NULL;
	j->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static void list_unlink(struct job_list *l, struct worker_job *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		l->head = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	else
		l->tail = j->prev;
	j->prev = j->next = NULL;
}

static struct worker_job *list_pop(struct job_list *l)
{
	struct worker_job *j = l->head;

	if (j != NULL)
		list_unlink(l, j);
	return j;
}

static void job_deliver(struct worker_job *j, bool cancelled)
{
	struct worker_pool *pool = j->pool;

	pool->pending--;
	j->done(j->context, cancelled);
	free(j);
}

static void *worker_thread(void *arg)
{
	struct worker_pool *pool = arg;

	for (;;) {
		struct worker_job *j;
		uint64_t one = 1;
		bool wake;

		pthread_mutex_lock(&pool->lock);
		while (!pool->stopping && pool->queued.head == NULL)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->stopping) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		j = list_pop(&pool->queued);
		j->state = WORKER_JOB_RUNNING;
		pthread_mutex_unlock(&pool->lock);

		j->run(j->context);

		pthread_mutex_lock(&pool->lock);
		j->state = WORKER_JOB_FINISHED;
		/* The loop empties the finished list after each wakeup:
		 * only a job that finds it empty needs to wake it. */
		wake = pool->finished.head == NULL;
		list_append(&pool->finished, j);
		pthread_mutex_unlock(&pool->lock);
		/* The counter cannot overflow in practice; EAGAIN would
		 * still leave it readable, which is all we need. */
		while (wake && write(pool->efd, &one, sizeof(one)) < 0 &&
		       errno == EINTR)
			;
	}
}

static void worker_pool_input(void *context)
{
	struct worker_pool *pool = context;
	uint64_t count;

	if (read(pool->efd, &count, sizeof(count)) < 0 && errno != EAGAIN &&
	    errno != EINTR)
		log_panic("worker pool: eventfd read: %s", strerror(errno));
	for (;;) {
		struct worker_job *j;

		pthread_mutex_lock(&pool->lock);
		j = list_pop(&pool->finished);
		pthread_mutex_unlock(&pool->lock);
		if (j == NULL)
			break;
		job_deliver(j, j->cancelled);
	}
}

struct worker_pool *worker_pool_create(struct ioloop *loop,
				       unsigned int threads)
{
	struct worker_pool *pool = xcalloc(1, sizeof(*pool));
	sigset_t all, old;
	unsigned int i;
	int err;

	if (threads < 1)
		threads = 1;
	if (threads > WORKER_POOL_MAX_THREADS)
		threads = WORKER_POOL_MAX_THREADS;
	pool->loop = loop;
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0)
		log_panic("worker pool: eventfd: %s", strerror(errno));
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->threads = xcalloc(threads, sizeof(*pool->threads));

	/* Threads never take signals: the loop reads them (signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < threads; i++) {
		err = pthread_create(&pool->threads[i], NULL, worker_thread,
				     pool);
		if (err != 0)
			log_panic("worker pool: pthread_create: %s",
				  strerror(err));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pool->n_threads = threads;
	pool->io = io_add(loop, pool->efd, IO_READ, worker_pool_input, pool);
	return pool;
}

void worker_pool_destroy(struct worker_pool **_pool)
{
	struct worker_pool *pool = *_pool;
	struct job_list queued;
	struct worker_job *j;
	unsigned int i;

	if (pool == NULL)
		return;
	*_pool = NULL;

	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	queued = pool->queued;
	pool->queued.head = pool->queued.tail = NULL;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);

	for (i = 0; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);

	while ((j = list_pop(&queued)) != NULL)
		job_deliver(j, true);
	/* No thread is left: the finished list is ours. */
	while ((j = list_pop(&pool->finished)) != NULL)
		job_deliver(j, true);

	io_remove(&pool->io);
	close(pool->efd);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
}

struct worker_job *worker_pool_submit(struct worker_pool *pool,
				      worker_run_t *run, worker_done_t *done,
				      void *context)
{
	struct worker_job *j = xcalloc(1, sizeof(*j));

	j->pool = pool;
	j->run = run;
	j->done = done;
	j->context = context;
	j->state = WORKER_JOB_QUEUED;
	pool->pending++;
	pthread_mutex_lock(&pool->lock);
	list_append(&pool->queued, j);
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return j;
}

void worker_job_cancel(struct worker_job **_job)
{
	struct worker_job *j = *_job;
	struct worker_pool *pool;
	bool deliver_now = false;

	if (j == NULL)
		return;
	*_job = NULL;
	pool = j->pool;
	if (j->cancelled)
		return;
	j->cancelled = true;
	pthread_mutex_lock(&pool->lock);
	switch (j->state) {
	case WORKER_JOB_QUEUED:
		list_unlink(&pool->queued, j);
		deliver_now = true;
		break;
	case WORKER_JOB_FINISHED:
		list_unlink(&pool->finished, j);
		deliver_now = true;
		break;
	case WORKER_JOB_RUNNING:
		/* Delivered as cancelled when the thread is done. */
		break;
	}
	pthread_mutex_unlock(&pool->lock);
	if (deliver_now)
		job_deliver(j, true);
}

unsigned int worker_pool_pending(const struct worker_pool *pool)
{
	return pool->pending;
}

unsigned int worker_pool_threads(const struct worker_pool *pool)
{
	return pool->n_threads;
}
