/* maildropfilter.c: the maildrop etc/maildropfilter names (see
 * maildropfilter.h). */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "config-file.h"
#include "instance.h"
#include "maildropfilter.h"

char *maildropfilter_program(int levels)
{
	char *path = config_path("maildropfilter"), *line;

	if (access(path, F_OK) < 0) {
		free(path);
		return NULL;
	}
	free(path);
	line = config_read_first_line("maildropfilter", NULL);
	if (line != NULL && line[0] == '/')
		return line;
	free(line);
	return instance_program(levels, "bin/maildrop");
}
