/* esmtp-cmd-data.c: DATA (dot-unstuffing) and BDAT (RFC 3030 chunks):
 * the message is streamed into the queue through mta/submit.h as it
 * arrives, and the final 250 comes after the queue has fsynced it. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-file.h"
#include "conn.h"
#include "dns.h"
#include "esmtp-bofh.h"
#include "esmtp-filter.h"
#include "esmtp-localfilter.h"
#include "esmtp-private.h"
#include "log.h"
#include "mem.h"
#include "mime-parser.h"
#include "rfc822-addr.h"
#include "rfc822-header.h"
#include "submit.h"
#include "worker-pool.h"

/* bofh: BOFHHEADERLIMIT and BOFHNOBASE64TEXT, seen as the header of
 * each MIME part is parsed. */
static void bofh_part_header(struct mime_part *part, void *context)
{
	struct esmtp_session *s = context;
	const struct esmtp_bofh *b = s->server->bofh;

	if (s->bofh_reject != NULL)
		return;
	if (part->depth == 0 &&
	    ((part->flags & MIME_PART_FLAG_HEADER_TOO_BIG) != 0 ||
	     part->header_size > b->header_limit))
		s->bofh_reject = "552 5.3.4 Message header too large";
	else if (b->no_base64_text &&
		 (part->flags & MIME_PART_FLAG_TEXT) != 0 &&
		 part->encoding != NULL &&
		 strcmp(part->encoding, "base64") == 0)
		s->bofh_reject = "550 5.7.1 Base64-encoded text is refused";
}

/* The first address of the message's From: (for BOFHSPFFROM). */
static void bofh_header(struct mime_part *part,
			const struct rfc822_header_field *field, void *context)
{
	struct esmtp_session *s = context;
	struct rfc822_addr_parser *p;
	struct rfc822_addr_list *list = NULL;

	if (part->depth != 0 || s->header_from_seen || field->name_len != 4 ||
	    strncasecmp(field->name, "From", 4) != 0)
		return;
	s->header_from_seen = true;
	p = rfc822_addr_parser_create(NULL);
	(void)rfc822_addr_parse(p, field->value, field->value_len, &list,
				NULL);
	for (size_t i = 0; list != NULL && i < list->count; i++) {
		const struct rfc822_addr *a = &list->addrs[i];

		if (a->type == RFC822_ADDR_MAILBOX && !a->invalid &&
		    a->local != NULL && a->domain != NULL) {
			s->header_from = xasprintf("%s@%s", a->local,
						   a->domain);
			break;
		}
	}
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&p);
}

static const struct mime_parser_callbacks bofh_mime_callbacks = {
	.header = bofh_header,
	.part_header_end = bofh_part_header,
};

/* A copy of the message for the filters, in the filters' tmp folder. */
static void filter_file_open(struct esmtp_session *s)
{
	static unsigned int counter;

	s->filter_msg_path = xasprintf("%s/msg.%ld.%u",
				       s->server->filter_tmpdir,
				       (long)getpid(), ++counter);
	s->filter_fd = open(s->filter_msg_path,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (s->filter_fd < 0) {
		/* refused at the end (451) rather than unfiltered */
		log_error("esmtpd: %s: %s", s->filter_msg_path,
			  strerror(errno));
		free(s->filter_msg_path);
		s->filter_msg_path = NULL;
		submit_abort(&s->submit);
	}
}

bool esmtp_lmf_enabled(const struct esmtp_session *s)
{
	char *path;
	bool on;

	if (s->server->lmf_helper == NULL || s->server->local_caller)
		return false;
	path = config_path("maildropfilter");
	on = access(path, F_OK) == 0;
	free(path);
	return on;
}

void esmtp_lmf_reset(struct esmtp_session *s)
{
	if (s->lmf_fd >= 0)
		close(s->lmf_fd);
	s->lmf_fd = -1;
	if (s->lmf_verdicts == NULL)
		return;
	for (unsigned int i = 0; i < s->rcpt_count; i++)
		free(s->lmf_verdicts[i]);
	free(s->lmf_verdicts);
	s->lmf_verdicts = NULL;
}

/* A copy of the message for the recipients' smtpfilters, when some
 * rcptfilter asked for it: a file of the filters' tmp folder, unlinked
 * at once (the helper reads it as its standard input). */
static void lmf_file_open(struct esmtp_session *s)
{
	const char *dir = s->server->filter_tmpdir != NULL ?
		s->server->filter_tmpdir : "/tmp";
	char *path;
	bool needed = false;

	for (unsigned int i = 0; i < s->rcpt_count && !needed; i++)
		needed = s->rcpts[i].lmf_account != NULL ||
			 s->rcpts[i].lmf_alias;
	if (!needed)
		return;
	path = xasprintf("%s/lmf.XXXXXX", dir);
	s->lmf_fd = mkostemp(path, O_CLOEXEC);
	if (s->lmf_fd < 0 && errno == ENOENT &&
	    (mkdir(dir, 0750) == 0 || errno == EEXIST)) {
		/* courier-setup makes it for a root instance only */
		free(path);
		path = xasprintf("%s/lmf.XXXXXX", dir);
		s->lmf_fd = mkostemp(path, O_CLOEXEC);
	}
	if (s->lmf_fd < 0) {
		/* refused at the end (451) rather than unfiltered */
		log_error("esmtpd: %s: %s", path, strerror(errno));
		submit_abort(&s->submit);
	} else {
		(void)unlink(path);
	}
	free(path);
}

/* Starts the submission; returns 0, or -1 after replying. */
static int begin_submit(struct esmtp_session *s)
{
	struct submit_options o;
	const char *error;
	char *from = esmtp_received_from(s);
	unsigned int added = 0;

	memset(&o, 0, sizeof(o));
	o.sender = s->sender;
	o.ret = s->ret;
	o.envid = s->envid;
	o.verp = s->verp;
	o.source = s->server->local_caller ? "local" :
		   s->auth_user != NULL ? "authsmtp" : "smtp";
	o.uid = (uid_t)s->server->local_uid;
	o.auth_user = s->auth_user;
	o.received_from = from;
	o.protocol = esmtp_protocol(s);
	o.from_mta = s->helo;
	o.no_add_msgid = s->server->set->no_add_msgid;
	o.no_add_date = s->server->set->no_add_date;
	o.size_limit = s->size_limit;
	o.utf8_headers = s->smtputf8;
	o.body_8bitmime = s->body_8bitmime;
	/* the l record: courieresmtp picks vhost.ADDRESS settings by it */
	o.local_ip = s->local_ip[0] != '\0' ? s->local_ip : NULL;
	s->submit = submit_begin(&o, &error);
	free(from);
	if (s->submit == NULL) {
		esmtp_reply(s, "%s", error);
		return -1;
	}
	if (s->spf_headers != NULL)
		submit_write(s->submit, s->spf_headers,
			     strlen(s->spf_headers));
	esmtp_dkim_begin(s);
	esmtp_ar_strip_init(&s->ar_strip, s->server->me);
	for (unsigned int i = 0; i < s->rcpt_count; i++) {
		int r = submit_add_rcpt(s->submit, s->rcpts[i].address,
					s->rcpts[i].notify, s->rcpts[i].orcpt,
					&error);
		if (r < 0)
			log_warning("esmtpd: %s: recipient <%s> dropped: %s",
				    s->remote_ip, s->rcpts[i].address, error);
		else
			added++;
	}
	if (added == 0) {
		submit_abort(&s->submit);
		esmtp_reply(s, "554 5.5.1 No valid recipients");
		return -1;
	}
	if (s->spamtrapped) {
		submit_abort(&s->submit);
		esmtp_reply(s, "554 5.7.1 Message refused");
		return -1;
	}
	lmf_file_open(s);
	if (s->server->filter_dir != NULL &&
	    esmtp_filter_enabled(s->server->filter_sources,
				 s->server->local_caller ? "local" : "esmtp"))
		filter_file_open(s);
	if (s->server->bofh != NULL) {
		struct mime_parser_settings ms;

		memset(&ms, 0, sizeof(ms));
		ms.limits.max_header_size = s->server->bofh->header_limit;
		s->mime = mime_parser_create(&ms, &bofh_mime_callbacks, s);
	}
	s->msg_size = 0;
	return 0;
}

/* What passes the Authentication-Results: filter: into the queue and the
 * filters' copy. */
static void feed_out(const void *data, size_t len, void *context)
{
	struct esmtp_session *s = context;

	if (s->submit == NULL)
		return;
	submit_write(s->submit, data, len);
	if (s->lmf_fd >= 0 && write(s->lmf_fd, data, len) != (ssize_t)len) {
		log_error("esmtpd: the copy for the smtpfilters: %s",
			  strerror(errno));
		submit_abort(&s->submit);
	}
	if (s->filter_fd >= 0 &&
	    write(s->filter_fd, data, len) != (ssize_t)len) {
		log_error("esmtpd: %s: %s", s->filter_msg_path,
			  strerror(errno));
		submit_abort(&s->submit);
	}
}

/* The message's bytes: DKIM and the bofh checks see them as they came,
 * the queue without the forged Authentication-Results: fields. */
static void feed(struct esmtp_session *s, const void *data, size_t len)
{
	s->msg_size += len;
	if (s->size_limit > 0 && s->msg_size > s->size_limit) {
		/* stop writing at once; the rest is read and dropped */
		s->msg_too_big = true;
		submit_abort(&s->submit);
	}
	if (s->submit != NULL) {
		esmtp_dkim_feed(s, data, len);
		esmtp_ar_strip_feed(&s->ar_strip, data, len, feed_out, s);
	}
	if (s->mime != NULL && s->bofh_reject == NULL)
		mime_parser_feed(s->mime, data, len);
}

/* Ends the bofh parse; true when the message is refused. */
static bool bofh_finish(struct esmtp_session *s)
{
	if (s->mime != NULL) {
		struct mime_part *root = NULL;

		if (s->bofh_reject == NULL)
			root = mime_parser_finish(s->mime);
		mime_part_free(&root);
		mime_parser_destroy(&s->mime);
	}
	return s->bofh_reject != NULL;
}

/* What the final reply needs once the message is queued: the log text
 * and, for an EXDATA client whose recipients' filters disagreed, each
 * recipient's verdict (the 558 reply). */
struct queued_info {
	char *log_text;	/* "from <sender> (n recipients, ...)" */
	char **verdicts;	/* rcpt_count entries: NULL = accepted */
	unsigned int rcpt_count;
};

static struct queued_info *queued_info_new(struct esmtp_session *s)
{
	struct queued_info *q = xcalloc(1, sizeof(*q));

	q->log_text = xasprintf("from <%s> (%u recipients, %llu bytes%s%s)",
				s->sender, s->rcpt_count,
				(unsigned long long)s->msg_size,
				s->auth_user != NULL ? ", user=" : "",
				s->auth_user != NULL ? s->auth_user : "");
	/* taken from the session, which resets before the reply */
	q->verdicts = s->rcpt_verdicts;
	q->rcpt_count = s->rcpt_verdicts != NULL ? s->rcpt_count : 0;
	s->rcpt_verdicts = NULL;
	return q;
}

static void queued_info_free(struct queued_info **qp)
{
	struct queued_info *q = *qp;

	if (q == NULL)
		return;
	for (unsigned int i = 0; i < q->rcpt_count; i++)
		free(q->verdicts[i]);
	free(q->verdicts);
	free(q->log_text);
	free(q);
	*qp = NULL;
}

void esmtp_rcpt_verdicts_free(struct esmtp_session *s)
{
	if (s->rcpt_verdicts == NULL)
		return;
	for (unsigned int i = 0; i < s->rcpt_count; i++)
		free(s->rcpt_verdicts[i]);
	free(s->rcpt_verdicts);
	s->rcpt_verdicts = NULL;
}

/* Sends one recipient's reply (lines "NNN-text\nNNN text") inside a 558
 * Extended DATA Reply (draft-varshavchik-exdata-smtpext section 5):
 * every line gets "558-", the very last one of the whole reply "558 ". */
static void exdata_reply_sub(struct esmtp_session *s, const char *sub,
			     bool last_rcpt)
{
	char **lines = str_split(sub, "\n");

	for (size_t i = 0; lines[i] != NULL; i++) {
		bool last = last_rcpt && lines[i + 1] == NULL;

		esmtp_reply(s, "558%c%s", last ? ' ' : '-', lines[i]);
	}
	str_split_free(&lines);
}

/* The 558 reply: one reply per recipient, in RCPT order (section 6:
 * exactly one for each recipient RCPT accepted). */
static void exdata_reply(struct esmtp_session *s, char **verdicts,
			 unsigned int count, const char *accepted)
{
	for (unsigned int i = 0; i < count; i++)
		exdata_reply_sub(s, verdicts[i] != NULL ? verdicts[i] :
				 accepted, i + 1 == count);
}

static void commit_reply(struct esmtp_session *s, int ret, const char *qid,
			 const char *error, const struct queued_info *q)
{
	if (ret < 0) {
		esmtp_reply(s, "%s", error);
	} else if (q->verdicts != NULL) {
		char *ok = xasprintf("250 2.0.0 Ok: queued as %s", qid);

		log_info("esmtpd: %s: queued %s %s, refused for some "
			 "recipients (558)", s->remote_ip, qid, q->log_text);
		exdata_reply(s, q->verdicts, q->rcpt_count, ok);
		free(ok);
	} else {
		log_info("esmtpd: %s: queued %s %s", s->remote_ip, qid,
			 q->log_text);
		esmtp_reply(s, "250 2.0.0 Ok: queued as %s", qid);
	}
}

/* The durable half of queueing, run in a worker thread. */
struct commit_job {
	struct esmtp_session *s;	/* only when not cancelled */
	struct submit *submit;
	char qid[QUEUE_ID_LEN + 1];
	int ret;
	char *error;
	struct queued_info *info;
};

static void commit_run(void *context)
{
	struct commit_job *j = context;
	const char *error = NULL;

	j->ret = submit_finish_commit(&j->submit, j->qid, &error);
	if (j->ret < 0)
		j->error = xstrdup(error);
}

static void commit_done(void *context, bool cancelled)
{
	struct commit_job *j = context;
	struct esmtp_session *s = j->s;

	if (cancelled) {
		if (j->ret == 0 && j->qid[0] != '\0')
			log_info("esmtpd: queued %s %s (client gone before "
				 "the reply)", j->qid, j->info->log_text);
	} else {
		s->job = NULL;
		s->state = ESMTP_STATE_COMMAND;
		conn_cork(s->conn);
		commit_reply(s, j->ret, j->qid, j->error, j->info);
		conn_uncork(s->conn);
		esmtp_session_timer_arm(s);
		conn_input_resume(s->conn);
	}
	/* never run (cancelled while queued): nothing was committed */
	submit_abort(&j->submit);
	free(j->error);
	queued_info_free(&j->info);
	free(j);
}

/* Queues *submit (taken) and says so.  With a worker pool the fsyncs
 * run in a thread and the session waits (reads nothing) until
 * commit_done() sends the reply. */
static void queue_submit(struct esmtp_session *s, struct submit **submit,
			 struct queued_info *info)
{
	char qid[QUEUE_ID_LEN + 1];
	const char *error;
	struct commit_job *j;

	if (submit_finish_prepare(submit, &error) < 0) {
		esmtp_reply(s, "%s", error);
		queued_info_free(&info);
		return;
	}
	if (s->server->pool == NULL) {
		int ret = submit_finish_commit(submit, qid, &error);

		commit_reply(s, ret, qid, error, info);
		queued_info_free(&info);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->submit = *submit;
	*submit = NULL;
	j->info = info;
	s->state = ESMTP_STATE_WAIT;
	conn_input_pause(s->conn);
	s->job = worker_pool_submit(s->server->pool, commit_run, commit_done,
				    j);
}

/* DKIM at the end of a message in a worker thread (key lookups, RSA),
 * then the queue commit. */
struct dkim_job {
	struct esmtp_session *s;	/* only when not cancelled */
	struct esmtp_dkim_job *dkim;
	struct submit *submit;
	struct queued_info *info;
};

static void dkim_run(void *context)
{
	struct dkim_job *j = context;

	esmtp_dkim_run(j->dkim);
}

static void dkim_done(void *context, bool cancelled)
{
	struct dkim_job *j = context;

	if (!cancelled) {
		struct esmtp_session *s = j->s;

		s->job = NULL;
		s->state = ESMTP_STATE_COMMAND;
		esmtp_dkim_apply(j->dkim, j->submit);
		conn_cork(s->conn);
		/* pauses the input again while the commit runs */
		queue_submit(s, &j->submit, j->info);
		j->info = NULL;
		conn_uncork(s->conn);
		esmtp_session_timer_arm(s);
		conn_input_resume(s->conn);
	}
	esmtp_dkim_job_free(&j->dkim);
	submit_abort(&j->submit);
	queued_info_free(&j->info);
	free(j);
}

/* The message passed every check: DKIM, then the queue. */
static void queue_message(struct esmtp_session *s)
{
	struct esmtp_dkim_job *d;
	struct dkim_job *j;

	if (s->server->pool == NULL || s->submit == NULL ||
	    !esmtp_dkim_slow(s)) {
		esmtp_dkim_finish(s);
		queue_submit(s, &s->submit, queued_info_new(s));
		return;
	}
	d = esmtp_dkim_detach(s, true);
	if (d == NULL) {
		queue_submit(s, &s->submit, queued_info_new(s));
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->dkim = d;
	j->submit = s->submit;
	s->submit = NULL;
	j->info = queued_info_new(s);
	s->state = ESMTP_STATE_WAIT;
	conn_input_pause(s->conn);
	s->job = worker_pool_submit(s->server->pool, dkim_run, dkim_done, j);
}

/* The reply to give when every recipient was refused (differently):
 * the first temporary refusal, else the first (a client without EXDATA
 * retries what was refused temporarily). */
static const char *refusal_for_all(char **verdicts, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		if (verdicts[i][0] == '4')
			return verdicts[i];
	}
	return verdicts[0];
}

void esmtp_reply_lines(struct esmtp_session *s, const char *text)
{
	char **lines = str_split(text, "\n");

	for (size_t i = 0; lines[i] != NULL; i++)
		esmtp_reply(s, "%s", lines[i]);
	str_split_free(&lines);
}

/* The filters answered per recipient (v[i] NULL: accepted).  Every
 * recipient refused: one reply (or with EXDATA, a 558 when they differ);
 * some accepted: the message is queued for those; the refused ones are
 * told in a 558 (EXDATA) or, for a client without EXDATA, queued as
 * failed so that their sender gets a DSN (accept, then bounce: the
 * final reply can only say one thing for all). */
static void filter_verdicts(struct esmtp_session *s, char **v)
{
	unsigned int accepted = 0, same = 1;
	const char *error;

	for (unsigned int i = 0; i < s->rcpt_count; i++) {
		if (v[i] == NULL)
			accepted++;
		else if (i > 0 && (v[0] == NULL || strcmp(v[i], v[0]) != 0))
			same = 0;
	}
	if (accepted == s->rcpt_count) {
		queue_message(s);
		return;
	}
	if (accepted == 0) {
		submit_abort(&s->submit);
		if (s->exdata && !same)
			exdata_reply(s, v, s->rcpt_count, NULL);
		else
			esmtp_reply_lines(s, refusal_for_all(v, s->rcpt_count));
		return;
	}
	submit_reset_rcpts(s->submit);
	for (unsigned int i = 0; i < s->rcpt_count; i++) {
		const struct esmtp_rcpt *r = &s->rcpts[i];
		int ret;

		if (v[i] == NULL)
			ret = submit_add_rcpt(s->submit, r->address, r->notify,
					      r->orcpt, &error);
		else if (s->exdata)
			continue;
		else
			ret = submit_add_rcpt_failed(s->submit, r->address,
						     r->notify, r->orcpt, v[i],
						     &error);
		if (ret < 0)
			log_warning("esmtpd: %s: recipient <%s> dropped: %s",
				    s->remote_ip, r->address, error);
	}
	if (s->exdata) {
		s->rcpt_verdicts = xcalloc(s->rcpt_count, sizeof(char *));
		for (unsigned int i = 0; i < s->rcpt_count; i++)
			s->rcpt_verdicts[i] = v[i] != NULL ?
				xstrdup(v[i]) : NULL;
	}
	queue_message(s);
}

static void filter_done(char **reply, size_t count, char **rcpt_replies,
			void *context)
{
	struct esmtp_session *s = context;

	s->filter_run = NULL;	/* freed by the filter code after this */
	s->state = ESMTP_STATE_COMMAND;
	conn_cork(s->conn);
	if (reply == NULL && s->lmf_verdicts != NULL) {
		/* a recipient its smtpfilter refused stays refused */
		char **v = xcalloc(s->rcpt_count, sizeof(*v));

		for (unsigned int i = 0; i < s->rcpt_count; i++)
			v[i] = s->lmf_verdicts[i] != NULL ?
				s->lmf_verdicts[i] :
				rcpt_replies != NULL ? rcpt_replies[i] : NULL;
		filter_verdicts(s, v);
		free(v);
	} else if (reply == NULL && rcpt_replies != NULL) {
		filter_verdicts(s, rcpt_replies);
	} else if (reply == NULL) {
		queue_message(s);
	} else {
		submit_abort(&s->submit);
		for (size_t i = 0; i < count; i++)
			esmtp_reply(s, "%s", reply[i]);
	}
	esmtp_transaction_reset(s);
	conn_uncork(s->conn);
	esmtp_session_timer_arm(s);
	conn_input_resume(s->conn);
}

/* Writes the envelope file for the filters; returns its path or NULL. */
static char *filter_envelope(struct esmtp_session *s)
{
	char *path = xasprintf("%s.env", s->filter_msg_path);
	char *from = esmtp_received_from(s);
	struct str e;
	int fd;

	str_init(&e, 256);
	str_printfa(&e, "s%s\nf%s\nu%s\n", s->sender, from,
		    s->server->local_caller ? "local" :
		    s->auth_user != NULL ? "authsmtp" : "smtp");
	free(from);
	if (s->auth_user != NULL)
		str_printfa(&e, "i%s\n", s->auth_user);
	for (unsigned int i = 0; i < s->rcpt_count; i++)
		str_printfa(&e, "r%s\n", s->rcpts[i].address);
	if (s->access_vars != NULL) {
		char **vars = str_split(s->access_vars, "\n");

		for (size_t i = 0; vars[i] != NULL; i++)
			str_printfa(&e, "V%s\n", vars[i]);
		str_split_free(&vars);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, e.data, e.len) != (ssize_t)e.len) {
		log_error("esmtpd: %s: %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		path = NULL;
	} else {
		close(fd);
	}
	str_free(&e);
	return path;
}

/* Hands the message to the global filters; true when they were asked
 * (the reply comes later, from filter_done). */
static bool filter_message(struct esmtp_session *s)
{
	unsigned int ms = s->server->set->filter_timeout * 1000;

	if (s->filter_fd < 0)
		return false;
	close(s->filter_fd);
	s->filter_fd = -1;
	s->filter_env_path = filter_envelope(s);
	if (s->filter_env_path == NULL) {
		esmtp_reply(s, "451 4.3.0 Cannot filter the message now");
		submit_abort(&s->submit);
		return true;
	}
	s->filter_run = esmtp_filter_start(s->loop, s->server->filter_dir,
					   s->filter_msg_path,
					   s->filter_env_path, s->rcpt_count,
					   ms, filter_done, s);
	if (s->filter_run == NULL)
		return false;	/* no filter is running */
	s->state = ESMTP_STATE_FILTER;
	conn_input_pause(s->conn);
	return true;
}

/* After the recipients' smtpfilters: the global filters, then the
 * queue; the transaction ends unless a filter is asked (filter_done
 * replies).  For an EXDATA client the recipients some smtpfilter
 * refused are in s->lmf_verdicts. */
static void finish_after_lmf(struct esmtp_session *s)
{
	if (filter_message(s)) {
		if (s->state == ESMTP_STATE_FILTER)
			return;	/* filter_done replies */
	} else if (s->lmf_verdicts != NULL) {
		filter_verdicts(s, s->lmf_verdicts);
	} else {
		queue_message(s);
	}
	esmtp_transaction_reset(s);
}

/* The smtpfilters answered (v: rcpt_count entries, NULL = accepted or
 * not filtered; taken).  Nobody refused: on.  A client without EXDATA:
 * every recipient of the transaction is one whose smtpfilter ran (see
 * rcpt_accept), and one refusal refuses the message (the first
 * temporary one, else the first), as Courier does.  With EXDATA, each
 * recipient gets its own verdict in the 558 reply. */
static void lmf_verdicts(struct esmtp_session *s, char **v)
{
	const char *refusal = NULL;

	for (unsigned int i = 0; i < s->rcpt_count; i++) {
		if (v[i] == NULL)
			continue;
		log_info("esmtpd: %s: <%s>: refused by its smtpfilter: %s",
			 s->remote_ip, s->rcpts[i].address, v[i]);
		if (refusal == NULL ||
		    (refusal[0] != '4' && v[i][0] == '4'))
			refusal = v[i];
	}
	if (refusal == NULL) {
		free(v);
		finish_after_lmf(s);
		return;
	}
	if (!s->exdata) {
		submit_abort(&s->submit);
		esmtp_reply_lines(s, refusal);
		for (unsigned int i = 0; i < s->rcpt_count; i++)
			free(v[i]);
		free(v);
		esmtp_transaction_reset(s);
		return;
	}
	s->lmf_verdicts = v;
	finish_after_lmf(s);
}

/* The smtpfilters of the recipients that asked for one, run one after
 * the other (each reads the copy of the message from its start) in a
 * worker thread, with copies of all they need. */
struct lmf_job {
	struct esmtp_session *s;	/* only when not cancelled */
	int fd;
	unsigned int count;
	char ***argvs;		/* count entries: the helper's, or NULL */
	unsigned int timeout;
	char **verdicts;	/* count entries */
};

static void lmf_job_run(void *context)
{
	struct lmf_job *j = context;

	for (unsigned int i = 0; i < j->count; i++) {
		struct str out;
		int st;

		if (j->argvs[i] == NULL)
			continue;
		if (lseek(j->fd, 0, SEEK_SET) < 0) {
			log_error("esmtpd: lseek: %s", strerror(errno));
			st = -1;
			str_init(&out, 1);
		} else {
			str_init(&out, 256);
			st = esmtp_lmf_run(j->argvs[i], j->fd, j->timeout,
					   &out);
		}
		(void)esmtp_lmf_verdict(st, false, str_c(&out), str_len(&out),
					&j->verdicts[i]);
		str_free(&out);
	}
}

static void lmf_job_free(struct lmf_job *j)
{
	for (unsigned int i = 0; i < j->count; i++) {
		esmtp_lmf_argv_free(&j->argvs[i]);
		if (j->verdicts != NULL)
			free(j->verdicts[i]);
	}
	free(j->argvs);
	free(j->verdicts);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

static void lmf_job_done(void *context, bool cancelled)
{
	struct lmf_job *j = context;

	if (!cancelled) {
		struct esmtp_session *s = j->s;
		char **v = j->verdicts;

		j->verdicts = NULL;
		s->job = NULL;
		s->state = ESMTP_STATE_COMMAND;
		conn_cork(s->conn);
		lmf_verdicts(s, v);
		conn_uncork(s->conn);
		esmtp_session_timer_arm(s);
		conn_input_resume(s->conn);
	}
	lmf_job_free(j);
}

/* Runs the smtpfilters; true when they were started (lmf_verdicts goes
 * on, later with a worker pool, else before this returns). */
static bool lmf_start(struct esmtp_session *s)
{
	struct lmf_job *j;

	if (s->lmf_fd < 0 || s->server->lmf_helper == NULL)
		return false;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->fd = s->lmf_fd;
	s->lmf_fd = -1;
	j->count = s->rcpt_count;
	j->timeout = s->server->set->lmf_timeout;
	j->argvs = xcalloc(j->count, sizeof(*j->argvs));
	j->verdicts = xcalloc(j->count, sizeof(*j->verdicts));
	for (unsigned int i = 0; i < j->count; i++) {
		const struct esmtp_rcpt *r = &s->rcpts[i];
		char *name;

		if (r->lmf_account == NULL && !r->lmf_alias)
			continue;
		name = esmtp_lmf_filter_name("smtpfilter", r->lmf_ext);
		j->argvs[i] = esmtp_lmf_argv(s->server->lmf_helper, j->timeout,
					     s->sender, r->address,
					     s->remote_ip, r->lmf_account,
					     name);
		free(name);
	}
	if (s->server->pool == NULL) {
		char **v;

		lmf_job_run(j);
		v = j->verdicts;
		j->verdicts = NULL;
		lmf_job_free(j);
		lmf_verdicts(s, v);
		return true;
	}
	s->state = ESMTP_STATE_WAIT;
	conn_input_pause(s->conn);
	s->job = worker_pool_submit(s->server->pool, lmf_job_run,
				    lmf_job_done, j);
	return true;
}

/* After the SPF check of From: (reply: its refusal, or NULL): the
 * recipients' smtpfilters, the global filters, then the queue. */
static void finish_after_spf(struct esmtp_session *s, char *spf)
{
	if (spf != NULL) {
		submit_abort(&s->submit);
		esmtp_reply(s, "%s", spf);
		free(spf);
		esmtp_transaction_reset(s);
	} else if (!lmf_start(s)) {
		finish_after_lmf(s);
	}
}

/* BOFHSPFFROM in a worker thread: on a copy of what it reads of the
 * session and the server, with a resolver of its own (as MAIL's DNS
 * checks do, esmtp-cmd-mail.c). */
struct spf_from_job {
	struct esmtp_session *s;	/* only when not cancelled */
	struct esmtp_session shadow;
	struct esmtp_server server;
	char *from;
	char *reply;
};

static void spf_from_run(void *context)
{
	struct spf_from_job *j = context;

	j->reply = esmtp_spf_from(&j->shadow, j->from);
}

static void spf_from_done(void *context, bool cancelled)
{
	struct spf_from_job *j = context;

	if (!cancelled) {
		struct esmtp_session *s = j->s;

		s->job = NULL;
		s->state = ESMTP_STATE_COMMAND;
		/* the From: result joins Authentication-Results: */
		free(s->spf_ar);
		s->spf_ar = j->shadow.spf_ar;
		j->shadow.spf_ar = NULL;
		conn_cork(s->conn);
		finish_after_spf(s, j->reply);
		j->reply = NULL;
		conn_uncork(s->conn);
		esmtp_session_timer_arm(s);
		conn_input_resume(s->conn);
	}
	free(j->shadow.spf_ar);
	free(j->shadow.spf_headers);
	free(j->shadow.helo);
	free((char *)j->server.me);
	dns_resolver_destroy(&j->server.dns);
	free(j->from);
	free(j->reply);
	free(j);
}

/* Whether BOFHSPFFROM would ask DNS for this message. */
static bool spf_from_needed(const struct esmtp_session *s)
{
	const char *v, *at;

	if (s->server->bofh == NULL || s->server->dns == NULL ||
	    s->server->local_caller || s->header_from == NULL)
		return false;
	v = esmtp_bofh_opt(s->server->bofh, "BOFHSPFFROM");
	at = strrchr(s->header_from, '@');
	return v != NULL && *v != '\0' && strcasecmp(v, "off") != 0 &&
	       at != NULL && at[1] != '\0';
}

/* Starts the SPF check of From: in the pool; the session waits. */
static void spf_from_start(struct esmtp_session *s)
{
	struct spf_from_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->server = *s->server;
	j->server.me = xstrdup(s->server->me);
	j->server.dns = dns_resolver_create_config();
	j->shadow.server = &j->server;
	str_copy(j->shadow.remote_ip, s->remote_ip,
		 sizeof(j->shadow.remote_ip));
	str_copy(j->shadow.local_ip, s->local_ip, sizeof(j->shadow.local_ip));
	j->shadow.helo = s->helo != NULL ? xstrdup(s->helo) : NULL;
	j->shadow.may_relay = s->may_relay;
	j->shadow.spf_ar = s->spf_ar != NULL ? xstrdup(s->spf_ar) : NULL;
	j->shadow.filter_fd = -1;
	j->from = xstrdup(s->header_from);
	s->state = ESMTP_STATE_WAIT;
	conn_input_pause(s->conn);
	s->job = worker_pool_submit(s->server->pool, spf_from_run,
				    spf_from_done, j);
}

/* Ends the message: the final reply. */
static void finish(struct esmtp_session *s)
{
	if (s->submit != NULL)
		esmtp_ar_strip_finish(&s->ar_strip, feed_out, s);
	if (s->msg_too_big) {
		esmtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum "
			       "message size");
	} else if (s->msg_line_too_long) {
		submit_abort(&s->submit);
		esmtp_reply(s, "554 5.6.0 Message has a line too long");
	} else if (s->submit == NULL) {
		esmtp_reply(s, "451 4.3.0 Cannot queue the message now");
	} else if (bofh_finish(s)) {
		log_info("esmtpd: %s: bofh: %s", s->remote_ip, s->bofh_reject);
		submit_abort(&s->submit);
		esmtp_reply(s, "%s", s->bofh_reject);
	} else if (s->server->pool != NULL && spf_from_needed(s)) {
		spf_from_start(s);	/* spf_from_done goes on */
		return;
	} else {
		finish_after_spf(s, esmtp_spf_from(s, s->header_from));
		return;
	}
	esmtp_transaction_reset(s);
}

void esmtp_cmd_data(struct esmtp_session *s, const char *args)
{
	(void)args;
	if (!s->have_mail) {
		esmtp_reply_error(s, "503 5.5.1 Need MAIL command first");
		return;
	}
	if (s->bdat_used) {
		esmtp_reply_error(s, "503 5.5.1 DATA after BDAT");
		return;
	}
	if (s->rcpt_count == 0) {
		esmtp_reply_error(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (begin_submit(s) < 0) {
		esmtp_transaction_reset(s);
		return;
	}
	s->state = ESMTP_STATE_DATA;
	s->data_prev_crlf = true;	/* the 354's CRLF comes before */
	esmtp_session_timer_arm(s);
	esmtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

void esmtp_data_line(struct esmtp_session *s, const char *line, size_t len,
		     bool crlf)
{
	bool prev_crlf = s->data_prev_crlf;

	s->data_prev_crlf = crlf;
	if (len == 1 && line[0] == '.') {
		if (!crlf || !prev_crlf) {
			/* "\n.\n", "\r\n.\n" or "\n.\r\n": only CRLF "."
			 * CRLF ends the data (RFC 5321 4.1.1.4, 2.3.8).
			 * Taking it as the end lets a client smuggle a
			 * second message past a relay that does not;
			 * taking it as data hangs a client that meant
			 * it.  Refuse the message and close, as Postfix
			 * does with bare LFs. */
			log_warning("esmtpd: %s: a \".\" line with a bare LF "
				    "in DATA: message refused, connection "
				    "closed (SMTP smuggling?)", s->remote_ip);
			submit_abort(&s->submit);
			esmtp_transaction_reset(s);
			s->state = ESMTP_STATE_COMMAND;
			esmtp_reply(s, "521 5.5.2 Bare <LF> at the end of "
				       "the data: only <CR><LF>.<CR><LF> "
				       "ends it (RFC 5321 2.3.8)");
			esmtp_session_quit(s);
			return;
		}
		s->state = ESMTP_STATE_COMMAND;
		esmtp_session_timer_arm(s);
		finish(s);
		return;
	}
	if (line[0] == '.') {	/* dot-stuffing, RFC 5321 4.5.2 */
		line++;
		len--;
	}
	if (s->msg_too_big) {
		s->msg_size += len + 2;
		return;
	}
	feed(s, line, len);
	feed(s, "\r\n", 2);
}

void esmtp_data_line_too_long(struct esmtp_session *s)
{
	s->msg_line_too_long = true;
	submit_abort(&s->submit);
}

void esmtp_cmd_bdat(struct esmtp_session *s, const char *args)
{
	uint64_t size = 0;
	const char *p = args;
	bool last = false;

	if (!isdigit((unsigned char)*p)) {
		esmtp_reply_error(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	while (isdigit((unsigned char)*p)) {
		if (size > (UINT64_MAX - 9) / 10) {
			esmtp_reply_error(s, "501 5.5.4 Bad BDAT size");
			esmtp_session_quit(s);
			return;
		}
		size = size * 10 + (uint64_t)(*p++ - '0');
	}
	while (*p == ' ')
		p++;
	if (strcasecmp(p, "LAST") == 0)
		last = true;
	else if (*p != '\0') {
		esmtp_reply_error(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	s->bdat_chunk = size;
	s->bdat_last = last;
	if (!s->have_mail || s->rcpt_count == 0) {
		/* the chunk must still be read and dropped */
		s->bdat_failed = true;
	} else if (!s->bdat_used) {
		s->bdat_used = true;
		if (begin_submit(s) < 0)
			s->bdat_failed = true;
		else
			s->bdat_failed = false;
	}
	s->bdat_used = true;
	if (size == 0) {
		esmtp_bdat_raw(s, "", 0, true);
		return;
	}
	s->state = ESMTP_STATE_BDAT;
	esmtp_session_timer_arm(s);
	conn_input_raw(s->conn, (size_t)size);
}

void esmtp_bdat_raw(struct esmtp_session *s, const void *data, size_t len,
		    bool last)
{
	if (!s->bdat_failed && !s->msg_too_big)
		feed(s, data, len);
	else
		s->msg_size += len;
	if (!last)
		return;
	s->state = ESMTP_STATE_COMMAND;
	esmtp_session_timer_arm(s);
	if (s->bdat_failed) {
		if (!s->have_mail)
			esmtp_reply_error(s, "503 5.5.1 Need MAIL command "
				"first");
		else if (s->rcpt_count == 0)
			esmtp_reply_error(s, "554 5.5.1 No valid recipients");
		else
			esmtp_reply(s, "451 4.3.0 Cannot queue the message "
				       "now");
		if (s->bdat_last || s->rcpt_count == 0 || !s->have_mail)
			esmtp_transaction_reset(s);
		return;
	}
	if (s->bdat_last) {
		finish(s);
		return;
	}
	if (s->msg_too_big)
		esmtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum "
			       "message size");
	else
		esmtp_reply(s, "250 2.0.0 %llu octets received",
			    (unsigned long long)s->bdat_chunk);
}
