/* retry.h: the retry schedule of temporary failures, as Courier's.
 *
 * courierd makes retrybeta attempts retryalpha apart, then waits
 * retrygamma, makes retrybeta more attempts retryalpha apart, waits
 * retrygamma*2, and so on, doubling the long wait each time up to
 * retrygamma * 2^retrymaxdelta.  With the defaults (5m, 3, 15m, 3) the
 * waits after each attempt are, in minutes:
 *   5, 5, 5, 15, 5, 5, 30, 5, 5, 60, 5, 5, 120, 5, 5, 120, 5, 5, ...
 * (the first wait follows the first attempt). */
#ifndef RETRY_H
#define RETRY_H

#include <time.h>

struct retry_schedule {
	unsigned int alpha;	/* seconds between attempts of a group */
	unsigned int beta;	/* attempts per group (>= 1) */
	unsigned int gamma;	/* seconds of the first long wait */
	unsigned int maxdelta;	/* doublings of gamma at most */
};

/* Courier's defaults: 5m, 3, 15m, 3. */
#define RETRY_DEFAULT_ALPHA (5 * 60)
#define RETRY_DEFAULT_BETA 3
#define RETRY_DEFAULT_GAMMA (15 * 60)
#define RETRY_DEFAULT_MAXDELTA 3

/* Fills sched from the control files retryalpha, retrybeta, retrygamma
 * and retrymaxdelta (defaults for missing or bad ones, which are
 * logged). */
void retry_schedule_load(struct retry_schedule *sched);

/* The wait in seconds after `attempts` completed attempts (>= 1): the
 * wait after the first attempt is retry_delay(s, 1).  Never overflows
 * (saturates at INT32_MAX seconds). */
unsigned int retry_delay(const struct retry_schedule *sched,
			 unsigned int attempts);

#endif
