/* makemime.c: builds MIME sections and multipart collections (Courier's
 * makemime(1)), byte for byte as Debian's makemime does. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mem.h"
#include "str.h"
#include "mime-decode.h"
#include "makemime.h"

#define CHUNK (64 * 1024)

static const char usage_text[] =
"Usage:\n"
"  makemime -c type [-o file] [-e encoding] [-C charset] [-N name] \\\n"
"                   [-a \"Header: Contents\"] file\n"
"           -m [ type ] [-o file] [-e encoding] [-a \"Header: Contents\"] file\n"
"           -j [-o file] file1 file2\n"
"           @file\n"
"\n"
"   file:  filename    - read or write from filename\n"
"          -           - read or write from stdin or stdout\n"
"          &n          - read or write from file descriptor n\n"
"          \\( opts \\)  - read from child process, that generates [ opts ]\n"
"\n"
"Options:\n"
"\n"
"  -c type         - create a new MIME section from \"file\" with this\n"
"                    Content-Type: (default is application/octet-stream).\n"
"  -C charset      - MIME charset of a new text/plain section.\n"
"  -N name         - MIME content name of the new mime section.\n"
"  -m [ type ]     - create a multipart mime section from \"file\" of this\n"
"                    Content-Type: (default is multipart/mixed).\n"
"  -e encoding     - use the given encoding (7bit, 8bit, quoted-printable,\n"
"                    or base64), instead of guessing.  Omit \"-e\" and use\n"
"                    -c auto to set Content-Type: to text/plain or\n"
"                    application/octet-stream based on picked encoding.\n"
"  -j file1 file2  - join mime section file2 to multipart section file1.\n"
"  -o file         - write ther result to file, instead of stdout (not\n"
"                    allowed in child processes).\n"
"  -a header       - prepend an additional header to the output.\n"
"\n"
"  @file - read all of the above options from file, one option or\n"
"          value on each line.\n";

static const char preamble[] =
	"This is a MIME-formatted message.  If you see this text it means "
	"that your\nE-mail software does not support MIME-formatted "
	"messages.\n\n";

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(0);
}

static void write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("write");
			exit(1);
		}
		p += n;
		size -= (size_t)n;
	}
}

/* Output buffered in a str, written out past CHUNK bytes. */
struct out {
	int fd;
	struct str buf;
};

static void out_flush(struct out *o)
{
	write_all(o->fd, str_c(&o->buf), str_len(&o->buf));
	str_clear(&o->buf);
}

static void out_maybe_flush(struct out *o)
{
	if (str_len(&o->buf) >= CHUNK)
		out_flush(o);
}

static void out_str(struct out *o, const char *s)
{
	str_append(&o->buf, s);
	out_maybe_flush(o);
}

/* "&n" names file descriptor n; returns it or -1. */
static int fd_name(const char *name)
{
	char *end;
	long n;

	if (name[0] != '&' || name[1] < '0' || name[1] > '9')
		return -1;
	n = strtol(name + 1, &end, 10);
	if (*end != '\0' || n < 0 || n > 65535)
		return -1;
	return (int)n;
}

static int run(char *const *args, size_t count, bool in_child);

struct input {
	int fd;
	off_t start;
	pid_t child;
};

static void open_input(const struct makemime_input *in, struct input *r)
{
	int fds[2];

	r->child = -1;
	r->start = 0;
	if (in->path != NULL) {
		int n = fd_name(in->path);

		if (strcmp(in->path, "-") == 0)
			r->fd = STDIN_FILENO;
		else if (n >= 0)
			r->fd = n;
		else if ((r->fd = open(in->path, O_RDONLY)) < 0) {
			perror(in->path);
			exit(1);
		}
		return;
	}
	if (pipe(fds) < 0) {
		perror("pipe");
		exit(1);
	}
	fflush(NULL);
	r->child = fork();
	if (r->child < 0) {
		perror("fork");
		exit(1);
	}
	if (r->child == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(1);
		close(fds[1]);
		exit(run(in->child, in->child_count, true));
	}
	close(fds[1]);
	r->fd = fds[0];
}

static size_t read_some(int fd, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("read");
			exit(1);
		}
		return (size_t)n;
	}
}

static size_t pread_some(int fd, void *buf, size_t len, off_t off)
{
	for (;;) {
		ssize_t n = pread(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("read");
			exit(1);
		}
		return (size_t)n;
	}
}

/* Makes the input readable twice: a regular file is read from where it
 * stands, anything else is copied to an unlinked temporary file. */
static void spool(struct input *in)
{
	struct stat st;
	char tmpl[] = "/tmp/makemime.XXXXXX";
	char *buf;
	int tmp;

	if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (in->start = lseek(in->fd, 0, SEEK_CUR)) >= 0)
		return;
	tmp = mkstemp(tmpl);
	if (tmp < 0) {
		perror(tmpl);
		exit(1);
	}
	unlink(tmpl);
	buf = xmalloc(CHUNK);
	for (;;) {
		size_t n = read_some(in->fd, buf, CHUNK);

		if (n == 0)
			break;
		write_all(tmp, buf, n);
	}
	free(buf);
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	in->fd = tmp;
	in->start = 0;
}

static void close_input(struct input *in)
{
	int status;

	if (in->fd > STDERR_FILENO)
		close(in->fd);
	if (in->child > 0) {
		while (waitpid(in->child, &status, 0) < 0 && errno == EINTR)
			;
	}
}

/* Calls fn on every chunk of a spooled input. */
static void scan(struct input *in,
		 void (*fn)(const char *data, size_t len, void *ctx),
		 void *ctx)
{
	char *buf = xmalloc(CHUNK);
	off_t off = in->start;

	for (;;) {
		size_t n = pread_some(in->fd, buf, CHUNK, off);

		if (n == 0)
			break;
		fn(buf, n, ctx);
		off += (off_t)n;
	}
	free(buf);
}

/* ---- -c ---- */

struct encode_ctx {
	struct out *out;
	const char *encoding;
	struct qp_encoder qp;
	struct mime_base64_encoder b64;
};

static void encode_chunk(const char *data, size_t len, void *context)
{
	struct encode_ctx *ctx = context;

	if (strcmp(ctx->encoding, "quoted-printable") == 0)
		qp_encoder_feed(&ctx->qp, data, len, &ctx->out->buf);
	else if (strcmp(ctx->encoding, "base64") == 0)
		mime_base64_encoder_feed(&ctx->b64, data, len, &ctx->out->buf);
	else
		str_append_n(&ctx->out->buf, data, len);
	out_maybe_flush(ctx->out);
}

static void encode_finish(struct encode_ctx *ctx)
{
	if (strcmp(ctx->encoding, "quoted-printable") == 0)
		qp_encoder_finish(&ctx->qp, &ctx->out->buf);
	else if (strcmp(ctx->encoding, "base64") == 0)
		mime_base64_encoder_finish(&ctx->b64, &ctx->out->buf);
}

static void detect_chunk(const char *data, size_t len, void *ctx)
{
	makemime_detect_feed(ctx, data, len);
}

static void copy_fd(struct input *in, void (*fn)(const char *, size_t,
						  void *), void *ctx)
{
	char *buf = xmalloc(CHUNK);

	for (;;) {
		size_t n = read_some(in->fd, buf, CHUNK);

		if (n == 0)
			break;
		fn(buf, n, ctx);
	}
	free(buf);
}

static void write_headers(const struct makemime_spec *spec, struct out *o)
{
	for (size_t i = 0; i < spec->header_count; i++) {
		out_str(o, spec->headers[i]);
		out_str(o, "\n");
	}
}

static void make_section(const struct makemime_spec *spec, struct out *o,
			 struct input *in)
{
	struct encode_ctx ctx;
	const char *type = spec->type;
	bool spooled = false;

	memset(&ctx, 0, sizeof(ctx));
	ctx.out = o;
	ctx.encoding = spec->encoding;
	if (ctx.encoding == NULL) {
		struct makemime_detect d;

		memset(&d, 0, sizeof(d));
		spool(in);
		spooled = true;
		scan(in, detect_chunk, &d);
		ctx.encoding = makemime_detect_result(&d);
		if (strcmp(type, "auto") == 0)
			type = d.nul ? "application/octet-stream" :
				"text/plain";
	}
	write_headers(spec, o);
	str_printfa(&o->buf, "Content-Type: %s", type);
	if (spec->charset != NULL)
		str_printfa(&o->buf, "; charset=\"%s\"", spec->charset);
	if (spec->name != NULL) {
		str_append(&o->buf, ";\n  ");
		makemime_param_append(&o->buf, "name", spec->name,
				      spec->charset != NULL ? spec->charset :
				      "utf-8");
	}
	str_printfa(&o->buf, "\nContent-Transfer-Encoding: %s\n\n",
		    ctx.encoding);
	qp_encoder_init_flags(&ctx.qp, QP_ENCODER_MAKEMIME | QP_ENCODER_LF);
	mime_base64_encoder_init(&ctx.b64, true);
	if (spooled)
		scan(in, encode_chunk, &ctx);
	else
		copy_fd(in, encode_chunk, &ctx);
	encode_finish(&ctx);
}

/* ---- boundaries ---- */

struct find_ctx {
	const char *needle;
	size_t len;
	struct str tail;	/* the last len-1 bytes seen */
	bool found;
};

static void find_chunk(const char *data, size_t len, void *context)
{
	struct find_ctx *f = context;

	if (f->found)
		return;
	str_append_n(&f->tail, data, len);
	if (memmem(str_c(&f->tail), str_len(&f->tail), f->needle,
		   f->len) != NULL)
		f->found = true;
	if (str_len(&f->tail) >= f->len)
		str_delete_head(&f->tail, str_len(&f->tail) - (f->len - 1));
}

static bool input_contains(struct input *in, const char *needle)
{
	struct find_ctx f;

	memset(&f, 0, sizeof(f));
	f.needle = needle;
	f.len = strlen(needle);
	str_init(&f.tail, f.len * 2 + 1);
	scan(in, find_chunk, &f);
	str_free(&f.tail);
	return f.found;
}

/* "=_N_time_pid" with the smallest N that none of the inputs holds. */
static char *make_boundary(struct input *a, struct input *b)
{
	time_t now = time(NULL);

	for (unsigned int n = 1;; n++) {
		char *s = xasprintf("=_%u_%lld_%ld", n, (long long)now,
				    (long)getpid());

		if (!input_contains(a, s) && (b == NULL ||
					      !input_contains(b, s)))
			return s;
		free(s);
	}
}

static void copy_spooled(const char *data, size_t len, void *context)
{
	struct out *o = context;

	str_append_n(&o->buf, data, len);
	out_maybe_flush(o);
}

static void make_multipart(const struct makemime_spec *spec, struct out *o,
			   struct input *in)
{
	char *b;

	spool(in);
	b = make_boundary(in, NULL);
	write_headers(spec, o);
	str_printfa(&o->buf, "Content-Type: %s; boundary=\"%s\"\n"
		    "Content-Transfer-Encoding: %s\n\n%s--%s\n", spec->type, b,
		    spec->encoding != NULL ? spec->encoding : "8bit",
		    preamble, b);
	scan(in, copy_spooled, o);
	str_printfa(&o->buf, "\n--%s--\n", b);
	free(b);
}

/* ---- -j ---- */

/* Reads file1 line by line from a spooled input. */
struct line_reader {
	struct input *in;
	off_t off;
	char *buf;
	size_t pos, len;
	bool eof;
};

/* Next line into line (with its LF, if any); false at the end. */
static bool next_line(struct line_reader *r, struct str *line)
{
	str_clear(line);
	for (;;) {
		if (r->pos == r->len) {
			if (r->eof)
				return str_len(line) > 0;
			r->len = pread_some(r->in->fd, r->buf, CHUNK, r->off);
			r->off += (off_t)r->len;
			r->pos = 0;
			if (r->len == 0) {
				r->eof = true;
				return str_len(line) > 0;
			}
		}
		const char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		size_t n = nl != NULL ? (size_t)(nl - (r->buf + r->pos)) + 1 :
			r->len - r->pos;

		str_append_n(line, r->buf + r->pos, n);
		r->pos += n;
		if (nl != NULL)
			return true;
	}
}

/* Debian's -j reads file1 its own way, and the differential test holds
 * us to it:
 * - a header field is its first line and the lines after it that start
 *   with a space, tab, CR, VT or FF; a field with such a line made of
 *   blanks only (a CRLF "empty" line) is the last of the header; a line
 *   "\n" ends the header too;
 * - every field whose name is "Content-Type" (any case, colon right
 *   after) is written as "Content-Type:", its text up to the first ";"
 *   (or up to and including the end of its first line), then
 *   '; boundary="new"' (the other parameters and continuation lines go);
 * - the old boundary is whatever follows "--" on the first body line that
 *   starts with "--" (a CR before the LF removed); from there on a line
 *   "--old--" ends the collection (the epilogue goes), and any other line
 *   starting with "--old" becomes "--new". */
static bool is_cont_char(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_blank_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!is_cont_char(s[i]) && s[i] != '\n')
			return false;
	}
	return true;
}

static void join_field(struct out *o, const struct str *field,
		       const char *newb)
{
	const char *f = str_c(field);
	size_t len = str_len(field), n;

	if (len < 13 || strncasecmp(f, "content-type:", 13) != 0) {
		str_append_n(&o->buf, f, len);
		return;
	}
	for (n = 13; n < len && f[n] != ';' && f[n] != '\n'; n++)
		;
	if (n < len && f[n] == '\n')
		n++;
	str_append(&o->buf, "Content-Type:");
	str_append_n(&o->buf, f + 13, n - 13);
	str_printfa(&o->buf, "; boundary=\"%s\"\n", newb);
}

/* The line without its LF and a CR before it. */
static size_t line_content_len(const struct str *line)
{
	size_t n = str_len(line);
	const char *s = str_c(line);

	if (n > 0 && s[n - 1] == '\n') {
		n--;
		if (n > 0 && s[n - 1] == '\r')
			n--;
	}
	return n;
}

static void make_join(const struct makemime_spec *spec, struct out *o,
		      struct input *in1, struct input *in2)
{
	struct line_reader r;
	struct str line, field;
	char *b, *oldb = NULL;
	bool more, header_end = false;

	(void)spec;
	spool(in1);
	spool(in2);
	b = make_boundary(in1, in2);
	memset(&r, 0, sizeof(r));
	r.in = in1;
	r.off = in1->start;
	r.buf = xmalloc(CHUNK);
	str_init(&line, 256);
	str_init(&field, 256);

	/* the header */
	more = next_line(&r, &line);
	while (more && !header_end && strcmp(str_c(&line), "\n") != 0) {
		str_clear(&field);
		str_append_n(&field, str_c(&line), str_len(&line));
		while ((more = next_line(&r, &line)) &&
		       is_cont_char(str_c(&line)[0])) {
			str_append_n(&field, str_c(&line), str_len(&line));
			if (is_blank_text(str_c(&line), str_len(&line))) {
				header_end = true;
				more = next_line(&r, &line);
				break;
			}
		}
		join_field(o, &field, b);
		out_maybe_flush(o);
	}
	/* the body */
	for (; more; more = next_line(&r, &line)) {
		const char *s = str_c(&line);
		size_t len = line_content_len(&line);

		if (len >= 2 && s[0] == '-' && s[1] == '-') {
			if (oldb == NULL)
				oldb = xstrndup(s + 2, len - 2);
			size_t bl = strlen(oldb);

			if (len >= 2 + bl && memcmp(s + 2, oldb, bl) == 0) {
				if (len == 4 + bl && s[2 + bl] == '-' &&
				    s[3 + bl] == '-')
					break;
				str_printfa(&o->buf, "--%s\n", b);
				out_maybe_flush(o);
				continue;
			}
		}
		str_append_n(&o->buf, s, str_len(&line));
		out_maybe_flush(o);
	}
	str_printfa(&o->buf, "--%s\n", b);
	scan(in2, copy_spooled, o);
	str_printfa(&o->buf, "\n--%s--\n", b);
	free(oldb);
	free(b);
	free(r.buf);
	str_free(&line);
	str_free(&field);
}

/* ---- main ---- */

static int open_output(const char *name)
{
	int n, fd;

	if (name == NULL || strcmp(name, "-") == 0)
		return STDOUT_FILENO;
	if ((n = fd_name(name)) >= 0)
		return n;
	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0) {
		perror(name);
		exit(1);
	}
	return fd;
}

static int run(char *const *args, size_t count, bool in_child)
{
	struct makemime_spec spec;
	struct input in1, in2;
	struct out o;

	if (makemime_spec_parse(args, count, in_child, &spec) < 0)
		usage();
	open_input(&spec.in[0], &in1);
	if (spec.mode == 'j')
		open_input(&spec.in[1], &in2);
	o.fd = open_output(spec.output);
	str_init(&o.buf, CHUNK + 1024);
	if (spec.mode == 'c')
		make_section(&spec, &o, &in1);
	else if (spec.mode == 'm')
		make_multipart(&spec, &o, &in1);
	else
		make_join(&spec, &o, &in1, &in2);
	out_flush(&o);
	str_free(&o.buf);
	if (o.fd > STDERR_FILENO && close(o.fd) < 0) {
		perror(spec.output);
		exit(1);
	}
	close_input(&in1);
	if (spec.mode == 'j')
		close_input(&in2);
	makemime_spec_free(&spec);
	return 0;
}

/* Reads "@name" options: byte by byte from a pipe (so that what follows
 * the "-" line stays in it), in blocks from a file. */
static void read_optfile(const char *name, struct makemime_args *args)
{
	struct makemime_optfile of;
	struct stat st;
	char buf[4096];
	int fd, n = fd_name(name);
	bool regular;

	if (strcmp(name, "-") == 0)
		fd = STDIN_FILENO;
	else if (n >= 0)
		fd = n;
	else if ((fd = open(name, O_RDONLY)) < 0) {
		perror(name);
		exit(1);
	}
	regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	makemime_optfile_init(&of, args);
	for (;;) {
		size_t len = read_some(fd, buf, regular ? sizeof(buf) : 1);
		size_t used;
		int ret;

		if (len == 0)
			break;
		ret = makemime_optfile_feed(&of, buf, len, &used);
		if (ret < 0) {
			fprintf(stderr, "%s: option too long or too many "
				"options\n", name);
			exit(1);
		}
		if (ret > 0) {
			if (regular)
				lseek(fd, -(off_t)(len - used), SEEK_CUR);
			break;
		}
	}
	if (makemime_optfile_finish(&of) < 0) {
		fprintf(stderr, "%s: option too long or too many options\n",
			name);
		exit(1);
	}
	makemime_optfile_deinit(&of);
	if (fd > STDERR_FILENO && n < 0)
		close(fd);
}

int main(int argc, char **argv)
{
	struct makemime_args args;
	int ret;

	memset(&args, 0, sizeof(args));
	if (argc > 1 && argv[1][0] == '@') {
		read_optfile(argv[1] + 1, &args);
		ret = run(args.v, args.count, false);
		makemime_args_free(&args);
		return ret;
	}
	return run(argv + 1, (size_t)(argc - 1), false);
}
