/* fuzz-dkim-verify.c: libFuzzer target for whole-message DKIM
 * (dkim-verify.h, dkim-sign.h, dkim-msg.h) and key import (pubkey.h): the
 * first byte picks what the fake DNS answers (a real Ed25519 or RSA key,
 * the message's first line as the record, a failure), the rest is the
 * message, verified in two pieces and signed with a fixed Ed25519 key
 * whose signature must then verify. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim-sign.h"
#include "dkim-verify.h"
#include "mem.h"
#include "pubkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ed_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";
static const char ed_txt[] =
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rsa_txt[] =
	"v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCZRBn1Ne5E/hKdUZ1mH6"
	"kTHs7acypi35ZF+I3wWV+wrW/meH/sIRnY3eL729X6YpQM5Rh5puV1m1hW8uP/eRkjY"
	"3+zRWFjD99RcZU25easK6nHaRGzxGh1cwxYpc1O/Az7KKc5Yq2DWWA8ypfdl3EeHyvu"
	"w8qGCfHWm9frK6ICXwIDAQAB";

struct fake {
	unsigned int mode;
	const char *line;
	size_t line_len;
};

static enum dns_status lookup(void *context, const char *name,
			      struct dns_result *res)
{
	struct fake *f = context;
	const char *txt = NULL;
	size_t len = 0;

	(void)name;
	memset(res, 0, sizeof(*res));
	res->error = "fake";
	switch (f->mode % 5) {
	case 0:
		txt = ed_txt;
		len = strlen(txt);
		break;
	case 1:
		txt = rsa_txt;
		len = strlen(txt);
		break;
	case 2:
		txt = f->line;
		len = f->line_len;
		break;
	case 3:
		res->status = DNS_TEMPFAIL;
		return DNS_TEMPFAIL;
	default:
		res->status = DNS_NXDOMAIN;
		return DNS_NXDOMAIN;
	}
	res->rrs = xcalloc(1, sizeof(*res->rrs));
	res->count = 1;
	res->rrs[0].type = DNS_TYPE_TXT;
	res->rrs[0].text = xstrndup(txt, len);
	res->rrs[0].text_len = len;
	res->status = DNS_OK;
	return DNS_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pubkey_private *key;
	struct dkim_verify_settings vs;
	struct dkim_verify *v;
	struct fake f;
	struct str ar;
	const char *error;
	const uint8_t *nl;

	if (size < 1)
		return 0;
	if (key == NULL &&
	    pubkey_private_load_pem(ed_pem, strlen(ed_pem), &key, &error) < 0)
		__builtin_trap();
	f.mode = data[0];
	data++;
	size--;
	nl = memchr(data, '\n', size);
	f.line = (const char *)data;
	f.line_len = nl != NULL ? (size_t)(nl - data) : size;

	/* raw key bytes */
	for (int t = 0; t < 2; t++) {
		struct pubkey *pk = NULL;

		if (pubkey_import(t ? PUBKEY_ED25519 : PUBKEY_RSA, data, size,
				  &pk, &error) == 0)
			pubkey_destroy(&pk);
	}

	memset(&vs, 0, sizeof(vs));
	vs.lookup = lookup;
	vs.lookup_context = &f;
	vs.now = 1700000000;
	vs.max_header = 65536;
	v = dkim_verify_create(&vs);
	dkim_verify_feed(v, data, size / 2);
	dkim_verify_feed(v, data + size / 2, size - size / 2);
	dkim_verify_finish(v);
	str_init(&ar, 256);
	dkim_verify_ar_append(v, &ar);
	for (size_t i = 0; i < ar.len; i++) {	/* one field's text */
		unsigned char c = (unsigned char)ar.data[i];

		if (c >= 0x7f || (c < ' ' && c != '\r' && c != '\n' &&
				  c != '\t'))
			__builtin_trap();
	}
	str_free(&ar);
	dkim_verify_destroy(&v);

	/* what we sign must verify (when the message can be signed) */
	if ((f.mode & 0x80) != 0) {
		struct dkim_sign_settings ss;
		struct dkim_sign *s;
		struct str field;

		memset(&ss, 0, sizeof(ss));
		ss.domain = "example.org";
		ss.selector = "s";
		ss.key = key;
		ss.timestamp = 1700000000;
		ss.max_header = 65536;
		s = dkim_sign_create(&ss);
		dkim_sign_feed(s, data, size);
		str_init(&field, 512);
		if (dkim_sign_finish(s, &field, &error) == 0) {
			struct str msg;

			f.mode = 0;	/* the Ed25519 key */
			str_init(&msg, field.len + size + 2);
			str_append_n(&msg, field.data, field.len);
			str_append(&msg, "\r\n");
			str_append_n(&msg, data, size);
			v = dkim_verify_create(&vs);
			dkim_verify_feed(v, msg.data, msg.len);
			dkim_verify_finish(v);
			/* a header the parser reads differently (NUL, bare
			 * CR, broken lines) may fail; a clean one passes */
			if (dkim_verify_count(v) == 0)
				__builtin_trap();
			dkim_verify_destroy(&v);
			str_free(&msg);
		}
		str_free(&field);
		dkim_sign_destroy(&s);
	}
	return 0;
}
