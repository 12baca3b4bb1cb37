/* config-env.c: parser for shell-style NAME=value files (config-env.h). */
#include "config.h"
#include "config-env.h"
#include "mem.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_ENV_MAX_NAME_LEN 255

struct env_parser {
	struct config_env *env;
	const char *file;
	const char *p, *end;
	unsigned int line;
	struct config_errors *errs;
	unsigned int n_errors;
	struct str value;
	char open_quote; /* the quote we are inside of, or 0 */
	bool too_many;
};

struct config_env *config_env_new(const struct config_limits *limits)
{
	struct config_env *env = xcalloc(1, sizeof(*env));
	const struct config_limits *def = &config_default_limits;

	env->limits = limits != NULL ? *limits : *def;
	if (env->limits.max_value_len == 0)
		env->limits.max_value_len = def->max_value_len;
	if (env->limits.max_entries == 0)
		env->limits.max_entries = def->max_entries;
	return env;
}

void config_env_free(struct config_env **envp)
{
	struct config_env *env = *envp;

	if (env == NULL)
		return;
	for (size_t i = 0; i < env->count; i++) {
		free(env->entries[i].name);
		free(env->entries[i].value);
	}
	for (size_t i = 0; i < env->file_count; i++)
		free(env->files[i]);
	free(env->entries);
	free(env->files);
	x_free(*envp);
}

const struct config_env_entry *config_env_find(const struct config_env *env,
					       const char *name)
{
	if (env == NULL)
		return NULL;
	for (size_t i = env->count; i > 0; i--) {
		if (strcmp(env->entries[i - 1].name, name) == 0)
			return &env->entries[i - 1];
	}
	return NULL;
}

const char *config_env_get(const struct config_env *env, const char *name)
{
	const struct config_env_entry *e = config_env_find(env, name);

	return e == NULL ? NULL : e->value;
}

static const char *env_add_file(struct config_env *env, const char *file)
{
	for (size_t i = env->file_count; i > 0; i--) {
		if (strcmp(env->files[i - 1], file) == 0)
			return env->files[i - 1];
	}
	env->files = xreallocarray(env->files, env->file_count + 1,
				   sizeof(env->files[0]));
	env->files[env->file_count] = xstrdup(file);
	return env->files[env->file_count++];
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static void parser_error(struct env_parser *ps, unsigned int line,
			 const char *msg)
{
	config_error(ps->errs, ps->file, line, "%s", msg);
	ps->n_errors++;
}

/* Moves to the start of the next physical line. */
static void skip_line(struct env_parser *ps)
{
	const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));

	if (nl == NULL) {
		ps->p = ps->end;
	} else {
		ps->p = nl + 1;
		ps->line++;
	}
}

static int value_append(struct env_parser *ps, const char *data, size_t len)
{
	if (str_append_n(&ps->value, data, len) < 0) {
		parser_error(ps, ps->line, "value too long");
		return -1;
	}
	return 0;
}

/* Reads a name at ps->p (which must start one); returns its length. */
static size_t read_name(struct env_parser *ps)
{
	const char *start = ps->p;

	while (ps->p < ps->end && is_name_char(*ps->p))
		ps->p++;
	return (size_t)(ps->p - start);
}

/* ps->p is at '$'.  Appends the expansion. */
static int expand_var(struct env_parser *ps)
{
	const char *name;
	size_t len;

	ps->p++;
	if (ps->p == ps->end)
		return value_append(ps, "$", 1);
	if (*ps->p == '(') {
		parser_error(ps, ps->line,
			     "command substitution $(...) is not supported");
		return -1;
	}
	if (*ps->p == '{') {
		ps->p++;
		if (ps->p == ps->end || !is_name_start(*ps->p)) {
			parser_error(ps, ps->line,
				     "expected a name after '${'");
			return -1;
		}
		name = ps->p;
		len = read_name(ps);
		if (ps->p == ps->end || *ps->p != '}') {
			parser_error(ps, ps->line,
				     "only ${NAME} is supported, "
				     "not other ${...} forms");
			return -1;
		}
		ps->p++;
	} else if (is_name_start(*ps->p)) {
		name = ps->p;
		len = read_name(ps);
	} else if ((*ps->p >= '0' && *ps->p <= '9') ||
		   strchr("@*#?$!-", *ps->p) != NULL) {
		parser_error(ps, ps->line,
			     "special shell parameters are not supported");
		return -1;
	} else {
		/* a lone '$' is literal, as in sh */
		return value_append(ps, "$", 1);
	}
	if (len > CONFIG_ENV_MAX_NAME_LEN) {
		parser_error(ps, ps->line, "variable name too long");
		return -1;
	}
	char *key = xstrndup(name, len);
	const char *value = config_env_get(ps->env, key);
	int ret = 0;

	if (value == NULL) {
		config_warning(ps->errs, ps->file, ps->line,
			       "undefined variable %s expands to nothing",
			       key);
	} else {
		ret = value_append(ps, value, strlen(value));
	}
	free(key);
	return ret;
}

static int parse_single_quoted(struct env_parser *ps, unsigned int start)
{
	const char *q;

	ps->p++;
	q = memchr(ps->p, '\'', (size_t)(ps->end - ps->p));
	if (q == NULL) {
		parser_error(ps, start, "unterminated single quote");
		ps->p = ps->end;
		return -1;
	}
	if (value_append(ps, ps->p, (size_t)(q - ps->p)) < 0) {
		ps->open_quote = '\'';
		return -1;
	}
	for (const char *c = ps->p; c < q; c++) {
		if (*c == '\n')
			ps->line++;
	}
	ps->p = q + 1;
	return 0;
}

static int parse_double_quoted(struct env_parser *ps, unsigned int start)
{
	ps->p++;
	ps->open_quote = '"';
	for (;;) {
		if (ps->p == ps->end) {
			parser_error(ps, start, "unterminated double quote");
			return -1;
		}
		char c = *ps->p;

		if (c == '"') {
			ps->p++;
			ps->open_quote = 0;
			return 0;
		} else if (c == '\\') {
			if (ps->p + 1 == ps->end) {
				parser_error(ps, start,
					     "unterminated double quote");
				ps->p = ps->end;
				return -1;
			}
			char n = ps->p[1];
			ps->p += 2;
			if (n == '\n') {
				ps->line++;
				continue;
			}
			if (strchr("$`\"\\", n) == NULL &&
			    value_append(ps, "\\", 1) < 0)
				return -1;
			if (value_append(ps, &n, 1) < 0)
				return -1;
		} else if (c == '$') {
			if (expand_var(ps) < 0)
				return -1;
		} else if (c == '`') {
			parser_error(ps, ps->line,
				     "command substitution `...` is not "
				     "supported");
			return -1;
		} else {
			if (c == '\n')
				ps->line++;
			if (value_append(ps, &c, 1) < 0)
				return -1;
			ps->p++;
		}
	}
}

/* After an error inside a quoted part, moves past its closing quote so
 * that the rest of a multi-line value is not read as new lines. */
static void skip_open_quote(struct env_parser *ps)
{
	char quote = ps->open_quote;

	ps->open_quote = 0;
	while (ps->p < ps->end && *ps->p != quote) {
		if (*ps->p == '\\' && quote == '"' && ps->p + 1 < ps->end) {
			if (ps->p[1] == '\n')
				ps->line++;
			ps->p++;
		} else if (*ps->p == '\n') {
			ps->line++;
		}
		ps->p++;
	}
	if (ps->p < ps->end)
		ps->p++;
}

/* Parses the value word at ps->p into ps->value.  Returns 0 or -1. */
static int parse_value(struct env_parser *ps, unsigned int start)
{
	str_truncate(&ps->value, 0);
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == '\n' || is_blank(c))
			return 0;
		if (c == '\'') {
			if (parse_single_quoted(ps, start) < 0)
				return -1;
		} else if (c == '"') {
			if (parse_double_quoted(ps, start) < 0)
				return -1;
		} else if (c == '\\') {
			if (ps->p + 1 == ps->end) {
				parser_error(ps, ps->line,
					     "backslash at end of file");
				ps->p = ps->end;
				return -1;
			}
			char n = ps->p[1];
			ps->p += 2;
			if (n == '\n')
				ps->line++;
			else if (value_append(ps, &n, 1) < 0)
				return -1;
		} else if (c == '$') {
			if (expand_var(ps) < 0)
				return -1;
		} else if (c == '`') {
			parser_error(ps, ps->line,
				     "command substitution `...` is not "
				     "supported");
			return -1;
		} else if (strchr(";&|<>()", c) != NULL) {
			char msg[80];

			snprintf(msg, sizeof(msg),
				 "unexpected '%c': quote the value, shell "
				 "syntax is not supported", c);
			parser_error(ps, ps->line, msg);
			return -1;
		} else {
			if (value_append(ps, &c, 1) < 0)
				return -1;
			ps->p++;
		}
	}
	return 0;
}

void config_env_add(struct config_env *env, const char *name, size_t name_len,
		    const char *value, size_t value_len, const char *file,
		    unsigned int line)
{
	if (env->count == env->alloc) {
		env->alloc = env->alloc == 0 ? 16 : env->alloc * 2;
		env->entries = xreallocarray(env->entries, env->alloc,
					     sizeof(env->entries[0]));
	}
	struct config_env_entry *e = &env->entries[env->count++];
	e->name = xstrndup(name, name_len);
	e->value = xmemdup(value, value_len);
	e->file = env_add_file(env, file);
	e->line = line;
}

static void add_entry(struct env_parser *ps, const char *name, size_t len,
		      unsigned int line)
{
	config_env_add(ps->env, name, len, str_c(&ps->value),
		       str_len(&ps->value), ps->file, line);
}

/* Parses one logical line starting at ps->p (not at a blank line). */
static void parse_assignment(struct env_parser *ps)
{
	unsigned int start = ps->line;
	const char *name;
	size_t len;

	if (ps->end - ps->p >= 7 && memcmp(ps->p, "export", 6) == 0 &&
	    is_blank(ps->p[6])) {
		ps->p += 6;
		while (ps->p < ps->end && is_blank(*ps->p))
			ps->p++;
	}
	if (ps->p == ps->end || !is_name_start(*ps->p)) {
		parser_error(ps, start, "expected NAME=value");
		skip_line(ps);
		return;
	}
	name = ps->p;
	len = read_name(ps);
	if (ps->p == ps->end || *ps->p != '=') {
		parser_error(ps, start,
			     ps->p < ps->end && is_blank(*ps->p) ?
			     "expected NAME=value (no blanks around '=')" :
			     "expected NAME=value");
		skip_line(ps);
		return;
	}
	if (len > CONFIG_ENV_MAX_NAME_LEN) {
		parser_error(ps, start, "name too long");
		skip_line(ps);
		return;
	}
	ps->p++;
	if (parse_value(ps, start) < 0) {
		if (ps->open_quote != 0)
			skip_open_quote(ps);
		if (ps->p < ps->end)
			skip_line(ps);
		return;
	}
	while (ps->p < ps->end && is_blank(*ps->p))
		ps->p++;
	if (ps->p < ps->end && *ps->p != '\n' && *ps->p != '#') {
		parser_error(ps, ps->line,
			     "unexpected text after the value "
			     "(quote values containing blanks)");
		skip_line(ps);
		return;
	}
	if (ps->env->count >= ps->env->limits.max_entries) {
		parser_error(ps, start, "too many settings");
		ps->too_many = true;
		return;
	}
	add_entry(ps, name, len, start);
	skip_line(ps); /* the rest is a comment or nothing */
}

unsigned int config_env_parse(struct config_env *env, const char *file,
			      const void *data, size_t size,
			      struct config_errors *errs)
{
	struct env_parser ps = {
		.env = env,
		.file = env_add_file(env, file),
		.p = data,
		.end = (const char *)data + size,
		.line = 1,
		.errs = errs,
	};

	if (memchr(data, '\0', size) != NULL) {
		parser_error(&ps, 0, "file contains NUL bytes");
		return ps.n_errors;
	}
	str_init(&ps.value, 64);
	str_set_limit(&ps.value, env->limits.max_value_len);
	while (ps.p < ps.end && !ps.too_many) {
		while (ps.p < ps.end && is_blank(*ps.p))
			ps.p++;
		if (ps.p == ps.end)
			break;
		if (*ps.p == '\n' || *ps.p == '#') {
			skip_line(&ps);
			continue;
		}
		parse_assignment(&ps);
	}
	str_free(&ps.value);
	return ps.n_errors;
}

struct env_read_context {
	struct config_env *env;
	struct config_errors *errs;
};

static void env_read_callback(const char *path, const char *data,
			      size_t size, void *context)
{
	struct env_read_context *ctx = context;

	(void)config_env_parse(ctx->env, path, data, size, ctx->errs);
}

int config_env_read(const char *name_or_path,
		    const struct config_limits *limits,
		    struct config_env **env_r, struct config_errors *errs)
{
	struct env_read_context ctx = {
		.env = config_env_new(limits),
		.errs = errs,
	};
	int ret = config_read_files(name_or_path, limits, env_read_callback,
				    &ctx, errs);

	if (ret <= 0) {
		config_env_free(&ctx.env);
		*env_r = NULL;
		return ret;
	}
	*env_r = ctx.env;
	return 1;
}
