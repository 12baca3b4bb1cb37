# setup/local.mk: instance setup tools (sbin/courier-setup).
# courier-setup is a shell script: configure's paths are put into
# setup/courier-setup.in by sed at build time (see the script's header for
# why it is not a C program).
sbin_SCRIPTS += setup/courier-setup
CLEANFILES += setup/courier-setup
EXTRA_DIST += setup/courier-setup.in

setup/courier-setup: $(top_srcdir)/setup/courier-setup.in Makefile
	$(AM_V_GEN)$(MKDIR_P) setup && \
	rm -f $@ $@.tmp && \
	sed -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@localstatedir[@]|$(localstatedir)|g' \
	    -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@bindir[@]|$(bindir)|g' \
	    -e 's|@libexecdir[@]|$(libexecdir)|g' \
	    -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	    $(top_srcdir)/setup/courier-setup.in >$@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@
