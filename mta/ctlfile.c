/* ctlfile.c: reads and writes the queue's control files (ctlfile.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctlfile.h"
#include "mem.h"

struct ctl_file *ctl_file_new(void)
{
	struct ctl_file *ctl = xcalloc(1, sizeof(*ctl));

	ctl->sender = xstrdup("");
	return ctl;
}

void ctl_file_free(struct ctl_file **ctlp)
{
	struct ctl_file *ctl = *ctlp;

	if (ctl == NULL)
		return;
	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		free(ctl->rcpts[i].address);
		free(ctl->rcpts[i].orcpt);
		free(ctl->rcpts[i].diag);
	}
	free(ctl->rcpts);
	free(ctl->sender);
	free(ctl->source);
	free(ctl->envid);
	free(ctl->msgid);
	free(ctl->auth_user);
	free(ctl->from_mta);
	free(ctl->local_ip);
	free(ctl->cancelled);
	free(ctl);
	*ctlp = NULL;
}

size_t ctl_file_add_rcpt(struct ctl_file *ctl, const char *address,
			 const char *orcpt, unsigned int notify)
{
	struct ctl_rcpt *r;

	if (ctl->rcpt_count == ctl->rcpt_alloc) {
		ctl->rcpt_alloc = ctl->rcpt_alloc == 0 ? 4 :
			ctl->rcpt_alloc * 2;
		ctl->rcpts = xreallocarray(ctl->rcpts, ctl->rcpt_alloc,
					   sizeof(*ctl->rcpts));
	}
	r = &ctl->rcpts[ctl->rcpt_count];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(address);
	r->orcpt = orcpt != NULL && *orcpt != '\0' ? xstrdup(orcpt) : NULL;
	r->notify = notify;
	return ctl->rcpt_count++;
}

int ctl_notify_parse(const char *text, unsigned int *mask_r)
{
	unsigned int mask = 0;

	for (const char *p = text; *p != '\0'; p++) {
		switch (*p) {
		case 'S': mask |= CTL_NOTIFY_SUCCESS; break;
		case 'F': mask |= CTL_NOTIFY_FAILURE; break;
		case 'D': mask |= CTL_NOTIFY_DELAY; break;
		case 'N': mask |= CTL_NOTIFY_NEVER; break;
		default:
			return -1;
		}
	}
	*mask_r = mask;
	return 0;
}

void ctl_notify_format(struct str *out, unsigned int mask)
{
	if ((mask & CTL_NOTIFY_NEVER) != 0) {
		str_append_c(out, 'N');
		return;
	}
	if ((mask & CTL_NOTIFY_SUCCESS) != 0)
		str_append_c(out, 'S');
	if ((mask & CTL_NOTIFY_FAILURE) != 0)
		str_append_c(out, 'F');
	if ((mask & CTL_NOTIFY_DELAY) != 0)
		str_append_c(out, 'D');
}

bool ctl_rcpt_wants(const struct ctl_rcpt *r, unsigned int kind)
{
	unsigned int mask = r->notify;

	if ((mask & CTL_NOTIFY_NEVER) != 0)
		return false;
	if (mask == 0)
		mask = CTL_NOTIFY_FAILURE | CTL_NOTIFY_DELAY;
	return (mask & kind) != 0;
}

bool ctl_file_all_final(const struct ctl_file *ctl)
{
	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		if (ctl->rcpts[i].status != CTL_STATUS_DELIVERED &&
		    ctl->rcpts[i].status != CTL_STATUS_FAILED)
			return false;
	}
	return true;
}

static void verp_encode(struct str *out, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c != '\0' && strchr(CTL_VERP_SPECIALS, c) != NULL)
			str_printfa(out, "+%02X", c);
		else
			str_append_c(out, (char)c);
	}
}

void ctl_verp_sender(struct str *out, const char *sender,
		     const char *recipient)
{
	const char *sat = strrchr(sender, '@');
	const char *rat = strrchr(recipient, '@');

	if (*sender == '\0')
		return;
	str_append_n(out, sender, sat != NULL ? (size_t)(sat - sender) :
		     strlen(sender));
	str_append_c(out, '-');
	if (rat != NULL) {
		verp_encode(out, recipient, (size_t)(rat - recipient));
		str_append_c(out, '=');
		verp_encode(out, rat + 1, strlen(rat + 1));
	} else {
		verp_encode(out, recipient, strlen(recipient));
	}
	if (sat != NULL)
		str_append(out, sat);
}

char *ctl_rcpt_sender(const struct ctl_file *ctl, size_t n)
{
	struct str s;

	if (!ctl->verp || *ctl->sender == '\0' || n >= ctl->rcpt_count)
		return xstrdup(ctl->sender);
	str_init(&s, strlen(ctl->sender) + strlen(ctl->rcpts[n].address) +
		 16);
	ctl_verp_sender(&s, ctl->sender, ctl->rcpts[n].address);
	return str_steal(&s);
}

bool ctl_value_ok(const char *text)
{
	return text == NULL || strpbrk(text, "\r\n") == NULL;
}

/* Reads an unsigned decimal number at *p (at least one digit), moving *p
 * past it.  Returns 0, or -1 on no digits or overflow. */
static int parse_num(const char **p, uint64_t max, uint64_t *value_r)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*p = s;
	*value_r = v;
	return 0;
}

/* A whole value that is a time: digits only. */
static int parse_time(const char *s, time_t *t_r)
{
	uint64_t v;

	if (parse_num(&s, (uint64_t)INT64_MAX, &v) < 0 || *s != '\0')
		return -1;
	*t_r = (time_t)v;
	return 0;
}

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/* "<n> <rest>": the recipient number, which must exist. */
static struct ctl_rcpt *rcpt_ref(struct ctl_file *ctl, const char **p)
{
	uint64_t n;

	if (parse_num(p, SIZE_MAX, &n) < 0 || n >= ctl->rcpt_count)
		return NULL;
	return &ctl->rcpts[n];
}

static void parse_status(struct ctl_file *ctl, char type, const char *v)
{
	struct ctl_rcpt *r = rcpt_ref(ctl, &v);
	uint64_t t;
	char how = 0;

	if (r == NULL || *v != ' ') {
		ctl->bad_lines++;
		return;
	}
	v++;
	if (parse_num(&v, (uint64_t)INT64_MAX, &t) < 0) {
		ctl->bad_lines++;
		return;
	}
	if (*v == ' ' && (v[1] == 'l' || v[1] == 'r' || v[1] == 'x') &&
	    v[2] == '\0')
		how = v[1];
	else if (*v != '\0') {
		ctl->bad_lines++;
		return;
	}
	/* A final status is never undone by a later record. */
	if (r->status == CTL_STATUS_DELIVERED ||
	    r->status == CTL_STATUS_FAILED)
		return;
	switch (type) {
	case 'S':
		r->status = CTL_STATUS_DELIVERED;
		break;
	case 'F':
		r->status = CTL_STATUS_FAILED;
		break;
	default:
		r->status = CTL_STATUS_DEFERRED;
		r->attempts++;
		break;
	}
	r->status_time = (time_t)t;
	r->status_how = how;
}

/* "P<n> <time>": a delivery of recipient n started. */
static void parse_started(struct ctl_file *ctl, const char *v)
{
	struct ctl_rcpt *r = rcpt_ref(ctl, &v);
	uint64_t t;

	if (r == NULL || *v != ' ') {
		ctl->bad_lines++;
		return;
	}
	v++;
	if (parse_num(&v, (uint64_t)INT64_MAX, &t) < 0 || *v != '\0') {
		ctl->bad_lines++;
		return;
	}
	r->started++;
}

static void parse_diag(struct ctl_file *ctl, const char *v)
{
	struct ctl_rcpt *r = rcpt_ref(ctl, &v);

	if (r == NULL || *v != ' ' || v[1] == '\0') {
		ctl->bad_lines++;
		return;
	}
	v++;
	/* "<type> <text>": keep the text. */
	if (v[0] != '\0' && v[1] == ' ')
		v += 2;
	set_str(&r->diag, v);
}

/* Applies one record; returns -1 when the file cannot be a control file. */
static int parse_line(struct ctl_file *ctl, const char *line, bool first,
		      size_t max_rcpts, const char **error_r)
{
	char type = line[0];
	const char *v = line + 1;
	struct ctl_rcpt *last;
	unsigned int mask;
	time_t t;

	if (first && type != 's') {
		*error_r = "control file does not start with the sender";
		return -1;
	}
	last = ctl->rcpt_count > 0 ? &ctl->rcpts[ctl->rcpt_count - 1] : NULL;
	switch (type) {
	case 's':
		if (!first)
			ctl->bad_lines++;
		else
			set_str(&ctl->sender, v);
		break;
	case 'u': set_str(&ctl->source, v); break;
	case 'e': set_str(&ctl->envid, v); break;
	case 'M': set_str(&ctl->msgid, v); break;
	case 'i': set_str(&ctl->auth_user, v); break;
	case 'f': set_str(&ctl->from_mta, v); break;
	case 'l': set_str(&ctl->local_ip, v); break;
	case 'X': set_str(&ctl->cancelled, v); break;
	case 't':
		if ((v[0] == 'F' || v[0] == 'H') && v[1] == '\0')
			ctl->ret = v[0];
		else
			ctl->bad_lines++;
		break;
	case '8': ctl->body_8bit = true; break;
	case 'V': ctl->verp = true; break;
	case 'U': {
		const char *p = v;
		uint64_t uid;

		if (parse_num(&p, UINT32_MAX, &uid) < 0 || *p != '\0') {
			ctl->bad_lines++;
			break;
		}
		ctl->has_owner = true;
		ctl->owner_uid = (unsigned long)uid;
		break;
	}
	case 'w': ctl->warned = true; break;
	case 'E': case 'W': case 'L': case 'A': case 'C':
		if (parse_time(v, &t) < 0) {
			ctl->bad_lines++;
			break;
		}
		if (type == 'E')
			ctl->expires = t;
		else if (type == 'W')
			ctl->warn_time = t;
		else if (type == 'L')
			ctl->not_before = t;
		else if (type == 'A')
			ctl->next_attempt = t;
		else {
			ctl->rounds++;
			ctl->last_round = t;
		}
		break;
	case 'r':
		if (ctl->rcpt_count >= max_rcpts) {
			*error_r = "too many recipients in control file";
			return -1;
		}
		ctl_file_add_rcpt(ctl, v, NULL, 0);
		break;
	case 'R':
		if (last == NULL) {
			ctl->bad_lines++;
			break;
		}
		free(last->orcpt);
		last->orcpt = *v != '\0' ? xstrdup(v) : NULL;
		break;
	case 'N':
		if (last == NULL || ctl_notify_parse(v, &mask) < 0) {
			ctl->bad_lines++;
			break;
		}
		last->notify = mask;
		break;
	case 'I':
		parse_diag(ctl, v);
		break;
	case 'S': case 'F': case 'D':
		parse_status(ctl, type, v);
		break;
	case 'P':
		parse_started(ctl, v);
		break;
	default:
		/* Another version's record: ignored. */
		break;
	}
	return 0;
}

int ctl_parse(const char *data, size_t len, const struct ctl_limits *limits,
	      struct ctl_file **ctl_r, const char **error_r)
{
	size_t max_size = limits != NULL && limits->max_size != 0 ?
		limits->max_size : CTLFILE_DEFAULT_MAX_SIZE;
	size_t max_rcpts = limits != NULL && limits->max_rcpts != 0 ?
		limits->max_rcpts : CTLFILE_DEFAULT_MAX_RCPTS;
	struct ctl_file *ctl;
	char *line = NULL;
	size_t pos = 0;
	bool first = true;

	*ctl_r = NULL;
	if (len > max_size) {
		*error_r = "control file too large";
		return -1;
	}
	if (memchr(data, '\0', len) != NULL) {
		*error_r = "NUL byte in control file";
		return -1;
	}
	ctl = ctl_file_new();
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n;

		if (nl == NULL)
			break; /* a record still being appended */
		n = (size_t)(nl - (data + pos));
		if (n > CTLFILE_MAX_LINE) {
			*error_r = "control file line too long";
			goto fail;
		}
		if (n == 0) {
			ctl->bad_lines++;
			pos++;
			continue;
		}
		line = xstrndup(data + pos, n);
		if (parse_line(ctl, line, first, max_rcpts, error_r) < 0)
			goto fail;
		x_free(line);
		first = false;
		pos += n + 1;
	}
	if (first) {
		*error_r = "empty control file";
		goto fail;
	}
	*ctl_r = ctl;
	return 0;
fail:
	free(line);
	ctl_file_free(&ctl);
	return -1;
}

static int put(struct str *out, char type, const char *value,
	       const char **error_r)
{
	if (value == NULL)
		return 0;
	if (!ctl_value_ok(value)) {
		*error_r = "line break in a control file value";
		return -1;
	}
	str_append_c(out, type);
	str_append(out, value);
	str_append_c(out, '\n');
	return 0;
}

static void put_time(struct str *out, char type, time_t t)
{
	if (t != 0)
		str_printfa(out, "%c%" PRId64 "\n", type, (int64_t)t);
}

int ctl_write_envelope(struct str *out, const struct ctl_file *ctl,
		       const char **error_r)
{
	size_t start = str_len(out);

	if (put(out, 's', ctl->sender != NULL ? ctl->sender : "",
		error_r) < 0 ||
	    put(out, 'u', ctl->source, error_r) < 0 ||
	    put(out, 'e', ctl->envid, error_r) < 0 ||
	    put(out, 'M', ctl->msgid, error_r) < 0 ||
	    put(out, 'i', ctl->auth_user, error_r) < 0 ||
	    put(out, 'f', ctl->from_mta, error_r) < 0 ||
	    put(out, 'l', ctl->local_ip, error_r) < 0)
		goto fail;
	if (ctl->ret == 'F' || ctl->ret == 'H')
		str_printfa(out, "t%c\n", ctl->ret);
	if (ctl->has_owner)
		str_printfa(out, "U%lu\n", ctl->owner_uid);
	if (ctl->body_8bit)
		str_append(out, "8\n");
	if (ctl->verp)
		str_append(out, "V\n");
	put_time(out, 'E', ctl->expires);
	put_time(out, 'W', ctl->warn_time);
	put_time(out, 'L', ctl->not_before);
	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		const struct ctl_rcpt *r = &ctl->rcpts[i];

		if (put(out, 'r', r->address, error_r) < 0 ||
		    put(out, 'R', r->orcpt != NULL ? r->orcpt : "",
			error_r) < 0)
			goto fail;
		str_append_c(out, 'N');
		ctl_notify_format(out, r->notify);
		str_append_c(out, '\n');
	}
	return 0;
fail:
	str_truncate(out, start);
	return -1;
}

void ctl_write_status(struct str *out, size_t n, enum ctl_status status,
		      char how, time_t t, const char *diag)
{
	char type;

	if (diag != NULL && *diag != '\0') {
		str_printfa(out, "I%zu R ", n);
		for (const char *p = diag; *p != '\0'; p++)
			str_append_c(out, *p == '\r' || *p == '\n' ? ' ' : *p);
		str_append_c(out, '\n');
	}
	switch (status) {
	case CTL_STATUS_DELIVERED: type = 'S'; break;
	case CTL_STATUS_FAILED: type = 'F'; break;
	default: type = 'D'; break;
	}
	str_printfa(out, "%c%zu %" PRId64, type, n, (int64_t)t);
	if (status == CTL_STATUS_DELIVERED &&
	    (how == 'l' || how == 'r' || how == 'x'))
		str_printfa(out, " %c", how);
	str_append_c(out, '\n');
}

void ctl_write_started(struct str *out, size_t n, time_t t)
{
	str_printfa(out, "P%zu %" PRId64 "\n", n, (int64_t)t);
}
