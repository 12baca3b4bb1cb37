# lib/maildir.mk: build fragment (owned by the maildir module): maildir
# delivery and names, Maildir++ folders and quota, Courier keywords,
# modified UTF-7.
lib_libcore_la_SOURCES += \
	lib/maildir.c lib/maildir.h \
	lib/maildir-folder.c lib/maildir-folder.h \
	lib/maildir-quota.c lib/maildir-quota.h \
	lib/maildir-keywords.c lib/maildir-keywords.h \
	lib/mutf7.c lib/mutf7.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-maildir tests/unit/test-maildir-folder \
	tests/unit/test-maildir-quota tests/unit/test-maildir-keywords \
	tests/unit/test-mutf7
TESTS += tests/unit/test-maildir tests/unit/test-maildir-folder \
	tests/unit/test-maildir-quota tests/unit/test-maildir-keywords \
	tests/unit/test-mutf7
tests_unit_test_maildir_SOURCES = tests/unit/test-maildir.c \
	tests/unit/unit-files.c tests/unit/unit-files.h
tests_unit_test_maildir_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildir_LDADD = $(UNIT_LIBS)
tests_unit_test_maildir_folder_SOURCES = tests/unit/test-maildir-folder.c \
	tests/unit/unit-files.c tests/unit/unit-files.h
tests_unit_test_maildir_folder_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildir_folder_LDADD = $(UNIT_LIBS)
tests_unit_test_maildir_quota_SOURCES = tests/unit/test-maildir-quota.c \
	tests/unit/unit-files.c tests/unit/unit-files.h
tests_unit_test_maildir_quota_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildir_quota_LDADD = $(UNIT_LIBS)
tests_unit_test_maildir_keywords_SOURCES = tests/unit/test-maildir-keywords.c \
	tests/unit/unit-files.c tests/unit/unit-files.h
tests_unit_test_maildir_keywords_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildir_keywords_LDADD = $(UNIT_LIBS)
tests_unit_test_mutf7_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mutf7_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-mutf7 tests/fuzz/fuzz-keywords
tests_fuzz_fuzz_mutf7_SOURCES = tests/fuzz/fuzz-mutf7.c
tests_fuzz_fuzz_mutf7_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_mutf7_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_keywords_SOURCES = tests/fuzz/fuzz-keywords.c
tests_fuzz_fuzz_keywords_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_keywords_LDADD = $(CORE_LIBS)
