/* rfc822-date.c: RFC 5322 / RFC 3501 date parsing and formatting in UTC
 * arithmetic, independent of the process's time zone. */
#include "config.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "str.h"
#include "rfc822-date.h"

#define MAX_COMMENT_DEPTH 32
#define MAX_ZONE_OFFSET (99 * 60 + 59)

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const month_full[12] = {
	"january", "february", "march", "april", "may", "june",
	"july", "august", "september", "october", "november", "december",
};
static const char *const day_names[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const day_full[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday",
};

static const struct {
	const char *name;
	int offset;
} named_zones[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -5 * 60 }, { "EDT", -4 * 60 },
	{ "CST", -6 * 60 }, { "CDT", -5 * 60 },
	{ "MST", -7 * 60 }, { "MDT", -6 * 60 },
	{ "PST", -8 * 60 }, { "PDT", -7 * 60 },
};

struct cursor {
	const unsigned char *p;
	size_t len, i;
};

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) */

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to y-m-d (m 1..12).  Years are counted from March
 * so that the leap day is the last day of the counted year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = floor_div(y, 400);
	yoe = y - era * 400;				/* 0..399 */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* 0..146096 */
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y_r, int *m_r, int *d_r)
{
	int64_t era, doe, yoe, doy, mp, y;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = *m_r <= 2 ? y + 1 : y;
}

static int make_time(int64_t y, int mon, int d, int h, int min, int s,
		     int tz_offset, time_t *time_r)
{
	int64_t t;

	if (mon < 1 || mon > 12 || d < 1 || d > days_in_month(y, mon) ||
	    h > 23 || min > 59 || s > 60)
		return -1;
	t = days_from_civil(y, mon, d) * 86400 + h * 3600 + min * 60 + s;
	/* a leap second at the very end of 9999 would be a local time the
	 * formatters cannot write (year 10000) */
	if (t >= days_from_civil(10000, 1, 1) * 86400)
		return -1;
	t -= (int64_t)tz_offset * 60;
	if ((int64_t)(time_t)t != t)
		return -1;
	*time_r = (time_t)t;
	return 0;
}

/* ---- scanning ---- */

static bool cur_end(const struct cursor *c)
{
	return c->i >= c->len;
}

static int cur_peek(const struct cursor *c)
{
	return c->i < c->len ? c->p[c->i] : -1;
}

static bool is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* Skips whitespace and (nested) comments.  Returns -1 on an unterminated
 * or too deeply nested comment. */
static int skip_cfws(struct cursor *c)
{
	while (!cur_end(c)) {
		int ch = c->p[c->i];

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			c->i++;
		} else if (ch == '(') {
			unsigned int depth = 0;

			do {
				if (cur_end(c))
					return -1;
				ch = c->p[c->i++];
				if (ch == '\\') {
					if (cur_end(c))
						return -1;
					c->i++;
				} else if (ch == '(') {
					if (++depth > MAX_COMMENT_DEPTH)
						return -1;
				} else if (ch == ')') {
					depth--;
				} else if (ch == '\0') {
					return -1;
				}
			} while (depth > 0);
		} else {
			break;
		}
	}
	return 0;
}

/* Reads 1..max digits; returns how many were read (0 = none). */
static int read_num(struct cursor *c, int max, int *value_r)
{
	int n = 0, v = 0;

	while (n < max && is_digit(cur_peek(c))) {
		v = v * 10 + (c->p[c->i++] - '0');
		n++;
	}
	*value_r = v;
	return n;
}

/* Reads a run of letters into buf (NUL-terminated); returns its length,
 * or -1 when it is longer than bufsize - 1. */
static int read_word(struct cursor *c, char *buf, size_t bufsize)
{
	size_t n = 0;

	while (is_alpha(cur_peek(c))) {
		if (n + 1 >= bufsize)
			return -1;
		buf[n++] = (char)c->p[c->i++];
	}
	buf[n] = '\0';
	return (int)n;
}

static int month_from_name(const char *w, bool allow_full)
{
	for (int m = 0; m < 12; m++) {
		if (strcasecmp(w, month_names[m]) == 0 ||
		    (allow_full && strcasecmp(w, month_full[m]) == 0))
			return m + 1;
	}
	return -1;
}

static bool is_day_name(const char *w)
{
	for (int d = 0; d < 7; d++) {
		if (strcasecmp(w, day_names[d]) == 0 ||
		    strcasecmp(w, day_full[d]) == 0)
			return true;
	}
	return false;
}

/* Alphabetic zone to offset: the named ones, military letters and any
 * other word of up to 5 letters are -0000 (0).  -1 when not a zone. */
static int zone_from_name(const char *w, int *offset_r)
{
	size_t len = strlen(w);

	for (size_t i = 0; i < N_ELEMENTS(named_zones); i++) {
		if (strcasecmp(w, named_zones[i].name) == 0) {
			*offset_r = named_zones[i].offset;
			return 0;
		}
	}
	if (len < 1 || len > 5)
		return -1;
	*offset_r = 0;
	return 0;
}

/* Reads +hhmm / -hhmm exactly. */
static int read_numeric_zone(struct cursor *c, int *offset_r)
{
	int sign = c->p[c->i] == '-' ? -1 : 1, hhmm;

	c->i++;
	if (read_num(c, 4, &hhmm) != 4 || is_digit(cur_peek(c)) ||
	    hhmm % 100 > 59)
		return -1;
	*offset_r = sign * ((hhmm / 100) * 60 + hhmm % 100);
	return 0;
}

int rfc822_date_parse(const void *data, size_t len, time_t *time_r,
		      int *tz_offset_r)
{
	struct cursor c = { data, len, 0 };
	char word[16];
	int day, mon, year, ndig, h, min, sec = 0, offset = 0;

	if (len > RFC822_DATE_MAX_LEN || skip_cfws(&c) < 0)
		return -1;
	if (is_alpha(cur_peek(&c))) {
		if (read_word(&c, word, sizeof(word)) < 0 || !is_day_name(word))
			return -1;
		if (skip_cfws(&c) < 0)
			return -1;
		if (cur_peek(&c) == ',')
			c.i++;
		if (skip_cfws(&c) < 0)
			return -1;
	}
	if (read_num(&c, 2, &day) == 0 || is_digit(cur_peek(&c)) ||
	    skip_cfws(&c) < 0)
		return -1;
	if (read_word(&c, word, sizeof(word)) <= 0 ||
	    (mon = month_from_name(word, true)) < 0 || skip_cfws(&c) < 0)
		return -1;
	ndig = read_num(&c, 4, &year);
	if (ndig < 2 || is_digit(cur_peek(&c)))
		return -1;
	if (ndig == 2)
		year += year < 50 ? 2000 : 1900;
	else if (ndig == 3)
		year += 1900;
	else if (year < 1900)
		return -1;
	if (skip_cfws(&c) < 0 || read_num(&c, 2, &h) == 0 ||
	    skip_cfws(&c) < 0 || cur_peek(&c) != ':')
		return -1;
	c.i++;
	if (skip_cfws(&c) < 0 || read_num(&c, 2, &min) != 2 ||
	    skip_cfws(&c) < 0)
		return -1;
	if (cur_peek(&c) == ':') {
		c.i++;
		if (skip_cfws(&c) < 0 || read_num(&c, 2, &sec) != 2 ||
		    skip_cfws(&c) < 0)
			return -1;
	}
	if (cur_peek(&c) == '+' || cur_peek(&c) == '-') {
		if (read_numeric_zone(&c, &offset) < 0 || skip_cfws(&c) < 0)
			return -1;
		/* "+0100 CET": an informational zone name after the offset */
		if (is_alpha(cur_peek(&c))) {
			if (read_word(&c, word, sizeof(word)) < 0 ||
			    skip_cfws(&c) < 0)
				return -1;
		}
	} else if (is_alpha(cur_peek(&c))) {
		if (read_word(&c, word, sizeof(word)) < 0 ||
		    zone_from_name(word, &offset) < 0 || skip_cfws(&c) < 0)
			return -1;
	}
	if (!cur_end(&c))
		return -1;
	if (make_time(year, mon, day, h, min, sec, offset, time_r) < 0)
		return -1;
	*tz_offset_r = offset;
	return 0;
}

/* Splits t as seen in zone tz_offset into its parts; -1 when outside
 * years 0..9999. */
static int split_time(time_t t, int tz_offset, int64_t *y_r, int *mon_r,
		      int *d_r, int *h_r, int *min_r, int *s_r, int *wday_r)
{
	int64_t local, days, secs;

	/* 10000 years of seconds is far from int64_t's limits */
	if ((int64_t)t < -(int64_t)400000 * 366 * 86400 ||
	    (int64_t)t > (int64_t)400000 * 366 * 86400)
		return -1;
	local = (int64_t)t + (int64_t)tz_offset * 60;
	days = floor_div(local, 86400);
	secs = local - days * 86400;
	civil_from_days(days, y_r, mon_r, d_r);
	if (*y_r < 0 || *y_r > 9999)
		return -1;
	*h_r = (int)(secs / 3600);
	*min_r = (int)(secs / 60 % 60);
	*s_r = (int)(secs % 60);
	*wday_r = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01: Thu */
	return 0;
}

static int clamp_offset(int tz_offset)
{
	if (tz_offset > MAX_ZONE_OFFSET)
		return MAX_ZONE_OFFSET;
	if (tz_offset < -MAX_ZONE_OFFSET)
		return -MAX_ZONE_OFFSET;
	return tz_offset;
}

int rfc822_date_format(struct str *out, time_t t, int tz_offset)
{
	int64_t y;
	int mon, d, h, min, s, wday, off = clamp_offset(tz_offset);

	if (split_time(t, off, &y, &mon, &d, &h, &min, &s, &wday) < 0)
		return -1;
	return str_printfa(out, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
			   day_names[wday], d, month_names[mon - 1], (int)y,
			   h, min, s, off < 0 ? '-' : '+', (off < 0 ? -off :
							    off) / 60,
			   (off < 0 ? -off : off) % 60);
}

/* Optional surrounding double quotes: strips them from the cursor's range.
 * Returns -1 when only one of them is there. */
static int strip_quotes(struct cursor *c)
{
	bool open = c->len > 0 && c->p[0] == '"';
	bool close = c->len > 1 && c->p[c->len - 1] == '"';

	if (open != close)
		return -1;
	if (open) {
		c->i = 1;
		c->len--;
	}
	return 0;
}

/* Reads "d-Mon-yyyy" (the day possibly space-padded when pad is set). */
static int read_imap_day(struct cursor *c, bool pad, int64_t *y_r,
			 int *mon_r, int *d_r)
{
	char word[4];
	int year;

	if (pad && cur_peek(c) == ' ')
		c->i++;
	if (read_num(c, 2, d_r) == 0 || cur_peek(c) != '-')
		return -1;
	c->i++;
	if (read_word(c, word, sizeof(word)) != 3 ||
	    (*mon_r = month_from_name(word, false)) < 0 ||
	    cur_peek(c) != '-')
		return -1;
	c->i++;
	if (read_num(c, 4, &year) != 4 || is_digit(cur_peek(c)))
		return -1;
	*y_r = year;
	return 0;
}

int rfc822_date_imap_parse(const void *data, size_t len, time_t *time_r,
			   int *tz_offset_r)
{
	struct cursor c = { data, len, 0 };
	int64_t y;
	int mon, d, h, min, s, offset;

	if (len > RFC822_DATE_MAX_LEN || strip_quotes(&c) < 0 ||
	    read_imap_day(&c, true, &y, &mon, &d) < 0 || cur_peek(&c) != ' ')
		return -1;
	c.i++;
	if (read_num(&c, 2, &h) != 2 || cur_peek(&c) != ':')
		return -1;
	c.i++;
	if (read_num(&c, 2, &min) != 2 || cur_peek(&c) != ':')
		return -1;
	c.i++;
	if (read_num(&c, 2, &s) != 2 || cur_peek(&c) != ' ')
		return -1;
	c.i++;
	if ((cur_peek(&c) != '+' && cur_peek(&c) != '-') ||
	    read_numeric_zone(&c, &offset) < 0 || !cur_end(&c))
		return -1;
	if (make_time(y, mon, d, h, min, s, offset, time_r) < 0)
		return -1;
	*tz_offset_r = offset;
	return 0;
}

int rfc822_date_imap_format(struct str *out, time_t t, int tz_offset)
{
	int64_t y;
	int mon, d, h, min, s, wday, off = clamp_offset(tz_offset);

	if (split_time(t, off, &y, &mon, &d, &h, &min, &s, &wday) < 0)
		return -1;
	if (y >= 0 && y <= 9999) {
		/* FETCH INTERNALDATE writes one a message: no printf */
		int a = off < 0 ? -off : off;
		char b[26] = {
			d < 10 ? ' ' : (char)('0' + d / 10), (char)('0' + d % 10),
			'-', month_names[mon - 1][0], month_names[mon - 1][1],
			month_names[mon - 1][2], '-',
			(char)('0' + y / 1000), (char)('0' + y / 100 % 10),
			(char)('0' + y / 10 % 10), (char)('0' + y % 10), ' ',
			(char)('0' + h / 10), (char)('0' + h % 10), ':',
			(char)('0' + min / 10), (char)('0' + min % 10), ':',
			(char)('0' + s / 10), (char)('0' + s % 10), ' ',
			off < 0 ? '-' : '+',
			(char)('0' + a / 60 / 10), (char)('0' + a / 60 % 10),
			(char)('0' + a % 60 / 10), (char)('0' + a % 60 % 10),
		};
		return str_append_n(out, b, sizeof(b));
	}
	return str_printfa(out, "%2d-%s-%04d %02d:%02d:%02d %c%02d%02d", d,
			   month_names[mon - 1], (int)y, h, min, s,
			   off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
			   (off < 0 ? -off : off) % 60);
}

int rfc822_date_imap_search_parse(const void *data, size_t len,
				  time_t *time_r)
{
	struct cursor c = { data, len, 0 };
	int64_t y;
	int mon, d;

	if (len > RFC822_DATE_MAX_LEN || strip_quotes(&c) < 0 ||
	    read_imap_day(&c, false, &y, &mon, &d) < 0 || !cur_end(&c))
		return -1;
	return make_time(y, mon, d, 0, 0, 0, 0, time_r);
}

int rfc822_date_imap_search_format(struct str *out, time_t t)
{
	int64_t y;
	int mon, d, h, min, s, wday;

	if (split_time(t, 0, &y, &mon, &d, &h, &min, &s, &wday) < 0)
		return -1;
	return str_printfa(out, "%d-%s-%04d", d, month_names[mon - 1], (int)y);
}
