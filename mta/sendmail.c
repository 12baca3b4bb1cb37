/* sendmail.c: the sendmail command: reads a message on standard input
 * and queues it through submit.h.
 *
 *   sendmail [-t] [-i|-oi] [-f sender] [-F name] [-N never|LIST]
 *            [-R full|hdrs] [-V envid] [-verp] [-bm] [-oXXX...]
 *            [address...]
 *
 *   -t        recipients also from To:, Cc: and Bcc: (Bcc: is removed)
 *   -i, -oi   a line "." does not end the message (it does by default)
 *   -f        envelope sender ("<>" or "" for none); default the user's
 *             login name at the defaultdomain
 *   -F        full name for the From: added when the message has none
 *   -N        DSN NOTIFY: "never" or a comma list of success, failure,
 *             delay
 *   -R        DSN RET: full or hdrs;  -V: DSN ENVID
 *   -verp     VERP, as Courier's sendmail has it: each recipient's
 *             delivery gets its own envelope sender (ctlfile.h)
 *   -bm       deliver mail (the default); other -o options are ignored
 *
 * Exit status (sysexits.h): 0 queued; 64 usage; 65 the message was
 * refused; 67 a recipient was refused; 75 try again later.
 *
 * Run by root or by the queue's owner, sendmail queues through submit.h
 * in-process.  Anyone else cannot write the queue: sendmail then runs
 * the submit program (sbin/ beside bin/, else SBINDIR), which
 * courier-setup installs setgid to the queue's group, and speaks its
 * standard-input protocol (submit-main.c). */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctlfile.h"
#include "log.h"
#include "queue-admin.h"
#include "queue.h"
#include "instance.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "rfc822-header.h"
#include "str.h"
#include "submit.h"

#define HEADER_MAX (1024 * 1024)

struct hdr_field {
	uint64_t offset, size;
	bool is_bcc, is_from, is_rcpt;
	char *value;
};

struct hdr_state {
	struct hdr_field *fields;
	size_t count;
};

static void field_cb(const struct rfc822_header_field *f, void *context)
{
	struct hdr_state *st = context;
	struct hdr_field *h;

	st->fields = xreallocarray(st->fields, st->count + 1,
				   sizeof(*st->fields));
	h = &st->fields[st->count++];
	memset(h, 0, sizeof(*h));
	h->offset = f->offset;
	h->size = f->size;
	if (f->broken)
		return;
	h->is_bcc = f->name_len == 3 && strncasecmp(f->name, "bcc", 3) == 0;
	h->is_from = f->name_len == 4 &&
		strncasecmp(f->name, "from", 4) == 0;
	h->is_rcpt = h->is_bcc ||
		(f->name_len == 2 && strncasecmp(f->name, "to", 2) == 0) ||
		(f->name_len == 2 && strncasecmp(f->name, "cc", 2) == 0);
	if (h->is_rcpt)
		h->value = xmemdup(f->value, f->value_len);
}

static int usage(void)
{
	fprintf(stderr, "usage: sendmail [-t] [-i] [-f sender] [-F name] "
		"[-N dsn] [-R full|hdrs] [-V envid] [address...]\n");
	return EX_USAGE;
}

static int exit_for(const char *reply)
{
	return reply[0] == '4' ? EX_TEMPFAIL : EX_DATAERR;
}

static int parse_notify(const char *arg, unsigned int *mask_r)
{
	char **v = str_split(arg, ",");
	unsigned int mask = 0;
	int ret = 0;

	for (size_t i = 0; v[i] != NULL; i++) {
		char *w = str_trim(v[i]);

		if (strcasecmp(w, "never") == 0)
			mask |= CTL_NOTIFY_NEVER;
		else if (strcasecmp(w, "success") == 0)
			mask |= CTL_NOTIFY_SUCCESS;
		else if (strcasecmp(w, "failure") == 0)
			mask |= CTL_NOTIFY_FAILURE;
		else if (strcasecmp(w, "delay") == 0)
			mask |= CTL_NOTIFY_DELAY;
		else
			ret = -1;
	}
	str_split_free(&v);
	if ((mask & CTL_NOTIFY_NEVER) != 0 && mask != CTL_NOTIFY_NEVER)
		ret = -1;
	*mask_r = mask;
	return ret;
}

/* Where the message goes: submit.h in-process, or the submit program. */
struct out {
	struct submit *s;	/* in-process; NULL when the program is used */
	struct str env;		/* the program's envelope, until it runs */
	char **rcpts;		/* the addresses given to the program */
	size_t rcpt_count;
	pid_t pid;
	int fd;			/* its standard input; -1 before it runs */
	FILE *replies;		/* its standard output */
	struct str error;	/* the last refusal */
};

static bool field_ok(const char *v)
{
	return v == NULL || (ctl_value_ok(v) && strchr(v, '\t') == NULL);
}

static int out_begin(struct out *out, const struct submit_options *o,
		     const char **error_r)
{
	char *tmp = xasprintf("%s/tmp", queue_dir());
	bool direct = geteuid() == 0 || access(tmp, W_OK) == 0;

	free(tmp);
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	str_init(&out->error, 128);
	if (direct) {
		out->s = submit_begin(o, error_r);
		return out->s != NULL ? 0 : -1;
	}
	if (!field_ok(o->sender) || !field_ok(o->envid)) {
		*error_r = "501 5.1.7 Invalid sender";
		return -1;
	}
	str_init(&out->env, 256);
	/* the RET field carries V for VERP after the RET letter */
	str_printfa(&out->env, "%s\t%s%s\t%s\n", o->sender,
		    o->ret == 'F' ? "F" : o->ret == 'H' ? "H" : "",
		    o->verp ? "V" : "", o->envid != NULL ? o->envid : "");
	return 0;
}

static int out_add_rcpt(struct out *out, const char *address,
			unsigned int notify, const char **error_r)
{
	if (out->s != NULL)
		return submit_add_rcpt(out->s, address, notify, NULL,
				       error_r);
	if (!field_ok(address) || *address == '\0') {
		*error_r = "501 5.1.3 Invalid address";
		return -1;
	}
	if (out->rcpt_count >= SUBMIT_MAX_RCPTS) {
		*error_r = "452 4.5.3 Too many recipients";
		return -1;
	}
	str_append(&out->env, address);
	if (notify != 0) {
		str_append_c(&out->env, '\t');
		ctl_notify_format(&out->env, notify);
	}
	str_append_c(&out->env, '\n');
	out->rcpts = xreallocarray(out->rcpts, out->rcpt_count + 1,
				   sizeof(*out->rcpts));
	out->rcpts[out->rcpt_count++] = xstrdup(address);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Starts the submit program (once) and sends it the envelope. */
static void out_start(struct out *out)
{
	int in[2];
	char *prog;

	if (out->pid != 0)
		return;
	out->replies = tmpfile();
	if (out->replies == NULL || pipe(in) < 0) {
		out->pid = -1;
		return;
	}
	prog = queue_admin_submit_program();
	out->pid = fork();
	if (out->pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(fileno(out->replies), 1) < 0)
			_exit(EX_OSERR);
		close(in[0]);
		close(in[1]);
		execl(prog, "submit", "local", (char *)NULL);
		fprintf(stderr, "sendmail: cannot run %s: %s\n", prog,
			strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	free(prog);
	close(in[0]);
	if (out->pid < 0) {
		close(in[1]);
		return;
	}
	out->fd = in[1];
	str_append_c(&out->env, '\n');
	if (write_all(out->fd, str_c(&out->env), str_len(&out->env)) < 0) {
		close(out->fd);
		out->fd = -1;	/* it stopped reading: its replies say why */
	}
}

static void out_write(struct out *out, const void *data, size_t len)
{
	if (out->s != NULL) {
		submit_write(out->s, data, len);
		return;
	}
	out_start(out);
	if (out->fd >= 0 && write_all(out->fd, data, len) < 0) {
		close(out->fd);
		out->fd = -1;
	}
}

/* Ends the submission.  Returns 0, or -1 with *error_r (an SMTP reply).
 * Recipients the program refused are reported on stderr and set
 * *status_r to EX_NOUSER. */
static int out_finish(struct out *out, int *status_r, const char **error_r)
{
	char qid[QUEUE_ID_LEN + 1], line[4096];
	int wstatus, ret = -1;
	size_t n = 0;

	if (out->s != NULL)
		return submit_finish(&out->s, qid, error_r);
	out_start(out);
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
	*error_r = "451 4.3.0 The submit program failed";
	if (out->pid < 0)
		goto done;
	while (waitpid(out->pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	rewind(out->replies);
	while (fgets(line, sizeof(line), out->replies) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		str_truncate(&out->error, 0);
		str_append(&out->error, line);
		if (n == 0 && line[0] != '2') {
			*error_r = str_c(&out->error);
			goto done;	/* the sender was refused */
		}
		if (n >= 1 && n <= out->rcpt_count && line[0] != '2') {
			fprintf(stderr, "sendmail: %s: %s\n",
				out->rcpts[n - 1], line);
			*status_r = EX_NOUSER;
		}
		if (n == out->rcpt_count + 1) {
			if (line[0] == '2')
				ret = 0;
			else
				*error_r = str_c(&out->error);
			break;
		}
		n++;
	}
done:
	if (out->replies != NULL)
		fclose(out->replies);
	for (size_t i = 0; i < out->rcpt_count; i++)
		free(out->rcpts[i]);
	free(out->rcpts);
	str_free(&out->env);
	return ret;
}

/* Reads standard input: the message ends at EOF, or (without -i) at a
 * line holding only ".". */
struct input {
	bool dot_ends;
	bool bol, ended;
	char buf[65536];
	size_t len;
};

static size_t input_read(struct input *in)
{
	ssize_t n;

	if (in->ended)
		return 0;
	do {
		n = read(0, in->buf, sizeof(in->buf));
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		in->ended = true;
		return 0;
	}
	in->len = (size_t)n;
	if (in->dot_ends) {
		/* find "\n.\n" style ends; a "." line split across reads
		 * is caught by carrying bol */
		for (size_t i = 0; i < in->len; i++) {
			if (in->bol && in->buf[i] == '.' &&
			    ((i + 1 < in->len && in->buf[i + 1] == '\n') ||
			     (i + 2 < in->len && in->buf[i + 1] == '\r' &&
			      in->buf[i + 2] == '\n'))) {
				in->len = i;
				in->ended = true;
				break;
			}
			in->bol = in->buf[i] == '\n';
		}
	}
	return in->len;
}

/* sendmail -bs: SMTP on standard input and output, spoken by the ESMTP
 * server's --stdio mode (sbin/esmtpd beside bin/, else SBINDIR).
 * Returns only when it cannot be run. */
static int run_smtp_stdio(const char *argv0)
{
	char *path = instance_program(1, "sbin/esmtpd");

	(void)argv0;
	execl(path, "esmtpd", "--stdio", (char *)NULL);
	fprintf(stderr, "sendmail: cannot run %s: %s\n", path,
		strerror(errno));
	free(path);
	return EX_UNAVAILABLE;
}

/* Takes Courier's "-verp" out of the options (getopt would read it as
 * -v -e -r p): up to the first operand or "--", skipping the values of
 * the options that take one.  Returns whether it was there. */
static bool take_verp(int *argc, char **argv)
{
	bool verp = false;
	int i = 1;

	while (i < *argc) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "-verp") == 0) {
			verp = true;
			memmove(&argv[i], &argv[i + 1],
				(size_t)(*argc - i) * sizeof(*argv));
			(*argc)--;
			continue;
		}
		/* an option letter with its value in the next argument */
		if (a[2] == '\0' && strchr("frFNRVbo", a[1]) != NULL)
			i++;
		i++;
	}
	return verp;
}

int main(int argc, char **argv)
{
	struct submit_options o;
	struct out out;
	struct input in;
	struct hdr_state hs = { NULL, 0 };
	struct rfc822_header_parser *hp;
	struct str hdr;
	const char *error, *fullname = NULL;
	char *sender = NULL;
	bool from_headers = false, header_done = false, any_from = false;
	unsigned int notify = 0;
	int opt, status = EX_OK;
	size_t n;

	log_init("sendmail", LOG_TARGET_STDERR);
	memset(&o, 0, sizeof(o));
	memset(&in, 0, sizeof(in));
	in.dot_ends = true;
	in.bol = true;
	o.verp = take_verp(&argc, argv);
	while ((opt = getopt(argc, argv, "tif:r:F:N:R:V:b:o:")) != -1) {
		switch (opt) {
		case 't': from_headers = true; break;
		case 'i': in.dot_ends = false; break;
		case 'f': case 'r':
			sender = xstrdup(optarg);
			break;
		case 'F': fullname = optarg; break;
		case 'N':
			if (parse_notify(optarg, &notify) < 0)
				return usage();
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				o.ret = 'F';
			else if (strcasecmp(optarg, "hdrs") == 0)
				o.ret = 'H';
			else
				return usage();
			break;
		case 'V': o.envid = optarg; break;
		case 'b':
			if (strcmp(optarg, "s") == 0)
				return run_smtp_stdio(argv[0]);
			if (strcmp(optarg, "m") != 0) {
				fprintf(stderr, "sendmail: -b%s is not "
					"supported\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'o':
			if (strcmp(optarg, "i") == 0)
				in.dot_ends = false;
			break;
		default:
			return usage();
		}
	}
	if (sender == NULL) {
		struct passwd *pw = getpwuid(getuid());
		const char *name = getenv("MAILUSER");

		if (name == NULL)
			name = pw != NULL ? pw->pw_name : "nobody";
		sender = xstrdup(name);
	}
	if (strcmp(sender, "<>") == 0)
		sender[0] = '\0';
	o.sender = sender;
	o.source = "local";
	o.protocol = "local";
	o.uid = getuid();
	signal(SIGPIPE, SIG_IGN);
	if (out_begin(&out, &o, &error) < 0) {
		fprintf(stderr, "sendmail: %s\n", error);
		str_free(&out.error);
		return exit_for(error);
	}
	for (int i = optind; i < argc; i++) {
		if (out_add_rcpt(&out, argv[i], notify, &error) < 0) {
			fprintf(stderr, "sendmail: %s: %s\n", argv[i], error);
			status = EX_NOUSER;
		}
	}
	/* The header is read whole: Bcc: goes, From: may be added. */
	hp = rfc822_header_parser_create(NULL);
	str_init(&hdr, 8192);
	while (!header_done && (n = input_read(&in)) > 0) {
		size_t used = 0;

		if (rfc822_header_parser_feed(hp, in.buf, n, &used, field_cb,
					      &hs) == 1) {
			str_append_n(&hdr, in.buf, used);
			memmove(in.buf, in.buf + used, n - used);
			in.len = n - used;
			header_done = true;
		} else {
			str_append_n(&hdr, in.buf, n);
			in.len = 0;
		}
	}
	if (!header_done) {
		rfc822_header_parser_finish(hp, field_cb, &hs);
		in.len = 0;
	}
	rfc822_header_parser_destroy(&hp);
	{
		struct rfc822_addr_parser *ap = rfc822_addr_parser_create(NULL);

		for (size_t i = 0; i < hs.count; i++) {
			struct hdr_field *f = &hs.fields[i];

			any_from = any_from || f->is_from;
			if (from_headers && f->is_rcpt) {
				struct rfc822_addr_list *list = NULL;

				(void)rfc822_addr_parse(ap, f->value,
							strlen(f->value),
							&list, &error);
				for (size_t j = 0; list != NULL &&
				     j < list->count; j++) {
					struct rfc822_addr *a =
						&list->addrs[j];
					struct str spec;

					if (a->type != RFC822_ADDR_MAILBOX ||
					    a->invalid || a->null_addr)
						continue;
					str_init(&spec, 64);
					rfc822_addr_format_spec(&spec, a);
					if (out_add_rcpt(&out, str_c(&spec),
							 notify,
							 &error) < 0) {
						fprintf(stderr, "sendmail: "
							"%s: %s\n",
							str_c(&spec), error);
						status = EX_NOUSER;
					}
					str_free(&spec);
				}
				rfc822_addr_list_free(&list);
			}
		}
		rfc822_addr_parser_destroy(&ap);
	}
	if (!any_from) {
		struct str from;
		char *q = *sender != '\0' ?
			submit_qualify_address(sender, &error) : NULL;

		str_init(&from, 128);
		str_append(&from, "From: ");
		if (fullname != NULL) {
			rfc822_addr_format_name(&from, fullname);
			str_append_c(&from, ' ');
		}
		str_printfa(&from, "<%s>\n", q != NULL ? q : "");
		out_write(&out, str_c(&from), str_len(&from));
		str_free(&from);
		free(q);
	}
	{
		uint64_t pos = 0;

		for (size_t i = 0; i < hs.count; i++) {
			struct hdr_field *f = &hs.fields[i];

			if (from_headers && f->is_bcc) {
				out_write(&out, str_c(&hdr) + pos,
					     (size_t)(f->offset - pos));
				pos = f->offset + f->size;
			}
			free(f->value);
		}
		out_write(&out, str_c(&hdr) + pos,
			     (size_t)(str_len(&hdr) - pos));
	}
	free(hs.fields);
	str_free(&hdr);
	if (in.len > 0)
		out_write(&out, in.buf, in.len);
	while ((n = input_read(&in)) > 0)
		out_write(&out, in.buf, n);
	if (out_finish(&out, &status, &error) < 0) {
		int ret;

		fprintf(stderr, "sendmail: %s\n", error);
		free(sender);
		/* no recipient left after refusals: say so */
		ret = status != EX_OK && strncmp(error, "554", 3) == 0 ?
			status : exit_for(error);
		str_free(&out.error);	/* error may point into it */
		return ret;
	}
	str_free(&out.error);
	free(sender);
	return status;
}
