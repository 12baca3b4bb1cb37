/* mime-parser.c: streaming RFC 2045/2046 MIME parser building a structure
 * tree with offsets, sizes, line counts and Content-* fields per part. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "mime-decode.h"
#include "mime-parser.h"

/* "--" + boundary + "--" + one byte: enough to decide any line start. */
#define HOLD_MAX (MIME_PARSER_MAX_BOUNDARY + 5)

enum parser_state {
	STATE_HEADER,
	STATE_BODY,
};

struct mime_parser {
	struct mime_parser_limits limits;
	bool require_mime_version;
	struct mime_parser_callbacks cb;
	void *context;

	struct mime_part *root, *cur;
	enum parser_state state;
	unsigned int nparts;
	unsigned int all_flags;
	bool finished;

	uint64_t offset;	/* absolute offset of the next byte */
	uint64_t lines;		/* LFs before offset */
	struct rfc822_header_parser *hp;

	/* Open multiparts with a boundary, outermost first. */
	struct mime_part **stack;
	unsigned int stack_len, stack_size;
	bool boundaries_disabled;
	size_t need;		/* bytes needed to decide a line start */

	bool at_line_start;
	bool prev_cr;		/* last byte consumed was CR */
	unsigned int prev_eol_len; /* length of the line end before the
				      current line start (0 at the start) */
	bool skip_line;		/* consuming the rest of a boundary line */
	bool skip_to_header;	/* ... after which a new part's header */
	bool undecided;		/* body_scan stopped at an open line start */
	bool at_boundary;	/* parts are being closed by a boundary */
	bool drop_fields;	/* header fields do not set Content-* */

	char hold[HOLD_MAX];
	size_t hold_len;

	/* Body emission of the current leaf part. */
	char pending_eol[2];
	size_t pending_eol_len;
	bool leaf_output;	/* cur is a leaf in its body, with a callback */
	struct mime_decoder decoder;
	struct str decoded;
};

static void part_free(struct mime_part *part)
{
	struct mime_part *child, *next;

	for (child = part->children; child != NULL; child = next) {
		next = child->next;
		part_free(child);
	}
	free(part->type);
	free(part->subtype);
	free(part->type_text);
	mime_params_free(&part->type_params);
	free(part->disposition);
	mime_params_free(&part->disposition_params);
	free(part->id);
	free(part->description);
	free(part->language);
	free(part->location);
	free(part->md5);
	free(part->encoding);
	free(part->boundary);
	free(part);
}

void mime_part_free(struct mime_part **root)
{
	if (*root == NULL)
		return;
	part_free(*root);
	*root = NULL;
}

static struct mime_part *part_new(struct mime_parser *p,
				  struct mime_part *parent)
{
	struct mime_part *part = xcalloc(1, sizeof(*part));

	part->parent = parent;
	part->header_offset = part->body_offset = part->end_offset = p->offset;
	if (parent != NULL) {
		part->depth = parent->depth + 1;
		if (parent->last_child != NULL)
			parent->last_child->next = part;
		else
			parent->children = part;
		parent->last_child = part;
		part->index = ++parent->child_count;
	} else {
		part->index = 1;
	}
	p->nparts++;
	rfc822_header_parser_reset(p->hp);
	p->state = STATE_HEADER;
	p->cur = part;
	p->leaf_output = false;
	p->pending_eol_len = 0;
	return part;
}

struct mime_parser *
mime_parser_create(const struct mime_parser_settings *settings,
		   const struct mime_parser_callbacks *callbacks,
		   void *context)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));
	struct rfc822_header_limits hl;

	if (settings != NULL) {
		p->limits = settings->limits;
		p->require_mime_version = settings->require_mime_version;
	}
	if (p->limits.max_depth == 0)
		p->limits.max_depth = MIME_PARSER_DEFAULT_MAX_DEPTH;
	if (p->limits.max_parts == 0)
		p->limits.max_parts = MIME_PARSER_DEFAULT_MAX_PARTS;
	if (p->limits.max_header_size == 0)
		p->limits.max_header_size = MIME_PARSER_DEFAULT_MAX_HEADER_SIZE;
	if (p->limits.max_header_line == 0)
		p->limits.max_header_line = MIME_PARSER_DEFAULT_MAX_HEADER_LINE;
	if (callbacks != NULL)
		p->cb = *callbacks;
	p->context = context;

	hl.max_field_size = p->limits.max_header_line;
	hl.max_header_size = p->limits.max_header_size;
	p->hp = rfc822_header_parser_create(&hl);
	str_init(&p->decoded, 1024);
	p->at_line_start = true;
	p->root = part_new(p, NULL);
	return p;
}

void mime_parser_destroy(struct mime_parser **parser)
{
	struct mime_parser *p = *parser;

	if (p == NULL)
		return;
	if (p->root != NULL)
		mime_part_free(&p->root);
	rfc822_header_parser_destroy(&p->hp);
	free(p->stack);
	str_free(&p->decoded);
	free(p);
	*parser = NULL;
}

unsigned int mime_parser_get_flags(const struct mime_parser *p)
{
	return p->all_flags;
}

static void set_flag(struct mime_parser *p, struct mime_part *part,
		     unsigned int flag)
{
	part->flags |= flag;
	p->all_flags |= flag;
}

/* ---- header fields ---- */

static char *dup_value(const struct rfc822_header_field *f)
{
	return xmemdup(f->value, f->value_len);
}

static void replace(char **dst, char *value)
{
	free(*dst);
	*dst = value;
}

static bool all_token_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!mime_params_is_token_char((unsigned char)s[i]))
			return false;
	}
	return len > 0;
}

/* A Content-Type that is not "type/subtype" by RFC 2045: its type_text
 * decides, as in Courier (see mime-parser.h). */
static void type_from_text(struct mime_part *part)
{
	const char *t = part->type_text, *slash = strchr(t, '/');

	if (slash == NULL)
		return;
	if (all_token_chars(t, (size_t)(slash - t)) &&
	    all_token_chars(slash + 1, strlen(slash + 1))) {
		replace(&part->type, xstrndup(t, (size_t)(slash - t)));
		replace(&part->subtype, xstrdup(slash + 1));
	} else if (strncmp(t, "multipart/", 10) == 0) {
		replace(&part->type, xstrdup("multipart"));
		replace(&part->subtype, xstrdup("mixed"));
	}
}

static void header_field(const struct rfc822_header_field *f, void *context)
{
	struct mime_parser *p = context;
	struct mime_part *part = p->cur;
	const char *n = f->name;

	if (p->cb.header != NULL)
		p->cb.header(part, f, p->context);
	if (f->broken || p->drop_fields)
		return;
	if (f->name_len == 12 && strcasecmp(n, "mime-version") == 0) {
		set_flag(p, part, MIME_PART_FLAG_MIME_VERSION);
		return;
	}
	if (f->name_len < 10 || strncasecmp(n, "content-", 8) != 0)
		return;
	n += 8;
	if (strcasecmp(n, "type") == 0) {
		char *type, *subtype;

		mime_params_free(&part->type_params);
		if (mime_params_parse_content_type(f->value, f->value_len, 0,
						   &type, &subtype,
						   &part->type_params) == 0) {
			replace(&part->type, type);
			replace(&part->subtype, subtype);
		} else {
			replace(&part->type, NULL);
			replace(&part->subtype, NULL);
		}
		replace(&part->type_text,
			mime_params_type_text(f->value, f->value_len));
		if (part->type == NULL && part->type_text != NULL)
			type_from_text(part);
	} else if (strcasecmp(n, "transfer-encoding") == 0) {
		/* The token without comments and spaces, as Courier reads it
		 * ("8bi\r\n t" is 8bit). */
		char *v = mime_params_type_text(f->value, f->value_len);

		replace(&part->encoding, v);	/* NULL: the default */
	} else if (strcasecmp(n, "disposition") == 0) {
		char *disp;

		mime_params_free(&part->disposition_params);
		mime_params_parse_disposition(f->value, f->value_len, 0, &disp,
					      &part->disposition_params);
		replace(&part->disposition, disp);
	} else if (strcasecmp(n, "id") == 0) {
		replace(&part->id, dup_value(f));
	} else if (strcasecmp(n, "description") == 0) {
		replace(&part->description, dup_value(f));
	} else if (strcasecmp(n, "language") == 0) {
		replace(&part->language, dup_value(f));
	} else if (strcasecmp(n, "location") == 0) {
		replace(&part->location, dup_value(f));
	} else if (strcasecmp(n, "md5") == 0) {
		replace(&part->md5, dup_value(f));
	}
}

/* ---- part structure ---- */

static bool mime_honoured(const struct mime_parser *p,
			  const struct mime_part *part)
{
	const struct mime_part *q;

	if (!p->require_mime_version)
		return true;
	/* MIME-Version is needed in the header of the message (the root or
	 * an encapsulated message); body parts of a multipart inherit. */
	for (q = part; q != NULL; q = q->parent) {
		if ((q->flags & MIME_PART_FLAG_MIME_VERSION) != 0)
			return true;
		if (q->parent == NULL ||
		    (q->parent->flags & MIME_PART_FLAG_MESSAGE) != 0)
			return false;
	}
	return false;
}

static void set_default_type(struct mime_part *part)
{
	const struct mime_part *parent = part->parent;

	if (parent != NULL && (parent->flags & MIME_PART_FLAG_MULTIPART) != 0 &&
	    strcmp(parent->subtype, "digest") == 0) {
		replace(&part->type, xstrdup("message"));
		replace(&part->subtype, xstrdup("rfc822"));
	} else {
		replace(&part->type, xstrdup("text"));
		replace(&part->subtype, xstrdup("plain"));
	}
}

static void push_boundary(struct mime_parser *p, struct mime_part *part)
{
	if (p->stack_len == p->stack_size) {
		p->stack_size = p->stack_size == 0 ? 8 : p->stack_size * 2;
		p->stack = xreallocarray(p->stack, p->stack_size,
					 sizeof(*p->stack));
	}
	p->stack[p->stack_len++] = part;
	if (part->boundary_len + 5 > p->need)
		p->need = part->boundary_len + 5;
}

static void recompute_need(struct mime_parser *p)
{
	p->need = 0;
	for (unsigned int i = 0; i < p->stack_len; i++) {
		if (p->stack[i]->boundary_len + 5 > p->need)
			p->need = p->stack[i]->boundary_len + 5;
	}
}

/* Decides the type of the part whose header just ended, and what its body
 * holds.  Returns true if a new (encapsulated) part was started. */
static bool part_header_end(struct mime_parser *p, struct mime_part *part,
			    bool has_body)
{
	unsigned int hflags = rfc822_header_parser_get_flags(p->hp);
	bool unknown = false;

	part->header_done = true;
	part->body_offset = p->offset;
	part->header_size = part->body_offset - part->header_offset;
	part->header_lines = rfc822_header_parser_get_lines(p->hp);
	part->body_lines_start = p->lines;
	if ((hflags & RFC822_HEADER_FLAG_TOO_BIG) != 0)
		set_flag(p, part, MIME_PART_FLAG_HEADER_TOO_BIG);
	if ((hflags & RFC822_HEADER_FLAG_NO_END) != 0 || !has_body)
		set_flag(p, part, MIME_PART_FLAG_NO_HEADER_END);
	if ((hflags & (RFC822_HEADER_FLAG_NUL | RFC822_HEADER_FLAG_BARE_CR |
		       RFC822_HEADER_FLAG_BROKEN |
		       RFC822_HEADER_FLAG_TRUNCATED)) != 0)
		set_flag(p, part, MIME_PART_FLAG_HEADER_BROKEN);
	if ((hflags & RFC822_HEADER_FLAG_8BIT) != 0)
		set_flag(p, part, MIME_PART_FLAG_HEADER_8BIT);

	if (!mime_honoured(p, part)) {
		replace(&part->type, NULL);
		replace(&part->subtype, NULL);
		replace(&part->type_text, NULL);
		mime_params_free(&part->type_params);
		replace(&part->disposition, NULL);
		mime_params_free(&part->disposition_params);
	}
	if (part->type == NULL) {
		set_flag(p, part, MIME_PART_FLAG_DEFAULT_TYPE);
		set_default_type(part);
	}
	if (part->encoding == NULL) {
		part->encoding = xstrdup("7bit");
		part->flags |= MIME_PART_FLAG_DEFAULT_ENCODING;
	}
	mime_encoding_from_name(part->encoding, &unknown);
	if (unknown)
		set_flag(p, part, MIME_PART_FLAG_UNKNOWN_ENCODING);

	if (strcmp(part->type, "multipart") == 0) {
		const char *b = mime_params_get(&part->type_params, "boundary");
		size_t blen = b != NULL ? strlen(b) : 0;

		if (blen == 0 || blen > MIME_PARSER_MAX_BOUNDARY) {
			set_flag(p, part, MIME_PART_FLAG_BAD_BOUNDARY);
			replace(&part->type, xstrdup("text"));
			replace(&part->subtype, xstrdup("plain"));
		} else if (part->depth + 1 >= p->limits.max_depth) {
			set_flag(p, part, MIME_PART_FLAG_LIMIT_DEPTH);
		} else {
			set_flag(p, part, MIME_PART_FLAG_MULTIPART);
			part->boundary = xstrdup(b);
			part->boundary_len = blen;
			if (!p->boundaries_disabled && has_body)
				push_boundary(p, part);
		}
	} else if (strcmp(part->type, "message") == 0 &&
		   (strcmp(part->subtype, "rfc822") == 0 ||
		    strcmp(part->subtype, "global") == 0)) {
		if (part->depth + 1 >= p->limits.max_depth) {
			set_flag(p, part, MIME_PART_FLAG_LIMIT_DEPTH);
		} else if (p->nparts >= p->limits.max_parts) {
			set_flag(p, part, MIME_PART_FLAG_LIMIT_PARTS);
		} else if (has_body) {
			set_flag(p, part, MIME_PART_FLAG_MESSAGE);
		}
	}
	if (strcmp(part->type, "text") == 0)
		part->flags |= MIME_PART_FLAG_TEXT;

	if (p->cb.part_header_end != NULL)
		p->cb.part_header_end(part, p->context);
	if (!has_body)
		return false;
	if ((part->flags & MIME_PART_FLAG_MESSAGE) != 0) {
		part_new(p, part);
		return true;
	}
	p->state = STATE_BODY;
	p->pending_eol_len = 0;
	p->leaf_output = (part->flags & MIME_PART_FLAG_MULTIPART) == 0 &&
		(p->cb.body != NULL || p->cb.decoded_body != NULL);
	if (p->leaf_output && p->cb.decoded_body != NULL)
		mime_decoder_init(&p->decoder,
				  mime_encoding_from_name(part->encoding, NULL));
	return false;
}

static void emit_body(struct mime_parser *p, const char *data, size_t size)
{
	if (size == 0)
		return;
	if (p->cb.body != NULL)
		p->cb.body(p->cur, data, size, p->context);
	if (p->cb.decoded_body != NULL) {
		str_clear(&p->decoded);
		mime_decoder_feed(&p->decoder, data, size, &p->decoded);
		if (str_len(&p->decoded) > 0)
			p->cb.decoded_body(p->cur, str_c(&p->decoded),
					   str_len(&p->decoded), p->context);
	}
}

static void flush_pending_eol(struct mime_parser *p)
{
	if (p->pending_eol_len > 0) {
		size_t n = p->pending_eol_len;

		p->pending_eol_len = 0;
		emit_body(p, p->pending_eol, n);
	}
}

/* Ends part (and sets its sizes) at end/end_lines. */
static void part_close(struct mime_parser *p, struct mime_part *part,
		       uint64_t end, uint64_t end_lines)
{
	if (!part->header_done) {
		/* The part ended inside its header. */
		if (part == p->cur && p->state == STATE_HEADER) {
			/* A boundary or the end of the message cut the
			 * header: its last field, still
			 * waiting for a folded line, does not count for the
			 * part's type (Courier's reformime never sees it);
			 * the header callback still gets it. */
			p->drop_fields = true;
			rfc822_header_parser_finish(p->hp, header_field, p);
			p->drop_fields = false;
		}
		if (end < part->header_offset)
			end = part->header_offset;
		uint64_t save_off = p->offset, save_lines = p->lines;

		p->offset = end;
		p->lines = end_lines;
		part_header_end(p, part, false);
		p->offset = save_off;
		p->lines = save_lines;
		/* The line end that went to the boundary is not header. */
		if (part->header_lines > save_lines - end_lines)
			part->header_lines -= save_lines - end_lines;
		else
			part->header_lines = 0;
	}
	if (end < part->body_offset) {
		end = part->body_offset;
		end_lines = part->body_lines_start;
	}
	part->end_offset = end;
	part->body_size = end - part->body_offset;
	part->body_lines = end_lines >= part->body_lines_start ?
		end_lines - part->body_lines_start : 0;
	if (part == p->cur && p->leaf_output) {
		if (p->cb.decoded_body != NULL) {
			str_clear(&p->decoded);
			mime_decoder_finish(&p->decoder, &p->decoded);
			if (str_len(&p->decoded) > 0)
				p->cb.decoded_body(part, str_c(&p->decoded),
						   str_len(&p->decoded),
						   p->context);
		}
		p->leaf_output = false;
	}
	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0) {
		for (unsigned int i = 0; i < p->stack_len; i++) {
			if (p->stack[i] == part) {
				set_flag(p, part, MIME_PART_FLAG_UNTERMINATED);
				break;
			}
		}
	}
	if (p->cb.part_end != NULL)
		p->cb.part_end(part, p->context);
}

/* Closes parts from cur up to (not including) upto. */
static void close_until(struct mime_parser *p, struct mime_part *upto,
			uint64_t end, uint64_t end_lines)
{
	struct mime_part *part = p->cur;

	while (part != NULL && part != upto) {
		part_close(p, part, end, end_lines);
		part = part->parent;
		p->cur = part;
	}
}

/* Is the line start in data[0..len) a boundary?  full: len is the whole
 * line (without its line end).  Returns the stack index or -1. */
static int boundary_match(struct mime_parser *p, const char *data, size_t len,
			  bool *closing_r)
{
	if (len < 2 || data[0] != '-' || data[1] != '-')
		return -1;
	for (unsigned int i = 0; i < p->stack_len; i++) {
		const struct mime_part *m = p->stack[i];
		size_t bl = m->boundary_len;

		if (len >= bl + 2 && memcmp(data + 2, m->boundary, bl) == 0) {
			*closing_r = len >= bl + 4 && data[bl + 2] == '-' &&
				data[bl + 3] == '-';
			return (int)i;
		}
	}
	return -1;
}

/* A boundary line of stack[idx] starts at p->offset.  Returns false when
 * the part limit is reached: boundaries are then ignored and the line is
 * body of the current part. */
static bool boundary_found(struct mime_parser *p, unsigned int idx,
			   bool closing)
{
	struct mime_part *m = p->stack[idx];
	uint64_t end = p->offset, end_lines = p->lines;

	if (!closing && p->nparts >= p->limits.max_parts) {
		set_flag(p, p->cur, MIME_PART_FLAG_LIMIT_PARTS);
		set_flag(p, p->root, MIME_PART_FLAG_LIMIT_PARTS);
		p->boundaries_disabled = true;
		p->stack_len = 0;
		recompute_need(p);
		return false;
	}
	if (p->prev_eol_len > 0 && end >= p->prev_eol_len) {
		end -= p->prev_eol_len;
		end_lines--;
	}
	p->pending_eol_len = 0;	/* the line end belongs to the boundary */
	p->at_boundary = true;
	close_until(p, m, end, end_lines);
	p->at_boundary = false;
	p->cur = m;
	p->skip_line = true;
	p->leaf_output = false;
	/* After a closing boundary comes the epilogue of m. */
	p->stack_len = closing ? idx : idx + 1;
	p->skip_to_header = !closing;
	recompute_need(p);
	return true;
}

/* Emits body bytes [from, to) of the current leaf that end at a line
 * start or at the end of the data, holding back what may be the line end
 * before a boundary. */
static void emit_tail(struct mime_parser *p, const char *d, size_t from,
		      size_t to)
{
	size_t n = to - from, hold = 0;

	if (n == 0)
		return;
	if (d[to - 1] == '\n')
		hold = p->prev_eol_len <= n ? p->prev_eol_len : n;
	else if (d[to - 1] == '\r')
		hold = 1;
	if (n > hold) {
		flush_pending_eol(p);
		emit_body(p, d + from, n - hold);
	} else if (hold == 1 && d[to - 1] == '\n' && p->prev_eol_len == 2 &&
		   p->pending_eol_len == 1 && p->pending_eol[0] == '\r') {
		/* "\n" completes a held CR. */
		p->pending_eol[1] = '\n';
		p->pending_eol_len = 2;
		return;
	} else {
		flush_pending_eol(p);
	}
	memcpy(p->pending_eol, d + to - hold, hold);
	p->pending_eol_len = hold;
}

/* Emits the body bytes [from, pos) of the current leaf, pos being the
 * start of a boundary line: the line end before pos is not body. */
static void emit_before_boundary(struct mime_parser *p, const char *d,
				 size_t from, size_t pos)
{
	size_t eol = p->prev_eol_len;

	if (pos - from >= eol) {
		flush_pending_eol(p);
		emit_body(p, d + from, pos - from - eol);
	} else {
		/* Part of the line end is held: drop that part. */
		size_t in_pending = eol - (pos - from);

		if (p->pending_eol_len > in_pending)
			emit_body(p, p->pending_eol,
				  p->pending_eol_len - in_pending);
	}
	p->pending_eol_len = 0;
}

/* Consumes [pos, lf] (a line end at lf) and updates the line state. */
static inline void consume_line(struct mime_parser *p, const char *d,
				size_t pos, const char *lf)
{
	size_t n = (size_t)(lf - (d + pos)) + 1;

	p->prev_eol_len = (n >= 2 ? lf[-1] == '\r' : p->prev_cr) ? 2 : 1;
	p->prev_cr = false;
	p->offset += n;
	p->lines++;
	p->at_line_start = true;
}

/* Scans body bytes.  Returns the bytes consumed: fewer than size when a new
 * part's header begins, or when a line start cannot be decided yet
 * (p->undecided is then set; never when final). */
static size_t body_scan(struct mime_parser *p, const char *d, size_t size,
			bool final)
{
	size_t pos = 0, emit_from = 0;

	while (pos < size) {
		if (p->skip_line) {
			const char *lf = memchr(d + pos, '\n', size - pos);

			if (lf == NULL) {
				p->prev_cr = d[size - 1] == '\r';
				p->offset += size - pos;
				pos = emit_from = size;
				break;
			}
			consume_line(p, d, pos, lf);
			pos = emit_from = (size_t)(lf - d) + 1;
			p->skip_line = false;
			if (p->skip_to_header) {
				p->skip_to_header = false;
				part_new(p, p->cur);
				return pos;
			}
			continue;
		}
		if (p->stack_len == 0) {
			/* No boundary can follow: count lines, take it all. */
			const char *s = d + pos, *e = d + size, *lf;
			const char *last = NULL;

			while ((lf = memchr(s, '\n', (size_t)(e - s))) != NULL) {
				p->lines++;
				last = lf;
				s = lf + 1;
			}
			if (last != NULL)
				p->prev_eol_len = (last > d + pos ?
					last[-1] == '\r' : p->prev_cr) ? 2 : 1;
			p->at_line_start = d[size - 1] == '\n';
			p->prev_cr = d[size - 1] == '\r';
			p->offset += size - pos;
			pos = size;
			break;
		}
		if (p->at_line_start && d[pos] == '-') {
			size_t avail = size - pos;
			size_t n = avail < p->need ? avail : p->need;
			const char *lf = memchr(d + pos, '\n', n);
			size_t len = lf != NULL ? (size_t)(lf - (d + pos)) : n;
			bool closing = false;
			int idx;

			if (lf == NULL && n < p->need && !final) {
				p->undecided = true;
				break;
			}
			if (len > 0 && lf != NULL && d[pos + len - 1] == '\r')
				len--;
			idx = boundary_match(p, d + pos, len, &closing);
			if (idx >= 0 && !(!closing &&
					  p->nparts >= p->limits.max_parts)) {
				if (p->leaf_output)
					emit_before_boundary(p, d, emit_from,
							     pos);
				boundary_found(p, (unsigned int)idx, closing);
				emit_from = pos;
				continue;
			}
			if (idx >= 0) {
				/* Part limit: the line is body. */
				boundary_found(p, (unsigned int)idx, closing);
			}
		}
		const char *lf = memchr(d + pos, '\n', size - pos);

		if (lf == NULL) {
			p->prev_cr = d[size - 1] == '\r';
			p->offset += size - pos;
			p->at_line_start = false;
			pos = size;
			break;
		}
		consume_line(p, d, pos, lf);
		pos = (size_t)(lf - d) + 1;
	}
	if (p->leaf_output && pos > emit_from)
		emit_tail(p, d, emit_from, pos);
	return pos;
}

/* A boundary line inside a part's header ends the part there (as in
 * Courier: "--b" right after "--b" is an empty part).  Returns 1 when
 * d[0..size) starts with one (it is then handled), 0 when it does not,
 * -1 when more bytes are needed to know (p->undecided is set). */
static int header_boundary(struct mime_parser *p, const char *d, size_t size,
			   bool final)
{
	size_t n = size < p->need ? size : p->need;
	const char *lf = memchr(d, '\n', n);
	size_t len = lf != NULL ? (size_t)(lf - d) : n;
	bool closing = false;
	int idx;

	if (lf == NULL && n < p->need && !final) {
		p->undecided = true;
		return -1;
	}
	if (len > 0 && lf != NULL && d[len - 1] == '\r')
		len--;
	idx = boundary_match(p, d, len, &closing);
	if (idx < 0)
		return 0;
	if (!boundary_found(p, (unsigned int)idx, closing))
		return 0;	/* part limit: the line is header */
	p->state = STATE_BODY;
	return 1;
}

static size_t header_scan(struct mime_parser *p, const char *d, size_t size,
			  bool final)
{
	uint64_t lines_before = rfc822_header_parser_get_lines(p->hp);
	size_t consumed;
	int ret;

	if (p->stack_len > 0) {
		/* Boundaries are looked for at each line start, so the
		 * header parser gets one line at a time. */
		const char *lf;

		if (p->at_line_start && d[0] == '-') {
			ret = header_boundary(p, d, size, final);
			if (ret != 0)
				return 0;
		}
		lf = memchr(d, '\n', size);
		if (lf != NULL)
			size = (size_t)(lf - d) + 1;
	}
	ret = rfc822_header_parser_feed(p->hp, d, size, &consumed,
					header_field, p);

	p->offset += consumed;
	p->lines += rfc822_header_parser_get_lines(p->hp) - lines_before;
	if (consumed > 0) {
		bool cr_before = consumed >= 2 ? d[consumed - 2] == '\r' :
			p->prev_cr;

		p->prev_cr = d[consumed - 1] == '\r';
		p->at_line_start = d[consumed - 1] == '\n';
		if (p->at_line_start)
			p->prev_eol_len = cr_before ? 2 : 1;
	}
	if (ret > 0) {
		struct mime_part *part = p->cur;

		part_header_end(p, part, true);
	}
	return consumed;
}

static size_t scan(struct mime_parser *p, const char *d, size_t size,
		   bool final)
{
	if (p->state == STATE_HEADER)
		return header_scan(p, d, size, final);
	return body_scan(p, d, size, final);
}

void mime_parser_feed(struct mime_parser *p, const void *data, size_t size)
{
	const char *d = data;

	if (p->finished)
		return;
	while (size > 0 || p->hold_len > 0) {
		if (p->hold_len > 0) {
			/* Top up the held line start and retry it. */
			size_t take = HOLD_MAX - p->hold_len, c = 0;
			const char *lf;

			if (take > size)
				take = size;
			lf = take > 0 ? memchr(d, '\n', take) : NULL;
			if (lf != NULL)
				take = (size_t)(lf - d) + 1;
			memcpy(p->hold + p->hold_len, d, take);
			p->hold_len += take;
			d += take;
			size -= take;
			while (c < p->hold_len) {
				bool full = p->hold_len == HOLD_MAX;
				size_t r = scan(p, p->hold + c,
						p->hold_len - c, full);

				c += r;
				if (p->undecided) {
					p->undecided = false;
					break;
				}
			}
			memmove(p->hold, p->hold + c, p->hold_len - c);
			p->hold_len -= c;
			if (p->hold_len > 0 && size == 0)
				break;
			continue;
		}
		size_t r = scan(p, d, size, false);

		d += r;
		size -= r;
		if (p->undecided) {
			/* An open line start ends the data: keep it. */
			p->undecided = false;
			memcpy(p->hold, d, size);
			p->hold_len = size;
			break;
		}
	}
}

struct mime_part *mime_parser_finish(struct mime_parser *p)
{
	struct mime_part *root;

	if (p->finished)
		return NULL;
	while (p->hold_len > 0) {
		size_t r = scan(p, p->hold, p->hold_len, true);

		p->undecided = false;
		memmove(p->hold, p->hold + r, p->hold_len - r);
		p->hold_len -= r;
	}
	if (p->leaf_output)
		flush_pending_eol(p);
	close_until(p, NULL, p->offset, p->lines);
	p->finished = true;
	root = p->root;
	p->root = NULL;
	return root;
}

struct mime_part *mime_parse_buffer(const void *data, size_t size,
				    const struct mime_parser_settings *settings)
{
	struct mime_parser *p = mime_parser_create(settings, NULL, NULL);
	struct mime_part *root;

	mime_parser_feed(p, data, size);
	root = mime_parser_finish(p);
	mime_parser_destroy(&p);
	return root;
}

/* ---- tree helpers ---- */

const char *mime_part_param(const struct mime_part *part, const char *name)
{
	return mime_params_get(&part->type_params, name);
}

const char *mime_part_disposition_param(const struct mime_part *part,
					const char *name)
{
	return mime_params_get(&part->disposition_params, name);
}

const char *mime_part_charset(const struct mime_part *part)
{
	const char *cs = mime_part_param(part, "charset");

	if (cs != NULL && cs[0] != '\0')
		return cs;
	return (part->flags & MIME_PART_FLAG_TEXT) != 0 ? "us-ascii" : NULL;
}

bool mime_part_is_type(const struct mime_part *part, const char *type,
		       const char *subtype)
{
	if (part->type == NULL || strcasecmp(part->type, type) != 0)
		return false;
	return subtype == NULL || strcasecmp(part->subtype, subtype) == 0;
}

struct mime_part *mime_part_find_section(struct mime_part *root,
					 const char *section)
{
	struct mime_part *part = root;
	const char *s = section;

	if (*s == '\0')
		return root;
	while (*s != '\0') {
		unsigned long n = 0;

		if (*s < '1' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (unsigned long)(*s - '0');
			if (n > 1000000)
				return NULL;
			s++;
		}
		if (*s == '.') {
			s++;
			if (*s == '\0')
				return NULL;
		} else if (*s != '\0') {
			return NULL;
		}
		if ((part->flags & MIME_PART_FLAG_MESSAGE) != 0)
			part = part->children;
		if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0) {
			struct mime_part *c = part->children;

			while (c != NULL && c->index != n)
				c = c->next;
			if (c == NULL)
				return NULL;
			part = c;
		} else if (n != 1) {
			return NULL;
		}
	}
	return part;
}

void mime_part_get_section(const struct mime_part *part, struct str *dest)
{
	unsigned int nums[MIME_PARSER_DEFAULT_MAX_DEPTH + 1];
	unsigned int count = 0;
	const struct mime_part *q;

	for (q = part; q->parent != NULL && count < N_ELEMENTS(nums);
	     q = q->parent) {
		/* An encapsulated message has no number of its own. */
		if ((q->parent->flags & MIME_PART_FLAG_MESSAGE) != 0)
			continue;
		nums[count++] = q->index;
	}
	if (count == 0 && (part->flags & MIME_PART_FLAG_MULTIPART) == 0 &&
	    part->parent == NULL) {
		str_append(dest, "1");
		return;
	}
	for (unsigned int i = count; i > 0; i--) {
		str_printfa(dest, "%u", nums[i - 1]);
		if (i > 1)
			str_append_c(dest, '.');
	}
}

struct mime_part *mime_part_walk_next(const struct mime_part *part)
{
	if (part->children != NULL)
		return part->children;
	while (part != NULL) {
		if (part->next != NULL)
			return part->next;
		part = part->parent;
	}
	return NULL;
}
