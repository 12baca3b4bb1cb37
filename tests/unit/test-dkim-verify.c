/* test-dkim-verify.c: DKIM verification and signing of whole messages
 * (lib/dkim-verify.h, lib/dkim-sign.h, lib/dkim-msg.h): messages signed by
 * dkimpy (rsa-sha256 simple/simple, ed25519-sha256 relaxed/relaxed) pass
 * at every split; tampered bodies and headers fail; missing, revoked and
 * unreachable keys; malformed, expired and rsa-sha1 signatures; our own
 * signatures verify; the Authentication-Results: text. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dkim-msg.h"
#include "dkim-sign.h"
#include "dkim-verify.h"
#include "mem.h"
#include "pubkey.h"
#include "unit-keys.h"

/* The message of RFC 6376 A, as dkimpy 1.1.4 signed it. */
#define MSG_HEADER \
	"Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n" \
	"From: Joe SixPack <joe@football.example.com>\r\n" \
	"To: Suzie Q <suzie@shopping.example.net>\r\n" \
	"Subject: Is dinner ready?\r\n" \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
#define MSG_BODY \
	"\r\n" \
	"Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n" \
	"\r\n\r\n"
static const char sig_rsa[] =
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple;\r\n"
	" d=football.example.com; i=@football.example.com; q=dns/txt; s=rsa;\r\n"
	" t=1795279698; h=from : to : subject : date : message-id;\r\n"
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=;\r\n"
	" b=fDzavqcNY2kz34UqMUU7pbvQt0CTz/x5K1wvfpWaap6TgTVFDEkAtBDQTLr4iYc+IMiwS\r\n"
	" wrURMPa0VKOZuXOLWtd0GyjE6pwiHMw7Nw8tYnxuYLDlmySm3bonA87F25bI65i9YvECtxN\r\n"
	" zBoIrKZbLAomtO/0KsLoiPPqT+UOFbx0bH7SbTCZjnZk4zYGzvqRcPyUXHKbL6UomnvMRop\r\n"
	" azRwrVQihdivJ0q26OqU2RiY92853AVPeO5cF3lVYAJybp4Q/5mXlrPyB2+RY8reOjHvmb4\r\n"
	" Dr2rk45cgOOEO6M04FEEt72GoC3gObv8BGFEmTILVStYO0Ayt/jq32/+sw1w==\r\n";
static const char sig_ed[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com; q=dns/txt; s=ed;\r\n"
	" t=1795279698; h=from : to : subject : date : message-id;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=4jV49aYCnjxxSWp/C+U3Fw5ttERgUJ+O8lEj/4jv6yz2DJG0FeIKVwvna/RniCb7Or4f2\r\n"
	" jE3My/YIIIpoD9xAQ==\r\n";

#define NOW 1795279700

/* The fake zone: name -> TXT record, or a status. */
struct zone_entry {
	const char *name;
	enum dns_status status;
	const char *txt;
};
static struct zone_entry zone[16];
static unsigned int lookups;

static void zone_set(void)
{
	static char rsa_txt[600], ed_txt[100], rsa1024_txt[400];

	str_copy(rsa_txt, "v=DKIM1; k=rsa; p=", sizeof(rsa_txt));
	memcpy(rsa_txt + strlen(rsa_txt), unit_key_rsa2048_spki, sizeof(unit_key_rsa2048_spki));
	str_copy(ed_txt, "v=DKIM1; k=ed25519; p=", sizeof(ed_txt));
	memcpy(ed_txt + strlen(ed_txt), unit_key_ed25519_pub, sizeof(unit_key_ed25519_pub));
	str_copy(rsa1024_txt, "v=DKIM1; p=", sizeof(rsa1024_txt));
	memcpy(rsa1024_txt + strlen(rsa1024_txt), unit_key_rsa1024_spki,
	       sizeof(unit_key_rsa1024_spki));
	memset(zone, 0, sizeof(zone));
	zone[0] = (struct zone_entry){ "rsa._domainkey.football.example.com",
				       DNS_OK, rsa_txt };
	zone[1] = (struct zone_entry){ "ed._domainkey.football.example.com",
				       DNS_OK, ed_txt };
	zone[2] = (struct zone_entry){ "s1._domainkey.example.org", DNS_OK,
				       rsa1024_txt };
	zone[3] = (struct zone_entry){ "s2._domainkey.example.org", DNS_OK,
				       ed_txt };
	zone[4] = (struct zone_entry){ "revoked._domainkey.example.org",
				       DNS_OK, "v=DKIM1; p=" };
	zone[5] = (struct zone_entry){ "tmp._domainkey.example.org",
				       DNS_TEMPFAIL, NULL };
	zone[6] = (struct zone_entry){ "bad._domainkey.example.org", DNS_OK,
				       "v=DKIM1; p=!!!" };
}

static enum dns_status fake_lookup(void *context, const char *name,
				   struct dns_result *res)
{
	(void)context;
	lookups++;
	memset(res, 0, sizeof(*res));
	for (size_t i = 0; zone[i].name != NULL; i++) {
		if (strcmp(zone[i].name, name) != 0)
			continue;
		res->status = zone[i].status;
		res->error = "fake";
		if (zone[i].status == DNS_OK) {
			res->rrs = xcalloc(1, sizeof(*res->rrs));
			res->count = 1;
			res->rrs[0].type = DNS_TYPE_TXT;
			res->rrs[0].text = xstrdup(zone[i].txt);
			res->rrs[0].text_len = strlen(zone[i].txt);
		}
		return res->status;
	}
	res->status = DNS_NXDOMAIN;
	res->error = "fake";
	return DNS_NXDOMAIN;
}

/* Verifies msg fed in two pieces split at split; returns the verifier
 * (caller destroys). */
static struct dkim_verify *verify_split(const char *msg, size_t len,
					size_t split)
{
	struct dkim_verify_settings set;
	struct dkim_verify *v;

	memset(&set, 0, sizeof(set));
	set.lookup = fake_lookup;
	set.now = NOW;
	v = dkim_verify_create(&set);
	dkim_verify_feed(v, msg, split);
	dkim_verify_feed(v, msg + split, len - split);
	dkim_verify_finish(v);
	return v;
}

static enum dkim_result verify1(const char *msg, const char **reason_r)
{
	struct dkim_verify *v = verify_split(msg, strlen(msg), 0);
	enum dkim_result r;

	assert_int_equal(dkim_verify_count(v), 1);
	r = dkim_verify_get(v, 0)->result;
	if (reason_r != NULL)
		*reason_r = dkim_verify_get(v, 0)->reason;
	dkim_verify_destroy(&v);
	assert_null(v);
	return r;
}

static void test_dkimpy_vectors(void **state)
{
	const char *msgs[] = { sig_rsa, sig_ed };

	(void)state;
	zone_set();
	for (size_t m = 0; m < 2; m++) {
		char *msg = xasprintf("%s%s%s", msgs[m], MSG_HEADER, MSG_BODY);
		size_t len = strlen(msg);

		for (size_t split = 0; split <= len; split++) {
			struct dkim_verify *v = verify_split(msg, len, split);
			const struct dkim_verify_sig *s;

			assert_int_equal(dkim_verify_count(v), 1);
			s = dkim_verify_get(v, 0);
			assert_int_equal(s->result, DKIM_RESULT_PASS);
			assert_string_equal(s->domain, "football.example.com");
			assert_string_equal(s->selector, m == 0 ? "rsa" : "ed");
			dkim_verify_destroy(&v);
		}
		free(msg);
	}
}

static void test_tampered(void **state)
{
	const char *reason;
	char *msg;

	(void)state;
	zone_set();
	/* a body changed */
	msg = xasprintf("%s%s%s", sig_rsa, MSG_HEADER,
			"\r\nHi.\r\n\r\nWe won the game.\r\n");
	assert_int_equal(verify1(msg, &reason), DKIM_RESULT_FAIL);
	assert_string_equal(reason, "body hash did not verify");
	free(msg);
	/* relaxed body: whitespace changes are fine, words are not */
	msg = xasprintf("%s%s%s", sig_ed, MSG_HEADER,
			"\r\nHi.  \r\n\r\nWe lost the game.  Are you hungry "
			"yet?\r\n\r\nJoe.\r\n");
	assert_int_equal(verify1(msg, NULL), DKIM_RESULT_PASS);
	free(msg);
	/* a signed header changed */
	msg = xasprintf("%s%s%s", sig_ed,
			"From: Joe SixPack <joe@football.example.com>\r\n"
			"To: Suzie Q <suzie@shopping.example.net>\r\n"
			"Subject: Is dinner ready!\r\n"
			"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
			"Message-ID: <20030712040037.46341.5F8J@"
			"football.example.com>\r\n", MSG_BODY);
	assert_int_equal(verify1(msg, &reason), DKIM_RESULT_FAIL);
	assert_string_equal(reason, "signature did not verify");
	free(msg);
	/* an unsigned header added: still fine */
	msg = xasprintf("X-Added: yes\r\n%s%sX-Spam: no\r\n%s", sig_ed,
			MSG_HEADER, MSG_BODY);
	assert_int_equal(verify1(msg, NULL), DKIM_RESULT_PASS);
	free(msg);
	/* LF line ends read as CRLF */
	{
		struct str lf;

		msg = xasprintf("%s%s%s", sig_rsa, MSG_HEADER, MSG_BODY);
		str_init(&lf, strlen(msg));
		for (const char *p = msg; *p != '\0'; p++)
			if (*p != '\r')
				str_append_c(&lf, *p);
		assert_int_equal(verify1(str_c(&lf), NULL), DKIM_RESULT_PASS);
		str_free(&lf);
		free(msg);
	}
}

/* Replaces the first "from" in s with "to" (same length or shorter). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);

	assert_non_null(p);
	return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static void test_key_problems(void **state)
{
	const char *reason;
	char *sig, *msg;
	struct {
		const char *selector;
		enum dkim_result result;
	} cases[] = {
		{ "s=nokey;", DKIM_RESULT_PERMERROR },	/* NXDOMAIN */
		{ "s=revoked;", DKIM_RESULT_PERMERROR },
		{ "s=tmp;", DKIM_RESULT_TEMPERROR },
		{ "s=bad;", DKIM_RESULT_PERMERROR },
	};

	(void)state;
	zone_set();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = replace(sig_ed, "d=football.example.com",
				  "d=example.org");
		char *i2 = replace(d, "i=@football.example.com;", "");
		sig = replace(i2, "s=ed;", cases[i].selector);
		msg = xasprintf("%s%s%s", sig, MSG_HEADER, MSG_BODY);
		lookups = 0;
		assert_int_equal(verify1(msg, &reason), cases[i].result);
		assert_int_equal(lookups, 1);
		assert_non_null(reason);
		free(d);
		free(i2);
		free(sig);
		free(msg);
	}
	/* the key of another type than a= */
	sig = replace(sig_ed, "s=ed;", "s=rsa;");
	msg = xasprintf("%s%s%s", sig, MSG_HEADER, MSG_BODY);
	assert_int_equal(verify1(msg, &reason), DKIM_RESULT_PERMERROR);
	free(sig);
	free(msg);
}

static void test_bad_signatures(void **state)
{
	const char *reason;
	char *sig, *msg;
	struct dkim_verify *v;
	struct str ar;

	(void)state;
	zone_set();
	/* no signature */
	msg = xasprintf("%s%s", MSG_HEADER, MSG_BODY);
	v = verify_split(msg, strlen(msg), 10);
	assert_int_equal(dkim_verify_count(v), 0);
	str_init(&ar, 100);
	dkim_verify_ar_append(v, &ar);
	assert_string_equal(str_c(&ar), "dkim=none");
	str_free(&ar);
	dkim_verify_destroy(&v);
	free(msg);
	/* malformed: no bh= */
	sig = replace(sig_ed, "bh=", "xh=");
	msg = xasprintf("%s%s%s", sig, MSG_HEADER, MSG_BODY);
	lookups = 0;
	assert_int_equal(verify1(msg, &reason), DKIM_RESULT_PERMERROR);
	assert_int_equal(lookups, 0);
	free(sig);
	free(msg);
	/* rsa-sha1 (RFC 8301) */
	sig = replace(sig_rsa, "a=rsa-sha256", "a=rsa-sha1");
	msg = xasprintf("%s%s%s", sig, MSG_HEADER, MSG_BODY);
	assert_int_equal(verify1(msg, &reason), DKIM_RESULT_NEUTRAL);
	free(sig);
	free(msg);
	/* expired */
	sig = replace(sig_ed, "t=1795279698;", "t=1795279698; x=1795279699;");
	msg = xasprintf("%s%s%s", sig, MSG_HEADER, MSG_BODY);
	assert_int_equal(verify1(msg, &reason), DKIM_RESULT_NEUTRAL);
	assert_string_equal(reason, "signature expired");
	free(sig);
	free(msg);
	/* garbage of every kind never crashes */
	{
		const char *junk[] = {
			"DKIM-Signature:\r\n\r\n",
			"DKIM-Signature: ;;;;\r\n\r\nx",
			"DKIM-Signature: b=\r\n",
			"DKIM-Signature: v=1; a=ed25519-sha256; d=a; s=b; "
			"h=from; bh=AAAA; b=AAAA\r\nFrom: x\r\n\r\n",
			"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; "
			"s=s1; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZ"
			"G3hSuFU=; b=AAAA\r\nFrom: x\r\n\r\n",
		};
		for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
			v = verify_split(junk[i], strlen(junk[i]), 0);
			assert_int_equal(dkim_verify_count(v), 1);
			assert_int_not_equal(dkim_verify_get(v, 0)->result,
					     DKIM_RESULT_PASS);
			dkim_verify_destroy(&v);
		}
	}
}

static const char *sign_fields(const char *pem, const char *selector,
			       const char *msg, struct str *field)
{
	struct pubkey_private *key = NULL;
	struct dkim_sign_settings set;
	struct dkim_sign *s;
	const char *error = NULL;

	assert_int_equal(pubkey_private_load_pem(pem, strlen(pem), &key,
						 &error), 0);
	memset(&set, 0, sizeof(set));
	set.domain = "example.org";
	set.selector = selector;
	set.key = key;
	set.timestamp = NOW;
	s = dkim_sign_create(&set);
	for (const char *p = msg; *p != '\0'; p++)	/* byte by byte */
		dkim_sign_feed(s, p, 1);
	if (dkim_sign_finish(s, field, &error) < 0)
		assert_non_null(error);
	else
		error = NULL;
	dkim_sign_destroy(&s);
	pubkey_private_destroy(&key);
	return error;
}

static void test_sign_and_verify(void **state)
{
	const char *pems[] = { unit_key_rsa1024_pem, unit_key_ed25519_pem };
	const char *sels[] = { "s1", "s2" };

	(void)state;
	zone_set();
	for (size_t k = 0; k < 2; k++) {
		struct str f, ar;
		char *msg;
		struct dkim_verify *v;

		str_init(&f, 1024);
		assert_null(sign_fields(pems[k], sels[k],
					MSG_HEADER "Cc: a@b\r\n" MSG_BODY,
					&f));
		assert_true(str_begins_with(str_c(&f), "DKIM-Signature: v=1; "
					    "a="));
		assert_non_null(strstr(str_c(&f), k == 0 ? "a=rsa-sha256;" :
				       "a=ed25519-sha256;"));
		assert_non_null(strstr(str_c(&f), "c=relaxed/relaxed;"));
		/* From: signed once more than present, the others as
		 * often as present, in the order of the default list */
		assert_non_null(strstr(str_c(&f), "h=from:from:subject:date:"
				       "message-id:to:cc;"));
		/* lines fit in 78 columns */
		for (const char *p = str_c(&f), *nl; p != NULL;
		     p = nl != NULL ? nl + 2 : NULL) {
			nl = strstr(p, "\r\n");
			assert_true((nl != NULL ? (size_t)(nl - p) :
				     strlen(p)) <= 78);
		}
		msg = xasprintf("%s\r\n%sCc: a@b\r\n%s", str_c(&f), MSG_HEADER,
				MSG_BODY);
		v = verify_split(msg, strlen(msg), 100);
		assert_int_equal(dkim_verify_count(v), 1);
		assert_int_equal(dkim_verify_get(v, 0)->result,
				 DKIM_RESULT_PASS);
		str_init(&ar, 256);
		dkim_verify_ar_append(v, &ar);
		assert_true(str_begins_with(str_c(&ar), "dkim=pass ("));
		assert_non_null(strstr(str_c(&ar), " header.d=example.org header.i=@example.org "
				       "header.s="));
		str_free(&ar);
		dkim_verify_destroy(&v);
		free(msg);
		/* a From: added on top breaks it */
		msg = xasprintf("%s\r\nFrom: evil@example.net\r\n%sCc: a@b\r\n"
				"%s", str_c(&f), MSG_HEADER, MSG_BODY);
		assert_int_equal(verify1(msg, NULL), DKIM_RESULT_FAIL);
		free(msg);
		str_free(&f);
	}
	/* no From: no signature */
	{
		struct str f;

		str_init(&f, 100);
		assert_non_null(sign_fields(unit_key_ed25519_pem, "s2",
					    "Subject: x\r\n\r\nbody\r\n", &f));
		assert_int_equal(f.len, 0);
		str_free(&f);
	}
}

static void test_two_signatures(void **state)
{
	char *msg, *bad;
	struct dkim_verify *v;
	struct str ar;

	(void)state;
	zone_set();
	bad = replace(sig_rsa, "s=rsa;", "s=tmp;");
	msg = xasprintf("%s%s%s%s", sig_ed, bad, MSG_HEADER, MSG_BODY);
	v = verify_split(msg, strlen(msg), 0);
	assert_int_equal(dkim_verify_count(v), 2);
	assert_int_equal(dkim_verify_get(v, 0)->result, DKIM_RESULT_PASS);
	assert_int_equal(dkim_verify_get(v, 1)->result,
			 DKIM_RESULT_PERMERROR); /* d= is football...: NX */
	str_init(&ar, 512);
	dkim_verify_ar_append(v, &ar);
	assert_non_null(strstr(str_c(&ar), "dkim=pass (256-bit key) "
			       "header.d=football.example.com "
			       "header.i=@football.example.com header.s=ed "
			       "header.a=ed25519-sha256 header.b=4jV49aYC;\r\n"
			       "\tdkim=permerror (no key for signature)"));
	str_free(&ar);
	dkim_verify_destroy(&v);
	free(msg);
	free(bad);
}

static void test_strip_b(void **state)
{
	struct str out;
	const char *v = " v=1; bh=abc; b=AB\r\n CD; x = 1;b =EF";

	(void)state;
	str_init(&out, 64);
	dkim_msg_strip_b(&out, v, strlen(v));
	assert_string_equal(str_c(&out), " v=1; bh=abc; b=; x = 1;b =");
	str_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dkimpy_vectors),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_key_problems),
		cmocka_unit_test(test_bad_signatures),
		cmocka_unit_test(test_sign_and_verify),
		cmocka_unit_test(test_two_signatures),
		cmocka_unit_test(test_strip_b),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
