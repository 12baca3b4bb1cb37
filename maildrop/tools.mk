# maildrop/tools.mk: build fragment of the message tools that come with
# maildrop (reformail, reformime, makemime) and their tests.
bin_PROGRAMS += maildrop/reformail
maildrop_reformail_SOURCES = maildrop/reformail.c maildrop/reformail.h \
	maildrop/reformail-edit.c
maildrop_reformail_LDADD = $(CORE_LIBS)
