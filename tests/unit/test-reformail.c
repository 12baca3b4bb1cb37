/* test-reformail.c: unit tests for reformail's header engine: splitting,
 * keys, every edit and their precedence, -f addresses, unfolding, and
 * malformed headers. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mem.h"
#include "str.h"
#include "reformail.h"

/* Splits hdr, applies o, returns the headers joined with "|". */
static char *edit(const char *hdr, const struct reformail_opts *o,
		  const char *from_addr)
{
	struct reformail_fields f = { 0 };
	struct str s;

	reformail_split_header(hdr, strlen(hdr), &f);
	reformail_edit(o, &f, from_addr, "host.example");
	str_init(&s, 256);
	for (size_t i = 0; i < f.count; i++) {
		str_append(&s, f.v[i].text);
		str_append_c(&s, '|');
	}
	reformail_fields_free(&f);
	return str_steal(&s);
}

#define LIST(...) ((const char *[]){ __VA_ARGS__, NULL })

static void test_key(void **state)
{
	(void)state;
	char *k = reformail_key("Subject: x: y", 13);

	assert_string_equal(k, "subject:");
	free(k);
	k = reformail_key("No Colon", 8);
	assert_string_equal(k, "no colon");
	free(k);
	k = reformail_key("", 0);
	assert_string_equal(k, "");
	free(k);
}

static void test_split(void **state)
{
	(void)state;
	struct reformail_fields f = { 0 };
	const char *hdr = "A: 1\n b\nBroken\n lead\nZ :w\n";

	reformail_split_header(hdr, strlen(hdr), &f);
	assert_int_equal(f.count, 3);
	assert_string_equal(f.v[0].text, "A: 1\n b");
	assert_string_equal(f.v[1].text, "Broken\n lead");
	/* no colon: the key is the first line, as in Debian's reformail */
	assert_string_equal(f.v[1].key, "broken");
	assert_string_equal(f.v[2].key, "z :");
	reformail_fields_free(&f);
	/* empty and unterminated blocks */
	reformail_split_header("", 0, &f);
	assert_int_equal(f.count, 0);
	reformail_split_header("X: no newline", 13, &f);
	assert_int_equal(f.count, 1);
	assert_string_equal(f.v[0].text, "X: no newline");
	reformail_fields_free(&f);
}

static void test_edits(void **state)
{
	(void)state;
	const char *hdr = "A: 1\nB: 2\nA: 3\nC: c\nB: 4\nReturn-Path: <o>\n";
	struct reformail_opts o;
	char *r;

	memset(&o, 0, sizeof(o));
	o.from_mode = -1;
	o.add_replace = LIST("C: n");
	o.n_add_replace = 1;
	o.add_missing = LIST("D: d", "A: no");
	o.n_add_missing = 2;
	o.add_always = LIST("E: e");
	o.n_add_always = 1;
	o.add_rename = LIST("B: nb");
	o.n_add_rename = 1;
	o.uniq_last = LIST("a:");
	o.n_uniq_last = 1;
	r = edit(hdr, &o, NULL);
	/* the -U'd A: counts as absent for -a */
	assert_string_equal(r, "Old-B: 2|Old-B: 4|Return-Path: <o>|D: d|A: no|"
			    "E: e|B: nb|C: n|A: 3|");
	free(r);

	/* as Debian's: an option is a line's when it starts with the
	 * line's name (a colon-less line is named by all of it); each line
	 * stands for one -a of its name; -U holds a line to the end, where
	 * -R renames it; -u wins over -U */
	memset(&o, 0, sizeof(o));
	o.from_mode = -1;
	o.add_replace = LIST("Bad line v");
	o.n_add_replace = 1;
	o.add_missing = LIST("X: 1", "X: 2", "X: 3");
	o.n_add_missing = 3;
	o.uniq_last = LIST("S:", "T:");
	o.n_uniq_last = 2;
	o.uniq_first = LIST("T:");
	o.n_uniq_first = 1;
	o.rename_old = LIST("S:");
	o.rename_new = LIST("Q:");
	o.n_rename = 1;
	r = edit("S: s\nBad line\nX: a\nT: 1\nX: b\nT: 2\n", &o, NULL);
	assert_string_equal(r, "X: a|T: 1|X: b|X: 3|Bad line v|Q: s|");
	free(r);

	memset(&o, 0, sizeof(o));
	o.from_mode = 0;
	o.uniq_first = LIST("A:");
	o.n_uniq_first = 1;
	o.rename_old = LIST("B:");
	o.rename_new = LIST("Q");
	o.n_rename = 1;
	o.add_missing = LIST("B: again", "Message-ID:");
	o.n_add_missing = 2;
	r = edit(hdr, &o, "f@x");
	/* renamed B: still counts as present; Return-Path replaced */
	assert_true(strncmp(r, "A: 1|Q 2|C: c|Q 4|Message-ID: <", 30) == 0);
	assert_non_null(strstr(r, ".reformail@host.example>|"
			       "Return-Path: <f@x>|"));
	free(r);

	/* -i and -I beat -R and -u; empty values add nothing */
	memset(&o, 0, sizeof(o));
	o.from_mode = -1;
	o.add_rename = LIST("a:");
	o.n_add_rename = 1;
	o.add_replace = LIST("b:");
	o.n_add_replace = 1;
	o.rename_old = LIST("A:", "B:");
	o.rename_new = LIST("X:", "Y:");
	o.n_rename = 2;
	r = edit(hdr, &o, NULL);
	assert_string_equal(r, "Old-A: 1|Old-A: 3|C: c|Return-Path: <o>|");
	free(r);
}

static void test_sender_and_from(void **state)
{
	(void)state;
	struct reformail_fields f = { 0 };
	const char *hdr = "From: \"N\" <x@y>\nErrors-To: e@x\nErrors-To: g@x\n"
		"Return-Path: <r@p>\n";
	char *s;

	reformail_split_header(hdr, strlen(hdr), &f);
	s = reformail_sender(&f);
	assert_string_equal(s, "g@x");
	free(s);
	reformail_fields_free(&f);
	reformail_split_header("From: bad <\n", 12, &f);
	s = reformail_sender(&f);
	assert_string_equal(s, "root");
	free(s);
	reformail_fields_free(&f);
	s = reformail_sender(&f);
	assert_string_equal(s, "root");
	free(s);

	s = reformail_from_line_addr("From  <a@b>  Mon");
	assert_string_equal(s, "a@b");
	free(s);
	s = reformail_from_line_addr("From ");
	assert_string_equal(s, "");
	free(s);
	s = reformail_from_line_addr("From <");
	assert_string_equal(s, "");
	free(s);
}

static void test_unfold_value(void **state)
{
	(void)state;
	char text[] = "Subject:   a  \n  \n\t b\n", key[] = "subject:";
	char t2[] = "S";
	struct reformail_field f = { text, key };
	struct str s;

	str_init(&s, 64);
	reformail_unfold(&s, f.text);
	assert_string_equal(str_c(&s), "Subject:   a   b ");
	str_clear(&s);
	reformail_value(&s, &f);
	assert_string_equal(str_c(&s), "a   b ");
	str_clear(&s);
	/* a key longer than the text (cannot happen, must not overrun) */
	f.text = t2;
	reformail_value(&s, &f);
	assert_string_equal(str_c(&s), "");
	str_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_edits),
		cmocka_unit_test(test_sender_and_from),
		cmocka_unit_test(test_unfold_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
