/* deliverquota.c: delivers standard input to a maildir under its
 * Maildir++ quota (Courier's deliverquota(8)).
 *
 * deliverquota [-c] [-w percent] [-W warnfile] maildir [quota]
 *
 * -c creates the maildir and missing parents; quota (obsolete) sets the
 * maildir's quota first, as maildirmake -q does; -w/-W put a quota
 * warning in the maildir once it is percent full (mddeliver.h).
 * Exit codes: 0 delivered, 77 (EX_NOPERM) over quota, 75 (EX_TEMPFAIL)
 * when the maildir is missing or the delivery failed, 64 usage. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance.h"
#include "maildir-quota.h"
#include "maildir.h"
#include "mddeliver.h"
#include "mdmsg.h"
#include "mem.h"
#include "str.h"

#define EX_USAGE_ 64
#define EX_TEMPFAIL_ 75
#define EX_NOPERM_ 77
#define MAX_MESSAGE (256 * 1024 * 1024)

static void usage(void)
{
	fprintf(stderr, "Usage: deliverquota [-c] [-w percent] [-W file] maildir [quota]\n");
	exit(EX_USAGE_);
}

/* mkdir -p dir, then the maildir in it. */
static int create_maildir(const char *dir)
{
	char *p = xstrdup(dir);
	const char *err;

	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "%s: %s\n", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (maildir_create(dir, &err) < 0) {
		fprintf(stderr, "%s: %s\n", dir, err);
		return -1;
	}
	return 0;
}

static int set_quota(const char *dir, const char *quota)
{
	struct maildir_quota_spec spec;
	struct maildir_quota *q = NULL;
	const char *err;
	int rc;

	if (maildir_quota_spec_parse(quota, strlen(quota), &spec) < 0) {
		fprintf(stderr, "deliverquota: invalid quota: %s\n", quota);
		return -1;
	}
	rc = maildir_quota_open(dir, quota, &q, &err);
	if (rc > 0)
		rc = maildir_quota_recalculate(q, &err);
	maildir_quota_close(&q);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", dir, err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir, *quota = NULL, *warn_file = NULL;
	bool create = false, over = false;
	int opt, percent = 0;
	struct md_message *msg;
	char *err = NULL;
	struct stat st;

	while ((opt = getopt(argc, argv, "cw:W:")) != -1) {
		switch (opt) {
		case 'c': create = true; break;
		case 'w':
			percent = atoi(optarg);
			if (percent < 0 || percent > 100)
				usage();
			break;
		case 'W': warn_file = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || argc - optind > 2)
		usage();
	dir = argv[optind];
	if (argc - optind == 2)
		quota = argv[optind + 1];
	if (create && create_maildir(dir) < 0)
		return EX_TEMPFAIL_;
	if (stat(dir, &st) < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return EX_TEMPFAIL_;
	}
	if (quota != NULL && set_quota(dir, quota) < 0)
		return EX_TEMPFAIL_;

	msg = md_message_new();
	if (md_message_read_fd(msg, 0, MAX_MESSAGE) < 0) {
		fprintf(stderr, "deliverquota: Unable to read the message.\n");
		md_message_free(&msg);
		return EX_TEMPFAIL_;
	}
	if (md_deliver_maildir(dir, str_c(&msg->data), str_len(&msg->data),
			       NULL, NULL, &over, &err) < 0) {
		md_message_free(&msg);
		if (over) {
			fprintf(stderr, "Mail quota exceeded.\n");
			free(err);
			return EX_NOPERM_;
		}
		fprintf(stderr, "deliverquota: %s\n", err);
		free(err);
		return EX_TEMPFAIL_;
	}
	md_message_free(&msg);
	if (percent > 0) {
		char *wf = warn_file != NULL ? xstrdup(warn_file) :
			instance_etc_path("quotawarnmsg");

		if (md_quota_warn(dir, percent, wf, &err) < 0) {
			fprintf(stderr, "deliverquota: %s\n", err);
			free(err);
		}
		free(wf);
	}
	return 0;
}
