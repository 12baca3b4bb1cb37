# authlib/backends.mk: the PAM, LDAP, MySQL/MariaDB and PostgreSQL modules
# of authdaemond, their example settings files, and their tests.  Included
# by authlib/local.mk after it defines AUTHLIB_MODULE_DEFS,
# AUTHLIB_BACKEND_CFLAGS and AUTHLIB_BACKEND_LIBS: each module adds its
# source to libauth, -DAUTHLIB_WITH_X (so auth_module_find() lists it) and
# its library's flags.

# Shared by the SQL modules (and the Courier rc reader LDAP uses); needs
# no client library.
authlib_libauth_la_SOURCES += authlib/mod-sql.c authlib/mod-sql.h \
	authlib/mod-sql-module.h

if HAVE_PAM
authlib_libauth_la_SOURCES += authlib/mod-pam.c
AUTHLIB_MODULE_DEFS += -DAUTHLIB_WITH_PAM
AUTHLIB_BACKEND_CFLAGS += $(PAM_CFLAGS)
AUTHLIB_BACKEND_LIBS += $(PAM_LIBS)
endif

if HAVE_LDAP
authlib_libauth_la_SOURCES += authlib/mod-ldap.c authlib/mod-ldap.h
AUTHLIB_MODULE_DEFS += -DAUTHLIB_WITH_LDAP
AUTHLIB_BACKEND_CFLAGS += $(LDAP_CFLAGS)
AUTHLIB_BACKEND_LIBS += $(LDAP_LIBS)
endif

if HAVE_MYSQL
authlib_libauth_la_SOURCES += authlib/mod-mysql.c
AUTHLIB_MODULE_DEFS += -DAUTHLIB_WITH_MYSQL
AUTHLIB_BACKEND_CFLAGS += $(MYSQL_CFLAGS)
AUTHLIB_BACKEND_LIBS += $(MYSQL_LIBS)
endif

if HAVE_PGSQL
authlib_libauth_la_SOURCES += authlib/mod-pgsql.c
AUTHLIB_MODULE_DEFS += -DAUTHLIB_WITH_PGSQL
AUTHLIB_BACKEND_CFLAGS += $(PGSQL_CFLAGS)
AUTHLIB_BACKEND_LIBS += $(PGSQL_LIBS)
endif

# Example settings, installed into etc/ as Courier installs its *.dist
# files (never over the admin's own file).
authlib_backend_examples = authlib/authldaprc.example \
	authlib/authmysqlrc.example authlib/authpgsqlrc.example
EXTRA_DIST += $(authlib_backend_examples)

install-data-local: install-authlib-backend-examples
install-authlib-backend-examples:
	$(MKDIR_P) $(DESTDIR)$(sysconfdir)
	for f in $(authlib_backend_examples); do \
		b=`basename $$f .example`; \
		$(INSTALL_DATA) $(srcdir)/$$f $(DESTDIR)$(sysconfdir)/$$b.dist; \
		if test ! -f $(DESTDIR)$(sysconfdir)/$$b; then \
			$(INSTALL) -m 600 $(srcdir)/$$f \
				$(DESTDIR)$(sysconfdir)/$$b; \
		fi; \
	done
uninstall-local: uninstall-authlib-backend-examples
uninstall-authlib-backend-examples:
	for f in $(authlib_backend_examples); do \
		b=`basename $$f .example`; \
		rm -f $(DESTDIR)$(sysconfdir)/$$b.dist; \
	done
.PHONY: install-authlib-backend-examples uninstall-authlib-backend-examples

# Unit tests: template substitution, escaping, rc files, LDAP escaping.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-auth-sql
TESTS += tests/unit/test-auth-sql
tests_unit_test_auth_sql_CPPFLAGS = $(AUTH_CPPFLAGS) $(AUTHLIB_MODULE_DEFS)
tests_unit_test_auth_sql_CFLAGS = $(UNIT_CFLAGS) $(AUTHLIB_BACKEND_CFLAGS)
tests_unit_test_auth_sql_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
endif
