/* reformime.c: walks the MIME structure of a message (Courier's reformime):
 * -i prints the structure as Courier's reformime -i does, -s selects a
 * section, -e extracts its decoded content, -x/-X extract parts to files
 * or to a program, -u writes headers and texts as UTF-8; the header
 * options are in reformime-hdr.c. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "mem.h"
#include "str.h"
#include "charset.h"
#include "rfc2047.h"
#include "rfc822-header.h"
#include "mime-decode.h"
#include "mime-parser.h"
#include "reformime.h"

#define READ_SIZE (256 * 1024)
/* the maildrop release whose reformime this one behaves as */
#define REFORMIME_MAILDROP_VERSION "2.9.3"

static const char *default_charset;

/* ---- reading the message ---- */

/* The message is parsed as it is read, in READ_SIZE chunks; afterwards
 * the few bytes the -i figures need and the bodies -e/-x extract are read
 * back with pread() when stdin is a file, so memory stays flat.  A pipe
 * is first copied to an unlinked temporary file. */
struct message {
	int fd;
	uint64_t size;
	unsigned char cache[4096];
	uint64_t cache_off;
	size_t cache_len;
};

static size_t msg_read(struct message *m, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(m->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("reformime: read");
			exit(1);
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return done;
}

static int msg_byte(struct message *m, uint64_t off)
{
	if (off >= m->size)
		return -1;
	if (off < m->cache_off || off >= m->cache_off + m->cache_len) {
		m->cache_off = off >= 2048 ? off - 2048 : 0;
		m->cache_len = msg_read(m, m->cache_off, m->cache,
					sizeof(m->cache));
	}
	return m->cache[off - m->cache_off];
}

/* With add_newline (-r), a message whose last line has no line end gets
 * one, as Courier's reformime reads it; the message is then always
 * copied. */
static struct mime_part *parse_message(struct message *m,
				       const struct mime_parser_settings *set,
				       bool add_newline)
{
	struct mime_parser *p = mime_parser_create(set, NULL, NULL);
	struct mime_part *root;
	char *buf = xmalloc(READ_SIZE);
	struct stat st;
	int out = -1;
	char last = '\n';

	m->fd = STDIN_FILENO;
	if (add_newline || fstat(STDIN_FILENO, &st) < 0 ||
	    !S_ISREG(st.st_mode) || lseek(STDIN_FILENO, 0, SEEK_SET) < 0) {
		char tmpl[] = "/tmp/reformime.XXXXXX";

		out = mkstemp(tmpl);
		if (out < 0) {
			perror("reformime: mkstemp");
			exit(1);
		}
		unlink(tmpl);
	}
	m->size = 0;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, READ_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("reformime: read");
			exit(1);
		}
		if (n == 0)
			break;
		mime_parser_feed(p, buf, (size_t)n);
		if (out >= 0) {
			const char *q = buf;
			size_t left = (size_t)n;

			while (left > 0) {
				ssize_t w = write(out, q, left);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					perror("reformime: write");
					exit(1);
				}
				q += w;
				left -= (size_t)w;
			}
		}
		m->size += (uint64_t)n;
		last = buf[n - 1];
	}
	if (add_newline && m->size > 0 && last != '\n') {
		mime_parser_feed(p, "\n", 1);
		while (write(out, "\n", 1) < 0) {
			if (errno != EINTR) {
				perror("reformime: write");
				exit(1);
			}
		}
		m->size++;
	}
	if (out >= 0)
		m->fd = out;
	root = mime_parser_finish(p);
	mime_parser_destroy(&p);
	free(buf);
	m->cache_off = 0;
	m->cache_len = 0;
	return root;
}

/* Debian's usage text, on standard output, exit code 1. */
static void usage(void)
{
	fputs("Usage: reformime [options]\n"
	      "    -d - parse a delivery status notification.\n"
	      "    -e - extract contents of MIME section.\n"
	      "    -x - extract MIME section to a file.\n"
	      "    -X - pipe MIME section to a program.\n"
	      "    -i - show MIME info.\n"
	      "    -s n.n.n.n[,n.n.n.n]* - specify MIME section(s).\n"
	      "    -r - rewrite message, filling in missing MIME headers.\n"
	      "    -r7 - also convert 8bit/raw encoding to quoted-printable, "
	      "if possible.\n"
	      "    -r8 - also convert quoted-printable encoding to 8bit, "
	      "if possible.\n"
	      "    -c charset - default charset for rewriting, -o, and -O.\n"
	      "    -m [file] [file]... - create a MIME message digest.\n"
	      "    -h \"header\" - decode RFC 2047-encoded header.\n"
	      "    -o \"header\" - encode unstructured header using "
	      "RFC 2047.\n"
	      "    -O \"header\" - encode address list header using "
	      "RFC 2047.\n", stdout);
	exit(1);
}

/* The stdin reader of the rewriter. */
static size_t rewrite_read(void *context, uint64_t off, void *buf, size_t len)
{
	return msg_read(context, off, buf, len);
}

/* -r, -r7, -r8: the whole message, rewritten (reformime.h). */
static void rewrite_message(const struct mime_part *root, struct message *msg,
			    int mode, const char *charset)
{
	struct reformime_rewrite rw;
	char host[256];
	char *prefix;

	if (gethostname(host, sizeof(host)) < 0)
		str_copy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	memset(&rw, 0, sizeof(rw));
	rw.mode = (enum reformime_rewrite_mode)mode;
	rw.charset = charset;
	rw.agent = "reformime (maildrop " REFORMIME_MAILDROP_VERSION ")";
	rw.read = rewrite_read;
	rw.context = msg;
	rw.size = msg->size;
	rw.out = stdout;
	/* a boundary no line of the text starts with, as Courier's */
	for (unsigned int n = 1;; n++) {
		prefix = xasprintf("=_%s-%ld-%ld-%04u", host, (long)getpid(),
				   (long)time(NULL), n);
		if (!reformime_boundary_clash(root, &rw, prefix))
			break;
		free(prefix);
	}
	rw.boundary_prefix = prefix;
	reformime_rewrite(root, &rw);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("reformime: write");
		exit(1);
	}
	free(prefix);
}

/* Courier numbering: the message is "1", its parts "1.1", "1.2"...; the
 * message inside a message/rfc822 part n is "n.1". */
static void courier_section(const struct mime_part *part, struct str *dest)
{
	if (part->parent != NULL) {
		courier_section(part->parent, dest);
		str_printfa(dest, ".%u", part->index);
	} else {
		str_append(dest, "1");
	}
}

/* No option: the section numbers, one a line. */
static void print_sections(const struct mime_part *root)
{
	for (const struct mime_part *part = root; part != NULL;
	     part = mime_part_walk_next(part)) {
		struct str section;

		str_init(&section, 32);
		courier_section(part, &section);
		printf("%s\n", str_c(&section));
		str_free(&section);
	}
}

static void print_decoded(const char *label, const char *value)
{
	struct str s;

	str_init(&s, strlen(value) * 2 + 1);
	rfc2047_decode(&s, value, strlen(value));
	printf("%s: %s\n", label, str_c(&s));
	str_free(&s);
}

/* Prints a parameter value in the output charset (UTF-8 here). */
static void print_param(const char *label, const char *value)
{
	struct str s;

	str_init(&s, strlen(value) + 1);
	charset_utf8_sanitize(&s, value, strlen(value));
	printf("%s: %s\n", label, str_c(&s));
	str_free(&s);
}

/* Content-ID as an address: "<id>", comments and spaces dropped. */
static void print_content_id(const char *id)
{
	struct str s;
	int depth = 0;

	str_init(&s, strlen(id) + 3);
	for (const char *p = id; *p != '\0'; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && *p != '<' && *p != '>' && *p != ' ' &&
			 *p != '\t')
			str_append_c(&s, *p);
	}
	if (str_len(&s) > 0)
		printf("content-id: <%s>\n", str_c(&s));
	str_free(&s);
}

/* The figures Courier's reformime prints, rebuilt from the tree and the
 * raw bytes.  Courier feeds a part every line up to the boundary line
 * that ends it (the line end before the boundary included), reports one
 * line less for non-root parts, and ends a part where its last line
 * ended: with the line end when that line was the closing boundary of a
 * multipart or a body line of the message itself or of an encapsulated
 * message, without it for lines of multipart body parts, preambles,
 * epilogues and headers. */
struct courier_pos {
	uint64_t start, start_body, end, lines, body_lines;
};

static uint64_t full_end(const struct mime_part *part, struct message *msg)
{
	uint64_t e = part->end_offset;

	if (msg_byte(msg, e) == '\n')
		return e + 1;
	if (msg_byte(msg, e) == '\r' && msg_byte(msg, e + 1) == '\n')
		return e + 2;
	return e;
}

/* Length of the line [ls, end) without its line end. */
static uint64_t line_len_no_eol(struct message *msg, uint64_t ls,
				uint64_t end)
{
	uint64_t n = end - ls;

	if (n > 0 && msg_byte(msg, ls + n - 1) == '\n') {
		n--;
		if (n > 0 && msg_byte(msg, ls + n - 1) == '\r')
			n--;
	}
	return n;
}

static bool is_closing_line(const struct mime_part *m, struct message *msg,
			    uint64_t ls, uint64_t len)
{
	size_t bl = m->boundary_len;

	if (m->boundary == NULL || len < bl + 4 || msg_byte(msg, ls) != '-' ||
	    msg_byte(msg, ls + 1) != '-' || msg_byte(msg, ls + 2 + bl) != '-' ||
	    msg_byte(msg, ls + 3 + bl) != '-')
		return false;
	for (size_t i = 0; i < bl; i++) {
		if (msg_byte(msg, ls + 2 + i) != (unsigned char)m->boundary[i])
			return false;
	}
	return true;
}

static void courier_positions(const struct mime_part *part,
			      struct message *msg, struct courier_pos *pos)
{
	bool header_ended = (part->flags & MIME_PART_FLAG_NO_HEADER_END) == 0;
	uint64_t full = full_end(part, msg);
	uint64_t extra = full > part->end_offset ? 1 : 0;
	uint64_t ls, len;
	const struct mime_part *d = part;
	bool incl;

	pos->start = part->header_offset;
	pos->lines = part->header_lines + part->body_lines + extra;
	pos->body_lines = header_ended ? part->body_lines + extra : 0;
	pos->start_body = part->body_offset;
	if (part->parent == NULL) {
		pos->end = full;
		/* a message that ends in its header: the body starts at
		 * the end of the last line, before its line end */
		if (!header_ended && full > part->header_offset &&
		    msg_byte(msg, full - 1) == '\n') {
			pos->start_body = full - 1;
			if (pos->start_body > part->header_offset &&
			    msg_byte(msg, pos->start_body - 1) == '\r')
				pos->start_body--;
		}
		return;
	}
	if (pos->lines > 0)
		pos->lines--;
	if (pos->body_lines > 0)
		pos->body_lines--;

	if (full <= part->header_offset) {
		pos->end = part->header_offset;
		pos->start_body = pos->end;
		return;
	}
	/* The last line fed to the part: [ls, full). */
	ls = full - 1;
	if (msg_byte(msg, ls) == '\n' && ls > 0)
		ls--;
	if (msg_byte(msg, ls) == '\n') {
		/* the last line is an empty one */
		ls = full - 1;
	} else {
		while (ls > part->header_offset &&
		       msg_byte(msg, ls - 1) != '\n')
			ls--;
		if (msg_byte(msg, ls) == '\n')
			ls = full - 1;
	}
	len = line_len_no_eol(msg, ls, full);

	/* Which part took it, as what. */
	for (;;) {
		if (ls < d->body_offset || !header_ended) {
			/* a header line; the empty line ending it counts
			 * with its line end */
			incl = len == 0 && ls + (full - ls) == d->body_offset;
			break;
		}
		if ((d->flags & MIME_PART_FLAG_MESSAGE) != 0 &&
		    d->children != NULL) {
			d = d->children;
			header_ended =
				(d->flags & MIME_PART_FLAG_NO_HEADER_END) == 0;
			continue;
		}
		if ((d->flags & MIME_PART_FLAG_MULTIPART) != 0) {
			const struct mime_part *c = d->last_child;

			if (c != NULL && ls >= c->header_offset &&
			    ls < full_end(c, msg)) {
				d = c;
				header_ended = (d->flags &
					MIME_PART_FLAG_NO_HEADER_END) == 0;
				continue;
			}
			incl = is_closing_line(d, msg, ls, len);
			break;
		}
		incl = d->parent == NULL ||
			(d->parent->flags & MIME_PART_FLAG_MULTIPART) == 0;
		break;
	}
	pos->end = ls + (incl ? full - ls : len);
	if ((part->flags & MIME_PART_FLAG_NO_HEADER_END) != 0) {
		/* Courier's body start stays at the end of the last header
		 * line, without its line end. */
		pos->start_body = ls + len;
	}
	if (pos->start_body == pos->start)
		pos->start_body = pos->end;
	/* An empty line that both ends the header and is the line end
	 * before the next boundary: the (empty) body ends where it starts,
	 * as Courier's. */
	if (pos->end < pos->start_body)
		pos->end = pos->start_body;
}

/* Courier gives multipart children their parent's transfer encoding and
 * charset when they have none (not to an encapsulated message). */
static const char *courier_encoding(const struct mime_part *part)
{
	for (; part != NULL; part = part->parent) {
		if (part->encoding != NULL &&
		    (part->flags & MIME_PART_FLAG_DEFAULT_ENCODING) == 0)
			return part->encoding;
		if (part->parent == NULL ||
		    (part->parent->flags & MIME_PART_FLAG_MULTIPART) == 0)
			break;
	}
	return "8bit";
}

static const char *courier_charset(const struct mime_part *part)
{
	for (; part != NULL; part = part->parent) {
		const char *v = mime_part_param(part, "charset");

		if (v != NULL && v[0] != '\0')
			return v;
		if (part->parent == NULL ||
		    (part->parent->flags & MIME_PART_FLAG_MULTIPART) == 0)
			break;
	}
	return NULL;
}

/* The media type as Courier's reformime shows it: as written in the
 * Content-Type ("text", "text/htmlx"), else the default type.  A new
 * string. */
static char *shown_type(const struct mime_part *part)
{
	if (part->type_text != NULL)
		return xstrdup(part->type_text);
	return xasprintf("%s/%s", part->type, part->subtype);
}

/* Prints every part of the message, each followed by an empty line, or
 * with only (-s) that part alone without the empty line, as Courier's
 * reformime does. */
static void print_info(const struct mime_part *root, struct message *msg,
		       bool only)
{
	const struct mime_part *end = NULL;

	if (only)
		end = mime_part_walk_next(root);
	for (const struct mime_part *part = root; part != NULL && part != end;
	     part = mime_part_walk_next(part)) {
		struct str section;
		struct courier_pos pos;
		const char *v;

		str_init(&section, 32);
		courier_section(part, &section);
		printf("section: %s\n", str_c(&section));
		str_free(&section);
		char *type = shown_type(part);

		printf("content-type: %s\n", type);
		free(type);
		if ((v = mime_part_param(part, "name")) != NULL)
			print_param("content-name", v);
		printf("content-transfer-encoding: %s\n",
		       courier_encoding(part));
		v = courier_charset(part);
		if (v != NULL && v[0] != '\0') {
			char *lc = str_lcase(xstrdup(v));

			printf("charset: %s\n", lc);
			free(lc);
		} else {
			printf("charset: %s\n", default_charset);
		}
		if (part->disposition != NULL)
			printf("content-disposition: %s\n", part->disposition);
		if ((v = mime_part_disposition_param(part, "name")) != NULL)
			print_param("content-disposition-name", v);
		if ((v = mime_part_disposition_param(part, "filename")) != NULL)
			print_param("content-disposition-filename", v);
		if (part->id != NULL)
			print_content_id(part->id);
		if (part->description != NULL && part->description[0] != '\0')
			print_decoded("content-description", part->description);
		if (part->language != NULL && part->language[0] != '\0')
			printf("content-language: %s\n", part->language);
		if (part->md5 != NULL && part->md5[0] != '\0')
			printf("content-md5: %s\n", part->md5);
		courier_positions(part, msg, &pos);
		printf("starting-pos: %llu\n", (unsigned long long)pos.start);
		printf("starting-pos-body: %llu\n",
		       (unsigned long long)pos.start_body);
		printf("ending-pos: %llu\n", (unsigned long long)pos.end);
		printf("line-count: %llu\n", (unsigned long long)pos.lines);
		printf("body-line-count: %llu\n",
		       (unsigned long long)pos.body_lines);
		if (!only)
			printf("\n");
	}
}

/* ---- extraction ---- */

static struct mime_part *find_courier_section(struct mime_part *root,
					      const char *section)
{
	struct mime_part *part = root;
	const char *s = section;

	if (strcmp(s, "1") == 0)
		return root;
	if (strncmp(s, "1.", 2) != 0)
		return NULL;
	s += 2;
	while (*s != '\0') {
		char *end;
		unsigned long n = strtoul(s, &end, 10);
		struct mime_part *c;

		if (end == s || (*end != '.' && *end != '\0'))
			return NULL;
		for (c = part->children; c != NULL && c->index != n;
		     c = c->next)
			;
		if (c == NULL)
			return NULL;
		part = c;
		s = *end == '.' ? end + 1 : end;
	}
	return part;
}

static void write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("reformime: write");
			exit(1);
		}
		p += n;
		size -= (size_t)n;
	}
}

static void extract_to_fd(const struct mime_part *part, struct message *msg,
			  int fd)
{
	struct mime_decoder dec;
	struct str out;
	size_t chunk = 64 * 1024;
	uint64_t end_offset = part->end_offset;

	if ((part->flags & (MIME_PART_FLAG_MULTIPART |
			    MIME_PART_FLAG_MESSAGE)) != 0) {
		/* a multipart's or message's body as Courier delimits it
		 * (with the closing boundary's line end) */
		struct courier_pos pos;

		courier_positions(part, msg, &pos);
		end_offset = pos.end;
	} else if (part->parent != NULL &&
		   (part->parent->flags & MIME_PART_FLAG_MESSAGE) != 0 &&
		   (part->flags & MIME_PART_FLAG_NO_HEADER_END) == 0) {
		/* the body of a message inside message/rfc822 runs to the
		 * end of the line before its parent's boundary, line end
		 * included, as Courier's */
		end_offset = full_end(part, msg);
	} else if (part->parent != NULL &&
		   (part->parent->flags & MIME_PART_FLAG_MULTIPART) != 0 &&
		   end_offset == msg->size && end_offset > part->body_offset &&
		   msg_byte(msg, end_offset - 1) == '\n') {
		/* the last part of a multipart without its closing boundary:
		 * the message's last line end is the missing boundary's */
		end_offset--;
		if (end_offset > part->body_offset &&
		    msg_byte(msg, end_offset - 1) == '\r')
			end_offset--;
	}
	uint64_t start = part->body_offset;

	if (part->parent == NULL &&
	    (part->flags & MIME_PART_FLAG_NO_HEADER_END) != 0) {
		/* a message that ends in its header: its last line end is
		 * the body, as Courier's */
		struct courier_pos pos;

		courier_positions(part, msg, &pos);
		start = pos.start_body;
	}
	mime_decoder_init(&dec, mime_encoding_from_name(part->encoding, NULL));
	char *buf = xmalloc(chunk);

	str_init(&out, chunk + 1024);
	for (uint64_t off = start; off < end_offset;
	     off += chunk) {
		size_t n = end_offset - off < chunk ?
			(size_t)(end_offset - off) : chunk;

		n = msg_read(msg, off, buf, n);
		if (n == 0)
			break;
		str_clear(&out);
		mime_decoder_feed(&dec, buf, n, &out);
		write_all(fd, str_c(&out), str_len(&out));
	}
	str_clear(&out);
	mime_decoder_finish(&dec, &out);
	write_all(fd, str_c(&out), str_len(&out));
	str_free(&out);
	free(buf);
}

static const char *part_filename(const struct mime_part *part)
{
	const char *v = mime_part_disposition_param(part, "filename");

	if (v == NULL)
		v = mime_part_param(part, "name");
	return v;
}

/* The file name -x and -X use, as Courier's: every byte but A-Z, a-z,
 * 0-9, ".", "-" and "_" becomes "_" (so no "/" is left), and only the
 * last 32 bytes are kept; "" without a name. */
#define COURIER_FILENAME_MAX 32
static char *safe_filename(const char *name)
{
	struct str s;
	size_t len;

	str_init(&s, 64);
	if (name == NULL)
		return str_steal(&s);
	len = strlen(name);
	if (len > COURIER_FILENAME_MAX)
		name += len - COURIER_FILENAME_MAX;
	for (const char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
			str_append_c(&s, (char)c);
		else
			str_append_c(&s, '_');
	}
	return str_steal(&s);
}

static bool is_leaf(const struct mime_part *part)
{
	return (part->flags & (MIME_PART_FLAG_MULTIPART |
			       MIME_PART_FLAG_MESSAGE)) == 0;
}

/* What -x and -X extract, as Courier's: a leaf, or a multipart whose
 * header a boundary cut (it has no parts). */
static bool extractable(const struct mime_part *part)
{
	return is_leaf(part) ||
		(part->children == NULL &&
		 (part->flags & MIME_PART_FLAG_NO_HEADER_END) != 0);
}

/* A name for a part without one, as Courier's: TIME.PID-N.HOST, N
 * counting from 0 in each run. */
static char *generated_name(void)
{
	static unsigned int counter;
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		str_copy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return xasprintf("%ld.%ld-%u.%s", (long)time(NULL), (long)getpid(),
			 counter++, host);
}

/* Creates prefix+name, never over an existing file: as Debian's, when it
 * exists "PATH exists." goes to standard output and prefix+"N-"+name is
 * tried, N counting on from 1 over the whole run. */
static int create_unique(const char *prefix, const char *name,
			 char **path_r)
{
	static unsigned int counter;

	for (unsigned int tries = 0;; tries++) {
		char *path = tries == 0 ? xasprintf("%s%s", prefix, name) :
			xasprintf("%s%u-%s", prefix, ++counter, name);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
			      0644);

		if (fd >= 0 || errno != EEXIST || tries >= 100000) {
			*path_r = path;
			return fd;
		}
		printf("%s exists.\n", path);
		free(path);
	}
}

static void extract_x(struct mime_part *part, struct message *msg,
		      const char *prefix, unsigned int n)
{
	char *name = safe_filename(part_filename(part));
	char *path;
	int fd;

	if (name[0] == '\0') {
		/* no usable name: Courier's made-up one for -xPREFIX, the
		 * manual's attachmentN.dat when asking */
		free(name);
		name = prefix != NULL ? generated_name() :
			xasprintf("attachment%u.dat", n);
	}
	if (prefix != NULL) {
		fflush(stdout);
		fd = create_unique(prefix, name, &path);
	} else {
		char line[1024];

		char *type = shown_type(part);

		fprintf(stderr, "Extract %s? ", type);
		free(type);
		if (fgets(line, sizeof(line), stdin) == NULL ||
		    (line[0] != 'y' && line[0] != 'Y')) {
			free(name);
			return;
		}
		fprintf(stderr, "Filename [%s]: ", name);
		if (fgets(line, sizeof(line), stdin) != NULL &&
		    line[0] != '\n' && line[0] != '\0') {
			line[strcspn(line, "\r\n")] = '\0';
			path = xstrdup(line);
		} else {
			path = xstrdup(name);
		}
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
			  0644);
	}
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	extract_to_fd(part, msg, fd);
	if (close(fd) < 0) {
		perror(path);
		exit(1);
	}
	free(path);
	free(name);
}

static void extract_X(struct mime_part *part, struct message *msg,
		      char **argv)
{
	int fds[2], status;
	pid_t pid;
	char *ctype = shown_type(part);
	char *fname = safe_filename(part_filename(part));

	if (fname[0] == '\0') {
		free(fname);
		fname = generated_name();
	}
	if (pipe(fds) < 0) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		close(fds[1]);
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(127);
		close(fds[0]);
		setenv("CONTENT_TYPE", ctype, 1);
		setenv("FILENAME", fname, 1);
		/* as Courier's: no PATH search */
		execv(argv[0], argv);
		perror("exec");
		_exit(1);
	}
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	extract_to_fd(part, msg, fds[1]);
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(ctype);
	free(fname);
	/* as reformime(1) says: a failing program stops the extraction,
	 * and reformime exits with 20 plus its exit status */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;

		fprintf(stderr, "reformime: %s exited with status %d.\n",
			argv[0], code);
		exit(20 + code);
	}
}

/* ---- -m: a multipart/digest of messages in files ---- */

#define DIGEST_MAX_NAME (64 * 1024)

/* Feeds the whole file to the scan (or, scan NULL, copies it to stdout);
 * a file that cannot be opened: its name with the error, exit 1.  A read
 * error ends the file (a directory reads as empty, as Debian's). */
static void digest_file(const char *name, struct reformime_linescan *scan)
{
	char *buf = xmalloc(READ_SIZE);
	int fd = open(name, O_RDONLY);
	bool skip_line = false;

	if (fd < 0) {
		perror(name);
		exit(1);
	}
	for (;;) {
		ssize_t n = read(fd, buf, READ_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (scan != NULL) {
			reformime_linescan_feed(scan, buf, (size_t)n);
			continue;
		}
		/* as Debian's: a NUL byte cuts its line, line end
		 * included */
		for (ssize_t i = 0; i < n; i++) {
			if (skip_line) {
				skip_line = buf[i] != '\n';
			} else if (buf[i] == '\0') {
				skip_line = true;
			} else {
				putchar(buf[i]);
			}
		}
	}
	close(fd);
	free(buf);
}

/* The file names: the arguments, or else the lines of standard input
 * (taken as they are, the last one without a line end too). */
static char **digest_names(char **argv, size_t *count_r)
{
	char **names = NULL;
	size_t count = 0;
	struct str line;
	int c;

	if (argv[0] != NULL) {
		for (; argv[count] != NULL; count++)
			;
		*count_r = count;
		return argv;
	}
	str_init(&line, 256);
	for (;;) {
		c = getchar();
		if (c == EOF && str_len(&line) == 0)
			break;
		if (c != EOF && c != '\n') {
			if (str_len(&line) >= DIGEST_MAX_NAME) {
				fputs("reformime: file name too long\n",
				      stderr);
				exit(1);
			}
			str_append_c(&line, (char)c);
			continue;
		}
		names = xreallocarray(names, count + 2, sizeof(char *));
		names[count++] = xstrndup(str_c(&line), str_len(&line));
		names[count] = NULL;
		str_clear(&line);
		if (c == EOF)
			break;
	}
	str_free(&line);
	*count_r = count;
	return names;
}

/* -m: every file is opened and read first (the boundary
 * "reformime_TIME_N" takes the first N that no line of any file starts
 * with, after "--"); no output when one cannot be opened, nor when there
 * are no files. */
static void make_digest(char **argv)
{
	size_t count;
	char **names = digest_names(argv, &count);
	long now = (long)time(NULL);
	char *boundary = NULL;

	if (count == 0)
		return;
	for (unsigned int n = 1;; n++) {
		struct reformime_linescan scan;
		char *prefix;

		free(boundary);
		boundary = xasprintf("reformime_%ld_%u", now, n);
		prefix = xasprintf("--%s", boundary);
		reformime_linescan_init(&scan, prefix);
		for (size_t i = 0; i < count && !scan.found; i++)
			digest_file(names[i], &scan);
		free(prefix);
		if (!scan.found)
			break;
	}
	printf("Mime-Version:1.0\n"
	       "Content-Type: multipart/digest; boundary=\"%s\"\n\n%s",
	       boundary, REFORMIME_PREAMBLE);
	for (size_t i = 0; i < count; i++) {
		printf("\n--%s\nContent-Type: message/rfc822\n\n", boundary);
		digest_file(names[i], NULL);
	}
	printf("\n--%s--\n", boundary);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("reformime: write");
		exit(1);
	}
	if (names != argv) {
		for (size_t i = 0; i < count; i++)
			free(names[i]);
		free(names);
	}
	free(boundary);
}

/* ---- -u: headers and text as one UTF-8 stream ---- */

/* A header field as -u shows it: the name, ": ", the value without the
 * blanks around it, each line break a space, RFC 2047 words decoded
 * (address lists shown as -H does, on one line). */
static void utf8_field_cb(const struct rfc822_header_field *f, void *context)
{
	const char *raw = (const char *)context + f->offset;
	size_t size = (size_t)f->size, colon = 0, vs, ve;
	struct str v, out;
	char *name;

	while (colon < size && raw[colon] != ':')
		colon++;
	if (colon == size) {
		/* a line without a colon is a name with an empty value,
		 * as Courier's: the line, then ": " */
		while (size > 0 && (raw[size - 1] == '\n' ||
				    raw[size - 1] == '\r'))
			size--;
		printf("%.*s\n: \n", (int)size, raw);
		return;
	}
	vs = colon + 1;
	ve = size;
	while (vs < ve && (raw[vs] == ' ' || raw[vs] == '\t'))
		vs++;
	while (ve > vs && (raw[ve - 1] == ' ' || raw[ve - 1] == '\t' ||
			   raw[ve - 1] == '\r' || raw[ve - 1] == '\n'))
		ve--;
	str_init(&v, ve - vs + 1);
	for (size_t k = vs; k < ve; k++) {
		if (raw[k] == '\r' && k + 1 < ve && raw[k + 1] == '\n')
			continue;
		str_append_c(&v, raw[k] == '\n' ? ' ' : raw[k]);
	}
	str_init(&out, str_len(&v) * 2 + 64);
	name = xstrndup(f->name, f->name_len);
	if (reformime_is_addr_header(name))
		reformime_addr_header(&out, str_c(&v), str_len(&v),
				      REFORMIME_ADDR_INLINE, "utf-8");
	else
		rfc2047_decode(&out, str_c(&v), str_len(&v));
	printf("%.*s: %s\n", (int)colon, raw, str_c(&out));
	free(name);
	str_free(&out);
	str_free(&v);
}

static void utf8_header(const struct mime_part *part, struct message *msg)
{
	size_t n = (size_t)(part->body_offset - part->header_offset);
	char *buf;
	struct rfc822_header_parser *hp;
	size_t consumed;

	if (n > REFORMIME_DSN_MAX_SIZE)
		n = REFORMIME_DSN_MAX_SIZE;
	buf = xmalloc(n + 1);
	n = msg_read(msg, part->header_offset, buf, n);
	buf[n] = '\0';
	hp = rfc822_header_parser_create(NULL);
	if (rfc822_header_parser_feed(hp, buf, n, &consumed, utf8_field_cb,
				      buf) == 0)
		rfc822_header_parser_finish(hp, utf8_field_cb, buf);
	rfc822_header_parser_destroy(&hp);
	free(buf);
}

/* Appends src; in US-ASCII text, bytes that are not ASCII are dropped
 * (they do not convert), as Debian's. */
static void append_text(struct str *dest, const struct str *src, bool ascii)
{
	if (!ascii) {
		str_append_n(dest, str_c(src), str_len(src));
		return;
	}
	for (size_t i = 0; i < str_len(src); i++) {
		if ((unsigned char)src->data[i] < 0x80)
			str_append_c(dest, src->data[i]);
	}
}

/* A text part's content, decoded and converted to UTF-8; nothing when
 * its charset is unknown. */
static void utf8_text(const struct mime_part *part, struct message *msg)
{
	const char *cs = courier_charset(part);
	struct charset_translation *t = NULL;
	struct mime_decoder dec;
	struct str dout, cout;
	size_t chunk = REFORMIME_CHUNK;
	char *buf;
	const char *error;
	uint64_t end = part->end_offset;
	bool ascii;

	if (cs == NULL)
		cs = "us-ascii";
	ascii = strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0;
	if (!charset_is_utf8(cs)) {
		t = charset_translation_create(cs, &error);
		if (t == NULL)
			return;
	}
	if (part->parent != NULL &&
	    (part->parent->flags & MIME_PART_FLAG_MESSAGE) != 0)
		end = full_end(part, msg);
	else if (part->parent == NULL)
		end = msg->size;
	mime_decoder_init(&dec, mime_encoding_from_name(part->encoding, NULL));
	buf = xmalloc(chunk);
	str_init(&dout, chunk + 1024);
	str_init(&cout, chunk * 2 + 1024);
	for (uint64_t off = part->body_offset; off < end; off += chunk) {
		size_t n = end - off < chunk ? (size_t)(end - off) : chunk;

		n = msg_read(msg, off, buf, n);
		if (n == 0)
			break;
		str_clear(&dout);
		mime_decoder_feed(&dec, buf, n, &dout);
		str_clear(&cout);
		if (t != NULL)
			charset_translation_feed(t, str_c(&dout),
						 str_len(&dout), &cout);
		else
			append_text(&cout, &dout, ascii);
		fwrite(str_c(&cout), 1, str_len(&cout), stdout);
	}
	str_clear(&dout);
	mime_decoder_finish(&dec, &dout);
	str_clear(&cout);
	if (t != NULL) {
		charset_translation_feed(t, str_c(&dout), str_len(&dout),
					 &cout);
		charset_translation_finish(t, &cout);
		charset_translation_destroy(&t);
	} else {
		append_text(&cout, &dout, ascii);
	}
	fwrite(str_c(&cout), 1, str_len(&cout), stdout);
	str_free(&dout);
	str_free(&cout);
	free(buf);
}

/* -u: every part's header, then the content of text parts. */
static void utf8_stream(const struct mime_part *root, struct message *msg)
{
	for (const struct mime_part *part = root; part != NULL;
	     part = mime_part_walk_next(part)) {
		utf8_header(part, msg);
		if (is_leaf(part) && (strcasecmp(part->type, "text") == 0 ||
				      (strcasecmp(part->type, "message") == 0 &&
				       strcasecmp(part->subtype,
						  "delivery-status") == 0)))
			utf8_text(part, msg);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("reformime: write");
		exit(1);
	}
}

/* -h, -H, -o, -O: one header value, printed with a line end. */
static int header_option(char opt, const char *value, const char *charset)
{
	struct str out;
	size_t len = strlen(value);

	str_init(&out, len * 4 + 64);
	switch (opt) {
	case 'h':
		rfc2047_decode(&out, value, len);
		break;
	case 'H':
		reformime_addr_header(&out, value, len,
				      REFORMIME_ADDR_DISPLAY, charset);
		break;
	case 'o':
		reformime_encode_words(&out, value, len, charset, false);
		break;
	default:
		reformime_addr_header(&out, value, len,
				      REFORMIME_ADDR_ENCODE, charset);
		break;
	}
	printf("%s\n", str_c(&out));
	str_free(&out);
	return 0;
}

int main(int argc, char **argv)
{
	struct mime_parser_settings set;
	struct message msg;
	struct mime_part *root, *sel = NULL;
	const char *section = NULL, *xprefix = NULL;
	bool opt_i = false, opt_e = false, opt_x = false, opt_X = false;
	char **xargv = NULL;
	const char *charset = NULL;
	int i, rewrite_mode = -1, dsn = 0;
	char hopt = 0;
	const char *hvalue = NULL;
	bool opt_u = false;

	setlocale(LC_ALL, "");
	default_charset = getenv("MM_CHARSET");
	if (default_charset == NULL || default_charset[0] == '\0')
		default_charset = nl_langinfo(CODESET);
	if (default_charset == NULL || default_charset[0] == '\0' ||
	    strcmp(default_charset, "ANSI_X3.4-1968") == 0)
		default_charset = "US-ASCII";

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-i") == 0)
			opt_i = true;
		else if (strcmp(a, "-e") == 0)
			opt_e = true;
		else if (strcmp(a, "-d") == 0)
			dsn = 1;
		else if (strcmp(a, "-D") == 0)
			dsn = 2;
		else if (strcmp(a, "-r") == 0)
			rewrite_mode = REFORMIME_RW;
		else if (strcmp(a, "-r7") == 0)
			rewrite_mode = REFORMIME_RW_7BIT;
		else if (strcmp(a, "-r8") == 0)
			rewrite_mode = REFORMIME_RW_8BIT;
		else if (strncmp(a, "-c", 2) == 0) {
			if (a[2] != '\0')
				charset = a + 2;
			else if (i + 1 < argc)
				charset = argv[++i];
			else
				usage();
		}
		else if (strncmp(a, "-s", 2) == 0) {
			if (a[2] != '\0')
				section = a + 2;
			else if (i + 1 < argc)
				section = argv[++i];
			else
				usage();
		} else if (strncmp(a, "-x", 2) == 0) {
			opt_x = true;
			if (a[2] != '\0')
				xprefix = a + 2;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "-H") == 0 ||
			   strcmp(a, "-o") == 0 || strcmp(a, "-O") == 0) {
			if (i + 1 >= argc)
				usage();
			hopt = a[1];
			hvalue = argv[++i];
		} else if (strcmp(a, "-u") == 0) {
			opt_u = true;
		} else if (strcmp(a, "-m") == 0) {
			/* the rest of the arguments are the files */
			make_digest(argv + i + 1);
			return 0;
		} else if (strcmp(a, "-X") == 0) {
			if (i + 1 >= argc)
				usage();
			opt_X = true;
			xargv = argv + i + 1;
			break;
		} else {
			usage();
		}
	}
	if (charset == NULL)
		charset = default_charset;
	if (hopt != 0)
		return header_option(hopt, hvalue, charset);

	memset(&set, 0, sizeof(set));
	set.require_mime_version = true;
	memset(&msg, 0, sizeof(msg));
	root = parse_message(&msg, &set,
			     rewrite_mode >= 0 && !opt_i && !opt_e);
	if (opt_u) {
		utf8_stream(root, &msg);
		mime_part_free(&root);
		return 0;
	}
	if (dsn != 0) {
		int rc = reformime_dsn(root, rewrite_read, &msg, dsn == 2,
				       stdout);

		mime_part_free(&root);
		return rc;
	}
	if (!opt_i && !opt_e && rewrite_mode >= 0) {
		rewrite_message(root, &msg, rewrite_mode, charset);
		mime_part_free(&root);
		return 0;
	}
	if (!opt_i && !opt_e && !opt_x && !opt_X) {
		print_sections(root);
		mime_part_free(&root);
		return 0;
	}

	if (section != NULL && strchr(section, ',') != NULL) {
		/* -s a,b,c: each section in turn, with the other options */
		char **list = str_split(section, ",");

		for (char **s = list; *s != NULL; s++) {
			sel = find_courier_section(root, *s);
			if (sel == NULL) {
				fprintf(stderr, "reformime: MIME section %s "
					"not found.\n", *s);
				exit(1);
			}
			if (opt_i)
				print_info(sel, &msg, true);
			else if (opt_e)
				extract_to_fd(sel, &msg, STDOUT_FILENO);
			else if (extractable(sel) && opt_X)
				extract_X(sel, &msg, xargv);
			else if (extractable(sel))
				extract_x(sel, &msg, xprefix, 1);
		}
		str_split_free(&list);
		mime_part_free(&root);
		return 0;
	}
	if (section != NULL) {
		sel = find_courier_section(root, section);
		if (sel == NULL) {
			fprintf(stderr, "reformime: MIME section %s not "
				"found.\n", section);
			exit(1);
		}
	}
	if (sel != NULL && !opt_i && !opt_e && !extractable(sel)) {
		/* as Debian's: -x/-X of a multipart or message section */
		fprintf(stderr, "reformime: MIME section %s is a compound "
			"section.\n", section);
		exit(1);
	}
	if (opt_i) {
		print_info(sel != NULL ? sel : root, &msg, sel != NULL);
	} else if (opt_e) {
		if (sel == NULL) {
			fprintf(stderr, "reformime: -e needs -s section\n");
			exit(1);
		}
		extract_to_fd(sel, &msg, STDOUT_FILENO);
	} else {
		unsigned int n = 0;
		struct mime_part *part = sel != NULL ? sel : root;
		const struct mime_part *end = NULL;

		if (sel != NULL) {
			/* the parts inside sel: stop at its next sibling */
			const struct mime_part *q = sel;

			while (q != NULL && q->next == NULL)
				q = q->parent;
			end = q != NULL ? q->next : NULL;
		}
		for (; part != NULL && part != end;
		     part = mime_part_walk_next(part)) {
			if (!extractable(part))
				continue;
			n++;
			if (opt_X)
				extract_X(part, &msg, xargv);
			else
				extract_x(part, &msg, xprefix, n);
		}
	}
	mime_part_free(&root);
	return 0;
}
