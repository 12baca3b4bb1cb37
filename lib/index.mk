# lib/index.mk: build fragment (owned by the mail index module): the
# per-folder LMDB mail index shared by IMAP, POP3 and webmail, and its
# readers for Courier's UID files.
lib_libcore_la_SOURCES += \
	lib/mail-index.c lib/mail-index.h lib/mail-index-private.h \
	lib/mail-index-env.c lib/mail-index-rec.c lib/mail-index-keywords.c \
	lib/mail-index-read.c lib/mail-index-flags.c lib/mail-index-message.c \
	lib/mail-index-store.c lib/mail-index-expunge.c lib/mail-index-add.c \
	lib/mail-index-sync.c lib/mail-index-cache.c \
	lib/mail-index-courier.c lib/mail-index-courier.h \
	lib/mail-index-bulk.c lib/mail-index-bulk.h \
	lib/mail-index-date.c lib/mail-index-sortkey.c

if HAVE_CMOCKA
# Each program links the shared set-up (unit-index.c, unit-files.c).
INDEX_UNIT_SOURCES = tests/unit/unit-index.c tests/unit/unit-index.h \
	tests/unit/unit-files.c tests/unit/unit-files.h
check_PROGRAMS += tests/unit/test-mail-index-courier
TESTS += tests/unit/test-mail-index-courier
tests_unit_test_mail_index_courier_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mail_index_courier_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-sync
TESTS += tests/unit/test-mail-index-sync
tests_unit_test_mail_index_sync_SOURCES = tests/unit/test-mail-index-sync.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_sync_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_sync_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-store
TESTS += tests/unit/test-mail-index-store
tests_unit_test_mail_index_store_SOURCES = tests/unit/test-mail-index-store.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_store_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_store_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-read
TESTS += tests/unit/test-mail-index-read
tests_unit_test_mail_index_read_SOURCES = tests/unit/test-mail-index-read.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_read_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_read_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-modseq
TESTS += tests/unit/test-mail-index-modseq
tests_unit_test_mail_index_modseq_SOURCES = tests/unit/test-mail-index-modseq.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_modseq_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_modseq_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-rebuild
TESTS += tests/unit/test-mail-index-rebuild
tests_unit_test_mail_index_rebuild_SOURCES = tests/unit/test-mail-index-rebuild.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_rebuild_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_rebuild_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-stamps
TESTS += tests/unit/test-mail-index-stamps
tests_unit_test_mail_index_stamps_SOURCES = tests/unit/test-mail-index-stamps.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_stamps_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_stamps_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-scan
TESTS += tests/unit/test-mail-index-scan
tests_unit_test_mail_index_scan_SOURCES = tests/unit/test-mail-index-scan.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_scan_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_scan_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-date
TESTS += tests/unit/test-mail-index-date
tests_unit_test_mail_index_date_SOURCES = tests/unit/test-mail-index-date.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_date_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_date_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-sortkey
TESTS += tests/unit/test-mail-index-sortkey
tests_unit_test_mail_index_sortkey_SOURCES = tests/unit/test-mail-index-sortkey.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_sortkey_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_sortkey_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-bulk
TESTS += tests/unit/test-mail-index-bulk
tests_unit_test_mail_index_bulk_SOURCES = tests/unit/test-mail-index-bulk.c \
	$(INDEX_UNIT_SOURCES)
tests_unit_test_mail_index_bulk_CFLAGS = $(UNIT_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_mail_index_bulk_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-mail-index-flags
TESTS += tests/unit/test-mail-index-flags
tests_unit_test_mail_index_flags_SOURCES = tests/unit/test-mail-index-flags.c \
	$(INDEX_UNIT_SOURCES)
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
