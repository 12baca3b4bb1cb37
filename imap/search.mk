# imap/search.mk: build fragment of the IMAP search, sort and thread code
# (SEARCH, ESEARCH, SORT, THREAD), added to libimap.

imap_libimap_la_SOURCES += \
	imap/imap-search.c imap/imap-search.h imap/imap-search-content.c \
	imap/imap-sort.c imap/imap-sort.h \
	imap/imap-thread.c imap/imap-thread.h \
	imap/cmd-search.c

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-imap-search tests/unit/test-imap-sort \
	tests/unit/test-imap-thread
TESTS += tests/unit/test-imap-search tests/unit/test-imap-sort \
	tests/unit/test-imap-thread
tests_unit_test_imap_search_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_search_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_search_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
tests_unit_test_imap_sort_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_sort_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_sort_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
tests_unit_test_imap_thread_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_unit_test_imap_thread_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_thread_LDADD = $(IMAP_LIBS) $(CMOCKA_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-imap-search
tests_fuzz_fuzz_imap_search_SOURCES = tests/fuzz/fuzz-imap-search.c
tests_fuzz_fuzz_imap_search_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_search_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_search_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-thread
tests_fuzz_fuzz_imap_thread_SOURCES = tests/fuzz/fuzz-imap-thread.c
tests_fuzz_fuzz_imap_thread_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_thread_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_thread_LDADD = $(IMAP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-imap-sort-keys
tests_fuzz_fuzz_imap_sort_keys_SOURCES = tests/fuzz/fuzz-imap-sort-keys.c
tests_fuzz_fuzz_imap_sort_keys_CPPFLAGS = $(IMAP_CPPFLAGS)
tests_fuzz_fuzz_imap_sort_keys_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_imap_sort_keys_LDADD = $(IMAP_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-imap-search.dict
