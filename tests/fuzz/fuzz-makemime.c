/* fuzz-makemime.c: libFuzzer target for makemime's option-file reader fed
 * in two pieces, the option list parser (with "(" ... ")" nesting) over
 * what it read, the encoding detection and the -N parameter writer. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "str.h"
#include "makemime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_spec(char *const *args, size_t count, bool in_child,
		       unsigned int depth)
{
	struct makemime_spec spec;

	if (makemime_spec_parse(args, count, in_child, &spec) < 0)
		return;
	for (size_t i = 0; i < 2; i++) {
		if (spec.in[i].path == NULL && spec.in[i].child != NULL &&
		    depth < 4)
			parse_spec(spec.in[i].child, spec.in[i].child_count,
				   true, depth + 1);
	}
	if (spec.name != NULL) {
		struct str s;

		str_init(&s, 64);
		makemime_param_append(&s, "name", spec.name,
				      spec.charset != NULL ? spec.charset :
				      "utf-8");
		str_free(&s);
	}
	makemime_spec_free(&spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct makemime_args args = { 0 };
	struct makemime_optfile of;
	struct makemime_detect d;
	size_t split, used;
	int ret;

	if (size < 1)
		return 0;
	split = data[0] < size ? data[0] : size - 1;
	data++;
	size--;
	makemime_optfile_init(&of, &args);
	ret = makemime_optfile_feed(&of, data, split, &used);
	if (ret == 0)
		ret = makemime_optfile_feed(&of, data + split, size - split,
					    &used);
	if (ret >= 0)
		(void)makemime_optfile_finish(&of);
	makemime_optfile_deinit(&of);
	parse_spec(args.v, args.count, false, 0);
	makemime_args_free(&args);

	memset(&d, 0, sizeof(d));
	makemime_detect_feed(&d, data, size);
	(void)makemime_detect_result(&d);
	return 0;
}
