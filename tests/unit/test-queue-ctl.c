/* test-queue-ctl.c: unit tests for mta/ctlfile (control file records). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ctlfile.h"
#include "mem.h"
#include "str.h"

static struct ctl_file *parse_ok(const char *text)
{
	struct ctl_file *ctl;
	const char *error = NULL;

	assert_int_equal(ctl_parse(text, strlen(text), NULL, &ctl, &error),
			 0);
	assert_non_null(ctl);
	return ctl;
}

static void test_roundtrip(void **state)
{
	struct ctl_file *ctl = ctl_file_new(), *back;
	struct str out;
	const char *error;

	(void)state;
	free(ctl->sender);
	ctl->sender = xstrdup("a@example.test");
	ctl->source = xstrdup("local");
	ctl->envid = xstrdup("ENV123");
	ctl->ret = 'H';
	ctl->msgid = xstrdup("<x@y>");
	ctl->body_8bit = true;
	ctl->expires = 2000;
	ctl->warn_time = 1500;
	ctl_file_add_rcpt(ctl, "b@example.test", "rfc822;b@example.test",
			  CTL_NOTIFY_SUCCESS | CTL_NOTIFY_FAILURE);
	ctl_file_add_rcpt(ctl, "c@example.test", NULL, 0);
	ctl_file_add_rcpt(ctl, "d@example.test", NULL, CTL_NOTIFY_NEVER);
	str_init(&out, 64);
	assert_int_equal(ctl_write_envelope(&out, ctl, &error), 0);
	assert_true(str_begins_with(str_c(&out), "sa@example.test\n"));
	assert_non_null(strstr(str_c(&out),
			       "rb@example.test\nRrfc822;b@example.test\nNSF\n"));
	assert_non_null(strstr(str_c(&out), "rc@example.test\nR\nN\n"));
	assert_non_null(strstr(str_c(&out), "rd@example.test\nR\nNN\n"));
	ctl_write_status(&out, 0, CTL_STATUS_DELIVERED, 'l', 1234,
			 "250 ok\r\nmore");
	ctl_write_status(&out, 1, CTL_STATUS_DEFERRED, 0, 1235, NULL);
	ctl_write_status(&out, 2, CTL_STATUS_FAILED, 0, 1236,
			 "550 unknown");
	str_append(&out, "C1240\nA1540\nw\n");
	back = parse_ok(str_c(&out));
	assert_string_equal(back->sender, "a@example.test");
	assert_string_equal(back->source, "local");
	assert_string_equal(back->envid, "ENV123");
	assert_int_equal(back->ret, 'H');
	assert_string_equal(back->msgid, "<x@y>");
	assert_true(back->body_8bit);
	assert_int_equal(back->expires, 2000);
	assert_int_equal(back->warn_time, 1500);
	assert_int_equal(back->rcpt_count, 3);
	assert_string_equal(back->rcpts[0].orcpt, "rfc822;b@example.test");
	assert_null(back->rcpts[1].orcpt);
	assert_int_equal(back->rcpts[0].notify,
			 CTL_NOTIFY_SUCCESS | CTL_NOTIFY_FAILURE);
	assert_int_equal(back->rcpts[0].status, CTL_STATUS_DELIVERED);
	assert_int_equal(back->rcpts[0].status_how, 'l');
	assert_string_equal(back->rcpts[0].diag, "250 ok  more");
	assert_int_equal(back->rcpts[1].status, CTL_STATUS_DEFERRED);
	assert_int_equal(back->rcpts[1].attempts, 1);
	assert_int_equal(back->rcpts[2].status, CTL_STATUS_FAILED);
	assert_string_equal(back->rcpts[2].diag, "550 unknown");
	assert_int_equal(back->rounds, 1);
	assert_int_equal(back->last_round, 1240);
	assert_int_equal(back->next_attempt, 1540);
	assert_true(back->warned);
	assert_int_equal(back->bad_lines, 0);
	assert_false(ctl_file_all_final(back));
	assert_false(ctl_rcpt_wants(&back->rcpts[2], CTL_NOTIFY_FAILURE));
	assert_true(ctl_rcpt_wants(&back->rcpts[1], CTL_NOTIFY_DELAY));
	assert_false(ctl_rcpt_wants(&back->rcpts[1], CTL_NOTIFY_SUCCESS));
	ctl_file_free(&back);
	ctl_file_free(&ctl);
	assert_null(ctl);
	str_free(&out);
}

static void test_final_is_final(void **state)
{
	struct ctl_file *ctl;

	(void)state;
	ctl = parse_ok("s\nra@b\nR\nN\nS0 10 l\nD0 11\nF0 12\n");
	assert_int_equal(ctl->rcpts[0].status, CTL_STATUS_DELIVERED);
	assert_int_equal(ctl->rcpts[0].status_time, 10);
	assert_true(ctl_file_all_final(ctl));
	ctl_file_free(&ctl);
	ctl = parse_ok("s\nra@b\nD0 10\nD0 11\nF0 12\nS0 13\n");
	assert_int_equal(ctl->rcpts[0].status, CTL_STATUS_FAILED);
	assert_int_equal(ctl->rcpts[0].attempts, 2);
	ctl_file_free(&ctl);
}

/* P records: deliveries started, counted; malformed ones skipped. */
static void test_started(void **state)
{
	struct ctl_file *ctl;
	struct str out;

	(void)state;
	str_init(&out, 64);
	str_append(&out, "s\nra@b\nrc@d\n");
	ctl_write_started(&out, 1, 100);
	assert_string_equal(str_c(&out) + 12, "P1 100\n");
	str_append(&out, "P0 5\nD0 6\nP0 7\nP1\nP2 5\nPx 5\nP0 5x\nP0 8");
	ctl = parse_ok(str_c(&out));
	assert_int_equal(ctl->rcpts[0].started, 2);
	assert_int_equal(ctl->rcpts[1].started, 1);
	assert_int_equal(ctl->rcpts[0].status, CTL_STATUS_DEFERRED);
	assert_int_equal(ctl->rcpts[1].status, CTL_STATUS_NONE);
	assert_int_equal(ctl->bad_lines, 4);
	ctl_file_free(&ctl);
	str_free(&out);
}

/* U records: the local sender's uid, written and read back; malformed
 * ones skipped. */
static void test_owner(void **state)
{
	struct ctl_file *ctl = ctl_file_new(), *back;
	struct str out;
	const char *error;

	(void)state;
	ctl->has_owner = true;
	ctl->owner_uid = 65534;
	ctl->local_ip = xstrdup("192.0.2.7");
	ctl_file_add_rcpt(ctl, "a@b", NULL, 0);
	str_init(&out, 64);
	assert_int_equal(ctl_write_envelope(&out, ctl, &error), 0);
	assert_non_null(strstr(str_c(&out), "\nU65534\n"));
	back = parse_ok(str_c(&out));
	assert_true(back->has_owner);
	assert_int_equal(back->owner_uid, 65534);
	assert_string_equal(back->local_ip, "192.0.2.7");
	ctl_file_free(&back);
	back = parse_ok("s\nU\nUx\nU-1\nU4294967296\nU12 \nra@b\n");
	assert_false(back->has_owner);
	assert_int_equal(back->bad_lines, 5);
	ctl_file_free(&back);
	back = parse_ok("s\nra@b\n");
	assert_false(back->has_owner);
	assert_null(back->local_ip);
	ctl_file_free(&back);
	ctl_file_free(&ctl);
	str_free(&out);
}

static void test_malformed_lines(void **state)
{
	struct ctl_file *ctl;

	(void)state;
	/* Bad numbers, unknown recipients, stray R/N, empty lines, a second
	 * s, bad t and notify flags: skipped and counted. */
	ctl = parse_ok("sx@y\n\nRorphan\nNS\nra@b\nNQ\nS5 10\nSx 10\n"
		       "S0\nS0 1x\nF0 99999999999999999999999\nI9 R x\n"
		       "I0\ntQ\nEabc\nsagain\nZunknown record\n");
	assert_string_equal(ctl->sender, "x@y");
	assert_int_equal(ctl->rcpt_count, 1);
	assert_int_equal(ctl->rcpts[0].status, CTL_STATUS_NONE);
	assert_int_equal(ctl->bad_lines, 14);
	assert_int_equal(ctl->ret, 0);
	assert_int_equal(ctl->expires, 0);
	ctl_file_free(&ctl);
}

static void test_refused(void **state)
{
	struct ctl_file *ctl;
	const char *error;
	struct ctl_limits lim = { .max_rcpts = 2 };
	struct ctl_limits lim_size = { .max_size = 20 };
	char big[CTLFILE_MAX_LINE + 10];

	(void)state;
	assert_int_equal(ctl_parse("ra@b\n", 5, NULL, &ctl, &error), -1);
	assert_null(ctl);
	assert_int_equal(ctl_parse("", 0, NULL, &ctl, &error), -1);
	assert_int_equal(ctl_parse("s", 1, NULL, &ctl, &error), -1);
	assert_int_equal(ctl_parse("s\0\n", 3, NULL, &ctl, &error), -1);
	assert_int_equal(ctl_parse("s\nra\nrb\nrc\n", 11, &lim, &ctl,
				   &error), -1);
	assert_string_equal(error, "too many recipients in control file");
	assert_int_equal(ctl_parse("s\nra\nrb\nrc\nrd\nre\nrf\n", 20, &lim_size,
				   &ctl, &error), 0);
	ctl_file_free(&ctl);
	assert_int_equal(ctl_parse("s\nra\nrb\nrc\nrd\nre\nrfg\n", 21, &lim_size,
				   &ctl, &error), -1);
	big[0] = 's';
	memset(big + 1, 'x', sizeof(big) - 2);
	big[sizeof(big) - 1] = '\n';
	assert_int_equal(ctl_parse(big, sizeof(big), NULL, &ctl, &error), -1);
	assert_string_equal(error, "control file line too long");
}

/* A module appends while courierd reads: every prefix of a file must
 * parse to the state of its complete lines. */
static void test_every_prefix(void **state)
{
	const char *text = "sa@b\nulocal\nE100\nrx@y\nR\nNSF\nry@z\nR\nN\n"
			   "I0 R 250 ok\nS0 50 l\nD1 51\nC52\nA99\n";
	size_t len = strlen(text);

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		struct ctl_file *ctl;
		const char *error;
		const char *nl = memchr(text, '\n', i);
		int r = ctl_parse(text, i, NULL, &ctl, &error);

		if (nl == NULL) {
			assert_int_equal(r, -1);
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(ctl->bad_lines, 0);
		if (i == len) {
			assert_int_equal(ctl->rcpt_count, 2);
			assert_int_equal(ctl->rcpts[0].status,
					 CTL_STATUS_DELIVERED);
			assert_int_equal(ctl->rcpts[1].status,
					 CTL_STATUS_DEFERRED);
			assert_int_equal(ctl->next_attempt, 99);
		}
		ctl_file_free(&ctl);
	}
}

static void test_write_refuses_newlines(void **state)
{
	struct ctl_file *ctl = ctl_file_new();
	struct str out;
	const char *error = NULL;

	(void)state;
	str_init(&out, 16);
	ctl_file_add_rcpt(ctl, "a@b\nS0 1", NULL, 0);
	assert_int_equal(ctl_write_envelope(&out, ctl, &error), -1);
	assert_non_null(error);
	assert_int_equal(str_len(&out), 0);
	assert_false(ctl_value_ok("x\ry"));
	assert_true(ctl_value_ok(NULL));
	str_free(&out);
	ctl_file_free(&ctl);
}

static void test_expanded(void **state)
{
	struct ctl_file *ctl;
	const char *error;
	struct str text;

	(void)state;
	str_init(&text, 256);
	str_append(&text, "sa@x\nrlist@x\nR\nNS\nrb@x\nR\nNF\n"
		   "rc@x\nR\nN\n");
	ctl_write_status(&text, 0, CTL_STATUS_DELIVERED, 'x', 100,
			 "250 2.1.5 expanded to 2 recipients");
	assert_non_null(strstr(str_c(&text), "S0 100 x\n"));
	/* an unknown "how" letter is a malformed record */
	str_append(&text, "S1 101 q\nS2 102 x\n");
	assert_int_equal(ctl_parse(str_c(&text), str_len(&text), NULL, &ctl,
				   &error), 0);
	assert_int_equal(ctl->rcpts[0].status, CTL_STATUS_DELIVERED);
	assert_int_equal(ctl->rcpts[0].status_how, 'x');
	assert_string_equal(ctl->rcpts[0].diag,
			    "250 2.1.5 expanded to 2 recipients");
	assert_int_equal(ctl->rcpts[1].status, CTL_STATUS_NONE);
	assert_int_equal(ctl->rcpts[2].status_how, 'x');
	assert_int_equal(ctl->bad_lines, 1);
	ctl_file_free(&ctl);
	str_free(&text);
}

static void test_notify(void **state)
{
	unsigned int mask;
	struct str out;

	(void)state;
	assert_int_equal(ctl_notify_parse("DFS", &mask), 0);
	assert_int_equal(mask, CTL_NOTIFY_SUCCESS | CTL_NOTIFY_FAILURE |
			 CTL_NOTIFY_DELAY);
	assert_int_equal(ctl_notify_parse("X", &mask), -1);
	assert_int_equal(ctl_notify_parse("", &mask), 0);
	assert_int_equal(mask, 0);
	str_init(&out, 8);
	ctl_notify_format(&out, CTL_NOTIFY_DELAY | CTL_NOTIFY_SUCCESS);
	ctl_notify_format(&out, CTL_NOTIFY_NEVER | CTL_NOTIFY_SUCCESS);
	assert_string_equal(str_c(&out), "SDN");
	str_free(&out);
}

static void test_verp_record(void **state)
{
	struct ctl_file *ctl = ctl_file_new(), *back;
	struct str out;
	const char *error;
	char *snd;

	(void)state;
	free(ctl->sender);
	ctl->sender = xstrdup("list@example.test");
	ctl->verp = true;
	ctl_file_add_rcpt(ctl, "bob@remote.test", NULL, 0);
	ctl_file_add_rcpt(ctl, "a-b+c@[10.0.0.1]", NULL, 0);
	str_init(&out, 128);
	assert_int_equal(ctl_write_envelope(&out, ctl, &error), 0);
	assert_non_null(strstr(str_c(&out), "\nV\n"));
	back = parse_ok(str_c(&out));
	assert_true(back->verp);
	snd = ctl_rcpt_sender(back, 0);
	assert_string_equal(snd, "list-bob=remote.test@example.test");
	free(snd);
	snd = ctl_rcpt_sender(back, 1);
	assert_string_equal(snd,
			    "list-a+2Db+2Bc=+5B10.0.0.1+5D@example.test");
	free(snd);
	ctl_file_free(&back);

	/* an older control file, without V: the plain sender */
	back = parse_ok("slist@example.test\nrbob@remote.test\nR\nN\n");
	assert_false(back->verp);
	snd = ctl_rcpt_sender(back, 0);
	assert_string_equal(snd, "list@example.test");
	free(snd);
	ctl_file_free(&back);

	/* V with a null sender: still <> */
	free(ctl->sender);
	ctl->sender = xstrdup("");
	snd = ctl_rcpt_sender(ctl, 0);
	assert_string_equal(snd, "");
	free(snd);
	str_free(&out);
	ctl_file_free(&ctl);
}

static void test_verp_encoding(void **state)
{
	static const struct {
		const char *sender, *rcpt, *want;
	} cases[] = {
		{ "list@example.test", "user@dom.test",
		  "list-user=dom.test@example.test" },
		{ "owner-l@ex.test", "x%y!z:w@d.test",
		  "owner-l-x+25y+21z+3Aw=d.test@ex.test" },
		{ "bare", "user@dom.test", "bare-user=dom.test" },
		{ "l@ex.test", "postmaster", "l-postmaster@ex.test" },
		{ "\"a@b\"@ex.test", "u@d", "\"a@b\"-u=d@ex.test" },
		{ "", "u@d", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct str out;

		str_init(&out, 64);
		ctl_verp_sender(&out, cases[i].sender, cases[i].rcpt);
		assert_string_equal(str_c(&out), cases[i].want);
		str_free(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_final_is_final),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_started),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_write_refuses_newlines),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_expanded),
		cmocka_unit_test(test_verp_record),
		cmocka_unit_test(test_verp_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
