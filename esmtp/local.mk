# esmtp/local.mk: the ESMTP server (sbin/esmtpd), its unit tests and fuzz
# target.

# The session code, shared by esmtpd, the unit tests and the fuzz target.
noinst_LTLIBRARIES += esmtp/libesmtp.la
esmtp_libesmtp_la_SOURCES = \
	esmtp/esmtp-private.h \
	esmtp/esmtp-relay.c esmtp/esmtp-relay.h \
	esmtp/esmtp-access.c esmtp/esmtp-access.h \
	esmtp/esmtp-bofh.c esmtp/esmtp-bofh.h \
	esmtp/esmtp-dnscheck.c esmtp/esmtp-dnscheck.h esmtp/esmtp-spf.c \
	esmtp/esmtp-dkim.c \
	esmtp/esmtp-filter.c esmtp/esmtp-filter.h \
	esmtp/esmtp-settings.c esmtp/esmtp-settings.h \
	esmtp/esmtp-vhost.c esmtp/esmtp-vhost.h \
	esmtp/esmtp-session.c esmtp/esmtp-session.h \
	esmtp/esmtp-cmd-hello.c esmtp/esmtp-cmd-mail.c \
	esmtp/esmtp-cmd-data.c esmtp/esmtp-cmd-auth.c \
	esmtp/esmtp-lookup.c \
	esmtp/esmtp-localfilter.c esmtp/esmtp-localfilter.h
esmtp_libesmtp_la_CPPFLAGS = $(ESMTP_CPPFLAGS)
esmtp_libesmtp_la_CFLAGS = $(AM_CFLAGS) $(TLS_CFLAGS)

ESMTP_LIBS = esmtp/libesmtp.la mta/libmta.la $(AUTH_LIBS)
ESMTP_CPPFLAGS = $(AUTH_CPPFLAGS) -I$(top_srcdir)/esmtp -I$(top_srcdir)/mta

sbin_PROGRAMS += esmtp/esmtpd
esmtp_esmtpd_SOURCES = esmtp/esmtpd.c
esmtp_esmtpd_CPPFLAGS = $(ESMTP_CPPFLAGS)
esmtp_esmtpd_LDADD = $(ESMTP_LIBS)

sbin_PROGRAMS += esmtp/makesmtpaccess
esmtp_makesmtpaccess_SOURCES = esmtp/makesmtpaccess.c
esmtp_makesmtpaccess_CPPFLAGS = $(ESMTP_CPPFLAGS)
esmtp_makesmtpaccess_LDADD = $(ESMTP_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-esmtp-relay tests/unit/test-esmtp-session \
	tests/unit/test-esmtp-access tests/unit/test-esmtp-bofh \
	tests/unit/test-esmtp-filter
TESTS += tests/unit/test-esmtp-relay tests/unit/test-esmtp-session \
	tests/unit/test-esmtp-access tests/unit/test-esmtp-bofh \
	tests/unit/test-esmtp-filter
tests_unit_test_esmtp_filter_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_unit_test_esmtp_filter_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_esmtp_filter_LDADD = $(ESMTP_LIBS) $(CMOCKA_LIBS)
tests_unit_test_esmtp_bofh_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_unit_test_esmtp_bofh_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_esmtp_bofh_LDADD = $(ESMTP_LIBS) $(CMOCKA_LIBS)
tests_unit_test_esmtp_access_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_unit_test_esmtp_access_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_esmtp_access_LDADD = $(ESMTP_LIBS) $(CMOCKA_LIBS)
tests_unit_test_esmtp_relay_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_unit_test_esmtp_relay_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_esmtp_relay_LDADD = $(ESMTP_LIBS) $(CMOCKA_LIBS)
tests_unit_test_esmtp_session_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_unit_test_esmtp_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_esmtp_session_LDADD = $(ESMTP_LIBS) $(CMOCKA_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-esmtp
tests_fuzz_fuzz_esmtp_SOURCES = tests/fuzz/fuzz-esmtp.c
tests_fuzz_fuzz_esmtp_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_fuzz_fuzz_esmtp_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_esmtp_LDADD = $(ESMTP_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-esmtp-filter
tests_fuzz_fuzz_esmtp_filter_SOURCES = tests/fuzz/fuzz-esmtp-filter.c
tests_fuzz_fuzz_esmtp_filter_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_fuzz_fuzz_esmtp_filter_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_esmtp_filter_LDADD = $(ESMTP_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-esmtp.dict

# courier-dkimkeygen: DKIM key pairs and the TXT record to publish.
sbin_PROGRAMS += esmtp/courier-dkimkeygen
esmtp_courier_dkimkeygen_SOURCES = esmtp/dkimkeygen.c
esmtp_courier_dkimkeygen_CPPFLAGS = $(ESMTP_CPPFLAGS)
esmtp_courier_dkimkeygen_LDADD = $(ESMTP_LIBS)

# localmailfilter(7): the helper esmtpd runs an account's rcptfilter and
# smtpfilter through (setuid root, executable by the queue group only:
# doc/esmtp.md), its unit test and fuzz target.
esmtphelperdir = $(libexecdir)/courier
esmtphelper_PROGRAMS = esmtp/mailfilterexec
esmtp_mailfilterexec_SOURCES = esmtp/mailfilterexec.c
esmtp_mailfilterexec_CPPFLAGS = $(ESMTP_CPPFLAGS) -DBINDIR=\"$(bindir)\"
esmtp_mailfilterexec_LDADD = $(ESMTP_LIBS)
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-esmtp-localfilter
TESTS += tests/unit/test-esmtp-localfilter
tests_unit_test_esmtp_localfilter_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_unit_test_esmtp_localfilter_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_esmtp_localfilter_LDADD = $(ESMTP_LIBS) $(CMOCKA_LIBS)
endif
FUZZ_TARGETS += tests/fuzz/fuzz-esmtp-localfilter
tests_fuzz_fuzz_esmtp_localfilter_SOURCES = tests/fuzz/fuzz-esmtp-localfilter.c
tests_fuzz_fuzz_esmtp_localfilter_CPPFLAGS = $(ESMTP_CPPFLAGS)
tests_fuzz_fuzz_esmtp_localfilter_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_esmtp_localfilter_LDADD = $(ESMTP_LIBS)
