/* pw2userdb.c: prints userdb lines for the accounts of /etc/passwd (with
 * their /etc/shadow passwords when readable), as Courier's pw2userdb:
 *
 *	pw2userdb [--passwd=FILE] [--shadow=FILE] [--noshadow]
 *
 * Each account gives "name<TAB>uid=..|gid=..|home=..|shell=..|systempw=..
 * |gecos=.." and a reverse record "UID=<TAB>name".  Fields that would hold
 * a '|' are left out (the userdb format cannot carry them). */
#include "config.h"
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "str.h"

static void field(struct str *line, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0' || strchr(value, '|') != NULL ||
		strpbrk(value, "\r\n") != NULL)
		return;
	str_printfa(line, "|%s=%s", name, value);
}

static char *shadow_password(FILE *sf, const char *name)
{
	struct spwd *sp;

	if (sf == NULL)
		return NULL;
	rewind(sf);
	while ((sp = fgetspent(sf)) != NULL) {
		if (strcmp(sp->sp_namp, name) == 0)
			return xstrdup(sp->sp_pwdp);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *passwd_file = "/etc/passwd", *shadow_file = "/etc/shadow";
	bool use_shadow = true;
	struct passwd *pw;
	struct str line;
	FILE *pf, *sf = NULL;

	log_init("pw2userdb", LOG_TARGET_STDERR);
	for (int i = 1; i < argc; i++) {
		if (str_begins_with(argv[i], "--passwd="))
			passwd_file = argv[i] + 9;
		else if (str_begins_with(argv[i], "--shadow="))
			shadow_file = argv[i] + 9;
		else if (strcmp(argv[i], "--noshadow") == 0)
			use_shadow = false;
		else {
			fprintf(stderr, "usage: pw2userdb [--passwd=FILE] "
					"[--shadow=FILE] [--noshadow]\n");
			return 2;
		}
	}
	pf = fopen(passwd_file, "r");
	if (pf == NULL) {
		perror(passwd_file);
		return 1;
	}
	if (use_shadow)
		sf = fopen(shadow_file, "r");
	str_init(&line, 256);
	while ((pw = fgetpwent(pf)) != NULL) {
		if (strpbrk(pw->pw_name, " \t|") != NULL)
			continue;
		char *spw = shadow_password(sf, pw->pw_name);
		const char *hash = spw != NULL ? spw : pw->pw_passwd;
		str_clear(&line);
		str_printfa(&line, "%s\tuid=%lu|gid=%lu", pw->pw_name,
			(unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid);
		field(&line, "home", pw->pw_dir);
		field(&line, "shell", pw->pw_shell);
		if (hash != NULL && strcmp(hash, "x") != 0)
			field(&line, "systempw", hash);
		field(&line, "gecos", pw->pw_gecos);
		printf("%s\n%lu=\t%s\n", str_c(&line),
			(unsigned long)pw->pw_uid, pw->pw_name);
		free(spw);
	}
	str_free(&line);
	fclose(pf);
	if (sf != NULL)
		fclose(sf);
	return fflush(stdout) == 0 ? 0 : 1;
}
