/* test-dkim.c: DKIM building blocks (lib/dkim.h): tag lists, the
 * DKIM-Signature and key record parsers with malformed input, header
 * canonicalisation, body hashes (RFC 6376 examples) fed at every split. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dkim.h"
#include "hash.h"

static void body_hash_is(enum dkim_canon canon, const char *body,
			 const char *want_b64)
{
	size_t len = strlen(body);

	/* every split point gives the same digest */
	for (size_t split = 0; split <= len; split++) {
		struct dkim_body_hash *bh = dkim_body_hash_create(canon, false,
								  0);
		unsigned char d[HASH_SHA256_DIGEST_SIZE];
		struct str b64;

		dkim_body_hash_feed(bh, body, split);
		dkim_body_hash_feed(bh, body + split, len - split);
		dkim_body_hash_finish(bh, d, NULL);
		dkim_body_hash_destroy(&bh);
		assert_null(bh);
		str_init(&b64, 64);
		hash_base64_append(&b64, d, sizeof(d));
		assert_string_equal(str_c(&b64), want_b64);
		str_free(&b64);
	}
}

static void test_body_hash(void **state)
{
	(void)state;
	/* empty bodies (RFC 6376 3.4.3 and 3.4.4) */
	body_hash_is(DKIM_CANON_SIMPLE, "",
		     "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	body_hash_is(DKIM_CANON_SIMPLE, "\r\n\r\n",
		     "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	body_hash_is(DKIM_CANON_RELAXED, "",
		     "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	body_hash_is(DKIM_CANON_RELAXED, " \r\n\t\r\n",
		     "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	/* RFC 6376 appendix A.2 */
	body_hash_is(DKIM_CANON_SIMPLE,
		     "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n"
		     "\r\nJoe.\r\n",
		     "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	/* LF line ends, trailing empty lines, no final line end */
	body_hash_is(DKIM_CANON_SIMPLE,
		     "Hi.\n\nWe lost the game. Are you hungry yet?\n\nJoe.",
		     "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	body_hash_is(DKIM_CANON_SIMPLE,
		     "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n"
		     "\r\nJoe.\r\n\r\n\r\n",
		     "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	/* relaxed: blanks reduced and trailing ones dropped */
	{
		struct dkim_body_hash *a =
			dkim_body_hash_create(DKIM_CANON_RELAXED, false, 0);
		struct dkim_body_hash *b =
			dkim_body_hash_create(DKIM_CANON_RELAXED, false, 0);
		unsigned char da[32], db[32];

		dkim_body_hash_feed(a, " C \r\nD \t E\r\n\r\n\r\n", 16);
		dkim_body_hash_feed(b, " C\r\nD E\r\n", 9);
		dkim_body_hash_finish(a, da, NULL);
		dkim_body_hash_finish(b, db, NULL);
		assert_memory_equal(da, db, 32);
		dkim_body_hash_destroy(&a);
		dkim_body_hash_destroy(&b);
	}
	/* l= counts canonical bytes */
	{
		struct dkim_body_hash *a =
			dkim_body_hash_create(DKIM_CANON_SIMPLE, true, 5);
		struct dkim_body_hash *b =
			dkim_body_hash_create(DKIM_CANON_SIMPLE, false, 0);
		unsigned char da[32], db[32];
		uint64_t len;

		static const char body[] = "Hi.\r\nmore text appended\r\n";

		dkim_body_hash_feed(a, body, strlen(body));
		dkim_body_hash_finish(a, da, &len);
		assert_int_equal(len, strlen(body));
		hash_digest(HASH_SHA256, "Hi.\r\n", 5, db);
		assert_memory_equal(da, db, 32);
		dkim_body_hash_destroy(&a);
		dkim_body_hash_destroy(&b);
	}
}

static void test_canon_header(void **state)
{
	struct str s;
	static const char v[] = " Joe  SixPack\r\n\t <joe@football.example.com> ";

	(void)state;
	str_init(&s, 128);
	dkim_canon_header(&s, DKIM_CANON_RELAXED, "From ", 5, v, strlen(v),
			  true);
	assert_string_equal(str_c(&s),
			    "from:Joe SixPack <joe@football.example.com>\r\n");
	str_truncate(&s, 0);
	dkim_canon_header(&s, DKIM_CANON_SIMPLE, "From", 4, v, strlen(v),
			  false);
	assert_string_equal(str_c(&s), "From: Joe  SixPack\r\n\t "
				       "<joe@football.example.com> ");
	str_free(&s);
}

static const char good_sig[] =
	"v=1; a=rsa-sha256; s=brisbane; d=Example.COM;\r\n"
	"\tc=relaxed/simple; q=dns/txt; i=joe@football.example.com;\r\n"
	"\th=Received : From : To : Subject : Date : Message-ID; l=100;"
	" t=1117574938; x=1118006938;\r\n"
	"\tbh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	"\tb=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB\r\n"
	"\t 4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut\r\n"
	"\t KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV\r\n"
	"\t 4bmp/YzhwvcubU4=;";

static void test_signature_parse(void **state)
{
	struct dkim_signature sig;
	const char *error = NULL;

	(void)state;
	assert_int_equal(dkim_signature_parse(good_sig, strlen(good_sig), &sig,
					      &error),
			 0);
	assert_int_equal(sig.algo, DKIM_ALGO_RSA_SHA256);
	assert_int_equal(sig.header_canon, DKIM_CANON_RELAXED);
	assert_int_equal(sig.body_canon, DKIM_CANON_SIMPLE);
	assert_string_equal(sig.domain, "example.com");
	assert_string_equal(sig.selector, "brisbane");
	assert_string_equal(sig.identity, "joe@football.example.com");
	assert_int_equal(sig.header_count, 6);
	assert_string_equal(sig.headers[1], "from");
	assert_true(sig.has_length);
	assert_int_equal(sig.length, 100);
	assert_int_equal(sig.expiry, 1118006938);
	assert_int_equal(sig.sig_len, 128);
	dkim_signature_free(&sig);

	static const char *const bad[] = {
		"",
		"v=1",
		"v=2; a=rsa-sha256; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a.b; s=s; h=from",
		"v=1; a=rsa-sha1; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7X"
		"IkfJVOzv8=; d=a.b; s=s; h=from",
		"v=1; a=rsa-sha256; b=A!AA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a.b; s=s; h=from",
		"v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=a.b; s=s; h=from",
		"v=1; a=rsa-sha256; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a.b; s=s; h=to:subject",
		"v=1; a=rsa-sha256; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a.b; s=s; h=from; i=x@other.b",
		"v=1; a=rsa-sha256; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a.b; s=s; h=from; c=fancy",
		"v=1; a=rsa-sha256; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a.b; s=s; h=from; l=-1",
		"v=1; a=rsa-sha256; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a.b; s=s; h=from; t=10; x=5",
		"v=1; a=rsa-sha256; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a..b; s=s; h=from",
		"v=1; a=rsa-sha256; b=AAAA; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn"
		"7XIkfJVOzv8=; d=a.b; s=s; h=from; q=http",
		"v=1; v=1",
		"v=1; =x",
		"v=1; a",
		"v=1;; a=b",
		"v=1; a=\x01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(dkim_signature_parse(bad[i], strlen(bad[i]),
						      &sig, &error),
				 -1);
		assert_non_null(error);
		assert_null(sig.domain);
	}
}

static void test_key_parse(void **state)
{
	struct dkim_key key;
	const char *error;
	static const char ed[] =
		"v=DKIM1; k=ed25519; "
		"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

	(void)state;
	assert_int_equal(dkim_key_parse(ed, strlen(ed), &key, &error), 0);
	assert_int_equal(key.algo, DKIM_ALGO_ED25519_SHA256);
	assert_int_equal(key.key_len, 32);
	dkim_key_free(&key);
	assert_int_equal(dkim_key_parse("p=", 2, &key, &error), 0);
	assert_null(key.key);	/* revoked */
	dkim_key_free(&key);
	assert_int_equal(dkim_key_parse("t=y:s; p=AAAA", 13, &key, &error), 0);
	assert_true(key.testing && key.strict);
	dkim_key_free(&key);
	assert_int_equal(dkim_key_parse("v=DKIM2; p=AAAA", 15, &key, &error),
			 -1);
	assert_int_equal(dkim_key_parse("k=dsa; p=AAAA", 13, &key, &error), -1);
	assert_int_equal(dkim_key_parse("h=sha1; p=AAAA", 14, &key, &error),
			 -1);
	assert_int_equal(dkim_key_parse("s=tlsrpt; p=AAAA", 16, &key, &error),
			 -1);
	assert_int_equal(dkim_key_parse("k=rsa", 5, &key, &error), -1);
	assert_int_equal(dkim_key_parse("p=A*A", 5, &key, &error), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_hash),
		cmocka_unit_test(test_canon_header),
		cmocka_unit_test(test_signature_parse),
		cmocka_unit_test(test_key_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
