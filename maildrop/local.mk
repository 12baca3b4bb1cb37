# maildrop/local.mk: build fragment for maildrop, its filter language
# library and the programs that come with it (maildirmake, deliverquota,
# mailbot).  reformail, reformime and makemime: maildrop/tools.mk.
noinst_LTLIBRARIES += maildrop/libmaildrop.la
maildrop_libmaildrop_la_SOURCES = \
	maildrop/mdparse.c maildrop/mdparse.h maildrop/mdparse-private.h \
	maildrop/mdlex.c maildrop/mdparse-expr.c \
	maildrop/mdmsg.c maildrop/mdmsg.h maildrop/mdsimple.c maildrop/mdsimple.h \
	maildrop/mdeval.c maildrop/mdeval.h maildrop/mdeval-private.h \
	maildrop/mdexpr.c maildrop/mdfunc.c maildrop/mdtarget.c \
	maildrop/mddeliver.c maildrop/mddeliver.h
maildrop_libmaildrop_la_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(LMDB_CFLAGS)

MAILDROP_LIBS = maildrop/libmaildrop.la $(CORE_LIBS)

bin_PROGRAMS += maildrop/maildrop
maildrop_maildrop_SOURCES = maildrop/maildrop.c
maildrop_maildrop_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/authlib
# Start-up is most of a maildrop run (one process per message): link
# only what it uses (--as-needed drops the auth backends' and TLS
# libraries), and PCRE2 and LMDB from their static archives when the
# system has them (configure finds them), so the dynamic loader maps and
# relocates libc alone (doc/maildrop.md, "Speed").
maildrop_maildrop_LDADD = maildrop/libmaildrop.la authlib/libauth.la \
	lib/libcore.la $(MAILDROP_STATIC_LIBS) $(AUTH_LIBS)
maildrop_maildrop_LDFLAGS = $(AM_LDFLAGS) -Wl,--as-needed -Wl,-O1

bin_PROGRAMS += maildrop/maildirmake maildrop/deliverquota maildrop/mailbot
maildrop_mailbot_SOURCES = maildrop/mailbot.c maildrop/mailbot.h \
	maildrop/mailbot-args.c maildrop/mailbot-template.c \
	maildrop/mailbot-report.c maildrop/mailbot-check.c \
	maildrop/mailbot-text.c
maildrop_mailbot_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS)
maildrop_mailbot_LDADD = $(MAILDROP_LIBS)
maildrop_mailbot_LDFLAGS = $(AM_LDFLAGS) -Wl,--as-needed
MAILBOT_PARTS = maildrop/mailbot.h maildrop/mailbot-args.c \
	maildrop/mailbot-template.c maildrop/mailbot-report.c \
	maildrop/mailbot-text.c
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-mailbot
TESTS += tests/unit/test-mailbot
tests_unit_test_mailbot_SOURCES = tests/unit/test-mailbot.c $(MAILBOT_PARTS)
tests_unit_test_mailbot_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_unit_test_mailbot_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mailbot_LDADD = $(UNIT_LIBS)
endif
FUZZ_TARGETS += tests/fuzz/fuzz-mailbot
tests_fuzz_fuzz_mailbot_SOURCES = tests/fuzz/fuzz-mailbot.c $(MAILBOT_PARTS)
tests_fuzz_fuzz_mailbot_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_fuzz_fuzz_mailbot_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_mailbot_LDADD = $(CORE_LIBS)
maildrop_maildirmake_SOURCES = maildrop/maildirmake.c
maildrop_maildirmake_LDADD = $(CORE_LIBS)
maildrop_maildirmake_LDFLAGS = $(AM_LDFLAGS) -Wl,--as-needed
maildrop_deliverquota_SOURCES = maildrop/deliverquota.c
maildrop_deliverquota_LDADD = $(MAILDROP_LIBS)
maildrop_deliverquota_LDFLAGS = $(AM_LDFLAGS) -Wl,--as-needed

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-maildrop-parse tests/unit/test-maildrop-eval
TESTS += tests/unit/test-maildrop-parse tests/unit/test-maildrop-eval
tests_unit_test_maildrop_parse_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_unit_test_maildrop_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildrop_parse_LDADD = maildrop/libmaildrop.la $(UNIT_LIBS)
tests_unit_test_maildrop_eval_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_unit_test_maildrop_eval_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildrop_eval_LDADD = maildrop/libmaildrop.la $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-maildrop-parse tests/fuzz/fuzz-maildrop-pattern
tests_fuzz_fuzz_maildrop_parse_SOURCES = tests/fuzz/fuzz-maildrop-parse.c
tests_fuzz_fuzz_maildrop_parse_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_fuzz_fuzz_maildrop_parse_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_maildrop_parse_LDADD = $(MAILDROP_LIBS)
tests_fuzz_fuzz_maildrop_pattern_SOURCES = tests/fuzz/fuzz-maildrop-pattern.c
tests_fuzz_fuzz_maildrop_pattern_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/maildrop
tests_fuzz_fuzz_maildrop_pattern_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_maildrop_pattern_LDADD = $(MAILDROP_LIBS)

EXTRA_DIST += tests/integration/test_maildrop_diff.py bench/maildrop-filter.sh
