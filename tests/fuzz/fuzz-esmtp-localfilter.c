/* fuzz-esmtp-localfilter.c: libFuzzer target for the reply made of an
 * SMTP-time filter's output (esmtp-localfilter.h): the first byte picks
 * the helper's exit status and the phase, the rest is what it printed.
 * Traps when a reply is not a well-formed SMTP reply. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "esmtp-localfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const char *reply, bool temp)
{
	const char *p = reply;
	size_t lines = 0;
	char code[4];

	memcpy(code, reply, 3);
	code[3] = '\0';
	if (code[0] != (temp ? '4' : '5'))
		__builtin_trap();
	for (;;) {
		const char *nl = strchr(p, '\n');

		lines++;
		if (strncmp(p, code, 3) != 0 ||
		    p[3] != (nl != NULL ? '-' : ' '))
			__builtin_trap();
		for (const char *c = p; c < (nl != NULL ? nl : p + strlen(p));
		     c++) {
			if (*c < 0x20 || *c >= 0x7f)
				__builtin_trap();
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (lines > ESMTP_LMF_MAX_LINES)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int codes[] = { 0, 1, 2, 3, 75, 99, 67, 255 };
	enum esmtp_lmf_verdict v;
	char *reply;
	int wstatus;

	if (size == 0)
		return 0;
	if ((data[0] & 0x10) != 0)
		wstatus = data[0] & 0x0f;	/* killed by a signal */
	else
		wstatus = codes[data[0] & 7] << 8;
	if (data[0] == 0xff)
		wstatus = -1;
	v = esmtp_lmf_verdict(wstatus, (data[0] & 0x20) != 0,
			      (const char *)data + 1, size - 1, &reply);
	if ((v == ESMTP_LMF_REJECT || v == ESMTP_LMF_TEMPFAIL) !=
	    (reply != NULL))
		__builtin_trap();
	if (reply != NULL)
		check_reply(reply, v == ESMTP_LMF_TEMPFAIL);
	free(reply);
	return 0;
}
