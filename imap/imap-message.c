/* imap-message.c: a message's BODYSTRUCTURE, ENVELOPE and sections as
 * IMAP serves them (RFC 3501 section 7.4.2, RFC 3516). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap-envelope.h"
#include "imap-header-cache.h"
#include "imap-message.h"
#include "imap-quote.h"
#include "mem.h"
#include "mime-decode.h"
#include "rfc822-header.h"

struct imap_message_env {
	const struct mime_part *part;	/* the header's part */
	struct imap_envelope env;
};

int imap_crlf_append(struct str *out, const void *data, size_t len,
		     bool *last_cr)
{
	const char *p = data, *end = p + len;
	bool cr = *last_cr;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);

		if (n > 0 && str_append_n(out, p, n) < 0)
			return -1;
		if (n > 0)
			cr = p[n - 1] == '\r';
		if (lf == NULL)
			break;
		if (!cr && str_append_c(out, '\r') < 0)
			return -1;
		if (str_append_c(out, '\n') < 0)
			return -1;
		cr = false;
		p = lf + 1;
	}
	*last_cr = cr;
	return 0;
}

/* ---- parsing ---- */

static bool part_has_envelope(const struct mime_part *part)
{
	return part->parent == NULL ||
	       (part->parent->flags & MIME_PART_FLAG_MESSAGE) != 0;
}

static void parse_header_cb(struct mime_part *part,
			    const struct rfc822_header_field *field,
			    void *context)
{
	struct imap_message *msg = context;

	if (!part_has_envelope(part) || field->broken)
		return;
	if (msg->env_count == 0 ||
	    msg->envs[msg->env_count - 1].part != part) {
		msg->envs = xreallocarray(msg->envs, msg->env_count + 1,
					  sizeof(*msg->envs));
		memset(&msg->envs[msg->env_count], 0, sizeof(*msg->envs));
		msg->envs[msg->env_count++].part = part;
	}
	imap_envelope_add_field(&msg->envs[msg->env_count - 1].env,
				field->name, field->name_len, field->value,
				field->value_len);
}

struct imap_message *imap_message_parse(const void *data, size_t size)
{
	struct imap_message *msg = xcalloc(1, sizeof(*msg));
	struct mime_parser_callbacks cb = { .header = parse_header_cb };
	struct mime_parser *parser = mime_parser_create(NULL, &cb, msg);

	msg->data = data;
	msg->size = size;
	mime_parser_feed(parser, data, size);
	msg->root = mime_parser_finish(parser);
	mime_parser_destroy(&parser);
	return msg;
}

void imap_message_free(struct imap_message **msg)
{
	if (*msg == NULL)
		return;
	for (size_t i = 0; i < (*msg)->env_count; i++)
		imap_envelope_clear(&(*msg)->envs[i].env);
	free((*msg)->envs);
	mime_part_free(&(*msg)->root);
	x_free(*msg);
}

void imap_message_envelope(const struct imap_message *msg,
			   const struct mime_part *part, struct str *out)
{
	static const struct imap_envelope empty;

	if (part == NULL)
		part = msg->root;
	else if ((part->flags & MIME_PART_FLAG_MESSAGE) != 0)
		part = part->children;
	for (size_t i = 0; i < msg->env_count; i++) {
		if (msg->envs[i].part == part) {
			imap_envelope_write(&msg->envs[i].env, out);
			return;
		}
	}
	imap_envelope_write(&empty, out);
}

/* ---- the header alone ---- */

struct imap_message_header {
	struct rfc822_header_parser *hp;
	struct imap_envelope env;
	struct imap_header_cache_builder hdrs;
	struct str crlf;	/* the current chunk in CRLF form */
	bool last_cr, done, finished;
};

struct imap_message_header *imap_message_header_create(void)
{
	struct imap_message_header *hdr = xcalloc(1, sizeof(*hdr));
	/* lib/mime-parser's limits, so that the root part's fields are
	 * the same as imap_message_parse() sees (IMAP_SEARCH_MAX_HEADER,
	 * the header cache's limit, is the same 1 MiB) */
	struct rfc822_header_limits limits = {
		.max_field_size = MIME_PARSER_DEFAULT_MAX_HEADER_LINE,
		.max_header_size = MIME_PARSER_DEFAULT_MAX_HEADER_SIZE,
	};

	hdr->hp = rfc822_header_parser_create(&limits);
	imap_header_cache_builder_init(&hdr->hdrs);
	str_init(&hdr->crlf, 1024);
	return hdr;
}

static void header_only_cb(const struct rfc822_header_field *field,
			   void *context)
{
	struct imap_message_header *hdr = context;

	if (field->broken)
		return;
	imap_envelope_add_field(&hdr->env, field->name, field->name_len,
				field->value, field->value_len);
	imap_header_cache_builder_add(&hdr->hdrs, field->name,
				      field->name_len, field->value,
				      field->value_len);
}

int imap_message_header_feed(struct imap_message_header *hdr,
			     const void *data, size_t size)
{
	size_t used;

	if (hdr->done)
		return 1;
	str_clear(&hdr->crlf);
	/* the string has no limit: this cannot fail */
	(void)imap_crlf_append(&hdr->crlf, data, size, &hdr->last_cr);
	if (rfc822_header_parser_feed(hdr->hp, str_c(&hdr->crlf),
				      str_len(&hdr->crlf), &used,
				      header_only_cb, hdr) == 1)
		hdr->done = true;
	return hdr->done ? 1 : 0;
}

char *imap_message_header_finish(struct imap_message_header *hdr,
				 struct str *envelope, size_t *hdrs_len_r)
{
	if (!hdr->finished) {
		if (!hdr->done)
			rfc822_header_parser_finish(hdr->hp, header_only_cb,
						    hdr);
		/* a header cut short by the limits is not cached as a
		 * list (imap-header-cache.h) */
		if ((rfc822_header_parser_get_flags(hdr->hp) &
		     (RFC822_HEADER_FLAG_TRUNCATED |
		      RFC822_HEADER_FLAG_TOO_BIG)) != 0)
			hdr->hdrs.overflow = true;
		hdr->done = hdr->finished = true;
	}
	if (envelope != NULL)
		imap_envelope_write(&hdr->env, envelope);
	return imap_header_cache_builder_finish(&hdr->hdrs, hdrs_len_r);
}

void imap_message_header_destroy(struct imap_message_header **hdr)
{
	if (*hdr == NULL)
		return;
	rfc822_header_parser_destroy(&(*hdr)->hp);
	imap_envelope_clear(&(*hdr)->env);
	str_free(&(*hdr)->hdrs.blob);
	str_free(&(*hdr)->crlf);
	x_free(*hdr);
}

/* ---- cached values of the selected folder ---- */

/* First read of a header; a longer header is read on in blocks four
 * times larger, up to HEADER_MAX_BLOCK. */
#define HEADER_FIRST_BLOCK 4096
#define HEADER_MAX_BLOCK (256 * 1024)
/* Entries of the current message looked for among the queued ones. */
#define PENDING_LOOKBACK 8

/* The index cache's field names; the version suffix changes with their
 * format. */
static const char *const cache_names[] = {
	[IMAP_CACHE_ENVELOPE] = "imap.envelope.1",
	[IMAP_CACHE_BODY] = "imap.body.1",
	[IMAP_CACHE_BODYSTRUCTURE] = "imap.bodystructure.1",
	[IMAP_CACHE_HEADERS] = IMAP_HEADER_CACHE_FIELD,
};

/* Queued values of uid are the last ones queued (a FETCH handles one
 * message at a time), so only the tail of the queue is looked at: a
 * value missed there is computed again, never wrong. */
static int pending_lookup(const struct imap_mailbox *mbox, uint32_t uid,
			  enum imap_cache_field field, struct str *out)
{
	size_t n = mbox->pending_cache_count;

	for (size_t i = n; i > 0 && n - i < PENDING_LOOKBACK; i--) {
		const struct mail_index_cache_entry *e =
			&mbox->pending_cache[i - 1];
		if (e->uid == uid && strcmp(e->field, cache_names[field]) == 0) {
			str_append_n(out, e->data, e->len);
			return 1;
		}
	}
	return 0;
}

static int cache_lookup(struct imap_mailbox *mbox, uint32_t uid,
			enum imap_cache_field field, struct str *out,
			const char **error_r)
{
	if (pending_lookup(mbox, uid, field, out) > 0)
		return 1;
	return mail_index_cache_get(mbox->index, uid, cache_names[field], out,
				    error_r);
}

static size_t pending_bytes(const struct imap_mailbox *mbox)
{
	size_t n = 0;

	for (size_t i = 0; i < mbox->pending_cache_count; i++)
		n += mbox->pending_cache[i].len;
	return n;
}

/* Queues a value (takes data). */
static void cache_queue(struct imap_mailbox *mbox, uint32_t uid,
			enum imap_cache_field field, char *data, size_t len)
{
	struct mail_index_cache_entry *e;

	mbox->pending_cache = xreallocarray(mbox->pending_cache,
					    mbox->pending_cache_count + 1,
					    sizeof(*mbox->pending_cache));
	e = &mbox->pending_cache[mbox->pending_cache_count++];
	e->uid = uid;
	e->field = cache_names[field];
	e->len = len;
	e->data = data;
}

/* Writes the queue when it is long enough (one transaction). */
static void cache_maybe_flush(struct imap_mailbox *mbox)
{
	if (mbox->pending_cache_count >= IMAP_MESSAGE_CACHE_FLUSH_ENTRIES ||
	    (mbox->pending_cache_count % 64 == 0 &&
	     pending_bytes(mbox) >= IMAP_MESSAGE_CACHE_FLUSH_BYTES))
		imap_mailbox_cache_flush(mbox);
}

/* Reads the header of the message on fd: ENVELOPE and header cache
 * value. */
static int read_header(int fd, struct str *envelope, char **hdrs_r,
		       size_t *hdrs_len_r, const char **error_r)
{
	struct imap_message_header *hdr = imap_message_header_create();
	size_t block = HEADER_FIRST_BLOCK;
	char *buf = xmalloc(block);
	off_t offset = 0;
	int ret = 0;

	/* no read-ahead: the header is all that is wanted of a file that
	 * may be megabytes long (when it is not in the page cache) */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	for (;;) {
		ssize_t n = pread(fd, buf, block, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = "read() of a message failed";
			ret = -1;
			break;
		}
		if (n == 0 ||
		    imap_message_header_feed(hdr, buf, (size_t)n) == 1)
			break;
		offset += n;
		if (block < HEADER_MAX_BLOCK) {
			block *= 4;
			buf = xrealloc(buf, block);
		}
	}
	free(buf);
	if (ret == 0)
		*hdrs_r = imap_message_header_finish(hdr, envelope,
						     hdrs_len_r);
	imap_message_header_destroy(&hdr);
	return ret;
}

int imap_message_read_header(int fd, struct str *out, const char **error_r)
{
	struct rfc822_header_limits limits = {
		.max_field_size = MIME_PARSER_DEFAULT_MAX_HEADER_LINE,
		.max_header_size = MIME_PARSER_DEFAULT_MAX_HEADER_SIZE,
	};
	struct rfc822_header_parser *hp = rfc822_header_parser_create(&limits);
	size_t block = HEADER_FIRST_BLOCK, used;
	char *buf = xmalloc(block);
	struct str crlf;
	bool last_cr = false;
	off_t offset = 0;
	int ret = 1;

	str_init(&crlf, block + 64);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	for (;;) {
		ssize_t n = pread(fd, buf, block, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = "read() of a message failed";
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		str_clear(&crlf);
		(void)imap_crlf_append(&crlf, buf, (size_t)n, &last_cr);
		bool end = rfc822_header_parser_feed(hp, str_c(&crlf),
						     str_len(&crlf), &used,
						     NULL, NULL) == 1;
		if (str_append_n(out, str_c(&crlf),
				 end ? used : str_len(&crlf)) < 0) {
			*error_r = "Message too large";
			errno = EFBIG;
			ret = -1;
			break;
		}
		if (end)
			break;
		offset += n;
		if (block < HEADER_MAX_BLOCK) {
			block *= 4;
			buf = xrealloc(buf, block);
		}
	}
	free(buf);
	str_free(&crlf);
	rfc822_header_parser_destroy(&hp);
	return ret;
}

/* ENVELOPE and header fields from the header alone. */
static int cached_from_header(struct imap_mailbox *mbox, uint32_t uid,
			      enum imap_cache_field field, struct str *out,
			      const char **error_r)
{
	struct str env;
	char *hdrs;
	size_t hlen;
	int fd, ret;

	ret = mail_index_open_message(mbox->index, uid, &fd, error_r);
	if (ret <= 0)
		return ret;
	str_init(&env, 512);
	ret = read_header(fd, &env, &hdrs, &hlen, error_r);
	close(fd);
	if (ret < 0) {
		str_free(&env);
		return -1;
	}
	if (field == IMAP_CACHE_HEADERS)
		str_append_n(out, hdrs, hlen);
	else
		str_append_n(out, str_c(&env), str_len(&env));
	size_t elen = str_len(&env);
	cache_queue(mbox, uid, IMAP_CACHE_ENVELOPE, str_steal(&env), elen);
	cache_queue(mbox, uid, IMAP_CACHE_HEADERS, hdrs, hlen);
	cache_maybe_flush(mbox);
	return 1;
}

/* Everything from the whole message: BODY and BODYSTRUCTURE, and the
 * ENVELOPE and header fields unless they are cached already. */
static int cached_from_message(struct imap_mailbox *mbox, uint32_t uid,
			       enum imap_cache_field field, struct str *out,
			       const char **error_r)
{
	struct str msg, v[IMAP_CACHE_HEADERS];
	struct imap_message *parsed;
	bool header_values = true;
	int ret;

	if (field != IMAP_CACHE_ENVELOPE && field != IMAP_CACHE_HEADERS) {
		str_init(&v[0], 256);
		ret = cache_lookup(mbox, uid, IMAP_CACHE_ENVELOPE, &v[0],
				   error_r);
		str_free(&v[0]);
		if (ret < 0)
			return -1;
		header_values = ret == 0;
	}
	str_init(&msg, 4096);
	ret = imap_mailbox_read_message(mbox, uid, &msg, error_r);
	if (ret <= 0) {
		str_free(&msg);
		return ret;
	}
	parsed = imap_message_parse(str_c(&msg), str_len(&msg));
	for (size_t i = 0; i < IMAP_CACHE_HEADERS; i++)
		str_init(&v[i], 256);
	imap_message_envelope(parsed, NULL, &v[IMAP_CACHE_ENVELOPE]);
	imap_message_bodystructure(parsed, NULL, false, &v[IMAP_CACHE_BODY]);
	imap_message_bodystructure(parsed, NULL, true,
				   &v[IMAP_CACHE_BODYSTRUCTURE]);
	imap_message_free(&parsed);
	size_t hlen = 0;
	char *hdrs = NULL;
	if (header_values)
		hdrs = imap_header_cache_from_message(str_c(&msg),
						      str_len(&msg), &hlen);
	str_free(&msg);
	if (field == IMAP_CACHE_HEADERS)
		str_append_n(out, hdrs, hlen);
	else
		str_append_n(out, str_c(&v[field]), str_len(&v[field]));
	for (size_t i = 0; i < IMAP_CACHE_HEADERS; i++) {
		size_t len = str_len(&v[i]);

		if (i == IMAP_CACHE_ENVELOPE && !header_values)
			str_free(&v[i]);
		else
			cache_queue(mbox, uid, i, str_steal(&v[i]), len);
	}
	if (header_values)
		cache_queue(mbox, uid, IMAP_CACHE_HEADERS, hdrs, hlen);
	cache_maybe_flush(mbox);
	return 1;
}

int imap_message_cached(struct imap_mailbox *mbox, uint32_t uid,
			enum imap_cache_field field, bool with_body,
			struct str *out, const char **error_r)
{
	int ret;

	if ((unsigned int)field >= IMAP_CACHE_FIELD_COUNT) {
		*error_r = "unknown cache field";
		return -1;
	}
	ret = cache_lookup(mbox, uid, field, out, error_r);
	if (ret != 0)
		return ret;
	if ((field == IMAP_CACHE_ENVELOPE || field == IMAP_CACHE_HEADERS) &&
	    !with_body)
		return cached_from_header(mbox, uid, field, out, error_r);
	return cached_from_message(mbox, uid, field, out, error_r);
}

/* ---- BODYSTRUCTURE ---- */

static void write_upper(struct str *out, const char *s)
{
	char *u = str_ucase(xstrdup(s));

	imap_quote_cstr(out, u, false);
	free(u);
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* RFC 2231 extended value "utf-8''%XX..." for an 8-bit parameter that
 * came in RFC 2231 form (lib/mime-params made it UTF-8). */
static void write_param_value(struct str *out, const struct mime_param *p)
{
	static const char hex[] = "0123456789ABCDEF";
	struct str v;

	if (p->charset == NULL || !has_8bit(p->value)) {
		imap_quote_cstr(out, p->value, false);
		return;
	}
	str_init(&v, strlen(p->value) * 3 + 16);
	str_append(&v, "utf-8''");
	for (const unsigned char *s = (const unsigned char *)p->value;
	     *s != '\0'; s++) {
		if (mime_params_is_token_char(*s) && *s != '%' &&
		    *s != '\'' && *s != '*') {
			str_append_c(&v, (char)*s);
		} else {
			str_append_c(&v, '%');
			str_append_c(&v, hex[*s >> 4]);
			str_append_c(&v, hex[*s & 15]);
		}
	}
	imap_quote_string(out, str_c(&v), str_len(&v), false);
	str_free(&v);
}

static void write_params(struct str *out, const struct mime_params *params,
			 const char *default_charset)
{
	size_t n = 0;

	for (size_t i = 0; i < params->count; i++) {
		const struct mime_param *p = &params->params[i];

		if (p->name == NULL || p->value == NULL || p->name[0] == '\0')
			continue;
		str_append(out, n++ == 0 ? "(" : " ");
		char *name = str_ucase(xstrdup(p->name));
		if (p->charset != NULL && has_8bit(p->value)) {
			char *ext = xasprintf("%s*", name);
			imap_quote_cstr(out, ext, false);
			free(ext);
		} else {
			imap_quote_cstr(out, name, false);
		}
		free(name);
		str_append_c(out, ' ');
		write_param_value(out, p);
	}
	if (default_charset != NULL &&
	    mime_params_get(params, "charset") == NULL) {
		str_append(out, n++ == 0 ? "(" : " ");
		str_append(out, "\"CHARSET\" ");
		imap_quote_cstr(out, default_charset, false);
	}
	str_append(out, n == 0 ? "NIL" : ")");
}

static void write_nstr(struct str *out, const char *s)
{
	if (s == NULL)
		str_append(out, "NIL");
	else
		imap_quote_cstr(out, s, false);
}

/* Content-Language: NIL, one string, or a list ("en, fr" -> list). */
static void write_language(struct str *out, const char *lang)
{
	char **v;
	size_t n = 0;

	if (lang == NULL) {
		str_append(out, "NIL");
		return;
	}
	v = str_split(lang, ", \t");
	for (size_t i = 0; v[i] != NULL; i++)
		if (v[i][0] != '\0')
			n++;
	if (n == 0) {
		str_append(out, "NIL");
	} else if (n == 1) {
		for (size_t i = 0; v[i] != NULL; i++)
			if (v[i][0] != '\0')
				imap_quote_cstr(out, v[i], false);
	} else {
		size_t k = 0;
		str_append_c(out, '(');
		for (size_t i = 0; v[i] != NULL; i++) {
			if (v[i][0] == '\0')
				continue;
			if (k++ > 0)
				str_append_c(out, ' ');
			imap_quote_cstr(out, v[i], false);
		}
		str_append_c(out, ')');
	}
	str_split_free(&v);
}

static void write_disposition(struct str *out, const struct mime_part *part)
{
	if (part->disposition == NULL) {
		str_append(out, "NIL");
		return;
	}
	str_append_c(out, '(');
	write_upper(out, part->disposition);
	str_append_c(out, ' ');
	write_params(out, &part->disposition_params, NULL);
	str_append_c(out, ')');
}

static void write_part(const struct imap_message *msg,
		       const struct mime_part *part, bool extended,
		       struct str *out);

/* Text lines of a body: its line ends, plus a last line without one. */
static unsigned long long body_lines(const struct imap_message *msg,
				     const struct mime_part *part)
{
	unsigned long long n = part->body_lines;

	if (part->body_size > 0 && part->end_offset > 0 &&
	    part->end_offset <= msg->size &&
	    msg->data[part->end_offset - 1] != '\n')
		n++;
	return n;
}

static void write_empty_text(struct str *out)
{
	str_append(out, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") "
			"NIL NIL \"7BIT\" 0 0)");
}

static void write_multipart(const struct imap_message *msg,
			    const struct mime_part *part, bool extended,
			    struct str *out)
{
	str_append_c(out, '(');
	if (part->children == NULL)
		write_empty_text(out);
	for (const struct mime_part *c = part->children; c != NULL;
	     c = c->next)
		write_part(msg, c, extended, out);
	str_append_c(out, ' ');
	write_upper(out, part->subtype);
	if (extended) {
		str_append_c(out, ' ');
		write_params(out, &part->type_params, NULL);
		str_append_c(out, ' ');
		write_disposition(out, part);
		str_append_c(out, ' ');
		write_language(out, part->language);
		str_append_c(out, ' ');
		write_nstr(out, part->location);
	}
	str_append_c(out, ')');
}

static void write_part(const struct imap_message *msg,
		       const struct mime_part *part, bool extended,
		       struct str *out)
{
	bool message = (part->flags & MIME_PART_FLAG_MESSAGE) != 0 &&
		       part->children != NULL;
	bool text = (part->flags & MIME_PART_FLAG_TEXT) != 0;
	const char *type = part->type, *subtype = part->subtype;

	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0) {
		write_multipart(msg, part, extended, out);
		return;
	}
	/* a multipart or message the parser could not open is opaque */
	if (strcmp(type, "multipart") == 0 ||
	    (strcmp(type, "message") == 0 && !message &&
	     (strcmp(subtype, "rfc822") == 0 ||
	      strcmp(subtype, "global") == 0))) {
		type = "application";
		subtype = "octet-stream";
	}
	str_append_c(out, '(');
	write_upper(out, type);
	str_append_c(out, ' ');
	write_upper(out, subtype);
	str_append_c(out, ' ');
	write_params(out, &part->type_params,
		     text && type == part->type ? "us-ascii" : NULL);
	str_append_c(out, ' ');
	write_nstr(out, part->id);
	str_append_c(out, ' ');
	write_nstr(out, part->description);
	str_append_c(out, ' ');
	write_upper(out, part->encoding);
	str_printfa(out, " %llu", (unsigned long long)part->body_size);
	if (message) {
		str_append_c(out, ' ');
		imap_message_envelope(msg, part, out);
		str_append_c(out, ' ');
		write_part(msg, part->children, extended, out);
		str_printfa(out, " %llu", body_lines(msg, part));
	} else if (text && type == part->type) {
		str_printfa(out, " %llu", body_lines(msg, part));
	}
	if (extended) {
		str_append_c(out, ' ');
		write_nstr(out, part->md5);
		str_append_c(out, ' ');
		write_disposition(out, part);
		str_append_c(out, ' ');
		write_language(out, part->language);
		str_append_c(out, ' ');
		write_nstr(out, part->location);
	}
	str_append_c(out, ')');
}

void imap_message_bodystructure(const struct imap_message *msg,
				const struct mime_part *part, bool extended,
				struct str *out)
{
	write_part(msg, part != NULL ? part : msg->root, extended, out);
}

/* ---- sections ---- */

void imap_section_free(struct imap_section *sec)
{
	free(sec->part);
	for (size_t i = 0; i < sec->field_count; i++)
		free(sec->fields[i]);
	free(sec->fields);
	memset(sec, 0, sizeof(*sec));
}

static bool word_at(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && strncasecmp(p, word, n) == 0;
}

/* Parses "(name name ...)" (atoms or quoted strings) up to end. */
static int parse_field_list(const char *p, const char *end,
			    struct imap_section *sec, const char **error_r)
{
	if (p == end || *p != '(') {
		*error_r = "HEADER.FIELDS needs a list of field names";
		return -1;
	}
	p++;
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p < end && *p == ')')
			break;
		if (p == end) {
			*error_r = "Unterminated header field list";
			return -1;
		}
		struct str name;
		str_init(&name, 32);
		str_set_limit(&name, IMAP_SECTION_MAX_FIELD_LEN);
		if (*p == '"') {
			p++;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (str_append_c(&name, *p++) < 0)
					break;
			}
			if (p >= end || *p != '"') {
				str_free(&name);
				*error_r = "Bad quoted field name";
				return -1;
			}
			p++;
		} else {
			while (p < end && *p != ' ' && *p != ')' &&
			       *p != '(' && *p != '"' &&
			       (unsigned char)*p > ' ' &&
			       (unsigned char)*p < 0x7f) {
				if (str_append_c(&name, *p++) < 0)
					break;
			}
		}
		if (str_len(&name) == 0 || (p < end && *p != ' ' &&
					    *p != ')')) {
			str_free(&name);
			*error_r = "Bad header field name";
			return -1;
		}
		if (sec->field_count >= IMAP_SECTION_MAX_FIELDS) {
			str_free(&name);
			*error_r = "Too many header field names";
			return -1;
		}
		sec->fields = xreallocarray(sec->fields, sec->field_count + 1,
					    sizeof(*sec->fields));
		sec->fields[sec->field_count++] = str_steal(&name);
	}
	if (sec->field_count == 0) {
		*error_r = "Empty header field list";
		return -1;
	}
	if (p + 1 != end) {
		*error_r = "Garbage after the header field list";
		return -1;
	}
	return 0;
}

int imap_section_parse(const char *text, size_t len, bool binary,
		       struct imap_section *sec_r, const char **error_r)
{
	const char *p = text, *end = text + len, *part_end;

	memset(sec_r, 0, sizeof(*sec_r));
	/* section-part: nz-number *("." nz-number) */
	while (p < end && *p >= '1' && *p <= '9') {
		size_t digits = 0;
		while (p < end && *p >= '0' && *p <= '9') {
			p++;
			if (++digits > 9) {
				*error_r = "Part number too large";
				return -1;
			}
		}
		if (p < end && *p == '.' && p + 1 < end && p[1] >= '1' &&
		    p[1] <= '9')
			p++;
		else
			break;
	}
	part_end = p;
	sec_r->part = xstrndup(text, (size_t)(part_end - text));
	if (p == end) {
		sec_r->text = IMAP_SECTION_BODY;
		return 0;
	}
	if (binary) {
		*error_r = "BINARY takes only a part number";
		return -1;
	}
	if (part_end != text) {
		if (*p != '.') {
			*error_r = "Bad section";
			return -1;
		}
		p++;
	}
	if (word_at(p, end, "HEADER.FIELDS.NOT")) {
		sec_r->text = IMAP_SECTION_HEADER_FIELDS_NOT;
		p += 17;
	} else if (word_at(p, end, "HEADER.FIELDS")) {
		sec_r->text = IMAP_SECTION_HEADER_FIELDS;
		p += 13;
	} else if (word_at(p, end, "HEADER")) {
		sec_r->text = IMAP_SECTION_HEADER;
		p += 6;
	} else if (word_at(p, end, "TEXT")) {
		sec_r->text = IMAP_SECTION_TEXT;
		p += 4;
	} else if (word_at(p, end, "MIME") && part_end != text) {
		sec_r->text = IMAP_SECTION_MIME;
		p += 4;
	} else {
		*error_r = "Bad section";
		return -1;
	}
	if (sec_r->text == IMAP_SECTION_HEADER_FIELDS ||
	    sec_r->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
		if (p == end || *p != ' ') {
			*error_r = "HEADER.FIELDS needs a list of field names";
			return -1;
		}
		return parse_field_list(p + 1, end, sec_r, error_r);
	}
	if (p != end) {
		*error_r = "Bad section";
		return -1;
	}
	return 0;
}

void imap_section_write(const struct imap_section *sec, struct str *out)
{
	static const char *const names[] = {
		[IMAP_SECTION_BODY] = "",
		[IMAP_SECTION_HEADER] = "HEADER",
		[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
		[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
		[IMAP_SECTION_MIME] = "MIME",
		[IMAP_SECTION_TEXT] = "TEXT",
	};

	str_append(out, sec->part);
	if (sec->text == IMAP_SECTION_BODY)
		return;
	if (sec->part[0] != '\0')
		str_append_c(out, '.');
	str_append(out, names[sec->text]);
	if (sec->field_count == 0)
		return;
	str_append(out, " (");
	for (size_t i = 0; i < sec->field_count; i++) {
		if (i > 0)
			str_append_c(out, ' ');
		imap_quote_astring(out, sec->fields[i], false);
	}
	str_append_c(out, ')');
}

static void append_range(const struct imap_message *msg, struct str *out,
			 uint64_t from, uint64_t to)
{
	if (to > msg->size)
		to = msg->size;
	if (from < to)
		str_append_n(out, msg->data + from, (size_t)(to - from));
}

struct fields_ctx {
	const struct imap_section *sec;
	const char *block;
	size_t block_len;
	struct str *out;
};

static void fields_cb(const struct rfc822_header_field *field, void *context)
{
	struct fields_ctx *ctx = context;
	bool listed = false;

	if (field->broken)
		return;
	for (size_t i = 0; i < ctx->sec->field_count; i++) {
		const char *f = ctx->sec->fields[i];
		if (strlen(f) == field->name_len &&
		    strncasecmp(f, field->name, field->name_len) == 0) {
			listed = true;
			break;
		}
	}
	if (listed != (ctx->sec->text == IMAP_SECTION_HEADER_FIELDS))
		return;
	if (field->offset >= ctx->block_len)
		return;
	uint64_t n = field->size;
	if (n > ctx->block_len - field->offset)
		n = ctx->block_len - field->offset;
	str_append_n(ctx->out, ctx->block + field->offset, (size_t)n);
	/* a last field without its line end still gets one */
	if (n == 0 || ctx->block[field->offset + n - 1] != '\n')
		str_append(ctx->out, "\r\n");
}

static void header_fields(const struct imap_message *msg,
			  const struct mime_part *part,
			  const struct imap_section *sec, struct str *out)
{
	uint64_t from = part->header_offset, to = part->body_offset;
	struct rfc822_header_parser *hp;
	size_t used;

	if (to > msg->size)
		to = msg->size;
	if (from >= to) {
		str_append(out, "\r\n");
		return;
	}
	struct fields_ctx ctx = {
		.sec = sec,
		.block = msg->data + from,
		.block_len = (size_t)(to - from),
		.out = out,
	};
	/* the same limits as the MIME parser, so the fields agree */
	struct rfc822_header_limits limits = {
		.max_field_size = MIME_PARSER_DEFAULT_MAX_HEADER_LINE,
		.max_header_size = MIME_PARSER_DEFAULT_MAX_HEADER_SIZE,
	};
	hp = rfc822_header_parser_create(&limits);
	if (rfc822_header_parser_feed(hp, ctx.block, ctx.block_len, &used,
				      fields_cb, &ctx) == 0)
		rfc822_header_parser_finish(hp, fields_cb, &ctx);
	rfc822_header_parser_destroy(&hp);
	str_append(out, "\r\n");
}

int imap_message_section(const struct imap_message *msg,
			 const struct imap_section *sec, struct str *out)
{
	struct mime_part *part = mime_part_find_section(msg->root, sec->part);
	const struct mime_part *m;

	if (part == NULL)
		return 0;
	switch (sec->text) {
	case IMAP_SECTION_BODY:
		if (sec->part[0] == '\0')
			append_range(msg, out, 0, msg->size);
		else
			append_range(msg, out, part->body_offset,
				     part->end_offset);
		return 1;
	case IMAP_SECTION_MIME:
		append_range(msg, out, part->header_offset, part->body_offset);
		return 1;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
	case IMAP_SECTION_TEXT:
		break;
	}
	if (sec->part[0] == '\0')
		m = part;
	else if ((part->flags & MIME_PART_FLAG_MESSAGE) != 0)
		m = part->children;
	else
		m = NULL;
	if (m == NULL)
		return 1;	/* not a message: empty */
	switch (sec->text) {
	case IMAP_SECTION_HEADER:
		append_range(msg, out, m->header_offset, m->body_offset);
		break;
	case IMAP_SECTION_TEXT:
		append_range(msg, out, m->body_offset, m->end_offset);
		break;
	default:
		header_fields(msg, m, sec, out);
		break;
	}
	return 1;
}

int imap_message_binary(const struct imap_message *msg,
			const struct imap_section *sec, struct str *out)
{
	struct mime_part *part = mime_part_find_section(msg->root, sec->part);
	struct mime_decoder dec;
	bool unknown = false;
	uint64_t from, to;

	if (part == NULL)
		return 0;
	if (sec->part[0] == '\0') {
		append_range(msg, out, 0, msg->size);
		return 1;
	}
	from = part->body_offset;
	to = part->end_offset > msg->size ? msg->size : part->end_offset;
	if ((part->flags & (MIME_PART_FLAG_MULTIPART |
			    MIME_PART_FLAG_MESSAGE)) != 0) {
		append_range(msg, out, from, to);
		return 1;
	}
	enum mime_encoding enc = mime_encoding_from_name(part->encoding,
							 &unknown);
	if (unknown)
		return -1;
	mime_decoder_init(&dec, enc);
	if (from < to)
		mime_decoder_feed(&dec, msg->data + from, (size_t)(to - from),
				  out);
	mime_decoder_finish(&dec, out);
	return 1;
}
