/* unlink-many.c: removes many files at once, from several threads. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "unlink-many.h"

/* Below this many files a thread costs more than it saves. */
#define UNLINK_MANY_MIN_PARALLEL 16

struct unlink_job {
	const char *const *paths;
	int *errnos;
	size_t count;
	atomic_size_t next;
};

static void unlink_some(struct unlink_job *job)
{
	size_t i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->count)
		job->errnos[i] = unlink(job->paths[i]) == 0 ? 0 : errno;
}

static void *unlink_thread(void *context)
{
	unlink_some(context);
	return NULL;
}

void unlink_many(const char *const *paths, size_t count, int *errnos_r)
{
	struct unlink_job job = { .paths = paths, .errnos = errnos_r,
				  .count = count };
	pthread_t threads[UNLINK_MANY_THREADS - 1];
	size_t started = 0;

	atomic_init(&job.next, 0);
	if (count >= UNLINK_MANY_MIN_PARALLEL) {
		size_t want = count / UNLINK_MANY_MIN_PARALLEL;

		if (want > UNLINK_MANY_THREADS - 1)
			want = UNLINK_MANY_THREADS - 1;
		/* A thread that cannot be made leaves its share to us. */
		while (started < want &&
		       pthread_create(&threads[started], NULL, unlink_thread,
				      &job) == 0)
			started++;
	}
	unlink_some(&job);
	for (size_t t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
}
