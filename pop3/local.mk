# pop3/local.mk: the POP3 server (sbin/pop3d), its unit tests and fuzz
# target.

# The session code, shared by pop3d, the unit tests and the fuzz target.
noinst_LTLIBRARIES += pop3/libpop3.la
pop3_libpop3_la_SOURCES = \
	pop3/pop3-commands.c pop3/pop3-commands.h \
	pop3/pop3-stuff.c pop3/pop3-stuff.h \
	pop3/pop3-settings.c pop3/pop3-settings.h \
	pop3/pop3-mailbox.c pop3/pop3-mailbox.h \
	pop3/pop3-client.c pop3/pop3-client.h pop3/pop3-client-private.h \
	pop3/pop3-login.c pop3/pop3-mail.c
pop3_libpop3_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pop3
pop3_libpop3_la_CFLAGS = $(AM_CFLAGS) $(TLS_CFLAGS)

POP3_LIBS = pop3/libpop3.la $(AUTH_LIBS)
POP3_CPPFLAGS = $(AUTH_CPPFLAGS) -I$(top_srcdir)/pop3

sbin_PROGRAMS += pop3/pop3d
pop3_pop3d_SOURCES = pop3/pop3d.c
pop3_pop3d_CPPFLAGS = $(POP3_CPPFLAGS)
pop3_pop3d_LDADD = $(POP3_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-pop3-commands tests/unit/test-pop3-session
TESTS += tests/unit/test-pop3-commands tests/unit/test-pop3-session
tests_unit_test_pop3_commands_CPPFLAGS = $(POP3_CPPFLAGS)
tests_unit_test_pop3_commands_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pop3_commands_LDADD = $(POP3_LIBS) $(CMOCKA_LIBS)
tests_unit_test_pop3_session_CPPFLAGS = $(POP3_CPPFLAGS)
tests_unit_test_pop3_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pop3_session_LDADD = $(POP3_LIBS) $(CMOCKA_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-pop3
tests_fuzz_fuzz_pop3_SOURCES = tests/fuzz/fuzz-pop3.c
tests_fuzz_fuzz_pop3_CPPFLAGS = $(POP3_CPPFLAGS)
tests_fuzz_fuzz_pop3_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_pop3_LDADD = $(POP3_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-pop3.dict
