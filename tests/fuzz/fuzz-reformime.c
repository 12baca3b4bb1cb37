/* fuzz-reformime.c: libFuzzer target for reformime's message rewriter
 * (-r, -r7, -r8, read back through a callback in small pieces) and its
 * delivery status reader (-d, -D), over the parse tree of the input. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "mime-parser.h"
#include "reformime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *data;
	size_t size, step;
};

/* Gives at most step bytes at a time, so the callers' loops are used. */
static size_t input_read(void *context, uint64_t off, void *buf, size_t len)
{
	struct input *in = context;

	if (off >= in->size)
		return 0;
	if (len > in->size - off)
		len = (size_t)(in->size - off);
	if (len > in->step)
		len = in->step;
	memcpy(buf, in->data + off, len);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_parser_settings set;
	struct mime_part *root;
	struct input in;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	if (size < 1)
		return 0;
	in.step = (data[0] % 17) + 1;
	in.data = data + 1;
	in.size = size - 1;
	memset(&set, 0, sizeof(set));
	set.require_mime_version = true;
	set.limits.max_depth = 20;
	set.limits.max_parts = 200;
	root = mime_parse_buffer(in.data, in.size, &set);
	out = open_memstream(&buf, &len);
	if (out == NULL)
		abort();
	for (int mode = REFORMIME_RW; mode <= REFORMIME_RW_8BIT; mode++) {
		struct reformime_rewrite rw;

		memset(&rw, 0, sizeof(rw));
		rw.mode = (enum reformime_rewrite_mode)mode;
		rw.charset = "utf-8";
		rw.boundary_prefix = "=_fuzz-1-2-0001";
		rw.agent = "reformime (fuzz)";
		rw.read = input_read;
		rw.context = &in;
		rw.size = in.size;
		rw.out = out;
		if (mode == REFORMIME_RW)
			(void)reformime_boundary_clash(root, &rw, "=_Fuzz");
		reformime_rewrite(root, &rw);
	}
	if (reformime_dsn(root, input_read, &in, false, out) == 0 &&
	    reformime_dsn(root, input_read, &in, true, out) != 0)
		abort();	/* the same message, the same verdict */
	fclose(out);
	free(buf);
	mime_part_free(&root);
	return 0;
}
