/* mailbot.c: autoresponder (Courier's mailbot(1)): reads a message and
 * mails a reply to its sender through a program (sendmail -f '').
 *
 * mailbot [-t file | -m file] [-A "Header: value"]... [-s subject]
 *         [-f[address]] [-e] [-r addr,addr] [-d db [-D days]]
 *         [-T reply|replyall|forward] [-N] [-c charset] [-S salutation]
 *         [-F marker] [-n] [program [arg...]]
 *
 * No reply goes to messages with "Precedence: junk/bulk/list", a
 * List-Id header, an "Auto-Submitted" other than "no", a
 * multipart/report content type, or no usable sender address; with -r,
 * to messages whose To/Cc name none of the addresses; with -d, to a
 * sender answered less than -D days (default 1) ago (an LMDB file,
 * "address" -> time).  Exit codes: 0 (replied or quietly declined),
 * 64 usage, 75 temporary failure, or the program's exit code. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <lmdb.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mddeliver.h"
#include "mdmsg.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "str.h"

#define EX_USAGE_ 64
#define EX_TEMPFAIL_ 75
#define MAX_MESSAGE (64 * 1024 * 1024)
#define MAX_TEXT (1024 * 1024)
#define MAX_QUOTED (64 * 1024)

extern char **environ;

enum reply_format { FMT_REPLY, FMT_REPLYALL, FMT_FORWARD };

struct options {
	const char *text_file, *mime_file, *subject, *from_addr;
	const char *db, *charset, *salutation, *marker, *only_to;
	char **headers;
	size_t nheaders;
	double days;
	enum reply_format format;
	bool from_given, errors_to, no_quote, print;
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: mailbot [-t file | -m file] [-A \"Header: value\"] "
		"[-s subject] [-f[address]] [-e] [-r addrlist] [-d db [-D days]] "
		"[-T reply|replyall|forward] [-N] [-c charset] [-S salutation] "
		"[-F marker] [-n] [program [arg...]]\n");
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

/* Parses an address header value; NULL if there is no mailbox in it. */
static struct rfc822_addr_list *parse_addrs(const char *value)
{
	struct rfc822_addr_parser *p;
	struct rfc822_addr_list *list = NULL;

	if (value == NULL)
		return NULL;
	p = rfc822_addr_parser_create(NULL);
	if (rfc822_addr_parse(p, value, strlen(value), &list, NULL) < 0)
		list = NULL;
	rfc822_addr_parser_destroy(&p);
	if (list != NULL && list->mailbox_count == 0)
		rfc822_addr_list_free(&list);
	return list;
}

/* The first valid mailbox of a list with a domain. */
static const struct rfc822_addr *first_mailbox(const struct rfc822_addr_list *l)
{
	for (size_t i = 0; l != NULL && i < l->count; i++) {
		const struct rfc822_addr *a = &l->addrs[i];

		if (a->type == RFC822_ADDR_MAILBOX && !a->invalid &&
		    !a->null_addr && a->local != NULL && a->domain != NULL)
			return a;
	}
	return NULL;
}

static char *addr_spec_lower(const struct rfc822_addr *a)
{
	struct str s;

	str_init(&s, 64);
	(void)rfc822_addr_format_spec(&s, a);
	return str_lcase(str_steal(&s));
}

/* Should this message get no reply at all? */
static bool declined(const struct md_message *msg)
{
	char *v;
	bool no = false;

	if ((v = md_message_header(msg, "Precedence")) != NULL) {
		const char *p = v + strspn(v, " \t");

		no = strncasecmp(p, "junk", 4) == 0 ||
		     strncasecmp(p, "bulk", 4) == 0 ||
		     strncasecmp(p, "list", 4) == 0;
		free(v);
	}
	if (!no && (v = md_message_header(msg, "List-Id")) != NULL) {
		no = true;
		free(v);
	}
	if (!no && (v = md_message_header(msg, "Auto-Submitted")) != NULL) {
		const char *p = v + strspn(v, " \t");

		no = strncasecmp(p, "no", 2) != 0 ||
		     (p[2] != '\0' && p[2] != ' ' && p[2] != ';');
		free(v);
	}
	if (!no && (v = md_message_header(msg, "Content-Type")) != NULL) {
		const char *p = v + strspn(v, " \t");

		no = strncasecmp(p, "multipart/report", 16) == 0;
		free(v);
	}
	return no;
}

/* -r: does any To/Cc address equal one of the list (case-insensitive)? */
static bool addressed_to(const struct md_message *msg, const char *list)
{
	static const char *const hdrs[] = { "To", "Cc" };
	char **want = str_split(list, ",");
	bool found = false;

	for (size_t h = 0; h < N_ELEMENTS(hdrs) && !found; h++) {
		char *v = md_message_header(msg, hdrs[h]);
		struct rfc822_addr_list *l = parse_addrs(v);

		for (size_t i = 0; l != NULL && i < l->count && !found; i++) {
			char *a;

			if (l->addrs[i].type != RFC822_ADDR_MAILBOX ||
			    l->addrs[i].invalid || l->addrs[i].local == NULL)
				continue;
			a = addr_spec_lower(&l->addrs[i]);
			for (size_t w = 0; want[w] != NULL && !found; w++) {
				char *t = want[w];

				while (*t == ' ' || *t == '\t')
					t++;
				size_t tl = strlen(t);
				while (tl > 0 && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
					tl--;
				found = tl == strlen(a) && strncasecmp(t, a, tl) == 0;
			}
			free(a);
		}
		rfc822_addr_list_free(&l);
		free(v);
	}
	str_split_free(&want);
	return found;
}

/* -d: 1 if addr was answered less than days ago; else records now (when
 * record) and returns 0.  -1 on a database error. */
static int already_answered(const char *db, const char *addr, double days,
			    bool record)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	time_t now = time(NULL), then = 0;
	char buf[32];
	int rc = 0;

	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_mapsize(env, (size_t)64 * 1024 * 1024);
	if (mdb_env_open(env, db, MDB_NOSUBDIR, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0) {
		mdb_env_close(env);
		return -1;
	}
	if (mdb_dbi_open(txn, NULL, 0, &dbi) != 0) {
		mdb_txn_abort(txn);
		mdb_env_close(env);
		return -1;
	}
	k.mv_data = (void *)addr;
	k.mv_size = strlen(addr);
	if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size < sizeof(buf)) {
		memcpy(buf, v.mv_data, v.mv_size);
		buf[v.mv_size] = '\0';
		then = (time_t)strtoll(buf, NULL, 10);
		if (then <= now && (double)(now - then) < days * 86400.0)
			rc = 1;
	}
	if (rc == 0 && record) {
		int n = snprintf(buf, sizeof(buf), "%lld", (long long)now);

		v.mv_data = buf;
		v.mv_size = (size_t)n;
		if (mdb_put(txn, dbi, &k, &v, 0) != 0) {
			mdb_txn_abort(txn);
			mdb_env_close(env);
			return -1;
		}
		rc = mdb_txn_commit(txn) == 0 ? 0 : -1;
	} else {
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

/* Expands the salutation (-S): %% %n %C %N %i %f %F %S %d. */
static void salutation(struct str *out, const char *fmt,
		       const struct md_message *msg,
		       const struct rfc822_addr *to)
{
	for (const char *p = fmt; *p != '\0'; p++) {
		char *v = NULL;

		if (*p != '%' || p[1] == '\0') {
			str_append_c(out, *p);
			continue;
		}
		switch (*++p) {
		case '%': str_append_c(out, '%'); break;
		case 'n': str_append_c(out, '\n'); break;
		case 'C': v = md_message_header(msg, "X-Newsgroup"); break;
		case 'N': v = md_message_header(msg, "Newsgroups"); break;
		case 'i': v = md_message_header(msg, "Message-ID"); break;
		case 'S': v = md_message_header(msg, "Subject"); break;
		case 'd': v = md_message_header(msg, "Date"); break;
		case 'f': (void)rfc822_addr_format_spec(out, to); break;
		case 'F':
			if (to->name != NULL)
				str_append(out, to->name);
			else
				(void)rfc822_addr_format_spec(out, to);
			break;
		default:
			str_append_c(out, '%');
			str_append_c(out, *p);
			break;
		}
		if (v != NULL) {
			str_append(out, v + strspn(v, " \t"));
			free(v);
		}
	}
}

/* The original body, each line prefixed with "> " (flowed quoting). */
static void quote_body(struct str *out, const struct md_message *msg)
{
	const char *d = str_c(&msg->data), *b = strstr(d, "\n\n");
	size_t n = 0;

	if (b == NULL)
		return;
	for (b += 2; *b != '\0' && n < MAX_QUOTED; ) {
		const char *nl = strchr(b, '\n');
		size_t ll = nl != NULL ? (size_t)(nl - b) : strlen(b);

		str_append(out, *b == '>' ? ">" : "> ");
		str_append_n(out, b, ll);
		str_append_c(out, '\n');
		n += ll + 1;
		if (nl == NULL)
			break;
		b = nl + 1;
	}
}

/* The text part: -t file as is; -m file's body (its Content-Type, if
 * any, replaces ours). */
static void reply_text(const struct options *o, struct str *body,
		       char **ctype_r)
{
	struct str f;

	str_init(&f, 4096);
	read_file(o->text_file != NULL ? o->text_file : o->mime_file, &f);
	*ctype_r = NULL;
	if (o->mime_file != NULL) {
		const char *s = str_c(&f), *end = strstr(s, "\n\n");
		const char *p;

		if (end == NULL)
			tempfail(o->mime_file, "no blank line after the MIME headers");
		for (p = s; p < end; ) {
			const char *nl = strchr(p, '\n');

			if (strncasecmp(p, "Content-Type:", 13) == 0) {
				const char *v = p + 13 + strspn(p + 13, " \t");

				free(*ctype_r);
				*ctype_r = xstrndup(v, (size_t)(nl - v));
			}
			p = nl + 1;
		}
		str_append(body, end + 2);
	} else {
		str_append(body, str_c(&f));
	}
	str_free(&f);
}

static bool has_header(const struct options *o, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < o->nheaders; i++)
		if (strncasecmp(o->headers[i], name, nl) == 0 &&
		    o->headers[i][nl] == ':')
			return true;
	return false;
}

static void build_reply(const struct options *o, const struct md_message *msg,
			const struct rfc822_addr *to, struct str *out)
{
	char *subj = md_message_header(msg, "Subject");
	char *msgid = md_message_header(msg, "Message-ID");
	char *refs = md_message_header(msg, "References");
	char *ctype = NULL;
	const char *s = subj != NULL ? subj + strspn(subj, " \t") : "";
	struct str body;

	for (size_t i = 0; i < o->nheaders; i++) {
		str_append(out, o->headers[i]);
		str_append_c(out, '\n');
	}
	if (!has_header(o, "Precedence"))
		str_append(out, "Precedence: junk\n");
	str_append(out, "Auto-Submitted: auto-replied\n");
	if (o->format != FMT_FORWARD) {
		str_append(out, "To: ");
		(void)rfc822_addr_format(out, to);
		str_append_c(out, '\n');
	}
	if (o->format == FMT_REPLYALL) {
		static const char *const hdrs[] = { "To", "Cc" };
		struct str cc;

		str_init(&cc, 256);
		for (size_t h = 0; h < N_ELEMENTS(hdrs); h++) {
			char *v = md_message_header(msg, hdrs[h]);
			struct rfc822_addr_list *l = parse_addrs(v);

			for (size_t i = 0; l != NULL && i < l->count; i++) {
				if (l->addrs[i].type != RFC822_ADDR_MAILBOX ||
				    l->addrs[i].invalid)
					continue;
				if (str_len(&cc) > 0)
					str_append(&cc, ", ");
				(void)rfc822_addr_format(&cc, &l->addrs[i]);
			}
			rfc822_addr_list_free(&l);
			free(v);
		}
		if (str_len(&cc) > 0)
			str_printfa(out, "Cc: %s\n", str_c(&cc));
		str_free(&cc);
	}
	if (o->format != FMT_FORWARD && msgid != NULL) {
		const char *m = msgid + strspn(msgid, " \t");

		if (refs != NULL)
			str_printfa(out, "References: %s %s\n",
				    refs + strspn(refs, " \t"), m);
		else
			str_printfa(out, "References: %s\n", m);
		str_printfa(out, "In-Reply-To: %s\n", m);
	}
	if (o->subject != NULL)
		str_printfa(out, "Subject: %s\n", o->subject);
	else if (o->format == FMT_FORWARD)
		str_printfa(out, "Subject: %s (fwd)\n", s);
	else
		str_printfa(out, "Subject: %s%s\n",
			    strncasecmp(s, "Re:", 3) == 0 ? "" : "Re: ", s);
	str_init(&body, 4096);
	reply_text(o, &body, &ctype);
	str_append(out, "Mime-Version: 1.0\n");
	if (ctype != NULL)
		str_printfa(out, "Content-Type: %s\n", ctype);
	else
		str_printfa(out, "Content-Type: text/plain; format=flowed; "
			    "delsp=yes; charset=\"%s\"\n", o->charset);
	str_append(out, "Content-Transfer-Encoding: 8bit\n\n");
	if (o->format != FMT_FORWARD && !o->no_quote) {
		char *ct = md_message_header(msg, "Content-Type");
		const char *c = ct != NULL ? ct + strspn(ct, " \t") : "text/plain";

		/* only a plain text original can be quoted */
		if (strncasecmp(c, "text/plain", 10) == 0) {
			salutation(out, o->salutation, msg, to);
			str_append(out, "\n\n");
			quote_body(out, msg);
			str_append_c(out, '\n');
		}
		free(ct);
	}
	str_append(out, str_c(&body));
	if (str_len(&body) > 0 && str_c(&body)[str_len(&body) - 1] != '\n')
		str_append_c(out, '\n');
	str_append(out, "\n\n");
	if (o->format == FMT_FORWARD) {
		str_printfa(out, "%s\n", o->marker);
		str_append(out, str_c(&msg->data));
	}
	str_free(&body);
	free(ctype);
	free(subj);
	free(msgid);
	free(refs);
}

int main(int argc, char **argv)
{
	struct options o;
	struct md_message *msg;
	struct rfc822_addr_list *list = NULL;
	const struct rfc822_addr *to = NULL;
	struct str reply;
	char *addr, *err = NULL;
	int opt, status;

	memset(&o, 0, sizeof(o));
	o.days = 1;
	/* the default charset is the locale's, as Debian's mailbot has it */
	setlocale(LC_ALL, "");
	o.charset = nl_langinfo(CODESET);
	if (o.charset == NULL || *o.charset == '\0' ||
	    strcmp(o.charset, "ANSI_X3.4-1968") == 0)
		o.charset = "US-ASCII";
	o.salutation = "%F writes:";
	o.marker = "--- Forwarded message ---";
	while ((opt = getopt(argc, argv, "+t:m:A:s:f::er:d:D:T:Nc:S:F:nM:R:al:")) != -1) {
		switch (opt) {
		case 't': o.text_file = optarg; break;
		case 'm': o.mime_file = optarg; break;
		case 'A':
			if (strchr(optarg, ':') == NULL || strchr(optarg, '\n') != NULL)
				usage();
			o.headers = xreallocarray(o.headers, o.nheaders + 1,
						  sizeof(*o.headers));
			o.headers[o.nheaders++] = optarg;
			break;
		case 's': o.subject = optarg; break;
		case 'f':
			o.from_given = true;
			o.from_addr = optarg != NULL ? optarg : getenv("SENDER");
			break;
		case 'e': o.errors_to = true; break;
		case 'r': o.only_to = optarg; break;
		case 'd': o.db = optarg; break;
		case 'D':
			o.days = strtod(optarg, NULL);
			if (!(o.days >= 0))
				usage();
			break;
		case 'T':
			if (strcmp(optarg, "reply") == 0)
				o.format = FMT_REPLY;
			else if (strcmp(optarg, "replyall") == 0)
				o.format = FMT_REPLYALL;
			else if (strcmp(optarg, "forward") == 0)
				o.format = FMT_FORWARD;
			else {
				fprintf(stderr, "mailbot: -T %s is not supported.\n",
					optarg);
				return EX_USAGE_;
			}
			break;
		case 'N': o.no_quote = true; break;
		case 'c': o.charset = optarg; break;
		case 'S': o.salutation = optarg; break;
		case 'F': o.marker = optarg; break;
		case 'n': o.print = true; break;
		case 'M': case 'R': case 'a': case 'l':
			fprintf(stderr, "mailbot: -%c (delivery status and feedback reports, drafts) is not supported.\n",
				opt);
			return EX_USAGE_;
		default:
			usage();
		}
	}
	if ((o.text_file == NULL) == (o.mime_file == NULL))
		usage();
	if (o.subject != NULL && strchr(o.subject, '\n') != NULL)
		usage();

	msg = md_message_new();
	if (md_message_read_fd(msg, 0, MAX_MESSAGE) < 0)
		tempfail("standard input", strerror(errno));
	if (declined(msg) ||
	    (o.only_to != NULL && !addressed_to(msg, o.only_to))) {
		md_message_free(&msg);
		return 0;
	}
	if (o.from_given) {
		list = parse_addrs(o.from_addr);
	} else {
		static const char *const normal[] = { "Reply-To", "From" };
		static const char *const errors[] = { "Errors-To", "Return-Path",
						      "Reply-To", "From" };
		const char *const *h = o.errors_to ? errors : normal;
		size_t nh = o.errors_to ? N_ELEMENTS(errors) : N_ELEMENTS(normal);

		for (size_t i = 0; i < nh && list == NULL; i++) {
			char *v = md_message_header(msg, h[i]);

			list = parse_addrs(v);
			free(v);
		}
	}
	to = first_mailbox(list);
	if (to == NULL) {
		/* nobody to answer */
		rfc822_addr_list_free(&list);
		md_message_free(&msg);
		return 0;
	}
	addr = addr_spec_lower(to);
	if (o.db != NULL) {
		int rc = already_answered(o.db, addr, o.days, !o.print);

		if (rc < 0)
			tempfail(o.db, "unable to open the reply database");
		if (rc > 0) {
			free(addr);
			rfc822_addr_list_free(&list);
			md_message_free(&msg);
			return 0;
		}
	}
	free(addr);
	str_init(&reply, 8192);
	build_reply(&o, msg, to, &reply);
	if (o.print) {
		fwrite(str_c(&reply), 1, str_len(&reply), stdout);
		status = fflush(stdout) == 0 ? 0 : EX_TEMPFAIL_;
	} else {
		struct str cmd;

		str_init(&cmd, 256);
		if (optind < argc) {
			/* the program and its arguments, as given */
			for (int i = optind; i < argc; i++) {
				if (i > optind)
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
			str_append(&cmd, "/usr/sbin/sendmail -t -f ''");
		}
		if (md_run_program("/bin/sh", str_c(&cmd), str_c(&reply),
				   str_len(&reply), environ, NULL, 0, &status,
				   &err) < 0)
			tempfail("program", err);
		str_free(&cmd);
	}
	str_free(&reply);
	rfc822_addr_list_free(&list);
	md_message_free(&msg);
	free(o.headers);
	return status;
}
