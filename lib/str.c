/* str.c: growable binary-safe strings and small C-string helpers. */
#include "config.h"
#include "str.h"
#include "mem.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

void str_init(struct str *s, size_t initial_size)
{
	s->size = initial_size < 16 ? 16 : initial_size;
	s->data = xmalloc(s->size);
	s->data[0] = '\0';
	s->len = 0;
	s->limit = 0;
}

struct str *str_new(size_t initial_size)
{
	struct str *s = xmalloc(sizeof(*s));

	str_init(s, initial_size);
	return s;
}

void str_free(struct str *s)
{
	x_free(s->data);
	s->len = s->size = 0;
}

void str_destroy(struct str **sp)
{
	if (*sp == NULL)
		return;
	str_free(*sp);
	x_free(*sp);
}

char *str_steal(struct str *s)
{
	char *d = s->data != NULL ? s->data : xstrdup("");

	/* The string keeps no buffer: nothing is left to free, and the next
	 * append allocates again. */
	s->data = NULL;
	s->len = s->size = 0;
	return d;
}

void str_set_limit(struct str *s, size_t limit)
{
	s->limit = limit;
}

/* Makes room for n more bytes plus the NUL. */
static int str_reserve(struct str *s, size_t n)
{
	size_t need;

	if (n > SIZE_MAX - s->len - 1)
		log_panic("str: length overflow");
	if (s->limit != 0 && s->len + n > s->limit)
		return -1;
	need = s->len + n + 1;
	if (need > s->size) {
		size_t nsize = s->size < 16 ? 16 : s->size;

		while (nsize < need)
			nsize = nsize > SIZE_MAX / 2 ? need : nsize * 2;
		s->data = xrealloc(s->data, nsize);
		s->size = nsize;
	}
	return 0;
}

int str_append_n(struct str *s, const void *data, size_t len)
{
	if (str_reserve(s, len) < 0)
		return -1;
	if (len > 0)
		memmove(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
	return 0;
}

int str_append(struct str *s, const char *cstr)
{
	return str_append_n(s, cstr, strlen(cstr));
}

int str_vprintfa(struct str *s, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	/* First try in the room there is; a stolen-from string has none. */
	va_copy(ap2, ap);
	if (s->data != NULL)
		n = vsnprintf(s->data + s->len, s->size - s->len, fmt, ap2);
	else
		n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		log_panic("str_printfa: bad format");
	if (s->data != NULL && (size_t)n < s->size - s->len) {
		if (s->limit != 0 && s->len + (size_t)n > s->limit) {
			s->data[s->len] = '\0';
			return -1;
		}
		s->len += n;
		return 0;
	}
	if (str_reserve(s, (size_t)n) < 0) {
		if (s->data != NULL)
			s->data[s->len] = '\0';
		return -1;
	}
	vsnprintf(s->data + s->len, s->size - s->len, fmt, ap);
	s->len += n;
	return 0;
}

int str_append_uint(struct str *s, uint64_t v)
{
	char buf[20], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return str_append_n(s, p, (size_t)(buf + sizeof(buf) - p));
}

int str_printfa(struct str *s, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = str_vprintfa(s, fmt, ap);
	va_end(ap);
	return ret;
}

void str_truncate(struct str *s, size_t len)
{
	if (len < s->len) {
		s->len = len;
		s->data[len] = '\0';
	}
}

void str_delete_head(struct str *s, size_t n)
{
	if (n >= s->len) {
		str_truncate(s, 0);
		return;
	}
	memmove(s->data, s->data + n, s->len - n);
	s->len -= n;
	s->data[s->len] = '\0';
}

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool str_begins_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_begins_with_icase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++) {
		if (ascii_lower((unsigned char)*s) !=
		    ascii_lower((unsigned char)*prefix))
			return false;
	}
	return true;
}

bool str_ends_with(const char *s, const char *suffix)
{
	size_t sl = strlen(s), xl = strlen(suffix);

	return sl >= xl && memcmp(s + sl - xl, suffix, xl) == 0;
}

char *str_lcase(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		*p = (char)ascii_lower((unsigned char)*p);
	return s;
}

char *str_ucase(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p -= 32;
	}
	return s;
}

int str_copy(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);

	if (dstsize == 0)
		return -1;
	if (n >= dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		c == '\v' || c == '\f';
}

char *str_trim(char *s)
{
	char *start = s, *end;

	while (is_space(*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_space(end[-1]))
		end--;
	memmove(s, start, (size_t)(end - start));
	s[end - start] = '\0';
	return s;
}

char **str_split(const char *s, const char *seps)
{
	size_t count = 0, alloc = 8;
	char **vec = xcalloc(alloc, sizeof(*vec));

	while (*s != '\0') {
		size_t n = strcspn(s, seps);

		if (n > 0) {
			if (count + 1 >= alloc) {
				alloc *= 2;
				vec = xreallocarray(vec, alloc, sizeof(*vec));
			}
			vec[count++] = xstrndup(s, n);
		}
		s += n;
		if (*s != '\0')
			s++;
	}
	vec[count] = NULL;
	return vec;
}

void str_split_free(char ***vecp)
{
	char **vec = *vecp;

	if (vec == NULL)
		return;
	for (size_t i = 0; vec[i] != NULL; i++)
		free(vec[i]);
	x_free(*vecp);
}
