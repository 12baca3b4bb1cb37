/* test-imap-hibernate.c: unit tests for the state blob of a hibernated
 * IMAP session: round trip, and refusal of truncated, tampered and
 * out-of-bounds blobs (cut at every byte, every byte flipped). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "imap-client.h"
#include "imap-hibernate.h"
#include "imap-settings.h"
#include "ioloop.h"
#include "mem.h"
#include "str.h"

static void sample(struct imap_hibernate_state *st)
{
	static uint32_t recent[] = { 7, 9, 12 };
	static uint32_t saved[] = { 2, 3 };

	memset(st, 0, sizeof(*st));
	st->user = xstrdup("alice@example.com");
	st->condstore = true;
	st->qresync = true;
	st->utf8 = true;
	st->idle_tag = xstrdup("A17");
	st->mailbox = xstrdup("INBOX");
	st->uidvalidity = 1234;
	st->uidnext = 13;
	st->modseq = 0x100000005ULL;
	st->count = 10;
	st->first_recent = 7;
	st->recent_sent = 3;
	st->recent_uids = xmemdup(recent, sizeof(recent));
	st->recent_count = 3;
	st->saved_uids = xmemdup(saved, sizeof(saved));
	st->saved_count = 2;
	str_init(&st->input, 16);
	str_append(&st->input, "A18 NO");
}

static void write_sample(struct str *out)
{
	struct imap_hibernate_state st;

	sample(&st);
	str_init(out, 256);
	assert_int_equal(imap_hibernate_write(&st, out), 0);
	imap_hibernate_state_free(&st);
}

static void test_round_trip(void **state)
{
	struct imap_hibernate_state st;
	struct str out;
	const char *error;

	(void)state;
	write_sample(&out);
	assert_int_equal(imap_hibernate_parse(str_c(&out), str_len(&out), &st,
					      &error),
			 0);
	assert_string_equal(st.user, "alice@example.com");
	assert_string_equal(st.idle_tag, "A17");
	assert_string_equal(st.mailbox, "INBOX");
	assert_true(st.condstore && st.qresync && st.utf8 && !st.imap4rev2);
	assert_false(st.readonly);
	assert_int_equal(st.uidvalidity, 1234);
	assert_int_equal(st.uidnext, 13);
	assert_true(st.modseq == 0x100000005ULL);
	assert_int_equal(st.count, 10);
	assert_int_equal(st.first_recent, 7);
	assert_int_equal(st.recent_sent, 3);
	assert_int_equal(st.recent_count, 3);
	assert_int_equal(st.recent_uids[2], 12);
	assert_int_equal(st.saved_count, 2);
	assert_int_equal(st.saved_uids[1], 3);
	assert_int_equal(str_len(&st.input), 6);
	assert_memory_equal(str_c(&st.input), "A18 NO", 6);
	imap_hibernate_state_free(&st);

	/* not logged into a mailbox, not idling */
	memset(&st, 0, sizeof(st));
	st.user = xstrdup("bob");
	str_truncate(&out, 0);
	assert_int_equal(imap_hibernate_write(&st, &out), 0);
	imap_hibernate_state_free(&st);
	assert_int_equal(imap_hibernate_parse(str_c(&out), str_len(&out), &st,
					      &error),
			 0);
	assert_string_equal(st.user, "bob");
	assert_null(st.mailbox);
	assert_null(st.idle_tag);
	imap_hibernate_state_free(&st);
	str_free(&out);
}

static void test_truncated(void **state)
{
	struct imap_hibernate_state st;
	struct str out;
	const char *error;

	(void)state;
	write_sample(&out);
	/* every proper prefix: refused (the last field, the input, cut
	 * short is a truncated field too) */
	for (size_t n = 0; n < str_len(&out); n++) {
		assert_int_equal(imap_hibernate_parse(str_c(&out), n, &st,
						      &error),
				 -1);
		imap_hibernate_state_free(&st);
	}
	str_free(&out);
}

static void test_tampered(void **state)
{
	struct imap_hibernate_state st;
	struct str out;
	const char *error;

	(void)state;
	write_sample(&out);
	/* every byte changed: never a crash; the magic, the lengths and
	 * the types refuse it, else it parses within the bounds */
	for (size_t i = 0; i < str_len(&out); i++) {
		for (unsigned v = 0; v < 256; v += 51) {
			char *copy = xmemdup(str_c(&out), str_len(&out));

			copy[i] = (char)(copy[i] ^ (char)(v | 1));
			if (imap_hibernate_parse(copy, str_len(&out), &st,
						 &error) == 0) {
				assert_non_null(st.user);
				assert_true(st.count < st.uidnext ||
					    st.mailbox == NULL);
			}
			if (i < 12)
				assert_non_null(error);
			imap_hibernate_state_free(&st);
			free(copy);
		}
	}
	str_free(&out);
}

static void put(struct str *s, unsigned type, const void *data, uint32_t len)
{
	unsigned char h[5] = { (unsigned char)type, len & 0xff,
			       (len >> 8) & 0xff, (len >> 16) & 0xff,
			       len >> 24 };
	str_append_n(s, h, 5);
	str_append_n(s, data, len);
}

static int parse_str(struct str *s)
{
	struct imap_hibernate_state st;
	const char *error;
	/* the length after the magic */
	uint32_t len = (uint32_t)str_len(s);
	for (unsigned i = 0; i < 4; i++)
		s->data[8 + i] = (char)((len >> (8 * i)) & 0xff);
	int r = imap_hibernate_parse(str_c(s), str_len(s), &st, &error);

	imap_hibernate_state_free(&st);
	return r;
}

static void test_malformed(void **state)
{
	struct str s;
	unsigned char flags = 0;

	(void)state;
	str_init(&s, 64);
	/* the smallest valid one */
	str_append_n(&s, "IMAPHIB1\0\0\0\0", 12);
	put(&s, 1, "u", 1);
	put(&s, 2, &flags, 1);
	assert_int_equal(parse_str(&s), 0);
	/* a repeated field */
	put(&s, 1, "v", 1);
	assert_int_equal(parse_str(&s), -1);
	/* an unknown field */
	str_truncate(&s, 12 + 6 + 6);
	put(&s, 9, "x", 1);
	assert_int_equal(parse_str(&s), -1);
	/* a length beyond the end */
	str_truncate(&s, 12 + 6 + 6);
	str_append_n(&s, "\x03\xff\xff\xff\x7f" "A1", 7);
	assert_int_equal(parse_str(&s), -1);
	/* a NUL in a string; an empty string; a bad tag */
	str_truncate(&s, 12 + 6 + 6);
	put(&s, 4, "IN\0X", 4);
	assert_int_equal(parse_str(&s), -1);
	str_truncate(&s, 12 + 6 + 6);
	put(&s, 3, "", 0);
	assert_int_equal(parse_str(&s), -1);
	str_truncate(&s, 12 + 6 + 6);
	put(&s, 3, "A+1", 3);
	assert_int_equal(parse_str(&s), -1);
	/* a mailbox without its view, a view without a mailbox */
	str_truncate(&s, 12 + 6 + 6);
	put(&s, 4, "INBOX", 5);
	assert_int_equal(parse_str(&s), -1);
	unsigned char view[29] = { 0, 1, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0,
				   0, 0, 0, 0, 4, 0, 0, 0 };
	put(&s, 5, view, sizeof(view));
	assert_int_equal(parse_str(&s), 0);
	str_truncate(&s, 12 + 6 + 6);
	put(&s, 5, view, sizeof(view));
	assert_int_equal(parse_str(&s), -1);
	/* more messages than UIDs below UIDNEXT */
	str_truncate(&s, 12 + 6 + 6);
	put(&s, 4, "INBOX", 5);
	view[17] = 5;
	put(&s, 5, view, sizeof(view));
	assert_int_equal(parse_str(&s), -1);
	/* UID lists: not ascending, beyond the view, not whole UIDs */
	str_truncate(&s, 12 + 6 + 6);
	put(&s, 4, "INBOX", 5);
	view[17] = 4;
	put(&s, 5, view, sizeof(view));
	size_t base = str_len(&s);
	put(&s, 6, "\x03\0\0\0\x02\0\0\0", 8);
	assert_int_equal(parse_str(&s), -1);
	str_truncate(&s, base);
	put(&s, 6, "\x02\0\0\0\x05\0\0\0", 8);
	assert_int_equal(parse_str(&s), -1);
	str_truncate(&s, base);
	put(&s, 7, "\x02\0\0", 3);
	assert_int_equal(parse_str(&s), -1);
	str_truncate(&s, base);
	put(&s, 7, "\x02\0\0\0\x04\0\0\0", 8);
	assert_int_equal(parse_str(&s), 0);
	/* QRESYNC without CONDSTORE; unknown flag bits */
	str_truncate(&s, 12 + 6);
	flags = 0x04;
	put(&s, 2, &flags, 1);
	assert_int_equal(parse_str(&s), -1);
	str_truncate(&s, 12 + 6);
	flags = 0x80;
	put(&s, 2, &flags, 1);
	assert_int_equal(parse_str(&s), -1);
	/* no user; wrong magic */
	str_truncate(&s, 0);
	str_append_n(&s, "IMAPHIB1\0\0\0\0", 12);
	flags = 0;
	put(&s, 2, &flags, 1);
	assert_int_equal(parse_str(&s), -1);
	str_truncate(&s, 0);
	str_append_n(&s, "IMAPHIB2\0\0\0\0", 12);
	put(&s, 1, "u", 1);
	put(&s, 2, &flags, 1);
	assert_int_equal(parse_str(&s), -1);
	str_free(&s);
}

/* What a session restored from blob for user says first (caller frees):
 * the session runs on one end of a socketpair. */
static char *restored_says(const char *user, const void *blob, size_t len)
{
	static const struct imap_client_callbacks cbs = { 0 };
	struct imap_settings set;
	struct conn_settings cs = { .max_line_len = 65536 };
	struct ioloop *loop = ioloop_create();
	int sv[2];
	char buf[512];
	ssize_t n = 0;

	imap_settings_defaults(&set);
	set.shared_folders = false;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct conn *conn = conn_create(loop, sv[0], &cs,
					imap_client_conn_callbacks(), NULL);
	struct imap_client *client = imap_client_create_restored(
		loop, conn, &set, "/nonexistent", user, false, blob, len, &cbs,
		NULL);
	for (int i = 0; i < 20 && n <= 0; i++) {
		ioloop_run_once(loop, 50);
		n = recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	}
	imap_client_destroy(&client);
	ioloop_destroy(&loop);
	close(sv[1]);
	imap_settings_free(&set);
	buf[n > 0 ? n : 0] = '\0';
	return xstrdup(buf);
}

static void test_restore_refused(void **state)
{
	struct imap_hibernate_state st;
	struct str out;
	char *said;

	(void)state;
	/* another account's state: refused with BYE */
	memset(&st, 0, sizeof(st));
	st.user = xstrdup("alice");
	str_init(&out, 64);
	assert_int_equal(imap_hibernate_write(&st, &out), 0);
	said = restored_says("bob", str_c(&out), str_len(&out));
	assert_true(strncmp(said, "* BYE [UNAVAILABLE]", 19) == 0);
	free(said);
	/* the account's own, not selected, not idling: silence (the
	 * client speaks first) */
	said = restored_says("alice", str_c(&out), str_len(&out));
	assert_string_equal(said, "");
	free(said);
	/* cut short: BYE */
	said = restored_says("alice", str_c(&out), str_len(&out) - 1);
	assert_true(strncmp(said, "* BYE [UNAVAILABLE]", 19) == 0);
	free(said);
	/* a mailbox that is not there: BYE */
	st.mailbox = xstrdup("INBOX");
	st.uidvalidity = 1;
	st.uidnext = 1;
	str_truncate(&out, 0);
	assert_int_equal(imap_hibernate_write(&st, &out), 0);
	said = restored_says("alice", str_c(&out), str_len(&out));
	assert_true(strncmp(said, "* BYE [UNAVAILABLE]", 19) == 0);
	free(said);
	imap_hibernate_state_free(&st);
	str_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_restore_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
