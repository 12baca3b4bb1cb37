/* courierlocal-follow.c: the dot-courier instructions of a local delivery
 * (maildirs, mboxes, programs, dynamic deliveries, forwards). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "courierlocal.h"
#include "dotcourier.h"
#include "log.h"
#include "mem.h"

static void add_forwards(struct delivery *dl, const char *line,
			 struct outcome *o)
{
	char **v = str_split(line, ",");

	for (size_t i = 0; v[i] != NULL; i++) {
		char *a = str_trim(v[i]);

		while (*a == '&' || *a == '!')
			a++;
		if (*a == '\0')
			continue;
		if (dl->forward_count >= MAX_FORWARDS) {
			result(o, CTL_STATUS_FAILED, "550 5.3.0 too many "
			       "forwarding addresses");
			break;
		}
		str_append(&dl->forwards, a);
		str_append_c(&dl->forwards, '\n');
		dl->forward_count++;
	}
	str_split_free(&v);
}

static void deliver_default(struct delivery *dl, struct outcome *o)
{
	struct str md;

	if (dl->maildrop != NULL) {
		/* maildrop -d looks the account up through authdaemond,
		 * whose socket only root reaches: the parent runs it (and
		 * maildrop switches to the account) */
		dl->want_maildrop = true;
		return;
	}
	str_init(&md, 256);
	auth_record_maildir(dl->rec, &md);
	deliver_maildir(dl, str_c(&md), dl->rec->quota, o);
	str_free(&md);
}

static bool follow(struct delivery *dl, const char *text, const char *file,
		   unsigned int depth, bool *any_r, struct outcome *o);

/* "||command": dynamic delivery instructions (dot-courier(5)).  The
 * program runs as a "|" line does, and what it writes on its standard
 * output is followed as more lines of the file; exit 99 stops after
 * them.  At most DYNAMIC_MAX_DEPTH levels of programs that print "||"
 * lines; DYNAMICDELIVERIES=0 in etc/courierd turns them off.  Returns
 * true when the delivery instructions end here. */
static bool deliver_dynamic(struct delivery *dl, const char *cmd,
			    const char *file, unsigned int depth,
			    struct outcome *o)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
	char tmpl[] = "/tmp/courierlocal.XXXXXX";
	char *output, *suffix;
	struct str out;
	bool any = false, stop;
	int fd, status, code;

	o->unsafe = true;
	if (!dl->dynamic) {
		result(o, CTL_STATUS_FAILED, "550 5.7.1 %s: dynamic delivery "
		       "instructions are disabled by the administrator", file);
		return true;
	}
	if (depth >= DYNAMIC_MAX_DEPTH) {
		result(o, CTL_STATUS_FAILED, "550 5.4.6 %s: too many levels "
		       "of dynamic delivery instructions", file);
		return true;
	}
	fd = mkstemp(tmpl);
	if (fd < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: %s", tmpl,
		       strerror(errno));
		return true;
	}
	(void)unlink(tmpl);
	if (run_fed(dl, argv, fd, true, &status, &output, o) < 0) {
		close(fd);
		return true;
	}
	/* its standard error: what it says when it fails */
	suffix = output_suffix(output);
	free(output);
	if (WIFSIGNALED(status)) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 ||%s: killed by signal "
		       "%d%s", cmd, WTERMSIG(status), suffix);
		free(suffix);
		close(fd);
		return true;
	}
	code = WEXITSTATUS(status);
	if (code != 0 && code != 99) {
		if (hard_exit(code))
			result(o, CTL_STATUS_FAILED, "550 5.3.0 ||%s: exit "
			       "status %d%s", cmd, code, suffix);
		else
			result(o, CTL_STATUS_DEFERRED, "451 4.3.0 ||%s: exit "
			       "status %d%s", cmd, code, suffix);
		free(suffix);
		close(fd);
		return true;
	}
	free(suffix);
	str_init(&out, 1024);
	(void)lseek(fd, 0, SEEK_SET);
	for (;;) {
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (str_len(&out) + (size_t)n > DOT_COURIER_MAX) {
			result(o, CTL_STATUS_DEFERRED, "4.3.0 ||%s: more than "
			       "%d bytes of delivery instructions", cmd,
			       DOT_COURIER_MAX);
			close(fd);
			str_free(&out);
			return true;
		}
		str_append_n(&out, buf, (size_t)n);
	}
	close(fd);
	if (memchr(str_c(&out), '\0', str_len(&out)) != NULL) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 ||%s: NUL in its "
		       "delivery instructions", cmd);
		str_free(&out);
		return true;
	}
	stop = follow(dl, str_c(&out), file, depth + 1, &any, o);
	str_free(&out);
	return stop || code == 99;
}

/* Follows the lines of text (a dot-courier file, or the output of a
 * "||" program at depth > 0).  *any_r is set when a line was not blank
 * or a comment.  Returns true when delivery stops here (a program's exit
 * 99, a failure or a deferral). */
static bool follow(struct delivery *dl, const char *text, const char *file,
		   unsigned int depth, bool *any_r, struct outcome *o)
{
	char **lines = str_split(text, "\n");
	bool stop = false;

	for (size_t i = 0; !stop && lines[i] != NULL; i++) {
		char *l = str_trim(lines[i]);
		size_t len = strlen(l);

		if (*l == '\0' || *l == '#')
			continue;
		*any_r = true;
		if (l[0] == '|' && l[1] == '|') {
			stop = deliver_dynamic(dl, str_trim(l + 2), file,
					       depth, o);
		} else if (l[0] == '|') {
			stop = deliver_program(dl, str_trim(l + 1), o);
		} else if (l[0] == '/' || l[0] == '.') {
			if (l[len - 1] == '/')
				deliver_maildir(dl, l, NULL, o);
			else
				deliver_mbox(dl, l, o);
		} else {
			add_forwards(dl, l, o);
		}
		if (o->status == CTL_STATUS_FAILED ||
		    o->status == CTL_STATUS_DEFERRED)
			stop = true;
	}
	str_split_free(&lines);
	return stop;
}

/* As the account, in its home: follows the instructions. */
void deliver_as_user(struct delivery *dl, struct outcome *o)
{
	char *file = dl->dotfile != NULL ? xstrdup(dl->dotfile) : NULL;
	struct str text;
	bool any = false;
	int fd;

	if (file == NULL && dotcourier_find(AT_FDCWD, dl->ext, &file) < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 <%s>: cannot look for "
		       "its .courier file: %s", dl->address, strerror(errno));
		return;
	}
	if (file == NULL) {
		if (*dl->ext != '\0') {
			result(o, CTL_STATUS_FAILED, "550 5.1.1 <%s>: unknown "
			       "user (no .courier-%s)", dl->address, dl->ext);
			return;
		}
		deliver_default(dl, o);
		return;
	}
	str_init(&text, 1024);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: %s", file,
		       strerror(errno));
		goto out;
	}
	for (;;) {
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (str_len(&text) + (size_t)n > DOT_COURIER_MAX) {
			result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: too large",
			       file);
			close(fd);
			goto out;
		}
		str_append_n(&text, buf, (size_t)n);
	}
	close(fd);
	(void)follow(dl, str_c(&text), file, 0, &any, o);
	if (!any && dl->dotfile != NULL)
		result(o, CTL_STATUS_DEFERRED, "4.3.0 %s: no delivery "
		       "instructions for the alias", file);
	else if (!any)
		deliver_default(dl, o);
out:
	str_free(&text);
	free(file);
}
