# authlib/local.mk: the authentication library, authdaemond, its modules
# and tools (makeuserdb, userdb, userdbpw, pw2userdb, authtest,
# authenumerate).  The PAM, LDAP, MySQL and PostgreSQL modules add
# themselves in authlib/backends.mk.

noinst_LTLIBRARIES += authlib/libauth.la
authlib_libauth_la_SOURCES = \
	authlib/auth-record.c authlib/auth-record.h \
	authlib/auth-module.h authlib/auth-modules.c \
	authlib/authproto.c authlib/authproto.h \
	authlib/authdaemon-settings.c authlib/authdaemon-settings.h \
	authlib/authclient.c authlib/authclient.h authlib/authclient-sasl.c \
	authlib/passwd.c authlib/passwd.h \
	authlib/throttle.c authlib/throttle.h \
	authlib/userdb.c authlib/userdb.h \
	authlib/mod-userdb.c authlib/mod-pwd.c authlib/mod-pipe.c \
	authlib/auth-sysuser.c authlib/auth-sysuser.h
# Backend fragments append -DAUTHLIB_WITH_X here and their libraries to
# AUTHLIB_BACKEND_LIBS.
AUTHLIB_MODULE_DEFS =
AUTHLIB_BACKEND_CFLAGS =
AUTHLIB_BACKEND_LIBS =
authlib_libauth_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/authlib \
	$(AUTHLIB_MODULE_DEFS)
authlib_libauth_la_CFLAGS = $(AM_CFLAGS) $(TLS_CFLAGS) $(CRYPT_CFLAGS) \
	$(LMDB_CFLAGS) $(AUTHLIB_BACKEND_CFLAGS)

# What a program that asks authlib links (the client and the modules).
AUTH_LIBS = authlib/libauth.la $(CORE_LIBS) $(AUTHLIB_BACKEND_LIBS)
AUTH_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/authlib

include authlib/backends.mk

sbin_PROGRAMS += authlib/authdaemond authlib/authtest authlib/authenumerate \
	authlib/makeuserdb authlib/userdb authlib/userdbpw authlib/pw2userdb

authlib_authdaemond_SOURCES = authlib/authdaemond.c
authlib_authdaemond_CPPFLAGS = $(AUTH_CPPFLAGS)
authlib_authdaemond_LDADD = $(AUTH_LIBS)
authlib_authtest_SOURCES = authlib/authtest.c
authlib_authtest_CPPFLAGS = $(AUTH_CPPFLAGS)
authlib_authtest_LDADD = $(AUTH_LIBS)
authlib_authenumerate_SOURCES = authlib/authenumerate.c
authlib_authenumerate_CPPFLAGS = $(AUTH_CPPFLAGS)
authlib_authenumerate_LDADD = $(AUTH_LIBS)
authlib_makeuserdb_SOURCES = authlib/makeuserdb.c
authlib_makeuserdb_CPPFLAGS = $(AUTH_CPPFLAGS)
authlib_makeuserdb_LDADD = $(AUTH_LIBS)
authlib_userdb_SOURCES = authlib/userdb-tool.c
authlib_userdb_CPPFLAGS = $(AUTH_CPPFLAGS)
authlib_userdb_LDADD = $(AUTH_LIBS)
authlib_userdbpw_SOURCES = authlib/userdbpw.c
authlib_userdbpw_CPPFLAGS = $(AUTH_CPPFLAGS)
authlib_userdbpw_LDADD = $(AUTH_LIBS)
authlib_pw2userdb_SOURCES = authlib/pw2userdb.c
authlib_pw2userdb_CPPFLAGS = $(AUTH_CPPFLAGS)
authlib_pw2userdb_LDADD = $(AUTH_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-auth-record tests/unit/test-auth-passwd \
	tests/unit/test-auth-userdb tests/unit/test-auth-proto
TESTS += tests/unit/test-auth-record tests/unit/test-auth-passwd \
	tests/unit/test-auth-userdb tests/unit/test-auth-proto
tests_unit_test_auth_record_CPPFLAGS = $(AUTH_CPPFLAGS)
tests_unit_test_auth_record_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_record_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
tests_unit_test_auth_passwd_CPPFLAGS = $(AUTH_CPPFLAGS)
tests_unit_test_auth_passwd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_passwd_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
tests_unit_test_auth_userdb_CPPFLAGS = $(AUTH_CPPFLAGS)
tests_unit_test_auth_userdb_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_userdb_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
tests_unit_test_auth_proto_CPPFLAGS = $(AUTH_CPPFLAGS)
tests_unit_test_auth_proto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_proto_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-authproto
tests_fuzz_fuzz_authproto_SOURCES = tests/fuzz/fuzz-authproto.c
tests_fuzz_fuzz_authproto_CPPFLAGS = $(AUTH_CPPFLAGS)
tests_fuzz_fuzz_authproto_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_authproto_LDADD = $(AUTH_LIBS)

# auth_sasl/auth_cram against a real authdaemond started by the test (it
# runs the built authlib/authdaemond, so it is built first).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-auth-client
TESTS += tests/unit/test-auth-client
tests_unit_test_auth_client_CPPFLAGS = $(AUTH_CPPFLAGS)
tests_unit_test_auth_client_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_client_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
tests_unit_test_auth_client_DEPENDENCIES = authlib/libauth.la \
	authlib/authdaemond$(EXEEXT)
endif
