/* throttle.c: failed-login counters in shared memory. */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"
#include "secure.h"
#include "throttle.h"

#define PROBES 8

struct throttle_slot {
	uint64_t hash; /* 0 = free */
	time_t start;  /* first failure of the window */
	unsigned int failures;
};

struct throttle_shared {
	pthread_mutex_t lock;
	uint64_t seed;
	size_t nslots;
	struct throttle_slot slots[];
};

struct throttle {
	struct throttle_shared *sh;
	size_t map_size;
};

struct throttle *throttle_create(size_t slots, const char **error_r)
{
	pthread_mutexattr_t attr;
	struct throttle *t;
	size_t size;
	void *p;

	if (slots < PROBES)
		slots = PROBES;
	size = sizeof(struct throttle_shared) +
	       slots * sizeof(struct throttle_slot);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		-1, 0);
	if (p == MAP_FAILED) {
		*error_r = "mmap of the throttle table failed";
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->sh = p;
	t->map_size = size;
	t->sh->nslots = slots;
	secure_random(&t->sh->seed, sizeof(t->sh->seed));
	if (pthread_mutexattr_init(&attr) != 0 ||
		pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) !=
			0 ||
		pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
		pthread_mutex_init(&t->sh->lock, &attr) != 0) {
		*error_r = "cannot make a process-shared mutex";
		munmap(p, size);
		free(t);
		return NULL;
	}
	pthread_mutexattr_destroy(&attr);
	return t;
}

void throttle_destroy(struct throttle **_t)
{
	struct throttle *t = *_t;
	if (t == NULL)
		return;
	munmap(t->sh, t->map_size);
	free(t);
	*_t = NULL;
}

static void lock(struct throttle *t)
{
	int r = pthread_mutex_lock(&t->sh->lock);
	if (r == EOWNERDEAD)
		(void)pthread_mutex_consistent(&t->sh->lock);
}

static void unlock(struct throttle *t)
{
	(void)pthread_mutex_unlock(&t->sh->lock);
}

/* SipHash would do; FNV-1a over a secret seed and the key, then a final
 * mix, is enough for a table whose worst case is reusing a slot. */
static uint64_t key_hash(const struct throttle *t, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ t->sh->seed;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h == 0 ? 1 : h;
}

/* The slot of key, or NULL (create: a free or the oldest slot). */
static struct throttle_slot *find(struct throttle *t, uint64_t h, bool create)
{
	struct throttle_shared *sh = t->sh;
	struct throttle_slot *victim = NULL;

	for (size_t i = 0; i < PROBES; i++) {
		struct throttle_slot *s = &sh->slots[(h + i) % sh->nslots];
		if (s->hash == h)
			return s;
		if (!create)
			continue;
		if (s->hash == 0) {
			if (victim == NULL || victim->hash != 0)
				victim = s;
		} else if (victim == NULL ||
			   (victim->hash != 0 && s->start < victim->start)) {
			victim = s;
		}
	}
	if (victim != NULL) {
		victim->hash = h;
		victim->start = 0;
		victim->failures = 0;
	}
	return victim;
}

bool throttle_blocked(struct throttle *t, const char *key, unsigned int max,
	unsigned int window, time_t now)
{
	uint64_t h = key_hash(t, key);
	bool blocked = false;

	if (max == 0)
		return false;
	lock(t);
	struct throttle_slot *s = find(t, h, false);
	if (s != NULL && s->failures >= max && now - s->start < (time_t)window)
		blocked = true;
	unlock(t);
	return blocked;
}

unsigned int throttle_fail(
	struct throttle *t, const char *key, unsigned int window, time_t now)
{
	uint64_t h = key_hash(t, key);
	unsigned int n;

	lock(t);
	struct throttle_slot *s = find(t, h, true);
	if (s->failures == 0 || now - s->start >= (time_t)window) {
		s->start = now;
		s->failures = 0;
	}
	n = ++s->failures;
	unlock(t);
	return n;
}

void throttle_reset(struct throttle *t, const char *key)
{
	uint64_t h = key_hash(t, key);

	lock(t);
	struct throttle_slot *s = find(t, h, false);
	if (s != NULL)
		memset(s, 0, sizeof(*s));
	unlock(t);
}
