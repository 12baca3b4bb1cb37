/* fuzz-dotcourier.c: libFuzzer target for mta/dotcourier.h: the input is
 * "SEPARATORS\nLOCAL-EXT" (an address's local part, any bytes); the
 * separators are mapped, then the dot-courier file is looked up in a
 * folder holding a few .courier files. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dotcourier.h"
#include "log.h"
#include "mem.h"

static char dir[] = "/tmp/fuzz-dotcourier.XXXXXX";
static int dirfd_ = -1;

static const char *const names[] = {
	".courier", ".courier-foo", ".courier-foo-default",
	".courier-a:b", ".courier-x-y-default",
};

/* The folder goes when the fuzzer exits. */
static void cleanup(void)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void)unlinkat(dirfd_, names[i], 0);
	(void)rmdir(dir);
}

static void setup(void)
{

	if (mkdtemp(dir) == NULL)
		abort();
	dirfd_ = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_ < 0)
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int fd = openat(dirfd_, names[i], O_WRONLY | O_CREAT, 0644);

		if (fd < 0)
			abort();
		close(fd);
	}
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *nl, *seps, *ext, *name = NULL;
	int r;

	if (dirfd_ < 0) {
		log_set_min_level(LOG_LEVEL_FATAL);
		setup();
	}
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';	/* a NUL inside ends the string, as in C */
	nl = strchr(text, '\n');
	if (nl != NULL) {
		*nl = '\0';
		seps = text;
		ext = nl + 1;
	} else {
		seps = (char *)"+";
		ext = text;
	}
	dotcourier_map_separators(ext, seps);
	free(dotcourier_ext_name(ext));
	r = dotcourier_find(dirfd_, ext, &name);
	if (r == 1) {
		if (name == NULL || strncmp(name, ".courier", 8) != 0 ||
		    strchr(name, '/') != NULL)
			abort();
	} else if (name != NULL) {
		abort();
	}
	free(name);
	free(text);
	return 0;
}
