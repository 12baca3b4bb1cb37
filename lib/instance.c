/* instance.c: resolves the instance's folders (see instance.h). */
#include "config.h"
#include "instance.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *etcdir, *vardir;

static const char *env_instance(void)
{
	const char *root = getenv("COURIER_INSTANCE");

	return root != NULL && *root != '\0' ? root : NULL;
}

void instance_reset(void)
{
	x_free(etcdir);
	x_free(vardir);
}

const char *instance_etcdir(void)
{
	if (etcdir == NULL) {
		const char *root = env_instance();

		etcdir = root != NULL ? xasprintf("%s/etc", root) :
			xstrdup(SYSCONFDIR);
	}
	return etcdir;
}

const char *instance_vardir(void)
{
	if (vardir == NULL) {
		const char *root = env_instance();

		vardir = root != NULL ? xasprintf("%s/var", root) :
			xstrdup(LOCALSTATEDIR);
	}
	return vardir;
}

const char *instance_bindir(void) { return BINDIR; }
const char *instance_sbindir(void) { return SBINDIR; }
const char *instance_libexecdir(void) { return LIBEXECDIR; }
const char *instance_datadir(void) { return DATADIR; }

char *instance_etc_path(const char *name)
{
	return xasprintf("%s/%s", instance_etcdir(), name);
}

char *instance_var_path(const char *name)
{
	return xasprintf("%s/%s", instance_vardir(), name);
}

/* The configured path of REL: "bin/X" in BINDIR, and so on. */
static char *configured_program(const char *rel)
{
	static const struct {
		const char *prefix, *dir;
	} dirs[] = {
		{ "bin/", BINDIR },
		{ "sbin/", SBINDIR },
		{ "libexec/", LIBEXECDIR },
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t n = strlen(dirs[i].prefix);

		if (strncmp(rel, dirs[i].prefix, n) == 0)
			return xasprintf("%s/%s", dirs[i].dir, rel + n);
	}
	return xasprintf("%s/%s", PREFIX, rel);
}

char *instance_program(int levels, const char *rel)
{
	char *exe = realpath("/proc/self/exe", NULL), *slash, *path;
	int i;

	if (exe != NULL) {
		/* the exe's folder, then LEVELS folders up */
		for (i = 0; i <= levels; i++) {
			slash = strrchr(exe, '/');
			if (slash == NULL || slash == exe)
				break;
			*slash = '\0';
		}
		if (i > levels) {
			path = xasprintf("%s/%s", exe, rel);
			free(exe);
			if (access(path, X_OK) == 0)
				return path;
			free(path);
		} else {
			free(exe);
		}
	}
	return configured_program(rel);
}
