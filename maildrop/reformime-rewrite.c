/* reformime-rewrite.c: reformime -r/-r7/-r8, rewriting a parsed message
 * with standard MIME headers and converted transfer encodings as
 * Courier's reformime does (see reformime.h). */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "str.h"
#include "mime-decode.h"
#include "rfc822-header.h"
#include "reformime.h"

static const char preamble_text[] = REFORMIME_PREAMBLE;

static void out_data(struct reformime_rewrite *rw, const void *p, size_t n)
{
	if (n > 0)
		fwrite(p, 1, n, rw->out);
}

static void out_str(struct reformime_rewrite *rw, const char *s)
{
	out_data(rw, s, strlen(s));
}

/* ---- boundary clashes ---- */

void reformime_linescan_init(struct reformime_linescan *s, const char *prefix)
{
	memset(s, 0, sizeof(*s));
	s->prefix = prefix;
	s->len = strlen(prefix);
	s->bol = true;
}

void reformime_linescan_feed(struct reformime_linescan *s, const void *data,
			     size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n && !s->found; i++) {
		if (p[i] == '\n') {
			s->bol = true;
			s->matched = 0;
		} else if (s->bol) {
			if (tolower(p[i]) !=
			    tolower((unsigned char)s->prefix[s->matched])) {
				s->bol = false;
			} else if (++s->matched == s->len) {
				s->found = true;
			}
		}
	}
}

/* ---- Content-Type parameters ---- */

static bool needs_quotes(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		/* Courier quotes all but letters, digits and '-' */
		if (!isalnum(c) && c != '-')
			return true;
	}
	return false;
}

/* Skips a comment starting at v[*i] == '(' (nested, with quoted pairs);
 * returns false, leaving *i alone, when it is not closed. */
static bool skip_comment(const char *v, size_t len, size_t *i)
{
	unsigned int depth = 0;

	for (size_t k = *i; k < len; k++) {
		if (v[k] == '\\' && k + 1 < len)
			k++;
		else if (v[k] == '(')
			depth++;
		else if (v[k] == ')' && --depth == 0) {
			*i = k + 1;
			return true;
		}
	}
	return false;
}

/* Collects the words of v from *i up to a byte of stop (or the end),
 * Courier-style: whitespace and comments dropped, quoted strings
 * unquoted (their backslashes kept), everything else as is. */
static void collect(const char *v, size_t len, size_t *i, const char *stop,
		    struct str *dest)
{
	while (*i < len && strchr(stop, v[*i]) == NULL) {
		char c = v[*i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '\0') {
			(*i)++;
		} else if (c == '(') {
			if (skip_comment(v, len, i))
				continue;
			/* as Courier's: a comment that is not closed is
			 * taken as text, up to the end of the value */
			str_append_n(dest, v + *i, len - *i);
			*i = len;
		} else if (c == '"') {
			for ((*i)++; *i < len && v[*i] != '"'; (*i)++) {
				if (v[*i] == '\\' && *i + 1 < len)
					str_append_c(dest, v[(*i)++]);
				str_append_c(dest, v[*i]);
			}
			if (*i < len)
				(*i)++;
		} else {
			str_append_c(dest, c);
			(*i)++;
		}
	}
}

void reformime_params(struct str *dest, const char *value, size_t len,
		      const char *skip, bool *has_charset_r)
{
	struct str name, val;
	size_t i = 0;

	*has_charset_r = false;
	str_init(&name, 32);
	str_init(&val, 64);
	/* the type: up to the first ';' */
	collect(value, len, &i, ";", &name);
	while (i < len) {
		i++;	/* ';' */
		str_clear(&name);
		str_clear(&val);
		collect(value, len, &i, ";=", &name);
		if (i >= len || value[i] != '=')
			continue;	/* no '=': dropped */
		i++;
		collect(value, len, &i, ";", &val);
		str_lcase(name.data);
		if (str_len(&name) == 0 ||
		    (skip != NULL && strcmp(str_c(&name), skip) == 0))
			continue;
		if (strcmp(str_c(&name), "charset") == 0) {
			str_lcase(val.data);
			*has_charset_r = true;
		}
		str_printfa(dest, "; %s=", str_c(&name));
		if (!needs_quotes(str_c(&val), str_len(&val))) {
			str_append_n(dest, str_c(&val), str_len(&val));
			continue;
		}
		str_append_c(dest, '"');
		for (size_t k = 0; k < str_len(&val); k++) {
			if (val.data[k] == '\\' || val.data[k] == '"')
				str_append_c(dest, '\\');
			str_append_c(dest, val.data[k]);
		}
		str_append_c(dest, '"');
	}
	str_free(&name);
	str_free(&val);
}

/* ---- reading back ---- */

static size_t rw_read(struct reformime_rewrite *rw, uint64_t off, void *buf,
		      size_t len)
{
	size_t done = 0;

	while (done < len && off + done < rw->size) {
		size_t n = rw->read(rw->context, off + done,
				    (char *)buf + done, len - done);

		if (n == 0)
			break;
		done += n;
	}
	return done;
}

static int rw_byte(struct reformime_rewrite *rw, uint64_t off)
{
	unsigned char c;

	return rw_read(rw, off, &c, 1) == 1 ? c : -1;
}

/* A part that is a message: the root, or the one inside message/rfc822. */
static bool is_message(const struct mime_part *part)
{
	return part->parent == NULL ||
		(part->parent->flags & MIME_PART_FLAG_MESSAGE) != 0;
}

static bool is_leaf(const struct mime_part *part)
{
	return (part->flags & (MIME_PART_FLAG_MULTIPART |
			       MIME_PART_FLAG_MESSAGE)) == 0;
}

/* Where a leaf's body ends as Courier sees it: a message's body runs to
 * the end of the line before the boundary that ends its parent part
 * (line end included); a body part's stops before that line end. */
static uint64_t body_end(const struct mime_part *part,
			 struct reformime_rewrite *rw)
{
	uint64_t e = part->end_offset;

	if (!is_message(part)) {
		/* the last part of a multipart without its closing
		 * boundary: the message's last line end is the (missing)
		 * boundary's, as Courier writes it */
		if (e == rw->size && e > part->body_offset &&
		    part->parent != NULL &&
		    (part->parent->flags & MIME_PART_FLAG_MULTIPART) != 0 &&
		    rw_byte(rw, e - 1) == '\n') {
			e--;
			if (e > part->body_offset && rw_byte(rw, e - 1) == '\r')
				e--;
		}
		return e;
	}
	/* a message whose header a boundary cut has no body at all */
	if ((part->flags & MIME_PART_FLAG_NO_HEADER_END) != 0)
		return e;
	if (rw_byte(rw, e) == '\n')
		return e + 1;
	if (rw_byte(rw, e) == '\r' && rw_byte(rw, e + 1) == '\n')
		return e + 2;
	return e;
}

/* ---- headers ---- */

struct header_state {
	struct reformime_rewrite *rw;
	const struct mime_part *part;
	const char *raw;	/* header block */
	char *content_type;	/* unfolded Content-Type value, or NULL */
	char *encoding;		/* the new Content-Transfer-Encoding */
	bool mime_version_seen;
	bool block_written;
	bool collecting;	/* first pass: only find Content-Type */
};

static void write_mime_block(struct header_state *hs)
{
	struct reformime_rewrite *rw = hs->rw;
	const struct mime_part *part = hs->part;
	bool multipart = (part->flags & MIME_PART_FLAG_MULTIPART) != 0;
	bool has_charset = false;
	struct str ct;

	hs->block_written = true;
	str_init(&ct, 128);
	if (is_message(part))
		out_str(rw, "Mime-Version: 1.0\n");
	if (hs->content_type != NULL && part->type_text != NULL &&
	    (!is_message(part) ||
	     (part->flags & MIME_PART_FLAG_MIME_VERSION) != 0)) {
		const char *v = hs->content_type;
		size_t len = strlen(v), i = 0;

		collect(v, len, &i, ";", &ct);
		str_lcase(ct.data);
		/* a boundary parameter goes whatever the type, as
		 * Courier's */
		reformime_params(&ct, v, len, "boundary", &has_charset);
	} else {
		str_printfa(&ct, "%s/%s", part->type, part->subtype);
	}
	if (!has_charset && strncmp(str_c(&ct), "text/", 5) == 0)
		str_printfa(&ct, "; charset=%s", rw->charset);
	if (multipart)
		str_printfa(&ct, "; boundary=\"%s-%u\"", rw->boundary_prefix,
			    rw->boundary_counter);
	out_str(rw, "Content-Type: ");
	out_data(rw, str_c(&ct), str_len(&ct));
	out_str(rw, "\n");
	if (hs->encoding != NULL) {
		out_str(rw, "Content-Transfer-Encoding: ");
		out_str(rw, hs->encoding);
		out_str(rw, "\n");
	}
	str_free(&ct);
}

static bool name_is(const struct rfc822_header_field *f, const char *name)
{
	return f->name_len == strlen(name) &&
		strncasecmp(f->name, name, f->name_len) == 0;
}

/* Writes a header field as Courier does: the name as written up to the
 * colon, ": ", the value without the blanks around it (folding inside
 * kept, CRs before line ends dropped); the name is whatever comes before
 * the first colon.  A line without a colon is taken whole as the name of a
 * field with an empty value. */
static void write_field(FILE *out, const char *p, size_t size)
{
	bool broken;
	const char *nul = memchr(p, '\0', size);

	/* Courier's field ends at a NUL */
	if (nul != NULL)
		size = (size_t)(nul - p);
	size_t colon = 0, vs, ve = size;

	while (colon < size && p[colon] != ':')
		colon++;
	broken = colon == size;
	for (size_t k = 0; k < colon; k++) {
		if (p[k] == '\r' && k + 1 < colon && p[k + 1] == '\n')
			continue;
		fputc(p[k], out);
	}
	if (broken && (colon == 0 || p[colon - 1] != '\n'))
		fputc('\n', out);
	fputs(": ", out);
	vs = colon < size ? colon + 1 : size;
	while (vs < ve && isspace((unsigned char)p[vs]))
		vs++;
	while (ve > vs && isspace((unsigned char)p[ve - 1]))
		ve--;
	for (size_t k = vs; k < ve; k++) {
		if (p[k] == '\r' && k + 1 < ve && p[k + 1] == '\n')
			continue;
		fputc(p[k], out);
	}
	fputc('\n', out);
}

static void header_cb(const struct rfc822_header_field *f, void *context)
{
	struct header_state *hs = context;

	if (hs->collecting) {
		if (!f->broken && name_is(f, "content-type") &&
		    hs->content_type == NULL)
			hs->content_type = xstrndup(f->value, f->value_len);
		return;
	}
	if (!f->broken && name_is(f, "mime-version") && is_message(hs->part)) {
		if (!hs->block_written)
			write_mime_block(hs);
		return;
	}
	if (!f->broken && (name_is(f, "content-type") ||
			   name_is(f, "content-transfer-encoding")))
		return;
	write_field(hs->rw->out, hs->raw + f->offset, (size_t)f->size);
}
static void feed_header(struct header_state *hs, const char *buf, size_t n)
{
	struct rfc822_header_parser *hp = rfc822_header_parser_create(NULL);
	size_t consumed;

	if (rfc822_header_parser_feed(hp, buf, n, &consumed, header_cb,
				      hs) == 0)
		rfc822_header_parser_finish(hp, header_cb, hs);
	rfc822_header_parser_destroy(&hp);
}

/* Writes the part's header with the MIME block and the autoconversion
 * note (from, to), and the empty line. */
static void write_header(const struct mime_part *part,
			 struct reformime_rewrite *rw, const char *encoding,
			 const char *conv_from)
{
	struct header_state hs;
	size_t n = (size_t)(part->body_offset - part->header_offset);
	char *buf = xmalloc(n + 1);

	n = rw_read(rw, part->header_offset, buf, n);
	buf[n] = '\0';
	memset(&hs, 0, sizeof(hs));
	hs.rw = rw;
	hs.part = part;
	hs.raw = buf;
	hs.encoding = (char *)encoding;
	hs.collecting = true;
	feed_header(&hs, buf, n);
	hs.collecting = false;
	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0)
		rw->boundary_counter++;
	if (!is_message(part))
		write_mime_block(&hs);
	feed_header(&hs, buf, n);
	if (!hs.block_written)
		write_mime_block(&hs);
	if (conv_from != NULL)
		fprintf(rw->out, "X-Mime-Autoconverted: from %s to %s by %s\n",
			conv_from, encoding, rw->agent);
	out_str(rw, "\n");
	free(hs.content_type);
	free(buf);
}

/* ---- bodies ---- */

struct body_scan {
	bool has_8bit;
	size_t line, max_line;
};

static void scan(struct body_scan *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80)
			s->has_8bit = true;
		if (c == '\n') {
			s->line = 0;
		} else if (++s->line > s->max_line) {
			s->max_line = s->line;
		}
	}
}

enum body_action { BODY_COPY, BODY_QP_ENCODE, BODY_QP_DECODE };

/* Passes the body [start, end) through the action to the output, or
 * (out == false) only scans what the action would produce. */
static void body_pass(struct reformime_rewrite *rw, uint64_t start,
		      uint64_t end, enum body_action action, bool out,
		      struct body_scan *s)
{
	char *buf = xmalloc(REFORMIME_CHUNK);
	struct str conv;
	struct qp_encoder enc;
	struct qp_decoder dec;

	str_init(&conv, REFORMIME_CHUNK * 3 + 64);
	qp_encoder_init_flags(&enc, QP_ENCODER_MAKEMIME | QP_ENCODER_LF);
	qp_decoder_init(&dec);
	for (uint64_t off = start; off < end;) {
		size_t n = end - off < REFORMIME_CHUNK ?
			(size_t)(end - off) : REFORMIME_CHUNK;

		n = rw_read(rw, off, buf, n);
		if (n == 0)
			break;
		off += n;
		str_clear(&conv);
		if (action == BODY_QP_ENCODE)
			qp_encoder_feed(&enc, buf, n, &conv);
		else if (action == BODY_QP_DECODE)
			qp_decoder_feed(&dec, buf, n, &conv);
		else
			str_append_n(&conv, buf, n);
		if (s != NULL)
			scan(s, str_c(&conv), str_len(&conv));
		if (out)
			out_data(rw, str_c(&conv), str_len(&conv));
	}
	str_clear(&conv);
	if (action == BODY_QP_ENCODE)
		qp_encoder_finish(&enc, &conv);
	else if (action == BODY_QP_DECODE)
		qp_decoder_finish(&dec, &conv);
	if (s != NULL)
		scan(s, str_c(&conv), str_len(&conv));
	if (out)
		out_data(rw, str_c(&conv), str_len(&conv));
	str_free(&conv);
	free(buf);
}

static void rewrite_leaf(const struct mime_part *part,
			 struct reformime_rewrite *rw)
{
	const char *enc = (part->flags & MIME_PART_FLAG_DEFAULT_ENCODING) ?
		NULL : part->encoding;
	uint64_t start = part->body_offset, end = body_end(part, rw);
	enum body_action action = BODY_COPY;
	const char *new_enc, *from = NULL;
	struct body_scan s;

	if (end < start)
		end = start;
	memset(&s, 0, sizeof(s));
	if (enc != NULL && strcmp(enc, "base64") == 0) {
		new_enc = "base64";
	} else if (enc != NULL && strcmp(enc, "quoted-printable") == 0) {
		new_enc = "quoted-printable";
		if (rw->mode == REFORMIME_RW_8BIT) {
			body_pass(rw, start, end, BODY_QP_DECODE, false, &s);
			if (s.max_line <= REFORMIME_R8_MAX_LINE) {
				action = BODY_QP_DECODE;
				new_enc = s.has_8bit ? "8bit" : "7bit";
				from = enc;
			}
		}
	} else {
		body_pass(rw, start, end, BODY_COPY, false, &s);
		if (s.has_8bit && rw->mode == REFORMIME_RW_7BIT) {
			action = BODY_QP_ENCODE;
			new_enc = "quoted-printable";
			from = enc != NULL ? enc : "8bit";
		} else if (s.has_8bit) {
			new_enc = enc != NULL ? enc : "8bit";
		} else {
			new_enc = "7bit";
			if (enc != NULL && strcmp(enc, "7bit") != 0)
				from = enc;
		}
	}
	write_header(part, rw, new_enc, from);
	body_pass(rw, start, end, action, true, NULL);
}

static void rewrite_part(const struct mime_part *part,
			 struct reformime_rewrite *rw)
{
	if (is_leaf(part)) {
		rewrite_leaf(part, rw);
		return;
	}
	if ((part->flags & MIME_PART_FLAG_MESSAGE) != 0) {
		write_header(part, rw, NULL, NULL);
		if (part->children != NULL)
			rewrite_part(part->children, rw);
		return;
	}
	/* multipart: its boundary number is taken when the header is
	 * written, before the children take theirs */
	write_header(part, rw, NULL, NULL);
	unsigned int number = rw->boundary_counter;

	out_str(rw, preamble_text);
	for (const struct mime_part *c = part->children; c != NULL;
	     c = c->next) {
		fprintf(rw->out, "\n--%s-%u\n", rw->boundary_prefix, number);
		rewrite_part(c, rw);
	}
	fprintf(rw->out, "\n--%s-%u--\n", rw->boundary_prefix, number);
}

/* Scans [start, end) of the message, decoded as enc, for the line. */
static void clash_scan(struct reformime_rewrite *rw, uint64_t start,
		       uint64_t end, enum mime_encoding enc,
		       struct reformime_linescan *scan)
{
	char *buf = xmalloc(REFORMIME_CHUNK);
	struct mime_decoder dec;
	struct str conv;

	str_init(&conv, REFORMIME_CHUNK + 64);
	mime_decoder_init(&dec, enc);
	for (uint64_t off = start; off < end && !scan->found;) {
		size_t n = end - off < REFORMIME_CHUNK ?
			(size_t)(end - off) : REFORMIME_CHUNK;

		n = rw_read(rw, off, buf, n);
		if (n == 0)
			break;
		off += n;
		str_clear(&conv);
		mime_decoder_feed(&dec, buf, n, &conv);
		reformime_linescan_feed(scan, str_c(&conv), str_len(&conv));
	}
	str_clear(&conv);
	mime_decoder_finish(&dec, &conv);
	reformime_linescan_feed(scan, str_c(&conv), str_len(&conv));
	str_free(&conv);
	free(buf);
}

bool reformime_boundary_clash(const struct mime_part *root,
			      struct reformime_rewrite *rw, const char *prefix)
{
	struct reformime_linescan scan;
	char *line = xasprintf("--%s", prefix);

	reformime_linescan_init(&scan, line);
	/* the body as it is, then every quoted-printable leaf decoded
	 * (base64 ones are not, as Debian's) */
	clash_scan(rw, root->body_offset, rw->size, MIME_ENCODING_7BIT,
		   &scan);
	for (const struct mime_part *p = root; p != NULL && !scan.found;
	     p = mime_part_walk_next(p)) {
		enum mime_encoding enc;

		if (!is_leaf(p) ||
		    (p->flags & MIME_PART_FLAG_DEFAULT_ENCODING) != 0)
			continue;
		enc = mime_encoding_from_name(p->encoding, NULL);
		if (enc == MIME_ENCODING_QP)
			clash_scan(rw, p->body_offset, p->end_offset, enc,
				   &scan);
	}
	free(line);
	return scan.found;
}

void reformime_rewrite(const struct mime_part *root,
		       struct reformime_rewrite *rw)
{
	if (rw->boundary_counter == 0)
		rw->boundary_counter = 1;
	rewrite_part(root, rw);
}
