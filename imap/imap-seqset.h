/* imap-seqset.h: IMAP sequence sets ("1:4,7,10:*") of message sequence
 * numbers or UIDs. */
#ifndef IMAP_SEQSET_H
#define IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* One range; 0 stands for "*" (the largest number in use). */
struct imap_seq_range {
	uint32_t lo, hi;
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	size_t count;
	/* set by imap_seqset_normalize(): ranges sorted, disjoint, no "*" */
	bool normalized;
};

/* Most ranges in one set. */
#define IMAP_SEQSET_MAX_RANGES 100000

/* Parses text into *set_r (free with imap_seqset_free()).  Returns 0, or
 * -1 with a static *error_r for bad syntax, a 0 or a number above
 * 4294967295, or too many ranges. */
int imap_seqset_parse(const char *text, struct imap_seqset *set_r,
		      const char **error_r);
void imap_seqset_free(struct imap_seqset *set);
/* Replaces "*" by max, sorts the ranges and merges those that touch, so
 * that imap_seqset_contains() takes log(ranges) time: do it before
 * testing many numbers.  The set then ignores the max it is given. */
void imap_seqset_normalize(struct imap_seqset *set, uint32_t max);
/* True when n is in the set, "*" being max (the largest number in use:
 * the message count, or the largest UID). */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
			  uint32_t max);
/* Appends nums[0..count) (ascending) to out as a compact set: runs of
 * consecutive numbers become "lo:hi" ("1:3,7,9:10").  Duplicates are
 * skipped; nothing is appended when count is 0. */
void imap_seqset_append(struct str *out, const uint32_t *nums, size_t count);

#endif
