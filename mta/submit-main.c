/* submit-main.c: the `submit` program, submit.h over standard input.
 *
 *   submit [SOURCE [RECEIVED-FROM [PROTOCOL]]]
 *
 * SOURCE is the u record ("local" by default); RECEIVED-FROM the "from"
 * text of the Received: line; PROTOCOL its "with" word.  Standard input
 * carries Courier's submit protocol:
 *
 *   sender[TAB ret[TAB envid]]     ret: F or H (DSN RET), then V for
 *                                  VERP; each may be missing
 *   address[TAB notify[TAB orcpt]] one per recipient; notify from S F D N
 *   (empty line)
 *   the message, until end of input
 *
 * After the sender, each recipient and the message, one SMTP reply line
 * is printed on standard output.  A recipient on the backscatter
 * blacklist (track.h) is refused when SOURCE is one of
 * BOFHSUPPRESSBACKSCATTER's sources.  A refused sender ends the run.  Exit
 * status 0 when the message was queued, 75 on a temporary failure, 65
 * when it was refused.
 *
 * submit may be installed setgid to the queue's group (courier-setup does
 * it, as Courier installs submit setgid), so that any user's sendmail
 * can queue mail.  Run that way it trusts COURIER_INSTANCE only when the
 * instance root, its etc/ and every folder above them belong to root and
 * cannot be written by others (else a user could point it at control
 * files of their own); otherwise it uses the configured paths.  Its
 * umask is 007, so what it makes stays the group's.
 *
 *   submit -mailq [-s]
 *   submit -cancelmsg QUEUEID [REASON]
 *
 * are mailq and cancelmsg for users who cannot read the queue (they run
 * it): the real uid sees and cancels only its own local mail, root all
 * (queue-admin.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ctlfile.h"
#include "log.h"
#include "mem.h"
#include "queue-admin.h"
#include "str.h"
#include "submit.h"
#include "track.h"

#define LINE_MAX_LEN 4096

static char inbuf[65536];
static size_t inpos, inlen;
static bool ineof;

static int fill(void)
{
	ssize_t n;

	if (ineof)
		return 0;
	do {
		n = read(0, inbuf, sizeof(inbuf));
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		ineof = true;
		return 0;
	}
	inpos = 0;
	inlen = (size_t)n;
	return 1;
}

/* One line without its LF (and CR).  Returns 1, 0 at end of input, -1
 * when too long. */
static int read_line(struct str *line)
{
	str_clear(line);
	for (;;) {
		char *nl;
		size_t n;

		if (inpos == inlen && fill() == 0)
			return str_len(line) > 0 ? 1 : 0;
		nl = memchr(inbuf + inpos, '\n', inlen - inpos);
		n = nl != NULL ? (size_t)(nl - (inbuf + inpos)) :
			inlen - inpos;
		if (str_len(line) + n > LINE_MAX_LEN)
			return -1;
		str_append_n(line, inbuf + inpos, n);
		inpos += n;
		if (nl != NULL) {
			inpos++;
			if (str_len(line) > 0 &&
			    str_c(line)[str_len(line) - 1] == '\r')
				str_truncate(line, str_len(line) - 1);
			return 1;
		}
	}
}

static void say(const char *text)
{
	printf("%s\n", text);
	fflush(stdout);
}

/* Whether path and every folder above it belong to root and are not
 * writable by group or others (sticky folders such as /tmp excepted). */
static bool root_owned_chain(const char *path)
{
	char *p = realpath(path, NULL);
	bool ok = p != NULL;

	while (ok) {
		struct stat st;
		char *slash;

		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != 0 ||
		    ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0))
			ok = false;
		slash = strrchr(p, '/');
		if (slash == NULL || slash == p)
			break;
		*slash = '\0';
	}
	free(p);
	return ok;
}

/* Run setgid: keep COURIER_INSTANCE only when it can be trusted. */
static void setgid_sanitize(void)
{
	const char *root = getenv("COURIER_INSTANCE");

	umask(007);
	if (root == NULL || *root == '\0')
		return;
	char *etc = xasprintf("%s/etc", root);

	if (!root_owned_chain(root) || !root_owned_chain(etc)) {
		log_warning("COURIER_INSTANCE %s is not root's: ignored", root);
		unsetenv("COURIER_INSTANCE");
	}
	free(etc);
}

static int status_of(const char *reply)
{
	return reply[0] == '4' ? EX_TEMPFAIL : EX_DATAERR;
}

int main(int argc, char **argv)
{
	struct submit_options opts;
	struct submit *s;
	struct str line;
	const char *error;
	char qid[QUEUE_ID_LEN + 1];
	int r;

	log_init("submit", LOG_TARGET_STDERR);
	if (getegid() != getgid() || geteuid() != getuid())
		setgid_sanitize();
	/* mailq and cancelmsg of users who cannot read the queue: the real
	 * uid decides what they see (queue-admin.h) */
	if (argc >= 2 && strcmp(argv[1], "-mailq") == 0) {
		if (argc > 3 || (argc == 3 && strcmp(argv[2], "-s") != 0)) {
			fprintf(stderr, "usage: submit -mailq [-s]\n");
			return EX_USAGE;
		}
		if (queue_admin_list(stdout, getuid(), argc == 3,
				     &error) < 0) {
			fprintf(stderr, "mailq: %s\n", error);
			return 1;
		}
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "-cancelmsg") == 0) {
		if (argc < 3 || argc > 4) {
			fprintf(stderr, "usage: submit -cancelmsg QUEUEID "
				"[REASON]\n");
			return EX_USAGE;
		}
		r = queue_admin_cancel(argv[2], argc == 4 ? argv[3] : NULL,
				       getuid(), &error);
		if (r < 0) {
			fprintf(stderr, "cancelmsg: %s: %s\n", argv[2], error);
			return 1;
		}
		printf("%s: cancelled (%d recipients)\n", argv[2], r);
		return 0;
	}
	memset(&opts, 0, sizeof(opts));
	opts.source = argc > 1 ? argv[1] : "local";
	opts.received_from = argc > 2 && *argv[2] != '\0' ? argv[2] : NULL;
	opts.protocol = argc > 3 ? argv[3] : NULL;
	opts.uid = getuid();
	opts.no_add_msgid = getenv("NOADDMSGID") != NULL;
	opts.no_add_date = getenv("NOADDDATE") != NULL;
	str_init(&line, 256);

	if (read_line(&line) <= 0) {
		say("501 5.5.4 No sender");
		return EX_DATAERR;
	}
	/* sender TAB ret TAB envid: fields may be empty, so split by hand */
	{
		char *text = xstrdup(str_c(&line));
		char *ret = strchr(text, '\t'), *envid = NULL;

		if (ret != NULL) {
			*ret++ = '\0';
			envid = strchr(ret, '\t');
			if (envid != NULL)
				*envid++ = '\0';
		}
		opts.sender = text;
		/* The RET field: F (full) or H (headers), then V for VERP
		 * (sendmail -verp), each optional. */
		opts.ret = 0;
		if (ret != NULL && (ret[0] == 'F' || ret[0] == 'H'))
			opts.ret = *ret++;
		opts.verp = ret != NULL && ret[0] == 'V';
		opts.envid = envid != NULL && *envid != '\0' ? envid : NULL;
		s = submit_begin(&opts, &error);
		free(text);
	}
	if (s == NULL) {
		say(error);
		return status_of(error);
	}
	say("250 2.1.0 Ok");
	while ((r = read_line(&line)) > 0 && str_len(&line) > 0) {
		unsigned int notify = 0;
		char *text = xstrdup(str_c(&line));
		char *flags = strchr(text, '\t'), *orcpt = NULL;

		if (flags != NULL) {
			*flags++ = '\0';
			orcpt = strchr(flags, '\t');
			if (orcpt != NULL)
				*orcpt++ = '\0';
		}
		const char *refuse = track_refuse(text, opts.source,
						  time(NULL));

		if (flags != NULL && ctl_notify_parse(flags, &notify) < 0)
			say("501 5.5.4 Invalid NOTIFY flags");
		else if (refuse != NULL)
			say(refuse);
		else if (submit_add_rcpt(s, text, notify, orcpt, &error) < 0)
			say(error);
		else
			say("250 2.1.5 Ok");
		free(text);
	}
	if (r < 0) {
		say("501 5.5.4 Line too long");
		submit_abort(&s);
		return EX_DATAERR;
	}
	while (inpos < inlen || fill() > 0) {
		submit_write(s, inbuf + inpos, inlen - inpos);
		inpos = inlen;
	}
	str_free(&line);
	if (submit_finish(&s, qid, &error) < 0) {
		say(error);
		return status_of(error);
	}
	printf("250 2.0.0 Ok: queued as %s\n", qid);
	fflush(stdout);
	return EX_OK;
}
