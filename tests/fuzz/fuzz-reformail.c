/* fuzz-reformail.c: libFuzzer target for reformail's header engine: the
 * header block split by lib's parser, every edit (-a -A -i -I -R -u -U
 * -f0 -f1), unfolding, value extraction and the From_ line address, on
 * option arguments and headers taken from the input. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "str.h"
#include "reformail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPTS 16

static void push(const char ***vec, size_t *n, const char *arg)
{
	*vec = xreallocarray(*vec, *n + 2, sizeof(char *));
	(*vec)[(*n)++] = arg;
	(*vec)[*n] = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reformail_opts o;
	struct reformail_fields fields = { 0 };
	char *opts[MAX_OPTS];
	size_t n_opts = 0, pos = 1, n_ren = 0;
	unsigned int flags;
	char *sender, *addr;

	if (size < 1)
		return 0;
	flags = data[0];
	/* option arguments: NUL-terminated strings, ended by an empty one */
	while (pos < size && n_opts < MAX_OPTS) {
		const uint8_t *nul = memchr(data + pos, '\0', size - pos);
		size_t len = nul != NULL ? (size_t)(nul - (data + pos)) :
			size - pos;

		if (len == 0) {
			pos++;
			break;
		}
		opts[n_opts++] = xstrndup((const char *)data + pos, len);
		pos += len + 1;
	}
	if (pos > size)
		pos = size;

	memset(&o, 0, sizeof(o));
	o.from_mode = (flags & 3) == 3 ? -1 : (int)(flags & 1);
	o.concat = (flags & 4) != 0;
	for (size_t i = 0; i < n_opts; i++) {
		switch ((i + (flags >> 4)) % 8) {
		case 0: push(&o.add_missing, &o.n_add_missing, opts[i]); break;
		case 1: push(&o.add_always, &o.n_add_always, opts[i]); break;
		case 2: push(&o.add_rename, &o.n_add_rename, opts[i]); break;
		case 3: push(&o.add_replace, &o.n_add_replace, opts[i]); break;
		case 4: push(&o.uniq_first, &o.n_uniq_first, opts[i]); break;
		case 5: push(&o.uniq_last, &o.n_uniq_last, opts[i]); break;
		case 6:
			push(&o.rename_old, &n_ren, opts[i]);
			push(&o.rename_new, &o.n_rename, opts[i]);
			break;
		default:
			push(&o.extract, &o.n_extract, opts[i]);
			break;
		}
	}

	reformail_split_header((const char *)data + pos, size - pos, &fields);
	sender = reformail_sender(&fields);
	addr = n_opts > 0 && strlen(opts[0]) >= 5 ?
		reformail_from_line_addr(opts[0]) : NULL;
	reformail_edit(&o, &fields, addr, "fuzz.example");
	for (size_t i = 0; i < fields.count; i++) {
		struct str s;

		str_init(&s, 64);
		reformail_unfold(&s, fields.v[i].text);
		reformail_value(&s, &fields.v[i]);
		str_free(&s);
	}
	reformail_fields_free(&fields);
	free(sender);
	free(addr);
	for (size_t i = 0; i < n_opts; i++)
		free(opts[i]);
	free((void *)o.add_missing);
	free((void *)o.add_always);
	free((void *)o.add_rename);
	free((void *)o.add_replace);
	free((void *)o.uniq_first);
	free((void *)o.uniq_last);
	free((void *)o.rename_old);
	free((void *)o.rename_new);
	free((void *)o.extract);
	return 0;
}
