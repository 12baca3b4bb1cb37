/* imap-seqset.c: parsing and matching IMAP sequence sets. */
#include "config.h"

#include <stdlib.h>

#include "imap-seqset.h"
#include "mem.h"

static int parse_num(const char **p, uint32_t *n_r)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s == '*') {
		*n_r = 0;
		*p = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
		s++;
	}
	*n_r = (uint32_t)v;
	*p = s;
	return 0;
}

int imap_seqset_parse(const char *text, struct imap_seqset *set_r,
		      const char **error_r)
{
	size_t size = 0;
	const char *p = text;

	set_r->ranges = NULL;
	set_r->count = 0;
	set_r->normalized = false;
	for (;;) {
		struct imap_seq_range r;

		if (parse_num(&p, &r.lo) < 0)
			goto bad;
		r.hi = r.lo;
		if (*p == ':') {
			p++;
			if (parse_num(&p, &r.hi) < 0)
				goto bad;
		}
		/* ranges go either way; keep lo <= hi, with 0 = "*" */
		if (r.lo == 0 || (r.hi != 0 && r.hi < r.lo)) {
			uint32_t t = r.lo;
			r.lo = r.hi;
			r.hi = t;
		}
		if (set_r->count == IMAP_SEQSET_MAX_RANGES) {
			*error_r = "Too many ranges in the sequence set";
			imap_seqset_free(set_r);
			return -1;
		}
		if (set_r->count == size) {
			size = size == 0 ? 4 : size * 2;
			set_r->ranges = xreallocarray(set_r->ranges, size,
						      sizeof(r));
		}
		set_r->ranges[set_r->count++] = r;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			goto bad;
		p++;
	}
bad:
	*error_r = "Invalid sequence set";
	imap_seqset_free(set_r);
	return -1;
}

void imap_seqset_free(struct imap_seqset *set)
{
	x_free(set->ranges);
	set->count = 0;
	set->normalized = false;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

void imap_seqset_normalize(struct imap_seqset *set, uint32_t max)
{
	struct imap_seq_range *r = set->ranges;
	size_t n = 0;

	if (set->normalized)
		return;
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = r[i].lo == 0 ? max : r[i].lo;
		uint32_t hi = r[i].hi == 0 ? max : r[i].hi;

		r[i].lo = lo < hi ? lo : hi;
		r[i].hi = lo < hi ? hi : lo;
	}
	if (set->count > 1)
		qsort(r, set->count, sizeof(*r), range_cmp);
	for (size_t i = 0; i < set->count; i++) {
		if (n > 0 && (uint64_t)r[i].lo <= (uint64_t)r[n - 1].hi + 1) {
			if (r[i].hi > r[n - 1].hi)
				r[n - 1].hi = r[i].hi;
		} else {
			r[n++] = r[i];
		}
	}
	set->count = n;
	set->normalized = true;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
			  uint32_t max)
{
	if (set->normalized) {
		size_t lo = 0, hi = set->count;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (n < set->ranges[mid].lo)
				hi = mid;
			else if (n > set->ranges[mid].hi)
				lo = mid + 1;
			else
				return true;
		}
		return false;
	}
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;

		if (lo == 0)
			lo = max;
		if (hi == 0)
			hi = max;
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		if (n >= lo && n <= hi)
			return true;
	}
	return false;
}

void imap_seqset_append(struct str *out, const uint32_t *nums, size_t count)
{
	size_t i = 0;
	bool first = true;

	while (i < count) {
		uint32_t lo = nums[i], hi = lo;

		i++;
		while (i < count && (nums[i] == hi || nums[i] == hi + 1))
			hi = nums[i++];
		str_printfa(out, first ? "%u" : ",%u", lo);
		if (hi != lo)
			str_printfa(out, ":%u", hi);
		first = false;
	}
}
