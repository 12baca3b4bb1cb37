# lib/io.mk: the event loop, network listeners and the daemon skeleton.
lib_libcore_la_SOURCES += \
	lib/ioloop.c lib/ioloop.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-ioloop
TESTS += tests/unit/test-ioloop
tests_unit_test_ioloop_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ioloop_LDADD = $(UNIT_LIBS)
endif
