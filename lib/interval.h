/* interval.h: time intervals as Courier writes them.
 *
 * The syntax of queuetime, warntime, retryalpha, retrygamma, submitdelay,
 * queuefill, esmtpdelay...: one or more groups of an integer followed by a
 * unit, w (weeks), d (days), h (hours), m (minutes) or s (seconds), upper
 * or lower case, summed: "1w2d", "1h 30m", "90s".  A bare number means
 * seconds and may only be the last group ("1m 30" = 90 s).  Whitespace may
 * appear between groups and between a number and its unit.  Fractions,
 * signs, unknown units and text after the value are errors (Courier itself
 * silently stops at them).  The total may not exceed INTERVAL_MAX. */
#ifndef INTERVAL_H
#define INTERVAL_H

#include <stddef.h>

#include "str.h"

/* The largest interval accepted, in seconds (about 68 years): fits an int,
 * a 32-bit time_t and a millisecond timer after /1000 care by callers. */
#define INTERVAL_MAX 2147483647U

/* Parses len bytes of text (not necessarily NUL-terminated; may contain
 * anything).  Returns 0 and *secs_r, or -1 and *error_r (a static string
 * describing the problem). */
int interval_parse_n(const char *text, size_t len, unsigned int *secs_r,
		     const char **error_r);
/* The same for a NUL-terminated string. */
int interval_parse(const char *text, unsigned int *secs_r,
		   const char **error_r);

/* Appends secs in the shortest canonical form ("1w2d", "90s" gives
 * "1m30s", 0 gives "0s"); interval_parse() reads it back unchanged. */
void interval_format(struct str *out, unsigned int secs);

struct config_errors;
/* Reads a single-value control file holding an interval (queuetime...).
 * Returns 1 and *secs_r when it exists, 0 and *secs_r = def when it is
 * missing or empty, -1 and *secs_r = def when unreadable or malformed: the
 * error is added to errs as "file:line: name: message" (errs NULL logs). */
int config_read_interval(const char *name_or_path, unsigned int def,
			 unsigned int *secs_r, struct config_errors *errs);

#endif
