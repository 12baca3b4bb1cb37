/* test-imap-sort.c: unit tests for the RFC 5256 base subject, the sort
 * keys taken from headers (addresses, display names, dates), the SORT
 * criteria parser, the sort order, and the keys as kept in the index. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "imap-parser.h"
#include "imap-sort.h"
#include "mem.h"

static void check_base(const char *subject, const char *base, bool reply)
{
	bool r;
	char *b = imap_base_subject(subject, strlen(subject), &r);

	if (strcmp(b, base) != 0 || r != reply)
		fail_msg("\"%s\": got \"%s\" (%d), want \"%s\" (%d)", subject,
			 b, r, base, reply);
	free(b);
}

static void test_base_subject(void **state)
{
	(void)state;
	check_base("", "", false);
	check_base("Hello", "Hello", false);
	check_base("  Hello   \t world  ", "Hello world", false);
	check_base("Re: Hello", "Hello", true);
	check_base("RE: re: Re:Hello", "Hello", true);
	check_base("Fwd: Hello", "Hello", true);
	check_base("FW: Hello", "Hello", true);
	check_base("Re[2]: Hello", "Hello", true);
	check_base("Re [2] : Hello", "Hello", true);
	check_base("[list] Re: Hello", "Hello", true);
	check_base("[list] Hello", "Hello", false);
	check_base("[list][other] Re: [list] Hello", "Hello", true);
	check_base("Hello (fwd)", "Hello", true);
	check_base("Hello (FWD) (fwd)  ", "Hello", true);
	check_base("[Fwd: Hello]", "Hello", true);
	check_base("[Fwd: Re: [list] Hello (fwd)]", "Hello", true);
	check_base("Re: [Fwd: Re: Hello]", "Hello", true);
	/* a blob alone is the subject */
	check_base("[list]", "[list]", false);
	check_base("Re: [list]", "[list]", true);
	/* not leaders */
	check_base("Reply to this", "Reply to this", false);
	check_base("Re Hello", "Re Hello", false);
	check_base("Fwdx: Hello", "Fwdx: Hello", false);
	check_base("[unclosed Re: Hello", "[unclosed Re: Hello", false);
	check_base("Re:", "", true);
	check_base("(fwd)", "", true);
	/* encoded words decoded first */
	check_base("=?UTF-8?Q?Re=3A_caf=C3=A9?=", "caf\xc3\xa9", true);
	check_base("Re: =?ISO-8859-1?Q?=E9t=E9?=  (fwd)", "\xc3\xa9t\xc3\xa9",
		   true);
	check_base("=?utf-8?b?W0Z3ZDogSGk=?= there]", "Hi there", true);
}

static void test_casecmp(void **state)
{
	(void)state;
	assert_int_equal(imap_sort_casecmp("abc", "ABC"), 0);
	assert_true(imap_sort_casecmp("abc", "abd") < 0);
	assert_true(imap_sort_casecmp("b", "A") > 0);
	assert_true(imap_sort_casecmp("", "a") < 0);
	/* non-ASCII bytes are compared as they are */
	assert_true(imap_sort_casecmp("\xc3\xa9", "\xc3\x89") != 0);
}

static void fill(struct imap_sort_msg *m, uint32_t seq, const char *hdr)
{
	char *copy = xstrdup(hdr);
	char *save = NULL;

	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->uid = seq * 10;
	m->arrival = 1000 + seq;
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		assert_non_null(colon);
		*colon = '\0';
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		imap_sort_msg_field(m, line, v, strlen(v));
	}
	free(copy);
	imap_sort_msg_finish(m);
}

static void test_keys(void **state)
{
	struct imap_sort_msg m;

	(void)state;
	fill(&m, 1, "From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>\n"
		    "To: undisclosed:;, \"Bob B\" <BOB@x.org>\n"
		    "Cc: (comment) carol@x.org\n"
		    "Subject: Re: Test\n"
		    "Date: Tue, 1 Jan 2019 00:00:00 +0100\n"
		    "Date: Wed, 2 Jan 2019 00:00:00 +0000\n"
		    "Subject: second is ignored");
	assert_string_equal(m.from, "zoe");
	assert_string_equal(m.display_from, "zo\xc3\xab");
	assert_string_equal(m.to, "BOB");
	assert_string_equal(m.display_to, "bob b");
	assert_string_equal(m.cc, "carol");
	assert_string_equal(m.subject, "Test");
	assert_true(m.subject_reply);
	assert_true(m.has_date);
	assert_int_equal(m.date, 1546297200);
	imap_sort_msg_free(&m);

	/* nothing usable: empty keys, arrival as date */
	fill(&m, 2, "From: <>\nDate: not a date\nTo: ,,,");
	assert_string_equal(m.from, "");
	assert_string_equal(m.to, "");
	assert_string_equal(m.subject, "");
	assert_false(m.has_date);
	assert_int_equal(m.date, 1002);
	/* display form without a name: the address */
	imap_sort_msg_free(&m);
	fill(&m, 3, "From: joe@example.com");
	assert_string_equal(m.display_from, "joe@example.com");
	imap_sort_msg_free(&m);
}

static int criteria(const char *text, struct imap_sort_criterion *crit)
{
	struct imap_parser_settings set = { .max_line = 0 };
	struct imap_parser *p = imap_parser_create(&set);
	char *line = xasprintf("t SORT %s\r\n", text);
	size_t used, count;
	const char *error;
	int n = -1;

	if (imap_parser_feed(p, line, strlen(line), &used) ==
	    IMAP_PARSE_DONE) {
		const struct imap_arg *args = imap_parser_args(p, &count);
		if (count >= 2)
			n = imap_sort_parse_criteria(&args[1], crit, &error);
	}
	free(line);
	imap_parser_destroy(&p);
	return n;
}

static void test_criteria(void **state)
{
	struct imap_sort_criterion c[IMAP_SORT_MAX_CRITERIA];

	(void)state;
	assert_int_equal(criteria("(REVERSE date subject displayfrom)", c), 3);
	assert_int_equal(c[0].key, IMAP_SORT_DATE);
	assert_true(c[0].reverse);
	assert_int_equal(c[1].key, IMAP_SORT_SUBJECT);
	assert_false(c[1].reverse);
	assert_int_equal(c[2].key, IMAP_SORT_DISPLAYFROM);
	assert_int_equal(criteria("(ARRIVAL CC FROM SIZE TO DISPLAYTO)", c),
			 6);
	assert_int_equal(criteria("()", c), -1);
	assert_int_equal(criteria("DATE", c), -1);
	assert_int_equal(criteria("(REVERSE)", c), -1);
	assert_int_equal(criteria("(REVERSE REVERSE DATE)", c), -1);
	assert_int_equal(criteria("(BOGUS)", c), -1);
	assert_int_equal(criteria("((DATE))", c), -1);
	assert_int_equal(criteria("(\"DATE\")", c), -1);
	assert_int_equal(
		criteria("(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
			 "DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
			 "DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
			 "DATE DATE DATE)", c),
		-1);
}

/* Only the keys the criteria read are worked out (IMAP_SORT_WANT_*). */
static void test_want(void **state)
{
	struct imap_sort_criterion c[IMAP_SORT_MAX_CRITERIA];
	struct imap_sort_msg m;
	static const char *const fields[][2] = {
		{ "From", "Zoe <zoe@example.com>" },
		{ "To", "bob@x.org" },
		{ "Cc", "carol@x.org" },
		{ "Subject", "Re: Test" },
		{ "Date", "Tue, 1 Jan 2019 00:00:00 +0100" },
		{ "Message-ID", "<a@b>" },
		{ "References", "<c@d>" },
	};

	(void)state;
	assert_int_equal(criteria("(DATE)", c), 1);
	assert_int_equal(imap_sort_want(c, 1), IMAP_SORT_WANT_DATE);
	assert_int_equal(criteria("(REVERSE ARRIVAL SIZE DISPLAYTO CC)", c), 4);
	assert_int_equal(imap_sort_want(c, 4),
			 IMAP_SORT_WANT_ARRIVAL | IMAP_SORT_WANT_SIZE |
				 IMAP_SORT_WANT_TO | IMAP_SORT_WANT_CC);
	assert_int_equal(criteria("(DISPLAYFROM SUBJECT)", c), 2);
	assert_int_equal(imap_sort_want(c, 2),
			 IMAP_SORT_WANT_FROM | IMAP_SORT_WANT_SUBJECT);

	memset(&m, 0, sizeof(m));
	m.want = IMAP_SORT_WANT_DATE;
	m.arrival = 5;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		imap_sort_msg_field(&m, fields[i][0], fields[i][1],
				    strlen(fields[i][1]));
	assert_true(m.has_date);
	assert_int_equal(m.date, 1546297200);
	assert_null(m.from);
	assert_null(m.subject);
	assert_null(m.message_id);
	imap_sort_msg_finish(&m);
	assert_string_equal(m.from, "");
	assert_string_equal(m.subject, "");
	imap_sort_msg_free(&m);

	memset(&m, 0, sizeof(m));
	m.want = IMAP_SORT_WANT_THREAD;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		imap_sort_msg_field(&m, fields[i][0], fields[i][1],
				    strlen(fields[i][1]));
	assert_string_equal(m.subject, "Test");
	assert_true(m.has_date);
	assert_string_equal(m.message_id, "<a@b>");
	assert_string_equal(m.references, "<c@d>");
	assert_null(m.from);
	assert_null(m.to);
	imap_sort_msg_free(&m);
}

static void test_sort(void **state)
{
	struct imap_sort_msg m[5];
	struct imap_sort_msg *order[5];
	/* Sorts made one after the other (each from the order the one
	 * before left) and the sequence numbers each gives. */
	static const struct {
		struct imap_sort_criterion c[2];
		size_t count;
		uint32_t want[5];
	} steps[] = {
		/* SUBJECT then seq: a(2), a(3), b(1), b(4), c(5) */
		{ { { IMAP_SORT_SUBJECT, false } }, 1, { 2, 3, 1, 4, 5 } },
		/* REVERSE DATE: msg 4 has no date: arrival 1004 (1970) is
		 * oldest */
		{ { { IMAP_SORT_DATE, true } }, 1, { 1, 3, 5, 2, 4 } },
		/* FROM (mailbox) */
		{ { { IMAP_SORT_FROM, false } }, 1, { 5, 4, 3, 2, 1 } },
		/* DISPLAYFROM: adam, v@x, w@x, y@x, zed */
		{ { { IMAP_SORT_DISPLAYFROM, false } }, 1, { 3, 5, 4, 2, 1 } },
		/* SIZE: 100 90 80 70 90(msg 5), ties by seq */
		{ { { IMAP_SORT_SIZE, false } }, 1, { 4, 3, 2, 5, 1 } },
		/* then REVERSE ARRIVAL */
		{ { { IMAP_SORT_SIZE, false }, { IMAP_SORT_ARRIVAL, true } },
		  2,
		  { 4, 3, 5, 2, 1 } },
	};

	(void)state;
	fill(&m[0], 1, "Subject: b\nFrom: Zed <z@x>\n"
		       "Date: 3 Jan 2020 00:00 +0000");
	fill(&m[1], 2, "Subject: Re: A\nFrom: y@x\n"
		       "Date: 1 Jan 2020 00:00 +0000");
	fill(&m[2], 3, "Subject: a\nFrom: Adam <x@x>\n"
		       "Date: 2 Jan 2020 00:00 +0000");
	fill(&m[3], 4, "Subject: [fwd: B]\nFrom: W@x");
	fill(&m[4], 5, "Subject: c\nFrom: v@x\n"
		       "Date: 2 Jan 2020 00:00 +0000");
	for (int i = 0; i < 5; i++) {
		m[i].size = (uint64_t)(100 - i * 10 + (i == 4 ? 30 : 0));
		order[i] = &m[i];
	}
	for (size_t k = 0; k < N_ELEMENTS(steps); k++) {
		imap_sort(order, 5, steps[k].c, steps[k].count);
		for (int i = 0; i < 5; i++)
			assert_int_equal(order[i]->seq, steps[k].want[i]);
	}
	for (int i = 0; i < 5; i++)
		imap_sort_msg_free(&m[i]);
}

/* The fields of hdr given to m (want set), without finishing. */
static void give(struct imap_sort_msg *m, unsigned int want, const char *hdr)
{
	char *copy = xstrdup(hdr);
	char *save = NULL;

	memset(m, 0, sizeof(*m));
	m->want = want;
	m->uid = 7;
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		assert_non_null(colon);
		*colon = '\0';
		imap_sort_msg_field(m, line, colon + 2, strlen(colon + 2));
	}
	free(copy);
}

static void assert_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_true(a == b);
	else
		assert_string_equal(a, b);
}

static void assert_same_keys(const struct imap_sort_msg *a,
			     const struct imap_sort_msg *b)
{
	assert_same_str(a->subject, b->subject);
	assert_int_equal(a->subject_reply, b->subject_reply);
	assert_same_str(a->from, b->from);
	assert_same_str(a->display_from, b->display_from);
	assert_same_str(a->to, b->to);
	assert_same_str(a->display_to, b->display_to);
	assert_same_str(a->cc, b->cc);
	assert_same_str(a->message_id, b->message_id);
	assert_same_str(a->references, b->references);
	assert_same_str(a->in_reply_to, b->in_reply_to);
	assert_int_equal(a->has_date, b->has_date);
	if (a->has_date)
		assert_int_equal(a->date, b->date);
}

static const char *const key_headers[] = {
	"From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>\n"
	"To: undisclosed:;, \"Bob B\" <BOB@x.org>\n"
	"Cc: (comment) carol@x.org\n"
	"Subject: Re: Test\n"
	"Date: Tue, 1 Jan 2019 00:00:00 +0100\n"
	"Message-ID: <a@b>\n"
	"References: <c@d> <e@f>\n"
	"In-Reply-To: <e@f>",
	/* no Date:, an empty Subject:, From: without a mailbox */
	"Subject: \nFrom: group:;",
	/* an invalid Date: (the internal date is used), a date before
	 * 1970 */
	"Date: not a date\nCc: x@y",
	"Date: 1 Jan 1960 00:00 +0000\nSubject: old",
	"",
};

/* Stored keys read back as the header gave them, for every set of keys
 * asked; a value lacking keys answers 0 with what it holds. */
static void test_stored_keys(void **state)
{
	static const unsigned int wants[] = {
		IMAP_SORT_WANT_DATE, IMAP_SORT_WANT_SUBJECT,
		IMAP_SORT_WANT_FROM | IMAP_SORT_WANT_TO, IMAP_SORT_WANT_CC,
		IMAP_SORT_WANT_THREAD, 0,
	};

	(void)state;
	for (size_t h = 0; h < N_ELEMENTS(key_headers); h++) {
		for (size_t w = 0; w < N_ELEMENTS(wants); w++) {
			struct imap_sort_msg a, b;
			unsigned int stored;
			size_t len;
			char *v;

			give(&a, wants[w], key_headers[h]);
			v = imap_sort_keys_encode(&a, &len);
			memset(&b, 0, sizeof(b));
			b.want = wants[w];
			assert_int_equal(imap_sort_keys_decode(&b, v, len,
							       &stored),
					 1);
			assert_int_equal(stored, wants[w] == 0 ?
							 IMAP_SORT_WANT_HEADER :
							 wants[w]);
			assert_same_keys(&a, &b);
			imap_sort_msg_finish(&a);
			imap_sort_msg_finish(&b);
			assert_same_keys(&a, &b);
			imap_sort_msg_free(&b);
			/* asking more than it holds */
			memset(&b, 0, sizeof(b));
			b.want = IMAP_SORT_WANT_HEADER;
			assert_int_equal(imap_sort_keys_decode(&b, v, len,
							       &stored),
					 wants[w] == 0 ? 1 : 0);
			if (wants[w] != 0) {
				assert_null(b.subject);
				assert_false(b.has_date);
			}
			imap_sort_msg_free(&b);
			imap_sort_msg_free(&a);
			free(v);
		}
	}
}

/* Malformed values (cut at every byte, every byte changed) answer -1 or
 * a consistent decode, never a crash or a half-filled message. */
static void test_stored_keys_malformed(void **state)
{
	struct imap_sort_msg a, b;
	unsigned int stored;
	size_t len;
	char *v;

	(void)state;
	give(&a, 0, key_headers[0]);
	v = imap_sort_keys_encode(&a, &len);
	for (size_t cut = 0; cut < len; cut++) {
		memset(&b, 0, sizeof(b));
		b.want = IMAP_SORT_WANT_THREAD;
		assert_int_equal(imap_sort_keys_decode(&b, v, cut, &stored),
				 -1);
		assert_int_equal(stored, 0);
		assert_false(b.has_date);
		assert_null(b.subject);
		/* the date alone is read from the fixed part (11 bytes) */
		memset(&b, 0, sizeof(b));
		b.want = IMAP_SORT_WANT_DATE;
		assert_int_equal(imap_sort_keys_decode(&b, v, cut, &stored),
				 cut < 11 ? -1 : 1);
		assert_int_equal(b.has_date, cut >= 11);
		if (cut >= 11)
			assert_int_equal(b.date, a.date);
	}
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char *c = xmemdup(v, len);
			int ret;

			c[i] = (char)(c[i] ^ (1 << bit));
			memset(&b, 0, sizeof(b));
			b.want = IMAP_SORT_WANT_THREAD;
			ret = imap_sort_keys_decode(&b, c, len, &stored);
			assert_true(ret >= -1 && ret <= 1);
			if (ret <= 0) {
				assert_null(b.subject);
				assert_null(b.message_id);
			}
			imap_sort_msg_free(&b);
			free(c);
		}
	}
	/* trailing garbage */
	char *longer = xmalloc(len + 1);
	memcpy(longer, v, len);
	longer[len] = 'x';
	memset(&b, 0, sizeof(b));
	assert_int_equal(imap_sort_keys_decode(&b, longer, len + 1, &stored),
			 -1);
	free(longer);
	free(v);
	imap_sort_msg_free(&a);
	/* a key of 64 KiB cannot be kept exactly: not encoded */
	char *refs = xmalloc(70001);
	memset(refs, 'r', 70000);
	refs[70000] = '\0';
	memset(&b, 0, sizeof(b));
	b.want = IMAP_SORT_WANT_THREAD;
	imap_sort_msg_field(&b, "References", refs, 70000);
	assert_null(imap_sort_keys_encode(&b, &len));
	assert_int_equal(len, 0);
	imap_sort_msg_free(&b);
	refs[65534] = '\0';
	memset(&b, 0, sizeof(b));
	b.want = IMAP_SORT_WANT_THREAD;
	imap_sort_msg_field(&b, "References", refs, 65534);
	v = imap_sort_keys_encode(&b, &len);
	assert_non_null(v);
	memset(&a, 0, sizeof(a));
	a.want = IMAP_SORT_WANT_THREAD;
	assert_int_equal(imap_sort_keys_decode(&a, v, len, &stored), 1);
	assert_same_keys(&a, &b);
	imap_sort_msg_free(&a);
	imap_sort_msg_free(&b);
	free(v);
	free(refs);
	/* a key session without an index does nothing */
	memset(&b, 0, sizeof(b));
	assert_false(imap_sort_keys_get(NULL, &b));
	imap_sort_keys_add(NULL, &b);
	struct imap_sort_keys *none = NULL;
	imap_sort_keys_end(&none);
}

/* A sort by one numeric key (radix sorted when in sequence order, else
 * compared) gives the order of the generic comparison: the key, ties by
 * sequence number; negative dates and REVERSE too. */
static void test_sort_numeric(void **state)
{
	enum { N = 2000 };
	struct imap_sort_msg *m = xcalloc(N, sizeof(*m));
	struct imap_sort_msg *a[N], *b[N];
	static const enum imap_sort_key keys[] = {
		IMAP_SORT_DATE, IMAP_SORT_ARRIVAL, IMAP_SORT_SIZE,
	};
	unsigned int seed = 12345;

	(void)state;
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		m[i].seq = (uint32_t)i + 1;
		/* few distinct values: many ties; some before 1970 */
		m[i].date = (int64_t)(seed % 97) * 86400 - 40 * 86400 +
			    1600000000 * (int64_t)((seed >> 8) % 2);
		m[i].arrival = (int64_t)((seed >> 4) % 13) - 6;
		m[i].size = (seed >> 12) % 5 == 0 ? UINT64_MAX - (seed % 3) :
						    (seed >> 12) % 31;
		m[i].has_date = true;
		imap_sort_msg_finish(&m[i]);
	}
	for (int shuffled = 0; shuffled < 2; shuffled++) {
		for (size_t k = 0; k < N_ELEMENTS(keys); k++) {
			for (int rev = 0; rev < 2; rev++) {
				struct imap_sort_criterion one[1] = {
					{ keys[k], rev != 0 },
				};
				/* the generic path: a second criterion that
				 * ties everything (seq stays the last word) */
				struct imap_sort_criterion two[2] = {
					{ keys[k], rev != 0 },
					{ IMAP_SORT_SUBJECT, false },
				};

				for (int i = 0; i < N; i++) {
					int j = shuffled ? (i * 7919) % N : i;

					a[i] = b[i] = &m[j];
				}
				imap_sort(a, N, one, 1);
				imap_sort(b, N, two, 2);
				for (int i = 0; i < N; i++)
					assert_int_equal(a[i]->seq,
							 b[i]->seq);
			}
		}
	}
	for (int i = 0; i < N; i++)
		imap_sort_msg_free(&m[i]);
	free(m);
}

/* A sort by one string key (SUBJECT, FROM, TO, CC case-mapped,
 * DISPLAYFROM, DISPLAYTO as bytes) through the ranks of the distinct keys
 * gives the order of the generic comparison: keys equal but for case,
 * equal prefixes, REVERSE. */
static void test_sort_string(void **state)
{
	enum { N = 1500 };
	static const char *const words[] = {
		"", "a", "A", "ab", "abcdefgh", "ABCDEFGH", "abcdefghi",
		"abcdefgH", "abcdefghij", "ABCDEFGHIJ", "abcdefgg", "b",
		"\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", "zzzzzzzzzzzzzzzz",
		"zzzzzzzzzzzzzzzy", "[x]", "~", "12345678", "1234567",
	};
	static const enum imap_sort_key keys[] = {
		IMAP_SORT_SUBJECT, IMAP_SORT_FROM, IMAP_SORT_TO, IMAP_SORT_CC,
		IMAP_SORT_DISPLAYFROM, IMAP_SORT_DISPLAYTO,
	};
	struct imap_sort_msg *m = xcalloc(N, sizeof(*m));
	struct imap_sort_msg *a[N], *b[N];
	unsigned int seed = 4321;

	(void)state;
	for (int i = 0; i < N; i++) {
		char **f[] = { &m[i].subject, &m[i].from, &m[i].to, &m[i].cc,
			       &m[i].display_from, &m[i].display_to };

		m[i].seq = (uint32_t)i + 1;
		m[i].has_date = true;
		for (size_t k = 0; k < N_ELEMENTS(f); k++) {
			seed = seed * 1103515245u + 12345u;
			*f[k] = xstrdup(words[(seed >> 16) % N_ELEMENTS(words)]);
		}
		imap_sort_msg_finish(&m[i]);
	}
	for (size_t k = 0; k < N_ELEMENTS(keys); k++) {
		for (int rev = 0; rev < 2; rev++) {
			struct imap_sort_criterion one[1] = {
				{ keys[k], rev != 0 },
			};
			/* the generic path: a criterion that ties all */
			struct imap_sort_criterion two[2] = {
				{ keys[k], rev != 0 },
				{ IMAP_SORT_DATE, false },
			};

			/* in sequence order (radix sorted ranks), then
			 * shuffled (compared) */
			for (int sh = 0; sh < 2; sh++) {
				for (int i = 0; i < N; i++)
					a[i] = b[i] =
						&m[sh ? (i * 7919) % N : i];
				imap_sort(a, N, one, 1);
				imap_sort(b, N, two, 2);
				for (int i = 0; i < N; i++)
					assert_int_equal(a[i]->seq,
							 b[i]->seq);
			}
		}
	}
	for (int i = 0; i < N; i++)
		imap_sort_msg_free(&m[i]);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_subject),
		cmocka_unit_test(test_casecmp),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_criteria),
		cmocka_unit_test(test_want),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_sort_numeric),
		cmocka_unit_test(test_sort_string),
		cmocka_unit_test(test_stored_keys),
		cmocka_unit_test(test_stored_keys_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
