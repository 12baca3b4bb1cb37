/* pop3-stuff.c: CRLF conversion, dot-stuffing and TOP cutting for POP3
 * multi-line responses, streaming. */
#include "config.h"

#include <string.h>

#include "pop3-stuff.h"

void pop3_stuffer_init(struct pop3_stuffer *st, bool top, uint64_t n)
{
	memset(st, 0, sizeof(*st));
	st->at_line_start = true;
	st->line_empty = true;
	st->in_header = true;
	st->limit = top;
	st->body_lines_left = n;
	/* TOP 0 of a message whose header is all there is: done when the
	 * header ends (or the message does). */
}

/* A line just ended (its LF was written).  Returns true when TOP has sent
 * everything. */
static bool line_ended(struct pop3_stuffer *st)
{
	bool was_empty = st->line_empty;

	st->at_line_start = true;
	st->line_empty = true;
	if (!st->limit)
		return false;
	if (st->in_header) {
		if (was_empty) {
			st->in_header = false;
			if (st->body_lines_left == 0)
				return true;
		}
		return false;
	}
	st->body_lines_left--;
	return st->body_lines_left == 0;
}

size_t pop3_stuff(struct pop3_stuffer *st, const char *data, size_t len,
		  struct str *out)
{
	size_t i = 0, start = 0;

	if (st->done)
		return 0;
	if (st->limit && !st->in_header && st->body_lines_left == 0) {
		st->done = true;
		return 0;
	}
	while (i < len) {
		char c = data[i];

		if (st->at_line_start && c == '.') {
			str_append_n(out, data + start, i - start);
			str_append_c(out, '.');
			start = i;
		}
		st->at_line_start = false;
		if (c == '\n') {
			if (!st->prev_cr) {
				str_append_n(out, data + start, i - start);
				str_append_c(out, '\r');
				start = i;
			}
			st->prev_cr = false;
			i++;
			if (line_ended(st)) {
				str_append_n(out, data + start, i - start);
				st->done = true;
				return i;
			}
			continue;
		}
		/* A CR is part of the line ending only if LF follows; until
		 * then the line counts as empty if the CR is all it has. */
		if (c != '\r' || st->prev_cr)
			st->line_empty = false;
		st->prev_cr = c == '\r';
		i++;
	}
	str_append_n(out, data + start, i - start);
	return i;
}

void pop3_stuff_finish(struct pop3_stuffer *st, struct str *out)
{
	if (!st->at_line_start) {
		/* A lone CR at the very end becomes the CR of a CRLF. */
		str_append(out, st->prev_cr ? "\n" : "\r\n");
	}
	str_append(out, ".\r\n");
	st->at_line_start = true;
	st->prev_cr = false;
	st->done = true;
}

uint64_t pop3_crlf_size(const char *data, size_t len, bool *prev_cr)
{
	uint64_t size = len;
	bool cr = *prev_cr;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && !cr)
			size++;
		cr = data[i] == '\r';
	}
	*prev_cr = cr;
	return size;
}
