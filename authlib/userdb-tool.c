/* userdb-tool.c: the userdb command: edits the instance's userdb text, as
 * Courier's userdb(8):
 *
 *	userdb [-f path] NAME set field=value ...  (field alone: value read
 *	                                             from stdin, e.g. from
 *	                                             userdbpw)
 *	userdb [-f path] NAME unset field ...
 *	userdb [-f path] NAME del
 *	userdb [-f path] -show [NAME]               one account's fields, one
 *	                                             a line, or every name
 *
 * Run makeuserdb afterwards to make the change visible. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-file.h"
#include "instance.h"
#include "log.h"
#include "mem.h"
#include "secure.h"
#include "userdb.h"

static void usage(void)
{
	fprintf(stderr, "usage: userdb [-f path] NAME set field=value ...\n"
			"       userdb [-f path] NAME unset field ...\n"
			"       userdb [-f path] NAME del\n"
			"       userdb [-f path] -show [NAME]\n");
	exit(2);
}

static bool field_name_ok(const char *f, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = f[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static char *read_stdin_line(void)
{
	char buf[4096];
	if (fgets(buf, sizeof(buf), stdin) == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	char *v = xstrdup(buf);
	secure_wipe(buf, sizeof(buf));
	return v;
}

static int show(const char *path, const char *name)
{
	const char *error;
	char *fields;

	if (name == NULL) {
		struct config_lines *lines = NULL;
		if (config_lines_read(path, NULL, &lines, NULL) < 0)
			return 1;
		for (size_t i = 0; i < config_lines_count(lines); i++) {
			char *n;
			const char *f;
			if (userdb_parse_line(config_lines_get(lines, i)->text,
				    &n, &f, &error) > 0)
				printf("%s\n", n);
			free(n);
		}
		config_lines_free(&lines);
		return 0;
	}
	int r = userdb_text_get(path, name, &fields, &error);
	if (r < 0) {
		fprintf(stderr, "userdb: %s: %s\n", path, error);
		return 1;
	}
	if (r == 0) {
		fprintf(stderr, "userdb: %s: not found\n", name);
		return 1;
	}
	char **items = str_split(fields, "|");
	for (size_t i = 0; items[i] != NULL; i++)
		printf("%s\n", items[i]);
	str_split_free(&items);
	secure_wipe(fields, strlen(fields));
	free(fields);
	return 0;
}

int main(int argc, char **argv)
{
	char *path = NULL, *fields = NULL;
	const char *error;
	int i = 1, r, ret = 1;

	log_init("userdb", LOG_TARGET_STDERR);
	if (i + 1 < argc && strcmp(argv[i], "-f") == 0) {
		path = xstrdup(argv[i + 1]);
		i += 2;
	}
	if (path == NULL)
		path = instance_etc_path("userdb");
	if (i < argc && strcmp(argv[i], "-show") == 0) {
		if (argc - i > 2)
			usage();
		ret = show(path, i + 1 < argc ? argv[i + 1] : NULL);
		free(path);
		return ret;
	}
	if (argc - i < 2)
		usage();
	const char *name = argv[i++];
	const char *verb = argv[i++];

	r = userdb_text_get(path, name, &fields, &error);
	if (r < 0) {
		fprintf(stderr, "userdb: %s: %s\n", path, error);
		goto out;
	}
	if (strcmp(verb, "del") == 0) {
		if (i != argc)
			usage();
		r = userdb_text_update(path, name, NULL, &error);
		if (r < 0)
			fprintf(stderr, "userdb: %s\n", error);
		else if (r == 0)
			fprintf(stderr, "userdb: %s: not found\n", name);
		ret = r > 0 ? 0 : 1;
		goto out;
	}
	bool set = strcmp(verb, "set") == 0;
	if ((!set && strcmp(verb, "unset") != 0) || i == argc)
		usage();
	if (!set && r == 0) {
		fprintf(stderr, "userdb: %s: not found\n", name);
		goto out;
	}
	if (fields == NULL)
		fields = xstrdup("");
	for (; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t flen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		char *value = NULL, *field = xstrndup(arg, flen), *updated;
		if (!field_name_ok(arg, flen) || (!set && eq != NULL)) {
			fprintf(stderr, "userdb: bad field \"%s\"\n", field);
			free(field);
			goto out;
		}
		if (set) {
			value = eq != NULL ? xstrdup(eq + 1)
					   : read_stdin_line();
			if (value == NULL || strpbrk(value, "|\r\n") != NULL) {
				fprintf(stderr,
					"userdb: %s: no value, or a "
					"value with '|'\n",
					field);
				free(field);
				free(value);
				goto out;
			}
		}
		updated = userdb_fields_set(fields, field, value);
		secure_wipe(fields, strlen(fields));
		free(fields);
		fields = updated;
		if (value != NULL)
			secure_wipe(value, strlen(value));
		free(value);
		free(field);
	}
	if (userdb_text_update(path, name, fields, &error) < 0) {
		fprintf(stderr, "userdb: %s\n", error);
		goto out;
	}
	ret = 0;
out:
	if (fields != NULL) {
		secure_wipe(fields, strlen(fields));
		free(fields);
	}
	free(path);
	return ret;
}
