# lib/worker.mk: build fragment of the worker-thread pool whose jobs complete
# on the event loop.
lib_libcore_la_SOURCES += lib/worker-pool.c lib/worker-pool.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-worker-pool
TESTS += tests/unit/test-worker-pool
tests_unit_test_worker_pool_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_worker_pool_LDADD = $(UNIT_LIBS)
endif
