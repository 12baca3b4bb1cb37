# lib/dns.mk: build fragment of the DNS resolver module (MX, A, AAAA, TXT
# lookups against a configurable server).

lib_libcore_la_SOURCES += lib/dns.c lib/dns.h
CORE_LIBS += -lresolv

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-dns
TESTS += tests/unit/test-dns
tests_unit_test_dns_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dns_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-dns
tests_fuzz_fuzz_dns_SOURCES = tests/fuzz/fuzz-dns.c
tests_fuzz_fuzz_dns_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_dns_LDADD = $(CORE_LIBS)
