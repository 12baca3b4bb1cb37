/* instance.c: resolves the instance's folders (see instance.h). */
#include "config.h"
#include "instance.h"
#include "mem.h"

#include <stdlib.h>

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
