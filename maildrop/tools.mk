# maildrop/tools.mk: build fragment of the message tools that come with
# maildrop (reformail, reformime, makemime) and their tests.
bin_PROGRAMS += maildrop/reformail
maildrop_reformail_SOURCES = maildrop/reformail.c maildrop/reformail.h \
	maildrop/reformail-edit.c
maildrop_reformail_LDADD = $(CORE_LIBS)

bin_PROGRAMS += maildrop/reformime
maildrop_reformime_SOURCES = maildrop/reformime.c maildrop/reformime.h \
	maildrop/reformime-rewrite.c maildrop/reformime-dsn.c \
	maildrop/reformime-hdr.c
maildrop_reformime_LDADD = $(CORE_LIBS)

bin_PROGRAMS += maildrop/makemime
maildrop_makemime_SOURCES = maildrop/makemime.c maildrop/makemime.h \
	maildrop/makemime-opts.c
maildrop_makemime_LDADD = $(CORE_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-makemime
tests_fuzz_fuzz_makemime_SOURCES = tests/fuzz/fuzz-makemime.c \
	maildrop/makemime-opts.c maildrop/makemime.h
tests_fuzz_fuzz_makemime_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_fuzz_fuzz_makemime_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_makemime_LDADD = $(CORE_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-reformail
tests_fuzz_fuzz_reformail_SOURCES = tests/fuzz/fuzz-reformail.c \
	maildrop/reformail-edit.c maildrop/reformail.h
tests_fuzz_fuzz_reformail_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_fuzz_fuzz_reformail_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_reformail_LDADD = $(CORE_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-reformime
tests_fuzz_fuzz_reformime_SOURCES = tests/fuzz/fuzz-reformime.c \
	maildrop/reformime-rewrite.c maildrop/reformime-dsn.c \
	maildrop/reformime.h
tests_fuzz_fuzz_reformime_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_fuzz_fuzz_reformime_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_reformime_LDADD = $(CORE_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-reformail
TESTS += tests/unit/test-reformail
tests_unit_test_reformail_SOURCES = tests/unit/test-reformail.c \
	maildrop/reformail-edit.c maildrop/reformail.h
tests_unit_test_reformail_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_reformail_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_unit_test_reformail_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test-makemime
TESTS += tests/unit/test-makemime
tests_unit_test_makemime_SOURCES = tests/unit/test-makemime.c \
	maildrop/makemime-opts.c maildrop/makemime.h
tests_unit_test_makemime_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_makemime_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_unit_test_makemime_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test-reformime
TESTS += tests/unit/test-reformime
tests_unit_test_reformime_SOURCES = tests/unit/test-reformime.c \
	maildrop/reformime-rewrite.c maildrop/reformime-dsn.c \
	maildrop/reformime-hdr.c \
	maildrop/reformime.h
tests_unit_test_reformime_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_reformime_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_unit_test_reformime_LDADD = $(UNIT_LIBS)
endif
