/* fuzz-aliases.c: libFuzzer target for the aliases source parser
 * (mta/aliases.h): the input is an aliases file; an :include: of any
 * name reads a fixed list, so the include path is exercised too. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "config-errors.h"
#include "config-file.h"
#include "log.h"
#include "mem.h"

static char *fake_include(const char *path, size_t *size_r,
			  const char **error_r, void *context)
{
	static const char text[] = "a@b, c\n# x\n d , \"e f\"@g\n|bad\n";

	(void)context;
	if (strcmp(path, "/missing") == 0) {
		*error_r = "No such file";
		return NULL;
	}
	*size_r = sizeof(text) - 1;
	return xmemdup(text, sizeof(text) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors *errs = config_errors_new();
	struct config_lines *lines = config_lines_new(NULL);
	struct aliases *a = aliases_new();

	log_set_min_level(LOG_LEVEL_FATAL);
	config_lines_parse(lines, "fuzz", data, size, errs);
	aliases_parse(a, lines, fake_include, NULL, errs);
	for (size_t i = 0; i < aliases_count(a); i++) {
		const struct alias *al = aliases_get(a, i);
		char *name = aliases_dotfile_name(al->name);

		if (aliases_find(a, al->name) == NULL)
			abort();
		if (al->address_count + al->program_count >
		    ALIASES_MAX_ITEMS)
			abort();
		free(name);
	}
	aliases_free(&a);
	config_lines_free(&lines);
	config_errors_destroy(&errs);
	return 0;
}
