# lib/sasl.mk: message digests and HMAC (lib/hash*), SASL server and client.
lib_libcore_la_SOURCES += lib/hash.c lib/hash.h
if TLS_OPENSSL
lib_libcore_la_SOURCES += lib/hash-openssl.c
endif
if TLS_GNUTLS
lib_libcore_la_SOURCES += lib/hash-gnutls.c
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-hash
TESTS += tests/unit/test-hash
tests_unit_test_hash_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hash_LDADD = $(UNIT_LIBS)
endif
lib_libcore_la_SOURCES += lib/sasl.h \
	lib/sasl-server.c lib/sasl-server.h \
	lib/sasl-client.c lib/sasl-client.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-sasl
TESTS += tests/unit/test-sasl
tests_unit_test_sasl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sasl_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-sasl
tests_fuzz_fuzz_sasl_SOURCES = tests/fuzz/fuzz-sasl.c
tests_fuzz_fuzz_sasl_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_sasl_LDADD = $(CORE_LIBS)
