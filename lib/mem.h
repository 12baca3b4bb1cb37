/* mem.h: allocation that never fails silently.
 *
 * Every allocator here either returns memory or aborts the process with a
 * logged panic: callers never check for NULL.  Freed pointers are set to
 * NULL through the x_free() macro, so a double free becomes a NULL free. */
#ifndef MEM_H
#define MEM_H

#include <stddef.h>
#include <stdarg.h>

void *xmalloc(size_t size);
/* Zeroed; aborts when nmemb * size overflows. */
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Like xrealloc for an array of nmemb items, with overflow check. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and NUL-terminates. */
char *xstrndup(const char *s, size_t n);
/* Copies exactly n bytes (which may contain NULs) and NUL-terminates. */
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Free and clear: x_free(p) frees p and sets it to NULL. */
#define x_free(p) do { free(p); (p) = NULL; } while (0)

/* Number of elements of a fixed array. */
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#endif
