/* dkim-sign.c: DKIM signing of a message (see dkim-sign.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim-msg.h"
#include "dkim-sign.h"
#include "hash.h"
#include "mem.h"

struct dkim_sign {
	struct dkim_sign_settings set;
	char *domain, *selector, *identity, *headers;
	struct dkim_msg *msg;
	struct dkim_body_hash *bh;
	bool body_started;
};

struct dkim_sign *dkim_sign_create(const struct dkim_sign_settings *set)
{
	struct dkim_sign *s = xcalloc(1, sizeof(*s));

	s->set = *set;
	s->domain = set->domain != NULL ? xstrdup(set->domain) : NULL;
	s->selector = set->selector != NULL ? xstrdup(set->selector) : NULL;
	s->identity = set->identity != NULL ? xstrdup(set->identity) : NULL;
	s->headers = xstrdup(set->headers != NULL ? set->headers :
			     DKIM_SIGN_DEFAULT_HEADERS);
	s->msg = dkim_msg_create(set->max_header);
	s->bh = dkim_body_hash_create(DKIM_CANON_RELAXED, false, 0);
	return s;
}

void dkim_sign_feed(struct dkim_sign *s, const void *data, size_t len)
{
	const char *p = data;

	if (!s->body_started) {
		size_t used;

		if (dkim_msg_feed(s->msg, p, len, &used) == 0)
			return;
		s->body_started = true;
		p += used;
		len -= used;
	}
	if (len > 0)
		dkim_body_hash_feed(s->bh, p, len);
}

const struct dkim_msg *dkim_sign_msg(const struct dkim_sign *s)
{
	return s->msg;
}

void dkim_sign_set_key(struct dkim_sign *s, const char *domain,
		       const char *selector,
		       const struct pubkey_private *key)
{
	free(s->domain);
	free(s->selector);
	s->domain = xstrdup(domain);
	s->selector = xstrdup(selector);
	s->set.key = key;
}

/* Appends "name=value;" to the field, breaking the line before it when
 * the line would pass 78 columns. */
static void add_tag(struct str *f, size_t *col, const char *text)
{
	size_t len = strlen(text);

	if (*col + len + 1 > 78) {
		str_append(f, "\r\n\t");
		*col = 8;
	} else {
		str_append_c(f, ' ');
		(*col)++;
	}
	str_append(f, text);
	*col += len;
}

int dkim_sign_finish(struct dkim_sign *s, struct str *field_r,
		     const char **error_r)
{
	unsigned char bh[HASH_SHA256_DIGEST_SIZE], hh[HASH_SHA256_DIGEST_SIZE];
	char **names, **hlist = NULL;
	size_t hcount = 0, col, start;
	struct str f, h, b64, data, sig;
	bool ed;
	time_t now = s->set.timestamp != 0 ? s->set.timestamp : time(NULL);
	const struct dkim_msg_field *self;
	int ret = 0;

	if (!s->body_started) {
		dkim_msg_finish(s->msg);
		s->body_started = true;
	}
	if (s->set.key == NULL || s->domain == NULL || s->selector == NULL) {
		*error_r = "no signing key";
		return -1;
	}
	ed = pubkey_private_get_type(s->set.key) == PUBKEY_ED25519;
	if (dkim_msg_header_too_big(s->msg)) {
		*error_r = "header too large to sign";
		return -1;
	}
	if (dkim_msg_find_last(s->msg, "from", SIZE_MAX) < 0) {
		*error_r = "no From: field to sign";
		return -1;
	}
	dkim_body_hash_finish(s->bh, bh, NULL);

	/* h=: each listed name as often as it appears, from once more */
	names = str_split(s->headers, ":");
	str_init(&h, 256);
	for (size_t i = 0; names[i] != NULL; i++) {
		char *n = str_lcase(str_trim(names[i]));
		size_t times = 0;

		if (*n == '\0')
			continue;
		for (size_t j = 0; j < dkim_msg_field_count(s->msg); j++) {
			const struct dkim_msg_field *mf =
				dkim_msg_field(s->msg, j);

			if (mf->name_len == strlen(n) &&
			    strncasecmp(mf->name, n, mf->name_len) == 0)
				times++;
		}
		if (strcmp(n, "from") == 0)
			times++;
		for (size_t k = 0; k < times; k++) {
			hlist = xreallocarray(hlist, hcount + 1,
					      sizeof(*hlist));
			hlist[hcount++] = n;
			if (h.len > 0)
				str_append_c(&h, ':');
			str_append(&h, n);
		}
	}

	/* the field, with an empty b= */
	str_init(&f, 1024);
	str_append(&f, "DKIM-Signature:");
	col = 15;
	str_init(&b64, 512);
	{
		char *t;

		add_tag(&f, &col, "v=1;");
		t = xasprintf("a=%s;", ed ? "ed25519-sha256" : "rsa-sha256");
		add_tag(&f, &col, t);
		free(t);
		add_tag(&f, &col, "c=relaxed/relaxed;");
		t = xasprintf("d=%s;", s->domain);
		add_tag(&f, &col, t);
		free(t);
		t = xasprintf("s=%s;", s->selector);
		add_tag(&f, &col, t);
		free(t);
		if (s->identity != NULL) {
			t = xasprintf("i=%s;", s->identity);
			add_tag(&f, &col, t);
			free(t);
		}
		t = xasprintf("t=%llu;", (unsigned long long)now);
		add_tag(&f, &col, t);
		free(t);
		hash_base64_append(&b64, bh, sizeof(bh));
		t = xasprintf("bh=%s;", str_c(&b64));
		add_tag(&f, &col, t);
		free(t);
		/* h= on one line when it fits one, else broken at colons */
		if (h.len + 3 <= 78 - 8) {
			t = xasprintf("h=%s;", str_c(&h));
			add_tag(&f, &col, t);
			free(t);
		} else {
			char **hn = str_split(str_c(&h), ":");

			for (size_t i = 0; hn[i] != NULL; i++) {
				t = xasprintf("%s%s%s", i == 0 ? "h=" : "",
					      hn[i],
					      hn[i + 1] != NULL ? ":" : ";");
				if (i == 0) {
					add_tag(&f, &col, t);
				} else if (col + strlen(t) > 78) {
					str_append(&f, "\r\n\t");
					str_append(&f, t);
					col = 8 + strlen(t);
				} else {
					str_append(&f, t);
					col += strlen(t);
				}
				free(t);
			}
			str_split_free(&hn);
		}
		add_tag(&f, &col, "b=");
	}
	start = strlen("DKIM-Signature:");

	/* the header hash: the selected fields, then this field */
	{
		struct dkim_msg_field tmp;

		tmp.name = (char *)"DKIM-Signature";
		tmp.name_len = 14;
		tmp.value = f.data + start;
		tmp.value_len = f.len - start;
		self = &tmp;
		str_init(&data, 4096);
		dkim_msg_select(s->msg, hlist, hcount, DKIM_CANON_RELAXED,
				SIZE_MAX, &data);
		dkim_canon_header(&data, DKIM_CANON_RELAXED, self->name,
				  self->name_len, self->value,
				  self->value_len, false);
		hash_digest(HASH_SHA256, data.data, data.len, hh);
		str_free(&data);
	}
	str_init(&sig, 512);
	if (pubkey_private_sign_sha256(s->set.key, hh, &sig, error_r) < 0) {
		ret = -1;
	} else {
		/* b= folded in pieces that fit the lines */
		str_clear(&b64);
		hash_base64_append(&b64, (unsigned char *)sig.data, sig.len);
		for (size_t i = 0; i < b64.len;) {
			size_t room = col < 77 ? 77 - col : 0, n;

			if (room < 8) {
				str_append(&f, "\r\n\t");
				col = 8;
				room = 69;
			}
			n = b64.len - i < room ? b64.len - i : room;
			str_append_n(&f, b64.data + i, n);
			col += n;
			i += n;
		}
		str_append_n(field_r, f.data, f.len);
	}
	str_free(&sig);
	str_free(&b64);
	str_free(&f);
	str_free(&h);
	free(hlist);
	str_split_free(&names);
	return ret;
}

void dkim_sign_destroy(struct dkim_sign **sp)
{
	struct dkim_sign *s = *sp;

	if (s == NULL)
		return;
	dkim_msg_destroy(&s->msg);
	dkim_body_hash_destroy(&s->bh);
	free(s->domain);
	free(s->selector);
	free(s->identity);
	free(s->headers);
	free(s);
	*sp = NULL;
}
