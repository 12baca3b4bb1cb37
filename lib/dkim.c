/* dkim.c: DKIM (RFC 6376) tag lists, signature and key record parsers,
 * header and body canonicalisation (see dkim.h). */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "dkim.h"
#include "mem.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *trim(char *s)
{
	char *e;

	while (is_fws(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_fws(e[-1]))
		*--e = '\0';
	return s;
}

void dkim_tag_list_free(struct dkim_tag_list *list)
{
	free(list->buf);
	free(list->tags);
	memset(list, 0, sizeof(*list));
}

int dkim_tag_list_parse(const char *text, size_t len,
			struct dkim_tag_list *list, const char **error_r)
{
	char *p;

	memset(list, 0, sizeof(*list));
	if (len > DKIM_MAX_VALUE) {
		*error_r = "tag list too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
		    c == 0x7f) {
			*error_r = "control character in tag list";
			return -1;
		}
	}
	list->buf = xstrndup(text, len);
	p = list->buf;
	while (*p != '\0') {
		char *semi = strchr(p, ';');
		char *eq, *name;

		if (semi != NULL)
			*semi = '\0';
		if (*trim(p) == '\0') {
			/* an empty spec is only allowed after the last ';' */
			if (semi != NULL) {
				*error_r = "empty tag";
				goto fail;
			}
			break;
		}
		eq = strchr(p, '=');
		if (eq == NULL) {
			*error_r = "tag without '='";
			goto fail;
		}
		*eq = '\0';
		name = trim(p);
		if (!isalpha((unsigned char)name[0])) {
			*error_r = "bad tag name";
			goto fail;
		}
		for (char *n = name; *n != '\0'; n++) {
			if (!isalnum((unsigned char)*n) && *n != '_') {
				*error_r = "bad tag name";
				goto fail;
			}
		}
		if (dkim_tag_get(list, name) != NULL) {
			*error_r = "duplicate tag";
			goto fail;
		}
		if (list->count >= DKIM_MAX_TAGS) {
			*error_r = "too many tags";
			goto fail;
		}
		list->tags = xreallocarray(list->tags, list->count + 1,
					   sizeof(*list->tags));
		list->tags[list->count].name = name;
		list->tags[list->count].value = trim(eq + 1);
		list->count++;
		if (semi == NULL)
			break;
		p = semi + 1;
	}
	return 0;
fail:
	dkim_tag_list_free(list);
	return -1;
}

const char *dkim_tag_get(const struct dkim_tag_list *list, const char *name)
{
	for (size_t i = 0; i < list->count; i++) {
		if (strcmp(list->tags[i].name, name) == 0)
			return list->tags[i].value;
	}
	return NULL;
}

/* base64 with folding whitespace inside (b=, bh=, p=). */
static int decode_b64(const char *v, unsigned char **out_r, size_t *len_r)
{
	struct str clean, bin;

	str_init(&clean, strlen(v) + 1);
	for (; *v != '\0'; v++) {
		if (!is_fws(*v))
			str_append_c(&clean, *v);
	}
	str_init(&bin, clean.len);
	if (clean.len == 0 ||
	    base64_decode_strict(&bin, clean.data, clean.len) < 0) {
		str_free(&clean);
		str_free(&bin);
		return -1;
	}
	str_free(&clean);
	*len_r = bin.len;
	*out_r = (unsigned char *)str_steal(&bin);
	return 0;
}

static bool parse_u64(const char *v, uint64_t *n_r)
{
	uint64_t n = 0;

	if (*v == '\0' || strlen(v) > 76)
		return false;
	for (; *v != '\0'; v++) {
		if (!isdigit((unsigned char)*v))
			return false;
		if (n > (UINT64_MAX - 9) / 10)
			n = UINT64_MAX / 10; /* saturate: RFC allows 76 digits */
		else
			n = n * 10 + (uint64_t)(*v - '0');
	}
	*n_r = n;
	return true;
}

static bool domain_ok(const char *d)
{
	size_t len = strlen(d), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((isalnum(c) || c == '-' || c == '_' || c >= 0x80) &&
			   ++label <= 63) {
			continue;
		} else {
			return false;
		}
	}
	return label > 0;
}

static bool within_domain(const char *sub, const char *domain)
{
	size_t s = strlen(sub), d = strlen(domain);

	if (s == d)
		return strcasecmp(sub, domain) == 0;
	return s > d && sub[s - d - 1] == '.' &&
	       strcasecmp(sub + s - d, domain) == 0;
}

void dkim_signature_free(struct dkim_signature *sig)
{
	free(sig->domain);
	free(sig->selector);
	free(sig->identity);
	for (size_t i = 0; i < sig->header_count; i++)
		free(sig->headers[i]);
	free(sig->headers);
	free(sig->sig);
	memset(sig, 0, sizeof(*sig));
}

static int parse_canon(const char *v, struct dkim_signature *sig)
{
	const char *slash = strchr(v, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - v) : strlen(v);
	const char *b = slash != NULL ? slash + 1 : "simple";

	if (hlen == 6 && strncmp(v, "simple", 6) == 0)
		sig->header_canon = DKIM_CANON_SIMPLE;
	else if (hlen == 7 && strncmp(v, "relaxed", 7) == 0)
		sig->header_canon = DKIM_CANON_RELAXED;
	else
		return -1;
	if (strcmp(b, "simple") == 0)
		sig->body_canon = DKIM_CANON_SIMPLE;
	else if (strcmp(b, "relaxed") == 0)
		sig->body_canon = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

int dkim_signature_parse(const char *value, size_t len,
			 struct dkim_signature *sig, const char **error_r)
{
	struct dkim_tag_list tl;
	const char *v;
	unsigned char *bh = NULL;
	size_t bh_len = 0;
	bool from = false;

	memset(sig, 0, sizeof(*sig));
	if (dkim_tag_list_parse(value, len, &tl, error_r) < 0)
		return -1;
	if ((v = dkim_tag_get(&tl, "v")) == NULL || strcmp(v, "1") != 0) {
		*error_r = "missing or unsupported v=";
		goto fail;
	}
	if ((v = dkim_tag_get(&tl, "a")) == NULL) {
		*error_r = "missing a=";
		goto fail;
	}
	if (strcasecmp(v, "rsa-sha256") == 0)
		sig->algo = DKIM_ALGO_RSA_SHA256;
	else if (strcasecmp(v, "ed25519-sha256") == 0)
		sig->algo = DKIM_ALGO_ED25519_SHA256;
	else {
		*error_r = "unsupported algorithm";
		goto fail;
	}
	if ((v = dkim_tag_get(&tl, "b")) == NULL ||
	    decode_b64(v, &sig->sig, &sig->sig_len) < 0) {
		*error_r = "missing or bad b=";
		goto fail;
	}
	if ((v = dkim_tag_get(&tl, "bh")) == NULL ||
	    decode_b64(v, &bh, &bh_len) < 0 ||
	    bh_len != HASH_SHA256_DIGEST_SIZE) {
		free(bh);
		*error_r = "missing or bad bh=";
		goto fail;
	}
	memcpy(sig->bh, bh, bh_len);
	free(bh);
	sig->header_canon = sig->body_canon = DKIM_CANON_SIMPLE;
	if ((v = dkim_tag_get(&tl, "c")) != NULL && parse_canon(v, sig) < 0) {
		*error_r = "bad c=";
		goto fail;
	}
	if ((v = dkim_tag_get(&tl, "d")) == NULL || !domain_ok(v)) {
		*error_r = "missing or bad d=";
		goto fail;
	}
	sig->domain = str_lcase(xstrdup(v));
	if ((v = dkim_tag_get(&tl, "s")) == NULL || !domain_ok(v)) {
		*error_r = "missing or bad s=";
		goto fail;
	}
	sig->selector = xstrdup(v);
	if ((v = dkim_tag_get(&tl, "h")) == NULL || *v == '\0') {
		*error_r = "missing h=";
		goto fail;
	}
	{
		char **names = str_split(v, ":");

		for (size_t i = 0; names[i] != NULL; i++) {
			char *n = trim(names[i]);
			bool ok = *n != '\0';

			for (char *c = n; *c != '\0'; c++) {
				if ((unsigned char)*c <= 0x20 ||
				    (unsigned char)*c >= 0x7f || *c == ':')
					ok = false;
			}
			if (!ok || sig->header_count >=
					   DKIM_MAX_SIGNED_HEADERS) {
				str_split_free(&names);
				*error_r = "bad h=";
				goto fail;
			}
			sig->headers = xreallocarray(sig->headers,
						     sig->header_count + 1,
						     sizeof(char *));
			sig->headers[sig->header_count++] =
				str_lcase(xstrdup(n));
			if (strcmp(sig->headers[sig->header_count - 1],
				   "from") == 0)
				from = true;
		}
		str_split_free(&names);
	}
	if (!from) {
		*error_r = "h= does not sign From";
		goto fail;
	}
	if ((v = dkim_tag_get(&tl, "i")) != NULL) {
		const char *at = strrchr(v, '@');

		if (at == NULL || !within_domain(at + 1, sig->domain)) {
			*error_r = "i= not within d=";
			goto fail;
		}
		sig->identity = xstrdup(v);
	} else {
		sig->identity = xasprintf("@%s", sig->domain);
	}
	if ((v = dkim_tag_get(&tl, "q")) != NULL) {
		bool dns = false;
		char **q = str_split(v, ":");

		for (size_t i = 0; q[i] != NULL; i++) {
			if (strcmp(trim(q[i]), "dns/txt") == 0)
				dns = true;
		}
		str_split_free(&q);
		if (!dns) {
			*error_r = "unsupported q=";
			goto fail;
		}
	}
	if ((v = dkim_tag_get(&tl, "l")) != NULL) {
		if (!parse_u64(v, &sig->length)) {
			*error_r = "bad l=";
			goto fail;
		}
		sig->has_length = true;
	}
	if ((v = dkim_tag_get(&tl, "t")) != NULL) {
		if (!parse_u64(v, &sig->timestamp)) {
			*error_r = "bad t=";
			goto fail;
		}
		sig->has_timestamp = true;
	}
	if ((v = dkim_tag_get(&tl, "x")) != NULL) {
		if (!parse_u64(v, &sig->expiry) ||
		    (sig->has_timestamp && sig->expiry < sig->timestamp)) {
			*error_r = "bad x=";
			goto fail;
		}
		sig->has_expiry = true;
	}
	dkim_tag_list_free(&tl);
	return 0;
fail:
	dkim_tag_list_free(&tl);
	dkim_signature_free(sig);
	return -1;
}

void dkim_key_free(struct dkim_key *key)
{
	free(key->key);
	memset(key, 0, sizeof(*key));
}

static bool list_has(const char *v, const char *word)
{
	char **w = str_split(v, ":");
	bool found = false;

	for (size_t i = 0; w[i] != NULL; i++) {
		if (strcasecmp(trim(w[i]), word) == 0)
			found = true;
	}
	str_split_free(&w);
	return found;
}

int dkim_key_parse(const char *text, size_t len, struct dkim_key *key,
		   const char **error_r)
{
	struct dkim_tag_list tl;
	const char *v;

	memset(key, 0, sizeof(*key));
	if (dkim_tag_list_parse(text, len, &tl, error_r) < 0)
		return -1;
	if ((v = dkim_tag_get(&tl, "v")) != NULL && strcmp(v, "DKIM1") != 0) {
		*error_r = "key record v= is not DKIM1";
		goto fail;
	}
	key->algo = DKIM_ALGO_RSA_SHA256;
	if ((v = dkim_tag_get(&tl, "k")) != NULL) {
		if (strcasecmp(v, "rsa") == 0)
			key->algo = DKIM_ALGO_RSA_SHA256;
		else if (strcasecmp(v, "ed25519") == 0)
			key->algo = DKIM_ALGO_ED25519_SHA256;
		else {
			*error_r = "unknown key type";
			goto fail;
		}
	}
	if ((v = dkim_tag_get(&tl, "h")) != NULL && !list_has(v, "sha256")) {
		*error_r = "key does not allow sha256";
		goto fail;
	}
	if ((v = dkim_tag_get(&tl, "s")) != NULL && !list_has(v, "email") &&
	    !list_has(v, "*")) {
		*error_r = "key is not for email";
		goto fail;
	}
	if ((v = dkim_tag_get(&tl, "t")) != NULL) {
		key->testing = list_has(v, "y");
		key->strict = list_has(v, "s");
	}
	if ((v = dkim_tag_get(&tl, "p")) == NULL) {
		*error_r = "key record without p=";
		goto fail;
	}
	if (*v != '\0' && decode_b64(v, &key->key, &key->key_len) < 0) {
		*error_r = "bad p=";
		goto fail;
	}
	dkim_tag_list_free(&tl);
	return 0;
fail:
	dkim_tag_list_free(&tl);
	dkim_key_free(key);
	return -1;
}

void dkim_canon_header(struct str *out, enum dkim_canon canon,
		       const char *name, size_t name_len, const char *value,
		       size_t value_len, bool crlf)
{
	if (canon == DKIM_CANON_SIMPLE) {
		str_append_n(out, name, name_len);
		str_append_c(out, ':');
		str_append_n(out, value, value_len);
	} else {
		bool ws = false, started = false;

		while (name_len > 0 && is_wsp(name[name_len - 1]))
			name_len--;
		for (size_t i = 0; i < name_len; i++)
			str_append_c(out, (char)tolower((unsigned char)name[i]));
		str_append_c(out, ':');
		for (size_t i = 0; i < value_len; i++) {
			char c = value[i];

			if (c == '\r' || c == '\n')
				continue;	/* unfold */
			if (is_wsp(c)) {
				ws = true;
				continue;
			}
			if (ws && started)
				str_append_c(out, ' ');
			ws = false;
			started = true;
			str_append_c(out, c);
		}
	}
	if (crlf)
		str_append(out, "\r\n");
}

struct dkim_body_hash {
	enum dkim_canon canon;
	bool has_limit;
	uint64_t limit;
	uint64_t emitted;	/* canonical bytes so far */
	struct hash_ctx *hash;
	uint64_t pending_crlf;	/* line ends since the last content */
	bool pending_ws;	/* relaxed: blanks not yet written */
	bool pending_cr;	/* a CR waiting for its LF */
	bool line_content;	/* the current line has content */
	bool any_content;
};

struct dkim_body_hash *dkim_body_hash_create(enum dkim_canon canon,
					     bool has_limit, uint64_t limit)
{
	struct dkim_body_hash *bh = xcalloc(1, sizeof(*bh));

	bh->canon = canon;
	bh->has_limit = has_limit;
	bh->limit = limit;
	bh->hash = hash_create(HASH_SHA256);
	return bh;
}

static void emit(struct dkim_body_hash *bh, const char *data, size_t len)
{
	size_t n = len;

	if (bh->has_limit) {
		uint64_t room = bh->emitted < bh->limit ?
					bh->limit - bh->emitted : 0;

		if (n > room)
			n = (size_t)room;
	}
	if (n > 0)
		hash_update(bh->hash, data, n);
	bh->emitted += len;
}

static void emit_content(struct dkim_body_hash *bh, char c)
{
	for (; bh->pending_crlf > 0; bh->pending_crlf--)
		emit(bh, "\r\n", 2);
	if (bh->pending_ws) {
		emit(bh, " ", 1);
		bh->pending_ws = false;
	}
	emit(bh, &c, 1);
	bh->line_content = true;
	bh->any_content = true;
}

void dkim_body_hash_feed(struct dkim_body_hash *bh, const void *data,
			 size_t len)
{
	const char *p = data;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (bh->pending_cr) {
			bh->pending_cr = false;
			if (c != '\n')
				emit_content(bh, '\r');
		}
		if (c == '\r') {
			bh->pending_cr = true;
		} else if (c == '\n') {
			bh->pending_crlf++;
			bh->pending_ws = false;
			bh->line_content = false;
		} else if (bh->canon == DKIM_CANON_RELAXED && is_wsp(c)) {
			bh->pending_ws = true;
		} else {
			emit_content(bh, c);
		}
	}
}

void dkim_body_hash_finish(struct dkim_body_hash *bh,
			   unsigned char digest_r[HASH_SHA256_DIGEST_SIZE],
			   uint64_t *canon_len_r)
{
	if (bh->pending_cr) {
		bh->pending_cr = false;
		emit_content(bh, '\r');
	}
	bh->pending_ws = false;
	if (bh->any_content || bh->canon == DKIM_CANON_SIMPLE)
		emit(bh, "\r\n", 2);
	hash_final(bh->hash, digest_r);
	if (canon_len_r != NULL)
		*canon_len_r = bh->emitted;
}

void dkim_body_hash_destroy(struct dkim_body_hash **bh)
{
	if (*bh == NULL)
		return;
	hash_destroy(&(*bh)->hash);
	free(*bh);
	*bh = NULL;
}
