# lib/tls.mk: build fragment of the TLS layer (one interface, two
# implementations chosen by --with-tls) and the line-protocol connection.
lib_libcore_la_SOURCES += lib/tls.h lib/tls-private.h lib/tls-common.c
if TLS_OPENSSL
lib_libcore_la_SOURCES += lib/tls-openssl.c
endif
if TLS_GNUTLS
lib_libcore_la_SOURCES += lib/tls-gnutls.c
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-tls
TESTS += tests/unit/test-tls
tests_unit_test_tls_SOURCES = tests/unit/test-tls.c \
	tests/unit/tls-test-util.c tests/unit/tls-test-util.h
tests_unit_test_tls_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tls_LDADD = $(UNIT_LIBS)
endif
