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

# The master code the login servers (imapd, pop3d) share.
lib_libcore_la_SOURCES += lib/login-master.c lib/login-master.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-login-master
TESTS += tests/unit/test-login-master
tests_unit_test_login_master_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_login_master_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-login-master
tests_fuzz_fuzz_login_master_SOURCES = tests/fuzz/fuzz-login-master.c
tests_fuzz_fuzz_login_master_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_login_master_LDADD = $(CORE_LIBS)
