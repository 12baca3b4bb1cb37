/* reformime-dsn.c: reformime -d/-D, the recipients and actions of a
 * delivery status notification (RFC 3464), as Courier's reformime lists
 * them (see reformime.h). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "str.h"
#include "rfc822-header.h"
#include "reformime.h"

struct dsn_group {
	const char *block;	/* the group's bytes */
	char *action, *final, *original;
};

/* The raw value of a field: unfolded, leading blanks dropped, trailing
 * ones kept (as Courier's reformime prints them). */
static char *dsn_value(const char *raw, size_t size)
{
	const char *colon = memchr(raw, ':', size);
	struct str s;
	char *v;
	size_t n, k;

	str_init(&s, size + 1);
	if (colon != NULL) {
		colon++;
		rfc822_header_unfold(&s, colon, size - (size_t)(colon - raw));
	}
	v = str_steal(&s);
	n = strlen(v);
	while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r'))
		v[--n] = '\0';
	k = strspn(v, " \t");
	memmove(v, v + k, n - k + 1);
	return v;
}

static void dsn_field(const struct rfc822_header_field *f, void *context)
{
	struct dsn_group *g = context;
	char **dest = NULL;

	if (f->broken)
		return;
	if (f->name_len == 6 && strncasecmp(f->name, "action", 6) == 0)
		dest = &g->action;
	else if (f->name_len == 15 &&
		 strncasecmp(f->name, "final-recipient", 15) == 0)
		dest = &g->final;
	else if (f->name_len == 18 &&
		 strncasecmp(f->name, "original-recipient", 18) == 0)
		dest = &g->original;
	if (dest == NULL || *dest != NULL)
		return;	/* the first of each counts */
	*dest = dsn_value(g->block + f->offset, (size_t)f->size);
}

/* An "rfc822;address" value: the address without the blanks before it. */
static const char *dsn_address(const char *v)
{
	if (v == NULL || strncasecmp(v, "rfc822;", 7) != 0)
		return NULL;
	v += 7;
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

static void dsn_group_end(struct dsn_group *g, bool original, FILE *out)
{
	const char *addr = NULL;

	if (original)
		addr = dsn_address(g->original);
	if (addr == NULL)
		addr = dsn_address(g->final);
	if (g->action != NULL && addr != NULL) {
		str_lcase(g->action);
		fprintf(out, "%s %s\n", g->action, addr);
	}
	free(g->action);
	free(g->final);
	free(g->original);
	g->action = g->final = g->original = NULL;
}

int reformime_dsn(const struct mime_part *root, reformime_read_t *read,
		  void *context, bool original, FILE *out)
{
	const struct mime_part *ds;
	const char *rt = mime_part_param(root, "report-type");
	struct rfc822_header_parser *hp;
	struct dsn_group g;
	char *body;
	size_t size, pos = 0, got = 0;

	if ((root->flags & MIME_PART_FLAG_MULTIPART) == 0 ||
	    strcmp(root->subtype, "report") != 0 || rt == NULL ||
	    strcasecmp(rt, "delivery-status") != 0)
		return 1;
	ds = root->children != NULL ? root->children->next : NULL;
	if (ds == NULL || strcmp(ds->type, "message") != 0 ||
	    strcmp(ds->subtype, "delivery-status") != 0)
		return 1;
	size = ds->end_offset - ds->body_offset > REFORMIME_DSN_MAX_SIZE ?
		REFORMIME_DSN_MAX_SIZE :
		(size_t)(ds->end_offset - ds->body_offset);
	body = xmalloc(size + 1);
	while (got < size) {
		size_t n = read(context, ds->body_offset + got, body + got,
				size - got);

		if (n == 0)
			break;
		got += n;
	}
	size = got;
	/* as Courier's, a last line without a line end (the one before the
	 * closing boundary) is not read */
	while (size > 0 && body[size - 1] != '\n')
		size--;
	memset(&g, 0, sizeof(g));
	hp = rfc822_header_parser_create(NULL);
	while (pos < size) {
		size_t consumed;

		g.block = body + pos;
		if (rfc822_header_parser_feed(hp, body + pos, size - pos,
					      &consumed, dsn_field, &g) == 0) {
			rfc822_header_parser_finish(hp, dsn_field, &g);
			dsn_group_end(&g, original, out);
			break;
		}
		if (consumed == 0)
			consumed = 1;
		pos += consumed;
		dsn_group_end(&g, original, out);
		rfc822_header_parser_reset(hp);
	}
	rfc822_header_parser_destroy(&hp);
	free(body);
	return 0;
}
