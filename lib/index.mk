# lib/index.mk: build fragment (owned by the mail index module): the
# per-folder LMDB mail index shared by IMAP, POP3 and webmail, and its
# readers for Courier's UID files.
lib_libcore_la_SOURCES += \
	lib/mail-index.c lib/mail-index.h lib/mail-index-private.h \
	lib/mail-index-env.c lib/mail-index-rec.c lib/mail-index-keywords.c \
	lib/mail-index-read.c lib/mail-index-message.c \
	lib/mail-index-store.c lib/mail-index-expunge.c lib/mail-index-add.c \
	lib/mail-index-sync.c lib/mail-index-cache.c \
	lib/mail-index-courier.c lib/mail-index-courier.h \
	lib/mail-index-bulk.c lib/mail-index-bulk.h \
	lib/mail-index-date.c lib/mail-index-sortkey.c

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-mail-index tests/unit/test-mail-index-courier \
	tests/unit/test-mail-index-date tests/unit/test-mail-index-sortkey
TESTS += tests/unit/test-mail-index tests/unit/test-mail-index-courier \
	tests/unit/test-mail-index-date tests/unit/test-mail-index-sortkey
tests_unit_test_mail_index_sortkey_SOURCES = tests/unit/test-mail-index-sortkey.c \
	tests/unit/unit-files.c tests/unit/unit-files.h
tests_unit_test_mail_index_sortkey_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_sortkey_LDADD = $(UNIT_LIBS)
tests_unit_test_mail_index_date_SOURCES = tests/unit/test-mail-index-date.c \
	tests/unit/unit-files.c tests/unit/unit-files.h
tests_unit_test_mail_index_date_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_date_LDADD = $(UNIT_LIBS)
tests_unit_test_mail_index_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_LDADD = $(UNIT_LIBS)
tests_unit_test_mail_index_courier_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mail_index_courier_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-flags
TESTS += tests/unit/test-mail-index-flags
tests_unit_test_mail_index_flags_SOURCES = tests/unit/test-mail-index-flags.c \
	tests/unit/unit-files.c tests/unit/unit-files.h
tests_unit_test_mail_index_flags_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_flags_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-uiddb
tests_fuzz_fuzz_uiddb_SOURCES = tests/fuzz/fuzz-uiddb.c
tests_fuzz_fuzz_uiddb_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_uiddb_LDADD = $(CORE_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-index-names
tests_fuzz_fuzz_index_names_SOURCES = tests/fuzz/fuzz-index-names.c
tests_fuzz_fuzz_index_names_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS)
tests_fuzz_fuzz_index_names_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_index_names_LDADD = $(CORE_LIBS)
