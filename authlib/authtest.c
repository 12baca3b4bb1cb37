/* authtest.c: asks authdaemond about an account, as Courier's authtest:
 *
 *	authtest [-s service] [-r remote-ip] user [password [newpassword]]
 *
 * With a user only: looks it up (PRE); with a password: logs in (AUTH);
 * with a new password too: logs in, then changes the password.  Prints
 * the record, or why it failed.  Exit status 0 success, 1 rejected, 2
 * usage, 75 temporary failure. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authclient.h"
#include "log.h"
#include "str.h"

static const char *or_none(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "(none)";
}

static void print_record(const struct auth_record *rec)
{
	struct str maildir;

	str_init(&maildir, 64);
	auth_record_maildir(rec, &maildir);
	printf("Authentication succeeded.\n\n");
	printf("     Authenticated: %s", rec->address);
	if (rec->has_uid)
		printf("  (uid %lu, gid %lu)", (unsigned long)rec->uid,
			(unsigned long)rec->gid);
	if (rec->sysusername != NULL)
		printf("  (system user %s)", rec->sysusername);
	printf("\n");
	printf("    Home Directory: %s\n", or_none(rec->home));
	printf("           Maildir: %s\n", str_c(&maildir));
	printf("             Quota: %s\n", or_none(rec->quota));
	printf("Encrypted Password: %s\n", or_none(rec->passwd));
	printf("Cleartext Password: %s\n", or_none(rec->clearpasswd));
	printf("           Options: %s\n", or_none(rec->options));
	str_free(&maildir);
}

int main(int argc, char **argv)
{
	const char *service = "login", *remote_ip = NULL, *error = "";
	struct auth_record rec;
	int opt, r;

	log_init("authtest", LOG_TARGET_STDERR);
	while ((opt = getopt(argc, argv, "s:r:")) != -1) {
		switch (opt) {
		case 's':
			service = optarg;
			break;
		case 'r':
			remote_ip = optarg;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 3)
		goto usage;

	if (argc == 1)
		r = auth_lookup(service, argv[0], &rec, &error);
	else
		r = auth_login(
			service, argv[0], argv[1], remote_ip, &rec, &error);
	if (r <= 0) {
		printf("Authentication FAILED: %s\n",
			r == 0 ? "Operation not permitted"
			       : "Input/output error (temporary failure)");
		fprintf(stderr, "authtest: %s\n", error);
		return r == 0 ? 1 : 75;
	}
	print_record(&rec);
	auth_record_free(&rec);
	if (argc == 3) {
		r = auth_passwd(service, argv[0], argv[1], argv[2], &error);
		if (r <= 0) {
			printf("Password change failed.\n");
			fprintf(stderr, "authtest: %s\n", error);
			return r == 0 ? 1 : 75;
		}
		printf("Password change succeeded.\n");
	}
	return 0;
usage:
	fprintf(stderr, "usage: authtest [-s service] [-r remote-ip] [--] user "
			"[password [newpassword]]\n");
	return 2;
}
