/* secure.c: timing-safe compare, kernel random numbers, wiping memory. */
#include "config.h"
#include "secure.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

bool secure_memeq(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *pa = a, *pb = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= pa[i] ^ pb[i];
	return diff == 0;
}

bool secure_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t n = la > lb ? la : lb;
	const volatile unsigned char *pa = (const unsigned char *)a;
	const volatile unsigned char *pb = (const unsigned char *)b;
	unsigned char diff = la != lb;

	/* Walk the longer length; past its end a string reads as its NUL. */
	for (size_t i = 0; i < n; i++)
		diff |= pa[i < la ? i : la] ^ pb[i < lb ? i : lb];
	return diff == 0;
}

void secure_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_panic("getrandom: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
}

uint32_t secure_random_uniform(uint32_t upper)
{
	uint32_t r, min;

	if (upper < 2)
		return 0;
	/* Reject the values that would bias the modulo. */
	min = -upper % upper;
	do
		secure_random(&r, sizeof(r));
	while (r < min);
	return r % upper;
}

void secure_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}
