/* interval.c: parses and formats Courier time intervals (interval.h). */
#include "config.h"
#include "interval.h"
#include "config-file.h"
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static unsigned int unit_seconds(char c)
{
	switch (c) {
	case 'w': case 'W': return 7 * 24 * 3600;
	case 'd': case 'D': return 24 * 3600;
	case 'h': case 'H': return 3600;
	case 'm': case 'M': return 60;
	case 's': case 'S': return 1;
	default: return 0;
	}
}

int interval_parse_n(const char *text, size_t len, unsigned int *secs_r,
		     const char **error_r)
{
	const char *p = text, *end = text + len;
	uint64_t total = 0;
	bool any = false;

	*secs_r = 0;
	for (;;) {
		while (p < end && is_space(*p))
			p++;
		if (p == end)
			break;
		if (*p < '0' || *p > '9') {
			if (unit_seconds(*p) != 0)
				*error_r = "unit without a number";
			else if (*p == '-' || *p == '+')
				*error_r = "signs are not allowed";
			else
				*error_r = "expected a number";
			return -1;
		}
		uint64_t n = 0;
		while (p < end && *p >= '0' && *p <= '9') {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > INTERVAL_MAX) {
				*error_r = "interval too long";
				return -1;
			}
			p++;
		}
		while (p < end && is_space(*p))
			p++;
		unsigned int unit = 1;
		if (p < end) {
			if (*p == '.' || *p == ',') {
				*error_r = "fractions are not allowed";
				return -1;
			}
			unit = unit_seconds(*p);
			if (unit == 0) {
				*error_r = *p >= '0' && *p <= '9' ?
					"a number without a unit must be last" :
					"unknown unit (use w, d, h, m or s)";
				return -1;
			}
			p++;
		}
		total += n * unit;
		if (total > INTERVAL_MAX) {
			*error_r = "interval too long";
			return -1;
		}
		any = true;
		/* a unit must be followed by a space, a number or the end */
		if (p < end && !is_space(*p) && (*p < '0' || *p > '9')) {
			*error_r = unit_seconds(*p) != 0 ?
				"a unit must follow a number" :
				"unexpected text after the interval";
			return -1;
		}
	}
	if (!any) {
		*error_r = "empty interval";
		return -1;
	}
	*secs_r = (unsigned int)total;
	return 0;
}

int interval_parse(const char *text, unsigned int *secs_r,
		   const char **error_r)
{
	return interval_parse_n(text, strlen(text), secs_r, error_r);
}

void interval_format(struct str *out, unsigned int secs)
{
	static const struct {
		char unit;
		unsigned int secs;
	} units[] = {
		{ 'w', 7 * 24 * 3600 }, { 'd', 24 * 3600 }, { 'h', 3600 },
		{ 'm', 60 }, { 's', 1 },
	};

	if (secs == 0) {
		str_append(out, "0s");
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(units); i++) {
		if (secs >= units[i].secs) {
			str_printfa(out, "%u%c", secs / units[i].secs,
				    units[i].unit);
			secs %= units[i].secs;
		}
	}
}

int config_read_interval(const char *name_or_path, unsigned int def,
			 unsigned int *secs_r, struct config_errors *errs)
{
	char *value, *origin;
	const char *error;
	int ret;

	*secs_r = def;
	ret = config_read_first_line_r(name_or_path, &value, &origin, errs);
	if (ret <= 0)
		return ret;
	if (interval_parse(value, secs_r, &error) < 0) {
		config_error(errs, origin, 0, "invalid time interval '%s': %s",
			     value, error);
		*secs_r = def;
		ret = -1;
	}
	free(value);
	free(origin);
	return ret;
}
