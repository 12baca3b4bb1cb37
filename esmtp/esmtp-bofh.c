/* esmtp-bofh.c: the bofh control file and its address checks (see
 * esmtp-bofh.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-file.h"
#include "esmtp-access.h"
#include "esmtp-bofh.h"
#include "log.h"
#include "mem.h"
#include "str.h"

struct bofh_reader {
	struct esmtp_bofh *b;
	esmtp_bofh_error_t *error;
	void *context;
};

static void bad(struct bofh_reader *r, const char *file, unsigned int line,
		const char *msg)
{
	r->b->bad_lines++;
	if (r->error != NULL)
		r->error(file, line, msg, r->context);
	else
		log_warning("%s:%u: bofh: %s; line ignored", file, line, msg);
}

static void push(char ***list, size_t *count, char *item)
{
	*list = xreallocarray(*list, *count + 2, sizeof(char *));
	(*list)[(*count)++] = item;
	(*list)[*count] = NULL;
}

/* A domain as bofh takes it: letters, digits, '-', '.', '_'. */
static bool domain_ok(const char *d)
{
	if (*d == '\0' || strlen(d) > 255)
		return false;
	for (; *d != '\0'; d++) {
		if (!isalnum((unsigned char)*d) && *d != '-' && *d != '.' &&
		    *d != '_')
			return false;
	}
	return true;
}

static bool parse_uint(const char *s, unsigned long long max,
		       unsigned long long *v_r)
{
	unsigned long long v = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > max)
			return false;
	}
	if (*s != '\0')
		return false;
	*v_r = v;
	return true;
}

static void apply_opt(struct bofh_reader *r, const char *file,
		      unsigned int line, const char *opt)
{
	struct esmtp_bofh *b = r->b;
	const char *eq = strchr(opt, '=');
	unsigned long long v;

	if (eq == NULL || eq == opt) {
		bad(r, file, line, "opt needs NAME=value");
		return;
	}
	for (const char *p = opt; p < eq; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_') {
			bad(r, file, line, "bad opt name");
			return;
		}
	}
	if (str_begins_with_icase(opt, "BOFHCHECKHELO=")) {
		if (!parse_uint(eq + 1, 2, &v)) {
			bad(r, file, line, "BOFHCHECKHELO must be 0, 1 or 2");
			return;
		}
		b->check_helo = (unsigned int)v;
	} else if (str_begins_with_icase(opt, "BOFHHEADERLIMIT=")) {
		if (!parse_uint(eq + 1, 1ULL << 40, &v) || v < 1000) {
			bad(r, file, line, "BOFHHEADERLIMIT must be a number "
					   "of at least 1000");
			return;
		}
		b->header_limit = v;
	} else if (str_begins_with_icase(opt, "BOFHNOBASE64TEXT=")) {
		if (!parse_uint(eq + 1, 1, &v)) {
			bad(r, file, line, "BOFHNOBASE64TEXT must be 0 or 1");
			return;
		}
		b->no_base64_text = v == 1;
	} else if (str_begins_with_icase(opt, "BOFHCHECKDNS=")) {
		if (!parse_uint(eq + 1, 1, &v)) {
			bad(r, file, line, "BOFHCHECKDNS must be 0 or 1");
			return;
		}
		b->check_dns = v == 1;
	}
	if (b->opt_count < ESMTP_BOFH_MAX_ENTRIES) {
		char *copy = xstrdup(opt);

		for (char *p = copy; *p != '='; p++)
			*p = (char)toupper((unsigned char)*p);
		push(&b->opts, &b->opt_count, copy);
	}
}

static void parse_line(struct bofh_reader *r, const char *file,
		       unsigned int lineno, char *line)
{
	struct esmtp_bofh *b = r->b;
	char **w;
	size_t n = 0;

	line = str_trim(line);
	if (*line == '\0' || *line == '#')
		return;
	w = str_split(line, " \t");
	/* str_split keeps empty fields between repeated blanks: drop them */
	for (size_t i = 0; w[i] != NULL; i++) {
		if (*w[i] != '\0')
			w[n++] = w[i];
		else
			free(w[i]);
	}
	w[n] = NULL;
	if (n == 0)
		goto out;
	if (strcasecmp(w[0], "badfrom") == 0) {
		const char *at = n == 2 ? strchr(w[1], '@') : NULL;

		if (at == NULL || strchr(at + 1, '@') != NULL ||
		    !domain_ok(at[1] == '.' ? at + 2 : at + 1)) {
			bad(r, file, lineno, "badfrom needs user@domain, "
				"@domain, @.domain or user@.domain");
			goto out;
		}
		if (b->badfrom_count < ESMTP_BOFH_MAX_ENTRIES)
			push(&b->badfrom, &b->badfrom_count,
			     str_lcase(xstrdup(w[1])));
	} else if (strcasecmp(w[0], "badmx") == 0) {
		unsigned char buf[16];

		if (n != 2 || (inet_pton(AF_INET, w[1], buf) != 1 &&
			       inet_pton(AF_INET6, w[1], buf) != 1)) {
			bad(r, file, lineno, "badmx needs an IP address");
			goto out;
		}
		if (b->badmx_count < ESMTP_BOFH_MAX_ENTRIES)
			push(&b->badmx, &b->badmx_count, xstrdup(w[1]));
	} else if (strcasecmp(w[0], "freemail") == 0) {
		struct esmtp_bofh_freemail f = { NULL, NULL };
		size_t rc = 0;

		if (n < 2) {
			bad(r, file, lineno, "freemail needs a domain");
			goto out;
		}
		for (size_t i = 1; i < n; i++) {
			if (!domain_ok(w[i])) {
				bad(r, file, lineno, "freemail: bad domain");
				goto out;
			}
		}
		f.domain = str_lcase(xstrdup(w[1]));
		for (size_t i = 1; i < n; i++)
			push(&f.relays, &rc, str_lcase(xstrdup(w[i])));
		if (b->freemail_count < ESMTP_BOFH_MAX_ENTRIES) {
			b->freemail = xreallocarray(b->freemail,
						    b->freemail_count + 1,
						    sizeof(*b->freemail));
			b->freemail[b->freemail_count++] = f;
		} else {
			free(f.domain);
			for (size_t i = 0; i < rc; i++)
				free(f.relays[i]);
			free(f.relays);
		}
	} else if (strcasecmp(w[0], "spamtrap") == 0) {
		const char *at = n == 2 ? strchr(w[1], '@') : NULL;

		if (at == NULL || at == w[1] || !domain_ok(at + 1)) {
			bad(r, file, lineno, "spamtrap needs user@domain");
			goto out;
		}
		if (b->spamtrap_count < ESMTP_BOFH_MAX_ENTRIES)
			push(&b->spamtrap, &b->spamtrap_count,
			     str_lcase(xstrdup(w[1])));
	} else if (strcasecmp(w[0], "maxrcpts") == 0) {
		unsigned long long v;

		if ((n != 2 && n != 3) || !parse_uint(w[1], 100000, &v) ||
		    v == 0 || (n == 3 && strcasecmp(w[2], "hard") != 0)) {
			bad(r, file, lineno, "maxrcpts needs N [hard]");
			goto out;
		}
		b->maxrcpts = (unsigned int)v;
		b->maxrcpts_hard = n == 3;
	} else if (strcasecmp(w[0], "opt") == 0) {
		if (n != 2) {
			bad(r, file, lineno, "opt needs NAME=value");
			goto out;
		}
		apply_opt(r, file, lineno, w[1]);
	} else {
		bad(r, file, lineno, "unknown keyword");
	}
out:
	str_split_free(&w);
}

static void bofh_line_cb(void *context, const char *file,
			 unsigned int lineno, char *line)
{
	parse_line(context, file, lineno, line);
}

static void bofh_bad_cb(void *context, const char *file, unsigned int lineno,
			const char *why)
{
	bad(context, file, lineno, why);
}

static void parse_into(struct bofh_reader *r, const char *file,
		       const char *data, size_t size)
{
	esmtp_text_lines(file, data, size, bofh_line_cb, bofh_bad_cb, r);
}

static struct esmtp_bofh *bofh_new(void)
{
	struct esmtp_bofh *b = xcalloc(1, sizeof(*b));

	b->header_limit = ESMTP_BOFH_DEFAULT_HEADERLIMIT;
	return b;
}

struct esmtp_bofh *esmtp_bofh_parse(const char *file, const char *data,
				    size_t size, esmtp_bofh_error_t *error,
				    void *context)
{
	struct bofh_reader r = { bofh_new(), error, context };

	parse_into(&r, file, data, size);
	return r.b;
}

static void bofh_file_cb(const char *path, const char *data, size_t size,
			 void *context)
{
	parse_into(context, path, data, size);
}

struct esmtp_bofh *esmtp_bofh_load(void)
{
	struct bofh_reader r = { bofh_new(), NULL, NULL };

	if (config_read_files("bofh", NULL, bofh_file_cb, &r, NULL) < 0)
		log_error("esmtpd: bofh cannot be read");
	return r.b;
}

static void free_list(char **list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(list[i]);
	free(list);
}

void esmtp_bofh_free(struct esmtp_bofh **bofh)
{
	struct esmtp_bofh *b = *bofh;

	if (b == NULL)
		return;
	free_list(b->badfrom, b->badfrom_count);
	free_list(b->badmx, b->badmx_count);
	free_list(b->spamtrap, b->spamtrap_count);
	free_list(b->opts, b->opt_count);
	for (size_t i = 0; i < b->freemail_count; i++) {
		free(b->freemail[i].domain);
		for (size_t j = 0; b->freemail[i].relays[j] != NULL; j++)
			free(b->freemail[i].relays[j]);
		free(b->freemail[i].relays);
	}
	free(b->freemail);
	free(b);
	*bofh = NULL;
}

const char *esmtp_bofh_opt(const struct esmtp_bofh *bofh, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = bofh->opt_count; i-- > 0;) {
		/* the last setting wins */
		if (strncasecmp(bofh->opts[i], name, n) == 0 &&
		    bofh->opts[i][n] == '=')
			return bofh->opts[i] + n + 1;
	}
	return NULL;
}

bool esmtp_bofh_domain_within(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	if (h == d)
		return strcasecmp(host, domain) == 0;
	return h > d && host[h - d - 1] == '.' &&
	       strcasecmp(host + h - d, domain) == 0;
}

bool esmtp_bofh_badfrom(const struct esmtp_bofh *bofh, const char *address)
{
	const char *at = strrchr(address, '@');

	if (at == NULL)
		return false;
	for (size_t i = 0; i < bofh->badfrom_count; i++) {
		const char *pat = bofh->badfrom[i];
		const char *pat_at = strchr(pat, '@');
		size_t ulen = (size_t)(pat_at - pat);
		const char *dom = at + 1;

		if (ulen > 0 && (ulen != (size_t)(at - address) ||
				 strncasecmp(pat, address, ulen) != 0))
			continue;
		if (pat_at[1] == '.') {
			/* every subdomain (not the domain itself) */
			if (esmtp_bofh_domain_within(dom, pat_at + 2) &&
			    strcasecmp(dom, pat_at + 2) != 0)
				return true;
		} else if (strcasecmp(dom, pat_at + 1) == 0) {
			return true;
		}
	}
	return false;
}

bool esmtp_bofh_spamtrap(const struct esmtp_bofh *bofh, const char *address)
{
	for (size_t i = 0; i < bofh->spamtrap_count; i++) {
		if (strcasecmp(bofh->spamtrap[i], address) == 0)
			return true;
	}
	return false;
}

const struct esmtp_bofh_freemail *
esmtp_bofh_freemail_find(const struct esmtp_bofh *bofh, const char *domain)
{
	for (size_t i = 0; i < bofh->freemail_count; i++) {
		if (strcasecmp(bofh->freemail[i].domain, domain) == 0)
			return &bofh->freemail[i];
	}
	return NULL;
}
