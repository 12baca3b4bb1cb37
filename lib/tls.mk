# lib/tls.mk: build fragment of the TLS layer (one interface, two
# implementations chosen by --with-tls) and the line-protocol connection.
lib_libcore_la_SOURCES += lib/tls.h lib/tls-private.h lib/tls-common.c \
	lib/conn.c lib/conn.h lib/tls-proxy.c lib/tls-proxy.h
if TLS_OPENSSL
lib_libcore_la_SOURCES += lib/tls-openssl.c
endif
if TLS_GNUTLS
lib_libcore_la_SOURCES += lib/tls-gnutls.c
endif

# Public-key signatures (DKIM) over the same crypto library.
lib_libcore_la_SOURCES += lib/pubkey.h lib/pubkey.c
if TLS_OPENSSL
lib_libcore_la_SOURCES += lib/pubkey-openssl.c
endif
if TLS_GNUTLS
lib_libcore_la_SOURCES += lib/pubkey-gnutls.c
endif
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-pubkey
TESTS += tests/unit/test-pubkey
tests_unit_test_pubkey_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pubkey_LDADD = $(UNIT_LIBS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-tls tests/unit/test-conn
TESTS += tests/unit/test-tls tests/unit/test-conn
tests_unit_test_tls_SOURCES = tests/unit/test-tls.c \
	tests/unit/tls-test-util.c tests/unit/tls-test-util.h
tests_unit_test_tls_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tls_LDADD = $(UNIT_LIBS)
tests_unit_test_conn_SOURCES = tests/unit/test-conn.c \
	tests/unit/tls-test-util.c tests/unit/tls-test-util.h
tests_unit_test_conn_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conn_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-tls-proxy
TESTS += tests/unit/test-tls-proxy
tests_unit_test_tls_proxy_SOURCES = tests/unit/test-tls-proxy.c \
	tests/unit/tls-test-util.c tests/unit/tls-test-util.h
tests_unit_test_tls_proxy_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tls_proxy_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-conn-lines
tests_fuzz_fuzz_conn_lines_SOURCES = tests/fuzz/fuzz-conn-lines.c
tests_fuzz_fuzz_conn_lines_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_conn_lines_LDADD = $(CORE_LIBS)
