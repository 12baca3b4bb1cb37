/* makemime-opts.c: makemime's option files, option list parser, encoding
 * detection and parameter writer (see makemime.h). */
#include "config.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include "mem.h"
#include "makemime.h"

void makemime_args_add(struct makemime_args *args, const char *s, size_t len)
{
	if (args->count == args->alloc) {
		args->alloc = args->alloc == 0 ? 16 : args->alloc * 2;
		args->v = xrealloc(args->v, args->alloc * sizeof(*args->v));
	}
	args->v[args->count++] = xstrndup(s, len);
}

void makemime_args_free(struct makemime_args *args)
{
	for (size_t i = 0; i < args->count; i++)
		free(args->v[i]);
	free(args->v);
	memset(args, 0, sizeof(*args));
}

void makemime_optfile_init(struct makemime_optfile *of,
			   struct makemime_args *args)
{
	memset(of, 0, sizeof(*of));
	of->args = args;
	str_init(&of->line, 128);
}

void makemime_optfile_deinit(struct makemime_optfile *of)
{
	str_free(&of->line);
}

/* One complete line (without its LF): returns 1 for "-", -1 on a limit. */
static int optfile_line(struct makemime_optfile *of)
{
	const char *p = str_c(&of->line);
	size_t len = str_len(&of->line);

	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	if (len == 0 || *p == '#')
		return 0;
	if (len == 1 && *p == '-')
		return 1;
	if (of->args->count >= MAKEMIME_MAX_ARGS)
		return -1;
	makemime_args_add(of->args, p, len);
	return 0;
}

int makemime_optfile_feed(struct makemime_optfile *of, const void *data,
			  size_t len, size_t *used_r)
{
	const char *s = data;
	size_t i = 0;

	*used_r = 0;
	if (of->done)
		return 1;
	if (of->error)
		return -1;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (s + i)) : len - i;
		int ret;

		if (str_len(&of->line) + n > MAKEMIME_MAX_ARG_LEN) {
			of->error = true;
			return -1;
		}
		str_append_n(&of->line, s + i, n);
		i += n;
		if (nl == NULL)
			break;
		i++;
		ret = optfile_line(of);
		str_clear(&of->line);
		if (ret < 0) {
			of->error = true;
			return -1;
		}
		if (ret > 0) {
			of->done = true;
			*used_r = i;
			return 1;
		}
	}
	*used_r = len;
	return 0;
}

int makemime_optfile_finish(struct makemime_optfile *of)
{
	int ret = 0;

	if (of->error)
		return -1;
	if (!of->done && str_len(&of->line) > 0) {
		ret = optfile_line(of);
		str_clear(&of->line);
		if (ret > 0) {
			of->done = true;
			ret = 0;
		}
	}
	return ret;
}

/* ---- the option list ---- */

static const char *canonical_encoding(const char *e)
{
	static const char *const names[] = {
		"7bit", "8bit", "quoted-printable", "base64"
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(e, names[i]) == 0)
			return names[i];
	}
	return NULL;
}

/* The value of option args[*i] (attached or the next argument); NULL if
 * there is none. */
static const char *opt_value(char *const *args, size_t count, size_t *i)
{
	const char *a = args[*i];

	if (a[2] != '\0')
		return a + 2;
	if (*i + 1 >= count)
		return NULL;
	return args[++*i];
}

/* Reads an input at args[*i]: a name, or "(" ... ")".  Returns -1 when
 * the parentheses do not match or nest too deep. */
static int parse_input(char *const *args, size_t count, size_t *i,
		       struct makemime_input *in);
static int parse_input(char *const *args, size_t count, size_t *i,
		       struct makemime_input *in)
{
	size_t depth = 0, start = *i + 1;

	memset(in, 0, sizeof(*in));
	if (strcmp(args[*i], "(") != 0) {
		in->path = args[*i];
		(*i)++;
		return 0;
	}
	for (size_t j = *i; j < count; j++) {
		if (strcmp(args[j], "(") == 0) {
			if (++depth > MAKEMIME_MAX_DEPTH)
				return -1;
		} else if (strcmp(args[j], ")") == 0 && --depth == 0) {
			struct makemime_spec child;

			in->child = (char **)(args + start);
			in->child_count = j - start;
			*i = j + 1;
			/* a child's options are checked before anything runs,
			 * as Debian's makemime does */
			if (makemime_spec_parse(in->child, in->child_count,
						true, &child) < 0)
				return -1;
			makemime_spec_free(&child);
			return 0;
		}
	}
	return -1;
}

int makemime_spec_parse(char *const *args, size_t count, bool in_child,
			struct makemime_spec *spec)
{
	size_t i = 0;
	const char *a, *v;
	size_t ninputs;

	memset(spec, 0, sizeof(*spec));
	if (count == 0)
		return -1;
	a = args[0];
	if (a[0] != '-' || (a[1] != 'c' && a[1] != 'm' && a[1] != 'j'))
		return -1;
	spec->mode = a[1];
	if (spec->mode == 'j') {
		if (a[2] != '\0')
			return -1;
		i = 1;
		if (i >= count || parse_input(args, count, &i, &spec->in[0]) < 0)
			goto usage;
	} else {
		if (a[2] != '\0')
			spec->type = a + 2;
		else if (count > 1 && args[1][0] != '-')
			spec->type = args[++i];
		else if (spec->mode == 'm')
			spec->type = "multipart/mixed";
		else
			return -1;
		i++;
	}
	for (; i < count; i++) {
		a = args[i];
		if (a[0] != '-' || a[1] == '\0')
			break;
		switch (a[1]) {
		case 'e':
			if ((v = opt_value(args, count, &i)) == NULL ||
			    (v = canonical_encoding(v)) == NULL)
				goto usage;
			spec->encoding = v;
			break;
		case 'o':
			if ((v = opt_value(args, count, &i)) == NULL ||
			    in_child)
				goto usage;
			spec->output = v;
			break;
		case 'a':
			if ((v = opt_value(args, count, &i)) == NULL)
				goto usage;
			spec->headers = xrealloc(spec->headers,
				(spec->header_count + 1) *
				sizeof(*spec->headers));
			spec->headers[spec->header_count++] = v;
			break;
		case 'C':
			if ((v = opt_value(args, count, &i)) == NULL)
				goto usage;
			spec->charset = v;
			break;
		case 'N':
			if ((v = opt_value(args, count, &i)) == NULL)
				goto usage;
			spec->name = v;
			break;
		default:
			goto usage;
		}
	}
	ninputs = spec->mode == 'j' ? 1 : 0;
	if (i >= count ||
	    parse_input(args, count, &i, &spec->in[ninputs]) < 0 || i != count)
		goto usage;
	return 0;
usage:
	makemime_spec_free(spec);
	return -1;
}

void makemime_spec_free(struct makemime_spec *spec)
{
	free(spec->headers);
	memset(spec, 0, sizeof(*spec));
}

/* ---- encoding detection ---- */

void makemime_detect_feed(struct makemime_detect *d, const void *data,
			  size_t len)
{
	const unsigned char *s = data;

	d->total += len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '\n') {
			d->col = 0;
			continue;
		}
		if (c == '\0')
			d->nul = true;
		if (c >= 128 || (c < 32 && c != '\t' && c != '\r')) {
			d->bad++;
			d->col += 3;
		} else {
			d->col++;
		}
		if (d->col > 990)
			d->longline = true;
	}
}

const char *makemime_detect_result(const struct makemime_detect *d)
{
	if (d->nul)
		return "base64";
	if (d->longline)
		return d->bad * 10 > d->total ? "base64" : "quoted-printable";
	if (d->bad > 0)
		return "8bit";
	return "7bit";
}

/* ---- -N ---- */

static bool param_special(unsigned char c)
{
	return c <= ' ' || c >= 127 || strchr("\"'();:=\\%", c) != NULL;
}

void makemime_param_append(struct str *dest, const char *name,
			   const char *value, const char *charset)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(value), piece = 0, col;
	bool plain = len <= 70;

	for (size_t i = 0; plain && i < len; i++) {
		if (param_special((unsigned char)value[i]))
			plain = false;
	}
	if (plain) {
		str_printfa(dest, "%s=\"%s\"", name, value);
		return;
	}
	str_printfa(dest, "%s*0*=%s''", name, charset);
	col = strlen(charset) + 2;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		bool esc = param_special(c);

		/* a piece ends at 63 columns; an escape may still start
		 * at column 63 (Debian's makemime does the same) */
		if (esc ? col > 63 : col + 1 > 63) {
			str_printfa(dest, ";\n  %s*%zu*=", name, ++piece);
			col = 0;
		}
		if (esc) {
			char buf[3] = { '%', hex[c >> 4], hex[c & 15] };

			str_append_n(dest, buf, 3);
			col += 3;
		} else {
			str_append_c(dest, (char)c);
			col++;
		}
	}
}
