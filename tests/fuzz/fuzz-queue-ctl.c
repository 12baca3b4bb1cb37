/* fuzz-queue-ctl.c: libFuzzer target for the queue's control file parser
 * (mta/ctlfile.h): parses the input with small limits, writes the
 * envelope of what it read and parses that again, which must succeed and
 * give the same recipients. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlfile.h"
#include "log.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_limits limits = { 64 * 1024, 200 };
	struct ctl_file *ctl = NULL, *back = NULL;
	const char *error;
	struct str out;

	log_set_min_level(LOG_LEVEL_FATAL);
	if (ctl_parse((const char *)data, size, &limits, &ctl, &error) < 0)
		return 0;
	str_init(&out, 256);
	if (ctl_write_envelope(&out, ctl, &error) == 0) {
		for (size_t i = 0; i < ctl->rcpt_count; i++) {
			ctl_write_started(&out, i, 1);
			ctl_write_status(&out, i, ctl->rcpts[i].status, 'l', 2,
					 ctl->rcpts[i].diag);
		}
		if (ctl_parse(str_c(&out), str_len(&out), NULL, &back,
			      &error) < 0)
			abort();
		if (back->rcpt_count != ctl->rcpt_count ||
		    back->has_owner != ctl->has_owner ||
		    back->owner_uid != ctl->owner_uid ||
		    (back->local_ip == NULL) != (ctl->local_ip == NULL) ||
		    (back->local_ip != NULL &&
		     strcmp(back->local_ip, ctl->local_ip) != 0))
			abort();
		for (size_t i = 0; i < ctl->rcpt_count; i++) {
			if (strcmp(back->rcpts[i].address,
				   ctl->rcpts[i].address) != 0 ||
			    back->rcpts[i].started != 1)
				abort();
		}
		ctl_file_free(&back);
	}
	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		char *s = ctl_rcpt_sender(ctl, i);

		free(s);
	}
	str_free(&out);
	ctl_file_free(&ctl);
	return 0;
}
