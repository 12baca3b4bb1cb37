# esmtp/client.mk: build fragment of the outbound ESMTP client: the
# courierd transport module "esmtp" and its tests.

# The client code, shared by the module, the unit tests and the fuzz target.
noinst_LTLIBRARIES += esmtp/libesmtpclient.la
esmtp_libesmtpclient_la_SOURCES = \
	esmtp/esmtp-client-reply.c esmtp/esmtp-client-reply.h \
	esmtp/esmtp-client.c esmtp/esmtp-client.h \
	esmtp/esmtp-client-8bit.c \
	esmtp/esmtp-routes.c esmtp/esmtp-routes.h
esmtp_libesmtpclient_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/mta
esmtp_libesmtpclient_la_CFLAGS = $(AM_CFLAGS) $(TLS_CFLAGS)
ESMTPCLIENT_LIBS = esmtp/libesmtpclient.la mta/libmta.la $(CORE_LIBS)
ESMTPCLIENT_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/esmtp -I$(top_srcdir)/mta

# The delivery module "esmtp" (courierd runs modules/courieresmtp).
mtamodule_PROGRAMS += esmtp/courieresmtp
esmtp_courieresmtp_SOURCES = esmtp/courieresmtp.c
esmtp_courieresmtp_CPPFLAGS = $(ESMTPCLIENT_CPPFLAGS)
esmtp_courieresmtp_LDADD = $(ESMTPCLIENT_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-esmtp-client
TESTS += tests/unit/test-esmtp-client
tests_unit_test_esmtp_client_CPPFLAGS = $(ESMTPCLIENT_CPPFLAGS)
tests_unit_test_esmtp_client_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_esmtp_client_LDADD = $(ESMTPCLIENT_LIBS) $(CMOCKA_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-esmtp-reply
tests_fuzz_fuzz_esmtp_reply_SOURCES = tests/fuzz/fuzz-esmtp-reply.c
tests_fuzz_fuzz_esmtp_reply_CPPFLAGS = $(ESMTPCLIENT_CPPFLAGS)
tests_fuzz_fuzz_esmtp_reply_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_esmtp_reply_LDADD = $(ESMTPCLIENT_LIBS)

# The text of smtpaccess, bofh, client addresses and messages (access, bofh
# and the client's SMTPUTF8 check).
FUZZ_TARGETS += tests/fuzz/fuzz-esmtp-text
tests_fuzz_fuzz_esmtp_text_SOURCES = tests/fuzz/fuzz-esmtp-text.c
tests_fuzz_fuzz_esmtp_text_CPPFLAGS = $(ESMTPCLIENT_CPPFLAGS) $(ESMTP_CPPFLAGS)
tests_fuzz_fuzz_esmtp_text_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_esmtp_text_LDADD = esmtp/libesmtp.la $(ESMTPCLIENT_LIBS) \
	$(AUTH_LIBS)
