# lib/config.mk: build fragment of the config module: Courier control files,
# NAME=value files, typed settings tables and time intervals.
lib_libcore_la_SOURCES += \
	lib/config-errors.c lib/config-errors.h \
	lib/config-file.c lib/config-file.h \
	lib/config-env.c lib/config-env.h \
	lib/config-rc.c lib/config-rc.h \
	lib/config-settings.c lib/config-settings.h \
	lib/interval.c lib/interval.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-config tests/unit/test-config-env tests/unit/test-config-rc \
	tests/unit/test-config-settings tests/unit/test-config-interval
TESTS += tests/unit/test-config tests/unit/test-config-env tests/unit/test-config-rc \
	tests/unit/test-config-settings tests/unit/test-config-interval
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LIBS)
tests_unit_test_config_rc_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_rc_LDADD = $(UNIT_LIBS)
tests_unit_test_config_env_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_env_LDADD = $(UNIT_LIBS)
tests_unit_test_config_settings_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_settings_LDADD = $(UNIT_LIBS)
tests_unit_test_config_interval_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_interval_LDADD = $(UNIT_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-config
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_config_LDADD = $(CORE_LIBS)
