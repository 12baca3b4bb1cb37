/* test-worker-pool.c: unit tests of the worker-thread pool (lib/worker-pool.h). */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ioloop.h"
#include "mem.h"
#include "worker-pool.h"

struct tally {
	unsigned int done;
	unsigned int cancelled;
	unsigned int ran;
	unsigned int entered;
	int order[2000];
	unsigned int n_order;
	pthread_mutex_t lock;
	pthread_mutex_t gate;	/* held by the test to keep jobs running */
};

struct job_ctx {
	struct tally *t;
	int id;
	bool wait_gate;
	pthread_t thread;
};

static void job_run(void *context)
{
	struct job_ctx *c = context;

	pthread_mutex_lock(&c->t->lock);
	c->t->entered++;
	pthread_mutex_unlock(&c->t->lock);
	if (c->wait_gate) {
		pthread_mutex_lock(&c->t->gate);
		pthread_mutex_unlock(&c->t->gate);
	}
	c->thread = pthread_self();
	pthread_mutex_lock(&c->t->lock);
	c->t->ran++;
	pthread_mutex_unlock(&c->t->lock);
}

static void job_done(void *context, bool cancelled)
{
	struct job_ctx *c = context;

	if (cancelled) {
		c->t->cancelled++;
	} else {
		/* Run in a worker, delivered in the loop thread. */
		assert_false(pthread_equal(c->thread, pthread_self()));
		c->t->done++;
		if (c->t->n_order < N_ELEMENTS(c->t->order))
			c->t->order[c->t->n_order++] = c->id;
	}
	free(c);
}

static struct job_ctx *ctx_new(struct tally *t, int id, bool gate)
{
	struct job_ctx *c = xcalloc(1, sizeof(*c));

	c->t = t;
	c->id = id;
	c->wait_gate = gate;
	return c;
}

static void tally_init(struct tally *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->gate, NULL);
}

static void run_until(struct ioloop *loop, struct worker_pool *pool,
		      unsigned int pending)
{
	int rounds = 0;

	while (worker_pool_pending(pool) > pending) {
		ioloop_run_once(loop, 1000);
		assert_true(++rounds < 100000);
	}
}

static void test_many_jobs(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct worker_pool *pool = worker_pool_create(loop, 4);
	struct tally t;
	int i;

	(void)state;
	tally_init(&t);
	assert_int_equal(worker_pool_threads(pool), 4);
	for (i = 0; i < 1000; i++)
		(void)worker_pool_submit(pool, job_run, job_done,
					 ctx_new(&t, i, false));
	assert_int_equal(worker_pool_pending(pool), 1000);
	run_until(loop, pool, 0);
	assert_int_equal(t.done, 1000);
	assert_int_equal(t.ran, 1000);
	assert_int_equal(t.cancelled, 0);
	worker_pool_destroy(&pool);
	assert_null(pool);
	ioloop_destroy(&loop);
}

static void test_order_one_thread(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct worker_pool *pool = worker_pool_create(loop, 1);
	struct tally t;
	int i;

	(void)state;
	tally_init(&t);
	for (i = 0; i < 200; i++)
		(void)worker_pool_submit(pool, job_run, job_done,
					 ctx_new(&t, i, false));
	run_until(loop, pool, 0);
	assert_int_equal(t.n_order, 200);
	/* One thread: completions come in submission order. */
	for (i = 0; i < 200; i++)
		assert_int_equal(t.order[i], i);
	worker_pool_destroy(&pool);
	ioloop_destroy(&loop);
}

static void test_zero_threads_clamped(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct worker_pool *pool = worker_pool_create(loop, 0);
	struct tally t;

	(void)state;
	tally_init(&t);
	assert_int_equal(worker_pool_threads(pool), 1);
	(void)worker_pool_submit(pool, job_run, job_done,
				 ctx_new(&t, 0, false));
	run_until(loop, pool, 0);
	assert_int_equal(t.done, 1);
	worker_pool_destroy(&pool);
	ioloop_destroy(&loop);
}

static void test_cancel_queued_and_running(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct worker_pool *pool = worker_pool_create(loop, 1);
	struct worker_job *running, *queued, *other;
	struct tally t;
	int spins = 0;

	(void)state;
	tally_init(&t);
	pthread_mutex_lock(&t.gate);
	running = worker_pool_submit(pool, job_run, job_done,
				     ctx_new(&t, 1, true));
	queued = worker_pool_submit(pool, job_run, job_done,
				    ctx_new(&t, 2, false));
	other = worker_pool_submit(pool, job_run, job_done,
				   ctx_new(&t, 3, false));
	(void)other;
	/* Cancel a queued job: done(true) at once, never run. */
	worker_job_cancel(&queued);
	assert_null(queued);
	assert_int_equal(t.cancelled, 1);
	/* Let the first job enter run() (blocked on the gate), cancel it. */
	for (;;) {
		unsigned int entered;

		pthread_mutex_lock(&t.lock);
		entered = t.entered;
		pthread_mutex_unlock(&t.lock);
		if (entered > 0)
			break;
		assert_true(spins++ < 10000);
		usleep(1000);
	}
	worker_job_cancel(&running);
	assert_null(running);
	worker_job_cancel(&running);	/* NULL is fine */
	assert_int_equal(t.cancelled, 1);
	pthread_mutex_unlock(&t.gate);
	run_until(loop, pool, 0);
	assert_int_equal(t.cancelled, 2);
	assert_int_equal(t.done, 1);
	assert_int_equal(t.order[0], 3);
	assert_int_equal(t.ran, 2);
	worker_pool_destroy(&pool);
	ioloop_destroy(&loop);
}

static void test_cancel_finished_undelivered(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct worker_pool *pool = worker_pool_create(loop, 2);
	struct worker_job *j;
	struct tally t;
	int spins = 0;

	(void)state;
	tally_init(&t);
	j = worker_pool_submit(pool, job_run, job_done,
			       ctx_new(&t, 1, false));
	while (spins++ < 500) {
		unsigned int ran;

		pthread_mutex_lock(&t.lock);
		ran = t.ran;
		pthread_mutex_unlock(&t.lock);
		if (ran == 1)
			break;
		usleep(1000);
	}
	usleep(5000);
	/* Finished but not delivered (the loop has not run). */
	worker_job_cancel(&j);
	assert_int_equal(t.cancelled, 1);
	assert_int_equal(worker_pool_pending(pool), 0);
	ioloop_run_once(loop, 10);
	assert_int_equal(t.done, 0);
	worker_pool_destroy(&pool);
	ioloop_destroy(&loop);
}

static void test_destroy_with_pending(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct worker_pool *pool = worker_pool_create(loop, 2);
	struct tally t;
	int i;

	(void)state;
	tally_init(&t);
	pthread_mutex_lock(&t.gate);
	for (i = 0; i < 50; i++)
		(void)worker_pool_submit(pool, job_run, job_done,
					 ctx_new(&t, i, true));
	usleep(10000);
	pthread_mutex_unlock(&t.gate);
	/* Running jobs finish, queued ones are dropped; all get done(true). */
	worker_pool_destroy(&pool);
	assert_int_equal(t.cancelled, 50);
	assert_int_equal(t.done, 0);
	assert_true(t.ran <= 50);
	ioloop_destroy(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_jobs),
		cmocka_unit_test(test_order_one_thread),
		cmocka_unit_test(test_zero_threads_clamped),
		cmocka_unit_test(test_cancel_queued_and_running),
		cmocka_unit_test(test_cancel_finished_undelivered),
		cmocka_unit_test(test_destroy_with_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
