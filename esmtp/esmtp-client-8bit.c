/* esmtp-client-8bit.c: 8-bit to 7-bit conversion of a message for a
 * server without 8BITMIME (RFC 6152 section 3): every leaf MIME part with
 * 8-bit bytes in its body that is not already quoted-printable or base64
 * gets its body re-encoded as quoted-printable and its
 * Content-Transfer-Encoding header replaced. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esmtp-client.h"
#include "mem.h"
#include "mime-decode.h"
#include "mime-parser.h"

static bool has_8bit(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80 || p[i] == '\0')
			return true;
	return false;
}

/* Copies the header [p, p+len) without its Content-Transfer-Encoding
 * fields (and their continuation lines), adding ours (and MIME-Version
 * when add_version) before the empty line that ends it. */
static void rewrite_header(const char *p, size_t len, bool add_version,
			   struct str *out)
{
	size_t pos = 0, end_of_fields = len;
	bool skipping = false;

	/* the header ends with an empty line: find where it starts */
	if (len >= 1 && p[len - 1] == '\n') {
		if (len >= 2 && p[len - 2] == '\n')
			end_of_fields = len - 1;
		else if (len >= 3 && p[len - 2] == '\r' && p[len - 3] == '\n')
			end_of_fields = len - 2;
	}
	while (pos < end_of_fields) {
		const char *nl = memchr(p + pos, '\n', end_of_fields - pos);
		size_t n = nl != NULL ? (size_t)(nl - (p + pos)) + 1 :
			end_of_fields - pos;
		const char *line = p + pos;

		if (line[0] != ' ' && line[0] != '\t')
			skipping = n >= 26 && strncasecmp(
				line, "Content-Transfer-Encoding:", 26) == 0;
		if (!skipping)
			str_append_n(out, line, n);
		pos += n;
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		str_append_c(out, '\n');
	if (add_version)
		str_append(out, "MIME-Version: 1.0\n");
	str_append(out, "Content-Transfer-Encoding: quoted-printable\n");
	str_append_n(out, p + end_of_fields, len - end_of_fields);
	if (end_of_fields == len)
		str_append_c(out, '\n');	/* the header had no end */
}

void esmtp_client_to_7bit(const char *data, size_t size, struct str *out)
{
	struct mime_part *root = mime_parse_buffer(data, size, NULL);
	uint64_t pos = 0;

	for (struct mime_part *part = root; part != NULL;
	     part = mime_part_walk_next(part)) {
		struct qp_encoder enc;
		uint64_t hs = part->header_offset, bs = part->body_offset;
		uint64_t be = part->end_offset;

		if ((part->flags & (MIME_PART_FLAG_MULTIPART |
				    MIME_PART_FLAG_MESSAGE)) != 0)
			continue;
		if (part->encoding != NULL &&
		    (strcmp(part->encoding, "quoted-printable") == 0 ||
		     strcmp(part->encoding, "base64") == 0))
			continue;
		if (hs < pos || bs < hs || be < bs || be > size ||
		    !has_8bit(data + bs, (size_t)(be - bs)))
			continue;
		str_append_n(out, data + pos, (size_t)(hs - pos));
		rewrite_header(data + hs, (size_t)(bs - hs),
			       part == root && (part->flags &
				MIME_PART_FLAG_MIME_VERSION) == 0, out);
		qp_encoder_init(&enc, false);
		qp_encoder_feed(&enc, data + bs, (size_t)(be - bs), out);
		qp_encoder_finish(&enc, out);
		pos = be;
	}
	if (pos < size)
		str_append_n(out, data + pos, (size_t)(size - pos));
	mime_part_free(&root);
}
