/* sendmail.c: the sendmail command: reads a message on standard input
 * and queues it through submit.h.
 *
 *   sendmail [-t] [-i|-oi] [-f sender] [-F name] [-N never|LIST]
 *            [-R full|hdrs] [-V envid] [-bm] [-oXXX...] [address...]
 *
 *   -t        recipients also from To:, Cc: and Bcc: (Bcc: is removed)
 *   -i, -oi   a line "." does not end the message (it does by default)
 *   -f        envelope sender ("<>" or "" for none); default the user's
 *             login name at the defaultdomain
 *   -F        full name for the From: added when the message has none
 *   -N        DSN NOTIFY: "never" or a comma list of success, failure,
 *             delay
 *   -R        DSN RET: full or hdrs;  -V: DSN ENVID
 *   -bm       deliver mail (the default); other -o options are ignored
 *
 * Exit status (sysexits.h): 0 queued; 64 usage; 65 the message was
 * refused; 67 a recipient was refused; 75 try again later. */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctlfile.h"
#include "log.h"
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
	char *exe = realpath("/proc/self/exe", NULL), *path = NULL;

	(void)argv0;
	if (exe != NULL) {
		char *slash = strrchr(exe, '/');

		if (slash != NULL) {
			*slash = '\0';
			path = xasprintf("%s/../sbin/esmtpd", exe);
			if (access(path, X_OK) < 0) {
				free(path);
				path = NULL;
			}
		}
		free(exe);
	}
	if (path == NULL)
		path = xstrdup(SBINDIR "/esmtpd");
	execl(path, "esmtpd", "--stdio", (char *)NULL);
	fprintf(stderr, "sendmail: cannot run %s: %s\n", path,
		strerror(errno));
	free(path);
	return EX_UNAVAILABLE;
}

int main(int argc, char **argv)
{
	struct submit_options o;
	struct submit *s;
	struct input in;
	struct hdr_state hs = { NULL, 0 };
	struct rfc822_header_parser *hp;
	struct str hdr;
	const char *error, *fullname = NULL;
	char *sender = NULL, qid[QUEUE_ID_LEN + 1];
	bool from_headers = false, header_done = false, any_from = false;
	unsigned int notify = 0;
	int opt, status = EX_OK;
	size_t n;

	log_init("sendmail", LOG_TARGET_STDERR);
	memset(&o, 0, sizeof(o));
	memset(&in, 0, sizeof(in));
	in.dot_ends = true;
	in.bol = true;
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
	s = submit_begin(&o, &error);
	if (s == NULL) {
		fprintf(stderr, "sendmail: %s\n", error);
		return exit_for(error);
	}
	for (int i = optind; i < argc; i++) {
		if (submit_add_rcpt(s, argv[i], notify, NULL, &error) < 0) {
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
					if (submit_add_rcpt(s, str_c(&spec),
							    notify, NULL,
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
		submit_write(s, str_c(&from), str_len(&from));
		str_free(&from);
		free(q);
	}
	{
		uint64_t pos = 0;

		for (size_t i = 0; i < hs.count; i++) {
			struct hdr_field *f = &hs.fields[i];

			if (from_headers && f->is_bcc) {
				submit_write(s, str_c(&hdr) + pos,
					     (size_t)(f->offset - pos));
				pos = f->offset + f->size;
			}
			free(f->value);
		}
		submit_write(s, str_c(&hdr) + pos,
			     (size_t)(str_len(&hdr) - pos));
	}
	free(hs.fields);
	str_free(&hdr);
	if (in.len > 0)
		submit_write(s, in.buf, in.len);
	while ((n = input_read(&in)) > 0)
		submit_write(s, in.buf, n);
	if (submit_finish(&s, qid, &error) < 0) {
		fprintf(stderr, "sendmail: %s\n", error);
		free(sender);
		/* no recipient left after refusals: say so */
		return status != EX_OK && strncmp(error, "554", 3) == 0 ?
			status : exit_for(error);
	}
	free(sender);
	return status;
}
