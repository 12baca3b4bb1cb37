/* throttle.h: failed-login throttling shared by every authdaemond worker.
 *
 * A fixed table in shared memory (mmap MAP_SHARED, made before the
 * workers are forked) counts failed logins per key ("user:NAME" and
 * "ip:ADDRESS") in a window: after max failures within window seconds of
 * the first one, throttle_blocked() says yes until the window has passed.
 * The caller then answers as for a wrong password, so the reply reveals
 * nothing.  The table has a fixed number of slots: when full, the slot
 * whose window is oldest is reused, so memory is bounded whatever the
 * traffic.  Keys are hashed with a random per-table seed, so a client
 * cannot pick names that collide.  A process-shared robust mutex guards
 * the table (a worker that dies holding it does not wedge the others). */
#ifndef THROTTLE_H
#define THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct throttle;

/* A table of slots entries in shared memory.  Returns NULL with *error_r
 * (static) if mmap or the mutex setup fails. */
struct throttle *throttle_create(size_t slots, const char **error_r);
void throttle_destroy(struct throttle **t);

/* True when key has had max or more failures within window seconds
 * counted from its first failure (now is CLOCK_MONOTONIC seconds; max 0
 * never blocks). */
bool throttle_blocked(struct throttle *t, const char *key, unsigned int max,
	unsigned int window, time_t now);
/* Counts a failure for key (starting a new window when the old one has
 * passed); returns the count in the current window. */
unsigned int throttle_fail(
	struct throttle *t, const char *key, unsigned int window, time_t now);
/* Forgets key's failures (after a successful login). */
void throttle_reset(struct throttle *t, const char *key);

#endif
