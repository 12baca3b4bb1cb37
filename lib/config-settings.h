/* config-settings.h: typed settings declared next to the code that uses
 * them, loaded from a NAME=value file (config-env.h).
 *
 * A program declares its settings as a struct and a table (after Postfix's
 * and Dovecot's typed tables):
 *
 *   struct esmtpd_settings { char *address; long long port; bool tls;
 *                            uint64_t size_limit; unsigned int timeout;
 *                            unsigned int log_level; };
 *   static const char *const levels[] = { "error", "info", "debug", NULL };
 *   static const struct config_setting_def esmtpd_defs[] = {
 *     CONFIG_SETTING_STRING(struct esmtpd_settings, address, "ADDRESS", "0"),
 *     CONFIG_SETTING_INT(struct esmtpd_settings, port, "PORT", "25", 1, 65535),
 *     CONFIG_SETTING_BOOL(struct esmtpd_settings, tls, "ESMTPDSTART", "NO"),
 *     CONFIG_SETTING_SIZE(struct esmtpd_settings, size_limit, "SIZELIMIT",
 *                         "10M", 0, 0),
 *     CONFIG_SETTING_INTERVAL(struct esmtpd_settings, timeout,
 *                             "ESMTP_TIMEOUT", "5m", 1, 3600),
 *     CONFIG_SETTING_ENUM(struct esmtpd_settings, log_level, "LOGLEVEL",
 *                         "info", levels),
 *     CONFIG_SETTING_END
 *   };
 *
 * The macros check at compile time that each field has the C type of its
 * setting type.  Defaults are text parsed like file values, so a default
 * is valid by the same rules (a bad default is a panic: our bug).
 *
 * Value syntax:
 *   STRING    any text (the value after NAME=value unquoting)
 *   BOOL      yes/no, true/false, on/off, 1/0 (any case)
 *   INT       optional sign and decimal digits, within [min, max]
 *   SIZE      digits with an optional k, M, G or T suffix (any case,
 *             powers of 1024), within [min, max]
 *   INTERVAL  interval.h syntax ("5m", "1w2d"), in seconds, within bounds
 *   ENUM      one of the listed words (any case); stored as its index
 * For INT, SIZE and INTERVAL, min == max == 0 means "no bounds". */
#ifndef CONFIG_SETTINGS_H
#define CONFIG_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-env.h"
#include "config-errors.h"

enum config_setting_type {
	CONFIG_TYPE_STRING,   /* char * (owned by the struct) */
	CONFIG_TYPE_BOOL,     /* bool */
	CONFIG_TYPE_INT,      /* long long */
	CONFIG_TYPE_SIZE,     /* uint64_t, bytes */
	CONFIG_TYPE_INTERVAL, /* unsigned int, seconds */
	CONFIG_TYPE_ENUM,     /* unsigned int, index into enum_values */
};

struct config_setting_def {
	const char *name;
	enum config_setting_type type;
	size_t offset;
	const char *default_value; /* NULL: STRING NULL, others 0/false */
	long long min, max;
	const char *const *enum_values; /* ENUM: NULL-terminated */
};

/* Compile-time check that field has type ctype; evaluates to 0. */
#define CONFIG__FIELD_CHECK(type, field, ctype) \
	(0 * sizeof(char[1 - 2 * !__builtin_types_compatible_p( \
		__typeof__(((type *)0)->field), ctype)]))
#define CONFIG__DEF(type, field, ctype, name, t, def, lo, hi, ev) \
	{ (name), (t), offsetof(type, field) + \
		CONFIG__FIELD_CHECK(type, field, ctype), (def), (lo), (hi), \
		(ev) }

#define CONFIG_SETTING_STRING(type, field, name, def) \
	CONFIG__DEF(type, field, char *, name, CONFIG_TYPE_STRING, def, 0, 0, \
		    NULL)
#define CONFIG_SETTING_BOOL(type, field, name, def) \
	CONFIG__DEF(type, field, bool, name, CONFIG_TYPE_BOOL, def, 0, 0, NULL)
#define CONFIG_SETTING_INT(type, field, name, def, min, max) \
	CONFIG__DEF(type, field, long long, name, CONFIG_TYPE_INT, def, min, \
		    max, NULL)
#define CONFIG_SETTING_SIZE(type, field, name, def, min, max) \
	CONFIG__DEF(type, field, uint64_t, name, CONFIG_TYPE_SIZE, def, min, \
		    max, NULL)
#define CONFIG_SETTING_INTERVAL(type, field, name, def, min, max) \
	CONFIG__DEF(type, field, unsigned int, name, CONFIG_TYPE_INTERVAL, \
		    def, min, max, NULL)
#define CONFIG_SETTING_ENUM(type, field, name, def, values) \
	CONFIG__DEF(type, field, unsigned int, name, CONFIG_TYPE_ENUM, def, \
		    0, 0, values)
#define CONFIG_SETTING_END { NULL, 0, 0, NULL, 0, 0, NULL }

/* The definition of name in defs, or NULL. */
const struct config_setting_def *
config_settings_find(const struct config_setting_def *defs, const char *name);

/* Fills set with the defaults (set's other bytes are left alone). */
void config_settings_init(const struct config_setting_def *defs, void *set);
/* Frees the strings of set (and sets them to NULL). */
void config_settings_free(const struct config_setting_def *defs, void *set);

/* Sets one setting from its text.  Returns 1 when set, 0 when name is not
 * in defs, -1 when the value is invalid (*error_r says why; valid until
 * the next call; the field keeps its old value). */
int config_settings_set(const struct config_setting_def *defs, void *set,
			const char *name, const char *value,
			const char **error_r);

/* Applies every assignment of env: an invalid value is an error and an
 * unknown name a warning, each reported to errs as "file:line: ...".
 * Returns the number of errors. */
unsigned int config_settings_apply_env(const struct config_setting_def *defs,
				       void *set, const struct config_env *env,
				       struct config_errors *errs);

/* Fills set from the defaults and then the NAME=value control file
 * name_or_path.  Returns 1 when the file was read without errors, 0 when
 * it is missing (set holds the defaults), -1 when it is unreadable or has
 * errors (every one added to errs; valid lines are still applied).
 * Free set's strings with config_settings_free() in every case. */
int config_settings_load(const struct config_setting_def *defs, void *set,
			 const char *name_or_path, struct config_errors *errs);

/* Applies the NAME=value file name_or_path over what set holds (no
 * defaults first: a program that reads two files calls
 * config_settings_init() once, then this for each file).  Returns 1 when
 * the file was read without errors, 0 when it is missing (set unchanged),
 * -1 when it is unreadable ("file: cannot read the settings file") or
 * has errors: lines the reader refuses or invalid values (every one added
 * to errs; the valid lines are still applied; unknown names are only
 * warnings). */
int config_settings_load_file(const struct config_setting_def *defs,
			      void *set, const char *name_or_path,
			      struct config_errors *errs);

/* Value parsers used by the table, for other callers.  Return 0, or -1
 * and a static *error_r. */
int config_parse_bool(const char *text, bool *value_r, const char **error_r);
int config_parse_size(const char *text, uint64_t *value_r,
		      const char **error_r);
int config_parse_int(const char *text, long long *value_r,
		     const char **error_r);

#endif
