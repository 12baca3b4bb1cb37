/* mdmsg.c: maildrop's message, its canonical lines and pattern matching. */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "charset.h"
#include "mdmsg.h"
#include "mdparse.h"
#include "mdsimple.h"
#include "mem.h"
#include "mime-parser.h"
#include "rfc2047.h"
#include "rfc822-addr.h"
#include "rfc822-header.h"

struct md_message *md_message_new(void)
{
	struct md_message *msg = xcalloc(1, sizeof(*msg));

	str_init(&msg->data, 4096);
	return msg;
}

static void free_lines(char ***lines, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*lines)[i]);
	x_free(*lines);
	*n = 0;
}

static void canon_reset(struct md_message *msg)
{
	free_lines(&msg->lines, &msg->nlines);
	x_free(msg->kinds);
	for (int i = 0; i < 8; i++) {
		free_lines(&msg->sel[i].v, &msg->sel[i].n);
		x_free(msg->sel[i].kind);
		msg->sel[i].done = false;
	}
	msg->cap = 0;
	msg->canon_done = false;
}

void md_message_free(struct md_message **msgp)
{
	struct md_message *msg = *msgp;

	if (msg == NULL)
		return;
	canon_reset(msg);
	str_free(&msg->data);
	free(msg);
	*msgp = NULL;
}

/* Finds the end of the top-level header and counts lines. */
static void scan(struct md_message *msg)
{
	const char *d = str_c(&msg->data);
	size_t len = str_len(&msg->data), i;

	msg->line_count = 0;
	msg->header_end = len;
	for (i = 0; i < len; i++) {
		if (d[i] == '\n')
			msg->line_count++;
	}
	if (len > 0 && d[len - 1] != '\n')
		msg->line_count++;
	/* the header ends at the first empty line */
	i = 0;
	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t end = nl == NULL ? len : (size_t)(nl - d) + 1;

		if (end - i == 1 || (end - i == 2 && d[i] == '\r')) {
			msg->header_end = end;
			return;
		}
		i = end;
	}
}

void md_message_set(struct md_message *msg, const void *data, size_t len)
{
	str_clear(&msg->data);
	str_append_n(&msg->data, data, len);
	canon_reset(msg);
	scan(msg);
}

int md_message_read_fd(struct md_message *msg, int fd, size_t max_size)
{
	char buf[65536];

	str_clear(&msg->data);
	canon_reset(msg);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		if (max_size != 0 && str_len(&msg->data) + (size_t)n > max_size) {
			errno = EFBIG;
			return -1;
		}
		str_append_n(&msg->data, buf, (size_t)n);
	}
	scan(msg);
	return 0;
}

static bool is_addr_header(const char *name, size_t len)
{
	static const char *const names[] = {
		"from", "to", "cc", "bcc", "reply-to", "sender",
		"resent-from", "resent-to", "resent-cc", "resent-bcc",
		"resent-sender",
	};

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
			return true;
	}
	return false;
}

/* An address list in canonical form, as Debian's maildrop shows it to
 * patterns: "name <addr>" (the comments of the name kept, the name
 * quoted when it is not plain words: "\"Eve (evil)\" <e@x>"; a comment
 * after a bare address is taken as the name) or a bare "addr", joined by
 * ", "; a group as "name: member, member;" ("name: ;" when empty).
 * NULL when it does not parse cleanly (the value is then kept as it
 * is). */
static char *canon_addresses(const char *value, size_t len)
{
	struct rfc822_addr_parser *p = rfc822_addr_parser_create(NULL);
	struct rfc822_addr_list *list = NULL;
	struct str out;
	bool ok = rfc822_addr_parse(p, value, len, &list, NULL) == 1 &&
		list != NULL && list->count > 0;
	bool sep = false;

	str_init(&out, len + 16);
	for (size_t i = 0; ok && i < list->count; i++) {
		const struct rfc822_addr *a = &list->addrs[i];
		const char *name = a->phrase != NULL ? a->phrase : a->name;

		if (a->type == RFC822_ADDR_GROUP_END) {
			str_append_c(&out, ';');
			sep = true;
			continue;
		}
		if (sep)
			str_append(&out, ", ");
		if (a->type == RFC822_ADDR_GROUP_START) {
			str_append(&out, name != NULL ? name : "");
			str_append(&out, ": ");
			sep = false;
			continue;
		}
		if (a->name != NULL) {
			rfc822_addr_format_name(&out, name);
			str_append(&out, " <");
			rfc822_addr_format_spec(&out, a);
			str_append_c(&out, '>');
		} else {
			rfc822_addr_format_spec(&out, a);
		}
		sep = true;
	}
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&p);
	if (!ok) {
		str_free(&out);
		return NULL;
	}
	return str_steal(&out);
}

/* "Name: value" from a raw field: folds become one space each. */
static char *canon_field(const char *raw, size_t len)
{
	struct str out, val;
	const char *colon = memchr(raw, ':', len);
	size_t i, nlen;
	char *ret;

	if (colon == NULL)
		return NULL;
	nlen = (size_t)(colon - raw);
	while (nlen > 0 && (raw[nlen - 1] == ' ' || raw[nlen - 1] == '\t'))
		nlen--;
	str_init(&val, len + 1);
	i = (size_t)(colon - raw) + 1;
	while (i < len && (raw[i] == ' ' || raw[i] == '\t'))
		i++;
	for (; i < len; i++) {
		if (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')
			continue;
		if (raw[i] == '\n') {
			str_append_c(&val, ' ');
			continue;
		}
		str_append_c(&val, raw[i]);
	}
	while (str_len(&val) > 0 &&
	       (str_c(&val)[str_len(&val) - 1] == ' ' ||
		str_c(&val)[str_len(&val) - 1] == '\t'))
		str_truncate(&val, str_len(&val) - 1);
	str_init(&out, len + 16);
	str_append_n(&out, raw, nlen);
	str_append(&out, ": ");
	if (is_addr_header(raw, nlen)) {
		char *c = canon_addresses(str_c(&val), str_len(&val));

		if (c != NULL) {
			str_clear(&val);
			str_append(&val, c);
			free(c);
		}
	}
	rfc2047_decode(&out, str_c(&val), str_len(&val));
	str_free(&val);
	ret = str_steal(&out);
	/* a NUL inside would cut the line: replace it */
	return ret;
}

struct canon_ctx {
	struct md_message *msg;
	struct str text;	/* decoded body of the current text part */
	bool in_text;
};

/* Adds a line; a pending partial line runs into it. */
static void push_line(struct canon_ctx *ctx, const char *line, size_t len,
		      unsigned char kind)
{
	struct md_message *msg = ctx->msg;
	char *l;

	l = xmemdup(line, len);
	if (msg->nlines == msg->cap) {
		msg->cap = msg->cap == 0 ? 64 : msg->cap * 2;
		msg->lines = xreallocarray(msg->lines, msg->cap, sizeof(*msg->lines));
		msg->kinds = xreallocarray(msg->kinds, msg->cap, 1);
	}
	msg->lines[msg->nlines] = l;
	msg->kinds[msg->nlines++] = kind;
}

/* Splits text into body lines; a last line without LF stays pending. */
static void push_text_lines(struct canon_ctx *ctx, const char *d, size_t len,
			    bool keep_partial)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t end = nl == NULL ? len : (size_t)(nl - d);
		size_t l = end - i;

		if (nl == NULL && keep_partial) {
			push_line(ctx, d + i, l, MD_LINE_BODY | MD_LINE_PARTIAL);
			break;
		}
		/* a CR before the LF stays, as in Debian's maildrop */
		push_line(ctx, d + i, l, MD_LINE_BODY);
		i = nl == NULL ? len : end + 1;
	}
}

static void cb_header(struct mime_part *part,
		      const struct rfc822_header_field *field, void *context)
{
	struct canon_ctx *ctx = context;
	const char *d = str_c(&ctx->msg->data);
	uint64_t off = part->header_offset + field->offset;
	char *line;

	if (off + field->size > str_len(&ctx->msg->data))
		return;
	line = canon_field(d + off, (size_t)field->size);
	if (line == NULL)
		return;
	push_line(ctx, line, strlen(line),
		  part->parent == NULL ? MD_LINE_MAIN_HEADER : MD_LINE_PART_HEADER);
	free(line);
}

static void cb_header_end(struct mime_part *part, void *context)
{
	struct canon_ctx *ctx = context;

	ctx->in_text = (part->flags & MIME_PART_FLAG_TEXT) != 0 &&
		(part->flags & (MIME_PART_FLAG_MULTIPART |
				MIME_PART_FLAG_MESSAGE)) == 0;
	str_clear(&ctx->text);
}

static void cb_decoded(struct mime_part *part, const void *data, size_t size,
		       void *context)
{
	struct canon_ctx *ctx = context;

	(void)part;
	if (ctx->in_text)
		str_append_n(&ctx->text, data, size);
}

static void cb_part_end(struct mime_part *part, void *context)
{
	struct canon_ctx *ctx = context;
	const char *cs;
	struct str utf8;

	if (!ctx->in_text || part->children != NULL)
		return;
	cs = mime_part_param(part, "charset");
	if (cs != NULL && cs[0] == '\0')
		cs = NULL;
	str_init(&utf8, str_len(&ctx->text) + 16);
	/* no charset: UTF-8 as Debian's maildrop takes it (8-bit text
	 * kept where it is valid UTF-8, not dropped as US-ASCII's) */
	charset_to_utf8(cs != NULL ? cs : "utf-8", str_c(&ctx->text),
			str_len(&ctx->text), &utf8);
	push_text_lines(ctx, str_c(&utf8), str_len(&utf8), true);
	/* a boundary after it (the part ends before the message does):
	 * its pending last line is seen at the end (see selected()); an
	 * empty part leaves that as the part before it left it */
	if (str_len(&utf8) > 0)
		ctx->msg->partial_closed = part->body_offset +
			part->body_size < str_len(&ctx->msg->data);
	str_free(&utf8);
	str_clear(&ctx->text);
	ctx->in_text = false;
}

static bool has_mime_version(const struct md_message *msg)
{
	char *v = md_message_header(msg, "MIME-Version");
	bool ret = v != NULL;

	free(v);
	return ret;
}

static void canon_build(struct md_message *msg)
{
	struct canon_ctx ctx;
	struct mime_parser_callbacks cbs;
	struct mime_parser_settings settings;
	struct mime_parser *parser;
	struct mime_part *root;
	bool mime;

	/* asked before every search: built once */
	if (msg->canon_done)
		return;
	mime = has_mime_version(msg);
	msg->partial_closed = false;
	/* what patterns see of 8-bit text is what Debian's maildrop
	 * (courier-unicode) makes of it: an invalid UTF-8 sequence in a
	 * header, a body or a converted part is dropped, not U+FFFD; US-ASCII
	 * drops bytes above 127 */
	charset_set_drop_invalid(true);
	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = msg;
	str_init(&ctx.text, 1024);
	memset(&cbs, 0, sizeof(cbs));
	memset(&settings, 0, sizeof(settings));
	settings.require_mime_version = true;
	cbs.header = cb_header;
	if (mime) {
		cbs.part_header_end = cb_header_end;
		cbs.decoded_body = cb_decoded;
		cbs.part_end = cb_part_end;
	} else {
		/* only the top-level header: stop at its end */
		settings.limits.max_depth = 1;
	}
	parser = mime_parser_create(&settings, &cbs, &ctx);
	if (mime) {
		mime_parser_feed(parser, str_c(&msg->data), str_len(&msg->data));
	} else {
		mime_parser_feed(parser, str_c(&msg->data), msg->header_end);
	}
	root = mime_parser_finish(parser);
	mime_part_free(&root);
	mime_parser_destroy(&parser);
	if (!mime) {
		struct str body;
		size_t blen = str_len(&msg->data) - msg->header_end;

		str_init(&body, blen + 1);
		charset_utf8_sanitize(&body, str_c(&msg->data) + msg->header_end,
				      blen);
		push_text_lines(&ctx, str_c(&body), str_len(&body), true);
		str_free(&body);
	}
	charset_set_drop_invalid(false);
	str_free(&ctx.text);
	msg->canon_done = true;
}

char *md_message_header(const struct md_message *msg, const char *name)
{
	const char *d = str_c(&msg->data);
	size_t len = msg->header_end, i = 0, nlen = strlen(name);

	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t end = nl == NULL ? len : (size_t)(nl - d) + 1;

		/* the field runs on over continuation lines */
		while (end < len && (d[end] == ' ' || d[end] == '\t')) {
			nl = memchr(d + end, '\n', len - end);
			end = nl == NULL ? len : (size_t)(nl - d) + 1;
		}
		if (end - i > nlen && strncasecmp(d + i, name, nlen) == 0) {
			size_t j = i + nlen;

			while (j < end && (d[j] == ' ' || d[j] == '\t'))
				j++;
			if (j < end && d[j] == ':') {
				char *c = canon_field(d + i, end - i);
				char *colon;

				if (c == NULL)
					return NULL;
				colon = strchr(c, ':');
				if (colon == NULL)
					return c;
				char *v = xstrdup(colon + 2 <= c + strlen(c) ?
						  colon + 2 : "");
				free(c);
				return v;
			}
		}
		i = end;
	}
	return NULL;
}

/* ---- patterns ---- */

/* A pattern in UTF mode is compiled without PCRE2_MATCH_INVALID_UTF,
 * which would make PCRE2 check every subject line for valid UTF-8 again
 * for every pattern (it ignores PCRE2_NO_UTF_CHECK then): a message's
 * lines are checked once (md_lines.utf8) and matched with
 * PCRE2_NO_UTF_CHECK.  A line that is not valid UTF-8 is matched by a
 * second compile with PCRE2_MATCH_INVALID_UTF, made when first needed,
 * so that the results are those of PCRE2_MATCH_INVALID_UTF alone.
 * A simple pattern (md_pattern_compile() in mdmsg.h) is compiled only
 * for a subject the simple matcher does not take. */
struct md_pattern {
	pcre2_code *code;	/* NULL: a simple pattern not compiled yet */
	pcre2_code *code_invalid; /* UTF mode, for invalid subjects */
	char *re;		/* the pattern, for code and code_invalid */
	size_t re_len;
	uint32_t opts;		/* code's compile options */
	bool utf;		/* code is in UTF mode */
	/* a simple pattern (mdsimple.h), matched without PCRE2 where
	 * that gives PCRE2's answer, or NULL */
	struct md_simple *simple;
	uint32_t npairs; /* capturing groups + 1 */
	FILE *trace;	/* VERBOSE 3: "Matching /re/ against line" */
	char *trace_re;
};

void md_pattern_set_trace(struct md_pattern *pat, FILE *stream,
			  const char *re)
{
	free(pat->trace_re);
	pat->trace_re = stream != NULL ? xstrdup(re) : NULL;
	pat->trace = stream;
}

/* The trace of one line tried; end is "\n" or "" (Debian's maildrop
 * writes the line a second time, without a line end, when it takes the
 * groups of the match it found). */
static void trace_line(const struct md_pattern *pat, const char *line,
		       const char *end)
{
	if (pat->trace != NULL)
		fprintf(pat->trace, "Matching /%s/ against %s%s",
			pat->trace_re, line, end);
}

static void trace_not_matched(const struct md_pattern *pat)
{
	if (pat->trace != NULL)
		fputs("Not matched.\n", pat->trace);
}

/* One match context (the limits) and one match block for every pattern
 * of the process: a match's offsets are copied out before the next
 * match, and PCRE2 keeps its backtracking frames in the match block, so
 * a filter with many patterns allocates them once instead of once per
 * pattern. */
static pcre2_match_context *md_match_ctx;
static pcre2_match_data *md_match_block;
static uint32_t md_match_block_pairs;

/* The shared match block with room for npairs offsets, or NULL when
 * PCRE2 cannot allocate it (the match then fails as an error). */
static pcre2_match_data *match_block(uint32_t npairs)
{
	if (md_match_ctx == NULL) {
		md_match_ctx = pcre2_match_context_create(NULL);
		if (md_match_ctx == NULL)
			return NULL;
		pcre2_set_match_limit(md_match_ctx, 1000000);
		pcre2_set_depth_limit(md_match_ctx, 10000);
	}
	if (md_match_block == NULL || md_match_block_pairs < npairs) {
		pcre2_match_data_free(md_match_block);
		md_match_block = pcre2_match_data_create(npairs, NULL);
		md_match_block_pairs = md_match_block != NULL ? npairs : 0;
	}
	return md_match_block;
}

enum md_subject_kind md_subject_kind(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x80 && s[i] != '\0')
			continue;
		if (!charset_utf8_is_valid(s + i, len - i))
			return MD_SUBJECT_INVALID;
		/* the only characters PCRE2's caseless UTF matching takes
		 * for ASCII letters (K, S) */
		if (memmem(s + i, len - i, "\xe2\x84\xaa", 3) != NULL ||
		    memmem(s + i, len - i, "\xc5\xbf", 2) != NULL)
			return MD_SUBJECT_UTF8_FOLDS;
		return MD_SUBJECT_UTF8;
	}
	return MD_SUBJECT_ASCII;
}

/* Is PCRE2's newline LF alone (what md_simple_exec() takes for a line
 * end that .* does not cross)? */
static bool newline_is_lf(void)
{
	static int known; /* 0: not asked, 1: LF, 2: other */
	uint32_t nl = 0;

	if (known == 0)
		known = pcre2_config(PCRE2_CONFIG_NEWLINE, &nl) >= 0 &&
			nl == PCRE2_NEWLINE_LF ? 1 : 2;
	return known == 1;
}

struct md_pattern *md_pattern_compile(const char *re, size_t len,
				      unsigned int flags, char **error_r)
{
	struct md_pattern *pat;
	uint32_t opts = PCRE2_UTF;
	int err;
	PCRE2_SIZE erroff;
	pcre2_code *code;
	uint32_t captures;

	if ((flags & MD_PAT_CASE) == 0)
		opts |= PCRE2_CASELESS;
	if ((flags & MD_PATTERN_NO_LITERAL) == 0) {
		struct md_simple *sp =
			md_simple_parse(re, len, (opts & PCRE2_CASELESS) != 0);

		if (sp != NULL &&
		    (!md_simple_has_any(sp) || newline_is_lf())) {
			/* ASCII: valid UTF-8, compiled in UTF mode when
			 * a subject needs it */
			pat = xcalloc(1, sizeof(*pat));
			pat->simple = sp;
			pat->opts = opts;
			pat->utf = true;
			pat->re = xmemdup(re, len);
			pat->re_len = len;
			pat->npairs = md_simple_groups(sp) + 1;
			return pat;
		}
		md_simple_free(&sp);
	}
	code = pcre2_compile((PCRE2_SPTR)re, len, opts, &err, &erroff, NULL);
	if (code == NULL) {
		/* not UTF-8: try it as bytes */
		opts &= ~(uint32_t)PCRE2_UTF;
		code = pcre2_compile((PCRE2_SPTR)re, len, opts, &err, &erroff,
				     NULL);
	}
	if (code == NULL) {
		PCRE2_UCHAR buf[256];

		pcre2_get_error_message(err, buf, sizeof(buf));
		/* Debian's words */
		*error_r = xasprintf("Invalid regular expression, offset %zu "
				     "of: %.*s: %s", (size_t)erroff, (int)len,
				     re, (const char *)buf);
		return NULL;
	}
	pat = xcalloc(1, sizeof(*pat));
	pat->code = code;
	pat->opts = opts;
	pat->utf = (opts & PCRE2_UTF) != 0;
	if (pat->utf) {
		pat->re = xmemdup(re, len);
		pat->re_len = len;
	}
	if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures) != 0)
		captures = 0;
	pat->npairs = captures + 1;
	return pat;
}

void md_pattern_free(struct md_pattern **patp)
{
	struct md_pattern *pat = *patp;

	if (pat == NULL)
		return;
	pcre2_code_free(pat->code);
	pcre2_code_free(pat->code_invalid);
	free(pat->re);
	md_simple_free(&pat->simple);
	free(pat->trace_re);
	free(pat);
	*patp = NULL;
}

void md_match_clear(struct md_match *m)
{
	for (size_t i = 0; i < m->ngroups; i++)
		free(m->groups[i]);
	x_free(m->groups);
	m->ngroups = 0;
}

/* The code to match a subject with: pat->code (compiled now for a
 * simple pattern), or for a subject that is not valid UTF-8 the
 * PCRE2_MATCH_INVALID_UTF compile (NULL if PCRE2 refuses it, which it
 * cannot for a pattern it compiled, or could compile, in UTF mode). */
static pcre2_code *code_for(struct md_pattern *pat, bool utf8)
{
	int err;
	PCRE2_SIZE erroff;

	if (!pat->utf || utf8) {
		if (pat->code == NULL)
			pat->code = pcre2_compile((PCRE2_SPTR)pat->re,
						  pat->re_len, pat->opts,
						  &err, &erroff, NULL);
		return pat->code;
	}
	if (pat->code_invalid == NULL)
		pat->code_invalid = pcre2_compile((PCRE2_SPTR)pat->re,
						  pat->re_len,
						  pat->opts |
						  PCRE2_MATCH_INVALID_UTF,
						  &err, &erroff, NULL);
	return pat->code_invalid;
}

int md_pattern_exec(struct md_pattern *pat, const char *subject, size_t len,
		    size_t start, size_t *end_r, struct md_match *m)
{
	return md_pattern_exec_checked(pat, subject, len,
				       md_subject_kind(subject, len), start,
				       end_r, m);
}

/* md_pattern_exec_checked() with the simple matcher. */
static int simple_exec(struct md_pattern *pat, const char *subject,
		       size_t len, size_t start, size_t *end_r,
		       struct md_match *m)
{
	size_t spans[2 * (MD_SIMPLE_MAX_GROUPS + 1)];

	if (!md_simple_exec(pat->simple, subject, len, start, spans))
		return 0;
	if (end_r != NULL)
		*end_r = spans[1] > spans[0] ? spans[1] : spans[1] + 1;
	if (m != NULL) {
		md_match_clear(m);
		m->groups = xcalloc(pat->npairs, sizeof(*m->groups));
		m->ngroups = pat->npairs;
		for (uint32_t i = 0; i < pat->npairs; i++)
			m->groups[i] = xmemdup(subject + spans[2 * i],
					       spans[2 * i + 1] -
					       spans[2 * i]);
	}
	return 1;
}

int md_pattern_exec_checked(struct md_pattern *pat, const char *subject,
			    size_t len, enum md_subject_kind kind,
			    size_t start, size_t *end_r, struct md_match *m)
{
	pcre2_match_data *md;
	pcre2_code *code;
	PCRE2_SIZE *ov;
	bool utf8 = kind != MD_SUBJECT_INVALID;
	int rc;

	if (pat->simple != NULL && start <= len &&
	    (kind == MD_SUBJECT_ASCII || kind == MD_SUBJECT_UTF8 ||
	     (kind == MD_SUBJECT_UTF8_FOLDS &&
	      md_simple_fold_safe(pat->simple))) &&
	    (start == len || ((unsigned char)subject[start] & 0xC0) != 0x80))
		return simple_exec(pat, subject, len, start, end_r, m);
	md = match_block(pat->npairs);
	/* PCRE2_NO_UTF_CHECK also promises that start is on a character
	 * boundary: a start inside a character (after an empty match, a
	 * foreach moves on by one byte) takes the checking path */
	if (utf8 && start < len && ((unsigned char)subject[start] & 0xC0) == 0x80)
		utf8 = false;
	code = code_for(pat, utf8);

	if (md == NULL || code == NULL)
		return -1;
	/* a valid subject needs no second check; an invalid one is
	 * matched by code_invalid, which checks it in pieces itself */
	rc = pcre2_match(code, (PCRE2_SPTR)subject, len, start,
			 utf8 && pat->utf ? PCRE2_NO_UTF_CHECK : 0, md,
			 md_match_ctx);

	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return -1;
	ov = pcre2_get_ovector_pointer(md);
	if (end_r != NULL) {
		*end_r = ov[1];
		if (ov[1] == ov[0])
			*end_r = ov[1] + 1; /* empty match: move on */
	}
	if (m != NULL) {
		uint32_t n = pat->npairs;

		md_match_clear(m);
		m->groups = xcalloc(n, sizeof(*m->groups));
		m->ngroups = n;
		for (uint32_t i = 0; i < n; i++) {
			if ((int)i < rc && ov[2 * i] != PCRE2_UNSET &&
			    ov[2 * i + 1] >= ov[2 * i])
				m->groups[i] = xmemdup(subject + ov[2 * i],
						       ov[2 * i + 1] - ov[2 * i]);
			else
				m->groups[i] = xstrdup("");
		}
	}
	return 1;
}

/* The line kinds the pattern options select. */
static unsigned char select_mask(unsigned int flags)
{
	unsigned char mask = 0;

	if ((flags & (MD_PAT_HEADER | MD_PAT_BODY | MD_PAT_MAIN_HEADER)) == 0)
		flags |= MD_PAT_HEADER;
	if ((flags & MD_PAT_HEADER) != 0)
		mask |= MD_LINE_MAIN_HEADER | MD_LINE_PART_HEADER;
	if ((flags & MD_PAT_MAIN_HEADER) != 0)
		mask |= MD_LINE_MAIN_HEADER;
	if ((flags & MD_PAT_BODY) != 0)
		mask |= MD_LINE_BODY;
	return mask;
}

/* Appends the line in cur (a copy) and its kind to sel, which has room
 * for *cap lines. */
static void sel_push(struct md_lines *sel, size_t *cap,
		     const struct str *cur)
{
	if (sel->n == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		sel->v = xreallocarray(sel->v, *cap, sizeof(*sel->v));
		sel->kind = xreallocarray(sel->kind, *cap, sizeof(*sel->kind));
	}
	sel->kind[sel->n] = (unsigned char)md_subject_kind(str_c(cur),
							   str_len(cur));
	sel->v[sel->n++] = xstrdup(str_c(cur));
}

/* The lines of the kinds in mask, partial lines joined to the next. */
static const struct md_lines *selected(struct md_message *msg,
				       unsigned char mask)
{
	struct md_lines *sel = &msg->sel[mask & 7];
	struct str cur;
	size_t cap = 0;

	canon_build(msg);
	if (sel->done)
		return sel;
	str_init(&cur, 256);
	for (size_t i = 0; i < msg->nlines; i++) {
		if ((msg->kinds[i] & mask) == 0)
			continue;
		str_append(&cur, msg->lines[i]);
		if ((msg->kinds[i] & MD_LINE_PARTIAL) != 0)
			continue;
		sel_push(sel, &cap, &cur);
		str_clear(&cur);
	}
	/* a last line without a line end is not seen (Debian's maildrop
	 * reads lines up to a '\n'), except the one the last text part
	 * of a multipart message leaves pending when a boundary ends that
	 * part, which Debian's sees */
	if (msg->partial_closed && str_len(&cur) > 0)
		sel_push(sel, &cap, &cur);
	str_free(&cur);
	sel->done = true;
	return sel;
}

int md_message_search(struct md_message *msg, struct md_pattern *pat,
		      unsigned int flags, bool weighted, double weight,
		      double factor, double *score_r, struct md_match *m)
{
	const struct md_lines *sel = selected(msg, select_mask(flags));
	double score = 0, w = weight;
	bool found = false;

	for (size_t i = 0; i < sel->n; i++) {
		const char *line = sel->v[i];
		int rc;

		trace_line(pat, line, "\n");
		rc = md_pattern_exec_checked(pat, line, strlen(line),
					     sel->kind[i], 0, NULL,
					     found ? NULL : m);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			trace_not_matched(pat);
			continue;
		}
		found = true;
		if (!weighted) {
			trace_line(pat, line, "");
			*score_r = 2;
			return 0;
		}
		score += w;
		w *= factor;
	}
	*score_r = weighted ? score : 0;
	return 0;
}

int md_string_foreach(const char *s, size_t len, struct md_pattern *pat,
		      md_foreach_cb *cb, void *context)
{
	size_t pos = 0;
	struct md_match m = { NULL, 0 };
	enum md_subject_kind kind = md_subject_kind(s, len);

	trace_line(pat, s, "\n");
	while (pos <= len) {
		size_t end;
		int rc = md_pattern_exec_checked(pat, s, len, kind, pos, &end,
						 &m);

		if (rc < 0) {
			md_match_clear(&m);
			return -1;
		}
		if (rc == 0)
			break;
		if (cb(&m, context) < 0) {
			md_match_clear(&m);
			return -1;
		}
		if (end <= pos)
			end = pos + 1;
		pos = end;
	}
	md_match_clear(&m);
	return 0;
}

int md_message_foreach(struct md_message *msg, struct md_pattern *pat,
		       unsigned int flags, md_foreach_cb *cb, void *context)
{
	const struct md_lines *sel = selected(msg, select_mask(flags));
	struct md_match m = { NULL, 0 };

	/* the first match of each line, as Debian's maildrop does */
	for (size_t i = 0; i < sel->n; i++) {
		const char *line = sel->v[i];
		int rc;

		trace_line(pat, line, "\n");
		rc = md_pattern_exec_checked(pat, line, strlen(line),
					     sel->kind[i], 0, NULL, &m);
		if (rc == 0)
			trace_not_matched(pat);
		if (rc < 0 || (rc > 0 && cb(&m, context) < 0)) {
			md_match_clear(&m);
			return -1;
		}
	}
	md_match_clear(&m);
	return 0;
}
