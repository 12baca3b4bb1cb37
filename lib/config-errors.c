/* config-errors.c: error/warning lists of the config readers. */
#include "config.h"
#include "config-errors.h"
#include "mem.h"
#include "str.h"
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct config_errors *config_errors_new(void)
{
	return xcalloc(1, sizeof(struct config_errors));
}

void config_errors_destroy(struct config_errors **errs)
{
	if (*errs == NULL)
		return;
	for (size_t i = 0; i < (*errs)->count; i++)
		free((*errs)->msgs[i].text);
	free((*errs)->msgs);
	x_free(*errs);
}

void config_errors_add(struct config_errors *errs, enum config_severity sev,
		       const char *file, unsigned int line, const char *fmt,
		       ...)
{
	struct str text;
	va_list ap;

	str_init(&text, 128);
	if (file != NULL && line > 0)
		str_printfa(&text, "%s:%u: ", file, line);
	else if (file != NULL)
		str_printfa(&text, "%s: ", file);
	va_start(ap, fmt);
	str_vprintfa(&text, fmt, ap);
	va_end(ap);

	if (errs == NULL) {
		if (sev == CONFIG_SEVERITY_ERROR)
			log_error("%s", str_c(&text));
		else
			log_warning("%s", str_c(&text));
		str_free(&text);
		return;
	}
	if (sev == CONFIG_SEVERITY_ERROR)
		errs->n_errors++;
	else
		errs->n_warnings++;
	if (errs->count >= CONFIG_ERRORS_MAX_MESSAGES) {
		errs->n_dropped++;
		str_free(&text);
		return;
	}
	if (errs->count == errs->alloc) {
		errs->alloc = errs->alloc == 0 ? 8 : errs->alloc * 2;
		errs->msgs = xreallocarray(errs->msgs, errs->alloc,
					   sizeof(errs->msgs[0]));
	}
	errs->msgs[errs->count].severity = sev;
	errs->msgs[errs->count].text = str_steal(&text);
	errs->count++;
	str_free(&text);
}

unsigned int config_errors_error_count(const struct config_errors *errs)
{
	return errs == NULL ? 0 : errs->n_errors;
}

const struct config_message *
config_errors_get(const struct config_errors *errs, size_t i)
{
	if (errs == NULL || i >= errs->count)
		return NULL;
	return &errs->msgs[i];
}

void config_errors_log(const struct config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->count; i++) {
		if (errs->msgs[i].severity == CONFIG_SEVERITY_ERROR)
			log_error("%s", errs->msgs[i].text);
		else
			log_warning("%s", errs->msgs[i].text);
	}
	if (errs->n_dropped > 0)
		log_error("%u more configuration messages not shown",
			  errs->n_dropped);
}

bool config_errors_contains(const struct config_errors *errs,
			    const char *needle)
{
	if (errs == NULL)
		return false;
	for (size_t i = 0; i < errs->count; i++) {
		if (strstr(errs->msgs[i].text, needle) != NULL)
			return true;
	}
	return false;
}
