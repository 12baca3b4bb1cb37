/* fuzz-imap-message.c: libFuzzer target for the FETCH formatting of a
 * message: LF to CRLF conversion, ENVELOPE, BODY and BODYSTRUCTURE, and
 * BODY[section]/BINARY[section] extraction.  The input is a section
 * spec, a NUL, then the message.  Checks that the output is balanced,
 * that sections never hold bytes from outside the message, and that the
 * header alone gives the ENVELOPE, header fields and BODY[HEADER] of
 * the full parse. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "imap-header-cache.h"
#include "imap-message.h"
#include "str.h"

/* Parentheses balance outside quoted strings and literals. */
static void check_balanced(const struct str *s)
{
	const char *p = str_c(s);
	size_t len = str_len(s), i = 0;
	long depth = 0;

	while (i < len) {
		if (p[i] == '"') {
			for (i++; i < len && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			if (i >= len)
				abort();
		} else if (p[i] == '{') {
			size_t n = 0;
			for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++)
				n = n * 10 + (size_t)(p[i] - '0');
			if (i + 2 >= len || p[i] != '}')
				abort();
			i += 2 + n;
		} else if (p[i] == '(') {
			depth++;
		} else if (p[i] == ')') {
			if (--depth < 0)
				abort();
		}
		i++;
	}
	if (depth != 0)
		abort();
}

/* The header alone (fed in two chunks split where the section spec's
 * length says) gives the full parse's ENVELOPE and header cache value. */
static void check_header_only(const uint8_t *raw, size_t rawlen,
			      const struct str *msg, const struct str *env)
{
	struct imap_message_header *h = imap_message_header_create();
	size_t split = rawlen > 0 ? (size_t)raw[0] % (rawlen + 1) : 0;
	size_t len, full_len;
	struct str got;

	if (imap_message_header_feed(h, raw, split) == 0)
		(void)imap_message_header_feed(h, raw + split,
					       rawlen - split);
	str_init(&got, 256);
	char *hdrs = imap_message_header_finish(h, &got, &len);
	char *full = imap_header_cache_from_message(str_c(msg), str_len(msg),
						    &full_len);
	if (str_len(&got) != str_len(env) ||
	    memcmp(str_c(&got), str_c(env), str_len(env)) != 0 ||
	    len != full_len || memcmp(hdrs, full, len) != 0)
		abort();
	free(full);
	free(hdrs);
	str_free(&got);
	imap_message_header_destroy(&h);
}

/* imap_message_read_header() of the message in a file is a prefix of
 * its CRLF form whose parse gives the same BODY[HEADER]. */
static void check_read_header(const uint8_t *raw, size_t rawlen,
			      const struct imap_message *whole)
{
	static const struct imap_section sec = {
		.part = (char *)"",
		.text = IMAP_SECTION_HEADER,
	};
	int fd = memfd_create("fuzz-imap-message", MFD_CLOEXEC);
	struct str hdr, a, b;
	const char *error;

	if (fd < 0)
		return;
	if (write(fd, raw, rawlen) != (ssize_t)rawlen) {
		close(fd);
		return;
	}
	str_init(&hdr, 256);
	if (imap_message_read_header(fd, &hdr, &error) != 1 ||
	    str_len(&hdr) > whole->size ||
	    memcmp(str_c(&hdr), whole->data, str_len(&hdr)) != 0)
		abort();
	struct imap_message *m = imap_message_parse(str_c(&hdr),
						    str_len(&hdr));
	str_init(&a, 256);
	str_init(&b, 256);
	(void)imap_message_section(whole, &sec, &a);
	(void)imap_message_section(m, &sec, &b);
	if (str_len(&a) != str_len(&b) ||
	    memcmp(str_c(&a), str_c(&b), str_len(&a)) != 0)
		abort();
	str_free(&a);
	str_free(&b);
	imap_message_free(&m);
	str_free(&hdr);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t speclen = nul != NULL ? (size_t)(nul - data) : 0;
	const uint8_t *body = nul != NULL ? nul + 1 : data;
	size_t bodylen = size - (size_t)(body - data);
	struct str msg, out;
	bool cr = false;

	str_init(&msg, bodylen + 16);
	if (imap_crlf_append(&msg, body, bodylen, &cr) < 0)
		abort();
	struct imap_message *m = imap_message_parse(str_c(&msg),
						    str_len(&msg));
	str_init(&out, 256);
	imap_message_bodystructure(m, NULL, true, &out);
	check_balanced(&out);
	str_clear(&out);
	imap_message_bodystructure(m, NULL, false, &out);
	check_balanced(&out);
	str_clear(&out);
	imap_message_envelope(m, NULL, &out);
	check_balanced(&out);
	check_header_only(body, bodylen, &msg, &out);
	check_read_header(body, bodylen, m);

	struct imap_section sec;
	const char *error;
	for (int binary = 0; binary < 2; binary++) {
		if (imap_section_parse((const char *)data, speclen,
				       binary != 0, &sec, &error) == 0) {
			str_clear(&out);
			imap_section_write(&sec, &out);
			str_clear(&out);
			if (binary)
				(void)imap_message_binary(m, &sec, &out);
			else if (imap_message_section(m, &sec, &out) > 0 &&
				 sec.field_count == 0 &&
				 str_len(&out) > str_len(&msg))
				abort();
		}
		imap_section_free(&sec);
	}
	str_free(&out);
	imap_message_free(&m);
	str_free(&msg);
	return 0;
}
