/* mailbot-report.c: the MIME pieces of mailbot(1)'s reports: boundaries,
 * the delivery status (RFC 3464) and feedback report (RFC 5965) parts,
 * the original header as text/rfc822-headers, and the -T replydraft
 * draft from a maildir. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbot.h"
#include "maildir.h"
#include "mem.h"
#include "rfc822-date.h"

char *mailbot_boundary(const char *msg, size_t len)
{
	static unsigned int counter;
	struct str b;

	str_init(&b, 64);
	for (;;) {
		str_clear(&b);
		str_printfa(&b, "=_mailbot-%ld-%lld-%04u", (long)getpid(),
			    (long long)time(NULL), ++counter);
		if (memmem(msg, len, str_c(&b), str_len(&b)) == NULL)
			return str_steal(&b);
	}
}

void mailbot_arrival_date(struct str *out, time_t now)
{
	struct tm tm;
	int tz = 0;

	if (localtime_r(&now, &tm) != NULL)
		tz = (int)(tm.tm_gmtoff / 60);
	str_append(out, "Arrival-Date: ");
	(void)rfc822_date_format(out, now, tz);
	str_append_c(out, '\n');
}

void mailbot_dsn_report(struct str *out, const char *dsn_from, time_t now)
{
	mailbot_arrival_date(out, now);
	str_printfa(out, "\nFinal-Recipient: rfc822; %s\n"
		    "Action: delivered\nStatus: 2.0.0\n", dsn_from);
}

void mailbot_feedback_report(struct str *out, const struct mailbot_opts *o,
			     time_t now)
{
	str_printfa(out, "Feedback-Type: %s\n", o->feedback_type);
	mailbot_arrival_date(out, now);
	str_append(out, "User-Agent: " PACKAGE_NAME " mailbot/" PACKAGE_VERSION
		   "\nVersion: 1\n");
	for (size_t i = 0; i < o->nfeedback; i++) {
		const char *n = o->feedback[i].name;
		char prev = '-';

		/* "original-mail-from" -> "Original-Mail-From" */
		for (; *n != '\0'; n++) {
			char c = *n;

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (prev == '-' && c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			str_append_c(out, c);
			prev = c;
		}
		str_printfa(out, ": %s\n", o->feedback[i].value);
	}
}

void mailbot_headers_part(struct str *out, const struct mailbot_header *h)
{
	str_append(out, "Content-Type: text/rfc822-headers; charset=\"utf-8\"\n"
		   "Content-Disposition: attachment\n"
		   "Content-Transfer-Encoding: 8bit\n\n");
	for (size_t i = 0; i < h->count; i++)
		str_printfa(out, "%s: %s\n", h->fields[i].name,
			    h->fields[i].value);
}

char *mailbot_find_draft(const char *dir)
{
	static const char *const subdirs[] = { "new", "cur" };
	char *best = NULL, *best_name = NULL;
	struct timespec best_time = { 0, 0 };

	for (size_t s = 0; s < N_ELEMENTS(subdirs); s++) {
		char *path = xasprintf("%s/%s", dir, subdirs[s]);
		DIR *d = opendir(path);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			char *file;
			struct stat st;
			bool newer;

			if (de->d_name[0] == '.' ||
			    maildir_name_has_flag(de->d_name, 'T'))
				continue;
			file = xasprintf("%s/%s", path, de->d_name);
			if (stat(file, &st) < 0 || !S_ISREG(st.st_mode)) {
				free(file);
				continue;
			}
			newer = best == NULL ||
				st.st_mtim.tv_sec > best_time.tv_sec ||
				(st.st_mtim.tv_sec == best_time.tv_sec &&
				 strcmp(de->d_name, best_name) < 0);
			if (newer) {
				free(best);
				free(best_name);
				best = file;
				best_name = xstrdup(de->d_name);
				best_time = st.st_mtim;
			} else {
				free(file);
			}
		}
		if (d != NULL)
			closedir(d);
		free(path);
	}
	free(best_name);
	return best;
}
