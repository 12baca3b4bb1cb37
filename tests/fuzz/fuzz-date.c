/* fuzz-date.c: libFuzzer target for the RFC 5322 and IMAP date parsers:
 * whatever parses must format and parse back to the same time and zone. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "str.h"
#include "rfc822-date.h"

static void check(int (*format)(struct str *, time_t, int),
		  int (*parse)(const void *, size_t, time_t *, int *),
		  time_t t, int offset)
{
	struct str out;
	time_t t2;
	int offset2;

	str_init(&out, 64);
	if (format(&out, t, offset) < 0)
		abort();
	if (parse(str_c(&out), str_len(&out), &t2, &offset2) < 0 ||
	    t2 != t || offset2 != offset)
		abort();
	str_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	time_t t;
	int offset;

	if (rfc822_date_parse(data, size, &t, &offset) == 0) {
		check(rfc822_date_format, rfc822_date_parse, t, offset);
		check(rfc822_date_imap_format, rfc822_date_imap_parse, t,
		      offset);
	}
	if (rfc822_date_imap_parse(data, size, &t, &offset) == 0)
		check(rfc822_date_imap_format, rfc822_date_imap_parse, t,
		      offset);
	if (rfc822_date_imap_search_parse(data, size, &t) == 0) {
		struct str out;
		time_t t2;

		str_init(&out, 32);
		if (rfc822_date_imap_search_format(&out, t) < 0 ||
		    rfc822_date_imap_search_parse(str_c(&out), str_len(&out),
						  &t2) < 0 || t2 != t)
			abort();
		str_free(&out);
	}
	return 0;
}
