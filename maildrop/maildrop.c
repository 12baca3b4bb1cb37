/* maildrop.c: the maildrop mail filter and delivery agent (maildrop(1)).
 *
 * maildrop [-a] [-d user] [-f sender] [-A "Header: value"] [-V n]
 *          [-w percent [-W warnfile]] [-D uid/gid] [-m | -M filter]
 *          [filter [args]]
 *
 * Embedded mode (-m FILE, or -M NAME for $HOME/.mailfilters/NAME of the
 * -d user) runs a filter that may only look at the message and answer
 * with echo and EXITCODE (Courier's localmailfilter(7)): no delivery, no
 * commands, no default mailbox.
 *
 * Reads the message from standard input, sets the system variables, and
 * runs the filter file given (manual mode), or with -d (delivery mode)
 * the instance's etc/maildroprc and then $HOME/.mailfilter of the user,
 * as that user in their home folder.  With no filter it delivers to
 * $DEFAULT.  Exit codes are sysexits: 0 delivered, 75 (EX_TEMPFAIL) for a
 * failed delivery or any error that leaves the message undelivered (the
 * MTA keeps it and tries again), 67 for an unknown user, 64 for a bad
 * command line; or EXITCODE as the filter set it. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth-record.h"
#include "authclient.h"
#include "instance.h"
#include "mdeval.h"
#include "mdmsg.h"
#include "mem.h"
#include "str.h"

extern char **environ;

/* Whether main() frees everything before it exits: only where a leak
 * checker looks (AddressSanitizer builds, or MAILDROP_FREE_AT_EXIT).
 * Otherwise the parse trees, compiled patterns, variables and message
 * stay reachable from these two until exit() (a tenth of a delivery's
 * instructions went to freeing them one by one). */
#if defined(__SANITIZE_ADDRESS__) && !defined(MAILDROP_FREE_AT_EXIT)
#define MAILDROP_FREE_AT_EXIT 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(MAILDROP_FREE_AT_EXIT)
#define MAILDROP_FREE_AT_EXIT 1
#endif
#endif
#ifndef MAILDROP_FREE_AT_EXIT
static struct md_interp *maildrop_interp;
static struct md_message *maildrop_msg;
#endif

#define EX_USAGE_ 64
#define EX_NOUSER_ 67

static void tempfail(const char *msg) __attribute__((noreturn));

static void usage(void)
{
	fprintf(stderr,
		"Usage: maildrop [-a] [-d user] [-f sender] [-A \"Header: value\"] "
		"[-V level] [-w percent [-W file]] [-m | -M filter] "
		"[filterfile [arg...]]\n");
	exit(EX_USAGE_);
}

/* -M name: no '/' at the start, no '.' anywhere. */
static bool embedded_name_ok(const char *name)
{
	return *name != '\0' && *name != '/' && strchr(name, '.') == NULL;
}

/* The file -M name runs in $HOME/.mailfilters: name, then name with its
 * last "-part" replaced by "-default" (repeatedly), then "default".
 * Both the folder and the file must be the user's with no group or
 * other permissions (maildrop(1); Debian's 2.9.3 does not check).
 * Returns the path (caller frees), NULL when there is no such folder or
 * none of those files (nothing to run: the message is accepted, as by
 * Debian's), or exits. */
static char *embedded_filter_path(const char *name, uid_t uid)
{
	struct stat st;
	char *prefix, *path, *dash;

	if (stat(".mailfilters", &st) < 0) {
		if (errno == ENOENT)
			return NULL;
		tempfail("Unable to open $HOME/.mailfilters.");
	}
	if (!S_ISDIR(st.st_mode))
		tempfail("$HOME/.mailfilters should be a directory.");
	if (st.st_uid != uid || (st.st_mode & 0077) != 0)
		tempfail("Invalid permissions on $HOME/.mailfilters - remove world and group perms.");
	path = xasprintf(".mailfilters/%s", name);
	if (access(path, F_OK) == 0)
		goto found;
	free(path);
	prefix = xstrdup(name);
	while ((dash = strrchr(prefix, '-')) != NULL) {
		*dash = '\0';
		path = xasprintf(".mailfilters/%s-default", prefix);
		if (access(path, F_OK) == 0) {
			free(prefix);
			goto found;
		}
		free(path);
	}
	free(prefix);
	path = xstrdup(".mailfilters/default");
found:
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			tempfail("Unable to open filter file.");
		free(path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
		tempfail("mailfilter file isn't a regular file.");
	if (st.st_uid != uid || (st.st_mode & 0077) != 0)
		tempfail("Invalid permissions on the embedded filter file - remove world and group perms.");
	return path;
}

static void tempfail(const char *msg)
{
	fprintf(stderr, "maildrop: %s\n", msg);
	exit(MD_EX_TEMPFAIL);
}

static void on_alarm(int sig)
{
	static const char msg[] = "maildrop: Timeout quota exceeded.\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* exiting anyway */
	}
	_exit(MD_EX_TEMPFAIL);
}

/* Adds -A headers at the top of the message. */
static void add_headers(struct md_message *msg, char **headers, size_t n)
{
	struct str s;

	if (n == 0)
		return;
	str_init(&s, str_len(&msg->data) + 256);
	for (size_t i = 0; i < n; i++) {
		str_append(&s, headers[i]);
		str_append_c(&s, '\n');
	}
	str_append_n(&s, str_c(&msg->data), str_len(&msg->data));
	md_message_set(msg, str_c(&s), str_len(&s));
	str_free(&s);
}

/* A filter file must belong to us and must not be writable by others
 * (anyone could make it run commands as us: Debian's maildrop refuses it
 * too); in delivery mode not by the group either. */
static int check_filter_file(const char *path, bool strict, uid_t uid)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (st.st_uid != uid)
		tempfail("mailfilter file is owned by the wrong user.");
	if (strict && (st.st_mode & 0022) != 0)
		tempfail("Cannot have world/group permissions on the filter file - for your own good.");
	if ((st.st_mode & 0002) != 0)
		tempfail("Invalid permissions on the filter file - world-writable.");
	return 1;
}

/* maildropfilter(7), "Environment": every environment variable becomes
 * a maildrop variable, unless maildrop delivers (delivery mode), where
 * only the locale's (LANG, LANGUAGE, LC_*) and COURIER_INSTANCE do.  The
 * variables maildrop resets (HOME, DEFAULT, SHELL, PATH, LOCK*, SENDMAIL,
 * LOGNAME...) are set after this.  Names maildrop could not spell are left out. */
static void import_environment(struct md_interp *it, bool all)
{
	for (char **e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		size_t len = eq != NULL ? (size_t)(eq - *e) : 0;
		bool ok = len > 0;
		char *name;

		for (size_t i = 0; ok && i < len; i++)
			ok = isalnum((unsigned char)(*e)[i]) || (*e)[i] == '_';
		if (!ok)
			continue;
		name = xstrndup(*e, len);
		/* (COURIER_INSTANCE: the suite's programs a filter runs,
		 * sendmail for "!" among them, act for the instance that
		 * delivers) */
		if (all || strcmp(name, "LANG") == 0 ||
		    strcmp(name, "LANGUAGE") == 0 ||
		    strncmp(name, "LC_", 3) == 0 ||
		    strcmp(name, "COURIER_INSTANCE") == 0)
			md_interp_set(it, name, eq + 1);
		free(name);
	}
}

int main(int argc, char **argv)
{
	const char *user = NULL, *sender = NULL, *embedded_name = NULL;
	const char *verbose_opt = NULL, *warn_file = NULL, *ids = NULL;
	bool embedded = false, auth_required = false, manual;
	int warn_percent = 0;
	char **headers = NULL;
	size_t nheaders = 0;
	struct md_message *msg;
	struct md_interp *it;
	struct md_interp_settings settings;
	enum md_run_result r = MD_RUN_END;
	char host[256];
	char *s;
	int opt, code;
	const char *home, *shell;
	struct passwd *pw;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "+d:f:A:V:vD:aw:W:mM:t:")) != -1) {
		switch (opt) {
		case 'd': user = optarg; break;
		case 'f': sender = optarg; break;
		case 'A':
			headers = xreallocarray(headers, nheaders + 1,
						sizeof(*headers));
			headers[nheaders++] = optarg;
			break;
		case 'V': verbose_opt = optarg; break;
		case 'D': ids = optarg; break;
		case 'a': auth_required = true; break;
		case 'w':
			warn_percent = atoi(optarg);
			if (warn_percent < 0 || warn_percent > 100)
				usage();
			break;
		case 'W': warn_file = optarg; break;
		case 'm': embedded = true; break;
		case 'M':
			embedded = true;
			embedded_name = optarg;
			if (!embedded_name_ok(optarg))
				tempfail("Invalid -M option.");
			break;
		case 't':
			fprintf(stderr, "maildrop: -t: Dovecot authentication is not supported by this build.\n");
			return EX_USAGE_;
		case 'v':
			printf("maildrop (courier suite) " PACKAGE_VERSION "\n"
			       "GDBM/DB extensions enabled (LMDB).\n");
			return 0;
		default:
			usage();
		}
	}
	memset(&settings, 0, sizeof(settings));
	settings.embedded = embedded;
	settings.keep_programs = true;
	if (embedded_name != NULL && user == NULL) {
		/* -M implies -d for the invoking user */
		pw = getpwuid(getuid());
		if (pw == NULL)
			tempfail("Unable to find the invoking user.");
		user = xstrdup(pw->pw_name);
	}
	if (embedded && embedded_name == NULL && optind >= argc)
		usage();
	if (ids != NULL) {
		/* Courier's "-D uid/gid": run as those ids */
		unsigned long u, g;
		char *end;

		u = strtoul(ids, &end, 10);
		if (*end != '/' || end == ids)
			usage();
		g = strtoul(end + 1, &end, 10);
		if (*end != '\0')
			usage();
		if (getuid() == 0 && (setgid((gid_t)g) < 0 ||
				      setgroups(0, NULL) < 0 ||
				      setuid((uid_t)u) < 0))
			tempfail("Unable to set the user id.");
	}
	settings.trusted_dir = instance_etc_path("maildroprcs");
	msg = md_message_new();
	if (md_message_read_fd(msg, 0, 256 * 1024 * 1024) < 0)
		tempfail("Unable to read the message.");
	add_headers(msg, headers, nheaders);
	free(headers);

	if (embedded_name != NULL || (user != NULL && !embedded))
		/* no filter file argument: the rest are $1.. */
		it = md_interp_create(msg, &settings, argv + optind,
				      (size_t)(argc - optind));
	else
		it = md_interp_create(msg, &settings, argv + optind + 1,
				      optind < argc ?
				      (size_t)(argc - optind - 1) : 0);
	manual = user == NULL && embedded_name == NULL && optind < argc;
	import_environment(it, manual);
	/* the invoking user's account: manual mode's HOME and LOGNAME, and
	 * SHELL when the environment has none.  Looked up only then: a
	 * passwd lookup reads nsswitch.conf and /etc/passwd (or asks nscd
	 * or a directory), which a -d delivery with SHELL set never needs. */
	shell = getenv("SHELL");
	pw = user == NULL || shell == NULL ? getpwuid(getuid()) : NULL;
	if (user != NULL) {
		struct auth_record rec;
		const char *err;
		int rc;

		memset(&rec, 0, sizeof(rec));
		rc = auth_lookup("courier", user, &rec, &err);
		if (rc > 0) {
			if (rec.has_uid && getuid() == 0) {
				if (setgid(rec.gid) < 0 || setgroups(0, NULL) < 0 ||
				    setuid(rec.uid) < 0)
					tempfail("Unable to set the user id.");
			}
			md_interp_set(it, "HOME", rec.home);
			md_interp_set(it, "LOGNAME", rec.address);
			s = rec.maildir != NULL ? xstrdup(rec.maildir) :
				xasprintf("%s/Maildir", rec.home);
			md_interp_set(it, "DEFAULT", s);
			free(s);
			if (rec.quota != NULL)
				md_interp_set(it, "MAILDIRQUOTA", rec.quota);
			auth_record_free(&rec);
		} else {
			struct passwd *upw;

			if (rc < 0 && auth_required)
				tempfail("Temporary authentication failure.");
			upw = getpwnam(user);

			if (upw == NULL) {
				fprintf(stderr, "maildrop: Invalid user specified.\n");
				return rc < 0 ? MD_EX_TEMPFAIL : EX_NOUSER_;
			}
			if (getuid() == 0 &&
			    (setgid(upw->pw_gid) < 0 ||
			     initgroups(upw->pw_name, upw->pw_gid) < 0 ||
			     setuid(upw->pw_uid) < 0))
				tempfail("Unable to set the user id.");
			md_interp_set(it, "HOME", upw->pw_dir);
			md_interp_set(it, "LOGNAME", upw->pw_name);
			md_interp_set(it, "SHELL", upw->pw_shell);
			s = xasprintf("/var/mail/%s", upw->pw_name);
			md_interp_set(it, "DEFAULT", s);
			free(s);
		}
	} else {
		/* manual mode: the invoking user's account, as Debian does */
		md_interp_set(it, "HOME", pw != NULL ? pw->pw_dir : "/");
		md_interp_set(it, "LOGNAME", pw != NULL ? pw->pw_name : "");
		if (pw != NULL && pw->pw_shell != NULL)
			md_interp_set(it, "SHELL", pw->pw_shell);
		s = xasprintf("/var/mail/%s", md_interp_get(it, "LOGNAME"));
		md_interp_set(it, "DEFAULT", s);
		free(s);
	}
	if (ids != NULL) {
		/* Courier's "-D uid/gid" (Debian's maildrop refuses it): the
		 * MTA runs an account's SMTP-time filter (-M) with the
		 * account's HOME and LOGNAME and the session's SENDER,
		 * RECIPIENT, TCPREMOTEIP... in the environment
		 * (localmailfilter(7)): all of it is imported, and HOME and
		 * LOGNAME are the environment's when set (a virtual
		 * account's home, not the mail store owner's) */
		char *dflt = xstrdup(md_interp_get(it, "DEFAULT"));
		const char *e;

		import_environment(it, true);
		md_interp_set(it, "DEFAULT", dflt);
		free(dflt);
		if ((e = getenv("HOME")) != NULL && *e != '\0')
			md_interp_set(it, "HOME", e);
		if ((e = getenv("LOGNAME")) != NULL && *e != '\0')
			md_interp_set(it, "LOGNAME", e);
	}
	if (*md_interp_get(it, "SHELL") == '\0')
		md_interp_set(it, "SHELL", shell != NULL ? shell :
			      pw != NULL && pw->pw_shell != NULL ? pw->pw_shell :
			      "/bin/sh");
	if (gethostname(host, sizeof(host)) < 0)
		str_copy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	md_interp_set(it, "HOSTNAME", host);
	md_interp_set(it, "PATH", "/bin:/usr/bin:/usr/local/bin");
	md_interp_set(it, "LOCKEXT", ".lock");
	md_interp_set(it, "LOCKSLEEP", "5");
	md_interp_set(it, "LOCKTIMEOUT", "60");
	md_interp_set(it, "LOCKREFRESH", "15");
	/* the suite's sendmail (of the install this maildrop runs from),
	 * as Courier's maildrop runs Courier's: "!" forwards and cc's enter
	 * this mail system's queue */
	char *sendmail = instance_program(1, "bin/sendmail");
	char *sendmail_cmd = xasprintf("%s -oi", sendmail);
	md_interp_set(it, "SENDMAIL", sendmail_cmd);
	free(sendmail_cmd);
	free(sendmail);
	md_interp_set(it, "UMASK", "077");
	umask(077);
	md_interp_set(it, "FROM", sender != NULL ? sender : "MAILER-DAEMON");
	/* with -D and no -f, the environment's SENDER (set by the MTA) */
	md_interp_set(it, "SENDER", sender != NULL ? sender :
		      ids != NULL && getenv("SENDER") != NULL ?
		      getenv("SENDER") : "");
	s = xasprintf("%zu", str_len(&msg->data));
	md_interp_set(it, "SIZE", s);
	free(s);
	s = xasprintf("%lu", msg->line_count);
	md_interp_set(it, "LINES", s);
	free(s);
	if (manual)
		/* reset in manual mode, whatever the environment said */
		md_interp_set(it, "MAILDIRQUOTA", "");
	else if (getenv("MAILDIRQUOTA") != NULL &&
	    *md_interp_get(it, "MAILDIRQUOTA") == '\0')
		md_interp_set(it, "MAILDIRQUOTA", getenv("MAILDIRQUOTA"));
	if (verbose_opt != NULL && user == NULL)
		md_interp_set(it, "VERBOSE", verbose_opt);
	if (warn_percent > 0) {
		char *wf = warn_file != NULL ? xstrdup(warn_file) :
			instance_etc_path("quotawarnmsg");

		md_interp_set_quota_warning(it, warn_percent, wf);
		free(wf);
	}
	if (atoi(md_interp_get(it, "VERBOSE")) >= 2)
		fprintf(stderr, "Message envelope sender=%s\n",
			md_interp_get(it, "FROM"));
	signal(SIGALRM, on_alarm);
	alarm(300);

	if (embedded_name != NULL) {
		char *path;

		home = md_interp_get(it, "HOME");
		if (chdir(home) < 0)
			tempfail("Unable to change to home directory.");
		path = embedded_filter_path(embedded_name, getuid());
		if (path != NULL) {
			md_interp_set(it, "MAILFILTER", path);
			r = md_interp_run_file(it, path);
			free(path);
		}
	} else if (user != NULL && !embedded) {
		struct stat st;
		char *rc_path = instance_etc_path("maildroprc");

		home = md_interp_get(it, "HOME");
		if (chdir(home) < 0)
			tempfail("Unable to change to home directory.");
		if (stat(".", &st) == 0 && (st.st_mode & S_ISVTX) != 0)
			tempfail("Account's home directory has the sticky bit set: delivery deferred.");
		md_interp_set(it, "MAILFILTER", ".mailfilter");
		if (access(rc_path, F_OK) == 0)
			r = md_interp_run_file(it, rc_path);
		free(rc_path);
		if (r == MD_RUN_END &&
		    check_filter_file(".mailfilter", true, getuid()) > 0)
			r = md_interp_run_file(it, ".mailfilter");
	} else if (optind < argc) {
		const char *file = argv[optind];

		md_interp_set(it, "MAILFILTER", file);
		if (check_filter_file(file, false, getuid()) == 0)
			tempfail("Unable to open filter file, errno=2.");
		r = md_interp_run_file(it, file);
	}
	code = md_interp_finish(it, r);
#ifdef MAILDROP_FREE_AT_EXIT
	md_interp_destroy(&it);
	free((char *)settings.trusted_dir);
	md_message_free(&msg);
#else
	/* exit() frees the rest; the log file and database close now */
	md_interp_close(it);
	maildrop_interp = it;
	maildrop_msg = msg;
#endif
	fflush(stdout);
	return code;
}
