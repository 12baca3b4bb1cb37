# lib/mime.mk: build fragment (owned by the mime module): the header and
# MIME parsers, decoders, RFC 2047/2231, charset conversion, reformime.
lib_libcore_la_SOURCES += \
	lib/rfc822-header.c lib/rfc822-header.h \
	lib/mime-parser.c lib/mime-parser.h \
	lib/mime-params.c lib/mime-params.h \
	lib/mime-decode.c lib/mime-decode.h \
	lib/rfc2047.c lib/rfc2047.h \
	lib/charset.c lib/charset.h

bin_PROGRAMS += maildrop/reformime
maildrop_reformime_SOURCES = maildrop/reformime.c
maildrop_reformime_LDADD = $(CORE_LIBS)

