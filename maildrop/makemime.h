/* makemime.h: makemime's option handling (Courier's makemime(1)): the
 * option-file reader behind "@file", "@&n" and "@-", and the parser of an
 * option list into what to build.
 *
 * An option file holds one option or argument per line: leading blanks
 * (spaces, tabs) are removed, empty lines and lines starting with "#" are
 * skipped, the rest of the line is kept as it is (trailing blanks and a CR
 * too, as Debian's makemime does), and a line "-" ends the options (what
 * follows stays unread, so a pipe can carry the options and then a file).
 * The reader is fed any number of bytes at a time, bounds the line length
 * and the number of arguments, and reports where it stopped. */
#ifndef MAKEMIME_H
#define MAKEMIME_H

#include <stddef.h>
#include <stdbool.h>
#include "str.h"

/* Limits of an option file (Debian's has none; these are far beyond any
 * real use). */
#define MAKEMIME_MAX_ARG_LEN (64 * 1024)
#define MAKEMIME_MAX_ARGS 100000
/* Deepest nesting of "(" ... ")" child processes. */
#define MAKEMIME_MAX_DEPTH 64

/* A growable list of strings, owned by the list. */
struct makemime_args {
	char **v;
	size_t count, alloc;
};
void makemime_args_add(struct makemime_args *args, const char *s,
		       size_t len);
void makemime_args_free(struct makemime_args *args);

struct makemime_optfile {
	struct makemime_args *args;	/* where lines go (not owned) */
	struct str line;
	bool done;	/* the "-" line was seen */
	bool error;	/* a limit was reached */
};
/* Starts reading an option file into args. */
void makemime_optfile_init(struct makemime_optfile *of,
			   struct makemime_args *args);
/* Feeds len bytes.  Returns 1 when the "-" line ended the options (then
 * *used_r is the number of bytes of data up to and including that line's
 * LF; the rest was not looked at), 0 when more input is welcome (*used_r =
 * len), -1 when a line is longer than MAKEMIME_MAX_ARG_LEN or there are
 * more than MAKEMIME_MAX_ARGS arguments. */
int makemime_optfile_feed(struct makemime_optfile *of, const void *data,
			  size_t len, size_t *used_r);
/* End of the file: takes a last line without LF.  Returns 0 or -1 (a
 * limit, as above). */
int makemime_optfile_finish(struct makemime_optfile *of);
void makemime_optfile_deinit(struct makemime_optfile *of);

/* Where a section's content comes from: a file name ("-" = standard
 * input, "&n" = file descriptor n), or the output of a child makemime
 * run with the arguments between "(" and ")". */
struct makemime_input {
	const char *path;	/* NULL for a child */
	char **child;		/* the child's arguments (pointers into the
				   parsed list) */
	size_t child_count;
};

struct makemime_spec {
	char mode;		/* 'c', 'm' or 'j' */
	const char *type;	/* -c / -m argument ("multipart/mixed" for a
				   bare -m) */
	const char *encoding;	/* -e, lowercased canonical name, or NULL */
	const char *output;	/* -o, or NULL */
	const char *charset;	/* -C */
	const char *name;	/* -N */
	const char **headers;	/* -a, in order */
	size_t header_count;
	struct makemime_input in[2];	/* in[1] only for -j */
};

/* Parses an option list as Debian's makemime does: the first argument is
 * -c type, -m [type] or -j file1 (a value may be attached: "-ctext/plain";
 * -m takes the next argument as its type unless it starts with "-"), then
 * options (-e, -o, -a, -C, -N; the last of each wins, -a adds), then the
 * one input file (two for -j counting file1).  An input may be "(" ...
 * ")" (nested to MAKEMIME_MAX_DEPTH).  -o is refused when in_child.
 * Returns 0, or -1 when makemime prints its usage.  spec points into
 * args, which must outlive it; free it with makemime_spec_free(). */
int makemime_spec_parse(char *const *args, size_t count, bool in_child,
			struct makemime_spec *spec_r);
void makemime_spec_free(struct makemime_spec *spec);

/* The encoding Debian's makemime picks for content it is not told about:
 * base64 if there is a NUL byte; else, when a line would be longer than
 * 990 columns (a control byte other than tab, CR and LF, or a byte above
 * 127, counting 3), base64 if more than a tenth of all bytes are such
 * bytes, else quoted-printable; else 8bit if there is any such byte;
 * else 7bit. */
struct makemime_detect {
	unsigned long long total, bad;
	size_t col;
	bool nul, longline;
};
void makemime_detect_feed(struct makemime_detect *d, const void *data,
			  size_t len);
/* "7bit", "8bit", "quoted-printable" or "base64". */
const char *makemime_detect_result(const struct makemime_detect *d);

/* Appends to dest the Content-Type parameter name=value as Debian's
 * makemime writes -N: name="value" when the value has at most 70 bytes,
 * none of them a control, space, 8-bit byte or one of "'();:=\%, else
 * RFC 2231 pieces "name*0*=charset''..." (percent-encoded, about 64
 * columns each) separated by ";\n  ". */
void makemime_param_append(struct str *dest, const char *name,
			   const char *value, const char *charset);

#endif
