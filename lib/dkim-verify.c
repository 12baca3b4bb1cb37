/* dkim-verify.c: DKIM verification of a message and its
 * Authentication-Results: text (see dkim-verify.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim-msg.h"
#include "dkim-verify.h"
#include "hash.h"
#include "mem.h"
#include "pubkey.h"

struct verify_sig {
	struct dkim_verify_sig pub;
	size_t field;			/* index of the signature field */
	bool parsed;
	struct dkim_signature sig;
	struct dkim_body_hash *bh;
};

struct dkim_verify {
	struct dkim_verify_settings set;
	struct dkim_msg *msg;
	struct verify_sig *sigs;
	size_t count;
	bool body_started, finished;
};

const char *dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_RESULT_NONE:
		return "none";
	case DKIM_RESULT_PASS:
		return "pass";
	case DKIM_RESULT_FAIL:
		return "fail";
	case DKIM_RESULT_NEUTRAL:
		return "neutral";
	case DKIM_RESULT_TEMPERROR:
		return "temperror";
	case DKIM_RESULT_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

struct dkim_verify *dkim_verify_create(const struct dkim_verify_settings *set)
{
	struct dkim_verify *v = xcalloc(1, sizeof(*v));

	v->set = *set;
	if (v->set.max_signatures == 0)
		v->set.max_signatures = DKIM_VERIFY_DEFAULT_MAX_SIGNATURES;
	v->msg = dkim_msg_create(set->max_header);
	return v;
}

/* A tag's raw value from the field text (for the fields of a signature
 * that does not parse), or NULL. */
static char *tag_value(const char *value, size_t len, const char *name)
{
	struct dkim_tag_list list;
	const char *error, *t;
	char *ret = NULL;

	if (dkim_tag_list_parse(value, len, &list, &error) < 0)
		return NULL;
	t = dkim_tag_get(&list, name);
	if (t != NULL)
		ret = xstrdup(t);
	dkim_tag_list_free(&list);
	return ret;
}

/* A printable copy for the header (no control bytes, no ';' or '('),
 * at most 255 bytes. */
static char *clean(const char *s)
{
	struct str out;

	if (s == NULL)
		return NULL;
	str_init(&out, 64);
	for (; *s != '\0' && out.len < 255; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > ' ' && c < 0x7f && c != ';' && c != '(' && c != ')' &&
		    c != '"' && c != '\\')
			str_append_c(&out, (char)c);
	}
	return str_steal(&out);
}

/* The header is complete: parse the signatures, start their body
 * hashes. */
static void header_done(struct dkim_verify *v)
{
	size_t n = dkim_msg_field_count(v->msg);

	v->body_started = true;
	for (size_t i = 0; i < n && v->count < v->set.max_signatures; i++) {
		const struct dkim_msg_field *f = dkim_msg_field(v->msg, i);
		struct verify_sig *s;
		const char *error;
		char *b;

		if (f->name_len != 14 ||
		    strncasecmp(f->name, "DKIM-Signature", 14) != 0)
			continue;
		v->sigs = xreallocarray(v->sigs, v->count + 1,
					sizeof(*v->sigs));
		s = &v->sigs[v->count++];
		memset(s, 0, sizeof(*s));
		s->field = i;
		{
			char *d = tag_value(f->value, f->value_len, "d");
			char *sel = tag_value(f->value, f->value_len, "s");
			char *id = tag_value(f->value, f->value_len, "i");
			char *a = tag_value(f->value, f->value_len, "a");

			s->pub.domain = clean(d);
			s->pub.selector = clean(sel);
			s->pub.identity = clean(id);
			s->pub.algo = clean(a);
			free(d);
			free(sel);
			free(id);
			free(a);
		}
		b = tag_value(f->value, f->value_len, "b");
		if (b != NULL) {
			size_t k = 0;

			for (const char *p = b; *p != '\0' && k < 8; p++) {
				if (strchr(" \t\r\n", *p) == NULL &&
				    strchr(";()\"\\", *p) == NULL &&
				    (unsigned char)*p > ' ' &&
				    (unsigned char)*p < 0x7f)
					s->pub.b_prefix[k++] = *p;
			}
			s->pub.b_prefix[k] = '\0';
			free(b);
		}
		if (dkim_msg_header_too_big(v->msg)) {
			s->pub.result = DKIM_RESULT_PERMERROR;
			s->pub.reason = "header too large";
			continue;
		}
		if (dkim_signature_parse(f->value, f->value_len, &s->sig,
					 &error) < 0) {
			/* rsa-sha1 and unknown algorithms are not errors
			 * of the signer's syntax */
			if (s->pub.algo != NULL &&
			    strcasecmp(s->pub.algo, "rsa-sha256") != 0 &&
			    strcasecmp(s->pub.algo, "ed25519-sha256") != 0) {
				s->pub.result = DKIM_RESULT_NEUTRAL;
				s->pub.reason = "unsupported algorithm";
			} else {
				s->pub.result = DKIM_RESULT_PERMERROR;
				s->pub.reason = error;
			}
			continue;
		}
		s->parsed = true;
		free(s->pub.domain);
		s->pub.domain = clean(s->sig.domain);
		free(s->pub.identity);
		s->pub.identity = clean(s->sig.identity);
		s->bh = dkim_body_hash_create(s->sig.body_canon,
					      s->sig.has_length,
					      s->sig.length);
	}
}

void dkim_verify_feed(struct dkim_verify *v, const void *data, size_t len)
{
	const char *p = data;

	if (v->finished)
		return;
	if (!v->body_started) {
		size_t used;

		if (dkim_msg_feed(v->msg, p, len, &used) == 0)
			return;
		header_done(v);
		p += used;
		len -= used;
	}
	for (size_t i = 0; i < v->count && len > 0; i++) {
		if (v->sigs[i].bh != NULL)
			dkim_body_hash_feed(v->sigs[i].bh, p, len);
	}
}

/* Finds and parses the key; returns it or NULL with the result set. */
static struct pubkey *get_key(struct dkim_verify *v, struct verify_sig *s)
{
	struct dns_result res;
	enum dns_status st;
	struct dkim_key key;
	struct pubkey *pk = NULL;
	const char *error = "no key for signature";
	char *name;
	bool found = false;

	name = xasprintf("%s._domainkey.%s", s->sig.selector, s->sig.domain);
	memset(&res, 0, sizeof(res));
	if (v->set.lookup != NULL)
		st = v->set.lookup(v->set.lookup_context, name, &res);
	else if (v->set.dns != NULL)
		st = dns_lookup(v->set.dns, name, DNS_TYPE_TXT, &res);
	else
		st = DNS_TEMPFAIL;
	free(name);
	if (st == DNS_TEMPFAIL) {
		dns_result_free(&res);
		s->pub.result = DKIM_RESULT_TEMPERROR;
		s->pub.reason = "key unavailable";
		return NULL;
	}
	/* several records: the first that parses (RFC 6376 3.6.2.2) */
	for (size_t i = 0; st == DNS_OK && i < res.count && !found; i++) {
		if (res.rrs[i].type != DNS_TYPE_TXT || res.rrs[i].text == NULL)
			continue;
		if (dkim_key_parse(res.rrs[i].text, res.rrs[i].text_len, &key,
				   &error) == 0)
			found = true;
	}
	dns_result_free(&res);
	if (!found) {
		s->pub.result = DKIM_RESULT_PERMERROR;
		s->pub.reason = st == DNS_OK ? error : "no key for signature";
		return NULL;
	}
	s->pub.testing = key.testing;
	if (key.key == NULL) {
		s->pub.result = DKIM_RESULT_PERMERROR;
		s->pub.reason = "key revoked";
	} else if (key.algo != s->sig.algo) {
		s->pub.result = DKIM_RESULT_PERMERROR;
		s->pub.reason = "key type does not match the signature";
	} else if (key.strict && s->sig.identity != NULL &&
		   strrchr(s->sig.identity, '@') != NULL &&
		   strcasecmp(strrchr(s->sig.identity, '@') + 1,
			      s->sig.domain) != 0) {
		s->pub.result = DKIM_RESULT_PERMERROR;
		s->pub.reason = "key requires i= in d= exactly (t=s)";
	} else if (pubkey_import(key.algo == DKIM_ALGO_ED25519_SHA256 ?
				 PUBKEY_ED25519 : PUBKEY_RSA,
				 key.key, key.key_len, &pk, &error) < 0) {
		s->pub.result = DKIM_RESULT_PERMERROR;
		s->pub.reason = error;
	} else {
		s->pub.key_bits = pubkey_bits(pk);
	}
	dkim_key_free(&key);
	return pk;
}

static void check_sig(struct dkim_verify *v, struct verify_sig *s)
{
	const struct dkim_msg_field *f = dkim_msg_field(v->msg, s->field);
	unsigned char bh[HASH_SHA256_DIGEST_SIZE], hh[HASH_SHA256_DIGEST_SIZE];
	struct pubkey *pk;
	struct str data, stripped;
	time_t now = v->set.now != 0 ? v->set.now : time(NULL);

	dkim_body_hash_finish(s->bh, bh, NULL);
	if (s->sig.has_expiry && (uint64_t)now > s->sig.expiry) {
		s->pub.result = DKIM_RESULT_NEUTRAL;
		s->pub.reason = "signature expired";
		return;
	}
	if (s->sig.has_timestamp && s->sig.timestamp > (uint64_t)now + 3600) {
		s->pub.result = DKIM_RESULT_NEUTRAL;
		s->pub.reason = "signature in the future";
		return;
	}
	pk = get_key(v, s);
	if (pk == NULL)
		return;
	if (memcmp(bh, s->sig.bh, sizeof(bh)) != 0) {
		s->pub.result = s->pub.testing ? DKIM_RESULT_NEUTRAL :
			DKIM_RESULT_FAIL;
		s->pub.reason = "body hash did not verify";
		pubkey_destroy(&pk);
		return;
	}
	str_init(&data, 4096);
	dkim_msg_select(v->msg, s->sig.headers, s->sig.header_count,
			s->sig.header_canon, s->field, &data);
	str_init(&stripped, f->value_len);
	dkim_msg_strip_b(&stripped, f->value, f->value_len);
	dkim_canon_header(&data, s->sig.header_canon, f->name, f->name_len,
			  stripped.data, stripped.len, false);
	str_free(&stripped);
	hash_digest(HASH_SHA256, data.data, data.len, hh);
	str_free(&data);
	if (pubkey_verify_sha256(pk, hh, s->sig.sig, s->sig.sig_len) == 1) {
		s->pub.result = DKIM_RESULT_PASS;
		s->pub.reason = NULL;
	} else {
		s->pub.result = s->pub.testing ? DKIM_RESULT_NEUTRAL :
			DKIM_RESULT_FAIL;
		s->pub.reason = "signature did not verify";
	}
	pubkey_destroy(&pk);
}

void dkim_verify_finish(struct dkim_verify *v)
{
	if (v->finished)
		return;
	if (!v->body_started) {
		dkim_msg_finish(v->msg);
		header_done(v);
	}
	v->finished = true;
	for (size_t i = 0; i < v->count; i++) {
		if (v->sigs[i].parsed)
			check_sig(v, &v->sigs[i]);
	}
}

size_t dkim_verify_count(const struct dkim_verify *v)
{
	return v->count;
}

const struct dkim_verify_sig *dkim_verify_get(const struct dkim_verify *v,
					      size_t i)
{
	return i < v->count ? &v->sigs[i].pub : NULL;
}

void dkim_verify_ar_append(const struct dkim_verify *v, struct str *out)
{
	if (v->count == 0) {
		str_append(out, "dkim=none");
		return;
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct dkim_verify_sig *s = &v->sigs[i].pub;

		if (i > 0)
			str_append(out, ";\r\n\t");
		str_printfa(out, "dkim=%s", dkim_result_name(s->result));
		if (s->reason != NULL)
			str_printfa(out, " (%s)", s->reason);
		else if (s->key_bits != 0)
			str_printfa(out, " (%u-bit key)", s->key_bits);
		if (s->domain != NULL && *s->domain != '\0')
			str_printfa(out, " header.d=%s", s->domain);
		if (s->identity != NULL && *s->identity != '\0')
			str_printfa(out, " header.i=%s", s->identity);
		if (s->selector != NULL && *s->selector != '\0')
			str_printfa(out, " header.s=%s", s->selector);
		if (s->algo != NULL && *s->algo != '\0')
			str_printfa(out, " header.a=%s", s->algo);
		if (s->b_prefix[0] != '\0')
			str_printfa(out, " header.b=%s", s->b_prefix);
	}
}

void dkim_verify_destroy(struct dkim_verify **vp)
{
	struct dkim_verify *v = *vp;

	if (v == NULL)
		return;
	for (size_t i = 0; i < v->count; i++) {
		struct verify_sig *s = &v->sigs[i];

		if (s->parsed)
			dkim_signature_free(&s->sig);
		dkim_body_hash_destroy(&s->bh);
		free(s->pub.domain);
		free(s->pub.selector);
		free(s->pub.identity);
		free(s->pub.algo);
	}
	free(v->sigs);
	dkim_msg_destroy(&v->msg);
	free(v);
	*vp = NULL;
}
