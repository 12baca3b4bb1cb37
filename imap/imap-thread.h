/* imap-thread.h: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256
 * sections 4 and 5 of the algorithms, 5 of the response): builds the
 * thread tree of a set of messages (struct imap_sort_msg, imap-sort.h)
 * and writes it as the THREAD response's "(1 2 (3)(4))..." list.
 *
 * REFERENCES follows RFC 5256 step by step: containers per Message-ID,
 * References (or In-Reply-To) linking without loops and without changing
 * existing links, duplicate and missing Message-IDs made unique, dummy
 * pruning, root ordering by sent date, grouping of roots by base subject,
 * and sibling ordering by sent date (then sequence number).  Everything
 * runs without recursion, so a hostile References chain cannot exhaust
 * the stack. */
#ifndef IMAP_THREAD_H
#define IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "imap-sort.h"
#include "str.h"

enum imap_thread_algorithm {
	IMAP_THREAD_ORDEREDSUBJECT,
	IMAP_THREAD_REFERENCES,
};

/* Most Message-IDs taken from one References field (the last ones). */
#define IMAP_THREAD_MAX_REFERENCES 256

/* Parses "ORDEREDSUBJECT" or "REFERENCES" (any case).  Returns 0 or -1. */
int imap_thread_algorithm_parse(const char *name,
				enum imap_thread_algorithm *algo_r);

/* Appends the threads of msgs[0..count) to out (nothing when count is
 * 0), numbering messages by UID when uid is set, else by sequence
 * number.  The messages must have been finished with
 * imap_sort_msg_finish(); their order does not matter. */
void imap_thread(struct imap_sort_msg *const *msgs, size_t count,
		 enum imap_thread_algorithm algo, bool uid, struct str *out);

#endif
