/* config-rc.c: reader of Courier's "NAME value" settings files. */
#include "config.h"
#include "config-rc.h"
#include "secure.h"
#include "str.h"

#include <stdbool.h>
#include <string.h>

static bool rc_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool rc_name_char(char c)
{
	return rc_name_start(c) || (c >= '0' && c <= '9');
}

static bool rc_ends_with(const struct str *s, char c)
{
	return str_len(s) > 0 && str_c(s)[str_len(s) - 1] == c;
}

unsigned int config_rc_parse(struct config_env *env,
			     const struct config_lines *lines,
			     struct config_errors *errs)
{
	unsigned int errors = 0;
	size_t n = config_lines_count(lines);
	struct str value;

	str_init(&value, 128);
	for (size_t i = 0; i < n; i++) {
		const struct config_line *l = config_lines_get(lines, i);
		const char *p = l->text, *v;
		size_t name_len = 0;

		while (rc_name_char(p[name_len]))
			name_len++;
		if (!rc_name_start(p[0]) ||
		    (p[name_len] != '\0' && p[name_len] != ' ' &&
		     p[name_len] != '\t')) {
			config_error(errs, l->file, l->line,
				     "expected NAME followed by blanks and a "
				     "value");
			errors++;
			continue;
		}
		v = p + name_len;
		while (*v == ' ' || *v == '\t')
			v++;
		str_clear(&value);
		str_append(&value, v);
		/* A trailing backslash joins the next line. */
		while (rc_ends_with(&value, '\\') && i + 1 < n) {
			str_truncate(&value, str_len(&value) - 1);
			str_append(&value, "  ");
			i++;
			str_append(&value, config_lines_get(lines, i)->text);
		}
		if (rc_ends_with(&value, '\\'))
			str_truncate(&value, str_len(&value) - 1);
		/* Courier forbids trailing blanks; we drop them. */
		while (rc_ends_with(&value, ' ') || rc_ends_with(&value, '\t'))
			str_truncate(&value, str_len(&value) - 1);
		if (env->count >= env->limits.max_entries) {
			config_error(errs, l->file, l->line,
				     "too many settings (limit %zu)",
				     env->limits.max_entries);
			errors++;
			break;
		}
		config_env_add(env, p, name_len, str_c(&value),
			       str_len(&value), l->file, l->line);
	}
	secure_wipe(value.data, value.size);
	str_free(&value);
	return errors;
}

int config_rc_read(const char *name_or_path,
		   const struct config_limits *limits,
		   struct config_env **env_r, struct config_errors *errs)
{
	struct config_lines *lines = NULL;
	int r;

	*env_r = NULL;
	r = config_lines_read(name_or_path, limits, &lines, errs);
	if (r <= 0)
		return r;
	*env_r = config_env_new(limits);
	config_rc_parse(*env_r, lines, errs);
	config_lines_free(&lines);
	return 1;
}
