/* userdbpw.c: reads a password and prints its hash for userdb, as
 * Courier's userdbpw:
 *
 *	userdbpw [-md5 | -hmac-md5 | -scheme NAME]
 *
 * Default: the strongest scheme this libcrypt has (yescrypt, else SHA-512
 * crypt).  -md5 gives MD5-crypt ($1$); -hmac-md5 the precomputed CRAM-MD5
 * key for the hmac-md5pw field; -scheme any passwd.h scheme name.  On a
 * terminal the password is asked twice without echo; otherwise the first
 * line of standard input is read. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "passwd.h"
#include "secure.h"

static int read_password(const char *prompt, char *buf, size_t size)
{
	struct termios old, noecho;
	bool tty = isatty(0) && tcgetattr(0, &old) == 0;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &noecho);
	}
	char *r = fgets(buf, (int)size, stdin);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (r == NULL)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	enum passwd_scheme scheme = PASSWD_SCHEME_DEFAULT;
	bool hmac = false;
	char pw[1025], again[1025];
	const char *error;
	struct str out;
	int ret = 1;

	log_init("userdbpw", LOG_TARGET_STDERR);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-md5") == 0) {
			scheme = PASSWD_SCHEME_MD5_CRYPT;
		} else if (strcmp(argv[i], "-hmac-md5") == 0) {
			hmac = true;
		} else if (strcmp(argv[i], "-scheme") == 0 && i + 1 < argc &&
			   passwd_scheme_from_name(argv[i + 1], &scheme) == 0) {
			i++;
		} else {
			fprintf(stderr, "usage: userdbpw [-md5 | -hmac-md5 | "
					"-scheme NAME]\n");
			return 2;
		}
	}
	if (read_password("Password: ", pw, sizeof(pw)) < 0) {
		fprintf(stderr, "userdbpw: no password\n");
		return 1;
	}
	if (isatty(0)) {
		if (read_password("Reenter password: ", again, sizeof(again)) <
				0 ||
			strcmp(pw, again) != 0) {
			fprintf(stderr, "userdbpw: passwords do not match\n");
			goto out;
		}
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "userdbpw: empty password\n");
		goto out;
	}
	str_init(&out, 128);
	if (hmac) {
		hmac_md5_precompute_hex(&out, pw, strlen(pw));
	} else if (passwd_hash(pw, scheme, &out, &error) < 0) {
		fprintf(stderr, "userdbpw: %s\n", error);
		str_free(&out);
		goto out;
	}
	printf("%s\n", str_c(&out));
	str_free(&out);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	secure_wipe(pw, sizeof(pw));
	secure_wipe(again, sizeof(again));
	return ret;
}
