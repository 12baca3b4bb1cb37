# lib/rfc822.mk: build fragment (owned by the rfc822 module): RFC 5322
# addresses and dates, IDNA helpers, their unit tests and fuzz targets.
lib_libcore_la_SOURCES += \
	lib/rfc822-addr.c lib/rfc822-addr.h \
	lib/rfc822-date.c lib/rfc822-date.h \
	lib/idna.c lib/idna.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-rfc822-addr tests/unit/test-rfc822-date \
	tests/unit/test-idna
TESTS += tests/unit/test-rfc822-addr tests/unit/test-rfc822-date \
	tests/unit/test-idna
tests_unit_test_rfc822_addr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rfc822_addr_LDADD = $(UNIT_LIBS)
tests_unit_test_rfc822_date_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rfc822_date_LDADD = $(UNIT_LIBS)
tests_unit_test_idna_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_idna_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-address tests/fuzz/fuzz-date
tests_fuzz_fuzz_address_SOURCES = tests/fuzz/fuzz-address.c
tests_fuzz_fuzz_address_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_address_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_date_SOURCES = tests/fuzz/fuzz-date.c
tests_fuzz_fuzz_date_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_date_LDADD = $(CORE_LIBS)
