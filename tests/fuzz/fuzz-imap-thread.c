/* fuzz-imap-thread.c: libFuzzer target for THREAD (REFERENCES and
 * ORDEREDSUBJECT): the input is up to 300 messages separated by NUL
 * bytes, each a few "Name: value" lines (Message-ID, References,
 * In-Reply-To, Subject, Date); every message must appear exactly once in
 * each algorithm's answer, whose parentheses must balance. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-sort.h"
#include "imap-thread.h"
#include "mem.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 300

static void check(const struct str *out, size_t count)
{
	const char *p = str_c(out);
	unsigned char *seen = xcalloc(count + 1, 1);
	long depth = 0;
	size_t numbers = 0;

	while (*p != '\0') {
		if (*p == '(') {
			depth++;
			p++;
		} else if (*p == ')') {
			if (--depth < 0)
				abort();
			p++;
		} else if (*p == ' ') {
			p++;
		} else if (*p >= '1' && *p <= '9') {
			unsigned long v = strtoul(p, (char **)&p, 10);

			if (v == 0 || v > count || seen[v])
				abort();
			seen[v] = 1;
			numbers++;
		} else {
			abort();
		}
	}
	if (depth != 0 || numbers != count)
		abort();
	free(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_sort_msg *msgs = xcalloc(MAX_MSGS, sizeof(*msgs));
	struct imap_sort_msg *ptrs[MAX_MSGS];
	size_t count = 0, pos = 0;

	while (pos < size && count < MAX_MSGS) {
		const uint8_t *nul = memchr(data + pos, 0, size - pos);
		size_t end = nul != NULL ? (size_t)(nul - data) : size;
		struct imap_sort_msg *m = &msgs[count];

		m->seq = m->uid = (uint32_t)count + 1;
		m->arrival = (int64_t)count * 60;
		/* "Name: value" lines */
		for (size_t l = pos; l < end;) {
			const uint8_t *nl = memchr(data + l, '\n', end - l);
			size_t le = nl != NULL ? (size_t)(nl - data) : end;
			const uint8_t *colon = memchr(data + l, ':', le - l);

			if (colon != NULL && colon > data + l) {
				char *name = xstrndup((const char *)data + l,
						      (size_t)(colon -
							       (data + l)));
				const char *v = (const char *)colon + 1;
				size_t vlen = le - (size_t)(colon + 1 - data);
				char *value = xstrndup(v, vlen);

				imap_sort_msg_field(m, name, value,
						    strlen(value));
				free(name);
				free(value);
			}
			l = le + 1;
		}
		imap_sort_msg_finish(m);
		ptrs[count] = m;
		count++;
		pos = end + 1;
	}
	for (int algo = 0; algo < 2 && count > 0; algo++) {
		struct str out;

		str_init(&out, 256);
		imap_thread(ptrs, count,
			    algo == 0 ? IMAP_THREAD_REFERENCES :
					IMAP_THREAD_ORDEREDSUBJECT,
			    false, &out);
		check(&out, count);
		str_free(&out);
	}
	for (size_t i = 0; i < count; i++)
		imap_sort_msg_free(&msgs[i]);
	free(msgs);
	return 0;
}
