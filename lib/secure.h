/* secure.h: timing-safe comparison, secure random bytes, wiping secrets. */
#ifndef SECURE_H
#define SECURE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Compares a and b in time that depends only on len. */
bool secure_memeq(const void *a, const void *b, size_t len);
/* Compares two C strings without leaking where they differ; the time
 * depends on the length of the longer one only. */
bool secure_streq(const char *a, const char *b);
/* Fills buf with len bytes from the kernel's CSPRNG (getrandom).  Panics
 * if the kernel cannot provide them: there is no weak fallback. */
void secure_random(void *buf, size_t len);
/* A uniformly distributed random number in [0, upper). */
uint32_t secure_random_uniform(uint32_t upper);
/* Overwrites len bytes at p with zeros in a way the compiler keeps. */
void secure_wipe(void *p, size_t len);

#endif
