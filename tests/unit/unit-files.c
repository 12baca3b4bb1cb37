/* unit-files.c: scratch folders and files for the unit tests (see
 * unit-files.h). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "maildir.h"
#include "mem.h"
#include "str.h"
#include "unit-files.h"

char *unit_tmpdir(const char *name)
{
	char *tmpl = xasprintf("/tmp/test-%s.XXXXXX", name);

	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp %s failed", tmpl);
	return tmpl;
}

char *unit_maildir(const char *name)
{
	char *d = unit_tmpdir(name);
	const char *error;

	if (maildir_create(d, &error) < 0)
		fail_msg("maildir_create %s: %s", d, error);
	return d;
}

void unit_rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static char *full_path(const char *root, const char *rel)
{
	return root != NULL ? xasprintf("%s/%s", root, rel) : xstrdup(rel);
}

void unit_write_file(const char *root, const char *rel, const char *data)
{
	char *p = full_path(root, rel);
	FILE *f = fopen(p, "w");

	if (f == NULL)
		fail_msg("cannot write %s", p);
	fputs(data, f);
	assert_int_equal(fclose(f), 0);
	free(p);
}

char *unit_read_file(const char *root, const char *rel)
{
	char *p = full_path(root, rel);
	FILE *f = fopen(p, "r");
	struct str s;
	char buf[512];
	size_t n;

	free(p);
	if (f == NULL)
		return NULL;
	str_init(&s, 64);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(&s, buf, n);
	fclose(f);
	return str_steal(&s);
}
