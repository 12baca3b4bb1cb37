/* mailbot.c: autoresponder (Courier's mailbot(1)): reads a message and
 * mails a reply, forward, delivery status notification or feedback
 * report about it through a program (sendmail -f '').
 *
 * mailbot [options] [program [arg...]]; the options are in
 * mailbot-args.c and doc/maildrop.md.
 *
 * No reply goes to messages with "Precedence: junk/bulk/list", a
 * List-Id header, an "Auto-Submitted" other than "no", a
 * multipart/report content type, or no usable sender address; with -r,
 * to messages whose To/Cc name none of the addresses; with -d, to a
 * sender answered less than -D days (default 1) ago (an LMDB file,
 * "address" -> time); with -T replydraft, when the -l maildir holds no
 * message.  Exit codes: 0 (replied or quietly declined), 64 usage, 75
 * temporary failure, or the program's exit code. */
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
#include <time.h>
#include <unistd.h>

#include "charset.h"
#include "instance.h"
#include "mailbot.h"
#include "mddeliver.h"
#include "mdmsg.h"
#include "mem.h"
#include "mime-params.h"
#include "mime-parser.h"
#include "rfc2047.h"
#include "rfc822-addr.h"
#include "str.h"

#define EX_USAGE_ 64
#define EX_TEMPFAIL_ 75
#define MAX_MESSAGE (64 * 1024 * 1024)
#define MAX_TEXT (1024 * 1024)
#define MAX_QUOTED (64 * 1024)

#define MIME_PREAMBLE \
	"This is a MIME-formatted message.  If you see this text it means " \
	"that your\nE-mail software does not support MIME-formatted " \
	"messages.\n"

extern char **environ;

static void usage(const char *why)
{
	fprintf(stderr,
		"mailbot: %s\n"
		"Usage: mailbot [options] [program [arg...]]\n"
		"    -t file | -m file    the reply text (plain / with MIME headers)\n"
		"    -T reply|replyall|replydsn|replydraft|forward|forwardatt|\n"
		"       feedback|replyfeedback\n"
		"    -M address           a DSN from address (-T replydsn)\n"
		"    -R abuse|fraud|other|virus|auth-failure|not-spam\n"
		"    -l maildir           the draft for -T replydraft\n"
		"    -A \"Name: value\"     -s subject  -c charset  -S salutation\n"
		"    -F marker  -f[address]  -e  -r addr,addr  -d db  -D days\n"
		"    -N (no quoting)  -a (attach the whole message)  -n (print)\n"
		"    --feedback-NAME value  (report fields for -T feedback)\n",
		why);
	exit(EX_USAGE_);
}

static void tempfail(const char *what, const char *why)
{
	fprintf(stderr, "mailbot: %s: %s\n", what, why);
	exit(EX_TEMPFAIL_);
}

static void read_file(const char *path, struct str *out)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		tempfail(path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (str_len(out) + (size_t)n > MAX_TEXT)
			tempfail(path, "file too large");
		str_append_n(out, buf, (size_t)n);
	}
	if (n < 0)
		tempfail(path, strerror(errno));
	close(fd);
}

/* What the reply is made of. */
struct reply {
	const struct mailbot_opts *o;
	const struct md_message *msg;
	struct mailbot_header h;
	const struct rfc822_addr *to;	/* who gets the reply (first) */
	const struct rfc822_addr_list *to_list;	/* all of them */
	const char *to_value;	/* the header they came from, or NULL (-f) */
	const char *charset;
	char *charset_buf;
	struct str text_headers;	/* the text part's MIME header lines */
	struct str text;		/* the text part's body */
	char *boundary;
	time_t now;
	struct mime_part *mime;		/* the original's MIME tree */
};

static bool charset_known(const char *cs)
{
	const char *err;
	struct charset_translation *t = charset_translation_create(cs, &err);

	if (t == NULL)
		return false;
	charset_translation_destroy(&t);
	return true;
}

/* -t or -m: the text part's header and body. */
static void load_text(struct reply *r)
{
	const struct mailbot_opts *o = r->o;
	struct str f;

	str_init(&f, 4096);
	if (o->mime_file != NULL) {
		struct mailbot_header mh;
		const char *ct;
		char *type = NULL, *subtype = NULL;
		struct mime_params params;
		bool text_plain;
		const char *cs;

		read_file(o->mime_file, &f);
		if (!mailbot_mime_file_check(str_c(&f), str_len(&f))) {
			fprintf(stderr, "mailbot: %s: a header line is not "
				"\"Name: value\"\n", o->mime_file);
			exit(EX_USAGE_);
		}
		mailbot_header_parse(&mh, str_c(&f), str_len(&f));
		ct = mailbot_header_get(&mh, "Content-Type");
		memset(&params, 0, sizeof(params));
		if (ct == NULL ||
		    mime_params_parse_content_type(ct, strlen(ct), 0, &type,
						   &subtype, &params) < 0)
			text_plain = ct == NULL;
		else
			text_plain = strcmp(type, "text") == 0 &&
				     strcmp(subtype, "plain") == 0;
		if (!text_plain) {
			fprintf(stderr, "mailbot: %s must specify text/plain MIME type\n",
				o->mime_file);
			exit(EX_USAGE_);
		}
		cs = mime_params_get(&params, "charset");
		if (cs == NULL)
			cs = "utf-8";	/* as Debian's mailbot */
		if (!charset_known(cs)) {
			fprintf(stderr, "mailbot: unknown charset in %s\n",
				o->mime_file);
			exit(EX_USAGE_);
		}
		r->charset_buf = xstrdup(cs);
		r->charset = r->charset_buf;
		mailbot_mime_file_split(str_c(&f), str_len(&f),
					&r->text_headers, &r->text,
					MAILBOT_KEEP_NOT_CTE);
		free(type);
		free(subtype);
		mime_params_free(&params);
		mailbot_header_free(&mh);
	} else if (o->mode == MAILBOT_REPLYDRAFT) {
		char *draft = mailbot_find_draft(o->draft_dir);

		read_file(draft, &f);
		free(draft);
		mailbot_mime_file_split(str_c(&f), str_len(&f),
					&r->text_headers, &r->text,
					MAILBOT_KEEP_CONTENT);
	} else {
		read_file(o->text_file, &f);
		str_printfa(&r->text_headers, "Content-Type: text/plain; "
			    "format=flowed; delsp=yes; charset=\"%s\"\n",
			    r->charset);
		str_append_n(&r->text, str_c(&f), str_len(&f));
	}
	str_free(&f);
}

/* Appends the text of part (a text/plain leaf of the original)
 * re-written for a quote (adjust 1) or a forward (adjust 0). */
static void original_text(struct str *out, const struct reply *r,
			  const struct mime_part *part, unsigned int adjust)
{
	const char *fmt = mime_part_param(part, "format");
	const char *delsp = mime_part_param(part, "delsp");
	struct str text;

	str_init(&text, 4096);
	mailbot_text_decode(&text, str_c(&r->msg->data), str_len(&r->msg->data),
			    part, r->charset, MAX_QUOTED);
	mailbot_text_reflow(out, str_c(&text), str_len(&text),
			    fmt != NULL && strcasecmp(fmt, "flowed") == 0,
			    delsp != NULL && strcasecmp(delsp, "yes") == 0,
			    adjust);
	str_free(&text);
}

static bool has_header(const struct mailbot_opts *o, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < o->nheaders; i++)
		if (strncasecmp(o->headers[i], name, nl) == 0 &&
		    o->headers[i][nl] == ':')
			return true;
	return false;
}

/* value (may be NULL) with its RFC 2047 words decoded, in the reply's
 * charset; NULL for NULL.  Caller frees. */
static char *displayed(const struct reply *r, const char *value)
{
	struct str d, out;

	if (value == NULL)
		return NULL;
	str_init(&d, 256);
	str_init(&out, 256);
	(void)rfc2047_decode(&d, value, strlen(value));
	mailbot_text_from_utf8(&out, str_c(&d), str_len(&d), r->charset);
	str_free(&d);
	return str_steal(&out);
}

static bool good_mailbox(const struct rfc822_addr *a)
{
	return a->type == RFC822_ADDR_MAILBOX && !a->invalid &&
	       !a->null_addr && a->local != NULL && a->domain != NULL;
}

/* An address header for showing: "name <addr>" or "addr" per mailbox
 * (a comment taken as the name), names decoded; as displayed() when it
 * holds anything else. */
static char *displayed_addrs(const struct reply *r, const char *value)
{
	struct rfc822_addr_list *l = mailbot_parse_addrs(value);
	struct str out;

	for (size_t i = 0; l != NULL && i < l->count; i++) {
		if (!good_mailbox(&l->addrs[i])) {
			rfc822_addr_list_free(&l);
			break;
		}
	}
	if (l == NULL)
		return displayed(r, value);
	str_init(&out, 256);
	for (size_t i = 0; i < l->count; i++) {
		const struct rfc822_addr *a = &l->addrs[i];

		if (i > 0)
			str_append(&out, ", ");
		if (a->name != NULL) {
			char *n = displayed(r, a->name);

			str_printfa(&out, "%s <", n);
			free(n);
		}
		(void)rfc822_addr_format_spec(&out, a);
		if (a->name != NULL)
			str_append_c(&out, '>');
	}
	rfc822_addr_list_free(&l);
	return str_steal(&out);
}

static void salutation(struct str *out, const struct reply *r)
{
	struct mailbot_sal_vars v;
	struct rfc822_addr_list *from =
		mailbot_parse_addrs(mailbot_header_get(&r->h, "From"));
	const struct rfc822_addr *who = mailbot_first_mailbox(from);
	char *subj, *name;
	struct str addr;

	if (who == NULL)
		who = r->to;
	str_init(&addr, 64);
	(void)rfc822_addr_format_spec(&addr, who);
	subj = displayed(r, mailbot_header_get(&r->h, "Subject"));
	name = displayed(r, who->name);
	memset(&v, 0, sizeof(v));
	v.newsgroup = mailbot_header_get(&r->h, "X-Newsgroup");
	v.newsgroups = mailbot_header_get(&r->h, "Newsgroups");
	v.message_id = mailbot_header_get(&r->h, "Message-ID");
	v.date = mailbot_header_get(&r->h, "Date");
	v.subject = subj;
	v.addr = str_c(&addr);
	v.name = name;
	mailbot_salutation(out, r->o->salutation, &v);
	str_free(&addr);
	rfc822_addr_list_free(&from);
	free(subj);
	free(name);
}

/* The text part: its MIME header, the quoted original, the text. */
static void text_part(struct str *out, const struct reply *r, bool quote)
{
	str_append_n(out, str_c(&r->text_headers), str_len(&r->text_headers));
	str_append(out, "Content-Transfer-Encoding: 8bit\n\n");
	if (quote) {
		const struct mime_part *t = mailbot_text_find(r->mime);

		salutation(out, r);
		str_append(out, "\n\n");
		if (t != NULL)
			original_text(out, r, t, 1);
		str_append_c(out, '\n');
	}
	str_append_n(out, str_c(&r->text), str_len(&r->text));
	str_append(out, "\n\n");
}

/* The reply's To: the header the address came from as it is (as Courier
 * writes it) when every entry of it is a good mailbox, else its good
 * mailboxes formatted. */
static void reply_to(struct str *out, const struct reply *r)
{
	const struct rfc822_addr_list *l = r->to_list;
	bool clean = r->to_value != NULL;
	bool first = true;

	for (size_t i = 0; clean && i < l->count; i++)
		clean = good_mailbox(&l->addrs[i]);
	if (clean) {
		str_append(out, r->to_value);
		return;
	}
	for (size_t i = 0; i < l->count; i++) {
		if (!good_mailbox(&l->addrs[i]))
			continue;
		if (!first)
			str_append(out, ", ");
		(void)rfc822_addr_format(out, &l->addrs[i]);
		first = false;
	}
}

static void common_headers(struct str *out, const struct reply *r)
{
	for (size_t i = 0; i < r->o->nheaders; i++)
		str_printfa(out, "%s\n", r->o->headers[i]);
	if (!has_header(r->o, "Precedence"))
		str_append(out, "Precedence: junk\n");
	str_append(out, "Auto-Submitted: auto-replied\n");
}

static void replyall_cc(struct str *out, const struct reply *r)
{
	static const char *const hdrs[] = { "To", "Cc" };
	struct str cc, seen;

	str_init(&cc, 256);
	str_init(&seen, 256);
	/* the reply's To: is not repeated, nor is any address twice */
	str_append_c(&seen, '\n');
	(void)rfc822_addr_format_spec(&seen, r->to);
	str_append_c(&seen, '\n');
	for (size_t h = 0; h < N_ELEMENTS(hdrs); h++) {
		for (size_t f = 0; f < r->h.count; f++) {
			struct rfc822_addr_list *l;

			if (strcasecmp(r->h.fields[f].name, hdrs[h]) != 0)
				continue;
			l = mailbot_parse_addrs(r->h.fields[f].value);
			for (size_t i = 0; l != NULL && i < l->count; i++) {
				struct str spec;

				if (l->addrs[i].type != RFC822_ADDR_MAILBOX ||
				    l->addrs[i].invalid)
					continue;
				str_init(&spec, 64);
				str_append_c(&spec, '\n');
				(void)rfc822_addr_format_spec(&spec, &l->addrs[i]);
				str_append_c(&spec, '\n');
				if (strstr(str_c(&seen), str_c(&spec)) == NULL) {
					str_append(&seen, str_c(&spec) + 1);
					if (str_len(&cc) > 0)
						str_append(&cc, ", ");
					(void)rfc822_addr_format(&cc, &l->addrs[i]);
				}
				str_free(&spec);
			}
			rfc822_addr_list_free(&l);
		}
	}
	if (str_len(&cc) > 0)
		str_printfa(out, "Cc: %s\n", str_c(&cc));
	str_free(&cc);
	str_free(&seen);
}

/* reply, replyall, replydsn, replydraft, feedback, replyfeedback */
static void build_reply(struct str *out, struct reply *r)
{
	const struct mailbot_opts *o = r->o;
	const char *msgid = mailbot_header_get(&r->h, "Message-ID");
	const char *refs = mailbot_header_get(&r->h, "References");
	const char *subj = mailbot_header_get(&r->h, "Subject");
	const char *report = NULL;
	bool feedback = o->mode == MAILBOT_FEEDBACK ||
			o->mode == MAILBOT_REPLYFEEDBACK;

	common_headers(out, r);
	if (o->mode != MAILBOT_FEEDBACK) {
		str_append(out, "To: ");
		reply_to(out, r);
		str_append_c(out, '\n');
	}
	if (o->mode == MAILBOT_REPLYALL)
		replyall_cc(out, r);
	if (msgid != NULL || refs != NULL) {
		str_append(out, "References: ");
		mailbot_references(out, refs, msgid);
	}
	if (msgid != NULL)
		str_printfa(out, "In-Reply-To: %s\n", msgid);
	str_append(out, "Subject: ");
	if (o->subject != NULL) {
		str_append(out, o->subject);
	} else if (subj != NULL && feedback) {
		str_append(out, subj);
	} else if (subj != NULL) {
		str_append(out, "Re: ");
		mailbot_core_subject(out, subj);
	}
	str_append(out, "\nMime-Version: 1.0\n");
	r->boundary = mailbot_boundary(str_c(&r->msg->data),
				       str_len(&r->msg->data));
	if (o->mode == MAILBOT_REPLYDRAFT) {
		str_printfa(out, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
			    MIME_PREAMBLE "\n--%s\n", r->boundary, r->boundary);
		str_append_n(out, str_c(&r->text_headers),
			     str_len(&r->text_headers));
		str_append_c(out, '\n');
		str_append_n(out, str_c(&r->text), str_len(&r->text));
		str_printfa(out, "\n--%s\n", r->boundary);
		mailbot_headers_part(out, &r->h);
		str_printfa(out, "\n--%s--\n", r->boundary);
		return;
	}
	if (o->mode == MAILBOT_REPLYDSN && o->dsn_from != NULL)
		report = "delivery-status";
	else if (feedback)
		report = "feedback-report";
	if (report != NULL)
		str_printfa(out, "Content-Type: multipart/report; report-type=%s;\n"
			    "    boundary=\"%s\"\n\n" MIME_PREAMBLE "\n--%s\n",
			    report, r->boundary, r->boundary);
	text_part(out, r, !o->no_quote);
	if (report == NULL)
		return;
	str_printfa(out, "\n--%s\nContent-Type: message/%s\n"
		    "Content-Transfer-Encoding: 7bit\n\n", r->boundary, report);
	if (feedback)
		mailbot_feedback_report(out, o, r->now);
	else
		mailbot_dsn_report(out, o->dsn_from, r->now);
	str_printfa(out, "\n--%s\n", r->boundary);
	if (o->attach_all) {
		str_append(out, "Content-Type: message/rfc822\n"
			   "Content-Disposition: attachment\n\n");
		str_append_n(out, str_c(&r->msg->data), str_len(&r->msg->data));
	} else {
		mailbot_headers_part(out, &r->h);
	}
	str_printfa(out, "\n--%s--\n", r->boundary);
}

static bool part_is(const struct mime_part *p, const char *type,
		    const char *subtype)
{
	return strcmp(p->type, type) == 0 && strcmp(p->subtype, subtype) == 0;
}

/* Appends the bytes of part p (header and body) of the original. */
static void raw_part(struct str *out, const struct reply *r,
		     const struct mime_part *p)
{
	size_t len = str_len(&r->msg->data);
	size_t start = p->header_offset < len ? (size_t)p->header_offset : len;
	size_t end = p->end_offset < len ? (size_t)p->end_offset : len;

	if (p->parent == NULL)
		end = len;	/* the whole message */
	if (end > start)
		str_append_n(out, str_c(&r->msg->data) + start, end - start);
}

/* forward, forwardatt: the text, the marker, then the original's main
 * headers and text, and its other parts as attachments; or the original
 * as a message/rfc822 attachment (forwardatt, or no text to forward). */
static void build_forward(struct str *out, struct reply *r)
{
	static const char *const copied[] = {
		"subject", "from", "to", "cc", "date", "message-id",
		"resent-from", "resent-to", "resent-cc", "resent-date",
		"resent-message-id",
	};
	const struct mailbot_opts *o = r->o;
	const char *subj = mailbot_header_get(&r->h, "Subject");
	const struct mime_part *top = r->mime, *text = NULL, *attach = NULL;
	bool whole = false;

	if (part_is(top, "multipart", "signed") && top->children != NULL)
		top = top->children;	/* what was signed */
	if (part_is(top, "text", "plain")) {
		text = top;
	} else if (part_is(top, "multipart", "alternative")) {
		text = mailbot_text_find(top);
	} else if (part_is(top, "multipart", "mixed") && top->children != NULL) {
		/* the text of the first part; the other parts attached */
		text = mailbot_text_find(top->children);
		if (text != NULL)
			attach = top->children->next;
	}
	if (o->mode == MAILBOT_FORWARDATT || text == NULL) {
		text = NULL;
		attach = top;
		whole = true;
	}

	common_headers(out, r);
	str_append(out, "Subject: ");
	if (o->subject != NULL) {
		str_append(out, o->subject);
	} else if (subj != NULL) {
		mailbot_core_subject(out, subj);
		str_append(out, " (fwd)");
	}
	str_append(out, "\nMime-Version: 1.0\n");
	if (attach != NULL) {
		r->boundary = mailbot_boundary(str_c(&r->msg->data),
					       str_len(&r->msg->data));
		str_printfa(out, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
			    MIME_PREAMBLE "\n--%s\n", r->boundary, r->boundary);
	}
	text_part(out, r, false);
	str_printfa(out, "%s\n", o->marker);
	if (text != NULL) {
		for (size_t f = 0; f < r->h.count; f++) {
			for (size_t c = 0; c < N_ELEMENTS(copied); c++) {
				if (strcasecmp(r->h.fields[f].name,
					       copied[c]) == 0) {
					/* decoded, in the reply's charset */
					const char *n = copied[c];
					char *v = strstr(n, "from") != NULL ||
						  strcmp(n, "to") == 0 ||
						  strcmp(n, "cc") == 0 ||
						  strcmp(n, "resent-to") == 0 ||
						  strcmp(n, "resent-cc") == 0 ?
						displayed_addrs(r,
							r->h.fields[f].value) :
						displayed(r,
							r->h.fields[f].value);

					str_printfa(out, "%s: %s\n",
						    r->h.fields[f].name, v);
					free(v);
					break;
				}
			}
		}
		str_append_c(out, '\n');
		original_text(out, r, text, 0);
	}
	if (attach == NULL)
		return;
	if (whole) {
		str_printfa(out, "\n--%s\nContent-Type: message/rfc822\n"
			    "Content-Description: Forwarded message\n\n",
			    r->boundary);
		raw_part(out, r, attach);
	} else {
		for (; attach != NULL; attach = attach->next) {
			str_printfa(out, "\n--%s\n", r->boundary);
			raw_part(out, r, attach);
		}
	}
	str_printfa(out, "\n--%s--\n", r->boundary);
}

static const char *locale_charset(void)
{
	const char *cs;

	/* the default charset is the locale's, as Debian's mailbot has it */
	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	if (cs == NULL || *cs == '\0' || strcmp(cs, "ANSI_X3.4-1968") == 0)
		cs = "US-ASCII";
	return cs;
}

/* Runs the program (or sendmail) with the reply on its standard input;
 * returns its exit code. */
static int send_reply(const struct str *reply, int argc, char **argv,
		      int prog)
{
	struct str cmd;
	char *err = NULL;
	int status;

	str_init(&cmd, 256);
	if (prog < argc) {
		/* the program and its arguments, as given */
		for (int i = prog; i < argc; i++) {
			if (i > prog)
				str_append_c(&cmd, ' ');
			str_append_c(&cmd, '\'');
			for (const char *p = argv[i]; *p != '\0'; p++) {
				if (*p == '\'')
					str_append(&cmd, "'\\''");
				else
					str_append_c(&cmd, *p);
			}
			str_append_c(&cmd, '\'');
		}
	} else {
		/* no recipients given: sendmail reads them from To: */
		char *sendmail = instance_program(1, "bin/sendmail");

		str_append(&cmd, sendmail);
		str_append(&cmd, " -t -f ''");
		free(sendmail);
	}
	if (md_run_program("/bin/sh", str_c(&cmd), str_c(reply),
			   str_len(reply), environ, NULL, 0, &status, &err) < 0)
		tempfail("program", err);
	str_free(&cmd);
	return status;
}

int main(int argc, char **argv)
{
	struct mailbot_opts o;
	struct reply r;
	struct md_message *msg;
	struct rfc822_addr_list *list = NULL;
	struct str out;
	const char *err;
	char *addr;
	int status;

	if (mailbot_args_parse(argc, argv, &o, &err) < 0)
		usage(err);
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.now = time(NULL);
	r.charset = locale_charset();
	if (o.charset != NULL) {
		if (!charset_known(o.charset)) {
			fprintf(stderr, "mailbot: unknown charset: %s\n", o.charset);
			return EX_USAGE_;
		}
		r.charset = o.charset;
	}
	if (o.mode == MAILBOT_REPLYDRAFT) {
		/* no draft, no reply */
		char *draft = mailbot_find_draft(o.draft_dir);

		if (draft == NULL) {
			mailbot_opts_free(&o);
			return 0;
		}
		free(draft);
	}

	msg = md_message_new();
	if (md_message_read_fd(msg, 0, MAX_MESSAGE) < 0)
		tempfail("standard input", strerror(errno));
	r.msg = msg;
	mailbot_header_parse(&r.h, str_c(&msg->data), str_len(&msg->data));
	{
		struct mime_parser_settings ms;

		/* Content-Type counts only with MIME-Version, as in Courier */
		memset(&ms, 0, sizeof(ms));
		ms.require_mime_version = true;
		r.mime = mime_parse_buffer(str_c(&msg->data),
					   str_len(&msg->data), &ms);
	}
	if (mailbot_declined(msg) ||
	    (o.only_to != NULL && !mailbot_addressed_to(msg, o.only_to)))
		goto done;
	if (o.from_given) {
		list = mailbot_parse_addrs(o.from_addr);
	} else {
		static const char *const normal[] = { "Reply-To", "From" };
		static const char *const errors[] = { "Errors-To", "Return-Path",
						      "Reply-To", "From" };
		const char *const *h = o.errors_to ? errors : normal;
		size_t nh = o.errors_to ? N_ELEMENTS(errors) : N_ELEMENTS(normal);

		for (size_t i = 0; i < nh && list == NULL; i++) {
			r.to_value = mailbot_header_get(&r.h, h[i]);
			list = mailbot_parse_addrs(r.to_value);
		}
	}
	r.to_list = list;
	r.to = mailbot_first_mailbox(list);
	if (r.to == NULL)
		goto done;	/* nobody to answer */
	addr = mailbot_addr_spec_lower(r.to);
	if (o.db != NULL) {
		int rc = mailbot_already_answered(o.db, addr, o.days, !o.print);

		if (rc < 0)
			tempfail(o.db, "unable to open the reply database");
		if (rc > 0) {
			free(addr);
			goto done;
		}
	}
	free(addr);

	str_init(&r.text_headers, 256);
	str_init(&r.text, 4096);
	load_text(&r);
	str_init(&out, 8192);
	if (o.mode == MAILBOT_FORWARD || o.mode == MAILBOT_FORWARDATT)
		build_forward(&out, &r);
	else
		build_reply(&out, &r);
	if (o.print) {
		fwrite(str_c(&out), 1, str_len(&out), stdout);
		status = fflush(stdout) == 0 ? 0 : EX_TEMPFAIL_;
	} else {
		status = send_reply(&out, argc, argv, o.prog_index);
	}
	str_free(&out);
	str_free(&r.text_headers);
	str_free(&r.text);
	free(r.boundary);
	free(r.charset_buf);
	rfc822_addr_list_free(&list);
	mailbot_header_free(&r.h);
	mime_part_free(&r.mime);
	md_message_free(&msg);
	mailbot_opts_free(&o);
	return status;
done:
	rfc822_addr_list_free(&list);
	mailbot_header_free(&r.h);
	mime_part_free(&r.mime);
	md_message_free(&msg);
	mailbot_opts_free(&o);
	return 0;
}
