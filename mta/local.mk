# mta/local.mk: build fragment of the MTA core: the queue library (control
# files, queue folders, retry schedule, submit), the submit program, the
# scheduler courierd, the delivery modules and the commands.

noinst_LTLIBRARIES += mta/libmta.la
mta_libmta_la_SOURCES = \
	mta/ctlfile.c mta/ctlfile.h \
	mta/queue.c mta/queue.h \
	mta/retry.c mta/retry.h \
	mta/submit.c mta/submit.h
MTA_LIBS = mta/libmta.la $(CORE_LIBS)

sbin_PROGRAMS += mta/submit
mta_submit_SOURCES = mta/submit-main.c
mta_submit_LDADD = $(MTA_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-queue-ctl tests/unit/test-queue-retry \
	tests/unit/test-queue-submit
TESTS += tests/unit/test-queue-ctl tests/unit/test-queue-retry \
	tests/unit/test-queue-submit
tests_unit_test_queue_ctl_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_ctl_LDADD = mta/libmta.la $(UNIT_LIBS)
tests_unit_test_queue_retry_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_retry_LDADD = mta/libmta.la $(UNIT_LIBS)
tests_unit_test_queue_submit_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/mta
tests_unit_test_queue_submit_LDADD = mta/libmta.la $(UNIT_LIBS)
endif
