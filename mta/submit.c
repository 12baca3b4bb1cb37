/* submit.c: checks, rewrites and queues a message (submit.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "charset.h"
#include "config-file.h"
#include "config-settings.h"
#include "ctlfile.h"
#include "interval.h"
#include "log.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "rfc822-date.h"
#include "rfc822-header.h"
#include "str.h"
#include "submit.h"

#define SUBMIT_MAX_HEADER (1024 * 1024)
#define SUBMIT_FLUSH_SIZE 65536
#define RFC5322_MAX_LINE 998

struct submit_config {
	bool loaded;
	char *me;
	char *defaultdomain;
	char *msgidhost;
	uint64_t sizelimit;
	unsigned int queuetime, warntime, submitdelay;
};

static struct submit_config cfg;
/* Replies are per thread: the commit may run in a worker thread. */
static _Thread_local char errbuf[1024];

struct header_field {
	uint64_t offset, size;
	char *name;	/* as written */
	char *value;
	bool broken;
};

struct submit {
	struct queue_new *qn;
	struct ctl_file *ctl;
	char *received_from, *protocol;
	uid_t uid;
	bool add_msgid, add_date, no_aliases, utf8_headers, body_8bitmime;
	/* aliases of several recipients that asked NOTIFY=SUCCESS: their
	 * recipient numbers and how many they stand for ("expanded") */
	size_t *expanded, *expanded_to, expanded_count;
	/* recipients refused before queueing (submit_add_rcpt_failed()):
	 * their numbers and the reply for their DSN */
	size_t *failed;
	char **failed_diag;
	size_t failed_count;
	time_t now;

	/* the control file, made by submit_finish_prepare() */
	struct str ctl_text;
	bool prepared;

	bool in_body;
	struct str hdr;
	struct rfc822_header_parser *parser;
	struct header_field *fields;
	size_t field_count, field_alloc;

	struct str out;
	uint64_t size, size_limit;
	bool pending_cr, body_8bit, body_started;
	/* the body as UTF-8 (RFC 3629), checked as it streams: continuation
	 * bytes still expected and the range of the next one */
	bool body_utf8_bad;
	unsigned char utf8_need, utf8_lo, utf8_hi;
	/* MIME fields of the main header (RFC 2045) */
	bool seen_mime, seen_ctype, seen_cte;
	char last_byte;
	const char *fail;	/* the reply, once something failed */
	int write_errno;
	uint64_t received_end;	/* data file offset after Received: */
	struct str top;		/* submit_add_header_top() fields */
};

void submit_config_reset(void)
{
	free(cfg.me);
	free(cfg.defaultdomain);
	free(cfg.msgidhost);
	memset(&cfg, 0, sizeof(cfg));
	aliases_default_reset();
}

static void config_load(void)
{
	char *value;
	const char *error;

	if (cfg.loaded)
		return;
	cfg.me = config_me(NULL);
	cfg.defaultdomain = config_read_first_line("defaultdomain", NULL);
	if (cfg.defaultdomain == NULL)
		cfg.defaultdomain = xstrdup(cfg.me);
	str_lcase(cfg.defaultdomain);
	cfg.msgidhost = config_read_first_line("msgidhost", NULL);
	if (cfg.msgidhost == NULL)
		cfg.msgidhost = xstrdup(cfg.me);
	cfg.sizelimit = SUBMIT_DEFAULT_SIZELIMIT;
	value = config_read_first_line("sizelimit", NULL);
	if (value != NULL) {
		if (config_parse_size(value, &cfg.sizelimit, &error) < 0) {
			log_error("sizelimit: %s", error);
			cfg.sizelimit = SUBMIT_DEFAULT_SIZELIMIT;
		}
		free(value);
	}
	config_read_interval("queuetime", 7 * 24 * 3600, &cfg.queuetime,
			     NULL);
	config_read_interval("warntime", 4 * 3600, &cfg.warntime, NULL);
	config_read_interval("submitdelay", 0, &cfg.submitdelay, NULL);
	cfg.loaded = true;
}

static const char *reply(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static const char *reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

static bool has_bad_bytes(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		if (*p < 0x20 || *p == 0x7f)
			return true;
	}
	return false;
}

char *submit_qualify_address(const char *address, const char **error_r)
{
	char *local = NULL, *domain = NULL, *ret;

	config_load();
	if (strlen(address) > SUBMIT_MAX_ADDRESS) {
		*error_r = reply("501 5.1.3 Address too long");
		return NULL;
	}
	if (*address == '\0' || has_bad_bytes(address) ||
	    rfc822_addr_split(address, &local, &domain) < 0 ||
	    *local == '\0') {
		free(local);
		free(domain);
		*error_r = reply("501 5.1.3 Invalid address: %s",
				 has_bad_bytes(address) ? "(control bytes)" :
				 address);
		return NULL;
	}
	if (domain == NULL)
		domain = xstrdup(cfg.defaultdomain);
	str_lcase(domain);
	if (strchr(domain, ' ') != NULL || strchr(domain, '@') != NULL) {
		*error_r = reply("501 5.1.3 Invalid domain in %s", address);
		free(local);
		free(domain);
		return NULL;
	}
	/* Keep the local part as written (quoted when it must be). */
	{
		struct str s;

		str_init(&s, strlen(address) + 16);
		rfc822_addr_format_local(&s, local);
		str_printfa(&s, "@%s", domain);
		ret = str_steal(&s);
		str_free(&s);
	}
	free(local);
	free(domain);
	return ret;
}

struct submit *submit_begin(const struct submit_options *opts,
			    const char **error_r)
{
	struct submit *s;
	const char *sender = opts->sender != NULL ? opts->sender : "";
	char *qsender = NULL;
	const char *error;

	config_load();
	if (*sender != '\0') {
		qsender = submit_qualify_address(sender, &error);
		if (qsender == NULL) {
			/* error is in errbuf, which reply() rewrites */
			char *why = xstrdup(error + 10);

			*error_r = reply("501 5.1.7 Invalid sender: %s", why);
			free(why);
			return NULL;
		}
	}
	if (!ctl_value_ok(opts->envid) || !ctl_value_ok(opts->auth_user) ||
	    !ctl_value_ok(opts->from_mta) || !ctl_value_ok(opts->source) ||
	    !ctl_value_ok(opts->local_ip)) {
		free(qsender);
		*error_r = reply("501 5.5.4 Invalid envelope parameter");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	if (queue_new_begin(&s->qn, &error) < 0) {
		log_error("submit: %s", error);
		free(qsender);
		free(s);
		*error_r = reply("451 4.3.0 Cannot queue the message now");
		return NULL;
	}
	s->now = s->qn->time;
	s->ctl = ctl_file_new();
	free(s->ctl->sender);
	s->ctl->sender = qsender != NULL ? qsender : xstrdup("");
	s->ctl->source = xstrdup(opts->source != NULL ? opts->source :
				 "local");
	s->ctl->envid = opts->envid != NULL ? xstrdup(opts->envid) : NULL;
	s->ctl->ret = opts->ret == 'F' || opts->ret == 'H' ? opts->ret : 0;
	s->ctl->verp = opts->verp && *s->ctl->sender != '\0';
	s->ctl->auth_user = opts->auth_user != NULL ?
		xstrdup(opts->auth_user) : NULL;
	s->ctl->from_mta = opts->from_mta != NULL ?
		xstrdup(opts->from_mta) : NULL;
	s->ctl->local_ip = opts->local_ip != NULL && *opts->local_ip != '\0' ?
		xstrdup(opts->local_ip) : NULL;
	s->ctl->expires = s->now + cfg.queuetime;
	s->ctl->warn_time = s->now + cfg.warntime;
	if (cfg.submitdelay > 0)
		s->ctl->not_before = s->now + cfg.submitdelay;
	s->received_from = opts->received_from != NULL ?
		xstrdup(opts->received_from) : NULL;
	s->protocol = xstrdup(opts->protocol != NULL ? opts->protocol :
			      "local");
	s->uid = opts->uid;
	/* local mail: its user may list and cancel it (mailq, cancelmsg) */
	if (s->received_from == NULL) {
		s->ctl->has_owner = true;
		s->ctl->owner_uid = (unsigned long)opts->uid;
	}
	s->add_msgid = !opts->no_add_msgid;
	s->add_date = !opts->no_add_date;
	s->utf8_headers = opts->utf8_headers;
	s->body_8bitmime = opts->body_8bitmime || opts->utf8_headers;
	s->no_aliases = opts->no_aliases;
	s->size_limit = opts->size_limit != 0 ? opts->size_limit :
		cfg.sizelimit;
	str_init(&s->hdr, 4096);
	str_init(&s->out, SUBMIT_FLUSH_SIZE + 1024);
	{
		struct rfc822_header_limits lim = {
			.max_field_size = SUBMIT_MAX_HEADER,
			.max_header_size = SUBMIT_MAX_HEADER,
		};
		s->parser = rfc822_header_parser_create(&lim);
	}
	return s;
}

/* Adds a qualified recipient once: 1 added, 0 already there. */
static int rcpt_add(struct submit *s, const char *q, unsigned int notify,
		    const char *orcpt)
{
	for (size_t i = 0; i < s->ctl->rcpt_count; i++) {
		if (strcasecmp(s->ctl->rcpts[i].address, q) == 0)
			return 0;
	}
	if (s->ctl->rcpt_count >= SUBMIT_MAX_RCPTS)
		return 0;
	ctl_file_add_rcpt(s->ctl, q, orcpt, notify);
	return 1;
}

int submit_add_rcpt(struct submit *s, const char *address,
		    unsigned int notify, const char *orcpt,
		    const char **error_r)
{
	char *q;

	if (s->ctl->rcpt_count >= SUBMIT_MAX_RCPTS) {
		*error_r = reply("452 4.5.3 Too many recipients");
		return -1;
	}
	if (orcpt != NULL && (!ctl_value_ok(orcpt) || strlen(orcpt) > 1000)) {
		*error_r = reply("501 5.5.4 Invalid ORCPT");
		return -1;
	}
	if ((notify & CTL_NOTIFY_NEVER) != 0 && notify != CTL_NOTIFY_NEVER) {
		*error_r = reply("501 5.5.4 NOTIFY=NEVER with other values");
		return -1;
	}
	q = submit_qualify_address(address, error_r);
	if (q == NULL)
		return -1;
	if (!s->no_aliases) {
		struct aliases_db *db = aliases_default_db();
		struct aliases_expansion x = { NULL, 0 };
		int r = db == NULL ? 0 :
			aliases_expand(db, q, submit_qualify_address,
				       aliases_is_local_domain, &x, error_r);

		if (r < 0) {
			aliases_expansion_free(&x);
			free(q);
			return -1;
		}
		if (r > 0) {
			/* the alias is the original recipient of each */
			char *o = orcpt != NULL ? xstrdup(orcpt) :
				xasprintf("rfc822;%s", q);
			unsigned int each = notify;
			bool self = false;
			int added = 0;

			for (size_t i = 0; i < x.count; i++)
				self = self || strcasecmp(x.rcpts[i], q) == 0;
			/* RFC 3461 5.2.7.3: an alias of several recipients
			 * asked for SUCCESS gets an "expanded" notice itself;
			 * its recipients do not inherit SUCCESS */
			if (x.count > 1 && !self &&
			    (notify & CTL_NOTIFY_SUCCESS) != 0 &&
			    rcpt_add(s, q, CTL_NOTIFY_SUCCESS, orcpt) > 0) {
				s->expanded = xreallocarray(s->expanded,
					s->expanded_count + 1,
					sizeof(*s->expanded));
				s->expanded_to = xreallocarray(s->expanded_to,
					s->expanded_count + 1,
					sizeof(*s->expanded_to));
				s->expanded[s->expanded_count] =
					s->ctl->rcpt_count - 1;
				s->expanded_to[s->expanded_count++] = x.count;
				each &= ~(unsigned int)CTL_NOTIFY_SUCCESS;
				if (each == 0)
					each = CTL_NOTIFY_NEVER;
				added = 1;
			}
			for (size_t i = 0; i < x.count; i++) {
				if (rcpt_add(s, x.rcpts[i], each, o) > 0)
					added = 1;
			}
			free(o);
			aliases_expansion_free(&x);
			free(q);
			return added;
		}
		/* not an alias: the expansion holds the address itself */
		aliases_expansion_free(&x);
	}
	{
		int r = rcpt_add(s, q, notify, orcpt);

		free(q);
		return r;
	}
}

void submit_reset_rcpts(struct submit *s)
{
	for (size_t i = 0; i < s->ctl->rcpt_count; i++) {
		free(s->ctl->rcpts[i].address);
		free(s->ctl->rcpts[i].orcpt);
		free(s->ctl->rcpts[i].diag);
	}
	s->ctl->rcpt_count = 0;
	s->expanded_count = 0;
	for (size_t i = 0; i < s->failed_count; i++)
		free(s->failed_diag[i]);
	s->failed_count = 0;
}

int submit_add_rcpt_failed(struct submit *s, const char *address,
			   unsigned int notify, const char *orcpt,
			   const char *diag, const char **error_r)
{
	char *q;
	int r;

	if (orcpt != NULL && (!ctl_value_ok(orcpt) || strlen(orcpt) > 1000)) {
		*error_r = reply("501 5.5.4 Invalid ORCPT");
		return -1;
	}
	q = submit_qualify_address(address, error_r);
	if (q == NULL)
		return -1;
	r = rcpt_add(s, q, notify, orcpt);
	free(q);
	if (r == 0) {
		*error_r = reply("452 4.5.3 Recipient already listed, or too "
				 "many recipients");
		return -1;
	}
	s->failed = xreallocarray(s->failed, s->failed_count + 1,
				  sizeof(*s->failed));
	s->failed_diag = xreallocarray(s->failed_diag, s->failed_count + 1,
				       sizeof(*s->failed_diag));
	s->failed[s->failed_count] = s->ctl->rcpt_count - 1;
	s->failed_diag[s->failed_count++] = xstrdup(diag);
	return 1;
}

/* ---- output ---- */

static void out_flush(struct submit *s)
{
	const char *p = str_c(&s->out);
	size_t len = str_len(&s->out);

	while (len > 0 && s->write_errno == 0) {
		ssize_t n = write(s->qn->data_fd, p, len);

		if (n < 0) {
			if (errno != EINTR)
				s->write_errno = errno;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	str_clear(&s->out);
}

static void out_append(struct submit *s, const char *data, size_t len)
{
	if (len == 0 || s->fail != NULL)
		return;
	s->size += len;
	if (s->size > s->size_limit) {
		s->fail = reply("552 5.3.4 Message too big (limit %" PRIu64
				" bytes)", s->size_limit);
		return;
	}
	str_append_n(&s->out, data, len);
	s->last_byte = data[len - 1];
	if (str_len(&s->out) >= SUBMIT_FLUSH_SIZE)
		out_flush(s);
}

/* One body byte through the UTF-8 check: shortest forms only, no
 * surrogates, nothing above U+10FFFF. */
static void utf8_check(struct submit *s, unsigned char c)
{
	if (s->utf8_need > 0) {
		if (c < s->utf8_lo || c > s->utf8_hi) {
			s->body_utf8_bad = true;
			return;
		}
		s->utf8_need--;
		s->utf8_lo = 0x80;
		s->utf8_hi = 0xbf;
		return;
	}
	if (c < 0x80)
		return;
	s->utf8_lo = 0x80;
	s->utf8_hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		s->utf8_need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		s->utf8_need = 2;
		if (c == 0xe0)
			s->utf8_lo = 0xa0;
		else if (c == 0xed)
			s->utf8_hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		s->utf8_need = 3;
		if (c == 0xf0)
			s->utf8_lo = 0x90;
		else if (c == 0xf4)
			s->utf8_hi = 0x8f;
	} else {
		s->body_utf8_bad = true;
	}
}

/* Body bytes: CRLF becomes LF, 8-bit is noted. */
static void body_feed(struct submit *s, const unsigned char *p, size_t len)
{
	size_t start = 0;

	s->body_started = true;
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x80)
			s->body_8bit = true;
		if (!s->body_utf8_bad && (p[i] >= 0x80 || s->utf8_need > 0))
			utf8_check(s, p[i]);
		if (s->pending_cr) {
			s->pending_cr = false;
			if (p[i] != '\n')
				out_append(s, "\r", 1);
		}
		if (p[i] == '\r') {
			out_append(s, (const char *)p + start, i - start);
			start = i + 1;
			s->pending_cr = true;
		}
	}
	out_append(s, (const char *)p + start, len - start);
}

/* Raw header bytes with CRLF turned into LF. */
static void header_raw_out(struct submit *s, const char *p, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			out_append(s, p + start, i - start);
			start = i + 1;
		}
	}
	out_append(s, p + start, len - start);
	if (len > 0 && p[len - 1] != '\n')
		out_append(s, "\n", 1);
}

static bool has_long_line(const char *p, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' || p[i] == '\r')
			run = 0;
		else if (++run > RFC5322_MAX_LINE)
			return true;
	}
	return false;
}

static void header_field_cb(const struct rfc822_header_field *field,
			    void *context)
{
	struct submit *s = context;
	struct header_field *f;

	if (s->field_count == s->field_alloc) {
		s->field_alloc = s->field_alloc == 0 ? 32 :
			s->field_alloc * 2;
		s->fields = xreallocarray(s->fields, s->field_alloc,
					  sizeof(*s->fields));
	}
	f = &s->fields[s->field_count++];
	f->offset = field->offset;
	f->size = field->size;
	f->broken = field->broken;
	f->name = xstrndup(field->name, field->name_len);
	f->value = xmemdup(field->value, field->value_len);
}

static void write_received(struct submit *s)
{
	struct str v;

	str_init(&v, 256);
	if (s->received_from != NULL)
		str_printfa(&v, "from %s ", s->received_from);
	else
		str_printfa(&v, "(uid %lu) ", (unsigned long)s->uid);
	str_printfa(&v, "by %s with %s; ", cfg.me, s->protocol);
	{
		struct tm tm;

		localtime_r(&s->now, &tm);
		rfc822_date_format(&v, s->now, (int)(tm.tm_gmtoff / 60));
	}
	str_printfa(&v, " id %s", s->qn->qid);
	{
		struct str line;

		str_init(&line, 300);
		rfc822_header_fold(&line, "Received", str_c(&v), 78, "\n");
		out_append(s, str_c(&line), str_len(&line));
		str_free(&line);
	}
	str_free(&v);
	s->received_end = s->size;
}

/* The header block is complete in s->hdr: check it and write it out,
 * then what of it is body. */
static void header_done(struct submit *s)
{
	const char *hdr = str_c(&s->hdr);
	uint64_t hdr_len = str_len(&s->hdr), end = hdr_len;
	unsigned int flags = rfc822_header_parser_get_flags(s->parser);
	bool seen_date = false, seen_msgid = false, seen_mime = false;
	size_t first = 0;

	s->in_body = true;
	if ((flags & RFC822_HEADER_FLAG_TOO_BIG) != 0) {
		s->fail = reply("552 5.3.4 Message header too large");
		return;
	}
	/* A leading mbox "From " line is not part of the message. */
	if (s->field_count > 0 && s->fields[0].broken &&
	    strncmp(s->fields[0].value, "From ", 5) == 0)
		first = 1;
	for (size_t i = first; i < s->field_count; i++) {
		if (s->fields[i].broken) {
			end = s->fields[i].offset;
			break;
		}
	}
	write_received(s);
	for (size_t i = first; i < s->field_count; i++) {
		struct header_field *f = &s->fields[i];
		const char *raw = hdr + f->offset;
		bool eight = false;

		if (f->offset >= end)
			break;
		for (uint64_t j = 0; j < f->size; j++) {
			unsigned char c = (unsigned char)raw[j];

			if (c >= 0x80 && !s->utf8_headers) {
				s->fail = reply("550 5.6.7 8-bit characters "
					"in the message header are not "
					"allowed (use RFC 2047 encoding)");
				return;
			}
			eight = eight || c >= 0x80;
			if (c == '\0') {
				s->fail = reply("550 5.6.0 NUL byte in the "
						"message header");
				return;
			}
		}
		if (eight && !charset_utf8_is_valid(raw, (size_t)f->size)) {
			s->fail = reply("550 5.6.7 The message header is not "
					"valid UTF-8 (RFC 6532)");
			return;
		}
		if (strcasecmp(f->name, "date") == 0)
			seen_date = true;
		else if (strcasecmp(f->name, "message-id") == 0) {
			seen_msgid = true;
			if (s->ctl->msgid == NULL &&
			    ctl_value_ok(f->value))
				s->ctl->msgid = xstrdup(f->value);
		} else if (strcasecmp(f->name, "mime-version") == 0) {
			seen_mime = true;
		} else if (strcasecmp(f->name, "content-type") == 0) {
			s->seen_ctype = true;
		} else if (strcasecmp(f->name, "content-transfer-encoding")
			   == 0) {
			s->seen_cte = true;
		}
		if (has_long_line(raw, f->size)) {
			struct str line;

			str_init(&line, f->size + 64);
			rfc822_header_fold(&line, f->name, f->value, 78,
					   "\n");
			out_append(s, str_c(&line), str_len(&line));
			str_free(&line);
		} else {
			header_raw_out(s, raw, f->size);
		}
	}
	if (!seen_date && s->add_date) {
		struct str v;
		struct tm tm;

		str_init(&v, 64);
		localtime_r(&s->now, &tm);
		str_append(&v, "Date: ");
		rfc822_date_format(&v, s->now, (int)(tm.tm_gmtoff / 60));
		str_append_c(&v, '\n');
		out_append(s, str_c(&v), str_len(&v));
		str_free(&v);
	}
	if (!seen_msgid && s->add_msgid) {
		char *id = xasprintf("<courier.%s@%s>", s->qn->qid,
				     cfg.msgidhost);
		char *line = xasprintf("Message-ID: %s\n", id);

		out_append(s, line, strlen(line));
		free(line);
		free(s->ctl->msgid);
		s->ctl->msgid = id;
	}
	s->seen_mime = seen_mime;
	out_append(s, "\n", 1);
	/* What followed a line that was not a field is body. */
	if (end < hdr_len)
		body_feed(s, (const unsigned char *)hdr + end,
			  (size_t)(hdr_len - end));
}

void submit_write(struct submit *s, const void *data, size_t len)
{
	const char *p = data;

	if (s->fail != NULL)
		return;
	if (!s->in_body) {
		size_t used = 0;
		int r = rfc822_header_parser_feed(s->parser, p, len, &used,
						  header_field_cb, s);

		if (r == 0)
			used = len;
		str_append_n(&s->hdr, p, used);
		if (r == 0)
			return;
		header_done(s);
		p += used;
		len -= used;
		if (s->fail != NULL)
			return;
	}
	body_feed(s, (const unsigned char *)p, len);
}

static void submit_free(struct submit *s)
{
	for (size_t i = 0; i < s->field_count; i++) {
		free(s->fields[i].name);
		free(s->fields[i].value);
	}
	free(s->fields);
	free(s->expanded);
	free(s->expanded_to);
	for (size_t i = 0; i < s->failed_count; i++)
		free(s->failed_diag[i]);
	free(s->failed);
	free(s->failed_diag);
	rfc822_header_parser_destroy(&s->parser);
	str_free(&s->hdr);
	str_free(&s->out);
	str_free(&s->top);
	str_free(&s->ctl_text);
	ctl_file_free(&s->ctl);
	free(s->received_from);
	free(s->protocol);
	queue_new_abort(&s->qn);
	free(s);
}

int submit_add_header_top(struct submit *s, const char *field)
{
	size_t len = strlen(field), start;
	const char *colon = strchr(field, ':');

	if (s->fail != NULL)
		return -1;
	if (!s->in_body) {	/* a message without a body: end its header */
		rfc822_header_parser_finish(s->parser, header_field_cb, s);
		header_done(s);
		if (s->fail != NULL)
			return -1;
	}
	while (len > 0 && (field[len - 1] == '\n' || field[len - 1] == '\r'))
		len--;
	if (len == 0 || colon == NULL || colon == field ||
	    (size_t)(colon - field) >= len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)field[i];

		if (c == '\0' || c >= 0x80 ||
		    (i < (size_t)(colon - field) && (c <= ' ' || c == 0x7f)))
			return -1;
		/* a line break must be followed by folding white space */
		if (c == '\n' && field[i + 1] != ' ' && field[i + 1] != '\t')
			return -1;
		if (c == '\r' && field[i + 1] != '\n')
			return -1;
	}
	if (s->size + s->top.len + len + 1 > s->size_limit) {
		s->fail = reply("552 5.3.4 Message too big (limit %" PRIu64
				" bytes)", s->size_limit);
		return -1;
	}
	if (s->top.data == NULL)
		str_init(&s->top, len + 2);
	start = 0;
	for (size_t i = 0; i < len; i++) {	/* stored with LF ends */
		if (field[i] == '\r') {
			str_append_n(&s->top, field + start, i - start);
			start = i + 1;
		}
	}
	str_append_n(&s->top, field + start, len - start);
	str_append_c(&s->top, '\n');
	return 0;
}

/* Puts the submit_add_header_top() fields into the data file (all of it
 * written) after the Received: line, moving the rest up from the end. */
static void insert_top(struct submit *s)
{
	uint64_t shift = str_len(&s->top), pos = s->size;
	char *buf;
	const size_t chunk = SUBMIT_FLUSH_SIZE;
	int fd = s->qn->data_fd;
	/* the queue's descriptor is write-only: read through another */
	int rfd = open(s->qn->tmp_data, O_RDONLY | O_CLOEXEC);

	if (rfd < 0) {
		s->write_errno = errno;
		return;
	}
	buf = xmalloc(chunk);
	while (pos > s->received_end && s->write_errno == 0) {
		size_t n = pos - s->received_end > chunk ? chunk :
			   (size_t)(pos - s->received_end);
		ssize_t r;

		pos -= n;
		r = pread(rfd, buf, n, (off_t)pos);
		if (r != (ssize_t)n) {
			s->write_errno = r < 0 ? errno : EIO;
			break;
		}
		r = pwrite(fd, buf, n, (off_t)(pos + shift));
		if (r != (ssize_t)n)
			s->write_errno = r < 0 ? errno : EIO;
	}
	free(buf);
	close(rfd);
	if (s->write_errno == 0 &&
	    pwrite(fd, s->top.data, shift, (off_t)s->received_end) !=
	    (ssize_t)shift)
		s->write_errno = errno != 0 ? errno : EIO;
	s->size += shift;
}

/* An 8-bit body without MIME-Version (RFC 5322 text, legal with
 * 8BITMIME, RFC 6152): the missing RFC 2045 fields are added on top, as
 * Courier's submit does, so that the message is labelled for its readers
 * and for a 7-bit conversion on the way out.  An unlabelled body that is
 * not UTF-8 gets charset=unknown-8bit (RFC 1428) when the client declared
 * BODY=8BITMIME or SMTPUTF8, and is refused otherwise (its charset cannot
 * be known). */
static void add_mime_headers(struct submit *s)
{
	bool utf8 = !s->body_utf8_bad && s->utf8_need == 0;

	if (!s->seen_ctype && !utf8 && !s->body_8bitmime) {
		s->fail = reply("550 5.6.3 8-bit message content that is "
				"not UTF-8, without MIME headers "
				"(MIME-Version, Content-Type) nor "
				"BODY=8BITMIME");
		return;
	}
	if (submit_add_header_top(s, "MIME-Version: 1.0") < 0)
		return;
	if (!s->seen_ctype &&
	    submit_add_header_top(s, utf8 ?
				  "Content-Type: text/plain; charset=utf-8" :
				  "Content-Type: text/plain; "
				  "charset=unknown-8bit") < 0)
		return;
	if (!s->seen_cte)
		(void)submit_add_header_top(s, "Content-Transfer-Encoding: "
					    "8bit");
}

void submit_abort(struct submit **sp)
{
	if (*sp == NULL)
		return;
	submit_free(*sp);
	*sp = NULL;
}

int submit_finish_prepare(struct submit **sp, const char **error_r)
{
	struct submit *s = *sp;
	const char *error;

	if (!s->in_body && s->fail == NULL) {
		rfc822_header_parser_finish(s->parser, header_field_cb, s);
		header_done(s);
	}
	if (s->fail == NULL && s->pending_cr)
		out_append(s, "\r", 1);
	if (s->fail == NULL && s->size > 0 && s->last_byte != '\n')
		out_append(s, "\n", 1);
	s->ctl->body_8bit = s->body_8bit;
	if (s->fail == NULL && s->body_8bit && !s->seen_mime)
		add_mime_headers(s);
	if (s->fail == NULL && s->ctl->rcpt_count == 0)
		s->fail = reply("554 5.5.1 No valid recipients");
	if (s->fail == NULL) {
		out_flush(s);
		if (s->write_errno == 0 && str_len(&s->top) > 0)
			insert_top(s);
		if (s->write_errno != 0) {
			log_error("submit: cannot write %s: %s",
				  s->qn->tmp_data, strerror(s->write_errno));
			s->fail = reply("451 4.3.0 Cannot queue the message "
					"now (%s)", s->write_errno == ENOSPC ?
					"disk full" : "write error");
		}
	}
	if (s->fail != NULL) {
		*error_r = s->fail;
		submit_free(s);
		*sp = NULL;
		return -1;
	}
	str_init(&s->ctl_text, 256 + s->ctl->rcpt_count * 64);
	if (ctl_write_envelope(&s->ctl_text, s->ctl, &error) < 0) {
		*error_r = reply("501 5.5.4 %s", error);
		submit_free(s);
		*sp = NULL;
		return -1;
	}
	for (size_t i = 0; i < s->expanded_count; i++) {
		char *diag = xasprintf("250 2.0.0 expanded to %zu recipients",
				       s->expanded_to[i]);

		ctl_write_status(&s->ctl_text, s->expanded[i],
				 CTL_STATUS_DELIVERED, 'x', time(NULL), diag);
		free(diag);
	}
	for (size_t i = 0; i < s->failed_count; i++)
		ctl_write_status(&s->ctl_text, s->failed[i],
				 CTL_STATUS_FAILED, 0, time(NULL),
				 s->failed_diag[i]);
	s->prepared = true;
	return 0;
}

int submit_finish_commit(struct submit **sp, char qid_r[QUEUE_ID_LEN + 1],
			 const char **error_r)
{
	struct submit *s = *sp;
	const char *error;

	*sp = NULL;
	if (!s->prepared)
		log_panic("submit_finish_commit() without a prepared "
			  "submission");
	memcpy(qid_r, s->qn->qid, QUEUE_ID_LEN + 1);
	if (queue_new_commit(&s->qn, str_c(&s->ctl_text),
			     str_len(&s->ctl_text), &error) < 0) {
		log_error("submit: %s", error);
		*error_r = reply("451 4.3.0 Cannot queue the message now");
		submit_free(s);
		return -1;
	}
	{
		char *line = xasprintf("N%s", qid_r);

		if (queue_trigger(line, &error) < 0)
			log_warning("submit: %s", error);
		free(line);
	}
	submit_free(s);
	return 0;
}

int submit_finish(struct submit **sp, char qid_r[QUEUE_ID_LEN + 1],
		  const char **error_r)
{
	if (submit_finish_prepare(sp, error_r) < 0)
		return -1;
	return submit_finish_commit(sp, qid_r, error_r);
}
