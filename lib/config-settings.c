/* config-settings.c: typed settings tables loaded from NAME=value files
 * (config-settings.h). */
#include "config.h"
#include "config-settings.h"
#include "interval.h"
#include "mem.h"
#include "log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char setting_error[256];

const struct config_setting_def *
config_settings_find(const struct config_setting_def *defs, const char *name)
{
	for (; defs->name != NULL; defs++) {
		if (strcmp(defs->name, name) == 0)
			return defs;
	}
	return NULL;
}

int config_parse_bool(const char *text, bool *value_r, const char **error_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < N_ELEMENTS(yes); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*value_r = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*value_r = false;
			return 0;
		}
	}
	*error_r = "expected yes or no (or true/false, on/off, 1/0)";
	return -1;
}

int config_parse_int(const char *text, long long *value_r,
		     const char **error_r)
{
	const char *p = text;
	bool neg = false;
	unsigned long long n = 0;
	/* magnitude limit: LLONG_MAX, or LLONG_MAX + 1 when negative */
	unsigned long long limit;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	limit = (unsigned long long)LLONG_MAX + (neg ? 1 : 0);
	if (*p == '\0') {
		*error_r = "expected a number";
		return -1;
	}
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			*error_r = "expected a whole number";
			return -1;
		}
		unsigned int d = (unsigned int)(*p - '0');
		if (n > (limit - d) / 10) {
			*error_r = "number out of range";
			return -1;
		}
		n = n * 10 + d;
	}
	if (neg)
		*value_r = n == (unsigned long long)LLONG_MAX + 1 ?
			LLONG_MIN : -(long long)n;
	else
		*value_r = (long long)n;
	return 0;
}

int config_parse_size(const char *text, uint64_t *value_r,
		      const char **error_r)
{
	const char *p = text;
	uint64_t n = 0, mult = 1;

	if (*p < '0' || *p > '9') {
		*error_r = "expected a size (a number with an optional "
			   "k, M, G or T suffix)";
		return -1;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');
		if (n > (UINT64_MAX - d) / 10) {
			*error_r = "size out of range";
			return -1;
		}
		n = n * 10 + d;
	}
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': mult = 1024ULL; p++; break;
	case 'm': case 'M': mult = 1024ULL * 1024; p++; break;
	case 'g': case 'G': mult = 1024ULL * 1024 * 1024; p++; break;
	case 't': case 'T': mult = 1024ULL * 1024 * 1024 * 1024; p++; break;
	default:
		*error_r = "unknown size suffix (use k, M, G or T)";
		return -1;
	}
	if (*p != '\0') {
		*error_r = "unexpected text after the size";
		return -1;
	}
	if (n > UINT64_MAX / mult) {
		*error_r = "size out of range";
		return -1;
	}
	*value_r = n * mult;
	return 0;
}

static bool has_bounds(const struct config_setting_def *def)
{
	return def->min != 0 || def->max != 0;
}

static int out_of_bounds(const struct config_setting_def *def,
			 const char **error_r)
{
	snprintf(setting_error, sizeof(setting_error),
		 "must be between %lld and %lld", def->min, def->max);
	*error_r = setting_error;
	return -1;
}

/* Parses value for def into field (only on success). */
static int setting_parse(const struct config_setting_def *def, void *field,
			 const char *value, const char **error_r)
{
	switch (def->type) {
	case CONFIG_TYPE_STRING: {
		char **s = field;

		free(*s);
		*s = xstrdup(value);
		return 0;
	}
	case CONFIG_TYPE_BOOL:
		return config_parse_bool(value, field, error_r);
	case CONFIG_TYPE_INT: {
		long long n;

		if (config_parse_int(value, &n, error_r) < 0)
			return -1;
		if (has_bounds(def) && (n < def->min || n > def->max))
			return out_of_bounds(def, error_r);
		*(long long *)field = n;
		return 0;
	}
	case CONFIG_TYPE_SIZE: {
		uint64_t n;

		if (config_parse_size(value, &n, error_r) < 0)
			return -1;
		if (has_bounds(def) &&
		    (def->min > 0 && n < (uint64_t)def->min))
			return out_of_bounds(def, error_r);
		if (has_bounds(def) &&
		    (def->max < 0 || n > (uint64_t)def->max))
			return out_of_bounds(def, error_r);
		*(uint64_t *)field = n;
		return 0;
	}
	case CONFIG_TYPE_INTERVAL: {
		unsigned int secs;

		if (interval_parse(value, &secs, error_r) < 0)
			return -1;
		if (has_bounds(def) &&
		    ((long long)secs < def->min || (long long)secs > def->max))
			return out_of_bounds(def, error_r);
		*(unsigned int *)field = secs;
		return 0;
	}
	case CONFIG_TYPE_ENUM:
		for (unsigned int i = 0; def->enum_values[i] != NULL; i++) {
			if (strcasecmp(value, def->enum_values[i]) == 0) {
				*(unsigned int *)field = i;
				return 0;
			}
		}
		{
			size_t len = 0;

			len += (size_t)snprintf(setting_error,
						sizeof(setting_error),
						"expected one of:");
			for (unsigned int i = 0; def->enum_values[i] != NULL &&
			     len < sizeof(setting_error); i++) {
				len += (size_t)snprintf(
					setting_error + len,
					sizeof(setting_error) - len, " %s",
					def->enum_values[i]);
			}
			*error_r = setting_error;
		}
		return -1;
	}
	log_panic("config setting %s: unknown type %d", def->name,
		  (int)def->type);
}

void config_settings_init(const struct config_setting_def *defs, void *set)
{
	for (; defs->name != NULL; defs++) {
		void *field = (char *)set + defs->offset;
		const char *error;

		switch (defs->type) {
		case CONFIG_TYPE_STRING:
			*(char **)field = NULL;
			break;
		case CONFIG_TYPE_BOOL:
			*(bool *)field = false;
			break;
		case CONFIG_TYPE_INT:
			*(long long *)field = 0;
			break;
		case CONFIG_TYPE_SIZE:
			*(uint64_t *)field = 0;
			break;
		case CONFIG_TYPE_INTERVAL:
		case CONFIG_TYPE_ENUM:
			*(unsigned int *)field = 0;
			if (defs->type == CONFIG_TYPE_ENUM &&
			    (defs->enum_values == NULL ||
			     defs->enum_values[0] == NULL))
				log_panic("config setting %s: no enum values",
					  defs->name);
			break;
		}
		if (defs->default_value != NULL &&
		    setting_parse(defs, field, defs->default_value, &error) < 0)
			log_panic("config setting %s: bad default '%s': %s",
				  defs->name, defs->default_value, error);
	}
}

void config_settings_free(const struct config_setting_def *defs, void *set)
{
	for (; defs->name != NULL; defs++) {
		if (defs->type == CONFIG_TYPE_STRING)
			x_free(*(char **)((char *)set + defs->offset));
	}
}

int config_settings_set(const struct config_setting_def *defs, void *set,
			const char *name, const char *value,
			const char **error_r)
{
	const struct config_setting_def *def = config_settings_find(defs, name);

	if (def == NULL) {
		*error_r = "unknown setting";
		return 0;
	}
	if (setting_parse(def, (char *)set + def->offset, value, error_r) < 0)
		return -1;
	return 1;
}

unsigned int config_settings_apply_env(const struct config_setting_def *defs,
				       void *set, const struct config_env *env,
				       struct config_errors *errs)
{
	unsigned int n_errors = 0;

	for (size_t i = 0; env != NULL && i < env->count; i++) {
		const struct config_env_entry *e = &env->entries[i];
		const char *error;
		int ret = config_settings_set(defs, set, e->name, e->value,
					      &error);

		if (ret == 0) {
			config_warning(errs, e->file, e->line,
				       "unknown setting %s (ignored)", e->name);
		} else if (ret < 0) {
			config_error(errs, e->file, e->line,
				     "%s: invalid value '%s': %s", e->name,
				     e->value, error);
			n_errors++;
		}
	}
	return n_errors;
}

int config_settings_load(const struct config_setting_def *defs, void *set,
			 const char *name_or_path, struct config_errors *errs)
{
	struct config_errors *local = errs != NULL ? errs : config_errors_new();
	unsigned int before = config_errors_error_count(local);
	struct config_env *env;
	int ret;

	config_settings_init(defs, set);
	ret = config_env_read(name_or_path, NULL, &env, local);
	if (ret > 0) {
		(void)config_settings_apply_env(defs, set, env, local);
		config_env_free(&env);
		if (config_errors_error_count(local) > before)
			ret = -1;
	}
	if (local != errs) {
		config_errors_log(local);
		config_errors_destroy(&local);
	}
	return ret;
}

int config_settings_load_file(const struct config_setting_def *defs,
			      void *set, const char *name_or_path,
			      struct config_errors *errs)
{
	unsigned int before = config_errors_error_count(errs);
	struct config_env *env = NULL;
	int ret = config_env_read(name_or_path, NULL, &env, errs);

	if (ret < 0) {
		config_error(errs, name_or_path, 0,
			     "cannot read the settings file");
		return -1;
	}
	if (ret == 0)
		return 0;
	unsigned int n = config_settings_apply_env(defs, set, env, errs);
	config_env_free(&env);
	/* the reader's own errors (a line that is no assignment) count */
	return n == 0 && config_errors_error_count(errs) == before ? 1 : -1;
}
