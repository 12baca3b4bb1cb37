/* imap-search-content.c: reading a message for the content search keys:
 * its header fields (RFC 2047-decoded, folded), its Date, and the BODY
 * and TEXT needles matched on the decoded, charset-converted text. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "charset.h"
#include "imap-search.h"
#include "mem.h"
#include "mime-parser.h"
#include "rfc2047.h"
#include "rfc822-date.h"
#include "rfc822-header.h"

#define READ_SIZE 65536
/* Header fields kept for HEADER/FROM/... matching. */
#define MAX_FIELDS 10000

struct load_ctx {
	const struct imap_search_program *prog;
	struct imap_search_content *content;
	size_t *state;		/* KMP state per needle */
	struct imap_search_fold fold;
	struct str tmp, folded;
	/* the text leaf part being read */
	struct mime_part *text_part;
	struct charset_translation *trans;
	size_t found_count;
};

static int64_t day_floor(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

/* Runs the needles over folded text; body: the text is body text (BODY
 * and TEXT needles), else header text (TEXT needles only). */
static void match(struct load_ctx *ctx, const char *text, size_t len,
		  bool body)
{
	const struct imap_search_program *prog = ctx->prog;

	for (size_t n = 0; n < prog->needle_count; n++) {
		const struct imap_search_needle *nd = &prog->needles[n];
		size_t k = ctx->state[n];

		if (ctx->content->found[n] || (!body && !nd->text_key))
			continue;
		for (size_t i = 0; i < len; i++) {
			while (k > 0 && text[i] != nd->text[k])
				k = nd->fail[k - 1];
			if (text[i] == nd->text[k])
				k++;
			if (k == nd->len) {
				ctx->content->found[n] = true;
				ctx->found_count++;
				break;
			}
		}
		ctx->state[n] = k;
	}
}

/* A new run of text begins: no match spans two fields or parts. */
static void match_reset(struct load_ctx *ctx)
{
	if (ctx->prog->needle_count > 0)
		memset(ctx->state, 0,
		       ctx->prog->needle_count * sizeof(*ctx->state));
	ctx->fold.space = false;
}

static void match_utf8(struct load_ctx *ctx, const char *utf8, size_t len,
		       bool body)
{
	str_clear(&ctx->folded);
	imap_search_fold(&ctx->fold, utf8, len, &ctx->folded);
	match(ctx, str_c(&ctx->folded), str_len(&ctx->folded), body);
}

static bool all_found(const struct load_ctx *ctx)
{
	return ctx->found_count == ctx->prog->needle_count;
}

/* A field of the message's own header: kept for HEADER keys, and given
 * to the TEXT needles as "name: value". */
static void add_field(struct load_ctx *ctx, const char *name, size_t name_len,
		      const char *value, size_t value_len)
{
	struct imap_search_content *c = ctx->content;
	struct str dec, folded;

	if (name_len == 0)
		return;
	str_init(&dec, value_len + 16);
	(void)rfc2047_decode(&dec, value, value_len);
	str_init(&folded, str_len(&dec) + 16);
	imap_search_fold(NULL, str_c(&dec), str_len(&dec), &folded);
	if (c->field_count < MAX_FIELDS) {
		struct imap_search_header_field *f;

		c->fields = xreallocarray(c->fields, c->field_count + 1,
					  sizeof(*c->fields));
		f = &c->fields[c->field_count++];
		f->name = xstrndup(name, name_len);
		f->value_len = str_len(&folded);
		f->value = str_steal(&folded);
	}
	if (!c->has_date && name_len == 4 && strncasecmp(name, "Date", 4) == 0) {
		time_t t;
		int tz;

		if (rfc822_date_parse(value, value_len, &t, &tz) == 0) {
			c->has_date = true;
			c->sent_day = day_floor((int64_t)t + (int64_t)tz * 60);
		}
	}
	if (ctx->prog->needle_count > 0 && !all_found(ctx)) {
		match_reset(ctx);
		match_utf8(ctx, name, name_len, false);
		match_utf8(ctx, ": ", 2, false);
		match_utf8(ctx, str_c(&dec), str_len(&dec), false);
	}
	str_free(&dec);
	str_free(&folded);
}

static bool part_is_encapsulated_header(const struct mime_part *part)
{
	return part->parent != NULL &&
	       (part->parent->flags & MIME_PART_FLAG_MESSAGE) != 0;
}

static void mime_header(struct mime_part *part,
			const struct rfc822_header_field *field, void *context)
{
	struct load_ctx *ctx = context;

	if (field->broken)
		return;
	if (part->parent == NULL) {
		add_field(ctx, field->name, field->name_len, field->value,
			  field->value_len);
	} else if (part_is_encapsulated_header(part) && !all_found(ctx)) {
		/* the header of an attached message is body text */
		str_clear(&ctx->tmp);
		str_append_n(&ctx->tmp, field->name, field->name_len);
		str_append(&ctx->tmp, ": ");
		(void)rfc2047_decode(&ctx->tmp, field->value,
				     field->value_len);
		match_reset(ctx);
		match_utf8(ctx, str_c(&ctx->tmp), str_len(&ctx->tmp), true);
	}
}

static void mime_part_header_end(struct mime_part *part, void *context)
{
	struct load_ctx *ctx = context;
	const char *error;

	if ((part->flags & (MIME_PART_FLAG_MULTIPART |
			    MIME_PART_FLAG_MESSAGE)) != 0 ||
	    (part->flags & MIME_PART_FLAG_TEXT) == 0)
		return;
	ctx->text_part = part;
	charset_translation_destroy(&ctx->trans);
	const char *cs = mime_part_charset(part);
	if (cs != NULL && !charset_is_utf8(cs))
		ctx->trans = charset_translation_create(cs, &error);
	match_reset(ctx);
}

static void mime_decoded_body(struct mime_part *part, const void *data,
			      size_t size, void *context)
{
	struct load_ctx *ctx = context;

	if (part != ctx->text_part || all_found(ctx))
		return;
	str_clear(&ctx->tmp);
	if (ctx->trans != NULL)
		(void)charset_translation_feed(ctx->trans, data, size,
					       &ctx->tmp);
	else
		(void)charset_utf8_sanitize(&ctx->tmp, data, size);
	match_utf8(ctx, str_c(&ctx->tmp), str_len(&ctx->tmp), true);
}

static void mime_part_end(struct mime_part *part, void *context)
{
	struct load_ctx *ctx = context;

	if (part != ctx->text_part)
		return;
	if (ctx->trans != NULL) {
		str_clear(&ctx->tmp);
		(void)charset_translation_finish(ctx->trans, &ctx->tmp);
		match_utf8(ctx, str_c(&ctx->tmp), str_len(&ctx->tmp), true);
		charset_translation_destroy(&ctx->trans);
	}
	ctx->text_part = NULL;
}

static const struct mime_parser_callbacks load_callbacks = {
	.header = mime_header,
	.part_header_end = mime_part_header_end,
	.decoded_body = mime_decoded_body,
	.part_end = mime_part_end,
};

static void load_init(struct load_ctx *ctx,
		      const struct imap_search_program *prog)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->prog = prog;
	ctx->content = xcalloc(1, sizeof(*ctx->content));
	if (prog->needle_count > 0) {
		ctx->content->found = xcalloc(prog->needle_count,
					      sizeof(bool));
		ctx->state = xcalloc(prog->needle_count, sizeof(size_t));
	}
	str_init(&ctx->tmp, 1024);
	str_init(&ctx->folded, 1024);
}

static struct imap_search_content *load_deinit(struct load_ctx *ctx)
{
	charset_translation_destroy(&ctx->trans);
	free(ctx->state);
	str_free(&ctx->tmp);
	str_free(&ctx->folded);
	return ctx->content;
}

static struct mime_parser *full_parser(struct load_ctx *ctx)
{
	struct mime_parser_settings set = {
		.limits = { .max_header_size = IMAP_SEARCH_MAX_HEADER },
	};

	return mime_parser_create(&set, &load_callbacks, ctx);
}

static void header_field_cb(const char *name, const char *value,
			    size_t value_len, void *context)
{
	add_field(context, name, strlen(name), value, value_len);
}

struct header_cb_ctx {
	void (*cb)(const char *, const char *, size_t, void *);
	void *context;
	struct str name;
};

static void header_parser_cb(const struct rfc822_header_field *field,
			     void *context)
{
	struct header_cb_ctx *h = context;

	if (field->broken || field->name_len == 0)
		return;
	str_clear(&h->name);
	str_append_n(&h->name, field->name, field->name_len);
	h->cb(str_c(&h->name), field->value, field->value_len, h->context);
}

/* Feeds header bytes; returns true once the header ended. */
static bool header_feed(struct rfc822_header_parser *hp,
			struct header_cb_ctx *h, const void *data, size_t len)
{
	size_t used;

	return rfc822_header_parser_feed(hp, data, len, &used,
					 header_parser_cb, h) == 1;
}

int imap_search_read_header(int fd,
			    void (*cb)(const char *name, const char *value,
				       size_t value_len, void *context),
			    void *context, const char **error_r)
{
	struct rfc822_header_limits limits = {
		.max_header_size = IMAP_SEARCH_MAX_HEADER,
	};
	struct rfc822_header_parser *hp = rfc822_header_parser_create(&limits);
	struct header_cb_ctx h = { .cb = cb, .context = context };
	char *buf = xmalloc(8192);
	int ret = 0;

	str_init(&h.name, 64);
	for (;;) {
		ssize_t n = read(fd, buf, 8192);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = "read() failed";
			ret = -1;
			break;
		}
		if (n == 0) {
			rfc822_header_parser_finish(hp, header_parser_cb, &h);
			break;
		}
		if (header_feed(hp, &h, buf, (size_t)n))
			break;
	}
	free(buf);
	str_free(&h.name);
	rfc822_header_parser_destroy(&hp);
	return ret;
}

int imap_search_content_load(const struct imap_search_program *prog, int fd,
			     struct imap_search_content **content_r,
			     const char **error_r)
{
	struct load_ctx ctx;

	if ((prog->need & IMAP_SEARCH_NEED_BODY) == 0) {
		load_init(&ctx, prog);
		int ret = imap_search_read_header(fd, header_field_cb, &ctx,
						  error_r);
		*content_r = load_deinit(&ctx);
		if (ret < 0)
			imap_search_content_free(content_r);
		return ret;
	}
	load_init(&ctx, prog);
	struct mime_parser *parser = full_parser(&ctx);
	char *buf = xmalloc(READ_SIZE);
	int ret = 0;

	for (;;) {
		ssize_t n = read(fd, buf, READ_SIZE);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = "read() failed";
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		mime_parser_feed(parser, buf, (size_t)n);
	}
	free(buf);
	struct mime_part *root = mime_parser_finish(parser);
	mime_part_free(&root);
	mime_parser_destroy(&parser);
	*content_r = load_deinit(&ctx);
	if (ret < 0)
		imap_search_content_free(content_r);
	return ret;
}

struct imap_search_loader {
	struct load_ctx ctx;
};

struct imap_search_loader *
imap_search_loader_new(const struct imap_search_program *prog)
{
	struct imap_search_loader *l = xcalloc(1, sizeof(*l));

	load_init(&l->ctx, prog);
	return l;
}

void imap_search_loader_field(const char *name, const char *value,
			      size_t value_len, void *loader)
{
	struct imap_search_loader *l = loader;

	add_field(&l->ctx, name, strlen(name), value, value_len);
}

struct imap_search_content *
imap_search_loader_finish(struct imap_search_loader **loader)
{
	struct imap_search_content *c = load_deinit(&(*loader)->ctx);

	x_free(*loader);
	return c;
}

struct imap_search_content *
imap_search_content_from_buffer(const struct imap_search_program *prog,
				const void *data, size_t size)
{
	struct load_ctx ctx;

	load_init(&ctx, prog);
	if ((prog->need & IMAP_SEARCH_NEED_BODY) == 0) {
		struct rfc822_header_limits limits = {
			.max_header_size = IMAP_SEARCH_MAX_HEADER,
		};
		struct rfc822_header_parser *hp =
			rfc822_header_parser_create(&limits);
		struct header_cb_ctx h = { .cb = header_field_cb,
					   .context = &ctx };

		str_init(&h.name, 64);
		if (!header_feed(hp, &h, data, size))
			rfc822_header_parser_finish(hp, header_parser_cb, &h);
		str_free(&h.name);
		rfc822_header_parser_destroy(&hp);
		return load_deinit(&ctx);
	}
	struct mime_parser *parser = full_parser(&ctx);
	mime_parser_feed(parser, data, size);
	struct mime_part *root = mime_parser_finish(parser);
	mime_part_free(&root);
	mime_parser_destroy(&parser);
	return load_deinit(&ctx);
}

void imap_search_content_free(struct imap_search_content **content)
{
	if (*content == NULL)
		return;
	for (size_t i = 0; i < (*content)->field_count; i++) {
		free((*content)->fields[i].name);
		free((*content)->fields[i].value);
	}
	free((*content)->fields);
	free((*content)->found);
	x_free(*content);
}
