/* dsn.c: builds and queues delivery status notifications (dsn.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-file.h"
#include "config-settings.h"
#include "dsn.h"
#include "log.h"
#include "mem.h"
#include "rfc822-date.h"
#include "rfc822-header.h"
#include "str.h"
#include "submit.h"

/* 1 to 3 digits at p; returns how many, 0 when not so. */
static size_t digits(const char *p)
{
	size_t n = 0;

	while (p[n] >= '0' && p[n] <= '9' && n < 4)
		n++;
	return n >= 1 && n <= 3 ? n : 0;
}

void dsn_status_code(const char *diag, enum dsn_kind kind, char *status_r,
		     size_t size)
{
	const char *p = diag;

	if (p != NULL) {
		size_t a, b, n;

		/* skip an SMTP reply code */
		if (p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
		    p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-'))
			p += 4;
		/* class "." subject "." detail (RFC 3463) */
		if ((p[0] == '2' || p[0] == '4' || p[0] == '5') &&
		    p[1] == '.' && (a = digits(p + 2)) > 0 &&
		    p[2 + a] == '.' && (b = digits(p + 3 + a)) > 0 &&
		    (p[3 + a + b] == ' ' || p[3 + a + b] == '\0') &&
		    ((kind == DSN_FAILED && p[0] == '5') ||
		     (kind == DSN_DELAYED && p[0] == '4') ||
		     (kind == DSN_DELIVERED && p[0] == '2'))) {
			n = 3 + a + b;
			if (n < size) {
				memcpy(status_r, p, n);
				status_r[n] = '\0';
				return;
			}
		}
	}
	str_copy(status_r, kind == DSN_FAILED ? "5.0.0" :
		 kind == DSN_DELAYED ? "4.0.0" : "2.0.0", size);
}

static void date_now(struct str *out, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	rfc822_date_format(out, t, (int)(tm.tm_gmtoff / 60));
}

static const char *action_of(enum dsn_kind kind, const struct ctl_rcpt *r)
{
	switch (kind) {
	case DSN_FAILED: return "failed";
	case DSN_DELAYED: return "delayed";
	default:
		return r->status_how == 'r' ? "relayed" :
			r->status_how == 'x' ? "expanded" : "delivered";
	}
}

/* Appends a header value with line breaks and 8-bit bytes made safe. */
static void append_clean(struct str *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text;
	     *p != '\0'; p++)
		str_append_c(out, *p < 0x20 || *p >= 0x7f ? '?' : (char)*p);
}

static void build_head(struct str *out, const char *qid,
		       const struct ctl_file *ctl, const char *to,
		       enum dsn_kind kind, const bool *include, time_t now,
		       const char *me, const char *boundary)
{
	char *from = config_read_first_line("dsnfrom", NULL);
	time_t arrival;

	if (from == NULL)
		from = xasprintf("\"Courier mail server at %s\" "
				 "<MAILER-DAEMON@%s>", me, me);
	str_printfa(out, "From: %s\n", from);
	free(from);
	str_append(out, "To: <");
	append_clean(out, to);
	str_append(out, ">\n");
	str_printfa(out, "Subject: %s\n", kind == DSN_DELAYED ?
		    "WARNING: delayed mail." :
		    "NOTICE: mail delivery status.");
	str_append(out, "MIME-Version: 1.0\n");
	str_printfa(out, "Content-Type: multipart/report; "
		    "report-type=delivery-status;\n boundary=\"%s\"\n",
		    boundary);
	str_append(out, "Content-Transfer-Encoding: 7bit\n");
	str_append(out, "Auto-Submitted: auto-replied\n\n");
	str_append(out, "This is a MIME-formatted message.  If you see this "
		   "text it means that your\nE-mail software does not "
		   "support MIME-formatted messages.\n\n");
	str_printfa(out, "--%s\nContent-Type: text/plain; "
		    "charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n",
		    boundary);
	str_printfa(out, "This is a delivery status notification from %s,\n"
		    "running the Courier mail server.\n\n", me);
	switch (kind) {
	case DSN_FAILED:
		str_append(out, "The original message was received at ");
		break;
	case DSN_DELAYED:
		str_append(out, "THIS IS A WARNING MESSAGE ONLY.\nYOU DO NOT "
			   "NEED TO RESEND YOUR MESSAGE.\n\nThe original "
			   "message was received at ");
		break;
	default:
		str_append(out, "The original message was received at ");
		break;
	}
	queue_id_valid(qid, &arrival);
	date_now(out, arrival);
	str_printfa(out, "\n(queue id %s).\n\n", qid);
	switch (kind) {
	case DSN_FAILED:
		str_append(out, "It could not be delivered to these "
			   "addresses; it will not be tried again:\n\n");
		break;
	case DSN_DELAYED:
		str_append(out, "It has not been delivered yet to these "
			   "addresses; delivery will be retried until ");
		date_now(out, ctl->expires);
		str_append(out, ":\n\n");
		break;
	default:
		str_append(out, "It was delivered to these addresses:\n\n");
		break;
	}
	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		const struct ctl_rcpt *r = &ctl->rcpts[i];

		if (!include[i])
			continue;
		str_append(out, "<");
		append_clean(out, r->address);
		str_append(out, ">:\n");
		if (r->diag != NULL) {
			str_append(out, "    ");
			append_clean(out, r->diag);
			str_append_c(out, '\n');
		}
		str_append_c(out, '\n');
	}
	/* the machine-readable part */
	str_printfa(out, "--%s\nContent-Type: message/delivery-status\n"
		    "Content-Transfer-Encoding: 7bit\n\n", boundary);
	str_printfa(out, "Reporting-MTA: dns; %s\nArrival-Date: ", me);
	date_now(out, arrival);
	str_append_c(out, '\n');
	if (ctl->envid != NULL) {
		str_append(out, "Original-Envelope-Id: ");
		append_clean(out, ctl->envid);
		str_append_c(out, '\n');
	}
	if (ctl->from_mta != NULL) {
		str_append(out, "Received-From-MTA: ");
		append_clean(out, ctl->from_mta);
		str_append_c(out, '\n');
	}
	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		const struct ctl_rcpt *r = &ctl->rcpts[i];
		char status[16];

		if (!include[i])
			continue;
		str_append_c(out, '\n');
		if (r->orcpt != NULL) {
			str_append(out, "Original-Recipient: ");
			append_clean(out, r->orcpt);
			str_append_c(out, '\n');
		}
		str_append(out, "Final-Recipient: rfc822; ");
		append_clean(out, r->address);
		str_printfa(out, "\nAction: %s\n", action_of(kind, r));
		dsn_status_code(r->diag, kind, status, sizeof(status));
		str_printfa(out, "Status: %s\n", status);
		if (r->diag != NULL) {
			str_append(out, "Diagnostic-Code: smtp; ");
			append_clean(out, r->diag);
			str_append_c(out, '\n');
		}
		str_append(out, "Last-Attempt-Date: ");
		date_now(out, r->status_time != 0 ? r->status_time : now);
		str_append_c(out, '\n');
		if (kind == DSN_DELAYED) {
			str_append(out, "Will-Retry-Until: ");
			date_now(out, ctl->expires);
			str_append_c(out, '\n');
		}
	}
	str_append_c(out, '\n');
}

/* Copies the original (or its header only) from the data file. */
static int copy_original(struct submit *s, const char *qid, bool full,
			 const char **error_r)
{
	char *path = queue_path(qid, 'D');
	struct rfc822_header_parser *hp = NULL;
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	bool done = false;

	if (fd < 0) {
		*error_r = "cannot open the data file";
		log_error("dsn: open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (!full)
		hp = rfc822_header_parser_create(NULL);
	while (!done && (n = read(fd, buf, sizeof(buf))) != 0) {
		size_t used;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = "cannot read the data file";
			close(fd);
			rfc822_header_parser_destroy(&hp);
			return -1;
		}
		if (hp != NULL && rfc822_header_parser_feed(hp, buf, (size_t)n,
					&used, NULL, NULL) == 1) {
			n = (ssize_t)used;
			done = true;
		}
		submit_write(s, buf, (size_t)n);
	}
	close(fd);
	rfc822_header_parser_destroy(&hp);
	return 0;
}

static int dsn_try(const char *qid, const struct ctl_file *ctl,
		   const char *to, enum dsn_kind kind, const bool *include,
		   time_t now, bool full, char *dsn_qid_r,
		   const char **error_r)
{
	struct submit_options o;
	struct submit *s;
	struct str head;
	char *me, *boundary, qidbuf[QUEUE_ID_LEN + 1];

	memset(&o, 0, sizeof(o));
	o.sender = "";
	o.source = "dsn";
	o.protocol = "dsn";
	o.uid = getuid();
	s = submit_begin(&o, error_r);
	if (s == NULL)
		return -1;
	if (submit_add_rcpt(s, to, CTL_NOTIFY_NEVER, NULL,
			    error_r) < 0) {
		submit_abort(&s);
		/* an unusable sender cannot get a DSN: nothing to send */
		return 0;
	}
	me = config_me(NULL);
	boundary = xasprintf("=_courier_%s_%ld", qid, (long)now);
	str_init(&head, 4096);
	build_head(&head, qid, ctl, to, kind, include, now, me, boundary);
	str_printfa(&head, "--%s\nContent-Type: %s\n", boundary,
		    full ? "message/rfc822" : "text/rfc822-headers");
	str_printfa(&head, "Content-Transfer-Encoding: %s\n\n",
		    ctl->body_8bit && full ? "8bit" : "7bit");
	submit_write(s, str_c(&head), str_len(&head));
	if (copy_original(s, qid, full, error_r) < 0) {
		submit_abort(&s);
		str_free(&head);
		free(me);
		free(boundary);
		return -1;
	}
	str_clear(&head);
	str_printfa(&head, "\n--%s--\n", boundary);
	submit_write(s, str_c(&head), str_len(&head));
	str_free(&head);
	free(me);
	free(boundary);
	if (submit_finish(&s, qidbuf, error_r) < 0)
		return -1;
	if (dsn_qid_r != NULL)
		memcpy(dsn_qid_r, qidbuf, sizeof(qidbuf));
	return 1;
}

/* One DSN to `to` about the recipients of include: the whole message,
 * else (refused as too big) its header.  Returns as dsn_send(). */
static int dsn_send_to(const char *qid, const struct ctl_file *ctl,
		       const char *to, enum dsn_kind kind, const bool *include,
		       time_t now, bool full, char *dsn_qid_r,
		       const char **error_r)
{
	int r;

	r = dsn_try(qid, ctl, to, kind, include, now, full, dsn_qid_r,
		    error_r);
	if (r < 0 && full && **error_r == '5') {
		/* too big to return whole: return the header */
		r = dsn_try(qid, ctl, to, kind, include, now, false, dsn_qid_r,
			    error_r);
	}
	if (r < 0 && **error_r == '5') {
		/* refused for good (the sender is unusable): no DSN */
		log_warning("dsn for %s refused: %s", qid, *error_r);
		return 0;
	}
	return r;
}

/* VERP (ctlfile.h): a DSN per recipient, to the recipient's own VERP
 * sender, so that the bounce names it.  A temporary failure stops at
 * that recipient (the caller tries again; the ones before may then get a
 * second notice). */
static int dsn_send_verp(const char *qid, const struct ctl_file *ctl,
			 enum dsn_kind kind, const bool *include, time_t now,
			 bool full, char *dsn_qid_r, const char **error_r)
{
	bool *one = xcalloc(ctl->rcpt_count + 1, sizeof(bool));
	int ret = 0;

	for (size_t i = 0; i < ctl->rcpt_count; i++) {
		char *to;
		int r;

		if (!include[i])
			continue;
		to = ctl_rcpt_sender(ctl, i);
		one[i] = true;
		r = dsn_send_to(qid, ctl, to, kind, one, now, full, dsn_qid_r,
				error_r);
		one[i] = false;
		free(to);
		if (r < 0) {
			ret = -1;
			break;
		}
		if (r > 0)
			ret = 1;
	}
	free(one);
	return ret;
}

int dsn_send(const char *qid, const struct ctl_file *ctl,
	     enum dsn_kind kind, const bool *include, time_t now,
	     char *dsn_qid_r, const char **error_r)
{
	bool any = false, full;
	uint64_t limit = DSN_DEFAULT_LIMIT;
	off_t size = queue_data_size(qid);

	if (*ctl->sender == '\0')
		return 0;
	for (size_t i = 0; i < ctl->rcpt_count; i++)
		any = any || include[i];
	if (!any)
		return 0;
	{
		char *v = config_read_first_line("dsnlimit", NULL);
		const char *error;

		if (v != NULL && config_parse_size(v, &limit, &error) < 0) {
			log_error("dsnlimit: %s", error);
			limit = DSN_DEFAULT_LIMIT;
		}
		free(v);
	}
	/* dsnlimit: a larger message only has its header returned, in
	 * a failure notice too (whatever RET asked) */
	if (size < 0 || (uint64_t)size > limit)
		full = false;
	else if (kind == DSN_FAILED)
		full = ctl->ret != 'H';
	else
		full = ctl->ret == 'F';
	if (ctl->verp)
		return dsn_send_verp(qid, ctl, kind, include, now, full,
				     dsn_qid_r, error_r);
	return dsn_send_to(qid, ctl, ctl->sender, kind, include, now, full,
			   dsn_qid_r, error_r);
}
