# mta/local.mk: build fragment of the MTA core: the queue library (control
# files, queue folders, retry schedule, submit), the submit program, the
# scheduler courierd, the delivery modules and the commands.

noinst_LTLIBRARIES += mta/libmta.la
mta_libmta_la_SOURCES = \
	mta/ctlfile.c mta/ctlfile.h \
	mta/queue.c mta/queue.h \
	mta/retry.c mta/retry.h \
	mta/submit.c mta/submit.h \
	mta/track.c mta/track.h \
	mta/module-io.c mta/module-io.h
MTA_LIBS = mta/libmta.la $(CORE_LIBS)

sbin_PROGRAMS += mta/submit
mta_submit_SOURCES = mta/submit-main.c
mta_submit_LDADD = $(MTA_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-queue-ctl tests/unit/test-queue-retry \
	tests/unit/test-queue-submit tests/unit/test-queue-route \
	tests/unit/test-queue-dsn
TESTS += tests/unit/test-queue-ctl tests/unit/test-queue-retry \
	tests/unit/test-queue-submit tests/unit/test-queue-route \
	tests/unit/test-queue-dsn
tests_unit_test_queue_dsn_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_dsn_LDADD = mta/libmta.la $(UNIT_LIBS)
tests_unit_test_queue_route_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_route_LDADD = mta/libmta.la $(UNIT_LIBS)
tests_unit_test_queue_ctl_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_ctl_LDADD = mta/libmta.la $(UNIT_LIBS)
tests_unit_test_queue_retry_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_retry_LDADD = mta/libmta.la $(UNIT_LIBS)
tests_unit_test_queue_submit_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_submit_LDADD = mta/libmta.la $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test-queue-admin
TESTS += tests/unit/test-queue-admin
tests_unit_test_queue_admin_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_admin_LDADD = mta/libmta.la $(UNIT_LIBS)
endif

# The scheduler, its modules and the commands.
mta_libmta_la_SOURCES += mta/route.c mta/route.h mta/dsn.c mta/dsn.h
mta_libmta_la_SOURCES += mta/queue-admin.c mta/queue-admin.h

# Which dot-courier file applies (courierlocal, and esmtpd at RCPT time).
mta_libmta_la_SOURCES += mta/dotcourier.c mta/dotcourier.h
mta_libmta_la_SOURCES += mta/maildropfilter.c mta/maildropfilter.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-dotcourier
TESTS += tests/unit/test-dotcourier
tests_unit_test_dotcourier_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_dotcourier_LDADD = mta/libmta.la $(UNIT_LIBS)
endif
FUZZ_TARGETS += tests/fuzz/fuzz-dotcourier
tests_fuzz_fuzz_dotcourier_SOURCES = tests/fuzz/fuzz-dotcourier.c
tests_fuzz_fuzz_dotcourier_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/mta
tests_fuzz_fuzz_dotcourier_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_dotcourier_LDADD = mta/libmta.la $(CORE_LIBS)

# Aliases: the parser and database (submit expands, esmtpd asks at RCPT),
# makealiases compiles them.
mta_libmta_la_SOURCES += mta/aliases.c mta/aliases.h
sbin_PROGRAMS += mta/makealiases mta/makehosteddomains
mta_makealiases_SOURCES = mta/makealiases.c
mta_makealiases_LDADD = $(MTA_LIBS)
mta_makehosteddomains_SOURCES = mta/makehosteddomains.c
mta_makehosteddomains_LDADD = $(MTA_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-mta-aliases tests/unit/test-mta-track
TESTS += tests/unit/test-mta-aliases tests/unit/test-mta-track
tests_unit_test_mta_track_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_mta_track_LDADD = mta/libmta.la $(UNIT_LIBS)
tests_unit_test_mta_aliases_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_mta_aliases_LDADD = mta/libmta.la $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-queue-ctl
tests_fuzz_fuzz_queue_ctl_SOURCES = tests/fuzz/fuzz-queue-ctl.c
tests_fuzz_fuzz_queue_ctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/mta
tests_fuzz_fuzz_queue_ctl_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_queue_ctl_LDADD = mta/libmta.la $(CORE_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-aliases
tests_fuzz_fuzz_aliases_SOURCES = tests/fuzz/fuzz-aliases.c
tests_fuzz_fuzz_aliases_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/mta
tests_fuzz_fuzz_aliases_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_aliases_LDADD = mta/libmta.la $(CORE_LIBS)

sbin_PROGRAMS += mta/courierd
mta_courierd_SOURCES = mta/courierd.c
mta_courierd_CPPFLAGS = $(AM_CPPFLAGS) \
	-DMTA_MODULEDIR=\"$(mtamoduledir)\"
mta_courierd_LDADD = $(MTA_LIBS)

# Delivery modules live in libexec/courier/modules (courierd also finds
# them beside itself, in a build tree).
mtamoduledir = $(libexecdir)/courier/modules
mtamodule_PROGRAMS = mta/courierlocal
mta_courierlocal_SOURCES = mta/courierlocal.c mta/courierlocal.h \
	mta/courierlocal-account.c mta/courierlocal-follow.c \
	mta/courierlocal-job.c mta/courierlocal-program.c \
	mta/courierlocal-write.c
mta_courierlocal_CPPFLAGS = $(AUTH_CPPFLAGS) -DBINDIR=\"$(bindir)\"
mta_courierlocal_LDADD = mta/libmta.la $(AUTH_LIBS)
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-courierlocal-write
TESTS += tests/unit/test-courierlocal-write
tests_unit_test_courierlocal_write_SOURCES = \
	tests/unit/test-courierlocal-write.c mta/courierlocal-write.c
tests_unit_test_courierlocal_write_CFLAGS = $(UNIT_CFLAGS) \
	$(AUTH_CPPFLAGS) -I$(top_srcdir)/mta
tests_unit_test_courierlocal_write_LDADD = mta/libmta.la $(AUTH_LIBS) \
	$(UNIT_LIBS)
endif

sbin_PROGRAMS += mta/courier
mta_courier_SOURCES = mta/courier.c
mta_courier_LDADD = $(MTA_LIBS)

bin_PROGRAMS += mta/sendmail
mta_sendmail_SOURCES = mta/sendmail.c
mta_sendmail_CPPFLAGS = $(AM_CPPFLAGS) -DSBINDIR=\"$(sbindir)\"
mta_sendmail_LDADD = $(MTA_LIBS)

bin_PROGRAMS += mta/mailq mta/cancelmsg
mta_mailq_SOURCES = mta/mailq.c
mta_mailq_LDADD = $(MTA_LIBS)
mta_cancelmsg_SOURCES = mta/cancelmsg.c
mta_cancelmsg_LDADD = $(MTA_LIBS)
