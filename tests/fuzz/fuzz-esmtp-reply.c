/* fuzz-esmtp-reply.c: libFuzzer target for the ESMTP client's reply
 * parser, EHLO keyword reader and 558 splitter (esmtp-client-reply.h),
 * fed the input in pieces whose sizes come from the first byte. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esmtp-client-reply.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esmtp_reply_parser *p;
	struct esmtp_reply reply;
	struct esmtp_ehlo ehlo;
	size_t piece, pos = 1;

	if (size < 1)
		return 0;
	piece = (size_t)(data[0] % 17) + 1;
	p = esmtp_reply_parser_create(data[0] & 0x80 ? 64 : 0,
				      data[0] & 0x40 ? 4 : 0);
	esmtp_reply_init(&reply);
	while (pos < size) {
		size_t n = size - pos < piece ? size - pos : piece, used;
		const char *error;
		int r = esmtp_reply_parser_feed(p, data + pos, n, &used,
						&reply, &error);

		if (used > n)
			__builtin_trap();
		pos += used;
		if (r < 0) {
			esmtp_reply_parser_reset(p);
			pos++;
		} else if (r > 0) {
			char *one = esmtp_reply_oneline(&reply);

			if (reply.code < 200 || reply.code > 559 ||
			    reply.line_count == 0)
				__builtin_trap();
			esmtp_ehlo_parse(&reply, &ehlo);
			if (strlen(ehlo.auth) >= sizeof(ehlo.auth))
				__builtin_trap();
			for (size_t i = 0; i <= reply.line_count; i++)
				(void)strlen(esmtp_reply_line(&reply, i));
			free(one);
			{
				/* a 558 Extended DATA reply, per recipient */
				char *subs[8];
				size_t k = esmtp_reply_exdata_split(&reply,
								    subs, NULL,
								    8);

				if (k > 8)
					__builtin_trap();
				while (k > 0)
					free(subs[--k]);
			}
		}
	}
	esmtp_reply_free(&reply);
	esmtp_reply_parser_destroy(&p);
	return 0;
}
