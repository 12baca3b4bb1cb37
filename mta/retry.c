/* retry.c: the retry schedule arithmetic and its control files. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "config-file.h"
#include "config-settings.h"
#include "interval.h"
#include "log.h"
#include "retry.h"

unsigned int retry_delay(const struct retry_schedule *sched,
			 unsigned int attempts)
{
	unsigned int beta = sched->beta == 0 ? 1 : sched->beta;
	unsigned int n, group, shift;
	uint64_t wait;

	if (attempts == 0)
		attempts = 1;
	n = attempts - 1; /* waits already made */
	if (n < beta)
		return sched->alpha;
	n -= beta;
	if (n % beta != 0)
		return sched->alpha;
	group = n / beta;
	shift = group < sched->maxdelta ? group : sched->maxdelta;
	if (shift > 31)
		shift = 31;
	wait = (uint64_t)sched->gamma << shift;
	return wait > INT32_MAX ? INT32_MAX : (unsigned int)wait;
}

/* A small count from a control file (retrybeta, retrymaxdelta). */
static unsigned int read_count(const char *name, unsigned int def,
			       unsigned int min, unsigned int max)
{
	char *value = config_read_first_line(name, NULL);
	const char *error;
	long long v;
	unsigned int ret = def;

	if (value == NULL)
		return def;
	if (config_parse_int(value, &v, &error) < 0)
		log_error("%s: %s", name, error);
	else if (v < min || v > max)
		log_error("%s: %lld is not within %u..%u", name, v, min, max);
	else
		ret = (unsigned int)v;
	free(value);
	return ret;
}

void retry_schedule_load(struct retry_schedule *sched)
{
	config_read_interval("retryalpha", RETRY_DEFAULT_ALPHA,
			     &sched->alpha, NULL);
	config_read_interval("retrygamma", RETRY_DEFAULT_GAMMA,
			     &sched->gamma, NULL);
	sched->beta = read_count("retrybeta", RETRY_DEFAULT_BETA, 1, 1000);
	sched->maxdelta = read_count("retrymaxdelta", RETRY_DEFAULT_MAXDELTA,
				     0, 31);
}
