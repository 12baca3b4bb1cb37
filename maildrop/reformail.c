/* reformail.c: reformail(1), the mail reformatting tool of maildrop:
 * header edits, From_ line handling, line-end conversion, header
 * extraction, the Message-ID duplicate cache (-D) and mailbox splitting
 * (-s), behaving as Courier's reformail does. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <strings.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mem.h"
#include "str.h"
#include "config-file.h"
#include "rfc822-header.h"
#include "reformail.h"

#define REFORMAIL_MAX_CACHE (64 * 1024 * 1024)

/* ---- input ---- */

struct input {
	int fd;
	char buf[65536];
	size_t pos, len;
	bool eof;
};

static bool input_fill(struct input *in)
{
	ssize_t n;

	if (in->eof)
		return false;
	do {
		n = read(in->fd, in->buf, sizeof(in->buf));
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0)
			perror("reformail: read");
		in->eof = true;
		return false;
	}
	in->pos = 0;
	in->len = (size_t)n;
	return true;
}

/* Reads a line into line (cleared first), with its "\n" if it had one;
 * at most max bytes are stored (the rest of a longer line is dropped).
 * Returns false at the end of input with nothing read. */
static bool input_line(struct input *in, struct str *line, size_t max)
{
	bool any = false;

	str_clear(line);
	for (;;) {
		if (in->pos == in->len && !input_fill(in))
			return any;
		any = true;
		const char *s = in->buf + in->pos;
		const char *lf = memchr(s, '\n', in->len - in->pos);
		size_t n = lf != NULL ? (size_t)(lf - s) + 1 : in->len - in->pos;
		size_t room = max > str_len(line) ? max - str_len(line) : 0;

		str_append_n(line, s, n < room ? n : room);
		in->pos += n;
		if (lf != NULL)
			return true;
	}
}

/* The line's text: its "\n" and one CR before it removed, cut at a NUL
 * (Courier reads lines as C strings).  Sets *had_nl_r when the line
 * ended with "\n" and held no NUL. */
static size_t line_text(const struct str *line, bool *had_nl_r)
{
	size_t n = str_len(line);
	const char *nul = memchr(str_c(line), '\0', n);

	*had_nl_r = false;
	if (nul != NULL)
		return (size_t)(nul - str_c(line));
	if (n > 0 && line->data[n - 1] == '\n') {
		*had_nl_r = true;
		n--;
		if (n > 0 && line->data[n - 1] == '\r')
			n--;
	}
	return n;
}

/* ---- output ---- */

static struct str outbuf;

static void out_flush(void)
{
	const char *p = str_c(&outbuf);
	size_t left = str_len(&outbuf);

	while (left > 0) {
		ssize_t n = write(STDOUT_FILENO, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("reformail: write");
			exit(1);
		}
		p += n;
		left -= (size_t)n;
	}
	str_clear(&outbuf);
}

static void out(const void *data, size_t len)
{
	str_append_n(&outbuf, data, len);
	if (str_len(&outbuf) >= 65536)
		out_flush();
}

static void out_s(const char *s)
{
	out(s, strlen(s));
}

/* ---- options ---- */

static void invalid(void)
{
	fprintf(stderr, "reformail: Invalid arguments.\n");
	exit(1);
}

static void push(const char ***vec, size_t *n, const char *arg)
{
	*vec = xreallocarray(*vec, *n + 2, sizeof(char *));
	(*vec)[(*n)++] = arg;
	(*vec)[*n] = NULL;
}

/* The option's argument: attached ("-xTo:") or the next one. */
static char *opt_arg(int argc, char **argv, int *i)
{
	if (argv[*i][2] != '\0')
		return argv[*i] + 2;
	if (*i + 1 >= argc)
		invalid();
	return argv[++*i];
}

/* ---- -s: splitting a mailbox ---- */

/* FILENO counts up keeping its width ("000", "001"...; "0099" ->
 * "0100"); a value that is not a number is left as it is. */
static void fileno_next(struct str *fn)
{
	size_t n = str_len(fn);

	for (size_t i = 0; i < n; i++) {
		if (fn->data[i] < '0' || fn->data[i] > '9')
			return;
	}
	for (size_t i = n; i-- > 0;) {
		if (fn->data[i] != '9') {
			fn->data[i]++;
			return;
		}
		fn->data[i] = '0';
	}
	/* all nines: one more digit */
	str_append_c(fn, '0');
	fn->data[0] = '1';
}

struct child {
	pid_t pid;
	int fd;
};

static void child_write(struct child *c, const char *data, size_t len)
{
	while (len > 0 && c->fd >= 0) {
		ssize_t n = write(c->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* The program stopped reading (EPIPE): as Courier's
			 * reformail, give up on the whole mailbox. */
			fprintf(stderr, "reformail: write() failed.\n");
			exit(1);
		}
		data += n;
		len -= (size_t)n;
	}
}

static void child_start(struct child *c, char **argv, const char *fileno)
{
	int fds[2];

	if (pipe(fds) < 0) {
		perror("reformail: pipe");
		exit(75);
	}
	c->pid = fork();
	if (c->pid < 0) {
		perror("reformail: fork");
		exit(75);
	}
	if (c->pid == 0) {
		close(fds[1]);
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(127);
		close(fds[0]);
		setenv("FILENO", fileno, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "reformail: exec() failed.\n");
		_exit(127);
	}
	close(fds[0]);
	c->fd = fds[1];
}

static void child_end(struct child *c)
{
	int status;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Each message goes to a new run of the program.  The separation
 * follows Courier's reformail: a message starts at a "From " line; a
 * message's text is its lines joined by line breaks, so the line break
 * before the next "From " line is not part of it; the empty lines right
 * after the first line of the first message are dropped; the last
 * message ends with a line break unless an empty line was seen in the
 * mailbox (or it is a first message of one line). */
static int split_mailbox(char **cmd)
{
	struct input in = { .fd = STDIN_FILENO };
	struct str line, fileno;
	struct child c = { .pid = -1, .fd = -1 };
	const char *env = getenv("FILENO");
	unsigned int msgno = 0, lines = 0;
	bool active = false, swallowing = false, seen_blank = false;

	signal(SIGPIPE, SIG_IGN);
	str_init(&line, 1024);
	str_init(&fileno, 16);
	str_append(&fileno, env != NULL ? env : "000");
	while (input_line(&in, &line, REFORMAIL_MAX_HEADER)) {
		bool nl;
		size_t n = line_text(&line, &nl);
		const char *t = str_c(&line);

		if (!active && n == 0)
			continue;
		if (active && n >= 5 && memcmp(t, "From ", 5) == 0) {
			child_end(&c);
			fileno_next(&fileno);
			msgno++;
			active = false;
		}
		if (!active) {
			child_start(&c, cmd, str_c(&fileno));
			child_write(&c, t, n);
			active = true;
			swallowing = msgno == 0;
			lines = 1;
			continue;
		}
		if (n == 0) {
			if (swallowing)
				continue;
			seen_blank = true;
		}
		swallowing = false;
		child_write(&c, "\n", 1);
		child_write(&c, t, n);
		lines++;
	}
	if (active) {
		if ((lines > 1 || msgno > 0) && !seen_blank)
			child_write(&c, "\n", 1);
		child_end(&c);
	}
	str_free(&line);
	str_free(&fileno);
	return 0;
}

/* ---- -D: the duplicate Message-ID cache ---- */

struct msgid_ctx {
	char *id;
};

static void msgid_cb(const struct rfc822_header_field *field, void *context)
{
	struct msgid_ctx *ctx = context;

	if (ctx->id == NULL && !field->broken &&
	    strcasecmp(field->name, "message-id") == 0)
		ctx->id = xmemdup(field->value, field->value_len);
}

static char *read_message_id(void)
{
	struct rfc822_header_limits lim = {
		.max_header_size = REFORMAIL_MAX_HEADER,
	};
	struct rfc822_header_parser *p = rfc822_header_parser_create(&lim);
	struct msgid_ctx ctx = { NULL };
	struct input in = { .fd = STDIN_FILENO };
	size_t consumed;
	int r = 0;

	bool start = true;

	while (r == 0 && input_fill(&in)) {
		size_t skip = 0;

		/* empty lines before the header are skipped, as reformail
		 * always does */
		while (start && skip < in.len &&
		       (in.buf[skip] == '\n' || in.buf[skip] == '\r'))
			skip++;
		if (skip < in.len)
			start = false;
		r = rfc822_header_parser_feed(p, in.buf + skip, in.len - skip,
					      &consumed, msgid_cb, &ctx);
	}
	if (r == 0)
		rfc822_header_parser_finish(p, msgid_cb, &ctx);
	rfc822_header_parser_destroy(&p);
	/* Courier keeps the ID up to a NUL */
	if (ctx.id != NULL && ctx.id[0] == '\0')
		x_free(ctx.id);
	return ctx.id;
}

/* Exit code 0 when the Message-ID is in the cache (it moves to the end,
 * as the newest), 1 when it is not (it
 * is added), 75 when the cache cannot be used. */
static int dup_cache(const char *lenarg, const char *path)
{
	long len = atol(lenarg);
	char *id = read_message_id();
	struct flock fl;
	char *buf, **ids = NULL;
	size_t n_ids = 0, got = 0, start, total;
	bool found = false;
	int fd;

	if (len < 0)
		len = 0;
	if (len > 64L * 1024 * 1024)
		len = 64L * 1024 * 1024;
	if (id == NULL)
		return 1;
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		perror("open");
		exit(75);
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLKW, &fl) < 0) {
		if (errno != EINTR) {
			perror("lock");
			exit(75);
		}
	}
	/* the whole file is read (Courier does), up to a bound */
	{
		struct str f;
		char chunk[65536];

		str_init(&f, 4096);
		for (;;) {
			ssize_t r = pread(fd, chunk, sizeof(chunk), (off_t)got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				perror("read");
				exit(75);
			}
			if (r == 0 || got >= REFORMAIL_MAX_CACHE)
				break;
			str_append_n(&f, chunk, (size_t)r);
			got += (size_t)r;
		}
		buf = str_steal(&f);
	}
	for (size_t i = 0; i < got;) {
		const char *e = memchr(buf + i, '\0', got - i);

		if (e == NULL || e == buf + i)
			break;
		if (strcmp(buf + i, id) == 0) {
			/* seen: it moves to the end, as the newest */
			found = true;
			i = (size_t)(e - buf) + 1;
			continue;
		}
		ids = xreallocarray(ids, n_ids + 2, sizeof(char *));
		ids[n_ids++] = buf + i;
		i = (size_t)(e - buf) + 1;
	}
	ids = xreallocarray(ids, n_ids + 2, sizeof(char *));
	ids[n_ids++] = id;
	/* keep the newest IDs that fit in len bytes (with the final NUL);
	 * when not even the new one fits, keep them all */
	total = 1;
	start = n_ids;
	while (start > 0 && total + strlen(ids[start - 1]) + 1 <= (size_t)len) {
		total += strlen(ids[start - 1]) + 1;
		start--;
	}
	if (start == n_ids)
		start = 0;
	{
		struct str s;

		str_init(&s, (size_t)len + 64);
		for (size_t i = start; i < n_ids; i++)
			str_append_n(&s, ids[i], strlen(ids[i]) + 1);
		str_append_c(&s, '\0');
		if (pwrite(fd, str_c(&s), str_len(&s), 0) !=
			    (ssize_t)str_len(&s) ||
		    ftruncate(fd, (off_t)str_len(&s)) < 0) {
			perror("write");
			exit(75);
		}
		str_free(&s);
	}
	close(fd);
	free(ids);
	free(buf);
	free(id);
	return found ? 0 : 1;
}

/* ---- reformatting ---- */

static void out_eol(const struct reformail_opts *o)
{
	out_s(o->crlf ? "\r\n" : "\n");
}

static char *ctime_now(void)
{
	time_t t = time(NULL);
	char buf[64];
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return xstrdup("Thu Jan  1 00:00:00 1970");
	return xstrdup(buf);
}

/* Reads at most max bytes of the current line into piece (cleared
 * first), stopping after its "\n".  Returns false at the end of input. */
static bool input_piece(struct input *in, struct str *piece, size_t max)
{
	str_clear(piece);
	while (str_len(piece) < max) {
		if (in->pos == in->len && !input_fill(in))
			break;
		const char *s = in->buf + in->pos;
		size_t avail = in->len - in->pos;
		size_t room = max - str_len(piece);
		const char *lf = memchr(s, '\n', avail < room ? avail : room);
		size_t n = lf != NULL ? (size_t)(lf - s) + 1 :
			(avail < room ? avail : room);

		str_append_n(piece, s, n);
		in->pos += n;
		if (lf != NULL)
			break;
	}
	return str_len(piece) > 0;
}

/* Copies the body, converting line ends: CR LF and LF become the output
 * line end, other CRs stay; a line holding a NUL is cut there and loses
 * its line end (as in Courier); the last line gets a line end.  As in
 * Debian's reformail, when -f1 made up a From_ line (mbox form,
 * from_quote 1) a line matching ^>*From  gets one more ">"; when -f0
 * removed one (from_quote -1) a line matching ^>+From  loses one. */
static bool is_quoted_from(const char *s, size_t n, size_t min_gt)
{
	size_t i = 0;

	while (i < n && s[i] == '>')
		i++;
	return i >= min_gt && n - i >= 5 && memcmp(s + i, "From ", 5) == 0;
}

static void copy_body(struct input *in, const struct reformail_opts *o,
		      int from_quote)
{
	struct str piece;
	bool at_start = true, in_nul = false, pending_cr = false;

	str_init(&piece, 65536);
	while (input_piece(in, &piece, 65536)) {
		const char *s = str_c(&piece);
		size_t n = str_len(&piece);
		bool nl = s[n - 1] == '\n';
		const char *nul;

		if (in_nul) {
			in_nul = !nl;
			continue;
		}
		if (nl)
			n--;
		nul = memchr(s, '\0', n);
		if (pending_cr && (n > 0 || !nl || nul != NULL))
			out_s("\r");
		pending_cr = false;
		if (at_start && from_quote > 0 && is_quoted_from(s, n, 0)) {
			out_s(">");
		} else if (at_start && from_quote < 0 &&
			   is_quoted_from(s, n, 1)) {
			s++;
			n--;
		}
		if (nul != NULL) {
			out(s, (size_t)(nul - s));
			in_nul = !nl;
			at_start = false;
			continue;
		}
		if (n > 0 && s[n - 1] == '\r') {
			n--;
			pending_cr = !nl;
		}
		out(s, n);
		if (nl)
			out_eol(o);
		at_start = nl;
	}
	if (pending_cr)
		out_s("\r");
	if (!at_start)
		out_eol(o);
	str_free(&piece);
}

/* The name -x and -X compare: up to the colon, or the whole (folded)
 * line when it has none; lower case. */
static char *extract_key(const char *text)
{
	const char *colon = strchr(text, ':');

	return str_lcase(colon != NULL ?
			 xstrndup(text, (size_t)(colon - text) + 1) :
			 xstrdup(text));
}

static void print_header(const struct reformail_opts *o, const char *text)
{
	if (o->concat) {
		struct str s;

		str_init(&s, strlen(text) + 1);
		reformail_unfold(&s, text);
		out_s(str_c(&s));
		str_free(&s);
	} else {
		out_s(text);
	}
	out_eol(o);
}

static int reformat(const struct reformail_opts *o)
{
	struct input in = { .fd = STDIN_FILENO };
	struct str line, hdr;
	struct reformail_fields fields = { 0 };
	char *from_line = NULL, *from_addr = NULL;
	bool got, nl, ended = false, made_from = false;

	str_init(&line, 1024);
	str_init(&hdr, 4096);
	/* leading empty lines go */
	while ((got = input_line(&in, &line, REFORMAIL_MAX_HEADER))) {
		size_t n = line_text(&line, &nl);

		if (n > 0 || (!nl && memchr(str_c(&line), '\0',
					    str_len(&line)) == NULL))
			break;
	}
	if (!got)
		return 0;	/* nothing but empty lines: no output */
	{
		size_t n = line_text(&line, &nl);

		if (n >= 5 && memcmp(str_c(&line), "From ", 5) == 0) {
			from_line = xstrndup(str_c(&line), n);
			got = input_line(&in, &line, REFORMAIL_MAX_HEADER);
			/* a lone From_ line turned into a header is nothing */
			if (!got && o->from_mode == 0)
				return 0;
		}
	}
	/* the header block, up to the empty line */
	for (; got; got = input_line(&in, &line, REFORMAIL_MAX_HEADER)) {
		size_t n = line_text(&line, &nl);

		if (n == 0 && (nl || str_len(&line) == 0 ||
			       str_c(&line)[0] == '\r')) {
			ended = true;
			break;
		}
		if (str_len(&hdr) + n + 1 > REFORMAIL_MAX_HEADER) {
			/* too big: the rest is passed on as body */
			in.pos = 0;
			break;
		}
		/* a line starting with a NUL is empty to Courier */
		if (n == 0) {
			ended = true;
			break;
		}
		str_append_n(&hdr, str_c(&line), n);
		str_append_c(&hdr, '\n');
	}
	(void)ended;
	reformail_split_header(str_c(&hdr), str_len(&hdr), &fields);

	if (from_line != NULL && o->from_mode == 0)
		from_addr = reformail_from_line_addr(from_line);
	if (o->from_mode == 1 && from_line == NULL) {
		char *sender = reformail_sender(&fields);
		char *date = ctime_now();

		from_line = xasprintf("From %s %s", sender, date);
		made_from = true;
		free(sender);
		free(date);
	}
	reformail_edit(o, &fields, from_addr, config_hostname());

	if (o->n_extract > 0) {
		for (size_t i = 0; i < fields.count; i++) {
			const struct reformail_field *f = &fields.v[i];
			int found = -1;
			struct str s;
			/* -x/-X see a folded line without a colon whole */
			char *fkey = extract_key(f->text);

			/* -x before -X when both name the header, as
			 * Debian's reformail */
			for (size_t k = 0; k < o->n_extract; k++) {
				char *key = reformail_key(o->extract[k],
						strlen(o->extract[k]));
				bool match = strcmp(key, fkey) == 0;

				free(key);
				if (match && (found < 0 ||
					      !o->extract_name[k])) {
					found = (int)k;
					if (!o->extract_name[k])
						break;
				}
			}
			free(fkey);
			if (found < 0)
				continue;
			str_init(&s, strlen(f->text) + 1);
			if (o->extract_name[found])
				reformail_unfold(&s, f->text);
			else
				reformail_value(&s, f);
			out_s(str_c(&s));
			/* an empty -x value ends with a bare LF even
			 * with -d1, as in Debian's reformail */
			if (str_len(&s) == 0)
				out_s("\n");
			else
				out_eol(o);
			str_free(&s);
		}
	} else {
		if (from_line != NULL && o->from_mode != 0)
			print_header(o, from_line);
		for (size_t i = 0; i < fields.count; i++)
			print_header(o, fields.v[i].text);
		out_eol(o);
		if (got && !ended) {
			/* the line that did not fit in the header */
			out(str_c(&line), str_len(&line));
		}
		copy_body(&in, o, made_from ? 1 :
			  from_line != NULL && o->from_mode == 0 ? -1 : 0);
	}
	out_flush();
	reformail_fields_free(&fields);
	free(from_line);
	free(from_addr);
	str_free(&line);
	str_free(&hdr);
	return 0;
}

int main(int argc, char **argv)
{
	struct reformail_opts o;
	int i;

	memset(&o, 0, sizeof(o));
	o.from_mode = -1;
	str_init(&outbuf, 70000);
	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0')
			continue;
		switch (a[1]) {
		case 's':
			if (a[2] != '\0' || i + 1 >= argc)
				invalid();
			return split_mailbox(argv + i + 1);
		case 'D':
			if (i + 2 >= argc)
				invalid();
			return dup_cache(argv[i + 1], argv[i + 2]);
		case 'd':
			o.crlf = a[2] == '\0' || atoi(a + 2) != 0;
			break;
		case 'f':
			if (a[2] != '\0')
				o.from_mode = atoi(a + 2) != 0;
			else if (i + 1 < argc)
				o.from_mode = atoi(argv[++i]) != 0;
			else
				o.from_mode = 0;
			break;
		case 'c':
			o.concat = true;
			break;
		case 'a':
			push(&o.add_missing, &o.n_add_missing,
			     opt_arg(argc, argv, &i));
			break;
		case 'A':
			push(&o.add_always, &o.n_add_always,
			     opt_arg(argc, argv, &i));
			break;
		case 'i':
			push(&o.add_rename, &o.n_add_rename,
			     opt_arg(argc, argv, &i));
			break;
		case 'I':
			push(&o.add_replace, &o.n_add_replace,
			     opt_arg(argc, argv, &i));
			break;
		case 'u':
			push(&o.uniq_first, &o.n_uniq_first,
			     opt_arg(argc, argv, &i));
			break;
		case 'U':
			push(&o.uniq_last, &o.n_uniq_last,
			     opt_arg(argc, argv, &i));
			break;
		case 'R': {
			size_t n = o.n_rename;
			char *old = opt_arg(argc, argv, &i);

			if (i + 1 >= argc)
				invalid();
			push(&o.rename_old, &n, old);
			push(&o.rename_new, &o.n_rename, argv[++i]);
			break;
		}
		case 'x':
		case 'X': {
			size_t n = o.n_extract;

			push(&o.extract, &o.n_extract, opt_arg(argc, argv, &i));
			o.extract_name = xreallocarray(o.extract_name, n + 1,
						       sizeof(bool));
			o.extract_name[n] = a[1] == 'X';
			break;
		}
		default:
			invalid();
		}
	}
	return reformat(&o);
}
