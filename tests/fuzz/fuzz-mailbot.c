/* fuzz-mailbot.c: libFuzzer target for mailbot's command-line parser
 * (the input split at NUL bytes into arguments), its salutation template
 * with %{fmt}d (first argument as template, second as the Date:), the
 * header view, References: and subject cleaning over the whole input,
 * and the original's text: found in the MIME tree, decoded, converted
 * and re-flowed (flags from the first byte); the -m file and draft
 * splitter and checker. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "str.h"
#include "mailbot.h"
#include "mime-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = xmalloc(size + 1), *argv[MAX_ARGS + 2];
	int argc = 0;
	struct mailbot_opts o;
	struct mailbot_header h;
	struct mailbot_sal_vars v;
	const char *err;
	struct str out;

	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = (char *)"mailbot";
	for (char *p = copy; argc <= MAX_ARGS && p <= copy + size;
	     p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	if (mailbot_args_parse(argc, argv, &o, &err) == 0)
		mailbot_opts_free(&o);

	str_init(&out, 256);
	memset(&v, 0, sizeof(v));
	v.date = argc > 2 ? argv[2] : "Sat, 21 Nov 2026 10:00:00 +0000";
	v.name = "Ann";
	v.addr = "ann@example.com";
	v.subject = argc > 3 ? argv[3] : NULL;
	mailbot_salutation(&out, argv[1], &v);

	mailbot_header_parse(&h, (const char *)data, size);
	for (size_t i = 0; i < h.count; i++) {
		str_clear(&out);
		mailbot_references(&out, h.fields[i].value, argv[1]);
		str_clear(&out);
		mailbot_core_subject(&out, h.fields[i].value);
	}
	str_clear(&out);
	mailbot_headers_part(&out, &h);
	{
		struct mime_parser_settings ms = { .require_mime_version = true };
		struct mime_part *root = mime_parse_buffer(data, size, &ms);
		const struct mime_part *t = mailbot_text_find(root);
		static const char *const charsets[] = {
			"UTF-8", "US-ASCII", "ISO-8859-1", "KOI8-R",
		};
		unsigned int flags = size > 0 ? data[0] : 0;
		struct str text;

		str_init(&text, 256);
		if (t != NULL)
			mailbot_text_decode(&text, (const char *)data, size, t,
					    charsets[flags & 3], 64 * 1024);
		str_clear(&out);
		mailbot_text_reflow(&out, str_c(&text), str_len(&text),
				    (flags & 4) != 0, (flags & 8) != 0,
				    (flags >> 4) & 1);
		str_clear(&out);
		mailbot_text_reflow(&out, (const char *)data, size,
				    (flags & 4) != 0, (flags & 8) != 0,
				    (flags >> 4) & 1);
		str_clear(&text);
		str_clear(&out);
		(void)mailbot_mime_file_check((const char *)data, size);
		mailbot_mime_file_split((const char *)data, size, &out, &text,
					(flags & 32) != 0 ? MAILBOT_KEEP_CONTENT :
					MAILBOT_KEEP_NOT_CTE);
		str_free(&text);
		mime_part_free(&root);
	}
	mailbot_header_free(&h);
	str_free(&out);
	free(copy);
	return 0;
}
