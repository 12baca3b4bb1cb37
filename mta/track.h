/* track.h: the backscatter blacklist (courier(8) "show all", "clear").
 *
 * When a delivery to an address fails, or is deferred, courierd records
 * it here; for the next two hours (TRACK_WINDOW) mail to that address is
 * not accepted from the sources listed in BOFHSUPPRESSBACKSCATTER (bofh:
 * "smtp" by default, "smtp,authsmtp", or "none"), so the server refuses
 * at RCPT instead of accepting and then bouncing to a forged sender.  A
 * later successful delivery to a deferred address ends it at once;
 * `courier clear ADDRESS` and `courier clear all` end it by hand.
 *
 * Storage: var/track/<hour>, one file per hour of the clock (seconds
 * since 1970 / 3600, in decimal), lines appended with O_APPEND (one
 * write each, under PIPE_BUF, so concurrent writers never interleave):
 *
 *     <status> <time> <address>
 *
 * status F (failed), D (deferred), A (delivered after a deferral), C
 * (cleared by hand).  The newest record of an address within the window
 * decides; files older than the window are removed by the writers.
 * Addresses are compared without regard to case.  Readers bound what
 * they read (TRACK_MAX_FILE bytes a file, TRACK_MAX_ADDRESS a line) and
 * skip malformed lines. */
#ifndef TRACK_H
#define TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* How long a failure keeps an address blacklisted (two hours). */
#define TRACK_WINDOW (2 * 3600)
/* Longest address recorded (longer ones are not tracked). */
#define TRACK_MAX_ADDRESS 998
/* Most bytes read of one hour file (the rest is ignored). */
#define TRACK_MAX_FILE (16 * 1024 * 1024)

enum track_status {
	TRACK_NONE = 0,
	TRACK_FAILED = 'F',
	TRACK_DEFERRED = 'D',
	TRACK_DELIVERED = 'A',
	TRACK_CLEARED = 'C',
};

/* Overrides the folder (default: the instance's var/track); NULL goes
 * back to the default.  For tests. */
void track_set_dir(const char *dir);

/* Appends a record for address at time now (creating the folder and the
 * hour file as needed, removing hour files older than the window).
 * Returns 0, or -1 with a static *error_r. */
int track_record(const char *address, enum track_status status, time_t now,
		 const char **error_r);

/* Whether address is blacklisted at time now: returns TRACK_FAILED or
 * TRACK_DEFERRED (and the time of that record in *when_r, may be NULL),
 * else TRACK_NONE.  Unreadable files count as empty. */
enum track_status track_lookup(const char *address, time_t now,
			       time_t *when_r);

/* Calls callback for each blacklisted address at time now, in no
 * particular order, with its status and time.  Returns the count. */
typedef void track_list_callback_t(const char *address,
				   enum track_status status, time_t when,
				   void *context);
size_t track_list(time_t now, track_list_callback_t *callback,
		  void *context);

/* Clears address (a C record), or every address when address is NULL
 * (the hour files are removed).  Returns 0, or -1 with *error_r. */
int track_clear(const char *address, time_t now, const char **error_r);

/* Parses one hour file's contents (len bytes), calling callback for each
 * well-formed record; malformed lines are skipped.  Returns the number
 * of records.  The readers above use it; exposed for the tests. */
typedef void track_record_callback_t(enum track_status status, time_t when,
				     const char *address, size_t address_len,
				     void *context);
size_t track_parse(const char *data, size_t len,
		   track_record_callback_t *callback, void *context);

/* Whether source ("smtp", "authsmtp", "local"...) is in list, the value
 * of BOFHSUPPRESSBACKSCATTER (comma or blank separated; NULL = the
 * default "smtp"; "none" = no source). */
bool track_source_suppressed(const char *list, const char *source);

/* The BOFHSUPPRESSBACKSCATTER value of the bofh control file ("opt
 * BOFHSUPPRESSBACKSCATTER=..."), or NULL when not set.  Caller frees. */
char *track_bofh_sources(void);

/* The check an input module makes at RCPT for a message from source:
 * returns NULL when address may be accepted, else the SMTP reply to
 * refuse it with (static, a 4xx: the blacklist is temporary). */
const char *track_refuse(const char *address, const char *source,
			 time_t now);

#endif
