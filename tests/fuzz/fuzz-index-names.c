/* fuzz-index-names.c: libFuzzer target for what the mail index reads from
 * a maildir file name on a scan without stat(): the delivery time at its
 * start (mail_index_date_from_name(), the provisional internal date) and
 * the ",S="/",W=" sizes; arbitrary bytes as the name. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail-index-private.h"
#include "maildir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[MAILDIR_NAME_MAX + 1];
	int64_t t, want = 0;
	uint64_t v;
	size_t n = size < MAILDIR_NAME_MAX ? size : MAILDIR_NAME_MAX, i;

	memcpy(name, data, n);
	name[n] = '\0';
	t = mail_index_date_from_name(name);
	/* 1 to 12 digits, then '.' or the end: their value; else 0. */
	for (i = 0; i < 12 && name[i] >= '0' && name[i] <= '9'; i++)
		want = want * 10 + (name[i] - '0');
	if (i == 0 || (name[i] != '.' && name[i] != '\0'))
		want = 0;
	if (t != want || t < 0 || t > 999999999999LL)
		abort();
	/* The sizes a scan takes from the name: found only in the base
	 * name, and a found ",S=" must be digits up to ',' or the end. */
	if (maildir_name_get_size(name, 'S', &v) == 1 &&
	    strstr(name, ",S=") == NULL)
		abort();
	(void)maildir_name_get_size(name, 'W', &v);
	return 0;
}
