/* mailfilterexec.c: runs an account's SMTP-time mail filter (Courier's
 * localmailfilter(7)) as that account, on behalf of esmtpd.
 *
 *   mailfilterexec [-t seconds] [-s sender] [-r recipient] [-i remote-ip]
 *                  account filter
 *   mailfilterexec [same options] -a filter
 *
 * -a: the filter of an alias (Courier's aliasfilteracct): the account is
 * the owner of the folder etc/aliasfilteracct names (its home; the
 * owner's primary group from the passwd database), and
 * filter is "rcptfilter-alias-ADDRESS" or "smtpfilter-alias-ADDRESS".
 * filter is "rcptfilter" or "smtpfilter", optionally "-EXT".  The
 * message (smtpfilter) is on standard input; the filter's output goes
 * to standard output; the exit code is one of esmtp-localfilter.h's
 * ESMTP_LMF_EXIT_*: 0 accept, 99 accept and run the content filter, 1
 * refused, 75 temporary failure (the filter's own, a timeout, or any
 * failure here), 3 no filter (no etc/maildropfilter, no account, no
 * $HOME/.mailfilters, no file for the name), 2 bad command line.
 *
 * esmtpd runs as the queue user; this helper is installed setuid root,
 * executable by the queue group only (mode 4750, root:queue group).  It
 * trusts nothing from its caller but the account name and the filter
 * name, both checked: the environment is dropped (COURIER_INSTANCE is
 * kept only when it and its etc/ are root's all the way up, as submit
 * does), the program comes from the instance's etc/maildropfilter, the
 * account is looked up through authlib, and the filter runs with the
 * account's uid and gid only (never root: an account with uid 0 is
 * refused), in its home, as "maildrop -f sender -m .mailfilters/FILE"
 * where FILE is what "maildrop -M filter" would pick (filter, its
 * "-default" forms, "default") after the same permission checks; -m so
 * that maildrop, running as the account, needs no authlib lookup (the
 * accounts cannot reach authdaemond's socket).  The filter's environment
 * holds SENDER, RECIPIENT, TCPREMOTEIP, HOME, PATH, SHELL and a trusted
 * COURIER_INSTANCE, nothing else.  Not setuid (a test instance,
 * everything one uid), it runs a filter only for accounts of its own
 * uid.  The filter is killed (with its process group) after the
 * timeout. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth-record.h"
#include "authclient.h"
#include "config-file.h"
#include "esmtp-localfilter.h"
#include "log.h"
#include "maildropfilter.h"
#include "mem.h"

#define MAX_ADDRESS 1024

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: mailfilterexec [-t seconds] [-s sender] "
		"[-r recipient] [-i remote-ip] {account | -a} filter\n");
	exit(ESMTP_LMF_EXIT_USAGE);
}

/* No control bytes (they go into the filter's environment; 8-bit bytes
 * are fine: SMTPUTF8 addresses and logins), at most max bytes. */
static bool printable(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || n >= max)
			return false;
	}
	return true;
}

/* "rcptfilter" or "smtpfilter", then optionally "-" and a name maildrop
 * -M takes (no '/' or '.'). */
static bool filter_name_ok(const char *name)
{
	const char *rest;

	if (strncmp(name, "rcptfilter", 10) == 0 ||
	    strncmp(name, "smtpfilter", 10) == 0)
		rest = name + 10;
	else
		return false;
	if (*rest == '\0')
		return true;
	if (*rest != '-' || rest[1] == '\0' || strlen(rest) > 200)
		return false;
	for (const char *p = rest + 1; *p != '\0'; p++) {
		if (*p == '/' || *p == '.' || !isgraph((unsigned char)*p))
			return false;
	}
	return true;
}

static bool ip_ok(const char *ip)
{
	if (*ip == '\0' || strlen(ip) > 64)
		return false;
	for (const char *p = ip; *p != '\0'; p++) {
		/* IPv4, IPv6, an IPv6 zone ("fe80::1%eth0") */
		if (!isalnum((unsigned char)*p) && *p != ':' && *p != '.' &&
		    *p != '%')
			return false;
	}
	return true;
}

/* Every folder from path up to / is root's and writable by no one else
 * (above path, a root-owned sticky folder such as /tmp is fine: nobody
 * else may rename what root made in it). */
static bool root_owned_chain(const char *path)
{
	char *p = realpath(path, NULL), *slash;
	bool ok = p != NULL, first = true;
	struct stat st;

	while (ok) {
		if (stat(p, &st) < 0 || st.st_uid != 0 ||
		    ((st.st_mode & 0022) != 0 &&
		     (first || (st.st_mode & S_ISVTX) == 0))) {
			ok = false;
			break;
		}
		first = false;
		slash = strrchr(p, '/');
		if (slash == NULL || slash == p) {
			ok = stat("/", &st) == 0 && st.st_uid == 0 &&
			     (st.st_mode & 0022) == 0;
			break;
		}
		*slash = '\0';
	}
	free(p);
	return ok;
}

/* Setuid: the caller's environment goes, but a root-owned instance. */
static char *trusted_instance(bool privileged)
{
	const char *root = getenv("COURIER_INSTANCE");
	char *etc, *keep = NULL;

	if (root == NULL || *root == '\0' || strlen(root) > PATH_MAX)
		return NULL;
	if (!privileged)
		return xstrdup(root);
	etc = xasprintf("%s/etc", root);
	if (root_owned_chain(root) && root_owned_chain(etc))
		keep = xstrdup(root);
	else
		log_warning("COURIER_INSTANCE %s is not root's: ignored", root);
	free(etc);
	return keep;
}

/* Setuid, the files that say what runs as whom must be root's and
 * writable by no one else (etc/maildropfilter, etc/aliasfilteracct, the
 * maildrop program): else the queue user could pick a program to run
 * as any account.  true when path may be trusted. */
static bool trusted_file(const char *path, bool privileged)
{
	struct stat st;

	if (!privileged)
		return true;
	if (stat(path, &st) < 0 || st.st_uid != 0 ||
	    (st.st_mode & 0022) != 0) {
		log_error("%s is not root's, or others may write it: "
			  "not trusted", path);
		return false;
	}
	return true;
}

/* The file of $HOME/.mailfilters (the current folder's) that maildrop
 * -M name would run: name, name with its last "-part" replaced by
 * "-default" (repeatedly), "default".  1 with *path_r (caller frees),
 * 0 when there is none, -1 on an error (errno). */
static int filter_find(const char *name, char **path_r)
{
	struct stat st;
	char *prefix, *path, *dash;

	*path_r = NULL;
	if (stat(".mailfilters", &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
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
	if (access(path, F_OK) < 0) {
		free(path);
		return 0;
	}
found:
	*path_r = path;
	return 1;
}

/* maildrop -M's rules: the folder and the file are the account's, with
 * no group or other permissions.  NULL when right, else why not. */
static const char *filter_perms(const char *path, uid_t uid)
{
	struct stat st;

	if (stat(".mailfilters", &st) < 0 || st.st_uid != uid ||
	    (st.st_mode & 0077) != 0)
		return "Invalid permissions on $HOME/.mailfilters - remove "
		       "world and group perms.";
	if (stat(path, &st) < 0 || st.st_uid != uid ||
	    (st.st_mode & 0077) != 0 || !S_ISREG(st.st_mode))
		return "Invalid permissions on the embedded filter file - "
		       "remove world and group perms.";
	return NULL;
}

/* -a: the home etc/aliasfilteracct names and its owner, as an account
 * record.  1, 0 when the file does not exist (no alias filtering), -1
 * when it is unusable (logged). */
static int alias_account(struct auth_record *rec)
{
	char *path = config_path("aliasfilteracct"), *home;
	struct passwd *pw;
	struct stat st;

	if (access(path, F_OK) < 0) {
		free(path);
		return 0;
	}
	free(path);
	home = config_read_first_line("aliasfilteracct", NULL);
	if (home == NULL || home[0] != '/' || stat(home, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		log_error("aliasfilteracct: not a folder: %s",
			  home != NULL ? home : "(empty)");
		free(home);
		return -1;
	}
	/* the owner's own group, not the folder's: a home may be the
	 * queue group's (searchable by esmtpd), which a filter must not
	 * get */
	pw = getpwuid(st.st_uid);
	if (pw == NULL) {
		log_error("aliasfilteracct: %s: its owner %lu is no user",
			  home, (unsigned long)st.st_uid);
		free(home);
		return -1;
	}
	rec->address = xstrdup("aliasfilteracct");
	rec->home = home;
	rec->has_uid = true;
	rec->uid = st.st_uid;
	rec->gid = pw->pw_gid;
	return 1;
}

/* Becomes uid/gid for good (from root), or checks that we are them. */
static int become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return getuid() == uid && geteuid() == uid ? 0 : -1;
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -1;
	/* no way back */
	if (getuid() != uid || geteuid() != uid || getegid() != gid ||
	    setuid(0) == 0)
		return -1;
	return 0;
}

static char *env_entry(const char *name, const char *value)
{
	return xasprintf("%s=%s", name, value != NULL ? value : "");
}

int main(int argc, char **argv)
{
	const char *sender = "", *recipient = "", *ip = NULL;
	const char *account, *filter;
	unsigned long timeout = ESMTP_LMF_DEFAULT_TIMEOUT;
	bool privileged = geteuid() != getuid() || getegid() != getgid();
	bool alias = false;
	char *instance, *program, *env[10], *end, *file = NULL;
	const char *bad;
	struct auth_record rec;
	struct sigaction sa;
	const char *error = "";
	size_t n = 0;
	int opt, r, wstatus;
	pid_t pid;

	log_init("mailfilterexec", LOG_TARGET_STDERR);
	instance = trusted_instance(privileged);
	if (clearenv() != 0)
		return ESMTP_LMF_EXIT_TEMPFAIL;
	if (instance != NULL)
		setenv("COURIER_INSTANCE", instance, 1);
	while ((opt = getopt(argc, argv, "+at:s:r:i:")) != -1) {
		switch (opt) {
		case 't':
			errno = 0;
			timeout = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || timeout == 0 ||
			    timeout > ESMTP_LMF_MAX_TIMEOUT)
				usage();
			break;
		case 's': sender = optarg; break;
		case 'r': recipient = optarg; break;
		case 'i': ip = optarg; break;
		case 'a': alias = true; break;
		default: usage();
		}
	}
	if (argc - optind != (alias ? 1 : 2))
		usage();
	account = alias ? "aliasfilteracct" : argv[optind];
	filter = argv[argc - 1];
	if (*account == '\0' || !printable(account, AUTH_MAX_USER_LEN) ||
	    !filter_name_ok(filter) || !printable(sender, MAX_ADDRESS) ||
	    !printable(recipient, MAX_ADDRESS) || (ip != NULL && !ip_ok(ip)))
		usage();
	/* filter_name_ok(): at least 10 bytes */
	if (alias && strncmp(filter + 10, "-alias-", 7) != 0)
		usage();

	/* PREFIX/libexec/courier/mailfilterexec */
	program = maildropfilter_program(2);
	if (program == NULL)
		return ESMTP_LMF_EXIT_NOFILTER;
	{
		char *mf = config_path("maildropfilter");
		char *af = config_path("aliasfilteracct");
		bool ok = trusted_file(mf, privileged) &&
			  trusted_file(program, privileged) &&
			  (!alias || access(af, F_OK) < 0 ||
			   trusted_file(af, privileged));

		free(mf);
		free(af);
		if (!ok)
			return ESMTP_LMF_EXIT_TEMPFAIL;
	}
	auth_record_init(&rec);
	if (alias)
		r = alias_account(&rec);
	else
		r = auth_lookup("courier", account, &rec, &error);
	if (r < 0) {
		log_error("%s: authlib: %s", account, error);
		return ESMTP_LMF_EXIT_TEMPFAIL;
	}
	if (r == 0)
		return ESMTP_LMF_EXIT_NOFILTER;
	if (!rec.has_uid || rec.uid == 0 || rec.home == NULL ||
	    rec.home[0] != '/') {
		log_error("%s: no uid, uid 0 or no home: no filter is run "
			  "for it", account);
		return ESMTP_LMF_EXIT_TEMPFAIL;
	}
	if (become(rec.uid, rec.gid) < 0) {
		log_error("%s: cannot run as uid %lu gid %lu (this helper "
			  "must be setuid root, or run as that uid)", account,
			  (unsigned long)rec.uid, (unsigned long)rec.gid);
		return ESMTP_LMF_EXIT_TEMPFAIL;
	}
	if (chdir(rec.home) < 0) {
		log_error("%s: %s: %s", account, rec.home, strerror(errno));
		return ESMTP_LMF_EXIT_TEMPFAIL;
	}
	r = filter_find(filter, &file);
	if (r < 0) {
		log_error("%s: %s/.mailfilters: %s", account, rec.home,
			  strerror(errno));
		return ESMTP_LMF_EXIT_TEMPFAIL;
	}
	if (r == 0)
		return ESMTP_LMF_EXIT_NOFILTER;
	bad = filter_perms(file, rec.uid);
	if (bad != NULL) {
		/* the account's mistake: said to the client as well */
		log_error("%s: %s", account, bad);
		printf("451 4.7.1 %s\n", bad);
		return ESMTP_LMF_EXIT_TEMPFAIL;
	}

	env[n++] = env_entry("SENDER", sender);
	env[n++] = env_entry("RECIPIENT", recipient);
	if (ip != NULL)
		env[n++] = env_entry("TCPREMOTEIP", ip);
	env[n++] = env_entry("HOME", rec.home);
	env[n++] = env_entry("PATH", "/usr/bin:/bin");
	env[n++] = env_entry("SHELL", "/bin/sh");
	if (instance != NULL)
		env[n++] = env_entry("COURIER_INSTANCE", instance);
	env[n] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return ESMTP_LMF_EXIT_TEMPFAIL;
	}
	if (pid == 0) {
		char *args[] = { program, (char *)"-f", (char *)sender,
				 (char *)"-m", file, NULL };

		(void)setpgid(0, 0);
		execve(program, args, env);
		fprintf(stderr, "mailfilterexec: %s: %s\n", program,
			strerror(errno));
		_exit(ESMTP_LMF_EXIT_TEMPFAIL);
	}
	(void)setpgid(pid, pid);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: waitpid returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned int)timeout);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			log_error("waitpid: %s", strerror(errno));
			return ESMTP_LMF_EXIT_TEMPFAIL;
		}
		if (timed_out) {
			log_error("%s: %s ran longer than %lu s: killed",
				  account, filter, timeout);
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
				;
			return ESMTP_LMF_EXIT_TEMPFAIL;
		}
	}
	alarm(0);
	if (!WIFEXITED(wstatus)) {
		log_error("%s: %s killed by signal %d", account, filter,
			  WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
		return ESMTP_LMF_EXIT_TEMPFAIL;
	}
	switch (WEXITSTATUS(wstatus)) {
	case ESMTP_LMF_EXIT_ACCEPT:
	case ESMTP_LMF_EXIT_CONTENT:
	case ESMTP_LMF_EXIT_TEMPFAIL:
		return WEXITSTATUS(wstatus);
	default:
		return ESMTP_LMF_EXIT_REJECT;
	}
}
