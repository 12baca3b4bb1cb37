/* maildir-quota.h: Maildir++ quota ("maildirsize"), as Courier keeps it.
 *
 * The file sits in the root maildir.  Line 1 is the quota: a comma list of
 * "<n>S" (bytes) and "<n>C" (messages), either optional ("10000000S,1000C").
 * Every further line is "<bytes> <count>", a signed delta; Courier pads
 * each to "%12d %12d\n", and so do we.  The usage is the sum of the deltas.
 *
 * Deltas are appended with O_APPEND and no lock: the scheme is advisory
 * and racy by design.  The file is rebuilt from a scan of the maildir
 * (new/ and cur/ of the root and every folder except .Trash; messages
 * flagged T are not counted; sizes come from ",S=" in names or stat())
 * when it is missing but a quota is configured, when it is 5120 bytes or
 * more, when its totals are negative or garbled, and when the numbers say
 * "over quota" and the file has more than one delta line or is 15 minutes
 * old.  A rebuild writes tmp/<time>.<pid>_NeWmAiLdIrSiZe.<host> and renames
 * it over maildirsize; if new/ or cur/ changed during the scan it is done
 * again (up to 3 times), then the file is removed.
 *
 * Over quota, as Courier decides it: usage + the new message's size is
 * greater than the byte limit, or usage count + 1 is greater than the
 * count limit (so a maildir may be filled exactly to its quota). */
#ifndef MAILDIR_QUOTA_H
#define MAILDIR_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* maildirsize of this size or more is always recalculated. */
#define MAILDIR_QUOTA_MAX_FILE 5120
/* Seconds after which an over-quota maildirsize is recalculated. */
#define MAILDIR_QUOTA_STALE_SECS (15 * 60)

struct maildir_quota_spec {
	uint64_t bytes; /* 0 = no byte limit */
	uint64_t count; /* 0 = no message limit */
};

/* Parses a quota line ("10000S,10C", "10000S", "10C").  Returns 0, or -1
 * if it has garbage (what could be parsed is still set).  A spec with
 * neither limit means "no quota". */
int maildir_quota_spec_parse(const char *line, size_t len,
			     struct maildir_quota_spec *spec_r);

/* The result of parsing a maildirsize buffer. */
struct maildir_quota_usage {
	struct maildir_quota_spec spec;
	int64_t bytes;
	int64_t count;
	unsigned lines;	   /* delta lines after the quota line */
	bool needs_recalc; /* garbled lines, negative totals, overflow */
};

/* Parses the contents of a maildirsize file (len bytes, need not be NUL
 * terminated).  Never fails: garbled lines are skipped and flagged in
 * needs_recalc. */
void maildir_quota_parse(const char *buf, size_t len,
			 struct maildir_quota_usage *usage_r);

struct maildir_quota;

/* Opens the quota of the maildir dir (a folder's path finds its root by
 * the maildirfolder marker).  spec is the configured quota (from the
 * account), or NULL to take the one in maildirsize.  Returns 1 and *q_r
 * when a quota is in force, 0 when there is none (no file and no spec),
 * -1 with *error_r. */
int maildir_quota_open(const char *dir, const char *spec,
		       struct maildir_quota **q_r, const char **error_r);
void maildir_quota_close(struct maildir_quota **q);

/* Current usage (recalculating first if the file asked for it). */
int maildir_quota_get(struct maildir_quota *q, int64_t *bytes_r,
		      int64_t *count_r, const char **error_r);
/* The quota in force. */
const struct maildir_quota_spec *
maildir_quota_get_spec(const struct maildir_quota *q);
/* Would adding bytes and count (usually the message size and 1) go over
 * quota?  Returns 1 if it fits, 0 if over quota, -1 with *error_r. */
int maildir_quota_check(struct maildir_quota *q, int64_t bytes, int64_t count,
			const char **error_r);
/* Appends the delta "bytes count" (negative when removing). */
int maildir_quota_add(struct maildir_quota *q, int64_t bytes, int64_t count,
		      const char **error_r);
/* Rebuilds maildirsize from a scan now. */
int maildir_quota_recalculate(struct maildir_quota *q, const char **error_r);
/* Percentage of the quota used (the larger of bytes and count), 0-100. */
int maildir_quota_percent(struct maildir_quota *q);

/* Scans the maildir root as a recalculation does, without writing.
 * Returns 0 and the totals, or -1. */
int maildir_quota_scan(const char *root, int64_t *bytes_r, int64_t *count_r,
		       const char **error_r);

#endif
