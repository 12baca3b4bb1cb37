/* fuzz-authproto.c: libFuzzer target for authdaemon requests (the daemon's
 * parser, fed every prefix as the daemon does while reading) and replies
 * (the client's record parser, fed in two pieces). */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth-record.h"
#include "authproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authproto_request req;
	struct auth_record rec;
	const char *error;

	/* The daemon re-parses what it has after each read. */
	for (size_t n = size > 64 ? size - 64 : 0; n <= size; n++) {
		enum authproto_status st =
			authproto_parse(data, n, &req, &error);
		if (st == AUTHPROTO_DONE)
			authproto_request_free(&req);
		if (st != AUTHPROTO_MORE)
			break;
	}

	struct auth_reply_parser *p = auth_reply_parser_create(4096);
	size_t half = size / 2, used;
	auth_record_init(&rec);
	enum auth_reply_status st =
		auth_reply_parser_feed(p, data, half, &used, &rec, &error);
	if (st == AUTH_REPLY_MORE)
		st = auth_reply_parser_feed(
			p, data + half, size - half, &used, &rec, &error);
	if (st == AUTH_REPLY_RECORD) {
		struct str out;
		str_init(&out, 256);
		(void)auth_record_write(&rec, true, &out, &error);
		str_free(&out);
	}
	auth_record_free(&rec);
	auth_reply_parser_destroy(&p);
	return 0;
}
