/* fuzz-esmtp-text.c: libFuzzer target for the text esmtpd and
 * courieresmtp read from admins and peers besides the protocol: the
 * smtpaccess and bofh files (one line loop, esmtp_text_lines), the MAXPERC
 * block of an address (esmtp_cblocks_*) and the SMTPUTF8 decision over a
 * message (esmtp_client_message_needs_utf8). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esmtp-access.h"
#include "esmtp-bofh.h"
#include "esmtp-client.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(const char *file, unsigned int line, const char *msg,
		  void *context)
{
	(void)file;
	(void)line;
	(void)msg;
	(*(unsigned int *)context)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct esmtp_access *acc = esmtp_access_new();
	struct esmtp_bofh *b;
	struct esmtp_cblocks *cb;
	unsigned int errors = 0;
	char *ip;

	/* the control files, as they are read */
	esmtp_access_set_error_callback(acc, quiet, &errors);
	esmtp_access_parse(acc, "smtpaccess", text, size);
	if (esmtp_access_bad_lines(acc) != errors)
		__builtin_trap();
	(void)esmtp_access_lookup(acc, "192.0.2.1", NULL);
	(void)esmtp_access_lookup(acc, "2001:db8::1", NULL);
	esmtp_access_free(&acc);
	errors = 0;
	b = esmtp_bofh_parse("bofh", text, size, quiet, &errors);
	if (b->bad_lines != errors)
		__builtin_trap();
	(void)esmtp_bofh_badfrom(b, "a@b.test");
	esmtp_bofh_free(&b);

	/* the first line as a client address, counted by block */
	{
		const char *nl = memchr(text, '\n', size);

		ip = xstrndup(text, nl != NULL ? (size_t)(nl - text) : size);
	}
	cb = esmtp_cblocks_new();
	if (esmtp_cblocks_enter(cb, ip, 1) &&
	    esmtp_cblocks_count(cb, ip) > 1)
		__builtin_trap();
	esmtp_cblocks_leave(cb, ip);
	if (esmtp_cblocks_count(cb, ip) != 0)
		__builtin_trap();
	esmtp_cblocks_free(&cb);

	/* the rest as a message whose envelope is that first line */
	{
		struct esmtp_client_rcpt r = { .address = ip };
		struct esmtp_client_message msg = {
			.sender = "", .data = text, .size = size,
			.rcpts = &r, .rcpt_count = 1,
		};

		(void)esmtp_client_message_needs_utf8(&msg);
	}
	free(ip);
	return 0;
}
