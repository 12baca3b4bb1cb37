/* config-errors.h: collected errors and warnings of configuration loading.
 *
 * Every config reader (control files, NAME=value files, typed settings)
 * reports problems here as "file:line: message" so that a caller can show
 * every bad line at once, not just the first.  A reader given a NULL list
 * logs each message at once instead (log_error/log_warning).
 *
 * The list keeps at most CONFIG_ERRORS_MAX_MESSAGES texts; later ones are
 * only counted, so a huge broken file cannot exhaust memory. */
#ifndef CONFIG_ERRORS_H
#define CONFIG_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_ERRORS_MAX_MESSAGES 1000

enum config_severity {
	CONFIG_SEVERITY_WARNING,
	CONFIG_SEVERITY_ERROR,
};

struct config_message {
	enum config_severity severity;
	char *text; /* "file:line: message", "file: message" or "message" */
};

struct config_errors {
	struct config_message *msgs;
	size_t count, alloc;
	unsigned int n_errors;   /* errors seen, including dropped ones */
	unsigned int n_warnings; /* warnings seen, including dropped ones */
	unsigned int n_dropped;  /* messages not kept (over the maximum) */
};

/* New empty list; free with config_errors_destroy(). */
struct config_errors *config_errors_new(void);
void config_errors_destroy(struct config_errors **errs);

/* Adds a message.  file may be NULL (no prefix); line 0 means "no line"
 * ("file: message").  errs == NULL logs the message right away. */
void config_errors_add(struct config_errors *errs, enum config_severity sev,
		       const char *file, unsigned int line, const char *fmt,
		       ...) __attribute__((format(printf, 5, 6)));
#define config_error(errs, file, line, ...) \
	config_errors_add(errs, CONFIG_SEVERITY_ERROR, file, line, __VA_ARGS__)
#define config_warning(errs, file, line, ...) \
	config_errors_add(errs, CONFIG_SEVERITY_WARNING, file, line, \
			  __VA_ARGS__)

/* Number of errors (warnings not counted); NULL counts as none. */
unsigned int config_errors_error_count(const struct config_errors *errs);
/* The i-th kept message, or NULL past the end. */
const struct config_message *
config_errors_get(const struct config_errors *errs, size_t i);
/* Logs every kept message at its level (and a line saying how many were
 * dropped, if any). */
void config_errors_log(const struct config_errors *errs);
/* True when some kept message contains needle (handy in tests). */
bool config_errors_contains(const struct config_errors *errs,
			    const char *needle);

#endif
