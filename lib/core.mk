# lib/core.mk: memory, strings, logging, secure helpers, base64, instance paths.
lib_libcore_la_SOURCES += \
	lib/mem.c lib/mem.h \
	lib/str.c lib/str.h \
	lib/log.c lib/log.h \
	lib/secure.c lib/secure.h \
	lib/base64.c lib/base64.h \
	lib/instance.c lib/instance.h \
	lib/unlink-many.c lib/unlink-many.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-str tests/unit/test-base64 tests/unit/test-mem \
	tests/unit/test-secure tests/unit/test-log tests/unit/test-instance \
	tests/unit/test-unlink-many
TESTS += tests/unit/test-str tests/unit/test-base64 tests/unit/test-mem \
	tests/unit/test-secure tests/unit/test-log tests/unit/test-instance \
	tests/unit/test-unlink-many
tests_unit_test_unlink_many_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_unlink_many_LDADD = $(UNIT_LIBS)
tests_unit_test_str_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_str_LDADD = $(UNIT_LIBS)
tests_unit_test_mem_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mem_LDADD = $(UNIT_LIBS)
tests_unit_test_base64_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_base64_LDADD = $(UNIT_LIBS)
tests_unit_test_secure_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_secure_LDADD = $(UNIT_LIBS)
tests_unit_test_log_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_log_LDADD = $(UNIT_LIBS)
tests_unit_test_instance_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_instance_LDADD = $(UNIT_LIBS)
endif
