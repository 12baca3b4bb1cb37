/* mime-params.c: Content-Type/Content-Disposition values and parameters,
 * with RFC 2231 continuations, charsets and languages. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "str.h"
#include "charset.h"
#include "mime-params.h"

struct raw_param {
	char *name;	/* full name, lowercase, "*" suffixes included */
	char *value;
	size_t value_len;
};

bool mime_params_is_token_char(unsigned char c)
{
	if (c <= 32 || c >= 127)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const char *skip_comment(const char *p, const char *end)
{
	unsigned int depth = 0;

	/* p is at '(' */
	while (p < end) {
		if (*p == '\\' && p + 1 < end) {
			p += 2;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')') {
			if (--depth == 0)
				return p + 1;
		}
		p++;
	}
	return end;
}

static const char *skip_cfws(const char *p, const char *end)
{
	while (p < end) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		else if (*p == '(')
			p = skip_comment(p, end);
		else
			break;
	}
	return p;
}

static const char *token_end(const char *p, const char *end)
{
	while (p < end && mime_params_is_token_char((unsigned char)*p))
		p++;
	return p;
}

static char *lower_dup(const char *p, size_t len)
{
	char *s = xstrndup(p, len);

	return str_lcase(s);
}

static const char *skip_to_semicolon(const char *p, const char *end)
{
	while (p < end && *p != ';') {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
			}
			if (p < end)
				p++;
		} else if (*p == '(')
			p = skip_comment(p, end);
		else
			p++;
	}
	return p;
}

/* Reads a parameter value at p into dest; returns the position after it. */
static const char *read_value(const char *p, const char *end, struct str *dest)
{
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (*p == '\r' || *p == '\n')
				continue;
			str_append_c(dest, *p);
		}
		if (p < end)
			p++;
		return skip_to_semicolon(p, end);
	}
	/* Unquoted: lenient, up to ';', comments dropped, trimmed. */
	while (p < end && *p != ';') {
		if (*p == '(') {
			p = skip_comment(p, end);
			continue;
		}
		if (*p != '\r' && *p != '\n')
			str_append_c(dest, *p);
		p++;
	}
	while (str_len(dest) > 0 && (dest->data[dest->len - 1] == ' ' ||
				     dest->data[dest->len - 1] == '\t'))
		str_truncate(dest, str_len(dest) - 1);
	return p;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void percent_decode(struct str *dest, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int h, l;

		if (s[i] == '%' && i + 2 < len &&
		    (h = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (l = hexval((unsigned char)s[i + 2])) >= 0) {
			str_append_c(dest, (char)(h * 16 + l));
			i += 2;
		} else {
			str_append_c(dest, s[i]);
		}
	}
}

static void param_add(struct mime_params *params, size_t max_params,
		      const char *name, const char *value, size_t value_len,
		      const char *charset, const char *language)
{
	struct mime_param *p;

	/* The last of several equal names wins. */
	for (size_t i = 0; i < params->count; i++) {
		if (strcmp(params->params[i].name, name) == 0) {
			p = &params->params[i];
			free(p->value);
			free(p->charset);
			free(p->language);
			goto set;
		}
	}
	if (params->count >= max_params)
		return;
	params->params = xreallocarray(params->params, params->count + 1,
				       sizeof(*params->params));
	p = &params->params[params->count++];
	p->name = xstrdup(name);
set:
	p->value = xmemdup(value, value_len);
	p->charset = charset != NULL ? xstrdup(charset) : NULL;
	p->language = language != NULL ? xstrdup(language) : NULL;
}

/* Parses the "*N" / "*" / "*N*" suffix of an RFC 2231 name.  Returns the
 * base length, sets *section_r (-1 for "name*") and *extended_r; returns 0
 * for a plain name or an invalid suffix. */
static size_t rfc2231_split(const char *name, int *section_r, bool *extended_r)
{
	const char *star = strchr(name, '*');
	const char *p;
	long n = 0;

	if (star == NULL || star == name)
		return 0;
	p = star + 1;
	if (*p == '\0') {
		*section_r = -1;
		*extended_r = true;
		return (size_t)(star - name);
	}
	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return 0;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (*p - '0');
		if (n > MIME_PARAMS_MAX_SECTIONS)
			return 0;
		p++;
	}
	if (*p == '*' && p[1] == '\0')
		*extended_r = true;
	else if (*p == '\0')
		*extended_r = false;
	else
		return 0;
	*section_r = (int)n;
	return (size_t)(star - name);
}

static void rfc2231_assemble(struct mime_params *params, size_t max_params,
			     struct raw_param *raw, size_t nraw,
			     const char *base, size_t base_len)
{
	const struct raw_param *sections[MIME_PARAMS_MAX_SECTIONS + 1];
	bool ext[MIME_PARAMS_MAX_SECTIONS + 1];
	const struct raw_param *single = NULL;
	struct str bytes;
	char *charset = NULL, *language = NULL, *name;
	int max_section = -1;

	memset(sections, 0, sizeof(sections));
	for (size_t i = 0; i < nraw; i++) {
		int section;
		bool extended;
		size_t bl = rfc2231_split(raw[i].name, &section, &extended);

		if (bl != base_len || memcmp(raw[i].name, base, bl) != 0)
			continue;
		if (section < 0) {
			single = &raw[i];
			continue;
		}
		if (sections[section] == NULL) {
			sections[section] = &raw[i];
			ext[section] = extended;
			if (section > max_section)
				max_section = section;
		}
	}

	str_init(&bytes, 64);
	if (single != NULL) {
		max_section = 0;
		sections[0] = single;
		ext[0] = true;
		for (int i = 1; i <= MIME_PARAMS_MAX_SECTIONS; i++)
			sections[i] = NULL;
	}
	for (int i = 0; i <= max_section && sections[i] != NULL; i++) {
		const char *v = sections[i]->value;
		size_t vlen = sections[i]->value_len;

		if (ext[i] && i == 0) {
			const char *q1 = memchr(v, '\'', vlen);
			const char *q2 = q1 == NULL ? NULL :
				memchr(q1 + 1, '\'', vlen - (size_t)(q1 + 1 - v));

			if (q2 != NULL) {
				if (q1 > v)
					charset = xstrndup(v, (size_t)(q1 - v));
				if (q2 > q1 + 1)
					language = xstrndup(q1 + 1,
						(size_t)(q2 - q1 - 1));
				vlen -= (size_t)(q2 + 1 - v);
				v = q2 + 1;
			}
		}
		if (ext[i])
			percent_decode(&bytes, v, vlen);
		else
			str_append_n(&bytes, v, vlen);
	}

	name = xstrndup(base, base_len);
	if (charset != NULL && !charset_is_utf8(charset)) {
		struct str utf8;

		str_init(&utf8, str_len(&bytes) * 2 + 1);
		charset_to_utf8(charset, str_c(&bytes), str_len(&bytes), &utf8);
		param_add(params, max_params, name, str_c(&utf8),
			  str_len(&utf8), charset, language);
		str_free(&utf8);
	} else {
		param_add(params, max_params, name, str_c(&bytes),
			  str_len(&bytes), charset, language);
	}
	free(name);
	free(charset);
	free(language);
	str_free(&bytes);
}

void mime_params_parse(const char *value, size_t len, size_t max_params,
		       struct mime_params *params_r)
{
	const char *p = value, *end = value + len;
	struct raw_param *raw = NULL;
	size_t nraw = 0, max_raw;
	struct str v;

	if (max_params == 0)
		max_params = MIME_PARAMS_DEFAULT_MAX;
	max_raw = max_params + MIME_PARAMS_MAX_SECTIONS;
	str_init(&v, 64);

	p = skip_to_semicolon(p, end);
	while (p < end && nraw < max_raw) {
		const char *name, *name_end;

		p = skip_cfws(p + 1, end);	/* past ';' */
		name = p;
		name_end = token_end(p, end);
		/* Allow "*" in names for RFC 2231 (it is a token char). */
		p = skip_cfws(name_end, end);
		if (name_end == name || p >= end || *p != '=') {
			p = skip_to_semicolon(p, end);
			continue;
		}
		p = skip_cfws(p + 1, end);
		str_clear(&v);
		p = read_value(p, end, &v);
		raw = xreallocarray(raw, nraw + 1, sizeof(*raw));
		raw[nraw].name = lower_dup(name, (size_t)(name_end - name));
		raw[nraw].value = xmemdup(str_c(&v), str_len(&v));
		raw[nraw].value_len = str_len(&v);
		nraw++;
		p = skip_to_semicolon(p, end);
	}

	/* Plain parameters first, then RFC 2231 ones override them. */
	for (size_t i = 0; i < nraw; i++) {
		if (strchr(raw[i].name, '*') == NULL)
			param_add(params_r, max_params, raw[i].name,
				  raw[i].value, raw[i].value_len, NULL, NULL);
	}
	for (size_t i = 0; i < nraw; i++) {
		int section;
		bool extended, seen = false;
		size_t bl = rfc2231_split(raw[i].name, &section, &extended);

		if (bl == 0)
			continue;
		for (size_t j = 0; j < i && !seen; j++) {
			int s2;
			bool e2;
			size_t bl2 = rfc2231_split(raw[j].name, &s2, &e2);

			seen = bl2 == bl && memcmp(raw[j].name, raw[i].name,
						   bl) == 0;
		}
		if (!seen)
			rfc2231_assemble(params_r, max_params, raw, nraw,
					 raw[i].name, bl);
	}
	for (size_t i = 0; i < nraw; i++) {
		free(raw[i].name);
		free(raw[i].value);
	}
	free(raw);
	str_free(&v);
}

int mime_params_parse_content_type(const char *value, size_t len,
				   size_t max_params, char **type_r,
				   char **subtype_r,
				   struct mime_params *params_r)
{
	const char *p = value, *end = value + len, *t, *te, *s, *se;

	*type_r = *subtype_r = NULL;
	p = skip_cfws(p, end);
	t = p;
	te = token_end(p, end);
	p = skip_cfws(te, end);
	if (te > t && p < end && *p == '/') {
		p = skip_cfws(p + 1, end);
		s = p;
		se = token_end(p, end);
		p = skip_cfws(se, end);
		if (se > s && (p == end || *p == ';')) {
			*type_r = lower_dup(t, (size_t)(te - t));
			*subtype_r = lower_dup(s, (size_t)(se - s));
		}
	}
	mime_params_parse(p, (size_t)(end - p), max_params, params_r);
	return *type_r != NULL ? 0 : -1;
}

char *mime_params_type_text(const char *value, size_t len)
{
	const char *p = value, *end = value + len;
	struct str out;

	str_init(&out, 32);
	while (p < end && *p != ';') {
		if (*p == '(') {
			p = skip_comment(p, end);
		} else if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (*p != '\r' && *p != '\n')
					str_append_c(&out, *p);
			}
			if (p < end)
				p++;
		} else {
			if (*p != ' ' && *p != '\t' && *p != '\r' &&
			    *p != '\n' && *p != '\\' && *p != '\0')
				str_append_c(&out, *p);
			p++;
		}
	}
	if (str_len(&out) == 0) {
		str_free(&out);
		return NULL;
	}
	return str_lcase(str_steal(&out));
}

int mime_params_parse_disposition(const char *value, size_t len,
				  size_t max_params, char **disposition_r,
				  struct mime_params *params_r)
{
	const char *p = value, *end = value + len, *t, *te;

	*disposition_r = NULL;
	p = skip_cfws(p, end);
	t = p;
	te = token_end(p, end);
	p = skip_cfws(te, end);
	if (te > t && (p == end || *p == ';'))
		*disposition_r = lower_dup(t, (size_t)(te - t));
	mime_params_parse(p, (size_t)(end - p), max_params, params_r);
	return *disposition_r != NULL ? 0 : -1;
}

const struct mime_param *mime_params_find(const struct mime_params *params,
					  const char *name)
{
	for (size_t i = 0; i < params->count; i++) {
		if (strcmp(params->params[i].name, name) == 0)
			return &params->params[i];
	}
	return NULL;
}

const char *mime_params_get(const struct mime_params *params,
			    const char *name)
{
	const struct mime_param *p = mime_params_find(params, name);

	return p != NULL ? p->value : NULL;
}

void mime_params_free(struct mime_params *params)
{
	for (size_t i = 0; i < params->count; i++) {
		free(params->params[i].name);
		free(params->params[i].value);
		free(params->params[i].charset);
		free(params->params[i].language);
	}
	free(params->params);
	params->params = NULL;
	params->count = 0;
}
