/* test-esmtp-bofh.c: the bofh control file: every keyword, bad lines
 * with file and line, the address checks, malformed input. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esmtp-bofh.h"
#include "str.h"

static const char sample[] =
	"# rules\n"
	"badfrom spammer@bad.test\n"
	"badfrom @evil.test\n"
	"badfrom @.sub.test\n"
	"badfrom joe@.corp.test\n"
	"BADMX 127.0.0.2\n"
	"freemail mail.test  mx.mail.test other.test\n"
	"spamtrap Trap@Example.TEST\n"
	"maxrcpts 5 hard\n"
	"opt BOFHCHECKHELO=2\n"
	"opt BOFHHEADERLIMIT=5000\n"
	"opt BOFHNOBASE64TEXT=1\n"
	"opt BOFHCHECKDNS=1\n"
	"opt BOFHSPFHELO=fail,softfail\n";

static void collect(const char *file, unsigned int line, const char *msg,
		    void *context)
{
	str_printfa(context, "%s:%u: %s\n", file, line, msg);
}

static void test_keywords(void **state)
{
	struct str errs;
	struct esmtp_bofh *b;
	const struct esmtp_bofh_freemail *f;

	(void)state;
	str_init(&errs, 64);
	b = esmtp_bofh_parse("bofh", sample, sizeof(sample) - 1, collect,
			     &errs);
	assert_string_equal(str_c(&errs), "");
	assert_true(esmtp_bofh_badfrom(b, "spammer@bad.test"));
	assert_true(esmtp_bofh_badfrom(b, "SPAMMER@Bad.Test"));
	assert_false(esmtp_bofh_badfrom(b, "other@bad.test"));
	assert_true(esmtp_bofh_badfrom(b, "anyone@evil.test"));
	assert_false(esmtp_bofh_badfrom(b, "anyone@x.evil.test"));
	assert_true(esmtp_bofh_badfrom(b, "anyone@a.sub.test"));
	assert_false(esmtp_bofh_badfrom(b, "anyone@sub.test"));
	assert_false(esmtp_bofh_badfrom(b, "anyone@xsub.test"));
	assert_true(esmtp_bofh_badfrom(b, "joe@x.corp.test"));
	assert_false(esmtp_bofh_badfrom(b, "jim@x.corp.test"));
	assert_false(esmtp_bofh_badfrom(b, "no-at-sign"));
	assert_int_equal(b->badmx_count, 1);
	f = esmtp_bofh_freemail_find(b, "MAIL.test");
	assert_non_null(f);
	assert_string_equal(f->relays[0], "mail.test");
	assert_string_equal(f->relays[2], "other.test");
	assert_null(f->relays[3]);
	assert_true(esmtp_bofh_domain_within("smtp.mx.mail.test",
					     "mail.test"));
	assert_false(esmtp_bofh_domain_within("evilmail.test", "mail.test"));
	assert_true(esmtp_bofh_spamtrap(b, "trap@example.test"));
	assert_false(esmtp_bofh_spamtrap(b, "trap2@example.test"));
	assert_int_equal(b->maxrcpts, 5);
	assert_true(b->maxrcpts_hard);
	assert_int_equal(b->check_helo, 2);
	assert_int_equal(b->header_limit, 5000);
	assert_true(b->no_base64_text);
	assert_true(b->check_dns);
	assert_string_equal(esmtp_bofh_opt(b, "BOFHSPFHELO"),
			    "fail,softfail");
	assert_null(esmtp_bofh_opt(b, "BOFHSPFFROM"));
	esmtp_bofh_free(&b);
	assert_null(b);
	str_free(&errs);

	/* defaults */
	b = esmtp_bofh_parse("bofh", "", 0, NULL, NULL);
	assert_int_equal(b->header_limit, ESMTP_BOFH_DEFAULT_HEADERLIMIT);
	assert_int_equal(b->maxrcpts, 0);
	esmtp_bofh_free(&b);
}

static void test_bad_lines(void **state)
{
	static const char text[] =
		"badfrom nobody\n"
		"badfrom a@b@c\n"
		"badmx not-an-ip\n"
		"freemail\n"
		"spamtrap @x.test\n"
		"maxrcpts 0\n"
		"maxrcpts 5 soft\n"
		"opt BOFHCHECKHELO=3\n"
		"opt BOFHHEADERLIMIT=10\n"
		"opt NOEQUALS\n"
		"frobnicate\n"
		"badfrom @ok.test\n"
		"opt BOFHCHECKDNS=yes\n"
		"bad\0line\n";
	struct str errs;
	struct esmtp_bofh *b;

	(void)state;
	str_init(&errs, 64);
	b = esmtp_bofh_parse("etc/bofh", text, sizeof(text) - 1, collect,
			     &errs);
	assert_int_equal(b->bad_lines, 13);
	assert_non_null(strstr(str_c(&errs), "etc/bofh:13: BOFHCHECKDNS"));
	assert_non_null(strstr(str_c(&errs), "etc/bofh:14: NUL byte"));
	assert_false(b->check_dns);
	assert_non_null(strstr(str_c(&errs), "etc/bofh:1: badfrom needs"));
	assert_non_null(strstr(str_c(&errs), "etc/bofh:11: unknown keyword"));
	assert_null(strstr(str_c(&errs), "etc/bofh:12:"));
	assert_true(esmtp_bofh_badfrom(b, "x@ok.test"));
	assert_int_equal(b->check_helo, 0);
	esmtp_bofh_free(&b);
	str_free(&errs);
}

static void test_malformed_split(void **state)
{
	(void)state;
	for (size_t n = 0; n < sizeof(sample); n++) {
		struct str errs;
		struct esmtp_bofh *b;

		str_init(&errs, 64);
		b = esmtp_bofh_parse("x", sample + n, sizeof(sample) - 1 - n,
				     collect, &errs);
		(void)esmtp_bofh_badfrom(b, "a@b.sub.test");
		esmtp_bofh_free(&b);
		b = esmtp_bofh_parse("x", sample, n, collect, &errs);
		esmtp_bofh_free(&b);
		str_free(&errs);
	}
	struct esmtp_bofh *b = esmtp_bofh_parse("x", "badfrom @a\0b\n", 13,
						NULL, NULL);
	assert_int_equal(b->bad_lines, 1);
	esmtp_bofh_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_malformed_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
