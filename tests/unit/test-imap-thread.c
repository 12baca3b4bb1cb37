/* test-imap-thread.c: unit tests for THREAD=ORDEREDSUBJECT and
 * THREAD=REFERENCES, with RFC 5256's tricky cases: missing parents
 * (dummies), loops in References, duplicate and missing Message-IDs,
 * In-Reply-To only, subject gathering of roots, and deep chains. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "imap-thread.h"
#include "mem.h"

struct spec {
	const char *id, *refs, *irt, *subject;
	int64_t date;
};

/* Threads the messages (sequence numbers 1..n in order) and returns the
 * response text; caller frees. */
static char *thread(const struct spec *s, size_t n,
		    enum imap_thread_algorithm algo)
{
	struct imap_sort_msg *msgs = xcalloc(n + 1, sizeof(*msgs));
	struct imap_sort_msg **ptrs = xcalloc(n + 1, sizeof(*ptrs));
	struct str out;

	for (size_t i = 0; i < n; i++) {
		struct imap_sort_msg *m = &msgs[i];

		m->seq = (uint32_t)i + 1;
		m->uid = (uint32_t)(i + 1) * 10;
		m->arrival = s[i].date;
		if (s[i].id != NULL)
			imap_sort_msg_field(m, "Message-ID", s[i].id,
					    strlen(s[i].id));
		if (s[i].refs != NULL)
			imap_sort_msg_field(m, "References", s[i].refs,
					    strlen(s[i].refs));
		if (s[i].irt != NULL)
			imap_sort_msg_field(m, "In-Reply-To", s[i].irt,
					    strlen(s[i].irt));
		if (s[i].subject != NULL)
			imap_sort_msg_field(m, "Subject", s[i].subject,
					    strlen(s[i].subject));
		imap_sort_msg_finish(m);
		/* feed in reverse to show the input order does not matter */
		ptrs[n - 1 - i] = m;
	}
	str_init(&out, 256);
	imap_thread(ptrs, n, algo, false, &out);
	for (size_t i = 0; i < n; i++)
		imap_sort_msg_free(&msgs[i]);
	free(msgs);
	free(ptrs);
	return str_steal(&out);
}

#define CHECK(specs, algo, want)                                         \
	do {                                                             \
		char *got = thread(specs, N_ELEMENTS(specs), algo);      \
		if (strcmp(got, want) != 0)                              \
			fail_msg("got %s, want %s", got, want);          \
		free(got);                                               \
	} while (0)

static void test_simple_chain(void **state)
{
	static const struct spec s[] = {
		{ "<1@x>", NULL, NULL, "hello", 100 },
		{ "<2@x>", "<1@x>", NULL, "Re: hello", 200 },
		{ "<3@x>", "<1@x> <2@x>", NULL, "Re: hello", 300 },
		{ "<4@x>", "<1@x>", NULL, "Re: hello", 250 },
		{ "<5@x>", NULL, NULL, "other", 50 },
	};
	(void)state;
	CHECK(s, IMAP_THREAD_REFERENCES, "(5)(1 (2 3)(4))");
	/* ORDEREDSUBJECT: by base subject, date; threads by first date */
	CHECK(s, IMAP_THREAD_ORDEREDSUBJECT, "(5)(1 (2)(4)(3))");
}

static void test_missing_parent(void **state)
{
	/* 2 and 3 reply to a message we do not have: a dummy parent with
	 * two children stays at the root */
	static const struct spec s[] = {
		{ "<2@x>", "<1@x>", NULL, "Re: lost", 200 },
		{ "<3@x>", "<1@x>", NULL, "Re: lost", 300 },
		{ "<4@x>", "<0@x> <1@x> <2@x>", NULL, "Re: lost", 400 },
	};
	/* one child of a missing parent: promoted to the root */
	static const struct spec s2[] = {
		{ "<2@x>", "<0@x> <1@x>", NULL, "Re: alone", 200 },
		{ "<3@x>", NULL, NULL, "other", 100 },
	};
	(void)state;
	CHECK(s, IMAP_THREAD_REFERENCES, "((1 3)(2))");
	CHECK(s2, IMAP_THREAD_REFERENCES, "(2)(1)");
}

static void test_in_reply_to(void **state)
{
	static const struct spec s[] = {
		{ "<a@x>", NULL, NULL, "q", 100 },
		{ "<b@x>", NULL, "<a@x> <zzz@x>", "q?", 200 },
		{ "<c@x>", NULL, "garbage", "r", 300 },
	};
	(void)state;
	CHECK(s, IMAP_THREAD_REFERENCES, "(1 2)(3)");
}

static void test_loops(void **state)
{
	/* References that loop (a b a, and 2 naming itself) must not hang
	 * nor lose messages */
	static const struct spec s[] = {
		{ "<a@x>", "<b@x>", NULL, "loop", 100 },
		{ "<b@x>", "<a@x>", NULL, "loop", 200 },
		{ "<c@x>", "<a@x> <b@x> <a@x> <c@x>", NULL, "loop", 300 },
	};
	static const struct spec self[] = {
		{ "<s@x>", "<s@x>", NULL, "self", 100 },
		{ "<t@x>", "<s@x>", NULL, "self", 200 },
	};
	(void)state;
	CHECK(s, IMAP_THREAD_REFERENCES, "(2 1 3)");
	CHECK(self, IMAP_THREAD_REFERENCES, "(1 2)");
}

static void test_duplicate_and_missing_ids(void **state)
{
	static const struct spec s[] = {
		{ "<d@x>", NULL, NULL, "dup", 100 },
		{ "<d@x>", NULL, NULL, "another", 200 },
		{ NULL, "<d@x>", NULL, "Re: dup", 300 },
		{ "no brackets", NULL, NULL, "nothing", 400 },
		{ "<>", NULL, NULL, "empty id", 500 },
	};
	(void)state;
	/* the second <d@x> is a message of its own; the reply goes to the
	 * first */
	CHECK(s, IMAP_THREAD_REFERENCES, "(1 3)(2)(4)(5)");
}

static void test_subject_gathering(void **state)
{
	/* roots with the same base subject are gathered: a reply under the
	 * original; two originals under a dummy */
	static const struct spec s[] = {
		{ "<1@x>", NULL, NULL, "Meeting", 100 },
		{ "<2@x>", NULL, NULL, "Re: Meeting", 200 },
		{ "<3@x>", NULL, NULL, "lunch", 150 },
		{ "<4@x>", NULL, NULL, "LUNCH", 250 },
		{ "<5@x>", NULL, NULL, "", 50 },
		{ "<6@x>", NULL, NULL, "", 60 },
	};
	/* a reply seen first still goes under the original */
	static const struct spec s2[] = {
		{ "<2@x>", NULL, NULL, "Re: Meeting", 100 },
		{ "<1@x>", NULL, NULL, "Meeting", 200 },
	};
	(void)state;
	CHECK(s, IMAP_THREAD_REFERENCES, "(5)(6)(1 2)((3)(4))");
	CHECK(s2, IMAP_THREAD_REFERENCES, "(2 1)");
}

static void test_sibling_order_and_ties(void **state)
{
	/* siblings by date, same date by sequence number */
	static const struct spec s[] = {
		{ "<r@x>", NULL, NULL, "t", 100 },
		{ "<c1@x>", "<r@x>", NULL, "Re: t", 500 },
		{ "<c2@x>", "<r@x>", NULL, "Re: t", 300 },
		{ "<c3@x>", "<r@x>", NULL, "Re: t", 300 },
		{ "<g@x>", "<r@x> <c1@x>", NULL, "Re: t", 50 },
	};
	(void)state;
	CHECK(s, IMAP_THREAD_REFERENCES, "(1 (3)(4)(2 5))");
}

static void test_deep_chain(void **state)
{
	/* a 20000-message chain: no recursion, right output */
	size_t n = 20000;
	struct spec *s = xcalloc(n, sizeof(*s));
	char **ids = xcalloc(n, sizeof(*ids));

	(void)state;
	for (size_t i = 0; i < n; i++) {
		ids[i] = xasprintf("<m%zu@x>", i);
		s[i].id = ids[i];
		s[i].refs = i > 0 ? ids[i - 1] : NULL;
		s[i].subject = "deep";
		s[i].date = (int64_t)i;
	}
	char *got = thread(s, n, IMAP_THREAD_REFERENCES);
	assert_true(strncmp(got, "(1 2 3 ", 7) == 0);
	assert_true(str_ends_with(got, " 19999 20000)"));
	free(got);
	got = thread(s, n, IMAP_THREAD_ORDEREDSUBJECT);
	assert_true(strncmp(got, "(1 (2)(3)", 9) == 0);
	free(got);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(s);
}

static void test_empty_and_algorithms(void **state)
{
	struct str out;
	enum imap_thread_algorithm a;

	(void)state;
	str_init(&out, 16);
	imap_thread(NULL, 0, IMAP_THREAD_REFERENCES, false, &out);
	assert_int_equal(str_len(&out), 0);
	str_free(&out);
	assert_int_equal(imap_thread_algorithm_parse("references", &a), 0);
	assert_int_equal(a, IMAP_THREAD_REFERENCES);
	assert_int_equal(imap_thread_algorithm_parse("OrderedSubject", &a),
			 0);
	assert_int_equal(a, IMAP_THREAD_ORDEREDSUBJECT);
	assert_int_equal(imap_thread_algorithm_parse("REFS", &a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_chain),
		cmocka_unit_test(test_missing_parent),
		cmocka_unit_test(test_in_reply_to),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_duplicate_and_missing_ids),
		cmocka_unit_test(test_subject_gathering),
		cmocka_unit_test(test_sibling_order_and_ties),
		cmocka_unit_test(test_deep_chain),
		cmocka_unit_test(test_empty_and_algorithms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
