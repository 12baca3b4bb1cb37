/* test-esmtp-localfilter.c: the replies made of SMTP-time filters'
 * answers (localmailfilter(7)): exit codes, the filter's text with and
 * without a code, malformed output (control and 8-bit bytes, CRs, long
 * and many lines, output cut at every byte), filter names, and the
 * runner on a real child process. */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "esmtp-localfilter.h"

#define EXITED(n) ((n) << 8)

static enum esmtp_lmf_verdict verdict(int status, bool rcpt, const char *out,
				      char **reply)
{
	return esmtp_lmf_verdict(status, rcpt, out, strlen(out), reply);
}

static void test_exit_codes(void **state)
{
	char *reply;

	(void)state;
	assert_int_equal(verdict(EXITED(0), true, "", &reply),
			 ESMTP_LMF_ACCEPT);
	assert_null(reply);
	assert_int_equal(verdict(EXITED(99), true, "ignored", &reply),
			 ESMTP_LMF_CONTENT);
	assert_null(reply);
	/* the content filter's 99 is an accept */
	assert_int_equal(verdict(EXITED(99), false, "", &reply),
			 ESMTP_LMF_ACCEPT);
	assert_int_equal(verdict(EXITED(3), false, "", &reply),
			 ESMTP_LMF_NOFILTER);
	assert_null(reply);
	assert_int_equal(verdict(EXITED(1), true, "", &reply),
			 ESMTP_LMF_REJECT);
	assert_string_equal(reply, "550 5.7.1 Message rejected by the "
			    "recipient's mail filter");
	free(reply);
	assert_int_equal(verdict(EXITED(75), false, "", &reply),
			 ESMTP_LMF_TEMPFAIL);
	assert_true(strncmp(reply, "451 4.7.1 ", 10) == 0);
	free(reply);
	/* a signal, the helper failing to start, an unknown code */
	assert_int_equal(verdict(SIGKILL, false, "550 no", &reply),
			 ESMTP_LMF_TEMPFAIL);
	assert_string_equal(reply, "451 4.7.1 no");
	free(reply);
	assert_int_equal(verdict(-1, true, "", &reply), ESMTP_LMF_TEMPFAIL);
	free(reply);
	assert_int_equal(verdict(EXITED(2), true, "", &reply),
			 ESMTP_LMF_TEMPFAIL);
	free(reply);
}

static void test_texts(void **state)
{
	char *reply;

	(void)state;
	assert_int_equal(verdict(EXITED(1), true, "I don't want it\n",
				 &reply), ESMTP_LMF_REJECT);
	assert_string_equal(reply, "550 5.7.1 I don't want it");
	free(reply);
	/* the filter's code and enhanced code are kept */
	assert_int_equal(verdict(EXITED(1), false, "554 5.7.0 spam\n",
				 &reply), ESMTP_LMF_REJECT);
	assert_string_equal(reply, "554 5.7.0 spam");
	free(reply);
	/* a 4xx text makes a refusal temporary */
	assert_int_equal(verdict(EXITED(1), true, "450 busy\n", &reply),
			 ESMTP_LMF_TEMPFAIL);
	assert_string_equal(reply, "450 4.7.1 busy");
	free(reply);
	/* several lines, the code repeated or not */
	assert_int_equal(verdict(EXITED(1), true,
				 "553-first\n553 second\nthird\n\n\n",
				 &reply), ESMTP_LMF_REJECT);
	assert_string_equal(reply, "553-5.7.1 first\n553-5.7.1 second\n"
			    "553 5.7.1 third");
	free(reply);
	/* not a code: 2xx, 3 digits glued to text, a lone number */
	assert_int_equal(verdict(EXITED(1), true, "250 ok", &reply),
			 ESMTP_LMF_REJECT);
	assert_string_equal(reply, "550 5.7.1 250 ok");
	free(reply);
	assert_int_equal(verdict(EXITED(1), true, "5500 x", &reply),
			 ESMTP_LMF_REJECT);
	assert_string_equal(reply, "550 5.7.1 5500 x");
	free(reply);
	assert_int_equal(verdict(EXITED(1), true, "521", &reply),
			 ESMTP_LMF_REJECT);
	assert_string_equal(reply, "521 5.7.1 ");
	free(reply);
	/* an enhanced code of the wrong class is text */
	assert_int_equal(verdict(EXITED(1), true, "550 4.1.1 x", &reply),
			 ESMTP_LMF_REJECT);
	assert_string_equal(reply, "550 5.7.1 4.1.1 x");
	free(reply);
}

static void test_malformed(void **state)
{
	char out[ESMTP_LMF_MAX_OUTPUT * 2], *reply, *p;
	size_t lines;

	(void)state;
	/* control bytes, 8-bit bytes, NUL, CRs */
	assert_int_equal(esmtp_lmf_verdict(EXITED(1), true,
					   "bad\x01\x1b[0m\xc3\xa9\0x\r\n", 15,
					   &reply), ESMTP_LMF_REJECT);
	assert_string_equal(reply, "550 5.7.1 bad  [0m   x");
	free(reply);
	/* long lines are cut, many lines are cut, long output is cut */
	memset(out, 'a', sizeof(out));
	for (size_t i = 300; i < sizeof(out); i += 301)
		out[i] = '\n';
	assert_int_equal(esmtp_lmf_verdict(EXITED(1), false, out,
					   sizeof(out), &reply),
			 ESMTP_LMF_REJECT);
	lines = 1;
	for (p = reply; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, ESMTP_LMF_MAX_LINES);
	assert_int_equal(strchr(reply, '\n') - reply,
			 10 + ESMTP_LMF_MAX_LINE);
	free(reply);
	/* cut at every byte: always a well-formed reply */
	{
		static const char text[] = "554-5.7.1 one\r\n554 two\nthree";

		for (size_t i = 0; i <= sizeof(text) - 1; i++) {
			assert_int_equal(esmtp_lmf_verdict(EXITED(1), true,
							   text, i, &reply),
					 ESMTP_LMF_REJECT);
			assert_true(reply[0] == '5' && reply[3] != '\0');
			assert_null(strchr(reply, '\r'));
			free(reply);
		}
	}
}

static void test_filter_name(void **state)
{
	char *n;

	(void)state;
	n = esmtp_lmf_filter_name("rcptfilter", NULL);
	assert_string_equal(n, "rcptfilter");
	free(n);
	n = esmtp_lmf_filter_name("smtpfilter", "");
	assert_string_equal(n, "smtpfilter");
	free(n);
	n = esmtp_lmf_filter_name("smtpfilter", "lists-x");
	assert_string_equal(n, "smtpfilter-lists-x");
	free(n);
	n = esmtp_lmf_filter_name("rcptfilter", "../a.b/c");
	assert_string_equal(n, "rcptfilter-:::a:b:c");
	free(n);
}

static void test_argv(void **state)
{
	char **a;

	(void)state;
	a = esmtp_lmf_argv("/h", 30, "", "u@d", "192.0.2.1", "u@d",
			   "rcptfilter");
	assert_string_equal(a[0], "/h");
	assert_string_equal(a[1], "-t");
	assert_string_equal(a[2], "30");
	assert_string_equal(a[3], "-s");
	assert_string_equal(a[4], "");
	assert_string_equal(a[6], "u@d");
	assert_string_equal(a[7], "-i");
	assert_string_equal(a[9], "u@d");
	assert_string_equal(a[10], "rcptfilter");
	assert_null(a[11]);
	esmtp_lmf_argv_free(&a);
	assert_null(a);
	/* no IP; the alias account: -a, before the filter */
	a = esmtp_lmf_argv("/h", 1, NULL, "s@d", NULL, NULL,
			   "smtpfilter-alias-s@d");
	assert_string_equal(a[4], "");
	assert_string_equal(a[7], "-a");
	assert_string_equal(a[8], "smtpfilter-alias-s@d");
	assert_null(a[9]);
	esmtp_lmf_argv_free(&a);
}

static void test_run(void **state)
{
	char *argv_ok[] = { (char *)"/bin/sh", (char *)"-c",
			    (char *)"read x; echo \"550 $x\"; exit 1", NULL };
	char *argv_big[] = { (char *)"/bin/sh", (char *)"-c",
			     (char *)"head -c 100000 /dev/zero; exit 99",
			     NULL };
	char *argv_none[] = { (char *)"/nonexistent/helper", NULL };
	struct str out;
	int st;

	(void)state;
	/* stdin is /dev/null: read fails, $x empty */
	str_init(&out, 64);
	st = esmtp_lmf_run(argv_ok, -1, 5, &out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_string_equal(str_c(&out), "550 \n");
	str_free(&out);
	/* output past the limit is read and dropped */
	str_init(&out, 64);
	st = esmtp_lmf_run(argv_big, -1, 5, &out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 99);
	assert_int_equal(str_len(&out), ESMTP_LMF_MAX_OUTPUT);
	str_free(&out);
	/* a helper that cannot start: posix_spawn fails or the child
	 * exits 127: never an accept */
	str_init(&out, 64);
	st = esmtp_lmf_run(argv_none, -1, 5, &out);
	assert_true(st == -1 || (WIFEXITED(st) && WEXITSTATUS(st) == 127));
	str_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_filter_name),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
