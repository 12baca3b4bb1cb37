# lib/mime.mk: build fragment (owned by the mime module): the header and
# MIME parsers, decoders, RFC 2047/2231, charset conversion
# (reformime is built by maildrop/tools.mk).
lib_libcore_la_SOURCES += \
	lib/rfc822-header.c lib/rfc822-header.h \
	lib/mime-parser.c lib/mime-parser.h \
	lib/mime-params.c lib/mime-params.h \
	lib/mime-decode.c lib/mime-decode.h \
	lib/rfc2047.c lib/rfc2047.h \
	lib/charset.c lib/charset.h

if HAVE_CMOCKA
MIME_UNIT_TESTS = tests/unit/test-rfc822-header tests/unit/test-mime-parser \
	tests/unit/test-mime-params tests/unit/test-mime-decode \
	tests/unit/test-rfc2047 tests/unit/test-charset
check_PROGRAMS += $(MIME_UNIT_TESTS)
TESTS += $(MIME_UNIT_TESTS)
tests_unit_test_rfc822_header_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rfc822_header_LDADD = $(UNIT_LIBS)
tests_unit_test_mime_parser_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mime_parser_LDADD = $(UNIT_LIBS)
tests_unit_test_mime_params_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mime_params_LDADD = $(UNIT_LIBS)
tests_unit_test_mime_decode_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mime_decode_LDADD = $(UNIT_LIBS)
tests_unit_test_rfc2047_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rfc2047_LDADD = $(UNIT_LIBS)
tests_unit_test_charset_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_charset_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-header tests/fuzz/fuzz-mime
tests_fuzz_fuzz_header_SOURCES = tests/fuzz/fuzz-header.c
tests_fuzz_fuzz_header_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_header_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_mime_SOURCES = tests/fuzz/fuzz-mime.c
tests_fuzz_fuzz_mime_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_mime_LDADD = $(CORE_LIBS)
