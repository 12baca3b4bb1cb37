# lib/mailauth.mk: build fragment of the mail authentication modules (SPF,
# DKIM) and the public-key signatures they use.
lib_libcore_la_SOURCES += lib/spf.c lib/spf.h lib/dkim.c lib/dkim.h \
	lib/dkim-msg.c lib/dkim-msg.h lib/dkim-verify.c lib/dkim-verify.h \
	lib/dkim-sign.c lib/dkim-sign.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-spf tests/unit/test-dkim \
	tests/unit/test-dkim-verify
TESTS += tests/unit/test-spf tests/unit/test-dkim tests/unit/test-dkim-verify
tests_unit_test_dkim_verify_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dkim_verify_LDADD = $(UNIT_LIBS)
tests_unit_test_dkim_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dkim_LDADD = $(UNIT_LIBS)
tests_unit_test_spf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_spf_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-spf
tests_fuzz_fuzz_spf_SOURCES = tests/fuzz/fuzz-spf.c
tests_fuzz_fuzz_spf_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_spf_LDADD = $(CORE_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-dkim
tests_fuzz_fuzz_dkim_SOURCES = tests/fuzz/fuzz-dkim.c
tests_fuzz_fuzz_dkim_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_dkim_LDADD = $(CORE_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-dkim-verify
tests_fuzz_fuzz_dkim_verify_SOURCES = tests/fuzz/fuzz-dkim-verify.c
tests_fuzz_fuzz_dkim_verify_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_dkim_verify_LDADD = $(CORE_LIBS)
