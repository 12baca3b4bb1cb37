# lib/io.mk: the event loop, network listeners and the daemon skeleton.
lib_libcore_la_SOURCES += \
	lib/ioloop.c lib/ioloop.h \
	lib/listen.c lib/listen.h \
	lib/daemon.c lib/daemon.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-ioloop tests/unit/test-listen \
	tests/unit/test-daemon
TESTS += tests/unit/test-ioloop tests/unit/test-listen \
	tests/unit/test-daemon
tests_unit_test_ioloop_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ioloop_LDADD = $(UNIT_LIBS)
tests_unit_test_listen_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_listen_LDADD = $(UNIT_LIBS)
tests_unit_test_daemon_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_daemon_LDADD = $(UNIT_LIBS)
endif
