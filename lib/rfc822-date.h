/* rfc822-date.h: RFC 5322 and IMAP dates, parsed and formatted.
 *
 * Parsing never looks at the process's time zone (TZ): times are computed
 * with proleptic Gregorian arithmetic in UTC, then the zone offset is
 * applied.  Offsets are in minutes east of UTC (+0100 is 60, -0830 is
 * -510).  Every parser takes the input as bytes with a length (NULs and
 * 8-bit bytes are simply rejected) and refuses input longer than
 * RFC822_DATE_MAX_LEN.
 */
#ifndef RFC822_DATE_H
#define RFC822_DATE_H

#include <stddef.h>
#include <time.h>

struct str;

/* Longest input any parser here accepts (a folded Date: header value with
 * comments fits easily). */
#define RFC822_DATE_MAX_LEN 1024

/* Parses an RFC 5322 date-time (section 3.3) and the obsolete forms of
 * section 4.3: optional day of week (checked to be a day name, not
 * checked against the date), day, month name in any case (three letters
 * or spelt out), year of 4 digits or the obsolete 2 digits (< 50 is
 * 20xx, else 19xx) and 3 digits (+ 1900), hh:mm with optional :ss,
 * and a zone: +hhmm/-hhmm, UT, GMT, the US zones EST EDT CST CDT MST MDT
 * PST PDT, military letters and other alphabetic zones (treated as
 * -0000, i.e. offset 0, as RFC 5322 4.3 says), or no zone at all (0).
 * Comments and folding whitespace are allowed between the parts, and one
 * alphabetic zone name may follow a numeric zone ("+0100 CET").
 * Days are checked against the month (no 31 Apr, 29 Feb only in leap
 * years), hours 0-23, minutes 0-59, seconds 0-60 (a leap second is read
 * as the next second).
 * Returns 0 and sets *time_r (UTC seconds since the epoch) and
 * *tz_offset_r, or -1 when the text is not a date. */
int rfc822_date_parse(const void *data, size_t len, time_t *time_r,
		      int *tz_offset_r);

/* Appends "Sat, 21 Nov 2026 13:49:23 +0000": t shown in the zone
 * tz_offset (minutes, clamped to +-99:59).  Returns 0, or -1 when out's
 * limit was hit or t is outside years 0..9999. */
int rfc822_date_format(struct str *out, time_t t, int tz_offset);

/* IMAP date-time (RFC 3501 INTERNALDATE, APPEND): "21-Nov-2026 13:49:23
 * +0000", the day may be one or two digits or space-padded; surrounding
 * double quotes are accepted.  Returns 0 or -1 like rfc822_date_parse. */
int rfc822_date_imap_parse(const void *data, size_t len, time_t *time_r,
			   int *tz_offset_r);
/* Appends the IMAP date-time of t in zone tz_offset, with the day
 * space-padded to two characters as RFC 3501's date-day-fixed says
 * (" 1-Feb-1994 ..."), without quotes.  Returns 0 or -1. */
int rfc822_date_imap_format(struct str *out, time_t t, int tz_offset);

/* IMAP SEARCH date (RFC 3501 date): "1-Feb-1994" or "01-Feb-1994",
 * optionally in double quotes.  Sets *time_r to 00:00:00 UTC of that day.
 * Returns 0 or -1. */
int rfc822_date_imap_search_parse(const void *data, size_t len,
				  time_t *time_r);
/* Appends "1-Feb-1994" for the UTC day of t.  Returns 0 or -1. */
int rfc822_date_imap_search_format(struct str *out, time_t t);

#endif
