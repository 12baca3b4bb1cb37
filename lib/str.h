/* str.h: growable, binary-safe strings.
 *
 * A struct str owns a buffer that always has room for a terminating NUL, so
 * str_c() can be handed to C APIs; its length is tracked separately, so it
 * may hold NUL bytes.  Appends grow the buffer and never overflow.  An
 * optional limit makes a string refuse to grow past a size (for data that
 * comes from a peer): str_append* then return -1 and leave it unchanged. */
#ifndef STR_H
#define STR_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdbool.h>

struct str {
	char *data;	/* always NUL-terminated */
	size_t len;	/* bytes used, excluding the NUL */
	size_t size;	/* bytes allocated */
	size_t limit;	/* 0 = unlimited, else the maximum len */
};

/* Heap-allocated string with an initial capacity. */
struct str *str_new(size_t initial_size);
/* Frees the string and its data; sets *s to NULL. */
void str_destroy(struct str **s);
/* Initialises/frees a string embedded in another struct. */
void str_init(struct str *s, size_t initial_size);
void str_free(struct str *s);
/* Detaches and returns the data (caller frees).  The string is left empty
 * and owning no memory: a string embedded in a struct or on the stack needs
 * no str_free() after it, and may be appended to again. */
char *str_steal(struct str *s);

/* Sets the size limit (0 = none). */
void str_set_limit(struct str *s, size_t limit);

/* Append functions return 0, or -1 when the limit would be exceeded. */
int str_append(struct str *s, const char *cstr);
int str_append_n(struct str *s, const void *data, size_t len);
/* One byte: inline while there is room (the envelope and header builders
 * append a byte at a time), else through str_append_n(). */
static inline int str_append_c(struct str *s, char c)
{
	if (s->len + 1 < s->size && (s->limit == 0 || s->len < s->limit)) {
		s->data[s->len++] = c;
		s->data[s->len] = '\0';
		return 0;
	}
	return str_append_n(s, &c, 1);
}
/* The decimal digits of v (as "%llu" would, without printf's cost). */
int str_append_uint(struct str *s, uint64_t v);
int str_printfa(struct str *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int str_vprintfa(struct str *s, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

void str_truncate(struct str *s, size_t len);
/* Removes the first n bytes. */
void str_delete_head(struct str *s, size_t n);
static inline void str_clear(struct str *s) { str_truncate(s, 0); }
static inline const char *str_c(const struct str *s)
{
	return s->data != NULL ? s->data : "";
}
static inline size_t str_len(const struct str *s) { return s->len; }

/* Small helpers over C strings. */
bool str_begins_with(const char *s, const char *prefix);
bool str_begins_with_icase(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* ASCII-only case folding, in place; returns s. */
char *str_lcase(char *s);
char *str_ucase(char *s);
/* Copies src into dst of size dstsize, always NUL-terminated.
 * Returns 0, or -1 if src was truncated. */
int str_copy(char *dst, const char *src, size_t dstsize);
/* Strips leading and trailing ASCII whitespace in place; returns s. */
char *str_trim(char *s);
/* Splits s at any byte in seps into a NULL-terminated vector of new strings;
 * empty fields are dropped.  Free with str_split_free(). */
char **str_split(const char *s, const char *seps);
void str_split_free(char ***vec);

#endif
