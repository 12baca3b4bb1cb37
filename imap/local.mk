# imap/local.mk: the IMAP server (sbin/imapd), its unit tests and fuzz
# target.

# The session code, shared by imapd, the unit tests and the fuzz target.
noinst_LTLIBRARIES += imap/libimap.la
imap_libimap_la_SOURCES = \
	imap/imap-parser.c imap/imap-parser.h \
	imap/imap-quote.c imap/imap-quote.h \
	imap/imap-seqset.c imap/imap-seqset.h \
	imap/imap-settings.c imap/imap-settings.h \
	imap/imap-commands.c imap/imap-commands.h \
	imap/imap-client.c imap/imap-client.h imap/imap-client-private.h \
	imap/imap-mailbox.c imap/imap-mailbox.h imap/imap-list.h \
	imap/cmd-misc.c imap/cmd-login.c imap/cmd-list.c \
	imap/cmd-mailbox.c imap/cmd-select.c \
	imap/imap-envelope.c imap/imap-envelope.h \
	imap/imap-message.c imap/imap-message.h \
	imap/cmd-fetch.c imap/cmd-store.c imap/cmd-copy.c \
	imap/imap-flags.c imap/imap-flags.h imap/cmd-idle.c \
	imap/imap-quota.c imap/imap-quota.h imap/cmd-quota.c \
	imap/imap-compress.c imap/imap-compress.h \
	imap/imap-acl.c imap/imap-acl.h imap/cmd-acl.c \
	imap/imap-shared.c imap/imap-shared.h \
	imap/imap-sharable.c imap/imap-sharable.h \
	imap/imap-header-cache.c imap/imap-header-cache.h \
	imap/imap-hibernate.c imap/imap-hibernate.h
imap_libimap_la_CPPFLAGS = $(AUTH_CPPFLAGS) -I$(top_srcdir)/imap
imap_libimap_la_CFLAGS = $(AM_CFLAGS) $(TLS_CFLAGS) $(ZLIB_CFLAGS)

IMAP_LIBS = imap/libimap.la $(AUTH_LIBS) $(ZLIB_LIBS)
IMAP_CPPFLAGS = $(AUTH_CPPFLAGS) -I$(top_srcdir)/imap

sbin_PROGRAMS += imap/imapd
imap_imapd_SOURCES = imap/imapd.c imap/imapd-private.h \
	imap/imapd-hibernate-master.c imap/imapd-master.c \
	imap/imapd-prelogin.c imap/imapd-session.c imap/imapd-tlsproxy.c
imap_imapd_CPPFLAGS = $(IMAP_CPPFLAGS)
imap_imapd_LDADD = $(IMAP_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-imap-parser
TESTS += tests/unit/test-imap-parser
tests_unit_test_imap_parser_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_parser_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_parser_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-imap-message
TESTS += tests/unit/test-imap-message
tests_unit_test_imap_message_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_message_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_message_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-imap-fetch-table
TESTS += tests/unit/test-imap-fetch-table
tests_unit_test_imap_fetch_table_SOURCES = \
	tests/unit/test-imap-fetch-table.c $(INDEX_UNIT_SOURCES)
tests_unit_test_imap_fetch_table_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_imap_fetch_table_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-imap-acl
TESTS += tests/unit/test-imap-acl
tests_unit_test_imap_acl_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_acl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_acl_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-imap-shared
TESTS += tests/unit/test-imap-shared
tests_unit_test_imap_shared_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_shared_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_shared_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-imap-sharable
TESTS += tests/unit/test-imap-sharable
tests_unit_test_imap_sharable_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_sharable_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_sharable_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-imap-referral
TESTS += tests/unit/test-imap-referral
tests_unit_test_imap_referral_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_referral_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_referral_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-imap-header-cache
TESTS += tests/unit/test-imap-header-cache
tests_unit_test_imap_header_cache_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_header_cache_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_header_cache_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-imap-hibernate
TESTS += tests/unit/test-imap-hibernate
tests_unit_test_imap_hibernate_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_hibernate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_hibernate_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-imap-parser
tests_fuzz_fuzz_imap_parser_SOURCES = tests/fuzz/fuzz-imap-parser.c
tests_fuzz_fuzz_imap_parser_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_parser_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_parser_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-message
tests_fuzz_fuzz_imap_message_SOURCES = tests/fuzz/fuzz-imap-message.c
tests_fuzz_fuzz_imap_message_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_message_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_message_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-session
tests_fuzz_fuzz_imap_session_SOURCES = tests/fuzz/fuzz-imap-session.c
tests_fuzz_fuzz_imap_session_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_session_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_session_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-acl
tests_fuzz_fuzz_imap_acl_SOURCES = tests/fuzz/fuzz-imap-acl.c
tests_fuzz_fuzz_imap_acl_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_acl_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_acl_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-shared
tests_fuzz_fuzz_imap_shared_SOURCES = tests/fuzz/fuzz-imap-shared.c
tests_fuzz_fuzz_imap_shared_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_shared_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_shared_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-sharable
tests_fuzz_fuzz_imap_sharable_SOURCES = tests/fuzz/fuzz-imap-sharable.c
tests_fuzz_fuzz_imap_sharable_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_sharable_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_sharable_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-emptytrash
tests_fuzz_fuzz_imap_emptytrash_SOURCES = tests/fuzz/fuzz-imap-emptytrash.c
tests_fuzz_fuzz_imap_emptytrash_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_emptytrash_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_emptytrash_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-referral
tests_fuzz_fuzz_imap_referral_SOURCES = tests/fuzz/fuzz-imap-referral.c
tests_fuzz_fuzz_imap_referral_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_referral_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_referral_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-hibernate
tests_fuzz_fuzz_imap_hibernate_SOURCES = tests/fuzz/fuzz-imap-hibernate.c
tests_fuzz_fuzz_imap_hibernate_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_hibernate_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_hibernate_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-header-cache
tests_fuzz_fuzz_imap_header_cache_SOURCES = \
	tests/fuzz/fuzz-imap-header-cache.c
tests_fuzz_fuzz_imap_header_cache_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_header_cache_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_header_cache_LDADD = $(IMAP_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-imap-parser.dict tests/fuzz/fuzz-imap-session.dict
